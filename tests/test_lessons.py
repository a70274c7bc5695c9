"""Guided lessons: the lesson files and their loader (no Qt), and the Lessons panel driven by a
learner through real input only.

Every number a lesson shows is checked against a computation made here by hand from the
snapshot's weights and the dataset (a forward and backward pass written out in numpy), and every
lesson's check is shown to stay undone when the learner does something else.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QPushButton

from bpviz import lessons as L
from bpviz.engine import numbers
from bpviz.engine.snapshot import make_snapshot
from bpviz.lessons import (CHECKS, Context, LessonError, Observed, check_done, load_lessons,
                           multiplication_counts, parse_lesson, quantities)
from tests.test_window_input import (LEFT, back_to_window, choose, click, click_menu, diagram_point, drag,
                                     info, key, pass_shown, type_into, wait_paused)

SHIPPED = ["01-forward-pass", "02-output-error", "03-error-back", "04-dynamic-programming",
           "05-gradients", "06-error-surface", "07-learning-rate", "08-momentum",
           "09-vanishing-gradients", "10-computational-graph", "11-write-it-yourself"]


@pytest.fixture(autouse=True)
def no_user_lessons(monkeypatch, tmp_path):
    """An empty per-user lessons folder, not the one of whoever runs the tests."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))


# -- computed by hand ----------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def hand_pass(weights, biases, X, T, hidden="sigmoid"):
    """z, a and δ of every layer (sigmoid or relu hidden layers, softmax output with
    cross-entropy), and the batch-mean gradients."""
    X = np.atleast_2d(X)
    T = np.atleast_2d(T)
    acts, zs = [X], []
    for k, (W, b) in enumerate(zip(weights, biases)):
        z = acts[-1] @ W + b
        zs.append(z)
        if k == len(weights) - 1:
            acts.append(softmax(z))
        else:
            acts.append(sigmoid(z) if hidden == "sigmoid" else np.maximum(z, 0))
    deltas = [None] * len(weights)
    deltas[-1] = acts[-1] - T
    for k in range(len(weights) - 2, -1, -1):
        a = acts[k + 1]
        slope = a * (1 - a) if hidden == "sigmoid" else (zs[k] > 0).astype(float)
        deltas[k] = (deltas[k + 1] @ weights[k + 1].T) * slope
    grads_w = [acts[k].T @ deltas[k] / len(X) for k in range(len(weights))]
    grads_b = [deltas[k].mean(axis=0) for k in range(len(weights))]
    return zs, acts, deltas, grads_w, grads_b


def f(v) -> str:
    return numbers.fmt(float(v))


def vec(values) -> str:
    return "(" + ", ".join(f(v) for v in np.ravel(values)) + ")"


def count_by_walking_paths(sizes):
    """Multiplications to get every weight's derivative by walking each path on its own: the
    network as a graph of neurons, every path from a weight's upper neuron to an output listed."""
    L_ = len(sizes) - 1
    total = 0
    for layer in range(1, L_ + 1):
        for _i in range(sizes[layer - 1]):
            for j in range(sizes[layer]):
                mults = 1                                      # times a_i
                for path in itertools.product(*(range(n) for n in sizes[layer + 1:])):
                    edges = len(path)                          # neurons j → path[0] → ... → k
                    # δ_k, each edge's weight, f′ at j and at every neuron between: 2·edges + 1
                    # factors, 2·edges multiplications
                    mults += 2 * edges
                total += mults
    return total


# -- the counting function ------------------------------------------------------------------------

def test_multiplication_counts_by_hand_on_2_2_1_and_2_3_3():
    # 2-2-1. Backprop: a·δ for each of the 4 + 2 weights (6); the hidden layer's deltas take
    # 2·1 multiplications for Σ w·δ and 2 for the f′(z) factors (4): 10.
    # Every path: an output weight has one path of no edge (1 multiplication: a·δ), 2 of them;
    # a first-layer weight has 1 path of 1 edge: δ·w·f′ (2) and ·a (1) = 3, 4 of them: 2 + 12.
    assert multiplication_counts([2, 2, 1]) == (10, 14)
    # 2-3-3. Backprop: 6 + 9 weights (15); hidden deltas 3·3 + 3 (12): 27.
    # Every path: 9 output weights × 1; 6 first-layer weights × (1 + 3 paths × 2): 9 + 42.
    assert multiplication_counts([2, 3, 3]) == (27, 51)


@pytest.mark.parametrize("sizes", [[2, 2, 1], [2, 3, 3], [2, 3, 3, 3], [3, 2, 4, 2], [1, 5, 1],
                                   [2, 4, 4, 4, 2]])
def test_counting_over_paths_matches_walking_every_path(sizes):
    assert multiplication_counts(sizes)[1] == count_by_walking_paths(sizes)


def test_backprop_grows_with_the_layers_and_paths_multiply():
    counts = [multiplication_counts([2] + [3] * k + [3]) for k in range(1, 6)]
    assert all(b2 - b1 == 3 * 3 + 3 + 9 for (b1, _), (b2, _) in zip(counts, counts[1:]))
    ratios = [p / b for b, p in counts]
    assert all(r2 > 2 * r1 for r1, r2 in zip(ratios[1:], ratios[2:]))


# -- the files ------------------------------------------------------------------------------------

def test_the_shipped_lessons_load_in_order():
    lessons, refused = load_lessons()
    assert refused == []
    assert [lesson.id for lesson in lessons][:len(SHIPPED)] == SHIPPED
    for lesson in lessons:
        cfg = L.lesson_config(lesson.setup)
        cfg.validate()                   # every set-up names a configuration bpviz accepts


def test_the_vocabularies_match_the_window():
    from bpviz.ui.window.main_window import STEP_MODES
    from bpviz.ui.network.view import NODE_MODES, OVERLAYS
    assert set(L.EDGE_MODES) == set(OVERLAYS)
    assert set(L.NEURON_MODES) == set(NODE_MODES)
    assert set(L.STEP_MODES) == {mode for _, mode in STEP_MODES}


GOOD = '''title = "A lesson"
text = "The loss is {loss}."
task = "Press S."

[setup]
preset = "xor"
speed = 5

[check]
kind = "passes_trained"
at_least = 1
'''


def refusal(source: str) -> LessonError:
    with pytest.raises(LessonError) as e:
        parse_lesson(source, Path("bad.toml"))
    return e.value


def test_a_good_file_parses():
    lesson = parse_lesson(GOOD, Path("99-mine.toml"))
    assert lesson.id == "99-mine" and lesson.setup == {"preset": "xor", "speed": 5}
    assert lesson.checks == ({"kind": "passes_trained", "at_least": 1},)


