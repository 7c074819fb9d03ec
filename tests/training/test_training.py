"""A real TRL SFTTrainer on the tiny TinyCodeLM and a real LintSeq dataset, on the CPU."""

from __future__ import annotations

import pytest
import torch

from hub_tools.lintseq import DIFF_TOKEN
from hub_tools.training.data import load_training_dataset
from hub_tools.training.recipes import parse_train_arguments
from hub_tools.training.trainer import LintSeqSFTTrainer, load_model_for_training


def make_trainer(tiny_model, dataset_folder, output, *options):
    data, training, model_config, _ = parse_train_arguments([
        "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model), "--dataset_name", str(dataset_folder),
        "--output_dir", str(output), "--logging_steps", "1000", *options,
    ])
    dataset = load_training_dataset(data)
    model, tokenizer, _ = load_model_for_training(model_config, training)
    trainer = LintSeqSFTTrainer(model=model, args=training, train_dataset=dataset, processing_class=tokenizer)
    return trainer, tokenizer, dataset


def fixed_batch(trainer, size=8):
    rows = [trainer.train_dataset[index] for index in range(size)]
    return trainer._prepare_inputs(trainer.data_collator(rows))


def test_labels_cover_exactly_the_completion_and_diff_is_one_token(tiny_model, edit_dataset, tmp_path):
    trainer, tokenizer, dataset = make_trainer(tiny_model, edit_dataset, tmp_path / "out")
    diff_id = tokenizer.convert_tokens_to_ids(DIFF_TOKEN)
    batch = fixed_batch(trainer)
    for row in range(batch["input_ids"].shape[0]):
        example = dataset[row]
        prompt_ids = tokenizer(example["prompt"])["input_ids"]
        completion_ids = tokenizer(example["prompt"] + example["completion"])["input_ids"][len(prompt_ids):]
        length = len(prompt_ids) + len(completion_ids) + 1  # + the EOS the trainer appends
        input_ids, labels = batch["input_ids"][row], batch["labels"][row]
        assert input_ids[: len(prompt_ids)].tolist() == prompt_ids
        assert prompt_ids[-1] == diff_id  # the prompt ends with the first <|diff|>
        assert (labels[: len(prompt_ids)] == -100).all(), "a prompt token is trained on"
        assert labels[len(prompt_ids):length].tolist() == input_ids[len(prompt_ids):length].tolist()
        assert labels[length - 1].item() == tokenizer.eos_token_id  # the model learns to stop
        assert (labels[length:] == -100).all()  # padding
        assert completion_ids.count(diff_id) == example["completion"].count(DIFF_TOKEN)


def test_loss_goes_down_on_a_fixed_batch(tiny_model, edit_dataset, tmp_path):
    trainer, _, _ = make_trainer(tiny_model, edit_dataset, tmp_path / "out", "--max_steps", "12", "--learning_rate", "1e-2",
                                 "--loss_reduction", "mean")
    batch = fixed_batch(trainer)
    model = trainer.model
    model.eval()
    with torch.no_grad():
        before = model(**batch).loss.item()
    trainer.train()
    model.eval()
    with torch.no_grad():
        after = model(**batch).loss.item()
    assert after < 0.8 * before, (before, after)


def test_summed_loss_is_the_mean_times_the_completion_tokens(tiny_model, edit_dataset, tmp_path):
    summing, _, _ = make_trainer(tiny_model, edit_dataset, tmp_path / "sum", "--loss_reduction", "sum",
                                 "--gradient_accumulation_steps", "2")
    averaging, _, _ = make_trainer(tiny_model, edit_dataset, tmp_path / "mean", "--loss_reduction", "mean",
                                   "--gradient_accumulation_steps", "2")
    model = summing.model
    model.train()
    first, second = fixed_batch(summing, 8), fixed_batch(summing, 4)
    # What Trainer passes: the completion tokens of the whole optimizer step (both micro-batches, shifted).
    tokens = sum(int((batch["labels"][:, 1:] != -100).sum()) for batch in (first, second))
    assert tokens > 100

    def step_gradient(trainer):
        model.zero_grad()
        losses = [trainer.training_step(model, dict(batch), torch.tensor(tokens)).item() for batch in (first, second)]
        return losses, torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    mean_losses, mean_gradient = step_gradient(averaging)
    sum_losses, sum_gradient = step_gradient(summing)
    # Per micro-batch and for the whole step: sum = mean * completion tokens of the step.
    assert sum_losses == pytest.approx([loss * tokens for loss in mean_losses], rel=1e-4)
    # Gradients as whole vectors: element-wise, float32 sums over ~10^3 tokens differ in the last digits of
    # the near-zero entries, whichever data the batches hold.
    difference = (sum_gradient - mean_gradient * tokens).norm() / sum_gradient.norm()
    assert difference < 1e-4, difference
    # Accumulation adds micro-batches up: the summed step loss is the plain sum of token losses.
    with torch.no_grad():
        direct = sum(_token_loss_sum(model, batch) for batch in (first, second))
    assert sum(sum_losses) == pytest.approx(direct, rel=1e-4)
    # Evaluation stays a per-token mean in both modes, so runs remain comparable.
    model.eval()
    with torch.no_grad():
        assert summing.compute_loss(model, dict(first)).item() == pytest.approx(
            averaging.compute_loss(model, dict(first)).item(), rel=1e-5)


def _token_loss_sum(model, batch) -> float:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).logits
    labels = batch["labels"][:, 1:]
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels.flatten(),
                                             ignore_index=-100, reduction="sum").item()
