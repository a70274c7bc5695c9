"""The network diagram panel, fed snapshots directly (no thread): what is drawn equals the snapshot,
hover cards show the right numbers, mouse clicks and drags emit the right signals, large networks
draw every edge up to ``RASTER_EDGE_LIMIT`` (as an image equal to drawing the lines) and stay
within the edge cap beyond it, NaN and inf never raise."""

import dataclasses
import os
import sys
import threading

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QSlider

from bpviz.ui.network import view as network_view
from bpviz.ui.plotting import style
from bpviz.ui.plotting.qt import BACKGROUND_NICE
from bpviz.ui.network.view import EDGE_CAP, MAG_BINS, OVERLAYS, NetworkView

fv = style.format_value


@pytest.fixture
def view(qtbot):
    v = NetworkView()
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.fixture
def classic(make_snap):
    return make_snap("gaussian-clouds", passes=3)


def shown(view, snap):
    view.show_snapshot(snap)
    QApplication.processEvents()
    return snap


def drawn_bins(view, snap):
    """{(wi, i, j): (sign, k)} decoded from the coordinates the edge curves actually hold."""
    by_ends = {}
    for wi in range(len(snap.weights)):
        n_in, n_out = snap.weights[wi].shape
        for i in range(n_in):
            for j in range(n_out):
                a, b = view.neuron_pos(wi, i), view.neuron_pos(wi + 1, j)
                key = tuple(np.round([a.x(), a.y(), b.x(), b.y()], 6))
                by_ends[key] = (wi, i, j)
    out = {}
    for bin_key, curve in view.edge_items().items():
        x, y = curve.getData()
        if x is None:
            continue
        for x0, y0, x1, y1 in zip(x[0::2], y[0::2], x[1::2], y[1::2]):
            edge = by_ends[tuple(np.round([x0, y0, x1, y1], 6))]
            assert edge not in out, "an edge is drawn twice"
            out[edge] = bin_key
    return out


def value(arrays, edge):
    wi, i, j = edge
    return float(arrays[wi][i, j])


def vp(view, view_pt):
    return view.viewport_point(view_pt)


