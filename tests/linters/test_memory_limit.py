"""A lint call that would take gigabytes is stopped, and the run goes on; loading libraries does not count.

astroid evaluates what it can: ``[0] * 30_000_000`` is a list of thirty million elements (240 MB) in its
inference, and nothing in pylint bounds how many such lines a program has. The memory limit of a call
stops it, as the time limit does, with an exception nothing inside pylint can swallow.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from hub_tools.datagen.engine import Engine
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source
from hub_tools.linters import LintMemoryLimit, PylintLinter
from hub_tools.linters.call_limits import resident_bytes

# About 240 MB of inferred list per line, 1.9 GB for the program: the limits below stop it near 2 lines.
BLOATED = "\n".join(f"a{i} = [{i}] * 30_000_000" for i in range(8)) + "\nprint(" + ", ".join(
    f"a{i}[0]" for i in range(8)) + ")"


def test_a_call_past_the_memory_limit_raises_and_the_next_call_is_right():
    linter = PylintLinter(memory_limit_mb=300)
    assert linter.lint("x = 1\nprint(x)") == []
    before = resident_bytes()
    try:  # not pytest.raises: it keeps the traceback, and with it the frames holding the program's trees
        linter.lint(BLOATED)
    except LintMemoryLimit as error:
        assert "more than 300 MiB" in str(error)
    else:
        pytest.fail("the call was not stopped")
    # The linter is usable at once, gives the same answers, and the program's memory was given back.
    errors = linter.lint("def f():\n    return undefined_name\n")
    assert [(error.line, error.code) for error in errors] == [(2, "E0602")]
    assert resident_bytes() - before < 150 * 2**20


def test_growth_under_the_limit_passes():
    # One such list (240 MB) is under a 600 MiB limit: the program is clean, as pylint says.
    program = "sieve = [True] * 30_000_000\nprint(sieve[2])"
    assert PylintLinter(memory_limit_mb=600).lint(program) == []


def test_memory_that_libraries_take_does_not_count():
    # In a fresh process astroid builds these libraries' trees for the call (tens of MB, kept for the run);
    # a limit far below that still passes the program.
    code = """
        from hub_tools.linters import PylintLinter
        from hub_tools.linters.call_limits import resident_bytes
        linter = PylintLinter(memory_limit_mb=16)
        linter.lint("x = 1")
        before = resident_bytes()
        print(linter.lint("import asyncio, http.server, email.mime.text\\nprint(asyncio.sleep, http.server.HTTPServer)"))
        print((resident_bytes() - before) // 2**20, linter.build_seconds > 0)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    errors, growth = result.stdout.splitlines()
    assert errors == "[]"
    grown, built = growth.split()
    assert int(grown) > 16 and built == "True"  # the premise: the libraries took more than the limit


def test_a_program_past_the_limit_is_skipped_and_the_run_goes_on(tmp_path, humaneval_corpus):
    rows = [{"instruction": "bloated", "response": BLOATED}, {"instruction": "good", "response": humaneval_corpus[0]}]
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = GenerationConfig(lint_memory_limit=300)
    summary = Engine(Source(str(source)), tmp_path / "out", config, progress=False).run()
    assert summary.skipped == {"lint_memory": 1} and summary.rows == 1
    settings = json.loads((tmp_path / "out" / "lintseq_config.json").read_text())["configs"]["lintseq"]
    assert settings["lint_memory_limit"] == 300
    (skipped,) = settings["stats"]["skipped_rows"]
    assert skipped["location"] == "rows.jsonl:1" and "more than 300 MiB" in skipped["detail"]
