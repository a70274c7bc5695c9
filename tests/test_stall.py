"""A training process that stops answering, or dies, never stalls the window or its closing."""

import os
import signal
import time

import pytest

import bpviz.host as worker_mod
from bpviz.messages import Pause, Play
from tests.test_training import Recorder

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals")


def playing_in_its_process(qtbot, w):
    """Play at full speed in the training process until it has trained a while; its process."""
    if w.host.mode != "process":
        pytest.skip("training runs in a thread here (BPVIZ_PROCESSES=0)")
    w.play()
    qtbot.waitUntil(lambda: w.latest.running and w.latest.epoch > 20, timeout=60000)
    return w.host.process


def epoch(w) -> int:
    return int(w.status_labels["epoch"].text().split()[-1])


def test_a_stopped_training_process_is_reported_and_training_goes_on(qtbot, open_window,
                                                                     monkeypatch):
    monkeypatch.setattr(worker_mod, "STALL_S", 1.5)
    w = open_window(size=(1200, 800))
    process = playing_in_its_process(qtbot, w)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        # the window says so (its status bar then shows the session's own word on it, which
        # may come first or right after)
        qtbot.waitUntil(lambda: "stopped answering" in w.last_error, timeout=20000)
        qtbot.waitUntil(lambda: "stopped" in w.statusBar().currentMessage(), timeout=20000)
        qtbot.waitUntil(lambda: not process.is_alive(), timeout=10000)      # it was ended
        start = epoch(w)
        qtbot.waitUntil(lambda: epoch(w) > start + 20, timeout=20000)      # training goes on
        assert w.host.mode == "thread" and w.host.process is None and w.latest.running
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)


def test_a_killed_training_process_is_survived_and_the_user_told(qtbot, open_window):
    w = open_window(size=(1200, 800))
    process = playing_in_its_process(qtbot, w)
    # while playing, the process sends its training state at least once a second
    qtbot.waitUntil(lambda: w.host.checkpoint_state()["pass_count"] > 0, timeout=10000)
    sent = w.host.checkpoint_state()["pass_count"]
    os.kill(process.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "the training process stopped" in w.statusBar().currentMessage(),
                    timeout=20000)
    assert w.host.mode == "thread"
    assert w.latest.pass_count >= sent > 0     # carried on from that state, not from the start
    start = epoch(w)
    qtbot.waitUntil(lambda: epoch(w) > start + 20, timeout=20000)


def test_closing_with_a_stopped_training_process_ends(qtbot, open_window):
    w = open_window(size=(1200, 800))
    process = playing_in_its_process(qtbot, w)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        w.close()                       # a bound, not a speed: it used to wait forever
        assert time.monotonic() - t0 < 30
        assert not w.host.alive()
        assert not process.is_alive()
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)


# -- whatever the window was doing --------------------------------------------------------------

def stopped_while_paused(qtbot, w):
    """Two passes stepped (paused: the training state the process sent is this one), then the
    training process stopped; its process."""
    if w.host.mode != "process":
        pytest.skip("training runs in a thread here (BPVIZ_PROCESSES=0)")
    for target in (1, 2):
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == target, timeout=10000)
    qtbot.waitUntil(lambda: w.host.waiting_s() == 0, timeout=10000)     # all answered
    os.kill(w.host.process.pid, signal.SIGSTOP)
    return w.host.process


def test_play_on_a_training_process_stopped_while_paused_is_noticed(qtbot, open_window,
                                                                   monkeypatch):
    from PySide6.QtCore import Qt
    monkeypatch.setattr(worker_mod, "STALL_S", 1.5)
    w = open_window(size=(1200, 800))
    process = stopped_while_paused(qtbot, w)
    try:
        qtbot.keyClick(w, Qt.Key.Key_Space)                       # Play
        assert w.toolbar.widgetForAction(w.play_action).text() == "Pause"
        qtbot.waitUntil(lambda: "stopped answering" in w.last_error, timeout=20000)
        qtbot.waitUntil(lambda: not process.is_alive(), timeout=10000)
        qtbot.waitUntil(lambda: epoch(w) > 20, timeout=20000)      # the Play was not lost
        assert w.host.mode == "thread" and w.latest.running
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)


