"""Tokenizer set-up and ``lintseq init-model``: real tokenizers trained here, real OLMo checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from hub_tools.errors import UserError
from hub_tools.lintseq import DIFF_TOKEN, format_completion, format_prompt
from hub_tools.training.tinycodelm import PRESETS, init_model, olmo_config
from hub_tools.training.tokenizer import PAD_TOKEN, prepare_tokenizer, resize_embeddings, train_tokenizer


def test_diff_is_one_special_token_in_every_context(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    diff_id = tokenizer.convert_tokens_to_ids(DIFF_TOKEN)
    assert DIFF_TOKEN in tokenizer.all_special_tokens
    edits = ["@@ -0,0 +1,2 @@\n+def f(x):\n+    return x", "@@ -2,0 +3 @@\n+print(f(1))"]
    text = format_prompt("Write f.") + format_completion(edits)
    ids = tokenizer(text)["input_ids"]
    # One id per occurrence, wherever it stands (after a newline, before '@@', before another newline).
    assert ids.count(diff_id) == text.count(DIFF_TOKEN) == 4
    assert tokenizer.decode(ids) == text
    # Padding is a token of its own, so "pad" never reads as "stop".
    assert tokenizer.pad_token == PAD_TOKEN and tokenizer.pad_token_id != tokenizer.eos_token_id


def test_prepare_tokenizer_adds_diff_and_pad_once_and_resize_uses_the_mean(corpus_file, tmp_path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    # A GPT-2-like tokenizer from elsewhere: an end-of-text token, no pad, no <|diff|>.
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train([str(corpus_file)], trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>").save_pretrained(tmp_path / "plain")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "plain")
    before = len(tokenizer)

    assert prepare_tokenizer(tokenizer) == [DIFF_TOKEN, PAD_TOKEN]
    assert len(tokenizer) == before + 2
    assert prepare_tokenizer(tokenizer) == []  # idempotent
    assert len(tokenizer("a\n<|diff|>b")["input_ids"]) == len(tokenizer("a\nb")["input_ids"]) + 1

    from transformers import OlmoConfig, OlmoForCausalLM

    model = OlmoForCausalLM(OlmoConfig(vocab_size=before, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, tie_word_embeddings=False))
    old = model.get_input_embeddings().weight.detach().clone()
    assert resize_embeddings(model, tokenizer)
    new = model.get_input_embeddings().weight.detach()
    assert new.shape[0] == len(tokenizer) and model.get_output_embeddings().weight.shape[0] == len(tokenizer)
    assert torch.equal(new[:before], old)
    # New rows start at the average token, deterministically (not at random), in both layers.
    assert torch.allclose(new[before:], old.mean(0).expand(2, -1), atol=1e-6)
    output = model.get_output_embeddings().weight.detach()
    assert torch.allclose(output[before:], output[:before].mean(0).expand(2, -1), atol=1e-6)
    assert model.config.pad_token_id == tokenizer.pad_token_id == model.generation_config.pad_token_id
    assert not resize_embeddings(model, tokenizer)


def test_init_model_cli_tiny_loads_with_auto_classes_without_custom_code(cli, corpus_file, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output = tmp_path / "tiny"
    result = cli("init-model", "--preset", "tiny", "--output-dir", str(output), "--corpus", str(corpus_file))
    assert result.returncode == 0, result.stderr
    assert "parameters" in result.stdout
    assert (output / "model.safetensors").is_file() and not list(output.glob("*.bin"))
    config = json.loads((output / "config.json").read_text())
    assert config["model_type"] == "olmo" and config["architectures"] == ["OlmoForCausalLM"]
    assert "auto_map" not in config  # no custom code
    # "a few hundred kilobytes"
    assert 50_000 < (output / "model.safetensors").stat().st_size < 1_000_000
    model = AutoModelForCausalLM.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    assert model.config.vocab_size >= len(tokenizer)
    assert len(tokenizer(DIFF_TOKEN)["input_ids"]) == 1
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id

    again = cli("init-model", "--preset", "tiny", "--output-dir", str(output), "--corpus", str(corpus_file))
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "not empty" in again.stderr  # never overwrites a checkpoint


def test_init_model_reuses_a_given_tokenizer(tiny_model, tmp_path):
    output = init_model("tiny", tmp_path / "reused", tokenizer_path=tiny_model, seed=1)
    assert json.loads((output / "tokenizer.json").read_text()) == json.loads((tiny_model / "tokenizer.json").read_text())
    with pytest.raises(UserError, match="not a folder"):
        init_model("tiny", tmp_path / "bad", tokenizer_path=tmp_path / "missing")


def test_same_seed_same_weights(tiny_model, tmp_path):
    from safetensors.torch import load_file

    first = init_model("tiny", tmp_path / "a", tokenizer_path=tiny_model, seed=3)
    second = init_model("tiny", tmp_path / "b", tokenizer_path=tiny_model, seed=3)
    third = init_model("tiny", tmp_path / "c", tokenizer_path=tiny_model, seed=4)
    a, b, c = (load_file(folder / "model.safetensors") for folder in (first, second, third))
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert not all(torch.equal(a[name], c[name]) for name in a)


@pytest.mark.parametrize(("preset", "low", "high"), [("tinycodelm-150m", 140e6, 165e6), ("tinycodelm-400m", 370e6, 430e6)])
def test_paper_presets_have_the_papers_shape_and_size(preset, low, high):
    from transformers import OlmoForCausalLM

    config = olmo_config(PRESETS[preset], vocab_size=50304, bos_token_id=0, eos_token_id=0, pad_token_id=1)
    expected = {"tinycodelm-150m": (12, 12, 768), "tinycodelm-400m": (24, 16, 1024)}[preset]
    assert (config.num_hidden_layers, config.num_attention_heads, config.hidden_size) == expected
    with torch.device("meta"):  # shapes only: no memory, no time
        model = OlmoForCausalLM(config)
    assert low < model.num_parameters() < high


def test_byte_level_tokenizer_encodes_any_text(corpus_file):
    tokenizer = train_tokenizer([corpus_file], vocab_size=300)
    text = "naïve = '日本語' # ünïcödé\n\tx = 1"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    with pytest.raises(UserError, match="too small"):
        train_tokenizer([corpus_file], vocab_size=100)


def test_a_corpus_too_small_for_the_vocabulary_is_noted(corpus_file, tmp_path, capsys):
    """BPE stops when no pair is left to merge: from a small corpus tinycodelm-150m had 116M parameters, silently."""
    init_model("tiny", tmp_path / "wide", corpus=[str(corpus_file)], vocab_size=60_000)
    assert "not the 60,000 aimed for" in capsys.readouterr().err
