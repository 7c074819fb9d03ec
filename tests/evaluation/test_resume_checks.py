"""``lintseq eval --resume`` keeps only samples of the same model and the same problems: a folder trained over,
another data file, or a data file whose prompts changed under the same name is refused, in one line."""

import colorsys
import inspect
import json
import shutil

import pytest

from hub_tools.cli import main

FAST = ["--n", "1", "--k", "1", "--max-new-tokens", "8", "--temperature", "0.8"]


def _mbpp(path, text: str):
    row = {"task_id": 1, "text": text, "code": inspect.getsource(colorsys.rgb_to_yiq),
           "test_list": [f"assert rgb_to_yiq(0.5, 0.25, 0.0) == {colorsys.rgb_to_yiq(0.5, 0.25, 0.0)!r}"]}
    path.write_text(json.dumps(row) + "\n")
    return path


def _one_line_error(capsys) -> str:
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("lintseq eval: error: --resume: "), error
    return error


def test_a_model_folder_trained_over_is_not_resumed(tiny_model, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file, save_file

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    output = str(tmp_path / "eval")
    assert main(["eval", "--model", str(model), "--limit", "1", *FAST, "--output-dir", output]) == 0
    # "Training" into the same folder: new weights, same file names and sizes.
    (weights,) = model.glob("*.safetensors")
    tensors = {name: tensor + 0.01 * torch.randn_like(tensor) for name, tensor in load_file(weights).items()}
    save_file(tensors, weights, metadata={"format": "pt"})
    capsys.readouterr()
    assert main(["eval", "--model", str(model), "--limit", "1", *FAST[2:], "--n", "2", "--output-dir", output,
                 "--resume"]) == 2
    error = _one_line_error(capsys)
    assert "was sampled with model_weights = " in error and "resuming" not in error
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["num_samples"] == 1  # the first run's, alone


def test_another_dataset_file_is_not_resumed(tiny_model, tmp_path, capsys):
    first, second = _mbpp(tmp_path / "a.jsonl", "Convert RGB to YIQ."), _mbpp(tmp_path / "b.jsonl", "Add two numbers.")
    common = ["eval", "--model", str(tiny_model), "--benchmark", "mbpp", *FAST, "--output-dir", str(tmp_path / "eval")]
    assert main([*common, "--dataset", str(first)]) == 0
    capsys.readouterr()
    assert main([*common, "--dataset", str(second), "--resume"]) == 2
    assert f"was sampled with dataset = {str(first.resolve())!r}, not {str(second.resolve())!r}" in _one_line_error(capsys)
    assert main([*common, "--dataset", str(first), "--split", "train", "--resume"]) == 2
    assert "was sampled with split = 'test', not 'train'" in _one_line_error(capsys)


def test_a_sample_of_a_prompt_that_changed_is_not_resumed(tiny_model, tmp_path, capsys):
    data = _mbpp(tmp_path / "mbpp.jsonl", "Convert RGB to YIQ.")
    output = tmp_path / "eval"
    common = ["eval", "--model", str(tiny_model), "--benchmark", "mbpp", "--dataset", str(data), *FAST,
              "--output-dir", str(output)]
    assert main(common) == 0
    _mbpp(data, "Add two numbers.")  # the same file, another problem behind task 1
    capsys.readouterr()
    assert main([*common, "--resume"]) == 2
    error = _one_line_error(capsys)
    assert f"{output / 'generations.jsonl'}:2: the sample of Mbpp/1 was sampled from another prompt" in error
    assert "drop --resume" in error


def test_the_journal_checks_prompts_of_the_problems_it_is_given(tmp_path, capsys):
    from hub_tools.cli.eval_journal import GenerationJournal
    from hub_tools.errors import UserError

    path = tmp_path / "generations.jsonl"
    journal = GenerationJournal(path, {"seed": 0}, resume=False)
    journal.add({"task_id": "T/0", "sample_index": 0, "prompt": "old", "completion": "x"})
    journal.add({"task_id": "T/1", "sample_index": 0, "prompt": "same", "completion": "y"})
    journal.close()
    # Problems outside this run's selection are not judged; those inside must match.
    kept = GenerationJournal(path, {"seed": 0}, resume=True, prompts={"T/1": "same"})
    kept.close()
    assert set(kept.rows) == {("T/0", 0), ("T/1", 0)}
    with pytest.raises(UserError, match=r"generations.jsonl:2: the sample of T/0 was sampled from another prompt"):
        GenerationJournal(path, {"seed": 0}, resume=True, prompts={"T/0": "new", "T/1": "same"})
    with pytest.raises(UserError, match="does not record the dtype it was sampled with"):
        GenerationJournal(path, {"seed": 0, "dtype": "torch.float32"}, resume=True)


def test_weights_fingerprint_follows_the_weight_files_only(tiny_model, tmp_path):
    import os

    from hub_tools.inference.loading import weights_fingerprint

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    before = weights_fingerprint(str(model))
    (model / "README.md").write_text("a card\n")
    assert weights_fingerprint(str(model)) == before
    (weights,) = model.glob("*.safetensors")
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert weights_fingerprint(str(model)) not in (before, None)
    assert weights_fingerprint("ORG/MODEL") is None
