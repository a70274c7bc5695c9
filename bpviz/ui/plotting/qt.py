"""Qt set-up shared by the app, the snapshot command and the tests."""

from __future__ import annotations

import gc
import os
import sys
import threading

from PySide6.QtCore import QObject, QtMsgType, QTimer, Slot, qInstallMessageHandler

# Messages that carry no information for a user: the offscreen platform (tests, `bpviz snapshot`)
# cannot honour size hints of dock widgets and says so once per dock.
IGNORED_MESSAGES = ("This plugin does not support propagateSizeHints()",)

_previous = None


def _handler(kind, context, message):
    if message in IGNORED_MESSAGES:
        return
    if _previous is not None:
        _previous(kind, context, message)
    elif kind != QtMsgType.QtDebugMsg:
        import sys
        print(message, file=sys.stderr)


def quiet_platform_messages() -> None:
    """Drop the offscreen platform's size-hint notices; every other message passes through."""
    global _previous
    if _previous is None:
        _previous = qInstallMessageHandler(_handler) or None


class _GuiThreadCollector(QObject):
    """Python's cyclic garbage collector, run on the GUI thread only.

    Left automatic, the collector runs in whichever thread happens to allocate, e.g. the training or
    surface thread. Collecting a Qt object's Python wrapper there destroys the object on that thread
    while it holds Qt's locks and then waits for the interpreter lock, which the GUI thread may hold
    while it waits for one of those locks: a deadlock (seen as a frozen window). Automatic
    collection is turned off and the same generational thresholds are checked on a GUI timer.
    """

    INTERVAL_MS = 100

    def __init__(self):
        super().__init__()
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(self.INTERVAL_MS)

    @Slot()
    def check(self) -> None:
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if c0 > t0:
            gc.collect(2 if c2 > t2 else 1 if c1 > t1 else 0)


_collector: _GuiThreadCollector | None = None


def collect_garbage_on_gui_thread() -> None:
    """Call on the GUI thread, with a QApplication, before any worker thread starts (the window
    and the surface panel do); later calls do nothing."""
    global _collector
    if _collector is None:
        _collector = _GuiThreadCollector()


GUI_SWITCH_INTERVAL_S = 0.001   # how long another thread may keep the interpreter lock (5 ms)


def hand_the_lock_to_the_gui_sooner() -> None:
    """Let the window's other threads (snapshot relay, surface slices) keep the interpreter lock
    at most 1 ms once the GUI thread asks for it, instead of Python's 5 ms. Training itself runs in
    its own process, so the extra switching costs it nothing; the GUI thread waits less
    (two runs each: frame interval max 40–42 ms against 46–50 ms, within this machine's
    noise)."""
    if sys.getswitchinterval() > GUI_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)


BACKGROUND_NICE = 5     # surface slices and edge raster plans: below the GUI thread


def lower_this_thread() -> bool:
    """Put the calling thread ``BACKGROUND_NICE`` nice steps below the process's main thread;
    returns whether it could.

    For the window's background threads (surface slices, edge raster plans). On a busy 2-core
    machine training, a slice and the GUI thread all want a core; measured while training, the GUI
    thread's worst paint-timer gaps were time spent runnable but waiting for a core (33 of 58 ms)
    while a slice and the training process (itself at nice 5) ran. Linux gives each thread a
    niceness of its own; elsewhere this does nothing."""
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        # relative to the process's main thread: a thread inherits its creator's niceness
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICE)
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except OSError:
        return False
    return True
