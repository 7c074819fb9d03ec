"""What building a module writes into other modules, and which lint calls see it.

When astroid builds a module it runs ``delayed_assattr`` on every ``x.name = value`` in it: it infers ``x``
and appends the assignment to the ``instance_attrs`` (or ``locals``) of what ``x`` is, also when that lives
in another module. ``sys.ps1 = ">>> "`` in the standard library's ``code.py`` gives the module ``sys`` a
``ps1``; ``thread.daemon = True`` in a program gives ``threading.Thread`` a ``daemon``.

In a pylint run on one file such a write is there exactly when the module making it was built, that is when
the file's analysis asked astroid for it. Here library modules are built once per process and kept
(:mod:`hub_tools.linters.astroid_state`), so a write made while building a module for one program was seen by
every later one. A state whose ``import code`` had been deleted read ``sys.ps1`` as defined (pylint on the
file says E1101 no-member) and was emitted as lint-clean; the paths of a program depended on what the process
had linted before it, so the number of workers changed the dataset.

So every write of that kind made during a call is journaled, and all are taken back when the call ends
(:func:`take_back`). A library module's writes, recorded once when it is built, are put back when a later
call asks astroid for that module (where a fresh process would build it), together with those of every
module its own build asked for (:func:`asked_for`). The program's writes are not kept: its module goes with
the call. Writes made outside calls (pylint's start-up, ``sys``) are left in place: every process makes them.

A build does one more thing to what comes after it: when one of astroid's transforms replaces a node of the
module being built, astroid clears its whole inference cache, in the middle of whatever inference asked for
the module (building almost any standard-library module does it: 10 times for ``abc``, 351 for ``typing``). In a
pylint run on one file that clear happens at the first request for each library, and what the interrupted
inference finds afterwards can differ: ``class Stream(io.BufferedIOBase)`` whose ``__init__`` calls no
other is W0231 super-init-not-called for ``pylint FILE`` (the metaclass lookup builds ``abc``, clears the
cache, and the lookup of ``__init__`` that follows no longer sees the bases, so it finds ``object.__init__``),
and was clean here, where ``abc`` had been built by an earlier program: such states were emitted as
lint-clean. So the builds that cleared the cache are recorded, and the first request of a call for such a
module (or for one its build asked for) clears it again, where the fresh process's build would have.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from hub_tools.linters.astroid_state import MODULE_NAME, cache_clears_reported_to

# The AstroidManager methods through which astroid is asked for a module, building it when not cached.
_REQUESTS = ("ast_from_module_name", "ast_from_file", "ast_from_module")


class _Writes:
    """The writes of library builds, and those in place during the current call."""

    def __init__(self) -> None:
        # module name -> (the module, [(attributes dict, name, assignment node)]), recorded when it was built
        self.made_by: dict[str, tuple[object, list[tuple[dict, str, object]]]] = {}
        # module name -> the modules its build asked astroid for
        self.asked_by: dict[str, set[str]] = {}
        # (attributes dict, name, node, whether putting it there created the name's entry), in order
        self.journal: list[tuple[dict, str, object, bool]] = []
        self.in_place: set[str] = set()  # modules whose writes are in place in this call
        self.requests: list[set[str]] = []  # per request under way, innermost last: the modules it asked for
        self.built: list[str] = []  # modules built during the call
        self.program_wrote = False  # the program set a name in another module during the call
        self.clears_cache: set[str] = set()  # library modules whose own build cleared the inference cache
        self.clears: list[int] = []  # per request under way, innermost last: the clears its own build made


_WRITES = _Writes()


def _foreign_targets(node) -> Iterator[tuple[object, dict]]:
    """(owner, attribute dict) outside ``node``'s module that astroid's ``delayed_assattr`` put ``node`` in."""
    from astroid.exceptions import InferenceError

    own = node.root()
    try:
        owners = list(node.expr.infer())
    except InferenceError:
        return
    seen = set()
    for owner in owners:
        for target in (owner, getattr(owner, "_proxied", None)):
            if target is None or not hasattr(target, "root") or target.root() is own:
                continue
            for attributes in (getattr(target, "instance_attrs", None), getattr(target, "locals", None)):
                values = attributes.get(node.attrname) if isinstance(attributes, dict) else None
                if values is None or id(values) in seen or not any(value is node for value in values):
                    continue
                seen.add(id(values))
                yield target, attributes


def _record(delayed_assattr):
    @functools.wraps(delayed_assattr)
    def recording(builder, node) -> None:
        delayed_assattr(builder, node)
        module = node.root()
        for owner, attributes in _foreign_targets(node):
            # astroid appends to ``setdefault(name, [])``: the node alone means the append made the entry.
            _WRITES.journal.append((attributes, node.attrname, node, len(attributes[node.attrname]) == 1))
            if MODULE_NAME in (module.name, owner.root().name):
                # A name the program set in another module (``_ast.Constant = ...``) changes what that name is
                # for a library built meanwhile (see take_back); an instance attribute (``thread.daemon``) is
                # common in scripts and leaves what names are alone.
                _WRITES.program_wrote |= module.name == MODULE_NAME and type(owner).__name__ == "Module"
                continue  # the program's own, or into it: gone with its module
            if _WRITES.made_by.get(module.name, (module,))[0] is not module:  # built again since a reset
                del _WRITES.made_by[module.name]
            _WRITES.made_by.setdefault(module.name, (module, []))[1].append((attributes, node.attrname, node))

    return recording


def _put_back(name: str) -> None:
    """Put the writes of module ``name``, and of the modules its build asked for, in place for this call, and
    clear the inference cache if one of their builds did (and was not made in this call: that one did)."""
    from astroid import MANAGER
    from astroid.context import _invalidate_cache

    pending = [name]
    clear = False
    while pending:
        current = pending.pop()
        if current in _WRITES.in_place:
            continue
        _WRITES.in_place.add(current)
        clear |= current in _WRITES.clears_cache and current not in _WRITES.built
        pending += _WRITES.asked_by.get(current, ())
        module, writes = _WRITES.made_by.get(current, (None, ()))
        if module is not None and MANAGER.astroid_cache.get(current) is not module:
            del _WRITES.made_by[current]  # dropped from astroid's cache: built again, and recorded, when asked for
            continue
        for attributes, attribute, node in writes:
            values = attributes.get(attribute)
            created = values is None
            if created:
                values = attributes[attribute] = []
            if not any(value is node for value in values):
                values.append(node)
                _WRITES.journal.append((attributes, attribute, node, created))
    if clear:
        _invalidate_cache()


def asked_for(module) -> None:
    """Astroid was asked for ``module`` during a call: its build's writes are in place from now on."""
    name = getattr(module, "name", None)
    if not isinstance(name, str):
        return
    if _WRITES.requests:
        _WRITES.requests[-1].add(name)
    _put_back(name)


