"""The command line as a whole: no abbreviated option is ever accepted, help and output stay readable."""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_tools.cli import COMMANDS
from hub_tools.cli import main as lintseq

ROOT = Path(__file__).resolve().parents[2]


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from _parsers(subparser)


def test_every_argument_parser_in_the_package_refuses_abbreviations():
    """Source-level: a parser added later without allow_abbrev=False fails here."""
    missing = []
    for path in sorted((ROOT / "hub_tools").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                    "ArgumentParser", "add_parser", "_TrainArgumentParser"):
                keywords = {keyword.arg: keyword.value for keyword in node.keywords}
                value = keywords.get("allow_abbrev")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert missing == []


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"train"}))
def test_each_command_parser_and_its_subparsers_refuse_abbreviations(command):
    module = importlib.import_module(COMMANDS[command][0])
    for parser in _parsers(module.build_parser()):
        assert parser.allow_abbrev is False, parser.prog


def test_the_trl_parser_of_train_refuses_abbreviations():
    from hub_tools.training.recipes import build_parser

    assert build_parser().allow_abbrev is False


@pytest.mark.parametrize("argv, unknown", [
    (["generate", "--output-dir", "x", "--num-path", "2"], "--num-path"),
    (["verify", "x", "--work", "2"], "--work"),
    (["push", "dataset", "x", "--repo-i", "me/x"], "--repo-i"),
    (["init-model", "--pre", "tiny", "--output-dir", "x"], "--pre"),
])
def test_an_abbreviated_option_is_an_error(capsys, argv, unknown):
    with pytest.raises(SystemExit) as exit_info:
        lintseq(argv)
    assert exit_info.value.code == 2
    assert unknown in capsys.readouterr().err


@pytest.mark.parametrize("name, hint", [("edit", "did you mean 'edits'?"), ("evaluate", "did you mean 'eval'?"),
                                        ("generat", "did you mean 'generate'?"), ("frobnicate", None)])
def test_an_unknown_command_names_the_closest_one(capsys, name, hint):
    assert lintseq([name]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"lintseq: error: unknown command {name!r}")
    assert (hint in first) if hint else "did you mean" not in first


def test_train_refuses_an_abbreviated_option_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = lintseq(["train", "--config", "tiny-lintseq", "--learning-rat", "1", "--output_dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "unknown option '--learning-rat' (did you mean --learning" in err
    assert not (tmp_path / "o").exists()


def test_train_takes_config_with_an_equals_sign():
    from hub_tools.training.recipes import parse_train_arguments

    data, training, _, _ = parse_train_arguments(["--config=tiny-lintseq", "--output_dir", "o"], check=False)
    assert data.dataset_config == "lintseq" and training.learning_rate == 3e-3


def test_train_help_leads_with_our_options_and_recipes_and_still_names_every_option(capsys):
    from hub_tools.training.recipes import build_parser

    assert lintseq(["train", "--help"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "usage: lintseq train --config RECIPE [--key value ...]"
    assert len(lines) < 150
    assert text.index("--config RECIPE") < text.index("--loss_reduction") < text.index("shipped recipes")
    assert text.index("shipped recipes") < text.index("other options, by recipe section")
    assert "tiny-lintseq" in text and "tinycodelm-150m-lintseq" in text
    for action in build_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert action.dest in text, action.dest
    assert lintseq(["train", "--help-all"]) == 0
    assert "--lr_scheduler_type" in capsys.readouterr().out


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_deepspeed_logs_go_to_stderr_and_the_accelerator_warning_is_dropped():
    importlib.import_module("deepspeed")  # installed with the test extras: missing is a failure, not a skip
    result = _run("from hub_tools.cli.third_party_output import quiet_third_party_output\n"
                  "quiet_third_party_output()\n"
                  "from deepspeed.utils import logger\n"
                  "logger.warning('a real DeepSpeed warning')\n"
                  "print('ours')")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ours\n"
    assert "a real DeepSpeed warning" in result.stderr and "Setting accelerator to CPU" not in result.stderr


def test_importing_the_command_modules_has_no_side_effects():
    result = _run("import sys, logging\n"
                  "import hub_tools.cli.train, hub_tools.cli.init_model, hub_tools.cli.third_party_output\n"
                  "heavy = [name for name in ('deepspeed', 'torch', 'transformers', 'trl') if name in sys.modules]\n"
                  "print(heavy, logging.getLogger('DeepSpeed').handlers)")
    assert result.stdout.strip() == "[] []", result.stderr


def test_init_model_prints_one_line_on_stdout(tmp_path):
    corpus = tmp_path / "corpus.py"
    corpus.write_text(Path(argparse.__file__).read_text())  # the standard library's argparse module
    result = subprocess.run([sys.executable, "-m", "hub_tools.cli", "init-model", "--preset", "tiny",
                             "--output-dir", str(tmp_path / "tiny"), "--corpus", str(corpus)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote tiny (") and result.stdout.count("\n") == 1, result.stdout


def test_a_full_disk_is_one_line_saying_how_to_go_on(tmp_path, humaneval_corpus):
    # It was a traceback (exit 1) from the part writer or the merge; other failures are one line (exit 2).
    import json
    import shutil

    if os.getuid() != 0 or not shutil.which("unshare"):
        pytest.fail("this test mounts a small tmpfs in a mount namespace of its own: it needs root and unshare")
    source = tmp_path / "programs.jsonl"
    source.write_text("".join(json.dumps({"instruction": f"Task {i}", "response": program}) + "\n"
                              for i, program in enumerate(humaneval_corpus[:40])))
    small = tmp_path / "small"
    small.mkdir()
    script = (f'mount -t tmpfs -o size=64k tmpfs "{small}" && "{sys.executable}" -m hub_tools.cli generate "{source}" '
              f'--output-dir "{small}/out" --no-progress --chunk-size 4 --sampler random')
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=ROOT)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("lintseq generate: error: no space left on the device"), result.stderr[-2000:]
    assert "finished chunks are kept: run the same command again" in last and "Traceback" not in result.stderr
