"""Benchmark problems: how an answer becomes a program, HumanEval from the package, MBPP from the user's copy."""

import colorsys
import inspect
import json
import string

import pyarrow
import pyarrow.parquet
import pytest

from hub_tools.errors import UserError
from hub_tools.evaluation import SandboxConfig, load_mbpp, load_problems, score_samples
from hub_tools.evaluation.problems import mbpp_prompt

# MBPP-style rows built from standard-library functions; the expected values come from the real functions.
STDLIB_ROWS = [
    {"task_id": 901, "text": "Write a function to capitalize every word of a string.",
     "code": inspect.getsource(string.capwords),
     "test_list": [f"assert capwords({s!r}) == {string.capwords(s)!r}" for s in ("hello world", " a  b ", "x-y")]},
    {"task_id": 902, "text": "Write a function to convert an RGB color to HSV coordinates.",
     "code": inspect.getsource(colorsys.rgb_to_hsv),
     "test_list": [f"assert rgb_to_hsv{c!r} == {colorsys.rgb_to_hsv(*c)!r}" for c in ((0.2, 0.4, 0.4), (1, 1, 1))]},
    {"task_id": 903, "text": "Convert an RGB color to YIQ.",
     "code": "import math\n" + inspect.getsource(colorsys.rgb_to_yiq),
     "test_list": [f"assert rgb_to_yiq{c!r} == {colorsys.rgb_to_yiq(*c)!r}" for c in ((0.5, 0.25, 0.0),)],
     "test_setup_code": "import math"},
]


def test_continuation_and_full_program(humaneval):
    problem = next(p for p in humaneval if p.task_id == "HumanEval/10")  # make_palindrome uses a prompt helper
    continuation = problem.program_for(problem.canonical_solution)
    assert continuation.startswith(problem.prompt + problem.canonical_solution)
    # A full program that defines the entry point but not the prompt's helper still has the helper.
    full = "def make_palindrome(string: str) -> str:\n" + problem.canonical_solution
    assert problem.defines_entry_point(full)
    program = problem.program_for(full)
    assert program.startswith(problem.prompt + "\n" + full)
    assert program.rstrip().endswith("check(make_palindrome)")
    indented = "    def make_palindrome(string):\n        return string"
    assert not problem.defines_entry_point(indented)
    assert problem.defines_entry_point("async def make_palindrome (s):\n    pass")


def test_full_programs_with_the_prompt_helpers_left_out_pass(humaneval, scoring_config):
    rows, problems = [], []
    for task_id in ("HumanEval/10", "HumanEval/38", "HumanEval/50"):  # prompts that define helper functions
        problem = next(p for p in humaneval if p.task_id == task_id)
        signature = next(line for line in problem.prompt.splitlines()
                         if line.startswith(f"def {problem.entry_point}("))
        problems.append(problem)
        rows.append({"task_id": task_id, "completion": signature + "\n" + problem.canonical_solution})
    evaluation = score_samples(problems, rows, sandbox=scoring_config, k_values=[1], progress=False)
    assert [s["passed"] for s in evaluation.samples] == [True] * 3, evaluation.samples


def test_humaneval_is_read_offline(humaneval):
    assert len(humaneval) == 164
    assert humaneval[0].task_id == "HumanEval/0"
    assert all(p.tests.endswith(f"check({p.entry_point})") for p in humaneval)
    with pytest.raises(UserError, match="unknown benchmark"):
        load_problems("apps")


def test_mbpp_prompt_names_the_function_by_its_signature():
    assert mbpp_prompt("Write a python function to add.", "add(a, b)") == "Write a python function `add(a, b)` to add."
    assert mbpp_prompt("Sum a list.", "total(xs)") == "Sum a list. Write it as the function `total(xs)`."


