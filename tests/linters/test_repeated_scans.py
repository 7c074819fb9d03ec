"""Scans kept for the length of a lint call change no answer, and take the repeated work away: the linter with
and without them agrees on every state it is asked about, on real code and on the shapes they are for."""


import pytest
from astroid.nodes import NodeNG

from hub_tools.linters import LintTimeout, PylintLinter


def elif_chain(branches: int) -> str:
    """A name assigned in every branch of an if/elif chain, used after it (possibly used before assignment)."""
    return ("def pick(x):\n    if x == 0:\n        y = 0\n"
            + "".join(f"    elif x == {i}:\n        y = {i}\n" for i in range(1, branches))
            + "    return y\n")


# The shapes whose checks scan subtrees again and again: a name defined under if/elif/else, try/except,
# match and with, a break or a named expression in the branches, imports and globals in a scope, names of
# enclosing scopes. Each is next to a counted message (E0602, E0601, E0606) so the checks have work to do.
SHAPES = [
    elif_chain(40),
    "for k in range(3):\n    if k == 0:\n        y = 0\n    elif k == 1:\n        break\n    elif k == 2:\n"
    "        y = 2\n    print(y)\nprint(undefined_name)\n",
    "def f(read):\n    if (y := read()) > 1:\n        z = 1\n    elif (w := read()):\n        z = w\n    else:\n"
    "        return None\n    return y, z, w\n",
    "import random\ntry:\n    v = random.random()\nexcept ValueError:\n    raise\nexcept TypeError:\n"
    "    v = 0\nelse:\n    u = v\nfinally:\n    print('done')\nprint(u, v)\n",
    "def g(c):\n    match c:\n        case 1:\n            r = 'one'\n        case [x, *_]:\n            r = x\n"
    "        case _:\n            pass\n    return r\n",
    "import sys\nif sys.argv:\n    import json as codec\nelif sys.path:\n    codec = None\nprint(codec, later)\n"
    "later = 1\n",
    "def outer():\n    def inner():\n        global counter\n        import os\n        counter = os.sep\n"
    "        return total + counter\n    total = 1\n    return inner\nprint(outer()(), counter)\n",
    "with open('f') as handle:\n    if handle.readable():\n        data = handle.read()\n    else:\n"
    "        data = None\nprint(data, missing)\n",
    "class A:\n    def m(self, flag):\n        while flag:\n            if flag > 1:\n                out = 1\n"
    "                continue\n            elif flag:\n                out = 2\n            break\n        return out\n",
]


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_kept_scans_change_no_answer(profile, real_code, answered_states, differences_without):
    states, answers = answered_states(profile, real_code, SHAPES)
    assert len(states) > 800
    assert sum(bool(answer) for answer in answers) > 200  # states with errors: the checks had work to do
    assert differences_without(profile, states, answers, "scans_kept_for_the_call") == []


def test_an_if_elif_chain_is_scanned_once_not_once_per_branch(without_kept, calls_counted):
    # 40 branches: about 680,000 scans without, about 1,100 with (100 branches passed the 10 s limit).
    program = elif_chain(40)
    linter = PylintLinter("portable", timeout=None)
    linter.lint("x = 1\n")  # start-up outside the count
    scan = NodeNG.__dict__["nodes_of_class"].__code__  # every subtree scan, nested ones included
    answer, kept = calls_counted(linter, program, scan)
    assert [error.code for error in answer] == ["E0606"]
    with without_kept("scans_kept_for_the_call"):
        plain = PylintLinter("portable", timeout=None)
        plain.lint("x = 1\n")
        expected, repeated = calls_counted(plain, program, scan)
    assert answer == expected
    assert repeated > 50 * kept, (repeated, kept)


def _astroid_scans() -> list:
    from astroid import nodes

    return [vars(node_class).get("nodes_of_class") for node_class in vars(nodes).values()
            if isinstance(node_class, type) and issubclass(node_class, nodes.NodeNG)]


def test_astroid_gets_its_scan_back_after_every_call_even_one_cut_by_the_clock():
    original = NodeNG.__dict__["nodes_of_class"]
    assert _astroid_scans().count(original) == 1 and _astroid_scans().count(None) > 50
    linter = PylintLinter("portable", timeout=0.05)
    linter.lint(elif_chain(5))
    with pytest.raises(LintTimeout):
        # Slow for any linter: inference through a long chain of calls on every line.
        linter.lint("".join(f"def f{i}(a):\n    return f{i - 1}(a) + a.x\n" for i in range(1, 400)) + "print(f399(1))\n")
    assert _astroid_scans().count(original) == 1 and set(_astroid_scans()) == {original, None}
    assert PylintLinter("portable", timeout=None).lint(elif_chain(5)) == PylintLinter("portable", timeout=None).lint(
        elif_chain(5))
