"""Training end to end through the command line, then sampling: ``lintseq train`` -> ``lintseq sample``.

`hub_tools.generation` is what ``lintseq eval`` samples with too.
"""

from __future__ import annotations

import difflib
import json

import pytest

from hub_tools.errors import UserError
from hub_tools.generation import (
    END_OF_EDITS,
    Sample,
    SamplingConfig,
    load_model,
    sample_programs,
    uses_edit_sequences,
)
from hub_tools.lintseq import format_prompt


def similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def test_train_then_sample_gives_the_programs_back(cli, memorized_model):
    output, rows = memorized_model
    for name in ("model.safetensors", "config.json", "tokenizer.json", "lintseq_training.json"):
        assert (output / name).is_file(), name
    record = json.loads((output / "lintseq_training.json").read_text())
    assert record["loss_reduction"] == "sum" and record["edit_sequence"] is True

    result = cli("sample", "--model", str(output), "--instruction", rows[0]["instruction"], "--temperature", "0",
                 "--max-new-tokens", "300", "--show-edits")
    assert result.returncode == 0, result.stderr
    assert "(edit sequence)" in result.stdout and "## edit 1\n@@ -0,0 +1" in result.stdout
    program = result.stdout.split("## program\n", 1)[1].rstrip("\n")
    compile(program, "sampled", "exec")
    assert similar(program, rows[0]["program"]) > 0.9, program


def test_sampling_stops_at_the_end_of_the_edit_sequence(memorized_model):
    output, rows = memorized_model
    model, tokenizer = load_model(str(output))
    config = SamplingConfig(n=1, temperature=0, max_new_tokens=400, batch_size=2)
    samples = sample_programs(model, tokenizer, [row["instruction"] for row in rows], config, progress=False)
    for row, (sample,) in zip(rows, samples, strict=True):
        assert isinstance(sample, Sample) and sample.edit_sequence
        assert sample.prompt == format_prompt(row["instruction"])
        # Stopped at the two empty edits, long before the token limit, with nothing after them.
        assert sample.completion.endswith(END_OF_EDITS)
        assert len(tokenizer(sample.completion)["input_ids"]) < 300
        assert similar(sample.program, row["program"]) > 0.9
        assert not any("not closed" in note for note in sample.skipped)


def test_sampling_is_deterministic_for_a_seed_and_keeps_the_order(tiny_model):
    model, tokenizer = load_model(str(tiny_model))
    instructions = ["Return the sum of a list.", "Reverse a string.", "Count vowels."]
    config = SamplingConfig(n=3, temperature=1.0, top_p=1.0, max_new_tokens=12, batch_size=4, seed=7)
    first = sample_programs(model, tokenizer, instructions, config, progress=False)
    again = sample_programs(model, tokenizer, instructions, config, progress=False)
    other = sample_programs(model, tokenizer, instructions, SamplingConfig(**{**vars(config), "seed": 8}), progress=False)
    assert [len(samples) for samples in first] == [3, 3, 3]
    assert [[s.completion for s in samples] for samples in first] == [[s.completion for s in samples] for samples in again]
    assert [[s.completion for s in samples] for samples in first] != [[s.completion for s in samples] for samples in other]
    for instruction, samples in zip(instructions, first, strict=True):
        assert all(sample.prompt == format_prompt(instruction) for sample in samples)


def test_a_model_without_diff_token_is_sampled_as_a_baseline(cli, plain_model):
    model, tokenizer = load_model(str(plain_model))
    assert not uses_edit_sequences(tokenizer)
    config = SamplingConfig(n=2, temperature=0.7, max_new_tokens=10, batch_size=2)
    (samples,) = sample_programs(model, tokenizer, ["Write a function."], config, progress=False)
    for sample in samples:
        assert not sample.edit_sequence and sample.prompt == "Write a function.\n"
        assert sample.program == sample.completion.strip() or "```" in sample.completion
    result = cli("sample", "--model", str(plain_model), "--instruction", "Write a function.", "--max-new-tokens", "5",
                 "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["edit_sequence"] is False and record["instruction"] == "Write a function."
    with pytest.raises(UserError, match="not an edit-sequence model"):
        sample_programs(model, tokenizer, ["x"], config, edit_sequence=True, progress=False)


def test_missing_model_is_a_one_line_error(cli, tmp_path):
    result = cli("sample", "--model", str(tmp_path / "nothing"), "--instruction", "x")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"lintseq sample: error: model path {tmp_path / 'nothing'} does not exist"]
    with pytest.raises(UserError, match="temperature"):
        SamplingConfig(temperature=-1)
