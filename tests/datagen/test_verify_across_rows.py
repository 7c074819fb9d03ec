"""The checks across rows of ``lintseq verify`` (``RowsSeen``) against the row-by-row comparison they replace.

The reference below is the check as it was written first: a set of (row_index, path_index) and a dict of
program keys, row by row (values compared as written: that one crashed on a row index that is a list). Folders of thousands of rows with every kind of repeat, hostile values (row indices
that are strings, None, huge or negative ints, ids that are not hex) and rows read across several shards and
batches must give the same failures, with the same locations, in the same order.
"""

import random

import pytest

from hub_tools.datagen.deduplication import program_key
from hub_tools.datagen.verify_across_rows import RowsSeen, SourceRows, compare_source_rows


def reference(batches):
    seen, first_row_of, repeats, duplicates = set(), {}, {}, []
    for shard, start, rows in batches:
        for offset, row in enumerate(rows):
            label = f"{shard} row {start + offset}"
            if row.get("id") is not None:
                label += f" (id {row['id']}" + (f", path {row['path_index']}" if row.get("path_index") is not None else "") + ")"
            key = (row.get("row_index"), row.get("path_index"))
            as_written = (repr(key[0]), repr(key[1]), type(key[0]), type(key[1]))  # "7" is not 7, True is not 1
            if as_written in seen:
                duplicates.append((label, key))
            seen.add(as_written)
            program_of = program_key(row["program"]) if isinstance(row.get("program"), str) else ("id", repr(row.get("id")))
            # A row index that is not a 64-bit int counts as one same source row here.
            source = row.get("row_index")
            source_key = source if type(source) is int and -(2**63) < source < 2**63 else "not an int"
            first_key, first = first_row_of.setdefault(program_of, (source_key, source))
            if first_key != source_key:
                repeats.setdefault(source_key, (source, first))
    repeated = (*next(iter(repeats.values())), len(repeats)) if repeats else None
    return duplicates, repeated


def checked(batches):
    seen = RowsSeen()
    for shard, start, rows in batches:
        seen.add_batch(shard, start, rows)
    duplicates = [(seen.location(position), seen.key(position)) for position in seen.duplicates()]
    repeated = seen.repeated_source()
    return duplicates, (repeated.row_index, repeated.earlier, repeated.count) if repeated else None


