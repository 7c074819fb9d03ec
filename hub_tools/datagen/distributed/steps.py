"""LintSeq as datatrove pipeline steps: a reader of our sources, the sampler, and two writers.

A document carries one source row: the program in ``text`` (markdown fences and chain-of-thought
stripped), the row's fields under their own names in ``metadata``, and, when :class:`LintSeqReader` made it,
its place in the source under ``metadata["lintseq_origin"]`` (row index, location, chunk). Documents from
any other reader work too: the program is then taken from ``text`` and the instruction from the metadata.

:class:`LintSeqSampler` calls :func:`hub_tools.datagen.rows.process_record`, the same pure per-row function as
the single-machine engine, so a row gets the same edit paths under any executor; it yields one document per
edit path (``text`` is the completion, ``metadata`` holds the row's columns) and counts skipped rows by
reason in the step's datatrove statistics (``skipped_<reason>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from hub_tools.datagen.repeats import load_repeats
from hub_tools.datagen.row_selection import RowSelection
from hub_tools.datagen.rows import (
    GenerationConfig,
    RowOutcome,
    SkippedRow,
    instruction_and_code,
    process_record,
)
from hub_tools.datagen.sources import Source, SourceRecord, detect_fields
from hub_tools.datagen.writer import (
    BASELINE_SCHEMA,
    SAMPLER_SCHEMA,
    PartStore,
    changed_source_file,
    with_kept_fields,
)
from hub_tools.errors import UserError
from hub_tools.lintseq import extract_program

ORIGIN = "lintseq_origin"  # metadata key: where a row came from, and (on outputs) what it cost
CONFIG = "lintseq_config"  # metadata key of outputs: "lintseq", "random", "baseline", or None for a skipped row


def chunk_range(rank: int, world_size: int, total_chunks: int) -> range:
    """The chunks task ``rank`` of ``world_size`` works on: a contiguous block, so it stops reading early."""
    return range(rank * total_chunks // world_size, (rank + 1) * total_chunks // world_size)


def count_chunks(source: Source, selected: RowSelection | None, chunk_size: int, announce=None) -> int:
    """How many chunks the source (or its selected rows) makes; ``announce()`` is called before a pass over
    the source, where its files do not say how many rows they hold (CSV, a Hub dataset's JSON Lines)."""
    if selected is not None:
        rows = len(selected)
    else:
        rows = source.count()
        if rows is None:
            if announce is not None:
                announce()
            rows = source.count_by_reading()
    return -(-rows // chunk_size)


class LintSeqReader(PipelineStep):
    """Reads a LintSeq source (JSONL / JSON / Parquet / CSV file or folder, a tree of Python files, a Hub
    dataset, or the built-in HumanEval corpus) into documents, with the field detection and fence extraction of
    ``lintseq generate``.

    Rows are numbered in chunks of ``chunk_size``; each task reads a contiguous block of chunks, so a row
    lands in the same chunk however many tasks there are. A task enters the source at its block
    (``Source.records_from``): local JSON Lines, Parquet and Python files and a Hub dataset's Parquet files
    without reading the rows before it, CSV without making records of them, a Hub dataset's other files
    streaming only those of its block (counted by the launcher's one pass). A row that cannot be read still
    comes through (with its reason), so the sampler counts it.

    Args:
        source: a local file or folder, a Hub dataset id, or ``None`` for the built-in corpus.
        split: the split of a Hub dataset.
        prompt_field: the field holding the instruction (detected when ``None``).
        code_field: the field holding the program (detected when ``None``).
        selected: read only these row indices (``lintseq generate --num-samples``).
        drop_duplicates: pass a row that repeats an earlier one exactly as a ``duplicate`` skip, the first
            occurrence being the same for any number of tasks. Without ``repeats_file`` every task reads the
            rows before its block to find them.
        repeats_file: which rows repeat which and where their first occurrences are, found by two passes over
            the source (:func:`hub_tools.datagen.repeats.save_repeats`; ``lintseq generate --executor`` writes it in the
            run's work folder): with it, ``drop_duplicates`` tasks enter the source at their block too.
        chunk_size: source rows per chunk.
        total_chunks: chunks in the source; counted when ``None``.
        skip_parts_of: a :class:`~hub_tools.datagen.writer.PartStore` whose finished chunks are not read
            again (resuming a killed run).
        source_stamps: the sizes and modification times of the source's files when the run began (its
            ``run.json``): a task refuses to read a source changed since, whose rows it would count otherwise.
    """

    name = "🐍 LintSeq source"
    type = "📖 - READER"

    def __init__(self, source: str | Source | None = None, *, split: str = "train", prompt_field: str | None = None,
                 code_field: str | None = None, selected: Iterable[int] | None = None, drop_duplicates: bool = False,
                 repeats_file: str | Path | None = None, chunk_size: int = 128, total_chunks: int | None = None,
                 skip_parts_of: PartStore | None = None, source_stamps: dict | None = None):
        super().__init__()
        self.source_stamps = source_stamps
        self.source = source if isinstance(source, Source) else Source(source, split=split)
        # Tasks may run in another folder (Ray workers) or on another machine: no relative paths.
        self.source.files = [path.absolute() for path in self.source.files]
        if prompt_field is None or code_field is None:
            prompt_field, code_field = detect_fields(self.source.first_fields(), prompt_field, code_field)
        self.prompt_field, self.code_field = prompt_field, code_field
        # The field and duplicate rules of the run, for reading rows (the sampler has the rest of the settings).
        # With a repeats file, the duplicates are marked from it, not found by reading from the start.
        self.repeats_file = str(Path(repeats_file).absolute()) if drop_duplicates and repeats_file else None
        self._rules = GenerationConfig(prompt_field=prompt_field, code_field=code_field,
                                       drop_duplicates=drop_duplicates and self.repeats_file is None)
        if selected is not None and not isinstance(selected, RowSelection):
            selected = RowSelection.of(selected)  # one bit a row, pickled with every task
        self.selected, self.chunk_size = selected, chunk_size
        self.total_chunks, self.skip_parts_of = total_chunks, skip_parts_of

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from hub_tools.datagen.engine import chunk_records

        if data:
            yield from data
        total = self.total_chunks
        if total is None:
            total = count_chunks(self.source, self.selected, self.chunk_size)
        mine = chunk_range(rank, world_size, total)
        done = self.skip_parts_of.completed() if self.skip_parts_of is not None else set()
        # A task enters the source at its block (local files, and a Hub dataset's files once counted, are passed by
        # their row counts: Source.records_from). With --num-samples its block starts at
        # the selected row that opens its first chunk. Whether a row repeats an earlier one depends on every
        # row before it: with --drop-duplicates a task enters at its block only when given the repeats found
        # by the launcher's passes over the source (it loads those of its block), else it reads from the start.
        self.refuse_a_changed_source()
        first, start_row = self._entry(mine.start)
        if start_row is None:
            return  # no row of the source falls in this task's block
        rows = self.source.records_from(start_row)
        repeats = None
        if self.repeats_file is not None:  # this block's repeats, and where their first occurrences are
            stop_row = self._entry(mine.stop)[1] if mine.stop < total else None
            repeats = load_repeats(self.repeats_file, start_row, stop_row)
        for number, records in chunk_records(rows, self.selected, self._rules, self.chunk_size, first, repeats):
            if number >= mine.stop:
                return  # the rest of the source belongs to later tasks
            if number < mine.start or number in done:
                continue
            isolate = self._attempted(number)
            for record in records:
                self.stat_update("source_rows")
                yield self.document(record, number, isolate)

    def refuse_a_changed_source(self) -> None:
        """Raise :class:`UserError` when a source file was replaced or edited since the run began (``source_stamps``):
        this task would count its way to other rows than the tasks that read before the change did (a row
        inserted at the top gave one row twice and lost another)."""
        changed = changed_source_file(self.source_stamps, self.source.file_stamps()) if self.source_stamps else None
        if changed is not None:
            raise UserError(f"the source file {changed} changed since the run began; the task stops (the run "
                            "merges nothing: pass --overwrite to start over)")

    def _entry(self, chunk: int) -> tuple[int, int | None]:
        """(the chunk the task's reading starts at, the source row it starts at; ``None``: past the last row)."""
        if self._rules.drop_duplicates:  # no repeats file: the duplicates are found by reading every row
            return 0, 0
        if self.selected is None:
            return chunk, chunk * self.chunk_size
        opening = chunk * self.chunk_size  # the position, among the selected rows, of the chunk's first row
        return chunk, (self.selected.nth(opening) if opening < len(self.selected) else None)

    def _attempted(self, number: int) -> bool:
        """Whether an earlier attempt at this chunk died before saving it; marks this attempt.

        A row that kills its process (a segfault in a C extension, the OOM killer) would kill every attempt
        at its chunk: after one such death the chunk is processed in isolation, so the row is found and
        skipped as ``worker_crash``, as the single-machine engine does.
        """
        if self.skip_parts_of is None:
            return False
        marker = self.skip_parts_of.folder / f"part-{number:05d}.attempt"
        attempted = marker.exists()
        marker.touch()
        return attempted

    def document(self, record: SourceRecord, chunk: int, isolate: bool = False) -> Document:
        origin = {"row_index": record.index, "location": record.location, "chunk": chunk}
        if isolate:
            origin["isolate"] = True
        if record.error is not None:
            return Document(text="", id=record.location, metadata={ORIGIN: {**origin, "error": list(record.error)}})
        try:
            _, code = instruction_and_code(record.fields, self._rules)
            text = extract_program(code)
        except SkippedRow:  # the sampler skips it with its reason
            text = ""
        return Document(text=text, id=record.location, metadata={**record.fields, ORIGIN: origin})


class LintSeqSampler(PipelineStep):
    """Samples LintSeq edit paths for each document: one output document per path.

    Output documents have the completion (the training target) as ``text`` and every column of the dataset
    row (``id``, ``instruction``, ``program``, ``edit_path``, ``prompt``, ``completion``…) in ``metadata``;
    ``metadata["lintseq_config"]`` names the config (the sampler, or ``"baseline"`` for the program-as-is row
    yielded when ``baseline`` is set). Skipped rows are counted in the step's statistics as
    ``skipped_<reason>``; with ``keep_skipped`` they also come through as documents with an empty text and
    ``metadata["lintseq_config"] = None`` (for writers that record them).

    Args:
        config: the per-row settings (``prompt_field`` / ``code_field`` name the metadata fields; a
            document without the code field in its metadata uses its ``text``).
        baseline: also yield the baseline row of each program.
        keep_skipped: also yield one document per skipped row.

    Example:

    >>> from datatrove.data import Document
    >>> sampler = LintSeqSampler(GenerationConfig(sampler="random"))
    >>> documents = [Document(text="def add(a, b):\\n    return a + b", id="0", metadata={"instruction": "Add."})]
    >>> [output.metadata["num_edits"] for output in sampler.run(documents)]
    [2]
    """

    name = "🐍 LintSeq sampler"
    type = "🔢 - LINTSEQ"

    def __init__(self, config: GenerationConfig | None = None, *, baseline: bool = False, keep_skipped: bool = False):
        super().__init__()
        self.config = config or GenerationConfig()
        self.baseline, self.keep_skipped = baseline, keep_skipped

    def record(self, document: Document, number: int) -> SourceRecord:
        metadata = document.metadata
        origin = metadata.get(ORIGIN)
        if origin is None:  # a document of another reader: the program is its text
            fields = {**metadata, self.config.code_field: metadata.get(self.config.code_field, document.text)}
            return SourceRecord(number, f"document {document.id}", fields=fields)
        if "error" in origin:
            return SourceRecord(origin["row_index"], origin["location"], error=tuple(origin["error"]))
        fields = {key: value for key, value in metadata.items() if key != ORIGIN}
        return SourceRecord(origin["row_index"], origin["location"], fields=fields)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        isolated: list[tuple[Document, SourceRecord]] = []  # rows of one chunk to process in a child process
        for number, document in enumerate(data or ()):
            record = self.record(document, number)
            origin = document.metadata.get(ORIGIN, {})
            if isolated and (not origin.get("isolate") or origin["chunk"] != isolated[0][0].metadata[ORIGIN]["chunk"]):
                yield from self._isolated(isolated)
                isolated = []
            if origin.get("isolate"):
                isolated.append((document, record))
                continue
            with self.track_time():
                outcome = process_record(record, self.config)
            yield from self.documents(outcome, self._origin(document, record, outcome))
        if isolated:
            yield from self._isolated(isolated)

    def _isolated(self, pending: list[tuple[Document, SourceRecord]]) -> Iterator[Document]:
        from hub_tools.datagen.engine import isolate_records

        self.stat_update("isolated_rows", value=len(pending))
        with self.track_time(unit="chunk"):
            outcomes = isolate_records([record for _, record in pending], self.config)
        for (document, record), outcome in zip(pending, outcomes, strict=True):
            yield from self.documents(outcome, self._origin(document, record, outcome))

    @staticmethod
    def _origin(document: Document, record: SourceRecord, outcome: RowOutcome) -> dict:
        # measurements (benchmark overlap, dedup key, token counts) travel as they are, merged at assembly.
        return {**document.metadata.get(ORIGIN, {}), "row_index": record.index, "location": record.location,
                "lint_calls": outcome.lint_calls, "measurements": outcome.measurements}

    def documents(self, outcome: RowOutcome, origin: dict) -> Iterator[Document]:
        if outcome.skipped:
            reason, detail = outcome.skipped
            self.stat_update("skipped", f"skipped_{reason}")
            if self.keep_skipped:
                yield Document(text="", id=origin["location"],
                               metadata={CONFIG: None, ORIGIN: {**origin, "skipped": [reason, detail]}})
            return
        self.stat_update("programs")
        self.stat_update("rows", value=len(outcome.rows))
        self.stat_update("lint_calls", value=outcome.lint_calls)
        for row in outcome.rows:
            yield Document(text=row["completion"], id=f"{row['id']}-{row['path_index']}",
                           metadata={**row, CONFIG: self.config.sampler, ORIGIN: origin})
        if self.baseline:
            row = outcome.baseline
            yield Document(text=row["completion"], id=row["id"], metadata={**row, CONFIG: "baseline", ORIGIN: origin})


def _columns(document: Document, keep_fields=()) -> dict:
    schema = BASELINE_SCHEMA if document.metadata[CONFIG] == "baseline" else SAMPLER_SCHEMA
    metadata = document.metadata
    return {**{name: metadata[name] for name in schema.names}, **{name: metadata.get(name) for name in keep_fields}}


def outcomes_of(documents: list[Document], keep_fields=()) -> list[RowOutcome]:
    """Rebuild the per-row outcomes of a chunk from the sampler's documents (``keep_skipped`` and
    ``baseline`` on), in source order; ``keep_fields``: the source fields the rows keep."""
    outcomes: dict[int, RowOutcome] = {}
    for document in documents:
        origin = document.metadata[ORIGIN]
        outcome = outcomes.get(origin["row_index"])
        if outcome is None:
            outcome = outcomes[origin["row_index"]] = RowOutcome(origin["row_index"], origin["location"],
                                                                 lint_calls=origin["lint_calls"],
                                                                 measurements=origin.get("measurements") or {})
        kind = document.metadata[CONFIG]
        if kind is None:
            outcome.skipped = tuple(origin["skipped"])
        elif kind == "baseline":
            outcome.baseline = _columns(document, keep_fields)
        else:
            outcome.rows.append(_columns(document, keep_fields))
    return list(outcomes.values())


class LintSeqPartWriter(PipelineStep):
    """Saves the sampler's documents as the parts of ``lintseq generate``'s work folder, one per chunk.

    A part is written only once every row of its chunk went through, and atomically, so a task killed at
    any moment leaves complete parts only; the merge step (:func:`hub_tools.datagen.assembly.assemble_dataset`)
    turns them into the dataset folder, byte for byte as the single-machine engine would.

    Args:
        output_dir: the dataset folder.
        config_name: the sampler config (``"lintseq"`` or ``"random"``).
        keep_fields: the source fields the rows keep (``GenerationConfig.keep_fields``).
        run: the run's settings, as its ``run.json`` holds them; a task of a run another one replaced (a Ray
            worker or Slurm job outliving a killed command, then ``--overwrite``) writes nothing.
    """

    name = "🐍 LintSeq parts"
    type = "💽 - WRITER"

    def __init__(self, output_dir: str | Path, config_name: str, keep_fields=(), run: dict | None = None):
        super().__init__()
        self.output_dir, self.config_name, self.keep_fields = str(output_dir), config_name, tuple(keep_fields)
        self.run_settings = run  # not self.run: that is the step's method

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        from hub_tools.datagen.assembly import save_part

        parts = PartStore(Path(self.output_dir), self.config_name, self.keep_fields, run=self.run_settings)
        chunk, pending = None, []
        try:
            for document in data or ():
                number = document.metadata[ORIGIN]["chunk"]
                if number != chunk and pending:
                    save_part(parts, chunk, outcomes_of(pending, self.keep_fields))
                    self.stat_update("parts")
                    pending = []
                chunk = number
                pending.append(document)
                yield document
            if pending:
                save_part(parts, chunk, outcomes_of(pending, self.keep_fields))
                self.stat_update("parts")
        finally:
            parts.close()


class LintSeqParquetWriter(PipelineStep):
    """Writes the sampler's documents as our Parquet rows, in the Hub's layout: one file per task and
    config, ``OUTPUT/data/<config>/train-<rank>-of-<world_size>.parquet`` (``load_dataset("parquet",
    data_files=...)`` reads it; ``lintseq generate --executor`` writes the whole folder with its card).

    Args:
        output_folder: a local folder or any datatrove ``DataFolder`` target (``s3://…``, ``hf://…``).
        rows_per_group: Parquet row-group size.
        keep_fields: the source fields the rows keep (``GenerationConfig.keep_fields``).
    """

    name = "🐍 LintSeq Parquet"
    type = "💽 - WRITER"

    def __init__(self, output_folder, rows_per_group: int = 1000, keep_fields=()):
        super().__init__()
        self.output_folder, self.rows_per_group, self.keep_fields = output_folder, rows_per_group, tuple(keep_fields)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from datatrove.io import get_datafolder

        folder = get_datafolder(self.output_folder)
        buffers: dict[str, list[dict]] = {}
        writers: dict[str, tuple] = {}

        def flush(config: str) -> None:
            schema = with_kept_fields(BASELINE_SCHEMA if config == "baseline" else SAMPLER_SCHEMA, self.keep_fields)
            if config not in writers:
                handle = folder.open(f"data/{config}/train-{rank:05d}-of-{world_size:05d}.parquet", "wb")
                writers[config] = (handle, pq.ParquetWriter(handle, schema))
            writers[config][1].write_table(pa.Table.from_pylist(buffers.pop(config), schema=schema))

        try:
            for document in data or ():
                config = document.metadata.get(CONFIG)
                if config is not None:
                    buffers.setdefault(config, []).append(_columns(document, self.keep_fields))
                    self.stat_update(f"rows_{config}")
                    if len(buffers[config]) >= self.rows_per_group:
                        flush(config)
                yield document
            for config in list(buffers):
                flush(config)
        finally:
            for handle, writer in writers.values():
                writer.close()
                handle.close()
