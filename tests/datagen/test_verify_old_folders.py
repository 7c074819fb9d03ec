"""``lintseq verify`` catches, in a folder made before the data rules were fixed, every defect those rules let in.

The folder is built here the way the earlier generator built it (Parquet rows written directly): a linter
that honoured the program's pylint pragmas and took a swallowed time-out for a clean result, the earlier
fence extraction, exact duplicates left uncounted, and a baseline replaced by a later run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hub_tools.cli import main as lintseq
from hub_tools.datagen.manifest import DATA_RULES
from hub_tools.datagen.rows import row_id
from hub_tools.datagen.verify import VerifyConfig, verify_dataset
from hub_tools.linters import LintTimeout, PylintLinter
from hub_tools.lintseq import format_completion, format_prompt, normalize_program, sample_edit_path

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)

SLOW = ("a0 = 99999 ** 99999\n" + "".join(f"a{i} = a{i - 1} * a{i - 1}\n" for i in range(1, 6))
        + "".join(f"a5.method_{i}()\n" for i in range(8)))


class EarlierLinter:
    """What the earlier generator's linter answered: nothing for a file with a skip-file pragma (syntax
    errors aside), and nothing when the call ran out of time."""

    def __init__(self, timeout: float):
        self.linter = PylintLinter(timeout=timeout)
        self.timed_out = 0

    def lint(self, program: str):
        if "# pylint: skip-file" in program:
            return [error for error in self.linter.lint(program) if error.code == "E0001"]
        try:
            return self.linter.lint(program)
        except LintTimeout:
            self.timed_out += 1
            return []


def _row(instruction: str, response: str, program: str, index: int, path) -> dict:
    return {"id": row_id(instruction, response), "path_index": 0, "row_index": index, "instruction": instruction,
            "response": response, "program": program, "edit_path": path.diffs, "num_edits": len(path.diffs),
            "sampler": "lintseq", "seed": 0, "prompt": format_prompt(instruction),
            "completion": format_completion(path.diffs)}


@pytest.fixture(scope="module")
def old_folder(tmp_path_factory, humaneval_corpus) -> Path:
    pairs = folders.humaneval_pairs(4)
    rows = folders.edit_rows(pairs)
    baseline = folders.baseline_rows(pairs)
    earlier = EarlierLinter(timeout=1.0)
    # 1. A program that asked pylint to look away: its path is a string of unchecked deletions.
    checker = PylintLinter()
    pragma_program, pragma_path = next(
        (program, path) for program in (normalize_program("# pylint: skip-file\n" + text) for text in humaneval_corpus[10:])
        for path in [sample_edit_path(program, earlier, seed=1)] if any(map(checker.lint, path.states[1:-1]))
    )
    rows.append(_row("Pragma.", pragma_program, pragma_program, 4, pragma_path))
    # 2. A program whose states outlast the limit: each time-out passed as clean.
    slow_path = sample_edit_path(normalize_program(SLOW), earlier, seed=0)
    assert earlier.timed_out, "the premise: some state of this path ran out of time"
    rows.append(_row("Slow.", SLOW, normalize_program(SLOW), 5, slow_path))
    # 3. The earlier fence extraction kept the first block only.
    two_blocks = "```python\nx = 1\n```\n~~~python\nprint(x)\n~~~"
    rows.append(_row("Two blocks.", two_blocks, "x = 1", 6, sample_edit_path("x = 1", earlier, seed=0)))
    # 4. An exact duplicate of a source row, not counted.
    duplicate = dict(rows[0], row_index=7)
    rows.append(duplicate)
    baseline += [dict(baseline[0], row_index=7)]
    folder = folders.write_dataset(tmp_path_factory.mktemp("old") / "old", {"lintseq": rows, "baseline": baseline})
    settings = json.loads((folder / "lintseq_config.json").read_text())
    for entry in settings["configs"].values():
        del entry["data_rules"]  # the earlier generator did not record them
        entry["stats"]["skipped"] = {"syntax_error": 2}  # 5. its CRLF and bare fences, skipped
    # The limit verify applies: far above a cold start of pylint, far below the slow states' 15 s.
    settings["configs"]["lintseq"]["lint_timeout"] = 3.0
    # 6. A later run over other source rows replaced the baseline.
    settings["configs"]["baseline"]["num_samples"] = 20
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    return folder


def test_every_defect_of_an_old_folder_is_reported(old_folder):
    (lintseq_report, baseline_report) = verify_dataset(old_folder, VerifyConfig(progress=False)).configs
    examples = {kind: [f.location + " " + f.detail for f in found] for kind, found in lintseq_report.examples.items()}
    # The pragma row now fails the lint check; the slow row cannot be shown clean within the limit.
    # Source rows 4, 5, 6 are rows 0, 1, 2 of the second shard.
    assert lintseq_report.counts["lint"] == 1 and "00002.parquet row 0 " in examples["lint"][0]
    assert "E0602 undefined-variable" in examples["lint"][0]
    assert lintseq_report.counts["lint_unchecked"] == 1 and "00002.parquet row 1 " in examples["lint_unchecked"][0]
    assert "longer than 3 s" in examples["lint_unchecked"][0]
    assert lintseq_report.counts["program"] == 1 and "00002.parquet row 2 " in examples["program"][0]
    assert lintseq_report.counts["duplicate_source"] == 1
    assert "source row 7 is source row 0 again" in examples["duplicate_source"][0]
    assert "the folder records 0" in examples["duplicate_source"][0]
    assert lintseq_report.counts["outdated_rules"] == 1
    assert "pylint pragmas" in examples["outdated_rules"][0] and "2 source rows were skipped" in examples["outdated_rules"][0]
    assert lintseq_report.counts["mixed_runs"] == 1 and "num_samples is None here, 20" in examples["mixed_runs"][0]
    assert baseline_report.counts == {"duplicate_source": 1, "outdated_rules": 1}


def test_the_command_line_fails_and_names_each_kind(old_folder, capsys):
    assert lintseq(["verify", str(old_folder)]) == 1
    out = capsys.readouterr().out
    for kind in ("lint:", "lint_unchecked:", "program:", "duplicate_source:", "outdated_rules:", "mixed_runs:"):
        assert kind in out
    assert out.strip().endswith("verification FAILED")


def test_a_limit_too_short_for_verify_fails_rows_never_passes_them(old_folder):
    """--lint-timeout replaces the recorded limit; whatever it is, a call past it is a failure, not a pass."""
    report = verify_dataset(old_folder, VerifyConfig(progress=False, config="lintseq", lint_timeout=0.05))
    assert report.configs[0].counts["lint_unchecked"] >= 1 and not report.ok


def test_recorded_duplicates_and_current_rules_pass(tmp_path, humaneval_corpus):
    pairs = folders.humaneval_pairs(3)
    pairs.append(pairs[0])
    folder = folders.write_dataset(tmp_path / "new", {"lintseq": folders.edit_rows(pairs),
                                                      "baseline": folders.baseline_rows(pairs)})
    report = verify_dataset(folder, VerifyConfig(progress=False))
    assert [config.counts for config in report.configs] == [{"duplicate_source": 1}] * 2
    settings = json.loads((folder / "lintseq_config.json").read_text())
    for entry in settings["configs"].values():
        entry["stats"]["duplicates"] = 1
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    assert verify_dataset(folder, VerifyConfig(progress=False)).ok


def test_rules_that_older_rows_still_pass_are_noted_not_failed(tmp_path, humaneval_corpus, capsys):
    """Data rules 3 stopped counting relative imports, 4 found renamed benchmark code and 5 the same without
    its type hints: rows made under rules 2 pass today's checks."""
    pairs = folders.humaneval_pairs(2)
    folder = folders.write_dataset(tmp_path / "rules2", {"lintseq": folders.edit_rows(pairs),
                                                         "baseline": folders.baseline_rows(pairs)})
    settings = json.loads((folder / "lintseq_config.json").read_text())
    for entry in settings["configs"].values():
        entry["data_rules"] = 2
    (folder / "lintseq_config.json").write_text(json.dumps(settings))
    report = verify_dataset(folder, VerifyConfig(progress=False))
    assert report.ok
    lintseq_report, baseline_report = report.configs
    # This folder, written by the tests' helper, has no card: a note of its own.
    assert [note for note in lintseq_report.notes if "README.md is missing" in note]
    lintseq_report.notes = [note for note in lintseq_report.notes if "README.md is missing" not in note]
    assert len(lintseq_report.notes) == 1 and "relative imports" in lintseq_report.notes[0]
    assert f"data rules 2 (now {DATA_RULES})" in lintseq_report.notes[0] and baseline_report.notes == []
    assert "type hints" in lintseq_report.notes[0]
    assert lintseq(["verify", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "note: lintseq_config.json configs.lintseq: made under data rules 2" in out
    assert out.strip().endswith("all checks passed")
