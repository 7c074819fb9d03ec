"""Training end to end through the command line, then sampling: ``lintseq train`` -> ``lintseq sample``.

`hub_tools.inference.local` is what ``lintseq eval`` samples with too.
"""

from __future__ import annotations

import difflib
import json

import pytest

from hub_tools.errors import UserError
from hub_tools.inference.batching import batches
from hub_tools.inference.local import (
    END_OF_EDITS,
    Sample,
    SamplingConfig,
    _BatchWatcher,
    _vocabulary_tables,
    load_model,
    sample_jobs,
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
        # No fence in a tiny model's text: the program is the completion as it is (extract_program).
        assert sample.program == sample.completion or "```" in sample.completion
    result = cli("sample", "--model", str(plain_model), "--instruction", "Write a function.", "--max-new-tokens", "5",
                 "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["edit_sequence"] is False and record["instruction"] == "Write a function."
    with pytest.raises(UserError, match="not an edit-sequence model"):
        sample_programs(model, tokenizer, ["x"], config, edit_sequence=True, progress=False)


def test_a_model_trained_on_the_baseline_is_sampled_as_one(cli, tiny_model, tmp_path):
    """lintseq train adds <|diff|> to every tokenizer, so a baseline run's model has it too: it was prompted and
    read as an edit-sequence model (its programs empty). Its training record says what it was trained on."""
    import shutil

    folder = tmp_path / "baseline-run"
    shutil.copytree(tiny_model, folder)
    _, tokenizer = load_model(str(folder))
    assert uses_edit_sequences(tokenizer)  # the vocabulary alone says edit sequences
    (folder / "lintseq_training.json").write_text(json.dumps({"edit_sequence": False, "dataset_config": "baseline"}))
    _, tokenizer = load_model(str(folder))
    assert not uses_edit_sequences(tokenizer)
    result = cli("sample", "--model", str(folder), "--instruction", "Write a function.", "--max-new-tokens", "5",
                 "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["edit_sequence"] is False and record["instruction"] == "Write a function."
    # --edit-sequence still forces the format (the tokenizer has <|diff|>), and a checkpoint-N folder of the run
    # reads the run's record.
    forced = cli("sample", "--model", str(folder), "--instruction", "Write a function.", "--max-new-tokens", "5",
                 "--json", "--edit-sequence")
    assert forced.returncode == 0 and json.loads(forced.stdout.splitlines()[0])["edit_sequence"] is True, forced.stderr
    shutil.copytree(tiny_model, folder / "checkpoint-10")
    _, tokenizer = load_model(str(folder / "checkpoint-10"))
    assert not uses_edit_sequences(tokenizer)


def test_a_model_with_learned_positions_samples_within_its_context(learned_positions_model):
    """A GPT-2 model reads 48 positions at most; prompts of 8 to 60 tokens with a 30-token limit. Past its context
    the model cannot look up a position (an IndexError that ended the whole run); each completion stops where the
    context ends, and a prompt that fills it gets an empty completion."""
    model, tokenizer = load_model(str(learned_positions_model(48)))
    words = "return the sum of every even number in a list of integers given as input " * 6
    instructions = [" ".join(words.split()[:count]) for count in (4, 20, 33, 45, 60)]
    prompts = [format_prompt(instruction) for instruction in instructions]
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    assert lengths[0] < 18 and 48 - 30 < lengths[2] < 48 <= lengths[4]
    jobs = [(index, copy) for index in range(len(prompts)) for copy in range(2)]
    found, generated = {}, []
    generate = model.generate

    def recorded(**inputs):
        output = generate(**inputs)
        generated.append((inputs["attention_mask"].sum(dim=1).tolist(), output.shape[1] - inputs["input_ids"].shape[1]))
        return output

    model.generate = recorded
    sampling = SamplingConfig(n=2, temperature=1.0, top_p=1.0, max_new_tokens=30, batch_size=4, seed=3)
    notes = sample_jobs(model, tokenizer, prompts, jobs, sampling, edit_sequence=True,
                        on_sample=lambda index, copy, sample: found.__setitem__((index, copy), sample))
    assert sorted(found) == jobs
    # Every row of every batch, finished or not, stayed within the 48 positions.
    assert generated and all(max(prompt_lengths) + steps <= 48 for prompt_lengths, steps in generated)
    assert all(found[len(prompts) - 1, copy].completion == "" for copy in range(2))
    assert any(found[0, copy].completion for copy in range(2))
    (note,) = notes
    assert "context is 48 tokens" in note and "prompt(s) fill it" in note


def test_batches_keep_their_size_and_the_context():
    lengths, limits = [40, 10, 10, 30, 5, 5], [8, 30, 30, 18, 20, 43]
    order = [(index, 0) for index in range(6)]
    cut = list(batches(order, 3, lengths, limits, context=48))
    assert [job for batch in cut for job in batch] == order
    for batch in cut:
        assert len(batch) <= 3
        assert max(lengths[i] for i, _ in batch) + max(limits[i] for i, _ in batch) <= 48
    assert [len(batch) for batch in batches(order, 4, lengths, limits, context=None)] == [4, 2]


def test_a_batch_the_device_cannot_hold_is_sampled_in_halves(tiny_model):
    """The memory estimate can be wrong (another process on the GPU): a batch that raises torch's
    OutOfMemoryError is generated as two halves, down to one sequence, which is then a one-line error."""
    import torch

    model, tokenizer = load_model(str(tiny_model))
    generate, sizes, generated = model.generate, [], []

    def short_of_memory(**inputs):
        sizes.append(inputs["input_ids"].shape[0])
        if inputs["input_ids"].shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        generated.append(inputs["input_ids"].shape[0])
        return generate(**inputs)

    model.generate = short_of_memory
    instructions = ["Return the sum of a list.", "Reverse a string.", "Count vowels."]
    config = SamplingConfig(n=3, temperature=1.0, top_p=1.0, max_new_tokens=8, batch_size=8, seed=7)
    first = sample_programs(model, tokenizer, instructions, config, progress=False)
    assert [len(samples) for samples in first] == [3, 3, 3] and sizes[:3] == [8, 4, 2] and sum(generated) == 9
    model.generate = generate
    whole = sample_programs(model, tokenizer, instructions, config, progress=False)
    # Each sample keeps its random stream when its batch is split: the halves give what the whole batch gives.
    assert [[s.completion for s in samples] for samples in first] == [[s.completion for s in samples] for samples in whole]

    model.generate = lambda **inputs: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory"))
    with pytest.raises(UserError, match="no memory for one sequence"):
        sample_programs(model, tokenizer, instructions[:1], SamplingConfig(n=2, batch_size=2), progress=False)


@pytest.mark.parametrize("text, message", [
    ('{"base_model_name_or_path": ', "not a LoRA adapter configuration (Expecting value"),
    ("[1]", "names no base_model_name_or_path"),
    ('{"base_model_name_or_path": 7}', "names no base_model_name_or_path"),
])
def test_a_broken_adapter_configuration_is_one_error(tmp_path, text, message):
    (tmp_path / "adapter_config.json").write_text(text)
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        load_model(str(tmp_path))


def test_missing_model_is_a_one_line_error(cli, tmp_path):
    result = cli("sample", "--model", str(tmp_path / "nothing"), "--instruction", "x")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"lintseq sample: error: model path {tmp_path / 'nothing'} does not exist ({tmp_path} has no folder nothing)"]
    with pytest.raises(UserError, match="temperature"):
        SamplingConfig(temperature=-1)


def test_the_vectorised_stop_agrees_with_reading_the_text(tiny_model):
    """The table look-ups of the stopping criterion say "done" exactly when the decoded completion ends with the
    two empty edits, on random token sequences rich in <|diff|> and newline tokens."""
    import random

    import torch

    _, tokenizer = load_model(str(tiny_model))
    tables = _vocabulary_tables(tokenizer, "cpu")
    diff, newline = tokenizer.convert_tokens_to_ids("<|diff|>"), tokenizer("\n")["input_ids"][-1]
    ending = [i for i in range(len(tokenizer)) if tokenizer.decode([i]).endswith("\n")]
    pool = [diff, newline, *ending[:20], *random.Random(0).sample(range(3, len(tokenizer)), 20)]
    generator = random.Random(1)
    prompt = tokenizer("Add.\n<|diff|>")["input_ids"]
    rows = [[generator.choice(pool) for _ in range(generator.randint(1, 7))] for _ in range(4000)]
    rows += [[newline, diff, newline, diff], [diff, newline, diff], [ending[0], diff, newline, diff]]
    length = max(map(len, rows))
    # Left-padded like a batch, in steps: the criterion sees each row grow one token at a time.
    for size in range(1, length + 1):
        batch = [row[:size] for row in rows if len(row) >= size]
        watcher = _BatchWatcher(tables, len(prompt), len(batch), "cpu", True, None)
        ids = torch.tensor([prompt + row for row in batch])
        done = watcher(ids, None)
        expected = [tokenizer.decode(row, skip_special_tokens=False).endswith(END_OF_EDITS) for row in batch]
        assert done.tolist() == expected


def test_sampling_through_transformers_serve_gives_the_local_greedy_programs(cli, memorized_model, tmp_path):
    """Greedy samples of the memorised model: through a real ``transformers serve`` they stop at the end of the
    edit sequence and give the same programs as local sampling."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from hub_tools.inference.server import write_serving_copy

    server_script = Path(sys.executable).with_name("transformers")
    if not server_script.exists():
        pytest.skip("transformers serve needs the serving extra")
    output, rows = memorized_model
    served = write_serving_copy(output, tmp_path / "serving")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(server_script), "serve", str(served), "--port", str(port), "--host", "127.0.0.1",
                                "--device", "cpu"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "transformers serve did not start"
                time.sleep(1)
        arguments = ["--temperature", "0", "--max-new-tokens", "400", "--json"]
        for row in rows:
            arguments += ["--instruction", row["instruction"]]
        remote = cli("sample", "--endpoint", f"http://127.0.0.1:{port}/v1", "--model", str(served), *arguments)
        local = cli("sample", "--model", str(output), *arguments)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr[-2000:] + local.stderr[-2000:]
    remote_records = [json.loads(line) for line in remote.stdout.splitlines()]
    local_records = [json.loads(line) for line in local.stdout.splitlines()]
    assert [r["program"] for r in remote_records] == [r["program"] for r in local_records]
    for record, row in zip(remote_records, rows, strict=True):
        assert record["completion"].endswith(END_OF_EDITS)  # stopped by the stop string, nothing after it
        assert similar(record["program"], row["program"]) > 0.9
