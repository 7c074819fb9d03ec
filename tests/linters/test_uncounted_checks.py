"""The work left out for uncounted messages changes no answer: the linter with and without it agrees on every
state it is asked about, on real code and on texts made to reach the skipped checks."""

import ast
import inspect
import textwrap

import pylint
import pytest

from hub_tools.linters import PylintLinter
from hub_tools.linters.uncounted_checks import (
    HELPER_CALLS_ON_LINTER,
    HELPER_WRITES,
    READ_IN,
    UNCOUNTED_HELPERS,
    may_hold_unicode_problems,
)

LOOP_VARIABLE_AFTER_ITS_LOOP = "def f(xs):\n    for x in xs:\n        pass\n    return x\n"
# Texts that reach what is skipped: the unicode checker's findings, loop variables used after their loop
# (undefined-loop-variable), several statements on a line (the format checker's visit_default).
CRAFTED = [
    "x = 'abc\u202edef'\nprint(x)",                          # a bidirectional-text control: E2502
    "value\u200b = 1\nprint(value\u200b)",                    # a zero-width space: E2515 (and a syntax error)
    "s = 'a\u200bb'\nprint(s)",                              # a zero-width space in a string: E2515
    "# -*- coding: latin-1 -*-\nx = 1\nprint(x)",            # a codec other than UTF-8: C2503, not counted
    "s = 'tab\there'\n\x0cprint(s)",                         # plain: tabs and a form feed
    "s = 'escape \x1b[0m'\nprint(s)",                        # an escape character: E2513
    "s = 'back\x08space'\nprint(s)",                         # a backspace: E2510
    "s = 'sub\x1a'\nprint(s)",                               # a substitute character: E2512
    "s = 'caf\u00e9'\nprint(s)",                             # plain Unicode: nothing to report
    LOOP_VARIABLE_AFTER_ITS_LOOP,                                        # W0631, not counted
    "def g(xs):\n    for x in xs:\n        y = x\n    return y + z\n",      # W0631 next to E0602
    "import os; import sys\nprint(os.sep, sys.argv); x = 1; print(x)",   # C0321, not counted
    "if True: y = 1\nelse: y = 2\nprint(y); print(undefined_name)",       # C0321 next to E0602
    # The format checker's per-line work: a final semicolon, trailing whitespace, a long line, parentheses
    # after a keyword, mixed line endings, no final newline; next to bad indentation (W0311) and E0602.
    "x = 1;\nprint(x)   \nif (x):\n   print('" + "a" * 120 + "')\r\nprint(undefined_name)",
    "def f(n):\n    if (n):\n        return n  \n    else:\n      return -n\nprint(f(1));",
    # What the other listed helpers look for: a mutable default, an unused argument, a constant test, protected
    # access, an unused private member, open() without an encoding, a raise without from, a return in
    # finally, an import alias and an import inside a function, unreachable code; next to E0602 and E1101.
    "import os as os\nimport subprocess\nclass A:\n    def __init__(self, items=[]):\n        self._items = items\n"
    "    def __unused(self):\n        return 1\n    def read(self, path, unused):\n        import sys\n"
    "        while True:\n            try:\n                return open(path).read()\n            except OSError:\n"
    "                raise ValueError(path)\n            finally:\n                return sys.argv\n"
    "        print('never')\na = A()\nprint(a._items, a.missing, subprocess.run(['ls']), undefined_name)\n",
]


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_skipping_changes_no_answer_on_real_code(profile, humaneval_corpus, stdlib_corpus, stdlib_modules, states_seen):
    programs = humaneval_corpus[:40] + stdlib_corpus[:40] + [text for _, text in stdlib_modules[:4]] + CRAFTED
    fast = PylintLinter(profile, timeout=None)
    states = states_seen(programs, fast) + CRAFTED
    assert len(states) > 800
    full = PylintLinter(profile, timeout=None, skip_uncounted=False)
    differences = [(text, fast.lint(text), expected) for text in states if fast.lint(text) != (expected := full.lint(text))]
    assert differences == []


def test_the_crafted_texts_reach_what_is_skipped():
    """Without these findings the comparison above would not exercise the skipped checks."""
    full = PylintLinter(timeout=None, skip_uncounted=False)
    codes = {code for text in CRAFTED for code in (error.code for error in full.lint(text))}
    assert {"E2502", "E2510", "E2512", "E2513", "E2515", "E0602", "W0311"} <= codes
    # ...and they are found whether the checks of uncounted messages run or not.
    fast = PylintLinter(timeout=None)
    assert all(fast.lint(text) == full.lint(text) for text in CRAFTED)


def test_a_text_called_plain_gives_the_unicode_checker_nothing(stdlib_corpus):
    from pylint.checkers.unicode import UnicodeChecker

    unicode_messages = set(UnicodeChecker.msgs)
    full = PylintLinter(timeout=None, skip_uncounted=False)
    plain = [text for text in CRAFTED + stdlib_corpus[:60] if not may_hold_unicode_problems(text)]
    assert len(plain) > 40
    assert [text for text in plain if {error.code for error in full.lint(text)} & unicode_messages] == []
    # Every text the checker has something to say about is one that keeps it.
    found = [text for text in CRAFTED if {error.code for error in full.lint(text)} & unicode_messages]
    assert len(found) >= 5 and all(may_hold_unicode_problems(text) for text in found)


