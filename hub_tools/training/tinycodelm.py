"""TinyCodeLM: the paper's small code models, built from scratch (OLMo architecture).

TinyCodeLM-150M and -400M use the layer counts, head counts and widths of the two smallest GPT-2 models in
the OLMo architecture (``OlmoForCausalLM``, no custom code needed to load them). ``tiny`` is a
few-hundred-kilobyte member of the family for tests and demos, in the spirit of the ecosystem's
``tiny-random`` models: same architecture and tokenizer format, trained in seconds on a CPU.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub_tools.errors import UserError
from hub_tools.training.tokenizer import corpus_files, default_corpus, prepare_tokenizer, train_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class TinyCodeLMConfig:
    """The size of one TinyCodeLM preset.

    Args:
        name: preset name, as given to ``lintseq init-model --preset``.
        num_hidden_layers: transformer blocks.
        num_attention_heads: attention heads per block (all of them key/value heads too).
        hidden_size: model width.
        intermediate_size: width of the SwiGLU feed-forward layer.
        vocab_size: tokenizer size to aim for when a tokenizer is trained for the model.
        max_position_embeddings: longest sequence the rotary embeddings are set up for.
        tie_word_embeddings: share the input embedding with the output layer, as GPT-2 does.
    """

    name: str
    num_hidden_layers: int
    num_attention_heads: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = True


PRESETS: dict[str, TinyCodeLMConfig] = {
    # GPT-2 small's shape: about 152M parameters with a 50k vocabulary.
    "tinycodelm-150m": TinyCodeLMConfig("tinycodelm-150m", 12, 12, 768, 3072, 50304),
    # GPT-2 medium's depth, heads and width: about 398M parameters with a 50k vocabulary.
    "tinycodelm-400m": TinyCodeLMConfig("tinycodelm-400m", 24, 16, 1024, 3328, 50304),
    # About 115k parameters (460 kB): loads in no time and trains in seconds on a CPU.
    "tiny": TinyCodeLMConfig("tiny", 2, 4, 64, 128, 512, max_position_embeddings=1024),
}

# Vocabulary rows are padded to a multiple of this: matrix shapes that divide evenly run faster on GPUs.
VOCABULARY_MULTIPLE = 64


def olmo_config(preset: TinyCodeLMConfig, *, vocab_size: int, bos_token_id: int | None, eos_token_id: int | None,
                pad_token_id: int | None):
    """The `transformers.OlmoConfig` of a preset for a vocabulary of ``vocab_size`` tokens.

    Example:
        >>> olmo_config(PRESETS["tinycodelm-150m"], vocab_size=50304, bos_token_id=0, eos_token_id=0,
        ...             pad_token_id=1).num_hidden_layers
        12
    """
    from transformers import OlmoConfig

    return OlmoConfig(
        vocab_size=vocab_size,
        hidden_size=preset.hidden_size,
        intermediate_size=preset.intermediate_size,
        num_hidden_layers=preset.num_hidden_layers,
        num_attention_heads=preset.num_attention_heads,
        num_key_value_heads=preset.num_attention_heads,
        max_position_embeddings=preset.max_position_embeddings,
        tie_word_embeddings=preset.tie_word_embeddings,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
    )


def build_model(preset: TinyCodeLMConfig, tokenizer: PreTrainedTokenizerBase, *, seed: int = 0) -> PreTrainedModel:
    """A randomly initialised ``OlmoForCausalLM`` of the preset's size for ``tokenizer``.

    Args:
        preset: one of [`PRESETS`].
        tokenizer: the model's tokenizer (after [`prepare_tokenizer`]); fixes the vocabulary and the
            special-token ids.
        seed: initialisation seed; the same seed gives the same weights.

    Returns:
        The model, in float32, in evaluation mode.

    Example:
        >>> model = build_model(PRESETS["tiny"], tokenizer)  # doctest: +SKIP
        >>> model.config.model_type
        'olmo'
    """
    import torch
    from transformers import GenerationConfig, OlmoForCausalLM

    vocab_size = -(-len(tokenizer) // VOCABULARY_MULTIPLE) * VOCABULARY_MULTIPLE
    config = olmo_config(preset, vocab_size=vocab_size, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    # A private generator (not the global seed) so building a model never changes the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = OlmoForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model.eval()


def init_model(
    preset_name: str,
    output_dir: str | os.PathLike,
    *,
    tokenizer_path: str | os.PathLike | None = None,
    corpus: list[str] | None = None,
    vocab_size: int | None = None,
    seed: int = 0,
) -> Path:
    """Write a from-scratch TinyCodeLM checkpoint and its tokenizer to ``output_dir`` (safetensors).

    Args:
        preset_name: a key of [`PRESETS`].
        output_dir: where to save; loadable afterwards with ``AutoModelForCausalLM.from_pretrained`` and
            ``AutoTokenizer.from_pretrained``.
        tokenizer_path: an existing tokenizer folder to use (``<|diff|>`` and a pad token are added when
            missing). When not given, a byte-level BPE tokenizer is trained on ``corpus``.
        corpus: files, folders or glob patterns to train the tokenizer on; defaults to the Python standard
            library's modules.
        vocab_size: tokenizer size to aim for; defaults to the preset's.
        seed: weight initialisation seed.

    Returns:
        The output folder.

    Example:
        >>> init_model("tiny", "outputs/tiny")  # doctest: +SKIP
        PosixPath('outputs/tiny')
    """
    if preset_name not in PRESETS:
        raise UserError(f"unknown preset {preset_name!r}; pick one of {', '.join(PRESETS)}")
    if tokenizer_path is not None and corpus:
        raise UserError("give either --tokenizer or --corpus, not both: the tokenizer is either reused or trained")
    preset = PRESETS[preset_name]
    output = Path(output_dir)
    if output.is_dir() and any(output.iterdir()):
        raise UserError(f"--output-dir {output} is not empty; pick a new folder so no checkpoint is overwritten")

    tokenizer = _load_or_train_tokenizer(tokenizer_path, corpus, vocab_size or preset.vocab_size)
    model = build_model(preset, tokenizer, seed=seed)

    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output, safe_serialization=True)
    tokenizer.save_pretrained(output)
    # What the checkpoint is, for people and for the model card: the preset and how it was made.
    provenance = {
        "preset": asdict(preset),
        "num_parameters": model.num_parameters(),
        "tokenizer": str(tokenizer_path) if tokenizer_path else "byte-level BPE trained by lintseq init-model",
        "seed": seed,
    }
    (output / "tinycodelm.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return output


def _load_or_train_tokenizer(
    tokenizer_path: str | os.PathLike | None, corpus: list[str] | None, vocab_size: int
) -> PreTrainedTokenizerBase:
    if tokenizer_path is None:
        files = corpus_files(corpus) if corpus else default_corpus()
        tokenizer = train_tokenizer(files, vocab_size=vocab_size)
        if len(tokenizer) < vocab_size * 0.9:
            # BPE stops merging when the corpus has no pair left to merge: the model is then smaller than the
            # preset says (116M instead of 152M from a small corpus), which the card would state as it is.
            print(f"note: the corpus gave a vocabulary of {len(tokenizer):,} tokens, not the {vocab_size:,} aimed "
                  "for (it is small): the model has fewer parameters than the preset's figure; a larger --corpus "
                  "or --tokenizer gives the full vocabulary", file=sys.stderr)
        return tokenizer
    from transformers import AutoTokenizer

    if not Path(tokenizer_path).is_dir():
        raise UserError(f"--tokenizer {tokenizer_path} is not a folder; give a folder saved by save_pretrained")
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    except (OSError, ValueError) as error:
        raise UserError(f"--tokenizer {tokenizer_path}: cannot load a tokenizer from it ({error})") from None
    if tokenizer.eos_token is None:
        raise UserError(f"--tokenizer {tokenizer_path} has no end-of-text (eos) token; the model could never stop")
    prepare_tokenizer(tokenizer)
    return tokenizer
