"""``lintseq train``'s engine: TRL's `SFTTrainer` with the paper's summed loss, and the run itself."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from trl import SFTTrainer

from hub_tools.errors import UserError, one_line
from hub_tools.training.data import load_training_dataset
from hub_tools.training.tokenizer import prepare_tokenizer, resize_embeddings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase
    from trl import ModelConfig

    from hub_tools.training.arguments import DataConfig, LintSeqSFTConfig


class LintSeqSFTTrainer(SFTTrainer):
    """`trl.SFTTrainer` that can sum the token losses instead of averaging them (``loss_reduction: sum``).

    With ``mean`` (TRL's behaviour) the loss of an optimizer step is the sum of the completion tokens' losses
    divided by their number over the whole step (all accumulation micro-batches, all processes). With ``sum``
    the division is left out: the loss of a micro-batch is the sum of its token losses, and accumulation adds
    micro-batches up. So for the same step, ``sum = mean * number of completion tokens``, as in the paper's
    training runs. Within a step every token weighs the same in both (the mean is over the step's tokens, not
    per example): only the step's scale differs, which AdamW and gradient clipping (``max_grad_norm``) mostly
    normalise away.

    Everything else is `SFTTrainer` as is: the arguments, the data preparation, the completion-only loss.

    Example:
        >>> trainer = LintSeqSFTTrainer(model=model, args=LintSeqSFTConfig(output_dir="out", loss_reduction="sum"),
        ...                             train_dataset=dataset, processing_class=tokenizer)  # doctest: +SKIP
        >>> trainer.train()                                                              # doctest: +SKIP
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self._sums_loss:
            # A sum is already the whole step's loss: Trainer must not divide it by the accumulation steps.
            self.loss_is_scaled_for_ga = True

    @property
    def _sums_loss(self) -> bool:
        return getattr(self.args, "loss_reduction", "mean") == "sum"

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self._sums_loss and model.training:
            # SFTTrainer divides the summed token loss by `num_items_in_batch`; a divisor of one keeps the sum.
            # Under DDP / DeepSpeed it is then multiplied by the number of processes, which undoes the gradient
            # averaging across ranks: the step's gradient is that of the sum over every rank's tokens.
            num_items_in_batch = torch.tensor(1, device=self.args.device)
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )


