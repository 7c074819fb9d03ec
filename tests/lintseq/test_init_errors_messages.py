"""``--ignore-init-errors`` tolerates the program's own errors, not others that share their id and line.

A package module that takes names from a star import (``from .shapes import *``: opaque, so every name it
brings is E0602 undefined-variable) has E0602 on each line using them. Compared by message id and line, a
state in which a deletion had taken ``SIZE = 3`` passed with ``Undefined variable 'SIZE'`` on the line of the
program's own ``Undefined variable 'SQUARE'``: an error the program does not have, in an emitted state, and
``lintseq verify`` applied the same rule. The message names the variable, so it is compared too.
"""

from hub_tools.datagen.row_checks import RowBatch, _check_states
from hub_tools.linters import PylintLinter
from hub_tools.lintseq import LintSeqConfig, sample_edit_paths

# The shape of a package module under the portable profile: names from a star import next to its own.
PROGRAM = "from .shapes import *\n\nSIZE = 3\n\n\ndef area():\n    return SQUARE * SIZE\n\n\nprint(area())"


def _own_errors(linter, program):
    return {(error.code, error.message, error.line - 1) for error in linter.lint(program)}


def test_a_state_keeps_only_the_programs_own_errors():
    linter = PylintLinter(timeout=None)
    lines = PROGRAM.split("\n")
    own = _own_errors(linter, PROGRAM)
    assert own == {("E0602", "undefined-variable: Undefined variable 'SQUARE'", 6)}
    config = LintSeqConfig(ignore_init_errors=True)
    checked = 0
    for seed in range(12):
        for path in sample_edit_paths(PROGRAM, linter, seed=seed, config=config):
            for state in path.states[1:-1]:
                # The state's lines are the program's, in order: map each error to its program line.
                state_lines = state.split("\n")
                start = next(index for index in range(len(lines)) if lines[index] == state_lines[0])
                positions, cursor = [], start
                for text in state_lines:
                    while lines[cursor] != text:
                        cursor += 1
                    positions.append(cursor)
                    cursor += 1
                for error in linter.lint(state):
                    assert (error.code, error.message, positions[error.line - 1]) in own, (state, error)
                checked += 1
    assert checked > 20


def test_verify_fails_a_state_with_another_error_of_the_same_id_on_that_line():
    # The state made when a deletion took `SIZE = 3`: the program's lines 6 and 9 (0-based), as verify sees it.
    state = "def area():\n    return SQUARE * SIZE"
    program_lines = PROGRAM.split("\n")
    states = [(state, [5, 6]), (PROGRAM, list(range(len(program_lines))))]
    batch = RowBatch(sampler="lintseq", lint_profile="portable", ignore_init_errors=True, lint_timeout=None,
                     seed=0, rows=[])
    problems = _check_states(PROGRAM, states, batch)
    assert len(problems) == 1 and problems[0][0] == "lint" and "'SIZE'" in problems[0][1], problems
    # The program's own error alone is still tolerated.
    own_only = [("from .shapes import *\ndef area():\n    return SQUARE", [0, 5, 6]), states[-1]]
    assert _check_states(PROGRAM, own_only, batch) == []


# The program's own errors whose text changes with lines they are not about: E0102 names the line of the first
# definition (in the linted text's numbering, which a deletion above it shifts), and no-member's hint lists the
# close names still defined. They are the same errors in a state, and induce no deletion.
REDEFINED = "X = 1\n\n\ndef f():\n    return 1\n\n\ndef f():\n    return 2\n\n\nprint(f(), X)"
HINTED = ("class Seen:\n    def look(self):\n        print(self.spot)\n\n    def other(self):\n"
          "        self.spit = 1\n        return self.spot\n\n\nprint(Seen())")


def test_an_own_error_naming_a_line_or_a_close_name_stays_the_programs_own():
    linter = PylintLinter(timeout=None)
    assert {error.code for error in linter.lint(REDEFINED)} == {"E0102"}
    assert {error.code for error in linter.lint(HINTED)} == {"E1101"}
    assert all("; maybe 'spit'?" in error.message for error in linter.lint(HINTED))
    config = LintSeqConfig(ignore_init_errors=True)
    states = {program: [state for seed in range(12)
                        for path in sample_edit_paths(program, linter, seed=seed, config=config)
                        for state in path.states]
              for program in (REDEFINED, HINTED)}
    # Deleting `X = 1` (then the print that uses it) leaves both definitions of f; deleting `self.spit = 1`
    # leaves the rest of the class. Were the changed texts new errors, those deletions would take them along.
    assert any("return 1" in state and "return 2" in state and "X = 1" not in state for state in states[REDEFINED])
    assert any("self.spot" in state and "self.spit" not in state for state in states[HINTED])


def test_verify_tolerates_an_own_error_naming_a_line_that_moved():
    program_lines = REDEFINED.split("\n")
    kept = [3, 4, 5, 6, 7, 8]  # both definitions of f: "already defined line 1" here, "line 4" in the program
    state = "\n".join(program_lines[index] for index in kept)
    batch = RowBatch(sampler="lintseq", lint_profile="portable", ignore_init_errors=True, lint_timeout=None,
                     seed=0, rows=[])
    assert _check_states(REDEFINED, [(state, kept), (REDEFINED, list(range(len(program_lines))))], batch) == []
