"""Phases at a reading pace, pause giving the learner's display back, and a status bar that says
what it shows — driven through the toolbar, the keys and the diagram's selectors.

The window holds a phase played while training on screen for the chosen pace, timed by its
``clock``; these tests put a clock there that moves only when the test moves it, so that "held
for at least the pace" is checked on that clock, never on the wall clock.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox

from bpviz.engine import Config, build

from tests.test_window_input import (button, choose, click, key, pass_shown, speed_shown, type_into,
                                wait_paused)


class StillClock:
    """A clock that stands still until the test moves it; counts how often it is read."""

    def __init__(self):
        self.now = 1000.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def window(open_window, monkeypatch):
    """The window as a new user gets it (10 passes a second, Phases "medium"), with a still
    clock, and the snapshots it told the session it had shown, in ``window.acks``."""
    w = open_window(size=(1500, 950), speed=None)
    w.clock = StillClock()
    acks = []
    painted = w.host.painted

    def record(seq):
        acks.append(seq)
        painted(seq)
    monkeypatch.setattr(w.host, "painted", record)
    w.acks = acks
    return w


def phase_shown(w) -> int | None:
    """The phase number the banner shows (1-based), or None when there is no banner."""
    match = re.search(r"phase (\d+)/(\d+)", w.network.phase_text())
    return int(match.group(1)) if match else None


def combos(w):
    net = w.network
    boxes = net.findChildren(QComboBox)
    edges = next(c for c in boxes if c.findText("gradient ∂L/∂w") >= 0)
    neurons = next(c for c in boxes if c is not edges)
    return edges, neurons


def wait_held(qtbot, w):
    """Let the window look at its clock a few more times (it does on every paint tick)."""
    reads = w.clock.reads
    qtbot.waitUntil(lambda: w.clock.reads >= reads + 5, timeout=5000)


def hold_and_release(qtbot, w, k: int, pace: float, short_by: float = 0.05):
    """Phase ``k`` is on the banner: it stays there while the clock is short of the pace, and
    the window lets the next phase come once the pace has passed."""
    qtbot.waitUntil(lambda: phase_shown(w) == k, timeout=10000)
    seq = w.latest.seq
    w.clock.advance(pace - short_by)
    wait_held(qtbot, w)
    assert phase_shown(w) == k and seq not in w.acks, (k, pace)
    w.clock.advance(short_by + 1e-6)
    qtbot.waitUntil(lambda: seq in w.acks, timeout=5000)


def play_at_one_pass_a_second(qtbot, w):
    choose(qtbot, w.speed_box, "1")
    click(qtbot, button(w, w.play_action))


# -- the pace -------------------------------------------------------------------------------------

def test_at_one_pass_a_second_every_phase_stays_on_screen_for_the_pace(qtbot, window):
    w = window
    assert w.pace_box.currentText() == "medium" and w.phase_pace() == pytest.approx(1.2)
    play_at_one_pass_a_second(qtbot, w)
    # the seven phases of the first pass, in order, each held 1.2 s on the window's clock, the
    # edges of the layer it works on emphasised
    shown, edges = [], []
    for k in range(1, 8):
        qtbot.waitUntil(lambda: phase_shown(w) == k, timeout=10000)
        shown.append(k)
        edges.append(w.network.emphasised_edges())
        if k == 1:
            assert w.status_labels["speed"].text() == "0.12 passes/s · 1.2 s a phase"
            assert w.status_labels["pass"].text() == "pass 1 · phase 1/7"
        hold_and_release(qtbot, w, k, 1.2)
    assert shown == [1, 2, 3, 4, 5, 6, 7]
    # forward through layer 1 (W¹), layer 2 (W²), the loss, the output deltas, the deltas of
    # layer 1 from layer 2 (along W²), the gradients, the update
    assert edges == [0, 1, None, None, 1, None, None]
    qtbot.waitUntil(lambda: phase_shown(w) == 1 and pass_shown(w) == 2, timeout=10000)


def test_choosing_a_pace_changes_how_long_each_phase_stays(qtbot, window):
    w = window
    play_at_one_pass_a_second(qtbot, w)
    hold_and_release(qtbot, w, 1, 1.2)
    choose(qtbot, w.pace_box, "slow")                    # 2.4 s a phase, from now on
    assert w.phase_pace() == pytest.approx(2.4)
    hold_and_release(qtbot, w, 2, 2.4, short_by=1.1)     # past medium's 1.2 s: still held
    assert w.status_labels["speed"].text() == "0.06 passes/s · 2.4 s a phase"
    choose(qtbot, w.pace_box, "fast")
    hold_and_release(qtbot, w, 3, 0.6)
    assert str(w.settings.value("phasePace")) == "fast"


def test_choosing_a_pace_at_a_faster_speed_says_where_phases_play(qtbot, window):
    w = window
    assert w.speed_box.currentText() == "10"
    choose(qtbot, w.pace_box, "fast")
    assert w.speed_box.currentText() == "10"               # the speed stays the learner's
    assert w.statusBar().currentMessage().startswith("phases play at Speed 1")


def test_with_phases_off_passes_play_whole_and_the_pace_is_remembered(qtbot, open_window,
                                                                     monkeypatch):
    w = open_window(size=(1500, 950), speed=None)
    shown = []
    original = w.network.show_snapshot

    def record(snap):
        shown.append(snap.phase)
        original(snap)
    monkeypatch.setattr(w.network, "show_snapshot", record)
    choose(qtbot, w.pace_box, "off")
    choose(qtbot, w.speed_box, "1")
    click(qtbot, button(w, w.play_action))
    qtbot.waitUntil(lambda: pass_shown(w) >= 2, timeout=10000)
    assert w.network.phase_text() == "" and all(phase is None for phase in shown)
    click(qtbot, button(w, w.play_action))
    wait_paused(qtbot, w)
    w.close()
    again = open_window(size=(1500, 950), speed=None)       # the same settings file
    assert again.pace_box.currentText() == "off" and again.speed_box.currentText() == "1"


# -- pause gives the learner's display back -----------------------------------------------------

def test_pausing_mid_pass_gives_back_the_edges_and_neurons_the_learner_chose(qtbot, window):
    w = window
    choose(qtbot, w.network.focus_combo(), "batch mean")      # the neurons' mean values
    edges, neurons = combos(w)
    choose(qtbot, edges, "gradient ∂L/∂w")
    choose(qtbot, neurons, "mean activation")
    chosen = (edges.currentText(), neurons.currentText())
    play_at_one_pass_a_second(qtbot, w)
    for k in range(1, 4):                                # through the forward phases, the loss
        hold_and_release(qtbot, w, k, 1.2)
    qtbot.waitUntil(lambda: phase_shown(w) == 4, timeout=10000)     # the output deltas
    assert (edges.currentText(), neurons.currentText()) == ("error signal w·δ", "mean δ")
    click(qtbot, button(w, w.play_action))               # pause in the middle of the pass
    wait_paused(qtbot, w)
    qtbot.waitUntil(lambda: w.network.phase_text() == "", timeout=5000)
    assert (edges.currentText(), neurons.currentText()) == chosen
    assert w.network.overlay() == "gradient" and w.network.node_mode() == "activation"
    assert w.network.legend_texts()[0].startswith("edges: gradient ∂L/∂w")
    assert w.network.emphasised_edges() is None
    # nothing of the pass was applied, and the panels show the weights as they are
    snap = w.latest
    assert snap.phase is None and snap.pass_count == 0
    assert w.status_labels["pass"].text() == "pass 0"
    # playing again walks a pass from its first phase
    click(qtbot, button(w, w.play_action))
    qtbot.waitUntil(lambda: phase_shown(w) == 1, timeout=10000)
    assert (edges.currentText(), neurons.currentText()) == ("weight", "mean activation")


# -- the status bar -------------------------------------------------------------------------------

def numpy_run():
    """The classic example's data and initial weights, and its forward pass in plain numpy."""
    _, net, trainer = build(Config.preset("gaussian-clouds"))
    X, T = np.array(trainer.X), np.array(trainer.T)
    W = [np.array(a) for a in net.weights]
    b = [np.array(a) for a in net.biases]

    def forward(W, b, X):
        h = 1 / (1 + np.exp(-(X @ W[0] + b[0])))
        z = h @ W[1] + b[1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def losses(W, b, X, T):
        return -(T * np.log(forward(W, b, X)[1])).sum(axis=1)

    return X, T, W, b, forward, losses


def shown_numbers(text: str) -> list[float]:
    return [float(v.replace("−", "-")) for v in re.findall(r"[−-]?\d+\.\d+(?:e[−-]?\d+)?", text)]


def test_after_a_one_sample_step_the_status_bar_says_that_samples_loss_before_and_after(
        qtbot, window):
    w = window
    choose(qtbot, w.step_mode, "one sample")
    click(qtbot, button(w, w.step_action))
    sample = w.status_labels["sample"]
    qtbot.waitUntil(lambda: sample.isVisible() and pass_shown(w) == 1, timeout=5000)
    i = w.latest.stepped_losses[0]
    assert w.boundary.pinned() == i                      # the sample the step trained on
    # the same step in plain numpy: sigmoid hidden layer, softmax, cross-entropy, η = 1.5
    X, T, W, b, forward, losses = numpy_run()
    x, t = X[i:i + 1], T[i:i + 1]
    h, y = forward(W, b, x)
    d2 = y - t
    d1 = h * (1 - h) * (d2 @ W[1].T)
    W2 = [W[0] - 1.5 * x.T @ d1, W[1] - 1.5 * h.T @ d2]
    b2 = [b[0] - 1.5 * d1.sum(axis=0), b[1] - 1.5 * d2.sum(axis=0)]
    before, after = losses(W, b, x, t)[0], losses(W2, b2, x, t)[0]
    train = losses(W2, b2, X, T).mean()
    accuracy = (forward(W2, b2, X)[1].argmax(axis=1) == T.argmax(axis=1)).mean()
    assert w.latest.stepped_losses[1:] == pytest.approx((before, after), rel=1e-12)
    assert w.latest.train_loss_now == pytest.approx(train, rel=1e-12)
    assert w.latest.train_accuracy_now == accuracy
    # what a person reads: the sample, its loss before → after, the training loss and accuracy
    assert sample.text().startswith(f"sample {i}: loss ")
    assert "→" in sample.text()
    assert shown_numbers(sample.text()) == pytest.approx([before, after], rel=1e-4)
    loss_text = w.status_labels["loss"].text()
    assert loss_text.startswith("training loss ")
    assert shown_numbers(loss_text) == pytest.approx([train], rel=1e-4)
    assert w.status_labels["accuracy"].text() == f"training accuracy {accuracy:.3f}"
    # the next mini-batch step is not a one-sample step: the sample's losses go
    choose(qtbot, w.step_mode, "one mini-batch")
    click(qtbot, button(w, w.step_action))
    qtbot.waitUntil(lambda: pass_shown(w) == 2, timeout=5000)
    assert not sample.isVisible()


def test_the_status_bars_training_loss_is_the_whole_training_sets_at_the_weights_shown(
        qtbot, open_window):
    w = open_window(size=(1500, 950))                     # at max speed
    type_into(qtbot, w.controls.batch, "32")
    qtbot.waitUntil(lambda: w.latest.batch_size == 32, timeout=5000)
    click(qtbot, w.network.mouse_target(), QPoint(5, 5))
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.latest.pass_count >= 200, timeout=20000)
    key(qtbot, w, Qt.Key.Key_Space)
    wait_paused(qtbot, w)
    qtbot.waitUntil(lambda: not w.latest.running, timeout=5000)
    w.paint_now()
    snap = w.latest
    X, T, _, _, forward, losses = numpy_run()
    W, b = list(snap.weights), list(snap.biases)
    train = losses(W, b, X, T).mean()
    accuracy = (forward(W, b, X)[1].argmax(axis=1) == T.argmax(axis=1)).mean()
    assert snap.train_now_pass == snap.pass_count
    assert snap.train_loss_now == pytest.approx(train, rel=1e-12)
    assert snap.train_accuracy_now == accuracy
    assert shown_numbers(w.status_labels["loss"].text()) == pytest.approx([train], rel=1e-4)
    assert w.status_labels["accuracy"].text() == f"training accuracy {accuracy:.3f}"
    # not the last mini-batch's loss, which the status bar used to show
    assert snap.loss != pytest.approx(train, rel=1e-3)
    assert speed_shown(w) == "paused"


