"""Sampling programs from edit-sequence and baseline models: what ``lintseq sample`` and ``lintseq eval`` share.

An edit-sequence model is prompted with the instruction followed by ``"\\n<|diff|>"`` (the paper's format),
generates edits until it closes the sequence with two empty edits (or stops with its end-of-text token), and
the edits are applied with the core's tolerant parser. A baseline model (no ``<|diff|>`` in its vocabulary)
is prompted with the instruction and a newline, and its program is the code in its completion.

Local sampling fills the machine: prompts are sorted by length (little padding), the batch size is chosen
from the memory free on the device, a batch ends as soon as every sequence in it is done, and the end of an
edit sequence is detected with table look-ups on the device (no decoding per token). Sampling through an
OpenAI-compatible server (:mod:`hub_tools.inference.server`) gives the same :class:`Sample` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub_tools.errors import UserError
from hub_tools.inference.batching import auto_batch_size, batches, context_length
from hub_tools.inference.loading import DTYPES, check_model_path, load_model, trained_on_edit_sequences  # noqa: F401 (part of this API)
from hub_tools.inference.sample_streams import sample_seed, seed_keys
from hub_tools.lintseq import DIFF_TOKEN, extract_program, format_prompt, parse_edit_sequence

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from hub_tools.inference.progress import SamplingProgress

# Below this many parameters, a model samples on one CPU thread (see sample_jobs).
SMALL_MODEL_PARAMETERS = 20_000_000
# What an edit-sequence model writes when it has nothing left to insert: two empty edits.
END_OF_EDITS = "\n" + DIFF_TOKEN + "\n" + DIFF_TOKEN


@dataclass
class SamplingConfig:
    """How programs are sampled.

    Args:
        n: samples per instruction.
        temperature: softmax temperature; ``0`` samples greedily.
        top_p: nucleus sampling threshold.
        max_new_tokens: most tokens generated per sample.
        batch_size: sequences generated together; ``None`` chooses it from the memory free on the device.
        seed: random seed; the same seed, model and settings give the same samples, at any batch size (each
            sample has a random stream of its own: :mod:`hub_tools.inference.sample_streams`).
    """

    n: int = 1
    temperature: float = 0.2
    top_p: float = 0.95
    max_new_tokens: int = 512
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.n < 1 or (self.batch_size is not None and self.batch_size < 1) or self.max_new_tokens < 1:
            raise UserError("n, batch_size and max_new_tokens must be at least 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise UserError("temperature must be >= 0 and top_p in (0, 1]")


@dataclass
class Sample:
    """One sampled completion and the program it gives.

    Attributes:
        prompt: the text the model was given.
        completion: what the model generated after the prompt, special tokens kept as text (``<|diff|>``),
            up to its end-of-text token or the end of the edit sequence.
        program: the program: the edits applied (edit-sequence models) or the code of the completion.
        skipped: the parser's notes on what it could not apply (edit-sequence models only).
        edit_sequence: whether the completion was read as an edit sequence.
    """

    prompt: str
    completion: str
    program: str
    skipped: list[str] = field(default_factory=list)
    edit_sequence: bool = True


def uses_edit_sequences(tokenizer: PreTrainedTokenizerBase, revision: str | None = None) -> bool:
    """Whether the model was trained on edit sequences: what ``lintseq train`` recorded beside it
    (``lintseq_training.json``), else whether ``<|diff|>`` is a token of its vocabulary.

    The record comes first: ``lintseq train`` adds ``<|diff|>`` to every tokenizer, so a model trained on
    the baseline (whole programs) has it too, and was sampled and scored as an edit-sequence model.

    Example:
        >>> uses_edit_sequences(tokenizer)  # doctest: +SKIP
        True
    """
    recorded = trained_on_edit_sequences(getattr(tokenizer, "name_or_path", None), revision)
    return has_diff_token(tokenizer) and recorded is not False


def has_diff_token(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether ``<|diff|>`` is a token of the tokenizer's vocabulary (an edit-sequence model needs it)."""
    return DIFF_TOKEN in tokenizer.get_vocab()


