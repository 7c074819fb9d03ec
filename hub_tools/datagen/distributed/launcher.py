"""``lintseq generate --executor local|slurm|ray``: the same run as the single-machine engine, on datatrove.

The run is cut into the same chunks as :class:`~hub_tools.datagen.engine.Engine`'s and writes the same parts
into the same work folder (``OUT/.lintseq-work/<config>/``); datatrove only decides where and when each task
runs. Task ``r`` of ``N`` handles a contiguous block of chunks and skips those already on disk, so:

- a killed run (the launcher, any task, ``kill -9`` included) is finished by the same command: the parts on
  disk are the record of what is done, datatrove's completion markers are derived from them at each launch;
- a run started on one executor (or the single-machine engine, or with other ``--tasks``) can be finished on
  another: a task whose chunks are all saved is marked complete, with the empty statistics datatrove's Ray
  executor expects of every task;
- the run's settings (source file stamps included), damaged parts and the folder's lock are handled as by
  the single-machine engine (the same :class:`~hub_tools.datagen.writer.PartStore` and fingerprint);
- once every chunk is there, :func:`~hub_tools.datagen.assembly.assemble_dataset` writes the folder exactly as
  the single-machine engine does, byte-identical shards included.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.logging import logger
from datatrove.utils.stats import PipelineStats

from hub_tools.datagen.assembly import RunSummary, assemble_dataset, recorded_summary
from hub_tools.datagen.distributed.console_logs import warnings_only
from hub_tools.datagen.engine import CHUNK_SIZE, Engine, select_rows, selected_records
from hub_tools.datagen.folder_lock import folder_lock
from hub_tools.datagen.lifetime import die_with_parent
from hub_tools.datagen.manifest import check_finished_run, recorded_commit
from hub_tools.datagen.row_selection import RowSelection
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source, pin_to_run
from hub_tools.datagen.writer import SOURCE_FILES, PartStore, changed_source_file, check_output_folder
from hub_tools.errors import UserError

EXECUTORS = ("local", "slurm", "ray")
LOCAL_ATTEMPTS = 3


@dataclass
class ExecutorConfig:
    """Where and how the datatrove tasks of a run execute.

    Attributes:
        executor: ``"local"`` (a process pool on this machine), ``"slurm"`` (an sbatch array job) or ``"ray"``.
        tasks: datatrove tasks; each handles a contiguous block of chunks (more tasks: smaller units to
            retry, better balance; at most one task per chunk does work).
        workers: tasks running at once (``None``: all of them; Slurm's array limit ``%N``).
        chunk_size: source rows per part (smaller parts lose less work when a task dies).
        logging_dir: datatrove's logs, statistics and job files (default: inside the work folder).
        partition: Slurm partition.
        time: Slurm time limit per task (``HH:MM:SS``).
        cpus_per_task: CPUs reserved per task (Slurm and Ray).
        mem_per_cpu_gb: memory reserved per CPU, in GB (Slurm and Ray).
        sbatch_args: extra sbatch options, ``["--account=abc", "--qos=high"]``.
        wait: wait for the Slurm jobs and merge; otherwise return after submitting (rerun to merge).
        poll_seconds: how often to look at the Slurm queue while waiting.
        ray_address: the Ray cluster to join (``None`` starts a local Ray instance).
        progress: say, while waiting for a Slurm job, how many chunks are saved.
    """

    executor: str = "local"
    tasks: int = 1
    workers: int | None = None
    chunk_size: int = CHUNK_SIZE
    logging_dir: str | None = None
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2.0
    sbatch_args: list[str] = field(default_factory=list)
    wait: bool = True
    poll_seconds: float = 10.0
    ray_address: str | None = None
    progress: bool = True


class DistributedRun:
    """One ``lintseq generate`` run on a datatrove executor.

    Args:
        source: where the rows come from.
        output_dir: the dataset folder.
        config: the per-row settings.
        executor: where the tasks run.
        num_samples: process a random subset of this many source rows.
        overwrite: discard an unfinished run with other settings instead of refusing.
    """

    def __init__(self, source: Source, output_dir: str | Path, config: GenerationConfig, executor: ExecutorConfig,
                 *, num_samples: int | None = None, overwrite: bool = False):
        if executor.executor not in EXECUTORS:
            raise UserError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor.executor!r}")
        if executor.executor == "slurm" and not executor.partition:
            raise UserError("--executor slurm needs --partition")
        # sbatch takes whole megabytes, and reads 0 as "all the node's memory": below 1 MB is no limit at all.
        if not executor.mem_per_cpu_gb * 1024 >= 1:
            raise UserError(f"--mem-per-cpu-gb must be at least 1/1024 (1 MB), got {executor.mem_per_cpu_gb}")
        if executor.cpus_per_task < 1:
            raise UserError(f"--cpus-per-task must be at least 1, got {executor.cpus_per_task}")
        self.source, self.config, self.options = source, config, executor
        self.output_dir = Path(output_dir).absolute()  # tasks may run elsewhere: no relative paths
        self.num_samples, self.overwrite = num_samples, overwrite
        self.parts = PartStore(self.output_dir, config.sampler, config.keep_fields)
        self.logging_dir = Path(executor.logging_dir or self.parts.folder / "datatrove").absolute()
        if executor.executor == "slurm":
            from hub_tools.datagen.distributed.slurm import check_slurm_path

            check_slurm_path(self.output_dir, "--output-dir")
            check_slurm_path(self.logging_dir, "--logging-dir")

    def fingerprint(self) -> dict:
        """The settings a resumed run must share: those of the single-machine engine (so either can finish a
        run of the other), with this run's chunk size."""
        return Engine(self.source, self.output_dir, self.config, num_samples=self.num_samples,
                      chunk_size=self.options.chunk_size).fingerprint()

    def run(self) -> RunSummary | None:
        """Run the missing tasks, then merge, holding the folder's lock (:mod:`~hub_tools.datagen.folder_lock`).
        Returns ``None`` when Slurm jobs were left running (no wait)."""
        check_output_folder(self.output_dir)
        with folder_lock(self.output_dir):
            return self._run()

    def _run(self) -> RunSummary | None:
        started = time.perf_counter()
        summary = RunSummary(self.config.sampler, self.output_dir)
        fingerprint = self.fingerprint()
        # The single-machine engine's rules: same settings as the finished folder, nothing to do; others refused.
        if not self.parts.unfinished() and check_finished_run(self.output_dir, fingerprint, self.overwrite):
            return recorded_summary(self.output_dir, summary)
        summary.resumed_parts = self.parts.prepare(fingerprint, self.overwrite)
        # A Hub source: one commit for the run and all its tasks, and the one the folder's other configs came from.
        pin_to_run(self.source, self.parts.folder, None if self.overwrite else recorded_commit(self.output_dir, self.source))
        selected = select_rows(self.source, self.num_samples, self.config.seed) if self.num_samples else None
        from hub_tools.datagen.distributed.steps import count_chunks

        total = count_chunks(self.source, selected, self.options.chunk_size, announce=lambda: print(
            "counting the source's rows: one pass over it", file=sys.stderr, flush=True))
        if self._missing(total):
            repeats_file = self._find_repeats(selected) if self.config.drop_duplicates else None
            if not self._execute(selected, total, repeats_file):
                return None
            self._refuse_a_changed_source()
            missing = self._missing(total)
            if missing:
                raise UserError(
                    f"{len(missing)} of {total} chunks are missing after the run (tasks failed; their logs are in "
                    f"{self.logging_dir}/logs); run the same command again to compute only those"
                )
        info = {"executor": self.options.executor, "tasks": self.options.tasks,
                "workers": self.options.workers or self.options.tasks}
        return assemble_dataset(self.parts, self.output_dir, self.source, self.config, self.num_samples,
                                summary, started, info)

    def _refuse_a_changed_source(self) -> None:
        """Each task opens the source again and enters it at its block by counting rows: a file replaced or
        edited while the run went on (a row inserted at its top) gave tasks other rows than their neighbours,
        and a folder with one row twice and another lost, which verify passed. The tasks refuse to start on a
        changed source (:class:`~hub_tools.datagen.distributed.steps.LintSeqReader`); a change while some
        already read is caught here, before anything is merged."""
        recorded = (self.parts.run or {}).get(SOURCE_FILES)
        changed = changed_source_file(recorded, self.source.file_stamps()) if isinstance(recorded, dict) else None
        if changed is not None:
            raise UserError(f"the source file {changed} changed while the run went on: its tasks may have read other "
                            "rows than the run began with, so nothing was merged; pass --overwrite to start over")

    def _find_repeats(self, selected: RowSelection | None) -> Path:
        """Two passes over the source for the rows that repeat an earlier one (``--drop-duplicates``) and
        where their first occurrences are, saved in the work folder for the tasks, which then enter the source
        at their block; a resumed run reuses it."""
        from hub_tools.datagen.repeats import REPEATS_FORMAT, find_repeats, locate_firsts, save_repeats

        path = self.parts.folder / f"repeats-{REPEATS_FORMAT}.json"
        if not path.exists():
            print("finding repeated rows: two passes over the source", file=sys.stderr, flush=True)

            repeats = find_repeats(selected_records(self.source, selected), self.config)
            save_repeats(path, locate_firsts(selected_records(self.source, selected), repeats))
        return path

    def _missing(self, total: int) -> list[int]:
        done = self.parts.completed()
        return [number for number in range(total) if number not in done]

    def pipeline(self, selected: RowSelection | None, total: int, repeats_file: Path | None = None) -> list:
        from hub_tools.datagen.distributed.steps import LintSeqPartWriter, LintSeqReader, LintSeqSampler

        reader = LintSeqReader(self.source, prompt_field=self.config.prompt_field, code_field=self.config.code_field,
                               selected=selected, drop_duplicates=self.config.drop_duplicates,
                               repeats_file=repeats_file, chunk_size=self.options.chunk_size, total_chunks=total,
                               skip_parts_of=self.parts, source_stamps=(self.parts.run or {}).get(SOURCE_FILES))
        return [reader, LintSeqSampler(self.config, baseline=True, keep_skipped=True),
                LintSeqPartWriter(self.output_dir, self.config.sampler, keep_fields=self.config.keep_fields,
                                  run=self.parts.run)]

    def _mark_completed_tasks(self, total: int, pipeline: list) -> int:
        """Derive datatrove's completion markers from the parts: a task is complete when all its chunks are
        (none, for a task past the last chunk). Returns how many tasks are not complete: those that run.

        Such a task never runs, so it writes no ``stats/<rank>.json``; datatrove's Ray executor reads that
        file for every rank once the others are done. A complete task without one (its chunks saved by
        another executor, the single-machine engine, or a run with other ``--tasks``) gets the pipeline's
        empty statistics.
        """
        from hub_tools.datagen.distributed.steps import chunk_range

        done = self.parts.completed()
        markers, stats = self.logging_dir / "completions", self.logging_dir / "stats"
        markers.mkdir(parents=True, exist_ok=True)
        stats.mkdir(exist_ok=True)
        unfinished = 0
        for rank in range(self.options.tasks):
            marker = markers / f"{rank:05d}"
            if all(number in done for number in chunk_range(rank, self.options.tasks, total)):
                marker.touch()
                if not (stats / f"{rank:05d}.json").exists():
                    with (stats / f"{rank:05d}.json").open("w") as file:
                        PipelineStats(pipeline).save_to_disk(file)
            else:
                marker.unlink(missing_ok=True)  # left by another run in a reused logging folder
                unfinished += 1
        return unfinished

    def _execute(self, selected: RowSelection | None, total: int, repeats_file: Path | None) -> bool:
        """Run the tasks; False when they were submitted and left running."""
        pipeline = self.pipeline(selected, total, repeats_file)
        unfinished = self._mark_completed_tasks(total, pipeline)
        options = self.options
        workers = options.workers or -1
        if options.executor == "local":
            executor = _LocalExecutor(pipeline, tasks=options.tasks, workers=workers, logging_dir=str(self.logging_dir))
            executor.console_logs = options.progress
            executor.run()
            return True
        if options.executor == "ray":
            return self._run_on_ray(pipeline, workers)
        return self._run_on_slurm(pipeline, workers, unfinished, total)

    def _run_on_ray(self, pipeline: list, workers: int) -> bool:
        from hub_tools.datagen.distributed.ray_cluster import run_on_ray

        run_on_ray(pipeline, tasks=self.options.tasks, workers=workers, logging_dir=str(self.logging_dir),
                   cpus_per_task=self.options.cpus_per_task, mem_per_cpu_gb=self.options.mem_per_cpu_gb,
                   address=self.options.ray_address, console_logs=self.options.progress)
        return True

    def _run_on_slurm(self, pipeline: list, workers: int, unfinished: int, total: int) -> bool:
        from hub_tools.datagen.distributed.slurm import submit_or_find_job, wait_for_job

        with warnings_only(not self.options.progress):
            job = submit_or_find_job(lambda: self.slurm_executor(pipeline, workers), self.parts.folder,
                                     self.logging_dir, self.options.tasks, unfinished)
        if not self.options.wait:
            print(f"when it has finished, run the same command again to merge: {shlex.join(sys.argv)}",
                  file=sys.stderr)
            return False
        wait_for_job(job, lambda: len(self.parts.completed()), total, self.options.poll_seconds,
                     self.options.progress)
        return True

    def slurm_executor(self, pipeline: list, workers: int):
        """The datatrove Slurm executor of this run (its job script: ``executor.get_launch_file_contents``)."""
        from hub_tools.datagen.distributed.slurm import build_executor

        options = self.options
        return build_executor(pipeline, tasks=options.tasks, workers=workers, time_limit=options.time,
                              partition=options.partition, cpus_per_task=options.cpus_per_task,
                              mem_per_cpu_gb=options.mem_per_cpu_gb, sbatch_args=options.sbatch_args,
                              job_name=f"lintseq-{self.config.sampler}", logging_dir=self.logging_dir)


class _LocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor, with its tasks in a pool that notices a dead process.

    datatrove runs local tasks in a ``multiprocess.Pool``, which waits forever for a task whose process was
    killed (``kill -9``, the OOM killer). A ``ProcessPoolExecutor`` reports it instead: the unfinished tasks
    run again (the chunk in flight in a process of its own, see :class:`~hub_tools.datagen.distributed.steps.LintSeqReader`), twice at most; past
    that the run stops with the finished parts kept, and the same command finishes it.
    """

    # Whether the tasks' log lines (pipeline, per-task stats) also go to the console; always to the task's log
    # file. Off with --no-progress: stderr then holds only warnings and errors.
    console_logs = True

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
        # Before datatrove's own handling, which logs a task's error with its whole traceback: a changed source
        # is one line.
        refuse = getattr(self.pipeline[0], "refuse_a_changed_source", None) if self.pipeline else None
        if refuse is not None:
            refuse()
        # datatrove prints a task's INFO lines on the console for local rank 0 only (local_rank serves nothing
        # else): a task that is to be quiet runs as another local rank.
        return super()._run_for_rank(rank, local_rank if self.console_logs else max(local_rank, 1), node_rank)

    def run(self) -> None:
        self._launched = True
        self.save_executor_as_json()
        stats = PipelineStats()
        for attempt in range(LOCAL_ATTEMPTS):
            try:
                stats += self._run_ranks(self.get_incomplete_ranks())
                break
            except BrokenProcessPool:
                if attempt == LOCAL_ATTEMPTS - 1:
                    raise UserError("task processes kept dying (killed, or out of memory); the finished parts are "
                                    "kept: run the same command again to finish") from None
                # The unfinished chunks of the dead task are redone, each in a process of its own.
                logger.warning("a task's process died; running its unfinished chunks again")
        with self.logging_dir.open("stats.json", "wt") as file:
            stats.save_to_disk(file)

    def _run_ranks(self, ranks: list[int]) -> PipelineStats:
        stats = PipelineStats()
        if self.workers == 1 or len(ranks) <= 1:
            for rank in ranks:
                stats += self._run_for_rank(rank)
            return stats
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(self.workers, len(ranks)), mp_context=context, initializer=die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(self._run_for_rank, rank, index % self.workers) for index, rank in enumerate(ranks)]
            for future in as_completed(futures):
                stats += future.result()
        return stats
