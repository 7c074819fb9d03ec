"""Checks for messages a profile does not count: the kept-alive linter does not run them.

pylint already leaves out a checker whose messages are all disabled, and a ``visit_``/``leave_`` method
whose declared messages (``only_required_for_messages``) are all disabled. Three kinds of work escape
that rule; on short programs they were about a quarter of each analysis, on whole modules about a tenth:

- ``visit_default`` methods. The walker adds them for every node class without looking at their
  declared messages (its rule is written for ``visit_<node>`` methods). The format checker's one is
  declared for ``multiple-statements`` (C0321) alone and runs on every node. Here pylint's own rule is
  applied to it: :func:`drop_uncounted_callbacks`.
- Helpers called by a method that is needed for a counted message, for messages that are not. Examples:
  - the variables checker's ``leave_functiondef`` runs for every function (it also checks metaclasses, for
    counted messages) and calls ``_check_unused_arguments``, which emits only unused-argument (W0613);
  - the format checker reads every token for bad-indentation (W0311), and on every line also checks its
    length, trailing whitespace, a final semicolon and the final newline (``new_line``), the parentheses
    after every keyword and the line endings: about a tenth of each call on short programs;
  - the class checker looks for unused private members and protected access, the stdlib checker for
    ``open`` without an encoding, the basic checker for constant tests and dangerous defaults, each an
    inference or a walk of its own.

  Such a helper is listed in :data:`UNCOUNTED_HELPERS` with the messages it is the only source of, after
  reading its code in every pylint minor version of :data:`READ_IN`, together with every method of its
  class it calls, to the end. Together they:
  - call nothing on the checker but ``add_message`` with those messages and each other, and on the linter
    only what :data:`HELPER_CALLS_ON_LINTER` lists;
  - write on the checker only what :data:`HELPER_WRITES` lists, which nothing else reads but callbacks
    that go with the listed messages (``new_line`` keeps the text of each line for ``visit_default``, the
    check of multiple-statements, which is listed with it);
  - change none of their arguments, raise nothing themselves, and the helper returns nothing: its caller
    goes on the same without it.

  On a version not read, nothing is skipped (the linter is only slower); a test checks the listed helpers
  of the installed version again.
- The unicode checker, a raw checker that reads every byte of the program for bidirectional-text
  controls (E2502), forbidden control characters (E2510-E2515) and a codec other than UTF-8 (E2501).
  None of them can be found in a text made only of printable ASCII, tabs, line feeds and form feeds with
  no ``coding`` declaration in its first two lines (where Python reads one), so such a text, nearly every
  program, is checked without it: :func:`may_hold_unicode_problems`.

What is skipped can only emit messages the profile ignores, or provably none. One indirect effect remains
possible, and it is pylint's own: astroid keeps every inference result for the rest of the call, and a
query that exhausts its budget (100 inferred nodes) keeps a cut result, so which checks ran earlier can,
in principle, change what a later check finds. Some skipped helpers infer (``_check_missing_timeout``
infers every called function); so does every checker a pylint command line runs with other messages
enabled. ``tests/linters/test_uncounted_checks.py`` compares the linter with and without these skips on
every state of edit paths over real modules and texts made to reach them; ad hoc, on 5,645 states of 230
random installed files and the states of the benchmark corpora, no answer differed, and
``benchmarks/lint_clean_audit.py`` checks every emitted state with a fresh pylint command line.
"""

from __future__ import annotations

import re

