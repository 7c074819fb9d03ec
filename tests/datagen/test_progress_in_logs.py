"""Progress of ``lintseq generate`` and ``lintseq verify`` in a log (stderr not a terminal): plain lines, a first
one saying what is to be done and a last one with the count; never tqdm's carriage-return redraws, never silence."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from hub_tools.progress import LogLines, count_earlier, progress_bar


def _lintseq(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub_tools.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def source(tmp_path_factory, humaneval_corpus):
    path = tmp_path_factory.mktemp("source") / "programs.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"Task {i}.", "response": program}) + "\n"
                            for i, program in enumerate(humaneval_corpus[:6])))
    return path


def test_generate_and_verify_write_lines_in_a_log(source, tmp_path):
    out = tmp_path / "lintseq-out"
    generated = _lintseq("generate", str(source), "--output-dir", str(out))
    assert generated.returncode == 0, generated.stderr
    # tqdm wrote its redrawn bars with carriage returns: one ever-growing line in a log file.
    assert "\r" not in generated.stderr
    assert "lintseq generate (lintseq): 6 programs to go" in generated.stderr.splitlines()
    assert any(line.startswith("lintseq generate (lintseq): 6/6 programs") for line in generated.stderr.splitlines())

    verified = _lintseq("verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # verify showed nothing off a terminal: a long check was silent.
    assert "verify lintseq: 6 rows to go" in verified.stderr.splitlines() and "\r" not in verified.stderr
    assert any(line.startswith("verify lintseq: 6/6 rows") for line in verified.stderr.splitlines())

    quiet = _lintseq("verify", str(out), "--no-progress")
    assert quiet.returncode == 0 and "rows to go" not in quiet.stderr


def test_log_lines_say_the_rate_and_the_time_left():
    out = io.StringIO()
    bar = LogLines(10, "verify lintseq", "row", stream=out, interval=0)
    bar.update(4)
    bar.close()
    bar.close()  # once
    lines = out.getvalue().splitlines()
    assert lines[0] == "verify lintseq: 10 rows to go"
    assert lines[1].startswith("verify lintseq: 4/10 rows, ") and "rows/s" in lines[1] and "left" in lines[1]
    assert lines[2].startswith("verify lintseq: 4/10 rows") and len(lines) == 3
    assert progress_bar(10, "x", "row", enabled=False, stream=io.StringIO()).disable


def test_rows_of_an_earlier_run_are_not_part_of_the_rate():
    # A resumed run counted the rows an earlier run had made: "1,338.3 rows/s ... about 13s left" for an hour.
    out = io.StringIO()
    bar = LogLines(820_000, "lintseq generate (lintseq)", "program", stream=out, interval=3600)
    count_earlier(bar, 800_000)
    bar.start -= 600  # ten minutes of this run
    bar.update(3_000)
    line = bar.line()
    assert "803,000/820,000 programs (800,000 by an earlier run)" in line
    assert ", 5.0 programs/s" in line and "about 56m40s left" in line
