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

Structure: the panel is a selector bar (:class:`SelectorBar`) and one class per section —
:class:`HeaderSection`, :class:`ChainRuleSection`, :class:`HistogramSection`,
:class:`IncomingSection`, :class:`OutgoingSection`, :class:`DeltaSection` — each of which draws a
:class:`~bpviz.engine.inspect.NeuronReport` and nothing else. :class:`SectionsArea` arranges them
for the width and :class:`Throttle` paces the recomputations. The panel keeps the selection and
asks for the report. The tables are :class:`QTableView` s over one
:class:`CellTableModel` each: the sections hand it rows of :class:`Cell` (text, value, tooltip,
colours), and the model answers the view's questions (display text, the value in ``Qt.UserRole``,
tooltip, colours, bold font).

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
import math
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QAbstractScrollArea, QBoxLayout, QButtonGroup,
                               QHBoxLayout, QHeaderView, QLabel, QRadioButton, QScrollArea,
                               QSizePolicy, QSpinBox, QStyle, QTableView, QToolButton,
                               QVBoxLayout, QWidget)

from ...engine.inspect import (SATURATION_FPRIME, SATURATION_SHARE, SYMBOLS, DeltaTable,
                              InspectAnswer, InspectRequest, answer_inspect,
                              NeuronReport, derivative_numbers, fmt, paren)
from ...engine import numbers
from ...engine.snapshot import Snapshot
from ..plotting import style

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


# -- the tables ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One table cell: its text, the value behind it (``Qt.UserRole``), its tooltip, text colour
    and background (None: the table's own) and whether it is drawn in bold."""

    text: str = ""
    value: object = None
    tip: str = ""
    colour: QColor | None = None
    background: QColor | None = None
    bold: bool = False


def number_cell(v, signed: bool = False) -> Cell:
    """A number's cell: 4 significant digits, every digit in the tooltip; ``signed``: coloured by
    sign (blue positive, orange negative)."""
    value = None if v is None else float(v)
    colour = style.FOREGROUND
    if signed and value is not None and np.isfinite(value) and value != 0:
        colour = _hex(style.POSITIVE if value > 0 else style.NEGATIVE)
    return Cell(fmt(v), value, full_value(value) if value is not None else "", QColor(colour))


class CellTableModel(QAbstractTableModel):
    """A read-only table of :class:`Cell` rows, with column headers (and their tooltips) and,
    optionally, row headers. :meth:`set_rows` replaces every cell."""

    def __init__(self, headers: list[str], parent=None):
        super().__init__(parent)
        self._headers = list(headers)
        self._header_tips: list[str] = [""] * len(headers)
        self._row_labels: list[str] | None = None
        self._rows: list[list[Cell]] = []
        self._bold = QFont()
        self._bold.setBold(True)

    # -- filling ---------------------------------------------------------------------------------

    def set_headers(self, headers: list[str], tips: list[str] | None = None) -> None:
        if len(headers) != len(self._headers):
            self.beginResetModel()
            self._headers = list(headers)
            self._header_tips = list(tips) if tips else [""] * len(headers)
            self._rows = []
            self.endResetModel()
            return
        tips = list(tips) if tips else self._header_tips
        if headers != self._headers or tips != self._header_tips:
            self._headers, self._header_tips = list(headers), tips
            self.headerDataChanged.emit(Qt.Horizontal, 0, len(headers) - 1)

    def set_row_labels(self, labels: list[str] | None) -> None:
        if labels != self._row_labels:
            self._row_labels = None if labels is None else list(labels)
            if self._rows:
                self.headerDataChanged.emit(Qt.Vertical, 0, len(self._rows) - 1)

    def set_rows(self, rows: list[list[Cell]]) -> None:
        rows = [list(r) + [Cell()] * (len(self._headers) - len(r)) for r in rows]
        if len(rows) != len(self._rows):
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        elif rows != self._rows:
            self._rows = rows
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(rows) - 1, len(self._headers) - 1))

    def column_texts(self) -> tuple[list[list[str]], list[tuple[int, str]]]:
        """(each column's texts in regular font, (column, text) of the bold cells): what
        :func:`fit_table` sizes the columns for."""
        columns, bold = [[] for _ in self._headers], []
        for row in self._rows:
            for c, cell in enumerate(row):
                if cell.text:
                    (bold.append((c, cell.text)) if cell.bold else columns[c].append(cell.text))
        return columns, bold

    # -- QAbstractTableModel ---------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        cell = self._rows[index.row()][index.column()]
        if role == Qt.DisplayRole:
            return cell.text
        if role == Qt.UserRole:
            return cell.value
        if role == Qt.ToolTipRole:
            return cell.tip or None
        if role == Qt.ForegroundRole:
            return None if cell.colour is None else QBrush(cell.colour)
        if role == Qt.BackgroundRole:
            return None if cell.background is None else QBrush(cell.background)
        if role == Qt.FontRole:
            return self._bold if cell.bold else None
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal:
            if not 0 <= section < len(self._headers):
                return None
            if role == Qt.DisplayRole:
                return self._headers[section]
            if role == Qt.ToolTipRole:
                return self._header_tips[section] or None
            return None
        if role == Qt.DisplayRole:
            if self._row_labels is not None and 0 <= section < len(self._row_labels):
                return self._row_labels[section]
            return str(section + 1)
        return None


