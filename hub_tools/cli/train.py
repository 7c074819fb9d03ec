"""``lintseq train --config RECIPE.yaml [--key value ...]``: finetune a causal LM with TRL's SFTTrainer.

Also runs under ``accelerate launch`` (many GPUs, many nodes)::

    accelerate launch --config_file recipes/accelerate/zero3.yaml -m hub_tools.cli train --config RECIPE.yaml
"""

from __future__ import annotations

import os

USAGE = "usage: lintseq train --config RECIPE [--key value ...]"
DESCRIPTION = (
    "Finetune (or pretrain) a causal LM with TRL's SFTTrainer on a dataset written by `lintseq generate`.\n"
    "A recipe (one YAML file per run) sets everything; options on the command line override it."
)
# Shown first: what this project adds to TRL, then what most runs change. name -> (metavar, help or TRL's).
LEADING_OPTIONS: dict[str, tuple[str, str | None]] = {
    "dataset_name": ("DIR_OR_ID", "a folder written by `lintseq generate`, or a Hub dataset id"),
    "dataset_config": ("NAME", "its config: lintseq (default), random or baseline"),
    "text_files": ("GLOB", "plain-text files (one document each) to pretrain on instead of a dataset"),
    "loss_reduction": ("{sum,mean}", "sum: the paper's loss summed over tokens; mean: TRL's default"),
    "global_batch_size": ("N", "sequences per optimizer step over all processes (sets gradient accumulation)"),
    "model_name_or_path": ("DIR_OR_ID", "the model to start from: a folder or a Hub id"),
    "output_dir": ("DIR", "where the model, tokenizer and lintseq_training.json are written"),
    "learning_rate": ("LR", None),
    "num_train_epochs": ("N", None),
    "max_steps": ("N", "stop after N optimizer steps (overrides num_train_epochs)"),
    "per_device_train_batch_size": ("N", None),
    "max_length": ("TOKENS", "longest training sequence, in tokens"),
    "use_peft": ("{true,false}", "train LoRA adapters (lora_r, lora_alpha, lora_target_modules, ...)"),
}
RECIPE_FORMAT = """\
recipe format (sections checked against TRL's dataclasses; a key in the wrong section is an error):
  model:    trl.ModelConfig: model_name_or_path, dtype, use_peft, lora_r, load_in_4bit, ...
  data:     dataset_name, dataset_config, text_files, and SFTConfig's data fields (max_length, packing, ...)
  trainer:  every SFTConfig / TrainingArguments field, plus loss_reduction and global_batch_size
  env:      environment variables set before training (optional)

examples:
  lintseq train --config tiny-lintseq
  lintseq train --config tinycodelm-150m-lintseq --model_name_or_path outputs/tinycodelm-150m
  accelerate launch --config_file recipes/accelerate/zero3.yaml -m hub_tools.cli train --config RECIPE.yaml
"""


def main(argv: list[str]) -> int:
    if not argv or "-h" in argv or "--help" in argv:
        print(short_help())
        return 0
    if "--help-all" in argv:
        from hub_tools.training.recipes import build_parser

        parser = build_parser()
        parser.usage = USAGE[len("usage: "):]
        parser.print_help()
        return 0
    from hub_tools.cli.third_party_output import quiet_third_party_output

    quiet_third_party_output()
    from hub_tools.training.recipes import parse_train_arguments

    data_config, training_config, model_config, environment = parse_train_arguments(argv)
    # Environment variables of the recipe's `env` section: set before anything reads them (trackers, NCCL).
    os.environ.update(environment)
    from hub_tools.training.trainer import train

    output = train(data_config, training_config, model_config)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"saved to {output}")
    return 0


def short_help() -> str:
    """Our options and the shipped recipes first; TRL's other options by recipe section, names only."""
    import argparse
    import textwrap

    from hub_tools.training.recipes import SECTIONS, build_parser

    trl_parser = build_parser()
    actions = {action.dest: action for action in trl_parser._actions if action.option_strings}
    def formatter(prog):
        return argparse.RawDescriptionHelpFormatter(prog, width=110, max_help_position=36)

    shown = argparse.ArgumentParser(prog="lintseq train", usage=USAGE[len("usage: "):], description=DESCRIPTION,
                                    add_help=False, allow_abbrev=False, formatter_class=formatter)
    ours = shown.add_argument_group("options")
    ours.add_argument("--config", metavar="RECIPE", help="a recipe: a YAML file, or the name of a shipped recipe")
    for name, (metavar, help_text) in LEADING_OPTIONS.items():
        ours.add_argument(actions[name].option_strings[0], metavar=metavar, help=help_text or actions[name].help)
    ours.add_argument("-h", "--help", action="store_true", help="this help; --help-all shows TRL's full help")
    lines = [shown.format_help().rstrip(), "", "shipped recipes (name them without a path):", *_recipe_lines(), "",
             RECIPE_FORMAT.rstrip(), "",
             "other options, by recipe section (the same names on the command line, e.g. --warmup_steps 0.01):"]
    for section, keys in SECTIONS.items():
        names = sorted(key for key in keys if key not in LEADING_OPTIONS and key in actions)
        lines += textwrap.wrap(", ".join(names), width=110, initial_indent=f"  {section + ':':9} ",
                               subsequent_indent=" " * 12)
    return "\n".join(lines)


def _recipe_lines() -> list[str]:
    from hub_tools.package_data import shipped_folder
    from hub_tools.training.recipes import load_recipe

    lines = []
    for path in sorted(shipped_folder("recipes").glob("*.yaml")):
        settings, _ = load_recipe(path)
        model = settings.get("model_name_or_path", "?")
        epochs = settings.get("num_train_epochs")
        where = settings.get("dataset_name") or " ".join(settings.get("text_files") or []) or "?"
        lines.append(f"  {path.stem:28} {model} on {where}, lr {settings.get('learning_rate')}"
                     + (f", {epochs:g} epoch(s)" if isinstance(epochs, (int, float)) else ""))
    return lines
