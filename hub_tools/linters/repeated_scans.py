"""The subtree scans pylint repeats on the levels of an ``if``/``elif`` chain are made once per lint call.

``NodeNG.nodes_of_class(klass, skip_klass)`` walks a node's subtree for the nodes of some classes. For a name
assigned in the branches of an ``if``/``elif`` chain and used after it, the variables checker decides
whether the use is certain (E0601/E0606) by walking the chain once per assignment, and at every level of
the chain scans the rest of it for ``break`` statements and named expressions: cubic in the length of the
chain. With 100 branches one analysis took more than 10 s here (pylint's own command line: 12.5 s), so
every file holding such a chain (a dispatcher, a parser, a table of cases) was skipped as ``lint_timeout``.

While pylint checks a program, :func:`scans_kept_for_the_call` keeps what each scan asked of an ``if`` node
(for some arguments) has found, and gives it again, in the same order, to the next caller. The scan itself
stays lazy: a caller that stops at the first node found (``any(...)``) makes it walk no further, and the
next caller that wants more continues the same walk. astroid's scan recurses through each child's
``nodes_of_class``, so the scan of one level of a chain keeps the answers of the levels inside it too, and
they share their walks. This is exact: a scan depends only on the subtree, and nothing changes the children
of a node while the checkers walk the tree (astroid builds and transforms a module before any checker
runs; inference makes new nodes, never new children of existing ones). All of it is dropped when the call
ends. Scans of other nodes are astroid's own: keeping those of scopes too (the variables checker scans a
function or module for assignments once per name it looks up) gave no measurable gain on whole modules
and cost about 2% on the benchmark corpora, where ``if`` nodes alone cost nothing measurable.

``tests/linters/test_repeated_scans.py`` compares the linter with and without kept scans on real code and
on the shapes that repeat scans, and counts the scans of a 40-branch chain both ways.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class _KeptScan:
    """What a scan has found so far, and the rest of its walk (``None`` once the walk has ended)."""

    __slots__ = ("found", "node", "rest")

    def __init__(self, node, rest: Iterator):
        self.node, self.found, self.rest = node, [], rest  # the node kept: its id stays its own


def _replay(scan: _KeptScan, kept: dict, key: tuple) -> Iterator:
    found = scan.found
    index = 0
    while True:
        if index < len(found):
            yield found[index]
            index += 1
            continue
        if scan.rest is None:
            return
        try:
            following = next(scan.rest, None)
        except BaseException:  # cut (the call's clock): the next caller starts a new walk
            kept.pop(key, None)
            raise
        if following is None:
            scan.rest = None
            return
        found.append(following)


@contextlib.contextmanager
def scans_kept_for_the_call() -> Iterator[None]:
    """Within the block, ``nodes_of_class`` asked of an ``if`` answers a repeated scan from the first one."""
    from astroid.nodes import If, NodeNG

    scan = NodeNG.__dict__["nodes_of_class"]
    kept: dict[tuple, _KeptScan] = {}  # (id of the node, klass, skip_klass) -> what its scan found

    def nodes_of_class(self, klass, skip_klass=None):
        try:
            key = (id(self), klass, skip_klass)
            known = kept.get(key)
        except TypeError:  # classes given in a list: not a key
            return scan(self, klass, skip_klass)
        if known is None:
            known = kept[key] = _KeptScan(self, scan(self, klass, skip_klass))
        return _replay(known, kept, key)

    If.nodes_of_class = nodes_of_class  # other nodes keep NodeNG's: their walks cost what they did
    try:
        yield
    finally:
        del If.nodes_of_class  # NodeNG's again
        kept.clear()