def cell_margin(table: QTableView) -> int:
    """Pixels a table cell keeps free on each side of its text (the style's text margin)."""
    return table.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, table) + 1


def fit_table(table: QTableView, columns: list[list[str]] | None = None,
              bold: list[tuple[int, str]] = ()) -> None:
    """Size every column to its widest text (header and cells) and the table to all its rows and
    columns, so that no text is elided and it needs no scroll bar.

    ``columns``: each column's cell texts in regular font and ``bold``: (column, text) of the
    cells drawn in bold; without ``columns`` they are read from the table's
    :class:`CellTableModel`."""
    model = table.model()
    if columns is None:
        columns, bold = model.column_texts()
    fm = table.fontMetrics()
    pad = 2 * cell_margin(table) + 8             # the text margins, the grid line, some air
    header, side = table.horizontalHeader(), table.verticalHeader()
    header.setSectionResizeMode(QHeaderView.Fixed)
    header.setStretchLastSection(False)
    side.setSectionResizeMode(QHeaderView.Fixed)
    side.setDefaultSectionSize(fm.height() + 8)
    n_columns, n_rows = model.columnCount(), model.rowCount()
    widths = [max(40, header.sectionSizeHint(c)) for c in range(n_columns)]
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
    height = header.sizeHint().height() + n_rows * side.defaultSectionSize() \
        + 2 * table.frameWidth()
    if (table.width(), table.height()) != (width, height) or table.minimumWidth() != width:
        table.setFixedSize(width, height)


def make_table(headers: list[str], tips: list[str] | None = None, *,
               row_headers: bool = False) -> QTableView:
    """A read-only table over a new :class:`CellTableModel`, shown in full: sized to its cells
    (see :func:`fit_table`), no scroll bars, nothing to select or edit."""
    t = QTableView()
    t.setModel(CellTableModel(headers, t))
    if tips:
        t.model().set_headers(headers, tips)
    t.setEditTriggers(QAbstractItemView.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.NoSelection)
    t.verticalHeader().setVisible(row_headers)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    t.setSizeAdjustPolicy(QAbstractScrollArea.AdjustIgnored)
    t.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
    fit_table(t)
    return t


def _note(padding: str = "2px 4px") -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {MUTED}; padding: {padding};")
    return label


# -- the sections ----------------------------------------------------------------------------------

