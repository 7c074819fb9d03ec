"""The checks of ``lintseq verify`` on the folder as a whole, rather than on its rows one by one.

- Every config ``lintseq_config.json`` lists has its ``data/<config>/`` shards (``missing_config``), named
  ``train-<i>-of-<n>.parquet`` for the ``n`` shards there (``shards``: a shard renamed, added or lost).
- A sampler config and the baseline come from one run of the source: the settings that decide the source
  rows are the same, a Hub source was read at the same commit, and the rows themselves agree
  (``mixed_runs``). A source row is its row index and its id (the hash of its instruction and response): a
  row index of a config must have the baseline's id. The two may hold different row indices only as far
  as their runs skipped rows for reasons that depend on the sampler (a lint time-out skips a row under
  ``lintseq`` that ``random`` keeps): each side may hold no more rows the other lacks than the other's run
  skipped for such reasons.

Each check returns its problems as ``(kind, location, detail)``, the fields of :class:`~hub_tools.datagen.
verify.Failure`, with a kind of :data:`~hub_tools.datagen.verify.FAILURE_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable

from hub_tools.datagen.folder import BASELINE, DatasetFolder
from hub_tools.datagen.verify_across_rows import RowsSeen, SourceRows, compare_source_rows

Problem = tuple[str, str, str]
# Why a run may skip a source row that a run of another sampler, with the same settings, keeps: the sampling
# itself failed or ran out of time (rows.py's _failure), the worker died, or the row's program repeats one
# that only the other run kept (dedup keeps a program's first kept row).
SAMPLER_DEPENDENT_SKIPS = ("time_limit", "lint_timeout", "lint_memory", "linter_crash", "no_code", "sampler_error",
                           "worker_crash", "duplicate")
SHOWN = 3  # rows named in one failure that counts many
# The coverage of a benchmark part by a program that copies its code nearly whole (names kept): found by every
# version of the overlap check, so compared in the rows of a folder made under older data rules too.
NEARLY_WHOLE = 0.9


def missing_configs(dataset: DatasetFolder) -> list[str]:
    """The configs ``lintseq_config.json`` lists that ``data/`` does not hold (no Parquet shard)."""
    configs = dataset.settings.get("configs")
    return [name for name in configs if name not in dataset.configs] if isinstance(configs, dict) else []


def missing_config(dataset: DatasetFolder, name: str) -> Problem:
    stats = dataset.config_settings(name).get("stats")
    rows = stats.get("rows") if isinstance(stats, dict) else None
    return ("missing_config", f"data/{name}/", f"lintseq_config.json lists config {name!r}"
            + (f" with {rows} rows" if isinstance(rows, int) else "") + f", but data/{name}/ holds no Parquet shard")


def shard_problems(dataset: DatasetFolder, name: str) -> list[Problem]:
    """Shards not named as ``lintseq generate`` names the ``n`` shards of a config: ``train-00000-of-0000n`` on."""
    shards = dataset.configs[name]
    expected = [f"train-{index:05d}-of-{len(shards):05d}.parquet" for index in range(len(shards))]
    problems = []
    for shard, wanted in zip(shards, expected, strict=True):
        if shard.name != wanted:
            problems.append(("shards", shard.relative_to(dataset.path).as_posix(),
                             f"data/{name}/ holds {len(shards)} shard{'s' if len(shards) > 1 else ''}, named "
                             f"{expected[0]}" + (f" to {expected[-1]}" if len(shards) > 1 else "")
                             + f"; this one is not (expected {wanted} in its place)"))
    return problems


def settings_problems(dataset: DatasetFolder, name: str, settings: dict) -> list[Problem]:
    """The recorded settings that tell a sampler config and the baseline apart: they came from two runs."""
    from hub_tools.datagen.manifest import baseline_settings, recorded_fingerprint

    baseline = dataset.config_settings(BASELINE) if BASELINE in dataset.configs else {}
    if dataset.sampler(name) is None or not baseline or not settings:
        return []
    where = f"lintseq_config.json configs.{name}"
    mine, theirs = recorded_fingerprint(settings), recorded_fingerprint(baseline)
    problems = [("mixed_runs", where, f"{key} is {mine[key]!r} here, {theirs[key]!r} for the baseline")
                for key in baseline_settings(baseline) if mine[key] != theirs[key]]
    # A Hub source records the commit it was read at: the same dataset at two commits is two sets of rows.
    commits = [entry.get("source", {}).get("revision") if isinstance(entry.get("source"), dict) else None
               for entry in (settings, baseline)]
    if all(commits) and commits[0] != commits[1]:
        problems.append(("mixed_runs", where, f"the source was read at commit {commits[0]} here, "
                         f"{commits[1]} for the baseline"))
    return problems


def source_row_problems(dataset: DatasetFolder, name: str, seen: RowsSeen, complete: bool,
                        baseline_rows: Callable[[], SourceRows]) -> list[Problem]:
    """Compare the source rows of sampler config ``name`` (``seen``, every row read when ``complete``) with
    the baseline's (``baseline_rows()``, read on first use); nothing when the folder has no baseline."""
    if dataset.sampler(name) is None or BASELINE not in dataset.configs:
        return []
    comparison = compare_source_rows(seen.source_rows(), baseline_rows())
    problems: list[Problem] = [
        ("mixed_runs", seen.location(position), f"source row {row} has id {base_id:016x} in the baseline: "
         "the two were made from different source rows") for position, row, base_id in comparison.other_ids]
    allowed = _sampler_skips(dataset.config_settings(BASELINE))
    if len(comparison.only_here) > allowed:
        first = [seen.key(position)[0] for position in comparison.only_here[:SHOWN]]
        problems.append(("mixed_runs", seen.location(comparison.only_here[0]),
                         f"{_rows(len(comparison.only_here))} here {_are(comparison.only_here)} not in the "
                         "baseline (source row "
                         f"{', '.join(map(str, first))}{'...' if len(comparison.only_here) > SHOWN else ''}); "
                         f"the baseline's run skipped {allowed} for reasons another sampler's run may not have"))
    allowed = _sampler_skips(dataset.config_settings(name))
    if complete and len(comparison.only_baseline) > allowed:
        shown = ", ".join(f"{row} (id {row_id:016x})" for row, row_id in comparison.only_baseline[:SHOWN])
        problems.append(("mixed_runs", f"data/{name}/", f"{_rows(len(comparison.only_baseline))} of the "
                         f"baseline {'has' if len(comparison.only_baseline) == 1 else 'have'} no rows here (source row {shown}"
                         f"{'...' if len(comparison.only_baseline) > SHOWN else ''}); this config's run skipped "
                         f"{allowed} for reasons a run of another sampler may not have"))
    return problems


