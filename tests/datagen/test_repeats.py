"""``--drop-duplicates`` at scale: a pass over the source finds the repeats by sorting, and every distributed
task enters the source at its block with the first occurrences a read from the start gives."""

import importlib.util
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hub_tools.datagen.distributed import LintSeqReader
from hub_tools.datagen.distributed.steps import chunk_range
from hub_tools.datagen.repeats import (
    find_repeats,
    first_occurrences,
    load_repeats,
    locate_firsts,
    mark_repeats,
    save_repeats,
)
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)
generate, shard_bytes, settings = runs.generate, runs.shard_bytes, runs.settings


class WatchedSource(Source):
    """A real source that notes where it was read from."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.starts: list[int] = []

    def __iter__(self):
        self.starts.append(0)
        return super().__iter__()

    def records_from(self, start):
        self.starts.append(start)
        return super().records_from(start)


def _folder_with_repeats(folder: Path, programs: list[str]) -> Path:
    """Rows of real programs repeated far apart, across JSON Lines and Parquet files, with a broken row, a row
    without code and a repeat that differs only in its instruction (not a repeat)."""
    rng = random.Random(4)
    rows = [{"instruction": f"Write function {i % 17}.", "response": programs[i % 17]} for i in range(90)]
    rng.shuffle(rows)
    rows[30] = {**rows[5], "instruction": rows[5]["instruction"] + " Again."}
    rows[31] = {"instruction": "No code.", "response": None}
    folder.mkdir()
    lines = [json.dumps(row) for row in rows[:40]]
    lines.insert(12, "{broken")
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    pq.write_table(pa.Table.from_pylist(rows[40:]), folder / "b.parquet", row_group_size=7)
    return folder


def test_tasks_enter_at_their_block_and_mark_the_repeats_a_full_read_finds(tmp_path, stdlib_corpus):
    folder = _folder_with_repeats(tmp_path / "rows", stdlib_corpus)
    source = Source(str(folder))
    config = GenerationConfig(prompt_field="instruction", code_field="response", drop_duplicates=True)
    marked = list(first_occurrences(iter(source), config))
    duplicates = [record for record in marked if record.error and record.error[0] == "duplicate"]
    assert 60 < len(duplicates) < 75 and duplicates[0].error[1].startswith("repeats ")
    repeats = locate_firsts(iter(source), find_repeats(iter(source), config))
    found = {row: repeats.message(first) for row, first in zip(repeats.rows.tolist(), repeats.firsts.tolist(),
                                                                   strict=True)}
    assert found == {record.index: record.error[1] for record in duplicates}
    save_repeats(tmp_path / "repeats.json", repeats)
    loaded = load_repeats(tmp_path / "repeats.json")
    assert (loaded.rows.tolist(), loaded.firsts.tolist(), loaded.locations) == \
        (repeats.rows.tolist(), repeats.firsts.tolist(), repeats.locations)
    # A task's share: the repeats of its rows, with the places of their first occurrences (maybe before it).
    block = load_repeats(tmp_path / "repeats.json", 50, 70)
    assert block.rows.tolist() == [row for row in found if 50 <= row < 70]
    assert {block.message(block.first_of(row)) for row in block.rows.tolist()} <= set(found.values())
    # Marked as the rows go by after the sort (the single-machine engine): the skips of the dictionary.
    assert [record.error for record in mark_repeats(iter(source), find_repeats(iter(source), config))] == \
        [record.error for record in marked]

    def documents(reader, world_size):
        return [(d.id, d.text, d.metadata["lintseq_origin"]) for rank in range(world_size)
                for d in reader.run(rank=rank, world_size=world_size)]

    # The reference: every task reads from the start and finds the repeats itself.
    whole = documents(LintSeqReader(source, drop_duplicates=True, chunk_size=6), 1)
    assert sum("duplicate" in str(origin.get("error")) for _, _, origin in whole) == len(duplicates)
    for world_size in (3, 4, 9, 20):
        watched = WatchedSource(str(folder))
        reader = LintSeqReader(watched, drop_duplicates=True, repeats_file=tmp_path / "repeats.json", chunk_size=6)
        watched.starts.clear()  # the reader looked at the first row for the field names
        assert documents(reader, world_size) == whole, world_size
        # Each task entered the source at the first row of its block (6 rows a chunk, 16 chunks).
        assert watched.starts == [chunk_range(rank, world_size, 16).start * 6 for rank in range(world_size)]

    # With a random subset, the pass and the tasks see the selected rows only.
    selected = set(random.Random(1).sample(range(len(marked)), 50))
    subset = find_repeats((record for record in source if record.index in selected), config)
    save_repeats(tmp_path / "subset.json", locate_firsts(iter(source), subset))
    whole = documents(LintSeqReader(source, drop_duplicates=True, selected=selected, chunk_size=5), 1)
    for world_size in (2, 7):
        reader = LintSeqReader(source, drop_duplicates=True, selected=selected, repeats_file=tmp_path / "subset.json",
                               chunk_size=5)
        assert documents(reader, world_size) == whole


def test_an_executor_run_with_drop_duplicates_is_the_single_machine_run(tmp_path, stdlib_corpus):
    folder = _folder_with_repeats(tmp_path / "rows", stdlib_corpus)
    common = ["--sampler", "random", "--drop-duplicates", "--prompt-field", "instruction", "--code-field", "response"]
    for extra in ([], ["--num-samples", "40", "--seed", "2"]):
        single, distributed = tmp_path / f"single{len(extra)}", tmp_path / f"distributed{len(extra)}"
        generate(str(folder), "--output-dir", str(single), *common, *extra)
        result = generate(str(folder), "--output-dir", str(distributed), *common, *extra, "--executor", "local",
                          "--tasks", "4", "--workers", "2", "--chunk-size", "5")
        assert result.stderr.count("finding repeated rows: two passes over the source") == 1
        assert shard_bytes(distributed) == shard_bytes(single)
        assert settings(distributed) == settings(single)
        assert settings(single)["configs"]["random"]["stats"]["skipped"]["duplicate"] > 10


def test_the_repeats_of_many_rows_are_found_in_a_few_bytes_a_row():
    """The dictionary of every row's id and place held 150 bytes a row; the sort keeps 16 a repeat, with the same
    skips, in the same order, as the dictionary gives."""
    import tracemalloc

    from hub_tools.datagen.source_files import SourceRecord

    config = GenerationConfig(prompt_field="instruction", code_field="response", drop_duplicates=True)
    rng = random.Random(3)

    def records():
        for index in range(60_000):
            key = rng.randrange(index) if index and index % 7 == 0 else index
            yield SourceRecord(index, f"rows.jsonl:{index + 1}",
                               {"instruction": f"Write {key}.", "response": f"def f{key}():\n    return {key}\n"})

    find_repeats(iter([SourceRecord(0, "x", {"instruction": "a", "response": "b = 1"})]), config)  # lazy imports
    rng.seed(3)
    tracemalloc.start()
    repeats = find_repeats(records(), config)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kept / 60_000 < 10 and peak / 60_000 < 80, (kept, peak)
    rng.seed(3)
    marked = [record.error for record in mark_repeats(records(), repeats)]
    rng.seed(3)
    assert marked == [record.error for record in first_occurrences(records(), config)]
    assert sum(error is not None for error in marked) == len(repeats) > 7000
