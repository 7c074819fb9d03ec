"""``lintseq generate --executor slurm`` into folders whose paths a job script must quote, and what the
command says while it waits (against a real one-node Slurm cluster: see slurm_cluster.py)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

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


def test_an_output_folder_with_spaces_and_accents_gives_the_single_machine_folder(slurm, humaneval_corpus,
                                                                                  tmp_path):
    # sbatch refused the job script ("Invalid directive found in batch script: data/été"): its log paths were
    # written unquoted, as was the pickled pipeline's path in the task's command line.
    source = tmp_path / "programs.jsonl"
    source.write_text("".join(json.dumps({"instruction": f"Task {i}.", "response": program}) + "\n"
                              for i, program in enumerate(humaneval_corpus[:10])))
    reference = tmp_path / "single"
    Engine(Source(str(source)), reference, GenerationConfig(num_paths=1), workers=1, progress=False).run()
    out = tmp_path / "my data" / "été 100%" / "out"  # a % too: Slurm fills %A, %a... in log file names
    # --begin: the job waits a few seconds in the queue, so the command says at least once how far it is (with
    # its progress on, which runs.generate turns off).
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source), "--output-dir", str(out),
               "--num-paths", "1", "--executor", "slurm", "--partition", "debug", "--tasks", "2", "--chunk-size", "4",
               "--mem-per-cpu-gb", "0.5", "--sbatch-arg=--begin=now+3"]
    result = subprocess.run(command, capture_output=True, text=True, env=slurm, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert runs.shard_bytes(out) == runs.shard_bytes(reference)
    assert "of 3 chunks saved" in result.stderr, result.stderr[-2000:]


def test_a_folder_a_job_script_cannot_name_is_refused_in_one_line(humaneval_corpus, tmp_path):
    source = tmp_path / "programs.jsonl"
    source.write_text(json.dumps({"instruction": "Add.", "response": humaneval_corpus[0]}) + "\n")
    out = tmp_path / 'say "hi"'
    refused = runs.generate(str(source), "--output-dir", str(out), "--executor", "slurm", "--partition", "debug",
                            check=False, timeout=120)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "Traceback" not in refused.stderr
    assert "cannot be written in a Slurm job script" in refused.stderr.strip().splitlines()[-1]


def test_sbatch_args_reach_the_job_script_as_given(tmp_path):
    # --sbatch-arg overrides what the command would write, log files included: `--output` with Slurm's own
    # %A/%a is the user's (it was replaced by the default log file); a value with a blank is quoted once.
    from hub_tools.datagen.distributed.slurm import build_executor

    executor = build_executor([], tasks=2, workers=1, time_limit="1:00:00", partition="debug", cpus_per_task=1,
                              mem_per_cpu_gb=1, job_name="lintseq-test", logging_dir=tmp_path / "logs 100%",
                              sbatch_args=["--output=/scratch/my logs/%A_%a.out", "--comment=two words",
                                           '--constraint="a100 & ib"', "--export=ALL,MODE=fast"])
    script = executor.get_launch_file_contents(executor.get_sbatch_args(), "true").splitlines()
    assert '#SBATCH --output="/scratch/my logs/%A_%a.out"' in script
    assert f'#SBATCH --error="{tmp_path}/logs 100%%/slurm_logs/%A_%a.out"' in script
    assert '#SBATCH --comment="two words"' in script
    assert '#SBATCH --constraint="a100 & ib"' in script
    assert "#SBATCH --export=ALL,MODE=fast" in script
