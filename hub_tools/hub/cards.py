"""Model cards from the Jinja templates in ``model_cards/``, with model-index results from ``metrics.json``.

Cards go through ``ModelCard.from_template`` with a ``ModelCardData``, so their YAML header is the one the
Hub parses (licence, base model, datasets, tags, library, pipeline tag, ``model-index``). Dataset cards are
written by ``hub_tools.datagen.card``; :func:`refresh_dataset_card` only re-renders a stale one.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools import __version__
from hub_tools.datagen.folder import published_files
from hub_tools.errors import UNREADABLE_JSON, UserError, reason
from hub_tools.package_data import shipped_folder

TEMPLATES = {"tinycodelm": "tinycodelm.md", "finetune": "lintseq_finetune.md"}
# Known benchmarks: how they are named in model-index entries (dataset type is the Hub id).
BENCHMARKS = {
    "humaneval": ("openai/openai_humaneval", "HumanEval", "test"),
    "mbpp": ("google-research-datasets/mbpp", "MBPP", "test"),
}
DEFAULT_TAGS = ("lintseq", "code", "edit-sequences", "program-synthesis")


@dataclass
class ModelCardConfig:
    """What goes into a model card beyond what the model folder itself says.

    Args:
        template: ``"auto"`` (TinyCodeLM family when the names say so, else the generic finetune card),
            ``"tinycodelm"``, ``"finetune"``, or the path of a Jinja template of your own.
        license: SPDX-style licence id for the card's metadata.
        base_model: Hub id of the model this one was finetuned from.
        datasets: Hub ids of the training datasets.
        tags: extra tags (the LintSeq tags are always there).
        eval_results: ``metrics.json`` files written by ``lintseq eval`` (one per benchmark).
        edit_sequence: whether the model writes edit sequences; ``None`` takes it from the results files.
        model_name: display name; defaults to the repository name.
    """

    template: str = "auto"
    license: str | None = "apache-2.0"
    base_model: str | None = None
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    eval_results: list[Path] = field(default_factory=list)
    edit_sequence: bool | None = None
    model_name: str | None = None


def _not_json(path: Path, error: ValueError | RecursionError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{path}:{error.lineno}: not valid JSON ({error.msg})"
    return f"{path}: cannot read it as JSON ({reason(error)})"


def load_eval_results(path: str | Path) -> dict:
    """Read and check an evaluation results file (``metrics.json`` of ``lintseq eval``).

    Args:
        path: the file.

    Returns:
        Its content, with ``pass_at_k`` values checked to be fractions in [0, 1].

    Raises:
        UserError: naming the file and the field that is missing or wrong.
    """
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such evaluation results file (write one with `lintseq eval`)") from None
    except UNREADABLE_JSON as error:
        raise UserError(_not_json(path, error)) from None
    if not isinstance(results, dict):
        raise UserError(f"{path}: expected a JSON object as written by `lintseq eval`")
    for name in ("benchmark", "pass_at_k"):
        if name not in results:
            raise UserError(f"{path}: field {name!r} is missing (is it a metrics.json from `lintseq eval`?)")
    pass_at_k = results["pass_at_k"]
    if not isinstance(pass_at_k, dict) or not pass_at_k:
        raise UserError(f"{path}: field 'pass_at_k' must map names such as 'pass@1' to fractions")
    for metric, value in pass_at_k.items():
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1):
            raise UserError(f"{path}: field 'pass_at_k.{metric}' must be a fraction in [0, 1], not {value!r}")
    return results


# Problems in the whole of a benchmark whose size is fixed, for results files that do not say it.
_BENCHMARK_SIZES = {"humaneval": 164}


def _partial_evaluation(results: dict) -> str | None:
    """``"5 of 164 problems"`` when a results file scored only part of its benchmark (``--limit``,
    ``--task-ids``, or a samples file that covers some problems), else ``None``."""
    scored = results.get("num_problems")
    total = results.get("num_benchmark_problems") or _BENCHMARK_SIZES.get(str(results["benchmark"]).lower())
    if isinstance(scored, int) and isinstance(total, int):
        return f"{scored} of {total} problems" if scored < total else None
    if results.get("limit") is not None or results.get("task_ids"):
        return f"{scored if isinstance(scored, int) else 'some'} problems chosen with --limit / --task-ids"
    return None


def _evaluation_rows(results_files: list[Path]) -> tuple[list, list[dict]]:
    """Return (EvalResult list for the model-index, rows for the card's table).

    An evaluation of part of a benchmark is no score of the benchmark: it stays out of the model-index (which
    the Hub shows, and leaderboards read, as the benchmark's result) and its table row says which part it is.
    """
    import sys

    from huggingface_hub import EvalResult

    eval_results, rows = [], []
    for path in results_files:
        results = load_eval_results(path)
        benchmark = str(results["benchmark"]).lower()
        dataset_id, dataset_name, split = BENCHMARKS.get(
            benchmark, (results.get("dataset_id") or benchmark, str(results["benchmark"]), "test"))
        dataset_id = results.get("dataset_id") or dataset_id
        arguments = {key: results[key] for key in ("num_samples_per_problem", "temperature", "top_p",
                                                   "max_new_tokens") if results.get(key) is not None}
        partial = _partial_evaluation(results)
        if partial:
            print(f"note: {path} scores {partial} of {dataset_name}: it is in the card's table, not in its "
                  "model-index (not published as the benchmark's score)", file=sys.stderr)
            dataset_name = f"{dataset_name} ({partial})"
        percents = {}
        for metric, value in sorted(results["pass_at_k"].items(), key=lambda item: _k_of(item[0])):
            percents[metric] = round(100 * value, 2)
            if not partial:
                eval_results.append(EvalResult(
                    task_type="text-generation", task_name="Code Generation", dataset_type=dataset_id,
                    dataset_name=dataset_name, dataset_split=split, metric_type=metric, metric_name=metric,
                    metric_value=percents[metric], metric_args=arguments or None))
        rows.append({"benchmark": dataset_name, "dataset_id": dataset_id, "pass_at_k": percents,
                     "edit_sequence": results.get("edit_sequence"), **arguments,
                     "num_problems": results.get("num_problems")})
    return eval_results, rows


def _k_of(metric: str) -> float:
    try:
        return float(metric.split("@", 1)[1])
    except (IndexError, ValueError):
        return math.inf


def describe_architecture(folder: Path) -> dict:
    """Read what the card says about the architecture from ``config.json`` and the safetensors headers."""
    description: dict = {}
    config_path = folder / "config.json"
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text())
        except UNREADABLE_JSON as error:
            raise UserError(_not_json(config_path, error)) from None
        if not isinstance(config, dict):
            raise UserError(f"{config_path}: not a JSON object; is it a model's config.json?")
        for key in ("model_type", "num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size",
                    "vocab_size", "max_position_embeddings", "torch_dtype", "dtype"):
            if config.get(key) is not None:
                description[key] = config[key]
        if config.get("architectures"):
            description["architecture"] = config["architectures"][0]
    # Only weights a push would upload: no hidden file, FIFO or link out of the folder is opened.
    parameters = sum(_safetensors_parameters(path) for path in published_files(folder, "*.safetensors", folder))
    if parameters:
        description["parameters"] = parameters
        description["parameters_readable"] = _readable_count(parameters)
    return description


def _safetensors_parameters(path: Path) -> int:
    # The header (8-byte length, then JSON) lists every tensor's shape: no need to load the weights.
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
    return sum(math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")


def _readable_count(count: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _has_diff_token(folder: Path) -> bool | None:
    tokenizer = folder / "tokenizer.json"
    if not tokenizer.is_file():
        return None
    try:
        content = json.loads(tokenizer.read_text())
    except UNREADABLE_JSON as error:  # a traceback in the card's rendering, before
        raise UserError(_not_json(tokenizer, error)) from None
    added = content.get("added_tokens") if isinstance(content, dict) else None
    return any(isinstance(token, dict) and token.get("content") == "<|diff|>" for token in added or [])


def read_training_record(folder: Path) -> dict:
    """Return ``lintseq_training.json`` (written by ``lintseq train``: base model, dataset, settings), or ``{}``."""
    path = folder / "lintseq_training.json"
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except UNREADABLE_JSON as error:
        raise UserError(_not_json(path, error)) from None
    return record if isinstance(record, dict) else {}


def hub_id_or_none(value, folder: Path) -> str | None:
    """Return ``value`` when it names a Hub repository (``org/name``), not a local path."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", value):
        return None
    if Path(value).exists() or (folder.parent / value).exists():
        return None
    return value


def _training_summary(folder: Path, record: dict) -> dict:
    # What the run did (epoch, global_step: recorded by `lintseq train` since they were missing), else what it
    # was asked: max_steps, when set, ends a run before num_train_epochs (a 20-step run was "2 epoch(s)").
    summary = {key: record[key] for key in ("learning_rate", "loss_reduction", "use_peft", "epoch", "global_step")
               if record.get(key) is not None}
    if "epoch" not in summary and "global_step" not in summary:
        if isinstance(record.get("max_steps"), int) and record["max_steps"] > 0:
            summary["global_step"] = record["max_steps"]
        elif record.get("num_train_epochs") is not None:
            summary["num_train_epochs"] = record["num_train_epochs"]
    state_path = folder / "trainer_state.json"
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text())
        except UNREADABLE_JSON:
            state = {}
        if not isinstance(state, dict):  # not trainer's file: nothing read from it
            state = {}
        history = state.get("log_history")
        losses = [entry["loss"] for entry in history if isinstance(entry, dict)
                  and isinstance(entry.get("loss"), (int, float))] if isinstance(history, list) else []
        summary.update({key: state[key] for key in ("epoch", "global_step") if state.get(key) is not None})
        if losses:
            summary["final_loss"] = round(losses[-1], 4)
    parts = []
    epochs = summary.get("epoch", summary.get("num_train_epochs"))
    if epochs is not None:
        parts.append(f"{epochs:g} epoch(s)" if isinstance(epochs, (int, float)) else f"{epochs} epoch(s)")
    if summary.get("global_step"):
        parts.append(f"{summary['global_step']} optimizer steps")
    if summary.get("learning_rate") is not None:
        parts.append(f"learning rate {summary['learning_rate']}")
    if summary.get("loss_reduction"):
        reduction = summary["loss_reduction"]
        parts.append("loss summed over tokens" if reduction == "sum" else f"loss reduction: {reduction}")
    if summary.get("use_peft"):
        parts.append("LoRA adapters")
    if summary.get("final_loss") is not None:
        parts.append(f"final training loss {summary['final_loss']}")
    if parts:
        summary["description"] = ", ".join(parts)
    return summary


