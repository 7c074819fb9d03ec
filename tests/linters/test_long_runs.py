"""What a linter kept alive for a whole run must guarantee: no call sees an earlier one, memory stays flat,
and every emitted state passes a fresh pylint process (not only the kept-alive backend)."""

import gc
import json
import subprocess
import sys

import astroid

from hub_tools.linters import PylintLinter
from hub_tools.lintseq import sample_edit_path


def test_a_call_never_sees_what_an_earlier_program_assigned():
    # astroid writes `x.name = ...` into the cached module or class that x is; taken back after the call.
    linter = PylintLinter(timeout=None)  # the machine's load must not turn a call into an error
    reads_thread = "import threading\nt = threading.Thread()\nprint(t.custom_flag)"
    reads_sys = "import sys\nprint(sys.custom_flag)"
    first = [linter.lint(reads_thread), linter.lint(reads_sys)]
    assert [[error.code for error in errors] for errors in first] == [["E1101"], ["E1101"]]
    assert linter.lint("import threading\nt = threading.Thread()\nt.custom_flag = 1") == []
    assert linter.lint("import sys\nsys.custom_flag = 1") == []
    assert [linter.lint(reads_thread), linter.lint(reads_sys)] == first


def test_an_attribute_an_earlier_program_created_is_gone_not_left_empty():
    # `module` is the builtins class here: astroid adds the name to its locals, the call takes it back. An
    # empty entry left behind crashed pylint's no-member check of the next program (a state of imp.py).
    linter = PylintLinter(timeout=None)
    reads_loader = "x = module.__loader__"
    fresh = PylintLinter(timeout=None).lint(reads_loader)
    assert {error.code for error in fresh} == {"E0602", "E1101"}
    linter.lint("module.__loader__ = 1\nmodule.__loader__ = 2")
    assert linter.lint(reads_loader) == fresh
    builtins_module = astroid.MANAGER.ast_from_module_name("builtins")["module"]
    assert "__loader__" not in builtins_module.locals


def test_a_library_built_for_one_program_writes_nothing_into_the_next(tmp_path, fresh_pylint_flags):
    """Building the standard library's code.py assigns ``sys.ps1``, and astroid gives ``sys`` a ``ps1`` then.
    The module stays built for the run: a state whose ``import code`` had been deleted read ``sys.ps1`` as
    defined, and was emitted as clean, where pylint on its file says E1101. Each answer must be the one a
    fresh pylint process gives the file, whichever programs came before; a later program that imports
    code again sees the attribute again."""
    with_console = "import code\nimport sys\n\ncode.InteractiveConsole()\nprint(sys.ps1)\n"
    without = "import sys\n\nprint(sys.ps1)\n"
    linter = PylintLinter(timeout=None)
    answers = [[error.code for error in linter.lint(text)] for text in (with_console, without, with_console, without)]
    assert answers == [[], ["E1101"], [], ["E1101"]]
    files = [tmp_path / "with_console.py", tmp_path / "without.py"]
    for path, text in zip(files, (with_console, without), strict=True):
        path.write_text(text)
    assert [line.split(":", 1)[1] for line in fresh_pylint_flags(files, tmp_path)] == ["3:E1101"]


def test_a_library_built_while_a_program_renamed_things_is_built_again_for_the_next():
    """A program that set ``_ast.Constant`` to ``OrderedDict`` and then used ``ast``: astroid built ``ast.py``
    with that name in place, so its ``Constant.n = property(...)`` went into ``OrderedDict``, and later programs
    importing ``ast`` read ``OrderedDict().n`` as defined (a fresh linter, and pylint on the file: E1101)."""
    renames = "import _ast\nimport collections\n_ast.Constant = collections.OrderedDict\nimport ast\nprint(ast.parse('1'))\n"
    reads = "import ast\nimport collections\n\nprint(ast.dump(ast.parse('x')))\nprint(collections.OrderedDict().n)\n"
    answers = []
    for programs in ([reads], [renames, reads, reads]):
        done = subprocess.run([sys.executable, "-c", _ORDER_CHECK, json.dumps(programs)], capture_output=True,
                              text=True, timeout=300, check=True)
        answers.append(json.loads(done.stdout))
    assert answers[0] == [["E1101"]]
    assert answers[1][1:] == [["E1101"], ["E1101"]]


def test_a_path_does_not_depend_on_the_programs_linted_before_it():
    """The same program's path, sampled by a linter that has just linted a program importing code.py, and by
    a fresh one. (The paths of a program had depended on the rows a worker sampled before it: the number of
    workers changed the dataset.)"""
    reads_ps1 = "import sys\n\n\ndef prompt():\n    return sys.ps1, sys.ps2\n\n\nprint(prompt())\n"
    warmed = PylintLinter(timeout=None)
    warmed.lint("import code\n\nconsole = code.InteractiveConsole()\n")
    paths = [sample_edit_path(reads_ps1, linter, seed=5).states for linter in (warmed, PylintLinter(timeout=None))]
    assert paths[0] == paths[1]
    assert warmed.lint(reads_ps1) == PylintLinter(timeout=None).lint(reads_ps1) != []


def _program_modules_alive() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects()
               if isinstance(obj, astroid.nodes.Module) and obj.name == "lintseq_checked_program")


