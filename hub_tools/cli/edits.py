"""``lintseq edits FILE.py``: print the LintSeq edit path of one Python file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hub_tools.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq edits",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description="Sample one edit path that writes FILE from an empty file, one insertion at a time.",
    )
    parser.add_argument("file", metavar="FILE.py", help="the Python file")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--sampler", choices=["lintseq", "random"], default="lintseq",
                        help="lintseq (linter-guided, default) or random (the no-linter ablation)")
    parser.add_argument("--profile", choices=["portable", "reference"], default="portable",
                        help="which pylint messages count as errors (default: portable)")
    parser.add_argument("--json", action="store_true", help='print {"edit_path": [...]} instead of text')
    return parser


def read_program(path: Path) -> str:
    """Read a Python source file or raise a one-line :class:`UserError`."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a Python file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read it ({error.strerror})") from None
    return text


def _render(path, use_color: bool) -> str:
    green, dim, reset = ("\x1b[32m", "\x1b[2m", "\x1b[0m") if use_color else ("", "", "")
    blocks = []
    for number, diff in enumerate(path.diffs, start=1):
        body = [f"{dim}── edit {number}/{len(path.diffs)} ──{reset}"]
        for line in diff.split("\n"):
            body.append(f"{green}{line}{reset}" if line.startswith("+") else f"{dim}{line}{reset}")
        blocks.append("\n".join(body))
    return "\n".join(blocks)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.seed < 0:  # numpy's seeds are non-negative
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    program = read_program(Path(args.file))

    from hub_tools.lintseq import LintSeqConfig, NoCodeError, normalize_program, sample_edit_path

    linter = None
    if args.sampler == "lintseq":
        from hub_tools.linters import LinterCrash, LintMemoryLimit, LintTimeout, PylintLinter
        from hub_tools.linters.syntax_errors import syntax_error

        linter = PylintLinter(args.profile)
        error = syntax_error(normalize_program(program), "compile")
        if error is not None:
            raise UserError(f"{args.file}:{error.line}: {error.message}; LintSeq needs a program that compiles")
    try:
        path = sample_edit_path(program, linter, seed=args.seed, config=LintSeqConfig(), sampler=args.sampler)
    except NoCodeError:
        raise UserError(f"{args.file}: no code to write (the file is empty or only comments)") from None
    except Exception as error:
        if linter is not None and isinstance(error, (LinterCrash, LintMemoryLimit, LintTimeout)):
            raise UserError(f"{args.file}: {error}") from None
        raise
    if args.json:
        print(json.dumps({"edit_path": path.diffs}, ensure_ascii=False))
    else:
        print(_render(path, use_color=sys.stdout.isatty()))
        print(f"\n{len(path.diffs)} edits, {len(path.program.splitlines())} lines, sampler={args.sampler}, "
              f"seed={args.seed}" + (f", profile={args.profile}" if linter else ""), file=sys.stderr)
    return 0
