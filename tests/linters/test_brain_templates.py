"""Templates of astroid's numpy brain built once per lint call change no answer, and take the repeated builds
away: the linter with and without them agrees on every state of edit paths over numpy code nobody here wrote,
and on programs made to meet the templates' classes and functions in counted messages."""

import ast
import contextlib
import site
from pathlib import Path

import pytest
from astroid import builder
from astroid.brain import brain_numpy_ndarray, brain_numpy_utils

from hub_tools.linters import LintTimeout, PylintLinter
from hub_tools.linters.brain_templates import templates_built_once_per_call


def annotated(functions: int) -> str:
    """A module of functions annotated with ``np.ndarray``, each using numpy's functions."""
    return "import numpy as np\n\n" + "".join(
        f"\n\ndef scale_{i}(values: np.ndarray, factor: float = {i}.0) -> np.ndarray:\n"
        f"    out: np.ndarray = np.zeros(values.shape) + values * factor\n"
        f"    return np.linspace(0, 1, len(out)) * out.sum()\n" for i in range(functions))


# The templates' class and functions next to counted messages: members that are not there (E1101), calls
# with the wrong arguments (E1120, E1121, E1123), an ndarray where a callable or an iterable is needed.
SHAPES = [
    annotated(6),
    "import numpy as np\n\narr = np.ndarray((2, 2))\nprint(arr.no_such_member, arr.T.shape, arr.dtype)\n"
    "print(np.ndarray.no_such_either)\n",
    "import numpy as np\n\nx = np.zeros((3,))\nprint(x.reshape(1, 3).mean(), x.nope(), np.ones().sum())\n"
    "y = x.astype()\nprint(y, x.take(1, 2, 3, 4, 5, 6, 7))\n",
    "import numpy\n\n\ndef f(a: numpy.ndarray) -> numpy.ndarray:\n    return a()\n\n\nfor v in numpy.ndarray:\n"
    "    print(v)\nprint(numpy.linspace(1, 2, bogus=3), f(numpy.arange(3)))\n",
    "from numpy import ndarray, zeros\n\n\nclass Grid(ndarray):\n    def __init__(self):\n        pass\n\n\n"
    "print(Grid().shape, zeros(2).missing, undefined_array)\n",
    # A program that writes on the template's class, and one that makes a subclass of it unhashable.
    "import numpy as np\n\nnp.ndarray.extra = 1\narr = np.ndarray((2,))\nprint(arr.extra, np.ndarray.extra, arr.missing)\n",
    "import numpy as np\n\n\nclass Mine(np.ndarray):\n    pass\n\n\nMine.__hash__ = None\nprint({Mine(): 1}, np.zeros.other)\n",
]


