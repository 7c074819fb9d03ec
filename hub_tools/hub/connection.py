"""A bound on how long a push keeps retrying a Hub that does not answer.

``huggingface_hub`` retries each request on network errors and 5xx answers, up to five times with growing
pauses, and it never times out a request by itself: a server that dies in the middle of an upload costs
about half a minute before an error, and one that stops answering hangs the push forever. During a push,
requests go through a transport that remembers since when the Hub has been failing; once that is longer
than :data:`GIVE_UP_AFTER_SECONDS`, the next attempt raises :class:`HubUnreachable`, which the client does
not retry, and the push ends with one line.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

# Failures in a row for longer than this end the push (a blip of a few seconds is still retried).
GIVE_UP_AFTER_SECONDS = 6.0
# Per request: connecting, and waiting for an answer once the request is sent (a commit of many files can
# take the Hub a while to answer).
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 120.0
FAILING_STATUSES = (500, 502, 503, 504)


class HubUnreachable(Exception):
    """The Hub kept failing (no connection, dropped connections, 5xx answers) for too long."""

    def __init__(self, seconds: float, last_error: str):
        super().__init__(f"no answer for {seconds:.0f} s ({last_error})")
        self.seconds = seconds
        self.last_error = last_error


class _FailureClock:
    """Since when requests have been failing, shared by every client the push creates."""

    def __init__(self, give_up_after: float):
        self.give_up_after = give_up_after
        self.failing_since: float | None = None
        self.last_error = ""
        self.lock = threading.Lock()

    def check(self) -> None:
        with self.lock:
            if self.failing_since is not None and time.monotonic() - self.failing_since > self.give_up_after:
                raise HubUnreachable(time.monotonic() - self.failing_since, self.last_error)

    def failed(self, description: str) -> None:
        with self.lock:
            if self.failing_since is None:
                self.failing_since = time.monotonic()
            self.last_error = description

    def answered(self) -> None:
        with self.lock:
            self.failing_since = None


def _transport_class():
    import httpx2

    class DeadlineTransport(httpx2.BaseTransport):
        def __init__(self, clock: _FailureClock):
            self.clock = clock
            self.inner = httpx2.HTTPTransport()

        def handle_request(self, request):
            self.clock.check()
            try:
                response = self.inner.handle_request(request)
            except httpx2.TransportError as error:
                self.clock.failed(error.__class__.__name__)
                raise
            if response.status_code in FAILING_STATUSES:
                self.clock.failed(f"HTTP {response.status_code}")
            else:
                self.clock.answered()
            return response

        def close(self):
            self.inner.close()

    return DeadlineTransport


@contextlib.contextmanager
def bounded_retries(give_up_after: float | None = None) -> Iterator[None]:
    """Within the block, ``huggingface_hub`` requests time out and stop retrying after ``give_up_after`` s.

    The client's shared HTTP session is replaced for the block and the previous factory put back after it.
    """
    import httpx2
    from huggingface_hub.utils import _http, set_client_factory

    clock = _FailureClock(GIVE_UP_AFTER_SECONDS if give_up_after is None else give_up_after)
    transport_class = _transport_class()
    # The client closes and recreates its session after a connection error: the clock outlives sessions.
    previous = _http._GLOBAL_CLIENT_FACTORY
    template = previous()  # the client's own request hooks (headers, request ids) are kept
    event_hooks = dict(template.event_hooks)
    template.close()
    timeout = httpx2.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)

    def factory():
        return httpx2.Client(event_hooks=event_hooks, follow_redirects=True, timeout=timeout,
                             transport=transport_class(clock))

    set_client_factory(factory)
    try:
        yield
    finally:
        set_client_factory(previous)
