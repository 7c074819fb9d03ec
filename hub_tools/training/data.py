"""The training data of ``lintseq train``: an edit-sequence dataset's config, or plain-text files.

A folder written by ``lintseq generate`` (or the same dataset on the Hub) has one config per variant
(``lintseq``, ``random``, ``baseline``), each with ``prompt`` and ``completion`` columns: TRL's
prompt-completion format, so the loss covers only the completion. Plain-text files are for pretraining.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub_tools.errors import UserError, one_line
from hub_tools.training.arguments import DATASET_CONFIGS, DataConfig

if TYPE_CHECKING:
    from datasets import Dataset

REQUIRED_COLUMNS = ("prompt", "completion")


def load_training_dataset(data_config: DataConfig, *, dataset_text_field: str = "text",
                          split: str | None = None) -> Dataset:
    """Load the training split named by ``data_config`` and check that it has the columns training needs.

    Args:
        data_config: the ``data`` section of a recipe.
        dataset_text_field: the text column of a plain-text corpus.
        split: another split to load (the evaluation split); defaults to ``dataset_train_split``.

    Returns:
        A `datasets.Dataset` with ``prompt``/``completion`` columns (edit sequences, baseline) or a text
        column (``text_files``).

    Raises:
        UserError: nothing to load, a folder or config that does not exist, a split that is missing, or a
            dataset without ``prompt``/``completion`` columns (the message names the columns it has).

    Example:
        >>> dataset = load_training_dataset(DataConfig(dataset_name="lintseq-humaneval"))  # doctest: +SKIP
        >>> dataset.column_names[:2]                                                      # doctest: +SKIP
        ['id', 'instruction']
    """
    import datasets

    if data_config.text_files:
        if split is not None:
            raise UserError("text_files has no evaluation split; set eval_strategy: 'no' to pretrain on text files")
        return _load_text_files(data_config.text_files, dataset_text_field)
    split = split or data_config.dataset_train_split
    name = data_config.dataset_name
    if not name:
        raise UserError("no training data: set dataset_name (or text_files) in the recipe's 'data' section")
    local = Path(name).expanduser()
    if not local.exists() and (name.startswith((".", "/", "~")) or name.count("/") > 1):
        raise UserError(f"dataset folder {name} does not exist; write one with 'lintseq generate --output-dir {name}'")
    try:
        if local.exists():
            loaded = _load_local(local, data_config.dataset_config, split)
        else:
            loaded = datasets.load_dataset(name, name=data_config.dataset_config, split=split)
    except ValueError as error:
        message = one_line(error)
        if "BuilderConfig" not in message and "split" in message.lower():
            raise UserError(f"dataset {name} has no split {split!r} ({message}); name another split "
                            "(dataset_train_split / dataset_test_split) or set eval_strategy: 'no'") from None
        if ("config" in message.lower() and local.is_dir() and not (local / "lintseq_config.json").is_file()
                and not (local / "data").is_dir()):
            raise UserError(f"dataset folder {name} was not written by 'lintseq generate' (no lintseq_config.json, "
                            "no data/ configs): generate one from it with 'lintseq generate', or give text_files "
                            "to pretrain on plain text") from None
        if "config" in message.lower():
            raise UserError(
                f"dataset {name} has no config {data_config.dataset_config!r} ({message}); "
                f"set dataset_config to one of its configs, e.g. {', '.join(DATASET_CONFIGS)}"
            ) from None
        raise UserError(f"cannot load dataset {name}: {message}") from None
    except (FileNotFoundError, OSError, datasets.exceptions.DatasetNotFoundError) as error:
        raise UserError(f"cannot load dataset {name}: {one_line(error)}") from None
    except datasets.exceptions.DatasetGenerationError as error:  # files whose columns do not agree, and such
        cause = error.__cause__ or error
        raise UserError(f"cannot read dataset {name}: {one_line(cause)}") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in loaded.column_names]
    if missing:
        raise UserError(
            f"dataset {name} (config {data_config.dataset_config!r}) has no {'/'.join(missing)} column; found "
            f"{', '.join(loaded.column_names)}. Pick a config written by 'lintseq generate' "
            f"({', '.join(DATASET_CONFIGS)}) with dataset_config, or give text_files to pretrain on plain text"
        )
    # Everything but prompt/completion is analysis metadata; keeping it would make TRL guess a format.
    return _usable_rows(loaded.select_columns(list(REQUIRED_COLUMNS)), name)


def _usable_rows(dataset: Dataset, name: str) -> Dataset:
    """The rows with a text prompt and a non-empty text completion; the others are skipped and counted.

    A null completion ended the run in TRL's tokenization with a traceback, and an empty one trained the
    model to answer the prompt with end-of-text at once: neither is an example. A column that is not text
    at all is an error naming it.
    """
    for column in REQUIRED_COLUMNS:
        kind = getattr(dataset.features.get(column), "dtype", None)
        if kind not in ("string", "large_string", "null"):
            raise UserError(f"dataset {name}: column {column!r} holds {kind or dataset.features.get(column)}, "
                            "not text; training reads prompt and completion as strings")
    usable = dataset.filter(lambda prompt, completion: prompt is not None and bool(completion),
                            input_columns=list(REQUIRED_COLUMNS), desc="Checking rows")
    skipped = len(dataset) - len(usable)
    if skipped:
        print(f"note: dataset {name}: skipped {skipped:,} of {len(dataset):,} rows whose prompt is null or whose "
              "completion is null or empty", file=sys.stderr)
    if len(usable) == 0:
        raise UserError(f"dataset {name}: no row has a prompt and a non-empty completion")
    return usable


def _load_local(folder: Path, config: str | None, split: str) -> Dataset:
    """Load one config of a local dataset folder, always from the files as they are now.

    ``load_dataset(folder, config)`` caches a folder's configs under a key made of the folder's name and the
    config's file patterns, not of the files themselves (datasets 5.2): a dataset regenerated into the same
    folder, or another folder with the same name, would silently give the old rows. The folder's own card
    still says which files make the config; loading those files by format hashes their paths and times.
    """
    import datasets

    builder = datasets.load_dataset_builder(str(folder), name=config)
    data_files = builder.config.data_files or {}
    if split not in data_files:
        raise ValueError(f"splits of this config: {', '.join(data_files) or 'none'}")
    file_format = type(builder).__module__.rsplit(".", 1)[-1]  # parquet, json, csv, arrow, text
    return datasets.load_dataset(file_format, data_files={split: list(data_files[split])}, split=split)


def _load_text_files(patterns: list[str], text_field: str) -> Dataset:
    import datasets

    from hub_tools.training.tokenizer import corpus_files

    files = [str(path) for path in corpus_files(patterns)]
    # One example per file: a source file is the natural document, and packing joins documents anyway.
    corpus = datasets.load_dataset("text", data_files=files, sample_by="document", split="train")
    if text_field != "text":
        corpus = corpus.rename_column("text", text_field)
    corpus = corpus.filter(lambda row: bool(row[text_field].strip()))
    if len(corpus) == 0:  # TRL's first look at an empty dataset was a StopIteration traceback
        raise UserError(f"text_files: no text in {', '.join(files[:3])}{', ...' if len(files) > 3 else ''}")
    return corpus
