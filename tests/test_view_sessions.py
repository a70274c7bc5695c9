"""Sessions keep the whole view: the descent path (also of a command-line run), the diagram's
modes, the focus, speed, step mode and the panels' layout; ``bpviz FILE`` opens a file."""

import sys

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from bpviz.engine.session import load_session
from bpviz.messages import RunEpochs
from tests.conftest import run_passes
from tests.commandline import bpviz as cli, read_rows


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
    from bpviz.ui.panels.surface import PATH_COLOR
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
    """A view unlike the window's defaults: what the diagram's edges and neurons show, the
    toolbar's boxes, a sample pinned, a tab brought to the front, a panel closed."""
    window.network.set_overlay("signal")
    window.network.set_node_mode("activation")
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
    def same_view():
        assert view_of(b) == seen
    qtbot.waitUntil(same_view, timeout=5000)


def settled(qtbot, window):
    """Every panel painted with the newest snapshot, the error surface computed for it."""
    from bpviz.engine.surface import flatten
    window.paint_now()
    snap = window.latest
    def through_the_weights_shown():
        result = window.surface.current_result()
        return (window.surface.is_idle() and result is not None
                and window.surface.shown_pass() == snap.pass_count
                and np.array_equal(result.coordinates(flatten(snap.weights, snap.biases)),
                                   np.asarray(result.slice.center)))
    qtbot.waitUntil(through_the_weights_shown, timeout=30000)
    window.paint_now()
    QApplication.processEvents()


def panel_pictures(qtbot, window) -> dict:
    """Each panel as a person sees it: every panel brought to the front of its tab group in
    turn (the closed ones left closed) and grabbed."""
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest
    # the mouse off the plots, as after a person's menu click it may not be: a hover readout is
    # not part of the picture a session keeps
    QTest.mouseMove(window.menuBar(), QPoint(2, 2))
    qtbot.waitUntil(lambda: not any(line.isVisible() for line in window.cost.hover_lines),
                    timeout=10000)
    pictures = {}
    for name, dock in window.docks.items():
        if dock.isHidden():
            continue
        dock.raise_()
        settled(qtbot, window)
        pictures[name] = dock.widget().grab().toImage()
    return pictures


@pytest.mark.parametrize("preset, processes, epochs", [
    ("gaussian-clouds", "1", 60), ("gaussian-clouds", "0", 60),
    ("xor", "0", 3)], ids=["process", "thread", "mini-batches"])
def test_a_reopened_session_shows_the_same_picture_in_every_panel(qtbot, open_window,
                                                                   monkeypatch, tmp_path,
                                                                   preset, processes, epochs):
    monkeypatch.setenv("BPVIZ_PROCESSES", processes)
    a = open_window(preset, size=(1500, 950))
    a.run.send(RunEpochs(epochs))
    qtbot.waitUntil(lambda: a.latest.epoch == epochs and not a.latest.running, timeout=60000)
    if preset == "xor":         # a pass of a mini-batch in the middle of an epoch is shown
        run_passes(qtbot, a, 3)
    passes = a.latest.pass_count
    set_view(qtbot, a)
    qtbot.waitUntil(lambda: a.latest.sample is not None and a.latest.sample.index == 3,
                    timeout=10000)
    if preset == "xor":         # the means over the mini-batch the last pass ran on
        a.set_focus("mean")
    path = tmp_path / "picture.bpviz"
    save_through_the_menu(qtbot, a, monkeypatch, path)
    before = panel_pictures(qtbot, a)
    assert len(a.surface.path_item.getData()[0]) == passes + 1     # the start and every pass

    b = open_window("moons", size=(1500, 950), speed=300)
    open_through_the_menu(qtbot, b, monkeypatch, path, passes)
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

    import bpviz.ui.window.main_window as main_window
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


# -- every value a session keeps of the view is checked; older files open ------------------------

@pytest.fixture(scope="module")
def viewed_session(tmp_path_factory):
    """A xor session after 4 passes with all the window keeps of its view: the trace's pass
    (weights before the last update, its batch) and the pass log, modes, speed and layout."""
    from bpviz.engine import Config, build
    from bpviz.engine.session import save_session
    cfg = Config.preset("xor")
    _, net, trainer = build(cfg)
    log, before = [], None
    for _ in range(4):
        before = ([W.copy() for W in net.weights], [b.copy() for b in net.biases])
        position = trainer.position
        result = trainer.step()
        log.append((trainer.pass_count, position, result.trace.loss))
    shown = {"trace": {"weights": before[0], "biases": before[1],
                       "batch": np.array([3, 1, 2], dtype=np.int64)},
             "pass_log": np.array(log)}
    extra = {"edges": "signal", "neurons": "activation", "speed": 30, "phases": "slow",
             "focus": "sample", "pinned_sample": 2,
             "layout": {"state": "AAAA", "version": 4, "front": ["cost"], "closed": ["graph"]}}
    path = tmp_path_factory.mktemp("viewed") / "viewed.bpviz"
    save_session(path, trainer, cfg, extra=extra, shown=shown)
    return path


