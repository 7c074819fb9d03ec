"""Kernel confinement of one sandboxed process: no_new_privs, a seccomp filter, Landlock, resource limits.

Applied by the sandboxed process to itself (``runner.py``), after its interpreter has started and
before the untrusted program runs, so none of it can be undone from the program: every step only removes
rights, and ``no_new_privs`` stops an ``exec`` from getting them back. It first gives up any capability
it holds (a template that made its own user namespace has them all there).

- **seccomp** (x86-64): the calls a test program never needs and an attack does are refused with EPERM:
  creating sockets of any family (TCP/IP and UNIX-domain alike), ``fork``, ``vfork`` and ``clone``: no
  process and no thread (raw ``clone()`` threads sharing one stack page made 6,000 tasks in a tenth of a
  second, which no memory limit counts, on their way to the machine's process table; a limit on tasks
  cannot stand in: ``RLIMIT_NPROC`` counts every process of the user, and exempts root), ``execve``, ``ptrace`` and reading or writing other
  processes' memory, signals to any process but itself, changing another process's limits (``prlimit`` on
  any pid but its own), priority, scheduling or memory placement, new namespaces, mounts, keyrings, BPF, io_uring,
  perf events, modules, reboot, memory files (``memfd_create``: their pages count against no limit of the
  process, and 64 of 64 MB would hold 4 GB), System V shared memory, semaphores and message queues and POSIX
  message queues (they outlive the process, count against none of its limits, and are shared by the IPC
  namespace), a file's mode, owner, times and extended attributes (Landlock does not cover them), and the
  ``fcntl``/``ioctl`` commands that have the kernel signal a chosen process when a descriptor is ready
  (``F_SETOWN``: a signal the filter of ``kill`` never sees). ``clone3`` answers ENOSYS so that the C library falls back to ``clone``,
  which is refused (Python then says it cannot start a new thread).
- **Landlock** (where the kernel has it): files can be read only under the read-only paths given (the
  interpreter and its standard library) and read, written or deleted only in the process's own directory;
  with Landlock ABI 6 and later, signals and abstract UNIX sockets are scoped to the process too.
- **Resource limits**: address space, file size, CPU time, core dumps, open files.

This file is also run inside the sandbox (its source is part of the sandboxed process's program), so it
uses the standard library only and no ``from __future__`` import.
"""

import ctypes
import os
import platform
import resource
import struct

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
EPERM, ENOSYS = 1, 38
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000

# x86-64 numbers of the calls refused outright.
X86_64_REFUSED = {
    "socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311, "tkill": 200, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
    "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
    "personality": 135, "name_to_handle_at": 303, "open_by_handle_at": 304, "quotactl": 179,
    "memfd_create": 319, "memfd_secret": 447,
    # System V and POSIX inter-process memory and queues: shared memory outlives its process, counts against
    # no limit of it (three 200 MB segments, detached, held 600 MB past a 256 MB limit), and where the IPC
    # namespace is the host's, any process's readable segment could be attached and read.
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
    "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    # Calls that change another process's limits, priority, scheduling or memory: the same user's template,
    # evaluator or, below full isolation, any process of that user (a program lowered its template's file
    # size limit, and every later program on it failed to start).
    "setpriority": 141, "sched_setparam": 142, "sched_setscheduler": 144, "sched_setaffinity": 203,
    "sched_setattr": 314, "ioprio_set": 251, "migrate_pages": 256, "move_pages": 279, "kcmp": 312,
    "process_madvise": 440, "process_mrelease": 448,
    # A file's mode, owner, times and extended attributes: Landlock does not cover them, so a program could
    # change any file it can name whose owner it is (at `reduced`, a root evaluator's files), and its
    # template's folder: a program made that folder unwritable and the next program on the template failed to
    # start, and samples passed on what earlier samples of their problem learned, kept in the folder's times.
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92, "fchown": 93, "lchown": 94,
    "fchownat": 260, "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280, "setxattr": 188,
    "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
    "setxattrat": 463, "removexattrat": 466,
}
# fcntl and ioctl commands that make the kernel signal a chosen process when a descriptor is ready (F_SETOWN,
# F_SETSIG, F_SETOWN_EX; FIOSETOWN, SIOCSPGRP): a signal sent by the kernel, not by kill, so the filter of kill
# does not see it, and before Landlock ABI 6 nothing scopes it (with SIGKILL, any process of the same user).
X86_64_FCNTL, X86_64_IOCTL = 72, 16
SIGNALLING_COMMANDS = {X86_64_FCNTL: (8, 10, 15), X86_64_IOCTL: (0x8901, 0x8902)}
X86_64_CLONE3, X86_64_KILL, X86_64_TGKILL = 435, 62, 234
X86_64_PRLIMIT64 = 302  # allowed on the process itself only (pid 0 or its own): the C library's setrlimit

LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_READ = 1 | 4 | 8  # execute, read file, read directory
LANDLOCK_LIST = 8  # read directory: its names, and those of the folders beneath
LANDLOCK_SCOPES = 1 | 2  # abstract UNIX sockets, signals (ABI 6)

_libc = None


def _c_library():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _fail(what: str):
    error = ctypes.get_errno()
    raise OSError(error, f"{what}: {os.strerror(error)}")


def set_no_new_privs() -> None:
    """No ``exec`` can gain privileges from now on (setuid bits, file capabilities); required by the rest."""
    if _c_library().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _fail("prctl(PR_SET_NO_NEW_PRIVS)")


def drop_capabilities() -> None:
    """Give up every capability (those a process holds in its own user namespace included): capset to zero."""
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # effective, permitted, inheritable: all zero, in two 32-bit halves
    if _c_library().syscall(126, ctypes.c_char_p(header), ctypes.c_char_p(data)) != 0:  # capset on x86-64
        _fail("capset")


