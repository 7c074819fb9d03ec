"""Syntax errors as LintSeq counts them: pylint's E0001, and the line a deletion has to take.

Most broken intermediate states of a path are syntax errors: a block opener whose block went with the
drawn line, a bracket whose other half did. They are answered here from :func:`ast.parse` in a fraction
of a millisecond, before any pylint analysis, and a state pylint finds clean is compiled once more for
the few errors only the compiler sees (``'break' outside loop`` and the like, which pylint reports itself
in most cases).

Which line is flagged. Python reports where parsing stopped, which is not always the line at fault:

- ``expected an indented block after 'if' statement on line 2`` stops at the first statement after the
  emptied block (line 3), and is about the opener on line 2;
- ``closing parenthesis ']' does not match opening parenthesis '(' on line 4`` is about the bracket opened
  on line 4.

LintSeq deletes the flagged line, so the line matters: flagging where parsing stopped deletes the next
statement, then the one after it, until the opener is the last line of the file, and one edit swallows
everything after an emptied block (on whole modules, paths had half the paper's number of edits). For an
error that names its line (``... on line N``, the end of the message), line ``N`` is flagged, as the
paper's implementation does; for every other syntax error, the line Python reports.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings

from hub_tools.lintseq.linter import LintError
from hub_tools.recursion_budget import recursion_budget

# The end of Python's messages that name the line they are about.
_NAMED_LINE = re.compile(r"\bon line (\d+)$")
# PEP 263's declaration (``# -*- coding: latin-1 -*-``), as Python looks for it in a file's first two lines.
_DECLARATION = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)


def flagged_line(error: SyntaxError) -> int:
    """The line a syntax error is about: the line its message names, else the line Python reports.

    >>> try:
    ...     ast.parse("if x:\\nprint(x)")
    ... except SyntaxError as error:
    ...     (error.lineno, flagged_line(error))
    (2, 1)
    """
    named = _NAMED_LINE.search(error.msg or "")
    if named is not None:
        return max(int(named.group(1)), 1)
    return error.lineno or 1


def syntax_error(program: str, stage: str, filename: str = "<program>") -> LintError | None:
    """The E0001 error of ``program`` at ``stage`` (``"parse"``: :func:`ast.parse`; ``"compile"``: the
    whole compiler), or ``None`` when it passes."""
    try:
        # The compiler warns about valid code (``x is 1``, an invalid escape): not an error, and not a line
        # to print on the console for every state of every program.
        # Parsing and compiling recurse on the tree, so a deeply nested program needs the same levels from any
        # caller (hub_tools.recursion_budget).
        with warnings.catch_warnings(), recursion_budget():
            warnings.simplefilter("ignore")
            if stage == "parse":
                ast.parse(program)
            else:
                compile(program, filename, "exec", dont_inherit=True)
    except SyntaxError as error:  # IndentationError and TabError included
        return LintError(line=flagged_line(error), code="E0001", message=f"syntax-error: {error.msg}")
    except (ValueError, OverflowError, RecursionError, MemoryError) as error:
        # Null bytes, too deeply nested code: not a program pylint could check either. The parser's
        # MemoryError (nesting past its stack) says nothing of itself.
        detail = str(error) or f"{type(error).__name__}: too deeply nested for Python's parser"
        return LintError(line=1, code="E0001", message=f"syntax-error: {detail}")
    return None


def compile_failure(program: str) -> str | None:
    """Why Python will not compile ``program`` (``"line 4: 'return' outside function"``), or ``None``.

    >>> compile_failure("x = 1\\nreturn x")
    "line 2: 'return' outside function"
    """
    error = syntax_error(program, "compile")
    return None if error is None else f"line {error.line}: {error.message.removeprefix('syntax-error: ')}"


def declaration_error(program: str) -> LintError | None:
    """The E0001 error of a coding declaration under which ``program``, written to a file as UTF-8, is not
    ``program``: a codec Python does not know, bytes it cannot decode, or other characters; ``None`` otherwise.

    A program is checked as text, where a declaration is a comment; a state is used as a file too, where
    Python and a pylint command line read it with the codec its first two lines name. A comment of that shape
    deeper in a program, or a line of a string that holds one, is the first line of some states (the states
    made before the lines above it arrive): written as files, those were ``unknown encoding`` errors or other
    text. Flagged here, the line goes with the deletion that made it first.

    >>> declaration_error("# -*- coding: bogus -*-")
    LintError(line=1, code='E0001', message='syntax-error: unknown encoding: bogus (the coding declaration, as a file)')
    >>> declaration_error("# coding: latin-1\\nx = 'café'").line, declaration_error("# coding: latin-1\\nx = 'cafe'")
    (1, None)
    """
    head = program.split("\n", 2)[:2]
    declared = [number for number, line in enumerate(head, start=1) if _DECLARATION.match(line)]
    if not declared:
        return None
    data = program.encode("utf-8", "surrogatepass")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        problem = None if data.decode(encoding) == program else f"the file reads as other text under {encoding}"
    except SyntaxError as error:  # an unknown codec; a declaration that disagrees with a byte-order mark
        problem = error.msg
    except (LookupError, UnicodeDecodeError) as error:
        problem = f"{type(error).__name__}: {error}"
    if problem is None:
        return None
    return LintError(line=declared[0], code="E0001", message=f"syntax-error: {problem} (the coding declaration, as a file)")
