"""Progress of long work (generating, verifying): a bar on a terminal, a plain line a minute in a log.

tqdm draws its bar with carriage returns, which a log file (a Slurm job's output, ``nohup``, CI) keeps as one
ever-growing line of redrawn bars; ``lintseq verify`` showed nothing at all off a terminal, so a long check
was silent. :func:`progress_bar` gives tqdm's bar on a terminal and, elsewhere, :class:`LogLines`: a first
line saying what is to be done, one line a minute with the count, the rate and the time left, and a last line.
"""

from __future__ import annotations

import sys
import time


def duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h07m``.

    >>> duration(42.4), duration(185), duration(7_650)
    ('42s', '3m05s', '2h07m')
    """
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class LogLines:
    """The part of tqdm's interface the commands use (``update``, ``close``, a context manager), as lines.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> with LogLines(3, "verify lintseq", "row", stream=out, interval=3600) as bar:
        ...     bar.update(3)
        >>> lines = out.getvalue().splitlines()
        >>> lines[0], lines[-1].startswith("verify lintseq: 3/3 rows")
        ('verify lintseq: 3 rows to go', True)
    """

    def __init__(self, total: int | None, description: str, unit: str, *, stream=None, interval: float = 60.0):
        self.total, self.description, self.unit, self.interval = total, description, unit, interval
        self.stream = stream or sys.stderr
        self.n = self.earlier = 0
        self.start = self.last_line = time.monotonic()
        self.closed = False
        to_go = f"{total:,} {unit}s to go" if total is not None else "started"
        print(f"{description}: {to_go}", file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last_line >= self.interval:
            self.last_line = now
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        """``lintseq generate (lintseq): 1,200/4,800 programs, 31.2 programs/s, 38s elapsed, about 1m55s left``."""
        elapsed = (now or time.monotonic()) - self.start
        done = f"{self.n:,}/{self.total:,}" if self.total is not None else f"{self.n:,}"
        text = f"{self.description}: {done} {self.unit}s"
        if self.earlier:
            text += f" ({self.earlier:,} by an earlier run)"
        now_done = self.n - self.earlier  # the rate and the time left are this run's
        if elapsed > 0:
            text += f", {now_done / elapsed:,.1f} {self.unit}s/s"
        text += f", {duration(elapsed)} elapsed"
        if self.total is not None and now_done > 0 and self.n < self.total:
            text += f", about {duration(elapsed / now_done * (self.total - self.n))} left"
        return text

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            print(self.line(), file=self.stream, flush=True)

    def __enter__(self) -> LogLines:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def progress_bar(total: int | None, description: str, unit: str, *, enabled: bool = True, stream=None):
    """tqdm's bar on a terminal or in a notebook (whose stderr is no terminal, but shows tqdm's widget),
    :class:`LogLines` elsewhere, a bar that shows nothing when not ``enabled``."""
    from tqdm.auto import tqdm

    stream = stream or sys.stderr
    if not enabled:
        return tqdm(total=total, disable=True)
    if stream.isatty() or "ipykernel" in sys.modules:
        return tqdm(total=total, desc=description, unit=unit, file=stream, dynamic_ncols=True)
    return LogLines(total, description, unit, stream=stream)


def count_earlier(bar, n: int) -> None:
    """Count ``n`` items an earlier, interrupted run finished: done, but not part of this run's rate."""
    if isinstance(bar, LogLines):
        bar.earlier += n
    bar.update(n)