class Section(QWidget):
    """A titled block of the panel: the title in bold over the section's widgets."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(2)
        label = QLabel(f"<b>{html.escape(title)}</b>")
        label.setStyleSheet(f"color: {style.FOREGROUND}; padding: 0 2px;")
        self._box.addWidget(label)

    def add(self, *widgets: QWidget) -> None:
        for w in widgets:
            self._box.addWidget(w)


class SelectorBar(QWidget):
    """The neuron (layer, index), the pinned sample (◀ box ▶) and the "pinned sample / batch mean"
    toggle. The ``show_…`` methods set the boxes quietly; the signals are the user's changes."""

    layerChanged = Signal(int)
    indexChanged = Signal(int)
    sampleChanged = Signal(int)
    sampleToggled = Signal(bool)         # the "pinned sample" radio button: checked or not

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
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
        self._parts = (picker, scope)
        self._row = QBoxLayout(QBoxLayout.LeftToRight, self)
        self._row.setContentsMargins(4, 2, 4, 2)
        self._row.setSpacing(2)
        self._row.addWidget(picker)
        self._row.addSpacing(12)
        self._row.addWidget(scope, 1)

        self.layer_box.valueChanged.connect(self.layerChanged)
        self.index_box.valueChanged.connect(self.indexChanged)
        self.sample_box.valueChanged.connect(self.sampleChanged)
        self.prev_button.clicked.connect(lambda: self.sample_box.stepBy(-1))
        self.next_button.clicked.connect(lambda: self.sample_box.stepBy(1))
        self.sample_radio.toggled.connect(self.sampleToggled)

    def arrange(self, width: int) -> None:
        """One row when ``width`` holds it, two otherwise."""
        one_row = sum(w.sizeHint().width() for w in self._parts) + 28
        self._row.setDirection(QBoxLayout.LeftToRight if width >= one_row
                               else QBoxLayout.TopToBottom)

    @staticmethod
    def _set_quietly(box: QSpinBox, maximum: int, value: int) -> None:
        box.blockSignals(True)
        box.setRange(0, max(0, maximum))
        box.setValue(value)
        box.blockSignals(False)

    def show_neuron(self, sizes: tuple[int, ...], layer: int, index: int) -> None:
        if not sizes:
            return
        self._set_quietly(self.layer_box, len(sizes) - 1, layer)
        self._set_quietly(self.index_box, sizes[layer] - 1, index)

    def show_sample(self, maximum: int, index: int) -> None:
        self._set_quietly(self.sample_box, maximum, index)

    def sample_maximum(self) -> int:
        return self.sample_box.maximum()

    def show_scope(self, scope: str) -> None:
        """Check the radio button of ``scope`` ("sample" or "batch") without telling anyone."""
        radio = self.sample_radio if scope == "sample" else self.batch_radio
        if not radio.isChecked():
            self._scope_group.blockSignals(True)
            self.sample_radio.blockSignals(True)
            radio.setChecked(True)
            self.sample_radio.blockSignals(False)
            self._scope_group.blockSignals(False)

    def choose_scope(self, scope: str) -> None:
        """Check the radio button of ``scope`` as a click would (the panel hears of it)."""
        (self.sample_radio if scope == "sample" else self.batch_radio).setChecked(True)


class HeaderSection(QLabel):
    """The neuron's name, role and formulas, its z, a, δ and batch δ̄, and which weights and
    samples the numbers are at. Also shows why there is nothing to show yet."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.RichText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setStyleSheet(f"color: {style.FOREGROUND}; padding: 2px 6px;")

    def show_placeholder(self, text: str) -> None:
        self.setText(f'<span style="color:{MUTED}">{html.escape(text)}</span>')

    def show_report(self, r: NeuronReport, where: str, subset: tuple[int, int] | None) -> None:
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
        if subset:
            over = f"over the first {subset[0]} of the {subset[1]} training samples " \
                   f"(capped to keep the window responsive)"
        where = f'<span style="color:{MUTED}">{html.escape(where)}, {over} · ' \
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
        self.setText(f"{title}<br>{values}<br>{where}")


class ChainRuleSection(Section):
    """The chain rule with the live numbers: every term w_jk·δ_k, largest first, their sum, f′(z)
    and δ — for the pinned sample or the batch mean; δ = y − t for an output neuron."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Chain rule", parent)
        mono = QFont()
        mono.setFamilies([f.strip() for f in MONO.split(",")])
        mono.setStyleHint(QFont.TypeWriter)
        self.label = QLabel()
        self.label.setTextFormat(Qt.RichText)
        self.label.setFont(mono)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.label.setStyleSheet(f"color: {style.FOREGROUND}; background: #f8fafc; "
                                 f"border: 1px solid #e2e8f0; padding: 6px;")
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.add(self.label)

    def clear(self) -> None:
        self.label.setText("")

    def show_report(self, r: NeuronReport, scope: str) -> None:
        self.label.setText(self.chain_html(r, scope))

    @staticmethod
    def chain_html(r: NeuronReport, scope: str) -> str:
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


