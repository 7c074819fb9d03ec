"""Scale-out on datatrove: the steps in a user's pipeline, and ``lintseq generate --executor local|ray``
giving the single-machine engine's folder byte for byte, killed runs included. (Slurm: test_slurm.py.)"""

import dataclasses
import gzip
import importlib.util
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import LambdaFilter
from datatrove.pipeline.readers import ParquetReader

from hub_tools.datagen.distributed import LintSeqParquetWriter, LintSeqReader, LintSeqSampler
from hub_tools.datagen.engine import Engine
from hub_tools.datagen.rows import GenerationConfig, process_record
from hub_tools.datagen.sources import Source, SourceRecord
from hub_tools.lintseq import apply_diffs

_spec = importlib.util.spec_from_file_location("distributed_runs", Path(__file__).with_name("distributed_runs.py"))
runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runs)
generate, shard_bytes, settings, _parts = runs.generate, runs.shard_bytes, runs.settings, runs.parts


@pytest.fixture(scope="module")
def source_file(tmp_path_factory, humaneval_corpus, stdlib_corpus) -> Path:
    """70 real programs (HumanEval solutions, standard-library functions) and 3 broken rows, as JSON Lines."""
    path = tmp_path_factory.mktemp("source") / "programs.jsonl"
    rows = [{"prompt": f"Task {i}: write the code.", "completion": f"```python\n{program}\n```"}
            for i, program in enumerate(humaneval_corpus[:40] + stdlib_corpus[:30])]
    lines = [json.dumps(row) for row in rows]
    lines[10:10] = ["{not json", json.dumps({"prompt": "x", "completion": 3}),
                    json.dumps({"prompt": "broken", "completion": "def f(:\n    pass"})]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def single_machine(source_file, tmp_path_factory) -> Path:
    """The reference: the single-machine engine, one worker, default chunking."""
    out = tmp_path_factory.mktemp("single") / "out"
    config = GenerationConfig(prompt_field="prompt", code_field="completion", num_paths=2, seed=3)
    Engine(Source(str(source_file)), out, config, workers=1, progress=False).run()
    return out


def test_sampler_in_a_user_built_pipeline(stdlib_corpus, tmp_path):
    """datatrove's own Parquet reader (a The Stack-like layout: the program in ``content``), a filter of the
    user's, our sampler and Parquet writer, on datatrove's local executor with two tasks (one file each): rows
    as process_record makes them, skipped rows counted by reason."""
    import pyarrow as pa

    programs = [*stdlib_corpus[:12], "def broken(:\n    pass\n", "# only a comment\n"]
    rows = [{"content": program, "instruction": f"Write function {i}.", "path": f"file{i}.py"}
            for i, program in enumerate(programs)]
    source = tmp_path / "stack"
    source.mkdir()
    pq.write_table(pa.Table.from_pylist(rows[:7]), source / "train-0.parquet")
    pq.write_table(pa.Table.from_pylist(rows[7:]), source / "train-1.parquet")
    config = GenerationConfig(prompt_field="instruction", code_field="content", num_paths=2, seed=5)
    output, logs = tmp_path / "out", tmp_path / "logs"
    LocalPipelineExecutor([
        ParquetReader(str(source), text_key="content"),
        LambdaFilter(lambda document: not document.metadata["path"].endswith("11.py")),  # the user's own step
        LintSeqSampler(config, baseline=True),
        LintSeqParquetWriter(str(output)),
    ], tasks=2, workers=1, logging_dir=str(logs)).run()

    rows = datasets.load_dataset("parquet", data_files=str(output / "data/lintseq/*.parquet"), split="train",
                                 cache_dir=str(tmp_path / "cache"))
    baseline = pq.read_table(sorted((output / "data/baseline").glob("*.parquet"))).to_pylist()
    kept = [i for i in range(12) if i != 11]
    assert sorted(row["instruction"] for row in baseline) == sorted(f"Write function {i}." for i in kept)
    assert len(rows) == 2 * len(kept)
    for row in rows:
        assert apply_diffs(row["edit_path"]) == row["program"]
        number = int(row["instruction"].split()[-1].rstrip("."))
        fields = {"instruction": row["instruction"], "content": programs[number]}
        expected = process_record(SourceRecord(0, "x", fields=fields), config).rows[row["path_index"]]
        assert {key: row[key] for key in expected if key != "row_index"} == \
               {key: value for key, value in expected.items() if key != "row_index"}

    stats = json.loads((logs / "stats.json").read_text())
    sampler = next(step for step in stats if "LintSeq sampler" in step["name"])["stats"]
    totals = {name: value if isinstance(value, int) else value["total"] for name, value in sampler.items()}
    assert totals["skipped_syntax_error"] == 1 and totals["skipped_no_code"] == 1 and totals["skipped"] == 2
    assert totals["rows"] == 2 * len(kept) and totals["programs"] == len(kept)


