"""A source file replaced or edited while a distributed run reads it is never merged into a dataset.

Each task opens the source again and enters it at its block by counting rows. A row inserted at the top of the
file while the tasks ran (``sed -i '1i ...'``, a new file under the same name) gave the later tasks rows shifted
by one: the folder held one row twice and had lost the last, the command exited 0 and verify passed.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub_tools.datagen.distributed import LintSeqReader
from hub_tools.datagen.sources import Source
from hub_tools.errors import UserError

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)


def _source(path: Path, programs: list[str]) -> Path:
    path.write_text("".join(json.dumps({"prompt": f"Task {i}.", "completion": program}) + "\n"
                            for i, program in enumerate(programs)))
    return path


def _insert_a_row_at_the_top(path: Path) -> None:
    replacement = path.with_suffix(".new")
    replacement.write_text(json.dumps({"prompt": "Inserted.", "completion": "def z():\n    return 0\n"}) + "\n"
                           + path.read_text())
    os.replace(replacement, path)  # what `sed -i` does: a new file under the same name


def test_a_task_refuses_a_source_changed_since_the_run_began(tmp_path, stdlib_corpus):
    path = _source(tmp_path / "rows.jsonl", stdlib_corpus[:12])
    stamps = Source(str(path)).file_stamps()
    reader = LintSeqReader(str(path), prompt_field="prompt", code_field="completion", chunk_size=4, total_chunks=3,
                           source_stamps=stamps)
    assert len(list(reader.run(rank=1, world_size=3))) == 4  # unchanged: its block
    _insert_a_row_at_the_top(path)
    with pytest.raises(UserError, match=r"rows\.jsonl changed since the run began"):
        list(reader.run(rank=1, world_size=3))


def test_a_source_replaced_while_the_tasks_run_is_not_merged(tmp_path, stdlib_corpus):
    path = _source(tmp_path / "rows.jsonl", stdlib_corpus[:60])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(path), "--output-dir", str(out), "--num-paths",
               "1", "--executor", "local", "--tasks", "4", "--workers", "1", "--chunk-size", "4", "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=runs.environment(),
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not runs.parts(out):  # the first task is under way
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()[-3000:]
            time.sleep(0.02)
        _insert_a_row_at_the_top(path)
        _, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    said = stderr.decode()
    assert process.returncode == 2, said[-3000:]
    # Said by the task that found it (the local executor raises a task's error), or by the launcher before merging.
    assert "rows.jsonl changed since the run began" in said or "rows.jsonl changed while the run went on" in said, said
    assert "Traceback" not in said, said[-3000:]
    assert not (out / "data").exists() and not (out / "README.md").exists()
