"""The process inside the sandbox: a clean template that forks one fresh, confined process per program.

Started by the evaluator (``hub_tools.evaluation.sandbox``) inside bubblewrap where it can, as
``python -I -B -c SOURCE`` where SOURCE is this file after ``values.py``, ``kernel.py``,
``guard.py``, ``namespaces.py`` (which it uses without bubblewrap) and ``workdir.py``: the standard library only, nothing of the evaluator's memory, a fixed environment.
No program ever runs in this process; it only forks them.

**Control channel** (the descriptor named in the settings, a UNIX ``SOCK_SEQPACKET`` socket from the evaluator, one JSON
message per packet): this process first says ``{"ready": true, "facts": {...}}`` (what it could confine).
Each job arrives as ``{"job": N, "limits": {...}}`` with two pipe ends attached (``SCM_RIGHTS``): the end the
program reads requests from and the end it writes answers to. It forks the program's process, and answers
``{"job": N, "exit": CODE, "killed": BOOL, "folder_full": BOOL, "too_many_tasks": BOOL, "cpu_limit": BOOL, "past_deadline": BOOL, "duration": SECONDS}`` once that process has ended
(``CODE`` as ``subprocess`` gives it, negative for a signal; killed on ``{"kill": N}``, at the backup deadline,
or once its files hold more than the limit). The backup deadline is the time limit and a grace; ``{"credit": N,
"seconds": S}`` moves it S seconds later, S at most the job's ``most_credit`` (the time the evaluator spent on other
programs' answers while this one waited: see ``checks._ReadingTime``). So each program has its own pair of pipes, created for it and closed after it: no channel
is shared between programs, and a program can write nothing the evaluator would read as another's result.

**The program's process** closes every other descriptor, moves into a fresh empty directory, sets its
limits, ``no_new_privs``, the Python guard (a second fence), Landlock and seccomp (``kernel.py``),
and only then reads its program. Frames on the pipes are a 4-byte length and a tagged-JSON value
(``values.py``). Requests: ``["program", SOURCE, ENTRY_POINT]`` (``ENTRY_POINT`` null: run the
program with its tests inside and report the outcome), then ``["call", ARGS, KWARGS]``. Answers:
``["loaded"]``, ``["value", V]``, ``["raised", TYPE, MESSAGE, LINE, BUILTIN_BASE, ARGS or null]``,
``["unencodable", WHY]``, ``["finished", STATUS, REASON]``.
"""

# SOURCE is compiled as one program with the files before it: they provide encode_value, decode_value,
# UnencodableValue, set_no_new_privs, install_seccomp, install_landlock, landlock_abi, seccomp_supported,
# set_limits, install_guard, enter_namespaces, become, remove_tree, folder_too_full and files_held_open.

import contextlib
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import time

MAX_FRAME_BYTES = 16 << 20
# How often the template measures a running program's folder (workdir.py).
FOLDER_CHECK_SECONDS = 0.1
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
# Imported once here, so that the forked programs find them loaded: a fork costs about a millisecond,
# importing these in every program would cost more than running most test suites.
PRELOADED_MODULES = (
    "array", "bisect", "cmath", "collections", "copy", "dataclasses", "datetime", "decimal", "enum",
    "fractions", "functools", "hashlib", "heapq", "itertools", "math", "operator", "random", "re",
    "statistics", "string", "textwrap", "typing", "unicodedata", "subprocess", "pathlib", "traceback", "io",
)


def read_frame(descriptor):
    header = _read_exactly(descriptor, 4)
    if header is None:
        return None
    size = struct.unpack(">I", header)[0]
    if size > MAX_FRAME_BYTES:
        raise ValueError("frame too large")
    body = _read_exactly(descriptor, size)
    if body is None:
        return None
    return decode_value(body.decode("utf-8", "surrogatepass"))  # noqa: F821 (from values.py)


def _read_exactly(descriptor, size):
    data = b""
    while len(data) < size:
        chunk = os.read(descriptor, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def write_frame(descriptor, value, subclasses=False, depth=0):
    body = encode_value(value, subclasses=subclasses, depth=depth).encode("utf-8", "surrogatepass")  # noqa: F821
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(descriptor, data):]


