"""The merge of a run's statistics at corpus scale: figures kept as counts give what the full lists give, and
the merge holds one part at a time."""

from __future__ import annotations

import random
import statistics
import tracemalloc

import numpy as np
import pytest

from hub_tools.datagen.deduplication import FirstRows
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.run_statistics import EXAMPLES_KEPT, merge_part_statistics
from hub_tools.datagen.token_statistics import TokenCounts
from hub_tools.datagen.value_counts import ValueCounts


@pytest.mark.parametrize("size", [1, 2, 3, 20, 21, 999, 1000, 4096])
def test_counts_give_what_statistics_and_numpy_give(size):
    rng = random.Random(size)
    for spread in (3, 50, 5000):
        values = [rng.randint(0, spread) for _ in range(size)]
        counts = ValueCounts(values)
        assert counts.mean() == statistics.fmean(values)
        assert counts.median() == statistics.median(values) and type(counts.median()) is type(statistics.median(values))
        array = np.asarray(values, dtype=np.int64)
        for q in (0, 5, 50, 90, 95, 99, 100):
            assert counts.percentile(q) == float(np.percentile(array, q)), (size, spread, q)
        assert float(counts.median()) == float(np.median(array)) and counts.sum() == int(array.sum())


def test_token_counts_match_numpy_on_real_shapes():
    rng = random.Random(7)
    pairs = [[rng.randint(5, 400), rng.randint(1, 3000)] for _ in range(2501)]
    counts = TokenCounts()
    counts.add(pairs)
    summary = counts.summary()
    array = np.asarray(pairs, dtype=np.int64)
    total = array.sum(axis=1)
    for name, values in (("prompt", array[:, 0]), ("completion", array[:, 1]), ("total", total)):
        assert summary[name] == {"mean": round(float(values.mean()), 1), "median": round(float(np.median(values)), 1),
                                 "p95": round(float(np.percentile(values, 95)), 1), "max": int(values.max()),
                                 "sum": int(values.sum())}
    assert summary["over_max_length"] == round(float((total > 1024).mean()), 4) and summary["rows"] == 2501


def _parts(rows: int, per_part: int = 500, skipped_per_part: int = 0):
    """Parts' records as workers write them: five paths per program, 40 distinct programs in all."""
    def records():
        rng = random.Random(0)
        for start in range(0, rows, per_part):
            emitted = []
            for index in range(start, start + per_part):
                edits = [rng.randint(5, 30) for _ in range(5)]
                emitted.append({"row_index": index, "location": f"corpus.jsonl:{index + 1}", "key": f"{index % 40:016x}",
                                "edits": edits, "lines": [rng.randint(1, 9) for _ in range(sum(edits))],
                                "tokens": [[rng.randint(10, 90), rng.randint(50, 900)] for _ in range(5)],
                                "baseline_tokens": [20, 300], "indent": "\t" if index % 7 == 0 else None})
            skipped = [{"reason": "syntax_error", "location": f"bad.jsonl:{start + n}", "detail": "x"}
                       for n in range(skipped_per_part)]
            overlaps = [{"row_index": start, "benchmark": "humaneval", "task_id": "HumanEval/0", "part": "solution",
                         "field": "program", "coverage": 1.0, "renamed": False, "dropped": False}]
            yield {"source_rows": per_part + skipped_per_part, "programs": per_part, "rows": 5 * per_part,
                   "skipped": skipped, "lint_calls": 3 * per_part, "emitted": emitted, "overlaps": overlaps}
    return records


def test_the_merge_holds_one_part_at_a_time():
    """Peak memory of the merge barely moves from 2,000 to 10,000 rows of 40 programs (it held every row's
    figures before: about 4 KB a row, so five times as much)."""
    config = GenerationConfig(sampler="lintseq", dedup="exact")
    peaks = {}
    for rows in (2000, 10000):
        tracemalloc.start()
        merged = merge_part_statistics(_parts(rows), config)
        peaks[rows] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert merged.programs == 40 and merged.count == rows - 40 and len(merged.excluded) == rows - 40
    # What grows is the list of duplicates, a few ints per row (every row past the first 40 is one here).
    assert peaks[10000] < 2.5 * peaks[2000], peaks


def test_listed_rows_are_the_first_and_every_one_is_counted():
    config = GenerationConfig(sampler="lintseq", dedup="exact")
    merged = merge_part_statistics(_parts(1000, per_part=500, skipped_per_part=600), config)
    assert merged.skipped == {"syntax_error": 1200, "duplicate": 960}
    assert len(merged.skipped_rows) == EXAMPLES_KEPT
    assert [entry["location"] for entry in merged.skipped_rows[:2]] == ["bad.jsonl:0", "bad.jsonl:1"]
    assert merged.skipped_rows[-1]["location"] == "bad.jsonl:899"  # the second part's 400th: the list is full
    # Then the removed duplicates, the smallest row indices first, as many as the list still holds.
    fewer = merge_part_statistics(_parts(3000, per_part=500, skipped_per_part=10), config)
    duplicates = [entry for entry in fewer.skipped_rows if entry["reason"] == "duplicate"]
    assert len(fewer.skipped_rows) == EXAMPLES_KEPT and len(duplicates) == EXAMPLES_KEPT - 60
    assert duplicates[0] == {"reason": "duplicate", "location": "corpus.jsonl:41",
                             "detail": "same normalised program as source row 0"}
    assert [int(entry["location"].split(":")[1]) for entry in duplicates] == list(range(41, 41 + len(duplicates)))
    assert fewer.skipped == {"syntax_error": 60, "duplicate": 2960}
    # Overlaps of removed duplicates are not counted: row 0 stays, rows 500, 1000... repeat row 20's or 0's.
    assert fewer.sampler["contamination"]["rows"] == 1 and fewer.sampler["contamination"]["by_task"] == [
        {"benchmark": "humaneval", "task_id": "HumanEval/0", "rows": 1}]
    stats = fewer.sampler
    assert stats["other_indentation"]["programs"] == 6 and stats["other_indentation"]["units"] == {"tabs": 6}


def test_first_rows_keep_the_smallest_row_of_each_program_as_a_dict_would():
    """The merge's first pass keeps 16 bytes a program (``FirstRows``) where a dict of key strings took ~150:
    the same answers as the dict, in any order of arrival, on 200,000 programs with repeats."""
    rng = random.Random(5)
    keys = [f"{rng.getrandbits(64):016x}" for _ in range(50_000)]
    arrivals = [(rng.choice(keys), rng.randrange(10**9)) for _ in range(200_000)]
    first, expected = FirstRows(), {}
    for key, row in arrivals:
        first.add(key, row)
        expected[key] = min(expected.get(key, row), row)
    asked = [key for key, _ in arrivals[::7]]
    assert first.first_of(asked) == [expected[key] for key in asked]
    assert first.first_of([]) == []
    with pytest.raises(KeyError, match="never added"):
        first.first_of([next(f"{value:016x}" for value in range(10**6) if f"{value:016x}" not in expected)])
    assert FirstRows().first_of([]) == []
