"""The inspector panel, fed snapshots directly (no thread)."""

import html
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollBar, QTableView

from bpviz.engine import inspect as engine_inspect
from bpviz.engine.inspect import delta_table, fmt, inspect_neuron
from bpviz.engine.network import Network
from bpviz.engine.snapshot import make_snapshot
from bpviz.ui.panels.inspector import DEAD_BG, SATURATED_BG, InspectorPanel, cell_margin, full_value


@pytest.fixture
def run_snap(make_run):
    """``run_snap(preset, passes, running=False, pinned=0, **overrides)`` → (ds, trainer, snap)."""

    def make(preset="gaussian-clouds", passes=10, running=False, pinned=0, prepare=None,
             **overrides):
        cfg, ds, net, trainer = make_run(preset, **overrides)
        if prepare is not None:
            prepare(net)
        trace = before = None
        for _ in range(passes):
            before = (list(net.weights), list(net.biases))
            trace = trainer.step().trace
        snap = make_snapshot(trainer, seq=passes, running=running, trace=trace,
                             trace_weights=before[0] if before else None,
                             trace_biases=before[1] if before else None, pinned=pinned)
        return ds, trainer, snap

    return make


@pytest.fixture
def panel(qtbot):
    p = InspectorPanel()
    qtbot.addWidget(p)
    p.resize(640, 900)
    return p


def trace_net(snap):
    acts = list(snap.activations)
    return Network(snap.sizes, acts[:-1], acts[-1], weights=snap.trace_weights,
                   biases=snap.trace_biases)


def expected_report(snap, ds, layer, index, sample, **kw):
    upd = [u for pair in zip(snap.update_weights, snap.update_biases) for u in pair]
    return inspect_neuron(trace_net(snap), ds.X_train, ds.T_train, layer, index, sample=sample,
                          last_update=upd, weights_for_update=snap.trace_weights, **kw)


def cell(table, row, col, role=Qt.DisplayRole):
    """What the table's model gives its view for a cell: the text by default, the value behind
    it (Qt.UserRole), the tooltip, the background brush, the font."""
    return table.model().index(row, col).data(role)


def row_count(table):
    return table.model().rowCount()


def cells(table, col):
    return [cell(table, r, col, Qt.UserRole) for r in range(row_count(table))]


def texts(table, col):
    return [cell(table, r, col) for r in range(row_count(table))]


def background(table, row, col):
    brush = cell(table, row, col, Qt.BackgroundRole)
    return None if brush is None else brush.color()


def inspect_first_hidden(panel, run_snap):
    """Show neuron (1, 0) of a run 10 passes in: (dataset, snapshot, the panel's report)."""
    ds, trainer, snap = run_snap(passes=10)
    panel.set_dataset(ds)
    panel.select_neuron(1, 0)
    panel.show_snapshot(snap)
    return ds, snap, panel.report()


