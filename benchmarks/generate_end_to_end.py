"""End-to-end dataset generation: ``lintseq generate`` vs the reference ``pylintseq`` command, side by side.

    .venv/bin/python benchmarks/generate_end_to_end.py [--corpus functions modules] [--workers 1 2]
                                                       [--modules N] [--repeat 1 4] [--scale 10] [--rounds 1]
                                                       [--profiles portable reference] [--name NAME]

Both commands turn the same JSON Lines file of real programs into edit sequences, one path per program,
with the same number of worker processes (1, then 2), one command at a time. Two corpora
(``benchmarks/corpus.py``): ``functions``, HumanEval's canonical solutions and standard-library functions
(284 rows, ~25 lines; ``--repeat`` also runs them 4 times over, with distinct instructions, as a longer
input over which the fixed cost of a command weighs less), and ``modules``, 48 whole modules of 80-400
lines (standard library and pure-Python packages of this environment, spread evenly over the range).
Reported per run: rows per second and seconds per row (wall clock of the whole command, interpreter
start-up, imports and every first load included on both sides) and the peak resident memory of its process tree (the command and its workers,
sampled every 50 ms). With ``--rounds N`` each pair of commands runs N times, in turns, and the fastest run of
each side counts (the machine's load changes between runs; the CPU time of that run is reported too). ``--scale N`` also runs hub_tools on the functions repeated N times, to show that
its memory does not grow with the input. ``--profiles portable reference`` runs ours with both lint profiles:
the reference profile is the paper's check, edit for edit the work pylintseq does, while the portable one
(the default) keeps a package module's relative imports and so makes more edits on such modules. Figures go
to ``benchmarks/results/<--name>.json`` (default ``generate_end_to_end.json``).
Read the ratios: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
import reference_env
from measure import run_measured
from results import save_result

ROOT = Path(__file__).resolve().parents[1]


def write_source(path: Path, rows: list[dict], repeat: int = 1) -> int:
    with path.open("w") as handle:
        for copy in range(repeat):
            for row in rows:
                # A different instruction per copy: a new row id, so every copy is real work.
                handle.write(json.dumps({**row, "instruction": f"{row['instruction']}\n# copy {copy}"}) + "\n")
    return len(rows) * repeat


def ours(source: Path, workers: int, folder: Path, profile: str = "portable") -> dict:
    output = folder / f"ours-{workers}-{profile}-{source.stem}"
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source), "--output-dir", str(output),
               "--workers", str(workers), "--profile", profile, "--no-progress"]
    return run_measured(command)


def reference(source: Path, workers: int, folder: Path, python: Path, shim: Path) -> dict:
    output = folder / f"reference-{workers}-{source.stem}"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir()
    command = [str(python.parent / "pylintseq"), "-p", str(source), "-d", str(output),
               "-c", str(workers), "-s", "1", "--code_data_field", "response", "--prompt_data_field", "instruction"]
    # The shim reaches the reference's worker processes too: they import sitecustomize at start-up.
    env = {**os.environ, "PYTHONPATH": str(shim)}
    return run_measured(command, env=env)


def fastest(runs: list[dict]) -> dict:
    """The fastest of a command's runs, with the largest peak memory seen in any of them."""
    best = min(runs, key=lambda run: run["seconds"])
    return {**best, "peak_tree_mib": max(run["peak_tree_mib"] for run in runs)}


