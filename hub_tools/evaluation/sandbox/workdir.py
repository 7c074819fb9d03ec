"""A program's folder in the sandbox: how much it holds, and removing it whatever it holds.

Part of the sandboxed template's program (see ``isolation.runner_source``; so: standard library only, no
``from __future__`` import). The template measures a running program's folder and the files it holds open
without a name (``folder_too_full``, ``files_held_open``: past the limit the program is killed), and removes
the folder when the program has ended (``remove_tree``). A template marks its work folder as its own for as
long as it runs (``mark_owner``), so that an evaluation starting later removes the folders of templates killed
with their evaluator (``remove_abandoned_folders``).
"""

import contextlib
import fcntl
import os
import re
import stat

# Entries the template reads at most when it measures a folder: a folder made of more (slow to measure)
# counts as full.
MAX_FOLDER_ENTRIES = 10_000
# Threads one program may have where seccomp cannot refuse them all (not x86-64): past it, the template kills
# the program when it next looks (every FOLDER_CHECK_SECONDS; kernel.py refuses threads where it can).
MAX_TASKS = 256
# The file a template holds locked in its work folder while it runs (``mark_owner``). A template dies with its
# evaluator, and a kill -9 of the evaluator leaves the folder in the host's /tmp (where the template has no file
# system of its own) with what its programs wrote: the next evaluation removes those nobody holds.
OWNER_FILE = ".owner"
# The names a template's work folder has in /tmp (``tempfile.mkdtemp(prefix="sandbox-")``).
WORK_FOLDER_NAME = re.compile(r"sandbox-[a-z0-9_]{8}")


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


def cpu_seconds(pid):
    """CPU time process ``pid`` has used, all its threads together, in seconds (0 when that cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            fields = stat_file.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15
    except (OSError, ValueError, IndexError):
        return 0.0


def mark_owner(folder):
    """Lock ``folder``'s owner file (``OWNER_FILE``) for as long as this process lives; return its descriptor,
    to be kept open. The kernel drops the lock when the process ends, however it ends (kill -9 included), so a
    folder whose owner file takes the lock again has no template using it: no pid is read (a pid is used again,
    and a template in a pid namespace of its own has another pid there). The file is made and locked under
    another name, then named: there is never an owner file that nobody holds."""
    making = os.path.join(folder, OWNER_FILE + ".new")
    descriptor = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.write(descriptor, str(os.getpid()).encode())
    os.rename(making, os.path.join(folder, OWNER_FILE))
    return descriptor


def remove_abandoned_folders(parent="/tmp"):
    """Remove the work folders in ``parent`` whose template has ended without removing them; return how many.

    Only a folder of this user, by a name a template gives (``WORK_FOLDER_NAME``), not a link, whose owner file
    nobody holds locked (see ``mark_owner``). A folder with no owner file is left (a template still starting,
    or one of an earlier version); so is one whose template runs (another evaluation's). It is removed as
    ``remove_tree`` removes, only while its name is the folder looked at.
    """
    try:
        names = [name for name in os.listdir(parent) if WORK_FOLDER_NAME.fullmatch(name)]
    except OSError:
        return 0
    removed = 0
    for name in names:
        path = os.path.join(parent, name)
        try:
            status = os.lstat(path)
            if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
                continue
            descriptor = os.open(os.path.join(path, OWNER_FILE), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: its template runs
        except OSError:
            continue
        finally:
            os.close(descriptor)
        remove_tree(path, expected=(status.st_dev, status.st_ino))
        removed += 1
    return removed