# -- the session, with no window ------------------------------------------------------------------

class Events:
    def __init__(self):
        self.snaps = []

    def __call__(self, kind, payload):
        if kind == "snapshot":
            self.snaps.append(payload)


def test_the_session_sends_the_next_phase_only_when_the_window_has_shown_the_last(stopped_clock):
    import bpviz.training as training_module
    from bpviz.training import TrainingSession
    clock = stopped_clock(training_module)      # the session's clock moves when the test moves it
    events = Events()
    session = TrainingSession(Config.preset("gaussian-clouds"), events, speed=1, pace=1.2,
                              paced_by_paint=True)
    before = events.snaps[-1]                    # the initial weights, as the panels show them
    session.handle(("play",))
    assert events.snaps[-1].phase is None and events.snaps[-1].running
    for k in range(3):                           # forward 1, forward 2, the loss
        session.tick()
        if k > 0:
            assert events.snaps[-1].phase.index == k - 1
        n = len(events.snaps)
        session.tick()                           # not painted yet: nothing more
        assert len(events.snaps) == n and session.wait_s() is None
        session.handle(("painted", events.snaps[-1].seq))
        assert session.wait_s() == 0.0
    session.tick()
    assert events.snaps[-1].phase.index == 2 and events.snaps[-1].pass_count == 0
    session.handle(("pause",))                   # out of the pass: nothing of it applied
    paused = events.snaps[-1]
    assert paused.phase is None and not paused.running and paused.pass_count == 0
    for a, b in zip(paused.edge_signals + paused.weights, before.edge_signals + before.weights):
        assert np.array_equal(a, b)
    # with Phases off, 1 pass a second plays whole passes
    session.handle(("pace", None))
    session.handle(("play",))
    session.handle(("painted", events.snaps[-1].seq))
    while events.snaps[-1].pass_count == 0:      # the first pass is due after a second
        clock.now += session.wait_s()
        session.tick()
    assert events.snaps[-1].phase is None and events.snaps[-1].pass_count == 1


