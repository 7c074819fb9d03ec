"""The work done for one source row: a pure function of (row, config).

:func:`process_record` turns one source row into its edit-sequence rows and its baseline row, or into
one skip reason. It keeps no state between rows (a linter cached per process only saves start-up
time), so any engine can call it: the local multi-process engine of :mod:`hub_tools.datagen.engine`, the
``datasets`` builder, or the datatrove step
:class:`hub_tools.datagen.distributed.LintSeqSampler` on a local pool, Slurm or Ray.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field

import numpy as np

from hub_tools.datagen.conversations import ConversationError, single_exchange
from hub_tools.datagen.decontamination import (
    DecontaminationConfig,
    benchmark_index,
    default_decontamination,
    find_overlap,
)
from hub_tools.datagen.deduplication import program_key
from hub_tools.datagen.sources import JOIN, SourceRecord
from hub_tools.linters.pylint_backend import DEFAULT_MEMORY_LIMIT_MB
from hub_tools.linters.syntax_errors import compile_failure
from hub_tools.lintseq import (
    DIFF_TOKEN,
    LintSeqConfig,
    NoCodeError,
    extract_program,
    format_completion,
    format_prompt,
    normalize_program,
    sample_edit_path,
)
from hub_tools.lintseq.lines import indentation_unit
from hub_tools.recursion_budget import at_any_depth

# The indentation unit pylint's bad-indentation (W0311) expects.
FOUR_SPACES = "    "


@dataclass(frozen=True)
class GenerationConfig:
    """Settings of one generation run.

    Attributes:
        prompt_field: the source field holding the instruction; ``None`` for a code-only source, whose rows
            all get an empty instruction (the prompt is then ``format_prompt("")``); fields joined by ``+``
            (``"instruction+input"``) give their non-empty texts joined by a blank line; the code field's name
            for a conversation (:mod:`hub_tools.datagen.conversations`).
        code_field: the source field holding the program (markdown and chain-of-thought are stripped).
        sampler: ``"lintseq"`` (linter-guided) or ``"random"`` (the no-linter ablation).
        profile: the lint profile, ``"portable"`` or ``"reference"`` (see :mod:`hub_tools.linters.profiles`).
        num_paths: edit paths sampled per program (the paper uses 5).
        seed: the run's seed; the path ``k`` of row ``id`` uses ``SeedSequence([seed, int(id, 16), k])``.
        time_limit: seconds one program may take for all its paths; past it the row is skipped. The
            linter's one-time work (starting pylint, building library modules: ``build_seconds``) is not
            counted. ``None`` (the default) scales it with the work: :func:`program_time_limit`.
        lint_timeout: seconds one lint call may take (library building not counted either).
        lint_memory_limit: MiB by which one lint call may grow its process's memory (library building not
            counted); past it the program is skipped as ``lint_memory``. 0 sets no limit.
        max_lines: programs with more lines are skipped.
        max_line_length: programs with a longer line are skipped.
        drop_duplicates: skip a source row that repeats an earlier one exactly (same instruction and code,
            so the same ``id``) as ``duplicate``. Applied by the engine, which sees every row; by default
            such rows are kept and counted.
        lintseq: the sampler's own settings (the paper's by default).
        decontamination: the benchmarks rows are compared with (default: HumanEval, reported but not
            dropped; ``None``: none); overlapping rows are dropped as ``contaminated`` when its ``drop`` is
            set, else only reported.
        dedup: ``"exact"`` removes programs whose normalised text an earlier source row has (the first
            occurrence stays); ``"none"`` keeps them. Duplicates are counted either way.
        tokenizer: a tokenizer (local folder, ``tokenizer.json`` or Hub id) to count the tokens of every
            row with; ``None`` counts none.
        keep_fields: source fields copied into every row (sampler and baseline configs) as string columns
            of the same name, after the dataset's own: a text as it is, another value as JSON, ``None`` where
            the row has none (:func:`kept_values`).
    """

    prompt_field: str | None = "instruction"
    code_field: str = "response"
    sampler: str = "lintseq"
    profile: str = "portable"
    num_paths: int = 1
    seed: int = 0
    time_limit: float | None = None
    lint_timeout: float = 10.0
    lint_memory_limit: float = DEFAULT_MEMORY_LIMIT_MB
    max_lines: int = 2000
    max_line_length: int = 2000
    drop_duplicates: bool = False
    lintseq: LintSeqConfig = field(default_factory=LintSeqConfig)
    decontamination: DecontaminationConfig | None = field(default_factory=default_decontamination)
    dedup: str = "none"
    tokenizer: str | None = None
    keep_fields: tuple[str, ...] = ()

    @property
    def reports_indentation(self) -> bool:
        """Whether the run reports programs not indented with four spaces (only where it collapses their paths:
        see ``run_statistics.other_indentation``)."""
        return self.sampler == "lintseq" and not self.lintseq.ignore_init_errors

    def to_dict(self) -> dict:
        # The benchmark texts travel with the config to the workers, but only their names and fingerprint
        # are settings worth recording.
        values = dataclasses.asdict(dataclasses.replace(self, decontamination=None))
        values["decontamination"] = self.decontamination.to_dict() if self.decontamination else None
        values["keep_fields"] = list(self.keep_fields)  # as JSON records it, so recorded settings compare equal
        return values

    @classmethod
    def from_dict(cls, values: dict) -> GenerationConfig:
        values = dict(values)
        values["lintseq"] = LintSeqConfig(**values.get("lintseq", {}))
        values["keep_fields"] = tuple(values.get("keep_fields") or ())
        if values.get("decontamination"):
            values["decontamination"] = DecontaminationConfig.from_dict(values["decontamination"])
        return cls(**values)


@dataclass
class RowOutcome:
    """What one source row produced: rows for the sampler config and the baseline, or a skip reason."""

    index: int
    location: str
    rows: list[dict] = field(default_factory=list)
    baseline: dict | None = None
    skipped: tuple[str, str] | None = None  # (reason, detail)
    lint_calls: int = 0
    # Per-row figures merged when the parts are assembled (see run_statistics.part_records): "overlap" (the
    # benchmark part the row overlaps), "program_key" (for deduplication), "tokens" (token counts), "indent"
    # (the program's indentation unit, when it is not the four spaces pylint expects). A
    # distributed step carries this dict as it is, so new figures need no change there.
    measurements: dict = field(default_factory=dict)


# The default time limit of a program: this many seconds per path for every AUTO_LIMIT_LINES lines begun. The
# cost of a path grows faster than the file (a longer file has more edits, and each lints more lines): one path
# of the standard library's `ast.py` (1,752 lines) took 70 s on one core, `configparser.py` (1,382) 40 s, a
# 25-line function about 0.01 s. A fixed minute dropped exactly the long files a corpus of whole files
# is made of; a program that is slow for what it is (pylint's inference running away) is stopped per call
# by ``lint_timeout`` well before its row's limit.
AUTO_LIMIT_SECONDS = 60.0
AUTO_LIMIT_LINES = 250


def program_time_limit(config: GenerationConfig, program: str) -> float:
    """Seconds ``program`` may take for all its paths: ``config.time_limit``, or by default
    :data:`AUTO_LIMIT_SECONDS` per path for every :data:`AUTO_LIMIT_LINES` lines begun.

    >>> program_time_limit(GenerationConfig(num_paths=5), "x = 1\\n" * 600)
    900.0
    >>> program_time_limit(GenerationConfig(time_limit=30), "x = 1\\n" * 600)
    30
    """
    if config.time_limit is not None:
        return config.time_limit
    lines = program.count("\n") + 1
    return AUTO_LIMIT_SECONDS * config.num_paths * -(-lines // AUTO_LIMIT_LINES)


class ProgramTimeout(TimeoutError):
    """A program took longer than the per-program time limit."""


class _DeadlineLinter:
    """Gives each lint call what is left of the program's time budget (at most ``call_timeout``), and the
    run's memory limit.

    Time the linter spent starting and building library modules (``build_seconds``: once per process,
    outside its own clock) moves the deadline by as much, so the first program of a worker, or the first
    that imports a large library, is not skipped for the cold start.
    """

    def __init__(self, linter, deadline: float, call_timeout: float, memory_limit: float = 0.0):
        self.linter, self.deadline, self.call_timeout = linter, deadline, call_timeout
        self.memory_limit = memory_limit  # MiB; 0: none

    def lint(self, program: str):
        from hub_tools.linters import LintTimeout

        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ProgramTimeout()
        self.linter.timeout = min(self.call_timeout, remaining)
        self.linter.memory_limit_mb = self.memory_limit
        built, timeout = getattr(self.linter, "build_seconds", 0.0), None
        try:
            errors = self.linter.lint(program)
        except LintTimeout as error:
            timeout = error
        self.deadline += getattr(self.linter, "build_seconds", 0.0) - built
        if timeout is None:
            return errors
        if time.monotonic() >= self.deadline:
            raise ProgramTimeout()
        raise timeout


_LINTERS: dict[str, object] = {}  # one kept-alive linter per profile and process: start-up cost only


def _linter(profile: str):
    if profile not in _LINTERS:
        from hub_tools.linters import PylintLinter

        _LINTERS[profile] = PylintLinter(profile)
    return _LINTERS[profile]


def row_id(instruction: str, code: str) -> str:
    """Stable id of a source row: 16 hex characters of the SHA-256 of its content."""
    return hashlib.sha256(f"{instruction}\x00{code}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _check_program(program: str, config: GenerationConfig) -> tuple[str, str] | None:
    lines = program.split("\n")
    if len(lines) > config.max_lines:
        return "too_long", f"{len(lines)} lines (limit {config.max_lines})"
    longest = max(range(len(lines)), key=lambda index: len(lines[index]))
    if len(lines[longest]) > config.max_line_length:
        return "line_too_long", f"line {longest + 1} has {len(lines[longest])} characters (limit {config.max_line_length})"
    # The whole compiler, not only the parser: ``return`` or ``await`` outside a function, a repeated
    # argument name, ``nonlocal`` at module level parse, but Python refuses to run them.
    failure = compile_failure(program)
    return None if failure is None else ("syntax_error", failure)


def _unpaired_surrogate(text: str) -> str | None:
    """Where ``text`` holds half of a UTF-16 surrogate pair, which no UTF-8 file can store; ``None`` if nowhere.

    JSON can spell one (``"\\ud83d"`` without its low half: a string cut inside an emoji), and Python
    reads it as text, but Parquet, and so every part of the dataset, refuses it.

    >>> _unpaired_surrogate("cut in half: " + chr(0xD83D))
    'an unpaired surrogate U+D83D at character 13'
    >>> _unpaired_surrogate("caf\u00e9") is None
    True
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"an unpaired surrogate U+{ord(text[error.start]):04X} at character {error.start}"
    return None