@pytest.mark.parametrize("change, line, words", [
    (("speed = 5", "speed = = 5"), 7, "not valid TOML"),
    (('task = "Press S."', 'task = "Press S."\nteacher = "me"'), 4, "unknown key 'teacher'"),
    (("speed = 5", "sped = 5"), 7, "unknown set-up key 'sped'"),
    (('kind = "passes_trained"', 'kind = "telepathy"'), 10, "unknown check kind 'telepathy'"),
    (('text = "The loss is {loss}."', 'text = "The loss is {los}."'), 2,
     "unknown placeholder {los}"),
    (("speed = 5", 'speed = "fast"'), 7, "setup.speed"),
    (("at_least = 1", 'at_least = "one"'), 11, "at_least must be a whole number"),
    (('preset = "xor"', 'preset = "xxor"'), 6, "setup.preset is 'xxor', which is not a preset"),
    (("at_least = 1", "at_most = 1"), 11, "has no parameter 'at_most'"),
    (('text = "The loss is {loss}."', 'text = "The loss is {loss.real}."'), 2,
     "is not a placeholder"),
    (('title = "A lesson"', 'title = 3'), 1, "title must be text"),
    (("speed = 5", "edge = [0, 1, 1]"), 7, "setup.edge names the layer the edge goes into"),
    (("speed = 5", 'output = "linear"'), 7, "xor is a classification dataset"),
    (("speed = 5", 'hidden = [3]\nactivation = ["tanh", "relu"]'), 8, "setup.activation must be"),
    (("speed = 5", "surface_axes = [[1, 0, 0]]"), 7, "setup.surface_axes must have 2 items"),
    (('kind = "passes_trained"\nat_least = 1', 'kind = "setting"\nname = "activation"\n'
      'equals = "tahn"'), 12, "equals is 'tahn', which is not an activation (one of sigmoid"),
    (('kind = "passes_trained"\nat_least = 1', 'kind = "setting"\nname = "optimizer"\n'
      'at_least = 1'), 12, "optimizer is a name, not a number"),
    (('kind = "passes_trained"\nat_least = 1', 'kind = "setting"\nname = "lr"\n'
      'equals = "fast"'), 12, "equals must be a number (for lr)"),
    (('kind = "passes_trained"\nat_least = 1', 'kind = "setting"\nname = "hidden_layers"\n'
      'at_most = 1.5'), 12, "at_most must be a whole number (for hidden_layers)"),
])
def test_a_malformed_file_is_refused_with_its_line(change, line, words):
    source = GOOD.replace(*change)
    assert source != GOOD
    error = refusal(source)
    assert words in str(error)
    assert error.line == line


def test_a_check_list_and_inline_tables_find_their_line():
    head, setup = GOOD.split("[check]")[0].split("[setup]")
    checks = ('check = [{ kind = "edge_mode", mode = "gradient" },\n'
              '         { kind = "passes_trained", at_least = 0 }]\n')
    error = refusal(head + checks + "[setup]" + setup)
    assert "at_least must be at least 1" in str(error) and error.line == 6
    error = refusal(GOOD.split("[check]")[0] + checks)      # under [setup] by mistake
    assert "inside [setup]" in str(error) and error.line == 9


def test_the_second_of_two_checks_is_found_on_its_own_line():
    source = GOOD.replace("[check]", "[[check]]") + '\n[[check]]\nkind = "edge_mode"\nmode = "gradients"\n'
    error = refusal(source)
    assert "mode is 'gradients'" in str(error) and error.line == 15


def test_a_missing_check_and_a_missing_parameter():
    assert "check is missing" in str(refusal(GOOD.split("[check]")[0]))
    error = refusal(GOOD.replace("at_least = 1\n", ""))
    assert "needs at_least" in str(error) and error.line == 10


def test_the_other_files_still_load(tmp_path):
    (tmp_path / "01-good.toml").write_text(GOOD)
    (tmp_path / "02-bad.toml").write_text(GOOD.replace("speed = 5", "speed = = 5"))
    (tmp_path / "03-bytes.toml").write_bytes(b"\xff\xfe title")
    (tmp_path / "04-latin.toml").write_bytes(GOOD.replace("Press S.", "Appuyez\nsur S, caf\u00e9.")
                                             .encode("latin-1"))
    lessons, refused = load_lessons(tmp_path)
    assert [lesson.id for lesson in lessons] == ["01-good"]
    assert [str(r).split(":")[0] for r in refused] == [
        "02-bad.toml, line 7", "03-bytes.toml, line 1", "04-latin.toml, line 4"]
    assert "UTF-16" in str(refused[1]) and "not UTF-8 text (byte 0xe9" in str(refused[2])


def test_lesson_8s_ravine_zig_zags_without_momentum_and_not_with_it():
    """On lesson 8's set-up the two weights on its error surface turn back at nearly every pass
    of plain gradient descent (η = 0.7), and hardly ever with momentum 0.9 at η = 0.07, which
    ends lower after as many passes."""
    from dataclasses import replace

    from bpviz.engine.config import build
    lesson = next(x for x in load_lessons()[0] if x.id == "08-momentum")
    (l1, i1, j1), (l2, i2, j2) = lesson.setup["surface_axes"]

    def run(cfg, passes=100):
        _, net, trainer = build(cfg)
        path = [(net.weights[l1 - 1][i1, j1], net.weights[l2 - 1][i2, j2])]
        for _ in range(passes):
            trainer.step()
            path.append((net.weights[l1 - 1][i1, j1], net.weights[l2 - 1][i2, j2]))
        return np.array(path), trainer.history.loss[-1]

    cfg = L.lesson_config(lesson.setup)
    assert (cfg.dataset, cfg.lr, cfg.momentum, cfg.optimizer) == ("plane", 0.7, 0.0, "momentum")
    plain, plain_loss = run(replace(cfg))
    smooth, smooth_loss = run(replace(cfg, lr=0.07, momentum=0.9))
    assert min(alternation(plain[:, 0]), alternation(plain[:, 1])) > 0.9
    assert max(alternation(smooth[:, 0]), alternation(smooth[:, 1])) < 0.2
    assert smooth_loss < plain_loss


# -- the checks -----------------------------------------------------------------------------------

def test_every_check_kind_is_done_only_by_what_it_asks(make_snap):
    snap = make_snap(passes=2)
    seen = Observed(snapshot=snap)
    cases = {
        "neuron_selected": ({"layer": 1, "index": 2},
                            lambda s: s.clicked.append((1, 2)),
                            lambda s: s.clicked.extend([(2, 2), (1, 1)])),
        "samples_stepped": ({"at_least": 2}, lambda s: setattr(s, "samples_stepped", 2),
                            lambda s: setattr(s, "samples_stepped", 1)),
        "passes_trained": ({"at_least": 5}, lambda s: setattr(s, "passes_trained", 7),
                           lambda s: setattr(s, "passes_trained", 4)),
        "diverged": ({}, lambda s: setattr(s, "diverged", True), lambda s: None),
        "surface_point_dragged": ({}, lambda s: setattr(s, "surface_dragged", True),
                                  lambda s: None),
        "graph_stage": ({"stage": "done"}, lambda s: setattr(s, "graph_stage", "done"),
                        lambda s: setattr(s, "graph_stage", "backward")),
        "edge_mode": ({"mode": "gradient"}, lambda s: setattr(s, "edge_mode", "gradient"),
                      lambda s: setattr(s, "edge_mode", "signal")),
        "setting": ({"name": "lr", "at_least": 1.0}, lambda s: None,
                    lambda s: setattr(s, "snapshot", make_snap(passes=1, lr=0.5))),
    }
    assert set(cases) == set(CHECKS)
    for kind, (params, do, other) in cases.items():
        check = dict(params, kind=kind)
        wrong = Observed(snapshot=snap)
        other(wrong)
        assert not check_done(check, wrong), kind
        right = Observed(snapshot=snap)
        do(right)
        assert check_done(check, right), kind
    assert not check_done({"kind": "graph_stage", "stage": "done"}, seen)   # no graph panel


