"""Sampling through an OpenAI-compatible completions server: ``vllm serve``, SGLang, TGI, ``transformers serve``.

Each sample is one ``POST {endpoint}/completions`` request with the prompt local sampling would use, the
end of the edit sequence as its stop string, and a seed of its own (derived from ``--seed`` and the
sample's place, so a sample does not depend on what else runs at the same time). Requests run concurrently
from a pool of threads (the server batches them); transient failures (connection refused or reset, timeouts,
HTTP 408, 409, 425, 429 and 5xx) are retried with exponential backoff, honouring ``Retry-After`` (up to a
minute); anything else stops the run with one line, as does an answer that is not a completion (not UTF-8,
not JSON Python reads, no text in ``choices[0].text``). A request the server refuses because the prompt and
``max_tokens`` pass its context (vLLM, SGLang and TGI answer 400 or 422, naming both figures) is asked again
with the room left, as a local model stops at its context; a prompt that fills it gets an empty completion.
The completion goes through the same post-processing as a local one
(:func:`hub_tools.inference.local.make_sample`).

Special tokens: vLLM and SGLang drop special tokens from the text unless asked not to, and an edit-sequence
model's ``<|diff|>`` is one; the client asks (``skip_special_tokens: false``). A server that refuses those
fields (``transformers serve`` answers 422) is asked again without them, once, and the run says so.

The API key is read from an environment variable (``OPENAI_API_KEY`` unless told otherwise) and sent as a
bearer token; it is never printed, and it is removed from any server message that is shown.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub_tools.errors import UNREADABLE_JSON, UserError, reason
from hub_tools.inference.local import END_OF_EDITS, Sample, SamplingConfig, make_sample
from hub_tools.inference.sample_streams import sample_seed, seed_keys
from hub_tools.lintseq import DIFF_TOKEN

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Extensions of vLLM and SGLang that keep <|diff|> in the text (and stop strings matching it).
KEEP_SPECIAL_TOKENS = {"skip_special_tokens": False, "spaces_between_special_tokens": False}
# Seconds a Retry-After header may make a request wait (a server asking for days would stall the run).
MAX_RETRY_AFTER = 60.0


@dataclass
class EndpointConfig:
    """Where and how to reach an OpenAI-compatible completions server.

    Args:
        url: the server's base URL (``http://localhost:8000``, with or without ``/v1``, or the full
            ``.../v1/completions`` route).
        model: the model name the server serves it under (``--served-model-name`` of vLLM; the folder or
            Hub id for ``transformers serve``).
        api_key_env: the environment variable holding the API key, if the server needs one.
        concurrency: requests in flight at once.
        timeout: seconds one request may take.
        max_retries: retries of a request that failed in a transient way.
        backoff: seconds before the first retry; doubled each time (with jitter), at most 30 s.
    """

    url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout: float = 600.0
    max_retries: int = 5
    backoff: float = 1.0

    def __post_init__(self):
        if not self.url.startswith(("http://", "https://")):
            raise UserError(f"--endpoint {self.url!r} is not an http:// or https:// URL")
        if self.concurrency < 1 or self.timeout <= 0 or self.max_retries < 0:
            raise UserError("--concurrency must be at least 1, --request-timeout positive, --max-retries >= 0")

    @property
    def completions_url(self) -> str:
        url = self.url.rstrip("/")
        if url.endswith("/completions"):
            return url
        return url + ("/completions" if url.endswith("/v1") else "/v1/completions")


class CompletionsClient:
    """A small, dependency-free client of ``/v1/completions`` (urllib from the standard library).

    Example:
        >>> client = CompletionsClient(EndpointConfig("http://localhost:8000", "me/model"))  # doctest: +SKIP
        >>> client.complete("def add(a, b):", max_tokens=16, temperature=0, top_p=1, seed=0)  # doctest: +SKIP
        ('\\n    return a + b', 'stop', None, 7)
    """

    def __init__(self, config: EndpointConfig):
        self.config = config
        self.api_key = os.environ.get(config.api_key_env) or None if config.api_key_env else None
        self.extensions = dict(KEEP_SPECIAL_TOKENS)
        self.notes: list[str] = []
        self.lock = threading.Lock()
        # Requests the server refused for its context, and of those, prompts that fill it (see _within_context).
        self.cut_by_context = self.filled_context = 0

    def _scrub(self, text: str) -> str:
        # The key goes before the text is cut: cut first, a key across the cut would leave its first characters.
        text = text.replace(self.api_key, "***") if self.api_key else text
        return " ".join(text.split())[:300]

    def _post(self, body: dict) -> dict:
        """One request, retried on transient failures; returns the decoded JSON answer."""
        url = self.config.completions_url
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        for attempt in range(self.config.max_retries + 1):
            wait = min(30.0, self.config.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
            try:
                request = urllib.request.Request(url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                    return _decoded(response.read(), url)
            except urllib.error.HTTPError as error:
                said = error.read().decode("utf-8", "replace")
                message = self._scrub(said or error.reason or "")
                if error.code not in TRANSIENT_STATUSES or attempt == self.config.max_retries:
                    raise _HTTPFailure(error.code, message, said) from None
                retry_after = error.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():  # honoured, up to a minute
                    wait = min(float(retry_after), MAX_RETRY_AFTER)
                last = f"HTTP {error.code}: {message}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                cause = getattr(error, "reason", error)
                last = self._scrub(str(cause) or type(cause).__name__)
                if attempt == self.config.max_retries:
                    raise UserError(f"cannot reach the completions server at {url} ({last}) after "
                                    f"{attempt + 1} attempt(s)") from None
            time.sleep(wait)
        raise UserError(f"{url}: {last}")  # not reached: the last attempt raises above

    def complete(self, prompt: str, *, max_tokens: int, temperature: float, top_p: float, seed: int,
                 stop: list[str] | None = None) -> tuple[str, str | None, object, int]:
        """``(text, finish_reason, stop_reason, completion tokens)`` of one completion (tokens: 0 when the
        server does not count them)."""
        body = {"model": self.config.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
                "seed": seed}
        if temperature > 0:
            body["top_p"] = top_p
        if stop:
            body["stop"] = stop
        with self.lock:
            extensions = dict(self.extensions)
        try:
            answer = self._within_context({**body, **extensions})
        except _HTTPFailure as failure:
            if not extensions or failure.status not in (400, 422) or not any(name in failure.message for name in extensions):
                raise UserError(failure.describe(self.config)) from None
            with self.lock:
                if self.extensions:
                    self.extensions = {}
                    self.notes.append("the server refused skip_special_tokens; special tokens such as <|diff|> "
                                      "may be missing from its completions")
            try:
                answer = self._within_context(body)
            except _HTTPFailure as failure:
                raise UserError(failure.describe(self.config)) from None
        if answer is None:  # the prompt fills the server's context: nothing can follow it
            return "", "length", None, 0
        choices = answer.get("choices") if isinstance(answer, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        text = choice.get("text") if isinstance(choice, dict) else None
        if not isinstance(text, str) and not (isinstance(choice, dict) and text is None):
            raise UserError(f"{self.config.completions_url} answered without a text in choices[0].text: "
                            f"{self._scrub(json.dumps(answer))}")
        usage = answer.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        tokens = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else 0
        return text or "", choice.get("finish_reason"), choice.get("stop_reason", choice.get("matched_stop")), tokens


    def _within_context(self, body: dict) -> object | None:
        """POST ``body``. A request the server refuses because the prompt and ``max_tokens`` together pass its
        context is asked again with the room the server says is left, once; a prompt that fills the context
        gets ``None``. (vLLM refuses such a request outright, where a local model stops at its context.)"""
        try:
            return self._post(body)
        except _HTTPFailure as failure:
            room = _room_left(failure)
            if room is None or room >= body["max_tokens"]:
                raise
        with self.lock:
            self.cut_by_context += 1
            self.filled_context += int(room <= 0)
        return self._post({**body, "max_tokens": room}) if room > 0 else None


# How vLLM, SGLang and TGI say that a prompt and its max_tokens pass the model's context: the context, and the
# prompt's tokens.
_CONTEXT = re.compile(r"maximum context length (?:is|of) (\d+)|must be <= (\d+)")
_PROMPT_TOKENS = re.compile(r"(\d+) input tokens|(\d+) in the messages|(\d+) tokens from the input|(\d+) `inputs` tokens")


def _room_left(failure: _HTTPFailure) -> int | None:
    """The completion tokens the server's context leaves after the prompt, from its refusal (0 or less: the
    prompt fills it); ``None`` when the refusal is about something else, or does not say both figures."""
    if failure.status not in (400, 413, 422):
        return None
    context, prompt = _CONTEXT.search(failure.said), _PROMPT_TOKENS.search(failure.said)
    if context is None or prompt is None:
        return None
    return int(next(filter(None, context.groups()))) - int(next(filter(None, prompt.groups())))


def _decoded(body: bytes, url: str) -> object:
    """The JSON value of a server's answer, or a one-line error: not UTF-8, not JSON, a number Python will not
    read (past 4,300 digits) or nesting past the decoder's limit."""
    try:
        return json.loads(body.decode("utf-8"))
    except UNREADABLE_JSON as error:
        why = error.msg if isinstance(error, json.JSONDecodeError) else reason(error) or type(error).__name__
        raise UserError(f"{url} answered something that is not JSON ({why[:200]}): is it an OpenAI-compatible "
                        "server?") from None


