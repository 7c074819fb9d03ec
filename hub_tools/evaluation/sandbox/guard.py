"""The Python-level guard of a sandboxed program: destructive functions replaced by ones that refuse.

Part of the sandboxed template's program (see ``isolation.runner_source``; so: standard library
only, no ``from __future__`` import) and installed in each program's process just before the program runs.
It is the second fence: it turns the commonest accidents (generated code that deletes files or starts
processes) into readable failures such as ``os.system is disabled in the sandbox``. The boundary is the
kernel's (namespaces, seccomp, Landlock; ``kernel.py``), which holds when this guard is bypassed.
"""

import os
import signal
import sys


class SandboxViolation(PermissionError):
    """Raised inside a sandboxed program when it calls a function the sandbox disables."""


def install_guard(root: str) -> None:
    """Replace the functions that could harm anything outside the program's own directory."""
    import builtins
    import io
    import shutil as shutil_module
    import socket
    import subprocess

    def disabled(name):
        def refuse(*args, **kwargs):
            raise SandboxViolation(f"{name} is disabled in the sandbox")

        refuse.__name__ = name.rsplit(".", 1)[-1]
        return refuse

    real_path, readlink, join = os.path.realpath, os.readlink, os.path.join

    def inside(path, dir_fd=None) -> bool:
        if isinstance(path, int):
            return True  # an already-open descriptor: it was opened through these checks
        path = os.fsdecode(path)
        base = readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else root
        full = real_path(join(base, path))
        return full == root or full.startswith(root + os.sep)

    def confined(name, function, *, positions=(0,)):
        def guarded(*args, **kwargs):
            dir_fd = kwargs.get("dir_fd", kwargs.get("src_dir_fd"))
            for position in positions:
                if position < len(args) and not inside(args[position], dir_fd):
                    raise SandboxViolation(f"{name} outside the sandbox directory is disabled ({args[position]!r})")
            return function(*args, **kwargs)

        return guarded

    real_open, real_os_open = builtins.open, os.open
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and not inside(file):
            raise SandboxViolation(f"writing outside the sandbox directory is disabled ({file!r})")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & write_flags and not inside(path, kwargs.get("dir_fd")):
            raise SandboxViolation(f"writing outside the sandbox directory is disabled ({path!r})")
        return real_os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guarded_open
    os.open = guarded_os_open
    # os.register_at_fork stays: logging, asyncio and concurrent.futures call it on import, and the hooks
    # could only run on a fork, which a program cannot make.
    for name in ("remove", "unlink", "rmdir", "mkdir", "truncate"):
        setattr(os, name, confined(f"os.{name}", getattr(os, name)))
    for name in ("rename", "replace", "link", "symlink"):
        setattr(os, name, confined(f"os.{name}", getattr(os, name), positions=(0, 1)))
    for name in ("system", "popen", "kill", "killpg", "fork", "forkpty", "vfork", "posix_spawn", "posix_spawnp",
                 "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe", "spawnv", "spawnve",
                 "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnvp", "spawnvpe", "removedirs", "renames",
                 "chmod", "lchmod", "fchmod", "chown", "lchown", "fchown", "chroot", "chdir", "fchdir", "setsid",
                 "setpgid", "setpgrp", "setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid",
                 "setresuid", "setresgid", "mkfifo", "mknod", "pidfd_open", "plock", "memfd_create", "utime",
                 "setxattr", "removexattr", "chflags", "lchflags"):
        if hasattr(os, name):
            setattr(os, name, disabled(f"os.{name}"))
    # Inside its own directory a program may clean up (tempfile.TemporaryDirectory uses rmtree).
    shutil_module.rmtree = confined("shutil.rmtree", shutil_module.rmtree)
    shutil_module.move = confined("shutil.move", shutil_module.move, positions=(0, 1))
    shutil_module.chown = disabled("shutil.chown")
    for name in ("Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"):
        setattr(subprocess, name, disabled(f"subprocess.{name}"))
    import _posixsubprocess

    _posixsubprocess.fork_exec = disabled("_posixsubprocess.fork_exec")
    if hasattr(signal, "pidfd_send_signal"):
        signal.pidfd_send_signal = disabled("signal.pidfd_send_signal")

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            raise SandboxViolation("network access (socket) is disabled in the sandbox")

    import _socket

    socket.socket = socket.SocketType = _socket.socket = _socket.SocketType = NoSocket
    for name in ("socketpair", "fromfd", "create_connection", "create_server", "getaddrinfo"):
        setattr(socket, name, disabled(f"socket.{name}"))
    # Modules whose only use here would be to undo the above.
    for name in ("ctypes", "_ctypes", "resource", "_posixsubprocess", "multiprocessing", "pty"):
        sys.modules[name] = None
