"""LintSeq sampling speed: hub_tools vs the reference package ``pylintseq``, side by side, one core each.

    .venv/bin/python benchmarks/lintseq_core.py [--corpus functions modules costly chains] [--limit N] [--modules N]
                                                [--passes 1|2] [--no-sizes] [--skip-state-check] [--name NAME]

Both sample one edit path per program with the paper's generation settings (one child per round, top 1,
population 1, up to 512 rounds, indentation bias 1) on the same real programs, one after the other, each
in its own process pinned to one CPU core. Two corpora (``benchmarks/corpus.py``):

- ``functions``: HumanEval's canonical solutions and standard-library functions (~25 lines);
- ``modules``: whole modules of 80-400 lines (standard library and pure-Python packages of this
  environment), 48 by default, spread evenly over the range;
- ``costly`` (only when asked for): real modules whose analysis costs far more than their length: data
  tables of the standard library and modules annotated with ``np.ndarray`` (see
  ``hub_tools/linters/repeated_hash_lookups.py`` and ``brain_templates.py``);
- ``chains`` (only when asked for): dispatch functions whose ``if``/``elif`` chain of 10, 20, 30 and 40
  branches assigns a name used after it, the shape on which pylint's used-before-assignment check repeats
  its scans (see ``hub_tools/linters/repeated_scans.py``).

Timer boundaries are the same on both sides: the imports and one warm-up lint call of a one-line program
(pylint's checker registration, the reference's first ``run_pylint``) happen before the clock starts; the
standard-library trees the programs import are loaded inside the timed loop on both sides. Both sides keep
those trees for the rest of the process (the reference's in-process pylint runs keep astroid's cache too),
so each side then runs the same programs a second time: the first pass is the run a user gets, the second
the steady state of a long run, where loading the trees no longer counts.

Reported per corpus and pass: programs per second and the ratio to the reference, seconds per program,
lint calls and edits per program, milliseconds per lint call, and the share of intermediate states (first
pass) that the *reference's own* pylint check flags (0 for the reference profile; the portable profile's
states hold the messages it leaves out by design, such as a package module's relative imports). ``--no-sizes``
skips the cost-vs-length table (programs of about 25, 100, 250 and 400 lines, steady state, both profiles:
on a package module the portable one makes more edits than the paper's check). Figures go to
``benchmarks/results/lintseq_core.json`` (``<NAME>.json`` with ``--name``). The ratios are what to read: the machines are shared and noisy.
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
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
SIZES = (25, 100, 250, 400)


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _passes(sample_one, programs: list[str], passes: int) -> dict:
    """Time ``sample_one(index, program) -> (diffs, lint calls)`` over the programs, ``passes`` times in a row.

    The first pass is the run a user gets (standard-library trees loaded as programs import them); a
    second pass over the same programs measures the steady state, once those trees are loaded.
    """
    result = {}
    for number in range(passes):
        paths, calls, seconds = [], [], []
        for index, program in enumerate(programs):
            start = time.perf_counter()
            diffs, lint_calls = sample_one(index, program)
            seconds.append(time.perf_counter() - start)
            paths.append(diffs)
            calls.append(lint_calls)
        result["cold" if number == 0 else "warm"] = {"seconds": seconds, "lint_calls": calls, "paths": paths}
    return result


def worker_ours(programs: list[str], profile: str, passes: int) -> dict:
    from hub_tools.linters import PylintLinter
    from hub_tools.lintseq import sample_edit_path

    linter = PylintLinter(profile, timeout=None)  # the reference has no time limit either
    linter.lint("x = 1")  # warm-up outside the clock, as on the reference's side
    # Where the time goes: calls answered by ast.parse, pylint analyses of a clean state (the check of an
    # emitted state: the floor) and of a state with errors. An empty answer always comes from an analysis.
    kinds = {"syntax error": [0, 0.0], "clean analysis": [0, 0.0], "analysis with errors": [0, 0.0]}
    lint = linter.lint

    def timed_lint(text: str):
        analyses, start = linter.analyses, time.perf_counter()
        errors = lint(text)
        kind = "syntax error" if linter.analyses == analyses else "analysis with errors" if errors else "clean analysis"
        kinds[kind][0] += 1
        kinds[kind][1] += time.perf_counter() - start
        return errors

    linter.lint = timed_lint

    def sample_one(index: int, program: str) -> tuple[list[str], int]:
        path = sample_edit_path(program, linter, seed=index)
        return path.diffs, path.lint_calls

    result = _passes(sample_one, programs, passes)
    result["lint_calls_by_kind"] = {kind: {"calls": calls, "seconds": seconds} for kind, (calls, seconds) in kinds.items()}
    return result


def worker_reference(programs: list[str], passes: int) -> dict:
    exec(reference_env.COMPAT_PRELUDE, {})
    from pylintseq import utils

    utils.set_seed_everywhere(0)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write("x = 1\n")
    utils.file_linter(handle.name)  # warm-up outside the clock: pylint's first load
    os.unlink(handle.name)
    calls = 0
    original_linter = utils.file_linter

    def counting_linter(*args, **kwargs):
        nonlocal calls
        calls += 1
        return original_linter(*args, **kwargs)

    utils.file_linter = counting_linter

    def sample_one(index: int, program: str) -> tuple[list[str], int]:
        before = calls
        # The settings of the reference's own generate command.
        population = utils.lintseq_backward_sampling_pythonic(
            program, children_per_round=1, top_k=1, max_population_size=1, max_depth=512,
            indent_bias_sampling_factor=1, ignore_imports=False, ignore_comments=True,
            ignore_global_defs=True, ignore_init_errors=False,
        )
        diffs = [] if population is None else utils.inflate_edit_path(program, population[0][0])[1]
        return diffs, calls - before

    return _passes(sample_one, programs, passes)


def worker_check_states(paths_by_name: dict[str, list[list[str]]]) -> dict:
    """Run the reference's own pylint check on every intermediate state of every path."""
    exec(reference_env.COMPAT_PRELUDE, {})
    from pylintseq import utils

    from hub_tools.lintseq import parse_edit_sequence

    result = {}
    for name, paths in paths_by_name.items():
        states = flagged = 0
        messages: dict[str, int] = {}  # message id -> flagged states it appears in
        for diffs in paths:
            for end in range(1, len(diffs)):  # states after 1 .. n-1 edits
                program = parse_edit_sequence("\n<|diff|>".join(diffs[:end])).program
                with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
                    handle.write(program)
                try:
                    traces = utils.file_linter(handle.name)
                finally:
                    os.unlink(handle.name)
                flagged += bool(traces)
                for message_id in {trace[0] for trace in traces}:
                    messages[message_id] = messages.get(message_id, 0) + 1
                states += 1
        result[name] = {"states": states, "flagged": flagged, "messages": messages}
    return result