def _rows(corpus_name: str, module_count: int) -> list[dict]:
    if corpus_name == "functions":
        programs = (corpus.humaneval_programs() + corpus.stdlib_functions(None))[:284]
    else:
        modules = sorted(corpus.whole_modules(), key=lambda module: len(module[1].splitlines()))
        programs = [text for _, text in modules[:: max(1, len(modules) // module_count)][:module_count]]
    return [{"instruction": f"Write this code.\n{program.strip().splitlines()[0]}", "response": program}
            for program in programs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=["functions", "modules"], default=["functions", "modules"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--modules", type=int, default=48, help="how many whole modules (spread over 80-400 lines)")
    parser.add_argument("--repeat", type=int, nargs="+", default=[1, 4],
                        help="also run the functions this many times over (distinct instructions): the fixed cost "
                             "of a command (start-up, card, pictures) weighs less on a longer input")
    parser.add_argument("--scale", type=int, default=10, help="input multiple for the memory check (0: skip)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each command, in turns; the fastest counts")
    parser.add_argument("--profiles", nargs="+", choices=["portable", "reference"], default=["portable"],
                        help="lint profiles of our runs (reference: the paper's check, the same work as pylintseq)")
    parser.add_argument("--name", default="generate_end_to_end", help="results file name (a run with another name "
                        "sits beside the default one)")
    args = parser.parse_args()

    python = reference_env.reference_python()
    reference_env.match_packages(python, list(corpus.PACKAGES))
    folder = Path(tempfile.mkdtemp(prefix="lintseq-bench-"))
    shim = folder / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(reference_env.COMPAT_PRELUDE)
    figures: dict = {}
    runs = [(name, 1) for name in args.corpus if name != "functions"]
    runs = [("functions", repeat) for repeat in args.repeat if "functions" in args.corpus] + runs
    for corpus_name, repeat in runs:
        rows = _rows(corpus_name, args.modules)
        label = corpus_name if repeat == 1 else f"{corpus_name} x{repeat}"
        source = folder / f"{label.replace(' ', '-')}.jsonl"
        count = write_source(source, rows, repeat=repeat)
        lines = [len(row["response"].splitlines()) for row in rows]
        print(f"\n{label}: {count} rows, {min(lines)}-{max(lines)} lines (mean {sum(lines) / len(rows):.0f}), "
              "one edit path each, whole commands")
        print(f"{'run':<54}{'rows/s':>9}{'s/row':>8}{'ratio':>8}{'peak RSS MiB':>15}")
        results = figures[label] = {"rows": count, "lines_mean": sum(lines) / len(rows), "rounds": args.rounds}
        for workers in args.workers:
            reference_runs, our_runs = [], {profile: [] for profile in args.profiles}
            for _ in range(args.rounds):
                reference_runs.append(reference(source, workers, folder, python, shim))
                for profile in args.profiles:
                    our_runs[profile].append(ours(source, workers, folder, profile))
            base = fastest(reference_runs)
            labelled = [("pylintseq 0.0.2", reference_runs)] + [
                ("hub_tools lintseq generate" + ("" if profile == "portable" else f" --profile {profile}"), runs)
                for profile, runs in our_runs.items()]
            for name, runs in labelled:
                run = fastest(runs)
                seconds, memory, ratio = run["seconds"], run["peak_tree_mib"], base["seconds"] / run["seconds"]
                print(f"{name + f', {workers} worker(s)':<54}{count / seconds:>9.2f}{seconds / count:>8.3f}"
                      f"{ratio:>7.1f}x{memory:>15.0f}")
                results[f"{name} workers={workers}"] = {
                    "rows_per_second": count / seconds, "seconds_per_row": seconds / count, "ratio": ratio,
                    "cpu_seconds": run["cpu_seconds"], "cpu_ratio": base["cpu_seconds"] / run["cpu_seconds"],
                    "peak_rss_mib": memory, "seconds_of_each_round": [each["seconds"] for each in runs]}
    if args.scale and "functions" in args.corpus:
        rows = _rows("functions", args.modules)
        big = folder / f"programs-x{args.scale}.jsonl"
        big_count = write_source(big, rows, repeat=args.scale)
        measured = ours(big, args.workers[-1], folder)
        seconds, memory = measured["seconds"], measured["peak_tree_mib"]
        small = figures.get("functions", {}).get(f"hub_tools lintseq generate workers={args.workers[-1]}")
        small_memory = f"{small['peak_rss_mib']:.0f} MiB" if small else "not run (--repeat without 1)"
        print(f"\nmemory vs input size, hub_tools, {args.workers[-1]} workers: {len(rows)} rows -> {small_memory}, "
              f"{big_count} rows -> {memory:.0f} MiB ({big_count / seconds:.1f} rows/s)")
        figures["scale"] = {"rows": big_count, "peak_rss_mib": memory, "rows_per_second": big_count / seconds}
    path = save_result(args.name, figures, packages=["pylint", "astroid", "pylintseq"])
    print(f"\nwrote {path.relative_to(ROOT)}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
