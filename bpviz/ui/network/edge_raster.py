"""Thousands of one-pixel edges drawn by numpy instead of one ``QPainter.drawLines`` per frame.

A 2-64-64-64-2 diagram has 8,448 edges, about 1.3 million pixel writes in a 700×560 panel, yet
they cover only about 110,000 distinct pixels: the fans near each neuron overlap twelvefold. Qt
writes every one of those pixels every frame (8 to 9 ms here). The edges never move between
frames, only their colour bins change, so bpviz works out once per view transform which edges
cover each pixel (:func:`plan_raster`) and per frame only looks up each edge's level and keeps the
highest per pixel (:meth:`RasterPlan.render`, about a third of the time). Between two frames of
training only a few edges change level (a few tenths of a percent of them, measured on the
2-64-64-64-2 diagram whether frames are one pass or thirty apart), so a frame after the first
recomputes only the pixels those edges cover.

Levels stand for paint order: level 0 is not drawn, and where edges cross, the edge of the higher
level is the one seen, as when the levels are painted one after the other from low to high.
Within a level the order does not matter, since a level has one colour.

Lines are aliased and one pixel wide, stepped from pixel to pixel along their longer axis between
the pixels holding their end points (a DDA; the same pixels as Bresenham's algorithm up to ties).

Why it is kept rather than plain ``QPainter.drawLines``: the frame of the largest network the
bench paints (2-64-64-64-2, all 8,448 edges, 700×560 px; ``bench.bench_network``, a new snapshot
and a synchronous repaint, 60 frames) must take at most 13 ms at p95. Measured both ways on the
same frames, on a 2-core machine:

==========================  ==================  ==================
                            raster (this)       ``drawLines``
==========================  ==================  ==================
quiet machine, 4 runs       p95 3.1–3.5 ms      p95 6.4–10.7 ms
                            (p50 2.7–2.8)       (p50 5.7–6.0)
both cores busy, 2 runs     p95 10.5–12.4 ms    p95 24.2–24.8 ms
                            (p50 3.7–6.3)       (p50 14.6–16.1)
==========================  ==================  ==================

``drawLines`` meets the target on a quiet machine, but with as little as 2 ms to spare, and
misses it by nearly twice when the machine is busy, where the raster stays inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Pixels are grouped by how many edges cover them, padded up to one of these counts, so a frame
# is one gather and a handful of column-wise maxima (padding costs at most a quarter more work).
_BASE_BUCKETS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32)

# A frame whose changed edges cover more than this share of the full frame's lookups is rendered
# in full: past it, finding and recomputing the pixels they cover costs about as much.
INCREMENTAL_SHARE = 1 / 16


def _buckets(largest: int) -> np.ndarray:
    sizes = list(_BASE_BUCKETS)
    while sizes[-1] < largest:
        sizes.append(int(np.ceil(sizes[-1] * 1.25)))
    return np.array(sizes)


def line_pixels(device: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels of every segment of ``device`` ((E, 4) rows x0, y0, x1, y1 in device pixels):
    ``(edge, px, py)`` arrays, one entry per pixel, a segment's pixels in order from its start."""
    device = np.asarray(device, dtype=float).reshape(-1, 4)
    ends = np.floor(device).astype(np.int64)
    ax, ay, bx, by = ends.T
    dx, dy = bx - ax, by - ay
    count = np.maximum(np.abs(dx), np.abs(dy)) + 1
    edge = np.repeat(np.arange(len(device)), count)
    first = np.cumsum(count) - count
    k = np.arange(int(count.sum())) - first[edge]
    steps = np.maximum(count - 1, 1)[edge]
    # round(k·d / steps) in integers: floor((2·k·d + steps) / (2·steps))
    px = ax[edge] + (2 * k * dx[edge] + steps) // (2 * steps)
    py = ay[edge] + (2 * k * dy[edge] + steps) // (2 * steps)
    return edge, px, py


