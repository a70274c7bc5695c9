"""The network diagram's painted items: the edges (:class:`EdgeLayer`), the neurons
(:class:`NodeLayer`) with their heatmaps, the layer and value labels, the legends, the hover card,
the selection ring, the halos of chosen and hovered edges, and the phase band and banner. They
draw what :mod:`.network_layout` works out; :class:`.network_view.NetworkView` puts them together
and handles the mouse.

Every item is created once per architecture and updated with ``setData``/``setImage`` per frame.
Exports render the same scene: PNG paints as the screen does; SVG gets the edges as lines per bin
and the neurons as circles in pixel coordinates (see ``NodeLayer._paint_vectors``).
"""

from __future__ import annotations

import math

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, QSizeF, Qt, QTimer, Slot
from PySide6.QtGui import (QBrush, QColor, QFont, QImage, QPainter, QPaintEngine, QPen, QPixmap,
                           QTextDocument, QTextOption, QTransform)
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QWidget

from ...engine import numbers
from . import edge_raster
from ..plotting import style
from . import layout as nl
from ..plotting.qt import lower_this_thread

OUTLINE = (148, 163, 184)           # neuron outline
CHOSEN_HALO = (245, 158, 11, 190)   # edges chosen as surface axes
HOVER_HALO = (100, 116, 139, 120)   # the edge under the cursor
RING = (15, 23, 42)                 # the selected neuron
UPLINK_HALO = (16, 185, 129, 150)   # the selected neuron's uplinks, under its Σ label
REUSE_HALO = (250, 204, 21, 170)    # stored deltas a backward phase reuses, and their edges
REUSE_RING = (202, 138, 4)
MUTED = "#64748b"                   # secondary text
NOTE_FILL, NOTE_TEXT = "#fef3c7", "#92400e"   # a note in the edge legend (amber)
PALETTE_SIZE = 255        # neuron fills: the sign colour map in this many steps
MAP_LUT_SIZE = 64         # heatmap colours (pyqtgraph rebuilds a colour table per image per frame)


def font(points: float) -> QFont:
    """A font of ``points`` at actual size, at the interface's zoom (``style.zoom``)."""
    f = QFont()
    f.setPointSizeF(style.zoomed(points))
    return f


def plain_text(html: str) -> str:
    """The text a label's HTML shows, white space folded."""
    doc = QTextDocument()
    doc.setHtml(html)
    return " ".join(doc.toPlainText().split())


def node_palette() -> list[QColor]:
    """The neuron fills, ``PALETTE_SIZE`` steps of the sign colour map from −1 to +1."""
    return [QColor(*(int(v) for v in c)) for c in style.diverging_lut(PALETTE_SIZE)]


class Legend(pg.LabelItem):
    """A legend that takes the width the layout gives it instead of widening the layout: in a
    narrow panel it wraps between words onto more lines (taking the height from the diagram)
    rather than being cut or pushing the diagram out of view."""

    POINTS = 9.0

    def __init__(self):
        super().__init__("", justify="left", size=f"{style.zoomed(self.POINTS):g}pt",
                         color=style.FOREGROUND)
        option = self.item.document().defaultTextOption()
        option.setWrapMode(QTextOption.WordWrap)
        self.item.document().setDefaultTextOption(option)

    def resizeEvent(self, ev):
        width = self.rect().width()
        if width > 0:
            self.item.setTextWidth(-1)
            if self.item.boundingRect().width() > width:
                self.item.setTextWidth(width)
        height = self.minimumHeight()
        super().resizeEvent(ev)
        if abs(self.minimumHeight() - height) > 0.5:
            self.updateGeometry()         # more or fewer lines: the row takes their height

    def set_zoom(self, factor: float) -> None:
        """Its text at ``factor`` times its actual size."""
        self.opts["size"] = f"{self.POINTS * factor:g}pt"
        self.setText(self.text)

    def shown_lines(self) -> int:
        """The number of lines the legend takes as laid out."""
        doc = self.item.document()
        doc.documentLayout()                       # laid out at the width it has
        count, block = 0, doc.begin()
        while block.isValid():
            count += max(1, block.layout().lineCount())
            block = block.next()
        return count

    def is_cut(self) -> bool:
        """Whether any of the text lies outside the legend's rectangle."""
        return self.item.boundingRect().width() > self.rect().width() + 0.5

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(0)

    def sizeHint(self, hint, constraint):
        size = super().sizeHint(hint, constraint)
        return size if hint == Qt.SizeHint.MaximumSize else QSizeF(0, size.height())


