"""``lintseq generate`` end to end: layout, load_dataset round trip, determinism, resume, bad input."""

import bz2
import gzip
import importlib.util
import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_tools.datagen import rows
from hub_tools.datagen.builder import LintSeqBuilder
from hub_tools.datagen.engine import Engine
from hub_tools.datagen.rows import GenerationConfig
from hub_tools.datagen.sources import Source
from hub_tools.lintseq import apply_diffs, format_completion, format_prompt, normalize_program

_spec = importlib.util.spec_from_file_location("dataset_folders", Path(__file__).with_name("dataset_folders.py"))
folders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(folders)
generate = folders.generate  # `lintseq generate` in a subprocess


@pytest.fixture(scope="module")
def source_file(tmp_path_factory, humaneval_corpus, stdlib_corpus) -> Path:
    """60 real programs with instructions, as JSON Lines."""
    path = tmp_path_factory.mktemp("source") / "programs.jsonl"
    rows = [{"instruction": f"Task {i}: write the code.", "response": f"```python\n{program}\n```"}
            for i, program in enumerate(humaneval_corpus[:40] + stdlib_corpus[:20])]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def two_worker_run(source_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "lintseq-out"  # the card names the folder: one name
    generate(str(source_file), "--output-dir", str(out), "--num-paths", "2", "--workers", "2", "--chunk-size", "8")
    return out


def load(folder: Path, *args, **kwargs):
    """load_dataset with a cache of its own: datasets keys local folders on names and modification times,
    so two folders written in the same second by different tests could share a cache entry."""
    return datasets.load_dataset(str(folder), *args, cache_dir=str(folder.parent / f".cache-{folder.name}"), **kwargs)


def shard_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted((folder / "data").rglob("*.parquet"))}


def test_layout_and_load_dataset_round_trip(two_worker_run, source_file):
    out = two_worker_run
    assert (out / "README.md").is_file() and (out / "lintseq_config.json").is_file()
    assert not (out / ".lintseq-work").exists()
    assert sorted(p.name for p in (out / "data").iterdir()) == ["baseline", "lintseq"]
    assert [p.name for p in (out / "data" / "lintseq").iterdir()] == ["train-00000-of-00001.parquet"]

    dataset = load(out, split="train")
    baseline = load(out, "baseline", split="train")
    assert len(dataset) == 120 and len(baseline) == 60
    for row in dataset:
        assert apply_diffs(row["edit_path"]) == row["program"]
        assert row["completion"] == format_completion(row["edit_path"])
        assert row["prompt"] == format_prompt(row["instruction"])
        assert row["num_edits"] == len(row["edit_path"]) and row["sampler"] == "lintseq"
        assert "```" not in row["program"]  # markdown stripped
    assert all(row["completion"] == row["program"] for row in baseline)
    streamed = list(load(out, split="train", streaming=True))
    assert streamed == list(dataset)

    manifest = json.loads((out / "lintseq_config.json").read_text())
    stats = manifest["configs"]["lintseq"]["stats"]
    assert stats["rows"] == 120 and stats["programs"] == 60 and stats["skipped"] == {}
    assert manifest["configs"]["lintseq"]["num_paths"] == 2 and manifest["default_config"] == "lintseq"
    assert manifest["versions"]["pylint"]


# What may differ between two runs of the same command: how long it took and with how many workers.
RUN_SPECIFIC_STATS = ("seconds", "worker_seconds", "resumed_parts", "workers")


def run_independent_files(folder: Path) -> dict[str, object]:
    """The card and lintseq_config.json without the run-specific fields the README names."""
    manifest = json.loads((folder / "lintseq_config.json").read_text())
    for config in manifest["configs"].values():
        for name in RUN_SPECIFIC_STATS:
            config["stats"].pop(name, None)
    card = [line for line in (folder / "README.md").read_text().splitlines()
            if not line.startswith(("| generation time |", "| worker time |"))]
    return {"lintseq_config.json": manifest, "README.md": card}


