"""One random stream per sample: what a sample draws does not depend on what it is batched with.

transformers' sampling draws every row of a batch from one torch generator, so a sample's tokens depended on
the batch it fell in: with the batch size chosen from the free memory, the same seed gave other samples on
another device, beside another process, or after a batch was split because it did not fit. Here each sample
``copy`` of a prompt has a seed of its own (:func:`sample_seed`, from ``--seed``, the prompt and the copy: the
seeds a server is sent too), and :class:`StreamSampler` draws its tokens from that seed's stream alone:

- before a batch is generated, each row gets its uniform numbers, one per step, from NumPy's PCG64 seeded
  with the row's seed (the same numbers on any machine);
- at each step the processor turns the row's scores into the sampling distribution (temperature, then the
  nucleus: the most probable tokens whose mass reaches ``top_p``, ties broken by token id), and picks the
  token where the row's uniform falls in the cumulative distribution (in token-id order, in float64, or
  float32 on Apple's MPS, which has no float64);
- it hands transformers scores that are ``-inf`` everywhere but the picked token, and generation runs
  greedily, so nothing else draws.

A sample is then the same at any batch size up to the model's arithmetic: padding and batch shape change
the floating-point rounding of the scores, which moves a pick only where the uniform lands on the border
between two tokens.

What the distribution is made of is only ``temperature`` and ``top_p``. A model's ``generation_config.json``
may ask for more (Qwen2.5's asks for ``top_k: 20`` and ``repetition_penalty: 1.05``), which transformers
applies to every ``generate`` call that does not set them; :func:`plain_generation_config` stands in for it
during sampling, so two models are evaluated with the settings the command line and the journal name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def sample_seed(seed: int, key: str, copy: int) -> int:
    """The seed of sample ``copy`` of the problem ``key`` (its prompt): fixed by what is sampled, not by the
    problem's place in this run's selection, so a resumed run with other ``--task-ids`` or a larger ``--n``
    asks for new samples, never for ones it already has.

    >>> sample_seed(0, "def add(a, b):", 0) == sample_seed(0, "def add(a, b):", 0) != sample_seed(0, "def add(a, b):", 1)
    True
    """
    digest = hashlib.sha256(json.dumps([seed, key, copy]).encode("ascii")).digest()  # ASCII: json escapes
    return int.from_bytes(digest[:4], "big") % 2**31


def seed_keys(prompts: list[str]) -> Iterator[str]:
    """The key of each prompt for :func:`sample_seed`: the prompt, and which of the run's identical prompts it
    is (two equal ``--instruction`` need other seeds); a benchmark's prompts differ, so a problem's key does
    not depend on the selection."""
    seen: dict[str, int] = {}
    for prompt in prompts:
        seen[prompt] = seen.get(prompt, -1) + 1
        yield prompt if not seen[prompt] else f"{prompt}\0{seen[prompt]}"


class StreamSampler:
    """A transformers logits processor that samples each row from its own random stream (module docstring).

    Args:
        seeds: one seed per row of the batch.
        prompt_width: the batch's padded prompt length (the step is the sequence length past it).
        steps: the most tokens a row generates.
        temperature: softmax temperature (above 0).
        top_p: nucleus threshold in (0, 1].
        device: where the batch runs.
    """

    def __init__(self, seeds: list[int], prompt_width: int, steps: int, temperature: float, top_p: float,
                 device: torch.device | str):
        import numpy as np
        import torch

        uniforms = np.stack([np.random.Generator(np.random.PCG64(seed)).random(steps) for seed in seeds])
        # float64 for the cumulative sum over a large vocabulary; Apple's MPS has no float64.
        self.precision = torch.float32 if torch.device(device).type == "mps" else torch.float64
        self.uniforms = torch.from_numpy(uniforms).to(device=device, dtype=self.precision)
        self.prompt_width = prompt_width
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        import torch

        step = input_ids.shape[1] - self.prompt_width
        probabilities = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1:
            # Most probable first, ties by token id (a stable sort of the ids, which are in order).
            ordered, order = probabilities.sort(dim=-1, descending=True, stable=True)
            above = ordered.cumsum(dim=-1) - ordered  # the mass of the tokens before each one
            ordered = ordered.masked_fill(above >= self.top_p, 0.0)  # the first token always stays
            probabilities = torch.zeros_like(probabilities).scatter_(-1, order, ordered)
        cumulative = probabilities.to(self.precision).cumsum(dim=-1)
        # The row's uniform scaled to its total mass: the first token whose cumulative mass passes it has a
        # probability above zero (a token the nucleus left out adds nothing to the sum).
        target = self.uniforms[:, step:step + 1] * cumulative[:, -1:]
        picked = torch.searchsorted(cumulative, target, right=True).clamp_(max=scores.shape[-1] - 1)
        return torch.full_like(scores, float("-inf")).scatter_(-1, picked, 0.0)


@contextlib.contextmanager
def plain_generation_config(model, **settings) -> Iterator[None]:
    """Stand in for ``model.generation_config`` during sampling with one that holds only ``settings``
    (module docstring); the model's own is back afterwards."""
    from transformers import GenerationConfig

    own = model.generation_config
    model.generation_config = GenerationConfig(**settings)
    try:
        yield
    finally:
        model.generation_config = own
