"""What the test server keeps besides its store: accounts, the request log, injected failures, and what the
request handler (:mod:`~hub_tools.hub_test_server.protocol`) may ask of the server."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from hub_tools.hub_test_server.store import RepositoryStore


@dataclass
class User:
    """An account of the test server: its name, its token and the organisations it may write to."""

    name: str
    token: str = field(repr=False)  # kept out of reprs, so a failing test does not print it
    organizations: tuple[str, ...] = ()

    def may_write(self, namespace: str) -> bool:
        return namespace == self.name or namespace in self.organizations


@dataclass
class RequestRecord:
    """One request the server answered (the token is never recorded, only whether one was sent)."""

    method: str
    path: str
    status: int
    authenticated: bool = field(default=False)


@dataclass
class InjectedFailure:
    """Answer ``status`` to the next ``remaining`` requests whose method and path match.

    ``action`` ``"die"`` stops the whole server instead, without answering (a server that dies mid-upload);
    ``"hold"`` sets ``reached`` and waits for ``release`` before answering normally (a push caught mid-way).
    """

    method: str
    path_pattern: str
    status: int
    remaining: int
    action: str = "status"
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class ServedHub(Protocol):
    """What the handler asks of the server that owns it (a :class:`~hub_tools.hub_test_server.HubTestServer`)."""

    store: RepositoryStore
    users: dict[str, User]
    tree_page_size: int

    @property
    def url(self) -> str: ...

    def take_failure(self, method: str, path: str) -> InjectedFailure | None: ...

    def die(self) -> None: ...

    def record(self, request: RequestRecord) -> None: ...

    def connection_opened(self, connection) -> None: ...

    def connection_closed(self, connection) -> None: ...
