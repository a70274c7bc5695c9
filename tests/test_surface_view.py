"""The error-surface panel: slices off the GUI thread, axes, dragging the point, the path."""

import os
import sys
import threading
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from bpviz.engine.network import Network
from bpviz.engine.surface import (bias_axis, project_trajectory, sample_indices,
                                  slice_directions, weight_axis)
from bpviz.ui.panels.surface import (FULL_GRID, FULL_SAMPLES, PREVIEW_GRID, RANDOM_AXES, SAMPLE_SEED,
                                   SliceRequest, SurfaceView, compute_results, contour_lines,
                                   default_weight_axes, log_loss_image, loss_ticks)
from bpviz.ui.plotting.qt import BACKGROUND_NICE
from bpviz.ui.panels.surface import SLICE_PARTS, _level_segments, samples_text
from bpviz.messages import Pause, Play, SetParameters

WAIT_MS = 30_000


@pytest.fixture
def view(qtbot):
    v = SurfaceView()
    qtbot.addWidget(v)
    v.resize(640, 480)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.stop()
    assert not v.worker_thread.isRunning()


@pytest.fixture
def clouds(make_run):
    """The classic dataset (the same one make_snap trains on)."""
    return make_run()[1]


def wait_full(qtbot, view):
    """Wait until every request is done and a full slice is drawn; return it."""
    qtbot.waitUntil(lambda: view.is_idle() and view.current_slice() is not None
                    and len(view.current_slice().xs) == FULL_GRID, timeout=WAIT_MS)
    return view.current_slice()


def network_of(snap):
    return Network(snap.sizes, list(snap.activations[:-1]), snap.activations[-1],
                   weights=snap.weights, biases=snap.biases)


def marker_xy(view):
    p = view.marker.pos()
    return np.array([p.x(), p.y()])


# -- pure helpers ------------------------------------------------------------------------------

def test_log_image_is_log10_with_finite_levels_and_survives_divergence():
    loss = np.array([[0.1, 1.0, 10.0], [np.nan, np.inf, 0.0]])
    image, levels = log_loss_image(loss)
    assert image.dtype == np.float32
    np.testing.assert_allclose(image[0], [-1, 0, 1], atol=1e-6)
    assert np.isnan(image[1, 0])                       # NaN: transparent
    assert image[1, 1] == pytest.approx(1.0)           # +inf: clipped to the top
    assert image[1, 2] == pytest.approx(1.0 - 6)       # zero: clipped 6 decades below the top
    assert levels == pytest.approx((-5.0, 1.0))
    assert log_loss_image(np.full((2, 2), np.nan))[1] == (0.0, 1.0)
    assert contour_lines(np.full((3, 3), np.nan, np.float32)).shape == (0, 2)


def test_contours_lie_on_their_level_in_slice_coordinates():
    xs, ys = np.linspace(-2, 2, 41), np.linspace(0, 3, 31)
    gx, gy = np.meshgrid(xs, ys)
    image = (gx ** 2 + (gy - 1.5) ** 2).astype(np.float32)     # image[iy, ix]
    pixels = contour_lines(image, quantiles=(0.5,))
    pixels = pixels[np.isfinite(pixels[:, 0])]
    assert len(pixels) > 20
    x = xs[0] + (pixels[:, 0] - 0.5) * (xs[1] - xs[0])          # pixel centres are grid nodes
    y = ys[0] + (pixels[:, 1] - 0.5) * (ys[1] - ys[0])
    np.testing.assert_allclose(x ** 2 + (y - 1.5) ** 2, np.quantile(image, 0.5), rtol=0.05)


def test_loss_ticks_label_narrow_and_wide_ranges():
    narrow = loss_ticks((np.log10(1.0), np.log10(1.01)))
    assert len(narrow) >= 4 and len({t for _, t in narrow}) == len(narrow)
    wide = loss_ticks((-9.0, 3.0))
    assert 3 <= len(wide) <= 7


def test_default_axes_fit_small_networks():
    assert default_weight_axes([2, 3, 3]) == (weight_axis(0, 0, 0), weight_axis(0, 1, 0))
    assert default_weight_axes([1, 12, 1]) == (weight_axis(0, 0, 0), weight_axis(0, 0, 1))
    assert default_weight_axes([1, 1, 1]) == (weight_axis(0, 0, 0), bias_axis(0, 0))


