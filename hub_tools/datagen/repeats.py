"""Rows that repeat an earlier row exactly (``lintseq generate --drop-duplicates``).

A row repeats another when both have the same instruction and code, so the same ``id``
(:func:`~hub_tools.datagen.rows.row_id`). The first occurrence is kept and every later one becomes a
``duplicate`` skip naming it ("repeats data.jsonl:3 exactly"). Rows that cannot be read, or that have no
instruction or code, are skipped for their own reason and never count as a first occurrence.

Whether a row repeats depends on every row before it, and a corpus can hold hundreds of millions of rows, so
the repeats are found by sorting, not by a dictionary of every row seen (150 bytes a row, measured, with its
id and where it is): one pass over the source keeps each row's id and index in compact arrays (16 bytes a
row, 49 at the peak of the sort) and sorts them once (:func:`find_repeats`); what is kept is
:class:`Repeats`, 16 bytes a repeat. The rows
are then read again and :func:`mark_repeats` turns the repeats into ``duplicate`` skips, taking the place of
each first occurrence as it passes it (a first occurrence always comes before its repeats).

A distributed task reads only its block, so it cannot see first occurrences before it: the launcher finds
the repeats, reads the source once more for the places of the first occurrences (:func:`locate_firsts`),
and saves both (:func:`save_repeats`, a file in the run's work folder, reused when the run is resumed); each
task loads the repeats of its own block (:func:`load_repeats`).

:func:`first_occurrences` does the same in one pass with a dictionary, for a reader that gets neither: a
datatrove pipeline that reads the source once, from its start.
"""

from __future__ import annotations

import base64
import json
import os
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from hub_tools.datagen.deduplication import first_positions
from hub_tools.datagen.rows import GenerationConfig, SkippedRow, instruction_and_code, row_id
from hub_tools.datagen.source_files import SourceRecord

REPEATS_FORMAT = 2


def _row_key(record: SourceRecord, config: GenerationConfig) -> str | None:
    """The row's id, or ``None`` for a row skipped for its own reason (by ``process_record``)."""
    if record.error is not None:
        return None
    try:
        instruction, response = instruction_and_code(record.fields or {}, config)
    except SkippedRow:
        return None
    return row_id(instruction, response)


class Repeats:
    """Which source rows repeat an earlier one and which one (sorted arrays), and where the first ones are.

    Args:
        rows: the repeating rows' indices, increasing.
        firsts: for each, the index of its first occurrence.
        locations: first occurrence -> where it is (``data.jsonl:3``), as far as known.
    """

    def __init__(self, rows, firsts, locations: dict[int, str] | None = None):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.firsts = np.asarray(firsts, dtype=np.int64)
        self._first_rows = np.unique(self.firsts)
        self.locations: dict[int, str] = dict(locations or {})

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def _find(sorted_values: np.ndarray, value: int) -> int | None:
        where = int(np.searchsorted(sorted_values, value))
        return where if where < len(sorted_values) and sorted_values[where] == value else None

    def first_of(self, index: int) -> int | None:
        """The first occurrence of the row ``index`` repeats, or ``None`` when it repeats no row."""
        where = self._find(self.rows, index)
        return None if where is None else int(self.firsts[where])

    def is_first(self, index: int) -> bool:
        """Whether row ``index`` is the first occurrence of a row that is repeated later."""
        return self._find(self._first_rows, index) is not None

    def message(self, first: int) -> str:
        return f"repeats {self.locations.get(first, f'source row {first}')} exactly"


def find_repeats(records: Iterable[SourceRecord], config: GenerationConfig) -> Repeats:
    """Every repeat in ``records`` (one pass, 16 bytes a row), the first occurrence being the first one read."""
    ids, indices = array("Q"), array("q")
    for record in records:
        key = _row_key(record, config)
        if key is not None:
            ids.append(int(key, 16))
            indices.append(record.index)
    first = first_positions(np.frombuffer(ids, dtype=np.uint64))
    del ids
    repeating = first != np.arange(len(first))
    indices_ = np.frombuffer(indices, dtype=np.int64)
    rows, firsts = indices_[repeating], indices_[first[repeating]]
    by_row = np.argsort(rows, kind="stable")
    return Repeats(rows[by_row], firsts[by_row])


def locate_firsts(records: Iterable[SourceRecord], repeats: Repeats) -> Repeats:
    """Read where each first occurrence is (a second pass over the same records)."""
    for record in records:
        if repeats.is_first(record.index):
            repeats.locations[record.index] = record.location
    return repeats


def mark_repeats(records: Iterable[SourceRecord], repeats: Repeats) -> Iterator[SourceRecord]:
    """The records, with the repeats turned into ``duplicate`` skips naming their first occurrence (whose place
    is taken as it passes, when ``repeats`` does not know it already)."""
    for record in records:
        if repeats.is_first(record.index):
            repeats.locations.setdefault(record.index, record.location)
        first = repeats.first_of(record.index)
        yield record if first is None else _duplicate(record, repeats.message(first))


def first_occurrences(records: Iterable[SourceRecord], config: GenerationConfig) -> Iterator[SourceRecord]:
    """The records, each repeat of an earlier row turned into a ``duplicate`` skip, in one pass (a dictionary
    of every row's id and place: for a reader that reads the source once, from its start)."""
    first: dict[str, str] = {}  # id -> location of its first row
    for record in records:
        key = _row_key(record, config)
        if key is not None:
            earlier = first.setdefault(key, record.location)
            if earlier != record.location:
                record = _duplicate(record, f"repeats {earlier} exactly")
        yield record


def _packed(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<i8").tobytes()).decode("ascii")


def _unpacked(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i8").astype(np.int64)


def save_repeats(path: Path, repeats: Repeats) -> None:
    """Write the repeats and their firsts' places, atomically (a killed launcher leaves no half file)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    # ASCII JSON: a location may hold a file name that is not valid UTF-8 (kept as surrogates).
    temporary.write_text(json.dumps({
        "format": REPEATS_FORMAT, "rows": _packed(repeats.rows), "firsts": _packed(repeats.firsts),
        "locations": {str(first): place for first, place in repeats.locations.items()}}))
    os.replace(temporary, path)


def load_repeats(path: str | Path, start: int = 0, stop: int | None = None) -> Repeats:
    """The repeats :func:`save_repeats` wrote, those among rows ``start`` to ``stop`` (excluded) only."""
    saved = json.loads(Path(path).read_text())
    if not isinstance(saved, dict) or saved.get("format") != REPEATS_FORMAT:
        raise ValueError(f"{path}: not a repeats file of format {REPEATS_FORMAT}")
    rows, firsts = _unpacked(saved["rows"]), _unpacked(saved["firsts"])
    low = int(np.searchsorted(rows, start))
    high = len(rows) if stop is None else int(np.searchsorted(rows, stop))
    needed = set(firsts[low:high].tolist())
    return Repeats(rows[low:high], firsts[low:high], {int(first): place for first, place in saved["locations"].items()
                                                      if int(first) in needed})


def _duplicate(record: SourceRecord, message: str) -> SourceRecord:
    return SourceRecord(record.index, record.location, error=("duplicate", message))
