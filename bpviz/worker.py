"""The window's proxy for the training session: the only code that knows about threads and processes.

Training has one owner, a :class:`~bpviz.training.TrainingSession`. :class:`WorkerHost` lives on the
GUI thread and runs that session where it does not compete with painting: in a child process
started with ``multiprocessing``'s *spawn* context (Linux, macOS and Windows alike), or — with
``BPVIZ_PROCESSES=0``, or when a process cannot start — in a thread of this process. Either way the
host only sends commands (its ``…Requested`` signals, :meth:`send`, :meth:`painted`) and turns the
session's events into signals on the GUI thread, keeping the newest snapshot (latest value wins)
for the window's paint timer. A question that needs an answer (the whole history, say) is a
:meth:`query`.

A training process that dies, or stops answering while playing, is ended, and the host carries on
in a thread from the last training state the session sent (at least once a second while playing,
and at every pause), and says so.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from .engine.config import Config
from .engine.errors import BpvizError
from .engine.snapshot import Snapshot
from .training import TrainingSession, child_main, queue_receiver, serve

STALL_S = 5.0               # training that publishes nothing this long while playing has stalled
START_TIMEOUT_S = 60.0      # a training process that has not said it is ready by then is given up
STOP_S = 3.0                # closing waits this long for training to end, then ends it
REPLAYED = ("speed", "step_mode", "pin")   # settings a session carried on elsewhere is told again


def processes_enabled() -> bool:
    """Whether training runs in a child process; BPVIZ_PROCESSES=0 keeps it in a thread here."""
    return os.environ.get("BPVIZ_PROCESSES", "1").strip().lower() not in ("0", "no", "false", "off")


def blas_threads() -> int | None:
    """This process's BLAS thread count, for a child to use the same (and so compute the same
    sums in the same order); None when it cannot be told."""
    try:
        from threadpoolctl import threadpool_info
        counts = {p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"}
    except Exception:
        return None
    return counts.pop() if len(counts) == 1 else None


class WorkerHost(QObject):
    """GUI-thread side: runs the training session, sends it commands, relays its events."""

    # commands (each is sent to the session as a message)
    playRequested = Signal()
    pauseRequested = Signal()
    runEpochsRequested = Signal(int)
    stepModeRequested = Signal(str)
    rewindRequested = Signal(int)
    openSessionRequested = Signal(object)
    saveSessionRequested = Signal(object)
    stepRequested = Signal()
    resetRequested = Signal()
    rebuildRequested = Signal(object)
    hyperRequested = Signal(object)
    parametersRequested = Signal(object)
    pinRequested = Signal(object)
    speedRequested = Signal(object)
    undoRequested = Signal()
    redoRequested = Signal()
    # the session's events, emitted on the GUI thread
    snapshotArrived = Signal(object)
    failed = Signal(str)
    rebuilt = Signal(object)
    saved = Signal(object)
    undoChanged = Signal(object)
    redoChanged = Signal(object)
    stalled = Signal(str)              # playing, and nothing arrived for STALL_S seconds
    _event = Signal(object)            # (kind, payload), from the thread that received it

    def __init__(self, config: Config, parent=None, processes: bool | None = None, **options):
        super().__init__(parent)
        self.config = config
        self.options = options             # TrainingSession keyword arguments
        self.use_processes = processes_enabled() if processes is None else processes
        self.mode: str | None = None       # "process" or "thread" once started
        self.process = None                # the training process, in process mode
        self.latest: Snapshot | None = None
        self.received = 0
        self._inbox = None
        self._threads: list[threading.Thread] = []
        self._dataset = None               # of the last "rebuilt": a carried-on session's data
        self._checkpoint = None            # (config, training state) last sent by the session
        self._replay: dict = {}            # the last value of each REPLAYED command
        self._painted = None
        self._answers: dict = {}           # query id → [Event, value] of a waiting query
        self._callbacks: dict = {}         # query id → done(value) of an asked one
        self._query_ids = itertools.count(1)
        self._stopped = False
        self._arrived_at = time.perf_counter()
        self._event.connect(self._on_event, Qt.QueuedConnection)
        for sig, name in ((self.playRequested, "play"), (self.pauseRequested, "pause"),
                          (self.stepRequested, "step"), (self.resetRequested, "reset"),
                          (self.undoRequested, "undo"), (self.redoRequested, "redo")):
            sig.connect(lambda name=name: self.send(name))
        for sig, name in ((self.runEpochsRequested, "run_epochs"),
                          (self.stepModeRequested, "step_mode"),
                          (self.rewindRequested, "rewind"),
                          (self.openSessionRequested, "open_session"),
                          (self.saveSessionRequested, "save_session"),
                          (self.rebuildRequested, "rebuild"), (self.hyperRequested, "hyper"),
                          (self.parametersRequested, "parameters"), (self.pinRequested, "pin"),
                          (self.speedRequested, "speed")):
            sig.connect(lambda value, name=name: self.send(name, value))
        # the heartbeat: while playing, snapshots arrive many times a second; when none has for
        # STALL_S, a training process that stopped answering is ended (training carries on in
        # this process) and the window is told
        self.watchdog = QTimer(self)
        self.watchdog.setInterval(1000)
        self.watchdog.timeout.connect(self._check_stall)

    # -- starting and stopping ---------------------------------------------------------------------

    def start(self) -> None:
        self.watchdog.start()
        if self.use_processes:
            try:
                self._start_process()
                return
            except (OSError, ValueError, RuntimeError) as e:   # no processes here: a thread
                self.use_processes = False
                note = f"training runs in the window's own process (no child process: {e})"
                self._start_thread(self.config, None, None, note)
                return
        self._start_thread(self.config, None, None, "")

    def _start_process(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        inbox = ctx.Queue()
        # events come through a one-way pipe whose writing end only the child holds: when the
        # child ends, even in the middle of a message, reading it ends too (a queue's reader
        # would wait for the rest of the message forever, its writing end held here as well)
        events, child_end = ctx.Pipe(duplex=False)
        process = ctx.Process(target=child_main, name="bpviz-training", daemon=True,
                              args=(self.config, dict(self.options, checkpoints=True), inbox,
                                    child_end, blas_threads()))
        try:
            process.start()
        finally:
            child_end.close()
        inbox.cancel_join_thread()       # never wait at exit on a child that stopped reading
        self._inbox, self.process, self.mode = inbox, process, "process"
        self._spawn(self._read_events, (events, process), "bpviz-training-events")

    def _start_thread(self, config, dataset, state, note: str) -> None:
        self._inbox, self.process, self.mode = queue.Queue(), None, "thread"
        self._spawn(self._run_session, (config, dataset, state, note, self._inbox),
                    "bpviz-training")

    def _spawn(self, target, args, name) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout_s: float = STOP_S) -> None:
        """Stop training and wait for it, within a few seconds whatever a training process does;
        safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.watchdog.stop()
        self.send("shutdown")
        if self.process is not None:
            self.process.join(timeout_s)
            if self.process.is_alive():
                self.process.kill()      # a stalled child cannot read the shutdown
                self.process.join(timeout_s)
        for thread in self._threads:
            thread.join(timeout_s)

    def alive(self) -> bool:
        """Whether any of the host's threads or its training process still runs."""
        return (any(t.is_alive() for t in self._threads)
                or (self.process is not None and self.process.is_alive()))

    # -- commands -------------------------------------------------------------------------------------

    def send(self, name: str, *args) -> None:
        """Send the session the command ``(name, *args)``."""
        if name in REPLAYED:
            self._replay[name] = args
        if self._inbox is None:
            return
        try:
            self._inbox.put((name, *args))
        except (OSError, ValueError):    # the queue of a process already ended
            pass

    def painted(self, seq: int) -> None:
        """The window painted snapshot ``seq``: slow playing waits for this before the next."""
        if seq != self._painted:
            self._painted = seq
            self.send("painted", seq)

    def ask(self, name: str, *args, done) -> None:
        """Ask the session without waiting: ``done(value)`` is called on the GUI thread when the
        answer comes (a BpvizError as the value when it cannot be answered)."""
        query_id = next(self._query_ids)
        self._callbacks[query_id] = done
        self.send("query", query_id, name, *args)

    def query(self, name: str, *args, timeout_s: float = 10.0):
        """Ask the session (the questions of ``TrainingSession.cmd_query``: ``"record"``,
        ``"history"``, ``"state"``, ``"inspect"``) and wait for its answer; BpvizError if none
        comes in ``timeout_s``."""
        query_id = next(self._query_ids)
        answer = self._answers[query_id] = [threading.Event(), None]
        self.send("query", query_id, name, *args)
        try:
            if not answer[0].wait(timeout_s):
                raise BpvizError(f"training did not answer ({name}) within {timeout_s:g} s")
        finally:
            self._answers.pop(query_id, None)
        if isinstance(answer[1], BaseException):
            raise answer[1]
        return answer[1]

    # -- events ---------------------------------------------------------------------------------------

    def _deliver(self, kind: str, payload) -> None:
        """From the thread that received it: answers wake their asker; the rest goes to the GUI
        thread."""
        if kind == "answer":
            query_id, value = payload
            answer = self._answers.get(query_id)
            if answer is not None:
                answer[1] = value
                answer[0].set()
                return
        self._event.emit((kind, payload))

    def _run_session(self, config, dataset, state, note, inbox) -> None:
        try:
            session = TrainingSession(config, self._deliver, dataset=dataset, state=state,
                                      note=note, **self.options)
            serve(session, queue_receiver(inbox))
        except Exception as e:           # a bug, not bad input: say so rather than go silent
            self._deliver("crashed", f"{type(e).__name__}: {e}")

    def _read_events(self, events, process) -> None:
        started = time.monotonic()
        ready = False
        try:
            while True:
                try:
                    if not events.poll(0.25):
                        if self._stopped or process is not self.process:
                            return
                        if not process.is_alive():
                            self._deliver("died", f"exit status {process.exitcode}")
                            return
                        if not ready and time.monotonic() - started > START_TIMEOUT_S:
                            self._deliver("died", "it did not start")
                            return
                        continue
                    kind, payload = events.recv()
                except (EOFError, OSError, ValueError) as e:     # the child has gone
                    if not self._stopped and process is self.process:
                        process.join(1.0)
                        self._deliver("died", f"exit status {process.exitcode}"
                                      if process.exitcode is not None else str(e) or "it ended")
                    return
                if kind == "closed":
                    return
                ready = True
                self._deliver(kind, payload)
        finally:
            events.close()

    @Slot(object)
    def _on_event(self, event) -> None:
        kind, payload = event
        if kind == "snapshot":
            self.latest = payload
            self._arrived_at = time.perf_counter()
            self.received += 1
            self.snapshotArrived.emit(payload)
        elif kind == "rebuilt":
            self.config, self._dataset = payload[0], payload[1]
            self._checkpoint = None
            self.rebuilt.emit(payload)
        elif kind == "answer":
            done = self._callbacks.pop(payload[0], None)
            if done is not None:
                done(payload[1])
        elif kind == "checkpoint":
            self._checkpoint = payload
        elif kind == "failed":
            self.failed.emit(payload)
        elif kind == "saved":
            self.saved.emit(payload)
        elif kind == "undo":
            self.undoChanged.emit(payload)
        elif kind == "redo":
            self.redoChanged.emit(payload)
        elif kind in ("died", "crashed") and not self._stopped:
            if self.mode == "process":
                self._carry_on(f"the training process stopped ({payload}); training goes on "
                               f"in the window's own process")
            else:
                self.failed.emit(f"training stopped: {payload}")

    @Slot()
    def _check_stall(self) -> None:
        snap = self.latest
        if self._stopped or snap is None or not snap.running:
            return
        silent = time.perf_counter() - self._arrived_at
        if silent < STALL_S:
            return
        if self.mode == "process":
            message = (f"training stopped answering for {silent:.0f} s: its process was ended "
                       f"and training goes on in this one")
            self._carry_on(message)
        else:
            message = f"training has not answered for {silent:.0f} s"
        self.stalled.emit(message)
        self._arrived_at = time.perf_counter()

    def _carry_on(self, note: str) -> None:
        """End the training process and go on in a thread from the last state it sent."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.join(STOP_S)
        self.use_processes = False
        config, state = self._checkpoint or (self.config, None)
        if state is not None:           # the last state it sent: up to a second before the end
            note += f", from pass {state['pass_count']:,}"
        playing = self.latest is not None and self.latest.running
        self._start_thread(config, self._dataset, state, note)
        for name, args in self._replay.items():
            self.send(name, *args)
        if playing:
            self.send("play")