def test_computation_stops_when_cancelled(make_snap, clouds):
    snap = make_snap(passes=3)
    req = SliceRequest.from_snapshot(1, snap, clouds.X_train, clouds.T_train,
                                     default_weight_axes(snap.sizes), snap.trajectory, preview=True)
    results = compute_results(req)
    first = next(results)
    assert not first.final and first.slice.loss.shape == (PREVIEW_GRID, PREVIEW_GRID)
    req.cancel.set()                                   # a newer request arrived
    assert list(results) == []
    req2 = SliceRequest.from_snapshot(2, snap, clouds.X_train, clouds.T_train,
                                      default_weight_axes(snap.sizes), None, preview=False)
    req2.cancel.set()
    assert list(compute_results(req2)) == []


# -- the panel ---------------------------------------------------------------------------------

def test_slice_centre_is_the_network_loss_and_the_image_is_the_log_loss(qtbot, view, make_snap,
                                                                       clouds):
    snap = make_snap(passes=3)
    view.set_dataset(clouds)
    view.show_snapshot(snap)
    slc = wait_full(qtbot, view)

    assert slc.complete and slc.loss.shape == (FULL_GRID, FULL_GRID)
    assert (slc.axis_x, slc.axis_y) == (weight_axis(0, 0, 0), weight_axis(0, 1, 0))
    assert slc.center == (snap.weights[0][0, 0], snap.weights[0][1, 0])
    rows = sample_indices(len(clouds.X_train), FULL_SAMPLES, SAMPLE_SEED)
    assert slc.n_samples == FULL_SAMPLES == len(rows)
    mid = FULL_GRID // 2
    expected = network_of(snap).loss(clouds.X_train[rows], clouds.T_train[rows])
    assert slc.loss[mid, mid] == pytest.approx(expected, rel=1e-6)   # the panel uses float32

    image, levels = log_loss_image(slc.loss)
    assert view.image.image.dtype == np.float32
    np.testing.assert_array_equal(view.image.image, image)
    assert tuple(view.image.levels) == pytest.approx(levels)
    assert levels == pytest.approx((np.log10(slc.loss.min()), np.log10(slc.loss.max())))
    assert view.colorbar.levels() == pytest.approx(levels)
    assert view.plot.getAxis("bottom").labelText == slc.axis_x.label()
    assert view.title_text() == "loss over two weights, on 1,000 of 1,500 training samples"
    np.testing.assert_allclose(marker_xy(view), slc.center)


def test_set_axes_switches_to_the_clicked_edges(qtbot, view, make_snap, clouds):
    snap = make_snap(passes=3)
    view.set_dataset(clouds)
    view.show_snapshot(snap)
    wait_full(qtbot, view)
    view.set_mode("random")
    assert view.axes() == RANDOM_AXES

    view.set_axes([("W", 1, 2, 0), ("W", 1, 0, 1)])
    assert view.mode() == "weights" and view.mode_combo.currentData() == "weights"
    assert view.axes() == (weight_axis(1, 2, 0), weight_axis(1, 0, 1))
    slc = wait_full(qtbot, view)
    assert (slc.axis_x, slc.axis_y) == view.axes()
    assert slc.center == (snap.weights[1][2, 0], snap.weights[1][0, 1])

    with pytest.raises(ValueError):
        view.set_axes([("W", 0, 5, 0), ("W", 0, 0, 0)])          # no input neuron 5
    assert view.axes() == (weight_axis(1, 2, 0), weight_axis(1, 0, 1))


def test_dragging_the_point_emits_the_two_parameters(qtbot, view, make_snap, clouds):
    snap = make_snap(passes=3)
    view.set_dataset(clouds)
    view.show_snapshot(snap)
    slc = wait_full(qtbot, view)
    emitted = []
    view.parametersDragged.connect(emitted.append)

    viewport = view.graphics.viewport()
    p0 = view.point_widget_pos()
    p1 = p0 + QPoint(60, -40)                          # right and up
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(viewport, p0 + QPoint(20, -10))
    qtbot.mouseMove(viewport, p1)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=p1)

    assert emitted
    vb = view.plot.vb

    def to_view(p):
        q = vb.mapSceneToView(view.graphics.mapToScene(p))
        return np.array([q.x(), q.y()])

    expected = np.asarray(slc.center) + to_view(p1) - to_view(p0)
    (kx, lx, ix, jx, vx), (ky, ly, iy, jy, vy) = emitted[-1]
    assert (kx, lx, ix, jx) == ("W", 0, 0, 0) and (ky, ly, iy, jy) == ("W", 0, 1, 0)
    assert (vx, vy) == pytest.approx(tuple(expected), rel=1e-9)
    assert vx > slc.center[0] and vy > slc.center[1]
    assert view.current_slice() is slc                 # the panel changed no weight itself


