"""Export every panel: PNG (1×, 2×, 4×), SVG, the CSV data behind it and an animated GIF.

What a panel exports is described by a :class:`PanelExport` registered with the window's
:class:`Exporter` (``window.exporter.register(...)``); the four built-in panels are registered when
the window is built, and a new panel (an inspector histogram, say) registers itself the same way.
Each registration gives:

- ``view``: the panel's plot, a pyqtgraph ``GraphicsView``; PNG, SVG and GIF render its scene;
- ``tables(snapshot)``: the CSV files behind the plot, as ``{key: Table}`` (key ``""`` is the main
  file ``<stem>.csv``, any other key a companion ``<stem>_<key>.csv``);
- ``frames(snapshots)`` (optional): a generator that shows each snapshot in turn on an offscreen
  copy of the panel and yields the view to grab, for the GIF.

Formats:

- **PNG** at ``scale``: the scene rendered into a QImage of exactly (view size × scale) pixels with
  the device pixel ratio set to the scale, antialiased, in pyqtgraph's export mode (symbols drawn as
  vectors, not from the pixmap cache). Cosmetic pens (pyqtgraph's default: one *device* pixel wide)
  are widened by the scale while rendering, so a 4× picture is the panel at four times the
  resolution rather than the same hairlines on a bigger canvas.
- **SVG**: the scene painted item by item into a ``QSvgGenerator`` (SVG 1.1, for clip paths;
  :func:`paint_items` says why not ``QGraphicsScene.render``), then cleaned up (:func:`clean_svg`):
  curves and edges are ``<path>``/``<polyline>`` elements, heatmaps embedded images. Qt writes data
  coordinates under a ``matrix()`` transform with ``vector-effect="non-scaling-stroke"``, which
  librsvg and older Inkscape ignore (a 1-px line becomes hundreds of pixels wide); the cleanup maps
  such coordinates to pixels so every viewer draws the same picture. Width and height are in
  pixels, the viewBox spans the panel. (pyqtgraph's own SVGExporter fails on current releases.)
- **CSV**: numbers are Python floats, written with ``repr`` precision, so reading them back with
  ``float()`` gives the engine's values exactly. What each panel writes is in
  :func:`network_tables`, :func:`cost_tables`, :func:`surface_tables` and :func:`boundary_tables`.
- **GIF** of the last N snapshots up to the one shown: the window's timeline already keeps the
  recent snapshots (``window.history``, immutable, memory-capped, cleared for a new network), so
  nothing is rendered or stored while training; on export each snapshot is re-rendered offscreen
  (see :class:`PanelExport`). Each frame carries a caption (epoch, pass, frame k/N), which also
  keeps identical pictures apart: Pillow would merge identical consecutive frames.

Every file is written atomically (a temporary file beside the target, then ``os.replace``; on
error the temporary file is removed and the target is untouched). The files of one export (a
panel's CSV and its companions; everything *Export all* writes, manifest included) are put in
place together, only once all of them were written (:class:`bpviz.engine.fileset.FileSet`): a
failure leaves every old file of the folder as it was and no temporary file. Errors are raised as
:class:`ExportError` with a one-line message naming the path; the window shows them in a message
box.

Headless use (``bpviz export``): build a shown window from a session, wait for the first snapshot
and the surface slice, then call :func:`export_all` or :func:`export_panel`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import secrets
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, NamedTuple, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (QBuffer, QCoreApplication, QEvent, QIODevice, QObject, QRect, QRectF,
                            QSize, Qt, Slot)
from PySide6.QtGui import QAction, QColor, QCursor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (QApplication, QFileDialog, QGraphicsItem, QGraphicsView,
                               QInputDialog, QMenu, QStyleOptionGraphicsItem, QWidget)

from .. import __version__
from ..engine.errors import BpvizError
from ..engine.fileset import FileSet
from ..engine.snapshot import Snapshot
from ..engine.surface import flatten
from ..engine.trainer import History
from ..worker import HISTORY_ROWS
from . import style
from .boundary_view import BoundaryView
from .cost_view import CostView
from .network_view import NetworkView
from .surface_view import thin_path

if TYPE_CHECKING:
    from .main_window import MainWindow

FORMATS = ("png", "svg", "csv", "gif")
PNG_SCALES = (1, 2, 4)                  # offered in the menus; export_panel takes any 1..MAX_SCALE
MAX_SCALE = 8
ALL_PNG_SCALES = (1, 2)                 # what "Export all" writes
GIF_FRAMES = 60                         # default frame count of an animated GIF
GIF_MAX_FRAMES = 300
MAX_PASS_ROWS = 250_000   # per-pass losses kept for the cost CSV: the newest, 4 MB at most
GIF_FRAME_MS = 50
CAPTION_HEIGHT = 22                     # the strip under each GIF frame


class ExportError(BpvizError):
    """An export failed; the message says what and where (a path), in one line."""


# -- atomic files ----------------------------------------------------------------------------------

def write_atomic(path: Path, write: Callable[[Path], None], files: FileSet | None = None) -> Path:
    """Call ``write(tmp)`` to create a temporary file beside ``path``, then rename it to ``path``;
    with ``files`` (a FileSet of ``path``'s folder) the file is only staged there, and is put in
    place with the others by :func:`commit`.

    Nothing is left behind on error: the temporary file is removed and ``path`` keeps its old
    content (or stays absent). An ``OSError`` becomes an :class:`ExportError` naming ``path``.
    """
    path = Path(path)
    if files is not None:
        try:
            files.write(path.name, write)
        except OSError as e:
            raise ExportError(f"cannot write {path}: {e.strerror or e}") from e
        return path
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def commit(files: FileSet) -> None:
    """Put every file staged in ``files`` in place, or none (ExportError naming the file)."""
    try:
        files.commit()
    except OSError as e:
        raise ExportError(f"cannot write {e.filename or files.folder}: {e.strerror or e}") from e


def write_bytes(path: Path, data: bytes, files: FileSet | None = None) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "xb") as f:
            f.write(data)
    return write_atomic(path, write, files)


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG, in memory (so that writing it reports the OS's reason on error)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError(f"Qt could not encode a {image.width()}×{image.height()} PNG")
    return bytes(buffer.data())


# -- CSV tables (pure functions of snapshots) ------------------------------------------------------

class Table(NamedTuple):
    """One CSV file: a header and rows of Python numbers (floats are written with ``repr``)."""

    header: Sequence[str]
    rows: Sequence[Sequence]


def write_table(path: Path, table: Table, files: FileSet | None = None) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "x", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(table.header)
            out.writerows(table.rows)
    return write_atomic(path, write, files)


def _cell(arrays: Sequence[np.ndarray], k: int, i: int):
    """``float(arrays[k][i])``, or "" where that layer or neuron has no value."""
    if 0 <= k < len(arrays) and i < np.size(arrays[k]):
        return float(np.ravel(arrays[k])[i])
    return ""


def network_tables(snap: Snapshot) -> dict[str, Table]:
    """Edges (one row per weight) and neurons of ``snap``.

    ``layer`` is the engine's numbering: an edge of layer l belongs to ``W[l]`` (the snapshot's
    ``weights[l − 1]``) and runs from neuron ``from`` of layer l − 1 to neuron ``to`` of layer l.
    ``weight`` is the current weight (after the last update); ``gradient``, ``error_signal`` (w·δ)
    and ``update`` (Δw) belong to the last pass. Neurons of layer 0 (the inputs) have no δ or bias:
    those cells are empty.
    """
    edges = []
    for wi, W in enumerate(snap.weights):
        n_in, n_out = W.shape
        rows = np.repeat(np.arange(n_in), n_out).tolist()
        cols = np.tile(np.arange(n_out), n_in).tolist()
        columns = [np.ravel(a[wi]).tolist() for a in (snap.weights, snap.grad_weights,
                                                      snap.edge_signals, snap.update_weights)]
        edges += [[wi + 1, i, j, *values] for i, j, *values in zip(rows, cols, *columns)]
    neurons = []
    for layer, n in enumerate(snap.sizes):
        for i in range(n):
            neurons.append([layer, i, _cell(snap.activation_mean, layer, i),
                            *(_cell(a, layer - 1, i) for a in (snap.delta_mean, snap.delta_abs_mean,
                                                               snap.biases, snap.grad_biases))])
    return {
        "": Table(("layer", "from", "to", "weight", "gradient", "error_signal", "update"), edges),
        "neurons": Table(("layer", "index", "activation_mean", "delta_mean", "delta_mean_abs",
                          "bias", "bias_gradient"), neurons),
    }


def cost_tables(record: "RunRecord") -> dict[str, Table]:
    """The training history as the trainer holds it (a row per epoch, older ones thinned on very
    long runs; columns epoch, loss, accuracy, test_loss, test_accuracy, then the gradient norm of
    each layer) and the loss of every pass (position: the pass's fractional epoch)."""
    history = record.history()
    rows = [[int(row[0]), *row[1:]] for row in history.tolist()]
    passes = record.passes()
    first = record.pass_offset + 1
    pass_rows = [[first + k, position, loss] for k, (position, loss) in enumerate(passes.tolist())]
    return {"": Table(record.history_header, rows),
            "passes": Table(("pass", "position", "loss"), pass_rows)}


def surface_tables(result, snap: Snapshot, trajectory: np.ndarray | None,
                   trajectory_passes: np.ndarray | None) -> dict[str, Table]:
    """The shown slice in long format (x, y, loss; the header names the two axes), and the path:
    every recorded point of the trajectory projected on the slice's axes, then the current point.

    ``result`` is the surface panel's :class:`~bpviz.ui.surface_view.SliceResult`.
    """
    slc = result.slice
    names = (slc.axis_x.label(), slc.axis_y.label())
    gy, gx = np.meshgrid(np.arange(len(slc.ys)), np.arange(len(slc.xs)), indexing="ij")
    grid = [list(row) for row in zip(np.asarray(slc.xs)[gx].ravel().tolist(),
                                     np.asarray(slc.ys)[gy].ravel().tolist(),
                                     np.asarray(slc.loss).ravel().tolist())]
    path = []
    if trajectory is not None and trajectory.shape[1] == len(result.origin):
        coords = result.coordinates(trajectory).tolist()
        path += [["path", int(p), x, y] for p, (x, y) in zip(trajectory_passes.tolist(), coords)]
    params = flatten(snap.weights, snap.biases)
    if len(params) == len(result.origin):
        x, y = result.coordinates(params).tolist()
        path.append(["current", snap.pass_count, x, y])
    return {"": Table((*names, "loss"), grid), "path": Table(("point", "pass", *names), path)}


def boundary_tables(snap: Snapshot, dataset) -> dict[str, Table]:
    """The network output on the snapshot's grid (when there is one: 1 or 2 inputs) and the data
    points (every feature, the class label or the targets, and the split)."""
    features = tuple(dataset.feature_names) or tuple(f"x{i + 1}" for i in range(dataset.n_features))
    tables = {}
    b = snap.boundary
    if b is not None and snap.sizes[0] == dataset.n_features:
        out = np.asarray(b.output)
        outputs = tuple(f"output_{k}" for k in range(out.shape[-1]))
        if len(b.ys):
            gy, gx = np.meshgrid(np.arange(len(b.ys)), np.arange(len(b.xs)), indexing="ij")
            coords = np.column_stack([np.asarray(b.xs)[gx].ravel(), np.asarray(b.ys)[gy].ravel()])
            header = (*features[:2], *outputs)
        else:
            coords = np.asarray(b.xs)[:, None]
            header = (features[0], *outputs)
        rows = np.column_stack([coords, out.reshape(len(coords), -1)]).tolist()
        tables[""] = Table(header, rows)
    if dataset.is_classification:
        target_header = ("label",)
        targets = [np.asarray(y)[:, None] for y in (dataset.y_train, dataset.y_test)]
    else:
        k = dataset.n_outputs
        target_header = tuple(dataset.target_names) or (
            ("target",) if k == 1 else tuple(f"target_{j}" for j in range(k)))
        targets = [dataset.T_train, dataset.T_test]
    points = []
    for split, X, T in zip(("train", "test"), (dataset.X_train, dataset.X_test), targets):
        for x, t in zip(np.asarray(X, float).tolist(), np.asarray(T).tolist()):
            points.append([*x, *t, split])
    tables["points"] = Table((*features, *target_header, "split"), points)
    return tables


# -- what the run has produced: the history, the per-pass losses, the trajectory -------------------

class _Rows:
    """A growing float table (n, width) in one array that doubles when full (the pass losses)."""

    def __init__(self, width: int):
        self._a = np.empty((256, width))
        self.n = 0

    def view(self) -> np.ndarray:
        return self._a[:self.n]

    def truncate(self, n: int) -> None:
        self.n = max(0, min(n, self.n))

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=float).reshape(-1, self._a.shape[1])
        if self.n + len(rows) > len(self._a):
            grown = np.empty((max(2 * len(self._a), self.n + len(rows)), self._a.shape[1]))
            grown[:self.n] = self._a[:self.n]
            self._a = grown
        self._a[self.n:self.n + len(rows)] = rows
        self.n += len(rows)

    def drop_front(self, k: int) -> None:
        self._a[:self.n - k] = self._a[k:self.n].copy()
        self.n -= k


