"""The dataset card: rendered with full and partial data, its YAML read back by huggingface_hub and
datasets, and the whole chain ``lintseq generate`` -> ``verify`` -> ``show`` on a small JSONL file."""

from __future__ import annotations

import importlib.util
import json
import shlex
from pathlib import Path

import pytest
import yaml
from huggingface_hub import DatasetCard

from hub_tools.cli import main as lintseq
from hub_tools.datagen.card import CITATION, render_dataset_card, size_category, write_dataset_card

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


@pytest.fixture(scope="session")
def full_folder(tmp_path_factory) -> Path:
    pairs = folders.humaneval_pairs(6)
    configs = {"lintseq": folders.edit_rows(pairs), "baseline": folders.baseline_rows(pairs)}
    folder = folders.write_dataset(tmp_path_factory.mktemp("card") / "lintseq-humaneval", configs)
    settings = json.loads((folder / "lintseq_config.json").read_text())
    for name in ("lintseq", "baseline"):
        stats = settings["configs"][name]["stats"]
        stats.update(source_rows=8, skipped={"syntax_error": 2}, skipped_rows=[
            {"reason": "syntax_error", "location": "data.jsonl:3", "detail": "line 2: invalid syntax"}])
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    return folder


def header(card: str) -> dict:
    return yaml.safe_load(card.split("---\n")[1])


def test_the_full_card_has_the_hub_metadata_and_every_section(full_folder):
    card = render_dataset_card(full_folder)
    metadata = header(card)
    assert metadata["license"] == "mit"
    assert metadata["task_categories"] == ["text-generation"]
    assert metadata["tags"] == ["code", "lintseq", "edit-sequences", "synthetic"]
    assert metadata["size_categories"] == ["n<1K"]
    assert metadata["pretty_name"] == "LintSeq edit sequences: lintseq-humaneval"
    assert metadata["configs"] == [
        {"config_name": "lintseq", "data_files": [{"split": "train", "path": "data/lintseq/train-*"}], "default": True},
        {"config_name": "baseline", "data_files": [{"split": "train", "path": "data/baseline/train-*"}]},
    ]
    # huggingface_hub reads the same header back.
    parsed = DatasetCard(card)
    assert parsed.data.license == "mit" and parsed.data.configs[0]["config_name"] == "lintseq"

    settings = json.loads((full_folder / "lintseq_config.json").read_text())
    stats = settings["configs"]["lintseq"]["stats"]
    body = card.split("---\n", 2)[2]
    for expected in [
        "Piterbarg, Pinto, Fergus", "ICLR 2025", "arXiv:2410.02749", CITATION,
        'load_dataset("<your-username>/lintseq-humaneval", split="train")  # the default config',
        'load_dataset("<your-username>/lintseq-humaneval", "baseline", split="train")', "streaming=True",
        "| `edit_path` | list of strings |", "two empty edits", "<|diff|>", "no context lines",
        "**Lint profile:** `portable`", "| rows skipped | 2 (syntax_error: 2) |",
        f"| edits per path | mean {stats['edits_per_program']['mean']}, median {stats['edits_per_program']['median']}",
        f"| lines per edit | mean {stats['lines_per_edit']['mean']}",
        "`data.jsonl:3` (syntax_error: line 2: invalid syntax)",
        "numpy.random.SeedSequence([seed, int(id, 16), k])",
        "lintseq verify DIR", "lintseq show DIR --index 0",
    ]:
        assert expected in body, expected


def test_the_reproduce_command_is_a_valid_generate_command_line(full_folder):
    from hub_tools.cli.generate import build_parser

    card = render_dataset_card(full_folder)
    command = card.split("## Reproduce")[1].split("```bash\n")[1].split("\n")[0]
    words = shlex.split(command)
    assert words[:2] == ["lintseq", "generate"]
    args = build_parser().parse_args(words[2:])
    assert (args.source, args.sampler, args.profile, args.num_paths, args.seed) == (None, "lintseq", "portable", 1, 0)
    assert args.output_dir == "lintseq-humaneval"


def test_options_override_the_repository_name_title_and_licence(full_folder):
    card = render_dataset_card(full_folder, repo_id="alice/edits", pretty_name="Edits", license="apache-2.0")
    metadata = header(card)
    assert (metadata["license"], metadata["pretty_name"]) == ("apache-2.0", "Edits")
    assert 'load_dataset("alice/edits", "baseline", split="train")' in card and "\n# Edits\n" in card


