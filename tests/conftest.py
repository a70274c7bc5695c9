"""Test set-up: Qt offscreen and one BLAS thread, both before anything imports Qt or numpy."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402,F401  (loaded here, after the BLAS limits above)
import pytest  # noqa: E402


@pytest.fixture
def make_run():
    """``make_run(preset, **overrides)`` → (config, dataset, network, trainer), no thread."""
    from bpviz.engine.config import Config, build

    def make(preset="gaussian-clouds", **overrides):
        cfg = Config.preset(preset)
        for k, v in overrides.items():
            setattr(cfg, k, v)
        ds, net, trainer = build(cfg)
        return cfg, ds, net, trainer

    return make


@pytest.fixture
def make_snap(make_run):
    """``make_snap(preset, passes=3, **overrides)`` → a Snapshot after that many passes."""
    from bpviz.engine.snapshot import data_bounds, make_snapshot
    from bpviz.engine.trajectory import Trajectory

    def make(preset="gaussian-clouds", passes=3, pinned=0, **overrides):
        cfg, ds, net, trainer = make_run(preset, **overrides)
        traj = Trajectory(net)
        traj.record(net, 0)
        trace, before = None, None
        losses, positions = [], []
        for _ in range(passes):
            before = (list(net.weights), list(net.biases))
            pos = trainer.epoch + trainer.pass_in_epoch / trainer.passes_per_epoch()
            r = trainer.step()
            trace = r.trace
            losses.append(trace.loss)
            positions.append(pos)
            traj.record(net, trainer.pass_count)
        bounds = data_bounds(ds.X_all) if ds.n_features <= 2 else None
        return make_snapshot(trainer, seq=passes, running=False, trace=trace,
                             trace_weights=before[0] if before else None,
                             trace_biases=before[1] if before else None,
                             new_pass_losses=losses, new_pass_positions=positions,
                             bounds=bounds, pinned=pinned, trajectory=traj)

    return make


@pytest.fixture(autouse=True)
def _no_unsaved_work_prompt(request, monkeypatch):
    """Windows in tests close without asking about unsaved training (a modal question would
    block); tests of the question itself mark themselves ``ask_before_discard``."""
    if "ask_before_discard" not in request.keywords:
        monkeypatch.setattr("bpviz.ui.main_window.MainWindow.confirm_discard",
                            lambda self, action: True)


@pytest.fixture(autouse=True)
def _close_windows_left_open(_no_unsaved_work_prompt):
    """A test that fails before closing a main window it made: the window is closed here, so its
    training and surface threads are stopped and joined (a QThread destroyed while running aborts
    the whole test run, hiding every later result)."""
    yield
    import sys
    if "bpviz.ui.main_window" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    from bpviz.ui.main_window import MainWindow
    app = QApplication.instance()
    for w in (app.topLevelWidgets() if app is not None else []):
        if isinstance(w, MainWindow) and w.isVisible():
            w.close()


@pytest.fixture
def open_window(qtbot, tmp_path):
    """``open_window(preset, size=None, speed="max")`` → a shown MainWindow (resized to ``size``,
    (w, h), if given) with throw-away settings, remembering ``speed`` as the playing speed (None:
    none remembered, so the default), whose worker has published its first snapshot; closed in
    teardown, which checks that the training thread stopped."""
    from PySide6.QtCore import QSettings

    from bpviz.engine.config import Config
    from bpviz.ui.main_window import MainWindow
    windows = []

    def make(preset="gaussian-clouds", size=None, speed="max"):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        if speed is not None:           # the speed a user chose in an earlier run
            settings.setValue("speed", str(speed))
        w = MainWindow(Config.preset(preset), settings=settings)
        qtbot.addWidget(w)
        if size is not None:
            w.resize(*size)
        w.show()
        windows.append(w)
        # the first snapshot has arrived and been drawn: the status bar names its pass
        qtbot.waitUntil(lambda: w.latest is not None and w.dataset is not None
                        and w.status_labels["pass"].text().startswith("pass "), timeout=20000)
        return w

    yield make
    for w in windows:
        w.close()
        assert not w.host.alive()


def run_passes(qtbot, window, n):
    """Step ``window`` ``n`` single passes, waiting for each one's snapshot."""
    for _ in range(n):
        target = window.latest.pass_count + 1
        window.step()
        qtbot.waitUntil(lambda: window.latest.pass_count == target, timeout=5000)
