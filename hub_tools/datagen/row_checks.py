"""The checks ``lintseq verify`` makes on each row, run in worker processes (see :mod:`hub_tools.datagen.verify`).

Every check recomputes what the row claims from the row alone (the diffs, the response, the recorded
settings) with the current rules: nothing recorded is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub_tools.datagen.folder import BASELINE_COLUMNS, SAMPLER_COLUMNS


@dataclass(frozen=True)
class RowBatch:
    """Rows of one config sent to a worker, with what the run recorded about that config."""

    sampler: str | None
    lint_profile: str
    ignore_init_errors: bool
    lint_timeout: float | None
    seed: int | None
    rows: list[dict]


_LINTERS: dict[tuple[str, float | None], object] = {}  # one kept-alive linter per profile and process


def _linter(profile: str, timeout: float | None):
    if (profile, timeout) not in _LINTERS:
        from hub_tools.linters import PylintLinter

        _LINTERS[profile, timeout] = PylintLinter(profile, timeout=timeout)
    return _LINTERS[profile, timeout]


def check_batch(batch: RowBatch) -> list[tuple[int, str, str]]:
    """Check the rows of one batch; return ``(row offset in the batch, failure kind, detail)`` triples."""
    problems = []
    for offset, row in enumerate(batch.rows):
        found = check_baseline_row(row) if batch.sampler is None else check_edit_row(row, batch)
        problems += [(offset, kind, detail) for kind, detail in found]
    return problems


def _check_source_fields(row: dict, edit_sequence: bool) -> list[tuple[str, str]]:
    from hub_tools.datagen.rows import row_id
    from hub_tools.linters.syntax_errors import compile_failure
    from hub_tools.lintseq import DIFF_TOKEN, extract_program, format_prompt, normalize_program

    problems = []
    expected_id = row_id(row["instruction"], row["response"])
    if row["id"] != expected_id:
        problems.append(("id", f"id {row['id']!r}, the hash of instruction and response is {expected_id!r}"))
    if row["program"] != normalize_program(extract_program(row["response"])):
        problems.append(("program", "program differs from the code in response"))
    failure = compile_failure(row["program"])
    if failure is not None:
        problems.append(("not_python", failure))
    if row["prompt"] != format_prompt(row["instruction"], edit_sequence=edit_sequence):
        problems.append(("prompt", f"prompt ends with {row['prompt'][-20:]!r}"))
    held = [name for name in ("instruction", "response") if DIFF_TOKEN in row[name]]
    if held:
        problems.append(("diff_token", f"{' and '.join(held)} holds {DIFF_TOKEN}"))
    return problems


def check_baseline_row(row: dict) -> list[tuple[str, str]]:
    """Check one baseline row: its source fields, its prompt, and ``completion == program``."""
    nulls = [name for name in BASELINE_COLUMNS if row.get(name) is None]
    if nulls:
        return [("null", f"{', '.join(nulls)} is null")]
    problems = _check_source_fields(row, edit_sequence=False)
    if row["completion"] != row["program"]:
        problems.append(("completion", f"completion differs from program at character {_first_difference(row['completion'], row['program'])}"))
    return problems


def check_edit_row(row: dict, batch: RowBatch) -> list[tuple[str, str]]:
    """Check one edit-sequence row (see the module docstring for what is checked)."""
    from hub_tools.lintseq import DiffError, apply_diff, format_completion

    nulls = [name for name in SAMPLER_COLUMNS if row.get(name) is None]
    if nulls or any(diff is None for diff in row["edit_path"]):
        return [("null", f"{', '.join(nulls) or 'an edit of edit_path'} is null")]
    problems = _check_source_fields(row, edit_sequence=True)
    edit_path = row["edit_path"]
    if row["sampler"] != batch.sampler:
        problems.append(("sampler_label", f"row says {row['sampler']!r}, the config was made with {batch.sampler!r}"))
    if batch.seed is not None and row["seed"] != batch.seed:
        problems.append(("seed", f"row seed {row['seed']}, run seed {batch.seed}"))
    if row["num_edits"] != len(edit_path):
        problems.append(("num_edits", f"num_edits {row['num_edits']}, edit_path has {len(edit_path)} edits"))
    expected = format_completion(edit_path)
    if row["completion"] != expected:
        problems.append(("completion", "completion differs from format_completion(edit_path) at character "
                         f"{_first_difference(row['completion'], expected)}"))
    if not edit_path:
        return [*problems, ("empty_path", "edit_path has no edit")]

    lines: list[str] = []
    identities: list[int] = []  # which inserted line each line of the state is: maps states to the program
    states: list[tuple[str, list[int]]] = []
    for number, diff in enumerate(edit_path, start=1):
        removal = _removal(diff)
        if removal:
            return [*problems, ("not_insertion_only", f"edit {number}: {removal!r}")]
        try:
            lines = apply_diff(lines, diff)
        except DiffError as error:
            return [*problems, ("malformed_diff", f"edit {number} of {len(edit_path)}: {error}")]
        identities = insert_identities(identities, diff)
        states.append(("\n".join(lines), identities))
    if states[-1][0] != row["program"]:
        rebuilt = states[-1][0]
        line = rebuilt[:_first_difference(rebuilt, row["program"])].count("\n") + 1
        return [*problems, ("reconstruction", f"replaying {len(edit_path)} edits gives a program that differs "
                            f"from program at line {line}")]
    if batch.sampler == "lintseq" and len(states) > 1:
        problems += _check_states(row["program"], states, batch)
    return problems


def _check_states(program: str, states: list[tuple[str, list[int]]], batch: RowBatch) -> list[tuple[str, str]]:
    from hub_tools.linters import LinterCrash, LintMemoryLimit, LintTimeout
    from hub_tools.lintseq.sampling import lasting_text

    linter = _linter(batch.lint_profile, batch.lint_timeout)
    # A program line's identity is its position in the final state, which is the program itself.
    position = {identity: index for index, identity in enumerate(states[-1][1])}
    tolerated: set[tuple[str, str, int]] = set()
    try:
        if batch.ignore_init_errors:
            # The run did not count errors the whole program already has (same message id and text, same line).
            line_count = program.count("\n") + 1
            tolerated = {(error.code, lasting_text(error.code, error.message),
                          min(max(error.line, 1), line_count) - 1) for error in linter.lint(program)}
        for number, (text, identities) in enumerate(states[:-1], start=1):
            for error in linter.lint(text):
                # A message outside the text (line 0: whole-module messages) belongs to the nearest line.
                line = min(max(error.line, 1), len(identities)) - 1
                found = (error.code, lasting_text(error.code, error.message), position[identities[line]])
                if found not in tolerated:
                    return [("lint", f"after edit {number} of {len(states)}: line {error.line}: "
                             f"{error.code} {error.message}")]
    except (LintTimeout, LintMemoryLimit, LinterCrash) as error:
        return [("lint_unchecked", str(error)[:200])]
    return []


def _removal(diff: str) -> str | None:
    """The first line of a diff that removes or changes lines, if any."""
    from hub_tools.lintseq.diffs import HUNK_HEADER

    for line in diff.split("\n"):
        match = HUNK_HEADER.match(line)
        if (match and match.group(2) != "0") or line.startswith("-"):
            return line
    return None


def insert_identities(identities: list[int], diff: str) -> list[int]:
    """Apply ``diff``'s insertions to a list of line identities (the diff is known to apply).

    Each inserted line gets a new identity, so a line can be followed from the state where it appears to
    the finished program. New identities are never smaller than ``len(identities)``.

    >>> insert_identities([0, 1], "@@ -1,0 +2 @@\\n+    y = x + 1")
    [0, 2, 1]
    """
    from hub_tools.lintseq.diffs import HUNK_HEADER

    result = list(identities)
    hunks: list[list[int]] = []  # [new-side start, lines added]
    for line in diff.split("\n"):
        match = HUNK_HEADER.match(line)
        if match:
            hunks.append([int(match.group(3)), 0])
        else:
            hunks[-1][1] += 1
    for start, added in hunks:
        # Lines are only ever inserted, so the current length counts every identity handed out so far.
        new = [len(result) + offset for offset in range(added)]
        result[start - 1:start - 1] = new
    return result


def _first_difference(first: str, second: str) -> int:
    for index, (left, right) in enumerate(zip(first, second, strict=False)):
        if left != right:
            return index
    return min(len(first), len(second))
