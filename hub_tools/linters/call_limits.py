"""The time and memory limits of one lint call, which nothing inside the call can swallow.

``SIGALRM`` raises :class:`Interrupted`, derived from :class:`BaseException`: pylint and astroid catch
``Exception`` only (astroid's inference has several such handlers), so no ``except`` in them can take the
interruption for a failed inference and carry on. The alarm fires again every few milliseconds until the
call has ended, in case an interruption was swallowed anyway (by the interpreter, while it ran a finalizer,
where exceptions are only printed), and a call whose clock ran past the limit raises :class:`LintTimeout`
whatever it returned. Outside the main thread there is no alarm: there the watchdog below ends the call.

Memory. astroid evaluates what it can of a program: ``[0] * 99_999_999`` becomes a list of a hundred
million elements (800 MB; its own cap is 1e8), once per such line and per state linted, so a short program
can make one call grow by gigabytes, past what a worker has, and the out-of-memory killer then ends the
worker or the whole run. With a memory limit the alarm also ticks every :data:`_TICK_SECONDS` and reads the
process's resident memory; when the call has grown it by more than the limit, the call is interrupted the
same way and raises :class:`LintMemoryLimit`. A tick comes between two steps of the interpreter, so one
step that allocates a lot (one such list) still completes: the limit is crossed by at most that much.
Resident memory is read from ``/proc/self/statm``; where there is none (not Linux) there is no memory
limit, and outside the main thread neither.

A program can also keep the alarm's handler from running at all. Python calls the handler like any
function, so with the stack at the recursion limit the call fails and the interruption turns into a
``RecursionError``, which astroid catches: formatting a chain of 200 method calls (``s.strip().strip()...``),
its node formatter catches it and starts the same formatting again one level up, at every level, so the
work doubles with each level and the stack stays at its limit, where every alarm is lost. Such a call ran
for hours. So a watchdog thread (:class:`_Watchdog`, one per process) looks at the running calls every
quarter of a second, and in the thread of a call that has run :data:`_GRACE_SECONDS` past its limit it sets
:class:`Interrupted` as a pending exception (``PyThreadState_SetAsyncExc``), which the interpreter raises
between two steps without calling anything, so no depth check can turn it into another exception. It does
this again every :data:`_GRACE_SECONDS` until the call ends, never while the clock is stopped, and a call
that ends cancels what is still pending. Unlike the alarm it works in any thread, so outside the main thread
a call is ended :data:`_GRACE_SECONDS` after its limit.

The caller's own alarm (``signal.alarm``, ``signal.setitimer(ITIMER_REAL, ...)``: a harness's time limit) shares
the one timer: it is stopped when the body starts and put back, with the caller's handler, when the limits
are taken down, less the time the body took. One that fell due meanwhile fires then, as the call ends
(before, a lint call cancelled it for good, and the caller's time limit never came).

The clock can be stopped for part of the body (:meth:`CallLimits.paused`): that part does not count
against the time limit, nor what it adds to memory, and no alarm can cut it. The linter stops it while
astroid builds the tree of a library module, so a module is never left half-built, and a cold cache never
turns into a time-out or a memory stop (the trees of ``transformers`` alone are more than a gigabyte).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
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
# How long past its limit a call may run before the watchdog interrupts it (the alarm should have done it
# within milliseconds), and how often the watchdog looks.
_GRACE_SECONDS = 1.0
_WATCH_SECONDS = 0.25


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


class _Cancelled(BaseException):
    """Raised in a call's own thread to take back an interruption set pending (:meth:`_Watchdog.cancel_pending`)."""


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
        self._caller_timer = (0.0, 0.0)  # the caller's own ITIMER_REAL (delay, interval), put back on exit
        self._caller_timer_at = 0.0
        self._started = self._ended = None  # monotonic times of the body's start and end
        self._pause_depth = 0
        self._pause_started = 0.0
        self._memory_base: int | None = None  # resident bytes the body may grow from (None: not watched)
        self._pause_memory = 0
        self._thread: int | None = None  # the thread the body runs in, while the watchdog watches it
        self._interrupted_at: float | None = None  # when the watchdog last set an interruption pending

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
        with _WATCHDOG.lock:  # the watchdog interrupts nothing from here (what it set pending is cancelled)
            _WATCHDOG.cancel_pending(self)
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
        if self.seconds:
            _WATCHDOG.watch(self)  # before the alarm is armed: no alarm can cut it
        if main_thread and (self.seconds or self._memory_base is not None):
            # The caller's own alarm first stops (it could fire into this handler), and is put back on exit.
            self._caller_timer, self._caller_timer_at = signal.setitimer(signal.ITIMER_REAL, 0), time.monotonic()
            self._previous = signal.signal(signal.SIGALRM, self._alarm)
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self._next_alarm())
        return self

    def overdue(self) -> bool:
        """Whether the body has run :data:`_GRACE_SECONDS` past the time limit, with the clock running."""
        return bool(self.seconds) and not self._pause_depth and self._ended is None and (
            self.elapsed() > self.seconds + _GRACE_SECONDS)

    def disarm(self) -> None:
        """End every interruption of the body: the watchdog's (a pending one cancelled) and the alarm.

        ``__exit__`` does it first; it is safe to call again, as the caller does when an interruption
        escaped the with statement (one the watchdog set pending can be raised in ``__exit__`` itself,
        before it has cancelled it)."""
        if self._armed:
            self._armed = False  # first: from here on the alarm cannot raise
            signal.setitimer(signal.ITIMER_REAL, 0)
            if self._previous is not None:  # None: a handler set outside Python, which Python cannot put back
                signal.signal(signal.SIGALRM, self._previous)
            delay, interval = self._caller_timer
            if delay:  # the caller's alarm runs on, less the time of the call; one due meanwhile fires now
                left = delay - (time.monotonic() - self._caller_timer_at)
                signal.setitimer(signal.ITIMER_REAL, max(left, _CLOCK_SLACK), interval)
        _WATCHDOG.forget(self)

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
        self.disarm()
        if self._ended is None:
            self._ended = time.monotonic()
        if self.seconds and self.elapsed() > self.seconds:
            self.expired = True
        if (self.expired or self.out_of_memory) and (kind is None or issubclass(kind, (Exception, Interrupted))):
            # Whatever the body did after a limit (returned, or failed because it was cut) is void, and so is
            # what its failure carries. An interruption that reached astroid's retry-on-RecursionError code (see
            # above) arrives with every RecursionError of the retries behind it in ``__context__``: 7,970 of
            # them, 68,649 frames with their locals, for the 200-method chain of the tests. Kept, the error
            # below would hold them all, and any traceback that walks a hidden context took seconds
            # (``TracebackException(compact=False)``: 2.8 s), or hours where each link is formatted with the
            # rest of the chain (a test report of a failure chained to it).
            if error is not None:
                error.__context__ = error.__cause__ = error.__traceback__ = None
            raise self.crossed() from None
        return False

    def crossed(self) -> LintTimeout | LintMemoryLimit:
        """The error for the limit the body crossed (the time limit unless memory ran out)."""
        if self.out_of_memory:
            return LintMemoryLimit(f"pylint grew the process's memory by more than {self.memory_mb:g} MiB")
        return LintTimeout(f"pylint took longer than {self.seconds:g} s")


