"""Hostile folders and servers against a push: what the card reads, what is scanned, what is sent, what is shown.

Each test reproduces an attack that once worked: a card rendered from a hidden link out of the folder, a
FIFO that hung the push, a token echoed by a server and cut in half before redaction, a token past the
first megabyte of a log, a planned file swapped for a link to a secret before the upload read it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.errors import UserError
from hub_tools.hub import push_dataset, push_model

SECRET = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"  # 46 characters, shaped like a real token
MARKER = "OUTSIDE_THE_FOLDER_7c1e"


def _stored(hub, repo_type: str, repo_id: str) -> dict[str, bytes]:
    tree = hub.store.tree(repo_type, repo_id, "main")
    return {path: hub.store.read_object(entry.sha256) for path, entry in tree.items()}


def _within(seconds: float, call):
    """Run ``call`` in a thread; fail (instead of hanging the suite) when it has not returned in time."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a FIFO?)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _stale_card(folder: Path) -> None:
    """Make ``lintseq_config.json`` newer than the card, so the push renders the card again."""
    later = (folder / "README.md").stat().st_mtime + 10
    os.utime(folder / "lintseq_config.json", (later, later))


# -- the card reads only what is published -----------------------------------------------------------------

def test_a_hidden_shard_linked_out_of_the_folder_never_reaches_the_card(hub, dataset_folder, make_rows, tmp_path):
    rows = [dict(row, id=f"{MARKER}/{index}", instruction=f"{MARKER} {row['instruction']}",
                 program=f"# {MARKER}\n{row['program']}") for index, row in enumerate(make_rows(12))]
    outside = tmp_path / "elsewhere" / "secret.parquet"
    outside.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), outside)
    (dataset_folder / "data" / "lintseq" / ".a.parquet").symlink_to(outside)
    _stale_card(dataset_folder)

    dry = push_dataset(dataset_folder, "alice/hx", dry_run=True)
    assert MARKER not in dry.plan.card
    push_dataset(dataset_folder, "alice/hx")
    stored = _stored(hub, "dataset", "alice/hx")
    assert not any(MARKER.encode() in content for content in stored.values())
    assert MARKER not in (dataset_folder / "README.md").read_text()


def test_a_fifo_named_like_a_shard_does_not_hang_the_push(hub, dataset_folder):
    os.mkfifo(dataset_folder / "data" / "lintseq" / "zz.parquet")  # opening it waits forever for a writer
    _stale_card(dataset_folder)
    dry = _within(30, lambda: push_dataset(dataset_folder, "alice/hx", dry_run=True))
    assert "zz.parquet" not in dry.plan.card
    result = _within(30, lambda: push_dataset(dataset_folder, "alice/hx"))
    assert result.committed and "data/lintseq/zz.parquet" not in _stored(hub, "dataset", "alice/hx")


def test_a_fifo_or_hidden_link_beside_the_weights_is_not_read_for_the_card(tiny_model_folder, tmp_path,
                                                                            make_model_copy):
    from hub_tools.hub.cards import describe_architecture

    folder = make_model_copy(tiny_model_folder, tmp_path / "model")
    expected = describe_architecture(folder)["parameters"]
    os.mkfifo(folder / "extra.safetensors")
    (folder / ".more.safetensors").symlink_to(tiny_model_folder / "model.safetensors")
    assert _within(30, lambda: describe_architecture(folder))["parameters"] == expected
    result = _within(30, lambda: push_model(folder, "alice/tiny", dry_run=True))
    assert "extra.safetensors" not in [planned.path_in_repo for planned in result.plan.files]


# -- a token echoed by a server ----------------------------------------------------------------------------

