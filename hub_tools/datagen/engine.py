"""The generation engine: streaming, parallel, deterministic and resumable.

Source rows are read in order and cut into chunks of ``chunk_size`` rows (default ``CHUNK_SIZE``); chunk
``k`` always holds the same rows, and :func:`~hub_tools.datagen.rows.process_record` is a pure function of (row, config), so the
output does not depend on the number of workers or on which worker ran what. Each finished chunk is saved
as a part (see :mod:`hub_tools.datagen.writer`); a rerun of the same command skips the parts on disk (those
it can read: a damaged one is removed and its chunk computed again), if the local source files have the
size and modification time the run started with. At most a few chunks per worker are in flight, so memory
does not grow with the input. One command at a time runs a folder (:mod:`hub_tools.datagen.folder_lock`).

A worker process that dies (a segfault in a C extension, the kernel's OOM killer) breaks the pool; its
unfinished chunks are then rerun in isolation, halving them until the row that kills its process is found
and skipped as ``worker_crash``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from pathlib import Path

import numpy as np

from hub_tools.datagen.assembly import RunSummary, assemble_dataset, recorded_summary, save_part
from hub_tools.datagen.folder_lock import folder_lock
from hub_tools.datagen.lifetime import die_with_parent
from hub_tools.datagen.repeats import Repeats, find_repeats, first_occurrences, mark_repeats
from hub_tools.datagen.row_selection import RowSelection
from hub_tools.datagen.rows import GenerationConfig, RowOutcome, process_record
from hub_tools.datagen.sources import Source, SourceRecord, pin_to_run
from hub_tools.datagen.writer import SOURCE_FILES, PartStore, check_output_folder
from hub_tools.progress import count_earlier

CHUNK_SIZE = 128
IN_FLIGHT_PER_WORKER = 3

# Seconds between the attempts at a row whose process died, before it is skipped (isolate_records).
ROW_RETRY_PAUSES = (1.0, 4.0)
_progress_queue = None  # set in each worker process by _init_worker


def _init_worker(progress_queue, parent_pid: int) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    die_with_parent(parent_pid)  # a killed run leaves no worker behind


def _process_chunk(records: list[SourceRecord], config: GenerationConfig) -> list[RowOutcome]:
    outcomes = []
    for record in records:
        outcomes.append(process_record(record, config))
        if _progress_queue is not None:
            _progress_queue.put(1)
    return outcomes


def _process_chunk_in_worker(records: list[SourceRecord], config: GenerationConfig) -> tuple[int, list[RowOutcome]]:
    """A pool worker's chunk: its outcomes with the worker's process id (which worker did what)."""
    return os.getpid(), _process_chunk(records, config)


def selected_records(records: Iterable[SourceRecord], selected: RowSelection | None) -> Iterable[SourceRecord]:
    """The records of the ``selected`` rows (all of them without a selection)."""
    return records if selected is None else (record for record in records if record.index in selected)


def chunk_records(records: Iterator[SourceRecord], selected: RowSelection | None, config: GenerationConfig,
                  size: int | None = None, first: int = 0, repeats: Repeats | None = None
                  ) -> Iterator[tuple[int, list[SourceRecord]]]:
    """Number the source rows (only ``selected`` ones, when given) in chunks of ``size`` (``CHUNK_SIZE``);
    ``records`` may start at chunk ``first`` (the rows before it left out). With ``config.drop_duplicates``,
    the rows ``repeats`` lists are ``duplicate`` skips; without ``repeats`` they are found as the rows go by."""
    records = selected_records(records, selected)
    if repeats is not None:
        records = mark_repeats(records, repeats)
    elif config.drop_duplicates:
        records = first_occurrences(records, config)
    number = first
    while True:
        chunk = list(islice(records, size or CHUNK_SIZE))
        if not chunk:
            return
        yield number, chunk
        number += 1


def select_rows(source: Source, num_samples: int, seed: int) -> RowSelection:
    """A random subset of ``num_samples`` row indices, the same for the same source and seed (one bit a source
    row: :mod:`hub_tools.datagen.row_selection`)."""
    total = source.count_by_reading()
    if num_samples >= total:
        if num_samples > total:
            print(f"note: --num-samples {num_samples:,}: the source has {total:,} rows; all of them are used",
                  file=sys.stderr)
        return RowSelection.of(range(total), total)
    generator = np.random.default_rng([seed, 0x5E1EC7])
    return RowSelection.of(generator.choice(total, size=num_samples, replace=False), total)


class Engine:
    """Runs one generation into an output folder.

    Args:
        source: where the rows come from.
        output_dir: the dataset folder (created if missing).
        config: the per-row settings.
        workers: worker processes (1 runs in this process).
        num_samples: process a random subset of this many source rows.
        chunk_size: source rows per chunk, the unit of work of a worker and of resuming (the output does not
            depend on it; an unfinished run resumes only with the chunk size it started with).
        overwrite: discard an unfinished run with other settings instead of refusing.
        progress: show a progress bar.
    """

    def __init__(self, source: Source, output_dir: str | Path, config: GenerationConfig, *, workers: int = 1,
                 num_samples: int | None = None, chunk_size: int = CHUNK_SIZE, overwrite: bool = False,
                 progress: bool = True):
        self.source, self.config = source, config
        self.output_dir = Path(output_dir)
        self.workers, self.num_samples = max(1, workers), num_samples
        self.chunk_size = max(1, chunk_size)
        self.overwrite, self.progress = overwrite, progress
        self.config_name = config.sampler
        self.parts = PartStore(self.output_dir, self.config_name, self.config.keep_fields)

    def fingerprint(self) -> dict:
        # The chunk size fixes which rows each saved part holds: a resumed run must cut the same chunks, from
        # the same local files (their size and modification time, taken as the run starts).
        return {"source": self.source.description, "num_samples": self.num_samples, "chunk_size": self.chunk_size,
                **self.config.to_dict(), SOURCE_FILES: self.source.file_stamps()}

    def run(self) -> RunSummary:
        """Generate (or resume, or find done) the folder's run, holding its lock (:mod:`~hub_tools.datagen.folder_lock`)."""
        check_output_folder(self.output_dir)
        with folder_lock(self.output_dir):
            return self._run()

    def _run(self) -> RunSummary:
        from hub_tools.datagen.manifest import check_finished_run, recorded_commit
        from hub_tools.progress import progress_bar

        started = time.perf_counter()
        summary = RunSummary(self.config_name, self.output_dir)
        # An unfinished run of this config resumes (or is refused) in prepare(); a finished folder is
        # compared here: the same settings have nothing to do, others are refused unless overwrite.
        if not self.parts.unfinished() and check_finished_run(self.output_dir, self.fingerprint(), self.overwrite):
            return recorded_summary(self.output_dir, summary)
        summary.resumed_parts = self.parts.prepare(self.fingerprint(), self.overwrite)
        # A Hub source: one commit for the run, resumed or not, and the one the folder's other configs came from.
        pin_to_run(self.source, self.parts.folder, None if self.overwrite else recorded_commit(self.output_dir, self.source))
        done = self.parts.completed()
        selected = select_rows(self.source, self.num_samples, self.config.seed) if self.num_samples else None
        total = len(selected) if selected is not None else self.source.count()
        bar = progress_bar(total, f"lintseq generate ({self.config_name})", "program", enabled=self.progress)
        chunks = self._pending_chunks(selected, done, bar)
        self._chunk_processes = summary.chunk_processes
        if self.workers == 1:
            for number, records in chunks:
                outcomes = []
                for record in records:
                    outcomes.append(process_record(record, self.config))
                    bar.update(1)
                self._save(number, outcomes, os.getpid())
        else:
            self._process_in_pool(chunks, bar)
        bar.close()
        return self._finish(summary, started)

    def _pending_chunks(self, selected, done, bar) -> Iterator[tuple[int, list[SourceRecord]]]:
        repeats = None
        if self.config.drop_duplicates:  # one pass first, 16 bytes a row (hub_tools.datagen.repeats)
            print("finding repeated rows: one pass over the source", file=sys.stderr, flush=True)
            repeats = find_repeats(selected_records(self.source, selected), self.config)
        for number, chunk in chunk_records(iter(self.source), selected, self.config, self.chunk_size,
                                           repeats=repeats):
            if number in done:
                count_earlier(bar, len(chunk))  # finished by an earlier, interrupted run
            else:
                yield number, chunk

    def _save(self, number: int, outcomes: list[RowOutcome], process: int = 0) -> None:
        self._chunk_processes[number] = process  # 0: computed in isolation after a worker died
        save_part(self.parts, number, outcomes)

    def _process_in_pool(self, chunks: Iterator[tuple[int, list[SourceRecord]]], bar) -> None:
        context = multiprocessing.get_context("spawn")
        progress_queue = context.Queue()
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                 initargs=(progress_queue, os.getpid())) as pool:
            try:
                broken = self._run_pool(pool, chunks, progress_queue, bar)
            except KeyboardInterrupt:
                # A terminal's Ctrl-C reaches the workers too; a SIGINT to this process alone (a supervisor's)
                # left them finishing their chunks, about 30 s, before the exit. The saved parts stay.
                # The pool's own workers only (its `_processes`, private but there since Python 3.2): a library
                # caller's other children are not ours to stop.
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        _drain(progress_queue, bar)
        if broken:
            # Progress ticks of the lost chunks may already have been counted; the bar is approximate here.
            for number, records in sorted(broken, key=lambda item: item[0]):
                self._save(number, isolate_records(records, self.config))
            self._process_in_pool(chunks, bar)  # the rest, in a fresh pool

    def _run_pool(self, pool, chunks, progress_queue, bar) -> list[tuple[int, list[SourceRecord]]]:
        """Keep the pool busy until the chunks run out or a worker dies; return the chunks to redo."""
        broken: list[tuple[int, list[SourceRecord]]] = []
        futures: dict = {}
        exhausted = False
        while True:
            # A bounded number of chunks in flight keeps memory flat however large the source is.
            while not exhausted and len(futures) < self.workers * IN_FLIGHT_PER_WORKER:
                item = next(chunks, None)
                if item is None:
                    exhausted = True
                    continue
                try:
                    futures[pool.submit(_process_chunk_in_worker, item[1], self.config)] = item
                except BrokenProcessPool:  # a worker died since the last wait: redo this chunk too
                    broken.append(item)
                    break
            if not futures and not broken:
                break
            finished, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress_queue, bar)
            for future in finished:
                number, records = futures.pop(future)
                try:
                    process, outcomes = future.result()
                    self._save(number, outcomes, process)
                except BrokenProcessPool:
                    broken.append((number, records))
            if broken:
                broken += list(futures.values())
                break
        return broken

    def _finish(self, summary: RunSummary, started: float) -> RunSummary:
        return assemble_dataset(self.parts, self.output_dir, self.source, self.config, self.num_samples,
                                summary, started, {"workers": self.workers})


