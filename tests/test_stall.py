"""A training process that stops answering, or dies, never stalls the window or its closing."""

import os
import signal
import time

import pytest

import bpviz.worker as worker_mod

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
    qtbot.waitUntil(lambda: w.host._checkpoint[1]["pass_count"] > 0, timeout=10000)
    sent = w.host._checkpoint[1]["pass_count"]
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
