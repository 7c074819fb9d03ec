"""What a dataset says about its own benchmark contamination must be true: copies hidden where the first
version did not look are found, a problem too short to be found is named, a run that measured nothing says so,
and a malformed benchmark file is a one-line error, never a silently weaker check.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.decontamination import DecontaminationConfig, find_overlap
from hub_tools.errors import UserError

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


def _solution(problem: dict) -> str:
    return problem["prompt"] + problem["canonical_solution"]


def test_copies_where_the_first_check_did_not_look_are_found(humaneval, measured):
    small = "def small(x):\n    return x + 1\n"
    # In the response, beside the program: a second fence, or plain prose after it.
    for task in ("HumanEval/0", "HumanEval/12"):
        response = f"```python\n{small}```\n\nFor reference:\n```text\n{_solution(humaneval[task])}\n```"
        assert find_overlap("Write it.", small, measured, response).task_id == task
        assert find_overlap("Write it.", small, measured) is None  # what the program alone shows
    # Commented out above a small function.
    commented = "\n".join("# " + line for line in _solution(humaneval["HumanEval/2"]).split("\n")) + "\n" + small
    assert find_overlap("Tiny.", commented, measured).task_id == "HumanEval/2"
    # Zero-width spaces in a pasted prompt; fullwidth letters (Python reads ｌｅｎ as len).
    hidden = humaneval["HumanEval/4"]["prompt"].replace(" ", " \u200b")
    assert find_overlap(hidden, small, measured).task_id == "HumanEval/4"
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in _solution(humaneval["HumanEval/7"]))
    assert find_overlap("Filter.", wide, measured).task_id == "HumanEval/7"
    # The task restated without its signature and examples; a prompt with Cyrillic look-alike letters.
    statement = "Write a function: check if in given list of numbers, are any two numbers closer to each other than " \
                "given threshold."
    assert find_overlap(statement, small, measured).task_id == "HumanEval/0"
    # A statement after an import in the function (HumanEval/115: `import math`, then about seventy words) was
    # never indexed: its prose alone as an instruction overlapped nothing.
    prompt = humaneval["HumanEval/115"]["prompt"]
    prose = prompt[prompt.index('"""') + 3:prompt.index("Example 1")].strip()
    assert len(prose.split()) > 60 and find_overlap(prose, small, measured).task_id == "HumanEval/115"
    look_alike = humaneval["HumanEval/3"]["prompt"].replace("a", "\u0430").replace("o", "\u043e")
    assert find_overlap(look_alike, small, measured).task_id == "HumanEval/3"
    # Unrelated code with comments stays unrelated.
    assert find_overlap("Subtract.", "# a - b, as asked\ndef sub(a, b):\n    return a - b  # simple\n", measured) is None


def _problems(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_problems_without_ids_each_keep_their_own(tmp_path, humaneval):
    # A file whose task_id is null for every row: all problems once shared the id "None", and the renamed-copy
    # index kept only the last of them.
    tasks = ["HumanEval/0", "HumanEval/2", "HumanEval/5"]
    path = _problems(tmp_path / "he.jsonl", [{**humaneval[task], "task_id": None} for task in tasks])
    config = DecontaminationConfig.from_specs([f"mine={path}"], drop=True)
    assert sorted({text.task_id for text in config.texts}) == ["mine/1", "mine/2", "mine/3"]
    for number, task in enumerate(tasks, start=1):
        assert find_overlap("Do it.", _solution(humaneval[task]), config).task_id == f"mine/{number}"
    twice = _problems(tmp_path / "twice.jsonl", [humaneval["HumanEval/0"], humaneval["HumanEval/0"]])
    with pytest.raises(UserError, match=r"row 2: task_id 'HumanEval/0' is also row 1's"):
        DecontaminationConfig.from_specs([str(twice)], drop=False)


def test_a_broken_parquet_benchmark_is_one_line(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"task_id": ["T/0"], "text": ["Add two numbers."], "code": ["def add(a, b): return a + b"]}), good)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UserError, match=r"broken\.parquet: not a readable Parquet file"):
        DecontaminationConfig.from_specs([str(broken)], drop=False)


def test_the_card_names_problems_too_short_to_be_found_and_a_run_that_measured_nothing(tmp_path):
    # T/1 is shorter than one 10-gram in each part: a verbatim copy of it cannot be found, and the card says so
    # instead of "the dataset holds none of them".
    benchmark = _problems(tmp_path / "tiny.jsonl", [
        {"task_id": "T/0", "text": "Write a function that returns the sum of the squares of the numbers in a list.",
         "code": "def sum_squares(numbers):\n    total = 0\n    for number in numbers:\n        total += number * number\n    return total"},
        {"task_id": "T/1", "text": "Add two numbers.", "code": "def add(a, b):\n    return a + b"},
    ])
    source = tmp_path / "rows.jsonl"
    source.write_text(json.dumps({"instruction": "Add two numbers.", "response": "def add(a, b):\n    return a + b"}) + "\n"
                      + json.dumps({"instruction": "Greet.", "response": "def greet():\n    return 'hi'"}) + "\n")
    out = tmp_path / "out"
    folders.generate(str(source), "--output-dir", str(out), "--decontaminate", f"tiny={benchmark}", "--tokenizer", "none")
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]["contamination"]
    assert stats["rows"] == 0 and stats["not_compared"] == [{"benchmark": "tiny", "task_id": "T/1"}]
    card = (out / "README.md").read_text()
    assert "1 problem is too short to be compared" in card and "`T/1`" in card

    nothing = tmp_path / "nothing"
    folders.generate(str(source), "--output-dir", str(nothing), "--contamination-benchmarks", "none", "--tokenizer", "none")
    card = (nothing / "README.md").read_text()
    assert "**Not measured**: the dataset was made with `--contamination-benchmarks none`" in card
    assert "--contamination-benchmarks none" in card.split("lintseq generate ", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("options, message", [
    (["--decontaminate", ""], "--decontaminate '' names no benchmark"),
    (["--decontaminate", "none"], "--decontaminate 'none' names no benchmark"),
    (["--contamination-benchmarks", " , "], "--contamination-benchmarks ' , ' names no benchmark"),
    (["--decontaminate", "humaneval", "--contamination-benchmarks", "humaneval"], "without --contamination-benchmarks"),
])
def test_options_that_would_measure_nothing_or_be_ignored_are_refused(tmp_path, options, message):
    source = tmp_path / "rows.jsonl"
    source.write_text(json.dumps({"instruction": "Greet.", "response": "def greet():\n    return 'hi'"}) + "\n")
    result = folders.generate(str(source), "--output-dir", str(tmp_path / "out"), *options, check=False)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()
