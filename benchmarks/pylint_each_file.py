"""``pylint FILE`` for each file, each in a process of its own, without paying pylint's start-up for each.

    python benchmarks/pylint_each_file.py [--jobs N] [--obey-no-pragma] [PYLINT OPTIONS...] -- FILE...

One pylint process checking many files is no check of each file alone: astroid keeps what it built for one
file, the trees of the modules it imported and the attributes their code assigns into other modules, for the
files after it. A file can be flagged, or pass, because of the files before it: once a file importing ``code``
is checked, ``sys`` has a ``ps1`` for every later file, where pylint on a file without that import says
E1101. Starting pylint once per file costs about a second each. Here pylint is imported once, and each file is
checked in a child forked from this process, which has built nothing yet: the state a fresh ``pylint FILE``
starts checking from. Needs only pylint (it runs in an environment holding pylint alone).

``--obey-no-pragma`` checks each file for what it is, as the kept-alive linter does: the file's own pylint
pragmas (``# pylint: skip-file``, ``disable=all``, ``disable=<ids>``...) are read, and a pragma naming no
option pylint knows is still reported (E0011), but none of them is obeyed. Without it a state that holds a
scraped file's ``# pylint: skip-file`` is skipped by pylint, and "nothing flagged" says nothing about it.

Each file's messages are printed as pylint prints them (``--msg-template`` applies), in the order of the files;
``--jobs`` children run at a time. A child that fails prints ``FILE: pylint failed`` and its error on stderr,
and the command exits with status 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
import tokenize
from pathlib import Path


def _read_but_obey_no_pragma(handler, tokens) -> None:
    """In place of pylint's ``MessageStateHandler.process_tokens`` (the only reader of pragmas): each pragma is
    parsed, an option pylint does not know is E0011 as pylint reports it, and nothing else happens.

    Written apart from the linter's own reader (``hub_tools/linters/pylint_backend.py``) on purpose: the check
    must not share code with what it checks, and it runs where only pylint is installed."""
    from pylint.utils.pragma_parser import (
        OPTION_PO,
        InvalidPragmaError,
        UnRecognizedOptionError,
        parse_pragma,
    )

    handler._pragma_lineno = {}
    for kind, content, start, _, _ in tokens:
        match = OPTION_PO.search(content) if kind == tokenize.COMMENT else None
        if match is None:
            continue
        try:
            for _ in parse_pragma(match.group(2)):
                pass
        except UnRecognizedOptionError as error:
            handler.linter.add_message("unrecognized-inline-option", args=error.token, line=start[0])
        except InvalidPragmaError as error:
            handler.linter.add_message("bad-inline-option", args=error.token, line=start[0])


def _check_in_a_child(options: list[str], file: str, output: Path, obey_pragmas: bool = True) -> int:
    """Fork; the child checks ``file`` with its output in ``output`` (stdout) and ``output.err`` (stderr)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        for descriptor, path in ((1, output), (2, output.with_suffix(".err"))):
            opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, descriptor)
            os.close(opened)
        from pylint.lint import Run

        if not obey_pragmas:
            from pylint.lint.message_state_handler import _MessageStateHandler

            _MessageStateHandler.process_tokens = _read_but_obey_no_pragma
        Run([*options, file], exit=False)
        status = 0
    except BaseException:  # reported by the parent, from the child's stderr
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def main() -> None:
    arguments = sys.argv[1:]
    jobs = 1
    if arguments[:1] == ["--jobs"]:
        jobs, arguments = max(1, int(arguments[1])), arguments[2:]
    obey_pragmas = arguments[:1] != ["--obey-no-pragma"]
    arguments = arguments[0 if obey_pragmas else 1:]
    if "--" not in arguments:
        raise SystemExit("usage: pylint_each_file.py [--jobs N] [--obey-no-pragma] [PYLINT OPTIONS...] -- FILE...")
    split = arguments.index("--")
    options, files = arguments[:split], arguments[split + 1:]
    import pylint.lint  # noqa: F401  imported once, here: every child starts from this state

    folder = Path(tempfile.mkdtemp(prefix="pylint-each-file-"))
    running: dict[int, int] = {}
    failed: dict[int, bool] = {}

    def wait_for_one() -> None:
        pid, status = os.wait()
        failed[running.pop(pid)] = status != 0

    for index, file in enumerate(files):
        while len(running) >= jobs:
            wait_for_one()
        running[_check_in_a_child(options, file, folder / f"{index}.out", obey_pragmas)] = index
    while running:
        wait_for_one()
    for index, file in enumerate(files):
        output = folder / f"{index}.out"
        sys.stdout.write(output.read_text(encoding="utf-8", errors="replace"))
        if failed[index]:
            error = output.with_suffix(".err").read_text(encoding="utf-8", errors="replace")
            print(f"{file}: pylint failed\n{error}", file=sys.stderr)
        output.unlink()
        output.with_suffix(".err").unlink()
    folder.rmdir()
    sys.exit(1 if any(failed.values()) else 0)


if __name__ == "__main__":
    main()
