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