def _run_worker(python: Path, kind: str, payload: dict) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        request, response = Path(folder) / "request.json", Path(folder) / "response.json"
        request.write_text(json.dumps(payload))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([str(python), __file__, "--worker", kind, str(request), str(response)], check=True, env=env)
        return json.loads(response.read_text())


def _summary(run: dict) -> dict:
    programs, seconds, calls = len(run["paths"]), sum(run["seconds"]), sum(run["lint_calls"])
    return {"programs": programs, "programs_per_second": programs / seconds, "seconds_per_program": seconds / programs,
            "lint_calls_per_program": calls / programs, "ms_per_lint_call": 1000 * seconds / max(calls, 1),
            "edits_per_program": sum(len(path) for path in run["paths"]) / programs}


def _side_by_side(programs: list[str], reference_python: Path, profiles: tuple[str, ...], passes: int
                  ) -> dict[str, dict]:
    runs = {f"hub_tools {profile}": _run_worker(Path(sys.executable), "ours",
                                                {"programs": programs, "profile": profile, "passes": passes})
            for profile in profiles}
    runs["pylintseq " + reference_env.installed_version(reference_python, "pylintseq")] = _run_worker(
        reference_python, "reference", {"programs": programs, "passes": passes})
    return runs


def _with_ratios(summary: dict[str, dict]) -> dict[str, dict]:
    """Add each row's speed relative to the last row (the reference)."""
    baseline = summary[list(summary)[-1]]["programs_per_second"]
    for row in summary.values():
        row["ratio"] = row["programs_per_second"] / baseline
    return summary