def test_displayed_numbers_equal_the_report(panel, run_snap):
    ds, snap, r = inspect_first_hidden(panel, run_snap)
    assert (r.layer, r.index, r.sample) == (1, 0, 0)
    assert r.to_dict() == expected_report(snap, ds, 1, 0, 0).to_dict()

    # the pinned sample agrees with the snapshot's own (computed at the same trace weights)
    s = snap.sample
    assert r.z == pytest.approx(float(s.z[0][0]), rel=1e-12)
    assert r.a == pytest.approx(float(s.a[1][0]), rel=1e-12)
    assert r.delta == pytest.approx(float(s.delta[0][0]), rel=1e-12)

    header = panel.header_html()
    for v in (r.z, r.a, r.delta, r.delta_mean, r.delta_mean_abs):
        assert html.escape(fmt(v)) in header
    assert "sigmoid" in header and html.escape(r.formula) in header
    assert "before the update of pass 10" in header

    # incoming: from, weight, ∂L/∂w, Δw, finite difference, relative error
    t = panel.incoming_table
    assert row_count(t) == len(r.incoming) + 1
    rows = list(r.incoming) + [r.bias]
    for col, attr in ((1, None), (2, "grad"), (3, "update"), (4, "fd"), (5, "rel_error")):
        vals = [getattr(e, attr or ("weight" if hasattr(e, "weight") else "value")) for e in rows]
        assert cells(t, col) == vals
        assert texts(t, col) == [fmt(v) for v in vals]
    # full-batch plain gradient descent: the Δw shown is exactly −η · ∂L/∂w
    for e in rows:
        assert e.update == pytest.approx(-snap.lr * e.grad, rel=1e-12)
    assert all(e.fd is not None for e in rows) and r.fd.worst < 1e-6

    # outgoing: to, weight, δ_k, signal (pinned sample, then batch)
    t = panel.outgoing_table
    assert cells(t, 0) == [e.to for e in r.outgoing]
    assert cells(t, 1) == [e.weight for e in r.outgoing]
    assert cells(t, 2) == [e.delta for e in r.outgoing]
    assert cells(t, 3) == [e.signal_sample for e in r.outgoing]
    panel.set_scope("batch")
    assert cells(t, 2) == [e.delta_mean for e in r.outgoing]
    assert cells(t, 3) == [e.signal for e in r.outgoing]
    # the batch edge signals are the snapshot's own (same weights, same full batch)
    np.testing.assert_allclose(cells(t, 3), snap.edge_signals[1][0], rtol=1e-12)
    assert r.delta_mean == pytest.approx(float(snap.delta_mean[0][0]), rel=1e-12)

    # the delta table of the whole network
    table = panel.delta_table()
    assert table.scope == "batch"
    ref = delta_table(trace_net(snap), ds.X_train, ds.T_train)
    w = panel.delta_widget                        # one column per layer, one row per neuron
    for col, ld in enumerate(ref.layers):
        assert w.model().headerData(col, Qt.Horizontal) == f"layer {ld.layer}\n{ld.activation}"
        for j, v in enumerate(ld.delta):
            assert cell(w, j, col, Qt.UserRole) == float(v)
            assert cell(w, j, col) == fmt(v)
            assert cell(w, j, col, Qt.ToolTipRole).startswith(f"layer {ld.layer}, neuron {j}: δ = "
                                                              f"{full_value(v)}")
    panel.set_scope("sample")
    ref = delta_table(trace_net(snap), ds.X_train, ds.T_train, sample=0)
    assert [cell(w, j, 1, Qt.UserRole) for j in range(3)] == ref.layers[1].delta.tolist()


def test_chain_rule_html_contains_every_term(panel, run_snap):
    ds, trainer, snap = run_snap(passes=10)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.select_neuron(1, 2)
    r = panel.report()
    c = r.chain_sample
    text = panel.chain_rule_html()
    for t in c.terms:
        for v in (t.weight, t.delta, t.product):
            assert html.escape(fmt(v)) in text
    for v in (c.total, c.fprime, c.result, c.a):
        assert html.escape(fmt(v)) in text
    assert "σ′(z)" in text and "Σ" in text
    # largest |w·δ| first
    positions = [text.index(html.escape(fmt(t.product))) for t in c.terms]
    assert positions == sorted(positions)

    panel.set_scope("batch")
    text = panel.chain_rule_html()
    cb = r.chain_batch
    for t in cb.terms:
        assert html.escape(fmt(t.product)) in text and html.escape(fmt(t.delta)) in text
    assert html.escape(fmt(cb.result)) in text and "mean δ" in text
    assert "mean of products is not the product of means" in text


def test_output_layer_shows_y_minus_t(panel, run_snap):
    ds, trainer, snap = run_snap(passes=10)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.select_neuron(2, 1)
    r = panel.report()
    assert r.is_output
    text = panel.chain_rule_html()
    assert "δ = y − t" in text
    c = r.chain_sample
    for v in (c.y, c.t, c.result):
        assert html.escape(fmt(v)) in text
    assert c.result == pytest.approx(c.y - c.t, rel=1e-12, abs=1e-15)
    assert row_count(panel.outgoing_table) == 0
    panel.set_scope("batch")
    assert "ȳ − t̄" in panel.chain_rule_html()


