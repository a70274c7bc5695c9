"""The window's one model of the run, driven through the window as a person drives it: a setting
typed into the Controls panel is the one Export all writes and the one a refused session leaves in
force; a failure names the command it answers; a panel added in one call is painted while the
network trains."""

import json

import pytest
from PySide6.QtWidgets import QFileDialog, QLabel

from bpviz.messages import (SPEEDS, OpenSession, RunEpochs, SaveSession, SetHyper,
                            SetSpeed, SetStepMode)
from tests.test_window_input import type_into


@pytest.fixture
def window(open_window):
    return open_window("gaussian-clouds")


def menu_action(menu, text: str):
    return next(a for a in menu.actions() if a.text().replace("&", "").startswith(text))


def test_a_typed_learning_rate_is_the_one_export_all_writes(qtbot, window, tmp_path,
                                                           monkeypatch):
    assert window.config.lr == 1.5                          # the classic example's
    type_into(qtbot, window.controls.lr.spin, "0.25")
    folder = tmp_path / "figures"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *args, **kw: str(folder)))
    window.exporter.all_action.trigger()                    # File → Export → Export all…
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["lr"] == 0.25
    assert window.config.lr == 0.25                         # the model has it too


def test_a_refused_session_leaves_the_typed_learning_rate_in_the_box_and_in_training(
        qtbot, window, tmp_path, monkeypatch):
    type_into(qtbot, window.controls.lr.spin, "0.25")
    qtbot.waitUntil(lambda: window.latest.lr == 0.25, timeout=5000)
    bad = tmp_path / "broken.bpviz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kw: (str(bad), "")))
    with qtbot.waitSignal(window.run.failed, timeout=10000) as failure:
        menu_action(window.file_menu, "Open session").trigger()      # File → Open session…
    assert failure.args[0].request == OpenSession(str(bad))       # it names what it answers
    assert "broken.bpviz" in window.last_error
    assert window.controls.lr.spin.text() == "0.25"               # the box did not snap back
    assert window.config.lr == 0.25 and window.controls.config().lr == 0.25
    passes = window.latest.pass_count
    window.step_action.trigger()                                  # and training is at 0.25
    qtbot.waitUntil(lambda: window.latest.pass_count == passes + 1, timeout=5000)
    assert window.latest.lr == 0.25


def test_a_failed_save_names_its_request(qtbot, window, tmp_path):
    target = str(tmp_path / "no such folder" / "run.bpviz")
    with qtbot.waitSignal(window.run.failed, timeout=10000) as failure:
        window.save_session(target)
    request = failure.args[0].request
    assert isinstance(request, SaveSession) and request.path == target
    assert "cannot save" in failure.args[0].why
    assert window.session_path is None                     # the document is still untitled


def test_commands_check_their_arguments_where_they_are_made():
    with pytest.raises(ValueError, match="speed: 7 is not one of the speeds"):
        SetSpeed(7)
    with pytest.raises(ValueError, match="step mode: 'leap' is not one of"):
        SetStepMode("leap")
    with pytest.raises(ValueError, match="run epochs"):
        RunEpochs(0)
    with pytest.raises(ValueError, match="seed cannot change without a new network"):
        SetHyper({"seed": 3})
    assert SetSpeed(SPEEDS[-1]).message() == ("speed", None)
    assert SaveSession("a.bpviz", {"focus": "mean"}).message() == \
        ("save_session", ("a.bpviz", {"focus": "mean"}))


def test_the_speed_box_sets_the_one_speed(qtbot, window):
    from tests.test_window_input import choose
    choose(qtbot, window.speed_box, "30")
    assert window.run.speed == 30 and window.speed == 30
    assert window.settings.value("speed") == "30"


class PassCounter(QLabel):
    """A panel a reader might add: the pass each snapshot it is shown was taken after."""

    def __init__(self):
        super().__init__("no pass yet")
        self.shown = []
        self.ingested = 0

    def show_snapshot(self, snap):
        self.shown.append(snap.pass_count)
        self.setText(f"pass {snap.pass_count:,}")

    def ingest(self, snap):
        self.ingested += 1


def test_a_panel_added_in_one_call_is_painted_while_training(qtbot, window):
    panel = PassCounter()
    dock = window.register_panel("passes", "Passes", panel)
    assert window.docks["passes"] is dock
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    assert menu_action(window.view_menu, "Passes").isChecked()        # View → Passes
    window.play_action.trigger()
    start = window.latest.pass_count
    qtbot.waitUntil(lambda: len(panel.shown) >= 3 and panel.shown[-1] > start + 10,
                    timeout=20000)
    window.play_action.trigger()                                     # pause
    qtbot.waitUntil(lambda: not window.latest.running
                    and panel.text() == f"pass {window.latest.pass_count:,}", timeout=10000)
    assert panel.ingested >= len(panel.shown)                        # every snapshot, ingested
    with pytest.raises(ValueError, match="already a panel named 'passes'"):
        window.register_panel("passes", "Again", QLabel())


def test_lessons_whose_keep_aside_save_failed_give_the_learners_configuration_back(
        qtbot, open_window, tmp_path, monkeypatch):
    """The Lessons panel keeps the learner's run in a temporary session file; when that save
    fails (its folder is gone here), the failure names the save it answers, and leaving the
    lessons brings the learner's configuration back."""
    import tempfile

    from tests.test_lessons import lesson_button, open_lessons
    from tests.test_window_input import click
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))   # no lessons of the user
    w = open_window("moons")
    type_into(qtbot, w.controls.lr.spin, "0.7")
    qtbot.waitUntil(lambda: w.latest.lr == 0.7, timeout=5000)
    mine = w.controls.config()
    gone = tmp_path / "gone" / "learner.bpviz"
    real = tempfile.mkstemp

    def mkstemp(*args, **kw):          # only the lessons' file goes where it cannot be written
        if kw.get("prefix") == "bpviz-learner-":
            fd, _ = real(dir=tmp_path)
            return fd, str(gone)
        return real(*args, **kw)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    failures = []
    w.run.failed.connect(failures.append)
    open_lessons(qtbot, w, 1)
    assert any(isinstance(f.request, SaveSession) and f.request.path == str(gone)
               for f in failures)
    assert w.config.dataset != "moons" or w.config.lr != 0.7       # the lesson's network
    click(qtbot, lesson_button(w, "Leave lessons"))
    qtbot.waitUntil(lambda: w.config.dataset == "moons" and w.latest.lr == 0.7, timeout=10000)
    assert w.controls.config() == mine and w.controls.lr.spin.text() == "0.7"
