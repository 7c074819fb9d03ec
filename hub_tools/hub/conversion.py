"""Turn PyTorch pickle checkpoints (``pytorch_model.bin``) into safetensors before they are published.

Pickles run code when loaded; safetensors files do not, and the Hub and ``transformers`` prefer them. The
original TinyCodeLM checkpoints are ``.bin`` files, so a push converts them on the way.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from hub_tools.errors import UserError
from hub_tools.hub.folder_policy import file_identity
from hub_tools.hub.upload_plan import PlannedFile, safetensors_name


def convert_checkpoint(source: Path) -> bytes:
    """Return the tensors of a ``.bin`` checkpoint as safetensors bytes.

    Tensors that share memory (tied input and output embeddings) are stored once each as separate
    copies, so every name the checkpoint had is still there and loads unchanged. The output depends
    only on the input, so converting the same checkpoint twice gives the same bytes (an unchanged
    re-push stays a no-op).

    Args:
        source: the ``pytorch_model.bin`` (or a shard of it).

    Returns:
        The content of the ``.safetensors`` file.

    Example:
        >>> Path("out/model.safetensors").write_bytes(convert_checkpoint(Path("ckpt/pytorch_model.bin")))  # doctest: +SKIP
    """
    try:
        import torch
        from safetensors.torch import save
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
    return save(tensors, metadata={"format": "pt"})


def rewrite_index(source: Path) -> bytes:
    """Rewrite ``pytorch_model.bin.index.json`` for the converted shards (``model-0000i-of-0000n.safetensors``)."""
    index = json.loads(source.read_text())
    index["weight_map"] = {name: safetensors_name(shard) for name, shard in index["weight_map"].items()}
    return (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()


def materialize(planned: PlannedFile) -> bytes | BinaryIO:
    """Return what to upload for a planned file: the file itself (open), or content made by the push.

    Nothing is written under a name: a converted checkpoint goes to an unnamed temporary file, which the
    operating system removes when the process ends however it ends (``kill -9`` included).
    """
    if planned.content is not None:
        return planned.content
    if not planned.convert_from:
        assert planned.source is not None
        return _open_unchanged(planned)
    (source,) = planned.convert_from
    if source.name.endswith(".index.json"):
        return rewrite_index(source)
    content = convert_checkpoint(source)
    # Unnamed (O_TMPFILE where the file system has it, else unlinked at once): no staging folder to leave.
    handle = tempfile.TemporaryFile(prefix="lintseq-push-")  # noqa: SIM115 (closed by the push once sent)
    handle.write(content)
    handle.seek(0)
    return handle


def allow_open_files(count: int) -> None:
    """Let this process hold ``count`` files open (each planned file stays open from its check to the commit:
    :func:`_open_unchanged`), raising the soft limit as far as the hard one allows. A dataset of 2,000 shards
    ran past the usual soft limit of 1,024."""
    try:
        import resource
    except ImportError:  # not a POSIX system: its limits are its own
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = count + 256  # the connections and what Python itself holds
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        refused = None if target >= needed else f"at most {hard:,} files, ulimit -Hn"
    except (ValueError, OSError) as error:  # macOS caps it below an "unlimited" hard limit (OPEN_MAX)
        refused = str(error)
    if refused:
        raise UserError(f"pushing {count:,} files keeps each open until the commit, and this process may not open "
                        f"that many ({refused}): raise the limit (ulimit -n)")


def _open_unchanged(planned: PlannedFile) -> BinaryIO:
    """Open the file that was planned, or raise: the upload reads this open file, never the name again.

    A name swapped for a link (``O_NOFOLLOW``), a hard link, a copy or an edited file since the scan
    (another device, inode, size or modification time) is refused, so what was checked is what is sent.
    """
    source = planned.source
    changed = f"{source} changed while pushing (it is now a link or another file): push again"
    try:
        if os.path.realpath(source) != str(source):  # a folder above it swapped for a link
            raise UserError(changed)
        # O_NONBLOCK: a FIFO swapped in opens at once instead of waiting for a writer (then fstat refuses it).
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        descriptor = os.open(source, flags)
    except OSError as error:
        if error.errno in (errno.EMFILE, errno.ENFILE):
            raise UserError(f"{source}: too many open files ({error.strerror}); raise the limit (ulimit -n)") from None
        raise UserError(changed) from None
    file = os.fdopen(descriptor, "rb")
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode) or (planned.identity is not None
                                            and planned.identity != file_identity(status)):
        file.close()
        raise UserError(changed)
    return file
