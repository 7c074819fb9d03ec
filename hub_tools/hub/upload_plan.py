"""What a push uploads: the files of a dataset or model folder, chosen before anything touches the network.

A plan is plain data (paths, sizes, reasons), so ``--dry-run`` can print it and tests can check it without
a server. Model folders are filtered to what a model release needs (weights, configs, tokenizer, card);
``pytorch_model*.bin`` checkpoints are marked for conversion to safetensors.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from hub_tools.errors import UserError
from hub_tools.hub.folder_policy import LocalFile, display, format_problem, held_back_reason, scan_folder

# Files of a model release, matched against paths relative to the folder.
MODEL_RELEASE_PATTERNS = (
    "config.json", "generation_config.json", "adapter_config.json",
    "*.safetensors", "model.safetensors.index.json", "adapter_model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "vocab.txt", "merges.txt", "tokenizer.model", "spiece.model", "chat_template.jinja", "chat_template.json",
    "additional_chat_templates/*.jinja",
    # How the checkpoint was made (`lintseq init-model`, `lintseq train`): small, and what a reader wants.
    "tinycodelm.json", "lintseq_training.json",
)
# PyTorch pickles of the weights: converted, never uploaded as they are.
BIN_WEIGHT_PATTERNS = ("pytorch_model.bin", "pytorch_model-*-of-*.bin", "adapter_model.bin")
BIN_INDEX_NAME = "pytorch_model.bin.index.json"
# Left out unless ``include_training_state``: what resuming a run needs, not what using the model needs.
TRAINING_STATE_PATTERNS = (
    "optimizer.pt", "optimizer.bin", "scheduler.pt", "scaler.pt", "rng_state*.pth", "training_args.bin",
    "global_step*/*", "latest", "zero_to_fp32.py",
)
# Left out unless ``include_logs``.
LOG_PATTERNS = (
    "trainer_state.json", "*_results.json", "runs/*", "logs/*", "*.log", "events.out.tfevents*",
)
# Never part of a published dataset folder: partial writes and resume bookkeeping.
DATASET_SCRATCH_PATTERNS = ("*.tmp", "*.partial", "*.lock", "*.incomplete")


@dataclass
class PlannedFile:
    """One file of an upload.

    Args:
        path_in_repo: where it lands in the repository (posix path).
        source: the local file, or ``None`` when ``content`` holds it (a rendered card).
        size: bytes (for a conversion: the size of the source checkpoint, the result is close to it).
        convert_from: for weights converted to safetensors: the ``.bin`` file(s) they come from.
        content: bytes produced by the push itself (the card).
        note: why the file is there, shown in the dry-run plan.
        identity: the scanned ``(device, inode, size, mtime_ns)`` of ``source``, checked when it is opened.
    """

    path_in_repo: str
    source: Path | None
    size: int
    convert_from: tuple[Path, ...] = ()
    content: bytes | None = None
    note: str = ""
    identity: tuple[int, int, int, int] | None = None


@dataclass
class UploadPlan:
    """The files a push sends, those it leaves out (with a reason) and the remote files it manages.

    ``managed_patterns`` name remote paths that belong to this kind of upload: a remote file matching them
    that is not in ``files`` is stale (an old Parquet shard, weights of another sharding) and is deleted.
    ``held_back`` lists files the publishing policy keeps home unless an ``--include`` pattern names them, and
    ``refused`` what must be fixed before anything is sent (see :mod:`hub_tools.hub.folder_policy`).
    """

    repo_type: str
    folder: Path
    files: list[PlannedFile] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    managed_patterns: tuple[str, ...] = ()
    card: str | None = None
    notes: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    held_back: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total_size(self) -> int:
        return sum(planned.size for planned in self.files)

    def is_managed(self, path_in_repo: str) -> bool:
        """Whether a remote path belongs to this kind of upload (a pattern ending in "/" names a whole folder)."""
        for pattern in self.managed_patterns:
            if pattern.endswith("/"):
                if path_in_repo.startswith(pattern):
                    return True
            # Same depth only: "*.safetensors" manages top-level weights, not checkpoint-*/ folders.
            elif _matches(path_in_repo, pattern) and path_in_repo.count("/") == pattern.count("/"):
                return True
        return False

    def describe(self) -> str:
        """A human-readable listing: files and sizes, what is left out and why."""
        lines = [f"{len(self.files)} file(s), {format_size(self.total_size)} in all:"]
        width = max((len(planned.path_in_repo) for planned in self.files), default=0)
        for planned in sorted(self.files, key=lambda item: item.path_in_repo):
            note = f"  ({planned.note})" if planned.note else ""
            lines.append(f"  {planned.path_in_repo.ljust(width)}  {format_size(planned.size):>10}{note}")
        if self.left_out:
            lines.append(f"left out ({len(self.left_out)}):")
            lines += [f"  {display(path)}  ({reason})" for path, reason in sorted(self.left_out)]
        if self.held_back:
            lines.append(f"held back ({len(self.held_back)}), uploaded only with --include:")
            lines += [f"  {display(path)}  ({reason})" for path, reason in sorted(self.held_back)]
        if self.refused:
            lines.append(f"refused ({len(self.refused)}), nothing is sent until they are fixed:")
            lines += [f"  {display(path)}  {reason}" for path, reason in sorted(self.refused)]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def format_size(size: int) -> str:
    """Format a byte count the way the Hub's file listings do (``1.2 MB``)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _matches(path: str, pattern: str) -> bool:
    # "runs/*" must match files at any depth below runs/, which fnmatch's "*" already does (it crosses "/").
    return fnmatch.fnmatchcase(path, pattern)