def choose_template(config: ModelCardConfig, repo_id: str, folder: Path, base_model: str | None = None) -> Path:
    """Return the template file a config names (``auto``: the TinyCodeLM card when a name says "tinycodelm"
    or the folder was built by ``lintseq init-model``, else the generic finetune card)."""
    if config.template == "auto":
        names = " ".join([repo_id, folder.resolve().name, base_model or config.base_model or ""]).lower()
        # `lintseq init-model` leaves tinycodelm.json beside the checkpoints it builds.
        is_family = "tinycodelm" in names or (folder / "tinycodelm.json").is_file()
        name = "tinycodelm" if is_family else "finetune"
    else:
        name = config.template
    if name in TEMPLATES:
        return shipped_folder("model_cards") / TEMPLATES[name]
    path = Path(name)
    if not path.is_file():
        raise UserError(f"card template {name!r} is neither one of {sorted(TEMPLATES)} nor an existing file")
    return path


def render_model_card(folder: str | Path, repo_id: str, config: ModelCardConfig | None = None) -> str:
    """Render the model card of a model folder, with its metadata and evaluation results.

    Args:
        folder: the model folder (``config.json``, weights, tokenizer).
        repo_id: where the model is published (``org/name``); used in the usage example.
        config: licence, base model, datasets, tags, results files, template.

    Returns:
        The card (YAML header + Markdown), as ``ModelCard.load`` reads it back.

    Example:
        >>> card = render_model_card("out/tinycodelm-lintseq", "me/tinycodelm-150m-lintseq",
        ...                          ModelCardConfig(eval_results=[Path("metrics.json")]))  # doctest: +SKIP
    """
    from huggingface_hub import ModelCard, ModelCardData

    folder = Path(folder)
    config = config or ModelCardConfig()
    # What `lintseq train` recorded fills what the caller left out.
    record = read_training_record(folder)
    base_model = config.base_model or hub_id_or_none(record.get("base_model"), folder)
    datasets = list(config.datasets) or [name for name in [hub_id_or_none(record.get("dataset"), folder)] if name]
    model_name = config.model_name or repo_id.split("/")[-1]
    eval_results, evaluations = _evaluation_rows([Path(path) for path in config.eval_results])
    edit_sequence = config.edit_sequence
    if edit_sequence is None:
        flags = {row["edit_sequence"] for row in evaluations if row["edit_sequence"] is not None}
        edit_sequence = flags.pop() if len(flags) == 1 else record.get("edit_sequence")
    template = choose_template(config, repo_id, folder, base_model)
    card_data = ModelCardData(
        license=config.license, base_model=base_model, datasets=datasets or None,
        tags=list(dict.fromkeys([*DEFAULT_TAGS, *config.tags])), library_name="transformers",
        pipeline_tag="text-generation", language=["en", "code"],
        model_name=model_name if eval_results else None, eval_results=eval_results or None,
    )
    card = ModelCard.from_template(
        card_data, template_path=str(template), model_name=model_name, repo_id=repo_id,
        edit_sequence=edit_sequence, evaluations=evaluations,
        metrics=sorted({metric for row in evaluations for metric in row["pass_at_k"]}, key=_k_of),
        architecture=describe_architecture(folder),
        diff_token=_has_diff_token(folder), training=_training_summary(folder, record),
        hub_tools_version=__version__,
    )
    return str(card)


