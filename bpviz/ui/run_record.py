"""What exports need of the run beyond what the panels hold: :class:`RunRecord`.

The cost panel thins its curves for drawing and the surface panel keeps only what it draws, but
the cost CSV lists the history as the trainer holds it and every pass's loss, the surface CSV the
whole recorded trajectory, and an animated GIF of the cost curve redraws it as it was at each
earlier snapshot. The record collects all of that from the snapshots as they arrive.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..engine.snapshot import Snapshot
from ..engine.trainer import History
from ..worker import HISTORY_ROWS

MAX_PASS_ROWS = 250_000   # per-pass losses kept for the cost CSV: the newest, 4 MB at most


class _Rows:
    """A growing float table (n, width) in one array that doubles when full (the pass losses)."""

    def __init__(self, width: int):
        self._a = np.empty((256, width))
        self.n = 0

    def view(self) -> np.ndarray:
        return self._a[:self.n]

    def truncate(self, n: int) -> None:
        self.n = max(0, min(n, self.n))

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=float).reshape(-1, self._a.shape[1])
        if self.n + len(rows) > len(self._a):
            grown = np.empty((max(2 * len(self._a), self.n + len(rows)), self._a.shape[1]))
            grown[:self.n] = self._a[:self.n]
            self._a = grown
        self._a[self.n:self.n + len(rows)] = rows
        self.n += len(rows)

    def drop_front(self, k: int) -> None:
        self._a[:self.n - k] = self._a[k:self.n].copy()
        self.n -= k


class RunRecord:
    """What exports need beyond what the panels hold, collected from every snapshot of the run.

    - the history, row for row as the trainer holds it: an engine ``History`` with the trainer's
      row cap, fed the same rows and truncated at the same epochs, so it thins alike (the cost
      panel thins far more, for drawing);
    - the loss of every pass (at most ``max_pass_rows``, the newest; ``pass_offset`` passes were
      dropped before them);
    - the newest recorded weight trajectory (snapshots carry it only now and then).

    History rows are addressed by epoch and passes by pass count, so a truncated history
    (divergence, a rewind) stays exact. :meth:`clear` starts a new run.
    """

    def __init__(self, max_history_rows: int | None = HISTORY_ROWS,
                 max_pass_rows: int = MAX_PASS_ROWS):
        self.max_history_rows = max_history_rows
        self.max_pass_rows = max_pass_rows
        self.clear()

    def clear(self) -> None:
        self.history_header: tuple[str, ...] = ()
        self._history = History(self.max_history_rows)
        self._passes = _Rows(2)
        self.pass_offset = 0
        self.trajectory: np.ndarray | None = None
        self.trajectory_passes: np.ndarray | None = None

    def history(self) -> np.ndarray:
        """(rows, columns of ``history_header``): the history rows of the run."""
        return self._history.table()

    def passes(self) -> np.ndarray:
        """(passes, 2): position (fractional epoch) and loss of each kept pass."""
        return self._passes.view()

    def ingest(self, snap: Snapshot) -> None:
        if tuple(snap.history_header) != self.history_header:
            self.history_header = tuple(snap.history_header)
            self._history = History(self.max_history_rows)
        new = np.asarray(snap.new_history)
        self._history.truncate_epochs(int(new[0, 0]) if len(new) else snap.history_length)
        self._history.extend(new)

        losses = np.asarray(snap.new_pass_losses)
        start = snap.pass_count - len(losses) - self.pass_offset
        if start < 0:                                   # a rewind past the kept passes
            self._passes, start = _Rows(2), 0
            self.pass_offset = max(0, snap.pass_count - len(losses))
        self._passes.truncate(start)
        if len(losses):
            self._passes.append(np.column_stack([snap.new_pass_positions, losses]))
        excess = self._passes.n - self.max_pass_rows
        if excess > 0:
            self._passes.drop_front(excess)
            self.pass_offset += excess

        if snap.trajectory is not None:
            self.trajectory, self.trajectory_passes = snap.trajectory, snap.trajectory_passes

    def cost_snapshot(self, snap: Snapshot) -> Snapshot:
        """``snap`` carrying the history and every kept pass up to it: fed to an empty cost
        panel, it draws the curves as they were when ``snap`` arrived."""
        end = max(0, snap.pass_count - self.pass_offset)
        passes = self.passes()[:end]
        history = self.history()
        return dataclasses.replace(snap, new_history=history[history[:, 0] < snap.history_length],
                                   new_pass_positions=passes[:, 0], new_pass_losses=passes[:, 1])
