"""The main window driven only through input a person gives.

Keys go to whichever widget has the keyboard focus, clicks land on the toolbar's buttons, the menu
bar's items and the panels at the on-screen positions of what they show, and every assertion reads
what a person sees: the status bar, a button's text, the epoch counter, the inspector's header, the
weight shown under the diagram. No test here calls a command of the window directly.
"""

from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialogButtonBox, QDoubleSpinBox,
                               QFileDialog, QLabel, QLineEdit, QMessageBox, QPushButton, QStyle,
                               QStyleOptionSlider, QTabBar)

from shiboken6 import isValid

from bpviz.engine import Config, build
from bpviz.engine.config import RANGES

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def window(open_window):
    return open_window(size=(1500, 950))


# -- what a person sees --------------------------------------------------------------------------

def epoch_shown(w) -> int:
    return int(w.status_labels["epoch"].text().split()[-1])


def pass_shown(w) -> int:
    return int(re.match(r"pass (\d+)", w.status_labels["pass"].text()).group(1))


def speed_shown(w) -> str:
    return w.status_labels["speed"].text()


def message(w) -> str:
    return w.statusBar().currentMessage()


def undo_note(w) -> str:
    """The words beside the status bar's Undo button."""
    return w.undo_bar.findChild(QLabel).text()


def button(w, action):
    return w.toolbar.widgetForAction(action)


# -- what a person does --------------------------------------------------------------------------

def click(qtbot, widget, pos=None):
    qtbot.mouseClick(widget, LEFT, pos=pos if pos is not None else widget.rect().center())


def key(qtbot, w, k, modifier=Qt.KeyboardModifier.NoModifier):
    """A key press where the keyboard focus is (the window itself when nothing has focus)."""
    target = QApplication.focusWidget() or w
    qtbot.keyClick(target, k, modifier)


def click_menu(qtbot, w, menu_title: str, item: str):
    """Open a menu of the menu bar with a click and click one of its items."""
    bar = w.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == menu_title)
    click(qtbot, bar, bar.actionGeometry(top).center())
    menu = top.menu()
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    entry = next(a for a in menu.actions() if a.text().replace("&", "").startswith(item))
    assert entry.isEnabled(), f"{menu_title} → {item} is disabled"
    click(qtbot, menu, menu.actionGeometry(entry).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=2000)


def choose(qtbot, combo: QComboBox, text: str):
    """Pick an item of a combo box with the keyboard: focus it by a click, then arrows."""
    click(qtbot, combo)
    popup = combo.view()
    if popup.isVisible():                          # the click opened the list: close it
        qtbot.keyClick(popup, Qt.Key.Key_Escape)
    target = combo.findText(text)
    assert target >= 0, (text, [combo.itemText(i) for i in range(combo.count())])
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up)


def drag(qtbot, widget, start: QPoint, end: QPoint, steps: int = 8):
    """Press at ``start``, move to ``end`` in steps a person's hand takes, release. Each move
    carries the held button (QTest's own moves do not), and every one counts: pyqtgraph's limit
    on mouse moves a second (it drops moves closer than 10 ms) is lifted meanwhile."""
    def send(kind, pos, button, buttons):
        event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)
        QApplication.processEvents()
    rate_limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=0)
    try:
        send(QEvent.Type.MouseButtonPress, start, LEFT, LEFT)
        for k in range(1, steps + 1):
            send(QEvent.Type.MouseMove, start + (end - start) * (k / steps),
                 Qt.MouseButton.NoButton, LEFT)
        send(QEvent.Type.MouseButtonRelease, end, LEFT, Qt.MouseButton.NoButton)
    finally:
        pg.setConfigOptions(mouseRateLimit=rate_limit)


def answer_file_dialog(qtbot, name: str):
    """When the next file dialog opens, type ``name`` into it and press Return (then its Save or
    Open button, if the dialog was still listing the folder and did not take the Return)."""
    def fill():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(50, fill)
            return
        dialog.activateWindow()            # as a window manager does with a new dialog
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        edit.setFocus()
        edit.selectAll()
        qtbot.keyClicks(edit, name)
        popup = edit.completer().popup() if edit.completer() else None
        if popup is not None and popup.isVisible():     # the path completer's list: close it
            qtbot.keyClick(popup, Qt.Key.Key_Escape)
        if edit.text() != name:
            # offscreen, a dialog opened while another window is active can miss typed keys
            # (the platform activates no window); the name goes in as the dialog's selection
            dialog.selectFile(name)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        QTimer.singleShot(100, lambda: confirm(dialog))

    def confirm(dialog):
        if isValid(dialog) and dialog.isVisible():
            box = dialog.findChild(QDialogButtonBox)
            accept = next(b for b in box.buttons()
                          if box.buttonRole(b) == QDialogButtonBox.ButtonRole.AcceptRole)
            click(qtbot, accept)
            QTimer.singleShot(100, lambda: confirm(dialog))
    QTimer.singleShot(50, fill)


