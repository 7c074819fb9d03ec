"""``lintseq generate``: turn an instruction + program dataset into a LintSeq edit-sequence dataset."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hub_tools.errors import UserError
from hub_tools.linters.pylint_backend import DEFAULT_MEMORY_LIMIT_MB


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq generate",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description="Write a LintSeq edit-sequence dataset (Parquet + dataset card) that datasets.load_dataset "
        "opens, locally and once pushed to the Hub. A killed run resumes when the same command is run again.",
    )
    parser.add_argument("source", nargs="?", default=None, metavar="SOURCE",
                        help="a .jsonl/.json/.parquet/.csv file (the text formats also as .gz/.bz2/.xz) or a "
                        "folder of them; a folder of .py files (a repository: one code-only row per file) or a .py "
                        "file; or a Hub dataset id (default: the built-in HumanEval corpus)")
    parser.add_argument("--output-dir", required=True, help="the dataset folder to write")
    parser.add_argument("--prompt-field", help="field holding the instruction (detected when omitted; a code-only "
                        "source, such as The Stack's 'content', gets empty instructions); fields joined by '+' "
                        "('instruction+input', detected for Alpaca's layout) are joined by a blank line; a "
                        "conversation field ('messages') is named as both --prompt-field and --code-field")
    parser.add_argument("--code-field", help="field holding the program (detected when omitted)")
    parser.add_argument("--split", default="train", help="split of a Hub dataset (default: train)")
    parser.add_argument("--subset", help="subset of a Hub dataset (the configuration name load_dataset takes)")
    parser.add_argument("--data-dir", help="folder of a Hub dataset's repository to read alone (The Stack's "
                        "'data/python'), as load_dataset(..., data_dir=...)")
    parser.add_argument("--revision", help="branch, tag or commit of a Hub dataset to read (default: its main "
                        "branch); the run reads the commit it points to when the run starts, to the end, and records it")
    parser.add_argument("--sampler", choices=["lintseq", "random"], default="lintseq",
                        help="lintseq (default) or random: the ablation that deletes lines without a linter")
    parser.add_argument("--profile", choices=["portable", "reference"], default="portable",
                        help="which pylint messages count as errors (default: portable)")
    parser.add_argument("--num-paths", type=int, default=1, help="edit paths per program (the paper uses 5)")
    parser.add_argument("--num-samples", type=int, help="process a random subset of this many source rows")
    parser.add_argument("--workers", type=int, default=1,
                        help=f"worker processes (default: 1; this machine has {os.cpu_count()} cores)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds one program may take for all its paths before it is skipped, not counting "
                        "the one-time loading of the libraries it imports (default: 60 per path for every 250 "
                        "lines begun, so long files are kept: 900 for a 600-line file with --num-paths 5)")
    parser.add_argument("--max-lines", type=int, default=2000, help="skip longer programs (default: 2000)")
    parser.add_argument("--lint-timeout", type=float, default=10.0,
                        help="seconds one lint call may take, not counting the one-time loading of the "
                        "libraries it imports; a program with a longer call is skipped (lint_timeout), never "
                        "kept unchecked (default: 10)")
    parser.add_argument("--lint-memory-limit", type=float, default=float(DEFAULT_MEMORY_LIMIT_MB), metavar="MIB",
                        help="MiB by which one lint call may grow its process's memory (pylint evaluates "
                        "'[0] * 99_999_999' into a list that long); a program past it is skipped (lint_memory), "
                        f"the run goes on; 0: no limit (default: {DEFAULT_MEMORY_LIMIT_MB})")
    parser.add_argument("--drop-duplicates", action="store_true",
                        help="skip source rows that repeat an earlier row exactly (default: keep and count them)")
    parser.add_argument("--ignore-init-errors", action="store_true",
                        help="errors the whole program already has (same message on the same line) do not induce "
                        "deletions: programs indented with tabs or two spaces, which pylint's bad-indentation "
                        "(W0311) flags on every indented line, are then sampled as usual, and their "
                        "intermediate programs keep those messages (the paper's option; default: off)")
    parser.add_argument("--chunk-size", type=int,
                        help="source rows per unit of work, saved as one part as soon as it is done (default: 128; "
                        "the output does not depend on it, an unfinished run resumes with the same value)")
    parser.add_argument("--decontaminate", metavar="BENCHMARKS",
                        help="drop rows whose program or instruction overlaps these benchmarks (comma-separated: "
                        "humaneval, NAME=PATH or PATH of a .jsonl of problems, e.g. humaneval,mbpp=mbpp.jsonl); "
                        "dropped rows are counted as contaminated")
    parser.add_argument("--contamination-benchmarks", metavar="BENCHMARKS",
                        help="instead of --decontaminate: benchmarks the overlap is measured and reported against, "
                        "rows are kept (default: humaneval; 'none' measures nothing, and the card says so)")
    parser.add_argument("--dedup", choices=["none", "exact"], default="none",
                        help="exact: keep only the first source row of each normalised program (formatting, "
                        "comments and quote style set aside); duplicates are counted either way (default: none)")
    parser.add_argument("--tokenizer", metavar="NAME_OR_PATH",
                        help="count the tokens of every row with this tokenizer (a folder or tokenizer.json, or a "
                        "Hub model id in the local cache) and report them in the card (default: the paper's "
                        "TinyCodeLM tokenizer, upiter/TinyCodeLM-150M, when it is in the local Hub cache, else "
                        "none; 'none' counts nothing)")
    parser.add_argument("--keep-fields", metavar="FIELDS",
                        help="source fields to keep in every row, comma-separated: each becomes a string column of "
                        "its name (a text as it is, another value as JSON), e.g. The Stack's "
                        "max_stars_repo_path,max_stars_repo_licenses, or 'path' for a folder of .py files")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a finished or unfinished run made with other settings in the output folder")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress on stderr (a bar on a terminal, a line a minute in a log)")
    scale = parser.add_argument_group(
        "scale-out on datatrove (needs the distributed extra); same folder and rows as without --executor")
    scale.add_argument("--executor", choices=["local", "slurm", "ray"],
                       help="run datatrove tasks on a local pool, a Slurm cluster or a Ray cluster")
    scale.add_argument("--tasks", type=int, help="datatrove tasks (default: --workers); each takes a block of rows")
    scale.add_argument("--logging-dir", help="datatrove logs, statistics and job files (default: in the work folder)")
    scale.add_argument("--partition", help="Slurm partition")
    scale.add_argument("--time", default="24:00:00", help="Slurm time limit per task (default: 24:00:00)")
    scale.add_argument("--cpus-per-task", type=int, default=1, help="CPUs per task, Slurm and Ray (default: 1)")
    scale.add_argument("--mem-per-cpu-gb", type=float, default=2.0,
                       help="memory per CPU in GB, Slurm and Ray (default: 2)")
    scale.add_argument("--sbatch-arg", action="append", default=[], metavar="OPTION",
                       help="extra sbatch option, repeatable: --sbatch-arg=--account=abc")
    scale.add_argument("--no-wait", action="store_true",
                       help="Slurm: return once submitted; run the same command again to merge")
    scale.add_argument("--ray-address", help="Ray cluster to join, host:port or auto (default: RAY_ADDRESS, else start a local Ray)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    for name in ("num_paths", "workers", "num_samples", "max_lines", "tasks", "chunk_size", "cpus_per_task"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if not args.executor:
        given = [f"--{name.replace('_', '-')}" for name in ("tasks", "logging_dir", "partition",
                                                              "ray_address") if getattr(args, name) is not None]
        if given or args.no_wait or args.sbatch_arg:
            raise UserError(f"{', '.join(given) or '--no-wait/--sbatch-arg'} only apply with --executor local|slurm|ray")
    for name in ("time_limit", "lint_timeout"):
        if getattr(args, name) is not None and not getattr(args, name) > 0:  # nan too
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.lint_memory_limit < 0:
        raise UserError(f"--lint-memory-limit must be 0 (no limit) or more, got {args.lint_memory_limit}")
    if args.seed < 0:  # numpy's seeds are non-negative: every row was skipped as a sampler error, exit 0
        raise UserError(f"--seed must be 0 or more, got {args.seed}")

    from hub_tools.datagen.decontamination import DecontaminationConfig
    from hub_tools.datagen.engine import CHUNK_SIZE, Engine
    from hub_tools.datagen.rows import GenerationConfig
    from hub_tools.datagen.sources import JOIN, Source, detect_fields, kept_fields
    from hub_tools.lintseq import LintSeqConfig

    # Benchmarks and tokenizer first: a wrong name fails in one line before the source is read.
    if args.decontaminate is not None and args.contamination_benchmarks is not None:
        raise UserError("--decontaminate measures and drops the benchmarks it names: give the benchmarks there, "
                        "without --contamination-benchmarks (which measures and keeps)")
    option = "--decontaminate" if args.decontaminate is not None else "--contamination-benchmarks"
    benchmarks = args.decontaminate if args.decontaminate is not None else args.contamination_benchmarks or "humaneval"
    specs = [spec for spec in benchmarks.split(",") if spec.strip()]
    if benchmarks.strip() == "none" and option == "--contamination-benchmarks":
        specs = []
    elif not specs or "none" in (spec.strip() for spec in specs):
        raise UserError(f"{option} {benchmarks!r} names no benchmark: give humaneval, NAME=PATH or PATH"
                        + (" (or --contamination-benchmarks none to measure nothing)" if option == "--decontaminate" else ""))
    decontamination = DecontaminationConfig.from_specs(specs, drop=args.decontaminate is not None) if specs else None
    from hub_tools.datagen.token_statistics import cached_paper_tokenizer, load_tokenizer

    tokenizer = cached_paper_tokenizer() if args.tokenizer is None else args.tokenizer
    if tokenizer == "none":
        tokenizer = None
    if tokenizer:
        load_tokenizer(tokenizer)  # a bad name fails here, in one line, not in every worker
        tokenizer = str(Path(tokenizer).resolve()) if Path(tokenizer).exists() else tokenizer
        print(f"tokens counted with {tokenizer}", file=sys.stderr)
    source = Source(args.source, split=args.split, subset=args.subset, data_dir=args.data_dir, exclude=args.output_dir,
                    revision=args.revision)
    if source.revision:
        source.pin_commit()  # a revision the dataset lacks fails here, in one line naming it
    available = source.first_fields()
    if not available:
        first = next(iter(source), None)
        why = f" (the first, {first.location}: {first.error[0]}, {first.error[1]})" if first and first.error else ""
        raise UserError(f"{source.description}: no readable row{why}")
    prompt_field, code_field = detect_fields(available, args.prompt_field, args.code_field)
    keep_fields = kept_fields([name.strip() for name in (args.keep_fields or "").split(",") if name.strip()], available)
    detected = " (detected)" if not (args.prompt_field and args.code_field) else ""
    if prompt_field is not None and prompt_field == code_field:
        fields = f"conversations in {code_field!r} (the user's turn is the instruction, the assistant's the response)"
    elif prompt_field is not None and JOIN in prompt_field:
        joined = " + ".join(repr(name) for name in prompt_field.split(JOIN))
        fields = f"prompt fields {joined} (joined by a blank line where not empty), code field {code_field!r}"
    else:
        prompt = "none (code only: every instruction is empty)" if prompt_field is None else repr(prompt_field)
        fields = f"prompt field {prompt}, code field {code_field!r}"
    print(f"source: {source.description}; {fields}{detected}", file=sys.stderr)
    config = GenerationConfig(
        prompt_field=prompt_field, code_field=code_field, sampler=args.sampler, profile=args.profile,
        num_paths=args.num_paths, seed=args.seed, time_limit=args.time_limit, lint_timeout=args.lint_timeout,
        lint_memory_limit=args.lint_memory_limit, max_lines=args.max_lines, drop_duplicates=args.drop_duplicates,
        decontamination=decontamination, dedup=args.dedup, tokenizer=tokenizer, keep_fields=keep_fields,
        lintseq=LintSeqConfig(ignore_init_errors=args.ignore_init_errors),
    )
    if args.executor:
        summary = _run_distributed(args, source, config)
        if summary is None:
            return 0  # Slurm jobs left running
    else:
        engine = Engine(source, args.output_dir, config, workers=args.workers, num_samples=args.num_samples,
                        chunk_size=args.chunk_size or CHUNK_SIZE, overwrite=args.overwrite,
                        progress=not args.no_progress)
        summary = engine.run()
    if summary.already_done:
        print(f"{args.output_dir} already holds this run ({summary.config_name}: {summary.rows} rows, same "
              "settings): nothing to do")
        return 0

    if summary.resumed_parts:  # this command computed only some of the programs: no rate of all of them
        timing = (f"in {summary.seconds:.1f} s, resumed {summary.resumed_parts} finished parts "
                  f"({summary.worker_seconds:.1f} s of worker time over every command)")
    else:
        rate = summary.programs / summary.seconds if summary.seconds else 0.0
        timing = f"in {summary.seconds:.1f} s ({rate:.1f} programs/s)"
    print(f"\n{summary.config_name}: {_count(summary.rows, 'row')} from {_count(summary.programs, 'program')} "
          f"({_count(summary.source_rows, 'source row')}) {timing}")
    if summary.duplicates:
        action = "removed" if args.dedup == "exact" else (
            "exact repeats of a row skipped" if args.drop_duplicates else "kept (remove them with --dedup exact)")
        print(f"duplicates: {summary.duplicates} programs repeat an earlier source row's program (exact copies, or "
              f"the same once formatting, comments and quote style are set aside); {action}")
    if summary.contamination is not None:
        found = summary.contamination
        names = ", ".join(found["benchmarks"])
        if found["rows"]:
            action = "dropped" if found["drop"] else "KEPT (drop them with --decontaminate)"
            by = ", ".join(f"{name} {count}" for name, count in found["by_benchmark"].items())
            print(f"contamination: {found['rows']} source rows overlap {found['tasks']} problems of {names} ({by}); {action}")
        else:
            print(f"contamination: no row overlaps {names}")
    if summary.other_indentation:
        other = summary.other_indentation
        units = ", ".join(f"{unit} {count}" for unit, count in other["units"].items())
        others = other["others_edits_per_program"]
        against = "" if others is None else f", against {others:g} for the others"
        count = _count(other["programs"], "program") + (" is" if other["programs"] == 1 else " are")
        print(f"indentation: {count} not indented with four spaces ({units}): pylint's "
              f"bad-indentation (W0311, counted) flags their indented lines, so their paths write those lines in one "
              f"edit (mean edits per path: {other['edits_per_program']:g}{against}); --ignore-init-errors samples "
              "them as usual")
    if summary.skipped:
        reasons = ", ".join(f"{reason} {count}" for reason, count in summary.skipped.most_common())
        print(f"skipped {_count(sum(summary.skipped.values()), 'row')}: {reasons} (locations in lintseq_config.json)")
        if summary.skipped.get("time_limit"):
            # Whole files of a thousand lines and more take minutes of pylint: a bias against long files.
            from hub_tools.datagen.rows import AUTO_LIMIT_LINES, AUTO_LIMIT_SECONDS

            limit = (f"{args.time_limit:g} s each" if args.time_limit is not None else
                     f"their limit ({AUTO_LIMIT_SECONDS:g} s per path for every {AUTO_LIMIT_LINES} lines)")
            print(f"  time_limit: {_count(summary.skipped['time_limit'], 'program')} took longer than {limit}; "
                  "raise --time-limit to keep long files")
    shards = _count(summary.shards, "shard")
    print(f"wrote {args.output_dir}/data/{summary.config_name}/ ({shards}), "
          f"{args.output_dir}/data/baseline/, README.md, lintseq_config.json")
    print(f'load it with: datasets.load_dataset("{args.output_dir}")  '
          f'# or load_dataset("{args.output_dir}", "baseline")')
    return 0


def _run_distributed(args, source, config):
    try:
        from hub_tools.datagen.distributed import DistributedRun, ExecutorConfig
    except ImportError as error:
        raise UserError(f"--executor needs the distributed extra: pip install 'hub-tools[distributed]' ({error})") from None
    executor = ExecutorConfig(
        executor=args.executor, tasks=args.tasks or args.workers, workers=args.workers,
        chunk_size=args.chunk_size or ExecutorConfig.chunk_size, logging_dir=args.logging_dir,
        partition=args.partition, time=args.time, cpus_per_task=args.cpus_per_task,
        mem_per_cpu_gb=args.mem_per_cpu_gb, sbatch_args=args.sbatch_arg, wait=not args.no_wait,
        ray_address=args.ray_address, progress=not args.no_progress,
    )
    return DistributedRun(source, args.output_dir, config, executor, num_samples=args.num_samples,
                          overwrite=args.overwrite).run()


def _count(number: int, noun: str) -> str:
    """``"1 row"``, ``"3 rows"``."""
    return f"{number} {noun}" + ("" if number == 1 else "s")
