"""Which source rows a run reads (``lintseq generate --num-samples``): one bit a source row.

The selection travels with every distributed task (datatrove pickles each task's pipeline) and is asked
about every row read, so its size is what matters at corpus scale: a Python set of the selected indices
holds 59 bytes a row (3 GB for 50 million rows, in the launcher and again in every task); a bitmap of the
source takes one bit a source row (12.5 MB for those 50 million of 100 million). Membership is one byte read
and a shift.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class RowSelection:
    """A set of source row indices in ``range(total)``, as a bitmap.

    >>> selection = RowSelection.of([7, 2, 9], total=12)
    >>> 2 in selection, 3 in selection, 40 in selection, len(selection), selection.nth(1)
    (True, False, False, 3, 7)
    """

    def __init__(self, bits: bytes, total: int, count: int):
        self._bits, self.total, self._count = bits, total, count

    @classmethod
    def of(cls, indices: Iterable[int], total: int | None = None) -> RowSelection:
        """The selection of ``indices`` (row indices of a source of ``total`` rows; by default, one past
        the largest)."""
        if isinstance(indices, range):
            chosen = np.arange(indices.start, indices.stop, indices.step, dtype=np.int64)
        else:
            chosen = np.asarray(indices if isinstance(indices, np.ndarray) else list(indices), dtype=np.int64)
        if len(chosen) and chosen.min() < 0:
            raise ValueError("row indices are never negative")
        total = int(chosen.max()) + 1 if total is None and len(chosen) else (total or 0)
        if len(chosen) and chosen.max() >= total:
            raise ValueError(f"row index {int(chosen.max())} is past the {total} rows of the source")
        flags = np.zeros(total, dtype=bool)
        flags[chosen] = True
        return cls(np.packbits(flags).tobytes(), total, int(flags.sum()))

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int) or not 0 <= index < self.total:
            return False
        return bool(self._bits[index >> 3] >> (7 - (index & 7)) & 1)  # packbits: the first row is the high bit

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        """The selected row indices, in increasing order."""
        return iter(self._positions().tolist())

    def nth(self, position: int) -> int:
        """The ``position``-th selected row index (0 is the first), in increasing order."""
        return int(self._positions()[position])

    def _positions(self) -> np.ndarray:
        flags = np.unpackbits(np.frombuffer(self._bits, dtype=np.uint8), count=self.total)
        return np.flatnonzero(flags)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RowSelection):
            return (self.total, self._bits) == (other.total, other._bits)
        return NotImplemented

    __hash__ = None  # mutable-looking containers are not hashed (a set is not either)

    def __repr__(self) -> str:
        return f"RowSelection({self._count} of {self.total} rows)"
