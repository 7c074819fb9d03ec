"""The time limit holds where the alarm cannot reach: a program that keeps the stack at the recursion limit
(the alarm's handler then turns into a RecursionError that astroid catches and retries), and threads other
than the main one (no alarm at all). The watchdog ends those calls, and never interrupts anything else."""

import subprocess
import sys
import threading
import time

from hub_tools.linters import LintTimeout, PylintLinter, call_limits
from hub_tools.linters.call_limits import CallLimits, Interrupted

# A chain of 200 method calls: formatting its nodes reaches the recursion limit, and astroid's formatter
# catches the RecursionError and starts again one level up, at every level. Before the watchdog, one lint
# call of it ran for hours whatever the limit.
FLUENT_CHAIN = "s = 'abc'\nt = (s\n" + "     .strip()\n" * 200 + ")\nprint(t)\n"


# What a lint call raised, how long it took and how many exceptions are chained behind it (hidden ones too).
REPORT = (
    "def report(started, error):\n"
    "    links, behind = 0, error\n"
    "    while (behind := behind.__cause__ or behind.__context__) is not None:\n"
    "        links += 1\n"
    "    return f'{type(error).__name__} {time.monotonic() - started:.1f} {links}'\n"
)


def run_script(script: str) -> list[str]:
    """Run ``script`` in a process of its own, with a hard stop (a regression would otherwise hang the test
    run), and return the lines it printed."""
    try:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"the process hung after: {error.stdout!r}") from None
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split("\n")


def test_a_call_that_keeps_the_stack_at_its_limit_still_ends_past_its_limit():
    lines = run_script(
        "import time\n"
        "from hub_tools.linters import LintTimeout, PylintLinter\n"
        f"program = {FLUENT_CHAIN!r}\n"
        + REPORT
        + "linter = PylintLinter('portable', timeout=1)\n"
        "for _ in range(2):\n"
        "    started = time.monotonic()\n"
        "    try:\n"
        "        linter.lint(program)\n"
        "        print('returned')\n"
        "    except LintTimeout as error:\n"
        "        print(report(started, error))\n"
        "short = program.replace('     .strip()\\n' * 200, '     .strip()\\n' * 3)\n"
        "print([error.code for error in linter.lint('x = y')], [error.code for error in linter.lint(short)])\n"
    )
    assert [line.split()[0] for line in lines[:2]] == ["LintTimeout", "LintTimeout"], lines
    assert all(float(line.split()[1]) < 30 for line in lines[:2]), lines
    assert [line.split()[2] for line in lines[:2]] == ["0", "0"], lines  # see the next test
    assert lines[2] == "['E0602'] []"  # the linter answers the next calls as before


def test_outside_the_main_thread_a_call_is_ended_too_and_its_error_carries_no_chain():
    """The watchdog ends the call in a thread. The error it raises has nothing chained behind it: the
    interruption came through astroid's retries on RecursionError, and once carried every RecursionError of
    them in ``__context__`` (about 8,000, with 68,000 frames). A test report walks such a chain once per link:
    a run hung for 15 minutes formatting one."""
    lines = run_script(
        "import threading, time\n"
        "from hub_tools.linters import PylintLinter\n"
        f"program = {FLUENT_CHAIN!r}\n"
        + REPORT
        + "linter = PylintLinter('portable', timeout=0.5)\n"
        "outcome = []\n"
        "def lint():\n"
        "    started = time.monotonic()\n"
        "    try:\n"
        "        linter.lint(program)\n"
        "        outcome.append('returned')\n"
        "    except BaseException as error:\n"
        "        outcome.append(report(started, error))\n"
        "thread = threading.Thread(target=lint, daemon=True)\n"
        "thread.start()\n"
        "thread.join(120)\n"
        "print('still running' if thread.is_alive() else outcome[0])\n"
    )
    kind, seconds, links = lines[0].split()
    assert kind == "LintTimeout" and float(seconds) < 30 and links == "0", lines


