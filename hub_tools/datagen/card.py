"""The dataset card (``README.md``) of a folder written by ``lintseq generate``.

The card is rendered from ``dataset_cards/lintseq.md`` through ``DatasetCard.from_template`` with a typed
``DatasetCardData``, so its YAML header is what the Hub and ``datasets`` read: licence, task, tags, size and
the ``configs:`` list that makes ``load_dataset(folder_or_repo, "baseline")`` work. Its body describes the
format, the settings and the measured statistics of every config found on disk; anything
``lintseq_config.json`` does not record is left out, so a partial folder still gets a valid card.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from hub_tools import __version__
from hub_tools.datagen.card_contamination import (
    contamination_by_config,
    contamination_view,
    headline_contamination,
    not_measured,
)
from hub_tools.datagen.folder import BASELINE, DatasetFolder
from hub_tools.errors import UserError

TEMPLATE = "lintseq.md"
TAGS = ["code", "lintseq", "edit-sequences", "synthetic"]
# Instructions in English, programs in Python ("code" is the Hub's language code for source code).
LANGUAGES = ["en", "code"]
HUMANEVAL_ID = "openai/openai_humaneval"
# The Hub's size buckets: (exclusive upper bound, label).
SIZE_CATEGORIES = [
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
]
CITATION = """@inproceedings{piterbarg2025lintseq,
  title     = {Training Language Models on Synthetic Edit Sequences Improves Code Synthesis},
  author    = {Piterbarg, Ulyana and Pinto, Lerrel and Fergus, Rob},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2025},
  eprint    = {2410.02749},
  archivePrefix = {arXiv},
}"""


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` label for a number of rows.

    >>> size_category(810), size_category(25_000)
    ('n<1K', '10K<n<100K')
    """
    for bound, label in SIZE_CATEGORIES:
        if rows < bound:
            return label
    return "n>1T"


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _summary(value) -> dict | None:
    """A statistics summary (mean, median, min, max) when it has all four numbers, else ``None``."""
    value = _dict(value)
    keys = ("mean", "median", "min", "max")
    return value if all(isinstance(value.get(key), (int, float)) for key in keys) else None


def source_argument(source: dict) -> str | None:
    """The SOURCE argument of ``lintseq generate`` that reads ``source`` again (``None``: the built-in corpus).

    >>> source_argument({"name": "org/data (split train)"}), source_argument({"name": "humaneval (built-in)"})
    ('org/data', None)
    """
    name = source.get("name")
    if not isinstance(name, str) or name.startswith("humaneval (built-in"):
        return None
    # Hub sources are recorded as "org/name (split train)" or "org/name (subset s, data_dir d, split train)";
    # the subset, the folder and the split have their own flags.
    return name.split(" (")[0]


def generate_command(folder_name: str, name: str, settings: dict) -> str:
    """The ``lintseq generate`` command line that writes config ``name`` again, from its recorded settings."""
    source = _dict(settings.get("source"))
    words = ["lintseq", "generate"]
    argument = source_argument(source)
    if argument:
        words.append(argument)
    words += ["--output-dir", folder_name]
    decontamination = _dict(settings.get("decontamination"))
    specs = [str(spec) for spec in decontamination.get("specs") or []]
    if specs and decontamination.get("drop"):
        words += ["--decontaminate", ",".join(specs)]
    elif decontamination and specs != ["humaneval"]:
        words += ["--contamination-benchmarks", ",".join(specs)]
    elif settings and not decontamination and name != BASELINE and "decontamination" in settings:
        words += ["--contamination-benchmarks", "none"]
    if settings.get("dedup") == "exact":
        words += ["--dedup", "exact"]
    if isinstance(settings.get("tokenizer"), str):
        words += ["--tokenizer", settings["tokenizer"]]
    for field, flag in (("prompt_field", "--prompt-field"), ("code_field", "--code-field")):
        if source.get(field):
            words += [flag, str(source[field])]
    if argument and source.get("split") and source["split"] != "train":
        words += ["--split", str(source["split"])]
    for field, flag in (("subset", "--subset"), ("data_dir", "--data-dir")):
        if argument and source.get(field):
            words += [flag, str(source[field])]
    if name != BASELINE:
        words += ["--sampler", str(settings.get("sampler") or name)]
    options = [("profile", "--profile"), ("num_paths", "--num-paths"), ("num_samples", "--num-samples"),
               ("seed", "--seed"), ("time_limit", "--time-limit"), ("lint_timeout", "--lint-timeout"),
               ("lint_memory_limit", "--lint-memory-limit"), ("max_lines", "--max-lines")]
    for field, flag in options:
        value = settings.get(field)
        if value is not None:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if settings.get("drop_duplicates") is True:
        words.append("--drop-duplicates")
    if settings.get("keep_fields"):
        words += ["--keep-fields", ",".join(map(str, settings["keep_fields"]))]
    if name != BASELINE and _dict(settings.get("lintseq")).get("ignore_init_errors") is True:
        words.append("--ignore-init-errors")
    return shlex.join(words)


