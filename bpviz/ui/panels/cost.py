"""The cost curve: loss and accuracy per epoch, with the loss of every pass behind them, and beside
them the size of every layer's gradient.

Three plots share the epoch axis. The upper left one shows the training loss and the test loss of
every epoch (the history row of epoch e is evaluated at the weights at the *start* of epoch e)
and, as a faint thin line behind them, the batch loss of every pass, at x = epoch + k /
passes-per-epoch. The lower left one shows training and test accuracy; for regression it stays
empty with a note. The right one shows, on a logarithmic axis, the gradient norm of every layer l
as the history holds it: ‖(∂L/∂W[l] + λ·W[l], ∂L/∂b[l])‖, the norm of the layer's whole
gradient, weights and biases together, over the whole training set at the weights that start
the epoch (with the L2 term λ·W[l] the optimizer follows; none when L2 is 0). One curve per
layer, from dark (next to the input) to light (the output layer): in a deep sigmoid network the
curves of the early layers lie below the later ones, often by decades: that is what "vanishing
gradients" means. A norm of exactly 0 (a dead layer: no gradient at all) has no place on a log
axis; it is drawn on a floor a decade below the smallest norm's decade (a dashed line labelled
"0 (dead)", its tick on the axis reading 0, no other tick within half a decade above it), the
layer's curve dropping to it and a marker on every such epoch, so the most extreme vanishing
gradient never looks like missing data (:meth:`CostView.zero_floor`).

Feeding: the window calls :meth:`CostView.ingest` for *every* snapshot it receives (cheap: the new
history rows and pass losses are appended to buffers), :meth:`CostView.show_snapshot` when it paints
(only the newest snapshot, while training at most 10 times a second: ``setData`` on items created
once) and :meth:`CostView.clear` when a new run starts (a new network, a new dataset and Reset all
rebuild the trainer, and the window clears this panel then).

Ranges: the view follows the data in steps (:meth:`CostView._follow_data`). A new run starts
fitted to its own data: :meth:`CostView.clear` forgets the old ranges, resumes following if a zoom
by hand had stopped it, and turns off a log scale that was switched on by itself. The loss axis
switches to a log scale by itself when a loss climbs more than :data:`AUTO_LOG_GROWTH` times above
the run's first loss (a diverging run, whose huge losses would otherwise flatten the rest of the
curve against zero); the "log scale" box shows it, and the next run starts linear again. Once the
box is set by hand, that choice stays, also for later runs. Values that are not finite are left
out of every range. Axes label their ticks in the data's own units (:class:`PlainAxis`): no SI
prefix, no "(x0.001)" factor in the label.

The hover readout (a dashed line at the nearest epoch on every plot, and a box with that epoch's
values next to the mouse) goes when the mouse leaves the plots or the panel, and is never part of
an exported picture: its items hide themselves while pyqtgraph's export mode is on, which every
PNG, SVG and GIF export of this panel sets (:class:`HiddenInExport`).

Legends (:class:`FittedLegend`) sit in a corner of their plot and are always wholly inside it:
when the full labels do not fit they go to more columns, then to short labels, and when nothing
fits the legend hides rather than being cut off. The gradient plot's range leaves room for its
legend above the points at the epochs the legend spans, so that it does not cover the curves
(in a very small panel it still may).

Kept runs: *Keep this run* (the Train menu) keeps the train loss of the run shown on the loss
plot, dashed, in a colour of its own and behind the run being trained, labelled with what
differs between the kept runs and the run in force ("kept: η = 0.05"; :mod:`bpviz.engine.runs`).
They stay through resets and new networks, until *Forget kept runs*.

Memory stays bounded on long runs: every series keeps at most ``max_points`` points (default
:data:`MAX_POINTS`, 6,000: several per pixel of a wide panel, and cheap to redraw every
frame; a layer's gradient norm a quarter of that). A series is a *coarse* stretch (the older
points, thinned) followed by a *raw* stretch (the newer points, every one kept). When the series
grows past the cap, the older half of the raw stretch moves into the coarse stretch, thinned with
a min/max scheme: each bucket of ``block`` consecutive points keeps only its smallest and its
largest value, so spikes and the overall shape survive. When the coarse stretch fills half the
cap, it is itself thinned by two (buckets of four kept points keep two) and ``block`` doubles, so
the whole coarse stretch has about one resolution however long the run. The very first point is
never thinned, nor is the newest quarter of the cap, nor any global minimum or maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from bpviz.engine.data import CLASSIFICATION
from bpviz.engine.runs import differences, differing
from bpviz.engine.snapshot import Snapshot
from bpviz.engine.vocabulary import STEPS_FINE, nice_ceiling as _nice_ceiling

from ..plotting import style

MAX_POINTS = 6_000
BUCKET = 4             # the first block size, and the thinning of the coarse stretch

PLOT_LIMIT = 1e30          # larger values (a diverging run) are drawn at this height
HISTORY_SERIES = ("loss", "test_loss", "accuracy", "test_accuracy")   # history_header columns
SERIES = HISTORY_SERIES + ("pass_loss",)
SERIES_ORDER = ("loss", "test_loss", "pass_loss", "accuracy", "test_accuracy",   # legend order
                "previous")

LABELS = {"loss": "train loss", "test_loss": "test loss", "pass_loss": "batch loss (per pass)",
          "accuracy": "train accuracy", "test_accuracy": "test accuracy",
          "previous": "previous run (train loss)"}
SHORT_LABELS = {"loss": "train", "test_loss": "test", "pass_loss": "per pass",
                "accuracy": "train", "test_accuracy": "test", "previous": "previous"}
PREVIOUS_COLOR = (148, 163, 184, 170)    # the run before a reset: faded, behind the others
MUTED = (148, 163, 184)
REGRESSION_NOTE = "accuracy applies to classification; this is a regression task"
# titles from the longest to the shortest: each plot shows the longest its width allows
GRADIENT_TITLES = ("gradient norm per layer, whole training set, ‖∂L/∂W[l] + λW[l], ∂L/∂b[l]‖",
                   "gradient norm per layer, whole training set", "gradient norm per layer",
                   "gradient norms")
REGRESSION_NOTES = (REGRESSION_NOTE, "no accuracy: a regression task", "regression")
GRADIENT_AXIS = "norm (log scale)"
TITLE_SIZE = "9pt"
GRAD_PREFIX = "grad_norm_"      # history columns grad_norm_1 .. grad_norm_L; also series names
ZERO_LABEL = "0 (dead)"    # how the gradient plot names a norm of exactly 0, drawn on its floor
ZERO_FLOOR_DECADES = 1.0   # the floor: this many decades below the decade of the smallest norm
ZERO_FLOOR_EMPTY = -3.0    # log10 of the floor when no norm is above 0
GRAD_POINTS_SHARE = 4      # a layer's gradient curve keeps max_points / 4 points (1,500): several
                           # per pixel of its narrower plot, and a deep network stays cheap to draw

AUTO_LOG_GROWTH = 100.0    # a loss this many times the run's first one turns the log scale on
MIN_SPAN = 0.1             # a flat loss curve gets a y range of at least 10% of its value
MIN_DECADES = 0.5          # and the gradient plot at least half a decade
AXIS_WIDTH = 56            # every y axis equally wide: the epoch axes stay aligned
COLUMN_STRETCH = (11, 9)   # the loss and accuracy column, the gradient column
MINUS = "\u2212"


def decimate_minmax(y: np.ndarray, start: int, stop: int, bucket: int = BUCKET) -> np.ndarray:
    """Indices of the points to keep when points ``start:stop`` of ``y`` are thinned by buckets.

    Points ``start:stop`` are cut into buckets of ``bucket``; each keeps the index of its smallest
    and of its largest value (NaN counts as neither; an all-NaN bucket keeps its first point, so
    that a gap stays a gap). A last partial bucket and every point outside ``start:stop`` are
    kept. The indices are sorted, so the kept points stay in x order.
    """
    n_buckets = (stop - start) // bucket
    end = start + n_buckets * bucket
    block = y[start:end].reshape(n_buckets, bucket)
    nan = np.isnan(block)
    lo = np.argmin(np.where(nan, np.inf, block), axis=1)
    hi = np.argmax(np.where(nan, -np.inf, block), axis=1)
    base = start + bucket * np.arange(n_buckets)
    kept = np.unique(np.concatenate([base + lo, base + hi]))
    return np.concatenate([np.arange(start), kept, np.arange(end, len(y))])


class SeriesBuffer:
    """A growing (x, y) series that never holds more than ``cap`` points (see the module doc)."""

    def __init__(self, cap: int = MAX_POINTS):
        if cap < 4 * BUCKET:
            raise ValueError(f"a series needs room for at least {4 * BUCKET} points, got {cap}")
        self.cap = cap
        self._x = np.empty(1024)
        self._y = np.empty(1024)
        self.n = 0
        self.coarse = 1          # points 0 .. coarse−1 are thinned (the first point stays as is)
        self.block = BUCKET      # raw points per bucket when they move into the coarse stretch

    def append(self, x, y) -> None:
        x = np.asarray(x, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        m = len(x)
        if self.n + m > len(self._x):
            size = max(2 * len(self._x), self.n + m)
            self._x = np.concatenate([self._x[:self.n], np.empty(size - self.n)])
            self._y = np.concatenate([self._y[:self.n], np.empty(size - self.n)])
        self._x[self.n:self.n + m] = x
        self._y[self.n:self.n + m] = y
        self.n += m
        while self.n > self.cap:
            self._compact()

    def _compact(self) -> None:
        """Move the older half of the raw stretch into the coarse one; thin that when it is full.

        Each call frees at least an eighth of the cap (the raw stretch then holds more than half
        of it, and a bucket of four or more keeps two), so a few calls always suffice.
        """
        half = (self.n - self.coarse) // 2
        bucket = min(self.block, half)     # a block wider than that only after ~cap²/16 points
        end = self.coarse + half // bucket * bucket
        self._keep(decimate_minmax(self._y[:self.n], self.coarse, end, bucket), end)
        while self.coarse > self.cap // 2:
            self._keep(decimate_minmax(self._y[:self.n], 1, self.coarse), self.coarse)
            self.block *= 2

    def _keep(self, keep: np.ndarray, coarse_end: int) -> None:
        """Keep points ``keep``; those before old index ``coarse_end`` form the coarse stretch."""
        self.coarse = int(np.searchsorted(keep, coarse_end))
        self.n = len(keep)
        self._x[:self.n] = self._x[keep]
        self._y[:self.n] = self._y[keep]

    def truncate(self, x_end: float) -> None:
        """Drop every point at x ≥ ``x_end`` (a rewind: what followed is undone)."""
        self.n = int(np.searchsorted(self._x[:self.n], x_end, side="left"))
        self.coarse = min(self.coarse, max(self.n, 1))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of (x, y): safe to hand to a plot item while this buffer keeps changing."""
        return self._x[:self.n].copy(), self._y[:self.n].copy()

    def nearest(self, x: float) -> int | None:
        """Index of the point whose x is nearest ``x`` (x is ascending), or None when empty."""
        if self.n == 0:
            return None
        xs = self._x[:self.n]
        i = int(np.clip(np.searchsorted(xs, x), 1, max(self.n - 1, 1)))
        return i - 1 if self.n == 1 or abs(xs[i - 1] - x) <= abs(xs[i] - x) else i

    def value(self, i: int) -> tuple[float, float]:
        return float(self._x[i]), float(self._y[i])


