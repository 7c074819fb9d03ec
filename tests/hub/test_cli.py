"""``lintseq push`` as a user runs it: help, dry runs, and the README's walk-through in real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.cli import main as lintseq

TOKEN = "hf_walkthrough_SECRET_77aa11"


def test_help_lists_both_kinds_and_the_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        lintseq(["push", "--help"])
    assert exit_info.value.code == 0
    assert "dataset|model" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        lintseq(["push", "model", "--help"])
    output = capsys.readouterr().out
    for flag in ("--repo-id", "--private", "--revision", "--create-pr", "--commit-message", "--dry-run",
                 "--eval-results", "--include-training-state", "--include-logs"):
        assert flag in output


def test_missing_repo_id_is_a_usage_error(capsys, dataset_folder):
    with pytest.raises(SystemExit) as exit_info:
        lintseq(["push", "dataset", str(dataset_folder)])
    assert exit_info.value.code == 2 and "--repo-id" in capsys.readouterr().err


def test_model_dry_run_prints_plan_sizes_and_card_without_network(
        capsys, tiny_model_folder, tmp_path, metrics_file, make_model_copy, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    folder = make_model_copy(tiny_model_folder, tmp_path / "tinycodelm-run", as_bin=True)
    (folder / "optimizer.pt").write_bytes(b"\0" * 10)
    code = lintseq(["push", "model", str(folder), "--repo-id", "me/tinycodelm-run", "--dry-run",
                    "--eval-results", str(metrics_file), "--base-model", "me/tinycodelm-150m",
                    "--endpoint", "http://127.0.0.1:9"])
    output = capsys.readouterr().out
    assert code == 0
    assert "Dry run: nothing was sent" in output
    assert "model.safetensors" in output and "(converted from pytorch_model.bin)" in output and " kB" in output
    assert "optimizer.pt  (training state; --include-training-state uploads it)" in output
    assert "model-index:" in output and "value: 12.8" in output and "# tinycodelm-run" in output
    assert not (folder / "model.safetensors").exists()  # a dry run changes nothing on disk either


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _generate(folder: Path, environment: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "hub_tools.cli", "generate", "--output-dir", str(folder),
                             "--num-samples", "8", "--num-paths", "1", "--workers", "1"],
                            env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def datasets_rows(folder: Path) -> list[dict]:
    return [row for shard in sorted((folder / "data" / "random").glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]


def programs_of(folder: Path) -> list[str]:
    return [row["program"] for shard in sorted((folder / "data" / "baseline").glob("*.parquet"))
            for row in pq.read_table(shard).to_pylist()]


def test_walkthrough_generate_push_and_load_back_against_a_server_started_by_hand(tmp_path):
    port = _free_port()
    environment = dict(os.environ, HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_TOKEN=TOKEN,
                       HF_HUB_DISABLE_XET="1", HF_UPDATE_DOWNLOAD_COUNTS="0", HF_HUB_DISABLE_PROGRESS_BARS="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "hub_tools.hub_test_server", "--root", str(tmp_path / "hub"), "--port", str(port),
         "--user", f"me:{TOKEN}:lintseq-org"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and TOKEN not in banner
        folder = tmp_path / "lintseq-humaneval"
        _generate(folder, environment)

        def push(*extra):
            return subprocess.run([sys.executable, "-m", "hub_tools.cli", "push", "dataset", str(folder),
                                   "--repo-id", "me/lintseq-humaneval", *extra],
                                  env=environment, capture_output=True, text=True, timeout=300)

        dry = push("--dry-run")
        assert dry.returncode == 0 and "Dry run" in dry.stdout
        pushed = push("--private")
        assert pushed.returncode == 0, pushed.stderr[-2000:]
        assert "uploaded" in pushed.stdout and TOKEN not in pushed.stdout + pushed.stderr
        again = push()
        assert again.returncode == 0 and "already up to date" in again.stdout, again.stdout + again.stderr

        check = (
            "import datasets, pyarrow.parquet as pq, glob, sys\n"
            "datasets.config.USE_PARQUET_EXPORT = False\n"
            "folder = sys.argv[1]\n"
            "local = datasets.load_dataset(folder, split='train')\n"
            "remote = datasets.load_dataset('me/lintseq-humaneval', split='train')\n"
            "key = lambda row: row['id']\n"
            "assert sorted(local.to_list(), key=key) == sorted(remote.to_list(), key=key), 'rows differ'\n"
            "streamed = list(datasets.load_dataset('me/lintseq-humaneval', split='train', streaming=True))\n"
            "assert sorted(streamed, key=key) == sorted(local.to_list(), key=key), 'streamed rows differ'\n"
            "from huggingface_hub import DatasetCard\n"
            "card = DatasetCard.load('me/lintseq-humaneval')\n"
            "assert 'configs' in card.data.to_dict(), 'card metadata lost'\n"
            "assert 'me/lintseq-humaneval' in card.text, 'the examples do not name the repository'\n"
            "print('rows', remote.num_rows)\n"
        )
        loaded = subprocess.run([sys.executable, "-c", check, str(folder)], env=environment, capture_output=True,
                                text=True, timeout=300)
        assert loaded.returncode == 0, loaded.stderr[-2000:]
        assert loaded.stdout.startswith("rows ")
        # The pushed dataset is a valid SOURCE for lintseq generate, read from the same endpoint.
        regenerated = subprocess.run(
            [sys.executable, "-m", "hub_tools.cli", "generate", "me/lintseq-humaneval", "--output-dir",
             str(tmp_path / "from-hub"), "--sampler", "random", "--no-progress"],
            env=environment, capture_output=True, text=True, timeout=300)
        assert regenerated.returncode == 0, regenerated.stderr[-2000:]
        assert "source: me/lintseq-humaneval (split train)" in regenerated.stderr
        assert "random: 8 rows from 8 programs" in regenerated.stdout
        # A subset (the pushed card's baseline config) and a folder of the repository, as load_dataset takes them.
        for option, value in (("--subset", "baseline"), ("--data-dir", "data/baseline")):
            part = subprocess.run(
                # The baseline's completion is the whole program; the default config's is an edit sequence,
                # which is not Python: reading the wrong part gives no row.
                [sys.executable, "-m", "hub_tools.cli", "generate", "me/lintseq-humaneval", option, value,
                 "--prompt-field", "instruction", "--code-field", "completion",
                 "--output-dir", str(tmp_path / f"from-hub{option}"), "--sampler", "random", "--no-progress"],
                env=environment, capture_output=True, text=True, timeout=300)
            assert part.returncode == 0, part.stderr[-2000:]
            name = option.removeprefix("--").replace("-", "_")
            assert f"source: me/lintseq-humaneval ({name} {value}, split train)" in part.stderr
            rows = datasets_rows(tmp_path / f"from-hub{option}")
            assert len(rows) == 8 and {row["program"] for row in rows} == set(programs_of(folder)), option
            card = (tmp_path / f"from-hub{option}" / "README.md").read_text()
            assert f"lintseq generate me/lintseq-humaneval --output-dir from-hub{option}" in card
            assert f"{option} {value}" in card and "source_datasets:\n- me/lintseq-humaneval" in card
        # A fresh cache: otherwise datasets falls back on the copy the owner just downloaded.
        anonymous = dict(environment, HF_HOME=str(tmp_path / "anonymous-home"))
        anonymous.pop("HF_TOKEN")
        denied = subprocess.run([sys.executable, "-c", "import datasets; datasets.load_dataset('me/lintseq-humaneval')"],
                                env=anonymous, capture_output=True, text=True, timeout=300)
        assert denied.returncode != 0 and "cannot be accessed" in denied.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
