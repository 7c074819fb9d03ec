"""A pylint backend that pays pylint's start-up cost once, not once per call.

Running ``pylint file.py`` for every check (what the reference implementation does) parses arguments,
registers about forty checkers, reads configuration files and writes a temporary file each time: about
25 ms before a single line is checked. Here one configured ``PyLinter`` stays alive, and each call:

1. parses the text with :func:`ast.parse` first: a syntax error (most broken intermediate states) is
   reported at once, without building an astroid tree, on the line it is about
   (:mod:`hub_tools.linters.syntax_errors`: the opener of an emptied block, not the next statement);
2. builds the astroid tree from the string (no temporary file);
3. walks it with only the checkers that can emit a counted message (pylint skips a checker whose
   messages are all disabled), reusing the walker between calls;
4. when pylint finds nothing, compiles the text: the few errors only the compiler sees (pylint reports
   most of them itself, such as E0103 ``continue`` outside a loop) still count, so every state that passes
   is a program Python accepts.

Configuration files (``pylintrc``, ``pyproject.toml``) are never read, so results do not depend on the
folder the command runs in. Nor are the program's own pylint pragmas (``# pylint: disable=...``,
``skip-file``, ``disable-next``, ``enable``, any spelling): the program is checked for what it is, not for
what its comments ask. pylint reads pragmas in exactly one place, ``PyLinter.process_tokens``, which scans
the comment tokens and is the only writer of the per-file message state and of the "ignore this file"
flag; the kept-alive linter replaces it with a no-op. Token checkers still get every token, so line
numbers and W0311 are unaffected, and text that merely looks like a pragma (inside a string) never mattered.

What lives between calls, and why results do not depend on it. The standard-library modules a program
imports are parsed into astroid trees once per process and stay in astroid's cache for the whole run
(rebuilding them was about 40% of a short run, and the whole first call of a file that imports a lot).
Everything a call adds is taken back when it ends, so every call starts from the same state, whatever was
linted before, and memory stays flat over any number of calls (``benchmarks/linter_memory.py`` measures
it) without the periodic full reset an earlier version needed:

- the checked program's module and every node-keyed cache of astroid and pylint (inference results,
  lookups, inference tips, metaclass and object-model lookups) are dropped;
- astroid's ``delayed_assattr`` writes ``x.name = ...`` of the program into the module or class that
  ``x`` is, also a cached standard-library one (``thread.daemon = True`` into ``threading.Thread``): those
  writes are recorded and removed, else a later program would see attributes an earlier one assigned
  (a test shows it did) and each would keep the program's tree alive;
- pylint's checkers keep per-run bookkeeping keyed by the nodes they saw (the class checker's map of
  accessed members): each call starts every checker from the state ``open()`` left, as a fresh run would.

Kept on purpose out of the reuse: inference results about standard-library nodes (astroid caches them per
inference context and a per-context budget can cut them short, so a result computed under one program is
not provably what a fresh run computes under another; measured, keeping them gained nothing anyway), and
any incremental re-analysis of the part of a program a deletion did not touch (pylint's checkers read the
whole module: names, class hierarchies, flow). Each state therefore gets one full analysis; the sampler
(:mod:`hub_tools.lintseq.sampling`) avoids asking twice for the same state.

Garbage collection. A call allocates hundreds of thousands of objects, and astroid's trees are cycles
(every node points to its parent), which only the cyclic collector frees. At Python's default threshold it
runs every 700 allocations, and each run of the oldest generation walks every object alive, the cached
standard-library trees included: 17% of a short run, 7% of a long one. During a call the threshold of the
youngest generation is raised (:data:`_GC_THRESHOLD`), so the collector runs about fifteen times less
often; the process's own setting is back when the call ends. Collection frees memory and changes no
result.

The time limit cannot be swallowed (:mod:`hub_tools.linters.time_limit`): ``SIGALRM`` raises an exception
derived from :class:`BaseException` (pylint and astroid catch ``Exception`` only), the alarm re-fires every
few milliseconds until the call ends, and a call whose clock ran past the limit raises
:class:`LintTimeout` whatever it returned.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import gc
import sys
from collections.abc import Iterator

from hub_tools.linters.profiles import LintProfile, get_profile
from hub_tools.linters.syntax_errors import flagged_line, syntax_error
from hub_tools.linters.time_limit import Interrupted, LintTimeout, TimeLimit
from hub_tools.lintseq.linter import LintError

# The module name the checked program gets; it cannot collide with anything importable.
_MODULE_NAME = "lintseq_checked_program"
# The file it is said to come from. pylint skips some checks on a module not built from a ``.py`` file
# (E1111 assignment-from-no-return: "not fully defined"), which a pylint run on a file does make; the
# folder does not exist, so nothing is ever read from it or resolved next to it.
_MODULE_FILE = "/lintseq-checked-program-not-on-disk/lintseq_checked_program.py"
# Allocations between two runs of the cyclic garbage collector during a call (Python's default: 700).
_GC_THRESHOLD = 10_000


class LinterCrash(RuntimeError):
    """pylint or astroid raised while checking a program (the program cannot be checked)."""


class _StdlibOnly(set):
    """An astroid module deny-list that refuses every module outside the standard library."""

    def __contains__(self, module_name: object) -> bool:
        if not isinstance(module_name, str):
            return False
        return module_name.split(".")[0] not in sys.stdlib_module_names or super().__contains__(module_name)


@functools.cache
def _program_builder_class() -> type:
    """An astroid builder that can take back what building the program wrote into other modules.

    Building a module runs astroid's ``delayed_assattr`` step: for ``x.name = value`` it infers ``x`` and
    appends the assignment node to the ``instance_attrs`` (or ``locals``) of what ``x`` is, also when
    that lives in a cached standard-library module (``thread.daemon = True`` writes into
    ``threading.Thread``; ``sys.flag = 1`` into ``sys``). Left there, the node would keep the whole
    program's tree alive and later programs would see attributes an earlier program assigned: results
    would depend on what was linted before, and memory would grow with every call. The builder records
    each such foreign append and :meth:`undo_foreign_attributes` removes it after the call, so the cached
    modules are exactly as they were before the call: also the name's entry itself where the append
    created it (an empty list left behind reads as "defined nowhere" to astroid but crashes pylint's
    ``is_attribute_typed_annotation``: ``module.__loader__ = ...`` in one state of ``imp.py`` broke the
    check of the next).
    """
    from astroid.builder import AstroidBuilder
    from astroid.exceptions import InferenceError

    class ProgramBuilder(AstroidBuilder):
        def __init__(self, manager):
            super().__init__(manager)
            # (attributes dict, name, node, whether the append created the name's entry), in order.
            self._foreign: list[tuple[dict, str, object, bool]] = []

        def delayed_assattr(self, node) -> None:
            super().delayed_assattr(node)
            program = node.root()
            try:
                owners = list(node.expr.infer())
            except InferenceError:
                return
            seen = set()
            for owner in owners:
                for target in (owner, getattr(owner, "_proxied", None)):
                    if target is None or not hasattr(target, "root") or target.root() is program:
                        continue
                    for attributes in (getattr(target, "instance_attrs", None), getattr(target, "locals", None)):
                        values = attributes.get(node.attrname) if isinstance(attributes, dict) else None
                        if values is None or id(values) in seen or not any(value is node for value in values):
                            continue
                        seen.add(id(values))
                        # astroid appends to ``setdefault(name, [])``: the node alone means a new entry.
                        created = len(values) == 1
                        self._foreign.append((attributes, node.attrname, node, created))

        def undo_foreign_attributes(self) -> None:
            # Last append first, so the entry a first append created is empty when its record comes.
            for attributes, name, node, created in reversed(self._foreign):
                values = attributes.get(name)
                if values is None:
                    continue
                for index, value in enumerate(values):
                    if value is node:
                        del values[index]
                        break
                if created and not values:
                    del attributes[name]
            self._foreign.clear()

    return ProgramBuilder




def _ignore_pragmas(tokens) -> None:
    """Stands in for ``PyLinter.process_tokens``, pylint's reader of ``# pylint:`` comments."""