def test_mbpp_from_jsonl_parquet_and_folder(tmp_path, scoring_config):
    jsonl = tmp_path / "mbpp.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in STDLIB_ROWS))
    parquet_folder = tmp_path / "folder"
    parquet_folder.mkdir()
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(STDLIB_ROWS), parquet_folder / "test-00000.parquet")
    for source in (jsonl, parquet_folder):
        problems = load_mbpp(str(source))
        assert [p.task_id for p in problems] == ["Mbpp/901", "Mbpp/902", "Mbpp/903"]
        assert [p.entry_point for p in problems] == ["capwords", "rgb_to_hsv", "rgb_to_yiq"]
        assert problems[0].prompt == "Write a function `capwords(s, sep=None)` to capitalize every word of a string."
        assert problems[2].prompt.endswith("Write it as the function `rgb_to_yiq(r, g, b)`.")
    canonical = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in problems]
    # Each function under the other's name: right signatures, wrong behaviour.
    swapped = [{"task_id": problems[0].task_id, "completion": problems[1].canonical_solution.replace("rgb_to_hsv", "capwords")},
               {"task_id": problems[1].task_id, "completion": "def rgb_to_hsv(r, g, b):\n    return r, g, b\n"},
               {"task_id": problems[2].task_id, "completion": "    return (r, g, b)\n"}]
    evaluation = score_samples(problems, canonical + swapped, sandbox=scoring_config, k_values=[1], progress=False)
    assert [s["passed"] for s in evaluation.samples] == [True, True, True, False, False, False], evaluation.samples


def test_mbpp_jsonl_with_line_separators_inside_its_strings(tmp_path):
    # Valid JSON Lines written with ensure_ascii=False: U+2028, U+2029 and U+0085 stand unescaped in a string.
    rows = [{**row, "text": row["text"].replace(" ", separator, 1)} for row, separator in zip(STDLIB_ROWS, "\u2028\u2029\x85", strict=True)]
    jsonl = tmp_path / "mbpp.jsonl"
    jsonl.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    problems = load_mbpp(str(jsonl))
    assert [p.task_id for p in problems] == ["Mbpp/901", "Mbpp/902", "Mbpp/903"]
    assert "\u2028" in problems[0].prompt