def test_a_fast_drag_is_rate_limited_and_ends_where_the_mouse_let_go(qtbot, view, make_snap,
                                                                      clouds):
    view.set_dataset(clouds)
    view.show_snapshot(make_snap(passes=3))
    slc = wait_full(qtbot, view)
    emitted = []
    view.parametersDragged.connect(emitted.append)
    viewport = view.graphics.viewport()
    p0 = view.point_widget_pos()
    rate_limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", 0)            # every move reaches the point
    try:
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=p0)
        for k in range(1, 13):                         # twelve moves in a burst
            qtbot.mouseMove(viewport, p0 + QPoint(5 * k, -3 * k))
        p1 = p0 + QPoint(60, -36)
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=p1)
    finally:
        pg.setConfigOption("mouseRateLimit", rate_limit)
    assert 1 <= len(emitted) < 12                      # held back, not one per move
    assert emitted[-1][0][4] > slc.center[0] and emitted[-1][1][4] > slc.center[1]
    assert emitted[-1][0][4] == pytest.approx(marker_xy(view)[0], rel=1e-12)
    assert emitted[-1][1][4] == pytest.approx(marker_xy(view)[1], rel=1e-12)
    count = len(emitted)
    qtbot.waitUntil(lambda: not view.drag_held_back(), timeout=1000)
    assert len(emitted) == count                       # nothing held back comes after the end