class SkippedRow(ValueError):
    """A source row that cannot give a program: ``reason`` is its skip reason, the message its detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _present_field(fields: dict, name: str) -> object:
    value = fields.get(name)
    if value is None:
        # Null and absent are one reason (a Hub dataset's missing values are nulls), told apart in the detail.
        raise SkippedRow("missing_field", f"{name!r} is null" if name in fields else f"no {name!r} field")
    return value


def _text_field(fields: dict, name: str) -> str:
    value = _present_field(fields, name)
    if not isinstance(value, str):
        raise SkippedRow("non_string_field", f"{name!r} is of type {type(value).__name__}, not text")
    return value


def _joined_fields(fields: dict, spec: str) -> str:
    """The text of ``spec``: one field, or fields joined by ``+`` (Alpaca's ``instruction+input``), whose
    non-empty texts are joined by a blank line. The first field is required; a later one may be null or absent
    (an Alpaca row without input)."""
    first, *rest = spec.split(JOIN)
    texts = [_text_field(fields, first)]
    for name in rest:
        if fields.get(name) is not None:
            texts.append(_text_field(fields, name))
    return "\n\n".join(text for text in texts if text.strip()) if rest else texts[0]


def instruction_and_code(fields: dict, config: GenerationConfig) -> tuple[str, str]:
    """A row's instruction and code as the source has them: ``""`` for the instruction of a code-only source,
    the user's and the assistant's turns of a conversation (one field named as both prompt and code field:
    :mod:`hub_tools.datagen.conversations`).

    Raises:
        SkippedRow: a field is missing or is not text, or the conversation is not a single exchange.
    """
    if config.prompt_field is not None and config.prompt_field == config.code_field:
        try:
            texts = single_exchange(_present_field(fields, config.code_field))
        except ConversationError as error:
            raise SkippedRow(error.reason, f"{config.code_field!r}: {error}") from None
        names = (f"{config.code_field!r} (user turn)", f"{config.code_field!r} (assistant turn)")
    else:
        instruction = "" if config.prompt_field is None else _joined_fields(fields, config.prompt_field)
        texts = instruction, _text_field(fields, config.code_field)
        names = (repr(config.prompt_field), repr(config.code_field))
    for name, text in zip(names, texts, strict=True):
        surrogate = _unpaired_surrogate(text)
        if surrogate is not None:
            raise SkippedRow("unpaired_surrogate", f"{name} holds {surrogate}")
        if DIFF_TOKEN in text:  # a completion holding it cannot be read back into its edits, nor a prompt be cut
            raise SkippedRow("holds_diff_token", f"{name} holds {DIFF_TOKEN}, the token that separates edits")
    return texts


def find_overlap_in_text(fields: dict[str, str], config: DecontaminationConfig | None):
    """The benchmark part that text ``fields`` (name -> text: kept columns) overlap, compared as text (their
    tokens, not their code under other names), or ``None``."""
    if config is None or not config.texts or not fields:
        return None
    return benchmark_index(config).best_overlap(fields, code_field="")


def kept_values(fields: dict, names: tuple[str, ...]) -> dict[str, str | None]:
    """The source fields a run keeps (``--keep-fields``), as the text its column holds: a string as it is,
    another value as JSON (keys sorted), ``None`` for a missing or null field.

    >>> kept_values({"path": "pkg/a.py", "stars": 12, "licenses": ["MIT"], "lang": None}, ("path", "stars", "licenses", "lang", "x"))
    {'path': 'pkg/a.py', 'stars': '12', 'licenses': '["MIT"]', 'lang': None, 'x': None}
    """
    kept = {}
    for name in names:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            try:  # the same text from any caller's depth (hub_tools.recursion_budget)
                value = at_any_depth(json.dumps, value, ensure_ascii=False, sort_keys=True, default=str)
            except RecursionError:  # a value its reader could decode a few levels deeper than JSON text can hold
                raise SkippedRow("nested_too_deeply", f"{name} is nested too deeply to write as JSON") from None
        surrogate = _unpaired_surrogate(value) if value is not None else None
        if surrogate is not None:
            raise SkippedRow("unpaired_surrogate", f"{name} holds {surrogate}")
        kept[name] = value
    return kept


def process_record(record: SourceRecord, config: GenerationConfig) -> RowOutcome:
    """Turn one source row into its output rows, or say why it is skipped. Never raises for bad data.

    The seconds it took are the row's ``"seconds"`` measurement: summed over the parts, they are the run's
    worker time, which a resumed run (whose last command computed only part of the rows) still states whole.
    """
    started = time.perf_counter()
    outcome = RowOutcome(record.index, record.location)
    _process(record, config, outcome)
    outcome.measurements["seconds"] = time.perf_counter() - started
    return outcome


def _process(record: SourceRecord, config: GenerationConfig, outcome: RowOutcome) -> RowOutcome:
    if record.error is not None:
        outcome.skipped = record.error
        return outcome
    try:
        instruction, response = instruction_and_code(record.fields, config)
    except SkippedRow as skipped:
        outcome.skipped = (skipped.reason, str(skipped))
        return outcome
    program = normalize_program(extract_program(response))
    if not program.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in program.split("\n")):
        outcome.skipped = ("no_code", "the program is empty or only comments")
        return outcome
    problem = _check_program(program, config)
    if problem:
        outcome.skipped = problem
        return outcome
    try:
        kept = kept_values(record.fields, config.keep_fields)
    except SkippedRow as skipped:
        outcome.skipped = (skipped.reason, str(skipped))
        return outcome
    # The kept columns are published with the row: a solution in one (a `reference` field) is in the dataset.
    overlap = (find_overlap(instruction, program, config.decontamination, response)
               or find_overlap_in_text({name: value for name, value in kept.items() if value}, config.decontamination))
    if overlap is not None:
        outcome.measurements["overlap"] = overlap.to_dict()
        # The other problems the row holds (one file can hold many): each is counted as a problem hit.
        fields = {"program": program, "instruction": instruction, "response": response,
                  **{name: value for name, value in kept.items() if value}}
        also = [[benchmark, task] for benchmark, task in benchmark_index(config.decontamination).tasks_hit(fields)
                if (benchmark, task) != (overlap.benchmark, overlap.task_id)]
        if also:
            outcome.measurements["overlap"]["also"] = also
        if config.decontamination.drop:
            outcome.skipped = ("contaminated", overlap.describe(config.decontamination.ngram_size))
            return outcome
    identifier = row_id(instruction, response)
    common = {"id": identifier, "row_index": record.index, "instruction": instruction,
              "response": response, "program": program, **kept}
    linter = None
    if config.sampler == "lintseq":
        deadline = time.monotonic() + program_time_limit(config, program)
        linter = _DeadlineLinter(_linter(config.profile), deadline, config.lint_timeout, config.lint_memory_limit)
    prompt = format_prompt(instruction)
    try:
        for path_index in range(config.num_paths):
            seed = np.random.SeedSequence([config.seed, int(identifier, 16), path_index])
            path = sample_edit_path(program, linter, seed=np.random.default_rng(seed),
                                    config=config.lintseq, sampler=config.sampler)
            outcome.lint_calls += path.lint_calls
            outcome.rows.append({
                **common, "path_index": path_index, "edit_path": path.diffs, "num_edits": len(path.diffs),
                "sampler": config.sampler, "seed": config.seed, "prompt": prompt,
                "completion": format_completion(path.diffs),
            })
    except Exception as error:
        outcome.rows = []
        outcome.skipped = _failure(error, config, program)
        return outcome
    outcome.baseline = {**common, "prompt": format_prompt(instruction, edit_sequence=False), "completion": program}
    outcome.measurements["program_key"] = program_key(program)
    if config.reports_indentation:
        unit = indentation_unit(program)
        if unit not in (None, FOUR_SPACES):
            outcome.measurements["indent"] = unit  # see run_statistics.other_indentation
    if config.tokenizer:
        from hub_tools.datagen.token_statistics import count_tokens

        outcome.measurements["tokens"] = count_tokens(outcome.rows, outcome.baseline, config.tokenizer)
    return outcome


def _failure(error: Exception, config: GenerationConfig, program: str) -> tuple[str, str]:
    from hub_tools.linters import LinterCrash, LintMemoryLimit, LintTimeout

    if isinstance(error, ProgramTimeout):
        return "time_limit", f"longer than {program_time_limit(config, program):g} s"
    if isinstance(error, LintTimeout):
        return "lint_timeout", str(error)
    if isinstance(error, LintMemoryLimit):
        return "lint_memory", str(error)
    if isinstance(error, LinterCrash):
        return "linter_crash", str(error)[:300]
    if isinstance(error, NoCodeError):
        return "no_code", str(error)
    return "sampler_error", f"{type(error).__name__}: {str(error)[:300]}"
