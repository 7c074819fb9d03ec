"""The work left out for uncounted messages changes no answer: the linter with and without it agrees on every
state it is asked about, on real code and on texts made to reach the skipped checks."""

import ast
import inspect
import textwrap

import pylint
import pytest

from hub_tools.linters import PylintLinter
from hub_tools.linters.uncounted_checks import READ_IN, UNCOUNTED_HELPERS, may_hold_unicode_problems
from hub_tools.lintseq import sample_edit_path

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
]


def _states_seen(programs: list[str], linter: PylintLinter) -> list[str]:
    """Every text ``linter`` is asked to lint while sampling one path of each program (error states included)."""
    seen = []
    lint = linter.lint

    def recording(text: str):
        seen.append(text)
        return lint(text)

    linter.lint = recording
    for seed, program in enumerate(programs):
        sample_edit_path(program, linter, seed=seed)
    linter.lint = lint
    return seen


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_skipping_changes_no_answer_on_real_code(profile, humaneval_corpus, stdlib_corpus, stdlib_modules):
    programs = humaneval_corpus[:40] + stdlib_corpus[:40] + [text for _, text in stdlib_modules[:4]] + CRAFTED
    fast = PylintLinter(profile, timeout=None)
    states = _states_seen(programs, fast) + CRAFTED
    assert len(states) > 800
    full = PylintLinter(profile, timeout=None, skip_uncounted=False)
    differences = [(text, fast.lint(text), expected) for text in states if fast.lint(text) != (expected := full.lint(text))]
    assert differences == []


def test_the_crafted_texts_reach_what_is_skipped():
    """Without these findings the comparison above would not exercise the skipped checks."""
    full = PylintLinter(timeout=None, skip_uncounted=False)
    codes = {code for text in CRAFTED for code in (error.code for error in full.lint(text))}
    assert {"E2502", "E2510", "E2512", "E2513", "E2515", "E0602"} <= codes
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


def test_the_listed_helpers_of_the_installed_pylint_emit_only_their_messages_and_write_nothing():
    """The table was read against pylint's code; this reads the installed version's code again."""
    from pylint.checkers import variables

    classes = {"VariablesChecker": variables.VariablesChecker}
    version = ".".join(pylint.__version__.split(".")[:2])
    if version not in READ_IN:
        pytest.skip(f"pylint {pylint.__version__}: the helpers are not skipped on a version not read")
    for (class_name, method), messages in UNCOUNTED_HELPERS.items():
        tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(classes[class_name], method))))
        calls_on_self = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                         and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                         and node.func.value.id == "self"]
        assert calls_on_self and all(call.func.attr == "add_message" for call in calls_on_self)
        assert {ast.literal_eval(call.args[0]) for call in calls_on_self} <= set(messages)
        writes = [node for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                  for target in getattr(node, "targets", [getattr(node, "target", None)])
                  if isinstance(target, (ast.Attribute, ast.Subscript))]
        assert writes == [] and not any(isinstance(node, (ast.Global, ast.Nonlocal)) for node in ast.walk(tree))


def test_what_is_skipped_under_each_profile():
    linter = PylintLinter(timeout=None)
    linter.lint("x = 1")
    walker = linter._check.keywords["walker"]
    assert not any(callback.__name__ == "visit_default" for callbacks in walker.visit_events.values()
                   for callback in callbacks)
    variables = next(checker for checker in linter._pylinter.get_checkers() if type(checker).__name__ == "VariablesChecker")
    assert variables._loopvar_name.__name__ == "_skipped"
    assert len(linter._check_plain.keywords["rawcheckers"]) == len(linter._check.keywords["rawcheckers"]) - 1
    # A linter that counts a message keeps the work for it.
    from hub_tools.linters import LintProfile

    counting = LintProfile("with-w0631", ("E", "W0631"), (), False, (), "test")
    linter = PylintLinter(counting, timeout=None)
    assert [error.code for error in linter.lint(LOOP_VARIABLE_AFTER_ITS_LOOP)] == ["W0631"]
