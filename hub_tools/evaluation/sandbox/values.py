"""Plain data across the sandbox boundary: a tagged JSON encoding that only ever yields built-in values.

Arguments go into a sandboxed program and its answers come back in this form. The decoder is the trusted
side of the boundary: whatever bytes a program writes, it returns only ``None``, ``bool``, ``int``,
``float``, ``complex``, ``str``, ``bytes`` and ``list`` / ``tuple`` / ``set`` / ``frozenset`` / ``dict`` of
those, or raises :class:`ValueError`. No object of the program's making (say, one whose ``__eq__`` always
returns ``True``) can reach the evaluator's assertions.

JSON carries ``None``, booleans, finite floats, text and lists as they are; everything else is an object
``{"t": TAG, "v": ...}``: ``int`` (past 2**53, as decimal text), ``float`` (``nan``, ``inf``, ``-inf``),
``complex``, ``bytes`` (hex), ``tuple``, ``set``, ``frozenset``, ``dict`` (a list of key-value pairs, so
keys keep their types).

This file is also run inside the sandbox (its source is part of the sandboxed process's program), so it
uses the standard library only and no ``from __future__`` import.

Example:
    >>> value = {(1, "a"): [1.5, float("inf"), b"\\x00", {3}], "big": 2**80}
    >>> decode_value(encode_value(value)) == value
    True
"""

import json
import math

MAX_DEPTH = 200
_EXACT_INT = 2**53
_TAGS = ("int", "float", "complex", "bytes", "tuple", "set", "frozenset", "dict")


class UnencodableValue(TypeError):
    """A value that is not plain data (a function, a generator, an instance of a class of the program)."""


def _pack(value, depth):
    if depth > MAX_DEPTH:
        raise UnencodableValue(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_EXACT_INT < value < _EXACT_INT else {"t": "int", "v": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if kind is list:
        return [_pack(item, depth + 1) for item in value]
    if kind in (tuple, set, frozenset):
        return {"t": kind.__name__, "v": [_pack(item, depth + 1) for item in value]}
    if kind is dict:
        return {"t": "dict", "v": [[_pack(key, depth + 1), _pack(item, depth + 1)] for key, item in value.items()]}
    if kind is bytes:
        return {"t": "bytes", "v": value.hex()}
    if kind is complex:
        return {"t": "complex", "v": [_pack(value.real, depth + 1), _pack(value.imag, depth + 1)]}
    raise UnencodableValue(f"a value of type {kind.__name__} is not plain data")


def encode_value(value) -> str:
    """``value`` as tagged JSON text; :class:`UnencodableValue` when it is not plain data (subclasses included)."""
    return json.dumps(_pack(value, 0), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed here (non-finite floats are tagged)")


def _unpack(data, depth):
    if depth > MAX_DEPTH:
        raise ValueError(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(data)
    if data is None or kind in (bool, str, int):
        return data
    if kind is float:
        return data
    if kind is list:
        return [_unpack(item, depth + 1) for item in data]
    if kind is not dict or set(data) != {"t", "v"} or data["t"] not in _TAGS:
        raise ValueError("not a tagged value")
    tag, inner = data["t"], data["v"]
    if tag == "int" and type(inner) is str and len(inner) <= 5000:
        return int(inner)
    if tag == "float" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    if tag == "bytes" and type(inner) is str:
        return bytes.fromhex(inner)
    if type(inner) is not list:
        raise ValueError(f"malformed {tag} value")
    items = [_unpack(item, depth + 1) for item in inner]
    if tag == "complex" and len(items) == 2 and all(type(item) is float or type(item) is int for item in items):
        return complex(items[0], items[1])
    if tag == "tuple":
        return tuple(items)
    if tag in ("set", "frozenset"):
        return (set if tag == "set" else frozenset)(items)  # unhashable members raise TypeError: refused below
    if tag == "dict" and all(type(pair) is list and len(pair) == 2 for pair in items):
        return {key: item for key, item in items}
    raise ValueError(f"malformed {tag} value")


def decode_value(text):
    """The plain value ``text`` encodes; :class:`ValueError` for anything else (never another type)."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
        return _unpack(data, 0)
    except (TypeError, RecursionError, OverflowError) as error:
        raise ValueError(f"not plain data: {error}") from None