def random_folder(seed: int, rows: int, hostile: bool):
    rng = random.Random(seed)
    programs = [f"def f{k}():\n    return {k}\n" for k in range(rows // 4)]
    made = []
    for number in range(rows):
        row_index = number // 2 if rng.random() < 0.9 else rng.randrange(rows)  # paths of one row, repeats
        path_index = number % 2 if rng.random() < 0.8 else None
        row = {"row_index": row_index, "path_index": path_index, "id": f"{rng.getrandbits(64):016x}",
               "program": programs[row_index % len(programs)] if rng.random() < 0.9 else rng.choice(programs)}
        if hostile and rng.random() < 0.05:
            row[rng.choice(["row_index", "path_index", "id", "program"])] = rng.choice(
                [None, "7", 2**70, -1, 3.0, True, "not hex at all", "0x12345678901234", [1]])
        made.append(row)
    batches, position, shard = [], 0, 0
    while position < rows:
        size = rng.randint(1, 40)
        shard += rng.random() < 0.1  # the next batch opens another shard
        batches.append((f"data/x/part-{shard}.parquet", made[position:position + size]))
        position += size
    # Row numbers within each shard, counted as they are read.
    numbered, counts = [], {}
    for name, rows_here in batches:
        numbered.append((name, counts.get(name, 0), rows_here))
        counts[name] = counts.get(name, 0) + len(rows_here)
    return numbered


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("hostile", [False, True])
def test_same_failures_as_row_by_row(seed, hostile):
    batches = random_folder(seed, 3000, hostile)
    expected = reference(batches)
    assert expected[0] and expected[1]  # the folder has both kinds of repeat
    got = checked(batches)
    assert got[0] == [(label, key) for label, key in expected[0]]
    assert got[1] == expected[1]


def test_a_clean_folder_and_an_empty_one():
    assert checked([]) == ([], None)
    rows = [{"row_index": number, "path_index": None, "id": f"{number:016x}", "program": f"x = {number}\n"}
            for number in range(100)]
    assert checked([("data/a.parquet", 0, rows)]) == ([], None)
    # One repeat, found and named.
    rows.append({"row_index": 100, "path_index": None, "id": "f" * 16, "program": "x = 3\n"})
    assert checked([("data/a.parquet", 0, rows)]) == ([], (100, 3, 1))


def test_memory_is_a_few_bytes_a_row():
    import tracemalloc

    rows = [{"row_index": number, "path_index": 0, "id": f"{number:016x}", "program": f"x = {number % 1000}\n"}
            for number in range(50_000)]
    tracemalloc.start()
    seen = RowsSeen()
    for start in range(0, len(rows), 32):
        seen.add_batch("data/a.parquet", start, rows[start:start + 32])
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kept / len(rows) < 40, kept / len(rows)
    assert seen.repeated_source().count == 49_000


def _fits(value) -> bool:
    return type(value) is int and -(2**63) + 1 < value < 2**63


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("hostile", [False, True])
def test_source_rows_and_paths_as_row_by_row(seed, hostile):
    """Each config's (row index, id) pairs, compared with the baseline's, and each program's paths, against a
    reading of the rows one by one."""
    batches = random_folder(seed, 3000, hostile)
    rows = [row for _, _, batch in batches for row in batch]
    usable = [position for position, row in enumerate(rows)
              if _fits(row["row_index"]) and (row["path_index"] is None or _fits(row["path_index"]))
              and isinstance(row["id"], str) and len(row["id"]) == 16 and set(row["id"]) <= set("0123456789abcdef")]
    first_of: dict[tuple[int, int], int] = {}
    for position in usable:
        first_of.setdefault((rows[position]["row_index"], int(rows[position]["id"], 16)), position)
    seen = RowsSeen()
    for shard, start, batch in batches:
        seen.add_batch(shard, start, batch)
    source_rows = seen.source_rows()
    assert list(zip(source_rows.rows.tolist(), source_rows.ids.tolist(), source_rows.positions.tolist(),
                    strict=True)) == sorted((*pair, position) for pair, position in first_of.items())

    # Against a baseline that lacks some row indices and gives others another id.
    baseline = {row: row_id for row, row_id in first_of if row % 7}
    baseline.update({row: row_id + 1 for row, row_id in list(baseline.items())[::5]})
    baseline.update({10**6 + row: row for row in range(0, 40, 3)})  # and some rows this config lacks
    comparison = compare_source_rows(source_rows, SourceRows.read(
        [[{"row_index": row, "id": f"{row_id:016x}"} for row, row_id in baseline.items()]]))
    ordered = sorted(first_of.items())
    assert comparison.other_ids == [(position, row, baseline[row]) for (row, row_id), position in ordered
                                    if row in baseline and baseline[row] != row_id]
    assert comparison.only_here == [position for (row, _), position in ordered if row not in baseline]
    assert comparison.only_baseline == sorted((10**6 + row, row) for row in range(0, 40, 3))

    paths: dict[int, list[tuple[int, int]]] = {}
    for position, row in enumerate(rows):
        if _fits(row["row_index"]) and _fits(row["path_index"]):
            paths.setdefault(row["row_index"], []).append((position, row["path_index"]))
    for complete in (True, False):
        expected = []
        for row, found in paths.items():
            indices = [path for _, path in found]
            if (len(found) > 2 or min(indices) < 0 or max(indices) >= 2
                    or (complete and len(set(indices)) < 2)):
                expected.append((min(position for position, _ in found), row, len(found), min(indices), max(indices)))
        assert expected  # the folder has programs of one path, and of three
        assert seen.path_problems(2, complete) == sorted(expected)