def _fmt(v: float) -> str:
    return style.format_value(v) if np.isfinite(v) else "—"


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7.5 × 10^k that is at least ``x`` (> 0)."""
    return _nice_ceiling(x, STEPS_FINE)


def layer_label(sizes, l: int) -> str:
    """How the legend names layer ``l`` (1..L) of a network of ``sizes``: "layer 1 (input→h1)"."""
    last = len(sizes) - 1
    src = "input" if l == 1 else f"h{l - 1}"
    dst = "output" if l == last else f"h{l}"
    return f"layer {l} ({src}→{dst})"


def _plain(v: float, places: int) -> str:
    text = f"{v:.{places}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", MINUS)


def _scientific(v: float, decimals: int) -> str:
    """``v`` as "1.5e18" or "−2e−5": the mantissa with at most ``decimals`` places, trailing
    zeros dropped."""
    if v == 0:
        return "0"
    e = math.floor(math.log10(abs(v)))
    mantissa = f"{v / 10.0 ** e:.{decimals}f}"
    if abs(float(mantissa)) >= 10:                     # 9.96 rounded up to 10.0
        e += 1
        mantissa = f"{v / 10.0 ** e:.{decimals}f}"
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{e}".replace("-", MINUS)


def tick_strings(values, spacing) -> list[str]:
    """Tick labels of a linear axis in the data's own units, with no prefix or common factor.

    Plain decimals with as many places as the tick spacing needs ("0.0002", "0.25", "150000")
    while the largest tick lies between 1e-3 and 1e6 (or the labels need at most 4 places, down
    to 1e-4) and no label is longer than 7 characters; otherwise scientific notation ("2e−5",
    "1.5e18"), each mantissa with the digits the spacing needs. Minus signs are the typographic
    minus.
    """
    values = [float(v) for v in values]
    if not values:
        return []
    spacing = abs(float(spacing)) if spacing else 0.0
    finite = [abs(v) for v in values if math.isfinite(v)]
    big = max(finite) if finite else 0.0
    if spacing <= 0 or not math.isfinite(spacing):
        spacing = big or 1.0
    places = max(0, math.ceil(-math.log10(spacing) - 1e-9))
    plain = [_plain(v, places) for v in values]
    readable = 1e-3 <= big < 1e6 or (1e-4 <= big < 1e-3 and places <= 4)   # ≤ 3 zeros after "."
    if big == 0 or (readable and max(len(s) for s in plain) <= 7):
        return plain
    step = math.floor(math.log10(spacing) + 1e-9)
    out = []
    for v in values:
        if v == 0 or not math.isfinite(v):
            out.append(_plain(v, 0) if math.isfinite(v) else str(v))
            continue
        e = math.floor(math.log10(abs(v)))
        out.append(_scientific(v, min(6, max(0, e - step))))
    return out


def log_tick_strings(exponents, minor: bool = False) -> list[str]:
    """Tick labels of a log axis (the ticks sit at log10 of the values): the values themselves,
    with one significant digit: "0.001", "5", "100", and "1e−5", "2e8" beyond 1e-3 … 1e4. With
    ``minor`` (the ticks between decades) only the 2s and 5s are labelled."""
    out = []
    for v in exponents:
        x = 10.0 ** float(v)
        e = math.floor(float(v) + 1e-9)
        digit = round(x / 10.0 ** e)
        if digit >= 10:
            digit, e = 1, e + 1
        if minor and digit not in (2, 5):
            out.append("")
        elif -3 <= e <= 4:
            out.append(_plain(digit * 10.0 ** e, max(0, -e)))
        else:
            out.append(f"{digit}e{e}".replace("-", MINUS))
    return out


class PlainAxis(pg.AxisItem):
    """An axis that labels its ticks in the data's own units (:func:`tick_strings`,
    :func:`log_tick_strings`); ``style.style_plot`` turns pyqtgraph's automatic SI prefix off
    (it would rewrite the label as "loss (x0.001)" and the ticks as 200 … 800)."""

    MINOR_LOG_LABELS = 1.5   # decades: on a log axis spanning fewer, 2s and 5s are labelled too
    MINOR_LOG_TICKS = 4.0    # decades: on a log axis spanning more, only decades are ticked

    # a log axis with a floor for zeros: log10 of the height where 0 is drawn (None: no floor),
    # ticked "0", with no other tick within half a decade above it
    zero_log: float | None = None

    def set_zero_log(self, value: float | None) -> None:
        """Draw a floor for zeros at log10 height ``value`` (its tick reads 0), or none."""
        if value != self.zero_log:
            self.zero_log = value
            self.picture = None               # the ticks are drawn again
            self.update()

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            minor = spacing is None           # pyqtgraph's ticks between decades
            if minor and abs(self.range[1] - self.range[0]) > self.MINOR_LOG_LABELS:
                return [""] * len(values)
            labels = log_tick_strings(values, minor=minor)
            if self.zero_log is not None:
                labels = ["0" if abs(float(v) - self.zero_log) < 1e-9 else text
                          for v, text in zip(values, labels)]
            return labels
        labels = tick_strings([v * scale for v in values], (spacing or 0) * scale)
        return self._thinned(values, labels, spacing)

    LABEL_GAP = 1.3   # text heights from one label of a vertical axis to the next, at least

    def _thinned(self, values, labels, spacing):
        """On a vertical axis too short for a label at every tick (a cost panel at 1280×720
        stacked "0.8 0.6 0.4 0.2" into one smudge), the labels of every 2nd, 5th or 10th … tick
        only; the ticks themselves stay."""
        span = abs(self.range[1] - self.range[0])
        if self.orientation not in ("left", "right") or not spacing or not span:
            return labels
        gap = spacing * self.geometry().height() / span               # pixels between ticks
        least = self.LABEL_GAP * QFontMetricsF(self.style.get("tickFont") or QFont()).height()
        if gap >= least:
            return labels
        levels = self.tickSpacing(self.range[0], self.range[1], self.geometry().height())
        if levels and spacing < levels[0][0]:
            return [""] * len(values)                 # a minor level: no labels between
        every = next((k for k in (2, 3, 4, 5, 10, 20, 50, 100) if k * gap >= least), 1000)
        # of the ticks whose label fits inside the axis, label every `every`-th, starting where
        # the most of them are labelled
        lo, hi = sorted(self.range)
        margin = 0.5 * least / self.LABEL_GAP * span / self.geometry().height()
        inside = [round(v / spacing) for v in values if lo + margin <= v <= hi - margin]
        start = max(range(every), key=lambda r: sum(1 for n in inside if n % every == r))
        return [text if round(v / spacing) % every == start else ""
                for v, text in zip(values, labels)]

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        """Whole decades (pyqtgraph's levels a decade or more apart, else every decade), and
        between them 2 … 9 × 10^k unless the axis spans many decades."""
        ticks = [(spacing, values) for spacing, values in stdTicks if spacing >= 1.0]
        if not ticks:
            ticks = [(1.0, [float(e) for e in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
        if len(ticks) < 3 and maxVal - minVal <= self.MINOR_LOG_TICKS:
            minor = [e + math.log10(k) for e in range(math.floor(minVal), math.ceil(maxVal))
                     for k in range(2, 10)]
            ticks.append((None, [v for v in minor if minVal < v < maxVal]))
        zero = self.zero_log
        if zero is not None:
            ticks = [(spacing, [v for v in values if v >= zero + 0.5]) for spacing, values in ticks]
            if minVal <= zero <= maxVal:
                ticks[0][1].insert(0, zero)
        return ticks


class HiddenInExport:
    """Mixin for hover aids (a readout box, a line at the mouse): hidden while an exporter
    renders the scene. pyqtgraph's exporters and bpviz's PNG, SVG and GIF exports put every item
    of the scene into export mode while they render, and take it out afterwards."""

    _shown_before_export: bool | None = None

    def setExportMode(self, export, opts=None):
        if export:
            if self._shown_before_export is None:
                self._shown_before_export = self.isVisible()
            self.setVisible(False)
        elif self._shown_before_export is not None:
            self.setVisible(self._shown_before_export)
            self._shown_before_export = None
        return super().setExportMode(export, opts)

    def exporting(self) -> bool:
        return self._shown_before_export is not None


class HoverText(HiddenInExport, pg.TextItem):
    """The hover readout's box."""


class HoverLine(HiddenInExport, pg.InfiniteLine):
    """The hover readout's line at the nearest epoch."""


class FittedLegend(pg.LegendItem):
    """A legend anchored in a corner of a plot's view box that is always wholly inside it.

    The stock legend sizes its frame from its entries' *current* widths, which lag behind a new
    label until the layout runs, so a label could stick out of the frame and be cut off by the
    view box ("batch loss (p"). This one sizes itself from the entries' preferred sizes, and
    whenever its entries or the view box change it takes the first arrangement that fits in its
    ``max_height`` share of the view box's height (else in the whole height): full labels in 1,
    2, … columns, then the short labels likewise. When none fits, it hides.
    """

    MARGIN = 6      # pixels between the legend and the view box's edges

    def __init__(self, corner: str, max_height: float = 1.0, **style_):
        offset = (-self.MARGIN, self.MARGIN if corner == "top" else -self.MARGIN)
        super().__init__(offset=offset, verSpacing=-4, **style_)
        self.layout.setContentsMargins(2, 1, 6, 1)     # the style's default is ~10 px a side
        self.max_height = max_height
        self._labels: list[tuple[str, str]] = []       # (full, short) per entry
        self.full_labels = True

    def set_entries(self, entries) -> None:
        """Show ``entries``, a list of (plot item, full label, short label)."""
        self.clear()
        self._labels = []
        self.columnCount = 1
        for item, full, short in entries:
            self.addItem(item, full)
            self._labels.append((full, short))
        self.full_labels = True
        self.fit()

    def updateSize(self):
        if self.size is not None:
            return
        self.layout.invalidate()
        hint = self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        self.setGeometry(0, 0, hint.width(), hint.height())

    def labels(self) -> list[str]:
        """The texts shown, entry by entry."""
        return [label.text for _, label in self.items]

    def room(self, share: float = 1.0) -> tuple[float, float]:
        """The width and height the legend may take inside its view box (at most ``share`` of
        its height)."""
        parent = self.parentItem()
        if parent is None:
            return 0.0, 0.0
        rect = parent.boundingRect()
        return (rect.width() - 2 * self.MARGIN,
                min(rect.height() - 2 * self.MARGIN, share * rect.height()))

    def _show_labels(self, full: bool) -> None:
        for (_, label), (long_, short) in zip(self.items, self._labels):
            text = long_ if full else short
            if label.text != text:
                label.setText(text)
        self.full_labels = full

    @Slot()
    def fit(self, *_args) -> None:
        if not self.items:
            self.setVisible(False)
            return
        for share in dict.fromkeys((self.max_height, 1.0)):
            width, height = self.room(share)
            for full in (True, False):
                self._show_labels(full)
                for columns in range(1, len(self.items) + 1):
                    self.setColumnCount(columns)
                    self.updateSize()
                    if self.width() <= width + 0.5 and self.height() <= height + 0.5:
                        self.setVisible(True)
                        return
        self.setVisible(False)


class PlotsWidget(pg.GraphicsLayoutWidget):
    """The panel's plots; says when the mouse leaves them or they hide (``left``)."""

    left = Signal()

    def leaveEvent(self, ev):
        super().leaveEvent(ev)
        self.left.emit()

    def hideEvent(self, ev):
        super().hideEvent(ev)
        self.left.emit()


@dataclass(eq=False)
class KeptRun:
    """A run kept on the loss plot: its settings, its train loss per epoch and its curve."""

    settings: dict
    x: np.ndarray
    y: np.ndarray
    item: pg.PlotDataItem
    label: str = ""
    short: str = ""


class CostView(QWidget):
    """Loss and accuracy curves over epochs and the gradient norm of every layer; see the module
    docstring for the feeding protocol."""

    def __init__(self, parent: QWidget | None = None, max_points: int = MAX_POINTS):
        super().__init__(parent)
        self._max_points = max_points
        self._buffers = {name: SeriesBuffer(max_points) for name in SERIES}
        self._dirty: set[str] = set()
        self._task: str | None = None
        self._shown_task: str | None = None
        self._sizes: tuple[int, ...] = ()
        self._grad_sizes = None      # (sizes, zeros drawn) the gradient legend names, or None
        self._hover_pos: QPointF | None = None     # scene position of the mouse over a plot
        self._log_chosen = False                   # the log box was set by hand
        self._log_auto = False                     # ... or switched on by a diverging loss

        self.graphics = PlotsWidget()
        self.graphics.setBackground(style.BACKGROUND)

        def plot(row, col, **kwargs):
            axes = {side: PlainAxis(side) for side in ("left", "bottom")}
            return self.graphics.addPlot(row=row, col=col, axisItems=axes, **kwargs)

        self.loss_plot = plot(0, 0)
        self.accuracy_plot = plot(1, 0)
        self.grad_plot = plot(0, 1, rowspan=2)
        layout = self.graphics.ci.layout
        layout.setRowStretchFactor(0, 3)
        layout.setRowStretchFactor(1, 2)
        for col, stretch in enumerate(COLUMN_STRETCH):
            layout.setColumnStretchFactor(col, stretch)
        self.accuracy_plot.setXLink(self.loss_plot)
        self.grad_plot.setXLink(self.loss_plot)
        self._plots = (self.loss_plot, self.accuracy_plot, self.grad_plot)
        for p, label in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy"),
                         (self.grad_plot, GRADIENT_AXIS)):
            style.style_plot(p)
            p.setLabel("left", label, color=style.FOREGROUND)
            p.getAxis("left").setWidth(AXIS_WIDTH)     # the y axes equally wide: x stays aligned
        for p in (self.accuracy_plot, self.grad_plot):
            p.setLabel("bottom", "epoch", color=style.FOREGROUND)
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)   # the lower plot labels x
        self._titles = {self.grad_plot: GRADIENT_TITLES, self.accuracy_plot: None}
        self.grad_plot.setLogMode(y=True)
        self.accuracy_plot.setYRange(0.0, 1.05, padding=0)
        # The view follows the data in steps (see _follow_data): a range that changed on every
        # frame would rebuild the axes on every frame, the costliest part of this panel. Zooming
        # or panning by hand stops the following; the plot's "A" button resumes it.
        self._following = True
        for p in self._plots:
            p.enableAutoRange(x=False, y=False)
            p.vb.sigRangeChangedManually.connect(self._stop_following)
            p.autoBtn.clicked.connect(self._resume_following)
            # Peak downsampling to a few points per pixel and clipping to the view keep a 6,000-
            # point series cheap to draw. (The plot applies both to its items.)
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)
        self._fit_empty()

        def curve(p, color, antialias=True):
            # 1-px pens: a wider antialiased pen costs ~40× more per point (measured ~130 ms for
            # 6,700 points at width 1.5 against ~3 ms at width 1)
            item = pg.PlotDataItem(pen=pg.mkPen(color=color, width=1), antialias=antialias)
            item.setVisible(False)
            p.addItem(item)
            return item

        self._curve = curve
        # drawn in this order: the faint per-pass line behind the epoch curves
        self._items = {
            "previous": curve(self.loss_plot, PREVIOUS_COLOR),
            "pass_loss": curve(self.loss_plot, style.PASS_COLOR, antialias=False),
            "loss": curve(self.loss_plot, style.TRAIN_COLOR),
            "test_loss": curve(self.loss_plot, style.TEST_COLOR),
            "accuracy": curve(self.accuracy_plot, style.TRAIN_COLOR),
            "test_accuracy": curve(self.accuracy_plot, style.TEST_COLOR),
        }
        self._previous = (np.zeros(0), np.zeros(0))     # the train loss of the run before
        self._kept: list[KeptRun] = []                  # runs kept by "Keep this run"
        # before the first epoch's row: the loss at the starting weights, one point at epoch 0
        self._start: tuple[float, float] | None = None
        self._start_item = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(style.TRAIN_COLOR))
        self._start_item.setVisible(False)
        self.loss_plot.addItem(self._start_item)
        self._grad_items: list[pg.PlotDataItem] = []     # one per layer, made once, then reused
        # norms of exactly 0: a marker per (epoch, layer) on a dashed floor line labelled
        self._zero_marks = pg.ScatterPlotItem(symbol="t", size=9, pen=pg.mkPen(style.FOREGROUND),
                                              brush=pg.mkBrush(style.FOREGROUND))
        self._zero_marks.setZValue(5)
        self._zero_marks.setVisible(False)
        self.grad_plot.addItem(self._zero_marks)
        self._zero_line = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(MUTED, width=1, style=Qt.DashLine),
            label=ZERO_LABEL, labelOpts=dict(position=0.03, anchors=[(0, 1), (0, 1)],
                                             color=style.FOREGROUND))
        self._zero_line.setVisible(False)
        self.grad_plot.addItem(self._zero_line, ignoreBounds=True)
        self._zero_log = ZERO_FLOOR_EMPTY      # log10 of the floor the zeros are drawn on
        self._grad_buffers: list[SeriesBuffer] = []
        self._grad_colored = 0                           # the layer count the pens are set for
        legend_style = dict(labelTextColor=style.FOREGROUND, brush=pg.mkBrush(255, 255, 255, 215),
                            pen=pg.mkPen(226, 232, 240))
        self._legends = {
            self.loss_plot: FittedLegend("top", **legend_style),
            self.accuracy_plot: FittedLegend("bottom", **legend_style),
            self.grad_plot: FittedLegend("top", max_height=0.45, **legend_style),
        }
        for p, legend in self._legends.items():
            legend.setParentItem(p.vb)
            legend.setVisible(False)
            p.vb.sigResized.connect(legend.fit)
        self._legends[self.grad_plot].geometryChanged.connect(self._grad_legend_moved)
        self._grad_key: str | None = None    # the layers named in the title (no room inside)
        self.grad_plot.vb.sigResized.connect(self._fit_grad_key)     # after the legend's fit
        self._in_legend: set[str] = set()

        # hover readout: a vertical line on every plot and a text box in the plot under the mouse
        # (the loss plot for the loss and accuracy plots)
        self._hover_lines = []
        for p in self._plots:
            line = HoverLine(angle=90, movable=False,
                             pen=pg.mkPen(style.FOREGROUND, width=1, style=Qt.DashLine))
            line.setVisible(False)
            p.addItem(line, ignoreBounds=True)
            self._hover_lines.append(line)

        def readout(p):
            # a child of the view box itself, placed in its pixels (and kept inside it), drawn
            # over the curves and the legend
            box = HoverText("", color=style.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 235),
                            border=pg.mkPen(203, 213, 225), anchor=(0, 0))
            box.setVisible(False)
            box.setZValue(30)
            box.setParentItem(p.vb)
            return box

        self._readout = readout(self.loss_plot)
        self._grad_readout = readout(self.grad_plot)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.left.connect(self._hide_readout)

        self._log_box = QCheckBox("log scale")
        self._log_box.setToolTip("Show the loss on a logarithmic axis")
        self._log_box.toggled.connect(self._apply_log_scale)
        self._log_box.clicked.connect(self._log_set_by_hand)
        # the plot's own context menu can switch log mode too: keep the box in step with it
        self.loss_plot.ctrl.logYCheck.toggled.connect(self._log_box.setChecked)
        self.loss_plot.ctrl.logYCheck.clicked.connect(self._log_set_by_hand)

        controls = QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addStretch(1)
        controls.addWidget(self._log_box)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(controls)
        box.addWidget(self.graphics, 1)
        self._fit_titles()

    # -- feeding -----------------------------------------------------------------------------

    def ingest(self, snap: Snapshot) -> None:
        """Append what happened since the previous snapshot; call this for every snapshot."""
        self._task = snap.task
        header = list(snap.history_header)
        grad_columns = [k for k, name in enumerate(header) if name.startswith(GRAD_PREFIX)]
        if tuple(snap.sizes) != self._sizes or len(grad_columns) != len(self._grad_buffers):
            self._sizes = tuple(snap.sizes)
            cap = max(4 * BUCKET, self._max_points // GRAD_POINTS_SHARE)
            self._grad_buffers = [SeriesBuffer(cap) for _ in grad_columns]
            self._dirty.add(GRAD_PREFIX)
        if snap.rewound_to is not None:           # the run went back: drop what followed
            self._buffers["pass_loss"].truncate(snap.rewound_to)
            for buf in [self._buffers[name] for name in HISTORY_SERIES] + self._grad_buffers:
                buf.truncate(snap.history_length - len(snap.new_history))
            self._dirty.update(self._buffers)
            self._dirty.add(GRAD_PREFIX)
        rows = np.asarray(snap.new_history)
        if len(rows):
            epochs = rows[:, header.index("epoch")]
            for name in HISTORY_SERIES:
                self._buffers[name].append(epochs, rows[:, header.index(name)])
                self._dirty.add(name)
            for buf, k in zip(self._grad_buffers, grad_columns):
                buf.append(epochs, rows[:, k])
            self._dirty.add(GRAD_PREFIX)
        if len(snap.new_pass_losses):
            self._buffers["pass_loss"].append(snap.new_pass_positions, snap.new_pass_losses)
            self._dirty.add("pass_loss")
        start = None
        if snap.pass_count == 0 and snap.history_length == 0 and np.isfinite(snap.loss) \
                and abs(snap.loss) < PLOT_LIMIT:
            start = (0.0, float(snap.loss))
        elif self._start is not None and not self._buffers["loss"].n \
                and not self._buffers["pass_loss"].n:
            start = self._start          # nothing else to draw yet
        if start != self._start:
            self._start = start
            self._dirty.add("start")

    @Slot(object)
    def show_snapshot(self, snap: Snapshot | None = None) -> None:
        """Repaint the curves from the buffers (``snap`` only tells the task if nothing was
        ingested yet)."""
        if self._task is None and snap is not None:
            self._task = snap.task
        if self._task != self._shown_task:
            self._show_task(self._task)
        gradients = GRAD_PREFIX in self._dirty
        if gradients:
            self._dirty.discard(GRAD_PREFIX)
            self._show_gradients()
        if "start" in self._dirty:
            self._dirty.discard("start")
            self._start_item.setData(*([[v] for v in self._start] if self._start else ([], [])))
            self._start_item.setVisible(self._start is not None)
        for name in sorted(self._dirty):
            x, y = self._buffers[name].arrays()
            # pyqtgraph builds paths in float32 arithmetic: keep a diverging loss drawable
            y = np.clip(y, -PLOT_LIMIT, PLOT_LIMIT)
            item = self._items[name]
            item.setData(x, y, connect="finite", skipFiniteCheck=False)
            accuracy = name in ("accuracy", "test_accuracy")
            self._set_drawn(name, bool(np.isfinite(y).any())
                            and not (accuracy and self._is_regression()))
        self._dirty.clear()
        if self._following:
            self._follow_data(gradients=gradients)
        if self._hover_pos is not None:
            self._update_readout(self._hover_pos)

    def _show_gradients(self) -> None:
        """setData on one curve per layer (made the first time a network has that many layers,
        hidden when a later network has fewer); the legend names the layers of this network."""
        n = len(self._grad_buffers)
        while len(self._grad_items) < n:
            self._grad_items.append(self._curve(self.grad_plot, style.FOREGROUND))
        if n != self._grad_colored:                   # the colours depend on the layer count
            self._grad_colored = n
            for item, color in zip(self._grad_items, gradient_colors(n)):
                item.setPen(pg.mkPen(color=color, width=1))
        self._zero_log = self._zero_floor_log()
        floor = 10.0 ** self._zero_log
        zeros = []                     # (x, floor, layer index) of every norm of exactly 0
        colors = gradient_colors(n) if n else []
        for l, item in enumerate(self._grad_items):
            if l >= n:
                item.setData([], [])
                item.setVisible(False)
                continue
            x, y = self._grad_buffers[l].arrays()
            # a log axis cannot show 0 (a layer whose gradient is exactly zero): on the floor
            dead = y == 0
            zeros += [(xi, l) for xi in x[dead]]
            y = np.where(y > 0, np.minimum(y, PLOT_LIMIT), np.where(dead, floor, np.nan))
            item.setData(x, y, connect="finite", skipFiniteCheck=False)
            item.setVisible(bool(np.isfinite(y).any()))
        if zeros:
            self._zero_marks.setData(
                x=[z[0] for z in zeros], y=[self._zero_log] * len(zeros),
                brush=[pg.mkBrush(colors[z[1]]) for z in zeros], data=[z[1] + 1 for z in zeros])
            self._zero_line.setPos(self._zero_log)
        else:
            self._zero_marks.setData(x=[], y=[])
        self._zero_marks.setVisible(bool(zeros))
        self._zero_line.setVisible(bool(zeros))
        self.grad_plot.getAxis("left").set_zero_log(self._zero_log if zeros else None)
        shown = any(i.isVisible() for i in self._grad_items)
        drawn = (tuple(self._sizes), bool(zeros)) if n and shown else None
        if drawn != self._grad_sizes:
            self._grad_sizes = drawn
            entries = [] if drawn is None else [
                (self._grad_items[l], layer_label(self._sizes, l + 1), f"layer {l + 1}")
                for l in range(n)]
            if zeros:
                entries.append((self._zero_marks, ZERO_LABEL, "0"))
            self._legends[self.grad_plot].set_entries(entries)
            self._fit_grad_key()

    def _zero_floor_log(self) -> float:
        """log10 of where a norm of 0 is drawn: a decade below the smallest norm above 0."""
        lows = []
        for buf in self._grad_buffers:
            _, y = buf.arrays()
            y = y[np.isfinite(y) & (y > 0)]
            if len(y):
                lows.append(float(np.log10(y.min())))
        if not lows:
            return ZERO_FLOOR_EMPTY
        return math.floor(min(lows) + 1e-9) - ZERO_FLOOR_DECADES

    def _fit_empty(self) -> None:
        """The ranges of a panel with no data yet."""
        self.loss_plot.setXRange(0.0, 1.0, padding=0)
        self.loss_plot.setYRange(0.0, 1.0, padding=0)
        self.grad_plot.setYRange(-3.0, 0.0, padding=0)
        self.accuracy_plot.setYRange(0.0, 1.05, padding=0)

    def _follow_data(self, force: bool = False, auto_log: bool = True,
                     gradients: bool = True) -> None:
        """Fit the view to the data, changing the range only when the data leave it or fill
        too little of it: x grows in 1-1.5-2-3-5-7.5 steps, y to the data and a margin. With
        ``auto_log``, a diverging loss may turn the log scale on first. The gradient plot's
        range is looked at when ``gradients`` (new gradient rows arrived) or ``force``."""
        xs, ys = [], []
        for name in ("pass_loss", "loss", "test_loss", "accuracy", "test_accuracy"):
            x, y = self._buffers[name].arrays()
            if len(x):
                xs.append(x[-1])
                if name in ("pass_loss", "loss", "test_loss"):
                    ys.append(y[np.isfinite(y) & (np.abs(y) < PLOT_LIMIT)])
        if self._start is not None:
            xs.append(self._start[0])
            ys.append(np.array([self._start[1]]))
        if xs and len(self._previous[0]):          # the previous run as far as it went
            xs.append(self._previous[0][-1])
        for run in self._kept:                     # and the kept runs, whole
            xs.append(run.x[-1])
            ys.append(run.y[np.isfinite(run.y) & (np.abs(run.y) < PLOT_LIMIT)])
        if not xs:
            return
        ys = np.concatenate(ys)
        if auto_log and not self._log_chosen and not self.log_scale() and len(ys):
            self._switch_log_for_divergence(ys)
        vb = self.loss_plot.vb
        (x0, x1), (y0, y1) = vb.viewRange()
        xmax = max(1.0, float(max(xs)))
        if force or xmax > x1 or xmax < 0.4 * x1 or x0 != 0.0:
            self.loss_plot.setXRange(0.0, nice_ceiling(xmax * 1.02), padding=0)
        if self.log_scale():
            ys = np.log10(ys[ys > 0])
        if len(ys):
            lo, hi = float(ys.min()), float(ys.max())
            least = MIN_DECADES if self.log_scale() else MIN_SPAN * max(abs(lo), abs(hi))
            span = max(hi - lo, least, 1e-12)
            if force or lo < y0 or hi > y1 or span < 0.5 * (y1 - y0):
                mid, half = (lo + hi) / 2, 0.5 * span * 1.16        # 8% margins
                self.loss_plot.setYRange(mid - half, mid + half, padding=0)
        if gradients or force:
            self._follow_gradients(force)

    def _follow_gradients(self, force: bool = False) -> None:
        """The gradient plot's y range (in decades): the curves with a margin, and above the
        points that lie under the legend (at the epochs it spans), room for it."""
        xs, ys = [], []
        for buf in self._grad_buffers:
            x, y = buf.arrays()
            keep = np.isfinite(y) & (y > 0) & (y < PLOT_LIMIT)
            xs.append(x[keep])
            ys.append(np.log10(y[keep]))
            xs.append(x[y == 0])                                  # drawn on the floor
            ys.append(np.full(int((y == 0).sum()), self._zero_log))
        x = np.concatenate(xs) if xs else np.zeros(0)
        y = np.concatenate(ys) if ys else np.zeros(0)
        if not len(y):
            return
        lo, hi = float(y.min()), float(y.max())
        span = max(hi - lo, MIN_DECADES)
        mid = (lo + hi) / 2
        bottom, top = mid - 0.58 * span, mid + 0.58 * span
        vb = self.grad_plot.vb
        legend = self._legends[self.grad_plot]
        height = vb.boundingRect().height()
        if legend.isVisible() and height > 0:
            share = min(0.6, (legend.height() + 2 * legend.MARGIN) / height)
            under = y[x >= vb.mapToView(legend.pos()).x()]
            if len(under):
                top = max(top, bottom + (under.max() + 0.08 * span - bottom) / (1 - share))
        (_, _), (y0, y1) = vb.viewRange()
        # kept while it holds the curves and the legend's room above them, and is not more than
        # twice what they need
        if force or lo < y0 or top > y1 + 1e-9 or (top - bottom) < 0.5 * (y1 - y0):
            vb.setYRange(bottom, top, padding=0)

    @Slot()
    def _grad_legend_moved(self) -> None:
        """The legend changed size (a resize, other labels): make room for it again."""
        if self._following:
            self._follow_gradients(force=True)

    def _switch_log_for_divergence(self, ys: np.ndarray) -> None:
        """Turn the log scale on when the loss has grown :data:`AUTO_LOG_GROWTH`-fold above the
        run's first loss: on a linear axis every other point of the curve would sit on zero."""
        first = np.nan
        for name in ("loss", "pass_loss"):
            x, y = self._buffers[name].arrays()
            if len(y) and np.isfinite(y[0]) and y[0] > 0:
                first = y[0] if np.isnan(first) else min(first, y[0])
        if np.isfinite(first) and ys.max() > AUTO_LOG_GROWTH * first:
            self._log_auto = True
            self._log_box.setToolTip(
                f"Switched on by itself: the loss grew more than {AUTO_LOG_GROWTH:,.0f} times "
                f"above where the run started. Untick it for a linear axis.")
            self._log_box.setChecked(True)

    @Slot()
    def _log_set_by_hand(self, *_args) -> None:
        self._log_chosen = True
        self._log_auto = False

    @Slot()
    def _stop_following(self, *_args) -> None:
        self._following = False

    @Slot()
    def _resume_following(self, *_args) -> None:
        self._following = True
        for p in self._plots:
            p.enableAutoRange(x=False, y=False)
        self.accuracy_plot.setYRange(0.0, 1.05, padding=0)
        self._follow_data(force=True)

    @Slot()
    def clear(self, keep_previous: bool = False) -> None:
        """Forget every point: a new run starts, fitted to its own data. ``keep_previous``: the
        run that ends stays drawn, faded, as the "previous run" (a run with no training keeps the
        one before it)."""
        x, y = self._buffers["loss"].arrays()
        if not keep_previous:
            self._previous = (np.zeros(0), np.zeros(0))
        elif len(x) >= 2:
            self._previous = (x.copy(), y.copy())
        self._buffers = {name: SeriesBuffer(self._max_points) for name in SERIES}
        self._grad_buffers = []
        self._sizes = ()
        self._dirty.clear()
        self._start = None
        self._start_item.setData([], [])
        self._start_item.setVisible(False)
        for name, item in self._items.items():
            item.setData([], [])
            self._set_drawn(name, False)
        self._show_gradients()
        px, py = self._previous
        self._items["previous"].setData(px, np.clip(py, -PLOT_LIMIT, PLOT_LIMIT),
                                        connect="finite", skipFiniteCheck=False)
        self._set_drawn("previous", bool(np.isfinite(py).any()))
        self._task = None
        self._show_task(None)
        self._hide_readout()
        if self._log_auto:                       # switched on by the last run's divergence
            self._log_box.setChecked(False)
        self._log_auto = False                   # (a choice made by hand stays)
        self._log_box.setToolTip("Show the loss on a logarithmic axis")
        self._following = True
        for p in self._plots:
            p.enableAutoRange(x=False, y=False)
        self._fit_empty()

    # -- queries (used by tests and the window) ----------------------------------------------

    def clear_previous(self) -> None:
        """Draw no previous run."""
        self._previous = (np.zeros(0), np.zeros(0))
        self._items["previous"].setData([], [])
        self._set_drawn("previous", False)

    def previous_run(self) -> tuple[np.ndarray, np.ndarray]:
        """(epoch, train loss) of the run drawn faded as the previous run (empty: none)."""
        return self._previous[0].copy(), self._previous[1].copy()

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) points kept for ``name``: one of :data:`SERIES`, or ``grad_norm_<l>`` for
        layer l's gradient norm (l = 1 .. L)."""
        if name.startswith(GRAD_PREFIX):
            return self._grad_buffers[int(name[len(GRAD_PREFIX):]) - 1].arrays()
        return self._buffers[name].arrays()

    def starting_point(self) -> tuple[float, float] | None:
        """The point drawn at epoch 0 before the first epoch's row: (0, loss at the starting
        weights), or None when there is none (the curves have data, or no snapshot came yet)."""
        return self._start if self._start_item.isVisible() else None

    def loss_range(self) -> tuple[float, float]:
        """The loss plot's y range as shown (log10 values on the log scale)."""
        return tuple(self.loss_plot.vb.viewRange()[1])

    def gradient_layers(self) -> int:
        """The number of layers whose gradient norm is plotted."""
        return len(self._grad_buffers)

    def drawn_gradient(self, l: int) -> tuple[np.ndarray, np.ndarray]:
        """What the gradient plot draws for layer ``l`` (1 .. L): x and the height of every point
        as a norm (10 ** the log-axis position); a norm of 0 is drawn at :meth:`zero_floor`, a
        point not drawn (a norm that is not finite) is NaN."""
        item = self._grad_items[l - 1]
        x, y = item.getData() if item.isVisible() else (None, None)
        if x is None:
            return np.zeros(0), np.zeros(0)
        return np.asarray(x, dtype=float), 10.0 ** np.asarray(y, dtype=float)

    def zero_floor(self) -> float:
        """The height (a norm) on which norms of exactly 0 are drawn: a decade below the
        smallest norm above 0."""
        return 10.0 ** self._zero_log

    def zero_marks(self) -> list[tuple[float, int]]:
        """(epoch, layer) of every marker drawn on the floor for a norm of exactly 0, and only
        while it is shown."""
        if not self._zero_marks.isVisible():
            return []
        x, _ = self._zero_marks.getData()
        layers = self._zero_marks.data["data"]
        return [(float(xi), int(l)) for xi, l in zip(x, layers)]

    def zero_line_label(self) -> str:
        """The text beside the floor line ('' while no norm of 0 is drawn)."""
        return self._zero_line.label.toPlainText() if self._zero_line.isVisible() else ""

    def point_count(self) -> int:
        """The number of points held by the largest series (each is capped at ``max_points``)."""
        return max(buf.n for buf in list(self._buffers.values()) + self._grad_buffers)

    def is_drawn(self, name: str) -> bool:
        """Whether series ``name`` is on screen (a series with no finite value is not drawn)."""
        if name.startswith(GRAD_PREFIX):
            return self._grad_items[int(name[len(GRAD_PREFIX):]) - 1].isVisible()
        return self._items[name].isVisible()

    def legend(self, plot) -> FittedLegend:
        return self._legends[plot]

    # what the hover shows and the curves drawn, as a person sees them
    @property
    def loss_readout(self):
        """The box of values beside the mouse over the loss plot."""
        return self._readout

    @property
    def gradient_readout(self):
        """The box of values beside the mouse over the gradient-norm plot."""
        return self._grad_readout

    @property
    def hover_lines(self) -> tuple:
        """The vertical lines at the hovered epoch, one per plot."""
        return tuple(self._hover_lines)

    @property
    def gradient_curves(self) -> tuple:
        """The gradient-norm curves made so far, one per layer (the unused ones hidden)."""
        return tuple(self._grad_items)

    @property
    def log_scale_box(self) -> QCheckBox:
        """The "log scale" tick box under the loss plot."""
        return self._log_box

    def log_scale(self) -> bool:
        return self._log_box.isChecked()

    def set_log_scale(self, on: bool) -> None:
        self._log_set_by_hand()
        self._log_box.setChecked(bool(on))

    def readout_text(self, epoch: float) -> str:
        """What the hover readout shows at x = ``epoch``: the values of the nearest epoch row."""
        loss = self._buffers["loss"]
        i = loss.nearest(epoch)
        if i is None:
            return ""
        e, value = loss.value(i)

        def at(name):
            j = self._buffers[name].nearest(e)
            return self._buffers[name].value(j)[1]

        lines = [f"epoch {e:.0f}", f"train loss {_fmt(value)}    test loss {_fmt(at('test_loss'))}"]
        if not self._is_regression():
            lines.append(f"accuracy {_fmt(at('accuracy'))}    "
                         f"test accuracy {_fmt(at('test_accuracy'))}")
        return "\n".join(lines)

    def gradient_readout_text(self, epoch: float) -> str:
        """What the hover readout of the gradient plot shows at x = ``epoch``: the gradient norm
        of every layer at the nearest epoch row."""
        if not self._grad_buffers or self._grad_buffers[0].n == 0:
            return ""
        first = self._grad_buffers[0]
        e = first.value(first.nearest(epoch))[0]
        lines = [f"epoch {e:.0f}: gradient norm"]
        for l, buf in enumerate(self._grad_buffers, start=1):
            v = buf.value(buf.nearest(e))[1]
            lines.append(f"{layer_label(self._sizes, l)}  {ZERO_LABEL if v == 0 else _fmt(v)}")
        return "\n".join(lines)

    # -- internals ---------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_titles()

    def _fit_titles(self) -> None:
        """Each titled plot shows the longest of its titles that fits its column, so that a long
        title never holds its column wider than its share of a narrow panel."""
        font = QFont(self.font())
        font.setPointSizeF(float(TITLE_SIZE.removesuffix("pt")))
        metrics = QFontMetricsF(font)
        width = self.graphics.width() or self.width()
        for p, titles in self._titles.items():
            if titles is None:
                p.setTitle(None)
                continue
            share = COLUMN_STRETCH[1 if p is self.grad_plot else 0] / sum(COLUMN_STRETCH)
            room = share * width - AXIS_WIDTH - 30
            title = next((t for t in titles if metrics.horizontalAdvance(t) <= room), titles[-1])
            if p is self.grad_plot and self._grad_key is not None:
                title = self._grad_key
            if p.titleLabel.text != title or not p.titleLabel.isVisible():
                p.setTitle(title, color=MUTED if p is self.accuracy_plot else style.FOREGROUND,
                           size=TITLE_SIZE)

    @Slot()
    def _fit_grad_key(self, *_args) -> None:
        """When the gradient plot's legend has no room inside the plot (a short panel: it hides
        rather than cover the curves), the title names the layers by their colours instead,
        above the data."""
        legend = self._legends[self.grad_plot]
        drawn = self._grad_sizes
        key = None
        if drawn is not None and not legend.isVisible():
            key = gradient_key_html(len(drawn[0]) - 1, zeros=drawn[1])
        if key != self._grad_key:
            self._grad_key = key
            self._fit_titles()

    def gradient_title(self) -> str:
        """The gradient plot's title as shown (rich text when it names the layers)."""
        return self.grad_plot.titleLabel.text if self.grad_plot.titleLabel.isVisible() else ""

    def _is_regression(self) -> bool:
        return self._task is not None and self._task != CLASSIFICATION

    def _show_task(self, task: str | None) -> None:
        """Grey out the accuracy plot with a note for regression; restore it otherwise."""
        self._shown_task = task
        regression = self._is_regression()
        self._titles[self.accuracy_plot] = REGRESSION_NOTES if regression else None
        self._fit_titles()
        self.accuracy_plot.getAxis("left").setTextPen(MUTED if regression else style.FOREGROUND)
        self._dirty.update(("accuracy", "test_accuracy"))   # redraw (or hide) them next paint

    def _set_drawn(self, name: str, on: bool) -> None:
        """Show or hide a curve as it gains or loses finite data; the legends list exactly these
        curves, in a fixed order, then the kept runs. (Clicking a legend entry still hides and
        shows its curve.)"""
        if (name in self._in_legend) == on:
            return
        self._items[name].setVisible(on)
        self._in_legend = (self._in_legend | {name}) if on else (self._in_legend - {name})
        self._fill_legends()

    def _fill_legends(self) -> None:
        for p in (self.loss_plot, self.accuracy_plot):
            entries = [(self._items[series], LABELS[series], SHORT_LABELS[series])
                       for series in SERIES_ORDER
                       if series in self._in_legend and self._items[series] in p.items]
            if p is self.loss_plot:
                entries += [(run.item, run.label, run.short) for run in self._kept]
            self._legends[p].set_entries(entries)

    # -- kept runs -----------------------------------------------------------------------------

    def keep_run(self, settings: dict) -> str:
        """Keep the run shown as an overlay on the loss plot: its train loss per epoch, drawn in
        a colour of its own and labelled with what differs between it, the other kept runs and
        ``settings`` (the run's configuration, :meth:`Config.to_dict` with the live settings).
        Returns its label; ValueError when no epoch has been trained yet."""
        x, y = self._buffers["loss"].arrays()
        if not len(x) or not np.isfinite(y).any():
            raise ValueError("no epoch has been trained yet: there is no curve to keep")
        color = (*style.class_color(len(self._kept)), 220)
        item = pg.PlotDataItem(pen=pg.mkPen(color=color, width=1, style=Qt.DashLine),
                               antialias=True)
        item.setData(x.copy(), np.clip(y, -PLOT_LIMIT, PLOT_LIMIT), connect="finite",
                     skipFiniteCheck=False)
        item.setZValue(-1)                      # behind the run being trained
        self.loss_plot.addItem(item)
        self._kept.append(KeptRun(dict(settings), x.copy(), y.copy(), item))
        self.label_runs(settings)
        self._follow_data(force=True, auto_log=False, gradients=False)
        return self._kept[-1].label

    def label_runs(self, current: dict) -> None:
        """Label every kept run with what differs between the kept runs and ``current`` (the
        configuration of the run being trained): "kept: η = 0.05"."""
        if not self._kept:
            return
        kept = [run.settings for run in self._kept]
        labels = differences(kept, [f"run {k + 1}" for k in range(len(kept))],
                             keys=differing(kept + [dict(current)]))
        for run, label in zip(self._kept, labels):
            run.label, run.short = f"kept: {label}", label
        self._fill_legends()

    def kept_runs(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(label, epoch, train loss) of every kept run, oldest first."""
        return [(run.label, run.x.copy(), run.y.copy()) for run in self._kept]

    def kept_item(self, k: int) -> pg.PlotDataItem:
        """The curve drawn for kept run ``k``."""
        return self._kept[k].item

    def forget_kept_runs(self) -> None:
        """Draw no kept run any more."""
        for run in self._kept:
            self.loss_plot.removeItem(run.item)
        self._kept = []
        self._fill_legends()

    @Slot(bool)
    def _apply_log_scale(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        if self._following:     # (a box unticked by hand must not tick itself again right away)
            self._follow_data(force=True, auto_log=False)

    @Slot(object)
    def _on_mouse_moved(self, scene_pos) -> None:
        over = [p for p in self._plots if p.vb.sceneBoundingRect().contains(scene_pos)]
        if not over or self._buffers["loss"].n == 0:
            self._hide_readout()
            return
        self._hover_pos = scene_pos
        self._update_readout(scene_pos)

    def _update_readout(self, scene_pos) -> None:
        """Line at the epoch nearest the mouse on every plot; the text box next to the mouse, on
        the side away from the nearest plot edges: in the gradient plot when the mouse is over
        it, else in the loss plot (also when hovering the accuracy plot)."""
        on_grad = self.grad_plot.vb.sceneBoundingRect().contains(scene_pos)
        p, box, other = ((self.grad_plot, self._grad_readout, self._readout) if on_grad
                         else (self.loss_plot, self._readout, self._grad_readout))
        mouse = p.vb.mapSceneToView(scene_pos)
        i = self._buffers["loss"].nearest(mouse.x())
        e = self._buffers["loss"].value(i)[0]
        text = self.gradient_readout_text(e) if on_grad else self.readout_text(e)
        exporting = box.exporting()
        for line in self._hover_lines:
            line.setPos(e)
            if not exporting:
                line.setVisible(True)
        other.setVisible(False)
        if not text:
            box.setVisible(False)
            return
        box.setText(text)
        # beside the line, on the side with room, and below the mouse (above near the bottom),
        # always wholly inside the view box when it fits there
        size = box.textItem.boundingRect().size()
        room = p.vb.boundingRect()
        line_x = p.vb.mapFromView(QPointF(e, mouse.y())).x()
        mouse_y = p.vb.mapFromScene(scene_pos).y()
        gap = 8.0
        x = line_x + gap if line_x + gap + size.width() <= room.width() else (
            line_x - gap - size.width())
        y = mouse_y + gap if mouse_y + gap + size.height() <= room.height() else (
            mouse_y - gap - size.height())
        box.setPos(min(max(x, 0.0), max(room.width() - size.width(), 0.0)),
                   min(max(y, 0.0), max(room.height() - size.height(), 0.0)))
        if not exporting:
            box.setVisible(True)

    @Slot()
    def _hide_readout(self) -> None:
        self._hover_pos = None
        # the plots hide (``left``) also after their items are gone: pyqtgraph's close() and the
        # teardown at quit delete the scene's items before the view
        if not shiboken6.isValid(self._readout):
            return
        self._readout.setVisible(False)
        self._grad_readout.setVisible(False)
        for line in self._hover_lines:
            line.setVisible(False)


def gradient_key_html(n: int, zeros: bool = False) -> str:
    """The layers' colours as a title: "layer ━1 ━2 ━3", each mark in its curve's colour (and
    "● 0" for a norm of exactly 0, drawn on the floor)."""
    marks = [f"<span style='color:#{r:02x}{g:02x}{b:02x}'>━{l}</span>"
             for l, (r, g, b) in enumerate(gradient_colors(n), start=1)]
    if zeros:
        marks.append("<span style='color:#%02x%02x%02x'>●0</span>" % MUTED)
    return "layer " + " ".join(marks)


def gradient_colors(n: int) -> list[tuple[int, int, int]]:
    """A colour per layer, dark next to the input to light at the output (viridis, without
    its palest yellow, which vanishes on white)."""
    lut = style.sequential_lut(256)                # dark purple … yellow
    picks = np.linspace(0, 200, n).astype(int) if n > 1 else np.array([0])
    return [tuple(int(c) for c in lut[k]) for k in picks]