class HistogramSection(Section):
    """A histogram of δ over the training samples, with the pinned sample, the mean and 0
    marked. Its items are made once and updated with ``setData``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("δ over the training samples", parent)
        self.widget = pg.PlotWidget()
        self.widget.setBackground(style.BACKGROUND)
        self.plot = self.widget.getPlotItem()
        style.style_plot(self.plot, grid=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getAxis("left").setWidth(36)
        self.widget.setFixedHeight(130)
        self.curve = pg.PlotCurveItem(x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0,
                                      brush=pg.mkBrush(100, 116, 139, 110),
                                      pen=pg.mkPen(71, 85, 105))
        self.sample_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.FOREGROUND, width=2))
        self.mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(style.FOREGROUND, width=1,
                                                                style=Qt.DashLine))
        self.zero_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(148, 163, 184, width=1,
                                                                style=Qt.DotLine))
        for item in (self.curve, self.zero_line, self.mean_line, self.sample_line):
            self.plot.addItem(item)
        self.note = _note("0 6px")
        self.plot.setLabel("bottom", "δ")
        self.add(self.widget, self.note)

    def show_report(self, r: NeuronReport) -> None:
        h = r.delta_histogram
        has = h is not None and len(h.counts) > 0
        for item in (self.curve, self.sample_line, self.mean_line, self.zero_line):
            item.setVisible(has)
        if not has:
            self.curve.setData([0, 1], [0])
            self.note.setText("An input neuron has no δ.")
            return
        edges = np.asarray(h.edges)
        counts = np.asarray(h.counts, dtype=float)
        self.curve.setData(edges, counts)
        self.sample_line.setValue(r.delta)
        self.mean_line.setValue(r.delta_mean)
        self.zero_line.setValue(0.0)
        # the ranges move only when the data leave them or fill too little of them (refreshed a
        # few times a second while training, a range moving every time rebuilt both axes)
        (x0, x1), (y0, y1) = self.plot.vb.viewRange()
        x_range = style.steady_range((x0, x1), min(edges[0], r.delta, 0.0),
                                     max(edges[-1], r.delta, 0.0))
        if x_range is not None:
            self.plot.setXRange(*x_range, padding=0)
        top = max(1.0, float(counts.max()))
        if not (top <= y1 and top >= 0.5 * y1 and y0 == 0):
            self.plot.setYRange(0, top * 1.08, padding=0)
        self.note.setText(f"solid line: pinned sample {r.sample} (δ = {fmt(r.delta)}) · dashed: "
                          f"batch mean δ̄ = {fmt(r.delta_mean)} · dotted: 0")


class IncomingSection(Section):
    """The weights into the neuron: weight, ∂L/∂w, the last Δw and the finite-difference check."""

    HEADERS = ["from", "weight w", "∂L/∂w", "Δw", "finite diff.", "rel. error"]
    TIPS = ["the neuron i of the layer below (a_i), or the bias",
            "the weight w_ij of edge i→j", "∂L/∂w_ij = mean over the samples of a_i · δ_j",
            "the last update the optimizer applied to this weight",
            "∂L/∂w by finite differences of the loss (five-point stencil)",
            "|backprop − finite difference| / (|backprop| + |finite difference|)"]

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Incoming edges: the weights into this neuron", parent)
        self.table = make_table(self.HEADERS, self.TIPS)
        self.note = _note()
        self.add(self.table, self.note)

    def show_report(self, r: NeuronReport, snap: Snapshot) -> None:
        def row(label: str, source, weight, e) -> list[Cell]:
            return [Cell(label, source, colour=QColor(style.FOREGROUND)), number_cell(weight),
                    number_cell(e.grad, signed=True), number_cell(e.update, signed=True),
                    number_cell(e.fd), number_cell(e.rel_error)]

        rows = [row(f"a{e.from_}", e.from_, e.weight, e) for e in r.incoming]
        if r.bias is not None:
            rows.append(row("bias", None, r.bias.value, r.bias))
        self.table.model().set_rows(rows)
        fit_table(self.table)
        self.note.setText(self._note_text(r, snap))

    @staticmethod
    def _note_text(r: NeuronReport, snap: Snapshot) -> str:
        if r.is_input:
            return "An input neuron has no incoming edges."
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
        return note


class OutgoingSection(Section):
    """The edges out of the neuron: weight, δ_k and the error signal w_jk·δ_k each carries back,
    for the pinned sample or the batch mean."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Outgoing edges: the error signals back to this neuron", parent)
        self.table = make_table(["to", "weight w_jk", "δ_k", "signal w_jk·δ_k"])
        self.note = _note()
        self.add(self.table, self.note)

    def show_report(self, r: NeuronReport, scope: str) -> None:
        sample = scope == "sample"
        model = self.table.model()
        model.set_headers(["to", "weight w_jk", f"δ_k (sample {r.sample})", "signal w_jk·δ_k"]
                          if sample else
                          ["to", "weight w_jk", "δ̄_k (batch mean)", "signal w_jk·δ̄_k"])
        model.set_rows([[Cell(f"→ {e.to}", e.to, colour=QColor(style.FOREGROUND)),
                         number_cell(e.weight),
                         number_cell(e.delta if sample else e.delta_mean, signed=True),
                         number_cell(e.signal_sample if sample else e.signal, signed=True)]
                        for e in r.outgoing])
        fit_table(self.table)
        self.note.setText(
            "The output layer has no outgoing edges: its δ = y − t starts the backward pass."
            if r.is_output else
            "Each edge carries w_jk·δ_k back to this neuron; their sum, times f′(z), is its δ. "
            + (f"The diagram's edge signal is sample {r.sample}'s own w_jk·δ_k, as in this table."
               if sample else "The diagram's edge signal is the batch mean w_jk·δ̄_k."))


