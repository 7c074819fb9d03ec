"""The sandbox worker: runs untrusted programs, each in its own short-lived process.

The evaluator (``hub_tools.evaluation.sandbox``) starts this file as a plain script with the standard library
only, so it starts in milliseconds and carries nothing of the evaluator's memory (no model, no tokens, no
threads). It then serves jobs over its pipes, one JSON object per line:

- first, it writes ``{"ready": true, "isolation": {...}}`` saying which kernel isolation it obtained;
- for each ``{"id": ..., "program": "..."}`` read from stdin it writes
  ``{"id": ..., "status": "passed|failed|timed_out|error", "reason": "...", "duration": seconds}``.

Where the kernel allows it (root, or unprivileged user namespaces), this worker first moves into a network
namespace of its own (no interface but a downed loopback) and becomes process 1 of a new PID namespace.
Each program then runs in a forked process that starts a new session (so a ``killpg`` reaches only its
own group), works in a throw-away directory, runs under memory / file-size / CPU / process limits, and
has the destructive parts of the standard library replaced by functions that raise ``SandboxViolation``.
The wall-clock limit is enforced from here with SIGKILL, so a hang costs exactly its time limit.

The Python-level guards stop accidents (a model that writes ``os.system("rm ...")`` or an endless fork loop);
they are not a boundary against code written to escape them. The namespaces are kernel-enforced.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import signal
import sys
import tempfile
import time

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
LAUNCH_FAILED_EXIT_CODE = 70
MAX_MESSAGE_BYTES = 65536
_GUARD = None  # the sandbox_guard module, loaded by main()

# Imported once here so that the forked programs find them already loaded: a fork is ~1 ms, importing these
# in every program would cost more than running most test suites.
PRELOADED_MODULES = (
    "array", "bisect", "cmath", "collections", "copy", "dataclasses", "datetime", "decimal", "enum",
    "fractions", "functools", "hashlib", "heapq", "itertools", "json", "math", "operator", "random", "re",
    "statistics", "string", "textwrap", "typing", "unicodedata", "resource", "socket", "subprocess", "shutil",
    "pathlib", "traceback", "io",
)


def _load_guard():
    """``sandbox_guard.py`` beside this file, loaded by path: the worker runs isolated (``python -I``)."""
    import importlib.util

    location = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_guard.py")
    specification = importlib.util.spec_from_file_location("hub_tools_sandbox_guard", location)
    module = importlib.util.module_from_spec(specification)
    specification.loader.exec_module(module)
    return module


def _load_libc():
    """The C library through ctypes, or None where ctypes is unavailable (namespaces are then skipped)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None


def _enter_user_and_network_namespaces(libc) -> bool:
    """Without privileges: a user namespace (mapping our own ids) grants the right to a network namespace."""
    user_id, group_id = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return False
    # The id maps keep the real user and group as owners of the files the programs create; without them
    # no file could be created at all.
    for name, content in (("setgroups", "deny"), ("uid_map", f"{user_id} {user_id} 1"),
                          ("gid_map", f"{group_id} {group_id} 1")):
        with contextlib.suppress(OSError), open(f"/proc/self/{name}", "w") as handle:
            handle.write(content)
    return os.getuid() == user_id and os.getgid() == group_id


def _enter_network_namespace(libc) -> bool:
    """Move this worker (and so every program it starts) into a network namespace of its own."""
    if libc is None:
        return False
    if libc.unshare(CLONE_NEWNET) == 0:
        return True
    # A namespace cannot be left once entered: try the unprivileged route in a throw-away child first.
    probe = os.fork()
    if probe == 0:
        os._exit(0 if _enter_user_and_network_namespaces(libc) else 1)
    if _exit_code_of(probe) != 0:
        return False
    return _enter_user_and_network_namespaces(libc)


