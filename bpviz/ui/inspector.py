"""The neuron inspector: one neuron's delta with the chain-rule arithmetic written out.

Pick a neuron (click it in the diagram: ``neuronSelected(int, int)`` connects to
:meth:`InspectorPanel.select_neuron`; or use the panel's own layer/neuron boxes) and a training
sample (the stepper, or a sample picked in the decision boundary via :meth:`set_pinned`). The panel
shows:

- a header: layer, activation and its formula, z, a, δ of the pinned sample, batch δ̄ and mean |δ|;
- the chain rule with the live numbers, in a monospace rich-text label: every term w_jk·δ_k of the
  sum, largest first, the sum, f′(z) and the result — for the pinned sample or the batch mean
  (the "pinned sample / batch mean" toggle); for the output layer δ = y − t;
- a histogram of δ over the training samples, with the pinned sample and the mean marked;
- tables of the incoming edges (weight, ∂L/∂w, the last Δw, a finite-difference check) and the
  outgoing edges (weight, δ_k, error signal), and the δ of every neuron of the network (one column
  per layer, one row per neuron, as the diagram draws them) with dead and saturated neurons
  highlighted.

Layout: every section is shown in full in one scroll area (no tabs, no scroll bars inside it).
Each table is sized to its cells (:func:`fit_table`), which hold 4 significant digits; the tooltip
holds every digit. From :data:`MEDIUM` pixels wide the histogram sits beside the chain rule and the
tables below them; from :data:`WIDE` the tables sit beside; narrower, one column.

Which weights: by default (``at="trace"``) every number is computed at the weights the last pass's
trace used (``snap.trace_weights`` / ``snap.trace_biases``, before that pass's update). That is where
the diagram's deltas and the pinned sample of the snapshot were computed, and the Δw shown is the
step the optimizer then took. With ``at="current"`` the numbers are at the current weights (after
the update); Δw is then the step that led to them. Either way ONE fresh trace over the whole training
set is computed here, so all numbers are self-consistent; the header says which weights.

Cost: the report is recomputed only when the neuron, the pinned sample, the weights or the
snapshot's pass change, and at most ~5 times a second while training runs. The finite-difference
check runs only when training is paused, within a small budget (see
:data:`bpviz.engine.inspect.FD_BUDGET`). On big data one recomputation uses at most the first
samples that fit :data:`~bpviz.engine.inspect.WORK_BUDGET` (the pinned sample always among them),
and the header says so. In the window the training session computes it (``ask``), off the GUI
thread; the panel shows the answer when it comes, unless it asked for something newer since.
"""

from __future__ import annotations

import html
import time
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QAbstractScrollArea, QBoxLayout, QButtonGroup,
                               QHBoxLayout, QHeaderView, QLabel, QRadioButton, QScrollArea,
                               QSizePolicy, QSpinBox, QStyle, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from ..engine.inspect import (SATURATION_FPRIME, SATURATION_SHARE, SYMBOLS, DeltaTable,
                              InspectRequest, answer_inspect,
                              NeuronReport, derivative_numbers, fmt, paren)
from ..engine import numbers
from ..engine.snapshot import Snapshot
from . import style

MIN_INTERVAL_S = 0.2          # at most ~5 recomputations a second while running
MAX_TERMS_SHOWN = 12          # chain-rule terms written out; the rest are summed in one line
MONO = "DejaVu Sans Mono, Noto Sans Mono, Menlo, Consolas, monospace"
DEAD_BG = QColor(203, 213, 225)        # slate-300
SATURATED_BG = QColor(253, 230, 138)   # amber-200
SELECTED_BG = QColor(191, 219, 254)    # blue-200
MUTED = "#64748b"
WIDE = 1000                   # from this width the tables sit beside the chain rule
MEDIUM = 600                  # from this width the histogram sits beside the chain rule


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(rgb[:3])


POS, NEG = _hex(style.POSITIVE), _hex(style.NEGATIVE)


def _num(v, bold: bool = False, signed_colour: bool = True) -> str:
    """A number as HTML: blue when positive, orange when negative (the app's sign colours)."""
    s = html.escape(fmt(v))
    if v is not None and signed_colour and np.isfinite(v) and v != 0:
        s = f'<span style="color:{POS if v > 0 else NEG}">{s}</span>'
    return f"<b>{s}</b>" if bold else s


def _nowrap(text: str) -> str:
    """Rich text that is never broken across lines (e.g. ``mean |δ| = 0.015``)."""
    return f'<span style="white-space:nowrap">{text}</span>'


def _differ(x: float, y: float) -> bool:
    """Do x and y differ beyond rounding?"""
    return abs(x - y) > 1e-9 * max(abs(x), abs(y), 1e-300)


def _pnum(v, bold: bool = False) -> str:
    """Like :func:`_num`, in parentheses when negative."""
    inner = _num(v, bold)
    return f"({inner})" if v is not None and v < 0 else inner


def full_value(v: float) -> str:
    """Every digit of ``v`` (the shortest text that reads back as the same float)."""
    return numbers.exact(v)


def cell_margin(table: QTableWidget) -> int:
    """Pixels a table cell keeps free on each side of its text (the style's text margin)."""
    return table.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, table) + 1


