"""The kept-alive pylint backend gives the same counted messages as the pylint command line."""

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from hub_tools.linters import LintTimeout, PylintLinter, get_profile
from hub_tools.lintseq import sample_edit_path

COUNTED_WARNINGS = {"W0311", "W0231"}


def pylint_command_line(files: list[Path], extra: list[str]) -> dict[str, set[tuple[int, str]]]:
    """Counted (line, code) pairs per file, from one ``pylint`` process, as the paper's check reads them."""
    result = subprocess.run(
        [sys.executable, "-m", "pylint", "--disable=C,R", "--reports=n", "--score=n", "--rcfile=/dev/null",
         "--msg-template={path}|{C}|{msg_id}|{line}|{msg}", *extra, *map(str, files)],
        capture_output=True, text=True,
    )
    found: dict[str, set[tuple[int, str]]] = {str(path): set() for path in files}
    for line in result.stdout.splitlines():
        parts = line.split("|", 4)
        if len(parts) != 5:
            continue
        path, category, code, number, message = parts
        if code == "E0001" and "on line" in message:
            # The paper's rule (pylintseq's file_linter): a syntax error that names a line
            # ("... after 'if' statement on line 2 (file, line 3)") flags the line it names.
            number = message[: message.rfind("(")].rstrip().split(" ")[-1]
        if category in ("E", "F") or code in COUNTED_WARNINGS:
            found[path].add((int(number), code))
    return found


@pytest.fixture(scope="module")
def states(humaneval_corpus, stdlib_corpus, tmp_path_factory):
    """Original programs, lint-clean intermediate states, and broken states (random deletions)."""
    folder = tmp_path_factory.mktemp("states")
    texts = []
    for index, program in enumerate(humaneval_corpus[:25] + stdlib_corpus[:25]):
        texts.append(program)
        texts += sample_edit_path(program, sampler="random", seed=index).states[2:5]
    texts += ["class A:\n    def __init__(self):\n        pass\n\nclass B(A):\n    def __init__(self):\n        self.x = 1",
              "def f():\n   return 1", "x = undefined", "import os\nos.nothing()", "def f(:\n  pass",
              "def f(x):\n    if x:\n    return 0\n\nprint(f(1))", "for i in range(3):\nprint(i)",
              "x = [1,\n     2)\nprint(x)", "class A:\n\ndef g():\n    return 2"]
    files = []
    for index, text in enumerate(texts):
        path = folder / f"state_{index}.py"
        path.write_text(text)
        files.append(path)
    return files


@pytest.mark.parametrize("profile", ["reference", "portable"])
def test_same_counted_messages_as_the_command_line(states, profile):
    linter = PylintLinter(profile)
    expected = pylint_command_line(states, list(get_profile(profile).pylint_options))
    not_counted = set(get_profile(profile).not_counted)
    broken = 0
    for path in states:
        got = {(error.line, error.code) for error in linter.lint(path.read_text())}
        want = {(line, code) for line, code in expected[str(path)] if code not in not_counted}
        if any(code == "E0001" for _, code in want):
            # Syntax errors come from compile() here: same line, message text may differ.
            assert {code for _, code in got} == {"E0001"} and got & want, path.read_text()
        else:
            assert got == want, path.read_text()
        broken += bool(want)
    assert broken >= 20  # the comparison covered many failing states, not only clean ones


def test_portable_profile_does_not_depend_on_installed_packages():
    # numpy is installed in the test environment; pytest_nonexistent_pkg is not. Both are opaque.
    linter = PylintLinter("portable")
    assert linter.lint("import numpy\nnumpy.definitely_not_a_member()") == []
    assert linter.lint("import pytest_nonexistent_pkg\npytest_nonexistent_pkg.anything()") == []
    assert linter.lint("from numpy import not_a_name\nprint(not_a_name)") == []
    # The standard library is still checked.
    assert [error.code for error in linter.lint("import os\nos.not_a_function()")] == ["E1101"]
    # The reference profile counts the missing module.
    assert [e.code for e in PylintLinter("reference").lint("import pytest_nonexistent_pkg")] == ["E0401"]


