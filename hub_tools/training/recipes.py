"""Training recipes: one YAML file per run, in three sections, parsed by TRL's own argument parser.

A recipe looks like this (every key is a field of TRL's dataclasses or of the small extensions in
`hub_tools.training.arguments`)::

    model:                      # trl.ModelConfig: model path, dtype, LoRA / QLoRA
      model_name_or_path: outputs/tiny
    data:                       # DataConfig + SFTConfig's data fields (max_length, packing, ...)
      dataset_name: lintseq-humaneval
      dataset_config: lintseq
    trainer:                    # LintSeqSFTConfig: every transformers / TRL training argument
      learning_rate: 3.0e-4
      loss_reduction: sum
    env:                        # optional environment variables, set before training
      WANDB_PROJECT: lintseq

Command-line options (``--learning_rate 1e-4``) override the recipe. A key in the wrong section or a key
that no dataclass knows is an error that names the file, the section and the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path
from typing import Any

import yaml
from trl import ModelConfig, TrlParser

from hub_tools.errors import UserError
from hub_tools.package_data import shipped_folder
from hub_tools.training.arguments import DataConfig, LintSeqSFTConfig
from hub_tools.training.environment import check_environment

# SFTConfig fields that describe the data rather than the optimisation: they live in the `data` section.
DATA_FIELDS_OF_SFT_CONFIG = frozenset({
    "max_length", "packing", "packing_strategy", "padding_free", "pad_to_multiple_of", "eval_packing",
    "dataset_text_field", "dataset_num_proc", "dataset_kwargs", "shuffle_dataset", "eos_token",
    "truncation_mode",
})


def _field_names(config_class: type) -> set[str]:
    return {item.name for item in dataclasses.fields(config_class) if item.init}


SECTIONS: dict[str, frozenset[str]] = {
    "model": frozenset(_field_names(ModelConfig)),
    "data": frozenset(_field_names(DataConfig) | DATA_FIELDS_OF_SFT_CONFIG),
    "trainer": frozenset(_field_names(LintSeqSFTConfig) - DATA_FIELDS_OF_SFT_CONFIG),
}
# Not a dataclass section: environment variables, as in TRL's own config files.
ENV_SECTION = "env"


def resolve_recipe(name_or_path: str | os.PathLike) -> Path:
    """Find a recipe: a YAML file path, or the name of a recipe shipped with hub_tools.

    Example:
        >>> resolve_recipe("tinycodelm-150m-lintseq").name
        'tinycodelm-150m-lintseq.yaml'
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = shipped_folder("recipes")
    for candidate in (shipped / str(name_or_path), shipped / f"{name_or_path}.yaml"):
        if candidate.is_file():
            return candidate
    names = sorted(p.stem for p in shipped.glob("*.yaml"))
    raise UserError(f"recipe {str(name_or_path)!r} not found: give a YAML file or one of {', '.join(names)}")


