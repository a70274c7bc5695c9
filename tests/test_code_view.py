"""The Code panel: the program of one pass, the lines of each phase and the values they computed.

Values are checked against a forward and backward pass written out here in plain numpy from the
snapshot's weights and the dataset; the window is driven through real clicks and keys.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from bpviz.engine.codegen import pass_program
from bpviz.engine.config import Config, build
from bpviz.engine.phases import FORWARD, GRADIENTS, HIDDEN_DELTA, LOSS, OUTPUT_DELTA, UPDATE
from bpviz.training import TrainingSession
from bpviz.ui.plotting import style
from bpviz.ui.panels.code import CodePanel
from tests.test_window_input import click, diagram_point, key


# -- by hand --------------------------------------------------------------------------------------

ACT = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
       "relu": lambda z: np.maximum(z, 0)}
SLOPE = {"sigmoid": lambda z, a: a * (1 - a), "tanh": lambda z, a: 1 - a * a,
         "relu": lambda z, a: (z > 0).astype(float)}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def hand_pass(weights, biases, X, T, acts_names):
    A, Z = [X], []
    for k, (W, b) in enumerate(zip(weights, biases)):
        z = A[-1] @ W + b
        Z.append(z)
        A.append(softmax(z) if k == len(weights) - 1 else ACT[acts_names[k]](z))
    loss = -np.mean(np.sum(T * np.log(A[-1]), axis=1))
    D = [None] * len(weights)
    D[-1] = A[-1] - T
    for k in range(len(weights) - 2, -1, -1):
        D[k] = (D[k + 1] @ weights[k + 1].T) * SLOPE[acts_names[k]](Z[k], A[k + 1])
    GW = [A[k].T @ D[k] / len(X) for k in range(len(weights))]
    GB = [D[k].mean(axis=0) for k in range(len(weights))]
    return Z, A, D, GW, GB, loss


NETWORKS = {
    "classic 2-3-3": ("gaussian-clouds", {}),
    "2-4-3-2 tanh/relu": ("xor", {"hidden": (4, 3), "activation": ("tanh", "relu"),
                                  "batch_size": 0, "optimizer": "sgd", "lr": 0.5}),
    "2-8-2 tanh, mini-batches of 32": ("moons", {}),
}


def config_of(name) -> Config:
    preset, changes = NETWORKS[name]
    cfg = Config.preset(preset)
    for k, v in changes.items():
        setattr(cfg, k, v)
    return cfg


def phase_snapshots(cfg):
    """Every snapshot of one pass walked phase by phase, made by a training session run here
    (no thread)."""
    seen = []
    session = TrainingSession(cfg, lambda kind, payload: seen.append(payload)
                              if kind == "snapshot" else None)
    session.handle(("step_mode", "phase"))
    first = seen[-1]
    snaps = []
    while True:
        session.handle(("step",))
        snaps.append(seen[-1])
        if seen[-1].phase.kind == UPDATE:
            break
    session.handle(("shutdown",))
    return first, snaps


def expected(snap, shown, X, T, acts_names):
    """What a shown line must hold, from the hand pass over the batch (X, T) at the pass's
    weights; the pinned sample's row from a hand pass over that sample alone."""
    Z, A, D, GW, GB, loss = hand_pass(snap.trace_weights, snap.trace_biases, X, T, acts_names)
    s = snap.sample
    z1, a1, d1, *_ = hand_pass(snap.trace_weights, snap.trace_biases, s.x[None, :],
                               s.target[None, :], acts_names)
    l, q = shown.layer, shown.quantity
    per = {"z": lambda Z, A, D: Z[l - 1], "a": lambda Z, A, D: A[l],
           "y": lambda Z, A, D: A[l], "delta": lambda Z, A, D: D[l - 1]}
    if q in per:
        return per[q](z1, a1, d1)[0], per[q](Z, A, D).mean(axis=0)
    if q == "loss":
        return None, np.array(loss)
    if q == "grad_w":
        return None, GW[l - 1]
    if q == "grad_b":
        return None, GB[l - 1]
    W = [w - snap.lr * g for w, g in zip(snap.trace_weights, GW)]      # plain gradient descent
    B = [b - snap.lr * g for b, g in zip(snap.trace_biases, GB)]
    return None, (W if q == "weights" else B)[l - 1]


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_phase_shows_the_arrays_its_lines_computed(qtbot, name):
    cfg = config_of(name)
    ds, net, trainer = build(cfg)
    batch = trainer.peek_batch()                   # the samples of the first pass
    X, T = (ds.X_train, ds.T_train) if batch is None else (ds.X_train[batch], ds.T_train[batch])
    assert len(X) == (32 if "mini" in name else len(ds.X_train))
    acts_names = cfg.activations()
    panel = CodePanel()
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_config(cfg)
    panel.set_training_size(len(ds.X_train))
    first, snaps = phase_snapshots(cfg)
    panel.show_snapshot(first)
    assert panel.phase_lines() == [] and panel.shown_values() == []
    L = net.n_layers
    assert len(snaps) == 2 * L + 3
    seen_arrays = []
    for snap in snaps:
        panel.show_snapshot(snap)
        lines = panel.program().lines
        phase_lines = panel.phase_lines()
        assert phase_lines, snap.phase.label()
        assert panel.highlighted_lines() == phase_lines
        for k in phase_lines:
            assert lines[k].phase == snap.phase.kind
            if snap.phase.layer >= 0:
                assert lines[k].layer == snap.phase.layer
        shown = panel.shown_values()
        # every line of the phase that computes an array of the pass (not the optimizer's state)
        assert [s.line for s in shown] == [k for k in phase_lines if lines[k].quantity]
        text = panel.values_text()
        for s in shown:
            row, mean = expected(snap, s, X, T, acts_names)
            np.testing.assert_allclose(s.mean, mean, rtol=1e-10, atol=1e-13, err_msg=s.array)
            if row is not None:
                np.testing.assert_allclose(s.sample, row, rtol=1e-10, atol=1e-13)
                assert s.shape == (len(X), snap.sizes[s.layer])
                assert f"sample 0: [{style.format_known(row[0])}" in text
                assert f"batch mean: [{style.format_known(mean[0])}" in text
            else:
                assert style.format_known(float(np.ravel(mean)[0])) in text
            seen_arrays.append(s.array)
    # every array of the pass was shown once, in the order the pass computes them
    assert seen_arrays == [line.array for line in panel.program().lines if line.quantity]