class RunRecord:
    """What exports need beyond what the panels hold, collected from every snapshot of the run.

    - the history, row for row as the trainer holds it: an engine ``History`` with the trainer's
      row cap, fed the same rows and truncated at the same epochs, so it thins alike (the cost
      panel thins far more, for drawing);
    - the loss of every pass (at most ``max_pass_rows``, the newest; ``pass_offset`` passes were
      dropped before them);
    - the newest recorded weight trajectory (snapshots carry it only now and then).

    History rows are addressed by epoch and passes by pass count, so a truncated history
    (divergence, a rewind) stays exact. :meth:`clear` starts a new run.
    """

    def __init__(self, max_history_rows: int | None = HISTORY_ROWS,
                 max_pass_rows: int = MAX_PASS_ROWS):
        self.max_history_rows = max_history_rows
        self.max_pass_rows = max_pass_rows
        self.clear()

    def clear(self) -> None:
        self.history_header: tuple[str, ...] = ()
        self._history = History(self.max_history_rows)
        self._passes = _Rows(2)
        self.pass_offset = 0
        self.trajectory: np.ndarray | None = None
        self.trajectory_passes: np.ndarray | None = None

    def history(self) -> np.ndarray:
        """(rows, columns of ``history_header``): the history rows of the run."""
        return self._history.table()

    def passes(self) -> np.ndarray:
        """(passes, 2): position (fractional epoch) and loss of each kept pass."""
        return self._passes.view()

    def ingest(self, snap: Snapshot) -> None:
        if tuple(snap.history_header) != self.history_header:
            self.history_header = tuple(snap.history_header)
            self._history = History(self.max_history_rows)
        new = np.asarray(snap.new_history)
        self._history.truncate_epochs(int(new[0, 0]) if len(new) else snap.history_length)
        self._history.extend(new)

        losses = np.asarray(snap.new_pass_losses)
        start = snap.pass_count - len(losses) - self.pass_offset
        if start < 0:                                   # a rewind past the kept passes
            self._passes, start = _Rows(2), 0
            self.pass_offset = max(0, snap.pass_count - len(losses))
        self._passes.truncate(start)
        if len(losses):
            self._passes.append(np.column_stack([snap.new_pass_positions, losses]))
        excess = self._passes.n - self.max_pass_rows
        if excess > 0:
            self._passes.drop_front(excess)
            self.pass_offset += excess

        if snap.trajectory is not None:
            self.trajectory, self.trajectory_passes = snap.trajectory, snap.trajectory_passes

    def cost_snapshot(self, snap: Snapshot) -> Snapshot:
        """``snap`` carrying the history and every kept pass up to it: fed to an empty cost
        panel, it draws the curves as they were when ``snap`` arrived."""
        end = max(0, snap.pass_count - self.pass_offset)
        passes = self.passes()[:end]
        history = self.history()
        return dataclasses.replace(snap, new_history=history[history[:, 0] < snap.history_length],
                                   new_pass_positions=passes[:, 0], new_pass_losses=passes[:, 1])