def test_the_view_a_session_keeps_reads_back_as_saved(viewed_session):
    session = load_session(viewed_session)
    assert session.extra["edges"] == "signal" and session.extra["speed"] == 30
    assert session.extra["layout"]["closed"] == ["graph"]
    assert session.shown["trace"]["batch"].tolist() == [3, 1, 2]
    assert session.shown["pass_log"][:, 0].tolist() == [1, 2, 3, 4]


VIEW_BAD = {
    "speed zero": (dict(change_extra=("speed", 0)), "extra.speed must be \"max\" or a whole "
                                                    "number from 1 to 1000000"),
    "speed a fraction": (dict(change_extra=("speed", 2.5)), "extra.speed must be"),
    "speed true": (dict(change_extra=("speed", True)), "extra.speed must be"),
    "edges a number": (dict(change_extra=("edges", 7)), "extra.edges must be text; got 7"),
    "neurons a book": (dict(change_extra=("neurons", "x" * 1000)),
                       "extra.neurons must be a name of at most 40 characters"),
    "layout a list": (dict(change_extra=("layout", [1, 2])), "extra.layout must be an object"),
    "layout state huge": (dict(change_extra=("layout", {"state": "A" * (2 << 20)})),
                          "extra.layout.state must be text of at most 1,048,576 characters"),
    "layout closed a name": (dict(change_extra=("layout", {"closed": "graph"})),
                             "extra.layout.closed must be a list of at most 64 panel names"),
    "layout version negative": (dict(change_extra=("layout", {"version": -1})),
                                "extra.layout.version must be a whole number"),
    "batch past the data": (dict(arrays={"shown/trace/batch": np.array([0, 320])}),
                            "shown.trace.batch must be training samples, 0 to 319"),
    "batch of floats": (dict(arrays={"shown/trace/batch": np.array([0.5, 1.0])}),
                        "shown.trace.batch must be training samples"),
    "trace weights not finite": (dict(arrays={"shown/trace/weights/0": np.full((2, 4), np.nan)}),
                                 "shown.trace.weights must be the network's weights, finite"),
    "trace weights of another shape": (dict(arrays={"shown/trace/weights/0": np.ones((3, 4))}),
                                       "shown.trace.weights must be the network's weights"),
    "pass log past the run": (dict(arrays={"shown/pass_log": np.array(
        [[1, 0, 1.0], [9, 0.5, 1.0]])}), "shown.pass_log's passes must be whole numbers in order, "
                                         "from 1 to the pass count 4"),
    "pass log out of order": (dict(arrays={"shown/pass_log": np.array(
        [[2, 0, 1.0], [1, 0.5, 1.0]])}), "shown.pass_log's passes must be whole numbers in order"),
    "pass log of pairs": (dict(arrays={"shown/pass_log": np.ones((3, 2))}),
                          "shown.pass_log must be at most 250,000 rows of (pass, position, loss)"),
}


@pytest.mark.parametrize("case", list(VIEW_BAD))
def test_a_view_value_out_of_range_is_refused_in_one_line(viewed_session, tmp_path, case):
    from bpviz.engine.errors import SessionError
    from tests.test_session_faults import crafted, setter
    how, message = VIEW_BAD[case]
    how = dict(how)
    if "change_extra" in how:
        key, value = how.pop("change_extra")
        how["change"] = setter("extra", key, value=value)
    bad = crafted(viewed_session, tmp_path / "bad.bpviz", **how)
    with pytest.raises(SessionError) as info:
        load_session(bad)
    text = str(info.value)
    assert text.startswith(f"{bad}: ") and "\n" not in text
    assert message in text


def test_a_session_from_before_the_view_was_kept_opens_with_the_view_as_it_was(
        qtbot, open_window, viewed_session, tmp_path):
    """No "shown", no view keys in extra (as bpviz wrote sessions before): the session opens,
    the trace is the one at its weights, and the window's own view stays."""
    from tests.test_session_faults import crafted

    def older(m):
        del m["shown"]
        for key in ("edges", "neurons", "speed", "phases", "layout", "focus", "pinned_sample"):
            del m["extra"][key]
    old = crafted(viewed_session, tmp_path / "old.bpviz", change=older)
    session = load_session(old)
    assert session.shown is None and session.trainer.pass_count == 4
    window = open_window("gaussian-clouds", size=(1500, 950))
    window.network.set_overlay("gradient")
    before = view_of(window)
    window.open_session(str(old))
    qtbot.waitUntil(lambda: window.session_path == str(old)
                    and window.latest.pass_count == 4, timeout=20000)
    assert window.config.dataset == "xor"
    after = view_of(window)
    assert {k: v for k, v in after.items() if k not in ("focus", "sizes")} == \
        {k: v for k, v in before.items() if k not in ("focus", "sizes")}
    assert window.network.overlay() == "gradient"


