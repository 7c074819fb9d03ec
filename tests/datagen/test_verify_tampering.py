"""A folder ``lintseq generate`` wrote, then tampered with or mixed: every change is refused by ``generate`` or
reported by ``lintseq verify``, naming the file, config and row.

- A source edited between two runs into one folder: the second run is refused, and a folder mixed anyway
  (``--overwrite`` remakes one sampler config and the baseline only) fails verify (``mixed_runs``).
- Sampler rows whose source row no longer matches the baseline's (another row index, another id), a config
  ``lintseq_config.json`` lists but ``data/`` lacks, a ``num_paths`` that is not the paths a program has, a
  shard renamed: each is a failure of its kind.
- A damaged shard is a one-line error naming it (exit 2), not a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.cli import main as lintseq
from hub_tools.datagen.rows import row_id
from hub_tools.datagen.verify import VerifyConfig, verify_dataset
from hub_tools.lintseq import format_prompt

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)

RANDOM_SHARD = Path("data/random/train-00000-of-00001.parquet")


def write_source(path: Path, pairs) -> Path:
    path.write_text("".join(json.dumps({"instruction": instruction, "response": response}) + "\n"
                            for instruction, response in pairs))
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """4 HumanEval rows: ``random`` with 3 paths a program, then ``lintseq`` (which rewrites the baseline)."""
    source = write_source(tmp_path_factory.mktemp("source") / "pairs.jsonl", folders.humaneval_pairs(4, start=30))
    out = tmp_path_factory.mktemp("generated") / "edits"
    for options in (("--sampler", "random", "--num-paths", "3"), ("--num-paths", "1")):
        assert lintseq(["generate", str(source), "--output-dir", str(out), *options, "--no-progress"]) == 0
    # The premise of every test: as generated, the folder passes (a baseline of the last run, lintseq's).
    report = check(out)
    assert report.ok, report.format()
    assert [config.rows_checked for config in report.configs] == [4, 12, 4]  # lintseq, random, baseline
    return out


@pytest.fixture
def folder(generated, tmp_path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / generated.name))


def check(folder: Path, **options):
    return verify_dataset(folder, VerifyConfig(progress=False, **options))


def edit_rows(folder: Path, change, config: str = "random") -> None:
    """Rewrite the config's shard with ``change(rows)``, in the schema it had."""
    shard = folder / "data" / config / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    pq.write_table(pa.Table.from_pylist(change(table.to_pylist()), schema=table.schema), shard)


def edit_settings(folder: Path, change) -> None:
    """Change the folder's settings, and render its card again from them as a run would (the card has checks
    of its own: ``test_verify_contamination.py``)."""
    from hub_tools.datagen.card import render_dataset_card, write_card_text

    settings = json.loads((folder / "lintseq_config.json").read_text())
    change(settings)
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    write_card_text(folder, render_dataset_card(folder))


def failures(report, name: str) -> dict[str, list[str]]:
    (config,) = [config for config in report.configs if config.name == name]
    return {kind: [f"{found.location}: {found.detail}" for found in shown] for kind, shown in config.examples.items()}


# generate: a source edited between runs -----------------------------------------------------------------

