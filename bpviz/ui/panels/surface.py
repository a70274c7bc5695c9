"""The error surface: the loss over a 2-D slice of parameter space through the current weights.

The panel shows a heatmap of the loss (``log10``, stated on the colour bar) with contour lines, the
current weights as a red point, and the path training took (the recorded weight trajectory projected
onto the slice's axes) as a white line with small dots whose last segment, into the current point, is
red.

Axes (the combo box): **two weights** (default ``W[0][0, 0]`` and ``W[0][1, 0]``: both feed hidden
neuron 0, so they are coupled and the contours are tilted), **random directions** (filter-normalised,
Li et al. 2018) or **principal components of the path** (needs a trajectory of at least 2 distinct
points; otherwise the status line says so and random directions are shown). :meth:`SurfaceView.set_axes`
switches to two weights picked elsewhere (two edges clicked in the diagram).

Dragging the current point (parameter axes only; a direction axis is not one parameter, so there the
point is fixed) emits :attr:`SurfaceView.parametersDragged` with the two parameters' new values, at
most 30 times a second while dragging and once on release. The panel never changes weights itself:
the next snapshot shows the new point. While dragging, the old image and the view range stay put
until a new slice arrives.

Threading: slices are computed by a :class:`SurfaceWorker` on its own QThread. A request
(:class:`SliceRequest`) is immutable: copies of the weights, the training data and the trajectory
(which the principal components need). It first computes a quick preview (25×25 on 256 samples),
then the full slice (51×51 on up to 1,000 samples, a fixed subsample beyond that), publishing each as
a :class:`SliceResult` with everything drawn from it (the log image, its levels, the contour lines),
so that the GUI thread only calls ``setImage``/``setData``. A new request cancels the running one (a
``threading.Event`` that ``compute_slice`` polls between chunks of a few dozen grid points) and results of
older requests are dropped. Paused, the grid is shared between two pool threads (the cores are
free; numpy's matrix products run outside the interpreter lock); while training, one thread does
it all, leaving the other core to training. Recomputation is triggered by a change of weights, axes, data or
architecture:

- the axes, data or architecture changed: at once, preview then full slice;
- paused (a step, a dragged weight): at most every 0.1 s, cancelling the running request, preview
  then full slice (so a continuous drag still shows previews, and the full slice once it stops);
- while training: at most one request in flight and at most ~3 a second, the slice thread busy
  at most :data:`TRAINING_DUTY` of the time but resting no more than :data:`TRAINING_REST_S`
  after a slow slice (so a big network's slice is not starved). Once a full slice of the
  same axes is shown the preview is skipped, so the picture does not flicker between resolutions.
  When a full slice takes longer than :data:`TRAINING_FULL_S` (a big network), training gets the
  quick slice only (25×25 on 256 samples, said in the title and the status line), so the picture
  keeps up; the full slice follows as soon as training pauses.

A slice is drawn under the newest weights (the red point), which may have moved on since the slice
was computed. When the slice has been older than the weights for more than :data:`STALE_AFTER_S`
(a slow slice, a big network), the panel says so beside the axes: "slice from pass N (now M)"
(:meth:`SurfaceView.age_text`); it goes as soon as a slice of the current weights is drawn.

:meth:`SurfaceView.show_snapshot` is cheap: it moves the point, re-projects a newly received
trajectory and may queue a request; it never computes a slice. The point and the path are placed with
the shown slice's projection (:meth:`SliceResult.coordinates`: exact values for parameter axes, the
least-squares coefficients on the directions otherwise, as ``project_trajectory``), so they follow
the newest weights between slices; the path is thinned to 400 points.

The title names the axes and the samples the loss is on: a fixed subset beyond 1,000 training
samples, said as such ("loss over two weights, on 1,000 of 1,500 training samples"). It spans the
plot and the colour bar and wraps within the panel's width (:class:`WrappingTitle`), so a long one
never widens the layout past the panel.

Non-finite losses (divergence) never raise: NaN is transparent, +inf is clipped to the top colour.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QRectF, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF, QTextOption
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout,
                               QWidget)

from bpviz.engine.snapshot import frozen as _frozen
from bpviz.engine.network import Network
from bpviz.engine.snapshot import Snapshot
from bpviz.engine.surface import (Axis, Projection, SurfaceSlice, bias_axis, compute_slice,
                                  flatten, slice_directions, weight_axis)

from ..plotting import style
from ..plotting.qt import collect_garbage_on_gui_thread, lower_this_thread

PREVIEW_GRID = 25
PREVIEW_SAMPLES = 256
FULL_GRID = 51
FULL_SAMPLES = 1000
SAMPLE_SEED = 0                 # the same subsample every time, so successive slices compare
CHUNK_ELEMS = 100_000           # compute_slice chunk: arrays that stay in cache; one grid point
                                # of a 64-wide network at 1000 samples, ~33 of the classic 2-3-3
                                # (measured fastest for both, in float32)
SURFACE_DTYPE = np.float32      # twice as fast as float64, ~1e-6 relative: plenty for a picture
TRAINING_REFRESH_S = 1 / 3      # while training, at most ~3 requests a second,
TRAINING_DUTY = 0.2             # and the slice thread busy at most this fraction of the time: it
                                # shares two cores and the interpreter with training and painting;
TRAINING_REST_S = 2.0           # but after a slow slice (a big network's, mostly numpy's matrix
                                # products, outside the interpreter lock) it rests at most this long
SLICE_PARTS = min(2, os.cpu_count() or 1)   # paused, a slice is shared among this many threads
TRAINING_FULL_S = 1.0           # a full slice slower than this: while training, quick slices only
STALE_AFTER_S = 1.0             # a slice older than the weights for this long says so
STALE_STYLE = "background:#fef3c7; color:#92400e; padding:1px 4px; border-radius:3px"
PAUSED_REFRESH_S = 0.1          # paused (dragging), at most 10 a second, so previews get through
DRAG_EMIT_S = 1 / 30            # while dragging, at most 30 parametersDragged a second
LOG_DECADES = 6                 # the log image shows at most this many decades below the maximum
CONTOUR_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
PATH_MAX_POINTS = 400           # the drawn path is thinned to this many points (the last kept)

MODES = {
    "weights": "two weights",
    "random": "random directions (filter-normalised)",
    "pca": "principal components of the path",
}
RANDOM_AXES = (Axis("random", seed=0), Axis("random", seed=1))
PCA_AXES = (Axis("pca", component=0), Axis("pca", component=1))

POINT_COLOR = (220, 38, 38)
PATH_COLOR = (255, 255, 255)
PREVIOUS_COLOR = (148, 163, 184)   # the path of the run before a reset: faded
JUMP_COLOR = (250, 204, 21)        # weights set by hand, dashed: no training took that line
JUMP_LABEL = "weights set by hand, not trained"
CONTOUR_PEN = (255, 255, 255, 110)
COLORBAR_AXIS_WIDTH = 60


# -- pure helpers (no Qt) --------------------------------------------------------------------------

def default_weight_axes(sizes) -> tuple[Axis, Axis]:
    """Two coupled first-layer parameters: W[0][0,0] and W[0][1,0] (both feed neuron 0).

    With one input, W[0][0,0] and W[0][0,1]; with one input and one neuron, the weight and its bias.
    """
    if sizes[0] >= 2:
        return weight_axis(0, 0, 0), weight_axis(0, 1, 0)
    if sizes[1] >= 2:
        return weight_axis(0, 0, 0), weight_axis(0, 0, 1)
    return weight_axis(0, 0, 0), bias_axis(0, 0)


def parameter_axis(kind: str, layer: int, i: int, j: int) -> Axis:
    """The axis of ``("W", layer, i, j)`` (a weight) or ``("b", layer, 0, j)`` (a bias)."""
    if kind == "W":
        return weight_axis(int(layer), int(i), int(j))
    if kind == "b":
        return bias_axis(int(layer), int(j))
    raise ValueError(f"unknown parameter kind {kind!r}; use 'W' for a weight or 'b' for a bias")


def axis_fits(axis: Axis, sizes) -> bool:
    """True if a weight or bias axis names a parameter of a network with layer ``sizes``."""
    if not 0 <= axis.layer < len(sizes) - 1:
        return False
    n_in, n_out = sizes[axis.layer], sizes[axis.layer + 1]
    return 0 <= axis.j < n_out and (axis.kind == "bias" or 0 <= axis.i < n_in)


def log_loss_image(loss: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """The image drawn for a loss grid, and its levels: ``log10(loss)`` as float32.

    Values more than :data:`LOG_DECADES` decades below the largest finite loss (a zero loss, say)
    are clipped there; +inf is clipped to the largest finite value; NaN stays NaN (transparent).
    Levels are the min and max of the finite values ((0, 1) when there are none).
    """
    loss = np.asarray(loss, dtype=float)
    finite = np.isfinite(loss)
    if not finite.any():
        return np.full(loss.shape, np.nan, dtype=np.float32), (0.0, 1.0)
    top = float(loss[finite].max())
    floor = max(top * 10.0 ** -LOG_DECADES, np.finfo(float).tiny)
    clipped = np.clip(np.where(np.isposinf(loss), top, loss), floor, None)   # NaN stays NaN
    image = np.log10(clipped).astype(np.float32)
    lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    return image, (lo, hi)


def loss_ticks(levels: tuple[float, float], target: int = 6) -> list[tuple[float, str]]:
    """Colour-bar ticks ``(log10 value, label)`` for an image of log10(loss) with ``levels``.

    Over a decade or more: 1, 2, 5 × 10^k (over many decades, every n-th power of ten only);
    within a decade: about ``target`` evenly spaced round loss values, so a narrow range still
    gets several labels.
    """
    lo, hi = levels
    if hi - lo >= 1.0:
        k0, k1 = int(np.floor(lo)), int(np.ceil(hi))
        if hi - lo > 4.0:
            every = int(np.ceil((k1 - k0 + 1) / target))
            values = [10.0 ** k for k in range(k0, k1 + 1) if k % every == 0]
        else:
            values = [m * 10.0 ** k for k in range(k0, k1 + 1) for m in (1.0, 2.0, 5.0)]
        labels = [style.format_value(v) for v in values]
    else:
        a, b = 10.0 ** lo, 10.0 ** hi
        raw = (b - a) / target
        unit = 10.0 ** np.floor(np.log10(raw))
        step = unit * min(m for m in (1.0, 2.0, 5.0, 10.0) if m * unit >= raw)
        values = np.arange(np.ceil(a / step), np.floor(b / step) + 1) * step
        digits = max(3, int(np.ceil(np.log10(b / step))) + 1)   # neighbours must differ
        labels = [style.format_value(float(v), digits) for v in values]
    return [(float(np.log10(v)), text) for v, text in zip(values, labels)
            if v > 0 and lo <= np.log10(v) <= hi]


# Marching squares: a cell's corners 00, 10, 11, 01 (x, y offsets) at or above the level make its
# case (bits 1, 2, 4, 8); the contour crosses the cell's edges 0 (00–10), 1 (10–11), 2 (01–11) and
# 3 (00–01) in at most two segments, listed per case as (edge, edge) pairs (-1: none). A saddle
# (cases 5 and 10) cuts off its two corners above the level, or, when the mean of its corners is at
# or above the level (the corners above joined through the middle), its two corners below: rows
# 16 and 17.
_CELL_SEGMENTS = np.array([
    [(-1, -1), (-1, -1)], [(3, 0), (-1, -1)], [(0, 1), (-1, -1)], [(3, 1), (-1, -1)],
    [(1, 2), (-1, -1)], [(3, 0), (1, 2)], [(0, 2), (-1, -1)], [(3, 2), (-1, -1)],
    [(2, 3), (-1, -1)], [(0, 2), (-1, -1)], [(0, 1), (2, 3)], [(1, 2), (-1, -1)],
    [(1, 3), (-1, -1)], [(0, 1), (-1, -1)], [(0, 3), (-1, -1)], [(-1, -1), (-1, -1)],
    [(0, 1), (2, 3)], [(3, 0), (1, 2)]])


def _level_segments(data: np.ndarray, level: float) -> np.ndarray:
    """Contour segments of ``data[ix, iy]`` at ``level``: (2·S, 2) end points, pair after pair,
    grid node (ix, iy) at (ix + 0.5, iy + 0.5)."""
    v00, v10, v11, v01 = data[:-1, :-1], data[1:, :-1], data[1:, 1:], data[:-1, 1:]
    case = ((v00 >= level) * 1 + (v10 >= level) * 2 + (v11 >= level) * 4
            + (v01 >= level) * 8).ravel()
    joined = ((v00 + v10 + v11 + v01) / 4 >= level).ravel()
    case = np.where(joined & (case == 5), 16, np.where(joined & (case == 10), 17, case))
    ix, iy = (g.ravel() + 0.5 for g in np.meshgrid(np.arange(data.shape[0] - 1),
                                                     np.arange(data.shape[1] - 1), indexing="ij"))

    def cross(a, b):                   # where along a → b the level is reached (0 … 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.clip(np.nan_to_num((level - a) / (b - a)).ravel(), 0.0, 1.0)

    # crossing points of the four edges, (cells, 4, 2)
    t0, t1, t2, t3 = cross(v00, v10), cross(v10, v11), cross(v01, v11), cross(v00, v01)
    points = np.stack([np.column_stack([ix + t0, iy]), np.column_stack([ix + 1, iy + t1]),
                       np.column_stack([ix + t2, iy + 1]), np.column_stack([ix, iy + t3])],
                      axis=1)
    ends = []
    for slot in range(2):
        edges = _CELL_SEGMENTS[case, slot]            # (cells, 2)
        cells = np.flatnonzero(edges[:, 0] >= 0)
        if cells.size:
            pair = points[cells[:, None], edges[cells]]       # (n, 2 ends, 2)
            ends.append(pair.reshape(-1, 2))
    return np.concatenate(ends) if ends else np.zeros((0, 2))


def contour_lines(image: np.ndarray, quantiles=CONTOUR_QUANTILES) -> np.ndarray:
    """Marching-squares contours of ``image[iy, ix]`` at quantiles of its finite values.

    Returns (2·S, 2) points in the image's pixel coordinates (grid node (ix, iy) is at
    (ix + 0.5, iy + 0.5), the centre of its pixel): S segments, each two consecutive points, for a
    curve drawn with ``connect='pairs'`` as a child of the ImageItem: it inherits the image's
    placement, and the path holds small numbers however large the weights. NaN cells count as
    above every level. Vectorised: it runs on the surface thread while the window trains, and a
    cell-by-cell loop in Python there (tens of ms a slice) kept the GUI thread waiting for the
    interpreter lock.
    """
    finite = np.isfinite(image)
    if finite.sum() < 4:
        return np.zeros((0, 2))
    data = np.where(finite, image, np.nanmax(image[finite])).astype(float).T    # data[ix, iy]
    parts = [_level_segments(data, level)
             for level in np.unique(np.quantile(data[finite.T], quantiles))]
    return np.concatenate(parts)


def thin_path(path: np.ndarray, max_points: int = PATH_MAX_POINTS) -> np.ndarray:
    """At most ``max_points`` evenly spaced points of ``path``, the first and last always kept."""
    if len(path) <= max_points:
        return path
    return path[np.unique(np.linspace(0, len(path) - 1, max_points).round().astype(int))]


# -- requests and results --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SliceRequest:
    """Everything a slice computation needs, copied: it is handed to the worker thread."""

    id: int
    sizes: tuple[int, ...]
    activations: tuple[str, ...]         # per non-input layer, output last (as in a Snapshot)
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    X: np.ndarray                        # the training set
    T: np.ndarray
    axis_x: Axis
    axis_y: Axis
    trajectory: np.ndarray | None        # (K, P) recorded parameters, or None
    preview: bool                        # compute the quick preview before the full slice
    parallel: bool = False               # use the panel's thread pool (paused: the cores are free)
    cancel: threading.Event = field(default_factory=threading.Event)
    full: bool = True                    # compute the full slice (False: the quick one only)
    pass_count: int = 0                  # the pass whose weights these are

    @classmethod
    def from_snapshot(cls, request_id: int, snap: Snapshot, X, T, axes, trajectory,
                      preview: bool, parallel: bool = False, full: bool = True) -> "SliceRequest":
        """A request at the snapshot's current weights (snapshot arrays are already read-only)."""
        return cls(request_id, tuple(snap.sizes), tuple(snap.activations), tuple(snap.weights),
                   tuple(snap.biases), X, T, axes[0], axes[1], trajectory, preview or not full,
                   parallel, full=full, pass_count=snap.pass_count)

    def network(self) -> Network:
        return Network(self.sizes, list(self.activations[:-1]), self.activations[-1],
                       weights=self.weights, biases=self.biases)


