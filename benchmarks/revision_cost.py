"""What a change costs: generation speed of two revisions of hub_tools, interleaved in one run.

    .venv/bin/python benchmarks/revision_cost.py BEFORE [AFTER] [--rounds 5]

BEFORE and AFTER are git revisions (AFTER defaults to the working tree). Each round runs, for each side in
turn (the order alternates between rounds), ``lintseq_core.py``'s own sampling worker (one core, portable
profile, the 284 programs of that benchmark) and ``lintseq generate`` with 1 and 2 workers on the JSON
Lines file of ``generate_end_to_end.py``. Reported: medians of programs or rows per second of wall clock,
and per CPU-second of the whole process tree, which other load on a shared machine disturbs less.

A change to the linter is measured more finely too: both revisions' ``PylintLinter`` in one process,
sampling the same programs in turns (before-after, after-before, in a balanced order), CPU time per side,
and whether the edit paths are identical; on the functions and on ``--modules`` whole modules. The BEFORE
linter module is loaded next to AFTER's other modules, so this needs the two revisions to share the linter's
imports (``hub_tools.linters.profiles``...).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from results import save_result

ROOT = Path(__file__).resolve().parents[1]


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _checkout(revision: str, folder: Path) -> Path:
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _timed(command: list[str], tree: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children) of one command run from ``tree``."""
    started, cpu = time.perf_counter(), _children_cpu_seconds()
    subprocess.run(command, check=True, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu_seconds() - cpu


def _whole_modules(count: int) -> list[str]:
    """``count`` whole modules spread over 80-400 lines, chosen as ``lintseq_core.py`` chooses them."""
    modules = sorted(corpus.whole_modules(), key=lambda module: len(module[1].splitlines()))
    return [text for _, text in modules[:: max(1, len(modules) // count)][:count]]


def interleaved(before_tree: Path, rounds: int, module_count: int) -> dict:
    """Both revisions' linters in this process, in turns on the same programs (run with AFTER importable):
    the functions of the sampling measure, and whole modules."""
    import importlib.util

    from hub_tools.linters.pylint_backend import PylintLinter
    from hub_tools.lintseq import sample_edit_path

    spec = importlib.util.spec_from_file_location("before_backend", before_tree / "hub_tools/linters/pylint_backend.py")
    before_backend = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(before_backend)
    linters = {"before": before_backend.PylintLinter(), "after": PylintLinter()}
    for linter in linters.values():
        linter.lint("x = 1")  # start-up outside the clock
    corpora = {"functions": corpus.humaneval_programs() + corpus.stdlib_functions(),
               "modules": _whole_modules(module_count)}
    figures = {}
    for name, programs in corpora.items():
        spent, identical = {"before": 0.0, "after": 0.0}, 0
        for round_number in range(rounds):
            for index, program in enumerate(programs):
                # Who goes first alternates with the program and with every other round: ABBA, balanced.
                order = ["before", "after"] if (index + round_number + round_number // 2) % 2 == 0 else ["after", "before"]
                diffs = {}
                for side in order:
                    started = time.process_time()
                    diffs[side] = sample_edit_path(program, linters[side], seed=index).diffs
                    spent[side] += time.process_time() - started
                identical += diffs["before"] == diffs["after"]
        paths = rounds * len(programs)
        figures[name] = {"paths": paths, "identical_paths": identical, "cpu_before": round(paths / spent["before"], 2),
                         "cpu_after": round(paths / spent["after"], 2),
                         "cpu_ratio": round(spent["before"] / spent["after"], 3)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="git revision measured as 'before'")
    parser.add_argument("after", nargs="?", help="git revision measured as 'after' (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modules", type=int, default=16, help="whole modules in the linters-in-one-process measure")
    parser.add_argument("--interleaved", metavar="BEFORE_TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.interleaved:
        print(json.dumps(interleaved(Path(args.interleaved), args.rounds, args.modules)))
        return

    work = Path(tempfile.mkdtemp(prefix="revision-cost-"))
    trees = {"before": _checkout(args.before, work / "before"),
             "after": _checkout(args.after, work / "after") if args.after else ROOT}
    programs = corpus.humaneval_programs() + corpus.stdlib_functions()
    rows = [{"instruction": f"Write this function.\n{program.splitlines()[0]}", "response": program}
            for program in corpus.humaneval_programs() + corpus.stdlib_functions(None)][:284]
    source = work / "programs.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    request = work / "request.json"
    request.write_text(json.dumps({"programs": programs, "profile": "portable", "passes": 1}))

    measures = {"sampling (programs/s, 1 core)": len(programs), "generate, 1 worker (rows/s)": len(rows),
                "generate, 2 workers (rows/s)": len(rows)}
    wall = {(measure, side): [] for measure in measures for side in trees}
    cpu = {(measure, side): [] for measure in measures for side in trees}
    for round_number in range(args.rounds):
        for side in (list(trees) if round_number % 2 == 0 else list(trees)[::-1]):
            tree = trees[side]
            commands = [
                [sys.executable, str(tree / "benchmarks" / "lintseq_core.py"), "--worker", "ours", str(request),
                 str(work / "response.json")],
                *([sys.executable, "-m", "hub_tools.cli", "generate", str(source), "--output-dir",
                   str(work / f"out-{side}-{workers}-{round_number}"), "--workers", str(workers), "--no-progress"]
                  for workers in (1, 2)),
            ]
            for measure, command in zip(measures, commands, strict=True):
                seconds, cpu_seconds = _timed(command, tree)
                if measure.startswith("sampling"):  # the worker's own clock leaves its start-up out
                    seconds = sum(json.loads((work / "response.json").read_text())["cold"]["seconds"])
                wall[measure, side].append(measures[measure] / seconds)
                cpu[measure, side].append(measures[measure] / cpu_seconds)
        print(f"round {round_number + 1} of {args.rounds} done", file=sys.stderr)

    figures = {"before": args.before, "after": args.after or "working tree", "rounds": args.rounds}
    print(f"before {args.before}, after {args.after or 'working tree'}; medians of {args.rounds} rounds")
    print(f"{'measure':<32}{'wall: before':>14}{'after':>8}{'ratio':>7}{'per CPU-s: before':>20}{'after':>8}{'ratio':>7}")
    for measure in measures:
        wall_before, wall_after = (statistics.median(wall[measure, side]) for side in trees)
        cpu_before, cpu_after = (statistics.median(cpu[measure, side]) for side in trees)
        print(f"{measure:<32}{wall_before:>14.1f}{wall_after:>8.1f}{wall_after / wall_before:>7.3f}"
              f"{cpu_before:>20.1f}{cpu_after:>8.1f}{cpu_after / cpu_before:>7.3f}")
        figures[measure] = {"wall_before": round(wall_before, 2), "wall_after": round(wall_after, 2),
                            "wall_ratio": round(wall_after / wall_before, 3), "cpu_before": round(cpu_before, 2),
                            "cpu_after": round(cpu_after, 2), "cpu_ratio": round(cpu_after / cpu_before, 3)}
    result = subprocess.run([sys.executable, __file__, args.before, "--interleaved", str(trees["before"]),
                             "--rounds", str(max(args.rounds, 4)), "--modules", str(args.modules)],
                            check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(trees["after"])}, cwd=trees["after"])
    figures["linters in one process"] = json.loads(result.stdout)
    for name, shared in figures["linters in one process"].items():
        print(f"{'linters in one process, ' + name:<32}{'':>29}{shared['cpu_before']:>20.1f}{shared['cpu_after']:>8.1f}"
              f"{shared['cpu_ratio']:>7.3f}  ({shared['identical_paths']} of {shared['paths']} paths identical)")
    save_result("revision_cost", figures, packages=["pylint", "astroid"])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
