"""Lecture-hall mode through real input: F11 full screen and back, Ctrl++ / Ctrl+− / Ctrl+0
enlarging and reducing the whole interface, Ctrl+M one panel alone and back; all in the View
menu and remembered in the settings. At 1280×720 every panel's content stays readable."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bpviz.ui.plotting import style


@pytest.fixture(autouse=True)
def actual_size_after():
    """The zoom is one factor for the whole process: a test that fails while enlarged leaves
    the next one at actual size all the same."""
    yield
    from bpviz.ui.window.lecture import zoomed_font
    style.set_zoom(1.0)
    QApplication.setFont(zoomed_font(1.0))


def view_action(w, text):
    view = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "View")
    return next(a for a in view.actions() if a.text().replace("&", "") == text)


def edge_widths(w):
    return sorted({round(b.pen.widthF(), 6) for b in w.network.edge_items().values()})


def boundary_axes(w):
    import pyqtgraph as pg
    return [item for view in w.boundary.findChildren(pg.GraphicsView)
            for item in view.scene().items() if isinstance(item, pg.AxisItem) and item.isVisible()]


def test_f11_shows_the_window_full_screen_and_back(qtbot, open_window):
    w = open_window(size=(1280, 720))
    QTest.keyClick(w, Qt.Key_F11)
    qtbot.waitUntil(w.isFullScreen, timeout=5000)
    assert view_action(w, "Full screen").isChecked()
    QTest.keyClick(w, Qt.Key_F11)
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=5000)
    assert not view_action(w, "Full screen").isChecked()


def test_ctrl_plus_enlarges_fonts_and_edges_by_the_factor_and_ctrl_0_resets(qtbot, open_window):
    w = open_window(size=(1280, 720))
    app_points = QApplication.font().pointSizeF()
    widths = edge_widths(w)
    legend_before = w.network.legend_texts()
    panel_font = w.controls.font().pointSizeF()
    QTest.keyClick(w, Qt.Key_Plus, Qt.ControlModifier)
    factor = style.zoom()
    assert factor == style.ZOOM_STEPS[style.ZOOM_STEPS.index(1.0) + 1]
    qtbot.waitUntil(lambda: edge_widths(w) == [round(x * factor, 6) for x in widths],
                    timeout=5000)
    assert QApplication.font().pointSizeF() == pytest.approx(app_points * factor)
    qtbot.waitUntil(lambda: w.controls.font().pointSizeF() == pytest.approx(panel_font * factor),
                    timeout=5000)
    assert w.network.legend_texts() == legend_before
    axis_points = [axis.style["tickFont"].pointSizeF() for axis in boundary_axes(w)]
    assert axis_points and all(p == pytest.approx(app_points * factor) for p in axis_points)
    QTest.keyClick(w, Qt.Key_Plus, Qt.ControlModifier)
    bigger = style.zoom()
    assert bigger > factor
    qtbot.waitUntil(lambda: edge_widths(w) == [round(x * bigger, 6) for x in widths],
                    timeout=5000)
    QTest.keyClick(w, Qt.Key_Minus, Qt.ControlModifier)
    assert style.zoom() == factor
    QTest.keyClick(w, Qt.Key_0, Qt.ControlModifier)
    assert style.zoom() == 1.0
    qtbot.waitUntil(lambda: edge_widths(w) == widths, timeout=5000)
    assert QApplication.font().pointSizeF() == pytest.approx(app_points)


def test_the_diagrams_value_labels_grow_by_the_factor(qtbot, open_window):
    w = open_window(size=(1280, 720))
    w.network.set_node_mode("activation")
    w.paint_now()
    before = {k: l.textItem.font().pointSizeF() for k, l in w.network.value_label_items().items()}
    assert before
    view_action(w, "Enlarge").trigger()
    factor = style.zoom()
    after = {k: l.textItem.font().pointSizeF() for k, l in w.network.value_label_items().items()}
    assert after == {k: pytest.approx(v * factor) for k, v in before.items()}
    view_action(w, "Actual size").trigger()


def visible_docks(w):
    return {name for name, dock in w.docks.items() if dock.isVisible()}


def test_ctrl_m_shows_the_panel_in_focus_alone_and_brings_the_others_back(qtbot, open_window):
    w = open_window(size=(1280, 720))
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (1280, 720), timeout=5000)
    seen = []

    def settled():          # the default proportions are applied after the window is shown
        seen.append(w.docks["network"].size())
        return len(seen) >= 5 and len(set(map(tuple, (s.toTuple() for s in seen[-5:])))) == 1

    qtbot.waitUntil(settled, timeout=5000)
    before = visible_docks(w)
    network_size = w.docks["network"].size()
    plot = w.boundary.findChildren(__import__("pyqtgraph").GraphicsView)[0]
    QTest.mouseClick(plot.viewport(), Qt.LeftButton, Qt.NoModifier, plot.viewport().rect().center())
    qtbot.waitUntil(lambda: w.lecture.panel_in_focus() == "boundary", timeout=5000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_M, Qt.ControlModifier)
    qtbot.waitUntil(lambda: visible_docks(w) == {"boundary"}, timeout=5000)
    assert view_action(w, "Maximise panel").isChecked()
    dock = w.docks["boundary"]
    # alone, it takes (nearly) the whole window between the toolbars and the status bar
    free = w.height() - w.menuBar().height() - w.statusBar().height() - 2 * w.toolbar.height()
    qtbot.waitUntil(lambda: dock.width() > 0.95 * w.width() and dock.height() > 0.85 * free,
                    timeout=5000)
    QTest.keyClick(QApplication.focusWidget() or w, Qt.Key_M, Qt.ControlModifier)
    qtbot.waitUntil(lambda: visible_docks(w) == before, timeout=5000)
    assert not view_action(w, "Maximise panel").isChecked()
    # every panel back in its place, the diagram at about the size it had
    qtbot.waitUntil(lambda: abs(w.docks["network"].width() - network_size.width()) <= 2
                    and abs(w.docks["network"].height() - network_size.height())
                    <= 0.1 * network_size.height(), timeout=5000)
    assert w.network.too_small_note() == ""


def test_a_maximised_lesson_panel_does_not_end_the_lesson(qtbot, open_window):
    w = open_window(size=(1280, 720))
    w.lessons.open_lesson(0)
    qtbot.waitUntil(w.lessons.is_ready, timeout=10000)
    w.lecture.maximise("network")
    qtbot.waitUntil(lambda: visible_docks(w) == {"network"}, timeout=5000)
    QApplication.processEvents()
    assert w.lessons.is_active()
    view_action(w, "Maximise panel").trigger()
    qtbot.waitUntil(lambda: w.docks["lessons"].isVisible(), timeout=5000)
    assert w.lessons.is_active()


def test_zoom_full_screen_and_the_maximised_panel_are_remembered(qtbot, open_window):
    first = open_window()
    view_action(first, "Enlarge").trigger()
    view_action(first, "Enlarge").trigger()
    zoom = style.zoom()
    view_action(first, "Full screen").trigger()
    qtbot.waitUntil(first.isFullScreen, timeout=5000)
    first.lecture.maximise("cost")
    first.close()
    style.set_zoom(1.0)
    second = open_window()          # the same settings file
    assert style.zoom() == zoom
    assert view_action(second, "Full screen").isChecked()
    qtbot.waitUntil(second.isFullScreen, timeout=5000)
    qtbot.waitUntil(lambda: second.lecture.maximised() == "cost", timeout=5000)
    assert visible_docks(second) == {"cost"}
    view_action(second, "Maximise panel").trigger()
    # the layout kept is the one with every panel, not the maximised one
    qtbot.waitUntil(lambda: {"network", "boundary", "surface", "controls"} <= visible_docks(second),
                    timeout=5000)
    view_action(second, "Actual size").trigger()
    view_action(second, "Full screen").trigger()


def test_the_graph_panels_keys_work_once_its_tab_is_chosen(qtbot, open_window):
    from PySide6.QtWidgets import QTabBar
    w = open_window(size=(1280, 720))
    QApplication.processEvents()
    assert not w.graph_view.hasFocus()       # behind its tab, it took no focus at start-up
    w.pin_sample(0)
    bar, index = next((bar, k) for bar in w.findChildren(QTabBar) for k in range(bar.count())
                      if bar.tabText(k) == "Graph")
    QTest.mouseClick(bar, Qt.LeftButton, Qt.NoModifier, bar.tabRect(index).center())
    qtbot.waitUntil(lambda: w.graph_view.isVisible() and w.graph_view.total_steps() > 0,
                    timeout=10000)
    qtbot.waitUntil(w.graph_view.hasFocus, timeout=5000)
    passes = w.latest.pass_count
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Right)
    assert w.graph_view.steps == 1
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_N)
    assert w.graph_view.steps == 2
    assert w.latest.pass_count == passes          # → stepped the graph, not the training


# -- every panel readable at 1280×720 ------------------------------------------------------------

def curve_points_in(cost, box):
    """How many points of the gradient curves lie inside ``box`` (scene coordinates)."""
    from PySide6.QtCore import QPointF
    import numpy as np
    inside = total = 0
    for l in range(1, cost.gradient_layers() + 1):
        x, y = cost.drawn_gradient(l)
        for xi, yi in zip(x, y):
            if not np.isfinite(yi):
                continue
            total += 1
            inside += box.contains(cost.grad_plot.vb.mapViewToScene(QPointF(xi, np.log10(yi))))
    return inside, total


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)], ids=["1280x720", "1600x1000"])
def test_the_gradient_legend_of_a_5_layer_net_never_covers_its_curves(qtbot, open_window, size):
    from PySide6.QtWidgets import QPushButton
    w = open_window(size=size)
    add = next(b for b in w.controls.findChildren(QPushButton) if b.text() == "+ Add layer")
    for k in range(3):                       # four hidden layers: five weight layers
        QTest.mouseClick(add, Qt.LeftButton)
        qtbot.waitUntil(lambda: len(w.latest.sizes) == 4 + k, timeout=20000)
    for _ in range(30):
        target = w.latest.pass_count + 1
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == target, timeout=5000)
    w.paint_now()
    cost = w.cost
    legend = cost.legend(cost.grad_plot)
    qtbot.waitUntil(lambda: cost.gradient_layers() == 5, timeout=5000)
    if legend.isVisible():
        inside, total = curve_points_in(cost, legend.mapRectToScene(legend.boundingRect()))
        assert total > 0 and inside == 0
        assert size == (1600, 1000)           # the roomy size shows it inside the plot
    else:
        # no room inside the plot: the title above the data names every layer by its colour
        title = cost.gradient_title()
        assert all(f"━{l}<" in title for l in range(1, 6)), title
        assert size == (1280, 720)


def click_tab(qtbot, w, text):
    from PySide6.QtWidgets import QTabBar
    bar, index = next((bar, k) for bar in w.findChildren(QTabBar) if bar.isVisible()
                      for k in range(bar.count()) if bar.tabText(k) == text)
    QTest.mouseClick(bar, Qt.LeftButton, Qt.NoModifier, bar.tabRect(index).center())


def graph_rows_seen(w):
    """Rows of nodes of the Graph panel's drawing on screen (what no scroll area hides)."""
    from bpviz.ui.panels.graph import ROW_H
    g = w.graph_view
    seen = g.view.viewport().visibleRegion().boundingRect().height()
    return seen / (ROW_H * g.drawing_scale())


