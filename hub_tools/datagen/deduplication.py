"""Exact deduplication of programs after normalisation, the first occurrence kept.

Two programs are duplicates when they have the same **syntax tree** (``ast.dump``), with the spaces that
start the lines of multi-line strings left out. So everything formatting changes is set aside:
comments, blank lines, line breaks and continuations, indentation width, redundant parentheses, trailing
commas, the quote style and prefix of strings, and the indentation of a re-indented docstring. Names,
literals and structure must match exactly, so two different programs are never merged (``(x,)`` is a tuple,
``(x)`` is not); renamed copies are not caught (that is near-duplicate detection, which is not done here).
The syntax tree is Python's own parser at C speed: a few times cheaper than ``tokenize``.

Which copy stays is decided when the engine's parts are assembled into shards, from the recorded
``(row index, key)`` of every emitted program: the smallest source row index of each key is kept
(``run_statistics.merge_part_statistics``). That
is one code path for any number of workers and any executor, and the result does not depend on the order
in which parts were finished.
"""

from __future__ import annotations

import ast
import hashlib
import re

DEDUP_MODES = ("none", "exact")
# In ast.dump's text a string's line break is the two characters \n: the indentation after it is dropped.
_INDENTED_LINE = re.compile(r"\\n[ \t]+")


def normalized_program(program: str) -> str:
    """The program's syntax tree as text, docstrings without their indentation (see the module docstring).

    >>> normalized_program("x = [1,\\n     2,]  # two") == normalized_program("x = [1, 2]")
    True
    >>> normalized_program("t = (1,)") == normalized_program("t = (1)")
    False
    """
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return program  # not Python: compared as it is
    # One regular expression over the dump rather than a walk over the tree: a re-indented docstring is the
    # same docstring.
    return _INDENTED_LINE.sub(r"\\n", ast.dump(tree))


def program_key(program: str) -> str:
    """16 hex characters identifying the normalised program.

    >>> program_key("def f():\\n    return 'a'") == program_key('def f():\\n  return ("a")  # same')
    True
    """
    return hashlib.sha256(normalized_program(program).encode("utf-8", "surrogatepass")).hexdigest()[:16]
