"""``lintseq verify`` and ``lintseq show`` on folders built from HumanEval and standard-library code."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.cli import main as lintseq
from hub_tools.datagen.verify import VerifyConfig, verify_dataset
from hub_tools.linters import PylintLinter
from hub_tools.lintseq import LintSeqConfig, format_completion, sample_edit_path

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> Path:
    """lintseq + random + baseline configs of 8 HumanEval programs (2 paths each for lintseq)."""
    pairs = folders.humaneval_pairs(8)
    configs = {"lintseq": folders.edit_rows(pairs, num_paths=2), "random": folders.edit_rows(pairs, sampler="random"),
               "baseline": folders.baseline_rows(pairs)}
    folder = folders.write_dataset(tmp_path_factory.mktemp("pristine") / "lintseq-humaneval", configs)
    # write_settings records num_paths 1 for every sampler config; verify checks each program has as many paths.
    settings = json.loads((folder / "lintseq_config.json").read_text())
    settings["configs"]["lintseq"]["num_paths"] = 2
    (folder / "lintseq_config.json").write_text(json.dumps(settings, indent=2))
    return folder


@pytest.fixture
def dataset(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / pristine.name))


def read(folder: Path, config: str) -> list[dict]:
    return pq.read_table(folder / "data" / config).to_pylist()


def rewrite(folder: Path, config: str, rows: list[dict]) -> None:
    folders.write_shards(folder, config, rows)


def check(folder: Path, **options):
    return verify_dataset(folder, VerifyConfig(progress=False, **options))


# verify ----------------------------------------------------------------------------------------------

def test_an_untampered_folder_passes(dataset, capsys):
    assert lintseq(["verify", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "lintseq: 16 rows checked" in out and "profile portable" in out
    assert "random: 8 rows checked" in out and "no lint check" in out
    assert "baseline: 8 rows checked" in out
    assert out.rstrip().endswith("all checks passed")


def test_workers_give_the_same_report_as_one_process(dataset):
    rows = read(dataset, "lintseq")
    rows[3]["edit_path"] = rows[3]["edit_path"][1:]  # drop the first edit: the replay cannot work
    rewrite(dataset, "lintseq", rows)
    one, two = check(dataset), check(dataset, workers=2, batch_size=3)
    assert not one.ok and one.format() == two.format()


def test_a_changed_diff_line_is_caught(dataset, capsys):
    rows = read(dataset, "lintseq")
    row = rows[5]
    # Change the text of one inserted line, and keep the completion consistent with the changed path, so
    # only the replay can tell.
    edit = max(range(len(row["edit_path"])), key=lambda number: row["edit_path"][number].count("\n+"))
    lines = row["edit_path"][edit].split("\n")
    lines[-1] = lines[-1] + "  # changed"
    row["edit_path"][edit] = "\n".join(lines)
    row["completion"] = format_completion(row["edit_path"])
    rewrite(dataset, "lintseq", rows)

    assert lintseq(["verify", str(dataset)]) == 1
    out = capsys.readouterr().out
    assert "reconstruction: 1" in out and f"id {row['id']}, path {row['path_index']}" in out
    assert "completion" not in out.split("lintseq:")[1].split("random:")[0].replace("completion ==", "")
    assert out.rstrip().endswith("verification FAILED")


def test_swapped_programs_are_caught_in_every_config(dataset):
    for config in ("lintseq", "baseline"):
        rows = read(dataset, config)
        rows[0]["program"], rows[-1]["program"] = rows[-1]["program"], rows[0]["program"]
        rewrite(dataset, config, rows)
    report = check(dataset)
    counts = {config.name: config.counts for config in report.configs}
    assert counts["lintseq"]["program"] == 2 and counts["lintseq"]["reconstruction"] == 2
    assert counts["baseline"]["program"] == 2 and counts["baseline"]["completion"] == 2
    assert counts["random"] == {}


def test_random_paths_labelled_lintseq_fail_the_lint_check(dataset):
    pairs = folders.humaneval_pairs(8)
    rows = folders.edit_rows(pairs, sampler="random", label="lintseq")
    # The premise: some intermediate program of these paths really has a counted pylint error.
    linter = PylintLinter("portable")
    from hub_tools.lintseq import apply_diffs
    dirty = {row["row_index"] for row in rows
             if any(linter.lint(apply_diffs(row["edit_path"][:count])) for count in range(1, row["num_edits"]))}
    assert dirty
    rewrite(dataset, "lintseq", rows)
    report = check(dataset, config="lintseq")
    (config,) = report.configs
    # One path a program where the folder records two: the row count and each program's paths say so too.
    assert config.counts == {"lint": len(dirty), "row_count": 1, "num_paths": 8}
    assert "after edit" in config.examples["lint"][0].detail
    # The same rows under the random sampler's name promise reconstruction only, and have it.
    rewrite(dataset, "random", folders.edit_rows(pairs, sampler="random"))
    assert check(dataset, config="random").ok


def test_errors_the_program_already_has_are_tolerated_when_the_run_ignored_them(tmp_path, stdlib_corpus):
    linter = PylintLinter("portable")
    # Standard-library functions taken out of their module use the module's globals: undefined names.
    programs = [program for program in stdlib_corpus if any(error.code == "E0602" for error in linter.lint(program))]
    # A path whose intermediate programs carry the original errors (an undefined name arriving early).
    program, path = next(
        (program, path) for program in programs for seed in range(5)
        for path in [sample_edit_path(program, linter, seed=seed, config=LintSeqConfig(ignore_init_errors=True))]
        if any(linter.lint(state) for state in path.states[1:-1])
    )
    row = folders.edit_rows([("Write it.", program)], num_paths=1)[0]
    row.update(edit_path=path.diffs, num_edits=len(path.diffs), completion=format_completion(path.diffs))
    folders.write_dataset(tmp_path, {"lintseq": [row]})
    settings = json.loads((tmp_path / "lintseq_config.json").read_text())
    settings["configs"]["lintseq"]["lintseq"]["ignore_init_errors"] = True
    (tmp_path / "lintseq_config.json").write_text(json.dumps(settings))
    assert check(tmp_path).ok
    settings["configs"]["lintseq"]["lintseq"]["ignore_init_errors"] = False
    (tmp_path / "lintseq_config.json").write_text(json.dumps(settings))
    assert check(tmp_path).configs[0].counts == {"lint": 1}


def _with_baseline_program(dataset, index: int, program: str):
    """Put ``program`` in baseline row ``index``, every field consistent with it; the baseline's verify report."""
    from hub_tools.datagen.rows import row_id

    rows = read(dataset, "baseline")
    rows[index].update(response=program, program=program, completion=program,
                       id=row_id(rows[index]["instruction"], program))
    rewrite(dataset, "baseline", rows)
    (config,) = check(dataset, config="baseline").configs
    return config


