"""``portable``: a standard-library name is the standard library's module, whatever else the machine puts
first on the import path (a folder on ``PYTHONPATH``, setuptools' ``distutils`` hook).

Each check runs in a fresh process, with the environment under test, as ``lintseq generate`` would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

# Lints each program under the profiles named, in that order, in one process.
_LINT = """
import json, sys
from hub_tools.linters import PylintLinter
program, profiles = json.loads(sys.argv[1])
print(json.dumps([[error.code for error in PylintLinter(profile=name).lint(program)] for name in profiles]))
"""

# colorsys: a pure-Python standard-library module that neither pylint nor astroid imports while running.
SHADOWED = "import colorsys\n\nprint(colorsys.shadow_only())\n"


def _lint(program: str, profiles: list[str], cwd=None, **environment: str) -> list[list[str]]:
    env = {**os.environ, **environment}
    done = subprocess.run([sys.executable, "-c", _LINT, json.dumps([program, profiles])], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def test_a_module_on_pythonpath_cannot_shadow_the_standard_library(tmp_path):
    (tmp_path / "colorsys.py").write_text("def shadow_only():\n    return 1\n")
    assert _lint(SHADOWED, ["portable"]) == [["E1101"]]
    # Under portable the shadow is invisible; reference does what pylint does (it follows the path), and a
    # process that changes profile gives each its own answer, in any order.
    assert _lint(SHADOWED, ["portable", "reference", "portable", "reference"], PYTHONPATH=str(tmp_path)) \
        == [["E1101"], [], ["E1101"], []]
    assert _lint(SHADOWED, ["reference", "portable"], PYTHONPATH=str(tmp_path)) == [[], ["E1101"]]


def test_the_current_folder_cannot_shadow_it_in_a_library_call(tmp_path):
    # python -c, a notebook: the current folder comes first on the path. An empty colorsys.py there has no
    # rgb_to_hsv, which made the call an E1101 (and the program's paths different) in that folder only.
    (tmp_path / "colorsys.py").write_text("")
    program = "import colorsys\n\nprint(colorsys.rgb_to_hsv(0.1, 0.2, 0.3))\n"
    assert _lint(program, ["portable"], cwd=tmp_path) == [[]]


@pytest.mark.skipif(importlib.util.find_spec("_distutils_hack") is None,
                    reason="setuptools' distutils hook is not installed here")
@pytest.mark.parametrize("choice", ["local", "stdlib"])
def test_setuptools_distutils_hook_does_not_change_portable_results(choice):
    # setuptools' copy of distutils.log has a different Log class than the standard library's.
    program = "from distutils.log import _global_log\n\nprint(_global_log.good)\n"
    assert _lint(program, ["portable"], SETUPTOOLS_USE_DISTUTILS=choice) == [["E1101"]]


@pytest.mark.skipif(importlib.util.find_spec("_distutils_hack") is None or sys.version_info >= (3, 12),
                    reason="needs setuptools' distutils hook, and a standard library that still has distutils")
def test_a_distutils_module_setuptools_copy_lacks_is_the_standard_library_s():
    # setuptools' copy has no tests package and no msvc9compiler: astroid looked there, found nothing, and the
    # reads below passed, where pylint on the file (standard library distutils) says E1101.
    for program in ("from distutils.tests import support\n\nprint(support.bogus)\n",
                    "from distutils import msvc9compiler\n\nprint(msvc9compiler.bogus)\n"):
        assert _lint(program, ["portable"]) == [["E1101"]], program