def make_sample(prompt: str, completion: str, edit_sequence: bool) -> Sample:
    """The :class:`Sample` of one completion: cut after the end of the edit sequence, then read.

    Local and server sampling both end here, so a completion gives the same program whichever way it was
    sampled.

    Example:
        >>> make_sample("Add.\\n<|diff|>", "@@ -0,0 +1 @@\\n+x = 1\\n<|diff|>\\n<|diff|>junk", True).program
        'x = 1'
    """
    if edit_sequence and END_OF_EDITS in completion:
        completion = completion[: completion.index(END_OF_EDITS) + len(END_OF_EDITS)]
    if edit_sequence:
        parsed = parse_edit_sequence(completion)
        return Sample(prompt, completion, parsed.program, list(parsed.skipped), True)
    return Sample(prompt, completion, extract_program(completion), [], False)


def _completion_text(tokenizer: PreTrainedTokenizerBase, generated: list[int]) -> str:
    stop_ids = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
    end = next((index for index, token in enumerate(generated) if token in stop_ids), len(generated))
    return tokenizer.decode(generated[:end], skip_special_tokens=False, clean_up_tokenization_spaces=False)


class _BatchWatcher:
    """Stopping criterion of one batch: which sequences are done, computed on the device, and progress.

    A sequence is done at its end-of-text token or, for edit sequences, when its last four tokens are a
    token ending in a newline, ``<|diff|>``, a newline, ``<|diff|>`` (the text ends with the two empty edits
    that close an edit sequence). Both are look-ups in tables over the vocabulary, built once per tokenizer,
    so a step costs a few tensor operations whatever the batch size.
    """

    REPORT_EVERY = 8  # steps between progress reports (each one waits for the device)

    def __init__(self, tables, prompt_length: int, batch: int, device, edit_sequence: bool, progress,
                 limits: list[int] | None = None):
        import torch

        self.tables, self.prompt_length, self.edit_sequence, self.progress = tables, prompt_length, edit_sequence, progress
        self.finished = torch.zeros(batch, dtype=torch.bool, device=device)
        # Each row's own token limit (a short problem does not run to the longest one's).
        self.limits = torch.tensor(limits, device=device) if limits is not None else None
        self.tokens = torch.zeros((), dtype=torch.long, device=device)
        self.steps = 0
        self.reported_done = 0

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        last = input_ids[:, -1]
        done = torch.isin(last, self.tables["stop_ids"])
        if self.edit_sequence and input_ids.shape[1] - self.prompt_length >= 4:
            diff = self.tables["diff_id"]
            done |= ((last == diff) & (input_ids[:, -3] == diff) & self.tables["newline_only"][input_ids[:, -2]]
                     & self.tables["ends_with_newline"][input_ids[:, -4]])
        if self.limits is not None:
            done |= self.limits <= input_ids.shape[1] - self.prompt_length
        self.tokens += (~self.finished).sum()
        self.finished |= done
        self.steps += 1
        if self.progress is not None and self.steps % self.REPORT_EVERY == 0:
            self.report()
        return self.finished.clone()

    def report(self) -> None:
        done, tokens = int(self.finished.sum()), int(self.tokens)
        self.progress.update(samples=done - self.reported_done, tokens=tokens)
        self.reported_done = done
        self.tokens.zero_()


def _vocabulary_tables(tokenizer: PreTrainedTokenizerBase, device):
    """Per-token facts the stopping criterion looks up: stop ids, ``<|diff|>``, newline tokens."""
    import torch

    size = max(len(tokenizer), max(tokenizer.get_vocab().values()) + 1)
    texts = tokenizer.batch_decode([[index] for index in range(size)], skip_special_tokens=False,
                                   clean_up_tokenization_spaces=False)
    stop_ids = sorted({tokenizer.eos_token_id, tokenizer.pad_token_id} - {None})
    diff_id = tokenizer.convert_tokens_to_ids(DIFF_TOKEN) if DIFF_TOKEN in tokenizer.get_vocab() else -1
    return {
        "stop_ids": torch.tensor(stop_ids or [-1], device=device),
        "diff_id": diff_id,
        "newline_only": torch.tensor([text == "\n" for text in texts], device=device),
        "ends_with_newline": torch.tensor([text.endswith("\n") for text in texts], device=device),
    }