def test_one_and_two_workers_write_identical_bytes(two_worker_run, source_file, tmp_path):
    one = tmp_path / "one" / "lintseq-out"
    generate(str(source_file), "--output-dir", str(one), "--num-paths", "2", "--workers", "1")  # a single chunk
    # Two workers, 15 chunks of 4 rows: each worker computes some of them (the chunks' process ids say so).
    two = tmp_path / "two" / "lintseq-out"
    config = GenerationConfig(num_paths=2, prompt_field="instruction", code_field="response")
    summary = Engine(Source(str(source_file)), two, config, workers=2, chunk_size=4, progress=False).run()
    assert sorted(summary.chunk_processes) == list(range(15))
    processes = Counter(summary.chunk_processes.values())
    assert len(processes) == 2 and os.getpid() not in processes, processes
    assert shard_bytes(one) == shard_bytes(two) == shard_bytes(two_worker_run)  # 1, 15 and 8 chunks
    assert len(shard_bytes(one)) == 2
    # The card and lintseq_config.json too, apart from the run's time and worker count.
    assert run_independent_files(one) == run_independent_files(two) == run_independent_files(two_worker_run)
    manifest = json.loads((two / "lintseq_config.json").read_text())
    assert manifest["configs"]["lintseq"]["stats"]["workers"] == 2


def test_killed_run_resumes_from_its_saved_parts_to_the_same_bytes(source_file, tmp_path):
    out = tmp_path / "killed" / "lintseq-out"
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source_file), "--output-dir", str(out),
               "--num-paths", "2", "--chunk-size", "8", "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / ".lintseq-work" / "lintseq"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.json"))) < 2:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished_before = sorted(path.name for path in parts.glob("part-*.json"))
    assert 2 <= len(finished_before) < 8, "the run was not killed mid-way"
    seconds_before = sum(json.loads((parts / name).read_text())["seconds"] for name in finished_before)

    # A copy of the killed run whose first saved part is marked: if the rerun reuses the part, the mark
    # reaches the output; a rerun that starts from scratch would overwrite it.
    marked = tmp_path / "marked" / "lintseq-out"
    shutil.copytree(out, marked)
    first_part = marked / ".lintseq-work" / "lintseq" / "part-00000.rows.parquet"
    table = pq.read_table(first_part)
    pq.write_table(table.set_column(table.schema.get_field_index("instruction"), "instruction",
                                    pa.array(["reused part"] * table.num_rows)), first_part)

    # The same command finishes the job from the saved parts.
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"resumed {len(finished_before)} finished parts" in result.stdout
    # The time it states covers the killed command's parts too, and says which command the wall time is of.
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["resumed_parts"] == len(finished_before) and stats["worker_seconds"] >= seconds_before > 0
    assert f"(the last command, which resumed {len(finished_before)} finished parts" in (out / "README.md").read_text()
    expected = tmp_path / "expected" / "lintseq-out"
    Engine(Source(str(source_file)), expected, GenerationConfig(num_paths=2), progress=False).run()
    assert shard_bytes(out) == shard_bytes(expected)
    assert run_independent_files(out) == run_independent_files(expected)
    rows = load(out, split="train")
    assert len(rows) == 120 and len({(r["id"], r["path_index"]) for r in rows}) == 120

    marked_command = [*command[:command.index("--output-dir") + 1], str(marked), *command[command.index("--output-dir") + 2:]]
    assert subprocess.run(marked_command, capture_output=True, text=True).returncode == 0
    marked_rows = load(marked, split="train")
    reused = [row["row_index"] for row in marked_rows if row["instruction"] == "reused part"]
    assert reused == [index for index in range(8) for _ in range(2)]  # chunk 0: rows 0-7, two paths each


def test_another_sampler_adds_its_config(two_worker_run, tmp_path, source_file):
    out = tmp_path / "both"
    generate(str(source_file), "--output-dir", str(out))
    generate(str(source_file), "--output-dir", str(out), "--sampler", "random")
    assert sorted(p.name for p in (out / "data").iterdir()) == ["baseline", "lintseq", "random"]
    assert len(load(out, "random", split="train")) == 60
    assert load(out, split="train")[0]["sampler"] == "lintseq"  # default unchanged
    manifest = json.loads((out / "lintseq_config.json").read_text())
    assert list(manifest["configs"]) == ["lintseq", "random", "baseline"]