def back_to_window(qtbot, w):
    """After a dialog closes, the window is active again (a desktop's window manager does it;
    the offscreen platform leaves no window active)."""
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)


def wait_epoch(qtbot, w, condition, timeout=15000):
    qtbot.waitUntil(lambda: condition(epoch_shown(w)), timeout=timeout)
    return epoch_shown(w)


def steps(qtbot, w, n: int, press=None):
    """Step ``n`` times, each once the previous pass shows: with ``press()`` if given, else the
    S key."""
    for _ in range(n):
        target = pass_shown(w) + 1
        if press is None:
            key(qtbot, w, Qt.Key.Key_S)
        else:
            press()
        qtbot.waitUntil(lambda: pass_shown(w) == target, timeout=5000)


def wait_paused(qtbot, w):
    qtbot.waitUntil(lambda: speed_shown(w) == "paused", timeout=10000)


def settled(qtbot, w):
    """Wait until training has answered everything sent to it so far and the status bar shows
    the last pass it sent: a question asked now is answered after every snapshot on its way, so
    what shows then is what stays."""
    answered = []
    w.host.ask("state", done=answered.append)
    qtbot.waitUntil(lambda: bool(answered) and pass_shown(w) == w.latest.pass_count,
                    timeout=10000)


# -- Play, Pause, Step, Reset, Undo --------------------------------------------------------------

def test_the_play_button_trains_and_becomes_pause(qtbot, window):
    play = button(window, window.play_action)
    assert play.text() == "Play" and speed_shown(window) == "paused"
    click(qtbot, play)
    assert play.text() == "Pause"
    wait_epoch(qtbot, window, lambda e: e >= 20)
    qtbot.waitUntil(lambda: speed_shown(window).endswith("passes/s"), timeout=5000)
    click(qtbot, play)
    assert play.text() == "Play"
    wait_paused(qtbot, window)
    epoch = epoch_shown(window)
    settled(qtbot, window)
    assert epoch_shown(window) == epoch


def test_train_menu_play_and_pause(qtbot, window):
    click_menu(qtbot, window, "Train", "Play")
    wait_epoch(qtbot, window, lambda e: e >= 10)
    train = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Train")
    assert [a.text() for a in train.actions()][0] == "Pause"     # the menu says Pause now
    click_menu(qtbot, window, "Train", "Pause")
    wait_paused(qtbot, window)
    assert button(window, window.play_action).text() == "Play"


@pytest.mark.parametrize("focus", ["window", "diagram", "speed box", "step-by box", "play button"])
def test_space_plays_and_pauses_wherever_the_focus_is(qtbot, window, focus):
    if focus == "diagram":
        click(qtbot, window.network.mouse_target(), QPoint(5, 5))
    elif focus == "speed box":
        window.speed_box.setFocus()
    elif focus == "step-by box":
        window.step_mode.setFocus()
    elif focus == "play button":
        button(window, window.play_action).setFocus()
    key(qtbot, window, Qt.Key.Key_Space)
    wait_epoch(qtbot, window, lambda e: e >= 5)
    assert button(window, window.play_action).text() == "Pause"
    key(qtbot, window, Qt.Key.Key_Space)
    wait_paused(qtbot, window)
    assert button(window, window.play_action).text() == "Play"


@pytest.mark.parametrize("k", [Qt.Key.Key_S, Qt.Key.Key_Right])
def test_step_keys_run_exactly_one_pass(qtbot, window, k):
    click(qtbot, window.network.mouse_target(), QPoint(5, 5))     # focus on the diagram
    steps(qtbot, window, 3, lambda: key(qtbot, window, k))
    settled(qtbot, window)
    assert pass_shown(window) == 3 and epoch_shown(window) == 3    # full batch: a pass an epoch


def test_step_button_and_menu(qtbot, window):
    steps(qtbot, window, 1, lambda: click(qtbot, button(window, window.step_action)))
    steps(qtbot, window, 1, lambda: click_menu(qtbot, window, "Train", "Step"))
    assert pass_shown(window) == 2


