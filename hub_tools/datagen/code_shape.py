"""The shape of a program: what is left of its code when names, strings and type hints are set aside.

Decontamination (:mod:`hub_tools.datagen.decontamination`) compares a row's program with each benchmark
problem's code a second time on these tokens, to find copies that a rewrite has changed in ways that keep
the program the same: its function, arguments and variables renamed, its docstring dropped or reworded,
its numbers spelled another way (``1.`` for ``1.0``, ``1_000`` for ``1000``), its type hints added or taken
away (HumanEval's prompts carry them, a rewrite often drops them, and a model writing for Python 3.9+ says
``list[int]`` where the prompt said ``List[int]``).

- :func:`renaming_invariant_tokens`: each name becomes the distance back to its previous occurrence
  (``#0`` for a first one), so a consistent renaming changes none of the tokens while the data flow they
  encode keeps boilerplate apart far better than one placeholder per name would. Keywords, builtins and
  attribute names (``.append``) stay as they are: changing them changes what the program does. A number
  becomes its value. String literals and comments are dropped, and so are parentheses, commas,
  semicolons and backslashes (formatters add and remove them).
- :func:`without_type_hints`: the program with the annotations of arguments, return values and variables
  blanked out, and its imports from ``typing`` (and ``__future__``) too. It works on the syntax tree, so
  only code that parses loses its hints; the positions the tree gives are used to blank the text itself,
  which keeps this a fraction of the cost of rewriting the program from its tree (``ast.unparse``).

Pure functions of text, no I/O.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import unicodedata

from hub_tools.recursion_budget import recursion_budget

# A name's token is the distance back to its previous occurrence, this far at most.
_NAME_DISTANCE_CAP = 64
_FIXED_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
# A string literal (any prefix and quotes) or a comment, matched whole so that a "#" inside a string starts
# no comment (decontamination's lexer of names kept begins the same way).
STRING_OR_COMMENT = r"""
    (?P<string>[rRbBuUfF]{0,2}(?:
        \"\"\"(?:\\.|[^\\])*?\"\"\" | '''(?:\\.|[^\\])*?''' | "(?:\\.|[^"\\\n])*" | '(?:\\.|[^'\\\n])*'))
  | (?P<comment>\#[^\n]*)
"""
# Then names, numbers (every spelling Python accepts) and punctuation. Quotes, parentheses, commas,
# semicolons and backslashes are no tokens.
_CODE_LEXEME = re.compile(STRING_OR_COMMENT + r"""
  | (?P<name>[^\W\d]\w*)
  | (?P<number>0[xXoObB][\w]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d[\d_]*)?[jJ]?)
  | (?P<mark>[^\s\w'"`(),;\\])
""", re.VERBOSE)
# Modules whose imports serve type hints only.
_HINT_MODULES = frozenset({"typing", "typing_extensions", "__future__"})


def number_value(literal: str) -> str:
    """A number literal as its value, so every spelling of one number gives one token.

    >>> [number_value(text) for text in ("1.", "1.0", "1_000", "0x3e8", "1e3", ".5", "2j")]
    ['1.0', '1.0', '1000', '1000', '1000.0', '0.5', '2j']
    """
    try:
        if literal[-1] in "jJ":
            return repr(complex(literal))
        try:
            return str(int(literal, 0))
        except ValueError:
            return repr(float(literal))
    except ValueError:  # an int too long to write in decimal (Python's limit of 4,300 digits)
        return literal


# Characters that show as nothing (Unicode's format characters a text can carry: zero-width spaces and joiners,
# the soft hyphen, direction marks, the word joiner, the byte-order mark): a copy strewn with them reads the same.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


# Cyrillic and Greek letters drawn like Latin ones (the look-alikes of Unicode's confusables list that stand for
# a Latin letter on their own): a copy with Latin letters swapped for them reads the same to a person.
_LOOK_ALIKES = str.maketrans("аеорсухіјѕԁһӏԛԝАВЕКМНОРСТХІЈЅοαρνκτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                             "aeopcyxijsdhlqwABEKMHOPCTXIJSoapvktuxABEZHIKMNOPTYX")


def comparable_text(text: str) -> str:
    """``text`` as copies of it are compared: invisible characters dropped, compatibility forms folded (NFKC:
    fullwidth ``ｌｅｎ`` is ``len``, as Python itself reads an identifier), Cyrillic and Greek look-alikes read as
    the Latin letters they imitate. ASCII text is returned as it is.

    >>> comparable_text("ｒｅｔｕｒｎ\u200b ｌｅｎ(ｘ)"), comparable_text("r\u0435turn")
    ('return len(x)', 'return')
    """
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).translate(_LOOK_ALIKES)


def renaming_invariant_tokens(code: str) -> list[str]:
    """The tokens a program is compared on under other names: each name becomes the distance back to its
    previous occurrence (``#0`` for a first one), so a consistent renaming changes none of them.

    >>> renaming_invariant_tokens("def add(a, b):\\n    return a + b")
    ['def', '#0', '#0', '#0', ':', 'return', '#4', '+', '#5']
    >>> renaming_invariant_tokens("def plus(x, y):  # renamed\\n    'Sum.'\\n    return x + y")
    ['def', '#0', '#0', '#0', ':', 'return', '#4', '+', '#5']
    >>> renaming_invariant_tokens("x = y ** (1. / 3)") == renaming_invariant_tokens("z = w ** (1.0 / 3)")
    True
    """
    tokens: list[str] = []
    last_seen: dict[str, int] = {}
    after_dot = False
    for match in _CODE_LEXEME.finditer(comparable_text(code)):
        kind = match.lastgroup
        if kind in ("string", "comment"):
            continue
        text = match.group()
        if kind == "number":
            text = number_value(text)
        elif kind == "name" and not after_dot and text not in _FIXED_NAMES:
            position = len(tokens)
            previous = last_seen.get(text)
            last_seen[text] = position
            text = "#0" if previous is None else f"#{min(position - previous, _NAME_DISTANCE_CAP)}"
        after_dot = text == "."
        tokens.append(text)
    return tokens


def _statements(body: list[ast.stmt]):
    """Every statement of ``body`` and of the blocks inside it (not the expressions: hints sit on statements)."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        yield statement
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in reversed(getattr(statement, name, ())):
                if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    stack += reversed(child.body)
                else:
                    stack.append(child)


def _hint_spans(tree: ast.Module, offset) -> list[tuple[int, int]]:
    """Byte spans of the text that are type hints: ``: int`` of an argument, ``-> int`` of a function,
    ``: int`` of an assignment (all of ``x: int`` without a value), and imports from :data:`_HINT_MODULES`."""
    spans = []
    for statement in _statements(tree.body):
        start = offset(statement.lineno, statement.col_offset)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = statement.args
            for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                             arguments.vararg, arguments.kwarg):
                if argument is not None and argument.annotation is not None:
                    spans.append((offset(argument.lineno, argument.col_offset), argument.annotation, b":"))
            if statement.returns is not None:
                last = max((offset(node.end_lineno, node.end_col_offset) for node in ast.walk(arguments)
                            if hasattr(node, "end_col_offset")), default=start)
                spans.append((last, statement.returns, b"->"))
        elif isinstance(statement, ast.AnnAssign):
            if statement.value is None:
                spans.append((start, offset(statement.end_lineno, statement.end_col_offset)))
            else:
                spans.append((offset(statement.target.end_lineno, statement.target.end_col_offset),
                              statement.annotation, b":"))
        elif isinstance(statement, ast.ImportFrom) and statement.module in _HINT_MODULES and not statement.level:
            spans.append((start, offset(statement.end_lineno, statement.end_col_offset)))
    return spans


def without_type_hints(code: str) -> str:
    """``code`` with its type hints and imports from ``typing`` blanked out; ``code`` itself when it holds none
    or does not parse.

    >>> code = "from typing import List\\ndef f(xs: List[int], *, k: int = 2) -> int:\\n    return k"
    >>> " ".join(without_type_hints(code).split())
    'def f(xs , *, k = 2) : return k'
    """
    try:
        with recursion_budget():  # the same answer for deep code from any caller (hub_tools.recursion_budget)
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    data = bytearray(code.encode("utf-8", "surrogatepass"))
    line_starts = [0]
    for line in bytes(data).splitlines(keepends=True):  # the tree counts lines as bytes.splitlines() does
        line_starts.append(line_starts[-1] + len(line))

    def offset(line: int, column: int) -> int:  # the tree's columns are UTF-8 byte offsets
        return line_starts[line - 1] + column

    blanked = False
    for span in _hint_spans(tree, offset):
        if len(span) == 3:  # from the marker (":" or "->") before the annotation to the annotation's end
            lower, annotation, marker = span
            begin = offset(annotation.lineno, annotation.col_offset)
            end = offset(annotation.end_lineno, annotation.end_col_offset)
            start = data.rfind(marker, lower, begin)
            # Only layout and comments lie between the marker and the annotation: a marker in a comment there
            # (`a:  # like: this` then the annotation on the next line) is not the one.
            while start > lower and b"#" in data[max(data.rfind(b"\n", lower, start), lower):start]:
                start = data.rfind(marker, lower, data.rfind(b"#", lower, start))
            start = lower if start < 0 else start
            for _ in range(data.count(b"(", start, begin)):  # the tree leaves out the parentheses of `-> (int)`
                end = data.find(b")", end) + 1 or end
        else:
            start, end = span
        # Everything goes, line breaks too: a comment inside the span goes with it, and brackets that held the
        # lines of an annotation together are gone.
        data[start:end] = b" " * (end - start)
        blanked = True
    return data.decode("utf-8", "surrogatepass") if blanked else code
