"""``lintseq init-model``: build a from-scratch TinyCodeLM checkpoint and its tokenizer."""

from __future__ import annotations

import argparse

PRESET_NAMES = ("tinycodelm-150m", "tinycodelm-400m", "tiny")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq init-model",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description=(
            "Build a randomly initialised TinyCodeLM (OLMo architecture) with a tokenizer that has <|diff|> as "
            "one special token, and save both with safetensors. The folder loads with AutoModelForCausalLM and "
            "AutoTokenizer, without custom code. Pretrain it with recipes/tinycodelm-*-pretrain.yaml."
        ),
        epilog="example: lintseq init-model --preset tiny --output-dir outputs/tiny",
    )
    parser.add_argument("--preset", required=True, choices=PRESET_NAMES,
                        help="model size: the paper's 150M / 400M, or 'tiny' (a few hundred kB) for tests and demos")
    parser.add_argument("--output-dir", required=True, help="new (or empty) folder to write the checkpoint to")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--tokenizer", metavar="DIR",
                        help="reuse this tokenizer folder (<|diff|> and a pad token are added when missing)")
    source.add_argument("--corpus", nargs="+", metavar="PATH",
                        help="train a byte-level BPE tokenizer on these files, folders or glob patterns "
                             "(default: the Python standard library's modules)")
    parser.add_argument("--vocab-size", type=int, default=None,
                        help="tokenizer size to aim for when training one (default: 50304, or 512 for 'tiny')")
    parser.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default: 0)")
    return parser


def main(argv: list[str]) -> int:
    arguments = build_parser().parse_args(argv)
    from hub_tools.cli.third_party_output import quiet_third_party_output

    quiet_third_party_output()
    from hub_tools.training.tinycodelm import init_model

    output = init_model(
        arguments.preset,
        arguments.output_dir,
        tokenizer_path=arguments.tokenizer,
        corpus=arguments.corpus,
        vocab_size=arguments.vocab_size,
        seed=arguments.seed,
    )
    import json

    provenance = json.loads((output / "tinycodelm.json").read_text())
    print(f"wrote {arguments.preset} ({provenance['num_parameters']:,} parameters) to {output}")
    return 0