# -- rendering -------------------------------------------------------------------------------------

def _settle_layouts() -> None:
    """Apply pending layout changes (a legend's new text, a new size) before rendering, without
    running the event loop (which could deliver a newer snapshot mid-export)."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def view_size(view: QGraphicsView) -> QSize:
    """The size of the picture of ``view`` at 1×: its viewport."""
    return view.viewport().size()


def _source_rect(view: QGraphicsView) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


@contextmanager
def _export_mode(view: QGraphicsView, pen_scale: float = 1.0):
    """pyqtgraph's export mode on every item of the scene, and cosmetic pens of curves and axes
    widened by ``pen_scale``; everything is restored afterwards."""
    items = view.scene().items()
    opts = {"antialias": True, "background": view.backgroundBrush().color(), "resolutionScale": 1.0}
    restore = []
    try:
        for item in items:
            if hasattr(item, "setExportMode"):
                item.setExportMode(True, opts)
        if pen_scale != 1:
            for item in items:
                if isinstance(item, pg.PlotCurveItem):
                    for key in ("pen", "shadowPen"):
                        pen = item.opts.get(key)
                        if isinstance(pen, QPen) and pen.isCosmetic():
                            restore.append(partial(item.opts.__setitem__, key, pen))
                            item.opts[key] = _widened(pen, pen_scale)
                elif isinstance(item, pg.AxisItem):
                    pen = item.pen()
                    restore.append(partial(item.setPen, pen))
                    item.setPen(_widened(pen, pen_scale))
        yield
    finally:
        for undo in reversed(restore):
            undo()
        for item in items:
            if hasattr(item, "setExportMode"):
                item.setExportMode(False)


def _widened(pen: QPen, scale: float) -> QPen:
    wide = QPen(pen)
    wide.setWidthF(max(pen.widthF(), 1.0) * scale)    # width 0 is a 1-px cosmetic line
    return wide


def render_png(view: QGraphicsView, scale: float = 1) -> QImage:
    """The scene of ``view`` as an image of exactly (viewport size × ``scale``) pixels."""
    size = view_size(view)
    image = QImage(round(size.width() * scale), round(size.height() * scale),
                   QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(scale)
    with _export_painter(image, view, size, pen_scale=scale) as (painter, target):
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        view.scene().render(painter, target, _source_rect(view))
    return image


@contextmanager
def _export_painter(device, view: QGraphicsView, size, pen_scale: float = 1.0):
    """(painter, target rect) on ``device``: the view's background filled, antialiased, the scene
    in export mode; the painter is ended afterwards."""
    target = QRectF(0, 0, size.width(), size.height())
    painter = QPainter(device)
    try:
        painter.fillRect(target, view.backgroundBrush())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        with _export_mode(view, pen_scale=pen_scale):
            yield painter, target
    finally:
        painter.end()


_STACKS_BEHIND = QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent
_NEGATIVE_Z_BEHIND = QGraphicsItem.GraphicsItemFlag.ItemNegativeZStacksBehindParent
_CLIPS_CHILDREN = QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape
_CLIPS_SELF = QGraphicsItem.GraphicsItemFlag.ItemClipsToShape
_NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def paint_items(view: QGraphicsView, painter: QPainter) -> None:
    """Paint the scene of ``view`` in viewport coordinates, item by item, as the view stacks them,
    setting each item's clip (the shapes of its clipping ancestors) explicitly.

    ``QGraphicsScene.render`` gives the same picture on a raster device, but QSvgGenerator does
    not restore a clip on ``QPainter.restore()``: after any nested clip (every text item draws
    inside one) the following items keep that inner clip, and browsers then hide them. A clip set
    anew is written correctly, so every item gets one (the page, when nothing else clips it).
    """
    view.scene().prepareForPaint()                 # pyqtgraph view boxes update their transforms
    to_viewport = view.viewportTransform()
    page = QPainterPath()
    page.addRect(QRectF(view.viewport().rect()))
    option = QStyleOptionGraphicsItem()

    def draw(item: QGraphicsItem, clip: QPainterPath) -> None:
        if not item.isVisible():
            return
        to_device = item.deviceTransform(to_viewport)
        flags = item.flags()
        own_clip = clip.intersected(to_device.map(item.shape())) if flags & _CLIPS_SELF else clip
        child_clip = (clip.intersected(to_device.map(item.shape())) if flags & _CLIPS_CHILDREN
                      else clip)
        children = item.childItems()                # in stacking order
        behind = [c for c in children if c.flags() & _STACKS_BEHIND
                  or (c.zValue() < 0 and flags & _NEGATIVE_Z_BEHIND)]
        for child in behind:
            draw(child, child_clip)
        if not flags & _NO_CONTENTS:
            painter.save()
            painter.resetTransform()
            painter.setClipPath(own_clip)
            painter.setTransform(to_device)
            painter.setOpacity(item.effectiveOpacity())
            option.exposedRect = item.boundingRect()
            item.paint(painter, option, None)
            painter.restore()
        for child in children:
            if child not in behind:
                draw(child, child_clip)

    for item in view.scene().items(Qt.SortOrder.AscendingOrder):
        if item.parentItem() is None:
            draw(item, page)


def render_svg(view: QGraphicsView, title: str, description: str = "") -> bytes:
    """The scene of ``view`` as a cleaned-up SVG document (see :func:`clean_svg`)."""
    size = view_size(view)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)   # 1.1: clip paths are kept
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setResolution(view.logicalDpiX())     # font sizes as on screen
    generator.setTitle(title)
    generator.setDescription(description)
    with _export_painter(generator, view, size) as (painter, _):
        paint_items(view, painter)
    return clean_svg(bytes(buffer.data()), size.width(), size.height())


# -- SVG cleanup -----------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_IDENTITY = np.eye(3)


def _parse_matrix(text: str | None) -> np.ndarray | None:
    """The 3×3 matrix of ``matrix(a,b,c,d,e,f)`` (identity for None; None for anything else)."""
    if text is None:
        return _IDENTITY
    m = _MATRIX.match(text)
    if not m:
        return None
    a, b, c, d, e, f = (float(v) for v in re.split(r"[\s,]+", m.group(1).strip()))
    return np.array([[a, c, e], [b, d, f], [0.0, 0.0, 1.0]])


def _format_matrix(m: np.ndarray) -> str:
    a, c, e, b, d, f = m[:2].ravel()
    return "matrix(" + ",".join(f"{v:.8g}" for v in (a, b, c, d, e, f)) + ")"


def _num(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _map_pairs(tokens: list[str], m: np.ndarray, allowed: str) -> str | None:
    """Coordinate pairs in ``tokens`` mapped by ``m`` and written in pixels; None if a command
    outside ``allowed`` (or an odd number count) makes that unsafe."""
    out, pending = [], []
    for tok in tokens:
        if tok.isalpha():
            if tok not in allowed or pending:
                return None
            out.append(tok)
            continue
        pending.append(float(tok))
        if len(pending) == 2:
            x, y, _ = m @ (pending[0], pending[1], 1.0)
            out.append(f"{_num(x)},{_num(y)}")
            pending = []
    return None if pending else " ".join(out)


def _bake(elem: ET.Element, tag: str, m: np.ndarray) -> bool:
    """Write the coordinates of a path or polyline/polygon in pixels; False if it cannot be."""
    if tag == "path":
        mapped = _map_pairs(_TOKEN.findall(elem.get("d", "")), m, "MLCZ")
        if mapped is not None:
            elem.set("d", mapped)
    else:
        mapped = _map_pairs(_TOKEN.findall(elem.get("points", "")), m, "")
        if mapped is not None:
            elem.set("points", mapped)
    return mapped is not None


def _flatten(parent: ET.Element, m: np.ndarray, stroke: str | None) -> None:
    """Push group transforms down: stroke-scaling-free shapes get pixel coordinates, everything
    else (text, images, shapes with a scaling stroke) its own ``transform``."""
    for elem in parent:
        tag = elem.tag.rsplit("}", 1)[-1]
        if tag in ("defs", "clipPath", "title", "desc"):
            continue
        own = _parse_matrix(elem.get("transform"))
        if own is None:
            continue                                   # not Qt's form: leave it as written
        total = m @ own
        elem.attrib.pop("transform", None)
        if tag == "g":
            if elem.get("clip-path") and not np.allclose(total, _IDENTITY):
                elem.set("transform", _format_matrix(total))   # its clip path needs that space
                continue
            _flatten(elem, total, elem.get("stroke", stroke))
            continue
        effect = elem.get("vector-effect")
        bakeable = effect == "non-scaling-stroke" or elem.get("stroke", stroke) in (None, "none")
        if tag in ("path", "polyline", "polygon") and bakeable and _bake(elem, tag, total):
            elem.attrib.pop("vector-effect", None)      # pixels now: strokes scale with the figure
        elif not np.allclose(total, _IDENTITY):
            elem.set("transform", _format_matrix(total))


def _merge_clip_paths(root: ET.Element) -> None:
    """Keep the first of identical ``<clipPath>`` definitions and point every use at it."""
    parents = {child: parent for parent in root.iter() for child in parent}
    first: dict[bytes, str] = {}
    alias: dict[str, str] = {}
    for clip in list(root.iter(f"{{{SVG_NS}}}clipPath")):
        key = b"".join(ET.tostring(child) for child in clip)
        cid = clip.get("id")
        if key in first:
            alias[cid] = first[key]
            parents[clip].remove(clip)
        else:
            first[key] = cid
    for elem in root.iter():
        ref = elem.get("clip-path")
        if ref and ref[5:-1] in alias:                 # url(#id)
            elem.set("clip-path", f"url(#{alias[ref[5:-1]]})")


def clean_svg(data: bytes, width: int, height: int) -> bytes:
    """Make Qt's SVG render the same in browsers, Inkscape and librsvg.

    - width and height in pixels (Qt writes millimetres at the generator's resolution);
    - coordinates of cosmetic-pen curves mapped to pixels (:func:`_flatten`);
    - a zero stroke width (Qt's 1-px cosmetic line) written as 1; SVG draws nothing for 0;
    - a generic ``sans-serif`` after Qt's font alias "Sans Serif", which only Qt knows;
    - one clip path per distinct shape (:func:`paint_items` sets one per item).
    """
    root = ET.fromstring(data)
    root.set("width", str(width))
    root.set("height", str(height))
    _flatten(root, _IDENTITY, None)
    _merge_clip_paths(root)
    for elem in root.iter():
        if elem.get("stroke-width") == "0":
            elem.set("stroke-width", "1")
        family = elem.get("font-family")
        if family and "sans-serif" not in family:
            elem.set("font-family", f"{family}, sans-serif")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- animated GIF ----------------------------------------------------------------------------------

def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ExportError("animated GIF export needs Pillow: pip install pillow") from None
    return Image


def captioned(image: QImage, left: str, right: str) -> QImage:
    """``image`` with a caption strip under it (text at 1×, whatever the image's scale)."""
    out = QImage(image.width(), image.height() + CAPTION_HEIGHT, QImage.Format.Format_RGB32)
    out.fill(QColor(style.BACKGROUND))
    painter = QPainter(out)
    try:
        painter.drawImage(0, 0, image)
        painter.setPen(QColor(style.FOREGROUND))
        font = QFont()
        font.setPixelSize(12)
        painter.setFont(font)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        strip = QRect(8, image.height(), image.width() - 16, CAPTION_HEIGHT)
        align = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(strip, align | Qt.AlignmentFlag.AlignLeft, left)
        painter.drawText(strip, align | Qt.AlignmentFlag.AlignRight, right)
    finally:
        painter.end()
    return out


def write_gif(path: Path, frames: Iterable[QImage], frame_ms: int = GIF_FRAME_MS) -> Path:
    """An endlessly looping GIF of ``frames`` (each quantised to its own 256-colour palette)."""
    Image = _pillow()

    def pil(q: QImage):
        q = q.convertToFormat(QImage.Format.Format_RGB888)
        rgb = Image.frombuffer("RGB", (q.width(), q.height()), bytes(q.constBits()), "raw", "RGB",
                               q.bytesPerLine(), 1)
        return rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)

    pictures = (pil(q) for q in frames)
    first = next(pictures, None)
    if first is None:
        raise ExportError(f"cannot write {path}: no frames")

    def write(tmp: Path) -> None:
        first.save(tmp, format="GIF", save_all=True, append_images=pictures,
                   duration=frame_ms, loop=0)
    return write_atomic(path, write)


# -- the panels ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PanelExport:
    """What a panel exports (see the module docstring)."""

    name: str                                               # file stem: "network"
    title: str                                              # in menus: "Network"
    panel: QWidget                                          # shows snapshots (show_snapshot)
    view: QGraphicsView                                     # the plot that is rendered
    tables: Callable[[Snapshot], dict[str, Table]]          # CSV files behind the plot
    frames: Callable[[Sequence[Snapshot]], Iterator[QGraphicsView]] | None = None   # for GIFs


def plot_view(panel: QWidget) -> pg.GraphicsView:
    """The panel's plot: its pyqtgraph GraphicsView."""
    view = panel.findChild(pg.GraphicsView)
    if view is None:
        raise ValueError(f"{type(panel).__name__} has no pyqtgraph GraphicsView to export")
    return view


@contextmanager
def _offscreen_copy(live: QWidget, copy: QWidget):
    """``copy`` laid out offscreen with a plot as large as ``live``'s; closed afterwards."""
    copy.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    copy.resize(live.size())
    copy.show()
    copy.layout().activate()
    missing = view_size(plot_view(live)) - view_size(plot_view(copy))
    if not missing.isNull():
        copy.resize(copy.size() + missing)
        copy.layout().activate()
    try:
        yield plot_view(copy)
    finally:
        copy.close()
        copy.deleteLater()


def _network_export(window: "MainWindow") -> PanelExport:
    live = window.network

    def frames(snaps):
        copy = NetworkView()
        copy.set_overlay(live.overlay())
        copy.set_node_mode(live.node_mode())
        if live.selected_neuron() is not None:
            copy.select_neuron(*live.selected_neuron())
        with _offscreen_copy(live, copy) as view:
            for snap in snaps:
                copy.show_snapshot(snap)
                yield view

    return PanelExport("network", "Network", live, plot_view(live), network_tables, frames)


def _boundary_export(window: "MainWindow") -> PanelExport:
    live = window.boundary

    def tables(snap):
        if window.dataset is None:
            raise ExportError("the decision boundary has no dataset yet")
        return boundary_tables(snap, window.dataset)

    def frames(snaps):
        copy = BoundaryView()
        copy.set_dataset(window.dataset)
        copy.set_pinned(live.pinned())
        with _offscreen_copy(live, copy) as view:
            for snap in snaps:
                copy.show_snapshot(snap)
                yield view

    return PanelExport("boundary", "Decision boundary", live, plot_view(live), tables, frames)


def _surface_export(window: "MainWindow", record: RunRecord) -> PanelExport:
    """The slice is computed on the surface thread; a GIF keeps the shown slice and moves the
    point and the path to where each snapshot's weights project onto it."""
    live = window.surface

    def shown_result():
        result = live.current_result()
        if result is None:
            raise ExportError("the error surface has not been computed yet")
        return result

    def tables(snap):
        return surface_tables(shown_result(), snap, record.trajectory, record.trajectory_passes)

    def frames(snaps):
        result = shown_result()
        if len(flatten(snaps[-1].weights, snaps[-1].biases)) != len(result.origin):
            raise ExportError("the error surface is still being computed for the new network")
        saved = (live.path_item.getData(), live.last_step.getData(), live.marker.pos(),
                 live.marker.isVisible())
        try:
            for snap in snaps:
                params = flatten(snap.weights, snap.biases)
                point = result.coordinates(params)
                path = np.zeros((0, 2))
                if record.trajectory is not None and record.trajectory.shape[1] == len(params):
                    upto = record.trajectory[record.trajectory_passes <= snap.pass_count]
                    path = result.coordinates(thin_path(upto)).reshape(-1, 2)
                if not len(path) or not np.allclose(path[-1], point):
                    path = np.vstack([path, point])
                live.path_item.setData(path[:, 0], path[:, 1])
                live.last_step.setData(path[-2:, 0], path[-2:, 1])
                live.marker.setPos(float(point[0]), float(point[1]))
                live.marker.show()
                yield live.graphics
        finally:
            (px, py), (lx, ly), pos, visible = saved
            live.path_item.setData([] if px is None else px, [] if py is None else py)
            live.last_step.setData([] if lx is None else lx, [] if ly is None else ly)
            live.marker.setPos(pos)
            live.marker.setVisible(visible)

    return PanelExport("surface", "Error surface", live, plot_view(live), tables, frames)


def _cost_export(window: "MainWindow", record: RunRecord) -> PanelExport:
    live = window.cost

    def frames(snaps):
        copy = CostView()
        copy.set_log_scale(live.log_scale())
        with _offscreen_copy(live, copy) as view:
            for snap in snaps:
                copy.clear()
                copy.ingest(record.cost_snapshot(snap))
                copy.show_snapshot(snap)
                yield view

    return PanelExport("cost", "Cost curve", live, plot_view(live),
                       lambda _snap: cost_tables(record), frames)


# -- the window's exporter -------------------------------------------------------------------------

@contextmanager
def _busy():
    """A wait cursor while an export runs (a long GIF takes seconds)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class Exporter(QObject):
    """The window's export hub: the run record, the panels' registrations and the Export menus.

    ``menu`` is File → Export: one submenu per panel (PNG 1×/2×/4×, SVG, CSV, GIF) and
    "Export all…". Right-clicking a panel's plot offers the same under "Export…"; where pyqtgraph
    shows its own menu, its "Export..." entry leads here instead of pyqtgraph's exporters.
    """

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window = window
        self.record = RunRecord()
        self.panels: dict[str, PanelExport] = {}
        self._export_menus: dict[str, QMenu] = {}      # "Export…" ▸ formats, per panel
        self._context_menus: dict[str, QMenu] = {}     # right click: "Export…" ▸
        self.menu = QMenu("&Export", window)
        self._all_separator = self.menu.addSeparator()
        self.all_action = QAction("Export all…", self)
        self.all_action.setStatusTip("Every panel as PNG (1×, 2×), SVG and CSV into one folder, "
                                     "with a manifest")
        self.all_action.triggered.connect(self.export_all_dialog)
        self.menu.addAction(self.all_action)
        window.host.snapshotArrived.connect(self._on_snapshot)
        window.host.rebuilt.connect(self._on_rebuilt)
        for entry in (_network_export(window), _boundary_export(window),
                      _surface_export(window, self.record), _cost_export(window, self.record)):
            self.register(entry)

    @Slot(object)
    def _on_snapshot(self, snap: Snapshot) -> None:
        self.record.ingest(snap)

    @Slot(object)
    def _on_rebuilt(self, _payload) -> None:
        self.record.clear()

    # -- registration and menus -------------------------------------------------------------------

    def register(self, entry: PanelExport) -> None:
        """Add a panel: a File → Export submenu, and "Export…" on right-clicking its plot."""
        if entry.name in self.panels:
            raise ValueError(f"a panel named {entry.name!r} is registered already")
        self.panels[entry.name] = entry
        formats = QMenu(entry.title, self.window)       # File → Export → <title>
        for scale in PNG_SCALES:
            formats.addAction(f"PNG ({scale}×)…",
                              partial(self.save_dialog, entry.name, "png", scale))
        formats.addAction("SVG…", partial(self.save_dialog, entry.name, "svg", 1))
        formats.addAction("CSV data…", partial(self.save_dialog, entry.name, "csv", 1))
        if entry.frames is not None:
            formats.addAction("Animated GIF of the last snapshots…",
                              partial(self.save_dialog, entry.name, "gif", 1))
        self.menu.insertMenu(self._all_separator, formats)
        export = QMenu("Export…", entry.panel)           # the same actions, for the right click
        export.addActions(formats.actions())
        context = QMenu(entry.panel)
        context.addMenu(export)
        self._export_menus[entry.name] = export
        self._context_menus[entry.name] = context

        scene = entry.view.scene()
        scene.sigMouseClicked.connect(partial(self._on_scene_clicked, entry.name))
        pyqtgraph_export = scene.contextMenu[0]        # the "Export..." of pyqtgraph's own menus
        pyqtgraph_export.triggered.disconnect()
        pyqtgraph_export.triggered.connect(partial(self._popup_formats, entry.name))

    def context_menu(self, name: str) -> QMenu:
        """The menu that right-clicking the panel's plot opens."""
        return self._context_menus[name]

    def _on_scene_clicked(self, name: str, ev) -> None:
        """A right click that no plot item took (no pyqtgraph menu): our menu."""
        if ev.button() == Qt.MouseButton.RightButton and not ev.isAccepted():
            self._context_menus[name].popup(ev.screenPos().toPoint())

    def _popup_formats(self, name: str, _checked: bool = False) -> None:
        self._export_menus[name].popup(QCursor.pos())

    # -- dialogs ----------------------------------------------------------------------------------

    def _folder(self) -> str:
        return str(self.window.settings.value("export/folder", str(Path.home())))

    def _remember(self, folder: Path) -> None:
        self.window.settings.setValue("export/folder", str(folder))

    def save_dialog(self, name: str, fmt: str, scale: int, _checked: bool = False) -> None:
        """Ask for a file (and for a GIF, the frame count), then export."""
        entry = self.panels[name]
        frames = GIF_FRAMES
        if fmt == "gif":
            available = len(film(self.window, GIF_MAX_FRAMES))
            if not available:
                self.window.show_error("Nothing to animate", "no snapshot has arrived yet")
                return
            frames, ok = QInputDialog.getInt(
                self.window, f"Animated GIF of {entry.title.lower()}",
                f"Frames (the last snapshots; {available} kept):", min(GIF_FRAMES, available), 1,
                available)
            if not ok:
                return
        suffix = f"@{scale}x" if fmt == "png" and scale != 1 else ""
        suggested = Path(self._folder()) / f"{name}{suffix}.{fmt}"
        what = f"{entry.title} as {fmt.upper()}" + (f" ({scale}×)" if fmt == "png" else "")
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {what}", str(suggested),
                                              f"{fmt.upper()} files (*.{fmt})")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != f".{fmt}":
            path = path.with_name(path.name + f".{fmt}")
        self.export_to(name, fmt, path, scale=scale, frames=frames)

    def export_to(self, name: str, fmt: str, path: Path, scale: int = 1,
                  frames: int = GIF_FRAMES) -> list[Path]:
        """:func:`export_panel`, with errors shown to the user instead of raised."""
        try:
            with _busy():
                written = export_panel(self.window, name, fmt, path, scale=scale, frames=frames)
        except ExportError as e:
            self.window.show_error("Export failed", str(e))
            return []
        self._remember(Path(path).parent)
        self.window.statusBar().showMessage(
            f"exported {', '.join(p.name for p in written)} to {Path(path).parent}", 6000)
        return written

    @Slot()
    def export_all_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export all panels into…",
                                                  self._folder())
        if folder:
            self.export_all_to(Path(folder))

    def export_all_to(self, folder: Path) -> list[Path]:
        """:func:`export_all`, with errors shown to the user instead of raised."""
        try:
            with _busy():
                written = export_all(self.window, folder)
        except ExportError as e:
            self.window.show_error("Export failed", str(e))
            return []
        self._remember(folder)
        self.window.statusBar().showMessage(f"exported {len(written)} files to {folder}", 6000)
        return written


