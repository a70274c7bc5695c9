"""The main window end to end, through the real worker thread and the real widgets."""

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QThread

from bpviz.engine import Config
from bpviz.ui.window.main_window import MainWindow


@pytest.fixture
def window(open_window):
    return open_window(size=(1400, 900))


def wait_snapshot(qtbot, w, condition, timeout=10000):
    qtbot.waitUntil(lambda: w.latest is not None and condition(w.latest), timeout=timeout)
    w.paint_now()
    return w.latest


def answer_to_a_command(qtbot, w, sample=5):
    """Pin training sample ``sample`` and wait for the worker's answer, a snapshot pinning it.
    Snapshots arrive in the order the worker sent them, so every one it sent before the answer has
    arrived too. Returns how many snapshots arrived, the answer included."""
    before = w.host.received
    w.pin_sample(sample)
    qtbot.waitUntil(lambda: w.latest.sample is not None and w.latest.sample.index == sample,
                    timeout=10000)
    return w.host.received - before


def test_opens_on_the_classic_example_ready_to_play(window):
    snap = window.latest
    assert snap.sizes == (2, 3, 3) and snap.activations == ("sigmoid", "softmax")
    assert snap.pass_count == 0 and not snap.running
    assert snap.loss == pytest.approx(2.0981205629348856, rel=1e-12)   # the preview trace
    assert window.windowTitle().startswith("bpviz")
    assert not window.windowIcon().isNull()
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Train", "&Help"]


def test_play_trains_and_pause_stops_snapshots(qtbot, window):
    window.play()
    snap = wait_snapshot(qtbot, window, lambda s: s.epoch >= 30)
    assert snap.running
    losses = window.cost.series("loss")[1]
    assert losses[0] == 2.0981205629348856 and losses[-1] < losses[0]
    window.pause()
    wait_snapshot(qtbot, window, lambda s: not s.running)
    epoch, passes = window.latest.epoch, window.latest.pass_count
    # paused: the only snapshot that still comes is the answer to a command, at the same pass
    assert answer_to_a_command(qtbot, window) == 1
    assert not window.latest.running
    assert (window.latest.epoch, window.latest.pass_count) == (epoch, passes)
    # every pass reached the cost curve although only some snapshots were painted
    assert len(window.cost.series("pass_loss")[1]) == window.latest.pass_count
    assert window.status_labels["epoch"].text() == f"epoch {epoch}"


def test_step_runs_exactly_one_pass_and_every_panel_shows_it(qtbot, window):
    before = window.latest
    window.step()
    snap = wait_snapshot(qtbot, window, lambda s: s.pass_count == 1)
    assert window.network.shown_snapshot() is snap                   # the diagram shows the pass
    # the pass's update is −η·∇ at the weights before it
    for k in range(2):
        assert np.allclose(snap.weights[k], before.weights[k] - 1.5 * snap.grad_weights[k],
                           rtol=1e-12, atol=1e-15)
        assert np.array_equal(snap.trace_weights[k], before.weights[k])
    assert window.cost.series("pass_loss")[1].tolist() == [pytest.approx(2.0981205629348856)]
    assert window.status_labels["pass"].text() == "pass 1"
    # one pass, no more: the answer to a later command still shows pass 1
    assert answer_to_a_command(qtbot, window) == 1 and window.latest.pass_count == 1


def test_new_learning_rate_changes_the_next_update(qtbot, window):
    window.step()
    wait_snapshot(qtbot, window, lambda s: s.pass_count == 1)
    window.controls.lr.spin.setValue(0.25)           # typed into the learning-rate box
    wait_snapshot(qtbot, window, lambda s: s.lr == 0.25)
    before = window.latest
    window.step()
    snap = wait_snapshot(qtbot, window, lambda s: s.pass_count == 2)
    assert np.allclose(snap.update_weights[1], -0.25 * snap.grad_weights[1], rtol=1e-12)
    assert np.allclose(snap.weights[1], before.weights[1] - 0.25 * snap.grad_weights[1], rtol=1e-12)
    assert snap.epoch == 2                           # no reset happened


