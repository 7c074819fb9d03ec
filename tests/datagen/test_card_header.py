"""The card's Hub metadata for language and sources, and the per-edit line statistics it reports."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml

from hub_tools.cli import main as lintseq
from hub_tools.datagen.card import render_dataset_card
from hub_tools.datagen.sources import Source
from hub_tools.errors import UserError


def _header(folder) -> dict:
    return yaml.safe_load(render_dataset_card(folder).split("---\n")[1])


def test_a_generated_card_names_its_languages_and_source_and_counts_only_inserted_lines(tmp_path):
    folder = tmp_path / "humaneval-3"
    assert lintseq(["generate", "--output-dir", str(folder), "--num-samples", "3", "--workers", "1"]) == 0
    header = _header(folder)
    assert header["language"] == ["en", "code"]
    assert header["source_datasets"] == ["openai/openai_humaneval"]

    diffs = [diff for table in map(pq.read_table, sorted((folder / "data" / "lintseq").glob("*.parquet")))
             for path in table.column("edit_path").to_pylist() for diff in path]
    # Counted independently: the lines a diff inserts are the lines that start with "+".
    inserted = [sum(1 for line in diff.split("\n") if line.startswith("+")) for diff in diffs]
    stats = json.loads((folder / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["lines_per_edit"]["min"] == min(inserted) and stats["lines_per_edit"]["max"] == max(inserted)
    assert abs(stats["lines_per_edit"]["mean"] - sum(inserted) / len(inserted)) < 1e-3


def test_a_hub_source_is_named_and_a_local_file_is_not(tmp_path):
    rows = tmp_path / "pairs.jsonl"
    rows.write_text("".join(json.dumps({"instruction": f"Return {n}.", "response": f"def f():\n    return {n}\n"})
                            + "\n" for n in range(3)))
    folder = tmp_path / "local"
    assert lintseq(["generate", str(rows), "--output-dir", str(folder), "--workers", "1"]) == 0
    header = _header(folder)
    assert header["language"] == ["en", "code"] and "source_datasets" not in header

    settings_path = folder / "lintseq_config.json"
    settings = json.loads(settings_path.read_text())
    for config in settings["configs"].values():
        config["source"]["name"] = "bigcode/self-oss-instruct-sc2-exec-filter-50k (split train)"
    settings_path.write_text(json.dumps(settings))
    assert _header(folder)["source_datasets"] == ["bigcode/self-oss-instruct-sc2-exec-filter-50k"]
    for config in settings["configs"].values():  # a part of a Hub dataset (--subset / --data-dir)
        config["source"].update(name="bigcode/the-stack (data_dir data/python, split train)", data_dir="data/python")
    settings_path.write_text(json.dumps(settings))
    assert _header(folder)["source_datasets"] == ["bigcode/the-stack"]
    card = render_dataset_card(folder)
    assert "lintseq generate bigcode/the-stack --output-dir local" in card and "--data-dir data/python" in card
    with pytest.raises(UserError, match="--subset, --data-dir and --revision choose part or a version of a Hub dataset"):
        Source(str(rows), subset="python")
