"""Worker processes that cannot outlive the process that started them.

A generation or verification run keeps its workers busy for a long time; if the main process is killed
(``kill -9`` included, where it can clean nothing up), its workers must not run on unseen, each holding a
kept-alive pylint. Two mechanisms, because neither covers every case alone:

- ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (Linux): the kernel kills the worker the moment its parent dies. It
  is tied to the parent *thread* that started the worker, and it cannot fire for a parent that died
  before the call;
- a watchdog thread that checks once a second whether the worker has been handed to another parent.

``multiprocessing``'s resource tracker needs neither: it exits when the last process holding its pipe (the
parent and its workers) is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
WATCH_INTERVAL = 1.0  # seconds between two looks at the parent


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when the process ``parent_pid`` (its parent) dies, however it dies.

    Meant as (part of) a process pool's ``initializer``, with ``os.getpid()`` of the parent as argument.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the watchdog alone
            pass
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was asked for
    threading.Thread(target=_watch, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL)
        if os.getppid() != parent_pid:
            # _exit, not exit: nothing of a half-done chunk may be flushed, and no other thread waited for.
            os._exit(1)
