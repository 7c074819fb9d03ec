"""What a source tree holds besides plain files with UTF-8 names, and output folders the run cannot write.

Real runs of ``lintseq generate`` on real trees: a file whose name is not UTF-8 (an old repository's
``caf\\xe9.py``), links that work, dangle or loop, a named pipe, a socket, a folder named ``x.py``, a file with a
NUL byte on its third line; and output folders on a read-only mount, under an immutable folder, or one the
process may not write.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub_tools.datagen.writer import write_json_atomically
from hub_tools.lintseq import normalize_program

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)

PROGRAM = "def double(x):\n    return 2 * x\n\n\nprint(double(21))\n"
OTHER = "def triple(x):\n    return 3 * x\n\n\nprint(triple(7))\n"
# Quick runs: one path a row, no tokenizer, no benchmark.
QUICK = ("--num-paths", "1", "--tokenizer", "none", "--contamination-benchmarks", "none")


def _write(folder: Path, name: bytes, data: bytes) -> None:
    """A file named by bytes, whatever they are (Path cannot spell a name that is not UTF-8 in a literal)."""
    with open(os.fsencode(folder) + b"/" + name, "wb") as handle:
        handle.write(data)


def _stats(out: Path, config: str = "lintseq") -> dict:
    return json.loads((out / "lintseq_config.json").read_text(encoding="utf-8"))["configs"][config]["stats"]


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    """The error line of a command that failed as a user error: exit 2, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_a_python_file_named_in_no_utf8_is_a_row_named_with_its_bytes_escaped(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.py").write_text(PROGRAM)
    _write(root, b"caf\xe9.py", OTHER.encode())  # latin-1 for "café.py", as an old checkout has it
    out = tmp_path / "out"
    first = folders.generate("repo", "--output-dir", str(out), "--keep-fields", "path", *QUICK, cwd=tmp_path)

    table = pq.read_table(next((out / "data" / "lintseq").glob("*.parquet")))
    # The name as Python prints it: valid UTF-8 text, and the file's bytes can be read back from it.
    assert sorted(zip(table["path"].to_pylist(), table["program"].to_pylist(), strict=True)) == [
        ("repo/caf\\xe9.py", normalize_program(OTHER)), ("repo/good.py", normalize_program(PROGRAM))]
    assert _stats(out)["skipped"] == {}
    assert not list(out.rglob("*.tmp")) and not (out / ".lintseq-work").exists(), first.stderr

    # The same command again: the stamps of the escaped name match, so the run is found done.
    again = folders.generate("repo", "--output-dir", str(out), "--keep-fields", "path", *QUICK, cwd=tmp_path)
    assert "nothing to do" in again.stdout


def test_a_data_file_named_in_no_utf8_names_its_skipped_rows(tmp_path):
    source = tmp_path / "rows"
    source.mkdir()
    row = json.dumps({"instruction": "Double a number.", "response": PROGRAM})
    _write(source, b"r\xe9sultats.jsonl", f"{row}\nnot json\n".encode())
    out = tmp_path / "out"
    folders.generate("rows", "--output-dir", str(out), *QUICK, cwd=tmp_path)
    stats = _stats(out)
    assert stats["rows"] == 1
    assert [(entry["reason"], entry["location"]) for entry in stats["skipped_rows"]] == [
        ("invalid_json", "r\\xe9sultats.jsonl:2")]  # a folder of one file: the file is named alone


def test_a_write_that_fails_leaves_no_temporary_file(tmp_path):
    # A value no UTF-8 file holds (how a name that is not UTF-8 first failed): the error, and no empty
    # run.json.<pid>.tmp beside the file.
    with pytest.raises(UnicodeEncodeError):
        write_json_atomically({"source_files": {"caf\udce9.py": [1, 2]}}, tmp_path / "run.json")
    assert list(tmp_path.iterdir()) == []


def test_every_py_entry_of_a_tree_that_is_not_read_is_counted(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "kept.py").write_text(PROGRAM)
    (root / "working_link.py").symlink_to("kept.py")
    (root / "dangling.py").symlink_to(tmp_path / "no-such-file.py")
    (root / "loop.py").symlink_to("loop.py")
    os.mkfifo(root / "pipe.py")  # opened for reading, it would wait for a writer forever
    server = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(root)  # bound by a relative name: a socket's path is limited to 107 bytes
    server.bind("server.py")
    # A folder named like a module is a folder: walked, its files read; a link to it is a link.
    (root / "plugins.py").mkdir()
    (root / "plugins.py" / "inner.py").write_text(OTHER)
    (root / "folder_link.py").symlink_to("plugins.py")
    try:
        # The output inside the tree: the looping link is checked against it without resolving it.
        result = folders.generate("repo", "--output-dir", "repo/out", "--keep-fields", "path", *QUICK,
                                  cwd=tmp_path, timeout=600)
    finally:
        server.close()
    out = root / "out"
    table = pq.read_table(next((out / "data" / "lintseq").glob("*.parquet")))
    assert sorted(table["path"].to_pylist()) == ["repo/kept.py", "repo/plugins.py/inner.py"], result.stderr
    stats = _stats(out)
    assert stats["skipped"] == {"symbolic_link": 4, "not_a_file": 2}
    skipped = {entry["location"]: (entry["reason"], entry["detail"]) for entry in stats["skipped_rows"]}
    assert skipped == {
        **{f"repo/{name}.py": ("symbolic_link", "a symbolic link, not followed (the target is not read)")
           for name in ("working_link", "dangling", "loop", "folder_link")},
        "repo/pipe.py": ("not_a_file", "a named pipe, not a regular file: not read"),
        "repo/server.py": ("not_a_file", "a socket, not a regular file: not read"),
    }
    assert "skipped 6 rows: symbolic_link 4, not_a_file 2" in result.stdout


def test_a_data_file_that_cannot_be_read_stops_the_run_naming_it(tmp_path):
    """A data file holds any number of rows: one that is a dangling link or a pipe is no row to count but part
    of the dataset that would vanish. The run stops before any row, in one line naming it (a pipe never
    blocks it); the same for such an entry named as the source itself."""
    row = json.dumps({"instruction": "Double it.", "response": PROGRAM}) + "\n"
    cases = {}
    for name, make in (("dangling", lambda entry: entry.symlink_to(tmp_path / "moved.jsonl")),
                       ("loop", lambda entry: entry.symlink_to(entry.name)),
                       ("pipe", os.mkfifo),
                       ("folder_link", lambda entry: entry.symlink_to(tmp_path))):
        source = tmp_path / name
        source.mkdir()
        (source / "a.jsonl").write_text(row)
        make(source / "b.jsonl")
        cases[name] = f"{name}/b.jsonl"
    expected = {"dangling": "a symbolic link that leads nowhere", "loop": "a symbolic link that leads nowhere",
                "pipe": "a named pipe", "folder_link": "a folder"}
    for name, entry in cases.items():
        # A link to a folder named as the source is that folder, read as one: only the folder holding it here.
        for given in (name,) if name == "folder_link" else (name, entry):
            result = folders.generate(given, "--output-dir", f"out-{name}", *QUICK, check=False, cwd=tmp_path,
                                      timeout=120)
            line = _one_line_error(result)
            assert line.startswith(f"lintseq generate: error: {entry}: {expected[name]}"), (name, given, line)
            assert not (tmp_path / f"out-{name}" / "data").exists()
    # A repository of Python files with a dangling data-file link (a config.json whose target moved) is still
    # read as code: the link is no part of it.
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "double.py").write_text(PROGRAM)
    (repo / "config.json").symlink_to(tmp_path / "moved.json")
    folders.generate("repo", "--output-dir", "out-repo", *QUICK, cwd=tmp_path, timeout=300)
    stats = _stats(tmp_path / "out-repo")
    assert stats["rows"] == 1 and stats["skipped"] == {}, stats