class EdgeBin:
    """One colour bin of edges: its pen and its segments as ``QLineF``s laid out in one float
    array (x0, y0, x1, y1 per row), which ``QPainter.drawLines`` takes as it is. A frame's bins
    are split from the layer's binned edges only when read (the raster path does not need them)."""

    def __init__(self, layer: "EdgeLayer"):
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


def timed_plan(device: np.ndarray, clip) -> tuple[edge_raster.RasterPlan, float]:
    """:func:`edge_raster.plan_raster` and the milliseconds it took (runs on the plan thread)."""
    t0 = time.perf_counter()
    plan = edge_raster.plan_raster(device, clip)
    return plan, (time.perf_counter() - t0) * 1000


class EdgeLayer(pg.GraphicsObject):
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
        self.bins = {key: EdgeBin(self) for key in keys}
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

    def rendering(self) -> bool:
        """True while a frame's image is being rendered on the render thread."""
        return self._render_job is not None

    def render_anew(self) -> None:
        """Draw the next paint's image in full, from no previous image."""
        self._finish_render()
        if self._plan is not None:
            self._plan.forget()
        self._rendered = -1

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

    def set_styles(self, rgb: np.ndarray, widths: np.ndarray, antialias: bool) -> None:
        """Each bin's pen: RGB (bins, 3) and width per bin in paint order, antialiased or not;
        empties the bins (until the next frame)."""
        for c, w, edge_bin in zip(np.asarray(rgb).tolist(), np.asarray(widths).tolist(),
                                  self.bins.values()):
            edge_bin.pen = pg.mkPen(tuple(c), width=float(w))
            edge_bin.antialias = antialias
        self.clear_lines()
        self.set_colors(rgb)          # in bin order: the raster's levels 1, 2, …
        self.update()

    def set_colors(self, colors) -> None:
        """RGB per bin, in paint order (level 1, 2, …); the colours must be opaque."""
        rgb = np.asarray(colors, dtype=np.uint32).reshape(-1, 3)
        self._colors[1:] = 0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
        self._frame += 1

    def plan(self) -> "edge_raster.RasterPlan | None":
        """The raster plan the edges are drawn with (None: none built yet)."""
        return self._plan

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
        self._building = (key, self._segments, self._executor.submit(timed_plan, device, clip))
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


class NodeLayer(pg.GraphicsObject):
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


class DiagramBox(pg.ViewBox):
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



def halo(rgba, width: float, z: float) -> pg.PlotCurveItem:
    """Wide translucent lines under some edges (pairs of points: start, end, start, end, …)."""
    curve = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(rgba, width=width), antialias=True)
    curve.setZValue(z)
    return curve


def set_halo_edges(curve: pg.PlotCurveItem, lay: nl.Layout, edges) -> None:
    """Put ``curve`` under the ``edges`` (wi, i, j) of ``lay``."""
    pts = [lay.edge_segment(wi, i, j) for wi, i, j in edges]
    if not pts:
        curve.setData([], [])
        return
    seg = np.array(pts).T
    curve.setData(np.ravel(seg[[0, 2]].T), np.ravel(seg[[1, 3]].T))


def selection_ring() -> pg.ScatterPlotItem:
    ring = pg.ScatterPlotItem(pxMode=True, symbol="o", antialias=True,
                              pen=pg.mkPen(RING, width=2.5), brush=None)
    ring.setZValue(60)
    return ring


def sum_label() -> pg.TextItem:
    """The chain-rule label beside the selected neuron ("Σ w·δ = … × f′(z) … = δ …")."""
    label = pg.TextItem(anchor=(0, 0.5), color=(6, 78, 59), border=pg.mkPen(UPLINK_HALO[:3]),
                        fill=pg.mkBrush(236, 253, 245, 235))
    label.setFont(font(8.5))
    label.setZValue(90)
    label.hide()
    return label


def reuse_rings() -> pg.ScatterPlotItem:
    """Rings around the neurons whose stored deltas a backward phase reuses."""
    rings = pg.ScatterPlotItem(pxMode=True, symbol="o", antialias=True,
                               pen=pg.mkPen(REUSE_RING, width=3), brush=None)
    rings.setZValue(59)
    rings.hide()
    return rings


