"""Rows that repeat an earlier row exactly (``lintseq generate --drop-duplicates``).

A row repeats another when both have the same instruction and code, so the same ``id``
(:func:`~hub_tools.datagen.rows.row_id`). The first occurrence is kept and every later one becomes a
``duplicate`` skip naming it ("repeats data.jsonl:3 exactly"). Rows that cannot be read, or that have no
instruction or code, are skipped for their own reason and never count as a first occurrence.

Whether a row repeats depends on every row before it. The single-machine engine reads every row in order, so
it marks repeats as it goes (:func:`first_occurrences`). A distributed task reads only its block: the
launcher makes one pass over the source first (:func:`find_repeats`), saves which rows repeat which
(:func:`save_repeats`, a file in the run's work folder, reused when the run is resumed), and each task
enters the source at its block and marks the rows listed there (:func:`mark_repeats`). One pass in all,
where each task used to read the source from its start: with T tasks about T/2 passes.

The pass keeps one entry per distinct row (its id and where it is: about 150 bytes); the file holds the
repeated rows only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from hub_tools.datagen.rows import GenerationConfig, SkippedRow, instruction_and_code, row_id
from hub_tools.datagen.source_files import SourceRecord


def first_occurrences(records: Iterable[SourceRecord], config: GenerationConfig) -> Iterator[SourceRecord]:
    """The records, each repeat of an earlier row turned into a ``duplicate`` skip."""
    first: dict[str, str] = {}  # id -> location of its first row
    for record in records:
        if record.error is None:
            try:
                instruction, response = instruction_and_code(record.fields or {}, config)
            except SkippedRow:  # skipped with its reason by process_record
                yield record
                continue
            earlier = first.setdefault(row_id(instruction, response), record.location)
            if earlier != record.location:
                record = _duplicate(record, f"repeats {earlier} exactly")
        yield record


def find_repeats(records: Iterable[SourceRecord], config: GenerationConfig) -> dict[int, str]:
    """Row index -> its ``duplicate`` message, for every repeat in ``records``."""
    return {record.index: record.error[1] for record in first_occurrences(records, config)
            if record.error is not None and record.error[0] == "duplicate"}


def mark_repeats(records: Iterable[SourceRecord], repeats: Mapping[int, str]) -> Iterator[SourceRecord]:
    """The records, with those ``repeats`` lists turned into ``duplicate`` skips (the same records
    :func:`first_occurrences` gives, for a task that does not read the rows before its block)."""
    for record in records:
        message = repeats.get(record.index)
        yield record if message is None else _duplicate(record, message)


def save_repeats(path: Path, repeats: Mapping[int, str]) -> None:
    """Write what :func:`find_repeats` found, atomically (a killed launcher leaves no half file)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    # ASCII JSON: a location may hold a file name that is not valid UTF-8 (kept as surrogates).
    temporary.write_text(json.dumps({str(index): message for index, message in repeats.items()}))
    os.replace(temporary, path)


def load_repeats(path: str | Path) -> dict[int, str]:
    """Row index -> its ``duplicate`` message, as :func:`save_repeats` wrote them."""
    return {int(index): message for index, message in json.loads(Path(path).read_text()).items()}


def _duplicate(record: SourceRecord, message: str) -> SourceRecord:
    return SourceRecord(record.index, record.location, error=("duplicate", message))
