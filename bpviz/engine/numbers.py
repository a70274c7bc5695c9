"""The one number format of bpviz: every panel, lesson, status line and export label writes its
numbers with :func:`fmt` (files keep full precision; only labels use it).

- a true minus sign "−";
- positional with ``digits`` significant digits for 0.001 ≤ |x| < 10,000 ("0.1234", "−12.5",
  "1500"); scientific outside, written one way: mantissa without trailing zeros, "e", the exponent
  without "+" or leading zeros ("−1.234e−4", "6.1e20", "1e−5");
- 0 as "0"; ∞ as "∞" and "−∞"; NaN and None (no number, or none computed yet) as "—";
- with ``scale`` (the largest magnitude a panel shows), a value smaller than ``scale`` × 1e-6
  reads "0": beside values of order 0.1 a δ of 1.92e−166 is zero to the eye. The panel then gives
  the exact value (:func:`exact`) on hover.
"""

from __future__ import annotations

import math

import numpy as np

MINUS = "−"
NO_NUMBER = "—"
NEGLIGIBLE = 1e-6      # below scale × NEGLIGIBLE a value reads "0"


def _finite(x) -> float | None:
    if x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def scale_of(values) -> float | None:
    """The largest finite magnitude among ``values`` (numbers or arrays), or None if none."""
    best = None
    for v in values:
        a = np.abs(np.asarray(v, dtype=float))
        a = a[np.isfinite(a)]
        if a.size and (best is None or a.max() > best):
            best = float(a.max())
    return best


def negligible(x, scale=None) -> bool:
    """Is the non-zero ``x`` too small to show beside values of magnitude ``scale``?"""
    x, scale = _finite(x), _finite(scale)
    if x is None or scale is None or not math.isfinite(x) or not math.isfinite(scale):
        return False
    return x != 0 and abs(x) < abs(scale) * NEGLIGIBLE


def _scientific(x: float, digits: int) -> str:
    mantissa, exponent = f"{x:.{max(1, digits) - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}".replace("-", MINUS)


def fmt(x, digits: int = 4, scale=None) -> str:
    """``x`` as bpviz writes numbers (see the module's rules)."""
    v = _finite(x)
    if v is None or math.isnan(v):
        return NO_NUMBER
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    if v == 0 or negligible(v, scale):
        return "0"
    digits = max(1, int(digits))
    if 1e-3 <= abs(v) < 1e4:
        s = f"{v:.{digits}g}"
        if "e" not in s:                   # 9999.7 rounds to 1e+04 at 4 digits
            return s.replace("-", MINUS)
    return _scientific(v, digits)


def exact(x) -> str:
    """The full value, for a hover text beside a label that rounds it ("−1.92e−166")."""
    v = _finite(x)
    if v is None or math.isnan(v):
        return NO_NUMBER
    if math.isinf(v) or v == 0:
        return fmt(v)
    s = repr(v)                            # the shortest text that reads back as v
    if "e" in s:
        mantissa, exponent = s.split("e")
        s = f"{mantissa}e{int(exponent)}"
    elif s.endswith(".0"):
        s = s[:-2]
    return s.replace("-", MINUS)
