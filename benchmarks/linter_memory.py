"""Memory of a linter kept alive for a whole run: resident memory and live objects, program after program.

    .venv/bin/python benchmarks/linter_memory.py [--programs 5000] [--every 250] [--profile reference]
        [--missing-imports] [--steady-from N] [--name linter_memory]

One :class:`~hub_tools.linters.PylintLinter` samples one edit path per program, cycling through the
benchmark corpora (HumanEval solutions, standard-library functions, whole modules of 80-160 lines) with a
new seed each time, as a generation worker does. Every ``--every`` programs it records the resident set
size (after a garbage collection), the number of live objects and of modules in astroid's cache. The
first rounds load the standard-library trees the programs import; after that the growth per 1,000
programs once astroid's cache has stopped growing (least-squares slope) is what a longer run would add. A
shorter run extrapolates it to 100,000 programs; ``--programs 100000`` (25 minutes on one core here) measures
that run itself. Figures go to ``benchmarks/results/<name>.json``.

``--missing-imports`` puts before each program imports of modules nobody has, named after the program's
number (``import pkg_17``, ``from .local_17 import helper``), as a corpus of many repositories holds
thousands of third-party and local module names: astroid caches every failed import, and what that cache
holds must not grow with the names (it keeps the last 10,000: ``--steady-from 12000`` fits the growth
past that bound).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from results import save_result


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares growth per program."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / variance if variance else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=5000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--profile", default="portable", choices=["portable", "reference"])
    parser.add_argument("--missing-imports", action="store_true",
                        help="give every program imports of module names of its own that do not exist")
    parser.add_argument("--name", default="linter_memory", help="results file name")
    parser.add_argument("--steady-from", type=int, default=None,
                        help="fit the growth from this many programs on (default: once astroid's cache stops growing)")
    args = parser.parse_args()

    from astroid import MANAGER

    from hub_tools.linters import PylintLinter
    from hub_tools.lintseq import sample_edit_path

    programs = corpus.humaneval_programs() + corpus.stdlib_functions(None)
    programs += [text for _, text in corpus.whole_modules(80, 160)][:30]
    linter = PylintLinter(args.profile, timeout=None)
    process = psutil.Process()
    samples = []
    start = time.perf_counter()
    print(f"{'programs':>9}{'RSS MiB':>10}{'live objects':>14}{'cached modules':>16}{'lint calls':>12}")
    for index in range(args.programs):
        program = programs[index % len(programs)]
        if args.missing_imports:
            program = f"import pkg_{index}\nfrom .local_{index} import helper\n{program}\nhelper(pkg_{index})"
        sample_edit_path(program, linter, seed=index)
        if (index + 1) % args.every == 0:
            gc.collect()
            row = {"programs": index + 1, "rss_mib": process.memory_info().rss / 2**20,
                   "objects": len(gc.get_objects()), "cached_modules": len(MANAGER.astroid_cache),
                   "lint_calls": linter.calls, "seconds": time.perf_counter() - start}
            samples.append(row)
            print(f"{row['programs']:>9}{row['rss_mib']:>10.1f}{row['objects']:>14}{row['cached_modules']:>16}"
                  f"{row['lint_calls']:>12}", flush=True)
    figures = summarize(samples, args.steady_from)
    print(f"\nsteady state from {figures['steady_from_programs']:,} programs (standard-library trees all loaded): "
          f"{figures['rss_mib_per_1000_programs']:+.2f} MiB and {figures['objects_per_1000_programs']:+.0f} live "
          f"objects per 1,000 programs; RSS {samples[0]['rss_mib']:.0f} MiB at {samples[0]['programs']:,} programs, "
          f"{samples[-1]['rss_mib']:.0f} MiB at {samples[-1]['programs']:,}"
          + ("" if samples[-1]["programs"] >= 100_000 else
             f", extrapolated to 100,000: {figures['extrapolated_rss_mib_at_100000_programs']:.0f} MiB"))
    figures.update(profile=args.profile, missing_imports=args.missing_imports)
    save_result(args.name, figures, packages=["pylint", "astroid"])


def summarize(samples: list[dict], steady_from: int | None = None) -> dict:
    """Growth per program once astroid's cache stopped growing (the one-time loads of standard-library
    modules are steps, not a trend), or from ``steady_from`` programs on (with ``--missing-imports``, once
    the failed imports astroid keeps have reached their bound), and the RSS it extrapolates to at 100,000
    programs."""
    steady = len(samples) - 1
    while steady > 0 and samples[steady - 1]["cached_modules"] == samples[-1]["cached_modules"]:
        steady -= 1
    if steady_from is not None:
        steady = next((index for index, row in enumerate(samples) if row["programs"] >= steady_from), steady)
    tail = samples[min(steady, len(samples) - 3):]
    rss_slope = _slope([(row["programs"], row["rss_mib"]) for row in tail])
    object_slope = _slope([(row["programs"], row["objects"]) for row in tail])
    at_100k = samples[-1]["rss_mib"] + max(rss_slope, 0.0) * (100_000 - samples[-1]["programs"])
    return {"samples": samples, "steady_from_programs": tail[0]["programs"],
            "rss_mib_per_1000_programs": 1000 * rss_slope, "objects_per_1000_programs": 1000 * object_slope,
            "extrapolated_to_programs": 100_000, "extrapolated_rss_mib_at_100000_programs": at_100k}

if __name__ == "__main__":
    main()
