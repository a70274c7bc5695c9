"""The network diagram panel: neurons in layer columns, edges coloured by the chosen overlay.

Layer 0 is the input; layer l ≥ 1 is fed by the weights array ``snap.weights[l - 1]`` of shape
(n_{l-1}, n_l). Signals name a weight as ``("W", wi, i, j)`` with ``wi = l − 1`` (the weights
array index); cards and the edit strip show it as ``W[l][i, j]``, numbered by the layer it feeds.

The panel is three modules:

- :mod:`.network_layout` (no Qt): where every neuron and edge goes, how the diagram fits the
  panel, what is at a point, which edges a large network draws, what a drag does to a weight and
  how values become colour bins and fills;
- :mod:`.network_items`: the painted items that draw it;
- this module: :class:`NetworkView`, which builds the items, feeds them each snapshot and turns
  the mouse into hover cards, selections and edits.

What is drawn:

- edges, sorted into colour bins (sign × magnitude bin, plus one neutral bin for zero and NaN):
  sign is the colour (``style.POSITIVE`` blue, ``style.NEGATIVE`` orange), the magnitude on
  ``style.symlog_normalise``'s log scale sets the shade and, for small networks, the width; weak
  bins paint first, the strongest on top. One item draws them all (``EdgeLayer``): a
  ``drawLines`` call per bin, or for networks of up to ``RASTER_EDGE_LIMIT`` one-pixel edges an
  image rendered with numpy (:mod:`.edge_raster`). Larger networks draw only the strongest
  ``EDGE_CAP`` edges (shared among the layers, plus the chosen and focused ones);
- neurons, one item (``NodeLayer``), filled by mean δ or mean activation on the same kind of
  scale; for 2-D inputs and at most ``MAP_NEURON_LIMIT`` neurons a small heatmap of each
  neuron's output over the input plane sits inside its circle;
- layer labels, tiny values under the neurons of small layers ("—" where a pass walked phase by
  phase has not computed the value yet: the snapshot holds NaN there), a hover card, a selection
  ring and halos for the hovered and chosen edges;
- two legends, for the edges and the neurons: the scale, or why the edges have nothing to show
  ("update Δw" with no update yet: before the first pass, after a weight set by hand, a reset or
  a session opened; every edge is drawn neutral then).

The panel never changes a weight: dragging an edge or editing the strip under the plot emits
``parametersEdited`` and the next snapshot shows the result.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGraphicsView, QHBoxLayout, QLabel,
                               QSizePolicy, QSlider, QVBoxLayout, QWidget)

from ...engine.phases import FORWARD, GRADIENTS, HIDDEN_DELTA, LOSS, UPDATE, Phase
from ...engine.snapshot import Focused, Snapshot, focused
from . import items as items
from ..window.focus import MEAN, MEAN_NOTE, SAMPLE, FocusModel
from . import layout as nl
from ..plotting import style
# The drawing limits are read from this module when a new architecture is laid out, so that a
# test or the bench can set them here.
from .layout import (EDGE_CAP, MAG_BINS, MAP_NEURON_LIMIT, NODE_MODES, OVERLAYS,
                             RASTER_EDGE_LIMIT, RING_FACTOR, VALUE_LABEL_PIXELS, WIDE_EDGE_LIMIT)

__all__ = ["NetworkView", "OVERLAYS", "NODE_MODES", "EDGE_CAP", "MAG_BINS", "RASTER_EDGE_LIMIT"]

EMIT_INTERVAL_MS = 33     # edits while dragging go out at most this often (≤ 30 per second)
NO_UPDATE_NOTE = "no update yet — step or play to see Δw"
TOO_SMALL_NOTE = "Too small to draw the network — make this panel larger (View → Reset layout)"
TOO_SMALL_PIXELS = 40          # a diagram whose neurons would span fewer pixels is not drawn


NOT_YET = "δ not computed yet in this phase"
SUM_GRID_LIMIT = 400   # the Σ label looks for a free place all over diagrams with fewer obstacles


class NetworkView(QWidget):
    """The network diagram. Feed it snapshots with :meth:`show_snapshot`.

    Signals:
    - ``neuronSelected(layer, index)``: a neuron was clicked (or :meth:`select_neuron` changed it);
    - ``surfaceAxesChosen([("W", wi, i, j), ("W", wi, i, j)])``: two distinct edges were clicked;
    - ``parametersEdited([("W", wi, i, j, value)])``: the user dragged an edge or typed a value;
    - ``edgeClicked(wi, i, j)``: an edge was clicked.
    """

    neuronSelected = Signal(int, int)

    neuronClicked = Signal(int, int)     # every click on a neuron, also on the selected one
    edgeClicked = Signal(int, int, int)  # every click on an edge, as (wi, i, j)
    surfaceAxesChosen = Signal(object)
    parametersEdited = Signal(object)
    _editOffered = Signal(object)        # an edit while dragging, rate-limited on its way out

    def __init__(self, parent: QWidget | None = None, focus: FocusModel | None = None):
        super().__init__(parent)
        self._snap: Snapshot | None = None
        # the window's focus (one sample or the batch mean), read at every paint
        self._focus_model = focus if focus is not None else FocusModel(parent=self)
        self._focus_model.changed.connect(self._on_focus_changed)
        self._focused = None                 # (snapshot, sample?, Focused) last computed
        self._arch = None
        self._edge_limits: tuple[int, int] | None = None    # set_edge_limits; None: the module's
        # while a pass is shown phase by phase, the edges and neurons follow the phase; the
        # user's own choice of (overlay, neuron mode) comes back when the phases end
        self._chosen_modes: tuple[str, str] | None = None
        self._phase_setting = False
        self._emphasised: int | None = None
        self._layout: nl.Layout | None = None
        self._plan = nl.EdgePlan(wide=True, raster=False, budget=[])
        self._every_edge = False                               # every edge drawn, every frame
        self._drawn = nl.DrawnEdges.none()                     # what the last frame drew
        self._selected: tuple[int, int] | None = None
        self._chosen: list[tuple[int, int, int]] = []          # (wi, i, j)
        self._focus: tuple[int, int, int] | None = None        # the edge in the edit strip
        self._hover = None                                     # hit under the cursor
        self._hover_pos = QPointF()
        self._drag: dict | None = None
        self._images: list[pg.ImageItem] = []
        self._node_brush_index = None                          # fills drawn, as palette indices
        self._labels: items.LayerLabels | None = None
        self._values: items.ValueLabels | None = None
        # drag and slider edits: at most one per EMIT_INTERVAL_MS, the last one always delivered
        self._edit_proxy = pg.SignalProxy(self._editOffered, delay=EMIT_INTERVAL_MS / 1000,
                                          rateLimit=1000 / EMIT_INTERVAL_MS,
                                          slot=self._emit_edit, threadSafe=False)
        self._edit_proxy.setParent(self)       # goes, with its timer's connection, with the panel

        self._build_controls()
        self._build_plot()
        self._build_edit_strip()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._controls)
        layout.addLayout(self._focus_row)
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
        # as wide in either focus ("mean activation" or "activation"), whichever it opens in
        self._node_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._node_combo.setMinimumContentsLength(max(len(t) for t in NODE_MODES.values()))
        self._overlay_combo.currentIndexChanged.connect(self._on_mode_changed)
        self._node_combo.currentIndexChanged.connect(self._on_mode_changed)
        self._controls = QHBoxLayout()
        self._controls.setContentsMargins(4, 2, 4, 0)
        self._controls.addWidget(QLabel("Edges:"))
        self._controls.addWidget(self._overlay_combo)
        self._controls.addSpacing(12)
        self._controls.addWidget(QLabel("Neurons:"))
        self._controls.addWidget(self._node_combo)
        self._focus_combo = QComboBox()
        self._focus_combo.addItem("batch mean", MEAN)
        self._focus_combo.addItem("pinned sample", SAMPLE)
        self._focus_combo.setToolTip(
            "What every panel shows values for: the pinned training sample (pick one in the "
            "decision boundary or the inspector), whose values obey δ = f′(z)·Σ w·δ exactly, or "
            "the mean over the batch, which does not")
        self._focus_combo.setCurrentIndex(self._focus_combo.findData(self._focus_model.mode))
        self._focus_combo.currentIndexChanged.connect(self._on_focus_combo)
        self._label_node_modes()
        self._controls.addStretch(1)
        # one line whatever the width (a wrapping label changes the plot's height as the panel
        # is resized); the full explanation is its tooltip
        self._focus_header = QLabel()
        self._focus_header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._focus_row = QHBoxLayout()
        self._focus_row.setContentsMargins(4, 0, 4, 0)
        self._focus_row.addWidget(QLabel("Values for:"))
        self._focus_row.addWidget(self._focus_combo)
        self._focus_row.addWidget(self._focus_header, 1)

    def _build_plot(self) -> None:
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setBackground(style.BACKGROUND)
        # A new snapshot changes nearly every item: one repaint of the whole view costs a fraction
        # of what the minimal update (pyqtgraph's default) spends on thousands of dirty rectangles
        # (measured 20 ms against 126 ms for 8,448 edges).
        self._graphics.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self._graphics.ci.setContentsMargins(6, 2, 6, 2)
        self._graphics.ci.layout.setSpacing(0)
        self._edge_legend = items.Legend()
        self._box = items.DiagramBox(self._on_drag)
        self._box.sigResized.connect(self._fit_view)
        self._node_legend = items.Legend()
        for row, item in enumerate((self._edge_legend, self._box, self._node_legend)):
            self._graphics.addItem(item, row=row, col=0)
        scene = self._graphics.scene()
        scene.sigMouseClicked.connect(self._on_scene_clicked)
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        self._graphics.viewport().installEventFilter(self)
        # said instead of drawing when the panel is too small for the diagram
        self._too_small = QLabel(TOO_SMALL_NOTE, self._graphics)
        self._too_small.setWordWrap(True)
        self._too_small.setAlignment(Qt.AlignCenter)
        self._too_small.setStyleSheet(f"color: {style.FOREGROUND}; background: {style.BACKGROUND}")
        self._too_small.hide()
        policy = self._box.sizePolicy()
        policy.setRetainSizeWhenHidden(True)      # hidden when too small, still resized
        self._box.setSizePolicy(policy)

        self._edges = items.EdgeLayer(nl.BIN_KEYS)
        self._box.addItem(self._edges, ignoreBounds=True)
        self._phase_band = items.phase_band()
        self._box.addItem(self._phase_band, ignoreBounds=True)
        self._phase_label = items.phase_banner()
        self._phase_halo = items.halo((234, 179, 8, 150), 10, z=-3)   # the phase's edges
        self._box.addItem(self._phase_halo, ignoreBounds=True)
        self._emphasis: tuple[int, str] | None = None           # (layer, "neurons" | "edges")
        self._emphasis_band = items.phase_band()
        self._emphasis_band.setBrush(pg.mkBrush(59, 130, 246, 60))
        self._emphasis_band.setPen(pg.mkPen(37, 99, 235, 200, width=2))
        self._emphasis_band.setZValue(-9)
        self._box.addItem(self._emphasis_band, ignoreBounds=True)
        self._chosen_halo = items.halo(items.CHOSEN_HALO, 9, z=-2)
        self._hover_halo = items.halo(items.HOVER_HALO, 7, z=-1)

        self._scale = 1.0                      # pixels per view unit, set by _fit_view
        self._palette = items.node_palette()
        self._nodes = items.NodeLayer(self._palette, items.OUTLINE)
        self._nodes.setZValue(50)
        self._ring = items.selection_ring()
        self._card = items.hover_card()
        self._uplink_halo = items.halo(items.UPLINK_HALO, 8, z=-3)
        self._uplinks: list[tuple[int, int, int]] = []       # emphasised under the Σ label
        self._sum_label = items.sum_label()
        self._sum_text = ""                    # its text on one line (it may show on two)
        self._sum_leader = pg.PlotCurveItem(pen=pg.mkPen(items.UPLINK_HALO[:3], width=1.5))
        self._sum_leader.setZValue(89)
        self._sum_leader.hide()
        self._reuse_halo = items.halo(items.REUSE_HALO, 8, z=-4)
        self._reuse_rings = items.reuse_rings()
        self._reused: tuple[list, list] = ([], [])            # (neurons, edges) lit
        for item in (self._chosen_halo, self._hover_halo, self._nodes, self._ring, self._card,
                     self._uplink_halo, self._sum_label, self._sum_leader, self._reuse_halo,
                     self._reuse_rings):
            self._box.addItem(item, ignoreBounds=True)

    def _build_edit_strip(self) -> None:
        self._focus_label = QLabel()
        self._spin = QDoubleSpinBox()
        self._spin.setRange(-1e6, 1e6)
        self._spin.setDecimals(5)
        self._spin.setSingleStep(0.01)
        self._spin.setKeyboardTracking(False)    # emit on Enter / focus out, not per keystroke
        self._spin.setMinimumWidth(110)
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setRange(-nl.SLIDER_STEPS, nl.SLIDER_STEPS)
        self._slider_scale = 1.0
        self._spin.valueChanged.connect(self._on_spin_changed)
        self._slider.valueChanged.connect(self._on_slider_changed)
        self._strip = QHBoxLayout()
        self._strip.setContentsMargins(4, 0, 4, 2)
        self._strip.addWidget(self._focus_label, 1)
        self._strip.addWidget(self._spin)
        self._strip.addWidget(self._slider, 1)
        self._set_strip_enabled(False)

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
        self.emphasise_edges(None if snap.phase is None else snap.phase.weights_index)
        self._paint_frame()

    def _show_phase(self, phase: Phase | None, running: bool = False) -> None:
        """Highlight the layer of a step-by-step phase, name the phase, and show its values:
        the weights and activations going forward, the error signals and deltas going back,
        then the gradients and the update. When the phases end, the edges and neurons show
        what the user chose again."""
        self._light_reuse(phase)
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
        self._phase_band.setRect(QRectF(*nl.phase_band(self._layout, phase.layer)))
        self._phase_band.show()
        self._phase_label.setText(items.phase_banner_html(phase, running))
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

    def _light_reuse(self, phase: Phase | None) -> None:
        """While a backward phase computes the deltas of hidden layer l, light what it reuses:
        the stored deltas of layer l + 1 and the edges of W[l + 1] that carry them back (dynamic
        programming: each δ of layer l is f′(z)·Σ w·δ over those, nothing recomputed)."""
        neurons, edges = [], []
        if phase is not None and phase.kind == HIDDEN_DELTA and self._layout is not None:
            above = phase.layer + 1
            sizes = self._layout.sizes
            neurons = [(above, j) for j in range(sizes[above])]
            edges = [(phase.layer, i, j) for i in range(sizes[phase.layer])
                     for j in range(sizes[above])]
        self._reused = (neurons, edges)
        items.set_halo_edges(self._reuse_halo, self._layout, edges if len(edges) <= nl.EDGE_CAP
                             else [])
        if neurons:
            xy = np.array([self._layout.xy[self._layout.node(*n)] for n in neurons])
            size = [self._layout.diameter[self._layout.node(*n)] * RING_FACTOR * self._scale
                    for n in neurons]
            self._reuse_rings.setData(xy[:, 0], xy[:, 1], size=size)
            self._reuse_rings.show()
        else:
            self._reuse_rings.setData([], [])
            self._reuse_rings.hide()

    def reused_lit(self) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
        """What the diagram lights as reused by the phase shown: (neurons as (layer, index),
        edges as (wi, i, j)); both empty outside a phase that computes hidden deltas."""
        return list(self._reused[0]), list(self._reused[1])

    # -- focus --------------------------------------------------------------------------------

    def focus_model(self) -> FocusModel:
        """The focus this diagram follows (the window's, or its own when built alone)."""
        return self._focus_model

    def focus_combo(self) -> QComboBox:
        """The "Values for" control (pinned sample / batch mean)."""
        return self._focus_combo

    def focused_values(self) -> Focused | None:
        """The numbers the diagram draws: the shown snapshot's, in the window's focus."""
        if self._snap is None:
            return None
        key = (self._snap, self._focus_model.is_sample())
        if self._focused is None or self._focused[0] is not key[0] or self._focused[1] != key[1]:
            self._focused = (*key, focused(*key))       # computed once per snapshot and focus
        return self._focused[2]

    def focus_header_text(self) -> str:
        """The header above the diagram, as shown: "for sample 0: …" or "mean over 1,500
        samples — …"."""
        return self._focus_header.text()

    @Slot(int)
    def _on_focus_combo(self, _index: int) -> None:
        self._focus_model.set_mode(self._focus_combo.currentData())

    @Slot()
    def _on_focus_changed(self) -> None:
        mode = self._focus_model.mode
        if self._focus_combo.currentData() != mode:
            self._focus_combo.blockSignals(True)
            self._focus_combo.setCurrentIndex(self._focus_combo.findData(mode))
            self._focus_combo.blockSignals(False)
        self._label_node_modes()
        if self._snap is not None:
            self._paint_frame()

    def _label_node_modes(self) -> None:
        """The Neurons selector says "mean δ" for the batch mean, "δ" for one sample."""
        sample = self._focus_model.is_sample()
        for k, label in enumerate(NODE_MODES.values()):
            self._node_combo.setItemText(k, label.removeprefix("mean ") if sample else label)

    def _draw_focus_header(self, view: Focused) -> None:
        if view.is_sample:
            text = f"{view.describe()}: δ = f′(z)·Σ w·δ on every hidden neuron, exactly"
            tip = ("Every hidden neuron's δ is f′(z) times the sum of the error signals w·δ on "
                   "its uplinks, to the last digit: click a neuron to see that sum beside it.")
        else:
            pinned = self._focus_model.is_sample() and self._snap.sample is None
            # short enough for the panel at 1280×720; the why is in the tooltip
            text = (f"{view.describe()}" + (" (no pinned sample)" if pinned else "")
                    + ": means do not obey δ = f′(z)·Σ w·δ")
            tip = MEAN_NOTE[0].upper() + MEAN_NOTE[1:] + "."
        if self._focus_header.text() != text:
            self._focus_header.setText(text)
            self._focus_header.setToolTip(tip)

    def _draw_sum(self) -> None:
        """Beside the selected neuron, the chain rule with the diagram's own numbers: in sample
        focus "Σ w·δ = … × f′(z) … = δ …" with its uplinks emphasised; in mean focus why the
        means do not add up that way."""
        text, uplinks = "", []
        lay, snap = self._layout, self._snap
        if lay is not None and snap is not None and self._selected is not None \
                and lay.exists(*self._selected):
            layer, i = self._selected
            L = len(lay.sizes) - 1
            view = self.focused_values()
            fk = style.format_known
            if 0 < layer < L:
                uplinks = [(layer, i, j) for j in range(lay.sizes[layer + 1])]
                if not _known(view.uplink_sum(layer, i), view.delta[layer - 1][i]):
                    text = NOT_YET           # a forward phase: no claim about missing values
                elif view.is_sample:
                    sv = view.values
                    text = (f"Σ w·δ = {fk(view.uplink_sum(layer, i))} × f′(z) "
                            f"{fk(float(sv.f_prime[layer - 1][i]))} = δ "
                            f"{fk(float(sv.delta[layer - 1][i]))}")
                else:
                    # short, so that it covers little of the diagram; the header says why
                    text = (f"Σ w·δ̄ = {fk(view.uplink_sum(layer, i))}, "
                            f"δ̄ = {fk(float(view.delta[layer - 1][i]))}: "
                            f"do not obey the chain rule")
            elif layer == L and layer > 0:
                if not _known(view.delta[-1][i]):
                    text = NOT_YET
                elif view.is_sample:
                    sv = view.values
                    text = (f"δ = y − t = {fk(float(sv.a[-1][i]))} − "
                            f"{fk(float(sv.target[i]))} = {fk(float(sv.delta[-1][i]))}")
                else:
                    text = f"δ̄ = mean of y − t = {fk(float(view.delta[-1][i]))}"
        if len(uplinks) > nl.EDGE_CAP:
            uplinks = []
        self._uplinks = uplinks
        items.set_halo_edges(self._uplink_halo, lay, uplinks if lay is not None else [])
        if not text:
            self._sum_label.hide()
            self._sum_leader.hide()
            return
        if self._sum_text != text:
            self._sum_text = text
            self._sum_label.setText(text)
        self._sum_label.show()
        self._place_sum_label()

    def _place_sum_label(self) -> None:
        """Where the label covers no neuron and no label: beside the selected neuron (right or
        left, level with it or a little above or below), else above or below it, else in the
        diagram's top or bottom margin, else the free place nearest to it, joined to the neuron
        by a leader line; where every place covers something, the one that covers least."""
        lay = self._layout
        if lay is None or self._selected is None or not lay.exists(*self._selected):
            self._sum_leader.hide()
            return
        node = lay.node(*self._selected)
        one = self._sum_text
        head, sep, tail = one.rpartition(": " if ": " in one else " = δ")
        texts = [one] + ([head + sep.rstrip() + "\n" + tail.lstrip() if sep == ": "
                          else head + "\n" + sep.strip() + " " + tail] if sep else [])
        found = None
        for text in texts:
            if self._sum_label.textItem.toPlainText() != text:
                self._sum_label.setText(text)
            best, cover = self._sum_spot(node)
            if found is None or cover < found[2]:
                found = (text, best, cover)
            if cover <= 0:
                break
        text, best, _ = found
        if self._sum_label.textItem.toPlainText() != text:
            self._sum_label.setText(text)
        self._sum_label.setAnchor((0, 1))
        self._sum_label.setPos(float(best[0]), float(best[1]))
        # a leader line when the label is not right beside the ring
        x, y = (float(v) for v in lay.xy[node])
        r = float(lay.diameter[node]) * RING_FACTOR / 2
        gap = 3 / max(self._scale, 1e-9)
        nx = min(max(x, best[0]), best[2])
        ny = min(max(y, best[1]), best[3])
        dist = float(np.hypot(nx - x, ny - y))
        if dist > r + 2 * gap:
            ux, uy = (nx - x) / dist, (ny - y) / dist
            self._sum_leader.setData([x + ux * r, nx], [y + uy * r, ny])
            self._sum_leader.setVisible(self._sum_label.isVisible())
        else:
            self._sum_leader.hide()

    def _sum_spot(self, node: int) -> tuple[np.ndarray, float]:
        """The label's best place at its present size, (left, bottom, right, top) in view units,
        and how much it covers there (0: nothing)."""
        lay = self._layout
        x, y = (float(v) for v in lay.xy[node])
        r = float(lay.diameter[node]) * RING_FACTOR / 2
        px = 1 / max(self._scale, 1e-9)                  # one pixel in view units
        size = self._sum_label.boundingRect()
        w, h = size.width() * px, size.height() * px
        view = self._box.viewRect()
        gap = 3 * px
        # candidates: (left, bottom) of the label in view units (y grows upwards)
        beside = []
        for dy in (0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2, -2):
            for side in (1, -1):
                left = x + r + gap if side > 0 else x - r - gap - w
                beside.append((left, y - h / 2 + dy * (h + gap)))
        centre = min(max(x - w / 2, view.left() + gap), view.right() - w - gap)
        near = [(centre, y + r + gap), (centre, y - r - gap - h)]
        # the diagram's top margin, then its bottom one (viewRect's bottom() is the larger y)
        margin = [(centre, view.bottom() - h - gap), (centre, view.top() + gap)]
        # else anywhere in the diagram, the nearest free place first (a leader line joins it)
        gx = np.arange(view.left() + gap, view.right() - w - gap, max(w / 12, 4 * px))
        lo, hi = min(view.top(), view.bottom()), max(view.top(), view.bottom())
        gy = np.arange(lo + gap, hi - h - gap, max(h / 3, 2 * px))
        obstacles = np.array(self._sum_obstacles(node)).reshape(-1, 4)
        if len(obstacles) > SUM_GRID_LIMIT:               # a big network: beside it only
            gx = gy = np.zeros(0)
        grid = np.column_stack([g.ravel() for g in np.meshgrid(gx, gy)])
        if len(grid):
            far = np.hypot(grid[:, 0] + w / 2 - x, grid[:, 1] + h / 2 - y)
            grid = grid[np.argsort(far, kind="stable")]
        cand = np.vstack([np.array(beside + near + margin), grid])
        rects = np.column_stack([cand[:, 0], cand[:, 1], cand[:, 0] + w, cand[:, 1] + h])
        inside = ((rects[:, 0] >= view.left()) & (rects[:, 2] <= view.right())
                  & (rects[:, 1] >= lo) & (rects[:, 3] <= hi))
        ox = (np.minimum(rects[:, None, 2] + gap, obstacles[None, :, 2])
              - np.maximum(rects[:, None, 0] - gap, obstacles[None, :, 0])).clip(0)
        oy = (np.minimum(rects[:, None, 3] + gap, obstacles[None, :, 3])
              - np.maximum(rects[:, None, 1] - gap, obstacles[None, :, 1])).clip(0)
        cover = (ox * oy).sum(axis=1) + np.where(inside, 0, w * h)
        free = np.flatnonzero(cover <= 0)
        k = free[0] if len(free) else int(np.argmin(cover))
        return rects[k], float(cover[k])

    def _sum_obstacles(self, selected: int) -> list[tuple[float, float, float, float]]:
        """What the Σ label must not cover, in view units: every neuron's ring (the selected one
        too), the values under the neurons and the layer labels."""
        lay = self._layout
        rings = lay.diameter * RING_FACTOR / 2
        out = [(float(cx - rr), float(cy - rr), float(cx + rr), float(cy + rr))
               for (cx, cy), rr in zip(lay.xy, rings)]
        texts = [t for t in self.value_label_items().values() if t.isVisible()]
        texts += [t for t in self._layer_labels if t.isVisible()]
        px = 1 / max(self._scale, 1e-9)
        for t in texts:
            b = t.boundingRect()
            ax, ay = float(t.anchor[0]), float(t.anchor[1])
            pos = t.pos()
            left, top = pos.x() - ax * b.width() * px, pos.y() + ay * b.height() * px
            out.append((left, top - b.height() * px, left + b.width() * px, top))
        return out

    def neuron_scene_rect(self, layer: int, index: int) -> QRectF:
        """A neuron's selection ring's bounding square, in scene coordinates."""
        lay = self._layout
        node = lay.node(layer, index)
        x, y = (float(v) for v in lay.xy[node])
        r = float(lay.diameter[node]) * RING_FACTOR / 2
        return self._box.mapViewToScene(QRectF(x - r, y - r, 2 * r, 2 * r)).boundingRect()

    def sum_leader_shown(self) -> bool:
        """Whether a leader line joins the Σ label to its neuron (it stands apart)."""
        return self._sum_leader.isVisible()

    def sum_label_text(self) -> str:
        """The chain-rule label beside the selected neuron ("" when none is shown)."""
        return self._sum_text if self._sum_label.isVisible() else ""

    def sum_label_item(self) -> pg.TextItem:
        """The item of :meth:`sum_label_text` (where it is drawn)."""
        return self._sum_label

    def diagram_scene_rect(self) -> QRectF:
        """The diagram's area (its view box) in scene coordinates."""
        return self._box.sceneBoundingRect()

    def uplinks_emphasised(self) -> list[tuple[int, int, int]]:
        """The edges emphasised under the Σ label, as (wi, i, j): the selected hidden neuron's
        uplinks."""
        return list(self._uplinks)

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
        if self._layout is not None and not self._layout.exists(layer, index):
            raise ValueError(f"no neuron {index} in layer {layer}")
        changed = self._selected != (layer, index)
        self._selected = (layer, index)
        self._draw_ring()
        self._draw_sum()
        if changed:
            self.neuronSelected.emit(layer, index)

    def emphasise(self, layer: int | None, part: str = "neurons") -> None:
        """A blue band behind the neurons of ``layer`` (``part`` "neurons") or behind the edges
        into it ("edges"): what a line of the Code panel computes. None takes it away."""
        if layer is None or self._layout is None or not 0 <= layer < len(self._layout.sizes) \
                or part == "edges" and layer < 1:
            self._emphasis = None
            self._emphasis_band.hide()
            return
        self._emphasis = (layer, part)
        x, y, w, h = nl.phase_band(self._layout, layer)
        if part == "edges":
            xs = self._layout.xs
            x, w = float(xs[layer - 1]) + w / 2, float(xs[layer] - xs[layer - 1]) - w
        self._emphasis_band.setRect(QRectF(x, y, w, h))
        self._emphasis_band.show()

    def emphasis(self) -> tuple[int, str] | None:
        """What :meth:`emphasise` shows: (layer, "neurons" | "edges"), or None."""
        return self._emphasis

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
        return QPointF(*nl.edge_point(self._layout, self._drawn, wi, i, j))

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
        """Whether the last paint of the edges came from a raster plan (see ``EdgeLayer``)."""
        return self._edges.painted_raster

    def raster_plan_ms(self) -> float | None:
        """How long the newest edge raster plan took to build on its thread (None: none yet)."""
        return self._edges.plan_ms

    def raster_recomputed_share(self) -> float | None:
        """The share of the raster image's pixels its last render recomputed (1.0: a full render,
        less: only the pixels of edges whose level changed); None without a plan."""
        plan = self._edges.plan()
        return None if plan is None or not plan.pixels.size else \
            plan.last_render_pixels / plan.pixels.size

    def emphasise_edges(self, wi: int | None) -> None:
        """Lay a halo under the edges of ``weights[wi]`` (None: none), the edges a phase works
        on; an array of more than WIDE_EDGE_LIMIT edges is left to the phase's band."""
        lay = self._layout
        n = 0 if wi is None or lay is None else lay.sizes[wi] * lay.sizes[wi + 1]
        self._emphasised = wi if 0 < n <= WIDE_EDGE_LIMIT else None
        items.set_halo_edges(self._phase_halo, lay, [] if self._emphasised is None else [
            (wi, k // lay.sizes[wi + 1], k % lay.sizes[wi + 1]) for k in range(n)])

    def emphasised_edges(self) -> int | None:
        """The weights array whose edges have the phase's halo, or None."""
        return self._emphasised

    def edit_held_back(self) -> bool:
        """True while an edit is held back by the rate limit, to be sent later."""
        return self._edit_proxy.args is not None

    def edge_layer(self) -> items.EdgeLayer:
        """The item that draws the edges (as an image or as lines)."""
        return self._edges

    def layer_label_items(self) -> list[pg.TextItem]:
        """The layer labels' items (see :meth:`layer_label_texts`)."""
        return self._layer_labels

    def shown_snapshot(self) -> Snapshot | None:
        """The snapshot the diagram shows."""
        return self._snap

    def set_edge_limits(self, raster_edge_limit: int, edge_cap: int) -> None:
        """Draw up to ``raster_edge_limit`` edges as an image and at most ``edge_cap`` edges
        otherwise, from the next architecture laid out (the defaults: this module's
        ``RASTER_EDGE_LIMIT`` and ``EDGE_CAP``); the bench compares the two ways of drawing."""
        self._edge_limits = (raster_edge_limit, edge_cap)

    def mouse_target(self) -> QWidget:
        """The widget that receives mouse events over the diagram (the graphics viewport)."""
        return self._graphics.viewport()

    def edge_items(self) -> dict[tuple[int, int], items.EdgeBin]:
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
        return {key: label.textItem.toPlainText()
                for key, label in self.value_label_items().items() if label.isVisible()}

    def value_label_items(self) -> dict[tuple[int, int], pg.TextItem]:
        """The items of :meth:`value_label_texts` ((layer, index) → TextItem, shown or not)."""
        if self._values is None:
            return {}
        return {self._layout.layer_of(node): label for node, label in self._values.items.items()}

    @property
    def _layer_labels(self) -> list[pg.TextItem]:
        return [] if self._labels is None else self._labels.items

    def layer_label_texts(self) -> list[str]:
        """The layer labels as shown (plain text, lines joined by a space)."""
        return [] if self._labels is None else self._labels.texts()

    def diagram_widget(self) -> QWidget:
        """The widget the diagram is drawn in (its size is the diagram's room on screen)."""
        return self._graphics

    def layer_label_lines(self) -> list[list[str]]:
        """Each layer label's lines as laid out (its title, its count: a word wrapped by a
        too-narrow label shows as more lines)."""
        return [] if self._labels is None else self._labels.lines()

    def legend_texts(self) -> tuple[str, str]:
        """The plain text of the edge legend and of the neuron legend."""
        return tuple(items.plain_text(label.text)
                     for label in (self._edge_legend, self._node_legend))

    def legends_cut(self) -> tuple[bool, bool]:
        """Whether the edge legend and the neuron legend run past the panel's width."""
        return tuple(label.is_cut() for label in (self._edge_legend, self._node_legend))

    def hover_text(self) -> str:
        """Plain text of the hover card ("" when hidden)."""
        return self._card.textItem.toPlainText() if self._card.isVisible() else ""

    def hover_at(self, view_pt: QPointF) -> None:
        """Show the hover card for what lies at ``view_pt``, as moving the mouse there does."""
        self._set_hover(self.hit_test(view_pt), view_pt)

    def hit_test(self, view_pt: QPointF):
        """("neuron", layer, index), ("edge", wi, i, j) or None for a point in view coordinates
        (see :func:`.network_layout.hit_test`: neurons win, edges only if drawn)."""
        if self._layout is None:
            return None
        return nl.hit_test(self._layout, self._drawn, view_pt.x(), view_pt.y(),
                           max(self._box.viewPixelSize()))

    # -- building per architecture ------------------------------------------------------------

    @staticmethod
    def _maps_available(snap: Snapshot) -> bool:
        maps = snap.neuron_maps
        return (len(maps) == len(snap.sizes) and sum(snap.sizes) <= MAP_NEURON_LIMIT
                and all(m.ndim == 3 and m.shape[0] == n for m, n in zip(maps, snap.sizes)))

    def _rebuild(self, snap: Snapshot, maps) -> None:
        """New layout and per-architecture items; resets what no longer exists."""
        for image in self._images:
            self._box.removeItem(image)
        for group in (self._labels, self._values):
            if group is not None:
                group.remove(self._box)
        lay = self._layout = nl.make_layout(snap.sizes)
        raster_limit, cap = self._edge_limits or (RASTER_EDGE_LIMIT, EDGE_CAP)
        self._plan = nl.edge_plan(lay.sizes, raster_limit, cap, WIDE_EDGE_LIMIT)
        self._every_edge = bool(np.all(np.diff(lay.edge_offset) <= self._plan.budget))
        self._drawn = nl.DrawnEdges.every(lay) if self._every_edge else nl.DrawnEdges.none()
        self._edges.set_raster(lay.all_segments.T if self._plan.raster else None)
        self._style_edges()
        self._edges.set_extent(QRectF(*lay.extent()))
        self._nodes.set_nodes(lay.xy, lay.diameter, len(self._palette) // 2)
        self._node_brush_index = None
        self._images = (items.neuron_maps(self._box, lay, snap.neuron_maps[0].shape[1:])
                        if maps else [])
        self._labels = items.LayerLabels(self._box, lay, snap.activations)
        self._values = items.ValueLabels(self._box, lay)

        if self._selected and not lay.exists(*self._selected):
            self._selected = None
        self._chosen = []
        self._focus = None
        self.emphasise(None)
        self._set_strip_enabled(False)
        self._set_hover(None, QPointF())
        self._fit_view()
        self._draw_ring()
        self._light_reuse(None)

    def _style_edges(self) -> None:
        """Each edge bin's colour and width, the widths at the interface's zoom."""
        rgb, widths = nl.bin_styles(self._plan.wide)
        self._edges.set_styles(rgb, np.asarray(widths) * style.zoom(), antialias=self._plan.wide)

    def set_zoom(self, factor: float) -> None:
        """Draw at the interface's zoom (``style.zoom``, ``factor``): edge widths, the layer and
        value labels and the legends."""
        for legend in (self._edge_legend, self._node_legend):
            legend.set_zoom(factor)
        if self._layout is None:
            return
        self._style_edges()
        self._labels.refont()
        self._values.refont()
        self._fit_view()
        if self._snap is not None:
            self._paint_frame()

    @Slot()
    def _fit_view(self) -> None:
        """Fit the diagram into the box, leaving room in pixels for the labels; runs on every
        resize (the locked aspect would otherwise move the range) and places the layer labels,
        shortened where the full ones would touch."""
        lay = self._layout
        width, height = self._box.width(), self._box.height()
        if lay is None:
            return
        fit = None
        if width >= 20 and height >= 20:
            value_px = VALUE_LABEL_PIXELS * style.zoom() if self._values.items else 0
            for compact in (False, True):
                self._labels.set_compact(compact)
                fit = nl.fit_panel(lay, width, height, self._labels.sizes(), value_px)
                if fit.labels_fit:
                    break
        small = fit is None or (lay.top - lay.bottom) * fit.scale < TOO_SMALL_PIXELS
        self._set_too_small(small)
        if small:
            return
        self._box.setRange(QRectF(*fit.rect), padding=0)
        self._scale = fit.scale
        self._draw_ring()
        if self._reused[0]:                   # the rings' size follows the scale
            self._light_reuse(self._snap.phase if self._snap is not None else None)
        self._labels.place(nl.layer_label_positions(lay, fit.scale, value_px))
        self._values.fit(fit.scale)
        self._place_sum_label()               # clear of the labels where they are now

    def _set_too_small(self, small: bool) -> None:
        self._too_small.setGeometry(self._graphics.viewport().rect())
        if small == (not self._too_small.isHidden()):
            return
        self._box.setVisible(not small)
        self._too_small.setVisible(small)

    def too_small_note(self) -> str:
        """What the panel says instead of the diagram when it is too small to draw it ("" when
        the diagram is drawn)."""
        return "" if self._too_small.isHidden() else self._too_small.text()

    # -- painting a frame ---------------------------------------------------------------------

    def _paint_frame(self) -> None:
        self._draw_focus_header(self.focused_values())
        self._draw_edges()
        self._draw_nodes()
        self._draw_sum()
        self._draw_maps()
        if self._hover is not None:
            self._set_hover(self._hover, self._hover_pos, force=True)
        self._refresh_strip_value()

    def _overlay_values(self) -> tuple[np.ndarray, ...]:
        """What the edges show; with no update yet, "update Δw" shows every edge neutral."""
        if self.overlay() == "update" and self._no_update_note():
            return tuple(np.zeros(np.shape(W)) for W in self._snap.weights)
        return getattr(self.focused_values(), OVERLAYS[self.overlay()][1])

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
        """Bin the drawn edges' values and hand them to the edge layer; update the legend. A
        network within its budget draws the same edges every frame (only their values change);
        a larger one each weights array's strongest, plus the chosen and focused edges."""
        lay = self._layout
        values = self._overlay_values()
        if self._every_edge:
            val = np.concatenate([np.asarray(W, dtype=float).ravel() for W in values])
        else:
            forced = {*self._chosen, *([self._focus] if self._focus else [])}
            self._drawn, val = nl.strongest_edges(lay, values, self._plan.budget, forced)
        vmax = nl.finite_absmax(values)
        bin_index = nl.edge_bins(val, vmax)
        self._edges.set_binned(self._drawn.seg.T, bin_index)
        if self._edges.raster_segments() is not None:
            levels = np.zeros(lay.edge_offset[-1], np.uint8)
            levels[self._drawn.layout_index(lay)] = bin_index + 1
            self._edges.set_levels(levels)
        self._draw_chosen_halo()
        note = self._no_update_note() if self.overlay() == "update" else ""
        items.set_legend(self._edge_legend, items.edge_legend_html(
            self._overlay_words(), note, vmax, self._plan.wide, self._drawn.size,
            sum(np.size(v) for v in values),
            self._snap.phase is not None and bool(np.isnan(val).any())))

    def _overlay_words(self) -> str:
        """What the edges show, in the focus: "error signal w·δ (sample 0)", "gradient ∂L/∂w
        (batch)"; weights and the update are one value whatever the focus."""
        label = OVERLAYS[self.overlay()][0]
        if self.overlay() in ("gradient", "signal"):
            view = self.focused_values()
            label += f" ({view.label if view.is_sample else 'batch mean'})"
        return label

    def _draw_nodes(self) -> None:
        view = self.focused_values()
        per_layer = nl.node_values_of(view.delta, view.activation, self._layout.sizes,
                                      self.node_mode())
        index, vmax = nl.node_fill(per_layer, self._layout.sizes, len(self._palette) - 1)
        if not np.array_equal(index, self._node_brush_index):
            self._node_brush_index = index
            self._nodes.set_fill(index)
        self._values.set_values(per_layer)
        not_computed = self._snap.phase is not None and any(
            v is not None and np.isnan(v).any() for v in per_layer)
        items.set_legend(self._node_legend, items.node_legend_html(
            self.node_mode(), vmax, not_computed, bool(self._images),
            view.label if view.is_sample else ""))

    def _draw_maps(self) -> None:
        if not self._images:
            return
        snap, lay = self._snap, self._layout
        for layer, maps in enumerate(snap.neuron_maps):
            clean, lo, hi = nl.map_levels(maps, snap.activations[layer - 1] if layer else "linear")
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
        items.set_halo_edges(self._chosen_halo, self._layout, self._chosen)

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
        items.set_halo_edges(self._hover_halo, self._layout,
                             [hit[1:]] if hit and hit[0] == "edge" else [])
        if hit is None:
            self._card.hide()
            return
        body = self._neuron_card(*hit[1:]) if hit[0] == "neuron" else self._edge_card(*hit[1:])
        self._card.setHtml(f"<div style='color:{style.FOREGROUND}'>{body}</div>")
        self._place_card(view_pt)
        self._card.show()

    def _place_card(self, view_pt: QPointF) -> None:
        """Put the card beside the cursor, on the side with more room, and inside the view
        (moved along the edge where it would stick out)."""
        rect = self._box.viewRect()
        right = view_pt.x() > rect.center().x()
        low = view_pt.y() < rect.center().y()
        pw, ph = self._box.viewPixelSize()
        size = self._card.boundingRect()
        w, h = size.width() * pw, size.height() * ph
        left = view_pt.x() + (-12 * pw - w if right else 12 * pw)
        bottom = view_pt.y() + (12 * ph if low else -12 * ph - h)
        lo, hi = min(rect.top(), rect.bottom()), max(rect.top(), rect.bottom())
        left = max(rect.left() + 2 * pw, min(left, rect.right() - w - 2 * pw))
        bottom = max(lo + 2 * ph, min(bottom, hi - h - 2 * ph))
        self._card.setAnchor((0, 1))
        self._card.setPos(left, bottom)

    def hover_card_item(self) -> pg.TextItem:
        """The item of :meth:`hover_text` (where the card is drawn)."""
        return self._card

    def _card_value(self, v: float) -> str:
        """A number for a hover card; in a pass walked phase by phase NaN is a value not computed
        yet and says so."""
        if np.isnan(v) and self._snap.phase is not None:
            return f"{style.NOT_COMPUTED} (not computed yet)"
        return style.format_value(v)

    def _neuron_card(self, layer: int, i: int) -> str:
        snap, fv = self._snap, self._card_value
        view = self.focused_values()

        def pick(arrays, k):
            a = arrays[k] if 0 <= k < len(arrays) else None
            return fv(float(a[i])) if a is not None and i < np.size(a) else "—"

        rows = [f"<b>{nl.layer_name(self._layout.sizes, layer)} · neuron {i}</b>"]
        if layer == 0:
            rows.append(f"input x{nl.subscript(i)} (no δ)")
        elif view.is_sample:
            rows += [f"activation {snap.activations[layer - 1]} · {view.label}",
                     f"z = {pick(view.z, layer - 1)}",
                     f"δ = {pick(view.delta, layer - 1)}"]
        else:
            rows += [f"activation {snap.activations[layer - 1]}",
                     f"mean δ = {pick(snap.delta_mean, layer - 1)}",
                     f"mean |δ| = {pick(snap.delta_abs_mean, layer - 1)}"]
        if view.is_sample:
            rows.append(f"a = {pick(view.activation, layer)}")
        else:
            rows.append(f"mean a = {pick(snap.activation_mean, layer)}")
        return "<br>".join(rows)

    def _edge_card(self, wi: int, i: int, j: int) -> str:
        snap, fv = self._snap, self._card_value
        view = self.focused_values()

        def val(arrays):
            return fv(float(arrays[wi][i, j])) if wi < len(arrays) else "—"

        update = (val(snap.update_weights) if snap.has_update or snap.phase is not None
                  else f"{style.NOT_COMPUTED} (no update yet)")
        if view.is_sample:
            grad = f"gradient ∂ℓ/∂w ({view.label}) = {val(view.grad_weights)}"
            signal = f"error signal w·δ ({view.label}) = {val(view.edge_signals)}"
        else:
            grad = f"gradient ∂L/∂w = {val(snap.grad_weights)}"
            signal = f"error signal w·δ = {val(snap.edge_signals)} (w × batch mean δ)"
        # the weight the pass used, beside what the pass computed with it; then the weight now
        used = snap.trace_weights if snap.has_trace else snap.weights
        # no pass has run (pass 0, or weights set since): the weight is simply the weight now
        used_when = (" (this pass uses it)" if snap.phase is not None
                     else " (in the last pass)" if snap.has_trace and snap.has_update else "")
        lines = [f"<b>W[{wi + 1}][{i}, {j}]</b> &nbsp; {nl.edge_name(self._layout.sizes, wi, i, j)}",
                 f"weight w = {val(used)}" + used_when,
                 grad, signal, f"update Δw = {update}"]
        if snap.has_trace and snap.has_update:
            lines.append(f"weight now w + Δw = {val(snap.weights)}")
        return "<br>".join(lines)

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
            self.edgeClicked.emit(*hit[1:])

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
        """Vertical drag on an edge: the weight moves as :func:`.network_layout.dragged_weight`
        says (Shift: finer), emitted while dragging (rate-limited) and on release."""
        if ev.isStart():
            hit = self.hit_test(self._box.mapSceneToView(ev.buttonDownScenePos()))
            if self._snap is None or hit is None or hit[0] != "edge":
                ev.ignore()
                return
            wi, i, j = hit[1:]
            self._drag = {"edge": (wi, i, j), "w0": float(self._snap.weights[wi][i, j])}
            self._set_focus((wi, i, j))
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        dy = ev.buttonDownScenePos().y() - ev.scenePos().y()        # up is positive
        fine = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        value = nl.dragged_weight(self._drag["w0"], dy, fine)
        wi, i, j = self._drag["edge"]
        payload = [("W", wi, i, j, value)]
        self._show_strip_value(value)
        if ev.isFinish():
            self._drag = None
            self._deliver_edit(payload)
        else:
            self._editOffered.emit(payload)

    def _deliver_edit(self, payload) -> None:
        """Emit ``payload`` now, dropping an edit still held back by the rate limit."""
        self._editOffered.emit(payload)
        self._edit_proxy.flush()

    def _emit_edit(self, args) -> None:
        self.parametersEdited.emit(args[0])

    def _set_focus(self, edge: tuple[int, int, int]) -> None:
        """Put ``edge`` in the edit strip, with a slider range that fits its current weight."""
        if edge == self._focus:
            return
        self._focus = edge
        wi, i, j = edge
        self._slider_scale = nl.slider_scale(float(self._snap.weights[wi][i, j]))
        self._focus_label.setText(
            f"W[{wi + 1}][{i}, {j}]  {nl.edge_name(self._layout.sizes, wi, i, j)}   "
            f"(slider ±{style.format_value(self._slider_scale)})")
        self._focus_label.setStyleSheet(f"color: {style.FOREGROUND}")
        self._set_strip_enabled(True)
        self._refresh_strip_value()

    def _set_strip_enabled(self, on: bool) -> None:
        self._spin.setEnabled(on)
        self._slider.setEnabled(on)
        if not on:
            self._focus_label.setText("click or drag an edge to edit its weight")
            self._focus_label.setStyleSheet(f"color: {items.MUTED}")

    def _refresh_strip_value(self) -> None:
        """Show the focused weight of the newest snapshot, unless the user is editing it."""
        if self._focus is None or self._drag is not None or self._spin.hasFocus() \
                or self._slider.isSliderDown():
            return
        wi, i, j = self._focus
        self._show_strip_value(float(self._snap.weights[wi][i, j]))

    def _show_strip_value(self, value: float) -> None:
        """Display ``value`` in the spin box and slider without emitting."""
        for widget, v in ((self._spin, value if np.isfinite(value) else 0.0),
                          (self._slider, nl.slider_position(value, self._slider_scale))):
            widget.blockSignals(True)
            widget.setValue(v)
            widget.blockSignals(False)

    @Slot(float)
    def _on_spin_changed(self, value: float) -> None:
        if self._focus is not None:
            self._deliver_edit([("W", *self._focus, float(value))])

    @Slot(int)
    def _on_slider_changed(self, position: int) -> None:
        if self._focus is None:
            return
        value = nl.slider_value(position, self._slider_scale)
        self._spin.blockSignals(True)
        self._spin.setValue(value)
        self._spin.blockSignals(False)
        self._editOffered.emit([("W", *self._focus, float(value))])

    # -- modes --------------------------------------------------------------------------------

    @Slot(int)
    def _on_mode_changed(self, _index: int) -> None:
        if self._chosen_modes is not None and not self._phase_setting:   # the user's choice
            self._chosen_modes = (self.overlay(), self.node_mode())
        if self._snap is not None:
            self._paint_frame()


def _known(*values) -> bool:
    """Every value is computed (a forward phase leaves the deltas NaN)."""
    return all(v is not None and np.isfinite(float(v)) for v in values)
