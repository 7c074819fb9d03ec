"""Source values nested deeply: read the same from any caller's stack depth, and a row that cannot be read or
written is skipped and counted, never the end of the run.

JSON nesting is decoded and encoded by recursion, under Python's recursion limit, which counts levels from
the bottom of the stack: without a fixed budget a row 950 levels deep decoded from a shallow caller and
failed from a deep one (a Ray worker, a datatrove task), so the same source gave different datasets.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq

from hub_tools.datagen.conversations import ConversationError, single_exchange
from hub_tools.datagen.rows import SkippedRow, kept_values
from hub_tools.datagen.source_files import file_records


def _from_depth(extra: int, work):
    """``work()`` called ``extra`` frames deeper than here."""
    return _from_depth(extra - 1, work) if extra else work()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _records(path: Path) -> list[tuple[str | None, str]]:
    return [(record.error[0] if record.error else None, record.location) for record in file_records(path, path.name)]


def test_json_rows_nested_near_the_limit_read_the_same_from_any_depth(tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(f'{{"code": "x = 1", "meta": {_nested(950)}}}\n{{"code": "y = 2", "meta": {_nested(5_000)}}}\n')
    document = tmp_path / "rows.json"
    document.write_text(f'[{{"code": "x = 1", "meta": {_nested(950)}}}, {{"code": "y = 2"}}]')
    for path in (rows, document):
        answers = [_from_depth(extra, lambda path=path: _records(path)) for extra in (0, 300, 600)]
        assert answers[0] == answers[1] == answers[2], path.name
    # 950 levels decode from every depth; 5,000 from none, with a reason, and the row after it is read.
    assert [error for error, _ in _records(rows)] == [None, "invalid_json"]
    assert [error for error, _ in _records(document)] == [None, None]


def test_kept_field_nested_past_what_json_can_hold_is_a_counted_skip(tmp_path):
    value, deeper = [], []
    for _ in range(989):
        value = [value]
    for _ in range(1_000):
        deeper = [deeper]
    assert _from_depth(600, lambda: kept_values({"meta": value}, ("meta",)))["meta"] == _nested(990)
    for extra in (0, 600):
        try:
            _from_depth(extra, lambda: kept_values({"meta": deeper}, ("meta",)))
        except SkippedRow as skipped:
            assert (skipped.reason, str(skipped)) == ("nested_too_deeply", "meta is nested too deeply to write as JSON")
        else:
            raise AssertionError("a value too deep to write was kept")


def test_conversation_stored_as_deep_json_text_is_skipped_and_the_run_goes_on(tmp_path):
    try:
        single_exchange(_nested(100_000))
    except ConversationError as error:
        assert error.reason == "not_a_conversation"
    else:
        raise AssertionError("a JSON text nested 100,000 deep read as a conversation")

    # End to end: one hostile cell among good ones ended the whole run with a RecursionError.
    import importlib.util

    spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
    folders = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(folders)
    source = tmp_path / "chats.csv"
    with source.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["messages"])
        writer.writeheader()
        for name, operator in (("add", "+"), (None, None), ("sub", "-")):
            if name is None:
                writer.writerow({"messages": _nested(100_000)})
                continue
            turns = [{"role": "user", "content": f"Write {name}."},
                     {"role": "assistant", "content": f"def {name}(a, b):\n    return a {operator} b\n"}]
            writer.writerow({"messages": json.dumps(turns)})
    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out))
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"not_a_conversation": 1}
    assert stats["skipped_rows"][0]["location"] == "chats.csv:3"
    table = pq.read_table(next((out / "data" / "lintseq").glob("*.parquet")))
    assert sorted(table.column("instruction").to_pylist()) == ["Write add.", "Write sub."]
