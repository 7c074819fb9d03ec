"""``--keep-fields``: source fields (a licence, a repository path, a file's path) kept as columns of every row."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from hub_tools.cli import main as lintseq
from hub_tools.lintseq import normalize_program

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


@pytest.fixture(scope="module")
def source(tmp_path_factory, humaneval_corpus) -> Path:
    """Twelve HumanEval solutions in The Stack's layout, with metadata of every kind; one with a broken text."""
    rows = []
    for number, program in enumerate(humaneval_corpus[:12]):
        row = {"content": program, "max_stars_repo_path": f"repo{number}/solution.py",
               "max_stars_count": number * 10, "max_stars_repo_licenses": ["MIT", "Apache-2.0"][: number % 3]}
        if number == 4:
            row["max_stars_count"] = None
        if number == 5:
            del row["max_stars_repo_path"]
        rows.append(row)
    text = "".join(json.dumps(row) + "\n" for row in rows)
    # Half of a surrogate pair in a kept field: Parquet cannot store it, so the row is skipped, naming the field.
    text += '{"content": "print(1)\\n", "max_stars_repo_path": "cut\\ud83d", "max_stars_count": 1}\n'
    path = tmp_path_factory.mktemp("kept") / "stack.jsonl"
    path.write_text(text)
    return path


KEEP = "max_stars_repo_path,max_stars_count,max_stars_repo_licenses"


def test_kept_fields_are_string_columns_of_every_config(source, tmp_path, capsys):
    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out), "--keep-fields", KEEP, "--sampler", "random",
                     "--num-paths", "2")
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "c1"))
    baseline = datasets.load_dataset(str(out), "baseline", split="train", cache_dir=str(tmp_path / "c2"))
    for loaded in (rows, baseline):
        assert loaded.column_names[-3:] == KEEP.split(",")
        assert all(loaded.features[name].dtype == "string" for name in KEEP.split(","))
    by_index = {row["row_index"]: row for row in baseline}
    assert len(by_index) == 12
    assert by_index[3]["max_stars_repo_path"] == "repo3/solution.py"
    assert by_index[3]["max_stars_count"] == "30" and by_index[4]["max_stars_count"] is None
    assert by_index[5]["max_stars_repo_path"] is None  # absent from the row
    assert by_index[2]["max_stars_repo_licenses"] == '["MIT", "Apache-2.0"]' and by_index[0]["max_stars_repo_licenses"] == "[]"
    assert all(row["max_stars_repo_path"] == by_index[row["row_index"]]["max_stars_repo_path"] for row in rows)

    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
    assert stats["skipped"] == {"unpaired_surrogate": 1}
    assert "max_stars_repo_path holds" in stats["skipped_rows"][0]["detail"]
    card = (out / "README.md").read_text()
    assert "| `max_stars_count` | string | the source's `max_stars_count` field (`--keep-fields`)" in card
    command = next(line for line in card.splitlines() if line.startswith("lintseq generate "))
    assert f"--keep-fields {KEEP}" in command
    assert lintseq(["verify", str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("all checks passed")

    # The same command again is done already; other kept fields are other settings.
    again = folders.generate(str(source), "--output-dir", str(out), "--keep-fields", KEEP, "--sampler", "random",
                             "--num-paths", "2")
    assert "already holds this run" in again.stdout
    other = folders.generate(str(source), "--output-dir", str(out), "--keep-fields", "max_stars_count",
                             "--sampler", "random", "--num-paths", "2", check=False)
    assert other.returncode == 2 and "keep_fields" in other.stderr

    # A datatrove executor writes the same bytes.
    local = tmp_path / "local"
    folders.generate(str(source), "--output-dir", str(local), "--keep-fields", KEEP, "--sampler", "random",
                     "--num-paths", "2", "--executor", "local", "--tasks", "3", "--chunk-size", "4")
    for config in ("random", "baseline"):
        ours = sorted((out / "data" / config).glob("*.parquet"))
        assert [path.read_bytes() for path in ours] == [
            (local / "data" / config / path.name).read_bytes() for path in ours]
        assert pq.read_schema(ours[0]).names[-3:] == KEEP.split(",")


@pytest.mark.parametrize(("keep", "message"), [
    ("stars", "no field 'stars' in the source; its fields are: content, max_stars_repo_path"),
    ("content,program", "'program' is a column the dataset has already"),
    ("max_stars_count,max_stars_count", "a field is named twice"),
])
def test_fields_that_cannot_be_kept_are_refused_in_one_line(source, tmp_path, keep, message):
    result = folders.generate(str(source), "--output-dir", str(tmp_path / "out"), "--keep-fields", keep,
                              "--sampler", "random", check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_a_tree_of_python_files_keeps_each_file_path(tmp_path, stdlib_corpus):
    root = tmp_path / "repo"
    for number, program in enumerate(stdlib_corpus[:3]):
        (root / f"pkg{number}").mkdir(parents=True)
        (root / f"pkg{number}" / "module.py").write_text(program)
    folders.generate("repo", "--output-dir", str(tmp_path / "out"), "--keep-fields", "path", "--sampler", "random",
                     cwd=tmp_path)
    rows = datasets.load_dataset(str(tmp_path / "out"), "baseline", split="train", cache_dir=str(tmp_path / "c"))
    assert {row["path"]: row["program"] for row in rows} == {
        f"repo/pkg{number}/module.py": normalize_program(program) for number, program in enumerate(stdlib_corpus[:3])}


def test_the_datasets_builder_keeps_the_same_fields(source, tmp_path):
    from hub_tools.datagen.builder import LintSeqBuilder

    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out), "--keep-fields", KEEP, "--sampler", "random")
    written = datasets.load_dataset(str(out), "random", split="train", cache_dir=str(tmp_path / "c"))
    builder = LintSeqBuilder(config_name="random", source=str(source), keep_fields=tuple(KEEP.split(",")),
                             cache_dir=str(tmp_path / "b"))
    builder.download_and_prepare(num_proc=1)
    built = builder.as_dataset(split="train")
    assert built.column_names == written.column_names
    assert sorted(built, key=lambda row: row["row_index"]) == sorted(written, key=lambda row: row["row_index"])