def test_selecting_and_pinning_update_without_echo(panel, run_snap, qtbot):
    ds, trainer, snap = run_snap(passes=10)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    chosen, samples = [], []
    panel.neuronChosen.connect(lambda l, j: chosen.append((l, j)))
    panel.sampleChanged.connect(samples.append)

    panel.select_neuron(1, 1)
    assert (panel.report().layer, panel.report().index) == (1, 1)
    assert (panel.layer_box.value(), panel.index_box.value()) == (1, 1)
    panel.set_pinned(5)
    r = panel.report()
    assert r.sample == 5 and panel.sample_box.value() == 5
    assert r.to_dict() == expected_report(snap, ds, 1, 1, 5).to_dict()
    assert chosen == [] and samples == []          # slots never echo

    qtbot.mouseClick(panel.next_button, Qt.LeftButton)
    assert samples == [6] and panel.report().sample == 6
    qtbot.mouseClick(panel.prev_button, Qt.LeftButton)
    assert samples == [6, 5] and panel.report().sample == 5

    panel.layer_box.setValue(2)                   # the user picks another neuron
    assert chosen == [(2, 1)] and panel.report().is_output
    panel.index_box.setValue(0)
    assert chosen[-1] == (2, 0) and panel.report().index == 0
    w = panel.delta_widget                         # a click in the delta table: layer 1, neuron 2
    QTest.mouseClick(w.viewport(), Qt.LeftButton, Qt.NoModifier,
                     w.visualRect(w.model().index(2, 0)).center())
    assert chosen[-1] == (1, 2) and panel.report().index == 2

    panel.select_neuron(7, 0)                     # not a neuron of this network: ignored
    assert panel.selected_neuron() == (1, 2)
    panel.set_pinned(len(ds.X_train))             # not a sample: ignored
    assert panel.pinned() == 5


def test_input_neuron(panel, run_snap):
    ds, trainer, snap = run_snap(passes=3)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.select_neuron(0, 1)
    r = panel.report()
    assert r.is_input and r.delta is None and r.a == ds.X_train[0, 1]
    assert "no δ" in panel.chain_rule_html()
    assert row_count(panel.incoming_table) == 0
    assert cells(panel.outgoing_table, 3) == [e.signal_sample for e in r.outgoing]
    assert not panel.hist_curve.isVisible()


def test_recompute_only_when_needed_and_throttled_while_running(run_snap, qtbot):
    clock = [1000.0]              # the panel's clock stands still: every snapshot comes at once
    panel = InspectorPanel(clock=lambda: clock[0])
    qtbot.addWidget(panel)
    ds, trainer, snap = run_snap(passes=3, running=True)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    assert panel.compute_count == 1
    assert panel.report().fd is None               # no finite differences while running
    panel.show_snapshot(snap)                      # same snapshot: nothing to do
    assert panel.compute_count == 1

    # newer passes arrive faster than 5 a second: only the newest is computed, a bit later
    newer = []
    for _ in range(3):
        before = (list(trainer.network.weights), list(trainer.network.biases))
        trace = trainer.step().trace
        newer.append(make_snapshot(trainer, seq=10 + len(newer), running=True, trace=trace,
                                   trace_weights=before[0], trace_biases=before[1], pinned=0))
        panel.show_snapshot(newer[-1])
    assert panel.compute_count == 1 and panel.recompute_pending()
    qtbot.waitUntil(lambda: panel.compute_count == 2, timeout=2000)
    assert panel.report().to_dict() == expected_report(newer[-1], ds, 1, 0, 0,
                                                       fd_check=False).to_dict()
    assert not panel.recompute_pending()           # once: the newest, and nothing left to do
    panel.show_snapshot(newer[-1])
    assert panel.compute_count == 2

    # a user action is answered at once, even while running
    panel.select_neuron(1, 1)
    assert panel.compute_count == 3 and panel.report().index == 1

    # paused: at once, with the finite-difference check
    paused = make_snapshot(trainer, seq=99, running=False, trace=trace, trace_weights=before[0],
                           trace_biases=before[1], pinned=0)
    panel.show_snapshot(paused)
    assert panel.compute_count == 4 and panel.report().fd is not None


def test_weights_set_by_hand_while_paused_are_picked_up(panel, run_snap):
    ds, trainer, snap = run_snap(passes=0)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    r0 = panel.report()
    assert "at the current weights" in panel.header_html()
    assert r0.incoming[0].update is None           # no pass yet: no Δw
    trainer.network.weights[0][0, 0] += 0.5
    snap2 = make_snapshot(trainer, seq=2, running=False, trace=None, trace_weights=None,
                          trace_biases=None, pinned=0)
    assert snap2.pass_count == snap.pass_count
    panel.show_snapshot(snap2)
    assert panel.report().incoming[0].weight == r0.incoming[0].weight + 0.5