def hover_card() -> pg.TextItem:
    card = pg.TextItem(anchor=(0, 1), border=pg.mkPen(OUTLINE),
                       fill=pg.mkBrush(255, 255, 255, 240))
    card.setFont(font(9))
    card.setZValue(100)
    card.hide()
    return card


def phase_band() -> QGraphicsRectItem:
    """A band behind the layer the current phase of a pass walked phase by phase works on."""
    band = QGraphicsRectItem()
    band.setBrush(QBrush(QColor(250, 204, 21, 70)))
    band.setPen(QPen(QColor(202, 138, 4, 160), 0))
    band.setZValue(-10)
    band.hide()
    return band


def phase_banner() -> QLabel:
    """The line above the diagram that names the phase and says what it computes."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("background: #fef9c3; border: 1px solid #eab308; "
                        "border-radius: 3px; padding: 3px 6px; color: #422006;")
    label.hide()
    return label


def phase_banner_html(phase, running: bool) -> str:
    hint = (" <span style='color:#64748b'>— pause and Step by one phase to take it at "
            "your own pace</span>" if running else "")
    return f"<b>{phase.label()}</b>{hint}<br>{phase.detail}"


def neuron_maps(box: pg.ViewBox, lay: nl.Layout, shape) -> list[pg.ImageItem]:
    """A heatmap of ``shape`` inside every neuron's circle, added to ``box``."""
    lut = style.diverging_lut(MAP_LUT_SIZE)
    blank = np.zeros(shape, np.float32)
    images = []
    for (x, y), d in zip(lay.xy, lay.diameter):
        image = pg.ImageItem(blank, axisOrder="row-major", levels=(-1, 1))
        image.setLookupTable(lut)
        side = d * nl.MAP_FRACTION        # setRect scales the image: it needs its size
        image.setRect(QRectF(x - side / 2, y - side / 2, side, side))
        image.setZValue(55)
        box.addItem(image, ignoreBounds=True)
        images.append(image)
    return images


class LayerLabels:
    """A label under each layer column, in full ("hidden 1 (tanh)", "64 neurons") or, where the
    full ones would touch, short ("h1", "64")."""

    def __init__(self, box: pg.ViewBox, lay: nl.Layout, activations):
        self.items: list[pg.TextItem] = []
        self._html = []
        for titles in nl.layer_titles(lay.sizes, activations):
            self._html.append(tuple(
                f"<div align='center' style='color:{style.FOREGROUND}'>{title}<br>"
                f"<span style='color:{MUTED}'>{count}</span></div>" for title, count in titles))
            label = pg.TextItem(anchor=(0.5, 0))
            label.setFont(font(9))
            box.addItem(label, ignoreBounds=True)
            self.items.append(label)
        self._compact: bool | None = None
        self.set_compact(False)

    def refont(self) -> None:
        """Take the font at the interface's zoom, and measure the labels again."""
        compact, self._compact = self._compact, None
        for label in self.items:
            label.setFont(font(9))
        self.set_compact(bool(compact))

    def set_compact(self, compact: bool) -> None:
        if compact == self._compact:
            return
        self._compact = compact
        for label, html in zip(self.items, self._html):
            label.setHtml(html[compact])
            # measured unwrapped (a width left from the other form would wrap it inside words),
            # then fixed to that width, which lets align=center work
            label.setTextWidth(-1)
            label.setTextWidth(math.ceil(label.textItem.document().idealWidth()) + 1)

    def sizes(self) -> list[tuple[float, float]]:
        """(width, height) in pixels of each label as now shown."""
        return [(r.width(), r.height()) for r in (label.boundingRect() for label in self.items)]

    def place(self, positions) -> None:
        for label, (x, y) in zip(self.items, positions):
            label.setPos(x, y)

    def texts(self) -> list[str]:
        return [" ".join(label.textItem.toPlainText().split()) for label in self.items]

    def lines(self) -> list[list[str]]:
        """Each label's lines as laid out on screen (a line wrapped by width is two lines)."""
        result = []
        for label in self.items:
            doc = label.textItem.document()
            shown = []
            block = doc.begin()
            while block.isValid():
                layout, text = block.layout(), block.text()
                for k in range(layout.lineCount()):
                    line = layout.lineAt(k)
                    shown.append(text[line.textStart():line.textStart() + line.textLength()])
                block = block.next()
            result.append(shown)
        return result

    def remove(self, box: pg.ViewBox) -> None:
        for label in self.items:
            box.removeItem(label)


