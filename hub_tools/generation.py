"""Sampling programs from edit-sequence and baseline models: what ``lintseq sample`` and ``lintseq eval`` share.

An edit-sequence model is prompted with the instruction followed by ``"\\n<|diff|>"`` (the paper's format),
generates edits until it closes the sequence with two empty edits (or stops with its end-of-text token), and
the edits are applied with the core's tolerant parser. A baseline model (no ``<|diff|>`` in its vocabulary)
is prompted with the instruction and a newline, and its program is the code in its completion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hub_tools.errors import UserError
from hub_tools.lintseq import DIFF_TOKEN, extract_program, format_prompt, parse_edit_sequence

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# What an edit-sequence model writes when it has nothing left to insert: two empty edits.
END_OF_EDITS = "\n" + DIFF_TOKEN + "\n" + DIFF_TOKEN
DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass
class SamplingConfig:
    """How programs are sampled.

    Args:
        n: samples per instruction.
        temperature: softmax temperature; ``0`` samples greedily.
        top_p: nucleus sampling threshold.
        max_new_tokens: most tokens generated per sample.
        batch_size: sequences generated together.
        seed: random seed; the same seed, model and settings give the same samples.
    """

    n: int = 1
    temperature: float = 0.2
    top_p: float = 0.95
    max_new_tokens: int = 512
    batch_size: int = 8
    seed: int = 0

    def __post_init__(self):
        if self.n < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
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


def uses_edit_sequences(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the model was trained on edit sequences: ``<|diff|>`` is a token of its vocabulary.

    Example:
        >>> uses_edit_sequences(tokenizer)  # doctest: +SKIP
        True
    """
    return DIFF_TOKEN in tokenizer.get_vocab()


def _pick_device(device: str | None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pick_dtype(dtype: str | None, device: str):
    import torch

    if dtype is None:
        # bf16 where the hardware has it (half the memory, same quality for sampling), float32 elsewhere.
        use_bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if use_bf16 else torch.float32
    if dtype not in DTYPES:
        raise UserError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return dtype if dtype == "auto" else getattr(torch, dtype)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]


def load_model(
    model_name_or_path: str,
    *,
    revision: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer for sampling: a local folder, a Hub id, or a PEFT adapter folder.

    Args:
        model_name_or_path: a folder saved by ``lintseq train`` / ``save_pretrained``, a Hub model id, or
            a LoRA adapter folder (``adapter_config.json``; its base model is loaded and the adapter merged).
        revision: Hub revision (branch, tag or commit).
        device: ``cuda``, ``cpu``, ...; defaults to the GPU when there is one.
        dtype: ``auto``, ``bfloat16``, ``float16`` or ``float32``; defaults to bf16 on GPUs that have it.

    Returns:
        ``(model, tokenizer)``: the model in evaluation mode on ``device``, the tokenizer set to pad on the
        left (generation appends on the right).

    Raises:
        UserError: a local path that does not exist, or a model that cannot be loaded.

    Example:
        >>> model, tokenizer = load_model("outputs/tiny-lintseq")  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(model_name_or_path).expanduser()
    if not path.exists() and (model_name_or_path.startswith((".", "/", "~")) or model_name_or_path.count("/") > 1):
        raise UserError(f"model path {model_name_or_path} does not exist")
    device = _pick_device(device)
    torch_dtype = _pick_dtype(dtype, device)
    adapter = path / "adapter_config.json" if path.is_dir() else None
    base_name = model_name_or_path
    if adapter is not None and adapter.is_file():
        base_name = json.loads(adapter.read_text()).get("base_model_name_or_path") or ""
        if not base_name:
            raise UserError(f"{adapter} names no base_model_name_or_path; cannot load the adapter's base model")
    try:
        tokenizer_source = model_name_or_path if _has_tokenizer(path) or not path.exists() else base_name
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, revision=revision)
        model = AutoModelForCausalLM.from_pretrained(base_name, revision=None if adapter else revision,
                                                     dtype=torch_dtype)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load model {model_name_or_path!r}: {_one_line(error)}") from None
    if adapter is not None and adapter.is_file():
        from peft import PeftModel

        # The adapter was trained with <|diff|> (and maybe a pad token) added: grow the base model the way
        # training did (new rows = the mean row) before the adapter's own rows are loaded over them.
        _grow_embeddings(model, len(tokenizer))
        model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device).eval(), tokenizer


