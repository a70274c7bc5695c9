"""The Code panel: the plain-numpy program of one pass of the network on screen, with live values.

The program comes from :func:`bpviz.engine.codegen.pass_program` (one :class:`CodeLine` per line,
each tagged with the phase, layer, array and quantity it computes); this panel never reads the
text for meaning, only the tags. It shows:

- the lines, monospace and read-only; the lines of the current phase of a pass walked phase by
  phase (Step by one phase, or playing at 10 passes a second or slower) on the phase banner's
  yellow, the lines of what the learner chose (a neuron or an edge clicked in the diagram, or a
  line clicked here) on blue;
- under them, the values those lines just computed: each array's shape, the pinned sample's row
  and the batch mean (a gradient or a weight matrix is one array for the batch), in the diagram's
  number format (:func:`.style.format_known`); the element of the chosen neuron or edge is marked.
  A value the pass has not reached yet reads "—", as everywhere in the window.

Which values belong to a line is decided from its quantity and layer (:func:`line_values`), from
the snapshot only: a batch mean of z is ``mean(a[l − 1]) W[l] + b[l]`` (z is linear in a), every
other mean is the snapshot's own.

Signals:
- ``lineChosen(object)``: a :class:`Mark` — the learner clicked a line; the window emphasises what
  it computes on the diagram.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, fields, replace
from typing import Callable

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (QColor, QFontDatabase, QSyntaxHighlighter, QTextCharFormat,
                           QTextCursor, QTextFormat)
from PySide6.QtWidgets import (QLabel, QPlainTextEdit, QSplitter, QTextBrowser, QTextEdit,
                               QVBoxLayout, QWidget)

from ...engine.phases import FORWARD, GRADIENTS, HIDDEN_DELTA, LOSS, OUTPUT_DELTA, Phase
from ...engine.snapshot import Snapshot
from ..plotting import style

PHASE_BACKGROUND = "#fef3c7"       # the phase banner's yellow, a shade stronger to read on code
CHOSEN_BACKGROUND = "#dbeafe"      # light blue: the lines of what the learner chose
MARK_BACKGROUND = "#bfdbfe"        # the chosen neuron's or edge's element in the values
COMMENT = "#64748b"
MAX_COLUMNS = 8                    # a row shows at most this many values, then "…"
MAX_ROWS = 4                       # a matrix shows at most this many rows, then "…"

# what of a pass a line's quantity is about
NEURON_QUANTITIES = ("z", "a", "y", "delta")        # one value per neuron (per sample)
EDGE_QUANTITIES = ("grad_w", "weights")             # one value per edge (the batch)
BIAS_QUANTITIES = ("grad_b", "biases")              # one value per neuron (the batch)


def default_generator():
    """:func:`bpviz.engine.codegen.pass_program`, imported when first needed."""
    from ...engine.codegen import pass_program
    return pass_program


@dataclass(frozen=True)
class Mark:
    """What a line computes, for the diagram: a layer's neurons or the edges into it."""

    layer: int | None              # None: a line that computes nothing of the diagram
    part: str                      # "neurons" or "edges"
    array: str | None
    quantity: str | None


@dataclass(frozen=True)
class Shown:
    """The values of one line as the panel shows them; NaN where not computed yet."""

    line: int                      # 0-based line number
    array: str
    quantity: str
    layer: int | None
    shape: tuple[int, ...]
    sample: np.ndarray | None      # the pinned sample's row (per-sample quantities)
    mean: np.ndarray               # the batch mean (or the batch's array, for a matrix)
    per_sample: bool


def phase_order(kind: str, layer: int | None, n_layers: int) -> int:
    """The 0-based position in a pass of the phase ``kind`` working on ``layer`` (as in
    :func:`bpviz.engine.phases.phase_plan`)."""
    L = n_layers
    if kind == FORWARD:
        return (layer or 1) - 1
    if kind == LOSS:
        return L
    if kind == OUTPUT_DELTA:
        return L + 1
    if kind == HIDDEN_DELTA:
        return L + 1 + (L - (layer or L))
    if kind == GRADIENTS:
        return 2 * L
    return 2 * L + 1                                        # the update


def computed(line, phase: Phase | None, n_layers: int) -> bool:
    """Whether the pass has reached ``line`` at ``phase`` (None: a whole pass is shown)."""
    if phase is None or line.phase is None:
        return True
    return phase_order(line.phase, line.layer, n_layers) <= phase.index


