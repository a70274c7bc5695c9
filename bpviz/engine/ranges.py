"""The range of every numeric setting, and numbers in words.

``RANGES`` is the one definition of what each setting accepts; the configuration, the trainer,
session files, the command-line flags and the window's controls all take it from here. ``COUNTS``
does the same for the counters a session carries (epochs and passes done).
``format_number`` writes a number exactly (for ranges and typed values), ``readable`` to three
digits (for sentences and tables), ``whole_number`` checks a count read from a file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from numbers import Integral

import numpy as np

from .errors import ConfigError


def format_number(v: float | int) -> str:
    """``v`` in the fewest digits that read back as exactly ``v``: positional from 1e-6 to below
    1e7 (0.00001, 0.9999, 1500), scientific outside (1e-7, 2.5e8)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    d = Decimal(repr(v)).normalize()
    if -6 <= d.adjusted() < 7:
        return format(d, "f")
    return format(d, "e").replace("e+", "e")


@dataclass(frozen=True)
class Range:
    """The values one numeric setting accepts: ``lo`` to ``hi`` (``hi`` itself excluded when
    ``hi_open``), whole numbers only when ``integer``; ``off``, when set, is one more value below
    ``lo`` that turns the setting off."""

    name: str              # the setting in words, as messages and the window's notes name it
    lo: float
    hi: float
    integer: bool = False
    hi_open: bool = False
    off: float | None = None

    def accepts(self, value) -> bool:
        if isinstance(value, bool):
            return False
        if self.integer:
            if not isinstance(value, (int, np.integer)):
                return False
        elif not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        try:
            v = float(value) if not self.integer else int(value)
        except OverflowError:                     # an integer too large for a float
            return False
        if self.off is not None and v == self.off:
            return True
        if not self.integer and not math.isfinite(v):
            return False
        return self.lo <= v and (v < self.hi if self.hi_open else v <= self.hi)

    def text(self) -> str:
        """What the setting accepts, in words: 'a whole number from 0 to 2147483647'."""
        lo, hi = format_number(self.lo), format_number(self.hi)
        kind = "a whole number" if self.integer else "a number"
        span = (f"{kind} at least {lo} and less than {hi}" if self.hi_open
                else f"{kind} from {lo} to {hi}")
        if self.off is not None:
            return f"{format_number(self.off)} (off) or {span}"
        return span

    def check(self, value, name: str | None = None, error: type[Exception] = ConfigError):
        """``value`` if it is in range, else ``error``: '<name> must be <text>; got <value>'."""
        if not self.accepts(value):
            raise error(f"{name or self.name} must be {self.text()}; got {_shown(value)}")
        return value


def _shown(value) -> str:
    """A refused value as the message shows it (a very long whole number shortened)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and abs(value) >= 1e21:
        return format(Decimal(int(value)), ".3e").replace("e+", "e")
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return format_number(value)
    return repr(value)


# Every numeric setting's range, defined once. Config.validate checks against it (and so every
# configuration made from command-line flags, session files or config.json), the command-line
# flags parse with it and the window's controls take their ranges from it, so that a value one
# of them accepts fits everywhere it goes. The seed stops at 2**31 - 1 so that the streams derived
# from it (seed + 104729 for the shuffle, seed + 7919 for the split) stay below numpy's 2**32 and
# the number fits a signed 32-bit integer (Qt's int).
RANGES: dict[str, Range] = {
    "seed": Range("seed", 0, 2 ** 31 - 1, integer=True),
    "n_samples": Range("samples", 4, 100_000, integer=True),
    "noise": Range("noise", 0.0, 10.0),
    "test_fraction": Range("test fraction", 0.0, 0.9),
    "hidden": Range("neurons per hidden layer", 1, 512, integer=True),
    "lr": Range("learning rate", 1e-6, 1e6),
    "momentum": Range("momentum", 0.0, 1.0, hi_open=True),
    "batch_size": Range("batch size", 0, 100_000, integer=True),       # 0: full batch
    "l2": Range("L2", 0.0, 10.0),
    "epochs": Range("epochs", 1, 1_000_000, integer=True),
    "divergence_factor": Range("divergence factor", 1.0, 1e12, off=0.0),
}

# The counters a session file carries beside its settings, in the same form: how far a run got.
# Epochs stop at a thousand runs of the most ``--epochs`` allows, passes where a float still
# holds every whole number (the history and the trajectory keep them as floats).
COUNTS: dict[str, Range] = {
    "epoch": Range("the epoch count", 0, 1000 * RANGES["epochs"].hi, integer=True),
    "pass_count": Range("the pass count", 0, 2 ** 53, integer=True),
}


def readable(x: float) -> str:
    """A number for a sentence or a table, to three digits: 2.1, 0.149, 613,933, 6.14e+20."""
    x = float(x)
    if not math.isfinite(x) or abs(x) >= 1e15:
        return f"{x:.3g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


_WHOLE = re.compile(r"[+-]?[0-9]+")


def parse_whole(text: str) -> int | None:
    """A typed whole number — ASCII digits with an optional sign, as a whole-number flag or box
    takes it — or None: "3.9999999999999999", "4.0", "1e3" and "4_000" are not whole numbers as
    typed, even where a float would round them to one."""
    t = text.strip().replace("−", "-")
    return int(t) if _WHOLE.fullmatch(t) else None


def whole_number(name: str, value, error: type[Exception] = ValueError) -> int:
    """``value`` if it is a whole number ≥ 0 (a count read from a file), else ``error``."""
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 0:
        raise error(f"{name} must be a whole number ≥ 0, got {value!r}")
    return int(value)
