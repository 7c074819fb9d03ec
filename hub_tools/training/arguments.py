"""The argument dataclasses of ``lintseq train``: TRL's own, extended only where this project needs a field.

``lintseq train`` parses three dataclasses with `trl.TrlParser`, like TRL's ``sft.py`` script:
[`DataConfig`] (TRL's `ScriptArguments` plus plain-text corpora for pretraining), [`LintSeqSFTConfig`]
(TRL's `SFTConfig` plus the loss reduction and a global batch size) and TRL's `ModelConfig` unchanged
(model path, dtype, LoRA / QLoRA).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import ScriptArguments, SFTConfig

LOSS_REDUCTIONS = ("sum", "mean")
DATASET_CONFIGS = ("lintseq", "random", "baseline")


@dataclass
class DataConfig(ScriptArguments):
    """TRL's `ScriptArguments`, plus the choice of a plain-text corpus.

    Args:
        dataset_name: a folder written by ``lintseq generate`` or a Hub dataset id.
        dataset_config: which config of it to train on: ``lintseq``, ``random`` or ``baseline`` (any config
            with ``prompt``/``completion`` columns works).
        text_files: instead of a dataset, plain-text files (paths or glob patterns), one document per file,
            for pretraining (language modelling on the whole text, usually with ``packing: true``).
    """

    dataset_config: str | None = field(
        default="lintseq",
        metadata={"help": "Config of the dataset to train on: lintseq, random or baseline."},
    )
    text_files: list[str] | None = field(
        default=None,
        metadata={
            "help": "Plain-text files or glob patterns (one document per file) to pretrain on instead of a "
            "prompt/completion dataset."
        },
    )


@dataclass
class LintSeqSFTConfig(SFTConfig):
    """TRL's `SFTConfig` with the two settings the paper's recipes need.

    Args:
        loss_reduction: ``sum`` adds the token losses of a whole optimizer batch (the paper's setting);
            ``mean`` divides that sum by the number of completion tokens in the batch (TRL's default). For one
            batch, ``sum == mean * completion tokens``: tokens weigh the same in both, only the step's scale
            differs (mostly normalised away by AdamW and ``max_grad_norm``). Evaluation loss is always the
            per-token mean, so it stays comparable between runs.
        global_batch_size: sequences per optimizer step over all processes (512 in the paper). When set,
            ``gradient_accumulation_steps`` is derived from it, the per-device batch size and the number of
            processes, so one recipe runs unchanged on 1, 8 or 64 GPUs. An explicit
            ``gradient_accumulation_steps`` other than 1 must agree with it.
    """

    loss_reduction: str = field(
        default="mean",
        metadata={"help": "How token losses are reduced: 'sum' (the paper) or 'mean' (TRL's default).",
                  "choices": list(LOSS_REDUCTIONS)},
    )
    global_batch_size: int | None = field(
        default=None,
        metadata={"help": "Sequences per optimizer step over all processes; sets gradient_accumulation_steps."},
    )
    # TRL turns gradient checkpointing on by default, through a name transformers has deprecated (a warning on
    # every run). Left unset here; recipes of large models ask for `activation_checkpointing: true`.
    gradient_checkpointing: bool | None = field(
        default=None,
        metadata={"help": "Deprecated alias of activation_checkpointing."},
    )

    def __post_init__(self):
        if self.loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(f"loss_reduction must be one of {LOSS_REDUCTIONS}, not {self.loss_reduction!r}")
        if self.loss_reduction == "sum":
            # With this flag the trainer multiplies each rank's loss by the number of processes, which undoes
            # the gradient averaging of DDP / DeepSpeed: the step's gradient is that of the sum over all ranks.
            self.average_tokens_across_devices = True
        super().__post_init__()
        if self.global_batch_size is not None:
            per_step = self.per_device_train_batch_size * self.world_size
            if self.global_batch_size % per_step:
                raise ValueError(
                    f"global_batch_size {self.global_batch_size} is not a multiple of per_device_train_batch_size "
                    f"{self.per_device_train_batch_size} x {self.world_size} processes"
                )
            derived = self.global_batch_size // per_step
            # An explicit gradient_accumulation_steps (anything but the default 1) that disagrees would be
            # replaced without a word: a run of a different batch size than the user asked for.
            if self.gradient_accumulation_steps not in (1, derived):
                raise ValueError(
                    f"gradient_accumulation_steps {self.gradient_accumulation_steps} disagrees with "
                    f"global_batch_size {self.global_batch_size}, which sets it to {derived} "
                    f"({self.per_device_train_batch_size} per device x {self.world_size} processes); set one of "
                    "them (--global_batch_size None keeps the recipe's gradient_accumulation_steps)"
                )
            self.gradient_accumulation_steps = derived