def test_data_in_a_form_not_read_stops_the_run_naming_it_and_ndjson_is_json_lines(tmp_path):
    """A folder of data with a file read in no format here (a zstd dump, an Arrow file, the folder
    Dataset.save_to_disk writes) lost those rows without a word: 100 of 500 rows came out, and a save_to_disk
    folder gave its dataset_info.json as rows. The run now stops, in one line naming them; .ndjson, JSON
    Lines under another name, is read; a repository of code keeps its archives and fixtures unread."""
    import datasets

    rows = [{"instruction": f"Task {i}.", "response": PROGRAM.replace("21", str(i))} for i in range(6)]
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.jsonl").write_text(lines[: len(lines) // 2])
    (mixed / "b.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd" + lines.encode())
    (mixed / "c.arrow").write_bytes(b"ARROW1")
    line = _one_line_error(folders.generate("mixed", "--output-dir", "out-mixed", *QUICK, check=False,
                                            cwd=tmp_path, timeout=120))
    assert "mixed: holds data in a form not read (b.jsonl.zst, c.arrow)" in line, line
    assert not (tmp_path / "out-mixed" / "data").exists()

    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    line = _one_line_error(folders.generate("saved", "--output-dir", "out-saved", *QUICK, check=False,
                                            cwd=tmp_path, timeout=120))
    assert "data-00000-of-00001.arrow" in line and "datasets.load_from_disk" in line, line

    (tmp_path / "nd").mkdir()
    (tmp_path / "nd" / "rows.ndjson").write_text(lines)
    folders.generate("nd", "--output-dir", "out-nd", *QUICK, cwd=tmp_path, timeout=300)
    assert _stats(tmp_path / "out-nd")["source_rows"] == len(rows)

    repo = tmp_path / "repo"
    (repo / "fixtures").mkdir(parents=True)
    (repo / "double.py").write_text(PROGRAM)
    (repo / "fixtures" / "cache.pkl").write_bytes(b"\x80\x04N.")
    folders.generate("repo", "--output-dir", "out-repo", *QUICK, cwd=tmp_path, timeout=300)
    assert _stats(tmp_path / "out-repo")["rows"] == 1


