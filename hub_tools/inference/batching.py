"""How sampling jobs are cut into batches: as many sequences as the device's memory holds, and never a batch
that runs past the model's context.

The memory is estimated from the model's config before the first batch (:func:`auto_batch_size`); an estimate
can be wrong (other processes on the GPU, an unusual architecture), and a batch the device then cannot hold is
generated in halves by :mod:`hub_tools.inference.local`. The context (:func:`context_length`) bounds every
row of a batch, finished or not: rows step together, and a model with learned positions (GPT-2) cannot look
a position up past its context.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def auto_batch_size(model: PreTrainedModel, sequence_length: int, num_sequences: int) -> int:
    """How many sequences of ``sequence_length`` tokens to generate together on the model's device.

    The key/value cache, the last logits and the prompt's activations of one sequence are estimated from
    the model's config; the batch takes 60% of the memory free on the GPU (40% of the available RAM on a
    CPU), at most 256 sequences on a GPU and 64 on a CPU (past that a CPU gains nothing) and at most
    ``num_sequences``.
    """
    import torch

    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    heads = getattr(config, "num_attention_heads", None) or 8
    width = getattr(config, "hidden_size", None) or 1024
    head_size = getattr(config, "head_dim", None) or width // heads
    key_value_heads = getattr(config, "num_key_value_heads", None) or heads
    layers = getattr(config, "num_hidden_layers", None) or 12
    vocabulary = getattr(config, "vocab_size", None) or 50_000
    parameter = next(model.parameters())
    element = parameter.element_size()
    cache = 2 * layers * key_value_heads * head_size * element * sequence_length
    activations = 4 * sequence_length * (width + (getattr(config, "intermediate_size", None) or 4 * width)) * element
    per_sequence = cache + activations + 16 * vocabulary
    if parameter.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(parameter.device)
        budget, ceiling = 0.6 * free, 256
    else:
        budget, ceiling = 0.4 * _available_memory(), 64
    return max(1, min(ceiling, num_sequences, int(budget // per_sequence)))


def _available_memory() -> int:
    try:
        import psutil

        return psutil.virtual_memory().available
    except ImportError:  # psutil comes with the eval extra; without it, the POSIX page counts
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def context_length(model: PreTrainedModel) -> int | None:
    """The most positions the model's configuration says it reads (``None`` when it does not say)."""
    value = getattr(model.config, "max_position_embeddings", None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def batches(order: list[tuple[int, int]], batch_size: int, lengths: list[int], limits: list[int],
            context: int | None) -> Iterator[list[tuple[int, int]]]:
    """``order`` cut into batches of at most ``batch_size`` jobs, where a batch's longest prompt and largest
    limit fit the context together: every row of a batch steps as long as the longest runs, and its
    positions grow with it, padded or not."""
    batch, longest, most = [], 0, 0
    for job in order:
        length, limit = lengths[job[0]], limits[job[0]]
        if batch and (len(batch) == batch_size
                      or (context is not None and max(longest, length) + max(most, limit) > context)):
            yield batch
            batch, longest, most = [], 0, 0
        batch.append(job)
        longest, most = max(longest, length), max(most, limit)
    if batch:
        yield batch