def test_a_line_ahead_of_the_phase_reads_not_computed(qtbot):
    cfg = config_of("classic 2-3-3")
    ds, _, _ = build(cfg)
    panel = CodePanel()
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_config(cfg)
    _, snaps = phase_snapshots(cfg)
    panel.show_snapshot(snaps[0])                   # forward through layer 1
    panel.select_neuron(1, 2)                       # Z1, A1 known; delta1 not yet
    by = {s.array: s for s in panel.shown_values()}
    assert np.isfinite(by["A1"].sample).all() and np.isnan(by["delta1"].sample).all()
    assert np.isnan(by["delta1"].mean).all()
    assert "—" in panel.values_text()
    assert panel.highlighted_lines() == sorted(set(panel.phase_lines()) | set(panel.chosen_lines()))


# -- in the window, through real input ----------------------------------------------------------

@pytest.fixture
def window(open_window):
    return open_window(size=(1600, 1000))


def bring_forward(qtbot, w, name, title):
    """Click the tab ``title`` of the dock area the Code panel shares with the controls."""
    from PySide6.QtWidgets import QTabBar
    dock = w.docks[name]
    if dock.visibleRegion().isEmpty():
        bar = next(b for b in w.findChildren(QTabBar) if b.isVisible()
                   and any(b.tabText(i) == title for i in range(b.count())))
        index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
        click(qtbot, bar, bar.tabRect(index).center())
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=3000)


def bring_code_forward(qtbot, w):
    bring_forward(qtbot, w, "code", "Code")
    qtbot.waitUntil(lambda: w.code.program() is not None, timeout=5000)


def lines_of(w, layer, quantities):
    return [k for k, line in enumerate(w.code.program().lines)
            if line.layer == layer and line.quantity in quantities]


def line_named(w, array):
    return next(k for k, line in enumerate(w.code.program().lines) if line.array == array)


def test_the_code_panel_is_a_tab_beside_the_controls_and_in_the_view_menu(qtbot, window):
    w = window
    dock = w.docks["code"]
    assert w.docks["controls"] in w.tabifiedDockWidgets(dock)
    assert dock.visibleRegion().isEmpty()                  # the controls are in front at first
    bring_code_forward(qtbot, w)
    assert w.code.text().startswith("# forward")
    assert "delta1 = (delta2 @ W2.T) * (A1 * (1 - A1))" in w.code.text()
    toggle = next(a for a in w.menuBar().actions() if a.text().replace("&", "") == "View")
    action = next(a for a in toggle.menu().actions() if a.text() == "Code")
    action.trigger()                                        # View → Code closes it
    qtbot.waitUntil(lambda: not dock.isVisible(), timeout=3000)
    action.trigger()                                        # and brings it back
    qtbot.waitUntil(dock.isVisible, timeout=3000)


