"""The checks of ``lintseq verify`` that need every row at once, in 32 bytes a row.

Two checks compare a row with every row before it: the same source row and path index must not appear twice
(``duplicate``), and the programs that repeat an earlier source row's program (normalised) must be as many as
the folder records (``duplicate_source``). Keeping a Python tuple, a key string and a dict entry per row
for them took about 250 bytes a row: 25 GB for a corpus of 100 million rows. Here each row leaves four
64-bit integers in compact arrays (its source row, its path index, its id and its program's key) and both
checks run once at the end, by sorting (numpy), with the same outcome as the row-by-row comparison:

- a row is a ``duplicate`` when an earlier row (in reading order) had its source row and path index;
- a source row repeats an earlier one when the first row (in reading order) with the same program came
  from another source row; the example named is the first such row read.

The few values that do not fit 64 bits (a row index that is not an integer, an id that is not 16 hex
characters: the rows of a hostile folder) are kept on the side, compared exactly for ``duplicate`` and named
exactly in the report; for ``duplicate_source`` such rows count as one source row.
"""

from __future__ import annotations

import bisect
import re
from array import array
from dataclasses import dataclass

import numpy as np

from hub_tools.datagen.deduplication import first_positions, program_key

_NONE = -(2**63)  # an absent path index (baseline rows), or a row index kept on the side
_ODD_PATH = _NONE + 1  # a path index kept on the side
_ID = re.compile(r"[0-9a-f]{16}")  # what rows.row_id writes


def _int64(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and _ODD_PATH < value < 2**63:
        return value
    return None


@dataclass(frozen=True)
class RepeatedSource:
    """A source row whose program an earlier source row already had."""

    row_index: object
    earlier: object
    count: int  # how many source rows repeat an earlier one in all


def row_location(shard: str, index: int, row_id, path_index) -> str:
    """Where a row is, as the report names it: ``"<shard> row <n> (id <id>, path <p>)"``."""
    label = f"{shard} row {index}"
    if row_id is not None:
        label += f" (id {row_id}" + (f", path {path_index}" if path_index is not None else "") + ")"
    return label


class RowsSeen:
    """What every row read so far leaves for the checks across rows."""

    def __init__(self):
        self._rows, self._paths = array("q"), array("q")
        self._ids, self._programs = array("Q"), array("Q")
        self._odd: dict[int, tuple] = {}  # reading position -> (row_index, path_index, id) that did not fit
        self._odd_keys: dict[tuple, int] = {}  # such a (row_index, path_index) -> its first reading position
        self._odd_duplicates: list[int] = []
        # Where rows were read: one segment per run of consecutive rows of one shard (not one per batch).
        self._segments: list[tuple[int, str, int]] = []  # (first reading position, shard, its row in the shard)
        self._segment_starts: list[int] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add_batch(self, shard: str, start: int, rows: list[dict]) -> None:
        """Take the ``rows`` read from ``shard``, the first of them its row number ``start``."""
        position = len(self._rows)
        if self._segments:
            first, last_shard, last_start = self._segments[-1]
            if last_shard == shard and last_start + position - first == start:
                start = None  # continues the segment
        if start is not None:
            self._segments.append((position, shard, start))
            self._segment_starts.append(position)
        for row in rows:
            self._add(row)

    def _add(self, row: dict) -> None:
        position = len(self._rows)
        row_index, path_index, row_id = row.get("row_index"), row.get("path_index"), row.get("id")
        index64, path64 = _int64(row_index), _int64(path_index) if path_index is not None else _NONE
        id64 = int(row_id, 16) if isinstance(row_id, str) and _ID.fullmatch(row_id) else None
        if index64 is None or path64 is None or id64 is None:
            self._odd[position] = (row_index, path_index, row_id)
            if index64 is None or path64 is None:
                key = (repr(row_index), repr(path_index))
                if key in self._odd_keys:
                    self._odd_duplicates.append(position)
                self._odd_keys.setdefault(key, position)
            index64 = _NONE if index64 is None else index64
            path64 = _ODD_PATH if path64 is None else path64
        program = row.get("program")
        self._rows.append(index64)
        self._paths.append(path64)
        self._ids.append(id64 or 0)
        self._programs.append(int(program_key(program if isinstance(program, str) else f"\0{row_id!r}"), 16))

    def location(self, position: int) -> str:
        """Where the row read at ``position`` is: ``"<shard> row <n> (id <id>, path <p>)"``."""
        first, shard, start = self._segments[bisect.bisect_right(self._segment_starts, position) - 1]
        if position in self._odd:
            _, path_index, row_id = self._odd[position]
        else:
            path = self._paths[position]
            path_index, row_id = (None if path == _NONE else path), f"{self._ids[position]:016x}"
        return row_location(shard, start + position - first, row_id, path_index)

    def key(self, position: int) -> tuple:
        """The (row_index, path_index) of the row read at ``position``."""
        if position in self._odd:
            return self._odd[position][:2]
        path = self._paths[position]
        return self._rows[position], (None if path == _NONE else path)

    def duplicates(self) -> list[int]:
        """Reading positions of the rows whose (source row, path index) an earlier row had, in reading order."""
        rows, paths = np.frombuffer(self._rows, np.int64), np.frombuffer(self._paths, np.int64)
        order = np.lexsort((np.arange(len(rows)), paths, rows))  # by row, then path, then reading order
        rows, paths = rows[order], paths[order]
        repeat = (rows[1:] == rows[:-1]) & (paths[1:] == paths[:-1]) & (rows[1:] != _NONE) & (paths[1:] != _ODD_PATH)
        # The rows kept on the side were compared exactly as they came in.
        return sorted(order[1:][repeat].tolist() + self._odd_duplicates)

    def repeated_source(self) -> RepeatedSource | None:
        """The first source row (in reading order) whose program an earlier source row had, and how many do."""
        rows = np.frombuffer(self._rows, np.int64)
        first = first_positions(np.frombuffer(self._programs, np.uint64))  # per row: its program's first row
        repeats = rows != rows[first]
        if not repeats.any():
            return None
        earliest = int(np.argmax(repeats))  # the first one read
        count = len(np.unique(rows[repeats]))
        return RepeatedSource(self.key(earliest)[0], self.key(int(first[earliest]))[0], count)