@pytest.mark.run_modes("process", "thread")
def test_reset_key_and_undo_button_bring_the_run_back_exactly(qtbot, window):
    steps(qtbot, window, 5)
    loss_before = window.status_labels["loss"].text()
    key(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: epoch_shown(window) == 0, timeout=5000)
    assert "reset to the initial weights" in message(window)
    undo = window.undo_bar.findChild(QPushButton)
    assert undo.isVisible() and undo.text() == "Undo"
    assert undo_note(window) == "5 epochs of training set aside"
    click(qtbot, undo)
    qtbot.waitUntil(lambda: epoch_shown(window) == 5, timeout=5000)
    assert "undone" in message(window)
    assert not undo.isVisible()
    assert window.status_labels["loss"].text() == loss_before     # the same numbers on screen
    # three more steps continue the run as if it had never been reset
    steps(qtbot, window, 3)
    _, _, trainer = build(Config.preset("gaussian-clouds"))
    trainer.run(epochs=8)
    for shown, expected in zip(window.latest.weights, trainer.network.weights):
        assert np.array_equal(shown, expected)
    assert window.cost.series("loss")[1][0] == 2.0981205629348856   # history came back too


def test_reset_from_the_toolbar_and_undo_from_the_menu(qtbot, window):
    steps(qtbot, window, 2, lambda: click(qtbot, button(window, window.step_action)))
    click(qtbot, button(window, window.reset_action))
    qtbot.waitUntil(lambda: pass_shown(window) == 0, timeout=5000)
    click_menu(qtbot, window, "Train", "Undo reset")
    qtbot.waitUntil(lambda: pass_shown(window) == 2, timeout=5000)


def test_ctrl_z_undoes_a_new_architecture(qtbot, window):
    steps(qtbot, window, 3)
    add = next(b for b in window.controls.findChildren(QPushButton)
               if "Add layer" in b.text() and b.isVisible())
    click(qtbot, add)
    qtbot.waitUntil(lambda: window.toolbar_info.text().startswith("2-3-3-3"), timeout=10000)
    assert epoch_shown(window) == 0
    assert message(window) == "new network (hidden layers 3 → 3,3): weights re-initialised"
    assert undo_note(window) == "3 epochs of training set aside"
    click(qtbot, window.network.mouse_target(), QPoint(5, 5))      # focus away from the controls
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.toolbar_info.text().startswith("2-3-3 "), timeout=10000)
    assert epoch_shown(window) == 3
    assert not window.undo_action.isEnabled()


# -- speed ----------------------------------------------------------------------------------------

def test_speed_box_paces_training_and_is_remembered(qtbot, open_window, tmp_path):
    w = open_window(size=(1500, 950), speed=None)
    assert w.speed_box.currentText() == "10"               # the default a new user gets
    choose(qtbot, w.pace_box, "fast")
    choose(qtbot, w.speed_box, "1")
    click(qtbot, button(w, w.play_action))
    # at 1 pass a second the diagram plays the pass's phases one after another
    qtbot.waitUntil(lambda: "phase 3/7" in w.network.phase_text(), timeout=10000)
    assert pass_shown(w) == 1                               # still the first pass
    click(qtbot, button(w, w.play_action))
    wait_paused(qtbot, w)
    choose(qtbot, w.speed_box, "max")
    w.close()
    again = open_window(size=(1500, 950), speed=None)        # the same settings file
    assert again.speed_box.currentText() == "max"


def test_at_ten_passes_a_second_every_pass_reaches_every_panel(qtbot, open_window, monkeypatch):
    w = open_window(size=(1500, 950), speed=10)
    seen: dict[str, list] = {}
    for name in ("network", "cost", "boundary", "surface", "inspector"):
        panel = getattr(w, name)
        original = panel.show_snapshot

        def record(snap, name=name, original=original):
            seen.setdefault(name, []).append((snap.pass_count, snap.phase))
            original(snap)
        monkeypatch.setattr(panel, "show_snapshot", record)
    click_menu(qtbot, w, "View", "Neuron inspector")               # hide it, then show it:
    click_menu(qtbot, w, "View", "Neuron inspector")               # a visible panel is fed
    key(qtbot, w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: pass_shown(w) >= 6, timeout=10000)
    key(qtbot, w, Qt.Key.Key_Space)
    wait_paused(qtbot, w)
    last = w.latest.pass_count
    for name in ("network", "cost", "boundary"):
        passes = {p for p, _ in seen[name]}
        assert set(range(1, last + 1)) <= passes, (name, sorted(passes))
    # whole passes: phases play at 1 pass a second only (see test_pace.py)
    assert all(ph is None for _, ph in seen["network"])


# -- files, help, quit --------------------------------------------------------------------------