def numpy_modules(count: int = 6) -> list[str]:
    """Installed modules (60 to 300 lines) that name ``np.ndarray`` three times or more, in path order."""
    roots = [Path(folder) for folder in site.getsitepackages()]
    found = []
    for path in sorted(path for root in roots for path in root.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.count("np.ndarray") >= 3 and 60 <= len(text.splitlines()) <= 300:
            with contextlib.suppress(SyntaxError, ValueError):
                ast.parse(text)
                found.append(text)
    return found[:: max(1, len(found) // count)][:count]


@pytest.mark.parametrize("profile", ["portable", "reference"])  # numpy opaque, and numpy's own modules built
def test_kept_templates_change_no_answer(profile, answered_states, differences_without):
    programs = numpy_modules()
    assert len(programs) >= 3  # numpy's own and its users' modules are installed with the project
    states, answers = answered_states(profile, programs, SHAPES)
    assert len(states) > 150
    codes = {error.code for answer in answers for error in answer}
    assert {"E1101", "E1120", "E0602"} <= codes, codes  # the templates met counted messages
    assert differences_without(profile, states, answers, "templates_built_once_per_call") == []


def test_a_module_annotated_with_ndarray_builds_the_template_once(without_kept, calls_counted):
    # 30 functions, each naming np.ndarray three times and two numpy functions: about 150 builds without.
    program = annotated(30)
    linter = PylintLinter("portable", timeout=None)
    linter.lint("x = 1\n")  # start-up outside the count
    answer, kept = calls_counted(linter, program, builder.extract_node.__code__)  # trees the brain built
    with without_kept("templates_built_once_per_call"):
        plain = PylintLinter("portable", timeout=None)
        plain.lint("x = 1\n")
        expected, repeated = calls_counted(plain, program, builder.extract_node.__code__)
    assert answer == expected
    assert repeated >= 90 and kept <= 5, (repeated, kept)


def test_a_kept_template_clears_the_inference_cache_as_its_build_did():
    # Building the ndarray template clears astroid's inference cache (a transform replaces a node of it), in the
    # middle of the inference that asked for it: a kept template given again must do the same, as a new build
    # would in a pylint run on the file (what a skipped clear changed: tests/linters/test_long_runs.py).
    from astroid import context as inference

    template = "import numpy as np\nnp.ndarray"
    marker = (object(), None, None, None)
    with templates_built_once_per_call():
        brain_numpy_ndarray.extract_node(template)  # built: its transforms cleared the cache
        inference._INFERENCE_CACHE[marker] = ()
        brain_numpy_ndarray.extract_node(template)  # kept: clears it again
        assert marker not in inference._INFERENCE_CACHE
        inference._INFERENCE_CACHE[marker] = ()
        brain_numpy_ndarray.extract_node(template)
        assert marker not in inference._INFERENCE_CACHE
    inference._INFERENCE_CACHE.pop(marker, None)


def test_the_brain_gets_its_builder_back_after_every_call_even_one_cut_by_the_clock():
    originals = (brain_numpy_ndarray.extract_node, brain_numpy_utils.extract_node)
    assert originals == (builder.extract_node, builder.extract_node)
    PylintLinter("portable", timeout=None).lint(annotated(2))  # a call that ends (no limit: a loaded machine is slow)
    linter = PylintLinter("portable", timeout=0.05)
    assert (brain_numpy_ndarray.extract_node, brain_numpy_utils.extract_node) == originals
    with pytest.raises(LintTimeout):
        # ndarray annotations, then inference through a long chain of calls on every line: slow for any linter.
        linter.lint(annotated(5) + "".join(f"def f{i}(a: np.ndarray):\n    return f{i - 1}(a) + a.x\n"
                                           for i in range(1, 400)) + "print(f399(1))\n")
    assert (brain_numpy_ndarray.extract_node, brain_numpy_utils.extract_node) == originals


# Names of numpy 2 and of numpy 1.20's annotations, which astroid's template gives an array by the numpy installed.
NUMPY_VERSION_SHAPES = ("import numpy as np\n\nx = np.ndarray((2,))\nprint(x.mT)\nprint(x.device, x.to_device('cpu'))\n"
                        "print(np.ndarray[int])\n\n\ndef f(a: np.ndarray[int]) -> None:\n    print(a)\n\n\n"
                        "print(x.no_such_member)\n")


@pytest.mark.parametrize("installed", [None, "1.19.5", "1.26.4", "2.4.6"])
def test_the_portable_profile_reads_numpy_code_alike_whatever_numpy_is_installed(installed, monkeypatch):
    from importlib import metadata

    def version(name):
        if name != "numpy" or installed is None:
            raise metadata.PackageNotFoundError(name)
        return installed

    linter = PylintLinter("portable", timeout=None)
    # As pylint reads it where only the standard library is installed: the array has no numpy 2 members and no
    # subscript, and the member that is on no numpy's array is flagged too.
    expected = [(4, "E1101"), (5, "E1101"), (5, "E1101"), (6, "E1136"), (9, "E1136"), (13, "E1101")]
    monkeypatch.setattr(brain_numpy_utils.metadata, "version", version)
    brain_numpy_utils._get_numpy_version.cache_clear()
    try:
        assert [(error.line, error.code) for error in linter.lint(NUMPY_VERSION_SHAPES)] == expected
        # The reference profile sees what is installed, as pylint does: without numpy 2, an array has no mT.
        reference = {(error.line, error.code) for error in PylintLinter("reference", timeout=None).lint(
            NUMPY_VERSION_SHAPES)}
        assert ((4, "E1101") in reference) == (installed is None or installed.startswith("1."))
    finally:
        monkeypatch.undo()
        brain_numpy_utils._get_numpy_version.cache_clear()
