"""``lintseq verify``: replay every edit path of a generated dataset and check what the folder promises.

For every row of a sampler config (``lintseq`` or ``random``):

- replaying ``edit_path`` from the empty program with the strict :func:`~hub_tools.lintseq.apply_diff` gives
  ``program`` exactly, every diff only inserts lines, and its hunk headers agree with their lines;
- ``num_edits == len(edit_path)``, ``completion == format_completion(edit_path)``,
  ``prompt == format_prompt(instruction)``, ``sampler`` and ``seed`` are the ones the run recorded;
- ``program`` is the code of ``response`` (markdown extraction and normalisation), Python compiles it, and
  ``id`` is its hash;
- for the ``lintseq`` sampler, every intermediate program (after edits 1 to n-1) passes the lint profile
  recorded in ``lintseq_config.json``. The ``random`` sampler promises reconstruction only: its
  intermediate programs may be invalid, by design.

Baseline rows promise ``completion == program``, a program Python compiles, and the baseline prompt.
Across rows and configs: the programs that repeat an earlier source row's (normalised, see
:mod:`hub_tools.datagen.deduplication`) are the number the folder records (none after ``--dedup exact``),
each program has the recorded ``num_paths`` paths, every config was made from the same source rows as the
baseline (settings, and each row index's id: :mod:`hub_tools.datagen.verify_folder`), every config
``lintseq_config.json`` lists is there with its shards named as generate names them, the benchmark overlap it
records is the one its rows hold (each source row compared with the recorded benchmarks again: none after
``--decontaminate``, else the rows listed and counted; ``ContaminationCheck``), and the folder was made
under the current data rules (pylint pragmas ignored, a lint time-out never clean, every markdown fence
extracted), else it says what the older rules missed: a failure when rows made under them may not pass
today's checks, a note when they do (relative imports, counted by the portable profile before data rules 3).
The card (``README.md``) still states what the folder gives: its tables and its contamination section, as
they render from the folder now (:mod:`hub_tools.datagen.verify_card`).

The check is independent of how the folder was made: it trusts no recorded verdict, lints every state again
with pragmas ignored, and counts a lint call that runs out of time as a failure, never as clean. Rows are
streamed batch by batch from the Parquet files and batches can be checked on several processes; what stays
in memory is 32 bytes a row for the checks across rows (:mod:`hub_tools.datagen.verify_across_rows`), and 24
bytes a program of the baseline while a sampler config's source rows are compared with it.
"""

from __future__ import annotations

import collections
import functools
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools.datagen.folder import BASELINE, DatasetFolder
from hub_tools.datagen.lifetime import die_with_parent
from hub_tools.datagen.row_checks import RowBatch, check_batch
from hub_tools.datagen.verify_across_rows import RowsSeen, row_location
from hub_tools.datagen.verify_card import card_problems
from hub_tools.datagen.verify_folder import (
    ContaminationCheck,
    missing_config,
    missing_configs,
    read_baseline_rows,
    settings_problems,
    shard_problems,
    source_row_problems,
)
from hub_tools.datagen.writer import WORK_FOLDER

