"""The class and function templates astroid's numpy brain builds at every inference are built once per call.

astroid infers numpy's names from templates: any attribute named ``ndarray`` (``np.ndarray`` in every
annotation of array code, whether numpy is visible or not) infers to a class built from a 150-line
template, and numpy's functions (``np.zeros``, ``np.linspace``) to functions built from one line each.
The brain builds the template again each time a node is inferred: about 16 ms for ``ndarray``, every time
a program names it. On a 170-line module annotated with ``np.ndarray`` that was 85% of each analysis
(715 ms), and on 300 random installed modules 8% of all lint time, for 102 inferences.

While pylint checks a program, :func:`templates_built_once_per_call` keeps the tree the brain built from a
template and gives it again for the next node that asks for the same template. What a later inference
finds in it is what it would find in a new build: a template is a constant text, building it changes
nothing outside its own tree (its module, named ``""``, holds the template alone, and replaces the last
one in astroid's cache either way), and nothing but inference reads it: pylint never walks or reports on
a template's nodes. What changes is only that the template's nodes are the same objects for every node
that names them, so astroid's caches answer a repeated question about them from the first answer, as
they do for the standard library's trees. All of it is dropped when the call ends.

One thing a build does outside its tree: when a transform replaces a node of the template, astroid clears
its whole inference cache, in the middle of the inference that asked for the template (what that can change:
:mod:`~hub_tools.linters.module_writes`). A kept template whose build cleared the cache clears it again
each time it is given, as its new build would have.

``tests/linters/test_brain_templates.py`` compares the linter with and without kept templates on every
state of edit paths over numpy code and counts the builds.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator

from hub_tools.linters.astroid_state import cache_clears_reported_to

# The brain modules that build a template at every inference, each through its module-level
# ``extract_node``.
_TEMPLATE_BRAINS = ("astroid.brain.brain_numpy_ndarray", "astroid.brain.brain_numpy_utils")


@functools.cache
def _template_brains() -> tuple:
    """The modules of :data:`_TEMPLATE_BRAINS` this astroid has, each with its ``extract_node``."""
    brains = []
    for name in _TEMPLATE_BRAINS:
        try:
            brain = importlib.import_module(name)
        except ImportError:  # an astroid without it: nothing to keep
            continue
        if callable(getattr(brain, "extract_node", None)):
            brains.append(brain)
    return tuple(brains)


@contextlib.contextmanager
def templates_built_once_per_call() -> Iterator[None]:
    """Within the block, the numpy brain builds each of its templates once."""
    from astroid.context import _invalidate_cache

    # (template, module name) -> (the node the brain got, whether building it cleared the inference cache)
    built: dict[tuple[str, str], tuple[object, bool]] = {}
    clears = [0]

    def count_clear() -> None:
        clears[0] += 1

    def keeping(extract_node):
        def extract_node_once(code: str, module_name: str = ""):
            key = (code, module_name)
            if key in built:
                node, cleared = built[key]
                if cleared:
                    _invalidate_cache()
                return node
            before = clears[0]
            node = extract_node(code, module_name)
            built[key] = (node, clears[0] > before)
            return node

        return extract_node_once

    originals = [(brain, brain.extract_node) for brain in _template_brains()]
    for brain, extract_node in originals:
        brain.extract_node = keeping(extract_node)
    try:
        with cache_clears_reported_to(count_clear):
            yield
    finally:
        for brain, extract_node in originals:
            brain.extract_node = extract_node
        built.clear()