def fit_table(table: QTableWidget, columns: list[list[str]] | None = None,
              bold: list[tuple[int, str]] = ()) -> None:
    """Size every column to its widest text (header and cells) and the table to all its rows and
    columns, so that no text is elided and it needs no scroll bar.

    ``columns``: each column's cell texts, when the caller has them at hand (reading them back
    from the items is slower); ``bold``: (column, text) of the cells drawn in bold. Without
    ``columns`` the items are read, each in its own font."""
    fm = table.fontMetrics()
    if columns is None:
        columns, bold = [[] for _ in range(table.columnCount())], []
        for c in range(table.columnCount()):
            for r in range(table.rowCount()):
                item = table.item(r, c)
                if item is not None and item.text():
                    font = item.data(Qt.FontRole)
                    if font is not None and font.bold():
                        bold.append((c, item.text()))
                    else:
                        columns[c].append(item.text())
    pad = 2 * cell_margin(table) + 8             # the text margins, the grid line, some air
    header, side = table.horizontalHeader(), table.verticalHeader()
    header.setSectionResizeMode(QHeaderView.Fixed)
    header.setStretchLastSection(False)
    side.setSectionResizeMode(QHeaderView.Fixed)
    side.setDefaultSectionSize(fm.height() + 8)
    widths = [max(40, header.sectionSizeHint(c)) for c in range(table.columnCount())]
    for c, texts in enumerate(columns[:len(widths)]):
        if texts:
            widths[c] = max(widths[c], max(map(fm.horizontalAdvance, set(texts))) + pad)
    if bold:
        font = QFont(table.font())
        font.setBold(True)
        fmb = QFontMetrics(font)
        for c, text in bold:
            widths[c] = max(widths[c], fmb.horizontalAdvance(text) + pad)
    for c, w in enumerate(widths):
        if header.sectionSize(c) != w:
            header.resizeSection(c, w)
    width = sum(widths) + 2 * table.frameWidth()
    if not side.isHidden():
        width += side.sizeHint().width()
    height = header.sizeHint().height() + table.rowCount() * side.defaultSectionSize() \
        + 2 * table.frameWidth()
    if (table.width(), table.height()) != (width, height) or table.minimumWidth() != width:
        table.setFixedSize(width, height)


