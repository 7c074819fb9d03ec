"""Memory of the merge step at corpus scale: this checkout's against an earlier revision's, on the same parts.

    .venv/bin/python benchmarks/merge_memory.py [--rows 1000000] [--vs 2e035db]

Writes ``--rows`` rows' part records as workers write them (``.lintseq-work`` files of 1,000 rows: five paths
a program, 5 to 40 edits a path, token counts, one program in four a repeat) to a scratch folder, then runs
the merge of the statistics (``merge_part_statistics``, with ``--dedup exact`` and token counts) in a fresh
process for each revision (the other through ``git worktree``), one after the other. Reported: peak RSS and
seconds of each, and whether both recorded the same statistics.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
PER_PART = 1000

# Run in a fresh interpreter with the revision's package first on the path.
MERGE = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import hub_tools.datagen.run_statistics as run_statistics
from hub_tools.datagen.rows import GenerationConfig
run_statistics._tokenizer_description = lambda name: {"name": name}
folder = Path(sys.argv[2])
def parts():
    for path in sorted(folder.glob("part-*.json")):
        yield json.loads(path.read_text())
config = GenerationConfig(sampler="lintseq", tokenizer="tokenizer", dedup="exact")
started = time.perf_counter()
try:
    merged = run_statistics.merge_part_statistics(parts, config)
except TypeError:  # revisions that took every part's records as one list
    merged = run_statistics.merge_part_statistics(list(parts()), config)
seconds = time.perf_counter() - started
figures = {"sampler": merged.sampler, "baseline": merged.baseline, "count": merged.count,
           "excluded": len(merged.excluded)}
print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "figures": figures}, sort_keys=True))
"""


def write_parts(folder: Path, rows: int) -> None:
    rng = random.Random(0)
    for number, start in enumerate(range(0, rows, PER_PART)):
        emitted = []
        for index in range(start, start + PER_PART):
            edits = [rng.randint(5, 40) for _ in range(5)]
            key = rng.randrange(index) if index and rng.random() < 0.25 else index  # one program in four repeats
            emitted.append({"row_index": index, "location": f"train-{index // 100_000:05d}.jsonl:{index % 100_000 + 1}",
                            "key": f"{key:016x}", "edits": edits, "lines": [rng.randint(1, 6) for _ in range(sum(edits))],
                            "tokens": [[rng.randint(20, 200), rng.randint(100, 2000)] for _ in range(5)],
                            "baseline_tokens": [rng.randint(20, 200), rng.randint(50, 800)], "indent": None})
        part = {"source_rows": PER_PART, "programs": PER_PART, "rows": 5 * PER_PART, "skipped": [],
                "lint_calls": 0, "emitted": emitted, "overlaps": []}
        (folder / f"part-{number:05d}.json").write_text(json.dumps(part))


def merge(checkout: Path, folder: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", MERGE, str(checkout), str(folder)], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vs", default="2e035db", help="the earlier revision (default: the last one that held "
                                                        "every row's figures)")
    parser.add_argument("--name", default="merge_memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        parts, other = Path(scratch) / "parts", Path(scratch) / "other"
        parts.mkdir()
        write_parts(parts, args.rows)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.vs], check=True)
        try:
            ours, theirs = merge(ROOT, parts), merge(other, parts)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=True)
    figures = {"rows": args.rows, "vs": args.vs, "same_statistics": ours.pop("figures") == theirs.pop("figures"),
               "this_checkout": ours, "earlier": theirs,
               "memory_ratio": round(theirs["peak_rss_mib"] / ours["peak_rss_mib"], 1)}
    print(json.dumps(figures, indent=1))
    print(f"wrote {save_result(args.name, figures)}")


if __name__ == "__main__":
    main()
