"""Loading a causal LM for sampling: a local folder, a Hub id or a LoRA adapter folder, on the right device
and dtype; local paths that are not there fail before anything is imported or fetched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from hub_tools.errors import UNREADABLE_JSON, UserError, one_line
from hub_tools.local_paths import meant_as_local_path

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DTYPES = ("auto", "bfloat16", "float16", "float32")


def check_model_path(model_name_or_path: str) -> None:
    """Fail at once when ``model_name_or_path`` is meant as a local folder that is not there.

    A name is a local path when it starts with ``.``, ``/`` or ``~``, has more than one ``/``, or when its
    first component is a folder here (``outputs/tiny-lintseq`` with ``outputs/`` present). Such a name is
    never looked up on the Hub, where it would only fail after a minute of retries.

    Raises:
        UserError: naming the missing folder and the deepest part of the path that exists.

    Example:
        >>> check_model_path("/no/such/model")
        Traceback (most recent call last):
        ...
        hub_tools.errors.UserError: model path /no/such/model does not exist (/ has no folder no)
    """
    path = Path(model_name_or_path).expanduser()
    if path.exists() or not meant_as_local_path(model_name_or_path):
        return
    existing = path
    while not existing.exists() and existing != existing.parent:
        missing, existing = existing.name, existing.parent
    shown = str(existing) if str(existing) != "." else "the current folder"
    raise UserError(f"model path {model_name_or_path} does not exist ({shown} has no folder {missing})")


def pick_device(device: str | None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str | None, device: str):
    import torch

    if dtype is None:
        # bf16 where the hardware has it (half the memory, same quality for sampling), float32 elsewhere.
        use_bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if use_bf16 else torch.float32
    if dtype not in DTYPES:
        raise UserError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return dtype if dtype == "auto" else getattr(torch, dtype)


def load_model(
    model_name_or_path: str,
    *,
    revision: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer for sampling: a local folder, a Hub id, or a PEFT adapter folder.

    Args:
        model_name_or_path: a folder saved by ``lintseq train`` / ``save_pretrained``, a Hub model id, or
            a LoRA adapter folder (``adapter_config.json``; its base model is loaded and the adapter merged).
        revision: Hub revision (branch, tag or commit).
        device: ``cuda``, ``cpu``, ...; defaults to the GPU when there is one.
        dtype: ``auto``, ``bfloat16``, ``float16`` or ``float32``; defaults to bf16 on GPUs that have it.

    Returns:
        ``(model, tokenizer)``: the model in evaluation mode on ``device``, the tokenizer set to pad on the
        left (generation appends on the right).

    Raises:
        UserError: a local path that does not exist, or a model that cannot be loaded.

    Example:
        >>> model, tokenizer = load_model("outputs/tiny-lintseq")  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_model_path(model_name_or_path)
    path = Path(model_name_or_path).expanduser()
    device = pick_device(device)
    torch_dtype = pick_dtype(dtype, device)
    adapter = path / "adapter_config.json" if path.is_dir() else None
    base_name = model_name_or_path
    if adapter is not None and adapter.is_file():
        try:
            settings = json.loads(adapter.read_text(encoding="utf-8"))
        except UNREADABLE_JSON as error:
            raise UserError(f"{adapter}: not a LoRA adapter configuration ({one_line(error)})") from None
        base_name = (settings.get("base_model_name_or_path") if isinstance(settings, dict) else None) or ""
        base_name = base_name if isinstance(base_name, str) else ""
        if not base_name:
            raise UserError(f"{adapter} names no base_model_name_or_path; cannot load the adapter's base model")
    try:
        tokenizer_source = model_name_or_path if _has_tokenizer(path) or not path.exists() else base_name
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, revision=revision)
        model = AutoModelForCausalLM.from_pretrained(base_name, revision=None if adapter else revision,
                                                     dtype=torch_dtype)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load model {model_name_or_path!r}: {one_line(error)}") from None
    if adapter is not None and adapter.is_file():
        from peft import PeftModel

        # The adapter was trained with <|diff|> (and maybe a pad token) added: grow the base model the way
        # training did (new rows = the mean row) before the adapter's own rows are loaded over them.
        _grow_embeddings(model, len(tokenizer))
        model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device).eval(), tokenizer


# What makes a folder's model: its weights (and the configuration that shapes them), not its tokenizer or card.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".msgpack", ".h5")
_WEIGHT_NAMES = ("config.json", "adapter_config.json")


def weights_fingerprint(model_name_or_path: str) -> str | None:
    """A short digest of a local model folder's weight files: their names, sizes and modification times
    (``mtime_ns``), so that a folder whose weights were replaced (a model trained into it) is told apart from
    the one sampled before, without reading gigabytes. A LoRA adapter folder's digest covers its local base
    model folder too.

    Returns:
        16 hex digits, or ``None`` for a Hub id (its commit, the revision, tells its weights apart).

    Example:
        >>> weights_fingerprint("ORG/MODEL") is None
        True
    """
    path = Path(model_name_or_path).expanduser()
    if not path.is_dir():
        return None
    listing = _weight_files(path)
    try:
        base = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
        base_path = Path(base).expanduser()
        listing.append(["base", _weight_files(base_path) if base_path.is_dir() else base])
    except (OSError, *UNREADABLE_JSON, KeyError, TypeError):
        pass  # not an adapter (or an unreadable one, which load_model refuses)
    return hashlib.sha256(json.dumps(listing).encode("utf-8")).hexdigest()[:16]


def _weight_files(folder: Path) -> list[list]:
    listing = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and (entry.name.endswith(_WEIGHT_SUFFIXES) or entry.name in _WEIGHT_NAMES):
            status = entry.stat()
            listing.append([entry.name, status.st_size, status.st_mtime_ns])
    return listing


def _grow_embeddings(model: PreTrainedModel, size: int) -> None:
    import torch

    current = model.get_input_embeddings().num_embeddings
    if size <= current:
        return
    layers = [model.get_input_embeddings(), model.get_output_embeddings()]
    if layers[1] is None or layers[1].weight is layers[0].weight:
        layers = layers[:1]
    means = [layer.weight.detach().float().mean(dim=0) for layer in layers]
    model.resize_token_embeddings(size, mean_resizing=False)
    layers = [model.get_input_embeddings(), model.get_output_embeddings()][: len(means)]
    with torch.no_grad():
        for layer, mean in zip(layers, means, strict=True):
            layer.weight[current:] = mean.to(layer.weight.dtype)


def _has_tokenizer(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))


TRAINING_RECORD = "lintseq_training.json"


def trained_on_edit_sequences(model: str | None, revision: str | None = None) -> bool | None:
    """The ``edit_sequence`` that ``lintseq train`` recorded for a model, or ``None`` (no record, or one
    without it): in a local folder, in the run folder above a ``checkpoint-N`` folder, or in a Hub repository
    (``lintseq push`` uploads the record), read from the cache or the Hub.
    """
    if not model:
        return None
    folder = Path(model).expanduser()
    if folder.is_dir():
        candidates = [folder / TRAINING_RECORD]
        if folder.name.startswith("checkpoint-"):
            candidates.append(folder.parent / TRAINING_RECORD)
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
    else:
        path = None if meant_as_local_path(model) else _hub_training_record(model, revision)
    if path is None:
        return None
    try:
        recorded = json.loads(Path(path).read_text(encoding="utf-8")).get("edit_sequence")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return recorded if isinstance(recorded, bool) else None


def _hub_training_record(repo_id: str, revision: str | None) -> str | None:
    """The training record of a Hub model, downloaded (or from the cache); ``None`` when it has none or the
    Hub cannot say. Called once the model itself has loaded, so the Hub (or the offline cache) is there."""
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo_id, TRAINING_RECORD, revision=revision)
    except Exception:  # no such file, not a repository id, offline without it cached: no record
        return None
