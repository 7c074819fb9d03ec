"""``lintseq train --config RECIPE.yaml [--key value ...]``: finetune a causal LM with TRL's SFTTrainer.

Also runs under ``accelerate launch`` (many GPUs, many nodes)::

    accelerate launch --config_file recipes/accelerate/zero3.yaml -m hub_tools.cli train --config RECIPE.yaml
"""

from __future__ import annotations

import os

USAGE_EPILOG = """\
A recipe is a YAML file with the sections model (trl.ModelConfig), data (dataset_name, dataset_config,
max_length, packing, ...) and trainer (every SFTConfig / TrainingArguments field, plus loss_reduction and
global_batch_size); shipped recipes can be named without a path (e.g. tinycodelm-150m-lintseq).
Options given on the command line override the recipe.

examples:
  lintseq train --config recipes/tiny-lintseq.yaml
  lintseq train --config tinycodelm-150m-lintseq --model_name_or_path outputs/tinycodelm-150m
  accelerate launch --config_file recipes/accelerate/zero3.yaml -m hub_tools.cli train --config RECIPE.yaml
"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        from hub_tools.package_data import shipped_folder
        from hub_tools.training.recipes import build_parser

        parser = build_parser()
        parser.description = (
            "Finetune (or pretrain) a causal LM with TRL's SFTTrainer: lintseq train --config RECIPE "
            "[--key value ...]. Every option below can be set in the recipe or on the command line."
        )
        shipped = ", ".join(sorted(path.stem for path in shipped_folder("recipes").glob("*.yaml")))
        parser.epilog = USAGE_EPILOG + f"\nshipped recipes: {shipped}\n"
        parser.formatter_class = _raw_formatter()
        parser.print_help()
        return 0
    from hub_tools.training.recipes import parse_train_arguments

    data_config, training_config, model_config, environment = parse_train_arguments(argv)
    # Environment variables of the recipe's `env` section: set before anything reads them (trackers, NCCL).
    os.environ.update(environment)
    from hub_tools.training.trainer import train

    output = train(data_config, training_config, model_config)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"saved to {output}")
    return 0


def _raw_formatter():
    import argparse

    return argparse.RawDescriptionHelpFormatter
