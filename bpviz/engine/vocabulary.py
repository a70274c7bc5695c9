"""bpviz's fixed words, written once: the panels, the step modes, what the diagram's edges and
neurons can show, the speed as text and the round steps of a scale.

The window, the training session, the lessons (their files are checked against these words), the
help and the network diagram take them from here. Plain Python: no Qt, no numpy arrays.
"""

from __future__ import annotations

import math

# -- panels ----------------------------------------------------------------------------------------

# every panel of the window, by the name its dock, its help and the lessons use, with its title
PANEL_TITLES = {
    "controls": "Controls",
    "network": "Network",
    "boundary": "Decision boundary",
    "surface": "Error surface",
    "cost": "Cost curve",
    "inspector": "Neuron inspector",
    "graph": "Graph",
    "code": "Code",
    "lessons": "Lessons",
}
PANELS = tuple(PANEL_TITLES)

# -- what Step does --------------------------------------------------------------------------------

STEP_MODE_LABELS = {
    "sample": "one sample",
    "pass": "one mini-batch",
    "phase": "one phase",
    "epoch": "one epoch",
}
STEP_MODES = tuple(STEP_MODE_LABELS)

# -- what the network diagram shows ----------------------------------------------------------------

EDGE_MODE_LABELS = {
    "weight": "weight",
    "gradient": "gradient ∂L/∂w",
    "signal": "error signal w·δ",
    "update": "update Δw",
}
EDGE_MODES = tuple(EDGE_MODE_LABELS)
NEURON_MODE_LABELS = {"delta": "mean δ", "activation": "mean activation"}
NEURON_MODES = tuple(NEURON_MODE_LABELS)

# -- speed: passes per second while playing, None for as fast as it goes ---------------------------

MAX_SPEED_TEXT = "max"
# Playing speeds a person can choose, in passes per second (None: as fast as the machine goes).
SPEEDS = (1, 2, 5, 10, 30, 100, 300, 1000, None)


def speed_text(speed: int | None, *, grouped: bool = False) -> str:
    """``speed`` as the settings, the lessons and the Speed box write it: "max" for None, else the
    number ("1000", or with ``grouped`` "1,000")."""
    if speed is None:
        return MAX_SPEED_TEXT
    return f"{int(speed):,}" if grouped else str(int(speed))


def parse_speed(value) -> int | None:
    """The speed that ``value`` ("max", 250, "250", "1,000", 250.0) names; None for "max".
    ValueError when it names none: not "max" and not a whole number of passes per second ≥ 1."""
    if isinstance(value, str):
        text = value.strip()
        if text == MAX_SPEED_TEXT:
            return None
        text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f'{value!r} is not a number of passes per second or "max"') from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{value!r} is not a number of passes per second or "max"')
    else:
        number = float(value)
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise ValueError(f'{value!r} is not a whole number of passes per second (1 or more)')
    return int(number)


def nearest_speed(speed: int | None, speeds) -> int | None:
    """The one of ``speeds`` (None among them for max) nearest to ``speed``."""
    if speed is None:
        return None
    finite = [s for s in speeds if s is not None]
    return min(finite, key=lambda s: abs(s - speed))


# -- round numbers for scales ----------------------------------------------------------------------

STEPS_125 = (1.0, 2.0, 5.0)                       # the diagram's colour scale
STEPS_FINE = (1.0, 1.5, 2.0, 3.0, 5.0, 7.5)         # the cost curve's axis


def nice_ceiling(x: float, steps=STEPS_125) -> float:
    """The smallest m × 10^k, m one of ``steps`` (ascending, from 1), that is at least ``x``
    (> 0)."""
    decade = 10.0 ** math.floor(math.log10(x))
    for m in tuple(steps) + (10.0,):
        if m * decade >= x * (1 - 1e-12):
            return float(m * decade)
    return 10.0 * decade