def test_ctrl_s_saves_through_the_dialog_and_the_title_names_the_file(qtbot, window, tmp_path):
    key(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: pass_shown(window) == 1, timeout=5000)
    target = tmp_path / "mine.bpviz"
    answer_file_dialog(qtbot, str(target))
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(target.exists, timeout=10000)
    qtbot.waitUntil(lambda: "mine.bpviz" in window.windowTitle(), timeout=5000)
    assert f"saved {target}" in message(window)
    back_to_window(qtbot, window)
    key(qtbot, window, Qt.Key.Key_S)                          # a second Ctrl+S: no dialog
    qtbot.waitUntil(lambda: pass_shown(window) == 2, timeout=5000)
    stamp = target.stat().st_mtime_ns
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: target.stat().st_mtime_ns != stamp, timeout=10000)


def test_open_session_dialog_restores_the_run(qtbot, window, tmp_path):
    steps(qtbot, window, 3)
    target = tmp_path / "three.bpviz"
    answer_file_dialog(qtbot, str(target))
    click_menu(qtbot, window, "File", "Save session as")
    qtbot.waitUntil(target.exists, timeout=10000)
    back_to_window(qtbot, window)
    key(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: pass_shown(window) == 0, timeout=5000)
    answer_file_dialog(qtbot, str(target))
    click_menu(qtbot, window, "File", "Open session")
    qtbot.waitUntil(lambda: pass_shown(window) == 3, timeout=10000)
    assert "three.bpviz" in window.windowTitle()


def cancel_file_dialog(qtbot, seen: list):
    """When the next file dialog opens, note its title and press Escape."""
    def cancel():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(50, cancel)
            return
        seen.append(dialog.windowTitle())
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    QTimer.singleShot(50, cancel)


@pytest.mark.parametrize("keys, title", [
    ((Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier), "Open dataset CSV"),
    ((Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
     "Open session"),
    ((Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
     "Save session")])
def test_file_shortcuts_open_their_dialog_and_escape_changes_nothing(qtbot, window, keys, title):
    key(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: pass_shown(window) == 1, timeout=5000)
    seen: list = []
    cancel_file_dialog(qtbot, seen)
    key(qtbot, window, *keys)
    assert seen == [title]
    back_to_window(qtbot, window)
    settled(qtbot, window)
    assert pass_shown(window) == 1 and "untitled" in window.windowTitle()


def test_open_dataset_csv_through_the_menu(qtbot, window, tmp_path):
    rng = np.random.RandomState(0)
    path = tmp_path / "blobs.csv"
    rows = ["x1,x2,label"] + [f"{a:.4f},{b:.4f},{'ab'[int(a > 0)]}" for a, b in rng.randn(60, 2)]
    path.write_text("\n".join(rows) + "\n")
    answer_file_dialog(qtbot, str(path))
    click_menu(qtbot, window, "File", "Open dataset CSV")
    qtbot.waitUntil(lambda: window.toolbar_info.text().startswith("2-3-2"), timeout=10000)
    back_to_window(qtbot, window)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\noops,3\n")
    answer_file_dialog(qtbot, str(bad))
    click_menu(qtbot, window, "File", "Open dataset CSV")
    qtbot.waitUntil(lambda: "bad.csv" in message(window), timeout=10000)
    assert window.toolbar_info.text().startswith("2-3-2")        # nothing changed
    back_to_window(qtbot, window)
    # numeric targets: the window picks the linear output that regression needs, and says so
    reg = tmp_path / "line.csv"
    reg.write_text("x,y\n" + "".join(f"{x:.3f},{2 * x + 0.5 + 0.01 * k:.4f}\n"
                                      for k, x in enumerate(rng.randn(40))))
    answer_file_dialog(qtbot, str(reg))
    click_menu(qtbot, window, "File", "Open dataset CSV")
    qtbot.waitUntil(lambda: window.toolbar_info.text().startswith("1-3-1"), timeout=10000)
    assert "linear" in window.toolbar_info.text()
    assert not window.last_error or "bad.csv" in window.last_error


def test_f1_lists_the_keys_and_which_a_number_box_keeps(qtbot, window):
    key(qtbot, window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox)),
                    timeout=3000)
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    text = box.text()
    for words in ("Space", "Ctrl+Z", "Ctrl+S", "Ctrl+Q", "number box"):
        assert words in text
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)


def test_help_about(qtbot, window):
    click_menu(qtbot, window, "Help", "About bpviz")
    qtbot.waitUntil(lambda: any(b.isVisible() and "bpviz" in b.text()
                                for b in window.findChildren(QMessageBox)), timeout=3000)