# -- the public functions --------------------------------------------------------------------------

def shown_snapshot(window: "MainWindow") -> Snapshot | None:
    """The snapshot the panels show: the one picked on the timeline, else the newest."""
    return window.timeline.shown() or window.latest


def film(window: "MainWindow", frames: int) -> list[Snapshot]:
    """The last ``frames`` snapshots the timeline keeps, up to the one shown (oldest first)."""
    shown = shown_snapshot(window)
    kept = [window.history[k] for k in range(len(window.history))]
    if shown is not None:
        kept = [snap for snap in kept if snap.seq <= shown.seq]
    return kept[-frames:]


def _prepare(window: "MainWindow") -> Snapshot:
    """Show the snapshot shown in every panel (hidden ones too) and settle the layouts."""
    snap = shown_snapshot(window)
    if snap is None:
        raise ExportError("nothing to export yet: no snapshot has arrived")
    window.paint_now()
    for entry in window.exporter.panels.values():
        if not entry.panel.isVisible():
            entry.panel.show_snapshot(snap)
    _settle_layouts()
    return snap


def _entry(window: "MainWindow", name: str) -> PanelExport:
    panels = window.exporter.panels
    if name not in panels:
        raise ExportError(f"no panel named {name!r}; choose one of {', '.join(panels)}")
    return panels[name]