def take_back() -> None:
    """Remove every write put in place during the call, last first (so an entry a write created is empty when
    its record comes, and goes: an empty list reads as "defined nowhere" to astroid but crashes pylint's
    ``is_attribute_typed_annotation``).

    A library built while the program's names in other modules were in place was built against them: a program that set
    ``_ast.Constant = collections.OrderedDict`` and then used ``ast`` had ``ast.py``'s ``Constant.n = ...``
    written into ``OrderedDict``, recorded as ``ast``'s own write, and every later program importing ``ast``
    read ``OrderedDict().n`` as defined (pylint on that file: E1101). Such libraries are dropped from astroid's
    cache with what was recorded of them, and built again, cleanly, when a later program asks for them."""
    from astroid import MANAGER

    if _WRITES.program_wrote:
        for name in _WRITES.built:
            MANAGER.astroid_cache.pop(name, None)
            _WRITES.made_by.pop(name, None)
            _WRITES.asked_by.pop(name, None)
    _WRITES.built.clear()
    _WRITES.program_wrote = False
    for attributes, name, node, created in reversed(_WRITES.journal):
        values = attributes.get(name)
        if values is None:
            continue
        for index, value in enumerate(values):
            if value is node:
                del values[index]
                break
        if created and not values:
            del attributes[name]
    _WRITES.journal.clear()
    _WRITES.in_place.clear()
    _WRITES.requests.clear()
    _WRITES.clears.clear()


def forget_dropped_modules() -> None:
    """Let go of the recorded writes of modules no longer in astroid's cache (after a reset)."""
    from astroid import MANAGER

    for name, (module, _) in list(_WRITES.made_by.items()):
        if MANAGER.astroid_cache.get(name) is not module:
            del _WRITES.made_by[name]
    for name in set(_WRITES.asked_by) - set(MANAGER.astroid_cache):
        del _WRITES.asked_by[name]


@contextlib.contextmanager
def writes_scoped_to_the_call() -> Iterator[None]:
    """Journal and scope the module writes of the body (see the module docstring); take them back after."""
    from astroid.builder import AstroidBuilder
    from astroid.manager import AstroidManager

    requests = {name: AstroidManager.__dict__[name] for name in _REQUESTS if name in AstroidManager.__dict__}

    def count_clear() -> None:  # to the innermost request under way, whose build it is
        if _WRITES.clears:
            _WRITES.clears[-1] += 1

    def tracked(request):
        @functools.wraps(request)
        def wrapper(manager, *args, **kwargs):
            _WRITES.requests.append(set())
            _WRITES.clears.append(0)
            cached = len(manager.astroid_cache)
            try:
                module = request(manager, *args, **kwargs)
            finally:
                asked = _WRITES.requests.pop()
                clears = _WRITES.clears.pop()
            name = getattr(module, "name", None)
            if isinstance(name, str) and len(manager.astroid_cache) > cached and name != MODULE_NAME:
                _WRITES.built.append(name)  # a build: the cache grew (never shrinks during a call)
                if clears:
                    _WRITES.clears_cache.add(name)
            if isinstance(name, str):
                asked.discard(name)
                if asked:
                    _WRITES.asked_by.setdefault(name, set()).update(asked)
                asked_for(module)
            return module

        return wrapper

    delayed_assattr = AstroidBuilder.__dict__["delayed_assattr"]
    AstroidBuilder.delayed_assattr = _record(delayed_assattr)
    for name, request in requests.items():
        setattr(AstroidManager, name, tracked(request))
    try:
        with cache_clears_reported_to(count_clear):
            yield
    finally:
        AstroidBuilder.delayed_assattr = delayed_assattr
        for name, request in requests.items():
            setattr(AstroidManager, name, request)
        take_back()
