"""On-disk storage of the Hub-protocol test server: repositories, commits, branches, pull requests, blobs.

Layout under the root folder::

    objects/<sha256>                       # every file's bytes, content-addressed, shared by all repositories
    repos/<type>s/<namespace>/<name>.json  # {"private", "refs": {"main": sha, "refs/pr/1": sha}, "commits": {sha: …}}

A commit records the complete tree (path -> blob description), so reading any revision needs one lookup.
Only the standard library is used: the server must start where nothing but ``python3`` is installed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The Hub's default .gitattributes sends binary formats through LFS; the server applies the same rules so
# that the client sees the same "regular" / "lfs" split as on the real Hub.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.gz", "*.h5", "*.joblib", "*.model", "*.msgpack",
        "*.npy", "*.npz", "*.onnx", "*.parquet", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.safetensors",
        "*.tar", "*.tflite", "*.zip", "*.zst",
    )
)
# Files above this size go through LFS whatever their name, as on the Hub.
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
REPO_TYPES = ("model", "dataset", "space")


class StoreError(Exception):
    """A request the store refuses; the server turns it into an HTTP error with ``X-Error-Code``."""

    def __init__(self, status: int, message: str, error_code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code


def git_blob_oid(content: bytes) -> str:
    """Return git's object id of a blob (sha1 of ``blob <size>\\0`` + content), as the Hub reports it."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """Return the git-lfs pointer file that stands for an LFS object in the git tree."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass
class Entry:
    """One file of a commit's tree."""

    path: str
    sha256: str
    size: int
    lfs: bool

    def git_oid(self, store: RepositoryStore) -> str:
        if self.lfs:
            return git_blob_oid(lfs_pointer(self.sha256, self.size))
        return git_blob_oid(store.read_object(self.sha256))

    def describe(self, store: RepositoryStore) -> dict:
        """The tree / paths-info JSON of this file."""
        description = {"type": "file", "path": self.path, "oid": self.git_oid(store), "size": self.size}
        if self.lfs:
            pointer_size = len(lfs_pointer(self.sha256, self.size))
            description["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": pointer_size}
        return description