class ValueLabels:
    """Tiny values under the neurons of small layers, by flat neuron index."""

    def __init__(self, box: pg.ViewBox, lay: nl.Layout):
        self._lay = lay
        self.items: dict[int, pg.TextItem] = {}
        for node in nl.value_label_nodes(lay):
            label = pg.TextItem("", color=MUTED, anchor=(0.5, 0),
                                fill=pg.mkBrush(255, 255, 255, 190))
            label.setFont(font(7.5))
            label.textItem.document().setDocumentMargin(0)
            label.setPos(*nl.value_label_position(lay, node))
            label.setZValue(58)
            box.addItem(label, ignoreBounds=True)
            self.items[node] = label

    def refont(self) -> None:
        """Take the font at the interface's zoom."""
        for label in self.items.values():
            label.setFont(font(7.5))

    def set_values(self, per_layer) -> None:
        """Show each neuron's value of ``per_layer`` (NaN, not computed yet: "—", not "nan"); a
        value far below the largest one shown reads "0", its exact value on hover."""
        scale = numbers.scale_of(v for v in per_layer if v is not None)
        for node, label in self.items.items():
            layer, i = self._lay.layer_of(node)
            v = per_layer[layer]
            text = "" if v is None else style.format_known(float(v[i]), 3, scale)
            if label.textItem.toPlainText() != text:
                label.setText(text)
            tip = "" if v is None else numbers.exact(v[i])
            if label.toolTip() != tip:
                label.setToolTip(tip)

    def fit(self, scale: float) -> None:
        """Show the labels that have room at ``scale`` pixels a view unit."""
        for node, label in self.items.items():
            label.setVisible(nl.value_label_visible(self._lay, node, scale))

    def remove(self, box: pg.ViewBox) -> None:
        for label in self.items.values():
            box.removeItem(label)


def set_legend(label: pg.LabelItem, text: str) -> None:
    """Set a legend's text only when it changed (a new text re-lays the label out)."""
    if label.text != text:
        label.setText(text)


def _swatches(rgb_pos, rgb_neg) -> str:
    return (f"<span style='color:rgb{tuple(rgb_pos)}'>■ +</span> "
            f"<span style='color:rgb{tuple(rgb_neg)}'>■ −</span>")


def edge_legend_html(label: str, note: str, vmax: float, wide: bool, drawn: int, total: int,
                     not_computed: bool) -> str:
    """The edge legend: what the edges show and their scale, or ``note`` (why every edge is
    neutral) instead of the scale."""
    if note:
        return (f"<b>edges: {label}</b> &nbsp; <span style='background-color:{NOTE_FILL}; "
                f"color:{NOTE_TEXT}'>&nbsp;{note}&nbsp;</span>")
    shown = f", strongest {drawn:,} of {total:,} edges drawn" if drawn < total else ""
    return (f"<b>edges: {label}</b> &nbsp; |value| max {style.format_value(vmax, 3)}, "
            f"log scale over {nl.DECADES:g} decades (shade{', width' if wide else ''}), "
            + _swatches(style.POSITIVE, style.NEGATIVE) + shown
            + (f", <span style='color:rgb{nl.NEUTRAL_EDGE}'>■</span> not computed yet"
               if not_computed else ""))


def node_legend_html(mode: str, vmax: float, not_computed: bool, maps: bool,
                     sample: str = "") -> str:
    """The neuron legend; ``sample`` ("sample 3") when the values are one sample's."""
    what = nl.NODE_MODES[mode]
    if sample:
        what = f"{what.removeprefix('mean ')} of {sample}"
    return (f"<b>neurons: {what}</b> &nbsp; |max| "
            f"{style.format_value(vmax, 3)}, log scale over {nl.DECADES:g} decades, "
            + _swatches(style.POSITIVE, style.NEGATIVE)
            + (f", <span style='color:rgb{style.NEUTRAL}'>■</span> not computed yet"
               if not_computed else "")
            + (" &nbsp;·&nbsp; inside: its output map" if maps else ""))
