"""What a lint call does to astroid's process-wide state, and how every call gives it back.

pylint analyses a program through astroid, whose caches, deny-list and builders are global to the process.
:class:`~hub_tools.linters.pylint_backend.PylintLinter` keeps one pylint alive for a whole run; this module
holds everything a call does to that global state, and what takes it back.

What lives between calls, and why results do not depend on it. The standard-library modules a program
imports are parsed into astroid trees once per process and stay in astroid's cache for the whole run
(rebuilding them was about 40% of a short run, and the whole first call of a file that imports a lot).
Everything a call adds is taken back when it ends, so every call starts from the same state, whatever was
linted before, and memory stays flat over any number of calls (``benchmarks/linter_memory.py`` measures
it) without the periodic full reset an earlier version needed:

- the checked program's module and every node-keyed cache of astroid and pylint (inference results,
  lookups, inference tips, metaclass and object-model lookups) are dropped;
- astroid's ``delayed_assattr`` writes ``x.name = ...`` into the module or class that ``x`` is, also a
  cached standard-library one (``thread.daemon = True`` into ``threading.Thread``), whether the program
  or a library built for it makes the write: every such write is taken back when the call ends, and a
  library's are put back only in the calls that ask for that library (:mod:`~hub_tools.linters.module_writes`),
  else a later program would see attributes an earlier one assigned, or one a library it never imports
  assigned (tests show both did), and the program's tree would stay alive;
- astroid's cache of the imports it could not resolve keeps the last :data:`FAILED_IMPORTS_KEPT` of them,
  each without the frames of the call that raised it (:class:`_FailedImports`): the answer for a missing
  module is the same whether it is cached or looked up again;
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
standard-library trees included: 17% of a short run, 7% of a long one. During a call, from its syntax check
to its final compile, the threshold of the youngest generation is raised (:data:`_GC_THRESHOLD`), so the
collector runs about fifteen times less often; the process's own setting is back when the call ends. (With
the syntax check and the compile left at the default pace, replaying the 1,823 calls of 24 modules' paths
ran 1,565 young and 4 full collections, 3% of the time; with the whole call at the slower pace, 732 and
none.) Collection frees memory and changes no result.

The limit is on the analysis of the program, not on loading libraries. The first program that imports a
library makes astroid build the trees of that library (and of what it imports) from their files: a second
for ``asyncio``, about a minute for ``transformers`` under the ``reference`` profile, once per process.
The clock stops while a module is built (:func:`library_builds_off_the_clock`; the linter adds that time
up in ``build_seconds``), so:

- a cold cache never turns into a time-out (with the clock running, a program importing ``transformers``
  would time out, its half-built trees would be dropped, and every later such program would time out
  again, for the whole run);
- no alarm can cut a build, so after a time-out every module in astroid's cache is complete and stays;
- building is bounded: each module is built once per process, from files the program cannot change
  (with ``portable``, only the standard library), so a program cannot use it to run unchecked.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
from collections.abc import Callable, Iterator

from hub_tools.linters.call_limits import CallLimits
from hub_tools.linters.profiles import LintProfile
from hub_tools.linters.stdlib_imports import (
    StandardLibraryOnly,
    drop_the_other_profiles_modules,
    resolved_in_the_standard_library,
)

# The module name the checked program gets; it cannot collide with anything importable.
MODULE_NAME = "lintseq_checked_program"
# The file it is said to come from. pylint skips some checks on a module not built from a ``.py`` file
# (E1111 assignment-from-no-return: "not fully defined"), which a pylint run on a file does make; the
# folder does not exist, so nothing is ever read from it or resolved next to it.
MODULE_FILE = "/lintseq-checked-program-not-on-disk/lintseq_checked_program.py"
# Allocations between two runs of the cyclic garbage collector during a call (Python's default: 700).
_GC_THRESHOLD = 10_000
# The AstroidManager methods that build a library module (from a name, a file, a live module): the clock of
# the call stops while they build (see the module docstring).
_BUILDERS = ("ast_from_module_name", "ast_from_file", "ast_from_module")
# Failed imports kept in astroid's cache (about 1 KB each), the most recently raised (see _FailedImports).
FAILED_IMPORTS_KEPT = 10_000


class _FailedImports:
    """The imports astroid could not resolve during lint calls: which to clean after a call, which to keep.

    astroid caches the failure of every import it cannot resolve (``AstroidManager._mod_file_cache``, keyed
    by module name and importing file) and raises that same exception object again on every later attempt.
    Two things follow, both handled here for the failures raised during a call:

    - each raise gives the object a traceback, which holds the program (see :func:`_drop_frames`): after
      the call, the failures raised in it, and only those, drop their frames. (Walking the whole cache
      after every call cost time in proportion to the names failed so far: 33 ms a call after 5,000
      names, 90 ms after 20,000, under the ``reference`` profile on a corpus of many repositories.)
    - a corpus holds an unbounded number of module names nobody installed (each repository's local
      modules): only the :data:`FAILED_IMPORTS_KEPT` most recently raised stay cached. An older one is
      looked up again when next imported, and fails again the same way: the files on the search path do
      not change during a run, and the failure's message is not what any counted message depends on.
    """

    def __init__(self) -> None:
        self.raised: list[BaseException] = []
        self.keys: dict[tuple, None] = {}  # cache keys of failures, least recently raised first

    def record(self, key: tuple, error: BaseException) -> None:
        self.raised.append(error)
        self.keys.pop(key, None)
        self.keys[key] = None

    def clean_up(self, cache: dict) -> None:
        """Drop the frames of the failures raised since the last clean-up; keep the most recent in ``cache``."""
        for error in self.raised:
            _drop_frames(error)
        self.raised.clear()
        while len(self.keys) > FAILED_IMPORTS_KEPT:
            key = next(iter(self.keys))
            del self.keys[key]
            if isinstance(cache.get(key), BaseException):
                del cache[key]


_FAILED_IMPORTS = _FailedImports()


@functools.cache
def _guards_cache_clearer():
    """astroid 4.4 caches the guards (ifs and asserts) before each statement, keyed by the statement nodes;
    earlier versions have no such cache (looked up once, not at every call)."""
    try:
        from astroid.constraint import clear_preceding_guards_cache
    except ImportError:
        return lambda: None
    return clear_preceding_guards_cache


def _clear_guards_cache() -> None:
    _guards_cache_clearer()()


@contextlib.contextmanager
def cache_clears_reported_to(report: Callable[[], None]) -> Iterator[None]:
    """Within the block, call ``report()`` each time one of astroid's transforms clears the inference cache
    (after replacing a node of a tree being built: a library module, a brain's template), and then clear it.

    A fresh pylint process makes such a clear at the first build of each library, in the middle of the
    inference that asked for it; the linter replays it where a kept tree stands in for a new build
    (:mod:`~hub_tools.linters.module_writes`, :mod:`~hub_tools.linters.brain_templates`). Blocks nest: each
    reports to its own ``report`` and passes the clear on to the enclosing one.
    """
    from astroid import transforms

    clear = transforms._invalidate_cache  # what transforms call, by this module-level name

    def reported() -> None:
        report()
        clear()

    transforms._invalidate_cache = reported
    try:
        yield
    finally:
        transforms._invalidate_cache = clear


def forget_checked_program() -> None:
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

    MANAGER.astroid_cache.pop(MODULE_NAME, None)
    _invalidate_cache()
    _clear_guards_cache()
    clear_inference_tip_cache()
    clear_lru_caches()
    LookupMixIn.lookup.cache_clear()
    ClassDef._metaclass_lookup_attribute.cache_clear()
    ObjectModel.attributes.cache_clear()
    # An object model (``special_attributes``: one per kind of value, shared by the class) remembers the
    # last value it was read through, which may be a node of the program: its whole tree, and a 240 MB list
    # astroid evaluated in it, stayed alive until some later program read that model. Every read sets it
    # again first, so clearing it changes no result.
    for model in _object_models():
        model._instance = None
    _FAILED_IMPORTS.clean_up(MANAGER._mod_file_cache)


def _drop_frames(error: BaseException) -> None:
    """Drop the tracebacks of ``error`` and of the exceptions it holds (its context, cause, attributes).

    astroid caches the failure of every import it cannot resolve, as the exception it raises again on the next
    attempt (:class:`_FailedImports`). That object carries frames: the traceback of its last raise, and the
    import error it wraps, whose context is the ``KeyError`` of the cache miss, raised with the first import
    of that name. A frame keeps
    the frames that called it, up to the lint call, and so the import node and the whole program that tried
    it. Under the reference profile, one program per unresolvable module name stayed alive (40 programs
    importing 40 missing packages: 40 trees); a corpus holds thousands of such names. Python sets a
    traceback and a context again on every raise, and the message does not depend on them, so dropping
    them changes no result.
    """
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        pending += [value for value in (current.__context__, current.__cause__, *vars(current).values())
                    if isinstance(value, BaseException)]
        current.__traceback__ = current.__context__ = current.__cause__ = None


@functools.cache
def _classes_with_object_models() -> tuple[type, ...]:
    """astroid's classes that hold an object model or inherit one; instances' classes (``BaseInstance``)
    too, because astroid gives ``Generator`` and ``AsyncGenerator`` their own on first use."""
    import astroid.bases
    import astroid.objects
    from astroid import nodes

    classes = {value for module in (astroid.bases, astroid.objects, nodes) for value in vars(module).values()
               if isinstance(value, type)}
    return tuple(cls for cls in classes if issubclass(cls, astroid.bases.BaseInstance)
                 or any("special_attributes" in vars(ancestor) for ancestor in cls.__mro__))


def _object_models() -> list:
    """The object models astroid's classes hold now (some are set when first needed, so looked up each time)."""
    from astroid.interpreter.objectmodel import ObjectModel

    found = (cls.__dict__.get("special_attributes") for cls in _classes_with_object_models())
    return [model for model in found if isinstance(model, ObjectModel) and hasattr(model, "_instance")]


def build_sys_module() -> None:
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
def fewer_collections() -> Iterator[None]:
    """Raise the youngest generation's collection threshold for the body (see the module docstring)."""
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], _GC_THRESHOLD), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@contextlib.contextmanager
def library_builds_off_the_clock(limit: CallLimits) -> Iterator[None]:
    """Stop ``limit``'s clock while astroid builds a library module, for the body (see the module docstring).

    The methods are swapped on the class, for the call only: astroid asks new ``AstroidManager()``
    instances for imports, and they share the class and the cache.
    """
    from astroid.manager import AstroidManager

    # A builder this astroid version lacks is left alone (its builds then run on the clock, as before).
    originals = {name: AstroidManager.__dict__[name] for name in _BUILDERS if name in AstroidManager.__dict__}

    def off_the_clock(build):
        @functools.wraps(build)
        def wrapper(manager, *args, **kwargs):
            if build.__name__ == "ast_from_module_name":
                modname = args[0] if args else kwargs.get("modname")
                if modname in manager.astroid_cache:
                    return build(manager, *args, **kwargs)  # nothing to build: no clock to stop
            with limit.paused():
                return build(manager, *args, **kwargs)

        return wrapper

    for name, build in originals.items():
        setattr(AstroidManager, name, off_the_clock(build))
    try:
        yield
    finally:
        for name, build in originals.items():
            setattr(AstroidManager, name, build)


