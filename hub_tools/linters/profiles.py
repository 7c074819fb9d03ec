"""Lint profiles: which pylint messages count as errors for LintSeq.

The paper runs pylint with conventions (C) and refactors (R) disabled and counts a message as an error
when it is an error (E) or fatal (F) message, or one of two warnings: W0311 bad-indentation and W0231
super-init-not-called. Everything else is ignored.

That set has one flaw for a dataset tool: some of its outcomes depend on which packages are installed on
the machine that generates the data. ``import numpy`` is an E0401 import-error where numpy is missing,
which deletes the import and every line using it in one edit; where numpy is installed it is fine, and
pylint may then infer numpy's members and report E1101/E1120/... on calls into it. The same source then
gives different edit paths on different machines.

``portable`` (the default) removes that dependency at the root: while a program is linted, only the
standard library (``sys.stdlib_module_names``, found in the standard library's own folders whatever comes
first on the import path: :mod:`hub_tools.linters.stdlib_imports`) and the program itself can be imported
for inference, so a third-party name is opaque everywhere, and the messages whose outcome is about the import system itself do
not count:

- E0401 import-error: whether a module is installed;
- E0402 relative-beyond-top-level: whether the file sits in a package. The checked program is a module of
  its own, so every relative import (``from .utils import f``) would be one, and the module of a package
  lost its relative imports and every line using them in its first induced deletion (in a sample of 300
  installed-package files, the 117 with relative imports got a third of the edits per line of the others,
  and their largest edit was 72% of the file; not counted, they get as many as the others, and 35%). Not
  counted, ``from .utils import f`` is what the absolute ``from mypkg.utils import f`` already was (an
  E0401): an import whose names are opaque;
- E0611 no-name-in-module: whether an installed module (or this Python's stdlib version) has the name.

One outcome still depends on what is visible, as it does for pylint everywhere: a star import from a module
inference cannot see (``from .constants import *``, ``from numpy import *``) brings no names, so the names
the program takes from it are E0602 undefined-variable (3 of those 300 files).

One more thing astroid reads of the machine is fixed rather than hidden: its numpy brain shapes
``np.ndarray`` by the numpy version installed, even where numpy itself is out of sight, so ``portable`` tells
it that none is, whatever is installed (:mod:`hub_tools.linters.installed_versions`).

The outcome then depends only on the program, the Python minor version and the pylint/astroid versions,
which ``lintseq_config.json`` records.

``reference`` reproduces the paper's set exactly, with pylint's usual import resolution and the reference
implementation's options (``unsafe-load-any-extension``, ``generated-members=cv2.*``).

In both profiles a syntax error (E0001) flags the line it is about, as the paper's implementation does:
``expected an indented block after 'if' statement on line N`` flags the opener on line N, not the next
statement where parsing stopped (see :mod:`hub_tools.linters.syntax_errors`).

In both profiles the counted messages are those of the program, not of its comments: pylint pragmas in the
checked text (``# pylint: skip-file``, ``disable=all``, ``disable-all``, ``disable=<ids>`` on a block or a
line, ``disable-next``, ``enable``, the old ``disable-msg``, any spacing pylint accepts) have no
effect. A pragma naming an option pylint does not know (``# pylint: disabl=...``) is reported as the command
line reports it, E0011, a counted error (pylint's other pragma messages are not counted).
Scraped code carries such comments, and honouring them would let an intermediate program with undefined
names pass. How: :mod:`hub_tools.linters.pylint_backend`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The paper's counted messages: pylint categories and single message ids.
PAPER_MESSAGES = ("E", "F", "W0311", "W0231")


@dataclass(frozen=True)
class LintProfile:
    """A set of pylint messages that count as errors, and how imports are resolved.

    Attributes:
        name: the profile's name, recorded with every generated dataset.
        counted: pylint categories or message ids that count as errors.
        not_counted: message ids removed from ``counted``.
        third_party_imports: whether inference may import modules outside the standard library.
        pylint_options: extra pylint command-line options.
        description: one line for help texts and dataset cards.
    """

    name: str
    counted: tuple[str, ...]
    not_counted: tuple[str, ...]
    third_party_imports: bool
    pylint_options: tuple[str, ...]
    description: str


PROFILES: dict[str, LintProfile] = {
    "portable": LintProfile(
        name="portable",
        counted=PAPER_MESSAGES,
        not_counted=("E0401", "E0402", "E0611"),
        third_party_imports=False,
        pylint_options=(),
        description="the paper's messages (E, F, W0311, W0231) without import-error, relative-beyond-top-level "
        "and no-name-in-module; "
        "only the standard library is visible to inference, so results do not depend on installed packages",
    ),
    "reference": LintProfile(
        name="reference",
        counted=PAPER_MESSAGES,
        not_counted=(),
        third_party_imports=True,
        pylint_options=("--unsafe-load-any-extension=y", "--generated-members=cv2.*"),
        description="exactly the paper's messages (E, F, W0311, W0231) with pylint's usual import "
        "resolution; results depend on the packages installed",
    ),
}


def get_profile(name: str) -> LintProfile:
    """Return the profile called ``name``.

    >>> get_profile("portable").not_counted
    ('E0401', 'E0402', 'E0611')
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown lint profile {name!r}; expected one of {sorted(PROFILES)}") from None
