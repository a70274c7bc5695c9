"""The shared colour maps: the sign colours as straight lines in RGB between orange, grey and blue,
and viridis for the loss surface, checked against the colours they are made of."""

import numpy as np

from bpviz.ui.plotting import style


def test_diverging_colours_by_hand():
    u = np.array([-1.0, 0.0, 1.0, 0.5, -0.25, np.nan, 3.0, -np.inf])
    got = style.diverging_rgb(u)
    assert got.dtype == np.uint8 and got.shape == (8, 3)
    assert tuple(got[0]) == style.NEGATIVE
    assert tuple(got[1]) == style.NEUTRAL
    assert tuple(got[2]) == style.POSITIVE
    # halfway from grey (226, 232, 240) to blue (37, 99, 235): 131.5, 165.5, 237.5, cut down
    assert tuple(got[3]) == (131, 165, 237)
    # a quarter of the way from grey to orange (234, 88, 12): 228, 196, 183
    assert tuple(got[4]) == (228, 196, 183)
    assert tuple(got[5]) == style.NEUTRAL                       # NaN: no sign
    assert tuple(got[6]) == style.POSITIVE and tuple(got[7]) == style.NEGATIVE


def test_diverging_lut_runs_from_minus_to_plus():
    lut = style.diverging_lut(5)
    np.testing.assert_array_equal(lut, style.diverging_rgb([-1, -0.5, 0, 0.5, 1]))


def test_sequential_lut_is_viridis():
    lut = style.sequential_lut(3)
    assert lut.dtype == np.uint8 and lut.shape == (3, 3)
    # viridis at 0, 0.5 and 1: #440154, #21918c, #fde725
    np.testing.assert_allclose(lut, [(68, 1, 84), (33, 145, 140), (253, 231, 37)], atol=1)
    ramp = style.sequential_lut(256).astype(int)
    lightness = ramp @ np.array([0.299, 0.587, 0.114])
    assert (np.diff(lightness) > -1).all()                    # dark to light, never back
    assert lightness[-1] - lightness[0] > 150
