"""The decision boundary panel: colours from the forward pass, curves, picking, unsupported data."""

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from bpviz.engine.snapshot import Boundary, data_bounds, make_snapshot
from bpviz.ui.plotting import style
from bpviz.ui.panels.boundary import (MAX_TINT, BoundaryView, class_field_rgba, decision_segments,
                                    margin_fields)


def trained(make_run, preset, epochs):
    """(dataset, network, snapshot) after ``epochs`` epochs, the snapshot with its boundary grid."""
    _, ds, net, trainer = make_run(preset)
    trainer.run(epochs=epochs)
    bounds = data_bounds(ds.X_all) if ds.n_features <= 2 else None
    snap = make_snapshot(trainer, seq=1, running=False, trace=trainer.last_trace,
                         trace_weights=None, trace_biases=None, bounds=bounds)
    return ds, net, snap

# showing a window on the offscreen platform logs this warning; it is harmless
SHOWN = pytest.mark.qt_log_ignore("propagateSizeHints")


@pytest.fixture
def view(qtbot):
    v = BoundaryView()
    qtbot.addWidget(v)
    v.resize(520, 560)
    return v


def expected_colour(y):
    """The documented blend, computed from one output row y (K,) on its own."""
    p = np.array([1 - y[0], y[0]]) if len(y) == 1 else np.asarray(y)
    k = int(np.argmax(p))
    strength = MAX_TINT * np.clip((p[k] - 1 / len(p)) / (1 - 1 / len(p)), 0, 1)
    return k, 255 + (np.array(style.class_color(k)) - 255) * strength


def test_image_colours_follow_the_forward_pass(view, make_run):
    ds, net, snap = trained(make_run, "gaussian-clouds", 60)
    view.set_dataset(ds)
    view.show_snapshot(snap)
    assert view.mode() == "classification2d"
    rgba = view.image_rgba()
    xs, ys = snap.boundary.xs, snap.boundary.ys
    assert rgba.shape == (len(ys), len(xs), 4) and rgba.dtype == np.uint8
    seen = set()
    # the cloud centres (one per class), a corner, and a few pixels anywhere
    pixels = [(np.abs(ys - cy).argmin(), np.abs(xs - cx).argmin())
              for cx, cy in ((0, -2), (2, 2), (-2, 2))]
    pixels += [(0, 0), (len(ys) - 1, 7), (13, 41), (30, 30)]
    for r, c in pixels:
        y = net.forward(np.array([[xs[c], ys[r]]]))[0]
        k, rgb = expected_colour(y)
        seen.add(k)
        np.testing.assert_allclose(rgba[r, c, :3], rgb, atol=0.5001)
        assert rgba[r, c, 3] == 255
    assert seen == {0, 1, 2}


def test_image_pixels_sit_on_the_grid_points(view, make_run):
    ds, _, snap = trained(make_run, "moons", 1)
    view.set_dataset(ds)
    view.show_snapshot(snap)
    xs, ys = snap.boundary.xs, snap.boundary.ys
    for r, c in ((0, 0), (5, 40), (59, 59)):
        p = view.image.mapFromView(QPointF(xs[c], ys[r]))   # image coords: (column, row)
        assert p.x() == pytest.approx(c + 0.5) and p.y() == pytest.approx(r + 0.5)


def test_single_sigmoid_unit_uses_p_and_one_minus_p():
    out = np.array([[[0.95], [0.05], [0.5], [np.nan]]])
    rgba = class_field_rgba(out)
    for j in range(3):
        _, rgb = expected_colour(out[0, j])
        np.testing.assert_allclose(rgba[0, j, :3], rgb, atol=0.5001)
    assert rgba[0, 0, :3].tolist() != rgba[0, 1, :3].tolist()
    assert rgba[0, 2, :3].tolist() == [255, 255, 255]          # chance level: white
    assert rgba[0, 3, 3] == 0                                  # NaN: transparent