def test_at_1280x720_the_graph_panel_shows_more_than_one_and_a_half_rows(qtbot, open_window):
    from bpviz.ui.panels.graph import MIN_SCALE
    w = open_window(size=(1280, 720))
    network_height = w.docks["network"].height()
    w.pin_sample(0)
    click_tab(qtbot, w, "Graph")
    qtbot.waitUntil(lambda: w.graph_view.total_steps() > 0 and graph_rows_seen(w) > 1.5,
                    timeout=10000)
    assert w.graph_view.drawing_scale() >= MIN_SCALE          # at a readable size
    assert w.graph_view.is_compact()                          # its header beside the buttons
    assert "Layer 1, neuron 0" in w.graph_view.short_header.text()
    assert w.docks["network"].height() == network_height      # the diagram kept its room
    qtbot.waitUntil(w.graph_view.hasFocus, timeout=5000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key_Right)
    assert "1/" in w.graph_view.short_header.text()
    w.lecture.maximise("graph")                               # room again: the full header
    qtbot.waitUntil(lambda: not w.graph_view.is_compact() and w.graph_view.header.isVisible(),
                    timeout=5000)


def test_at_1280x720_an_open_lesson_shows_more_than_six_lines_of_its_text(qtbot, open_window):
    w = open_window(size=(1280, 720))
    help_menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Help")
    next(a for a in help_menu.actions() if a.text() == "Lessons").trigger()
    qtbot.waitUntil(w.lessons.is_ready, timeout=20000)
    label = w.lessons.text_label
    def lines():
        return label.visibleRegion().boundingRect().height() / label.fontMetrics().lineSpacing()

    qtbot.waitUntil(lambda: lines() > 6, timeout=5000)
    assert w.docks["lessons"].isVisible() and not w.tabifiedDockWidgets(w.docks["lessons"])
    assert w.network.too_small_note() == ""                   # the diagram is drawn too


def test_at_1280x720_reset_layout_keeps_the_decision_boundary_readable(qtbot, open_window):
    import pyqtgraph as pg
    w = open_window(size=(1280, 720))
    w.lecture.maximise("surface")
    view_action(w, "Reset layout").trigger()
    assert w.lecture.maximised() is None and not view_action(w, "Maximise panel").isChecked()

    def plot_area():
        boxes = [item for view in w.boundary.findChildren(pg.GraphicsView)
                 for item in view.scene().items() if isinstance(item, pg.ViewBox)]
        return max(((b.width(), b.height()) for b in boxes), key=lambda s: s[0] * s[1])

    qtbot.waitUntil(lambda: w.docks["boundary"].isVisible() and plot_area()[0] >= 200
                    and plot_area()[1] >= 120, timeout=5000)
