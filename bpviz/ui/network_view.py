"""The network diagram panel: neurons in layer columns, edges coloured by the chosen overlay.

Layer numbering follows DESIGN.md: layer ``l = 0`` is the input and layer ``l ≥ 1`` is fed by the
weights array ``snap.weights[l - 1]`` of shape (n_{l-1}, n_l). Signals name a weight as
``("W", wi, i, j)`` with ``wi = l − 1`` (the weights array index); cards and the edit strip show it
as ``W[l][i, j]`` in the design's numbering.

What is drawn:

- edges, sorted into colour bins (sign × magnitude bin, plus one neutral bin for zero and NaN):
  sign is the colour (``style.POSITIVE`` blue, ``style.NEGATIVE`` orange), the magnitude on
  ``style.symlog_normalise``'s log scale sets the shade and, for small networks, the width; weak
  bins paint first, the strongest on top. One item draws them all (``_EdgeLayer``): a
  ``drawLines`` call per bin, or for networks of up to ``RASTER_EDGE_LIMIT`` one-pixel edges an
  image rendered with numpy (:mod:`.edge_raster`). Larger networks draw only the strongest
  ``EDGE_CAP`` edges (shared among the layers, plus the chosen and focused ones);
- neurons, one item (``_NodeLayer``), filled by mean δ or mean activation on the same kind of
  scale; for 2-D inputs and at most ``MAP_NEURON_LIMIT`` neurons a small heatmap of each
  neuron's output over the input plane sits inside its circle;
- layer labels, tiny values under the neurons of small layers ("—" where a pass walked phase by
  phase has not computed the value yet: the snapshot holds NaN there), a hover card, a selection
  ring and halos for the hovered and chosen edges;
- two legends, for the edges and the neurons: the scale, or why the edges have nothing to show
  ("update Δw" with no update yet: before the first pass, after a weight set by hand, a reset or
  a session opened; every edge is drawn neutral then).

Exports render the same scene: PNG paints as the screen does; SVG gets the edges as lines per bin
and the neurons as circles in pixel coordinates (see ``_NodeLayer._paint_vectors``).

Every item is created once per architecture and updated with ``setData``/``setImage`` per frame.
The panel never changes a weight: dragging an edge or editing the strip under the plot emits
``parametersEdited`` and the next snapshot shows the result.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import (QEvent, QLineF, QObject, QPoint, QPointF, QRectF, QSizeF, Qt, QTimer,
                            Signal, Slot)
from PySide6.QtGui import (QBrush, QColor, QFont, QImage, QPainter, QPaintEngine, QPen,
                           QPixmap, QTextDocument, QTransform)
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGraphicsRectItem, QGraphicsView,
                               QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget)

from ..engine.phases import FORWARD, GRADIENTS, LOSS, UPDATE, Phase
from ..engine.snapshot import Snapshot
from . import edge_raster, style
from .qt import lower_this_thread

# -- what the combos offer: name → (label, Snapshot field) -------------------------------------
OVERLAYS = {
    "weight": ("weight", "weights"),
    "gradient": ("gradient ∂L/∂w", "grad_weights"),
    "signal": ("error signal w·δ", "edge_signals"),
    "update": ("update Δw", "update_weights"),
}
NODE_MODES = {"delta": "mean δ", "activation": "mean activation"}

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
EMIT_INTERVAL_MS = 33     # throttle for edits while dragging (≤ 30 per second)

# -- geometry, in view units (the view keeps its aspect ratio) ---------------------------------
NEURON_SPACING = 1.0      # between neuron centres in small layers
MAX_COLUMN_SPAN = 11.0    # the tallest column spans at most this
DIAGRAM_ASPECT = 1.8      # width / height the column spacing aims at
MAP_FRACTION = 0.64       # heatmap side as a fraction of the neuron diameter
MAP_LUT_SIZE = 64         # heatmap colours (pyqtgraph rebuilds a colour table per image per frame)
RING_FACTOR = 1.3         # selection ring diameter as a fraction of the neuron diameter

OUTLINE = (148, 163, 184)           # neuron outline
NEUTRAL_EDGE = (203, 213, 225)      # zero / NaN edges
CHOSEN_HALO = (245, 158, 11, 190)   # edges chosen as surface axes
HOVER_HALO = (100, 116, 139, 120)   # the edge under the cursor
RING = (15, 23, 42)                 # the selected neuron
MUTED = "#64748b"                   # secondary text
NOTE_FILL, NOTE_TEXT = "#fef3c7", "#92400e"   # a note in the edge legend (amber)
NO_UPDATE_NOTE = "no update yet — step or play to see Δw"


def _subscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _finite_absmax(arrays) -> float:
    """Largest finite |value| over ``arrays``; 0 when there is none."""
    best = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=float)
        finite = a[np.isfinite(a)]
        if finite.size:
            best = max(best, float(np.abs(finite).max()))
    return best


def _nice_ceiling(x: float) -> float:
    """The smallest 1, 2 or 5 × 10^k that is ≥ ``x`` (> 0)."""
    decade = 10.0 ** np.floor(np.log10(x))
    return float(next(m * decade for m in (1, 2, 5, 10) if m * decade >= x * (1 - 1e-12)))


def _edge_budget(counts: list[int], cap: int) -> list[int]:
    """Edges to draw per layer so the total stays ≤ ``cap``: small layers are drawn whole and the
    rest of the budget is shared equally among the larger ones (water-filling)."""
    budget = [0] * len(counts)
    left, remaining = cap, len(counts)
    for wi in sorted(range(len(counts)), key=counts.__getitem__):
        budget[wi] = min(counts[wi], left // remaining)
        left -= budget[wi]
        remaining -= 1
    return budget


FLOAT32_SAFE = 1e30     # neuron maps are drawn as float32: larger values (divergence) are clipped


@dataclass(frozen=True, eq=False)
class _Layout:
    """Where every neuron and edge sits, in view coordinates; computed once per architecture."""

    sizes: tuple[int, ...]
    xs: np.ndarray            # (L+1,) x of each layer column
    xy: np.ndarray            # (N, 2) neuron centres, layer after layer, neuron 0 on top
    diameter: np.ndarray      # (N,)
    spacing: np.ndarray       # (L+1,) distance between neighbouring neuron centres per layer
    start: np.ndarray         # (L+2,) flat index of each layer's first neuron; start[-1] = N
    segments: tuple[np.ndarray, ...]   # per weights array wi: (4, n_in·n_out) x0, y0, x1, y1
    all_segments: np.ndarray           # (4, E) the same, every weights array after the other
    bottom: float             # lowest point of any neuron's selection ring
    top: float                # highest point of any neuron's selection ring

    def node(self, layer: int, index: int) -> int:
        return int(self.start[layer] + index)

    def layer_of(self, node: int) -> tuple[int, int]:
        layer = int(np.searchsorted(self.start, node, side="right") - 1)
        return layer, int(node - self.start[layer])


def _make_layout(sizes: tuple[int, ...]) -> _Layout:
    """Columns ``dx`` apart, neurons centred vertically; the tallest column spans at most
    ``MAX_COLUMN_SPAN`` and ``dx`` makes the diagram about ``DIAGRAM_ASPECT`` wide per unit high."""
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
    return _Layout(tuple(sizes), xs, xy, diameter, spacing, start, tuple(segments),
                   np.concatenate(segments, axis=1),
                   bottom=float((xy[:, 1] - diameter * RING_FACTOR / 2).min()),
                   top=float((xy[:, 1] + diameter * RING_FACTOR / 2).max()))


def _segment_distances(px: float, py: float, seg: np.ndarray) -> np.ndarray:
    """Distance from the point (px, py) to each segment of ``seg`` (rows x0, y0, x1, y1)."""
    x0, y0, x1, y1 = seg
    vx, vy = x1 - x0, y1 - y0
    t = np.clip(((px - x0) * vx + (py - y0) * vy) / np.maximum(vx * vx + vy * vy, 1e-300), 0, 1)
    return np.hypot(x0 + t * vx - px, y0 + t * vy - py)


class _Throttle(QObject):
    """Calls ``emit(payload)`` at most once per ``interval_ms``; the last payload offered is always
    delivered (trailing edge), so a fast drag ends on its final value."""

    def __init__(self, interval_ms: int, emit, parent=None):
        super().__init__(parent)
        self._interval = interval_ms / 1000.0
        self._emit = emit
        self._last = -1e9
        self._pending = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)

    def offer(self, payload) -> None:
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self.deliver(payload)
        else:
            self._pending = payload
            if not self._timer.isActive():
                self._timer.start(int(wait * 1000) + 1)

    def deliver(self, payload) -> None:
        """Emit ``payload`` now and drop anything pending."""
        self._timer.stop()
        self._pending = None
        self._last = time.monotonic()
        self._emit(payload)

    @Slot()
    def _flush(self) -> None:
        if self._pending is not None:
            self.deliver(self._pending)


class _Legend(pg.LabelItem):
    """A one-line legend that takes the width the layout gives it instead of widening the layout:
    in a narrow panel its end is cut rather than the diagram being pushed out of view."""

    def __init__(self):
        super().__init__("", justify="left", size="9pt", color=style.FOREGROUND)

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(0)

    def sizeHint(self, hint, constraint):
        size = super().sizeHint(hint, constraint)
        return size if hint == Qt.SizeHint.MaximumSize else QSizeF(0, size.height())


class _EdgeBin:
    """One colour bin of edges: its pen and its segments as ``QLineF``s laid out in one float
    array (x0, y0, x1, y1 per row), which ``QPainter.drawLines`` takes as it is. A frame's bins
    are split from the layer's binned edges only when read (the raster path does not need them)."""

    def __init__(self, layer: "_EdgeLayer"):
        self.pen = QPen()
        self.antialias = False
        self._layer = layer
        self._lines = np.zeros((0, 4))

    @property
    def lines(self) -> np.ndarray:
        self._layer.split_bins()
        return self._lines

    @lines.setter
    def lines(self, lines: np.ndarray) -> None:
        self._lines = lines

    @property
    def opts(self) -> dict:
        return {"pen": self.pen, "antialias": self.antialias}

    def getData(self):
        """x and y as a ``connect='pairs'`` curve holds them: start, end, start, end, ..."""
        if not len(self.lines):
            return None, None
        return self.lines[:, [0, 2]].ravel(), self.lines[:, [1, 3]].ravel()

    @property
    def xData(self):
        return self.getData()[0]