def test_at_full_speed_the_training_loss_is_measured_at_most_four_times_a_second():
    from bpviz.training import TRAIN_NOW_EVERY_S, TrainingSession
    events = Events()
    session = TrainingSession(Config.preset("gaussian-clouds"), events, speed=None)
    session.handle(("play",))
    start = time.perf_counter()
    while time.perf_counter() - start < 1.0:
        session.tick()
    elapsed = time.perf_counter() - start
    session.handle(("pause",))
    running = [s for s in events.snaps if s.running]
    measured = {s.train_now_pass for s in running}
    assert len(running) > len(measured) and len(measured) <= elapsed / TRAIN_NOW_EVERY_S + 2
    assert all(s.train_now_pass <= s.pass_count for s in running)
    assert events.snaps[-1].train_now_pass == events.snaps[-1].pass_count    # paused: exact


def test_turning_phases_off_mid_pass_takes_the_banner_away_at_once():
    from bpviz.training import TrainingSession
    events = Events()
    session = TrainingSession(Config.preset("gaussian-clouds"), events, speed=1, pace=0.6,
                              paced_by_paint=True)
    session.handle(("play",))
    session.tick()
    session.handle(("painted", events.snaps[-1].seq))
    session.tick()
    assert events.snaps[-1].phase.index == 0
    session.handle(("pace", None))
    assert events.snaps[-1].phase is None and events.snaps[-1].running
    assert events.snaps[-1].pass_count == 0


