"""Hash lookups kept for the length of a lint call change no answer, and take the repeated work away: the linter
with and without them agrees on every state it is asked about, on real code and on the shapes they are for."""

import pytest
from pylint.checkers import typecheck

from hub_tools.linters import LintTimeout, PylintLinter


def data_table(entries: int) -> str:
    """A module-level table of records, each a dict with constant keys, and a function reading it."""
    rows = "".join(f"    'key_{i}': {{'id': {i}, 'w': {i / 7:.4f}, 'tags': ('t{i}',), 'off': None}},\n"
                   for i in range(entries))
    return (f"import math\n\nTABLE = {{\n{rows}}}\n\n\ndef weight(key):\n    entry = TABLE.get(key)\n"
            "    if entry is None:\n        return math.nan\n    return entry['w'] * TABLE[key]['id']\n")


# Every kind of constant as a dict key, a set member and a subscript, next to members that are not hashable
# (E1143, the counted message these lookups decide) and programs that change what __hash__ is.
SHAPES = [
    data_table(30),
    "D = {'a': 1, b'b': 2, 3: 3, 4.5: 4, 6j: 5, True: 6, None: 7, ...: 8}\nprint(D['a'], D[None], D[3])\n",
    "S = {'a', b'b', 3, 4.5, 6j, False, None, ...}\nprint({[1, 2]}, {{}: 1}, S)\n",
    "cache = {}\ncache[[1]] = 2\nprint(cache[{'k': 1}], cache['k'], {'a': 1}[set()])\n",
    "class Key:\n    __hash__ = None\n\nprint({Key(): 1, 'k': 2}, {Key()})\n",
    "class Key:\n    def __hash__(self):\n        return 1\n\nprint({Key(): 1, 'k': 2, 3: Key()})\n",
    "str.__hash__ = None\nprint({'a': 1, 'b': 2}, {'c'})\n",
    "x = 'text'\nx.__hash__ = None\nprint({'a': 1, x: 2})\nprint({[]: 1})\n",
    "import builtins\nbuiltins.str = list\nstr.__hash__ = None\nprint({'a': 1, str(): 2}, {'b'}[0])\n",
    "import collections\nprint({collections.OrderedDict(): 1, 'a': collections.deque()})\nprint({'a', 1, [2]})\n",
    "import decimal, fractions\nprint({decimal.Decimal(1): 'a', fractions.Fraction(1, 2): 'b', 'c': 'd'})\n",
]


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_kept_hash_lookups_change_no_answer(profile, real_code, answered_states, differences_without):
    states, answers = answered_states(profile, real_code, SHAPES)
    assert len(states) > 700
    assert sum(bool(answer) for answer in answers) > 200  # states with errors: the checks had work to do
    unhashable = [text for text, answer in zip(states, answers, strict=True)
                  if any(error.code == "E1143" for error in answer)]
    assert len(unhashable) >= 5  # the message these lookups decide was found
    assert differences_without(profile, states, answers, "hash_lookups_kept_for_the_call") == []


def _hash_lookups(calls_counted, linter: PylintLinter, text: str) -> tuple[list, int]:
    """(the answer, how many times astroid looked up ``__hash__`` on a class) for one lint call."""
    from astroid.nodes import ClassDef

    return calls_counted(linter, text, ClassDef.igetattr.__code__, lambda frame: frame.f_locals.get("name") == "__hash__")


def test_a_data_table_looks_up_hash_once_per_type_not_once_per_key(without_kept, calls_counted):
    # 200 records of 4 keys: 1,000 constant keys (about 1,000 lookups without, a handful with).
    program = data_table(200)
    linter = PylintLinter("portable", timeout=None)
    linter.lint("x = 1\n")  # start-up outside the count
    answer, kept = _hash_lookups(calls_counted, linter, program)
    with without_kept("hash_lookups_kept_for_the_call"):
        plain = PylintLinter("portable", timeout=None)
        plain.lint("x = 1\n")
        expected, repeated = _hash_lookups(calls_counted, plain, program)
    assert answer == expected == []
    assert repeated >= 1000 and kept <= 10, (repeated, kept)


def test_pylint_gets_its_check_back_after_every_call_even_one_cut_by_the_clock():
    original = typecheck.is_hashable
    PylintLinter("portable", timeout=None).lint(data_table(5))  # a call that ends (no limit: a loaded machine is slow)
    linter = PylintLinter("portable", timeout=0.05)
    assert typecheck.is_hashable is original
    with pytest.raises(LintTimeout):
        # A table, then inference through a long chain of calls on every line: slow for any linter.
        linter.lint(data_table(50) + "".join(f"def f{i}(a):\n    return f{i - 1}(a) + a.x + {{'k': a}}['k']\n"
                                             for i in range(1, 400)) + "print(f399(1))\n")
    assert typecheck.is_hashable is original
