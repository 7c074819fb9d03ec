"""The Slurm job a run submitted, as recorded in its work folder, and whether it is still in the queue.

A run on Slurm records its array job in ``OUT/.lintseq-work/<config>/slurm.json``. The command waits for that
job, or finds it again when run once more; and a command that would throw the work folder away
(``--overwrite``, other settings) refuses while the job is queued or running: its tasks would go on writing
parts made under the old settings into the new run, which the merge could not tell apart. Standard library
only (no datatrove), so the single-machine engine can ask too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hub_tools.errors import UNREADABLE_JSON, UserError

STATE_FILE = "slurm.json"


def recorded_job(work_folder: Path) -> str | None:
    """The job id the run in ``work_folder`` submitted, or ``None``."""
    try:
        job = json.loads((Path(work_folder) / STATE_FILE).read_text())["job_id"]
    except (OSError, KeyError, TypeError, *UNREADABLE_JSON):
        return None
    return str(job) if job is not None else None


def job_active(job: str) -> bool:
    """Whether Slurm still knows ``job`` as queued or running (``squeue`` forgets a finished job)."""
    try:
        result = subprocess.run(["squeue", "--noheader", "--jobs", str(job), "--format=%i"], capture_output=True,
                                text=True, timeout=60)
    except FileNotFoundError:
        raise UserError("squeue not found: --executor slurm must run where Slurm's commands are") from None
    except subprocess.TimeoutExpired:
        return True
    return result.returncode == 0 and bool(result.stdout.strip())


def refuse_while_job_runs(work_folder: Path, output_dir: Path) -> None:
    """Raise a one-line :class:`UserError` when the run recorded in ``work_folder`` has a Slurm job still in the
    queue (nothing to check where Slurm's commands are not installed: no job can be queued from here)."""
    job = recorded_job(work_folder)
    if job is None:
        return
    try:
        active = job_active(job)
    except UserError:
        return
    if active:
        raise UserError(f"{output_dir}: Slurm job {job} of the run there is still queued or running; its tasks would "
                        f"write parts of that run into this one: cancel it (scancel {job}) or let it end, then run "
                        "this command again")
