"""Code-only corpora (The Stack's ``content``, CodeSearchNet's ``func_code_string``): whole files, no instruction."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import datasets
import pytest

from hub_tools.cli import main as lintseq
from hub_tools.datagen.card import EXAMPLE_LINE_BUDGET
from hub_tools.datagen.sources import detect_fields
from hub_tools.errors import UserError
from hub_tools.lintseq import apply_diffs, format_prompt, normalize_program

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)


@pytest.mark.parametrize(("available", "given", "expected"), [
    (["content", "max_stars_repo_path", "max_stars_count", "lang"], None, (None, "content")),  # The Stack
    (["repository_name", "func_name", "func_code_string", "language"], None, (None, "func_code_string")),
    (["body", "path"], "body", (None, "body")),  # any field, named by --code-field
    (["instruction", "response", "content"], None, ("instruction", "response")),  # a pair still wins
])
def test_a_source_without_an_instruction_is_code_only(available, given, expected):
    assert detect_fields(available, None, given) == expected


@pytest.mark.parametrize("available", [["text", "content"], ["question", "code"], ["Prompt", "program"]])
def test_an_instruction_like_field_is_never_dropped_silently(available):
    # A field that may hold the instruction, with no known pair: the user must say which fields to use.
    with pytest.raises(UserError, match="cannot tell which fields"):
        detect_fields(available, None, None)


@pytest.fixture(scope="module")
def stack_run(tmp_path_factory, stdlib_modules_by_name):
    """Three whole standard-library files (about 80 to 200 lines) in The Stack's columns, two paths each."""
    by_length = sorted(stdlib_modules_by_name.items(), key=lambda item: len(item[1].splitlines()))
    chosen = [by_length[0], by_length[len(by_length) // 4], by_length[len(by_length) // 2]]
    folder = tmp_path_factory.mktemp("stack")
    source = folder / "the-stack-sample.jsonl"
    source.write_text("".join(json.dumps({"content": text, "max_stars_repo_path": name, "lang": "Python",
                                          "size": len(text)}) + "\n" for name, text in chosen))
    out = folder / "lintseq-stack"
    arguments = [str(source), "--output-dir", str(out), "--num-paths", "2", "--workers", "2"]
    result = folders.generate(*arguments)
    return arguments, result, out, [text for _, text in chosen]


def test_whole_files_without_instructions_become_a_verified_dataset(stack_run, capsys):
    arguments, result, out, texts = stack_run
    assert "prompt field none (code only: every instruction is empty), code field 'content' (detected)" in result.stderr
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(out.parent / ".cache"))
    assert len(rows) == 6
    assert sorted(set(rows["program"])) == sorted(normalize_program(text) for text in texts)
    for row in rows:
        assert row["instruction"] == "" and row["prompt"] == format_prompt("")
        assert apply_diffs(row["edit_path"]) == row["program"]
        assert row["num_edits"] >= 10  # whole files: many edits, not one that writes everything
    assert len(set(rows["id"])) == 3  # the id still tells the files apart
    baseline = datasets.load_dataset(str(out), "baseline", split="train", cache_dir=str(out.parent / ".cache-b"))
    assert set(baseline["prompt"]) == {format_prompt("", edit_sequence=False)}

    assert lintseq(["verify", str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("all checks passed")

    manifest = json.loads((out / "lintseq_config.json").read_text())
    assert manifest["configs"]["lintseq"]["source"]["prompt_field"] is None
    card = (out / "README.md").read_text()
    command = next(line for line in card.splitlines() if line.startswith("lintseq generate "))
    assert "--code-field content" in command and "--prompt-field" not in command

    # The same command again: the settings match, so nothing is redone or refused.
    before = {path: path.read_bytes() for path in (out / "data").rglob("*.parquet")}
    again = folders.generate(*arguments)
    assert again.returncode == 0
    assert {path: path.read_bytes() for path in (out / "data").rglob("*.parquet")} == before


def test_the_card_shows_a_bounded_part_of_the_smallest_file(stack_run):
    _, _, out, texts = stack_run
    card = (out / "README.md").read_text()
    example = card.split("## An edit sequence, step by step", 1)[1].split("\n## ", 1)[0]
    shown_program_lines = sum(1 for line in example.splitlines() if line[:1] in ("+", " "))
    # Whole files have no short row: a full replay of the shortest one would be thousands of card lines.
    smallest = min(len(normalize_program(text).split("\n")) for text in texts)
    assert shown_program_lines <= EXAMPLE_LINE_BUDGET + smallest
    note = re.search(r"… (\d+) more edits, to the whole program of (\d+) lines: `lintseq show DIR --config lintseq "
                     r"--index (\d+)`", example)
    assert note is not None, example[-500:]
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(out.parent / ".cache-c"))
    row = rows[int(note.group(3))]
    assert len(row["program"].split("\n")) == int(note.group(2))
    # The row shown is the cheapest to show whole: fewest program lines times edits.
    cost = [len(other["program"].split("\n")) * other["num_edits"] for other in rows]
    assert cost[int(note.group(3))] == min(cost)
    shown_edits = example.count("**Edit ")
    assert shown_edits + int(note.group(1)) == row["num_edits"]


def test_a_code_only_source_gives_the_same_rows_on_a_datatrove_executor(stack_run, tmp_path):
    arguments, _, out, _ = stack_run
    distributed = tmp_path / out.name
    options = [argument if argument != str(out) else str(distributed) for argument in arguments]
    result = folders.generate(*options, "--executor", "local", "--tasks", "2")
    assert "prompt field none (code only" in result.stderr
    shards = sorted(path.relative_to(out) for path in (out / "data").rglob("*.parquet"))
    assert shards == sorted(path.relative_to(distributed) for path in (distributed / "data").rglob("*.parquet"))
    assert all((out / shard).read_bytes() == (distributed / shard).read_bytes() for shard in shards)
