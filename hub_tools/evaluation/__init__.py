"""Evaluation: HumanEval / MBPP pass@k with sandboxed execution.

- :mod:`~hub_tools.evaluation.problems`: the benchmarks' problems and how an answer becomes a program
  (``evalplus``: HumanEval+ and MBPP+; ``benchmarks``: a benchmark's name to its problems).
- :mod:`~hub_tools.evaluation.sandbox`: parallel execution, one fresh sandboxed process per program
  (``pool``: the templates and their jobs; ``config``: limits and isolation asked for; ``isolation``: the
  levels; ``template``: one template, one job; ``kernel``: seccomp, Landlock, limits; ``namespaces``:
  namespaces without bubblewrap; ``runner``: the process inside; ``guard``: the Python fence inside;
  ``values``: the plain-data boundary; ``checks``: tests run outside).
- :mod:`~hub_tools.evaluation.pass_at_k`: the unbiased pass@k estimator.
- :mod:`~hub_tools.evaluation.scoring`: completions -> verdicts -> ``metrics.json`` and ``samples.jsonl``.

Importing this package loads neither torch nor transformers; ``lintseq eval --model`` loads them when it
samples (through :mod:`hub_tools.inference.local`).

Example:
    >>> from hub_tools.evaluation import load_humaneval, score_samples
    >>> problems = load_humaneval()[:2]
    >>> rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in problems]
    >>> score_samples(problems, rows, k_values=[1], progress=False).metrics["pass_at_k"]
    {'pass@1': 1.0}
"""

from hub_tools.evaluation.benchmarks import BENCHMARKS, load_problems
from hub_tools.evaluation.pass_at_k import estimate_pass_at_k, mean_pass_at_k, parse_k_values
from hub_tools.evaluation.problems import Problem, load_humaneval, load_mbpp
from hub_tools.evaluation.sandbox import ExecutionResult, Job, Sandbox, SandboxConfig, run_programs
from hub_tools.evaluation.scoring import (
    METRICS_FILE,
    SAMPLES_FILE,
    Answer,
    Evaluation,
    read_answer,
    read_samples,
    score_samples,
    write_evaluation,
    write_samples,
)

__all__ = [
    "BENCHMARKS",
    "METRICS_FILE",
    "SAMPLES_FILE",
    "Answer",
    "Evaluation",
    "ExecutionResult",
    "Job",
    "Problem",
    "Sandbox",
    "SandboxConfig",
    "estimate_pass_at_k",
    "load_humaneval",
    "load_mbpp",
    "load_problems",
    "mean_pass_at_k",
    "parse_k_values",
    "read_answer",
    "read_samples",
    "run_programs",
    "score_samples",
    "write_evaluation",
    "write_samples",
]