def test_ctrl_q_quits_and_stops_training(qtbot, window):
    key(qtbot, window, Qt.Key.Key_Space)
    wait_epoch(qtbot, window, lambda e: e >= 3)
    key(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert not window.host.alive()


# -- the panels ---------------------------------------------------------------------------------

def diagram_point(w, pos):
    return w.network.viewport_point(pos)


def test_clicking_a_neuron_brings_the_inspector_forward_on_it(qtbot, window):
    dock = window.docks["inspector"]
    assert dock.visibleRegion().isEmpty()                 # tabbed behind the cost curve
    target = window.network.mouse_target()
    click(qtbot, target, diagram_point(window, window.network.neuron_pos(2, 1)))
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=3000)
    qtbot.waitUntil(lambda: "Layer 2, neuron 1" in window.inspector.header_html(), timeout=5000)
    assert "selected neuron 1 of layer 2" in message(window)
    # behind the cost curve again, a click on the neuron already selected brings it back
    tabs = next(bar for bar in window.findChildren(QTabBar)
                if any(bar.tabText(i) == "Cost curve" for i in range(bar.count())))
    cost_tab = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Cost curve")
    click(qtbot, tabs, tabs.tabRect(cost_tab).center())
    qtbot.waitUntil(lambda: dock.visibleRegion().isEmpty(), timeout=3000)
    click(qtbot, target, diagram_point(window, window.network.neuron_pos(2, 1)))
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=3000)


def test_dragging_an_edge_sets_its_weight_shown_under_the_diagram(qtbot, window):
    target = window.network.mouse_target()
    start = diagram_point(window, window.network.edge_pos(1, 2, 0))
    before = window.latest.weights[1][2, 0]
    drag(qtbot, target, start, start - QPoint(0, 40))
    qtbot.waitUntil(lambda: "weights set by hand" in message(window), timeout=5000)
    spin = window.network.findChild(QDoubleSpinBox)
    assert spin.value() > before
    qtbot.waitUntil(lambda: window.latest.weights[1][2, 0] == pytest.approx(spin.value(),
                                                                              abs=1e-4),
                    timeout=5000)


def test_typing_a_weight_under_the_diagram(qtbot, window):
    target = window.network.mouse_target()
    click(qtbot, target, diagram_point(window, window.network.edge_pos(0, 1, 2)))
    spin = window.network.findChild(QDoubleSpinBox)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "0.25")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.latest.weights[0][1, 2] == 0.25, timeout=5000)


def test_dragging_the_error_surface_point_sets_two_weights(qtbot, window):
    surface = window.surface
    qtbot.waitUntil(lambda: surface.is_idle() and surface.current_slice() is not None,
                    timeout=30000)
    before = [np.array(W) for W in window.latest.weights]
    viewport = surface.graphics.viewport()
    p0 = surface.point_widget_pos()
    qtbot.mousePress(viewport, LEFT, pos=p0)
    qtbot.mouseMove(viewport, p0 + QPoint(15, -10))
    qtbot.mouseMove(viewport, p0 + QPoint(30, -20))
    qtbot.mouseRelease(viewport, LEFT, pos=p0 + QPoint(30, -20))
    qtbot.waitUntil(lambda: "weights set by hand" in message(window), timeout=5000)
    changed = [np.argwhere(a != b) for a, b in zip(window.latest.weights, before)]
    assert sum(len(c) for c in changed) == 2


def test_clicking_a_training_point_pins_it_in_the_inspector(qtbot, window):
    boundary = window.boundary
    index = 7
    pos = boundary.graphics.mapFromScene(boundary.point_scene_pos(index))
    click(qtbot, boundary.graphics.viewport(), pos)
    qtbot.waitUntil(lambda: window.inspector.pinned() == index, timeout=5000)
    assert window.boundary.pinned() == index


# -- the controls ---------------------------------------------------------------------------------

def type_into(qtbot, box, text: str):
    """Click into a number box, replace its text and press Return."""
    edit = box.findChild(QLineEdit)
    click(qtbot, edit)
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def info(w) -> str:
    return w.toolbar_info.text()


def test_a_typed_learning_rate_trains_and_a_huge_one_is_refused_with_its_range(qtbot, window):
    type_into(qtbot, window.controls.lr.spin, "0.5")
    qtbot.waitUntil(lambda: "η = 0.5 " in info(window), timeout=5000)
    type_into(qtbot, window.controls.lr.spin, "50")
    qtbot.waitUntil(lambda: "η = 50 " in info(window), timeout=5000)
    top = RANGES["lr"].hi                          # the largest rate anywhere accepts
    type_into(qtbot, window.controls.lr.spin, f"{10 * top:g}")
    note = window.controls.lr.spin.note
    qtbot.waitUntil(note.isVisible, timeout=3000)
    assert "between" in note.text() and f"{10 * top:g}" in note.text()
    settled(qtbot, window)
    assert "η = 50 " in info(window)
    # the typed rate is the one a pass uses: Δw = −η ∂L/∂w
    click(qtbot, window.network.mouse_target(), QPoint(5, 5))
    key(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: pass_shown(window) == 1, timeout=5000)
    snap = window.latest
    assert snap.lr == 50.0 and snap.has_update
    for dW, gW in zip(snap.update_weights, snap.grad_weights):
        np.testing.assert_allclose(dW, -50.0 * gW, rtol=1e-12, atol=1e-15)