def _timed_plan(device: np.ndarray, clip) -> tuple[edge_raster.RasterPlan, float]:
    """:func:`edge_raster.plan_raster` and the milliseconds it took (runs on the plan thread)."""
    t0 = time.perf_counter()
    plan = edge_raster.plan_raster(device, clip)
    return plan, (time.perf_counter() - t0) * 1000


class _EdgeLayer(pg.GraphicsObject):
    """Every edge of the diagram, one item: the bins paint in order (weak first, strongest on top).
    Its bounds are the diagram's, fixed by the layout.

    Two ways to paint, with the same picture:
    - ``QPainter.drawLines`` per bin, straight from its array (every small network, the capped
      edges of a very large one, exports, and until a raster plan is ready);
    - for the aliased one-pixel edges of a network with at most ``RASTER_EDGE_LIMIT`` edges, an
      image rendered by :mod:`.edge_raster` from each edge's level (0 = not drawn, else 1 + its
      bin's position in the paint order). The plan behind it depends on the view transform and
      is built on a thread of its own after the transform changes (a resize, a new network);
      meanwhile the bins paint with ``drawLines``. As soon as a new frame's levels arrive, the
      pixels of the few edges whose level changed are recomputed at once on the GUI thread; a
      frame that changes many edges is rendered whole on a second thread (numpy works outside
      the interpreter lock) while the GUI thread updates the rest of the panel, and the paint
      waits for it if it is not done.
    """

    PLAN_POLL_MS = 15

    def __init__(self, keys):
        super().__init__()
        self.bins = {key: _EdgeBin(self) for key in keys}
        self._binned = None                          # (segments (E, 4), bin per edge) to split
        self._extent = QRectF()
        self._segments: np.ndarray | None = None     # (E, 4) every layout edge, view coordinates
        self._levels: np.ndarray | None = None       # (E,) uint8 of the newest frame, or None
        self._colors = np.zeros(len(keys) + 1, np.uint32)   # premultiplied ARGB per level
        self._frame = 0                              # bumped by every new frame
        self._plan: edge_raster.RasterPlan | None = None
        self._plan_key = None
        self._qimage: QImage | None = None
        self._rendered = -1                          # the frame the plan's image shows
        self._executor: ThreadPoolExecutor | None = None
        self._building = None                        # (key, segments, future) being built
        self._wanted = None                          # (key, device segments, clip) to build next
        self._poll = QTimer(self)
        self._poll.setInterval(self.PLAN_POLL_MS)
        self._poll.timeout.connect(self._collect_plan)
        self._render_pool: ThreadPoolExecutor | None = None
        self._render_job = None                      # (plan, frame, future) being rendered
        self.painted_raster = False                  # whether the last paint used a plan
        self.plan_ms = None                          # how long the last plan took to build
        self._stopped = False

    def set_extent(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._extent = QRectF(rect)

    def set_binned(self, segments: np.ndarray, bin_index: np.ndarray) -> None:
        """This frame's drawn edges: ``segments`` (k, 4) rows x0, y0, x1, y1 and each one's bin
        (the position of its key in ``bins``). Each bin's lines are split off when first read."""
        self._binned = (segments, bin_index)
        self.update()

    def clear_lines(self) -> None:
        """Empty every bin (until the next frame)."""
        self._binned = None
        for edge_bin in self.bins.values():
            edge_bin.lines = np.zeros((0, 4))

    def split_bins(self) -> None:
        """Give every bin its lines of the last :meth:`set_binned` frame, if not done yet."""
        if self._binned is None:
            return
        segments, bin_index = self._binned
        self._binned = None
        order = np.argsort(bin_index, kind="stable")          # a radix sort for 8-bit keys
        bounds = np.searchsorted(bin_index[order], np.arange(len(self.bins) + 1))
        lines = segments[order]               # (edges, 4) rows x0, y0, x1, y1, bin after bin
        for b, edge_bin in enumerate(self.bins.values()):
            # kept as C-ordered doubles: QLineF's layout
            edge_bin.lines = np.ascontiguousarray(lines[bounds[b]:bounds[b + 1]], np.float64)

    def set_raster(self, segments: np.ndarray | None) -> None:
        """Every edge of the layout ((E, 4), view coordinates) for the raster, or None to paint
        with ``drawLines`` only. Drops the plan and any levels."""
        self._segments = None if segments is None else np.asarray(segments, float).reshape(-1, 4)
        self._levels = None
        self._plan = self._plan_key = self._qimage = self._wanted = None
        self.update()

    def set_levels(self, levels: np.ndarray) -> None:
        """This frame's level per layout edge (see the class notes); the bins must hold the same
        frame for the ``drawLines`` path."""
        self._levels = np.asarray(levels, dtype=np.uint8)
        self._frame += 1
        self._start_render()
        self.update()

    def set_colors(self, colors) -> None:
        """RGB per bin, in paint order (level 1, 2, …); the colours must be opaque."""
        rgb = np.asarray(colors, dtype=np.uint32).reshape(-1, 3)
        self._colors[1:] = 0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
        self._frame += 1

    def raster_segments(self) -> np.ndarray | None:
        """The segments the raster plans are built for, or None (``drawLines`` only)."""
        return self._segments

    def boundingRect(self) -> QRectF:
        return self._extent

    def paint(self, p, *args) -> None:
        self.painted_raster = (self._levels is not None and self._segments is not None
                               and self._paint_raster(p))
        if self.painted_raster:
            return
        for edge_bin in self.bins.values():
            lines = edge_bin.lines
            if not len(lines):
                continue
            p.setRenderHint(QPainter.RenderHint.Antialiasing, edge_bin.antialias)
            p.setPen(edge_bin.pen)
            p.drawLines(shiboken6.wrapInstance(lines.ctypes.data, QLineF), len(lines))

    # -- the raster path --------------------------------------------------------------------

    def _paint_raster(self, p) -> bool:
        """Paint this frame from the plan for the painter's transform and device size; False when
        there is none. A widget (the view on screen) without one asks for it to be built; other
        devices (a grab of the view, an export) use the widget's plan when theirs is the same."""
        device, engine, t = p.device(), p.paintEngine(), p.transform()
        if (device is None or engine is None or engine.type() != QPaintEngine.Type.Raster
                or t.m12() or t.m21() or t.m13() or t.m23()):
            return False                  # vectors, or more than a scale and a shift
        key = (t.m11(), t.m22(), t.dx(), t.dy(), device.width(), device.height())
        if key != self._plan_key:
            if isinstance(device, QWidget):
                self._want_plan(key, t)
            return False
        self._finish_render()
        if self._rendered != self._frame:
            self._plan.render(self._levels, self._colors)
            self._rendered = self._frame
        if self._qimage is not None:
            p.save()
            p.resetTransform()
            p.drawImage(QPoint(*self._plan.origin), self._qimage)
            p.restore()
        return True

    def _start_render(self) -> None:
        """Render the newest frame's image: here when only a few edges changed level since the
        last frame (the usual case while training), otherwise on the render thread (the levels
        array is replaced, never changed, by later frames; the colours are copied)."""
        plan = self._plan
        if plan is None or self._stopped or self._levels is None:
            return
        self._finish_render()
        if plan.render_changes(self._levels, self._colors):    # a few edges changed: done here
            self._rendered = self._frame
            return
        if self._render_pool is None:
            self._render_pool = ThreadPoolExecutor(1, thread_name_prefix="bpviz-edge-render")
        self._render_job = (plan, self._frame, self._render_pool.submit(
            plan.render_full, self._levels, self._colors.copy()))

    def _finish_render(self) -> None:
        """Wait for the image being rendered, if any."""
        if self._render_job is not None:
            plan, frame, future = self._render_job
            self._render_job = None
            future.result()
            if plan is self._plan:
                self._rendered = frame

    def _want_plan(self, key, t: QTransform) -> None:
        seg = self._segments
        device = np.column_stack([t.m11() * seg[:, 0] + t.dx(), t.m22() * seg[:, 1] + t.dy(),
                                  t.m11() * seg[:, 2] + t.dx(), t.m22() * seg[:, 3] + t.dy()])
        self._wanted = (key, device, (0, 0, key[4], key[5]))
        if self._building is None and not self._stopped:
            self._start_build()

    def _start_build(self) -> None:
        key, device, clip = self._wanted
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="bpviz-edge-plan",
                                                initializer=lower_this_thread)
        self._building = (key, self._segments, self._executor.submit(_timed_plan, device, clip))
        self._poll.start()

    @Slot()
    def _collect_plan(self) -> None:
        key, segments, future = self._building
        if not future.done():
            return
        self._building = None
        self._poll.stop()
        if segments is self._segments and self._wanted is not None and key == self._wanted[0]:
            self._wanted = None
            plan, self.plan_ms = future.result()
            self._plan, self._plan_key, self._rendered = plan, key, -1
            self._qimage = (pg.functions.ndarray_to_qimage(
                plan.image, QImage.Format.Format_ARGB32_Premultiplied) if plan.image.size
                else None)
            self.update()
        elif self._wanted is not None:
            self._start_build()                   # the transform moved on while building

    def stop(self) -> None:
        """Wait for a plan being built and an image being rendered and end their threads; safe to
        call twice. Paints after this render on the GUI thread."""
        self._stopped = True
        self._poll.stop()
        self._building = self._wanted = None
        self._finish_render()
        for pool in (self._executor, self._render_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._executor = self._render_pool = None


class _NodeLayer(pg.GraphicsObject):
    """The neurons: one item painting a filled circle per neuron, filled from a palette by index.

    A new frame only stores the indices (a scatter plot's per-spot brushes cost about 2 ms a frame
    for 194 neurons). On screen the circles come from an atlas per (pixel diameter, pixel ratio):
    one pixmap with a cell per palette entry, each cell drawn the first time it is needed, and all
    the neurons of one diameter go out in one ``drawPixmapFragments`` call (one ``drawPixmap`` per
    neuron cost 1.6 ms a frame for 194 neurons). Vector devices (SVG export) get real circles.
    """

    ATLAS_COLUMNS = 16
    MAX_ATLASES = 6           # an atlas of 80 px circles is 7 MB; resizing makes new sizes

    def __init__(self, palette: list[QColor], outline):
        super().__init__()
        self._brushes = [QBrush(c) for c in palette]
        self._pen = QPen(QColor(*outline))
        self._pen.setCosmetic(True)
        self._pen.setWidthF(1.0)
        self._xy = np.zeros((0, 2))
        self._diameter = np.zeros(0)
        self._index = np.zeros(0, dtype=int)
        self._extent = QRectF()
        # (diameter px, pixel ratio) → (atlas pixmap, cell side in device pixels, cells drawn)
        self._atlases: dict[tuple[int, float], tuple[QPixmap, int, np.ndarray]] = {}

    def set_nodes(self, xy: np.ndarray, diameter: np.ndarray, index: int) -> None:
        self.prepareGeometryChange()
        self._xy = np.asarray(xy, dtype=float)
        self._diameter = np.asarray(diameter, dtype=float)
        self._index = np.full(len(self._xy), index)
        r = float(self._diameter.max()) if len(self._diameter) else 0.0
        (x0, y0), (x1, y1) = self._xy.min(axis=0), self._xy.max(axis=0)
        self._extent = QRectF(x0 - r, y0 - r, x1 - x0 + 2 * r, y1 - y0 + 2 * r)
        self.update()

    def set_fill(self, index: np.ndarray) -> None:
        self._index = np.asarray(index, dtype=int)
        self.update()

    def color(self, node: int) -> QColor:
        return self._brushes[int(self._index[node])].color()

    def boundingRect(self) -> QRectF:
        return self._extent

    def paint(self, p, *args) -> None:
        engine = p.paintEngine()
        if engine is not None and engine.type() in (QPaintEngine.Type.Raster,
                                                    QPaintEngine.Type.OpenGL2):
            self._paint_pixmaps(p)
        else:
            self._paint_vectors(p)

    def _paint_vectors(self, p) -> None:
        """Circles in device coordinates, with a one-pixel outline that is not cosmetic: a vector
        device (QSvgGenerator) writes a cosmetic pen as ``vector-effect="non-scaling-stroke"``
        under the view's scale, which librsvg ignores (the outline then grows a hundred times
        wider and covers the neuron), and a circle in view units under a ``matrix()`` is drawn
        the same way everywhere only if the viewer applies that matrix exactly."""
        if not len(self._xy):
            return
        t = p.transform()
        scale = float(np.hypot(t.m11(), t.m12()))
        x, y = self._xy[:, 0], self._xy[:, 1]
        centre_x = (t.m11() * x + t.m21() * y + t.dx()).tolist()
        centre_y = (t.m12() * x + t.m22() * y + t.dy()).tolist()
        radius = (self._diameter * scale / 2).tolist()
        pen = QPen(self._pen)
        pen.setCosmetic(False)
        p.save()
        p.resetTransform()
        p.setRenderHint(p.RenderHint.Antialiasing, True)
        p.setPen(pen)
        for cx, cy, r, k in zip(centre_x, centre_y, radius, self._index.tolist()):
            p.setBrush(self._brushes[k])
            p.drawEllipse(QPointF(cx, cy), r, r)
        p.restore()

    def _paint_pixmaps(self, p) -> None:
        if not len(self._xy):
            return
        t = p.transform()
        scale = float(np.hypot(t.m11(), t.m12()))
        x, y = self._xy[:, 0], self._xy[:, 1]
        centre_x = t.m11() * x + t.m21() * y + t.dx()
        centre_y = t.m12() * x + t.m22() * y + t.dy()
        size = np.maximum(1, np.rint(self._diameter * scale)).astype(int)
        device = p.device()
        dpr = float(device.devicePixelRatioF()) if device is not None else 1.0
        p.save()
        p.resetTransform()
        for s in np.unique(size).tolist():
            sel = np.flatnonzero(size == s)
            k = self._index[sel]
            atlas, side = self._atlas(s, dpr, k)
            # QPainter::PixmapFragment: x, y (target centre), source left, top, width, height,
            # scale x, y, rotation, opacity
            frags = np.empty((sel.size, 10))
            frags[:, 0], frags[:, 1] = centre_x[sel], centre_y[sel]
            frags[:, 2] = k % self.ATLAS_COLUMNS * side
            frags[:, 3] = k // self.ATLAS_COLUMNS * side
            frags[:, 4:6] = side
            frags[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)
            p.drawPixmapFragments(shiboken6.wrapInstance(frags.ctypes.data,
                                                         QPainter.PixmapFragment),
                                  len(frags), atlas)
        p.restore()

    def _atlas(self, size: int, dpr: float, needed: np.ndarray) -> tuple[QPixmap, int]:
        """The atlas of circles ``size`` logical pixels wide at pixel ratio ``dpr``, with every
        fill in ``needed`` drawn, and its cell side in device pixels."""
        key = (size, dpr)
        if key not in self._atlases:
            if len(self._atlases) >= self.MAX_ATLASES:
                self._atlases.clear()
            side = int(np.ceil((size + 2) * dpr))
            rows = -(-len(self._brushes) // self.ATLAS_COLUMNS)
            pixmap = QPixmap(self.ATLAS_COLUMNS * side, rows * side)
            pixmap.fill(Qt.GlobalColor.transparent)
            self._atlases[key] = (pixmap, side, np.zeros(len(self._brushes), bool))
        pixmap, side, drawn = self._atlases[key]
        missing = np.unique(needed[~drawn[needed]])
        if missing.size:
            q = QPainter(pixmap)
            q.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            q.setPen(self._pen)
            for k in missing.tolist():
                q.save()
                q.translate(k % self.ATLAS_COLUMNS * side, k // self.ATLAS_COLUMNS * side)
                q.scale(dpr, dpr)
                q.setBrush(self._brushes[k])
                q.drawEllipse(QRectF(1, 1, size, size))
                q.restore()
            q.end()
            drawn[missing] = True
        return pixmap, side


class _DiagramBox(pg.ViewBox):
    """A ViewBox that neither pans nor zooms and hands left-button drags to the panel."""

    def __init__(self, on_drag):
        super().__init__(enableMenu=False)
        self._on_drag = on_drag
        self.setMouseEnabled(False, False)
        self.setAspectLocked(True)
        self.enableAutoRange(enable=False)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.MouseButton.LeftButton:
            self._on_drag(ev)
        else:
            ev.ignore()


class NetworkView(QWidget):
    """The network diagram. Feed it snapshots with :meth:`show_snapshot`.

    Signals:
    - ``neuronSelected(layer, index)``: a neuron was clicked (or :meth:`select_neuron` changed it);
    - ``surfaceAxesChosen([("W", wi, i, j), ("W", wi, i, j)])``: two distinct edges were clicked;
    - ``parametersEdited([("W", wi, i, j, value)])``: the user dragged an edge or typed a value.
    """

    neuronSelected = Signal(int, int)

    neuronClicked = Signal(int, int)     # every click on a neuron, also on the selected one
    surfaceAxesChosen = Signal(object)
    parametersEdited = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._snap: Snapshot | None = None
        self._arch = None
        # while a pass is shown phase by phase, the edges and neurons follow the phase; the
        # user's own choice of (overlay, neuron mode) comes back when the phases end
        self._chosen_modes: tuple[str, str] | None = None
        self._phase_setting = False
        self._layout: _Layout | None = None
        self._budget: list[int] = []                           # edges drawn per weights array
        self._wide_edges = True                                # wide lines (small network)?
        self._selected: tuple[int, int] | None = None
        self._chosen: list[tuple[int, int, int]] = []          # (wi, i, j)
        self._focus: tuple[int, int, int] | None = None        # the edge in the edit strip
        self._hover = None                                     # hit under the cursor
        self._hover_pos = QPointF()
        self._drag: dict | None = None
        # what the last frame drew, for hit tests: weights index, flat index i·n_out + j, segment
        self._drawn_wi = np.zeros(0, int)
        self._drawn_flat = np.zeros(0, int)
        self._drawn_seg = np.zeros((4, 0))
        self._edge_offset = np.zeros(1, int)                   # first flat edge per weights array
        self._drawn_all = False                                # _drawn_* hold every edge
        self._images: list[pg.ImageItem] = []
        self._node_brush_index = None                          # fills drawn, as LUT indices
        self._layer_labels: list[pg.TextItem] = []
        self._label_html: list[tuple[str, str]] = []           # (full, short) per layer label
        self._compact_labels: bool | None = None
        self._value_labels: dict[int, pg.TextItem] = {}       # flat neuron index → label
        self._edit_throttle = _Throttle(EMIT_INTERVAL_MS, self.parametersEdited.emit, self)

        self._build_controls()
        self._build_plot()
        self._build_edit_strip()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._controls)
        layout.addWidget(self._phase_label)
        layout.addWidget(self._graphics, 1)
        layout.addLayout(self._strip)

    # -- construction -------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self._overlay_combo = QComboBox()
        for name, (label, _) in OVERLAYS.items():
            self._overlay_combo.addItem(label, name)
        self._node_combo = QComboBox()
        for name, label in NODE_MODES.items():
            self._node_combo.addItem(label, name)
        self._overlay_combo.currentIndexChanged.connect(self._on_mode_changed)
        self._node_combo.currentIndexChanged.connect(self._on_mode_changed)
        self._controls = QHBoxLayout()
        self._controls.setContentsMargins(4, 2, 4, 0)
        self._controls.addWidget(QLabel("Edges:"))
        self._controls.addWidget(self._overlay_combo)
        self._controls.addSpacing(12)
        self._controls.addWidget(QLabel("Neurons:"))
        self._controls.addWidget(self._node_combo)
        self._controls.addStretch(1)

    def _build_plot(self) -> None:
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setBackground(style.BACKGROUND)
        # A new snapshot changes nearly every item: one repaint of the whole view costs a fraction
        # of what the minimal update (pyqtgraph's default) spends on thousands of dirty rectangles
        # (measured 20 ms against 126 ms for 8,448 edges).
        self._graphics.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self._graphics.ci.setContentsMargins(6, 2, 6, 2)
        self._graphics.ci.layout.setSpacing(0)
        self._edge_legend = _Legend()
        self._box = _DiagramBox(self._on_drag)
        self._box.sigResized.connect(self._fit_view)
        self._node_legend = _Legend()
        for row, item in enumerate((self._edge_legend, self._box, self._node_legend)):
            self._graphics.addItem(item, row=row, col=0)
        scene = self._graphics.scene()
        scene.sigMouseClicked.connect(self._on_scene_clicked)
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        self._graphics.viewport().installEventFilter(self)

        # edge bins: key (sign, k) with sign ∈ {−1, +1}, k the magnitude bin; (0, 0) is neutral.
        # Stronger bins paint above weaker ones (z order = position in this list).
        self._bin_keys = [(0, 0)] + [(s, k) for k in range(MAG_BINS) for s in (-1, 1)]
        self._edges = _EdgeLayer(self._bin_keys)
        self._box.addItem(self._edges, ignoreBounds=True)
        # step-by-step mode: a band behind the layer the current phase works on
        self._phase_band = QGraphicsRectItem()
        self._phase_band.setBrush(QBrush(QColor(250, 204, 21, 70)))
        self._phase_band.setPen(QPen(QColor(202, 138, 4, 160), 0))
        self._phase_band.setZValue(-10)
        self._phase_band.hide()
        self._box.addItem(self._phase_band, ignoreBounds=True)
        self._phase_label = QLabel()
        self._phase_label.setWordWrap(True)
        self._phase_label.setStyleSheet("background: #fef9c3; border: 1px solid #eab308; "
                                        "border-radius: 3px; padding: 3px 6px; color: #422006;")
        self._phase_label.hide()
        self._chosen_halo = self._halo(CHOSEN_HALO, 9, z=-2)
        self._hover_halo = self._halo(HOVER_HALO, 7, z=-1)

        self._scale = 1.0                      # pixels per view unit, set by _fit_view
        lut = style.diverging_rgb(np.linspace(-1, 1, 255))
        self._palette = [QColor(*(int(v) for v in c)) for c in lut]
        self._nodes = _NodeLayer(self._palette, OUTLINE)
        self._nodes.setZValue(50)
        self._box.addItem(self._nodes, ignoreBounds=True)
        self._ring = pg.ScatterPlotItem(pxMode=True, symbol="o", antialias=True,
                                        pen=pg.mkPen(RING, width=2.5), brush=None)
        self._ring.setZValue(60)
        self._box.addItem(self._ring, ignoreBounds=True)

        self._card = pg.TextItem(anchor=(0, 1), border=pg.mkPen(OUTLINE),
                                 fill=pg.mkBrush(255, 255, 255, 240))
        self._card.setFont(self._font(9))
        self._card.setZValue(100)
        self._card.hide()
        self._box.addItem(self._card, ignoreBounds=True)

    def _halo(self, rgba, width, z) -> pg.PlotCurveItem:
        curve = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(rgba, width=width), antialias=True)
        curve.setZValue(z)
        self._box.addItem(curve, ignoreBounds=True)
        return curve

    def _build_edit_strip(self) -> None:
        self._focus_label = QLabel("click or drag an edge to edit its weight")
        self._focus_label.setStyleSheet(f"color: {MUTED}")
        self._spin = QDoubleSpinBox()
        self._spin.setRange(-1e6, 1e6)
        self._spin.setDecimals(5)
        self._spin.setSingleStep(0.01)
        self._spin.setKeyboardTracking(False)    # emit on Enter / focus out, not per keystroke
        self._spin.setMinimumWidth(110)
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setRange(-1000, 1000)
        self._slider_scale = 1.0
        self._spin.valueChanged.connect(self._on_spin_changed)
        self._slider.valueChanged.connect(self._on_slider_changed)
        self._strip = QHBoxLayout()
        self._strip.setContentsMargins(4, 0, 4, 2)
        self._strip.addWidget(self._focus_label, 1)
        self._strip.addWidget(self._spin)
        self._strip.addWidget(self._slider, 1)
        self._set_strip_enabled(False)

    @staticmethod
    def _font(points: float) -> QFont:
        font = QFont()
        font.setPointSizeF(points)
        return font

    # -- public API ---------------------------------------------------------------------------

    @Slot(object)
    def show_snapshot(self, snap: Snapshot) -> None:
        """Paint the newest snapshot; rebuilds the items when the architecture changed."""
        self._snap = snap
        maps = self._maps_available(snap)
        arch = (tuple(snap.sizes), tuple(snap.activations),
                snap.neuron_maps[0].shape if maps else None)
        if arch != self._arch:
            self._rebuild(snap, maps)
            self._arch = arch
        self._show_phase(snap.phase, snap.running)
        self._paint_frame()

    def _show_phase(self, phase: Phase | None, running: bool = False) -> None:
        """Highlight the layer of a step-by-step phase, name the phase, and show its values:
        the weights and activations going forward, the error signals and deltas going back,
        then the gradients and the update. When the phases end, the edges and neurons show
        what the user chose again."""
        if phase is None:
            self._phase_band.hide()
            self._phase_label.hide()
            if self._chosen_modes is not None:
                overlay, node_mode = self._chosen_modes
                self._chosen_modes = None
                self._set_modes_for_phase(overlay, node_mode)
            return
        if self._chosen_modes is None:
            self._chosen_modes = (self.overlay(), self.node_mode())
        xs = self._layout.xs
        half = (xs[1] - xs[0]) * 0.3 if len(xs) > 1 else 0.5
        lo, hi = sorted((self._layout.bottom, self._layout.top))
        x0, x1 = (xs[0] - half, xs[-1] + half) if phase.layer < 0 else \
            (xs[phase.layer] - half, xs[phase.layer] + half)
        self._phase_band.setRect(QRectF(x0, lo, x1 - x0, hi - lo))
        self._phase_band.show()
        hint = (" <span style='color:#64748b'>— pause and Step by one phase to take it at "
                "your own pace</span>" if running else "")
        self._phase_label.setText(f"<b>{phase.label()}</b>{hint}<br>{phase.detail}")
        self._phase_label.show()
        if phase.kind in (FORWARD, LOSS):
            self._set_modes_for_phase("weight", "activation")
        else:
            self._set_modes_for_phase(
                {GRADIENTS: "gradient", UPDATE: "update"}.get(phase.kind, "signal"), "delta")

    def _set_modes_for_phase(self, overlay: str, node_mode: str) -> None:
        self._phase_setting = True
        try:
            self.set_overlay(overlay)
            self.set_node_mode(node_mode)
        finally:
            self._phase_setting = False

    def phase_text(self) -> str:
        """The phase banner's text ('' outside step-by-step mode)."""
        return "" if self._phase_label.isHidden() else self._phase_label.text()

    def overlay(self) -> str:
        """What the edges show: "weight", "gradient", "signal" or "update"."""
        return self._overlay_combo.currentData()

    def set_overlay(self, name: str) -> None:
        if name not in OVERLAYS:
            raise ValueError(f"unknown overlay {name!r}; choose one of {', '.join(OVERLAYS)}")
        self._overlay_combo.setCurrentIndex(list(OVERLAYS).index(name))

    def node_mode(self) -> str:
        """What the neuron fill shows: "delta" or "activation"."""
        return self._node_combo.currentData()

    def set_node_mode(self, name: str) -> None:
        if name not in NODE_MODES:
            raise ValueError(f"unknown neuron mode {name!r}; choose one of {', '.join(NODE_MODES)}")
        self._node_combo.setCurrentIndex(list(NODE_MODES).index(name))

    def selected_neuron(self) -> tuple[int, int] | None:
        """The selected neuron as (layer, index), or None."""
        return self._selected

    def select_neuron(self, layer: int, index: int) -> None:
        """Select and ring a neuron; emits ``neuronSelected`` when the selection changes.

        Before the first snapshot the choice is kept and checked when the network is known (it
        is dropped then if that neuron does not exist); afterwards a missing neuron raises.
        """
        if self._layout is not None and not self._exists(layer, index):
            raise ValueError(f"no neuron {index} in layer {layer}")
        changed = self._selected != (layer, index)
        self._selected = (layer, index)
        self._draw_ring()
        if changed:
            self.neuronSelected.emit(layer, index)

    def _exists(self, layer: int, index: int) -> bool:
        sizes = self._layout.sizes
        return 0 <= layer < len(sizes) and 0 <= index < sizes[layer]

    def chosen_edges(self) -> list[tuple[str, int, int, int]]:
        """Edges clicked as surface axes, as ("W", wi, i, j) (0, 1 or 2 of them)."""
        return [("W", *e) for e in self._chosen]

    def focused_edge(self) -> tuple[str, int, int, int] | None:
        """The edge in the edit strip, as ("W", wi, i, j), or None."""
        return None if self._focus is None else ("W", *self._focus)

    def focus_edge(self, wi: int, i: int, j: int) -> None:
        """Put edge i→j of ``weights[wi]`` in the edit strip, as clicking it does (without making
        it an error-surface axis); ValueError when the network has no such edge."""
        if self._snap is None:
            raise ValueError("no network shown yet")
        shapes = [W.shape for W in self._snap.weights]
        if not (0 <= wi < len(shapes) and 0 <= i < shapes[wi][0] and 0 <= j < shapes[wi][1]):
            raise ValueError(f"no edge {i}→{j} into layer {wi + 1}")
        self._set_focus((wi, i, j))

    def neuron_pos(self, layer: int, index: int) -> QPointF:
        """Centre of a neuron in view coordinates."""
        x, y = self._layout.xy[self._layout.node(layer, index)]
        return QPointF(float(x), float(y))

    def edge_pos(self, wi: int, i: int, j: int) -> QPointF:
        """A point on edge i→j of ``weights[wi]`` (view coordinates) that is clear of neurons and as
        far as possible from every other drawn edge: where a click or hover finds this edge."""
        seg = self._layout.segments[wi][:, i * self._layout.sizes[wi + 1] + j]
        ts = np.linspace(0.15, 0.85, 29)
        pts = seg[:2, None] + ts * (seg[2:, None] - seg[:2, None])
        other = ~((self._drawn_wi == wi) & (self._drawn_flat == i * self._layout.sizes[wi + 1] + j))
        clearance = [_segment_distances(px, py, self._drawn_seg[:, other]).min(initial=np.inf)
                     for px, py in pts.T]
        x, y = pts[:, int(np.argmax(clearance))]
        return QPointF(float(x), float(y))

    def viewport_point(self, view_pt: QPointF) -> QPoint:
        """Pixel position in :meth:`mouse_target` of a point in view coordinates."""
        return self._graphics.mapFromScene(self._box.mapViewToScene(view_pt))

    def stop(self) -> None:
        """End the thread that builds the edge raster plans (waiting for a build); safe to call
        twice. The panel still paints afterwards, with ``drawLines``."""
        self._edges.stop()

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    def edges_rastered(self) -> bool:
        """Whether the last paint of the edges came from a raster plan (see ``_EdgeLayer``)."""
        return self._edges.painted_raster

    def raster_plan_ms(self) -> float | None:
        """How long the newest edge raster plan took to build on its thread (None: none yet)."""
        return self._edges.plan_ms

    def raster_recomputed_share(self) -> float | None:
        """The share of the raster image's pixels its last render recomputed (1.0: a full render,
        less: only the pixels of edges whose level changed); None without a plan."""
        plan = self._edges._plan
        return None if plan is None or not plan.pixels.size else \
            plan.last_render_pixels / plan.pixels.size

    def mouse_target(self) -> QWidget:
        """The widget that receives mouse events over the diagram (the graphics viewport)."""
        return self._graphics.viewport()

    def edge_items(self) -> dict[tuple[int, int], _EdgeBin]:
        """The edge bins (pen and segments; ``getData()`` as a pairs curve): (sign, k) with sign
        ±1 and k = 0 (faint) … MAG_BINS − 1 (strongest); (0, 0) holds zero and NaN edges."""
        return dict(self._edges.bins)

    def neuron_map_items(self) -> list[pg.ImageItem]:
        """The neuron heatmaps, one per neuron in flat order (empty when not shown)."""
        return list(self._images)

    def neuron_brush(self, layer: int, index: int):
        """The QColor a neuron is filled with."""
        return self._nodes.color(self._layout.node(layer, index))

    def value_label_texts(self) -> dict[tuple[int, int], str]:
        """The small values under the neurons, as shown: (layer, index) → text, for every label
        on screen (layers of at most ``VALUE_LABEL_LIMIT`` neurons, where there is room)."""
        return {self._layout.layer_of(node): label.textItem.toPlainText()
                for node, label in self._value_labels.items() if label.isVisible()}

    def value_label_items(self) -> dict[tuple[int, int], pg.TextItem]:
        """The items of :meth:`value_label_texts` ((layer, index) → TextItem, shown or not)."""
        return {self._layout.layer_of(node): label for node, label in self._value_labels.items()}

    def legend_texts(self) -> tuple[str, str]:
        """The plain text of the edge legend and of the neuron legend."""
        return tuple(" ".join(self._plain(label.text).split())
                     for label in (self._edge_legend, self._node_legend))

    @staticmethod
    def _plain(html: str) -> str:
        doc = QTextDocument()
        doc.setHtml(html)
        return doc.toPlainText()

    def hover_text(self) -> str:
        """Plain text of the hover card ("" when hidden)."""
        return self._card.textItem.toPlainText() if self._card.isVisible() else ""

    def hover_at(self, view_pt: QPointF) -> None:
        """Show the hover card for what lies at ``view_pt``, as moving the mouse there does."""
        self._set_hover(self.hit_test(view_pt), view_pt)

    def hit_test(self, view_pt: QPointF):
        """("neuron", layer, index), ("edge", wi, i, j) or None for a point in view coordinates.

        Neurons win over edges (tiny neurons are hit within ``HIT_PIXELS`` pixels); an edge is hit
        within ``HIT_PIXELS`` pixels, and only if drawn.
        """
        if self._layout is None:
            return None
        px, py = view_pt.x(), view_pt.y()
        pixel = max(self._box.viewPixelSize())
        d = np.hypot(self._layout.xy[:, 0] - px, self._layout.xy[:, 1] - py)
        node = int(np.argmin(d))
        if d[node] <= max(self._layout.diameter[node] / 2 + pixel, HIT_PIXELS * pixel):
            return ("neuron", *self._layout.layer_of(node))
        if not self._drawn_flat.size:
            return None
        dist = _segment_distances(px, py, self._drawn_seg)
        k = int(np.argmin(dist))
        if dist[k] > HIT_PIXELS * pixel:
            return None
        wi = int(self._drawn_wi[k])
        i, j = divmod(int(self._drawn_flat[k]), self._layout.sizes[wi + 1])
        return ("edge", wi, i, j)

    # -- building per architecture ------------------------------------------------------------

    @staticmethod
    def _maps_available(snap: Snapshot) -> bool:
        maps = snap.neuron_maps
        return (len(maps) == len(snap.sizes) and sum(snap.sizes) <= MAP_NEURON_LIMIT
                and all(m.ndim == 3 and m.shape[0] == n for m, n in zip(maps, snap.sizes)))

    def _rebuild(self, snap: Snapshot, maps) -> None:
        """New layout and per-architecture items; resets what no longer exists."""
        for item in [*self._images, *self._layer_labels, *self._value_labels.values()]:
            self._box.removeItem(item)
        lay = self._layout = _make_layout(tuple(snap.sizes))
        counts = [a * b for a, b in zip(lay.sizes[:-1], lay.sizes[1:])]
        self._wide_edges = sum(counts) <= WIDE_EDGE_LIMIT
        raster = not self._wide_edges and sum(counts) <= RASTER_EDGE_LIMIT
        self._budget = counts if raster else _edge_budget(counts, EDGE_CAP)
        self._edge_offset = np.concatenate([[0], np.cumsum(counts)])
        self._drawn_all = False
        self._edges.set_raster(lay.all_segments.T if raster else None)
        self._set_edge_pens(self._wide_edges)
        (x0, y0), (x1, y1) = lay.xy.min(axis=0), lay.xy.max(axis=0)
        self._edges.set_extent(QRectF(x0, y0, x1 - x0, y1 - y0))

        self._nodes.set_nodes(lay.xy, lay.diameter, len(self._palette) // 2)
        self._node_brush_index = None
        self._images = []
        if maps:
            lut = style.diverging_lut(MAP_LUT_SIZE)
            blank = np.zeros(snap.neuron_maps[0].shape[1:], np.float32)
            for (x, y), d in zip(lay.xy, lay.diameter):
                image = pg.ImageItem(blank, axisOrder="row-major", levels=(-1, 1))
                image.setLookupTable(lut)
                side = d * MAP_FRACTION        # setRect scales the image: it needs its size
                image.setRect(QRectF(x - side / 2, y - side / 2, side, side))
                image.setZValue(55)
                self._box.addItem(image, ignoreBounds=True)
                self._images.append(image)

        L = len(lay.sizes) - 1
        self._layer_labels = []
        self._label_html = []
        for layer in range(L + 1):
            if layer == 0:
                name, short = "input", "in"
            else:
                kind, short = (("output", "out") if layer == L else
                               (f"hidden {layer}", f"h{layer}"))
                name = f"{kind} ({snap.activations[layer - 1]})"
            n = lay.sizes[layer]
            self._label_html.append(tuple(
                f"<div align='center' style='color:{style.FOREGROUND}'>{title}<br>"
                f"<span style='color:{MUTED}'>{count}</span></div>"
                for title, count in ((name, f"{n} neuron{'s' if n > 1 else ''}"),
                                     (short, f"{n}"))))
            label = pg.TextItem(anchor=(0.5, 0))
            label.setFont(self._font(9))
            self._box.addItem(label, ignoreBounds=True)
            self._layer_labels.append(label)
        self._compact_labels = None
        self._set_compact_labels(False)
        self._value_labels = {}
        for layer, n in enumerate(lay.sizes):
            if n > VALUE_LABEL_LIMIT:
                continue
            for i in range(n):
                node = lay.node(layer, i)
                label = pg.TextItem("", color=MUTED, anchor=(0.5, 0),
                                    fill=pg.mkBrush(255, 255, 255, 190))
                label.setFont(self._font(7.5))
                label.textItem.document().setDocumentMargin(0)
                x, y = lay.xy[node]
                label.setPos(float(x), float(y - lay.diameter[node] * RING_FACTOR / 2))
                label.setZValue(58)
                self._box.addItem(label, ignoreBounds=True)
                self._value_labels[node] = label

        if self._selected and not self._exists(*self._selected):
            self._selected = None
        self._chosen = []
        self._focus = None
        self._set_strip_enabled(False)
        self._set_hover(None, QPointF())
        self._fit_view()
        self._draw_ring()

    @Slot()
    def _fit_view(self) -> None:
        """Fit the diagram into the box, leaving room in pixels for the labels; runs on every
        resize (the locked aspect would otherwise move the range) and places the layer labels."""
        lay = self._layout
        width, height = self._box.width(), self._box.height()
        if lay is None or width < 20 or height < 20:
            return
        value_px = VALUE_LABEL_PIXELS if self._value_labels else 0
        for compact in (False, True):       # short layer labels where the full ones would touch
            self._set_compact_labels(compact)
            sizes = [label.boundingRect() for label in self._layer_labels]
            label_h = max(r.height() for r in sizes)
            top_px, bottom_px = 6.0, value_px + label_h + 6.0
            left_px, right_px = sizes[0].width() / 2 + 10, sizes[-1].width() / 2 + 10
            r0, r1 = lay.diameter[0] / 2, lay.diameter[-1] / 2
            span_x = lay.xs[-1] - lay.xs[0]            # > 0: a network has two layers or more
            scale = max(1e-6, min((height - top_px - bottom_px) / (lay.top - lay.bottom),
                                  (width - 12) / (span_x + r0 + r1),
                                  (width - left_px - right_px) / span_x))
            gaps = np.diff(lay.xs) * scale
            needed = [(a.width() + b.width()) / 2 + LABEL_GAP_PIXELS
                      for a, b in zip(sizes, sizes[1:])]
            if all(g >= n for g, n in zip(gaps, needed)):
                break
        extra = height - (lay.top - lay.bottom) * scale - top_px - bottom_px
        y0 = lay.bottom - (bottom_px + max(extra, 0) / 2) / scale
        cx = (lay.xs[0] + lay.xs[-1]) / 2
        self._box.setRange(QRectF(cx - width / 2 / scale, y0, width / scale, height / scale),
                           padding=0)
        self._scale = scale
        self._draw_ring()
        for label, x in zip(self._layer_labels, lay.xs):
            label.setPos(float(x), lay.bottom - value_px / scale)
        for node, label in self._value_labels.items():
            layer, _ = lay.layer_of(node)
            gap = (lay.spacing[layer] - lay.diameter[node] * (1 + RING_FACTOR) / 2) * scale
            label.setVisible(bool(gap >= VALUE_LABEL_PIXELS or lay.sizes[layer] == 1))

    def _set_compact_labels(self, compact: bool) -> None:
        """Layer labels in full ("hidden 1 (tanh)", "64 neurons") or short ("h1", "64")."""
        if compact == self._compact_labels:
            return
        self._compact_labels = compact
        for label, html in zip(self._layer_labels, self._label_html):
            label.setHtml(html[compact])
            label.setTextWidth(label.textItem.document().idealWidth())  # lets align=center work

    def layer_label_texts(self) -> list[str]:
        """The layer labels as shown (plain text, lines joined by a space)."""
        return [" ".join(label.textItem.toPlainText().split()) for label in self._layer_labels]

    def _set_edge_pens(self, wide: bool) -> None:
        """Pens per bin: the colour fades toward the white background for weak bins (opaque
        colours paint faster than translucent ones) and, for small networks, the width grows."""
        strength = np.linspace(0.35, 1.0, MAG_BINS) if wide else np.linspace(0.15, 0.85, MAG_BINS)
        widths = np.linspace(1.0, 4.0, MAG_BINS) if wide else np.ones(MAG_BINS)
        colors = []
        for (sign, k), edge_bin in self._edges.bins.items():
            if sign == 0:
                rgb, width = NEUTRAL_EDGE, 1.0
            else:
                full = np.array(style.POSITIVE if sign > 0 else style.NEGATIVE, float)
                rgb = tuple(int(round(c)) for c in 255.0 + (full - 255.0) * strength[k])
                width = float(widths[k])
            edge_bin.pen = pg.mkPen(rgb, width=width)
            edge_bin.antialias = wide
            colors.append(rgb)
        self._edges.clear_lines()
        self._edges.set_colors(colors)          # in bin order: the raster's levels 1, 2, …
        self._edges.update()

    # -- painting a frame ---------------------------------------------------------------------

    def _paint_frame(self) -> None:
        self._draw_edges()
        self._draw_nodes()
        self._draw_maps()
        if self._hover is not None:
            self._set_hover(self._hover, self._hover_pos, force=True)
        self._refresh_strip_value()

    def _overlay_values(self) -> tuple[np.ndarray, ...]:
        """What the edges show; with no update yet, "update Δw" shows every edge neutral."""
        if self.overlay() == "update" and self._no_update_note():
            return tuple(np.zeros(np.shape(W)) for W in self._snap.weights)
        return getattr(self._snap, OVERLAYS[self.overlay()][1])

    def _no_update_note(self) -> str:
        """Why "update Δw" has nothing to show ('' when it has): no update yet (before the first
        pass, after a weight set by hand, a reset or a session opened), or, in a pass walked phase
        by phase, not computed before its last phase."""
        snap = self._snap
        if snap.has_update:
            return ""
        if snap.phase is not None and snap.phase.kind != UPDATE:
            return (f"Δw not computed yet: the update is phase {snap.phase.total}/"
                    f"{snap.phase.total} of this pass")
        return NO_UPDATE_NOTE

    def _draw_edges(self) -> None:
        lay = self._layout
        values = self._overlay_values()
        forced = {*self._chosen, *([self._focus] if self._focus else [])}
        everything = self._edge_offset[1:] - self._edge_offset[:-1] <= self._budget
        if everything.all():                  # the same edges every frame: only values change
            val = np.concatenate([np.asarray(W, dtype=float).ravel() for W in values])
            if not self._drawn_all:
                self._drawn_all = True
                self._drawn_wi = np.repeat(np.arange(len(values)), np.diff(self._edge_offset))
                self._drawn_flat = np.arange(val.size) - self._edge_offset[self._drawn_wi]
                self._drawn_seg = lay.all_segments
        else:
            self._drawn_all = False
            val = self._choose_edges(values, forced)
        self._draw_edge_values(values, val)

    def _choose_edges(self, values, forced) -> np.ndarray:
        """Pick each weights array's strongest edges within its budget (plus the ``forced``
        ones); sets the ``_drawn_*`` arrays and returns the drawn values in their order."""
        lay = self._layout
        wis, flats, vals, segs = [], [], [], []
        for wi, W in enumerate(values):
            flat = np.asarray(W, dtype=float).ravel()
            k = self._budget[wi]
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
        self._drawn_wi = np.concatenate(wis)
        self._drawn_flat = np.concatenate(flats)
        self._drawn_seg = np.concatenate(segs, axis=1)
        return np.concatenate(vals)

    def _draw_edge_values(self, values, val: np.ndarray) -> None:
        """Bin the drawn edges' values ``val`` (in ``_drawn_*`` order) and hand them to the edge
        layer; update the legend."""
        vmax = _finite_absmax(values)
        sign = np.sign(np.nan_to_num(val, nan=0.0)).astype(int)
        mag = np.abs(style.symlog_normalise(val, vmax or 1.0, DECADES))
        k = np.minimum((mag * MAG_BINS).astype(int), MAG_BINS - 1)
        bin_index = np.where(sign == 0, 0, 1 + 2 * k + (sign > 0)).astype(np.uint8)  # _bin_keys
        self._edges.set_binned(self._drawn_seg.T, bin_index)
        if self._edges.raster_segments() is not None:
            levels = np.zeros(self._edge_offset[-1], np.uint8)
            levels[self._edge_offset[self._drawn_wi] + self._drawn_flat] = bin_index + 1
            self._edges.set_levels(levels)
        self._draw_chosen_halo()

        label, _ = OVERLAYS[self.overlay()]
        note = self._no_update_note() if self.overlay() == "update" else ""
        if note:                              # every edge neutral: say why instead of a scale
            self._set_label(self._edge_legend,
                f"<b>edges: {label}</b> &nbsp; <span style='background-color:{NOTE_FILL}; "
                f"color:{NOTE_TEXT}'>&nbsp;{note}&nbsp;</span>")
            return
        total = sum(v.size for v in values)
        shown = (f", strongest {self._drawn_flat.size:,} of {total:,} edges drawn"
                 if self._drawn_flat.size < total else "")
        blue, orange = (f"rgb{c}" for c in (style.POSITIVE, style.NEGATIVE))
        self._set_label(self._edge_legend,
            f"<b>edges: {label}</b> &nbsp; |value| max {style.format_value(vmax, 3)}, "
            f"log scale over {DECADES:g} decades (shade{', width' if self._wide_edges else ''}), "
            f"<span style='color:{blue}'>■ +</span> "
            f"<span style='color:{orange}'>■ −</span>{shown}"
            + (f", <span style='color:rgb{NEUTRAL_EDGE}'>■</span> not computed yet"
               if self._snap.phase is not None and np.isnan(val).any() else ""))

    @staticmethod
    def _set_label(label: pg.LabelItem, text: str) -> None:
        """Set a legend's text only when it changed (a new text re-lays the label out)."""
        if label.text != text:
            label.setText(text)

    def _node_values(self) -> list[np.ndarray | None]:
        """Per layer, what the neuron fill shows (None: no value, drawn neutral)."""
        snap, sizes = self._snap, self._layout.sizes
        if self.node_mode() == "delta":
            per_layer = [None, *snap.delta_mean]
        else:
            per_layer = list(snap.activation_mean)
        out = []
        for layer, n in enumerate(sizes):
            v = per_layer[layer] if layer < len(per_layer) else None
            out.append(None if v is None or np.shape(v) != (n,) else np.asarray(v, dtype=float))
        return out

    def _draw_nodes(self) -> None:
        per_layer = self._node_values()
        vmax = _finite_absmax([v for v in per_layer if v is not None])
        u = np.concatenate([np.zeros(n) if v is None else style.symlog_normalise(v, vmax or 1.0,
                                                                                 DECADES)
                            for v, n in zip(per_layer, self._layout.sizes)])
        steps = len(self._palette) - 1
        index = np.rint((u + 1) / 2 * steps).astype(int)
        if not np.array_equal(index, self._node_brush_index):
            self._node_brush_index = index
            self._nodes.set_fill(index)
        for node, label in self._value_labels.items():
            layer, i = self._layout.layer_of(node)
            v = per_layer[layer]
            # NaN: not computed yet (a forward phase has not reached this layer): "—", not "nan"
            text = "" if v is None else style.format_known(float(v[i]), 3)
            if label.textItem.toPlainText() != text:
                label.setText(text)
        self._set_label(self._node_legend,
            f"<b>neurons: {NODE_MODES[self.node_mode()]}</b> &nbsp; |max| "
            f"{style.format_value(vmax, 3)}, log scale over {DECADES:g} decades, "
            f"<span style='color:rgb{style.POSITIVE}'>■ +</span> "
            f"<span style='color:rgb{style.NEGATIVE}'>■ −</span>"
            + (f", <span style='color:rgb{style.NEUTRAL}'>■</span> not computed yet"
               if self._snap.phase is not None
               and any(v is not None and np.isnan(v).any() for v in per_layer) else "")
            + (" &nbsp;·&nbsp; inside: its output map"
               if self._images else ""))

    def _draw_maps(self) -> None:
        if not self._images:
            return
        snap, lay = self._snap, self._layout
        for layer, maps in enumerate(snap.neuron_maps):
            act = snap.activations[layer - 1] if layer > 0 else "linear"
            finite = maps[np.isfinite(maps)]
            if act in ("sigmoid", "softmax"):
                lo, hi = 0.0, 1.0
            else:
                m = min(float(np.abs(finite).max()) if finite.size else 1.0, FLOAT32_SAFE)
                lo, hi = -(m or 1.0), (m or 1.0)
            clean = np.clip(np.nan_to_num(maps, nan=(lo + hi) / 2, posinf=hi, neginf=lo),
                            lo, hi).astype(np.float32)
            for i in range(lay.sizes[layer]):
                self._images[lay.node(layer, i)].setImage(clean[i], levels=(lo, hi),
                                                          autoLevels=False)

    def _draw_ring(self) -> None:
        if self._selected is None or self._layout is None:
            self._ring.setData([], [])
            self._ring.hide()             # an empty scatter plot still costs 0.3 ms a paint
            return
        node = self._layout.node(*self._selected)
        x, y = self._layout.xy[node]
        self._ring.setData([x], [y], size=[self._layout.diameter[node] * RING_FACTOR * self._scale])
        self._ring.show()

    def _draw_chosen_halo(self) -> None:
        self._set_segments(self._chosen_halo, self._chosen)

    def _set_segments(self, curve: pg.PlotCurveItem, edges) -> None:
        lay = self._layout
        pts = [lay.segments[wi][:, i * lay.sizes[wi + 1] + j] for wi, i, j in edges]
        if not pts:
            curve.setData([], [])
            return
        seg = np.array(pts).T
        curve.setData(np.ravel(seg[[0, 2]].T), np.ravel(seg[[1, 3]].T))

    # -- hover --------------------------------------------------------------------------------

    @Slot(object)
    def _on_mouse_moved(self, scene_pos) -> None:
        if self._snap is None or self._drag is not None:
            return
        if not self._box.sceneBoundingRect().contains(scene_pos):
            self._set_hover(None, QPointF())
            return
        view_pt = self._box.mapSceneToView(scene_pos)
        self._set_hover(self.hit_test(view_pt), view_pt)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Leave and self._drag is None:
            self._set_hover(None, QPointF())
        return False

    def _set_hover(self, hit, view_pt: QPointF, force: bool = False) -> None:
        """Show the card (and edge halo) for ``hit`` near ``view_pt``; hide them for None."""
        self._hover_pos = view_pt
        if hit == self._hover and not force:
            if hit is not None:
                self._place_card(view_pt)
            return
        self._hover = hit
        self._set_segments(self._hover_halo, [hit[1:]] if hit and hit[0] == "edge" else [])
        if hit is None:
            self._card.hide()
            return
        body = self._neuron_card(*hit[1:]) if hit[0] == "neuron" else self._edge_card(*hit[1:])
        self._card.setHtml(f"<div style='color:{style.FOREGROUND}'>{body}</div>")
        self._place_card(view_pt)
        self._card.show()

    def _place_card(self, view_pt: QPointF) -> None:
        """Put the card beside the cursor, on the side with more room."""
        rect = self._box.viewRect()
        right = view_pt.x() > rect.center().x()
        low = view_pt.y() < rect.center().y()
        pw, ph = self._box.viewPixelSize()
        self._card.setAnchor((1 if right else 0, 1 if low else 0))
        self._card.setPos(view_pt.x() + (-12 if right else 12) * pw,
                          view_pt.y() + (12 if low else -12) * ph)

    def _layer_name(self, layer: int) -> str:
        L = len(self._layout.sizes) - 1
        if layer == 0:
            return "input"
        return "output" if layer == L else f"hidden {layer}"

    def _edge_name(self, wi: int, i: int, j: int) -> str:
        return f"{self._layer_name(wi)} #{i} → {self._layer_name(wi + 1)} #{j}"

    def _card_value(self, v: float) -> str:
        """A number for a hover card; in a pass walked phase by phase NaN is a value not computed
        yet and says so."""
        if np.isnan(v) and self._snap.phase is not None:
            return f"{style.NOT_COMPUTED} (not computed yet)"
        return style.format_value(v)

    def _neuron_card(self, layer: int, i: int) -> str:
        snap, fv = self._snap, self._card_value

        def pick(arrays, k):
            a = arrays[k] if 0 <= k < len(arrays) else None
            return fv(float(a[i])) if a is not None and i < np.size(a) else "—"

        rows = [f"<b>{self._layer_name(layer)} · neuron {i}</b>"]
        if layer == 0:
            rows.append(f"input x{_subscript(i)} (no δ)")
        else:
            rows += [f"activation {snap.activations[layer - 1]}",
                     f"mean δ = {pick(snap.delta_mean, layer - 1)}",
                     f"mean |δ| = {pick(snap.delta_abs_mean, layer - 1)}"]
        rows.append(f"mean a = {pick(snap.activation_mean, layer)}")
        return "<br>".join(rows)

    def _edge_card(self, wi: int, i: int, j: int) -> str:
        snap, fv = self._snap, self._card_value

        def val(arrays):
            return fv(float(arrays[wi][i, j])) if wi < len(arrays) else "—"

        update = (val(snap.update_weights) if snap.has_update or snap.phase is not None
                  else f"{style.NOT_COMPUTED} (no update yet)")
        return "<br>".join([
            f"<b>W[{wi + 1}][{i}, {j}]</b> &nbsp; {self._edge_name(wi, i, j)}",
            f"weight w = {val(snap.weights)}",
            f"gradient ∂L/∂w = {val(snap.grad_weights)}",
            f"error signal w·δ = {val(snap.edge_signals)}",
            f"update Δw = {update}",
        ])

    # -- clicks -------------------------------------------------------------------------------

    @Slot(object)
    def _on_scene_clicked(self, ev) -> None:
        if (self._snap is None or ev.button() != Qt.MouseButton.LeftButton
                or not self._box.sceneBoundingRect().contains(ev.scenePos())):
            return
        hit = self.hit_test(self._box.mapSceneToView(ev.scenePos()))
        if hit is None:
            if len(self._chosen) == 1:
                self._chosen = []
                self._draw_chosen_halo()
        elif hit[0] == "neuron":
            self.select_neuron(hit[1], hit[2])
            self.neuronClicked.emit(hit[1], hit[2])
        else:
            self._toggle_edge(hit[1:])

    def _toggle_edge(self, edge: tuple[int, int, int]) -> None:
        """Add ``edge`` to the pending pair (or drop it if there); a full pair is emitted."""
        if edge in self._chosen:
            self._chosen.remove(edge)
        else:
            if len(self._chosen) == 2:
                self._chosen = []
            self._chosen.append(edge)
        self._set_focus(edge)
        self._draw_chosen_halo()
        if len(self._chosen) == 2:
            self.surfaceAxesChosen.emit(self.chosen_edges())

    # -- editing a weight: drag an edge, or the strip under the plot --------------------------

    def _on_drag(self, ev) -> None:
        """Vertical drag on an edge: the weight moves by 0.01·max(1, |w|) per pixel (×0.1 with
        Shift), emitted while dragging (throttled) and on release."""
        if ev.isStart():
            hit = self.hit_test(self._box.mapSceneToView(ev.buttonDownScenePos()))
            if self._snap is None or hit is None or hit[0] != "edge":
                ev.ignore()
                return
            wi, i, j = hit[1:]
            w0 = float(self._snap.weights[wi][i, j])
            w0 = w0 if np.isfinite(w0) else 0.0
            self._drag = {"edge": (wi, i, j), "w0": w0, "step": 0.01 * max(1.0, abs(w0))}
            self._set_focus((wi, i, j))
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        dy = ev.buttonDownScenePos().y() - ev.scenePos().y()        # up is positive
        fine = 0.1 if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
        value = self._drag["w0"] + dy * self._drag["step"] * fine
        wi, i, j = self._drag["edge"]
        payload = [("W", wi, i, j, float(value))]
        self._show_strip_value(value)
        if ev.isFinish():
            self._drag = None
            self._edit_throttle.deliver(payload)
        else:
            self._edit_throttle.offer(payload)

    def _set_focus(self, edge: tuple[int, int, int]) -> None:
        """Put ``edge`` in the edit strip, with a slider range that fits its current weight."""
        if edge == self._focus:
            return
        self._focus = edge
        wi, i, j = edge
        w = float(self._snap.weights[wi][i, j])
        self._slider_scale = _nice_ceiling(max(1.0, 2 * abs(w)) if np.isfinite(w) else 1.0)
        self._focus_label.setText(f"W[{wi + 1}][{i}, {j}]  {self._edge_name(wi, i, j)}   "
                                  f"(slider ±{self._slider_scale:g})")
        self._focus_label.setStyleSheet(f"color: {style.FOREGROUND}")
        self._set_strip_enabled(True)
        self._refresh_strip_value()

    def _set_strip_enabled(self, on: bool) -> None:
        self._spin.setEnabled(on)
        self._slider.setEnabled(on)
        if not on:
            self._focus_label.setText("click or drag an edge to edit its weight")
            self._focus_label.setStyleSheet(f"color: {MUTED}")

    def _refresh_strip_value(self) -> None:
        """Show the focused weight of the newest snapshot, unless the user is editing it."""
        if self._focus is None or self._drag is not None or self._spin.hasFocus() \
                or self._slider.isSliderDown():
            return
        wi, i, j = self._focus
        self._show_strip_value(float(self._snap.weights[wi][i, j]))

    def _show_strip_value(self, value: float) -> None:
        """Display ``value`` in the spin box and slider without emitting."""
        shown = value if np.isfinite(value) else 0.0
        for widget, v in ((self._spin, shown),
                          (self._slider, int(round(np.clip(shown / self._slider_scale, -1, 1)
                                                   * 1000)))):
            widget.blockSignals(True)
            widget.setValue(v)
            widget.blockSignals(False)

    @Slot(float)
    def _on_spin_changed(self, value: float) -> None:
        if self._focus is not None:
            self._edit_throttle.deliver([("W", *self._focus, float(value))])

    @Slot(int)
    def _on_slider_changed(self, position: int) -> None:
        if self._focus is None:
            return
        value = position / 1000 * self._slider_scale
        self._spin.blockSignals(True)
        self._spin.setValue(value)
        self._spin.blockSignals(False)
        self._edit_throttle.offer([("W", *self._focus, float(value))])

    # -- modes --------------------------------------------------------------------------------

    @Slot(int)
    def _on_mode_changed(self, _index: int) -> None:
        if self._chosen_modes is not None and not self._phase_setting:   # the user's choice
            self._chosen_modes = (self.overlay(), self.node_mode())
        if self._snap is not None:
            self._paint_frame()
