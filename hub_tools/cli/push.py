"""``lintseq push dataset|model DIR --repo-id ORG/NAME``: publish a folder, with its card, to the Hub."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub_tools.errors import UserError

EPILOG = """examples:
  lintseq push dataset lintseq-humaneval --repo-id me/lintseq-humaneval --dry-run
  lintseq push dataset lintseq-humaneval --repo-id me/lintseq-humaneval --private
  lintseq push model outputs/tinycodelm-lintseq --repo-id me/tinycodelm-lintseq \\
      --eval-results outputs/eval/metrics.json --base-model me/tinycodelm-150m --dataset me/lintseq-humaneval

Links that leave DIR, names the Hub cannot serve and broken Parquet or safetensors files are refused;
secret-looking and unexpectedly large files are held back until an --include pattern names them.
The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT (or --endpoint) picks another Hub."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="where to publish")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", metavar="BRANCH", help="branch to push to (created if missing; default main)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--commit-message", metavar="TEXT", help="title of the commit")
    parser.add_argument("--dry-run", action="store_true",
                        help="send nothing; print the files, their sizes and the card")
    parser.add_argument("--endpoint", metavar="URL", help="the Hub's URL (default: HF_ENDPOINT or huggingface.co)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lintseq push", description="Publish a dataset or a model to the Hub.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="dataset|model")
    dataset = kinds.add_parser("dataset", help="a folder written by `lintseq generate`", allow_abbrev=False,
                               description="Publish a dataset folder (Parquet, card, lintseq_config.json) as it is.")
    dataset.add_argument("folder", type=Path, metavar="DIR")
    _common(dataset)
    dataset.add_argument("--include", action="append", default=[], metavar="PATTERN",
                         help="also upload held-back files (secret-looking or unexpectedly large) matching this "
                              "glob (relative to DIR; repeatable)")
    model = kinds.add_parser("model", help="a folder written by save_pretrained / `lintseq train`", allow_abbrev=False,
                             description="Publish safetensors weights, configs, tokenizer and a model card.")
    model.add_argument("folder", type=Path, metavar="DIR")
    _common(model)
    card = model.add_argument_group("model card")
    card.add_argument("--eval-results", type=Path, nargs="+", default=[], metavar="FILE",
                      help="metrics.json file(s) from `lintseq eval`, one per benchmark")
    card.add_argument("--template", default="auto",
                      help="tinycodelm, finetune, a template file, or auto (default: tinycodelm when a name says so)")
    card.add_argument("--base-model", metavar="ID", help="Hub id of the model this one was finetuned from")
    card.add_argument("--dataset", dest="datasets", action="append", default=[], metavar="ID",
                      help="Hub id of a training dataset (repeatable)")
    card.add_argument("--license", default="apache-2.0", help="licence id for the card (default: apache-2.0)")
    card.add_argument("--tag", dest="tags", action="append", default=[], metavar="TAG", help="extra tag (repeatable)")
    card.add_argument("--keep-card", action="store_true", help="upload DIR/README.md as it is instead of a new card")
    files = model.add_argument_group("files")
    files.add_argument("--include-training-state", action="store_true",
                       help="also upload optimizer, scheduler and RNG state")
    files.add_argument("--include-logs", action="store_true",
                       help="also upload trainer_state.json, *_results.json and TensorBoard runs")
    files.add_argument("--include", action="append", default=[], metavar="PATTERN",
                       help="also upload files matching this glob (relative to DIR; repeatable)")
    return parser


def main(argv: list[str]) -> int:
    arguments = build_parser().parse_args(argv)
    from hub_tools.hub.cards import ModelCardConfig
    from hub_tools.hub.folder_policy import refusal_error
    from hub_tools.hub.publish import push_dataset, push_model

    common = {"private": arguments.private, "revision": arguments.revision, "create_pr": arguments.create_pr,
              "commit_message": arguments.commit_message, "dry_run": arguments.dry_run,
              "endpoint": arguments.endpoint}
    if arguments.kind == "dataset":
        result = push_dataset(arguments.folder, arguments.repo_id, include=tuple(arguments.include), **common)
    else:
        if arguments.keep_card and arguments.eval_results:
            raise UserError("--keep-card uploads DIR/README.md as it is, so --eval-results would be ignored: "
                            "drop one of them")
        card = ModelCardConfig(template=arguments.template, license=arguments.license,
                               base_model=arguments.base_model, datasets=arguments.datasets, tags=arguments.tags,
                               eval_results=arguments.eval_results)
        result = push_model(arguments.folder, arguments.repo_id, card=card, keep_card=arguments.keep_card,
                            include_training_state=arguments.include_training_state,
                            include_logs=arguments.include_logs, include=tuple(arguments.include), **common)
    print(result.report())
    if result.plan.refused:  # a dry run lists every problem; it still fails, as the push would
        raise refusal_error(result.plan.refused, result.plan.folder)
    return 0
