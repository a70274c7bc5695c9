"""The cost curve panel: exact series, bounded memory, log scale, hover readout, NaN safety."""

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF

from bpviz.engine.snapshot import make_snapshot
from bpviz.ui import style
from bpviz.ui.cost_view import CostView, SeriesBuffer, decimate_minmax


def train_snapshots(trainer, epochs, every=3):
    """Train for ``epochs`` epochs, taking a snapshot every ``every`` passes (and at the end), each
    with the pass losses and history rows since the previous one, as the worker sends them."""
    snaps, losses, positions, history_from = [], [], [], 0
    while trainer.epoch < epochs:
        positions.append(trainer.epoch + trainer.pass_in_epoch / trainer.passes_per_epoch())
        losses.append(trainer.step().trace.loss)
        if trainer.pass_count % every == 0 or trainer.epoch >= epochs:
            snaps.append(make_snapshot(trainer, seq=len(snaps) + 1, running=True,
                                       trace=trainer.last_trace, trace_weights=None,
                                       trace_biases=None, new_pass_losses=losses,
                                       new_pass_positions=positions,
                                       history_from=history_from))
            history_from = len(trainer.history)
            losses, positions = [], []
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
    assert view._readout.isVisible()
    assert view._readout.toPlainText() == view.readout_text(2.0)
    assert all(line.value() == 2.0 for line in view._hover_lines)
    view.graphics.scene().sigMouseMoved.emit(QPointF(-50, -50))         # outside both plots
    assert not view._readout.isVisible()
    # a real mouse move over the plot reaches the same handler
    view.loss_plot.vb.autoRange()
    target = view.graphics.mapFromScene(view.loss_plot.vb.mapViewToScene(QPointF(4.0, 0.2)))
    qtbot.mouseMove(view.graphics.viewport(), QPoint(target.x(), target.y()))
    qtbot.waitUntil(lambda: view._readout.isVisible(), timeout=1000)
    assert view._readout.toPlainText().startswith("epoch 4")


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
    from bpviz.ui.cost_view import nice_ceiling
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