def _on_self(node) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _root(node) -> ast.AST:
    """``self`` for ``self.linter.config.x``, ``values`` for ``values[0].attr``, ``f`` for ``f().x``."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _own_nodes(method: ast.FunctionDef):
    """The nodes of ``method`` outside the functions and lambdas it defines."""
    todo = list(ast.iter_child_nodes(method))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))


_MUTATORS = {"append", "add", "update", "pop", "remove", "extend", "insert", "clear", "setdefault", "discard",
             "popitem", "sort", "reverse"}


def _followed(methods: dict[str, ast.FunctionDef], start: str) -> dict[str, set]:
    """What ``start`` does, following its calls to methods of its own class to the end: the methods reached,
    the message ids it adds, the checker attributes it writes, its other calls on ``self``, and what breaks
    the helper rule (a change to an argument or a global, a ``raise``, ``global``/``nonlocal``)."""
    found = {name: set() for name in ("reached", "messages", "writes", "calls", "broken")}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in found["reached"]:
            continue
        found["reached"].add(name)
        method = methods[name]
        local = {node.id for node in ast.walk(method) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        arguments = {argument.arg for argument in ast.walk(method.args) if isinstance(argument, ast.arg)}
        for node in ast.walk(method):
            if isinstance(node, ast.Call) and _on_self(node.func) and node.func.attr == "add_message":
                first = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == "msgid")
                found["messages"].add(ast.literal_eval(first) if isinstance(first, ast.Constant) else "<computed>")
            elif isinstance(node, ast.Call) and _on_self(node.func) and node.func.attr in methods:
                todo.append(node.func.attr)
            elif isinstance(node, ast.Call) and isinstance(_root(node.func), ast.Name) and _root(node.func).id == "self":
                found["calls"].add(ast.unparse(node.func))
            targets = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                targets = [node.func.value]
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = [getattr(node, "target", None)] if not isinstance(node, ast.Assign) else node.targets
            for target in targets:
                if not isinstance(target, (ast.Attribute, ast.Subscript)):
                    continue
                attribute = target
                while isinstance(attribute, (ast.Attribute, ast.Subscript)) and not _on_self(attribute):
                    attribute = attribute.value
                root = _root(target)
                if _on_self(attribute):
                    found["writes"].add(attribute.attr)
                elif isinstance(root, ast.Name) and (root.id in arguments or root.id not in local):
                    found["broken"].add(f"{name}: changes {ast.unparse(target)}")
            if isinstance(node, (ast.Raise, ast.Global, ast.Nonlocal)):
                found["broken"].add(f"{name}: {ast.unparse(node)}")
    if any(isinstance(node, ast.Return) and node.value is not None for node in _own_nodes(methods[start])):
        found["broken"].add(f"{start} returns a value")
    return found


def _checker_classes() -> dict[str, type]:
    linter = PylintLinter(timeout=None)
    linter.lint("x = 1")
    return {type(checker).__name__: type(checker) for checker in linter._pylinter.get_checkers()}


def test_the_listed_helpers_of_the_installed_pylint_emit_only_their_messages_and_write_only_what_is_listed():
    """The table was read against pylint's code; this reads the installed version's code again."""
    version = ".".join(pylint.__version__.split(".")[:2])
    if version not in READ_IN:
        pytest.skip(f"pylint {pylint.__version__}: the helpers are not skipped on a version not read")
    classes = _checker_classes()
    for (class_name, method), messages in UNCOUNTED_HELPERS.items():
        source = textwrap.dedent(inspect.getsource(classes[class_name]))
        body = next(node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)).body
        methods = {node.name: node for node in body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        found = _followed(methods, method)
        assert found["messages"] and found["messages"] <= set(messages), (method, found["messages"])
        assert found["calls"] <= set(HELPER_CALLS_ON_LINTER), (method, found["calls"])
        assert found["broken"] == set(), (method, found["broken"])
        listed = HELPER_WRITES.get((class_name, method), {})
        assert found["writes"] == set(listed), (method, found["writes"])
        for attribute, readers in listed.items():
            # Who else reads it (setting it afresh is no read): only the listed callbacks, each of which goes
            # with a listed message.
            reading = {name for name, node in methods.items() if name not in found["reached"]
                       for part in ast.walk(node) if _on_self(part) and part.attr == attribute
                       and isinstance(part.ctx, ast.Load)}
            assert reading <= set(readers), (method, attribute, reading)
            for reader in readers:
                reader_messages = _followed(methods, reader)["messages"]
                assert reader_messages and reader_messages <= set(messages), (reader, reader_messages)


def test_what_is_skipped_under_each_profile():
    linter = PylintLinter(timeout=None)
    linter.lint("x = 1")
    walker = linter._check.keywords["walker"]
    assert not any(callback.__name__ == "visit_default" for callbacks in walker.visit_events.values()
                   for callback in callbacks)
    variables = next(checker for checker in linter._pylinter.get_checkers() if type(checker).__name__ == "VariablesChecker")
    assert variables._check_unused_arguments.__name__ == "_skipped"
    # Kept: its lookup's depth decides where pylint crashes on a deep expression (test_recursion_depth).
    assert variables._loopvar_name.__name__ == "_loopvar_name"
    formats = next(checker for checker in linter._pylinter.get_checkers() if type(checker).__name__ == "FormatChecker")
    assert {formats.new_line.__name__, formats._check_keyword_parentheses.__name__,
            formats._check_line_ending.__name__} == {"_skipped"}
    assert len(linter._check_plain.keywords["rawcheckers"]) == len(linter._check.keywords["rawcheckers"]) - 1
    # A linter that counts a message keeps the work for it.
    from hub_tools.linters import LintProfile

    counting = LintProfile("with-w0631", ("E", "W0631"), (), False, (), "test")
    linter = PylintLinter(counting, timeout=None)
    assert [error.code for error in linter.lint(LOOP_VARIABLE_AFTER_ITS_LOOP)] == ["W0631"]
