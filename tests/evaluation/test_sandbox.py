"""Hostile programs are contained and reported, and every other program's result survives them."""

import contextlib
import os
import socket
import threading
import time

import pytest

from hub_tools.evaluation import Sandbox, SandboxConfig

GOOD = "import math\nassert math.gcd(12, 18) == 6"


@pytest.fixture
def canary(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "canary.txt"
    path.write_text("keep me")
    return path


@pytest.fixture
def listening_socket():
    """A real TCP server on loopback that counts the connections it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def _hostile_programs(canary, port) -> dict[str, tuple[str, str, str]]:
    """name -> (program, expected status, a fragment of the expected reason)."""
    evaluator = os.getpid()
    return {
        "infinite loop": ("while True:\n    pass", "timed_out", "timed out"),
        "loop that swallows exceptions": (
            "import time\nwhile True:\n    try:\n        time.sleep(5)\n    except BaseException:\n        pass",
            "timed_out", "timed out"),
        "memory bomb": ("blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))", "failed", "MemoryError"),
        "one huge allocation": ("x = ' ' * 10**12", "failed", "MemoryError"),
        "fork bomb": ("import os\nwhile True:\n    os.fork()", "failed", "os.fork is disabled"),
        "subprocess fork bomb": (
            "import subprocess, sys\nwhile True:\n    subprocess.Popen([sys.executable, '-c', 'pass'])",
            "failed", "subprocess.Popen is disabled"),
        "multiprocessing": ("import multiprocessing\nmultiprocessing.Process(target=print).start()",
                            "failed", "multiprocessing"),
        "os.system": (f"import os\nos.system('rm -f {canary}')", "failed", "os.system is disabled"),
        "os.popen": (f"import os\nos.popen('cat {canary}').read()", "failed", "os.popen is disabled"),
        "os.remove outside": (f"import os\nos.remove({str(canary)!r})", "failed", "outside the sandbox"),
        "pathlib unlink outside": (f"import pathlib\npathlib.Path({str(canary)!r}).unlink()", "failed",
                                   "outside the sandbox"),
        "rmtree outside": (f"import shutil\nshutil.rmtree({str(canary.parent)!r})", "failed",
                           "shutil.rmtree outside the sandbox"),
        "rmtree of a link out": (f"import os, shutil\nos.symlink({str(canary.parent)!r}, 'link')\nshutil.rmtree('link')",
                                 "failed", "os.symlink outside the sandbox"),
        "overwrite outside": (f"open({str(canary)!r}, 'w').write('gone')", "failed", "outside the sandbox"),
        "rename outside": (f"import os\nos.rename({str(canary)!r}, 'stolen.txt')", "failed",
                           "outside the sandbox"),
        "socket": (f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)", "failed",
                   "disabled in the sandbox"),
        "raw socket": (f"import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', {port}))", "failed",
                       "network access"),
        "sys.exit(0) before the tests": ("import sys\nsys.exit(0)\nassert False", "failed", "SystemExit"),
        "exit()": ("exit()", "failed", "SystemExit"),
        "os._exit(0)": ("import os\nos._exit(0)", "error", "exited (code 0)"),
        "kill the parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "failed",
                            "os.kill is disabled"),
        "kill the evaluator": (f"import os, signal\nos.kill({evaluator}, signal.SIGKILL)", "failed",
                               "os.kill is disabled"),
        "kill via the shell": (f"import subprocess\nsubprocess.run(['kill', '-9', '{evaluator}'])", "failed",
                               "disabled"),
        "ctypes": ("import ctypes\nctypes.CDLL(None).kill(1, 9)", "failed", "ctypes"),
        "segmentation fault": ("import faulthandler\nfaulthandler._sigsegv()", "error", "SIGSEGV"),
        "syntax error": ("def f(:\n    pass", "error", "SyntaxError"),
        "output flood": ("import sys\nprint('x' * 10**6)\nsys.stderr.write('y' * 10**6)", "passed", "passed"),
    }


def test_hostile_programs_are_contained_and_reported(each_sandbox, canary, listening_socket):
    sandbox = each_sandbox
    port, accepted = listening_socket
    hostile = _hostile_programs(canary, port)
    programs, expected = [], []
    for name, (program, status, reason) in hostile.items():
        # A good program after every hostile one: none of their results may be lost.
        programs += [program, GOOD]
        expected += [(name, status, reason), ("good", "passed", "passed")]
    results = sandbox.run(programs, progress=False)
    assert len(results) == len(programs)
    for (name, status, reason), result in zip(expected, results, strict=True):
        assert (result.status, reason in result.reason) == (status, True), (name, result)
    assert canary.read_text() == "keep me"
    assert sorted(path.name for path in canary.parent.iterdir()) == ["canary.txt"]
    assert accepted == [], "a sandboxed program reached the test server"
    assert sandbox.restarts == 0
    assert [result.status for result in sandbox.run([GOOD], progress=False)] == ["passed"]


def test_each_program_gets_a_fresh_throw_away_directory(sandbox):
    write = ("import os, shutil, tempfile\nopen('left.txt', 'w').write('x')\nos.remove('left.txt')\n"
             "with tempfile.TemporaryDirectory() as folder:\n    open(os.path.join(folder, 'a'), 'w').write('x')\n"
             "os.makedirs('tree/branch')\nshutil.rmtree('tree')\nopen('kept.txt', 'w').write('x')")
    check = "import os\nassert os.listdir('.') == [], os.listdir('.')"
    results = sandbox.run([write, check, write, check], progress=False)
    assert [result.status for result in results] == ["passed"] * 4, results


def test_kernel_isolation_where_the_kernel_allows_it(sandbox):
    sandbox.run([GOOD], progress=False)
    isolation = sandbox.isolation
    if isolation["processes"] != "pid namespace" and isolation["network"] != "namespace":
        pytest.skip(f"this kernel gave no namespaces: {isolation}")
    own_network = os.readlink("/proc/self/ns/net")
    checks = []
    if isolation["processes"] == "pid namespace":
        # In its worker's PID namespace: its parent is that namespace's process 1, and the evaluator's
        # process number means nothing there.
        checks.append("import os\nassert os.getppid() == 1, os.getppid()")
    if isolation["network"] == "namespace":
        checks.append(f"import os\nassert os.readlink('/proc/self/ns/net') != {own_network!r}")
    assert [result.status for result in sandbox.run(checks, progress=False)] == ["passed"] * len(checks)


def test_a_worker_that_dies_costs_only_its_current_program():
    with Sandbox(SandboxConfig(timeout=10.0, workers=1)) as pool:
        programs = ["import time\ntime.sleep(3)", GOOD, GOOD]

        def kill_the_worker_while_it_runs_the_first_program():
            deadline = time.monotonic() + 30
            while pool._workers[0] is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.5)
            pool._workers[0].process.kill()

        killer = threading.Thread(target=kill_the_worker_while_it_runs_the_first_program)
        killer.start()
        results = pool.run(programs, progress=False)
        killer.join()
    assert [result.status for result in results] == ["error", "passed", "passed"], results
    assert "sandbox worker" in results[0].reason
    assert pool.restarts == 1


def test_limits_are_validated():
    with pytest.raises(ValueError, match="timeout"):
        SandboxConfig(timeout=0)
    with pytest.raises(ValueError, match="memory_limit_mb"):
        SandboxConfig(memory_limit_mb=1)