def test_the_watchdog_interrupts_only_the_overdue_body(monkeypatch):
    """Outside the main thread (no alarm) only the watchdog can end a body. With limits that run out before,
    during and after the body: each long body is ended early in LintTimeout, a body done in time returns, and
    no interruption ever arrives after a call has ended."""
    monkeypatch.setattr(call_limits, "_GRACE_SECONDS", 0.05)
    monkeypatch.setattr(call_limits, "_WATCH_SECONDS", 0.01)
    outcomes, strays = [], []

    def calls():
        for work in [0, 0.01, 0.03, 0.06, 0.1, 5.0] * 4:  # seconds the body would run by itself
            started = time.monotonic()
            try:
                with CallLimits(0.02):
                    finish = started + work
                    while time.monotonic() < finish:
                        sum(range(1000))
                outcomes.append(("returned", work, time.monotonic() - started))
            except LintTimeout:
                outcomes.append(("timeout", work, time.monotonic() - started))
            try:
                time.sleep(0.1)  # long enough for a late interruption to arrive
                sum(range(1000))
            except Interrupted:
                strays.append(work)

    thread = threading.Thread(target=calls)
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and strays == [] and len(outcomes) == 24
    assert [kind for kind, work, _ in outcomes if work == 0] == ["returned"] * 4
    assert all(kind == "timeout" for kind, work, _ in outcomes if work >= 0.03)
    assert all(seconds < 3 for _, work, seconds in outcomes if work == 5.0)  # ended, not run to their end


def test_after_the_watchdog_fired_a_traced_or_profiled_process_still_runs():
    """Taking back a pending interruption once left the interpreter's flag for one set: the eval loop then took
    its slow path at every check, and under a tracer or a profiler (coverage, cProfile, a debugger) the next
    Python call looped at its first instruction for good. Here the watchdog ends a body in a thread, then the
    process traces a call, profiles one with cProfile and lints under sys.setprofile."""
    script = (
        "import cProfile, sys, threading, time\n"
        "from hub_tools.linters import LintTimeout, PylintLinter\n"
        "from hub_tools.linters.call_limits import CallLimits\n"
        "def body():\n"
        "    started = time.monotonic()\n"
        "    try:\n"
        "        with CallLimits(0.05):\n"
        "            while time.monotonic() < started + 10:\n"
        "                sum(range(1000))\n"
        "    except LintTimeout:\n"
        "        print('ended' if time.monotonic() - started < 9 else 'ran to its end', flush=True)\n"
        "thread = threading.Thread(target=body)\n"
        "thread.start()\n"
        "thread.join()\n"
        "def square(x):\n"
        "    return x * x\n"
        "sys.settrace(lambda *args: None)\n"
        "traced = square(3)\n"
        "sys.settrace(None)\n"
        "print('traced', traced, flush=True)\n"
        "cProfile.run('square(4)', '/dev/null')\n"
        "print('profiled', flush=True)\n"
        "linter = PylintLinter('portable', timeout=None)\n"
        "sys.setprofile(lambda *args: None)\n"
        "codes = [error.code for error in linter.lint('x = y')]\n"
        "sys.setprofile(None)\n"
        "print('linted', codes, flush=True)\n"
    )
    assert run_script(script) == ["ended", "traced 9", "profiled", "linted ['E0602']", ""]


def test_a_process_forked_while_the_watchdog_held_its_lock_lints_as_usual(lint_in_a_forked_child):
    # A user's Dataset.map(num_proc=...) forks a process that may have linted (and so runs a watchdog).
    linter = PylintLinter("portable", timeout=5)
    assert [error.code for error in linter.lint("x = y")] == ["E0602"]  # the watchdog runs from here
    # The worst moment to fork: the child gets the lock held.
    lint_in_a_forked_child(linter, "import os\nos.nothing()", ["E1101"], fork_while=call_limits._WATCHDOG.lock)


def test_the_watchdog_keeps_no_frame_of_a_finished_call():
    """The watchdog looks at the running calls' frames; a frame it kept over its sleep would keep the finished
    call's locals alive, the checked program's tree among them, until its next look (a memory test saw one
    such tree outlive its call)."""
    import inspect

    module = inspect.getsource(inspect)  # about a second per analysis: the watchdog looks during each call
    linter = PylintLinter(timeout=60)
    for _ in range(3):
        started = time.monotonic()
        linter.lint(module)
        assert time.monotonic() - started > 2 * call_limits._WATCH_SECONDS
        # While it sleeps, the watchdog's frames hold nothing of the call it looked at.
        frame = sys._current_frames()[call_limits._WATCHDOG.thread.ident]
        held = []
        while frame is not None:
            held += frame.f_locals.values()
            frame = frame.f_back
        assert not any(isinstance(value, dict) and value and all(hasattr(item, "f_code") for item in value.values())
                       for value in held), "the watchdog kept the frames it looked at"
        assert not any(hasattr(value, "f_code") for value in held), "the watchdog kept a frame it looked at"
