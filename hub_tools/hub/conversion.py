"""Turn PyTorch pickle checkpoints (``pytorch_model.bin``) into safetensors before they are published.

Pickles run code when loaded; safetensors files do not, and the Hub and ``transformers`` prefer them. The
original TinyCodeLM checkpoints are ``.bin`` files, so a push converts them on the way.
"""

from __future__ import annotations

import json
from pathlib import Path

from hub_tools.errors import UserError
from hub_tools.hub.upload_plan import PlannedFile, safetensors_name


def convert_checkpoint(source: Path, target: Path) -> None:
    """Write the tensors of a ``.bin`` checkpoint to a safetensors file.

    Tensors that share memory (tied input and output embeddings) are stored once each as separate
    copies, so every name the checkpoint had is still there and loads unchanged. The output depends
    only on the input, so converting the same checkpoint twice gives the same bytes (an unchanged
    re-push stays a no-op).

    Args:
        source: the ``pytorch_model.bin`` (or a shard of it).
        target: the ``.safetensors`` file to write.

    Example:
        >>> convert_checkpoint(Path("ckpt/pytorch_model.bin"), Path("out/model.safetensors"))  # doctest: +SKIP
    """
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError:
        raise UserError(
            f"{source} must be converted to safetensors, which needs torch: pip install 'hub-tools[train]'"
        ) from None
    try:
        # weights_only refuses arbitrary pickled objects: a checkpoint holds tensors and nothing else.
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserError(f"{source}: not a loadable PyTorch checkpoint ({error.__class__.__name__})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise UserError(f"{source}: expected a mapping of names to tensors (a model state dict)")
    seen_storage: set[int] = set()
    tensors = {}
    for name in sorted(state):
        tensor = state[name]
        key = tensor.untyped_storage().data_ptr()
        # safetensors refuses tensors that share storage: later names get their own copy.
        tensors[name] = tensor.detach().clone().contiguous() if key in seen_storage else tensor.contiguous()
        seen_storage.add(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target), metadata={"format": "pt"})


def rewrite_index(source: Path, target: Path) -> None:
    """Rewrite ``pytorch_model.bin.index.json`` for the converted shards (``model-0000i-of-0000n.safetensors``)."""
    index = json.loads(source.read_text())
    index["weight_map"] = {name: safetensors_name(shard) for name, shard in index["weight_map"].items()}
    target.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def materialize(planned: PlannedFile, staging: Path) -> Path:
    """Return the local file to upload for a planned file, converting or writing it into ``staging`` first."""
    if planned.content is not None:
        path = staging / planned.path_in_repo
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(planned.content)
        return path
    if not planned.convert_from:
        assert planned.source is not None
        return planned.source
    path = staging / planned.path_in_repo
    path.parent.mkdir(parents=True, exist_ok=True)
    (source,) = planned.convert_from
    if source.name.endswith(".index.json"):
        rewrite_index(source, path)
    else:
        convert_checkpoint(source, path)
    return path
