"""The lint-clean guarantee on programs shaped the way scraped code is: every intermediate state of their paths
passes a fresh ``pylint`` command line.

Old Mac line endings, a form feed inside a block, tabs mixed with spaces, type comments, ``match`` and the
walrus, an ``__all__`` naming what is not there, forty nested blocks, one-line compound statements, unicode
names, nested f-strings, ``async`` comprehensions: each sampled with three seeds.

Scraped programs also carry errors of their own (a helper never defined, a module used without its import, a
block indented by three spaces, calls with the wrong arguments, a subclass ``__init__`` that skips its base's,
a function defined twice, a missing method called): their paths write the error with the first edit, and every
state before it is clean all the same. Their pylint pragmas (``skip-file``, ``disable=all``, a line's
``disable=undefined-variable``) hide nothing: the fresh pylint reads them and obeys none, as the linter does.
"""

from __future__ import annotations

from hub_tools.linters import PylintLinter
from hub_tools.lintseq import sample_edit_path

MESSY = {
    "cr_only": "def f(x):\r    y = x + 1\r    return y\r\rprint(f(2))\r",
    "form_feed": "def f(x):\n    y = x\n\x0c\n    return y\n\nprint(f(1))\n",
    "tabs_mixed": "def f(x):\n\tif x:\n\t    return 1\n\treturn 2\n\nprint(f(0))\n",
    "type_comments": "from typing import List\n\ndef f(a):\n    # type: (int) -> List[int]\n    b = [a]  # type: List[int]\n"
                     "    return b\n\nprint(f(1))\n",
    "match_walrus": "def f(v):\n    match v:\n        case [x, y]:\n            return x + y\n        case {'k': z}:\n"
                    "            return z\n        case _:\n            if (n := len(str(v))) > 2:\n                return n\n"
                    "    return None\n\nprint(f([1, 2]))\n",
    "dunder_all": "__all__ = ['f', 'g']\n\ndef f():\n    return 1\n\ndef h():\n    return f()\n",
    "nested": "x = 1\n" + "".join("    " * i + "if x:\n" for i in range(40)) + "    " * 40 + "print(x)\n",
    "one_liners": "import os; import sys\nx = 1; y = 2\nif x: print(x); print(y)\nfor i in range(3): print(i)\n"
                  "print(os.sep, sys.argv)\n",
    "unicode_names": "def grüße(名前):\n    π = 3.14\n    return f'{名前} {π}'\n\nprint(grüße('x'))\n",
    "nested_fstrings": "name = 'x'\nwidth = 10\nprint(f\"{name!r:>{width}} {'{'}{name}{'}'}\")\n"
                       "print(f'''multi\n{name}\nline''')\n",
    "async": "import asyncio\n\nasync def agen():\n    yield 1\n\nasync def main():\n    await asyncio.sleep(0)\n"
             "    async for item in agen():\n        print(item)\n    return [x async for x in agen()]\n\n"
             "asyncio.run(main())\n",
    "class_super": "class A:\n    def __init__(self):\n        self.x = 1\n\nclass B(A):\n    def __init__(self):\n"
                   "        super().__init__()\n        self.y = self.x + 1\n\nprint(B().y)\n",
    "pragmas_on_top": "# pylint: skip-file\n# pylint: disable=all\nimport os\n\n\ndef join(*parts):\n"
                      "    return os.path.join(*parts)  # pylint: disable=no-value-for-parameter\n\n"
                      "print(join('a', 'b'), missing_name)  # pylint: disable=undefined-variable\n",
    "own_errors_functions": "import re\nimport json\n\ndef words(text):\n    found = re.findall(r'\\w+', text)\n"
                            "    cleaned = normalise_all(found)\n    return cleaned\n\ndef count(text):\n"
                            "    return len(words(text))\n\ndef dump(value):\n    text = json.dumps(value)\n"
                            "    return text.upper()\n\nprint(count('a b'), os.sep)\nprint(dump([1, 2]))\n",
    "own_errors_indent": "def total(values):\n   result = 0\n   for value in values:\n       result += value\n"
                         "   return result\n\ndef mean(values):\n    size = len(values)\n    if not size:\n"
                         "        return 0.0\n    return sum(values) / size\n\nprint(total([1, 2]))\n"
                         "print(total([1], 2))\nprint(mean([1, 2, 3]))\n",
    "own_errors_classes": "import math\n\nclass Base:\n    def __init__(self):\n        self.size = 1\n\n"
                          "class Child(Base):\n    def __init__(self, extra):\n        self.extra = extra\n\n"
                          "    def grow(self):\n        return self.size + self.extra\n\n    def grow(self):\n"
                          "        return 2\n\n    def area(self):\n        return math.pi * self.extra ** 2\n\n"
                          "item = Child(3)\nprint(item.grow(), item.shrink())\nprint(item.area())\n",
}

