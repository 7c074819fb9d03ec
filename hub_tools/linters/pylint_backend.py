"""A pylint backend that pays pylint's start-up cost once, not once per call.

Running ``pylint file.py`` for every check (what the reference implementation does) parses arguments,
registers about forty checkers, reads configuration files and writes a temporary file each time: about
25 ms before a single line is checked. Here one configured ``PyLinter`` stays alive, and each call:

1. parses the text with :func:`ast.parse` first: a syntax error (most broken intermediate states) is
   reported at once, without building an astroid tree, on the line it is about
   (:mod:`hub_tools.linters.syntax_errors`: the opener of an emptied block, not the next statement);
2. builds the astroid tree from the string (no temporary file);
3. walks it with only the checkers that can emit a counted message (pylint skips a checker whose
   messages are all disabled), reusing the walker between calls, without the work pylint would still
   do for uncounted messages (:mod:`hub_tools.linters.uncounted_checks`), and doing once what pylint and
   astroid repeat within a call, with the same answers (:mod:`~hub_tools.linters.repeated_scans`,
   :mod:`~hub_tools.linters.repeated_hash_lookups`, :mod:`~hub_tools.linters.brain_templates`);
4. when pylint finds nothing, compiles the text: the few errors only the compiler sees (pylint reports
   most of them itself, such as E0103 ``continue`` outside a loop) still count, so every state that passes
   is a program Python accepts.

Configuration files (``pylintrc``, ``pyproject.toml``) are never read, so results do not depend on the
folder the command runs in. Nor are the program's own pylint pragmas (``# pylint: disable=...``,
``skip-file``, ``disable-next``, ``enable``, any spelling): the program is checked for what it is, not for
what its comments ask. pylint reads pragmas in exactly one place, ``PyLinter.process_tokens``, which scans
the comment tokens and is the only writer of the per-file message state and of the "ignore this file"
flag; the kept-alive linter replaces it with a reader that obeys none and reports, as the command line does,
a pragma naming no option pylint knows (E0011). Token checkers still get every token, so line
numbers and W0311 are unaffected, and text that merely looks like a pragma (inside a string) never mattered.

The program is a text, so a coding declaration in it (``# -*- coding: euc-jp -*-``) declares nothing: Python
compiles a text whatever its declaration says, and so do :func:`ast.parse` and astroid here. pylint's token
and unicode checkers, though, re-read the module as bytes, which astroid makes with UTF-8, and decode them
with the declared codec: a text whose declaration names another codec (legacy files turned into text) was
read as mojibake or crashed pylint (``ascii``, ``euc-jp``, an unknown codec), and its row was lost. Those
checkers are given the same UTF-8 bytes with the declaration naming ``utf-8``
(:func:`~hub_tools.linters.program_comments.bytes_read_as_written`), so every checker reads the text that was given.

A deeply nested program (a long ``elif`` chain, a sum of hundreds of terms over as many lines) takes pylint
near Python's recursion limit, which counts levels from the bottom of the stack: the same program was linted
in full, linted with parts of astroid's work silently left out, or crashed, depending on how deep the caller
was. Each call gets a fixed budget above its own depth (:data:`LINT_LEVELS`), so the answer is the same from
the local engine, a datatrove task or a Ray worker, and the same as ``pylint file.py`` gives.

What lives between calls, and why results do not depend on it, the garbage collector's pace during a
call, and why library builds are off the clock: :mod:`hub_tools.linters.astroid_state`.

The time and memory limits cannot be swallowed (:mod:`hub_tools.linters.call_limits`): ``SIGALRM`` raises an
exception derived from :class:`BaseException` (pylint and astroid catch ``Exception`` only), the alarm
re-fires every few milliseconds until the call ends, and a call whose clock ran past the limit raises
:class:`LintTimeout` whatever it returned. A call that grows the process's memory past its limit (astroid
evaluates ``[0] * 99_999_999`` into a list of that many elements) raises :class:`LintMemoryLimit`. The clock
stops while astroid builds a library module (the first program that imports a library pays for its trees,
once per process), so a time-out or a memory stop is about the program, never about a cold cache.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import gc
import os
import sys
import threading
import time
import warnings

from hub_tools.linters.astroid_state import (
    MODULE_FILE,
    MODULE_NAME,
    build_sys_module,
    fewer_collections,
    forget_checked_program,
    imports_resolved_by,
    library_builds_off_the_clock,
)
from hub_tools.linters.brain_templates import templates_built_once_per_call
from hub_tools.linters.call_limits import CallLimits, Interrupted, LintMemoryLimit, LintTimeout
from hub_tools.linters.installed_versions import package_versions_seen_by
from hub_tools.linters.module_writes import forget_dropped_modules, take_back, writes_scoped_to_the_call
from hub_tools.linters.profiles import LintProfile, get_profile
from hub_tools.linters.program_comments import bytes_read_as_written, pragmas_obeyed_by_none
from hub_tools.linters.repeated_hash_lookups import hash_lookups_kept_for_the_call
from hub_tools.linters.repeated_scans import scans_kept_for_the_call
from hub_tools.linters.syntax_errors import declaration_error, flagged_line, syntax_error
from hub_tools.linters.uncounted_checks import (
    drop_uncounted_callbacks,
    may_hold_unicode_problems,
    skip_uncounted_helpers,
)
from hub_tools.lintseq.linter import LintError
from hub_tools.recursion_budget import recursion_budget

# One lint call at a time in a process. astroid's module cache and inference caches are process-wide, and a
# call swaps methods on astroid's classes for its length (repeated_scans, astroid_state): two calls from two
# threads at once crashed each other (KeyError, AstroidError, a swapped method deleted twice: 38 of 132 paths
# lost with three threads) where one thread alone lost none. Reentrant, for the calls reset() makes inside one.
_ONE_CALL_AT_A_TIME = threading.RLock()


def _new_lock_in_child() -> None:
    # A process forked while another thread was linting would inherit the lock held, by a thread it lacks.
    global _ONE_CALL_AT_A_TIME
    _ONE_CALL_AT_A_TIME = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)

# MiB one lint call may add to the process's memory. A large module needs a few hundred; the limit is for
# programs astroid would evaluate into gigabytes (see hub_tools.linters.call_limits).
DEFAULT_MEMORY_LIMIT_MB = 2048
# Levels of recursion one call gets above the depth it is called at, whatever that depth is
# (:mod:`hub_tools.recursion_budget`): as many as `python -m pylint file.py` has under Python's default limit,
# the deeper-started of the two command lines (runpy's frames; the `pylint` script has one or two more). Both
# give up on the same programs: an `elif` chain crashes pylint from 325 branches, a sum of names on one line
# from 489 terms, over as many lines from 244, here and under `python -m pylint` (the script, from 326). At 990
# a state was clean here and an F0002 crash for `python -m pylint`. (The depth also depends on what pylint does
# at the deepest point: see the note on undefined-loop-variable in hub_tools.linters.uncounted_checks.)
LINT_LEVELS = 988
# The starts of astroid's warnings that it went on without part of its work at the recursion limit.
_ASTROID_RECURSION_WARNINGS = ("Astroid was unable to transform", "Recursion limit exhausted")


class LinterCrash(RuntimeError):
    """pylint or astroid raised while checking a program (the program cannot be checked)."""


_BUILTIN_CONTAINERS = (dict, list, set, collections.deque)


def _fresh(container):
    """A container with what ``container`` holds, sharing nothing with it that a call could fill.

    A ``ScopeAccessMap`` (the class checker's, empty after ``open()``) gets a new empty one of its kind: a
    copy would share its own dict inside, which a call fills with the classes of its program (the copy kept
    from ``open()`` once kept the first such program alive as long as the linter).
    """
    return copy.copy(container) if isinstance(container, _BUILTIN_CONTAINERS) else type(container)()


def _checker_containers(pylinter) -> list[tuple[object, dict[str, object]]]:
    """Fresh copies (:func:`_fresh`) of the mutable containers each checker holds right after ``open()``."""
    from pylint.checkers.classes.class_checker import ScopeAccessMap

    kinds = (*_BUILTIN_CONTAINERS, ScopeAccessMap)
    return [
        (checker, {name: _fresh(value) for name, value in vars(checker).items() if isinstance(value, kinds)})
        for checker in pylinter.prepare_checkers()
        if checker is not pylinter  # the linter's own dicts are its configuration
    ]


class PylintLinter:
    """pylint with a lint profile, kept alive between calls.

    Linters of one process may be called from several threads: their calls run one at a time (astroid's
    caches are the process's), so threads give the same answers as one thread, and no speed. For speed, use
    processes (``lintseq generate --workers``).

    Args:
        profile: ``"portable"`` (default), ``"reference"`` or a :class:`LintProfile`.
        timeout: seconds one call may take (``None`` for no limit); past it :class:`LintTimeout` is
            raised, never a result. In the main thread ``SIGALRM`` stops the call at the limit; in other
            threads the call runs to its end and then raises.
        memory_limit_mb: MiB by which one call may grow the process's resident memory (``None`` for no
            limit); past it :class:`LintMemoryLimit` is raised. Watched in the main thread on Linux only.
            Library modules built during the call do not count.
        skip_uncounted: leave out the work pylint does for messages the profile does not count
            (:mod:`hub_tools.linters.uncounted_checks`); ``False`` runs it, as the command line does: slower,
            same results.

    Attributes:
        calls: calls of :meth:`lint` so far.
        analyses: those that needed pylint's analysis (the others were syntax errors, answered by
            :func:`ast.parse`).
        build_seconds: one-time work the calls did outside their time limit: starting pylint and building
            library modules (once per process each).

    Example:

    >>> linter = PylintLinter()
    >>> linter.lint("def f(x):\\n    return y")
    [LintError(line=2, code='E0602', message="undefined-variable: Undefined variable 'y'")]
    >>> linter.lint("import numpy as np\\nprint(np.pi)")
    []
    """

    def __init__(self, profile: str | LintProfile = "portable", *, timeout: float | None = 10.0,
                 memory_limit_mb: float | None = DEFAULT_MEMORY_LIMIT_MB, skip_uncounted: bool = True):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.timeout = timeout
        self.memory_limit_mb = memory_limit_mb
        self.skip_uncounted = skip_uncounted
        self.calls = 0
        self.analyses = 0
        self.build_seconds = 0.0
        self._pylinter = None
        self._check = self._check_plain = None
        self._checker_context = None
        self._checker_state: list[tuple[object, dict[str, object]]] = []

    @property
    def versions(self) -> dict[str, str]:
        """Versions that determine the results, for provenance records."""
        import astroid
        import pylint

        return {
            "pylint": pylint.__version__,
            "astroid": astroid.__version__,
            "python": ".".join(map(str, sys.version_info[:3])),
        }

    def _options(self) -> list[str]:
        options = ["--disable=all", "--enable=" + ",".join(self.profile.counted)]
        if self.profile.not_counted:
            options.append("--disable=" + ",".join(self.profile.not_counted))
        return [*options, "--score=n", "--reports=n", "--persistent=n", *self.profile.pylint_options]

    def _start(self) -> None:
        from pylint.lint import PyLinter
        from pylint.reporters import CollectingReporter

        pylinter = PyLinter()
        pylinter.process_tokens = pragmas_obeyed_by_none(pylinter)  # see the module docstring
        # Near the recursion limit astroid leaves a node untransformed and warns, printing the node and advice
        # for pylint's command line (--init-hook) to stderr. The call's budget makes that the same for every
        # caller, as it is for `pylint file.py` (hub_tools.recursion_budget), and the advice does not apply.
        for message in _ASTROID_RECURSION_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        pylinter.load_default_plugins()
        pylinter._parse_command_line_configuration(self._options())
        pylinter.set_reporter(CollectingReporter())
        pylinter.open()
        self._checker_context = pylinter._astroid_module_checker()
        self._check = self._check_plain = self._checker_context.__enter__()
        walker = getattr(self._check, "keywords", {}).get("walker")
        if walker is not None:
            # pylint's walker prints the whole traceback of a checker's failure to stderr (thousands of
            # lines for a recursion error); here the failure is raised as LinterCrash, said in one line.
            walker.exception_msg = True
        self._pylinter = pylinter
        if self.skip_uncounted:
            self._skip_uncounted_work()
        self._checker_state = _checker_containers(pylinter)

    def _skip_uncounted_work(self) -> None:
        import pylint
        from pylint.checkers.unicode import UnicodeChecker

        skip_uncounted_helpers(self._pylinter, pylint.__version__)
        check = self._check
        # pylint hands out its module check as a partial of check_astroid_module with the walker and the
        # raw and token checkers; another shape is left as it is.
        if not isinstance(check, functools.partial) or not {"walker", "rawcheckers"} <= set(check.keywords):
            return
        drop_uncounted_callbacks(check.keywords["walker"])
        plain_raw = [checker for checker in check.keywords["rawcheckers"] if not isinstance(checker, UnicodeChecker)]
        self._check_plain = functools.partial(check.func, *check.args, **{**check.keywords, "rawcheckers": plain_raw})

    def _restore_checkers(self) -> None:
        # pylint's checkers keep per-run bookkeeping keyed by the nodes they saw (ClassChecker's
        # accessed-member map holds every class of every program): a fresh pylint run starts each checker
        # from the state open() left, and so does every call here, which also keeps memory flat.
        for checker, containers in self._checker_state:
            for name, value in containers.items():
                setattr(checker, name, _fresh(value))

    def reset(self, keep_modules: set[str] | None = None) -> None:
        """Drop pylint's checkers and astroid's caches; the next call starts afresh.

        Args:
            keep_modules: keep these modules in astroid's cache (default: drop every module).
        """
        with _ONE_CALL_AT_A_TIME:
            self._reset(keep_modules)

    def _reset(self, keep_modules: set[str] | None) -> None:
        from astroid import MANAGER

        if self._checker_context is not None:
            with contextlib.suppress(Exception):
                self._checker_context.__exit__(None, None, None)
        self._pylinter = self._check = self._check_plain = self._checker_context = None
        take_back()  # done when a call ends; a cut call may have skipped it
        forget_checked_program()
        if keep_modules is None:
            MANAGER.clear_cache()
        else:
            for name in set(MANAGER.astroid_cache) - keep_modules:
                del MANAGER.astroid_cache[name]
        forget_dropped_modules()

    def lint(self, program: str) -> list[LintError]:
        """Return the counted errors of ``program``, sorted by line (empty when it is clean).

        Raises:
            LintTimeout: the call took longer than ``timeout`` seconds.
            LintMemoryLimit: the call grew the process's memory by more than ``memory_limit_mb``.
            LinterCrash: pylint itself failed on this program.
        """
        # The whole call allocates, the syntax check and the final compile as much as the analysis: all of it
        # runs with the collector's slower pace (hub_tools.linters.astroid_state). Time spent waiting for
        # another thread's call is not on this call's clock.
        with _ONE_CALL_AT_A_TIME, fewer_collections(), recursion_budget(LINT_LEVELS):
            self.calls += 1
            return self._lint(program)

    def _lint(self, program: str) -> list[LintError]:
        parse_error = syntax_error(program, "parse") or declaration_error(program)
        if parse_error is not None:
            return [parse_error]
        started = time.monotonic()
        from astroid import MANAGER

        if self._pylinter is None or "sys" not in MANAGER.astroid_cache:
            # Start-up (a second or more on a slow machine) is one-time work, like a library build: it is
            # outside the call's limit and counted with the builds, so no program's budget pays for it.
            if self._pylinter is None:
                self._start()
            if "sys" not in MANAGER.astroid_cache:
                build_sys_module()
            self.build_seconds += time.monotonic() - started
        self.analyses += 1
        limit = CallLimits(self.timeout, self.memory_limit_mb)
        failure: BaseException | None = None
        try:
            # The limits are the inner context: the deny-list and astroid's builders are restored after
            # the alarm is disarmed.
            with writes_scoped_to_the_call(), imports_resolved_by(self.profile), \
                    package_versions_seen_by(self.profile), library_builds_off_the_clock(limit), limit:
                messages = self._run(program)
        except (LintTimeout, LintMemoryLimit, Interrupted) as error:
            limit.disarm()  # an interruption may have escaped the limits' own exit
            # Cut mid-walk: the checkers' state is undefined. No module build can have been cut (the clock
            # stops while astroid builds one), so every module in its cache is complete and stays: the
            # next calls do not pay for the libraries again.
            self.reset(keep_modules=set(MANAGER.astroid_cache) - {MODULE_NAME})
            if limit.out_of_memory:
                gc.collect()  # the program's trees are cycles: give their memory back now, not at some later call
            # An Interrupted is never expected past CallLimits; never let it out either.
            failure = limit.crossed() if isinstance(error, Interrupted) else error
        except RecursionError as error:
            self.reset()
            failure = LinterCrash(f"pylint hit the recursion limit: {error}")
        except Exception as error:
            self.reset()
            failure = LinterCrash(f"pylint failed: {type(error).__name__}: {error}")
            failure.__cause__, error.__context__ = error, None  # its traceback, without what came before it
        finally:
            self.build_seconds += limit.paused_seconds
        if failure is not None:
            # Raised here, out of the handlers, with nothing chained but a crash's own cause: what a handler
            # raises is chained to the error it handles, and behind an interrupted call that can be thousands
            # of RecursionErrors of astroid's retries (hub_tools.linters.call_limits), kept alive with the
            # error and walked by every full traceback.
            failure.__context__ = None
            raise failure
        if not messages:
            compile_error = syntax_error(program, "compile", MODULE_NAME)
            return [compile_error] if compile_error else []
        return sorted({LintError(line=line, code=code, message=text) for line, code, text in messages})

    def _run(self, program: str) -> list[tuple[int, str, str]]:
        import astroid
        from astroid import MANAGER
        from astroid.builder import AstroidBuilder
        from pylint.utils import FileState

        pylinter = self._pylinter
        reporter = pylinter.reporter
        reporter.reset()
        pylinter.set_current_module(MODULE_NAME, None)
        builder = AstroidBuilder(MANAGER)
        try:
            try:
                module = builder.string_build(program, MODULE_NAME, MODULE_FILE)
            except astroid.AstroidSyntaxError as error:
                cause = error.error
                line = flagged_line(cause) if isinstance(cause, SyntaxError) else 1
                return [(line, "E0001", f"syntax-error: {cause}")]
            module.file_bytes = bytes_read_as_written(program) or module.file_bytes  # see the module docstring
            pylinter.file_state = FileState(MODULE_NAME, pylinter.msgs_store, module)
            pylinter._ignore_file = False
            pylinter.current_file = module.file
            # Work pylint and astroid repeat within a call, done once: hub_tools.linters.repeated_scans,
            # repeated_hash_lookups, brain_templates.
            with scans_kept_for_the_call(), hash_lookups_kept_for_the_call(), templates_built_once_per_call():
                (self._check if may_hold_unicode_problems(program) else self._check_plain)(module)
        finally:
            self._restore_checkers()
            pylinter.file_state = FileState(MODULE_NAME, pylinter.msgs_store)  # it held the program's module
            forget_checked_program()
        return [(message.line, message.msg_id, f"{message.symbol}: {message.msg}") for message in reporter.messages]