def _rows(count: int) -> str:
    return f"{count} source row{'' if count == 1 else 's'}"


def _are(items: list) -> str:
    return "is" if len(items) == 1 else "are"


def _sampler_skips(entry: dict) -> int:
    stats = entry.get("stats") if isinstance(entry.get("stats"), dict) else {}
    skipped = stats.get("skipped") if isinstance(stats.get("skipped"), dict) else {}
    return sum(count for reason, count in skipped.items()
               if reason in SAMPLER_DEPENDENT_SKIPS and isinstance(count, int) and count > 0)


def read_baseline_rows(dataset: DatasetFolder) -> SourceRows:
    """The baseline's source rows, read from its ``row_index`` and ``id`` columns alone."""
    batches = (rows for _, rows in dataset.iter_rows(BASELINE, batch_size=4096, columns=("row_index", "id")))
    return SourceRows.read(batches)


class ContaminationCheck:
    """The recorded benchmark overlap of a config (``stats.contamination``) against its rows on disk.

    Each source row (its first path) is compared with the recorded benchmarks again, as ``generate`` compared
    it (program, instruction, response, kept columns). A config whose overlapping rows were dropped must hold
    none, nor any row it lists as dropped; one whose rows were kept must list exactly the overlapping rows
    (as far as its listing goes) and count as many. Nothing is checked when the config recorded no benchmark,
    and a note is left when the benchmarks cannot be read again as they were.
    """

    def __init__(self, name: str, settings: dict):
        stats = settings.get("stats") if isinstance(settings.get("stats"), dict) else {}
        recorded = stats.get("contamination")
        self.name, self.config, self.note = name, None, None
        self.recorded = recorded if isinstance(recorded, dict) and recorded.get("benchmarks") else None
        self.keep_fields = [str(field) for field in settings.get("keep_fields") or []]
        self.found: dict[int, str] = {}  # source row -> "benchmark task_id" of the rows that overlap
        if self.recorded is None:
            return
        from hub_tools.datagen.decontamination import DecontaminationConfig
        from hub_tools.datagen.manifest import DATA_RULES

        rules = settings.get("data_rules", 1)
        # The overlap check finds more with each version (renamed copies beside the program since data rules 10):
        # a folder's honest statement of its own day would fail against today's check. Its rows are compared all
        # the same, for what every version found: a program copying a benchmark's code nearly whole. (Skipping
        # them let a folder whose data_rules was set back, its overlap zeroed and its card rendered again, pass.)
        self.old_rules = not isinstance(rules, int) or rules < DATA_RULES
        if self.old_rules:
            self.note = (f"lintseq_config.json configs.{name}: its benchmark overlap was found under data rules "
                         f"{rules}, whose check finds less than today's: only programs copying a benchmark's code "
                         f"nearly whole ({NEARLY_WHOLE:.0%} of its n-grams, which every version finds) were compared")
        try:
            self.config = DecontaminationConfig.from_dict(self.recorded)
        except Exception as error:  # a benchmark file moved or changed: the statement cannot be checked here
            self.note = (f"lintseq_config.json configs.{name}: its benchmark overlap was not checked: the benchmarks "
                         f"cannot be read again as recorded ({error})")

    def add(self, rows: list[dict]) -> None:
        if self.config is None:
            return
        from hub_tools.datagen.decontamination import benchmark_index, find_overlap
        from hub_tools.datagen.rows import find_overlap_in_text

        for row in rows:
            index = row.get("row_index")
            if row.get("path_index") not in (0, None) or not isinstance(index, int) or index in self.found:
                continue
            texts = [row.get(key) for key in ("instruction", "program", "response")]
            if not all(isinstance(text, str) for text in texts):
                continue  # a null field is a failure of its own
            if self.old_rules:
                overlap = benchmark_index(self.config).best_overlap({"program": texts[1]}, code_field="")
                if overlap is not None and overlap.coverage >= NEARLY_WHOLE:
                    self.found[index] = f"{overlap.benchmark} {overlap.task_id}"
                continue
            kept = {key: row[key] for key in self.keep_fields if isinstance(row.get(key), str) and row[key]}
            overlap = find_overlap(texts[0], texts[1], self.config, texts[2]) or find_overlap_in_text(kept, self.config)
            if overlap is not None:
                self.found[index] = f"{overlap.benchmark} {overlap.task_id}"

    def problems(self, complete: bool) -> list[Problem]:
        """What the recorded statement gets wrong about the rows read (``complete``: every row of the config)."""
        if self.config is None:
            return []
        where = f"lintseq_config.json configs.{self.name}.stats.contamination"
        listed = [entry for entry in self.recorded.get("overlaps") or [] if isinstance(entry, dict)]
        if self.recorded.get("drop"):
            return [("contamination", where, f"source row {row} overlaps {task}, but the overlapping rows were "
                     "dropped, it says") for row, task in sorted(self.found.items())[:SHOWN]]
        listed_rows = {entry.get("row_index") for entry in listed if not entry.get("dropped")}
        rows = self.recorded.get("rows")
        all_listed = isinstance(rows, int) and len(listed) >= rows
        problems = [("contamination", where, f"source row {row} overlaps {task} and is not listed")
                    for row, task in sorted(self.found.items()) if all_listed and row not in listed_rows][:SHOWN]
        if complete and self.old_rules:  # what the version found is at least what every version finds
            if isinstance(rows, int) and rows < len(self.found):
                problems.append(("contamination", where, f"records {rows} overlapping source rows; the rows on disk "
                                 f"hold {len(self.found)} that copy a benchmark's code nearly whole"))
        elif complete:
            problems += [("contamination", where, f"source row {row} is listed as overlapping, but no row of "
                          "it on disk overlaps the recorded benchmarks")
                         for row in sorted(listed_rows - set(self.found), key=str)][:SHOWN]
            if rows != len(self.found):
                problems.append(("contamination", where, f"records {rows} overlapping source rows; the rows on disk "
                                 f"hold {len(self.found)}"))
        return problems