class DeltaSection(Section):
    """The δ of every neuron: one column per layer, one row per neuron, as the diagram draws
    them, with dead and saturated neurons highlighted. A click on a cell emits
    ``neuronClicked(layer, index)``."""

    neuronClicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("All deltas", parent)
        self.table = make_table([], row_headers=True)
        self.table.setToolTip("δ of every neuron: one column per layer, as in the diagram")
        self.table.clicked.connect(self._on_clicked)
        self.note = _note()
        self.note.setText(
            f'<span style="background:{DEAD_BG.name()}">&nbsp;dead&nbsp;</span> ReLU with z ≤ 0 for '
            f'every sample (no gradient) &nbsp; '
            f'<span style="background:{SATURATED_BG.name()}">&nbsp;saturated&nbsp;</span> '
            f'sigmoid/tanh with f′(z) &lt; {SATURATION_FPRIME:g} for ≥ {SATURATION_SHARE:.0%} of '
            f'the samples (or for the pinned sample) &nbsp; click a cell to inspect it')
        self.add(self.table, self.note)

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        """Row ``row`` is the neuron, column ``col`` layer col + 1."""
        if index.isValid() and index.data(Qt.UserRole) is not None:
            self.neuronClicked.emit(index.column() + 1, index.row())

    def show_table(self, table: DeltaTable | None, selected: tuple[int, int]) -> None:
        model = self.table.model()
        if table is None:
            model.set_rows([])
            fit_table(self.table)
            return
        height = max(len(ld.delta) for ld in table.layers)
        model.set_headers([f"layer {ld.layer}\n{ld.activation}" for ld in table.layers])
        model.set_row_labels([str(j) for j in range(height)])
        columns = []
        for ld in table.layers:
            column = []
            for j in range(height):
                if j >= len(ld.delta):
                    column.append(Cell())
                    continue
                v = float(ld.delta[j])
                tip = f"layer {ld.layer}, neuron {j}: δ = {full_value(v)}"
                background = None
                if ld.dead[j]:
                    background = DEAD_BG
                    tip += "\ndead: z ≤ 0 for every sample, so no gradient flows"
                elif ld.saturated[j]:
                    background = SATURATED_BG
                    tip += f"\nsaturated: f′(z) < {SATURATION_FPRIME:g}"
                elif (ld.layer, j) == selected:
                    background = SELECTED_BG
                    tip += "\nthe inspected neuron"
                colour = style.POSITIVE if v > 0 else style.NEGATIVE if v < 0 else (100, 116, 139)
                column.append(Cell(fmt(v), v, tip, QColor(*colour), background,
                                   bold=(ld.layer, j) == selected))
            columns.append(column)
        model.set_rows([list(row) for row in zip(*columns)])
        fit_table(self.table)


