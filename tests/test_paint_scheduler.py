"""The window's paint scheduler, on a clock of the test's own; and the window's frame-timing hook,
driven through the window as it trains."""

from __future__ import annotations

import gc
from dataclasses import dataclass

import pytest

from bpviz.ui.window.paint_scheduler import (FRESH_S, PANEL_GAP_S, PAINT, PAINT_COST_FACTOR,
                                      QUESTION_LOST_S, STATUS_INTERVAL_S, TICK,
                                      TRAINING_PANEL_FPS, TRAINING_PANEL_SHARE, FrameTiming,
                                      PacedQuestions, PaintScheduler)


@dataclass(frozen=True)
class Snap:                    # a stand-in snapshot: any object the panels are given
    seq: int


class Clock:
    def __init__(self, t: float = 50.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def drive(scheduler, clock, names, seconds, cost=0.0, fps=60):
    """A snapshot every 1/fps s, a tick after each; returns (time, name, seq) of every update."""
    out = []
    for k in range(int(seconds * fps)):
        clock.t += 1 / fps
        snap = Snap(k)
        scheduler.arrived()
        name = scheduler.choose(snap, names)
        if name is not None:
            out.append((clock.t, name, k))
            scheduler.shown(name, snap, cost, training=True)
    return out


def test_one_panel_a_tick_none_faster_than_its_rate():
    clock = Clock()
    scheduler = PaintScheduler(clock)
    names = list(TRAINING_PANEL_FPS)
    updates = drive(scheduler, clock, names, 4.0)
    assert len({t for t, _, _ in updates}) == len(updates)           # one panel per tick
    for name in names:
        times = [t for t, n, _ in updates if n == name]
        assert times, name                                           # every panel had turns
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) >= 1 / TRAINING_PANEL_FPS[name] - 1e-9, name
    counts = {n: sum(1 for _, m, _ in updates if m == n) for n in names}
    assert counts["network"] > counts["boundary"] > 0
    # at 60 ticks a second the diagram, due every 50 ms, is shown about 20 times a second
    assert counts["network"] == pytest.approx(4.0 * 20, rel=0.2)


def test_a_slow_panel_is_fed_within_its_share():
    clock = Clock()
    scheduler = PaintScheduler(clock)
    cost = 0.03                      # 30 ms an update: its share allows one every 2·30/0.06 ms
    updates = drive(scheduler, clock, ["network"], 6.0, cost=cost)
    times = [t for t, _, _ in updates]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= PAINT_COST_FACTOR * cost / TRAINING_PANEL_SHARE["network"] - 1e-9
    assert scheduler.cost("network") == pytest.approx(cost)


def test_a_stale_snapshot_waits_and_updates_keep_a_gap():
    clock = Clock()
    scheduler = PaintScheduler(clock)
    snap = Snap(1)
    scheduler.arrived()
    clock.t += FRESH_S * 2                       # arrived too long ago: wait for a fresh one
    assert scheduler.choose(snap, ["network", "cost"]) is None
    scheduler.arrived()
    assert scheduler.choose(snap, ["network", "cost"]) == "cost"     # both due: the first
    scheduler.shown("cost", snap, 0.0, training=True)
    assert scheduler.shows("cost", snap) and not scheduler.shows("network", snap)
    assert scheduler.choose(snap, ["network", "cost"]) is None       # within the gap
    clock.t += PANEL_GAP_S
    scheduler.arrived()
    assert scheduler.choose(snap, ["network", "cost"]) == "network"  # cost shows it already


def test_forget_makes_every_panel_due_and_status_has_its_interval():
    clock = Clock()
    scheduler = PaintScheduler(clock)
    scheduler.arrived()
    name = scheduler.choose(Snap(1), ["network"])
    scheduler.shown(name, Snap(1), 0.0, training=True)
    clock.t += PANEL_GAP_S
    scheduler.arrived()
    assert scheduler.choose(Snap(2), ["network"]) is None            # not due for 50 ms
    scheduler.forget()                                               # all panels shown at once
    assert scheduler.choose(Snap(2), ["network"]) == "network"
    assert scheduler.status_due() and not scheduler.status_due()
    clock.t += STATUS_INTERVAL_S
    assert scheduler.status_due()


def test_the_scheduler_keeps_no_snapshot_alive():
    class Big:
        pass
    scheduler = PaintScheduler(Clock())
    snap = Big()
    scheduler.shown("network", snap, 0.0)
    assert scheduler.shows("network", snap)
    del snap
    gc.collect()
    assert not scheduler.shows("network", Big())