def _source_line(program, error):
    """The line of ``program`` (compiled as ``<program>``) where ``error`` was raised, or 0."""
    line, traceback = 0, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<program>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _message(error):
    """``str(error)``, or nothing where it cannot be made (an int past Python's 4,300 digits in its message)."""
    try:
        return str(error)
    except BaseException:
        return ""


def _builtin_base(error):
    """The name of the nearest builtin class of ``error``'s type (its own class's, whatever it says)."""
    for kind in type.__dict__["__mro__"].__get__(type(error)):
        if kind.__module__ == "builtins":
            return kind.__name__
    return "BaseException"


def _plain_arguments(error):
    """``error.args`` (read by BaseException's own descriptor) as a list of plain data (a numpy scalar as its
    value), or None when they are not plain data."""
    try:
        return decode_value(encode_value(list(BaseException.args.__get__(error)), subclasses=True))  # noqa: F821
    except BaseException:
        return None


def _describe(error, program):
    message = _message(error) or ("memory limit reached" if isinstance(error, MemoryError) else "")
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    line = _source_line(program, error)
    if line:
        lines = program.splitlines()
        text += f" (line {line}: {lines[line - 1].strip()[:120] if line <= len(lines) else ''})"
    return " ".join(text.split())[:500]


def confine(workdir, limits, drop_to=None):
    """In the program's fresh process: everything that must hold before untrusted code runs. ``drop_to``: the
    user to become first (a template left root runs its programs as that user)."""
    if drop_to is not None:
        become(drop_to)  # noqa: F821 (from namespaces.py)
    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir
    if "random" in sys.modules:
        sys.modules["random"].seed()  # the template's state would otherwise repeat in every program
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file past the limit raises OSError instead
    set_limits(limits["memory_limit_mb"], limits["file_size_limit_mb"], int(limits["timeout"]) + 2)  # noqa: F821
    if limits["seccomp"]:  # capset's number is x86-64's, like the filter's
        drop_capabilities()  # noqa: F821
    set_no_new_privs()  # noqa: F821
    install_guard(os.path.realpath(workdir))  # noqa: F821
    if limits["landlock"]:
        install_landlock(limits["read_only_paths"], [workdir], limits["landlock"],  # noqa: F821
                         limits["listable_paths"])
    if limits["seccomp"]:
        install_seccomp(os.getpid())  # noqa: F821


def serve_program(requests, answers):
    """Read the program, run it, then answer calls until the evaluator closes the requests pipe."""
    message = read_frame(requests)
    if not (isinstance(message, list) and len(message) == 3 and message[0] == "program"):
        return
    _, program, entry_point = message
    try:
        code = compile(program, "<program>", "exec")
    except SyntaxError as error:
        where = f" (line {error.lineno})" if error.lineno else ""  # a null byte's error has no line
        write_frame(answers, ["finished", "error", f"SyntaxError: {error.msg}{where}"])
        return
    except BaseException as error:  # null bytes, recursion in the compiler
        write_frame(answers, ["finished", "error", _describe(error, program)])
        return
    namespace = {"__name__": "__sandbox__"}
    try:
        exec(code, namespace)
    except SystemExit as error:
        write_frame(answers, ["finished", "failed",
                              f"SystemExit: the program called exit({error.code!r}) before its tests finished"])
        return
    except BaseException as error:
        write_frame(answers, ["finished", "failed", _describe(error, program)])
        return
    if entry_point is None:
        write_frame(answers, ["finished", "passed", "passed"])
        return
    function = namespace.get(entry_point)
    if not callable(function):
        write_frame(answers, ["finished", "failed", f"the program does not define the function {entry_point}"])
        return
    write_frame(answers, ["loaded"])
    while True:
        request = read_frame(requests)
        if request is None:
            return
        _, arguments, keywords = request
        try:
            result = function(*arguments, **keywords)
        except SystemExit as error:
            write_frame(answers, ["raised", "SystemExit", f"exit({error.code!r})", _source_line(program, error)])
            continue
        except BaseException as error:
            write_frame(answers, ["raised", type(error).__name__, _message(error)[:300], _source_line(program, error),
                                  _builtin_base(error), _plain_arguments(error)])
            continue
        try:
            # The answer (Counter, float64... as plain data), at the depth an argument has: it can be passed back.
            write_frame(answers, ["value", result], subclasses=True, depth=1)
        except UnencodableValue as error:  # noqa: F821
            write_frame(answers, ["unencodable", str(error)])


