"""The network diagram's layout, without Qt: positions, fitting a panel, hit testing, the edges a
large network draws, what a drag does to a weight and how values become bins and fills, each
checked against numbers worked out by hand from the layout's rules."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from bpviz.ui.network import layout as nl
from bpviz.ui.plotting import style


def test_imports_without_qt():
    code = ("import sys\n"
            "for name in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
            "    sys.modules[name] = None\n"
            "import bpviz.ui.network.layout as nl\n"
            "lay = nl.make_layout((2, 3, 3))\n"
            "print(nl.hit_test(lay, nl.DrawnEdges.every(lay), 3.24, 0.0, 0.01))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "('neuron', 1, 1)"


# -- positions ---------------------------------------------------------------------------------

@pytest.fixture
def classic():
    """2-3-3. Spacing 1 (no column spans more than 11), diameter min(0.6, 0.8·1) = 0.6, half
    height 2/2 + 0.3 = 1.3, column spacing max(2.4, 1.8·(2·1.3 + 1)/2) = 3.24."""
    return nl.make_layout((2, 3, 3))


def test_classic_positions(classic):
    lay = classic
    np.testing.assert_allclose(lay.xs, [0, 3.24, 6.48])
    np.testing.assert_allclose(lay.xy, [[0, 0.5], [0, -0.5],
                                        [3.24, 1], [3.24, 0], [3.24, -1],
                                        [6.48, 1], [6.48, 0], [6.48, -1]])
    np.testing.assert_allclose(lay.diameter, 0.6)
    assert lay.start.tolist() == [0, 2, 5, 8]
    assert lay.edge_offset.tolist() == [0, 6, 15]
    assert lay.bottom == pytest.approx(-1 - 0.6 * 1.3 / 2) and lay.top == pytest.approx(1.39)
    assert lay.node(1, 2) == 4 and lay.layer_of(4) == (1, 2) and lay.layer_of(0) == (0, 0)
    assert lay.exists(2, 2) and not lay.exists(2, 3) and not lay.exists(3, 0)
    # input neuron 1 → hidden neuron 2: flat index 1·3 + 2 in weights[0]
    np.testing.assert_allclose(lay.edge_segment(0, 1, 2), [0, -0.5, 3.24, -1])
    np.testing.assert_allclose(lay.all_segments[:, 6 + 2 * 3 + 1], [3.24, -1, 6.48, 0])
    assert lay.extent() == pytest.approx((0, -1, 6.48, 2))


def test_a_tall_column_is_squeezed_into_the_span():
    """23 neurons: spacing 11/22 = 0.5, diameter min(0.6, 0.4) = 0.4; half height 5.5 + 0.3,
    column spacing 1.8·(11.6 + 1) = 22.68."""
    lay = nl.make_layout((2, 23))
    np.testing.assert_allclose(lay.spacing, [1.0, 0.5])
    np.testing.assert_allclose(lay.diameter[[0, 2]], [0.6, 0.4])
    np.testing.assert_allclose(lay.xs, [0, 22.68])
    assert lay.xy[2].tolist() == pytest.approx([22.68, 5.5])
    assert lay.xy[-1].tolist() == pytest.approx([22.68, -5.5])


def test_names_and_titles():
    sizes = (2, 64, 1)
    assert [nl.layer_name(sizes, k) for k in range(3)] == ["input", "hidden 1", "output"]
    assert nl.edge_name(sizes, 1, 7, 0) == "hidden 1 #7 → output #0"
    assert nl.layer_titles(sizes, ["tanh", "sigmoid"]) == [
        (("input", "2 neurons"), ("in", "2")),
        (("hidden 1 (tanh)", "64 neurons"), ("h1", "64")),
        (("output (sigmoid)", "1 neuron"), ("out", "1"))]
    assert nl.subscript(120) == "₁₂₀"


# -- fitting a panel ---------------------------------------------------------------------------

def test_fit_a_wide_panel(classic):
    """900×600 px, labels 100×30 px, 12 px for values: the bottom margin is 12 + 30 + 6 = 48 px,
    the sides 100/2 + 10 = 60 px. Scale = min(546/2.78, 888/7.08, 780/6.48) = 780/6.48."""
    fit = nl.fit_panel(classic, 900, 600, [(100, 30)] * 3, 12)
    s = 780 / 6.48
    assert fit.scale == pytest.approx(s)
    assert fit.labels_fit                                   # 3.24·s = 390 px ≥ 106 px
    extra = 600 - 2.78 * s - 6 - 48                         # height left over, shared
    x, y, w, h = fit.rect
    assert (w, h) == pytest.approx((900 / s, 600 / s))
    assert x == pytest.approx(3.24 - 450 / s)               # centred on the middle column
    assert y == pytest.approx(-1.39 - (48 + extra / 2) / s)
    np.testing.assert_allclose(nl.layer_label_positions(classic, s, 12),
                               [(0, -1.39 - 12 / s), (3.24, -1.39 - 12 / s),
                                (6.48, -1.39 - 12 / s)])


def test_fit_says_when_the_labels_would_touch(classic):
    """400 px labels: sides 210 px, scale (900 − 420)/6.48 ≈ 74 px a unit, so neighbouring label
    centres are 240 px apart, short of the 406 px two labels and a gap need."""
    fit = nl.fit_panel(classic, 900, 600, [(400, 30)] * 3, 12)
    assert fit.scale == pytest.approx(480 / 6.48)
    assert not fit.labels_fit


def test_a_short_panel_fits_the_height(classic):
    """200 px high: (200 − 6 − 48)/2.78 px a unit is the smallest of the three."""
    fit = nl.fit_panel(classic, 900, 200, [(100, 30)] * 3, 12)
    assert fit.scale == pytest.approx(146 / 2.78)
    assert fit.rect[1] == pytest.approx(-1.39 - 48 / fit.scale)     # nothing left over


def test_value_labels(classic):
    assert nl.value_label_nodes(classic) == list(range(8))
    assert nl.value_label_nodes(nl.make_layout((2, 13, 1))) == [0, 1, 15]
    assert nl.value_label_position(classic, 3) == pytest.approx((3.24, -0.39))
    # free pixels under a neuron: (1 − 0.6·2.3/2)·scale = 0.31·scale; 12 needed
    assert nl.value_label_visible(classic, 3, 40)           # 12.4 px
    assert not nl.value_label_visible(classic, 3, 38)       # 11.8 px
    assert nl.value_label_visible(nl.make_layout((2, 1)), 2, 1)   # a lone neuron: always


def test_phase_band(classic):
    assert nl.phase_band(classic, 1) == pytest.approx((3.24 - 0.972, -1.39, 1.944, 2.78))
    assert nl.phase_band(classic, -1) == pytest.approx((-0.972, -1.39, 6.48 + 1.944, 2.78))


# -- hit testing -------------------------------------------------------------------------------

def test_segment_distances():
    seg = np.array([[0, 1], [0, 1], [4, 1], [0, 1]], float)   # (0,0)→(4,0) and a point (1,1)
    np.testing.assert_allclose(nl.segment_distances(2, 3, seg), [3, np.hypot(1, 2)])
    np.testing.assert_allclose(nl.segment_distances(-3, 4, seg), [5, np.hypot(4, 3)])
    np.testing.assert_allclose(nl.segment_distances(7, 4, seg), [5, np.hypot(6, 3)])


def test_hit_neurons(classic):
    every = nl.DrawnEdges.every(classic)
    assert nl.hit_test(classic, every, 3.24, 0.0, 0.01) == ("neuron", 1, 1)
    # within the radius 0.3 plus a pixel
    assert nl.hit_test(classic, every, 3.24, 1.305, 0.01) == ("neuron", 1, 0)
    assert nl.hit_test(classic, every, 3.24, 1.315, 0.01) is None
    # a tiny neuron (0.2 units a pixel) is hit within HIT_PIXELS = 4 pixels
    assert nl.hit_test(classic, every, 0.0, 0.5 + 0.79, 0.2) == ("neuron", 0, 0)


def test_hit_edges(classic):
    """Edge (0, 0, 0) runs from (0, 0.5) to (3.24, 1); its neighbours are 0.4 units away or more
    at its middle. With 0.01 units a pixel it is hit within 0.04 units."""
    every = nl.DrawnEdges.every(classic)
    mid = np.array([1.62, 0.75])
    normal = np.array([-0.5, 3.24]) / np.hypot(0.5, 3.24)
    assert nl.hit_test(classic, every, *mid, 0.01) == ("edge", 0, 0, 0)
    assert nl.hit_test(classic, every, *(mid + 0.039 * normal), 0.01) == ("edge", 0, 0, 0)
    assert nl.hit_test(classic, every, *(mid - 0.041 * normal), 0.01) is None
    assert nl.hit_test(classic, nl.DrawnEdges.none(), *mid, 0.01) is None   # not drawn
    # a quarter along hidden 2 → output 1 (flat 2·3 + 1 = 7 in weights[1])
    assert nl.hit_test(classic, every, 4.05, -0.75, 0.01) == ("edge", 1, 2, 1)


def test_edge_point():
    """A lone edge (1-1 network, columns 2.88 apart): no other edge, so the first candidate,
    15% along it."""
    lay = nl.make_layout((1, 1))
    assert lay.xs.tolist() == pytest.approx([0, 2.88])
    assert nl.edge_point(lay, nl.DrawnEdges.every(lay), 0, 0, 0) == pytest.approx((0.432, 0))


def test_edge_point_finds_its_own_edge(classic):
    every = nl.DrawnEdges.every(classic)
    for wi in range(2):
        for i in range(classic.sizes[wi]):
            for j in range(classic.sizes[wi + 1]):
                x, y = nl.edge_point(classic, every, wi, i, j)
                assert nl.hit_test(classic, every, x, y, 0.01) == ("edge", wi, i, j)


# -- which edges are drawn ---------------------------------------------------------------------

def test_edge_budget_fills_small_layers_first():
    assert nl.edge_budget([6, 100, 50], 60) == [6, 27, 27]
    assert nl.edge_budget([128, 4096, 4096, 128], 2000) == [128, 872, 872, 128]
    assert nl.edge_budget([5, 5], 100) == [5, 5]


def test_edge_plan():
    assert nl.edge_plan((2, 3, 3)) == nl.EdgePlan(wide=True, raster=False, budget=[6, 9])
    big = (2, 64, 64, 64, 2)                                   # 8,448 edges
    assert nl.edge_plan(big) == nl.EdgePlan(False, True, [128, 4096, 4096, 128])
    assert nl.edge_plan(big, raster_limit=4000) == nl.EdgePlan(False, False,
                                                               [128, 872, 872, 128])


def test_strongest_edges():
    lay = nl.make_layout((2, 2, 1))
    w0 = np.array([[0.1, -0.5], [np.nan, 0.3]])                 # NaN counts as the weakest
    w1 = np.array([[2.0], [-0.05]])
    drawn, val = nl.strongest_edges(lay, [w0, w1], [2, 1], forced={(1, 1, 0)})
    got = {(int(w), int(f)): v for w, f, v in zip(drawn.wi, drawn.flat, val)}
    assert got == {(0, 1): -0.5, (0, 3): 0.3, (1, 0): 2.0, (1, 1): -0.05}
    for k in range(drawn.size):
        wi, flat = drawn.wi[k], drawn.flat[k]
        np.testing.assert_array_equal(drawn.seg[:, k], lay.segments[wi][:, flat])
    assert sorted(drawn.layout_index(lay).tolist()) == [1, 3, 4, 5]


# -- editing a weight --------------------------------------------------------------------------

def test_drag_moves_a_weight_a_hundredth_of_max_1_w_per_pixel():
    assert nl.dragged_weight(0.5, 40) == pytest.approx(0.9)          # 0.01 a pixel
    assert nl.dragged_weight(-3.0, -10) == pytest.approx(-3.3)       # 0.03 a pixel
    assert nl.dragged_weight(-3.0, -10, fine=True) == pytest.approx(-3.03)
    assert nl.dragged_weight(float("nan"), 20) == pytest.approx(0.2)   # starts from 0
    assert nl.dragged_weight(float("inf"), -20) == pytest.approx(-0.2)
    assert nl.dragged_weight(2.0, 0) == 2.0


def test_slider_range_and_positions():
    assert [nl.slider_scale(w) for w in (0.3, 0.8, -3.0, 30.0, float("nan"))] == \
        [1, 2, 10, 100, 1]
    assert nl.slider_position(0.5, 2) == 250          # a quarter of ±2
    assert nl.slider_position(-5, 2) == -1000                         # clipped to the end
    assert nl.slider_position(float("nan"), 2) == 0
    assert nl.slider_value(500, 2) == 1.0
    assert nl.nice_ceiling(0.031) == pytest.approx(0.05) and nl.nice_ceiling(2) == 2


# -- values to colours -------------------------------------------------------------------------

def test_edge_bins_by_hand():
    """|x| max 1 over 3 decades: u = log10(1 + |x|/0.001)/log10(1001). 0.001 → 0.100 (bin 0),
    0.01 → 0.347 (bin 2), 0.1 → 0.668 (bin 4), 1 → 1 (bin 5, the last)."""
    x = np.array([1.0, -1.0, 0.0, np.nan, np.inf, 0.001, -0.01, 0.1, -np.inf])
    bins = nl.edge_bins(x, 1.0)
    assert bins.dtype == np.uint8
    assert [nl.BIN_KEYS[b] for b in bins] == [(1, 5), (-1, 5), (0, 0), (0, 0), (1, 5), (1, 0),
                                             (-1, 2), (1, 4), (-1, 5)]


def test_bin_styles():
    rgb, width = nl.bin_styles(wide=True)
    strongest_pos = nl.BIN_KEYS.index((1, 5))
    faint_neg = nl.BIN_KEYS.index((-1, 0))
    assert tuple(rgb[strongest_pos]) == style.POSITIVE and width[strongest_pos] == 4
    # 35% of the way from white to orange (234, 88, 12)
    assert tuple(rgb[faint_neg]) == (248, 197, 170) and width[faint_neg] == 1
    assert tuple(rgb[0]) == nl.NEUTRAL_EDGE
    rgb, width = nl.bin_styles(wide=False)
    assert tuple(rgb[strongest_pos]) == (70, 122, 238)           # 85% of the way to blue
    assert (width == 1).all()


def test_node_values_and_fill():
    snap = SimpleNamespace(delta_mean=(np.array([1.0, -1.0, 0.0, np.nan]),),
                           activation_mean=(np.array([0.2]), np.array([0.001, 0, 0, 0])))
    per_layer = nl.node_values(snap, (1, 4), "delta")
    assert per_layer[0] is None                                  # the input has no δ
    index, vmax = nl.node_fill(per_layer, (1, 4), 254)
    assert vmax == 1.0
    assert index.tolist() == [127, 254, 0, 127, 127]
    act = nl.node_values(snap, (1, 4), "activation")
    index, vmax = nl.node_fill(act, (1, 4), 254)
    # 0.2 is the largest; 0.001 → u = log10(1 + 0.001/0.0002)/log10(1001) = 0.2593
    assert vmax == 0.2 and index.tolist() == [254, 160, 127, 127, 127]
    wrong = SimpleNamespace(delta_mean=(np.zeros(3),), activation_mean=())
    assert nl.node_values(wrong, (1, 4), "delta") == [None, None]


def test_map_levels():
    clean, lo, hi = nl.map_levels(np.array([[0.2, np.nan], [np.inf, -np.inf]]), "sigmoid")
    assert (lo, hi) == (0, 1) and clean.dtype == np.float32
    np.testing.assert_allclose(clean, [[0.2, 0.5], [1, 0]])
    clean, lo, hi = nl.map_levels(np.array([[-2, 0.5], [np.nan, np.inf]]), "tanh")
    assert (lo, hi) == (-2, 2)
    np.testing.assert_allclose(clean, [[-2, 0.5], [0, 2]])
    _, lo, hi = nl.map_levels(np.array([1e40, -3.0]), "relu")
    assert (lo, hi) == (-1e30, 1e30)
