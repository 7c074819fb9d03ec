"""Edit paths as zero-context unified diffs, and their exact replay.

The paper writes each edit as ``difflib.unified_diff(old, new, n=0)`` without the ``---``/``+++`` file
header, comparing program states after stripping outer whitespace. Every edit of an edit path only inserts
lines, so the diff is rendered here from the inserted line positions directly. That gives the same text
as difflib wherever difflib finds the true insertion, and stays insertion-only on programs with repeated
lines, where difflib's longest-block heuristic can report a replacement instead.

A state is a sorted list of line indices of the original program; lines are split on ``"\\n"`` only, so
form feeds and other characters that ``str.splitlines`` would split on stay inside their line and
replaying a path rebuilds the program exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# ASCII digits, at most 12 of them: a line number past that is no program's, and a hostile text's header of
# thousands of digits would make int() raise (Python reads at most 4,300 digits) in a parser that must not.
HUNK_HEADER = re.compile(r"^@@ -(\d{1,12})(?:,(\d{1,12}))? \+(\d{1,12})(?:,(\d{1,12}))? @@", re.ASCII)


class DiffError(ValueError):
    """A diff that cannot be applied exactly (raised by the strict replay only)."""


def trim_state(lines: Sequence[str], state: Sequence[int]) -> list[int]:
    """Drop the whitespace-only lines at both ends of a state, as comparing stripped programs does.

    >>> trim_state(["", "x = 1", "  ", "y = 2", ""], [0, 1, 2, 3, 4])
    [1, 2, 3]
    """
    start, stop = 0, len(state)
    while start < stop and not lines[state[start]].strip():
        start += 1
    while stop > start and not lines[state[stop - 1]].strip():
        stop -= 1
    return list(state[start:stop])


def _format_range(start: int, length: int) -> str:
    # difflib's unified range: 1-based start, length omitted when 1, start of an empty range is the
    # line before it.
    if length == 1:
        return str(start + 1)
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"


def insertion_diff(lines: Sequence[str], old_state: Sequence[int], new_state: Sequence[int]) -> str:
    """Return the zero-context unified diff that inserts ``new_state - old_state``.

    Args:
        lines: the lines of the original program.
        old_state: sorted line indices of the earlier state (a subset of ``new_state``).
        new_state: sorted line indices of the later state.

    Example:

    >>> lines = ["def f(x):", "    y = x + 1", "    return y"]
    >>> print(insertion_diff(lines, [0, 2], [0, 1, 2]))
    @@ -1,0 +2 @@
    +    y = x + 1
    """
    old = set(old_state)
    hunks: list[str] = []
    kept_before = 0  # old lines seen so far: the old-side position of the next insertion
    position = 0
    while position < len(new_state):
        if new_state[position] in old:
            kept_before += 1
            position += 1
            continue
        run_start = position
        while position < len(new_state) and new_state[position] not in old:
            position += 1
        added = [lines[index] for index in new_state[run_start:position]]
        header = f"@@ -{_format_range(kept_before, 0)} +{_format_range(run_start, len(added))} @@"
        hunks.append("\n".join([header] + ["+" + line for line in added]))
    return "\n".join(hunks)


def _hunks(diff: str) -> list[tuple[int, list[str]]]:
    """Split a diff into (new-side start, added lines); strict: anything unexpected raises DiffError.

    Strict means the text is one this module (or difflib, for an insertion) writes, header included: a hunk's
    header is ``@@ -A,0 +B[,C] @@`` and nothing else; C (1 when left out) is the number of lines it adds;
    A, the old-side line it inserts after, is B - 1 less the lines the diff's earlier hunks add; and hunks
    go down the program, never two at one place (they would be one hunk). A header that disagrees with its
    lines would still replay to the right program, and teach a model trained on it headers that lie.
    """
    hunks: list[tuple[int, list[str]]] = []
    headers: list[tuple[str, int, int]] = []  # (header, old-side start, lines it says it adds)
    for line in diff.split("\n"):
        match = HUNK_HEADER.match(line)
        if match:
            if match.group(2) != "0":  # an insertion's old-side range is always empty: "-a,0"
                raise DiffError(f"hunk removes lines: {line!r}")
            if match.end() != len(line):
                raise DiffError(f"text after a hunk header: {line!r}")
            hunks.append((int(match.group(3)), []))
            headers.append((line, int(match.group(1)), 1 if match.group(4) is None else int(match.group(4))))
        elif line.startswith("+") and hunks:
            hunks[-1][1].append(line[1:])
        else:
            raise DiffError(f"unexpected diff line: {line!r}")
    added_before = 0
    previous_old_start = -1
    for (new_start, added), (header, old_start, said) in zip(hunks, headers, strict=True):
        if said != len(added):
            raise DiffError(f"hunk header {header!r} says {said} line(s), the hunk adds {len(added)}")
        if old_start != new_start - 1 - added_before or old_start <= previous_old_start:
            raise DiffError(f"hunk header {header!r}: its old-side line {old_start} does not match its new-side "
                            f"line {new_start} after the diff's earlier hunks")
        added_before += len(added)
        previous_old_start = old_start
    return hunks


def apply_diff(program_lines: list[str], diff: str) -> list[str]:
    """Apply one insertion-only diff to a list of lines and return the new list (strict).

    >>> apply_diff(["def f(x):", "    return y"], "@@ -1,0 +2 @@\\n+    y = x + 1")
    ['def f(x):', '    y = x + 1', '    return y']
    """
    result = list(program_lines)
    for new_start, added in _hunks(diff):
        if not added:
            raise DiffError(f"hunk at line {new_start} adds nothing")
        # With zero context the new-side start of an insertion is where its first line lands, counting
        # the lines inserted by the hunks before it.
        index = new_start - 1
        if not 0 <= index <= len(result):
            raise DiffError(f"hunk at line {new_start} is outside a {len(result)}-line program")
        result[index:index] = added
    return result


def apply_diffs(diffs: Sequence[str]) -> str:
    """Replay an edit path from the empty program and return the program it writes (strict).

    Raises:
        DiffError: if a diff is malformed or does not fit the program built so far.

    Example:

    >>> apply_diffs(["@@ -0,0 +1,2 @@\\n+def f(x):\\n+    return y", "@@ -1,0 +2 @@\\n+    y = x + 1"])
    'def f(x):\\n    y = x + 1\\n    return y'
    """
    lines: list[str] = []
    for diff in diffs:
        lines = apply_diff(lines, diff)
    return "\n".join(lines)
