"""The Graph panel: one training sample's pass through the selected neuron, operation by operation.

The panel draws the computational graph of :func:`bpviz.engine.graph.build_graph` for the neuron
selected in the network diagram and the pinned training sample, at the weights the last pass used
(those of the snapshot's pinned-sample values). Leaves — inputs, weights, biases and constants —
show their values from the start; the learner then computes the graph one node at a time: first
forward (each node's value from its inputs), then backward (each node's gradient ∂ℓ/∂node from the
nodes that use it: the local derivative times their gradient, summed where a value fans out). The
line under the drawing writes out the arithmetic of the node just computed.

Public state: :attr:`GraphView.stage` ("forward", "backward" or "done"), :attr:`GraphView.steps`
(nodes computed so far) and the ``stageChanged(str)`` signal.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QGraphicsPathItem,
                               QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QHBoxLayout,
                               QLabel, QLineEdit, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from ...engine.errors import BpvizError
from ...engine.graph import Graph, build_graph, fmt
from ...engine.network import Network
from ...engine.snapshot import Snapshot
from ..plotting import style

BOX_W, BOX_H = 132, 54
COL_W, ROW_H = BOX_W + 34, BOX_H + 12
MIN_SCALE = 0.8            # below this the numbers are too small to read: scroll instead
# Shorter than this (a tab under the diagram at 1280×720), the panel puts a one-line header beside
# its buttons, the full one in its tooltip: the drawing keeps room for two rows of nodes.
COMPACT_BELOW = 260
LEAF_BG = QColor(241, 245, 249)         # slate-100
PENDING_BG = QColor(255, 255, 255)
FORWARD_BG = QColor(219, 234, 254)      # blue-100
BACKWARD_BG = QColor(255, 237, 213)     # orange-100
CURRENT_PEN = QColor(220, 38, 38)       # red-600
EDGE = QColor(148, 163, 184)            # slate-400
EDGE_FLOW = QColor(234, 88, 12)         # the gradient flowing into the node just computed
MUTED = "#64748b"
POS, NEG = ("#%02x%02x%02x" % style.POSITIVE, "#%02x%02x%02x" % style.NEGATIVE)

KEYS = {Qt.Key_Right: "next", Qt.Key_N: "next", Qt.Key_Left: "previous", Qt.Key_P: "previous",
        Qt.Key_Backspace: "previous", Qt.Key_End: "run_all", Qt.Key_Home: "start_over"}


def _signed(v: float) -> str:
    s = html.escape(fmt(v))
    if v is not None and np.isfinite(v) and v != 0:
        s = f'<span style="color:{POS if v > 0 else NEG}">{s}</span>'
    return s


class _NodeItem:
    """A node's box and its three lines of text: op and name, value, gradient."""

    def __init__(self, scene: QGraphicsScene, node, x: float, y: float, font: QFont,
                 bold: QFont):
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, BOX_W, BOX_H), 6, 6)
        self.box = QGraphicsPathItem(path)
        self.box.setPos(x, y)
        scene.addItem(self.box)
        self.title = QGraphicsSimpleTextItem(f"{node.symbol}  {node.label}".strip(), self.box)
        self.title.setFont(bold)
        self.title.setPos(6, 3)
        self.value = QGraphicsSimpleTextItem("", self.box)
        self.value.setFont(font)
        self.value.setPos(6, 19)
        self.grad = QGraphicsSimpleTextItem("", self.box)
        self.grad.setFont(font)
        self.grad.setPos(6, 35)
        for item in (self.title, self.value, self.grad):     # long labels stay inside the box
            w = item.boundingRect().width()
            if w > BOX_W - 10:
                item.setScale((BOX_W - 10) / w)
        self.grad_name = f"∂ℓ/∂{node.label}" if len(node.label) <= 5 else "gradient"
        self.box.setToolTip(node.forward_text or f"{node.label} = {fmt(node.value)}")


