"""Snapshots carry what the panels draw at the resolution they draw it: a big network's per-edge
values of the last pass in float32, the error signals rebuilt on arrival from the weights and the
bias gradients (mean δ) instead of sent; small networks stay exact, bit for bit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from bpviz.engine import Config, build
from bpviz.engine.phases import phase_plan, partial_trace
from bpviz.engine.snapshot import COMPACT_PARAMETERS, data_bounds, make_snapshot

MB = 1_000_000
# a 4x256 snapshot through the pipe: 8.1 MB when every array went as float64
SNAPSHOT_4X256_BYTES = 4.5 * MB


def trained(hidden, passes=2, **overrides):
    config = Config(**{"hidden": hidden, "activation": "tanh", "init": "xavier",
                       "batch_size": 32, "lr": 0.05, **overrides})
    ds, net, trainer = build(config)
    for _ in range(passes):
        before = (list(net.weights), list(net.biases))
        result = trainer.step()
    return ds, net, trainer, result.trace, before


def snapshot_of(hidden, **overrides):
    ds, net, trainer, trace, (bw, bb) = trained(hidden, **overrides)
    snap = make_snapshot(trainer, seq=1, running=True, trace=trace, trace_weights=bw,
                         trace_biases=bb, bounds=data_bounds(ds.X_all), pinned=0)
    return snap, trace, bw


def through_the_pipe(snap):
    data = pickle.dumps(snap, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(data), len(data)


def test_a_4x256_snapshot_pickles_below_its_bound():
    snap, trace, before = snapshot_of((256,) * 4)
    assert snap.compact and sum(W.size for W in snap.weights) > COMPACT_PARAMETERS
    back, size = through_the_pipe(snap)
    assert size < SNAPSHOT_4X256_BYTES
    # what arrives is what was computed: current weights exact, the last pass's to float32
    for W, B, S, E, G, TG in zip(back.weights, snap.weights, back.edge_signals,
                                 trace.edge_signals, back.grad_weights, trace.grad_weights):
        assert W.dtype == np.float64 and np.array_equal(W, B)
        assert S.dtype == np.float32 and not S.flags.writeable
        np.testing.assert_allclose(S, E, rtol=2e-6, atol=1e-30)
        np.testing.assert_allclose(G, TG, rtol=2e-7, atol=1e-30)
    for T, W0 in zip(back.trace_weights, before):
        np.testing.assert_allclose(T, W0, rtol=1e-7)


@pytest.mark.parametrize("overrides", [{}, {"optimizer": "momentum", "momentum": 0.9, "l2": 1e-3},
                                       {"optimizer": "adam", "lr": 0.01}],
                         ids=["sgd", "momentum+l2", "adam"])
def test_a_small_networks_snapshot_arrives_exact(overrides):
    snap, trace, _ = snapshot_of((5, 4), **overrides)
    assert not snap.compact and snap.signals_derived
    back, _ = through_the_pipe(snap)
    for S, E in zip(back.edge_signals, trace.edge_signals):     # rebuilt, bit for bit
        assert S.dtype == np.float64 and np.array_equal(S, E)
    for name in ("weights", "trace_weights", "grad_weights", "update_weights", "grad_biases"):
        for a, b in zip(getattr(back, name), getattr(snap, name)):
            assert np.array_equal(a, b), name


def test_a_phase_before_the_deltas_sends_its_signals():
    """Walked phase by phase, a pass's signals are NaN until its deltas are known: sent as they
    are (no bias gradient to rebuild them from)."""
    ds, net, trainer, _, _ = trained((5, 4))
    trace = net.backprop(trainer.X[:32], trainer.T[:32])
    for phase in phase_plan(net, 32):
        shown = partial_trace(trace, phase)
        snap = make_snapshot(trainer, seq=1, running=False, trace=shown,
                             trace_weights=net.weights, trace_biases=net.biases, phase=phase)
        back, _ = through_the_pipe(snap)
        for S, E in zip(back.edge_signals, shown.edge_signals):
            np.testing.assert_array_equal(S, E)              # NaN where unknown, equal elsewhere


def test_the_panels_draw_a_compact_snapshot(qtbot, monkeypatch):
    """The diagram draws the strongest edges of the values that arrived and the inspector reads
    its neuron from them, as for an exact snapshot."""
    from bpviz.ui.panels.inspector import InspectorPanel
    from bpviz.ui.network.view import EDGE_CAP, NetworkView
    ds, net, trainer, trace, (bw, bb) = trained((240, 240))
    snap = make_snapshot(trainer, seq=1, running=True, trace=trace, trace_weights=bw,
                         trace_biases=bb, bounds=data_bounds(ds.X_all), pinned=0)
    assert snap.compact
    back, _ = through_the_pipe(snap)
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_overlay("signal")
    view.show_snapshot(back)
    QApplication.processEvents()
    drawn = sum(c.xData.size // 2 for c in view.edge_items().values() if c.xData is not None)
    assert 0 < drawn <= EDGE_CAP + 2
    assert f"{EDGE_CAP:,}" in view.legend_texts()[0].replace("\u202f", ",")

    # the inspector reads the same neuron from the compact snapshot as from the exact one
    from bpviz.engine import snapshot as snapshot_module
    monkeypatch.setattr(snapshot_module, "COMPACT_PARAMETERS", 10 ** 9)
    exact = make_snapshot(trainer, seq=1, running=True, trace=trace, trace_weights=bw,
                          trace_biases=bb, bounds=data_bounds(ds.X_all), pinned=0)
    assert not exact.compact
    reports = []
    for s in (back, exact):
        inspector = InspectorPanel()
        qtbot.addWidget(inspector)
        inspector.set_dataset(ds)
        inspector.show_snapshot(s)
        inspector.select_neuron(1, 3)
        reports.append(inspector.report())
    compact, reference = reports
    assert (compact.layer, compact.index) == (1, 3)
    for name in ("z", "a", "delta", "delta_mean", "a_mean"):
        assert getattr(compact, name) == pytest.approx(getattr(reference, name), rel=1e-5,
                                                       abs=1e-9), name
