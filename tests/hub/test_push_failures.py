"""A push interrupted from outside: the server dies or hangs mid-upload, the push is killed with SIGKILL.

Each ends in one line (or completes), in bounded time, and leaves nothing behind on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub_tools.cli import main as lintseq
from hub_tools.hub import connection, push_model

ALICE_TOKEN = "hf_alice_SECRET_4f9c2b7e1d"


def test_a_server_that_dies_mid_upload_is_one_line_within_the_bound(hub, tiny_model_folder, capsys, monkeypatch):
    monkeypatch.setattr(connection, "GIVE_UP_AFTER_SECONDS", 2.0)
    hub.die_on("PUT", r"^/lfs-objects/")  # the weights' upload: whoami, repository and preupload went through
    started = time.monotonic()
    code = lintseq(["push", "model", str(tiny_model_folder), "--repo-id", "alice/model"])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1, captured.err
    assert "stopped answering during the push of alice/model" in captured.err
    assert "run the same command again" in captured.err and "Traceback" not in captured.err
    assert ALICE_TOKEN not in captured.out + captured.err
    # Without the bound the client alone retries for about 23 s per request; a generous ceiling, not a timing.
    assert elapsed < 20, elapsed
    assert [record.status for record in hub.requests if record.path.startswith("/lfs-objects/")] == [0]


def test_a_hung_request_times_out_and_is_retried(hub, dataset_folder, monkeypatch):
    monkeypatch.setattr(connection, "READ_TIMEOUT_SECONDS", 1.0)
    held = hub.hold_next("POST", r"/preupload/")
    try:
        from hub_tools.hub import push_dataset

        result = push_dataset(dataset_folder, "alice/edits")
    finally:
        held.release.set()
    assert held.reached.is_set() and result.committed
    assert sum(1 for record in hub.requests if "/preupload/" in record.path) >= 1
    assert len(hub.commits("dataset", "alice/edits")) == 2


def test_the_client_session_is_restored_after_a_push(hub, dataset_folder):
    from huggingface_hub.utils import _http

    before = _http._GLOBAL_CLIENT_FACTORY
    from hub_tools.hub import push_dataset

    push_dataset(dataset_folder, "alice/edits")
    assert _http._GLOBAL_CLIENT_FACTORY is before


def _listing(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_size for path in folder.rglob("*")}


def test_kill_9_mid_push_leaves_no_staging_folder(hub, tiny_model_folder, tmp_path, make_model_copy):
    """A .bin checkpoint is converted on the way: the converted weights have no name on disk."""
    folder = make_model_copy(tiny_model_folder, tmp_path / "tinycodelm-old", as_bin=True)
    before = _listing(folder)
    temporary = tmp_path / "tmpdir"
    temporary.mkdir()
    held = hub.hold_next("POST", r"/commit/")  # the conversion is done and uploaded; the commit hangs
    env = dict(os.environ, TMPDIR=str(temporary), HF_ENDPOINT=hub.url, HF_TOKEN=ALICE_TOKEN,
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    process = subprocess.Popen([sys.executable, "-m", "hub_tools.cli", "push", "model", str(folder),
                                "--repo-id", "alice/killed"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert held.reached.wait(timeout=120), process.communicate(timeout=5)
        # Mid-push, with the converted weights open in the process, nothing has a name in TMPDIR.
        assert list(temporary.iterdir()) == []
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        held.release.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert list(temporary.iterdir()) == []
    assert _listing(folder) == before  # nothing written into the folder either
    # The next push is not disturbed by the killed one.
    push_model(folder, "alice/killed")
    assert "model.safetensors" in hub.store.tree("model", "alice/killed", "main")


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_failing_for_longer_than_the_bound_ends_the_push(hub, dataset_folder, monkeypatch, status):
    from hub_tools.errors import UserError
    from hub_tools.hub import push_dataset

    monkeypatch.setattr(connection, "GIVE_UP_AFTER_SECONDS", 1.5)
    hub.fail_next("POST", r"/preupload/", status=status, count=100)
    with pytest.raises(UserError, match=rf"stopped answering during the push .*HTTP {status}"):
        push_dataset(dataset_folder, "alice/edits")
    assert sum(1 for record in hub.requests if "/preupload/" in record.path) < 6  # the client alone makes 6
