"""``lintseq generate --executor slurm`` against a real one-node Slurm cluster started by the test
(Debian's slurm-wlm and munge, which .ci/run installs; the daemons need root)."""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub_tools.datagen.engine import Engine
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)

_spec = importlib.util.spec_from_file_location("slurm_cluster", Path(__file__).with_name("slurm_cluster.py"))
slurm_cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slurm_cluster)
slurm = slurm_cluster.slurm  # the cluster fixture


@pytest.fixture(scope="module")
def source_file(tmp_path_factory, humaneval_corpus, stdlib_corpus) -> Path:
    path = tmp_path_factory.mktemp("source") / "programs.jsonl"
    rows = [{"instruction": f"Task {i}.", "response": program}
            for i, program in enumerate(humaneval_corpus[:24] + stdlib_corpus[:24] + ["def f(:\n    pass"])]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def single_machine(source_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "out"
    Engine(Source(str(source_file)), out, GenerationConfig(num_paths=2), workers=1, progress=False).run()
    return out


def test_array_job_gives_the_single_machine_folder(slurm, source_file, single_machine, tmp_path):
    out, logs = tmp_path / "out", tmp_path / "logs"
    result = runs.generate(str(source_file), "--output-dir", str(out), "--num-paths", "2", "--executor", "slurm",
                           "--partition", "debug", "--tasks", "3", "--workers", "2", "--chunk-size", "8",
                           "--mem-per-cpu-gb", "0.5", "--time", "00:30:00", "--sbatch-arg=--comment=lintseq-test",
                           "--logging-dir", str(logs), env=slurm, timeout=600)
    # --no-progress: datatrove's INFO lines about the launch stay off the console.
    assert not [line for line in result.stderr.splitlines() if "| INFO" in line or "| SUCCESS" in line], result.stderr
    assert runs.shard_bytes(out) == runs.shard_bytes(single_machine)
    assert runs.settings(out) == runs.settings(single_machine)
    script = (logs / "launch_script.slurm").read_text()
    for line in ("#SBATCH --array=0-2%2", "#SBATCH --partition=debug", "#SBATCH --mem-per-cpu=512M",
                 "#SBATCH --time=00:30:00", "#SBATCH --comment=lintseq-test", f"export PATH={Path(sys.executable).parent}"):
        assert line in script
    assert sorted(path.name for path in (logs / "completions").iterdir()) == ["00000", "00001", "00002"]


def test_no_wait_then_a_cancelled_job_is_finished_by_the_same_command(slurm, source_file, single_machine, tmp_path):
    out = tmp_path / "out"
    arguments = [str(source_file), "--output-dir", str(out), "--num-paths", "2", "--executor", "slurm",
                 "--partition", "debug", "--tasks", "4", "--workers", "1", "--chunk-size", "4",
                 "--mem-per-cpu-gb", "0.5", "--logging-dir", str(tmp_path / "logs")]
    submitted = runs.generate(*arguments, "--no-wait", env=slurm, timeout=120)
    assert "run the same command again to merge" in submitted.stderr
    assert "(4 tasks; logs in" in submitted.stderr
    job = json.loads((out / ".lintseq-work" / "lintseq" / "slurm.json").read_text())["job_id"]
    deadline = time.monotonic() + 300
    while len(runs.parts(out)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    subprocess.run(["scancel", "--signal=KILL", "--full", str(job)], env=slurm, check=True)
    subprocess.run(["scancel", str(job)], env=slurm, check=True)
    while subprocess.run(["squeue", "--noheader", "--jobs", str(job)], env=slurm, capture_output=True,
                         text=True).stdout.strip():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert 2 <= len(runs.parts(out)) < 13  # 49 rows in chunks of 4
    finished = runs.generate(*arguments, env=slurm, timeout=600)
    assert "resumed" in finished.stdout
    # It says how many tasks it submitted: those with chunks left (it once said 4 whatever it sent).
    resubmitted = len(json.loads((tmp_path / "logs" / "ranks_to_run.json").read_text()))
    said = f"({resubmitted} tasks;" if resubmitted == 4 else f"({resubmitted} of 4 tasks;"
    assert said in finished.stderr, finished.stderr[-500:]
    assert runs.shard_bytes(out) == runs.shard_bytes(single_machine)


def test_overwrite_is_refused_while_the_previous_runs_job_is_queued(slurm, source_file, tmp_path):
    # The job's tasks would write parts of the old settings into the new run (the merge cannot tell them
    # apart: 116 of 154 parts of an --overwrite run once came from the killed run's queued tasks).
    out = tmp_path / "out"
    arguments = [str(source_file), "--output-dir", str(out), "--num-paths", "1", "--chunk-size", "8"]
    runs.generate(*arguments, "--executor", "slurm", "--partition", "debug", "--tasks", "2", "--no-wait",
                  "--sbatch-arg=--hold", env=slurm, timeout=120)
    job = json.loads((out / ".lintseq-work" / "lintseq" / "slurm.json").read_text())["job_id"]
    refused = runs.generate(*arguments, "--seed", "1", "--overwrite", env=slurm, timeout=120, check=False)
    assert refused.returncode == 2 and f"Slurm job {job} of the run there is still queued" in refused.stderr
    assert f"scancel {job}" in refused.stderr
    subprocess.run(["scancel", str(job)], env=slurm, check=True)
    deadline = time.monotonic() + 120
    while subprocess.run(["squeue", "--noheader", "--jobs", str(job)], env=slurm, capture_output=True,
                         text=True).stdout.strip():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    runs.generate(*arguments, "--seed", "1", "--overwrite", env=slurm, timeout=300)
    assert runs.settings(out)["configs"]["lintseq"]["seed"] == 1


def test_a_memory_request_sbatch_would_read_as_no_limit_is_refused(source_file, tmp_path):
    refused = runs.generate(str(source_file), "--output-dir", str(tmp_path / "out"), "--executor", "slurm",
                            "--partition", "debug", "--mem-per-cpu-gb", "0.0001", check=False)
    assert refused.returncode == 2 and "--mem-per-cpu-gb must be at least 1/1024 (1 MB), got 0.0001" in refused.stderr
