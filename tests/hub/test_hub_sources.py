"""A Hub dataset as a generation source, against the test server: counted from its Parquet footers, and a task
of a distributed run entering it at its block gets exactly the rows a read from the start gives."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import HfApi

from hub_tools.datagen.distributed import LintSeqReader
from hub_tools.datagen.sources import Source


def _upload(hub, repo_id: str, folder) -> None:
    api = HfApi(endpoint=hub.url)
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset")


def test_a_parquet_hub_source_is_counted_and_entered_at_any_row(hub, tmp_path, humaneval_corpus):
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:70])]
    data = tmp_path / "repo" / "data"
    data.mkdir(parents=True)
    # Four shards of unequal length and row groups, as a corpus dump has them.
    bounds = [0, 9, 30, 31, 70]
    for number, (low, high) in enumerate(itertools.pairwise(bounds)):
        pq.write_table(pa.Table.from_pylist(rows[low:high]), data / f"train-{number:05d}-of-00004.parquet",
                       row_group_size=4)
    _upload(hub, "alice/shards", tmp_path / "repo")

    source = Source("alice/shards")
    assert source.hub_shards() is not None and [count for _, count in source.hub_shards()[0]] == [9, 21, 1, 39]
    assert source.count() == 70
    every = [dataclasses.astuple(record) for record in Source("alice/shards")]  # read from the start
    assert [record[2]["instruction"] for record in every] == [row["instruction"] for row in rows]
    for start in (1, 8, 9, 10, 29, 30, 31, 32, 69, 70, 75):
        assert [dataclasses.astuple(record) for record in source.records_from(start)] == every[start:], start

    # Tasks of a distributed run: together, the documents of one full read, in order.
    reader = LintSeqReader("alice/shards", chunk_size=8)
    whole = [(d.id, d.text) for d in reader.run(rank=0, world_size=1)]
    blocks = [(d.id, d.text) for rank in range(3) for d in reader.run(rank=rank, world_size=3)]
    assert blocks == whole and len(whole) == 70


def test_a_hub_source_of_other_files_is_read_from_the_start(hub, tmp_path, humaneval_corpus):
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:12])]
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    _upload(hub, "alice/lines", tmp_path / "repo")
    source = Source("alice/lines")
    assert source.hub_shards() is None and source.count() is None
    every = [dataclasses.astuple(record) for record in Source("alice/lines")]
    assert [dataclasses.astuple(record) for record in source.records_from(5)] == every[5:] and len(every) == 12
