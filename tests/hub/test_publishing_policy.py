"""The publishing policy against careless and hostile folders: nothing leaves that is not in the folder.

Every case is pushed through ``lintseq push`` (in-process, as the command line runs it) at the test Hub
server: the refusals must come before any request, in one line that names the file.
"""

from __future__ import annotations

import os
import shutil

import pytest

from hub_tools.cli import main as lintseq
from hub_tools.errors import UserError
from hub_tools.hub import push_dataset, push_model
from hub_tools.hub.folder_policy import scan_folder

SECRET = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"  # shaped like a real Hugging Face token


def _push(capsys, *argv) -> tuple[int, str, str]:
    code = lintseq(["push", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("lintseq push: error: "), err
    return err


def _stored(hub, repo_type: str, repo_id: str) -> dict[str, bytes]:
    tree = hub.store.tree(repo_type, repo_id, "main")
    return {path: hub.store.read_object(entry.sha256) for path, entry in tree.items()}


@pytest.fixture
def token_file(tmp_path):
    """A credential outside the folder, like ~/.cache/huggingface/token."""
    path = tmp_path / "home" / ".cache" / "huggingface" / "token"
    path.parent.mkdir(parents=True)
    path.write_text(SECRET)
    return path


# -- symbolic links ----------------------------------------------------------------------------------------

def test_file_link_out_of_a_dataset_folder_is_refused_naming_link_and_target(hub, dataset_folder, token_file,
                                                                             capsys):
    (dataset_folder / "data" / "lintseq" / "notes.txt").symlink_to(token_file)
    code, out, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    line = _one_line_error(code, err)
    assert "data/lintseq/notes.txt is a symbolic link to" in line and str(token_file) in line
    assert "outside the folder" in line and SECRET not in out + err
    assert hub.requests == []


def test_directory_link_out_of_a_dataset_folder_is_refused(hub, dataset_folder, token_file, capsys):
    (dataset_folder / "extra").symlink_to(token_file.parent, target_is_directory=True)
    code, _, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    line = _one_line_error(code, err)
    assert "extra is a symbolic link to" in line and str(token_file.parent) in line
    assert hub.requests == []


@pytest.mark.parametrize("name", ["vocab.txt", "merges.txt", "chat_template.jinja", "model.safetensors"])
def test_model_files_linked_out_of_the_folder_are_refused(hub, tiny_model_folder, tmp_path, token_file, name,
                                                          make_model_copy, capsys):
    folder = make_model_copy(tiny_model_folder, tmp_path / "model")
    (folder / name).unlink(missing_ok=True)
    (folder / name).symlink_to(token_file)
    code, _, err = _push(capsys, "model", str(folder), "--repo-id", "alice/model")
    line = _one_line_error(code, err)
    assert f"{name} is a symbolic link to {token_file}, outside the folder" in line
    assert hub.requests == []


def test_links_inside_the_folder_are_published_with_their_targets_content(hub, dataset_folder, capsys):
    shards = dataset_folder / "data" / "lintseq"
    (dataset_folder / "notes").mkdir()
    (dataset_folder / "notes" / "about.txt").write_text("generated from HumanEval\n")
    (dataset_folder / "ABOUT.txt").symlink_to("notes/about.txt")  # a file link, relative target
    (dataset_folder / "mirror").symlink_to(shards, target_is_directory=True)  # a folder link, absolute target

    code, out, _ = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits", "--dry-run")
    assert code == 0
    assert "link to notes/about.txt" in out and "mirror/train-00000-of-00002.parquet" in out
    push_dataset(dataset_folder, "alice/edits")
    stored = _stored(hub, "dataset", "alice/edits")
    assert stored["ABOUT.txt"] == b"generated from HumanEval\n" == stored["notes/about.txt"]
    assert stored["mirror/train-00001-of-00002.parquet"] == (shards / "train-00001-of-00002.parquet").read_bytes()


def test_a_link_loop_a_broken_link_and_a_link_to_a_hidden_file_are_refused(hub, dataset_folder, capsys):
    (dataset_folder / ".env").write_text(f"HF_TOKEN={SECRET}\n")
    (dataset_folder / "data" / "loop").symlink_to("..", target_is_directory=True)
    (dataset_folder / "gone.txt").symlink_to("nowhere.txt")
    (dataset_folder / "settings.txt").symlink_to(".env")

    code, out, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits", "--dry-run")
    assert code == 2 and SECRET not in out + err
    assert "refused (3)" in out
    assert "data/loop  is a symbolic link to ., a folder that contains it (a loop)" in out
    assert "gone.txt  is a broken symbolic link (to nowhere.txt)" in out
    assert "settings.txt  is a symbolic link to .env, a hidden file" in out
    assert "card: not rendered until the refused files are fixed" in out
    assert "(and 2 more problem(s): --dry-run lists them)" in _one_line_error(code, err)
    assert hub.requests == []


def test_a_file_swapped_for_a_link_after_planning_is_not_read(dataset_folder, token_file):
    from hub_tools.hub.conversion import materialize
    from hub_tools.hub.upload_plan import plan_dataset_upload

    plan = plan_dataset_upload(dataset_folder)
    planned = next(item for item in plan.files if item.path_in_repo == "lintseq_config.json")
    planned.source.unlink()
    planned.source.symlink_to(token_file)
    with pytest.raises(UserError, match="changed while pushing"):
        materialize(planned)


# -- names -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, shown", [
    ("x\\..\\..\\evil", "backslash"),
    ("line\nbreak.txt", "control character ('\\n')"),
    ("bell\x07.txt", "control character ('\\x07')"),
    ("c:notes.txt", "Windows drive"),
    (os.fsdecode(b"caf\xe9.txt"), "not valid UTF-8"),
])
def test_names_the_hub_cannot_serve_back_are_refused(hub, dataset_folder, capsys, name, shown):
    (dataset_folder / name).write_text("payload")
    code, _, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    line = _one_line_error(code, err)
    assert shown in line and "rename it" in line
    assert hub.requests == []


