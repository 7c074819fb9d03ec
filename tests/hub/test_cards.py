"""Model card templates: every one renders with any part of its variables, and its metadata parses back."""

from __future__ import annotations

import itertools
import re

import pytest
import yaml

from hub_tools.errors import UserError
from hub_tools.hub.cards import TEMPLATES, ModelCardConfig, choose_template, render_model_card
from hub_tools.package_data import shipped_folder

# The evaluation figures are not the paper's (12.8 / 20.6), which the TinyCodeLM card prints anyway.
FULL_CONTEXT = {
    "model_name": "tinycodelm-150m-lintseq",
    "repo_id": "lintseq-org/tinycodelm-150m-lintseq",
    "base_model": "lintseq-org/tinycodelm-150m",
    "datasets": ["lintseq-org/lintseq-humaneval"],
    "license": "apache-2.0",
    "edit_sequence": True,
    "evaluations": [{"benchmark": "HumanEval", "dataset_id": "openai/openai_humaneval",
                     "pass_at_k": {"pass@1": 17.3, "pass@10": 31.9}, "num_samples_per_problem": 10,
                     "temperature": 0.2, "top_p": 0.95, "num_problems": 164}],
    "architecture": {"architecture": "OlmoForCausalLM", "num_hidden_layers": 12, "num_attention_heads": 12,
                     "hidden_size": 768, "vocab_size": 50281, "max_position_embeddings": 1024,
                     "parameters_readable": "150.0M"},
    "diff_token": True,
    "metrics": ["pass@1", "pass@10"],
    "training": {"epoch": 2.0, "global_step": 100, "final_loss": 0.5,
                 "description": "2 epoch(s), 100 optimizer steps, final training loss 0.5"},
    "hub_tools_version": "0.1.0",
}


def _render(template_name: str, context: dict) -> str:
    from huggingface_hub import ModelCard, ModelCardData

    path = shipped_folder("model_cards") / TEMPLATES[template_name]
    data = ModelCardData(license=context.get("license"), base_model=context.get("base_model"),
                         datasets=context.get("datasets"))
    return str(ModelCard.from_template(data, template_path=str(path), **context))


def _subsets():
    keys = sorted(FULL_CONTEXT)
    yield from ([], keys)
    yield from ([key] for key in keys)
    yield from ([key for key in keys if key != left_out] for left_out in keys)
    yield from itertools.islice(itertools.combinations(keys, 4), 0, None, 37)


@pytest.mark.parametrize("template_name", sorted(TEMPLATES))
def test_every_template_renders_with_any_part_of_its_variables(template_name):
    for subset in _subsets():
        context = {key: FULL_CONTEXT[key] for key in subset}
        card = _render(template_name, context)
        assert "{{" not in card and "{%" not in card, subset
        assert not re.search(r"\bNone\b", card.split("---", 2)[2]), subset
        header = yaml.safe_load(card.split("---")[1])
        assert isinstance(header, dict), subset
        assert "## Citation" in card and "2410.02749" in card and "Piterbarg" in card
        body = card.split("---", 2)[2]
        if "evaluations" in context:
            assert "| 17.3 | 31.9 |" in body, subset  # the results table, pass@1 then pass@10
        else:
            assert "17.3" not in card and "31.9" not in card, subset


def test_tinycodelm_card_documents_the_family_and_its_published_results():
    card = _render("tinycodelm", FULL_CONTEXT)
    for section in ("## Model details", "## Variants", "## Training data", "## Evaluation", "## Intended use",
                    "## Limitations", "## Citation"):
        assert section in card
    assert "| TinyCodeLM-150M | 12 | 12 | 768 |" in card and "| TinyCodeLM-400M | 24 | 16 | 1024 |" in card
    assert "| 12.8 | 20.6 | paper |" in card and "| 13.4 | 20.9 | paper |" in card
    assert "OlmoForCausalLM" in card and "The Stack" in card and "FineWeb" in card


def test_baseline_models_get_a_whole_program_example():
    card = _render("finetune", dict(FULL_CONTEXT, edit_sequence=False))
    assert "edit_sequence=False" in card and "parse_edit_sequence(edits)" not in card
    card = _render("finetune", FULL_CONTEXT)
    assert "parse_edit_sequence(edits).program" in card


def test_auto_template_follows_the_names(tmp_path):
    assert choose_template(ModelCardConfig(), "me/TinyCodeLM-150M-lintseq", tmp_path).name == "tinycodelm.md"
    assert choose_template(ModelCardConfig(base_model="org/tinycodelm-400m"), "me/x", tmp_path).name == "tinycodelm.md"
    assert choose_template(ModelCardConfig(), "me/gemma-2b-lintseq", tmp_path).name == "lintseq_finetune.md"
    (tmp_path / "tinycodelm.json").write_text("{}")  # written by `lintseq init-model`
    assert choose_template(ModelCardConfig(), "me/my-model", tmp_path).name == "tinycodelm.md"
    with pytest.raises(UserError, match="neither one of"):
        choose_template(ModelCardConfig(template="nonexistent.md"), "me/x", tmp_path)
    custom = tmp_path / "mine.md"
    custom.write_text("---\n{{ card_data }}\n---\n# {{ model_name }}\n")
    assert choose_template(ModelCardConfig(template=str(custom)), "me/x", tmp_path) == custom