class RepositoryStore:
    """Repositories kept as JSON documents plus a content-addressed object folder.

    Args:
        root: folder that holds everything; created if missing, reused if it already holds repositories.

    Example:
        >>> import tempfile
        >>> store = RepositoryStore(tempfile.mkdtemp())
        >>> sha = store.create("model", "alice/tiny", private=False)
        >>> sorted(store.tree("model", "alice/tiny", "main"))
        ['.gitattributes']
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        # One lock for every write: commits are rare in tests and a lock keeps refs consistent.
        self.lock = threading.RLock()

    # -- objects ---------------------------------------------------------------------------------------------
    def write_object(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self.root / "objects" / sha256
        if not path.exists():
            temporary = path.with_suffix(f".{threading.get_ident()}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, path)
        return sha256

    def has_object(self, sha256: str) -> bool:
        return (self.root / "objects" / sha256).is_file()

    def object_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256

    def read_object(self, sha256: str) -> bytes:
        return self.object_path(sha256).read_bytes()

    # -- repositories ----------------------------------------------------------------------------------------
    def _document_path(self, repo_type: str, repo_id: str) -> Path:
        namespace, name = repo_id.split("/", 1)
        return self.root / "repos" / f"{repo_type}s" / namespace / f"{name}.json"

    def exists(self, repo_type: str, repo_id: str) -> bool:
        return self._document_path(repo_type, repo_id).is_file()

    def load(self, repo_type: str, repo_id: str) -> dict:
        path = self._document_path(repo_type, repo_id)
        if not path.is_file():
            raise StoreError(404, f"Repository Not Found: {repo_id}", "RepoNotFound")
        return json.loads(path.read_text())

    def _save(self, repo_type: str, repo_id: str, document: dict) -> None:
        path = self._document_path(repo_type, repo_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1))
        os.replace(temporary, path)

    def create(self, repo_type: str, repo_id: str, *, private: bool) -> str:
        """Create a repository whose ``main`` holds the Hub's default ``.gitattributes``; return its sha."""
        with self.lock:
            if self.exists(repo_type, repo_id):
                raise StoreError(409, f"You already created this {repo_type} repo: {repo_id}")
            document = {"private": private, "refs": {}, "commits": {}, "created_at": _now()}
            attributes = Entry(".gitattributes", self.write_object(DEFAULT_GITATTRIBUTES.encode()),
                               len(DEFAULT_GITATTRIBUTES), lfs=False)
            sha = _add_commit(document, None, "initial commit", "", {attributes.path: attributes})
            document["refs"]["main"] = sha
            self._save(repo_type, repo_id, document)
            return sha

    def is_private(self, repo_type: str, repo_id: str) -> bool:
        return bool(self.load(repo_type, repo_id)["private"])

    def resolve(self, repo_type: str, repo_id: str, revision: str) -> str:
        """Return the commit sha a branch, a ``refs/pr/N`` ref or a sha names."""
        document = self.load(repo_type, repo_id)
        if revision in document["refs"]:
            return document["refs"][revision]
        if revision in document["commits"]:
            return revision
        raise StoreError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def commit_info(self, repo_type: str, repo_id: str, sha: str) -> dict:
        return self.load(repo_type, repo_id)["commits"][sha]

    def tree(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Entry]:
        """Return every file (path -> :class:`Entry`) of a revision."""
        document = self.load(repo_type, repo_id)
        sha = self.resolve(repo_type, repo_id, revision)
        return {path: Entry(**entry) for path, entry in document["commits"][sha]["files"].items()}

    def history(self, repo_type: str, repo_id: str, revision: str) -> list[tuple[str, dict]]:
        """Return (sha, commit) pairs from the revision back to the first commit."""
        document = self.load(repo_type, repo_id)
        sha: str | None = self.resolve(repo_type, repo_id, revision)
        commits = []
        while sha is not None:
            commit = document["commits"][sha]
            commits.append((sha, commit))
            sha = commit["parent"]
        return commits

    def refs(self, repo_type: str, repo_id: str) -> dict[str, str]:
        return dict(self.load(repo_type, repo_id)["refs"])

    def create_branch(self, repo_type: str, repo_id: str, branch: str, starting_point: str = "main") -> str:
        """Create a branch at the commit ``starting_point`` names; return that sha."""
        with self.lock:
            document = self.load(repo_type, repo_id)
            if branch in document["refs"]:
                raise StoreError(409, f"Reference already exists: {branch}")
            sha = self.resolve(repo_type, repo_id, starting_point)
            document["refs"][branch] = sha
            self._save(repo_type, repo_id, document)
            return sha

    def lfs_patterns(self, repo_type: str, repo_id: str, revision: str) -> list[str]:
        """Return the patterns the revision's ``.gitattributes`` sends through LFS."""
        entry = self.tree(repo_type, repo_id, revision).get(".gitattributes")
        if entry is None:
            return []
        lines = self.read_object(entry.sha256).decode(errors="replace").splitlines()
        return [line.split()[0] for line in lines if "filter=lfs" in line and line.split()]

    def upload_mode(self, repo_type: str, repo_id: str, revision: str, path: str, size: int) -> str:
        if size > LFS_SIZE_THRESHOLD:
            return "lfs"
        name = path.rsplit("/", 1)[-1]
        patterns = self.lfs_patterns(repo_type, repo_id, revision)
        return "lfs" if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns) else "regular"

    def commit(
        self,
        repo_type: str,
        repo_id: str,
        revision: str,
        *,
        summary: str,
        description: str,
        additions: dict[str, Entry],
        deletions: list[str],
        parent_commit: str | None = None,
        create_pr: bool = False,
    ) -> tuple[str, int | None]:
        """Record a commit on a branch (or on a new pull-request ref); return its sha and the PR number."""
        with self.lock:
            document = self.load(repo_type, repo_id)
            head = self.resolve(repo_type, repo_id, revision)
            if parent_commit is not None and parent_commit != head:
                raise StoreError(412, f"A commit has happened since. Please refresh and try again ({head}).")
            files = dict(document["commits"][head]["files"])
            for path in deletions:
                folder = path.rstrip("/") + "/"
                matched = [name for name in files if name == path.rstrip("/") or name.startswith(folder)]
                if not matched:
                    raise StoreError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                for name in matched:
                    del files[name]
            files.update({path: entry.__dict__ for path, entry in additions.items()})
            sha = _add_commit(document, head, summary, description, files)
            pull_request = None
            if create_pr:
                numbers = [int(ref.rsplit("/", 1)[1]) for ref in document["refs"] if ref.startswith("refs/pr/")]
                pull_request = max(numbers, default=0) + 1
                document["refs"][f"refs/pr/{pull_request}"] = sha
            elif revision in document["refs"]:
                document["refs"][revision] = sha
            else:
                raise StoreError(400, f"Cannot commit to {revision!r}: not a branch", "RevisionNotFound")
            self._save(repo_type, repo_id, document)
            return sha, pull_request


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _add_commit(document: dict, parent: str | None, summary: str, description: str, files: dict) -> str:
    files = {path: entry.__dict__ if isinstance(entry, Entry) else entry for path, entry in files.items()}
    # The counter keeps two commits with the same content and parent distinct, as git's timestamps do.
    payload = json.dumps([parent, summary, description, sorted(files.items()), len(document["commits"])])
    sha = hashlib.sha1(payload.encode()).hexdigest()
    document["commits"][sha] = {
        "parent": parent, "summary": summary, "description": description, "files": files, "date": _now(),
    }
    return sha