def test_a_source_edited_between_two_runs_is_refused_and_a_mixed_folder_fails_verify(tmp_path, capsys):
    pairs = folders.humaneval_pairs(3)
    source = write_source(tmp_path / "pairs.jsonl", pairs)
    out = tmp_path / "edits"
    assert lintseq(["generate", str(source), "--output-dir", str(out), "--no-progress"]) == 0
    baseline = (out / "data/baseline/train-00000-of-00001.parquet").read_bytes()
    edited = ("Return double.", "def double(x):\n    y = x * 2\n    return y\n")
    write_source(source, [edited, *pairs[1:]])
    capsys.readouterr()
    # It was accepted, and rewrote the baseline from the new rows beside a lintseq config of the old row 0.
    for options in (["--sampler", "random"], []):  # a new config, and the finished one run again
        assert lintseq(["generate", str(source), "--output-dir", str(out), *options, "--no-progress"]) == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]  # after the line naming the fields detected
        assert error.startswith(f"lintseq generate: error: {out}: source file {source} changed (size or "
                                "modification time) since the folder's"), error
        assert "--overwrite" in error
    assert not (out / "data" / "random").exists()
    assert (out / "data/baseline/train-00000-of-00001.parquet").read_bytes() == baseline
    assert check(out).ok
    # --overwrite remakes the random config and the baseline only: lintseq keeps the old row 0.
    assert lintseq(["generate", str(source), "--output-dir", str(out), "--sampler", "random", "--overwrite",
                    "--no-progress"]) == 0
    report = check(out)
    assert not report.ok and failures(report, "random") == {} and failures(report, "baseline") == {}
    (mixed,) = failures(report, "lintseq")["mixed_runs"]
    assert mixed.startswith("data/lintseq/train-00000-of-00001.parquet row 0 (id ")
    assert f"source row 0 has id {row_id(*edited)} in the baseline" in mixed


# verify: rows, configs, settings and shards ---------------------------------------------------------------

def test_a_deleted_config_the_settings_list_is_reported(folder):
    shutil.rmtree(folder / "data" / "baseline")
    report = check(folder)
    assert [config.name for config in report.configs] == ["lintseq", "random", "baseline"]
    assert failures(report, "baseline") == {"missing_config": [
        "data/baseline/: lintseq_config.json lists config 'baseline' with 4 rows, but data/baseline/ holds no "
        "Parquet shard"]}
    # Checking one config: its baseline is missing all the same.
    assert "missing_config" in failures(check(folder, config="random"), "random")


def _renumber(rows, numbers):
    for row in rows:
        row["row_index"] = numbers.get(row["row_index"], row["row_index"])
    return rows


def _rewrite_instruction(rows):
    for row in rows:
        if row["row_index"] == 2:  # a fresh instruction, its id and prompt consistent with it
            row["instruction"] = "Write something else entirely."
            row["id"] = row_id(row["instruction"], row["response"])
            row["prompt"] = format_prompt(row["instruction"])
    return rows


@pytest.mark.parametrize("change, expected", [
    (lambda rows: _renumber(rows, {2: 1002}), [
        "data/random/train-00000-of-00001.parquet row 6 (id {id2}, path 0): 1 source row here is not in the "
        "baseline (source row 1002)",
        "data/random/: 1 source row of the baseline has no rows here (source row 2 (id {id2}))"]),
    (lambda rows: _renumber(rows, {2: 3, 3: 2}), [
        "data/random/train-00000-of-00001.parquet row 6 (id {id2}, path 0): source row 3 has id {id3} in the baseline",
        "data/random/train-00000-of-00001.parquet row 9 (id {id3}, path 0): source row 2 has id {id2} in the baseline"]),
    (_rewrite_instruction, ["data/random/train-00000-of-00001.parquet row 6 (id {new_id}, path 0): source row 2 has id "
                            "{id2} in the baseline"]),
], ids=["row-index-moved", "row-indices-swapped", "instruction-rewritten-consistently"])
def test_sampler_rows_of_other_source_rows_than_the_baseline_are_mixed_runs(folder, change, expected):
    ids = {f"id{row['row_index']}": row["id"] for row in pq.read_table(folder / "data" / "baseline").to_pylist()}
    ids["new_id"] = row_id("Write something else entirely.", folders.humaneval_pairs(3, start=30)[2][1])
    edit_rows(folder, change)
    found = failures(check(folder, config="random"), "random")
    # The rows are HumanEval's: a moved row index also makes the recorded overlap name the wrong rows.
    found.pop("contamination", None)
    assert list(found) == ["mixed_runs"], found
    assert len(found["mixed_runs"]) == len(expected)
    for line, wanted in zip(sorted(found["mixed_runs"]), sorted(expected), strict=True):
        assert line.startswith(wanted.format(**ids)), line