def _description(snap: Snapshot) -> str:
    sizes = "-".join(str(n) for n in snap.sizes)
    return f"bpviz {__version__}: network {sizes}, epoch {snap.epoch}, pass {snap.pass_count}"


def _write_panel(entry: PanelExport, snap: Snapshot, fmt: str, path: Path, scale: int = 1,
                 snaps: Sequence[Snapshot] = (), files: FileSet | None = None) -> list[Path]:
    """Write one format of one panel (staged in ``files`` when given); ``snaps`` are a GIF's
    frames."""
    if fmt == "png":
        return [write_bytes(path, png_bytes(render_png(entry.view, scale)), files)]
    if fmt == "svg":
        data = render_svg(entry.view, f"bpviz — {entry.title.lower()}", _description(snap))
        return [write_bytes(path, data, files)]
    if fmt == "csv":
        return [write_table(path if key == "" else path.with_name(f"{path.stem}_{key}.csv"), table,
                            files)
                for key, table in entry.tables(snap).items()]
    if entry.frames is None:
        raise ExportError(f"the {entry.title.lower()} panel cannot be animated")
    if not snaps:
        raise ExportError("nothing to animate yet: no snapshot has arrived")

    def images() -> Iterator[QImage]:
        views = entry.frames(snaps)
        try:
            for k, (snap_k, view) in enumerate(zip(snaps, views), start=1):
                _settle_layouts()
                yield captioned(render_png(view), f"{entry.title} · epoch {snap_k.epoch} · pass "
                                f"{snap_k.pass_count}", f"{k}/{len(snaps)}")
        finally:
            views.close()           # the offscreen copy goes now, not when collected
    return [write_gif(path, images())]