# -- the panel -------------------------------------------------------------------------------------

class SectionsArea(QScrollArea):
    """The header and the sections in one scroll area, every one shown in full (no tabs, no scroll
    bars of their own), arranged for the width (:meth:`arrange`)."""

    def __init__(self, header: QWidget, chain: QWidget, histogram: QWidget,
                 tables: list[QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self._left = QBoxLayout(QBoxLayout.TopToBottom)      # the chain rule and the histogram
        self._left.setContentsMargins(0, 0, 0, 0)
        self._left.setSpacing(8)
        self._left.addWidget(chain, 3)
        self._left.addWidget(histogram, 2)
        left = QWidget()
        left.setLayout(self._left)
        right = QWidget()                                    # the tables
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(8)
        for w in tables:
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
        col.addWidget(header)
        col.addLayout(self._main)
        col.addStretch(1)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setWidget(body)
        self._mode = ""

    def arrange(self, width: int) -> None:
        """Lay the sections out for ``width``: wide, the tables beside the chain rule and the
        histogram; medium, the chain rule beside the histogram and the tables below; narrow, one
        column."""
        mode = "wide" if width >= WIDE else "medium" if width >= MEDIUM else "narrow"
        if mode == self._mode:
            return
        self._mode = mode
        self._main.setDirection(QBoxLayout.LeftToRight if mode == "wide"
                                else QBoxLayout.TopToBottom)
        self._left.setDirection(QBoxLayout.LeftToRight if mode == "medium"
                                else QBoxLayout.TopToBottom)

    def mode(self) -> str:
        """"wide", "medium" or "narrow"."""
        return self._mode


def _monotonic() -> float:
    """The default clock: this module's ``time.monotonic``, looked up when read."""
    return time.monotonic()


class Throttle(QObject):
    """At most one run every ``interval`` seconds on ``clock``. :meth:`now` says whether a run may
    go now; when it may not, one call of ``later`` comes when the interval is over.

    Written out rather than a pyqtgraph SignalProxy: an idle panel recomputes at once, in the call
    that brought the change (a proxy always defers to its timer), and whether a snapshot needs a
    recompute at all is decided when it arrives."""

    def __init__(self, later, interval: float, clock=None, parent: QObject | None = None):
        super().__init__(parent)
        self.interval = interval
        self.clock = clock if clock is not None else _monotonic
        self._last = -math.inf
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(later)

    def now(self, force: bool = False) -> bool:
        """May a run go now (``force``: it may, whatever the interval)? If so it counts as run."""
        wait = self._last + self.interval - self.clock()
        if not force and wait > 0:
            if not self._timer.isActive():
                self._timer.start(int(wait * 1000) + 1)
            return False
        self._timer.stop()
        self._last = self.clock()
        return True

    def pending(self) -> bool:
        """A call of ``later`` is scheduled."""
        return self._timer.isActive()


class InspectorPanel(QWidget):
    """The neuron inspector dock panel. Feed it :meth:`set_dataset` and :meth:`show_snapshot`.

    It keeps what is inspected (the neuron, the pinned sample, the scope), asks for the report
    when that or the weights change, and hands the report to its sections.

    Signals (user actions only, never echoes of the slots):
    - ``sampleChanged(int)``: the user stepped to another pinned sample;
    - ``neuronChosen(int, int)``: the user picked another neuron in the panel (layer, index).
    """

    sampleChanged = Signal(int)
    neuronChosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, *, at: str = "trace", clock=None):
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
        self._answer: InspectAnswer | None = None   # the report shown, its delta tables
        self._key = None                      # what the shown report was computed from
        self._computed_snap: Snapshot | None = None
        self.compute_count = 0                # recomputations asked for (for tests and tuning)
        self.reports_shown = 0                # and answers shown
        # ask(request, done): computes an InspectRequest elsewhere and calls done(answer or
        # exception) on the GUI thread; None: computed here
        self.ask = None
        self._sizes: tuple[int, ...] = ()

        # at most ~5 recomputations a second while running, on ``clock`` (seconds; by default
        # time.monotonic)
        self._throttle = Throttle(self._on_timer, MIN_INTERVAL_S, clock, self)

        self.bar = SelectorBar()
        self.header = HeaderSection()
        self.chain_section = ChainRuleSection()
        self.histogram = HistogramSection()
        self.incoming = IncomingSection()
        self.outgoing = OutgoingSection()
        self.deltas = DeltaSection()
        self._lay_out()
        self._connect()
        self._show_placeholder("Waiting for the network and the training data…")

    # the widgets a person uses and reads, by name
    layer_box = property(lambda self: self.bar.layer_box)
    index_box = property(lambda self: self.bar.index_box)
    sample_box = property(lambda self: self.bar.sample_box)
    prev_button = property(lambda self: self.bar.prev_button)
    next_button = property(lambda self: self.bar.next_button)
    sample_radio = property(lambda self: self.bar.sample_radio)
    batch_radio = property(lambda self: self.bar.batch_radio)
    chain = property(lambda self: self.chain_section.label)
    hist_widget = property(lambda self: self.histogram.widget)
    hist_plot = property(lambda self: self.histogram.plot)
    hist_curve = property(lambda self: self.histogram.curve)
    incoming_table = property(lambda self: self.incoming.table)
    outgoing_table = property(lambda self: self.outgoing.table)
    delta_widget = property(lambda self: self.deltas.table)

    # -- construction -----------------------------------------------------------------------------

    def _lay_out(self) -> None:
        self.sections = SectionsArea(self.header, self.chain_section, self.histogram,
                                     [self.incoming, self.outgoing, self.deltas])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.bar)
        layout.addWidget(self.sections, 1)
        self._arrange(self.width())

    def _connect(self) -> None:
        self.bar.layerChanged.connect(self._on_layer_box)
        self.bar.indexChanged.connect(self._on_index_box)
        self.bar.sampleChanged.connect(self._on_sample_box)
        self.bar.sampleToggled.connect(self._on_scope)
        self.deltas.neuronClicked.connect(self._on_delta_cell)

    def scroll_area(self) -> QScrollArea:
        """The one scroll area every section sits in."""
        return self.sections

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width())

    def _arrange(self, width: int) -> None:
        self.bar.arrange(width)
        self.sections.arrange(width)

    def layout_mode(self) -> str:
        """"wide", "medium" or "narrow" (see :meth:`SectionsArea.arrange`)."""
        return self.sections.mode()

    # -- public API ---------------------------------------------------------------------------------

    def set_dataset(self, ds) -> None:
        """The training set the report is computed over (``ds.X_train``, ``ds.T_train``)."""
        self._X = np.ascontiguousarray(ds.X_train, dtype=float)
        self._T = np.asarray(ds.T_train, dtype=float)
        n = len(self._X)
        if self._pinned >= n:
            self._pinned = 0
        self.bar.show_sample(max(0, n - 1), self._pinned)
        self._key = None
        self._answer = None
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
        if (layer, index) == self._selected and self._answer is not None:
            return
        if self._sizes and not (0 <= layer < len(self._sizes) and 0 <= index < self._sizes[layer]):
            return                       # not a neuron of this network: keep the selection
        self._selected = (layer, index)
        self.bar.show_neuron(self._sizes, *self._selected)
        self._update(force=True)

    @Slot(int)
    def set_pinned(self, index: int) -> None:
        """Pin training sample ``index``. Emits nothing (``sampleChanged`` is for user steps)."""
        index = int(index)
        if self._X is not None and not 0 <= index < len(self._X):
            return
        if index == self._pinned and self._answer is not None:
            return
        self._pinned = index
        self.bar.show_sample(self.bar.sample_maximum(), index)
        self._update(force=True)

    def set_scope(self, scope: str) -> None:
        """Show the chain rule and the delta table for the "sample" or the "batch" mean."""
        if scope not in ("sample", "batch"):
            raise ValueError("scope must be 'sample' or 'batch'")
        self.bar.choose_scope(scope)

    def scope(self) -> str:
        return self._scope

    def selected_neuron(self) -> tuple[int, int]:
        return self._selected

    def pinned(self) -> int:
        return self._pinned

    def report(self) -> NeuronReport | None:
        """The report shown (None before the first snapshot with data)."""
        return None if self._answer is None else self._answer.report

    def chain_rule_html(self) -> str:
        """The chain-rule label's rich text, as shown."""
        return self.chain.text()

    def header_html(self) -> str:
        return self.header.text()

    def delta_table(self) -> DeltaTable | None:
        """The delta table shown: the pinned sample's or the batch mean (the toggle)."""
        return None if self._answer is None else self._answer.tables.get(self._scope)

    # -- user actions -------------------------------------------------------------------------------

    @Slot(int)
    def _on_layer_box(self, layer: int) -> None:
        if not self._sizes:
            return
        index = min(self._selected[1], self._sizes[layer] - 1)
        self._selected = (layer, index)
        self.bar.show_neuron(self._sizes, *self._selected)
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
        if self._answer is not None:
            self._render()

    def bind_focus(self, model) -> None:
        """Follow the window's focus (a :class:`~bpviz.ui.window.focus.FocusModel`): its "pinned sample
        / batch mean" toggle shows and sets that focus."""
        self._focus = model
        model.changed.connect(self._on_focus_changed)
        self._on_focus_changed()

    @Slot()
    def _on_focus_changed(self) -> None:
        scope = "sample" if self._focus.is_sample() else "batch"
        self.bar.show_scope(scope)
        if scope != self._scope:
            self._apply_scope(scope)

    @Slot(int, int)
    def _on_delta_cell(self, layer: int, index: int) -> None:
        """A click in the delta table on neuron ``index`` of layer ``layer``."""
        if not self._sizes or layer >= len(self._sizes) or index >= self._sizes[layer]:
            return
        self.select_neuron(layer, index)
        self.neuronChosen.emit(layer, index)

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
        return self._throttle.pending()

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
            self.bar.show_neuron(self._sizes, *self._selected)
        if self._needs_update(snap) and self._throttle.now(force):
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
        self._answer = answer
        self.reports_shown += 1
        self._render()

    # -- rendering ----------------------------------------------------------------------------------

    def _show_placeholder(self, text: str) -> None:
        self.header.show_placeholder(text)
        self.chain_section.clear()

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
        r = self._answer.report
        self.header.show_report(r, self._where(), self._answer.subset)
        self.chain_section.show_report(r, self._scope)
        self.histogram.show_report(r)
        self.incoming.show_report(r, self._snap)
        self.outgoing.show_report(r, self._scope)
        self.deltas.show_table(self.delta_table(), self._selected)
