"""HumanEval+ and MBPP+ (EvalPlus) read from the user's copy of their files; nothing is downloaded.

Two layouts are read:

- **The EvalPlus release files** (``HumanEvalPlus-v0.1.10.jsonl.gz``, ``MbppPlus-v0.2.0.jsonl.gz``, or any
  ``.jsonl`` / ``.jsonl.gz`` / ``.json`` / ``.parquet`` with their fields): ``task_id``, ``prompt``,
  ``entry_point``, ``canonical_solution`` (or ``code``), ``base_input`` and ``plus_input`` (lists of argument
  lists), ``atol``. Both test sets are *differential*, as in EvalPlus: the answer and the canonical solution
  get the same arguments and must return the same value (floats within ``atol``, or 1e-6 when ``atol`` is 0
  and the value is made of floats; ``find_zero`` passes when the polynomial is within ``atol`` of 0 at the
  answer). ``Problem.tests`` runs ``base_input``, ``Problem.plus_tests`` runs ``plus_input``.
- **Rows with a ``test`` program** (the Hub copies ``evalplus/humanevalplus`` / ``evalplus/mbppplus``): the
  ``test`` program is the plus test; the base tests are MBPP's ``test_list`` (after ``test_imports``) or, for
  HumanEval+, the original HumanEval test of the same task id.

Arguments are passed as JSON gives them: EvalPlus turns some MBPP+ arguments into tuples or sets for a few
tasks; here those tasks get lists, the same for the answer and the reference.
"""

from __future__ import annotations

import math
from pathlib import Path

from hub_tools.errors import UserError
from hub_tools.evaluation.problems import Problem, _mbpp_signature, mbpp_prompt
from hub_tools.evaluation.sandbox.checks import SETUP_END
from hub_tools.local_paths import meant_as_local_path
from hub_tools.problem_files import read_problem_rows

FILE_NAMES = {"humaneval+": "humanevalplus", "mbpp+": "mbppplus"}
REQUIRED = ("task_id", "prompt", "entry_point")

# Test code in the form the scorer runs in the trusted evaluator (see hub_tools.evaluation.sandbox.checks):
# it names the entry point directly, so the name is bound to the sandboxed candidate there, and the answer
# only ever sends back plain data (an object whose ``__eq__`` always says yes cannot pass). The reference
# runs in a namespace of its own, in the test's setup: once per problem, before any sample's clock starts (see
# ``SETUP_END``); the arguments are copied for each call, so neither side can change them for the other.
DIFFERENTIAL_TEST = '''
def _reference_outputs(entry_point, reference_source, all_arguments):
    import copy
    namespace = {{"__name__": "reference"}}
    exec(compile(reference_source, "<reference solution>", "exec"), namespace)
    reference = namespace[entry_point]
    return [reference(*copy.deepcopy(arguments)) for arguments in all_arguments]


_arguments = {arguments}
_expected = _reference_outputs({entry_point!r}, {reference!r}, _arguments)
{setup_end}

def _differential_test(entry_point, candidate, all_arguments, all_expected, atol, label):
    import copy, math

    def floats(value):
        return isinstance(value, float) or (isinstance(value, (list, tuple)) and len(value) > 0
                                            and all(isinstance(item, float) for item in value))

    def close(out, expected, tolerance):
        if isinstance(out, bool) or isinstance(expected, bool):
            return out == expected
        if isinstance(out, (int, float)) and isinstance(expected, (int, float)):
            return math.isclose(out, expected, rel_tol=1e-7, abs_tol=tolerance) or (out != out and expected != expected)
        if isinstance(out, (list, tuple)) and isinstance(expected, (list, tuple)) and len(out) == len(expected):
            return all(close(a, b, tolerance) for a, b in zip(out, expected))
        return out == expected

    for number, (arguments, expected) in enumerate(zip(all_arguments, all_expected)):
        out = candidate(*copy.deepcopy(arguments))
        if entry_point == "find_zero":
            coefficients = arguments[0]
            value = sum(coefficient * math.pow(out, power) for power, coefficient in enumerate(coefficients))
            assert abs(value) <= max(atol, 1e-6), f"{{label}} input {{number}}: not a zero of the polynomial"
            continue
        tolerance = atol if atol else (1e-6 if floats(expected) else 0)
        same = out == expected if not tolerance else close(out, expected, tolerance)
        assert same, f"{{label}} input {{number}}: expected {{expected!r:.120}}, got {{out!r:.120}}"


_differential_test({entry_point!r}, {entry_point}, _arguments, _expected, {atol!r}, {label!r})
'''


