"""The window's proxy for the training session: the only code that knows about threads and processes.

Training has one owner, a :class:`~bpviz.training.TrainingSession`. :class:`TrainingHost` lives on the
GUI thread and runs that session where it does not compete with painting: in a child process
started with ``multiprocessing``'s *spawn* context (Linux, macOS and Windows alike), or — with
``BPVIZ_PROCESSES=0``, or when a process cannot start — in a thread of this process. Either way the
host only sends commands (typed ones, :mod:`bpviz.messages`, through :meth:`command`; or
:meth:`send`, :meth:`painted`) and turns the session's events into signals on the GUI thread
(typed events: a :class:`~bpviz.messages.Failed` names the command it answers). It keeps no
snapshot: the window's run model (:class:`bpviz.ui.window.run_model.RunModel`) keeps the newest one
for the paint timer (latest value wins). A question that needs an answer (the whole history,
say) is a :meth:`query`.

Every command the host sends is followed by a ``("ping", n)`` that the session answers with
``("pong", (n, work_s))`` once it has handled what came before; ``work_s`` is the longest piece of
work it does without looking at its commands (one pass of the current network, measured). While
playing the host pings once a second as well. A command left unanswered for longer than
:meth:`TrainingHost.allowance` — whatever the window was doing, paused or playing — means training
has stalled: a training process that stopped answering, or died, is ended, and the host carries on
in a thread from the last training state the session sent (at least once a second while playing,
and at every pause), with the runs Undo can bring back, and sends it again every command the
process left unanswered; and it says so.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import os
import queue
import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from .engine.config import Config
from .engine.errors import BpvizError
from .messages import Command, Configured, Failed, Rebuilt, SaveSession, Saved
from .training import TrainingSession, child_main, queue_receiver, serve

STALL_S = 5.0               # a command unanswered this long (at least) means training has stalled
STALL_PASSES = 5.0          # ... or this many times the longest work the session said it does,
                            # or the longest a recent answer took
IO_STALL_S = 60.0           # ... or this long while it saves or opens a session (a slow disk)
START_TIMEOUT_S = 60.0      # a training process that has not said it is ready by then is given up
STOP_S = 3.0                # closing waits this long (or the allowance) for training to end
UNDO_DEPTH = 8              # runs set aside that a carried-on session keeps for Undo
NOT_PINGED = ("painted", "ping", "shutdown")    # commands that need no answer
REPLAYED = ("speed", "pace", "step_mode", "pin")   # settings a session carried on elsewhere is told again


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


class TrainingHost(QObject):
    """GUI-thread side: runs the training session, sends it commands, relays its events."""

    # the session's events, emitted on the GUI thread (see bpviz.messages)
    snapshotArrived = Signal(object)   # Snapshot
    failed = Signal(object)            # Failed: why, and the command it answers
    rebuilt = Signal(object)           # Rebuilt
    configured = Signal(object)        # Configured: live settings changed
    saved = Signal(object)             # Saved
    undoChanged = Signal(object)       # what Undo would bring back, or None
    redoChanged = Signal(object)       # what Redo would bring back, or None
    stalled = Signal(str)              # a command went unanswered for longer than the allowance
    _event = Signal(object)            # (kind, payload), from the thread that received it

    def __init__(self, config: Config, parent=None, processes: bool | None = None, **options):
        super().__init__(parent)
        self._config = config              # what a carried-on session starts from, failing a checkpoint
        self.options = options             # TrainingSession keyword arguments
        self.use_processes = processes_enabled() if processes is None else processes
        self.mode: str | None = None       # "process" or "thread" once started
        self.process = None                # the training process, in process mode
        self._playing = False              # whether the newest snapshot said training plays
        self.received = 0
        self._inbox = None
        self._threads: list[threading.Thread] = []
        self._dataset = None               # of the last "rebuilt": a carried-on session's data
        self._checkpoint = None            # (config, training state) last sent by the session
        self._set_aside: list = []         # the runs Undo can bring back, as the session sent them
        self._replay: dict = {}            # the last value of each REPLAYED command
        self._painted = None
        self._answers: dict = {}           # query id → [Event, value] of a waiting query
        self._callbacks: dict = {}         # query id → done(value) of an asked one
        self._query_ids = itertools.count(1)
        self._stopped = False
        # answers: (ping id, when sent, command or None) of every ping not yet answered, the
        # longest work the session said it does, and when the current session first spoke
        self._lock = threading.Lock()
        self._pings = itertools.count(1)
        self._unanswered: list[tuple] = []
        self._requests: dict = {}          # ping id → the typed command that ping follows
        self._work_s = 0.0
        self._latencies: collections.deque = collections.deque(maxlen=16)
        self._ready_at: float | None = None
        self._event.connect(self._on_event, Qt.QueuedConnection)
        # the watchdog: a command unanswered for longer than the allowance means a training
        # process that stopped answering, which is ended (training carries on in this process),
        # and the window is told; while playing it pings the session itself
        self.watchdog = QTimer(self)
        self.watchdog.setInterval(500)
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
                self._start_thread(self._config, None, None, note)
                return
        self._start_thread(self._config, None, None, "")

    def _start_process(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        inbox = ctx.Queue()
        # events come through a one-way pipe whose writing end only the child holds: when the
        # child ends, even in the middle of a message, reading it ends too (a queue's reader
        # would wait for the rest of the message forever, its writing end held here as well)
        events, child_end = ctx.Pipe(duplex=False)
        process = ctx.Process(target=child_main, name="bpviz-training", daemon=True,
                              args=(self._config, dict(self.options, checkpoints=True), inbox,
                                    child_end, blas_threads()))
        try:
            process.start()
        finally:
            child_end.close()
        inbox.cancel_join_thread()       # never wait at exit on a child that stopped reading
        self._inbox, self.process, self.mode = inbox, process, "process"
        self._spawn(self._read_events, (events, process), "bpviz-training-events")

    def _start_thread(self, config, dataset, state, note: str, undo=None) -> None:
        self._inbox, self.process, self.mode = queue.Queue(), None, "thread"
        self._spawn(self._run_session, (config, dataset, state, note, undo, self._inbox),
                    "bpviz-training")

    def _spawn(self, target, args, name) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout_s: float | None = None, threads_s: float | None = None) -> None:
        """Stop training: a training process is told to and, if it has not ended within
        ``timeout_s`` (STOP_S), ended; the host's threads are waited for — without limit by default (a
        thread cannot be ended from outside, and one left running when the program exits can
        crash it), or ``threads_s`` seconds (then :meth:`alive` tells whether one is still
        finishing its pass, and a later ``stop()`` waits for it). Safe to call again."""
        timeout_s = STOP_S if timeout_s is None else timeout_s
        if not self._stopped:
            self._stopped = True
            self.watchdog.stop()
            self.send("shutdown")
            if self.process is not None:
                self.process.join(timeout_s)
                if self.process.is_alive():
                    self.process.kill()      # a stalled child cannot read the shutdown
                    self.process.join(timeout_s)
        for thread in self._threads:
            thread.join(threads_s)

    def alive(self) -> bool:
        """Whether any of the host's threads or its training process still runs."""
        return (any(t.is_alive() for t in self._threads)
                or (self.process is not None and self.process.is_alive()))

    # -- commands -------------------------------------------------------------------------------------

    def command(self, command: Command) -> None:
        """Send the session a typed command (see :mod:`bpviz.messages`); a failure to carry it
        out comes back as a :class:`~bpviz.messages.Failed` naming it."""
        self.send(*command.message(), request=command)

    def send(self, name: str, *args, request: Command | None = None) -> None:
        """Send the session the command ``(name, *args)`` (and a ping, whose answer tells that
        it was handled); ``request``: the typed command it carries, named by a failure."""
        if name in REPLAYED:
            self._replay[name] = args
        if self._inbox is None:
            return
        try:
            self._inbox.put((name, *args))
        except (OSError, ValueError):    # the queue of a process already ended
            return
        if name not in NOT_PINGED:
            self._ping((name, *args), request)

    def _ping(self, command: tuple | None, request: Command | None = None) -> None:
        ping_id = next(self._pings)
        with self._lock:
            self._unanswered.append((ping_id, time.monotonic(), command))
            if request is not None:
                self._requests[ping_id] = request
        try:
            self._inbox.put(("ping", ping_id))
        except (OSError, ValueError):
            pass

    def allowance(self) -> float:
        """Seconds a command may wait for its answer before training counts as stalled: at least
        STALL_S, STALL_PASSES times the longest work the session measured (a pass of a big
        network can take seconds) or the longest a recent answer took (a busy machine), and,
        while it saves or opens a session, IO_STALL_S."""
        with self._lock:
            io = any(c is not None and c[0] in ("save_session", "open_session")
                     for _, _, c in self._unanswered)
            slowest = max(self._work_s, max(self._latencies, default=0.0))
            return max(STALL_S, STALL_PASSES * slowest, IO_STALL_S if io else 0.0)

    def waiting_s(self) -> float:
        """Seconds the oldest unanswered command has waited (0 when none waits, and while a
        training process is still starting)."""
        with self._lock:
            if not self._unanswered or self._ready_at is None:
                return 0.0
            return time.monotonic() - max(self._unanswered[0][1], self._ready_at)

    def checkpoint_state(self) -> dict | None:
        """The training state the session sent last (what training would carry on from, were its
        process to stop now), or None."""
        return None if self._checkpoint is None else self._checkpoint[1]

    def undo_depth(self) -> int:
        """How many set-aside runs the host holds for a session that carries on elsewhere."""
        return len(self._set_aside)

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
        comes in ``timeout_s`` (or the allowance, if longer). A training process that stopped
        answering is noticed meanwhile, and the question goes to the thread that carries on."""
        query_id = next(self._query_ids)
        answer = self._answers[query_id] = [threading.Event(), None]
        self.send("query", query_id, name, *args)
        started = time.monotonic()
        try:
            while not answer[0].wait(0.05):
                if self._check_stall():
                    started = time.monotonic()      # asked again, of the thread
                elif time.monotonic() - started > max(timeout_s, self.allowance()):
                    raise BpvizError(f"training did not answer ({name}) within "
                                     f"{time.monotonic() - started:.0f} s")
        finally:
            self._answers.pop(query_id, None)
        if isinstance(answer[1], BaseException):
            raise answer[1]
        return answer[1]

    # -- events ---------------------------------------------------------------------------------------

    def _deliver(self, kind: str, payload) -> None:
        """From the thread that received it: answers wake their asker, and what the host keeps
        to carry on elsewhere is kept at once (the GUI thread may be waiting for an answer); the
        rest goes to the GUI thread."""
        if self._ready_at is None:
            self._ready_at = time.monotonic()
        if kind == "pong":
            ping_id, work_s = payload
            now = time.monotonic()
            with self._lock:
                self._latencies.extend(now - sent for i, sent, _ in self._unanswered
                                       if i == ping_id)
                self._unanswered = [u for u in self._unanswered if u[0] > ping_id]
                for answered in [i for i in self._requests if i <= ping_id]:
                    del self._requests[answered]
                self._work_s = float(work_s)
            return
        if kind == "checkpoint":
            self._checkpoint = payload
            return
        if kind == "set_aside":         # a run Undo can bring back (None: the newest went)
            if payload is None:
                if self._set_aside:
                    self._set_aside.pop()
            else:
                self._set_aside.append(payload)
                del self._set_aside[:-UNDO_DEPTH]
            return
        if kind == "rebuilt":
            self._checkpoint = None
            self._dataset = payload[1]
        if kind in ("failed", "save_failed"):
            # the session handles commands in order and answers each one's ping after it: the
            # oldest command not yet answered is the one that failed
            with self._lock:
                pending = [c for i, _, c in self._unanswered if c is not None]
                request = (self._requests.get(next(i for i, _, c in self._unanswered
                                                   if c is not None)) if pending else None)
            payload = (payload, request)
        if kind == "answer":
            query_id, value = payload
            answer = self._answers.get(query_id)
            if answer is not None:
                answer[1] = value
                answer[0].set()
                return
        self._event.emit((kind, payload))

    def _run_session(self, config, dataset, state, note, undo, inbox) -> None:
        try:
            session = TrainingSession(config, self._deliver, dataset=dataset, state=state,
                                      note=note, undo=undo, **self.options)
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
            self._playing = bool(payload.running)
            self.received += 1
            self.snapshotArrived.emit(payload)
        elif kind == "rebuilt":
            self._config = payload[0]
            self.rebuilt.emit(Rebuilt(*payload))
        elif kind == "configured":
            self._config = payload
            self.configured.emit(Configured(payload))
        elif kind == "answer":
            done = self._callbacks.pop(payload[0], None)
            if done is not None:
                done(payload[1])
        elif kind == "failed":
            why, request = payload
            self.failed.emit(Failed(why, request))
        elif kind == "save_failed":
            (path, why), request = payload
            if not isinstance(request, SaveSession) or request.path != path:
                request = SaveSession(path)
            self.failed.emit(Failed(why, request))
        elif kind == "saved":
            self.saved.emit(Saved(*payload))
        elif kind == "undo":
            self.undoChanged.emit(payload)
        elif kind == "redo":
            self.redoChanged.emit(payload)
        elif kind in ("died", "crashed") and not self._stopped:
            if self.mode == "process":
                self._carry_on(f"the training process stopped ({payload}); training goes on "
                               f"in the window's own process")
            else:
                self.failed.emit(Failed(f"training stopped: {payload}"))

    @Slot()
    def _check_stall(self) -> bool:
        """Ping while playing; when a command has waited longer than the allowance, say so and,
        with a training process, carry on without it. True when training moved to a thread."""
        if self._stopped:
            return False
        with self._lock:
            idle = not self._unanswered
        if idle and self._playing:
            self._ping(None)
        silent = self.waiting_s()
        if silent < self.allowance():
            return False
        if self.mode == "process":
            message = (f"training stopped answering for {silent:.0f} s: its process was ended "
                       f"and training goes on in this one")
            self._carry_on(message)
            self.stalled.emit(message)
            return True
        with self._lock:                # said once per allowance
            now = time.monotonic()
            self._unanswered = [(i, now, c) for i, _, c in self._unanswered]
        self.stalled.emit(f"training has not answered for {silent:.0f} s")
        return False

    def _carry_on(self, note: str) -> None:
        """End the training process and go on in a thread from the last state it sent, with the
        runs Undo can bring back; send the thread what the process left unanswered."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.join(STOP_S)
        self.use_processes = False
        config, state = self._checkpoint or (self._config, None)
        if state is not None:           # the last state it sent: up to a second before the end
            note += f", from pass {state['pass_count']:,}"
        playing = self._playing
        with self._lock:
            pending = [c for _, _, c in self._unanswered if c is not None]
            self._unanswered = []
            self._ready_at = None
        undo, self._set_aside = self._set_aside, []     # the thread holds them now
        self._start_thread(config, self._dataset, state, note, undo)
        for name, args in self._replay.items():
            self.send(name, *args)
        if playing:
            self.send("play")
        for command in pending:
            self.send(*command)
