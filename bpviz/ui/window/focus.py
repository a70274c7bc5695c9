"""The window's focus: what every panel shows values for, one sample or the batch mean.

The focus is held in one place, a :class:`FocusModel` the main window owns; the panels read it
when they paint and repaint when it says it changed (``changed``). In *sample* focus the panels
show the pinned training sample's values, which obey the chain rule exactly
(δ_i = f′(z_i) · Σ_j w_ij δ_j); in *mean* focus they show batch means, which do not.

The numbers themselves come from the engine: :func:`bpviz.engine.snapshot.focused` picks them
out of a snapshot.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

SAMPLE, MEAN = "sample", "mean"
MODES = (SAMPLE, MEAN)

# why batch means do not add up the way one sample's values do
MEAN_NOTE = ("batch means do not obey δ = f′(z)·Σ w·δ: the mean of a product is not the "
             "product of the means; choose a sample to see the sum add up")


class FocusModel(QObject):
    """One focus for the window: ``mode`` "sample" (the pinned sample, ``sample``) or "mean".

    ``changed`` is emitted after every change of the mode or the sample.
    """

    changed = Signal()

    def __init__(self, mode: str = MEAN, sample: int = 0, parent: QObject | None = None):
        super().__init__(parent)
        if mode not in MODES:
            raise ValueError(f"focus must be one of {', '.join(MODES)}, not {mode!r}")
        self._mode = mode
        self._sample = int(sample)

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def sample(self) -> int:
        """The pinned sample (also kept in mean focus, for when the focus comes back to it)."""
        return self._sample

    def is_sample(self) -> bool:
        return self._mode == SAMPLE

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"focus must be one of {', '.join(MODES)}, not {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self.changed.emit()

    def set_sample(self, index: int) -> None:
        """Focus on training sample ``index`` (switches to sample focus)."""
        index = int(index)
        if (index, SAMPLE) != (self._sample, self._mode):
            self._sample, self._mode = index, SAMPLE
            self.changed.emit()

    def set_mean(self) -> None:
        self.set_mode(MEAN)

    def words(self) -> str:
        """"sample 3" or "batch mean" (a status line)."""
        return f"sample {self._sample}" if self.is_sample() else "batch mean"