# Failure kinds, in report order, with what each means.
FAILURE_KINDS = {
    "null": "a field is null",
    "duplicate": "the same source row (and path index) appears twice",
    "id": "id is not the 16-hex-character hash of instruction and response",
    "program": "program is not the code of response (markdown extraction and normalisation)",
    "not_python": "Python does not compile program (generate skips such source rows as syntax_error)",
    "prompt": "prompt is not format_prompt(instruction)",
    "diff_token": "the instruction or response holds <|diff|>, the token that separates edits: the completion is "
                  "not read back into its own edits (generate skips such source rows as holds_diff_token)",
    "sampler_label": "the row's sampler is not the one lintseq_config.json records",
    "seed": "the row's seed is not the run's seed",
    "num_edits": "num_edits is not len(edit_path)",
    "completion": "completion does not match (format_completion(edit_path), or program for the baseline)",
    "empty_path": "edit_path is empty",
    "not_insertion_only": "a diff removes or changes lines",
    "malformed_diff": "a diff cannot be applied to the program built so far",
    "reconstruction": "replaying edit_path does not give program",
    "lint": "an intermediate program has errors under the recorded lint profile",
    "lint_unchecked": "the linter failed, timed out or ran out of memory on an intermediate program: it is not "
                      "shown clean (--lint-timeout gives each call more time)",
    "duplicate_source": "programs repeat an earlier source row's program (normalised) and lintseq_config.json "
                        "does not record as many",
    "num_paths": "a program does not have the num_paths edit paths lintseq_config.json records (path_index 0 "
                 "to num_paths - 1, each once)",
    "row_count": "lintseq_config.json's row count is not the number of rows on disk",
    "missing_config": "lintseq_config.json lists the config, but its folder under data/ holds no Parquet shard",
    "shards": "a shard is not named train-<i>-of-<n>.parquet for the n shards of its config (renamed, added or "
              "lost)",
    "mixed_runs": "the config and the baseline were made from different source rows (other settings, another "
                  "commit, or rows of another id or row index): a later run replaced part of the folder",
    "contamination": "what lintseq_config.json says about benchmark overlap is not what the rows hold (rows "
                     "compared with the recorded benchmarks again)",
    "outdated_rules": "made under older data rules; regenerate with `lintseq generate ... --overwrite`",
    "card": "the card (README.md) does not state what the folder's statistics give: a table row or a line of "
            "its benchmark contamination section was changed or removed, or the card or its pictures are missing",
    "unfinished": "a run into the folder left its work folder: it was stopped before its merge ended, or still runs",
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
    """The outcome for one config: rows checked, failures counted by kind, the first few of each kind, and
    notes that fail nothing (a change of the data rules that older rows still pass)."""

    name: str
    sampler: str | None
    total_rows: int
    rows_checked: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Failure]] = field(default_factory=dict)
    lint_profile: str | None = None
    notes: list[str] = field(default_factory=list)

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
            lines += [f"  note: {note}" for note in config.notes]
            for kind in sorted(config.counts, key=list(FAILURE_KINDS).index):
                lines.append(f"  {kind}: {config.counts[kind]} ({FAILURE_KINDS[kind]})")
                lines += [f"    {failure.location}: {failure.detail}" for failure in config.examples[kind]]
        lines.append("all checks passed" if self.ok else "verification FAILED")
        return "\n".join(lines)


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
    from hub_tools.progress import progress_bar

    config = config or VerifyConfig()
    dataset = DatasetFolder.open(folder, require_settings=True)
    names = dataset.check_config(config.config)
    missing = missing_configs(dataset)
    # Read once for every sampler config, and only if one needs it: its row_index and id columns alone.
    baseline_rows = functools.cache(lambda: read_baseline_rows(dataset))
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
            with progress_bar(wanted, f"verify {name}", "row", enabled=config.progress) as bar:
                seen = _verify_config(dataset, name, settings, report, wanted, config, executor, bar)
            stats = settings.get("stats") if isinstance(settings.get("stats"), dict) else {}
            if config.limit is None and isinstance(stats.get("rows"), int) and stats["rows"] != report.total_rows:
                report.add(Failure("row_count", f"lintseq_config.json configs.{name}.stats.rows",
                                   f"records {stats['rows']} rows, data/{name}/ holds {report.total_rows}"))
            problems = shard_problems(dataset, name)
            if BASELINE in missing and config.config is not None:  # else the baseline has its own report
                problems.append(missing_config(dataset, BASELINE))
            # Settings that already tell the config and the baseline apart explain why their rows differ.
            problems += settings_problems(dataset, name, settings) or source_row_problems(
                dataset, name, seen, report.rows_checked == report.total_rows, baseline_rows)
            for problem in problems:
                report.add(Failure(*problem))
            _check_rules(name, settings, report)
            reports.append(report)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    for name in missing if config.config is None else ():
        report = ConfigReport(name=name, sampler=dataset.sampler(name), total_rows=0)
        report.add(Failure(*missing_config(dataset, name)))
        reports.append(report)
    _check_card(dataset, reports)
    return VerificationReport(folder=Path(folder), configs=reports)


def _check_card(dataset: DatasetFolder, reports: list[ConfigReport]) -> None:
    """The card's statements (:mod:`~hub_tools.datagen.verify_card`), on the report of the default config, or
    of the first config checked. A card written by another version of hub_tools, whose template may word its
    statements otherwise, gets a note rather than a failure, except for its contamination section: the
    recorded version is a field of the folder, and setting it to another hid a rewritten statement."""
    from hub_tools import __version__

    problems = card_problems(dataset) if reports else []
    report = next((report for report in reports if report.name == dataset.default_config), reports[0] if reports else None)
    if report is not None and not (dataset.path / "README.md").is_file():
        # A kill during the merge can leave the shards and the settings without the card, whose header is what
        # tells `load_dataset(folder)` the configs apart: it then fails, or finds no "baseline".
        report.notes.append("README.md is missing: `load_dataset` cannot tell the configs apart; run the same "
                            "`lintseq generate` command again, or `lintseq push`, which write it")
    if report is not None and (dataset.path / WORK_FOLDER).is_dir():
        # Left by a run killed before its merge ended (or still going): the folder may not hold that run whole.
        report.add(Failure("unfinished", f"{WORK_FOLDER}/", "a run into this folder did not finish (or still runs): "
                           "run the same `lintseq generate` command again to finish it"))
    version = dataset.settings.get("hub_tools_version")
    for problem, about_contamination in problems:
        if version in (None, __version__) or about_contamination:
            report.add(Failure(*problem))
        else:
            report.notes.append(f"{problem[1]}: written by hub_tools {version}, whose card may word its statements "
                                f"otherwise: {problem[2]}")