def test_a_program_python_will_not_compile_is_reported(dataset):
    # A row generate would now skip (a function body pasted alone), written consistently in every field
    # but that one: only that check can catch it.
    config = _with_baseline_program(dataset, 3, "total = 0\nfor x in [1, 2]:\n    total += x\nreturn total")
    assert config.counts == {"not_python": 1}
    example = config.examples["not_python"][0]
    assert "row 3" in example.location and example.detail == "line 4: 'return' outside function"


def test_a_program_holding_the_edit_separator_is_reported(dataset):
    # Made before generate skipped such rows: every field consistent, but the completion splits at the
    # program's own <|diff|> into edits that rebuild something else.
    config = _with_baseline_program(dataset, 1, "SEP = '<|diff|>'\nprint('a<|diff|>b'.split(SEP))")
    assert config.counts == {"diff_token": 1}
    assert config.examples["diff_token"][0].detail == "response holds <|diff|>"


@pytest.mark.parametrize("terms, counts", [(1500, {}), (3500, {"not_python": 1})])
def test_deeply_nested_programs_are_checked_not_a_crash(dataset, terms, counts):
    # A sum of that many terms over as many lines. 1,500: valid Python, which the checks across rows (the
    # program key) dumped to a RecursionError that ended the whole verify. 3,500: past what Python compiles.
    config = _with_baseline_program(dataset, 2, "x = 1\ny = (x\n" + "     + x\n" * terms + ")")
    assert config.counts == counts
    if counts:
        assert "row 2" in config.examples["not_python"][0].location


def _delete_a_line(row):
    row["edit_path"][-1] = row["edit_path"][-1].replace(",0 +", ",1 +", 1)


