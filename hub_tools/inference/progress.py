"""Progress of a sampling run: samples done, tokens per second and time left, on stderr.

On a terminal it is a progress bar that moves every few decoding steps; in a log (stderr is not a
terminal: a batch job, CI, ``nohup``) it is one plain line per minute and a last line with the totals, so a
long evaluation is never silent and its log stays short.
"""

from __future__ import annotations

import sys
import threading
import time

from hub_tools.progress import duration as _duration


class SamplingProgress:
    """Counts samples and generated tokens and shows them.

    Args:
        total: samples to produce in this run.
        description: what the line or bar is called.
        terminal: draw a bar (``True``) or write lines (``False``); defaults to whether stderr is a terminal.
        interval: seconds between two lines when not on a terminal.
        stream: where to write (default: stderr).

    Thread-safe: server sampling reports from many threads.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> progress = SamplingProgress(4, terminal=False, interval=3600, stream=out)
        >>> progress.update(samples=4, tokens=100)
        >>> progress.close()
        >>> out.getvalue().splitlines()[-1].startswith("sampling: 4/4 samples")
        True
    """

    def __init__(self, total: int, *, description: str = "sampling", terminal: bool | None = None,
                 interval: float = 60.0, stream=None):
        self.total, self.description, self.interval = total, description, interval
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.samples = self.tokens = 0
        self.start = self.last_line = time.monotonic()
        self.lock = threading.Lock()
        self.bar = None
        self.closed = False
        if self.terminal:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=description, unit="sample", file=self.stream, dynamic_ncols=True)
        else:
            print(f"{description}: {total} samples to generate", file=self.stream, flush=True)

    def update(self, *, samples: int = 0, tokens: int = 0) -> None:
        """Add finished samples and generated tokens."""
        with self.lock:
            self.samples += samples
            self.tokens += tokens
            now = time.monotonic()
            if self.bar is not None:
                self.bar.set_postfix_str(f"{self.tokens_per_second(now):,.0f} tokens/s", refresh=False)
                self.bar.update(samples)
            elif now - self.last_line >= self.interval:
                self.last_line = now
                print(self.line(now), file=self.stream, flush=True)

    def tokens_per_second(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.start
        return self.tokens / elapsed if elapsed > 0 else 0.0

    def line(self, now: float | None = None) -> str:
        """``sampling: 120/328 samples, 2,310 tokens/s, 1m10s elapsed, about 1m40s left``."""
        now = now or time.monotonic()
        elapsed = now - self.start
        text = (f"{self.description}: {self.samples}/{self.total} samples, {self.tokens_per_second(now):,.0f} "
                f"tokens/s, {_duration(elapsed)} elapsed")
        if 0 < self.samples < self.total:
            text += f", about {_duration(elapsed / self.samples * (self.total - self.samples))} left"
        return text

    def close(self) -> None:
        """End the bar, or write the last line."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.bar is not None:
                self.bar.close()
            else:
                print(self.line(), file=self.stream, flush=True)
