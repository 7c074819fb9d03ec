"""A syntax error flags the line it is about, so an emptied block takes its opener and nothing after it."""

import ast

import pytest

from hub_tools.linters import PylintLinter
from hub_tools.linters.syntax_errors import flagged_line, syntax_error
from hub_tools.lintseq.sampling import _InducedDeletion


@pytest.mark.parametrize(("program", "line"), [
    ("def f(x):\n    if x:\n    return 0", 2),                 # emptied if: the opener, not 'return 0'
    ("for i in range(3):\nprint(i)", 1),
    ("class A:\n\ndef g():\n    return 2", 1),
    ("def f():\n\n\nx = 1", 1),
    ("try:\n    pass\nexcept ValueError:\nx = 1", 3),
    ("x = [1,\n     2)\nprint(x)", 1),                           # the bracket that was opened
    ("x = (1,\n2\nprint(x]", 3),                                   # 'print(' opened on line 3
    ("x = = 1", 1),                                               # no line named: where parsing stopped
    ("a = 1\nb = (", 2),
    ("a = 1\n  b = 2", 2),                                        # unexpected indent
])
def test_flagged_line(program, line):
    error = syntax_error(program, "parse")
    assert error is not None and error.code == "E0001"
    assert error.line == line, error.message


def test_flagged_line_falls_back_to_the_reported_line():
    with pytest.raises(SyntaxError) as caught:
        ast.parse("x = 1\ny = = 2")
    assert flagged_line(caught.value) == caught.value.lineno == 2
    assert flagged_line(SyntaxError("no position")) == 1


def test_an_emptied_block_takes_its_opener_not_the_rest_of_the_file():
    lines = ["def f(x):", "    if x:", "        return 1", "    return 0", "", "def g():", "    return 2", "",
             "print(f(1), g())"]
    induced = _InducedDeletion(lines, PylintLinter("reference"), ignore_init_errors=False)
    # Drawing 'return 1' empties the 'if': the paper's check flags 'if x:' and the next lint is clean.
    assert induced(2, frozenset()) == ([1, 2], 1)
    # Drawing 'return 2' empties 'def g():', which goes (with the blank line of its block), and then
    # the call of g is undefined.
    deleted, _ = induced(6, frozenset())
    assert deleted == [5, 6, 7, 8]


def test_compile_stage_errors_keep_their_line():
    error = syntax_error("def f():\n    pass\nbreak", "compile")
    assert (error.line, error.code) == (3, "E0001")


@pytest.mark.parametrize(("program", "line", "message"), [
    ("def f(x):\n    return x\nreturn 1", 3, "'return' outside function"),  # a function body pasted alone
    ("import asyncio\nawait asyncio.sleep(0)", 2, "'await' outside function"),  # a notebook cell
    ("def f(a, a):\n    return a", 1, "duplicate argument 'a' in function definition"),
    ("x = 1\nfrom __future__ import annotations", 2, "from __future__ imports must occur at the beginning"),
])
def test_the_compile_stage_rejects_what_the_parser_accepts(program, line, message):
    ast.parse(program)  # the premise: the parser alone accepts it
    error = syntax_error(program, "compile")
    assert error is not None and error.line == line and message in error.message


def test_compiler_warnings_are_not_printed(capfd):
    # Valid code the compiler warns about: no error, and nothing on the console (a run checks it per state).
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert syntax_error("x = 1\nprint(x is 1, '\\d')", "compile") is None
        assert syntax_error("x = 1\nprint(x is 1, '\\d')", "parse") is None
    assert caught == [] and capfd.readouterr().err == ""


def test_a_program_too_deep_for_the_parser_says_so():
    # The parser raises a MemoryError with no message: the row was skipped as `syntax_error` "line 1: ".
    from hub_tools.linters.syntax_errors import compile_failure

    assert compile_failure("x = " + "-" * 10000 + "1") == "line 1: MemoryError: too deeply nested for Python's parser"
