"""Push a tiny model through the Hub protocol and load it back with transformers."""

from __future__ import annotations

import json

import pytest

from hub_tools.hub import ModelCardConfig, push_model

PROGRAM = "def x ( n ) : return n + 1 <|diff|> @@ print ( len ( x ) )"


def _reference_outputs(folder):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tokenizer(PROGRAM, return_tensors="pt").input_ids
    with torch.no_grad():
        return ids, model(ids).logits


def test_bin_checkpoint_arrives_as_safetensors_and_loads_identically(hub, tiny_model_folder, tmp_path,
                                                                      metrics_file, make_model_copy):
    import torch
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = make_model_copy(tiny_model_folder, tmp_path / "tinycodelm-bin", as_bin=True)
    ids, logits = _reference_outputs(folder)
    card = ModelCardConfig(eval_results=[metrics_file], base_model="lintseq-org/tinycodelm-150m",
                           datasets=["lintseq-org/lintseq-humaneval"])
    result = push_model(folder, "lintseq-org/tinycodelm-tiny", card=card)

    stored = hub.store.tree("model", "lintseq-org/tinycodelm-tiny", "main")
    assert "model.safetensors" in stored and stored["model.safetensors"].lfs
    assert not any(path.endswith(".bin") for path in stored)
    assert "model.safetensors" in result.uploaded

    tokenizer = AutoTokenizer.from_pretrained("lintseq-org/tinycodelm-tiny")
    model = AutoModelForCausalLM.from_pretrained("lintseq-org/tinycodelm-tiny").eval()
    remote_ids = tokenizer(PROGRAM, return_tensors="pt").input_ids
    assert torch.equal(remote_ids, ids)
    assert tokenizer.convert_ids_to_tokens(remote_ids[0].tolist()).count("<|diff|>") == 1
    with torch.no_grad():
        assert torch.equal(model(remote_ids).logits, logits)

    loaded = ModelCard.load("lintseq-org/tinycodelm-tiny")
    assert loaded.data.base_model == "lintseq-org/tinycodelm-150m"
    assert loaded.data.datasets == ["lintseq-org/lintseq-humaneval"]
    assert loaded.data.library_name == "transformers" and loaded.data.pipeline_tag == "text-generation"
    assert "lintseq" in loaded.data.tags
    values = {result.metric_type: result.metric_value for result in loaded.data.eval_results}
    assert values == {"pass@1": 12.8, "pass@10": 20.6}
    assert {result.dataset_type for result in loaded.data.eval_results} == {"openai/openai_humaneval"}
    assert "| tinycodelm-tiny on HumanEval | 12.8 | 20.6 |" in loaded.text  # the TinyCodeLM template

    # Converting the same checkpoint again gives the same bytes: nothing to commit.
    commits = len(hub.commits("model", "lintseq-org/tinycodelm-tiny"))
    again = push_model(folder, "lintseq-org/tinycodelm-tiny", card=card)
    assert not again.committed and again.uploaded == []
    assert len(hub.commits("model", "lintseq-org/tinycodelm-tiny")) == commits


def test_training_state_and_logs_stay_home_unless_asked(hub, tiny_model_folder, tmp_path, make_model_copy):
    folder = make_model_copy(tiny_model_folder, tmp_path / "run")
    (folder / "optimizer.pt").write_bytes(b"\0" * 64)
    (folder / "rng_state.pth").write_bytes(b"\0" * 8)
    (folder / "trainer_state.json").write_text(json.dumps({"epoch": 2.0, "global_step": 6,
                                                           "log_history": [{"loss": 2.5}, {"loss": 1.25}]}))
    (folder / "runs").mkdir()
    (folder / "runs" / "events.out.tfevents.1").write_bytes(b"log")
    (folder / "checkpoint-3").mkdir()
    # A real checkpoint's weights: a broken safetensors file would be refused (see test_publishing_policy).
    (folder / "checkpoint-3" / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())

    result = push_model(folder, "alice/run")
    stored = set(hub.store.tree("model", "alice/run", "main"))
    assert stored == {".gitattributes", "README.md", "config.json", "generation_config.json", "model.safetensors",
                      "tokenizer.json", "tokenizer_config.json"}
    left_out = dict(result.plan.left_out)
    assert "--include-training-state" in left_out["optimizer.pt"]
    assert "--include-logs" in left_out["runs/events.out.tfevents.1"]
    assert "checkpoint" in left_out["checkpoint-3/model.safetensors"]
    card = hub.store.read_object(hub.store.tree("model", "alice/run", "main")["README.md"].sha256).decode()
    assert "2 epoch(s), 6 optimizer steps, final training loss 1.25" in card  # read from trainer_state.json,
    # even though the file itself stays home

    push_model(folder, "alice/run", include_training_state=True, include_logs=True, include=("checkpoint-*",))
    stored = set(hub.store.tree("model", "alice/run", "main"))
    assert {"optimizer.pt", "rng_state.pth", "trainer_state.json", "runs/events.out.tfevents.1",
            "checkpoint-3/model.safetensors"} <= stored


