"""The weight trajectory: the path descent took through parameter space, in bounded memory.

Points are the flattened parameters ``[W0.ravel(), b0, W1.ravel(), b1, ...]`` (the order of
``Network.parameters()``). The recorder holds at most ``max_bytes`` (``DEFAULT_MAX_BYTES``, 4 MiB):
as many points as fit, each with its pass number. When full it drops every other point and records
only every second pass from then on, so a long run keeps its whole shape at a coarser step and
memory never grows past the cap. A network so large that fewer than ``MIN_POINTS`` points fit
(above about 260,000 parameters) records no path at all: the cap holds for every network.
"""

from __future__ import annotations

import numpy as np

from .network import Network

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
MIN_POINTS = 2          # fewer than this fit in the cap: no path is recorded


def flat_parameters(net: Network) -> np.ndarray:
    return np.concatenate([p.ravel() for p in net.parameters()])


def point_nbytes(n_parameters: int) -> int:
    """Bytes one recorded point holds: its parameters and its pass number."""
    return 8 * int(n_parameters) + 8


def capacity_for(n_parameters: int, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Points a trajectory of a network with ``n_parameters`` holds within ``max_bytes`` (0 when
    fewer than :data:`MIN_POINTS` fit)."""
    capacity = max(0, int(max_bytes)) // point_nbytes(n_parameters)
    return capacity if capacity >= MIN_POINTS else 0


class Trajectory:
    def __init__(self, net: Network, max_bytes: int = DEFAULT_MAX_BYTES):
        self.size = net.n_parameters
        self.max_bytes = int(max_bytes)
        self.capacity = capacity_for(self.size, max_bytes)
        self._points = np.empty((self.capacity, self.size))
        self._passes = np.empty(self.capacity, dtype=np.int64)
        self.count = 0
        self.stride = 1
        self.version = 0

    @property
    def recording(self) -> bool:
        """False for a network too large for even :data:`MIN_POINTS` points within the cap."""
        return self.capacity > 0

    def record(self, net: Network, pass_index: int, force: bool = False) -> None:
        """Record the current parameters after pass ``pass_index`` (every ``stride``-th pass)."""
        if not self.capacity or (not force and pass_index % self.stride):
            return
        if self.count == self.capacity:
            self._thin()
        # written straight into its row: no array made for it (training records every pass
        # until the trajectory is full)
        np.concatenate([p.ravel() for p in net.parameters()], out=self._points[self.count])
        self._passes[self.count] = pass_index
        self.count += 1
        self.version += 1

    def _thin(self) -> None:
        """Keep every other point and record every second pass from now on."""
        keep = self._points[0:self.count:2].copy()
        kp = self._passes[0:self.count:2].copy()
        self.count = len(keep)
        self._points[:self.count] = keep
        self._passes[:self.count] = kp
        self.stride *= 2

    def restore(self, points, passes, stride: int, version: int) -> None:
        """Hold ``points`` (K, P) recorded at ``passes`` (K,) with ``stride``, e.g. as a session
        saved them. More points than this trajectory's cap holds are thinned, every other one
        at a time (the stride doubling), as recording them here would have done."""
        points, passes = np.asarray(points, dtype=float), np.asarray(passes, dtype=np.int64)
        if points.ndim != 2 or points.shape[1] != self.size or passes.shape != (len(points),):
            raise ValueError(f"a trajectory of {self.size} parameters needs (K, {self.size}) "
                             f"points and K passes, got {points.shape} and {passes.shape}")
        stride = int(stride)
        while len(points) > self.capacity and len(points):
            if self.capacity == 0:
                points, passes = points[:0], passes[:0]
                break
            points, passes = points[::2], passes[::2]
            stride *= 2
        self.count = len(points)
        self._points[:self.count] = points
        self._passes[:self.count] = passes
        self.stride, self.version = stride, int(version)

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
        """Bytes of the buffers (what the cap bounds): at most ``max_bytes``."""
        return self._points.nbytes + self._passes.nbytes

    @property
    def used_nbytes(self) -> int:
        """Bytes of the points recorded so far (what a snapshot or a session copies)."""
        return self.count * point_nbytes(self.size)