class _HTTPFailure(Exception):
    def __init__(self, status: int, message: str, said: str = ""):
        super().__init__(status, message)
        # ``said``: the server's whole answer, read for figures and never shown (it is not scrubbed).
        self.status, self.message, self.said = status, message, said

    def describe(self, config: EndpointConfig) -> str:
        hint = {401: f" (is the API key in ${config.api_key_env} right?)", 403: f" (check ${config.api_key_env})",
                404: f" (does the server serve a model named {config.model!r}, on /v1/completions?)"}
        return (f"{config.completions_url} answered HTTP {self.status}: {self.message or 'no message'}"
                f"{hint.get(self.status, '')}")


def served_models(config: EndpointConfig) -> list[str] | None:
    """The model names ``GET /v1/models`` lists, or ``None`` when the server does not say."""
    url = config.completions_url.rsplit("/completions", 1)[0] + "/models"
    headers = {}
    api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            listing = json.loads(response.read().decode("utf-8"))
        return [entry["id"] for entry in listing.get("data", []) if isinstance(entry, dict) and "id" in entry]
    except (OSError, ValueError, AttributeError, RecursionError):  # unreachable, or an answer that is not a listing
        return None


def sample_from_endpoint(
    endpoint: EndpointConfig,
    prompts: list[str],
    jobs: list[tuple[int, int]],
    config: SamplingConfig,
    *,
    edit_sequence: bool,
    on_sample: Callable[[int, int, Sample], None],
    progress=None,
    limits: list[int] | None = None,
) -> list[str]:
    """Sample ``jobs`` (``(prompt index, sample index)`` pairs) from the server; hand each to ``on_sample``
    (from the calling thread) as it arrives; ``limits`` are the most new tokens of each prompt (default:
    ``config.max_new_tokens``). Returns notes for the user (what the server did not support).
    """
    client = CompletionsClient(endpoint)
    if prompts:
        listed = served_models(endpoint)
        if listed and endpoint.model not in listed:
            raise UserError(f"the server at {endpoint.url} serves {', '.join(listed[:5])}, not {endpoint.model!r} "
                            "(give --model the name the server uses)")
    stop = [END_OF_EDITS] if edit_sequence else None
    keys = list(seed_keys(prompts))
    with_diff_token = 0

    def one(job: tuple[int, int]) -> tuple[int, int, Sample, int]:
        index, copy = job
        text, _, stop_reason, tokens = client.complete(
            prompts[index], max_tokens=limits[index] if limits else config.max_new_tokens, temperature=config.temperature, top_p=config.top_p,
            seed=sample_seed(config.seed, keys[index], copy), stop=stop)
        # Servers that follow OpenAI leave the stop string out of the text; put it back when the server says
        # it stopped there, so the completion reads as a local one does.
        if edit_sequence and stop_reason == END_OF_EDITS and END_OF_EDITS not in text:
            text += END_OF_EDITS
        return index, copy, make_sample(prompts[index], text, edit_sequence), tokens

    # Daemon threads fed from a queue: on Ctrl-C or an error the run ends at once, without waiting for the
    # requests in flight (a thread pool would join them, each up to --request-timeout).
    pending: queue.Queue = queue.Queue()
    finished: queue.Queue = queue.Queue()
    for job in jobs:
        pending.put(job)

    def worker() -> None:
        while True:
            try:
                job = pending.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((True, one(job)))
            except BaseException as error:  # handed to the calling thread, which raises it
                finished.put((False, error))
                return

    for _ in range(min(endpoint.concurrency, len(jobs))):
        threading.Thread(target=worker, daemon=True, name="completions").start()
    try:
        for _ in range(len(jobs)):
            ok, value = finished.get()
            if not ok:
                raise value
            index, copy, sample, tokens = value
            with_diff_token += DIFF_TOKEN in sample.completion
            on_sample(index, copy, sample)
            if progress is not None:
                progress.update(samples=1, tokens=tokens)
    finally:
        while not pending.empty():  # nothing new starts once the run is over
            try:
                pending.get_nowait()
            except queue.Empty:
                break
    notes = list(client.notes)
    if client.cut_by_context:
        filled = client.filled_context
        notes.append(f"the server's context cut {client.cut_by_context} completion(s) short of the token limit"
                     + (f" ({filled} prompt(s) fill it: their completions are empty)" if filled else ""))
    if edit_sequence and jobs and not with_diff_token:
        notes.append(f"none of the {len(jobs)} completions holds {DIFF_TOKEN}: either the server drops special "
                     "tokens from its text (transformers serve does unless given the serving copy; see the README) "
                     "or the model does not write edit sequences (then --baseline)")
    return notes


