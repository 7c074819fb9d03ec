"""Reading a generated dataset folder back: its configs, its settings, its rows (streamed or one at a time).

Used by ``lintseq verify``, ``lintseq show`` and the dataset card. Every problem with the folder itself
(missing, not a dataset, a damaged shard, a missing column) is a one-line :class:`UserError` that names the
file and what exists.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools.errors import UserError, one_line, reason

SETTINGS_FILE = "lintseq_config.json"
BASELINE = "baseline"
CONFIG_ORDER = ("lintseq", "random", BASELINE)
SAMPLER_COLUMNS = ("id", "path_index", "row_index", "instruction", "response", "program", "edit_path",
                   "num_edits", "sampler", "seed", "prompt", "completion")
BASELINE_COLUMNS = ("id", "row_index", "instruction", "response", "program", "prompt", "completion")


def published_files(directory: Path, pattern: str, root: Path) -> list[Path]:
    """The files of ``directory`` matching ``pattern`` that a push may publish, in name order.

    Only what the publishing policy (``hub_tools.hub.folder_policy``) would upload is returned, so a card
    never describes a file that is not sent: hidden names, FIFOs, sockets and devices (opening a FIFO
    blocks forever) and anything that resolves outside ``root`` or to a hidden file are skipped.
    """
    real_root = root.resolve()
    found = []
    for candidate in sorted(directory.glob(pattern)):
        if candidate.name.startswith("."):
            continue
        try:
            resolved = candidate.resolve(strict=True)
            inside = resolved.relative_to(real_root)
            regular = stat.S_ISREG(os.stat(resolved).st_mode)
        except (OSError, RuntimeError, ValueError):  # broken link, link loop, outside the folder
            continue
        if regular and not any(part.startswith(".") for part in inside.parts):
            found.append(candidate)
    return found


@dataclass
class DatasetFolder:
    """A folder in the layout ``lintseq generate`` writes: ``data/<config>/*.parquet``, ``README.md`` and
    ``lintseq_config.json``.

    Attributes:
        path: the folder.
        configs: config name -> its Parquet shards, in name order.
        settings: the content of ``lintseq_config.json`` (empty when the file is absent).

    Example:

    >>> folder = DatasetFolder.open("lintseq-humaneval")  # doctest: +SKIP
    >>> folder.default_config, folder.num_rows("lintseq")  # doctest: +SKIP
    ('lintseq', 820)
    """

    path: Path
    configs: dict[str, list[Path]]
    settings: dict = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path, *, require_settings: bool = False) -> DatasetFolder:
        """Find the configs of a dataset folder; raise a one-line :class:`UserError` when it is not one."""
        path = Path(path)
        if not path.exists():
            raise UserError(f"{path}: no such folder (write a dataset with `lintseq generate --output-dir {path}`)")
        if not path.is_dir():
            raise UserError(f"{path}: is a file; expected the folder written by `lintseq generate`")
        configs = {
            folder.name: shards
            for folder in sorted((path / "data").glob("*"))
            # Hidden folders are the engine's staging areas of an unfinished run, not configs.
            if folder.is_dir() and not folder.name.startswith(".")
            and (shards := published_files(folder, "*.parquet", path))
        }
        # Sampler configs first, as the card and the reports list them.
        configs = dict(sorted(configs.items(), key=lambda item: (CONFIG_ORDER.index(item[0])
                                                                  if item[0] in CONFIG_ORDER else len(CONFIG_ORDER), item[0])))
        if not configs:
            raise UserError(f"{path}: not a dataset written by `lintseq generate` (no data/<config>/*.parquet "
                            f"files); create one with `lintseq generate --output-dir {path}`")
        settings_path = path / SETTINGS_FILE
        settings: dict = {}
        if settings_path.is_file():
            try:
                settings = json.loads(settings_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise UserError(f"{settings_path}:{error.lineno}: not valid JSON ({error.msg})") from None
            except (OSError, UnicodeDecodeError) as error:
                raise UserError(f"{settings_path}: cannot read it ({error})") from None
            except (ValueError, RecursionError) as error:  # a number Python will not read, nesting past the decoder
                raise UserError(f"{settings_path}: cannot read it ({reason(error)})") from None
            if not isinstance(settings, dict):
                raise UserError(f"{settings_path}: expected a JSON object as `lintseq generate` writes")
        elif require_settings:
            raise UserError(f"{path}: {SETTINGS_FILE} is missing; it records the sampler and lint profile "
                            "the rows were made with (regenerate the folder with `lintseq generate`)")
        return cls(path=path, configs=configs, settings=settings)

    def config_settings(self, name: str) -> dict:
        """The settings ``lintseq_config.json`` records for config ``name`` (empty when unknown)."""
        configs = self.settings.get("configs")
        value = configs.get(name) if isinstance(configs, dict) else None
        return value if isinstance(value, dict) else {}

    def sampler(self, name: str) -> str | None:
        """``"lintseq"`` or ``"random"`` for a sampler config, ``None`` for the baseline."""
        if name == BASELINE:
            return None
        recorded = self.config_settings(name).get("sampler")
        return recorded if isinstance(recorded, str) else name

    @property
    def default_config(self) -> str:
        """The config ``load_dataset(folder)`` gives: the recorded default if it is on disk, else the first
        sampler config, else the baseline."""
        recorded = self.settings.get("default_config")
        if isinstance(recorded, str) and recorded in self.configs:
            return recorded
        samplers = [name for name in self.configs if name != BASELINE]
        return samplers[0] if samplers else next(iter(self.configs))

    def check_config(self, name: str | None) -> list[str]:
        """Return ``[name]`` (or every config for ``None``); a one-line error naming those that exist."""
        if name is None:
            return list(self.configs)
        if name not in self.configs:
            raise UserError(f"{self.path}: no config {name!r}; this folder has {', '.join(self.configs)}")
        return [name]

    def num_rows(self, name: str) -> int:
        """Rows of config ``name``, from the Parquet footers (nothing else is read)."""
        return sum(self._open_shard(shard, ()).metadata.num_rows for shard in self.configs[name])

    def columns(self, name: str) -> tuple[str, ...]:
        return BASELINE_COLUMNS if self.sampler(name) is None else SAMPLER_COLUMNS

    def _open_shard(self, shard: Path, wanted: tuple[str, ...]):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(shard)
        except Exception as error:  # pyarrow raises several types for a damaged file (cut short, emptied, bytes flipped)
            raise UserError(f"{shard}: not a readable Parquet file ({one_line(error)})") from None
        missing = [column for column in wanted if column not in parquet.schema_arrow.names]
        if missing:
            raise UserError(f"{shard}: column {missing[0]!r} is missing (has {', '.join(parquet.schema_arrow.names)}); "
                            "not a shard written by `lintseq generate`")
        return parquet

    def iter_rows(self, name: str, *, batch_size: int = 64,
                  columns: tuple[str, ...] | None = None) -> Iterator[tuple[str, list[dict]]]:
        """Yield ``(location of the first row, rows)`` batches of config ``name``, streaming the shards.

        Args:
            name: the config.
            batch_size: rows per batch.
            columns: the columns each row holds (default: every column of the config, :meth:`columns`).

        Locations read ``data/<config>/<shard>.parquet row N``, counted from 0 within the shard.

        Raises:
            UserError: a shard is not a readable Parquet file, lacks a column, or is damaged past its footer
                (its pages cut or overwritten); the message names the shard and the row reached.
        """
        wanted = self.columns(name) if columns is None else columns
        for shard in self.configs[name]:
            parquet = self._open_shard(shard, wanted)
            first = 0
            relative = shard.relative_to(self.path).as_posix()
            batches = parquet.iter_batches(batch_size=batch_size, columns=list(wanted))
            while True:
                # Only the read is guarded, not the yield: an error the consumer raises is its own.
                try:
                    batch = next(batches, None)
                    rows = None if batch is None else batch.to_pylist()
                except Exception as error:  # a footer that reads, over pages that do not: ArrowInvalid, OSError...
                    raise UserError(f"{shard}: damaged Parquet file, unreadable after row {first} "
                                    f"({one_line(error)}); regenerate the folder") from None
                if rows is None:
                    break
                yield f"{relative} row {first}", rows
                first += len(rows)

    def read_row(self, name: str, index: int) -> tuple[str, dict]:
        """Return ``(location, row)`` for the ``index``-th row of config ``name`` (0-based, shard order)."""
        total = self.num_rows(name)
        if not 0 <= index < total:
            raise UserError(f"{self.path}: config {name!r} has {total} rows (indices 0 to {total - 1}); "
                            f"there is no row {index}")
        wanted = self.columns(name)
        for shard in self.configs[name]:
            parquet = self._open_shard(shard, wanted)
            if index >= parquet.metadata.num_rows:
                index -= parquet.metadata.num_rows
                continue
            location = f"{shard.relative_to(self.path).as_posix()} row {index}"
            # Read only the row group that holds the row: shards can be large.
            for group in range(parquet.num_row_groups):
                group_rows = parquet.metadata.row_group(group).num_rows
                if index < group_rows:
                    try:
                        table = parquet.read_row_group(group, columns=list(wanted))
                    except Exception as error:  # damaged past its footer, as in iter_rows
                        raise UserError(f"{shard}: damaged Parquet file, row group {group} unreadable "
                                        f"({one_line(error)}); regenerate the folder") from None
                    return location, table.slice(index, 1).to_pylist()[0]
                index -= group_rows
        raise AssertionError("unreachable: the row count came from the same footers")