def test_current_weights_mode(qtbot, run_snap):
    p = InspectorPanel(at="current")
    qtbot.addWidget(p)
    ds, trainer, snap = run_snap(passes=4)
    p.set_dataset(ds)
    p.show_snapshot(snap)
    acts = list(snap.activations)
    net = Network(snap.sizes, acts[:-1], acts[-1], weights=snap.weights, biases=snap.biases)
    expected = inspect_neuron(net, ds.X_train, ds.T_train, 1, 0)
    r = p.report()
    assert r.z == expected.z and r.delta == expected.delta and r.incoming[0].grad == expected.incoming[0].grad
    assert r.update_at_these_weights is False       # Δw is the step that led to these weights
    assert "at the current weights" in p.header_html()


def test_dead_and_saturated_neurons_are_highlighted(panel, run_snap):
    def kill(net):
        net.biases[0][1] = -1000.0                 # hidden neuron 1: z ≤ 0 for every sample

    ds, trainer, snap = run_snap(passes=0, prepare=kill, activation="relu")
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.select_neuron(1, 1)
    assert panel.report().dead
    assert "dead" in panel.header_html()
    w = panel.delta_widget
    assert background(w, 1, 0) == DEAD_BG
    assert background(w, 0, 0) != DEAD_BG

    def saturate(net):
        net.biases[0][2] = 1000.0                  # sigmoid neuron 2: a = 1, σ′ = 0

    p2 = InspectorPanel()
    p2.resize(640, 900)
    ds, trainer, snap = run_snap(passes=0, prepare=saturate)
    p2.set_dataset(ds)
    p2.show_snapshot(snap)
    assert p2.delta_table().layers[0].saturated.tolist() == [False, False, True]
    assert background(p2.delta_widget, 2, 0) == SATURATED_BG
    p2.select_neuron(1, 2)
    assert p2.report().saturated and "saturated" in p2.header_html()
    p2.deleteLater()


def test_waits_for_matching_data(panel, run_snap, make_run):
    ds, trainer, snap = run_snap(passes=1)
    panel.show_snapshot(snap)
    assert panel.report() is None and "training data" in panel.header_html()
    _, other, _, _ = make_run("iris")             # 4 inputs: not this network's data
    panel.set_dataset(other)
    assert panel.report() is None
    panel.set_dataset(ds)
    assert panel.report() is not None


def test_new_architecture_resets_an_impossible_selection(panel, run_snap):
    ds, trainer, snap = run_snap(passes=1, hidden=(6,))
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.select_neuron(1, 5)
    assert panel.report().index == 5
    ds, trainer, snap = run_snap(passes=1)         # back to 3 hidden neurons
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    assert panel.selected_neuron() == (1, 0) and panel.report().index == 0
    assert panel.index_box.maximum() == 2


def test_grab_renders(panel, run_snap, tmp_path):
    ds, trainer, snap = run_snap(passes=10)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.show()
    path = tmp_path / "inspector.png"
    assert panel.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_big_data_is_capped_and_said_so(panel, run_snap, monkeypatch):
    monkeypatch.setattr(engine_inspect, "WORK_BUDGET", 1.0)        # → MIN_SAMPLES samples
    ds, trainer, snap = run_snap(passes=2)
    panel.set_dataset(ds)
    panel.set_pinned(1000)
    panel.show_snapshot(snap)
    r = panel.report()
    n = engine_inspect.MIN_SAMPLES
    assert r.n_samples == n and r.sample == 1000
    assert f"over the first {n} of the 1500 training samples" in panel.header_html()
    rows = np.r_[np.arange(n - 1), 1000]
    expected = inspect_neuron(trace_net(snap), ds.X_train[rows], ds.T_train[rows], 1, 0,
                              sample=n - 1)
    assert (r.z, r.a, r.delta, r.delta_mean) == (expected.z, expected.a, expected.delta,
                                                 expected.delta_mean)
    assert panel.delta_table().sample == 1000