def seccomp_supported() -> bool:
    return platform.machine() == "x86_64"


def _instruction(code: int, jump_true: int, jump_false: int, value: int) -> bytes:
    return struct.pack("HBBI", code, jump_true, jump_false, value & 0xFFFFFFFF)


def seccomp_program(own_pid: int) -> bytes:
    """The classic-BPF filter described in the module docstring, for a process whose pid is ``own_pid``."""
    load, jump_equal, jump_at_least, ret = 0x20, 0x15, 0x35, 0x06
    deny = SECCOMP_RET_ERRNO | EPERM
    body = []

    def refuse_unless_argument0(number: int, test: int, value: int) -> list:
        # if nr == number: load args[0] (low half); allow when the test holds, else refuse; then reload nr.
        return [_instruction(jump_equal, 0, 4, number), _instruction(load, 0, 0, 16),
                _instruction(test, 1, 0, value), _instruction(ret, 0, 0, deny),
                _instruction(ret, 0, 0, SECCOMP_RET_ALLOW)]

    # prlimit64(pid, ...): allowed when pid is 0 or this process, refused for any other.
    body += [_instruction(jump_equal, 0, 5, X86_64_PRLIMIT64), _instruction(load, 0, 0, 16),
             _instruction(jump_equal, 2, 0, 0), _instruction(jump_equal, 1, 0, own_pid),
             _instruction(ret, 0, 0, deny), _instruction(ret, 0, 0, SECCOMP_RET_ALLOW)]
    body += refuse_unless_argument0(X86_64_KILL, jump_equal, own_pid)
    body += refuse_unless_argument0(X86_64_TGKILL, jump_equal, own_pid)
    body += [_instruction(jump_equal, 0, 1, X86_64_CLONE3), _instruction(ret, 0, 0, SECCOMP_RET_ERRNO | ENOSYS)]
    for number, commands in SIGNALLING_COMMANDS.items():
        # if nr == number: load args[1] (low half); refuse any of the commands, else allow.
        body += [_instruction(jump_equal, 0, len(commands) + 3, number), _instruction(load, 0, 0, 24)]
        body += [_instruction(jump_equal, len(commands) - index, 0, command) for index, command in enumerate(commands)]
        body += [_instruction(ret, 0, 0, SECCOMP_RET_ALLOW), _instruction(ret, 0, 0, deny)]
    for number in sorted(X86_64_REFUSED.values()):
        body += [_instruction(jump_equal, 0, 1, number), _instruction(ret, 0, 0, deny)]
    head = [
        _instruction(load, 0, 0, 4),  # architecture: anything but x86-64 is killed
        _instruction(jump_equal, 1, 0, AUDIT_ARCH_X86_64),
        _instruction(ret, 0, 0, SECCOMP_RET_KILL_PROCESS),
        _instruction(load, 0, 0, 0),  # the call's number
        _instruction(jump_at_least, 0, 1, 0x40000000),  # the x32 ABI's numbers: refused
        _instruction(ret, 0, 0, deny),
    ]
    return b"".join(head + body + [_instruction(ret, 0, 0, SECCOMP_RET_ALLOW)])


def install_seccomp(own_pid: int) -> None:
    """Load the filter into this process (needs ``no_new_privs``); it holds for its threads too."""
    program = seccomp_program(own_pid)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HxxxxxxQ", len(program) // 8, ctypes.addressof(buffer))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    if _c_library().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog_buffer, 0, 0) != 0:
        _fail("prctl(PR_SET_SECCOMP)")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where Landlock is missing or disabled."""
    try:
        version = _c_library().syscall(LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def _filesystem_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute ... make symlink
    if abi >= 2:
        rights |= 1 << 13  # refer (links and renames across directories)
    if abi >= 3:
        rights |= 1 << 14  # truncate
    if abi >= 5:
        rights |= 1 << 15  # ioctl on devices
    return rights


def install_landlock(read_only: list, read_write: list, abi: int, listable=()) -> None:
    """Confine this process's file access to ``read_only`` and ``read_write`` paths (and their contents), and
    the listing of ``listable`` folders (the way to a hidden path: what lies beneath is not readable)."""
    libc = _c_library()
    handled = _filesystem_rights(abi)
    if abi >= 6:
        attributes = struct.pack("QQQ", handled, 0, LANDLOCK_SCOPES)
    elif abi >= 4:
        attributes = struct.pack("QQ", handled, 0)
    else:
        attributes = struct.pack("Q", handled)
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.c_char_p(attributes), len(attributes), 0)
    if ruleset < 0:
        _fail("landlock_create_ruleset")
    try:
        for paths, rights in ((read_only, LANDLOCK_READ), (listable, LANDLOCK_LIST), (read_write, handled)):
            for path in paths:
                try:
                    directory = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # a path this system does not have
                try:
                    rule = struct.pack("=Qi", rights if os.path.isdir(path) else rights & 5, directory)
                    if libc.syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH,
                                    ctypes.c_char_p(rule), 0) != 0:
                        _fail(f"landlock_add_rule({path})")
                finally:
                    os.close(directory)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            _fail("landlock_restrict_self")
    finally:
        os.close(ruleset)


def set_limits(memory_mb: int, file_size_mb: int, cpu_seconds: int, open_files: int = 64) -> None:
    """Resource limits of this process (soft = hard, so the program cannot raise them again)."""
    for limit, value in ((resource.RLIMIT_AS, memory_mb << 20), (resource.RLIMIT_FSIZE, file_size_mb << 20),
                         (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, open_files)):
        resource.setrlimit(limit, (value, value))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
