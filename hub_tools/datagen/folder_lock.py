"""One ``lintseq generate`` at a time on an output folder.

The command that runs a folder holds an exclusive ``flock`` on ``OUT/.lintseq-work/lock`` from before it
looks at the saved parts until the merge step has written the folder. A second command on the same folder
is refused at once (exit 2) instead of taking the first one's chunks in flight for crashed ones. The kernel
releases the lock when its process ends, however it ends (``kill -9`` included), so a killed run never leaves
a stale lock: the file may stay, unlocked, and the next command takes it. The file holds the holder's pid
and host, for the refusal. With Slurm, the command on the login node holds it (the tasks only write parts); a
``--no-wait`` command releases it when it returns, and the same command run later takes it again to merge.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from hub_tools.datagen.writer import WORK_FOLDER
from hub_tools.errors import UserError

LOCK_FILE = "lock"
_ATTEMPTS = 5  # a lock file removed by a command finishing just then is made again, a few times at most


@contextlib.contextmanager
def folder_lock(output_dir: Path) -> Iterator[None]:
    """Hold the folder's lock for the ``with`` block, or raise a one-line :class:`UserError` if another
    command holds it. On release the lock file goes, and the work folder and ``output_dir`` too when this
    command made them and they are empty (a refused run leaves no empty folder)."""
    output_dir = Path(output_dir)
    made = not output_dir.exists()
    work = output_dir / WORK_FOLDER
    path = work / LOCK_FILE
    handle = _acquire(path, output_dir)
    try:
        yield
    finally:
        # Removed while still held: a command that opened it meanwhile finds its file gone and makes another.
        path.unlink(missing_ok=True)
        handle.close()
        for folder in (work, output_dir) if made else (work,):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


def _acquire(path: Path, output_dir: Path):
    for _ in range(_ATTEMPTS):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = path.open("a+", encoding="utf-8")
        except FileNotFoundError:  # the folder went with a command that finished just then
            continue
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise UserError(f"{output_dir}: another lintseq generate{f' ({holder})' if holder else ''} is "
                            "writing this folder; wait for it to end, or stop it and run the command again") from None
        # Locked; but if its holder removed the file between our open and our lock, this is no longer the file
        # at the path: another command may lock the new one. Only the file at the path counts.
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current != os.fstat(handle.fileno()).st_ino:
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        return handle
    raise UserError(f"{output_dir}: could not take the folder's lock ({path}) after {_ATTEMPTS} attempts; run the "
                    "command again")
