"""The network diagram's geometry and scales, in plain numpy (no Qt): where every neuron and edge
sits for an architecture, how the diagram fits a panel of a given size and where its labels go,
what lies at a point (hit testing), which edges a large network draws, what a drag does to a
weight, and how values become colour bins, widths and fill indices.

Coordinates are view units (the diagram keeps its aspect ratio): layer columns run left to right
from x = 0, neuron 0 of a layer is on top, y grows upwards. Layer 0 is the input; layer l ≥ 1 is
fed by the weights array ``weights[l - 1]`` of shape (n_{l-1}, n_l). An edge is named
``(wi, i, j)``: weights array ``wi``, from neuron ``i`` of layer ``wi`` to neuron ``j`` of layer
``wi + 1``; its flat index in that array is ``i·n_out + j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...engine.vocabulary import EDGE_MODE_LABELS, NEURON_MODE_LABELS as NODE_MODES, nice_ceiling
from ..plotting import style

# -- what the combos offer: name → (label, Snapshot field) -------------------------------------
OVERLAYS = {name: (EDGE_MODE_LABELS[name], field) for name, field in (
    ("weight", "weights"), ("gradient", "grad_weights"), ("signal", "edge_signals"),
    ("update", "update_weights"))}

# -- drawing limits and scales -----------------------------------------------------------------
RASTER_EDGE_LIMIT = 12000  # networks with up to this many edges draw them all (a raster image)
EDGE_CAP = 2000           # larger ones draw at most this many (plus the chosen and focused ones)
WIDE_EDGE_LIMIT = 300     # up to this many edges: wide, antialiased lines; above: 1 px, aliased
MAP_NEURON_LIMIT = 64     # neuron heatmaps only for networks with at most this many neurons
VALUE_LABEL_LIMIT = 12    # tiny values under the neurons of layers with at most this many
VALUE_LABEL_PIXELS = 12  # ... shown only where that many pixels are free under each neuron
LABEL_GAP_PIXELS = 6      # between neighbouring layer labels; closer, they are shortened
MAG_BINS = 6              # magnitude bins per sign
DECADES = 3.0             # the log scale spans this many decades below the largest |value|
HIT_PIXELS = 4.0          # hover / click tolerance around an edge, in pixels
DRAG_STEP = 0.01          # a dragged weight moves by this × max(1, |w|) per pixel ...
DRAG_FINE = 0.1           # ... times this with Shift held
SLIDER_STEPS = 1000       # the edit strip's slider runs from −this to +this

# -- geometry, in view units (the view keeps its aspect ratio) ---------------------------------
NEURON_SPACING = 1.0      # between neuron centres in small layers
MAX_COLUMN_SPAN = 11.0    # the tallest column spans at most this
DIAGRAM_ASPECT = 1.8      # width / height the column spacing aims at
MAP_FRACTION = 0.64       # heatmap side as a fraction of the neuron diameter
RING_FACTOR = 1.3         # selection ring diameter as a fraction of the neuron diameter
TOP_PIXELS = 6.0          # free pixels above the diagram ...
BOTTOM_PIXELS = 6.0       # ... and below the layer labels
SIDE_PIXELS = 10.0        # beside the first and last layer labels

# -- colours of the edge bins ------------------------------------------------------------------
NEUTRAL_EDGE = (203, 213, 225)      # zero / NaN edges
# edge bins: key (sign, k) with sign ∈ {−1, +1}, k the magnitude bin; (0, 0) is neutral. Stronger
# bins paint above weaker ones (the paint order is the position in this list).
BIN_KEYS = [(0, 0)] + [(s, k) for k in range(MAG_BINS) for s in (-1, 1)]

FLOAT32_SAFE = 1e30     # neuron maps are drawn as float32: larger values (divergence) are clipped


def subscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def finite_absmax(arrays) -> float:
    """Largest finite |value| over ``arrays``; 0 when there is none."""
    best = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=float)
        finite = a[np.isfinite(a)]
        if finite.size:
            best = max(best, float(np.abs(finite).max()))
    return best


def edge_budget(counts: list[int], cap: int) -> list[int]:
    """Edges to draw per layer so the total stays ≤ ``cap``: small layers are drawn whole and the
    rest of the budget is shared equally among the larger ones (water-filling)."""
    budget = [0] * len(counts)
    left, remaining = cap, len(counts)
    for wi in sorted(range(len(counts)), key=counts.__getitem__):
        budget[wi] = min(counts[wi], left // remaining)
        left -= budget[wi]
        remaining -= 1
    return budget


@dataclass(frozen=True)
class EdgePlan:
    """How a network's edges are drawn: wide or one pixel, as a raster image or as lines, and how
    many of each weights array's edges at most."""

    wide: bool                # wide antialiased lines (a small network)
    raster: bool              # every edge, through the edge raster
    budget: list[int]         # edges drawn per weights array