class GraphView(QWidget):
    """The computational graph of the pinned sample through the selected neuron."""

    stageChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.StrongFocus)
        self._selected = (1, 0)
        self._snap: Snapshot | None = None
        self._key = None
        self.graph: Graph | None = None
        self.steps = 0
        self._stage = "forward"
        self._items: dict[str, _NodeItem] = {}
        self._edges: dict[tuple[str, str], QGraphicsPathItem] = {}
        self._placeholder = ""
        self._header_html = ""
        self._short_title = ""
        self._compact = False
        self._focus = None       # the window's focus model (bind_focus), read when the header is shown
        self.zoom = 1.0          # Ctrl+wheel on the drawing
        self.build_count = 0     # graphs built (and drawn) so far
        self._build()
        self._show_placeholder("Waiting for the first snapshot…")

    def bind_focus(self, model) -> None:
        """Follow the window's focus (a :class:`~bpviz.ui.window.focus.FocusModel`): the graph is always
        one sample's; in batch-mean focus its header says so."""
        self._focus = model
        model.changed.connect(self._show_header)

    @Slot()
    def _show_header(self) -> None:
        note = ""
        if self._focus is not None and not self._focus.is_sample() and self._header_html:
            note = (f"<br><span style='color:{MUTED}'>The other panels show batch means; a graph "
                    f"is one sample's pass: this is the pinned sample.</span>")
        self.header.setText(self._header_html + note)
        self._show_short_header()

    def _show_short_header(self) -> None:
        if not self._compact:
            return
        g, steps = self.graph, self.steps
        nf = len(g.forward_order) if g is not None else 0
        nb = len(g.backward_order) if g is not None else 0
        short = (f"{steps}/{nf} values" if steps < nf else
                 f"{steps - nf}/{nb} gradients" if steps < nf + nb else "done")
        self.short_header.setText(f"{self._short_title} · {short}")
        self.short_header.setToolTip(f"{self.header.text()}<br>{self.progress.text()}")

    def is_compact(self) -> bool:
        """Whether the panel shows its one-line header beside the buttons (it is short)."""
        return self._compact

    def _set_compact(self, compact: bool) -> None:
        compact = compact and self.graph is not None
        if compact == self._compact:
            return
        self._compact = compact
        self.header.setVisible(not compact)
        self.progress.setVisible(not compact)
        self.short_header.setVisible(compact)
        self._box.setContentsMargins(2, 1 if compact else 4, 2, 1 if compact else 4)
        self._box.setSpacing(2 if compact else 4)
        self._show_short_header()

    # -- construction ----------------------------------------------------------------------------

    def _build(self) -> None:
        lay = self._box = QVBoxLayout(self)
        lay.setContentsMargins(2, 4, 2, 4)
        lay.setSpacing(4)
        self.header = QLabel()
        self.header.setTextFormat(Qt.RichText)
        self.header.setWordWrap(True)
        lay.addWidget(self.header)
        row = QHBoxLayout()
        row.setSpacing(3)
        # the compact header: beside the buttons when the panel is short (see COMPACT_BELOW)
        self.short_header = QLabel()
        self.short_header.setTextFormat(Qt.RichText)
        self.short_header.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.short_header.hide()
        row.addWidget(self.short_header, 1)
        self.start_button = self._button("Start over", "start_over",
                                         "Hide every computed value and gradient again (Home)")
        self.previous_button = self._button("◂ Undo", "previous",
                                            "Take back the last node computed (← or P)")
        self.next_button = self._button("Next node ▸", "next",
                                        "Compute one more node: forward values first, then the "
                                        "gradients from the loss back (→ or N)")
        self.run_button = self._button("Run all ▸▸", "run_all",
                                       "Compute every remaining value and gradient (End)")
        for b in (self.start_button, self.previous_button, self.next_button, self.run_button):
            row.addWidget(b)
        self.progress = QLabel()
        self.progress.setStyleSheet("padding-left: 8px;")
        self.progress.setWordWrap(True)
        # it takes the width the buttons leave and never widens the panel (nor the window)
        self.progress.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene)
        self.view.setRenderHint(QPainter.Antialiasing)
        self.view.setRenderHint(QPainter.TextAntialiasing)
        self.view.setFocusPolicy(Qt.NoFocus)
        self.view.setBackgroundBrush(QBrush(QColor(style.BACKGROUND)))
        self.view.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self.view.viewport().installEventFilter(self)
        lay.addWidget(self.view, 1)
        self.arithmetic = QLabel()
        self.arithmetic.setTextFormat(Qt.RichText)
        self.arithmetic.setWordWrap(True)
        self.arithmetic.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.arithmetic.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.arithmetic.setStyleSheet("background: #f8fafc; border: 1px solid #e2e8f0; "
                                      "padding: 4px;")
        lay.addWidget(self.arithmetic)
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        self._bold = QFont(self._font)
        self._bold.setBold(True)

    def _button(self, text: str, what: str, tip: str) -> QToolButton:
        b = QToolButton()             # a push button's minimum width would widen the window
        b.setText(text)
        b.setToolButtonStyle(Qt.ToolButtonTextOnly)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.NoFocus)        # the panel keeps the focus, and with it the keys
        b.clicked.connect(lambda _=False, w=what: self._act(w))
        return b

    # -- public API ---------------------------------------------------------------------------------

    @property
    def stage(self) -> str:
        """"forward" (values being computed), "backward" (gradients being computed) or "done"."""
        return self._stage

    def selected_neuron(self) -> tuple[int, int]:
        return self._selected

    @Slot(int, int)
    def select_neuron(self, layer: int, index: int) -> None:
        """Follow neuron ``index`` of layer ``layer`` (diagram numbering, 0 = input)."""
        if (int(layer), int(index)) == self._selected:
            return
        self._selected = (int(layer), int(index))
        self._refresh()

    @Slot(object)
    def show_snapshot(self, snap: Snapshot) -> None:
        """Show ``snap``. While training runs and the panel is off screen (behind another tab) it
        only keeps the snapshot: the window hands it over again when the panel comes into view."""
        self._snap = snap
        if snap.running and self.graph is not None and self.visibleRegion().isEmpty():
            return
        self._refresh()

    def next_node(self) -> None:
        self._set_steps(self.steps + 1)

    def previous_node(self) -> None:
        self._set_steps(self.steps - 1)

    def run_all(self) -> None:
        self._set_steps(self.total_steps())

    def start_over(self) -> None:
        self._set_steps(0)

    def total_steps(self) -> int:
        g = self.graph
        return 0 if g is None else len(g.forward_order) + len(g.backward_order)

    def current_node(self) -> str | None:
        """The id of the node computed last (None before the first step)."""
        g = self.graph
        if g is None or self.steps == 0:
            return None
        nf = len(g.forward_order)
        return g.forward_order[self.steps - 1] if self.steps <= nf else \
            g.backward_order[self.steps - nf - 1]

    def node_texts(self, node_id: str) -> tuple[str, str]:
        """(value line, gradient line) as the node's box shows them."""
        item = self._items[node_id]
        return item.value.text(), item.grad.text()

    def node_item(self, node_id: str) -> _NodeItem:
        return self._items[node_id]

    def placeholder(self) -> str:
        """Why no graph is drawn ("" when one is)."""
        return self._placeholder

    # -- keys and clicks ------------------------------------------------------------------------

    def _act(self, what: str) -> None:
        {"next": self.next_node, "previous": self.previous_node, "run_all": self.run_all,
         "start_over": self.start_over}[what]()
        self.setFocus(Qt.OtherFocusReason)

    def event(self, event) -> bool:
        # the panel's own keys win over the window's (→ is Step elsewhere) while it has the focus
        if (event.type() == QEvent.ShortcutOverride and event.key() in KEYS
                and not event.modifiers() & ~Qt.KeypadModifier):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        what = KEYS.get(event.key())
        if what is not None and not event.modifiers() & ~Qt.KeypadModifier:
            self._act(what)
            return
        super().keyPressEvent(event)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.MouseButtonPress:
            self.setFocus(Qt.MouseFocusReason)
        elif event.type() == QEvent.Wheel and event.modifiers() & Qt.ControlModifier:
            self.zoom *= 1.15 ** (event.angleDelta().y() / 120)
            self.zoom = min(3.0, max(0.3, self.zoom))
            self._fit()
            return True
        return False

    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.MouseFocusReason)
        super().mousePressEvent(event)

    def take_focus_soon(self) -> None:
        """Brought to the front (its tab chosen, View → Graph, maximised): take the keyboard
        focus once the layout settled, so that its keys work with no click inside the drawing
        first."""
        QTimer.singleShot(0, self._take_focus_if_in_front)

    @Slot()
    def _take_focus_if_in_front(self) -> None:
        """Take the keyboard focus if the panel is still on screen once the layout settled (a
        tab group shows and hides its panels while the window is laid out), and no box that is
        typed into has it."""
        window = self.window()
        if not (self.isVisible() and window.isActiveWindow()) or self.visibleRegion().isEmpty():
            return
        focused = QApplication.focusWidget()
        if isinstance(focused, (QAbstractSpinBox, QLineEdit)) and focused.isVisible():
            return
        self.setFocus(Qt.OtherFocusReason)

    # -- building ----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        snap = self._snap
        if snap is None:
            return self._show_placeholder("Waiting for the first snapshot…")
        layer, index = self._selected
        if not (0 <= layer < len(snap.sizes) and 0 <= index < snap.sizes[layer]):
            return self._show_placeholder("Select a neuron in the network diagram.")
        if layer == 0:
            return self._show_placeholder(
                "An input neuron computes nothing: click a neuron of a hidden layer or of the "
                "output layer in the network diagram to see its pass as a graph.")
        sv = snap.sample
        if sv is None:
            return self._show_placeholder(
                "Pin a training sample (click one on the decision boundary, or choose it in the "
                "neuron inspector) to follow it through the graph.")
        W, B = snap.trace_weights, snap.trace_biases
        key = (self._selected, snap.sizes, snap.activations, sv.index)
        same = (self.graph is not None and key == self._key
                and all(np.array_equal(a, b) for a, b in zip(W, self._weights[0]))
                and all(np.array_equal(a, b) for a, b in zip(B, self._weights[1]))
                and np.array_equal(sv.x, self._sample[0]) and np.array_equal(sv.target,
                                                                             self._sample[1]))
        if same:
            return
        acts = list(snap.activations)
        net = Network(snap.sizes, acts[:-1], acts[-1], weights=W, biases=B)
        try:
            with np.errstate(all="ignore"):
                graph = build_graph(net, sv.x, sv.target, layer, index)
        except BpvizError as e:
            return self._show_placeholder(f"Layer {layer}, neuron {index}: {e}.")
        keep = key == self._key and self.graph is not None and \
            list(graph.nodes) == list(self.graph.nodes)
        self.graph, self._key = graph, key
        self.build_count += 1
        self._weights, self._sample = (W, B), (sv.x, sv.target)
        self._net = net
        self._placeholder = ""
        self._draw()
        self._set_steps(self.steps if keep else 0, force=True)

    def _show_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.graph, self._key = None, None
        self.scene.clear()
        self._items, self._edges = {}, {}
        self.header.setText(f'<span style="color:{MUTED}">{html.escape(text)}</span>')
        self.arithmetic.setText("")
        self.arithmetic.hide()
        self._set_steps(0, force=True)
        self._set_compact(False)

    def _layout(self, g: Graph) -> dict[str, tuple[int, int]]:
        """(column, row) of every node: a computed node one column right of its latest computed
        input, a leaf one column left of its first use."""
        col: dict[str, int] = {}
        for nid in g.forward_order:
            node = g[nid]
            computed = [col[i] for i in node.inputs if i in col]
            col[nid] = (max(computed) + 1) if computed else 1
        for nid, node in g.nodes.items():
            if node.is_leaf:
                col[nid] = max(0, min((col[c] for c in node.consumers), default=1) - 1)
        rows: dict[int, int] = {}
        out = {}
        for nid in g.nodes:
            c = col[nid]
            out[nid] = (c, rows.get(c, 0))
            rows[c] = rows.get(c, 0) + 1
        return out

    def _draw(self) -> None:
        g = self.graph
        self.scene.clear()
        self._items, self._edges = {}, {}
        pos = self._layout(g)
        height = max(r for _, r in pos.values()) + 1
        counts: dict[int, int] = {}
        for c, _ in pos.values():
            counts[c] = counts.get(c, 0) + 1
        for nid, node in g.nodes.items():
            c, r = pos[nid]
            offset = (height - counts[c]) * ROW_H / 2          # centre every column
            self._items[nid] = _NodeItem(self.scene, node, c * COL_W, offset + r * ROW_H,
                                         self._font, self._bold)
        for nid, node in g.nodes.items():
            for i in node.inputs:
                a, b = self._items[i].box.pos(), self._items[nid].box.pos()
                path = QPainterPath()
                x0, y0 = a.x() + BOX_W, a.y() + BOX_H / 2
                x1, y1 = b.x(), b.y() + BOX_H / 2
                path.moveTo(x0, y0)
                path.cubicTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1)
                edge = QGraphicsPathItem(path)
                edge.setZValue(-1)
                self.scene.addItem(edge)
                self._edges[(i, nid)] = edge
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-8, -8, 8, 8))
        self._fit()
        layer, index = self._selected
        act = self._snap.activations[layer - 1]
        sv = self._snap.sample
        vec = lambda v: "(" + ", ".join(fmt(x) for x in v) + ")"   # noqa: E731
        pair = {"softmax": "softmax + cross-entropy", "sigmoid": "sigmoid + binary cross-entropy",
                "linear": "linear + ½ squared error"}[g.output]
        self._header_html = (
            f"<b>Layer {layer}, neuron {index}</b> ({act}) · sample #{sv.index}: "
            f"x = {vec(sv.x)}, t = {vec(sv.target)} · {pair} · "
            f'<span style="color:{MUTED}">ℓ: this sample\'s loss (training minimises the mean of ℓ '
            f"over the mini-batch)</span>")
        self._short_title = f"<b>Layer {layer}, neuron {index}</b> · #{sv.index}"
        self._show_header()
        self.header.setToolTip(f"{g.normalisation} The weights are those the last pass used.")
        self._set_compact(self.height() < COMPACT_BELOW)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._set_compact(self.height() < COMPACT_BELOW)
        self._fit()

    def set_zoom(self, _factor: float) -> None:
        """Draw the graph at the interface's zoom (``style.zoom``)."""
        self._fit()

    def rows_shown(self) -> float:
        """How many rows of nodes the drawing's visible height holds at its scale."""
        scale = self.drawing_scale()
        return self.view.viewport().height() / (ROW_H * scale) if scale > 0 else 0.0

    def drawing_scale(self) -> float:
        """Pixels on screen per unit of the drawing (1: a box is ``BOX_W`` pixels wide)."""
        return float(self.view.transform().m11())

    def _fit(self) -> None:
        rect = self.scene.sceneRect()
        vp = self.view.viewport().size()
        if rect.isEmpty() or vp.width() < 10:
            return
        # Ctrl+wheel's zoom times the interface's (View → Enlarge): boxes, text and lines alike
        scale = self.zoom * style.zoom() * min(1.0, max(MIN_SCALE, min(
            vp.width() / rect.width(), vp.height() / rect.height())))
        self.view.resetTransform()
        self.view.scale(scale, scale)

    # -- stepping ----------------------------------------------------------------------------------

    def _set_steps(self, steps: int, force: bool = False) -> None:
        steps = max(0, min(int(steps), self.total_steps()))
        if steps == self.steps and not force:
            return
        self.steps = steps
        g = self.graph
        if g is None:
            stage = "forward"
        else:
            nf, nb = len(g.forward_order), len(g.backward_order)
            stage = "forward" if steps < nf else "backward" if steps < nf + nb else "done"
            self._paint_nodes()
        for b in (self.start_button, self.previous_button):
            b.setEnabled(g is not None and steps > 0)
        for b in (self.next_button, self.run_button):
            b.setEnabled(g is not None and steps < self.total_steps())
        self._update_progress()
        if stage != self._stage:
            self._stage = stage
            self.stageChanged.emit(stage)

    def _paint_nodes(self) -> None:
        g = self.graph
        nf = len(g.forward_order)
        forward_done = set(g.forward_order[:min(self.steps, nf)])
        backward_done = set(g.backward_order[:max(0, self.steps - nf)])
        current = self.current_node()
        for nid, node in g.nodes.items():
            item = self._items[nid]
            known = node.is_leaf or nid in forward_done
            item.value.setText(f"= {fmt(node.value)}" if known else "= ?")
            item.grad.setText(f"{item.grad_name} = {fmt(node.grad)}" if nid in backward_done
                              else "")
            if nid in backward_done:
                brush = BACKWARD_BG
            elif node.is_leaf:
                brush = LEAF_BG
            elif known:
                brush = FORWARD_BG
            else:
                brush = PENDING_BG
            item.box.setBrush(QBrush(brush))
            pen = QPen(CURRENT_PEN if nid == current else QColor(100, 116, 139),
                       3.0 if nid == current else 1.0)
            if not known:
                pen.setStyle(Qt.DashLine)
            item.box.setPen(pen)
        backward_current = current is not None and self.steps > nf
        for (src, dst), edge in self._edges.items():
            flow = (current is not None and
                    ((not backward_current and dst == current) or
                     (backward_current and src == current)))
            edge.setPen(QPen(EDGE_FLOW if flow else EDGE, 2.4 if flow else 1.0))
        follow = current if current is not None else g.forward_order[0]
        self.view.ensureVisible(self._items[follow].box.sceneBoundingRect(), 40, 20)
        self._update_arithmetic()

    def _update_progress(self) -> None:
        g = self.graph
        if g is None:
            self.progress.setText("")
            return
        nf, nb = len(g.forward_order), len(g.backward_order)
        s = self.steps
        if s < nf:
            text = f"Forward pass: {s} of {nf} values computed"
        elif s < nf + nb:
            text = f"Backward pass: {s - nf} of {nb} gradients computed"
        else:
            text = f"Done: {nf} values and {nb} gradients"
        self.progress.setText(text)
        self._show_short_header()

    def _update_arithmetic(self) -> None:
        g = self.graph
        current = self.current_node()
        self.arithmetic.show()
        if current is None:
            self.arithmetic.setText(
                "Inputs, weights and biases are known. Press <b>Next node ▸</b> (or →) to compute "
                "the first operation of the forward pass.")
            return
        node = g[current]
        nf = len(g.forward_order)
        if self.steps <= nf:
            text = f"<b>Forward.</b> {html.escape(node.forward_text)}"
            if self.steps == nf:
                text += (f"<br>The forward pass is done: this sample's loss ℓ = "
                         f"{_signed(g.loss)}. Next, the gradients, from the loss back.")
        else:
            text = f"<b>Backward.</b> {html.escape(node.backward_text)}"
            if current == g.z_id:
                text += (f"<br>This is δ of layer {g.layer}, neuron {g.index} for this sample: "
                         f"{_signed(node.grad)} (the neuron inspector shows the same δ for the "
                         f"pinned sample).")
            if self.steps == self.total_steps():
                text += ("<br>Done: every weight and bias in the graph has its ∂ℓ/∂w for this "
                         "sample.")
        self.arithmetic.setText(text)
