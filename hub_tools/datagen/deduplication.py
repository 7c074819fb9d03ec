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
(``run_statistics.merge_part_statistics``, through :class:`FirstRows`: 16 bytes a program where a dict of
key strings took about 150). That is one code path for any number of workers and any executor, and the
result does not depend on the order in which parts were finished.
"""

from __future__ import annotations

import ast
import hashlib
import re
from array import array

import numpy as np

from hub_tools.recursion_budget import recursion_budget

DEDUP_MODES = ("none", "exact")
# In ast.dump's text a string's line break is the two characters \n, and a tab the two characters \t: the
# indentation after a line break, spaces or tabs, is dropped.
_INDENTED_LINE = re.compile(r"\\n(?: |\\t)+")


def normalized_program(program: str) -> str:
    """The program's syntax tree as text, docstrings without their indentation (see the module docstring).

    >>> normalized_program("x = [1,\\n     2,]  # two") == normalized_program("x = [1, 2]")
    True
    >>> normalized_program("t = (1,)") == normalized_program("t = (1)")
    False
    """
    # Parsing and dumping recurse on the tree: a fixed budget makes the key of a deeply nested program the same
    # from any caller (hub_tools.recursion_budget); past it the program is compared as text.
    with recursion_budget():
        try:
            tree = ast.parse(program)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return program  # not Python: compared as it is
        try:
            dumped = ast.dump(tree)
            if "kind='u'" in dumped:  # u"..." is "...": the prefix is kept in the tree, as kind='u'
                for node in ast.walk(tree):
                    if isinstance(node, ast.Constant):
                        node.kind = None
                dumped = ast.dump(tree)
        except (ValueError, RecursionError):  # a hex literal longer than Python writes in decimal; a tree deeper
            return program  # than the budget (a sum of 1,000 terms over as many lines)
    # One regular expression over the dump rather than a walk over the tree: a re-indented docstring is the
    # same docstring.
    return _INDENTED_LINE.sub(r"\\n", dumped)


def program_key(program: str) -> str:
    """16 hex characters identifying the normalised program.

    >>> program_key("def f():\\n    return 'a'") == program_key('def f():\\n  return ("a")  # same')
    True
    """
    return hashlib.sha256(normalized_program(program).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def first_positions(keys: np.ndarray) -> np.ndarray:
    """For each element of ``keys``, the position of the first element with the same key (one sort).

    >>> first_positions(np.array([7, 3, 7, 7, 3], dtype=np.uint64)).tolist()
    [0, 1, 0, 0, 1]
    """
    order = np.argsort(keys, kind="stable")  # by key, each key's elements in their order
    grouped = keys[order]
    opens = np.r_[True, grouped[1:] != grouped[:-1]] if len(order) else np.zeros(0, dtype=bool)
    del grouped
    positions = np.empty(len(order), dtype=np.int64)
    positions[order] = order[opens][np.cumsum(opens) - 1]
    return positions


class FirstRows:
    """The smallest source row index of each program key, for millions of programs in 16 bytes each.

    Every (key, row index) is added first, then :meth:`first_of` answers for keys that were added.

    >>> first = FirstRows()
    >>> for key, row in (("00000000000000aa", 7), ("00000000000000bb", 3), ("00000000000000aa", 2)):
    ...     first.add(key, row)
    >>> first.first_of(["00000000000000aa", "00000000000000bb", "00000000000000aa"])
    [2, 3, 2]
    """

    def __init__(self):
        self._keys, self._rows = array("Q"), array("q")
        self._sorted_keys: np.ndarray | None = None
        self._first: np.ndarray | None = None

    def add(self, key: str, row_index: int) -> None:
        """Record that source row ``row_index`` has the program of ``key`` (a :func:`program_key`)."""
        self._keys.append(int(key, 16))
        self._rows.append(row_index)

    def _freeze(self) -> None:
        keys, rows = np.frombuffer(self._keys, np.uint64), np.frombuffer(self._rows, np.int64)
        order = np.lexsort((rows, keys))  # by key, the smallest row first
        keys, rows = keys[order], rows[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
        self._sorted_keys, self._first = keys[starts], rows[starts]
        self._keys, self._rows = array("Q"), array("q")

    def first_of(self, keys: list[str]) -> list[int]:
        """The smallest row index recorded for each of ``keys``."""
        if self._sorted_keys is None:
            self._freeze()
        wanted = np.array([int(key, 16) for key in keys], np.uint64)
        where = np.minimum(np.searchsorted(self._sorted_keys, wanted), max(len(self._sorted_keys) - 1, 0))
        if len(wanted) and (not len(self._sorted_keys) or (self._sorted_keys[where] != wanted).any()):
            raise KeyError("a program key that was never added (did the parts change between the two passes?)")
        return self._first[where].tolist() if len(wanted) else []
