"""Linter backends: program text in, errors with line numbers out (see :class:`hub_tools.lintseq.Linter`).

>>> from hub_tools.linters import PylintLinter
>>> PylintLinter("reference").profile.name
'reference'
"""

from hub_tools.linters.profiles import PROFILES, LintProfile, get_profile
from hub_tools.linters.pylint_backend import LinterCrash, LintMemoryLimit, LintTimeout, PylintLinter

__all__ = ["PROFILES", "LintMemoryLimit", "LintProfile", "LintTimeout", "LinterCrash", "PylintLinter", "get_profile"]