def test_dragging_is_off_for_direction_axes(qtbot, view, make_snap, clouds):
    view.set_dataset(clouds)
    view.set_mode("random")
    view.show_snapshot(make_snap(passes=3))
    wait_full(qtbot, view)
    assert not view.marker.movable
    emitted = []
    view.parametersDragged.connect(emitted.append)
    viewport = view.graphics.viewport()
    p0 = view.point_widget_pos()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(viewport, p0 + QPoint(40, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=p0 + QPoint(40, 0))
    assert emitted == []


def test_a_newer_request_supersedes_an_older_one(qtbot, view, make_snap, clouds):
    snap = make_snap(passes=3)
    view.set_dataset(clouds)
    view.show_snapshot(snap)
    old = wait_full(qtbot, view)
    shown = []
    view.sliceShown.connect(shown.append)

    view.set_axes([("W", 1, 0, 0), ("W", 1, 1, 1)])    # superseded at once...
    view.set_axes([("W", 1, 2, 2), ("b", 1, 0, 1)])    # ...by this one
    # a late result of an older request arrives: dropped
    view.worker.resultReady.emit(view.current_result())
    assert shown == []
    slc = wait_full(qtbot, view)
    assert shown and all((s.axis_x, s.axis_y) == (weight_axis(1, 2, 2), bias_axis(1, 1))
                         for s in shown)
    assert slc is not old


def test_path_ends_at_the_current_point(qtbot, view, make_snap, make_run, clouds):
    snap = make_snap(passes=3)
    view.set_dataset(clouds)
    view.show_snapshot(snap)
    slc = wait_full(qtbot, view)
    x, y = view.path_item.getData()
    assert len(x) == len(snap.trajectory)              # the recorded path ends at the weights
    np.testing.assert_allclose([x[-1], y[-1]], slc.center)
    np.testing.assert_allclose([x[0], y[0]], [snap.trajectory[0][0], snap.trajectory[0][3]])
    expected = project_trajectory(snap.trajectory, network_of(snap), slc.axis_x, slc.axis_y)
    np.testing.assert_allclose(np.column_stack([x, y]), expected, atol=1e-12)

    # a later snapshot without a trajectory: the last one received is kept, the path is extended
    # to the new current point, and that last segment is highlighted
    later = make_snap(passes=6)
    view.show_snapshot(replace(later, trajectory=None))
    current = (later.weights[0][0, 0], later.weights[0][1, 0])
    x, y = view.path_item.getData()
    np.testing.assert_allclose([x[-1], y[-1]], current)
    np.testing.assert_allclose(marker_xy(view), current)
    lx, ly = view.last_step.getData()
    np.testing.assert_allclose([lx[-1], ly[-1]], current)
    slc = wait_full(qtbot, view)
    assert slc.center == pytest.approx(current)
    x, y = view.path_item.getData()
    np.testing.assert_allclose([x[-1], y[-1]], current)


def test_principal_components_need_a_path(qtbot, view, make_snap, clouds):
    view.set_dataset(clouds)
    view.set_mode("pca")
    view.show_snapshot(make_snap(passes=0))            # one recorded point
    slc = wait_full(qtbot, view)
    assert (slc.axis_x, slc.axis_y) == RANDOM_AXES
    assert "at least 2 distinct points" in view.status.text()

    snap = make_snap(passes=4)
    view.show_snapshot(snap)
    slc = wait_full(qtbot, view)
    assert (slc.axis_x.kind, slc.axis_y.kind) == ("pca", "pca")
    x, y = view.path_item.getData()
    np.testing.assert_allclose([x[-1], y[-1]], [0.0, 0.0], atol=1e-12)
    expected = project_trajectory(snap.trajectory, network_of(snap), slc.axis_x, slc.axis_y)
    np.testing.assert_allclose(np.column_stack([x, y]), expected, atol=1e-9)
    assert not view.marker.movable


@pytest.mark.parametrize("preset, overrides", [("sine", {}), ("gaussian-clouds", {"hidden": (1,)})])
def test_regression_and_one_neuron_layers(qtbot, view, make_snap, make_run, preset, overrides):
    snap = make_snap(preset, passes=2, **overrides)
    ds = make_run(preset, **overrides)[1]
    view.set_dataset(ds)
    view.show_snapshot(snap)
    slc = wait_full(qtbot, view)
    assert np.isfinite(slc.loss).all()
    assert (slc.axis_x, slc.axis_y) == default_weight_axes(snap.sizes)


def test_divergent_weights_draw_without_raising(qtbot, view, make_snap, make_run):
    """Huge output weights overflow the squared error on part of the slice: no exception."""
    snap = make_snap("plane", passes=1)
    W = [np.array(w) for w in snap.weights]
    W[-1][:] = [[1e153], [1e153], [0.0]]
    view.set_dataset(make_run("plane")[1])
    view.show_snapshot(replace(snap, weights=tuple(W)))
    view.set_axes([("W", 1, 0, 0), ("W", 1, 1, 0)])
    slc = wait_full(qtbot, view)
    bad = ~np.isfinite(slc.loss)
    assert bad.any() and not bad.all()
    image = view.image.image
    assert np.isfinite(view.image.levels).all()
    assert (image[np.isposinf(slc.loss)] == view.image.levels[1]).all()
    assert "no finite loss" in view.status.text()
    view.grab()                                        # paints


def test_training_snapshots_are_throttled_and_skip_the_preview(qtbot, view, make_run,
                                                               monkeypatch):
    """While training: at most one request in flight, no preview once a full slice is shown."""
    from bpviz.engine.snapshot import make_snapshot
    from bpviz.engine.trajectory import Trajectory
    from bpviz.ui.panels import surface as surface_view

    # full slices count as keeping up however busy the machine (a slow one gets quick slices)
    monkeypatch.setattr(surface_view, "TRAINING_FULL_S", float("inf"))

    cfg, ds, net, trainer = make_run()
    traj = Trajectory(net)
    traj.record(net, 0)
    view.set_dataset(ds)
    requests = []
    view._computeRequested.connect(requests.append)
    view.show_snapshot(make_snapshot(trainer, seq=0, running=False, trace=None, trace_weights=None,
                                     trace_biases=None, trajectory=traj))
    wait_full(qtbot, view)
    assert [r.parallel for r in requests] == [True]    # paused: the grid is shared by the pool
    shown = []
    view.sliceShown.connect(shown.append)
    for seq in range(1, 40):                           # 40 snapshots, ~60 a second
        trainer.step()
        traj.record(net, trainer.pass_count)
        view.show_snapshot(make_snapshot(trainer, seq=seq, running=True, trace=None,
                                         trace_weights=None, trace_biases=None, trajectory=traj))
        QApplication.processEvents()                   # a slice that is done is shown between
    qtbot.waitUntil(view.is_idle, timeout=WAIT_MS)
    assert 1 <= len(shown) < 10
    assert all(len(s.xs) == FULL_GRID for s in shown)  # no flicker through a coarse preview
    assert len(requests) > 1 and not any(r.parallel for r in requests[1:])   # one core: training
    assert shown[-1].center == pytest.approx((net.weights[0][0, 0], net.weights[0][1, 0]))


def test_stop_and_close_join_the_thread(qtbot, make_snap, clouds):
    v = SurfaceView()
    qtbot.addWidget(v)
    v.set_dataset(clouds)
    v.show_snapshot(make_snap(passes=3))               # a computation is running
    assert v.worker_thread.isRunning()
    v.close()
    assert not v.worker_thread.isRunning()
    assert not [t for t in threading.enumerate() if t.name.startswith("bpviz-surface-part")]
    v.stop()                                           # twice is fine
    v.show_snapshot(make_snap(passes=4))               # and later snapshots are ignored
    assert v.is_idle()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have a niceness on Linux")
def test_slices_are_computed_below_the_gui_threads_priority(qtbot, view, make_snap, clouds):
    view.set_dataset(clouds)
    view.show_snapshot(make_snap(passes=3))
    wait_full(qtbot, view)                     # paused: the pool's threads shared the full slice
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    parts = [t.native_id for t in threading.enumerate() if t.name.startswith("bpviz-surface-part")]
    assert view.worker.thread_id not in (None, threading.get_native_id())
    assert len(parts) == SLICE_PARTS > 1
    for tid in [view.worker.thread_id, *parts]:
        assert os.getpriority(os.PRIO_PROCESS, tid) == min(19, gui + BACKGROUND_NICE)


def test_end_to_end_with_the_training_worker(qtbot, view):
    """Train on the real worker thread, pause, then drag the point: the worker sets the weights."""
    from bpviz.engine.config import Config
    from bpviz.host import TrainingHost

    host = TrainingHost(Config.preset("gaussian-clouds"))
    from bpviz.ui.window.run_model import RunModel
    run = RunModel(host, Config.preset("gaussian-clouds"))   # keeps the newest snapshot
    host.rebuilt.connect(lambda event: view.set_dataset(event.dataset))   # GUI-thread relays
    host.snapshotArrived.connect(view.show_snapshot)
    view.parametersDragged.connect(lambda changes: host.command(SetParameters(changes)))
    shown = []
    view.sliceShown.connect(shown.append)
    host.start()
    try:
        host.command(Play())
        qtbot.waitUntil(lambda: len(shown) >= 3 and run.latest is not None
                        and run.latest.pass_count > 0, timeout=WAIT_MS)
        host.command(Pause())
        qtbot.waitUntil(lambda: run.latest is not None and not run.latest.running
                        and run.latest.pass_count > 0, timeout=WAIT_MS)
        W = run.latest.weights[0]
        qtbot.waitUntil(lambda: view.is_idle() and view.current_slice().center
                        == (W[0, 0], W[1, 0]) and len(view.current_slice().xs) == FULL_GRID,
                        timeout=WAIT_MS)
        assert len(shown) >= 3

        viewport = view.graphics.viewport()
        p0 = view.point_widget_pos()
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=p0)
        qtbot.mouseMove(viewport, p0 + QPoint(30, 30))
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=p0 + QPoint(30, 30))
        target = tuple(marker_xy(view))
        qtbot.waitUntil(lambda: view.is_idle() and view.current_slice().center
                        == pytest.approx(target) and len(view.current_slice().xs) == FULL_GRID,
                        timeout=WAIT_MS)
        W = run.latest.weights[0]
        assert (W[0, 0], W[1, 0]) == pytest.approx(target)
    finally:
        host.stop()
    assert not host.alive()