def test_clicking_a_neuron_or_an_edge_highlights_the_lines_that_compute_it(qtbot, window):
    w = window
    bring_code_forward(qtbot, w)
    target = w.network.mouse_target()
    click(qtbot, target, diagram_point(w, w.network.neuron_pos(1, 2)))
    want = lines_of(w, 1, ("z", "a", "delta"))
    assert [w.code.program().lines[k].array for k in want] == ["Z1", "A1", "delta1"]
    qtbot.waitUntil(lambda: w.code.chosen_lines() == want, timeout=3000)
    assert set(want) <= set(w.code.highlighted_lines())
    assert w.code.marked() == ("neuron", 1, 2)
    sample = w.latest.sample
    a = sample.a[1][2]
    assert style.format_known(a) in w.code.values_text()        # A1[sample, 2]

    click(qtbot, target, diagram_point(w, w.network.edge_pos(1, 0, 2)))
    want = lines_of(w, 2, ("grad_w", "weights"))
    qtbot.waitUntil(lambda: w.code.chosen_lines() == want, timeout=3000)
    assert [w.code.program().lines[k].array for k in want] == ["dW2", "W2"]
    assert w.code.marked() == ("edge", 2, 0, 2)
    g = w.latest.grad_weights[1][0, 2]
    assert f"dW2[0, 2] = {style.format_known(g)}" in w.code.values_text()


def test_clicking_a_line_emphasises_what_it_computes_on_the_diagram(qtbot, window):
    w = window
    bring_code_forward(qtbot, w)
    # points between two neurons of layer 1, where no edge runs (a value label may cover some)
    a, b = w.network.neuron_pos(1, 0), w.network.neuron_pos(1, 1)
    points = [diagram_point(w, a + (b - a) * f) for f in (0.3, 0.4, 0.5, 0.6, 0.7)]

    def colours():
        image = w.network.mouse_target().grab().toImage()
        return [image.pixelColor(p) for p in points]

    before = colours()
    k = line_named(w, "delta1")
    click(qtbot, w.code.mouse_target(), w.code.line_point(k))
    qtbot.waitUntil(lambda: w.network.emphasis() == (1, "neurons"), timeout=3000)
    after = colours()                                 # the blue band behind layer 1
    assert any(c.blue() > c.red() + 20 and c != c0 for c, c0 in zip(after, before))
    assert w.code.chosen_lines() == [k] and k in w.code.highlighted_lines()
    assert "delta1" in w.code.values_text()
    k = line_named(w, "dW2")
    click(qtbot, w.code.mouse_target(), w.code.line_point(k))
    qtbot.waitUntil(lambda: w.network.emphasis() == (2, "edges"), timeout=3000)
    click(qtbot, w.network.mouse_target(), diagram_point(w, w.network.neuron_pos(2, 0)))
    qtbot.waitUntil(lambda: w.network.emphasis() is None, timeout=3000)  # the ring shows it now


def test_stepping_by_phase_moves_the_yellow_lines(qtbot, window):
    from tests.test_window_input import choose
    w = window
    bring_code_forward(qtbot, w)
    choose(qtbot, w.step_mode, "one phase")
    click(qtbot, w.network.mouse_target(), diagram_point(w, w.network.neuron_pos(0, 0)))
    kinds = []
    for _ in range(7):
        seq = w.latest.seq
        key(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: w.latest.seq > seq and w.code.snapshot() is w.latest,
                        timeout=5000)
        phase = w.latest.phase
        lines = [w.code.program().lines[k] for k in w.code.phase_lines()]
        assert all(line.phase == phase.kind for line in lines)
        assert phase.label() in w.code.header.text()
        kinds.append(phase.kind)
    assert kinds == [FORWARD, FORWARD, LOSS, OUTPUT_DELTA, HIDDEN_DELTA, GRADIENTS, UPDATE]


def test_the_program_follows_the_configuration(qtbot, window):
    from tests.test_window_input import choose, type_into
    w = window
    bring_code_forward(qtbot, w)
    assert "Z3" not in w.code.text() and "l2 * W1" not in w.code.text()
    bring_forward(qtbot, w, "controls", "Controls")
    click(qtbot, w.controls.hidden.add)                        # a second hidden layer
    qtbot.waitUntil(lambda: w.latest.sizes == (2, 3, 3, 3), timeout=10000)
    choose(qtbot, w.controls.activation, "tanh")
    qtbot.waitUntil(lambda: w.latest.activations[0] == "tanh", timeout=10000)
    choose(qtbot, w.controls.optimizer, w.controls.optimizer.itemText(
        w.controls.optimizer.findData("adam")))
    type_into(qtbot, w.controls.l2, "0.01")
    type_into(qtbot, w.controls.batch, "32")
    qtbot.waitUntil(lambda: (w.latest.optimizer, w.latest.l2, w.latest.batch_size)
                    == ("adam", 0.01, 32), timeout=10000)
    bring_code_forward(qtbot, w)                     # shown the newest when it comes forward
    qtbot.waitUntil(lambda: "mW1 = beta1 * mW1" in w.code.text(), timeout=10000)
    text = w.code.text()
    assert "Z3 = A2 @ W3 + b3" in text and "A1 = np.tanh(Z1)" in text
    assert "dW1 = dW1 + l2 * W1" in text
    assert "delta1 = (delta2 @ W2.T) * (1 - A1 * A1)" in text
    assert text == pass_program(w.code.program_config(w.latest)).text.rstrip("\n")
    assert w.code.batch_size(w.latest) == 32