def test_setting_checks(make_snap):
    relu = Observed(snapshot=make_snap(passes=1, hidden=(4, 4), activation="relu"))
    assert check_done({"kind": "setting", "name": "activation", "equals": "relu"}, relu)
    assert check_done({"kind": "setting", "name": "hidden_layers", "at_least": 2}, relu)
    assert not check_done({"kind": "setting", "name": "hidden_layers", "at_least": 3}, relu)
    slow = Observed(snapshot=make_snap(passes=1, optimizer="momentum", momentum=0.3))
    assert not check_done({"kind": "setting", "name": "momentum", "at_least": 0.5}, slow)
    assert check_done({"kind": "setting", "name": "momentum", "at_most": 0.5}, slow)


def test_passes_count_only_while_the_lessons_settings_hold(make_snap):
    settings = [{"kind": "setting", "name": "momentum", "at_least": 0.5}]
    plain = [make_snap(passes=k, optimizer="momentum", momentum=0.0) for k in (1, 4)]
    fast = [make_snap(passes=k, optimizer="momentum", momentum=0.9) for k in (4, 6)]
    seen = Observed()
    seen.see(plain[1], plain[0], settings)
    assert seen.passes_trained == 0
    seen.see(fast[1], fast[0], settings)
    assert seen.passes_trained == 2


def test_observed_counts_passes_across_a_new_network(make_snap):
    seen = Observed()
    a, b = make_snap(passes=3), make_snap(passes=5)
    seen.see(a)
    seen.see(b, a)
    assert seen.passes_trained == 2
    fresh = make_snap(passes=0)
    seen.see(fresh, b)                   # a new network: nothing lost, nothing counted
    seen.see(a, fresh)
    assert seen.passes_trained == 5


# -- the quantities -------------------------------------------------------------------------------

def test_forward_and_backward_quantities_against_a_hand_pass(make_run, make_snap):
    cfg, ds, net, trainer = make_run()
    snap = make_snap(passes=3, pinned=5)
    Ws, bs = snap.trace_weights, snap.trace_biases
    x, t = ds.X_train[5], ds.T_train[5]
    zs, acts, deltas, _, _ = hand_pass(Ws, bs, x, t)
    q = quantities(Context(snap, selected=(1, 2)))
    assert q["z"] == f(x @ Ws[0][:, 2] + bs[0][2]) == f(zs[0][0, 2])
    assert q["a"] == f(sigmoid(zs[0][0, 2]))
    assert q["weighted_sum"] == f(x @ Ws[0][:, 2]) and q["bias"] == f(bs[0][2])
    assert q["x"] == vec(x) and q["inputs"] == vec(x) and q["weights_in"] == vec(Ws[0][:, 2])
    assert q["y"] == vec(acts[-1]) and q["t"] == vec(t)
    assert q["delta_out"] == vec(acts[-1] - t)
    back = Ws[1][2, :] @ (acts[-1][0] - t)
    a = acts[1][0, 2]
    assert q["back_sum"] == f(back) and q["fprime"] == f(a * (1 - a))
    assert q["delta"] == f(a * (1 - a) * back) and q["uplinks"] == "3"
    out = quantities(Context(snap, selected=(2, 1)))
    assert out["delta"] == f(acts[-1][0, 1] - t[1]) and out["back_sum"] == "—"


def test_gradient_quantities_against_a_hand_pass(make_run, make_snap):
    cfg, ds, net, trainer = make_run()
    snap = make_snap(passes=2, pinned=3)
    _, acts, deltas, grads_w, grads_b = hand_pass(snap.trace_weights, snap.trace_biases,
                                                  ds.X_train, ds.T_train)
    q = quantities(Context(snap, selected=(2, 1)))
    assert q["edge_grad"] == f(grads_w[1][0, 1])
    assert q["edge_step"] == f(-1.5 * grads_w[1][0, 1])
    assert q["edge_update"] == f(-1.5 * grads_w[1][0, 1])        # plain gradient descent
    assert q["edge_grad_sample"] == f(acts[1][3, 0] * deltas[1][3, 1])
    norms = [np.sqrt((g ** 2).sum() + (gb ** 2).sum()) for g, gb in zip(grads_w, grads_b)]
    assert q["grad_norms"] == ", ".join(f(v) for v in norms)
    assert q["grad_ratio"] == f(norms[0] / norms[-1])
    assert q["mults_backprop"] == "27" and q["mults_paths"] == "51" and q["sizes"] == "2-3-3"
    assert q["n_weights"] == "15" and q["lr"] == "1.5"


def test_the_other_quantities_against_their_own_computation(make_run, make_snap):
    from bpviz.engine.surface import Axis
    cfg, ds, net, trainer = make_run()
    snap = make_snap(passes=4, pinned=2)
    _, acts, _, _, _ = hand_pass(snap.trace_weights, snap.trace_biases, ds.X_train, ds.T_train)
    loss = -np.mean(np.sum(ds.T_train * np.log(acts[-1]), axis=1))    # cross-entropy
    axes = (Axis("weight", 1, 0, 0), Axis("weight", 0, 1, 2))
    q = quantities(Context(snap, selected=(2, 1), axes=axes, graph_stage="backward"))
    assert q["loss"] == f(loss)
    assert q["epoch"] == "4" and q["passes"] == "4" and q["momentum"] == "0"
    assert q["optimizer"] == "sgd" and q["mults_ratio"] == f"{51 / 27:.3g}"
    assert q["edge"] == "neuron 0 of layer 1 → neuron 1 of layer 2"
    assert q["edge_weight"] == f(snap.weights[1][0, 1]) and q["edge_a"] == f(acts[1][2, 0])
    focused = quantities(Context(snap, selected=(2, 1), edge=(0, 1, 2)))     # input 1 → h 2
    assert focused["edge"] == "neuron 1 of layer 0 → neuron 2 of layer 1"
    assert focused["edge_weight"] == f(snap.weights[0][1, 2])
    assert focused["edge_a"] == f(ds.X_train[2, 1])
    assert q["axis_x"] == "weight layer 2, 0→0" and q["axis_y"] == "weight layer 1, 1→2"
    assert q["w_x"] == f(snap.weights[1][0, 0]) and q["w_y"] == f(snap.weights[0][1, 2])
    assert q["graph_stage"] == "backward" and q["activation"] == "softmax"
    assert quantities(Context(snap, selected=(1, 0)))["activation"] == "sigmoid"


def test_dead_relus_are_counted(make_run):
    cfg, ds, net, trainer = make_run(hidden=(4,), activation="relu")
    net.biases[0][1] = -1e3                   # neuron 1's z is negative for every sample
    net.biases[0][3] = -1e3
    trace = net.backprop(trainer.X, trainer.T)
    snap = make_snapshot(trainer, seq=1, running=False, trace=trace, trace_weights=None,
                         trace_biases=None)
    assert quantities(Context(snap))["dead_relus"] == "2"


def test_quantities_that_do_not_apply_read_a_dash(make_snap):
    snap = make_snap(passes=1, pinned=None)
    q = quantities(Context(snap, selected=(1, 0)))
    assert q["z"] == "—" and q["graph_stage"] == "— (no Graph panel)" and q["w_x"] == "—"
    assert quantities(Context(None))["loss"] == "—"


