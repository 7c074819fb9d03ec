"""Fixtures of the linter tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hub_tools.linters import get_profile


def _fresh_pylint_flags(files: list[Path], folder: Path) -> list[str]:
    """The counted messages of the portable profile a fresh ``pylint`` command line, run in ``folder``, reports
    on ``files`` (``path:line:id``).

    A file pylint must flag goes with them, and its message must come back: a check that reads nothing of
    pylint's output (it writes a path relative to its working folder for a file under it) would otherwise
    see nothing flagged.
    """
    canary = folder / "canary.py"
    canary.write_text("print(name_defined_nowhere)\n")
    profile = get_profile("portable")
    result = subprocess.run(
        [sys.executable, "-m", "pylint", "--rcfile=/dev/null", "--disable=all", "--enable=" + ",".join(profile.counted),
         "--disable=" + ",".join(profile.not_counted), "--score=n", "--reports=n",
         "--msg-template={abspath}:{line}:{msg_id}", str(canary), *map(str, files)],
        capture_output=True, text=True, cwd=folder,
    )
    lines = result.stdout.splitlines()
    assert f"{canary.resolve()}:1:E0602" in lines, result.stdout[-2000:] + result.stderr[-2000:]
    checked = {str(path.resolve()) for path in files}
    return [line for line in lines if line.split(":")[0] in checked]


@pytest.fixture
def fresh_pylint_flags() -> Callable[[list[Path], Path], list[str]]:
    return _fresh_pylint_flags


def _states_seen(programs: list[str], linter) -> list[str]:
    """Every text ``linter`` is asked to lint while sampling one path of each program (error states included)."""
    from hub_tools.lintseq import sample_edit_path

    seen = []
    lint = linter.lint

    def recording(text: str):
        seen.append(text)
        return lint(text)

    linter.lint = recording
    try:
        for seed, program in enumerate(programs):
            sample_edit_path(program, linter, seed=seed)
    finally:
        linter.lint = lint
    return seen


@pytest.fixture
def states_seen() -> Callable[[list[str], object], list[str]]:
    return _states_seen