def _become_pid_namespace_init(libc) -> bool:
    """Become process 1 of a new PID namespace in which every program of this worker will run.

    The process the evaluator started stays outside as a relay: it waits for the namespace's process 1 (a
    fork of it, which goes on serving the pipes) and exits with its exit code. Programs then see no process
    outside the namespace, and from inside it nothing can signal process 1, so no program can stop this
    worker. One namespace per worker rather than per program: a namespace costs two more forks.
    """
    if libc is None or libc.unshare(CLONE_NEWPID) != 0:
        return False
    child = os.fork()
    if child != 0:
        os._exit(_exit_code_of(child))
    # If the relay is killed (the evaluator stopping this worker), the namespace ends with it.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getpid() == 1


def _reap_strays() -> None:
    """As process 1 of the namespace: end and collect any process a program left behind."""
    if os.getpid() != 1:
        return  # kill(-1) outside a namespace of our own would reach every process of the user
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _running_tasks() -> int:
    """Every task (process or thread) on the machine, from /proc/loadavg; an upper bound of this user's."""
    try:
        with open("/proc/loadavg") as handle:
            return int(handle.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return 4096


def _set_limits(limits: dict) -> None:
    import resource

    memory = limits["memory_limit_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    file_size = limits["file_size_limit_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    # CPU time backs up the wall-clock kill in case this worker itself is stalled.
    cpu_seconds = math.ceil(limits["timeout"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # RLIMIT_NPROC counts all of the user's tasks, so the bound is "what runs now plus a few"; the kernel
    # does not apply it to root, where the PID namespace and the disabled fork functions do the work.
    tasks = _running_tasks() + limits["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))
    # A file that grows past the limit should raise OSError in the program, not kill it silently.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _describe(error: BaseException, program: str, limits: dict) -> str:
    """One line: exception type, message, and the program line that raised it."""
    message = str(error)
    if isinstance(error, MemoryError):
        message = message or f"memory limit of {limits['memory_limit_mb']} MB reached"
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    line_number, traceback = None, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<program>":
            line_number = traceback.tb_lineno
        traceback = traceback.tb_next
    if line_number is not None:
        lines = program.splitlines()
        source = lines[line_number - 1].strip() if 0 < line_number <= len(lines) else ""
        text += f" (line {line_number}: {source[:120]})"
    return " ".join(text.split())[:500]


def _run_program(program: str, workdir: str, write_fd: int, limits: dict) -> None:
    """In the sandboxed process: set up, run, report one line, exit. Never returns."""
    write, exit_now, dumps = os.write, os._exit, json.dumps

    def report(status: str, reason: str) -> None:
        try:
            write(write_fd, (dumps({"status": status, "reason": reason}) + "\n").encode())
        finally:
            exit_now(0)

    try:
        os.chdir(workdir)
        os.environ["TMPDIR"] = os.environ["HOME"] = workdir
        tempfile.tempdir = workdir
        _set_limits(limits)
    except BaseException as error:
        report("error", f"sandbox set-up failed: {_describe(error, program, limits)}")
    try:
        code = compile(program, "<program>", "exec")
    except SyntaxError as error:
        report("error", f"{type(error).__name__}: {error.msg} (line {error.lineno})")
    except BaseException as error:  # null bytes in the source, recursion in the compiler
        report("error", _describe(error, program, limits))
    try:
        _GUARD.install_guard(os.path.realpath(workdir))
        exec(code, {"__name__": "__sandbox__"})
    except SystemExit as error:
        report("failed", f"SystemExit: the program called exit({error.code!r}) before its tests finished")
    except BaseException as error:
        report("failed", _describe(error, program, limits))
    report("passed", "passed")


def _exit_code_of(pid: int) -> int:
    """Wait for ``pid`` and encode how it ended as an exit code: its own, or 128 + the signal (as shells do)."""
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _launch(program: str, workdir: str, write_fd: int, limits: dict, libc) -> None:
    """In the forked child: detach from everything the worker holds, then run the program. Never returns."""
    os.setsid()
    if libc is not None:
        # If this worker is killed, its program dies with it instead of running on unwatched.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(null, descriptor)
    os.closerange(3, write_fd)
    os.closerange(write_fd + 1, 65536)
    _run_program(program, workdir, write_fd, limits)


def _read_message(read_fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read the program's report until a newline, end of file or the deadline; (data, timed_out)."""
    data = b""
    while b"\n" not in data and len(data) < MAX_MESSAGE_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, True
        ready, _, _ = select.select([read_fd], [], [], remaining)
        if not ready:
            return data, True
        chunk = os.read(read_fd, MAX_MESSAGE_BYTES)
        if not chunk:
            break
        data += chunk
    return data, False


def _wait_for_exit(pid: int, deadline: float) -> int | None:
    """The exit status of ``pid`` if it ends before the deadline, else None (the caller then kills it)."""
    pause = 0.0005
    while True:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _verdict(message: bytes, timed_out: bool, exit_code: int | None, limits: dict) -> tuple[str, str]:
    line = message.split(b"\n", 1)[0]
    if line:
        try:
            report = json.loads(line)
            return str(report["status"]), str(report["reason"])
        except (ValueError, KeyError, TypeError):
            return "error", "the program wrote over the sandbox's report channel"
    if timed_out:
        return "timed_out", f"timed out after {limits['timeout']:g} s"
    signal_number = -exit_code if exit_code is not None and exit_code < 0 else None
    if signal_number == signal.SIGXCPU:
        return "timed_out", f"CPU time limit reached ({limits['timeout']:g} s)"
    if signal_number == signal.SIGKILL:
        return "error", "killed by SIGKILL (memory or process limit)"
    if signal_number is not None:
        return "error", f"crashed with {signal.Signals(signal_number).name}"
    if exit_code == LAUNCH_FAILED_EXIT_CODE:
        return "error", "the sandbox could not start the program"
    return "error", f"the program exited (code {exit_code}) before its tests finished"


def run_job(program: str, limits: dict, base: str, libc) -> dict:
    """Run one program in a fresh sandboxed process and return its verdict."""
    workdir = tempfile.mkdtemp(dir=base)
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    deadline = start + limits["timeout"]
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _launch(program, workdir, write_fd, limits, libc)
        finally:
            os._exit(LAUNCH_FAILED_EXIT_CODE)
    os.close(write_fd)
    message, timed_out = _read_message(read_fd, deadline)
    os.close(read_fd)
    status = None
    if not message and not timed_out:
        # The report channel closed without a report: learn how the program ended before cleaning up.
        status = _wait_for_exit(pid, deadline)
        timed_out = status is None
    _kill_group(pid)
    if status is None:
        _, status = os.waitpid(pid, 0)
        if message or timed_out:
            status = None  # our own SIGKILL, not the program's end
    duration = time.monotonic() - start
    shutil.rmtree(workdir, ignore_errors=True)
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
    _reap_strays()
    verdict, reason = _verdict(message, timed_out, exit_code, limits)
    return {"status": verdict, "reason": reason, "duration": round(duration, 6)}


def main() -> None:
    global _GUARD
    limits = json.loads(sys.argv[1])
    _GUARD = _load_guard()
    for name in PRELOADED_MODULES:
        with contextlib.suppress(ImportError):
            __import__(name)
    libc = _load_libc()
    network = limits["isolate_network"] and _enter_network_namespace(libc)
    pid_namespace = limits["isolate_processes"] and _become_pid_namespace_init(libc)
    base = tempfile.mkdtemp(prefix="hub_tools-sandbox-")
    isolation = {"network": "namespace" if network else "sockets disabled",
                 "processes": "pid namespace" if pid_namespace else "process group"}
    output = sys.stdout
    output.write(json.dumps({"ready": True, "isolation": isolation}) + "\n")
    output.flush()
    try:
        for line in sys.stdin:
            job = json.loads(line)
            result = run_job(job["program"], limits, base, libc)
            result["id"] = job["id"]
            output.write(json.dumps(result) + "\n")
            output.flush()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