def test_decision_segments_follow_a_circle():
    xs = ys = np.linspace(-2, 2, 41)
    gx, gy = np.meshgrid(xs, ys)
    field = 1.0 - np.hypot(gx, gy)                   # zero on the unit circle
    field[:3, :3] = np.nan                           # a corner of NaN is skipped, not drawn
    x, y = decision_segments(field, xs, ys)
    assert len(x) > 40 and len(x) % 2 == 0
    assert np.isfinite(x).all() and np.isfinite(y).all()
    np.testing.assert_allclose(np.hypot(x, y), 1.0, atol=0.01)


def test_three_class_boundary_is_drawn_once():
    xs = ys = np.linspace(-1, 1, 20)
    gx, gy = np.meshgrid(xs, ys)
    # class 0 left, 1 upper right, 2 lower right: three boundary rays meeting at the origin
    logits = np.stack([-gx * 4, gx * 2 + gy * 4, gx * 2 - gy * 4], axis=-1)
    p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)

    def midpoints(use_cells):
        mids = []
        for f, cells in margin_fields(p):
            x, y = decision_segments(f, xs, ys, cells if use_cells else None)
            mids.append(np.column_stack([(x[0::2] + x[1::2]) / 2, (y[0::2] + y[1::2]) / 2]))
        return mids

    def shared(mids):
        """How many segments of one field lie on a segment of another."""
        return sum((np.hypot(*(a[:, None] - b[None]).transpose(2, 0, 1)) < 1e-9).sum()
                   for i, a in enumerate(mids) for b in mids[i + 1:])

    assert shared(midpoints(use_cells=False)) > 20        # each field alone draws both sides
    mids = midpoints(use_cells=True)
    assert shared(mids) == 0
    assert sum(len(m) for m in mids) >= 3 * 9            # three rays of ~10 cells each remain


def test_regression_plane_heatmap(view, make_run):
    ds, net, snap = trained(make_run, "plane", 5)
    view.set_dataset(ds)
    view.show_snapshot(snap)
    assert view.mode() == "regression2d"
    rgba = view.image_rgba()
    scale = np.abs(np.vstack([ds.T_train, ds.T_test])).max()
    xs, ys = snap.boundary.xs, snap.boundary.ys
    for r, c in ((0, 0), (10, 50), (59, 3)):
        y = net.forward(np.array([[xs[c], ys[r]]]))[0, 0]
        np.testing.assert_array_equal(rgba[r, c, :3], style.diverging_rgb(y / scale))


def test_regression_1d_curve_is_the_forward_pass(view, make_run):
    ds, net, snap = trained(make_run, "sine", 30)
    view.set_dataset(ds)
    view.show_snapshot(snap)
    assert view.mode() == "regression1d"
    x, y = view.fit_curve.getData()
    xs = snap.boundary.xs
    np.testing.assert_array_equal(x, xs)
    np.testing.assert_allclose(y, net.forward(xs[:, None])[:, 0], rtol=1e-12, atol=1e-12)
    # training points at (x, target), test points drawn separately
    tx, ty = view.train_points.getData()
    np.testing.assert_array_equal(tx, ds.X_train[:, 0])
    np.testing.assert_array_equal(ty, ds.y_train[:, 0])
    assert len(view.test_points.getData()[0]) == len(ds.X_test) > 0
    assert view.image_rgba() is None and not view.image.isVisible()


def isolated_training_point(ds):
    """The training point farthest from every other point (so a click on it is unambiguous)."""
    X = ds.X_all[:, :2]
    d = np.hypot(*(ds.X_train[:, None, :2] - X[None, :, :]).transpose(2, 0, 1))
    d[np.arange(len(ds.X_train)), np.arange(len(ds.X_train))] = np.inf
    return int(d.min(axis=1).argmax())