def test_clicking_two_edges_changes_the_surface_axes(qtbot, window):
    from bpviz.engine.surface import weight_axis
    view = window.network
    window.paint_now()
    target = view.mouse_target()
    left = Qt.MouseButton.LeftButton
    qtbot.mouseClick(target, left, pos=view.viewport_point(view.edge_pos(1, 2, 0)))
    qtbot.mouseClick(target, left, pos=view.viewport_point(view.edge_pos(0, 1, 2)))
    assert window.surface.axes() == (weight_axis(1, 2, 0), weight_axis(0, 1, 2))
    qtbot.waitUntil(lambda: window.surface.current_slice() is not None
                    and window.surface.current_slice().axis_x == weight_axis(1, 2, 0), timeout=15000)


def test_dragging_the_surface_point_sets_exactly_those_two_weights(qtbot, window):
    surface = window.surface
    window.paint_now()
    qtbot.waitUntil(lambda: surface.current_slice() is not None and surface.is_idle(), timeout=15000)
    before = window.latest
    ax, ay = surface.axes()
    viewport = surface.graphics.viewport()
    p0 = surface.point_widget_pos()
    p1 = p0 + QPoint(50, -30)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(viewport, p0 + QPoint(25, -15))
    qtbot.mouseMove(viewport, p1)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=p1)
    snap = wait_snapshot(qtbot, window, lambda s: s.seq > before.seq
                         and not np.array_equal(s.weights[ax.layer], before.weights[ax.layer]))
    changed = [(k, tuple(int(v) for v in idx)) for k in range(2)
               for idx in np.argwhere(snap.weights[k] != before.weights[k])]
    assert sorted(changed) == sorted([(ax.layer, (ax.i, ax.j)), (ay.layer, (ay.i, ay.j))])
    assert all(np.array_equal(a, b) for a, b in zip(snap.biases, before.biases))
    assert snap.weights[ax.layer][ax.i, ax.j] > before.weights[ax.layer][ax.i, ax.j]
    assert snap.weights[ay.layer][ay.i, ay.j] > before.weights[ay.layer][ay.i, ay.j]
    assert snap.pass_count == 0                       # no training happened


def test_dragging_during_training_sets_the_weight(qtbot, window):
    window.play()
    wait_snapshot(qtbot, window, lambda s: s.pass_count > 5)
    window.set_parameters([("W", 1, 0, 0, 7.25)])
    window.pause()
    snap = wait_snapshot(qtbot, window, lambda s: not s.running)
    # training continued from the hand-set value: it is no longer 0 moves away from 7.25 slowly
    assert abs(snap.weights[1][0, 0] - 7.25) < 1.0


def test_reset_restores_the_initial_weights(qtbot, window):
    initial = window.latest.weights
    window.play()
    wait_snapshot(qtbot, window, lambda s: s.epoch > 10)
    window.reset()
    snap = wait_snapshot(qtbot, window, lambda s: s.pass_count == 0 and not s.running)
    assert all(np.array_equal(a, b) for a, b in zip(snap.weights, initial))


def test_architecture_change_rebuilds_and_says_so(qtbot, window):
    window.controls.hidden.add.click()
    window.controls.flush()
    snap = wait_snapshot(qtbot, window, lambda s: len(s.sizes) == 4)
    assert snap.sizes == (2, 3, 3, 3) and snap.pass_count == 0
    assert "re-initialised" in snap.message


