"""A program's folder in the sandbox: how much it holds, and removing it whatever it holds.

Part of the sandboxed template's program (see ``isolation.runner_source``; so: standard library only, no
``from __future__`` import). The template measures a running program's folder and the files it holds open
without a name (``folder_too_full``, ``files_held_open``: past the limit the program is killed), and removes
the folder when the program has ended (``remove_tree``).
"""

import contextlib
import os
import stat

# Entries the template reads at most when it measures a folder: a folder made of more (slow to measure)
# counts as full.
MAX_FOLDER_ENTRIES = 10_000
# Threads one program may have where seccomp cannot refuse them all (not x86-64): past it, the template kills
# the program when it next looks (every FOLDER_CHECK_SECONDS; kernel.py refuses threads where it can).
MAX_TASKS = 256


def remove_tree(path, expected=None):
    """Remove a folder a program filled, however deep, as far as it can; never raises.

    ``shutil.rmtree`` recurses once per level: a program that nested 1,500 folders made it raise
    ``RecursionError`` (which ``ignore_errors`` does not catch), which ended this process and the evaluation
    with it. Here one descriptor at a time walks the tree, by names relative to it (a path deeper than
    ``PATH_MAX`` is still reached), down into the first folder left and back up through ``..``.

    Nothing outside the tree is ever touched, even if something still running moves its folders meanwhile
    (a process the program left behind): each folder's identity (device, inode) is recorded on the way down,
    and a ``..`` that is not the folder it came from stops the removal (a folder moved up a level while it
    was emptied once led it out of the tree and through the rest of ``/tmp``). ``expected``: the identity the
    top folder must have (the evaluator removes a template's folder by a name in the shared ``/tmp``).

    An entry that cannot be removed is passed over and the rest goes on; a folder or file the program made
    unreadable or unwritable is given back to its owner's rights first (without following links)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        current = os.open(path, flags)
    except OSError:
        return
    top = os.fstat(current)
    if expected is not None and (top.st_dev, top.st_ino) != tuple(expected):
        os.close(current)
        return
    names, identities, passed_over = [], [(top.st_dev, top.st_ino)], [set()]  # one entry per level
    try:
        while True:
            child = None
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name in passed_over[-1]:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        child = entry.name
                        break
                    if not _removed(os.unlink, entry.name, current):
                        passed_over[-1].add(entry.name)
            if child is not None:
                opened = _opened_folder(child, current, flags)
                if opened is None:
                    passed_over[-1].add(child)
                    continue
                status = os.fstat(opened)
                os.close(current)
                current = opened
                names.append(child)
                identities.append((status.st_dev, status.st_ino))
                passed_over.append(set())
                continue
            if not names:
                break
            parent = os.open("..", flags, dir_fd=current)
            status = os.fstat(parent)
            if (status.st_dev, status.st_ino) != identities[-2]:
                os.close(parent)
                return  # moved while it was emptied: stop here (the descriptor is closed below)
            os.close(current)
            current = parent
            name = names.pop()
            identities.pop()
            passed_over.pop()
            if not _removed(os.rmdir, name, current):
                passed_over[-1].add(name)
    except OSError:
        return
    finally:
        os.close(current)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _removed(remove, name, folder):
    """``remove(name, dir_fd=folder)``; once more after giving the folder back its owner's rights."""
    for attempt in (1, 2):
        try:
            remove(name, dir_fd=folder)
            return True
        except PermissionError:
            if attempt == 2:
                return False
            with contextlib.suppress(OSError):
                os.fchmod(folder, 0o700)
        except OSError:
            return False
    return False


def _opened_folder(name, folder, flags):
    """The descriptor of the folder ``name`` in ``folder``, made readable first if need be; ``None`` if not."""
    for attempt in (1, 2):
        try:
            return os.open(name, flags, dir_fd=folder)
        except PermissionError:
            if attempt == 2:
                return None
            with contextlib.suppress(OSError, ValueError, NotImplementedError):
                os.chmod(name, 0o700, dir_fd=folder, follow_symlinks=False)
        except OSError:
            return None
    return None


def folder_too_full(workdir, limit_bytes):
    """Whether the program's folder holds more than ``limit_bytes`` of disk (allocated blocks: a sparse file
    counts what it uses, a file of several names once), more than MAX_FOLDER_ENTRIES entries, or a folder it
    made unreadable. Links are not followed; an entry removed while it is read is passed over."""
    total, entries, pending, seen = 0, 0, [workdir], set()
    while pending:
        try:
            scan = os.scandir(pending.pop())
        except FileNotFoundError:
            continue
        except OSError:
            return True
        with scan:
            for entry in scan:
                entries += 1
                try:
                    status = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(status.st_mode):
                    pending.append(entry.path)
                elif status.st_nlink > 1:
                    if (status.st_dev, status.st_ino) in seen:
                        continue  # another name of a file already counted
                    seen.add((status.st_dev, status.st_ino))
                total += status.st_blocks * 512
                if total > limit_bytes or entries > MAX_FOLDER_ENTRIES:
                    return True
    return False


def files_held_open(pid):
    """Bytes of disk or memory in the files process ``pid`` holds open with no name left: files it deleted
    while open, and memory files (``memfd_create``). The folder walk cannot see them, and neither the
    address-space limit (their pages are not mapped) nor the file-size limit (it caps each one) bounds them
    together: 64 such files of 64 MB would hold 4 GB. Read through ``/proc/PID/fd``; 0 where
    that cannot be read (without CAP_SYS_PTRACE a process may not read a non-dumpable process's links)."""
    sizes, folder = {}, f"/proc/{pid}/fd"
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        try:
            status = os.stat(f"{folder}/{name}")  # the open file itself, through the link
        except OSError:
            continue
        if stat.S_ISREG(status.st_mode) and status.st_nlink == 0:  # a file open twice counts once
            sizes[status.st_dev, status.st_ino] = status.st_blocks * 512
    return sum(sizes.values())


def threads_of(pid):
    """How many threads process ``pid`` has (0 when that cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0
