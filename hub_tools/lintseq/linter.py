"""What the LintSeq sampler needs from a linter: program text in, errors with line numbers out.

Implementations live in :mod:`hub_tools.linters`; the core only knows this protocol, so it stays free of
pylint and of any I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, order=True)
class LintError:
    """One error a linter reports.

    Attributes:
        line: 1-based line number in the linted text.
        code: the linter's message id, such as ``"E0602"``.
        message: the human-readable message.
    """

    line: int
    code: str
    message: str = ""


@runtime_checkable
class Linter(Protocol):
    """A linter the sampler can call many times per program.

    ``lint`` returns the errors that count (an empty list for a clean program). It must be a pure function
    of the text: the same text always gives the same errors.
    """

    def lint(self, program: str) -> list[LintError]: ...
