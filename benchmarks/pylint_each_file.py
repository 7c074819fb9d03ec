"""``pylint FILE`` for each file, each in a process of its own, without paying pylint's start-up for each.

    python benchmarks/pylint_each_file.py [--jobs N] [PYLINT OPTIONS...] -- FILE...

One pylint process checking many files is no check of each file alone: astroid keeps what it built for one
file, the trees of the modules it imported and the attributes their code assigns into other modules, for the
files after it. A file can be flagged, or pass, because of the files before it: once a file importing ``code``
is checked, ``sys`` has a ``ps1`` for every later file, where pylint on a file without that import says
E1101. Starting pylint once per file costs about a second each. Here pylint is imported once, and each file is
checked in a child forked from this process, which has built nothing yet: the state a fresh ``pylint FILE``
starts checking from. Needs only pylint (it runs in an environment holding pylint alone).

Each file's messages are printed as pylint prints them (``--msg-template`` applies), in the order of the files;
``--jobs`` children run at a time. A child that fails prints ``FILE: pylint failed`` and its error on stderr,
and the command exits with status 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _check_in_a_child(options: list[str], file: str, output: Path) -> int:
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
    if "--" not in arguments:
        raise SystemExit("usage: pylint_each_file.py [--jobs N] [PYLINT OPTIONS...] -- FILE...")
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
        running[_check_in_a_child(options, file, folder / f"{index}.out")] = index
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