def test_an_output_folder_inside_the_source_folder_is_never_read_as_source(tmp_path, humaneval_corpus):
    # `lintseq generate data/ --output-dir data/lintseq`: the second run (another sampler, or a resume) read
    # the first one's Parquet shards and parts as source rows. Hidden folders (.git, .cache) are not read either.
    data = tmp_path / "data"
    (data / ".cache").mkdir(parents=True)
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:4])]
    (data / "pairs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (data / ".cache" / "old.jsonl").write_text(json.dumps({"instruction": "cached", "response": "x = 1"}) + "\n")
    out = data / "lintseq"
    first = generate(str(data), "--output-dir", str(out))
    second = generate(str(data), "--output-dir", str(out), "--sampler", "random")
    assert "(4 source rows)" in first.stdout and "(4 source rows)" in second.stdout, second.stdout
    assert sorted(load(out, "random", split="train")["instruction"]) == [row["instruction"] for row in rows]
    verified = subprocess.run([sys.executable, "-m", "hub_tools.cli", "verify", str(out)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_bad_rows_are_skipped_with_reason_and_location(tmp_path, humaneval_corpus):
    good = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:5])]
    lines = [json.dumps(good[0]).encode(),
             b'{"instruction": "broken json", "response": ',
             json.dumps({"instruction": "bad bytes", "response": "x = 1"}).encode().replace(b"x = 1", b"x = \xff"),
             json.dumps({"instruction": "no code field"}).encode(),
             json.dumps({"instruction": None, "response": "x = 1"}).encode(),
             json.dumps({"instruction": "number", "response": 42}).encode(),
             json.dumps(good[1]).encode(),
             json.dumps({"instruction": "empty", "response": ""}).encode(),
             json.dumps({"instruction": "comments", "response": "# just a comment\n\n# and another"}).encode(),
             json.dumps({"instruction": "syntax", "response": "def f(:\n    pass"}).encode(),
             json.dumps({"instruction": "long", "response": "\n".join(f"v{i} = {i}" for i in range(3000))}).encode(),
             json.dumps({"instruction": "wide", "response": "x = '" + "a" * 5000 + "'"}).encode(),
             json.dumps([1, 2, 3]).encode(),
             # JSON may spell half of a surrogate pair (a string cut inside an emoji); Parquet cannot store it,
             # and one such row once stopped the whole run.
             b'{"instruction": "cut emoji", "response": "s = \'\\ud83d\'\\nprint(s)"}',
             b'{"instruction": "cut \\udfff emoji", "response": "print(1)"}',
             # The token that separates edits: a completion holding it is not read back into its own program.
             json.dumps({"instruction": "marker", "response": "SEP = '<|diff|>'\nprint('a<|diff|>b'.split(SEP))"}).encode(),
             json.dumps({"instruction": "Split on <|diff|>.", "response": "print(1)"}).encode(),
             json.dumps(good[2]).encode(),
             json.dumps(good[3]).encode(),
             json.dumps(good[4]).encode()]
    source = tmp_path / "messy.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    result = generate(str(source), "--output-dir", str(out))
    assert "skipped 15 rows" in result.stdout
    manifest = json.loads((out / "lintseq_config.json").read_text())
    stats = manifest["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"invalid_json": 1, "invalid_utf8": 1, "missing_field": 2, "non_string_field": 1,
                                "no_code": 2, "syntax_error": 1, "too_long": 1, "line_too_long": 1,
                                "not_an_object": 1, "unpaired_surrogate": 2, "holds_diff_token": 2}
    locations = {entry["location"] for entry in stats["skipped_rows"]}
    assert {"messy.jsonl:2", "messy.jsonl:3", "messy.jsonl:10"} <= locations
    details = {entry["location"]: entry["detail"] for entry in stats["skipped_rows"]}
    assert details["messy.jsonl:4"] == "no 'response' field" and details["messy.jsonl:5"] == "'instruction' is null"
    assert details["messy.jsonl:14"] == "'response' holds an unpaired surrogate U+D83D at character 5"
    assert details["messy.jsonl:15"] == "'instruction' holds an unpaired surrogate U+DFFF at character 4"
    assert details["messy.jsonl:17"] == "'instruction' holds <|diff|>, the token that separates edits"
    rows = load(out, split="train")
    assert sorted(rows["instruction"]) == sorted(row["instruction"] for row in good)


