"""LintSeq sampling speed: hub_tools vs the reference package ``pylintseq``, side by side, one core each.

    .venv/bin/python benchmarks/lintseq_core.py [--limit N] [--skip-state-check]

Both sample one edit path per program with the paper's generation settings (one child per round, top 1,
population 1, up to 512 rounds, indentation bias 1) on the same real programs (HumanEval's canonical
solutions and standard-library functions), one after the other, each pinned to one CPU core. Reported:
programs per second, lint calls per program, edits per program, and the share of intermediate states that
the *reference's own* pylint check flags (it must be 0 for both). The ratios are what to read: the
machines are shared and noisy, absolute times are not comparable across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
import reference_env

ROOT = Path(__file__).resolve().parents[1]


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def worker_ours(programs: list[str], profile: str) -> dict:
    from hub_tools.linters import PylintLinter
    from hub_tools.lintseq import sample_edit_path

    linter = PylintLinter(profile)
    linter.lint("x = 1")  # start-up outside the timed loop, as the reference's import is
    paths, calls = [], 0
    start = time.perf_counter()
    for index, program in enumerate(programs):
        path = sample_edit_path(program, linter, seed=index)
        paths.append(path.diffs)
        calls += path.lint_calls
    return {"seconds": time.perf_counter() - start, "lint_calls": calls, "paths": paths}


def worker_reference(programs: list[str]) -> dict:
    exec(reference_env.COMPAT_PRELUDE, {})
    from pylintseq import utils

    utils.set_seed_everywhere(0)
    calls = 0
    original_linter = utils.file_linter

    def counting_linter(*args, **kwargs):
        nonlocal calls
        calls += 1
        return original_linter(*args, **kwargs)

    utils.file_linter = counting_linter
    paths = []
    start = time.perf_counter()
    for program in programs:
        # The settings of the reference's own generate command.
        population = utils.lintseq_backward_sampling_pythonic(
            program, children_per_round=1, top_k=1, max_population_size=1, max_depth=512,
            indent_bias_sampling_factor=1, ignore_imports=False, ignore_comments=True,
            ignore_global_defs=True, ignore_init_errors=False,
        )
        paths.append([] if population is None else utils.inflate_edit_path(program, population[0][0])[1])
    return {"seconds": time.perf_counter() - start, "lint_calls": calls, "paths": paths}


def worker_check_states(paths_by_name: dict[str, list[list[str]]]) -> dict:
    """Run the reference's own pylint check on every intermediate state of every path."""
    exec(reference_env.COMPAT_PRELUDE, {})
    from pylintseq import utils

    from hub_tools.lintseq import parse_edit_sequence

    result = {}
    for name, paths in paths_by_name.items():
        states = flagged = 0
        for diffs in paths:
            for end in range(1, len(diffs)):  # states after 1 .. n-1 edits
                program = parse_edit_sequence("\n<|diff|>".join(diffs[:end])).program
                with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
                    handle.write(program)
                try:
                    flagged += bool(utils.file_linter(handle.name))
                finally:
                    os.unlink(handle.name)
                states += 1
        result[name] = {"states": states, "flagged": flagged}
    return result


def _run_worker(python: Path, kind: str, payload: dict) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        request, response = Path(folder) / "request.json", Path(folder) / "response.json"
        request.write_text(json.dumps(payload))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([str(python), __file__, "--worker", kind, str(request), str(response)], check=True, env=env)
        return json.loads(response.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N programs")
    parser.add_argument("--skip-state-check", action="store_true", help="skip the reference-check of states")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "REQUEST", "RESPONSE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, request, response = args.worker
        payload = json.loads(Path(request).read_text())
        _pin_to_one_core()
        if kind == "ours":
            result = worker_ours(payload["programs"], payload["profile"])
        elif kind == "reference":
            result = worker_reference(payload["programs"])
        else:
            result = worker_check_states(payload["paths"])
        Path(response).write_text(json.dumps(result))
        return

    programs = corpus.humaneval_programs() + corpus.stdlib_functions()
    programs = programs[: args.limit] if args.limit else programs
    reference_python = reference_env.reference_python()
    print(f"{len(programs)} programs (HumanEval canonical solutions + standard-library functions), one core each")
    runs = {
        "hub_tools portable": _run_worker(Path(sys.executable), "ours", {"programs": programs, "profile": "portable"}),
        "hub_tools reference": _run_worker(Path(sys.executable), "ours", {"programs": programs, "profile": "reference"}),
        "pylintseq " + reference_env.installed_version(reference_python, "pylintseq"):
            _run_worker(reference_python, "reference", {"programs": programs}),
    }
    checks = {}
    if not args.skip_state_check:
        checks = _run_worker(reference_python, "check", {"paths": {name: run["paths"] for name, run in runs.items()}})

    baseline = list(runs)[-1]
    baseline_rate = len(programs) / runs[baseline]["seconds"]
    print(f"\n{'implementation':<22}{'programs/s':>12}{'vs ref':>8}{'lint calls/prog':>17}{'edits/prog':>12}"
          f"{'states flagged by ref. check':>30}")
    summary = {}
    for name, run in runs.items():
        rate = len(programs) / run["seconds"]
        edits = sum(len(path) for path in run["paths"]) / len(programs)
        check = checks.get(name)
        flagged = f"{check['flagged']}/{check['states']}" if check else "not checked"
        print(f"{name:<22}{rate:>12.2f}{rate / baseline_rate:>7.1f}x{run['lint_calls'] / len(programs):>17.1f}"
              f"{edits:>12.2f}{flagged:>30}")
        summary[name] = {"programs_per_second": rate, "ratio": rate / baseline_rate,
                         "lint_calls_per_program": run["lint_calls"] / len(programs),
                         "edits_per_program": edits, "state_check": check}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "lintseq_core.json").write_text(json.dumps({"programs": len(programs), "runs": summary}, indent=2))


if __name__ == "__main__":
    main()
