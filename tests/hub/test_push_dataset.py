"""Push a generated dataset folder through the Hub protocol and read it back with ``datasets``."""

from __future__ import annotations

import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.card import render_dataset_card
from hub_tools.hub import push_dataset


def _local_rows(folder, config):
    tables = [pq.read_table(path) for path in sorted((folder / "data" / config).glob("*.parquet"))]
    return sorted(pa.concat_tables(tables).to_pylist(), key=lambda row: row["id"])


def test_pushed_dataset_loads_back_with_every_config_and_streaming(hub, dataset_folder, tmp_path):
    import datasets

    result = push_dataset(dataset_folder, "lintseq-org/lintseq-humaneval")
    assert result.committed and not result.dry_run
    assert sorted(result.uploaded) == sorted(
        path.relative_to(dataset_folder).as_posix() for path in dataset_folder.rglob("*") if path.is_file())

    for config in ("lintseq", "baseline"):
        loaded = datasets.load_dataset("lintseq-org/lintseq-humaneval", config, split="train",
                                       cache_dir=str(tmp_path / "cache"))
        assert sorted(loaded.to_list(), key=lambda row: row["id"]) == _local_rows(dataset_folder, config)
    streamed = datasets.load_dataset("lintseq-org/lintseq-humaneval", "lintseq", split="train", streaming=True)
    assert sorted(streamed, key=lambda row: row["id"]) == _local_rows(dataset_folder, "lintseq")
    # The default config is the one the card marks default.
    default = datasets.load_dataset("lintseq-org/lintseq-humaneval", split="train", cache_dir=str(tmp_path / "c2"))
    assert default.column_names == list(_local_rows(dataset_folder, "lintseq")[0])


def test_unchanged_repush_makes_no_commit_and_a_changed_one_sends_only_the_difference(hub, dataset_folder, make_rows):
    push_dataset(dataset_folder, "alice/edits")
    commits = len(hub.commits("dataset", "alice/edits"))

    again = push_dataset(dataset_folder, "alice/edits")
    assert not again.committed and again.uploaded == [] and again.deleted == []
    assert len(hub.commits("dataset", "alice/edits")) == commits

    # A teammate's note under data/ is not the push's to delete (it was: every remote file under data/).
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.url).upload_file(path_or_fileobj=b"notes", path_in_repo="data/NOTES.md", repo_id="alice/edits",
                                        repo_type="dataset")
    commits += 1
    # Regenerate the lintseq config with one shard instead of two: one file changes, one becomes stale.
    for path in (dataset_folder / "data" / "lintseq").glob("*.parquet"):
        path.unlink()
    rows = make_rows(12)
    pq.write_table(pa.Table.from_pylist(rows), dataset_folder / "data/lintseq/train-00000-of-00001.parquet")
    uploads_before = sum(record.method == "PUT" for record in hub.requests)
    changed = push_dataset(dataset_folder, "alice/edits", commit_message="one shard")
    assert changed.committed
    assert changed.uploaded == ["data/lintseq/train-00000-of-00001.parquet"]
    assert changed.deleted == ["data/lintseq/train-00000-of-00002.parquet", "data/lintseq/train-00001-of-00002.parquet"]
    assert "data/NOTES.md" in hub.store.tree("dataset", "alice/edits", "main")
    assert "Deleted (files of the kinds this push uploads, not in the folder): data/lintseq/train-00000-of-00002" \
        in changed.report()  # named, not only counted
    assert sum(record.method == "PUT" for record in hub.requests) - uploads_before == 1
    history = hub.commits("dataset", "alice/edits")
    assert len(history) == commits + 1 and history[0]["summary"] == "one shard"
    assert sorted(path for path in history[0]["files"] if path.startswith("data/lintseq/")) == [
        "data/lintseq/train-00000-of-00001.parquet"]


def test_create_pr_opens_a_pull_request_and_leaves_main_alone(hub, dataset_folder):
    from huggingface_hub import HfApi

    push_dataset(dataset_folder, "alice/edits")
    main_before = hub.store.resolve("dataset", "alice/edits", "main")
    (dataset_folder / "lintseq_config.json").write_text('{"sampler": "lintseq"}')
    os.utime(dataset_folder / "lintseq_config.json", (1_700_000_000, 1_700_000_000))
    result = push_dataset(dataset_folder, "alice/edits", create_pr=True)
    assert result.committed and result.pr_url and result.pr_url.endswith("/discussions/1")
    assert hub.store.resolve("dataset", "alice/edits", "main") == main_before
    refs = HfApi().list_repo_refs("alice/edits", repo_type="dataset", include_pull_requests=True)
    assert [ref.ref for ref in refs.pull_requests] == ["refs/pr/1"]
    assert hub.store.tree("dataset", "alice/edits", "refs/pr/1")["lintseq_config.json"].size == len(
        '{"sampler": "lintseq"}')