def test_programs_python_will_not_compile_are_skipped_as_syntax_errors(tmp_path, humaneval_corpus):
    # Scraped answers hold code that parses but that Python refuses to run: a function body pasted on its
    # own, a notebook cell with a top-level await. Each is skipped with its line; the good rows stay.
    broken = {"body": "total = 0\nfor x in [1, 2]:\n    total += x\nreturn total",
              "cell": "import asyncio\nawait asyncio.sleep(0)\nprint('done')",
              "arguments": "def f(a, a):\n    return a\nprint(f(1, 2))"}
    rows = [{"instruction": name, "response": program} for name, program in broken.items()]
    rows.insert(1, {"instruction": "good", "response": humaneval_corpus[0]})
    source = tmp_path / "answers.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    summary = Engine(Source(str(source)), tmp_path / "out", GenerationConfig(), progress=False).run()
    assert summary.skipped == {"syntax_error": 3} and summary.rows == 1
    stats = json.loads((tmp_path / "out" / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    details = {entry["location"]: entry["detail"] for entry in stats["skipped_rows"]}
    assert details == {"answers.jsonl:1": "line 4: 'return' outside function",
                       "answers.jsonl:3": "line 2: 'await' outside function",
                       "answers.jsonl:4": "line 1: duplicate argument 'a' in function definition"}


def test_time_limit_skips_a_program_and_the_run_goes_on(tmp_path, humaneval_corpus):
    config = GenerationConfig(time_limit=1e-6)
    source = tmp_path / "slow.jsonl"
    source.write_text(json.dumps({"instruction": "t", "response": humaneval_corpus[0]}) + "\n")
    summary = Engine(Source(str(source)), tmp_path / "out", config, progress=False).run()
    assert summary.skipped == {"time_limit": 1} and summary.rows == 0
    # The command line says what to do about it: long whole files are the usual case.
    result = generate(str(source), "--output-dir", str(tmp_path / "cli"), "--time-limit", "0.000001")
    assert "time_limit: 1 program took longer than 1e-06 s each; raise --time-limit to keep long files" in result.stdout


def test_by_default_the_time_limit_grows_with_the_file_and_its_paths(tmp_path, humaneval_corpus, monkeypatch):
    # A fixed minute per program dropped the long files a corpus of whole files is made of (one path of the
    # standard library's ast.py takes 70 s). By default each path gets a minute for every 250 lines begun; the
    # unit is made tiny here so that every program runs out of its limit and the skip says what it was.
    monkeypatch.setattr(rows, "AUTO_LIMIT_SECONDS", 1e-6)
    long_file = "\n".join(f"value_{i} = {i}" for i in range(600))  # 600 lines: three blocks of 250
    source = tmp_path / "programs.jsonl"
    source.write_text("".join(json.dumps({"instruction": "t", "response": code}) + "\n"
                              for code in (humaneval_corpus[0], long_file)))
    summary = Engine(Source(str(source)), tmp_path / "out", GenerationConfig(num_paths=3), progress=False).run()
    assert summary.skipped == {"time_limit": 2}
    stats = json.loads((tmp_path / "out" / "lintseq_config.json").read_text())["configs"]["lintseq"]
    details = {entry["location"]: entry["detail"] for entry in stats["stats"]["skipped_rows"]}
    assert details == {"programs.jsonl:1": "longer than 3e-06 s", "programs.jsonl:2": "longer than 9e-06 s"}
    assert stats["time_limit"] is None  # recorded as the default, which a resumed run compares with
    # A limit given is the program's, for all its paths, whatever its length.
    assert rows.program_time_limit(GenerationConfig(num_paths=3, time_limit=2.5), long_file) == 2.5


def test_the_card_states_the_time_limit_programs_had(tmp_path, humaneval_corpus):
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"instruction": "t", "response": humaneval_corpus[0]}) + "\n")
    generate(str(source), "--output-dir", str(tmp_path / "default"))
    card = (tmp_path / "default" / "README.md").read_text()
    assert "- **Time limit per program:** 60 s per edit path for every 250 lines begun" in card
    assert "--time-limit" not in card  # the command that reproduces the run gives the default
    generate(str(source), "--output-dir", str(tmp_path / "given"), "--time-limit", "90")
    card = (tmp_path / "given" / "README.md").read_text()
    assert "- **Time limit per program:** 90 s" in card and "--time-limit 90" in card


@pytest.mark.parametrize("suffix", [".json", ".parquet", ".csv"])
def test_other_source_formats_and_field_detection(tmp_path, humaneval_corpus, suffix):
    rows = [{"problem": f"Task {i}", "solution": program, "extra": i} for i, program in enumerate(humaneval_corpus[:4])]
    path = tmp_path / f"source{suffix}"
    datasets.Dataset.from_list(rows).to_pandas().pipe(
        lambda frame: {".json": lambda: path.write_text(json.dumps(rows)),
                       ".parquet": lambda: frame.to_parquet(path),
                       ".csv": lambda: frame.to_csv(path, index=False)}[suffix]()
    )
    out = tmp_path / "out"
    result = generate(str(tmp_path), "--output-dir", str(out))  # the folder holding the file
    assert "prompt field 'problem', code field 'solution' (detected)" in result.stderr
    loaded = load(out, split="train")
    assert sorted(loaded["program"]) == sorted(normalize_program(program) for program in humaneval_corpus[:4])