def test_phase_by_phase_snapshot_has_no_update_yet(panel, run_snap, make_run):
    from bpviz.engine.phases import partial_trace, phase_plan
    ds, trainer, snap = run_snap(passes=2)
    net = trainer.network
    trace = net.backprop(trainer.X, trainer.T)
    phase = phase_plan(net, len(trainer.X))[2]
    mid = make_snapshot(trainer, seq=5, running=False, trace=partial_trace(trace, phase),
                        trace_weights=net.weights, trace_biases=net.biases, pinned=0, phase=phase)
    panel.set_dataset(ds)
    panel.show_snapshot(mid)
    r = panel.report()
    assert all(e.update is None for e in r.incoming)          # NaN updates are not shown
    assert np.isfinite(r.delta) and r.fd is not None
    assert "step by step" in panel.header_html()


def test_steady_range_moves_only_when_the_data_leave_it_or_shrink():
    from bpviz.ui.plotting.style import steady_range
    assert steady_range((0.0, 1.0), 0.2, 0.9) is None                  # inside, filling 70%
    assert steady_range((0.0, 1.0), 0.2, 1.2) == pytest.approx((0.2 - 0.03, 1.2 + 0.03))
    assert steady_range((0.0, 1.0), -0.1, 0.5) == pytest.approx((-0.1 - 0.018, 0.5 + 0.018))
    assert steady_range((0.0, 1.0), 0.4, 0.6) == pytest.approx((0.4 - 0.006, 0.6 + 0.006))
    assert steady_range((-0.03, 0.03), 0.0, 0.0) is None              # all zero: a unit span


def test_histogram_range_holds_while_the_deltas_stay_inside_it(panel, run_snap):
    _, _, r = inspect_first_hidden(panel, run_snap)
    h = r.delta_histogram
    view = panel.hist_plot.vb
    (x0, x1), (y0, y1) = view.viewRange()
    lo, hi = min(h.edges[0], r.delta, 0.0), max(h.edges[-1], r.delta, 0.0)
    assert x0 <= lo and hi <= x1 and y0 == 0 and max(h.counts) <= y1

    def shown(edges, counts):
        panel.histogram.show_report(replace(r, delta_histogram=replace(
            h, edges=tuple(edges), counts=tuple(counts))))
        return view.viewRange()

    edges, counts = np.asarray(h.edges, float), np.asarray(h.counts, float)
    # the deltas move a little, inside the range: the axes stay where they are
    assert shown(edges * 0.98, counts) == [[x0, x1], [y0, y1]]
    # they spread past it: x grows to hold them; the counts double: y grows
    wide = edges * 3 + (hi - lo)
    (a, b), _ = shown(wide, counts)
    assert a <= min(wide[0], 0.0) and max(wide[-1], r.delta) <= b and (a, b) != (x0, x1)
    _, (c, d) = shown(wide, counts * 2)
    assert c == 0 and d >= 2 * max(h.counts) and d != y1


def elided(table: QTableView) -> list:
    """(row, column, text) of every cell and header whose text is wider than the room its column
    leaves it (the column width less the style's text margins and the grid line): what the view
    would elide to "−5.459e…"."""
    margin = 2 * cell_margin(table) + (1 if table.showGrid() else 0)
    out = []
    for c in range(table.model().columnCount()):
        width = table.columnWidth(c)
        head = table.model().headerData(c, Qt.Horizontal)
        if head:
            fm = table.horizontalHeader().fontMetrics()
            if max(fm.horizontalAdvance(line) for line in head.split("\n")) + 8 > width:
                out.append((-1, c, head))
        for r in range(row_count(table)):
            text = cell(table, r, c)
            if not text:
                continue
            font = cell(table, r, c, Qt.FontRole)
            fm = QFontMetrics(font if font is not None else table.font())
            if fm.horizontalAdvance(text) + margin > width:
                out.append((r, c, text))
    return out


@pytest.mark.parametrize("size", [(700, 330), (1000, 700)])
@pytest.mark.parametrize("preset, neuron", [("gaussian-clouds", (1, 0)), ("spiral", (2, 5)),
                                            ("spiral3", (3, 1))])
