"""Playing at full speed, snapshots and the decision boundary grid cost at most their share of the
training process's time, however expensive a big network makes them.

The session's clock is a fake one that passes, snapshots and the boundary grid advance by stated
amounts, so the counts below follow from the budget alone, not from this machine's speed.
"""

from __future__ import annotations

import types

import numpy as np

from bpviz import training
from bpviz.engine import Config
from bpviz.engine.trainer import Trainer
from bpviz.training import AIDS_SHARE, PUBLISH_GAP_S, PUBLISH_SHARE, TrainingSession

PASS_S = 0.001          # a pass
SNAPSHOT_S = 0.010      # making and sending a snapshot
AIDS_S = 0.020          # the boundary grid
PLAYED_S = 10.0


class Clock:
    def __init__(self):
        self.t = 1000.0

    def perf_counter(self) -> float:
        return self.t

    def costs(self, seconds, fn):
        def timed(*args, **kw):
            self.t += seconds
            return fn(*args, **kw)
        return timed


def test_a_costly_snapshot_and_boundary_keep_to_their_share(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(training, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    monkeypatch.setattr(training, "make_snapshot", clock.costs(SNAPSHOT_S, training.make_snapshot))
    aids = []
    drawing_aids = training.drawing_aids

    def counted_aids(*args, **kw):
        aids.append(clock.t)
        return drawing_aids(*args, **kw)

    monkeypatch.setattr(training, "drawing_aids", clock.costs(AIDS_S, counted_aids))
    monkeypatch.setattr(Trainer, "step", clock.costs(PASS_S, Trainer.step))
    snaps = []
    session = TrainingSession(Config.preset("gaussian-clouds"),
                              lambda kind, payload: snaps.append(payload) if kind == "snapshot"
                              else None)
    session.handle(("play",))
    start, passes0, published = clock.t, session.trainer.pass_count, len(snaps)
    aids.clear()
    while clock.t < start + PLAYED_S:
        session.tick()
    played = snaps[published:]
    passes = session.trainer.pass_count - passes0
    # one snapshot per SNAPSHOT_S / PUBLISH_SHARE seconds at most (not 30 a second), one grid
    # per AIDS_S / AIDS_SHARE seconds (not one per snapshot)
    assert len(played) <= PLAYED_S / (SNAPSHOT_S / PUBLISH_SHARE) + 2
    assert len(aids) <= PLAYED_S / (AIDS_S / AIDS_SHARE) + 2
    assert len(aids) >= 2                      # the boundary still follows training
    # training keeps the rest of the time
    assert passes * PASS_S >= (1 - PUBLISH_SHARE - AIDS_SHARE - 0.02) * PLAYED_S
    # and the cost curve misses no pass: the snapshots carry every pass's loss
    carried = np.concatenate([s.new_pass_losses for s in played])
    assert len(carried) == passes - (session.trainer.pass_count - played[-1].pass_count)
    # a snapshot between two grids carries the last grid made (the same immutable object)
    assert len({id(s.boundary) for s in played}) <= len(played) // 2 + 1


def test_however_costly_a_snapshot_one_goes_out_every_gap(monkeypatch):
    """A snapshot costing 0.3 s (8x512) would wait 6 s by the share alone; the window hears from
    training at least every PUBLISH_GAP_S."""
    clock = Clock()
    monkeypatch.setattr(training, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    monkeypatch.setattr(training, "make_snapshot", clock.costs(0.3, training.make_snapshot))
    monkeypatch.setattr(Trainer, "step", clock.costs(0.05, Trainer.step))
    snaps = []
    session = TrainingSession(Config.preset("gaussian-clouds"),
                              lambda kind, payload: snaps.append(payload) if kind == "snapshot"
                              else None)
    session.handle(("play",))
    start, published = clock.t, len(snaps)
    while clock.t < start + 20:
        session.tick()
    played = snaps[published:]
    assert 20 / (PUBLISH_GAP_S + 0.3 + 0.05) - 1 <= len(played) <= 20 / PUBLISH_GAP_S + 1
    # between two snapshots, at most the passes of one gap
    gaps = np.diff([s.pass_count for s in played])
    assert gaps.max() <= (PUBLISH_GAP_S + 0.3) / 0.05 + 1


def test_paused_a_snapshot_carries_a_fresh_boundary():
    """A step or a pause shows the boundary of the weights shown, whatever it costs."""
    snaps = []
    session = TrainingSession(Config.preset("gaussian-clouds"),
                              lambda kind, payload: snaps.append(payload) if kind == "snapshot"
                              else None)
    for _ in range(3):
        session.handle(("step",))
    from bpviz.engine.snapshot import boundary_grid, data_bounds
    bounds = data_bounds(session.trainer.dataset.X_all)
    expected = boundary_grid(session.trainer.network, bounds, 60)
    np.testing.assert_array_equal(snaps[-1].boundary.output, expected.output)
    assert snaps[-1].boundary is not snaps[-2].boundary


def test_a_large_training_state_goes_to_the_host_less_often(monkeypatch):
    """While playing, the state a host carries on from is sent every CHECKPOINT_EVERY_S, and a
    large one no faster than CHECKPOINT_SEND_BYTES_PER_S; a pause sends it at once."""
    from bpviz.engine.trainer import state_nbytes
    clock = Clock()
    monkeypatch.setattr(training, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    monkeypatch.setattr(Trainer, "step", clock.costs(PASS_S, Trainer.step))
    events = []
    config = Config(hidden=(64,) * 4, activation="tanh", init="xavier", batch_size=32,
                    optimizer="momentum", momentum=0.9, lr=0.01)
    session = TrainingSession(config, lambda kind, payload: events.append((kind, clock.t)),
                              checkpoints=True)
    session.handle(("step",))
    size = state_nbytes(session.trainer.get_state(history=False))
    rate = size / 4.0                                      # bytes a second: one every 4 s
    monkeypatch.setattr(training, "CHECKPOINT_SEND_BYTES_PER_S", rate)
    session.handle(("play",))
    start = clock.t
    while clock.t < start + PLAYED_S:
        session.tick()
    sent = [t for kind, t in events if kind == "checkpoint" and t > start]
    assert PLAYED_S / 4.0 - 2 <= len(sent) <= PLAYED_S / 4.0 + 1
    assert min(np.diff(sent)) >= 0.9 * size / rate
    session.handle(("pause",))
    assert events[-1][0] == "checkpoint" or events[-2][0] == "checkpoint"
