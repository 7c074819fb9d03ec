"""Exact deduplication of programs after normalisation, the first occurrence kept.

Two programs are duplicates when their Python tokens are the same once what formatting changes is set
aside: comments, blank lines, line continuations, the width of indentation (its structure is kept: it is
Python's syntax), the quote style and prefix of string literals (their value is compared, multi-line
strings without their common indentation, so a re-indented docstring stays the same), and trailing
commas before a closing bracket (kept in ``(x,)``, which is a tuple). Names, literals and structure must
match exactly, so two different programs are never merged; renamed copies are not caught (that is
near-duplicate detection, which this module does not do).

Which copy stays is decided when the engine's parts are assembled into shards, from the recorded
``(row index, key)`` of every emitted program: the smallest source row index of each key is kept. That
is one code path for any number of workers and any executor, and the result does not depend on the order
in which parts were finished.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from collections.abc import Iterable

DEDUP_MODES = ("none", "exact")
_IGNORED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_OPENING, _CLOSING = "([{", ")]}"


def _string_value(literal: str) -> str:
    import ast
    import inspect

    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):  # f-strings before Python 3.12 arrive as one STRING token
        return literal
    if isinstance(value, str) and "\n" in value:
        value = inspect.cleandoc(value)  # a re-indented docstring is the same docstring
    return repr(value)


def normalized_program(program: str) -> list[str]:
    """The program's tokens with formatting set aside (see the module docstring).

    >>> normalized_program("x = [1,\\n     2,]  # two") == normalized_program("x = [1, 2]")
    True
    >>> normalized_program("t = (1,)") == normalized_program("t = (1)")
    False
    >>> normalized_program("return (x,)") == normalized_program("return (x)")
    False
    """
    tokens: list[str] = []
    brackets: list[list] = []  # [opening character, is a call or subscript, commas seen]
    try:
        for token in tokenize.generate_tokens(io.StringIO(program).readline):
            if token.type in _IGNORED:
                continue
            text = token.string
            if token.type == tokenize.INDENT:
                text = "<indent>"
            elif token.type == tokenize.DEDENT:
                text = "<dedent>"
            elif token.type == tokenize.NEWLINE:
                text = "<newline>"
            elif token.type == tokenize.STRING:
                text = _string_value(text)
            elif text in _OPENING:
                previous = tokens[-1] if tokens else ""
                follows_value = previous in (")", "]", "}") or (previous.isidentifier()
                                                                 and not keyword.iskeyword(previous))
                brackets.append([text, follows_value, 0])
            elif text == "," and brackets:
                brackets[-1][2] += 1
            elif text in _CLOSING and brackets:
                opening, follows_value, commas = brackets.pop()
                # A trailing comma is formatting, except the one that makes a one-element tuple.
                if tokens and tokens[-1] == "," and (opening != "(" or follows_value or commas > 1):
                    tokens.pop()
            tokens.append(text)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return [program]
    return tokens


def program_key(program: str) -> str:
    """16 hex characters identifying the normalised program.

    >>> program_key("def f():\\n    return 'a'") == program_key('def f():\\n  return "a"  # same')
    True
    """
    text = "\x00".join(normalized_program(program))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def duplicate_rows(programs: Iterable[tuple[int, str]]) -> dict[int, int]:
    """Map the row index of every duplicate program to the row index of the copy that is kept.

    Args:
        programs: ``(source row index, program key)`` of every emitted program, in any order.

    >>> duplicate_rows([(7, "k1"), (2, "k1"), (5, "k2"), (9, "k1")])
    {7: 2, 9: 2}
    """
    first: dict[str, int] = {}
    pairs = list(programs)
    for index, key in pairs:
        if key not in first or index < first[key]:
            first[key] = index
    return {index: first[key] for index, key in sorted(pairs) if first[key] != index}
