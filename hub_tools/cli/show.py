"""``lintseq show DIR [--index N] [--config NAME] [--html PAGE]``: one edit sequence of a dataset, step by step.

Prints the instruction, then every edit (its diff, and the program after it with the inserted lines
marked), then a one-line summary. Syntax-highlighted with rich when stdout is a terminal, plain text
otherwise (so the output can be piped or diffed). ``--html PAGE`` writes the same view as a standalone web
page instead (see :mod:`hub_tools.datagen.edit_view`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hub_tools.datagen.edit_view import Step, replay_steps

__all__ = ["Step", "replay_steps"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lintseq show",
        allow_abbrev=False,  # "--num-path 2" must not pass for --num-paths
        description="Print one row of a dataset written by `lintseq generate`: the instruction, then each edit "
                    "and the program after it.",
    )
    parser.add_argument("folder", metavar="DIR", help="the folder written by `lintseq generate --output-dir`")
    parser.add_argument("--index", type=int, default=0, metavar="N",
                        help="row to show, counted from 0 over the config's files in order; -1 is the last "
                             "(default: 0)")
    parser.add_argument("--config", metavar="NAME", help="config to read (default: the dataset's default config)")
    parser.add_argument("--html", metavar="PAGE",
                        help="write the step-by-step view as a standalone HTML page to this file instead of printing it")
    return parser


def summary(row: dict, steps: list[Step]) -> str:
    """The closing line: edits, lines, and whether the replay rebuilds ``program``."""
    program = row["program"] or ""
    lines = program.count("\n") + 1 if program else 0
    if "edit_path" not in row:
        return f"baseline row: the completion is the whole {lines}-line program, no edits"
    if steps and steps[-1].error:
        return (f"edit {steps[-1].number} of {len(row['edit_path'])} does not apply ({steps[-1].error}); "
                "`lintseq verify` checks every row")
    matches = bool(steps) and steps[-1].program == program
    added = sum(len(step.inserted) for step in steps)
    per_edit = f", {added / len(steps):.1f} lines per edit" if steps else ""
    verdict = "replaying them gives `program` exactly" if matches else \
        "replaying them does NOT give `program` (`lintseq verify` reports why)"
    return f"{len(steps)} edits write a {lines}-line program{per_edit}; {verdict}"


def _header(name: str, index: int, total: int, location: str, row: dict) -> str:
    details = [f"id {row.get('id')}"]
    if "path_index" in row:
        details += [f"path {row['path_index']}", f"sampler {row.get('sampler')}", f"seed {row.get('seed')}"]
    return f"{name} row {index} of {total} ({location}): " + ", ".join(details)


def print_plain(name: str, index: int, total: int, location: str, row: dict, steps: list[Step]) -> None:
    print(_header(name, index, total, location, row))
    print("\n== instruction ==")
    print(row["instruction"])
    if "edit_path" not in row:
        print("\n== program (the completion) ==")
        print(row["program"])
    for step in steps:
        print(f"\n== edit {step.number}/{len(row['edit_path'])} ==")
        print(step.diff)
        if step.error:
            print(f"!! cannot apply: {step.error}")
            break
        print(f"-- program after edit {step.number} (+ marks inserted lines) --")
        for number, line in enumerate(step.program.split("\n"), start=1):
            print(f"{'+' if number in step.inserted else ' '}{number:4d} | {line}")
    print()
    print(summary(row, steps))


def print_rich(name: str, index: int, total: int, location: str, row: dict, steps: list[Step],
               console=None) -> None:
    from rich.console import Console
    from rich.rule import Rule
    from rich.syntax import Syntax
    from rich.text import Text

    console = console or Console()
    console.print(Text(_header(name, index, total, location, row), style="bold"))
    console.print(Rule("instruction"))
    console.print(Text(row["instruction"]))  # often prose: no highlighting
    if "edit_path" not in row:
        console.print(Rule("program (the completion)"))
        console.print(Syntax(row["program"], "python", line_numbers=True, word_wrap=True,
                             background_color="default"))
    for step in steps:
        console.print(Rule(f"edit {step.number}/{len(row['edit_path'])}"))
        console.print(Syntax(step.diff, "diff", word_wrap=True, background_color="default"))
        if step.error:
            console.print(Text(f"cannot apply: {step.error}", style="bold red"))
            break
        console.print(Text(f"program after edit {step.number} (inserted lines highlighted)", style="dim"))
        console.print(Syntax(step.program, "python", line_numbers=True, highlight_lines=step.inserted,
                             word_wrap=True, background_color="default"))
    console.print(Rule())
    console.print(Text(summary(row, steps), style="bold"))


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from hub_tools.datagen.folder import DatasetFolder

    dataset = DatasetFolder.open(args.folder)
    name = dataset.check_config(args.config or dataset.default_config)[0]
    total = dataset.num_rows(name)
    # Negative indices count from the end, as in Python; read_row names the valid range otherwise.
    index = args.index + total if args.index < 0 and total + args.index >= 0 else args.index
    location, row = dataset.read_row(name, index)
    steps = replay_steps(row["edit_path"] or []) if "edit_path" in row else []
    if args.html:
        return _write_html(Path(args.html), Path(args.folder).resolve().name, name, index, total, location, row, steps)
    printer = print_rich if sys.stdout.isatty() else print_plain
    try:
        printer(name, index, total, location, row, steps)
        sys.stdout.flush()
    except BrokenPipeError:
        # `lintseq show DIR | head`: the reader left; say nothing more (and let the exit flush nothing).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _write_html(page: Path, dataset: str, name: str, index: int, total: int, location: str, row: dict,
                steps: list[Step]) -> int:
    from hub_tools.datagen.edit_view import Step as View
    from hub_tools.datagen.edit_view import html_page
    from hub_tools.errors import UserError

    if page.is_dir():
        raise UserError(f"--html {page}: is a folder; give the name of the page to write, e.g. {page}/row.html")
    if not page.parent.is_dir():
        raise UserError(f"--html {page}: the folder {page.parent} does not exist")
    if "edit_path" not in row:  # a baseline row: one step that writes the whole program
        program = row["program"] or ""
        steps = [View(1, "", program, set(range(1, program.count("\n") + 2)))]
    text = html_page(f"{dataset}: {name} row {index}", _header(name, index, total, location, row),
                     row["instruction"] or "", steps, summary(row, steps if "edit_path" in row else []))
    temporary = page.with_name(page.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(page)
    print(f"wrote {page} ({len(steps)} steps)")
    return 0