def export_panel(window: "MainWindow", name: str, fmt: str, path, scale: int = 1,
                 frames: int = GIF_FRAMES) -> list[Path]:
    """Export panel ``name`` ("network", "boundary", "surface", "cost", or any registered one)
    as ``fmt`` ("png", "svg", "csv", "gif") to ``path``; returns the files written.

    PNG is (plot size × ``scale``) pixels, ``scale`` a whole number 1…8. CSV writes ``path`` and
    companions beside it (``<stem>_passes.csv``, ``_neurons``, ``_path``, ``_points``). A GIF shows
    the last ``frames`` snapshots up to the one shown (at most :data:`GIF_MAX_FRAMES`, and only
    as many as the timeline keeps). Raises :class:`ExportError` with a one-line message.
    """
    entry = _entry(window, name)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not (isinstance(scale, int) and 1 <= scale <= MAX_SCALE):
        raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE}, got {scale!r}")
    if not (isinstance(frames, int) and 1 <= frames <= GIF_MAX_FRAMES):
        raise ExportError(f"frames must be a whole number from 1 to {GIF_MAX_FRAMES}, "
                          f"got {frames!r}")
    snap = _prepare(window)
    snaps = film(window, frames) if fmt == "gif" else ()
    path = Path(path)
    with FileSet(path.parent) as files:          # a CSV and its companions: all or none
        written = _write_panel(entry, snap, fmt, path, scale, snaps, files)
        commit(files)
    return written