@contextlib.contextmanager
def imports_resolved_by(profile: LintProfile) -> Iterator[None]:
    """Resolve imports for inference as ``profile`` says, and record the failures (:class:`_FailedImports`),
    for the body (astroid-global state, swapped back after)."""
    from astroid import MANAGER
    from astroid.exceptions import AstroidBuildingError
    from astroid.manager import AstroidManager

    # The deny-list is astroid-global state: swap it for the call only, so other pylint users in
    # this process (and linters with another profile) are unaffected. It lives in two places:
    # the MANAGER instance, and the class-level ``brain`` that every new ``AstroidManager()``
    # copies it from; astroid's import inference (``Module.import_module``) asks a new one, so
    # swapping only the first left every third-party module visible to inference.
    brain = AstroidManager.brain
    resolve = AstroidManager.__dict__["file_from_module_name"]

    # Every failure astroid raises is recorded, to be cleaned after the call (_FailedImports).
    @functools.wraps(resolve)
    def recording_failures(manager, modname, contextfile, *args, **kwargs):
        try:
            return resolve(manager, modname, contextfile, *args, **kwargs)
        except AstroidBuildingError as error:
            _FAILED_IMPORTS.record((modname, contextfile), error)
            raise

    saved_denylist = MANAGER.module_denylist
    saved_brain_denylist = brain["module_denylist"]
    saved_extensions = MANAGER.always_load_extensions
    MANAGER.always_load_extensions = "--unsafe-load-any-extension=y" in profile.pylint_options
    portable = not profile.third_party_imports
    drop_the_other_profiles_modules(MANAGER.astroid_cache, portable)
    if portable:
        MANAGER.module_denylist = brain["module_denylist"] = StandardLibraryOnly(saved_denylist)
    AstroidManager.file_from_module_name = resolved_in_the_standard_library(recording_failures) if portable \
        else recording_failures
    try:
        yield
    finally:
        AstroidManager.file_from_module_name = resolve
        MANAGER.module_denylist = saved_denylist
        brain["module_denylist"] = saved_brain_denylist
        MANAGER.always_load_extensions = saved_extensions
