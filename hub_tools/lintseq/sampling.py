"""LintSeq backward sampling, and the random-deletion ablation.

Backward sampling deletes a program one *induced deletion* at a time: a drawn line, its indentation
children, and then every line the linter flags in what is left, until the linter is quiet. Read backwards,
the program states form an insertion-only edit path whose every intermediate program is lint-clean.

All randomness comes from one ``numpy.random.Generator`` built from the ``seed`` argument, so a path is a
pure function of (program, seed, config, linter): the same on any machine and any worker.

What it costs. The linter is the whole cost of a path, and its floor is one full lint of each emitted
state: an induced deletion ends only when the linter finds nothing in what is left, and that last, clean
lint is the check of the state the path emits. Everything above the floor is the lint of states that
still have errors (each flags the lines to delete next). Two things keep that part small without changing
a single path:

- the linter sees the text of the state, and :class:`~hub_tools.lintseq.Linter` promises a pure function
  of it, so a state whose lines were already linted for this program (the same set of kept lines, as in
  a search with several children per round, or the initial errors of ``ignore_init_errors``) reuses that
  answer instead of a second call;
- the linters in :mod:`hub_tools.linters` answer a syntax error (the usual state after a block opener is
  deleted without its block) from :func:`ast.parse` in a fraction of a millisecond, without the analysis.

``EditPath.lint_calls`` counts the calls that reached the linter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hub_tools.lintseq.diffs import insertion_diff, trim_state
from hub_tools.lintseq.lines import (
    CandidateOptions,
    candidate_lines,
    children,
    indentations,
    sampling_weights,
    unix_newlines,
    utf8_declared,
)
from hub_tools.lintseq.linter import Linter

SAMPLERS = ("lintseq", "random")
# The parts of a message's text that a deletion elsewhere changes, left out when a state's errors are matched
# with the program's own (ignore_init_errors): the line of the first definition, counted in the linted text,
# which a deletion above it shifts (E0102 "function already defined line 4", E0203 "Access to member 'x' before
# its definition line 7"), and the close names no-member suggests, which a deletion may take (E1101 "Instance of
# 'Seen' has no 'spot' member; maybe 'spit'?").
_CHANGING_PARTS = {"E0102": re.compile(r" line \d+$"), "E0203": re.compile(r" line \d+$"),
                   "E1101": re.compile(r"; maybe .*\?$")}


def lasting_text(code: str, message: str) -> str:
    """The text of a lint message without the parts that deletions on other lines change."""
    pattern = _CHANGING_PARTS.get(code)
    return pattern.sub("", message) if pattern else message


class NoCodeError(ValueError):
    """The program has no line the sampler could draw (empty, blank or comments only)."""


@dataclass(frozen=True)
class LintSeqConfig:
    """Settings of backward sampling. The defaults are the paper's generation setting: one child per
    round, keep one, population one, up to 512 rounds (a single random deletion trajectory).

    Attributes:
        children_per_round: deletions drawn from each branch per round.
        top_k: children kept per branch, those with the largest induced deletions first.
        max_population_size: finished paths to collect; the first (most complete) one is returned by
            :func:`sample_edit_path`.
        max_depth: maximum number of rounds (edits) per path; lines left over arrive with the first edit.
        indent_bias: weight of a line at indentation ``d`` is ``d / tab_width * indent_bias`` (1 at
            indentation 0); ``None`` samples uniformly.
        ignore_imports: see :class:`~hub_tools.lintseq.lines.CandidateOptions`.
        ignore_comments: see :class:`~hub_tools.lintseq.lines.CandidateOptions`.
        ignore_global_defs: see :class:`~hub_tools.lintseq.lines.CandidateOptions`.
        ignore_init_errors: errors the original program already has (same message id and text on the same
            original line) do not induce deletions. The text counts: it names what the error is about, and
            another ``E0602`` on the line of the program's own (``Undefined variable 'SIZE'`` next to
            ``'SQUARE'`` from a star import) is a new error that a deletion made. What a deletion elsewhere
            changes in a text (:func:`lasting_text`: another line's number, a suggested name) does not count.
    """

    children_per_round: int = 1
    top_k: int = 1
    max_population_size: int = 1
    max_depth: int = 512
    indent_bias: float | None = 1.0
    ignore_imports: bool = False
    ignore_comments: bool = True
    ignore_global_defs: bool = True
    ignore_init_errors: bool = False

    def __post_init__(self) -> None:
        for name in ("children_per_round", "top_k", "max_population_size", "max_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"LintSeqConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.indent_bias is not None and self.indent_bias <= 0:
            raise ValueError(f"LintSeqConfig.indent_bias must be positive or None, got {self.indent_bias}")

    @property
    def candidate_options(self) -> CandidateOptions:
        return CandidateOptions(self.ignore_imports, self.ignore_comments, self.ignore_global_defs)


@dataclass
class EditPath:
    """One sampled edit path.

    Attributes:
        program: the program the path writes (the input with line endings normalised and blank lines at
            both ends removed).
        deletions: the backward deletions in sampling order, each a sorted list of line indices.
        diffs: the forward edits, zero-context unified diffs from the empty program to ``program``.
        lint_calls: how many times the linter ran.
    """

    program: str
    deletions: list[list[int]]
    diffs: list[str] = field(default_factory=list)
    lint_calls: int = 0

    @property
    def states(self) -> list[str]:
        """The forward program states: ``""``, then the program after each edit (the last is ``program``)."""
        return forward_states(self.program, self.deletions)


_PYTHON_BLANK = " \t\f"


def normalize_program(text: str) -> str:
    """Use ``"\\n"`` line endings and drop blank lines at both ends (what an edit path can rebuild), a
    leading byte-order mark (U+FEFF: Python drops it from a file it reads, but a string holding it is not a
    valid program), and declare UTF-8 where a coding declaration would read the text as other characters
    (:func:`~hub_tools.lintseq.lines.utf8_declared`).

    Blank, here, is what Python takes for blank (spaces, tabs, form feeds): a last line of other white space
    (U+00A0, U+3000, U+2028) makes a file Python refuses, and it stays, so that the program is refused too
    rather than written as another program.

    >>> normalize_program("\\ufeff\\r\\n\\r\\nx = 1\\r\\nprint(x)\\r\\n\\r\\n")
    'x = 1\\nprint(x)'
    >>> normalize_program("x = 1\\n\\u00a0\\n")
    'x = 1\\n\\xa0'
    """
    lines = unix_newlines(text.removeprefix("\ufeff")).split("\n")
    start, stop = 0, len(lines)
    while start < stop and not lines[start].strip(_PYTHON_BLANK):
        start += 1
    while stop > start and not lines[stop - 1].strip(_PYTHON_BLANK):
        stop -= 1
    return "\n".join(utf8_declared(lines[start:stop]))


def _forward_index_states(num_lines: int, deletions: Sequence[Sequence[int]]) -> list[list[int]]:
    """Trimmed forward states as line-index lists, empty ones and repeats dropped."""
    lines_left = list(range(num_lines))
    backward = [lines_left]
    for deletion in deletions:
        removed = set(deletion)
        lines_left = [line for line in lines_left if line not in removed]
        backward.append(lines_left)
    return backward[::-1]


def forward_states(program: str, deletions: Sequence[Sequence[int]]) -> list[str]:
    lines = program.split("\n")
    states = [""]
    for state in _forward_index_states(len(lines), deletions):
        text = "\n".join(lines[index] for index in trim_state(lines, state))
        if text != states[-1]:
            states.append(text)
    return states


def deletions_to_diffs(program: str, deletions: Sequence[Sequence[int]]) -> list[str]:
    """Turn backward deletions into the forward insertion diffs (empty diffs dropped)."""
    lines = program.split("\n")
    diffs = []
    previous: list[int] = []
    for state in _forward_index_states(len(lines), deletions):
        trimmed = trim_state(lines, state)
        if trimmed != previous:
            diffs.append(insertion_diff(lines, previous, trimmed))
            previous = trimmed
    return diffs


def _generator(seed: int | Sequence[int] | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


@dataclass
class _Branch:
    deletions: list[list[int]]
    remaining: list[int]  # candidate lines not yet deleted, in line order
    deleted: frozenset[int]


class _InducedDeletion:
    """Computes induced deletions of one program against a linter, counting lint calls."""

    def __init__(self, lines: list[str], linter: Linter, ignore_init_errors: bool):
        self.lines = lines
        self.linter = linter
        self.indents = indentations(lines)
        self.lint_calls = 0
        # Answers already known, by the lines of the linted text (a state without its blank ends).
        self._known: dict[tuple[int, ...], list[tuple[str, str, int]]] = {}
        self.initial_errors: frozenset[tuple[str, str, int]] = frozenset()
        if ignore_init_errors:
            everything = list(range(len(lines)))
            self.initial_errors = frozenset(self._errors(everything))

    def _errors(self, kept: list[int]) -> list[tuple[str, str, int]]:
        """Lint the program made of the ``kept`` lines; errors as (code, message, original line index).

        The text linted is the state as the path will hold it: without whitespace-only lines at its ends
        (:func:`~hub_tools.lintseq.diffs.trim_state`). They matter to Python in one case: a last line that
        ends in a backslash continues onto the blank line after it, and is a syntax error without one (a
        state of a file whose strings end lines with ``\\`` passed with them and was emitted without).
        """
        linted = trim_state(self.lines, kept) or kept
        key = tuple(linted)
        if key not in self._known:
            self.lint_calls += 1
            errors = self.linter.lint("\n".join(self.lines[index] for index in linted))
            mapped = []
            for error in errors:
                # A line number outside the text (0 for whole-module messages) is pinned to the nearest line.
                position = min(max(error.line, 1), len(linted)) - 1
                mapped.append((error.code, lasting_text(error.code, error.message), linted[position]))
            self._known[key] = mapped
        return [error for error in self._known[key] if error not in self.initial_errors]

    def __call__(self, line: int, deleted: frozenset[int]) -> tuple[list[int], int]:
        """Delete ``line``, its children and everything the linter then flags; return (lines, errors seen)."""
        edit: set[int] = set()
        frontier = [line]
        errors_seen = 0
        while frontier:
            for flagged in list(frontier):
                frontier.extend(children(flagged, self.indents))
            edit.update(frontier)
            kept = [index for index in range(len(self.lines)) if index not in edit and index not in deleted]
            if not kept:
                break
            errors = self._errors(kept)
            errors_seen += len(errors)
            frontier = sorted({index for *_, index in errors})
        return sorted(edit), errors_seen


def _draw(rng: np.random.Generator, remaining: list[int], weights: dict[int, float], count: int) -> list[int]:
    probabilities = np.array([weights[line] for line in remaining], dtype=float)
    probabilities /= probabilities.sum()
    count = min(count, len(remaining))
    chosen = rng.choice(len(remaining), size=count, replace=False, p=probabilities)
    return [remaining[int(index)] for index in np.atleast_1d(chosen)]


def sample_edit_paths(
    program: str,
    linter: Linter | None = None,
    *,
    seed: int | Sequence[int] | np.random.Generator = 0,
    config: LintSeqConfig | None = None,
    sampler: str = "lintseq",
) -> list[EditPath]:
    """Run backward sampling and return the population of edit paths, most complete first.

    Args:
        program: the program text.
        linter: the linter that guides deletions (required for ``sampler="lintseq"``).
        seed: an int, a sequence of ints (mixed with ``numpy.random.SeedSequence``) or a generator.
        config: sampling settings; the paper's defaults when ``None``.
        sampler: ``"lintseq"``, or ``"random"`` for the ablation that deletes the drawn line alone
            without linting (intermediate programs may be invalid).

    Raises:
        NoCodeError: when the program has no candidate line.
    """
    config = config or LintSeqConfig()
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
    if sampler == "lintseq" and linter is None:
        raise ValueError("the lintseq sampler needs a linter, e.g. hub_tools.linters.PylintLinter()")
    program = normalize_program(program)
    lines = program.split("\n")
    candidates = candidate_lines(lines, config.candidate_options)
    if not candidates:
        raise NoCodeError("the program has no code line to sample (it is empty or only comments)")
    weights = sampling_weights(candidates, indentations(lines), config.indent_bias)
    rng = _generator(seed)
    induced = _InducedDeletion(lines, linter, config.ignore_init_errors) if sampler == "lintseq" else None

    population: list[_Branch] = []
    branches = [_Branch(deletions=[], remaining=candidates, deleted=frozenset())]
    depth = 0
    while branches and len(population) < config.max_population_size and depth < config.max_depth:
        grown: list[_Branch] = []
        for branch in branches:
            drawn = _draw(rng, branch.remaining, weights, config.children_per_round)
            if induced is None:
                children_edits = [([line], 0) for line in drawn]
            else:
                children_edits = [induced(line, branch.deleted) for line in drawn]
            # Largest induced deletions first, as the paper's search keeps them.
            children_edits.sort(key=lambda edit: edit[1], reverse=True)
            for edit, _ in children_edits[: config.top_k]:
                removed = set(edit)
                grown.append(_Branch(
                    deletions=[*branch.deletions, edit],
                    remaining=[line for line in branch.remaining if line not in removed],
                    deleted=branch.deleted | removed,
                ))
        population += [branch for branch in grown if not branch.remaining]
        branches = [branch for branch in grown if branch.remaining]
        if len(branches) >= config.max_population_size:
            order = rng.permutation(len(branches))
            branches = [branches[int(index)] for index in order][: max(1, config.max_population_size // config.top_k)]
        depth += 1
    # Unfinished branches fill the population, most complete first; their leftover lines arrive with the
    # first forward edit.
    population += sorted(branches, key=lambda branch: len(branch.remaining))
    population = sorted(population, key=lambda branch: len(branch.remaining))[: config.max_population_size]
    lint_calls = induced.lint_calls if induced else 0
    return [
        EditPath(program=program, deletions=branch.deletions,
                 diffs=deletions_to_diffs(program, branch.deletions), lint_calls=lint_calls)
        for branch in population
    ]


def sample_edit_path(
    program: str,
    linter: Linter | None = None,
    *,
    seed: int | Sequence[int] | np.random.Generator = 0,
    config: LintSeqConfig | None = None,
    sampler: str = "lintseq",
) -> EditPath:
    """Sample one edit path that writes ``program`` from an empty file.

    See :func:`sample_edit_paths` for the arguments.

    Example:

    >>> path = sample_edit_path("def add(a, b):\\n    return a + b\\n\\nprint(add(1, 2))", sampler="random", seed=0)
    >>> from hub_tools.lintseq.diffs import apply_diffs
    >>> apply_diffs(path.diffs) == path.program
    True
    """
    return sample_edit_paths(program, linter, seed=seed, config=config, sampler=sampler)[0]
