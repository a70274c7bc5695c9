"""Reliability: divergence in the window, thread lifecycle under abuse, the exception hook, and
configuration validation under fuzzing."""

import math
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from bpviz.engine import Config, ConfigError


def make_window(qtbot, tmp_path, preset="gaussian-clouds", **overrides):
    from bpviz.ui.window.main_window import MainWindow
    cfg = Config.preset(preset)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    w = MainWindow(cfg, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.latest is not None and w.dataset is not None, timeout=10000)
    return w


def test_divergence_pauses_rolls_back_and_tells_the_user(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path, "plane", lr=10.0)
    try:
        w.play()
        qtbot.waitUntil(lambda: w.latest.diverged is not None, timeout=20000)
        snap = w.latest
        assert not snap.running and not w.is_running()
        assert "diverged" in w.last_error and "smaller learning rate" in w.last_error
        assert all(np.isfinite(W).all() for W in snap.weights)
        assert math.isfinite(snap.loss) or snap.has_trace
        w.paint_now()                                   # panels draw it without raising
        # a smaller rate continues from the kept weights
        w.controls.lr.spin.setValue(0.01)
        qtbot.waitUntil(lambda: w.latest.lr == 0.01, timeout=5000)
        passes = w.latest.pass_count
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == passes + 1, timeout=5000)
        assert w.latest.diverged is None
    finally:
        w.close()


def test_rapid_commands_and_changes_while_training_never_crash(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path, "spiral")
    try:
        rng = np.random.RandomState(0)
        actions = [w.play, w.pause, w.step, w.reset, w.toggle_play,
                   w.controls.hidden.add.click, w.controls.hidden.remove.click,
                   lambda: w.controls.lr.spin.setValue(float(rng.choice([0.001, 0.01, 0.1]))),
                   lambda: w.controls.batch.setValue(int(rng.choice([0, 8, 32]))),
                   lambda: w.set_parameters([("W", 0, 0, 0, float(rng.randn()))]),
                   lambda: w.set_step_mode(str(rng.choice(["pass", "phase", "epoch"]))),
                   lambda: w.controls.flush(), w.paint_now]
        for _ in range(150):
            actions[rng.randint(len(actions))]()
            if rng.randint(2):                  # now and then the answers so far are handled
                QApplication.processEvents()
        errors = []
        w.host.failed.connect(errors.append)
        w.play()
        # it still trains: passes keep coming, and nothing was refused along the way
        passes = w.latest.pass_count
        qtbot.waitUntil(lambda: w.latest.running and w.latest.pass_count > passes + 10,
                        timeout=20000)
        assert w.host.alive() and errors == []
    finally:
        w.close()
    assert not w.host.alive() and not w.surface.worker_thread.isRunning()


def test_dragging_the_surface_point_while_training(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    try:
        w.play()
        for k in range(20):
            seq = w.latest.seq
            w.surface.parametersDragged.emit([("W", 0, 0, 0, 0.1 * k), ("W", 0, 1, 0, -0.1 * k)])
            qtbot.waitUntil(lambda: w.latest.seq > seq, timeout=10000)   # training went on
        w.pause()
        qtbot.waitUntil(lambda: not w.latest.running, timeout=5000)
        assert all(np.isfinite(W).all() for W in w.latest.weights)
    finally:
        w.close()


def test_closing_mid_run_of_a_large_network(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path, "spiral", hidden=(64, 64, 64), batch_size=0)
    w.play()
    qtbot.waitUntil(lambda: w.latest.pass_count > 3, timeout=20000)
    w.close()
    assert not w.host.alive() and not w.surface.worker_thread.isRunning()


@pytest.mark.run_modes()
def test_exception_hook_shows_a_dialog_and_keeps_the_app_alive(qtbot, monkeypatch):
    from bpviz.app import install_exception_hook, shown_error_box
    app = QApplication.instance()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)       # restored after the test
    install_exception_hook(app)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    box = shown_error_box()
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "boom in a slot" in box.text() and "Traceback" in box.detailedText()
    box.close()


# -- configuration validation under fuzzing ---------------------------------------------------

values = st.one_of(st.none(), st.booleans(), st.integers(-10, 10 ** 6),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                   st.lists(st.integers(-3, 600), max_size=10), st.lists(st.text(max_size=8), max_size=4))
keys = st.sampled_from(["dataset", "hidden", "activation", "output", "init", "seed", "optimizer",
                        "lr", "momentum", "batch_size", "l2", "epochs", "noise", "test_fraction",
                        "n_samples", "standardize", "bogus"])


