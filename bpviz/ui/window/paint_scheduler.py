"""Which panel the window repaints at a paint-timer tick while training, and how each frame went.

While training, every panel is repainted at most ``TRAINING_PANEL_FPS`` times a second and at
most one panel per tick, each within its share of the GUI thread's time
(``TRAINING_PANEL_SHARE``): training, painting and the surface slice share two cores and one
interpreter, and a panel that repaints on every snapshot starves training. Paused, stepped or
scrubbed, the window shows every panel every new snapshot at once and only tells the scheduler
(:meth:`PaintScheduler.forget`).

The scheduler is plain Python with an injectable clock (``clock()`` in seconds), so its decisions
are tested without a window or a timer. It holds the snapshots it has seen only weakly: a big
network's snapshot is tens of megabytes, and the panels keep what they draw.

:class:`FrameTiming` is what the window reports after each tick and each paint Qt does of it (its
``frameTimed`` signal): the public hook the benchmark measures frames with.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

# While training: at most this many updates a second per panel ...
TRAINING_PANEL_FPS = {"network": 20, "cost": 10, "surface": 10, "boundary": 5, "inspector": 4,
                      "graph": 4, "code": 4}
# ... and at most this share of the GUI thread's time for each (a slow panel is fed less often)
TRAINING_PANEL_SHARE = {"network": 0.06, "cost": 0.04, "surface": 0.02, "boundary": 0.03,
                        "inspector": 0.02, "graph": 0.02, "code": 0.02}
DEFAULT_FPS, DEFAULT_SHARE = 4, 0.02     # a panel registered without figures of its own
PAINT_COST_FACTOR = 2.0     # Qt's repaint after an update costs about as much as the update
STATUS_INTERVAL_S = 0.1
PANEL_GAP_S = 0.008         # while training, at least this long between two panel updates
FRESH_S = 0.012             # while training, a panel shows a snapshot at most this long after it
                            # arrived; a due panel otherwise waits for the next one (≤ 33 ms)

TICK, PAINT = "tick", "paint"


@dataclass(frozen=True)
class FrameTiming:
    """One paint-timer tick (``kind`` "tick") or one paint Qt did of the window ("paint").

    Times are ``time.perf_counter()`` seconds. A tick names the snapshot it handed to panels
    (``seq``; None when it showed nothing new) and how long each panel's ``show_snapshot`` took
    (``panels``: (name, seconds) pairs); a paint has neither.
    """

    kind: str
    started: float
    ended: float
    seq: int | None = None
    panels: tuple[tuple[str, float], ...] = ()

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class PaintScheduler:
    """While training: the most overdue panel at a tick, and whether the status bar is due."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self._shown: dict[str, weakref.ref] = {}     # name → the snapshot it shows (weakly)
        self._due: dict[str, float] = {}             # name → when it may update next
        self._cost: dict[str, float] = {}            # name → seconds an update takes, smoothed
        self._last_update = -1e9
        self._status_due = 0.0
        self._arrived_at = -1e9                      # when the newest snapshot arrived

    def arrived(self) -> None:
        """A new snapshot arrived."""
        self._arrived_at = self.clock()

    def forget(self) -> None:
        """Every panel was just shown the same snapshot (paused, stepped, scrubbed): no panel
        is waiting for its turn."""
        self._due.clear()

    def shows(self, name: str, snap) -> bool:
        """Whether panel ``name`` was last given ``snap``."""
        ref = self._shown.get(name)
        return ref is not None and ref() is snap

    def choose(self, snap, names) -> str | None:
        """The panel (of the visible ``names``) to show ``snap`` now while training, if any: the
        most overdue of those due that do not show it yet, when the snapshot is fresh and the last
        update was long enough ago."""
        now = self.clock()
        due = [(self._due.get(name, 0.0), name) for name in names
               if not self.shows(name, snap) and self._due.get(name, 0.0) <= now]
        if not due or now - self._arrived_at > FRESH_S or now - self._last_update < PANEL_GAP_S:
            return None
        self._last_update = now
        return min(due)[1]

    def shown(self, name: str, snap, took: float, training: bool = False,
              fps: float | None = None, share: float | None = None) -> float:
        """Panel ``name`` was given ``snap`` and took ``took`` seconds; returns its smoothed cost.
        While ``training`` its next turn is set by its rate and its share of the thread (``fps``
        and ``share``; by default the tables', else a light panel's)."""
        try:
            self._shown[name] = weakref.ref(snap)
        except TypeError:                # not weakly referable (a test's stand-in): not kept
            self._shown.pop(name, None)
        cost = self._cost.get(name)
        cost = took if cost is None else 0.7 * cost + 0.3 * took
        self._cost[name] = cost
        if training:                     # counted from when it was chosen
            fps = fps or TRAINING_PANEL_FPS.get(name, DEFAULT_FPS)
            share = share or TRAINING_PANEL_SHARE.get(name, DEFAULT_SHARE)
            interval = max(1.0 / fps, PAINT_COST_FACTOR * cost / share)
            self._due[name] = self._last_update + interval
        return cost

    def status_due(self) -> bool:
        """While training: whether the status bar's turn has come (then it counts as updated)."""
        now = self.clock()
        if now < self._status_due:
            return False
        self._status_due = now + STATUS_INTERVAL_S
        return True

    def cost(self, name: str) -> float | None:
        """The smoothed seconds an update of panel ``name`` takes (None before its first)."""
        return self._cost.get(name)


QUESTION_SHARE = 0.05       # while training, the panels' questions take at most this share of it
QUESTION_LOST_S = 30.0      # a question unanswered this long no longer holds the next one back


class PacedQuestions:
    """The panels' questions to the training session (the inspector's report of a neuron),
    paced while training so that answering them takes at most ``share`` of the session's time.

    An 8×512 network's report is a backward pass over 256 samples and its question carries the
    network's weights (28 MB): asked at the inspector's 4 a second, answering left training a
    tenth of its speed. So while training one question is out at a time, and after an answer that
    took d seconds the next waits until d / ``share`` has passed since it was asked; a newer
    question replaces one that waits. Paused, every question goes at once. ``send(request,
    done)`` asks; :meth:`tick` (the window's paint tick) sends a question whose time has come.
    """

    def __init__(self, send, clock=time.perf_counter, share: float = QUESTION_SHARE):
        self.send = send
        self.clock = clock
        self.share = share
        self._asked_at: float | None = None     # when the question out was asked
        self._due = -1e9                        # when the next may go while training
        self._held = None                       # (request, done) waiting for its time
        self.sent = 0                           # questions sent, for tests and the bench

    def ask(self, request, done, training: bool) -> None:
        self._held = (request, done)
        self.tick(training)

    def waiting(self) -> bool:
        """Whether a question waits for its time."""
        return self._held is not None

    def tick(self, training: bool) -> None:
        if self._held is None:
            return
        now = self.clock()
        out = self._asked_at is not None and now - self._asked_at < QUESTION_LOST_S
        if training and (out or now < self._due):
            return
        (request, done), self._held = self._held, None
        asked_at = self._asked_at = now
        self.sent += 1

        def answered(answer):
            took = self.clock() - asked_at
            if self._asked_at == asked_at:
                self._asked_at = None
            self._due = asked_at + took / self.share
            done(answer)
        self.send(request, answered)
