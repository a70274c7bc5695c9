"""The window at laptop sizes and up: the diagram keeps priority, Reset layout gives the default
proportions (also after a separator was dragged), labels never wrap inside a word, legends fit
their plots, the cost curve shows the starting loss at epoch 0, popups stay on the screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton

from bpviz.ui.window.main_window import DEFAULT_COLUMNS

SIZES = [(1280, 720), (1366, 768), (1600, 1000)]
# The classic example's loss at its initial weights (the numpy example it reproduces).
START_LOSS = 2.0981
# The least size, in pixels, of the diagram's drawing area at 1280×720.
DIAGRAM_AT_LEAST = (300, 220)


def trigger_view_action(w, text):
    view = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "View")
    next(a for a in view.actions() if a.text().replace("&", "") == text).trigger()


def diagram_size(w):
    area = w.network.diagram_widget()
    return area.width(), area.height()


def settle(qtbot, w, size):
    w.resize(*size)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == size, timeout=5000)
    QApplication.processEvents()


def drag_separator(qtbot, w, dx, vertical=False):
    """Drag the separator right of the Controls panel by ``dx`` pixels (with ``vertical``: the
    one under the Network panel, down by ``dx``), with the mouse, as a person does."""
    first = w.docks["network" if vertical else "controls"]
    second = w.docks["cost" if vertical else "network"].geometry()
    if vertical:
        start = QPoint(second.center().x(), (first.geometry().bottom() + second.top()) // 2 + 1)
        step = QPoint(0, dx)
    else:
        start = QPoint((first.geometry().right() + second.left()) // 2 + 1, second.center().y())
        step = QPoint(dx, 0)
    before = first.size()
    QTest.mousePress(w, Qt.LeftButton, Qt.NoModifier, start)
    for k in range(1, 11):
        QTest.mouseMove(w, start + step * k / 10)
        QApplication.processEvents()
    QTest.mouseRelease(w, Qt.LeftButton, Qt.NoModifier, start + step)
    qtbot.waitUntil(lambda: first.size() != before, timeout=3000)


def assert_default_layout(qtbot, w):
    size = (w.width(), w.height())
    want = [round(size[0] * s) for s in DEFAULT_COLUMNS]

    def columns_ok():
        got = [w.docks[n].width() for n in ("controls", "network", "boundary")]
        return all(abs(g - c) <= max(40, 0.06 * c) for g, c in zip(got, want))

    qtbot.waitUntil(columns_ok, timeout=5000)
    assert w.has_default_layout()
    assert w.docks["network"].height() > w.docks["cost"].height()


def assert_diagram_readable(qtbot, w):
    net = w.network
    sizes = w.latest.sizes
    every = {(l, i) for l, n in enumerate(sizes) for i in range(n)}
    w.network.set_node_mode("activation")       # every neuron, the inputs too, has a value
    w.paint_now()
    qtbot.waitUntil(lambda: set(net.value_label_texts()) == every
                    and all(net.value_label_texts().values()), timeout=5000)
    width, height = diagram_size(w)
    assert width >= DIAGRAM_AT_LEAST[0] and height >= DIAGRAM_AT_LEAST[1], (width, height)
    assert len(net.layer_label_lines()) == len(sizes)
    assert net.legends_cut() == (False, False)        # wrapped between words, if need be
    assert_labels_whole(net)     # every line whole words of the label: none wrapped inside one


def assert_legends_fit(qtbot, w):
    """After two passes the cost panel's legends are up: each lies wholly inside its plot."""
    for _ in range(2):
        target = w.latest.pass_count + 1
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == target, timeout=5000)
    w.paint_now()
    cost = w.cost
    shown = 0
    for plot in (cost.loss_plot, cost.accuracy_plot, cost.grad_plot):
        legend = cost.legend(plot)
        if not legend.isVisible():
            continue
        shown += 1
        inside = plot.vb.mapRectToScene(plot.vb.boundingRect())
        box = legend.mapRectToScene(legend.boundingRect())
        assert inside.contains(box), (box, inside)
    assert shown >= 1


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_reset_layout_after_a_separator_drag_gives_the_default_proportions(qtbot, open_window,
                                                                           size):
    w = open_window(size=size)
    settle(qtbot, w, size)
    trigger_view_action(w, "Reset layout")
    assert_default_layout(qtbot, w)
    assert_diagram_readable(qtbot, w)
    drag_separator(qtbot, w, 220)          # the controls take the diagram's room...
    assert not w.has_default_layout()
    qtbot.waitUntil(lambda: w.network.legends_cut() == (False, False), timeout=3000)
    trigger_view_action(w, "Reset layout")  # ... and Reset gives it back
    assert_default_layout(qtbot, w)
    assert_diagram_readable(qtbot, w)
    assert_legends_fit(qtbot, w)