def _verify_config(dataset, name, settings, report, wanted, config, executor, bar) -> RowsSeen:
    """Check the first ``wanted`` rows of config ``name``, then the checks across them; return what they left."""
    lintseq_settings = settings.get("lintseq") if isinstance(settings.get("lintseq"), dict) else {}
    seed = settings.get("seed")
    template = RowBatch(
        sampler=report.sampler, lint_profile=report.lint_profile,
        ignore_init_errors=bool(lintseq_settings.get("ignore_init_errors", False)),
        lint_timeout=config.lint_timeout or settings.get("lint_timeout", 10.0),
        seed=seed if isinstance(seed, int) else None, rows=[],
    )
    seen = RowsSeen()  # for the checks across rows, done once every row is read
    contamination = ContaminationCheck(name, settings)  # the recorded benchmark overlap, against the rows
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
        locations = [row_location(shard, int(start) + offset, row.get("id"), row.get("path_index"))
                     for offset, row in enumerate(rows)]
        seen.add_batch(shard, int(start), rows)
        contamination.add(rows)
        batch = RowBatch(**{**template.__dict__, "rows": rows})
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
    # The repeats still in the folder: those recorded, less those --dedup / --drop-duplicates removed.
    dedup = stats.get("dedup") if isinstance(stats.get("dedup"), dict) else {}
    removed = dedup.get("removed") if isinstance(dedup.get("removed"), int) else 0
    recorded = (stats.get("duplicates") or 0) - removed
    for position in seen.duplicates():
        row_index, path_index = seen.key(position)
        report.add(Failure("duplicate", seen.location(position), f"source row {row_index}"
                           + (f", path {path_index}" if path_index is not None else "") + " was already seen"))
    repeated = seen.repeated_source()
    if repeated and repeated.count != recorded and config.limit is None:
        report.add(Failure("duplicate_source", f"lintseq_config.json configs.{name}.stats",
                           f"{repeated.count} programs repeat an earlier source row (first: source row "
                           f"{repeated.row_index} is source row {repeated.earlier} again); the folder records {recorded}"))
    for problem in contamination.problems(complete=wanted == report.total_rows):
        report.add(Failure(*problem))
    report.notes += [contamination.note] if contamination.note else []
    num_paths = settings.get("num_paths")
    if report.sampler is not None and isinstance(num_paths, int) and not isinstance(num_paths, bool):
        for position, row, count, lowest, highest in seen.path_problems(num_paths, complete=wanted == report.total_rows):
            report.add(Failure("num_paths", seen.location(position), f"source row {row} has {count} edit paths "
                               f"(path_index {lowest} to {highest}); lintseq_config.json configs.{name}.num_paths "
                               f"records {num_paths}"))
    return seen


def _check_rules(name: str, settings: dict, report: ConfigReport) -> None:
    """The data rules the config was made under: a failure when its rows may not pass today's checks, else a note."""
    from hub_tools.datagen.manifest import DATA_RULES, DATA_RULES_CHANGES, FAILING_CHANGES

    where = f"lintseq_config.json configs.{name}"
    rules = settings.get("data_rules", 1)
    if isinstance(rules, int) and rules < DATA_RULES:
        missed_versions = range(max(rules, 1) + 1, DATA_RULES + 1)
        missed = "; ".join(DATA_RULES_CHANGES[version] for version in missed_versions)
        if FAILING_CHANGES.intersection(missed_versions):
            stats = settings.get("stats") if isinstance(settings.get("stats"), dict) else {}
            skipped = stats.get("skipped") if isinstance(stats.get("skipped"), dict) else {}
            report.add(Failure("outdated_rules", where, f"data rules {rules} (now {DATA_RULES}): {missed}; "
                               f"{skipped.get('syntax_error', 0)} source rows were skipped as syntax errors"))
        elif report.sampler == "lintseq" and settings.get("profile") == "portable":  # what the later changes are about
            report.notes.append(f"{where}: made under data rules {rules} (now {DATA_RULES}): {missed}. Its rows "
                                "pass today's checks; a new run would make them anew")
