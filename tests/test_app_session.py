"""Sessions in the window: save, open (menu, recent list, drop), refusal of bad files, and the
question before unsaved training is lost."""

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from bpviz.engine import Config
from tests.conftest import run_passes
from bpviz.engine.session import load_session


@pytest.fixture
def window(open_window):
    return open_window("moons")


def test_save_then_open_restores_the_state_and_selections(qtbot, window, tmp_path):
    run_passes(qtbot, window, 5)
    window.select_neuron(1, 3)
    window.surface.set_axes([("W", 0, 1, 2), ("W", 1, 3, 0)])
    window.pin_sample(7)
    path = tmp_path / "run.bpviz"
    window.save_session(str(path))
    qtbot.waitUntil(lambda: window.session_path == str(path), timeout=5000)
    assert not window.is_modified() and "run.bpviz" in window.windowTitle()
    saved = window.latest
    session = load_session(path)
    assert session.trainer.pass_count == 5
    assert all(np.array_equal(a, b) for a, b in zip(session.network.weights, saved.weights))

    run_passes(qtbot, window, 3)
    assert window.is_modified()
    window.open_session(str(path))

    def opened():
        snap = window.latest
        assert snap.pass_count == 5
        assert all(np.array_equal(a, b) for a, b in zip(snap.weights, saved.weights))
        assert window.network.selected_neuron() == (1, 3)
        assert [(a.layer, a.i, a.j) for a in window.surface.axes()] == [(0, 1, 2), (1, 3, 0)]
        assert window.boundary.pinned() == 7
        assert not window.is_modified()
    qtbot.waitUntil(opened, timeout=5000)
    assert window.run.recent()[0] == str(path)
    # continuing gives the same passes as never having stopped
    run_passes(qtbot, window, 3)
    from bpviz.engine import build
    _, net, trainer = build(Config.preset("moons"))
    for _ in range(8):
        trainer.step()
    assert all(np.array_equal(a, b) for a, b in zip(window.latest.weights, net.weights))


def test_a_corrupt_session_is_refused_and_nothing_changes(qtbot, window, tmp_path):
    run_passes(qtbot, window, 2)
    before = window.latest
    bad = tmp_path / "broken.bpviz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    window.open_session(str(bad))
    qtbot.waitUntil(lambda: "broken.bpviz" in window.last_error, timeout=5000)
    assert window.latest.pass_count == before.pass_count and window.config.dataset == "moons"
    # a command sent after the refusal is answered after it: training goes on from where it was
    run_passes(qtbot, window, 1)
    assert window.latest.pass_count == before.pass_count + 1 and window.config.dataset == "moons"


def test_opening_a_refused_session_through_the_menu_leaves_training_playing(qtbot, window,
                                                                           tmp_path):
    from tests.test_window_input import answer_file_dialog, click_menu
    window.controls.lr.spin.setValue(0.3)
    qtbot.waitUntil(lambda: window.latest.lr == 0.3, timeout=5000)
    window.play()
    qtbot.waitUntil(lambda: window.latest.running and window.latest.epoch > 5, timeout=10000)
    bad = tmp_path / "broken.bpviz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    answer_file_dialog(qtbot, str(bad))
    click_menu(qtbot, window, "File", "Open session")
    qtbot.waitUntil(lambda: "broken.bpviz" in window.last_error, timeout=10000)
    epoch = window.latest.epoch
    qtbot.waitUntil(lambda: window.latest.epoch > epoch + 5, timeout=10000)   # still training
    assert window.latest.running and window.toolbar.widgetForAction(
        window.play_action).text() == "Pause"
    assert window.latest.lr == 0.3 and window.config.dataset == "moons"     # settings kept


def test_dropping_a_session_file_opens_it(qtbot, window, tmp_path):
    run_passes(qtbot, window, 4)
    path = tmp_path / "dropped.bpviz"
    window.save_session(str(path))
    qtbot.waitUntil(lambda: window.session_path == str(path), timeout=5000)
    window.reset()
    qtbot.waitUntil(lambda: window.latest.pass_count == 0, timeout=5000)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.latest.pass_count == 4, timeout=5000)


@pytest.mark.ask_before_discard
def test_unsaved_training_asks_before_it_is_lost(qtbot, window, monkeypatch):
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.Cancel

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert window.confirm_discard("Quit")                  # nothing trained yet: no question
    assert not asked
    run_passes(qtbot, window, 2)
    window.close()
    assert asked and "not saved" in asked[0]
    assert window.isVisible()                              # cancelled: still open, still training
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    window.close()
    assert not window.isVisible() and not window.host.alive()
