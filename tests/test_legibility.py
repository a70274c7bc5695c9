"""What a person sees first and reads on the panels: nothing hidden, covered or contradictory."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from bpviz.ui.plotting import style
from tests.test_lessons import choose_lesson, wait_ready
from tests.test_window_input import click_menu


def lesson_text_visible(w) -> bool:
    lessons = w.docks["lessons"]
    return (not lessons.visibleRegion().isEmpty()
            and not w.lessons.title_label.visibleRegion().isEmpty()
            and not w.lessons.task_label.visibleRegion().isEmpty())


@pytest.mark.parametrize("size", [(1600, 1000), (1280, 720)])
def test_opening_a_lesson_brings_the_lessons_panel_to_the_front(qtbot, open_window, size):
    w = open_window(size=size)
    click_menu(qtbot, w, "Help", "Lessons")
    wait_ready(qtbot, w, 1)
    qtbot.waitUntil(lambda: lesson_text_visible(w), timeout=3000)
    assert not w.tabifiedDockWidgets(w.docks["lessons"])      # no tab hides it later
    # a lesson that scrolls the Controls to one of its controls keeps its text in front too
    choose_lesson(qtbot, w, 4)
    wait_ready(qtbot, w, 4)
    qtbot.waitUntil(lambda: lesson_text_visible(w)
                    and not w.docks["controls"].visibleRegion().isEmpty(), timeout=3000)


@pytest.mark.parametrize("width", [380, 620, 900])
@pytest.mark.parametrize("mode", ["sample", "mean"])
def test_the_sum_label_covers_no_other_neuron_or_label(qtbot, make_snap, width, mode):
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from bpviz.ui.window.focus import FocusModel
    from bpviz.ui.network.view import NetworkView
    view = NetworkView(focus=FocusModel(mode, 0))
    qtbot.addWidget(view)
    view.resize(width, 420)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(make_snap("gaussian-clouds", passes=1))
    QApplication.processEvents()
    neurons = [(layer, i) for layer in range(3) for i in range((2, 3, 3)[layer])]
    labels = [t for t in view.value_label_items().values() if t.isVisible()]
    for layer, i in ((1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)):
        # a click on the neuron, as a person selects it
        qtbot.mouseClick(view.mouse_target(), Qt.MouseButton.LeftButton,
                         pos=view.viewport_point(view.neuron_pos(layer, i)))
        QApplication.processEvents()
        assert view.selected_neuron() == (layer, i)
        assert view.sum_label_text()
        label = view.sum_label_item().sceneBoundingRect()
        assert view.diagram_scene_rect().contains(label), (layer, i)
        for other in neurons:
            assert not label.intersects(view.neuron_scene_rect(*other)), (width, layer, i, other)
        for text in labels:
            assert not label.intersects(text.sceneBoundingRect()), (layer, i, text.toPlainText())
        # a label apart from its neuron is joined to it by a line
        ring = view.neuron_scene_rect(layer, i)
        c, radius = ring.center(), ring.width() / 2
        nx = min(max(c.x(), label.left()), label.right())
        ny = min(max(c.y(), label.top()), label.bottom())
        gap = float(np.hypot(nx - c.x(), ny - c.y())) - radius     # pixels from ring to label
        if gap > 10:
            assert view.sum_leader_shown(), (layer, i, gap)
        elif gap < 4:
            assert not view.sum_leader_shown(), (layer, i, gap)


def click_neuron(qtbot, w, layer, index):
    w.paint_now()
    qtbot.mouseClick(w.network.mouse_target(), Qt.MouseButton.LeftButton,
                     pos=w.network.viewport_point(w.network.neuron_pos(layer, index)))


def test_bpviz_opens_on_one_sample_whose_sum_adds_up_and_remembers_the_users_choice(
        qtbot, open_window):
    from tests.test_window_input import choose
    w = open_window(size=(1600, 1000))
    net = w.network
    assert net.focus_combo().currentText() == "pinned sample"
    qtbot.waitUntil(lambda: "for sample 0" in net.focus_header_text(), timeout=5000)
    assert w.focus_status.text().startswith("values for: sample 0")
    click_neuron(qtbot, w, 1, 2)
    qtbot.waitUntil(lambda: net.sum_label_text().startswith("Σ w·δ ="), timeout=3000)
    text = net.sum_label_text()
    assert "obey" not in text
    # the sum on screen is the sample's own: Σ_j w_2j δ_j (plain numpy) times f′(z) is its δ
    snap = w.latest
    sv = snap.sample
    W2 = np.asarray(snap.trace_weights[1])
    total = float(W2[2] @ sv.delta[1])
    a1 = 1 / (1 + np.exp(-(np.asarray(w.dataset.X_train[0]) @ snap.trace_weights[0]
                           + snap.trace_biases[0])))
    assert text == (f"Σ w·δ = {style.format_known(total)} × f′(z) "
                    f"{style.format_known(float(a1[2] * (1 - a1[2])))} = δ "
                    f"{style.format_known(total * float(a1[2] * (1 - a1[2])))}")
    choose(qtbot, net.focus_combo(), "batch mean")
    qtbot.waitUntil(lambda: "mean over" in net.focus_header_text(), timeout=3000)
    w.close()
    again = open_window(size=(1600, 1000))          # the same settings: the mean is remembered
    assert again.network.focus_combo().currentText() == "batch mean"
    assert again.focus_status.text() == "values for: batch mean"


@pytest.mark.parametrize("focus", ["pinned sample", "batch mean"])
def test_a_forward_phase_claims_nothing_about_deltas_not_computed(qtbot, open_window, focus):
    from tests.test_window_input import button, choose, click
    w = open_window(size=(1600, 1000))
    net = w.network
    choose(qtbot, net.focus_combo(), focus)
    choose(qtbot, w.step_mode, "one phase")
    click(qtbot, button(w, w.step_action))
    qtbot.waitUntil(lambda: w.latest.phase is not None and w.latest.phase.kind == "forward",
                    timeout=5000)
    assert np.isnan(w.latest.delta_mean[0]).all()        # the engine has no δ yet
    for layer, i in ((1, 0), (2, 1)):
        click_neuron(qtbot, w, layer, i)
        qtbot.waitUntil(lambda: net.sum_label_text() != "", timeout=3000)
        assert net.sum_label_text() == "δ not computed yet in this phase"


def test_the_inspectors_edge_note_names_what_the_diagram_draws_in_the_focus(qtbot, open_window):
    from tests.test_window_input import click
    w = open_window(size=(1600, 1000))
    net, insp = w.network, w.inspector
    click_neuron(qtbot, w, 1, 0)
    qtbot.waitUntil(lambda: "edge signal" in insp.outgoing.note.text(), timeout=10000)
    assert "sample 0's own w_jk·δ_k" in insp.outgoing.note.text()
    assert "batch mean" not in insp.outgoing.note.text()
    net.hover_at(net.edge_pos(1, 0, 1))        # the diagram draws that sample's w·δ, too
    assert "error signal w·δ (sample 0)" in net.hover_text()
    click(qtbot, insp.batch_radio)
    qtbot.waitUntil(lambda: "batch mean w_jk·δ̄_k" in insp.outgoing.note.text(), timeout=10000)
    assert "mean over" in net.focus_header_text()


@pytest.mark.parametrize("width", [380, 520])
def test_the_hover_card_stays_inside_the_diagram(qtbot, make_snap, width):
    from PySide6.QtWidgets import QApplication

    from bpviz.ui.window.focus import FocusModel
    from bpviz.ui.network.view import NetworkView
    net = NetworkView(focus=FocusModel("sample", 0))
    qtbot.addWidget(net)
    net.resize(width, 420)
    net.show()
    qtbot.waitExposed(net)
    net.show_snapshot(make_snap("gaussian-clouds", passes=1))
    QApplication.processEvents()
    box = net.diagram_scene_rect()
    spots = [("edge", net.edge_pos(wi, i, j)) for wi, (n, m) in enumerate(((2, 3), (3, 3)))
             for i in range(n) for j in range(m)]
    spots += [("neuron", net.neuron_pos(layer, i)) for layer, n in enumerate((2, 3, 3))
              for i in range(n)]
    for kind, pt in spots:        # the mouse over every edge and neuron
        qtbot.mouseMove(net.mouse_target(), net.viewport_point(pt))
        qtbot.waitUntil(lambda: net.hover_text() != "", timeout=3000)
        QApplication.processEvents()
        card = net.hover_card_item().sceneBoundingRect()
        assert box.contains(card), (kind, pt, card, box)


def test_a_dragged_point_is_a_jump_not_a_path_of_training(qtbot, open_window):
    from bpviz.ui.panels.surface import JUMP_LABEL
    from tests.test_lessons import drag_surface_point
    from tests.test_window_input import button, click
    w = open_window(size=(1600, 1000))
    surface = w.surface
    before = w.latest.weights
    drag_surface_point(qtbot, w)             # the red point, dragged with the mouse
    qtbot.waitUntil(lambda: w.latest.pass_count == 0
                    and not all(np.array_equal(a, b) for a, b in zip(w.latest.weights, before))
                    and len(surface.path_jumps()) == 1, timeout=10000)
    x, y = surface.path_item.getData()
    assert len(x) == 2 and surface.path_lines() == 0      # no line of training: none ran
    jump = surface.path_jumps()[0]
    np.testing.assert_allclose(jump, np.column_stack([x, y]))
    assert JUMP_LABEL in surface.legend_labels() and "path of training" in surface.legend_labels()
    lx, _ = surface.last_step.getData()
    assert lx is None or len(lx) == 0
    # one pass of training from there: a line of training starts at the dragged point
    click(qtbot, button(w, w.step_action))
    qtbot.waitUntil(lambda: w.latest.pass_count == 1 and surface.path_lines() == 1, timeout=10000)
    assert len(surface.path_jumps()) == 1


def test_play_and_pause_do_not_move_the_panels(qtbot, open_window, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from tests.test_window_input import button, click, wait_paused
    # every slice while training is the quick one, so that its note shows while playing
    monkeypatch.setattr("bpviz.ui.panels.surface.TRAINING_FULL_S", -1.0)
    w = open_window(size=(1280, 720), speed=10)
    surface = w.surface
    qtbot.waitUntil(lambda: surface.is_idle() and surface.current_slice() is not None,
                    timeout=30000)
    names = ("network", "boundary", "surface", "controls", "cost")

    def geometry():
        QApplication.processEvents()
        return {n: w.docks[n].geometry() for n in names}

    paused = geometry()
    seen = []                  # the panels' places at every look while playing

    def looked(condition):
        seen.append(geometry())
        return condition()

    click(qtbot, button(w, w.play_action))
    qtbot.waitUntil(lambda: looked(lambda: "quick slice while training" in surface.status.text()
                                   and w.latest.pass_count >= 20), timeout=60000)
    click(qtbot, button(w, w.play_action))
    wait_paused(qtbot, w)
    qtbot.waitUntil(lambda: "quick slice" not in surface.status.text(), timeout=30000)
    assert all(g == paused for g in seen), next(g for g in seen if g != paused)
    assert geometry() == paused


def classic_start():
    """The classic example's data and initial weights, in plain numpy."""
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(500, 2) + [0, -2], rng.randn(500, 2) + [2, 2],
                   rng.randn(500, 2) + [-2, 2]])
    t = np.repeat(np.eye(3), 500, axis=0)
    W1, b1, W2, b2 = rng.randn(2, 3), rng.randn(3), rng.randn(3, 3), rng.randn(3)
    return X, t, W1, b1, W2, b2


