"""LoRA through PEFT, and a real DeepSpeed ZeRO-3 run on the CPU (one process, gloo), both via ``lintseq train``."""

from __future__ import annotations

import json
import socket

import pytest
import torch

from hub_tools.inference.local import SamplingConfig, load_model, sample_programs, uses_edit_sequences
from hub_tools.lintseq import DIFF_TOKEN


def test_lora_adapter_is_saved_trains_the_new_token_and_reloads(cli, plain_model, edit_dataset, tmp_path):
    from safetensors.torch import load_file

    output = tmp_path / "lora"
    result = cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(plain_model),
                 "--dataset_name", str(edit_dataset), "--output_dir", str(output), "--max_steps", "4",
                 "--use_peft", "true", "--lora_r", "4", "--lora_alpha", "8",
                 "--lora_target_modules", "q_proj", "v_proj", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    adapter_config = json.loads((output / "adapter_config.json").read_text())
    assert adapter_config["peft_type"] == "LORA" and adapter_config["r"] == 4
    assert adapter_config["base_model_name_or_path"] == str(plain_model.resolve())
    assert not (output / "model.safetensors").exists()  # an adapter, not a full copy
    weights = load_file(output / "adapter_model.safetensors")
    assert any("lora_A" in name for name in weights)
    # <|diff|> and <|padding|> were added to a tokenizer that had neither; their rows are trained.
    (delta,) = [tensor for name, tensor in weights.items() if name.endswith("trainable_tokens_delta")]
    assert delta.shape[0] == 2

    model, tokenizer = load_model(str(output))
    assert uses_edit_sequences(tokenizer) and tokenizer.pad_token == "<|padding|>"
    diff_id = tokenizer.convert_tokens_to_ids(DIFF_TOKEN)
    embedding = model.get_input_embeddings().weight
    assert embedding.shape[0] == len(tokenizer)
    # The merged row is the trained one, not the mean row it started from.
    trained_row = delta[sorted(tokenizer.convert_tokens_to_ids([DIFF_TOKEN, "<|padding|>"])).index(diff_id)]
    assert torch.allclose(embedding[diff_id], trained_row, atol=1e-6)
    assert not torch.allclose(embedding[diff_id], embedding[: diff_id].mean(0), atol=1e-4)
    (samples,) = sample_programs(model, tokenizer, ["Write f."], SamplingConfig(max_new_tokens=8), progress=False)
    assert samples[0].edit_sequence


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# DeepSpeed compiles its shared-memory collective op (C++ against torch's headers: a minute of this test's two,
# in every fresh extensions folder) when a CPU process group starts. The command runs with the op marked as not
# buildable, as DeepSpeed marks it off Linux: the collectives of the one rank go through gloo instead.
WITHOUT_SHARED_MEMORY_OP = (
    "import sys\n"
    "from deepspeed.ops.op_builder.cpu.comm import ShareMemCommBuilder\n"
    "ShareMemCommBuilder.is_compatible = lambda self, verbose=False: False\n"
    "from hub_tools.cli import main\n"
    "sys.exit(main())\n"
)


@pytest.mark.slow
def test_deepspeed_zero3_trains_on_cpu_and_saves_a_loadable_model(plain_model, edit_dataset, tmp_path):
    import os
    import subprocess
    import sys

    # The deepspeed extra is part of the test install: a missing DeepSpeed fails here, it is not skipped.
    from transformers import AutoModelForCausalLM

    # No `optimizer` block: DeepSpeed would compile its fused Adam for minutes; the Trainer's AdamW is used.
    config = {
        "zero_optimization": {"stage": 3, "stage3_gather_16bit_weights_on_model_save": True},
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "train_batch_size": "auto",
        "gradient_clipping": "auto",
    }
    (tmp_path / "zero3.json").write_text(json.dumps(config))
    output = tmp_path / "zero3-model"
    # One process of a gloo "cluster": the same environment torchrun / accelerate launch give each rank.
    environment = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                   "MASTER_PORT": str(_free_port())}
    # The plain model lacks <|diff|> and a pad token: the embeddings are resized on partitioned weights.
    command = [sys.executable, "-c", WITHOUT_SHARED_MEMORY_OP, "train", "--config", "tiny-lintseq",
               "--model_name_or_path", str(plain_model), "--dataset_name", str(edit_dataset), "--output_dir", str(output),
               "--max_steps", "3", "--per_device_train_batch_size", "4", "--deepspeed", str(tmp_path / "zero3.json"),
               "--logging_steps", "1"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **environment}, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    logged = [json.loads(line.replace("'", '"')) for line in result.stdout.splitlines() + result.stderr.splitlines()
              if line.startswith("{'loss'")]
    assert len(logged) == 3 and all(entry["loss"] for entry in logged)  # three ZeRO-3 optimizer steps
    trained = AutoModelForCausalLM.from_pretrained(output)
    start = AutoModelForCausalLM.from_pretrained(plain_model)
    assert trained.config.vocab_size == start.config.vocab_size + 2  # <|diff|> and <|padding|>
    old_rows = start.get_input_embeddings().weight
    new_rows = trained.get_input_embeddings().weight
    # The new rows started at the mean row (set on the gathered matrix) and moved a little in 3 steps: much
    # closer to it than the old rows are (a random start would be as far away as they are).
    mean = old_rows.mean(0)
    typical = (old_rows - mean).norm(dim=1).median()
    assert ((new_rows[-2:] - mean).norm(dim=1) < 0.35 * typical).all()
    changed = [name for name, weight in start.state_dict().items()
               if weight.shape == trained.state_dict()[name].shape and not torch.equal(weight, trained.state_dict()[name])]
    assert changed, "ZeRO-3 saved the untouched weights"


def test_two_data_parallel_processes_under_torchrun(torchrun, tiny_model, edit_dataset, tmp_path):
    """What `accelerate launch` does on GPUs, on the CPU: torchrun starts one `lintseq train` per rank (gloo)."""
    output = tmp_path / "ddp"
    result = torchrun(2, ["train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                          "--dataset_name", str(edit_dataset), "--output_dir", str(output), "--max_steps", "2",
                          "--per_device_train_batch_size", "2", "--global_batch_size", "8"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("saved to") == 1  # the main process reports, once
    arguments = torch.load(output / "training_args.bin", weights_only=False)
    # 8 sequences per step = 2 per process x 2 processes x 2 accumulation steps (one process would need 4).
    assert arguments.gradient_accumulation_steps == 2
    assert (output / "model.safetensors").is_file()