def test_readable_in_a_small_dock(qtbot, make_run, make_snap, size, preset, neuron):
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    _, ds, _, _ = make_run(preset)
    panel.set_dataset(ds)
    panel.select_neuron(*neuron)
    snap = make_snap(preset, passes=10)
    panel.show_snapshot(snap)
    r = panel.report()
    assert (r.layer, r.index) == neuron

    tables = (panel.incoming_table, panel.outgoing_table, panel.delta_widget)
    scroll = panel.scroll_area()

    def readable():                                # once the layout has settled
        for table in tables:
            assert elided(table) == []
            # every row and column in view: the table has nothing to scroll
            assert table.verticalScrollBar().maximum() == 0
            assert table.horizontalScrollBar().maximum() == 0
        # one scroll area: at most one vertical scroll bar shows, the panel's own
        bars = [b for b in panel.findChildren(QScrollBar)
                if b.isVisible() and b.orientation() == Qt.Vertical]
        assert bars in ([], [scroll.verticalScrollBar()])
        assert not scroll.horizontalScrollBar().isVisible()

    for scope in ("sample", "batch"):
        panel.set_scope(scope)
        qtbot.waitUntil(readable, timeout=5000)

    # rows as many as the neurons: incoming edges and bias, outgoing edges, the widest layer
    sizes = snap.sizes
    assert row_count(panel.incoming_table) == sizes[neuron[0] - 1] + 1
    assert row_count(panel.delta_widget) == max(sizes[1:])
    assert panel.delta_widget.model().columnCount() == len(sizes) - 1
    # a cell keeps 4 significant digits; its tooltip every digit
    tip = cell(panel.incoming_table, 0, 2, Qt.ToolTipRole)
    assert cell(panel.incoming_table, 0, 2) == fmt(r.incoming[0].grad)
    assert tip == full_value(r.incoming[0].grad)
    assert float(tip.replace("−", "-")) == r.incoming[0].grad

    # the chain rule starts within the first screen, beside the histogram from 600 px wide
    scroll = panel.scroll_area()
    scroll.verticalScrollBar().setValue(0)
    assert panel.chain.mapTo(scroll.viewport(), panel.chain.rect().topLeft()).y() \
        < scroll.viewport().height() - 60
    assert panel.layout_mode() == ("wide" if size[0] >= 1000 else "medium")
    if panel.layout_mode() == "medium":
        assert panel.hist_widget.mapTo(panel, panel.hist_widget.rect().topLeft()).x() \
            > panel.chain.mapTo(panel, panel.chain.rect().topRight()).x()
    else:
        assert panel.incoming_table.mapTo(panel, panel.incoming_table.rect().topLeft()).x() \
            > panel.chain.mapTo(panel, panel.chain.rect().topRight()).x()
    # the panel's scroll bar brings every table's top, and its bottom, into view
    bar, body = scroll.verticalScrollBar(), scroll.widget()

    def reachable():                               # once the scroll area has its new range
        for table in tables:
            top = table.mapTo(body, table.rect().topLeft()).y()
            bar.setValue(top)
            assert 0 <= table.mapTo(scroll.viewport(), table.rect().topLeft()).y() \
                < scroll.viewport().height()
            bar.setValue(top + table.height() - scroll.viewport().height())
            bottom = table.mapTo(scroll.viewport(), table.rect().bottomLeft()).y()
            assert 0 <= bottom < scroll.viewport().height()
    qtbot.waitUntil(reachable, timeout=5000)


