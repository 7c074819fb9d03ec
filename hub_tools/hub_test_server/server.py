"""A Hub-protocol HTTP server on 127.0.0.1, for tests and for trying ``lintseq push`` without the real Hub.

It answers the requests that ``huggingface_hub``, ``datasets`` and ``transformers`` make to push and read
repositories (create, preupload, LFS batch and upload, commit, repo info, tree, paths-info, resolve with
ranges, whoami, refs, commits), stores everything on disk (see :mod:`hub_tools.hub_test_server.store`),
checks tokens, keeps private repositories private and reports errors with ``X-Error-Code`` the way the
Hub does. Failures can be injected to exercise the clients' retries.

Start it by hand::

    python -m hub_tools.hub_test_server --root /tmp/hub --port 8765 --user alice:MY_TOKEN
    export HF_ENDPOINT=http://127.0.0.1:8765 HF_TOKEN=MY_TOKEN HF_HUB_DISABLE_XET=1

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from hub_tools.hub_test_server.protocol import HubRequestHandler
from hub_tools.hub_test_server.state import InjectedFailure, RequestRecord, User
from hub_tools.hub_test_server.store import RepositoryStore


class _QuietHTTPServer(ThreadingHTTPServer):
    """A client that hangs up mid-request (a killed push, a test that drops its connections) is normal here:
    no traceback on stderr for it. Any other error in a handler is still printed."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class HubTestServer:
    """The server: a :class:`RepositoryStore`, accounts, and a threaded HTTP listener.

    Args:
        root: folder for the repositories and objects.
        users: accounts that may authenticate; anonymous requests may read public repositories.
        host: address to listen on (keep the default: the server has no TLS and trusts its callers).
        port: port to listen on; 0 picks a free one (see :attr:`url`).
        tree_page_size: entries per page of tree listings (small values exercise pagination).

    Example:
        >>> import tempfile
        >>> server = HubTestServer(tempfile.mkdtemp(), users=[User("alice", "a-token")]).start()
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> server.stop()
    """

    def __init__(self, root, users=(), *, host: str = "127.0.0.1", port: int = 0, tree_page_size: int = 1000):
        self.store = RepositoryStore(root)
        self.users = {user.token: user for user in users}
        self.tree_page_size = tree_page_size
        self.failures: list[InjectedFailure] = []
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        handler = type("BoundHandler", (HubRequestHandler,), {"hub": self})
        # Open keep-alive connections, closed on stop(): a client's pooled connection must not go on
        # talking to a stopped server (a new server may get the same port).
        self.connections: set = set()
        self._http = _QuietHTTPServer((host, port), handler)
        self._http.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubTestServer:
        """Serve in a background thread; return ``self``."""
        self._thread = threading.Thread(target=self._http.serve_forever, name="hub-test-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        self._http.shutdown()
        self._http.server_close()
        with self._lock:
            connections, self.connections = list(self.connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def fail_next(self, method: str, path_pattern: str, *, status: int = 500, count: int = 1) -> None:
        """Answer ``status`` to the next ``count`` requests whose method matches and path matches the regex."""
        with self._lock:
            self.failures.append(InjectedFailure(method.upper(), path_pattern, status, count))

    def die_on(self, method: str, path_pattern: str) -> None:
        """On the next matching request, stop listening and drop every connection without answering."""
        with self._lock:
            self.failures.append(InjectedFailure(method.upper(), path_pattern, 0, 1, action="die"))

    def hold_next(self, method: str, path_pattern: str) -> InjectedFailure:
        """Hold the next matching request until ``.release.set()``; ``.reached`` is set when it arrives."""
        hold = InjectedFailure(method.upper(), path_pattern, 0, 1, action="hold")
        with self._lock:
            self.failures.append(hold)
        return hold

    def take_failure(self, method: str, path: str) -> InjectedFailure | None:
        with self._lock:
            for failure in self.failures:
                if failure.remaining and failure.method == method and re.search(failure.path_pattern, path):
                    failure.remaining -= 1
                    return failure
        return None

    def connection_opened(self, connection) -> None:
        with self._lock:
            self.connections.add(connection)

    def connection_closed(self, connection) -> None:
        with self._lock:
            self.connections.discard(connection)

    def record(self, request: RequestRecord) -> None:
        with self._lock:
            self.requests.append(request)

    def die(self) -> None:
        """Stop from inside a request handler (shutdown waits for the serving thread, so it runs apart)."""
        threading.Thread(target=self.stop, name="hub-test-server-stop", daemon=True).start()

    def commits(self, repo_type: str, repo_id: str, revision: str = "main") -> list[dict]:
        """Commits of a revision, newest first (for assertions in tests)."""
        return [dict(commit, sha=sha) for sha, commit in self.store.history(repo_type, repo_id, revision)]


def _parse_user(text: str) -> User:
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("expected NAME:TOKEN or NAME:TOKEN:ORG1,ORG2")
    organizations = tuple(org for org in (parts[2] if len(parts) > 2 else "").split(",") if org)
    return User(parts[0], parts[1], organizations)


def main(argv: list[str] | None = None) -> int:
    """Run the server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m hub_tools.hub_test_server", description=__doc__.split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--root", required=True, help="folder that keeps the repositories between runs")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--user", type=_parse_user, action="append", default=[], metavar="NAME:TOKEN[:ORGS]",
                        help="an account (repeatable); ORGS is a comma-separated list of organisations")
    arguments = parser.parse_args(argv)
    Path(arguments.root).mkdir(parents=True, exist_ok=True)
    server = HubTestServer(arguments.root, arguments.user, port=arguments.port)
    names = ", ".join(f"{user.name} (orgs: {', '.join(user.organizations) or '-'})" for user in arguments.user)
    print(f"Hub test server on {server.url}, repositories in {arguments.root}; accounts: {names or 'none'}")
    print(f"Point the clients at it:  export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1 HF_TOKEN=<your token>")
    print("Stop with Ctrl-C.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._http.server_close()
    return 0


__all__ = ["HubTestServer", "InjectedFailure", "RequestRecord", "User", "main"]