def test_a_parquet_file_cut_short_or_damaged_inside_stops_the_run_naming_it(tmp_path):
    """A Parquet shard cut short (a download that stopped) gave a 31-line traceback that named no file."""
    import pyarrow as pa

    rows = [{"instruction": f"Task {i}.", "response": PROGRAM.replace("21", str(i))} for i in range(3000)]
    source = tmp_path / "shards"
    source.mkdir()
    for number in range(2):
        pq.write_table(pa.Table.from_pylist(rows), source / f"part-{number}.parquet", row_group_size=1000,
                       compression="none")
    whole = (source / "part-1.parquet").read_bytes()
    (source / "part-1.parquet").write_bytes(whole[: len(whole) // 2])
    line = _one_line_error(folders.generate("shards", "--output-dir", "out-cut", *QUICK, check=False,
                                            cwd=tmp_path, timeout=120))
    assert "shards/part-1.parquet: not a readable Parquet file" in line, line

    # The footer whole, the data under it overwritten: found when its rows are read.
    middle = len(whole) // 2
    (source / "part-1.parquet").write_bytes(whole[:middle] + b"\xff" * 4096 + whole[middle + 4096:])
    line = _one_line_error(folders.generate("shards", "--output-dir", "out-damaged", "--num-samples", "5",
                                            *QUICK, check=False, cwd=tmp_path, timeout=300))
    assert "shards/part-1.parquet: damaged Parquet file" in line, line


def test_a_nul_byte_is_reported_at_its_own_line(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.py").write_text(PROGRAM)
    # Windows line ends and a classic Mac one before it: each is one line end, as Python reads the file.
    (root / "binary_junk.py").write_bytes(b"x = 1\r\ny = 2\rz = '\x00'\n")
    out = tmp_path / "out"
    folders.generate("repo", "--output-dir", str(out), *QUICK, cwd=tmp_path)
    assert [(entry["reason"], entry["location"], entry["detail"]) for entry in _stats(out)["skipped_rows"]] == [
        ("syntax_error", "repo/binary_junk.py", "line 3: source code cannot contain null bytes")]


@contextlib.contextmanager
def _read_only(folder: Path):
    """``folder`` on a read-only file system for the block: a bind mount of itself, remounted read-only."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"a read-only mount needs root with CAP_SYS_ADMIN and mount(8): {error}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True, capture_output=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True, capture_output=True)


def test_an_output_folder_on_a_read_only_file_system_is_one_line(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "kept.py").write_text(PROGRAM)
    mount = tmp_path / "mount"
    (mount / "done").mkdir(parents=True)
    folders.generate("repo", "--output-dir", str(mount / "done"), *QUICK, cwd=tmp_path)
    with _read_only(mount):
        new = folders.generate("repo", "--output-dir", "mount/new", *QUICK, cwd=tmp_path, check=False)
        assert _one_line_error(new) == (
            "lintseq generate: error: cannot write mount/new: a read-only file system; give an --output-dir on a "
            "writable file system (generate keeps its lock and work files there)")
        # A finished dataset: Engine.run takes the folder's lock (a file in it) before check_finished_run, so
        # the same command needs to write there too: one line, not a traceback. Were the finished run looked
        # for before the lock, this would be "nothing to do", exit 0.
        done = folders.generate("repo", "--output-dir", "mount/done", *QUICK, cwd=tmp_path, check=False)
        assert _one_line_error(done).startswith(
            "lintseq generate: error: cannot write mount/done/.lintseq-work: a read-only file system; ")


def test_an_output_folder_under_an_immutable_folder_is_one_line(tmp_path):
    # `chattr +i`: even root gets EPERM making a folder inside.
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "kept.py").write_text(PROGRAM)
    locked = tmp_path / "locked"
    locked.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(locked)]).returncode != 0:
        pytest.skip("chattr +i (an immutable folder) is not available on this file system")
    try:
        result = folders.generate("repo", "--output-dir", "locked/new", *QUICK, cwd=tmp_path, check=False)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert _one_line_error(result) == ("lintseq generate: error: locked/new: operation not permitted; change its "
                                       "permissions, or choose another path")


def test_an_output_folder_the_process_may_not_write_is_one_line(tmp_path):
    # Root without its capability to pass over permissions: a folder of mode 555 refuses it as any user.
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "kept.py").write_text(PROGRAM)
    shut = tmp_path / "shut"
    shut.mkdir(mode=0o555)
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE")
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search",
            "--"]
    command = [*drop, sys.executable, "-m", "hub_tools.cli", "generate", "repo", "--output-dir", "shut/new",
               *QUICK, "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    if "setpriv:" in result.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {result.stderr.strip()}")
    assert _one_line_error(result) == ("lintseq generate: error: shut/new: permission denied; change its "
                                       "permissions, or choose another path")


def test_a_source_with_no_readable_row_says_what_is_wrong_with_the_first(tmp_path):
    # "no readable row" alone left a user guessing: a file with old Mac line ends (CR alone) is one line.
    rows = [json.dumps({"instruction": "Double it.", "response": PROGRAM})] * 2
    (tmp_path / "mac.jsonl").write_text("\r".join(rows) + "\r", newline="")
    line = _one_line_error(folders.generate("mac.jsonl", "--output-dir", "out", *QUICK, check=False, cwd=tmp_path,
                                            timeout=120))
    assert line.startswith("lintseq generate: error: mac.jsonl: no readable row (the first, mac.jsonl:1: "
                           "invalid_json, column "), line
