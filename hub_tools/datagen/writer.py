"""The output folder: work parts while a run goes on, then Parquet shards in the Hub's dataset layout.

```
OUT/README.md                                   # the dataset card
OUT/data/<config>/train-00000-of-00002.parquet  # one folder per config: lintseq / random, baseline
OUT/lintseq_config.json                         # settings, versions and statistics of every config
OUT/.lintseq-work/<config>/                     # only while a run is unfinished: its completed parts
```

A part holds the rows of one chunk of source rows. It is written to a temporary name, synced to disk and
renamed (the folder synced after), its statistics file last, so a part is either complete or absent: a run
killed at any moment (SIGKILL included, or the machine losing power) resumes from the parts on disk and loses
or duplicates nothing. A part damaged all the same (a file cut or emptied by a full disk or by hand, a
statistics file that is not JSON, a Parquet file gone) is found when a run starts or resumes
(:meth:`PartStore.discard_damaged`: the JSON parsed, each Parquet footer read, no rows) and removed with a
note naming it, so its chunk is computed again rather than every rerun failing in the merge step.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hub_tools.datagen.slurm_jobs import refuse_while_job_runs
from hub_tools.errors import UNREADABLE_JSON, UserError, one_line

CONFIG_FILE = "lintseq_config.json"
WORK_FOLDER = ".lintseq-work"
ROWS_PER_SHARD = 50_000
ROWS_PER_GROUP = 1_000
FORMAT_VERSION = 1
# The key of a run's settings (run.json) that holds each local source file's size and modification time.
SOURCE_FILES = "source_files"

SAMPLER_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("path_index", pa.int32()),
    ("row_index", pa.int64()),
    ("instruction", pa.string()),
    ("response", pa.string()),
    ("program", pa.string()),
    ("edit_path", pa.list_(pa.string())),
    ("num_edits", pa.int32()),
    ("sampler", pa.string()),
    ("seed", pa.int64()),
    ("prompt", pa.string()),
    ("completion", pa.string()),
])
BASELINE_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("row_index", pa.int64()),
    ("instruction", pa.string()),
    ("response", pa.string()),
    ("program", pa.string()),
    ("prompt", pa.string()),
    ("completion", pa.string()),
])


def with_kept_fields(schema: pa.Schema, keep_fields=()) -> pa.Schema:
    """``schema`` and, after its columns, a string column for each source field the run keeps
    (``--keep-fields``)."""
    return pa.schema([*schema, *(pa.field(name, pa.string()) for name in keep_fields)])


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def _sync(descriptor: int) -> None:
    """Flush a file's data, or a folder's entries (a rename), to the disk; a system that will not (some
    network file systems) is left to it."""
    with contextlib.suppress(OSError):
        os.fsync(descriptor)


def _write_into(folder: int, name: str, write) -> None:
    """``write(file)`` into a temporary file of the open folder ``folder``, then renamed to ``name``; a write
    that fails (a full disk, a value no UTF-8 file holds) leaves no temporary file behind, and raises.

    The folder is a descriptor, not a path: a folder removed and made again under the same name (another run
    started with ``--overwrite``) is not the one written into, and a removed folder takes no file.
    """
    # Unique per process: two tasks may compute the same part at once (a requeued Slurm task, a Ray retry,
    # a rerun while the first run's jobs still go on); each renames its own complete file into place.
    temporary = f"{name}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666, dir_fd=folder)
        with open(descriptor, "wb") as file:
            write(file)
            file.flush()
            _sync(file.fileno())  # the data first, then the rename: after a crash the name holds a whole file
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        _sync(folder)
    except BaseException:
        with contextlib.suppress(OSError):  # the error to report is the write's
            os.unlink(temporary, dir_fd=folder)
        raise


def _open_folder(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def _write_atomically(path: Path, write) -> None:
    folder = _open_folder(path.parent)
    try:
        _write_into(folder, path.name, write)
    finally:
        os.close(folder)


def _json_bytes(value: dict) -> bytes:
    # Encoded before the file is opened: a value that cannot be written leaves no empty file.
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _parquet_writer(table: pa.Table):
    return lambda file: pq.write_table(table, file, row_group_size=ROWS_PER_GROUP)


def write_json_atomically(value: dict, path: Path) -> None:
    data = _json_bytes(value)
    _write_atomically(path, lambda file: file.write(data))


class DamagedPart(Exception):
    """A part whose rows could not be read during the merge step."""

    def __init__(self, path: Path, detail: str):
        super().__init__(f"{path}: {detail}")
        self.path, self.detail = path, detail


def _row_groups(parts: list[Path], schema: pa.Schema, exclude: pa.Array | None = None):
    """The rows of the parts, in order, as tables of exactly ROWS_PER_GROUP rows (the last one shorter),
    leaving out the rows whose ``row_index`` is in ``exclude``."""
    import pyarrow.compute as pc

    buffer = pa.Table.from_batches([], schema=schema)
    for part in parts:
        for batch in _batches(part):
            table = pa.Table.from_batches([batch], schema=schema)
            if exclude is not None:
                table = table.filter(pc.invert(pc.is_in(table["row_index"], value_set=exclude)))
            buffer = pa.concat_tables([buffer, table])
            while buffer.num_rows >= ROWS_PER_GROUP:
                yield buffer.slice(0, ROWS_PER_GROUP)
                buffer = buffer.slice(ROWS_PER_GROUP)
    if buffer.num_rows:
        yield buffer


def _batches(part: Path):
    try:
        yield from pq.ParquetFile(part).iter_batches(batch_size=ROWS_PER_GROUP)
    except (OSError, pa.ArrowException) as error:  # damaged past its footer, which discard_damaged reads
        raise DamagedPart(part, one_line(error, limit=None)) from None


class PartStore:
    """Completed parts of one unfinished run, in ``OUT/.lintseq-work/<config>/``."""

    def __init__(self, output_dir: Path, config_name: str, keep_fields=(), run: dict | None = None):
        """``run``: the settings of the run this store writes for (its ``run.json``), for a task started apart
        from :meth:`prepare` (a Ray or Slurm task); the store writes parts only while the folder holds them."""
        self.folder = output_dir / WORK_FOLDER / config_name
        self.schemas = {"rows": with_kept_fields(SAMPLER_SCHEMA, keep_fields),
                        "baseline": with_kept_fields(BASELINE_SCHEMA, keep_fields)}
        self.run, self._bound = run, None

    def prepare(self, fingerprint: dict, overwrite: bool) -> int:
        """Create or reopen the work folder; return how many parts are already complete.

        A folder left by a run with other settings is an error unless ``overwrite``.
        """
        run_file = self.folder / "run.json"
        if self.folder.exists() and (overwrite or not run_file.exists()):
            refuse_while_job_runs(self.folder, self.folder.parent.parent)
            _remove_folder(self.folder)
        if run_file.exists():
            try:
                previous = json.loads(run_file.read_text(encoding="utf-8"))
            except (OSError, *UNREADABLE_JSON):
                previous = None
            if not isinstance(previous, dict):
                raise UserError(f"{run_file}: not the JSON record of a run; pass --overwrite to start over")
            if SOURCE_FILES in fingerprint and SOURCE_FILES not in previous:
                previous[SOURCE_FILES] = fingerprint[SOURCE_FILES]  # a run begun by a version that kept none
            if previous != fingerprint:
                _refuse_resume(self.folder.parent.parent, previous, fingerprint)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomically(fingerprint, run_file)
        self.close()
        self.run = fingerprint
        self.discard_damaged()
        return len(self.completed())

    def _stem(self, number: int) -> Path:
        return self.folder / f"part-{number:05d}"

    def discard_damaged(self) -> None:
        """Remove each part that cannot be read, with a note naming it, so its chunk is computed again.

        Cheap: each statistics file is parsed and each Parquet file's footer (its schema) read, no rows.
        """
        for number in sorted(self.completed()):
            damage = self._damage(number)
            if damage is not None:
                self.discard(number)
                print(f"{self._stem(number).with_suffix('.json')}: damaged part ({damage}); removed, its chunk "
                      "is computed again", file=sys.stderr, flush=True)

    def _damage(self, number: int) -> str | None:
        """What is wrong with a part, or ``None``."""
        stem = self._stem(number)
        try:
            stats = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, *UNREADABLE_JSON):
            return "its statistics file is not JSON"
        if not isinstance(stats, dict):
            return "its statistics file is not a JSON object"
        for kind, schema in self.schemas.items():
            path = stem.with_suffix(f".{kind}.parquet")
            if not path.is_file():
                return f"{path.name} is missing"
            try:
                names = pq.read_schema(path).names
            except (OSError, pa.ArrowException) as error:
                return f"{path.name} cannot be read: {one_line(error, limit=None)}"
            if names != schema.names:
                return f"{path.name} has other columns"
        return None

    def discard(self, number: int) -> None:
        """Remove part ``number`` (its statistics file first: it marks the part complete)."""
        stem = self._stem(number)
        # The attempt marker too: the chunk is redone because of the damage, not of a process that died on it.
        for suffix in (".json", ".rows.parquet", ".baseline.parquet", ".attempt"):
            stem.with_suffix(suffix).unlink(missing_ok=True)

    def unfinished(self) -> bool:
        """Whether an unfinished run of this config left its work folder."""
        return (self.folder / "run.json").exists()

    def completed(self) -> set[int]:
        # The number is all the digits between "part-" and ".json": five at least, six and more from chunk
        # 100,000 on (12.8 million rows at the default chunk size).
        names = (path.name.removeprefix("part-").removesuffix(".json") for path in self.folder.glob("part-*.json"))
        return {int(name) for name in names if name.isdigit()}

    def _folder_of_the_run(self) -> int:
        """The work folder, open, once it is known to hold this store's run.

        A task of a run killed with ``kill -9`` can outlive it (a Ray worker, a Slurm job) and finish a part
        after another run began in the same folder with ``--overwrite``. The folder is opened once and written
        through the descriptor: the run that replaced it removed that folder, which takes no file. A task that
        opens it first after the new run began finds another ``run.json``, or none yet, and writes nothing.
        """
        if self._bound is None:
            try:
                folder = _open_folder(self.folder)
            except FileNotFoundError:
                raise self._replaced() from None
            try:
                record = os.open("run.json", os.O_RDONLY, dir_fd=folder)
                with open(record, "rb") as file:
                    found = json.loads(file.read())
            except (OSError, *UNREADABLE_JSON):
                found = None
            if self.run is not None and found != self.run:
                os.close(folder)
                raise self._replaced()
            self._bound = folder
        return self._bound

    def _replaced(self) -> UserError:
        return UserError(f"{self.folder}: the run this task belongs to was replaced by another (started with "
                         "--overwrite or other settings) while it worked; its parts are not written")

    def write(self, number: int, rows: list[dict], baseline: list[dict], stats: dict) -> None:
        folder, stem, data = self._folder_of_the_run(), self._stem(number).name, _json_bytes(stats)
        try:
            _write_into(folder, f"{stem}.rows.parquet", _parquet_writer(_table(rows, self.schemas["rows"])))
            _write_into(folder, f"{stem}.baseline.parquet",
                        _parquet_writer(_table(baseline, self.schemas["baseline"])))
            _write_into(folder, f"{stem}.json", lambda file: file.write(data))  # last: marks the part complete
        except FileNotFoundError:  # the folder was removed: by the run that replaced this one, or by hand
            raise self._replaced() from None

    def __getstate__(self) -> dict:  # sent to a task: an open folder is this process's alone
        return {**self.__dict__, "_bound": None}

    def close(self) -> None:
        """Let go of the open work folder (:meth:`write` opens it again when it must)."""
        if self._bound is not None:
            os.close(self._bound)
            self._bound = None

    def stats(self) -> Iterator[dict]:
        """The parts' statistics in part order, read one at a time."""
        for number in sorted(self.completed()):
            yield json.loads(self._stem(number).with_suffix(".json").read_text())

    def assemble(self, output_dir: Path, config_name: str, kind: str, exclude: set[int] = frozenset()) -> tuple[int, int]:
        """Write the parts' ``kind`` rows ("rows" or "baseline") as the shards of ``data/<config_name>``,
        leaving out the rows of the source rows in ``exclude`` (removed duplicates).

        Returns (rows, shards). Row groups and shards are cut from the row sequence alone, never at part
        boundaries, so the same rows give the same bytes whatever the chunking and the number of workers.
        """
        schema = self.schemas[kind]
        parts = [self._stem(n).with_suffix(f".{kind}.parquet") for n in sorted(self.completed())]
        excluded = pa.array(sorted(exclude), type=pa.int64()) if exclude else None
        total = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
        if excluded is not None:
            total = sum(group.num_rows for group in _row_groups(parts, schema, excluded))
        shards = max(1, math.ceil(total / ROWS_PER_SHARD))
        groups_per_shard = max(1, math.ceil(math.ceil(total / ROWS_PER_GROUP) / shards))
        staging = output_dir / "data" / f".{config_name}.staging"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        writer, shard = None, 0
        try:
            for number, group in enumerate(_row_groups(parts, schema, excluded), start=1):
                if writer is None:
                    writer = pq.ParquetWriter(staging / f"train-{shard:05d}-of-{shards:05d}.parquet", schema)
                writer.write_table(group, row_group_size=ROWS_PER_GROUP)
                if number % groups_per_shard == 0:
                    writer.close()
                    writer, shard = None, shard + 1
        except DamagedPart as damaged:
            # Damage past the footer the start of the run checked: the part goes, the next run redoes its chunk.
            self.discard(int(damaged.path.name.removeprefix("part-").split(".")[0]))
            raise UserError(f"{damaged.path}: damaged part ({damaged.detail}); removed: run the same command again "
                            "to compute its chunk and finish") from None
        finally:
            if writer is not None:
                writer.close()
        if total == 0:
            pq.write_table(_table([], schema), staging / "train-00000-of-00001.parquet")
        final = output_dir / "data" / config_name
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        return total, shards

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        work = self.folder.parent
        if work.exists() and not any(work.iterdir()):
            work.rmdir()