def edge_plan(sizes, raster_limit: int = RASTER_EDGE_LIMIT, cap: int = EDGE_CAP,
              wide_limit: int = WIDE_EDGE_LIMIT) -> EdgePlan:
    counts = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    wide = sum(counts) <= wide_limit
    raster = not wide and sum(counts) <= raster_limit
    return EdgePlan(wide, raster, counts if raster else edge_budget(counts, cap))


@dataclass(frozen=True, eq=False)
class Layout:
    """Where every neuron and edge sits, in view coordinates; computed once per architecture."""

    sizes: tuple[int, ...]
    xs: np.ndarray            # (L+1,) x of each layer column
    xy: np.ndarray            # (N, 2) neuron centres, layer after layer, neuron 0 on top
    diameter: np.ndarray      # (N,)
    spacing: np.ndarray       # (L+1,) distance between neighbouring neuron centres per layer
    start: np.ndarray         # (L+2,) flat index of each layer's first neuron; start[-1] = N
    segments: tuple[np.ndarray, ...]   # per weights array wi: (4, n_in·n_out) x0, y0, x1, y1
    all_segments: np.ndarray           # (4, E) the same, every weights array after the other
    edge_offset: np.ndarray   # (L+1,) first edge of each weights array in ``all_segments``
    bottom: float             # lowest point of any neuron's selection ring
    top: float                # highest point of any neuron's selection ring

    def node(self, layer: int, index: int) -> int:
        return int(self.start[layer] + index)

    def layer_of(self, node: int) -> tuple[int, int]:
        layer = int(np.searchsorted(self.start, node, side="right") - 1)
        return layer, int(node - self.start[layer])

    def exists(self, layer: int, index: int) -> bool:
        return 0 <= layer < len(self.sizes) and 0 <= index < self.sizes[layer]

    def edge_segment(self, wi: int, i: int, j: int) -> np.ndarray:
        """(x0, y0, x1, y1) of edge i→j of ``weights[wi]``."""
        return self.segments[wi][:, i * self.sizes[wi + 1] + j]

    def extent(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) spanned by the neuron centres."""
        (x0, y0), (x1, y1) = self.xy.min(axis=0), self.xy.max(axis=0)
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def make_layout(sizes) -> Layout:
    """Columns ``dx`` apart, neurons centred vertically; the tallest column spans at most
    ``MAX_COLUMN_SPAN`` and ``dx`` makes the diagram about ``DIAGRAM_ASPECT`` wide per unit high."""
    sizes = tuple(int(n) for n in sizes)
    L = len(sizes) - 1
    spacing = np.array([NEURON_SPACING if n - 1 <= MAX_COLUMN_SPAN else MAX_COLUMN_SPAN / (n - 1)
                        for n in sizes])
    diam = np.minimum(0.6, 0.8 * spacing)
    half = max((n - 1) * s for n, s in zip(sizes, spacing)) / 2 + diam.max() / 2
    dx = max(2.4, DIAGRAM_ASPECT * (2 * half + 1.0) / max(L, 1))
    xs = np.arange(L + 1) * dx
    ys = [((n - 1) / 2 - np.arange(n)) * s for n, s in zip(sizes, spacing)]
    xy = np.column_stack([np.concatenate([np.full(n, x) for n, x in zip(sizes, xs)]),
                          np.concatenate(ys)])
    diameter = np.concatenate([np.full(n, d) for n, d in zip(sizes, diam)])
    start = np.concatenate([[0], np.cumsum(sizes)])
    segments = []
    for wi in range(L):
        n_in, n_out = sizes[wi], sizes[wi + 1]
        segments.append(np.array([np.full(n_in * n_out, xs[wi]), np.repeat(ys[wi], n_out),
                                  np.full(n_in * n_out, xs[wi + 1]), np.tile(ys[wi + 1], n_in)]))
    counts = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    offset = np.concatenate([[0], np.cumsum(counts)])
    # each weights array's segments are a view into all of them: a second copy of 1.8 million
    # edges (8x512) would hold 58 MB more
    every = np.concatenate(segments, axis=1)
    segments = [every[:, offset[wi]:offset[wi + 1]] for wi in range(L)]
    return Layout(sizes, xs, xy, diameter, spacing, start, tuple(segments), every, offset,
                  bottom=float((xy[:, 1] - diameter * RING_FACTOR / 2).min()),
                  top=float((xy[:, 1] + diameter * RING_FACTOR / 2).max()))


def layer_name(sizes, layer: int) -> str:
    """"input", "hidden 1", … or "output"."""
    if layer == 0:
        return "input"
    return "output" if layer == len(sizes) - 1 else f"hidden {layer}"


def edge_name(sizes, wi: int, i: int, j: int) -> str:
    """"input #0 → hidden 1 #2" for edge (wi, i, j)."""
    return f"{layer_name(sizes, wi)} #{i} → {layer_name(sizes, wi + 1)} #{j}"


def layer_titles(sizes, activations) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Per layer, its label in full and short: ((name, count), (short name, count)), e.g.
    (("hidden 1 (tanh)", "64 neurons"), ("h1", "64"))."""
    L = len(sizes) - 1
    out = []
    for layer, n in enumerate(sizes):
        if layer == 0:
            name, short = "input", "in"
        else:
            kind, short = ("output", "out") if layer == L else (f"hidden {layer}", f"h{layer}")
            name = f"{kind} ({activations[layer - 1]})"
        out.append(((name, f"{n} neuron{'s' if n > 1 else ''}"), (short, f"{n}")))
    return out


