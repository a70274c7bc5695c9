"""Colours and scales shared by every panel, so a sign or a class looks the same everywhere.

Sign: positive values are blue, negative values orange (as in TensorFlow Playground), zero a light
grey. Magnitude uses a symmetric log-like scale, ``symlog``, so that a 1e-4 gradient and a 3.0
weight can share one legend. Colour maps are pyqtgraph ``ColorMap``s: :func:`diverging_map` for
signed values, viridis (:func:`sequential_map`) for the loss surface.

The module imports no Qt until a colour map or a plot is asked for, so that Qt-free modules (the
network diagram's layout) can share its colours and scales.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ...engine import numbers
from ...engine.phases import UPDATE

POSITIVE = (37, 99, 235)      # blue
NEGATIVE = (234, 88, 12)      # orange
NEUTRAL = (226, 232, 240)     # light grey
BACKGROUND = "#ffffff"
FOREGROUND = "#1f2937"
GRID_ALPHA = 0.15

CLASS_COLORS = [
    (37, 99, 235), (234, 88, 12), (22, 163, 74), (147, 51, 234), (220, 38, 38),
    (8, 145, 178), (202, 138, 4), (219, 39, 119), (71, 85, 105), (101, 163, 13),
]


def class_color(k: int) -> tuple[int, int, int]:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def symlog(x, linthresh: float) -> np.ndarray:
    """sign(x)·log10(1 + |x|/linthresh): linear near 0, logarithmic beyond ``linthresh``."""
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log10(1.0 + np.abs(x) / linthresh)


def symlog_normalise(x, vmax: float | None = None, decades: float = 3.0) -> np.ndarray:
    """Map values to [−1, 1] on a symmetric log scale spanning ``decades`` below ``vmax``.

    ``vmax`` defaults to the largest |x| (finite values only); NaN and inf map to 0 and ±1.
    """
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x)
    if vmax is None:
        vmax = float(np.abs(x[finite]).max()) if finite.any() else 1.0
    vmax = max(vmax, 1e-300)
    linthresh = vmax * 10.0 ** (-decades)
    out = symlog(np.where(finite, x, 0.0), linthresh) / np.log10(1.0 + vmax / linthresh)
    out = np.where(np.isposinf(x), 1.0, np.where(np.isneginf(x), -1.0, out))
    return np.clip(out, -1.0, 1.0)


@cache
def diverging_map():
    """The sign colour map, a ``pyqtgraph.ColorMap`` over [−1, 1] (diverging mapping): orange at
    −1, grey at 0, blue at +1, straight lines between them in RGB."""
    import pyqtgraph as pg
    return pg.ColorMap([0.0, 0.5, 1.0], [NEGATIVE, NEUTRAL, POSITIVE], mapping="diverging",
                       name="bpviz-sign")


@cache
def sequential_map():
    """Viridis (``pyqtgraph.colormap.get``): dark purple at 0 to yellow at 1."""
    import pyqtgraph as pg
    return pg.colormap.get("viridis")


def diverging_rgb(u) -> np.ndarray:
    """Colours (…, 3) uint8 for u in [−1, 1] (:func:`diverging_map`): orange ← grey → blue; NaN is
    grey, values beyond ±1 take the end colours."""
    u = np.clip(np.nan_to_num(np.asarray(u, dtype=float)), -1.0, 1.0)
    return diverging_map().map(u, mode="byte")[..., :3]


def diverging_lut(n: int = 256) -> np.ndarray:
    """A (n, 3) lookup table for images normalised to [0, 1] (0.5 is zero)."""
    return diverging_map().getLookupTable(-1.0, 1.0, n, alpha=False, mode="byte")


def sequential_lut(n: int = 256) -> np.ndarray:
    """A (n, 3) viridis lookup table for loss surfaces, dark purple (low) to yellow (high)."""
    return sequential_map().getLookupTable(0.0, 1.0, n, alpha=False, mode="byte")


def format_value(v: float, digits: int = 4, scale: float | None = None) -> str:
    """A number for labels and hover cards in bpviz's one format (:func:`.numbers.fmt`):
    0.01234, −3.2e−5, 12.5; NaN "—", ∞ "∞"."""
    return numbers.fmt(v, digits, scale)


NOT_COMPUTED = numbers.NO_NUMBER   # a value not computed yet (a pass walked phase by phase holds NaN)


def format_known(v: float | None, digits: int = 4, scale: float | None = None) -> str:
    """:func:`format_value`: ``NOT_COMPUTED`` for None and NaN (no value yet, never "nan")."""
    return numbers.fmt(v, digits, scale)


def format_loss(value: float | None, digits: int = 5) -> str:
    """A loss for a status line, to five significant digits ("0.99335"), or ``NOT_COMPUTED``
    when it is not computed yet (None or NaN: the forward phases of a pass walked phase by
    phase)."""
    return numbers.fmt(value, digits)


def shown_pass(snap) -> int:
    """The pass a snapshot shows, counted from 1: while a pass is walked phase by phase it is
    the pass being walked (its last phase, the update, is what adds it to ``pass_count``)."""
    phase = getattr(snap, "phase", None)
    walking = phase is not None and phase.kind != UPDATE
    return snap.pass_count + 1 if walking else snap.pass_count


def pass_words(snap) -> str:
    """'pass 12', or 'pass 12 · phase 3/7' while a pass is walked phase by phase."""
    phase = getattr(snap, "phase", None)
    words = f"pass {shown_pass(snap)}"
    return words if phase is None else f"{words} · phase {phase.index + 1}/{phase.total}"


# -- curves and plot frames (added for the cost curve and the decision boundary) -----------------

TRAIN_COLOR = (31, 41, 55)         # training-set curves: the foreground colour
TEST_COLOR = (219, 39, 119)        # test-set curves: pink, apart from the sign colours
PASS_COLOR = (100, 116, 139, 110)  # the per-pass batch loss: a faint slate behind the epochs


def steady_range(current: tuple[float, float], lo: float, hi: float, pad: float = 0.03,
                 fill: float = 0.5) -> tuple[float, float] | None:
    """The range to show data spanning [lo, hi], or None to keep ``current``: it is kept while it
    holds the data and they fill at least ``fill`` of it, so that a plot refreshed several times a
    second does not move (and regenerate its axes) for every small change. A new range is
    [lo, hi] padded by ``pad`` of its span on each side."""
    a, b = current
    span = (hi - lo) or 1.0
    if a <= lo and hi <= b and span >= fill * (b - a):
        return None
    return lo - pad * span, hi + pad * span


def style_plot(plot, grid: bool = True) -> None:
    """Give a pyqtgraph PlotItem the shared look: foreground axes and (optionally) a faint grid."""
    from PySide6.QtWidgets import QGraphicsItem
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(FOREGROUND)
        axis.setTextPen(FOREGROUND)
        # Repainting an axis replays its drawing (ticks, text and grid lines) at ~3 ms; cached as
        # a pixmap, a frame whose range did not change just copies it.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Major and minor ticks only: the third level (every tenth of a major step) doubles the
        # lines an axis (and its grid) regenerates when the range moves, for lines a few pixels
        # apart.
        axis.setStyle(maxTickLevel=1)
        # plain numbers in the data's own units: no "(x0.001)" beside the label
        axis.enableAutoSIPrefix(False)
    if grid:
        plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)


# -- the interface's zoom (View → Enlarge, Reduce, Actual size) -----------------------------------

# The steps Ctrl++ and Ctrl+− walk through: a lecture hall reads 1.5× to 2× from the back row.
ZOOM_STEPS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5)
_zoom = [1.0]


def zoom() -> float:
    """The interface's zoom factor (1.0: actual size). Panels multiply their fonts, line widths,
    markers and the diagram's labels by it (:func:`zoomed`); the window sets it
    (:mod:`bpviz.ui.window.lecture`) and asks the panels to draw again."""
    return _zoom[0]


def set_zoom(factor: float) -> float:
    """Set the zoom factor, kept within ``ZOOM_STEPS``' range; returns the factor in force."""
    factor = float(factor)
    if not math.isfinite(factor):
        factor = 1.0
    _zoom[0] = min(ZOOM_STEPS[-1], max(ZOOM_STEPS[0], factor))
    return _zoom[0]


def zoomed(value: float) -> float:
    """``value`` (points or pixels at actual size) at the interface's zoom."""
    return value * _zoom[0]


def next_zoom(factor: float, direction: int) -> float:
    """The zoom step after ``factor`` (``direction`` +1: larger, −1: smaller, 0: actual size)."""
    if direction == 0:
        return 1.0
    if direction > 0:
        return next((z for z in ZOOM_STEPS if z > factor + 1e-9), ZOOM_STEPS[-1])
    return next((z for z in reversed(ZOOM_STEPS) if z < factor - 1e-9), ZOOM_STEPS[0])