# What real modules are made of, each shape a program of its own: global and nonlocal, del in finally, star
# imports, TYPE_CHECKING imports and overloads, properties and slots, dataclasses and enums, class patterns,
# decorators, generators and the walrus, metaclasses and __init_subclass__, async context managers, exec and
# eval, a class body with branches, lambdas with defaults, super() in classmethods, streams over io's bases.
LANGUAGE_SHAPES = {
    "globals": "COUNT = 0\n\ndef bump():\n    global COUNT\n    COUNT += 1\n    return COUNT\n\n"
               "def outer():\n    total = 0\n    def inner():\n        nonlocal total\n"
               "        total += 1\n        return total\n    inner()\n    return total\n\n"
               "print(bump(), outer())\n",
    "del_try": "def f(items):\n    data = list(items)\n    try:\n        first = data[0]\n"
               "    except IndexError:\n        return None\n    finally:\n        del data\n"
               "    return first\n\nprint(f([1]))\n",
    "star_import": "from os.path import *\nfrom math import *\n\nprint(join('a', 'b'), sqrt(4), exists('/'))\n",
    "type_checking": "from __future__ import annotations\nfrom typing import TYPE_CHECKING, overload\n"
                     "if TYPE_CHECKING:\n    from collections.abc import Sequence\n\n@overload\n"
                     "def first(x: int) -> int: ...\n@overload\ndef first(x: str) -> str: ...\ndef first(x):\n"
                     "    return x\n\ndef head(items: Sequence[int]) -> int:\n    return items[0]\n\n"
                     "print(first(1), head([1]))\n",
    "properties": "class Box:\n    __slots__ = ('_w',)\n\n    def __init__(self, w):\n        self._w = w\n\n"
                  "    @property\n    def width(self):\n        return self._w\n\n    @width.setter\n"
                  "    def width(self, value):\n        self._w = value\n\n    @classmethod\n"
                  "    def unit(cls):\n        return cls(1)\n\nb = Box.unit()\nb.width = 3\nprint(b.width)\n",
    "dataclass_enum": "import enum\nfrom dataclasses import dataclass, field\n\nclass Color(enum.Enum):\n"
                      "    RED = 1\n    GREEN = 2\n\n@dataclass\nclass Point:\n    x: int = 0\n"
                      "    tags: list = field(default_factory=list)\n\n    def moved(self, dx):\n"
                      "        return Point(self.x + dx, list(self.tags))\n\n"
                      "print(Point().moved(2), Color.RED.name, Color(2))\n",
    "match_class": "from dataclasses import dataclass\n\n@dataclass\nclass Move:\n    dx: int\n    dy: int\n\n"
                   "def describe(event):\n    match event:\n        case Move(dx=0, dy=0):\n"
                   "            return 'still'\n        case Move(dx=dx, dy=0):\n"
                   "            return f'horizontal {dx}'\n        case [Move() as m, *rest]:\n"
                   "            return f'{m} and {len(rest)}'\n        case _:\n            return 'other'\n\n"
                   "print(describe(Move(1, 0)), describe([Move(0, 0)]))\n",
    "decorators": "import functools\nimport time\n\ndef timed(fn):\n    @functools.wraps(fn)\n"
                  "    def wrapper(*args, **kwargs):\n        start = time.perf_counter()\n        try:\n"
                  "            return fn(*args, **kwargs)\n        finally:\n"
                  "            print(fn.__name__, time.perf_counter() - start)\n    return wrapper\n\n"
                  "@timed\ndef work(n, *, scale=2):\n    return [i * scale for i in range(n)]\n\n"
                  "print(work(3, scale=3))\n",
    "generators": "def chunks(seq, size):\n    for start in range(0, len(seq), size):\n"
                  "        yield seq[start:start + size]\n\ndef flat(nested):\n    for part in nested:\n"
                  "        yield from part\n\nsquares = {n: n * n for n in range(5) if (m := n % 2) == 0}\n"
                  "print(list(flat(chunks([1, 2, 3, 4, 5], 2))), squares, [y for x in range(3) if (y := x * 2)])\n",
    "metaclass": "class Registry(type):\n    classes = {}\n\n    def __new__(mcs, name, bases, namespace):\n"
                 "        cls = super().__new__(mcs, name, bases, namespace)\n"
                 "        mcs.classes[name] = cls\n        return cls\n\nclass Base(metaclass=Registry):\n"
                 "    def __init_subclass__(cls, **kwargs):\n        super().__init_subclass__(**kwargs)\n"
                 "        cls.tag = cls.__name__.lower()\n\nclass Child(Base):\n    pass\n\n"
                 "print(Registry.classes, Child.tag)\n",
    "async_ctx": "import asyncio\nimport contextlib\n\n@contextlib.asynccontextmanager\n"
                 "async def opened(name):\n    print('open', name)\n    try:\n        yield name.upper()\n"
                 "    finally:\n        print('close', name)\n\nasync def main():\n"
                 "    async with opened('x') as handle:\n        await asyncio.sleep(0)\n"
                 "        return handle\n\nprint(asyncio.run(main()))\n",
    "exec_eval": "SOURCE = 'def g(x):\\n    return x + 1\\n'\nspace = {}\nexec(SOURCE, space)\n"
                 "value = eval('g(2)', space)\nprint(value, f'{value=}', f'{value!r:>5}')\n",
    "conditional_class": "import sys\n\nclass Platform:\n    if sys.platform == 'win32':\n        sep = '\\\\'\n"
                         "    else:\n        sep = '/'\n\n    def join(self, *parts):\n"
                         "        return self.sep.join(parts)\n\n    def __repr__(self):\n"
                         "        return f'Platform({self.sep!r})'\n\nprint(Platform().join('a', 'b'), Platform())\n",
    "lambdas": "handlers = [lambda x, k=k: x * k for k in range(3)]\n"
               "ordered = sorted(['bb', 'a', 'ccc'], key=lambda s: (len(s), s))\n"
               "print([h(2) for h in handlers], ordered, (lambda *a, **kw: (a, kw))(1, z=2))\n",
    "super_classmethod": "class A:\n    @classmethod\n    def make(cls, *args):\n        return cls(*args)\n\n"
                         "    def __init__(self, value=0):\n        self.value = value\n\nclass B(A):\n"
                         "    @classmethod\n    def make(cls, *args):\n        obj = super().make(*args)\n"
                         "        obj.value += 1\n        return obj\n\n    def __init__(self, value=0):\n"
                         "        super().__init__(value)\n        self.extra = True\n\nprint(B.make(2).value)\n",
    # Streams over io's bases: a state without a super().__init__() line is W0231 for pylint FILE, and was
    # clean for a linter that an earlier program had made build abc (tests/linters/test_long_runs.py).
    "io_streams": "import io\n\nclass Counter(io.RawIOBase):\n    def __init__(self, target):\n"
                  "        super().__init__()\n        self.target = target\n        self.lines = 0\n\n"
                  "    def writable(self):\n        return True\n\n    def write(self, data):\n"
                  "        self.lines += bytes(data).count(b'\\n')\n        return self.target.write(data)\n\n"
                  "class Upper(io.TextIOBase):\n    def __init__(self, stream):\n        super().__init__()\n"
                  "        self.stream = stream\n\n    def write(self, text):\n"
                  "        return self.stream.write(text.upper())\n\n"
                  "class Buffered(io.BufferedIOBase):\n    def __init__(self, raw):\n        super().__init__()\n"
                  "        self.raw = raw\n\ncounter = Counter(io.BytesIO())\ncounter.write(b'a\\nb\\n')\n"
                  "print(counter.lines, Upper(io.StringIO()).write('x'), Buffered(None).raw)\n",
}


def test_every_intermediate_state_of_messy_programs_passes_a_fresh_pylint(tmp_path, fresh_pylint_flags):
    linter = PylintLinter("portable", timeout=None)
    files = []
    for name, program in {**MESSY, **LANGUAGE_SHAPES}.items():
        for seed in range(3):
            states = sample_edit_path(program, linter, seed=seed).states
            for step, state in enumerate(states[1:-1]):  # the last state is the program itself
                files.append(tmp_path / f"{name}_seed{seed}_state{step}.py")
                files[-1].write_text(state)
    flagged = fresh_pylint_flags(files, tmp_path)
    assert len(files) > 40 and not flagged, flagged[:5]
