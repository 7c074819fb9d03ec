"""Deeply nested programs: the linter's answer does not depend on how deep the caller's stack is, and it gives up
on the same programs as ``pylint`` on the command line.

Python's recursion limit counts levels from the bottom of the stack, so before each call had a budget of its
own, a 240-branch ``elif`` chain was clean when linted from a shallow stack and a crash (its row skipped) from
a stack 300 levels deeper: the local engine, a datatrove task and a Ray worker do not call from the same depth.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub_tools.linters import LinterCrash, PylintLinter
from hub_tools.recursion_budget import current_depth, recursion_budget


def elif_chain(branches: int) -> str:
    cases = "".join(f"    {'if' if case == 0 else 'elif'} x == {case}:\n        return {case}\n" for case in range(branches))
    return f"def f(x):\n{cases}    return -1\n"


def sum_over_lines(terms: int) -> str:
    return "x = 1\ny = (x\n" + "     + x.real\n" * terms + ")\nprint(y)\n"


def at_depth(levels: int, call):
    """``call()`` from a stack ``levels`` levels deeper than this one."""
    return call() if levels == 0 else at_depth(levels - 1, call)


def outcome(linter: PylintLinter, program: str):
    try:
        return [error.code for error in linter.lint(program)]
    except LinterCrash:
        return "crash"


@pytest.fixture(scope="module")
def linter() -> PylintLinter:
    return PylintLinter(timeout=None)  # a loaded test machine must not turn a call into an error


@pytest.mark.parametrize("program, expected", [
    (elif_chain(240), []),  # was a crash from 300 levels deeper
    (sum_over_lines(400), []),  # was a crash from 300 levels deeper
    (elif_chain(340), "crash"),  # too deep for pylint from anywhere
], ids=["elif-240", "sum-400", "elif-340"])
def test_the_answer_is_the_same_from_any_stack_depth(linter, program, expected):
    answers = [at_depth(levels, lambda: outcome(linter, program)) for levels in (0, 300, 600)]
    assert answers == [expected] * 3


def test_a_call_leaves_the_callers_recursion_limit_as_it_was(linter):
    before = sys.getrecursionlimit()
    assert at_depth(300, lambda: outcome(linter, elif_chain(340))) == "crash"
    assert outcome(linter, "x = 1\nprint(x)\n") == []
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize("command", ["python -m pylint", "pylint"])
def test_pylint_on_the_command_line_gives_up_on_the_same_programs(linter, tmp_path, command):
    # The budget is what `python -m pylint file.py` has under Python's default limit: a 324-branch chain passes
    # both, 325 branches crash both (F0002 on the command line). The `pylint` script starts a level or two
    # shallower and crashes from 326: whatever passes here passes both (at 990 levels, 325 passed here and
    # crashed `python -m pylint`).
    start = [sys.executable, "-m", "pylint"] if command == "python -m pylint" else [str(Path(sys.executable).with_name("pylint"))]
    last_clean = 324 if command == "python -m pylint" else 325
    for branches in (324, 325, 326):
        path = tmp_path / f"chain_{branches}.py"
        path.write_text(elif_chain(branches))
        result = subprocess.run([*start, "--rcfile=/dev/null", "--disable=all", "--enable=E,F,W0311,W0231",
                                 "--disable=E0401,E0402,E0611", "--score=n", "--reports=n",
                                 "--msg-template={line}:{msg_id}", str(path)], capture_output=True, text=True,
                                cwd=tmp_path)
        assert ("F0002" in result.stdout) is (branches > last_clean), result.stdout
        assert outcome(linter, elif_chain(branches)) == ("crash" if branches > 324 else [])


def terms_over_lines(terms: int) -> str:
    return "a, b, c = 1, 2, 3\nx = (\n    a*b\n" + "".join(f"    + a*b*{i} - c**2\n" for i in range(1, terms)) + ")\nprint(x)\n"


def names_on_one_line(terms: int) -> str:
    return "a = 1\nx = " + " + ".join("a" for _ in range(terms)) + "\nprint(x)\n"


@pytest.mark.parametrize("shape, last_clean", [(terms_over_lines, 243), (names_on_one_line, 488)],
                         ids=["over-lines", "one-line"])
def test_a_deep_expression_crashes_here_from_the_term_it_crashes_the_command_line(linter, tmp_path, shape, last_clean):
    # pylint looks up every name from the deepest point of its walk for undefined-loop-variable, a message not
    # counted: with that check skipped here, sums of 244 to 488 terms over as many lines passed, and were an
    # F0002 crash for the command line from 244.
    for terms in (last_clean, last_clean + 1):
        path = tmp_path / f"terms_{terms}.py"
        path.write_text(shape(terms))
        result = subprocess.run([sys.executable, "-m", "pylint", "--rcfile=/dev/null", "--disable=all",
                                 "--enable=E,F,W0311,W0231", "--disable=E0401,E0402,E0611", "--score=n", "--reports=n",
                                 "--msg-template={line}:{msg_id}", str(path)], capture_output=True, text=True, cwd=tmp_path)
        assert ("F0002" in result.stdout) is (terms > last_clean), (terms, result.stdout[-500:])
        assert outcome(linter, shape(terms)) == ("crash" if terms > last_clean else []), terms


def test_budgets_nest_and_give_back_the_limit_even_after_an_error():
    def deep(levels):
        return 0 if levels == 0 else 1 + deep(levels - 1)

    before = sys.getrecursionlimit()
    with recursion_budget(300):
        outer = sys.getrecursionlimit()
        assert outer - current_depth() in range(300, 310)  # the levels, and the few the context manager uses
        with pytest.raises(RecursionError), recursion_budget(100):
            deep(150)
        assert sys.getrecursionlimit() == outer
        assert deep(250) == 250
    assert sys.getrecursionlimit() == before