# -- the lesson -----------------------------------------------------------------------------------

def test_the_write_it_yourself_lesson_is_done_through_real_input(qtbot, window):
    from tests.test_lessons import (click_neuron, f, focus_diagram, open_lessons, panel,
                                    settle, shown, status, wait_done)
    w = window
    open_lessons(qtbot, w, 11)
    assert panel(w).current() == 10 and "Write it yourself" in panel(w).title_label.text()
    assert w.step_mode.currentData() == "phase"
    settle(qtbot, w)
    snap = w.latest
    s = snap.sample
    x = s.x
    z = x @ snap.trace_weights[0][:, 0] + snap.trace_biases[0][0]      # neuron 0 of layer 1
    assert f"z = {f(z)} and a = {f(1 / (1 + np.exp(-z)))}" in shown(w)
    assert "delta1 = (delta2 @ W2.T) * (A1 * (1 - A1))" in shown(w)
    bring_code_forward(qtbot, w)
    focus_diagram(qtbot, w)
    for k in range(7):                                       # a whole pass, phase by phase
        seq = w.latest.seq
        key(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: w.latest.seq > seq and w.code.snapshot() is w.latest,
                        timeout=5000)
        assert w.code.phase_lines()
    assert w.latest.phase.kind == UPDATE and w.latest.pass_count == 1
    settle(qtbot, w)
    assert status(w) == "waiting for you…"                   # the neuron is still to click
    click_neuron(qtbot, w, 1, 1)
    wait_done(qtbot, w)
    assert [w.code.program().lines[k].array for k in w.code.chosen_lines()] == \
        ["Z1", "A1", "delta1"]
    assert "11-write-it-yourself" in panel(w).done_ids()


def test_the_write_it_yourself_lesson_is_not_done_by_clicking_alone(qtbot, window):
    from tests.test_lessons import click_neuron, open_lessons, panel, settle, status
    w = window
    open_lessons(qtbot, w, 11)
    click_neuron(qtbot, w, 1, 1)                             # no pass stepped
    settle(qtbot, w)
    assert status(w) == "waiting for you…" and not panel(w).is_done()


def test_an_input_neuron_and_a_comment_line(qtbot, window):
    w = window
    bring_code_forward(qtbot, w)
    click(qtbot, w.network.mouse_target(), diagram_point(w, w.network.neuron_pos(0, 1)))
    qtbot.waitUntil(lambda: w.code.marked() == ("neuron", 0, 1), timeout=3000)
    assert w.code.chosen_lines() == [] and "Layer 0 is the input" in w.code.values_text()
    k = line_named(w, "Z1")
    click(qtbot, w.code.mouse_target(), w.code.line_point(k))
    qtbot.waitUntil(lambda: w.network.emphasis() == (1, "neurons"), timeout=3000)
    comment = next(k for k, line in enumerate(w.code.program().lines) if line.array is None)
    click(qtbot, w.code.mouse_target(), w.code.line_point(comment))
    qtbot.waitUntil(lambda: w.network.emphasis() is None, timeout=3000)
    assert w.code.chosen_lines() == [comment]


def test_a_clicked_line_stays_chosen_while_the_program_stays_the_same(qtbot, make_snap):
    from dataclasses import replace
    panel = CodePanel()
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    snap = make_snap(passes=2)
    panel.set_config(Config.preset("gaussian-clouds"))
    panel.show_snapshot(snap)
    k = next(k for k, line in enumerate(panel.program().lines) if line.array == "delta1")
    with qtbot.waitSignal(panel.lineChosen) as chosen:
        click(qtbot, panel.mouse_target(), panel.line_point(k))
    assert chosen.args[0].layer == 1 and chosen.args[0].part == "neurons"
    assert panel.chosen_lines() == [k]
    panel.show_snapshot(replace(snap, lr=0.1))                 # a new learning rate: same code
    assert panel.chosen_lines() == [k]
    panel.show_snapshot(replace(snap, optimizer="momentum", momentum=0.9))   # other code
    assert panel.chosen_lines() == [] and "vW1 = momentum * vW1" in panel.text()