def _forget_checked_program() -> None:
    """Drop the checked program from astroid's and pylint's caches.

    Nothing of a program may outlive its call: not its module, not the inference results and lookups that
    astroid and pylint cache on its nodes (memory would grow with every call).
    """
    from astroid import MANAGER
    from astroid.context import _invalidate_cache
    from astroid.inference_tip import clear_inference_tip_cache
    from astroid.interpreter.objectmodel import ObjectModel
    from astroid.nodes import ClassDef
    from astroid.nodes._base_nodes import LookupMixIn
    from pylint.checkers.clear_lru_cache import clear_lru_caches

    MANAGER.astroid_cache.pop(_MODULE_NAME, None)
    _invalidate_cache()
    clear_inference_tip_cache()
    clear_lru_caches()
    LookupMixIn.lookup.cache_clear()
    ClassDef._metaclass_lookup_attribute.cache_clear()
    ObjectModel.attributes.cache_clear()


def _build_sys_module() -> None:
    """Build astroid's ``sys`` with the standard streams a command-line run has.

    astroid builds ``sys`` from the live module, so ``sys.stdout`` is inferred as whatever object the
    process holds there at that moment: under a harness that captures output (the reference
    implementation lints inside ``redirect_stdout(StringIO())``), ``sys.stdout.buffer`` becomes an E1101
    no-member error in every program that writes bytes to it. Here the three streams are plain text files
    while ``sys`` is built, so the result does not depend on the host process.
    """
    import io

    from astroid import MANAGER

    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(3))
    try:
        MANAGER.ast_from_module_name("sys")
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Raise the youngest generation's collection threshold for the body (see the module docstring)."""
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], _GC_THRESHOLD), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


