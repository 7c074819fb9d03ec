"""Copies of HumanEval problems beside the program: under other names in an instruction ("fix this code") or in
a response's second fence, in a notebook's JSON; and copies pasted as listings whose every line opens with a
marker (a diff's `+`, a quote's `>`, an interactive session's `>>>` / `...`, a line number). Each is found;
unrelated code and prose stay unrelated; no warning is printed for prose that Python reads as bad code.

Each test takes a handful of real problems (its docstring gives the measurement on all 164).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import pytest

from hub_tools.datagen.decontamination import find_overlap

_spec = importlib.util.spec_from_file_location("corpus", Path(__file__).resolve().parents[2] / "benchmarks" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)
TASKS = ["HumanEval/0", "HumanEval/10", "HumanEval/12", "HumanEval/20", "HumanEval/26", "HumanEval/37",
         "HumanEval/64", "HumanEval/95", "HumanEval/129", "HumanEval/160"]
SMALL = "def small(x):\n    return x + 1\n"


def _code(problem: dict) -> str:
    return problem["prompt"] + problem["canonical_solution"]


def _found(overlap, task: str) -> bool:
    return overlap is not None and overlap.task_id == task


def _notebook(code: str) -> str:
    cells = [{"cell_type": "markdown", "source": ["A solution"], "metadata": {}},
             {"cell_type": "code", "source": code.splitlines(True), "metadata": {}, "outputs": []}]
    return "```json\n" + json.dumps({"cells": cells, "nbformat": 4}, indent=1) + "\n```"


# Where the renamed copy is: (instruction, response) around it.
PLACES = {
    "instruction, bare": lambda code: ("Fix this code, it is too slow:\n" + code + "\nThanks.", None),
    "instruction, fenced": lambda code: ("Explain:\n```python\n" + code + "\n```", None),
    "response, second fence": lambda code: ("Write it.", f"```python\n{SMALL}```\nOr:\n```python\n{code}\n```"),
    "response, a notebook": lambda code: ("Give me a notebook.", _notebook(code)),
    "response, a diff": lambda code: ("Patch it.", "```diff\n" + "".join("+" + line for line in code.splitlines(True))
                                      + "\n```"),
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_copy_under_other_names_beside_the_program_is_found(humaneval, measured, place):
    """Only the program was compared under other names. Measured on all 164 (renamed, docstring dropped), before:
    2 found each way (by names, the pairs of problems with one code); now 153 in an instruction or a response's
    second fence, in a notebook or a diff, as for the program itself (143 with its type hints gone too)."""
    for seed, task in enumerate(TASKS):
        instruction, response = PLACES[place](corpus.under_other_names(_code(humaneval[task]), seed))
        overlap = find_overlap(instruction, SMALL, measured, response)
        assert _found(overlap, task) and overlap.renamed, (task, overlap)


# Where the renamed copy is: the program itself, holding it as text.
IN_THE_PROGRAM = {
    "a string": lambda code: "SOLUTION = " + repr(code) + "\nprint(len(SOLUTION))\n",
    "exec of a string": lambda code: "exec(" + json.dumps(code) + ")\n",
    "a notebook's JSON as the program": lambda code: json.dumps(
        {"cells": [{"cell_type": "code", "source": code.splitlines(True), "metadata": {}}]}, indent=1),
}


@pytest.mark.parametrize("form", sorted(IN_THE_PROGRAM))
def test_a_copy_under_other_names_held_as_text_by_the_program_is_found(humaneval, measured, form):
    """The program was compared under other names as code only. Measured on all 164 (renamed): 2 found in a
    string, an exec'd string, or as a notebook's JSON that is the whole response; now 153 each, as for the
    program itself (``benchmarks/dataset_hygiene.py --only-held-as-text``)."""
    for seed, task in enumerate(TASKS):
        program = IN_THE_PROGRAM[form](corpus.under_other_names(_code(humaneval[task]), seed))
        overlap = find_overlap("Write it.", program, measured)
        assert _found(overlap, task) and overlap.renamed, (task, overlap)
    unrelated = 'TEMPLATE = """\ndef handler(request):\n    return render(request, "page.html")\n"""\n'
    assert find_overlap("Write it.", unrelated, measured) is None


def test_a_file_of_renamed_solutions_counts_each_problem(humaneval, measured):
    """A file holding several problems counts for each (its row's ``also``); under other names it counted for
    one: over 10 files of 5 renamed solutions, only each file's best; now 48 of the 50."""
    from hub_tools.datagen.decontamination import benchmark_index

    tasks = TASKS[:5]
    program = "\n\n".join(corpus.under_other_names(_code(humaneval[task]), seed) for seed, task in enumerate(tasks))
    hit = {task for _, task in benchmark_index(measured).tasks_hit({"program": program})}
    assert set(tasks) <= hit, hit


MARKED = {
    "diff": lambda code: "".join("+" + line for line in code.splitlines(True)),
    "quote": lambda code: "".join("> " + line for line in code.splitlines(True)),
    "session": lambda code: "".join(("... " if line[:1].isspace() else ">>> ") + line for line in code.splitlines(True)),
    "numbered": lambda code: "".join(f"{number:4d} | {line}" for number, line in enumerate(code.splitlines(True), 1)),
}


@pytest.mark.parametrize("marker", sorted(MARKED))
def test_a_copy_with_a_marker_on_every_line_is_found(humaneval, measured, marker):
    """The marker broke up every n-gram across a line. Measured on all 164 programs as the instruction, before:
    83 found as a diff, a quote or a numbered listing, 84 as a session; now 164 each."""
    for task in [*TASKS, "HumanEval/1", "HumanEval/2", "HumanEval/4"]:
        assert _found(find_overlap(MARKED[marker](_code(humaneval[task])), SMALL, measured), task), task
        assert _found(find_overlap("Write it.", SMALL, measured, "```diff\n" + MARKED[marker](_code(humaneval[task]))
                                   + "```"), task), task


def test_unrelated_code_and_prose_beside_the_program_stay_unrelated(measured, stdlib_corpus):
    """Standard-library functions in an instruction or a response's fence, as a listing, and prose that Python
    warns about when it is parsed (no warning escapes)."""
    prose = "It ran 1st and 2nd in 3rd place; is 0x1 the same as 1? " * 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for function in stdlib_corpus[:60]:
            assert find_overlap("Explain this:\n" + function + "\n" + prose, SMALL, measured) is None, function[:60]
            assert find_overlap("Write it.", SMALL, measured, f"{prose}\n```python\n{function}\n```") is None
            assert find_overlap(MARKED["diff"](function), SMALL, measured) is None, function[:60]
