"""Options shared by the commands that sample from a model (``lintseq sample``, ``lintseq eval``)."""

from __future__ import annotations

import argparse


def add_sampling_options(group, *, n_default: int, n_help: str) -> None:
    """Add the model-loading and sampling options to a parser or an argument group."""
    group.add_argument("--n", type=int, default=n_default, help=f"{n_help} (default: {n_default})")
    group.add_argument("--temperature", type=float, default=0.2, help="0 samples greedily (default: 0.2)")
    group.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling threshold (default: 0.95)")
    group.add_argument("--max-new-tokens", type=int, default=512, help="most tokens per sample (default: 512)")
    group.add_argument("--batch-size", type=int, default=8, help="sequences generated together (default: 8)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    group.add_argument("--revision", default=None, help="Hub revision of the model (branch, tag or commit)")
    group.add_argument("--device", default=None, help="cuda, cpu, ... (default: the GPU when there is one)")
    group.add_argument("--dtype", default=None, choices=["auto", "bfloat16", "float16", "float32"],
                       help="weights' dtype (default: bfloat16 on GPUs that support it, else float32)")


def load_model_and_config(arguments: argparse.Namespace):
    """The model, its tokenizer and the SamplingConfig that the options above describe."""
    from hub_tools.generation import SamplingConfig, load_model

    config = SamplingConfig(n=arguments.n, temperature=arguments.temperature, top_p=arguments.top_p,
                            max_new_tokens=arguments.max_new_tokens, batch_size=arguments.batch_size,
                            seed=arguments.seed)
    model, tokenizer = load_model(arguments.model, revision=arguments.revision, device=arguments.device,
                                  dtype=arguments.dtype)
    return model, tokenizer, config
