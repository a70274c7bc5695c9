"""The weight trajectory: the path descent took through parameter space, in bounded memory.

Points are the flattened parameters ``[W0.ravel(), b0, W1.ravel(), b1, ...]`` (the order of
``Network.parameters()``). The recorder keeps at most ``max_bytes`` of them: when full it drops every
other point and records only every second pass from then on, so a long run keeps its whole shape at a
coarser step (and memory never grows past the cap).
"""

from __future__ import annotations

import numpy as np

from .network import Network

DEFAULT_MAX_BYTES = 2 * 1024 * 1024


def flat_parameters(net: Network) -> np.ndarray:
    return np.concatenate([p.ravel() for p in net.parameters()])


class Trajectory:
    def __init__(self, net: Network, max_bytes: int = DEFAULT_MAX_BYTES, min_points: int = 64):
        self.size = net.n_parameters
        self.capacity = max(min_points, max_bytes // (8 * self.size))
        self._points = np.empty((self.capacity, self.size))
        self._passes = np.empty(self.capacity, dtype=np.int64)
        self.count = 0
        self.stride = 1
        self.version = 0

    def record(self, net: Network, pass_index: int, force: bool = False) -> None:
        """Record the current parameters after pass ``pass_index`` (every ``stride``-th pass)."""
        if not force and pass_index % self.stride:
            return
        if self.count == self.capacity:
            keep = self._points[0:self.count:2].copy()
            kp = self._passes[0:self.count:2].copy()
            self.count = len(keep)
            self._points[:self.count] = keep
            self._passes[:self.count] = kp
            self.stride *= 2
        # written straight into its row: no array made for it (training records every pass
        # until the trajectory is full)
        np.concatenate([p.ravel() for p in net.parameters()], out=self._points[self.count])
        self._passes[self.count] = pass_index
        self.count += 1
        self.version += 1

    def truncate(self, pass_index: int) -> None:
        """Forget the points recorded after pass ``pass_index`` (a rewind)."""
        self.count = int(np.searchsorted(self._passes[:self.count], pass_index, side="right"))
        self.version += 1

    @property
    def points(self) -> np.ndarray:
        """(K, P) view of the recorded points (do not modify)."""
        return self._points[:self.count]

    @property
    def passes(self) -> np.ndarray:
        return self._passes[:self.count]

    @property
    def nbytes(self) -> int:
        return self._points.nbytes + self._passes.nbytes
