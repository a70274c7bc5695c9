"""The decision boundary: what the network answers over the input plane, under the data.

What is drawn depends on the dataset (:meth:`BoundaryView.mode`):

``classification2d``
    Every pixel of the snapshot's grid takes the colour of the class the network picks there,
    blended towards white as the network gets less sure (:func:`class_field_rgba`); a thin line
    follows the decision boundary, where the winning class changes (:func:`decision_segments`).
``regression2d``
    A diverging heatmap of the output (blue positive, orange negative, grey zero) with fixed
    symmetric levels ±max|target|; the points are coloured by their target on the same scale, so a
    well-fitted point melts into the background.
``regression1d``
    The fitted curve y(x) over the data points (x, target).
``unsupported``
    More than two inputs (or one input with classes): a note says why, and the first two features'
    scatter is shown when there are two or more.

Training points are filled circles with a thin dark outline; test points are white-filled rings.
Clicking within :data:`PICK_RADIUS_PX` pixels of a *training* point pins it: the view draws a ring
around it and emits ``samplePicked(index)`` with its index in ``dataset.X_train``. Test points
cannot be picked (the pinned sample is a training sample, the one the trainer's ``X`` holds).

Items are created once; ``set_dataset`` refills them and ``show_snapshot`` only calls ``setImage``
and ``setData``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from bpviz.engine.data import Dataset
from bpviz.engine.snapshot import Snapshot, data_bounds

from ..plotting import style

MAX_TINT = 0.6          # the share of class colour at full confidence (the rest is white)
PICK_RADIUS_PX = 8.0    # a click this close (in screen pixels) to a training point picks it
POINT_SIZE = 7
OUTLINE = (31, 41, 55)
CURVE_Y_MARGIN = 0.15   # 1-D regression: padding of the target range, as a fraction of it

CLASSIFICATION_2D = "classification2d"
REGRESSION_2D = "regression2d"
REGRESSION_1D = "regression1d"
UNSUPPORTED = "unsupported"


def class_probabilities(output: np.ndarray) -> np.ndarray:
    """Output (..., K) as class probabilities: a single sigmoid unit p becomes (1 − p, p)."""
    p = np.asarray(output, dtype=float)
    return np.concatenate([1.0 - p, p], axis=-1) if p.shape[-1] == 1 else p


def class_field_rgba(output: np.ndarray) -> np.ndarray:
    """RGBA (..., 4) uint8 for network outputs (..., K): the winning class's colour by confidence.

    The colour is ``white + (class_color(argmax) − white) · MAX_TINT · s``, where the strength
    ``s = (max p − 1/K) / (1 − 1/K)`` (clipped to [0, 1]) is 0 at chance level and 1 at certainty.
    A grid point whose output is not finite is transparent.
    """
    p = class_probabilities(output)
    k = p.shape[-1]
    finite = np.isfinite(p).all(axis=-1)
    p = np.where(finite[..., None], p, 0.0)
    winner = p.argmax(axis=-1)
    strength = MAX_TINT * np.clip((p.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    colours = np.array([style.class_color(j) for j in range(k)], dtype=float)
    rgb = 255.0 + (colours[winner] - 255.0) * strength[..., None]
    rgba = np.empty(p.shape[:-1] + (4,), dtype=np.uint8)
    rgba[..., :3] = np.rint(rgb).astype(np.uint8)
    rgba[..., 3] = np.where(finite, 255, 0)
    return rgba


def margin_fields(output: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(field (G, G), cells (G−1, G−1) or None) pairs whose zero levels make the decision boundary.

    Two classes (or one sigmoid unit): the single field ``p₁ − p₀`` (zero where p = 0.5), every
    cell. More classes: per class k the winning margin ``p_k − max_{j≠k} p_j``, zero where k stops
    winning. The boundary between classes j < k appears in the fields of both, so each field keeps
    only the cells whose strongest other class (by the cell's mean output) has a higher index: every
    stretch of boundary is drawn once.
    """
    p = class_probabilities(output)
    k_classes = p.shape[-1]
    if k_classes == 2:
        return [(p[..., 1] - p[..., 0], None)]
    top2 = np.sort(p, axis=-1)[..., -2:]
    cell_mean = (p[:-1, :-1] + p[:-1, 1:] + p[1:, :-1] + p[1:, 1:]) / 4
    fields = []
    for k in range(k_classes):
        best_other = np.where(p[..., k] >= top2[..., 1], top2[..., 0], top2[..., 1])
        others = cell_mean.copy()
        others[..., k] = -np.inf
        fields.append((p[..., k] - best_other, np.argmax(others, axis=-1) > k))
    return fields


