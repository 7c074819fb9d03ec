"""The tolerant parser of model output, the prompt/completion formats and program extraction."""

import random
import re

import pytest

from hub_tools.linters import PylintLinter
from hub_tools.lintseq import (
    DiffError,
    apply_diff,
    apply_diffs,
    extract_program,
    format_completion,
    format_prompt,
    parse_edit_sequence,
    sample_edit_path,
)


@pytest.fixture(scope="module")
def rendered(humaneval_corpus):
    """Edit-sequence completions of real programs, as a trained model would write them."""
    linter = PylintLinter()
    paths = [sample_edit_path(program, linter, seed=index) for index, program in enumerate(humaneval_corpus[:40])]
    return [(path.program, path.diffs, format_completion(path.diffs)) for path in paths]


def test_well_formed_completions_parse_back_exactly(rendered):
    for program, diffs, completion in rendered:
        parsed = parse_edit_sequence(completion)
        assert parsed.program == program
        assert parsed.num_edits == len(diffs)
        assert parsed.complete
        assert parsed.skipped == []
        # With an end-of-text marker and text after the end of the sequence, too.
        parsed = parse_edit_sequence(completion + "<|endoftext|>")
        assert parsed.program == program and parsed.skipped == []


def test_truncated_output_gives_a_prefix_program(rendered):
    for _, diffs, completion in rendered:
        for cut in (len(completion) // 3, len(completion) // 2, len(completion) - 25):
            parsed = parse_edit_sequence(completion[:cut])
            assert not parsed.complete
            assert any("not closed" in note for note in parsed.skipped)
            assert isinstance(parsed.program, str)
        # Truncated exactly between two edits: the program of the first edits, exactly.
        prefix = "\n<|diff|>".join(diffs[:-1])
        if diffs[:-1]:
            assert parse_edit_sequence(prefix).program == apply_diffs(diffs[:-1])


def test_reordered_edits_never_raise(rendered):
    generator = random.Random(0)
    for program, diffs, _ in rendered:
        shuffled = diffs[:]
        generator.shuffle(shuffled)
        parsed = parse_edit_sequence(format_completion(shuffled))
        assert parsed.complete
        # Every inserted line is still there, wherever it landed.
        assert sorted(parsed.program.split("\n")) == sorted(program.split("\n"))


NOT_CLOSED = "the edit sequence is not closed"
OUTSIDE_A_HUNK = "ignored text outside a hunk"


# (model output, program read from it, complete, what the notes must say)
@pytest.mark.parametrize(("text", "program", "complete", "notes"), [
    ("", "", False, [NOT_CLOSED]),
    ("\n<|diff|>\n<|diff|>", "", True, []),
    ("garbage without any structure", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
    ("@@ nonsense @@\n+x", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
    ("@@ -0,0 +1,3 @@", "", False, [NOT_CLOSED]),
    ("<|diff|><|diff|><|diff|>", "", True, []),
    ("@@ -0,0 +999 @@\n+x = 1\n<|diff|>@@ -5,2 +1 @@\n-nothing\n-here\n+y = 2", "x = 1\ny = 2", False,
     ["edit 1: line 999 is outside", "edit 2: line 5 is outside", "could not delete 'nothing'",
      "could not delete 'here'", NOT_CLOSED]),
    ("\x00\x01\x02@@ -0,0 +1 @@\n+\udcff", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
    ("@@ -0,0 +1 @@\n+x = 1" * 500, "\n".join(["x = 1@@ -0,0 +1 @@"] * 499 + ["x = 1"]), False, [NOT_CLOSED]),
    # Numbers Python will not read (more than 4,300 digits: int() raises), in every place of a header, and
    # digits that are not ASCII: no header at all, so text outside a hunk, after a readable edit.
    ("@@ -0,0 +1 @@\n+x = 1\n<|diff|>@@ -1,0 +" + "9" * 5000 + " @@\n+y = 2\n<|diff|>\n<|diff|>", "x = 1", True,
     [OUTSIDE_A_HUNK]),
    ("@@ -" + "9" * 5000 + ",0 +1 @@\n+x", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
    ("@@ -0," + "7" * 4400 + " +1 @@\n+x", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
    ("@@ -0,0 +1," + "1" * 9000 + " @@\n+x", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
    ("@@ -\u0660,0 +\u0661 @@\n+x", "", False, [OUTSIDE_A_HUNK, NOT_CLOSED]),
])
def test_garbage_and_empty_input_never_raise(text, program, complete, notes):
    parsed = parse_edit_sequence(text)
    assert parsed.program == program
    assert parsed.complete is complete
    # Every note expected, in order, and no other.
    assert len(parsed.skipped) == len(notes), parsed.skipped
    for note, expected in zip(parsed.skipped, notes, strict=True):
        assert expected in note, (note, expected)


def test_non_string_input_is_reported_not_raised():
    parsed = parse_edit_sequence(None)
    assert parsed.program == "" and parsed.skipped


def test_out_of_range_hunks_are_clamped_and_reported():
    parsed = parse_edit_sequence("@@ -0,0 +1 @@\n+a = 1\n<|diff|>@@ -40,0 +41 @@\n+b = a\n<|diff|>\n<|diff|>")
    assert parsed.program == "a = 1\nb = a"
    assert any("outside" in note for note in parsed.skipped)


def test_deletions_and_context_lines_are_applied_when_they_match():
    text = "@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n<|diff|>@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = a\n<|diff|>\n<|diff|>"
    parsed = parse_edit_sequence(text)
    assert parsed.program == "a = 1\nb = a"
    assert parsed.skipped == []


def test_strict_replay_rejects_malformed_diffs():
    # A header whose number has more digits than Python reads is a malformed diff, not a crash of the check.
    for header in ("@@ -0,0 +" + "9" * 5000 + " @@", "@@ -" + "9" * 5000 + ",0 +1 @@", "@@ -\u0660,0 +\u0661 @@"):
        with pytest.raises(DiffError, match="unexpected diff line"):
            apply_diffs([header + "\n+x"])
    with pytest.raises(DiffError):
        apply_diffs(["@@ -1 +1 @@\n-x\n+y"])
    with pytest.raises(DiffError):
        apply_diffs(["not a diff"])
    with pytest.raises(DiffError):
        apply_diffs(["@@ -0,0 +5 @@\n+x"])


@pytest.mark.parametrize("forged, message", [
    ("@@ -0,0 +1,3 @@\n+a = 1\n+b = 2", "says 3 line(s), the hunk adds 2"),
    ("@@ -0,0 +1 @@\n+a = 1\n+b = 2", "says 1 line(s), the hunk adds 2"),
    ("@@ -0,0 +1,2 @@ def f():\n+a = 1\n+b = 2", "text after a hunk header"),
    ("@@ -1,0 +1,2 @@\n+a = 1\n+b = 2", "old-side line 1 does not match its new-side line 1"),
    ("@@ -0,0 +1 @@\n+a = 1\n@@ -0,0 +2 @@\n+b = 2", "old-side line 0 does not match its new-side line 2"),
])
def test_strict_replay_rejects_headers_that_disagree_with_their_lines(forged, message):
    # Each of these replays to the right program if its header is not read; a model trained on it would
    # learn headers that lie about their hunks.
    with pytest.raises(DiffError, match=re.escape(message)):
        apply_diffs([forged])


def test_strict_replay_accepts_what_difflib_writes_for_an_insertion(humaneval_corpus):
    import difflib

    rng = random.Random(0)
    for program in humaneval_corpus[:60]:
        lines = program.split("\n")
        kept = sorted(rng.sample(range(len(lines)), len(lines) // 2))
        before, after = [lines[i] for i in kept], lines
        written = list(difflib.unified_diff(before, after, n=0, lineterm=""))[2:]  # without the file header
        if any(line.startswith("-") for line in written):
            continue  # difflib's longest-block heuristic saw a replacement in repeated lines
        assert apply_diff(before, "\n".join(written)) == after


def test_prompt_and_completion_formats():
    assert format_prompt("Add.") == "Add.\n<|diff|>"
    assert format_prompt("Add.", edit_sequence=False) == "Add.\n"
    assert format_prompt("Add.\n", edit_sequence=False) == "Add.\n"
    assert format_completion(["@@ -0,0 +1 @@\n+x = 1"]) == "@@ -0,0 +1 @@\n+x = 1\n<|diff|>\n<|diff|>"


def test_extract_program_from_markdown_and_chain_of_thought():
    response = (
        "First define the helper.\n```python\ndef helper(x):\n    return x * 2\n```\n"
        "Then use it:\n```py\nprint(helper(3))\n```\nThat's all."
    )
    assert extract_program(response) == "def helper(x):\n    return x * 2\nprint(helper(3))"
    assert extract_program("print(1)") == "print(1)"
    assert extract_program("```python\nx = 1\n") == "x = 1"  # an unclosed fence runs to the end
    assert extract_program("```\nplain = 1\n```") == "plain = 1"  # a bare fence (see test_fences.py)