@dataclass(frozen=True, eq=False)
class SliceResult:
    """One computed slice and everything drawn from it."""

    request_id: int
    slice: SurfaceSlice
    final: bool                   # the full slice (False for the preview)
    image: np.ndarray             # float32 log10 loss, (G, G), rows are y
    levels: tuple[float, float]
    contours: np.ndarray          # (2·S, 2) in image pixels: S segments, two points each
    projection: Projection        # flattened parameters → the slice's coordinates
    note: str = ""                # e.g. why random directions replace the principal components
    n_total: int = 0              # training samples the loss was evaluated on a subset of (or all)

    @property
    def n_parameters(self) -> int:
        """The parameters of the network the slice is of (a path of another network is not
        projected on it)."""
        return self.projection.n_parameters

    def coordinates(self, theta: np.ndarray) -> np.ndarray:
        """Slice coordinates of flattened parameters θ, (P,) or (K, P) → (2,) or (K, 2).

        ``center + pinv(D) (θ − origin)``: the least-squares coefficients on the directions D, as
        :func:`~bpviz.engine.surface.project_trajectory` computes them; for a weight or bias axis
        this is the parameter's value itself, read alone (a full product took ~60 ms for 30
        points of a 200,000-parameter network, and the window feeds a slow panel less often).
        """
        return self.projection(theta)


