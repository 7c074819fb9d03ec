"""A Hub-protocol HTTP server on 127.0.0.1: the publishing tests' Hub, and a place to try ``lintseq push``.

It is a tool of its own, beside the package it serves: nothing in :mod:`hub_tools.hub` imports it, and it
needs only the standard library.

- :mod:`~hub_tools.hub_test_server.server`: the server, its accounts and failure injection, and the command
  line (``python -m hub_tools.hub_test_server --root /tmp/hub --user alice:MY_TOKEN``);
- :mod:`~hub_tools.hub_test_server.protocol`: the HTTP side, one handler routing each request to the store;
- :mod:`~hub_tools.hub_test_server.state`: accounts, the request log, injected failures;
- :mod:`~hub_tools.hub_test_server.store`: repositories, commits, branches and blobs on disk.
"""

from hub_tools.hub_test_server.server import HubTestServer, main
from hub_tools.hub_test_server.state import InjectedFailure, RequestRecord, User

__all__ = ["HubTestServer", "InjectedFailure", "RequestRecord", "User", "main"]