def _time_limit(settings: dict) -> str:
    """The time limit a LintSeq config's programs had, in words (a run's own number, or the default's rule)."""
    from hub_tools.datagen.rows import AUTO_LIMIT_LINES, AUTO_LIMIT_SECONDS

    limit = settings.get("time_limit")
    if isinstance(limit, (int, float)) and not isinstance(limit, bool):
        return f"{limit:g} s"
    return f"{AUTO_LIMIT_SECONDS:g} s per edit path for every {AUTO_LIMIT_LINES} lines begun"


def _config_view(dataset: DatasetFolder, name: str) -> dict:
    """What the template shows about one config; every key is present, ``None`` where unknown."""
    from hub_tools.linters import PROFILES

    settings = dataset.config_settings(name)
    stats = _dict(settings.get("stats"))
    sampler = dataset.sampler(name)
    profile = settings.get("profile") if sampler == "lintseq" else None
    skipped = {reason: count for reason, count in _dict(stats.get("skipped")).items() if count}
    examples = [row for row in stats.get("skipped_rows") or [] if isinstance(row, dict)][:5]
    return {
        "name": name,
        "sampler": sampler,
        "is_baseline": sampler is None,
        "default": name == dataset.default_config,
        "rows": dataset.num_rows(name),
        "num_shards": len(dataset.configs[name]),
        "profile": profile,
        "profile_description": PROFILES[profile].description if profile in PROFILES else None,
        "num_paths": settings.get("num_paths"),
        "num_samples": settings.get("num_samples"),
        "seed": settings.get("seed"),
        "time_limit": _time_limit(settings) if sampler == "lintseq" else None,
        "lintseq": _dict(settings.get("lintseq")) if sampler else {},
        "source": _dict(settings.get("source")),
        "source_rows": stats.get("source_rows"),
        "programs": stats.get("programs"),
        "duplicates": stats.get("duplicates"),
        "other_indentation": _dict(stats.get("other_indentation")) or None,
        "skipped": skipped,
        "skipped_total": sum(skipped.values()),
        "skipped_examples": examples,
        "edits_per_program": _summary(stats.get("edits_per_program")),
        "lines_per_edit": _summary(stats.get("lines_per_edit")),
        "seconds": stats.get("seconds"),
        "worker_seconds": stats.get("worker_seconds"),
        "resumed_parts": stats.get("resumed_parts"),
        "workers": stats.get("workers"),
        "dedup": _dict(stats.get("dedup")) or None,
        "contamination": contamination_view(stats.get("contamination")),
        "tokens": _tokens_view(stats.get("tokens")),
        "pictures": _pictures_on_disk(dataset.path, name),
        "command": generate_command(dataset.path.name, name, settings) if settings else None,
    }


def _tokens_view(value) -> dict | None:
    value = _dict(value)
    parts = [(label, _dict(value.get(key))) for key, label in (("prompt", "prompt"), ("completion", "completion"),
                                                                ("total", "total"))]
    if not all(isinstance(part.get("mean"), (int, float)) for _, part in parts):
        return None
    return {"tokenizer": _dict(value.get("tokenizer")), "parts": parts, "rows": value.get("rows"),
            "max_length": value.get("max_length"), "over_max_length": value.get("over_max_length")}


def _pictures_on_disk(folder: Path, name: str) -> list[dict]:
    """The card's pictures of config ``name`` that exist in the folder, in the order they are shown."""
    from hub_tools.datagen.card_pictures import IMAGES_FOLDER, PICTURES

    return [{"title": title, "path": f"{IMAGES_FOLDER}/{name}/{key}.png"} for key, title, _, _ in PICTURES
            if (folder / IMAGES_FOLDER / name / f"{key}.png").is_file()]