def _remove_folder(folder: Path, attempts: int = 20) -> None:
    """Remove a run's work folder. A task of a killed run may still write there (a Ray worker outlives its
    command): a file that appears while the folder is emptied fails the removal, so it is tried again; once
    the folder is gone such a task can write nothing (:meth:`PartStore._folder_of_the_run`)."""
    for attempt in range(attempts):
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            if not folder.exists():
                return
        except OSError as error:
            if attempt == attempts - 1:
                raise UserError(f"{folder}: cannot remove the previous run's parts ({error.strerror}); is another "
                                "process still writing there? Stop it and run this command again") from None
        time.sleep(0.1)


def changed_source_file(before: dict, now: dict) -> str | None:
    """The first source file whose stamp (size, modification time) is not what ``before`` recorded, compared in
    the source's order (a task may name the files by their absolute paths), or ``None``."""
    if len(before) != len(now):
        return "a file of the source"
    return next((name for (name, stamp), recorded in zip(now.items(), before.values(), strict=True)
                 if list(stamp) != list(recorded)), None)


def _refuse_resume(output_dir: Path, previous: dict, fingerprint: dict) -> None:
    """The one-line refusal of a resume whose settings, or source files, are not those the run started with."""
    changed = sorted(key for key in fingerprint if previous.get(key) != fingerprint[key])
    if changed == [SOURCE_FILES]:
        before, now = previous[SOURCE_FILES] or {}, fingerprint[SOURCE_FILES]
        name = next(name for name in [*now, *before] if before.get(name) != now.get(name))
        what = ("is new" if name not in before else "is gone" if name not in now
                else "changed (size or modification time)")
        raise UserError(f"{output_dir} holds an unfinished run whose source file {name} {what} since it started: "
                        "its saved parts hold the old rows; pass --overwrite to start over")
    raise UserError(
        f"{output_dir} holds an unfinished run with other settings "
        f"({', '.join(changed)} differ); rerun with the same settings to resume it, or pass --overwrite"
    )


