"""Test-wide isolation: no cache in the home folder, no request can reach the internet.

These variables are read by huggingface_hub, datasets and torch when they are first imported, so they
are set here, before any test module imports them.
"""

import os
import tempfile

_ROOT = tempfile.mkdtemp(prefix="hub_tools-tests-")
for _name, _sub in [("HF_HOME", "hf_home"), ("TORCH_EXTENSIONS_DIR", "torch_extensions"), ("TMPDIR", "tmp"),
                    ("XDG_CACHE_HOME", "cache"), ("TRITON_CACHE_DIR", "triton")]:
    os.environ[_name] = os.path.join(_ROOT, _sub)
    os.makedirs(os.environ[_name], exist_ok=True)
tempfile.tempdir = None  # re-read TMPDIR

# Nothing listens on port 9 (discard): a request that should not happen fails at once instead of
# reaching the real Hub. Tests that talk to the local Hub-protocol server set their own endpoint.
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_UPDATE_DOWNLOAD_COUNTS"] = "0"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["WANDB_DISABLED"] = "true"
os.environ.pop("HF_TOKEN", None)


# Real code nobody here wrote, shared by the test areas (defined once, in benchmarks/corpus.py) -----

import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "hub_tools_test_corpus", Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"
)
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)


@pytest.fixture(scope="session")
def humaneval_corpus() -> list[str]:
    return corpus.humaneval_programs()


@pytest.fixture(scope="session")
def stdlib_corpus() -> list[str]:
    functions = corpus.stdlib_functions()
    assert len(functions) >= 100
    return functions


@pytest.fixture(scope="session")
def stdlib_modules() -> list[tuple[str, str]]:
    """Whole standard-library modules (80-140 lines), as (name, text)."""
    modules = corpus.whole_modules(80, 140, stdlib_only=True)
    assert len(modules) >= 5
    return modules
