"""The ``lintseq`` command line.

Every sub-command lives in its own module with a ``main(argv) -> int`` function and imports what it
needs inside that function, so ``lintseq --help`` and ``lintseq edits`` start without loading torch.
"""

from __future__ import annotations

import difflib
import errno
import importlib
import sys

from hub_tools import __version__
from hub_tools.errors import UserError

# name -> (module, one-line help). The order is the order of the help text.
COMMANDS: dict[str, tuple[str, str]] = {
    "edits": ("hub_tools.cli.edits", "print the LintSeq edit path of one Python file"),
    "generate": ("hub_tools.cli.generate", "turn an instruction + program dataset into edit sequences"),
    "verify": ("hub_tools.cli.verify", "replay every edit path of a generated dataset and check it"),
    "show": ("hub_tools.cli.show", "print one edit sequence of a generated dataset, step by step"),
    "init-model": ("hub_tools.cli.init_model", "build a from-scratch TinyCodeLM checkpoint and tokenizer"),
    "train": ("hub_tools.cli.train", "finetune a causal LM on an edit-sequence dataset with TRL"),
    "sample": ("hub_tools.cli.sample", "sample programs from an edit-sequence or baseline model"),
    "eval": ("hub_tools.cli.evaluate", "score a model or a samples file on HumanEval / MBPP (pass@k)"),
    "push": ("hub_tools.cli.push", "publish a dataset or a model, with its card, to the Hub"),
}


# What an interrupted command keeps, said with its interruption.
RESUME_HINTS = {
    "generate": "; finished chunks are kept: run the same command again to finish the job",
    "eval": "; with --model, the samples drawn so far are kept: run the same command with --resume to continue",
    "train": "; --resume_from_checkpoint true continues from the last checkpoint saved in output_dir",
}

# What to do about an output place on a read-only file system.
WRITE_HINTS = {
    "generate": "give an --output-dir on a writable file system (generate keeps its lock and work files there)",
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: lintseq <command> [options]",
        "",
        "LintSeq edit-sequence code models on the Hugging Face stack.",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "Run 'lintseq <command> --help' for the options of a command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(f"lintseq (hub_tools) {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"lintseq: error: unknown command {name!r}{hint}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(argv[1:]) or 0)
    except UserError as error:
        print(f"lintseq {name}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lintseq {name}: interrupted{RESUME_HINTS.get(name, '')}", file=sys.stderr)
        return 130
    except OSError as error:
        message = _machine_state(name, error)
        if message is None:
            raise  # any other errno may be a bug: its traceback says where
        print(f"lintseq {name}: error: {message}", file=sys.stderr)
        return 2


def _machine_state(name: str, error: OSError) -> str | None:
    """The one-line message of an ``OSError`` that is the machine's state, not a bug: a full disk or quota; a
    read-only file system; a path the user may not write (EACCES, EPERM: with the path it concerns; without
    one, as from ``os.kill``, it may be a bug). ``None`` for any other."""
    where = f" {error.filename}" if error.filename else ""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        # What was written is kept: how to go on.
        return (f"no space left on the device writing{where}; free some space"
                f"{RESUME_HINTS.get(name) or ' and run the same command again'}")
    if error.errno == errno.EROFS:
        return f"cannot write{where}: a read-only file system; {WRITE_HINTS.get(name, 'write to a writable one')}"
    if error.errno in (errno.EACCES, errno.EPERM) and error.filename:
        # Reading or writing: the path and the system's word say which file; what to do is the same.
        return f"{error.filename}: {error.strerror.lower()}; change its permissions, or choose another path"
    return None


if __name__ == "__main__":
    sys.exit(main())