def _drain(progress_queue, bar) -> None:
    while True:
        try:
            bar.update(progress_queue.get_nowait())
        except queue.Empty:
            return
        except (OSError, ValueError, EOFError):  # the queue's feeder went away with a dead worker
            return


def isolate_records(records: list[SourceRecord], config: GenerationConfig) -> list[RowOutcome]:
    """Process records in a fresh single-worker pool, halving on a crash until the culprit row is found.

    The one row left is tried again (:data:`ROW_RETRY_PAUSES`) before it is skipped as ``worker_crash``: a
    process killed from outside (the OOM killer taking the node's largest process while another job grows, an
    operator's kill) is not the row's doing, and a skipped row is never redone (its part is finished). Under
    kills every 0.3 s for 8 s, 12 healthy rows were skipped for good.
    """
    try:
        return _in_a_fresh_process(records, config)
    except BrokenProcessPool:
        pass
    if len(records) > 1:
        middle = len(records) // 2
        return isolate_records(records[:middle], config) + isolate_records(records[middle:], config)
    for pause in ROW_RETRY_PAUSES:
        time.sleep(pause)
        try:
            return _in_a_fresh_process(records, config)
        except BrokenProcessPool:
            continue
    record = records[0]
    return [RowOutcome(record.index, record.location, skipped=(
        "worker_crash", f"the worker process died on this row, {len(ROW_RETRY_PAUSES) + 1} times"))]


def _in_a_fresh_process(records: list[SourceRecord], config: GenerationConfig) -> list[RowOutcome]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        return pool.submit(_process_chunk, records, config).result()