def in_phase(line, phase: Phase | None) -> bool:
    """Whether ``line`` belongs to ``phase`` (the lines the phase computes)."""
    if phase is None or line.phase != phase.kind:
        return False
    return phase.layer < 0 or line.layer is None or line.layer == phase.layer


def _nan_like(a) -> np.ndarray:
    return np.full(np.shape(a), np.nan)


def line_values(snap: Snapshot, line, index: int, batch: int | None) -> Shown | None:
    """What ``line`` computed in the pass ``snap`` shows (None: a line with no array of the
    pass: comments, set-up, optimizer state)."""
    q, l = line.quantity, line.layer
    L = snap.n_layers
    if q is None or line.array is None:
        return None
    if q == "loss":
        return Shown(index, line.array, q, l, (), None, np.array(snap.loss), False)
    if l is None or not 1 <= l <= L:
        return None
    sample = snap.sample
    known = computed(line, snap.phase, L)
    if q in NEURON_QUANTITIES:
        if q == "z":
            mean = np.asarray(snap.activation_mean[l - 1]) @ snap.trace_weights[l - 1] \
                + snap.trace_biases[l - 1]
            row = None if sample is None else sample.z[l - 1]
        elif q in ("a", "y"):
            mean = snap.activation_mean[l]
            row = None if sample is None else sample.a[l]
        else:
            mean = snap.delta_mean[l - 1]
            row = None if sample is None else sample.delta[l - 1]
        if not snap.has_trace and q == "delta":
            mean, row = _nan_like(mean), None if row is None else _nan_like(row)
        if not known:
            mean, row = _nan_like(mean), None if row is None else _nan_like(row)
        return Shown(index, line.array, q, l, (batch, snap.sizes[l]),
                     None if row is None else np.asarray(row, float), np.asarray(mean, float),
                     True)
    arrays = {"grad_w": snap.grad_weights, "grad_b": snap.grad_biases,
              "weights": snap.weights, "biases": snap.biases}
    if q not in arrays:
        return None
    value = np.asarray(arrays[q][l - 1], float)
    if q in ("grad_w", "grad_b") and not snap.has_trace or not known:
        value = _nan_like(value)
    return Shown(index, line.array, q, l, value.shape, None, value, False)


# -- formatting ----------------------------------------------------------------------------------

def _num(v: float, marked: bool) -> str:
    text = html.escape(style.format_known(float(v)))
    if marked:
        return f"<span style='background:{MARK_BACKGROUND}'><b>{text}</b></span>"
    return text


def format_row(values, marked: int | None = None) -> str:
    """A row of values as rich text, ``marked`` (an index) emphasised; long rows end in "…"."""
    values = np.ravel(values)
    n = len(values)
    keep = list(range(min(n, MAX_COLUMNS)))
    if marked is not None and marked >= MAX_COLUMNS and marked < n:
        keep = keep[:-1] + [marked]
    parts = [_num(values[k], k == marked) for k in keep]
    if n > len(keep):
        parts.append("…")
    return "[" + ", ".join(parts) + "]"


def format_matrix(values, marked: tuple[int, int] | None = None) -> str:
    rows = np.atleast_2d(values)
    keep = list(range(min(len(rows), MAX_ROWS)))
    if marked is not None and marked[0] >= MAX_ROWS and marked[0] < len(rows):
        keep = keep[:-1] + [marked[0]]
    out = [format_row(rows[r], marked[1] if marked and marked[0] == r else None) for r in keep]
    if len(rows) > len(keep):
        out.append("…")
    return "<br>".join(out)


def shape_text(shape) -> str:
    return "scalar" if not shape else "(" + ", ".join(str(s) for s in shape) + ")"


# -- the widgets ---------------------------------------------------------------------------------

class _Comments(QSyntaxHighlighter):
    """Comments in grey italics (what a code editor does; the lines' meaning comes from tags)."""

    def highlightBlock(self, text: str) -> None:
        start = text.find("#")
        if start >= 0:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(COMMENT))
            fmt.setFontItalic(True)
            self.setFormat(start, len(text) - start, fmt)


class CodeText(QPlainTextEdit):
    """The program, read-only; a click on a line emits ``lineClicked(line)``."""

    lineClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        self.setFont(font)
        self.setCursorWidth(0)                 # read-only: no caret blinking in the code
        self._highlighter = _Comments(self.document())

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton and not self.textCursor().hasSelection():
            self.lineClicked.emit(self.cursorForPosition(event.position().toPoint()).blockNumber())

    def line_rect(self, line: int) -> QRect:
        """Where line ``line`` (0-based) is in the viewport (empty when scrolled out of view)."""
        block = self.document().findBlockByNumber(line)
        rect = self.blockBoundingGeometry(block).translated(self.contentOffset())
        return rect.toAlignedRect()


