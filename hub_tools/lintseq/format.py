"""Text formats of the paper: training prompts and completions, and programs inside model responses.

An edit-sequence training example is the instruction, then every edit preceded by ``"\\n<|diff|>"``, then
two empty edits, then the end-of-text token (added by the tokenizer or the trainer, not here). The prompt
ends with the first ``"\\n<|diff|>"`` so that sampling can start from exactly what the model saw in
training, and the loss covers only what follows it.
"""

from __future__ import annotations

import re

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


_FENCE = re.compile(r"```[ \t]*(?:python3?|py)[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)


def extract_program(response: str) -> str:
    """Return the Python program inside a markdown or chain-of-thought response.

    All fenced ``python`` blocks are joined with a newline (an unclosed last fence runs to the end of the
    text); a response without such a fence is returned as it is. Surrounding whitespace is removed.

    Example:

    >>> extract_program("Here you go:\\n```python\\ndef f():\\n    return 1\\n```\\nDone.")
    'def f():\\n    return 1'
    >>> extract_program("x = 1")
    'x = 1'
    """
    blocks = _FENCE.findall(response)
    if not blocks:
        return response
    return "\n".join(block.rstrip("\n") for block in blocks).strip()