_OWN_CODE = {CallLimits.__enter__.__code__, CallLimits.__exit__.__code__, CallLimits.disarm.__code__}


class _Watchdog:
    """A daemon thread that interrupts the calls the alarm could not end (see the module docstring)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: dict[int, CallLimits] = {}  # thread id -> the call whose body runs there
        self.thread: threading.Thread | None = None
        # CPython's way to raise in another thread; elsewhere there is no watchdog.
        self.raise_in = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)

    def watch(self, limits: CallLimits) -> None:
        if self.raise_in is None:
            return
        with self.lock:
            limits._thread = threading.get_ident()
            self.calls[limits._thread] = limits
            if self.thread is None or not self.thread.is_alive():  # the first call, or the first after a fork
                self.thread = threading.Thread(target=self._run, name="lint-call-watchdog", daemon=True)
                self.thread.start()

    def forget(self, limits: CallLimits) -> None:
        with self.lock:
            self.cancel_pending(limits)
            if limits._thread is not None and self.calls.get(limits._thread) is limits:
                del self.calls[limits._thread]
            limits._thread = None

    def cancel_pending(self, limits: CallLimits) -> None:
        """Take back an interruption the watchdog set pending in the call's thread, raised or not yet (the lock
        is held; called in that thread, by :meth:`forget` and :meth:`CallLimits.paused`).

        Not with ``PyThreadState_SetAsyncExc(thread, NULL)``: that drops the pending exception but sets the
        interpreter's "asynchronous exception pending" flag again, and in CPython 3.11 and 3.12 only a thread
        that raises such an exception clears it. Left set, every thread runs the eval loop's slow path at
        each check, and under ``sys.settrace`` or ``sys.setprofile`` (``cProfile``, coverage, a debugger) the
        next Python call never gets past its first instruction: the process hung for good once the watchdog
        had fired. Instead the pending exception is replaced by :class:`_Cancelled`, raised here at once and
        caught, which clears the flag.
        """
        if limits._interrupted_at is None or limits._thread is None:
            return
        if limits._thread != threading.get_ident():
            return  # not reached: a call's limits are entered and left in its own thread
        # This can run with the stack at the recursion limit (a library build in such a call): any call here may
        # fail with RecursionError. One that fails before raise_in has run sets nothing; after it, nothing but
        # the loop below runs, which makes no call, until _Cancelled arrives at one of its turns.
        thread, cancelled = ctypes.c_ulong(limits._thread), ctypes.py_object(_Cancelled)
        turns = 0
        try:
            self.raise_in(thread, cancelled)
            while turns < 100_000_000:
                turns += 1
        except _Cancelled:
            pass
        limits._interrupted_at = None

    def _run(self) -> None:
        while True:
            time.sleep(_WATCH_SECONDS)
            with self.lock:
                self._look()

    def _look(self) -> None:
        """One look at the running calls (the lock is held). The frames it takes die with it: a frame kept over
        the sleep would keep the locals of a finished call alive, the checked program's tree among them."""
        now = time.monotonic()
        frames = sys._current_frames() if self.calls else {}
        for thread, limits in self.calls.items():
            last = limits._interrupted_at
            if not limits.overdue() or (last is not None and now - last < _GRACE_SECONDS):
                continue
            frame = frames.get(thread)
            if frame is None or frame.f_code in _OWN_CODE:
                continue  # the thread is gone, or the call is ending: nothing to interrupt
            limits._interrupted_at = now
            limits.expired = True
            self.raise_in(ctypes.c_ulong(thread), ctypes.py_object(Interrupted))


_WATCHDOG = _Watchdog()


def _new_watchdog_in_child() -> None:
    # A forked child has only the forking thread: the watchdog's thread is gone, and its lock may have been
    # held at the fork (then it would never be released). The child starts with a watchdog of its own.
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_watchdog_in_child)
_OWN_CODE |= {_Watchdog.watch.__code__, _Watchdog.forget.__code__, _Watchdog.cancel_pending.__code__}