def _a_header_that_lies(row):
    # The same lines, a header that says one more: the path still replays to the program.
    first = row["edit_path"][0]
    header, _, lines = first.partition("\n")
    said = lines.count("\n") + 1
    row["edit_path"][0] = header.replace(f"+1,{said} @@" if said > 1 else "+1 @@", f"+1,{said + 1} @@") + "\n" + lines


@pytest.mark.parametrize("damage, kind", [
    (lambda row: row.update(num_edits=row["num_edits"] + 1), "num_edits"),
    (lambda row: row.update(prompt=row["instruction"] + "\n"), "prompt"),
    (lambda row: row.update(completion=row["completion"][: -len("\n<|diff|>")]), "completion"),
    (lambda row: row.update(sampler="random"), "sampler_label"),
    (lambda row: row.update(seed=7), "seed"),
    (lambda row: row.update(id="0" * 16), "id"),
    (lambda row: row.update(response="```python\nx = 1\n```"), "program"),
    (_delete_a_line, "not_insertion_only"),
    (lambda row: row["edit_path"].insert(0, "@@ -5,0 +6 @@\n+x = 1"), "malformed_diff"),
    (_a_header_that_lies, "malformed_diff"),
    # A line number Python will not read (int() raises past 4,300 digits): a malformed diff, not a crash.
    (lambda row: row["edit_path"].insert(0, "@@ -0,0 +" + "9" * 5000 + " @@\n+x = 1"), "malformed_diff"),
    (lambda row: row.update(edit_path=[]), "empty_path"),
])
def test_each_tampering_is_reported_by_kind(dataset, damage, kind):
    rows = read(dataset, "lintseq")
    damage(rows[2])
    rewrite(dataset, "lintseq", rows)
    (config,) = check(dataset, config="lintseq").configs
    assert kind in config.counts and config.counts[kind] == 1
    assert "row 2" in config.examples[kind][0].location


def test_a_config_and_a_baseline_read_at_two_commits_are_mixed_runs(dataset):
    settings = json.loads((dataset / "lintseq_config.json").read_text())
    for name, commit in (("lintseq", "a" * 40), ("baseline", "b" * 40)):
        settings["configs"][name]["source"]["revision"] = commit
    (dataset / "lintseq_config.json").write_text(json.dumps(settings))
    (config,) = check(dataset, config="lintseq").configs
    assert config.counts == {"mixed_runs": 1}
    assert f"read at commit {'a' * 40} here, {'b' * 40} for the baseline" in config.examples["mixed_runs"][0].detail


def test_duplicated_rows_and_a_wrong_row_count_are_reported(dataset):
    rows = read(dataset, "baseline")
    rewrite(dataset, "baseline", [*rows, rows[4]])
    (config,) = check(dataset, config="baseline").configs
    assert config.counts == {"duplicate": 1, "row_count": 1}
    assert "source row 4 was already seen" in config.examples["duplicate"][0].detail


def test_limit_checks_the_first_rows_of_each_config(dataset, capsys):
    assert lintseq(["verify", str(dataset), "--limit", "3", "--config", "random"]) == 0
    assert "random: 3 of 8 rows checked" in capsys.readouterr().out


@pytest.mark.parametrize("damage, message", [
    ("empty", "not a dataset written by `lintseq generate` (no data/<config>/*.parquet files)"),
    ("no-settings", "lintseq_config.json is missing"),
    ("bad-settings", "lintseq_config.json:1: not valid JSON"),
    ("huge-number", "lintseq_config.json: cannot read it (Exceeds the limit (4300 digits)"),
    ("missing-column", "column 'edit_path' is missing"),
    ("unknown-config", "no config 'nope'; this folder has lintseq, random, baseline"),
])
def test_a_folder_that_is_not_a_generated_dataset_exits_2(dataset, tmp_path, capsys, damage, message):
    arguments = ["verify", str(dataset)]
    if damage == "empty":
        arguments = ["verify", str(tmp_path / "empty")]
        (tmp_path / "empty").mkdir()
    elif damage == "no-settings":
        (dataset / "lintseq_config.json").unlink()
    elif damage == "bad-settings":
        (dataset / "lintseq_config.json").write_text("{oops")
    elif damage == "huge-number":  # valid JSON, a number Python will not read
        (dataset / "lintseq_config.json").write_text('{"configs": {}, "seed": ' + "9" * 5000 + "}")
    elif damage == "missing-column":
        table = pq.read_table(dataset / "data" / "lintseq").drop_columns(["edit_path"])
        shutil.rmtree(dataset / "data" / "lintseq")
        (dataset / "data" / "lintseq").mkdir()
        pq.write_table(table, dataset / "data" / "lintseq" / "train-00000-of-00001.parquet")
    else:
        arguments += ["--config", "nope"]
    assert lintseq([*arguments, "--no-progress"]) == 2  # progress lines aside, the error is one line
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1