@SHOWN
@pytest.mark.parametrize("preset", ["moons", "sine"])
def test_clicking_a_training_point_picks_it(view, qtbot, make_run, preset):
    ds, _, snap = trained(make_run, preset, 1)
    view.set_dataset(ds)
    view.show_snapshot(snap)
    view.show()
    qtbot.waitExposed(view)
    index = isolated_training_point(ds) if preset == "moons" else int(np.argmax(ds.y_train[:, 0]))
    pos = view.graphics.mapFromScene(view.point_scene_pos(index))
    with qtbot.waitSignal(view.samplePicked, timeout=1000) as blocker:
        qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [index]
    assert view.pinned() == index
    ring_x, ring_y = view.pinned_ring.getData()
    assert (ring_x[0], ring_y[0]) == tuple(view._points[index])
    # a click on empty space (the top-left corner of the plot) picks nothing
    corner = view.graphics.mapFromScene(view.vb.sceneBoundingRect().topLeft() + QPointF(2, 2))
    with qtbot.assertNotEmitted(view.samplePicked):
        qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(corner.x(), corner.y()))
    assert view.pinned() == index


def test_set_pinned(view, make_run):
    ds, _, _ = trained(make_run, "moons", 1)
    view.set_dataset(ds)
    view.set_pinned(5)
    assert view.pinned_ring.getData()[0][0] == ds.X_train[5, 0]
    view.set_pinned(None)
    assert len(view.pinned_ring.getData()[0]) == 0 and view.pinned() is None
    view.set_pinned(10_000)                               # out of range: no ring
    assert view.pinned() is None


def test_iris_shows_the_note(view, make_run):
    ds, _, snap = trained(make_run, "iris", 1)
    view.set_dataset(ds)
    view.show_snapshot(snap)                              # no boundary grid: nothing to draw
    assert view.mode() == "unsupported"
    assert "decision boundary needs 2 inputs; this dataset has 4" in view.note()
    assert view.image_rgba() is None and not view.image.isVisible()
    assert len(view.train_points.getData()[0]) == len(ds.X_train)
    view.grab()


@pytest.mark.parametrize("preset", ["gaussian-clouds", "plane", "sine"])
def test_nan_outputs_do_not_raise(view, make_run, preset):
    ds, _, snap = trained(make_run, preset, 1)
    out = np.array(snap.boundary.output, copy=True)
    out[:7] = np.nan
    view.set_dataset(ds)
    view.show_snapshot(dataclasses.replace(snap, boundary=Boundary(snap.boundary.xs,
                                                                   snap.boundary.ys, out)))
    view.grab()
    if view.image_rgba() is not None:
        assert (view.image_rgba()[:7, ..., 3] == 0).all()
        assert (view.image_rgba()[7:, ..., 3] == 255).all()


def test_switching_datasets_resets_the_items(view, make_run):
    moons, _, moons_snap = trained(make_run, "moons", 1)
    sine, _, sine_snap = trained(make_run, "sine", 1)
    view.set_dataset(moons)
    view.show_snapshot(moons_snap)
    view.set_pinned(3)
    view.set_dataset(sine)
    assert view.pinned() is None and view.image_rgba() is None
    view.show_snapshot(moons_snap)                        # a late snapshot of the old run: ignored
    assert view.fit_curve.getData()[0] is None
    view.show_snapshot(sine_snap)
    assert view.fit_curve.isVisible() and not view.boundary_line.isVisible()
    view.set_dataset(moons)
    assert not view.fit_curve.isVisible() and view.image.isVisible()


def test_the_panel_does_not_repeat_its_dock_title(view, make_run):
    """The window's dock is titled "Decision boundary": the panel does not write it again, and
    keeps the note on what the colours mean."""
    from PySide6.QtWidgets import QAbstractButton, QLabel

    ds, _, snap = trained(make_run, "gaussian-clouds", 1)
    view.set_dataset(ds)
    view.show_snapshot(snap)
    texts = [w.text() for w in view.findChildren(QLabel) + view.findChildren(QAbstractButton)]
    texts += [view.plot.titleLabel.text]
    texts += [item.toPlainText() for item in view.graphics.scene().items()
              if hasattr(item, "toPlainText")]
    assert not any("decision boundary" in t.lower() for t in texts), texts
    assert view.note().startswith("Colour: the class the network predicts")
    assert "boundary line" in texts                        # the checkbox still says what it draws
