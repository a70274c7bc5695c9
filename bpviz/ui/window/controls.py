"""The controls panel: dataset, network and training parameters.

Learning rate, momentum, batch size and L2 apply live, without a reset (``hyperChanged``). The
optimizer applies live too, with fresh optimizer state. Everything that needs new weights — the
dataset and its noise, split, size and seed, the hidden layers, activation, output and
initialisation — emits ``configChanged`` with the whole new configuration; the window rebuilds the
network and says so. ``set_config`` shows a configuration without echoing it back (signals blocked).

The panel keeps no copy of the configuration: it reads the one in force from the window's run model
(:class:`~bpviz.ui.window.run_model.RunModel`) and holds only the learner's edits not yet in force
(:meth:`ControlsPanel.config` is the two together). An edit is dropped once the run's configuration
has it, and every edit goes when the run's configuration is shown again (after a change that
failed, say), so that the panel never shows a value that is not in force for long.

Numbers are shown as they are in force and typed values are never changed silently:

- every numeric setting is a :class:`NumberBox`, which shows its value at full precision (the
  shortest decimal that reads back as the same float: 1e-05 shows as 0.00001, 0.9999 as 0.9999);
- a typed value is applied on Return (or when the box loses focus) if it lies in the box's range,
  and Return then hands the keyboard back to the window (Space, S and R train again); otherwise it
  is refused, the box goes back to the value in force, and a red note under it says
  the range and the value that was not applied. Nothing is clamped or rounded;
- the arrows and the Up/Down keys step through values a learner would pick (for the learning rate
  1, 2, 5 per decade; for the batch size powers of two).

The hidden layers: "Add layer" and "Remove layer" buttons sit in a fixed place above one labelled
box per layer ("layer 1 … neurons"), so a layer added below never moves the buttons.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QSlider, QStyle, QStyleOptionSpinBox,
                               QVBoxLayout, QWidget)

from ...engine.config import (DATASET_NAMES, MAX_HIDDEN_LAYERS, MAX_NEURONS_PER_LAYER, PRESETS,
                             RANGES, Config, format_number)
from ...engine.datasets import default_params
from ...engine.functions import ACTIVATIONS, OUTPUTS
from ...engine.network import INITS
from ...engine.optimizers import OPTIMIZERS
from ...engine.ranges import parse_whole
from ...training import describe_change
from .run_model import RunModel

# Every box's range is the setting's range in bpviz.engine.config.RANGES, the one the command line
# and session files are checked against, so that any value they accept shows and types here.
LR_MIN, LR_MAX = RANGES["lr"].lo, RANGES["lr"].hi
LR_SLIDER_MAX = 100.0   # the slider spans LR_MIN to this; larger rates are typed
LR_STEPS = 800          # slider positions over the slider's eight decades (100 a decade)
L2_MAX = RANGES["l2"].hi
MAX_SAMPLES = int(RANGES["n_samples"].hi)
MAX_BATCH = int(RANGES["batch_size"].hi)
MAX_SEED = int(RANGES["seed"].hi)
CSV_ITEM = "CSV file"
OPTIMIZER_LABELS = {"sgd": "gradient descent", "momentum": "momentum", "adam": "Adam"}
REFUSED_STYLE = "color: #b91c1c;"       # red-700: a typed value that was not applied
MUTED_STYLE = "color: #64748b;"


def parse_number(text: str) -> float | None:
    """A typed number (a true minus sign and a decimal comma accepted), or None."""
    t = text.strip().replace("−", "-").replace(" ", "")
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    if not t or "_" in t:
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def nice_stops(lo: float, hi: float, zero: bool = False) -> list[float]:
    """1, 2, 5 in every decade from ``lo`` to ``hi`` (and 0 first when ``zero``)."""
    stops = [0.0] if zero else []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = float(f"{m}e{e}")
            if lo <= v <= hi:
                stops.append(v)
    return stops


class NumberBox(QAbstractSpinBox):
    """A number typed or stepped, shown exactly, never clamped or rounded behind the user's back.

    ``valueChanged(object)`` (an int when ``integer``, else a float) on every accepted change,
    typed, stepped or set with :meth:`setValue`. A typed value outside ``[lo, hi]`` (``hi``
    excluded when ``hi_open``), or not a number, is refused: the box shows the value in force
    again and :attr:`note` (a red label the owner places under the box) says why. ``refused(str)``
    carries the same message.

    Stepping (arrows, Up/Down, the wheel): ``step`` is added, or with ``stops`` the next listed
    value above or below is taken. :meth:`setValue` shows any value it is given, even outside the
    typing range (a session may hold one): the box always shows the value in force.
    """

    valueChanged = Signal(object)
    refused = Signal(str)

    def __init__(self, name: str, lo: float, hi: float, *, integer: bool = False,
                 hi_open: bool = False, step: float = 1, stops: list[float] | None = None,
                 special: str = "", value: float | None = None, parent=None):
        super().__init__(parent)
        self.name = name
        self.lo, self.hi, self.hi_open = lo, hi, hi_open
        self.integer = integer
        self.step = step
        self.stops = sorted(stops) if stops else None
        self.special = special            # shown instead of ``lo`` (e.g. "full batch" for 0)
        self._value = self._cast(lo if value is None else value)
        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet(REFUSED_STYLE)
        self.note.hide()
        self.setAccelerated(True)
        self.lineEdit().setText(self.textFromValue(self._value))
        self.editingFinished.connect(self._commit_text)
        self.setToolTip(f"{name}: {self.range_text()}")

    @classmethod
    def for_setting(cls, key: str, name: str | None = None, **kw) -> "NumberBox":
        """A box for configuration field ``key``, with its range from ``RANGES[key]``."""
        r = RANGES[key]
        return cls(name or r.name, r.lo, r.hi, integer=r.integer, hi_open=r.hi_open, **kw)

    # -- value ----------------------------------------------------------------------------------

    def _cast(self, v):
        return int(v) if self.integer else float(v)

    def value(self):
        return self._value

    def setValue(self, v) -> None:
        """Show ``v`` exactly; emit ``valueChanged`` when it differs from the value in force."""
        v = self._cast(v)
        self.clear_note()
        changed = v != self._value or (v == 0 and math.copysign(1, v) != math.copysign(1, self._value))
        self._value = v
        self.lineEdit().setText(self.textFromValue(v))
        if changed:
            self.valueChanged.emit(v)

    def textFromValue(self, v) -> str:
        if self.special and v == self.lo:
            return self.special
        return format_number(v)

    def text(self) -> str:
        return self.lineEdit().text()

    # -- range ----------------------------------------------------------------------------------

    def in_range(self, v: float) -> bool:
        return self.lo <= v and (v < self.hi if self.hi_open else v <= self.hi)

    def range_text(self) -> str:
        lo, hi = format_number(self._cast(self.lo)), format_number(self._cast(self.hi))
        if self.special:
            lo = f"{lo} ({self.special})"
        if self.hi_open:
            return f"at least {lo} and less than {hi}"
        return f"{'a whole number ' if self.integer else ''}between {lo} and {hi}"

    def clear_note(self) -> None:
        self.note.clear()
        self.note.hide()

    def _refuse(self, typed: str) -> None:
        """Show the value in force again and say why ``typed`` was not applied."""
        number = parse_number(typed) is not None
        what = self.range_text()
        if not number and not self.integer and not self.hi_open:
            what = "a number " + what
        shown = typed if number else f"“{typed}”"
        msg = f"{self.name} must be {what}; {shown} was not applied"
        self.lineEdit().setText(self.textFromValue(self._value))
        self.note.setText(msg)
        self.note.show()
        self.refused.emit(msg)

    def parse(self, text: str):
        """The value of an acceptable typed text, else None."""
        t = text.strip()
        if self.special and t.lower() == self.special.lower():
            return self._cast(self.lo)
        # a whole number is read as the flags read it: "3.9999999999999999" is not one, though
        # as a float it rounds to 4
        v = parse_whole(t.replace(" ", "")) if self.integer else parse_number(t)
        if v is None or not self.in_range(v):
            return None
        return self._cast(v)

    @Slot()
    def _commit_text(self) -> None:
        """Apply the typed text (Return, or the box losing focus), or refuse it."""
        text = self.text()
        if text == self.textFromValue(self._value):
            return
        v = self.parse(text)
        if v is None:
            self._refuse(text.strip())
        else:
            self.setValue(v)

    def keyPressEvent(self, event) -> None:
        """Return applies the typed value and, once it is in force, gives the keyboard back to
        the window, so that Space, S and R train again instead of editing the number."""
        super().keyPressEvent(event)
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self._commit_text()
            if self.text() == self.textFromValue(self._value) and not self.note.text():
                self.window().setFocus(Qt.OtherFocusReason)

    # -- QAbstractSpinBox -----------------------------------------------------------------------

    def validate(self, text: str, pos: int):
        """Any text may be typed (nothing is blocked at the keyboard); Return decides."""
        v = self.parse(text)
        return (QValidator.Acceptable if v is not None else QValidator.Intermediate), text, pos

    def fixup(self, text: str) -> str:
        return text

    def _next(self, steps: int):
        v = self._value
        if self.stops is not None:
            if steps > 0:
                above = [s for s in self.stops if s > v and self.in_range(s)]
                return self._cast(above[min(steps, len(above)) - 1]) if above else None
            below = [s for s in self.stops if s < v and self.in_range(s)]
            return self._cast(below[-min(-steps, len(below))]) if below else None
        n = v + steps * self.step
        n = round(n) if self.integer else round(n, 12)
        if not self.in_range(n):
            n = self.lo if steps < 0 else (None if self.hi_open else self.hi)
            if n is None or n == v or (steps > 0) != (n > v):
                return None
        return self._cast(n)

    def stepBy(self, steps: int) -> None:
        self._commit_text()
        n = self._next(steps)
        if n is not None:
            self.setValue(n)
        self.selectAll()

    def stepEnabled(self):
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if not self.isEnabled():
            return flags
        if self._next(1) is not None:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self._next(-1) is not None:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def sizeHint(self) -> QSize:
        self.ensurePolished()
        fm = self.fontMetrics()
        samples = [self.textFromValue(self._value), format_number(self._cast(self.lo)),
                   format_number(self._cast(self.hi)), self.special, "0.00001"]
        w = max(fm.horizontalAdvance(s) for s in samples) + 8
        h = self.lineEdit().sizeHint().height()
        opt = QStyleOptionSpinBox()
        self.initStyleOption(opt)
        return self.style().sizeFromContents(QStyle.CT_SpinBox, opt, QSize(w, h), self)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


def with_note(box: NumberBox) -> QWidget:
    """``box`` with its refusal note under it, for a form row."""
    w = QWidget()
    v = QVBoxLayout(w)
    v.setContentsMargins(0, 0, 0, 0)
    v.setSpacing(1)
    v.addWidget(box)
    v.addWidget(box.note)
    return w


class LogSlider(QWidget):
    """A logarithmic slider with a typed value beside it; ``valueChanged(float)`` on either.

    ``spin`` is the :class:`NumberBox` (its refusal note sits under the row)."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, steps: int = LR_STEPS, name: str = "learning rate",
                 slider_hi: float | None = None, parent=None):
        super().__init__(parent)
        # the box accepts lo..hi; the slider spans lo..slider_hi (by default hi as well)
        self.lo, self.hi, self.steps = lo, hi if slider_hi is None else slider_hi, steps
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, steps)
        decade = steps / math.log10(self.hi / lo)
        self.slider.setSingleStep(max(1, round(decade / 10)))
        self.slider.setPageStep(max(1, round(decade)))
        self.spin = NumberBox(name, lo, hi, stops=nice_stops(lo, hi), value=lo)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        col.addLayout(row)
        col.addWidget(self.spin.note)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def _to_pos(self, v: float) -> int:
        v = min(max(v, self.lo), self.hi)
        return round(math.log(v / self.lo) / math.log(self.hi / self.lo) * self.steps)

    def _from_pos(self, pos: int) -> float:
        v = self.lo * (self.hi / self.lo) ** (pos / self.steps)
        return float(f"{v:.3g}")        # round to a value people can read and type

    @Slot(int)
    def _from_slider(self, pos: int) -> None:
        self.spin.setValue(self._from_pos(pos))    # emits, and so moves nothing else

    @Slot(object)
    def _from_spin(self, v: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_pos(v))
        self.slider.blockSignals(False)
        self.valueChanged.emit(v)

    def value(self) -> float:
        return self.spin.value()

    def setValue(self, v: float) -> None:
        """Show ``v`` without emitting."""
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.spin.setValue(v)
        self.slider.setValue(self._to_pos(v))
        for w in (self.slider, self.spin):
            w.blockSignals(False)


