"""Distributions of integer figures (edits per program, lines per edit, tokens per row) kept as counts.

A run's statistics describe every emitted row. Keeping each figure of each row until the end costs memory in
proportion to the corpus (4,346 MiB for a million rows in the merge step, measured); these figures take
few distinct values, so :class:`ValueCounts` keeps how often each value occurred instead: memory bounded by
the number of distinct values, and the same mean, median, percentiles and histograms as the full list gives
(the same arithmetic as :mod:`statistics` and numpy's linear percentile, checked against them by a test).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


class ValueCounts:
    """How many times each integer value occurred.

    >>> counts = ValueCounts([3, 1, 2, 2])
    >>> counts.total, counts.sum(), counts.nth(0), counts.nth(3), counts.median()
    (4, 8, 1, 3, 2.0)
    >>> counts.distribution(), counts.histogram(bins=40)
    ({'mean': 2.0, 'median': 2.0, 'min': 1, 'max': 3}, {'bin_width': 1, 'bins': [[1, 1], [2, 2], [3, 1]]})
    """

    def __init__(self, values: Iterable[int] = ()):
        self.counts: Counter = Counter()
        self.total = 0
        self.add(values)

    def add(self, values: Iterable[int]) -> None:
        values = list(values)
        self.counts.update(values)
        self.total += len(values)

    def add_value(self, value: int) -> None:
        self.counts[value] += 1
        self.total += 1

    def __bool__(self) -> bool:
        return self.total > 0

    def sum(self) -> int:
        return sum(value * count for value, count in self.counts.items())

    def mean(self) -> float:
        return self.sum() / self.total  # an exact integer sum, rounded once: what statistics.fmean gives

    def nth(self, index: int) -> int:
        """The value at ``index`` (from 0) of the sorted values."""
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if index < seen:
                return value
        raise IndexError(index)

    def median(self) -> float | int:
        """As :func:`statistics.median`: the middle value, or the mean of the two middle ones."""
        middle = self.total // 2
        if self.total % 2:
            return self.nth(middle)
        return (self.nth(middle - 1) + self.nth(middle)) / 2

    def percentile(self, q: float) -> float:
        """As ``numpy.percentile(values, q)`` (linear interpolation between the two closest ranks)."""
        position = (self.total - 1) * (q / 100)
        below = math.floor(position)
        fraction = position - below
        low = self.nth(below)
        high = self.nth(min(below + 1, self.total - 1))
        difference = high - low
        # numpy's interpolation, term for term, so the float result is the same.
        return high - difference * (1 - fraction) if fraction >= 0.5 else low + difference * fraction

    def distribution(self) -> dict | None:
        """``mean`` (3 decimals), ``median``, ``min`` and ``max``; ``None`` for no value."""
        if not self.total:
            return None
        return {"mean": round(self.mean(), 3), "median": self.median(), "min": min(self.counts),
                "max": max(self.counts)}

    def histogram(self, bins: int) -> dict | None:
        """Counts in at most ``bins`` bins of a round width (1, 2, 5, 10, 20, 50...)."""
        if not self.total:
            return None
        low, high = min(self.counts), max(self.counts)
        width = 1
        while math.ceil((high - low + 1) / width) > bins:
            width = next(w * 10 ** e for e in range(12) for w in (1, 2, 5) if w * 10 ** e > width)
        binned: Counter = Counter()
        for value, count in self.counts.items():
            binned[(value // width) * width] += count
        return {"bin_width": width, "bins": [[start, binned[start]] for start in sorted(binned)]}
