"""The time limit of one lint call, which nothing inside the call can swallow.

``SIGALRM`` raises :class:`Interrupted`, derived from :class:`BaseException`: pylint and astroid catch
``Exception`` only (astroid's inference has several such handlers), so no ``except`` in them can take the
interruption for a failed inference and carry on. The alarm fires again every few milliseconds until the
call has ended, in case an interruption was swallowed anyway (by the interpreter, while it ran a finalizer,
where exceptions are only printed), and a call whose clock ran past the limit raises :class:`LintTimeout`
whatever it returned. Outside the main thread there is no alarm, and only the last rule applies.
"""

from __future__ import annotations

import signal
import threading
import time

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
        self._armed = False
        self._previous = None

    def __enter__(self) -> TimeLimit:
        self._started = time.monotonic()
        if self.seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def _alarm(self, signum, frame) -> None:
        if not self._armed:
            return  # a late alarm after the body ended
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
        if self.seconds and time.monotonic() - self._started > self.seconds:
            self.expired = True
        if self.expired and (kind is None or issubclass(kind, (Exception, Interrupted))):
            # Whatever the body did after the limit (returned, or failed because it was cut) is void.
            raise LintTimeout(f"pylint took longer than {self.seconds:g} s") from None
        return False


_OWN_CODE = frozenset({TimeLimit.__enter__.__code__, TimeLimit.__exit__.__code__})