def read_config_file(output_dir: Path) -> dict:
    path = output_dir / CONFIG_FILE
    if not path.exists():
        return {"format_version": FORMAT_VERSION, "configs": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except UNREADABLE_JSON as error:
        where = f" at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        raise UserError(f"{path}: not valid JSON{where}; restore it, or delete the folder and generate again") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("configs", {}), dict):
        raise UserError(f"{path}: expected an object with a 'configs' object; restore it, or delete the folder")
    return manifest


def check_output_folder(output_dir: Path) -> None:
    """Refuse a folder that holds anything other than a dataset this tool wrote, or a name Parquet cannot use."""
    try:
        str(output_dir).encode("utf-8")
    except UnicodeEncodeError:  # pyarrow opens files by UTF-8 paths only; it failed after the work folder was made
        shown = os.fsencode(output_dir).decode("utf-8", "backslashreplace")
        raise UserError(f"{shown}: the folder's name is not UTF-8, and Parquet files cannot be written under such a "
                        "name; choose an --output-dir named in UTF-8") from None
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"{output_dir}: exists and is not a folder")
    if not output_dir.exists() or not any(output_dir.iterdir()):
        return
    ours = {CONFIG_FILE, "README.md", "data", WORK_FOLDER, ".gitattributes", "images", ".images.staging"}
    if not (output_dir / CONFIG_FILE).exists() and not (output_dir / WORK_FOLDER).exists():
        raise UserError(f"{output_dir}: the folder is not empty and holds no generated dataset; choose an empty or new folder")
    foreign = sorted(path.name for path in output_dir.iterdir() if path.name not in ours)
    if foreign:
        raise UserError(f"{output_dir}: holds files this tool did not write ({', '.join(foreign[:5])}); choose another folder")
