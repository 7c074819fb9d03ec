"""``lintseq verify``: replay every edit path of a generated dataset and check what the folder promises.

For every row of a sampler config (``lintseq`` or ``random``):

- replaying ``edit_path`` from the empty program with the strict :func:`~hub_tools.lintseq.apply_diff` gives
  ``program`` exactly, and every diff only inserts lines;
- ``num_edits == len(edit_path)``, ``completion == format_completion(edit_path)``,
  ``prompt == format_prompt(instruction)``, ``sampler`` and ``seed`` are the ones the run recorded;
- ``program`` is the code of ``response`` (markdown extraction and normalisation) and ``id`` is its hash;
- for the ``lintseq`` sampler, every intermediate program (after edits 1 to n-1) passes the lint profile
  recorded in ``lintseq_config.json``. The ``random`` sampler promises reconstruction only: its
  intermediate programs may be invalid, by design.

Baseline rows promise ``completion == program`` and the baseline prompt. Across rows and configs: exact
repeats of a source row are the number the folder records, every config was made from the same source
rows as the baseline, and the folder was made under the current data rules (pylint pragmas ignored, a
lint time-out never clean, every markdown fence extracted), else it says what the older rules missed.

The check is independent of how the folder was made: it trusts no recorded verdict, lints every state again
with pragmas ignored, and counts a lint call that runs out of time as a failure, never as clean. Rows are
streamed batch by batch from the Parquet files, so memory stays flat; batches can be checked on several
processes.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools.datagen.folder import BASELINE_COLUMNS, SAMPLER_COLUMNS, DatasetFolder
from hub_tools.datagen.lifetime import die_with_parent

# Failure kinds, in report order, with what each means.
FAILURE_KINDS = {
    "null": "a field is null",
    "duplicate": "the same source row (and path index) appears twice",
    "id": "id is not the 16-hex-character hash of instruction and response",
    "program": "program is not the code of response (markdown extraction and normalisation)",
    "prompt": "prompt is not format_prompt(instruction)",
    "sampler_label": "the row's sampler is not the one lintseq_config.json records",
    "seed": "the row's seed is not the run's seed",
    "num_edits": "num_edits is not len(edit_path)",
    "completion": "completion does not match (format_completion(edit_path), or program for the baseline)",
    "empty_path": "edit_path is empty",
    "not_insertion_only": "a diff removes or changes lines",
    "malformed_diff": "a diff cannot be applied to the program built so far",
    "reconstruction": "replaying edit_path does not give program",
    "lint": "an intermediate program has errors under the recorded lint profile",
    "lint_unchecked": "the linter failed or timed out on an intermediate program: it is not shown clean "
                      "(--lint-timeout gives each call more time)",
    "duplicate_source": "programs repeat an earlier source row exactly (same id) and lintseq_config.json "
                        "does not record as many",
    "row_count": "lintseq_config.json's row count is not the number of rows on disk",
    "mixed_runs": "the config and the baseline were made from different source rows: a later run replaced "
                  "part of the folder",
    "outdated_rules": "made under older data rules; regenerate with `lintseq generate ... --overwrite`",
}
EXAMPLES_PER_KIND = 3


@dataclass(frozen=True)
class VerifyConfig:
    """What to check and how.

    Args:
        config: check only this config (``None``: every config in the folder).
        workers: processes that check batches (1 checks in this process).
        limit: check only the first ``limit`` rows of each config.
        batch_size: rows per batch sent to a worker.
        progress: show a progress bar.
        lint_timeout: seconds one lint call may take (``None``: the limit the run recorded).
    """

    config: str | None = None
    workers: int = 1
    limit: int | None = None
    batch_size: int = 32
    progress: bool = True
    lint_timeout: float | None = None


@dataclass
class Failure:
    """One failed check: its kind (a key of ``FAILURE_KINDS``), the row, and what was found."""

    kind: str
    location: str
    detail: str


@dataclass
class ConfigReport:
    """The outcome for one config: rows checked, failures counted by kind, the first few of each kind."""

    name: str
    sampler: str | None
    total_rows: int
    rows_checked: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Failure]] = field(default_factory=dict)
    lint_profile: str | None = None

    def add(self, failure: Failure) -> None:
        self.counts[failure.kind] = self.counts.get(failure.kind, 0) + 1
        shown = self.examples.setdefault(failure.kind, [])
        if len(shown) < EXAMPLES_PER_KIND:
            shown.append(failure)

    @property
    def failures(self) -> int:
        return sum(self.counts.values())


@dataclass
class VerificationReport:
    """Everything :func:`verify_dataset` found; ``ok`` is true when every check passed."""

    folder: Path
    configs: list[ConfigReport]

    @property
    def ok(self) -> bool:
        return all(config.failures == 0 for config in self.configs)

    def format(self) -> str:
        """A readable report: one line per config, then failures by kind with the first rows found."""
        lines = []
        for config in self.configs:
            what = ("baseline: completion == program" if config.sampler is None else
                    f"sampler {config.sampler}: exact replay"
                    + (f", lint-clean intermediate programs (profile {config.lint_profile})"
                       if config.sampler == "lintseq" else ", no lint check (the random sampler has none)"))
            checked = f"{config.rows_checked} of {config.total_rows} rows" if config.rows_checked < config.total_rows \
                else f"{config.rows_checked} rows"
            status = "ok" if config.failures == 0 else f"{config.failures} failures"
            lines.append(f"{config.name}: {checked} checked ({what}): {status}")
            for kind in sorted(config.counts, key=list(FAILURE_KINDS).index):
                lines.append(f"  {kind}: {config.counts[kind]} ({FAILURE_KINDS[kind]})")
                lines += [f"    {failure.location}: {failure.detail}" for failure in config.examples[kind]]
        lines.append("all checks passed" if self.ok else "verification FAILED")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Batch:
    """Rows of one config sent to a worker, with what the run recorded about that config."""

    sampler: str | None
    lint_profile: str
    ignore_init_errors: bool
    lint_timeout: float | None
    seed: int | None
    rows: list[dict]


def verify_dataset(folder: str | Path, config: VerifyConfig | None = None) -> VerificationReport:
    """Check every row of a folder written by ``lintseq generate``.

    Args:
        folder: the dataset folder.
        config: what to check; every row of every config, in this process, by default.

    Returns:
        A :class:`VerificationReport` (``report.ok``, ``report.format()``).

    Raises:
        UserError: the folder is not a generated dataset, or the named config does not exist.

    Example:

    >>> report = verify_dataset("lintseq-humaneval", VerifyConfig(workers=2))  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
    """
    from tqdm.auto import tqdm

    config = config or VerifyConfig()
    dataset = DatasetFolder.open(folder, require_settings=True)
    names = dataset.check_config(config.config)
    reports = []
    executor = None
    if config.workers > 1:
        # spawn, not fork: the parent holds pyarrow's thread pools, which a forked child must not inherit.
        executor = ProcessPoolExecutor(config.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        for name in names:
            settings = dataset.config_settings(name)
            report = ConfigReport(name=name, sampler=dataset.sampler(name), total_rows=dataset.num_rows(name),
                                  lint_profile=settings.get("profile") or "portable")
            wanted = report.total_rows if config.limit is None else min(config.limit, report.total_rows)
            with tqdm(total=wanted, unit="row", desc=f"verify {name}", disable=not config.progress) as bar:
                _verify_config(dataset, name, settings, report, wanted, config, executor, bar)
            stats = settings.get("stats") if isinstance(settings.get("stats"), dict) else {}
            if config.limit is None and isinstance(stats.get("rows"), int) and stats["rows"] != report.total_rows:
                report.add(Failure("row_count", f"lintseq_config.json configs.{name}.stats.rows",
                                   f"records {stats['rows']} rows, data/{name}/ holds {report.total_rows}"))
            _check_provenance(dataset, name, settings, report)
            reports.append(report)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    return VerificationReport(folder=Path(folder), configs=reports)


def _verify_config(dataset, name, settings, report, wanted, config, executor, bar) -> None:
    lintseq_settings = settings.get("lintseq") if isinstance(settings.get("lintseq"), dict) else {}
    seed = settings.get("seed")
    template = _Batch(
        sampler=report.sampler, lint_profile=report.lint_profile,
        ignore_init_errors=bool(lintseq_settings.get("ignore_init_errors", False)),
        lint_timeout=config.lint_timeout or settings.get("lint_timeout", 10.0),
        seed=seed if isinstance(seed, int) else None, rows=[],
    )
    seen: set = set()
    first_row_of: dict[str, int] = {}  # id -> the first row_index that had it
    repeats: dict[int, int] = {}  # row_index -> the earlier row_index with the same id
    pending: collections.deque[tuple[list[str], Future | list]] = collections.deque()

    def collect(locations: list[str], outcome) -> None:
        problems = outcome.result() if isinstance(outcome, Future) else outcome
        for offset, kind, detail in problems:
            report.add(Failure(kind, locations[offset], detail))
        report.rows_checked += len(locations)
        bar.update(len(locations))

    remaining = wanted
    for first_location, rows in dataset.iter_rows(name, batch_size=config.batch_size):
        if remaining <= 0:
            break
        rows = rows[:remaining]
        remaining -= len(rows)
        shard, _, start = first_location.rpartition(" row ")
        locations = [_location(shard, int(start) + offset, row) for offset, row in enumerate(rows)]
        # Duplicates need every row seen so far: checked here, in one process.
        for offset, row in enumerate(rows):
            key = (row.get("row_index"), row.get("path_index"))
            if key in seen:
                report.add(Failure("duplicate", locations[offset],
                                   f"source row {key[0]}" + (f", path {key[1]}" if key[1] is not None else "")
                                   + " was already seen"))
            seen.add(key)
            first = first_row_of.setdefault(row.get("id"), row.get("row_index"))
            if first != row.get("row_index"):
                repeats.setdefault(row.get("row_index"), first)
        batch = _Batch(**{**template.__dict__, "rows": rows})
        if executor is None:
            collect(locations, check_batch(batch))
            continue
        pending.append((locations, executor.submit(check_batch, batch)))
        # A bounded queue keeps memory flat: never more than two batches per worker in flight.
        while len(pending) >= 2 * config.workers:
            collect(*pending.popleft())
    while pending:
        collect(*pending.popleft())
    stats = settings.get("stats") if isinstance(settings.get("stats"), dict) else {}
    recorded = stats.get("duplicates") or 0
    if repeats and len(repeats) != recorded and config.limit is None:
        row_index, earlier = next(iter(repeats.items()))
        report.add(Failure("duplicate_source", f"lintseq_config.json configs.{name}.stats",
                           f"{len(repeats)} programs repeat an earlier source row (first: source row {row_index} "
                           f"is source row {earlier} again); the folder records {recorded}"))


def _check_provenance(dataset, name: str, settings: dict, report: ConfigReport) -> None:
    """Folder-level checks: the data rules the config was made under, and one run for it and the baseline."""
    from hub_tools.datagen.manifest import (
        BASELINE_SETTINGS,
        DATA_RULES,
        DATA_RULES_CHANGES,
        recorded_fingerprint,
    )

    where = f"lintseq_config.json configs.{name}"
    rules = settings.get("data_rules", 1)
    if isinstance(rules, int) and rules < DATA_RULES:
        stats = settings.get("stats") if isinstance(settings.get("stats"), dict) else {}
        skipped = (stats.get("skipped") or {}).get("syntax_error", 0) if isinstance(stats.get("skipped"), dict) else 0
        missed = "; ".join(DATA_RULES_CHANGES[version] for version in range(rules + 1, DATA_RULES + 1))
        report.add(Failure("outdated_rules", where, f"data rules {rules} (now {DATA_RULES}): {missed}; "
                           f"{skipped} source rows were skipped as syntax errors"))
    baseline = dataset.config_settings("baseline") if "baseline" in dataset.configs else {}
    if report.sampler is not None and baseline and settings:
        mine, theirs = recorded_fingerprint(settings), recorded_fingerprint(baseline)
        for key in BASELINE_SETTINGS:
            if mine[key] != theirs[key]:
                report.add(Failure("mixed_runs", where, f"{key} is {mine[key]!r} here, {theirs[key]!r} for the baseline"))


def _location(shard: str, index: int, row: dict) -> str:
    label = f"{shard} row {index}"
    if row.get("id") is not None:
        label += f" (id {row['id']}" + (f", path {row['path_index']}" if row.get("path_index") is not None else "") + ")"
    return label


# Checks (run in worker processes) ---------------------------------------------------------------------

_LINTERS: dict[tuple[str, float | None], object] = {}  # one kept-alive linter per profile and process


def _linter(profile: str, timeout: float | None):
    if (profile, timeout) not in _LINTERS:
        from hub_tools.linters import PylintLinter

        _LINTERS[profile, timeout] = PylintLinter(profile, timeout=timeout)
    return _LINTERS[profile, timeout]


def check_batch(batch: _Batch) -> list[tuple[int, str, str]]:
    """Check the rows of one batch; return ``(row offset in the batch, failure kind, detail)`` triples."""
    problems = []
    for offset, row in enumerate(batch.rows):
        found = check_baseline_row(row) if batch.sampler is None else check_edit_row(row, batch)
        problems += [(offset, kind, detail) for kind, detail in found]
    return problems


def _check_source_fields(row: dict, edit_sequence: bool) -> list[tuple[str, str]]:
    from hub_tools.datagen.rows import row_id
    from hub_tools.lintseq import extract_program, format_prompt, normalize_program

    problems = []
    expected_id = row_id(row["instruction"], row["response"])
    if row["id"] != expected_id:
        problems.append(("id", f"id {row['id']!r}, the hash of instruction and response is {expected_id!r}"))
    if row["program"] != normalize_program(extract_program(row["response"])):
        problems.append(("program", "program differs from the code in response"))
    if row["prompt"] != format_prompt(row["instruction"], edit_sequence=edit_sequence):
        problems.append(("prompt", f"prompt ends with {row['prompt'][-20:]!r}"))
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


def check_edit_row(row: dict, batch: _Batch) -> list[tuple[str, str]]:
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


def _check_states(program: str, states: list[tuple[str, list[int]]], batch: _Batch) -> list[tuple[str, str]]:
    from hub_tools.linters import LinterCrash, LintTimeout

    linter = _linter(batch.lint_profile, batch.lint_timeout)
    # A program line's identity is its position in the final state, which is the program itself.
    position = {identity: index for index, identity in enumerate(states[-1][1])}
    tolerated: set[tuple[str, int]] = set()
    try:
        if batch.ignore_init_errors:
            # The run did not count errors the whole program already has (same message, same line).
            line_count = program.count("\n") + 1
            tolerated = {(error.code, min(max(error.line, 1), line_count) - 1) for error in linter.lint(program)}
        for number, (text, identities) in enumerate(states[:-1], start=1):
            for error in linter.lint(text):
                # A message outside the text (line 0: whole-module messages) belongs to the nearest line.
                line = min(max(error.line, 1), len(identities)) - 1
                if (error.code, position[identities[line]]) not in tolerated:
                    return [("lint", f"after edit {number} of {len(states)}: line {error.line}: "
                             f"{error.code} {error.message}")]
    except (LintTimeout, LinterCrash) as error:
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