# Helpers run for messages the profile may not count: (checker class, method) -> the messages it alone emits,
# and those of the callbacks that read what it writes. It is skipped when all of them are disabled.
UNCOUNTED_HELPERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("BasicChecker", "_check_dangerous_default"): ("dangerous-default-value",),
    ("BasicChecker", "_check_not_in_finally"): ("lost-exception",),
    ("BasicChecker", "_check_redeclared_assign_name"): ("redeclared-assigned-name",),
    ("BasicChecker", "_check_self_assigning_variable"): ("self-assigning-variable",),
    ("BasicChecker", "_check_unreachable"): ("unreachable",),
    ("BasicChecker", "_check_using_constant_test"): ("missing-parentheses-for-call-in-test", "using-constant-test"),
    ("BasicErrorChecker", "_check_else_on_loop"): ("useless-else-on-loop",),
    ("ClassChecker", "_check_invalid_overridden_method"): ("invalid-overridden-method", "overridden-final-method"),
    ("ClassChecker", "_check_property_with_parameters"): ("property-with-parameters",),
    ("ClassChecker", "_check_protected_attribute_access"): ("protected-access",),
    ("ClassChecker", "_check_redefined_slots"): ("redefined-slots-in-subclass",),
    ("ClassChecker", "_check_super_without_brackets"): ("super-without-brackets",),
    ("ClassChecker", "_check_typing_final"): ("subclassed-final-class",),
    ("ClassChecker", "_check_unused_private_attributes"): ("unused-private-member",),
    ("ClassChecker", "_check_unused_private_functions"): ("unused-private-member",),
    ("ClassChecker", "_check_unused_private_variables"): ("unused-private-member",),
    ("ExceptionsChecker", "_check_raise_missing_from"): ("raise-missing-from",),
    ("FormatChecker", "_check_keyword_parentheses"): ("superfluous-parens",),
    ("FormatChecker", "_check_line_ending"): ("mixed-line-endings", "unexpected-line-ending-format"),
    ("FormatChecker", "new_line"): ("unnecessary-semicolon", "missing-final-newline", "trailing-whitespace",
                                    "line-too-long", "multiple-statements"),
    ("ImportsChecker", "_check_import_as_rename"): ("consider-using-from-import", "useless-import-alias"),
    ("ImportsChecker", "_check_misplaced_future"): ("misplaced-future",),
    ("ImportsChecker", "_check_preferred_module"): ("preferred-module",),
    ("ImportsChecker", "_check_same_line_imports"): ("reimported",),
    ("ImportsChecker", "_check_toplevel"): ("import-outside-toplevel",),
    ("ImportsChecker", "_check_wildcard_imports"): ("wildcard-import",),
    ("MethodArgsChecker", "_check_missing_timeout"): ("missing-timeout",),
    ("StdlibChecker", "_check_bad_thread_instantiation"): ("bad-thread-instantiation",),
    ("StdlibChecker", "_check_datetime"): ("boolean-datetime",),
    ("StdlibChecker", "_check_for_check_kw_in_run"): ("subprocess-run-check",),
    ("StdlibChecker", "_check_for_preexec_fn_in_popen"): ("subprocess-popen-preexec-fn",),
    ("StdlibChecker", "_check_lru_cache_decorators"): ("method-cache-max-size-none",),
    ("StdlibChecker", "_check_open_call"): ("bad-open-mode", "unspecified-encoding"),
    ("StdlibChecker", "_check_redundant_assert"): ("redundant-unittest-assert",),
    ("StdlibChecker", "_check_shallow_copy_environ"): ("shallow-copy-environ",),
    ("TypeChecker", "_check_argument_order"): ("arguments-out-of-order",),
    ("TypeChecker", "_check_dundername_is_string"): ("non-str-assignment-to-dunder-name",),
    ("VariablesChecker", "_check_globals"): ("unused-variable",),
    ("VariablesChecker", "_check_late_binding_closure"): ("cell-var-from-loop",),
    ("VariablesChecker", "_check_self_cls_assign"): ("self-cls-assignment",),
    ("VariablesChecker", "_check_unused_arguments"): ("unused-argument",),
    # Not ("VariablesChecker", "_loopvar_name"), undefined-loop-variable's: its scope lookup for every name walks
    # up from the name, from the deepest point of the walk, and so decides where pylint runs out of stack on a
    # deep expression. Skipped, a sum of 244 to 488 terms over as many lines passed here and was an F0002 crash
    # for the command line (from 244 terms); with it, both give up from the same term, on every shape tried.
}
# What a listed helper writes on its checker: attribute -> the other methods that read it (each one a callback
# of a message listed with the helper, or nothing).
HELPER_WRITES: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("FormatChecker", "new_line"): {"_lines": ("visit_default",)},
    ("FormatChecker", "_check_line_ending"): {"_last_line_ending": ()},
}
# Calls on the linter a listed helper may make: a read, and the record of a message suppressed by a pragma,
# which feeds only the suppression reports (I0020, I0021) and lives in the per-call file state.
HELPER_CALLS_ON_LINTER = ("self.linter.is_message_enabled", "self.linter.add_ignored_message")
# pylint minor versions whose code the table above was read against.
READ_IN = ("3.2", "3.3", "4.0", "4.1")
# A character outside printable ASCII, tab, line feed and form feed.
_NOT_PLAIN = re.compile(r"[^\t\n\f\x20-\x7e]")


def _skipped(*args, **kwargs) -> None:
    """Stands in for a helper whose messages are not counted."""


def drop_uncounted_callbacks(walker) -> None:
    """Remove the ``visit_default`` callbacks whose declared messages are all disabled.

    The same rule pylint's ``ASTWalker.add_checker`` applies to every other ``visit_``/``leave_`` method.
    """
    for node_class, callbacks in walker.visit_events.items():
        walker.visit_events[node_class] = [
            callback for callback in callbacks
            if getattr(callback, "__name__", "") != "visit_default" or walker._is_method_enabled(callback)]


def skip_uncounted_helpers(pylinter, version: str) -> None:
    """Replace, on this linter's checkers, the listed helpers whose messages are all disabled.

    Args:
        pylinter: a configured ``PyLinter`` with its checkers prepared.
        version: the installed pylint version; nothing is skipped outside :data:`READ_IN`.
    """
    if ".".join(version.split(".")[:2]) not in READ_IN:
        return
    for checker in pylinter.prepare_checkers():
        for (class_name, method), messages in UNCOUNTED_HELPERS.items():
            if type(checker).__name__ != class_name or not callable(getattr(checker, method, None)):
                continue
            if not any(pylinter.is_message_enabled(message) for message in messages):
                setattr(checker, method, _skipped)  # on the instance: other linters keep pylint's method


def may_hold_unicode_problems(program: str) -> bool:
    """Whether the unicode checker could report anything on ``program``.

    >>> may_hold_unicode_problems("def f(x):\\n\\treturn x  # fine\\n")
    False
    >>> may_hold_unicode_problems("s = 'caf\\u00e9'")
    True
    >>> may_hold_unicode_problems("# -*- coding: latin-1 -*-\\nx = 1")
    True
    """
    if _NOT_PLAIN.search(program) is not None:
        return True
    return "coding" in "\n".join(program.split("\n", 2)[:2])
