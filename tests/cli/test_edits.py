"""``lintseq edits``: output formats and one-line errors with exit code 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub_tools.lintseq import apply_diffs


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub_tools.cli", "edits", *args], capture_output=True, text=True)


@pytest.fixture
def stdlib_file() -> str:
    import colorsys

    return colorsys.__file__


@pytest.mark.parametrize("sampler", ["lintseq", "random"])
@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_json_output_rebuilds_the_file(stdlib_file, sampler, profile):
    result = run(stdlib_file, "--json", "--seed", "3", "--sampler", sampler, "--profile", profile)
    assert result.returncode == 0, result.stderr
    edit_path = json.loads(result.stdout)["edit_path"]
    assert apply_diffs(edit_path) == Path(stdlib_file).read_text().strip("\n")
    assert run(stdlib_file, "--json", "--seed", "3", "--sampler", sampler, "--profile", profile).stdout == result.stdout


def test_readable_output(stdlib_file):
    result = run(stdlib_file, "--seed", "1")
    assert result.returncode == 0
    assert "── edit 1/" in result.stdout and "+def rgb_to_yiq(r, g, b):" in result.stdout
    assert "edits," in result.stderr


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such file"),
    ("dir", "is a directory"),
    (b"\xff\xfe\x00x = 1", "not UTF-8"),
    (b"# nothing but a comment\n\n", "no code"),
    (b"", "no code"),
    (b"def f(:\n    pass\n", "needs a program that compiles"),
    (b"x = 1\nreturn x\n", "program.py:2: syntax-error: 'return' outside function; LintSeq needs a program that compiles"),
])
def test_bad_files_are_one_line_errors(tmp_path, content, expected):
    target = tmp_path / "program.py"
    if content == "dir":
        target.mkdir()
    elif content is not None:
        target.write_bytes(content)
    result = run(str(target))
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_negative_seed_is_one_line_error(stdlib_file):
    result = run(stdlib_file, "--seed", "-1")  # was numpy's traceback
    assert result.returncode == 2 and "--seed must be 0 or more, got -1" in result.stderr
    assert "Traceback" not in result.stderr