def test_reader_detects_fields_extracts_fences_and_passes_broken_rows(source_file):
    reader = LintSeqReader(str(source_file), chunk_size=8)
    assert (reader.prompt_field, reader.code_field) == ("prompt", "completion")
    documents = list(reader.run(rank=0, world_size=1))
    assert len(documents) == 73
    assert "```" not in documents[0].text and documents[0].text.startswith("from typing import List")
    broken = documents[10].metadata["lintseq_origin"]
    assert broken["error"][0] == "invalid_json" and broken["location"] == "programs.jsonl:11"
    # Tasks take contiguous blocks of chunks; together, every row once.
    blocks = [list(reader.run(rank=rank, world_size=4)) for rank in range(4)]
    indices = [d.metadata["lintseq_origin"]["row_index"] for block in blocks for d in block]
    assert indices == list(range(73))


def test_a_task_enters_the_source_at_its_block_with_the_rows_a_full_read_gives(tmp_path):
    # Files of every kind, with blank lines, a broken row, Parquet row groups, a cut compressed file and an
    # empty one: entering at any row gives exactly the records a read from the start gives from that row on.
    rows = [{"instruction": f"Task {i}", "response": f"x = {i}\nprint(x)"} for i in range(100)]
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps(row) + "\n" + "\n" * (i % 7 == 0)
                                            for i, row in enumerate(rows[:13])) + "not json\n")
    pq.write_table(pa.Table.from_pylist(rows[13:60]), folder / "b.parquet", row_group_size=10)
    (folder / "c.json").write_text(json.dumps(rows[60:70]))
    (folder / "d.csv").write_text("instruction,response\n" + "".join(
        f'{row["instruction"]},"{row["response"]}"\n' + "\n" * (i % 4 == 0) for i, row in enumerate(rows[70:80])))
    # Long cells of random digits, so the cut leaves rows before it (a stream is decompressed in blocks).
    noise = random.Random(0)
    packed_csv = gzip.compress(("instruction,response\n" + "".join(
        f'{row["instruction"]},"{row["response"]}\n# {noise.getrandbits(8000):x}"\n' for row in rows[40:60])).encode())
    (folder / "d2.csv.gz").write_bytes(packed_csv[: len(packed_csv) // 2])
    (folder / "d3.csv").write_text("instruction,response\n")
    packed = gzip.compress("".join(json.dumps(row) + "\n" for row in rows[80:]).encode())
    (folder / "e.jsonl.gz").write_bytes(packed[: len(packed) * 2 // 3])
    (folder / "f.jsonl.gz").write_bytes(packed)
    (folder / "g.jsonl").write_text("")
    source = Source(str(folder))
    every = [dataclasses.astuple(record) for record in source]
    assert len(every) > 100 and sum(bool(record[3] and record[3][0] == "corrupt_file") for record in every) == 2
    assert any(record[1].startswith(str(folder / "d2.csv.gz") + ":") for record in every)  # rows before the cut
    for start in range(len(every) + 2):
        assert [dataclasses.astuple(record) for record in source.records_from(start)] == every[start:], start
    # Through the reader, on four tasks: every row once, in order, with the documents of one full read.
    reader = LintSeqReader(str(folder), chunk_size=6)
    whole = [(d.id, d.text, d.metadata["lintseq_origin"]["row_index"]) for d in reader.run(rank=0, world_size=1)]
    blocks = [(d.id, d.text, d.metadata["lintseq_origin"]["row_index"])
              for rank in range(4) for d in reader.run(rank=rank, world_size=4)]
    assert blocks == whole and [index for _, _, index in whole] == list(range(len(every)))
    # A random subset (--num-samples): every task enters at the first selected row of its block.
    selected = set(random.Random(3).sample(range(len(every)), 37))
    reader = LintSeqReader(str(folder), chunk_size=5, selected=selected)
    whole = [(d.id, d.metadata["lintseq_origin"]["chunk"], d.metadata["lintseq_origin"]["row_index"])
             for d in reader.run(rank=0, world_size=1)]
    assert [index for _, _, index in whole] == sorted(selected)
    for world_size in (3, 4, 9, 12):
        assert [(d.id, d.metadata["lintseq_origin"]["chunk"], d.metadata["lintseq_origin"]["row_index"])
                for rank in range(world_size) for d in reader.run(rank=rank, world_size=world_size)] == whole


def test_local_executor_with_more_tasks_than_workers_gives_the_single_machine_folder(source_file, single_machine,
                                                                                     tmp_path):
    out = tmp_path / "local"
    result = generate(str(source_file), "--output-dir", str(out), "--num-paths", "2", "--seed", "3",
                      "--executor", "local", "--tasks", "5", "--workers", "2", "--chunk-size", "8")
    assert "skipped 3 rows" in result.stdout
    # --no-progress: datatrove's lines (pipeline, per-task statistics) stay in the tasks' log files.
    assert _console_log_lines(result.stderr) == []
    assert shard_bytes(out) == shard_bytes(single_machine)
    assert settings(out) == settings(single_machine)
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert (stats["executor"], stats["tasks"], stats["workers"]) == ("local", 5, 2)
    assert sorted(stats["skipped"]) == ["invalid_json", "non_string_field", "syntax_error"]
    assert not (out / ".lintseq-work").exists()
    _check_load_dataset(out, tmp_path)


def test_a_random_subset_on_an_executor_is_the_single_machine_subset(source_file, tmp_path):
    # --num-samples: each task enters the source at the first selected row of its block.
    options = ["--num-paths", "1", "--seed", "5", "--num-samples", "23", "--chunk-size", "4"]
    single, local = tmp_path / "single", tmp_path / "local"
    generate(str(source_file), "--output-dir", str(single), *options)
    generate(str(source_file), "--output-dir", str(local), *options, "--executor", "local", "--tasks", "4")
    assert shard_bytes(local) == shard_bytes(single) and settings(local) == settings(single)
    rows = json.loads((local / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]["source_rows"]
    assert rows == 23


def _check_load_dataset(out: Path, tmp_path: Path) -> None:
    for config, rows in (("lintseq", 140), ("baseline", 70)):
        loaded = datasets.load_dataset(str(out), config, split="train", cache_dir=str(tmp_path / f"cache-{config}"))
        streamed = list(datasets.load_dataset(str(out), config, split="train", streaming=True))
        assert len(loaded) == rows and streamed == list(loaded)
    default = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache-default"))
    assert default[0]["sampler"] == "lintseq"


def _console_log_lines(stderr: str) -> list[str]:
    """The INFO/SUCCESS lines of datatrove's and Ray's loggers, and datatrove's statistics, in ``stderr``."""
    return [line for line in stderr.splitlines()
            if any(mark in line for mark in ("| INFO", "| SUCCESS", " INFO ", "Stats:", "PIPELINE"))]


def test_ray_executor_on_a_local_ray_gives_the_single_machine_folder(source_file, single_machine, tmp_path):
    out = tmp_path / "ray"
    result = generate(str(source_file), "--output-dir", str(out), "--num-paths", "2", "--seed", "3",
             "--executor", "ray", "--tasks", "3", "--workers", "2", "--chunk-size", "16", timeout=600)
    assert _console_log_lines(result.stderr) == [] and "Logging directory" not in result.stderr
    assert shard_bytes(out) == shard_bytes(single_machine)
    assert settings(out) == settings(single_machine)
    _check_load_dataset(out, tmp_path)


def _start_and_kill(command: list[str], out: Path, parts_before_kill: int, kill) -> None:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=runs.environment(),
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(_parts(out)) < parts_before_kill:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        kill(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()


def test_a_sigkilled_local_run_is_finished_by_the_same_command(source_file, single_machine, tmp_path):
    out = tmp_path / "killed"
    arguments = [str(source_file), "--output-dir", str(out), "--num-paths", "2", "--seed", "3",
                 "--executor", "local", "--tasks", "4", "--workers", "2", "--chunk-size", "4"]
    command = [sys.executable, "-m", "hub_tools.cli", "generate", *arguments, "--no-progress"]
    # The launcher and every task at once, mid-chunk.
    _start_and_kill(command, out, 3, lambda process: os.killpg(process.pid, signal.SIGKILL))
    survived = len(_parts(out))
    assert 3 <= survived < 19  # 73 rows in chunks of 4: 19 parts, some lost with the kill
    rerun = generate(*arguments)
    assert "resumed" in rerun.stdout
    assert shard_bytes(out) == shard_bytes(single_machine)
    assert settings(out) == settings(single_machine)


def test_a_sigkilled_task_is_redone_within_the_run(source_file, single_machine, tmp_path):
    """kill -9 of one task process: the launcher notices, redoes the unfinished chunks (the ones in flight each
    in a process of its own, as for a row that kills its process) and finishes with the same folder."""
    import psutil

    out, logs = tmp_path / "task-killed", tmp_path / "logs"
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source_file), "--output-dir", str(out),
               "--num-paths", "2", "--seed", "3", "--executor", "local", "--tasks", "4", "--workers", "2",
               "--chunk-size", "4", "--logging-dir", str(logs), "--no-progress"]

    def kill_one_task(process):
        tasks = [child for child in psutil.Process(process.pid).children(recursive=True)
                 if "spawn_main" in " ".join(child.cmdline())]
        tasks[-1].send_signal(signal.SIGKILL)
        assert process.wait(timeout=300) == 0, process.stderr.read().decode()[-3000:]

    _start_and_kill(command, out, 3, kill_one_task)
    assert shard_bytes(out) == shard_bytes(single_machine)
    assert settings(out) == settings(single_machine)
    sampler = next(step for step in json.loads((logs / "stats.json").read_text()) if "sampler" in step["name"])
    isolated = sampler["stats"]["isolated_rows"]
    assert (isolated if isinstance(isolated, int) else isolated["total"]) >= 1


def test_a_sigkilled_ray_worker_is_retried_within_the_run(source_file, single_machine, tmp_path):
    """kill -9 of a Ray worker running a task (the command's own Ray instance): Ray runs the task again and the
    run ends with the single-machine folder."""
    import psutil

    out = tmp_path / "worker-killed"
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source_file), "--output-dir", str(out),
               "--num-paths", "2", "--seed", "3", "--executor", "ray", "--tasks", "4", "--workers", "2",
               "--chunk-size", "4", "--no-progress"]
    killed = []

    def kill_a_worker(process):
        # Ray names a worker's process after what it runs (its own agents are ray::DashboardAgent and such:
        # killing one takes the node down).
        workers = [child for child in psutil.Process(process.pid).children(recursive=True)
                   if child.cmdline()[:1] and child.cmdline()[0].startswith("ray::RankWorker")]
        assert workers, "no Ray worker was running a task"
        workers[0].send_signal(signal.SIGKILL)
        killed.append(workers[0].pid)
        assert process.wait(timeout=300) == 0, process.stderr.read().decode()[-3000:]

    _start_and_kill(command, out, 3, kill_a_worker)
    assert killed
    assert shard_bytes(out) == shard_bytes(single_machine)
    assert settings(out) == settings(single_machine)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_run_of_the_single_machine_engine_is_finished_on_an_executor(source_file, single_machine, tmp_path,
                                                                      executor):
    """The parts are the same for both engines: a killed single-machine run can be finished on datatrove, in
    one run also where a task's chunks are all saved (it never runs; Ray still finds its statistics)."""
    out = tmp_path / "mixed"
    arguments = [str(source_file), "--output-dir", str(out), "--num-paths", "2", "--seed", "3"]
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys, hub_tools.datagen.engine as e; e.CHUNK_SIZE = 8; "
         "from hub_tools.cli import main; sys.exit(main(['generate', *sys.argv[1:]]))", *arguments, "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=runs.environment(), start_new_session=True)
    deadline = time.monotonic() + 300
    while len(_parts(out)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 2 <= len(_parts(out)) < 10
    # 10 chunks on 4 tasks: task 0's two chunks, the first two of the single worker's, are saved.
    generate(*arguments, "--executor", executor, "--tasks", "4", "--workers", "2", "--chunk-size", "8", timeout=600)
    assert shard_bytes(out) == shard_bytes(single_machine)


def test_executor_errors_are_one_line(source_file, tmp_path):
    result = generate(str(source_file), "--output-dir", str(tmp_path / "x"), "--executor", "slurm", check=False)
    assert result.returncode == 2 and "--partition" in result.stderr and "Traceback" not in result.stderr
    result = generate(str(source_file), "--output-dir", str(tmp_path / "y"), "--tasks", "3", check=False)
    assert result.returncode == 2 and "--executor" in result.stderr


def test_the_base_path_never_imports_datatrove_and_without_it_executor_says_what_to_install(source_file, tmp_path):
    script = ("import sys; from hub_tools.cli import main; code = main(['generate', *sys.argv[1:]]); "
              "assert not {'datatrove', 'ray'} & set(sys.modules), sorted(sys.modules); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script, str(source_file), "--output-dir", str(tmp_path / "a"),
                             "--sampler", "random", "--no-progress"], capture_output=True, text=True,
                            env=runs.environment())
    assert result.returncode == 0, result.stderr[-2000:]
    blocked = "import sys; sys.modules['datatrove'] = None; from hub_tools.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", blocked, "generate", str(source_file), "--output-dir",
                             str(tmp_path / "b"), "--executor", "local", "--no-progress"], capture_output=True,
                            text=True, env=runs.environment())
    assert result.returncode == 2 and "hub-tools[distributed]" in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 300 and "Traceback" not in result.stderr