def test_frame_timing_reads_its_seconds():
    t = FrameTiming(TICK, 1.0, 1.25, seq=3, panels=(("network", 0.2),))
    assert t.seconds == pytest.approx(0.25) and t.seq == 3 and dict(t.panels) == {"network": 0.2}


def test_the_window_reports_each_tick_and_paint(qtbot, tmp_path):
    """Training in the real window: its frameTimed hook names the snapshots panels were given,
    each panel's time, and the paints Qt did; intervals between ticks come from the timer."""
    from PySide6.QtCore import QSettings
    from bpviz.engine import Config
    from bpviz.ui.window.main_window import MainWindow
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    settings.setValue("speed", "max")
    w = MainWindow(Config.preset("gaussian-clouds"), settings=settings)
    qtbot.addWidget(w)
    timings: list[FrameTiming] = []
    w.frameTimed.connect(timings.append)
    w.show()
    qtbot.waitUntil(lambda: w.latest is not None, timeout=30000)
    w.play()
    qtbot.waitUntil(lambda: sum(1 for t in timings if t.kind == TICK and t.seq is not None
                                and t.seq > 2) >= 10 and any(t.kind == PAINT for t in timings),
                    timeout=60000)
    w.pause()
    ticks = [t for t in timings if t.kind == TICK]
    shown = [t for t in ticks if t.seq is not None]
    assert all(t.ended >= t.started for t in timings)
    # while training one panel a tick, named with a time of its own
    panel_names = {name for t in shown for name, _ in t.panels}
    assert panel_names <= set(TRAINING_PANEL_FPS) and "network" in panel_names
    assert all(len(t.panels) >= 1 and all(s >= 0 for _, s in t.panels) for t in shown)
    seqs = [t.seq for t in shown]
    assert seqs == sorted(seqs)                                     # newest snapshots, in order
    assert any(t.kind == PAINT and t.seconds > 0 for t in timings)
    w.shutdown()
    w.close()


# -- the panels' questions to the training session ---------------------------------------------

class Session:
    """Answers questions when told to, as the training session does some time after them."""

    def __init__(self):
        self.asked = []              # (request, answered)

    def send(self, request, answered):
        self.asked.append((request, answered))

    def answer(self, k=-1):
        request, answered = self.asked[k]
        answered(("report of", request))


def test_paused_every_question_goes_at_once():
    clock, session = Clock(), Session()
    questions = PacedQuestions(session.send, clock)
    got = []
    for k in range(3):
        questions.ask(k, got.append, training=False)
    assert [r for r, _ in session.asked] == [0, 1, 2]
    session.answer(2)
    assert got == [("report of", 2)]


def test_training_one_question_out_and_answering_within_its_share():
    """A question whose answer took d seconds: the next goes no sooner than d / share after it
    was asked; meanwhile only the newest question waits."""
    clock, session = Clock(), Session()
    questions = PacedQuestions(session.send, clock, share=0.05)
    got = []
    questions.ask("a", got.append, training=True)
    assert len(session.asked) == 1
    clock.t += 0.5                                  # the session answers after half a second
    questions.ask("b", got.append, training=True)   # while "a" is out: held
    questions.ask("c", got.append, training=True)   # replaces "b"
    assert len(session.asked) == 1 and questions.waiting()
    session.answer(0)
    assert got == [("report of", "a")]
    for _ in range(int(9.4 / 0.016)):               # paint ticks for 9.4 s more: not yet
        clock.t += 0.016
        questions.tick(training=True)
    assert len(session.asked) == 1
    clock.t += 0.2                                  # 10 s after "a" was asked: 0.5 s is 5 %
    questions.tick(training=True)
    assert [r for r, _ in session.asked] == ["a", "c"] and not questions.waiting()
    session.answer(1)
    assert got == [("report of", "a"), ("report of", "c")]


def test_pausing_sends_the_waiting_question_and_a_lost_one_holds_nothing_back():
    clock, session = Clock(), Session()
    questions = PacedQuestions(session.send, clock)
    questions.ask("a", lambda answer: None, training=True)
    questions.ask("b", lambda answer: None, training=True)
    questions.tick(training=False)                 # paused: it goes now
    assert [r for r, _ in session.asked] == ["a", "b"]
    questions.ask("c", lambda answer: None, training=True)
    clock.t += QUESTION_LOST_S                     # "b" never answered (a session replaced)
    questions.tick(training=True)
    assert [r for r, _ in session.asked] == ["a", "b", "c"]
