"""Checks that turn the usual set-up mistakes into one-line explanations before any weight is loaded.

They run on the parsed option values (before transformers builds its `TrainingArguments`, whose own errors
are multi-line tracebacks), so a recipe written for a GPU cluster fails on a laptop with a sentence that
says which option to change.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from hub_tools.errors import UserError


def check_environment(options: dict[str, Any]) -> None:
    """Check precision, DeepSpeed and the model path against this machine.

    Args:
        options: the parsed option values of ``lintseq train`` (field name -> value).

    Raises:
        UserError: bf16 asked where it is not supported, DeepSpeed asked but not installed (or its config
            file missing), a local model path that does not exist.
    """
    check_precision(options)
    check_deepspeed(options)
    check_model_path(options.get("model_name_or_path"))


def _has_accelerator() -> bool:
    import torch

    if torch.cuda.is_available():
        return True
    # Other accelerators transformers supports for bf16; their own checks apply there.
    for name in ("xpu", "npu", "mps"):
        backend = getattr(torch, name, None) or getattr(torch.backends, name, None)
        if backend is not None and getattr(backend, "is_available", lambda: False)():
            return True
    return False


def check_precision(options: dict[str, Any]) -> None:
    """bf16 is on by default in TRL and in the paper's recipes; say how to turn it off where it cannot work."""
    bf16 = options.get("bf16")
    if bf16 is None:  # TRL's default: bf16 unless fp16 was asked for
        bf16 = not options.get("fp16", False)
    if not bf16 or options.get("use_cpu"):
        return
    import torch

    if torch.cuda.is_available():
        if not torch.cuda.is_bf16_supported():
            name = torch.cuda.get_device_name()
            raise UserError(f"bf16 is on but the GPU ({name}) does not support bfloat16; add --bf16 false --fp16 true")
        return
    if not _has_accelerator():
        raise UserError(
            "bf16 is on (the recipes' and TRL's default) but this machine has no GPU; add --bf16 false to train "
            "in float32 on the CPU (or --use_cpu true to keep bf16 autocast on the CPU)"
        )


def _deepspeed_requested(options: dict[str, Any]) -> bool:
    # `accelerate launch --config_file zero3.yaml` asks for DeepSpeed through the environment.
    launched_with = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() in ("1", "true", "yes")
    return bool(options.get("deepspeed")) or launched_with


def check_deepspeed(options: dict[str, Any]) -> None:
    """DeepSpeed must be importable and its config file must exist when a run asks for it."""
    if not _deepspeed_requested(options):
        return
    if importlib.util.find_spec("deepspeed") is None:
        raise UserError(
            "DeepSpeed is asked for (--deepspeed or an accelerate DeepSpeed config) but not installed; "
            "install it with: pip install 'hub-tools[deepspeed]'"
        )
    config = options.get("deepspeed")
    if isinstance(config, str) and not config.lstrip().startswith("{") and not Path(config).is_file():
        raise UserError(f"--deepspeed {config}: no such DeepSpeed config file")


def check_model_path(model_name_or_path: str | None) -> None:
    """A model must be named, and a local path must exist (a Hub id is checked when it is loaded)."""
    if not model_name_or_path:
        raise UserError(
            "no model given: set model_name_or_path in the recipe's 'model' section or pass --model_name_or_path"
        )
    path = Path(model_name_or_path).expanduser()
    if path.exists():
        if path.is_dir() and not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise UserError(f"model path {model_name_or_path} has no config.json; is it a saved model folder?")
        return
    from hub_tools.local_paths import meant_as_local_path

    if meant_as_local_path(model_name_or_path):
        raise UserError(
            f"model path {model_name_or_path} does not exist; build a checkpoint with 'lintseq init-model "
            f"--preset tiny --output-dir {model_name_or_path}' or give a Hub model id (org/name)"
        )