def test_relative_imports_are_opaque_imports_under_portable(package_modules):
    """A module of a package is checked on its own: its relative imports cannot resolve, and that is about
    where the file sits, not about the program (the reference profile counts them, as the paper did)."""
    import re

    program = "from . import x\nfrom .utils import f, g\nfrom ..pkg.mod import h\nprint(x.y, f(1), g.z(), h)\nprint(q)"
    assert [(error.line, error.code) for error in PylintLinter("portable").lint(program)] == [(5, "E0602")]
    assert [(error.line, error.code) for error in PylintLinter("reference").lint(program)] == [
        (1, "E0402"), (2, "E0402"), (3, "E0402"), (5, "E0602")]
    # On real package modules, a relative import gives the same path, line for line, as the absolute import
    # of a package that is not installed (E0401, not counted either): its names are opaque, nothing more.
    linter, reference = PylintLinter("portable"), PylintLinter("reference")
    # The first three installed package modules with two relative imports or more.
    modules = [text for _, text in package_modules if len(re.findall(r"^from \.", text, re.MULTILINE)) >= 2][:3]
    assert len(modules) == 3
    for seed, text in enumerate(modules):
        absolute = re.sub(r"^from (\.+)(\w*)", lambda m: "from " + ".".join(["mypkg"] * len(m.group(1)) + [m.group(2)]).rstrip("."),
                          text, flags=re.MULTILINE)
        assert absolute != text and not re.search(r"^from \.", absolute, re.MULTILINE)
        relative_path, absolute_path = sample_edit_path(text, linter, seed=seed), sample_edit_path(absolute, linter, seed=seed)
        assert relative_path.deletions == absolute_path.deletions
        # Counted, every relative import is flagged by the first lint and goes in the first deletion (with
        # every line using its names); not counted, each goes when it is drawn, or with what uses it.
        imports = {index for index, line in enumerate(text.split("\n")) if line.startswith("from .")}
        assert imports <= set(sample_edit_path(text, reference, seed=seed).deletions[0])
        assert not any(imports <= set(deletion) for deletion in relative_path.deletions)


@pytest.mark.parametrize(("program", "absolute", "expected"), [
    # inside a function
    ("def f():\n    from .utils import helper\n    return helper(1)\nprint(f())",
     "def f():\n    from mypkg.utils import helper\n    return helper(1)\nprint(f())", []),
    # a pragma on the import, or for the file, hides nothing
    ("from .utils import helper  # pylint: disable=all\nprint(helper(1), undefined_name)",
     "from mypkg.utils import helper  # pylint: disable=all\nprint(helper(1), undefined_name)", [(2, "E0602")]),
    ("# pylint: skip-file\nfrom .utils import helper\nprint(helper(1), undefined_name)",
     "# pylint: skip-file\nfrom mypkg.utils import helper\nprint(helper(1), undefined_name)", [(3, "E0602")]),
    # the checked module's own name, eight dots, a name the standard library also has: all opaque
    ("from . import lintseq_checked_program\nprint(lintseq_checked_program.x)",
     "from mypkg import lintseq_checked_program\nprint(lintseq_checked_program.x)", []),
    ("from ........deep.er import thing\nprint(thing.attr())", "from mypkg.deep.er import thing\nprint(thing.attr())", []),
    ("from . import json\nprint(json.not_a_function())", "from mypkg import json\nprint(json.not_a_function())", []),
    # a use before the import is still an error: the import defines the name, it does not excuse its use
    ("print(helper(1))\nfrom .utils import helper", "print(helper(1))\nfrom mypkg.utils import helper", [(1, "E0601")]),
    # a star import from an invisible module brings no names (documented in hub_tools.linters.profiles)
    ("from .consts import *\nprint(name)", "from mypkg.consts import *\nprint(name)", [(2, "E0602")]),
])
def test_relative_import_attacks_behave_as_the_absolute_spelling(program, absolute, expected):
    linter = PylintLinter("portable")
    found = [(error.line, error.code) for error in linter.lint(program)]
    assert found == [(error.line, error.code) for error in linter.lint(absolute)] == expected


def test_portable_profile_hides_installed_packages_from_import_inference():
    # mccabe (installed with pylint) is a plain module without a module-level __getattr__: where pylint
    # can see it, a missing member is E1101. astroid infers an import through a new AstroidManager(), so
    # hiding it from the shared MANAGER alone is not enough.
    program = "import mccabe\nmccabe.not_a_member()"
    assert [error.code for error in PylintLinter("reference").lint(program)] == ["E1101"]
    assert PylintLinter("portable").lint(program) == []
    assert PylintLinter("portable").lint("from mccabe import PathGraph\nPathGraph.not_a_member()") == []
    # ... and only for the call: a reference linter in the same process still sees the package.
    assert [error.code for error in PylintLinter("reference").lint(program)] == ["E1101"]