class InspectorPanel(QWidget):
    """The neuron inspector dock panel. Feed it :meth:`set_dataset` and :meth:`show_snapshot`.

    Signals (user actions only, never echoes of the slots):
    - ``sampleChanged(int)``: the user stepped to another pinned sample;
    - ``neuronChosen(int, int)``: the user picked another neuron in the panel (layer, index).
    """

    sampleChanged = Signal(int)
    neuronChosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, *, at: str = "trace"):
        super().__init__(parent)
        if at not in ("trace", "current"):
            raise ValueError("at must be 'trace' or 'current'")
        self.at = at
        self._snap: Snapshot | None = None
        self._X: np.ndarray | None = None
        self._T: np.ndarray | None = None
        self._selected = (1, 0)
        self._pinned = 0
        self._scope = "sample"
        self._focus = None           # the window's focus model, once bound (bind_focus)
        self._report: NeuronReport | None = None
        self._tables: dict[str, DeltaTable] = {}
        self._key = None                      # what the shown report was computed from
        self._computed_snap: Snapshot | None = None
        self._last_compute = -1e9
        self.compute_count = 0                # recomputations asked for (for tests and tuning)
        self.reports_shown = 0                # and answers shown
        # ask(request, done): computes an InspectRequest elsewhere and calls done(answer or
        # exception) on the GUI thread; None: computed here
        self.ask = None
        self._sizes: tuple[int, ...] = ()
        self._subset: tuple[int, int] | None = None   # (samples used, training samples)

        # The recompute throttle is written out (this timer and the time of the last recompute)
        # rather than a pyqtgraph SignalProxy: an idle panel recomputes at once, in the call that
        # brought the change (a proxy always defers to its timer), and whether a snapshot needs a
        # recompute at all is decided when it arrives.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)

        self._build()
        self._show_placeholder("Waiting for the network and the training data…")

    # -- construction -----------------------------------------------------------------------------

    def _build(self) -> None:
        mono = QFont()
        mono.setFamilies([f.strip() for f in MONO.split(",")])
        mono.setStyleHint(QFont.TypeWriter)
        self._mono = mono

        self.layer_box = QSpinBox()
        self.layer_box.setToolTip("Layer (0 is the input, the last the output)")
        self.index_box = QSpinBox()
        self.index_box.setToolTip("Neuron within the layer")
        self.sample_box = QSpinBox()
        self.sample_box.setToolTip("The pinned training sample")
        self.sample_box.setMinimumWidth(70)
        self.prev_button = QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("Previous sample")
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setToolTip("Next sample")
        self.sample_radio = QRadioButton("pinned sample")
        self.batch_radio = QRadioButton("batch mean")
        self.sample_radio.setChecked(True)
        self._scope_group = QButtonGroup(self)
        self._scope_group.addButton(self.sample_radio)
        self._scope_group.addButton(self.batch_radio)
        for box in (self.layer_box, self.index_box):
            box.setRange(0, 0)

        picker = QWidget()
        row = QHBoxLayout(picker)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        for w in (QLabel("Layer"), self.layer_box, QLabel("neuron"), self.index_box):
            row.addWidget(w)
        row.addSpacing(12)
        for w in (QLabel("Sample"), self.prev_button, self.sample_box, self.next_button):
            row.addWidget(w)
        row.addStretch(1)
        scope = QWidget()
        row = QHBoxLayout(scope)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        scope_label = QLabel("Show for:")
        scope_label.setToolTip("The chain rule, the outgoing edges and the table of all deltas "
                               "show the pinned sample or the mean over the training samples")
        row.addWidget(scope_label)
        row.addWidget(self.sample_radio)
        row.addWidget(self.batch_radio)
        row.addStretch(1)
        self._bar_parts = (picker, scope)
        self._bar = QBoxLayout(QBoxLayout.LeftToRight)
        self._bar.setContentsMargins(4, 2, 4, 2)
        self._bar.setSpacing(2)
        self._bar.addWidget(picker)
        self._bar.addSpacing(12)
        self._bar.addWidget(scope, 1)

        self.header = QLabel()
        self.header.setTextFormat(Qt.RichText)
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.header.setStyleSheet(f"color: {style.FOREGROUND}; padding: 2px 6px;")

        self.chain = QLabel()
        self.chain.setTextFormat(Qt.RichText)
        self.chain.setFont(mono)
        self.chain.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.chain.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.chain.setStyleSheet(f"color: {style.FOREGROUND}; background: #f8fafc; "
                                 f"border: 1px solid #e2e8f0; padding: 6px;")
        self.chain.setWordWrap(True)
        self.chain.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)

        # histogram of δ over the samples: items created once, updated with setData
        self.hist_widget = pg.PlotWidget()
        self.hist_widget.setBackground(style.BACKGROUND)
        self.hist_plot = self.hist_widget.getPlotItem()
        style.style_plot(self.hist_plot, grid=False)
        self.hist_plot.hideButtons()
        self.hist_plot.setMenuEnabled(False)
        self.hist_plot.setMouseEnabled(x=False, y=False)
        self.hist_plot.setLabel("bottom", "δ over the training samples")
        self.hist_plot.getAxis("left").setWidth(36)
        self.hist_widget.setFixedHeight(130)
        self.hist_curve = pg.PlotCurveItem(x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0,
                                           brush=pg.mkBrush(100, 116, 139, 110),
                                           pen=pg.mkPen(71, 85, 105))
        self.hist_sample_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.FOREGROUND, width=2))
        self.hist_mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.FOREGROUND, width=1,
                                                                     style=Qt.DashLine))
        self.hist_zero_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(148, 163, 184, width=1,
                                                                     style=Qt.DotLine))
        for item in (self.hist_curve, self.hist_zero_line, self.hist_mean_line,
                     self.hist_sample_line):
            self.hist_plot.addItem(item)
        self.hist_note = QLabel()
        self.hist_note.setWordWrap(True)
        self.hist_note.setStyleSheet(f"color: {MUTED}; padding: 0 6px;")

        self.incoming_table = self._table(["from", "weight w", "∂L/∂w", "Δw", "finite diff.",
                                           "rel. error"])
        tips = ["the neuron i of the layer below (a_i), or the bias",
                "the weight w_ij of edge i→j", "∂L/∂w_ij = mean over the samples of a_i · δ_j",
                "the last update the optimizer applied to this weight",
                "∂L/∂w by finite differences of the loss (five-point stencil)",
                "|backprop − finite difference| / (|backprop| + |finite difference|)"]
        for col, tip in enumerate(tips):
            self.incoming_table.horizontalHeaderItem(col).setToolTip(tip)
        self.incoming_note = QLabel()
        self.incoming_note.setWordWrap(True)
        self.incoming_note.setStyleSheet(f"color: {MUTED}; padding: 2px 4px;")
        self.outgoing_table = self._table(["to", "weight w_jk", "δ_k", "signal w_jk·δ_k"])
        self.outgoing_note = QLabel()
        self.outgoing_note.setWordWrap(True)
        self.outgoing_note.setStyleSheet(f"color: {MUTED}; padding: 2px 4px;")
        self.delta_widget = QTableWidget()
        self.delta_widget.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.delta_widget.setSelectionMode(QAbstractItemView.NoSelection)
        self.delta_widget.cellClicked.connect(self._on_delta_cell)
        self.delta_note = QLabel(
            f'<span style="background:{DEAD_BG.name()}">&nbsp;dead&nbsp;</span> ReLU with z ≤ 0 for '
            f'every sample (no gradient) &nbsp; '
            f'<span style="background:{SATURATED_BG.name()}">&nbsp;saturated&nbsp;</span> '
            f'sigmoid/tanh with f′(z) &lt; {SATURATION_FPRIME:g} for ≥ {SATURATION_SHARE:.0%} of '
            f'the samples (or for the pinned sample) &nbsp; click a cell to inspect it')
        self.delta_note.setWordWrap(True)
        self.delta_note.setStyleSheet(f"color: {MUTED}; padding: 2px 4px;")

        self.delta_widget.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.delta_widget.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.delta_widget.setSizeAdjustPolicy(QAbstractScrollArea.AdjustIgnored)
        self.delta_widget.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.delta_widget.setToolTip("δ of every neuron: one column per layer, as in the diagram")

        # every section shown in full, in one scroll area: no tabs, no scroll bars of their own
        chain = self._section("Chain rule", self.chain)
        hist = self._section("δ over the training samples", self.hist_widget, self.hist_note)
        incoming = self._section("Incoming edges: the weights into this neuron",
                                 self.incoming_table, self.incoming_note)
        outgoing = self._section("Outgoing edges: the error signals back to this neuron",
                                 self.outgoing_table, self.outgoing_note)
        deltas = self._section("All deltas", self.delta_widget, self.delta_note)
        self.hist_plot.setLabel("bottom", "δ")

        self._left = QBoxLayout(QBoxLayout.TopToBottom)      # the chain rule and the histogram
        self._left.setContentsMargins(0, 0, 0, 0)
        self._left.setSpacing(8)
        self._left.addWidget(chain, 3)
        self._left.addWidget(hist, 2)
        left = QWidget()
        left.setLayout(self._left)
        right = QWidget()                                    # the tables
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(8)
        for w in (incoming, outgoing, deltas):
            col.addWidget(w)
        col.addStretch(1)
        self._main = QBoxLayout(QBoxLayout.TopToBottom)
        self._main.setContentsMargins(0, 0, 0, 0)
        self._main.setSpacing(8)
        self._main.addWidget(left, 1, Qt.AlignTop)
        self._main.addWidget(right, 1, Qt.AlignTop)

        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(4, 0, 4, 6)
        col.setSpacing(6)
        col.addWidget(self.header)
        col.addLayout(self._main)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(body)
        self._scroll = scroll
        self._mode = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._bar)
        layout.addWidget(scroll, 1)
        self._arrange(self.width())

        self.layer_box.valueChanged.connect(self._on_layer_box)
        self.index_box.valueChanged.connect(self._on_index_box)
        self.sample_box.valueChanged.connect(self._on_sample_box)
        self.prev_button.clicked.connect(lambda: self.sample_box.stepBy(-1))
        self.next_button.clicked.connect(lambda: self.sample_box.stepBy(1))
        self.sample_radio.toggled.connect(self._on_scope)

    @staticmethod
    def _table(headers) -> QTableWidget:
        """A table shown in full: sized to its cells (see :func:`fit_table`), no scroll bars."""
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(headers)
        t.setEditTriggers(QAbstractItemView.NoEditTriggers)
        t.setSelectionMode(QAbstractItemView.NoSelection)
        t.verticalHeader().setVisible(False)
        t.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        t.setSizeAdjustPolicy(QAbstractScrollArea.AdjustIgnored)
        t.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        fit_table(t)
        return t

    @staticmethod
    def _section(title: str, *widgets: QWidget) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        label = QLabel(f"<b>{html.escape(title)}</b>")
        label.setStyleSheet(f"color: {style.FOREGROUND}; padding: 0 2px;")
        v.addWidget(label)
        for x in widgets:
            v.addWidget(x)
        return w

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width())

    def _arrange(self, width: int) -> None:
        """Lay the sections out for ``width``: wide, the tables beside the chain rule and the
        histogram; medium, the chain rule beside the histogram and the tables below; narrow, one
        column. The selector bar takes one row when it fits, two otherwise."""
        mode = "wide" if width >= WIDE else "medium" if width >= MEDIUM else "narrow"
        one_row = sum(w.sizeHint().width() for w in self._bar_parts) + 28
        self._bar.setDirection(QBoxLayout.LeftToRight if width >= one_row
                               else QBoxLayout.TopToBottom)
        if mode == self._mode:
            return
        self._mode = mode
        self._main.setDirection(QBoxLayout.LeftToRight if mode == "wide"
                                else QBoxLayout.TopToBottom)
        self._left.setDirection(QBoxLayout.LeftToRight if mode == "medium"
                                else QBoxLayout.TopToBottom)

    def layout_mode(self) -> str:
        """"wide", "medium" or "narrow" (see :meth:`_arrange`)."""
        return self._mode

    # -- public API ---------------------------------------------------------------------------------

    def set_dataset(self, ds) -> None:
        """The training set the report is computed over (``ds.X_train``, ``ds.T_train``)."""
        self._X = np.ascontiguousarray(ds.X_train, dtype=float)
        self._T = np.asarray(ds.T_train, dtype=float)
        n = len(self._X)
        if self._pinned >= n:
            self._pinned = 0
        self._set_quietly(self.sample_box, max(0, n - 1), self._pinned)
        self._key = None
        self._report = None
        self._update(force=True)

    @Slot(object)
    def show_snapshot(self, snap: Snapshot) -> None:
        """Keep the newest snapshot; recompute when needed, throttled while training runs."""
        self._snap = snap
        self._update(force=not snap.running)

    @Slot(int, int)
    def select_neuron(self, layer: int, index: int) -> None:
        """Inspect neuron ``index`` of layer ``layer`` (0 = input). Emits nothing."""
        layer, index = int(layer), int(index)
        if (layer, index) == self._selected and self._report is not None:
            return
        if self._sizes and not (0 <= layer < len(self._sizes) and 0 <= index < self._sizes[layer]):
            return                       # not a neuron of this network: keep the selection
        self._selected = (layer, index)
        self._sync_boxes()
        self._update(force=True)

    @Slot(int)
    def set_pinned(self, index: int) -> None:
        """Pin training sample ``index``. Emits nothing (``sampleChanged`` is for user steps)."""
        index = int(index)
        if self._X is not None and not 0 <= index < len(self._X):
            return
        if index == self._pinned and self._report is not None:
            return
        self._pinned = index
        self._set_quietly(self.sample_box, self.sample_box.maximum(), index)
        self._update(force=True)

    def set_scope(self, scope: str) -> None:
        """Show the chain rule and the delta table for the "sample" or the "batch" mean."""
        if scope not in ("sample", "batch"):
            raise ValueError("scope must be 'sample' or 'batch'")
        (self.sample_radio if scope == "sample" else self.batch_radio).setChecked(True)

    def scope(self) -> str:
        return self._scope

    def selected_neuron(self) -> tuple[int, int]:
        return self._selected

    def pinned(self) -> int:
        return self._pinned

    def report(self) -> NeuronReport | None:
        """The report shown (None before the first snapshot with data)."""
        return self._report

    def chain_rule_html(self) -> str:
        """The chain-rule label's rich text, as shown."""
        return self.chain.text()

    def header_html(self) -> str:
        return self.header.text()

    def delta_table(self) -> DeltaTable | None:
        """The delta table shown: the pinned sample's or the batch mean (the toggle)."""
        return self._tables.get(self._scope)

    # -- user actions -------------------------------------------------------------------------------

    @Slot(int)
    def _on_layer_box(self, layer: int) -> None:
        if not self._sizes:
            return
        index = min(self._selected[1], self._sizes[layer] - 1)
        self._selected = (layer, index)
        self._sync_boxes()
        self._update(force=True)
        self.neuronChosen.emit(*self._selected)

    @Slot(int)
    def _on_index_box(self, index: int) -> None:
        if not self._sizes:
            return
        self._selected = (self._selected[0], index)
        self._update(force=True)
        self.neuronChosen.emit(*self._selected)

    @Slot(int)
    def _on_sample_box(self, index: int) -> None:
        if index == self._pinned:
            return
        self._pinned = index
        self._update(force=True)
        self.sampleChanged.emit(index)

    @Slot(bool)
    def _on_scope(self, sample_checked: bool) -> None:
        if self._focus is not None:        # the window's focus decides; it tells us back
            self._focus.set_mode("sample" if sample_checked else "mean")
            return
        self._apply_scope("sample" if sample_checked else "batch")

    def _apply_scope(self, scope: str) -> None:
        self._scope = scope
        if self._report is not None:
            self._render()

    def bind_focus(self, model) -> None:
        """Follow the window's focus (a :class:`~bpviz.ui.focus.FocusModel`): its "pinned sample
        / batch mean" toggle shows and sets that focus."""
        self._focus = model
        model.changed.connect(self._on_focus_changed)
        self._on_focus_changed()

    @Slot()
    def _on_focus_changed(self) -> None:
        scope = "sample" if self._focus.is_sample() else "batch"
        radio = self.sample_radio if scope == "sample" else self.batch_radio
        if not radio.isChecked():
            self._scope_group.blockSignals(True)
            self.sample_radio.blockSignals(True)
            radio.setChecked(True)
            self.sample_radio.blockSignals(False)
            self._scope_group.blockSignals(False)
        if scope != self._scope:
            self._apply_scope(scope)

    @Slot(int, int)
    def _on_delta_cell(self, row: int, col: int) -> None:
        """A click in the delta table: row ``row`` is the neuron, column ``col`` layer col + 1."""
        layer, index = col + 1, row
        if not self._sizes or layer >= len(self._sizes) or index >= self._sizes[layer]:
            return
        self.select_neuron(layer, index)
        self.neuronChosen.emit(layer, index)

    @staticmethod
    def _set_quietly(box: QSpinBox, maximum: int, value: int) -> None:
        box.blockSignals(True)
        box.setRange(0, max(0, maximum))
        box.setValue(value)
        box.blockSignals(False)

    def _sync_boxes(self) -> None:
        layer, index = self._selected
        if not self._sizes:
            return
        self._set_quietly(self.layer_box, len(self._sizes) - 1, layer)
        self._set_quietly(self.index_box, self._sizes[layer] - 1, index)

    # -- recomputation ------------------------------------------------------------------------------

    def _ready(self) -> str:
        """"" when a report can be computed, else why not."""
        snap = self._snap
        if snap is None:
            return "Waiting for the first snapshot…"
        if self._X is None:
            return "Waiting for the training data…"
        if snap.sizes[0] != self._X.shape[1] or snap.sizes[-1] != self._T.shape[1]:
            return "Waiting for the training data of this network…"
        if len(self._X) == 0:
            return "The training set is empty."
        return ""

    def _weights(self, snap: Snapshot):
        if self.at == "trace" and snap.has_trace:
            return snap.trace_weights, snap.trace_biases
        return snap.weights, snap.biases

    def _key_of(self, snap: Snapshot) -> tuple:
        """What a report shown for ``snap`` was computed from, short of the weights."""
        return (self._selected, self._pinned, id(self._X), snap.sizes, snap.activations,
                snap.pass_count, snap.running)

    def _needs_update(self, snap: Snapshot) -> bool:
        key = self._key_of(snap)
        if key != self._key or self._computed_snap is None:
            return True
        if snap is self._computed_snap:
            return False
        old = self._computed_snap
        W0, b0 = self._weights(old)
        W1, b1 = self._weights(snap)
        return not (all(np.array_equal(a, b) for a, b in zip(W0, W1))
                    and all(np.array_equal(a, b) for a, b in zip(b0, b1))
                    and all(np.array_equal(a, b) for a, b in zip(old.update_weights,
                                                                  snap.update_weights)))

    def recompute_pending(self) -> bool:
        """A recomputation is scheduled: snapshots came faster than ``MIN_INTERVAL_S`` apart."""
        return self._timer.isActive()

    @Slot()
    def _on_timer(self) -> None:
        self._update(force=True)

    def _update(self, force: bool = False) -> None:
        why = self._ready()
        if why:
            self._show_placeholder(why)
            return
        snap = self._snap
        if self._sizes != snap.sizes:
            self._sizes = tuple(snap.sizes)
            layer, index = self._selected
            if not (0 <= layer < len(self._sizes) and 0 <= index < self._sizes[layer]):
                self._selected = (min(1, len(self._sizes) - 1), 0)
            self._sync_boxes()
        if not self._needs_update(snap):
            return
        wait = self._last_compute + MIN_INTERVAL_S - time.monotonic()
        if not force and wait > 0:
            if not self._timer.isActive():
                self._timer.start(int(wait * 1000) + 1)
            return
        self._timer.stop()
        self._recompute(snap)

    def _recompute(self, snap: Snapshot) -> None:
        """Ask for the report of the selected neuron at ``snap``'s weights: of the training
        session (``self.ask``, off the GUI thread) in the window, or computed here."""
        layer, index = self._selected
        W, b = self._weights(snap)
        upd = [u for pair in zip(snap.update_weights, snap.update_biases) for u in pair]
        # no update yet (all zero), or not known yet (NaN while a pass is walked phase by phase)
        has_update = snap.has_trace and all(np.isfinite(u).all() for u in upd) \
            and any(np.any(u) for u in upd)
        request = InspectRequest(layer, index, self._pinned, tuple(snap.sizes),
                                 tuple(snap.activations), tuple(W), tuple(b),
                                 tuple(upd) if has_update else None,
                                 tuple(snap.trace_weights) if has_update else None, snap.running)
        key = self._key_of(snap)
        self._key, self._computed_snap = key, snap
        self._last_compute = time.monotonic()
        self.compute_count += 1
        if self.ask is None:
            self._take(key, answer_inspect(request, self._X, self._T))
        else:
            self.ask(request, partial(self._take, key))

    def _take(self, key, answer) -> None:
        """A report arrived; shown unless something newer was asked for since."""
        if key != self._key:
            return
        if isinstance(answer, BaseException):
            self._show_placeholder(f"cannot compute this neuron's numbers: {answer}")
            return
        self._report, self._tables, self._subset = answer.report, answer.tables, answer.subset
        self.reports_shown += 1
        self._render()

    # -- rendering ----------------------------------------------------------------------------------

    def _show_placeholder(self, text: str) -> None:
        self.header.setText(f'<span style="color:{MUTED}">{html.escape(text)}</span>')
        self.chain.setText("")

    def _where(self) -> str:
        """Which weights the numbers refer to, in words."""
        snap = self._snap
        W, b = self._weights(snap)
        current = all(np.array_equal(x, y) for x, y in zip(W, snap.weights)) and \
            all(np.array_equal(x, y) for x, y in zip(b, snap.biases))
        phase = getattr(snap, "phase", None)
        if phase is not None:
            return (f"step by step, {phase.label()}: the whole pass at the weights it started "
                    f"from (epoch {snap.epoch})")
        if current:
            return f"at the current weights (epoch {snap.epoch}, pass {snap.pass_count})"
        return f"at the weights before the update of pass {snap.pass_count} (epoch {snap.epoch})"

    def _render(self) -> None:
        r = self._report
        self._render_header(r)
        self.chain.setText(self._chain_html(r, self._scope))
        self._render_histogram(r)
        self._render_incoming(r)
        self._render_outgoing(r)
        self._render_deltas()

    def _render_header(self, r: NeuronReport) -> None:
        role = "input" if r.is_input else "output" if r.is_output else "hidden"
        title = (f'<span style="font-size:12pt"><b>Layer {r.layer}, neuron {r.index}</b></span> '
                 f'<span style="color:{MUTED}">({role})</span> &nbsp; ')
        if r.is_input:
            title += "input: a = x"
        elif r.is_output:
            title += f"<b>{html.escape(r.activation)}</b>: {_nowrap(html.escape(r.formula))} " \
                     f'&nbsp; <span style="color:{MUTED}">{_nowrap(html.escape(r.loss))}</span>'
        else:
            title += (f"<b>{html.escape(r.activation)}</b>: {_nowrap(html.escape(r.formula))}, "
                      f"&nbsp; {_nowrap(html.escape(r.derivative))}")
        flags = []
        if r.dead:
            flags.append(f'<span style="background:{DEAD_BG.name()}">&nbsp;dead:&nbsp;z&nbsp;≤&nbsp;0'
                         f'&nbsp;for&nbsp;every&nbsp;sample&nbsp;</span>')
        if r.saturated:
            flags.append(f'<span style="background:{SATURATED_BG.name()}">&nbsp;saturated:&nbsp;'
                         f'f′&nbsp;&lt;&nbsp;{SATURATION_FPRIME:g} for&nbsp;≥&nbsp;'
                         f'{SATURATION_SHARE:.0%}&nbsp;of&nbsp;the&nbsp;samples&nbsp;</span>')
        elif r.saturated_sample:
            flags.append(f'<span style="background:{SATURATED_BG.name()}">&nbsp;saturated&nbsp;'
                         f'for&nbsp;this&nbsp;sample&nbsp;</span>')
        if flags:
            title += " &nbsp; " + " ".join(flags)
        over = f"over the {r.n_samples} training samples"
        if self._subset:
            over = f"over the first {self._subset[0]} of the {self._subset[1]} training samples " \
                   f"(capped to keep the window responsive)"
        where = f'<span style="color:{MUTED}">{html.escape(self._where())}, {over} · ' \
                f'{_nowrap(f"loss {fmt(r.loss_value, 5)}")}</span>'
        if r.is_input:
            values = (f"sample {r.sample}: &nbsp;a = x = {_num(r.a, True)}<br>"
                      f"batch mean: &nbsp;ā = {_num(r.a_mean)}")
        else:
            t = f" &nbsp; t = {_num(r.t)}" if r.is_output else ""
            values = (f"sample {r.sample}: &nbsp;z = {_num(r.z)} &nbsp; a = {_num(r.a)}{t} &nbsp; "
                      f"<b>δ = {_num(r.delta, True)}</b><br>"
                      f"batch: &nbsp;<b>δ̄ = {_num(r.delta_mean, True)}</b> &nbsp; "
                      f"mean |δ| = {_num(r.delta_mean_abs, signed_colour=False)}")
        self.header.setText(f"{title}<br>{values}<br>{where}")

    def _chain_html(self, r: NeuronReport, scope: str) -> str:
        c = r.chain_sample if scope == "sample" else r.chain_batch
        lines = []
        pad = 'style="padding: 0px 6px"'
        if c.kind == "input":
            return (f"<p>a = x = {_num(c.a, True)}</p><p style='color:{MUTED}'>An input neuron has "
                    f"no δ: there is no weight below it to learn. Its outgoing edges carry the "
                    f"error signals w·δ back (“Outgoing edges” below).</p>")
        if c.kind == "output":
            if scope == "sample":
                head = f"<b>δ = y − t</b> &nbsp;<span style='color:{MUTED}'>({html.escape(r.loss)}: " \
                       f"∂ℓ/∂z = y − t; sample {r.sample})</span>"
                body = (f"&nbsp;&nbsp;= {_num(c.y)} − {_num(c.t, signed_colour=False)}"
                        f" = {_num(c.result, True)}")
            else:
                head = f"<b>δ̄ = ȳ − t̄</b> &nbsp;<span style='color:{MUTED}'>(mean over " \
                       f"{c.samples} samples; y − t is linear, so the mean is exact)</span>"
                body = f"&nbsp;&nbsp;= {_num(c.y)} − {_num(c.t)} = {_num(c.result, True)}"
            return f"{head}<br>{body}"
        fp = SYMBOLS.get(c.activation, "f′(z)")
        mean = "" if scope == "sample" else "mean "
        if scope == "sample":
            lines.append(f"<b>δ = {fp} · Σ<sub>k</sub> w<sub>jk</sub>·δ<sub>k</sub></b> "
                         f"&nbsp;<span style='color:{MUTED}'>(sample {r.sample}; largest terms "
                         f"first)</span>")
        else:
            lines.append(f"<b>error signals w<sub>jk</sub>·mean δ<sub>k</sub></b> &nbsp;<span "
                         f"style='color:{MUTED}'>(means over the {c.samples} samples; largest "
                         f"first)</span>")
        rows = [f"<tr><td {pad} align=right style='color:{MUTED}'>k</td>"
                f"<td {pad} align=right style='color:{MUTED}'>w<sub>jk</sub></td><td></td>"
                f"<td {pad} align=right style='color:{MUTED}'>{mean}δ<sub>k</sub></td><td></td>"
                f"<td {pad} align=right style='color:{MUTED}'>w<sub>jk</sub>·{mean}δ<sub>k</sub>"
                f"</td></tr>"]
        shown = c.terms[:MAX_TERMS_SHOWN]
        for t in shown:
            rows.append(f"<tr><td {pad} align=right>{t.k}</td><td {pad} align=right>"
                        f"{_num(t.weight, signed_colour=False)}</td><td>×</td>"
                        f"<td {pad} align=right>{_num(t.delta)}</td><td>=</td>"
                        f"<td {pad} align=right>{_num(t.product)}</td></tr>")
        rest = c.terms[MAX_TERMS_SHOWN:]
        if rest:
            rest_sum = float(sum(t.product for t in rest))
            rows.append(f"<tr><td {pad} colspan=5 align=right style='color:{MUTED}'>"
                        f"… {len(rest)} smaller terms</td>"
                        f"<td {pad} align=right>{_num(rest_sum)}</td></tr>")
        rows.append(f"<tr><td {pad} colspan=5 align=right><b>Σ =</b></td>"
                    f"<td {pad} align=right style='border-top:1px solid #94a3b8'>"
                    f"<b>{_num(c.total)}</b></td></tr>")
        lines.append("<table cellspacing=0 cellpadding=1>" + "".join(rows) + "</table>")
        if scope == "sample":
            lines.append(f"{fp} = {html.escape(derivative_numbers(c, result=False))}"
                         f"<b>{_num(c.fprime, signed_colour=False)}</b>")
            lines.append(f"<b>δ = {fp} × Σ = {_num(c.fprime, signed_colour=False)} × "
                         f"{_pnum(c.total)} = {_num(c.result, True)}</b>")
        else:
            lines.append(f"mean {fp} = {_num(c.fprime, signed_colour=False)}")
            lines.append(f"<b>mean δ = mean over the samples of {fp}·Σ w·δ = "
                         f"{_num(c.result, True)}</b>")
            if _differ(c.product_of_means, c.result):
                lines.append(f"<span style='color:{MUTED}'>not mean {fp} × Σ = {fmt(c.fprime)} × "
                             f"{html.escape(paren(c.total))} = "
                             f"{html.escape(fmt(c.product_of_means))}:<br>the mean of products is "
                             f"not the product of means</span>")
        return "<br>".join(lines)

    def _render_histogram(self, r: NeuronReport) -> None:
        h = r.delta_histogram
        has = h is not None and len(h.counts) > 0
        for item in (self.hist_curve, self.hist_sample_line, self.hist_mean_line,
                     self.hist_zero_line):
            item.setVisible(has)
        if not has:
            self.hist_curve.setData([0, 1], [0])
            self.hist_note.setText("An input neuron has no δ.")
            return
        edges = np.asarray(h.edges)
        counts = np.asarray(h.counts, dtype=float)
        self.hist_curve.setData(edges, counts)
        self.hist_sample_line.setValue(r.delta)
        self.hist_mean_line.setValue(r.delta_mean)
        self.hist_zero_line.setValue(0.0)
        # the ranges move only when the data leave them or fill too little of them (refreshed a
        # few times a second while training, a range moving every time rebuilt both axes)
        (x0, x1), (y0, y1) = self.hist_plot.vb.viewRange()
        x_range = style.steady_range((x0, x1), min(edges[0], r.delta, 0.0),
                                     max(edges[-1], r.delta, 0.0))
        if x_range is not None:
            self.hist_plot.setXRange(*x_range, padding=0)
        top = max(1.0, float(counts.max()))
        if not (top <= y1 and top >= 0.5 * y1 and y0 == 0):
            self.hist_plot.setYRange(0, top * 1.08, padding=0)
        self.hist_note.setText(f"solid line: pinned sample {r.sample} (δ = {fmt(r.delta)}) · dashed: "
                               f"batch mean δ̄ = {fmt(r.delta_mean)} · dotted: 0")

    def _fill(self, table: QTableWidget, rows: list[list], signed: tuple[int, ...] = ()) -> None:
        """Fill ``table``; a cell is (text, value) with the value kept in Qt.UserRole and shown in
        full in the tooltip. Columns in ``signed`` are coloured by sign (blue positive, orange
        negative). The table is then sized to its cells."""
        table.setRowCount(len(rows))
        columns = [[] for _ in range(table.columnCount())]
        for i, row in enumerate(rows):
            for j, (text, value) in enumerate(row):
                item = table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    table.setItem(i, j, item)
                item.setText(text)
                columns[j].append(text)
                item.setData(Qt.UserRole, value)
                item.setToolTip(full_value(value) if isinstance(value, float) else "")
                colour = style.FOREGROUND
                if j in signed and isinstance(value, float) and np.isfinite(value) and value != 0:
                    colour = _hex(style.POSITIVE if value > 0 else style.NEGATIVE)
                item.setForeground(QBrush(QColor(colour)))
        fit_table(table, columns)

    @staticmethod
    def _cell(v):
        return (fmt(v), None if v is None else float(v))

    def _render_incoming(self, r: NeuronReport) -> None:
        rows = [[(f"a{e.from_}", e.from_), self._cell(e.weight), self._cell(e.grad),
                 self._cell(e.update), self._cell(e.fd), self._cell(e.rel_error)]
                for e in r.incoming]
        if r.bias is not None:
            b = r.bias
            rows.append([("bias", None), self._cell(b.value), self._cell(b.grad),
                         self._cell(b.update), self._cell(b.fd), self._cell(b.rel_error)])
        self._fill(self.incoming_table, rows, signed=(2, 3))
        snap = self._snap
        if r.is_input:
            note = "An input neuron has no incoming edges."
        else:
            note = "∂L/∂w = mean over the training samples of a_i · δ_j; ∂L/∂b = δ̄_j."
            if r.update_at_these_weights is None:
                note += " Δw: no update yet."
            elif r.update_at_these_weights:
                note += " Δw: the step the optimizer took from these weights"
                if snap.batch_size and snap.batch_size < r.n_samples:
                    note += f" (computed on a mini-batch of {snap.batch_size}, not the whole set)"
                note += "."
            else:
                note += " Δw: the last update, which led to these weights."
            if snap.l2:
                note += f" Δw includes the L2 decay λ = {fmt(snap.l2)}."
            if r.fd is None:
                note += " Finite differences: computed when training is paused" + \
                        ("" if snap.running else " (too costly for this network)") + "."
            else:
                note += (f" Finite differences (five-point, h = {fmt(r.fd.h)}): worst relative error "
                         f"{fmt(r.fd.worst)}.")
                if r.fd.skipped:
                    note += f" {r.fd.skipped} weights with the smallest gradients not checked."
                if r.fd.kink_samples:
                    note += (f" {r.fd.kink_samples} samples sit on a ReLU kink, where finite "
                             f"differences may disagree.")
        self.incoming_note.setText(note)

    def _render_outgoing(self, r: NeuronReport) -> None:
        sample = self._scope == "sample"
        head = (["to", "weight w_jk", f"δ_k (sample {r.sample})", "signal w_jk·δ_k"] if sample
                else ["to", "weight w_jk", "δ̄_k (batch mean)", "signal w_jk·δ̄_k"])
        self.outgoing_table.setHorizontalHeaderLabels(head)
        rows = [[(f"→ {e.to}", e.to), self._cell(e.weight),
                 self._cell(e.delta if sample else e.delta_mean),
                 self._cell(e.signal_sample if sample else e.signal)] for e in r.outgoing]
        self._fill(self.outgoing_table, rows, signed=(2, 3))
        self.outgoing_note.setText(
            "The output layer has no outgoing edges: its δ = y − t starts the backward pass."
            if r.is_output else
            "Each edge carries w_jk·δ_k back to this neuron; their sum, times f′(z), is its δ. "
            + (f"The diagram's edge signal is sample {r.sample}'s own w_jk·δ_k, as in this table."
               if sample else "The diagram's edge signal is the batch mean w_jk·δ̄_k."))

    def _render_deltas(self) -> None:
        """One column per layer and one row per neuron, as the diagram draws them."""
        table = self._tables.get(self._scope)
        w = self.delta_widget
        if table is None:
            w.setRowCount(0)
            fit_table(w)
            return
        height = max(len(ld.delta) for ld in table.layers)
        if w.columnCount() != len(table.layers) or w.rowCount() != height:
            w.clear()
            w.setColumnCount(len(table.layers))
            w.setRowCount(height)
        w.setHorizontalHeaderLabels([f"layer {ld.layer}\n{ld.activation}" for ld in table.layers])
        w.setVerticalHeaderLabels([str(j) for j in range(height)])
        sel_layer, sel_index = self._selected
        columns, bold = [], []
        for col, ld in enumerate(table.layers):
            columns.append([fmt(v) for v in ld.delta])
            for j in range(height):
                item = w.item(j, col)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    w.setItem(j, col, item)
                if j >= len(ld.delta):
                    item.setText("")
                    item.setData(Qt.UserRole, None)
                    item.setBackground(QBrush())
                    item.setToolTip("")
                    continue
                v = float(ld.delta[j])
                item.setText(columns[col][j])
                item.setData(Qt.UserRole, v)
                selected = (ld.layer, j) == (sel_layer, sel_index)
                if selected:
                    bold.append((col, columns[col][j]))
                font = item.font()
                if font.bold() != selected:
                    font.setBold(selected)
                    item.setFont(font)
                tip = f"layer {ld.layer}, neuron {j}: δ = {full_value(v)}"
                if ld.dead[j]:
                    item.setBackground(DEAD_BG)
                    tip += "\ndead: z ≤ 0 for every sample, so no gradient flows"
                elif ld.saturated[j]:
                    item.setBackground(SATURATED_BG)
                    tip += f"\nsaturated: f′(z) < {SATURATION_FPRIME:g}"
                elif (ld.layer, j) == (sel_layer, sel_index):
                    item.setBackground(SELECTED_BG)
                    tip += "\nthe inspected neuron"
                else:
                    item.setBackground(QBrush())
                item.setToolTip(tip)
                colour = style.POSITIVE if v > 0 else style.NEGATIVE if v < 0 else (100, 116, 139)
                item.setForeground(QBrush(QColor(*colour)))
        fit_table(w, columns, bold)
