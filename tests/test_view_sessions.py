"""Sessions keep the whole view: the descent path (also of a command-line run), the diagram's
modes, the focus, speed, step mode and the panels' layout; ``bpviz FILE`` opens a file."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from bpviz.engine.session import load_session


def cli(*args, timeout=300):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# -- the command line records the path --------------------------------------------------------

def test_train_out_records_every_pass_and_export_draws_the_whole_path(qtbot, tmp_path,
                                                                      open_window):
    run = tmp_path / "run"
    code, _, err = cli("train", "--preset", "gaussian-clouds", "--epochs", "40", "--out", str(run))
    assert code == 0, err
    session = load_session(run / "session.bpviz")
    # full batch: one pass an epoch, the start and every pass on the path, as the window has it
    assert session.trajectory.passes.tolist() == list(range(41))
    assert np.array_equal(session.trajectory.points[-1],
                          np.concatenate([p.ravel() for p in session.network.parameters()]))

    figs = tmp_path / "figs"
    code, _, err = cli("export", "--session", str(run / "session.bpviz"), "--out", str(figs))
    assert code == 0, err
    header, rows = read_rows(figs / "surface_path.csv")
    assert header[:2] == ["point", "pass"]
    assert [int(r[1]) for r in rows if r[0] == "path"] == list(range(41))
    assert [r[0] for r in rows].count("current") == 1

    # the picture draws those rows: the same session opened in a window at the export's size
    # projects the path onto the same slice, point for point as the CSV says
    window = open_window("moons", size=(1600, 1000))
    window.open_session(str(run / "session.bpviz"))
    qtbot.waitUntil(lambda: window.latest.pass_count == 40 and window.session_path is not None,
                    timeout=20000)
    window.paint_now()
    qtbot.waitUntil(lambda: window.surface.is_idle()
                    and window.surface.current_slice() is not None, timeout=20000)
    window.paint_now()
    x, y = window.surface.path_item.getData()
    csv_path = np.array([[float(r[2]), float(r[3])] for r in rows if r[0] == "path"])
    assert len(x) == 41
    np.testing.assert_allclose(np.column_stack([x, y]), csv_path, rtol=1e-9, atol=1e-12)
    # and the drawn line really lies where the CSV puts it: white path pixels at each point
    from bpviz.ui.surface_view import PATH_COLOR
    view = window.surface.graphics
    image = view.grab().toImage()
    ratio = image.devicePixelRatio()
    at = [view.mapFromScene(window.surface.plot.vb.mapViewToScene(QPointF(px, py)))
          for px, py in csv_path]
    # every fourth point, but none under the current point's marker
    on_path = [p for p in at[::4] if (p - at[-1]).manhattanLength() > 12]
    assert len(on_path) >= 5
    colours = [{image.pixelColor(round(p.x() * ratio) + dx, round(p.y() * ratio) + dy)
                .getRgb()[:3] for dx in (-1, 0, 1) for dy in (-1, 0, 1)} for p in on_path]
    assert [i for i, near in enumerate(colours) if PATH_COLOR not in near] == [], colours


# -- the window keeps its view ----------------------------------------------------------------

def save_through_the_menu(qtbot, window, monkeypatch, path):
    """File → Save session as… with the file dialog answering ``path``; waits until saved."""
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(path), "bpviz sessions (*.bpviz)")))
    action = next(a for a in window.file_menu.actions() if a.text().startswith("Save session as"))
    action.trigger()
    qtbot.waitUntil(lambda: window.session_path == str(path), timeout=20000)


def open_through_the_menu(qtbot, window, monkeypatch, path, pass_count):
    """File → Open session… with the file dialog answering ``path``; waits until it is shown."""
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(path), "bpviz sessions (*.bpviz)")))
    action = next(a for a in window.file_menu.actions() if a.text().startswith("Open session"))
    action.trigger()
    qtbot.waitUntil(lambda: window.session_path == str(path)
                    and window.latest.pass_count == pass_count, timeout=20000)


def set_view(qtbot, window):
    """A view unlike the window's defaults, set as a person sets it: the diagram's boxes, the
    toolbar's boxes, a tab brought to the front, a panel closed."""
    from PySide6.QtWidgets import QComboBox
    boxes = {box.currentData(): box for box in window.network.findChildren(QComboBox)}
    boxes["weight"].setCurrentIndex(boxes["weight"].findData("signal"))
    boxes["delta"].setCurrentIndex(boxes["delta"].findData("activation"))
    window.speed_box.setCurrentIndex(window.speed_box.findData(30))
    window.pace_box.setCurrentIndex(window.pace_box.findText("slow"))
    window.step_mode.setCurrentIndex(window.step_mode.findData("phase"))
    window.pin_sample(3)
    window.docks["inspector"].raise_()
    window.docks["code"].raise_()
    window.docks["graph"].close()