def run_child(control, requests, answers, workdir, limits, drop_to, template):
    """The forked program's process (``template``: the pid of the process that forked it). Never returns."""
    try:
        os.setsid()
        control.close()
        null = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(null, descriptor)
        keep = sorted((requests, answers))
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 65536)
        confine(workdir, limits, drop_to)
        # Set after becoming the program's user (a change of user clears it): the program dies with its template,
        # so a template killed from outside leaves no program running in a folder that is being removed.
        _c_library().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # noqa: F821 (kernel.py)
        if os.getppid() != template:
            os._exit(70)
    except BaseException as error:
        with contextlib.suppress(BaseException):
            write_frame(answers, ["finished", "error", f"sandbox set-up failed: {type(error).__name__}: {error}"])
        os._exit(71)
    try:
        serve_program(requests, answers)
    finally:
        os._exit(0)


def _can_become(user):
    """Whether a process of this one can become ``user`` (not in a user namespace that maps root alone)."""
    child = os.fork()
    if child == 0:
        try:
            become(user)  # noqa: F821
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitpid(child, 0)[1] == 0


def _probe(limits):
    """Whether this kernel lets a process confine itself as programs will be: fork one and see."""
    workdir = tempfile.mkdtemp()
    child = os.fork()
    if child == 0:
        try:
            confine(workdir, limits)
            os._exit(0)
        except BaseException:
            os._exit(1)
    confined = os.waitpid(child, 0)[1] == 0
    os.rmdir(workdir)
    return confined


def run_job(control, message, descriptors, base, drop_to):
    limits = message["limits"]
    requests, answers = descriptors
    workdir = tempfile.mkdtemp(dir=base)
    if drop_to is not None:
        os.chown(workdir, drop_to, drop_to)
    start = time.monotonic()
    template = os.getpid()
    pid = os.fork()
    if pid == 0:
        run_child(control, requests, answers, workdir, limits, drop_to, template)
    os.close(requests)
    os.close(answers)
    process = os.pidfd_open(pid)
    deadline = start + limits["timeout"] + limits["grace"]
    credit = 0.0
    killed = folder_full = too_many_tasks = cpu_limit = past_deadline = False
    # Without namespaces the folder is on the host's disk, which a file size limit alone does not protect:
    # it is measured while the program runs, with the files the program holds open under no name, and the
    # program killed once they hold too much.
    folder_limit = limits["folder_limit_mb"] << 20
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = past_deadline = True
        ready = select.select([process, control], [], [], min(max(remaining, 0.05), FOLDER_CHECK_SECONDS))[0]
        if process in ready:
            break
        if control in ready:
            order = control.recv(65536)
            if not order:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SystemExit(0)
            order = json.loads(order)
            if order.get("kill") == message["job"] and not killed:
                os.kill(pid, signal.SIGKILL)
                killed = True
            elif order.get("credit") == message["job"] and isinstance(order.get("seconds"), (int, float)):
                credit = min(max(float(order["seconds"]), credit), limits.get("most_credit", 0.0))
                deadline = start + limits["timeout"] + limits["grace"] + credit
        if not killed and (folder_too_full(workdir, folder_limit) or files_held_open(pid) > folder_limit):  # noqa: F821 (workdir.py)
            os.kill(pid, signal.SIGKILL)
            killed = folder_full = True
        if not killed and threads_of(pid) > MAX_TASKS:  # noqa: F821 (workdir.py)
            os.kill(pid, signal.SIGKILL)
            killed = too_many_tasks = True
        # Credit is for waiting on the evaluator, never for computing: past its time limit in CPU time, a program
        # given credit is timed out (the CPU limit of kernel.set_limits counts whole seconds, and 2 more).
        if not killed and credit > 0 and cpu_seconds(pid) > limits["timeout"]:  # noqa: F821 (workdir.py)
            os.kill(pid, signal.SIGKILL)
            killed = cpu_limit = True
    _, status = os.waitpid(pid, 0)
    os.close(process)
    remove_tree(workdir)  # noqa: F821 (workdir.py)
    code = os.waitstatus_to_exitcode(status)
    control.send(json.dumps({"job": message["job"], "exit": code, "killed": killed, "folder_full": folder_full,
                             "too_many_tasks": too_many_tasks, "cpu_limit": cpu_limit,
                             "past_deadline": past_deadline, "duration": round(time.monotonic() - start, 6)}).encode())


