"""The LintSeq core: backward sampling, edit-path diffs and the text formats of the paper.

Pure code: the standard library and numpy only, no I/O, no torch or datasets import. Linters plug in
through the :class:`Linter` protocol (see :mod:`hub_tools.linters` for the pylint backend).

Example:

>>> from hub_tools.lintseq import sample_edit_path, apply_diffs, format_completion
>>> path = sample_edit_path("x = 1\\ny = x + 1\\nprint(y)", sampler="random", seed=1)
>>> apply_diffs(path.diffs)
'x = 1\\ny = x + 1\\nprint(y)'
"""

from hub_tools.lintseq.diffs import DiffError, apply_diff, apply_diffs, insertion_diff
from hub_tools.lintseq.format import (
    DIFF_TOKEN,
    END_OF_EDITS,
    extract_program,
    format_completion,
    format_prompt,
)
from hub_tools.lintseq.lines import CandidateOptions
from hub_tools.lintseq.linter import Linter, LintError
from hub_tools.lintseq.parsing import ParsedEdits, parse_edit_sequence
from hub_tools.lintseq.sampling import (
    SAMPLERS,
    EditPath,
    LintSeqConfig,
    NoCodeError,
    deletions_to_diffs,
    forward_states,
    normalize_program,
    sample_edit_path,
    sample_edit_paths,
)

__all__ = [
    "DIFF_TOKEN",
    "END_OF_EDITS",
    "SAMPLERS",
    "CandidateOptions",
    "DiffError",
    "EditPath",
    "LintError",
    "LintSeqConfig",
    "Linter",
    "NoCodeError",
    "ParsedEdits",
    "apply_diff",
    "apply_diffs",
    "deletions_to_diffs",
    "extract_program",
    "format_completion",
    "format_prompt",
    "forward_states",
    "insertion_diff",
    "normalize_program",
    "parse_edit_sequence",
    "sample_edit_path",
    "sample_edit_paths",
]
