"""The time limit of one lint call, which nothing inside the call can swallow.

``SIGALRM`` raises :class:`Interrupted`, derived from :class:`BaseException`: pylint and astroid catch
``Exception`` only (astroid's inference has several such handlers), so no ``except`` in them can take the
interruption for a failed inference and carry on. The alarm fires again every few milliseconds until the
call has ended, in case an interruption was swallowed anyway (by the interpreter, while it ran a finalizer,
where exceptions are only printed), and a call whose clock ran past the limit raises :class:`LintTimeout`
whatever it returned. Outside the main thread there is no alarm, and only the last rule applies.

The clock can be stopped for part of the body (:meth:`TimeLimit.paused`): that part does not count
against the limit, and no alarm can cut it. The linter stops it while astroid builds the tree of a library
module, so a module is never left half-built and a cold cache never turns into a time-out.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

# After the limit, the alarm repeats this often until the call has ended (in case the interruption was
# swallowed, e.g. while the interpreter ran a finalizer, where exceptions are only printed).
_REPEAT_SECONDS = 0.02


class LintTimeout(TimeoutError):
    """A single lint call ran past its time limit."""


class Interrupted(BaseException):
    """Raised by the alarm: not an :class:`Exception`, so no ``except Exception`` in pylint or astroid
    (astroid's inference has several) can take it for a failed inference and carry on."""


class TimeLimit:
    """A context that ends its body after ``seconds`` and raises :class:`LintTimeout` if it ran too long.

    In the main thread ``SIGALRM`` interrupts the body; in any thread, a body that finishes late still
    raises, so an overrun can never pass for a result.
    """

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.expired = False
        self.paused_seconds = 0.0  # time of the body spent with the clock stopped
        self._armed = False
        self._previous = None
        self._started = self._ended = None  # monotonic times of the body's start and end
        self._pause_depth = 0
        self._pause_started = 0.0

    def elapsed(self) -> float:
        """Seconds on the clock: since the body started, less the time it was stopped."""
        end = time.monotonic() if self._ended is None else self._ended
        return end - self._started - self.paused_seconds

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock for the body of this context (nested uses stop it once).

        Outside the body of the limit it does nothing. The alarm is disarmed while the clock is stopped and
        re-armed with what is left of the limit afterwards (at once, if nothing is).
        """
        if self._started is None or self._ended is not None:
            yield
            return
        self._pause_depth += 1  # from here the alarm handler returns without raising
        if self._pause_depth == 1:
            if self._armed:
                signal.setitimer(signal.ITIMER_REAL, 0)
            self._pause_started = time.monotonic()
        try:
            yield
        finally:
            self._pause_depth -= 1
            if self._pause_depth == 0:
                self.paused_seconds += time.monotonic() - self._pause_started
                if self._armed:  # last: an alarm due at once raises here, after the stopped part
                    signal.setitimer(signal.ITIMER_REAL, max(self.seconds - self.elapsed(), _REPEAT_SECONDS))

    def __enter__(self) -> TimeLimit:
        self._started, self._ended = time.monotonic(), None
        if self.seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def _alarm(self, signum, frame) -> None:
        if not self._armed or self._pause_depth:
            return  # a late alarm after the body ended, or one due as the clock stopped (re-armed after)
        self.expired = True
        signal.setitimer(signal.ITIMER_REAL, _REPEAT_SECONDS)
        # Raising inside __enter__ or __exit__ would escape the with statement with the alarm still
        # armed; there the flag is enough (the repeat fires again in the body, or __exit__ disarms it).
        if frame is None or frame.f_code not in _OWN_CODE:
            raise Interrupted

    def __exit__(self, kind, error, traceback) -> bool:
        if self._armed:
            self._armed = False  # first: from here on the alarm cannot raise
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
        self._ended = time.monotonic()
        if self.seconds and self.elapsed() > self.seconds:
            self.expired = True
        if self.expired and (kind is None or issubclass(kind, (Exception, Interrupted))):
            # Whatever the body did after the limit (returned, or failed because it was cut) is void.
            raise LintTimeout(f"pylint took longer than {self.seconds:g} s") from None
        return False


_OWN_CODE = frozenset({TimeLimit.__enter__.__code__, TimeLimit.__exit__.__code__})