def test_a_model_folder_with_a_bad_name_is_refused_too(hub, tiny_model_folder, tmp_path, make_model_copy):
    folder = make_model_copy(tiny_model_folder, tmp_path / "model")
    (folder / "checkpoint-1").mkdir()
    (folder / "checkpoint-1" / "a\\b").write_text("x")
    with pytest.raises(UserError, match=r"checkpoint-1/a\\b the name has a backslash"):
        push_model(folder, "alice/model")


# -- secrets and large files -------------------------------------------------------------------------------

def test_secret_looking_and_large_files_are_held_back_until_included(hub, dataset_folder, capsys):
    for name in ("secrets.json", "id_rsa", "api_key.txt", "hf_token", "prod.env"):
        (dataset_folder / name).write_text("x")
    (dataset_folder / "notes.txt").write_text(f"remember: {SECRET}\n")
    (dataset_folder / "dump.tar.gz").write_bytes(os.urandom(11_000_000))
    (dataset_folder / ".env").write_text("HIDDEN=1")

    code, out, _ = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits", "--dry-run")
    assert code == 0
    assert "held back (7), uploaded only with --include:" in out
    assert "secrets.json  (looks like a secret (secrets.json); --include secrets.json uploads it)" in out
    assert "notes.txt  (contains what looks like a Hugging Face token" in out
    assert "dump.tar.gz  (large (11 MB) and not weights, data or a tokenizer" in out
    assert ".env  (hidden file)" in out

    code, out, _ = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    assert code == 0 and "held back 7 file(s) that look like secrets or are unexpectedly large" in out
    stored = _stored(hub, "dataset", "alice/edits")
    assert not {"secrets.json", "id_rsa", "api_key.txt", "hf_token", "prod.env", "notes.txt", "dump.tar.gz",
                ".env"} & set(stored)
    assert all(SECRET.encode() not in content for content in stored.values())

    code, _, _ = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits", "--include", "dump.*")
    assert code == 0 and "dump.tar.gz" in _stored(hub, "dataset", "alice/edits")


def test_tokenizer_files_and_large_weights_are_not_taken_for_secrets(tiny_model_folder):
    scan = scan_folder(tiny_model_folder)
    assert scan.refused == []
    from hub_tools.hub.upload_plan import plan_model_upload

    plan = plan_model_upload(tiny_model_folder)
    assert plan.held_back == [] and plan.refused == []
    assert {"tokenizer.json", "tokenizer_config.json", "model.safetensors"} <= {p.path_in_repo for p in plan.files}


_TOO_LONG = b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 9999]}}'


# -- broken data and weights -------------------------------------------------------------------------------

def test_a_non_parquet_shard_is_one_line_before_any_request(hub, dataset_folder, capsys):
    (dataset_folder / "data" / "lintseq" / "train-00001-of-00002.parquet").write_text("id,program\n1,pass\n")
    code, _, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    line = _one_line_error(code, err)
    assert "train-00001-of-00002.parquet is not a readable Parquet file" in line and "lintseq generate" in line
    assert hub.requests == []


