"""Quitting never loses work: Save in the quit question closes the window only once the session
is on disk (however slow the save), a failed save keeps the window open and says why, and closing
during a long pass waits for it instead of leaving a thread running."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from shiboken6 import isValid

from bpviz.engine.session import load_session
from tests.test_window_input import answer_file_dialog, back_to_window, key, steps


@pytest.fixture
def never_asked_after(monkeypatch):
    """Call it when the test is done: a window it left open then closes without a question
    that nobody would answer."""
    return lambda: monkeypatch.setattr(QMessageBox, "question",
                                       lambda *a, **k: QMessageBox.StandardButton.Discard)


def answer_question(qtbot, button, seen: list):
    """When the next question box opens, note its text and click ``button`` on it."""
    def answer():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen.append(box.text())
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)
    QTimer.singleShot(50, answer)


class OnHide(QObject):
    """Calls ``then()`` when the watched window hides (is gone from the screen)."""

    def __init__(self, then):
        super().__init__()
        self.then = then

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Hide:
            self.then()
        return False


def discard_and_close(qtbot, w):
    seen: list = []
    answer_question(qtbot, QMessageBox.StandardButton.Discard, seen)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=10000)


@pytest.mark.ask_before_discard
@pytest.mark.run_modes("process", "thread")
def test_quit_then_save_closes_once_the_session_is_on_disk_however_slow(
        qtbot, open_window, tmp_path, monkeypatch, run_mode, never_asked_after):
    try:
        quit_then_save(qtbot, open_window, tmp_path, monkeypatch, run_mode)
    finally:
        never_asked_after()


def quit_then_save(qtbot, open_window, tmp_path, monkeypatch, mode):
    w = open_window(size=(1200, 800))
    if w.host.mode != mode:
        pytest.skip("no child process here")
    steps(qtbot, w, 3)
    target = tmp_path / "quit.bpviz"
    on_disk = []

    def gone():
        on_disk.append(target.exists() and load_session(target).trainer.pass_count)
    watcher = OnHide(gone)
    w.installEventFilter(watcher)
    # a slow save, longer than closing used to wait for training: the process stopped for 3.5 s
    # while the question is open, or (in a thread) a save that takes that long
    if mode == "process":
        process = w.host.process

        def resume():
            os.kill(process.pid, signal.SIGCONT)

        def stop_it():
            if isinstance(QApplication.activeModalWidget(), QMessageBox):
                os.kill(process.pid, signal.SIGSTOP)
                QTimer.singleShot(3500, resume)
            else:
                QTimer.singleShot(20, stop_it)
        QTimer.singleShot(20, stop_it)
    else:
        import bpviz.engine.session as session_mod
        save = session_mod.save_session

        def slow_save(*args, **kwargs):
            import time
            time.sleep(3.5)
            return save(*args, **kwargs)
        monkeypatch.setattr(session_mod, "save_session", slow_save)
    progress = []

    def look():
        if not isValid(w) or not w.isVisible():
            return
        dialog = w.save_progress()
        if dialog is not None and dialog.isVisible():
            progress.append(dialog.labelText())
        QTimer.singleShot(50, look)
    QTimer.singleShot(50, look)
    asked: list = []
    answer_question(qtbot, QMessageBox.StandardButton.Save, asked)
    answer_file_dialog(qtbot, str(target))
    key(qtbot, w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=30000)
    assert asked and "not saved" in asked[0]
    assert on_disk == [3]                   # whole, with every pass, before the window went
    assert progress and f"Saving the session to {target}" in progress[0]
    assert not w.host.alive()


@pytest.mark.ask_before_discard
@pytest.mark.run_modes("process", "thread")
def test_a_failed_save_at_quit_keeps_the_window_open_and_says_why(qtbot, open_window, tmp_path,
                                                                  monkeypatch, run_mode,
                                                                  never_asked_after):
    try:
        failed_save_at_quit(qtbot, open_window, tmp_path, monkeypatch)
    finally:
        never_asked_after()


def failed_save_at_quit(qtbot, open_window, tmp_path, monkeypatch):
    w = open_window(size=(1200, 800))
    steps(qtbot, w, 2)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "run.bpviz"          # a folder that is a file: the save must fail
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    asked: list = []
    answer_question(qtbot, QMessageBox.StandardButton.Save, asked)
    key(qtbot, w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert asked
    qtbot.waitUntil(lambda: "cannot save" in w.statusBar().currentMessage(), timeout=10000)
    assert w.isVisible() and str(target) in w.last_error
    boxes = [b for b in w.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "cannot save" in boxes[-1].text()
    assert not target.exists()
    boxes[-1].close()
    back_to_window(qtbot, w)
    # the window goes on: training still answers
    steps(qtbot, w, 1)
    discard_and_close(qtbot, w)


CLOSE_MID_PASS = textwrap.dedent("""
    import os, sys, threading, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["BPVIZ_PROCESSES"] = "0"
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from bpviz.engine import Config
    from bpviz.engine.trainer import Trainer
    from bpviz.ui.window.main_window import MainWindow

    in_pass = threading.Event()
    step = Trainer.step

    def slow_step(self, *args, **kwargs):      # a pass of a big network: longer than closing
        in_pass.set()                           # used to wait (3 s) before leaving the thread
        time.sleep(4.0)
        return step(self, *args, **kwargs)
    Trainer.step = slow_step
    MainWindow.confirm_discard = lambda self, action: True

    app = QApplication([])
    w = MainWindow(Config.preset("gaussian-clouds"),
                   settings=QSettings(sys.argv[1], QSettings.IniFormat))
    w.show()
    while w.latest is None:
        app.processEvents()
    w.play()
    while not in_pass.is_set():
        app.processEvents()
    w.close()
    print("alive after close:", w.host.alive(), flush=True)
    del w
    app.quit()
""")


def test_closing_in_thread_mode_during_a_long_pass_waits_for_it(tmp_path):
    script = tmp_path / "close_mid_pass.py"
    script.write_text(CLOSE_MID_PASS)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BPVIZ_PROCESSES="0")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "s.ini")],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert "alive after close: False" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