def test_profiles_do_not_leak_into_each_other():
    portable, reference = PylintLinter("portable"), PylintLinter("reference")
    program = "import pytest_nonexistent_pkg"
    for _ in range(2):
        assert portable.lint(program) == []
        assert [e.code for e in reference.lint(program)] == ["E0401"]


def test_time_limit_and_recovery():
    linter = PylintLinter(timeout=0.001)
    big = "\n".join(f"def f{i}(x):\n    return [y for y in range(x) if y % {i + 1}]" for i in range(400))
    with pytest.raises(LintTimeout):
        linter.lint(big)
    linter.timeout = 10
    assert [e.code for e in linter.lint("x = y")] == ["E0602"]


def test_pathological_programs_give_errors_not_crashes():
    linter = PylintLinter()
    assert [e.code for e in linter.lint("x = " + "(" * 300 + ")" * 300)] == ["E0001"]
    assert [e.code for e in linter.lint("x = 1\x00")] == ["E0001"]
    assert linter.lint("") == []


@pytest.mark.parametrize("codec", ["ascii", "euc-jp", "gbk", "utf-16", "latin-1", "no-such-codec"])
def test_a_coding_declaration_does_not_change_how_the_text_is_read(codec, stdlib_corpus):
    """A program is a text, written to files as UTF-8: a declaration under which that UTF-8 reads as other
    characters, or not at all, is an error of its line (such declarations once made pylint crash or read
    mojibake; then they were read past, and a state whose first line quoted one did not compile as a file).
    A path's program declares UTF-8, and its states read as themselves."""
    body = (stdlib_corpus[3] + "\n# \u65e5\u672c\u8a9e\u306e\u30b3\u30e1\u30f3\u30c8, caf\u00e9\n"
            "print('\u00fc', undefined_name)\nif True:\n   pass")
    linter = PylintLinter(timeout=None)
    expected = linter.lint(f"# -*- coding: utf-8 -*-\n{body}")
    assert {"E0602", "W0311"} <= {error.code for error in expected}
    assert [(error.line, error.code) for error in linter.lint(f"# -*- coding: {codec} -*-\n{body}")] == [(1, "E0001")]
    # The second line, where Python also reads a declaration.
    assert [(error.line, error.code) for error in linter.lint(
        f"#!/usr/bin/env python\n# vim: set fileencoding={codec} :\n{body}")] == [(2, "E0001")]
    # The path's program declares UTF-8, the codec its text is stored and written in: as a file, every state
    # then reads as the text that was checked (under the codec named, this body is other characters).
    path = sample_edit_path(f"# -*- coding: {codec} -*-\n{body}", linter, seed=0)
    assert all(state.startswith("# -*- coding: utf-8 -*-") for state in path.states[1:] if state.startswith("#"))
    assert path.states[-1] == f"# -*- coding: utf-8 -*-\n{body}"


def test_no_checked_program_outlives_its_call(humaneval_corpus):
    """Memory stays flat: astroid's and pylint's caches must not keep the checked programs alive."""
    import gc

    import astroid

    def alive() -> int:
        gc.collect()
        return sum(1 for obj in gc.get_objects()
                   if isinstance(obj, astroid.nodes.Module) and obj.name == "lintseq_checked_program")

    before = alive()  # other tests' linters may hold a few in their bounded caches
    linter = PylintLinter()
    counts = []
    for start in (0, 30, 60):
        for index, program in enumerate(humaneval_corpus[start:start + 30]):
            sample_edit_path(program, linter, seed=index)
        counts.append(alive() - before)
    # None outlives its call (without the cache clearing: ~400 per 100 programs; before the object models
    # and pylint's file state were cleared too, the last program's tree stayed until the next one).
    assert max(counts) <= 0, f"{counts} more checked programs in memory"