class HiddenLayersEditor(QWidget):
    """The hidden layers: a title with their count, "Add layer" and "Remove layer" in a fixed row
    under it, then one row per layer, "layer k [n] neurons", added and removed at the bottom."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(3)
        self.title = QLabel()
        col.addWidget(self.title)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.add = QPushButton("+ Add layer")
        self.remove = QPushButton("− Remove layer")
        self.add.clicked.connect(self._add)
        self.remove.clicked.connect(self._remove)
        buttons.addWidget(self.add)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        col.addLayout(buttons)
        self.empty = QLabel("No hidden layer: the inputs connect straight to the outputs.",
                            wordWrap=True)
        self.empty.setStyleSheet(MUTED_STYLE)
        col.addWidget(self.empty)
        self.list = QVBoxLayout()
        self.list.setContentsMargins(12, 0, 0, 0)
        self.list.setSpacing(2)
        col.addLayout(self.list)
        self.rows: list[QWidget] = []
        self.spins: list[NumberBox] = []
        self._update_buttons()

    def sizes(self) -> tuple[int, ...]:
        return tuple(s.value() for s in self.spins)

    def set_sizes(self, sizes) -> None:
        """Show ``sizes`` without emitting."""
        while len(self.spins) > len(sizes):
            self._drop_row()
        while len(self.spins) < len(sizes):
            self._new_row(int(sizes[len(self.spins)]))
        for spin, n in zip(self.spins, sizes):
            spin.blockSignals(True)
            spin.setValue(int(n))
            spin.blockSignals(False)
        self._update_buttons()

    def _new_row(self, n: int) -> NumberBox:
        k = len(self.spins) + 1
        spin = NumberBox.for_setting("hidden", f"neurons in layer {k}", value=n)
        spin.setToolTip(f"Neurons in hidden layer {k} (1 to {MAX_NEURONS_PER_LAYER})")
        spin.valueChanged.connect(self.changed)
        row = QWidget()
        grid = QVBoxLayout(row)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(1)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        label = QLabel(f"layer {k}")
        label.setBuddy(spin)
        label.setMinimumWidth(label.fontMetrics().horizontalAdvance("layer 8") + 4)
        line.addWidget(label)
        line.addWidget(spin)
        line.addWidget(QLabel("neurons"))
        line.addStretch(1)
        grid.addLayout(line)
        grid.addWidget(spin.note)
        self.list.addWidget(row)
        self.rows.append(row)
        self.spins.append(spin)
        return spin

    def _drop_row(self) -> None:
        row = self.rows.pop()
        self.spins.pop()
        row.hide()
        self.list.removeWidget(row)
        row.deleteLater()

    @Slot()
    def _add(self) -> None:
        if len(self.spins) < MAX_HIDDEN_LAYERS:
            self._new_row(self.spins[-1].value() if self.spins else 4)
            self._update_buttons()
            self.changed.emit()

    @Slot()
    def _remove(self) -> None:
        if self.spins:
            self._drop_row()
            self._update_buttons()
            self.changed.emit()

    def _update_buttons(self) -> None:
        n = len(self.spins)
        self.add.setEnabled(n < MAX_HIDDEN_LAYERS)
        self.add.setToolTip(
            f"Add a hidden layer after layer {n}, with as many neurons as it" if 0 < n < MAX_HIDDEN_LAYERS
            else "Add a hidden layer of 4 neurons" if n == 0
            else f"At most {MAX_HIDDEN_LAYERS} hidden layers: remove one to add another")
        self.remove.setEnabled(n > 0)
        self.remove.setToolTip(f"Remove hidden layer {n}, the last one" if n
                               else "There is no hidden layer to remove")
        self.empty.setVisible(n == 0)
        self.title.setText(f"Hidden layers: {n} <span style='color:#64748b'>(at most "
                           f"{MAX_HIDDEN_LAYERS})</span>")


class ControlsPanel(QWidget):
    configChanged = Signal(object)   # Config: needs new weights
    hyperChanged = Signal(object)    # dict of live values: lr, momentum, batch_size, l2, optimizer

    def __init__(self, run: RunModel | Config, parent=None):
        """``run``: the window's run model (a configuration alone: a panel on its own, whose
        configuration in force never changes)."""
        super().__init__(parent)
        self.run = run if isinstance(run, RunModel) else RunModel(None, run, parent=self)
        self._edits: dict = {}          # field → value: settings edited here, not yet in force
        self._csv_label = ""
        self._file_rows: tuple[str, int, int] | None = None   # (file, training rows, test rows)
        outer = QVBoxLayout(self)

        data = QGroupBox("Data")
        f = QFormLayout(data)
        self.preset = QComboBox()
        self.preset.addItems(list(DATASET_NAMES))
        self.preset.setToolTip("A preset sets the data, the network and the training defaults")
        self.noise = NumberBox.for_setting("noise", step=0.05)
        self.samples = NumberBox.for_setting("n_samples", step=50)
        self.test_fraction = NumberBox.for_setting("test_fraction", step=0.05)
        self.test_fraction.setToolTip("The share of the samples held out for testing "
                                      "(between 0 and 0.9)")
        self.seed = NumberBox.for_setting("seed", step=1)
        self.seed.setToolTip(f"Seed of the random stream that draws the data and the initial "
                             f"weights (0 to {MAX_SEED})")
        f.addRow("Dataset", self.preset)
        f.addRow("Noise", with_note(self.noise))
        f.addRow("Samples", with_note(self.samples))
        f.addRow("Test fraction", with_note(self.test_fraction))
        f.addRow("Seed", with_note(self.seed))
        outer.addWidget(data)

        net = QGroupBox("Network")
        f = QFormLayout(net)
        self.hidden = HiddenLayersEditor()
        self.activation = QComboBox()
        self.activation.addItems(list(ACTIVATIONS))
        self.output = QComboBox()
        self.output.addItems(list(OUTPUTS))
        self.init = QComboBox()
        self.init.addItems(list(INITS))
        f.addRow(self.hidden)
        f.addRow("Activation", self.activation)
        f.addRow("Output", self.output)
        f.addRow("Initialisation", self.init)
        outer.addWidget(net)

        train = QGroupBox("Training (applies live)")
        f = QFormLayout(train)
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(OPTIMIZER_LABELS[name], name)
        self.lr = LogSlider(LR_MIN, LR_MAX, slider_hi=LR_SLIDER_MAX)
        self.lr.setToolTip(f"Learning rate η, {format_number(LR_MIN)} to {format_number(LR_MAX)} "
                           f"(the logarithmic slider goes to {format_number(LR_SLIDER_MAX)}; type "
                           f"an exact value, or a larger one, on the right)")
        self.momentum = NumberBox.for_setting("momentum",
                                              stops=[0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
        self.momentum.setToolTip("Momentum α: Δw = −η∇ + αΔw_prev (at least 0, less than 1)")
        self.batch = NumberBox.for_setting("batch_size", special="full batch",
                                           stops=[0] + [2 ** k for k in range(17)])
        self.batch.setToolTip(f"Samples per pass: 0 (full batch) to {MAX_BATCH}; type 0 or "
                              f"“full batch” for all the training samples")
        self.l2 = NumberBox.for_setting("l2", stops=nice_stops(1e-6, L2_MAX, zero=True))
        self.l2.setToolTip(f"L2 weight decay λ: adds λ·w to every weight's gradient "
                           f"(0 to {format_number(L2_MAX)})")
        f.addRow("Optimizer", self.optimizer)
        f.addRow("Learning rate η", self.lr)
        f.addRow("Momentum α", with_note(self.momentum))
        f.addRow("Batch size", with_note(self.batch))
        f.addRow("L2 λ", with_note(self.l2))
        outer.addWidget(train)

        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet(MUTED_STYLE)
        outer.addWidget(self.note)
        self.reset_button = QPushButton("Reset to preset defaults")
        self.reset_button.clicked.connect(self._preset_defaults)
        outer.addWidget(self.reset_button)
        outer.addStretch(1)

        # Debounce: typing "64" in a spin box or clicking + twice rebuilds once.
        self._rebuild_timer = QTimer(self, singleShot=True, interval=250)
        self._rebuild_timer.timeout.connect(self._emit_config)
        self.preset.currentTextChanged.connect(self._preset_chosen)
        for sig in (self.noise.valueChanged, self.samples.valueChanged,
                    self.test_fraction.valueChanged, self.seed.valueChanged, self.hidden.changed,
                    self.activation.currentTextChanged, self.output.currentTextChanged,
                    self.init.currentTextChanged):
            sig.connect(self._schedule_rebuild)
        self.lr.valueChanged.connect(self._on_lr)
        self.momentum.valueChanged.connect(self._on_momentum)
        self.batch.valueChanged.connect(self._on_batch)
        self.l2.valueChanged.connect(self._on_l2)
        self.optimizer.currentIndexChanged.connect(self._on_optimizer)
        self.run.configChanged.connect(self._in_force)
        self.set_config(self.run.config)

    # -- reading and showing --------------------------------------------------------------------

    def config(self) -> Config:
        """The configuration the panel shows: the run's, with the edits not yet in force."""
        return replace(self.run.config, **self._edits)

    def _edit(self, config: Config) -> None:
        """Make ``config`` what the panel shows: the edits are where it differs from the run's."""
        force = self.run.config
        self._edits = {f.name: getattr(config, f.name) for f in fields(Config)
                       if getattr(config, f.name) != getattr(force, f.name)}

    @Slot(object)
    def _in_force(self, config: Config) -> None:
        """The run's configuration changed: edits it now has are edits no more."""
        self._edits = {k: v for k, v in self._edits.items() if getattr(config, k) != v}
        self._update_note()

    def number_boxes(self) -> list[NumberBox]:
        """Every numeric box of the panel (the hidden layers' included)."""
        return self.findChildren(NumberBox)

    def set_config(self, config: Config, csv_label: str | None = None) -> None:
        """Show ``config`` in every control without emitting anything; every value exactly."""
        self._edit(config)
        if csv_label is not None:
            self._csv_label = csv_label
        widgets = self.findChildren(QWidget)
        blocked = [w.blockSignals(True) for w in widgets]
        try:
            if config.dataset == "csv":
                label = f"{CSV_ITEM}: {self._csv_label}"
                if self.preset.findText(label) < 0:
                    self._drop_csv_item()
                    self.preset.addItem(label)
                self.preset.setCurrentText(label)
            else:
                self.preset.setCurrentText(config.dataset)
            generated = config.dataset != "csv"
            defaults = default_params(config.dataset) if generated else {}
            self.noise.setValue(config.noise if config.noise is not None else defaults.get("noise", 0))
            self._show_samples(config, defaults)
            self.test_fraction.setValue(config.test_fraction if config.test_fraction is not None
                                        else defaults.get("test_fraction", 0.0))
            self.seed.setValue(config.seed)
            for w in (self.noise, self.samples):
                w.setEnabled(generated and config.dataset != "iris")
            self.hidden.set_sizes(config.hidden)
            acts = config.activations()
            self.activation.setCurrentText(acts[0] if acts else "tanh")
            self.activation.setEnabled(bool(config.hidden))
            self.output.setCurrentText(config.output)
            self.init.setCurrentText(config.init)
            self.optimizer.setCurrentIndex(self.optimizer.findData(config.optimizer))
            self.lr.setValue(config.lr)
            self.momentum.setValue(config.momentum)
            self.momentum.setEnabled(config.optimizer == "momentum")
            self.batch.setValue(config.batch_size)
            self.l2.setValue(config.l2)
        finally:
            for w, b in zip(widgets, blocked):
                w.blockSignals(b)
        for box in self.number_boxes():
            box.clear_note()
        self._update_note()

    def show_dataset(self, dataset) -> None:
        """The dataset in force (a :class:`~bpviz.engine.data.Dataset`): for data read from a
        file, the Samples box shows how many rows it has, training and test together."""
        if dataset.source:
            self._file_rows = (str(dataset.source), len(dataset.X_train), len(dataset.X_test))
        config = self.config()
        if config.dataset == "csv":
            self._show_samples(config, {})

    def _show_samples(self, config: Config, defaults: dict) -> None:
        """The Samples box: the size of a generated dataset, or the rows of the file in use."""
        rows = self._file_rows
        box = self.samples
        blocked = box.blockSignals(True)
        try:
            if config.dataset != "csv":
                box.setValue(config.n_samples or defaults.get("n_samples", box.lo))
                box.setToolTip(f"{box.name}: {box.range_text()}")
            elif rows is not None and Path(rows[0]) == Path(str(config.data_file)):
                box.setValue(rows[1] + rows[2])
                box.setToolTip(f"The rows of {Path(rows[0]).name}: {rows[1]:,} for training, "
                               f"{rows[2]:,} for testing; set by the file")
        finally:
            box.blockSignals(blocked)

    def _update_note(self) -> None:
        """The preset's description, and whether the settings still are the preset's."""
        config = self.config()
        preset = PRESETS.get(config.dataset)
        if preset is None:
            self.note.setText("")
            return
        live = (("optimizer", "optimizer"), ("lr", "learning rate"), ("momentum", "momentum"),
                ("batch_size", "batch size"), ("l2", "L2"))
        changed = [] if describe_change(preset, config) == "the same settings" else ["network"]
        changed += [name for key, name in live if getattr(preset, key) != getattr(config, key)]
        self.note.setText(preset.notes if not changed else
                          f"preset: {preset.notes}. Changed since: {', '.join(changed)}.")

    def _drop_csv_item(self) -> None:
        for k in range(self.preset.count() - 1, -1, -1):
            if self.preset.itemText(k).startswith(CSV_ITEM):
                self.preset.removeItem(k)

    # -- changes --------------------------------------------------------------------------------

    def _hyper(self, **values) -> None:
        self._edits.update(values)
        self._update_note()
        if "optimizer" in values:
            self.momentum.setEnabled(values["optimizer"] == "momentum")
        self.hyperChanged.emit(values)

    @Slot(float)
    def _on_lr(self, v: float) -> None:
        self._hyper(lr=v)

    @Slot(object)
    def _on_momentum(self, v: float) -> None:
        self._hyper(momentum=v)

    @Slot(object)
    def _on_batch(self, v: int) -> None:
        self._hyper(batch_size=v)

    @Slot(object)
    def _on_l2(self, v: float) -> None:
        self._hyper(l2=v)

    @Slot(int)
    def _on_optimizer(self, _index: int) -> None:
        self._hyper(optimizer=self.optimizer.currentData())

    @Slot()
    def _schedule_rebuild(self) -> None:
        self._rebuild_timer.start()

    def _read_structure(self) -> Config:
        cfg = self.config()
        cfg.hidden = self.hidden.sizes()
        cfg.activation = self.activation.currentText()
        cfg.output = self.output.currentText()
        cfg.init = self.init.currentText()
        cfg.seed = self.seed.value()
        cfg.test_fraction = self.test_fraction.value()
        if cfg.dataset != "csv" and cfg.dataset != "iris":
            cfg.noise = self.noise.value()
            cfg.n_samples = self.samples.value()
        self.activation.setEnabled(bool(cfg.hidden))
        return cfg

    @Slot()
    def _emit_config(self) -> None:
        cfg = self._read_structure()
        self._edit(cfg)
        self.configChanged.emit(replace(cfg))

    def flush(self) -> None:
        """Emit a pending debounced change now (tests and the window's Play use this)."""
        if self._rebuild_timer.isActive():
            self._rebuild_timer.stop()
            self._emit_config()

    @Slot(str)
    def _preset_chosen(self, name: str) -> None:
        if name.startswith(CSV_ITEM):
            return
        self._rebuild_timer.stop()
        self._drop_csv_item()
        cfg = Config.preset(name)
        self.set_config(cfg)
        self.configChanged.emit(replace(cfg))

    @Slot()
    def _preset_defaults(self) -> None:
        name = self.config().dataset
        if name == "csv":
            cfg = self.config()
        else:
            cfg = Config.preset(name)
        self._rebuild_timer.stop()
        self.set_config(cfg)
        self.configChanged.emit(replace(cfg))
