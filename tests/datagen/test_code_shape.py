"""The shape of code (``hub_tools.datagen.code_shape``): type hints set aside exactly, numbers by value.

The oracle for :func:`without_type_hints` is the syntax tree: blanking the hints out of the text must give the
tree that taking them out of the tree gives, on real typed code nobody here wrote (HumanEval's prompts, whole
files of the installed packages), and on the shapes of code where positions are easy to get wrong.
"""

import ast

import pytest

from hub_tools.datagen.code_shape import number_value, renaming_invariant_tokens, without_type_hints

_HINT_MODULES = ("typing", "typing_extensions", "__future__")


class _TakeHintsOut(ast.NodeTransformer):
    """What :func:`without_type_hints` must amount to, done on the tree."""

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.returns = None
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_arg(self, node):
        node.annotation = None
        return node

    def visit_AnnAssign(self, node):
        if node.value is None:
            return None
        return ast.Assign(targets=[node.target], value=node.value)

    def visit_ImportFrom(self, node):
        return None if node.module in _HINT_MODULES and not node.level else node


def _same_tree_as_taking_hints_out(program: str) -> bool:
    expected = _TakeHintsOut().visit(ast.parse(program))
    try:
        return ast.dump(ast.parse(without_type_hints(program))) == ast.dump(expected)
    except SyntaxError:  # a block held nothing but hints (`if TYPE_CHECKING: from typing import ...`)
        return any(getattr(node, "body", None) == [] for node in ast.walk(expected))


ODD_PROGRAMS = {
    "non-ASCII names and hints (columns are UTF-8 bytes)":
        "def größe(maß: 'Größe', *, ñ: dict[str, 'Ü'] = {'é': 1}) -> 'Größe':\n    wert: 'Ä' = maß\n    return wert\n",
    "hints over several lines, with comments": (
        "def f(\n    a: Dict[  # keys: names\n        str,\n        int,  # -> counts\n    ],\n"
        "    b: 'x: int' = ':',\n) -> Tuple[\n    int, str  # a comment\n]:\n    return a, b\n"),
    "every kind of argument": "def f(a: int, /, b: 'B' = 2, *args: int, c: str, d=1, **kw: 'K') -> None:\n    pass\n",
    "methods, nested and async functions, a decorator": (
        "class A:\n    x: int = 0\n    y: str\n    z = 1\n\n    @property\n    def p(self) -> int:\n"
        "        async def inner(q: int) -> list[int]:\n            r: int\n            return [q]\n"
        "        return self.x\n"),
    "hints in every kind of block": (
        "try:\n    v: int = 1\nexcept ValueError:\n    w: int = 2\nelse:\n    u: int = 3\nfinally:\n    t: int = 4\n"
        "for i in range(2):\n    s: int = i\nelse:\n    s2: int = 0\nwhile False:\n    s3: int = 0\n"
        "with open('f') as handle:\n    s4: int = 0\nif v:\n    s5: int = 0\nelif w:\n    s6: int = 0\n"
        "match v:\n    case 1:\n        s7: int = 0\n    case _:\n        def g(k: int) -> int:\n            return k\n"),
    "targets that are not names": "self.x: int = 0\n(y): int = 1\nz[0]: int = 2\nt.u: 'T'\n",
    "a return hint in parentheses, and arrows in strings": "def f(a='->', b=':') -> (int):\n    return '->'\n",
    "typing imports, and one that stays": (
        "from __future__ import annotations\nfrom typing import (\n    List,\n    Dict,\n)\n"
        "import typing\nfrom .typing import local\nfrom collections.abc import Iterable\nx: List[int] = []\n"),
    "CRLF and a bare CR line ending": "def f(a: int) -> int:\r\n    b: int = a\r    return b\r\n",
    "a line continuation before the hint": "def f(a: \\\n      int) -> \\\n        int:\n    return a\n",
    "lambdas have no hints to take": "f = lambda a, b=1: a + b\ndef g(h: int = (lambda: 1)()) -> int:\n    return h\n",
}


@pytest.mark.parametrize("name", sorted(ODD_PROGRAMS))
def test_odd_programs_lose_exactly_their_hints(name):
    program = ODD_PROGRAMS[name]
    assert without_type_hints(program) != program
    assert _same_tree_as_taking_hints_out(program), without_type_hints(program)


