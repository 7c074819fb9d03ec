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


def test_every_intermediate_state_of_messy_programs_passes_a_fresh_pylint(tmp_path, fresh_pylint_flags):
    linter = PylintLinter("portable", timeout=None)
    files = []
    for name, program in MESSY.items():
        for seed in range(3):
            states = sample_edit_path(program, linter, seed=seed).states
            for step, state in enumerate(states[1:-1]):  # the last state is the program itself
                files.append(tmp_path / f"{name}_seed{seed}_state{step}.py")
                files[-1].write_text(state)
    flagged = fresh_pylint_flags(files, tmp_path)
    assert len(files) > 40 and not flagged, flagged[:5]