def test_export_all_from_a_training_process_stopped_while_paused(qtbot, open_window,
                                                                 monkeypatch, tmp_path):
    monkeypatch.setattr(worker_mod, "STALL_S", 1.5)
    w = open_window(size=(1200, 800))
    said = []
    w.host.stalled.connect(said.append)
    process = stopped_while_paused(qtbot, w)
    try:
        t0 = time.monotonic()
        files = w.exporter.export_all_to(tmp_path / "all")
        took = time.monotonic() - t0
        # the first question noticed the stopped process; the thread answered that one and the
        # rest (it used to be 10 s for each question, then a refusal)
        assert len(said) == 1 and "stopped answering" in said[0]
        assert took < 10, took
        assert files and all(f.exists() for f in files)
        assert w.host.mode == "thread" and not process.is_alive()
        assert w.latest.pass_count == 2 and not w.latest.running
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)


# -- a big network is slow, not dead ------------------------------------------------------------

@pytest.mark.run_modes("process", "thread")
def test_a_pass_longer_than_the_least_allowance_is_not_a_stall(qtbot, monkeypatch, run_mode):
    """Full-batch passes of a 2-512-512-3 network on 3,200 samples take 0.2 to 0.5 s here,
    longer than the least allowance (shortened to 0.1 s): the host allows for the pass
    the session measured, and the process is not ended."""
    from bpviz.engine import Config
    from bpviz.host import TrainingHost
    config = Config.preset("spiral")
    config.hidden, config.n_samples, config.batch_size = (512, 512), 4000, 0
    host = TrainingHost(config, processes=run_mode == "process")
    from bpviz.ui.window.run_model import RunModel
    run = RunModel(host, config)     # keeps the newest snapshot
    said, times = [], []
    host.stalled.connect(said.append)
    host.snapshotArrived.connect(lambda snap: times.append((time.monotonic(), snap.pass_count)))
    host.start()
    try:
        qtbot.waitUntil(lambda: run.latest is not None, timeout=60000)
        mode = host.mode
        host.command(Play())
        qtbot.waitUntil(lambda: run.latest.pass_count >= 1, timeout=60000)
        # the least allowance well under one pass of this network (0.2 s on a quiet machine), once
        # the session has measured a pass (before that the first answer, slow on a busy machine,
        # has only the least allowance)
        monkeypatch.setattr(worker_mod, "STALL_S", 0.1)
        qtbot.waitUntil(lambda: host.allowance() > worker_mod.STALL_S, timeout=60000)
        start = run.latest.pass_count
        qtbot.waitUntil(lambda: run.latest.pass_count >= start + 5, timeout=60000)
        host.command(Pause())
        qtbot.waitUntil(lambda: not run.latest.running, timeout=20000)
        assert said == [] and host.mode == mode
        assert mode != "process" or host.process.is_alive()
        # the passes did take longer than the least allowance, and the allowance covers them
        gaps = [t1 - t0 for (t0, p0), (t1, p1) in zip(times, times[1:]) if p1 == p0 + 1]
        assert gaps and max(gaps) > worker_mod.STALL_S
        assert host.allowance() > max(gaps)
    finally:
        host.stop()
    assert not host.alive()


# -- what lived in the process survives it ------------------------------------------------------

