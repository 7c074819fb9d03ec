"""Loading a library is not analysing the program: the time limits count the second, not the first.

The first program that imports a library makes astroid build that library's trees from its files (about a
second for the standard-library modules below, about a minute for ``transformers`` under the ``reference``
profile). Each check runs in a fresh process, where nothing is built yet.
"""

import subprocess
import sys
import textwrap
import time

import pytest

from hub_tools.linters.call_limits import CallLimits, LintTimeout

# Standard-library modules that take astroid about a second to build together here, cold.
HEAVY_IMPORTS = "import asyncio\nimport email.mime.text\nimport http.server\nimport unittest.mock\n"


def _run_fresh(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_stopped_clock_does_not_count_and_cannot_be_cut():
    with CallLimits(0.1) as limit, limit.paused():
        with limit.paused():  # nested: stopped once
            time.sleep(0.15)
        time.sleep(0.1)
    assert limit.paused_seconds >= 0.25 and limit.elapsed() < 0.1
    # What is left of the limit after the stopped part still applies.
    with pytest.raises(LintTimeout), CallLimits(0.1) as limit:
        with limit.paused():
            time.sleep(0.05)
        time.sleep(0.3)


def test_a_cold_library_is_built_outside_the_time_limit_and_kept():
    output = _run_fresh(f"""
        import time
        from hub_tools.linters import PylintLinter
        linter = PylintLinter(timeout=0.25)
        linter.lint("x = 1")  # pylint itself is started outside the limit as well
        program = {HEAVY_IMPORTS!r} + "asyncio.not_a_member()\\n"
        started = time.monotonic()
        codes = [error.code for error in linter.lint(program)]
        print(codes, linter.build_seconds > 0.25, time.monotonic() - started > 0.25)
        from astroid import MANAGER
        built = set(MANAGER.astroid_cache)
        print([error.code for error in linter.lint(program)], set(MANAGER.astroid_cache) == built)
    """)
    # The first call took longer than the limit, all of it building; the second builds nothing.
    assert output.split("\n")[:2] == ["['E1101'] True True", "['E1101'] True"]


def test_after_a_time_out_the_libraries_built_stay_and_the_next_call_is_unaffected():
    # The slow part is the program's own inference; the modules used before it are built first, off the clock.
    slow = ("asyncio.sleep(0)\nhttp.server.HTTPServer\n"
            "a0 = 99999 ** 99999\n" + "".join(f"a{i} = a{i - 1} * a{i - 1}\n" for i in range(1, 6)) + "a5.foo()\n")
    output = _run_fresh(f"""
        from astroid import MANAGER
        from hub_tools.linters import LintTimeout, PylintLinter
        linter = PylintLinter(timeout=0.5)
        try:
            linter.lint({HEAVY_IMPORTS!r} + {slow!r})
            print("no time-out")
        except LintTimeout:
            print("time-out", "asyncio" in MANAGER.astroid_cache, "http.server" in MANAGER.astroid_cache)
        built = dict(MANAGER.astroid_cache)  # the very module objects: kept, not built again
        print([error.code for error in linter.lint({HEAVY_IMPORTS!r} + "http.server.nothing()")],
              all(MANAGER.astroid_cache.get(name) is module for name, module in built.items()))
        fresh = PylintLinter(timeout=None)
        program = {HEAVY_IMPORTS!r} + "asyncio.run(1, 2, 3, 4)\\nclass C(unittest.mock.Mock):\\n    x = 1\\n"
        print(linter.lint(program) == fresh.lint(program))
    """)
    assert output.split("\n")[:3] == ["time-out True True", "['E1101'] True", "True"]


def test_the_program_budget_does_not_count_start_up_or_library_builds():
    # The first program in a process pays pylint's start-up and the library builds (a second or more on a
    # slow machine); its own five lint calls take a tenth of that. Only those count against its budget.
    output = _run_fresh(f"""
        from hub_tools.datagen.rows import _LINTERS, GenerationConfig, process_record
        from hub_tools.datagen.sources import SourceRecord
        config = GenerationConfig(prompt_field="instruction", code_field="response", time_limit=0.5, lint_timeout=0.5)
        program = {HEAVY_IMPORTS!r} + "def f():\\n    return asyncio.sleep(0)\\n"
        outcome = process_record(SourceRecord(0, "row 0", fields={{"instruction": "i", "response": program}}), config)
        print(outcome.skipped, len(outcome.rows), _LINTERS["portable"].build_seconds > 0.1)
    """)
    assert output.split("\n")[0] == "None 1 True"
