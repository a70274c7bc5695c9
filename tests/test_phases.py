"""Backprop step by step: the order of the phases and what each one knows."""

import numpy as np
import pytest

from bpviz.engine import Network
from bpviz.engine.phases import partial_trace, phase_plan


def test_phase_order_of_a_deep_network():
    net = Network([2, 5, 4, 3], ["tanh", "relu"], "softmax", seed=0)
    plan = phase_plan(net, batch=32)
    assert [(p.kind, p.layer) for p in plan] == [
        ("forward", 1), ("forward", 2), ("forward", 3), ("loss", 3), ("output_delta", 3),
        ("hidden_delta", 2), ("hidden_delta", 1), ("gradients", -1), ("update", -1)]
    assert [p.index for p in plan] == list(range(9)) and all(p.total == 9 for p in plan)
    assert "32×5 · 5×4" in plan[1].detail            # the shapes of this batch
    assert "reuses δ³" in plan[5].detail              # layer 2 reuses the output deltas


def test_partial_trace_knows_only_what_is_computed():
    net = Network([2, 5, 4, 3], ["tanh", "relu"], "softmax", seed=0)
    rng = np.random.RandomState(0)
    X, T = rng.randn(6, 2), np.eye(3)[rng.randint(0, 3, 6)]
    trace = net.backprop(X, T)
    plan = phase_plan(net, 6)
    known = lambda arrays: [bool(np.isfinite(a).all()) for a in arrays]  # noqa: E731
    f2 = partial_trace(trace, plan[1])                 # after forward through layer 2
    assert known(f2.activations) == [True, True, True, False]
    assert known(f2.pre_activations) == [True, True, False]
    assert np.isnan(f2.loss) and not any(known(f2.deltas)) and not any(known(f2.grad_weights))
    loss = partial_trace(trace, plan[3])
    assert loss.loss == trace.loss and all(known(loss.activations)) and not any(known(loss.deltas))
    out = partial_trace(trace, plan[4])
    assert known(out.deltas) == [False, False, True] and known(out.edge_signals) == [False, False, True]
    assert np.array_equal(out.deltas[2], trace.deltas[2])
    h1 = partial_trace(trace, plan[6])
    assert all(known(h1.deltas)) and not any(known(h1.grad_weights))
    assert partial_trace(trace, plan[7]) is trace


def test_snapshots_say_whether_the_update_fields_hold_a_real_update(make_run):
    from bpviz.engine.snapshot import make_snapshot
    _, _, net, trainer = make_run()

    def snap(trace, phase=None):
        return make_snapshot(trainer, seq=0, running=False, trace=trace, trace_weights=None,
                             trace_biases=None, phase=phase)

    assert not snap(None).has_update                            # before the first pass
    plan = phase_plan(net, len(trainer.X))
    walked = net.backprop(trainer.X, trainer.T)
    for phase in plan[:-1]:                                     # the update is not known yet
        s = snap(partial_trace(walked, phase), phase)
        assert not s.has_update and np.isnan(s.update_weights[0]).all(), phase.kind
    trace = trainer.step().trace
    assert snap(trace).has_update and snap(trace, plan[-1]).has_update
    trainer.last_update = None                                  # a weight set by hand, a reset
    s = snap(net.backprop(trainer.X, trainer.T))
    assert not s.has_update and not any(np.any(u) for u in s.update_weights)


def test_loss_not_computed_yet_is_a_dash():
    from bpviz.ui.plotting.style import NOT_COMPUTED, format_known, format_loss
    assert format_loss(float("nan")) == format_loss(None) == NOT_COMPUTED == "—"
    assert format_loss(0.9933512) == "0.99335" and format_loss(2.0981205629348856, 4) == "2.098"
    assert format_loss(float("inf")) == "∞"                    # diverged: a value, not "—"
    assert format_known(float("nan")) == NOT_COMPUTED and format_known(-0.5) == "−0.5"


@pytest.fixture
def window(open_window):
    return open_window()