def load_model_for_training(
    model_config: ModelConfig, training_config: LintSeqSFTConfig
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, list[str]]:
    """Load the model and tokenizer to finetune, with ``<|diff|>``, a pad token and resized embeddings.

    Must run after ``training_config`` is built: under DeepSpeed ZeRO-3 that is what makes
    ``from_pretrained`` partition the weights as they load, and resizing then gathers them.

    Returns:
        ``(model, tokenizer, added_tokens)``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import get_quantization_config

    name = model_config.model_name_or_path
    if Path(name).expanduser().is_dir():
        # Absolute, so that a LoRA adapter's `base_model_name_or_path` still points at it from any folder.
        name = str(Path(name).expanduser().resolve())
    revision = model_config.model_revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, revision=revision,
                                                  trust_remote_code=training_config.trust_remote_code)
    except (OSError, ValueError) as error:
        raise UserError(
            f"cannot load the tokenizer of {name!r}: it is not a local model folder and the Hub did not give it "
            f"({one_line(error)})"
        ) from None
    if tokenizer.eos_token is None:
        # TRL ends every example with it; without one the run crashed in its tokenization, and a model trained
        # without it could never stop.
        raise UserError(f"the tokenizer of {name!r} has no end-of-text token (eos_token): set one "
                        "(tokenizer.eos_token = ...; save_pretrained) so examples can end")
    added = prepare_tokenizer(tokenizer)
    dtype = model_config.dtype
    keyword_arguments: dict[str, Any] = {
        "revision": revision,
        "trust_remote_code": training_config.trust_remote_code,
        "attn_implementation": model_config.attn_implementation,
        "dtype": getattr(torch, dtype) if dtype in ("bfloat16", "float16", "float32") else dtype,
    }
    quantization = get_quantization_config(model_config)
    if quantization is not None:
        from accelerate import PartialState

        # QLoRA: each process keeps its whole quantized copy on its own GPU.
        keyword_arguments.update(quantization_config=quantization,
                                 device_map={"": PartialState().local_process_index})
    try:
        model = AutoModelForCausalLM.from_pretrained(name, **keyword_arguments)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load model {name!r}: {one_line(error)}") from None
    resize_embeddings(model, tokenizer)
    return model, tokenizer, added


def peft_config_for(model_config: ModelConfig, tokenizer: PreTrainedTokenizerBase, added: list[str]):
    """TRL's LoRA config from the ``model`` section, made to train the rows of tokens added for LintSeq.

    LoRA freezes the embeddings, so a freshly added ``<|diff|>`` would keep its initial vector for good.
    Unless the recipe already trains whole embedding modules (``lora_modules_to_save``), the new rows of the
    input embedding are made trainable (PEFT's ``trainable_token_indices``): a few thousand parameters, saved
    with the adapter; with tied embeddings that is the output layer too. An untied output layer keeps its new
    rows at their deterministic start (the mean row, rebuilt when the adapter is loaded): TRL's fused LM head
    reads the output weight directly, which PEFT's token wrapper does not support.
    """
    from trl import get_peft_config

    peft_config = get_peft_config(model_config)
    if peft_config is None or not added or model_config.lora_modules_to_save:
        return peft_config
    # A plain list targets the model's input embedding, whatever its module is called.
    peft_config.trainable_token_indices = sorted(tokenizer.convert_tokens_to_ids(added))
    return peft_config


def _fit_to_context(training_config: LintSeqSFTConfig, model: PreTrainedModel) -> None:
    """Cut examples at the model's context when ``max_length`` would let them run past it (TRL's default is
    1,024 tokens whatever the model): a model with learned positions (GPT-2) cannot look a position up past its
    context, and the first long edit sequence ended the run with an ``IndexError``."""
    from hub_tools.inference.batching import context_length

    context = context_length(model)
    if context is None:
        return
    if training_config.max_length is None or training_config.max_length > context:
        print(f"note: max_length {training_config.max_length} is more than the model's context ({context} "
              f"positions): examples are cut at {context} tokens", file=sys.stderr)
        training_config.max_length = context


def _holds_edit_sequences(dataset, rows: int = 1000) -> bool:
    """Whether the training completions are edit sequences: one of the first ``rows`` holds ``<|diff|>``."""
    from hub_tools.lintseq import DIFF_TOKEN

    if "completion" not in getattr(dataset, "column_names", ()):
        return False  # plain text (pretraining)
    head = dataset.select(range(min(rows, len(dataset))))["completion"]
    return any(isinstance(completion, str) and DIFF_TOKEN in completion for completion in head)


def _checkpoint_to_resume(training_config: LintSeqSFTConfig) -> str | None:
    """The checkpoint folder ``resume_from_checkpoint`` names, checked before any weight is loaded.

    ``true`` (or ``latest``) is the last ``checkpoint-*`` of ``output_dir``, as ``Trainer.train(True)`` reads
    it; from the command line it arrived as the text "true" and failed as a folder name after the model loaded.
    """
    value = training_config.resume_from_checkpoint
    if value is None or str(value).lower() in ("", "false", "none"):
        return None
    if str(value).lower() in ("true", "latest"):
        from transformers.trainer_utils import get_last_checkpoint

        output = Path(training_config.output_dir)
        last = get_last_checkpoint(str(output)) if output.is_dir() else None
        if last is None:
            raise UserError(f"resume_from_checkpoint {value}: {output} holds no checkpoint-* folder to resume from")
        return last
    if not Path(value).is_dir():
        raise UserError(f"resume_from_checkpoint {value}: no such checkpoint folder (or pass true for the last "
                        f"checkpoint in {training_config.output_dir})")
    return str(value)


def _note_cut_examples(prepared, eos_token_id: int | None, max_length: int | None) -> None:
    """Say how many prepared examples ``max_length`` cut: their last token is not end-of-text (TRL appends it
    to every completion, then cuts at ``max_length``). A cut edit sequence loses its closing ``<|diff|>`` and its
    end, so the model does not learn to close one: with the ``tiny-lintseq`` recipe, 42 of 164 HumanEval paths
    were cut at 512 tokens and nothing said so."""
    import numpy as np

    if eos_token_id is None or max_length is None or not hasattr(prepared, "with_format"):
        return
    cut = total = 0
    for batch in prepared.select_columns(["input_ids"]).with_format("arrow").iter(batch_size=4096):
        column = batch.column("input_ids").combine_chunks()
        offsets = np.asarray(column.offsets)  # where each example's ids start and end in `values`
        lengths = np.diff(offsets)
        whole = lengths > 0
        last = np.asarray(column.values)[offsets[1:][whole] - 1]
        cut += int(np.count_nonzero((lengths[whole] >= max_length) & (last != eos_token_id)))
        total += len(column)
    if cut:
        print(f"note: {cut:,} of {total:,} examples ({cut / total:.0%}) are longer than max_length {max_length} "
              "tokens and are cut there: their completion loses its end (the closing <|diff|> and end-of-text); "
              "raise max_length to keep them whole", file=sys.stderr)


def train(data_config: DataConfig, training_config: LintSeqSFTConfig, model_config: ModelConfig) -> Path:
    """Finetune (or pretrain) a causal LM as one ``lintseq train`` run and save it to ``output_dir``.

    Args:
        data_config: the ``data`` section (dataset folder or Hub id and config, or text files).
        training_config: the ``trainer`` section (any `SFTConfig` field, ``loss_reduction``, ...).
        model_config: the ``model`` section (model path, dtype, LoRA / QLoRA).

    Returns:
        The output folder: model (or LoRA adapter) and tokenizer, loadable by ``lintseq sample``.

    Example:
        >>> from hub_tools.training.recipes import parse_train_arguments
        >>> data, training, model, _ = parse_train_arguments(["--config", "recipe.yaml"])  # doctest: +SKIP
        >>> train(data, training, model)                                                  # doctest: +SKIP
        PosixPath('outputs/tiny-lintseq')
    """
    checkpoint = _checkpoint_to_resume(training_config)
    dataset = load_training_dataset(data_config, dataset_text_field=training_config.dataset_text_field)
    evaluation = None
    if str(getattr(training_config.eval_strategy, "value", training_config.eval_strategy)) != "no":
        # A held-out split of the same dataset (generated folders have only `train`: split one off first).
        evaluation = load_training_dataset(data_config, split=data_config.dataset_test_split)
    model, tokenizer, added = load_model_for_training(model_config, training_config)
    _fit_to_context(training_config, model)
    trainer = LintSeqSFTTrainer(
        model=model,
        args=training_config,
        train_dataset=dataset,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=peft_config_for(model_config, tokenizer, added),
    )
    prepared = trainer.train_dataset
    if hasattr(prepared, "__len__") and len(prepared) == 0 < len(dataset):
        # TRL drops an example whose completion the cut at max_length removed whole (its prompt fills it).
        raise UserError(f"no example is left to train on: cut at max_length {training_config.max_length} tokens, "
                        f"every one of the {len(dataset):,} examples loses its whole completion (the prompts are "
                        "longer); raise max_length, or use a model with a longer context")
    if not training_config.packing:
        _note_cut_examples(prepared, tokenizer.eos_token_id, training_config.max_length)
    trainer.train(resume_from_checkpoint=checkpoint)
    output = Path(training_config.output_dir)
    trainer.save_model(str(output))
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(output)
        # How the checkpoint was made, next to it: the hub publisher and people read this, not the trainer.
        record = {
            "base_model": model_config.model_name_or_path,
            "dataset": data_config.dataset_name or data_config.text_files,
            "dataset_config": None if data_config.text_files else data_config.dataset_config,
            "loss_reduction": training_config.loss_reduction,
            "learning_rate": training_config.learning_rate,
            "num_train_epochs": training_config.num_train_epochs,
            "max_steps": training_config.max_steps,
            "epoch": round(trainer.state.epoch or 0.0, 4),  # what the run did (max_steps may end it early)
            "global_step": trainer.state.global_step,
            "use_peft": model_config.use_peft,
            # What the completions are, not what the config is called: a third-party prompt/completion set (no
            # config name) was recorded as edit sequences, and sampling trusts this record over the vocabulary.
            "edit_sequence": _holds_edit_sequences(dataset),
        }
        (output / "lintseq_training.json").write_text(json.dumps(record, indent=2) + "\n")
    trainer.accelerator.wait_for_everyone()
    # The process group must not be freed by DDP's reducer. The reducer holds the group, and freed last (when
    # this function returns) it destroys gloo's group while holding the GIL: the destructor waits for gloo's
    # worker threads, and a worker still letting go of the final barrier needs the GIL to free its tensors, so
    # both wait for ever. (One rank of a two-process CPU run hung so, once in a few runs on a busy machine.) A
    # ProcessGroup's own Python handle lets go of the GIL when it is destroyed: one is held while the trainer,
    # and with it the reducer, is freed, and dropped last.
    group = _default_process_group()
    if hasattr(trainer, "end"):  # transformers >= 5.18: finish trackers, release the process group
        trainer.end()
    del trainer
    gc.collect()  # so that no reference cycle through the trainer keeps the DDP model for later
    del group
    return output


def _default_process_group():
    """The default process group's Python handle, or None outside a distributed run."""
    import torch.distributed as dist

    return dist.group.WORLD if dist.is_available() and dist.is_initialized() else None