@pytest.mark.parametrize("profile", ["portable", "reference"])
def test_no_program_lives_on_in_failed_imports_or_the_class_checker(profile):
    """Two holders found on real modules, each fails this test when put back:
    - astroid caches every import it cannot resolve as an exception carrying frames (its last raise, and the
      cache miss of the first), which reach up to the program: under the reference profile one tree per
      missing module name stayed (a corpus of third-party and local imports holds thousands of names);
    - the copy of the class checker's access map kept to restore it shared the live map's dict, so the first
      program with classes lived as long as the linter."""
    import ast as ast_module
    import inspect

    import astroid

    def alive() -> int:
        gc.collect()
        return sum(1 for obj in gc.get_objects()
                   if isinstance(obj, astroid.nodes.Module) and obj.name == "lintseq_checked_program")

    before = alive()
    linter = PylintLinter(profile)
    programs = [inspect.getsource(ast_module)]  # classes, and a standard-library module nobody here wrote
    programs += [f"import pkg_{number}\nfrom .local_{number} import helper\nfrom vendor_{number}.sub import thing\n\n"
                 f"class Model{number}:\n    def run(self, x):\n        return pkg_{number}.call(x) + helper(x) + thing(x)\n"
                 for number in range(12)]
    for program in programs:
        linter.lint(program)
    assert alive() - before == 0


def test_failed_imports_cost_each_call_only_its_own_and_stay_bounded(monkeypatch):
    """Cleaning the failed imports after a call walked astroid's whole cache of them: under the reference
    profile a call cost 33 ms more after 5,000 distinct missing names, 90 ms after 20,000. Now a call cleans
    the failures it raised, and only the most recent FAILED_IMPORTS_KEPT stay cached; an evicted name fails
    again the same way."""
    from astroid import MANAGER

    from hub_tools.linters import astroid_state

    monkeypatch.setattr(astroid_state, "FAILED_IMPORTS_KEPT", 40)
    cleaned = []
    drop_frames = astroid_state._drop_frames
    monkeypatch.setattr(astroid_state, "_drop_frames", lambda error: (cleaned.append(error), drop_frames(error)))

    def cached_failures() -> set[str]:
        return {key[0] for key, value in MANAGER._mod_file_cache.items()
                if isinstance(value, BaseException) and key[0].startswith("absent_")}

    def program(number: int) -> str:
        return (f"import absent_pkg_{number}\nfrom absent_vendor_{number}.sub import thing\n\n"
                f"print(absent_pkg_{number}.call(thing.x))\n")

    linter = PylintLinter("reference")
    first = linter.lint(program(0))
    assert {error.code for error in first} == {"E0401"}
    assert {"absent_pkg_0", "absent_vendor_0"} <= cached_failures()
    for number in range(1, 100):
        linter.lint(program(number))
    # 200 names failed: 40 stay, the most recent.
    kept = cached_failures()
    assert len(kept) == 40 and {"absent_pkg_99", "absent_vendor_99"} <= kept and "absent_pkg_0" not in kept
    cleaned.clear()
    assert linter.lint(program(0)) == first  # looked up again, the same answer
    assert 0 < len(cleaned) <= 6  # its own failures (each raised by the import checker and by inference)


def test_checks_that_need_a_module_from_a_file_run(tmp_path):
    # pylint skips E1111 (assignment-from-no-return) on a module it does not think came from a .py file;
    # a pylint run on the file reports it, so the kept-alive linter must too (found on stdlib fnmatch).
    program = "def translate(pattern):\n    pattern.strip()\n\n\nresult = translate('a*')\nprint(result)"
    path = tmp_path / "state.py"
    path.write_text(program)
    expected = pylint_command_line([path], [])[str(path)]
    assert expected == {(5, "E1111")}
    for profile in ("portable", "reference"):
        assert {(error.line, error.code) for error in PylintLinter(profile).lint(program)} == expected


def test_a_call_leaves_the_collectors_threshold_as_it_found_it(stdlib_corpus):
    # During a call the cyclic collector runs less often; the process's own setting must come back, also
    # when the call is cut by its time limit.
    before = gc.get_threshold()
    PylintLinter().lint(stdlib_corpus[0])
    assert gc.get_threshold() == before
    with pytest.raises(LintTimeout):
        PylintLinter(timeout=0.001).lint("\n".join(stdlib_corpus[:40]))
    assert gc.get_threshold() == before