def test_undo_survives_a_killed_training_process(qtbot, open_window):
    """Ctrl+Z after the training process died brings back the run a reset set aside before."""
    import numpy as np
    from PySide6.QtCore import Qt

    from bpviz.engine import Config, build
    w = open_window(size=(1200, 800))
    if w.host.mode != "process":
        pytest.skip("training runs in a thread here (BPVIZ_PROCESSES=0)")
    for target in (1, 2, 3):
        qtbot.keyClick(w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: w.latest.pass_count == target, timeout=10000)
    qtbot.keyClick(w, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: w.latest.pass_count == 0 and w.undo_action.isEnabled(),
                    timeout=10000)
    assert w.host.undo_depth() == 1          # the host holds the run set aside as well
    process = w.host.process
    os.kill(process.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "the training process stopped" in w.statusBar().currentMessage(),
                    timeout=20000)
    assert w.host.mode == "thread" and w.undo_action.isEnabled()
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.latest.pass_count == 3, timeout=10000)
    assert "undone (reset)" in w.statusBar().currentMessage()
    assert "nothing to undo" not in w.last_error
    _, _, trainer = build(Config.preset("gaussian-clouds"))
    for _ in range(3):
        trainer.step()
    for shown, expected in zip(w.latest.weights, trainer.network.weights):
        assert np.array_equal(shown, expected)
    # and it trains on from there exactly as the run would have
    qtbot.keyClick(w, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: w.latest.pass_count == 4, timeout=10000)
    trainer.step()
    for shown, expected in zip(w.latest.weights, trainer.network.weights):
        assert np.array_equal(shown, expected)


# -- the session's side, no Qt --------------------------------------------------------------------

def test_a_ping_is_answered_with_the_work_a_pass_takes():
    """The pong's work_s covers one pass of the network as the session timed it."""
    from bpviz.engine import Config, build
    from bpviz.training import TrainingSession
    config = Config.preset("spiral")
    config.hidden, config.n_samples, config.batch_size = (256, 256), 3000, 0
    events = Recorder()
    session = TrainingSession(config, events)
    session.handle(("ping", 7))
    (ping_id, before), = events.of("pong")
    trainer = build(config)[2]
    t0 = time.perf_counter()
    trainer.step()
    one_pass = time.perf_counter() - t0
    assert ping_id == 7 and before > 0.2 * one_pass      # an estimate before any pass
    t0 = time.perf_counter()
    session.handle(("step",))
    took = time.perf_counter() - t0
    session.worked(took)                               # as serve() tells it
    session.handle(("ping", 8))
    assert events.of("pong")[-1] == (8, session.work_s()) and session.work_s() >= took


def test_with_mini_batches_the_work_covers_a_pass_over_the_whole_training_set():
    """The first pass, and the last of every epoch, measure the loss on every training sample:
    with small batches on many samples that takes far longer than a batch, and a training process
    busy with it is not a stalled one. Before any pass the estimate covers it."""
    from bpviz.engine import Config, build
    from bpviz.training import TrainingSession
    config = Config.preset("spiral")
    config.hidden, config.n_samples, config.batch_size = (256, 256), 3000, 8
    events = Recorder()
    session = TrainingSession(config, events)
    session.handle(("ping", 1))
    (_, before), = events.of("pong")
    trainer = build(config)[2]
    t0 = time.perf_counter()
    trainer.evaluate(trainer.X, trainer.T, trainer.labels)       # the whole training set
    whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    trainer.step()                                               # its first pass: the same
    first = time.perf_counter() - t0
    assert before > 0.2 * whole and before > 0.2 * first


def test_set_aside_runs_go_to_the_host_and_a_new_session_can_undo_them():
    import pickle

    import numpy as np

    from bpviz.engine import Config
    from bpviz.training import TrainingSession
    config = Config.preset("gaussian-clouds")
    events = Recorder()
    first = TrainingSession(config, events, checkpoints=True)
    for _ in range(3):
        first.handle(("step",))
    weights = [W.copy() for W in first.trainer.network.weights]
    first.handle(("reset",))
    entry, = events.of("set_aside")
    entry = pickle.loads(pickle.dumps(entry))          # as it crosses to the window's process
    # a session carrying on elsewhere, from the reset state, with that run
    later = Recorder()
    second = TrainingSession(config, later, undo=[entry])
    second.handle(("undo",))
    assert "nothing to undo" not in " ".join(later.of("failed"))
    snap = later.of("snapshot")[-1]
    assert snap.pass_count == 3 and "undone (reset)" in snap.message
    assert all(np.array_equal(a, b) for a, b in zip(snap.weights, weights))
    first.handle(("undo",))
    assert events.of("set_aside")[-1] is None          # the host's copy goes too