def sample_jobs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    jobs: list[tuple[int, int]],
    config: SamplingConfig,
    *,
    edit_sequence: bool,
    on_sample: Callable[[int, int, Sample], None],
    progress: SamplingProgress | None = None,
    limits: list[int] | None = None,
) -> list[str]:
    """Sample the completions ``jobs`` asks for and hand each to ``on_sample`` as soon as its batch ends.

    A prompt and its completion stay within the model's context (``max_position_embeddings``): a model with
    learned positions (GPT-2) cannot look past it, and crashed there with an ``IndexError``, ending the run. A
    completion is cut where the context ends; a prompt that fills the context gets an empty completion (it
    fails its tests); no batch holds rows that would run past it together.

    Args:
        model: a causal LM (see [`load_model`]).
        tokenizer: its tokenizer.
        prompts: the prompts, already formatted.
        jobs: ``(prompt index, sample index)`` pairs to sample; the order does not matter (they are sorted
            by prompt length, longest first, so that a batch that does not fit fails first).
        config: sampling settings (``config.n`` is not used here: the jobs say what to sample).
        edit_sequence: read completions as edit sequences.
        on_sample: called with ``(prompt index, sample index, sample)`` for every finished sample.
        progress: where samples and tokens are reported.
        limits: the most new tokens of each prompt (default: ``config.max_new_tokens`` for all); a batch
            generates up to the largest limit in it, and each sequence stops at its own.

    Returns:
        Notes for the user: how many prompts the model's context cut short.
    """
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = next(model.parameters()).device
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    limits = limits or [config.max_new_tokens] * len(prompts)
    context = context_length(model)
    notes = []
    if context is not None:
        asked = limits
        limits = [max(0, min(limit, context - length)) for limit, length in zip(limits, lengths, strict=True)]
        asked_for = {index for index, _ in jobs}
        cut = sum(limits[index] < asked[index] for index in asked_for)
        if cut:
            empty = sum(limits[index] == 0 for index in asked_for)
            notes.append(f"the model's context is {context:,} tokens: {cut} prompt(s) leave less room than the token "
                         f"limit, and their completions stop where the context ends"
                         + (f" ({empty} prompt(s) fill it: their completions are empty)" if empty else ""))
    # Longest first: similar lengths share a batch (little padding, rows ending together), and a batch that
    # does not fit in memory fails at once rather than after hours.
    order = sorted(jobs, key=lambda job: (-(lengths[job[0]] + limits[job[0]]), job))
    batch_size = config.batch_size or auto_batch_size(
        model, max(lengths[job[0]] + limits[job[0]] for job in jobs) if jobs else 1, len(jobs))
    tables = _vocabulary_tables(tokenizer, device)
    # Each sample's own seed, from the seed, its prompt and its copy (hub_tools.inference.sample_streams).
    keys = list(seed_keys(prompts))
    seeds = {job: sample_seed(config.seed, keys[job[0]], job[1]) for job in jobs}
    sampling = None if config.temperature == 0 else (config.temperature, config.top_p)
    threads = torch.get_num_threads()
    if device.type == "cpu" and sum(parameter.numel() for parameter in model.parameters()) < SMALL_MODEL_PARAMETERS:
        # A small model's per-token operations are too small to split: waking and joining the intra-op
        # threads costs more than the arithmetic (18x the CPU time measured with 2 threads on a loaded
        # 2-core machine), so it samples on one thread and leaves the other cores to the rest.
        torch.set_num_threads(1)
    try:
        for batch in batches(order, batch_size, lengths, limits, context):
            _generate_batch(model, tokenizer, prompts, batch, limits, seeds, tables, sampling, edit_sequence,
                            on_sample, progress)
    finally:
        torch.set_num_threads(threads)
    return notes


