"""The shape of a program: what is left of its code when names, strings and type hints are set aside.

Decontamination (:mod:`hub_tools.datagen.decontamination`) compares a row's program with each benchmark
problem's code a second time on these tokens, to find copies that a rewrite has changed in ways that keep
the program the same: its function, arguments and variables renamed, its docstring dropped or reworded,
its numbers spelled another way (``1.`` for ``1.0``, ``1_000`` for ``1000``), its type hints added or taken
away (HumanEval's prompts carry them, a rewrite often drops them, and a model writing for Python 3.9+ says
``list[int]`` where the prompt said ``List[int]``).

- :func:`renaming_invariant_tokens`: each name becomes the distance back to its previous occurrence
  (``#0`` for a first one), so a consistent renaming changes none of the tokens while the data flow they
  encode keeps boilerplate apart far better than one placeholder per name would. Keywords, builtins and
  attribute names (``.append``) stay as they are: changing them changes what the program does. A builtin's
  name that the program binds itself (a parameter ``list``, ``for _ in``) is its own name in the scope that
  binds it, renamed like any other (:func:`own_name_spans`, which reads the syntax tree). A number
  becomes its value. String literals and comments are dropped, and so are parentheses, commas,
  semicolons and backslashes (formatters add and remove them).
- :func:`without_type_hints`: the program with the annotations of arguments, return values and variables
  blanked out, and its imports from ``typing`` (and ``__future__``) too. It works on the syntax tree, so
  only code that parses loses its hints; the positions the tree gives are used to blank the text itself,
  which keeps this a fraction of the cost of rewriting the program from its tree (``ast.unparse``).

Pure functions of text, no I/O.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re

from hub_tools.datagen.disguises import comparable_text, parsed

# A name's token is the distance back to its previous occurrence, this far at most.
_NAME_DISTANCE_CAP = 64
_FIXED_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
# A string literal (any prefix and quotes) or a comment, matched whole so that a "#" inside a string starts
# no comment (decontamination's lexer of names kept begins the same way).
STRING_OR_COMMENT = r"""
    (?P<string>[rRbBuUfF]{0,2}(?:
        \"\"\"(?:\\.|[^\\])*?\"\"\" | '''(?:\\.|[^\\])*?''' | "(?:\\.|[^"\\\n])*" | '(?:\\.|[^'\\\n])*'))
  | (?P<comment>\#[^\n]*)
"""
# The lexer tries a string at every quote it meets and, at a quote that closes nothing, scans to the end of the
# line before it gives up: 120 KB of JSON-escaped quotes (``\n\"`` repeated, common in scraped rows) took 84 s,
# growing with the square of the length. On a line, the quotes after its last one that can close a string
# (one preceded by an even number of backslashes) close nothing; :func:`blank_unclosable_quotes` turns them
# into spaces (the same length: offsets stay). A quote is no token and a space none either, and inside another
# string or a comment both are text, so the tokens are the same. Matched on the line read backwards.
_LAST_CLOSING_QUOTE = {quote: re.compile(quote + r"(?:\\\\)*(?!\\)") for quote in "\"'"}


def blank_unclosable_quotes(text: str) -> str:
    r"""``text`` with the quotes that can close no string replaced by spaces; lexing it costs linear time.

    >>> blank_unclosable_quotes('x = "a" + \\"b\\" + \\"')
    'x = "a" + \\ b\\  + \\ '
    """
    if "\\" not in text:  # then every quote can close a string
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if "\\" not in line:
            continue
        for quote in "\"'":
            if quote in line:
                found = _LAST_CLOSING_QUOTE[quote].search(line[::-1])
                tail = len(line) - found.start() if found else 0
                line = line[:tail] + line[tail:].replace(quote, " ")
        lines[number] = line
    return "\n".join(lines)


# Then names, numbers (every spelling Python accepts) and punctuation. Quotes, parentheses, commas,
# semicolons and backslashes are no tokens.
_CODE_LEXEME = re.compile(STRING_OR_COMMENT + r"""
  | (?P<name>[^\W\d]\w*)
  | (?P<number>0[xXoObB][\w]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d[\d_]*)?[jJ]?)
  | (?P<mark>[^\s\w'"`(),;\\])
""", re.VERBOSE)
# Modules whose imports serve type hints only.
_HINT_MODULES = frozenset({"typing", "typing_extensions", "__future__"})


def number_value(literal: str) -> str:
    """A number literal as its value, so every spelling of one number gives one token.

    >>> [number_value(text) for text in ("1.", "1.0", "1_000", "0x3e8", "1e3", ".5", "2j")]
    ['1.0', '1.0', '1000', '1000', '1000.0', '0.5', '2j']
    """
    try:
        if literal[-1] in "jJ":
            return repr(complex(literal))
        try:
            return str(int(literal, 0))
        except ValueError:
            return repr(float(literal))
    except ValueError:  # an int too long to write in decimal (Python's limit of 4,300 digits)
        return literal


# Builtins and soft keywords: the fixed names a program can bind itself (`def f(list):`, `for _ in ...`).
_REBINDABLE = _FIXED_NAMES - frozenset(keyword.kwlist)  # hard keywords are never bound
# Where a program may bind a name, read off the text around it: a first look that finds every usual binding
# and some uses more (`x, len` at the end of a line), so that only a program that may bind a builtin's name is
# parsed (most bind none, and parsing and walking the tree cost twice the tokens).
_BINDING_KEYWORDS = frozenset({"def", "class", "as", "for", "import", "global", "nonlocal", "del", "lambda"})
_HARD_KEYWORDS = frozenset(keyword.kwlist)
_AFTER_TARGET = re.compile(r"[ \t]*(?:(:=)|(?://|\*\*|>>|<<|[-+*/%&|^@])?=(?!=)|[,):]|in\b)")
_DEF_BEFORE = re.compile(r"\bdef[ \t]+\w+$")
_OPEN_FOR = re.compile(r"\bfor\b(?:(?!\bin\b).)*$")  # a `for` whose `in` is still to come
_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_SCOPES = _DEFINITIONS | {ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
# Nodes with no name inside: not walked into.
_LEAVES = frozenset({ast.Constant, ast.Load, ast.Store, ast.Del, *ast.operator.__subclasses__(),
                     *ast.unaryop.__subclasses__(), *ast.cmpop.__subclasses__(), *ast.boolop.__subclasses__()})


def _may_bind(text: str, start: int, end: int, previous: str) -> bool:
    """Whether the name at ``text[start:end]`` (after the token ``previous``) may be one the program binds: after
    ``def``, ``for``, ``as``..., before an assignment, a parameter, a loop target, a name in a ``case`` pattern;
    not a hint (``x: int``, ``-> int``), not an argument of a call (``isinstance(x, int)``)."""
    if previous in _BINDING_KEYWORDS:
        return True
    after = _AFTER_TARGET.match(text, end)
    if after is not None and after.group(1):  # `(n := ...)`, at any depth
        return True
    before = text[text.rfind("\n", 0, start) + 1:start].rstrip()
    if before.lstrip().startswith("case "):
        return True
    if after is None or (before and previous in _HARD_KEYWORDS):  # `except KeyError:`, `is object:`: used
        return False
    if _OPEN_FOR.search(before):  # `for a, b in`, in a statement or a comprehension
        return True
    if before.endswith((":", "->", "[", "|", "=")):  # a hint, an item, a default value or a value
        return False
    depth = 0
    for index in range(len(before) - 1, -1, -1):  # the bracket around the name on its line, if any
        if before[index] in ")]}":
            depth += 1
        elif before[index] in "([{":
            if depth == 0:  # a parameter of a `def` on this line, or a target list `(a, b) = ...`
                if before[index] == "{" or before[-1] not in "(,*":
                    return False
                head = before[:index].rstrip()
                return not head or head.endswith((",", "=")) or (
                    before[index] == "(" and _DEF_BEFORE.search(head) is not None)
            depth -= 1
    return True  # at the top of its line: an assignment, a target list, or a line of a signature


# The nodes other than variables, functions and classes that bind names, and the names they bind: an argument,
# an import (`import a.b` binds a), a `global` or `nonlocal` statement, an exception handler's `as` name, a
# match pattern's capture (`case [x, *rest]`, `case {**rest}`), a type parameter (Python 3.12).
_BINDERS = {
    ast.arg: lambda node: (node.arg,),
    ast.alias: lambda node: ((node.asname or node.name).split(".")[0],),
    ast.Global: lambda node: node.names,
    ast.Nonlocal: lambda node: node.names,
    ast.ExceptHandler: lambda node: (node.name,),
    ast.MatchAs: lambda node: (node.name,),
    ast.MatchStar: lambda node: (node.name,),
    ast.MatchMapping: lambda node: (node.rest,),
    **{getattr(ast, kind): (lambda node: (node.name,)) for kind in ("TypeVar", "ParamSpec", "TypeVarTuple")
       if hasattr(ast, kind)},
}


def _char_offsets(text: str):
    """A function from the syntax tree's (line, UTF-8 byte column) to the offset in ``text``."""
    starts = [0] + [match.end() for match in re.finditer(r"\r\n|\r|\n", text)]  # bytes.splitlines() lines
    if text.isascii():
        return lambda line, column: starts[min(line, len(starts)) - 1] + column

    def offset(line: int, column: int) -> int:
        start = starts[min(line, len(starts)) - 1]
        head = text[start:start + column].encode("utf-8", "surrogatepass")[:column]
        return start + len(head.decode("utf-8", "ignore"))
    return offset


def own_name_spans(text: str, candidates: set[str] | frozenset[str] = _REBINDABLE) -> dict[str, list[tuple[int, int]]]:
    """For each of ``candidates`` (builtin names and soft keywords) that the program ``text`` binds (as a
    parameter, an assignment or loop target, a function's or class's name, an import, an exception's or a
    pattern's name): the spans of ``text`` where the name is the program's own, as Python resolves it. A name
    bound in a function is its own in the whole function, the functions inside included; bound in a class body,
    in that body only. Elsewhere (``len(x)`` where nothing binds ``len``) it is the builtin. In a program that
    does not parse, each candidate is its own everywhere.

    >>> own_name_spans("def f(list):\\n    return list\\ndef g(x):\\n    return list(x)")
    {'list': [(0, 28)]}
    >>> own_name_spans("def f(x):\\n    return len(x)")
    {}
    """
    tree = parsed(text)
    if tree is None:
        return {name: [(0, len(text))] for name in sorted(candidates)}
    offset = _char_offsets(text)
    # Each scope: its span, the span its nested scopes hide from a class body, the candidates it binds,
    # whether it is a class, its parent scope.
    scopes: list[list] = [[(0, len(text)), (0, len(text)), set(), False, -1]]
    stack = [(tree, 0)]
    while stack:  # every node once, with its scope (by hand: ast.iter_child_nodes is twice as slow)
        node, scope = stack.pop()
        for field in node._fields:
            value = getattr(node, field, None)
            for child in value if value.__class__ is list else (value,):
                kind = child.__class__
                if kind is ast.Name:  # the commonest node, and a leaf
                    if child.id in candidates and child.ctx.__class__ is not ast.Load:
                        scopes[scope][2].add(child.id)
                    continue
                if kind in _LEAVES or not isinstance(child, ast.AST):
                    continue
                inner = scope
                if kind in _SCOPES:
                    if kind in _DEFINITIONS:
                        if child.name in candidates:
                            scopes[scope][2].add(child.name)
                        hidden_from = offset(child.body[0].lineno, child.body[0].col_offset)  # the header is the class's
                    else:
                        hidden_from = offset(child.lineno, child.col_offset)
                    end = offset(child.end_lineno, child.end_col_offset)
                    inner = len(scopes)
                    scopes.append([(offset(child.lineno, child.col_offset), end), (hidden_from, end), set(),
                                   kind is ast.ClassDef, scope])
                elif kind in _BINDERS:
                    for name in _BINDERS[kind](child):
                        if name in candidates:
                            scopes[0 if kind is ast.Global else scope][2].add(name)
                stack.append((child, inner))
    own: dict[str, list[tuple[int, int]]] = {}
    for number, (span, _, names, is_class, _) in enumerate(scopes):
        if not names:
            continue
        pieces = [span]
        if is_class:  # a class body's names are not seen from the functions and classes inside it
            pieces, start = [], span[0]
            for low, high in sorted(scope[1] for scope in scopes if scope[4] == number):
                pieces.append((start, low))
                start = max(start, high)
            pieces.append((start, span[1]))
        for name in sorted(names):
            own.setdefault(name, []).extend(pieces)
    return own


def renaming_invariant_tokens(code: str) -> list[str]:
    """The tokens a program is compared on under other names: each name becomes the distance back to its
    previous occurrence (``#0`` for a first one), so a consistent renaming changes none of them. A builtin
    name stays as it is where it is the builtin, and is renamed like any other where the program binds it
    (``def f(list):``: :func:`own_name_spans`).

    >>> renaming_invariant_tokens("def add(a, b):\\n    return a + b")
    ['def', '#0', '#0', '#0', ':', 'return', '#4', '+', '#5']
    >>> renaming_invariant_tokens("def plus(x, y):  # renamed\\n    'Sum.'\\n    return x + y")
    ['def', '#0', '#0', '#0', ':', 'return', '#4', '+', '#5']
    >>> renaming_invariant_tokens("x = y ** (1. / 3)") == renaming_invariant_tokens("z = w ** (1.0 / 3)")
    True
    >>> renaming_invariant_tokens("def f(list):\\n    return len(list)")
    ['def', '#0', '#0', ':', 'return', 'len', '#4']
    """
    tokens: list[str] = []
    last_seen: dict[str, int] = {}
    fixed: list[tuple[int, int, str]] = []  # (token number, offset, name) of each builtin name and soft keyword
    candidates: set[str] = set()  # those the program may bind: then the syntax tree says where it does
    after_dot = False
    text = comparable_text(code)
    for match in _CODE_LEXEME.finditer(blank_unclosable_quotes(text)):
        kind = match.lastgroup
        if kind in ("string", "comment"):
            continue
        token = match.group()
        if kind == "number":
            token = number_value(token)
        elif kind == "name" and not after_dot:
            if token not in _FIXED_NAMES:
                position = len(tokens)
                previous = last_seen.get(token)
                last_seen[token] = position
                token = "#0" if previous is None else f"#{min(position - previous, _NAME_DISTANCE_CAP)}"
            elif token in _REBINDABLE:
                fixed.append((len(tokens), match.start(), token))
                if token not in candidates and _may_bind(text, match.start(), match.end(), tokens[-1] if tokens else ""):
                    candidates.add(token)
        after_dot = token == "."
        tokens.append(token)
    own = own_name_spans(text, candidates) if candidates else {}
    if own:  # the program's own: renamed as the names above (the distance back to the name's last own use)
        last_seen.clear()
        for position, start, name in fixed:
            if name in own and any(low <= start < high for low, high in own[name]):
                previous = last_seen.get(name)
                last_seen[name] = position
                tokens[position] = "#0" if previous is None else f"#{min(position - previous, _NAME_DISTANCE_CAP)}"
    return tokens


def _statements(body: list[ast.stmt]):
    """Every statement of ``body`` and of the blocks inside it (not the expressions: hints sit on statements)."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        yield statement
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in reversed(getattr(statement, name, ())):
                if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    stack += reversed(child.body)
                else:
                    stack.append(child)


def _hint_spans(tree: ast.Module, offset) -> list[tuple[int, int]]:
    """Byte spans of the text that are type hints: ``: int`` of an argument, ``-> int`` of a function,
    ``: int`` of an assignment (all of ``x: int`` without a value), and imports from :data:`_HINT_MODULES`."""
    spans = []
    for statement in _statements(tree.body):
        start = offset(statement.lineno, statement.col_offset)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = statement.args
            for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                             arguments.vararg, arguments.kwarg):
                if argument is not None and argument.annotation is not None:
                    spans.append((offset(argument.lineno, argument.col_offset), argument.annotation, b":"))
            if statement.returns is not None:
                last = max((offset(node.end_lineno, node.end_col_offset) for node in ast.walk(arguments)
                            if hasattr(node, "end_col_offset")), default=start)
                spans.append((last, statement.returns, b"->"))
        elif isinstance(statement, ast.AnnAssign):
            if statement.value is None:
                spans.append((start, offset(statement.end_lineno, statement.end_col_offset)))
            else:
                spans.append((offset(statement.target.end_lineno, statement.target.end_col_offset),
                              statement.annotation, b":"))
        elif isinstance(statement, ast.ImportFrom) and statement.module in _HINT_MODULES and not statement.level:
            spans.append((start, offset(statement.end_lineno, statement.end_col_offset)))
    return spans


def without_type_hints(code: str) -> str:
    """``code`` with its type hints and imports from ``typing`` blanked out; ``code`` itself when it holds none
    or does not parse.

    >>> code = "from typing import List\\ndef f(xs: List[int], *, k: int = 2) -> int:\\n    return k"
    >>> " ".join(without_type_hints(code).split())
    'def f(xs , *, k = 2) : return k'
    """
    tree = parsed(code)
    if tree is None:
        return code
    data = bytearray(code.encode("utf-8", "surrogatepass"))
    line_starts = [0]
    for line in bytes(data).splitlines(keepends=True):  # the tree counts lines as bytes.splitlines() does
        line_starts.append(line_starts[-1] + len(line))

    def offset(line: int, column: int) -> int:  # the tree's columns are UTF-8 byte offsets
        return line_starts[line - 1] + column

    blanked = False
    for span in _hint_spans(tree, offset):
        if len(span) == 3:  # from the marker (":" or "->") before the annotation to the annotation's end
            lower, annotation, marker = span
            begin = offset(annotation.lineno, annotation.col_offset)
            end = offset(annotation.end_lineno, annotation.end_col_offset)
            start = data.rfind(marker, lower, begin)
            # Only layout and comments lie between the marker and the annotation: a marker in a comment there
            # (`a:  # like: this` then the annotation on the next line) is not the one.
            while start > lower and b"#" in data[max(data.rfind(b"\n", lower, start), lower):start]:
                start = data.rfind(marker, lower, data.rfind(b"#", lower, start))
            start = lower if start < 0 else start
            for _ in range(data.count(b"(", start, begin)):  # the tree leaves out the parentheses of `-> (int)`
                end = data.find(b")", end) + 1 or end
        else:
            start, end = span
        # Everything goes, line breaks too: a comment inside the span goes with it, and brackets that held the
        # lines of an annotation together are gone.
        data[start:end] = b" " * (end - start)
        blanked = True
    return data.decode("utf-8", "surrogatepass") if blanked else code