def test_the_edge_card_and_the_losses_say_which_moment_they_belong_to(qtbot, open_window):
    from tests.test_window_input import button, click
    w = open_window(size=(1600, 1000))
    net = w.network
    X, t, W1, b1, W2, b2 = classic_start()
    w.paint_now()

    def hovered():            # the mouse on edge 0→1 into layer 1 (once the diagram has settled)
        qtbot.mouseMove(net.mouse_target(), net.viewport_point(net.edge_pos(0, 0, 1)))
        return net.hover_text().startswith("W[1][0, 1]")
    qtbot.waitUntil(hovered, timeout=5000)
    card = net.hover_text()
    assert f"weight w = {style.format_value(W1[0, 1])}\n" in card + "\n"    # pass 0: no pass ran
    assert "last pass" not in card
    assert w.timeline.label.text().startswith("pass 0 · epoch 0 · loss 2.098")

    click(qtbot, button(w, w.step_action))                  # one pass
    qtbot.waitUntil(lambda: w.latest.pass_count == 1 and w.latest.train_now_pass == 1,
                    timeout=10000)
    w.paint_now()
    # the pass's batch loss, before its update (the classic example's known value)
    qtbot.waitUntil(lambda: "batch loss in the pass 2.098" in w.timeline.label.text(),
                    timeout=3000)
    # the training set's loss after the update, in plain numpy
    def loss(W1, b1, W2, b2):
        a = 1 / (1 + np.exp(-(X @ W1 + b1)))
        z = a @ W2 + b2
        y = np.exp(z - z.max(axis=1, keepdims=True))
        y /= y.sum(axis=1, keepdims=True)
        return a, y, float(-np.mean(np.sum(t * np.log(y), axis=1)))
    a, y, before = loss(W1, b1, W2, b2)
    assert before == pytest.approx(2.0981205629348856)
    d2 = y - t
    d1 = (d2 @ W2.T) * a * (1 - a)
    n = len(X)
    W1n, b1n = W1 - 1.5 * X.T @ d1 / n, b1 - 1.5 * d1.mean(axis=0)
    W2n, b2n = W2 - 1.5 * a.T @ d2 / n, b2 - 1.5 * d2.mean(axis=0)
    after = loss(W1n, b1n, W2n, b2n)[2]
    qtbot.waitUntil(lambda: w.status_labels["loss"].text()
                    == f"training loss now {style.format_loss(after)}", timeout=5000)
    net.hover_at(net.edge_pos(0, 0, 1))
    card = net.hover_text()
    assert f"weight w = {style.format_value(W1[0, 1])} (in the last pass)" in card
    assert f"weight now w + Δw = {style.format_value(W1n[0, 1])}" in card