def test_rendered_card_metadata_holds_every_results_file(tiny_model_folder, metrics_file, tmp_path):
    import json

    from huggingface_hub import ModelCard

    mbpp = tmp_path / "mbpp.json"
    mbpp.write_text(json.dumps({"benchmark": "mbpp", "edit_sequence": True, "num_samples_per_problem": 5,
                                "temperature": 0.8, "pass_at_k": {"pass@1": 0.05, "pass@5": 0.1}}))
    text = render_model_card(tiny_model_folder, "me/gemma-lintseq", ModelCardConfig(
        eval_results=[metrics_file, mbpp], base_model="google/gemma-2-2b", tags=["gemma"], template="finetune"))
    card = ModelCard(text)
    found = {(result.dataset_name, result.metric_type): result.metric_value for result in card.data.eval_results}
    assert found == {("HumanEval", "pass@1"): 12.8, ("HumanEval", "pass@10"): 20.6,
                     ("MBPP", "pass@1"): 5.0, ("MBPP", "pass@5"): 10.0}
    assert card.data.tags[-1] == "gemma" and card.data.license == "apache-2.0"
    # One column per metric of any file, in the order of k.
    assert "| benchmark | pass@1 | pass@5 | pass@10 |" in text
    assert "| HumanEval | 12.8 | – | 20.6 | 10 | 0.2 |" in text and "| MBPP | 5.0 | 10.0 | – | 5 | 0.8 |" in text
    assert "Parameters" in text or "parameters" in text


def test_the_cards_usage_example_runs_against_the_pushed_model(hub, tiny_model_folder, capsys):
    from huggingface_hub import ModelCard

    from hub_tools.hub import push_model

    push_model(tiny_model_folder, "alice/tinycodelm-tiny")
    card = ModelCard.load("alice/tinycodelm-tiny")
    (example,) = re.findall(r"```python\n(.*?)```", card.text, flags=re.S)
    assert 'from_pretrained("alice/tinycodelm-tiny")' in example
    exec(compile(example, "model card example", "exec"), {})
    capsys.readouterr()


def test_a_partial_evaluation_is_not_published_as_the_benchmarks_score(tiny_model_folder, metrics_file, tmp_path,
                                                                       capsys):
    """A metrics.json of ``lintseq eval --limit 5`` once became the model-index's HumanEval pass@1."""
    import json

    from huggingface_hub import ModelCard

    limited = tmp_path / "limited.json"
    limited.write_text(json.dumps({**json.loads(metrics_file.read_text()), "num_problems": 5,
                                   "num_benchmark_problems": 164, "limit": 5, "pass_at_k": {"pass@1": 0.6}}))
    # An older metrics.json says neither the benchmark's size nor --limit: HumanEval's is known.
    older = tmp_path / "older.json"
    older.write_text(json.dumps({"benchmark": "humaneval", "num_problems": 20, "pass_at_k": {"pass@1": 0.5}}))
    # An MBPP file of unknown size with --task-ids.
    chosen = tmp_path / "chosen.json"
    chosen.write_text(json.dumps({"benchmark": "mbpp", "num_problems": 2, "task_ids": ["Mbpp/2", "Mbpp/3"],
                                  "pass_at_k": {"pass@1": 1.0}}))
    text = render_model_card(tiny_model_folder, "me/x", ModelCardConfig(
        eval_results=[metrics_file, limited, older, chosen], template="finetune"))
    card = ModelCard(text)
    found = {(result.dataset_name, result.metric_type): result.metric_value for result in card.data.eval_results}
    assert found == {("HumanEval", "pass@1"): 12.8, ("HumanEval", "pass@10"): 20.6}  # the full evaluation alone
    assert "| HumanEval (5 of 164 problems) | 60.0 |" in text and "| HumanEval (20 of 164 problems) | 50.0 |" in text
    assert "| MBPP (2 problems chosen with --limit / --task-ids) | 100.0 |" in text
    notes = capsys.readouterr().err
    assert f"note: {limited} scores 5 of 164 problems of HumanEval: it is in the card's table, not in its model-index" \
        in notes
    assert len([line for line in notes.splitlines() if line.startswith("note:")]) == 3


def test_the_card_says_what_training_did_not_what_it_was_asked(tmp_path):
    """A run stopped by max_steps was published as "2 epoch(s)" (num_train_epochs) after 20 steps."""
    from hub_tools.hub.cards import _training_summary

    asked = {"learning_rate": 0.003, "num_train_epochs": 2, "max_steps": 20, "loss_reduction": "sum"}
    assert _training_summary(tmp_path, asked)["description"].startswith("20 optimizer steps")
    done = {**asked, "epoch": 0.2051, "global_step": 20}
    assert _training_summary(tmp_path, done)["description"].startswith("0.2051 epoch(s), 20 optimizer steps")
    assert _training_summary(tmp_path, {**asked, "max_steps": -1})["description"].startswith("2 epoch(s)")


@pytest.mark.parametrize(("name", "content"), [
    ("tokenizer.json", "{broken"), ("tokenizer.json", "[1, 2]"), ("config.json", "[]"),
    ("trainer_state.json", '["not", "trainer"]'), ("trainer_state.json", '{"log_history": [1, {"loss": "x"}]}'),
])
def test_broken_side_files_are_one_line_or_ignored(tiny_model_folder, tmp_path, make_model_copy, name, content):
    """A broken tokenizer.json or a trainer_state.json that is not trainer's ended the card in a traceback."""
    from hub_tools.hub.cards import render_model_card

    folder = make_model_copy(tiny_model_folder, tmp_path / "model")
    (folder / name).write_text(content)
    try:
        render_model_card(folder, "alice/model")
    except UserError as error:
        assert name in str(error) and "\n" not in str(error)