# -- the diagram ----------------------------------------------------------------------------------

def test_the_diagram_lights_the_edges_each_phase_works_on(qtbot, make_run):
    from bpviz.engine.phases import partial_trace, phase_plan
    from bpviz.engine.snapshot import make_snapshot
    from bpviz.ui.network.view import NetworkView
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()

    def lit(preset_overrides):
        _, _, net, trainer = make_run(**preset_overrides)
        trace = net.backprop(trainer.X, trainer.T)
        got = []
        for phase in phase_plan(net, len(trainer.X)):
            view.show_snapshot(make_snapshot(trainer, seq=phase.index, running=True,
                                             trace=partial_trace(trace, phase),
                                             trace_weights=None, trace_biases=None, phase=phase))
            got.append((phase.kind, view.emphasised_edges()))
        view.show_snapshot(make_snapshot(trainer, seq=99, running=False, trace=trace,
                                         trace_weights=None, trace_biases=None))
        assert view.emphasised_edges() is None               # no phase, no halo
        return got

    assert lit({}) == [("forward", 0), ("forward", 1), ("loss", None), ("output_delta", None),
                       ("hidden_delta", 1), ("gradients", None), ("update", None)]
    # 20 × 20 = 400 edges between the hidden layers: more than a halo each is worth drawing for;
    # the phase's band says where the phase works
    got = lit({"hidden": (20, 20), "activation": ("sigmoid", "sigmoid")})
    assert [e for _, e in got] == [0, None, 2, None, None, 2, None, None, None]