def make_result(request_id: int, slc: SurfaceSlice, final: bool, projection: Projection,
                note: str = "", n_total: int = 0) -> SliceResult:
    """Wrap a slice with its log image, levels and contour lines; ``n_total`` is the size of the
    training set its samples were drawn from."""
    image, levels = log_loss_image(slc.loss)
    return SliceResult(request_id, slc, final, image, levels,
                       contour_lines(image), projection, note, n_total)


def samples_text(n_samples: int, n_total: int) -> str:
    """Which samples a slice's loss is on: "on 1,000 of 1,500 training samples" (a fixed subset:
    the full training set would make a slice too slow) or "on all 300 training samples"."""
    if n_samples >= n_total:
        return f"on all {n_samples:,} training samples"
    return f"on {n_samples:,} of {n_total:,} training samples"


def _resolve_directions(net: Network, req: SliceRequest):
    """(axis_x, axis_y, directions, note); principal components fall back to random directions."""
    try:
        return req.axis_x, req.axis_y, slice_directions(net, req.axis_x, req.axis_y,
                                                         req.trajectory, sparse=True), ""
    except ValueError as e:
        if req.axis_x.kind != "pca":
            raise
        ax, ay = RANDOM_AXES
        return (ax, ay, slice_directions(net, ax, ay, sparse=True),
                f"{e} — showing random directions instead")


def compute_results(req: SliceRequest, executor=None):
    """Yield the request's preview (if asked) and full (if asked) :class:`SliceResult`; stop when
    cancelled.

    A plain generator, so it runs and is tested without any thread. With ``executor`` and
    ``req.parallel`` the grid is shared among :data:`SLICE_PARTS` of its threads.
    """
    parts = SLICE_PARTS if executor is not None and req.parallel else 1
    net = req.network()
    ax, ay, dirs, note = _resolve_directions(net, req)
    # the directions once, sparse (a weight axis is one array, not a network of zeros), for
    # both slices and the projection
    projection = None
    phases = [(PREVIEW_GRID, PREVIEW_SAMPLES, False)] if req.preview else []
    if req.full:
        phases.append((FULL_GRID, FULL_SAMPLES, True))
    for grid, samples, final in phases:
        if req.cancel.is_set():
            return
        for dtype in (SURFACE_DTYPE, np.float64):
            slc = compute_slice(net, req.X, req.T, ax, ay, grid=grid,
                                subsample=samples if len(req.X) > samples else None,
                                seed=SAMPLE_SEED, trajectory=req.trajectory,
                                cancel=req.cancel.is_set, max_chunk_elems=CHUNK_ELEMS, dtype=dtype,
                                executor=executor, parts=parts, dirs=dirs)
            # float32 overflows from ~1e38: where it did, the slice is done again in float64
            if not slc.complete or np.isfinite(slc.loss).all():
                break
        if not slc.complete:
            return
        if projection is None:
            projection = Projection.of(net, dirs, slc.center)
        yield make_result(req.id, slc, final, projection, note, n_total=len(req.X))