class CodePanel(QWidget):
    """The Code panel. Feed it the configuration in force (:meth:`set_config`) and snapshots
    (:meth:`show_snapshot`); :meth:`select_neuron` and :meth:`select_edge` follow the diagram."""

    lineChosen = Signal(object)          # a Mark: what the clicked line computes

    def __init__(self, parent: QWidget | None = None,
                 generate: Callable | None = None):
        super().__init__(parent)
        self._generate = generate
        self._config = None
        self._key = None
        self._program = None
        self._snap: Snapshot | None = None
        self._chosen: list[int] = []                 # lines of what the learner chose
        self._mark: tuple | None = None              # ("neuron", l, j) or ("edge", l, i, j)
        self._shown: list[Shown] = []
        self._values_html = None
        self._painted = None                         # (chosen, phase lines, program) shown
        self._n_train: int | None = None
        self._stale = False                          # a snapshot kept while out of view

        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.RichText)
        self.header.setStyleSheet("padding: 2px 4px;")
        self.code = CodeText()
        self.code.lineClicked.connect(self._on_line_clicked)
        self.values = QTextBrowser()
        self.values.setOpenLinks(False)
        self.values.document().setDefaultStyleSheet(
            "td { padding: 1px 6px 1px 0; vertical-align: top; } .muted { color: %s; }" % COMMENT)
        self.values.document().setDefaultFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(self.code)
        self.splitter.addWidget(self.values)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([200, 100])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.splitter, 1)

    # -- inputs --------------------------------------------------------------------------------

    def set_config(self, config) -> None:
        """The configuration in force (data, network, training); the live hyper-parameters come
        with each snapshot."""
        self._config = replace(config)
        if self._snap is not None:
            self.show_snapshot(self._snap)

    def set_training_size(self, n: int | None) -> None:
        """How many training samples there are (the full batch's N)."""
        self._n_train = None if n is None else int(n)

    @Slot(object)
    def show_snapshot(self, snap: Snapshot) -> None:
        """Show ``snap``; behind another tab only keep it, and show it when the panel is next
        painted (a tab behind another still counts as visible to Qt)."""
        self._snap = snap
        if self._program is not None and self.visibleRegion().isEmpty():
            self._stale = True
            return
        self._stale = False
        self._regenerate(snap)
        self._refresh()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._stale:                     # in view again: the newest snapshot, after this paint
            self._stale = False
            QTimer.singleShot(0, self._catch_up)

    @Slot()
    def _catch_up(self) -> None:
        if self._snap is not None:
            self.show_snapshot(self._snap)

    @Slot(int, int)
    def select_neuron(self, layer: int, index: int) -> None:
        """Choose the lines that compute neuron ``index`` of ``layer`` (z, a or y, δ)."""
        self._mark = ("neuron", layer, index)
        self._chosen = self._lines(layer, NEURON_QUANTITIES)
        self._refresh(scroll_to=self._chosen)

    @Slot(int, int, int)
    def select_edge(self, wi: int, i: int, j: int) -> None:
        """Choose the lines that compute edge i→j of ``weights[wi]``: its gradient and update."""
        self._mark = ("edge", wi + 1, i, j)
        self._chosen = self._lines(wi + 1, EDGE_QUANTITIES)
        self._refresh(scroll_to=self._chosen)

    def clear_choice(self) -> None:
        self._mark = None
        self._chosen = []
        self._refresh()

    # -- read-outs -------------------------------------------------------------------------------

    def program(self):
        """The program shown (None before the first snapshot)."""
        return self._program

    def text(self) -> str:
        return self.code.toPlainText()

    def snapshot(self) -> Snapshot | None:
        """The snapshot shown."""
        return self._snap

    def phase_lines(self) -> list[int]:
        """The lines of the current phase, highlighted yellow (0-based)."""
        if self._program is None or self._snap is None:
            return []
        return [k for k, line in enumerate(self._program.lines) if in_phase(line, self._snap.phase)]

    def chosen_lines(self) -> list[int]:
        """The lines of what the learner chose, highlighted blue (0-based)."""
        return list(self._chosen)

    def highlighted_lines(self) -> list[int]:
        """Every highlighted line, as the ExtraSelections paint them (0-based)."""
        return sorted({c.cursor.blockNumber() for c in self.code.extraSelections()})

    def shown_values(self) -> list[Shown]:
        """The values under the code, line by line."""
        return list(self._shown)

    def values_text(self) -> str:
        """The values as plain text."""
        return self.values.toPlainText()

    def marked(self) -> tuple | None:
        """The element marked in the values: ("neuron", layer, j), ("edge", layer, i, j), None."""
        return self._mark

    def line_point(self, line: int) -> QPoint:
        """A point on line ``line`` in :meth:`mouse_target` (scrolled into view first)."""
        cursor = QTextCursor(self.code.document().findBlockByNumber(line))
        self.code.setTextCursor(cursor)
        self.code.ensureCursorVisible()
        rect = self.code.line_rect(line)
        return QPoint(rect.left() + 24, rect.center().y())

    def mouse_target(self) -> QWidget:
        return self.code.viewport()

    # -- workings -------------------------------------------------------------------------------

    def _lines(self, layer: int, quantities) -> list[int]:
        if self._program is None:
            return []
        return [k for k, line in enumerate(self._program.lines)
                if line.layer == layer and line.quantity in quantities]

    def program_config(self, snap: Snapshot):
        """The configuration the program is generated for: the one in force, with the
        snapshot's network and live hyper-parameters."""
        cfg = self._config
        if cfg is None:
            from ...engine.config import Config
            cfg = Config()
        return replace(cfg, hidden=tuple(snap.sizes[1:-1]),
                       activation=tuple(snap.activations[:-1]), output=snap.activations[-1],
                       optimizer=snap.optimizer, lr=snap.lr, momentum=snap.momentum,
                       batch_size=snap.batch_size, l2=snap.l2)

    def _regenerate(self, snap: Snapshot) -> None:
        cfg = self.program_config(snap)
        key = tuple((f.name, repr(getattr(cfg, f.name))) for f in fields(cfg))
        if key == self._key:
            return
        self._key = key
        generate = self._generate or default_generator()
        program = generate(cfg)
        if self._program is not None and program.lines == self._program.lines:
            return                         # a new learning rate, say: the same program
        self._program = program
        scroll = self.code.verticalScrollBar().value()
        self.code.setPlainText("\n".join(line.text for line in program.lines))
        self.code.verticalScrollBar().setValue(scroll)
        # what the learner chose stays chosen when it still exists; a clicked line does not
        # (its number means another line now)
        if self._mark is not None:
            kind, layer = self._mark[0], self._mark[1]
            if layer > snap.n_layers or kind == "neuron" and self._mark[2] >= snap.sizes[layer] \
                    or kind == "edge" and (self._mark[2] >= snap.sizes[layer - 1]
                                           or self._mark[3] >= snap.sizes[layer]):
                self._mark = None
        if self._mark is None:
            self._chosen = []
        elif self._mark[0] == "neuron":
            self._chosen = self._lines(self._mark[1], NEURON_QUANTITIES)
        else:
            self._chosen = self._lines(self._mark[1], EDGE_QUANTITIES)

    def _refresh(self, scroll_to=()) -> None:
        snap = self._snap
        if snap is None or self._program is None:
            return
        phase_lines = self.phase_lines()
        # only what changed is set again: while training every snapshot comes here, and each
        # setting repaints its widget
        painted = (tuple(self._chosen), tuple(phase_lines), self._program)
        if painted != self._painted:
            self._painted = painted
            selections = []
            # the phase's yellow is painted last: a line chosen and of the phase shows the phase
            for lines, colour in ((self._chosen, CHOSEN_BACKGROUND),
                                  (phase_lines, PHASE_BACKGROUND)):
                for k in lines:
                    sel = QTextEdit.ExtraSelection()
                    sel.format.setBackground(QColor(colour))
                    sel.format.setProperty(QTextFormat.FullWidthSelection, True)
                    sel.cursor = QTextCursor(self.code.document().findBlockByNumber(k))
                    sel.cursor.clearSelection()
                    selections.append(sel)
            self.code.setExtraSelections(selections)
            if not scroll_to and phase_lines:
                scroll_to = phase_lines
        if scroll_to:
            self.code.setTextCursor(QTextCursor(self.code.document().findBlockByNumber(
                list(scroll_to)[0])))
            self.code.ensureCursorVisible()
        header = self._header_html(snap)
        if header != self.header.text():
            self.header.setText(header)
        batch = self.batch_size(snap)
        # what the learner chose first, then the rest of the phase's lines
        active = sorted(self._chosen) + [k for k in phase_lines if k not in self._chosen]
        self._shown = [s for s in (line_values(snap, self._program.lines[k], k, batch)
                                   for k in active) if s is not None]
        values_html = self._values_of(snap, self._shown, active)
        if values_html != self._values_html:
            self._values_html = values_html
            self.values.setHtml(values_html)

    def batch_size(self, snap: Snapshot) -> int | None:
        """N, the samples of a pass: the mini-batch size, or every training sample for the full
        batch (None while the training set's size is not known)."""
        n = self._n_train
        if snap.batch_size > 0 and (n is None or snap.batch_size < n):
            return snap.batch_size
        return n

    def _header_html(self, snap: Snapshot) -> str:
        if snap.phase is not None:
            return (f"<span style='background:{PHASE_BACKGROUND}'><b>"
                    f"{html.escape(snap.phase.label())}</b></span> — its lines are yellow")
        return ("<span style='color:%s'>Step by <i>one phase</i> to follow a pass line by line; "
                "click a line, a neuron or an edge</span>" % COMMENT)

    def _focus_html(self, snap: Snapshot) -> str:
        sample = snap.sample
        batch = self.batch_size(snap)
        n = "" if batch is None else f" of N = {batch}"
        who = f"pinned sample {sample.index}" if sample is not None else "no sample pinned"
        return f"<p class='muted'>{who} · batch mean{n} · — not computed yet</p>"

    def _values_of(self, snap: Snapshot, shown: list[Shown], active: list[int]) -> str:
        if not active and self._mark is not None and self._mark[:2] == ("neuron", 0):
            return (f"<p class='muted'>Layer 0 is the input: <b>X</b>, the batch's data, "
                    f"computed by no line. Input {self._mark[2]} is column {self._mark[2]} of X."
                    f"</p>")
        if not active:
            return ("<p class='muted'>No line chosen. Click a line, or a neuron or an edge in "
                    "the Network panel, to see what it computes.</p>")
        sample = snap.sample
        rows = []
        for s in shown:
            mark = self._mark_for(s)
            shape = shape_text(("N", *s.shape[1:]) if s.per_sample else s.shape)
            head = f"<b>{html.escape(s.array)}</b> <span class='muted'>{shape}</span>"
            if s.quantity == "loss":
                body = f"batch mean {_num(float(s.mean), False)}"
            elif s.per_sample:
                parts = []
                if s.sample is not None and sample is not None:
                    parts.append(f"sample {sample.index}: {format_row(s.sample, mark)}")
                parts.append(f"batch mean: {format_row(s.mean, mark)}")
                body = "<br>".join(parts)
            elif s.mean.ndim == 2:
                body = format_matrix(s.mean, mark)
                if isinstance(mark, tuple):
                    i, j = mark
                    body += (f"<br>{html.escape(s.array)}[{i}, {j}] = "
                             f"{_num(s.mean[i, j], True)}")
            else:
                body = format_row(s.mean, mark)
            rows.append(f"<tr><td>{head}</td><td>{body}</td></tr>")
        if not rows:
            return "<p class='muted'>These lines set up the pass; they compute no array of it.</p>"
        return self._focus_html(snap) + "<table>" + "".join(rows) + "</table>"

    def _mark_for(self, s: Shown):
        m = self._mark
        if m is None or m[1] != s.layer:
            return None
        if m[0] == "neuron" and (s.per_sample or s.quantity in BIAS_QUANTITIES):
            return m[2]
        if m[0] == "edge" and s.quantity in EDGE_QUANTITIES:
            return (m[2], m[3])
        return None

    @Slot(int)
    def _on_line_clicked(self, k: int) -> None:
        if self._program is None or not 0 <= k < len(self._program.lines):
            return
        line = self._program.lines[k]
        self._chosen = [k]
        if line.layer is None or line.quantity is None or line.array is None:
            self._mark = None
            self._refresh()
            self.lineChosen.emit(Mark(None, "neurons", line.array, line.quantity))
            return
        part = "edges" if line.quantity in EDGE_QUANTITIES else "neurons"
        if self._mark is not None and self._mark[1] != line.layer:
            self._mark = None
        self._refresh()
        self.lineChosen.emit(Mark(line.layer, part, line.array, line.quantity))
