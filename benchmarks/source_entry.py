"""What it costs a task of a distributed run to reach its block of the source.

    .venv/bin/python benchmarks/source_entry.py [--rows 200000]

A datatrove task reads a contiguous block of chunks. Reading the source from its start, as every task did,
costs the last task a parse of every row before its block; entering at the block (``Source.records_from``)
counts the lines of the JSON Lines files before it, passes Parquet row groups by their metadata, and has the
csv module parse the CSV rows before it without making them into records.

The source is ``--rows`` rows of real functions (HumanEval's canonical solutions and standard-library
functions, repeated with distinct instructions), written as JSON Lines (plain and gzip), Parquet and CSV,
split into 8 files as a corpus dump is; every tenth row repeats an earlier one exactly. For a task whose block
starts a quarter, half and all the way into the source, the seconds until its first row, both ways, and the
rows after it are checked equal.

With ``--drop-duplicates``, whether a row repeats depends on every row before it. A task without the repeats
reads the source from its start and finds them itself; with them (two passes over the source by the launcher:
the repeats, found by sorting, then where their first occurrences are; saved in a file) it enters at its
block. On the JSON Lines layout, for 16 tasks: the two passes, and each task's seconds until its first
document both ways (every task's documents are checked equal).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FILES = 8


def write_sources(folder: Path, rows: int) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    programs = corpus.humaneval_programs() + corpus.stdlib_functions(None)
    keys = [index if index % 10 else index // 10 for index in range(rows)]  # row 10k repeats row k
    records = [{"instruction": f"Write function {key}.", "response": programs[key % len(programs)]} for key in keys]
    per_file = -(-rows // FILES)
    layouts = {}
    for kind in ("jsonl", "jsonl.gz", "parquet", "csv"):
        layouts[kind] = folder / kind.replace(".", "-")
        layouts[kind].mkdir()
        for number in range(FILES):
            part = records[number * per_file:(number + 1) * per_file]
            path = layouts[kind] / f"part-{number:02d}.{kind}"
            if kind == "parquet":
                pq.write_table(pa.Table.from_pylist(part), path, row_group_size=10_000)
            elif kind == "csv":
                with path.open("w", newline="", encoding="utf-8") as handle:
                    writer = csv.DictWriter(handle, fieldnames=["instruction", "response"])
                    writer.writeheader()
                    writer.writerows(part)
            else:
                data = "".join(json.dumps(record) + "\n" for record in part).encode()
                path.write_bytes(gzip.compress(data, compresslevel=6) if kind.endswith(".gz") else data)
    return layouts


def first_row_seconds(rows) -> tuple[float, object]:
    started = time.perf_counter()
    first = next(rows, None)
    return time.perf_counter() - started, first


def task_entry_with_repeats(folder: Path, tasks: int = 16) -> dict:
    """Each of ``tasks`` tasks' seconds until its first document, with --drop-duplicates, both ways."""
    from hub_tools.datagen.distributed import LintSeqReader
    from hub_tools.datagen.distributed.steps import count_chunks
    from hub_tools.datagen.repeats import find_repeats, locate_firsts, save_repeats
    from hub_tools.datagen.rows import GenerationConfig
    from hub_tools.datagen.sources import Source

    source = Source(str(folder))
    config = GenerationConfig(prompt_field="instruction", code_field="response", drop_duplicates=True)
    started = time.perf_counter()
    repeats = locate_firsts(iter(source), find_repeats(iter(source), config))  # what the launcher does
    save_repeats(folder.parent / "repeats.json", repeats)
    passes = time.perf_counter() - started
    total = count_chunks(source, None, 128)
    options = {"prompt_field": "instruction", "code_field": "response", "drop_duplicates": True, "total_chunks": total}
    readers = {"from the start": LintSeqReader(source, **options),
               "with the repeats": LintSeqReader(source, repeats_file=folder.parent / "repeats.json", **options)}
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    for rank in range(tasks):
        documents = {}
        for name, reader in readers.items():
            rows = reader.run(rank=rank, world_size=tasks)
            elapsed, first = first_row_seconds(rows)
            seconds[name].append(round(elapsed, 3))
            documents[name] = [(first.id, first.metadata["lintseq_origin"]), *((d.id, d.metadata["lintseq_origin"])
                                                                                for d in rows)]
        assert documents["from the start"] == documents["with the repeats"], rank
    read_through, entered = sum(seconds["from the start"]), passes + sum(seconds["with the repeats"])
    print(f"--drop-duplicates, {tasks} tasks: {read_through:.2f} s reading from the start, {entered:.2f} s with two "
          f"passes ({passes:.2f} s) and entering at the blocks ({read_through / entered:.1f}x); "
          f"{len(repeats)} repeated rows", flush=True)
    return {"tasks": tasks, "repeated_rows": len(repeats), "two_passes_seconds": round(passes, 3),
            "seconds_to_first_document": seconds, "all_tasks_reading_from_the_start_seconds": round(read_through, 3),
            "two_passes_and_all_tasks_entering_seconds": round(entered, 3), "ratio": round(read_through / entered, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    from hub_tools.datagen.sources import Source

    figures: dict[str, dict] = {"rows": args.rows, "files": FILES, "layouts": {}}
    with tempfile.TemporaryDirectory() as work:
        layouts = write_sources(Path(work), args.rows)
        for kind, folder in layouts.items():
            source = Source(str(folder))
            by_start = {}
            for fraction in (0.25, 0.5, 1.0):
                start = min(int(args.rows * fraction), args.rows - 1)
                read_through, expected = first_row_seconds(islice(iter(source), start, None))
                entered, first = first_row_seconds(source.records_from(start))
                assert first == expected, (kind, start)
                by_start[f"{fraction:g}"] = {"start_row": start, "read_from_the_start_seconds": round(read_through, 3),
                                             "entered_at_the_block_seconds": round(entered, 4),
                                             "ratio": round(read_through / max(entered, 1e-6), 1)}
                print(f"{kind:9} task starting at row {start:>7}: {read_through:7.3f} s reading from the start, "
                      f"{entered:7.4f} s entering at its block ({read_through / max(entered, 1e-6):.0f}x)", flush=True)
            figures["layouts"][kind] = by_start
        figures["drop_duplicates"] = task_entry_with_repeats(layouts["jsonl"])
    save_result("source_entry", figures)


if __name__ == "__main__":
    main()
