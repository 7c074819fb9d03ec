"""The lint-clean guarantee on programs shaped the way scraped code is: every intermediate state of their paths
passes a fresh ``pylint`` command line.

Old Mac line endings, a form feed inside a block, tabs mixed with spaces, type comments, ``match`` and the
walrus, an ``__all__`` naming what is not there, forty nested blocks, one-line compound statements, unicode
names, nested f-strings, ``async`` comprehensions: each sampled with three seeds.
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
