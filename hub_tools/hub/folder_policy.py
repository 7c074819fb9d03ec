"""What may leave a folder when it is published: one policy for dataset and model folders alike.

The folder is walked without trusting it. A symbolic link is resolved: one that stays inside the folder is
published with its target's content under the link's name; one that leaves the folder (``notes.txt ->
~/.cache/huggingface/token``), is broken, loops or points at a hidden file is refused, naming the link and
its target. A name the Hub clients cannot download back (backslashes, control characters, a Windows drive,
bytes that are not UTF-8) is refused, since one such file makes ``snapshot_download`` of the repository fail
for everyone. Hidden entries and special files (FIFOs, sockets) are never published.

Files that look like secrets (``.env``, ``secrets.*``, private keys, token files, text holding a Hugging Face
token, a private key or another service's credential) and large files that are not weights, data or tokenizers are *held back*: the plan lists them and
only an ``--include`` pattern that matches them uploads them. Parquet shards and safetensors files are
checked to be what their names say before anything is read from them or sent.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
import stat
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from hub_tools.errors import UNREADABLE_JSON, UserError

# Files above this size go to the Hub's large-file storage (git LFS): big for anything but weights and data.
LARGE_FILE_BYTES = 10 * 1000 * 1000
# What is expected to be large in a dataset or model folder (matched on the file name).
EXPECTED_LARGE_PATTERNS = (
    "*.parquet", "*.arrow", "*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf", "*.onnx",
    "tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json", "vocab.txt", "merges.txt",
)
# Names of credentials and keys (matched on the lower-cased file name).
SECRET_NAME_PATTERNS = (
    ".env", "*.env", ".env.*", "secret", "secrets", "secret.*", "secrets.*", "*_secret.*", "*-secret.*",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "*.kdbx", ".netrc", ".pgpass", ".npmrc", ".pypirc", ".git-credentials", "credentials", "credentials.*",
    "*.ovpn", "htpasswd", ".htpasswd",
)
# "token" as a word of the name (hf_token, token.txt, my-token), not "tokenizer.json" or "added_tokens.json".
SECRET_NAME_WORDS = re.compile(r"(^|[._-])(token|api[_-]?key|apikey|password|passwd|private[_-]?key)([._-]|$)")
# Credentials inside a file, by kind: shapes specific enough that ordinary text does not take them (a
# prefix and a fixed alphabet and length). Every byte of a file that is not weights or data is scanned, in
# chunks that overlap by more than a credential so none hides across a border. Each kind is looked for only
# where one of its literal markers is (bytes.find runs at memory speed; one regular expression of all kinds
# ran at 12 MB/s, a ninth of the speed of the Hugging Face pattern alone).
SECRET_TEXT_KINDS = (
    ("a Hugging Face token", (b"hf_",), re.compile(rb"\bhf_[A-Za-z0-9]{30,}\b")),
    ("a private key", (b"PRIVATE KEY",),
     re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("an AWS access key id", (b"AKIA", b"ASIA"), re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
     re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("an OpenAI API key", (b"T3BlbkFJ",), re.compile(rb"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}")),
    ("a Slack token", (b"xox",), re.compile(rb"\bxox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{10,}")),
    ("a Google API key", (b"AIza",), re.compile(rb"\bAIza[0-9A-Za-z_-]{35}\b")),
)
TOKEN_SCAN_CHUNK = 4 << 20
TOKEN_SCAN_OVERLAP = 256
TOKEN_SCAN_SKIP = ("*.parquet", "*.arrow", "*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")
# Bytes per element of the safetensors dtypes (for checking each tensor's extent).
SAFETENSORS_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}


@dataclass
class LocalFile:
    """A regular file found in the folder.

    Args:
        path_in_repo: its path relative to the folder (posix), which is where it lands in the repository.
        source: the real file to read (a symbolic link's resolved target).
        size: bytes.
        link_target: for a link, its target relative to the folder (shown by the dry run).
        identity: ``(device, inode, size, mtime_ns)`` when scanned: the upload sends that file or nothing.
    """

    path_in_repo: str
    source: Path
    size: int
    link_target: str | None = None
    identity: tuple[int, int, int, int] | None = None


@dataclass
class FolderScan:
    """The files of a folder, what is never published (with why) and what is refused (with why)."""

    folder: Path
    files: list[LocalFile] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [local.path_in_repo for local in self.files]


def display(path: str) -> str:
    """A path as one printable line: names with control characters or undecodable bytes are quoted."""
    if path.isprintable() and not any(0xD800 <= ord(char) <= 0xDFFF for char in path):
        return path
    return ascii(path)


def name_problem(name: str) -> str | None:
    """Why the Hub clients could not download a file with this path component, or ``None`` when they can.

    >>> name_problem("train-00000-of-00001.parquet") is None, name_problem("x\\\\..\\\\evil")
    (True, 'has a backslash, which Windows clients read as a folder separator')
    """
    for char in name:
        if 0xD800 <= ord(char) <= 0xDFFF:
            return "is not valid UTF-8"
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"has a control character ({char!a})"
    if "\\" in name:
        return "has a backslash, which Windows clients read as a folder separator"
    if name in (".", "..") or PureWindowsPath(name).drive:
        return "is read as a parent folder or a Windows drive by the download clients"
    return None


def scan_folder(folder: str | Path) -> FolderScan:
    """Walk a folder the way a push sees it: resolved links, names checked, hidden entries left out.

    Args:
        folder: the dataset or model folder (itself a link is fine).

    Returns:
        A :class:`FolderScan`; its ``refused`` entries must be fixed before anything is published.
    """
    folder = Path(folder)
    scan = FolderScan(folder)
    real_root = folder.resolve()
    _walk(scan, real_root, real_root, "", (real_root,))
    scan.files.sort(key=lambda local: local.path_in_repo)
    return scan


def _walk(scan: FolderScan, real_root: Path, directory: Path, prefix: str, ancestors: tuple[Path, ...]) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        scan.refused.append((prefix or ".", f"cannot be listed ({error.strerror})"))
        return
    for entry in entries:
        relative = prefix + entry.name
        if entry.name.startswith("."):
            kind = "hidden folder" if entry.is_dir(follow_symlinks=False) else "hidden file"
            scan.left_out.append((relative + ("/" if kind == "hidden folder" else ""), kind))
            continue
        problem = name_problem(entry.name)
        if problem:
            scan.refused.append((relative, f"the name {problem}; rename it or move it out of the folder"))
            continue
        path, link_target = Path(entry.path), None
        if entry.is_symlink():
            path, link_target = _resolve_link(scan, real_root, relative, Path(entry.path))
            if path is None:
                continue
        try:
            status = path.stat()
        except OSError as error:
            scan.refused.append((relative, f"cannot be read ({error.strerror})"))
            continue
        mode = status.st_mode
        if stat.S_ISDIR(mode):
            if path in ancestors:
                scan.refused.append((relative, f"is a symbolic link to {link_target}, a folder that contains it "
                                               "(a loop); remove the link"))
            else:
                _walk(scan, real_root, path, relative + "/", (*ancestors, path))
        elif stat.S_ISREG(mode):
            scan.files.append(LocalFile(relative, path, status.st_size, link_target, file_identity(status)))
        else:
            scan.left_out.append((relative, "not a regular file (a FIFO, socket or device)"))


def file_identity(status: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file from one swapped in under its name: device, inode, size, modification time."""
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _resolve_link(scan: FolderScan, real_root: Path, relative: str, link: Path) -> tuple[Path | None, str | None]:
    """The real path of a link that stays inside the folder, or ``(None, None)`` after refusing it."""
    target_text = display(os.readlink(link))
    resolved = link.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        if display(str(resolved)) != target_text:  # a relative or chained link: say where it really goes
            target_text += f" ({display(str(resolved))})"
        scan.refused.append((relative, f"is a symbolic link to {target_text}, outside the folder: nothing outside "
                                       "it is published; copy the file in instead of linking it, or remove it"))
        return None, None
    if not resolved.exists():
        scan.refused.append((relative, f"is a broken symbolic link (to {target_text}); fix or remove it"))
        return None, None
    inside = resolved.relative_to(real_root).as_posix() if resolved != real_root else "."
    if any(part.startswith(".") for part in inside.split("/")) and inside != ".":
        scan.refused.append((relative, f"is a symbolic link to {display(inside)}, a hidden file: hidden files are "
                                       "never published; copy what should be public instead"))
        return None, None
    return resolved, display(inside)


def held_back_reason(local: LocalFile) -> str | None:
    """Why a file that a push would upload needs an explicit ``--include`` first, or ``None``.

    Secret-looking names (the link's and its target's) and text holding a credential (:data:`SECRET_TEXT_KINDS`)
    are held back, and so are files over 10 MB that are not weights, data or tokenizer files.
    """
    names = [local.path_in_repo.rsplit("/", 1)[-1]]
    if local.link_target:
        names.append(local.link_target.rsplit("/", 1)[-1])
    for name in names:
        lowered = name.lower()
        if any(fnmatch.fnmatchcase(lowered, pattern) for pattern in SECRET_NAME_PATTERNS) \
                or SECRET_NAME_WORDS.search(lowered):
            return f"looks like a secret ({name})"
    name = names[0]
    kind = None if any(fnmatch.fnmatchcase(name, p) for p in TOKEN_SCAN_SKIP) else secret_in(local.source)
    if kind is not None:
        return f"contains what looks like {kind}"
    if local.size > LARGE_FILE_BYTES and not any(fnmatch.fnmatchcase(name, p) for p in EXPECTED_LARGE_PATTERNS):
        return f"large ({local.size / 1e6:.0f} MB) and not weights, data or a tokenizer"
    return None


def secret_in(path: Path) -> str | None:
    """The kind of the first credential found in a file (``"a private key"``), or ``None`` (an unreadable file
    holds none: the upload then fails on it, naming it).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as notes:
    ...     _ = notes.write("deploy with -----BEGIN OPENSSH PRIVATE KEY-----\\n...")
    >>> secret_in(Path(notes.name))
    'a private key'
    """
    try:
        with path.open("rb") as file:
            tail = b""
            while chunk := file.read(TOKEN_SCAN_CHUNK):
                # A credential cut by the chunk border is whole in the tail of one chunk and the next chunk.
                window = tail + chunk
                for kind, markers, pattern in SECRET_TEXT_KINDS:
                    if any(marker in window for marker in markers) and pattern.search(window):
                        return kind
                tail = chunk[-TOKEN_SCAN_OVERLAP:]
    except OSError:
        return None
    return None


def format_problem(local: LocalFile) -> str | None:
    """Why a Parquet or safetensors file is not what its name says (checked before anything reads it)."""
    if local.path_in_repo.endswith(".parquet"):
        return _parquet_problem(local.source)
    if local.path_in_repo.endswith(".safetensors"):
        return _safetensors_problem(local.source, local.size)
    return None


def _parquet_problem(path: Path) -> str | None:
    import pyarrow.parquet as parquet

    try:
        parquet.read_metadata(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for files that are not Parquet
        detail = " ".join(str(error).split())[:120]
        return f"is not a readable Parquet file ({detail}); write it again with `lintseq generate` or remove it"
    return None


def _safetensors_problem(path: Path, size: int) -> str | None:
    """Check the header: its length, its JSON, and that every tensor lies inside the file."""
    broken = "has a broken safetensors header ({}); save the model again (save_pretrained) or remove the file"
    with path.open("rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            return broken.format("shorter than 8 bytes")
        (length,) = struct.unpack("<Q", prefix)
        if length > size - 8 or length > 100_000_000:
            return broken.format(f"header length {length} exceeds the file")
        try:
            header = json.loads(file.read(length))
        except UNREADABLE_JSON:
            return broken.format("header is not JSON")
    if not isinstance(header, dict):
        return broken.format("header is not a mapping")
    data_size = size - 8 - length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            start, end = entry["data_offsets"]
            count = math.prod(entry["shape"])
            width = SAFETENSORS_DTYPE_BYTES.get(entry["dtype"])
            fits = 0 <= start <= end <= data_size and (width is None or (end - start) == count * width)
        except (KeyError, TypeError, ValueError):
            fits = False
        if not fits:
            return broken.format(f"tensor {display(str(name))!r} does not fit the file")
    return None


def refusal_error(refused: list[tuple[str, str]], folder: Path) -> UserError:
    """One line for the first refused file, counting the others (the dry run lists them all)."""
    path, reason = refused[0]
    more = f" (and {len(refused) - 1} more problem(s): --dry-run lists them)" if len(refused) > 1 else ""
    return UserError(f"{display(str(folder / path))} {reason}{more}")