# -- fitting a panel ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Fit:
    """The diagram fitted into a panel: ``scale`` pixels per view unit, the view rectangle
    (x, y, width, height) to show, and whether the layer labels stand side by side."""

    scale: float
    rect: tuple[float, float, float, float]
    labels_fit: bool


def fit_panel(lay: Layout, width: float, height: float, label_sizes, value_px: float) -> Fit:
    """Fit the diagram into a ``width`` × ``height`` pixel panel, with ``label_sizes`` (pixel
    (width, height) per layer label) under the neurons and ``value_px`` pixels for the values
    between neurons and labels. The scale is the largest for which the diagram fits between
    the margins; the labels fit when neighbouring ones stay ``LABEL_GAP_PIXELS`` apart. The
    diagram is centred horizontally and, in the height left over, vertically."""
    label_h = max(h for _, h in label_sizes)
    bottom_px = value_px + label_h + BOTTOM_PIXELS
    left_px = label_sizes[0][0] / 2 + SIDE_PIXELS
    right_px = label_sizes[-1][0] / 2 + SIDE_PIXELS
    r0, r1 = lay.diameter[0] / 2, lay.diameter[-1] / 2
    span_x = lay.xs[-1] - lay.xs[0]            # > 0: a network has two layers or more
    scale = float(max(1e-6, min((height - TOP_PIXELS - bottom_px) / (lay.top - lay.bottom),
                                (width - 12) / (span_x + r0 + r1),
                                (width - left_px - right_px) / span_x)))
    gaps = np.diff(lay.xs) * scale
    needed = [(a[0] + b[0]) / 2 + LABEL_GAP_PIXELS for a, b in zip(label_sizes, label_sizes[1:])]
    fits = all(g >= n for g, n in zip(gaps, needed))
    extra = height - (lay.top - lay.bottom) * scale - TOP_PIXELS - bottom_px
    y0 = lay.bottom - (bottom_px + max(extra, 0) / 2) / scale
    cx = (lay.xs[0] + lay.xs[-1]) / 2
    return Fit(scale, (float(cx - width / 2 / scale), float(y0), width / scale, height / scale),
               fits)