def main(settings):
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    namespaces, namespace_problem, mount_point = [], None, None
    if settings.get("namespaces"):
        namespaces, namespace_problem, mount_point = enter_namespaces(  # noqa: F821
            libc, settings["read_only_paths"], settings.get("drop_to"), settings.get("reachable", False),
            settings.get("hidden_paths", []))
    # A template still root here (no namespaces, or none it could drop root in) runs its programs as the
    # unprivileged user, where that user can reach the interpreter: a process of uid 0, even without
    # capabilities, owns root's files (a token under /root among them) wherever Landlock does not hide them.
    # The template itself stays root: it measures what its programs hold open (/proc/PID/fd).
    drop_to = settings.get("drop_to")
    if not (drop_to is not None and os.getuid() == 0 and settings.get("reachable") and _can_become(drop_to)):
        drop_to = None
    # Programs run as this same user: non-dumpable, this process's memory and /proc entries are not theirs.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for name in PRELOADED_MODULES:
        with contextlib.suppress(ImportError):
            __import__(name)
    import gc

    # What the template holds is never collected in a program's process: keeps its pages shared (no copy).
    gc.collect()
    gc.freeze()
    control = socket.socket(fileno=settings["control_fd"])
    abi = landlock_abi()  # noqa: F821
    base = tempfile.mkdtemp(prefix="sandbox-")
    mark_owner(base)  # noqa: F821 (workdir.py): its descriptor stays open, and so locked, until this process ends
    if drop_to is not None:
        os.chmod(base, 0o711)  # its programs reach their own folders in it, and cannot list it
    # Landlock's rules: what may be read, less the hidden paths (their folders listable only).
    readable = {"read_only_paths": settings["landlock_readable"], "listable_paths": settings["landlock_listable"]}
    probe_limits = {"memory_limit_mb": 1024, "file_size_limit_mb": 1, "timeout": 1, **readable}
    landlock = abi if abi and _probe({**probe_limits, "landlock": abi, "seccomp": False}) else 0
    seccomp = seccomp_supported() and _probe({**probe_limits, "landlock": 0, "seccomp": True})  # noqa: F821
    facts = {"uid": os.getuid(), "program_uid": os.getuid() if drop_to is None else drop_to, "pid": os.getpid(),
             "landlock": landlock, "seccomp": bool(seccomp), "namespaces": namespaces,
             "namespace_problem": namespace_problem, "environment": sorted(os.environ), "mount_point": mount_point,
             "work_folder": base}
    control.send(json.dumps({"ready": True, "facts": facts}).encode())
    try:
        while True:
            message, descriptors, _, _ = socket.recv_fds(control, 65536, 2)
            if not message:
                return
            order = json.loads(message)
            if "job" not in order or len(descriptors) != 2:
                for descriptor in descriptors:
                    os.close(descriptor)
                continue
            order["limits"].update(landlock=landlock, seccomp=seccomp, **readable)
            run_job(control, order, descriptors, base, drop_to)
    finally:
        remove_tree(base)  # noqa: F821 (workdir.py)