def _literal(value) -> str:
    """Python source for a JSON value (``repr`` would write ``nan`` and ``inf``, which are not literals)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(key)}: {_literal(item)}" for key, item in value.items()) + "}"
    return repr(value)


def differential_test(entry_point: str, reference_program: str, inputs: list, atol: float, label: str) -> str:
    """Test code that checks the answer's ``entry_point`` against the reference on every input.

    Example:
        >>> test = differential_test("add", "def add(a, b):\\n    return a + b", [[1, 2]], 0, "base")
        >>> exec("def add(a, b):\\n    return a - b\\n" + test)
        Traceback (most recent call last):
        ...
        AssertionError: base input 0: expected 3, got -1
    """
    if not entry_point.isidentifier():
        raise ValueError(f"entry point {entry_point!r} is not a Python name")
    return DIFFERENTIAL_TEST.format(entry_point=entry_point, reference=reference_program, setup_end=SETUP_END,
                                    arguments=_literal(list(inputs)), atol=float(atol or 0), label=label)


def _rows(benchmark: str, source: str) -> tuple[list[dict], str]:
    path = Path(source).expanduser()
    if path.is_dir():
        suffixes = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet")
        files = sorted(file for file in path.rglob("*") if file.is_file() and file.name.endswith(suffixes))
        named = [file for file in files if FILE_NAMES[benchmark] in file.name.lower().replace("_", "").replace("-", "")]
        if not (named or files):
            raise UserError(f"{path}: no .jsonl(.gz), .json or .parquet file with {benchmark} problems in this folder")
        if len(named) > 1:
            # Several releases side by side: the last version in name order (v0.1.10 after v0.1.9 needs care).
            named.sort(key=lambda file: [int(part) if part.isdigit() else part for part in
                                         file.name.replace("-", ".").split(".")])
            named = named[-1:]
        return [row for file in (named or files) for row in read_problem_rows(file)], str(named[0] if named else path)
    if path.is_file():
        return read_problem_rows(path), str(path)
    if meant_as_local_path(source, folder_here_counts=False) or source.endswith((".jsonl", ".gz", ".json", ".parquet")):
        raise UserError(f"{benchmark} data {source!r} does not exist; give the EvalPlus file, a folder holding "
                        "it, or a Hub dataset id")
    try:
        import datasets

        return list(datasets.load_dataset(source, split="test")), source
    except Exception as error:  # the Hub and datasets raise many kinds; the user needs the one line
        raise UserError(f"could not load {benchmark} from the Hub dataset {source!r}: "
                        f"{str(error).splitlines()[0] if str(error) else type(error).__name__}; and there is no "
                        f"local file or folder {source!r} either") from None


def _description(prompt: str) -> str:
    """MBPP+'s prompt is a docstring holding the task and one example assert: keep the task."""
    lines = [line.strip() for line in prompt.strip().strip('"').strip("'").splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("assert"))


def load_evalplus(benchmark: str, source: str | None) -> list[Problem]:
    """HumanEval+ (``benchmark="humaneval+"``) or MBPP+ (``"mbpp+"``) problems with base and plus tests.

    Args:
        benchmark: ``humaneval+`` or ``mbpp+``.
        source: an EvalPlus ``.jsonl`` / ``.jsonl.gz`` file, a folder holding one, or a Hub dataset id.

    Raises:
        UserError: no source, or a row without a required field (naming the file and row).
    """
    if benchmark not in FILE_NAMES:
        raise UserError(f"unknown EvalPlus benchmark {benchmark!r}; choose humaneval+ or mbpp+")
    if not source:
        example = "HumanEvalPlus-v0.1.10.jsonl.gz" if benchmark == "humaneval+" else "MbppPlus-v0.2.0.jsonl.gz"
        raise UserError(f"{benchmark} is not shipped with hub_tools: give the EvalPlus release file with --dataset "
                        f"(e.g. --dataset {example}), a folder holding it, or a Hub dataset id")
    rows, origin = _rows(benchmark, source)
    if not rows:
        raise UserError(f"{origin}: no {benchmark} problems found")
    original = None
    problems = []
    for number, row in enumerate(rows, start=1):
        where = f"{origin}: row {number}"
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected a JSON object with the EvalPlus fields")
        missing = [name for name in REQUIRED if not row.get(name)]
        solution = row.get("canonical_solution") or row.get("code")
        if not solution:
            missing.append("canonical_solution")
        differential = "base_input" in row and "plus_input" in row
        if not differential and not row.get("test"):
            missing.append("base_input/plus_input (or test)")
        if missing:
            raise UserError(f"{where}: missing field {', '.join(map(repr, missing))} (found "
                            f"{', '.join(sorted(row)) or 'nothing'})")
        task_id = str(row["task_id"])
        task_id = task_id if "/" in task_id else f"{'HumanEval' if benchmark == 'humaneval+' else 'Mbpp'}/{task_id}"
        entry_point = row["entry_point"]
        probe = Problem(task_id, row["prompt"], entry_point, "")
        if probe.defines_entry_point(row["prompt"]):
            prompt, prefix = row["prompt"], None
        else:
            _, signature = _mbpp_signature(solution, [], where)
            prompt, prefix = mbpp_prompt(_description(row["prompt"]), signature), ""
        problem = Problem(task_id, prompt, entry_point, "", solution, prefix)
        reference = problem.reference_program()
        imports = "\n".join(row.get("test_imports") or [])
        if differential:
            atol = float(row.get("atol") or 0)
            tests = differential_test(entry_point, reference, list(row["base_input"]), atol, "base")
            plus = differential_test(entry_point, reference, list(row["plus_input"]), atol, "plus")
        else:
            plus = row["test"] if "def check(" not in row["test"] else f"{row['test']}\n\ncheck({entry_point})"
            if row.get("test_list"):
                tests = "\n".join(row["test_list"])
            else:
                if original is None:
                    from hub_tools.evaluation.problems import load_humaneval

                    original = {item.task_id: item.tests for item in load_humaneval()}
                tests = original.get(task_id, plus)
        problems.append(Problem(task_id, prompt, entry_point, f"{imports}\n{tests}".strip(), solution, prefix,
                                plus_tests=f"{imports}\n{plus}".strip()))
    return problems