def test_memory_flat_over_a_long_run(stdlib_corpus, stdlib_modules):
    """Count growth, not absolute size: objects alive after each round over classes, attribute assignments
    and imports of real code must not grow (before the fix: ~30 000 objects more per round)."""
    programs = stdlib_corpus[:40] + [text for _, text in stdlib_modules[:3]]
    linter = PylintLinter(timeout=None)  # the machine's load must not turn a call into an error
    before = _program_modules_alive()
    objects, modules = [], []
    for round_index in range(3):
        for index, program in enumerate(programs):
            sample_edit_path(program, linter, seed=1000 * round_index + index)
        modules.append(_program_modules_alive() - before)
        objects.append(len(gc.get_objects()))
    # A few sit in bounded caches (the last call's); none accumulate.
    assert max(modules) <= 8 and modules[-1] - modules[0] <= 2, f"checked programs alive after each round: {modules}"
    # Round 1 loads the standard-library trees the programs import; later rounds add nothing lasting.
    assert objects[2] - objects[1] < 2000, f"objects alive after each round: {objects}"


def test_every_emitted_state_is_clean_under_a_fresh_pylint_process(humaneval_corpus, stdlib_modules, tmp_path,
                                                                  fresh_pylint_flags):
    programs = humaneval_corpus[:20] + [text for _, text in stdlib_modules[:3]]
    linter = PylintLinter("portable", timeout=None)
    files = []
    for index, program in enumerate(programs):
        for step, state in enumerate(sample_edit_path(program, linter, seed=index).states[1:]):
            files.append(tmp_path / f"program{index}_state{step}.py")
            files[-1].write_text(state)
    flagged = fresh_pylint_flags(files, tmp_path)
    assert len(files) > 80 and not flagged, flagged[:5]


def test_results_do_not_depend_on_the_order_of_calls(stdlib_modules_by_name):
    """Every state a sampling run linted, linted again in reverse order by a second linter: same answers.

    imp.py assigns attributes of a name astroid resolves to a builtins class (`module.__loader__ = ...`),
    the case that once left a trace in the cached class and crashed a later call."""
    modules = stdlib_modules_by_name
    names = [name for name in ("stdlib/imp.py", "stdlib/sched.py", "stdlib/bisect.py") if name in modules]
    assert names, "none of the chosen standard-library modules is in this Python"
    linter = PylintLinter(timeout=None)
    answers = {}
    lint = linter.lint

    def recording_lint(text):
        answers[text] = lint(text)
        return answers[text]

    linter.lint = recording_lint
    for index, name in enumerate(names):
        sample_edit_path(modules[name], linter, seed=33 + index)
    second = PylintLinter(timeout=None)
    assert len(answers) > 60
    mismatches = [text for text in reversed(answers) if second.lint(text) != answers[text]]
    assert not mismatches, mismatches[0]


_ORDER_CHECK = """
import json, sys
from hub_tools.linters import PylintLinter
linter = PylintLinter(timeout=None)
print(json.dumps([[error.code for error in linter.lint(program)] for program in json.loads(sys.argv[1])]))
"""


_STREAMS = {
    # A class of an io base whose ``__init__`` calls no other: W0231 for ``pylint FILE``. The lookup of the
    # base's ``__init__`` follows the metaclass lookup, which builds ``abc`` in a fresh process, and astroid
    # clears its inference cache while building a module. A linter that had built ``abc`` for an earlier
    # program made no such clear, the same lookup found ``_io``'s abstract ``__init__``, and states holding such
    # a class were emitted as clean; it now clears the cache where that build would (linters/module_writes.py).
    "io.RawIOBase": "import io\n\n\nclass S(io.RawIOBase):\n    def __init__(self, f):\n        self.f = f\n",
    "io.BufferedIOBase": "import io\n\n\nclass S(io.BufferedIOBase):\n    def __init__(self):\n        pass\n",
    "_compression.BaseStream": "import _compression\n\n\nclass B(_compression.BaseStream):\n    def __init__(self):\n"
                               "        pass\n",
}
_EARLIER = ("import abc\n\nprint(abc.__name__)\n", "import io\n\nprint(io.BytesIO().read())\n",
            "import collections.abc\n\nprint(collections.abc.Sized)\n")


def test_an_answer_does_not_depend_on_the_libraries_an_earlier_program_built(tmp_path, fresh_pylint_flags):
    """Each stream class alone in a fresh linter, then after programs that built ``abc`` and ``io``, then
    again: the same answer each time, and that answer is W0231, as ``pylint FILE`` says."""
    files = [tmp_path / f"stream_{index}.py" for index in range(len(_STREAMS))]
    for path, program in zip(files, _STREAMS.values(), strict=True):
        path.write_text(program)
    assert sorted(fresh_pylint_flags(files, tmp_path)) == sorted(f"{path.resolve()}:5:W0231" for path in files)
    programs = list(_STREAMS.values())
    batch = [*programs, *_EARLIER, *programs, *_EARLIER, *reversed(programs)]
    done = subprocess.run([sys.executable, "-c", _ORDER_CHECK, json.dumps(batch)], capture_output=True,
                          text=True, timeout=300, check=True)
    answers = json.loads(done.stdout)
    assert len(answers) == len(batch)
    for index, program in enumerate(batch):
        if program in programs:
            assert answers[index] == ["W0231"], (index, program)