def _print_table(title: str, summary: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(f"{'implementation':<22}{'programs/s':>11}{'vs ref':>8}{'s/program':>11}{'lint calls':>12}"
          f"{'ms/call':>9}{'edits':>7}{'states flagged by ref. check':>30}")
    for name, row in summary.items():
        check = row.get("state_check")
        flagged = f"{check['flagged']}/{check['states']}" if check else "not checked"
        print(f"{name:<22}{row['programs_per_second']:>11.2f}{row['ratio']:>7.1f}x{row['seconds_per_program']:>11.3f}"
              f"{row['lint_calls_per_program']:>12.1f}{row['ms_per_lint_call']:>9.1f}{row['edits_per_program']:>7.1f}"
              f"{flagged:>30}")


def _corpora(names: list[str], limit: int | None, module_count: int) -> dict[str, list[str]]:
    chosen = {}
    if "functions" in names:
        functions = corpus.humaneval_programs() + corpus.stdlib_functions()
        chosen["functions"] = functions[:limit] if limit else functions
    if "chains" in names:
        chosen["chains"] = corpus.branch_chains()
    if "costly" in names:
        chosen["costly"] = [text for _, text in corpus.costly_modules()]
    if "modules" in names:
        modules = sorted(corpus.whole_modules(), key=lambda module: len(module[1].splitlines()))
        step = max(1, len(modules) // module_count)
        chosen["modules"] = [text for _, text in modules[::step][:module_count]]
    return chosen


def _size_programs() -> dict[int, list[str]]:
    """About 25 lines: the standard-library functions closest to it; 100, 250, 400: whole modules."""
    functions = sorted(corpus.stdlib_functions(None), key=lambda text: (abs(len(text.splitlines()) - 25), text))
    by_size = {25: functions[:12]}
    by_size.update({size: [text for _, text in modules] for size, modules in corpus.modules_by_size(SIZES[1:], 4).items()})
    return by_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", choices=["functions", "modules", "costly", "chains"],
                        default=["functions", "modules"])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N functions")
    parser.add_argument("--modules", type=int, default=48, help="how many whole modules (spread over 80-400 lines)")
    parser.add_argument("--passes", type=int, choices=[1, 2], default=2,
                        help="2: also time a second pass over the same programs (steady state)")
    parser.add_argument("--no-sizes", action="store_true", help="skip the cost-vs-length table")
    parser.add_argument("--skip-state-check", action="store_true", help="skip the reference-check of states")
    parser.add_argument("--name", default="lintseq_core", help="results file stem (benchmarks/results/NAME.json)")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "REQUEST", "RESPONSE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, request, response = args.worker
        payload = json.loads(Path(request).read_text())
        _pin_to_one_core()
        if kind == "ours":
            result = worker_ours(payload["programs"], payload["profile"], payload["passes"])
        elif kind == "reference":
            result = worker_reference(payload["programs"], payload["passes"])
        else:
            result = worker_check_states(payload["paths"])
        Path(response).write_text(json.dumps(result))
        return

    reference_python = reference_env.reference_python()
    reference_env.match_packages(reference_python, list(corpus.PACKAGES))
    figures = {}
    for corpus_name, programs in _corpora(args.corpus, args.limit, args.modules).items():
        runs = _side_by_side(programs, reference_python, ("portable", "reference"), args.passes)
        checks = {}
        if not args.skip_state_check:
            checks = _run_worker(reference_python, "check",
                                 {"paths": {name: run["cold"]["paths"] for name, run in runs.items()}})
        summary = _with_ratios({name: _summary(run["cold"]) for name, run in runs.items()})
        for name, row in summary.items():
            row["state_check"] = checks.get(name)
            by_kind = runs[name].get("lint_calls_by_kind")
            if by_kind:  # both passes together
                lint_seconds = sum(kind["seconds"] for kind in by_kind.values())
                row["lint_calls_by_kind"] = {
                    kind: {"calls_per_program": value["calls"] / (len(programs) * args.passes),
                           "percent_of_lint_time": 100 * value["seconds"] / lint_seconds}
                    for kind, value in by_kind.items()}
                print(f"{name}: " + ", ".join(
                    f"{kind} {value['calls_per_program']:.1f} calls per program, {value['percent_of_lint_time']:.0f}% of "
                    "the lint time" for kind, value in row["lint_calls_by_kind"].items()))
        lines = [len(program.splitlines()) for program in programs]
        title = (f"{corpus_name}: {len(programs)} programs, {min(lines)}-{max(lines)} lines "
                 f"(mean {sum(lines) / len(lines):.0f}), one core each")
        _print_table(title + ", first pass (the run a user gets)", summary)
        if args.passes > 1:
            warm = _with_ratios({name: _summary(run["warm"]) for name, run in runs.items()})
            _print_table(title + ", second pass over the same programs (steady state)", warm)
            for name, row in summary.items():
                row["steady_state"] = warm[name]
        figures[corpus_name] = {"programs": len(programs), "lines_mean": sum(lines) / len(lines), "runs": summary}
    if not args.no_sizes:
        # Both profiles: the portable one keeps a package module's relative imports (more edits than the
        # paper's check makes on such files), the reference profile does the paper's work, edit for edit.
        print("\ncost vs program length (hub_tools portable | hub_tools reference profile | pylintseq), one core each, "
              "steady state")
        print(f"{'lines':>6}{'programs':>10}{'edits':>22}{'lint calls':>22}{'ms/call':>20}{'s/program':>24}"
              f"{'ratio':>16}")
        table = {}
        for size, programs in _size_programs().items():
            runs = _side_by_side(programs, reference_python, ("portable", "reference"), 2)
            ours, ours_reference, reference = (_summary(run["warm"]) for run in runs.values())
            ratio = ours["programs_per_second"] / reference["programs_per_second"]
            ratio_reference = ours_reference["programs_per_second"] / reference["programs_per_second"]
            table[size] = {"programs": len(programs), "hub_tools": ours, "hub_tools_reference_profile": ours_reference,
                           "pylintseq": reference, "ratio": ratio, "ratio_reference_profile": ratio_reference}
            row = [f"{size:>6}{len(programs):>10}"]
            for key, width, digits in (("edits_per_program", 22, 1), ("lint_calls_per_program", 22, 1),
                                       ("ms_per_lint_call", 20, 1), ("seconds_per_program", 24, 3)):
                cell = " | ".join(f"{run[key]:.{digits}f}" for run in (ours, ours_reference, reference))
                row.append(f"{cell:>{width}}")
            row.append(f"{f'{ratio:.1f}x | {ratio_reference:.1f}x':>16}")
            print("".join(row))
        figures["cost_vs_length"] = table
    path = save_result(args.name, figures, packages=["pylint", "astroid", "pylintseq"])
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