def _example(dataset: DatasetFolder) -> dict | None:
    """A short edit sequence of the default sampler config, step by step, for the card."""
    names = [name for name in dataset.configs if dataset.sampler(name) is not None]
    if not names:
        return None
    name = dataset.default_config if dataset.default_config in names else names[0]
    try:
        return _first_short_example(dataset, name)
    except UserError:  # shards without our columns (a folder this tool did not write): no example
        return None


# Lines of program text the card's step-by-step example may show. A whole-file corpus has no short row: its
# smallest row is shown until the budget is spent, then the rest is left to ``lintseq show``.
EXAMPLE_LINE_BUDGET = 250


def _first_short_example(dataset: DatasetFolder, name: str) -> dict | None:
    from hub_tools.datagen.edit_view import markdown_steps, replay_steps

    chosen, smallest, seen = None, None, 0
    # The first row that is short enough to read and has a few edits; else the smallest row seen (program
    # lines times edits: what showing it whole costs) among the first 2,000.
    for location, rows in dataset.iter_rows(name):
        for offset, row in enumerate(rows):
            edits, lines = len(row["edit_path"] or []), (row["program"] or "").count("\n") + 1
            if smallest is None or edits * lines < smallest[0]:
                smallest = (edits * lines, (location, offset, seen + offset, row))
            if 3 <= edits <= 8 and lines <= 25:
                chosen = (location, offset, seen + offset, row)
                break
        else:
            seen += len(rows)
            if seen < 2000:
                continue
        break
    if smallest is None:  # no row at all (a short row is always also seen as a candidate for the smallest)
        return None
    location, offset, index, row = chosen or smallest[1]
    shard, _, first = location.rpartition(" row ")
    instruction = row["instruction"] or ""
    # A fence longer than any run of backticks in the instruction, so the instruction cannot close it.
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", instruction)), default=0))
    steps = replay_steps(row["edit_path"] or [])
    shown, budget = [], EXAMPLE_LINE_BUDGET
    for step in steps:
        budget -= step.program.count("\n") + 1
        if shown and budget < 0:
            break
        shown.append(step)
    text = markdown_steps(shown)
    if len(shown) < len(steps):
        lines = (row["program"] or "").count("\n") + 1
        text += (f"\n\n… {len(steps) - len(shown)} more edits, to the whole program of {lines} lines: "
                 f"`lintseq show DIR --config {name} --index {index}` prints them all.")
    return {"config": name, "location": f"{shard} row {int(first) + offset}", "instruction": instruction, "fence": fence,
            "num_edits": len(steps), "steps": text}


def write_card_pictures(output_dir: str | Path) -> dict:
    """Draw the histograms ``lintseq_config.json`` records as PNG files under ``images/`` (needs Pillow)."""
    from hub_tools.datagen.card_pictures import write_pictures

    dataset = DatasetFolder.open(output_dir)
    histograms, limits = {}, {}
    for name in dataset.configs:
        stats = _dict(dataset.config_settings(name).get("stats"))
        histograms[name] = _dict(stats.get("histograms"))
        if isinstance(_dict(stats.get("tokens")).get("max_length"), int):
            limits[name] = stats["tokens"]["max_length"]
    return write_pictures(dataset.path, histograms, max_lengths=limits)


def _license(dataset: DatasetFolder) -> str:
    for name in dataset.configs:
        source = _dict(dataset.config_settings(name).get("source"))
        if isinstance(source.get("license"), str) and source["license"]:
            return source["license"]
        # Folders written before sources recorded a licence: the built-in corpus is HumanEval's (MIT).
        if str(source.get("name", "")).startswith("humaneval (built-in"):
            return "mit"
    return "other"


def _source_datasets(dataset: DatasetFolder) -> list[str] | None:
    """The Hub ids the rows come from: the source's id, or HumanEval's for the built-in corpus (local files: none)."""
    ids = set()
    for name in dataset.configs:
        source = _dict(dataset.config_settings(name).get("source"))
        if str(source.get("name", "")).startswith("humaneval (built-in"):
            ids.add(HUMANEVAL_ID)
        elif re.search(r" \((.+, )?split [^)]*\)$", str(source.get("name", ""))):  # how Hub sources are recorded
            ids.add(source_argument(source))
    return sorted(ids) or None


