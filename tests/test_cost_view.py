"""The cost curve panel: exact series, bounded memory, log scale, hover readout, NaN safety,
ranges of a new run, axis labels, legends, and the gradient norm of every layer."""

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtWidgets import QApplication

from bpviz.engine.network import Network
from bpviz.engine.snapshot import make_snapshot
from bpviz.ui.export import export
from bpviz.ui.plotting import style
from bpviz.ui.panels.cost import (AUTO_LOG_GROWTH, CostView, SeriesBuffer, decimate_minmax,
                                log_tick_strings, tick_strings)
from tests.conftest import run_passes


def train_snapshots(trainer, epochs, every=3):
    """Train for ``epochs`` epochs, taking a snapshot every ``every`` passes (and at the end), each
    with the pass losses and history rows since the previous one, as the worker sends them. A
    diverged pass (not applied, and not sent) ends the training."""
    snaps, losses, positions, history_from = [], [], [], 0
    while trainer.epoch < epochs:
        position = trainer.epoch + trainer.pass_in_epoch / trainer.passes_per_epoch()
        loss = trainer.step().trace.loss
        if not trainer.diverged:
            positions.append(position)
            losses.append(loss)
        if trainer.pass_count % every == 0 or trainer.epoch >= epochs or trainer.diverged:
            snaps.append(make_snapshot(trainer, seq=len(snaps) + 1, running=True,
                                       trace=trainer.last_trace, trace_weights=None,
                                       trace_biases=None, new_pass_losses=losses,
                                       new_pass_positions=positions,
                                       history_from=history_from))
            history_from = len(trainer.history)
            losses, positions = [], []
        if trainer.diverged:
            break
    return snaps

# showing a window on the offscreen platform logs this warning; it is harmless
SHOWN = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def view(qtbot):
    v = CostView()
    qtbot.addWidget(v)
    v.resize(700, 450)
    return v


def test_series_equal_history_and_pass_losses(view, make_run):
    _, _, _, trainer = make_run("moons")            # mini-batches of 32 and a test set
    all_losses = []
    snaps = train_snapshots(trainer, epochs=4, every=5)
    for snap in snaps:
        view.ingest(snap)
        all_losses.extend(snap.new_pass_losses)
    view.show_snapshot(snaps[-1])

    h = trainer.history
    for name, column in (("loss", h.loss), ("test_loss", h.test_loss), ("accuracy", h.accuracy),
                         ("test_accuracy", h.test_accuracy)):
        x, y = view.series(name)
        np.testing.assert_array_equal(x, h.epoch)
        np.testing.assert_array_equal(y, column)
        assert view.is_drawn(name)
    x, y = view.series("pass_loss")
    passes = trainer.passes_per_epoch()
    assert len(y) == trainer.pass_count == 4 * passes
    np.testing.assert_array_equal(y, all_losses)
    np.testing.assert_array_equal(x, np.arange(trainer.pass_count) / passes)


def test_full_batch_pass_loss_is_the_epoch_loss(view, make_run):
    _, _, _, trainer = make_run("gaussian-clouds")
    for snap in train_snapshots(trainer, epochs=20, every=7):
        view.ingest(snap)
    np.testing.assert_array_equal(view.series("pass_loss")[1], view.series("loss")[1])
    assert view.series("loss")[1][0] == pytest.approx(2.0981205629348856, abs=1e-12)


def test_no_test_set_draws_no_test_curves(view, make_run):
    _, _, _, trainer = make_run("gaussian-clouds")           # every sample trains: test loss NaN
    snaps = train_snapshots(trainer, epochs=5)
    for snap in snaps:
        view.ingest(snap)
        view.show_snapshot(snap)
    assert np.isnan(view.series("test_loss")[1]).all()
    assert not view.is_drawn("test_loss") and not view.is_drawn("test_accuracy")
    assert view.is_drawn("loss") and view.is_drawn("accuracy")
    view.grab()                                               # painting NaN does not raise


