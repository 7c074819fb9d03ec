"""The merge step shared by every engine: parts in, the finished dataset folder out.

Whoever runs the per-row work (the single-machine engine of :mod:`hub_tools.datagen.engine`, or datatrove
tasks on a local pool, Slurm or Ray, see :mod:`hub_tools.datagen.distributed`), its results arrive as parts
of :class:`~hub_tools.datagen.writer.PartStore`, one per chunk of source rows, written by :func:`save_part`.
:func:`assemble_dataset` then turns the parts into the Parquet shards, ``lintseq_config.json`` and the card.
Shards are cut from the row sequence alone, so the same rows give the same bytes whichever engine ran them.

Work that needs every row at once (merged statistics, deduplication: see
:mod:`hub_tools.datagen.run_statistics`) belongs in :func:`assemble_dataset`, so both engines get it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools.datagen.rows import GenerationConfig, RowOutcome
from hub_tools.datagen.run_statistics import merge_part_statistics, part_records
from hub_tools.datagen.sources import Source
from hub_tools.datagen.writer import PartStore, read_config_file


@dataclass
class RunSummary:
    """What a run did, for the command line's final report."""

    config_name: str
    output_dir: Path
    source_rows: int = 0
    programs: int = 0
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # this command's
    worker_seconds: float = 0.0  # spent computing the rows, summed over workers and over every command of a resumed run
    resumed_parts: int = 0
    shards: int = 0
    duplicates: int = 0  # programs that repeat an earlier source row's (normalised), removed or not
    contamination: dict | None = None  # benchmark overlap, see run_statistics
    other_indentation: dict | None = None  # programs not indented with four spaces, see run_statistics
    already_done: bool = False
    chunk_processes: dict[int, int] = field(default_factory=dict)  # chunk computed in this run -> process id


def part_stats(outcomes: list[RowOutcome]) -> dict:
    """Statistics of one part, kept small: skip reasons, then per-program numbers (see run_statistics)."""
    skipped = [{"reason": o.skipped[0], "location": o.location, "detail": o.skipped[1]} for o in outcomes if o.skipped]
    return {"source_rows": len(outcomes), "programs": sum(1 for o in outcomes if o.rows),
            "rows": sum(len(o.rows) for o in outcomes), "skipped": skipped,
            "lint_calls": sum(o.lint_calls for o in outcomes),
            "seconds": round(sum(o.measurements.get("seconds", 0.0) for o in outcomes), 3), **part_records(outcomes)}


def save_part(parts: PartStore, number: int, outcomes: list[RowOutcome]) -> None:
    """Save the outcomes of chunk ``number`` (in source order) as one complete part."""
    rows = [row for outcome in outcomes for row in outcome.rows]
    baseline = [outcome.baseline for outcome in outcomes if outcome.baseline is not None]
    parts.write(number, rows, baseline, part_stats(outcomes))


def assemble_dataset(parts: PartStore, output_dir: Path, source: Source, config: GenerationConfig,
                     num_samples: int | None, summary: RunSummary, started: float,
                     engine_info: dict) -> RunSummary:
    """Write the shards of both configs, ``lintseq_config.json`` and the card from the parts, then drop them.

    Args:
        parts: the finished parts, every chunk of the run present.
        output_dir: the dataset folder.
        source, config, num_samples: the run's settings, recorded in ``lintseq_config.json``.
        summary: filled in and returned.
        started: ``time.perf_counter()`` at the start of the run.
        engine_info: how the rows were computed (``{"workers": 4}``, or executor and tasks), recorded with
            the statistics.
    """
    from hub_tools.datagen.manifest import update_manifest

    merged = merge_part_statistics(parts.stats, config)
    summary.source_rows, summary.programs, summary.skipped = merged.source_rows, merged.programs, merged.skipped
    summary.duplicates, summary.contamination = merged.count, merged.sampler["contamination"]
    summary.other_indentation = merged.sampler.get("other_indentation")
    # Removed duplicates are left out here, when every part is in: the same rows for any executor.
    rows, shards = parts.assemble(output_dir, summary.config_name, "rows", exclude=merged.excluded)
    baseline_rows, baseline_shards = parts.assemble(output_dir, "baseline", "baseline", exclude=merged.excluded)
    summary.rows, summary.shards, summary.worker_seconds = rows, shards, merged.worker_seconds
    summary.seconds = time.perf_counter() - started
    common = {"source_rows": summary.source_rows, "programs": summary.programs, "duplicates": summary.duplicates,
              "skipped": dict(sorted(summary.skipped.items())), "skipped_rows": merged.skipped_rows}
    sampler_stats = {**common, "rows": rows, "num_shards": shards, **merged.sampler, "lint_calls": merged.lint_calls,
                     "seconds": round(summary.seconds, 2), "worker_seconds": round(merged.worker_seconds, 2),
                     "resumed_parts": summary.resumed_parts, **engine_info}
    baseline_stats = {**common, "rows": baseline_rows, "num_shards": baseline_shards, **merged.baseline}
    update_manifest(output_dir, source, config, num_samples, sampler_stats, baseline_stats)
    parts.remove()
    return summary


def recorded_summary(output_dir: Path, summary: RunSummary) -> RunSummary:
    """The summary of a finished run found in the folder (a rerun with the same settings has nothing to do)."""
    stats = read_config_file(output_dir)["configs"][summary.config_name].get("stats") or {}
    summary.already_done = True
    summary.source_rows, summary.programs = stats.get("source_rows", 0), stats.get("programs", 0)
    summary.rows, summary.shards = stats.get("rows", 0), stats.get("num_shards", 0)
    summary.skipped, summary.duplicates = Counter(stats.get("skipped") or {}), stats.get("duplicates", 0)
    summary.contamination = stats.get("contamination")
    summary.other_indentation = stats.get("other_indentation")
    return summary