def test_results_do_not_depend_on_what_the_process_holds_in_sys_stdout():
    # astroid builds `sys` from the live module once per process: built while output is captured (as the
    # reference implementation lints), sys.stdout would be a StringIO without `.buffer`. A fresh process,
    # so that `sys` is built inside the capture.
    script = (
        "import contextlib, io\n"
        "from hub_tools.linters import PylintLinter\n"
        "program = 'import sys\\nsys.stdout.buffer.write(b\"x\")\\nsys.stderr.buffer.flush()'\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    errors = PylintLinter('reference').lint(program)\n"
        "print(errors)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_checker_failure_is_one_line_not_a_traceback_on_stderr(capfd):
    # pylint's walker prints the whole traceback of a failing checker (about 2,000 lines for the recursion
    # error a sympy benchmark file causes in the type checker); the failure is the LinterCrash, said once.
    from pylint.checkers.typecheck import TypeChecker

    from hub_tools.linters import LinterCrash

    def failing(node):
        raise ValueError("checker failed on purpose")

    linter = PylintLinter()
    linter.lint("x = 1")
    capfd.readouterr()
    callbacks = linter._check.keywords["walker"].visit_events["call"]  # this linter's own walker only
    callbacks[:] = [failing if isinstance(callback.__self__, TypeChecker) else callback for callback in callbacks]
    with pytest.raises(LinterCrash, match="checker failed on purpose"):
        linter.lint("print(len('abc'))")
    assert capfd.readouterr().err == ""


def test_linters_in_several_threads_give_the_answers_of_one_thread(humaneval_corpus, stdlib_modules):
    """astroid's caches are the process's: calls from threads at once once crashed each other (KeyError,
    AstroidError) and their programs were lost. They now run one at a time."""
    import threading

    programs = humaneval_corpus[:16] + [text for _, text in stdlib_modules[:2]]

    def paths(out: list) -> None:
        linter = PylintLinter(timeout=None)
        for seed, program in enumerate(programs):
            try:
                out.append(sample_edit_path(program, linter, seed=seed).diffs)
            except Exception as error:  # what went wrong is the answer compared
                out.append(repr(error))

    expected: list = []
    paths(expected)
    outcomes: list[list] = [[] for _ in range(3)]
    threads = [threading.Thread(target=paths, args=(out,)) for out in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert all(type(path) is list for path in expected)
    for out in outcomes:
        assert out == expected, [path for path in out if type(path) is not list][:3]


def test_a_process_forked_while_another_thread_lints_can_lint(lint_in_a_forked_child):
    """The lock that keeps calls one at a time is new in a forked child (Dataset.map(num_proc=...) forks)."""
    import threading

    from hub_tools.linters import pylint_backend

    linter = PylintLinter(timeout=5)
    assert [error.code for error in linter.lint("x = y")] == ["E0602"]
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # a call in progress in another thread, at the moment of the fork
        with pylint_backend._ONE_CALL_AT_A_TIME:
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(60)
    try:
        lint_in_a_forked_child(linter, "import os\nos.nothing()", ["E1101"])
    finally:
        release.set()
        thread.join()


@pytest.mark.parametrize("codec", ["no-such-codec", "latin-1", "euc-jp"])
def test_a_declaration_deeper_in_the_file_is_no_state_s_declaration(codec, stdlib_corpus):
    """A comment line halfway down a file, or a line of a string, is the first line of the states made before
    the lines above it arrive. ``# vim: set fileencoding=...`` there made those states, written as files,
    ``unknown encoding`` or other characters (an identifier with ``é`` under latin-1 does not even compile).
    Every state read back from its UTF-8 bytes as Python reads a file must be the state; the program keeps
    its text as written (rewriting every such comment changed prose)."""
    import io
    import tokenize

    program = (f"{stdlib_corpus[5]}\n\n# vim: set fileencoding={codec} :\ncaf\u00e9 = '\u65e5\u672c'\n"
               f"print(caf\u00e9)\nTEMPLATE = '''\n# -*- coding: {codec} -*-\n'''\nprint(TEMPLATE)")
    linter = PylintLinter()
    for seed in range(4):
        path = sample_edit_path(program, linter, seed=seed)
        assert f"'''\n# -*- coding: {codec} -*-\n'''" in path.program  # data, not a declaration
        assert f"# vim: set fileencoding={codec} :" in path.program  # as written
        for state in path.states[1:]:
            data = state.encode("utf-8")
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            assert data.decode(encoding) == state, f"state read as {encoding}"
            compile(data, "state.py", "exec")