def test_stepping_one_phase_at_a_time_walks_the_pass_then_applies_it(qtbot, window):
    from bpviz.engine import Config, build
    _, ref_net, ref = build(Config.preset("gaussian-clouds"))
    ref.step()                                     # the same pass, in one go
    initial = window.latest.weights
    window.set_step_mode("phase")
    seen = []
    for k in range(7):
        window.step()
        qtbot.waitUntil(lambda: window.latest.phase is not None
                        and window.latest.phase.index == k, timeout=5000)
        window.paint_now()
        snap = window.latest
        seen.append((snap.phase.kind, snap.phase.layer))
        assert snap.phase.title in window.network.phase_text()
        if snap.phase.kind != "update":
            assert snap.pass_count == 0
            assert all(np.array_equal(a, b) for a, b in zip(snap.weights, initial))
    assert seen == [("forward", 1), ("forward", 2), ("loss", 2), ("output_delta", 2),
                    ("hidden_delta", 1), ("gradients", -1), ("update", -1)]
    snap = window.latest
    assert snap.pass_count == 1
    assert all(np.array_equal(a, b) for a, b in zip(snap.weights, ref_net.weights))
    window.step()                                  # the next pass starts at forward layer 1
    qtbot.waitUntil(lambda: window.latest.seq > snap.seq, timeout=5000)
    assert (window.latest.phase.kind, window.latest.phase.layer) == ("forward", 1)


def test_phase_snapshots_hide_values_not_yet_computed(qtbot, window):
    window.set_step_mode("phase")
    for k in range(4):                             # forward 1, forward 2, loss, output deltas
        window.step()
    qtbot.waitUntil(lambda: window.latest.phase is not None and window.latest.phase.index == 3,
                    timeout=5000)
    snap = window.latest
    assert np.isfinite(snap.delta_mean[1]).all() and np.isnan(snap.delta_mean[0]).all()
    assert np.isnan(snap.grad_weights[0]).all() and np.isnan(snap.update_weights[1]).all()
    assert snap.loss == pytest.approx(2.0981205629348856)


def test_epoch_granularity_runs_to_the_end_of_the_epoch(qtbot, window):
    window.controls.batch.setValue(500)            # three passes an epoch
    qtbot.waitUntil(lambda: window.latest.batch_size == 500, timeout=5000)
    window.step()                                  # one pass
    qtbot.waitUntil(lambda: window.latest.pass_count == 1, timeout=5000)
    window.set_step_mode("epoch")
    window.step()
    qtbot.waitUntil(lambda: window.latest.epoch == 1 and not window.latest.running, timeout=5000)
    assert window.latest.pass_count == 3


def test_sample_granularity_trains_on_one_sample_and_pins_it(qtbot, window):
    from bpviz.engine import Config, build
    _, ref_net, ref = build(Config.preset("gaussian-clouds"))
    first, second = (int(i) for i in ref.sample_order(0)[:2])   # the epoch's shuffled order
    ref.step(samples=1)
    window.set_step_mode("sample")
    window.pin_sample(7)
    stepped = []
    window.host.snapshotArrived.connect(
        lambda s: stepped.append(s) if s.stepped_sample is not None else None)
    window.step()
    qtbot.waitUntil(lambda: len(stepped) == 1, timeout=5000)
    snap = stepped[0]
    assert snap.pass_count == 1 and snap.stepped_sample == first
    assert f"training sample {first} (class" in snap.message
    for W, W_ref in zip(snap.weights, ref_net.weights):
        assert np.array_equal(W, W_ref)
    assert snap.delta_mean[1] == pytest.approx(ref.last_trace.deltas[1][0])   # that sample's δ
    assert window.boundary.pinned() == first       # the stepped sample is pinned
    qtbot.waitUntil(lambda: window.latest.sample is not None and window.latest.sample.index == first,
                    timeout=5000)
    window.step()
    qtbot.waitUntil(lambda: len(stepped) == 2, timeout=5000)
    assert stepped[1].stepped_sample == second and stepped[1].epoch == 0
    assert stepped[1].pass_in_epoch == 2
