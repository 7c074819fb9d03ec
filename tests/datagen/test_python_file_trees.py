"""A folder of Python files (a repository, a package) as a code-only source: one row per file.

The tree here holds real standard-library modules next to what a cloned repository can hold: a file declaring
latin-1, one with a byte-order mark, bytes no codec reads, a codec Python does not know, an empty
``__init__.py``, a virtual environment, a ``site-packages`` folder, a ``.git`` folder, a link to one of the
tree's own files and a link out of the tree to a file holding a secret.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import datasets
import pytest

from hub_tools.datagen.sources import Source
from hub_tools.errors import UserError
from hub_tools.lintseq import apply_diffs, normalize_program

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)

SECRET = "hf_" + "notAtokenButKeptOutOfEveryFile"
LATIN = "# -*- coding: latin-1 -*-\nNAME = 'caf\u00e9'\nprint(NAME)\n"
BOM_PROGRAM = "def greet():\n    return 'hi'\n\nprint(greet())\n"


def _tree(root: Path, modules: list[tuple[str, str]]) -> dict[str, str]:
    """Write the tree; return the programs it must give, by path inside the tree."""
    expected = {}
    for number, (_, text) in enumerate(modules):
        path = root / "pkg" / f"module_{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        expected[f"pkg/module_{number}.py"] = text
    (root / "pkg" / "__init__.py").write_text("")  # no code: skipped as no_code
    (root / "legacy.py").write_bytes(LATIN.encode("latin-1"))
    expected["legacy.py"] = LATIN
    # A classic Mac file (lines end with CR alone): Python reads its declaration too.
    (root / "classic_mac.py").write_bytes(LATIN.replace("\n", "\r").encode("latin-1"))
    expected["classic_mac.py"] = LATIN.replace("\n", "\r")
    (root / "windows.py").write_bytes(b"\xef\xbb\xbf" + BOM_PROGRAM.encode("utf-8"))
    expected["windows.py"] = BOM_PROGRAM
    (root / "garbled.py").write_bytes(b"x = 1\ny = '\xff\xfe'\n")
    (root / "unknown_codec.py").write_bytes(b"# coding: no-such-codec\nx = 1\n")
    # Not the tree's own code: never read.
    for folder in ("venv/lib/python3.11", "vendor/site-packages/dep", ".git/hooks"):
        (root / folder).mkdir(parents=True)
        (root / folder / "marker.py").write_text(f"NOT_THE_TREE = {folder!r}\nprint(NOT_THE_TREE)\n")
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    # Links: one to a file of the tree (the same row twice), one out of the tree to a file with a secret.
    (root / "again.py").symlink_to(root / "pkg" / "module_0.py")
    outside = root.parent / f"{root.name}-home"
    outside.mkdir()
    (outside / "settings.py").write_text(f"TOKEN = {SECRET!r}\nprint(TOKEN)\n")
    (root / "settings.py").symlink_to(outside / "settings.py")
    return expected


def test_a_tree_of_python_files_is_a_code_only_source(tmp_path, stdlib_modules):
    root = tmp_path / "repo"
    expected = _tree(root, stdlib_modules[:2])
    out = tmp_path / "lintseq-repo"
    result = folders.generate("repo", "--output-dir", str(out), "--num-paths", "1", cwd=tmp_path)
    assert "prompt field none (code only: every instruction is empty), code field 'content' (detected)" in result.stderr

    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / ".cache"))
    assert sorted(rows["program"]) == sorted(normalize_program(text) for text in expected.values())
    assert "NAME = 'café'" in "".join(rows["program"])  # decoded with the codec it declares
    # ... and then declared UTF-8, the codec the text is stored in: as a file, it reads as the same text.
    assert "# -*- coding: utf-8 -*-\nNAME = 'café'\nprint(NAME)" in rows["program"]
    for row in rows:
        assert row["instruction"] == "" and apply_diffs(row["edit_path"]) == row["program"]

    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"symbolic_link": 2, "invalid_encoding": 2, "no_code": 1}
    skipped = {Path(entry["location"]).name: entry for entry in stats["skipped_rows"]}
    assert skipped["garbled.py"]["detail"] == "byte 11: not utf-8 (invalid start byte)"
    assert skipped["unknown_codec.py"]["detail"] == "unknown encoding: no-such-codec"
    # Every row of the tree counted, nothing of the environment, the vendored packages or .git.
    assert stats["source_rows"] == len(expected) + 5

    written = b"".join(path.read_bytes() for path in out.rglob("*") if path.is_file())
    assert SECRET.encode() not in written and b"NOT_THE_TREE" not in written

    # On an executor the tasks get absolute paths; the rows, and the locations the card and the stats name,
    # are those of the single-machine run (not the task's view of the file system).
    local = tmp_path / "lintseq-repo-local"
    folders.generate("repo", "--output-dir", str(local), "--num-paths", "1", "--executor", "local", "--tasks", "2",
                     cwd=tmp_path)
    shards = sorted(path.relative_to(out) for path in (out / "data").rglob("*.parquet"))
    assert all((out / shard).read_bytes() == (local / shard).read_bytes() for shard in shards)
    on_executor = json.loads((local / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert on_executor["skipped_rows"] == stats["skipped_rows"]
    assert str(tmp_path) not in (local / "README.md").read_text()


def test_a_python_file_named_alone_is_read_even_as_a_link(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(BOM_PROGRAM)
    link = tmp_path / "link.py"
    link.symlink_to(program)
    for name in (program, link):
        records = list(Source(str(name)))
        assert [record.fields["content"] for record in records] == [BOM_PROGRAM]


def test_a_folder_holding_one_link_out_of_it_does_not_follow_it(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "settings.py").write_text(f"TOKEN = {SECRET!r}\n")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "settings.py").symlink_to(tmp_path / "home" / "settings.py")
    records = list(Source(str(tmp_path / "repo")))
    assert [(record.fields, record.error[0]) for record in records] == [(None, "symbolic_link")]


def test_a_folder_with_data_files_reads_the_data_not_its_scripts(tmp_path):
    # A dataset repository: rows, and the loading script next to them.
    (tmp_path / "rows.jsonl").write_text(json.dumps({"instruction": "add", "response": "print(1 + 2)\n"}) + "\n")
    (tmp_path / "my_dataset.py").write_text("import datasets\n")
    source = Source(str(tmp_path))
    assert source.files == [tmp_path / "rows.jsonl"]
    assert [record.fields for record in source] == [{"instruction": "add", "response": "print(1 + 2)\n"}]


def test_a_folder_with_neither_says_what_it_reads(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to read\n")
    with pytest.raises(UserError, match=r"the folder has no \.jsonl.*nor any \.py file"):
        Source(str(tmp_path))


def test_entering_a_tree_at_any_row_gives_the_rows_of_a_full_read(tmp_path, stdlib_modules):
    root = tmp_path / "repo"
    _tree(root, stdlib_modules[:3])
    source = Source(str(root))
    whole = [(record.index, record.location, record.fields, record.error) for record in source]
    assert len(whole) == 11
    for start in range(len(whole) + 1):
        entered = [(record.index, record.location, record.fields, record.error) for record in source.records_from(start)]
        assert entered == whole[start:], start


def test_a_file_that_cannot_be_read_is_one_skipped_row(tmp_path):
    # Listed, then gone before it is read (a checkout changing under the run; no permission reads the same).
    (tmp_path / "kept.py").write_text(BOM_PROGRAM)
    (tmp_path / "gone.py").write_text(BOM_PROGRAM)
    source = Source(str(tmp_path))
    (tmp_path / "gone.py").unlink()
    records = {Path(record.location).name: record for record in source}
    assert records["gone.py"].error == ("unreadable", "No such file or directory")
    assert records["kept.py"].fields["content"] == BOM_PROGRAM


def test_a_named_pipe_in_the_tree_is_not_read(tmp_path):
    # `pipe.py` as a FIFO: opening it would block the run forever; it is not a file of the tree.
    import os

    (tmp_path / "kept.py").write_text(BOM_PROGRAM)
    os.mkfifo(tmp_path / "pipe.py")
    source = Source(str(tmp_path))
    # Listed, so its row is counted as skipped (not_a_file), never opened.
    assert [(record.fields, record.error) for record in source] == [
        ({"content": BOM_PROGRAM, "path": str(tmp_path / "kept.py")}, None),
        (None, ("not_a_file", "a named pipe, not a regular file: not read"))]
