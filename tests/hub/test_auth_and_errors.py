"""Tokens, access rights and failures: one-line errors that say what to do, and never show the token."""

from __future__ import annotations

import importlib
import logging

import pytest

from hub_tools.cli import main as lintseq
from hub_tools.errors import UserError
from hub_tools.hub import push_dataset, push_model

ALICE_TOKEN = "hf_alice_SECRET_4f9c2b7e1d"
BOB_TOKEN = "hf_bob_SECRET_8a1e6c3f5b"


def _run_cli(capsys, *argv) -> tuple[int, str]:
    code = lintseq(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_no_token(*texts):
    for text in texts:
        assert ALICE_TOKEN not in text and BOB_TOKEN not in text and "SECRET" not in text


def test_no_token_is_a_one_line_error_before_any_request(hub, dataset_folder, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN")
    code, output = _run_cli(capsys, "push", "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    assert code == 2
    assert output.strip().count("\n") == 0
    assert "no Hugging Face token found" in output and "HF_TOKEN" in output and "hf auth login" in output
    assert hub.requests == []


def test_wrong_token_is_rejected_at_whoami_and_never_printed(hub, dataset_folder, monkeypatch, capsys, caplog):
    wrong = "hf_wrong_SECRET_0000000000"
    monkeypatch.setenv("HF_TOKEN", wrong)
    with caplog.at_level(logging.DEBUG):
        code, output = _run_cli(capsys, "push", "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    assert code == 2 and output.strip().count("\n") == 0
    assert "rejected the token (401" in output and "invalid or expired" in output
    assert wrong not in output and wrong not in caplog.text
    # Nothing but the identity check was attempted.
    assert [(record.method, record.path) for record in hub.requests] == [("GET", "/api/whoami-v2")]


def test_pushing_into_someone_elses_namespace_says_what_to_do(hub, dataset_folder, monkeypatch, capsys, caplog):
    monkeypatch.setenv("HF_TOKEN", BOB_TOKEN)
    with caplog.at_level(logging.DEBUG):
        code, output = _run_cli(capsys, "push", "dataset", str(dataset_folder), "--repo-id", "lintseq-org/edits")
    assert code == 2 and output.strip().count("\n") == 0
    assert "403" in output and "write role" in output and "lintseq-org/edits" in output
    _assert_no_token(output, caplog.text)


def test_a_private_repository_of_someone_else_is_not_found_for_the_token(hub, dataset_folder, monkeypatch):
    push_dataset(dataset_folder, "alice/secret-edits", private=True)
    monkeypatch.setenv("HF_TOKEN", BOB_TOKEN)
    with pytest.raises(UserError) as error:
        push_dataset(dataset_folder, "alice/secret-edits", revision="bob-branch")
    message = str(error.value)
    assert "403" in message or "not found" in message
    _assert_no_token(message)


def test_private_repository_read_without_token_or_with_a_wrong_one_fails_clearly(
        hub, dataset_folder, tiny_model_folder, monkeypatch, tmp_path):
    import datasets
    from transformers import AutoModelForCausalLM

    push_dataset(dataset_folder, "alice/secret-edits", private=True)
    push_model(tiny_model_folder, "alice/secret-model", private=True)
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(datasets.exceptions.DatasetNotFoundError, match="doesn't exist on the Hub or cannot be accessed"):
        datasets.load_dataset("alice/secret-edits", "lintseq", cache_dir=str(tmp_path / "anonymous"))
    with pytest.raises(OSError, match="private repository") as error:
        AutoModelForCausalLM.from_pretrained("alice/secret-model", cache_dir=str(tmp_path / "anonymous-models"))
    _assert_no_token(str(error.value))

    wrong = "hf_wrong_SECRET_1111111111"
    with pytest.raises(Exception, match="Invalid credentials") as error:
        datasets.load_dataset("alice/secret-edits", "lintseq", cache_dir=str(tmp_path / "wrong"), token=wrong)
    assert wrong not in str(error.value)
    # The owner reads it.
    rows = datasets.load_dataset("alice/secret-edits", "lintseq", split="train", token=ALICE_TOKEN,
                                 cache_dir=str(tmp_path / "owner"))
    assert rows.num_rows == 12


def test_transient_server_errors_are_retried(hub, dataset_folder):
    hub.fail_next("POST", r"/preupload/", status=500, count=2)
    hub.fail_next("POST", r"/api/datasets/alice/edits/commit/", status=503, count=1)
    result = push_dataset(dataset_folder, "alice/edits")
    assert result.committed
    preuploads = [record.status for record in hub.requests if "/preupload/" in record.path]
    commits = [record.status for record in hub.requests if "/commit/" in record.path]
    assert preuploads[:3] == [500, 500, 200]
    assert commits == [503, 200]
    assert len(hub.commits("dataset", "alice/edits")) == 2  # the initial commit and one push, no duplicate


def test_a_server_that_keeps_failing_gives_a_one_line_error(hub, dataset_folder, capsys):
    hub.fail_next("GET", r"/api/whoami-v2", status=502, count=10)
    code, output = _run_cli(capsys, "push", "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    assert code == 2 and output.strip().count("\n") == 0
    assert "answered 502" in output and "try again later" in output


def test_unreachable_endpoint_names_it(dataset_folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", ALICE_TOKEN)
    with pytest.raises(UserError, match=r"cannot reach the Hub at http://127\.0\.0\.1:9") as error:
        push_dataset(dataset_folder, "alice/edits", endpoint="http://127.0.0.1:9")
    _assert_no_token(str(error.value))


def test_a_server_without_xet_gets_a_hint_instead_of_a_network_error(hub, tiny_model_folder, monkeypatch):
    import huggingface_hub.constants

    # hf_xet comes with huggingface_hub on the usual platforms and is in the dev extra: without it the client
    # would never try Xet and the test would check nothing, so a missing hf_xet fails here.
    importlib.import_module("hf_xet")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", False)
    with pytest.raises(UserError, match="does not offer the Xet upload protocol: set HF_HUB_DISABLE_XET=1"):
        push_model(tiny_model_folder, "alice/xet")