_BUILTIN_CONTAINERS = (dict, list, set, collections.deque)


def _checker_containers(pylinter) -> list[tuple[object, dict[str, object]]]:
    """Copies of the mutable containers each checker holds right after ``open()``."""
    from pylint.checkers.classes.class_checker import ScopeAccessMap

    kinds = (*_BUILTIN_CONTAINERS, ScopeAccessMap)
    return [
        (checker, {name: copy.copy(value) for name, value in vars(checker).items() if isinstance(value, kinds)})
        for checker in pylinter.prepare_checkers()
        if checker is not pylinter  # the linter's own dicts are its configuration
    ]


class PylintLinter:
    """pylint with a lint profile, kept alive between calls.

    Args:
        profile: ``"portable"`` (default), ``"reference"`` or a :class:`LintProfile`.
        timeout: seconds one call may take (``None`` for no limit); past it :class:`LintTimeout` is
            raised, never a result. In the main thread ``SIGALRM`` stops the call at the limit; in other
            threads the call runs to its end and then raises.

    Attributes:
        calls: calls of :meth:`lint` so far.
        analyses: those that needed pylint's analysis (the others were syntax errors, answered by
            :func:`ast.parse`).

    Example:

    >>> linter = PylintLinter()
    >>> linter.lint("def f(x):\\n    return y")
    [LintError(line=2, code='E0602', message="undefined-variable: Undefined variable 'y'")]
    >>> linter.lint("import numpy as np\\nprint(np.pi)")
    []
    """

    def __init__(self, profile: str | LintProfile = "portable", *, timeout: float | None = 10.0):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.timeout = timeout
        self.calls = 0
        self.analyses = 0
        self._pylinter = None
        self._check = None
        self._checker_context = None
        self._checker_state: list[tuple[object, dict[str, object]]] = []
        self._builder = None

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
        pylinter.process_tokens = _ignore_pragmas  # see the module docstring
        pylinter.load_default_plugins()
        pylinter._parse_command_line_configuration(self._options())
        pylinter.set_reporter(CollectingReporter())
        pylinter.open()
        self._checker_context = pylinter._astroid_module_checker()
        self._check = self._checker_context.__enter__()
        self._pylinter = pylinter
        self._checker_state = _checker_containers(pylinter)

    def _restore_checkers(self) -> None:
        # pylint's checkers keep per-run bookkeeping keyed by the nodes they saw (ClassChecker's
        # accessed-member map holds every class of every program): a fresh pylint run starts each checker
        # from the state open() left, and so does every call here, which also keeps memory flat.
        for checker, containers in self._checker_state:
            for name, value in containers.items():
                # ScopeAccessMap keeps its own dict inside: a new one, not a copy sharing it.
                setattr(checker, name, copy.copy(value) if isinstance(value, _BUILTIN_CONTAINERS) else type(value)())

    def reset(self, keep_modules: set[str] | None = None) -> None:
        """Drop pylint's checkers and astroid's caches; the next call starts afresh.

        Args:
            keep_modules: keep these modules in astroid's cache (default: drop every module).
        """
        from astroid import MANAGER

        if self._checker_context is not None:
            with contextlib.suppress(Exception):
                self._checker_context.__exit__(None, None, None)
        self._pylinter = self._check = self._checker_context = None
        if self._builder is not None:  # a cut call may have skipped these
            self._builder.undo_foreign_attributes()
        _forget_checked_program()
        if keep_modules is None:
            MANAGER.clear_cache()
        else:
            for name in set(MANAGER.astroid_cache) - keep_modules:
                del MANAGER.astroid_cache[name]

    @contextlib.contextmanager
    def _imports_resolved_by_profile(self) -> Iterator[None]:
        from astroid import MANAGER
        from astroid.manager import AstroidManager

        # The deny-list is astroid-global state: swap it for the call only, so other pylint users in
        # this process (and linters with another profile) are unaffected. It lives in two places:
        # the MANAGER instance, and the class-level ``brain`` that every new ``AstroidManager()``
        # copies it from; astroid's import inference (``Module.import_module``) asks a new one, so
        # swapping only the first left every third-party module visible to inference.
        brain = AstroidManager.brain
        saved_denylist = MANAGER.module_denylist
        saved_brain_denylist = brain["module_denylist"]
        saved_extensions = MANAGER.always_load_extensions
        MANAGER.always_load_extensions = "--unsafe-load-any-extension=y" in self.profile.pylint_options
        if not self.profile.third_party_imports:
            MANAGER.module_denylist = brain["module_denylist"] = _StdlibOnly(saved_denylist)
        try:
            yield
        finally:
            MANAGER.module_denylist = saved_denylist
            brain["module_denylist"] = saved_brain_denylist
            MANAGER.always_load_extensions = saved_extensions

    def lint(self, program: str) -> list[LintError]:
        """Return the counted errors of ``program``, sorted by line (empty when it is clean).

        Raises:
            LintTimeout: the call took longer than ``timeout`` seconds.
            LinterCrash: pylint itself failed on this program.
        """
        self.calls += 1
        parse_error = syntax_error(program, "parse")
        if parse_error is not None:
            return [parse_error]
        if self._pylinter is None:
            self._start()
        from astroid import MANAGER

        if "sys" not in MANAGER.astroid_cache:
            _build_sys_module()
        self.analyses += 1
        modules_before = set(MANAGER.astroid_cache)
        try:
            # The time limit is the inner context: the deny-list is restored after the alarm is disarmed.
            with _fewer_collections(), self._imports_resolved_by_profile(), TimeLimit(self.timeout):
                messages = self._run(program)
        except (LintTimeout, Interrupted) as error:
            # Cut mid-walk: the checkers' state is undefined, and the modules astroid was building may sit
            # half-built in its cache (it caches a module before finishing it). Drop exactly those; the
            # complete ones stay, so the next calls do not pay for the standard library again.
            self.reset(keep_modules=modules_before)
            if isinstance(error, Interrupted):  # never expected past TimeLimit; never let it out either
                raise LintTimeout(f"pylint took longer than {self.timeout:g} s") from None
            raise
        except RecursionError as error:
            self.reset()
            raise LinterCrash(f"pylint hit the recursion limit: {error}") from None
        except Exception as error:
            self.reset()
            raise LinterCrash(f"pylint failed: {type(error).__name__}: {error}") from error
        if not messages:
            compile_error = syntax_error(program, "compile", _MODULE_NAME)
            return [compile_error] if compile_error else []
        return sorted({LintError(line=line, code=code, message=text) for line, code, text in messages})

    def _run(self, program: str) -> list[tuple[int, str, str]]:
        import astroid
        from astroid import MANAGER
        from pylint.utils import FileState

        pylinter = self._pylinter
        reporter = pylinter.reporter
        reporter.reset()
        pylinter.set_current_module(_MODULE_NAME, None)
        self._builder = builder = _program_builder_class()(MANAGER)
        try:
            try:
                module = builder.string_build(program, _MODULE_NAME, _MODULE_FILE)
            except astroid.AstroidSyntaxError as error:
                cause = error.error
                line = flagged_line(cause) if isinstance(cause, SyntaxError) else 1
                return [(line, "E0001", f"syntax-error: {cause}")]
            pylinter.file_state = FileState(_MODULE_NAME, pylinter.msgs_store, module)
            pylinter._ignore_file = False
            pylinter.current_file = module.file
            self._check(module)
        finally:
            builder.undo_foreign_attributes()
            self._restore_checkers()
            _forget_checked_program()
        return [(message.line, message.msg_id, f"{message.symbol}: {message.msg}") for message in reporter.messages]
