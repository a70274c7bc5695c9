"""Test set-up: Qt offscreen and one BLAS thread, both before anything imports Qt or numpy."""

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402,F401  (loaded here, after the BLAS limits above)
import pytest  # noqa: E402

# -- the run mode ---------------------------------------------------------------------------------
# Training runs in a spawned child process (the default) or, with BPVIZ_PROCESSES=0, in a thread of
# the window's process. One pytest invocation covers both: a test that depends on where training
# runs gets the ``run_mode`` fixture parametrised as ``[process]`` and ``[thread]``; every other
# test runs once, with training in a thread (a window opens about a third quicker without a child
# to spawn), or as BPVIZ_PROCESSES says when it is set.
#
# The rule, decided per file: a file is listed here when what it checks is the training host's
# lifecycle as the window sees it — starting, playing, pausing, stepping, answering queries,
# swapping in an opened session, closing and joining, dying — so that each mode has its own ways
# to fail. Files not listed check the engine, the files, the command line, the wheel, the bench or
# a panel fed snapshots (the mode cannot matter), or the window's drawing and input (the same
# snapshots arrive either way; the cases where the mode matters carry a marker).
# Single tests marked so: the quit question's save (test_quit), the diverged and crafted sessions
# through the commands (test_session_faults), the same passes bit for bit and a slow pass that is
# no stall (test_training, test_stall), Export all's queries (test_export), Undo (test_window_input)
# and the learner's session kept while the lessons run (test_lessons).
# A single test elsewhere asks for both modes with ``@pytest.mark.run_modes("process", "thread")``,
# pins one with ``run_modes("process")``, or runs once as set with ``run_modes()``; the marker
# wins over the file's rule.
RUN_MODES = ("process", "thread")
RUN_MODES_BY_FILE = {
    # play, pause, step, close during training: the host's threads or process stopped and joined
    "test_app.py": RUN_MODES,
    # save and open of a live session: the session is asked for over the host and replaced there
    "test_app_session.py": RUN_MODES,
    # rapid commands while training, closing mid-run, divergence rolled back by the host
    "test_reliability.py": RUN_MODES,
    # a training process stopped or killed: only a process can be; the thread case is marked
    "test_stall.py": ("process",),
}


def run_modes_of(node) -> tuple:
    """The run modes a test asks for: its marker's, else its file's; () means once, as set."""
    marker = node.get_closest_marker("run_modes")
    if marker is not None:
        return tuple(marker.args)
    return RUN_MODES_BY_FILE.get(Path(str(node.path)).name, ())


def pytest_generate_tests(metafunc):
    modes = run_modes_of(metafunc.definition)
    assert set(modes) <= set(RUN_MODES), f"unknown run mode in {modes}"
    if modes and "run_mode" in metafunc.fixturenames:
        metafunc.parametrize("run_mode", modes, indirect=True)


@pytest.fixture(autouse=True)
def run_mode(request, monkeypatch) -> str:
    """Where this test's training runs, "process" or "thread"; BPVIZ_PROCESSES is set to match."""
    mode = getattr(request, "param", None)
    if mode is None:
        if "BPVIZ_PROCESSES" not in os.environ:
            monkeypatch.setenv("BPVIZ_PROCESSES", "0")
        from bpviz.host import processes_enabled
        return "process" if processes_enabled() else "thread"
    monkeypatch.setenv("BPVIZ_PROCESSES", "1" if mode == "process" else "0")
    return mode


# -- waiting -----------------------------------------------------------------------------------
# Tests wait on conditions (``qtbot.waitUntil``, ``waitSignal``), never for a fixed time. A wait's
# timeout only says when to give up: on a machine whose cores are all busy a spawned child, a
# background thread at a lower priority or a slow paint can take many times its usual time, so
# every wait gives up after WAIT_AT_LEAST_MS at the earliest, whatever timeout the test names.
# A wait that succeeds returns as soon as its condition holds, so this costs nothing then.
WAIT_AT_LEAST_MS = 60_000
PATIENT_WAITS = ("waitUntil", "waitSignal", "waitSignals", "waitCallback", "waitExposed",
                 "waitActive")


@pytest.fixture
def qtbot(qtbot):
    """pytest-qt's ``qtbot``, its waits given up after WAIT_AT_LEAST_MS at the earliest."""
    for name in PATIENT_WAITS:
        def patient(*args, _wait=getattr(qtbot, name), timeout=5000, **kwargs):
            return _wait(*args, timeout=max(timeout, WAIT_AT_LEAST_MS), **kwargs)
        setattr(qtbot, name, patient)
    return qtbot


class StoppedClock:
    """A clock that moves only when the test moves it (``clock.now += 1 / 60``), standing in for
    the ``time`` module as one module under test sees it; what it does not stop (``sleep``…) is the
    real module's."""

    def __init__(self, now: float):
        self.now = now

    def perf_counter(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def stopped_clock(monkeypatch):
    """``stopped_clock(module, now=100.0)`` → a :class:`StoppedClock` that ``module`` reads as
    ``time``. Only that module's name is replaced, never the process-wide ``time`` module, which
    threads still running elsewhere (the surface's, pytest's, Qt's) keep reading."""
    def install(module, now: float = 100.0) -> StoppedClock:
        clock = StoppedClock(now)
        monkeypatch.setattr(module, "time", clock)
        return clock
    return install


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
        monkeypatch.setattr("bpviz.ui.window.main_window.MainWindow.confirm_discard",
                            lambda self, action: True)


@pytest.fixture(autouse=True)
def _close_windows_left_open(_no_unsaved_work_prompt):
    """A test that fails before closing a main window it made: the window is closed here, so its
    training and surface threads are stopped and joined (a QThread destroyed while running aborts
    the whole test run, hiding every later result)."""
    yield
    import sys
    if "bpviz.ui.window.main_window" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    from bpviz.ui.window.main_window import MainWindow
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
    from bpviz.ui.window.main_window import MainWindow
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
