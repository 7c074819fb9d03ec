"""The HTTP side of the Hub-protocol test server: one handler that routes each request to the store.

The requests and answers are the ones ``huggingface_hub``, ``datasets`` and ``transformers`` use (see the
module docstring of :mod:`hub_tools.hub_test_server.server`). Only the standard library is used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from hub_tools.hub_test_server.state import RequestRecord, ServedHub, User
from hub_tools.hub_test_server.store import Entry, StoreError

_REPO_TYPE_OF_PREFIX = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX_OF_TYPE = {"model": "", "dataset": "datasets/", "space": "spaces/"}


class HubRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests; ``hub`` (the server) is set on a subclass."""

    hub: ServedHub
    protocol_version = "HTTP/1.1"

    # -- plumbing --------------------------------------------------------------------------------------------
    def setup(self):
        super().setup()
        self.hub.connection_opened(self.connection)

    def finish(self):
        self.hub.connection_closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format, *args):  # the test output stays quiet; requests are kept in hub.requests
        pass

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        self.raw_path, self.query = split.path, parse_qs(split.query)
        self.body = self._read_body()
        self.status_sent, self.user = 0, None  # one handler serves every request of a kept-alive connection
        try:
            injected = self.hub.take_failure(self.command, self.raw_path)
            if injected is not None and injected.action == "die":
                self._record(0)
                self.close_connection = True
                self.hub.die()
                return
            if injected is not None and injected.action == "hold":
                injected.reached.set()
                injected.release.wait(timeout=120)
            elif injected is not None:
                raise StoreError(injected.status, "Injected failure (test server)")
            self.user = self._authenticate()
            self._route()
        except StoreError as error:
            self._send_error(error)
        except (KeyError, ValueError, json.JSONDecodeError) as error:
            self._send_error(StoreError(400, f"Bad request: {error}"))
        if not self.status_sent:  # a handler that answered nothing is still on the record
            self._record(0)

    def _record(self, status: int) -> None:
        # Recorded before the answer leaves: a client that has its answer always finds its request here.
        self.hub.record(RequestRecord(self.command, self.raw_path, status, getattr(self, "user", None) is not None))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while True:  # chunked transfer: "<hex size>\r\n<bytes>\r\n" until a zero-size chunk
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _dispatch

    def _authenticate(self) -> User | None:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        user = self.hub.users.get(header[7:].strip())
        if user is None:
            raise StoreError(401, "Invalid credentials in Authorization header")
        return user

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        self.status_sent = status
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers)

    def _send_error(self, error: StoreError, headers: dict | None = None) -> None:
        headers = dict(headers or {})
        headers["X-Error-Message"] = error.message
        if error.error_code:
            headers["X-Error-Code"] = error.error_code
        self._json({"error": error.message}, error.status, headers)

    # -- access control --------------------------------------------------------------------------------------
    def _check_read(self, repo_type: str, repo_id: str) -> None:
        if not self.hub.store.is_private(repo_type, repo_id):
            return
        if self.user is None:
            raise StoreError(401, "Invalid username or password.", "RepoNotFound")
        if not self.user.may_write(repo_id.split("/")[0]):
            raise StoreError(404, f"Repository Not Found: {repo_id}", "RepoNotFound")

    def _check_write(self, repo_type: str, repo_id: str) -> None:
        self._check_read(repo_type, repo_id)
        if self.user is None:
            raise StoreError(401, "You must be authenticated to write to a repository.")
        if not self.user.may_write(repo_id.split("/")[0]):
            raise StoreError(403, f"You don't have the rights to write to {repo_id}. Ask its owner for access.")

    # -- routing ---------------------------------------------------------------------------------------------
    def _route(self) -> None:
        segments = [unquote(part) for part in self.raw_path.strip("/").split("/")]
        method = self.command
        if segments[:2] == ["api", "whoami-v2"] and method == "GET":
            return self._whoami()
        if segments[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create()
        if segments[:2] == ["api", "validate-yaml"]:
            return self._json({"errors": [], "warnings": []})
        if segments[0] == "api" and len(segments) >= 4 and segments[1] in _REPO_TYPE_OF_PREFIX:
            repo_type, repo_id = _REPO_TYPE_OF_PREFIX[segments[1]], "/".join(segments[2:4])
            self.hub.store.load(repo_type, repo_id)  # 404 RepoNotFound first, as the Hub answers
            self._check_read(repo_type, repo_id)
            return self._api(repo_type, repo_id, segments[4:], method)
        if segments[0] == "lfs-objects" and len(segments) == 3:
            return self._lfs_transfer(segments[1], segments[2], method)
        repo_type = _REPO_TYPE_OF_PREFIX.get(segments[0])
        rest = segments[1:] if repo_type else segments
        repo_type = repo_type or "model"
        if len(rest) >= 2 and rest[1].endswith(".git") and rest[2:] == ["info", "lfs", "objects", "batch"]:
            repo_id = f"{rest[0]}/{rest[1][:-4]}"
            self.hub.store.load(repo_type, repo_id)
            self._check_write(repo_type, repo_id)
            return self._lfs_batch(repo_type, repo_id)
        if len(rest) >= 5 and rest[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, "/".join(rest[:2]), rest[3], "/".join(rest[4:]))
        raise StoreError(404, f"Not found: {self.raw_path}")

    def _api(self, repo_type: str, repo_id: str, rest: list[str], method: str) -> None:
        action = rest[0] if rest else ""
        if action in ("", "revision") and method == "GET":
            return self._repo_info(repo_type, repo_id, rest[1] if len(rest) > 1 else "main")
        if action == "preupload" and method == "POST":
            self._check_write(repo_type, repo_id)
            return self._preupload(repo_type, repo_id, rest[1])
        if action == "commit" and method == "POST":
            self._check_write(repo_type, repo_id)
            return self._commit(repo_type, repo_id, rest[1])
        if action == "tree" and method == "GET":
            return self._tree(repo_type, repo_id, rest[1], "/".join(rest[2:]))
        if action == "paths-info" and method == "POST":
            return self._paths_info(repo_type, repo_id, rest[1])
        if action == "commits" and method == "GET":
            return self._list_commits(repo_type, repo_id, rest[1] if len(rest) > 1 else "main")
        if action == "branch" and method == "POST" and len(rest) > 1:
            self._check_write(repo_type, repo_id)
            starting_point = json.loads(self.body or b"{}").get("startingPoint") or "main"
            self.hub.store.create_branch(repo_type, repo_id, "/".join(rest[1:]), starting_point)
            return self._json({})
        if action == "refs" and method == "GET":
            return self._refs(repo_type, repo_id)
        raise StoreError(404, f"Not found: {self.raw_path}")

    # -- identity and repositories ---------------------------------------------------------------------------
    def _whoami(self) -> None:
        if self.user is None:
            raise StoreError(401, "Invalid credentials in Authorization header")
        organizations = [{"name": name, "type": "org"} for name in self.user.organizations]
        self._json({"type": "user", "name": self.user.name, "fullname": self.user.name, "orgs": organizations,
                    "auth": {"type": "access_token", "accessToken": {"role": "write"}}})

    def _create(self) -> None:
        payload = json.loads(self.body or b"{}")
        if self.user is None:
            raise StoreError(401, "You must be authenticated to create a repository.")
        repo_type = payload.get("type") or "model"
        namespace = payload.get("organization") or self.user.name
        repo_id = f"{namespace}/{payload['name']}"
        url = f"{self._endpoint()}/{_URL_PREFIX_OF_TYPE[repo_type]}{repo_id}"
        if not self.user.may_write(namespace):
            raise StoreError(403, f"You don't have the rights to create a {repo_type} under the namespace {namespace!r}")
        try:
            self.hub.store.create(repo_type, repo_id, private=payload.get("visibility") == "private"
                                  or bool(payload.get("private")))
        except StoreError as error:
            if error.status == 409:
                return self._json({"error": error.message, "url": url}, 409)
            raise
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def _endpoint(self) -> str:
        return f"http://{self.headers.get('Host') or self.hub.url.split('://', 1)[1]}"

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        store = self.hub.store
        sha = store.resolve(repo_type, repo_id, revision)
        commit = store.commit_info(repo_type, repo_id, sha)
        siblings = [{"rfilename": path} for path in sorted(commit["files"])]
        self._json({"id": repo_id, "_id": sha[:24], "sha": sha, "private": store.is_private(repo_type, repo_id),
                    "siblings": siblings, "lastModified": commit["date"], "tags": [], "downloads": 0,
                    "likes": 0, "gated": False, "disabled": False, "author": repo_id.split("/")[0]})

    def _refs(self, repo_type: str, repo_id: str) -> None:
        refs = self.hub.store.refs(repo_type, repo_id)
        describe = [{"name": name.rsplit("/", 1)[-1] if name.startswith("refs/") else name,
                     "ref": name if name.startswith("refs/") else f"refs/heads/{name}", "targetCommit": sha}
                    for name, sha in refs.items()]
        self._json({"branches": [ref for ref in describe if ref["ref"].startswith("refs/heads/")],
                    "tags": [], "converts": [],
                    "pullRequests": [ref for ref in describe if ref["ref"].startswith("refs/pr/")]})

    def _list_commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        history = self.hub.store.history(repo_type, repo_id, revision)
        self._json([{"id": sha, "title": commit["summary"], "message": commit["description"],
                     "date": commit["date"], "authors": [{"user": repo_id.split("/")[0]}]}
                    for sha, commit in history])

    # -- upload ----------------------------------------------------------------------------------------------
    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        store = self.hub.store
        base = "main" if self.query.get("create_pr") else revision
        tree = store.tree(repo_type, repo_id, base)
        answers = []
        for file in json.loads(self.body)["files"]:
            mode = store.upload_mode(repo_type, repo_id, base, file["path"], int(file["size"]))
            existing = tree.get(file["path"])
            oid = None
            if existing is not None and existing.lfs == (mode == "lfs"):
                oid = existing.sha256 if existing.lfs else existing.git_oid(store)
            answers.append({"path": file["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._json({"files": answers, "commitOid": store.resolve(repo_type, repo_id, base)})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        payload = json.loads(self.body)
        objects = []
        for item in payload["objects"]:
            oid, size = item["oid"], int(item["size"])
            answer = {"oid": oid, "size": size, "authenticated": True}
            if not self.hub.store.has_object(oid):
                href = f"{self._endpoint()}/lfs-objects/{oid}/{size}"
                answer["actions"] = {"upload": {"href": href}, "verify": {"href": href}}
            objects.append(answer)
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                   content_type="application/vnd.git-lfs+json")

    def _lfs_transfer(self, oid: str, size: str, method: str) -> None:
        store = self.hub.store
        if method == "PUT":
            if len(self.body) != int(size) or store.write_object(self.body) != oid:
                raise StoreError(400, f"Uploaded bytes do not match LFS object {oid} of size {size}")
            return self._send(200)
        if method == "POST":  # verify
            if not store.has_object(oid):
                raise StoreError(404, f"LFS object {oid} was never uploaded", "EntryNotFound")
            return self._json({"success": True})
        raise StoreError(405, f"{method} is not allowed on LFS objects")

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        store = self.hub.store
        header, additions, deletions = None, {}, []
        for line in self.body.decode().split("\n"):  # NDJSON: U+2028 may stand unescaped in a string
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                content = base64.b64decode(value["content"])
                additions[value["path"]] = Entry(value["path"], store.write_object(content), len(content), lfs=False)
            elif key == "lfsFile":
                if not store.has_object(value["oid"]):
                    raise StoreError(400, f"LFS object of {value['path']} was not uploaded before the commit")
                additions[value["path"]] = Entry(value["path"], value["oid"], int(value["size"]), lfs=True)
            elif key in ("deletedFile", "deletedFolder"):
                deletions.append(value["path"] + ("/" if key == "deletedFolder" else ""))
            else:
                raise StoreError(400, f"Unknown commit operation {key!r}")
        if header is None:
            raise StoreError(400, "A commit needs a header line")
        create_pr = bool(self.query.get("create_pr"))
        sha, pull_request = store.commit(
            repo_type, repo_id, revision, summary=header.get("summary", ""),
            description=header.get("description", ""), additions=additions, deletions=deletions,
            parent_commit=header.get("parentCommit"), create_pr=create_pr)
        prefix = f"{self._endpoint()}/{_URL_PREFIX_OF_TYPE[repo_type]}{repo_id}"
        answer = {"commitOid": sha, "commitUrl": f"{prefix}/commit/{sha}", "success": True}
        if pull_request is not None:
            answer["pullRequestUrl"] = f"{prefix}/discussions/{pull_request}"
        self._json(answer)

    # -- read ------------------------------------------------------------------------------------------------
    def _tree(self, repo_type: str, repo_id: str, revision: str, folder: str) -> None:
        store = self.hub.store
        tree = store.tree(repo_type, repo_id, revision)
        recursive = self.query.get("recursive", ["false"])[0].lower() == "true"
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        entries: dict[str, dict] = {}
        for path in sorted(tree):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix):].split("/")
            for depth in range(1, len(parts)):
                directory = prefix + "/".join(parts[:depth])
                if depth == 1 or recursive:
                    entries.setdefault(directory, {"type": "directory", "path": directory,
                                                   "oid": _folder_oid(tree, directory)})
            if len(parts) == 1 or recursive:
                entries[path] = tree[path].describe(store)
        if prefix and not entries:
            raise StoreError(404, f"Entry Not Found: {folder}", "EntryNotFound")
        listing = [entries[key] for key in sorted(entries)]
        start = int(self.query.get("cursor", ["0"])[0])
        page = listing[start:start + self.hub.tree_page_size]
        headers = {}
        if start + self.hub.tree_page_size < len(listing):
            query = f"recursive={str(recursive).lower()}&expand=false&cursor={start + self.hub.tree_page_size}"
            headers["Link"] = f'<{self._endpoint()}{self.raw_path}?{query}>; rel="next"'
        self._json(page, headers=headers)

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        store = self.hub.store
        tree = store.tree(repo_type, repo_id, revision)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            paths = json.loads(self.body).get("paths", [])
        else:
            paths = parse_qs(self.body.decode()).get("paths", [])
        answers = []
        for path in paths:
            path = path.strip("/")
            if path in tree:
                answers.append(tree[path].describe(store))
            elif any(name.startswith(path + "/") for name in tree) or path == "":
                answers.append({"type": "directory", "path": path, "oid": _folder_oid(tree, path)})
        self._json(answers)

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        store = self.hub.store
        store.load(repo_type, repo_id)
        self._check_read(repo_type, repo_id)
        sha = store.resolve(repo_type, repo_id, revision)
        entry = store.tree(repo_type, repo_id, sha).get(path)
        if entry is None:
            return self._send_error(StoreError(404, f"Entry not found: {path}", "EntryNotFound"),
                                    {"X-Repo-Commit": sha})
        etag = f'"{entry.sha256 if entry.lfs else entry.git_oid(store)}"'
        headers = {"X-Repo-Commit": sha, "ETag": etag, "Accept-Ranges": "bytes"}
        if entry.lfs:
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": str(entry.size)})
        content = store.read_object(entry.sha256)
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if match and content:
            first = int(match[1]) if match[1] else max(0, len(content) - int(match[2] or 0))
            last = int(match[2]) if match[1] and match[2] else len(content) - 1
            last = min(last, len(content) - 1)
            if first > last:
                headers["Content-Range"] = f"bytes */{len(content)}"
                return self._send(416, b"", headers, "application/octet-stream")
            headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
            return self._send(206, content[first:last + 1], headers, "application/octet-stream")
        self._send(200, content, headers, "application/octet-stream")


def _folder_oid(tree: dict[str, Entry], folder: str) -> str:
    inside = sorted((path, entry.sha256) for path, entry in tree.items() if path.startswith(folder + "/"))
    return hashlib.sha1(json.dumps(inside).encode()).hexdigest()