# -- the panel, driven by a learner ----------------------------------------------------------------

def panel(w):
    return w.lessons


def status(w) -> str:
    return panel(w).status_text()


def wait_ready(qtbot, w, number):
    qtbot.waitUntil(lambda: panel(w).title_label.text().startswith(f"{number}. ")
                    and status(w) == "waiting for you…", timeout=30000)


def wait_done(qtbot, w, timeout=15000):
    qtbot.waitUntil(lambda: status(w).startswith("✓ Done."), timeout=timeout)


def settle(qtbot, w):
    """Wait until the lesson has looked at the newest snapshot."""
    qtbot.waitUntil(lambda: panel(w).shown_seq() == w.latest.seq, timeout=5000)
    qtbot.waitUntil(lambda: not panel(w).refresh_pending(), timeout=5000)


def lesson_button(w, text) -> QPushButton:
    return next(b for b in panel(w).findChildren(QPushButton) if b.text().startswith(text))


def shown(w) -> str:
    return panel(w).shown_text()


def open_lessons(qtbot, w, number=1):
    click_menu(qtbot, w, "Help", "Lessons")
    qtbot.waitUntil(w.docks["lessons"].isVisible, timeout=3000)
    if number != 1 or panel(w).current() != 0:
        choose_lesson(qtbot, w, number)
    wait_ready(qtbot, w, number)


def choose_lesson(qtbot, w, number):
    """Open the lesson list (a click, or F4 if the click did not) and pick a lesson with the
    arrow keys and Return: one lesson opens, not every one on the way."""
    combo = panel(w).chooser
    click(qtbot, combo)
    popup = combo.view()
    if not popup.isVisible():
        qtbot.keyClick(combo, Qt.Key.Key_F4)
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    while popup.currentIndex().row() != number - 1:
        qtbot.keyClick(popup, Qt.Key.Key_Down if popup.currentIndex().row() < number - 1
                       else Qt.Key.Key_Up)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=3000)


def focus_diagram(qtbot, w):
    click(qtbot, w.network.mouse_target(), QPoint(5, 5))


def click_neuron(qtbot, w, layer, index):
    click(qtbot, w.network.mouse_target(), diagram_point(w, w.network.neuron_pos(layer, index)))


def sample_of(w):
    return w.latest.sample.index


def forward_numbers(w):
    snap = w.latest
    i = sample_of(w)
    return hand_pass(snap.trace_weights, snap.trace_biases, w.dataset.X_train[i],
                     w.dataset.T_train[i]) + (w.dataset.X_train[i], w.dataset.T_train[i])


def drag_surface_point(qtbot, w):
    surface = w.surface
    qtbot.waitUntil(lambda: surface.is_idle() and surface.current_slice() is not None,
                    timeout=30000)
    viewport = surface.graphics.viewport()
    p0 = surface.point_widget_pos()
    qtbot.mousePress(viewport, LEFT, pos=p0)
    qtbot.mouseMove(viewport, p0 + QPoint(15, 10))
    qtbot.mouseMove(viewport, p0 + QPoint(30, 20))
    qtbot.mouseRelease(viewport, LEFT, pos=p0 + QPoint(30, 20))


def train_until(qtbot, w, condition, timeout=20000):
    focus_diagram(qtbot, w)
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(condition, timeout=timeout)
    key(qtbot, w, Qt.Key.Key_Space)
    wait_paused(qtbot, w)


def close_divergence_box(qtbot, w):
    qtbot.waitUntil(lambda: any(b.isVisible() and "diverged" in b.windowTitle()
                                for b in w.findChildren(QMessageBox)), timeout=15000)
    box = next(b for b in w.findChildren(QMessageBox) if b.isVisible())
    click(qtbot, box.button(QMessageBox.StandardButton.Ok))
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)
    back_to_window(qtbot, w)


@pytest.fixture
def window(open_window):
    return open_window(size=(1600, 1000))


# -- every lesson, done by a scripted learner who does only what its text says ------------------

LEARNERS = {}       # lesson id → the scripted learner of that lesson


def learner(lesson_id):
    def register(fn):
        LEARNERS[lesson_id] = fn
        return fn
    return register


def press(qtbot, w, k, modifier=Qt.KeyboardModifier.NoModifier):
    """A key where the keyboard focus is: the learner does not click anywhere first."""
    key(qtbot, w, k, modifier)