def test_a_focused_slider_keeps_its_arrow_keys(qtbot, window):
    slider = window.controls.lr.slider
    click(qtbot, slider, QPoint(slider.width() // 2, slider.height() // 2))
    qtbot.waitUntil(lambda: "η = 1.5 " not in info(window), timeout=5000)
    shown = info(window)
    slider.setFocus()
    for _ in range(5):
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: info(window) != shown, timeout=5000)
    settled(qtbot, window)
    assert pass_shown(window) == 0                  # → moved the slider; it did not Step


def test_dragging_the_learning_rate_slider(qtbot, window):
    slider = window.controls.lr.slider
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    start = handle.center()
    drag(qtbot, slider, start, QPoint(slider.width() - 2, start.y()))
    qtbot.waitUntil(lambda: "η = 1.5 " not in info(window), timeout=5000)
    rate = float(re.search(r"η = ([0-9.e+-]+)", info(window)).group(1))
    assert rate > 1.5


@pytest.mark.parametrize("name, text, shown", [
    ("momentum", "0.9", lambda s: s.momentum == 0.9),
    ("batch", "32", lambda s: s.batch_size == 32),
    ("l2", "0.001", lambda s: s.l2 == 0.001)])
def test_typed_training_settings_apply_live(qtbot, window, name, text, shown):
    if name == "momentum":
        choose(qtbot, window.controls.optimizer, "momentum")
    box = getattr(window.controls, name)
    type_into(qtbot, box, text)
    qtbot.waitUntil(lambda: shown(window.latest), timeout=5000)
    assert box.text() == text
    if name == "batch":
        qtbot.waitUntil(lambda: "batch 32" in info(window), timeout=5000)
    assert "re-initialised" not in message(window)             # live: no new weights


@pytest.mark.parametrize("name, text, words", [
    ("noise", "0.5", "noise 1.0 → 0.5"),
    ("samples", "600", "samples 1500 → 600"),
    ("test_fraction", "0.2", "test split 0.0 → 0.2"),
    ("seed", "7", "seed 1 → 7")])
def test_typed_data_settings_make_a_new_network_and_say_so(qtbot, window, name, text, words):
    type_into(qtbot, getattr(window.controls, name), text)
    qtbot.waitUntil(lambda: words in message(window), timeout=10000)
    assert "weights re-initialised" in message(window)


@pytest.mark.parametrize("combo, choice, expect", [
    ("preset", "moons", lambda w: info(w).startswith("2-") and "dataset" in message(w)),
    ("activation", "tanh", lambda w: "tanh / softmax" in info(w)),
    ("output", "sigmoid", lambda w: "sigmoid / sigmoid" in info(w)),
    ("init", "xavier", lambda w: "initialisation" in message(w)),
    ("optimizer", "Adam", lambda w: w.latest.optimizer == "adam")])
def test_the_controls_combo_boxes(qtbot, window, combo, choice, expect):
    box = getattr(window.controls, combo)
    text = next(box.itemText(i) for i in range(box.count())
                if box.itemText(i).lower().startswith(choice.lower()))
    choose(qtbot, box, text)
    qtbot.waitUntil(lambda: expect(window), timeout=10000)


def test_neurons_of_a_layer_and_removing_a_layer(qtbot, window):
    editor = window.controls.hidden
    type_into(qtbot, editor.findChildren(type(window.controls.seed))[0], "5")
    qtbot.waitUntil(lambda: info(window).startswith("2-5-3 "), timeout=10000)
    remove = next(b for b in editor.findChildren(QPushButton) if "Remove layer" in b.text())
    click(qtbot, remove)
    qtbot.waitUntil(lambda: info(window).startswith("2-3 "), timeout=10000)
    assert not remove.isEnabled()                          # no hidden layer left to remove


def test_reset_to_preset_defaults_button(qtbot, window):
    type_into(qtbot, window.controls.seed, "9")
    qtbot.waitUntil(lambda: "seed 1 → 9" in message(window), timeout=10000)
    click(qtbot, window.controls.reset_button)
    qtbot.waitUntil(lambda: "seed 9 → 1" in message(window), timeout=10000)
    assert window.controls.seed.text() == "1"


# -- step by, the diagram's selectors, the history strip --------------------------------------------

def test_step_by_one_phase_walks_the_pass_with_its_number(qtbot, window):
    choose(qtbot, window.step_mode, "one phase")
    click(qtbot, window.network.mouse_target(), QPoint(5, 5))
    key(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: "phase 1/7" in window.network.phase_text(), timeout=5000)
    assert window.status_labels["pass"].text() == "pass 1 · phase 1/7"
    # the training loss at the weights in place (this pass's own loss is not computed yet)
    assert window.status_labels["loss"].text() == "training loss now 2.0981"
    assert "nan" not in window.timeline.label.text()
    for k in range(2, 8):
        key(qtbot, window, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: f"phase {k}/7" in window.network.phase_text(), timeout=5000)
        assert window.status_labels["pass"].text() == f"pass 1 · phase {k}/7"
    key(qtbot, window, Qt.Key.Key_S)                          # the next pass: pass 2
    qtbot.waitUntil(lambda: window.status_labels["pass"].text() == "pass 2 · phase 1/7",
                    timeout=5000)


def test_the_diagram_selectors_and_the_choice_coming_back_after_phases(qtbot, window):
    net = window.network
    combos = net.findChildren(QComboBox)
    edges = next(c for c in combos if c.findText("gradient ∂L/∂w") >= 0)
    neurons = next(c for c in combos if c is not edges)
    choose(qtbot, edges, "gradient ∂L/∂w")
    assert net.overlay() == "gradient"
    choose(qtbot, neurons, neurons.itemText(1 - neurons.currentIndex()))
    chosen = (net.overlay(), net.node_mode())
    choose(qtbot, window.step_mode, "one phase")
    click(qtbot, net.mouse_target(), QPoint(5, 5))
    key(qtbot, window, Qt.Key.Key_S)                          # forward: weights and activations
    qtbot.waitUntil(lambda: "phase 1/7" in net.phase_text(), timeout=5000)
    assert (net.overlay(), net.node_mode()) == ("weight", "activation")
    choose(qtbot, window.step_mode, "one mini-batch")           # the phases end
    qtbot.waitUntil(lambda: net.phase_text() == "", timeout=5000)
    assert (net.overlay(), net.node_mode()) == chosen


def test_scrubbing_the_history_and_rewinding(qtbot, window):
    steps(qtbot, window, 5)
    slider = window.timeline.slider
    assert slider.isEnabled()
    slider.setFocus()
    for _ in range(2):
        qtbot.keyClick(slider, Qt.Key.Key_Left)               # the slider keeps its arrows
    qtbot.waitUntil(lambda: "(earlier)" in window.timeline.label.text(), timeout=3000)
    assert window.timeline.label.text().startswith("pass 3 ")
    rewind = next(b for b in window.timeline.findChildren(QPushButton) if "Rewind" in b.text())
    click(qtbot, rewind)
    qtbot.waitUntil(lambda: pass_shown(window) == 3 and "rewound" in message(window),
                    timeout=5000)


# -- the other panels' controls, menus ------------------------------------------------------------

def test_surface_axes_box(qtbot, window):
    combo = window.surface.mode_combo
    text = next(combo.itemText(i) for i in range(combo.count())
                if "random" in combo.itemText(i).lower())
    choose(qtbot, combo, text)
    qtbot.waitUntil(lambda: window.surface.mode() == "random", timeout=3000)
    qtbot.waitUntil(lambda: "random" in window.surface.title_text().lower()
                    or "direction" in window.surface.title_text().lower(), timeout=30000)


def test_cost_log_scale_box(qtbot, window):
    box = next(b for b in window.cost.findChildren(QCheckBox) if "log" in b.text())
    click(qtbot, box)
    assert box.isChecked()
    click(qtbot, box)
    assert not box.isChecked()


def test_boundary_line_box(qtbot, window):
    box = next(b for b in window.boundary.findChildren(QCheckBox))
    was = box.isChecked()
    click(qtbot, box)
    assert box.isChecked() != was


def test_inspector_neuron_and_scope_by_input(qtbot, window):
    click(qtbot, window.network.mouse_target(),
          diagram_point(window, window.network.neuron_pos(1, 0)))
    qtbot.waitUntil(lambda: "Layer 1, neuron 0" in window.inspector.header_html(), timeout=5000)
    index_box = window.inspector.index_box
    index_box.setFocus()
    qtbot.keyClick(index_box, Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: "Layer 1, neuron 1" in window.inspector.header_html(), timeout=5000)
    click(qtbot, window.inspector.batch_radio)
    qtbot.waitUntil(lambda: window.inspector.scope() == "batch", timeout=3000)


def test_view_menu_hides_a_panel_and_reset_layout_brings_it_back(qtbot, window):
    dock = window.docks["surface"]
    assert dock.isVisible()
    click_menu(qtbot, window, "View", "Error surface")
    qtbot.waitUntil(lambda: not dock.isVisible(), timeout=3000)
    click_menu(qtbot, window, "View", "Reset layout")
    qtbot.waitUntil(dock.isVisible, timeout=3000)


def test_export_a_panel_through_the_file_menu(qtbot, window, tmp_path):
    target = tmp_path / "net.png"
    answer_file_dialog(qtbot, str(target))
    bar = window.menuBar()
    file_menu = next(a.menu() for a in bar.actions() if a.text() == "&File")
    click(qtbot, bar, bar.actionGeometry(file_menu.menuAction()).center())
    qtbot.waitUntil(file_menu.isVisible, timeout=2000)
    export = next(a for a in file_menu.actions() if a.text().replace("&", "") == "Export")
    click(qtbot, file_menu, file_menu.actionGeometry(export).center())
    sub = export.menu()
    qtbot.waitUntil(sub.isVisible, timeout=2000)
    network = next(a for a in sub.actions() if a.menu() and "Network" in a.text())
    click(qtbot, sub, sub.actionGeometry(network).center())
    formats = network.menu()
    qtbot.waitUntil(formats.isVisible, timeout=2000)
    png = next(a for a in formats.actions() if a.text().startswith("PNG (1"))
    click(qtbot, formats, formats.actionGeometry(png).center())
    qtbot.waitUntil(target.exists, timeout=15000)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- divergence -----------------------------------------------------------------------------------

def test_a_loss_that_jumps_stops_training_and_says_so_in_plain_words(qtbot, window):
    type_into(qtbot, window.controls.lr.spin, "1000000")
    qtbot.waitUntil(lambda: "η = 1e6 " in info(window), timeout=5000)
    click(qtbot, window.network.mouse_target(), QPoint(5, 5))
    key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: any(b.isVisible() and "Training diverged" in b.windowTitle()
                                for b in window.findChildren(QMessageBox)), timeout=10000)
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    assert "the loss jumped from 2.1 to" in box.text() and "learning rate" in box.text()
    wait_paused(qtbot, window)
    assert button(window, window.play_action).text() == "Play"
    # the numbers on screen are those of the weights kept: the loss at them, computed anew
    _, net, trainer = build(Config.preset("gaussian-clouds"))
    shown = window.latest
    net.weights[:] = [np.array(W) for W in shown.weights]
    net.biases[:] = [np.array(b) for b in shown.biases]
    expected = net.backprop(trainer.X, trainer.T).loss
    assert window.status_labels["loss"].text() == f"training loss now {expected:.5g}"