def segment_set(points):
    return {tuple(sorted(tuple(np.round(p, 9)) for p in seg)) for seg in points.reshape(-1, 2, 2)}


def test_contour_segments_are_pyqtgraphs_marching_squares_away_from_saddles():
    """Against ``pg.isocurve`` (a cell-by-cell implementation): the same segments in every cell
    that is not a saddle."""
    rng = np.random.default_rng(1)
    data = rng.normal(size=(13, 9))                      # data[ix, iy]
    for level in (-0.5, 0.0, 0.7):
        ours = segment_set(_level_segments(data, level))
        ref = segment_set(np.array(pg.isocurve(data, level, connected=False)))
        above = data >= level
        saddles = {(i, j) for i in range(12) for j in range(8)
                   if above[i, j] == above[i + 1, j + 1] != above[i + 1, j] == above[i, j + 1]}

        def cell(seg):
            mid = np.mean(seg, axis=0) - 0.5
            return int(np.floor(mid[0])), int(np.floor(mid[1]))

        assert len(ours) > 40
        assert {s for s in ours if cell(s) not in saddles} == \
            {s for s in ref if cell(s) not in saddles}


def test_saddles_follow_the_mean_of_their_corners():
    # corners 00 and 11 above 0.5; the mean decides whether they join through the middle
    low_middle = np.array([[1.0, 0.0], [0.0, 1.0]])       # data[ix, iy]: mean 0.5 → joined
    lower = np.array([[0.7, 0.0], [0.0, 0.7]])            # mean 0.35 → corners cut off alone
    cut = {((1.0, 0.5), (1.5, 1.0)), ((0.5, 1.0), (1.0, 1.5))}      # around corners 10, 01
    assert segment_set(_level_segments(low_middle, 0.5)) == cut
    alone = segment_set(_level_segments(lower, 0.5))
    assert len(alone) == 2 and alone != cut
    # each cut-off segment ends on the cell's edges at the interpolated crossing
    for seg in alone:
        for x, y in seg:
            assert min(abs(x - 0.5), abs(x - 1.5), abs(y - 0.5), abs(y - 1.5)) < 1e-12