def test_the_readme_pipeline_example_runs_as_written(tmp_path):
    readme = (runs.ROOT / "README.md").read_text()
    (example,) = [block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "LintSeqSampler(" in block]
    # Run as a user runs it, a script file: datatrove's forkserver workers import it again (a script without
    # the __main__ guard failed at its first worker, then hung).
    (tmp_path / "pipeline.py").write_text(example)
    result = subprocess.run([sys.executable, "pipeline.py"], cwd=tmp_path, capture_output=True, text=True,
                            env=runs.environment(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    count = int(result.stdout.split()[0])
    baseline = pq.read_table(sorted((tmp_path / "humaneval-lintseq/data/baseline").glob("*.parquet"))).to_pylist()
    assert len(list((tmp_path / "humaneval-lintseq/data/lintseq").glob("train-*-of-00004.parquet"))) == 4
    assert 20 < len(baseline) < 164 and count == 2 * len(baseline)  # the filter kept the short programs
    assert all(len(row["program"].splitlines()) <= 15 for row in baseline)
    assert (tmp_path / "humaneval-lintseq-logs" / "stats.json").is_file()


def test_ray_executor_joins_a_running_cluster(source_file, single_machine, tmp_path):
    """--ray-address: the tasks run on a cluster started beforehand (here a one-node ``ray start --head``)."""
    port = _free_port()
    ray = str(Path(sys.executable).with_name("ray"))
    # A test cluster without Ray's token authentication (a real one hands its token to the users who join).
    environment = {**runs.environment(), "RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen([ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment,
                            start_new_session=True)
    try:
        out = tmp_path / "joined"
        deadline = time.monotonic() + 120
        while True:
            # A relative source path: Ray's workers run in folders of their own.
            result = generate(source_file.name, "--output-dir", str(out), "--num-paths", "2", "--seed", "3",
                              "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--tasks", "3",
                              "--workers", "2", "--chunk-size", "16", check=False, timeout=600,
                              cwd=source_file.parent, env=environment)
            if result.returncode != 2 or time.monotonic() > deadline or head.poll() is not None:
                break
            time.sleep(2)  # the head may still be starting
        assert result.returncode == 0, result.stderr[-3000:]
        assert shard_bytes(out) == shard_bytes(single_machine)
        assert head.poll() is None  # the cluster was joined, not started and stopped by the command
    finally:
        # A test cluster holds nothing to keep: SIGKILL ends its whole process group at once, where SIGTERM
        # let Ray drain it for half a minute.
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        head.stderr.close()


@pytest.mark.parametrize("spelling", ["--ray-address", "RAY_ADDRESS"])
def test_a_ray_address_where_nothing_listens_is_refused_at_once(source_file, tmp_path, spelling):
    """Ray itself retries such an address for minutes; the command says what is wrong and stops."""
    address = f"127.0.0.1:{_free_port()}"  # bound, then closed: nothing listens there
    options = ["--ray-address", address] if spelling == "--ray-address" else []
    environment = {**runs.environment(), **({"RAY_ADDRESS": address} if spelling == "RAY_ADDRESS" else {})}
    out = tmp_path / "never"
    result = generate(str(source_file), "--output-dir", str(out), "--executor", "ray", "--tasks", "2", *options,
                      check=False, timeout=120, env=environment)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert address in last and "nothing accepts connections" in last and spelling in last and "Traceback" not in result.stderr
    assert not (out / "data").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_duplicates_and_finished_folder_rules_are_those_of_the_single_machine_engine(stdlib_corpus, tmp_path):
    """--drop-duplicates keeps the first occurrence whichever task reads it; an identical rerun has nothing to
    do; a rerun with other settings is refused, as for the single-machine engine."""
    rows = [{"instruction": f"Write function {i % 9}.", "response": stdlib_corpus[i % 9]} for i in range(30)]
    source = tmp_path / "with-duplicates.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    single, distributed = tmp_path / "single", tmp_path / "distributed"
    common = ["--sampler", "random", "--num-paths", "2", "--drop-duplicates"]
    generate(str(source), "--output-dir", str(single), *common)
    generate(str(source), "--output-dir", str(distributed), *common, "--executor", "local", "--tasks", "3",
             "--workers", "2", "--chunk-size", "4")
    assert shard_bytes(distributed) == shard_bytes(single)
    assert settings(distributed) == settings(single)
    assert settings(single)["configs"]["random"]["stats"]["skipped"] == {"duplicate": 21}

    again = generate(str(source), "--output-dir", str(distributed), *common, "--executor", "local", "--tasks", "5",
                     "--workers", "2", "--chunk-size", "8")
    assert "nothing to do" in again.stdout
    refused = generate(str(source), "--output-dir", str(distributed), *common, "--seed", "1", "--executor", "local",
                       check=False)
    assert refused.returncode == 2 and "seed" in refused.stderr and "--overwrite" in refused.stderr