def view_of(window) -> dict:
    """What a person sees of the view: the boxes' texts, the focus, the panels in view."""
    return {"edges": window.network.overlay(), "neurons": window.network.node_mode(),
            "speed": window.speed_box.currentText(), "phases": window.pace_box.currentText(),
            "step": window.step_mode.currentText(), "focus": window.focus_status.text(),
            "in view": sorted(n for n, d in window.docks.items()
                              if d.isVisible() and not d.visibleRegion().isEmpty()),
            "closed": sorted(n for n, d in window.docks.items() if d.isHidden()),
            "sizes": {n: d.size().toTuple() for n, d in window.docks.items() if d.isVisible()}}


def test_a_session_keeps_modes_focus_speed_step_mode_and_layout(qtbot, open_window, monkeypatch,
                                                                 tmp_path):
    from tests.conftest import run_passes
    a = open_window("gaussian-clouds", size=(1500, 950))
    run_passes(qtbot, a, 4)
    set_view(qtbot, a)
    qtbot.waitUntil(lambda: a.latest.sample is not None and a.latest.sample.index == 3,
                    timeout=10000)
    seen = view_of(a)
    assert seen["edges"] == "signal" and seen["closed"] == ["graph"]
    assert "inspector" in seen["in view"] and "code" in seen["in view"]
    path = tmp_path / "view.bpviz"
    save_through_the_menu(qtbot, a, monkeypatch, path)

    b = open_window("moons", size=(1500, 950), speed=300)     # another run, another view
    assert view_of(b) != seen
    open_through_the_menu(qtbot, b, monkeypatch, path, 4)
    qtbot.waitUntil(lambda: b.latest.sample is not None and b.latest.sample.index == 3,
                    timeout=10000)
    try:
        qtbot.waitUntil(lambda: view_of(b) == seen, timeout=5000)
    except Exception:
        assert view_of(b) == seen


def settled(qtbot, window):
    """Every panel painted with the newest snapshot, the error surface computed for it."""
    window.paint_now()
    qtbot.waitUntil(lambda: window.surface.is_idle()
                    and window.surface.current_slice() is not None, timeout=30000)
    window.paint_now()
    qtbot.wait(50)


def panel_pictures(qtbot, window) -> dict:
    """Each panel as a person sees it: every panel brought to the front of its tab group in
    turn (the closed ones left closed) and grabbed."""
    pictures = {}
    for name, dock in window.docks.items():
        if dock.isHidden():
            continue
        dock.raise_()
        settled(qtbot, window)
        pictures[name] = dock.widget().grab().toImage()
    return pictures


@pytest.mark.parametrize("processes", ["1", "0"], ids=["process", "thread"])
def test_a_reopened_session_shows_the_same_picture_in_every_panel(qtbot, open_window,
                                                                   monkeypatch, tmp_path,
                                                                   processes):
    monkeypatch.setenv("BPVIZ_PROCESSES", processes)
    a = open_window("gaussian-clouds", size=(1500, 950))
    a.host.runEpochsRequested.emit(60)
    qtbot.waitUntil(lambda: a.latest.epoch == 60 and not a.latest.running, timeout=60000)
    set_view(qtbot, a)
    qtbot.waitUntil(lambda: a.latest.sample is not None and a.latest.sample.index == 3,
                    timeout=10000)
    path = tmp_path / "picture.bpviz"
    save_through_the_menu(qtbot, a, monkeypatch, path)
    before = panel_pictures(qtbot, a)
    assert len(a.surface.path_item.getData()[0]) == 61        # the start and 60 passes

    b = open_window("moons", size=(1500, 950), speed=300)
    open_through_the_menu(qtbot, b, monkeypatch, path, 60)
    qtbot.waitUntil(lambda: b.latest.sample is not None and b.latest.sample.index == 3,
                    timeout=10000)
    after = panel_pictures(qtbot, b)
    assert sorted(after) == sorted(before)
    differ = [name for name in before if before[name] != after[name]]
    for name in differ:
        before[name].save(str(tmp_path / f"{name}_before.png"))
        after[name].save(str(tmp_path / f"{name}_after.png"))
    assert differ == [], tmp_path


