"""Reading a large JSON document source: one row at a time against the whole document at once.

    .venv/bin/python benchmarks/json_documents.py [--rows 200000]

The source is one ``.json`` file, ``{"data": [row, row, ...]}``, of ``--rows`` rows of real functions
(HumanEval's canonical solutions and standard-library functions, with distinct instructions), as instruction
datasets are often published. Each way reads every row in a fresh process, and the process's peak resident
memory and its seconds are reported:

- ``streamed``: ``document_rows`` (``hub_tools/datagen/json_documents.py``), the reader under ``Source``
  for ``lintseq generate`` and every task of a distributed run;
- ``whole document``: ``json.loads`` of the file's text, then its rows, the way a ``.json`` source was read
  before (and the usual way to read one).

Both hand each row to the same work (its JSON, hashed), which stands in for what ``Source`` makes of a row.

The rows are checked equal. Figures go to ``benchmarks/results/json_documents.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from results import save_result

ROOT = Path(__file__).resolve().parents[1]


def write_document(path: Path, rows: int) -> None:
    programs = corpus.humaneval_programs() + corpus.stdlib_functions(None)
    records = [{"instruction": f"Write function {index}.", "response": programs[index % len(programs)]}
               for index in range(rows)]
    path.write_text(json.dumps({"version": 1, "data": records}), encoding="utf-8")


def _peak_mib() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not carried over from the parent
    that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def worker(way: str, path: str) -> None:
    import hashlib

    sys.path.insert(0, str(ROOT))
    from hub_tools.datagen.json_documents import document_rows  # imported before the clock starts, either way

    start = time.perf_counter()
    digest = hashlib.sha256()
    count = 0
    if way == "streamed":
        with open(path, "rb") as handle:
            for row in document_rows(handle):
                digest.update(json.dumps(row, sort_keys=True).encode())
                count += 1
    elif way == "whole document":
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        for row in document["data"]:
            digest.update(json.dumps(row, sort_keys=True).encode())
            count += 1
    seconds = time.perf_counter() - start
    peak_mib = _peak_mib()
    print(json.dumps({"rows": count, "seconds": seconds, "peak_mib": peak_mib, "sha256": digest.hexdigest()}))


def measure(way: str, path: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--worker", way, str(path)], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--worker", nargs=2, metavar=("WAY", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.json"
        write_document(path, args.rows)
        size_mib = path.stat().st_size / 2**20
        baseline = json.loads(subprocess.run([sys.executable, __file__, "--worker", "nothing", str(path)],
                                             capture_output=True, text=True, check=True).stdout)["peak_mib"]
        runs = {way: measure(way, path) for way in ("streamed", "whole document")}
    if runs["streamed"]["sha256"] != runs["whole document"]["sha256"]:
        raise SystemExit("the two ways read different rows")
    figures = {"rows": args.rows, "file_mib": round(size_mib, 1), "worker_reading_nothing_peak_mib": round(baseline, 1),
               "runs": {way: {"seconds": round(run["seconds"], 3), "peak_mib": round(run["peak_mib"], 1)}
                        for way, run in runs.items()}}
    streamed, whole = runs["streamed"], runs["whole document"]
    figures["memory_ratio"] = round(whole["peak_mib"] / streamed["peak_mib"], 2)
    figures["time_ratio"] = round(whole["seconds"] / streamed["seconds"], 2)
    print(f"{args.rows} rows, {size_mib:.0f} MiB of JSON (the worker reading nothing peaks at {baseline:.0f} MiB)")
    for way, run in figures["runs"].items():
        print(f"  {way:15s} {run['seconds']:7.2f} s   peak {run['peak_mib']:8.1f} MiB")
    print(f"  whole document / streamed: memory {figures['memory_ratio']}x, time {figures['time_ratio']}x")
    save_result("json_documents", figures)


if __name__ == "__main__":
    main()