def test_contour_of_a_circle_has_its_length():
    xs = np.linspace(-2, 2, 81)
    gx, gy = np.meshgrid(xs, xs)
    image = np.hypot(gx, gy).astype(np.float32)          # image[iy, ix]
    seg = contour_lines(image, quantiles=(0.5,)).reshape(-1, 2, 2)
    r = float(np.quantile(image, 0.5))
    length = np.hypot(*(seg[:, 1] - seg[:, 0]).T).sum() * (xs[1] - xs[0])
    assert length == pytest.approx(2 * np.pi * r, rel=0.01)


def test_path_item_draws_a_line_and_a_dot_at_every_point(qtbot):
    """The path of training: getData gives back what setData took, and a picture of it has the
    path's colour on each point and along the line between two, and nowhere far from both."""
    from PySide6.QtGui import QColor, QImage

    from bpviz.ui.panels.surface import PathItem
    widget = pg.PlotWidget(background=(0, 0, 0))
    qtbot.addWidget(widget)
    widget.resize(300, 300)
    item = PathItem((255, 255, 255))
    widget.addItem(item)
    assert item.getData() == (None, None) and item.boundingRect().isEmpty()
    x, y = np.array([0.0, 1.0, 2.0, 8.0]), np.array([0.0, 4.0, 1.0, 9.0])
    item.setData(x, y)
    np.testing.assert_array_equal(item.getData()[0], x)
    np.testing.assert_array_equal(item.getData()[1], y)
    assert item.dataBounds(0) == (0.0, 8.0) and item.dataBounds(1) == (0.0, 9.0)
    widget.setRange(xRange=(-1, 10), yRange=(-1, 10), padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    vb = widget.getPlotItem().vb

    def colour_near(px, py, radius=1):
        """The brightest pixel within ``radius`` of view point (px, py)."""
        image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        pos = widget.mapFromScene(vb.mapViewToScene(pg.Point(px, py)))
        return max(QColor(image.pixel(pos.x() + dx, pos.y() + dy)).lightness()
                   for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1))

    for px, py in zip(x, y):
        assert colour_near(px, py) > 200                       # a dot on every point
    assert colour_near(5.0, 5.0) > 100                         # the line from (2, 1) to (8, 9)
    assert colour_near(6.0, 2.0, radius=3) < 40                # away from the path: background
    assert item.boundingRect().contains(8.0, 9.0)
    item.setData([3.0], [3.0])                                 # one point: no line, one dot
    assert colour_near(3.0, 3.0) > 200 and colour_near(5.0, 5.0) < 40
    item.setData([], [])
    assert item.getData() == (None, None)
    with pytest.raises(ValueError, match="as many x as y"):
        item.setData([1.0, 2.0], [1.0])


# -- the title: which samples, and room for the colour bar ---------------------------------------

