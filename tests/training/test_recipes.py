"""Every shipped recipe parses against the dataclasses and keeps the paper's settings; bad recipes fail clearly."""

from __future__ import annotations

import pytest

from hub_tools.errors import UserError
from hub_tools.package_data import shipped_folder
from hub_tools.training.recipes import SECTIONS, load_recipe, parse_train_arguments, resolve_recipe

RECIPES = sorted(shipped_folder("recipes").glob("*.yaml"))
PAPER_MODELS = {  # recipe stem -> learning rate (the README's recipe table, from the paper)
    "tinycodelm-150m": 3e-4, "tinycodelm-400m": 3e-4, "gemma-2-2b": 5e-5, "phi-3-mini": 5e-5,
    "llama-3.1-8b": 1e-5, "phi-3-medium": 1e-5,
}


def parse(*argv: str):
    # Recipes target GPUs with bf16; `use_cpu` lets TrainingArguments accept bf16 on this machine, and the
    # environment checks are off so the recipes' model and data paths need not exist here.
    return parse_train_arguments([*argv, "--use_cpu", "true"], check=False)


@pytest.mark.parametrize("recipe", RECIPES, ids=[path.stem for path in RECIPES])
def test_every_recipe_parses_against_the_dataclasses(recipe):
    settings, _ = load_recipe(recipe)
    assert settings
    data, training, model, _ = parse("--config", str(recipe))
    for key, value in settings.items():
        owner = next(obj for obj in (data, training, model) if hasattr(obj, key))
        actual = getattr(owner, key)
        actual = getattr(actual, "value", actual)  # enums such as the scheduler type
        if key == "report_to":  # transformers turns "none" into []
            assert actual == [] and value == "none"
        else:
            assert actual == value or str(actual) == str(value), key


@pytest.mark.parametrize("model", sorted(PAPER_MODELS))
@pytest.mark.parametrize("variant", ["baseline", "lintseq"])
def test_paper_recipes_keep_the_papers_settings(model, variant):
    data, training, model_config, _ = parse("--config", f"{model}-{variant}")
    assert training.learning_rate == pytest.approx(PAPER_MODELS[model])
    assert training.num_train_epochs == (10 if variant == "baseline" else 2)
    assert data.dataset_config == variant
    assert training.global_batch_size == 512 and training.max_length == 1024
    assert training.gradient_accumulation_steps * training.per_device_train_batch_size == 512  # one process
    assert training.lr_scheduler_type == "linear" and training.warmup_steps == pytest.approx(0.001)
    assert training.weight_decay == pytest.approx(0.01)
    assert training.bf16 is True and training.loss_reduction == "sum"
    assert not model_config.use_peft


def test_there_are_twelve_paper_recipes_and_two_pretraining_recipes():
    names = {path.stem for path in RECIPES}
    assert {f"{model}-{variant}" for model in PAPER_MODELS for variant in ("baseline", "lintseq")} <= names
    assert {"tinycodelm-150m-pretrain", "tinycodelm-400m-pretrain"} <= names


def test_pretraining_recipe_packs_plain_text():
    data, training, _, _ = parse("--config", "tinycodelm-150m-pretrain", "--text_files", "corpus/a.py")
    assert data.text_files == ["corpus/a.py"]
    assert training.packing and training.completion_only_loss is False


@pytest.mark.parametrize("name", ["zero3", "zero3-offload", "ddp"])
def test_accelerate_configs_load_with_accelerate(name):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(shipped_folder("recipes") / "accelerate" / f"{name}.yaml"))
    if name.startswith("zero3"):
        assert config.distributed_type == "DEEPSPEED" and config.deepspeed_config["zero_stage"] == 3
        offload = "cpu" if name == "zero3-offload" else "none"
        assert config.deepspeed_config["offload_param_device"] == offload
        assert config.deepspeed_config["zero3_save_16bit_model"] is True  # a loadable model at the end
    else:
        assert config.distributed_type == "MULTI_GPU"


def test_command_line_overrides_the_recipe():
    _, training, model, _ = parse("--config", "tinycodelm-150m-lintseq", "--learning_rate", "1e-4",
                                  "--model_name_or_path", "other", "--use_peft", "true", "--lora_r", "4")
    assert training.learning_rate == pytest.approx(1e-4)
    assert model.model_name_or_path == "other" and model.use_peft and model.lora_r == 4