def test_revision_pushes_to_a_new_branch(hub, dataset_folder):
    push_dataset(dataset_folder, "alice/edits", revision="v2", private=True)
    assert hub.store.is_private("dataset", "alice/edits")
    assert "data/baseline/train-00000-of-00002.parquet" in hub.store.tree("dataset", "alice/edits", "v2")
    assert "data/baseline/train-00000-of-00002.parquet" not in hub.store.tree("dataset", "alice/edits", "main")


def test_stale_card_is_rendered_again_when_the_generator_provides_it(hub, dataset_folder):
    original = (dataset_folder / "README.md").read_text()
    # lintseq_config.json newer than README.md: the card is stale.
    now = time.time()
    os.utime(dataset_folder / "README.md", (now - 100, now - 100))
    os.utime(dataset_folder / "lintseq_config.json", (now, now))
    push_dataset(dataset_folder, "alice/edits")
    stored = hub.store.tree("dataset", "alice/edits", "main")["README.md"]
    pushed = hub.store.read_object(stored.sha256).decode()
    assert pushed != original  # rendered again, not pushed as it was
    assert pushed == render_dataset_card(dataset_folder, repo_id="alice/edits")
    # The folder keeps the card as the generator writes it, naming no repository (the next push names its own).
    assert (dataset_folder / "README.md").read_text() == render_dataset_card(dataset_folder) and "alice/edits" in pushed


def test_generated_card_names_the_repository_and_a_hand_edited_one_is_kept(hub, dataset_folder):
    generated = render_dataset_card(dataset_folder)
    (dataset_folder / "README.md").write_text(generated)  # as `lintseq generate` leaves it

    def pushed_card():
        entry = hub.store.tree("dataset", "alice/edits", "main")["README.md"]
        return hub.store.read_object(entry.sha256).decode()

    plan = push_dataset(dataset_folder, "alice/edits", dry_run=True).plan
    assert "examples naming alice/edits" in plan.describe()
    push_dataset(dataset_folder, "alice/edits")
    assert pushed_card() == render_dataset_card(dataset_folder, repo_id="alice/edits")
    assert (dataset_folder / "README.md").read_text() == generated  # the local card is left alone
    assert not push_dataset(dataset_folder, "alice/edits").committed

    edited = generated + "\nA note of mine.\n"
    (dataset_folder / "README.md").write_text(edited)
    push_dataset(dataset_folder, "alice/edits")
    assert pushed_card() == edited


def test_dry_run_of_a_folder_without_card_shows_the_card_it_would_render(dataset_folder):
    (dataset_folder / "README.md").unlink()
    result = push_dataset(dataset_folder, "alice/edits", dry_run=True)
    assert "README.md" in result.report() and "configs:" in result.plan.card
    assert not (dataset_folder / "README.md").exists()  # a dry run writes nothing


@pytest.mark.parametrize("damage, message", [
    ("no-readme", "has no README.md"),
    ("no-configs", "has no `configs:` list"),
    ("missing-shards", "config 'baseline' points at 'data/baseline/train-*.parquet', which matches no file"),
    ("bad-yaml", "README.md: line 4: the YAML header does not parse"),
])
def test_a_folder_that_would_not_load_is_refused_before_any_request(hub, tmp_path, damage, message, make_rows,
                                                                   make_dataset_folder):
    from hub_tools.errors import UserError

    folder = make_dataset_folder(tmp_path / "broken", make_rows(2))
    if damage == "no-readme":  # and no lintseq_config.json to render one from: not a generated folder
        (folder / "README.md").unlink()
        (folder / "lintseq_config.json").unlink()
    elif damage == "no-configs":
        (folder / "README.md").write_text("---\nlicense: mit\n---\n# x\n")
    elif damage == "missing-shards":
        for path in (folder / "data" / "baseline").glob("*"):
            path.unlink()
    else:
        (folder / "README.md").write_text("---\nlicense: mit\nconfigs: [\n  - : :\n---\n")
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("*", r"\*")):
        push_dataset(folder, "alice/broken")
    assert hub.requests == []


def test_dry_run_touches_no_network_and_shows_files_sizes_and_card(hub, dataset_folder, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    result = push_dataset(dataset_folder, "alice/edits", dry_run=True, endpoint="http://127.0.0.1:9")
    report = result.report()
    assert hub.requests == []
    assert "data/lintseq/train-00000-of-00002.parquet" in report and " kB" in report
    assert "# LintSeq edit sequences of HumanEval" in report and "config_name: baseline" in report
    assert "token: none found" in report