def write_serving_copy(model_dir: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """Copy a model folder for ``transformers serve``, with ``<|diff|>`` a plain (not special) added token.

    ``transformers serve`` decodes ``/v1/completions`` text with ``skip_special_tokens=True`` and takes no
    option against it, so an edit-sequence model's ``<|diff|>`` would vanish from its completions. In the
    copy, ``<|diff|>`` keeps its id and stays one token (added tokens are matched whole), but is no longer
    special, so it survives decoding; the weights are linked, not copied, where the file system allows.

    Example:
        >>> write_serving_copy("outputs/tiny-lintseq", "outputs/tiny-lintseq-serving")  # doctest: +SKIP
    """
    import shutil

    source, target = Path(model_dir), Path(output_dir)
    if not (source / "tokenizer.json").is_file():
        raise UserError(f"{source} has no tokenizer.json to rewrite")
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file() and item.name not in ("tokenizer.json", "tokenizer_config.json"):
            try:
                os.link(item, target / item.name)
            except OSError:
                shutil.copy2(item, target / item.name)
    tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    for token in tokenizer.get("added_tokens", []):
        if token.get("content") == DIFF_TOKEN:
            token["special"] = False
    (target / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    if (source / "tokenizer_config.json").is_file():
        config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
        for key in ("extra_special_tokens", "additional_special_tokens"):
            if isinstance(config.get(key), list):
                config[key] = [token for token in config[key] if token != DIFF_TOKEN]
        for entry in (config.get("added_tokens_decoder") or {}).values():
            if isinstance(entry, dict) and entry.get("content") == DIFF_TOKEN:
                entry["special"] = False
        (target / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return target


def print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