def test_typed_real_code_loses_exactly_its_hints(humaneval_corpus):
    """Every HumanEval program and a sample of whole files of the installed packages (typed code of every
    style: huggingface_hub, datasets, pydantic...)."""
    import sysconfig
    from pathlib import Path

    files = []
    for path in sorted(Path(sysconfig.get_paths()["purelib"]).rglob("*.py"))[::60]:
        try:
            text = path.read_text(encoding="utf-8")
            ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        if "->" in text:
            files.append(text)
    assert len(files) > 100
    wrong = [program[:80] for program in humaneval_corpus + files if not _same_tree_as_taking_hints_out(program)]
    assert wrong == []
    # Nothing to take out: the text itself comes back, not a copy (no second tokenisation of it).
    plain = "def f(a, b=1):\n    return a + b\n"
    assert without_type_hints(plain) is plain


def test_code_that_does_not_parse_comes_back_unchanged():
    for broken in ("def f(a: int) -> int\n    return a", "x: int = = 1", "def f(a: int):\n\treturn a\n        a\n",
                   "(" * 300 + ")" * 300, "s = '\ud800'"):
        assert without_type_hints(broken) is broken


def test_an_annotation_alone_in_a_block_leaves_the_tokens_of_an_empty_block():
    # The blanked text no longer parses (an empty class body); its tokens are what the tree without the
    # hint would give, and that is all the comparison reads.
    program = "class Point:\n    x: int\n    y: int\n"
    assert renaming_invariant_tokens(without_type_hints(program)) == ["class", "#0", ":"]


def test_hints_added_or_respelled_do_not_change_the_shape():
    plain = "def f(items, limit=3):\n    out = []\n    for item in items[:limit]:\n        out.append(item)\n    return out\n"
    typed = ("from typing import List, Optional\n\ndef f(items: List[int], limit: Optional[int] = 3) -> List[int]:\n"
             "    out: List[int] = []\n    for item in items[:limit]:\n        out.append(item)\n    return out\n")
    modern = ("def f(items: list[int], limit: int | None = 3) -> list[int]:\n    out: list[int] = []\n"
              "    for item in items[:limit]:\n        out.append(item)\n    return out\n")
    shapes = {tuple(renaming_invariant_tokens(without_type_hints(text))) for text in (plain, typed, modern)}
    assert len(shapes) == 1
    # As written they differ: the hints are tokens of the program there.
    assert renaming_invariant_tokens(typed) != renaming_invariant_tokens(plain)


def test_numbers_are_compared_by_value():
    assert [number_value(text) for text in ("10", "0xA", "0o12", "0b1010", "1_0")] == ["10"] * 5
    assert number_value("1.") == number_value("1.0") == number_value("10e-1") == "1.0"
    assert renaming_invariant_tokens("y = x ** (1. / 3)") == renaming_invariant_tokens("b = a ** (1.0 / 3)")
    assert renaming_invariant_tokens("y = x * .5") == renaming_invariant_tokens("y = x * 0.5")
    # A number is no name: 1e5 is one token, not 1 and a name e5.
    assert renaming_invariant_tokens("x = 1e5") == ["#0", "=", "100000.0"]
    assert renaming_invariant_tokens("x = 2") != renaming_invariant_tokens("x = 3")
    # An int too long to write in decimal stays as written; the attribute after a number is still one.
    assert number_value("9" * 5000) in ("9" * 5000, "inf")
    assert renaming_invariant_tokens("n = 1 .real") == ["#0", "=", "1", ".", "real"]


# A builtin's name that the program binds is the program's own there: renamed like any other name.
SHADOWING = {
    "parameters": ("def f(list, *input, sum=0, **dict):\n    return list + input + sum + dict\n",
                   "def f(a, *b, c=0, **d):\n    return a + b + c + d\n"),
    "a parameter over lines, with hints": ("def f(\n    x: int,\n    list: List[int],\n) -> int:\n    return list[x]\n",
                                           "def f(\n    x: int,\n    a: List[int],\n) -> int:\n    return a[x]\n"),
    "assignment targets": ("max = 0\nmin, sum = 1, 2\n(id) = 3\nmax += min * sum * id\n",
                           "a = 0\nb, c = 1, 2\n(d) = 3\na += b * c * d\n"),
    "loop, comprehension and walrus targets": ("for _ in range(3):\n    print([hash for hash in _ if (len := hash)])\n",
                                               "for i in range(3):\n    print([h for h in i if (n := h)])\n"),
    "function, class, import and exception names": (
        "import numpy as map\nfrom x import y as zip\nclass type:\n    pass\ndef filter():\n    try:\n"
        "        return map, zip, type, filter\n    except E as ValueError:\n        return ValueError\n",
        "import numpy as a\nfrom x import y as b\nclass c:\n    pass\ndef d():\n    try:\n"
        "        return a, b, c, d\n    except E as e:\n        return e\n"),
    "with, lambda, global and match captures": (
        "def f(x):\n    global open\n    with g() as open:\n        k = lambda iter: iter + open\n"
        "    match x:\n        case [bin, *oct]:\n            return bin, oct, k\n",
        "def f(x):\n    global a\n    with g() as a:\n        k = lambda b: b + a\n"
        "    match x:\n        case [c, *d]:\n            return c, d, k\n"),
    "code that does not parse": ("def f(list):\n    return list +\n", "def f(a):\n    return a +\n"),
}


