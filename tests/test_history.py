"""History: checkpoints, the bounded snapshot ring, scrubbing and "rewind to here"."""

import numpy as np
import pytest

from bpviz.engine import Config
from tests.conftest import run_passes
from bpviz.engine.snapshot import snapshot_nbytes
from bpviz.ui.window.timeline import SnapshotHistory


@pytest.mark.parametrize("preset,overrides", [
    ("gaussian-clouds", {}),
    ("moons", {"optimizer": "momentum", "batch_size": 24}),
    ("spiral", {"optimizer": "adam", "batch_size": 50}),
])
def test_restoring_a_checkpoint_repeats_the_future_exactly(make_run, preset, overrides):
    _, _, net, trainer = make_run(preset, **overrides)
    for _ in range(7):
        trainer.step()
    cp = trainer.get_state(history=False)
    for _ in range(13):
        trainer.step()
    expected = [W.copy() for W in net.parameters()], trainer.history.table()
    trainer.set_state(cp)
    assert trainer.pass_count == 7 and len(trainer.history) == cp["history_length"]
    for _ in range(13):
        trainer.step()
    assert all(np.array_equal(a, b) for a, b in zip(net.parameters(), expected[0]))
    assert np.array_equal(trainer.history.table(), expected[1], equal_nan=True)


def test_snapshot_history_memory_is_capped(make_snap):
    snap = make_snap(passes=1)
    size = snapshot_nbytes(snap)
    assert size > snap.weights[0].nbytes
    history = SnapshotHistory(max_bytes=10 * size)
    from dataclasses import replace
    for seq in range(100):
        history.append(replace(snap, seq=seq, trajectory=None))
    assert history.nbytes <= 10 * size and 5 <= len(history) <= 10
    assert history[len(history) - 1].seq == 99            # the newest are kept
    history.truncate_after(95)
    assert history[len(history) - 1].seq == 95


@pytest.mark.parametrize("preset", ["gaussian-clouds", "spiral"])
def test_the_counted_size_of_snapshots_and_checkpoints_is_what_python_allocates(make_run, preset):
    """The caps are in real bytes: headers of many tiny arrays count, not only their data."""
    import tracemalloc

    from bpviz.engine.snapshot import data_bounds, make_snapshot
    from bpviz.engine.trainer import state_nbytes
    _, _, _, trainer = make_run(preset)
    result = trainer.step()
    bounds = data_bounds(trainer.X)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        states = [trainer.get_state(history=False) for _ in range(100)]
        state_real = (tracemalloc.get_traced_memory()[0] - base) / 100
        base = tracemalloc.get_traced_memory()[0]
        snaps = [make_snapshot(trainer, seq=k, running=True, trace=result.trace, trace_weights=None,
                               trace_biases=None, bounds=bounds, pinned=0) for k in range(20)]
        snap_real = (tracemalloc.get_traced_memory()[0] - base) / 20
    finally:
        tracemalloc.stop()
    assert state_real <= state_nbytes(states[0]) <= 1.5 * state_real
    assert 0.95 * snap_real <= snapshot_nbytes(snaps[0]) <= 1.5 * snap_real


@pytest.fixture
def window(open_window):
    return open_window("moons")


def test_scrubbing_shows_an_earlier_pass_in_every_panel(qtbot, window):
    run_passes(qtbot, window, 6)
    window.paint_now()
    index = len(window.history) - 4                        # three passes back
    earlier = window.history[index]
    window.timeline.scrub_to(index)
    assert window.timeline.is_scrubbing()
    window.paint_now()
    assert window.network.shown_snapshot() is earlier
    assert window.timeline.label.text().startswith(f"pass {earlier.pass_count} ")
    window.timeline.go_live()
    window.paint_now()
    assert window.network.shown_snapshot() is window.latest


def test_rewind_then_continue_equals_never_having_gone_further(qtbot, window):
    from bpviz.engine import build
    run_passes(qtbot, window, 10)
    index = next(k for k in range(len(window.history)) if window.history[k].pass_count == 4)
    window.timeline.scrub_to(index)
    window.timeline.rewind_button.click()
    qtbot.waitUntil(lambda: window.latest.rewound_to is not None, timeout=5000)
    assert window.latest.pass_count == 4
    assert len(window.cost.series("pass_loss")[1]) == 4        # the undone passes are gone
    run_passes(qtbot, window, 8)
    # the same 12 passes without any rewind
    _, net, trainer = build(Config.preset("moons"))
    losses = [trainer.step().trace.loss for _ in range(12)]
    snap = window.latest
    assert all(np.array_equal(a, b) for a, b in zip(snap.weights, net.weights))
    assert window.cost.series("pass_loss")[1].tolist() == losses
    assert np.array_equal(window.cost.series("loss")[1], np.array(trainer.history.loss))


def test_per_epoch_history_is_bounded_and_keeps_its_shape():
    from bpviz.engine.trainer import History
    h = History(max_rows=100)
    for e in range(10_000):
        h.append(e, 1.0 / (e + 1), 0.5, float("nan"), float("nan"), [e, 2 * e])
    assert len(h) <= 100
    assert h.epoch[0] == 0 and h.epoch[-1] == 9999           # first and newest rows kept
    assert np.all(np.diff(h.epoch) > 0)
    assert np.array_equal(h.loss, 1.0 / (h.epoch + 1))
    assert h.grad_norms.shape == (len(h), 2) and h.end_epoch == 10_000
    recent = h.rows_since(9990)
    assert recent[:, 0].tolist() == list(range(9990, 10_000))  # the newest stay at full resolution
    h.truncate_epochs(5000)
    assert h.end_epoch <= 5000 and h.epoch[-1] < 5000


def test_the_timeline_never_writes_nan_for_a_loss_not_computed_yet(qtbot, make_run):
    """A pass walked phase by phase has no loss before its loss phase."""
    from bpviz.engine.phases import partial_trace, phase_plan
    from bpviz.engine.snapshot import make_snapshot
    from bpviz.ui.window.timeline import TimelineBar

    _, _, net, trainer = make_run()
    plan = phase_plan(net, len(trainer.X))
    trace = net.backprop(trainer.X, trainer.T)
    history = SnapshotHistory()
    bar = TimelineBar(history)
    qtbot.addWidget(bar)
    for k in (0, 2):                                   # forward through layer 1, then the loss
        history.append(make_snapshot(trainer, seq=k, running=False,
                                     trace=partial_trace(trace, plan[k]), trace_weights=None,
                                     trace_biases=None, phase=plan[k]))
    bar.refresh()
    # the pass being walked is the first one: "pass 1" until its update is applied
    assert bar.label.text() == f"pass 1 · phase 3/7 · epoch 0 · loss {trace.loss:.4g}  (live)"
    bar.scrub_to(0)
    text = bar.label.text()
    assert "nan" not in text.lower()
    assert text == "pass 1 · phase 1/7 · epoch 0 · loss —  (earlier)"
