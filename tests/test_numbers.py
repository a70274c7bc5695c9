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


# -- the panels write numbers with it ---------------------------------------------------------------

TRICKY = [-1.234e-4, -0.0001234, 12346.0, float("nan"), float("inf"), float("-inf"), -0.684, 0.0]


def test_every_panel_formatter_is_the_one_format():
    """The diagram's, the inspector's, the graph's, the lessons' and the status bar's formatters
    write the same number the same way (the status bar's loss with five digits)."""
    from bpviz import lessons
    from bpviz.engine import graph, inspect
    from bpviz.ui.plotting import style
    for x in TRICKY:
        same = {style.format_value(x), style.format_known(x), inspect.fmt(x), graph.fmt(x),
                lessons.fmt(x), fmt(x)}
        assert len(same) == 1, (x, same)
        assert style.format_loss(x) == fmt(x, 5)
    assert lessons.fmt(-0.0001234) == "−1.234e−4" and "-" not in lessons.fmt_vector([-1, -2e-5])


def test_a_tiny_delta_among_deltas_of_order_0_1_reads_zero_with_the_exact_value_on_hover(
        qtbot, make_snap):
    import dataclasses

    from PySide6.QtWidgets import QApplication

    from bpviz.ui.network.view import NetworkView

    snap = make_snap("gaussian-clouds", passes=3)
    hidden = np.array([0.1, -0.25, 1.92e-166])                 # hidden neuron 2: δ = 1.92e−166
    out = np.array([0.3, -0.12, 0.05])
    snap = dataclasses.replace(snap, delta_mean=(hidden, out))
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_node_mode("delta")
    view.show_snapshot(snap)
    QApplication.processEvents()
    labels = view.value_label_texts()
    assert labels[(1, 2)] == "0"                                # not "1.92e−166"
    assert labels[(1, 0)] == "0.1" and labels[(1, 1)] == "−0.25" and labels[(2, 1)] == "−0.12"
    tips = {key: item.toolTip() for key, item in view.value_label_items().items()}
    assert tips[(1, 2)] == "1.92e−166"                          # the exact value on hover
    assert float(tips[(1, 2)].replace("−", "-")) == 1.92e-166
    assert tips[(1, 1)] == "−0.25"
    view.hover_at(view.neuron_pos(1, 2))
    assert "mean δ = 1.92e−166" in view.hover_text()           # the hover card: the value itself


def test_the_graph_panel_a_lesson_and_the_status_bar_write_the_same_number_the_same_way(
        qtbot, open_window):
    """The pinned sample's z of hidden neuron 1 #0 as the Graph panel shows it and as a lesson's
    {z} writes it; the loss in the status bar and in a lesson's {loss}: one format."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabBar

    from bpviz.lessons import Context, quantities

    w = open_window()
    tabs = next(bar for bar in w.findChildren(QTabBar)
                if any(bar.tabText(i) == "Graph" for i in range(bar.count())))
    i = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Graph")
    qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(i).center())
    g = w.graph_view
    qtbot.waitUntil(lambda: g.graph is not None and g.selected_neuron() == (1, 0), timeout=5000)
    g.run_all()
    snap = w.latest
    z = (snap.sample.x @ np.asarray(snap.trace_weights[0]) + np.asarray(snap.trace_biases[0]))[0]
    q = quantities(Context(snap, selected=(1, 0)))
    assert g.node_texts("z1_0")[0] == f"= {fmt(z)}" == f"= {q['z']}"
    assert q["loss"] == fmt(snap.loss)
    assert w.status_labels["loss"].text() == f"training loss now {fmt(snap.train_loss_now, 5)}"
    for text in (g.node_texts("z1_0")[0], q["z"], w.status_labels["loss"].text()):
        assert "-" not in text and "nan" not in text.lower() and "e+" not in text
