"""A Hub dataset as a generation source, against the test server: counted from its Parquet footers, and a task
of a distributed run entering it at its block gets exactly the rows a read from the start gives."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
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
    for start in (0, 1, 8, 9, 10, 29, 30, 31, 32, 69, 70, 75):
        assert [dataclasses.astuple(record) for record in source.records_from(start)] == every[start:], start

    # Tasks of a distributed run: together, the documents of one full read, in order.
    reader = LintSeqReader("alice/shards", chunk_size=8)
    whole = [(d.id, d.text) for d in reader.run(rank=0, world_size=1)]
    blocks = [(d.id, d.text) for rank in range(3) for d in reader.run(rank=rank, world_size=3)]
    assert blocks == whole and len(whole) == 70

    # Updated during the run: the listed files are those of one commit, read by every task, the first too.
    changed = [{"instruction": row["instruction"] + " (v2)", "response": row["response"] + "\nVERSION = 2"}
               for row in rows]
    for number, (low, high) in enumerate(itertools.pairwise(bounds)):
        pq.write_table(pa.Table.from_pylist(changed[low:high]), data / f"train-{number:05d}-of-00004.parquet")
    HfApi(endpoint=hub.url).upload_folder(folder_path=str(tmp_path / "repo"), repo_id="alice/shards",
                                          repo_type="dataset")
    assert [dataclasses.astuple(record) for record in source.records_from(0)] == every
    assert [(d.id, d.text) for rank in range(3) for d in reader.run(rank=rank, world_size=3)] == whole
    assert next(iter(Source("alice/shards"))).fields["instruction"] == "Task 0 (v2)"  # a new run: the new version


def test_a_hub_source_of_json_lines_files_is_entered_at_its_block_once_counted(hub, tmp_path, humaneval_corpus):
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:40])]
    data = tmp_path / "repo" / "data"
    data.mkdir(parents=True)
    bounds = [0, 7, 8, 25, 40]  # four files of unequal length
    for number, (low, high) in enumerate(itertools.pairwise(bounds)):
        (data / f"train-{number:05d}-of-00004.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[low:high]))
    _upload(hub, "alice/lines", tmp_path / "repo")

    source = Source("alice/lines")
    assert source.hub_shards() is None and source.count() is None  # no footers: the files must be read
    every = [dataclasses.astuple(record) for record in Source("alice/lines")]  # read from the start
    assert [record[2]["instruction"] for record in every] == [row["instruction"] for row in rows]
    assert [dataclasses.astuple(record) for record in source.records_from(9)] == every[9:]  # not counted yet
    assert source.count_by_reading() == 40 and source.hub_shard_rows == [7, 1, 17, 15]
    for start in (0, 1, 6, 7, 8, 9, 24, 25, 26, 39, 40, 44):
        assert [dataclasses.astuple(record) for record in source.records_from(start)] == every[start:], start

    # Entered in its fourth file, a task streams none of the files before it (load_dataset itself opens the
    # first one, to learn the features, for any read).
    hub.requests.clear()
    assert next(iter(source.records_from(26))).fields["instruction"] == "Task 26"
    fetched = {request.path for request in hub.requests if request.method == "GET" and ".jsonl" in request.path}
    assert any("train-00003-of" in path for path in fetched), fetched
    assert not any(f"train-0000{number}-of" in path for path in fetched for number in (1, 2)), fetched

    # Tasks of a distributed run, given the counted source: together, the documents of one full read, in order.
    reader = LintSeqReader(source, chunk_size=4)
    whole = [(d.id, d.text) for d in reader.run(rank=0, world_size=1)]
    blocks = [(d.id, d.text) for rank in range(3) for d in reader.run(rank=rank, world_size=3)]
    assert blocks == whole and len(whole) == 40

    # The dataset is updated while the run goes on (rows rewritten, one file longer): its tasks still read
    # the commit it was counted at, so no task gets rows of the other version.
    changed = [{"instruction": row["instruction"] + " (v2)", "response": row["response"] + "\nVERSION = 2"}
               for row in rows] + rows[:3]
    for number, (low, high) in enumerate(itertools.pairwise([0, 7, 8, 25, 43])):
        (data / f"train-{number:05d}-of-00004.jsonl").write_text(
            "".join(json.dumps(row) + "\n" for row in changed[low:high]))
    HfApi(endpoint=hub.url).upload_folder(folder_path=str(tmp_path / "repo"), repo_id="alice/lines", repo_type="dataset")
    assert [dataclasses.astuple(record) for record in source.records_from(0)] == every
    assert [dataclasses.astuple(record) for record in source.records_from(26)] == every[26:]
    assert [(d.id, d.text) for rank in range(3) for d in reader.run(rank=rank, world_size=3)] == whole
    assert len(list(Source("alice/lines"))) == 43  # a new run reads the new version


def test_a_hub_source_of_one_file_is_counted_and_read_from_the_start(hub, tmp_path, humaneval_corpus):
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:12])]
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    _upload(hub, "alice/one", tmp_path / "repo")
    source = Source("alice/one")
    every = [dataclasses.astuple(record) for record in Source("alice/one")]
    assert source.count_by_reading() == 12 and source.hub_shard_rows == [12]
    assert [dataclasses.astuple(record) for record in source.records_from(5)] == every[5:] and len(every) == 12


def test_the_datasets_builder_enters_a_counted_hub_source_at_each_range(hub, tmp_path, humaneval_corpus, monkeypatch):
    from hub_tools.datagen import builder as builder_module
    from hub_tools.datagen.builder import LintSeqBuilder

    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:20])]
    data = tmp_path / "repo" / "data"
    data.mkdir(parents=True)
    for number, (low, high) in enumerate(itertools.pairwise([0, 6, 13, 20])):
        (data / f"train-{number:05d}-of-00003.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[low:high]))
    _upload(hub, "alice/built", tmp_path / "repo")
    monkeypatch.setattr(builder_module, "ROWS_PER_SHARD", 4)  # ranges that start inside every file
    baseline = LintSeqBuilder(config_name="baseline", source="alice/built", cache_dir=str(tmp_path / "cache"))
    (split,) = baseline._split_generators(None)
    assert split.gen_kwargs["shard_rows"] == (6, 7, 7)  # every range is given the counts, and enters at its row
    baseline.download_and_prepare()
    assert baseline.as_dataset(split="train")["instruction"] == [row["instruction"] for row in rows]


def test_a_run_killed_and_resumed_after_the_dataset_changed_reads_one_commit(hub, tmp_path, humaneval_corpus,
                                                                               monkeypatch):
    import pyarrow.parquet as parquet

    from hub_tools.datagen import engine as engine_module
    from hub_tools.datagen.engine import Engine
    from hub_tools.datagen.rows import GenerationConfig

    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:12])]
    repo = tmp_path / "repo"
    repo.mkdir()

    def push(version_rows):
        (repo / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in version_rows))
        HfApi(endpoint=hub.url).upload_folder(folder_path=str(repo), repo_id="alice/live", repo_type="dataset")

    HfApi(endpoint=hub.url).create_repo("alice/live", repo_type="dataset")
    push(rows)
    first_commit = HfApi(endpoint=hub.url).dataset_info("alice/live").sha
    out = tmp_path / "out"
    config = GenerationConfig(sampler="random")  # no linting: the test is about which rows are read

    # The run stops after its first chunk (a crash, kill -9: its finished parts stay).
    real = engine_module.process_record
    seen = []

    def crash_after_four(record, run_config):
        seen.append(record.index)
        if len(seen) > 4:
            raise KeyboardInterrupt
        return real(record, run_config)

    monkeypatch.setattr(engine_module, "process_record", crash_after_four)
    with pytest.raises(KeyboardInterrupt):
        Engine(Source("alice/live"), out, config, chunk_size=4, progress=False).run()
    monkeypatch.setattr(engine_module, "process_record", real)

    # The dataset is updated before the run is resumed: the same command finishes it at the first commit.
    push([{"instruction": row["instruction"] + " (v2)", "response": row["response"]} for row in rows] + rows[:2])
    summary = Engine(Source("alice/live"), out, config, chunk_size=4, progress=False).run()
    assert summary.resumed_parts == 1
    written = parquet.read_table(out / "data" / "baseline").column("instruction").to_pylist()
    assert sorted(written) == sorted(row["instruction"] for row in rows)  # no row of the second version
    recorded = json.loads((out / "lintseq_config.json").read_text())["configs"]["random"]["source"]
    assert recorded["revision"] == first_commit
    assert f"at commit `{first_commit}`" in (out / "README.md").read_text()

    # Another sampler's run into the same folder, after that update, reads the commit the folder was made from:
    # the baseline it rewrites comes from the same rows as the first config.
    Engine(Source("alice/live"), out, GenerationConfig(), chunk_size=4, progress=False).run()
    configs = json.loads((out / "lintseq_config.json").read_text())["configs"]
    assert {name: entry["source"]["revision"] for name, entry in configs.items()} == dict.fromkeys(
        ("lintseq", "random", "baseline"), first_commit)
    for name in ("lintseq", "baseline"):
        written = parquet.read_table(out / "data" / name).column("instruction").to_pylist()
        assert sorted(set(written)) == sorted(row["instruction"] for row in rows), name


def test_revision_reads_a_branch_or_commit_of_the_dataset_and_records_it(hub, tmp_path, humaneval_corpus, capsys):
    import pyarrow.parquet as parquet

    from hub_tools.cli import main as lintseq
    from hub_tools.datagen.builder import LintSeqBuilder

    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:6])]
    repo = tmp_path / "repo"
    repo.mkdir()
    api = HfApi(endpoint=hub.url)
    api.create_repo("alice/versions", repo_type="dataset")

    def push(version_rows):
        (repo / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in version_rows))
        api.upload_folder(folder_path=str(repo), repo_id="alice/versions", repo_type="dataset")
        return api.dataset_info("alice/versions").sha

    first = push(rows)
    api.create_branch("alice/versions", branch="v1", repo_type="dataset")
    newest = push([{"instruction": row["instruction"] + " (v2)", "response": row["response"]} for row in rows])

    def generate(folder, *options):
        code = lintseq(["generate", "alice/versions", "--output-dir", str(tmp_path / folder), "--sampler", "random",
                        "--no-progress", "--contamination-benchmarks", "none", "--tokenizer", "none", *options])
        return code, capsys.readouterr()

    def instructions(folder):
        return sorted(parquet.read_table(tmp_path / folder / "data" / "baseline").column("instruction").to_pylist())

    # A branch and a commit of the first version both give its rows, and the run records the commit it read.
    for folder, revision in (("branch", "v1"), ("commit", first)):
        code, _ = generate(folder, "--revision", revision)
        assert code == 0 and instructions(folder) == sorted(row["instruction"] for row in rows), revision
        recorded = json.loads((tmp_path / folder / "lintseq_config.json").read_text())["configs"]["random"]["source"]
        assert recorded["revision"] == first and recorded["name"] == f"alice/versions (revision {revision}, split train)"
        assert f"at commit `{first}`" in (tmp_path / folder / "README.md").read_text()
    # Without it, the main branch; into a folder made at another revision, refused as other settings.
    assert generate("main")[0] == 0 and all(text.endswith("(v2)") for text in instructions("main"))
    assert json.loads((tmp_path / "main" / "lintseq_config.json").read_text())["configs"]["baseline"]["source"][
        "revision"] == newest
    code, captured = generate("branch")
    assert code != 0 and "other settings" in captured.err and "source" in captured.err
    # A revision the dataset does not have: one line naming it, before any work.
    code, captured = generate("missing", "--revision", "v9")
    assert code != 0 and "alice/versions: no revision 'v9'" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "missing" / "data").exists()
    # Not a Hub source: refused.
    (tmp_path / "local.jsonl").write_text(json.dumps(rows[0]) + "\n")
    code = lintseq(["generate", str(tmp_path / "local.jsonl"), "--output-dir", str(tmp_path / "local"),
                    "--revision", "v1"])
    assert code != 0 and "--revision choose part or a version of a Hub dataset" in capsys.readouterr().err

    # The datasets builder takes it too.
    builder = LintSeqBuilder(config_name="baseline", source="alice/versions", source_revision="v1",
                             cache_dir=str(tmp_path / "cache"))
    builder.download_and_prepare()
    assert builder.as_dataset(split="train")["instruction"] == [row["instruction"] for row in rows]
