"""Tokenizer set-up for edit-sequence training, in one place.

Every model that learns edit sequences needs the same three things: ``<|diff|>`` as one special token (so an
edit boundary is a single, unambiguous prediction), a pad token for batching, and embeddings as large as the
vocabulary. Training, ``lintseq init-model`` and sampling all go through the functions here.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hub_tools.errors import UserError
from hub_tools.lintseq import DIFF_TOKEN

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

END_OF_TEXT_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|padding|>"
# Plain-text corpora a tokenizer can be trained on, when a folder is given.
CORPUS_SUFFIXES = (".py", ".txt", ".md", ".rst")


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Add ``<|diff|>`` as a special token and a pad token when the tokenizer has none.

    The pad token is a new ``<|padding|>`` token rather than the end-of-text token: padding with EOS makes
    "stop here" and "nothing here" the same id, which confuses generation with left padding.

    Args:
        tokenizer: a Hugging Face tokenizer, changed in place.

    Returns:
        The tokens that were added (empty when the tokenizer was already set up). When it is not empty, the
        model's embeddings must be resized with [`resize_embeddings`].

    Example:
        >>> added = prepare_tokenizer(tokenizer)        # doctest: +SKIP
        >>> tokenizer.convert_tokens_to_ids("<|diff|>")  # doctest: +SKIP
        50280
    """
    added: list[str] = []
    if DIFF_TOKEN not in tokenizer.get_vocab():
        _add_extra_special_token(tokenizer, DIFF_TOKEN)
        added.append(DIFF_TOKEN)
    elif DIFF_TOKEN not in tokenizer.all_special_tokens:
        # A vocabulary entry that is not special would be split by the pre-tokenizer in some tokenizers
        # (and stripped by none): marking it special keeps it one token in every context.
        _add_extra_special_token(tokenizer, DIFF_TOKEN)
    if tokenizer.pad_token is None:
        if PAD_TOKEN not in tokenizer.get_vocab():
            added.append(PAD_TOKEN)
        tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    return added


def _add_extra_special_token(tokenizer: PreTrainedTokenizerBase, token: str) -> None:
    # Passed positionally: the flag that keeps the existing extra special tokens is named
    # `replace_additional_special_tokens` in transformers 4 and `replace_extra_special_tokens` in 5.
    tokenizer.add_special_tokens({"additional_special_tokens": [token]}, False)


def resize_embeddings(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> bool:
    """Grow the model's input (and output) embeddings to cover every token of ``tokenizer``.

    New rows are set to the exact mean of the existing rows: a new token starts as an average token instead of
    a random vector with a huge logit, and the start is deterministic, so the base model of a LoRA adapter can
    be grown the same way again when the adapter is loaded. Under DeepSpeed ZeRO-3 the partitioned weights
    are gathered for the change.

    Args:
        model: the causal LM, changed in place.
        tokenizer: its tokenizer, after [`prepare_tokenizer`].

    Returns:
        Whether the embeddings were resized.
    """
    import torch

    current = model.get_input_embeddings().num_embeddings
    if len(tokenizer) <= current:
        _sync_special_token_ids(model, tokenizer)
        return False
    old_input = _mean_row(model.get_input_embeddings().weight)
    output_layer = model.get_output_embeddings()
    tied = output_layer is None or output_layer.weight is model.get_input_embeddings().weight
    old_output = None if tied else _mean_row(output_layer.weight)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        _fill_rows(model.get_input_embeddings().weight, current, old_input)
        if old_output is not None:
            _fill_rows(model.get_output_embeddings().weight, current, old_output)
    _sync_special_token_ids(model, tokenizer)
    return True


def _gathered(weight):
    # Under ZeRO-3 every rank holds a shard; gather the full matrix, let rank 0 change it, re-partition.
    from transformers.integrations import is_deepspeed_zero3_enabled

    if is_deepspeed_zero3_enabled():
        import deepspeed

        return deepspeed.zero.GatheredParameters([weight], modifier_rank=0)
    import contextlib

    return contextlib.nullcontext()


def _mean_row(weight):
    with _gathered(weight):
        return weight.detach().float().mean(dim=0).clone()


def _fill_rows(weight, start: int, row) -> None:
    with _gathered(weight):
        weight[start:] = row.to(weight.dtype)


def _sync_special_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    # generate() reads pad/eos from the generation config; a stale pad id there pads with a real token.
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        if model.generation_config.eos_token_id is None:
            model.generation_config.eos_token_id = tokenizer.eos_token_id


def default_corpus() -> list[Path]:
    """The Python standard library's top-level modules: a code corpus present on every machine."""
    return sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))


def corpus_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, folders (recursively, ``.py``/``.txt``/``.md``/``.rst``) and glob patterns into files.

    Raises:
        UserError: a path that matches nothing.
    """
    import glob

    paths = list(paths)
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in CORPUS_SUFFIXES)
        else:
            pattern = str(path)
            matches = sorted(p for p in map(Path, glob.glob(pattern, recursive=True)) if p.is_file())
            if not matches:
                raise UserError(f"corpus path {str(raw)!r} does not exist or matches no file")
            files += matches
    if not files:
        raise UserError(f"the corpus {[str(p) for p in paths]} holds no {'/'.join(CORPUS_SUFFIXES)} file")
    # A file named twice (by a folder and a glob, say) is still one document.
    return list(dict.fromkeys(path.resolve() for path in files))


def train_tokenizer(files: Iterable[str | os.PathLike], *, vocab_size: int) -> PreTrainedTokenizerBase:
    """Train a byte-level BPE tokenizer (GPT-NeoX style) on plain-text files, with ``<|diff|>`` built in.

    Byte-level means every string can be encoded (no unknown token); ``<|endoftext|>`` is the BOS, EOS and
    unknown token as in GPT-NeoX, ``<|padding|>`` pads, and ``<|diff|>`` is one special token.

    Args:
        files: the training corpus (see [`corpus_files`]).
        vocab_size: the size to aim for; a small corpus may give fewer tokens.

    Returns:
        A `transformers` fast tokenizer, loadable by `AutoTokenizer` once saved.

    Example:
        >>> tokenizer = train_tokenizer(default_corpus()[:20], vocab_size=512)  # doctest: +SKIP
        >>> len(tokenizer("<|diff|>")["input_ids"])                             # doctest: +SKIP
        1
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    special_tokens = [END_OF_TEXT_TOKEN, PAD_TOKEN, DIFF_TOKEN]
    if vocab_size < 256 + len(special_tokens):
        raise UserError(f"--vocab-size {vocab_size} is too small: a byte-level tokenizer needs at least 259 tokens")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=sys.stdout.isatty(),  # off a terminal its bars are blank lines on stdout
    )
    backend.train([str(path) for path in files], trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=END_OF_TEXT_TOKEN,
        eos_token=END_OF_TEXT_TOKEN,
        unk_token=END_OF_TEXT_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[DIFF_TOKEN],
        model_max_length=1 << 30,
    )