def _longest_piece_shown(text: str, token: str) -> int:
    return max((length for length in range(1, len(token) + 1)
                for start in range(len(token) - length + 1) if token[start:start + length] in text), default=0)


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_a_server_echoing_the_token_never_gets_it_printed_even_cut(status):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    from hub_tools.hub.auth import hub_errors

    # The token starts at character 243: a cut at 300 characters after redaction would keep 45 of its 46.
    echo = "x" * 243 + f" Authorization: Bearer {SECRET} was refused"
    response = httpx2.Response(status, headers={"X-Error-Message": echo},
                               request=httpx2.Request("POST", "http://127.0.0.1:1/api/repos/create"))
    with pytest.raises(UserError) as error, hub_errors(endpoint="http://127.0.0.1:1", repo_id="alice/hx",
                                                       repo_type="dataset", token=SECRET):
        raise HfHubHTTPError("refused", response=response)
    assert _longest_piece_shown(str(error.value), SECRET) <= 7, str(error.value)


def test_a_network_error_holding_the_token_is_redacted_before_it_is_cut():
    from hub_tools.hub.auth import hub_errors

    with pytest.raises(UserError) as error, hub_errors(endpoint="http://127.0.0.1:1", repo_id="alice/hx",
                                                       repo_type="dataset", token=SECRET):
        raise ConnectionError("y" * 170 + f" proxy said: token={SECRET}")
    assert _longest_piece_shown(str(error.value), SECRET) <= 7, str(error.value)


def test_a_server_cutting_the_token_itself_or_echoing_another_token_shows_neither():
    from hub_tools.hub.auth import redact

    other = "hf_zZyYxXwWvVuUtTsSrRqQpP0987654321"
    text = redact(f"bad token {SECRET[:30]}; also tried {other} and ...{SECRET[-20:]}", SECRET)
    assert _longest_piece_shown(text, SECRET) <= 7 and _longest_piece_shown(text, other) <= 3, text
    assert redact("dataset repository alice/edits", "hf_alice_SECRET_4f9c2b7e1d") == "dataset repository alice/edits"
    # Words shaped a little like a token stay: the tool's own advice, a repository name.
    plain = "check the network or HF_ENDPOINT; pushing to me/hf_humaneval_lintseq"
    assert redact(plain, SECRET) == plain


# -- every byte is scanned for tokens ----------------------------------------------------------------------

def test_a_token_at_the_end_of_a_large_log_is_held_back(hub, dataset_folder):
    log = dataset_folder / "nohup.out"
    log.write_bytes(b"step 1 loss 0.5\n" * 93_750 + f"export HF_TOKEN={SECRET}\n".encode())  # 1.5 MB
    result = push_dataset(dataset_folder, "alice/hx")
    assert dict(result.plan.held_back)["nohup.out"].startswith("contains what looks like a Hugging Face token")
    assert "nohup.out" not in _stored(hub, "dataset", "alice/hx")


def test_a_token_across_a_chunk_border_is_found(tmp_path, monkeypatch):
    from hub_tools.hub import folder_policy

    monkeypatch.setattr(folder_policy, "TOKEN_SCAN_CHUNK", 1000)
    for offset in range(980, 1001, 5):  # the token starts just before, at and after the border
        path = tmp_path / f"log-{offset}.txt"
        path.write_bytes(b"." * offset + SECRET.encode() + b"\n" + b"." * 3000)
        assert folder_policy.secret_in(path) == "a Hugging Face token", offset
    (tmp_path / "clean.txt").write_bytes(b"hf_short " * 2000)
    assert folder_policy.secret_in(tmp_path / "clean.txt") is None