class WrappingTitle(pg.LabelItem):
    """A title that wraps onto more lines, centred, within the width the layout gives it. A plain
    ``LabelItem`` asks for its whole one-line width: a long title (the principal components' with
    the sample count) made the layout wider than the panel and pushed the colour bar out of it."""

    def __init__(self, text: str = "", **opts):
        super().__init__("", **opts)
        option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.item.document().setDefaultTextOption(option)
        self.setText(text)

    def resizeEvent(self, ev) -> None:
        width = self.size().width()
        if width > 0 and self.item.textWidth() != width:
            self.item.setTextWidth(width)          # wraps; its height follows in updateMin
        super().resizeEvent(ev)

    def updateMin(self) -> None:
        height = self.itemRect().height() if self.text else 0.0
        self.setMinimumWidth(0)
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self._sizeHint = {Qt.SizeHint.MinimumSize: (0, height),
                          Qt.SizeHint.PreferredSize: (0, height),
                          Qt.SizeHint.MaximumSize: (-1, height),
                          Qt.SizeHint.MinimumDescent: (0, 0)}
        self.updateGeometry()


class PathItem(pg.GraphicsObject):
    """The path of training: a one-pixel line through its points and a round dot on each, drawn
    with one ``drawPolyline`` and one ``drawPoints`` call. (A pyqtgraph plot item with symbols
    took about 2 ms to take 400 points, and took them again whenever the view range moved: on
    every frame while training.) ``setData``/``getData`` as a plot item's; ``opts`` describe it
    to the legend."""

    def __init__(self, color, dot_size: float = 4.0):
        super().__init__()
        # what the legend's sample reads: the line's pen, and the dot's symbol, size and brush
        self.opts = {"pen": pg.mkPen(color, width=1), "symbol": "o", "size": dot_size,
                     "brush": pg.mkBrush(color), "antialias": False}
        self._dot = QPen(QColor(*color))
        self._dot.setWidthF(dot_size)
        self._dot.setCapStyle(Qt.PenCapStyle.RoundCap)
        self._dot.setCosmetic(True)
        self._x = self._y = np.zeros(0)
        self._polygon = QPolygonF()
        self._lines: list[QPolygonF] = []      # the polyline, in pieces between breaks
        self._bounds = QRectF()

    def setData(self, x, y, breaks=()) -> None:
        """The points; ``breaks``: indices k where the line does not run from point k − 1 to
        point k (the dots are drawn all the same)."""
        x, y = np.array(x, dtype=float).ravel(), np.array(y, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"a path needs as many x as y, got {x.size} and {y.size}")
        self._x, self._y = x, y
        finite = np.isfinite(x) & np.isfinite(y)         # a point off the plane is not drawn
        self._polygon = (pg.functions.arrayToQPolygonF(x[finite], y[finite]) if finite.any()
                         else QPolygonF())
        self._lines = []
        for part in np.split(np.arange(len(x)), sorted(int(k) for k in breaks if 0 < k < len(x))):
            part = part[finite[part]]
            if len(part) >= 2:
                self._lines.append(pg.functions.arrayToQPolygonF(x[part], y[part]))
        self._update_bounds()
        self.update()

    def line_count(self) -> int:
        """How many separate polylines the path is drawn as."""
        return len(self._lines)

    def getData(self):
        """(x, y) of the path, or (None, None) when it is empty (as a plot item's)."""
        return (None, None) if not self._x.size else (self._x, self._y)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        values = (self._x, self._y)[ax]
        finite = values[np.isfinite(values)]
        return (None, None) if not finite.size else (float(finite.min()), float(finite.max()))

    def viewTransformChanged(self) -> None:
        self._update_bounds()            # the dots' margin is in pixels

    def _update_bounds(self) -> None:
        rect = QRectF()
        if not self._polygon.isEmpty():                  # the finite points
            rect = self._polygon.boundingRect()
            px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
            margin = self.opts["size"] + 1
            rect.adjust(-margin * px, -margin * py, margin * px, margin * py)
        self.prepareGeometryChange()
        self._bounds = rect

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, p, *args) -> None:
        if self._polygon.isEmpty():
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(self.opts["pen"])
        for line in self._lines:
            p.drawPolyline(line)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)     # round dots
        p.setPen(self._dot)
        p.drawPoints(self._polygon)


class SurfaceWorker(QObject):
    """Computes slices; lives on the surface thread. Talk to it only through signals."""

    resultReady = Signal(object)      # SliceResult
    failed = Signal(object)           # (request id, message)
    requestDone = Signal(object)      # request id: finished, cancelled or failed

    def __init__(self, executor=None):
        super().__init__()
        self.executor = executor          # threads sharing a paused slice's grid, or None
        self.thread_id: int | None = None     # the OS id of the surface thread, once it ran

    @Slot(object)
    def compute(self, req: SliceRequest) -> None:
        if self.thread_id is None:
            self.thread_id = threading.get_native_id()
            lower_this_thread()
        try:
            with np.errstate(all="ignore"):        # divergent regions give inf/NaN on purpose
                for result in compute_results(req, self.executor):
                    self.resultReady.emit(result)
        except ValueError as e:                    # axes that do not fit, a degenerate path
            self.failed.emit((req.id, str(e)))
        finally:
            self.requestDone.emit(req.id)


# -- the panel -------------------------------------------------------------------------------------