def load_recipe(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a sectioned recipe and return its settings as one flat mapping, plus its environment variables.

    Args:
        path: a recipe file (see the module docstring for the format).

    Returns:
        ``(settings, environment)``: ``settings`` maps dataclass field names to values, ``environment``
        maps variable names to string values.

    Raises:
        UserError: invalid YAML, an unknown section, an unknown key or a key in the wrong section.

    Example:
        >>> settings, env = load_recipe(resolve_recipe("tinycodelm-150m-baseline"))
        >>> settings["learning_rate"], settings["loss_reduction"]
        (0.0003, 'sum')
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise UserError(f"{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: a recipe is a mapping with the sections {', '.join(SECTIONS)}")
    settings: dict[str, Any] = {}
    for section, values in document.items():
        if section == ENV_SECTION:
            continue
        if section not in SECTIONS:
            hint = _closest(section, [*SECTIONS, ENV_SECTION])
            owner = _section_of(section)
            if owner is not None:
                hint = f"put {section!r} under the {owner!r} section"
            raise UserError(f"{path}: unknown section {section!r} ({hint}); sections are {', '.join(SECTIONS)}, env")
        if values is None:
            continue
        if not isinstance(values, dict):
            raise UserError(f"{path}: section {section!r} must be a mapping of key: value")
        for key, value in values.items():
            if key not in SECTIONS[section]:
                owner = _section_of(key)
                if owner is not None:
                    raise UserError(f"{path}: key {key!r} belongs in the {owner!r} section, not {section!r}")
                raise UserError(f"{path}: unknown key {key!r} in section {section!r} ({_closest(key, SECTIONS[section])})")
            settings[key] = value
    environment = document.get(ENV_SECTION) or {}
    if not isinstance(environment, dict):
        raise UserError(f"{path}: section 'env' must be a mapping of VARIABLE: value")
    return settings, {str(name): str(value) for name, value in environment.items()}


def _section_of(key: str) -> str | None:
    return next((section for section, keys in SECTIONS.items() if key in keys), None)


def _closest(key: str, candidates: Any) -> str:
    matches = difflib.get_close_matches(str(key), sorted(candidates), n=1)
    return f"did you mean {matches[0]!r}?" if matches else "see 'lintseq train --help' for the valid keys"


class _TrainArgumentParser(TrlParser):
    def error(self, message: str):
        # argparse prints the whole usage (hundreds of options here) before its message; one line is enough.
        raise UserError(f"{message} (see 'lintseq train --help')")


def build_parser() -> TrlParser:
    """TRL's parser over the three dataclasses of ``lintseq train``."""
    return _TrainArgumentParser((DataConfig, LintSeqSFTConfig, ModelConfig), prog="lintseq train", allow_abbrev=False)


def parse_train_arguments(
    argv: list[str], *, check: bool = True
) -> tuple[DataConfig, LintSeqSFTConfig, ModelConfig, dict[str, str]]:
    """Parse ``--config RECIPE`` and ``--key value`` overrides into the training dataclasses.

    Args:
        argv: the command line after ``lintseq train``.
        check: run the environment checks (bf16 support, DeepSpeed installed, model path exists) before
            the dataclasses are built; turned off to validate recipes on any machine.

    Returns:
        ``(data_config, training_config, model_config, environment)``.

    Raises:
        UserError: an unknown option or recipe key, a value the dataclasses reject, or a failed check.

    Example:
        >>> data, training, model, env = parse_train_arguments(
        ...     ["--config", "tinycodelm-150m-lintseq", "--output_dir", "out"], check=False)
        >>> data.dataset_config, training.num_train_epochs
        ('lintseq', 2.0)
    """
    # "--config=RECIPE" is the same option as "--config RECIPE" (argparse accepts both for every other one).
    argv = [part for item in argv for part in (item.split("=", 1) if item.startswith("--config=") else [item])]
    parser = build_parser()
    environment: dict[str, str] = {}
    settings: dict[str, Any] = {}
    recipe_name = "the command line"
    if "--config" in argv:
        index = argv.index("--config")
        if index + 1 >= len(argv):
            raise UserError("--config needs a recipe: a YAML file or the name of a shipped recipe")
        recipe = resolve_recipe(argv[index + 1])
        del argv[index:index + 2]
        settings, environment = load_recipe(recipe)
        parser.set_defaults_with_config(**settings)
        recipe_name = str(recipe)
    namespace, remaining = parser.parse_known_args(argv)
    if remaining:
        known = [option for action in parser._actions for option in action.option_strings]
        unknown = next(item for item in remaining if item.startswith("-")) if any(
            item.startswith("-") for item in remaining) else remaining[0]
        matches = difflib.get_close_matches(unknown.split("=")[0], known, n=1)
        hint = f"did you mean {matches[0]}?" if matches else "see 'lintseq train --help'"
        raise UserError(f"unknown option {unknown!r} ({hint})")
    if check:
        check_environment(vars(namespace))
    values = vars(namespace)
    outputs = []
    for config_class in parser.dataclass_types:
        keys = _field_names(config_class)
        try:
            outputs.append(config_class(**{key: value for key, value in values.items() if key in keys}))
        except (ValueError, TypeError) as error:
            message = " ".join(str(error).split())
            raise UserError(f"{recipe_name}: {message}") from None
    data_config, training_config, model_config = outputs
    # The config replaces gradient_accumulation_steps when global_batch_size is set, and refuses a value that
    # disagrees unless it is 1, the default it cannot tell from a choice: here the recipe and the command line
    # say whether 1 was asked for.
    asked = values.get("gradient_accumulation_steps")
    named = "gradient_accumulation_steps" in settings or any(
        item == "--gradient_accumulation_steps" or item.startswith("--gradient_accumulation_steps=") for item in argv)
    if named and training_config.global_batch_size is not None and asked != training_config.gradient_accumulation_steps:
        raise UserError(
            f"{recipe_name}: gradient_accumulation_steps {asked} disagrees with global_batch_size "
            f"{training_config.global_batch_size}, which sets it to {training_config.gradient_accumulation_steps}; set "
            "one of them (--global_batch_size None keeps gradient_accumulation_steps)")
    return data_config, training_config, model_config, environment