def _add(plan: UploadPlan, local: LocalFile, include: tuple[str, ...], note: str = "") -> None:
    """Plan one file the push would upload, unless the publishing policy holds it back or refuses it."""
    problem = format_problem(local)
    if problem:
        plan.refused.append((local.path_in_repo, problem))
        return
    included = any(_matches(local.path_in_repo, pattern) for pattern in include)
    reason = None if included else held_back_reason(local)
    if reason:
        plan.held_back.append((local.path_in_repo, f"{reason}; --include {_quoted(local.path_in_repo)} uploads it"))
        return
    notes = [note] if note else []
    if included and note != "--include":
        notes.append("--include")
    if local.link_target:
        notes.append(f"link to {local.link_target}")
    plan.files.append(PlannedFile(local.path_in_repo, local.source, local.size, note=", ".join(notes),
                                  identity=local.identity))


def _quoted(path: str) -> str:
    return path if re.fullmatch(r"[\w./-]+", path) else repr(path)


def read_card_header(readme: Path, text: str | None = None) -> dict:
    """Return the YAML header of a card (``{}`` when it has none); errors name the file.

    ``text`` is the card's content when it is not (yet) the file's.
    """
    text = readme.read_text(encoding="utf-8") if text is None else text
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        raise UserError(f"{readme}: the YAML header opened by '---' on line 1 is never closed")
    try:
        header = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""  # the header starts on line 1, after "---"
        raise UserError(f"{readme}:{where}: the YAML header does not parse ({error.__class__.__name__})") from None
    if not isinstance(header, dict):
        raise UserError(f"{readme}: the YAML header must be a mapping of fields")
    return header


