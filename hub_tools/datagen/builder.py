"""A ``datasets`` builder for LintSeq datasets, used from Python.

``datasets`` 4 and later no longer run dataset scripts, so this builder is a class you instantiate; it
shares the per-row work of ``lintseq generate`` (:func:`~hub_tools.datagen.rows.process_record`), so both
give the same rows for the same settings:

>>> from hub_tools.datagen.builder import LintSeqBuilder
>>> builder = LintSeqBuilder(config_name="lintseq", source="data.jsonl", num_paths=5)  # doctest: +SKIP
>>> builder.download_and_prepare(num_proc=4)                                          # doctest: +SKIP
>>> dataset = builder.as_dataset(split="train")                                       # doctest: +SKIP

Configs: ``lintseq`` (linter-guided edit sequences), ``random`` (the no-linter ablation) and
``baseline`` (instruction + whole program). Every :class:`LintSeqBuilderConfig` field can be passed as a
keyword argument. What is published to the Hub is the Parquet folder that ``lintseq generate`` writes, which
every ``datasets`` version loads without this class.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import datasets

from hub_tools.datagen.rows import GenerationConfig, process_record
from hub_tools.datagen.sources import Source, detect_fields, kept_fields
from hub_tools.lintseq import LintSeqConfig

_STRING = datasets.Value("string")
SAMPLER_FEATURES = datasets.Features({
    "id": _STRING, "path_index": datasets.Value("int32"), "row_index": datasets.Value("int64"),
    "instruction": _STRING, "response": _STRING, "program": _STRING,
    "edit_path": datasets.List(_STRING), "num_edits": datasets.Value("int32"), "sampler": _STRING,
    "seed": datasets.Value("int64"), "prompt": _STRING, "completion": _STRING,
})
BASELINE_FEATURES = datasets.Features({
    "id": _STRING, "row_index": datasets.Value("int64"), "instruction": _STRING, "response": _STRING,
    "program": _STRING, "prompt": _STRING, "completion": _STRING,
})
ROWS_PER_SHARD = 64  # source rows per generation shard: what num_proc distributes


@dataclass
class LintSeqBuilderConfig(datasets.BuilderConfig):
    """Settings of a :class:`LintSeqBuilder` (see :class:`~hub_tools.datagen.rows.GenerationConfig`).

    Attributes:
        source: a local file or folder, a Hub dataset id, or ``None`` for the built-in HumanEval corpus.
        source_split: the split of a Hub source.
        source_subset: the subset (configuration name) of a Hub source.
        source_data_dir: the folder of a Hub source's repository to read alone.
        source_revision: the branch, tag or commit of a Hub source to read (its main branch when ``None``); the
            build reads the commit it points to when the build starts.
        prompt_field: the instruction field (detected when ``None``).
        code_field: the program field (detected when ``None``).
        sampler: ``"lintseq"`` or ``"random"``; ``None`` for the baseline config.
        profile: the lint profile.
        num_paths: edit paths per program.
        seed: the run's seed.
        time_limit: seconds per program, for all its paths; ``None``: 60 s per path for every 250 lines
            begun (:func:`~hub_tools.datagen.rows.program_time_limit`).
        keep_fields: source fields kept as string columns (``lintseq generate --keep-fields``).
    """

    source: str | None = None
    source_split: str = "train"
    source_subset: str | None = None
    source_data_dir: str | None = None
    source_revision: str | None = None
    prompt_field: str | None = None
    code_field: str | None = None
    sampler: str | None = "lintseq"
    profile: str = "portable"
    num_paths: int = 1
    seed: int = 0
    time_limit: float | None = None
    keep_fields: tuple[str, ...] = ()


class LintSeqBuilder(datasets.GeneratorBasedBuilder):
    """Builds LintSeq edit-sequence datasets (and their baseline) with the engine's per-row work."""

    BUILDER_CONFIG_CLASS = LintSeqBuilderConfig
    BUILDER_CONFIGS = [  # noqa: RUF012 - the datasets API wants a plain list
        LintSeqBuilderConfig(name="lintseq", sampler="lintseq", description="linter-guided edit sequences"),
        LintSeqBuilderConfig(name="random", sampler="random", description="random deletions, no linter (ablation)"),
        LintSeqBuilderConfig(name="baseline", sampler=None, description="instruction and whole program"),
    ]
    DEFAULT_CONFIG_NAME = "lintseq"

    def __init__(self, *args, **kwargs):
        # datasets keys a builder's cache by its config's fields: for a local source, only the name given.
        # The same `source="data.jsonl"` gave the rows of the file as it was at the first build (a row
        # appended since: missing), and from another folder the rows of that other folder's file. The files
        # the name stands for now (absolute path, size, modification time) join the key, as datasets' own
        # file builders hash their data files.
        if kwargs.get("hash") is None:
            kwargs["hash"] = _local_source_key(kwargs.get("source"))
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        features = BASELINE_FEATURES if self.config.sampler is None else SAMPLER_FEATURES
        features = datasets.Features({**features, **{name: _STRING for name in self.config.keep_fields}})
        return datasets.DatasetInfo(
            description="LintSeq edit sequences (Piterbarg et al., ICLR 2025), built with hub_tools",
            features=features,
            citation="@inproceedings{piterbarg2025lintseq, title={Training Language Models on Synthetic Edit "
            "Sequences Improves Code Synthesis}, author={Piterbarg, Ulyana and Pinto, Lerrel and Fergus, Rob}, "
            "booktitle={ICLR}, year={2025}}",
        )

    def _generation_config(self, source: Source) -> GenerationConfig:
        available = source.first_fields()
        prompt_field, code_field = detect_fields(available, self.config.prompt_field, self.config.code_field)
        # The baseline keeps every valid program; the fast random sampler only runs the shared checks.
        return GenerationConfig(
            prompt_field=prompt_field, code_field=code_field, sampler=self.config.sampler or "random",
            profile=self.config.profile, num_paths=self.config.num_paths, seed=self.config.seed,
            time_limit=self.config.time_limit, lintseq=LintSeqConfig(),
            keep_fields=kept_fields(self.config.keep_fields, available),
        )

    def _source(self) -> Source:
        return Source(self.config.source, split=self.config.source_split, subset=self.config.source_subset,
                      data_dir=self.config.source_data_dir, revision=self.config.source_revision)

    def _split_generators(self, dl_manager):
        source = self._source()
        source.pin_commit()  # one commit for every range, however long the build takes (None: not a Hub source)
        total = source.count_by_reading()
        ranges = [(start, min(start + ROWS_PER_SHARD, total)) for start in range(0, total, ROWS_PER_SHARD)]
        # The rows of a Hub dataset's shards, when they were read to count it, go with every range (a tuple:
        # datasets splits list arguments between processes).
        shard_rows = tuple(source.hub_shard_rows) if source.hub_shard_rows is not None else None
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={
            "ranges": ranges, "shard_rows": shard_rows, "commit": source.hub_commit})]

    def _generate_examples(self, ranges, shard_rows=None, commit=None):
        source = self._source()
        source.hub_shard_rows = list(shard_rows) if shard_rows is not None else None
        source.hub_commit = commit
        config = self._generation_config(source)
        for start, stop in ranges:
            # Each shard enters the source at its first row (local JSON Lines, Parquet and CSV files are passed
            # by their row counts), not a read from the start per shard: that was quadratic in the source.
            for record in islice(source.records_from(start), stop - start):
                outcome = process_record(record, config)
                if self.config.sampler is None:
                    if outcome.baseline is not None:
                        yield f"{outcome.baseline['id']}-{record.index}", outcome.baseline
                    continue
                for row in outcome.rows:
                    yield f"{row['id']}-{record.index}-{row['path_index']}", row


def _local_source_key(source: str | None) -> str | None:
    """A short hash of the local files ``source`` names as they are now; ``None`` for the built-in corpus and a
    Hub dataset (keyed by its name and ``source_revision``: pass a commit to pin what a cache holds)."""
    import hashlib
    import json

    if source is None:
        return None
    found = Source(source)
    if found.kind != "files":
        return None
    # Where the files are (the name given may be relative) and their sizes and times (Source.file_stamps).
    key = [sorted(str(path.resolve()) for path in found.files), found.file_stamps()]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

