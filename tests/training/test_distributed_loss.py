"""``loss_reduction: sum`` across processes: two ranks (torchrun, gloo, CPU) take the step one process takes.

The README says that under DDP / ZeRO-3 the gradient is that of the sum over all ranks. With plain SGD
(learning rate 1, no momentum, no weight decay, no clipping, constant schedule) one optimizer step moves every
weight by minus its gradient, so the saved weights tell the gradient apart: one process with the 16 rows of the
dataset in one batch, and two processes with 8 rows each, must move the weights by the same amount. Averaging
across ranks instead of summing would move them half as far; a single rank would see only 8 rows.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch


def _one_sgd_step(torchrun, tiny_model, edit_dataset, output, *, processes: int, batch_size: int) -> dict:
    from safetensors.torch import load_file

    arguments = ["train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                 "--dataset_name", str(edit_dataset), "--output_dir", str(output), "--max_steps", "1",
                 "--per_device_train_batch_size", str(batch_size), "--loss_reduction", "sum",
                 "--optim", "sgd", "--learning_rate", "1.0", "--lr_scheduler_type", "constant", "--warmup_steps", "0",
                 "--weight_decay", "0", "--max_grad_norm", "0", "--logging_steps", "1"]
    if processes > 1:
        result = torchrun(processes, arguments, env={"OMP_NUM_THREADS": "1"})
    else:
        result = subprocess.run([sys.executable, "-m", "hub_tools.cli", *arguments], capture_output=True, text=True,
                                timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return load_file(output / "model.safetensors")


@pytest.mark.slow
def test_two_processes_take_the_step_of_one_process_over_the_same_rows(torchrun, tiny_model, edit_dataset, tmp_path):
    from safetensors.torch import load_file

    start = load_file(tiny_model / "model.safetensors")
    one = _one_sgd_step(torchrun, tiny_model, edit_dataset, tmp_path / "one", processes=1, batch_size=16)
    two = _one_sgd_step(torchrun, tiny_model, edit_dataset, tmp_path / "two", processes=2, batch_size=8)
    assert set(one) == set(two) == set(start)
    for name in start:
        step_one, step_two = one[name] - start[name], two[name] - start[name]
        assert torch.allclose(step_two, step_one, rtol=1e-3, atol=1e-4 * float(step_one.abs().max()) + 1e-7), (
            name, float(step_one.norm()), float(step_two.norm()))
    moved = sum(float((one[name] - start[name]).norm()) for name in start)
    assert moved > 1.0  # a summed loss over ~1,000 completion tokens moves the weights a long way