def test_global_batch_size_sets_gradient_accumulation():
    _, training, _, _ = parse("--config", "tiny-lintseq", "--global_batch_size", "32",
                              "--per_device_train_batch_size", "4")
    assert training.gradient_accumulation_steps == 8
    with pytest.raises(UserError, match="not a multiple"):
        parse("--config", "tiny-lintseq", "--global_batch_size", "30", "--per_device_train_batch_size", "4")


def test_an_explicit_gradient_accumulation_that_disagrees_with_global_batch_size_is_refused():
    # It was replaced by the derived value without a word: a run of another batch size than asked for.
    with pytest.raises(UserError, match="gradient_accumulation_steps 4 disagrees with global_batch_size 32, which sets it to 8"):
        parse("--config", "tiny-lintseq", "--global_batch_size", "32", "--per_device_train_batch_size", "4",
              "--gradient_accumulation_steps", "4")
    _, training, _, _ = parse("--config", "tiny-lintseq", "--global_batch_size", "32",
                              "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "8")
    assert training.gradient_accumulation_steps == 8
    # 1 is the default, which the config alone cannot tell from a choice: the command line can.
    with pytest.raises(UserError, match="gradient_accumulation_steps 1 disagrees with global_batch_size 32"):
        parse("--config", "tiny-lintseq", "--global_batch_size", "32", "--per_device_train_batch_size", "4",
              "--gradient_accumulation_steps=1")
    _, training, _, _ = parse("--config", "tiny-lintseq", "--global_batch_size", "None",
                              "--gradient_accumulation_steps", "4")
    assert training.global_batch_size is None and training.gradient_accumulation_steps == 4


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return str(path)


def test_unknown_key_names_file_section_and_closest_key(tmp_path):
    recipe = write(tmp_path, "model:\n  model_name_or_path: x\ntrainer:\n  lerning_rate: 1.0e-4\n")
    with pytest.raises(UserError, match=r"recipe.yaml: unknown key 'lerning_rate' in section 'trainer' \(did you mean 'learning_rate'\?\)"):
        parse("--config", recipe)


def test_key_in_the_wrong_section_says_where_it_belongs(tmp_path):
    recipe = write(tmp_path, "model:\n  learning_rate: 1.0e-4\n")
    with pytest.raises(UserError, match="'learning_rate' belongs in the 'trainer' section, not 'model'"):
        parse("--config", recipe)
    recipe = write(tmp_path, "learning_rate: 1.0e-4\n")
    with pytest.raises(UserError, match="put 'learning_rate' under the 'trainer' section"):
        parse("--config", recipe)


def test_invalid_yaml_names_the_line(tmp_path):
    recipe = write(tmp_path, "model:\n  model_name_or_path: x\n trainer: [\n")
    with pytest.raises(UserError, match=r"recipe.yaml:\d+: not valid YAML"):
        parse("--config", recipe)


def test_unknown_command_line_option_suggests_the_right_one():
    with pytest.raises(UserError, match=r"unknown option '--lerning_rate'.*--learning_rate"):
        parse("--config", "tiny-lintseq", "--lerning_rate", "1e-4")


def test_rejected_value_is_one_line_naming_the_recipe(tmp_path):
    with pytest.raises(UserError, match=r"--loss_reduction.*invalid choice: 'average'"):
        parse_train_arguments(["--config", "tiny-lintseq", "--loss_reduction", "average"], check=False)
    recipe = write(tmp_path, "model:\n  model_name_or_path: x\ntrainer:\n  loss_reduction: average\n")
    with pytest.raises(UserError, match=r"recipe.yaml: loss_reduction must be one of"):
        parse("--config", recipe)


def test_missing_recipe_lists_the_shipped_ones():
    with pytest.raises(UserError, match=r"not found.*tinycodelm-150m-lintseq"):
        resolve_recipe("tinycodelm-9000-lintseq")


def test_sections_partition_the_fields():
    assert not SECTIONS["data"] & SECTIONS["trainer"]
    assert {"model_name_or_path", "use_peft", "lora_r", "load_in_4bit"} <= SECTIONS["model"]
    assert {"dataset_name", "dataset_config", "text_files", "max_length", "packing"} <= SECTIONS["data"]
    assert {"learning_rate", "loss_reduction", "global_batch_size", "deepspeed"} <= SECTIONS["trainer"]