def plan_dataset_upload(folder: str | Path, card: str | None = None, include: tuple[str, ...] = ()) -> UploadPlan:
    """Plan the upload of a folder written by ``lintseq generate``: every file as it is.

    The folder must have a card (``README.md``) whose YAML header declares ``configs:``, and every config's
    data files must exist, so what lands on the Hub loads with ``load_dataset(repo_id, config)``. The
    publishing policy (:mod:`hub_tools.hub.folder_policy`) applies: links out of the folder and names the
    Hub cannot serve are refused, secret-looking and unexpected large files are held back.

    Args:
        folder: the dataset folder.
        card: the card that will be uploaded, when it is not the folder's ``README.md`` (a dry run's new card).
        include: glob patterns (relative to the folder) of held-back files to upload all the same.

    Returns:
        The :class:`UploadPlan`; remote Parquet shards under ``data/<config>/`` that are not in it are stale and get
        deleted (other files there stay).

    Example:
        >>> plan = plan_dataset_upload("lintseq-humaneval")  # doctest: +SKIP
        >>> print(plan.describe())  # doctest: +SKIP
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give the --output-dir of `lintseq generate`")
    scan = scan_folder(folder)
    # Stale shards are deleted; anything else under data/ (a teammate's notes) is not the push's to delete.
    plan = UploadPlan("dataset", folder, managed_patterns=("data/*/*.parquet",), left_out=list(scan.left_out),
                      refused=list(scan.refused))
    for local in scan.files:
        if any(_matches(PurePosixPath(local.path_in_repo).name, pattern) for pattern in DATASET_SCRATCH_PATTERNS):
            plan.left_out.append((local.path_in_repo, "unfinished or temporary file"))
        elif not (card is not None and local.path_in_repo == "README.md"):
            _add(plan, local, include)
    if plan.refused:
        return plan  # nothing of the folder is read until the refused files are fixed
    readme = folder / "README.md"
    held_card = dict(plan.held_back).get("README.md")
    if card is None and held_card:
        raise UserError(f"{readme}: the card {held_card}; edit it out, or publish the card as it is with "
                        "--include README.md")
    if card is None and not any(planned.path_in_repo == "README.md" for planned in plan.files):
        raise UserError(f"{folder} has no README.md dataset card: is it a folder written by `lintseq generate`?")
    configs = read_card_header(readme, card).get("configs")
    if not isinstance(configs, list) or not configs:
        raise UserError(f"{readme}: the YAML header has no `configs:` list, so the Hub would not find the data files")
    if card is not None:
        plan.files.append(PlannedFile("README.md", None, len(card.encode()), content=card.encode()))
    uploaded = [planned.path_in_repo for planned in plan.files]
    for index, config in enumerate(configs):
        name = config.get("config_name", f"#{index}") if isinstance(config, dict) else f"#{index}"
        for pattern in _config_patterns(config, readme, name):
            if not any(_matches(path, pattern) for path in uploaded):
                raise UserError(f"{readme}: config {name!r} points at {pattern!r}, which matches no file in {folder}")
    return plan


def _config_patterns(config, readme: Path, name: str) -> list[str]:
    data_files = config.get("data_files") if isinstance(config, dict) else None
    if data_files is None:
        raise UserError(f"{readme}: config {name!r} has no `data_files`")
    if isinstance(data_files, str):
        return [data_files]
    patterns = []
    for item in data_files:
        paths = item.get("path") if isinstance(item, dict) else item
        patterns += [paths] if isinstance(paths, str) else list(paths or [])
    return patterns


def plan_model_upload(
    folder: str | Path,
    *,
    include_training_state: bool = False,
    include_logs: bool = False,
    include: tuple[str, ...] = (),
    keep_card: bool = False,
) -> UploadPlan:
    """Plan the upload of a model folder saved with ``save_pretrained`` (or a ``lintseq train`` output).

    Weights go up as safetensors (``pytorch_model*.bin`` checkpoints are converted), with ``config.json``,
    ``generation_config.json`` and the tokenizer files. Optimizer state and training logs are left out
    unless asked; intermediate ``checkpoint-*`` folders and anything else only with ``include`` patterns.

    Args:
        folder: the model folder.
        include_training_state: also upload optimizer/scheduler/RNG state and ``training_args.bin``.
        include_logs: also upload ``trainer_state.json``, ``*_results.json`` and TensorBoard runs.
        include: extra glob patterns (relative to the folder) to upload as they are.
        keep_card: upload the folder's own README.md instead of rendering a card.

    Returns:
        The :class:`UploadPlan` (without the card: :func:`hub_tools.hub.publish.push_model` adds it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give the folder a model was saved to (save_pretrained)")
    scan = scan_folder(folder)
    names = scan.names
    if "config.json" not in names and "adapter_config.json" not in names and not scan.refused:
        raise UserError(f"{folder} has no config.json: is it a folder written by save_pretrained or `lintseq train`?")
    plan = UploadPlan("model", folder, managed_patterns=(*MODEL_RELEASE_PATTERNS, *BIN_WEIGHT_PATTERNS, BIN_INDEX_NAME),
                      left_out=list(scan.left_out), refused=list(scan.refused))
    has_safetensors = any(_matches(name, "*.safetensors") for name in names)
    converted: list[LocalFile] = []
    index_file: LocalFile | None = None
    for local in scan.files:
        relative = local.path_in_repo
        if relative == "README.md":
            if keep_card:
                _add(plan, local, include, note="the folder's own card")
        elif any(_matches(relative, pattern) for pattern in include):
            _add(plan, local, include, note="--include")
        elif relative.startswith("checkpoint-"):
            plan.left_out.append((relative, "intermediate checkpoint; add --include 'checkpoint-*' to upload it"))
        elif any(_matches(relative, pattern) for pattern in BIN_WEIGHT_PATTERNS):
            if has_safetensors:
                plan.left_out.append((relative, "the safetensors weights beside it are uploaded instead"))
            else:
                converted.append(local)
        elif relative == BIN_INDEX_NAME:
            if has_safetensors:
                plan.left_out.append((relative, "the safetensors weights beside it are uploaded instead"))
            else:
                index_file = local
        elif any(_matches(relative, pattern) for pattern in MODEL_RELEASE_PATTERNS):
            _add(plan, local, include)
        elif any(_matches(relative, pattern) for pattern in TRAINING_STATE_PATTERNS):
            if include_training_state:
                _add(plan, local, include, note="training state")
            else:
                plan.left_out.append((relative, "training state; --include-training-state uploads it"))
        elif any(_matches(relative, pattern) for pattern in LOG_PATTERNS):
            if include_logs:
                _add(plan, local, include, note="training log")
            else:
                plan.left_out.append((relative, "training log; --include-logs uploads it"))
        else:
            plan.left_out.append((relative, "not part of a model release; --include PATTERN uploads it"))
    if plan.refused:
        return plan  # nothing of the folder is read until the refused files are fixed
    _plan_conversions(plan, folder, converted, index_file)
    if not any(_matches(planned.path_in_repo, "*.safetensors") for planned in plan.files):
        raise UserError(f"{folder} has no weights (model.safetensors or pytorch_model.bin): save the model first")
    return plan


def _plan_conversions(plan: UploadPlan, folder: Path, converted: list[LocalFile], index: LocalFile | None) -> None:
    """Map each ``.bin`` weight file to the safetensors file that replaces it."""
    for local in converted:
        target = safetensors_name(local.path_in_repo)
        plan.files.append(PlannedFile(target, None, local.size, convert_from=(local.source,),
                                      note=f"converted from {local.path_in_repo}"))
    if converted and index is not None:
        try:
            weight_map = dict(json.loads(index.source.read_text())["weight_map"])
        except (KeyError, TypeError, ValueError, RecursionError):  # not JSON (or not UTF-8), no weight map
            raise UserError(f"{folder / BIN_INDEX_NAME}: not a checkpoint index (no `weight_map` object)") from None
        names = [local.path_in_repo for local in converted]
        missing = sorted({name for name in weight_map.values() if name not in names})
        if missing:
            raise UserError(f"{folder / BIN_INDEX_NAME}: weight_map names {missing[0]}, which is not in {folder}")
        plan.files.append(PlannedFile("model.safetensors.index.json", None, index.size,
                                      convert_from=(index.source,), note=f"rewritten from {BIN_INDEX_NAME}"))


def safetensors_name(bin_name: str) -> str:
    """``pytorch_model-00001-of-00002.bin`` -> ``model-00001-of-00002.safetensors`` (transformers' names)."""
    if bin_name == "adapter_model.bin":
        return "adapter_model.safetensors"
    return "model" + bin_name[len("pytorch_model"):-len(".bin")] + ".safetensors"
