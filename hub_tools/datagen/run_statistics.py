"""Statistics of a run: recorded per part by the workers' outcomes, merged when the parts are assembled.

Each part records, for every program it emitted, its source row index, its deduplication key, its edit
and line counts and its token counts, plus every benchmark overlap it found. Merging decides which
duplicates go (the smallest row index of each key stays, see :mod:`hub_tools.datagen.deduplication`) and
computes every figure over the rows that are kept, so the statistics describe the published rows
whatever the number of workers, the executor or the order in which parts finished.

The merge reads the parts one at a time, twice (the first program of each key, then the figures), and keeps
no row past its part: figures are counts of values (:mod:`hub_tools.datagen.value_counts`), the rows it lists
are the first ``EXAMPLES_KEPT``. Its memory grows with the programs (16 bytes each, for deduplication:
:class:`~hub_tools.datagen.deduplication.FirstRows`) and the duplicates only (138 MiB for a million rows,
against 4,346 MiB when every row's figures were kept: ``benchmarks/merge_memory.py``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hub_tools.datagen.decontamination import benchmark_index
from hub_tools.datagen.deduplication import FirstRows
from hub_tools.datagen.token_statistics import TokenCounts
from hub_tools.datagen.value_counts import ValueCounts

EXAMPLES_KEPT = 1000  # rows listed one by one in lintseq_config.json (skipped, overlapping); all are counted
HISTOGRAM_BINS = 40


def lines_added(diff: str) -> int:
    """Lines an edit inserts: its ``+`` lines, not its ``@@`` hunk headers.

    >>> lines_added("@@ -0,0 +1,2 @@\\n+def f():\\n+    return 1")
    2
    """
    return sum(1 for line in diff.split("\n") if line.startswith("+"))


def part_records(outcomes) -> dict:
    """What a part keeps about its outcomes for the merged statistics (small: numbers and short ids)."""
    emitted, overlaps = [], []
    for outcome in outcomes:
        measured = outcome.measurements
        dropped = bool(outcome.skipped) and outcome.skipped[0] == "contaminated"
        if measured.get("overlap") and (outcome.rows or dropped):
            overlaps.append({"row_index": outcome.index, "location": outcome.location, **measured["overlap"],
                             "dropped": dropped})
        if not outcome.rows:
            continue
        tokens = measured.get("tokens") or {}
        emitted.append({"row_index": outcome.index, "location": outcome.location, "key": measured.get("program_key"),
                        "edits": [row["num_edits"] for row in outcome.rows],
                        "lines": [lines_added(diff) for row in outcome.rows for diff in row["edit_path"]],
                        "tokens": tokens.get("rows"), "baseline_tokens": tokens.get("baseline"),
                        "indent": measured.get("indent")})
    return {"emitted": emitted, "overlaps": overlaps}


@dataclass
class MergedStatistics:
    """The merged statistics of one run.

    Attributes:
        duplicates: row index of every duplicate program among the emitted ones -> row index of the copy kept.
        count: every program that repeats an earlier source row's: those, and the exact repeats of a row that
            ``drop_duplicates`` skipped before any work. Recorded as the ``duplicates`` statistic, whether
            they were removed (``dedup.removed``) or not.
        excluded: row indices whose rows are left out of the shards (duplicates, with ``--dedup exact``).
        sampler: statistics of the edit-sequence config.
        baseline: statistics of the baseline config.
        source_rows, programs, lint_calls: totals of the parts (``programs`` without the excluded ones).
        worker_seconds: the seconds the parts' rows took to compute, summed (every command of the run).
        skipped: every skipped row's reason, counted (removed duplicates included).
        skipped_rows: the first ``EXAMPLES_KEPT`` skipped rows, in the parts' order, then the removed duplicates
            by row index.
    """

    duplicates: dict[int, int] = field(default_factory=dict)
    count: int = 0
    excluded: set[int] = field(default_factory=set)
    sampler: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)
    source_rows: int = 0
    programs: int = 0
    lint_calls: int = 0
    worker_seconds: float = 0.0
    skipped: Counter = field(default_factory=Counter)
    skipped_rows: list[dict] = field(default_factory=list)


class _KeptRows:
    """The figures of the rows that are kept, added one source row at a time."""

    def __init__(self):
        self.edits, self.lines = ValueCounts(), ValueCounts()
        self.tokens, self.baseline_tokens = TokenCounts(), TokenCounts()
        # Programs indented with another unit than four spaces: how many per unit, and edits per path of
        # theirs against the others' (see other_indentation).
        self.units: Counter = Counter()
        self.other_edits, self.rest_edits = ValueCounts(), ValueCounts()

    def add(self, entry: dict) -> None:
        self.edits.add(entry["edits"])
        self.lines.add(entry["lines"])
        self.tokens.add(entry["tokens"] or [])
        if entry["baseline_tokens"]:
            self.baseline_tokens.add([entry["baseline_tokens"]])
        if entry.get("indent"):
            self.units[describe_unit(entry["indent"])] += 1
            self.other_edits.add(entry["edits"])
        else:
            self.rest_edits.add(entry["edits"])


def merge_part_statistics(parts: Callable[[], Iterable[dict]], config) -> MergedStatistics:
    """Merge the parts' records (see :func:`part_records`) under the run's ``config`` (a GenerationConfig).

    ``parts()`` gives the parts' records in part order, one at a time; it is read twice, and no row's record
    is kept past its part: memory grows with the number of distinct programs (their keys, for deduplication),
    the duplicates and the listed examples, not with the figures of every row.
    """
    # Pass 1: the first source row of each program; every later one is a duplicate (deduplication module).
    first = FirstRows()
    for part in parts():
        for entry in part.get("emitted", []):
            first.add(entry["key"], entry["row_index"])
    # Pass 2: every figure, over the rows that are kept.
    remove = config.dedup == "exact"
    merged, kept = MergedStatistics(), _KeptRows()
    listed_skips: list[dict] = []
    removed_listed: list[tuple[int, str, int]] = []  # max-heap (negated row index) of the first removed duplicates
    overlaps, by_task, rows_by_benchmark = [], Counter(), Counter()
    skipped_early = 0
    for part in parts():
        merged.source_rows += part["source_rows"]
        merged.programs += part["programs"]
        merged.lint_calls += part["lint_calls"]
        merged.worker_seconds += part.get("seconds", 0.0)
        for entry in part["skipped"]:
            merged.skipped[entry["reason"]] += 1
            skipped_early += entry["reason"] == "duplicate"
            if len(listed_skips) < EXAMPLES_KEPT:
                listed_skips.append(entry)
        removed_here = set()
        emitted = part.get("emitted", [])
        for entry, kept_index in zip(emitted, first.first_of([entry["key"] for entry in emitted]), strict=True):
            index = entry["row_index"]
            if kept_index != index:
                merged.duplicates[index] = kept_index
                if remove:
                    removed_here.add(index)
                    heapq.heappush(removed_listed, (-index, entry["location"], kept_index))
                    if len(removed_listed) > EXAMPLES_KEPT:
                        heapq.heappop(removed_listed)
                    continue
            kept.add(entry)
        for entry in part.get("overlaps", []):
            if entry["row_index"] not in removed_here:
                rows_by_benchmark["*"] += 1  # every overlapping row, whatever its benchmarks
                hits = [(entry["benchmark"], entry["task_id"]), *map(tuple, entry.get("also", []))]
                by_task.update(hits)
                rows_by_benchmark.update({benchmark for benchmark, _ in hits})
                if len(overlaps) < EXAMPLES_KEPT:
                    overlaps.append(entry)
    merged.duplicates = dict(sorted(merged.duplicates.items()))
    if remove:
        merged.excluded = set(merged.duplicates)
        merged.skipped["duplicate"] += len(merged.excluded)
        removed = [{"reason": "duplicate", "location": location, "detail": f"same normalised program as source row {first_row}"}
                   for _, location, first_row in sorted(removed_listed, reverse=True)]
        listed_skips += removed[:EXAMPLES_KEPT - len(listed_skips)]
    merged.skipped_rows = listed_skips
    merged.programs -= len(merged.excluded)
    merged.count = len(merged.duplicates) + skipped_early
    dedup = {"mode": config.dedup, "removed": len(merged.excluded) + skipped_early,
             "examples": [{"row_index": index, "same_as": first_row}
                          for index, first_row in list(merged.duplicates.items())[:20]]}
    contamination = _contamination(overlaps, by_task, rows_by_benchmark, config.decontamination)
    merged.sampler = {"edits_per_program": kept.edits.distribution(), "lines_per_edit": kept.lines.distribution(),
                      "dedup": dedup, "contamination": contamination,
                      "histograms": {"edits_per_program": kept.edits.histogram(HISTOGRAM_BINS),
                                     "lines_per_edit": kept.lines.histogram(HISTOGRAM_BINS)}}
    if config.reports_indentation:
        merged.sampler["other_indentation"] = other_indentation(kept)
    merged.baseline = {"dedup": dedup, "contamination": contamination}
    if config.tokenizer:
        for stats, tokens in ((merged.sampler, kept.tokens), (merged.baseline, kept.baseline_tokens)):
            stats["tokens"] = {"tokenizer": _tokenizer_description(config.tokenizer), **(tokens.summary() or {})}
            stats.setdefault("histograms", {})["tokens_per_row"] = tokens.total.histogram(HISTOGRAM_BINS)
    return merged


def describe_unit(unit: str) -> str:
    """``"tabs"``, ``"2 spaces"``, or the unit's characters spelled out for a mixed one.

    >>> describe_unit("\\t"), describe_unit("  "), describe_unit("\\t  ")
    ('tabs', '2 spaces', "'\\\\t  '")
    """
    if set(unit) == {"\t"}:
        return "tabs" if len(unit) == 1 else f"{len(unit)} tabs"
    if set(unit) == {" "}:
        return f"{len(unit)} spaces" if len(unit) > 1 else "1 space"
    return repr(unit)


def other_indentation(kept: _KeptRows) -> dict | None:
    """The programs indented with another unit than four spaces, with their edits per path against the others'.

    pylint's bad-indentation (W0311), one of the paper's counted messages, expects four spaces a level: in a
    program indented with tabs or two spaces it flags every indented line, so the first deletion that leaves
    the program lint-free takes every indented line with it and the path writes all of them in one edit.
    ``LintSeqConfig.ignore_init_errors`` (``--ignore-init-errors``) samples such programs as usual.
    """
    if not kept.units:
        return None
    return {"programs": sum(kept.units.values()), "units": dict(kept.units.most_common()),
            "edits_per_program": round(kept.other_edits.mean(), 2),
            "others_edits_per_program": round(kept.rest_edits.mean(), 2) if kept.rest_edits else None}


def _tokenizer_description(name: str) -> dict:
    from hub_tools.datagen.token_statistics import describe_tokenizer

    return describe_tokenizer(name)


def _contamination(overlaps: list[dict], by_task: Counter, rows_by_benchmark: Counter, decontamination) -> dict | None:
    """The recorded benchmark overlap: how many rows overlap, every problem hit with its row count (bounded by
    the benchmarks' size; a row holding several problems counts for each), and the first ``EXAMPLES_KEPT``
    overlapping rows, in source order."""
    if decontamination is None:
        return None
    by_benchmark = {name: rows for name, rows in sorted(rows_by_benchmark.items()) if name != "*"}
    return {**decontamination.to_dict(), "rows": rows_by_benchmark["*"], "by_benchmark": by_benchmark,
            "not_compared": benchmark_index(decontamination).not_compared,
            "tasks": len(by_task),
            "by_task": [{"benchmark": benchmark, "task_id": task_id, "rows": rows}
                        for (benchmark, task_id), rows in sorted(by_task.items(), key=lambda item: (-item[1], item[0]))],
            "overlaps": overlaps}