# Shaped like each service's credential (made up here, valid for nothing), and text a little like them.
CREDENTIALS = {
    "a private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "an AWS access key id": "aws_access_key_id = AKIAZ7XQ4PLM2WNB5TRE",
    "a GitHub token": "git clone https://ghp_" + "k3Jq9ZpLmN4xVbC7yT2wRs5dUe8fHgA1iO6a" + "@github.com/me/x",
    "an OpenAI API key": "OPENAI_API_KEY=sk-proj-" + "Ab12Cd34Ef56Gh78Ij90" + "T3BlbkFJ" + "Kl12Mn34Op56Qr78St90",
    "a Slack token": "SLACK=xoxb-" + "123456789012-" + "AbCdEfGhIjKlMnOp",
    "a Google API key": "key=AIza" + "SyB1c2D3e4F5g6H7i8J9k0L1m2N3o4P5q6R",
}
NOT_CREDENTIALS = [
    "-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----", "AKIA is a prefix", "akiaz7xq4plm2wnb5tre",
    "ghp_short", "sk-this-is-not-a-key", "xoxb-", "AIza", "tokenizer.json holds the vocabulary",
]


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_other_credentials_in_a_file_are_held_back_by_kind(hub, dataset_folder, kind):
    # Only Hugging Face tokens were looked for: a deploy key or an AWS key in notes was uploaded.
    (dataset_folder / "notes.txt").write_text(f"setup:\n{CREDENTIALS[kind]}\ndone\n")
    result = push_dataset(dataset_folder, "alice/hx")
    assert dict(result.plan.held_back)["notes.txt"].startswith(f"contains what looks like {kind}")
    assert "notes.txt" not in _stored(hub, "dataset", "alice/hx")


def test_text_a_little_like_a_credential_is_not_held_back(tmp_path):
    from hub_tools.hub import folder_policy

    path = tmp_path / "notes.txt"
    path.write_text("\n".join(NOT_CREDENTIALS))
    assert folder_policy.secret_in(path) is None


# -- what was checked is what is sent -----------------------------------------------------------------------

@pytest.fixture
def outside_secret(tmp_path) -> Path:
    path = tmp_path / "home" / "secret.txt"
    path.parent.mkdir()
    path.write_text(f"{MARKER} {SECRET}\n")
    return path


def _swap_when(monkeypatch, hook: str, target: Path, swap) -> None:
    """Call ``swap(target)`` once, when the push reaches ``publish.<hook>`` (after planning)."""
    from hub_tools.hub import publish

    original = getattr(publish, hook)

    def swapped(*args, **kwargs):
        if target.exists() and not target.is_symlink() and target.stat().st_nlink == 1:
            swap(target)
        return original(*args, **kwargs)

    monkeypatch.setattr(publish, hook, swapped)


def _link(secret: Path):
    def swap(target: Path) -> None:
        target.unlink()
        target.symlink_to(secret)
    return swap


def _hard_link(secret: Path):
    def swap(target: Path) -> None:
        target.unlink()
        os.link(secret, target)
    return swap


@pytest.mark.parametrize("make_swap", [_link, _hard_link], ids=["symlink", "hard link"])
def test_a_file_swapped_between_the_check_and_the_upload_does_not_send_the_secret(
        hub, dataset_folder, outside_secret, monkeypatch, make_swap):
    planned = dataset_folder / "lintseq_config.json"
    original = planned.read_bytes()
    # After every file was opened for the upload, while the push compares them with the Hub.
    _swap_when(monkeypatch, "_progress_over", planned, make_swap(outside_secret))
    push_dataset(dataset_folder, "alice/hx")
    stored = _stored(hub, "dataset", "alice/hx")
    assert stored["lintseq_config.json"] == original
    assert not any(MARKER.encode() in content for content in stored.values())


@pytest.mark.parametrize("make_swap", [_link, _hard_link], ids=["symlink", "hard link"])
def test_a_file_swapped_after_planning_is_refused_naming_it(hub, dataset_folder, outside_secret, monkeypatch,
                                                            make_swap):
    planned = dataset_folder / "lintseq_config.json"
    # After the plan and the token check, before the files are opened for the upload.
    _swap_when(monkeypatch, "_progress", planned, make_swap(outside_secret))
    with pytest.raises(UserError) as error:
        push_dataset(dataset_folder, "alice/hx")
    assert str(error.value).count("\n") == 0 and "lintseq_config.json changed while pushing" in str(error.value)
    assert not any(record.method in ("PUT", "POST") and ("/commit/" in record.path or "/upload" in record.path)
                   for record in hub.requests)


