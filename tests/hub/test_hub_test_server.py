"""The Hub-protocol test server, checked through the real clients and plain HTTP."""

from __future__ import annotations

import json
import socket
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

from hub_tools.hub_test_server import HubTestServer, User
from hub_tools.hub_test_server.store import git_blob_oid

ALICE_TOKEN = "hf_alice_SECRET_4f9c2b7e1d"


def _request(url: str, *, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def populated(hub, tmp_path):
    """A model repository with a small regular file, an LFS file and a nested folder."""
    folder = tmp_path / "files"
    (folder / "nested" / "deeper").mkdir(parents=True)
    (folder / "notes.txt").write_text("hello hub\n")
    (folder / "weights.safetensors").write_bytes(bytes(range(256)) * 8)
    for index in range(5):
        (folder / "nested" / f"part-{index}.txt").write_text(f"part {index}\n")
    (folder / "nested" / "deeper" / "leaf.txt").write_text("leaf\n")
    api = HfApi(endpoint=hub.url, token=ALICE_TOKEN)
    api.create_repo("alice/files")
    commit = api.upload_folder(repo_id="alice/files", folder_path=folder)
    return api, folder, commit.oid


def test_tree_listing_is_paginated_and_complete(hub, populated):
    api, folder, _ = populated
    listed = sorted(entry.path for entry in api.list_repo_tree("alice/files", recursive=True)
                    if not hasattr(entry, "tree_id"))
    on_disk = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    assert listed == sorted([*on_disk, ".gitattributes"])
    # Page size 3: several pages were followed through Link headers.
    assert sum("/tree/" in record.path for record in hub.requests) > 3
    top = {entry.path for entry in api.list_repo_tree("alice/files", path_in_repo="nested")}
    assert top == {*(f"nested/part-{index}.txt" for index in range(5)), "nested/deeper"}


def test_resolve_answers_head_get_and_ranges_like_the_hub(hub, populated):
    _, folder, sha = populated
    content = (folder / "weights.safetensors").read_bytes()
    url = f"{hub.url}/alice/files/resolve/main/weights.safetensors"
    status, headers, _ = _request(url, method="HEAD")
    assert status == 200 and headers["X-Repo-Commit"] == sha
    assert headers["X-Linked-Size"] == str(len(content)) and headers["Content-Length"] == str(len(content))
    status, headers, body = _request(url, headers={"Range": "bytes=10-19"})
    assert status == 206 and body == content[10:20] and headers["Content-Range"] == f"bytes 10-19/{len(content)}"
    status, _, body = _request(url, headers={"Range": "bytes=-5"})
    assert status == 206 and body == content[-5:]
    status, headers, body = _request(f"{hub.url}/alice/files/resolve/main/notes.txt")
    assert body == b"hello hub\n" and headers["ETag"] == f'"{git_blob_oid(body)}"'
    status, headers, _ = _request(f"{hub.url}/alice/files/resolve/main/missing.txt", method="HEAD")
    assert status == 404 and headers["X-Error-Code"] == "EntryNotFound" and headers["X-Repo-Commit"] == sha


def test_downloads_through_the_client_match(hub, populated, tmp_path):
    from huggingface_hub import hf_hub_download

    _, folder, _ = populated
    path = hf_hub_download("alice/files", "nested/deeper/leaf.txt", cache_dir=tmp_path / "cache")
    assert Path(path).read_text() == "leaf\n"
    path = hf_hub_download("alice/files", "weights.safetensors", cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == (folder / "weights.safetensors").read_bytes()


def test_errors_carry_the_hub_error_codes(hub, populated):
    api, _, _ = populated
    with pytest.raises(RevisionNotFoundError):
        api.repo_info("alice/files", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.repo_info("alice/no-such-repo")
    status, _, body = _request(f"{hub.url}/api/models/alice/files/revision/main",
                                     headers={"Authorization": "Bearer not-a-token"})
    assert status == 401 and json.loads(body)["error"] == "Invalid credentials in Authorization header"
    # An existing repository answers 409 with its URL, which create_repo(exist_ok=True) relies on.
    request = urllib.request.Request(f"{hub.url}/api/repos/create", method="POST",
                                     data=json.dumps({"name": "files", "organization": "alice"}).encode(),
                                     headers={"Authorization": f"Bearer {ALICE_TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 409 and json.loads(error.value.read())["url"].endswith("/alice/files")
    assert api.create_repo("alice/files", exist_ok=True).endswith("/alice/files")


def test_private_repositories_are_invisible_to_others(hub, tmp_path):
    owner = HfApi(endpoint=hub.url, token=ALICE_TOKEN)
    owner.create_repo("lintseq-org/private", private=True)
    assert owner.repo_info("lintseq-org/private").private
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).repo_info("lintseq-org/private")
    status, headers, _ = _request(f"{hub.url}/lintseq-org/private/resolve/main/.gitattributes")
    assert status == 401 and headers["X-Error-Code"] == "RepoNotFound"
    assert owner.file_exists("lintseq-org/private", ".gitattributes")


def test_repositories_survive_a_restart(hub, populated):
    _, _, sha = populated
    # A second server on the same folder (as after a restart) sees everything the first one stored.
    again = HubTestServer(hub.store.root, [User("alice", ALICE_TOKEN)]).start()
    try:
        info = HfApi(endpoint=again.url, token=ALICE_TOKEN).repo_info("alice/files")
        assert info.sha == sha and "nested/deeper/leaf.txt" in {sibling.rfilename for sibling in info.siblings}
    finally:
        again.stop()


def test_a_client_that_hangs_up_mid_upload_leaves_no_traceback_and_the_server_serves_on(hub, capfd):
    host, port = hub.url.removeprefix("http://").split(":")
    for _ in range(3):
        client = socket.create_connection((host, int(port)))
        client.sendall(b"POST /api/models/alice/files/preupload/main HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"files\": [")
        time.sleep(0.1)  # the handler is now reading the body
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset, as from a killed process
    deadline = time.monotonic() + 10
    while len(hub.connections) and time.monotonic() < deadline:  # the handlers have seen the reset
        time.sleep(0.05)
    assert _request(f"{hub.url}/api/whoami-v2", headers={"authorization": f"Bearer {ALICE_TOKEN}"})[0] == 200
    assert "Traceback" not in capfd.readouterr().err
