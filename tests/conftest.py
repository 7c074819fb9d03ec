"""Test-wide isolation: no cache in the home folder, no request can reach the internet.

These variables are read by huggingface_hub, datasets and torch when they are first imported, so they
are set here, before any test module imports them.
"""

import atexit
import os
import shutil
import tempfile

# A parallel run's workers inherit the TMPDIR set below: their folders go beside the first one, not inside it
# (Ray's socket paths must stay under 108 bytes).
_PARENT = os.environ.setdefault("HUB_TOOLS_TESTS_TMP_PARENT", tempfile.gettempdir())
_ROOT = tempfile.mkdtemp(prefix="hub_tools-tests-", dir=_PARENT)
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)  # caches, checkpoints, pytest's tmp_path: ~100 MB a run
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
def every_stdlib_function() -> list[str]:
    """Every function (methods included) of 3 to 80 lines in the standard library's top-level modules."""
    return corpus.every_stdlib_function()


@pytest.fixture(scope="session")
def stdlib_modules_by_name() -> dict[str, str]:
    """Every whole standard-library module of 80-400 lines, by name (``stdlib/imp.py``)."""
    return dict(corpus.whole_modules(80, 400, stdlib_only=True))


@pytest.fixture(scope="session")
def stdlib_modules() -> list[tuple[str, str]]:
    """Whole standard-library modules (80-140 lines), as (name, text)."""
    modules = corpus.whole_modules(80, 140, stdlib_only=True)
    assert len(modules) >= 5
    return modules


@pytest.fixture(scope="session")
def package_modules() -> list[tuple[str, str]]:
    """Whole modules (80-250 lines) of the pure-Python packages installed here, as (name, text)."""
    return [(name, text) for name, text in corpus.whole_modules(80, 250) if not name.startswith("stdlib/")]


# Strict runs: in CI a skip is a failure -------------------------------------------------------------
#
# A test that skips when a component is missing turns a broken install into a green run. Under
# HUB_TOOLS_STRICT_TESTS=1 (which .ci/run exports) or CI=true, every skip fails the run with its reason,
# except the skips the README's "Allowed skips" list names (by test id), each with why it may happen.

ROOT = Path(__file__).resolve().parents[1]
STRICT_VARIABLE = "HUB_TOOLS_STRICT_TESTS"


def strict_run() -> bool:
    return (os.environ.get(STRICT_VARIABLE, "").strip() not in ("", "0")
            or os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"))


def allowed_skips(readme: Path = ROOT / "README.md") -> dict[str, str]:
    """The README's allow-list: ``- `tests/...::test_name`: why`` lines in the block that starts with a line
    holding "Allowed skips" and ends at the next blank line."""
    import re

    allowed, inside = {}, False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if "Allowed skips" in line:
            inside = True
            continue
        if inside and not line.strip():
            if allowed:
                break
            continue
        match = re.match(r"- `(tests/[^`]+::[^`\[]+)`: (\S.*)", line) if inside else None
        if match:
            allowed[match.group(1)] = match.group(2)
    return allowed


def _skip_reason(report) -> str:
    if isinstance(report.longrepr, tuple):  # (file, line, "Skipped: reason")
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def _strict_failure(report, node_id: str) -> None:
    report.outcome = "failed"
    report.longrepr = (f"{node_id} skipped under {STRICT_VARIABLE}=1 ({_skip_reason(report)}): install what it "
                       "needs, or name the skip in the README's allowed skips")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and strict_run():
        node_id = item.nodeid.split("[")[0]
        if node_id not in allowed_skips():
            _strict_failure(report, node_id)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # A module-level skip (importorskip at import time) skips a whole file at collection.
    outcome = yield
    report = outcome.get_result()
    if report.skipped and strict_run():
        _strict_failure(report, collector.nodeid)


@pytest.fixture(scope="session")
def under_other_names():
    """A program as a rewrite gives it back: names changed, docstrings gone (``corpus.under_other_names``)."""
    return corpus.under_other_names


@pytest.fixture(scope="session")
def untyped():
    """A program as a rewrite for older Python gives it back: type hints gone (``corpus.untyped``)."""
    return corpus.untyped