@pytest.mark.parametrize("name", sorted(SHADOWING))
def test_a_builtin_name_the_program_binds_is_renamed_like_any_other(name):
    shadowing, plain = SHADOWING[name]
    assert renaming_invariant_tokens(shadowing) == renaming_invariant_tokens(plain)


def test_a_builtin_name_stays_where_it_is_the_builtin():
    # Where nothing binds it, a builtin is what the program calls: other builtin, other program.
    assert renaming_invariant_tokens("def f(x):\n    return len(x)") != renaming_invariant_tokens("def f(x):\n    return size(x)")
    # Bound in one function, the builtin in the next; calls in a hint, `except` and keyword arguments are uses.
    tokens = renaming_invariant_tokens("def f(list):\n    return list\ndef g(x):\n    return list(x)")
    assert tokens.count("list") == 1 and tokens[-2:] == ["list", "#4"]
    tokens = renaming_invariant_tokens("def f(x: int, y=list) -> str:\n    return isinstance(x, int)\n")
    assert [token for token in tokens if not token.startswith("#")] == [
        "def", ":", "int", "=", "list", "-", ">", "str", ":", "return", "isinstance", "int"]
    tokens = renaming_invariant_tokens("try:\n    f(key=len, type=int)\nexcept KeyError:\n    pass\n")
    assert {"len", "type", "int", "KeyError"} <= set(tokens)
    # A class body's names are not seen from its methods: `id` in the method is the builtin.
    tokens = renaming_invariant_tokens("class A:\n    id = 1\n    def f(self):\n        return id(self)\n")
    assert tokens.count("id") == 1 and tokens[-2:] == ["id", "#4"]
    # Soft keywords are names where a program binds them, keywords where it uses them.
    assert renaming_invariant_tokens("match = re.match(p, s)\nmatch x:\n    case 1:\n        pass\n")[:1] == ["#0"]


def _lexemes(text):
    """Every lexeme the lexer finds: kind, place and text (a string's or comment's words)."""
    from hub_tools.datagen.code_shape import _CODE_LEXEME

    return [(match.lastgroup, match.start(), match.group().replace('"', " ").replace("'", " "))
            for match in _CODE_LEXEME.finditer(text)]


def test_quotes_that_close_nothing_are_blanked_without_changing_a_lexeme(stdlib_modules_by_name):
    """A row of JSON-escaped quotes (``\\n\\"`` repeated) made the lexer scan to the end of the line from each
    quote: 120 KB cost 84 s, quadratic. Blanking the quotes that can close no string finds the same lexemes,
    on random texts of quotes, backslashes and line ends, and on real code."""
    import random

    from hub_tools.datagen.code_shape import blank_unclosable_quotes

    pieces = ["a", '"', "'", "\\", "\n", "#", " ", "1", '"""', "'''", ".", "("]
    draw = random.Random(2026)
    texts = ["".join(draw.choice(pieces) for _ in range(draw.randint(1, 30))) for _ in range(30_000)]
    texts += list(stdlib_modules_by_name.values())
    for text in texts:
        blanked = blank_unclosable_quotes(text)
        assert len(blanked) == len(text) and _lexemes(blanked) == _lexemes(text), repr(text)
    # What the blanking is for: a quote is left only where a string can close (a closing quote makes the whole
    # line one string, read in one pass).
    escaped = 'say "hi" then ' + '\\n\\"' * 30_000
    assert blank_unclosable_quotes(escaped).count('"') == 2
    assert blank_unclosable_quotes(escaped + '"').count('"') == 30_003