def layer_label_positions(lay: Layout, scale: float, value_px: float) -> list[tuple[float, float]]:
    """Where each layer label's top centre goes: under its column, ``value_px`` pixels below the
    lowest selection ring."""
    return [(float(x), lay.bottom - value_px / scale) for x in lay.xs]


def value_label_nodes(lay: Layout) -> list[int]:
    """The neurons (flat indices) that get a value label: those of layers with at most
    ``VALUE_LABEL_LIMIT`` neurons."""
    return [lay.node(layer, i) for layer, n in enumerate(lay.sizes) if n <= VALUE_LABEL_LIMIT
            for i in range(n)]


def value_label_position(lay: Layout, node: int) -> tuple[float, float]:
    """The top centre of a neuron's value label: just under its selection ring."""
    x, y = lay.xy[node]
    return float(x), float(y - lay.diameter[node] * RING_FACTOR / 2)


def value_label_visible(lay: Layout, node: int, scale: float) -> bool:
    """Whether a value label has room: ``VALUE_LABEL_PIXELS`` free between the neuron's ring and
    the next neuron down (always, for a layer of one neuron)."""
    layer, _ = lay.layer_of(node)
    gap = (lay.spacing[layer] - lay.diameter[node] * (1 + RING_FACTOR) / 2) * scale
    return bool(gap >= VALUE_LABEL_PIXELS or lay.sizes[layer] == 1)


def phase_band(lay: Layout, layer: int) -> tuple[float, float, float, float]:
    """(x, y, width, height) of the band behind the layer a phase works on (every layer for
    ``layer`` < 0)."""
    xs = lay.xs
    half = (xs[1] - xs[0]) * 0.3 if len(xs) > 1 else 0.5
    lo, hi = sorted((lay.bottom, lay.top))
    x0, x1 = (xs[0] - half, xs[-1] + half) if layer < 0 else (xs[layer] - half, xs[layer] + half)
    return float(x0), float(lo), float(x1 - x0), float(hi - lo)


# -- which edges are drawn, and what is at a point ---------------------------------------------

@dataclass(frozen=True, eq=False)
class DrawnEdges:
    """The edges one frame draws: per edge its weights array, its flat index in it and its
    segment (rows x0, y0, x1, y1)."""

    wi: np.ndarray            # (k,) int
    flat: np.ndarray          # (k,) int
    seg: np.ndarray           # (4, k)

    @classmethod
    def none(cls) -> "DrawnEdges":
        return cls(np.zeros(0, int), np.zeros(0, int), np.zeros((4, 0)))

    @classmethod
    def every(cls, lay: Layout) -> "DrawnEdges":
        wi = np.repeat(np.arange(len(lay.sizes) - 1), np.diff(lay.edge_offset))
        return cls(wi, np.arange(lay.edge_offset[-1]) - lay.edge_offset[wi], lay.all_segments)

    @property
    def size(self) -> int:
        return self.flat.size

    def layout_index(self, lay: Layout) -> np.ndarray:
        """Each drawn edge's position among every edge of the layout."""
        return lay.edge_offset[self.wi] + self.flat


def strongest_edges(lay: Layout, values, budget: list[int], forced=()) -> tuple[DrawnEdges,
                                                                                np.ndarray]:
    """Each weights array's ``budget[wi]`` edges of largest |value| (NaN counts as weakest), plus
    the ``forced`` edges (wi, i, j); returns them and their values, in one order."""
    wis, flats, vals, segs = [], [], [], []
    for wi, W in enumerate(values):
        flat = np.asarray(W, dtype=float).ravel()
        k = budget[wi]
        if k >= flat.size:
            idx = np.arange(flat.size)
        else:
            key = np.where(np.isnan(flat), -1.0, np.abs(flat))
            idx = np.argpartition(key, flat.size - k)[flat.size - k:]
            extra = [i * lay.sizes[wi + 1] + j for (w, i, j) in forced if w == wi]
            if extra:
                idx = np.union1d(idx, extra)
        wis.append(np.full(idx.size, wi))
        flats.append(idx)
        vals.append(flat[idx])
        segs.append(lay.segments[wi][:, idx])
    return (DrawnEdges(np.concatenate(wis), np.concatenate(flats), np.concatenate(segs, axis=1)),
            np.concatenate(vals))