def test_mbpp_errors_are_one_clear_line(tmp_path):
    with pytest.raises(UserError, match="--dataset PATH_OR_HUB_ID"):
        load_problems("mbpp")
    with pytest.raises(UserError, match="does not exist"):
        load_mbpp(str(tmp_path / "nowhere.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(STDLIB_ROWS[0]) + "\n" + json.dumps({"text": "x", "code": "def f(): pass"}) + "\n")
    with pytest.raises(UserError, match=r"bad.jsonl: row 2: missing field 'test_list'"):
        load_mbpp(str(bad))
    bad.write_text(json.dumps({**STDLIB_ROWS[0], "code": "def f(:"}) + "\n")
    with pytest.raises(UserError, match="row 1: field 'code' is not valid Python"):
        load_mbpp(str(bad))
    bad.write_text(json.dumps(STDLIB_ROWS[0]) + "\n{not json\n")
    with pytest.raises(UserError, match=r"bad.jsonl:2: not a JSON object"):
        load_mbpp(str(bad))
    bad.write_text(json.dumps(STDLIB_ROWS[0]) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(UserError, match=r"bad.jsonl:2: not a JSON object \(nested too deeply to decode\)"):
        load_mbpp(str(bad))
    bad.write_text(json.dumps(STDLIB_ROWS[0]) + "\n" + '{"task_id": ' + "9" * 5000 + "}\n")
    with pytest.raises(UserError, match=r"bad.jsonl:2: .*value has 5000 digits"):
        load_mbpp(str(bad))
    listed = tmp_path / "listed.json"
    listed.write_text("[" + json.dumps(STDLIB_ROWS[0]) + ",]")
    with pytest.raises(UserError, match=r"listed.json: not a JSON list of problems \(Expecting value"):
        load_mbpp(str(listed))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"no \.jsonl, \.json or \.parquet file"):
        load_mbpp(str(empty))


# --- HumanEval+ / MBPP+ in the EvalPlus release format, made here from real HumanEval problems and colorsys ---

WRONG_ON_PLUS = ("def has_close_elements(numbers, threshold):\n"
                 "    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))\n")


def evalplus_fixture(humaneval, folder):
    """A HumanEvalPlus-style .jsonl.gz (3 real problems) and a MbppPlus-style .jsonl (colorsys), as EvalPlus
    releases them: prompt, entry_point, canonical_solution, base_input, plus_input, atol (+ contract)."""
    import gzip

    by_id = {problem.task_id: problem for problem in humaneval}
    inputs = {
        "HumanEval/0": ([[[1.0, 2.0, 3.0], 0.5], [[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3]],
                        [[[1.0, 5.0, 1.1], 0.5], [[10.0, 0.0, 9.95], 0.1], [[], 1.0]], 0),
        "HumanEval/2": ([[3.5]], [[1.33], [123.456], [0.0]], 0),
        "HumanEval/32": ([[[1, 2]], [[-6, 11, -6, 1]]], [[[2, -3, 1]], [[-10, 0, 0, 1]]], 1e-4),
    }
    rows = [{"task_id": task_id, "prompt": by_id[task_id].prompt, "entry_point": by_id[task_id].entry_point,
             "canonical_solution": by_id[task_id].canonical_solution, "contract": "", "base_input": base,
             "plus_input": plus, "atol": atol} for task_id, (base, plus, atol) in inputs.items()]
    humaneval_plus = folder / "HumanEvalPlus-v0.1.10.jsonl.gz"
    with gzip.open(humaneval_plus, "wt") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in rows))
    mbpp_row = {"task_id": "Mbpp/903", "entry_point": "rgb_to_yiq",
                "prompt": '"""\nWrite a function to convert an RGB color to YIQ.\nassert rgb_to_yiq(0.5, 0.25, 0.0) == '
                          f'{colorsys.rgb_to_yiq(0.5, 0.25, 0.0)!r}\n"""\n',
                "canonical_solution": inspect.getsource(colorsys.rgb_to_yiq), "test_imports": ["import math"],
                "base_input": [[0.5, 0.25, 0.0]], "plus_input": [[1.0, 1.0, 1.0], [0.1, 0.9, 0.3]], "atol": 0}
    mbpp_plus = folder / "MbppPlus.jsonl"
    mbpp_plus.write_text(json.dumps(mbpp_row) + "\n")
    return humaneval_plus, mbpp_plus


def test_evalplus_files_give_problems_with_base_and_plus_tests(humaneval, tmp_path, scoring_config):
    _, mbpp_plus = evalplus_fixture(humaneval, tmp_path)
    problems = load_problems("humaneval+", dataset=str(tmp_path))  # a folder holding the release file
    assert [p.task_id for p in problems] == ["HumanEval/0", "HumanEval/2", "HumanEval/32"]
    assert all(p.tests and p.plus_tests and p.code_prefix is None for p in problems)
    (mbpp,) = load_problems("mbpp+", dataset=str(mbpp_plus))
    assert mbpp.prompt.startswith("Write a function `rgb_to_yiq(r, g, b)` to convert") and mbpp.code_prefix == ""

    newton = ("def find_zero(xs):\n    x = 0.5\n    for _ in range(200):\n"
              "        value = sum(c * x ** i for i, c in enumerate(xs))\n"
              "        slope = sum(i * c * x ** (i - 1) for i, c in enumerate(xs) if i)\n"
              "        x = x - value / slope if slope else x + 1\n    return x\n")
    answers = [
        ("HumanEval/0", problems[0].canonical_solution, True, True),
        ("HumanEval/0", WRONG_ON_PLUS, True, False),  # right on HumanEval's inputs, wrong on the plus ones
        ("HumanEval/2", "    return round(number % 1.0, 9)\n", True, True),  # equal within the float tolerance
        ("HumanEval/2", "    return 0.5\n", True, False),
        ("HumanEval/32", newton, True, True),  # another root finder: judged by the polynomial, not the value
        ("HumanEval/32", "def find_zero(xs):\n    return 0.0\n", False, False),
    ]
    rows = [{"task_id": task_id, "completion": completion} for task_id, completion, _, _ in answers]
    evaluation = score_samples(problems, rows, sandbox=scoring_config, k_values=[1], edit_sequence=False,
                               progress=False)
    verdicts = [(sample["passed"], sample["passed_plus"]) for sample in evaluation.samples]
    assert verdicts == [(base, plus) for _, _, base, plus in answers], evaluation.samples
    assert evaluation.metrics["pass_at_k"] == {"pass@1": pytest.approx((1 + 1 + 0.5) / 3)}
    assert evaluation.metrics["pass_at_k_plus"] == {"pass@1": pytest.approx((0.5 + 0.5 + 0.5) / 3)}

    mbpp_rows = [{"task_id": "Mbpp/903", "completion": mbpp.canonical_solution},
                 {"task_id": "Mbpp/903", "completion": "def rgb_to_yiq(r, g, b):\n    return (0.5, 0.0, 0.0)\n"}]
    scored = score_samples([mbpp], mbpp_rows, sandbox=scoring_config, k_values=[1], edit_sequence=False, progress=False)
    assert [(s["passed"], s["passed_plus"]) for s in scored.samples] == [(True, True), (False, False)]


def test_an_answer_cannot_switch_the_plus_tests_off(humaneval, tmp_path, scoring_config):
    _, mbpp_plus = evalplus_fixture(humaneval, tmp_path)
    (problem,) = load_problems("mbpp+", dataset=str(mbpp_plus))
    wrong = "def rgb_to_yiq(r, g, b):\n    return (0.5, 0.0, 0.0)\n"
    attacks = [
        wrong + "def _differential_test(*arguments):\n    pass\n",  # redefined: the test's own definition comes later
        wrong + "import json\njson.loads = lambda text: []\n",  # the inputs are a literal, not decoded JSON
        wrong + "import copy\ncopy.deepcopy = lambda value: (0.5, 0.0, 0.0)\n",  # both sides get the same arguments
    ]
    rows = [{"task_id": problem.task_id, "completion": attack} for attack in attacks]
    scored = score_samples([problem], rows, sandbox=scoring_config, k_values=[1], edit_sequence=False, progress=False)
    assert [s["passed_plus"] for s in scored.samples] == [False] * len(attacks)


def test_evalplus_verdicts_are_decided_in_the_evaluator(humaneval, tmp_path, scoring_config):
    # The base and plus tests compare plain data in the evaluator: an answer whose value claims to equal
    # everything passes in a harness that compares inside the program's process, and must fail here.
    evalplus_fixture(humaneval, tmp_path)
    problems = load_problems("humaneval+", dataset=str(tmp_path))
    always_equal = ("class Anything:\n    def __eq__(self, other):\n        return True\n"
                    "def has_close_elements(numbers, threshold):\n    return Anything()\n")
    rows = [{"task_id": "HumanEval/0", "completion": problems[0].canonical_solution},
            {"task_id": "HumanEval/0", "completion": always_equal}]
    scored = score_samples(problems, rows, sandbox=scoring_config, k_values=[1], edit_sequence=False, progress=False)
    assert [(s["passed"], s["passed_plus"], s["verdict"]) for s in scored.samples] == [
        (True, True, "evaluator"), (False, False, "evaluator")], scored.samples


def test_evalplus_errors_name_the_file_and_row(tmp_path):
    with pytest.raises(UserError, match="give the EvalPlus release file with --dataset"):
        load_problems("humaneval+")
    broken = tmp_path / "HumanEvalPlus.jsonl"
    broken.write_text(json.dumps({"task_id": "HumanEval/0", "prompt": "def f():\n", "entry_point": "f",
                                  "canonical_solution": "    return 1\n"}) + "\n")
    with pytest.raises(UserError, match=r"HumanEvalPlus.jsonl: row 1: missing field 'base_input/plus_input \(or test\)'"):
        load_problems("humaneval+", dataset=str(broken))
    with pytest.raises(UserError, match="does not exist"):
        load_problems("mbpp+", dataset=str(tmp_path / "MbppPlus-missing.jsonl.gz"))


@pytest.mark.parametrize("benchmark", ["mbpp", "mbpp+", "humaneval+"])
def test_a_dataset_that_can_only_be_a_path_is_not_looked_up_on_the_hub(tmp_path, monkeypatch, benchmark):
    # `--dataset data/eval/mbppplus`: it was taken for a Hub id and failed after half a minute of retries with a
    # message about the Hub.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="'data/eval/mbppplus' does not exist"):
        load_problems(benchmark, dataset="data/eval/mbppplus")
    # One slash is a Hub id even with a folder of that first name here (a clone of evalplus/ must not hide the
    # evalplus/mbppplus dataset): the Hub is asked, and the error says there is no such local folder either.
    (tmp_path / "evalplus").mkdir()
    with pytest.raises(UserError, match=r"from the Hub dataset 'evalplus/mbppplus'.*no local file or folder 'evalplus/mbppplus' either"):
        load_problems(benchmark, dataset="evalplus/mbppplus")


def test_the_reference_runs_once_per_problem_outside_the_samples_time(tmp_path):
    """EvalPlus' expected outputs come from running the canonical solution. Run inside each sample's test, in
    its time, 1.9 s of a 3 s limit failed canonical solutions once several workers shared the evaluator: the
    verdict hung on --workers. They are computed once per problem, before any sample's clock starts."""
    calls = tmp_path / "reference_calls.txt"
    reference = (f"import time\n\ndef add_one(x):\n    time.sleep(0.004)\n    with open({str(calls)!r}, 'a') as f:\n"
                 "        f.write('.')\n    return x + 1\n")
    row = {"task_id": "Mbpp/1", "entry_point": "add_one", "canonical_solution": reference, "atol": 0,
           "prompt": '"""\nWrite a function to add one to a number.\nassert add_one(1) == 2\n"""\n',
           "base_input": [[1], [2]], "plus_input": [[number] for number in range(500)]}
    source = tmp_path / "MbppPlus.jsonl"
    source.write_text(json.dumps(row) + "\n")
    (problem,) = load_problems("mbpp+", dataset=str(source))
    rows = [{"task_id": "Mbpp/1", "completion": "def add_one(x):\n    return x + 1\n"}] * 4
    rows.append({"task_id": "Mbpp/1", "completion": "def add_one(x):\n    return x + 2\n"})
    scored = score_samples([problem], rows, sandbox=SandboxConfig(timeout=1.5, workers=2), k_values=[1],
                           edit_sequence=False, progress=False)
    assert [(s["passed"], s["passed_plus"]) for s in scored.samples] == [(True, True)] * 4 + [(False, False)], \
        [s["result_plus"] for s in scored.samples]
    assert len(calls.read_text()) == 2 + 500  # the base inputs, then the plus ones: once each


def test_a_reference_returning_a_value_that_cannot_be_copied_still_scores(tmp_path):
    """The setup's values are copied for each run; a dict view (``dict.fromkeys(xs).keys()``) cannot be, and
    every sample failed with "cannot pickle 'dict_keys' object". It is shared instead."""
    row = {"task_id": "Mbpp/2", "entry_point": "unique", "atol": 0,
           "canonical_solution": "def unique(xs):\n    return dict.fromkeys(xs).keys()\n",
           "prompt": '"""\nWrite a function returning the distinct items.\nassert unique([1, 1]) == {1}\n"""\n',
           "base_input": [[[1, 2, 2]]], "plus_input": [[[3, 3, 4]]]}
    source = tmp_path / "MbppPlus.jsonl"
    source.write_text(json.dumps(row) + "\n")
    (problem,) = load_problems("mbpp+", dataset=str(source))
    rows = [{"task_id": "Mbpp/2", "completion": "def unique(xs):\n    return set(xs)\n"}]
    scored = score_samples([problem], rows, sandbox=SandboxConfig(timeout=5.0, workers=1), k_values=[1],
                           edit_sequence=False, progress=False)
    assert [(s["passed"], s["passed_plus"]) for s in scored.samples] == [(True, True)], scored.samples
