"""What a checked program's comments may do to pylint: its pragmas, and its coding declaration.

The kept-alive linter (:mod:`hub_tools.linters.pylint_backend`, whose docstring says why) obeys no pragma, and
reads the program as the text it is given, whatever codec a declaration names. The two stand-ins here do that
inside pylint: one for the reader of ``# pylint:`` comments, one for the bytes pylint's token and unicode
checkers read.
"""

from __future__ import annotations

import re

# PEP 263: where Python reads a coding declaration (a comment on line 1 or 2), and the codec it names.
_DECLARATION = re.compile(r"^([ \t\f]*#.*?coding[:=][ \t]*)([-\w.]+)", re.ASCII)


def bytes_read_as_written(program: str) -> bytes | None:
    """The program's UTF-8 bytes with its coding declaration naming ``utf-8``; ``None`` when it has none
    (astroid's own bytes of it are then the right ones).

    >>> bytes_read_as_written("# -*- coding: latin-1 -*-\\ns = 'caf\\u00e9'")
    b"# -*- coding: utf-8 -*-\\ns = 'caf\\xc3\\xa9'"
    >>> bytes_read_as_written("x = 1") is None
    True
    """
    head = program.split("\n", 2)
    declared = [_DECLARATION.sub(r"\g<1>utf-8", line, count=1) for line in head[:2]]
    if declared == head[:2]:
        return None
    return "\n".join(declared + head[2:]).encode("utf-8")


def pragmas_obeyed_by_none(pylinter):
    """What stands in for ``PyLinter.process_tokens``, pylint's reader of ``# pylint:`` comments: no pragma is
    obeyed, and one that names no option pylint knows (``# pylint: disabl=unused-import``) is reported as the
    command line reports it, E0011 unrecognized-inline-option (a counted error: a state holding such a comment
    was clean here and flagged by a fresh ``pylint`` command line). pylint's other pragma messages are not
    counted (I0010, W0012, R0022, I0013, I0022). A pragma that would skip the file (``skip-file``,
    ``disable-all``, ``disable=all``) is not obeyed either, so the pragmas after it are read as well: pylint's
    reader stops there, and a state holding ``# pylint: skip-file`` and then ``# pylint: disabl=...`` was clean
    here and E0011 for a pylint that obeys no pragma (the lint-clean audit's check); such a state is now flagged,
    which both checks accept (the command line, obeying the skip, reports nothing in the file)."""
    import tokenize

    from pylint.utils.pragma_parser import (
        OPTION_PO,
        InvalidPragmaError,
        UnRecognizedOptionError,
        parse_pragma,
    )

    def process_tokens(tokens) -> None:
        for token in tokens:
            if token.type != tokenize.COMMENT or (match := OPTION_PO.search(token.string)) is None:
                continue
            try:
                for _ in parse_pragma(match.group(2)):
                    pass
            except UnRecognizedOptionError as error:
                pylinter.add_message("unrecognized-inline-option", args=error.token, line=token.start[0])
            except InvalidPragmaError:
                pass

    return process_tokens
