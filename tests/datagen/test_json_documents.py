"""JSON documents are read one row at a time: the same rows as ``json.loads``, flat memory, and a break in the
document keeps the rows before it."""

import gzip
import importlib.util
import io
import json
import tracemalloc
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.json_documents import BrokenDocument, document_rows
from hub_tools.datagen.source_files import file_records
from hub_tools.datagen.sources import Source
from hub_tools.errors import UserError

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)

# Small reads put chunk boundaries inside keys, escapes, multi-byte characters and numbers.
CHUNKS = (1, 2, 3, 7, 64, 1 << 16)


def _rows_as_loaded(data: bytes) -> list:
    """What ``json.loads`` of the whole document gives: a list of rows, or the first list member of an
    object (the object itself when it has none)."""
    document = json.loads(data.decode("utf-8-sig"))
    if isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list)]
        return lists[0] if lists else [document]
    return document


def _real_rows(programs: list[str]) -> list[dict]:
    tricky = ['s = "]}\\"\\\\"', "caf\u00e9 = '\u00e9\u20ac\U0001f600'", "x = '\\ud83d'", "\t\r\n\x0c"]
    return [{"instruction": f"Task {index}: {tricky[index % len(tricky)]}", "response": program,
             "stars": index * 37 - 5, "ratio": index / 7, "tags": ["a", None, True, {"nested": [index]}]}
            for index, program in enumerate(programs)]


def _documents(rows: list[dict]) -> dict[str, bytes]:
    return {
        "array": json.dumps(rows).encode(),
        "array, indented, not ASCII": json.dumps(rows, indent=2, ensure_ascii=False).encode(),
        "byte-order mark": b"\xef\xbb\xbf" + json.dumps(rows).encode(),
        "wrapper": json.dumps({"version": 2, "meta": {"x": [1, 2]} and "m", "data": rows, "after": [1]}).encode(),
        "wrapper, list later": json.dumps({"count": len(rows), "note": "{[", "rows": rows}, indent=1).encode(),
        "object without a list": json.dumps({"instruction": "a", "response": rows[0]["response"]}).encode(),
        "numbers and literals": b" [1, 23, 456, -7.5e3, true, false, null, \"s\", [1], {}] \n",
        "empty array": b"[ ]",
        "empty object": b"{}",
        "whitespace everywhere": b'\n[\r\n\t{ "a" :\n1 } ,\n\n{"b":[ ] }\n]\n\n',
    }


@pytest.mark.parametrize("chunk", CHUNKS)
def test_rows_are_those_of_json_loads(humaneval_corpus, chunk):
    for name, data in _documents(_real_rows(humaneval_corpus[:12])).items():
        assert list(document_rows(io.BytesIO(data), chunk)) == _rows_as_loaded(data), name


def test_a_document_cut_anywhere_keeps_every_whole_row_before_the_cut(humaneval_corpus):
    rows = _real_rows(humaneval_corpus[:5])
    texts = [json.dumps(row, ensure_ascii=False) for row in rows]
    data = ("[" + ", ".join(texts) + "]").encode()
    ends = []  # where each row's text ends, in bytes
    position = 1
    for text in texts:
        position += len(text.encode())
        ends.append(position)
        position += 2
    for cut in range(0, len(data), 7):
        read = []
        with pytest.raises(BrokenDocument) as broken:
            for row in document_rows(io.BytesIO(data[:cut]), 5):
                read.append(row)
        whole = sum(end <= cut for end in ends)
        assert read == rows[:whole], cut
        assert broken.value.rows_before == whole
        assert broken.value.where in (f"item {whole}", f"after item {whole - 1}", "its start"), broken.value.where