def _generate_batch(model, tokenizer, prompts, batch, limits, seeds, tables, sampling, edit_sequence, on_sample,
                    progress) -> None:
    """Generate one batch and hand its samples over. A batch the device has no memory for (the estimate of
    :func:`~hub_tools.inference.batching.auto_batch_size` was wrong) is generated as two halves (each sample
    keeps its random stream, so its tokens do not change); one sequence that does not fit is a one-line error."""
    import torch

    if max(limits[index] for index, _ in batch) == 0:  # prompts that fill the context: nothing to generate
        for index, copy in batch:
            on_sample(index, copy, make_sample(prompts[index], "", edit_sequence))
        if progress is not None:
            progress.update(samples=len(batch))
        return
    out_of_memory = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    device = next(model.parameters()).device
    encoded = tokenizer([prompts[index] for index, _ in batch], return_tensors="pt", padding=True).to(device)
    batch_limits = [limits[index] for index, _ in batch]
    watcher = _BatchWatcher(tables, encoded["input_ids"].shape[1], len(batch), device, edit_sequence, progress,
                            batch_limits)
    try:
        rows = _generated_rows(model, tokenizer, encoded, watcher, [seeds[job] for job in batch], max(batch_limits),
                               sampling)
    except out_of_memory:
        rows = None  # out of the handler first: its traceback holds the batch's tensors
    del encoded
    if rows is None:
        if progress is not None:  # the samples it reported done are sampled again
            progress.update(samples=-watcher.reported_done)
        if len(batch) == 1:
            raise UserError("the device has no memory for one sequence of this prompt and token limit: lower "
                            "--max-new-tokens, use a smaller --dtype, or a device with more memory") from None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = len(batch) // 2
        for jobs in (batch[:half], batch[half:]):
            _generate_batch(model, tokenizer, prompts, jobs, limits, seeds, tables, sampling, edit_sequence,
                            on_sample, progress)
        return
    for (index, copy), row in zip(batch, rows, strict=True):
        on_sample(index, copy, make_sample(prompts[index], _completion_text(tokenizer, row[: limits[index]]),
                                           edit_sequence))


def _generated_rows(model, tokenizer, encoded, watcher, row_seeds, max_new_tokens, sampling) -> list[list[int]]:
    """The new tokens of each row of the ``encoded`` batch (a list per row). ``sampling`` is ``(temperature,
    top_p)``, or ``None`` for greedy decoding. Nothing draws from torch's random state: each row samples from
    its seed's stream (:mod:`hub_tools.inference.sample_streams`), under a generation config of nothing but
    the end and padding tokens."""
    import torch
    from transformers import LogitsProcessorList, StoppingCriteriaList

    from hub_tools.inference.sample_streams import StreamSampler, plain_generation_config

    width = encoded["input_ids"].shape[1]
    processors = LogitsProcessorList()
    if sampling is not None:
        processors.append(StreamSampler(row_seeds, width, max_new_tokens, *sampling, device=encoded["input_ids"].device))
    with plain_generation_config(model, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                 bos_token_id=model.generation_config.bos_token_id), torch.inference_mode():
        output = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            logits_processor=processors,
            stopping_criteria=StoppingCriteriaList([watcher]),
        )
    if watcher.progress is not None:
        # Sequences cut by the token limit are done too; report what the last steps added.
        watcher.finished[:] = True
        watcher.report()
    return output[:, width:].tolist()


def sample_programs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    instructions: list[str],
    config: SamplingConfig,
    *,
    edit_sequence: bool | None = None,
    progress: bool = True,
) -> list[list[Sample]]:
    """Sample ``config.n`` programs for every instruction.

    Args:
        model: a causal LM (see [`load_model`]).
        tokenizer: its tokenizer, padding on the left.
        instructions: the tasks, as plain text (the prompt format is added here).
        config: sampling settings.
        edit_sequence: read completions as edit sequences; defaults to [`uses_edit_sequences`].
        progress: report samples done, tokens per second and time left on stderr.

    Returns:
        One list of ``config.n`` [`Sample`] per instruction, in order.

    Example:
        >>> model, tokenizer = load_model("outputs/tiny-lintseq")                      # doctest: +SKIP
        >>> samples = sample_programs(model, tokenizer, ["Add two numbers."], SamplingConfig(n=2))  # doctest: +SKIP
        >>> print(samples[0][0].program)                                               # doctest: +SKIP
    """
    from hub_tools.inference.progress import SamplingProgress

    if edit_sequence is None:
        edit_sequence = uses_edit_sequences(tokenizer)
    if edit_sequence and not has_diff_token(tokenizer):
        raise UserError(f"the tokenizer has no {DIFF_TOKEN} token: this is not an edit-sequence model")
    prompts = [format_prompt(instruction, edit_sequence) for instruction in instructions]
    jobs = [(index, copy) for index in range(len(prompts)) for copy in range(config.n)]
    results: list[dict[int, Sample]] = [{} for _ in prompts]
    reporter = SamplingProgress(len(jobs)) if progress else None
    try:
        sample_jobs(model, tokenizer, prompts, jobs, config, edit_sequence=edit_sequence, progress=reporter,
                    on_sample=lambda index, copy, sample: results[index].__setitem__(copy, sample))
    finally:
        if reporter is not None:
            reporter.close()
    return [[per_prompt[copy] for copy in range(config.n)] for per_prompt in results]
