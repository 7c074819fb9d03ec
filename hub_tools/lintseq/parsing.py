"""Turning a model's edit-sequence output into a program, whatever the model wrote.

Sampled output can be truncated at the token limit, can carry hunk headers whose counts are wrong, stray
text, deletions or context lines, or nothing at all. :func:`parse_edit_sequence` never raises: it applies
every hunk it can read, skips the rest, and says what it skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hub_tools.lintseq.diffs import HUNK_HEADER
from hub_tools.lintseq.format import DIFF_TOKEN

# End-of-text markers of common tokenizers, in case decoding kept special tokens.
END_OF_TEXT_MARKERS = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|im_end|>", "<|eot_id|>")


@dataclass
class ParsedEdits:
    """The result of :func:`parse_edit_sequence`.

    Attributes:
        program: the program the readable edits write.
        num_edits: how many edits changed the program.
        skipped: one human-readable note per thing that was ignored or repaired.
        complete: whether the output closed the edit sequence (two empty edits or end of text).
    """

    program: str
    num_edits: int = 0
    skipped: list[str] = field(default_factory=list)
    complete: bool = False


def _cut_at_end_of_text(text: str, notes: list[str]) -> tuple[str, bool]:
    positions = [text.find(marker) for marker in END_OF_TEXT_MARKERS if marker in text]
    if not positions:
        return text, False
    cut = min(positions)
    tail = text[cut:].strip()
    if tail not in END_OF_TEXT_MARKERS:
        notes.append(f"ignored {len(tail)} characters from the end-of-text marker on")
    return text[:cut], True


def _apply_hunk(lines: list[str], header: tuple[int, int, int], body: list[str], offset: int,
                where: str, notes: list[str]) -> int:
    """Apply one hunk in place and return the change in line count."""
    old_start, old_length, new_start = header
    if old_length == 0 and all(line.startswith("+") for line in body):
        # A pure insertion: its new-side start is where the first line lands (also what the
        # reference evaluation trusts).
        position = new_start - 1
    else:
        position = (old_start - 1 if old_length > 0 else old_start) + offset
    if not 0 <= position <= len(lines):
        notes.append(f"{where}: line {position + 1} is outside the {len(lines)}-line program; clamped")
        position = min(max(position, 0), len(lines))
    before = len(lines)
    for line in body:
        marker, content = line[:1], line[1:]
        if marker == "+":
            lines.insert(position, content)
            position += 1
        elif marker == "-":
            if position < len(lines) and lines[position] == content:
                del lines[position]
            else:
                notes.append(f"{where}: could not delete {content!r}, it is not at line {position + 1}")
        elif marker == " ":
            position = min(position + 1, len(lines))
        else:
            notes.append(f"{where}: ignored line {line!r}")
    return len(lines) - before


def parse_edit_sequence(text: str) -> ParsedEdits:
    """Apply the edits of a sampled edit sequence and return the program they write. Never raises.

    Args:
        text: what the model generated after the prompt (the prompt ends with ``"\\n<|diff|>"``), that is
            edits separated by ``"\\n<|diff|>"``, normally closed by two empty edits.

    Example:

    >>> parsed = parse_edit_sequence("@@ -0,0 +1,2 @@\\n+def f(x):\\n+    return x\\n<|diff|>\\n<|diff|>")
    >>> parsed.program, parsed.num_edits, parsed.complete
    ('def f(x):\\n    return x', 1, True)
    >>> parse_edit_sequence("@@ -0,0 +1 @@\\n+x = 1\\n<|diff|>oops\\n<|diff|>@@ -1,0 +2 @@\\n+y = x<|endoftext|>").skipped
    ["edit 2: ignored text outside a hunk: 'oops'"]
    """
    notes: list[str] = []
    if not isinstance(text, str):
        return ParsedEdits(program="", skipped=[f"expected text, got {type(text).__name__}"])
    text, ended = _cut_at_end_of_text(text, notes)
    lines: list[str] = []
    num_edits = 0
    complete = ended
    chunks = text.split(DIFF_TOKEN)
    for number, chunk in enumerate(chunks, start=1):
        where = f"edit {number}"
        # Each edit ends with the newline that starts the next separator.
        chunk = chunk[:-1] if chunk.endswith("\n") else chunk
        if not chunk.strip():
            if number > 1 and number < len(chunks) and not chunks[number].rstrip("\n").strip():
                complete = True  # two empty edits in a row: the model closed the sequence
                rest = DIFF_TOKEN.join(chunks[number + 1:])
                if rest.strip():
                    notes.append(f"ignored {len(rest)} characters after the end of the edit sequence")
                break
            continue
        hunks: list[tuple[tuple[int, int, int], list[str]]] = []
        stray: list[str] = []
        for line in chunk.split("\n"):
            match = HUNK_HEADER.match(line)
            if match:
                old_length = 1 if match.group(2) is None else int(match.group(2))
                hunks.append(((int(match.group(1)), old_length, int(match.group(3))), []))
            elif hunks:
                hunks[-1][1].append(line)
            elif line.strip():
                stray.append(line)
        if stray:
            notes.append(f"{where}: ignored text outside a hunk: {chr(10).join(stray)[:80]!r}")
        offset = 0  # lines added by the earlier hunks of this edit: old-side positions shift by it
        for header, body in hunks:
            offset += _apply_hunk(lines, header, body, offset, where, notes)
        if any(body for _, body in hunks):
            num_edits += 1
    if not complete:
        notes.append("the edit sequence is not closed (truncated output?); applied what was readable")
    return ParsedEdits(program="\n".join(lines), num_edits=num_edits, skipped=notes, complete=complete)
