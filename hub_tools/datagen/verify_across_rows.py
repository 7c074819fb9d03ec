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

The same arrays give each config's source rows (:meth:`RowsSeen.source_rows`: every (row index, id) pair once),
which :func:`compare_source_rows` compares with the baseline's, and the edit paths of each program
(:meth:`RowsSeen.path_problems`: path indices 0 to ``num_paths - 1``, each once).

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


@dataclass(frozen=True)
class SourceRows:
    """The source rows a config holds: each (row index, id) pair once, sorted by row index then id.

    Attributes:
        rows: the source row indices (int64).
        ids: their ids, the 16 hex characters read as an integer (uint64).
        positions: the reading position of the first row with the pair, for :meth:`RowsSeen.location`.
    """

    rows: np.ndarray
    ids: np.ndarray
    positions: np.ndarray

    @classmethod
    def of(cls, rows, ids, positions) -> SourceRows:
        rows, ids, positions = (np.asarray(values, dtype) for values, dtype in
                                ((rows, np.int64), (ids, np.uint64), (positions, np.int64)))
        order = np.lexsort((positions, ids, rows))  # by row, then id, then reading order
        rows, ids, positions = rows[order], ids[order], positions[order]
        first = np.ones(len(rows), bool)
        first[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
        return cls(rows[first], ids[first], positions[first])

    @classmethod
    def read(cls, batches) -> SourceRows:
        """From batches of rows holding ``row_index`` and ``id`` (the rows of another config, read for them
        alone); a row whose values do not fit is left out: its own config's checks report it."""
        rows, ids = array("q"), array("Q")
        for batch in batches:
            for row in batch:
                index, row_id = _int64(row.get("row_index")), row.get("id")
                if index is not None and isinstance(row_id, str) and _ID.fullmatch(row_id):
                    rows.append(index)
                    ids.append(int(row_id, 16))
        return cls.of(np.frombuffer(rows, np.int64), np.frombuffer(ids, np.uint64), np.arange(len(rows)))


@dataclass
class RowComparison:
    """How a config's source rows differ from the baseline's (:func:`compare_source_rows`).

    Attributes:
        other_ids: (position here, row index, the baseline's id) for each source row whose id differs.
        only_here: positions of the first row of each source row the baseline lacks, in row order.
        only_baseline: (row index, id) of each baseline source row this config lacks, in row order.
    """

    other_ids: list[tuple[int, int, int]]
    only_here: list[int]
    only_baseline: list[tuple[int, int]]


def compare_source_rows(mine: SourceRows, baseline: SourceRows) -> RowComparison:
    """Compare a config's source rows with the baseline's, by row index (the id names the row's content)."""
    # The baseline holds each row index once (a second one is its own `duplicate` failure): its smallest id counts.
    keep = np.ones(len(baseline.rows), bool)
    keep[1:] = baseline.rows[1:] != baseline.rows[:-1]
    base_rows, base_ids = baseline.rows[keep], baseline.ids[keep]
    at = np.searchsorted(base_rows, mine.rows)
    inside = at < len(base_rows)
    found = np.zeros(len(mine.rows), bool)
    found[inside] = base_rows[at[inside]] == mine.rows[inside]
    differs = found.copy()
    differs[found] = base_ids[at[found]] != mine.ids[found]
    other_ids = [(int(position), int(row), int(base_ids[index]))
                 for position, row, index in zip(mine.positions[differs], mine.rows[differs], at[differs], strict=True)]
    missing = ~np.isin(base_rows, mine.rows)
    return RowComparison(other_ids, [int(position) for position in mine.positions[~found]],
                         list(zip(base_rows[missing].tolist(), base_ids[missing].tolist(), strict=True)))


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

    def source_rows(self) -> SourceRows:
        """Each (row index, id) pair read, once; rows whose values were kept on the side are left out (their
        row index or id fails the row checks)."""
        rows, ids = np.frombuffer(self._rows, np.int64), np.frombuffer(self._ids, np.uint64)
        # The paths of a program are read one after the other: the first of each run of one (row index, id)
        # is all the sort needs, a program's rows rather than every path's.
        usable = np.ones(len(rows), bool)
        usable[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
        odd = np.fromiter(self._odd, np.int64, len(self._odd))
        usable[odd] = False
        if len(odd):  # a run that began at an odd row starts again after it
            after = odd[odd + 1 < len(rows)] + 1
            usable[after] |= ~np.isin(after, odd)
        positions = np.flatnonzero(usable)
        return SourceRows.of(rows[positions], ids[positions], positions)

    def path_problems(self, num_paths: int, complete: bool) -> list[tuple[int, object, int, int, int]]:
        """The programs whose edit paths are not ``num_paths`` paths of indices 0 to ``num_paths - 1``.

        Args:
            num_paths: the number of paths per program the run recorded.
            complete: every row of the config was read; otherwise the last program read may be cut short,
                and only too many paths, or an index out of range, count.

        Returns:
            (position of the program's first row, row index, paths, lowest and highest path index) for each,
            in reading order. Rows without a path index (baseline rows) have none.
        """
        rows, paths = np.frombuffer(self._rows, np.int64), np.frombuffer(self._paths, np.int64)
        positions = np.flatnonzero((rows != _NONE) & (paths != _NONE) & (paths != _ODD_PATH))
        if not len(positions):
            return []
        order = positions[np.lexsort((positions, paths[positions], rows[positions]))]  # by row, path, reading
        rows, paths = rows[order], paths[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        counts = np.diff(np.r_[starts, len(rows)])
        lowest, highest = paths[starts], paths[np.r_[starts[1:], len(rows)] - 1]
        wrong = (counts > num_paths) | (lowest < 0) | (highest >= num_paths)
        if complete:  # and each index once (a repeated one is also a `duplicate`, which does not say what is missing)
            distinct = np.add.reduceat(np.r_[True, (rows[1:] != rows[:-1]) | (paths[1:] != paths[:-1])], starts)
            wrong |= distinct < num_paths
        first_read = np.minimum.reduceat(order, starts)
        found = [(int(first), int(rows[start]), int(count), int(low), int(high)) for first, start, count, low, high
                 in zip(first_read[wrong], starts[wrong], counts[wrong], lowest[wrong], highest[wrong], strict=True)]
        return sorted(found)

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