def test_bad_csv_keeps_the_previous_state(qtbot, window, tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b,label\n1,2\n")
    before = window.latest
    assert not window.load_csv(str(bad))
    assert "broken.csv" in window.last_error
    assert answer_to_a_command(qtbot, window) == 1       # no new network came before the answer
    assert window.latest.sizes == before.sizes and window.config.dataset == "gaussian-clouds"
    assert window.latest.pass_count == before.pass_count


def test_csv_file_loads_as_dataset(qtbot, window, tmp_path):
    path = tmp_path / "mine.csv"
    rng = np.random.RandomState(0)
    rows = ["u,v,kind"] + [f"{x:.4f},{y:.4f},{'a' if x * y > 0 else 'b'}" for x, y in rng.randn(80, 2)]
    path.write_text("\n".join(rows) + "\n")
    assert window.load_csv(str(path))
    snap = wait_snapshot(qtbot, window, lambda s: s.class_names == ("a", "b"))
    assert snap.sizes[0] == 2 and snap.sizes[-1] == 2
    assert window.dataset.source == str(path)


def test_close_during_training_leaves_no_running_thread(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    w = MainWindow(Config.preset("spiral"), settings=settings)
    w.show()
    qtbot.waitUntil(lambda: w.latest is not None, timeout=10000)
    w.play()
    qtbot.waitUntil(lambda: w.latest.pass_count > 20, timeout=60000)   # slow on a busy machine
    host, process = w.host, w.host.process
    threads = [t for t in threading.enumerate() if t.name.startswith("bpviz-training")]
    assert threads and all(t.is_alive() for t in threads)
    w.close()
    assert not host.alive() and not any(t.is_alive() for t in threads)
    assert process is None or (not process.is_alive() and process.exitcode is not None)
    assert isinstance(w.surface.worker_thread, QThread) and not w.surface.worker_thread.isRunning()


@pytest.mark.run_modes()
def test_layout_is_remembered(qtbot, tmp_path):
    path = str(tmp_path / "layout.ini")
    w = MainWindow(Config.preset("gaussian-clouds"), settings=QSettings(path, QSettings.IniFormat),
                   start_worker=False)
    w.show()
    w.docks["surface"].hide()
    w.close()
    w2 = MainWindow(Config.preset("gaussian-clouds"), settings=QSettings(path, QSettings.IniFormat),
                    start_worker=False)
    w2.show()
    assert not w2.docks["surface"].isVisible() and w2.docks["network"].isVisible()
    assert w2.settings.value("geometry") is not None
    w2.reset_layout()
    assert w2.docks["surface"].isVisible()
    w2.close()


@pytest.mark.run_modes()
def test_while_training_panels_are_painted_one_per_tick_at_their_own_rates(qtbot, tmp_path,
                                                                           make_snap, monkeypatch):
    """Training: one panel per paint tick, none faster than its rate, each shows the newest
    snapshot in turn; paused, every panel shows the snapshot at once."""
    from dataclasses import replace

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    settings.setValue("speed", "max")          # as fast as it goes: panels take turns
    w = MainWindow(Config.preset("gaussian-clouds"), settings=settings, start_worker=False)
    qtbot.addWidget(w)
    w.show()
    w.paint_timer.stop()                       # ticks are driven by hand below
    clock = [100.0]
    w.scheduler.clock = lambda: clock[0]       # the paint scheduler's own clock, no other
    paint = w.paint_timer.timeout.emit         # one tick of the paint timer
    shown: dict[str, list] = {}
    for name, (panel, _fps, _share) in w.panels.items():
        original = panel.show_snapshot

        def record(snap, name=name, original=original):
            shown.setdefault(name, []).append((clock[0], snap.seq))
            original(snap)
        monkeypatch.setattr(panel, "show_snapshot", record)
    base = make_snap(passes=2)
    ticks = 0
    for k in range(1, 121):                    # 60 snapshots a second for two seconds
        clock[0] += 1 / 60
        before = sum(len(v) for v in shown.values())
        w.run.take_snapshot(replace(base, seq=k, running=True))
        paint()
        assert sum(len(v) for v in shown.values()) - before <= 1      # one panel per tick
        ticks += 1
    visible = [name for name, (panel, _fps, _share) in w.panels.items() if panel.isVisible()]
    assert set(shown) == set(visible)
    for name in visible:
        times = [t for t, _ in shown[name]]
        gaps = np.diff(times)
        fps = w.panels[name][1]
        assert (gaps >= 1 / fps - 1e-9).all(), name
        assert shown[name][-1][1] >= 120 - 60 / fps - 2, name
    counts = {name: len(shown[name]) for name in visible}
    assert counts["network"] > counts["boundary"]          # the diagram moves most often
    clock[0] += 1.0                           # every panel due, but the newest snapshot is old:
    before = sum(len(v) for v in shown.values())
    paint()                                    # wait for a fresh one rather than paint stale
    assert sum(len(v) for v in shown.values()) == before
    shown.clear()
    w.run.take_snapshot(replace(base, seq=200, running=False))  # paused: all at once
    paint()
    assert {name for name in shown} == set(visible)
    assert all(v == [(clock[0], 200)] for v in shown.values())
    w.close()
