"""Benchmark names and the problems each one means: the one place that knows every loader."""

from __future__ import annotations

from hub_tools.errors import UserError
from hub_tools.evaluation.evalplus import load_evalplus
from hub_tools.evaluation.problems import Problem, load_humaneval, load_mbpp

BENCHMARKS = ("humaneval", "mbpp", "humaneval+", "mbpp+")


def load_problems(benchmark: str, *, dataset: str | None = None, split: str = "test",
                  config_name: str | None = None) -> list[Problem]:
    """The problems of ``benchmark`` (``humaneval``, ``mbpp``, ``humaneval+``, ``mbpp+``; all but HumanEval
    need ``dataset``)."""
    if benchmark == "humaneval":
        return load_humaneval()
    if benchmark in ("humaneval+", "mbpp+"):
        return load_evalplus(benchmark, dataset)
    if benchmark == "mbpp":
        return load_mbpp(dataset, split=split, config_name=config_name)
    raise UserError(f"unknown benchmark {benchmark!r}; choose one of {', '.join(BENCHMARKS)}")
