"""Hub datasets as sources: streamed with ``datasets``, counted, and entered at a row by their files.

A Hub source is read as ``datasets.load_dataset(name, subset, split=..., data_dir=..., streaming=True)``
yields it, and its rows are numbered in that order. Reading it from the start is what a single-machine run
does; a task of a distributed run only wants its own block, and a corpus of many files streamed from the start
by every task costs the network the corpus times the number of tasks.

When the split is made of Parquet files alone (what ``push_to_hub`` writes, and most large corpora), the
files are those ``datasets`` would stream, in its order, at the revision it resolved
(``load_dataset_builder(...).config.data_files``), and each file's footer gives its row count with one
ranged read. So the source is counted without streaming it, and a task streams only the files of its block,
the first of them from the wanted row, with ``datasets`` again (the same decoding, the dataset's declared
features).

Files that say nothing of their length (JSON Lines, JSON, CSV) are counted by reading them, which a
distributed run does anyway to split the source into blocks: that one pass (:func:`shard_rows`) keeps the
rows of each shard ``datasets`` streams (a data file each), at the commit the dataset had then, and a task
then streams only the shards of its block, the first of them up to the wanted row, from the same dataset at
the same commit (``IterableDataset.shard``), so every row is decoded the same way. Without those counts (a
single-machine run, which reads from the start anyway), or when the files cannot be listed, the source is
read from the start. The rows are the same either way: tests compare them at many starting rows.

A run reads its Hub source at one commit (:func:`current_commit` of the revision asked for, or of the main
branch, when it starts; kept in its work folder for a resumed run, recorded with the dataset): an update
pushed to the dataset while a long run goes on, or between a killed run and its resumption, changes nothing
for it.
"""

from __future__ import annotations

from collections.abc import Iterator

from hub_tools.datagen.source_files import SourceRecord, record_of
from hub_tools.errors import UserError


def _where(name: str, split: str, subset: str | None, data_dir: str | None) -> str:
    return f"{name}{f' {subset}' if subset else ''}{f' {data_dir}' if data_dir else ''} {split}"


def _streamed(name: str, split: str, subset: str | None, data_dir: str | None, revision: str | None = None):
    """The split as ``datasets`` streams it (at ``revision``, or the newest); a clear error when it cannot."""
    import datasets

    part = "".join([f" subset {subset!r}" if subset else "", f" data_dir {data_dir!r}" if data_dir else ""])
    try:
        return datasets.load_dataset(name, subset, split=split, data_dir=data_dir, revision=revision, streaming=True)
    except FileNotFoundError as error:
        raise UserError(f"{name}: not a local path, and the Hub has no such dataset{part} ({error})") from None
    except ValueError as error:
        raise UserError(f"{name}:{part} cannot load split {split!r} ({error})") from None
    except Exception as error:
        raise UserError(f"{name}:{part} cannot load it from the Hub ({type(error).__name__}: {error})") from None


def hub_records(name: str, split: str, subset: str | None = None, data_dir: str | None = None,
                revision: str | None = None) -> Iterator[SourceRecord]:
    """Every row of the split, from the start."""
    where = _where(name, split, subset, data_dir)
    for index, fields in enumerate(_streamed(name, split, subset, data_dir, revision)):
        yield record_of(fields, index, f"{where} row {index}")


def current_commit(name: str, revision: str | None = None) -> str:
    """The commit ``revision`` of the dataset (a branch, tag or commit; by default its main branch) points to
    now."""
    import datasets
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RevisionNotFoundError

    try:
        return HfApi(endpoint=datasets.config.HF_ENDPOINT).dataset_info(name, revision=revision).sha
    except RevisionNotFoundError:
        raise UserError(f"{name}: no revision {revision!r} (a branch, tag or commit of the dataset)") from None
    except Exception as error:
        raise UserError(f"{name}: cannot resolve the dataset's current commit ({type(error).__name__}: {error})"
                        ) from None


def shard_rows(name: str, split: str, subset: str | None, data_dir: str | None, commit: str) -> list[int]:
    """The rows of each shard ``datasets`` streams the split from at ``commit`` (a data file each), counted
    by reading them once: for a split of JSON Lines, JSON or CSV files, which say nothing of their length
    without it."""
    dataset = _streamed(name, split, subset, data_dir, commit)
    shards = dataset.n_shards
    return [sum(1 for _ in dataset.shard(num_shards=shards, index=number)) for number in range(shards)]


def hub_records_from_shards(name: str, split: str, subset: str | None, data_dir: str | None, start: int,
                            commit: str, rows_per_shard: list[int]) -> Iterator[SourceRecord]:
    """The rows from index ``start`` on, at ``commit``, streaming only the shards that hold them: the same
    dataset, its shards taken in the order ``datasets`` streams them, so each row is decoded as a read from the
    start decodes it (a test compares them). The first shard is read from its start up to the wanted row."""
    dataset = _streamed(name, split, subset, data_dir, commit)
    if dataset.n_shards != len(rows_per_shard):  # never expected at one commit
        raise UserError(f"{name}: the dataset has {dataset.n_shards} data files at commit {commit}, "
                        f"{len(rows_per_shard)} when its rows were counted")
    where = _where(name, split, subset, data_dir)
    index = 0  # the index of the current shard's first row
    for number, rows in enumerate(rows_per_shard):
        if index + rows <= start:
            index += rows
            continue
        skip = max(start - index, 0)
        shard = dataset.shard(num_shards=len(rows_per_shard), index=number)
        for row_number, fields in enumerate(shard.skip(skip) if skip else shard, start=index + skip):
            yield record_of(fields, row_number, f"{where} row {row_number}")
        index += rows


def parquet_shards(name: str, split: str, subset: str | None = None, data_dir: str | None = None,
                   revision: str | None = None) -> tuple[list[tuple[str, int]], object] | None:
    """The Parquet files ``datasets`` streams for the split, in order, with their row counts, and the dataset's
    declared features; ``None`` when the split is not made of Parquet files alone or they cannot be listed."""
    try:
        import datasets
        import pyarrow.parquet as pq
        from huggingface_hub import HfFileSystem

        builder = datasets.load_dataset_builder(name, subset, data_dir=data_dir, revision=revision)
        files = [str(file) for file in (builder.config.data_files or {}).get(split) or []]
        if not files or not all(file.startswith("hf://") and file.endswith(".parquet") for file in files):
            return None
        filesystem = HfFileSystem(endpoint=datasets.config.HF_ENDPOINT)  # the endpoint datasets streams from
        shards = []
        for file in files:
            with filesystem.open(file, "rb") as handle:  # the footer alone: ranged reads
                shards.append((file, pq.ParquetFile(handle).metadata.num_rows))
        return shards, builder.info.features
    except Exception:  # any doubt: the source is read from the start
        return None


def hub_records_from(name: str, split: str, subset: str | None, data_dir: str | None, start: int,
                     shards: list[tuple[str, int]], features) -> Iterator[SourceRecord]:
    """The rows from index ``start`` on, streaming only the Parquet files that hold them."""
    import datasets

    where = _where(name, split, subset, data_dir)
    index = 0  # the index of the current file's first row
    for file, rows in shards:
        if index + rows <= start:
            index += rows
            continue
        skip = max(start - index, 0)
        stream = datasets.load_dataset("parquet", data_files=[file], split="train", streaming=True, features=features)
        for number, fields in enumerate(stream.skip(skip) if skip else stream, start=index + skip):
            yield record_of(fields, number, f"{where} row {number}")
        index += rows