def send_mouse(widget, kind, pos, buttons):
    """A raw mouse event, so that every move carries the pressed button explicitly."""
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    global_pos = widget.mapToGlobal(pos)
    ev = QMouseEvent(kind, QPointF(pos), QPointF(global_pos), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def drag(qtbot, view, start: QPoint, dy: int, steps: int = 6):
    """Press at ``start``, move vertically by ``dy`` pixels in steps, release."""
    target = view.mouse_target()
    left = Qt.MouseButton.LeftButton
    # pyqtgraph drops moves that follow the last one within 1/mouseRateLimit seconds; switched
    # off, every move of the drag arrives without waiting between them
    rate_limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", 0)
    try:
        send_mouse(target, QEvent.Type.MouseButtonPress, start, left)
        for k in range(1, steps + 1):
            send_mouse(target, QEvent.Type.MouseMove, start + QPoint(0, round(dy * k / steps)),
                       left)
        send_mouse(target, QEvent.Type.MouseButtonRelease, start + QPoint(0, dy),
                   Qt.MouseButton.NoButton)
    finally:
        pg.setConfigOption("mouseRateLimit", rate_limit)


# -- edges ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_edge_bins_equal_snapshot_values(view, classic, overlay):
    view.set_overlay(overlay)
    shown(view, classic)
    assert view.overlay() == overlay
    values = getattr(classic, OVERLAYS[overlay][1])
    bins = drawn_bins(view, classic)
    edges = [(wi, i, j) for wi, W in enumerate(values) for i in range(W.shape[0])
             for j in range(W.shape[1])]
    assert sorted(bins) == edges                         # 2-3-3: every edge drawn, once
    for e in edges:
        v = value(values, e)
        assert bins[e][0] == int(np.sign(v)), (e, v, bins[e])
    strongest = max(edges, key=lambda e: abs(value(values, e)))
    assert bins[strongest][1] == MAG_BINS - 1
    # the magnitude bin never decreases with |value|
    ordered = sorted(edges, key=lambda e: abs(value(values, e)))
    ks = [bins[e][1] for e in ordered if bins[e][0] != 0]
    assert ks == sorted(ks)


def test_switching_overlay_redraws_edges(view, classic):
    shown(view, classic)
    weight_bins = drawn_bins(view, classic)
    view.set_overlay("gradient")
    grad_bins = drawn_bins(view, classic)
    assert weight_bins != grad_bins
    for e, (sign, _) in grad_bins.items():
        assert sign == int(np.sign(value(classic.grad_weights, e)))
    with pytest.raises(ValueError):
        view.set_overlay("nonsense")


def test_before_any_pass_gradients_are_neutral(view, make_snap):
    snap = shown(view, make_snap("gaussian-clouds", passes=0))
    view.set_overlay("gradient")
    assert set(drawn_bins(view, snap).values()) == {(0, 0)}


# -- neurons ----------------------------------------------------------------------------------

def test_neuron_fill_follows_delta_sign(view, classic):
    shown(view, classic)
    assert view.node_mode() == "delta"
    for layer in range(1, len(classic.sizes)):
        for i, d in enumerate(classic.delta_mean[layer - 1]):
            c = view.neuron_brush(layer, i)
            if d > 0:
                assert c.blue() > c.red(), (layer, i, d)
            elif d < 0:
                assert c.red() > c.blue(), (layer, i, d)
    for i in range(classic.sizes[0]):                    # inputs have no δ: neutral
        c = view.neuron_brush(0, i)
        assert (c.red(), c.green(), c.blue()) == style.NEUTRAL

    view.set_node_mode("activation")
    for layer, means in enumerate(classic.activation_mean):
        for i, a in enumerate(means):
            c = view.neuron_brush(layer, i)
            assert (c.blue() > c.red()) == (a > 0), (layer, i, a)


def test_neuron_maps_use_fixed_levels(view, classic):
    shown(view, classic)
    images = view.neuron_map_items()
    assert len(images) == sum(classic.sizes)
    hidden = images[classic.sizes[0]]                    # layer 1, sigmoid
    assert tuple(hidden.getLevels()) == (0.0, 1.0)
    assert hidden.image.dtype == np.float32
    np.testing.assert_allclose(hidden.image, classic.neuron_maps[1][0], rtol=1e-6)
    lo, hi = images[0].getLevels()                       # input x: symmetric
    assert lo == -hi and hi > 0


# -- hover ------------------------------------------------------------------------------------

def test_hover_neuron_card_shows_its_numbers(view, classic):
    shown(view, classic)
    view.hover_at(view.neuron_pos(1, 2))
    text = view.hover_text()
    assert "hidden 1 · neuron 2" in text and "sigmoid" in text
    assert f"mean δ = {fv(classic.delta_mean[0][2])}" in text
    assert f"mean |δ| = {fv(classic.delta_abs_mean[0][2])}" in text
    assert f"mean a = {fv(classic.activation_mean[1][2])}" in text
    view.hover_at(QPointF(-100, -100))
    assert view.hover_text() == ""


def test_hover_edge_card_by_real_mouse_move(view, qtbot, classic):
    shown(view, classic)
    edge = (1, 2, 0)
    qtbot.mouseMove(view.mouse_target(), vp(view, view.edge_pos(*edge)))
    qtbot.waitUntil(lambda: view.hover_text() != "", timeout=1000)
    text = view.hover_text()
    assert "W[2][2, 0]" in text
    for label, arrays in (("weight w", classic.trace_weights),      # the weight the pass used
                          ("weight now w + Δw", classic.weights),
                          ("gradient ∂L/∂w", classic.grad_weights),
                          ("error signal w·δ", classic.edge_signals),
                          ("update Δw", classic.update_weights)):
        assert f"{label} = {fv(value(arrays, edge))}" in text


# -- clicks and drags -------------------------------------------------------------------------

def test_click_neuron_selects_it(view, qtbot, classic):
    shown(view, classic)
    with qtbot.waitSignal(view.neuronSelected, timeout=1000) as sig:
        qtbot.mouseClick(view.mouse_target(), Qt.MouseButton.LeftButton,
                         pos=vp(view, view.neuron_pos(2, 1)))
    assert sig.args == [2, 1]
    assert view.selected_neuron() == (2, 1)


def test_click_two_edges_chooses_surface_axes(view, qtbot, classic):
    shown(view, classic)
    left = Qt.MouseButton.LeftButton
    target = view.mouse_target()
    qtbot.mouseClick(target, left, pos=vp(view, view.edge_pos(0, 0, 1)))
    assert view.chosen_edges() == [("W", 0, 0, 1)]
    a, b = view.neuron_pos(0, 0), view.neuron_pos(0, 1)
    empty = (a + b) / 2                               # between the two input neurons
    assert view.hit_test(empty) is None
    qtbot.mouseClick(target, left, pos=vp(view, empty))
    assert view.chosen_edges() == []

    qtbot.mouseClick(target, left, pos=vp(view, view.edge_pos(0, 0, 1)))
    with qtbot.waitSignal(view.surfaceAxesChosen, timeout=1000) as sig:
        qtbot.mouseClick(target, left, pos=vp(view, view.edge_pos(1, 2, 0)))
    assert sig.args == [[("W", 0, 0, 1), ("W", 1, 2, 0)]]
    assert view.chosen_edges() == [("W", 0, 0, 1), ("W", 1, 2, 0)]


def test_drag_edge_edits_its_weight(view, qtbot, classic):
    shown(view, classic)
    edge = (1, 2, 0)
    w0 = value(classic.weights, edge)
    edits = []
    view.parametersEdited.connect(edits.append)
    drag(qtbot, view, vp(view, view.edge_pos(*edge)), dy=-40)            # upwards
    assert edits, "no edit emitted"
    assert all(len(e) == 1 and e[0][:4] == ("W", *edge) for e in edits)
    assert edits[-1][0][4] > w0
    assert view.chosen_edges() == []                  # a drag is not an edge choice
    assert view.focused_edge() == ("W", *edge)

    edits.clear()
    drag(qtbot, view, vp(view, view.edge_pos(*edge)), dy=30)             # downwards
    assert edits[-1][0][4] < w0
    assert np.isclose(edits[-1][0][4], w0 - 30 * 0.01 * max(1.0, abs(w0)))


def test_plain_click_on_edge_is_not_an_edit(view, qtbot, classic):
    shown(view, classic)
    edits = []
    view.parametersEdited.connect(edits.append)
    qtbot.mouseClick(view.mouse_target(), Qt.MouseButton.LeftButton,
                     pos=vp(view, view.edge_pos(0, 1, 2)))
    assert view.focused_edge() == ("W", 0, 1, 2)
    assert edits == []
    assert not view.edit_held_back()                  # and none held back to come later


def test_spinbox_emits_exact_values(view, qtbot, classic):
    shown(view, classic)
    spin = view.findChild(QDoubleSpinBox)
    assert not spin.isEnabled()                       # nothing focused yet
    qtbot.mouseClick(view.mouse_target(), Qt.MouseButton.LeftButton,
                     pos=vp(view, view.edge_pos(0, 1, 2)))
    assert spin.isEnabled()
    assert spin.value() == pytest.approx(value(classic.weights, (0, 1, 2)), abs=1e-5)
    with qtbot.waitSignal(view.parametersEdited, timeout=1000) as sig:
        spin.lineEdit().selectAll()
        qtbot.keyClicks(spin.lineEdit(), "0.12345")
        qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert sig.args == [[("W", 0, 1, 2, 0.12345)]]


def slider_for_edge(view, qtbot, classic):
    """Click edge (0, 1, 2) into the edit strip: its slider and the range ±span it covers."""
    shown(view, classic)
    qtbot.mouseClick(view.mouse_target(), Qt.MouseButton.LeftButton,
                     pos=vp(view, view.edge_pos(0, 1, 2)))
    w = value(classic.weights, (0, 1, 2))
    return view.findChild(QSlider), next(m for m in (1, 2, 5, 10, 20, 50)
                                         if m >= max(1.0, 2 * abs(w)))


def test_slider_emits_values_in_its_range(view, qtbot, classic):
    slider, span = slider_for_edge(view, qtbot, classic)
    with qtbot.waitSignal(view.parametersEdited, timeout=1000) as sig:
        slider.setValue(slider.maximum() // 2)
    assert sig.args[0][0][:4] == ("W", 0, 1, 2)
    assert sig.args[0][0][4] == pytest.approx(span / 2)


def test_slider_edits_are_rate_limited_and_end_on_the_last_value(view, qtbot, classic):
    slider, span = slider_for_edge(view, qtbot, classic)
    edits = []
    view.parametersEdited.connect(edits.append)
    slider.setFocus()
    start = slider.value()
    for _ in range(12):                               # twelve page steps in a burst
        qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    final = (start + 12 * slider.pageStep()) / 1000 * span
    qtbot.waitUntil(lambda: bool(edits) and edits[-1][0][4] == pytest.approx(final),
                    timeout=2000)
    assert len(edits) < 12                            # held back, not one per step
    assert all(e[0][:4] == ("W", 0, 1, 2) for e in edits)


# -- sizes and robustness ---------------------------------------------------------------------

def test_large_network_draws_the_strongest_edges_within_the_cap(view, qtbot, make_snap,
                                                                monkeypatch):
    monkeypatch.setattr(network_view, "RASTER_EDGE_LIMIT", 4000)    # 8,448 edges: over it
    snap = shown(view, make_snap("spiral", passes=1, hidden=(64, 64, 64)))
    assert snap.sizes == (2, 64, 64, 64, 2)
    bins = drawn_bins(view, snap)
    assert len(bins) <= EDGE_CAP
    for wi, W in enumerate(snap.weights):
        i, j = np.unravel_index(np.argmax(np.abs(W)), W.shape)
        assert (wi, i, j) in bins                    # each layer's strongest edge is drawn
        if W.size <= 128:
            assert sum(1 for e in bins if e[0] == wi) == W.size
    kept = min(abs(value(snap.weights, e)) for e in bins if e[0] == 1)
    dropped = [abs(v) for (i, j), v in np.ndenumerate(snap.weights[1]) if (1, i, j) not in bins]
    assert max(dropped) <= kept                       # top-k by |w|

    # a chosen edge stays drawn even when it becomes the weakest
    left = Qt.MouseButton.LeftButton
    edge = (1, *np.unravel_index(np.argmax(np.abs(snap.weights[1])), (64, 64)))
    qtbot.mouseClick(view.mouse_target(), left, pos=vp(view, view.edge_pos(*edge)))
    assert view.chosen_edges() == [("W", *map(int, edge))]
    weights = [np.array(W) for W in snap.weights]
    weights[1][edge[1:]] = 0.0
    weak = shown(view, dataclasses.replace(snap, weights=tuple(weights)))
    assert tuple(map(int, edge)) in drawn_bins(view, weak)


def grab(view) -> np.ndarray:
    image = view.mouse_target().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    bits = np.frombuffer(image.constBits(), np.uint32)
    return bits.reshape(image.height(), image.bytesPerLine() // 4)[:, :image.width()].copy()


def test_a_network_within_the_raster_limit_draws_every_edge_as_an_image(view, qtbot, make_snap):
    snap = shown(view, make_snap("spiral", passes=2, hidden=(64, 64, 64)))
    bins = drawn_bins(view, snap)
    assert len(bins) == sum(W.size for W in snap.weights) == 8448
    qtbot.waitUntil(lambda: (view.mouse_target().repaint(), view.edges_rastered())[1],
                    timeout=10000)
    assert view.raster_plan_ms() > 0
    # a new frame (other values, other bins) is rendered on the render thread straight away
    view.set_overlay("gradient")
    assert view.edge_layer().rendering()
    rastered = grab(view)                     # the paint waits for that image
    assert not view.edge_layer().rendering() and view.edges_rastered()
    # the same frame drawn with one drawLines per bin
    view.edge_layer().set_raster(None)
    view.mouse_target().repaint()
    assert not view.edges_rastered()
    lines = grab(view)
    background = int(rastered[2, 2])
    assert background == int(lines[2, 2])

    def matched(a, b):
        """Share of a's edge pixels with a pixel of the same colour in b within one pixel."""
        drawn = a != background
        hit = np.zeros_like(drawn)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                hit |= np.roll(np.roll(b, dy, 0), dx, 1) == a
        return (hit & drawn).sum() / drawn.sum()

    def commonest(a):
        colours, counts = np.unique(a, return_counts=True)
        return colours[np.argmax(counts)]

    assert not np.array_equal(rastered, lines)          # two ways of drawing were compared
    assert (lines != background).sum() > 50000
    assert abs((rastered != background).sum() / (lines != background).sum() - 1) < 0.05
    assert matched(rastered, lines) > 0.97
    assert matched(lines, rastered) > 0.97
    # the strongest bins lie on top in both: the commonest colour in the dense middle agrees
    h, w = lines.shape
    middle = np.s_[h // 3: 2 * h // 3, w // 3: 2 * w // 3]
    assert commonest(rastered[middle]) == commonest(lines[middle]) != background


def test_a_frame_changing_a_few_edges_redraws_only_their_pixels(view, qtbot, make_snap):
    snap = shown(view, make_snap("spiral", passes=2, hidden=(64, 64, 64)))
    qtbot.waitUntil(lambda: (view.mouse_target().repaint(), view.edges_rastered())[1],
                    timeout=10000)
    before = grab(view)
    weights = [np.array(W) for W in snap.weights]
    edges = view.edge_layer()
    plan = edges.plan()
    order = np.argsort(np.abs(weights[1]).ravel())               # weakest first: the |w| max stays
    for frame in range(5):                                       # frame after frame, a few edges
        flat = weights[1].ravel()
        up, down = order[6 * frame: 6 * frame + 3], order[-6 * frame - 4: -6 * frame - 1]
        flat[up] = -np.sign(flat[up]) * np.abs(flat).max() / 3   # stronger, other sign
        flat[down] *= 1e-4                                       # much weaker
        shown(view, dataclasses.replace(snap, weights=tuple(np.array(W) for W in weights)))
        assert not edges.rendering()                  # rendered on the GUI thread, at once
        assert 0 < plan.last_render_pixels < plan.pixels.size / 10
    changed = grab(view)
    assert view.edges_rastered() and (changed != before).sum() > 50
    # the same frame rendered in full, from no previous image
    edges.render_anew()
    view.mouse_target().repaint()
    assert plan.last_render_pixels == plan.pixels.size
    np.testing.assert_array_equal(grab(view), changed)


def test_stop_ends_the_plan_and_render_threads(view, qtbot, make_snap):
    shown(view, make_snap("spiral", passes=1, hidden=(64, 64, 64)))
    view.mouse_target().repaint()           # asks for a plan
    assert any(t.name.startswith("bpviz-edge-plan") for t in threading.enumerate())
    plan_thread = next(t for t in threading.enumerate() if t.name.startswith("bpviz-edge-plan"))
    qtbot.waitUntil(lambda: (view.mouse_target().repaint(), view.edges_rastered())[1],
                    timeout=10000)
    if sys.platform.startswith("linux"):        # built below the GUI thread's priority
        gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert os.getpriority(os.PRIO_PROCESS, plan_thread.native_id) == \
            min(19, gui + BACKGROUND_NICE)
    view.set_overlay("gradient")            # a frame rendered on the render thread
    assert any(t.name.startswith("bpviz-edge-render") for t in threading.enumerate())
    view.stop()
    assert not any(t.name.startswith("bpviz-edge-") for t in threading.enumerate())
    view.mouse_target().repaint()           # the plan in place still serves
    assert view.edges_rastered()
    view.resize(700, 500)                   # a new transform: drawLines, and no new thread
    QApplication.processEvents()
    view.mouse_target().repaint()
    assert not view.edges_rastered()
    assert not any(t.name.startswith("bpviz-edge-plan") for t in threading.enumerate())


def test_layer_labels_shorten_rather_than_overlap(view, qtbot, make_snap, classic):
    def label_rects():
        return [label.sceneBoundingRect() for label in view.layer_label_items()]

    shown(view, classic)                                      # 900 px wide: room to spare
    assert view.layer_label_texts() == ["input 2 neurons", "hidden 1 (sigmoid) 3 neurons",
                                        "output (softmax) 3 neurons"]
    big = make_snap("spiral", passes=1, hidden=(64, 64, 64))
    view.resize(360, 500)                                     # a narrow dock
    shown(view, big)
    qtbot.waitUntil(lambda: view.layer_label_texts()[0] == "in 2", timeout=2000)
    assert view.layer_label_texts() == ["in 2", "h1 64", "h2 64", "h3 64", "out 2"]
    rects = label_rects()
    assert all(a.right() < b.left() for a, b in zip(rects, rects[1:]))
    view.resize(1400, 600)                                    # wide again: full labels
    qtbot.waitUntil(lambda: view.layer_label_texts()[0] == "input 2 neurons", timeout=2000)
    assert view.layer_label_texts()[1] == "hidden 1 (tanh) 64 neurons"
    # placed at the new scale once the view box applies its range (on its next paint)
    qtbot.waitUntil(lambda: all(a.right() < b.left()
                                for a, b in zip(label_rects(), label_rects()[1:])), timeout=2000)


def test_nan_and_inf_never_raise(view, classic):
    def poison(arrays):
        out = [np.array(a, dtype=float) for a in arrays]
        out[0].flat[0] = np.nan
        out[-1].flat[-1] = np.inf
        if out[-1].size > 1:
            out[-1].flat[0] = -np.inf
        return tuple(out)

    fields = ["weights", "trace_weights", "grad_weights", "edge_signals", "update_weights",
              "delta_mean", "delta_abs_mean", "activation_mean", "neuron_maps"]
    bad = dataclasses.replace(classic, **{f: poison(getattr(classic, f)) for f in fields})
    shown(view, bad)
    for overlay in OVERLAYS:
        view.set_overlay(overlay)
        for mode in ("delta", "activation"):
            view.set_node_mode(mode)
            view.grab()
    view.set_overlay("weight")
    bins = drawn_bins(view, bad)
    assert bins[(0, 0, 0)] == (0, 0)                  # NaN: neutral
    assert bins[(1, 2, 2)] == (1, MAG_BINS - 1)       # +inf: strongest positive
    view.hover_at(view.edge_pos(0, 0, 0))
    assert "weight w = —" in view.hover_text()               # NaN: one way, "—"
    view.hover_at(view.neuron_pos(1, 0))
    assert "mean δ = —" in view.hover_text()


@pytest.mark.parametrize("preset, sizes", [("sine", (1, 12, 1)), ("iris", (4, 5, 3))])
def test_other_architectures(view, make_snap, preset, sizes):
    snap = shown(view, make_snap(preset, passes=2))
    assert snap.sizes == sizes
    assert view.neuron_map_items() == []              # no 2-D input plane
    assert len(drawn_bins(view, snap)) == sum(W.size for W in snap.weights)
    view.hover_at(view.neuron_pos(len(sizes) - 1, 0))
    assert "output · neuron 0" in view.hover_text()
    view.grab()


def test_select_neuron_before_and_after_the_first_snapshot(view, qtbot, classic):
    with qtbot.waitSignal(view.neuronSelected, timeout=1000) as sig:
        view.select_neuron(1, 2)                      # no snapshot yet: kept
    assert sig.args == [1, 2]
    shown(view, classic)
    assert view.selected_neuron() == (1, 2)
    with qtbot.assertNotEmitted(view.neuronSelected):
        view.select_neuron(1, 2)                      # unchanged: no signal
    with pytest.raises(ValueError):
        view.select_neuron(1, 3)


def test_architecture_change_rebuilds_and_resets_choices(view, qtbot, classic, make_snap):
    shown(view, classic)
    view.select_neuron(2, 2)
    qtbot.mouseClick(view.mouse_target(), Qt.MouseButton.LeftButton,
                     pos=vp(view, view.edge_pos(0, 0, 1)))
    bigger = shown(view, make_snap("spiral", passes=1, hidden=(8, 8)))
    assert view.chosen_edges() == [] and view.focused_edge() is None
    assert view.selected_neuron() == (2, 2)           # still exists in 2-8-8-2
    assert len(drawn_bins(view, bigger)) == 2 * 8 + 8 * 8 + 8 * 2
    shown(view, make_snap("sine", passes=1))
    assert view.selected_neuron() is None            # 1-12-1 has no layer-2 neuron 2


def test_the_diagram_repaints_its_whole_view_at_once(qtbot):
    """Nearly every item changes with a snapshot; a minimal update of thousands of dirty
    rectangles is several times slower (see bpviz bench)."""
    from PySide6.QtWidgets import QGraphicsView

    from bpviz.ui.network.view import NetworkView
    view = NetworkView()
    qtbot.addWidget(view)
    assert (view.mouse_target().parent().viewportUpdateMode()
            == QGraphicsView.ViewportUpdateMode.FullViewportUpdate)


# -- a pass walked phase by phase, and no update yet ---------------------------------------------

@pytest.fixture
def phase_snap(make_run):
    """``phase_snap(k)`` → the classic run's snapshot at phase ``k`` of its first pass, made as
    the worker makes it (the trace with what is not computed yet set to NaN)."""
    from bpviz.engine.phases import partial_trace, phase_plan
    from bpviz.engine.snapshot import data_bounds, make_snapshot

    def make(k):
        _, ds, net, trainer = make_run()
        plan = phase_plan(net, len(trainer.X))
        trace = net.backprop(trainer.X, trainer.T)
        return make_snapshot(trainer, seq=k, running=False, trace=partial_trace(trace, plan[k]),
                             trace_weights=None, trace_biases=None,
                             bounds=data_bounds(ds.X_all), phase=plan[k])

    return make


def test_values_not_computed_yet_show_a_dash_never_nan(view, phase_snap):
    snap = shown(view, phase_snap(0))                   # forward through layer 1 of 2
    assert (snap.phase.kind, snap.phase.layer) == ("forward", 1)
    assert view.node_mode() == "activation"
    labels = view.value_label_texts()
    assert set(labels) == {(layer, i) for layer, n in enumerate(snap.sizes) for i in range(n)}
    for i in range(3):
        assert labels[(1, i)] == fv(float(snap.activation_mean[1][i]), 3)   # computed
        assert labels[(2, i)] == style.NOT_COMPUTED                         # not reached yet
    assert not any("nan" in text.lower() for text in labels.values())
    view.hover_at(view.neuron_pos(2, 0))
    assert "mean a = — (not computed yet)" in view.hover_text()
    assert "nan" not in view.hover_text().lower()
    assert "not computed yet" in view.legend_texts()[1]

    snap = shown(view, phase_snap(3))                   # output deltas: layer 1's δ not yet
    assert (snap.phase.kind, view.node_mode()) == ("output_delta", "delta")
    labels = view.value_label_texts()
    assert labels[(2, 0)] == fv(float(snap.delta_mean[1][0]), 3)
    assert [labels[(1, i)] for i in range(3)] == [style.NOT_COMPUTED] * 3
    view.set_overlay("update")                          # chosen by hand before the update phase
    edge_legend = view.legend_texts()[0]
    assert "Δw not computed yet" in edge_legend and "nan" not in edge_legend.lower()
    view.hover_at(view.edge_pos(1, 0, 0))
    assert "update Δw = — (not computed yet)" in view.hover_text()
    assert set(drawn_bins(view, snap).values()) == {(0, 0)}


def test_update_overlay_with_no_update_yet_says_so(view, make_run, classic):
    """After a weight set by hand, a reset or a session opened there is no last update: the
    snapshot says so and the diagram writes a note instead of a blank."""
    from bpviz.engine.snapshot import make_snapshot

    _, _, net, trainer = make_run()
    trainer.step()
    trainer.last_update = None                          # as the worker does after an edit
    snap = make_snapshot(trainer, seq=1, running=False,
                         trace=net.backprop(trainer.X, trainer.T), trace_weights=None,
                         trace_biases=None)
    assert not snap.has_update and classic.has_update
    view.set_overlay("update")
    shown(view, snap)
    edge_legend = view.legend_texts()[0]
    assert "no update yet — step or play to see Δw" in edge_legend
    assert set(drawn_bins(view, snap).values()) == {(0, 0)}         # every edge neutral
    view.hover_at(view.edge_pos(0, 1, 2))
    assert "update Δw = — (no update yet)" in view.hover_text()
    path = os.environ.get("BPVIZ_TEST_SHOTS")
    if path:
        view.grab().save(os.path.join(path, "network_no_update.png"))

    shown(view, classic)                                # a real update: the scale, no note
    edge_legend = view.legend_texts()[0]
    assert "no update yet" not in edge_legend and "|value| max" in edge_legend
    assert {sign for sign, _ in drawn_bins(view, classic).values()} == {-1, 1}
    view.hover_at(view.edge_pos(0, 1, 2))
    assert f"update Δw = {fv(float(classic.update_weights[0][1, 2]))}" in view.hover_text()


# -- exports: what the window shows, in PNG and SVG ---------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                          image.bytesPerLine() // 4, 4)
    return a[:, :image.width(), 2::-1].astype(int)          # BGRA in memory → RGB


def _label_rects(view):
    """Viewport pixel rectangles (x0, y0, x1, y1) of the value labels on screen."""
    from bpviz.ui.export.export import plot_view
    gv = plot_view(view)
    out = {}
    for key, item in view.value_label_items().items():
        if item.isVisible() and item.textItem.toPlainText():
            r = gv.mapFromScene(item.textItem.sceneBoundingRect()).boundingRect()
            out[key] = (r.left(), r.top(), r.right() + 1, r.bottom() + 1)
    return out


def _inherited(root, tag):
    """(element, fill it inherits) for every ``tag`` element under ``root``."""
    out = []

    def walk(elem, fill):
        for child in elem:
            f = child.get("fill", fill)
            if child.tag == SVG + tag:
                out.append((child, f))
            walk(child, f)

    walk(root, None)
    return out


def _hex(c) -> str:
    return f"#{c.red():02x}{c.green():02x}{c.blue():02x}"


@pytest.mark.parametrize("preset", ["gaussian-clouds", "iris"])
def test_svg_export_draws_neurons_as_circles_in_their_colours_with_the_labels(
        view, qtbot, make_snap, tmp_path, preset):
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET

    from bpviz.ui.export.export import plot_view, render_svg
    snap = shown(view, make_snap(preset, passes=3))
    gv = plot_view(view)
    path = tmp_path / "network.svg"
    path.write_bytes(render_svg(gv, "network"))
    root = ET.parse(path).getroot()

    # one circle per neuron, in pixels (no scaled-up cosmetic outline), filled as on screen
    circles = _inherited(root, "circle")
    assert len(circles) == sum(snap.sizes)
    assert not any(c.get("vector-effect") or c.get("transform") for c, _ in circles)
    by_centre = {(round(float(c.get("cx"))), round(float(c.get("cy")))): (c, fill)
                 for c, fill in circles}
    centres = {}
    for layer, n in enumerate(snap.sizes):
        for i in range(n):
            p = view.viewport_point(view.neuron_pos(layer, i))
            match = [v for (x, y), v in by_centre.items()
                     if abs(x - p.x()) <= 1 and abs(y - p.y()) <= 1]
            assert len(match) == 1, (layer, i)
            circle, fill = match[0]
            assert fill == _hex(view.neuron_brush(layer, i)), (layer, i)
            radius = float(circle.get("r"))
            assert 2 < radius < 100
            centres[(layer, i)] = (p.x(), p.y(), radius)

    # the numbers under the neurons, as text
    texts = {"".join(t.itertext()).strip() for t, _ in _inherited(root, "text")}
    labels = {k: t for k, t in view.value_label_texts().items() if t}
    assert labels and set(labels.values()) <= texts

    # a standard renderer draws each neuron in its colour (inside its circle, clear of the map)
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        pytest.skip("rsvg-convert (librsvg2-bin) is not installed")
    png = tmp_path / "network.png"
    subprocess.run([rsvg, str(path), "-o", str(png)], check=True, timeout=60)
    pixels = _rgb(QImage(str(png)))
    maps = bool(view.neuron_map_items())
    for (layer, i), (x, y, r) in centres.items():
        # the neuron maps cover ±0.32 diameters around the centre: look between map and rim
        py = round(y + 0.82 * r) if maps else round(y)
        got = pixels[py, round(x)]
        want = np.array(view.neuron_brush(layer, i).getRgb()[:3])
        assert np.abs(got - want).max() <= 8, ((layer, i), got, want)


def test_png_export_shows_the_numbers_under_the_neurons(view, classic):
    from bpviz.ui.export.export import plot_view, render_png
    shown(view, classic)
    gv = plot_view(view)
    rects = _label_rects(view)
    assert len(rects) == 6                               # hidden and output layers (δ mode)
    screen = _rgb(gv.viewport().grab().toImage())
    for scale in (1, 2):
        exported = _rgb(render_png(gv, scale))
        for key, (x0, y0, x1, y1) in rects.items():
            mine = exported[y0 * scale:y1 * scale, x0 * scale:x1 * scale]
            dark = (mine.max(axis=2) < 170).sum()         # the text's pixels
            assert dark >= 8 * scale * scale, (key, scale, dark)
            if scale == 1:
                on_screen = screen[y0:y1, x0:x1]
                assert (np.abs(mine - on_screen).max(axis=2) > 60).mean() < 0.02, key