# -- bpviz FILE ---------------------------------------------------------------------------------

def test_bpviz_file_refuses_a_file_it_cannot_open_in_one_line(tmp_path):
    broken = tmp_path / "broken.bpviz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    empty = tmp_path / "empty.csv"
    empty.write_text("x1,x2,label\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    for path, words in ((broken, "not a bpviz session file"), (empty, "no data rows"),
                        (tmp_path / "missing.csv", "no such file"),
                        (tmp_path / "missing.bpviz", "no such file"),
                        (notes, "bpviz opens a session (FILE.bpviz) or data (FILE.csv)")):
        code, out, err = cli(str(path), timeout=120)
        assert code == 2 and out == "", (path, err)
        assert err.strip().splitlines() == [f"bpviz: {path}: {err.split(': ', 2)[2].strip()}"]
        assert words in err
    code, _, err = cli("tran", timeout=120)             # a mistyped command is still one
    assert code == 2 and "invalid choice: 'tran'" in err


def test_split_app_file_leaves_commands_and_options_alone():
    from bpviz.cli.window import split_app_file
    commands = ("train", "export")
    assert split_app_file(["train", "--out", "x.csv"], commands) == (
        ["train", "--out", "x.csv"], None)
    assert split_app_file(["run.bpviz"], commands) == ([], "run.bpviz")
    assert split_app_file(["--lessons", "mine", "data.csv"], commands) == (
        ["--lessons", "mine"], "data.csv")
    assert split_app_file(["--lessons", "run.bpviz"], commands) == (
        ["--lessons", "run.bpviz"], None)          # the folder of --lessons, not a file to open


@pytest.fixture
def app_main(qtbot, monkeypatch, tmp_path):
    """``app_main(argv, until)``: ``bpviz.cli.main(argv)`` with the window's event loop run
    until ``until(window)`` holds (then it returns as if the window were closed), the window on
    throw-away settings; returns (exit status, what the window showed)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import bpviz.ui.main_window as main_window
    from bpviz.cli import main
    made = []
    real = main_window.MainWindow

    class Window(real):
        def __init__(self, config):
            super().__init__(config, settings=QSettings(str(tmp_path / "app.ini"),
                                                        QSettings.IniFormat))
            qtbot.addWidget(self)
            made.append(self)

    monkeypatch.setattr(main_window, "MainWindow", Window)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)

    def run(argv, until):
        seen = {}

        def exec_(*_):
            qtbot.waitUntil(lambda: until(made[0]), timeout=30000)
            seen.update(config=made[0].config, title=made[0].windowTitle(),
                        passes=made[0].latest.pass_count)
            return 0

        monkeypatch.setattr(QApplication, "exec", exec_)
        return main(argv), seen

    return run


def test_bpviz_session_file_opens_it_in_the_window(qtbot, app_main, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli("train", "--preset", "moons", "--epochs", "3", "--out", str(run))
    assert code == 0, err
    path = run / "session.bpviz"
    passes = load_session(path).trainer.pass_count
    code, seen = app_main([str(path)], lambda w: w.session_path == str(path)
                          and w.latest is not None and w.latest.pass_count == passes)
    assert code == 0 and seen["config"].dataset == "moons" and seen["passes"] == passes
    assert "session.bpviz" in seen["title"]


def test_bpviz_csv_file_opens_it_as_the_dataset(qtbot, app_main, tmp_path):
    path = tmp_path / "mine.csv"
    rng = np.random.RandomState(0)
    X = rng.randn(40, 2)
    with open(path, "w") as f:
        f.write("x1,x2,label\n")
        for (a, b) in X:
            f.write(f"{a},{b},{int(a > b)}\n")
    code, seen = app_main([str(path)], lambda w: w.config.dataset == "csv"
                          and w.dataset is not None and len(w.dataset.X_train) > 0)
    assert code == 0 and seen["config"].data_file == str(path)