def test_narrow_dock_stacks_the_sections_in_one_column(panel, run_snap, qtbot):
    ds, trainer, snap = run_snap(passes=3)
    panel.resize(460, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    assert panel.layout_mode() == "narrow"
    chain_bottom = panel.chain.mapTo(panel, panel.chain.rect().bottomLeft()).y()
    assert panel.hist_widget.mapTo(panel, panel.hist_widget.rect().topLeft()).y() > chain_bottom
    assert elided(panel.incoming_table) == [] and elided(panel.delta_widget) == []
    bars = [b for b in panel.findChildren(QScrollBar) if b.isVisible()]
    scroll = panel.scroll_area()
    assert all(b in (scroll.verticalScrollBar(), scroll.horizontalScrollBar()) for b in bars)


# -- computed by the training session ------------------------------------------------------------

def test_an_answer_to_an_older_question_is_not_shown(panel, run_snap):
    """Asked elsewhere (the training session), answers may come late: only the newest question's
    answer is shown."""
    from bpviz.engine.inspect import answer_inspect
    ds, trainer, snap = run_snap(passes=5)
    asked = []
    panel.ask = lambda request, done: asked.append((request, done))
    panel.set_dataset(ds)
    panel.show_snapshot(snap)
    panel.select_neuron(1, 2)
    assert [r.index for r, _ in asked][-2:] == [0, 2] and panel.report() is None
    for request, done in reversed(asked):       # the newest answer first, the older one late
        done(answer_inspect(request, ds.X_train, ds.T_train))
    r = panel.report()
    expected = expected_report(snap, ds, 1, 2, 0)
    assert (r.layer, r.index) == (1, 2) and (r.z, r.delta) == (expected.z, expected.delta)
    assert "Layer 1, neuron 2" in panel.header_html()
    panel.show_snapshot(snap)                   # nothing changed: nothing asked
    assert len(asked) == 2


def test_the_window_asks_the_training_session_for_the_inspectors_numbers(qtbot, open_window):
    w = open_window()
    assert w.inspector.ask is not None
    w.docks["inspector"].raise_()
    w.step()
    qtbot.waitUntil(lambda: w.latest.pass_count == 1, timeout=10000)
    shown = w.inspector.reports_shown
    w.inspector.select_neuron(1, 1)
    qtbot.waitUntil(lambda: w.inspector.reports_shown > shown
                    and w.inspector.report().index == 1, timeout=10000)
    snap, ds = w.latest, w.dataset
    r = w.inspector.report()
    expected = expected_report(snap, ds, 1, 1, w.inspector.pinned())
    assert (r.z, r.a, r.delta, r.delta_mean) == (expected.z, expected.a, expected.delta,
                                                 expected.delta_mean)


# -- the table model -------------------------------------------------------------------------------

def test_the_tables_are_views_of_a_cell_model(panel, run_snap, qtbot):
    """Every table is a view of a CellTableModel: a refresh of the same shape changes the cells in
    place (the view keeps its rows), a new shape resets it; what the view is given per cell is the
    text, the value, the tooltip, colours and bold."""
    from PySide6.QtGui import QColor

    from bpviz.ui.panels.inspector import Cell, CellTableModel, fit_table, make_table
    ds, snap, r = inspect_first_hidden(panel, run_snap)
    for table in (panel.incoming_table, panel.outgoing_table, panel.delta_widget):
        assert isinstance(table, QTableView) and isinstance(table.model(), CellTableModel)

    table = make_table(["a", "b"], ["first", "second"])
    qtbot.addWidget(table)
    model = table.model()
    assert model.headerData(1, Qt.Horizontal, Qt.ToolTipRole) == "second"
    resets, changes = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b, roles=(): changes.append((a.row(), b.row())))
    red = QColor(255, 0, 0)
    model.set_rows([[Cell("1", 1.0, "one", red), Cell("x")], [Cell("2", 2.0, bold=True)]])
    assert len(resets) == 1 and model.rowCount() == 2 and model.columnCount() == 2
    assert cell(table, 0, 0) == "1" and cell(table, 0, 0, Qt.UserRole) == 1.0
    assert cell(table, 0, 0, Qt.ToolTipRole) == "one"
    assert cell(table, 0, 0, Qt.ForegroundRole).color() == red
    assert cell(table, 1, 0, Qt.FontRole).bold() and cell(table, 0, 0, Qt.FontRole) is None
    assert cell(table, 1, 1) == ""                  # a short row is filled with empty cells
    model.set_rows([[Cell("3", 3.0), Cell("x")], [Cell("2", 2.0, bold=True)]])
    assert len(resets) == 1 and changes == [(0, 1)] and cell(table, 0, 0) == "3"
    model.set_rows([[Cell("3", 3.0), Cell("x")], [Cell("2", 2.0, bold=True)]])
    assert changes == [(0, 1)]                      # nothing new: nothing redrawn
    model.set_rows([[Cell("a very long cell text indeed", 0.0)]])
    assert len(resets) == 2 and model.rowCount() == 1
    fit_table(table)
    assert elided(table) == [] and table.horizontalScrollBar().maximum() == 0
