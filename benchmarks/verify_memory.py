"""Memory of ``lintseq verify``'s checks across rows at corpus scale: this checkout's against an earlier revision's.

    .venv/bin/python benchmarks/verify_memory.py [--rows 1000000] [--vs c38165d]

Writes a dataset folder of ``--rows`` baseline rows (Parquet shards of 100,000 rows; one program in four
repeats an earlier row's, and the folder records none of them, so ``duplicate_source`` fails) to a scratch
folder, then runs ``verify_dataset`` on it in a fresh process for each revision (the other through
``git worktree``), one after the other, with the per-row checks (``check_batch``: replay, lint) replaced by
a no-op in both: what is left is reading the rows and the checks that need every row at once. Reported: peak
RSS and seconds of each, whether both reports are the same, and the bytes each row past the first shard adds
to the peak (against a run on a folder of one shard).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
PER_SHARD = 100_000

VERIFY = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import hub_tools.datagen.verify as verify
verify.check_batch = lambda batch: []  # the per-row checks are not what is measured
started = time.perf_counter()
report = verify.verify_dataset(sys.argv[2], verify.VerifyConfig(progress=False, batch_size=256))
print(json.dumps({"seconds": time.perf_counter() - started, "report": report.format(),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_folder(folder: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hub_tools.datagen.rows import row_id

    target = folder / "data" / "baseline"
    target.mkdir(parents=True)
    shards = -(-rows // PER_SHARD)
    for shard in range(shards):
        columns = {name: [] for name in ("id", "row_index", "instruction", "response", "program", "prompt",
                                         "completion")}
        for index in range(shard * PER_SHARD, min(rows, (shard + 1) * PER_SHARD)):
            program = f"def f{index - index % 4 if index % 4 == 3 else index}(x):\n    return x + 1\n"
            instruction = f"Write function {index}."
            for name, value in (("id", row_id(instruction, program)), ("row_index", index),
                                ("instruction", instruction), ("response", program), ("program", program),
                                ("prompt", instruction), ("completion", program)):
                columns[name].append(value)
        pq.write_table(pa.table(columns), target / f"train-{shard:05d}-of-{shards:05d}.parquet")
    source = {"name": "synthetic", "prompt_field": "instruction", "code_field": "response", "split": "train"}
    stats = {"source_rows": rows, "programs": rows, "rows": rows, "skipped": {}, "duplicates": 0}
    from hub_tools.datagen.manifest import DATA_RULES

    entry = {"seed": 0, "source": source, "stats": stats, "data_rules": DATA_RULES}
    settings = {"format_version": 1, "configs": {"baseline": entry},
                "default_config": "baseline"}
    (folder / "lintseq_config.json").write_text(json.dumps(settings))


def run(package_root: Path, folder: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", VERIFY, str(package_root), str(folder)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vs", default="c38165d", help="the earlier revision (default: c38165d)")
    parser.add_argument("--name", default="verify_memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder, small, other = Path(scratch) / "folder", Path(scratch) / "small", Path(scratch) / "other"
        write_folder(folder, args.rows)
        write_folder(small, PER_SHARD)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.vs], check=True)
        try:
            earlier, this = run(other, folder), run(ROOT, folder)
            # What a verify holds whatever the folder's size: the interpreter, pyarrow, numpy and one shard
            # being read (its row group: 80 MiB here), measured on a folder of one shard.
            fixed = {"this": run(ROOT, small)["peak_rss_mib"], "vs": run(other, small)["peak_rss_mib"]}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=True)
    figures = {"rows": args.rows, "vs": args.vs,
               "this_peak_rss_mib": round(this["peak_rss_mib"], 1), "this_seconds": round(this["seconds"], 1),
               "vs_peak_rss_mib": round(earlier["peak_rss_mib"], 1), "vs_seconds": round(earlier["seconds"], 1),
               "same_report": this["report"] == earlier["report"], "report": this["report"],
               "this_peak_rss_mib_one_shard": round(fixed["this"], 1), "vs_peak_rss_mib_one_shard": round(fixed["vs"], 1)}
    figures["memory_ratio"] = round(figures["vs_peak_rss_mib"] / figures["this_peak_rss_mib"], 2)
    for side in ("this", "vs"):  # what each row past the first shard adds to the peak
        figures[f"{side}_bytes_per_row"] = round((figures[f"{side}_peak_rss_mib"] - fixed[side]) * 2**20
                                                 / max(args.rows - PER_SHARD, 1))
    print(json.dumps(figures, indent=1))
    print(f"wrote {save_result(args.name, figures, packages=['pyarrow', 'numpy'])}")


if __name__ == "__main__":
    main()
