"""What astroid reads of installed packages' versions, fixed for the ``portable`` profile.

astroid's numpy brain gives numpy's names a shape from templates, and chooses the template by the numpy
installed on the machine (read from the package's metadata, not by importing it): with numpy 2, an array has
``mT``, ``device`` and ``to_device``; with numpy 1.20 or later, ``np.ndarray[int]`` is a valid annotation.
The ``ndarray`` template is used for any attribute named ``ndarray`` (``np.ndarray`` in every annotation of
array code), even where ``portable`` keeps numpy itself out of sight. So under ``portable`` the same program
(``print(x.mT)``, ``def f(a: np.ndarray[int])``) was clean on a machine with numpy 2 and E1101 or E1136 on
one with numpy 1.19 or none, against the profile's promise that results depend only on the program, the
Python minor version and the pylint/astroid versions.

:func:`package_versions_seen_by` answers, for the length of a ``portable`` call, that no numpy is installed
(:data:`PORTABLE_NUMPY_VERSION`, astroid's own answer then), whatever is: ``portable`` reads a program as
pylint does where only the standard library is installed, the environment its lint-clean audit checks
states in (``benchmarks/lint_clean_audit.py``). The ``reference`` profile sees what is installed, as pylint
does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hub_tools.linters.profiles import LintProfile

# The numpy version astroid's numpy brain sees under the portable profile: its answer where numpy is missing.
PORTABLE_NUMPY_VERSION = ("0", "0", "0")


@contextlib.contextmanager
def package_versions_seen_by(profile: LintProfile) -> Iterator[None]:
    """Within the block, astroid's numpy brain sees no numpy installed when ``profile`` is portable."""
    try:
        from astroid.brain import brain_numpy_utils
    except ImportError:  # an astroid without the numpy brain: nothing reads a version
        brain_numpy_utils = None
    if profile.third_party_imports or not hasattr(brain_numpy_utils, "_get_numpy_version"):
        yield
        return
    installed = brain_numpy_utils._get_numpy_version
    brain_numpy_utils._get_numpy_version = lambda: PORTABLE_NUMPY_VERSION
    try:
        yield
    finally:
        brain_numpy_utils._get_numpy_version = installed