def test_the_title_says_the_loss_is_on_a_subset_of_the_training_samples(qtbot, view, make_snap,
                                                                         make_run, clouds):
    assert samples_text(1000, 1500) == "on 1,000 of 1,500 training samples"
    assert samples_text(256, 256) == "on all 256 training samples"
    view.set_dataset(clouds)
    view.show_snapshot(make_snap(passes=2))
    wait_full(qtbot, view)
    n = len(clouds.X_train)
    assert n == 1500 > FULL_SAMPLES                    # the inspector's "1500 training samples"
    assert view.title_text() == f"loss over two weights, on {FULL_SAMPLES:,} of {n:,} training samples"

    ds = make_run("xor")[1]                            # fewer samples than a slice takes: all
    view.set_dataset(ds)
    view.show_snapshot(make_snap("xor", passes=1))
    wait_full(qtbot, view)
    assert len(ds.X_train) < FULL_SAMPLES
    assert view.title_text() == f"loss over two weights, on all {len(ds.X_train):,} training samples"


def test_a_long_title_wraps_within_a_narrow_panel(qtbot, make_snap, clouds):
    """The principal components' title is wider than a 450-px panel: it wraps, the panel asks for
    no more width than with a short title, and the colour bar and the title stay inside."""
    view = SurfaceView()
    qtbot.addWidget(view)
    view.resize(450, 480)
    view.show()
    qtbot.waitExposed(view)
    try:
        view.set_dataset(clouds)
        view.show_snapshot(make_snap(passes=4))
        wait_full(qtbot, view)
        short_hint = view.minimumSizeHint().width()
        view.set_mode("pca")
        qtbot.waitUntil(lambda: view.is_idle() and view.current_slice().axis_x.kind == "pca"
                        and len(view.current_slice().xs) == FULL_GRID, timeout=WAIT_MS)
        assert view.title_text().startswith("loss over principal components of the path, on ")

        def settled():                                 # once the layout has settled
            assert view.minimumSizeHint().width() <= short_hint <= 450
            area = view.graphics.viewport().rect()
            for item in (view.colorbar, view.title, view.plot):
                rect = view.graphics.mapFromScene(item.sceneBoundingRect()).boundingRect()
                assert area.contains(rect), (type(item).__name__, rect, area)
            text = view.graphics.mapFromScene(
                view.title.item.mapRectToScene(view.title.item.boundingRect())).boundingRect()
            assert area.contains(text)
            assert view.title.item.document().firstBlock().layout().lineCount() == 2  # wrapped
        qtbot.waitUntil(settled, timeout=WAIT_MS)
        if os.environ.get("BPVIZ_TEST_SHOTS"):
            view.grab().save(os.path.join(os.environ["BPVIZ_TEST_SHOTS"], "surface_pca_450.png"))
    finally:
        view.stop()


# -- a slice older than the weights says so; a slow one keeps up with quick slices -------------

def _snapshot(trainer, traj, seq, running):
    from bpviz.engine.snapshot import make_snapshot
    return make_snapshot(trainer, seq=seq, running=running, trace=None, trace_weights=None,
                         trace_biases=None, trajectory=traj)


def test_a_slice_older_than_the_weights_says_so(qtbot, view, make_run, monkeypatch):
    from bpviz.engine.trajectory import Trajectory
    from bpviz.ui.panels import surface as surface_view

    gate = threading.Event()            # slices of passes after 0 wait for it: a slow slice
    real = surface_view.compute_results

    def slow(req, executor=None):
        if req.pass_count > 0:
            while not gate.wait(0.01):
                if req.cancel.is_set():
                    return
        yield from real(req, executor)

    monkeypatch.setattr(surface_view, "compute_results", slow)
    _, ds, net, trainer = make_run()
    traj = Trajectory(net)
    traj.record(net, 0)
    view.set_dataset(ds)
    view.show_snapshot(_snapshot(trainer, traj, 0, running=False))
    wait_full(qtbot, view)
    assert view.age_text() == ""
    for _ in range(3):
        trainer.step()
    view.show_snapshot(_snapshot(trainer, traj, 1, running=True))
    assert view.age_text() == ""                    # not yet a second old
    qtbot.waitUntil(lambda: view.age_text() == "slice from pass 0 (now 3)", timeout=WAIT_MS)
    assert view.age_label.isVisible()               # beside the axes selector, where it is seen
    trainer.step()
    trainer.step()
    view.show_snapshot(_snapshot(trainer, traj, 2, running=True))
    assert view.age_text() == "slice from pass 0 (now 5)"
    gate.set()                                      # the slices arrive: pass 3's, then pass 5's
    qtbot.waitUntil(lambda: view.is_idle() and view.age_text() == ""
                    and view.current_slice().center == pytest.approx(
                        (net.weights[0][0, 0], net.weights[0][1, 0])), timeout=WAIT_MS)
    assert not view.age_label.isVisible()


