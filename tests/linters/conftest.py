"""Fixtures of the linter tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hub_tools.linters import get_profile

# pylint on each file in a process of its own (forked from one that imported pylint and built nothing).
EACH_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "pylint_each_file.py"


def _pylint_command_line(paths: list[Path], folder: Path) -> list[str]:
    """What ``pylint FILE`` on the command line, run in ``folder`` with the portable profile's counted
    messages, prints for each of ``paths`` (``abspath:line:id`` lines); the files' own pragmas are read but not
    obeyed, as the linter does, so a file holding ``# pylint: skip-file`` is checked all the same."""
    profile = get_profile("portable")
    result = subprocess.run(
        [sys.executable, str(EACH_FILE), "--jobs", "2", "--obey-no-pragma", "--rcfile=/dev/null", "--disable=all",
         "--enable=" + ",".join(profile.counted), "--disable=" + ",".join(profile.not_counted), "--score=n",
         "--reports=n", "--msg-template={abspath}:{line}:{msg_id}", "--", *map(str, paths)],
        capture_output=True, text=True, cwd=folder,
    )
    return result.stdout.splitlines() + [f"stderr: {line}" for line in result.stderr.splitlines()[-20:]]


def _fresh_pylint_flags(files: list[Path], folder: Path) -> list[str]:
    """The counted messages of the portable profile that ``pylint FILE`` on the command line, run in
    ``folder``, reports on each of ``files`` alone (``path:line:id``).

    Each file alone: one pylint process checking them all keeps what it built for one file for the next, so a
    file can be flagged, or pass, because of those before it (benchmarks/pylint_each_file.py). A file pylint
    must flag goes with them, and its message must come back: a check that reads nothing of pylint's output
    (it writes a path relative to its working folder for a file under it) would otherwise see nothing flagged.
    """
    canary = folder / "canary.py"
    canary.write_text("# pylint: skip-file\nprint(name_defined_nowhere)\n")  # a pragma read, not obeyed
    lines = _pylint_command_line([canary, *files], folder)
    assert f"{canary.resolve()}:2:E0602" in lines, "\n".join(lines[-40:])
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


def _lint_in_a_forked_child(linter, program: str, codes: list[str], *, fork_while=None) -> None:
    """Fork (inside ``fork_while``), lint ``program`` in the child with ``linter``, and check that the child
    finishes within a minute with the ``codes`` expected; a child that hangs is killed and fails the test."""
    with fork_while or contextlib.nullcontext():
        child = os.fork()
        if child == 0:
            try:
                os._exit(0 if [error.code for error in linter.lint(program)] == codes else 3)
            finally:
                os._exit(4)
    deadline = time.monotonic() + 60
    while not (done := os.waitpid(child, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(child, 9)
            os.waitpid(child, 0)
            raise AssertionError("the forked process never finished its lint call")
        time.sleep(0.1)
    assert os.waitstatus_to_exitcode(done[1]) == 0, "the forked process linted otherwise"


@pytest.fixture
def lint_in_a_forked_child() -> Callable[..., None]:
    return _lint_in_a_forked_child



@pytest.fixture
def answered_states(states_seen) -> Callable[..., tuple[list[str], list]]:
    """``(profile, programs, shapes)``: every state an edit path of each program and shape asks the linter about,
    the shapes themselves after them, and a linter of ``profile``'s answer for each, as (states, answers)."""

    def answered(profile: str, programs: list[str], shapes: list[str]) -> tuple[list[str], list]:
        from hub_tools.linters import PylintLinter

        linter = PylintLinter(profile, timeout=None)
        states = states_seen(programs + shapes, linter) + shapes
        return states, [linter.lint(text) for text in states]

    return answered


@pytest.fixture
def real_code(humaneval_corpus, stdlib_corpus, stdlib_modules) -> list[str]:
    """HumanEval solutions, standard-library functions and whole standard-library modules: 66 programs."""
    return humaneval_corpus[:30] + stdlib_corpus[:30] + [text for _, text in stdlib_modules[:6]]

@contextlib.contextmanager
def _without_kept(monkeypatch, kept: str):
    """The body's linters run without ``pylint_backend.<kept>``, a context of work a lint call does once."""
    from hub_tools.linters import pylint_backend

    with monkeypatch.context() as patch:
        patch.setattr(pylint_backend, kept, contextlib.nullcontext)
        yield


@pytest.fixture
def without_kept(monkeypatch) -> Callable[[str], contextlib.AbstractContextManager]:
    return lambda kept: _without_kept(monkeypatch, kept)


@pytest.fixture
def differences_without(without_kept) -> Callable[..., list]:
    """``(profile, states, answers, kept)``: the states whose ``answers`` a linter of ``profile`` without
    ``kept`` gives otherwise, as (state, answer, answer without)."""

    def differences(profile: str, states: list[str], answers: list, kept: str) -> list:
        from hub_tools.linters import PylintLinter

        with without_kept(kept):
            plain = PylintLinter(profile, timeout=None)
            return [(text, answer, expected) for text, answer in zip(states, answers, strict=True)
                    if answer != (expected := plain.lint(text))]

    return differences


def _calls_counted(linter, text: str, code, asked=lambda frame: True) -> tuple[list, int]:
    """(the answer, how many calls of the function of ``code`` for which ``asked(frame)`` holds) for one lint call."""
    count = 0

    def counting(frame, event, arg):
        nonlocal count
        if event == "call" and frame.f_code is code and asked(frame):
            count += 1

    sys.setprofile(counting)
    try:
        answer = linter.lint(text)
    finally:
        sys.setprofile(None)
    return answer, count


@pytest.fixture
def calls_counted() -> Callable[..., tuple[list, int]]:
    return _calls_counted