def segment_distances(px: float, py: float, seg: np.ndarray) -> np.ndarray:
    """Distance from the point (px, py) to each segment of ``seg`` (rows x0, y0, x1, y1)."""
    x0, y0, x1, y1 = seg
    vx, vy = x1 - x0, y1 - y0
    t = np.clip(((px - x0) * vx + (py - y0) * vy) / np.maximum(vx * vx + vy * vy, 1e-300), 0, 1)
    return np.hypot(x0 + t * vx - px, y0 + t * vy - py)


def hit_test(lay: Layout, drawn: DrawnEdges, px: float, py: float, pixel: float):
    """("neuron", layer, index), ("edge", wi, i, j) or None for the point (px, py) in view units,
    ``pixel`` view units a pixel.

    Neurons win over edges: a neuron is hit within its radius plus a pixel (a tiny one within
    ``HIT_PIXELS`` pixels); an edge within ``HIT_PIXELS`` pixels, and only if drawn.
    """
    d = np.hypot(lay.xy[:, 0] - px, lay.xy[:, 1] - py)
    node = int(np.argmin(d))
    if d[node] <= max(lay.diameter[node] / 2 + pixel, HIT_PIXELS * pixel):
        return ("neuron", *lay.layer_of(node))
    if not drawn.size:
        return None
    dist = segment_distances(px, py, drawn.seg)
    k = int(np.argmin(dist))
    if dist[k] > HIT_PIXELS * pixel:
        return None
    wi = int(drawn.wi[k])
    i, j = divmod(int(drawn.flat[k]), lay.sizes[wi + 1])
    return ("edge", wi, i, j)


def edge_point(lay: Layout, drawn: DrawnEdges, wi: int, i: int, j: int) -> tuple[float, float]:
    """A point on edge i→j of ``weights[wi]`` that is clear of neurons (between 15% and 85% of
    its length) and as far as possible from every other drawn edge: where a click finds it."""
    flat = i * lay.sizes[wi + 1] + j
    seg = lay.segments[wi][:, flat]
    ts = np.linspace(0.15, 0.85, 29)
    pts = seg[:2, None] + ts * (seg[2:, None] - seg[:2, None])
    other = ~((drawn.wi == wi) & (drawn.flat == flat))
    clearance = [segment_distances(px, py, drawn.seg[:, other]).min(initial=np.inf)
                 for px, py in pts.T]
    x, y = pts[:, int(np.argmax(clearance))]
    return float(x), float(y)


# -- editing a weight --------------------------------------------------------------------------

def drag_start(w0: float) -> tuple[float, float]:
    """(start value, step per pixel) for a drag of a weight now at ``w0``: a weight that is not
    finite starts from 0."""
    w0 = float(w0) if np.isfinite(w0) else 0.0
    return w0, DRAG_STEP * max(1.0, abs(w0))


def dragged_weight(w0: float, dy_pixels: float, fine: bool = False) -> float:
    """The weight after dragging it ``dy_pixels`` up (negative: down) from ``w0``: it moves by
    ``DRAG_STEP``·max(1, |w0|) per pixel, ×``DRAG_FINE`` when ``fine`` (Shift)."""
    start, step = drag_start(w0)
    return float(start + dy_pixels * step * (DRAG_FINE if fine else 1.0))


def slider_scale(w: float) -> float:
    """The edit strip's slider range ±this for a weight ``w``: a 1, 2 or 5 × 10^k of at least
    max(1, 2|w|)."""
    return nice_ceiling(max(1.0, 2 * abs(w)) if np.isfinite(w) else 1.0)


def slider_position(value: float, scale: float) -> int:
    """The slider position showing ``value`` (clipped to the slider's ends; NaN and inf: 0)."""
    shown = value if np.isfinite(value) else 0.0
    return int(round(np.clip(shown / scale, -1, 1) * SLIDER_STEPS))


def slider_value(position: int, scale: float) -> float:
    return position / SLIDER_STEPS * scale


# -- values to colours -------------------------------------------------------------------------