def test_a_slow_full_slice_gives_training_quick_slices_and_pausing_the_full_one(
        qtbot, view, make_run, monkeypatch):
    from bpviz.engine.trajectory import Trajectory
    from bpviz.ui.panels import surface as surface_view

    monkeypatch.setattr(surface_view, "TRAINING_FULL_S", 0.0)    # every full slice is too slow
    _, ds, net, trainer = make_run()
    traj = Trajectory(net)
    traj.record(net, 0)
    view.set_dataset(ds)
    view.show_snapshot(_snapshot(trainer, traj, 0, running=False))
    wait_full(qtbot, view)
    shown = []
    view.sliceShown.connect(shown.append)
    for seq in range(1, 6):
        trainer.step()
        view.show_snapshot(_snapshot(trainer, traj, seq, running=True))
        qtbot.waitUntil(view.is_idle, timeout=WAIT_MS)
    assert shown and all(len(s.xs) == PREVIEW_GRID for s in shown)   # quick ones only
    assert view.title_text().endswith("(preview)")
    assert "quick slice while training" in view.status.text()
    assert view.current_slice().center == pytest.approx((net.weights[0][0, 0],
                                                         net.weights[0][1, 0]))
    del shown[:]
    view.show_snapshot(_snapshot(trainer, traj, 6, running=False))   # paused: the full slice
    full = wait_full(qtbot, view)
    assert [len(s.xs) for s in shown] == [FULL_GRID]                 # no second preview first
    assert full.center == pytest.approx((net.weights[0][0, 0], net.weights[0][1, 0]))
    assert "(preview)" not in view.title_text()


def test_a_full_slice_still_running_when_training_starts_gives_way_to_a_quick_one(
        qtbot, view, make_run, monkeypatch):
    from bpviz.engine.trajectory import Trajectory
    from bpviz.ui.panels import surface as surface_view

    real = surface_view.compute_results

    def endless_full(req, executor=None):          # the preview comes; the full slice never does
        yield from real(replace(req, full=False), executor)
        if req.full:
            while not req.cancel.wait(0.01):
                pass

    monkeypatch.setattr(surface_view, "compute_results", endless_full)
    monkeypatch.setattr(surface_view, "TRAINING_FULL_S", 0.0)
    _, ds, net, trainer = make_run()
    traj = Trajectory(net)
    traj.record(net, 0)
    view.set_dataset(ds)
    view.show_snapshot(_snapshot(trainer, traj, 0, running=False))
    qtbot.waitUntil(lambda: view.current_slice() is not None, timeout=WAIT_MS)
    assert not view.is_idle()                       # the full slice of pass 0 is computing
    trainer.step()
    view.show_snapshot(_snapshot(trainer, traj, 1, running=True))
    qtbot.waitUntil(lambda: view.is_idle() and view.current_slice().center == pytest.approx(
        (net.weights[0][0, 0], net.weights[0][1, 0])), timeout=WAIT_MS)
    assert len(view.current_slice().xs) == PREVIEW_GRID
    assert view.age_text() == ""


@pytest.mark.parametrize("axes", [(weight_axis(0, 0, 0), bias_axis(1, 2)), RANDOM_AXES])
def test_coordinates_are_the_least_squares_projection(make_snap, clouds, axes):
    snap = make_snap(passes=2)
    req = SliceRequest.from_snapshot(1, snap, clouds.X_train, clouds.T_train, axes, None,
                                     preview=True, full=False)
    result = next(compute_results(req))
    # plain numpy: the pseudo-inverse of the two directions, written out in full
    net = req.network()
    origin = np.concatenate([np.ravel(p) for p in net.parameters()])
    basis = np.stack([np.concatenate([np.ravel(p) for p in d])
                      for d in slice_directions(net, *axes)], axis=1)
    rng = np.random.RandomState(0)
    theta = origin + rng.randn(5, len(origin))
    want = np.asarray(result.slice.center) + (theta - origin) @ np.linalg.pinv(basis).T
    assert result.n_parameters == len(origin)
    np.testing.assert_allclose(result.coordinates(theta), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.coordinates(theta[0]), want[0], rtol=1e-12, atol=1e-12)
    if axes[0].is_parameter:                     # the parameters' own values
        flat = theta[:, 0]                       # W[0][0, 0] is the first parameter
        np.testing.assert_allclose(result.coordinates(theta)[:, 0], flat, rtol=1e-12)