def test_the_default_proportions_follow_a_window_resize(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    settle(qtbot, w, (1280, 720))
    assert_default_layout(qtbot, w)
    assert_diagram_readable(qtbot, w)


def assert_labels_whole(net):
    for label, shown in zip(net.layer_label_texts(), net.layer_label_lines()):
        words = label.split()
        assert all(line.split() and all(word in words for word in line.split())
                   for line in shown), (label, shown)
        assert len(shown) == 2, shown          # a title and a count, one line each


def test_layer_labels_stay_whole_words_from_short_to_full(qtbot, open_window):
    w = open_window(size=(1280, 720))
    settle(qtbot, w, (1280, 720))
    add = next(b for b in w.controls.findChildren(QPushButton) if "Add layer" in b.text())
    qtbot.mouseClick(add, Qt.LeftButton)     # 2-3-3-3, in a diagram narrowed: the short labels
    drag_separator(qtbot, w, 220)
    qtbot.waitUntil(lambda: len(w.latest.sizes) == 4
                    and w.network.layer_label_texts()[:2] == ["in 2", "h1 3"], timeout=10000)
    assert_labels_whole(w.network)
    settle(qtbot, w, (1600, 1000))           # room for the full ones: each word whole
    trigger_view_action(w, "Reset layout")
    qtbot.waitUntil(lambda: w.network.layer_label_texts()[0] == "input 2 neurons", timeout=5000)
    assert_labels_whole(w.network)
    drag_separator(qtbot, w, 300)
    trigger_view_action(w, "Reset layout")
    assert_default_layout(qtbot, w)
    assert_labels_whole(w.network)


def test_a_diagram_too_small_to_draw_says_so(qtbot, open_window):
    w = open_window(size=(1280, 720))
    settle(qtbot, w, (1280, 720))
    assert w.network.too_small_note() == ""
    drag_separator(qtbot, w, -400, vertical=True)      # the network panel as low as it goes
    qtbot.waitUntil(lambda: "Too small to draw the network" in w.network.too_small_note(),
                    timeout=3000)
    trigger_view_action(w, "Reset layout")
    qtbot.waitUntil(lambda: w.network.too_small_note() == "", timeout=3000)
    assert_diagram_readable(qtbot, w)


def test_the_cost_curve_shows_the_starting_loss_at_epoch_0(qtbot, open_window):
    w = open_window(size=(1280, 720))
    qtbot.waitUntil(lambda: w.cost.starting_point() is not None, timeout=5000)
    x, y = w.cost.starting_point()
    assert x == 0.0 and y == pytest.approx(START_LOSS, abs=1e-4)
    lo, hi = w.cost.loss_range()
    assert lo < y < hi and hi - lo < 1.0      # fitted to the point, not empty 0-1 axes
    # after the first epoch the recorded row takes its place, at the same loss
    target = w.latest.pass_count + 1
    w.step()
    qtbot.waitUntil(lambda: w.latest.pass_count == target and len(w.cost.series("loss")[0]),
                    timeout=5000)
    w.paint_now()
    assert w.cost.starting_point() is None
    assert w.cost.series("loss")[1][0] == pytest.approx(START_LOSS, abs=1e-4)


@pytest.mark.parametrize("panel", ["graph", "network", "cost"])
def test_a_panel_help_popup_lies_within_the_screen(qtbot, open_window, panel):
    w = open_window(size=(1280, 720))
    settle(qtbot, w, (1280, 720))
    w.docks[panel].raise_()
    qtbot.waitUntil(w.help.title_bars[panel].isVisible, timeout=3000)
    button = w.help.title_bars[panel].help_button
    qtbot.mouseClick(button, Qt.LeftButton)
    popup = w.help.popup
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    area = popup.screen().availableGeometry()
    qtbot.waitUntil(lambda: area.contains(popup.frameGeometry()), timeout=3000)
    assert QRect(area).contains(popup.geometry())
    popup.close()


def test_the_boundary_legend_takes_more_rows_rather_than_being_cut(qtbot, open_window):
    w = open_window(size=(1280, 720))
    settle(qtbot, w, (1280, 720))
    boundary = w.boundary
    qtbot.waitUntil(lambda: len(boundary.legend_rows()) == 1, timeout=3000)
    assert boundary.legend_rows()[0][-1] == "train" and not boundary.legend_cut()
    boundary.resize(200, boundary.height())            # as narrow as a floated panel goes
    qtbot.waitUntil(lambda: len(boundary.legend_rows()) > 1, timeout=3000)
    assert [e for row in boundary.legend_rows() for e in row] == \
        ["class 0", "class 1", "class 2", "train"]
    qtbot.waitUntil(lambda: not boundary.legend_cut(), timeout=3000)


def test_the_surface_legend_is_whole_or_not_shown(qtbot, open_window):
    w = open_window(size=(1280, 720))
    settle(qtbot, w, (1280, 720))
    surface = w.surface
    qtbot.waitUntil(lambda: surface.legend_shown() and surface.legend_inside(), timeout=3000)
    surface.resize(240, surface.height())          # narrower than "path of training"
    qtbot.waitUntil(lambda: not surface.legend_shown(), timeout=3000)
    assert surface.legend_inside()
    settle(qtbot, w, (1600, 1000))
    trigger_view_action(w, "Reset layout")
    qtbot.waitUntil(lambda: surface.legend_shown() and surface.legend_inside(), timeout=3000)


def test_the_cost_curves_axis_labels_never_overlap_at_1280x720(qtbot, open_window):
    """The accuracy and loss axes of a short cost panel label as many ticks as fit, not four
    labels stacked into one smudge (their drawn text rectangles are apart)."""
    from PySide6.QtGui import QImage, QPainter
    w = open_window(size=(1280, 720))
    settle(qtbot, w, (1280, 720))
    w.docks["cost"].raise_()
    for _ in range(3):
        w.step()
    qtbot.waitUntil(lambda: w.latest.pass_count >= 3, timeout=60000)
    w.paint_now()
    for plot in (w.cost.accuracy_plot, w.cost.loss_plot):
        axis = plot.getAxis("left")
        assert 20 < axis.height() < 200               # a short plot: the case that smudged
        image = QImage(100, 100, QImage.Format_ARGB32)
        painter = QPainter(image)
        try:
            specs = axis.generateDrawSpecs(painter)
        finally:
            painter.end()
        rects = sorted((rect for rect, _, text in specs[2] if text), key=lambda r: r.top())
        assert rects                                  # still labelled
        for upper, lower in zip(rects, rects[1:]):
            assert upper.bottom() <= lower.top() + 0.5, [r.getRect() for r in rects]