@pytest.mark.run_modes()
@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_any_configuration_is_accepted_or_refused_with_config_error(changes):
    d = Config.preset("xor").to_dict()
    d.update(changes)
    try:
        cfg = Config.from_dict(d)
    except ConfigError as e:
        assert str(e)
        return
    assert cfg.lr > 0 and 0 <= cfg.momentum < 1 and cfg.epochs >= 1


def _edges():
    """Both ends of every range and the values just past them."""
    from bpviz.engine.config import RANGES
    out = []
    for r in RANGES.values():
        out += [r.lo, r.hi, r.lo - 1, r.hi + 1, r.hi * (1 + 1e-12)]
        if r.integer:
            out += [int(r.lo), int(r.hi), int(r.hi) + 1]
    return out


big = st.one_of(st.integers(-10, 10 ** 6), st.integers(-2 ** 40, 2 ** 40),
                st.sampled_from([2 ** 31, 2 ** 32 - 1, 3_000_000_000, 1e308, 10 ** 400]),
                st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(_edges()))
numeric_keys = st.sampled_from(["seed", "batch_size", "n_samples", "epochs", "lr", "momentum",
                                "l2", "noise", "test_fraction", "divergence_factor"])


@pytest.mark.run_modes()
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(numeric_keys, st.one_of(st.sampled_from(_edges()), big), max_size=2),
       st.one_of(st.lists(st.integers(1, 512), max_size=3), st.lists(big, max_size=2)))
def test_any_accepted_configuration_fits_the_controls_and_the_streams(qtbot, changes, hidden):
    """Whatever Config.from_dict accepts (and so a session file or config.json) lies in the one
    table of ranges, shows in the controls without a refusal, and seeds every random stream."""
    from bpviz.engine.config import RANGES
    from bpviz.engine.csvdata import SPLIT_SEED_OFFSET
    from bpviz.engine.trainer import SHUFFLE_SEED_OFFSET
    from bpviz.ui.window.controls import ControlsPanel
    d = Config.preset("xor").to_dict()
    d.update(changes)
    d["hidden"] = hidden
    try:
        cfg = Config.from_dict(d)
    except ConfigError as e:
        assert str(e)
        event("refused")
        return
    event("accepted")
    for key, r in RANGES.items():
        values = cfg.hidden if key == "hidden" else [getattr(cfg, key)]
        assert all(v is None or r.accepts(v) for v in values), key
    np.random.RandomState(cfg.seed + SHUFFLE_SEED_OFFSET)
    np.random.RandomState(cfg.seed + SPLIT_SEED_OFFSET)
    panel = ControlsPanel(cfg)
    qtbot.addWidget(panel)
    assert panel.config() == cfg
    assert all(box.in_range(box.value()) for box in panel.number_boxes())
    assert not any(box.note.text() for box in panel.number_boxes())
    panel.deleteLater()


@pytest.mark.run_modes()
def test_garbage_is_collected_on_the_gui_thread_only(qtbot, tmp_path):
    """Collecting a Qt wrapper on a worker thread can deadlock with the GUI thread (seen as a frozen
    window): automatic collection is off once a window exists, and a GUI timer collects."""
    import gc
    import threading
    import weakref

    from bpviz.engine import Config
    from bpviz.ui.window.main_window import MainWindow
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.005)                 # Python's default
    try:
        w = MainWindow(Config.preset("gaussian-clouds"),
                       settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                       start_worker=False)
        # the window's other threads hand the interpreter lock over within a millisecond
        assert sys.getswitchinterval() <= 0.001
    finally:
        sys.setswitchinterval(min(switch_interval, sys.getswitchinterval()))
    qtbot.addWidget(w)
    assert not gc.isenabled()
    collected_in = []

    def on_gc(phase, info):
        if phase == "start":
            collected_in.append(threading.current_thread().name)
    gc.callbacks.append(on_gc)
    try:
        def churn():                       # far more cyclic garbage than a collection threshold
            for _ in range(200_000):
                a = []
                a.append(a)
        t = threading.Thread(target=churn, name="churn")
        t.start()
        t.join()
        assert "churn" not in collected_in

        class Node:
            pass
        n = Node()
        n.me = n
        ref = weakref.ref(n)
        del n
        for _ in range(gc.get_threshold()[0] + 10):
            b = []
            b.append(b)
        qtbot.waitUntil(lambda: ref() is None, timeout=2000)     # the GUI timer collected it
        assert collected_in and set(collected_in) == {threading.main_thread().name}
    finally:
        gc.callbacks.remove(on_gc)
        w.close()