def test_a_view_value_the_window_does_not_offer_is_named_and_the_rest_applied(
        qtbot, open_window, viewed_session, tmp_path):
    from tests.test_session_faults import crafted, setter
    odd = crafted(viewed_session, tmp_path / "odd.bpviz",
                  change=setter("extra", "edges", value="sparkle"))
    window = open_window("gaussian-clouds", size=(1500, 950))
    window.open_session(str(odd))
    qtbot.waitUntil(lambda: window.session_path == str(odd), timeout=20000)
    qtbot.waitUntil(lambda: "its edges, layout did not fit this window" in
                    window.statusBar().currentMessage(),
                    timeout=5000)
    assert window.network.overlay() == "weight"              # as it was
    assert window.network.node_mode() == "activation"         # the rest as the session has it
    assert window.speed_box.currentText() == "30" and window.docks["graph"].isHidden()


@pytest.mark.parametrize("processes", ["1", "0"], ids=["process", "thread"])
def test_export_draws_every_panel_whatever_the_session_closed(viewed_session, tmp_path,
                                                              monkeypatch, processes):
    from tests.test_session_faults import crafted, setter
    monkeypatch.setenv("BPVIZ_PROCESSES", processes)
    closed = crafted(viewed_session, tmp_path / "closed.bpviz", change=setter(
        "extra", "layout", value={"closed": ["network", "surface", "cost", "boundary"]}))
    code, _, err = cli("export", "--session", str(closed), "--out", str(tmp_path / "figs"))
    assert code == 0, err
    for panel in ("network", "boundary", "surface", "cost"):
        assert (tmp_path / "figs" / f"{panel}.png").stat().st_size > 0


def test_the_desktop_files_give_bpviz_sessions_to_bpviz():
    """The Linux file type names *.bpviz, and the launcher opens that type with `bpviz FILE`."""
    import configparser
    import xml.etree.ElementTree as ET
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "resources" / "desktop"
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(folder / "bpviz-mime.xml").getroot().find("m:mime-type", ns)
    assert mime.find("m:glob", ns).get("pattern") == "*.bpviz"
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(folder / "bpviz.desktop", encoding="utf-8")
    launcher = entry["Desktop Entry"]
    assert launcher["Type"] == "Application" and launcher["Exec"].split() == ["bpviz", "%f"]
    assert mime.get("type") in launcher["MimeType"].split(";")
    assert "text/csv" in launcher["MimeType"].split(";")


def test_a_command_line_session_shows_what_the_window_shows_after_the_same_training(
        qtbot, open_window, tmp_path):
    """`train --out` records what the window records while it trains (the path, the pass log,
    the last pass): its session, opened, looks as the window that trained the same run."""
    run = tmp_path / "run"
    code, _, err = cli("train", "--preset", "xor", "--epochs", "3", "--out", str(run))
    assert code == 0, err
    a = open_window("xor", size=(1500, 950))
    a.run.send(RunEpochs(3))
    qtbot.waitUntil(lambda: a.latest.epoch == 3 and not a.latest.running, timeout=60000)
    before = panel_pictures(qtbot, a)

    b = open_window("moons", size=(1500, 950))
    b.open_session(str(run / "session.bpviz"))
    qtbot.waitUntil(lambda: b.session_path is not None and b.latest.pass_count == 30,
                    timeout=20000)
    after = panel_pictures(qtbot, b)
    differ = [name for name in before if before[name] != after[name]]
    for name in differ:
        before[name].save(str(tmp_path / f"{name}_window.png"))
        after[name].save(str(tmp_path / f"{name}_cli.png"))
    assert differ == [], tmp_path


def test_resume_goes_on_with_the_path_and_the_pass_log(tmp_path):
    from tests.test_session_faults import crafted
    run = tmp_path / "run"
    code, _, err = cli("train", "--preset", "xor", "--epochs", "2", "--out", str(run))
    assert code == 0, err

    def older(m):                      # as `train` wrote sessions before it kept the view
        m["trajectory"] = None
        del m["shown"]
    (tmp_path / "old").mkdir()
    old = crafted(run / "session.bpviz", tmp_path / "old" / "session.bpviz", change=older)
    for session, first in ((run / "session.bpviz", 0), (old, 20)):
        code, _, err = cli("train", "--resume", str(session), "--epochs", "1", timeout=120)
        assert code == 0, err
        resumed = load_session(session)
        # xor: 10 passes an epoch; the path from where it was known, the log of the passes run
        assert resumed.trajectory.passes.tolist() == list(range(first, 31))
        logged = resumed.shown["pass_log"][:, 0].astype(int).tolist()
        assert logged == list(range(1 if first == 0 else 21, 31))
        assert resumed.shown["trace"]["batch"] is not None