def test_a_broken_row_is_reported_where_json_loads_reports_it(humaneval_corpus):
    rows = _real_rows(humaneval_corpus[:40])
    text = json.dumps(rows, indent=2)
    damage = text.index('"response"', len(text) * 2 // 3)  # a key of a row well into the document
    broken_text = text[:damage] + "response: " + text[damage:]
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(broken_text)
    for chunk in (3, 100, 1 << 16):
        read = []
        with pytest.raises(BrokenDocument) as broken:
            for row in document_rows(io.BytesIO(broken_text.encode()), chunk):
                read.append(row)
        assert read == rows[:len(read)] and 20 < len(read) < 40
        assert broken.value.where == f"item {len(read)}"
        # The place is the document's, though the window had moved on past most of it.
        assert f"(line {expected.value.lineno}, column {expected.value.colno})" in broken.value.detail


def test_bytes_that_are_not_utf8_a_bomb_of_brackets_and_text_after_the_document(humaneval_corpus):
    rows = _real_rows(humaneval_corpus[:4])
    data = json.dumps(rows).encode()
    cut = data.index(b'"response"', len(data) // 2)
    with pytest.raises(BrokenDocument) as broken:
        list(document_rows(io.BytesIO(data[:cut] + b"\xff" + data[cut:]), 16))
    assert broken.value.reason == "invalid_utf8" and 0 < broken.value.rows_before < 4
    with pytest.raises(BrokenDocument) as broken:
        list(document_rows(io.BytesIO(data[:-1] + b", " + b"[" * 100_000 + b"]" * 100_000 + b"]")))
    assert broken.value.rows_before == 4 and broken.value.detail == "a value nested too deeply to decode"
    with pytest.raises(BrokenDocument) as broken:
        list(document_rows(io.BytesIO(data + b"\n" + data)))  # two documents: JSON Lines named .json
    assert broken.value.rows_before == 4 and broken.value.where == "after its rows"


def _source_file(tmp_path, name: str, data: bytes) -> Source:
    path = tmp_path / name
    path.write_bytes(data)
    return Source(str(path))


def test_a_source_keeps_the_rows_before_a_break_and_counts_it(tmp_path, humaneval_corpus):
    rows = [{"instruction": f"Task {index}", "response": program} for index, program in enumerate(humaneval_corpus[:9])]
    text = json.dumps(rows)
    damage = text.index('{"instruction": "Task 6"')
    source = _source_file(tmp_path, "rows.json", (text[:damage] + "]]" + text[damage:]).encode())
    records = list(source)
    assert [record.fields for record in records[:6]] == rows[:6] and len(records) == 7
    assert records[6].location == "rows.json item 6" and records[6].error[0] == "invalid_json"
    assert "the rows before it are kept" in records[6].error[1]
    # A task of a distributed run enters at its row: the same records as reading from the start.
    for start in range(9):
        assert [(r.index, r.location, r.fields, r.error) for r in source.records_from(start)] == \
               [(r.index, r.location, r.fields, r.error) for r in islice(records, start, None)], start
    # Entered past the break, a file gives nothing: the break was the row of the block that held it.
    assert list(file_records(tmp_path / "rows.json", "rows.json", skip=8)) == []
    # A cut .json.gz keeps the rows read before the cut as well.
    data = gzip.compress(json.dumps(rows * 40).encode())
    cut = list(_source_file(tmp_path, "cut.json.gz", data[: len(data) * 3 // 4]))
    assert cut[-1].error[0] == "corrupt_file" and all(record.error is None for record in cut[:-1])
    assert [record.fields for record in cut[:-1]] == (rows * 40)[: len(cut) - 1] and len(cut) > 100


def test_a_file_that_is_not_a_document_of_rows_stops_the_run_naming_it(tmp_path):
    jsonl = "".join(json.dumps({"instruction": "a", "response": "x = 1"}) + "\n" for _ in range(3))
    for name, data in (("lines.json", jsonl), ("scalar.json", "42"), ("empty.json", ""), ("bad.json", "[{,]")):
        with pytest.raises(UserError, match=rf"{name}: not a JSON document of rows: .*JSON Lines files end in .jsonl"):
            list(_source_file(tmp_path, name, data.encode()))


def test_memory_holds_one_row_whatever_the_document_size(humaneval_corpus):
    rows = [{"instruction": f"Task {index}", "response": humaneval_corpus[index % len(humaneval_corpus)] * 3}
            for index in range(12_000)]
    data = json.dumps({"data": rows}).encode()
    assert len(data) > 10_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in document_rows(io.BytesIO(data)))
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        assert len(_rows_as_loaded(data)) == count == len(rows)
        _, loaded_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The whole document decoded at once holds its text and every row; streamed, a 64 KiB window and a row.
    assert loaded_peak > len(data) and streamed_peak < 1_000_000, (streamed_peak, loaded_peak)


def test_generate_on_a_broken_document_keeps_its_rows_and_counts_the_break(tmp_path, humaneval_corpus):
    rows = [{"instruction": f"Task {index}", "response": program} for index, program in enumerate(humaneval_corpus[:5])]
    text = json.dumps({"source": "humaneval", "rows": rows})
    cut = text.index('{"instruction": "Task 3"') + 20  # a download that stopped inside row 3
    (tmp_path / "rows.json").write_text(text[:cut], encoding="utf-8")
    out = tmp_path / "out"
    result = folders.generate(str(tmp_path / "rows.json"), "--output-dir", str(out))
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"invalid_json": 1}, result.stdout
    assert stats["skipped_rows"][0]["location"] == "rows.json item 3"
    written = pq.read_table(out / "data" / "lintseq").column("instruction").to_pylist()
    assert sorted(written) == ["Task 0", "Task 1", "Task 2"]


def test_a_json_lines_row_nested_too_deeply_is_one_skipped_row(tmp_path):
    # The decoder gives up past its recursion limit: that row is unreadable, the rows around it are not.
    lines = [json.dumps({"instruction": "a", "response": "x = 1"}), "[" * 100_000 + "]" * 100_000,
             json.dumps({"instruction": "b", "response": "y = 2"})]
    records = list(_source_file(tmp_path, "deep.jsonl", "\n".join(lines).encode()))
    assert [record.error for record in records] == [None, ("invalid_json", "a value nested too deeply to decode"), None]
    assert records[2].fields == {"instruction": "b", "response": "y = 2"} and records[1].location == "deep.jsonl:2"


def test_a_folder_of_json_and_json_lines_is_read_once_to_count_and_tasks_pass_whole_files(tmp_path, humaneval_corpus):
    from hub_tools.datagen.distributed import LintSeqReader

    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:16])]
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[:5]))
    (folder / "b.json").write_text(json.dumps({"data": rows[5:12]}))
    with gzip.open(folder / "c.json.gz", "wt") as handle:
        handle.write(json.dumps(rows[12:16]))
    every = [(record.index, record.fields) for record in Source(str(folder))]
    source = Source(str(folder))
    assert source.count() is None and source.count_by_reading() == 16 and source.file_rows == [5, 7, 4]
    assert source.count() == 16
    for start in (0, 4, 5, 6, 11, 12, 13, 15, 16):
        assert [(record.index, record.fields) for record in source.records_from(start)] == every[start:], start
    # Tasks of a distributed run get the counts with the source: together, one read of the folder.
    reader = LintSeqReader(source, chunk_size=3)
    whole = [(document.id, document.text) for document in reader.run(rank=0, world_size=1)]
    assert [(d.id, d.text) for rank in range(4) for d in reader.run(rank=rank, world_size=4)] == whole
    # A task entering in the last file reads none of the files before it: the JSON document is not decoded again.
    (folder / "b.json").unlink()
    assert [(record.index, record.fields) for record in source.records_from(13)] == every[13:]


def test_a_number_python_will_not_read_is_one_skipped_row_or_the_break_of_a_document(tmp_path):
    """Valid JSON, but a number of 5,000 digits makes Python's decoder raise (it reads at most 4,300): it
    once stopped the whole run, from a field nobody reads. In JSON Lines it is that row's invalid_json skip;
    in a document the rows before it are kept and the break is counted, as for any unreadable value."""
    huge = "9" * 5000
    lines = [json.dumps({"instruction": "a", "response": "x = 1"}),
             '{"instruction": "n", "response": "z = 3", "stars": ' + huge + "}",
             json.dumps({"instruction": "b", "response": "y = 2"})]
    records = list(_source_file(tmp_path, "big.jsonl", "\n".join(lines).encode()))
    assert [record.error is None for record in records] == [True, False, True]
    assert records[1].error[0] == "invalid_json" and "5000 digits" in records[1].error[1]
    assert records[2].fields == {"instruction": "b", "response": "y = 2"}
    document = "[" + ", ".join(lines) + "]"
    records = list(_source_file(tmp_path, "big.json", document.encode()))
    assert [record.error is None for record in records] == [True, False]
    assert records[1].error[0] == "invalid_json" and "5000 digits" in records[1].error[1]