# -- --private on an existing public repository ------------------------------------------------------------

def test_private_on_an_existing_public_repository_warns_that_it_stays_public(hub, dataset_folder, capsys):
    from hub_tools.cli import main as lintseq

    push_dataset(dataset_folder, "alice/hx")
    (dataset_folder / "notes.txt").write_text("a change, so the push commits\n")
    assert lintseq(["push", "dataset", str(dataset_folder), "--repo-id", "alice/hx", "--private"]) == 0
    out = capsys.readouterr().out
    assert "warning: alice/hx already existed and is public: it stays public" in out
    assert not hub.store.is_private("dataset", "alice/hx")

    fresh = push_dataset(dataset_folder, "alice/fresh", private=True)
    assert hub.store.is_private("dataset", "alice/fresh") and fresh.warnings == []
    assert push_dataset(dataset_folder, "alice/hx").warnings == []  # no --private, nothing to say


def test_more_files_than_the_soft_open_file_limit(hub, make_rows, make_dataset_folder, tmp_path):
    """Every planned file stays open from its check to the commit: a folder of more shards than the soft limit
    of open files (1,024 on most systems) failed as if each file had changed."""
    import resource

    folder = make_dataset_folder(tmp_path / "many", make_rows(150), shards=150)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (100, hard))
    try:
        result = push_dataset(folder, "alice/many")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]), hard))
    stored = _stored(hub, "dataset", "alice/many")
    assert result.committed and sum(path.endswith(".parquet") for path in stored) == 300  # two configs


@pytest.mark.parametrize("repo_id", ["alice/typo..", "alice/a b", "alice/.."])
def test_an_invalid_repo_id_is_refused_before_the_card_is_written(hub, dataset_folder, repo_id):
    """A typo'd id wrote the folder's card naming it, then failed with the client's traceback; a later push to
    the right id took that card for a hand-edited one and published `load_dataset("alice/typo..")`."""
    _stale_card(dataset_folder)
    card = (dataset_folder / "README.md").read_text()
    with pytest.raises(UserError, match="is not a valid repository id"):
        push_dataset(dataset_folder, repo_id)
    assert (dataset_folder / "README.md").read_text() == card


def test_credentials_in_the_endpoint_are_never_printed(dataset_folder, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_TOKEN", SECRET)
    with pytest.raises(UserError) as refused:
        push_dataset(dataset_folder, "alice/hx", endpoint=f"http://bob:s3cret-pass@127.0.0.1:{port}")
    assert "s3cret-pass" not in str(refused.value) and "cannot reach the Hub" in str(refused.value)


def test_a_folder_pushed_to_two_repositories_names_each_in_its_card(hub, dataset_folder):
    """The stale card was saved naming the first repository; the push to the second took it for a card edited
    by hand and published `load_dataset("alice/first")` there."""
    _stale_card(dataset_folder)
    push_dataset(dataset_folder, "alice/first")
    push_dataset(dataset_folder, "alice/second")
    second = _stored(hub, "dataset", "alice/second")["README.md"].decode()
    assert "alice/second" in second and "alice/first" not in second
    assert "alice/first" in _stored(hub, "dataset", "alice/first")["README.md"].decode()


def test_a_successful_push_report_shows_no_endpoint_credentials(dataset_folder):
    from hub_tools.hub.publish import PushResult
    from hub_tools.hub.upload_plan import UploadPlan

    result = PushResult("alice/hx", "dataset", UploadPlan("dataset", dataset_folder), dry_run=False,
                        committed=True, commit_url="https://bob:s3cret-pass@proxy.example/datasets/alice/hx/commit/1")
    assert "s3cret-pass" not in result.report() and "proxy.example/datasets/alice/hx/commit/1" in result.report()
