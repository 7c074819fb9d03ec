"""Recursion budgets that do not depend on how deep the caller's stack already is.

Python raises ``RecursionError`` when a thread's stack reaches ``sys.getrecursionlimit()`` levels, counted
from the bottom of the thread, not from the function that recurses. Work that recurses on a program's
structure (pylint and astroid on a long ``elif`` chain or a 300-term ``a + b + ...`` spread over lines,
:func:`ast.parse`, whose compiler checks scale with the same limit, :func:`ast.dump`) therefore succeeded or
failed depending on who called it. Measured on one 240-branch ``elif`` chain under the default limit: linted
in full when called near the bottom of the stack, linted with some of astroid's transforms silently left
out 100 levels deeper, and a crash (the row skipped) 300 levels deeper. The local engine, a datatrove task and a Ray
worker call the linter from stacks of different depths, so one program could give different rows on
different executors, against the promise that a path is a pure function of (program, seed, config, linter).

:func:`recursion_budget` gives the work inside it a fixed number of levels above the depth it was entered
at, whatever that depth is: it reads the exact depth (see :func:`current_depth`), sets the limit to that
depth plus the budget for the length of the block, and puts the caller's limit back after it. Budgets nest.

The limit is one setting for the whole interpreter, so while a block runs, other threads run under its
limit too; blocks of several threads take turns (a lock), which the linter does anyway (one call at a time
in a process).
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

# Python's default limit: the levels a fresh program gets.
DEFAULT_LEVELS = 1000

_DEPTH_IN_MESSAGE = re.compile(r"recursion depth (\d+)")
_ONE_BUDGET_AT_A_TIME = threading.RLock()
_Answer = TypeVar("_Answer")


def current_depth() -> int:
    """The recursion depth Python counts for the calling thread, as ``RecursionError`` counts it.

    The count includes the levels of C functions that call back into Python (``map``, ``sorted``'s key,
    ``__instancecheck__``), which a count of frames misses. Python says it when asked for a limit at or
    below the current depth: the limit is then left as it was.
    """
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(1)  # below any running code's depth: refused, naming the depth
    except RecursionError as error:
        found = _DEPTH_IN_MESSAGE.search(str(error))
        if found:
            return int(found.group(1))
    else:  # pragma: no cover - an interpreter that accepted it: take it back at once
        sys.setrecursionlimit(limit)
    frame, depth = sys._getframe(), 0  # pragma: no cover - another interpreter's wording: count the frames
    while frame is not None:  # pragma: no cover
        frame, depth = frame.f_back, depth + 1
    return depth  # pragma: no cover


@contextlib.contextmanager
def recursion_budget(levels: int = DEFAULT_LEVELS) -> Iterator[None]:
    """Run the block with ``levels`` levels of recursion above the depth it is entered at.

    >>> import sys
    >>> def deep(levels):
    ...     return 0 if levels == 0 else 1 + deep(levels - 1)
    >>> def at_depth(extra, levels):  # the same work from a deeper stack
    ...     if extra:
    ...         return at_depth(extra - 1, levels)
    ...     with recursion_budget(200):
    ...         try:
    ...             return deep(levels)
    ...         except RecursionError:
    ...             return None
    >>> [at_depth(extra, 150) for extra in (0, 300)], [at_depth(extra, 250) for extra in (0, 300)]
    ([150, 150], [None, None])
    """
    with _ONE_BUDGET_AT_A_TIME:
        before = sys.getrecursionlimit()
        sys.setrecursionlimit(current_depth() + levels)
        try:
            yield
        finally:
            sys.setrecursionlimit(before)


def at_any_depth(call: Callable[..., _Answer], *args, levels: int = DEFAULT_LEVELS, **keywords) -> _Answer:
    """``call(*args, **keywords)``, answered as it is inside ``recursion_budget(levels)``, whatever the caller's
    depth.

    For pure work done once per row, where the budget's few microseconds would show (decoding a JSON row):
    the call runs plainly first, which gives the budget's answer whenever the interpreter's limit is at most
    ``levels`` (the plain call then has fewer levels than the budget, so what succeeds plainly succeeds in
    the budget, and an error other than ``RecursionError`` is met at the same place); only a
    ``RecursionError``, or a raised limit, runs it again inside the budget.

    >>> import json
    >>> deep = "[" * 950 + "]" * 950
    >>> def from_depth(extra):
    ...     return from_depth(extra - 1) if extra else len(at_any_depth(json.loads, deep))
    >>> [from_depth(extra) for extra in (0, 300, 600)]
    [1, 1, 1]
    """
    if sys.getrecursionlimit() <= levels:
        try:
            return call(*args, **keywords)
        except RecursionError:
            pass  # perhaps only for the levels the caller's stack holds: the budget decides
    with recursion_budget(levels):
        return call(*args, **keywords)