def refresh_dataset_card(folder: str | Path, *, repo_id: str | None = None,
                         write: bool = True) -> tuple[str, str] | None:
    """Return the card to publish for a dataset folder when it differs from its ``README.md``, with why.

    * Stale card (``lintseq_config.json`` newer than ``README.md``, or no card at all): rendered again by
      ``hub_tools.datagen.card.render_dataset_card`` and, with ``write``, saved as ``README.md`` as the
      generator writes it (naming no repository: the one saved for a first push named it, and a push of the
      folder to another repository then took it for a card edited by hand and published the first one's
      name); the upload names ``repo_id``.
    * Card exactly as the generator wrote it: rendered again for ``repo_id``, so its loading examples name
      the real repository (uploaded only; the local file stays as it is).
    * A card edited by hand, or no card renderer installed: ``None``, the folder is published as it is.

    Args:
        folder: the dataset folder.
        repo_id: the repository the card's loading examples name.
        write: save a stale card's new text to ``README.md`` (``False`` for a dry run).

    Returns:
        ``(card text, reason)`` or ``None``.
    """
    folder = Path(folder)
    settings, readme = folder / "lintseq_config.json", folder / "README.md"
    if not settings.is_file():
        return None
    try:
        from hub_tools.datagen.card import render_dataset_card, write_card_text
    except ImportError:
        return None
    if not readme.is_file() or readme.stat().st_mtime < settings.stat().st_mtime:
        if write:
            write_card_text(folder, render_dataset_card(folder))
        return render_dataset_card(folder, repo_id=repo_id), "card rendered again: lintseq_config.json is newer"
    if repo_id is None or readme.read_text(encoding="utf-8") != render_dataset_card(folder):
        return None
    return render_dataset_card(folder, repo_id=repo_id), f"generated card, its examples naming {repo_id}"
