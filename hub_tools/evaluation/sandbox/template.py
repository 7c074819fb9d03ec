"""One sandboxed template process, and how one program runs on it: the job, the conversation, the result.

:class:`Template` starts the template (``runner.py``, in the way :mod:`~hub_tools.evaluation.sandbox.isolation` says) and
runs one :class:`Job` at a time on it: it hands the template a fresh pair of pipes for the program, sends
the program, runs the trusted test against it (or waits for its own report when the test cannot be
split), and collects how its process ended. The pool in :mod:`hub_tools.evaluation.sandbox` keeps one
template per worker.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import select
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

from hub_tools.evaluation.sandbox import isolation
from hub_tools.evaluation.sandbox.checks import (
    Candidate,
    CandidateTimeout,
    Channel,
    ChannelBroken,
    ChannelClosed,
    FrameTooLarge,
    NotPlainData,
    TrustedTest,
    UnsplittableCall,
    failing_line,
)
from hub_tools.evaluation.sandbox.config import SandboxConfig
from hub_tools.evaluation.sandbox.workdir import remove_tree

# A template needs this long at most to start (imports, probes), and to report a program's end.
WORKER_GRACE_SECONDS = 30.0
# The folder a template's own root is mounted on (``namespaces.py``: ``mkdtemp`` in its /tmp), and the one
# that holds its programs' folders (``runner.py``), in the host's /tmp when it has no file system of its own.
MOUNT_POINT = re.compile(r"/tmp/sandbox-root-[a-z0-9_]{8}")
WORK_FOLDER = re.compile(r"/tmp/sandbox-[a-z0-9_]{8}")
STATUSES = ("passed", "failed", "timed_out", "error")
# The template kills a program this long after its time limit, whatever the evaluator says (runner.py), plus
# the credit the evaluator gives it for the time spent on other programs' answers meanwhile.
BACKUP_GRACE_SECONDS = 5.0
# That credit is at most this many time limits: a program lives at most (1 + this) time limits and the grace,
# however long others keep the evaluator busy. Its CPU time stays limited to the time limit (and 2 s) whatever
# the credit (kernel.set_limits), so a slow program gains nothing from it.
MOST_CREDIT_TIMEOUTS = 10


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


def _describe_exit(exit_code: int, killed: bool, config: SandboxConfig, folder_full: bool = False,
                   too_many_tasks: bool = False, cpu_limit: bool = False,
                   past_deadline: bool = False) -> tuple[str, str]:
    if cpu_limit:
        return "timed_out", f"CPU time limit reached ({config.timeout:g} s)"
    if past_deadline:  # the template's own deadline: the evaluator was too busy to time it out first
        return "timed_out", f"timed out after {config.timeout:g} s"
    if folder_full:
        return "error", f"killed: its files held more than {config.folder_limit_mb} MB"
    if too_many_tasks:
        return "error", "killed: it started more threads than a program may have"
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


class Template:
    """One sandboxed template process and its control socket."""

    def __init__(self, config: SandboxConfig, mode: str):
        self.config = config
        self._jobs_started = 0
        self._mount_point = self._work_folder = self._work_folder_identity = None
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command, bubblewrap, started_as = isolation.template_command(mode, config.hidden_paths)
        user = {"user": started_as, "group": started_as, "extra_groups": []} if started_as is not None else {}
        command[-1] = json.dumps({**json.loads(command[-1]), "control_fd": theirs.fileno()})
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the template)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self._errors, env=isolation.environment(isolation.read_only_paths()),
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
        self.isolation = {"set_up_by": {"bubblewrap": "bubblewrap", "namespaces": "own namespaces"}.get(mode, "plain process"),
                          **isolation.describe(bubblewrap, ready["facts"], started_as)}
        # The empty folder its own namespaces' root was mounted on: the template removes it when it ends, and
        # cannot when it was killed (40 were left in /tmp by a day of runs). Only a name it could have made.
        mount_point = ready["facts"].get("mount_point")
        self._mount_point = mount_point if isinstance(mount_point, str) and MOUNT_POINT.fullmatch(mount_point) else None
        work_folder = ready["facts"].get("work_folder")
        own_files = mode == "bubblewrap" or "mount" in (ready["facts"].get("namespaces") or [])
        if not own_files and isinstance(work_folder, str) and WORK_FOLDER.fullmatch(work_folder):
            # On the host's disk, left there by a template killed from outside. Removed by its name in the
            # shared /tmp, so only while that name is still the folder the template made.
            with contextlib.suppress(OSError):
                status = os.lstat(work_folder)
                self._work_folder, self._work_folder_identity = work_folder, (status.st_dev, status.st_ino)

    def _receive(self, deadline: float) -> dict:
        ready = select.select([self.control], [], [], max(deadline - time.monotonic(), 0))[0]
        if not ready:
            raise WorkerStopped("the sandbox template stopped answering")
        try:
            message = self.control.recv(65536)
        except OSError as error:  # the template died with a message of ours unread: "connection reset"
            raise WorkerStopped(f"the sandbox template ended ({error})") from None
        if not message:
            raise WorkerStopped(f"the sandbox template ended (exit code {self.process.poll()})")
        try:
            return json.loads(message)
        except (ValueError, RecursionError):  # RecursionError: brackets nested past the decoder's limit
            raise WorkerStopped("the sandbox template wrote something other than its protocol") from None

    def run(self, job: Job, whole: bool) -> ExecutionResult:
        if job.test is not None and not whole:
            job.test.prepare()  # the test's setup, before this program's clock starts
        self._jobs_started += 1
        job_id = self._jobs_started  # a late message about an earlier program can never match this one
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        most_credit = MOST_CREDIT_TIMEOUTS * self.config.timeout
        limits = {"timeout": self.config.timeout, "grace": BACKUP_GRACE_SECONDS, "most_credit": most_credit,
                  "memory_limit_mb": self.config.memory_limit_mb,
                  "file_size_limit_mb": self.config.file_size_limit_mb, "folder_limit_mb": self.config.folder_limit_mb}
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
        # Time the evaluator spent reading other programs' answers is not this one's (checks._ReadingTime): the
        # channel's deadline moves by it, and so does the template's backup deadline, as the channel tells it.
        channel = Channel(requests_write, answers_read, start + self.config.timeout, most_credit,
                          on_credit=functools.partial(self._credit, job_id))
        outcome: tuple[str, str] | None = None
        unsplittable = None
        try:
            try:
                outcome = self._converse(channel, job, whole)
            finally:
                channel.settle()  # the verdict, its message included, is written: the evaluator is done
        except CandidateTimeout:
            outcome = ("timed_out", f"timed out after {self.config.timeout:g} s")
        except ChannelClosed:
            outcome = None  # how the process ended decides: see below
        except ChannelBroken as error:
            outcome = ("failed", str(error))
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
            outcome = _describe_exit(int(ended.get("exit", 0)), bool(ended.get("killed")), self.config,
                                     bool(ended.get("folder_full")), bool(ended.get("too_many_tasks")),
                                     bool(ended.get("cpu_limit")), bool(ended.get("past_deadline")))
        duration = float(ended.get("duration", time.monotonic() - start))
        return ExecutionResult(outcome[0], outcome[1], duration, "sandbox" if whole else "evaluator")

    def _credit(self, job_id: int, seconds: float) -> None:
        with contextlib.suppress(OSError):
            self.control.send(json.dumps({"credit": job_id, "seconds": seconds}).encode())

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
        try:
            channel.send(["program", job.whole if whole else job.program, None if whole else job.test.entry_point])
        except FrameTooLarge as error:
            return "error", f"the program is too large for the sandbox: {error}"
        first = channel.receive()
        if first[0] == "finished" and len(first) == 3 and first[1] in STATUSES and isinstance(first[2], str):
            # Split, the process reports only why the program did not load (failed or error); a pass and a
            # time-out are the evaluator's to decide, so a program cannot write either for itself.
            if first[1] in ("passed", "timed_out") and not whole:
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
            try:
                message = " ".join(str(error)[:2000].split())[:300]  # not a split of a 16 MB answer
            except BaseException:  # a message holding the program's answer: an int past 4,300 digits, say
                message = ""
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
        if self._mount_point is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._mount_point)  # only ever an empty folder
        if self._work_folder is not None:
            remove_tree(self._work_folder, expected=self._work_folder_identity)  # gone: nothing to do
        self._errors.close()