class SurfaceView(QWidget):
    """The error-surface panel (see the module docstring)."""

    parametersDragged = Signal(object)   # [(kind, layer, i, j, value_x), (kind, layer, i, j, value_y)]
    sliceShown = Signal(object)          # the SurfaceSlice just drawn
    _pointDragged = Signal()             # the mouse moved the point: rate-limited on its way out
    _computeRequested = Signal(object)   # SliceRequest, queued to the worker

    def __init__(self, parent=None):
        super().__init__(parent)
        collect_garbage_on_gui_thread()        # before the slice thread starts
        self._snap: Snapshot | None = None
        self._params: np.ndarray | None = None          # flattened weights of the newest snapshot
        self._arch = None                               # (sizes, activations)
        self._data = None                               # (X, T) read-only, or None
        self._data_version = 0
        self._trajectory: np.ndarray | None = None     # the newest one received
        self._trajectory_passes: np.ndarray | None = None   # ... the pass after which each point
        self._path = np.zeros((0, 2))                   # ... projected onto the shown slice
        self._path_passes = np.zeros(0)                 # ... and its points' passes (thinned)
        self._previous: np.ndarray | None = None        # the trajectory of the run before
        self._arrived = None            # (architecture, trajectory) of the newest snapshot with one
        self._mode = "weights"
        self._weight_axes: tuple[Axis, Axis] | None = None   # None: the default of the network
        self._next_id = 1
        self._in_flight: SliceRequest | None = None
        self._requested_key = None                      # what the newest request was computed for
        self._requested_params: np.ndarray | None = None
        self._dirty = False                             # something changed since the last request
        self._pending_training = False                  # the pending change comes from training
        self._last_submit = -1e9
        self._last_busy = 0.0             # wall time the last finished request took
        self._full_busy = 0.0             # ... the last full slice took to arrive
        self._requested_full = True       # the newest request includes the full slice
        self._shown: SliceResult | None = None
        self._shown_key = None
        self._shown_params: np.ndarray | None = None    # the weights of the slice drawn
        self._shown_pass = 0                            # ... and the pass they are of
        self._stale_since: float | None = None          # the weights moved on from the slice
        self._superseded_at: float | None = None        # ... from the newest request's
        self._texts = None                # axis labels, title and draggability last drawn
        self._stopped = False
        self._build_ui()

        self.worker_thread = QThread()
        self.worker_thread.setObjectName("bpviz-surface")
        self._pool = (ThreadPoolExecutor(SLICE_PARTS, thread_name_prefix="bpviz-surface-part",
                                         initializer=lower_this_thread)
                      if SLICE_PARTS > 1 else None)
        self.worker = SurfaceWorker(self._pool)
        self.worker.moveToThread(self.worker_thread)
        self.worker_thread.finished.connect(self.worker.deleteLater)
        self._computeRequested.connect(self.worker.compute)
        self.worker.resultReady.connect(self._on_result)
        self.worker.failed.connect(self._on_failed)
        self.worker.requestDone.connect(self._on_done)
        self.worker_thread.start()

        # The throttle of paused and training refreshes is written out (a timer and the time of
        # the last request) rather than a pyqtgraph SignalProxy: its interval follows how long the
        # last slice took, a change of axes or data goes out at once, and a training refresh
        # waits for the running request instead of a clock.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._on_refresh_timer)
        # says "slice from pass N (now M)" once the slice has been older than the weights for
        # STALE_AFTER_S, also when no snapshot comes to say it (paused on a slow slice)
        self._stale_timer = QTimer(self)
        self._stale_timer.setSingleShot(True)
        self._stale_timer.timeout.connect(self._update_age)
        # while dragging, at most one parametersDragged per DRAG_EMIT_S, the last move always sent
        self._drag_proxy = pg.SignalProxy(self._pointDragged, delay=DRAG_EMIT_S,
                                          rateLimit=1 / DRAG_EMIT_S, slot=self._emit_drag,
                                          threadSafe=False)
        self._drag_proxy.setParent(self)       # goes, with its timer's connection, with the panel

    def _build_ui(self) -> None:
        self.mode_combo = QComboBox()
        for key, text in MODES.items():
            self.mode_combo.addItem(text, key)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_index)
        self.status = QLabel("waiting for training data")
        self.status.setWordWrap(True)
        # its notes come and go (while training, after a pause): they must not change the
        # panel's size, so its width counts for nothing and two lines are always kept for it
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.status.setFixedHeight(2 * self.status.fontMetrics().lineSpacing() + 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        top = QHBoxLayout()
        top.addWidget(QLabel("axes:"))
        top.addWidget(self.mode_combo)
        top.addWidget(self.status, 1)

        self.graphics = pg.GraphicsLayoutWidget()
        # the slice's age, when it lags the weights: in the plot's top left corner, in no
        # layout, so that it comes and goes without changing the panel's size
        self.age_label = QLabel(self.graphics)
        self.age_label.setStyleSheet(STALE_STYLE)
        self.age_label.hide()
        self.graphics.setBackground(style.BACKGROUND)
        # the title spans the plot and the colour bar, and wraps rather than widening the panel
        self.title = WrappingTitle(size="11pt", color=style.FOREGROUND)
        self.graphics.addItem(self.title, row=0, col=0, colspan=2)
        self.plot = self.graphics.addPlot(row=1, col=0)
        self.plot.setMouseEnabled(x=False, y=False)   # the range follows the slice
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        style.style_plot(self.plot, grid=False)       # its range moves with every slice

        lut = style.sequential_lut()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(lut)
        self.image.setZValue(-10)
        self.contours = pg.PlotCurveItem(pen=pg.mkPen(CONTOUR_PEN, width=1), connect="pairs")
        self.path_item = PathItem(PATH_COLOR)
        self.previous_item = PathItem(PREVIOUS_COLOR, dot_size=3.0)
        self.last_step = pg.PlotCurveItem(pen=pg.mkPen(POINT_COLOR, width=2))
        # weights set by hand (a dragged point, a typed weight): a jump, not a step of training
        self.jump_item = pg.PlotCurveItem(pen=pg.mkPen(JUMP_COLOR, width=1.5,
                                                       style=Qt.PenStyle.DashLine),
                                          connect="pairs")
        self.marker = pg.TargetItem(size=14, symbol="o", movable=False,
                                    pen=pg.mkPen("w", width=2), brush=POINT_COLOR,
                                    hoverPen=pg.mkPen("w", width=3), hoverBrush=POINT_COLOR)
        self.marker.setZValue(10)
        self.marker.hide()
        self.marker.sigPositionChanged.connect(self._on_marker_moved)
        self.marker.sigPositionChangeFinished.connect(self._on_marker_released)
        for item in (self.image, self.previous_item, self.path_item, self.jump_item, self.last_step,
                     self.marker):
            self.plot.addItem(item)
        self.contours.setParentItem(self.image)       # drawn in the image's pixel coordinates

        legend = self.plot.addLegend(offset=(8, 8), labelTextColor=style.FOREGROUND,
                                     brush=pg.mkBrush(255, 255, 255, 200))
        legend.addItem(self.path_item, "path of training")
        self._legend = legend
        legend.addItem(pg.ScatterPlotItem(symbol="o", size=10, pen=pg.mkPen("w"),
                                          brush=POINT_COLOR), "current weights")
        self._legend = legend
        # a plot narrower than the legend hides it rather than cutting it ("path of trai")
        self.plot.vb.sigResized.connect(self._fit_legend)

        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=style.sequential_map(),
                                        label="loss (log scale)", interactive=False,
                                        colorMapMenu=False)
        self.colorbar.axis.setWidth(COLORBAR_AXIS_WIDTH)      # room for labels like "1e−05"
        self.colorbar.getAxis("left").setTextPen(style.FOREGROUND)
        self.colorbar.axis.setTextPen(style.FOREGROUND)
        self.graphics.addItem(self.colorbar, row=1, col=1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)

    # -- public API ------------------------------------------------------------------------------

    def _fit_legend(self, *_args) -> None:
        vb = self.plot.vb
        rect = self._legend.boundingRect()
        self._legend.setVisible(rect.width() + 16 <= vb.width()
                                and rect.height() + 16 <= vb.height())

    def legend_shown(self) -> bool:
        """Whether the legend is on the plot (only when it fits whole)."""
        return self._legend.isVisible()

    def legend_labels(self) -> list[str]:
        """The legend's entries, in order."""
        return [label.text for _, label in self._legend.items]

    def legend_inside(self) -> bool:
        """Whether the legend, if shown, lies wholly inside the plot's view box."""
        if not self._legend.isVisible():
            return True
        box = self.plot.vb.mapRectToScene(self.plot.vb.boundingRect())
        return box.contains(self._legend.mapRectToScene(self._legend.boundingRect()))

    @Slot(object)
    def show_snapshot(self, snap: Snapshot) -> None:
        """Take the newest snapshot: move the point, and queue a new slice if the weights moved."""
        arch = (tuple(snap.sizes), tuple(snap.activations))
        new_arch = arch != self._arch
        if new_arch:
            self._arch = arch
            self._trajectory = self._trajectory_passes = None
            self._previous = None               # another network: no path to compare with
            self._path = np.zeros((0, 2))
            if self._weight_axes and not all(axis_fits(a, snap.sizes) for a in self._weight_axes):
                self._weight_axes = None
        self._snap = snap
        self._params = flatten(snap.weights, snap.biases)
        if (self._superseded_at is None and self._requested_params is not None
                and not np.array_equal(self._requested_params, self._params)):
            self._superseded_at = time.perf_counter()
        traj, passes = snap.trajectory, snap.trajectory_passes
        if traj is None and self._arrived is not None and self._arrived[0] == arch:
            traj, passes = self._arrived[1:]    # a newer path than this panel was shown
        if traj is not None and traj.shape[1] == len(self._params) and traj is not self._trajectory:
            self._trajectory = traj
            self._trajectory_passes = passes if passes is not None and len(passes) == len(traj) \
                else None
            self._project_path()
        else:
            self._update_point()
        self._request(now=new_arch, training=snap.running and not new_arch)
        self._update_age()

    def take_trajectory(self, snap: Snapshot) -> None:
        """Every snapshot that arrives, also one this panel is never shown: the path comes only
        now and then, and the last part of a run must not be lost with an unshown snapshot."""
        if snap.trajectory is not None:
            self._arrived = ((tuple(snap.sizes), tuple(snap.activations)), snap.trajectory,
                             snap.trajectory_passes)

    def new_run(self, keep_previous: bool) -> None:
        """A new run starts (a reset, a new network): with ``keep_previous`` the path of the run
        that ends stays drawn, faded, as the previous run (a run with no step keeps the one
        before it); otherwise none is drawn."""
        arrived = self._arrived
        traj = arrived[1] if arrived is not None and arrived[0] == self._arch else self._trajectory
        if not keep_previous:
            self._previous = None
        elif traj is not None and len(traj) >= 2:
            self._previous = traj
        self._project_path()

    def previous_path(self) -> np.ndarray:
        """The previous run's path as drawn on the shown slice, (K, 2) (empty: none)."""
        x, y = self.previous_item.getData()
        return np.zeros((0, 2)) if x is None else np.column_stack([x, y])

    def set_dataset(self, dataset) -> None:
        """The training data of a :class:`bpviz.engine.data.Dataset` (its X_train, T_train)."""
        self.set_data(dataset.X_train, dataset.T_train)

    def set_data(self, X, T) -> None:
        """The training inputs X (N, n_in) and targets T (N, n_out) the loss is evaluated on."""
        self._data = (_frozen(X), _frozen(T))
        self._data_version += 1
        self._request(now=True)

    def set_axes(self, edges) -> None:
        """Show two parameters: ``[("W", layer, i, j), ("W", layer, i, j)]`` (or "b", layer, 0, j).

        ``layer`` is the weights array index. Switches the mode to two weights.
        """
        if len(edges) != 2:
            raise ValueError(f"a slice needs exactly two axes, got {len(edges)}")
        axes = tuple(parameter_axis(*edge) for edge in edges)
        if axes[0] == axes[1]:
            raise ValueError(f"both axes are {axes[0].label()}; choose two different parameters")
        if self._arch is not None:
            for axis in axes:
                if not axis_fits(axis, self._arch[0]):
                    raise ValueError(f"{axis.label()} is not a parameter of this network")
        self._weight_axes = axes
        self._set_mode(self.mode_combo.findData("weights"))

    def axes(self) -> tuple[Axis, Axis] | None:
        """The axes the next slice is computed on (None before the first snapshot)."""
        if self._mode == "random":
            return RANDOM_AXES
        if self._mode == "pca":
            return PCA_AXES
        if self._weight_axes is not None:
            return self._weight_axes
        return default_weight_axes(self._arch[0]) if self._arch else None

    def set_mode(self, mode: str) -> None:
        """"weights", "random" or "pca" (as the combo box)."""
        index = self.mode_combo.findData(mode)
        if index < 0:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self._set_mode(index)

    def mode(self) -> str:
        return self._mode

    def current_slice(self) -> SurfaceSlice | None:
        """The slice drawn last (None before the first)."""
        return None if self._shown is None else self._shown.slice

    def title_text(self) -> str:
        """The plot's title as shown ('' before the first slice)."""
        return self.title.text.replace("\u00a0", " ")

    def current_result(self) -> SliceResult | None:
        """The result drawn last, with its image, levels, contours and projection."""
        return self._shown

    def shown_pass(self) -> int | None:
        """The pass whose weights the slice drawn is through (None before the first slice)."""
        return self._shown_pass if self._shown is not None else None

    def age_text(self) -> str:
        """What the panel says about the slice's age: "slice from pass N (now M)" while the slice
        drawn has been older than the current weights for :data:`STALE_AFTER_S` or more, else
        ''."""
        return self.age_label.text() if not self.age_label.isHidden() else ""

    def drag_held_back(self) -> bool:
        """True while a dragged position is held back by the rate limit, to be sent later."""
        return self._drag_proxy.timer.isActive()

    def is_idle(self) -> bool:
        """True when nothing is being computed or waiting to be (every change is drawn)."""
        return self._in_flight is None and not self._dirty

    def point_widget_pos(self) -> QPoint:
        """Where the current point is, in the coordinates of ``self.graphics.viewport()``."""
        scene = self.plot.vb.mapViewToScene(self.marker.pos())
        return self.graphics.mapFromScene(scene)

    def stop(self) -> None:
        """Cancel the computation, quit the surface thread and wait for it; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._refresh_timer.stop()
        self._stale_timer.stop()
        self._drag_proxy.disconnect()             # nothing held back goes out any more
        if self._in_flight is not None:
            self._in_flight.cancel.set()
        self._in_flight = None
        self._dirty = False
        self.worker_thread.quit()
        self.worker_thread.wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    # -- requests ----------------------------------------------------------------------------------

    def _request_key(self):
        """What a slice depends on besides the weights: axes, architecture, data."""
        return (self.axes(), self._arch, self._data_version)

    def _request(self, *, now: bool = False, training: bool = False) -> None:
        """Ask for a slice at the newest weights, if anything it depends on changed.

        ``now``: at once (axes, data or architecture changed). ``training``: after the running
        request, at most every :data:`TRAINING_REFRESH_S`. Otherwise (paused, e.g. a dragged
        weight): at most every :data:`PAUSED_REFRESH_S`, cancelling the running request.
        """
        if self._stopped or self._snap is None or self._data is None:
            return
        if (self._requested_key == self._request_key()
                and np.array_equal(self._requested_params, self._params)
                and (training or self._requested_full)):   # paused: the full slice follows
            self._dirty = False
            return
        self._dirty = True
        self._pending_training = training
        if training and self._in_flight is not None:
            running = time.perf_counter() - self._last_submit
            if not (self._in_flight.full and running > TRAINING_FULL_S):
                return                                # _on_done comes back here
            # a full slice too slow to keep up (training started during it): a quick one instead
            self._full_busy = max(self._full_busy, running)
            now = True
        interval = (0.0 if now else
                    max(TRAINING_REFRESH_S, min(self._last_busy / TRAINING_DUTY,
                                                self._last_busy + TRAINING_REST_S)) if training
                    else PAUSED_REFRESH_S)
        wait = interval - (time.perf_counter() - self._last_submit)
        if wait <= 0:
            self._refresh_timer.stop()
            self._submit()
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start(int(wait * 1000) + 1)

    @Slot()
    def _on_refresh_timer(self) -> None:
        if self._dirty and not (self._pending_training and self._in_flight is not None):
            self._submit()

    def _submit(self) -> None:
        """Cancel the running request and queue one for the newest snapshot.

        The preview is skipped only for a training refresh of a slice already shown in full.
        """
        snap, (X, T) = self._snap, self._data
        self._dirty = False
        shown_full = self._shown is not None and self._shown.final
        same = self._shown is not None and self._shown_key == self._request_key()
        preview = not (self._pending_training and shown_full and same) and not (
            same and not shown_full and np.array_equal(self._shown_params, self._params))
        # a full slice too slow to keep up with training: the quick one only, while training
        full = not (self._pending_training and self._full_busy > TRAINING_FULL_S)
        if X.shape[1] != snap.sizes[0] or T.shape[1] != snap.sizes[-1]:
            self.status.setText(f"the training data ({X.shape[1]} inputs, {T.shape[1]} targets) do "
                                f"not fit the network {'-'.join(map(str, snap.sizes))}")
            return
        if self._in_flight is not None:
            self._in_flight.cancel.set()
        req = SliceRequest.from_snapshot(self._next_id, snap, X, T, self.axes(), self._trajectory,
                                         preview, parallel=not self._pending_training, full=full)
        self._next_id += 1
        self._in_flight = req
        self._requested_key = self._request_key()
        self._requested_params = self._params
        self._requested_full = full
        self._superseded_at = None
        self._last_submit = time.perf_counter()
        self._computeRequested.emit(req)

    # -- results (queued from the worker) ----------------------------------------------------------

    @Slot(object)
    def _on_result(self, result: SliceResult) -> None:
        if self._in_flight is None or result.request_id != self._in_flight.id:
            return                                    # stale: a newer request superseded it
        self._draw(result)

    @Slot(object)
    def _on_failed(self, payload) -> None:
        request_id, message = payload
        if self._in_flight is not None and request_id == self._in_flight.id:
            self.status.setText(message)

    @Slot(object)
    def _on_done(self, request_id) -> None:
        if self._in_flight is None or request_id != self._in_flight.id:
            return
        self._in_flight = None
        self._last_busy = time.perf_counter() - self._last_submit
        if self._dirty:                               # changed while computing (training)
            self._request(training=self._pending_training)

    def _draw(self, result: SliceResult) -> None:
        slc = result.slice
        self._shown = result
        self._shown_key = self._requested_key
        self._shown_params = self._requested_params
        self._shown_pass = self._in_flight.pass_count
        self._stale_since = self._superseded_at      # when the weights moved on from this slice
        if result.final:
            self._full_busy = time.perf_counter() - self._last_submit
        dx, dy = slc.xs[1] - slc.xs[0], slc.ys[1] - slc.ys[0]
        self.image.setImage(result.image, levels=result.levels, autoLevels=False)
        self.image.setRect(QRectF(slc.xs[0] - dx / 2, slc.ys[0] - dy / 2,
                                  len(slc.xs) * dx, len(slc.ys) * dy))
        self.colorbar.setLevels(result.levels)
        self.colorbar.axis.setTicks([loss_ticks(result.levels)])   # the image holds log10(loss)
        self.contours.setData(result.contours[:, 0], result.contours[:, 1], connect="pairs")
        what = (MODES["weights"] if slc.axis_x.is_parameter and slc.axis_y.is_parameter
                else "random directions" if slc.axis_x.kind == "random" else MODES["pca"])
        draggable = slc.axis_x.is_parameter and slc.axis_y.is_parameter
        # labels, title and tips only when they change: each new text lays the plot out again
        # (several milliseconds, while training every slice would pay it)
        texts = (slc.axis_x.label(), slc.axis_y.label(),
                 # the sample count wraps as a whole, after the comma
                 f"loss over {what}, "
                 + samples_text(slc.n_samples, result.n_total).replace(" ", "\u00a0")
                 + ("" if result.final else " (preview)"), draggable)
        if texts != self._texts:
            self._texts = texts
            self.plot.setLabel("bottom", texts[0])
            self.plot.setLabel("left", texts[1])
            self.title.setText(texts[2])
            self.marker.setToolTip("drag to set these two parameters" if draggable else
                                   "the current weights (a direction is not one parameter: "
                                   "dragging is off)")
        self.marker.movable = draggable
        status = self._status_text(result)
        if status != self.status.text():
            self.status.setText(status)
            self.status.setToolTip(status)      # in case two lines do not hold it all
        self._project_path()
        if not self.marker.moving:
            self._fit_view()
        self._update_age()
        self.sliceShown.emit(slc)

    @Slot()
    def _update_age(self) -> None:
        """Say "slice from pass N (now M)" once the slice drawn has been older than the weights
        for :data:`STALE_AFTER_S`; nothing while it is of the current weights."""
        snap = self._snap
        if (self._shown is None or snap is None or self._params is None
                or np.array_equal(self._shown_params, self._params)):
            self._stale_since = None
            self._stale_timer.stop()
            self.age_label.hide()
            return
        now = time.perf_counter()
        if self._stale_since is None:
            self._stale_since = now
        left = STALE_AFTER_S - (now - self._stale_since)
        if left > 0:
            if not self._stale_timer.isActive():
                self._stale_timer.start(int(left * 1000) + 1)
            return
        text = (f"slice from pass {self._shown_pass:,} (now {snap.pass_count:,})"
                if self._shown_pass != snap.pass_count else
                "slice from weights before they were changed")
        if text != self.age_label.text():
            self.age_label.setText(text)
            self.age_label.adjustSize()
            self.age_label.move(4, 4)
            self.age_label.setToolTip(
                "The loss surface was computed at older weights; the red point shows the current "
                "weights on it. A slice of the current weights is on its way.")
        self.age_label.show()

    def _status_text(self, result: SliceResult) -> str:
        notes = [result.note] if result.note else []
        bad = int(np.count_nonzero(~np.isfinite(result.slice.loss)))
        if bad:
            notes.append(f"{bad} grid points have no finite loss (diverged): drawn "
                         f"transparent (NaN) or at the top colour (inf)")
        if not result.final:
            notes.append("computing the full slice…" if self._requested_full else
                         "a quick slice while training (the full one is slow); the full slice "
                         "when training pauses")
        return "; ".join(notes)

    def _fit_view(self) -> None:
        if self._shown is None:
            return
        slc = self._shown.slice
        dx, dy = slc.xs[1] - slc.xs[0], slc.ys[1] - slc.ys[0]
        self.plot.setRange(xRange=(slc.xs[0] - dx / 2, slc.xs[-1] + dx / 2),
                           yRange=(slc.ys[0] - dy / 2, slc.ys[-1] + dy / 2), padding=0)

    def _project_path(self) -> None:
        """Project the newest trajectory (thinned) onto the shown slice's axes."""
        result, traj = self._shown, self._trajectory
        if result is None or traj is None or traj.shape[1] != result.n_parameters:
            self._path, self._path_passes = np.zeros((0, 2)), np.zeros(0)
        else:
            kept = thin_path(np.arange(len(traj)))
            self._path = result.coordinates(traj[kept])
            passes = self._trajectory_passes
            self._path_passes = (np.asarray(passes, float)[kept] if passes is not None
                                 else np.arange(len(kept), dtype=float))   # unknown: all passes
        previous = self._previous
        shown = (result is not None and previous is not None
                 and previous.shape[1] == result.n_parameters)
        path = result.coordinates(thin_path(previous)) if shown else np.zeros((0, 2))
        self.previous_item.setData(path[:, 0], path[:, 1])
        if shown != any(label.text == "previous run" for _, label in self._legend.items):
            if shown:
                self._legend.addItem(self.previous_item, "previous run")
            else:
                self._legend.removeItem(self.previous_item)
        self._update_point()

    def _update_point(self) -> None:
        """Place the current point, and end the path there (its last segment highlighted)."""
        result = self._shown
        if result is None or self._params is None or len(self._params) != result.n_parameters:
            return
        point = result.coordinates(self._params)
        path, passes = self._path, self._path_passes
        if not len(path) or not np.allclose(path[-1], point):
            path = np.vstack([path, point])
            # no pass since the last recorded point: the weights were set, not trained
            now = float(self._snap.pass_count) if self._snap is not None else np.inf
            passes = np.append(passes, now if not len(passes) or now != passes[-1] else passes[-1])
        # a point recorded after the same pass as the one before it: weights set by hand
        jumps = np.flatnonzero(np.diff(passes) == 0) + 1 if len(passes) == len(path) else []
        self.path_item.setData(path[:, 0], path[:, 1], breaks=jumps)
        pairs = np.array([path[k - 1:k + 1] for k in jumps]).reshape(-1, 2)
        self.jump_item.setData(pairs[:, 0], pairs[:, 1])
        self._show_jump_legend(len(jumps) > 0)
        last = len(path) - 1
        if last >= 1 and last in set(int(k) for k in jumps):
            self.last_step.setData([], [])     # the last move was not a step of training
        else:
            self.last_step.setData(path[-2:, 0], path[-2:, 1])
        if not self.marker.moving:
            self.marker.setPos(float(point[0]), float(point[1]))
        self.marker.show()

    def _show_jump_legend(self, shown: bool) -> None:
        if shown != any(label.text == JUMP_LABEL for _, label in self._legend.items):
            if shown:
                self._legend.addItem(self.jump_item, JUMP_LABEL)
            else:
                self._legend.removeItem(self.jump_item)
            self._fit_legend()

    def path_jumps(self) -> np.ndarray:
        """The jumps drawn (weights set by hand, not trained), (K, 2, 2): from, to."""
        x, y = self.jump_item.getData()
        if x is None or not len(x):
            return np.zeros((0, 2, 2))
        return np.column_stack([x, y]).reshape(-1, 2, 2)

    def path_lines(self) -> int:
        """How many pieces the path of training is drawn in (a jump starts a new one)."""
        return self.path_item.line_count()

    # -- axes --------------------------------------------------------------------------------------

    def _set_mode(self, index: int) -> None:
        """Select combo entry ``index`` without echo, and apply it."""
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(index)
        self.mode_combo.blockSignals(False)
        self._on_mode_index(index)

    @Slot(int)
    def _on_mode_index(self, index: int) -> None:
        self._mode = self.mode_combo.itemData(index)
        self._request(now=True)

    # -- dragging the current point ----------------------------------------------------------------

    @Slot(object)
    def _on_marker_moved(self, _item) -> None:
        if not self.marker.moving:                    # moved by a snapshot, not by the mouse
            return
        self._pointDragged.emit()

    @Slot(object)
    def _on_marker_released(self, _item) -> None:
        self._pointDragged.emit()                     # the final position, now
        self._drag_proxy.flush()
        self._fit_view()

    def _emit_drag(self, _args=()) -> None:
        """Emit ``parametersDragged`` for where the point is now."""
        if self._shown is None:
            return
        slc = self._shown.slice
        pos = self.marker.pos()
        changes = []
        for axis, value in ((slc.axis_x, pos.x()), (slc.axis_y, pos.y())):
            kind, i = ("W", axis.i) if axis.kind == "weight" else ("b", 0)
            changes.append((kind, axis.layer, i, axis.j, float(value)))
        self.parametersDragged.emit(changes)
