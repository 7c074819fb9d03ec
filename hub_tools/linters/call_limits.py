"""The time and memory limits of one lint call, which nothing inside the call can swallow.

``SIGALRM`` raises :class:`Interrupted`, derived from :class:`BaseException`: pylint and astroid catch
``Exception`` only (astroid's inference has several such handlers), so no ``except`` in them can take the
interruption for a failed inference and carry on. The alarm fires again every few milliseconds until the
call has ended, in case an interruption was swallowed anyway (by the interpreter, while it ran a finalizer,
where exceptions are only printed), and a call whose clock ran past the limit raises :class:`LintTimeout`
whatever it returned. Outside the main thread there is no alarm, and only the last rule applies.

Memory. astroid evaluates what it can of a program: ``[0] * 99_999_999`` becomes a list of a hundred
million elements (800 MB; its own cap is 1e8), once per such line and per state linted, so a short program
can make one call grow by gigabytes, past what a worker has, and the out-of-memory killer then ends the
worker or the whole run. With a memory limit the alarm also ticks every :data:`_TICK_SECONDS` and reads the
process's resident memory; when the call has grown it by more than the limit, the call is interrupted the
same way and raises :class:`LintMemoryLimit`. A tick comes between two steps of the interpreter, so one
step that allocates a lot (one such list) still completes: the limit is crossed by at most that much.
Resident memory is read from ``/proc/self/statm``; where there is none (not Linux) there is no memory
limit, and outside the main thread neither.

The clock can be stopped for part of the body (:meth:`CallLimits.paused`): that part does not count
against the time limit, nor what it adds to memory, and no alarm can cut it. The linter stops it while
astroid builds the tree of a library module, so a module is never left half-built, and a cold cache never
turns into a time-out or a memory stop (the trees of ``transformers`` alone are more than a gigabyte).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

# After the limit, the alarm repeats this often until the call has ended (in case the interruption was
# swallowed, e.g. while the interpreter ran a finalizer, where exceptions are only printed).
_REPEAT_SECONDS = 0.02
# With a memory limit, how often the alarm reads the process's memory (a read takes about 10 microseconds).
_TICK_SECONDS = 0.05
# An alarm this close to the deadline is the deadline's (the timer and the monotonic clock may differ a little).
_CLOCK_SLACK = 0.001


class LintTimeout(TimeoutError):
    """A single lint call ran past its time limit."""


class LintMemoryLimit(MemoryError):
    """A single lint call grew the process's memory past its limit."""


def resident_bytes() -> int | None:
    """The process's resident memory in bytes, or ``None`` where ``/proc/self/statm`` cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Interrupted(BaseException):
    """Raised by the alarm: not an :class:`Exception`, so no ``except Exception`` in pylint or astroid
    (astroid's inference has several) can take it for a failed inference and carry on."""


class CallLimits:
    """A context that ends its body after ``seconds``, or once the body has grown the process's resident
    memory by ``memory_mb`` MiB, and then raises :class:`LintTimeout` or :class:`LintMemoryLimit`.

    In the main thread ``SIGALRM`` interrupts the body; in any thread, a body that finishes late still
    raises, so an overrun can never pass for a result. ``None`` (or 0) leaves a limit off.
    """

    def __init__(self, seconds: float | None, memory_mb: float | None = None):
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.expired = False
        self.out_of_memory = False
        self.paused_seconds = 0.0  # time of the body spent with the clock stopped
        self._armed = False
        self._previous = None
        self._started = self._ended = None  # monotonic times of the body's start and end
        self._pause_depth = 0
        self._pause_started = 0.0
        self._memory_base: int | None = None  # resident bytes the body may grow from (None: not watched)
        self._pause_memory = 0

    def elapsed(self) -> float:
        """Seconds on the clock: since the body started, less the time it was stopped."""
        end = time.monotonic() if self._ended is None else self._ended
        return end - self._started - self.paused_seconds

    def _next_alarm(self) -> float:
        """Seconds until the alarm should fire next: the deadline, or the next memory reading if sooner."""
        due = max(self.seconds - self.elapsed(), _REPEAT_SECONDS) if self.seconds else _TICK_SECONDS
        return min(due, _TICK_SECONDS) if self._memory_base is not None else due

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock for the body of this context (nested uses stop it once); what it adds to the
        process's memory does not count either.

        Outside the body of the limits it does nothing. The alarm is disarmed while the clock is stopped and
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
            if self._memory_base is not None:
                self._pause_memory = resident_bytes() or 0
        try:
            yield
        finally:
            self._pause_depth -= 1
            if self._pause_depth == 0:
                self.paused_seconds += time.monotonic() - self._pause_started
                if self._memory_base is not None:
                    self._memory_base += max((resident_bytes() or 0) - self._pause_memory, 0)
                if self._armed:  # last: an alarm due at once raises here, after the stopped part
                    signal.setitimer(signal.ITIMER_REAL, self._next_alarm())

    def __enter__(self) -> CallLimits:
        self._started, self._ended = time.monotonic(), None
        main_thread = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if self.memory_mb and main_thread:
            self._memory_base = resident_bytes()
        if main_thread and (self.seconds or self._memory_base is not None):
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self._next_alarm())
        return self

    def _alarm(self, signum, frame) -> None:
        if not self._armed or self._pause_depth:
            return  # a late alarm after the body ended, or one due as the clock stopped (re-armed after)
        if self.seconds and self.elapsed() >= self.seconds - _CLOCK_SLACK:
            self.expired = True
        elif self._memory_base is not None and not self.out_of_memory:
            grown = (resident_bytes() or 0) - self._memory_base
            self.out_of_memory = grown > self.memory_mb * 2**20
        if not (self.expired or self.out_of_memory):
            signal.setitimer(signal.ITIMER_REAL, self._next_alarm())  # a memory reading, under the limit
            return
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
        if (self.expired or self.out_of_memory) and (kind is None or issubclass(kind, (Exception, Interrupted))):
            # Whatever the body did after a limit (returned, or failed because it was cut) is void.
            raise self.crossed() from None
        return False

    def crossed(self) -> LintTimeout | LintMemoryLimit:
        """The error for the limit the body crossed (the time limit unless memory ran out)."""
        if self.out_of_memory:
            return LintMemoryLimit(f"pylint grew the process's memory by more than {self.memory_mb:g} MiB")
        return LintTimeout(f"pylint took longer than {self.seconds:g} s")


_OWN_CODE = frozenset({CallLimits.__enter__.__code__, CallLimits.__exit__.__code__})
