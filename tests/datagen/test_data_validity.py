"""The data a run keeps is valid against hostile input, and a folder is never replaced or outlived by surprise.

Real pylint, the real command line, real processes: pragmas of every kind in the source, a program whose
lint outlasts a short limit, markdown in every common spelling, exact duplicates, a finished folder run
again with other settings, and ``kill -9`` of a run with two workers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from hub_tools.cli import main as lintseq
from hub_tools.datagen.manifest import DATA_RULES

# Linting a state that uses a5 takes about 15 s (astroid computes the numbers); the uses outnumber the
# chain's lines, so the first deletion of this row's path (fixed by its seed) leaves such a state.
SLOW = ("a0 = 99999 ** 99999\n" + "".join(f"a{i} = a{i - 1} * a{i - 1}\n" for i in range(1, 6))
        + "".join(f"a5.method_{i}()\n" for i in range(8)))
PRAGMAS = ["# pylint: skip-file", "# pylint: disable=all", "# pylint: disable-all", "#pylint:disable=E0602,E1101",
           "# pylint: disable=undefined-variable  # block"]


_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)
generate = folders.generate  # `lintseq generate` in a subprocess


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def hostile_source(tmp_path_factory, humaneval_corpus) -> Path:
    programs = humaneval_corpus[:10]
    rows = [{"instruction": f"Task {i}.", "response": f"{PRAGMAS[i % 5]}\n{program}"}
            for i, program in enumerate(programs[:5])]
    rows.append({"instruction": "Inline pragmas.", "response": "def f():\n    return missing  # pylint: disable=E0602\n"
                 "\n\ndef g():\n    # pylint: disable-next=undefined-variable\n    return other\n"})
    rows.append({"instruction": "Slow to infer.", "response": SLOW})
    crlf = programs[5].replace("\n", "\r\n")
    rows += [
        {"instruction": "CRLF.", "response": f"Here it is:\r\n```python\r\n{crlf}\r\n```\r\nDone.\r\n"},
        {"instruction": "Bare fence.", "response": f"```\n{programs[6]}\n```"},
        {"instruction": "Tildes.", "response": f"~~~Python\n{programs[7]}\n~~~"},
        {"instruction": "In a list.", "response": "1. The code:\n   ```py\n"
         + "\n".join("   " + line if line else "" for line in programs[8].split("\n")) + "\n   ```\n2. Done."},
    ]
    rows += [{"instruction": "Twice.", "response": programs[9]}] * 2  # an exact duplicate
    return write_jsonl(tmp_path_factory.mktemp("hostile") / "hostile.jsonl", rows)


@pytest.fixture(scope="module")
def hostile_run(hostile_source, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("run") / "hostile"
    return out, generate(str(hostile_source), "--output-dir", str(out), "--lint-timeout", "3")


def test_hostile_rows_are_kept_valid_or_skipped_and_counted(hostile_run):
    out, result = hostile_run
    manifest = json.loads((out / "lintseq_config.json").read_text())
    stats = manifest["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"lint_timeout": 1}, stats["skipped_rows"]
    assert stats["skipped_rows"][0]["location"] == "hostile.jsonl:7"
    assert "lint_timeout 1" in result.stdout
    rows = pq.read_table(out / "data" / "lintseq").to_pylist()
    assert not any("99999" in row["program"] for row in rows)  # the time-out never counted as clean
    instructions = {row["instruction"] for row in rows}
    assert {"CRLF.", "Bare fence.", "Tildes.", "In a list.", "Inline pragmas."} <= instructions
    assert all("```" not in row["program"] and "~~~" not in row["program"] for row in rows)
    # Exact duplicates are kept and counted, in the config file, the card and the summary.
    assert stats["duplicates"] == 1 and manifest["configs"]["baseline"]["stats"]["duplicates"] == 1
    assert "| duplicate programs | 1 repeat an earlier source row's program" in (out / "README.md").read_text()
    assert "duplicates: 1 programs repeat an earlier source row" in result.stdout
    assert manifest["configs"]["lintseq"]["data_rules"] == DATA_RULES


def test_verify_passes_the_fixed_run(hostile_run, capsys):
    out, _ = hostile_run
    assert lintseq(["verify", str(out)]) == 0, capsys.readouterr().out


def test_pragma_paths_are_lint_clean_without_the_pragmas(hostile_run):
    """Each kept state of a program that asked pylint to look away passes the check with the pragma gone."""
    import re

    from hub_tools.linters import PylintLinter
    from hub_tools.lintseq import apply_diffs

    out, _ = hostile_run
    linter = PylintLinter()
    rows = [row for row in pq.read_table(out / "data" / "lintseq").to_pylist() if "pylint:" in row["program"]]
    assert len(rows) == 6
    checked = 0
    for row in rows:
        for count in range(1, row["num_edits"]):
            state = re.sub(r"#[^\n]*pylint:[^\n]*", "#", apply_diffs(row["edit_path"][:count]))
            assert linter.lint(state) == [], state
            checked += 1
    assert checked >= 15  # the check covered many states


def test_duplicates_can_be_dropped(hostile_source, tmp_path, capsys):
    out = tmp_path / "dropped"
    generate(str(hostile_source), "--output-dir", str(out), "--lint-timeout", "3", "--sampler", "random",
             "--drop-duplicates")
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["random"]["stats"]
    # Counted in any case, and removed: the folder holds none of them.
    assert stats["skipped"] == {"duplicate": 1} and stats["duplicates"] == 1 and stats["dedup"]["removed"] == 1
    assert stats["skipped_rows"][0] == {"reason": "duplicate", "location": "hostile.jsonl:13",
                                        "detail": "repeats hostile.jsonl:12 exactly"}
    ids = pq.read_table(out / "data" / "random").column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 12
    assert "--drop-duplicates" in (out / "README.md").read_text()  # the card's command reproduces it
    assert lintseq(["verify", str(out)]) == 0, capsys.readouterr().out


# A finished folder is not replaced by surprise --------------------------------------------------------


@pytest.fixture
def small_source(tmp_path, humaneval_corpus) -> Path:
    return write_jsonl(tmp_path / "small.jsonl",
                       [{"instruction": f"T{i}", "response": p} for i, p in enumerate(humaneval_corpus[:12])])


def shards(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_finished_folder_with_other_settings_is_refused(small_source, tmp_path):
    out = tmp_path / "out"
    generate(str(small_source), "--output-dir", str(out), "--sampler", "random", "--num-paths", "2")
    before = shards(out)
    result = generate(str(small_source), "--output-dir", str(out), "--sampler", "random", "--num-paths", "1",
                      "--seed", "3", check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("lintseq generate: error:") and "Traceback" not in result.stderr
    assert "num_paths, seed differ" in lines[-1] and "--overwrite" in lines[-1]
    assert shards(out) == before  # nothing touched
    # Another sampler on other source rows would replace the baseline: refused too.
    result = generate(str(small_source), "--output-dir", str(out), "--num-samples", "5", check=False)
    assert result.returncode == 2 and "baseline num_samples differ" in result.stderr
    # --overwrite replaces it.
    generate(str(small_source), "--output-dir", str(out), "--sampler", "random", "--overwrite")
    assert len(pq.read_table(out / "data" / "random")) == 12


def test_an_identical_rerun_is_a_no_op(small_source, tmp_path):
    out = tmp_path / "out"
    generate(str(small_source), "--output-dir", str(out), "--sampler", "random")
    before = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    result = generate(str(small_source), "--output-dir", str(out), "--sampler", "random")
    assert "nothing to do" in result.stdout
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == before


def test_an_unfinished_replacement_resumes_without_overwrite(small_source, tmp_path):
    from hub_tools.datagen.engine import Engine
    from hub_tools.datagen.rows import GenerationConfig
    from hub_tools.datagen.sources import Source

    out = tmp_path / "out"
    generate(str(small_source), "--output-dir", str(out), "--sampler", "random")
    # A replacement started with --overwrite and killed before its first part: its work folder remains.
    engine = Engine(Source(str(small_source)), out, GenerationConfig(sampler="random", seed=5), overwrite=True)
    engine.parts.prepare(engine.fingerprint(), overwrite=True)
    generate(str(small_source), "--output-dir", str(out), "--sampler", "random", "--seed", "5")
    assert set(pq.read_table(out / "data" / "random").column("seed").to_pylist()) == {5}


def test_a_folder_made_under_older_rules_is_not_taken_for_this_run(small_source, tmp_path):
    out = tmp_path / "out"
    generate(str(small_source), "--output-dir", str(out), "--sampler", "random")
    manifest = json.loads((out / "lintseq_config.json").read_text())
    for entry in manifest["configs"].values():
        del entry["data_rules"]
    (out / "lintseq_config.json").write_text(json.dumps(manifest))
    result = generate(str(small_source), "--output-dir", str(out), "--sampler", "random", check=False)
    assert result.returncode == 2 and "data rules (made by another version) differ" in result.stderr
    # A damaged settings file is a one-line error, not a traceback.
    (out / "lintseq_config.json").write_text('{"configs": {"random": ')
    result = generate(str(small_source), "--output-dir", str(out), "--sampler", "random", check=False)
    assert result.returncode == 2 and "lintseq_config.json: not valid JSON at line 1" in result.stderr
    assert "Traceback" not in result.stderr


# Workers die with their parent ------------------------------------------------------------------------


def _alive(processes: list[psutil.Process]) -> list[int]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_kill_9_of_the_parent_leaves_no_worker(tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "hub_tools.cli", "generate", "--output-dir", str(out), "--num-paths", "5",
               "--workers", "2", "--no-progress"]
    parent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    deadline = time.time() + 120
    while time.time() < deadline:
        children = psutil.Process(parent.pid).children(recursive=True)
        workers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
        if len(workers) >= 2 and len(children) >= 3 and (out / ".lintseq-work").exists():
            break
        time.sleep(0.1)
    assert len(children) >= 3, "two workers and the resource tracker were expected"
    try:
        time.sleep(1)  # the workers are busy linting
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 5
        while _alive(children) and time.time() < deadline:
            time.sleep(0.1)
        assert _alive(children) == []
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


def test_the_watchdog_alone_ends_an_orphaned_worker(tmp_path):
    """Where the kernel's parent-death signal is not available, the watchdog still ends the worker."""
    pid_file = tmp_path / "worker.pid"
    worker = ("import os, sys, time; sys.platform = 'not-linux'; "
              "from hub_tools.datagen.lifetime import die_with_parent; die_with_parent(os.getppid()); "
              f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    parent = ("import subprocess, sys, time; "
              f"subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.time() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.time() < deadline, "the worker did not start"
        time.sleep(0.05)
    orphan = psutil.Process(int(pid_file.read_text()))
    try:
        process.kill()
        process.wait()
        deadline = time.time() + 4
        while _alive([orphan]) and time.time() < deadline:
            time.sleep(0.1)
        assert _alive([orphan]) == []
    finally:
        if _alive([orphan]):
            orphan.kill()