def test_a_truncated_parquet_shard_is_refused(hub, dataset_folder):
    shard = dataset_folder / "data" / "baseline" / "train-00000-of-00002.parquet"
    shard.write_bytes(shard.read_bytes()[:-20])
    with pytest.raises(UserError, match=r"train-00000-of-00002\.parquet is not a readable Parquet file"):
        push_dataset(dataset_folder, "alice/edits")


@pytest.mark.parametrize("header, shown", [
    (b"\xff" * 8, "header length"),
    ((5).to_bytes(8, "little") + b"{oops", "header is not JSON"),
    (len(_TOO_LONG).to_bytes(8, "little") + _TOO_LONG, "tensor 'w' does not fit the file"),
])
def test_a_broken_safetensors_header_is_one_line(hub, tiny_model_folder, tmp_path, make_model_copy, capsys,
                                                 header, shown):
    folder = make_model_copy(tiny_model_folder, tmp_path / "model")
    (folder / "model.safetensors").write_bytes(header + b"\0" * 64)
    code, _, err = _push(capsys, "model", str(folder), "--repo-id", "alice/model")
    line = _one_line_error(code, err)
    assert "model.safetensors has a broken safetensors header" in line and shown in line
    assert hub.requests == []


def test_a_non_ascii_token_is_one_line_that_does_not_show_it(hub, dataset_folder, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_ÅbcSECRETtoken")
    code, out, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    line = _one_line_error(code, err)
    assert "token" in line and "copy it again" in line and "SECRET" not in out + err
    assert hub.requests == []


def test_shipped_folder_is_refused_as_a_whole_when_copied_with_its_links(hub, dataset_folder, tmp_path, token_file):
    """``cp -r`` keeps links: the copy of a folder with an outside link is refused the same way."""
    (dataset_folder / "notes.txt").symlink_to(token_file)
    copy = tmp_path / "copy"
    shutil.copytree(dataset_folder, copy, symlinks=True)
    with pytest.raises(UserError, match=r"notes\.txt is a symbolic link to .*, outside the folder"):
        push_dataset(copy, "alice/edits", dry_run=False)


def test_a_card_linked_out_of_the_folder_is_never_read(hub, dataset_folder, tmp_path, capsys):
    """The card is read (and rendered) before planning: the check must come first."""
    outside = tmp_path / "private-notes.md"
    outside.write_text(f"---\nconfigs: []\n---\nmy token is {SECRET}\n")
    (dataset_folder / "README.md").unlink()
    (dataset_folder / "README.md").symlink_to(outside)
    code, out, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits", "--dry-run")
    assert code == 2 and "README.md  is a symbolic link to" in out and SECRET not in out + err
    assert hub.requests == []


def test_a_fifo_in_the_folder_is_left_out_without_blocking(dataset_folder, capsys):
    os.mkfifo(dataset_folder / "pipe")  # reading it would wait forever for a writer
    code, out, _ = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits", "--dry-run")
    assert code == 0 and "pipe  (not a regular file (a FIFO, socket or device))" in out


def test_a_card_holding_a_token_is_held_back_with_a_clear_line(hub, dataset_folder, capsys):
    card = dataset_folder / "README.md"
    card.write_text(card.read_text() + f"\nAccess with {SECRET}\n")
    code, out, err = _push(capsys, "dataset", str(dataset_folder), "--repo-id", "alice/edits")
    line = _one_line_error(code, err)
    assert "README.md: the card contains what looks like a Hugging Face token" in line and SECRET not in out + err
    assert "--include README.md" in line  # how to go on
    assert hub.requests == []


def test_a_hard_link_to_the_token_is_held_back_by_its_content(hub, dataset_folder, token_file):
    """A hard link is an ordinary file to the walk: what gives it away is the token inside."""
    os.link(token_file, dataset_folder / "notes.txt")
    result = push_dataset(dataset_folder, "alice/edits")
    assert dict(result.plan.held_back)["notes.txt"].startswith("contains what looks like a Hugging Face token")
    assert "notes.txt" not in _stored(hub, "dataset", "alice/edits")


def test_a_relative_link_out_of_the_folder_names_where_it_really_goes(dataset_folder, token_file):
    relative = os.path.relpath(token_file, dataset_folder / "data")
    (dataset_folder / "data" / "notes.txt").symlink_to(relative)
    with pytest.raises(UserError) as error:
        push_dataset(dataset_folder, "alice/edits")
    assert f"data/notes.txt is a symbolic link to {relative} ({token_file}), outside the folder" in str(error.value)