def _json_default(value):
    """numpy values in dataset parameters as plain JSON; anything else as its text."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def export_all(window: "MainWindow", folder) -> list[Path]:
    """Every panel as PNG (1× and 2×), SVG and CSV into ``folder`` (created if missing), and
    ``manifest.json``: bpviz version, date, configuration, dataset, the snapshot shown and every
    file written (format, scale, bytes). Returns the paths written, the manifest last."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the folder {folder}: {e.strerror or e}") from e
    snap = _prepare(window)
    staged = FileSet(folder)        # every file, then the manifest, put in place together
    with staged:
        files = _export_all_files(window, snap, folder, staged)
        manifest_path = _export_all_manifest(window, snap, folder, files, staged)
        commit(staged)
    return [folder / f["file"] for f in files] + [manifest_path]


def _export_all_files(window: "MainWindow", snap: Snapshot, folder: Path,
                      staged: FileSet) -> list[dict]:
    files = []
    for name, entry in window.exporter.panels.items():
        jobs = [("png", scale, f"{name}.png" if scale == 1 else f"{name}@{scale}x.png")
                for scale in ALL_PNG_SCALES]
        jobs += [("svg", 1, f"{name}.svg"), ("csv", 1, f"{name}.csv")]
        for fmt, scale, filename in jobs:
            for path in _write_panel(entry, snap, fmt, folder / filename, scale, files=staged):
                files.append({"file": path.name, "panel": name, "format": fmt,
                              **({"scale": scale} if fmt == "png" else {}),
                              "bytes": staged.temporary(path).stat().st_size})
    return files


def _export_all_manifest(window: "MainWindow", snap: Snapshot, folder: Path, files: list[dict],
                         staged: FileSet) -> Path:
    ds = window.dataset
    manifest = {
        "bpviz_version": __version__,
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "config": window.config.to_dict(),
        "dataset": None if ds is None else {
            "name": ds.name, "task": ds.task, "source": ds.source, "params": dict(ds.params),
            "features": list(ds.feature_names), "classes": list(ds.class_names),
            "n_train": len(ds.X_train), "n_test": len(ds.X_test)},
        "snapshot": {"epoch": snap.epoch, "pass_count": snap.pass_count, "loss": snap.loss},
        "files": files,
    }
    text = json.dumps(manifest, indent=2, default=_json_default) + "\n"
    return write_bytes(folder / "manifest.json", text.encode("utf-8"), staged)
