"""Statistics of a run: recorded per part by the workers' outcomes, merged when the parts are assembled.

Each part records, for every program it emitted, its source row index, its deduplication key, its edit
and line counts and its token counts, plus every benchmark overlap it found. Merging decides which
duplicates go (the smallest row index of each key stays, see :mod:`hub_tools.datagen.deduplication`) and
computes every figure over the rows that are kept, so the statistics describe the published rows
whatever the number of workers, the executor or the order in which parts finished.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from hub_tools.datagen.deduplication import duplicate_rows
from hub_tools.datagen.token_statistics import token_summary

EXAMPLES_KEPT = 1000  # rows listed one by one in lintseq_config.json; all are counted
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


def distribution(values: list[int]) -> dict | None:
    if not values:
        return None
    return {"mean": round(statistics.fmean(values), 3), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


def histogram(values: list[int], bins: int = HISTOGRAM_BINS) -> dict | None:
    """Counts of ``values`` in bins of a round width (1, 2, 5, 10, 20, 50...), for the card's pictures.

    >>> histogram([1, 2, 2, 3])
    {'bin_width': 1, 'bins': [[1, 1], [2, 2], [3, 1]]}
    """
    if not values:
        return None
    low, high = min(values), max(values)
    width = 1
    while math.ceil((high - low + 1) / width) > bins:
        width = next(w * 10 ** e for e in range(12) for w in (1, 2, 5) if w * 10 ** e > width)
    counts = Counter((value // width) * width for value in values)
    return {"bin_width": width, "bins": [[start, counts[start]] for start in sorted(counts)]}


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
        skipped_rows: the duplicates that were removed, as skipped-row entries.
    """

    duplicates: dict[int, int] = field(default_factory=dict)
    count: int = 0
    excluded: set[int] = field(default_factory=set)
    sampler: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)
    skipped_rows: list[dict] = field(default_factory=list)


def merge_part_statistics(part_stats: list[dict], config) -> MergedStatistics:
    """Merge the parts' records (see :func:`part_records`) under the run's ``config`` (a GenerationConfig)."""
    emitted = [entry for part in part_stats for entry in part.get("emitted", [])]
    merged = MergedStatistics(duplicates=duplicate_rows((entry["row_index"], entry["key"]) for entry in emitted))
    remove = config.dedup == "exact"
    if remove:
        merged.excluded = set(merged.duplicates)
        locations = {entry["row_index"]: entry["location"] for entry in emitted}
        merged.skipped_rows = [{"reason": "duplicate", "location": locations[index],
                                "detail": f"same normalised program as source row {kept}"}
                               for index, kept in sorted(merged.duplicates.items())]
    kept = [entry for entry in emitted if entry["row_index"] not in merged.excluded]
    # Exact repeats of a source row that --drop-duplicates skipped before any work are duplicates too.
    skipped_early = sum(1 for part in part_stats for entry in part["skipped"] if entry["reason"] == "duplicate")
    merged.count = len(merged.duplicates) + skipped_early
    dedup = {"mode": config.dedup, "removed": len(merged.excluded) + skipped_early,
             "examples": [{"row_index": index, "same_as": first}
                          for index, first in list(sorted(merged.duplicates.items()))[:20]]}
    contamination = _contamination(part_stats, merged.excluded, config.decontamination)
    edits = [count for entry in kept for count in entry["edits"]]
    lines = [count for entry in kept for count in entry["lines"]]
    merged.sampler = {"edits_per_program": distribution(edits), "lines_per_edit": distribution(lines),
                      "dedup": dedup, "contamination": contamination,
                      "histograms": {"edits_per_program": histogram(edits), "lines_per_edit": histogram(lines)}}
    if config.reports_indentation:
        merged.sampler["other_indentation"] = other_indentation(kept)
    merged.baseline = {"dedup": dedup, "contamination": contamination}
    if config.tokenizer:
        rows = [pair for entry in kept for pair in entry["tokens"] or []]
        baseline = [entry["baseline_tokens"] for entry in kept if entry["baseline_tokens"]]
        for stats, pairs in ((merged.sampler, rows), (merged.baseline, baseline)):
            stats["tokens"] = {"tokenizer": _tokenizer_description(config.tokenizer), **(token_summary(pairs) or {})}
            stats.setdefault("histograms", {})["tokens_per_row"] = histogram([sum(pair) for pair in pairs])
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


def other_indentation(kept: list[dict]) -> dict | None:
    """The programs indented with another unit than four spaces, with their edits per path against the others'.

    pylint's bad-indentation (W0311), one of the paper's counted messages, expects four spaces a level: in a
    program indented with tabs or two spaces it flags every indented line, so the first deletion that leaves
    the program lint-free takes every indented line with it and the path writes all of them in one edit.
    ``LintSeqConfig.ignore_init_errors`` (``--ignore-init-errors``) samples such programs as usual.
    """
    other = [entry for entry in kept if entry.get("indent")]
    if not other:
        return None
    rest = [count for entry in kept if not entry.get("indent") for count in entry["edits"]]
    units = Counter(describe_unit(entry["indent"]) for entry in other)
    return {"programs": len(other), "units": dict(units.most_common()),
            "edits_per_program": round(statistics.fmean(count for entry in other for count in entry["edits"]), 2),
            "others_edits_per_program": round(statistics.fmean(rest), 2) if rest else None}


def _tokenizer_description(name: str) -> dict:
    from hub_tools.datagen.token_statistics import describe_tokenizer

    return describe_tokenizer(name)


def _contamination(part_stats: list[dict], excluded: set[int], decontamination) -> dict | None:
    if decontamination is None:
        return None
    overlaps = [entry for part in part_stats for entry in part.get("overlaps", [])
                if entry["row_index"] not in excluded]
    # Every problem hit, with its row count, however many rows overlap (bounded by the benchmarks' size); the
    # rows themselves one by one up to EXAMPLES_KEPT, in source order.
    by_task = Counter((entry["benchmark"], entry["task_id"]) for entry in overlaps)
    return {**decontamination.to_dict(), "rows": len(overlaps),
            "by_benchmark": dict(sorted(Counter(entry["benchmark"] for entry in overlaps).items())),
            "tasks": len(by_task),
            "by_task": [{"benchmark": benchmark, "task_id": task_id, "rows": rows}
                        for (benchmark, task_id), rows in sorted(by_task.items(), key=lambda item: (-item[1], item[0]))],
            "overlaps": overlaps[:EXAMPLES_KEPT]}
