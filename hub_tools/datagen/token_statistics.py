"""Token counts of generated rows: what a training budget is planned in.

The tokenizer is read with the ``tokenizers`` library alone (a ``tokenizer.json``, as every fast Hugging
Face tokenizer saves it), so counting needs no ``transformers``. ``<|diff|>`` is added as a special token
when the tokenizer lacks it, as ``lintseq train`` does, so every edit separator counts as one token.
Counts are what training sees: the prompt, and the completion plus the end-of-text token the trainer
appends to it. Rows longer than the paper's training length (1,024 tokens) are truncated in training;
their share is reported.

Counting is per-row work (the workers count the rows they make); the summaries are computed when the
parts are assembled, over the rows that are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from hub_tools.datagen.value_counts import ValueCounts
from hub_tools.errors import UserError

MAX_LENGTH = 1024  # the paper's training sequence length
DIFF_TOKEN = "<|diff|>"
PAPER_TOKENIZER = "upiter/TinyCodeLM-150M"  # the paper's TinyCodeLM: used by default when it is in the local cache

_TOKENIZERS: dict[str, object] = {}  # one loaded tokenizer per process and name


def _tokenizer_file(name_or_path: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        path = path / "tokenizer.json"
        if not path.is_file():
            raise UserError(f"--tokenizer {name_or_path}: the folder has no tokenizer.json (a fast tokenizer "
                            "saved with save_pretrained has one)")
        return path
    if path.is_file():
        return path
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(name_or_path, "tokenizer.json")
    if isinstance(cached, str):  # the local cache first: no request at all
        return Path(cached)
    try:
        return Path(hf_hub_download(name_or_path, "tokenizer.json"))
    except Exception as error:  # offline, unknown repo, no such file: the user needs one line
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"--tokenizer {name_or_path}: not a local folder or file, and no tokenizer.json from the "
                        f"Hub ({first_line})") from None


def cached_paper_tokenizer() -> str | None:
    """The paper's TinyCodeLM tokenizer id when its ``tokenizer.json`` is in the local Hub cache, else ``None``."""
    from huggingface_hub import try_to_load_from_cache

    return PAPER_TOKENIZER if isinstance(try_to_load_from_cache(PAPER_TOKENIZER, "tokenizer.json"), str) else None


def load_tokenizer(name_or_path: str):
    """A ``tokenizers.Tokenizer`` for a folder, a ``tokenizer.json`` or a Hub model id (cached per process)."""
    if name_or_path not in _TOKENIZERS:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise UserError("--tokenizer needs the tokenizers package: pip install tokenizers") from None
        file = _tokenizer_file(name_or_path)
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as error:  # tokenizers raises a bare Exception for a malformed file
            raise UserError(f"{file}: not a tokenizer file ({str(error).splitlines()[0][:200]})") from None
        if tokenizer.token_to_id(DIFF_TOKEN) is None:
            tokenizer.add_special_tokens([DIFF_TOKEN])
        _TOKENIZERS[name_or_path] = tokenizer
    return _TOKENIZERS[name_or_path]


def describe_tokenizer(name_or_path: str) -> dict:
    """What the settings record about the tokenizer: its name, vocabulary size and file hash."""
    file = _tokenizer_file(name_or_path)
    tokenizer = load_tokenizer(name_or_path)
    return {"name": name_or_path, "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
            "sha256": hashlib.sha256(file.read_bytes()).hexdigest()[:16]}


def count_tokens(rows: list[dict], baseline: dict | None, name_or_path: str) -> dict:
    """``{"rows": [[prompt, completion], ...], "baseline": [prompt, completion]}`` for one source row."""
    tokenizer = load_tokenizer(name_or_path)
    texts = [text for row in [*rows, *([baseline] if baseline else [])] for text in (row["prompt"], row["completion"])]
    lengths = [len(encoding.ids) for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]
    pairs = [[lengths[i], lengths[i + 1] + 1] for i in range(0, len(lengths), 2)]  # + 1: end-of-text
    return {"rows": pairs[:len(rows)], "baseline": pairs[len(rows)] if baseline else None}


class TokenCounts:
    """Prompt, completion and total tokens of rows, added row by row, kept as counts (see ValueCounts).

    >>> counts = TokenCounts()
    >>> counts.add([[10, 30], [12, 2000]])
    >>> summary = counts.summary()
    >>> summary["total"]["max"], summary["over_max_length"]
    (2012, 0.5)
    """

    def __init__(self, max_length: int = MAX_LENGTH):
        self.max_length = max_length
        self.prompt, self.completion, self.total = ValueCounts(), ValueCounts(), ValueCounts()
        self.over = 0

    def add(self, pairs: Iterable[list[int]]) -> None:
        for prompt, completion in pairs:
            self.prompt.add_value(prompt)
            self.completion.add_value(completion)
            self.total.add_value(prompt + completion)
            self.over += prompt + completion > self.max_length

    def summary(self) -> dict | None:
        """Distributions of prompt, completion and total tokens per row, and the share over ``max_length``."""
        if not self.total:
            return None
        return {"rows": self.total.total, "prompt": _distribution(self.prompt),
                "completion": _distribution(self.completion), "total": _distribution(self.total),
                "max_length": self.max_length, "over_max_length": round(self.over / self.total.total, 4)}


def _distribution(values: ValueCounts) -> dict:
    return {"mean": round(values.mean(), 1), "median": round(float(values.median()), 1),
            "p95": round(values.percentile(95), 1), "max": max(values.counts), "sum": values.sum()}
