"""The ``__hash__`` lookup pylint repeats for every constant key of a dict or set is made once per type and call.

The type checker reports unhashable-member (E1143), a counted error, by asking of every key of every dict
literal, every member of every set literal and every subscript of a dict whether it is hashable
(``pylint.checkers.utils.is_hashable``). For a constant (``'name'``, ``3``, ``None``) that is a lookup of
``__hash__`` on its builtin class, with the metaclass and ancestors found again each time. On a 475-line
module holding a data table (400 records, each a dict of four string keys) an analysis took 257 ms with
the lookups repeated and 163 ms with them kept, and a table is deleted one line per edit: ``lintseq
generate`` took 53 s on that one module before, 21.7 s after (its list version: 1.4 s).

While pylint checks a program, :func:`hash_lookups_kept_for_the_call` keeps the answer for a constant's
class once the lookup has found a ``__hash__`` defined by the builtins module, and gives it again for the
next constant of that class. This is exact:

- a constant with no inference tip infers to itself only (``Const._infer``), so the answer for it is the
  answer of ``igetattr("__hash__")`` on its builtin class: the same class for every constant whose value has
  the same type;
- that lookup reads the class's and its ancestors' attributes, which change only when a module is built:
  astroid adds what a module assigns on other modules' objects when it builds it, and the program's own
  writes are made before any checker runs. An answer is kept only while no module has been built since
  (the key holds the number of modules in astroid's cache);
- a ``__hash__`` from anywhere but the builtins module (a program that assigns ``"".__hash__``), no answer
  (``Uninferable``), or an unhashable answer is never kept: those constants always take pylint's path;
- pylint's own call leaves nothing behind for a hashable constant: it returns inside the loop over the
  constant's inferred values, so that inference is never cached, and the lookup's inference of the class's
  attributes is cached by its first call and only read by the next ones. Skipping a repeat changes no cache.

All of it is dropped when the call ends. ``tests/linters/test_repeated_hash_lookups.py`` compares the
linter with and without kept lookups on real code and on the shapes that make them matter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def hash_lookups_kept_for_the_call() -> Iterator[None]:
    """Within the block, the type checker's ``is_hashable`` answers a constant from the first of its class."""
    from astroid import MANAGER, InferenceError, nodes
    from astroid.bases import BoundMethod
    from pylint.checkers import typecheck

    asked = typecheck.is_hashable
    hashable_classes: set[tuple[object, int]] = set()  # (builtin class, modules in astroid's cache); nodes hash by id

    def is_hashable(node) -> bool:
        if type(node) is not nodes.Const or node._explicit_inference is not None:
            return asked(node)
        try:
            cls = node._proxied
        except KeyError:  # a value of a type astroid has no class for: pylint's path
            return asked(node)
        key = (cls, len(MANAGER.astroid_cache))
        if key in hashable_classes:
            return True
        # The first constant of its class: what pylint does for it, in the same order (its inferred value is
        # the node itself), and whether the answer may be kept.
        try:
            found = next(node.igetattr("__hash__"))
        except (InferenceError, StopIteration):
            return asked(node)
        if found.parent is node or getattr(found, "value", True) is not None:
            if isinstance(found, nodes.NodeNG | BoundMethod) and found.root().name == "builtins":
                hashable_classes.add(key)
            return True
        return asked(node)  # unhashable: pylint's own path, which also caches the constant's inference

    typecheck.is_hashable = is_hashable
    try:
        yield
    finally:
        typecheck.is_hashable = asked
        hashable_classes.clear()