def train_with_space(qtbot, w, condition, timeout=30000):
    """Space to train, Space again once ``condition`` holds; wait until training has paused."""
    press(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(condition, timeout=timeout)
    press(qtbot, w, Qt.Key.Key_Space)
    wait_paused(qtbot, w)


def task(w) -> str:
    return panel(w).task_label.text()


@learner("01-forward-pass")
def lesson_1(qtbot, w):
    assert "Click a neuron of the hidden layer" in task(w)
    click_neuron(qtbot, w, 1, 1)
    wait_done(qtbot, w)
    qtbot.waitUntil(lambda: "Neuron 1 of layer 1" in shown(w), timeout=5000)
    settle(qtbot, w)
    zs, acts, _, _, _, x, _ = forward_numbers(w)
    W, b = w.latest.trace_weights[0], w.latest.trace_biases[0]
    z = x @ W[:, 1] + b[1]
    assert f"z = {f(z)}" in shown(w) and f"a = {f(sigmoid(z))}" in shown(w)
    assert f"x = {vec(x)}" in shown(w) and "one sample" in shown(w)
    # the inspector's numbers are a question the training session answers: wait for them
    qtbot.waitUntil(lambda: "Layer 1, neuron 1" in w.inspector.header_html(), timeout=5000)


@learner("02-output-error")
def lesson_2(qtbot, w):
    assert w.step_mode.currentText() == "one sample" and "press S" in task(w)
    press(qtbot, w, Qt.Key.Key_S)
    wait_done(qtbot, w)
    settle(qtbot, w)
    _, acts, _, _, _, _, t = forward_numbers(w)
    y = acts[-1][0]
    assert f"y = {vec(y)}" in shown(w) and f"t = {vec(t)}" in shown(w)
    assert f"δ = y − t = {vec(y - t)}" in shown(w)


@learner("03-error-back")
def lesson_3(qtbot, w):
    assert "Click neuron 2 of the hidden layer" in task(w)
    click_neuron(qtbot, w, 1, 2)
    wait_done(qtbot, w)
    qtbot.waitUntil(lambda: "Neuron 2 of layer 1" in shown(w), timeout=5000)
    settle(qtbot, w)
    _, acts, _, _, _, _, t = forward_numbers(w)
    back = w.latest.trace_weights[1][2, :] @ (acts[-1][0] - t)
    a = acts[1][0, 2]
    assert f"Σ w·δ = {f(back)}" in shown(w) and f"f′(z) = {f(a * (1 - a))}" in shown(w)
    assert f"δ = f′(z) · Σ w·δ = {f(a * (1 - a) * back)}" in shown(w)


@learner("04-dynamic-programming")
def lesson_4(qtbot, w):
    # 2-3-3 by hand (27 and 51); add a layer: 2-3-3-3 by hand
    assert "backpropagation: 27 multiplications" in shown(w)
    assert "every path separately: 51 multiplications" in shown(w)
    assert "Add layer" in task(w)
    click(qtbot, w.controls.hidden.add)
    wait_done(qtbot, w)
    # backprop: 6 + 9 + 9 weights, two hidden layers of 3·3 + 3: 48; paths: 9 × 1 +
    # 9 × (1 + 3 paths × 2) + 6 × (1 + 9 paths × 4) = 9 + 63 + 222 = 294
    qtbot.waitUntil(lambda: "backpropagation: 48 multiplications" in shown(w), timeout=5000)
    assert "every path separately: 294 multiplications" in shown(w)


@learner("05-gradients")
def lesson_5(qtbot, w):
    assert "Choose Edges: gradient ∂L/∂w above the diagram, then press S" in task(w)
    edges = next(c for c in w.network.findChildren(type(w.step_mode))
                 if c.findText("gradient ∂L/∂w") >= 0)
    choose(qtbot, edges, "gradient ∂L/∂w")
    press(qtbot, w, Qt.Key.Key_S)                  # the focus is still on the Edges box
    wait_done(qtbot, w)
    settle(qtbot, w)
    snap = w.latest
    _, _, _, grads_w, _ = hand_pass(snap.trace_weights, snap.trace_biases, w.dataset.X_train,
                                    w.dataset.T_train)
    g = grads_w[1][0, 1]
    assert w.network.focused_edge() == ("W", 1, 0, 1)            # under the diagram
    assert f"∂L/∂w = {f(g)}" in shown(w)
    assert f"Δw = −η · ∂L/∂w = {f(-1.5 * g)}" in shown(w)
    assert f"the last update on this edge was Δw = {f(-1.5 * g)}" in shown(w)


@learner("06-error-surface")
def lesson_6(qtbot, w):
    assert p_framed(w) == ["surface"] and "Drag the red point" in task(w)
    drag_surface_point(qtbot, w)
    wait_done(qtbot, w)
    settle(qtbot, w)
    snap = w.latest
    W1 = snap.weights[1]
    assert f"(now {f(W1[0, 0])})" in shown(w) and f"(now {f(W1[1, 0])})" in shown(w)
    _, acts, _, _, _ = hand_pass(snap.weights, snap.biases, w.dataset.X_train,
                                 w.dataset.T_train)
    loss = -np.mean(np.sum(w.dataset.T_train * np.log(acts[-1]), axis=1))
    assert f"The loss where the point is now: {f(loss)}" in shown(w)


def type_rate(qtbot, w, box, text, shown_as):
    type_into(qtbot, box, text)                    # a click into the box, the text, Return
    qtbot.waitUntil(lambda: f"η = {shown_as} " in info(w), timeout=5000)


@learner("07-learning-rate")
def lesson_7(qtbot, w):
    assert ("try 0.05, then 200. Then type 5000, press Return, press R" in task(w)
            and "train with Space until training diverges" in task(w))
    qtbot.waitUntil(lambda: not w.controls.lr.spin.visibleRegion().isEmpty(),    # scrolled
                    timeout=3000)                                                # into view
    start = pass_shown(w)
    type_rate(qtbot, w, w.controls.lr.spin, "0.05", "0.05")
    train_with_space(qtbot, w, lambda: pass_shown(w) >= start + 30)   # Return gave Space back
    crawl = w.latest.loss
    type_rate(qtbot, w, w.controls.lr.spin, "200", "200")
    train_with_space(qtbot, w, lambda: pass_shown(w) >= start + 90)
    assert status(w) == "waiting for you…" and crawl > 0.1      # no divergence yet
    type_rate(qtbot, w, w.controls.lr.spin, "5000", "5000")
    qtbot.waitUntil(lambda: "The learning rate η is now 5000." in shown(w), timeout=5000)
    press(qtbot, w, Qt.Key.Key_R)                  # back to the lesson's initial weights
    qtbot.waitUntil(lambda: pass_shown(w) == 0, timeout=5000)
    assert "η = 5000 " in info(w)                  # Reset kept the rate
    press(qtbot, w, Qt.Key.Key_Space)
    close_divergence_box(qtbot, w)
    wait_done(qtbot, w)
    assert w.latest.diverged


def alternation(values) -> float:
    """The share of successive steps of ``values`` that turn back (the sign of the step flips)."""
    signs = np.sign(np.diff(np.asarray(values, float)))
    return float(np.mean(signs[1:] * signs[:-1] < 0))


def surface_path(w) -> np.ndarray:
    x, y = w.surface.path_item.getData()
    return np.column_stack([x, y])


@learner("08-momentum")
def lesson_8(qtbot, w):
    assert "Train about a hundred passes as it is (Space" in task(w)
    assert [a.label() for a in w.surface.axes()] == ["weight layer 1, 1→0",
                                                     "weight layer 2, 1→0"]
    train_with_space(qtbot, w, lambda: pass_shown(w) >= 100)
    # the whole path: the initial weights and every pass, up to the last before the pause
    qtbot.waitUntil(lambda: len(surface_path(w)) == pass_shown(w) + 1, timeout=30000)
    plain = surface_path(w)
    # plain gradient descent zig-zags: both weights on the surface turn back at nearly every pass
    assert alternation(plain[:, 0]) > 0.8 and alternation(plain[:, 1]) > 0.8
    plain_loss = w.cost.series("loss")
    type_into(qtbot, w.controls.momentum, "0.9")
    qtbot.waitUntil(lambda: w.latest.momentum == 0.9, timeout=5000)
    type_rate(qtbot, w, w.controls.lr.spin, "0.07", "0.07")
    press(qtbot, w, Qt.Key.Key_R)                  # the same initial weights again
    qtbot.waitUntil(lambda: pass_shown(w) == 0, timeout=5000)
    # the plain run stays, faded: on the cost curve and on the surface
    px, py = w.cost.previous_run()
    assert w.cost.is_drawn("previous") and np.array_equal(py, plain_loss[1])
    qtbot.waitUntil(lambda: len(w.surface.previous_path()) == len(plain), timeout=30000)
    assert np.allclose(w.surface.previous_path(), plain)
    train_with_space(qtbot, w, lambda: status(w).startswith("✓ Done.")
                     and pass_shown(w) >= 60)
    assert "α = 0.9" in shown(w) and "η = 0.07" in shown(w)
    qtbot.waitUntil(lambda: len(surface_path(w)) == pass_shown(w) + 1, timeout=30000)
    smooth = surface_path(w)
    assert alternation(smooth[:, 0]) < 0.3 and alternation(smooth[:, 1]) < 0.3
    assert np.allclose(w.surface.previous_path(), plain)           # still there to compare
    # and after as many passes, momentum's loss is below plain descent's
    loss = w.cost.series("loss")
    n = min(len(loss[1]), len(plain_loss[1])) - 1
    assert loss[1][n] < plain_loss[1][n]


@learner("09-vanishing-gradients")
def lesson_9(qtbot, w):
    settle(qtbot, w)
    snap = w.latest
    assert snap.sizes == (2, 6, 6, 6, 6, 6, 3)
    _, _, _, gw, gb = hand_pass(snap.trace_weights, snap.trace_biases, w.dataset.X_train,
                                w.dataset.T_train)
    norms = [np.sqrt((a ** 2).sum() + (b ** 2).sum()) for a, b in zip(gw, gb)]
    assert ", ".join(f(v) for v in norms) in shown(w)
    assert norms[0] < norms[-1] / 10                   # vanishing toward the input
    assert "Train a little (Space), then choose relu as the Activation" in task(w)
    train_with_space(qtbot, w, lambda: pass_shown(w) >= 10)
    choose(qtbot, w.controls.activation, "relu")
    qtbot.waitUntil(lambda: "relu / softmax" in info(w), timeout=10000)
    train_with_space(qtbot, w, lambda: status(w).startswith("✓ Done."))
    settle(qtbot, w)
    snap = w.latest
    _, acts, _, _, _ = hand_pass(snap.trace_weights, snap.trace_biases, w.dataset.X_train,
                                 w.dataset.T_train, hidden="relu")
    dead = sum(int(np.sum(np.all(a == 0, axis=0))) for a in acts[1:-1])
    assert f"Dead ReLUs now: {dead}." in shown(w)


@learner("10-computational-graph")
def lesson_10(qtbot, w):
    assert "step the graph forward and then backward" in task(w)
    complete_the_graph(qtbot, w)


@learner("11-write-it-yourself")
def lesson_11(qtbot, w):
    assert "Press S through a whole pass, phase by phase" in task(w)
    from bpviz.engine.phases import UPDATE
    for _ in range(20):                            # one phase a press, until the update shows
        seq = w.latest.seq
        press(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: w.latest.seq != seq, timeout=5000)
        if w.latest.phase is not None and w.latest.phase.kind == UPDATE:
            break
    assert w.latest.pass_count == 1
    click_neuron(qtbot, w, 1, 1)


def p_framed(w):
    return panel(w).framed()


def train_own_network(qtbot, w):
    """The learner's own work before the lessons: a bigger network, another learning rate, and
    training for a while."""
    click(qtbot, w.controls.hidden.add)
    qtbot.waitUntil(lambda: w.latest.sizes == (2, 3, 3, 3), timeout=10000)
    type_rate(qtbot, w, w.controls.lr.spin, "0.7", "0.7")
    train_with_space(qtbot, w, lambda: pass_shown(w) >= 200)


LESSON_IDS = [lesson.id for lesson in load_lessons(L.lessons_dir())[0]]    # bpviz's own


@pytest.mark.parametrize("start", ["fresh", "after own training"])
@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_a_learner_completes_the_lesson_as_written(qtbot, window, lesson_id, start):
    w = window
    assert lesson_id in LEARNERS, f"no scripted learner for lesson {lesson_id}"
    if start != "fresh":
        train_own_network(qtbot, w)
    number = LESSON_IDS.index(lesson_id) + 1
    open_lessons(qtbot, w, number)
    assert status(w) == "waiting for you…"
    LEARNERS[lesson_id](qtbot, w)
    wait_done(qtbot, w, timeout=30000)
    assert panel(w).done_ids() == [lesson_id]
    assert panel(w).chooser.itemText(number - 1).endswith("✓")


def complete_the_graph(qtbot, w):
    """Step the Graph panel node by node with its "Next node" button, forward then backward,
    until it is done."""
    view = w.graph_view
    for _ in range(500):
        if view.stage == "done":
            break
        click(qtbot, view.next_button)
    qtbot.waitUntil(lambda: view.stage == "done", timeout=5000)


def test_lesson_10_is_done_when_the_graph_is_stepped_to_done(qtbot, window):
    open_lessons(qtbot, window, 10)
    assert "graph" in panel(window).framed()
    assert status(window) == "waiting for you…"
    complete_the_graph(qtbot, window)
    wait_done(qtbot, window)


def test_lesson_10_stepping_only_forward_is_not_done(qtbot, window):
    open_lessons(qtbot, window, 10)
    view = window.graph_view
    for _ in range(3):
        click(qtbot, view.next_button)
    settle(qtbot, window)
    assert view.stage == "forward" and status(window) == "waiting for you…"


def test_lesson_10_without_a_graph_panel_waits_and_says_so(qtbot, window, monkeypatch):
    monkeypatch.delitem(window.docks, "graph")          # a build or layout without the panel
    open_lessons(qtbot, window, 10)
    note = panel(window).note_label
    assert note.isVisible() and "graph panel" in note.text()
    assert "stage: — (no Graph panel)" in shown(window)
    steps = pass_shown(window)
    focus_diagram(qtbot, window)
    key(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: pass_shown(window) == steps + 1, timeout=5000)
    settle(qtbot, window)
    assert status(window) == "waiting for you…"


# each lesson, and something else the learner does instead of its task
def other_1(qtbot, w):
    click_neuron(qtbot, w, 2, 1)                           # an output neuron
    qtbot.waitUntil(lambda: "Neuron 1 of layer 2" in shown(w), timeout=5000)


def other_2(qtbot, w):
    choose(qtbot, w.step_mode, "one mini-batch")           # a whole pass, not one sample
    focus_diagram(qtbot, w)
    key(qtbot, w, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: pass_shown(w) == 1, timeout=5000)


def other_3(qtbot, w):
    click_neuron(qtbot, w, 1, 1)                           # a hidden neuron, not neuron 2
    qtbot.waitUntil(lambda: "Neuron 1 of layer 1" in shown(w), timeout=5000)


def other_4(qtbot, w):
    type_into(qtbot, w.controls.lr.spin, "0.5")            # a setting, not a layer
    qtbot.waitUntil(lambda: "η = 0.5 " in info(w), timeout=5000)


def other_5(qtbot, w):
    focus_diagram(qtbot, w)
    key(qtbot, w, Qt.Key.Key_S)                            # a step, but the edges show weights
    qtbot.waitUntil(lambda: pass_shown(w) == 1, timeout=5000)


def other_6(qtbot, w):
    start = diagram_point(w, w.network.edge_pos(1, 0, 0))  # the same weight, in the diagram
    drag(qtbot, w.network.mouse_target(), start, start - QPoint(0, 30))
    qtbot.waitUntil(lambda: "weights set by hand" in w.statusBar().currentMessage(), timeout=5000)


def other_7(qtbot, w):
    train_until(qtbot, w, lambda: pass_shown(w) >= 20)     # the learning rate it had


def other_8(qtbot, w):
    train_until(qtbot, w, lambda: pass_shown(w) >= 60)     # no momentum, and only then set it
    type_into(qtbot, w.controls.momentum, "0.9")
    qtbot.waitUntil(lambda: w.latest.momentum == 0.9, timeout=5000)


def other_9(qtbot, w):
    train_until(qtbot, w, lambda: pass_shown(w) >= 30)     # still sigmoid


@pytest.mark.parametrize("number", range(1, 10))
def test_a_lesson_is_not_done_by_something_else(qtbot, window, number):
    open_lessons(qtbot, window, number)
    globals()[f"other_{number}"](qtbot, window)
    settle(qtbot, window)
    assert status(window) == "waiting for you…"
    assert not panel(window).is_done() and SHIPPED[number - 1] not in panel(window).done_ids()


@pytest.mark.run_modes("process", "thread")
def test_leaving_gives_the_learners_own_state_back(qtbot, window, tmp_path):
    w = window
    focus_diagram(qtbot, w)
    for _ in range(5):
        target = pass_shown(w) + 1
        key(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: pass_shown(w) == target, timeout=5000)
    type_into(qtbot, w.controls.lr.spin, "0.7")
    qtbot.waitUntil(lambda: "η = 0.7 " in info(w), timeout=5000)
    choose(qtbot, w.speed_box, "30")
    choose(qtbot, w.step_mode, "one epoch")
    edges = next(c for c in w.network.findChildren(type(w.step_mode))
                 if c.findText("error signal w·δ") >= 0)
    choose(qtbot, edges, "error signal w·δ")
    click_neuron(qtbot, w, 2, 2)
    mine = w.latest
    config = w.controls.config()
    surface_visible = w.docks["surface"].isVisible()

    open_lessons(qtbot, w, 1)
    kept = panel(w).kept_path()
    click(qtbot, lesson_button(w, "Next lesson"))
    wait_ready(qtbot, w, 2)
    key(qtbot, w, Qt.Key.Key_S)                   # the learner trains the lesson's network
    wait_done(qtbot, w)
    assert w.speed_box.currentText() == "10" and w.step_mode.currentText() == "one sample"
    click(qtbot, lesson_button(w, "Leave lessons"))
    qtbot.waitUntil(lambda: "your own network is back" in w.statusBar().currentMessage(),
                    timeout=10000)
    back = w.latest
    assert back.pass_count == mine.pass_count == 5
    for a, b in zip(back.weights + back.biases, mine.weights + mine.biases):
        assert np.array_equal(a, b)
    assert back.lr == 0.7
    assert w.controls.config() == config
    assert w.speed_box.currentText() == "30" and w.step_mode.currentText() == "one epoch"
    assert w.network.overlay() == "signal"
    assert w.network.selected_neuron() == (2, 2)
    assert w.docks["surface"].isVisible() == surface_visible
    lessons = w.docks["lessons"]                  # back behind the cost curve, where it was
    assert w.docks["cost"] in w.tabifiedDockWidgets(lessons) and lessons.visibleRegion().isEmpty()
    assert not panel(w).is_active() and panel(w).framed() == []
    assert "untitled" in w.windowTitle() and not w.recent_menu.isEnabled()
    assert not os.path.exists(kept)
    assert str(w.settings.value("speed")) == "30"
    # and it trains on from there as it would have
    focus_diagram(qtbot, w)
    key(qtbot, w, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: w.latest.epoch == 6, timeout=10000)


def test_leaving_at_once_still_gives_the_weights_back(qtbot, window):
    w = window
    focus_diagram(qtbot, w)
    for target in (1, 2):
        key(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: pass_shown(w) == target, timeout=5000)
    mine = w.latest
    click_menu(qtbot, w, "Help", "Lessons")
    click(qtbot, lesson_button(w, "Leave lessons"))         # before the lesson is even set up
    qtbot.waitUntil(lambda: "your own network is back" in w.statusBar().currentMessage(),
                    timeout=10000)
    assert w.latest.pass_count == 2
    assert all(np.array_equal(a, b) for a, b in zip(w.latest.weights, mine.weights))


def test_closing_the_lessons_panel_also_gives_the_state_back(qtbot, window):
    w = window
    before = w.latest
    open_lessons(qtbot, w, 9)                              # a different network
    qtbot.waitUntil(lambda: w.latest.sizes == (2, 6, 6, 6, 6, 6, 3), timeout=5000)
    close = w.docks["lessons"].findChild(QAbstractButton, "qt_dockwidget_closebutton")
    click(qtbot, close)                                    # the panel's ✕
    qtbot.waitUntil(lambda: "your own network is back" in w.statusBar().currentMessage(),
                    timeout=10000)
    assert w.latest.sizes == before.sizes
    assert all(np.array_equal(a, b) for a, b in zip(w.latest.weights, before.weights))


def test_back_and_the_lesson_list(qtbot, window):
    w = window
    open_lessons(qtbot, w, 4)
    assert panel(w).chooser.currentText() == "4. Dynamic programming"
    click(qtbot, lesson_button(w, "◀ Back"))
    wait_ready(qtbot, w, 3)
    assert panel(w).title_label.text() == "3. Passing the error back"
    assert w.network.selected_neuron() == (1, 0) and w.step_mode.currentText() == "one sample"
    choose_lesson(qtbot, w, 1)
    wait_ready(qtbot, w, 1)
    assert not lesson_button(w, "◀ Back").isEnabled()


@pytest.mark.run_modes("process", "thread")
def test_closing_bpviz_during_a_lesson_keeps_the_learners_network(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    focus_diagram(qtbot, w)
    for target in (1, 2, 3):
        key(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: pass_shown(w) == target, timeout=5000)
    mine = w.latest
    choose(qtbot, w.speed_box, "300")
    open_lessons(qtbot, w, 1)
    kept = panel(w).kept_path()
    assert w.speed_box.currentText() == "10"               # the lesson's speed
    w.close()                                              # in the middle of lesson 1
    again = open_window(size=(1600, 1000), speed=None)
    qtbot.waitUntil(lambda: again.speed_box.currentText() == "300", timeout=3000)
    recent = [a.text() for a in again.recent_menu.actions()]
    assert recent[0] == kept and again.recent_menu.isEnabled()
    bar = again.menuBar()
    file_menu = next(a.menu() for a in bar.actions() if a.text() == "&File")
    click(qtbot, bar, bar.actionGeometry(file_menu.menuAction()).center())
    qtbot.waitUntil(file_menu.isVisible, timeout=2000)
    menu = again.recent_menu
    click(qtbot, file_menu, file_menu.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    click(qtbot, menu, menu.actionGeometry(menu.actions()[0]).center())
    qtbot.waitUntil(lambda: pass_shown(again) == 3, timeout=10000)
    assert all(np.array_equal(a, b) for a, b in zip(again.latest.weights, mine.weights))


def test_the_first_launch_offer_opens_the_lessons(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    offer = panel(w).offer
    assert offer.isVisible()
    lessons = w.docks["lessons"]              # a tab behind the cost curve; nothing started
    assert lessons.isVisible() and lessons.visibleRegion().isEmpty() and not panel(w).is_active()
    click(qtbot, panel(w).offer_button)
    wait_ready(qtbot, w, 1)
    assert not offer.isVisible()
    w.close()
    again = open_window(size=(1600, 1000))
    assert not panel(again).offer.isVisible()


def test_the_first_launch_offer_dismissed_is_remembered(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    click(qtbot, panel(w).offer_close)
    assert not panel(w).offer.isVisible() and w.docks["lessons"].visibleRegion().isEmpty()
    assert not panel(w).is_active()
    w.close()
    again = open_window(size=(1600, 1000))
    assert not panel(again).offer.isVisible()


def test_progress_is_remembered(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    open_lessons(qtbot, w, 1)
    click_neuron(qtbot, w, 1, 0)
    wait_done(qtbot, w)
    click(qtbot, lesson_button(w, "Next lesson"))
    wait_ready(qtbot, w, 2)
    w.close()
    again = open_window(size=(1600, 1000))
    click_menu(qtbot, again, "Help", "Lessons")
    wait_ready(qtbot, again, 2)                             # where the learner was
    assert panel(again).chooser.itemText(0) == "1. The forward pass  ✓"
    assert not panel(again).chooser.itemText(1).endswith("✓")


def test_a_malformed_lesson_is_refused_in_the_panel(qtbot, open_window, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01-good.toml").write_text(GOOD)
    (folder / "02-bad.toml").write_text(GOOD.replace('kind = "passes_trained"',
                                                     'kind = "mind_reading"'))
    monkeypatch.setattr(L, "lessons_dir", lambda: folder)
    w = open_window(size=(1600, 1000))
    open_lessons(qtbot, w, 1)
    refused = panel(w).refused_label
    assert refused.isVisible()
    assert "02-bad.toml, line 10: unknown check kind 'mind_reading'" in refused.text()
    assert panel(w).chooser.count() == 1
    assert w.latest.sizes == (2, 4, 2)                     # the good one set up xor
    focus_diagram(qtbot, w)
    key(qtbot, w, Qt.Key.Key_S)
    wait_done(qtbot, w)


# -- bpviz snapshot --lesson -------------------------------------------------------------------

def run_snapshot(*args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", "snapshot", *args], capture_output=True,
                       text=True, timeout=300, env=env, cwd=Path(__file__).resolve().parents[1])
    return p.returncode, p.stdout, p.stderr


def test_snapshot_renders_a_lesson(tmp_path):
    from PIL import Image
    out = tmp_path / "lesson.png"
    code, stdout, stderr = run_snapshot("--lesson", "6", "--size", "1400x900", "--out", str(out))
    assert code == 0, stderr
    with Image.open(out) as img:
        assert img.size == (1400, 900)
        rgb = np.asarray(img.convert("RGB")).astype(int)
    # the surface panel's frame: the lessons' amber (f59e0b) is on screen
    amber = (np.abs(rgb - np.array([0xf5, 0x9e, 0x0b])).sum(axis=2) < 30).sum()
    assert amber > 500


def test_snapshot_refuses_a_lesson_that_does_not_exist(tmp_path):
    code, _, stderr = run_snapshot("--lesson", "99", "--out", str(tmp_path / "x.png"))
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "--lesson 99: there are lessons 1 to" in stderr
    code, _, stderr = run_snapshot("--lesson", "0", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "lesson" in stderr
    assert not (tmp_path / "x.png").exists()


# -- Undo and Redo never cross into or out of a lesson ---------------------------------------------

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def step_passes(qtbot, w, n):
    for _ in range(n):
        target = pass_shown(w) + 1
        press(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: pass_shown(w) == target, timeout=5000)


def weights_of(w):
    return [a.copy() for a in w.latest.weights]


def same_weights(w, weights):
    return all(np.array_equal(a, b) for a, b in zip(w.latest.weights, weights))


def undo_key(qtbot, w, redo=False):
    """Ctrl+Z (or Ctrl+Shift+Z) while the action is offered; wait until its run is shown."""
    action = w.redo_action if redo else w.undo_action
    assert action.isEnabled()
    seq = w.latest.seq
    press(qtbot, w, Qt.Key.Key_Z, CTRL_SHIFT if redo else CTRL)
    qtbot.waitUntil(lambda: w.latest.seq != seq and ("redone" if redo else "undone")
                    in w.statusBar().currentMessage(), timeout=10000)


def nothing_to(qtbot, w, redo=False):
    """Ctrl+Z (Ctrl+Shift+Z) offers nothing: the key changes nothing, and the run in place
    trains on from where it was."""
    action = w.redo_action if redo else w.undo_action
    assert not action.isEnabled()
    before = (w.latest.sizes, pass_shown(w))
    press(qtbot, w, Qt.Key.Key_Z, CTRL_SHIFT if redo else CTRL)
    step_passes(qtbot, w, 1)
    assert (w.latest.sizes, pass_shown(w)) == (before[0], before[1] + 1)


def test_undo_and_redo_stay_on_their_side_of_the_lessons(qtbot, window):
    w = window
    focus_diagram(qtbot, w)
    step_passes(qtbot, w, 5)
    five = weights_of(w)
    press(qtbot, w, Qt.Key.Key_R)                  # the learner's own reset: Undo offers 5
    qtbot.waitUntil(lambda: pass_shown(w) == 0 and w.undo_action.isEnabled(), timeout=5000)
    step_passes(qtbot, w, 2)
    two = weights_of(w)

    open_lessons(qtbot, w, 9)                      # a 2-6-6-6-6-6-3 network
    qtbot.waitUntil(lambda: w.latest.sizes == (2, 6, 6, 6, 6, 6, 3), timeout=5000)
    assert not w.undo_action.isEnabled() and not w.redo_action.isEnabled()
    focus_diagram(qtbot, w)
    nothing_to(qtbot, w)                           # the learner's runs are not in the lesson
    nothing_to(qtbot, w, redo=True)
    step_passes(qtbot, w, 2)
    lesson_run, lesson_passes = weights_of(w), pass_shown(w)
    press(qtbot, w, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: pass_shown(w) == 0 and w.undo_action.isEnabled(), timeout=5000)
    undo_key(qtbot, w)                             # the lesson's own run comes back ...
    assert pass_shown(w) == lesson_passes == 4 and same_weights(w, lesson_run)
    undo_key(qtbot, w, redo=True)                  # ... and Redo brings the reset back
    assert pass_shown(w) == 0 and w.latest.sizes == (2, 6, 6, 6, 6, 6, 3)
    click(qtbot, lesson_button(w, "Leave lessons"))
    qtbot.waitUntil(lambda: "your own network is back" in w.statusBar().currentMessage(),
                    timeout=10000)
    assert same_weights(w, two) and pass_shown(w) == 2
    assert not w.redo_action.isEnabled()
    assert w.undo_action.text() == "Undo reset: back to 5 epochs of training"

    undo_key(qtbot, w)                             # the learner's own Undo: the 5 passes
    assert w.latest.sizes == (2, 3, 3) and pass_shown(w) == 5 and same_weights(w, five)
    nothing_to(qtbot, w)                           # and never a lesson's network behind it
    assert w.latest.sizes == (2, 3, 3)
    click_menu(qtbot, w, "Train", "Redo reset: back to 2 epochs of training")
    qtbot.waitUntil(lambda: pass_shown(w) == 2 and same_weights(w, two), timeout=10000)
    assert not w.redo_action.isEnabled()
    assert w.undo_action.text() == "Undo reset: back to 6 epochs of training"


def test_return_in_a_number_box_gives_space_back_to_training(qtbot, window):
    w = window
    type_into(qtbot, w.controls.lr.spin, "0.5")    # Return applies the value ...
    qtbot.waitUntil(lambda: "η = 0.5 " in info(w), timeout=5000)
    assert not w.controls.lr.spin.hasFocus()       # ... and leaves the box
    train_with_space(qtbot, w, lambda: pass_shown(w) >= 5)
    assert w.controls.lr.spin.text() == "0.5"      # Space did not edit the number
    step_passes(qtbot, w, 1)                       # nor does S
    press(qtbot, w, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: pass_shown(w) == 0, timeout=5000)
    assert w.controls.lr.spin.text() == "0.5"
    type_into(qtbot, w.controls.lr.spin, "-3")     # refused: the box keeps the focus to fix it
    assert w.controls.lr.spin.hasFocus() and w.controls.lr.spin.note.text()