def test_a_baseline_only_folder_without_settings_gets_a_valid_card(tmp_path):
    folder = tmp_path / "pairs"
    folders.write_shards(folder, "baseline", folders.baseline_rows(folders.humaneval_pairs(3)), shards=1)
    card = render_dataset_card(folder)
    metadata = DatasetCard(card).data.to_dict()
    assert metadata["license"] == "other"
    assert metadata["configs"] == [{"config_name": "baseline", "default": True,
                                    "data_files": [{"split": "train", "path": "data/baseline/train-*"}]}]
    assert "## Edit format" not in card and "## Lint profiles" not in card
    assert "| rows | 3 in 1 Parquet file |" in card
    assert "`lintseq generate SOURCE --output-dir DIR` writes a folder like this one." in card


def test_a_card_renders_when_the_settings_lack_statistics(full_folder, tmp_path):
    folder = tmp_path / "no-stats"
    pairs = folders.humaneval_pairs(2)
    folders.write_dataset(folder, {"random": folders.edit_rows(pairs, sampler="random"),
                                   "baseline": folders.baseline_rows(pairs)}, license=None)
    settings = json.loads((folder / "lintseq_config.json").read_text())
    for entry in settings["configs"].values():
        del entry["stats"]
    del settings["versions"]
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    card = render_dataset_card(folder)
    assert header(card)["configs"][0] == {"config_name": "random", "default": True,
                                          "data_files": [{"split": "train", "path": "data/random/train-*"}]}
    assert "| rows | 2 in 2 Parquet files |" in card
    assert "edits per path" not in card and "rows skipped" not in card and "Written with" not in card
    assert "random deletions, no linter" in card and "**Lint profile:**" not in card
    # The built-in corpus is HumanEval's, under MIT, even when the source recorded no licence.
    assert header(card)["license"] == "mit"


def test_load_dataset_reads_the_configs_the_card_declares(full_folder, tmp_path, monkeypatch):
    import shutil

    from datasets import load_dataset

    folder = Path(shutil.copytree(full_folder, tmp_path / "loadable"))
    assert write_dataset_card(folder) == folder / "README.md"
    default = load_dataset(str(folder), split="train")
    baseline = load_dataset(str(folder), "baseline", split="train")
    assert default.num_rows == 6 and default[0]["sampler"] == "lintseq"
    assert set(default.column_names) == set(folders.SAMPLER_SCHEMA.names)
    assert baseline.num_rows == 6 and baseline[0]["completion"] == baseline[0]["program"]
    streamed = next(iter(load_dataset(str(folder), "lintseq", split="train", streaming=True)))
    assert streamed["completion"].endswith("\n<|diff|>\n<|diff|>")


def test_the_card_renders_for_a_folder_with_foreign_settings(tmp_path):
    # A lintseq_config.json in another shape (an older tool, a hand-made folder): the card still renders.
    folders.write_shards(tmp_path, "lintseq", folders.edit_rows(folders.humaneval_pairs(2), sampler="random",
                                                                label="lintseq"), shards=1)
    (tmp_path / "lintseq_config.json").write_text(json.dumps({"sampler": "random", "rows": 2}))
    card = render_dataset_card(tmp_path)
    assert header(card)["configs"][0]["config_name"] == "lintseq" and "| rows | 2 in 1 Parquet file |" in card


def test_size_categories_follow_the_hub_buckets():
    assert [size_category(rows) for rows in (0, 999, 1000, 99_999, 100_000, 5_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M"]


def test_generate_then_verify_then_show(tmp_path, capsys):
    pairs = folders.humaneval_pairs(4, start=20)
    source = tmp_path / "pairs.jsonl"
    records = [{"instruction": instruction, "response": f"Here is a solution:\n```python\n{response}\n```\nDone."}
               for instruction, response in pairs]
    records.insert(2, {"instruction": "Broken.", "response": "def broken(:\n    pass"})
    source.write_text("".join(json.dumps(record) + "\n" for record in records))
    output = tmp_path / "edits"
    assert lintseq(["generate", str(source), "--output-dir", str(output), "--num-paths", "2", "--seed", "5",
                    "--no-progress"]) == 0
    capsys.readouterr()

    assert lintseq(["verify", str(output)]) == 0
    report = capsys.readouterr().out
    assert "lintseq: 8 rows checked" in report and "baseline: 4 rows checked" in report

    assert lintseq(["show", str(output), "--index", "1"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("lintseq row 1 of 8") and "path 1, sampler lintseq, seed 5" in shown
    assert shown.rstrip().endswith("replaying them gives `program` exactly")
    assert "```" not in shown.split("== edit 1/")[1]  # the program, not the markdown around it

    card = (output / "README.md").read_text()
    assert header(card)["license"] == "other"
    assert "| rows skipped | 1 (syntax_error: 1) |" in card and "pairs.jsonl:3" in card