def _dataset_infos(dataset: DatasetFolder):
    """``dataset_info`` of every config: features, rows and sizes, as ``push_to_hub`` records them.

    Besides giving the Hub viewer the schema, the sizes make ``load_dataset``'s cache key change with the
    content: for a folder whose configs come from this YAML, the key is built from the card and the file
    patterns, not from the files, so a regenerated folder could otherwise load stale cached rows.
    """
    import datasets
    import pyarrow.parquet as pq
    from datasets.info import DatasetInfosDict

    infos = {}
    for name, shards in dataset.configs.items():
        metadata = [pq.ParquetFile(shard).metadata for shard in shards]
        num_bytes = sum(meta.row_group(i).total_byte_size for meta in metadata for i in range(meta.num_row_groups))
        rows = sum(meta.num_rows for meta in metadata)
        infos[name] = datasets.DatasetInfo(
            config_name=name,
            features=datasets.Features.from_arrow_schema(pq.read_schema(shards[0])),
            splits=datasets.SplitDict({"train": datasets.SplitInfo("train", num_bytes=num_bytes, num_examples=rows)}),
            download_size=sum(shard.stat().st_size for shard in shards),
            dataset_size=num_bytes,
        )
    return DatasetInfosDict(infos)


def render_dataset_card(output_dir: str | Path, *, repo_id: str | None = None, pretty_name: str | None = None,
                        license: str | None = None) -> str:
    """Render the dataset card of a generated folder and return its text (YAML header and body).

    Args:
        output_dir: the folder written by ``lintseq generate``.
        repo_id: the Hub id the card's loading examples use (default: ``<your-username>/<folder name>``).
        pretty_name: the card's title (default: from the folder name).
        license: the data's licence id; by default the source's recorded licence (MIT for the built-in
            HumanEval corpus), else ``"other"``.

    Returns:
        The card text, ready to be written as ``README.md``.

    Raises:
        UserError: the folder has no ``data/<config>/*.parquet`` files.

    Example:

    >>> card = render_dataset_card("lintseq-humaneval")  # doctest: +SKIP
    >>> card.splitlines()[0]  # doctest: +SKIP
    '---'
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    from hub_tools.package_data import shipped_folder

    dataset = DatasetFolder.open(output_dir)
    configs = [_config_view(dataset, name) for name in dataset.configs]
    pretty_name = pretty_name or f"LintSeq edit sequences: {dataset.path.resolve().name}"
    yaml_configs = []
    for config in configs:
        entry = {"config_name": config["name"],
                 "data_files": [{"split": "train", "path": f"data/{config['name']}/train-*"}]}
        if config["default"]:
            entry["default"] = True
        yaml_configs.append(entry)
    card_data = DatasetCardData(
        license=license or _license(dataset),
        language=list(LANGUAGES),
        source_datasets=_source_datasets(dataset),
        task_categories=["text-generation"],
        tags=list(TAGS),
        pretty_name=pretty_name,
        size_categories=[size_category(max(config["rows"] for config in configs))],
        configs=yaml_configs,
    )
    _dataset_infos(dataset).to_dataset_card_data(card_data)
    by_name = {config["name"]: config["contamination"] for config in configs}
    contamination_from = headline_contamination(configs, dataset.default_config)
    card = DatasetCard.from_template(
        card_data,
        template_path=str(shipped_folder("dataset_cards") / TEMPLATE),
        repo_id=repo_id or f"<your-username>/{dataset.path.resolve().name}",
        configs=configs,
        default_config=dataset.default_config,
        sampler_configs=[config for config in configs if not config["is_baseline"]],
        kept_fields=dataset.config_settings(dataset.default_config).get("keep_fields") or [],
        versions=_dict(dataset.settings.get("versions")),
        contamination=contamination_from and by_name[contamination_from],
        contamination_from=contamination_from,
        contamination_by_config=contamination_by_config(dataset, configs),
        contamination_not_measured=not_measured(dataset.config_settings(dataset.default_config)),
        example=_example(dataset),
        generator_version=dataset.settings.get("hub_tools_version") or __version__,
        citation=CITATION,
    )
    return str(card)


def write_dataset_card(output_dir: str | Path, **options) -> Path:
    """Render the card (see :func:`render_dataset_card` for ``options``) and write it as ``README.md``.

    Returns:
        The path of the written ``README.md``.
    """
    write_card_pictures(output_dir)  # first: the card shows the pictures that exist
    return write_card_text(output_dir, render_dataset_card(output_dir, **options))


def write_card_text(output_dir: str | Path, text: str) -> Path:
    """Write ``text`` as the folder's ``README.md``, then rename: a card is never left half-written, and an old
    card survives a failed render."""
    path = Path(output_dir) / "README.md"
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path
