"""Rows of local source files: JSON Lines, JSON, Parquet and CSV, plain or compressed; and Python files.

Every reader yields :class:`SourceRecord` objects in file order. A row that cannot be read (a line that is
not JSON, bytes that are not UTF-8, a value that is not an object) still comes through, carrying an ``error``
and its location, so the engine counts it and goes on: one bad row never stops a run.

A JSON document (a list of rows, or an object holding one) is read one row at a time
(:mod:`hub_tools.datagen.json_documents`), so a large one needs no more memory than JSON Lines; a document
broken after some rows gives those rows and one ``invalid_json`` (or ``invalid_utf8``) record where it breaks.

Corpora are shipped compressed (``.jsonl.gz`` dumps, ``.json.xz``...): ``.gz``, ``.bz2`` and ``.xz`` files of
the text formats are read as they stream, with the standard library. A compressed file cut short (a
download that stopped, a disk that filled up) or corrupt gives every row before the damage and then one
``corrupt_file`` record saying where it stopped; the run goes on with the next file.

A folder of Python files (a repository, a package: the code a user has rather than a dataset of it) is a
code-only source: each ``.py`` file is one row, its text in ``content`` and its path in ``path``, the fields
The Stack has, so every row gets an empty instruction. The file is decoded as Python decodes it (a byte-order
mark, a ``coding`` declaration; UTF-8 otherwise); one that cannot be is skipped as ``invalid_encoding``, and
one that cannot be read (no permission, gone since the folder was listed) as ``unreadable``. What a folder
holds that is not the tree's own code is not read: a folder with data files is read as data (a dataset
repository's loading script is not a row), and a virtual environment (a folder holding ``pyvenv.cfg``) or
``site-packages`` inside the tree holds other people's packages. A ``.py`` file that is a symbolic link is
skipped as ``symbolic_link``, working, dangling or looping, not followed: a tree's link to one of its own files
would make the row twice, and a link out of the tree (a cloned repository's ``settings.py`` pointing to a file
of the home folder) would put a file that is not the tree's into a dataset meant for publishing. A ``.py``
entry that is no regular file (a named pipe, a socket, a device) is skipped as ``not_a_file``, never opened
(a pipe would block); a folder named ``x.py`` is walked. A name that is not UTF-8 is kept (:func:`path_text`).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from hub_tools.datagen.json_documents import BrokenDocument, document_rows
from hub_tools.datagen.python_files import entry_kind, read_python_file
from hub_tools.errors import UserError, one_line, reason
from hub_tools.recursion_budget import at_any_depth

FORMATS = (".jsonl", ".json", ".parquet", ".csv")
# A Python file: one row of a code-only source (see the module docstring).
PYTHON = ".py"
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# JSON Lines under its other name.
ALIASES = {".ndjson": ".jsonl"}
# Endings of data a folder may hold in a form not read here: in a folder read as data such a file is an
# error, never left out without a word (its rows would be missing from the dataset).
UNREAD_DATA = (".arrow", ".feather", ".avro", ".orc", ".tsv", ".zst", ".zstd", ".lz4", ".br", ".snappy",
               ".zip", ".tar", ".tgz", ".7z", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5", ".tfrecord",
               ".xlsx", ".sqlite", ".db")
# What a cut or corrupt compressed stream raises while it is read.
_STREAM_ERRORS = (EOFError, gzip.BadGzipFile, lzma.LZMAError, zlib.error, OSError)


@dataclass
class SourceRecord:
    """One row of the source.

    Attributes:
        index: position in the source, counting every row including unreadable ones.
        location: where the row is, for messages (``file.jsonl:17``, ``file.parquet row 3``, ``split row 9``).
        fields: the row's fields, or ``None`` when it could not be read.
        error: why it could not be read: ``(reason, detail)``.
    """

    index: int
    location: str
    fields: dict | None = None
    error: tuple[str, str] | None = None


def path_text(path: Path | str) -> str:
    """A path as text any file can hold (JSON, Parquet, a card): a UTF-8 name as it is; in another (an old
    repository's ``caf\\xe9.py``) each byte that is not UTF-8 as ``\\xNN``, as Python prints it, where Python
    holds a lone surrogate no UTF-8 file takes. Deterministic, and the bytes can be read back (only a name
    already spelling ``\\xNN`` reads the same).

    >>> path_text("repo/caf\\udce9.py"), path_text("repo/café.py")
    ('repo/caf\\\\xe9.py', 'repo/café.py')
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def file_format(path: Path) -> tuple[str, str | None]:
    """(format, compression) of a file name: ``rows.jsonl.gz`` is ``(".jsonl", ".gz")``, ``mod.py`` is
    ``(".py", None)``; the format is ``""`` when it is neither one :data:`FORMATS` names nor :data:`PYTHON`
    (Parquet compresses itself, and a Python file is read as it is: no ``.parquet.gz``, no ``.py.gz``).

    >>> file_format(Path("dump/rows.jsonl.gz")), file_format(Path("rows.parquet")), file_format(Path("a.txt"))
    (('.jsonl', '.gz'), ('.parquet', None), ('', None))
    """
    suffixes = [ALIASES.get(suffix.lower(), suffix.lower()) for suffix in path.suffixes[-2:]]
    compression = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSIONS else None
    kind = (suffixes[-2] if len(suffixes) == 2 else "") if compression else (suffixes[-1] if suffixes else "")
    if kind not in (*FORMATS, PYTHON) or (compression and kind in (".parquet", PYTHON)):
        return "", None
    return kind, compression


def local_files(path: Path, exclude: Path | None = None) -> list[Path]:
    """The source files of a file or folder, or a one-line error.

    A folder's data files are sorted by path; a folder with none is read as a tree of Python files (see the
    module docstring), also sorted by path. Hidden files and folders (``.git``, ``.cache``, a run's
    ``.lintseq-work``) are not source files, nor is anything under ``exclude``: the dataset folder a run
    writes, when it lies inside the source folder (a second run would read the first one's output as rows).
    """
    accepted = ", ".join(FORMATS) + f" (text formats also as {', '.join(COMPRESSIONS)})"
    if not path.is_file() and not path.is_dir():
        raise UserError(f"{path_text(path)}: {_what_entry(path)}, not a file or folder that can be read")
    if path.is_file():
        if not file_format(path)[0]:
            raise UserError(f"{path}: unsupported file type {''.join(path.suffixes[-2:])!r}; expected {accepted}, "
                            f"or {PYTHON}")
        return [path]
    skipped = exclude.resolve() if exclude is not None else None
    if skipped is not None and not skipped.is_relative_to(path.resolve()):
        skipped = None  # not inside the source folder: no file needs resolving against it

    def visible(candidate: Path) -> bool:
        inside = candidate.relative_to(path).parts
        # realpath, not Path.resolve: a link that loops (`x.py -> x.py`) raises in resolve, and is a row to skip.
        return (not any(part.startswith(".") for part in inside)
                and (skipped is None or not Path(os.path.realpath(candidate)).is_relative_to(skipped)))

    # Every entry but the folders the walk enters (rglob does not enter a link to a folder: that link is an
    # entry). A link, dangling or not, or a pipe named .py is a row the run skips and counts (python_file_record),
    # never one that vanishes without a word.
    entries = sorted(candidate for candidate in path.rglob("*")
                     if not (candidate.is_dir() and not candidate.is_symlink()) and visible(candidate))
    found = [candidate for candidate in entries if candidate.is_file()]
    files = [candidate for candidate in found if file_format(candidate)[0] in FORMATS]
    unread = [candidate for candidate in found if candidate.name.lower().endswith(UNREAD_DATA)]
    if unread and (files or not any(file_format(candidate)[0] == PYTHON for candidate in found)):
        raise UserError(_unread_data_error(path, unread, accepted))
    for candidate in entries if files else ():
        if file_format(candidate)[0] in FORMATS and not candidate.is_file():
            # A data file holds any number of rows: one that cannot be read is no row to count but a part of
            # the dataset that would vanish (a link whose target moved, a pipe). Said before anything runs.
            # (In a tree of Python files, read as code, a dangling `config.json` link is no part of it.)
            raise UserError(f"{path_text(candidate)}: {_what_entry(candidate)}, not a data file that can be read; "
                            "fix or remove it")
    if not files:
        environments = {candidate.parent for candidate in found if candidate.name == "pyvenv.cfg"}
        files = [candidate for candidate in entries if file_format(candidate)[0] == PYTHON
                 and "site-packages" not in candidate.relative_to(path).parts
                 and not any(folder in environments for folder in candidate.parents)]
    if not files:
        raise UserError(f"{path}: the folder has no {accepted} file, nor any {PYTHON} file")
    return files


def _unread_data_error(folder: Path, unread: list[Path], accepted: str) -> str:
    names = ", ".join(path_text(path.relative_to(folder)) for path in unread[:3])
    more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
    if any(path.suffix == ".arrow" and (path.parent / "state.json").is_file() for path in unread):
        how = ("it is a folder Dataset.save_to_disk wrote: load it with datasets.load_from_disk and write it "
               "with .to_parquet() or .to_json()")
    else:
        how = f"convert them to {accepted}, or move them out of the folder"
    return f"{folder}: holds data in a form not read ({names}{more}); its rows would be missing: {how}"


def _what_entry(entry: Path) -> str:
    try:
        return entry_kind(entry.stat().st_mode)  # through a working link too
    except OSError:
        return "a symbolic link that leads nowhere (its target is missing, or it loops)"


def _open_binary(path: Path):
    compression = file_format(path)[1]
    return COMPRESSIONS[compression](path, "rb") if compression else path.open("rb")


def count_rows(path: Path) -> int | None:
    """Rows of a JSON Lines or Parquet file without parsing them, of a CSV file (its records are parsed, not
    made into rows), or of a Python file (one); ``None`` for JSON."""
    kind = file_format(path)[0]
    if kind == PYTHON:
        return 1
    if kind == ".parquet":
        return _parquet_file(path).metadata.num_rows
    try:
        if kind == ".csv":
            # The records DictReader gives: every row after the header but the empty ones (blank lines).
            with _open_csv(path) as handle:
                rows = csv.reader(handle)
                next(rows, None)
                return sum(1 for row in rows if row)
        if kind != ".jsonl":
            return None
        with _open_binary(path) as handle:
            return sum(1 for line in handle if line.strip())
    except (*_STREAM_ERRORS, csv.Error):
        return None  # a cut file: counted as it is read


def file_records(path: Path, label: str, skip: int = 0, named: bool = False) -> Iterator[SourceRecord]:
    """The records of one file, after its first ``skip`` ones, located by ``label``; ``named``: the user named
    this file itself (not a folder holding it). JSON Lines and Parquet skip without parsing (lines are
    counted, Parquet row groups passed by their metadata), so a task of a distributed run starts at its block
    at little cost; CSV rows before it are parsed by the csv module but never made into records; a JSON
    document's rows before it are decoded one at a time and dropped."""
    kind, compression = file_format(path)
    if kind == PYTHON:
        yield from islice([python_file_record(path, label, link_allowed=named)], skip, None)
        return
    read = [None]  # the location of the last row read (kept or skipped), for a cut file
    if kind == ".jsonl":
        records = _tracked(_jsonl_records(path, label, skip, read), read)
    elif kind == ".parquet":
        records = _parquet_records(path, label, skip)  # never compressed: nothing to track
    elif kind == ".csv":
        records = _csv_records(path, label, skip, read)  # tracks the last line read itself: a row spans lines
    else:
        records = _tracked(_json_records(path, label, skip), read)
    try:
        yield from records
    except _STREAM_ERRORS as error:
        if compression is None:
            raise UserError(f"{path}: cannot read it ({getattr(error, 'strerror', None) or error})") from None
        last = read[0]
        where = "before its first row" if last is None else "after " + (
            f"line {last.removeprefix(label + ':')}" if last.startswith(label + ":") else last.removeprefix(label).strip())
        yield SourceRecord(0, f"{label} {where}", error=(
            "corrupt_file", f"the {compression} stream cannot be read past this point ({type(error).__name__}: "
            f"{error}); the rows before it are kept, any after it are lost"))


def _tracked(records: Iterator[SourceRecord], read: list) -> Iterator[SourceRecord]:
    for record in records:
        read[0] = record.location
        yield record


def _json_kind(value: object) -> str:
    """What JSON calls a value's kind: ``array``, ``number``, ``string``, ``boolean`` or ``null``."""
    kinds = ((bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "array"), (type(None), "null"))
    return next((kind for python_type, kind in kinds if isinstance(value, python_type)), type(value).__name__)


def record_of(fields: object, index: int, location: str) -> SourceRecord:
    """The record of one parsed row: its fields, or a ``not_an_object`` error."""
    if not isinstance(fields, dict):
        return SourceRecord(index, location, error=("not_an_object", f"a JSON {_json_kind(fields)}, not an object"))
    return SourceRecord(index, location, fields=fields)


def _jsonl_records(path: Path, label: str, skip: int = 0, read: list | None = None) -> Iterator[SourceRecord]:
    with _open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if skip:  # a row before the wanted ones: counted, not decoded
                skip -= 1
                if read is not None:
                    read[0] = f"{label}:{number}"
                continue
            location = f"{label}:{number}"
            try:
                # A byte-order mark (Windows tools write one) opens the file, not the first row; a line may open
                # with one too, where files that each began with one were joined (`cat a.jsonl b.jsonl`).
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                yield SourceRecord(0, location, error=("invalid_utf8", f"byte {error.start}: {error.reason}"))
                continue
            try:
                value = at_any_depth(json.loads, text)  # the same rows on every executor (hub_tools.recursion_budget)
            except json.JSONDecodeError as error:
                yield SourceRecord(0, location, error=("invalid_json", f"column {error.colno}: {error.msg}"))
                continue
            except RecursionError:  # the decoder's limit: [[[[... a hundred thousand deep
                yield SourceRecord(0, location, error=("invalid_json", "a value nested too deeply to decode"))
                continue
            except ValueError as error:  # a number of more digits than Python reads (4,300): valid JSON all the same
                yield SourceRecord(0, location, error=("invalid_json", reason(error)))
                continue
            yield record_of(value, 0, location)


def _json_records(path: Path, label: str, skip: int = 0) -> Iterator[SourceRecord]:
    # Streamed one row at a time (hub_tools.datagen.json_documents): memory holds one row, whatever the file's
    # size, and rows before a break in the document are kept.
    with _open_binary(path) as handle:
        try:
            for number, value in enumerate(document_rows(handle)):
                if number >= skip:  # rows before the wanted ones are decoded, never made into records
                    yield record_of(value, 0, f"{label} item {number}")
        except BrokenDocument as broken:
            if broken.rows_before == 0:
                raise UserError(f"{path}: not a JSON document of rows: {broken} (JSON Lines files end in .jsonl)"
                                ) from None
            # A break after some rows (a cut download, a bad byte, documents written one after the other) is
            # one skipped record where it is, and the rows before it are kept.
            if broken.rows_before >= skip:  # the break is a row of this block, or of one after it
                yield SourceRecord(0, f"{label} {broken.where}", error=(
                    broken.reason, f"{broken.detail}; the rows before it are kept, any after it are lost"))


def _parquet_file(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet (or cut short)
        raise UserError(f"{path}: not a readable Parquet file ({one_line(error)})") from None


def _parquet_records(path: Path, label: str, skip: int = 0) -> Iterator[SourceRecord]:
    import pyarrow as pa

    parquet = _parquet_file(path)
    # Whole row groups before the wanted rows are passed by their metadata, never read.
    groups, number = [], 0
    for group in range(parquet.metadata.num_row_groups):
        rows = parquet.metadata.row_group(group).num_rows
        if not groups and number + rows <= skip:
            number += rows
            continue
        groups.append(group)
    if not groups:
        return
    batches = parquet.iter_batches(batch_size=1024, row_groups=groups)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as error:  # a footer that reads, over damaged data
            raise UserError(f"{path}: damaged Parquet file, its rows cannot all be read ({one_line(error)}); "
                            "restore the file, or move it out of the source") from None
        if batch is None:
            return
        if number + batch.num_rows <= skip:
            number += batch.num_rows
            continue
        for fields in batch.slice(max(skip - number, 0)).to_pylist():
            number = max(number, skip)
            yield record_of(fields, 0, f"{label} row {number}")
            number += 1


def _has_undecodable(fields: dict) -> bool:
    try:
        for value in fields.values():
            if isinstance(value, str):
                value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _open_csv(path: Path):
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # code cells can be long
    compression = file_format(path)[1]
    opener = COMPRESSIONS[compression] if compression else open
    # surrogateescape keeps bad bytes as lone surrogates, so one bad row is found and skipped, not the file.
    # utf-8-sig: a spreadsheet's byte-order mark would otherwise become part of the first column's name.
    return opener(path, "rt", encoding="utf-8-sig", errors="surrogateescape", newline="")


def _csv_records(path: Path, label: str, skip: int = 0, read: list | None = None) -> Iterator[SourceRecord]:
    """The rows of a CSV file, each located at the line it starts on (a quoted code cell spans many lines: the
    csv module counts the last); ``read[0]`` is the last line read, for a cut file."""
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        fieldnames = reader.fieldnames  # reads the header
        if fieldnames is None:  # an empty file
            return
        lines = reader.reader
        end = lines.line_num
        for row in lines:
            start, end = end + 1, lines.line_num
            if not row:  # a blank line, passed over as DictReader does
                continue
            if read is not None:
                read[0] = f"{label}:{end}"
            if skip:
                # Rows before the wanted ones are parsed by the csv module alone (a quoted cell may span lines,
                # so lines cannot be counted), never made into records.
                skip -= 1
                continue
            # What DictReader makes of the row: extra cells under its restkey, missing ones as its restval.
            fields = dict(zip(fieldnames, row, strict=False))
            if len(row) > len(fieldnames):
                fields[reader.restkey] = row[len(fieldnames):]
            for name in fieldnames[len(row):]:
                fields[name] = reader.restval
            location = f"{label}:{start}"
            if _has_undecodable(fields):
                yield SourceRecord(0, location, error=("invalid_utf8", "the row has bytes that are not UTF-8"))
            else:
                yield SourceRecord(0, location, fields=fields)


def python_file_record(path: Path, label: str, link_allowed: bool = False) -> SourceRecord:
    """The row of one Python file: ``content`` (its text, decoded as Python decodes it) and ``path``; or why
    it is skipped (see the module docstring). ``link_allowed``: the user named this file itself."""
    text = read_python_file(path, link_allowed)
    if isinstance(text, tuple):
        return SourceRecord(0, label, error=text)
    return SourceRecord(0, label, fields={"content": text, "path": label})
