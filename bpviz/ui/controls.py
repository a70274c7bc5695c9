"""The controls panel: dataset, network and training parameters.

Learning rate, momentum, batch size and L2 apply live, without a reset (``hyperChanged``). The
optimizer applies live too, with fresh optimizer state. Everything that needs new weights — the
dataset and its noise, split, size and seed, the hidden layers, activation, output and
initialisation — emits ``configChanged`` with the whole new configuration; the window rebuilds the
network and says so. ``set_config`` shows a configuration without echoing it back (signals blocked).
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QSlider, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from ..engine.config import DATASET_NAMES, MAX_HIDDEN_LAYERS, MAX_NEURONS_PER_LAYER, PRESETS, Config
from ..engine.datasets import default_params
from ..engine.functions import ACTIVATIONS, OUTPUTS
from ..engine.network import INITS
from ..engine.optimizers import OPTIMIZERS

LR_MIN, LR_MAX = 1e-4, 10.0
LR_STEPS = 400          # slider positions over the four-and-a-bit decades
CSV_ITEM = "CSV file"
OPTIMIZER_LABELS = {"sgd": "gradient descent", "momentum": "momentum", "adam": "Adam"}


class LogSlider(QWidget):
    """A logarithmic slider with a typed value beside it; ``valueChanged(float)`` on either."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, steps: int = LR_STEPS, decimals: int = 5, parent=None):
        super().__init__(parent)
        self.lo, self.hi, self.steps = lo, hi, steps
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, steps)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(decimals)
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(lo)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(90)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
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
        v = self._from_pos(pos)
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self.valueChanged.emit(v)

    @Slot(float)
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
    """Neurons per hidden layer: one spin box per layer, with add and remove buttons."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.spins: list[QSpinBox] = []
        self.remove = QToolButton(text="−", toolTip="Remove the last hidden layer")
        self.add = QToolButton(text="+", toolTip="Add a hidden layer")
        self.remove.clicked.connect(self._remove)
        self.add.clicked.connect(self._add)
        self.row.addWidget(self.remove)
        self.row.addWidget(self.add)
        self.row.addStretch(1)

    def sizes(self) -> tuple[int, ...]:
        return tuple(s.value() for s in self.spins)

    def set_sizes(self, sizes) -> None:
        """Show ``sizes`` without emitting."""
        while len(self.spins) > len(sizes):
            spin = self.spins.pop()
            spin.deleteLater()
        while len(self.spins) < len(sizes):
            self._new_spin()
        for spin, n in zip(self.spins, sizes):
            spin.blockSignals(True)
            spin.setValue(int(n))
            spin.blockSignals(False)
        self._update_buttons()

    def _new_spin(self) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(1, MAX_NEURONS_PER_LAYER)
        spin.setKeyboardTracking(False)
        spin.setToolTip("Neurons in this hidden layer")
        spin.valueChanged.connect(self.changed)
        self.row.insertWidget(len(self.spins), spin)
        self.spins.append(spin)
        return spin

    @Slot()
    def _add(self) -> None:
        if len(self.spins) < MAX_HIDDEN_LAYERS:
            self._new_spin().setValue(self.spins[-2].value() if len(self.spins) > 1 else 4)
            self._update_buttons()
            self.changed.emit()

    @Slot()
    def _remove(self) -> None:
        if self.spins:
            self.spins.pop().deleteLater()
            self._update_buttons()
            self.changed.emit()

    def _update_buttons(self) -> None:
        self.remove.setEnabled(bool(self.spins))
        self.add.setEnabled(len(self.spins) < MAX_HIDDEN_LAYERS)


class ControlsPanel(QWidget):
    configChanged = Signal(object)   # Config: needs new weights
    hyperChanged = Signal(object)    # dict of live values: lr, momentum, batch_size, l2, optimizer

    def __init__(self, config: Config, parent=None):
        super().__init__(parent)
        self._config = replace(config)
        self._csv_label = ""
        outer = QVBoxLayout(self)

        data = QGroupBox("Data")
        f = QFormLayout(data)
        self.preset = QComboBox()
        self.preset.addItems(list(DATASET_NAMES))
        self.preset.setToolTip("A preset sets the data, the network and the training defaults")
        self.noise = QDoubleSpinBox(decimals=3, singleStep=0.05, maximum=10.0, keyboardTracking=False)
        self.samples = QSpinBox(minimum=4, maximum=100000, singleStep=50, keyboardTracking=False)
        self.test_fraction = QDoubleSpinBox(decimals=2, singleStep=0.05, maximum=0.9,
                                            keyboardTracking=False)
        self.seed = QSpinBox(maximum=2 ** 31 - 1, keyboardTracking=False)
        f.addRow("Dataset", self.preset)
        f.addRow("Noise", self.noise)
        f.addRow("Samples", self.samples)
        f.addRow("Test fraction", self.test_fraction)
        f.addRow("Seed", self.seed)
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
        f.addRow("Neurons per\nhidden layer", self.hidden)
        f.addRow("Activation", self.activation)
        f.addRow("Output", self.output)
        f.addRow("Initialisation", self.init)
        outer.addWidget(net)

        train = QGroupBox("Training (applies live)")
        f = QFormLayout(train)
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(OPTIMIZER_LABELS[name], name)
        self.lr = LogSlider(LR_MIN, LR_MAX)
        self.lr.setToolTip("Learning rate η (logarithmic slider; type an exact value on the right)")
        self.momentum = QDoubleSpinBox(decimals=3, singleStep=0.05, maximum=0.999,
                                       keyboardTracking=False)
        self.momentum.setToolTip("Momentum α: Δw = −η∇ + αΔw_prev")
        self.batch = QSpinBox(maximum=100000, singleStep=8, keyboardTracking=False)
        self.batch.setSpecialValueText("full batch")
        self.l2 = QDoubleSpinBox(decimals=5, singleStep=0.0001, maximum=10.0, keyboardTracking=False)
        self.l2.setToolTip("L2 weight decay λ: adds λ·w to every weight's gradient")
        f.addRow("Optimizer", self.optimizer)
        f.addRow("Learning rate η", self.lr)
        f.addRow("Momentum α", self.momentum)
        f.addRow("Batch size", self.batch)
        f.addRow("L2 λ", self.l2)
        outer.addWidget(train)

        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet("color: #64748b;")
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
        self.lr.valueChanged.connect(lambda v: self._hyper(lr=v))
        self.momentum.valueChanged.connect(lambda v: self._hyper(momentum=v))
        self.batch.valueChanged.connect(lambda v: self._hyper(batch_size=v))
        self.l2.valueChanged.connect(lambda v: self._hyper(l2=v))
        self.optimizer.currentIndexChanged.connect(
            lambda _: self._hyper(optimizer=self.optimizer.currentData()))
        self.set_config(config)

    # -- reading and showing --------------------------------------------------------------------

    def config(self) -> Config:
        return replace(self._config)

    def set_config(self, config: Config, csv_label: str | None = None) -> None:
        """Show ``config`` in every control without emitting anything."""
        self._config = replace(config)
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
            self.samples.setValue(config.n_samples or defaults.get("n_samples", 4))
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
        self.note.setText(PRESETS[config.dataset].notes if config.dataset in PRESETS else "")

    def _drop_csv_item(self) -> None:
        for k in range(self.preset.count() - 1, -1, -1):
            if self.preset.itemText(k).startswith(CSV_ITEM):
                self.preset.removeItem(k)

    # -- changes --------------------------------------------------------------------------------

    def _hyper(self, **values) -> None:
        for k, v in values.items():
            setattr(self._config, k, v)
        if "optimizer" in values:
            self.momentum.setEnabled(values["optimizer"] == "momentum")
        self.hyperChanged.emit(values)

    @Slot()
    def _schedule_rebuild(self) -> None:
        self._rebuild_timer.start()

    def _read_structure(self) -> Config:
        cfg = replace(self._config)
        cfg.hidden = self.hidden.sizes()
        cfg.activation = self.activation.currentText()
        cfg.output = self.output.currentText()
        cfg.init = self.init.currentText()
        cfg.seed = self.seed.value()
        cfg.test_fraction = round(self.test_fraction.value(), 4)
        if cfg.dataset != "csv" and cfg.dataset != "iris":
            cfg.noise = round(self.noise.value(), 6)
            cfg.n_samples = self.samples.value()
        self.activation.setEnabled(bool(cfg.hidden))
        return cfg

    @Slot()
    def _emit_config(self) -> None:
        self._config = self._read_structure()
        self.configChanged.emit(replace(self._config))

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
        name = self._config.dataset
        if name == "csv":
            cfg = replace(self._config)
        else:
            cfg = Config.preset(name)
        self._rebuild_timer.stop()
        self.set_config(cfg)
        self.configChanged.emit(replace(cfg))
