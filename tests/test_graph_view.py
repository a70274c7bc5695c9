"""The Graph panel driven through real input: its buttons, its keys, a click in the diagram."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

from bpviz.engine.graph import fmt
from bpviz.engine.network import Network

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def window(open_window):
    return open_window(size=(1500, 950))


def show_graph_tab(qtbot, w):
    """Click the "Graph" tab, as a person brings the panel forward."""
    tabs = next(bar for bar in w.findChildren(QTabBar)
                if any(bar.tabText(i) == "Graph" for i in range(bar.count())))
    i = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Graph")
    qtbot.mouseClick(tabs, LEFT, pos=tabs.tabRect(i).center())
    g = w.graph_view
    qtbot.waitUntil(lambda: in_view(w) and g.graph is not None, timeout=5000)
    return g


def in_view(w) -> bool:
    """Is the Graph panel on screen (not behind another tab)?"""
    return not w.docks["graph"].visibleRegion().isEmpty()


def click(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, LEFT, pos=button.rect().center())


def independent_pass(w, layer):
    """z, a of every layer and the per-sample gradients for the pinned sample, from the engine's
    batch backprop of that one sample (not from the graph)."""
    snap = w.latest
    acts = list(snap.activations)
    net = Network(snap.sizes, acts[:-1], acts[-1], weights=snap.trace_weights,
                  biases=snap.trace_biases)
    x, t = snap.sample.x, snap.sample.target
    return net.backprop(x[None, :], t[None, :])


def test_the_buttons_step_node_by_node_and_show_the_engines_numbers(qtbot, window):
    g = show_graph_tab(qtbot, window)
    assert g.selected_neuron() == (1, 0) and g.stage == "forward" and g.steps == 0
    stages = []
    g.stageChanged.connect(stages.append)
    graph = g.graph
    nf, nb = len(graph.forward_order), len(graph.backward_order)
    first = graph.forward_order[0]
    assert g.node_texts(first) == ("= ?", "")
    click(qtbot, g.next_button)
    assert g.steps == 1 and g.current_node() == first
    w_id, x_id = graph[first].inputs
    snap = window.latest
    x0, w00 = snap.sample.x[0], snap.trace_weights[0][0, 0]
    assert g.node_texts(first)[0] == f"= {fmt(w00 * x0)}"
    assert fmt(w00 * x0) in g.arithmetic.text()
    # the rest of the forward pass, one click a node
    while g.stage == "forward":
        click(qtbot, g.next_button)
    assert g.steps == nf and stages == ["backward"]
    trace = independent_pass(window, 1)
    z = trace.pre_activations[0][0, 0]
    assert g.node_texts("z1_0") == (f"= {fmt(z)}", "")
    assert g.node_texts("loss")[0] == f"= {fmt(trace.loss)}"
    assert "Forward pass" not in g.progress.text()
    click(qtbot, g.next_button)                       # the loss: ∂ℓ/∂ℓ = 1
    assert g.node_texts("loss")[1].endswith("= 1")
    for _ in range(nb - 1):
        click(qtbot, g.next_button)
    assert g.stage == "done" and stages == ["backward", "done"]
    assert not g.next_button.isEnabled() and not g.run_button.isEnabled()
    # the numbers on screen are backprop's for this sample
    delta = snap.sample.delta[0][0]
    assert g.node_texts("z1_0")[1].endswith(f"= {fmt(delta)}")
    assert g.node_texts("z1_0")[1] == f"∂ℓ/∂z¹₀ = {fmt(trace.deltas[0][0, 0])}"
    for i in range(2):
        assert g.node_texts(f"w1_{i}_0")[1] == f"gradient = {fmt(trace.grad_weights[0][i, 0])}"
    for k in range(3):
        assert g.node_texts(f"w2_0_{k}")[1] == f"gradient = {fmt(trace.grad_weights[1][0, k])}"
        assert g.node_texts(f"b2_{k}")[1] == f"∂ℓ/∂b²{'₀₁₂'[k]} = {fmt(trace.grad_biases[1][k])}"
    # every box shows its node's value and gradient; the values are the network's forward pass
    for nid, node in graph.nodes.items():
        value, grad = g.node_texts(nid)
        assert value == f"= {fmt(node.value)}", nid
        assert grad == ("" if node.grad is None else
                        f"{g.node_item(nid).grad_name} = {fmt(node.grad)}"), nid
    for k in range(3):
        assert g.node_texts(f"z2_{k}")[0] == f"= {fmt(trace.pre_activations[1][0, k])}"
        assert g.node_texts(f"z2_{k}")[1].endswith(f"= {fmt(trace.deltas[1][0, k])}")
        assert g.node_texts(f"y{k}")[0] == f"= {fmt(trace.output[0, k])}"
    # undo one, then start over
    click(qtbot, g.previous_button)
    assert g.steps == nf + nb - 1 and g.stage == "backward"
    click(qtbot, g.start_button)
    assert g.steps == 0 and g.stage == "forward" and stages[-1] == "forward"
    assert g.node_texts("z1_0") == ("= ?", "")
    click(qtbot, g.run_button)
    assert g.stage == "done" and g.steps == nf + nb


def test_the_panels_keys_win_over_the_windows_while_it_has_the_focus(qtbot, window):
    g = show_graph_tab(qtbot, window)
    qtbot.mouseClick(g.view.viewport(), LEFT, pos=g.view.viewport().rect().center())
    qtbot.waitUntil(g.hasFocus, timeout=2000)
    passes = window.latest.pass_count
    for k in (Qt.Key.Key_Right, Qt.Key.Key_N, Qt.Key.Key_Right):
        qtbot.keyClick(g, k)
    assert g.steps == 3
    qtbot.keyClick(g, Qt.Key.Key_Left)
    assert g.steps == 2
    qtbot.keyClick(g, Qt.Key.Key_End)
    assert g.stage == "done"
    qtbot.keyClick(g, Qt.Key.Key_Home)
    assert g.steps == 0
    assert window.latest.pass_count == passes and not window.is_running()   # → did not Step


def test_clicking_a_neuron_in_the_diagram_changes_the_graphs_neuron(qtbot, window):
    g = show_graph_tab(qtbot, window)
    target = window.network.mouse_target()
    pos = window.network.viewport_point(window.network.neuron_pos(2, 1))
    qtbot.mouseClick(target, LEFT, pos=pos)
    qtbot.waitUntil(lambda: g.selected_neuron() == (2, 1), timeout=3000)
    assert "Layer 2, neuron 1" in g.header.text()
    assert g.graph.z_id == "z2_1" and in_view(window)            # the Graph stays in view
    # an output neuron: softmax over every output, the others' z constant
    assert g.graph["z2_0"].op == "const"
    click(qtbot, g.run_button)
    snap = window.latest
    y, t = snap.sample.a[-1], snap.sample.target
    assert g.node_texts("z2_1")[1].endswith(f"= {fmt(y[1] - t[1])}")
    # an input neuron computes nothing
    pos = window.network.viewport_point(window.network.neuron_pos(0, 1))
    qtbot.mouseClick(target, LEFT, pos=pos)
    qtbot.waitUntil(lambda: g.graph is None, timeout=3000)
    assert "input neuron" in g.header.text()
    assert not g.next_button.isEnabled()


def test_the_graph_follows_the_sample_pinned_on_the_decision_boundary(qtbot, window):
    g = show_graph_tab(qtbot, window)
    boundary = window.boundary
    index = 7
    pos = boundary.graphics.mapFromScene(boundary.point_scene_pos(index))
    qtbot.mouseClick(boundary.graphics.viewport(), LEFT, pos=pos)
    qtbot.waitUntil(lambda: "sample #7" in g.header.text(), timeout=5000)
    x = window.dataset.X_train[index]
    assert g.graph["x0"].value == x[0] and g.graph["x1"].value == x[1]
    assert in_view(window)


def test_ctrl_wheel_zooms_the_drawing(qtbot, window):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    g = show_graph_tab(qtbot, window)
    vp = g.view.viewport()
    before = g.view.transform().m11()

    def wheel(steps, modifiers):
        c = QPointF(vp.rect().center())
        event = QWheelEvent(c, QPointF(vp.mapToGlobal(c.toPoint())), QPoint(), QPoint(0, 120 * steps),
                            Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(vp, event)

    wheel(2, Qt.KeyboardModifier.ControlModifier)
    assert g.view.transform().m11() == pytest.approx(before * 1.15 ** 2)
    wheel(-2, Qt.KeyboardModifier.ControlModifier)
    assert g.view.transform().m11() == pytest.approx(before)
    wheel(-1, Qt.KeyboardModifier.NoModifier)             # a plain wheel scrolls, zooms not
    assert g.view.transform().m11() == pytest.approx(before)


def test_the_panel_never_widens_the_window(qtbot, window):
    g = show_graph_tab(qtbot, window)
    click(qtbot, g.run_button)          # the longest progress line and arithmetic
    assert g.minimumSizeHint().width() <= window.inspector.minimumSizeHint().width()


def test_behind_another_tab_it_waits_while_training_and_catches_up_when_shown(qtbot, window):
    g = window.graph_view
    qtbot.waitUntil(lambda: g.graph is not None, timeout=5000)
    assert window.docks["graph"].visibleRegion().isEmpty()        # behind the cost curve
    built = g.build_count
    qtbot.keyClick(window, Qt.Key.Key_Space)                      # play
    qtbot.waitUntil(lambda: window.latest.running and window.latest.pass_count >= 5, timeout=10000)
    assert g.build_count == built
    show_graph_tab(qtbot, window)
    qtbot.waitUntil(lambda: g.build_count > built, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Space)                      # pause
    qtbot.waitUntil(lambda: not window.latest.running, timeout=5000)
    window.paint_now()
    snap = window.latest
    qtbot.waitUntil(lambda: g.graph["w1_0_0"].value == snap.trace_weights[0][0, 0], timeout=5000)


def test_a_graph_too_large_to_read_says_so_and_a_neuron_nearer_the_output_is_drawn(qtbot,
                                                                                 open_window):
    w = open_window("spiral3", size=(1500, 950))            # 2-24-24-3
    tabs = next(bar for bar in w.findChildren(QTabBar)
                if any(bar.tabText(i) == "Graph" for i in range(bar.count())))
    i = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Graph")
    qtbot.mouseClick(tabs, LEFT, pos=tabs.tabRect(i).center())
    g = w.graph_view
    qtbot.waitUntil(lambda: "nearer the output" in g.placeholder(), timeout=5000)
    assert "Layer 1, neuron 0" in g.header.text() and not g.next_button.isEnabled()
    target = w.network.mouse_target()
    qtbot.mouseClick(target, LEFT, pos=w.network.viewport_point(w.network.neuron_pos(3, 2)))
    qtbot.waitUntil(lambda: g.graph is not None and g.graph.z_id == "z3_2", timeout=5000)
    click(qtbot, g.run_button)
    snap = w.latest
    assert g.node_texts("z3_2")[1].endswith(
        f"= {fmt(snap.sample.a[-1][2] - snap.sample.target[2])}")
