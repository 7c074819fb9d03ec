"""The mistakes users make with ``lintseq train``: each is one line on stderr and exit code 2, no traceback."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from hub_tools.errors import UserError
from hub_tools.training.arguments import DataConfig
from hub_tools.training.data import load_training_dataset
from hub_tools.training.environment import check_deepspeed, check_model_path


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("lintseq train: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_dataset_without_prompt_completion_names_the_columns_and_the_configs(cli, tiny_model, edit_dataset):
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                 "--dataset_name", str(edit_dataset), "--dataset_config", "raw", "--output_dir", "unused")
    assert_one_line_error(result, "no prompt/completion column", "found id, instruction, program",
                          "lintseq, random, baseline")


def test_unknown_dataset_config_and_missing_folder(tiny_model, edit_dataset, tmp_path):
    with pytest.raises(UserError, match="has no config 'ranom'"):
        load_training_dataset(DataConfig(dataset_name=str(edit_dataset), dataset_config="ranom"))
    with pytest.raises(UserError, match="does not exist; write one with 'lintseq generate"):
        load_training_dataset(DataConfig(dataset_name=str(tmp_path / "nowhere")))
    with pytest.raises(UserError, match="no training data"):
        load_training_dataset(DataConfig(dataset_name=None))


def test_unknown_recipe_key_from_the_command_line(cli, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model:\n  model_name_or_path: x\ntrainer:\n  warmup_ratio: 0.001\n")
    result = cli("train", "--config", str(recipe))
    assert_one_line_error(result, "unknown key 'warmup_ratio' in section 'trainer'")


def test_model_path_that_does_not_exist(cli, edit_dataset, tmp_path):
    missing = tmp_path / "models" / "nothing-here"
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(missing),
                 "--dataset_name", str(edit_dataset))
    assert_one_line_error(result, f"model path {missing} does not exist", "lintseq init-model")
    with pytest.raises(UserError, match="no model given"):
        check_model_path(None)
    check_model_path("org/a-hub-model")  # a Hub id is checked when it is loaded, not here


def test_a_missing_folder_under_an_existing_one_is_not_looked_up_on_the_hub(tmp_path, monkeypatch):
    # `outputs/nothing` with outputs/ here is a path (lintseq sample said so at once; train retried the Hub ~30 s).
    (tmp_path / "outputs").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="model path outputs/nothing does not exist"):
        check_model_path("outputs/nothing")


def test_hub_model_that_cannot_be_reached_is_one_line(cli, edit_dataset):
    # conftest points HF_ENDPOINT at a closed port: the Hub cannot answer.
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", "someone/no-such-model",
                 "--dataset_name", str(edit_dataset), env={"HF_HUB_OFFLINE": "1"})
    assert_one_line_error(result, "someone/no-such-model")


def test_bf16_on_a_machine_without_support(cli, tiny_model, edit_dataset):
    # CUDA_VISIBLE_DEVICES="" hides every GPU from the process: a machine without one, also on a GPU host.
    no_gpu = {"CUDA_VISIBLE_DEVICES": ""}
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                 "--dataset_name", str(edit_dataset), "--use_cpu", "false", "--bf16", "true", env=no_gpu)
    assert_one_line_error(result, "bf16 is on", "no GPU", "--bf16 false")
    checks = ("import pytest\n"
              "from hub_tools.errors import UserError\n"
              "from hub_tools.training.environment import check_precision\n"
              "with pytest.raises(UserError, match='bf16'):\n"
              "    check_precision({'bf16': None, 'fp16': False, 'use_cpu': False})  # TRL's default is bf16\n"
              "check_precision({'bf16': True, 'use_cpu': True})\n"
              "check_precision({'bf16': False, 'use_cpu': False})\n")
    checked = subprocess.run([sys.executable, "-c", checks], capture_output=True, text=True,
                             env={**os.environ, **no_gpu})
    assert checked.returncode == 0, checked.stderr


def test_deepspeed_asked_but_not_installed(cli, tiny_model, edit_dataset, tmp_path):
    # A real interpreter on which DeepSpeed is missing: a None entry in sys.modules is how Python marks a
    # module as not importable (`import` raises, `importlib.util.find_spec` returns None).
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['deepspeed'] = None\n")
    config = tmp_path / "ds.json"
    config.write_text('{"zero_optimization": {"stage": 3}}')
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                 "--dataset_name", str(edit_dataset), "--deepspeed", str(config), env={"PYTHONPATH": str(tmp_path)})
    assert_one_line_error(result, "DeepSpeed is asked for", "pip install 'hub-tools[deepspeed]'")


def test_deepspeed_config_file_that_does_not_exist(tmp_path):
    importlib.import_module("deepspeed")  # installed with the test extras: missing is a failure, not a skip
    with pytest.raises(UserError, match="no such DeepSpeed config file"):
        check_deepspeed({"deepspeed": str(tmp_path / "ds.json")})
    check_deepspeed({"deepspeed": None})


def test_examples_longer_than_the_models_context_are_cut_at_it(cli, learned_positions_model, edit_dataset, tmp_path):
    # A GPT-2 model reads 64 positions; the recipe's max_length is 512: the first long edit sequence was an IndexError.
    model = learned_positions_model(64)
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(model),
                 "--dataset_name", str(edit_dataset), "--output_dir", str(tmp_path / "out"), "--max_steps", "2",
                 "--per_device_train_batch_size", "4", "--report_to", "none")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "note: max_length 512 is more than the model's context (64 positions)" in result.stderr
    # And how many examples that cut: a cut edit sequence loses its end (nothing said so).
    assert "examples" in result.stderr and "are longer than max_length 64 tokens and are cut there" in result.stderr
    assert (tmp_path / "out" / "model.safetensors").is_file()
    # Cut at 3 tokens, every prompt fills the cut: TRL drops every example, and the trainer's sampler failed.
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(model),
                 "--dataset_name", str(edit_dataset), "--output_dir", str(tmp_path / "out"), "--max_steps", "2",
                 "--max_length", "3", "--report_to", "none")
    assert_one_line_error(result, "no example is left to train on: cut at max_length 3 tokens", "raise max_length")


def test_rows_without_a_completion_are_skipped_and_counted(make_edit_dataset, tmp_path, capsys):
    """A null completion ended the run in TRL's tokenization with a traceback; an empty one trained the model to
    answer with end-of-text at once. Both are skipped and counted; a column that is not text is one error."""
    import datasets

    from hub_tools.training.data import _usable_rows

    rows = datasets.Dataset.from_dict({"prompt": ["a", "b", None, "d", "e"], "completion": ["x", None, "y", "", "z"]})
    kept = _usable_rows(rows, "rows.jsonl")
    assert kept["completion"] == ["x", "z"]
    assert "skipped 3 of 5 rows whose prompt is null or whose completion is null or empty" in capsys.readouterr().err
    with pytest.raises(UserError, match="column 'completion' holds int64, not text"):
        _usable_rows(datasets.Dataset.from_dict({"prompt": ["a"], "completion": [3]}), "rows.jsonl")
    with pytest.raises(UserError, match="no row has a prompt and a non-empty completion"):
        _usable_rows(datasets.Dataset.from_dict({"prompt": ["a"], "completion": [""]}), "rows.jsonl")


def test_resume_from_checkpoint_true_or_missing_is_checked_before_loading(cli, tiny_model, edit_dataset, tmp_path):
    arguments = ["train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                 "--dataset_name", str(edit_dataset), "--output_dir", str(tmp_path / "out"), "--report_to", "none"]
    result = cli(*arguments, "--resume_from_checkpoint", "true")
    assert_one_line_error(result, "resume_from_checkpoint true:", "holds no checkpoint-* folder")
    result = cli(*arguments, "--resume_from_checkpoint", str(tmp_path / "checkpoint-9"))
    assert_one_line_error(result, "no such checkpoint folder")


def test_a_tokenizer_without_end_of_text_is_one_error(cli, tiny_model, edit_dataset, tmp_path):
    import json
    import shutil

    model = tmp_path / "no-eos"
    shutil.copytree(tiny_model, model)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = model / name
        if path.is_file():
            config = json.loads(path.read_text())
            config.pop("eos_token", None)
            path.write_text(json.dumps(config))
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(model),
                 "--dataset_name", str(edit_dataset), "--output_dir", str(tmp_path / "out"), "--report_to", "none")
    assert_one_line_error(result, "has no end-of-text token (eos_token)")


def test_a_plain_folder_and_empty_text_files_are_one_line(tmp_path):
    """A folder of raw JSONL was told to pick a config it had just been told does not exist; empty text files
    ended in TRL's StopIteration."""
    raw = tmp_path / "rawdata"
    raw.mkdir()
    (raw / "rows.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    with pytest.raises(UserError, match="was not written by 'lintseq generate'"):
        load_training_dataset(DataConfig(dataset_name=str(raw)))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(UserError, match="text_files: no text in"):
        load_training_dataset(DataConfig(text_files=[str(empty)]))
