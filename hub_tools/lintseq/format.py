"""Text formats of the paper: training prompts and completions, and programs inside model responses.

An edit-sequence training example is the instruction, then every edit preceded by ``"\\n<|diff|>"``, then
two empty edits, then the end-of-text token (added by the tokenizer or the trainer, not here). The prompt
ends with the first ``"\\n<|diff|>"`` so that sampling can start from exactly what the model saw in
training, and the loss covers only what follows it.
"""

from __future__ import annotations

import ast
import re

from hub_tools.lintseq.lines import unix_newlines
from hub_tools.recursion_budget import recursion_budget

DIFF_TOKEN = "<|diff|>"
EDIT_SEPARATOR = "\n" + DIFF_TOKEN
# Two empty edits close an edit sequence: the model has nothing left to insert.
END_OF_EDITS = EDIT_SEPARATOR + EDIT_SEPARATOR


def format_prompt(instruction: str, edit_sequence: bool = True) -> str:
    """Return the prompt the paper's models are trained and sampled with.

    Args:
        instruction: the natural-language task (or any prompt text).
        edit_sequence: ``True`` for edit-sequence models (the prompt ends with ``"\\n<|diff|>"``),
            ``False`` for baseline models (the prompt ends with a newline).

    Example:

    >>> format_prompt("Write a function that adds two numbers.")
    'Write a function that adds two numbers.\\n<|diff|>'
    >>> format_prompt("Write a function that adds two numbers.", edit_sequence=False)
    'Write a function that adds two numbers.\\n'
    """
    if edit_sequence:
        return instruction + EDIT_SEPARATOR
    # The reference joins instruction and response with a newline unless one side already has whitespace.
    return instruction if instruction.endswith((" ", "\n", "\t")) else instruction + "\n"


def format_completion(edit_path: list[str]) -> str:
    """Return the training completion for an edit path: the edits joined by ``"\\n<|diff|>"``, closed by
    two empty edits.

    Example:

    >>> format_completion(["@@ -0,0 +1 @@\\n+x = 1", "@@ -1,0 +2 @@\\n+print(x)"])
    '@@ -0,0 +1 @@\\n+x = 1\\n<|diff|>@@ -1,0 +2 @@\\n+print(x)\\n<|diff|>\\n<|diff|>'
    """
    return EDIT_SEPARATOR.join(edit_path) + END_OF_EDITS


# A fence opens a line (after any indentation, so fences inside list items count): three or more backticks
# or tildes, then an optional info string whose first word names the language. As in CommonMark, a
# backtick fence's info string holds no backtick (so ```inline``` code is not a fence), and the block ends
# at a line of only the same character, at least as many times, or at the end of the text.
_OPENING = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*")
_PYTHON_TAGS = {"python", "python3", "py", "py3"}


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(kind, code)`` of every fenced block, in order; kind is ``"python"``, ``"bare"`` or ``"other"``."""
    blocks = []
    lines = unix_newlines(text).split("\n")
    index = 0
    while index < len(lines):
        opening = _OPENING.fullmatch(lines[index])
        index += 1
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
        body = []
        while index < len(lines) and not closing.fullmatch(lines[index]):
            line = lines[index]
            # The fence's own indentation is not part of the code (up to that much is removed).
            width = len(line) - len(line.lstrip(" \t"))
            body.append(line[min(width, len(indent)):])
            index += 1
        index += 1  # the closing line
        words = opening["info"].split()
        tag = words[0].strip("{}.:").lower() if words else ""
        kind = "python" if tag in _PYTHON_TAGS else "bare" if not tag else "other"
        blocks.append((kind, "\n".join(body)))
    return blocks


def _is_python(text: str) -> bool:
    """Whether ``text`` (any line endings, a leading byte-order mark allowed) parses as a Python module."""
    if "```" not in text and "~~~" not in text:
        return False  # nothing a fence could be read from: the caller's answer is the same either way
    try:
        with recursion_budget():  # the same answer for deep code from any caller (hub_tools.recursion_budget)
            ast.parse(unix_newlines(text.removeprefix("\ufeff")))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def extract_program(response: str) -> str:
    """Return the Python program inside a markdown or chain-of-thought response.

    Fences are read as markdown writes them: ```` ``` ```` or ``~~~`` (three or more), at the start of a
    line or indented inside prose and list items (that indentation is removed from the code), with any
    line endings (``\\n``, ``\\r\\n``, ``\\r``); an unclosed last fence runs to the end of the text.

    A response that is a Python program as a whole is returned as it is, whatever its strings hold:
    library code quotes markdown in its docstrings (```` ```python ```` examples), and reading those as
    fences would turn a module into the example in its docstring. Otherwise, which blocks make the
    program: every block tagged as Python (``python``, ``py``, ``python3``, ``py3``, any case), joined
    with a newline in order; when there is none, every bare block (no language tag); a response without
    either is returned as it is. Blocks tagged with another language (``bash``, ``text``, ``output``...)
    are never code. The code taken from blocks loses its surrounding whitespace; a response returned as it
    is keeps its own.

    Example:

    >>> extract_program("Here you go:\\n```python\\ndef f():\\n    return 1\\n```\\nDone.")
    'def f():\\n    return 1'
    >>> extract_program("```\\r\\nx = 1\\r\\n```\\r\\nRun it:\\r\\n```bash\\r\\npython x.py\\r\\n```")
    'x = 1'
    >>> extract_program("x = 1")
    'x = 1'
    >>> extract_program('def f():\\n    \"\"\"Use it so:\\n\\n    ```python\\n    f()\\n    ```\\n    \"\"\"')[:8]
    'def f():'
    """
    if _is_python(response):
        return response
    blocks = _fenced_blocks(response)
    for kind in ("python", "bare"):
        chosen = [code for found, code in blocks if found == kind]
        if chosen:
            return "\n".join(code.rstrip("\n") for code in chosen).strip()
    return response
