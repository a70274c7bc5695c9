"""Pictures of a panel's plot (a pyqtgraph ``GraphicsView``): PNG, SVG and animated GIF.

- **PNG** at ``scale``: the scene rendered into a QImage of exactly (view size × scale) pixels with
  the device pixel ratio set to the scale, antialiased, in pyqtgraph's export mode (symbols drawn as
  vectors, not from the pixmap cache). Cosmetic pens (pyqtgraph's default: widths in *device*
  pixels) are widened by the scale while rendering (:class:`ScaledPenPainter`), so a 4× picture
  is the panel at four times the resolution, lines, text and markers included, as its SVG
  shown at that size, rather than the same hairlines on a bigger canvas.
- **SVG**: the scene painted item by item into a ``QSvgGenerator`` (SVG 1.1, for clip paths;
  :func:`paint_items` says why not ``QGraphicsScene.render``), then cleaned up (:func:`clean_svg`):
  curves and edges are ``<path>``/``<polyline>`` elements, heatmaps embedded images. Qt writes data
  coordinates under a ``matrix()`` transform with ``vector-effect="non-scaling-stroke"``, which
  librsvg and older Inkscape ignore (a 1-px line becomes hundreds of pixels wide); the cleanup maps
  such coordinates to pixels so every viewer draws the same picture. Width and height are in
  pixels, the viewBox spans the panel. (pyqtgraph's own SVGExporter fails on current releases.)
- **GIF**: frames (QImages, each with a caption strip from :func:`captioned`) encoded by Pillow's
  GIF writer, each quantised to its own 256-colour palette, looping endlessly.

PNG and SVG are returned as bytes and a GIF is written to the path it is given, so the caller
decides how the file is put in place (:mod:`bpviz.engine.fileset`). Errors are
:class:`ExportError`, one line.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FunctionType
from typing import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QCoreApplication, QEvent, QIODevice, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (QAbstractGraphicsShapeItem, QGraphicsItem, QGraphicsLineItem,
                               QGraphicsView, QStyleOptionGraphicsItem)

from ...engine.errors import BpvizError
from ..plotting import style

GIF_FRAME_MS = 50
CAPTION_HEIGHT = 22                     # the strip under each GIF frame


class ExportError(BpvizError):
    """An export failed; the message says what and where (a path), in one line."""


# -- rendering -------------------------------------------------------------------------------------

def settle_layouts() -> None:
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
    """pyqtgraph's export mode on every item of the scene, and widened by ``pen_scale`` the
    cosmetic pens that :class:`ScaledPenPainter` cannot reach: those of Qt's own shape items
    (rectangles, paths, lines: painted in C++) and of axes (pyqtgraph records an axis into a
    ``QPicture`` with a painter of its own, then replays it); everything is restored afterwards."""
    items = view.scene().items()
    opts = {"antialias": True, "background": view.backgroundBrush().color(), "resolutionScale": 1.0}
    restore = []
    try:
        for item in items:
            if hasattr(item, "setExportMode"):
                item.setExportMode(True, opts)
        if pen_scale != 1:
            for item in items:
                if isinstance(item, (QAbstractGraphicsShapeItem, QGraphicsLineItem)) \
                        and not isinstance(type(item).paint, FunctionType):
                    pen = item.pen()
                    if pen.isCosmetic():
                        restore.append(partial(item.setPen, QPen(pen)))
                        item.setPen(widened(pen, pen_scale))
                elif isinstance(item, pg.AxisItem):
                    pen = item.pen()
                    restore.append(partial(item.setPen, QPen(pen)))
                    item.setPen(widened(pen, pen_scale))
        yield
    finally:
        for undo in reversed(restore):
            undo()
        for item in items:
            if hasattr(item, "setExportMode"):
                item.setExportMode(False)


def widened(pen: QPen, scale: float) -> QPen:
    """``pen`` ``scale`` times as wide (width 0 is a 1-px cosmetic line)."""
    wide = QPen(pen)
    wide.setWidthF(max(pen.widthF(), 1.0) * scale)
    return wide


class ScaledPenPainter(QPainter):
    """A painter whose cosmetic pens are ``pen_scale`` times as wide as the pens set on it.

    A picture at ``scale`` is the scene painted with the device pixel ratio ``scale``: geometry,
    text and pixel-sized markers grow with it, but a cosmetic pen (pyqtgraph's default: its width
    in *device* pixels) does not, so a 4× PNG would keep 1× line widths while its SVG, viewed at
    that size, has lines four times as wide. The items of the scene that paint in Python (every
    pyqtgraph item, the diagram's edges and legends) set their pens through this painter and get
    them widened here; Qt's own shape items are widened by :func:`_export_mode`.
    """

    def __init__(self, device, pen_scale: float = 1.0):
        super().__init__(device)
        self.pen_scale = pen_scale

    def setPen(self, *args) -> None:
        pen = args[0] if len(args) == 1 and isinstance(args[0], QPen) else QPen(*args)
        if self.pen_scale != 1 and pen.isCosmetic() and pen.style() != Qt.PenStyle.NoPen:
            pen = widened(pen, self.pen_scale)
        super().setPen(pen)


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
    painter = ScaledPenPainter(device, pen_scale)
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


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG, in memory (so that writing it reports the OS's reason on error)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError(f"Qt could not encode a {image.width()}×{image.height()} PNG")
    return bytes(buffer.data())


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


def write_gif(path: Path, frames: Iterable[QImage], frame_ms: int = GIF_FRAME_MS) -> None:
    """An endlessly looping GIF of ``frames`` written to the new file ``path`` by Pillow, each
    frame quantised to its own 256-colour palette. Not atomic: the caller stages ``path``."""
    Image = _pillow()

    def pil(q: QImage):
        q = q.convertToFormat(QImage.Format.Format_RGB888)
        rgb = Image.frombuffer("RGB", (q.width(), q.height()), bytes(q.constBits()), "raw", "RGB",
                               q.bytesPerLine(), 1)
        return rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)

    pictures = (pil(q) for q in frames)
    first = next(pictures, None)
    if first is None:
        raise ExportError("an animated GIF needs at least one frame")
    first.save(path, format="GIF", save_all=True, append_images=pictures, duration=frame_ms,
               loop=0)