def _grow_embeddings(model: PreTrainedModel, size: int) -> None:
    import torch

    current = model.get_input_embeddings().num_embeddings
    if size <= current:
        return
    layers = [model.get_input_embeddings(), model.get_output_embeddings()]
    if layers[1] is None or layers[1].weight is layers[0].weight:
        layers = layers[:1]
    means = [layer.weight.detach().float().mean(dim=0) for layer in layers]
    model.resize_token_embeddings(size, mean_resizing=False)
    layers = [model.get_input_embeddings(), model.get_output_embeddings()][: len(means)]
    with torch.no_grad():
        for layer, mean in zip(layers, means, strict=True):
            layer.weight[current:] = mean.to(layer.weight.dtype)


def _has_tokenizer(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))


class _EndOfEditsCriteria:
    """Stops each sequence once its completion ends with the two empty edits that close an edit sequence.

    Cheap: a row is decoded only on the steps where it has just produced ``<|diff|>``.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, prompt_length: int):
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.diff_id = tokenizer.convert_tokens_to_ids(DIFF_TOKEN)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in torch.nonzero(input_ids[:, -1] == self.diff_id).flatten().tolist():
            text = self.tokenizer.decode(input_ids[row, self.prompt_length:], skip_special_tokens=False,
                                         clean_up_tokenization_spaces=False)
            done[row] = text.endswith(END_OF_EDITS)
        return done


def _completion_text(tokenizer: PreTrainedTokenizerBase, generated: list[int], edit_sequence: bool) -> str:
    stop_ids = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
    end = next((index for index, token in enumerate(generated) if token in stop_ids), len(generated))
    text = tokenizer.decode(generated[:end], skip_special_tokens=False, clean_up_tokenization_spaces=False)
    if edit_sequence and END_OF_EDITS in text:
        text = text[: text.index(END_OF_EDITS) + len(END_OF_EDITS)]
    return text


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
        progress: show a progress bar over the batches.

    Returns:
        One list of ``config.n`` [`Sample`] per instruction, in order.

    Example:
        >>> model, tokenizer = load_model("outputs/tiny-lintseq")                      # doctest: +SKIP
        >>> samples = sample_programs(model, tokenizer, ["Add two numbers."], SamplingConfig(n=2))  # doctest: +SKIP
        >>> print(samples[0][0].program)                                               # doctest: +SKIP
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import StoppingCriteriaList

    if edit_sequence is None:
        edit_sequence = uses_edit_sequences(tokenizer)
    if edit_sequence and not uses_edit_sequences(tokenizer):
        raise UserError(f"the tokenizer has no {DIFF_TOKEN} token: this is not an edit-sequence model")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    prompts = [format_prompt(instruction, edit_sequence) for instruction in instructions]
    jobs = [(index, copy) for index in range(len(prompts)) for copy in range(config.n)]
    results: list[list[Sample]] = [[] for _ in prompts]
    device = next(model.parameters()).device
    batches = range(0, len(jobs), config.batch_size)
    for batch_number, start in enumerate(tqdm(batches, desc="sampling", unit="batch", disable=not progress)):
        batch = jobs[start:start + config.batch_size]
        encoded = tokenizer([prompts[index] for index, _ in batch], return_tensors="pt", padding=True).to(device)
        prompt_length = encoded["input_ids"].shape[1]
        stopping = StoppingCriteriaList([_EndOfEditsCriteria(tokenizer, prompt_length)] if edit_sequence else [])
        sampling = {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p}
        if config.temperature == 0:
            sampling = {"do_sample": False, "temperature": None, "top_p": None}
        devices = [device.index or 0] if device.type == "cuda" else []
        # A private random state per batch: the same seed gives the same samples, and the caller's global
        # random state is left as it was.
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(config.seed * 1_000_003 + batch_number)
            output = model.generate(
                **encoded,
                max_new_tokens=config.max_new_tokens,
                stopping_criteria=stopping,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                **sampling,
            )
        for (index, _), row in zip(batch, output[:, prompt_length:].tolist(), strict=True):
            completion = _completion_text(tokenizer, row, edit_sequence)
            if edit_sequence:
                parsed = parse_edit_sequence(completion)
                sample = Sample(prompts[index], completion, parsed.program, list(parsed.skipped), True)
            else:
                sample = Sample(prompts[index], completion, extract_program(completion), [], False)
            results[index].append(sample)
    return results