def test_files_saved_with_a_byte_order_mark_lose_nothing(tmp_path, humaneval_corpus):
    # Windows editors and spreadsheets open UTF-8 files with a byte-order mark: it is not part of the first
    # row (JSON Lines), of the document (JSON) or of the first column's name (CSV); nor of a later line, where
    # such files were joined (`cat`: its rows were skipped as invalid_json).
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:8])]
    folder = tmp_path / "windows"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[:2]), encoding="utf-8-sig")
    (folder / "b.json").write_text(json.dumps(rows[2:4]), encoding="utf-8-sig")
    datasets.Dataset.from_list(rows[4:6]).to_pandas().to_csv(folder / "c.csv", index=False, encoding="utf-8-sig")
    (folder / "d.jsonl").write_bytes(b"".join(("\ufeff" + json.dumps(row) + "\n").encode() for row in rows[6:]))
    out = tmp_path / "out"
    result = generate(str(folder), "--output-dir", str(out))
    assert "prompt field 'instruction', code field 'response' (detected)" in result.stderr
    assert sorted(load(out, split="train")["instruction"]) == sorted(row["instruction"] for row in rows)
    assert "skipped" not in result.stdout


def test_compressed_sources_and_a_cut_download(tmp_path, humaneval_corpus):
    # Corpora ship as .jsonl.gz dumps; a download that stopped halfway keeps the rows before the cut.
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:30])]
    lines = "".join(json.dumps(row) + "\n" for row in rows).encode()
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "part-0.jsonl.gz").write_bytes(gzip.compress(lines[: len(lines) // 2 - 7] + b"\n"))
    cut = gzip.compress(lines)
    (folder / "part-1.jsonl.gz").write_bytes(cut[: len(cut) // 2])  # stops inside the stream
    (folder / "part-2.json.bz2").write_bytes(bz2.compress(json.dumps(rows[:2]).encode()))
    (folder / "part-3.csv.xz").write_bytes(lzma.compress(("instruction,response\n" + "".join(
        '"{}","{}"\n'.format(row["instruction"], row["response"].replace('"', '""')) for row in rows[:2])).encode()))
    (folder / "part-4.jsonl.xz").write_bytes(b"not an xz stream")
    (folder / "notes.txt.gz").write_bytes(gzip.compress(b"not a source"))  # not a source format: not read
    out = tmp_path / "out"
    result = generate(str(folder), "--output-dir", str(out))
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"corrupt_file": 2, "invalid_json": 1}  # part-0 ends inside a row
    corrupt = {entry["location"]: entry["detail"] for entry in stats["skipped_rows"] if entry["reason"] == "corrupt_file"}
    kept_before_cut = int(next(location for location in corrupt if "part-1" in location).rsplit(" ", 1)[1])
    assert f"{folder / 'part-4.jsonl.xz'} before its first row" in corrupt and 5 <= kept_before_cut < 30
    assert all("the rows before it are kept" in detail for detail in corrupt.values())
    read = load(out, split="train")
    part0 = lines[: len(lines) // 2 - 7].count(b"\n")  # whole rows; the line after them is cut inside a row
    assert len(read) == part0 + kept_before_cut + 2 + 2, result.stdout
    assert "skipped 3 rows" in result.stdout


@pytest.mark.parametrize(("setup", "args", "message"), [
    (None, ["missing.jsonl"], "no such file"),
    ("jsonl", ["{source}", "--code-field", "nope"], "no field 'nope'"),
    ("jsonl", ["{source}", "--prompt-field", "instruction+nope"], "no field 'nope'"),
    ("jsonl", ["{source}", "--prompt-field", "instruction+"], "an empty field name"),
    ("jsonl", ["{source}", "--subset", "python"], "--subset, --data-dir and --revision choose part or a version of a Hub dataset"),
    ("odd", ["{source}"], "cannot tell which fields"),
    ("foreign", ["{source}"], "holds no generated dataset"),
    ("jsonl", ["{source}", "--num-paths", "0"], "--num-paths must be at least 1"),
    ("jsonl", ["{source}", "--seed", "-1"], "--seed must be 0 or more, got -1"),  # was every row skipped, exit 0
    ("jsonl", ["{source}", "--time-limit", "nan"], "--time-limit must be positive, got nan"),  # was no limit at all
])
def test_user_errors_are_one_line_with_exit_code_2(tmp_path, setup, args, message):
    source = tmp_path / "source.jsonl"
    out = tmp_path / "out"
    if setup in ("jsonl", "foreign"):
        source.write_text(json.dumps({"instruction": "t", "response": "x = 1"}) + "\n")
    if setup == "odd":
        source.write_text(json.dumps({"a": "t", "b": "x = 1"}) + "\n")
    if setup == "foreign":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    arguments = [arg.format(source=source) for arg in args]
    result = generate(*arguments, "--output-dir", str(out), check=False, cwd=tmp_path)
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert message in last_line and last_line.startswith("lintseq generate: error:")
    assert "Traceback" not in result.stderr
    if setup == "foreign":
        assert (out / "notes.txt").read_text() == "mine"


def test_num_samples_above_the_source_rows_says_so(tmp_path):
    source = tmp_path / "two.jsonl"
    source.write_text("".join(json.dumps({"instruction": f"t{i}", "response": f"x = {i}"}) + "\n" for i in range(2)))
    result = generate(str(source), "--output-dir", str(tmp_path / "out"), "--num-samples", "100", "--sampler", "random")
    assert "note: --num-samples 100: the source has 2 rows; all of them are used" in result.stderr


def test_num_samples_is_a_deterministic_subset(source_file, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    generate(str(source_file), "--output-dir", str(first), "--num-samples", "7", "--sampler", "random")
    generate(str(source_file), "--output-dir", str(second), "--num-samples", "7", "--sampler", "random")
    assert shard_bytes(first) == shard_bytes(second)
    assert len(pq.read_table(first / "data" / "baseline").to_pylist()) == 7


def test_builder_gives_the_cli_rows(two_worker_run, source_file, tmp_path):
    builder = LintSeqBuilder(config_name="lintseq", source=str(source_file), num_paths=2, cache_dir=str(tmp_path))
    builder.download_and_prepare(num_proc=1)
    built = builder.as_dataset(split="train")
    written = load(two_worker_run, split="train")

    def key(row):
        return row["row_index"], row["path_index"]

    assert sorted(built, key=key) == sorted(written, key=key)
    baseline = LintSeqBuilder(config_name="baseline", source=str(source_file), cache_dir=str(tmp_path))
    baseline.download_and_prepare()
    assert sorted(baseline.as_dataset(split="train")["program"]) == sorted(
        load(two_worker_run, "baseline", split="train")["program"])


def test_builder_cache_follows_the_files_not_their_name(source_file, tmp_path, monkeypatch):
    """datasets keyed the builder's cache by the source's name: a row appended to the file was missing from
    the next build, and the same relative name in another folder gave the first folder's rows."""
    lines = source_file.read_text().splitlines(keepends=True)
    for name, count in (("one", 3), ("two", 5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "data.jsonl").write_text("".join(lines[:count]))

    def build(folder: str) -> int:
        monkeypatch.chdir(tmp_path / folder)
        builder = LintSeqBuilder(config_name="baseline", source="data.jsonl", cache_dir=str(tmp_path / "cache"))
        builder.download_and_prepare()
        return builder.as_dataset(split="train").num_rows

    assert build("one") == 3
    assert build("two") == 5  # the other folder's file, not the cached rows of the first
    with (tmp_path / "one" / "data.jsonl").open("a") as file:
        file.write(lines[5])
    assert build("one") == 4  # the row appended since the first build


def test_ctrl_c_says_how_to_finish_the_job(source_file, tmp_path):
    out = tmp_path / "interrupted"
    # A terminal's Ctrl-C reaches the whole process group; a background job ignores SIGINT unless told otherwise.
    script = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "from hub_tools.cli import main; sys.exit(main())")
    process = subprocess.Popen([sys.executable, "-c", script, "generate", str(source_file), "--output-dir", str(out),
                                "--num-paths", "2", "--chunk-size", "4", "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / ".lintseq-work" / "lintseq").glob("part-*.json")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "lintseq generate: interrupted; finished chunks are kept: run the same command again" in stderr


def test_sigint_to_the_main_process_alone_stops_the_workers_at_once(source_file, tmp_path):
    """A supervisor's SIGINT reaches only the main process: its workers finished their chunks first (27 s)."""
    import psutil

    out = tmp_path / "supervised"
    # The second chunk starts with a program astroid takes about 15 s to lint (it computes the numbers).
    slow = ("a0 = 99999 ** 99999\n" + "".join(f"a{i} = a{i - 1} * a{i - 1}\n" for i in range(1, 6))
            + "".join(f"a5.method_{i}()\n" for i in range(8)))
    lines = source_file.read_text().splitlines(keepends=True)
    source = tmp_path / "slow.jsonl"
    source.write_text("".join(lines[:4]) + json.dumps({"instruction": "Slow.", "response": slow}) + "\n"
                      + "".join(lines[4:7]))
    script = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "from hub_tools.cli import main; sys.exit(main())")
    process = subprocess.Popen([sys.executable, "-c", script, "generate", str(source), "--output-dir", str(out),
                                "--num-paths", "1", "--chunk-size", "4", "--workers", "2", "--lint-timeout", "60",
                                "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / ".lintseq-work" / "lintseq").glob("part-*.json")):
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert time.monotonic() - started < 10, "the workers were left to finish their chunks"
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive


def test_a_killed_worker_loses_no_row(two_worker_run, source_file, tmp_path):
    """The OOM killer or a segfault takes a worker down: its chunks are redone, nothing is lost."""
    import psutil

    out = tmp_path / "worker-killed"
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source_file), "--output-dir", str(out),
               "--num-paths", "2", "--workers", "2", "--chunk-size", "4", "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = out / ".lintseq-work" / "lintseq"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.json"))) < 1:
        time.sleep(0.05)
    workers = [child for child in psutil.Process(process.pid).children(recursive=True)
               if "spawn_main" in " ".join(child.cmdline()) and "resource_tracker" not in " ".join(child.cmdline())]
    assert workers, "no worker process found"
    workers[0].kill()
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "worker_crash" not in stdout  # the rows themselves were fine: all of them were redone
    rows = load(out, split="train")
    assert len(rows) == 120
    assert shard_bytes(out) == shard_bytes(two_worker_run)


# Started in every Python process of the runs below (a sitecustomize module on PYTHONPATH): a worker process
# that compiles a program holding the marker ($KILL_MARKER) is killed with SIGKILL, the way the kernel's OOM
# killer or a segfault in a C extension ends it; with $KILLS_FILE, at most $KILLS_AT_MOST times in all (the file
# counts them): a process killed from outside, not a row that kills every process it runs in. The main process
# is spared, and no code of the package is changed.
KILL_ON_MARKER = """
import multiprocessing, os, signal, sys

def _kill_on_marker(event, args):
    if event == "compile" and multiprocessing.parent_process() is not None:
        source = args[0]
        if isinstance(source, (bytes, str)) and os.environ["KILL_MARKER"] in (
                source.decode("utf-8", "replace") if isinstance(source, bytes) else source):
            counter = os.environ.get("KILLS_FILE")
            if counter is not None:
                if (os.path.getsize(counter) if os.path.exists(counter) else 0) >= int(os.environ["KILLS_AT_MOST"]):
                    return
                with open(counter, "ab") as file:
                    file.write(b"x")
            os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(_kill_on_marker)
"""


def test_a_row_that_kills_its_worker_is_found_and_skipped(tmp_path, humaneval_corpus):
    crashing = "KILLS_ITS_WORKER = 1\n\n\ndef f(x):\n    return x + KILLS_ITS_WORKER\n"
    rows = [{"instruction": f"Task {i}", "response": program} for i, program in enumerate(humaneval_corpus[:11])]
    rows.insert(9, {"instruction": "crash", "response": crashing})  # line 10, in the third chunk of 4 rows
    source = tmp_path / "crash.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(KILL_ON_MARKER)
    environment = {**os.environ, "KILL_MARKER": "KILLS_ITS_WORKER", "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out"
    result = generate(str(source), "--output-dir", str(out), "--workers", "2", "--chunk-size", "4", env=environment)
    assert "worker_crash 1" in result.stdout
    assert sorted(load(out, split="train")["instruction"]) == sorted(f"Task {i}" for i in range(11))
    stats = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]
    assert stats["skipped"] == {"worker_crash": 1}
    assert [(entry["location"], entry["reason"]) for entry in stats["skipped_rows"]] == [("crash.jsonl:10", "worker_crash")]
    # The hook does fire where it should: the same row, processed in a worker without crashing it, is absent.
    clean = tmp_path / "clean"
    generate(str(source), "--output-dir", str(clean), "--workers", "2", "--chunk-size", "4")
    assert "crash" in load(clean, split="train")["instruction"]


def test_large_outputs_are_split_into_shards(source_file, tmp_path, monkeypatch):
    monkeypatch.setattr("hub_tools.datagen.writer.ROWS_PER_SHARD", 32)
    monkeypatch.setattr("hub_tools.datagen.writer.ROWS_PER_GROUP", 8)
    out = tmp_path / "sharded"
    summary = Engine(Source(str(source_file)), out, GenerationConfig(sampler="random", num_paths=2), progress=False).run()
    assert summary.rows == 120 and summary.shards == 4
    names = sorted(p.name for p in (out / "data" / "random").iterdir())
    assert names == [f"train-0000{i}-of-00004.parquet" for i in range(4)]
    assert [pq.ParquetFile(out / "data" / "random" / name).metadata.num_rows for name in names] == [32, 32, 32, 24]
    rows = load(out, "random", split="train")
    assert [(r["row_index"], r["path_index"]) for r in rows] == [(i, k) for i in range(60) for k in range(2)]


def test_regenerating_a_folder_never_loads_stale_rows(source_file, tmp_path):
    """load_dataset keys a folder's cache on its card: the card's dataset_info changes with the content."""
    out = tmp_path / "regenerated"
    generate(str(source_file), "--output-dir", str(out), "--sampler", "random", "--num-samples", "9")
    assert set(load(out, "random", split="train")["seed"]) == {0}
    generate(str(source_file), "--output-dir", str(out), "--sampler", "random", "--num-samples", "9", "--seed", "7",
             "--overwrite")
    assert set(load(out, "random", split="train")["seed"]) == {7}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_program_that_crashes_pylint_is_skipped_and_the_run_goes_on(tmp_path, humaneval_corpus, workers):
    # A 500-term sum parses, but pylint's checkers recurse once per term and hit the recursion limit.
    crashing = "def total(x):\n    return (x" + "\n            + x" * 500 + ")\n\nprint(total(1))"
    rows = [{"instruction": "first", "response": humaneval_corpus[0]},
            {"instruction": "crash", "response": crashing},
            {"instruction": "last", "response": humaneval_corpus[1]}]
    source = tmp_path / "crash.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "out"
    result = generate(str(source), "--output-dir", str(out), "--workers", str(workers))
    assert "linter_crash 1" in result.stdout
    assert "Traceback" not in result.stderr and "Exception on node" not in result.stderr  # said in one line
    assert sorted(load(out, split="train")["instruction"]) == ["first", "last"]
    skipped = json.loads((out / "lintseq_config.json").read_text())["configs"]["lintseq"]["stats"]["skipped_rows"]
    assert skipped[0]["location"] == "crash.jsonl:2" and "recursion" in skipped[0]["detail"]


def test_parts_past_chunk_99999_are_found_and_assembled_in_order(tmp_path):
    """Chunk 100,000 (12.8 million rows at the default chunk size) has a six-digit part name: it is neither
    lost nor taken for chunk 10,000."""
    from hub_tools.datagen.writer import PartStore

    store = PartStore(tmp_path, "random")
    store.prepare({"run": 1}, overwrite=False)
    numbers = [9999, 10000, 99999, 100000, 100001, 1000000]
    for number in numbers:
        row = {"id": f"r{number}", "path_index": 0, "row_index": number, "instruction": "i", "response": "r",
               "program": "x = 1", "edit_path": ["@@ -0,0 +1 @@\n+x = 1"], "num_edits": 1, "sampler": "random",
               "seed": 0, "prompt": "p", "completion": "c"}
        baseline = {key: row[key] for key in ("id", "row_index", "instruction", "response", "program", "prompt",
                                              "completion")}
        store.write(number, [row], [baseline], {"source_rows": 1, "number": number})
    assert store.completed() == set(numbers)
    assert [part["number"] for part in store.stats()] == numbers
    rows, shards = store.assemble(tmp_path, "random", "rows")
    assert (rows, shards) == (6, 1)
    table = pq.read_table(next((tmp_path / "data" / "random").glob("*.parquet")))
    assert table.column("row_index").to_pylist() == numbers


def test_a_row_whose_process_was_killed_from_outside_is_tried_again_not_skipped(tmp_path, humaneval_corpus):
    # Under a kill storm (the OOM killer on a busy node), healthy rows were skipped as worker_crash for good.
    program = "KILLED_FROM_OUTSIDE = 1\n\n\ndef f(x):\n    return x + KILLED_FROM_OUTSIDE\n"
    rows = [{"instruction": f"Task {i}", "response": text} for i, text in enumerate(humaneval_corpus[:5])]
    rows.insert(2, {"instruction": "unlucky", "response": program})
    source = tmp_path / "killed.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(KILL_ON_MARKER)
    environment = {**os.environ, "KILL_MARKER": "KILLED_FROM_OUTSIDE", "KILLS_FILE": str(tmp_path / "kills"),
                   "KILLS_AT_MOST": "4",
                   "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out"
    result = generate(str(source), "--output-dir", str(out), "--workers", "2", "--chunk-size", "3", env=environment)
    # Killed in the pool, with its chunk, with half of it, and in the first process it had alone.
    assert (tmp_path / "kills").read_bytes() == b"xxxx"
    assert "worker_crash" not in result.stdout
    assert sorted(load(out, split="train")["instruction"]) == sorted(["unlucky", *(f"Task {i}" for i in range(5))])
