"""Each sample draws from its own random stream: the same seed gives the same samples at any batch size, and
only the temperature and top_p asked for shape the distribution (not the model's generation_config)."""

from __future__ import annotations

import pytest

from hub_tools.inference.local import SamplingConfig, load_model, sample_programs
from hub_tools.inference.sample_streams import StreamSampler

INSTRUCTIONS = ["Return the sum of a list.", "Reverse a string.", "Count vowels.", "Sort the words."]


def _completions(model, tokenizer, **settings) -> list[list[str]]:
    config = SamplingConfig(**{"n": 3, "temperature": 1.0, "top_p": 0.95, "max_new_tokens": 16, "seed": 11, **settings})
    return [[sample.completion for sample in samples]
            for samples in sample_programs(model, tokenizer, INSTRUCTIONS, config, progress=False)]


def test_the_same_seed_gives_the_same_samples_at_any_batch_size(tiny_model):
    # One torch generator for a whole batch made a sample depend on its batch: the batch size comes from the
    # free memory, so the same --seed gave other samples on another device.
    model, tokenizer = load_model(str(tiny_model))
    by_size = {size: _completions(model, tokenizer, batch_size=size) for size in (1, 5, 12)}
    assert by_size[1] == by_size[5] == by_size[12]
    assert len({text for samples in by_size[1] for text in samples}) > 6  # samples, not one greedy answer
    # A sample's stream is its own: asking for fewer copies or fewer prompts leaves the others unchanged.
    fewer = _completions(model, tokenizer, n=2, batch_size=3)
    assert fewer == [samples[:2] for samples in by_size[1]]
    assert _completions(model, tokenizer, seed=12, batch_size=5) != by_size[5]


def test_the_models_generation_config_does_not_change_the_sampling(tiny_model):
    # A model's generation_config.json (Qwen2.5's asks for top_k 20 and repetition_penalty 1.05) was applied to
    # every sample by transformers, under settings the command line and the journal did not name.
    model, tokenizer = load_model(str(tiny_model))
    plain = _completions(model, tokenizer, batch_size=4)
    greedy = _completions(model, tokenizer, temperature=0, batch_size=4)
    own = model.generation_config
    own.top_k, own.repetition_penalty, own.no_repeat_ngram_size, own.suppress_tokens = 1, 5.0, 2, [3, 4, 5]
    assert _completions(model, tokenizer, batch_size=4) == plain
    assert _completions(model, tokenizer, temperature=0, batch_size=4) == greedy
    assert model.generation_config is own and own.top_k == 1  # the model's own config is back afterwards


def test_the_stream_sampler_draws_from_the_tempered_nucleus():
    import torch

    scores = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -30.0]])
    rows = 4000
    sampler = StreamSampler(list(range(rows)), prompt_width=3, steps=2, temperature=0.7, top_p=0.9, device="cpu")
    picked = []
    for step_ids in (torch.zeros(rows, 3, dtype=torch.long), torch.zeros(rows, 4, dtype=torch.long)):
        out = sampler(step_ids, scores.expand(rows, -1))
        assert torch.isinf(out).sum(dim=-1).eq(5).all() and out.max(dim=-1).values.eq(0).all()  # one token a row
        picked.append(out.argmax(dim=-1))
    probabilities = torch.softmax(scores[0] / 0.7, dim=-1)
    # The nucleus: the most probable tokens whose mass reaches 0.9.
    nucleus = probabilities[:3] if probabilities[:2].sum() < 0.9 <= probabilities[:3].sum() else None
    assert nucleus is not None
    expected = nucleus / nucleus.sum()
    for tokens in picked:
        counts = torch.bincount(tokens, minlength=6).double() / rows
        assert counts[3:].sum() == 0  # never outside the nucleus
        assert counts[:3].tolist() == pytest.approx(expected.tolist(), abs=0.03)
    assert not torch.equal(picked[0], picked[1])  # each step draws a new number


def test_a_row_picks_the_same_token_whatever_its_neighbours():
    import torch

    scores = torch.randn(6, 50, generator=torch.Generator().manual_seed(0))
    together = StreamSampler([5, 6, 7, 8, 9, 10], 1, 4, 1.0, 0.8, "cpu")(torch.zeros(6, 2, dtype=torch.long), scores)
    alone = StreamSampler([8], 1, 4, 1.0, 0.8, "cpu")(torch.zeros(1, 2, dtype=torch.long), scores[3:4])
    assert together[3].argmax() == alone[0].argmax()
