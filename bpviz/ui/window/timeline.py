"""The timeline: a bounded history of recent snapshots, a slider to scrub back through them, and
"Rewind to here".

:class:`SnapshotHistory` keeps the newest snapshots whose arrays add up to at most ``max_bytes``
(the oldest go first); it holds no Qt and is tested on its own. :class:`TimelineBar` is the strip
under the panels: moving its slider away from the right end shows that earlier snapshot in every
panel (training pauses); "Live" returns to the newest; "Rewind to here" asks the worker to restore
the training state of the snapshot shown and continue from there.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from ...engine.snapshot import Snapshot, snapshot_nbytes
from ..plotting.style import format_loss, pass_words

HISTORY_BYTES = 12 * 1024 * 1024


class SnapshotHistory:
    """The newest snapshots, at most ``max_bytes`` of arrays in all (and at least one)."""

    def __init__(self, max_bytes: int = HISTORY_BYTES):
        self.max_bytes = max_bytes
        self._items: deque[tuple[Snapshot, int]] = deque()
        self.nbytes = 0

    def append(self, snap: Snapshot) -> None:
        # the recorded path is large and the surface panel keeps its own copy: not stored twice
        if snap.trajectory is not None:
            snap = replace(snap, trajectory=None, trajectory_passes=None)
        size = snapshot_nbytes(snap)
        self._items.append((snap, size))
        self.nbytes += size
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popleft()
            self.nbytes -= old

    def truncate_after(self, seq: int) -> None:
        """Forget snapshots newer than ``seq`` (after a rewind they describe a future undone)."""
        while self._items and self._items[-1][0].seq > seq:
            _, size = self._items.pop()
            self.nbytes -= size

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, k: int) -> Snapshot:
        return self._items[k][0]


class TimelineBar(QWidget):
    scrubbed = Signal(object)        # the Snapshot to show, or None for live
    rewindRequested = Signal(int)    # seq of the snapshot to go back to

    def __init__(self, history: SnapshotHistory, parent=None):
        super().__init__(parent)
        self.history = history
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub back through recent passes; every panel shows that moment")
        self.label = QLabel("live")
        self.label.setMinimumWidth(260)
        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Show the newest pass again")
        self.rewind_button = QPushButton("Rewind to here")
        self.rewind_button.setToolTip("Restore the weights, optimizer state and random state of "
                                      "the moment shown, and continue training from there")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.addWidget(QLabel("History"))
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.live_button)
        lay.addWidget(self.rewind_button)
        self._scrubbing = False
        self.slider.valueChanged.connect(self._on_slider)
        self.live_button.clicked.connect(self.go_live)
        self.rewind_button.clicked.connect(self._rewind)
        self._update_buttons()

    def is_scrubbing(self) -> bool:
        return self._scrubbing

    def shown(self) -> Snapshot | None:
        """The snapshot being inspected (None when live)."""
        return self.history[self.slider.value()] if self._scrubbing and len(self.history) else None

    def refresh(self) -> None:
        """The history grew or shrank: keep the slider on the newest snapshot when live, and on
        the same snapshot while scrubbing (as long as it is kept)."""
        n = len(self.history)
        self.slider.blockSignals(True)
        if self._scrubbing:
            seq = self._shown_seq
            index = next((k for k in range(n) if self.history[k].seq == seq), None)
            self.slider.setRange(0, max(n - 1, 0))
            if index is None:                    # dropped from the history: back to live
                self._scrubbing = False
                self.slider.setValue(max(n - 1, 0))
                self.scrubbed.emit(None)
            else:
                self.slider.setValue(index)
        else:
            self.slider.setRange(0, max(n - 1, 0))
            self.slider.setValue(max(n - 1, 0))
        self.slider.blockSignals(False)
        self.slider.setEnabled(n > 1)          # one snapshot: nothing to scrub through
        self._update_label()
        self._update_buttons()

    def scrub_to(self, index: int) -> None:
        self.slider.setValue(index)

    @Slot(int)
    def _on_slider(self, index: int) -> None:
        n = len(self.history)
        if n == 0:
            return
        self._scrubbing = index < n - 1
        if self._scrubbing:
            self._shown_seq = self.history[index].seq
            self.scrubbed.emit(self.history[index])
        else:
            self.scrubbed.emit(None)
        self._update_label()
        self._update_buttons()

    @Slot()
    def go_live(self) -> None:
        self.slider.setValue(max(len(self.history) - 1, 0))

    @Slot()
    def _rewind(self) -> None:
        snap = self.shown()
        if snap is not None:
            self.rewindRequested.emit(snap.seq)

    def _update_label(self) -> None:
        if not len(self.history):
            self.label.setText("live")
            return
        snap = self.history[self.slider.value()]
        # a pass walked phase by phase has no loss before its loss phase: "—", never "nan"
        # after an update the loss is the pass's own: its batch's, before the update (the status
        # bar's training loss is the whole training set's, after it)
        loss = (f"batch loss in the pass {format_loss(snap.loss, 4)}" if snap.has_update
                else f"loss {format_loss(snap.loss, 4)}")
        where = f"{pass_words(snap)} · epoch {snap.epoch} · {loss}"
        self.label.setText(f"{where}  ({'earlier' if self._scrubbing else 'live'})")

    def _update_buttons(self) -> None:
        self.live_button.setEnabled(self._scrubbing)
        self.rewind_button.setEnabled(self._scrubbing)