def decision_segments(field: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                      cells: np.ndarray | None = None):
    """Marching squares: (x, y) of line segments, in pairs, along the zero level of ``field``.

    ``field[r, c]`` is the value at (xs[c], ys[r]); ``cells`` (G−1, G−1), when given, says which
    grid cells (cell [r, c] has corners [r:r+2, c:c+2]) may draw. Every such cell whose corners
    change sign gets one segment (two for a saddle, split by the sign at the cell centre) between
    the linearly interpolated zero crossings on its edges. Segments touching a non-finite value are
    dropped. Returns arrays for a ``connect='pairs'`` curve.
    """
    f = np.asarray(field, dtype=float)
    f00, f01, f10, f11 = f[:-1, :-1], f[:-1, 1:], f[1:, :-1], f[1:, 1:]   # f[r+dr, c+dc]
    x0, x1 = xs[:-1][None, :], xs[1:][None, :]
    y0, y1 = ys[:-1][:, None], ys[1:][:, None]
    shape = f00.shape

    def crossing(a, b):
        """Where a → b crosses zero, as a fraction of the edge, and whether it does."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / (a - b), (a > 0) != (b > 0)

    # the four cell edges in the order bottom, right, top, left: crossing points and masks
    t_b, m_b = crossing(f00, f01)
    t_r, m_r = crossing(f01, f11)
    t_t, m_t = crossing(f10, f11)
    t_l, m_l = crossing(f00, f10)
    px = np.stack([x0 + t_b * (x1 - x0), np.broadcast_to(x1, shape),
                   x0 + t_t * (x1 - x0), np.broadcast_to(x0, shape)])
    py = np.stack([np.broadcast_to(y0, shape), y0 + t_r * (y1 - y0),
                   np.broadcast_to(y1, shape), y0 + t_l * (y1 - y0)])
    mask = np.stack([m_b, m_r, m_t, m_l])
    if cells is not None:
        mask &= cells
    count = mask.sum(axis=0)

    pairs = []     # (edge index a, edge index b, cells) for each kind of segment
    two = count == 2
    first = np.argmax(mask, axis=0)                          # the lowest crossing edge
    second = 3 - np.argmax(mask[::-1], axis=0)                # the highest crossing edge
    pairs.append((first[two], second[two], np.nonzero(two)))
    saddle = count == 4
    centre_like_00 = ((f00 + f01 + f10 + f11) > 0) == (f00 > 0)
    # centre on f00's side: the corners f01 and f10 are cut off, else f00 and f11 are
    for cells, (a1, b1), (a2, b2) in (
            (saddle & centre_like_00, (0, 1), (2, 3)),
            (saddle & ~centre_like_00, (0, 3), (1, 2))):
        idx = np.nonzero(cells)
        n = len(idx[0])
        pairs.append((np.full(n, a1), np.full(n, b1), idx))
        pairs.append((np.full(n, a2), np.full(n, b2), idx))

    xa = np.concatenate([px[a, r, c] for a, _, (r, c) in pairs])
    ya = np.concatenate([py[a, r, c] for a, _, (r, c) in pairs])
    xb = np.concatenate([px[b, r, c] for _, b, (r, c) in pairs])
    yb = np.concatenate([py[b, r, c] for _, b, (r, c) in pairs])
    ok = np.isfinite(xa) & np.isfinite(ya) & np.isfinite(xb) & np.isfinite(yb)
    x = np.column_stack([xa[ok], xb[ok]]).ravel()
    y = np.column_stack([ya[ok], yb[ok]]).ravel()
    return x, y


def grid_rect(xs: np.ndarray, ys: np.ndarray) -> QRectF:
    """The rectangle an image of the grid covers when each grid point is a pixel centre."""
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
    dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
    return QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys))


class _SmoothImageItem(pg.ImageItem):
    """An ImageItem scaled up with bilinear filtering: a 60 × 60 grid reads as a smooth field."""

    def paint(self, p, *args):
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        super().paint(p, *args)


class _LegendSwatch(pg.ScatterPlotItem):
    """A marker that only appears in the legend (never in a view): clicking it there does nothing,
    where a real item would be hidden."""

    def setVisible(self, visible: bool) -> None:
        pass


class BoundaryView(QWidget):
    """The network's answer over the input space, with the data on top (see the module doc)."""

    samplePicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._dataset: Dataset | None = None
        self._mode = UNSUPPORTED
        self._points = np.zeros((0, 2))      # training points in view coordinates, for picking
        self._pinned: int | None = None
        self._rgba: np.ndarray | None = None
        self._target_scale = 1.0             # regression2d: the heatmap's ±level

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(style.BACKGROUND)
        self.plot = self.graphics.addPlot(row=0, col=0)
        style.style_plot(self.plot, grid=False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.vb = self.plot.getViewBox()
        self.legend = pg.LegendItem(labelTextColor=style.FOREGROUND, horSpacing=4)
        self.graphics.addItem(self.legend, row=1, col=0)

        self.image = _SmoothImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.boundary_line = pg.PlotCurveItem(pen=pg.mkPen(style.FOREGROUND, width=1.5),
                                              connect="pairs", antialias=True)
        self.boundary_line.setZValue(5)
        self.fit_curve = pg.PlotDataItem(pen=pg.mkPen(style.FOREGROUND, width=2.5), antialias=True)
        self.fit_curve.setZValue(5)
        self.train_points = pg.ScatterPlotItem(symbol="o", size=POINT_SIZE,
                                               pen=pg.mkPen(OUTLINE, width=0.8),
                                               brush=pg.mkBrush(148, 163, 184))
        self.train_points.setZValue(10)
        self.test_points = pg.ScatterPlotItem(symbol="o", size=POINT_SIZE + 1)
        self.test_points.setZValue(11)
        self.pinned_ring = pg.ScatterPlotItem(symbol="o", size=POINT_SIZE + 11,
                                              pen=pg.mkPen(style.FOREGROUND, width=2.5),
                                              brush=None)
        self.pinned_ring.setZValue(12)
        for item in (self.image, self.boundary_line, self.fit_curve, self.train_points,
                     self.test_points, self.pinned_ring):
            self.plot.addItem(item)
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)

        self._line_box = QCheckBox("boundary line")
        self._line_box.setChecked(True)
        self._line_box.setToolTip("Draw the line where the predicted class changes")
        self._line_box.toggled.connect(self.boundary_line.setVisible)
        self._note = QLabel("")
        self._note.setWordWrap(True)
        self._note.setStyleSheet("color: #475569;")

        # no title of its own: the panel's dock is titled "Decision boundary" already; the note
        # under the plot says what the colours mean
        controls = QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addStretch(1)
        controls.addWidget(self._line_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self._note)

    # -- dataset -----------------------------------------------------------------------------

    def set_dataset(self, ds: Dataset) -> None:
        """Draw ``ds``'s points, fix the view to its bounds and forget any previous picture."""
        self._dataset = ds
        self._mode = self._mode_for(ds)
        self._rgba = None
        self._pinned = None
        self.image.clear()
        self.image.setVisible(self._mode in (CLASSIFICATION_2D, REGRESSION_2D))
        self.boundary_line.setData([], [])
        self.boundary_line.setVisible(self._mode == CLASSIFICATION_2D
                                      and self._line_box.isChecked())
        self._line_box.setVisible(self._mode == CLASSIFICATION_2D)
        self.fit_curve.setData([], [])
        self.fit_curve.setVisible(self._mode == REGRESSION_1D)
        self.pinned_ring.setData([], [])

        train, test = self._positions(ds, ds.X_train, ds.T_train), self._positions(ds, ds.X_test,
                                                                                  ds.T_test)
        self._points = train
        self._draw_points(ds, train, test)
        self._fix_range(ds, train, test)
        self._fill_legend(ds)
        self._note.setText(self._note_text(ds))

    def _mode_for(self, ds: Dataset) -> str:
        if ds.n_features == 2:
            return CLASSIFICATION_2D if ds.is_classification else REGRESSION_2D
        if ds.n_features == 1 and not ds.is_classification:
            return REGRESSION_1D
        return UNSUPPORTED

    def _positions(self, ds: Dataset, X: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Where the samples are drawn: (x, target) in 1-D regression, else the first two inputs."""
        if self._mode == REGRESSION_1D:
            return np.column_stack([X[:, 0], T[:, 0]])
        if ds.n_features >= 2:
            return np.asarray(X[:, :2], dtype=float)
        return np.zeros((0, 2))

    def _draw_points(self, ds: Dataset, train: np.ndarray, test: np.ndarray) -> None:
        """Training points filled; test points as rings, except over the regression heatmap,
        where they are filled with their target colour inside a thick dark ring."""
        ring_pen, ring_fill = pg.mkPen((100, 116, 139), width=2), pg.mkBrush("w")
        test_style = {}
        if self._mode == REGRESSION_2D:
            self._target_scale = float(np.abs(np.vstack([ds.T_train, ds.T_test])[:, 0]).max()
                                       or 1.0)
            ring_pen, ring_fill = pg.mkPen(OUTLINE, width=2), pg.mkBrush(*style.NEUTRAL)
            fill = self._value_brushes(ds.T_train[:, 0])
            test_style = {"brush": self._value_brushes(ds.T_test[:, 0])}
        elif ds.is_classification and len(train):
            brushes = [pg.mkBrush(*style.class_color(k)) for k in range(len(ds.class_names))]
            pens = [pg.mkPen(style.class_color(k), width=2) for k in range(len(ds.class_names))]
            fill = [brushes[k] for k in ds.y_train]
            test_style["pen"] = [pens[k] for k in ds.y_test]
        else:
            fill = [self.train_points.opts["brush"]] * len(train)
        # the default pen and brush also draw the legend's "test" marker
        self.test_points.setPen(ring_pen, update=False)
        self.test_points.setBrush(ring_fill, update=False)
        self.train_points.setData(x=train[:, 0], y=train[:, 1], brush=fill)
        self.test_points.setData(x=test[:, 0], y=test[:, 1], **test_style)

    def _value_brushes(self, values: np.ndarray) -> list:
        """Brushes for regression targets on the heatmap's diverging scale (64 shades)."""
        u = np.round(np.clip(values / self._target_scale, -1, 1) * 32) / 32
        return [pg.mkBrush(*rgb) for rgb in style.diverging_rgb(u)]

    def _fix_range(self, ds: Dataset, train: np.ndarray, test: np.ndarray) -> None:
        """A fixed view: the data bounds, equal aspect for input planes."""
        self.vb.disableAutoRange()
        names = ds.feature_names or tuple(f"x{i + 1}" for i in range(ds.n_features))
        if self._mode == REGRESSION_1D:
            self.vb.setAspectLocked(False)
            x0, x1, _, _ = data_bounds(ds.X_all)
            t = np.concatenate([train[:, 1], test[:, 1]])
            pad = (t.max() - t.min()) * CURVE_Y_MARGIN + 1e-9
            self.vb.setRange(xRange=(x0, x1), yRange=(t.min() - pad, t.max() + pad), padding=0)
            self.plot.setLabel("bottom", names[0])
            self.plot.setLabel("left", (ds.target_names or ("target",))[0])
            return
        self.vb.setAspectLocked(True, ratio=1)
        if ds.n_features >= 2:
            x0, x1, y0, y1 = data_bounds(ds.X_all)
            self.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
            self.plot.setLabel("bottom", names[0])
            self.plot.setLabel("left", names[1])
        else:
            self.plot.setLabel("bottom", "")
            self.plot.setLabel("left", "")

    def _fill_legend(self, ds: Dataset) -> None:
        self.legend.clear()
        entries = []
        if ds.is_classification:
            for k, name in enumerate(ds.class_names):
                swatch = _LegendSwatch(symbol="o", size=POINT_SIZE + 2,
                                       pen=pg.mkPen(OUTLINE, width=0.8),
                                       brush=pg.mkBrush(*style.class_color(k)))
                entries.append((swatch, f"class {name}" if name.isdigit() else name))
        if self._mode == REGRESSION_1D:
            entries.append((self.fit_curve, "network output"))
        entries.append((self.train_points, "train"))
        if len(ds.X_test):
            entries.append((self.test_points, "test"))
        self.legend.setColumnCount(len(entries))
        for item, label in entries:
            self.legend.addItem(item, label)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """As many legend entries a row as fit the panel's width (more rows rather than a cut
        one)."""
        entries = self.legend.items
        if not entries:
            return
        # the text's own width (a label's rectangle is as wide as its column)
        widths = [sample.boundingRect().width() + label.itemRect().width() + 16
                  for sample, label in entries]
        room = self.graphics.width() - 12
        columns = len(entries)
        while columns > 1 and max(sum(widths[k:k + columns])
                                  for k in range(0, len(widths), columns)) > room:
            columns -= 1
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)

    def legend_rows(self) -> list[list[str]]:
        """The legend's entries, row by row as laid out."""
        columns = max(1, self.legend.columnCount)
        labels = [label.text for _, label in self.legend.items]
        return [labels[k:k + columns] for k in range(0, len(labels), columns)]

    def legend_cut(self) -> bool:
        """Whether the legend runs past the panel's width."""
        shown = self.graphics.mapFromScene(self.legend.sceneBoundingRect()).boundingRect()
        return shown.right() > self.graphics.viewport().width() + 1

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def _note_text(self, ds: Dataset) -> str:
        if self._mode == CLASSIFICATION_2D:
            return ("Colour: the class the network predicts, paler where it is less sure. "
                    "Click a training point to pin it.")
        if self._mode == REGRESSION_2D:
            scale = style.format_value(self._target_scale)
            return (f"Colour: the network output (blue +, orange −, full at ±{scale}); points are "
                    "coloured by their target. Click a training point to pin it.")
        if self._mode == REGRESSION_1D:
            return ("Line: the network output y(x); points: the targets. "
                    "Click a training point to pin it.")
        n = ds.n_features
        text = f"The decision boundary needs 2 inputs; this dataset has {n}."
        if n > 2:
            names = ds.feature_names or ("x1", "x2")
            text += f" Showing the first two features ({names[0]}, {names[1]}) only."
        return text

    # -- per frame ---------------------------------------------------------------------------

    @Slot(object)
    def show_snapshot(self, snap: Snapshot) -> None:
        """Draw the network output of ``snap`` (a snapshot without a matching grid is ignored)."""
        b = snap.boundary
        if self._dataset is None or b is None or snap.sizes[0] != self._dataset.n_features:
            return
        if self._mode == REGRESSION_1D:
            self.fit_curve.setData(b.xs, b.output[:, 0], connect="finite", skipFiniteCheck=False)
            return
        if self._mode not in (CLASSIFICATION_2D, REGRESSION_2D) or len(b.ys) == 0:
            return
        if self._mode == CLASSIFICATION_2D:
            rgba = class_field_rgba(b.output)
            if self.boundary_line.isVisible():
                segments = [decision_segments(f, b.xs, b.ys, cells)
                            for f, cells in margin_fields(b.output)]
                self.boundary_line.setData(np.concatenate([s[0] for s in segments]),
                                           np.concatenate([s[1] for s in segments]))
        else:
            value = b.output[..., 0]
            rgba = np.empty(value.shape + (4,), dtype=np.uint8)
            rgba[..., :3] = style.diverging_rgb(value / self._target_scale)
            rgba[..., 3] = np.where(np.isfinite(value), 255, 0)
        self._rgba = rgba
        self.image.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.image.setRect(grid_rect(b.xs, b.ys))

    # -- picking -----------------------------------------------------------------------------

    def set_pinned(self, index: int | None) -> None:
        """Ring training sample ``index`` (None, or an index out of range, removes the ring)."""
        if index is None or not 0 <= index < len(self._points):
            self._pinned = None
            self.pinned_ring.setData([], [])
            return
        self._pinned = int(index)
        x, y = self._points[index]
        self.pinned_ring.setData([x], [y])

    def pinned(self) -> int | None:
        return self._pinned

    def point_scene_pos(self, index: int) -> QPointF:
        """Scene position of training point ``index`` (map it to the view to click on it)."""
        x, y = self._points[index]
        return self.vb.mapViewToScene(QPointF(float(x), float(y)))

    def pick(self, scene_pos: QPointF) -> int | None:
        """The training point within :data:`PICK_RADIUS_PX` of ``scene_pos`` nearest to it."""
        if (len(self._points) == 0 or not self.train_points.isVisible()
                or not self.vb.sceneBoundingRect().contains(scene_pos)):
            return None
        view = self.vb.mapSceneToView(scene_pos)
        pw, ph = self.vb.viewPixelSize()
        dx = (self._points[:, 0] - view.x()) / pw
        dy = (self._points[:, 1] - view.y()) / ph
        d2 = dx * dx + dy * dy
        i = int(np.argmin(d2))
        return i if d2[i] <= PICK_RADIUS_PX ** 2 else None

    @Slot(object)
    def _on_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        index = self.pick(ev.scenePos())
        if index is not None:
            self.set_pinned(index)
            self.samplePicked.emit(index)

    # -- queries (used by tests and the window) ----------------------------------------------

    def mode(self) -> str:
        return self._mode

    def image_rgba(self) -> np.ndarray | None:
        """The RGBA array (G, G, 4) drawn last, rows along ys; None before the first 2-D frame."""
        return self._rgba

    def note(self) -> str:
        """The explanation under the plot (what the colours mean, or why nothing is drawn)."""
        return self._note.text()
