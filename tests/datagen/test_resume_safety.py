"""What a resumed run may trust: a source file changed since the run began is refused, a damaged part is
computed again, and a second command on a folder in use is refused (one command at a time holds its lock)."""

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub_tools.datagen.assembly import save_part
from hub_tools.datagen.engine import Engine, chunk_records
from hub_tools.datagen.rows import GenerationConfig, process_record
from hub_tools.datagen.sources import Source
from hub_tools.errors import UserError

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)
environment, generate, shard_bytes = runs.environment, runs.generate, runs.shard_bytes

CONFIG = GenerationConfig(num_paths=1, seed=4)
CHUNK = 4


@pytest.fixture(scope="module")
def programs(tmp_path_factory, humaneval_corpus) -> Path:
    """12 HumanEval programs with instructions: three chunks of four rows."""
    path = tmp_path_factory.mktemp("source") / "programs.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"Task {i}.", "response": program}) + "\n"
                            for i, program in enumerate(humaneval_corpus[:12])))
    return path


@pytest.fixture(scope="module")
def clean_run(programs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "out"
    Engine(Source(str(programs)), out, CONFIG, progress=False).run()
    return out


def engine(source: Path, out: Path) -> Engine:
    return Engine(Source(str(source)), out, CONFIG, chunk_size=CHUNK, progress=False)


def stopped_run(source: Path, out: Path, chunks: int) -> None:
    """The folder a run killed after its first ``chunks`` chunks leaves: its settings recorded when it began,
    those parts saved (by the engine's own steps), no dataset yet."""
    run = engine(source, out)
    run.parts.prepare(run.fingerprint(), overwrite=False)
    for number, records in chunk_records(iter(run.source), None, CONFIG, CHUNK):
        if number == chunks:
            return
        save_part(run.parts, number, [process_record(record, CONFIG) for record in records])


def statistics(folder: Path) -> dict:
    configs = json.loads((folder / "lintseq_config.json").read_text())["configs"]
    return {name: {key: value for key, value in config["stats"].items() if key not in ("seconds", "worker_seconds", "resumed_parts", "workers")}
            for name, config in configs.items()}


def test_a_resume_is_refused_when_a_source_file_changed_since_the_run_began(programs, clean_run, tmp_path):
    from hub_tools.datagen.distributed import DistributedRun, ExecutorConfig

    source, out = tmp_path / "programs.jsonl", tmp_path / "out"
    source.write_bytes(programs.read_bytes())
    stopped_run(source, out, 1)
    began = source.stat()
    # Rows reordered in place (the same size): the saved part holds rows the file no longer has there.
    lines = source.read_text().splitlines(keepends=True)
    source.write_text("".join(reversed(lines)))
    os.utime(source, ns=(began.st_atime_ns, began.st_mtime_ns + 10**9))
    executor = ExecutorConfig("local", tasks=2, chunk_size=CHUNK)
    for run in (engine(source, out), DistributedRun(Source(str(source)), out, CONFIG, executor)):
        with pytest.raises(UserError) as refused:
            run.run()
        message = str(refused.value)
        assert f"source file {source} changed" in message and "--overwrite" in message and "\n" not in message
    assert not (out / "data").exists()
    # The file the run began with (its size and modification time): the run resumes, to a clean run's bytes.
    source.write_text("".join(lines))
    os.utime(source, ns=(began.st_atime_ns, began.st_mtime_ns))
    assert engine(source, out).run().resumed_parts == 1
    assert shard_bytes(out) == shard_bytes(clean_run)


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


DAMAGE = {
    "rows cut short": lambda stem: _cut(stem.with_suffix(".rows.parquet")),
    "baseline emptied": lambda stem: stem.with_suffix(".baseline.parquet").write_bytes(b""),
    "statistics not JSON": lambda stem: stem.with_suffix(".json").write_text("{garbage"),
    "statistics emptied": lambda stem: stem.with_suffix(".json").write_text(""),
    "rows missing": lambda stem: stem.with_suffix(".rows.parquet").unlink(),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_part_is_removed_and_its_chunk_computed_again(programs, clean_run, tmp_path, capsys, damage):
    out = tmp_path / "out"
    stopped_run(programs, out, 2)
    DAMAGE[damage](out / ".lintseq-work" / "lintseq" / "part-00001")
    summary = engine(programs, out).run()
    notes = [line for line in capsys.readouterr().err.splitlines() if "damaged part" in line]
    assert len(notes) == 1 and "part-00001" in notes[0] and "computed again" in notes[0]
    assert summary.resumed_parts == 1
    assert shard_bytes(out) == shard_bytes(clean_run)
    assert statistics(out) == statistics(clean_run)


def test_a_task_of_a_replaced_run_writes_nothing_into_the_run_that_replaced_it(programs, tmp_path):
    """A Ray worker or Slurm job of a command killed with kill -9 goes on, and finished its part after the next
    command had started over in the folder with --overwrite and other settings: the old settings' rows were
    assembled with the new ones, and verify passed the folder. Neither a task that had written into the old
    folder nor one that first writes after the new run began may write now; the new run's tasks do."""
    from hub_tools.datagen.writer import PartStore

    out = tmp_path / "out"
    first = engine(programs, out)
    first.parts.prepare(first.fingerprint(), overwrite=False)
    outcomes = [[process_record(record, CONFIG) for record in records]
                for _, records in chunk_records(iter(first.source), None, CONFIG, CHUNK)]
    early = PartStore(out, first.config_name, run=first.fingerprint())
    save_part(early, 0, outcomes[0])
    assert first.parts.completed() == {0}

    other = GenerationConfig(num_paths=2, seed=4)
    second = Engine(Source(str(programs)), out, other, chunk_size=CHUNK, overwrite=True, progress=False)
    second.parts.prepare(second.fingerprint(), overwrite=True)
    late = PartStore(out, first.config_name, run=first.fingerprint())
    for store in (early, late):
        with pytest.raises(UserError, match="replaced by another"):
            save_part(store, 1, outcomes[1])
    assert sorted(path.name for path in second.parts.folder.iterdir()) == ["run.json"]

    own = PartStore(out, first.config_name, run=second.fingerprint())
    save_part(own, 1, [process_record(record, other) for record in chunk_records_of(second)[1]])
    assert second.parts.completed() == {1}
    own.close()
    early.close()


def chunk_records_of(run: Engine) -> list[list]:
    return [records for _, records in chunk_records(iter(run.source), None, run.config, CHUNK)]


def test_a_second_command_on_a_folder_in_use_is_refused_and_a_killed_one_leaves_no_lock(humaneval_corpus, tmp_path):
    source, out = tmp_path / "long.jsonl", tmp_path / "out"
    source.write_text("".join(json.dumps({"instruction": f"Task {i}.", "response": program}) + "\n"
                              for i, program in enumerate(humaneval_corpus[:100])))
    arguments = [str(source), "--output-dir", str(out), "--num-paths", "2", "--chunk-size", "4"]
    first = subprocess.Popen([sys.executable, "-m", "hub_tools.cli", "generate", *arguments, "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment(),
                             start_new_session=True)
    lock = out / ".lintseq-work" / "lock"
    try:
        deadline = time.monotonic() + 120
        while not (lock.exists() and f"pid {first.pid} " in lock.read_text()):
            assert first.poll() is None, first.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for executor in ([], ["--executor", "local", "--tasks", "2"]):
            second = generate(*arguments, *executor, check=False)
            assert second.returncode == 2, second.stderr[-3000:]
            last = second.stderr.strip().splitlines()[-1]
            assert "another lintseq generate" in last and f"pid {first.pid}" in last and str(out) in last
            assert "Traceback" not in second.stderr
            assert first.poll() is None, "the first command ended before the second was tried: use a longer source"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)  # kill -9: the lock file stays, unlocked
        first.wait()
        first.stderr.close()
    assert lock.exists()
    generate(*arguments)  # takes the lock the killed command left
    again = generate(*arguments)
    assert "nothing to do" in again.stdout and not (out / ".lintseq-work").exists()
