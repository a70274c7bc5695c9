"""bpviz's one number format (:mod:`bpviz.engine.numbers`), against hand-written cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpviz.engine.numbers import NO_NUMBER, exact, fmt, negligible, scale_of


@pytest.mark.parametrize("x, text", [
    (-1.234e-4, "−1.234e−4"),            # scientific below 0.001, written one way
    (-0.0001234, "−1.234e−4"),
    (1.92e-166, "1.92e−166"),
    (1e-5, "1e−5"),                      # no trailing zeros in the mantissa
    (6.14e20, "6.14e20"),                # no "+", no leading zeros in the exponent
    (12346.0, "1.235e4"),                # from 10,000 up
    (12345.0, "1.234e4"),                # an exact half: to even
    (9999.4, "9999"),
    (9999.7, "1e4"),                     # rounds up to 10,000: scientific, not "1e+04"
    (0.00099996, "1e−3"),
    (0.001, "0.001"),
    (0.12345, "0.1235"),                 # four significant digits (0.12345 is a hair above)
    (0.684, "0.684"),
    (-12.5, "−12.5"),                    # a true minus sign
    (1500, "1500"),
    (0.0, "0"), (-0.0, "0"), (0, "0"),
    (np.float32(0.25), "0.25"),
    (float("inf"), "∞"), (float("-inf"), "−∞"),
    (float("nan"), "—"), (None, "—"), (np.nan, NO_NUMBER),
])
def test_fmt(x, text):
    assert fmt(x) == text


def test_digits():
    assert fmt(0.68421, 3) == "0.684" and fmt(2.00341, 5) == "2.0034"
    assert fmt(-1.2345e-7, 3) == "−1.23e−7" and fmt(7.0, 1) == "7"


def test_values_far_below_the_scale_read_zero():
    assert fmt(1.92e-166, scale=0.1) == "0"
    assert fmt(-1.92e-166, scale=0.1) == "0"
    assert fmt(1.1e-7, scale=0.1) == "1.1e−7"            # 0.1 × 1e-6 = 1e-7: still shown
    assert fmt(0.9e-7, scale=0.1) == "0"
    assert fmt(-1.234e-4, scale=0.5) == "−1.234e−4"
    assert fmt(float("nan"), scale=0.1) == "—" and fmt(float("inf"), scale=1) == "∞"
    assert negligible(1e-9, 1.0) and not negligible(0.0, 1.0) and not negligible(1e-9, None)
    assert not negligible(1e-9, float("nan"))


def test_scale_of():
    assert scale_of([np.array([0.1, -0.3]), np.array([np.nan, 0.2])]) == 0.3
    assert scale_of([np.array([np.nan]), np.array([np.inf])]) is None
    assert scale_of([]) is None


@pytest.mark.parametrize("x", [1.92e-166, -0.0001234, 0.1 + 0.2, 6.14e20, 1500.0, -3.0])
def test_exact_reads_back_as_the_value(x):
    text = exact(x)
    assert float(text.replace("−", "-")) == x
    assert "-" not in text and "+" not in text


def test_exact_of_the_special_values():
    assert exact(1.92e-166) == "1.92e−166" and exact(float("nan")) == "—"
    assert exact(float("-inf")) == "−∞" and exact(0.0) == "0" and exact(1500.0) == "1500"
    assert math.isclose(float(exact(0.1 + 0.2)), 0.30000000000000004)
