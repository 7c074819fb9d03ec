"""``lintseq verify DIR``: replay every edit path of a generated dataset and check it."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq verify",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description="Check a dataset folder written by `lintseq generate`: every edit path replays exactly to "
                    "its program with insertions only, prompts and completions match, and (lintseq sampler) "
                    "every intermediate program passes the recorded lint profile. Exit code 0 when all "
                    "rows pass, 1 when any fails.",
    )
    parser.add_argument("folder", metavar="DIR", help="the folder written by `lintseq generate --output-dir`")
    parser.add_argument("--config", metavar="NAME", help="check only this config (lintseq, random or baseline)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes that check rows in parallel (default: 1)")
    parser.add_argument("--limit", type=int, metavar="N", help="check only the first N rows of each config")
    parser.add_argument("--lint-timeout", type=float, metavar="SECONDS",
                        help="seconds one lint call may take (default: the limit the run recorded); a call "
                        "that takes longer fails the row as lint_unchecked, it never passes")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress on stderr (a bar on a terminal, a line a minute in a log)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from hub_tools.errors import UserError

    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    if args.limit is not None and args.limit < 0:
        raise UserError(f"--limit must be 0 or more, got {args.limit}")
    if args.lint_timeout is not None and args.lint_timeout <= 0:
        raise UserError(f"--lint-timeout must be positive, got {args.lint_timeout}")

    from hub_tools.datagen.verify import VerifyConfig, verify_dataset

    report = verify_dataset(args.folder, VerifyConfig(config=args.config, workers=args.workers, limit=args.limit,
                                                      progress=not args.no_progress, lint_timeout=args.lint_timeout))
    print(report.format())
    return 0 if report.ok else 1