def test_the_preset_note_says_when_the_settings_are_no_longer_the_presets(qtbot, window):
    note = window.controls.note
    assert note.text().startswith("the classic numpy example")
    type_into(qtbot, window.controls.lr.spin, "0.5")
    qtbot.waitUntil(lambda: "Changed since: learning rate." in note.text(), timeout=5000)
    choose(qtbot, window.controls.activation, "relu")
    qtbot.waitUntil(lambda: "Changed since: network, learning rate." in note.text(),
                    timeout=10000)
    click(qtbot, window.controls.reset_button)
    qtbot.waitUntil(lambda: note.text().startswith("the classic numpy example"), timeout=10000)


def test_a_panel_reopened_while_paused_shows_the_pass_on_screen(qtbot, window):
    """Close the error surface from the View menu, step while it is closed, open it again: it
    draws a slice through the weights the rest of the window shows, not the ones it saw before
    it was closed."""
    dock = window.docks["surface"]
    settled(qtbot, window)
    qtbot.waitUntil(lambda: window.surface.shown_pass() == window.latest.pass_count,
                    timeout=30000)
    click_menu(qtbot, window, "View", dock.windowTitle())          # closed
    qtbot.waitUntil(lambda: not dock.isVisible(), timeout=5000)
    steps(qtbot, window, 2)
    settled(qtbot, window)
    shown = window.latest.pass_count
    assert window.surface.shown_pass() == shown - 2          # it saw nothing while closed
    click_menu(qtbot, window, "View", dock.windowTitle())          # open again, still paused
    qtbot.waitUntil(dock.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: window.surface.shown_pass() == shown, timeout=30000)
