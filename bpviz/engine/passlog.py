"""The pass log: (pass, position, loss) of the newest passes, in a fixed numpy ring.

Every pass the training session runs appends one row: the pass count after it, its position as a
fractional epoch and its batch loss. The log holds the newest ``capacity`` rows (``MAX_PASS_ROWS``,
250,000: 6 MB of float64, allocated once; a row kept as three Python objects in a list costs about
160 bytes instead of 24); older rows are overwritten. The cost curve's per-pass losses and the
run record an export writes come from it.
"""

from __future__ import annotations

import numpy as np

MAX_PASS_ROWS = 250_000     # rows kept: 250,000 × 3 × 8 bytes = 6 MB


class PassLog:
    def __init__(self, capacity: int = MAX_PASS_ROWS):
        self.capacity = int(capacity)
        self._rows = np.empty((self.capacity, 3))   # pass count (exact up to 2**53), position, loss
        self._end = 0            # rows ever appended (minus those dropped from the end)
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def append(self, pass_count: int, position: float, loss: float) -> None:
        self._rows[self._end % self.capacity] = (pass_count, position, loss)
        self._end += 1
        self._len = min(self._len + 1, self.capacity)

    def extend(self, rows) -> None:
        """Append ``rows`` (k, 3), oldest first, as k ``append`` calls would (e.g. a saved log)."""
        rows = np.asarray(rows, dtype=float).reshape(-1, 3)[-self.capacity:]
        idx = (self._end + np.arange(len(rows))) % self.capacity
        self._rows[idx] = rows
        self._end += len(rows)
        self._len = min(self._len + len(rows), self.capacity)

    def last_pass(self) -> int | None:
        """The pass count of the newest row (None when empty)."""
        return int(self._rows[(self._end - 1) % self.capacity, 0]) if self._len else None

    def table(self) -> np.ndarray:
        """(n, 3) copy of the rows, oldest first."""
        if not self._len:
            return np.zeros((0, 3))
        start = (self._end - self._len) % self.capacity
        idx = (start + np.arange(self._len)) % self.capacity
        return self._rows[idx]

    def since(self, pass_count: int) -> np.ndarray:
        """(k, 3) copy of the rows after pass ``pass_count``, oldest first (rows are in pass
        order, so these are the newest k)."""
        k = self._newer_than(pass_count)
        if not k:
            return np.zeros((0, 3))
        idx = (self._end - k + np.arange(k)) % self.capacity
        return self._rows[idx]

    def drop_after(self, pass_count: int) -> None:
        """Forget the rows after pass ``pass_count`` (a rewind)."""
        k = self._newer_than(pass_count)
        self._end -= k
        self._len -= k

    def _newer_than(self, pass_count: int) -> int:
        """How many of the newest rows are after pass ``pass_count`` (a binary search: rows are
        in pass order)."""
        start, rows, cap = self._end - self._len, self._rows, self.capacity
        lo, hi = 0, self._len            # the first logical row after pass_count is in [lo, hi]
        while lo < hi:
            mid = (lo + hi) // 2
            if rows[(start + mid) % cap, 0] <= pass_count:
                lo = mid + 1
            else:
                hi = mid
        return self._len - lo

    @property
    def nbytes(self) -> int:
        """Bytes of the ring (what the cap bounds)."""
        return self._rows.nbytes