def test_resharded_weights_replace_the_old_shards(hub, tiny_model_folder, tmp_path, make_model_copy):
    from transformers import AutoModelForCausalLM

    folder = make_model_copy(tiny_model_folder, tmp_path / "model")
    push_model(folder, "alice/model")
    model = AutoModelForCausalLM.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    model.save_pretrained(folder, max_shard_size="40KB")
    shards = sorted(path.name for path in folder.glob("model-*.safetensors"))
    assert len(shards) > 1
    result = push_model(folder, "alice/model")
    assert result.deleted == ["model.safetensors"]
    stored = set(hub.store.tree("model", "alice/model", "main"))
    assert {*shards, "model.safetensors.index.json"} <= stored and "model.safetensors" not in stored
    reloaded = AutoModelForCausalLM.from_pretrained("alice/model")
    assert all((a == b).all() for a, b in zip(reloaded.state_dict().values(), model.state_dict().values(), strict=True))


def test_sharded_bin_checkpoint_is_converted_with_its_index(hub, tiny_model_folder, tmp_path, make_model_copy):
    import torch
    from safetensors.torch import load_file

    folder = make_model_copy(tiny_model_folder, tmp_path / "sharded")
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    names = sorted(state)
    halves = {"pytorch_model-00001-of-00002.bin": names[: len(names) // 2],
              "pytorch_model-00002-of-00002.bin": names[len(names) // 2:]}
    for shard, shard_names in halves.items():
        torch.save({name: state[name] for name in shard_names}, folder / shard)
    weight_map = {name: shard for shard, shard_names in halves.items() for name in shard_names}
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))

    ids, logits = _reference_outputs(folder)
    push_model(folder, "alice/sharded")
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("alice/sharded").eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, logits)
    stored = set(hub.store.tree("model", "alice/sharded", "main"))
    assert {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            "model.safetensors.index.json"} <= stored


def test_training_record_fills_the_card_and_is_published(hub, tiny_model_folder, tmp_path, make_model_copy):
    from huggingface_hub import ModelCard

    folder = make_model_copy(tiny_model_folder, tmp_path / "baseline-run")
    (tmp_path / "outputs" / "tiny-init").mkdir(parents=True)
    record = {"base_model": "lintseq-org/tinycodelm-150m", "dataset": "lintseq-org/lintseq-humaneval",
              "dataset_config": "baseline", "loss_reduction": "sum", "learning_rate": 0.0003,
              "num_train_epochs": 10, "max_steps": -1, "use_peft": False, "edit_sequence": False}
    (folder / "lintseq_training.json").write_text(json.dumps(record))
    push_model(folder, "alice/baseline-run")
    card = ModelCard.load("alice/baseline-run")
    assert card.data.base_model == "lintseq-org/tinycodelm-150m"
    assert card.data.datasets == ["lintseq-org/lintseq-humaneval"]
    assert "10 epoch(s), learning rate 0.0003, loss summed over tokens" in card.text
    assert "edit_sequence=False" in card.text  # a baseline model: whole programs
    assert "lintseq_training.json" in hub.store.tree("model", "alice/baseline-run", "main")
    # Sampling the published model reads the record too: a baseline model is prompted as one.
    from hub_tools.inference.local import trained_on_edit_sequences

    assert trained_on_edit_sequences("alice/baseline-run") is False
    assert trained_on_edit_sequences("alice/no-such-model") is None

    # A local path is not a Hub id: it stays out of the metadata.
    record["base_model"] = str(tmp_path / "outputs" / "tiny-init")
    (folder / "lintseq_training.json").write_text(json.dumps(record))
    push_model(folder, "alice/baseline-run")
    assert ModelCard.load("alice/baseline-run").data.base_model is None


@pytest.mark.parametrize("content, message", [
    ("{", "metrics.json:1: not valid JSON"),
    ('{"benchmark": "humaneval", "n": ' + "9" * 5000 + "}", "metrics.json: cannot read it as JSON (Exceeds the limit"),
    ("[" * 100_000 + "]" * 100_000, "metrics.json: cannot read it as JSON (maximum recursion depth exceeded"),
    ('{"benchmark": "humaneval"}', "metrics.json: field 'pass_at_k' is missing"),
    ('{"benchmark": "humaneval", "pass_at_k": {"pass@1": 12.8}}', "'pass_at_k.pass@1' must be a fraction in"),
])
def test_bad_results_file_is_named_with_its_field(tmp_path, tiny_model_folder, content, message):
    from hub_tools.errors import UserError

    path = tmp_path / "metrics.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        push_model(tiny_model_folder, "alice/x", card=ModelCardConfig(eval_results=[path]), dry_run=True)


def test_folder_without_model_is_refused(tmp_path):
    from hub_tools.errors import UserError

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match="has no weights"):
        push_model(tmp_path, "alice/x", dry_run=True)
    with pytest.raises(UserError, match="is not a folder"):
        push_model(tmp_path / "missing", "alice/x", dry_run=True)
    (tmp_path / "config.json").unlink()
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(UserError, match=r"has no config\.json"):
        push_model(tmp_path, "alice/x", dry_run=True)
