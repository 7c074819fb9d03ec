"""``lintseq eval`` as a user runs it: a samples file, a tiny model end to end, and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub_tools.cli import main


def _lintseq(*arguments: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lintseq")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "import sys; from hub_tools.cli import main; sys.exit(main())"]
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=300)


def test_scores_a_samples_file_in_the_human_eval_format(humaneval, tmp_path):
    samples = tmp_path / "samples.jsonl"
    rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in humaneval[:20]]
    rows += [{"task_id": p.task_id, "completion": "    return None\n"} for p in humaneval[:20]]
    # Saved by a Windows tool: the byte-order mark opens the file, not the first sample.
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8-sig")
    result = _lintseq("eval", "--samples", str(samples), "--benchmark", "humaneval", "--k", "1,2",
                      "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "pass@1 = 0.5000, pass@2 = 1.0000" in result.stdout
    assert "the samples cover 20 of 164 problems" in result.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["pass_at_k"] == {"pass@1": 0.5, "pass@2": 1.0}
    assert metrics["num_problems"] == 20 and metrics["num_samples_per_problem"] == 2
    assert metrics["counts"] == {"passed": 20, "failed": 20, "timed_out": 0, "error": 0}
    written = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [row["completion"] for row in written] == [row["completion"] for row in rows]
    assert [row["passed"] for row in written] == [True] * 20 + [False] * 20


@pytest.mark.parametrize(("arguments", "message"), [
    (["--samples", "missing.jsonl"], "samples file missing.jsonl does not exist"),
    (["--samples", "x.jsonl", "--benchmark", "mbpp"], "--dataset PATH_OR_HUB_ID"),
    (["--samples", "x.jsonl", "--k", "one"], "comma-separated whole numbers"),
    (["--samples", "x.jsonl", "--timeout", "0"], "timeout must be more than 0"),
    (["--samples", "x.jsonl", "--dataset", "d.jsonl"], "--dataset is for MBPP"),
    (["--model", "./no-such-model", "--limit", "1"], "does not exist"),
    (["--samples", "x.jsonl", "--task-ids", "HumanEval/0,HumanEval/999"], "'HumanEval/999' is not a problem"),
    (["--samples", "x.jsonl", "--resume"], "nothing to resume"),
    (["--samples", "x.jsonl", "--endpoint", "http://localhost:1"], "--endpoint needs --model"),
    (["--samples", "x.jsonl", "--benchmark", "humaneval+"], "--dataset HumanEvalPlus-v0.1.10.jsonl.gz"),
    (["--model", "org/model", "--n", "4", "--k", "5,10"], "every k is more than --n 4"),  # said after sampling
])
def test_user_errors_are_one_line(arguments, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["eval", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("lintseq eval: error: ") and message in error, error
    assert len(error.splitlines()) == 1


def test_a_tiny_model_end_to_end_then_rescored_from_its_samples(tiny_model, tmp_path, capsys):
    output = tmp_path / "eval"
    assert main(["eval", "--model", str(tiny_model), "--benchmark", "humaneval", "--limit", "3", "--n", "2",
                 "--k", "1,2", "--max-new-tokens", "24", "--temperature", "0.8", "--output-dir", str(output)]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["model"] == str(tiny_model) and metrics["edit_sequence"] is True
    assert (metrics["num_problems"], metrics["num_samples_per_problem"]) == (3, 2)
    assert (metrics["temperature"], metrics["top_p"], metrics["max_new_tokens"]) == (0.8, 0.95, 24)
    assert set(metrics["pass_at_k"]) == {"pass@1", "pass@2"}
    assert sum(metrics["counts"].values()) == 6
    samples = [json.loads(line) for line in (output / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6
    assert all(sample["prompt"].endswith("\n<|diff|>") for sample in samples)
    assert {"program", "passed", "result", "status", "skipped"} <= set(samples[0])

    # The samples file is itself a valid input: scoring it again gives the same verdicts.
    rescored = tmp_path / "rescored"
    assert main(["eval", "--samples", str(output / "samples.jsonl"), "--output-dir", str(rescored),
                 "--k", "1,2"]) == 0
    again = [json.loads(line) for line in (rescored / "samples.jsonl").read_text().splitlines()]
    assert [(s["program"], s["status"]) for s in again] == [(s["program"], s["status"]) for s in samples]
    capsys.readouterr()

    baseline = tmp_path / "baseline"
    assert main(["eval", "--model", str(tiny_model), "--baseline", "--limit", "2", "--n", "1", "--k", "1",
                 "--max-new-tokens", "8", "--output-dir", str(baseline)]) == 0
    rows = [json.loads(line) for line in (baseline / "samples.jsonl").read_text().splitlines()]
    assert all("<|diff|>" not in row["prompt"] for row in rows)
    assert json.loads((baseline / "metrics.json").read_text())["edit_sequence"] is False


def test_importing_the_evaluation_package_loads_no_heavy_library():
    code = ("import sys, hub_tools.evaluation, hub_tools.cli.evaluate\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'trl') if m in sys.modules]\n"
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_mbpp_from_a_local_file(tmp_path, capsys):
    import colorsys
    import inspect

    row = {"task_id": 1, "text": "Write a function to convert RGB to YIQ.", "code": inspect.getsource(colorsys.rgb_to_yiq),
           "test_list": [f"assert rgb_to_yiq(0.5, 0.25, 0.0) == {colorsys.rgb_to_yiq(0.5, 0.25, 0.0)!r}"]}
    data = tmp_path / "mbpp.jsonl"
    data.write_text(json.dumps(row) + "\n")
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "Mbpp/1", "completion": row["code"]}) + "\n")
    assert main(["eval", "--samples", str(samples), "--benchmark", "mbpp", "--dataset", str(data), "--k", "1",
                 "--output-dir", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["benchmark"] == "mbpp" and metrics["pass_at_k"] == {"pass@1": 1.0}
    assert metrics["dataset_id"] is None and metrics["dataset_path"] == str(data)


@pytest.mark.parametrize("command", ["eval", "sample"])
def test_a_missing_local_model_folder_fails_at_once_naming_it(command, tmp_path):
    # "outputs" exists here, so outputs/tiny-lintseq is a local path: no Hub look-up (no minute of retries).
    (tmp_path / "outputs").mkdir()
    extra = ["--instruction", "x"] if command == "sample" else ["--limit", "1"]
    script = "import sys; from hub_tools.cli import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", script, command, "--model", "outputs/tiny-lintseq", *extra],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={**__import__("os").environ, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"lintseq {command}: error: model path outputs/tiny-lintseq does not exist (outputs has no folder tiny-lintseq)"]


def test_task_ids_and_limit_select_problems_when_scoring(humaneval, tmp_path, capsys):
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n"
                               for p in humaneval[:6]))
    assert main(["eval", "--samples", str(samples), "--task-ids", "HumanEval/4,2,HumanEval/5", "--limit", "2", "--k", "1",
                 "--output-dir", str(tmp_path / "out")]) == 0
    written = [json.loads(line)["task_id"] for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert written == ["HumanEval/2", "HumanEval/4"]  # in the samples' order, only the first two ids asked for
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    # What part of the benchmark was scored: a model card must not present it as the benchmark's score.
    assert (metrics["num_problems"], metrics["num_benchmark_problems"], metrics["limit"]) == (2, 164, 2)
    assert metrics["task_ids"] == ["HumanEval/4", "HumanEval/2"]


def _journal(folder: Path) -> list[dict]:
    lines = (folder / "generations.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[1:] if line.strip()]


def test_resume_after_a_kill_keeps_what_was_sampled(tiny_model, tmp_path):
    import os
    import signal
    import time

    output = tmp_path / "eval"
    arguments = ["eval", "--model", str(tiny_model), "--limit", "12", "--n", "2", "--k", "1", "--batch-size", "2",
                 "--max-new-tokens", "48", "--temperature", "0.8", "--output-dir", str(output)]
    script = "import sys; from hub_tools.cli import main; sys.exit(main())"
    process = subprocess.Popen([sys.executable, "-c", script, *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if (output / "generations.jsonl").is_file() and len(_journal(output)) >= 4:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _journal(output)
    assert 4 <= len(before) < 24, "the run was not interrupted half way"
    assert not (output / "metrics.json").exists()
    # A kill can cut the last line short: it is dropped and sampled again.
    with open(output / "generations.jsonl", "a") as journal:
        journal.write('{"task_id": "HumanEval/11", "sample_in')

    mismatch = _lintseq(*arguments[:-2], "--seed", "1", "--output-dir", str(output), "--resume")
    assert mismatch.returncode == 2 and "was sampled with seed = 0, not 1" in mismatch.stderr
    resumed = _lintseq(*arguments, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming: {len(before)} sample(s) already in" in resumed.stderr
    after = _journal(output)
    assert after[: len(before)] == before  # nothing sampled twice, nothing lost
    keys = [(row["task_id"], row["sample_index"]) for row in after]
    assert len(keys) == len(set(keys)) == 24
    scored = {(row["task_id"], row["sample_index"]): row["completion"]
              for row in map(json.loads, (output / "samples.jsonl").read_text().splitlines())}
    assert len(scored) == 24
    assert all(scored[row["task_id"], row["sample_index"]] == row["completion"] for row in before)
    assert json.loads((output / "metrics.json").read_text())["num_samples_per_problem"] == 2


def test_default_token_budgets_hold_the_real_edit_sequences_of_the_references(humaneval, tiny_model):
    """Each problem's default budget covers its canonical solution written as a real LintSeq edit sequence
    (the real pylint-guided sampler), and short problems get less than long ones."""
    from transformers import AutoTokenizer

    from hub_tools.cli.evaluate import token_budgets
    from hub_tools.linters.pylint_backend import PylintLinter
    from hub_tools.lintseq import format_completion, sample_edit_path

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    problems = [humaneval[index] for index in (0, 2, 10, 35, 129)]
    budgets = token_budgets(problems, tokenizer, edit_sequence=True)
    linter = PylintLinter(profile="portable")
    for problem, budget in zip(problems, budgets, strict=True):
        for seed in range(3):
            completion = format_completion(sample_edit_path(problem.reference_program(), linter=linter, seed=seed).diffs)
            assert len(tokenizer(completion)["input_ids"]) <= budget, problem.task_id
    assert len(set(budgets)) > 1 and budgets == [b // 32 * 32 for b in budgets]
    baseline = token_budgets(problems, tokenizer, edit_sequence=False)
    assert all(plain < edits for plain, edits in zip(baseline, budgets, strict=True))


def test_a_run_without_resume_keeps_the_earlier_samples_aside(tmp_path, capsys):
    """A forgotten --resume deleted hours of samples; they are moved to generations.jsonl.previous."""
    from hub_tools.cli.eval_journal import GenerationJournal

    journal = tmp_path / "generations.jsonl"
    journal.write_text('{"settings": {}}\n{"task_id": "HumanEval/0", "sample_index": 0}\n')
    earlier = journal.read_text()
    GenerationJournal(journal, {"seed": 0}, resume=False)
    assert (tmp_path / "generations.jsonl.previous").read_text() == earlier
    assert "moved to generations.jsonl.previous" in capsys.readouterr().err
    journal.write_text('{"settings": {"seed": 0}}\n{"task_id": "HumanEval/1", "sample_index": 0}\n')
    second = journal.read_text()
    GenerationJournal(journal, {"seed": 0}, resume=False)  # a second forgotten --resume replaces neither
    assert (tmp_path / "generations.jsonl.previous").read_text() == earlier
    assert (tmp_path / "generations.jsonl.previous-2").read_text() == second


def test_a_last_line_cut_inside_a_character_is_dropped_on_resume(tmp_path, capsys):
    """Samples are written as UTF-8: a kill cut a line inside a two-byte character, and --resume crashed
    (UnicodeDecodeError) where it drops a torn line."""
    from hub_tools.cli.eval_journal import GenerationJournal

    journal = tmp_path / "generations.jsonl"
    kept = {"task_id": "HumanEval/0", "sample_index": 0, "prompt": "p", "completion": "return 'é'"}
    journal.write_bytes(json.dumps({"settings": {"seed": 0}}).encode() + b"\n"
                        + json.dumps(kept, ensure_ascii=False).encode() + b"\n"
                        + '{"task_id": "HumanEval/1", "sample_index": 0, "completion": "é'.encode()[:-1])
    resumed = GenerationJournal(journal, {"seed": 0}, resume=True)
    assert resumed.rows == {("HumanEval/0", 0): kept}
    resumed.add({"task_id": "HumanEval/1", "sample_index": 0, "prompt": "p", "completion": "x"})
    resumed.close()
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line).get("task_id") for line in lines] == [None, "HumanEval/0", "HumanEval/1"]
    assert "resuming: 1 sample(s)" in capsys.readouterr().err