def test_rows_only_a_sampler_dependent_skip_explains_are_mixed_runs(folder):
    def lintseq_skipped(rows: set[int]):
        # As a lintseq run that skipped those source rows (a lint time-out: the random run kept them) and was
        # run last, so the baseline lacks them too; its statistics record one such skip.
        for config in ("lintseq", "baseline"):
            edit_rows(folder, lambda table: [row for row in table if row["row_index"] not in rows], config)

        def record(settings):
            for config in ("lintseq", "baseline"):
                stats = settings["configs"][config]["stats"]
                stats.update(rows=4 - len(rows), programs=4 - len(rows), skipped={"lint_timeout": 1})
                # Every row is HumanEval's: the run's overlap statement lacks the skipped rows too.
                overlap = stats["contamination"]
                overlap.update(rows=4 - len(rows),
                               overlaps=[entry for entry in overlap["overlaps"] if entry["row_index"] not in rows])
        edit_settings(folder, record)

    lintseq_skipped({1})
    assert check(folder).ok
    lintseq_skipped({1, 2})  # one more than the skips recorded
    report = check(folder)
    assert {config.name: config.counts for config in report.configs} == {
        "lintseq": {}, "random": {"mixed_runs": 1}, "baseline": {}}
    assert failures(report, "random")["mixed_runs"][0].startswith(
        "data/random/train-00000-of-00001.parquet row 3 (id ")
    assert "2 source rows here are not in the baseline (source row 1, 2); the baseline's run skipped 1" \
        in failures(report, "random")["mixed_runs"][0]


def test_num_paths_that_is_not_the_paths_a_program_has_is_reported(folder):
    edit_settings(folder, lambda settings: settings["configs"]["random"].update(num_paths=2))
    report = check(folder, config="random")
    (config,) = report.configs
    assert config.counts == {"num_paths": 4}
    assert failures(report, "random")["num_paths"][0].startswith(
        "data/random/train-00000-of-00001.parquet row 0 (id ")
    assert "source row 0 has 3 edit paths (path_index 0 to 2); lintseq_config.json configs.random.num_paths records 2" \
        in failures(report, "random")["num_paths"][0]


def test_a_missing_path_is_reported(folder):
    # A limit that cuts a program short (program 0's three paths and one of program 1's) is no missing path.
    assert check(folder, config="random", limit=4).ok
    edit_rows(folder, lambda rows: [row for row in rows if (row["row_index"], row["path_index"]) != (1, 1)])
    found = failures(check(folder, config="random"), "random")
    assert "source row 1 has 2 edit paths (path_index 0 to 2)" in found["num_paths"][0]


def test_a_renamed_shard_is_reported(folder):
    (folder / RANDOM_SHARD).rename(folder / "data/random/train-00000-of-00002.parquet")
    found = failures(check(folder, config="random"), "random")
    assert found == {"shards": ["data/random/train-00000-of-00002.parquet: data/random/ holds 1 shard, named "
                                "train-00000-of-00001.parquet; this one is not (expected train-00000-of-00001.parquet "
                                "in its place)"]}


# verify: a damaged shard ------------------------------------------------------------------------------------

def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(byte ^ 0xFF for byte in data[middle:middle + 200]) + data[middle + 200:]


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:len(data) // 2], "not a readable Parquet file"),
    (lambda data: data[:-1], "not a readable Parquet file"),
    (lambda data: b"", "not a readable Parquet file"),
    (_flip_middle, "damaged Parquet file, unreadable after row 0"),
], ids=["cut-in-half", "last-byte-cut", "emptied", "bytes-flipped"])
def test_a_damaged_shard_is_a_one_line_error_naming_it(folder, capsys, damage, message):
    shard = folder / RANDOM_SHARD
    shard.write_bytes(damage(shard.read_bytes()))
    assert lintseq(["verify", str(folder), "--config", "random", "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith(f"lintseq verify: error: {shard}: {message}"), error
