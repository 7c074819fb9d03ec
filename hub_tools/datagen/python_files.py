"""One Python file of a code-only source, read as Python reads it, or the reason it is skipped.

Nothing is opened before its kind is known: a symbolic link is not followed (``symbolic_link``), and a named
pipe, socket or device is never opened (``not_a_file``: a pipe would block). The bytes are decoded as Python
decodes a module (a byte-order mark, a ``coding`` declaration on one of the first two lines, UTF-8 otherwise);
a file that cannot be is ``invalid_encoding``, one that cannot be read ``unreadable``, and one holding a NUL
byte ``syntax_error`` at that byte's line.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import tokenize
from pathlib import Path

# The first two lines of a file, whatever ends them (\n, \r\n, or \r alone), without the rest of it.
_FIRST_TWO_LINES = re.compile(rb"([^\r\n]*)(?:\r\n?|\n)?([^\r\n]*)")
# Where Python's lines end (a classic Mac file's \r alone too), to name the line of what a file holds.
_LINE_ENDS = re.compile(r"\r\n?|\n")
# What a .py entry that is not a regular file is, for its skip.
_NOT_FILES = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))
_LINK = ("symbolic_link", "a symbolic link, not followed (the target is not read)")


def read_python_file(path: Path, link_allowed: bool = False) -> str | tuple[str, str]:
    """The text of the Python file at ``path``, or ``(reason, detail)`` saying why it is not read.

    ``link_allowed``: the user named this file itself, so a link to it is followed.
    """
    try:
        # What the entry is, before it is opened: opening a pipe waits for a writer, a device may act on it.
        mode = (path.stat() if link_allowed else path.lstat()).st_mode
        if stat.S_ISLNK(mode):
            return _LINK
        if not stat.S_ISREG(mode):
            return _not_a_file(mode)
        # An entry replaced since by a link is still not followed (O_NOFOLLOW), by a pipe never waited on.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if link_allowed else os.O_NOFOLLOW)), "rb") as handle:
            if not stat.S_ISREG(mode := os.fstat(handle.fileno()).st_mode):
                return _not_a_file(mode)
            data = handle.read()
    except OSError as error:  # no permission, a file gone since the folder was listed, a disk's I/O error
        if error.errno == errno.ELOOP and not link_allowed:
            return _LINK
        return "unreadable", error.strerror or type(error).__name__
    try:
        # Read from the first two lines, whatever ends them: Python also reads a classic Mac file's declaration.
        first, second = _FIRST_TWO_LINES.match(data).group(1, 2)
        encoding, _ = tokenize.detect_encoding(io.BytesIO(first + b"\n" + second + b"\n").readline)
    except SyntaxError as error:  # a codec Python does not know, or a first line that is not UTF-8
        detail = "not UTF-8, and no coding declaration names its codec" if "missing" in str(error) else str(error)
        return "invalid_encoding", detail
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        return "invalid_encoding", f"byte {error.start}: not {encoding} ({error.reason})"
    if "\0" in text:
        # Python reads no file holding one; said here at its own line (the compiler's message says line 1).
        line = 1 + len(_LINE_ENDS.findall(text, 0, text.index("\0")))
        return "syntax_error", f"line {line}: source code cannot contain null bytes"
    # A byte-order mark opens the file, not the program (utf-8-sig drops it, as Python does).
    return text


def entry_kind(mode: int) -> str:
    """What an entry that is no regular file is, from its ``mode``: "a named pipe", "a socket"..."""
    return next((name for test, name in _NOT_FILES if test(mode)), "an entry of another kind")


def _not_a_file(mode: int) -> tuple[str, str]:
    """Why a ``.py`` entry that is no regular file is skipped, saying what it is (its ``mode``)."""
    return "not_a_file", f"{entry_kind(mode)}, not a regular file: not read"