def test_nan_inside_a_series_does_not_raise(view, make_snap):
    snap = make_snap("moons", passes=2)
    rows = np.array(snap.new_history, copy=True)
    rows = np.vstack([rows, rows, rows])
    rows[:, 0] = [0, 1, 2]
    rows[1, 1:] = np.nan
    view.ingest(dataclasses.replace(snap, new_history=rows,
                                    new_pass_losses=np.array([0.5, np.nan, 0.4]),
                                    new_pass_positions=np.array([0.0, 0.5, 1.0])))
    view.show_snapshot(snap)
    view.set_log_scale(True)
    view.grab()
    assert np.isnan(view.series("loss")[1][1])
    assert view.is_drawn("loss") and view.is_drawn("pass_loss")


def test_decimation_keeps_memory_bounded_and_the_shape(qtbot, make_snap):
    cap = 1000
    view = CostView(max_points=cap)
    qtbot.addWidget(view)
    snap = make_snap("moons", passes=1)
    rng = np.random.RandomState(0)
    n = 12_345
    losses = 1.0 / (1.0 + np.arange(n) / 50) + 0.01 * rng.rand(n)
    losses[777] = 9.0                                         # a spike among the oldest points
    losses[4321] = -1.0                                       # and a dip
    positions = np.arange(n) / 10.0
    for start in range(0, n, 500):                            # fed in chunks, like snapshots
        part = slice(start, start + 500)
        view.ingest(dataclasses.replace(snap, new_pass_losses=losses[part],
                                        new_pass_positions=positions[part],
                                        new_history=np.zeros((0, len(snap.history_header)))))
        assert view.point_count() <= cap
    view.show_snapshot(snap)

    x, y = view.series("pass_loss")
    assert view.point_count() == len(x) <= cap
    assert (x[0], y[0]) == (positions[0], losses[0])
    assert (x[-1], y[-1]) == (positions[-1], losses[-1])
    assert y.max() == 9.0 and y.min() == -1.0
    assert np.all(np.diff(x) > 0)
    # kept points are original points, and the newest ones are all there, undecimated
    np.testing.assert_array_equal(y, losses[np.rint(x * 10).astype(int)])
    np.testing.assert_array_equal(x[-cap // 4:], positions[-cap // 4:])


@pytest.mark.parametrize("seed", range(5))
def test_series_buffer_min_max_and_ends(seed):
    rng = np.random.RandomState(seed)
    buf = SeriesBuffer(cap=64)
    ys = rng.randn(rng.randint(65, 3000))
    ys[rng.randint(len(ys), size=10)] = np.nan
    for chunk in np.array_split(np.arange(len(ys)), 37):
        buf.append(chunk.astype(float), ys[chunk])
        assert buf.n <= 64
    x, y = buf.arrays()
    assert x[0] == 0 and x[-1] == len(ys) - 1
    assert np.nanmax(y) == np.nanmax(ys) and np.nanmin(y) == np.nanmin(ys)


def test_series_buffer_keeps_old_stretches_evenly():
    """A long run does not squeeze its beginning into a couple of points: the thinned stretch has
    about one resolution from the first point on."""
    buf = SeriesBuffer(cap=1000)
    n = 200_000
    for chunk in np.array_split(np.arange(n, dtype=float), 400):
        buf.append(chunk, np.sin(chunk / 500))
    x, y = buf.arrays()
    counts, _ = np.histogram(x, bins=8, range=(0, n * 0.75))    # the thinned part of the run
    # (thinning the older half again and again would give counts like 2, 2, 3, 5, 9, 18, 37, 75)
    assert counts.min() > 0.4 * counts.max()
    # the shape survives: the envelope still reaches ±1 in every bin
    for lo in np.arange(0, n * 0.75, n * 0.75 / 8):
        inside = (x >= lo) & (x < lo + n * 0.75 / 8)
        assert y[inside].max() > 0.99 and y[inside].min() < -0.99


def test_decimate_minmax_keeps_bucket_extremes_and_all_nan_gaps():
    y = np.array([5, 1, 3, 9, np.nan, np.nan, np.nan, np.nan, 2, 2, 8, 0, 7.0])
    keep = decimate_minmax(y, 0, 13)
    assert list(keep) == [1, 3, 4, 10, 11, 12]    # min/max per bucket of 4, one NaN, the rest
    assert list(decimate_minmax(y, 4, 12, bucket=8)) == [0, 1, 2, 3, 10, 11, 12]


def test_log_scale_toggles_the_axis(view, make_snap):
    snap = make_snap("moons", passes=3)
    view.ingest(snap)
    view.show_snapshot(snap)
    axis = view.loss_plot.getAxis("left")
    assert not axis.logMode and not view.log_scale()
    view.set_log_scale(True)
    assert axis.logMode and view.log_scale()
    view.set_log_scale(False)
    assert not axis.logMode
    view.loss_plot.setLogMode(y=True)                 # the plot's own menu keeps the box in step
    assert view.log_scale()


def test_readout_shows_the_nearest_epoch(view, make_run):
    _, _, _, trainer = make_run("moons")
    for snap in train_snapshots(trainer, epochs=6, every=4):
        view.ingest(snap)
    view.show_snapshot(snap)
    h = trainer.history
    text = view.readout_text(3.4)                     # nearest epoch: 3
    assert text.startswith("epoch 3\n")
    for value in (h.loss[3], h.test_loss[3], h.accuracy[3], h.test_accuracy[3]):
        assert style.format_value(value) in text
    assert view.readout_text(-10).startswith("epoch 0\n")
    assert view.readout_text(1e9).startswith("epoch 5\n")


@SHOWN
def test_hovering_moves_the_readout(view, qtbot, make_run):
    _, _, _, trainer = make_run("moons")
    for snap in train_snapshots(trainer, epochs=6, every=4):
        view.ingest(snap)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(snap)
    view.loss_plot.vb.autoRange()
    scene_pos = view.loss_plot.vb.mapViewToScene(QPointF(2.2, float(np.mean(trainer.history.loss))))
    view.graphics.scene().sigMouseMoved.emit(scene_pos)
    assert view.loss_readout.isVisible()
    assert view.loss_readout.toPlainText() == view.readout_text(2.0)
    assert all(line.value() == 2.0 for line in view.hover_lines)
    view.graphics.scene().sigMouseMoved.emit(QPointF(-50, -50))         # outside both plots
    assert not view.loss_readout.isVisible()
    # a real mouse move over the plot reaches the same handler
    view.loss_plot.vb.autoRange()
    target = view.graphics.mapFromScene(view.loss_plot.vb.mapViewToScene(QPointF(4.0, 0.2)))
    qtbot.mouseMove(view.graphics.viewport(), QPoint(target.x(), target.y()))
    qtbot.waitUntil(lambda: view.loss_readout.isVisible(), timeout=1000)
    assert view.loss_readout.toPlainText().startswith("epoch 4")


def test_regression_greys_out_accuracy(view, make_run):
    _, _, _, trainer = make_run("sine")
    for snap in train_snapshots(trainer, epochs=3):
        view.ingest(snap)
    view.show_snapshot(snap)
    assert not view.is_drawn("accuracy") and not view.is_drawn("test_accuracy")
    assert view.is_drawn("loss") and view.is_drawn("test_loss")
    assert "regression" in view.accuracy_plot.titleLabel.text
    assert "accuracy" not in view.readout_text(1)


def test_clear_empties_everything(view, make_run):
    _, _, _, trainer = make_run("moons")
    for snap in train_snapshots(trainer, epochs=2):
        view.ingest(snap)
    view.show_snapshot(snap)
    view.clear()
    assert view.point_count() == 0
    for name in ("loss", "test_loss", "accuracy", "test_accuracy", "pass_loss"):
        assert len(view.series(name)[0]) == 0
        assert not view.is_drawn(name)
    assert view.readout_text(1.0) == ""
    view.show_snapshot(None)                       # a paint before the next run's first snapshot
    # the next run starts from scratch
    _, _, _, trainer = make_run("sine")
    for snap in train_snapshots(trainer, epochs=2):
        view.ingest(snap)
    view.show_snapshot(snap)
    np.testing.assert_array_equal(view.series("loss")[1], trainer.history.loss)
    assert not view.is_drawn("accuracy")


def test_nice_ceiling_steps():
    from bpviz.ui.panels.cost import nice_ceiling
    assert [nice_ceiling(x) for x in (1, 1.2, 2.5, 4, 7, 8, 999, 1001)] == \
        [1, 1.5, 3, 5, 7.5, 10, 1000, 1500]


def test_the_view_follows_the_data_in_steps_and_stops_when_moved_by_hand(view, make_run):
    """The range changes only when the data leave it (no axis rebuild on every frame), always
    showing every point; a hand-made zoom is kept; the A button fits again."""
    _, _, _, trainer = make_run("moons")
    ranges = []
    for snap in train_snapshots(trainer, epochs=40, every=2):
        view.ingest(snap)
        view.show_snapshot(snap)
        (x0, x1), (y0, y1) = view.loss_plot.vb.viewRange()
        x, y = view.series("pass_loss")
        assert x0 <= 0 and x1 >= x.max() and y0 <= y.min() and y1 >= y.max()   # all in view
        ranges.append((x1, y0, y1))
    assert len(set(ranges)) <= len(ranges) / 3          # most frames keep the range
    view.loss_plot.vb.sigRangeChangedManually.emit([True, True])   # the user zoomed
    view.loss_plot.setXRange(1, 2, padding=0)
    for snap in train_snapshots(trainer, epochs=60, every=5):
        view.ingest(snap)
        view.show_snapshot(snap)
    assert view.loss_plot.vb.viewRange()[0] == pytest.approx([1, 2])
    view.loss_plot.autoBtn.clicked.emit(view.loss_plot.autoBtn)
    assert view.loss_plot.vb.viewRange()[0][1] >= view.series("loss")[0].max()


# -- a new run starts with a fitted range ------------------------------------------------------

def feed(view, snaps):
    for snap in snaps:
        view.ingest(snap)
        view.show_snapshot(snap)


def synthetic(snap, epochs, losses):
    """``snap`` carrying history rows for ``epochs`` with train loss ``losses``."""
    header = list(snap.history_header)
    rows = np.zeros((len(epochs), len(header)))
    rows[:, header.index("epoch")] = epochs
    rows[:, header.index("loss")] = losses
    rows[:, 2:] = np.nan
    return dataclasses.replace(snap, new_history=rows, new_pass_losses=np.zeros(0),
                               new_pass_positions=np.zeros(0))


def assert_fitted(view, trainer):
    """The loss plot shows this run's data, and not much more."""
    (x0, x1), (y0, y1) = view.loss_plot.vb.viewRange()
    h = trainer.history
    x, y = view.series("pass_loss")
    lo, hi = min(y.min(), h.loss.min()), max(y.max(), h.loss.max())
    assert x0 == 0 and max(x.max(), h.epoch.max()) <= x1 <= 1.6 * max(1, x.max(), h.epoch.max())
    assert y0 <= lo and hi <= y1
    assert y1 - y0 <= 1.5 * max(hi - lo, 0.1 * hi)


def test_clear_fits_the_next_run_even_after_a_zoom_by_hand(view, make_run, make_snap):
    view.ingest(synthetic(make_snap("moons", passes=1), [0, 75_000, 150_000], [0.5, 1.5e5, 1e18]))
    view.show_snapshot()
    view.loss_plot.vb.sigRangeChangedManually.emit([True, True])      # the user zoomed
    view.loss_plot.setXRange(0, 150_000, padding=0)
    view.loss_plot.setYRange(0, 1.5e18, padding=0)
    view.clear()
    view.show_snapshot(None)                 # a paint before the new run's first snapshot
    assert view.loss_plot.vb.viewRange()[1][1] < 10
    _, _, _, trainer = make_run("moons")
    feed(view, train_snapshots(trainer, epochs=3, every=4))
    assert_fitted(view, trainer)
    # the new run is followed: more epochs extend the range
    feed(view, train_snapshots(trainer, epochs=20, every=50))
    assert_fitted(view, trainer)


def test_a_first_point_gets_a_readable_range(view, make_snap):
    """One point (or a flat curve) spans at least a tenth of its value, not 1e-12 of it."""
    view.ingest(synthetic(make_snap("moons", passes=1), [0], [2.0981205629348856]))
    view.show_snapshot()
    (_, _), (y0, y1) = view.loss_plot.vb.viewRange()
    assert y0 < 2.0981205629348856 < y1 and 0.2 < y1 - y0 < 0.3
    view.grab()


@SHOWN
def test_reset_in_the_window_fits_the_cost_curve_to_the_new_run(open_window, qtbot):
    window = open_window("gaussian-clouds")
    run_passes(qtbot, window, 3)
    cost = window.cost
    cost.loss_plot.vb.sigRangeChangedManually.emit([True, True])
    cost.loss_plot.setXRange(0, 150_000, padding=0)
    cost.loss_plot.setYRange(0, 1.5e18, padding=0)
    window.reset_action.trigger()
    qtbot.waitUntil(lambda: window.latest.pass_count == 0 and not len(cost.series("loss")[0]),
                    timeout=5000)
    run_passes(qtbot, window, 2)
    window.paint_now()
    (x0, x1), (y0, y1) = cost.loss_plot.vb.viewRange()
    losses = cost.series("loss")[1]
    assert len(losses) == 2 and losses[0] == pytest.approx(2.0981205629348856)
    assert x0 == 0 and 2 <= x1 <= 3            # as far as the previous run went, drawn faded
    assert y0 <= losses.min() and losses.max() <= y1 < 3
    px, py = cost.previous_run()
    assert cost.is_drawn("previous") and list(px) == [0, 1, 2]
    assert py[0] == pytest.approx(2.0981205629348856)


def test_a_diverging_loss_turns_the_log_scale_on_for_that_run_only(view, make_run):
    """A spike of more than AUTO_LOG_GROWTH times the first loss would flatten the rest of the
    curve on a linear axis: the axis turns logarithmic, so the losses after the spike still fill
    a good part of the plot; the next run starts linear and fitted again."""
    _, _, _, trainer = make_run("sine", lr=3.0, divergence_factor=0.0)   # spikes, then recovers
    feed(view, train_snapshots(trainer, epochs=400, every=25))
    losses = view.series("loss")[1]
    assert losses.max() > AUTO_LOG_GROWTH * losses[0]
    assert view.log_scale() and view.loss_plot.getAxis("left").logMode
    (_, _), (y0, y1) = view.loss_plot.vb.viewRange()
    later = np.log10(losses[len(losses) // 2:])               # the second half of the run
    assert y0 <= np.log10(view.series("pass_loss")[1]).min()
    assert np.log10(losses.max()) <= y1
    assert (later.max() - later.min()) / (y1 - y0) > 0.05        # on a linear axis: < 0.0001

    view.clear()
    assert not view.log_scale() and not view.loss_plot.getAxis("left").logMode
    _, _, _, trainer = make_run("moons")
    feed(view, train_snapshots(trainer, epochs=3, every=4))
    assert not view.log_scale()
    assert_fitted(view, trainer)


def test_unticking_the_automatic_log_scale_keeps_it_linear(view, make_run):
    _, _, _, trainer = make_run("plane", lr=2.0, divergence_factor=0.0)   # up to 1e305, then inf
    snaps = train_snapshots(trainer, epochs=400, every=10)
    assert trainer.diverged
    feed(view, snaps[:-5])
    assert view.log_scale()
    view.log_scale_box.click()                                    # the user wants it linear
    feed(view, snaps[-5:])
    assert not view.log_scale()
    (_, _), (y0, y1) = view.loss_plot.vb.viewRange()
    y = view.series("pass_loss")[1]
    finite = y[np.isfinite(y) & (y < 1e30)]
    assert y0 <= finite.min() and finite.max() <= y1 < 1e31        # the range holds finite data
    view.grab()


# -- axis labels in the data's own units -------------------------------------------------------

def test_tick_strings_are_plain_numbers_in_the_data_units():
    assert tick_strings([0.0002, 0.0004, 0.0006, 0.0008], 0.0002) == \
        ["0.0002", "0.0004", "0.0006", "0.0008"]
    assert tick_strings([200, 400, 600, 800], 200) == ["200", "400", "600", "800"]
    assert tick_strings([0, 50_000, 100_000, 150_000], 50_000) == ["0", "50000", "100000", "150000"]
    assert tick_strings([0.3412, 0.3414], 0.0002) == ["0.3412", "0.3414"]
    assert tick_strings([-0.5, 0.5], 0.5) == ["−0.5", "0.5"]
    assert tick_strings([5e17, 1e18, 1.5e18], 5e17) == ["5e17", "1e18", "1.5e18"]
    assert tick_strings([0, 2e-5, 4e-5, 1e-4], 2e-5) == ["0", "2e−5", "4e−5", "1e−4"]
    assert log_tick_strings([-5, -3, 0, 2, 5]) == ["1e−5", "0.001", "1", "100", "1e5"]
    assert log_tick_strings(np.log10([0.02, 0.03, 50]), minor=True) == ["0.02", "", "50"]


@pytest.mark.parametrize("losses", [np.linspace(0.0008, 0.0002, 12), np.linspace(1.5e5, 10, 12),
                                    np.geomspace(1e18, 1.0, 12)])
def test_axes_have_no_si_prefix_or_scale_factor(view, make_snap, losses):
    view.ingest(synthetic(make_snap("moons", passes=1), np.arange(12), losses))
    view.show_snapshot()
    view.grab()
    for plot in (view.loss_plot, view.accuracy_plot, view.grad_plot):
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert not axis.autoSIPrefix and axis.autoSIPrefixScale == 1.0
            assert "(x" not in axis.labelString() and "×" not in axis.labelString()
    axis = view.loss_plot.getAxis("left")
    (y0, y1) = view.loss_plot.vb.viewRange()[1]
    levels = axis.tickValues(y0, y1, 200)
    spacing, values = levels[0]
    labels = axis.tickStrings(values, 1.0, spacing)
    assert labels == tick_strings(values, spacing)
    # the labels read back as the tick values, in the data's own units
    for label, value in zip(labels, values):
        assert float(label.replace("−", "-")) == pytest.approx(value, rel=1e-6, abs=1e-12)


# -- the hover readout: gone when the mouse leaves, never in an export -------------------------

def hover_at(view, qtbot, plot, x, y=None):
    """Move the mouse over ``plot`` at (x, y) in its data (y None: half-way up)."""
    if y is None:
        y = float(np.mean(plot.vb.viewRange()[1]))
    target = view.graphics.mapFromScene(plot.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseMove(view.graphics.viewport(), QPoint(target.x(), target.y()))


@pytest.fixture
def hovered(view, qtbot, make_run):
    """A shown view with a run, and the mouse over the loss plot at epoch 3."""
    _, _, _, trainer = make_run("moons")
    feed(view, train_snapshots(trainer, epochs=6, every=4))
    view.show()
    qtbot.waitExposed(view)
    view.loss_plot.vb.autoRange()
    hover_at(view, qtbot, view.loss_plot, 3.0, float(np.mean(trainer.history.loss)))
    qtbot.waitUntil(view.loss_readout.isVisible, timeout=1000)
    assert view.loss_readout.toPlainText().startswith("epoch 3")
    return view


@SHOWN
def test_the_readout_goes_when_the_mouse_leaves(hovered, qtbot):
    view = hovered
    QApplication.sendEvent(view.graphics, QEvent(QEvent.Type.Leave))
    assert not view.loss_readout.isVisible()
    assert not any(line.isVisible() for line in view.hover_lines)
    view.show_snapshot(None)                       # a later paint does not bring it back
    assert not view.loss_readout.isVisible()
    # hiding the panel (a dock closed or tabbed away) hides it too
    hover_at(view, qtbot, view.grad_plot, 2.0)
    qtbot.waitUntil(view.gradient_readout.isVisible, timeout=1000)
    assert view.gradient_readout.toPlainText() == view.gradient_readout_text(2.0)
    assert not view.loss_readout.isVisible()
    view.hide()
    assert not view.gradient_readout.isVisible() and not view.loss_readout.isVisible()


@SHOWN
def test_the_readout_is_never_exported(hovered, qtbot, monkeypatch):
    view = hovered
    seen = []
    scene = view.graphics.scene()
    render = scene.render

    def spy(*args):
        seen.append((view.loss_readout.isVisible(), any(l.isVisible() for l in view.hover_lines)))
        return render(*args)

    monkeypatch.setattr(scene, "render", spy)
    with_hover = export.render_png(view.graphics, 1)
    assert seen == [(False, False)]                       # hidden while the scene rendered
    assert view.loss_readout.isVisible()                       # and back afterwards
    svg = export.render_svg(view.graphics, "cost")
    assert view.loss_readout.isVisible()
    assert b"train loss" in svg                            # the legend is there ...
    assert view.readout_text(3.0).splitlines()[1].split("    ")[0].encode() not in svg
    monkeypatch.undo()
    QApplication.sendEvent(view.graphics, QEvent(QEvent.Type.Leave))
    without = export.render_png(view.graphics, 1)
    assert with_hover == without                           # ... and the picture is the same


# -- legends: wholly inside their plot, every label complete ----------------------------------

def legend_fits(view, plot):
    legend = view.legend(plot)
    box = plot.vb.sceneBoundingRect().adjusted(-0.5, -0.5, 0.5, 0.5)
    frame = legend.sceneBoundingRect()
    assert box.contains(frame), (plot, frame, box)
    for sample, label in legend.items:
        text = label.item.sceneBoundingRect()
        assert frame.adjusted(-0.5, -0.5, 0.5, 0.5).contains(text), (label.text, text, frame)
        assert box.contains(sample.sceneBoundingRect())


@SHOWN
@pytest.mark.parametrize("size", [(700, 330), (560, 280), (460, 240)])
def test_legends_lie_wholly_inside_their_plots(qtbot, make_run, size):
    view = CostView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    _, _, _, trainer = make_run("moons", hidden=(8, 8, 8))    # train, test and per-pass curves
    feed(view, train_snapshots(trainer, epochs=5, every=4))
    view.grab()
    expected = {view.loss_plot: ["train loss", "test loss", "batch loss (per pass)"],
                view.accuracy_plot: ["train accuracy", "test accuracy"],
                view.grad_plot: ["layer 1 (input→h1)", "layer 2 (h1→h2)", "layer 3 (h2→h3)",
                                 "layer 4 (h3→output)"]}
    for plot, labels in expected.items():
        legend = view.legend(plot)
        assert legend.isVisible()
        legend_fits(view, plot)
        assert len(legend.labels()) == len(labels)
        if size == (700, 330):                              # the default dock: labels in full
            assert legend.labels() == labels
        else:
            assert all(shown in full for shown, full in zip(legend.labels(), labels))


# -- the gradient norm of every layer ----------------------------------------------------------

def test_gradient_norms_of_a_deep_sigmoid_network(view, make_run):
    _, _, net, trainer = make_run("gaussian-clouds", hidden=(8, 8, 8, 8))   # sigmoid hidden layers
    assert net.activation_names[:4] == ("sigmoid",) * 4 or \
        list(net.activation_names[:4]) == ["sigmoid"] * 4
    start = Network(net.sizes, [a.name for a in net.hidden_activations], net.out.name,
                    weights=[w.copy() for w in net.weights], biases=[b.copy() for b in net.biases])
    trace = start.backprop(trainer.X, trainer.T)               # the first epoch, by hand
    first = [np.sqrt((gw ** 2).sum() + (gb ** 2).sum())
             for gw, gb in zip(trace.grad_weights, trace.grad_biases)]
    feed(view, train_snapshots(trainer, epochs=6, every=2))

    L = net.n_layers
    assert view.gradient_layers() == L == 5
    h = trainer.history
    for l in range(1, L + 1):
        x, y = view.series(f"grad_norm_{l}")
        np.testing.assert_array_equal(x, h.epoch)
        np.testing.assert_array_equal(y, h.grad_norms[:, l - 1])
        assert y[0] == pytest.approx(first[l - 1], rel=1e-10)
        assert view.is_drawn(f"grad_norm_{l}")
        px, py = view.gradient_curves[l - 1].getData()       # what is drawn: log10 of them
        np.testing.assert_allclose(10 ** py, h.grad_norms[:, l - 1], rtol=1e-12)
    norms = h.grad_norms
    assert (norms[:, 0] < norms[:, -1]).all()                  # the first layer's vanish
    assert view.grad_plot.getAxis("left").logMode
    assert view.legend(view.grad_plot).labels() == [
        "layer 1 (input→h1)", "layer 2 (h1→h2)", "layer 3 (h2→h3)", "layer 4 (h3→h4)",
        "layer 5 (h4→output)"]
    assert "gradient norm" in view.grad_plot.titleLabel.text
    (_, _), (y0, y1) = view.grad_plot.vb.viewRange()
    assert y0 <= np.log10(norms.min()) and np.log10(norms.max()) <= y1
    text = view.gradient_readout_text(2.2)
    assert text.startswith("epoch 2")
    assert style.format_value(norms[2, 0]) in text.splitlines()[1]


def test_gradient_curves_are_made_once_and_follow_the_network(view, make_run):
    _, _, _, trainer = make_run("gaussian-clouds", hidden=(8, 8, 8, 8))
    feed(view, train_snapshots(trainer, epochs=2))
    items = list(view.gradient_curves)
    feed(view, train_snapshots(trainer, epochs=4))
    assert list(view.gradient_curves) == items and len(items) == 5    # setData, nothing re-added
    view.clear()
    assert not view.legend(view.grad_plot).isVisible()
    _, _, _, trainer = make_run("gaussian-clouds")               # 2-3-3: two layers
    feed(view, train_snapshots(trainer, epochs=3))
    assert list(view.gradient_curves[:5]) == items
    assert [view.is_drawn(f"grad_norm_{l}") for l in (1, 2)] == [True, True]
    assert sum(item.isVisible() for item in items) == 2
    assert view.legend(view.grad_plot).labels() == ["layer 1 (input→h1)",
                                                    "layer 2 (h1→output)"]
    np.testing.assert_array_equal(view.series("grad_norm_2")[1], trainer.history.grad_norms[:, 1])


def test_gradient_series_stay_bounded_and_keep_their_extremes(qtbot, make_snap):
    view = CostView(max_points=1000)
    qtbot.addWidget(view)
    snap = make_snap("gaussian-clouds", passes=1, hidden=(4, 4))
    header = list(snap.history_header)
    k = [header.index(f"grad_norm_{l}") for l in (1, 2, 3)]
    rng = np.random.RandomState(0)
    n = 10_000
    norms = np.exp(rng.randn(n, 3))
    norms[1234, 0] = 1e-9                                     # a vanishing moment, long ago
    for start in range(0, n, 400):
        rows = np.zeros((len(norms[start:start + 400]), len(header)))
        rows[:, 0] = np.arange(start, start + len(rows))
        rows[:, k] = norms[start:start + 400]
        view.ingest(dataclasses.replace(snap, new_history=rows, new_pass_losses=np.zeros(0),
                                        new_pass_positions=np.zeros(0)))
        view.show_snapshot(snap)
    for l in (1, 2, 3):
        x, y = view.series(f"grad_norm_{l}")
        assert len(y) <= 250 and x[-1] == n - 1 and y[-1] == norms[-1, l - 1]
        assert y.min() == norms[:, l - 1].min() and y.max() == norms[:, l - 1].max()
        np.testing.assert_array_equal(y, norms[x.astype(int), l - 1])
    (_, _), (y0, y1) = view.grad_plot.vb.viewRange()
    assert y0 <= -9 and np.log10(norms.max()) <= y1


@SHOWN
def test_the_window_exports_the_cost_panel_without_the_readout(open_window, qtbot, tmp_path):
    """Export all (PNG and SVG) and a GIF of the cost panel while the mouse is over it: the
    gradient plot is in the picture, the readout is not, and the PNG is the one made after the
    mouse left."""
    window = open_window("gaussian-clouds", size=(1600, 1000))
    run_passes(qtbot, window, 4)
    window.paint_now()
    cost = window.cost
    assert cost.isVisible()
    hover_at(cost, qtbot, cost.loss_plot, 2.0)
    qtbot.waitUntil(cost.loss_readout.isVisible, timeout=1000)
    text = cost.loss_readout.toPlainText()
    hovered = export.export_all(window, tmp_path / "hovered")
    assert cost.loss_readout.isVisible()                        # still there on screen
    export.export_panel(window, "cost", "gif", tmp_path / "cost.gif", frames=2)
    svg = (tmp_path / "hovered" / "cost.svg").read_bytes()
    assert b"gradient norm" in svg and b"layer 1 (input" in svg
    assert text.splitlines()[1].split("    ")[0].encode() not in svg
    QApplication.sendEvent(cost.graphics, QEvent(QEvent.Type.Leave))
    export.export_panel(window, "cost", "png", tmp_path / "left.png")
    assert not cost.loss_readout.isVisible()
    assert (tmp_path / "hovered" / "cost.png") in hovered
    assert (tmp_path / "hovered" / "cost.png").read_bytes() == (tmp_path / "left.png").read_bytes()


def test_closing_the_plots_as_pyqtgraph_does_at_quit_raises_nothing(view, make_snap):
    """pyqtgraph closes every plot view when the app quits: it deletes the items, then hides
    the view; the hover read-out must not be touched after that."""
    view.ingest(make_snap("moons", passes=3))
    view.show()
    view.graphics.close()
    assert view.graphics.closed and not view.graphics.isVisible()
