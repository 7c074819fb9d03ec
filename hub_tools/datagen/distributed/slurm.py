"""``--executor slurm``: the array job of a run, submitted from the login node and waited for.

The job script is datatrove's, with every path in it quoted: a dataset or logging folder whose path holds a
space (``/shared/my data``, a home folder on some systems) made sbatch refuse the script (``Invalid directive``)
and, past sbatch, would have split the pickled pipeline's path in two in the task's command line.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from datatrove.executor import SlurmPipelineExecutor

from hub_tools.datagen.slurm_jobs import STATE_FILE, job_active, recorded_job
from hub_tools.datagen.writer import write_json_atomically
from hub_tools.errors import UserError

PROGRESS_SECONDS = 60.0  # at most one line this often while waiting, and only when more chunks are saved


class SlurmExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor with its paths quoted in the job script, and without its follow-up
    statistics job: the merge step that finishes the run records the statistics, and then removes the work
    folder that job would write into."""

    def launch_merge_stats(self) -> None:
        pass

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        arguments = super().get_sbatch_args(max_array)
        # Slurm reads %A, %a... in a log file name as fields to fill: a % of the folder's own is written %%.
        # A log file the user gave (--sbatch-arg=--output=...) is left as written, Slurm's fields and all.
        default = os.path.join(self.slurm_logs_folder, "%A_%a.out")
        for name in ("output", "error"):
            if arguments[name] == default:
                arguments[name] = f"{str(self.slurm_logs_folder).replace('%', '%%')}/%A_%a.out"
        # sbatch splits an #SBATCH line at blanks unless the value is in double quotes.
        return {name: f'"{value}"' if _needs_quotes(value) else value for name, value in arguments.items()}

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        pickled = self.logging_dir.resolve_paths("executor.pik")
        run_script = run_script.replace(f" {pickled}", f" {shlex.quote(pickled)}")
        return super().get_launch_file_contents(sbatch_args, run_script)


def _needs_quotes(value) -> bool:
    text = str(value)
    return any(character.isspace() for character in text) and not (text.startswith('"') and text.endswith('"'))


def check_slurm_path(path: Path, named: str) -> None:
    """Refuse a folder the job script cannot name: a double quote ends sbatch's quoted value, and a line break
    ends the #SBATCH line."""
    if any(character in str(path) for character in '"\n\r'):
        raise UserError(f"{named} {path}: a path holding a double quote or a line break cannot be written in a "
                        "Slurm job script; choose another folder")


def build_executor(pipeline: list, *, tasks: int, workers: int, time_limit: str, partition: str, cpus_per_task: int,
                   mem_per_cpu_gb: float, sbatch_args: list[str], job_name: str, logging_dir: Path) -> SlurmExecutor:
    """The Slurm executor of a run (its job script: ``executor.get_launch_file_contents``)."""
    arguments = {"mem-per-cpu": f"{round(mem_per_cpu_gb * 1024)}M"}  # sbatch takes integers
    for option in sbatch_args:
        name, _, value = option.lstrip("-").partition("=")
        arguments[name] = value
    # The job runs this interpreter's console scripts and sees this process's environment (--export=ALL).
    environment = f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH"
    return SlurmExecutor(
        pipeline, tasks=tasks, time=time_limit, partition=partition, cpus_per_task=cpus_per_task,
        mem_per_cpu_gb=mem_per_cpu_gb, workers=workers, job_name=job_name, qos="", env_command=environment,
        sbatch_args=arguments, logging_dir=str(logging_dir), slurm_logs_folder=str(logging_dir / "slurm_logs"),
        mail_type="NONE",
    )


def submit_or_find_job(executor_of, work_folder: Path, logging_dir: Path, tasks: int, unfinished: int) -> str:
    """The run's array job: the one recorded in ``work_folder`` while Slurm still has it queued or running,
    else a new one of the unfinished tasks (``executor_of()`` builds its executor)."""
    job = recorded_job(work_folder)
    if job is not None and job_active(job):
        print(f"Slurm job {job} of this run is still in the queue", file=sys.stderr)
        return job
    executor = executor_of()
    try:
        executor.run()  # submits the array job of the unfinished tasks
    except subprocess.CalledProcessError as error:
        raise UserError(f"sbatch refused the job (exit status {error.returncode}; its message is above; "
                        f"job script: {logging_dir}/launch_script.slurm)") from None
    except FileNotFoundError as error:
        raise UserError(f"{error.filename}: not found; --executor slurm must run where Slurm's commands are") from None
    job = str(executor.job_id)
    write_json_atomically({"job_id": job}, work_folder / STATE_FILE)
    # A resumed run submits only the tasks whose chunks are not all saved.
    counted = f"{unfinished} tasks" if unfinished == tasks else f"{unfinished} of {tasks} tasks"
    print(f"submitted Slurm job {job} ({counted}; logs in {logging_dir})", file=sys.stderr)
    return job


def wait_for_job(job: str, saved_chunks, total: int, poll_seconds: float, progress: bool) -> None:
    """Wait while Slurm has ``job`` queued or running, saying how many of the ``total`` chunks are saved
    (``saved_chunks()``) when that number grew, at most once every :data:`PROGRESS_SECONDS`."""
    said, said_at = None, None
    while job_active(job):
        if progress and (said_at is None or time.monotonic() - said_at >= PROGRESS_SECONDS):
            saved = saved_chunks()
            if saved != said:
                print(f"Slurm job {job}: {saved} of {total} chunks saved", file=sys.stderr, flush=True)
                said, said_at = saved, time.monotonic()
        time.sleep(poll_seconds)