def edge_bins(val: np.ndarray, vmax: float) -> np.ndarray:
    """Each value's bin, as its position in ``BIN_KEYS`` (uint8): sign, and the magnitude on
    ``style.symlog_normalise``'s log scale over ``DECADES`` below ``vmax`` cut into ``MAG_BINS``
    equal bins; zero and NaN go to the neutral bin 0, ±inf to the strongest."""
    val = np.asarray(val, dtype=float)
    sign = np.sign(np.nan_to_num(val, nan=0.0)).astype(int)
    mag = np.abs(style.symlog_normalise(val, vmax or 1.0, DECADES))
    k = np.minimum((mag * MAG_BINS).astype(int), MAG_BINS - 1)
    return np.where(sign == 0, 0, 1 + 2 * k + (sign > 0)).astype(np.uint8)


def bin_styles(wide: bool) -> tuple[np.ndarray, np.ndarray]:
    """RGB (len(BIN_KEYS), 3) uint8 and pen width per bin, in ``BIN_KEYS`` order: the colour fades
    toward the white background for weak bins (opaque colours paint faster than translucent
    ones) and, for small networks (``wide``), the width grows from 1 to 4 pixels."""
    strength = np.linspace(0.35, 1.0, MAG_BINS) if wide else np.linspace(0.15, 0.85, MAG_BINS)
    widths = np.linspace(1.0, 4.0, MAG_BINS) if wide else np.ones(MAG_BINS)
    rgb = np.zeros((len(BIN_KEYS), 3), np.uint8)
    width = np.ones(len(BIN_KEYS))
    for b, (sign, k) in enumerate(BIN_KEYS):
        if sign == 0:
            rgb[b] = NEUTRAL_EDGE
        else:
            full = np.array(style.POSITIVE if sign > 0 else style.NEGATIVE, float)
            rgb[b] = np.rint(255.0 + (full - 255.0) * strength[k])
            width[b] = widths[k]
    return rgb, width


def node_values(snap, sizes, mode: str) -> list[np.ndarray | None]:
    """Per layer, what the neuron fill shows in ``mode`` ("delta": mean δ, none for the input;
    "activation": mean activation); None where there is no value of the layer's size."""
    return node_values_of(snap.delta_mean, snap.activation_mean, sizes, mode)


def node_values_of(delta, activation, sizes, mode: str) -> list[np.ndarray | None]:
    """:func:`node_values` from δ per non-input layer and activations per layer (a batch mean or
    one sample's, see :func:`bpviz.engine.snapshot.focused`)."""
    per_layer = [None, *delta] if mode == "delta" else list(activation)
    out = []
    for layer, n in enumerate(sizes):
        v = per_layer[layer] if layer < len(per_layer) else None
        out.append(None if v is None or np.shape(v) != (n,) else np.asarray(v, dtype=float))
    return out


def node_fill(per_layer, sizes, steps: int) -> tuple[np.ndarray, float]:
    """Palette index per neuron (0 … ``steps``; ``steps / 2`` is zero, NaN and no value) on the
    symmetric log scale over ``DECADES`` below the largest finite |value|, and that |value|."""
    vmax = finite_absmax([v for v in per_layer if v is not None])
    u = np.concatenate([np.zeros(n) if v is None else style.symlog_normalise(v, vmax or 1.0,
                                                                             DECADES)
                        for v, n in zip(per_layer, sizes)])
    return np.rint((u + 1) / 2 * steps).astype(int), vmax


def map_levels(maps: np.ndarray, activation: str) -> tuple[np.ndarray, float, float]:
    """A layer's neuron maps ready to draw as float32 and their levels (lo, hi): [0, 1] for
    sigmoid and softmax, else symmetric about 0 up to the largest finite |value| (at most
    ``FLOAT32_SAFE``); NaN goes to the middle and ±inf to the ends."""
    finite = maps[np.isfinite(maps)]
    if activation in ("sigmoid", "softmax"):
        lo, hi = 0.0, 1.0
    else:
        m = min(float(np.abs(finite).max()) if finite.size else 1.0, FLOAT32_SAFE)
        lo, hi = -(m or 1.0), (m or 1.0)
    clean = np.clip(np.nan_to_num(maps, nan=(lo + hi) / 2, posinf=hi, neginf=lo),
                    lo, hi).astype(np.float32)
    return clean, lo, hi