@dataclass(eq=False)
class RasterPlan:
    """Which edges cover which pixel of a ``width`` × ``height`` image whose top-left pixel sits at
    device pixel ``origin``; built by :func:`plan_raster` for one set of segments and transform."""

    width: int
    height: int
    origin: tuple[int, int]
    edges: int                   # E: levels are given per edge 0 … E − 1
    take: np.ndarray             # edge index per (padded) write, bucket after bucket; E pads
    groups: tuple[tuple[int, int, int, int], ...]   # (write offset, rows, pixels, pixel offset)
    pixels: np.ndarray           # flat image index of each covered pixel, in group order
    # the same coverage unpadded, both ways round, for frames that change a few edges:
    cover_start: np.ndarray      # per pixel (group order): its edges are cover_edges[start:+count]
    cover_count: np.ndarray
    cover_edges: np.ndarray
    edge_start: np.ndarray       # (E + 1,): edge e covers edge_pixels[start[e]:start[e + 1]]
    edge_pixels: np.ndarray      # pixel positions in group order
    image: np.ndarray = field(init=False)           # (height, width) uint32 premultiplied ARGB
    _levels: np.ndarray = field(init=False, repr=False)
    _values: np.ndarray = field(init=False, repr=False)
    _top: np.ndarray = field(init=False, repr=False)
    _hit: np.ndarray = field(init=False, repr=False)
    _colors: np.ndarray | None = field(init=False, repr=False)   # of the image; None: none yet
    last_render_pixels: int = field(init=False)     # pixels the last render recomputed

    def __post_init__(self) -> None:
        self.image = np.zeros((self.height, self.width), np.uint32)
        self._levels = np.zeros(self.edges + 1, np.uint8)          # the last one pads: level 0
        self._values = np.empty(self.take.size, np.uint8)
        self._top = np.empty(self.pixels.size, np.uint8)
        self._hit = np.zeros(self.pixels.size, bool)
        self._colors = None
        self.last_render_pixels = 0

    @property
    def writes(self) -> int:
        """Pixel lookups per frame (the covered pixels times their padded edge counts)."""
        return int(self.take.size)

    def render(self, levels: np.ndarray, colors: np.ndarray) -> np.ndarray:
        """Paint every covered pixel with ``colors[highest level of the edges covering it]``.

        ``levels``: (E,) integers in 0 … 255, 0 for an edge not drawn; ``colors``: uint32
        premultiplied ARGB per level, ``colors[0]`` normally 0 (transparent). Returns
        :attr:`image`, updated in place; pixels no edge covers stay 0.

        With the colours of the last render, only the pixels covered by edges whose level changed
        are recomputed (unless they are many); the image is the same either way.
        """
        levels, colors = self._checked(levels, colors)
        if self._render_changes(levels, colors):
            return self.image
        return self._render_all(levels, colors)

    def forget(self) -> None:
        """Forget the colours of the last render: the next one recomputes every pixel."""
        self._colors = None

    def render_full(self, levels: np.ndarray, colors: np.ndarray) -> np.ndarray:
        """:meth:`render` recomputing every pixel (for a frame :meth:`render_changes` declined)."""
        return self._render_all(*self._checked(levels, colors))

    def _render_all(self, levels: np.ndarray, colors: np.ndarray) -> np.ndarray:
        self._levels[:-1] = levels
        np.take(self._levels, self.take, out=self._values, mode="clip")   # no buffered copy
        for offset, rows, count, start in self.groups:
            block = self._values[offset:offset + rows * count].reshape(rows, count)
            np.max(block, axis=0, out=self._top[start:start + count])
        flat = self.image.reshape(-1)
        flat[self.pixels] = colors[self._top]
        self._colors = colors.copy()
        self.last_render_pixels = int(self.pixels.size)
        return self.image

    def render_changes(self, levels: np.ndarray, colors: np.ndarray) -> bool:
        """Update :attr:`image` as :meth:`render` would, if that takes recomputing only the pixels
        of a few changed edges; False (and nothing done) if it needs a full render. A few
        milliseconds' work at most, in many small numpy calls: worth doing on the thread that
        asks rather than handing to another one that would wait for the interpreter lock."""
        return self._render_changes(*self._checked(levels, colors))

    def _checked(self, levels, colors) -> tuple[np.ndarray, np.ndarray]:
        levels = np.asarray(levels)
        if levels.shape != (self.edges,):
            raise ValueError(f"expected {self.edges} levels, got shape {levels.shape}")
        return levels, np.asarray(colors, dtype=np.uint32)

    def _render_changes(self, levels: np.ndarray, colors: np.ndarray) -> bool:
        if self._colors is None or not np.array_equal(colors, self._colors):
            return False
        changed = np.flatnonzero(self._levels[:-1] != levels)
        starts, stops = self.edge_start[changed], self.edge_start[changed + 1]
        if int((stops - starts).sum()) > self.take.size * INCREMENTAL_SHARE:
            return False
        self._levels[:-1] = levels
        hit = self._hit                          # which pixels those edges cover, each once
        hit[np.take(self.edge_pixels, _ranges(starts, stops))] = True
        pixels = np.flatnonzero(hit)
        hit[pixels] = False
        self._render_pixels(pixels, colors)
        return True

    def _render_pixels(self, hit: np.ndarray, colors: np.ndarray) -> None:
        """Recompute the pixels ``hit`` (positions in group order) from the current levels."""
        self.last_render_pixels = int(hit.size)
        if not hit.size:
            return
        count = self.cover_count[hit]
        start = self.cover_start[hit]
        values = np.take(self._levels, np.take(self.cover_edges, _ranges(start, start + count)))
        top = np.maximum.reduceat(values, np.cumsum(count) - count)     # every count is ≥ 1
        self._top[hit] = top
        self.image.reshape(-1)[self.pixels[hit]] = colors[top]


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(start, stop)`` for every pair."""
    lengths = stops - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.intp)
    ends = np.cumsum(lengths)
    return np.arange(total) + np.repeat(starts - (ends - lengths), lengths)


def plan_raster(device: np.ndarray, clip: tuple[int, int, int, int]) -> RasterPlan:
    """Plan the edges ``device`` ((E, 4) rows x0, y0, x1, y1 in device pixels) within the device
    pixels ``clip`` = (left, top, right, bottom), right and bottom exclusive. The image covers the
    part of ``clip`` the edges reach."""
    device = np.asarray(device, dtype=float).reshape(-1, 4)
    edges = len(device)
    edge, px, py = line_pixels(device)
    left, top, right, bottom = (int(v) for v in clip)
    inside = (px >= left) & (px < right) & (py >= top) & (py < bottom)
    edge, px, py = edge[inside], px[inside], py[inside]
    if not edge.size:
        none = np.zeros(0, np.intp)
        return RasterPlan(0, 0, (left, top), edges, none, (), none, none, none, none,
                          np.zeros(edges + 1, np.intp), none)
    x0, y0 = int(px.min()), int(py.min())
    width, height = int(px.max()) - x0 + 1, int(py.max()) - y0 + 1
    flat = ((py - y0) * width + (px - x0)).astype(np.int32)    # int32 sorts faster
    order = np.argsort(flat)
    flat, edge = flat[order], edge[order]
    first = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    count = np.diff(np.r_[first, flat.size])
    sizes = _buckets(int(count.max()))
    bucket = np.searchsorted(sizes, count)
    takes, groups, pixels, chosen = [], [], [], []
    offset = start = 0
    for b in np.unique(bucket):
        sel = np.flatnonzero(bucket == b)
        chosen.append(sel)
        rows = int(sizes[b])
        row = np.arange(rows)[:, None]
        at = first[sel][None, :] + row
        block = np.where(row < count[sel][None, :], edge[np.minimum(at, flat.size - 1)], edges)
        takes.append(block.ravel())
        pixels.append(flat[first[sel]])
        groups.append((offset, rows, sel.size, start))
        offset += block.size
        start += sel.size
    # the unpadded coverage: per pixel in group order, and per edge
    in_groups = np.concatenate(chosen)             # group position → pixel in sorted order
    position = np.empty_like(in_groups)
    position[in_groups] = np.arange(in_groups.size)    # pixel in sorted order → group position
    by_edge = np.argsort(edge, kind="stable")
    entry_position = np.repeat(position, count)    # each (pixel, edge) entry's group position
    edge_start = np.r_[0, np.cumsum(np.bincount(edge, minlength=edges))].astype(np.intp)
    return RasterPlan(width, height, (x0, y0), edges,
                      np.concatenate(takes).astype(np.intp), tuple(groups),
                      np.concatenate(pixels).astype(np.intp),
                      first[in_groups].astype(np.intp), count[in_groups].astype(np.intp),
                      edge.astype(np.intp), edge_start, entry_position[by_edge].astype(np.intp))

