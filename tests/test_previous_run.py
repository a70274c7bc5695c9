"""The previous run, drawn faded on the cost curve and the error surface after a reset or a changed
setting, through real input."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from tests.test_window_input import choose, click, key, pass_shown


def step(qtbot, w, n):
    for _ in range(n):
        target = pass_shown(w) + 1
        key(qtbot, w, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: pass_shown(w) == target, timeout=5000)


def path(w):
    x, y = w.surface.path_item.getData()
    return np.zeros((0, 2)) if x is None else np.column_stack([x, y])


def legend_labels(w):
    return [label.text for _, label in w.surface.plot.legend.items]


def test_reset_keeps_the_run_before_on_both_panels(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    click(qtbot, w.network.mouse_target(), QPoint(5, 5))
    step(qtbot, w, 6)
    qtbot.waitUntil(lambda: len(path(w)) == 7, timeout=30000)      # the start and 6 passes
    before, losses = path(w), w.cost.series("loss")
    assert "previous run" not in legend_labels(w) and not w.cost.is_drawn("previous")
    key(qtbot, w, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: pass_shown(w) == 0, timeout=5000)
    qtbot.waitUntil(lambda: len(w.surface.previous_path()) == 7, timeout=30000)
    assert np.allclose(w.surface.previous_path(), before)
    assert "previous run" in legend_labels(w)
    px, py = w.cost.previous_run()
    assert w.cost.is_drawn("previous") and np.array_equal(py, losses[1])
    assert list(px) == list(range(6))              # epochs 0-5, each at its starting weights
    key(qtbot, w, Qt.Key.Key_R)                    # a reset with nothing trained keeps it
    qtbot.waitUntil(lambda: "reset" in w.statusBar().currentMessage(), timeout=5000)
    step(qtbot, w, 1)
    assert np.array_equal(w.cost.previous_run()[1], losses[1])
    assert np.allclose(w.surface.previous_path(), before)


def test_a_new_network_keeps_the_curve_and_other_data_drops_it(qtbot, open_window):
    w = open_window(size=(1600, 1000))
    click(qtbot, w.network.mouse_target(), QPoint(5, 5))
    step(qtbot, w, 4)
    losses = w.cost.series("loss")
    click(qtbot, w.controls.hidden.add)            # a changed setting on the same data
    qtbot.waitUntil(lambda: w.latest.sizes == (2, 3, 3, 3), timeout=10000)
    assert np.array_equal(w.cost.previous_run()[1], losses[1])
    # another network's weights: the old path has no place on this surface
    qtbot.waitUntil(lambda: len(path(w)) >= 1, timeout=30000)
    assert len(w.surface.previous_path()) == 0 and "previous run" not in legend_labels(w)
    choose(qtbot, w.controls.preset, "xor")        # other data: nothing to compare with
    qtbot.waitUntil(lambda: w.latest.sizes[0] == 2 and w.config.dataset == "xor", timeout=10000)
    assert len(w.cost.previous_run()[0]) == 0 and not w.cost.is_drawn("previous")
