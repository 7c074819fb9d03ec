"""Options shared by the commands that sample from a model (``lintseq sample``, ``lintseq eval``), and the
sampler they describe: a local model, or an OpenAI-compatible server (``--endpoint``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def add_sampling_options(group, *, n_default: int, n_help: str, max_new_tokens_help: str) -> None:
    """Add the model-loading and sampling options to a parser or an argument group."""
    group.add_argument("--n", type=int, default=n_default, help=f"{n_help} (default: {n_default})")
    group.add_argument("--temperature", type=float, default=0.2, help="0 samples greedily (default: 0.2)")
    group.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling threshold (default: 0.95)")
    group.add_argument("--max-new-tokens", type=int, default=None, help=f"most tokens per sample ({max_new_tokens_help})")
    group.add_argument("--batch-size", type=int, default=None,
                       help="sequences generated together (default: as many as the free memory holds)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    group.add_argument("--revision", default=None, help="Hub revision of the model (branch, tag or commit)")
    group.add_argument("--device", default=None, help="cuda, cpu, ... (default: the GPU when there is one)")
    group.add_argument("--dtype", default=None, choices=["auto", "bfloat16", "float16", "float32"],
                       help="weights' dtype (default: bfloat16 on GPUs that support it, else float32)")


def add_endpoint_options(group) -> None:
    """Add the options of sampling through an OpenAI-compatible server."""
    group.add_argument("--endpoint", default=None,
                       help="sample through this OpenAI-compatible server (vllm serve, SGLang, TGI, transformers "
                            "serve), e.g. http://localhost:8000/v1; --model is then the name it serves")
    group.add_argument("--api-key-env", default="OPENAI_API_KEY",
                       help="environment variable holding the server's API key (default: OPENAI_API_KEY; "
                            "HF_TOKEN for Hugging Face endpoints); never printed")
    group.add_argument("--concurrency", type=int, default=16, help="requests in flight at once (default: 16)")
    group.add_argument("--request-timeout", type=float, default=600.0, help="seconds per request (default: 600)")
    group.add_argument("--max-retries", type=int, default=5,
                       help="retries of a request that failed in a transient way (default: 5)")


@dataclass
class Sampler:
    """What samples: a loaded local model or a server, and what is known of its tokenizer.

    Attributes:
        edit_sequence: prompt and read completions as edit sequences.
        tokenizer: the model's tokenizer when it is at hand (local model, or a local folder served by the
            server), else ``None``.
        settings: what ``metrics.json`` records about the sampler.
        run: ``run(prompts, jobs, config, on_sample, progress, limits=None) -> notes``.
    """

    edit_sequence: bool
    tokenizer: object | None
    settings: dict
    run: Callable = field(repr=False)


def open_sampler(arguments: argparse.Namespace) -> Sampler:
    """The sampler the options describe. A local ``--model`` path that is not there fails before any import."""
    from hub_tools.errors import UserError
    from hub_tools.inference.local import check_model_path, has_diff_token, uses_edit_sequences

    if getattr(arguments, "endpoint", None):
        from hub_tools.inference.server import EndpointConfig, sample_from_endpoint

        endpoint = EndpointConfig(arguments.endpoint, arguments.model, api_key_env=arguments.api_key_env,
                                  concurrency=arguments.concurrency, timeout=arguments.request_timeout,
                                  max_retries=arguments.max_retries)
        tokenizer = _local_tokenizer(arguments.model)
        edit_sequence = arguments.edit_sequence
        if edit_sequence is None:
            edit_sequence = uses_edit_sequences(tokenizer) if tokenizer is not None else True

        def run(prompts, jobs, config, on_sample, progress, limits=None):
            return sample_from_endpoint(endpoint, prompts, jobs, config, edit_sequence=edit_sequence,
                                        on_sample=on_sample, progress=progress, limits=limits)

        return Sampler(edit_sequence, tokenizer, {"model": arguments.model, "endpoint": arguments.endpoint}, run)

    check_model_path(arguments.model)
    from hub_tools.inference.local import load_model, sample_jobs

    model, tokenizer = load_model(arguments.model, revision=arguments.revision, device=arguments.device,
                                  dtype=arguments.dtype)
    edit_sequence = (uses_edit_sequences(tokenizer, arguments.revision) if arguments.edit_sequence is None
                     else arguments.edit_sequence)
    if edit_sequence and not has_diff_token(tokenizer):
        raise UserError("the tokenizer has no <|diff|> token: this is not an edit-sequence model (use --baseline)")

    def run(prompts, jobs, config, on_sample, progress, limits=None):
        return sample_jobs(model, tokenizer, prompts, jobs, config, edit_sequence=edit_sequence, on_sample=on_sample,
                           progress=progress, limits=limits)

    # The commit the weights came from when loaded from the Hub; else the revision asked for.
    revision = getattr(model.config, "_commit_hash", None) or arguments.revision
    return Sampler(edit_sequence, tokenizer, {"model": arguments.model, "model_revision": revision}, run)


def _local_tokenizer(name: str):
    """The tokenizer of a served model when ``name`` is a local folder holding one (``transformers serve``
    serves folders under their path), to detect edit-sequence models and count tokens; else ``None``."""
    path = Path(name).expanduser()
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


def sampling_config(arguments: argparse.Namespace, max_new_tokens: int):
    """The SamplingConfig the options describe (``max_new_tokens`` when ``--max-new-tokens`` is not given)."""
    from hub_tools.inference.local import SamplingConfig

    return SamplingConfig(n=arguments.n, temperature=arguments.temperature, top_p=arguments.top_p,
                          max_new_tokens=max_new_tokens if arguments.max_new_tokens is None else arguments.max_new_tokens,
                          batch_size=arguments.batch_size, seed=arguments.seed)