def test_the_console_command_exits_1_on_a_tampered_folder(dataset):
    rows = read(dataset, "random")
    rows[0]["edit_path"][0] = rows[0]["edit_path"][0].replace("\n+", "\n-", 1)  # an inserted line now removed
    rewrite(dataset, "random", rows)
    result = subprocess.run([sys.executable, "-m", "hub_tools.cli", "verify", str(dataset), "--workers", "2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "not_insertion_only: 1" in result.stdout


# show ------------------------------------------------------------------------------------------------

def test_show_prints_each_edit_and_the_program_after_it(dataset, capsys):
    row = read(dataset, "lintseq")[3]
    assert lintseq(["show", str(dataset), "--index", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"lintseq row 3 of 16 (data/lintseq/train-00000-of-00002.parquet row 3): id {row['id']}")
    assert row["instruction"] in out
    assert out.count("\n== edit ") == row["num_edits"]
    for diff in row["edit_path"]:
        assert diff in out
    last_program = out.split(f"program after edit {row['num_edits']} ")[1].split("\n", 1)[1]
    shown = [line[8:] for line in last_program.split("\n\n")[0].split("\n")]
    assert shown == row["program"].split("\n")
    assert "\x1b[" not in out  # plain text when stdout is not a terminal
    assert out.rstrip().endswith("replaying them gives `program` exactly")


def test_show_reads_the_other_configs_and_counts_from_the_end(dataset, capsys):
    baseline = read(dataset, "baseline")
    assert lintseq(["show", str(dataset), "--config", "baseline", "--index", "-1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"baseline row 7 of 8 (data/baseline/train-00001-of-00002.parquet row 3): id {baseline[-1]['id']}")
    assert baseline[-1]["program"] in out and "no edits" in out


def test_show_says_when_an_edit_does_not_apply(dataset, capsys):
    rows = read(dataset, "random")
    rows[1]["edit_path"].insert(1, "@@ -40,0 +41 @@\n+x = 1")
    rewrite(dataset, "random", rows)
    assert lintseq(["show", str(dataset), "--config", "random", "--index", "1"]) == 0
    out = capsys.readouterr().out
    assert "!! cannot apply: hunk at line 41 is outside" in out and "edit 2 of" in out.splitlines()[-1]


def test_show_highlights_with_rich_on_a_terminal(dataset):
    from rich.console import Console

    from hub_tools.cli.show import print_rich, replay_steps
    from hub_tools.datagen.folder import DatasetFolder

    location, row = DatasetFolder.open(dataset).read_row("lintseq", 0)
    buffer = io.StringIO()
    print_rich("lintseq", 0, 16, location, row, replay_steps(row["edit_path"]),
               console=Console(file=buffer, force_terminal=True, width=120, color_system="truecolor"))
    out = buffer.getvalue()
    assert "\x1b[" in out and f"program after edit {row['num_edits']} " in out
    assert "replaying them gives `program` exactly" in out


@pytest.mark.parametrize("arguments, message", [
    (["--index", "16"], "config 'lintseq' has 16 rows (indices 0 to 15); there is no row 16"),
    (["--index", "-17"], "there is no row -17"),
    (["--config", "ablation"], "no config 'ablation'; this folder has lintseq, random, baseline"),
])
def test_show_errors_name_what_exists(dataset, capsys, arguments, message):
    assert lintseq(["show", str(dataset), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_show_refuses_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    assert lintseq(["show", str(tmp_path)]) == 2
    assert "not a dataset written by `lintseq generate`" in capsys.readouterr().err
    assert lintseq(["show", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
