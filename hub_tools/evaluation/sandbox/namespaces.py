"""Namespaces without bubblewrap: what the sandboxed template sets up for itself when bubblewrap is missing.

The template (``runner.py``) calls :func:`enter_namespaces` first thing. It enters new mount, PID,
network, IPC and UTS namespaces (through a new user namespace, mapping only its own user, when it is not
root), becomes process 1 of the PID namespace (the process the evaluator started stays outside and waits
for it), and builds its own file system: an empty root with read-only views of ``/usr`` and the
interpreter's prefixes, ``/dev/null``, ``/dev/zero`` and ``/dev/urandom``, a private ``/proc``, a small
``/tmp``; it then pivots into it and detaches the host's. Started by root, it finally becomes user 65534
for good (after the mounts, which need root; the views it reads stay reachable to that user because their
parent folders are its own).

Each step that the kernel refuses is left out and the rest goes on; the template reports which
namespaces it obtained. Part of the template's program: standard library only, no ``from __future__``.
"""

import ctypes
import os
import tempfile

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
SYS_PIVOT_ROOT_X86_64 = 155
PR_SET_PDEATHSIG = 1
DEVICES = ("null", "zero", "urandom")


def _encode(text):
    return text.encode() if text is not None else None


def _mount(libc, source, target, kind, flags, data=None):
    if libc.mount(_encode(source), _encode(target), _encode(kind), ctypes.c_ulong(flags), _encode(data)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source or ''} on {target}: {os.strerror(error)}")


def _bind_read_only(libc, source, target):
    _mount(libc, source, target, None, MS_BIND | MS_REC)
    # A remount inside a user namespace must keep the flags the original mount has (they are locked).
    original = os.statvfs(source).f_flag
    kept = original & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    kept |= MS_RELATIME if original & 4096 else 0  # ST_RELATIME
    _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _build_root(libc, read_only_paths, new_root, hidden_paths=()):
    """Mount the sandbox's file system on ``new_root`` and pivot into it; ``hidden_paths`` (under the
    read-only paths) get an empty read-only folder, or the empty file ``/dev/null``, in their place."""
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the host
    _mount(libc, "tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    # /tmp first: an interpreter that lives under /tmp must stay visible above the sandbox's own /tmp.
    os.mkdir(new_root + "/tmp", 0o1777)
    _mount(libc, "tmpfs", new_root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
    for path in sorted(read_only_paths, key=len):
        target = new_root + path
        os.makedirs(target, mode=0o755, exist_ok=True)
        _bind_read_only(libc, path, target)
    for path in hidden_paths:
        if os.path.isdir(path):
            _mount(libc, "tmpfs", new_root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=555")
        else:
            empty = new_root + "/.hidden"
            if not os.path.exists(empty):
                os.close(os.open(empty, os.O_CREAT | os.O_WRONLY, 0o444))
            _bind_read_only(libc, empty, new_root + path)
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(link) and not os.path.lexists(new_root + link):
            os.symlink(os.readlink(link), new_root + link)
    os.makedirs(new_root + "/dev", mode=0o755)
    for device in DEVICES:
        with open(f"{new_root}/dev/{device}", "w"):
            pass
        _mount(libc, f"/dev/{device}", f"{new_root}/dev/{device}", None, MS_BIND)
    os.mkdir(new_root + "/proc", 0o555)
    _mount(libc, "proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.mkdir(new_root + "/old-root", 0o700)
    os.chdir(new_root)
    if libc.syscall(SYS_PIVOT_ROOT_X86_64, b".", b"old-root") != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"pivot_root: {os.strerror(error)}")
    os.chdir("/")
    if libc.umount2(b"/old-root", MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), "umount of the host's root")
    os.rmdir("/old-root")
    _mount(libc, None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def enter_namespaces(libc, read_only_paths, drop_to_user, reachable, hidden_paths=()):
    """Enter the namespaces, build the file system, drop root; returns what was obtained (see the docstring).

    ``drop_to_user`` is the user to become when started as root (None: stay); without a file system of
    its own, only when that user can reach the interpreter where it is (``reachable``). Returns the
    namespaces obtained, why the file system could not be built (else None), and the host's folder the new
    root was mounted on (removed when the template ends; the evaluator removes it when the template was
    killed first).
    """
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID
    obtained = []
    if libc.unshare(flags) != 0:
        user, group = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWUSER) != 0:
            return obtained, f"unshare: {os.strerror(ctypes.get_errno())}", None
        for name, content in (("setgroups", "deny"), ("uid_map", f"{user} {user} 1"), ("gid_map", f"{group} {group} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(content)
        obtained.append("user")
        if libc.unshare(flags) != 0:
            return obtained, f"unshare in a user namespace: {os.strerror(ctypes.get_errno())}", None
    new_root = tempfile.mkdtemp(prefix="sandbox-root-")
    # This process shares the new mount namespace, so the child's pivot moves its root too: it removes the
    # mount point through the host folder it opened before, not by a path that then names the sandbox's /tmp.
    host_folder = os.open(os.path.dirname(new_root), os.O_RDONLY | os.O_DIRECTORY)
    child = os.fork()
    if child != 0:
        # Outside, this process only waits, then removes the (empty) mount point it made.
        code = 1
        try:
            code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) & 0xFF
            os.rmdir(os.path.basename(new_root), dir_fd=host_folder)
        finally:
            os._exit(code)  # never returns into the template's code, whatever happened above
    os.close(host_folder)  # a way back to the host's files: the sandbox must not hold it
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    obtained += ["pid", "network", "ipc", "uts"]
    problem = None
    try:
        _build_root(libc, read_only_paths, new_root, hidden_paths)
        obtained.insert(obtained.index("pid"), "mount")
    except OSError as error:
        os.chdir("/")  # the file system stays the host's, confined by Landlock alone; "mount" is not reported
        problem = f"no file system of its own: {error}"
    if drop_to_user is not None and os.getuid() == 0 and ("mount" in obtained or reachable):
        become(drop_to_user)
    return obtained, problem, new_root


def become(user):
    """Become ``user`` for good: no supplementary groups, every user and group id."""
    os.setgroups([])
    os.setresgid(user, user, user)
    os.setresuid(user, user, user)
