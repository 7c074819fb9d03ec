"""A strict run (HUB_TOOLS_STRICT_TESTS=1, as .ci/run sets it) fails on any skip the README does not allow.

The suite's own conftest.py runs on a scratch project: a test that skips, one that the scratch README allows
to skip, a module skipped at import (``importorskip`` of a missing module) and a test that passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SKIPPING_TESTS = '''
import pytest


def test_passes():
    assert True


def test_skips_for_a_missing_component():
    pytest.skip("the component is not installed")


def test_skips_with_leave():
    pytest.skip("this kernel gives no namespaces")
'''

README = """# scratch

Allowed skips, the only ones a strict run accepts:

- `tests/test_scratch.py::test_skips_with_leave`: some kernels give no namespaces.
"""


def _scratch_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "benchmarks").mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", project / "tests" / "conftest.py")
    shutil.copy(ROOT / "benchmarks" / "corpus.py", project / "benchmarks" / "corpus.py")  # the conftest loads it
    (project / "README.md").write_text(README)
    (project / "tests" / "test_scratch.py").write_text(SKIPPING_TESTS)
    (project / "tests" / "test_needs_a_missing_module.py").write_text(
        'import pytest\n\npytest.importorskip("a_module_nobody_installed")\n\n\ndef test_x():\n    pass\n')
    return project


def _pytest(project: Path, target: str = "tests", **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "HUB_TOOLS_STRICT_TESTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
                          capture_output=True, text=True, cwd=project, env={**env, **environment}, timeout=300)


def test_a_skip_fails_a_strict_run_unless_the_readme_allows_it(tmp_path):
    project = _scratch_project(tmp_path)
    relaxed = _pytest(project)
    assert relaxed.returncode == 0, relaxed.stdout
    assert "1 passed, 3 skipped" in relaxed.stdout

    for environment in ({"HUB_TOOLS_STRICT_TESTS": "1"}, {"CI": "true"}):
        strict = _pytest(project, "tests/test_scratch.py", **environment)
        assert strict.returncode == 1, strict.stdout
        closing = strict.stdout.strip().splitlines()[-1]
        assert "1 failed, 1 passed, 1 skipped" in closing, strict.stdout  # the allowed skip stays a skip
        # The failure says which test, why it skipped, and what to do, on one line.
        assert ("tests/test_scratch.py::test_skips_for_a_missing_component skipped under HUB_TOOLS_STRICT_TESTS=1 "
                "(the component is not installed): install what it needs, or name the skip in the README's "
                "allowed skips") in strict.stdout
        # A module skipped at import is a collection error: the run stops, naming the file and the module.
        collection = _pytest(project, **environment)
        assert collection.returncode == 2, collection.stdout
        assert ("tests/test_needs_a_missing_module.py skipped under HUB_TOOLS_STRICT_TESTS=1 (could not import "
                "'a_module_nobody_installed'") in collection.stdout


def test_ci_runs_strict_and_the_readme_names_the_allowed_skips():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export HUB_TOOLS_STRICT_TESTS=1" in ci
    readme = (ROOT / "README.md").read_text()
    assert "HUB_TOOLS_STRICT_TESTS=1" in readme and "Allowed skips" in readme


def _conditional_imports(path: Path) -> list[str]:
    """``pytest.importorskip(...)`` calls and ``except ImportError`` handlers in a test file."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "importorskip":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: importorskip")
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names = [getattr(name, "id", getattr(name, "attr", "")) for name in
                     (node.type.elts if isinstance(node.type, ast.Tuple) else [node.type])]
            if {"ImportError", "ModuleNotFoundError"} & set(names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: except ImportError")
    return found


def test_no_test_imports_or_skips_a_module_conditionally():
    # What the suite needs is installed by .ci/run; an import that may fail must fail the test, not skip it
    # or switch it to other assertions.
    found = [hit for path in sorted((ROOT / "tests").rglob("*.py")) for hit in _conditional_imports(path)]
    assert not found, found
    assert _conditional_imports(ROOT / "tests" / "test_strict_skips.py") == []  # the scratch files are strings
