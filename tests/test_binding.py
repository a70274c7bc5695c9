"""Regression test for the Qt binding: reference counts of None / True / False must not leak away.

PySide6 6.12.0 on CPython 3.11 decrements the reference counts of ``None``, ``True`` and ``False``
on common calls (``QGraphicsItem.update()``, painting, ``Signal.emit()``); after enough calls the
count reaches zero and the process aborts with ``Fatal Python error: none_dealloc`` (or
``bool_dealloc``). The README and ``pyproject.toml`` exclude that release.

The probe runs in a subprocess, so a binding that crashes fails this test instead of killing pytest.
It does thousands of the calls that bite and compares ``sys.getrefcount`` of the three singletons
before and after; a healthy binding leaves them where they were (up to a little noise).

To check that the test catches the bug, run it with an interpreter that has the bad binding, e.g.
``/tmp/venv612/bin/python -m pytest tests/test_binding.py`` with PySide6-Essentials==6.12.0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

ROUNDS = 4000          # iterations of the call mix below
TOLERANCE = 100        # a drop larger than this is a leak, not noise

PROBE = textwrap.dedent(r"""
    import gc, json, os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pyqtgraph as pg
    import PySide6
    from PySide6.QtCore import QObject, Signal, Slot
    from PySide6.QtWidgets import QApplication, QGraphicsEllipseItem

    ROUNDS = int(sys.argv[1])
    app = QApplication.instance() or QApplication([])

    class Emitter(QObject):
        value = Signal(object)

    class Receiver(QObject):
        def __init__(self):
            super().__init__()
            self.count = 0

        @Slot(object)
        def on_value(self, v):
            self.count += 1

    widget = pg.PlotWidget()
    widget.resize(400, 300)
    widget.show()
    x = np.linspace(0.0, 1.0, 200)
    curve = widget.plot(x, np.sin(x))
    ellipse = QGraphicsEllipseItem(0.2, -0.5, 0.3, 0.6)
    ellipse.setPen(pg.mkPen("r"))
    widget.addItem(ellipse)
    emitter, receiver = Emitter(), Receiver()
    emitter.value.connect(receiver.on_value)

    def counts():
        gc.collect()
        return {"None": sys.getrefcount(None), "True": sys.getrefcount(True),
                "False": sys.getrefcount(False)}

    def work(n):
        for k in range(n):
            ellipse.update()
            curve.update()
            curve.setData(x, np.sin(x + k * 0.01))
            emitter.value.emit(None)
            emitter.value.emit(True)
            emitter.value.emit(False)
            if k % 20 == 0:
                widget.grab()
                widget.repaint()
                app.processEvents()

    work(50)                     # warm-up: caches and lazily built objects exist before counting
    before = counts()
    work(ROUNDS)
    app.processEvents()
    after = counts()
    print(json.dumps({"pyside6": PySide6.__version__, "python": sys.version.split()[0],
                      "rounds": ROUNDS, "emitted": receiver.count,
                      "before": before, "after": after}))
    sys.stdout.flush()
    widget.close()
""")


def run_probe(rounds: int = ROUNDS, python: str = sys.executable, timeout: float = 120):
    """Run the probe in a fresh interpreter; returns the CompletedProcess."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([python, "-c", PROBE, str(rounds)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("rounds", [100, ROUNDS], ids=["short", "long"])
def test_binding_keeps_refcounts_of_none_true_false(rounds):
    # "short" stays below the mid-run crash on a bad binding, so the refcount drop itself is
    # checked; "long" runs long enough that a bad binding aborts (about 300 rounds with 6.12.0).
    proc = run_probe(rounds)
    tail = (proc.stderr or "")[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if lines:        # the counts first: a bad binding may also crash later, at interpreter exit
        result = json.loads(lines[-1])
        drops = {name: result["before"][name] - result["after"][name] for name in result["before"]}
        leaking = {name: d for name, d in drops.items() if d > TOLERANCE}
        assert not leaking, (
            f"PySide6 {result['pyside6']} on Python {result['python']} lost references to "
            f"{', '.join(leaking)} over {rounds} rounds (drops {drops}; before {result['before']}, "
            f"after {result['after']}). This binding will abort the app with none_dealloc / "
            f"bool_dealloc; use another PySide6 version (6.11.3 is known good on 3.11).")
        assert result["emitted"] >= 3 * rounds
    assert proc.returncode == 0, (
        f"the Qt binding probe died with exit status {proc.returncode} (a negative status is the "
        f"signal that killed it; SIGABRT = -6 is Python's fatal error). This is the PySide6 "
        f"6.12.0 / CPython 3.11 refcount bug if stderr says none_dealloc or bool_dealloc:\n{tail}")
    assert lines, f"the probe printed no result:\nstdout: {proc.stdout}\nstderr: {tail}"


if __name__ == "__main__":   # print the probe's numbers for this interpreter
    p = run_probe(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)
    print(p.stdout, p.stderr[-2000:], f"exit status {p.returncode}", sep="\n")
    sys.exit(0 if p.returncode == 0 else 1)
