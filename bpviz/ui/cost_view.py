"""The cost curve: loss and accuracy per epoch, with the loss of every pass behind them.

Two plots share the epoch axis. The upper one shows the training loss and the test loss of every
epoch (the history row of epoch e is evaluated at the weights at the *start* of epoch e) and, as a
faint thin line behind them, the batch loss of every pass, at x = epoch + k / passes-per-epoch. The
lower one shows training and test accuracy; for regression it stays empty with a note.

Feeding: the window calls :meth:`CostView.ingest` for *every* snapshot it receives (cheap: the new
history rows and pass losses are appended to buffers), :meth:`CostView.show_snapshot` when it paints
(only the newest snapshot, while training at most 10 times a second: ``setData`` on items created
once) and :meth:`CostView.clear` when a new run starts.

Memory stays bounded on long runs: every series keeps at most ``max_points`` points (default
:data:`MAX_POINTS`, 6,000: several per pixel of a wide panel, and cheap to redraw every
frame). A series is a *coarse* stretch (the older points, thinned) followed by a *raw* stretch
(the newer points, every one kept). When the series grows past the cap, the older half of the raw
stretch moves into the coarse stretch, thinned with a min/max scheme: each bucket
of ``block`` consecutive points keeps only its smallest and its largest value, so spikes and the
overall shape survive. When the coarse stretch fills half the cap, it is itself thinned by two
(buckets of four kept points keep two) and ``block`` doubles, so the whole coarse stretch has about
one resolution however long the run. The very first point is never thinned, nor is the newest
quarter of the cap, nor any global minimum or maximum.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from bpviz.engine.data import CLASSIFICATION
from bpviz.engine.snapshot import Snapshot

from . import style

MAX_POINTS = 6_000
BUCKET = 4             # the first block size, and the thinning of the coarse stretch

PLOT_LIMIT = 1e30          # larger values (a diverging run) are drawn at this height
HISTORY_SERIES = ("loss", "test_loss", "accuracy", "test_accuracy")   # history_header columns
SERIES = HISTORY_SERIES + ("pass_loss",)
SERIES_ORDER = ("loss", "test_loss", "pass_loss", "accuracy", "test_accuracy")   # legend order

LABELS = {"loss": "train loss", "test_loss": "test loss", "pass_loss": "batch loss (per pass)",
          "accuracy": "train accuracy", "test_accuracy": "test accuracy"}
MUTED = (148, 163, 184)
REGRESSION_NOTE = "accuracy applies to classification; this is a regression task"


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
    k = 10.0 ** np.floor(np.log10(x))
    for m in (1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0):
        if m * k >= x * (1 - 1e-12):
            return m * k
    return 10.0 * k


class CostView(QWidget):
    """Loss and accuracy curves over epochs; see the module docstring for the feeding protocol."""

    def __init__(self, parent: QWidget | None = None, max_points: int = MAX_POINTS):
        super().__init__(parent)
        self._max_points = max_points
        self._buffers = {name: SeriesBuffer(max_points) for name in SERIES}
        self._dirty: set[str] = set()
        self._task: str | None = None
        self._shown_task: str | None = None
        self._hover_pos: QPointF | None = None     # scene position of the mouse over a plot

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(style.BACKGROUND)
        self.loss_plot = self.graphics.addPlot(row=0, col=0)
        self.accuracy_plot = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.accuracy_plot.setXLink(self.loss_plot)
        for plot, label in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
            style.style_plot(plot)
            plot.setLabel("left", label, color=style.FOREGROUND)
            plot.getAxis("left").setWidth(52)      # both y axes equally wide: x stays aligned
        self.accuracy_plot.setLabel("bottom", "epoch", color=style.FOREGROUND)
        self.loss_plot.getAxis("bottom").setStyle(showValues=False)   # the lower plot labels x
        self.accuracy_plot.setYRange(0.0, 1.05, padding=0)
        self.accuracy_plot.enableAutoRange(y=False)
        # The view follows the data in steps (see _follow_data): a range that changed on every
        # frame would rebuild both axes on every frame, the costliest part of this panel. Zooming
        # or panning by hand stops the following; the plot's "A" button resumes it.
        self._following = True
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.enableAutoRange(x=False, y=False)
            plot.vb.sigRangeChangedManually.connect(self._stop_following)
            plot.autoBtn.clicked.connect(self._resume_following)

        for plot in (self.loss_plot, self.accuracy_plot):
            # Peak downsampling to a few points per pixel and clipping to the view keep a 6,000-
            # point series cheap to draw. (The plot applies both to its items.)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)

        def curve(plot, color, antialias=True):
            # 1-px pens: a wider antialiased pen costs ~40× more per point (measured ~130 ms for
            # 6,700 points at width 1.5 against ~3 ms at width 1)
            item = pg.PlotDataItem(pen=pg.mkPen(color=color, width=1), antialias=antialias)
            item.setVisible(False)
            plot.addItem(item)
            return item

        # drawn in this order: the faint per-pass line behind the epoch curves
        self._items = {
            "pass_loss": curve(self.loss_plot, style.PASS_COLOR, antialias=False),
            "loss": curve(self.loss_plot, style.TRAIN_COLOR),
            "test_loss": curve(self.loss_plot, style.TEST_COLOR),
            "accuracy": curve(self.accuracy_plot, style.TRAIN_COLOR),
            "test_accuracy": curve(self.accuracy_plot, style.TEST_COLOR),
        }
        legend_style = dict(labelTextColor=style.FOREGROUND, brush=pg.mkBrush(255, 255, 255, 210),
                            pen=pg.mkPen(226, 232, 240))
        self._legends = {
            self.loss_plot: self.loss_plot.addLegend(offset=(-10, 10), **legend_style),
            self.accuracy_plot: self.accuracy_plot.addLegend(offset=(-10, -10), **legend_style),
        }
        self._in_legend: set[str] = set()
        for legend in self._legends.values():
            legend.setVisible(False)

        # hover readout: a vertical line on both plots and a text box in the loss plot
        self._hover_lines = []
        for plot in (self.loss_plot, self.accuracy_plot):
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(style.FOREGROUND, width=1, style=Qt.DashLine))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._hover_lines.append(line)
        self._readout = pg.TextItem("", color=style.FOREGROUND, fill=pg.mkBrush(255, 255, 255, 225),
                                    border=pg.mkPen(203, 213, 225))
        self._readout.setVisible(False)
        self._readout.setZValue(20)
        self.loss_plot.addItem(self._readout, ignoreBounds=True)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self._log_box = QCheckBox("log scale")
        self._log_box.setToolTip("Show the loss on a logarithmic axis")
        self._log_box.toggled.connect(self._apply_log_scale)
        # the plot's own context menu can switch log mode too: keep the box in step with it
        self.loss_plot.ctrl.logYCheck.toggled.connect(self._log_box.setChecked)

        controls = QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addWidget(QLabel("Cost"))
        controls.addStretch(1)
        controls.addWidget(self._log_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)

    # -- feeding -----------------------------------------------------------------------------

    def ingest(self, snap: Snapshot) -> None:
        """Append what happened since the previous snapshot; call this for every snapshot."""
        self._task = snap.task
        if snap.rewound_to is not None:           # the run went back: drop what followed
            self._buffers["pass_loss"].truncate(snap.rewound_to)
            for name in HISTORY_SERIES:
                self._buffers[name].truncate(snap.history_length - len(snap.new_history))
            self._dirty.update(self._buffers)
        rows = np.asarray(snap.new_history)
        if len(rows):
            header = list(snap.history_header)
            epochs = rows[:, header.index("epoch")]
            for name in HISTORY_SERIES:
                self._buffers[name].append(epochs, rows[:, header.index(name)])
                self._dirty.add(name)
        if len(snap.new_pass_losses):
            self._buffers["pass_loss"].append(snap.new_pass_positions, snap.new_pass_losses)
            self._dirty.add("pass_loss")

    @Slot(object)
    def show_snapshot(self, snap: Snapshot | None = None) -> None:
        """Repaint the curves from the buffers (``snap`` only tells the task if nothing was
        ingested yet)."""
        if self._task is None and snap is not None:
            self._task = snap.task
        if self._task != self._shown_task:
            self._show_task(self._task)
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
            self._follow_data()
        if self._hover_pos is not None:
            self._update_readout(self._hover_pos)

    def _follow_data(self, force: bool = False) -> None:
        """Fit the view to the data, changing the range only when the data leave it or fill
        too little of it: x grows in 1-1.5-2-3-5-7.5 steps, y to rounded limits."""
        xs, ys = [], []
        for name in ("pass_loss", "loss", "test_loss", "accuracy", "test_accuracy"):
            x, y = self._buffers[name].arrays()
            if len(x):
                xs.append(x[-1])
                if name in ("pass_loss", "loss", "test_loss"):
                    y = y[np.isfinite(y) & (np.abs(y) < PLOT_LIMIT)]
                    if self.loss_plot.ctrl.logYCheck.isChecked():
                        y = np.log10(y[y > 0])
                    if len(y):
                        ys.append((float(y.min()), float(y.max())))
        if not xs:
            return
        vb = self.loss_plot.vb
        (x0, x1), (y0, y1) = vb.viewRange()
        xmax = max(1.0, float(max(xs)))
        if force or xmax > x1 or xmax < 0.4 * x1 or x0 != 0.0:
            self.loss_plot.setXRange(0.0, nice_ceiling(xmax * 1.02), padding=0)
        if ys:
            lo, hi = min(a for a, _ in ys), max(b for _, b in ys)
            span = max(hi - lo, 1e-12 * max(1.0, abs(hi)))
            if force or lo < y0 or hi > y1 or (hi - lo) < 0.5 * (y1 - y0):
                pad = 0.08 * span
                self.loss_plot.setYRange(lo - pad, hi + pad, padding=0)

    @Slot()
    def _stop_following(self, *_args) -> None:
        self._following = False

    @Slot()
    def _resume_following(self, *_args) -> None:
        self._following = True
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.enableAutoRange(x=False, y=False)
        self.accuracy_plot.setYRange(0.0, 1.05, padding=0)
        self._follow_data(force=True)

    @Slot()
    def clear(self) -> None:
        """Forget every point: a new run starts."""
        self._buffers = {name: SeriesBuffer(self._max_points) for name in SERIES}
        self._dirty.clear()
        for name, item in self._items.items():
            item.setData([], [])
            self._set_drawn(name, False)
        self._task = None
        self._show_task(None)
        self._hide_readout()

    # -- queries (used by tests and the window) ----------------------------------------------

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) points kept for ``name``: one of :data:`SERIES`."""
        return self._buffers[name].arrays()

    def point_count(self) -> int:
        """The number of points held by the largest series (each is capped at ``max_points``)."""
        return max(buf.n for buf in self._buffers.values())

    def is_drawn(self, name: str) -> bool:
        """Whether series ``name`` is on screen (a series with no finite value is not drawn)."""
        return self._items[name].isVisible()

    def log_scale(self) -> bool:
        return self._log_box.isChecked()

    def set_log_scale(self, on: bool) -> None:
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

    # -- internals ---------------------------------------------------------------------------

    def _is_regression(self) -> bool:
        return self._task is not None and self._task != CLASSIFICATION

    def _show_task(self, task: str | None) -> None:
        """Grey out the accuracy plot with a note for regression; restore it otherwise."""
        self._shown_task = task
        regression = self._is_regression()
        self.accuracy_plot.setTitle(REGRESSION_NOTE if regression else None, color=MUTED,
                                    size="9pt")
        self.accuracy_plot.getAxis("left").setTextPen(MUTED if regression else style.FOREGROUND)
        self._dirty.update(("accuracy", "test_accuracy"))   # redraw (or hide) them next paint

    def _set_drawn(self, name: str, on: bool) -> None:
        """Show or hide a curve as it gains or loses finite data; the legends list exactly these
        curves, in a fixed order. (Clicking a legend entry still hides and shows its curve.)"""
        if (name in self._in_legend) == on:
            return
        self._items[name].setVisible(on)
        self._in_legend = (self._in_legend | {name}) if on else (self._in_legend - {name})
        for plot, legend in self._legends.items():
            legend.clear()
            listed = [name for name in SERIES_ORDER
                      if name in self._in_legend and self._items[name] in plot.items]
            for series in listed:
                legend.addItem(self._items[series], LABELS[series])
            legend.setVisible(bool(listed))          # no empty frame

    @Slot(bool)
    def _apply_log_scale(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        if self._following:
            self._follow_data(force=True)

    @Slot(object)
    def _on_mouse_moved(self, scene_pos) -> None:
        inside = any(p.vb.sceneBoundingRect().contains(scene_pos)
                     for p in (self.loss_plot, self.accuracy_plot))
        if not inside or self._buffers["loss"].n == 0:
            self._hide_readout()
            return
        self._hover_pos = scene_pos
        self._update_readout(scene_pos)

    def _update_readout(self, scene_pos) -> None:
        """Line at the epoch nearest the mouse; the text box next to the mouse, on the side away
        from the nearest plot edges (in the loss plot, also when hovering the accuracy plot)."""
        mouse = self.loss_plot.vb.mapSceneToView(scene_pos)
        i = self._buffers["loss"].nearest(mouse.x())
        e = self._buffers["loss"].value(i)[0]
        for line in self._hover_lines:
            line.setPos(e)
            line.setVisible(True)
        self._readout.setText(self.readout_text(mouse.x()))
        (x0, x1), (y0, y1) = self.loss_plot.vb.viewRange()
        y = min(max(mouse.y(), y0), y1)
        self._readout.setAnchor((1.0 if e > (x0 + x1) / 2 else 0.0,
                                 1.0 if y < (y0 + y1) / 2 else 0.0))
        self._readout.setPos(e, y)
        self._readout.setVisible(True)

    def _hide_readout(self) -> None:
        self._hover_pos = None
        self._readout.setVisible(False)
        for line in self._hover_lines:
            line.setVisible(False)
