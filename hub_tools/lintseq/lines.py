"""Line structure of a program: indentation, indentation children, and which lines may be sampled."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass


@dataclass(frozen=True)
class CandidateOptions:
    """Which lines are candidates for sampling (the paper's defaults).

    Attributes:
        ignore_imports: leave import statements out of the candidates (they still go when a deletion
            they depend on, or that depends on them, removes them).
        ignore_comments: leave blank and comment-only lines out; they arrive with the first edit.
        ignore_global_defs: leave the continuation lines of top-level UPPERCASE constant blocks opened
            with ``NAME = (`` or ``NAME = [`` out (the opening line stays a candidate and takes the block
            with it). Top-level only, as the algorithm is specified; pylintseq's test also matches indented
            openers (a constant block inside a class or function).
    """

    ignore_imports: bool = False
    ignore_comments: bool = True
    ignore_global_defs: bool = True


def unix_newlines(text: str) -> str:
    """``text`` with ``"\\r\\n"`` and ``"\\r"`` line endings turned into ``"\\n"``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# PEP 263: a comment on the first line, or on the second after a blank or comment line, that names the codec
# of the file (``# -*- coding: latin-1 -*-``, ``# vim: set fileencoding=cp1252 :``).
_CODING = re.compile(r"[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)


def utf8_declared(lines: list[str]) -> list[str]:
    """``lines`` with a coding declaration of the first two lines that does not read the text's own UTF-8 as
    this text set to ``utf-8``; otherwise unchanged.

    A program here is text, and text is stored and written as UTF-8. Checked as text (``compile`` of a
    string, the linters) a declaration is a comment; written to a file, Python and pylint decode the file with
    the codec it names, so ``café`` under ``latin-1`` read back as ``cafÃ©`` (a different program, an
    E0001 in an identifier), and under ``euc-jp`` or ``cp1252`` bytes that do not decode at all (F0010). A
    declaration that reads the UTF-8 back as the same text (ASCII under ``latin-1``) is left as written.

    Only the first two lines, where Python reads a declaration in the program as a file. A comment of that
    shape deeper in the file (``# vim: fileencoding=...``, or prose: ``# Gap encoding: the gap ...``) is the
    first line of the states made before the lines above it arrive; it is left as written (rewriting every
    such comment changed prose), and the linters flag a state in which it would misread the file
    (:func:`hub_tools.linters.syntax_errors.declaration_error`), so no such state is emitted.

    >>> utf8_declared(["# -*- coding: latin-1 -*-", "NAME = 'café'"])
    ['# -*- coding: utf-8 -*-', "NAME = 'café'"]
    >>> utf8_declared(["# -*- coding: latin-1 -*-", "NAME = 'cafe'"])[0]
    '# -*- coding: latin-1 -*-'
    >>> utf8_declared(["import os", "# vim: set fileencoding=bogus :", "# Gap encoding: the gap"])
    ['import os', '# vim: set fileencoding=bogus :', '# Gap encoding: the gap']
    """
    declared = {number: found for number, line in enumerate(lines[:2]) if (found := _CODING.match(line))}
    if not declared or (0 not in declared and lines[0].strip() and not lines[0].lstrip().startswith("#")):
        return lines  # the second line is read only after a blank or comment line
    number, found = min(declared.items())
    text = "\n".join(lines)
    if _reads_as_itself(text, found.group(1)):
        return lines
    rewritten = list(lines)
    rewritten[number] = lines[number][:found.start(1)] + "utf-8" + lines[number][found.end(1):]
    return rewritten


def _reads_as_itself(text: str, codec: str) -> bool:
    """Whether ``text``'s UTF-8 bytes decoded with ``codec`` give ``text``. The codecs Python reads source in
    decode line by line, so the lines of every state of the text then read as themselves too."""
    try:
        return text.encode("utf-8", "surrogatepass").decode(codec) == text
    except (LookupError, UnicodeError):  # a codec Python does not know, or bytes it does not decode
        return False


def indentations(lines: list[str]) -> list[int]:
    """Indentation of each line in characters; a line with at most one non-blank character inherits the
    indentation of the line before it (so blank lines and lone brackets belong to their block).

    >>> indentations(["def f():", "", "    return 1", "  )"])
    [0, 0, 4, 4]
    """
    result: list[int] = []
    current = 0
    for line in lines:
        stripped = line.lstrip()
        if len(stripped) > 1:
            current = len(line) - len(stripped)
        result.append(current)
    return result


def indentation_unit(program: str) -> str | None:
    """The whitespace that indents the program's first indented block (``"    "``, ``"\\t"``, ``"  "``...), or
    ``None`` when no block is indented or the text does not tokenize.

    Only the tokens up to that block are read, so the cost does not grow with the rest of the program.
    pylint's bad-indentation (W0311, counted by LintSeq) expects a unit of four spaces: a program indented
    with another unit has the message on every indented line (see ``hub_tools.datagen.run_statistics``).

    >>> indentation_unit("def f():\\n\\tif x:\\n\\t\\treturn 1")
    '\\t'
    >>> indentation_unit("s = (\\n      1)\\nclass A:\\n  x = 1"), indentation_unit("x = 1")
    ('  ', None)
    """
    try:
        for token in tokenize.generate_tokens(io.StringIO(program).readline):
            if token.type == tokenize.INDENT:
                return token.string
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def tab_width(indents: list[int]) -> int | None:
    """The first positive indentation of the program, or ``None`` when nothing is indented."""
    return next((indent for indent in indents if indent > 0), None)


def children(line: int, indents: list[int]) -> list[int]:
    """The lines that follow ``line`` and are indented deeper: its block.

    >>> children(0, [0, 4, 8, 4, 0])
    [1, 2, 3]
    """
    end = line + 1
    while end < len(indents) and indents[end] > indents[line]:
        end += 1
    return list(range(line + 1, end))


def _is_import(stripped: str) -> bool:
    return stripped.startswith("import ") or (stripped.startswith("from ") and " import " in stripped)


def _opens_constant_block(line: str) -> str | None:
    """The closing bracket of a top-level ``UPPERCASE = (`` / ``= [`` line, or ``None``."""
    if line[:1].isspace() or "=" not in line:
        return None
    name = line[: line.find("=")].replace(" ", "")
    last = line.rstrip()[-1:]
    if name.isupper() and last in ("(", "["):
        return ")" if last == "(" else "]"
    return None


def candidate_lines(lines: list[str], options: CandidateOptions) -> list[int]:
    """Indices of the lines the sampler may draw.

    >>> candidate_lines(["import os", "# note", "", "NAMES = [", "    'a',", "]", "x = 1"], CandidateOptions())
    [0, 3, 6]
    """
    candidates = []
    closing: str | None = None  # set while inside a constant block
    for index, line in enumerate(lines):
        stripped = line.strip()
        if options.ignore_comments and (not stripped or stripped.startswith("#")):
            continue
        if options.ignore_imports and _is_import(stripped):
            continue
        if options.ignore_global_defs:
            if closing is not None:
                if line.rstrip().endswith(closing):
                    closing = None
                continue
            closing = _opens_constant_block(line)
        candidates.append(index)
    return candidates


def sampling_weights(candidates: list[int], indents: list[int], indent_bias: float | None) -> dict[int, float]:
    """Weight of each candidate: 1 at indentation 0, ``indent / tab_width * indent_bias`` deeper
    (uniform when ``indent_bias`` is ``None``).

    >>> sampling_weights([0, 1, 2], [0, 4, 8], 1.0)
    {0: 1.0, 1: 1.0, 2: 2.0}
    """
    width = tab_width(indents)
    weights = {}
    for line in candidates:
        depth = indents[line]
        if depth == 0 or indent_bias is None or width is None:
            weights[line] = 1.0
        else:
            weights[line] = depth / width * indent_bias
    return weights
