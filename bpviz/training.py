"""The training session: the one owner of training. Plain Python — no Qt.

A :class:`TrainingSession` owns the trainer, its history, the checkpoints "rewind" goes back to, the
runs Undo brings back and the pinned sample. It takes commands as messages — ``("play",)``,
``("hyper", {"lr": 0.1})``, ``("parameters", [...])`` … (see :data:`COMMANDS`) — and publishes
events through the one callable it is given: ``emit(kind, payload)`` with kind ``"snapshot"`` (an
immutable :class:`~bpviz.engine.snapshot.Snapshot`), ``"failed"`` (bad input; nothing changed),
``"rebuilt"`` (a new network: ``(config, dataset, extra)``), ``"configured"`` (the configuration
in force after live settings changed), ``"saved"``, ``"save_failed"``
(``(path, why)``), ``"undo"`` and ``"redo"`` (what Undo or Redo would bring back, or None),
``"checkpoint"`` and ``"set_aside"`` (the training state, and each run set aside for Undo — None
when the newest went — for a host that must be able to carry on without this session),
``"answer"`` (to a ``("query", id, name)``) and ``"pong"`` (to a ``("ping", id)``: ``(id, work_s)``,
see :meth:`work_s`).

:func:`serve` is its loop: wait for a command (or until playing needs the next pass), handle it,
train. A host runs that loop either in a child process started with ``multiprocessing``'s *spawn*
context (:func:`child_main`; the one start method that works on Linux, macOS and Windows), or in a
thread of the window's process. The arithmetic is the same either way, and so are the passes, bit
for bit. Nothing but commands goes in and nothing but events comes out: no state is shared.
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing
import os
import queue
import time
from collections import OrderedDict, deque
from dataclasses import replace
from pathlib import Path

import numpy as np

from .engine.config import Config, build
from .engine.datasets import default_params
from .engine.errors import BpvizError
from .engine.inspect import answer_inspect
from .engine.memory import deep_sizeof
from .engine.optimizers import make_optimizer
from .engine.passlog import MAX_PASS_ROWS, PassLog
from .engine.phases import UPDATE, Phase, partial_trace, phase_plan
from .engine.snapshot import data_bounds, drawing_aids, make_snapshot
from .engine.trainer import state_nbytes
from .engine.trajectory import Trajectory
from .engine.vocabulary import STEP_MODES           # what Step does
from .messages import SPEEDS, Command  # noqa: F401  (the speeds, said once)

PREVIEW_SAMPLES = 2000      # a trace shown while paused is computed on at most this many samples,
PREVIEW = "preview"         # a trace computed at the weights, of no pass (see _trace_batch)
PREVIEW_BYTES = 16 * 1024 * 1024   # and at most as many as its z, a and δ fit in this (8x512: 170)
TRAJECTORY_EVERY_S = 0.25   # the recorded path is copied into a snapshot at most this often,
TRAJECTORY_BYTES_PER_S = 8 * 1024 * 1024    # and a large one less often: this many bytes a second
# Playing as fast as it goes, snapshots cost at most this share of the training process's time
# (making, copying and sending one: 0.5 ms for the classic network, 10 ms for 4x256, 0.3 s for
# 8x512), and so does the decision boundary grid (a forward pass of 3,600 points: 13 ms for
# 4x64); a big network publishes less often and its boundary is redrawn less often, instead of
# training at a fraction of its speed.
PUBLISH_SHARE = 0.05
AIDS_SHARE = 0.05
PUBLISH_GAP_S = 2.0         # but playing, a snapshot goes out at least this often (the heartbeat
                            # the window watches, and its passes per second)
CHECKPOINT_BYTES = 8 * 1024 * 1024   # training states kept for "rewind to here", at most
HISTORY_ROWS = 50_000       # per-epoch history rows kept (older ones thinned)
PHASED_AT = 1               # at this speed and below, with a phase pace chosen, every pass plays
                            # its phases, one snapshot each, each held for the pace
SHOWN_AT = 10               # at this speed and below every pass is shown in every panel: playing
                            # waits for the window's paint of each snapshot
# Seconds each phase of a pass is held while playing phase by phase: long enough to read the
# banner's first line, the phase's name (five to eight words: about a second at a reading pace),
# and with "slow" its formula too. A pass of the classic network has 7 phases: 8.4 s at "medium".
PHASE_PACES = {"slow": 2.4, "medium": 1.2, "fast": 0.6}
TRAIN_NOW_EVERY_S = 0.25    # at full speed the training loss at the current weights is measured
                            # at most this often (and never for more than a tenth of the time)
EVERY_PASS_AT = 60          # at this speed and below every pass is published as a snapshot
CATCH_UP_S = 0.5            # paced playing that falls this far behind starts counting afresh
UNDO_DEPTH = 8              # runs set aside by a re-initialisation that Undo can bring back,
UNDO_BYTES = 64 * 1024 * 1024   # at most this much of them (or the newest one when larger)
CHECKPOINT_EVERY_S = 1.0    # while playing, the training state goes to the host this often,
CHECKPOINT_SEND_BYTES_PER_S = 8 * 1024 * 1024   # a large one less often (8x512 with momentum:
                                                # 44 MB, every 5.5 s)
CHECKPOINT_SIZE_EVERY = 16  # rewind checkpoints measured for the memory cap every so many
PAINT_WAIT_S = 0.002        # slow playing waiting for the window's paint looks again this soon

@dataclasses.dataclass(frozen=True, eq=False)
class RunRecord:
    """The run as the session holds it, for exports: the history row for row, the loss of every
    kept pass (``passes``: (n, 2) position and loss; ``pass_offset`` passes were dropped before
    them) and the recorded weight trajectory."""

    history_header: tuple[str, ...]
    history: np.ndarray
    passes: np.ndarray
    pass_offset: int
    trajectory: np.ndarray
    trajectory_passes: np.ndarray

    def cost_snapshot(self, snap):
        """``snap`` carrying the history and every kept pass up to it: fed to an empty cost
        panel, it draws the curves as they were when ``snap`` arrived."""
        passes = self.passes[:max(0, snap.pass_count - self.pass_offset)]
        history = self.history
        return replace(snap, new_history=history[history[:, 0] < snap.history_length],
                       new_pass_positions=passes[:, 0], new_pass_losses=passes[:, 1])


COMMANDS = ("play", "pause", "step", "run_epochs", "step_mode", "speed", "pace", "reset",
            "rebuild", "undo", "redo", "undo_scope", "hyper", "parameters", "rewind",
            "open_session", "save_session", "pin", "painted", "query", "ping", "shutdown")


class TrainingSession:
    """Owns the trainer; takes commands (:meth:`handle`), trains (:meth:`tick`), and tells the
    world through ``emit(kind, payload)``.

    ``dataset`` and ``state`` (a ``Trainer.get_state``) carry on a run begun elsewhere, with
    ``note`` as the first snapshot's message. ``checkpoints=True`` makes it send its training
    state now and then (``"checkpoint"`` events) and the runs it sets aside for Undo
    (``"set_aside"``), for a host that runs it in a process which might die; ``undo`` gives a
    session that carries on those runs. ``paced_by_paint``: slow playing waits
    for ``("painted", seq)`` of the last snapshot before the next phase, so that a window slower
    than the pace slows training instead of queueing snapshots.
    """

    def __init__(self, config: Config, emit, *, chunk_ms: float = 8.0, max_fps: float = 30.0,
                 speed: float | None = None, pace: float | None = None,
                 paced_by_paint: bool = False,
                 checkpoints: bool = False, dataset=None, state: dict | None = None,
                 note: str = "", undo: list | None = None):
        self.emit = emit
        self.chunk_s = chunk_ms / 1000.0
        self.min_publish_s = 1.0 / max_fps
        self.send_checkpoints = checkpoints
        self.closed = False
        self.trainer = None
        self.config: Config | None = None
        self.running = False
        self.pinned: int | None = 0
        self.trajectory: Trajectory | None = None
        self.speed: float | None = speed     # passes per second while playing; None: max
        # seconds each phase is held while playing at PHASED_AT or slower (None: passes play
        # whole); a window that paces by paint holds each phase itself, then says it painted it
        self.pace: float | None = pace
        self.step_mode = "pass"              # what Step does: one of STEP_MODES
        self.painted_seq: int | None = 0 if paced_by_paint else None
        self._wake_at: float | None = None   # when playing next needs a tick (None: idle)
        self._seq = 0
        self._passes_sent = 0                # passes whose losses snapshots carried (a pass count)
        self._history_sent = 0
        self._last_publish = 0.0
        self._publish_cost = 0.0             # seconds one snapshot took to make and send, smoothed
        self._aids = None                    # the boundary grid and neuron maps sent last,
        self._aids_at = 0.0                  # when they were computed,
        self._aids_cost = 0.0                # and in how many seconds
        self._last_checkpoint = 0.0
        self._last_trace = None              # the trace the panels show, and the weights
        self._trace_params = None            # it was computed at
        self._trace_batch = PREVIEW          # the samples of the pass it is of (None: all), or
                                             # PREVIEW: computed at the weights, no pass
        self._bounds = None
        self._trajectory_sent = (-1, 0.0)    # (version, time) of the last trajectory sent
        self._stop_at_epoch: int | None = None
        self._plan: list[Phase] | None = None   # phases of the pass being walked (phase mode)
        self._phase: Phase | None = None        # the phase the last snapshot showed
        self._pass_trace = None                 # full trace of the pass being walked
        self._walk_from = None                  # (trace, its weights) shown before the walk
        self._weights_version = 0               # counts changes of the weights not made by a pass
        self._train_now = None                  # ((version, pass), loss, accuracy) last measured
        self._train_now_due = 0.0               # at full speed, when it may be measured again
        self._stepped = None                    # (weights key, (sample, loss before, after)) of
                                                # the last one-sample step
        self._checkpoints: OrderedDict = OrderedDict()   # snapshot seq → trainer state
        self._checkpoint_bytes = 0
        self._checkpoint_size: int | None = None   # bytes of one, as last measured
        self._checkpoint_count = 0
        self._pace_t0 = 0.0                  # paced playing: when counting started,
        self._pace_done = 0                  # and the passes (or phases) done since
        self._note = note                    # a message for the next snapshot
        self._quiet = state is not None      # carrying on: the window knows this network
        self._set_aside_sizes: dict[int, int] = {}   # id of a run set aside → its bytes
        self._undo: list[tuple] = list(undo or [])   # runs set aside: (what changed, config,
                                             # dataset, trainer, trajectory, last update, trace
                                             # shown, pass log)
        self._redo: list[tuple] = []         # runs Undo replaced, the same way
        self._scope = ""                     # whose runs Undo covers: "" the session's own
        self._own_stacks: tuple | None = None    # their Undo and Redo while another scope is in use
        self._foreign = None                 # the trainer of the scope left: never set aside
        self._work_times: deque = deque(maxlen=32)   # seconds of recent uninterrupted work
        self._row_cost = 0.0                 # seconds a sample's forward and backward pass took
        # (pass, position, loss) of every pass: the run record, and past _passes_sent the next
        # snapshot's new losses
        self._pass_log = PassLog(MAX_PASS_ROWS)
        if self._install(config, dataset):
            if state is not None:
                self._restore(state)
            self._publish(force=True)
        self._quiet = False

    # -- the loop's side ---------------------------------------------------------------------------

    def handle(self, command: tuple | Command) -> None:
        """Carry out one command: a message ``(name, *args)`` or a :class:`~bpviz.messages.Command`."""
        if isinstance(command, Command):
            command = command.message()
        name, *args = command
        if name not in COMMANDS:
            self.emit("failed", f"unknown training command {name!r}")
            return
        getattr(self, "cmd_" + name)(*args)

    def wait_s(self) -> float | None:
        """Seconds until playing needs the next :meth:`tick` (0: now), or None when idle."""
        if not self.running or self._wake_at is None:
            return None
        return max(0.0, self._wake_at - time.perf_counter())

    def tick(self) -> None:
        """Train what is due: a chunk of passes at full speed, or the passes (or phases) due at
        the chosen speed."""
        if not self.running:
            return
        if self._paced() is not None:
            self._tick_paced()
        else:
            self._tick_full()

    # -- commands ----------------------------------------------------------------------------------

    def cmd_play(self) -> None:
        if self.trainer is None or self.running:
            return
        self.running = True
        self._begin_playing()
        self._publish(force=True)

    def cmd_pause(self) -> None:
        """Pause; a pass being played phase by phase is left (nothing of it was applied), so
        that the panels show the last whole pass, as the learner chose to see it."""
        if not self.running:
            return
        self._pause_quietly()
        self._end_phases()
        self._publish(force=True)

    def cmd_run_epochs(self, epochs: int) -> None:
        """Train exactly ``epochs`` more epochs as fast as it goes, then pause."""
        if self.trainer is None or epochs <= 0:
            return
        self._stop_at_epoch = self.trainer.epoch + int(epochs)
        self.running = False
        self.cmd_play()

    def cmd_speed(self, speed) -> None:
        """Passes per second while playing (None: as fast as it goes); takes effect at once."""
        self.speed = None if speed is None else float(speed)
        if self.running:
            self._begin_playing()

    def cmd_pace(self, pace) -> None:
        """Seconds each phase is held while playing at ``PHASED_AT`` passes a second or slower
        (None: passes play whole); takes effect at once."""
        self.pace = None if pace is None else float(pace)
        if self.running:
            walking = self._phase is not None
            self._begin_playing()
            if walking and not self._phased():
                self._publish(force=True)       # the banner goes at once

    def cmd_step(self) -> None:
        """One step of the current granularity (one training sample, a pass over the next
        mini-batch, a phase of a pass, or the rest of the epoch), then a snapshot; pauses first."""
        if self.trainer is None:
            return
        self._pause_quietly()
        if self.step_mode == "phase":
            self._step_phase()
        elif self.step_mode == "sample":
            self._end_phases()
            result = self._run_pass(samples=1)
            if result.diverged:
                self._publish(force=True)
                return
            index = int(result.indices[0]) if result.indices is not None else 0
            self.pinned = index        # the snapshot carries that sample's values (its focus)
            self._publish(force=True, message=self._sample_message(index), stepped_sample=index)
        elif self.step_mode == "epoch":
            self._end_phases()
            self._stop_at_epoch = self.trainer.epoch + 1
            self.cmd_play()
        else:
            self._end_phases()
            self._run_pass()
            self._publish(force=True)

    def cmd_step_mode(self, mode: str) -> None:
        if mode not in STEP_MODES:
            return
        self.step_mode = mode
        if mode != "phase" and self._plan is not None:
            self._end_phases()
            if not self.running:
                self._publish(force=True)

    def cmd_reset(self) -> None:
        """Back to the initial weights of the same configuration (same seed → same weights)."""
        if self.config is None:
            return
        self._pause_quietly()
        kept = self._set_aside("reset")
        if self._install(self.config, self.trainer.dataset):
            self._publish(force=True, message="reset to the initial weights")
        else:
            self._drop_set_aside(kept)

    def cmd_rebuild(self, config: Config) -> None:
        """A new dataset or architecture: new weights. On bad input nothing changes."""
        self._pause_quietly()
        change = describe_change(self.config, config)
        kept = self._set_aside(change)
        if self._install(config):
            self._publish(force=True, message=f"new network ({change}): weights re-initialised")
        else:
            self._drop_set_aside(kept)
            self._publish(force=True)

    def cmd_undo(self) -> None:
        """Bring back the run the last re-initialisation set aside, exactly as it was: its
        configuration, dataset, weights, optimizer and random state, history and path. The run it
        replaces is kept for Redo."""
        if not self._undo:
            self.emit("failed", "nothing to undo: no training was set aside")
            return
        self._pause_quietly()
        entry = self._undo.pop()
        self._taken_back()
        self._redo.append(self._entry(entry[0]))
        self._offer()
        self._bring_back(entry)
        self._publish(force=True, message=f"undone ({entry[0]}): back to "
                                          f"{training_words(entry[3])}")

    def cmd_redo(self) -> None:
        """Bring back the run the last Undo replaced; the run in place goes back to Undo."""
        if not self._redo:
            self.emit("failed", "nothing to redo: Undo has not set a run aside")
            return
        self._pause_quietly()
        entry = self._redo.pop()
        self._undo.append(self._entry(entry[0]))
        self._send_set_aside(self._undo[-1])
        self._cap_set_aside()
        self._offer()
        self._bring_back(entry)
        self._publish(force=True, message=f"redone ({entry[0]}): back to "
                                          f"{training_words(entry[3])}")

    def cmd_undo_scope(self, name: str) -> None:
        """Undo and Redo cover the runs of scope ``name`` from now on: "" is the session's own
        runs (kept while another scope is in use), any other name (a lesson) starts with nothing
        to undo. The run in place belongs to the scope left: it is never set aside into this one.
        (A host that keeps the runs set aside is told the new scope's; Redo's it does not keep.)"""
        name = str(name)
        if name == self._scope:
            return
        for _ in self._undo:
            self._taken_back()
        if self._scope == "":
            self._own_stacks = (self._undo, self._redo)
        if name == "":
            self._undo, self._redo = self._own_stacks or ([], [])
            self._own_stacks = None
        else:
            self._undo, self._redo = [], []
        for entry in self._undo:
            self._send_set_aside(entry)
        self._scope = name
        self._foreign = self.trainer
        self._offer()

    def cmd_hyper(self, values: dict) -> None:
        """Learning rate, momentum, batch size, L2, optimizer: from the next pass, no reset."""
        t = self.trainer
        if t is None:
            return
        for key in ("lr", "momentum", "batch_size", "l2"):
            if key in values:
                setattr(t, key, type(getattr(t, key))(values[key]))
                setattr(self.config, key, getattr(t, key))
        name = values.get("optimizer")
        if name is not None and name != t.optimizer.name:
            # a new optimizer starts with fresh state (no velocity, no moments); training states
            # kept for rewinding hold the old one's, so they go
            t.optimizer = make_optimizer(name, [p.shape for p in t.network.parameters()])
            self.config.optimizer = name
            self._checkpoints.clear()
            self._checkpoint_bytes = 0
            self._checkpoint_size = None
        self.emit("configured", replace(self.config))
        if not self.running:
            self._publish(force=True)

    def cmd_parameters(self, changes: list) -> None:
        """Set weights/biases: a list of (kind 'W'|'b', layer, i, j, value), paused or running."""
        t = self.trainer
        if t is None:
            return
        net = t.network
        for kind, layer, i, j, value in changes:
            if not np.isfinite(value):
                continue
            if kind == "W":
                net.weights[layer][i, j] = value
            else:
                net.biases[layer][j] = value
        self.trajectory.record(net, t.pass_count, force=True)
        self._weights_version += 1
        self._end_phases()
        if not self.running:
            self._preview_trace()
            self._publish(force=True, message="weights set by hand")

    def cmd_rewind(self, seq: int) -> None:
        """Go back to the training state of snapshot ``seq`` and continue from there later:
        weights, optimizer state, shuffle generator and counters as they were, history cut."""
        cp = self._checkpoints.get(seq)
        if cp is None:
            self.emit("failed", "that moment is no longer in the history; rewind to a later one")
            return
        self._pause_quietly()
        self._end_phases()
        t = self.trainer
        t.set_state(cp)
        self.trajectory.truncate(cp["pass_count"])
        while self._checkpoints and next(reversed(self._checkpoints)) > seq:
            _, dropped = self._checkpoints.popitem()
            self._checkpoint_bytes -= dropped["nbytes"]
        self._history_sent = t.history.end_epoch
        self._passes_sent = t.pass_count
        self._pass_log.drop_after(t.pass_count)
        self._preview_trace()
        t.last_update = cp["last_update"]
        self._publish(force=True, message=f"rewound to pass {t.pass_count} (epoch {t.epoch})",
                      rewound_to=t.position)

    def cmd_open_session(self, path) -> None:
        """Continue a saved session; a file that cannot be used changes nothing."""
        from .engine.session import load_session
        try:
            session = load_session(path)
        except BpvizError as e:
            self.emit("failed", str(e))
            return
        self._pause_quietly()
        self._set_aside(f"opening {Path(str(path)).name}")
        update = session.trainer.last_update
        self._adopt(session.config, session.dataset, session.trainer, session.trajectory,
                    dict(session.extra or {}, path=str(path),
                         pass_count=session.trainer.pass_count))
        self._show_saved(session.shown, update)
        self._publish(force=True, message=f"opened {path}")

    def _shown_state(self) -> dict:
        """What the panels show beyond the training state, for a session file: the pass the
        trace is of (the weights it ran at and its samples; None when the trace is a preview at
        the weights) and the pass log."""
        trace_params = self._walk_from[1] if self._plan is not None else self._trace_params
        trace = None
        if self._trace_batch is not PREVIEW and trace_params is not None:
            batch = self._trace_batch
            trace = {"weights": list(trace_params[0]), "biases": list(trace_params[1]),
                     "batch": None if batch is None else np.asarray(batch, dtype=np.int64)}
        return {"trace": trace, "pass_log": self._pass_log.table()}

    def _show_saved(self, shown: dict | None, update) -> None:
        """Show what a session's panels showed: the trace of its last pass (made again at the
        weights and on the samples it ran on, as the pass made it), its update, the pass log."""
        if not shown:
            return
        t = self.trainer
        if shown.get("pass_log") is not None:
            self._pass_log.extend(shown["pass_log"])
            self._passes_sent = -1            # every pass of the log goes to the cost curve
        trace = shown.get("trace")
        if trace is None:
            return
        net = t.network
        now = list(net.weights), list(net.biases)
        net.weights[:], net.biases[:] = list(trace["weights"]), list(trace["biases"])
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                self._last_trace = net.backprop_t(*t.batch_t(trace["batch"]))
        finally:
            net.weights[:], net.biases[:] = now
        self._trace_params = (list(trace["weights"]), list(trace["biases"]))
        self._trace_batch = trace["batch"]
        t.last_update = update

    def cmd_save_session(self, request) -> None:
        """Save ``(path, extra)``; reports ``saved`` or ``failed``."""
        from .engine.session import save_session
        path, extra = request
        try:
            save_session(path, self.trainer, self.config, trajectory=self.trajectory, extra=extra,
                         shown=self._shown_state())
        except (OSError, TypeError, ValueError) as e:
            self.emit("save_failed",
                      (str(path), f"cannot save {path}: {getattr(e, 'strerror', None) or e}"))
            return
        self.emit("saved", (str(path), self.trainer.pass_count))

    def cmd_pin(self, index) -> None:
        self.pinned = None if index is None else int(index)
        if not self.running:
            self._publish(force=True)

    def cmd_painted(self, seq: int) -> None:
        """The window has painted snapshot ``seq`` (slow playing waits for this); for a phase,
        it has shown it for the pace, and the next phase is due now."""
        self.painted_seq = int(seq)
        if self.running and self._phased():
            self._wake_at = time.perf_counter()

    def cmd_query(self, query_id: int, name: str, *args) -> None:
        """Answer a question about the run with ``("answer", (query_id, value))``: ``"history"``
        (column names, rows), ``"record"`` (a RunRecord), ``"inspect"`` (an InspectAnswer for an
        InspectRequest), ``"state"`` (configuration, training state), ``"config"`` (the configuration
        in force). A question that cannot be
        answered gets a BpvizError as the value."""
        t = self.trainer
        if name == "history":       # (column names, one row per recorded epoch)
            value = (t.history.header(t.network.n_layers), t.history.table())
        elif name == "record":
            value = self.run_record()
        elif name == "inspect":     # the inspector's report: (InspectRequest,)
            try:
                value = answer_inspect(args[0], t.X, t.T)
            except (ValueError, IndexError) as e:
                value = BpvizError(str(e))
        elif name == "state":
            value = (replace(self.config), t.get_state(history=True))
        elif name == "config":      # the configuration in force, live settings included
            value = replace(self.config)
        else:
            value = BpvizError(f"unknown query {name!r}")
        self.emit("answer", (query_id, value))

    def run_record(self) -> RunRecord:
        t = self.trainer
        log = self._pass_log.table()
        first = int(log[0, 0]) if len(log) else t.pass_count + 1
        return RunRecord(tuple(t.history.header(t.network.n_layers)), t.history.table(),
                         log[:, 1:], first - 1, self.trajectory.points.copy(),
                         self.trajectory.passes.copy())

    def cmd_ping(self, ping_id: int) -> None:
        """Answer that every command before this one was handled, and how long work takes."""
        self.emit("pong", (ping_id, self.work_s()))

    def work_s(self) -> float:
        """The longest the session works without looking at its commands, in seconds: the
        longest recent command or chunk of training, and at least one pass of the current network
        and batch as the preview's forward and backward pass measured it per sample (twice that:
        a pass that ends an epoch also computes the epoch's losses), and at least a pass over the
        whole training set (the first pass and the last of every epoch measure the loss on all of
        it: with mini-batches of 32 on 21,368 samples of 8×512, hundreds of batches' worth)."""
        t = self.trainer
        rows = 0 if t is None else len(t.X) if t.batch_size <= 0 else min(t.batch_size, len(t.X))
        every = 0 if t is None else len(t.X)
        return max(2.0 * self._row_cost * rows, self._row_cost * every,
                   max(self._work_times, default=0.0))

    def worked(self, seconds: float) -> None:
        """:func:`serve` tells how long a command or a chunk of training took."""
        self._work_times.append(seconds)

    def cmd_shutdown(self) -> None:
        self._pause_quietly()
        self.closed = True

    # -- set-up --------------------------------------------------------------------------------------

    def _install(self, config: Config, dataset=None) -> bool:
        try:
            ds, _net, trainer = build(config, dataset)
        except BpvizError as e:
            self.emit("failed", str(e))
            return False
        self._adopt(config, ds, trainer, None, None)
        return True

    def _restore(self, state: dict) -> None:
        """Carry on from a checkpoint of this configuration (the history before it stays with
        whoever showed it)."""
        state = dict(state, history_length=self.trainer.history.end_epoch)
        self.trainer.set_state(state)
        self.trajectory = Trajectory(self.trainer.network)
        self.trajectory.record(self.trainer.network, self.trainer.pass_count)
        self._history_sent = self.trainer.history.end_epoch
        self._preview_trace()

    def _adopt(self, config, ds, trainer, trajectory, extra) -> None:
        """Make ``trainer`` the one trained from now on (a new network, a reset or a session)."""
        self._end_phases()
        trainer.history.max_rows = HISTORY_ROWS
        self.config, self.trainer = config, trainer
        if trajectory is None:
            trajectory = Trajectory(trainer.network)
            trajectory.record(trainer.network, trainer.pass_count)
        self.trajectory = trajectory
        self._bounds = data_bounds(ds.X_all) if ds.n_features <= 2 else None
        self._aids = None
        self._history_sent = 0
        self._checkpoints.clear()
        self._checkpoint_bytes = 0
        self._checkpoint_size = None
        self._passes_sent = trainer.pass_count
        self._pass_log = PassLog(MAX_PASS_ROWS)
        started = time.perf_counter()
        rows = self._preview_trace()
        self._row_cost = (time.perf_counter() - started) / max(1, rows)
        if self.pinned is not None and self.pinned >= len(trainer.X):
            self.pinned = 0
        if not self._quiet:
            self.emit("rebuilt", (replace(config), ds, extra))

    # -- Undo ------------------------------------------------------------------------------------------

    def _set_aside(self, what: str) -> bool:
        """Keep the run a re-initialisation is about to replace, so that Undo can bring it back
        exactly as it was, down to the trace on screen; False when there was nothing to lose (or
        the run belongs to another Undo scope). What Redo held goes: a new change was made."""
        t = self.trainer
        if t is not None and t is self._foreign:
            self._foreign = None
            return False
        self._redo.clear()
        if t is None or t.pass_count == 0:
            self._offer()
            return False
        self._undo.append(self._entry(what))
        del self._undo[:-UNDO_DEPTH]
        self._cap_set_aside()
        self._send_set_aside(self._undo[-1])
        self._offer()
        return True

    def _cap_set_aside(self) -> None:
        """Drop the oldest runs set aside while they hold more than UNDO_BYTES (the newest stays).
        A run's size is measured once, when it is set aside."""
        sizes = {id(r): self._set_aside_sizes.get(id(r)) or set_aside_nbytes(r)
                 for r in self._undo}
        while len(self._undo) > 1 and sum(sizes[id(r)] for r in self._undo) > UNDO_BYTES:
            del self._undo[0]
        self._set_aside_sizes = {id(r): sizes[id(r)] for r in self._undo}

    def undo_size(self) -> tuple[int, int]:
        """(runs set aside, bytes they hold, measured afresh)."""
        return len(self._undo), sum(set_aside_nbytes(r) for r in self._undo)

    def checkpoints_size(self) -> tuple[int, int]:
        """(training states kept for rewinding, bytes they hold, measured afresh)."""
        states = list(self._checkpoints.values())
        return len(states), sum(state_nbytes(cp) for cp in states)

    def _drop_set_aside(self, kept: bool) -> None:
        if kept:
            self._undo.pop()
            self._taken_back()
            self._offer()

    def _entry(self, what: str) -> tuple:
        """The run in place, as Undo and Redo keep it."""
        t = self.trainer
        return (what, self.config, t.dataset, t, self.trajectory, t.last_update,
                (self._last_trace, self._trace_params, self._trace_batch), self._pass_log)

    def _bring_back(self, entry: tuple) -> None:
        _what, config, ds, trainer, trajectory, last_update, shown, log = entry
        self._adopt(config, ds, trainer, trajectory, None)
        self._pass_log = log
        trainer.last_update = last_update
        if shown[0] is not None:     # (a run carried over from a process shows a fresh trace)
            self._last_trace, self._trace_params, self._trace_batch = shown

    def _offer(self) -> None:
        self.emit("undo", self.undo_offer())
        self.emit("redo", self.redo_offer())

    def redo_offer(self) -> tuple[str, str] | None:
        """What Redo would redo and bring back, as :meth:`undo_offer`, or None."""
        if not self._redo:
            return None
        what, _, _, trainer, *_ = self._redo[-1]
        return what.split(";")[0], training_words(trainer)

    def _send_set_aside(self, entry: tuple) -> None:
        """Tell a host that keeps them the run just set aside, without the trace it showed."""
        if self.send_checkpoints:       # (the trace can be large)
            what, config, ds, t, trajectory, last_update, _shown, log = entry
            light = copy.copy(t)
            light.last_trace = None
            self.emit("set_aside", (what, replace(config), ds, light, trajectory, last_update,
                                    (None, None, PREVIEW), log))

    def _taken_back(self) -> None:
        if self.send_checkpoints:
            self.emit("set_aside", None)

    def undo_offer(self) -> tuple[str, str] | None:
        """What Undo would undo and bring back: ("reset", "5 epochs of training"), or None."""
        if not self._undo:
            return None
        what, _, _, trainer, *_ = self._undo[-1]
        return what.split(";")[0], training_words(trainer)

    # -- training --------------------------------------------------------------------------------------

    def _begin_playing(self) -> None:
        """Start (or restart, at a new speed) playing: as fast as it goes, or paced, walking each
        pass phase by phase when slow enough."""
        if not self._phased():
            self._end_phases()
        self._pace_t0 = time.perf_counter()
        self._pace_done = 0
        self._wake_at = self._pace_t0

    def _paced(self) -> float | None:
        """Passes per second while playing, or None at full speed (and for Step by one epoch
        and run_epochs, which finish as fast as they can)."""
        return self.speed if self._stop_at_epoch is None else None

    def _phased(self) -> bool:
        """Whether playing walks every pass phase by phase: a phase pace is chosen and the
        speed is ``PHASED_AT`` or slower. A pass then takes as long as its phases, each held
        for the pace: the pace, not the speed, sets how fast it goes."""
        speed = self._paced()
        return speed is not None and speed <= PHASED_AT and self.pace is not None

    def speed_units(self) -> int:
        """What paced playing counts: the phases of a pass when phased, else passes (1)."""
        if not self._phased():
            return 1
        return len(phase_plan(self.trainer.network, 1))

    def units_per_second(self) -> float | None:
        """Phases (when phased) or passes per second while playing; None at full speed."""
        if self._phased():
            return 1.0 / self.pace
        return self._paced()

    def _pause_quietly(self) -> None:
        self.running = False
        self._stop_at_epoch = None
        self._wake_at = None

    def _tick_full(self) -> None:
        deadline = time.perf_counter() + self.chunk_s
        while self.running and time.perf_counter() < deadline:
            result = self._run_pass()
            if result.diverged:
                self._publish(force=True)
                return
            if self._stop_at_epoch is not None and self.trainer.epoch >= self._stop_at_epoch:
                self._pause_quietly()
                if self.trainer.check_weights() is not None:    # the last pass overshot
                    self._preview_trace()
                self._publish(force=True)
                return
        self._wake_at = time.perf_counter()
        self._publish()

    def _tick_paced(self) -> None:
        """Playing at a chosen speed: run the passes (or, slow enough, the phases of a pass) that
        are due by now, publish, and sleep until the next one is due."""
        speed = self._paced()
        units = self.speed_units()
        rate = self.units_per_second()
        now = time.perf_counter()
        painted = self.painted_seq
        if units > 1 and painted is not None:
            # a window holds each phase for the pace and says when it is done: the next phase
            # is due then (cmd_painted wakes the loop), not by this clock
            self._wake_at = None
            if painted >= self._seq:
                self._step_phase()
                self._pace_done += 1
            return
        if speed <= SHOWN_AT and painted is not None and painted < self._seq:
            # the window has not shown the last snapshot yet: look again shortly, and start
            # counting afresh from here so that no burst follows
            self._pace_t0 = now - self._pace_done / rate
            self._wake_at = now + PAINT_WAIT_S
            return
        due = int((now - self._pace_t0) * rate) - self._pace_done
        if due > max(1, CATCH_UP_S * rate):     # fell behind (a slow frame): no burst to catch up
            self._pace_t0 = now - self._pace_done / rate
            due = 1
        if due > 0:
            if units > 1:
                self._step_phase()
                self._pace_done += 1
            else:
                deadline = now + self.chunk_s
                done = 0
                while done < due and (done == 0 or time.perf_counter() < deadline):
                    result = self._run_pass()
                    done += 1
                    if result.diverged:
                        self._publish(force=True)
                        return
                self._pace_done += done
                self._publish(force=speed <= EVERY_PASS_AT)
        if self.running:
            self._wake_at = self._pace_t0 + (self._pace_done + 1) / rate

    def _step_phase(self) -> None:
        """Advance one phase of the current pass; the update phase runs the real pass."""
        t = self.trainer
        if self._plan is None:
            self._walk_from = (self._last_trace, self._trace_params)
            idx = t.peek_batch()
            X, T = (t.X, t.T) if idx is None else (t.X[idx], t.T[idx])
            self._pass_trace = t.network.backprop(X, T)
            self._trace_params = (list(t.network.weights), list(t.network.biases))
            self._plan = phase_plan(t.network, len(X))
            k = 0
        else:
            k = self._phase.index + 1
        phase = self._plan[k]
        if phase.kind == UPDATE:
            self._plan = None
            # the same batch and weights: the same numbers, now applied
            if self._run_pass().diverged:
                self._phase = None
                self._publish(force=True)
                return
        else:
            self._last_trace = partial_trace(self._pass_trace, phase)
        self._phase = phase
        self._publish(force=True)

    def _sample_message(self, index: int) -> str:
        ds = self.trainer.dataset
        label = ""
        if ds.is_classification:
            label = f" (class {ds.class_names[int(ds.y_train[index])]})"
        return f"one sample: trained on training sample {index}{label}"

    def _end_phases(self) -> None:
        """Leave a pass walked phase by phase; nothing of it was applied, and the panels show
        again what they showed before it (the last whole pass)."""
        if self._plan is not None and self._walk_from is not None:
            self._last_trace, self._trace_params = self._walk_from
        self._plan = None
        self._phase = None
        self._pass_trace = None
        self._walk_from = None

    def _run_pass(self, samples: int | None = None):
        t = self.trainer
        before_w, before_b = list(t.network.weights), list(t.network.biases)
        position = t.position
        result = t.step(samples)
        if result.diverged:
            self._pause_quietly()
            self._end_phases()
            self._preview_trace()     # what the panels show: the weights kept, not the pass
            return result
        self._last_trace = result.trace
        self._trace_params = (before_w, before_b)    # arrays are replaced, never mutated
        self._trace_batch = result.indices
        if samples == 1:        # that sample's loss at the weights before the step and after it
            index = int(result.indices[0]) if result.indices is not None else 0
            after, _ = t.evaluate(t.X[index:index + 1], t.T[index:index + 1], None)
            self._stepped = ((self._weights_version, t.pass_count),
                             (index, float(result.trace.loss), after))
        self._phase = None
        self._pass_log.append(t.pass_count, position, result.trace.loss)
        self.trajectory.record(t.network, t.pass_count)
        return result

    def _preview_trace(self) -> int:
        """A trace at the current weights (no update) so a paused window shows real deltas;
        returns the samples it was computed on."""
        t = self.trainer
        self._weights_version += 1      # they may have changed without a pass (taken back)
        per_sample = 3 * 8 * sum(t.network.sizes)          # z, a and δ of every layer
        n = min(len(t.X), PREVIEW_SAMPLES, max(1, PREVIEW_BYTES // per_sample))
        self._last_trace = t.network.backprop(t.X[:n], t.T[:n]) if n else None
        self._trace_params = (list(t.network.weights), list(t.network.biases))
        self._trace_batch = PREVIEW
        t.last_update = None
        return n

    def _keep_checkpoint(self, seq: int) -> None:
        cp = self.trainer.get_state(history=False)
        # a state's size changes only with its structure (network, optimizer, batch order), so
        # it is measured afresh every CHECKPOINT_SIZE_EVERY states: measuring every one cost
        # about a tenth of a millisecond, at 30 snapshots a second 0.3% of training
        self._checkpoint_count += 1
        # a big network's state is measured every time (its snapshots are few, and a state
        # measured before the first update lacks the previous weights and optimizer moments)
        if (self._checkpoint_size is None or self._checkpoint_size > CHECKPOINT_BYTES // 64
                or self._checkpoint_count % CHECKPOINT_SIZE_EVERY == 0):
            self._checkpoint_size = state_nbytes(cp)
        cp["nbytes"] = self._checkpoint_size
        self._checkpoints[seq] = cp
        self._checkpoint_bytes += cp["nbytes"]
        while self._checkpoint_bytes > CHECKPOINT_BYTES and len(self._checkpoints) > 1:
            _, old = self._checkpoints.popitem(last=False)
            self._checkpoint_bytes -= old["nbytes"]
        now = time.perf_counter()
        if self.send_checkpoints and (not self.running
                                      or now - self._last_checkpoint
                                      >= max(CHECKPOINT_EVERY_S,
                                             cp["nbytes"] / CHECKPOINT_SEND_BYTES_PER_S)):
            self._last_checkpoint = now
            self.emit("checkpoint", (replace(self.config), cp))

    def _train_now_values(self) -> tuple[float, float, int]:
        """(loss, accuracy, pass) of the whole training set at the current weights, measured
        afresh when the weights changed. While playing it is measured for at most a tenth of
        the time, and at full speed at most every TRAIN_NOW_EVERY_S: the values may then belong
        to an earlier pass, which the third value names."""
        t = self.trainer
        key = (self._weights_version, t.pass_count)
        kept = self._train_now
        if kept is not None and kept[0] == key:
            return kept[1], kept[2], key[1]
        now = time.perf_counter()
        if kept is not None and self.running and now < self._train_now_due:
            return kept[1], kept[2], kept[0][1]
        with np.errstate(all="ignore"):
            loss, acc = t.evaluate(t.X, t.T, t.labels)
        took = time.perf_counter() - now
        self._train_now = (key, loss, acc)
        self._train_now_due = now + max(10 * took,
                                        TRAIN_NOW_EVERY_S if self._paced() is None else 0.0)
        return loss, acc, key[1]

    def _stepped_losses(self) -> tuple[int, float, float] | None:
        """(sample, its loss before, after) when the weights are those a one-sample step left."""
        if self._stepped is None:
            return None
        key, losses = self._stepped
        return losses if key == (self._weights_version, self.trainer.pass_count) else None

    def _publish(self, force: bool = False, message: str = "",
                 rewound_to: float | None = None, stepped_sample: int | None = None) -> None:
        now = time.perf_counter()
        wait = min(PUBLISH_GAP_S, max(self.min_publish_s, self._publish_cost / PUBLISH_SHARE))
        if not force and now - self._last_publish < wait:
            return
        if self._note and not message:
            message, self._note = self._note, ""
        t = self.trainer
        self._seq += 1
        tw, tb = self._trace_params or (None, None)
        version, sent_at = self._trajectory_sent
        every = max(TRAJECTORY_EVERY_S, self.trajectory.used_nbytes / TRAJECTORY_BYTES_PER_S)
        send_path = self.trajectory.version != version and (force or now - sent_at > every)
        if send_path:
            self._trajectory_sent = (self.trajectory.version, now)
        new = self._pass_log.since(self._passes_sent)
        aids_cost = 0.0
        if force or self._aids is None or now - self._aids_at >= self._aids_cost / AIDS_SHARE:
            self._aids = drawing_aids(t.network, self._bounds)
            self._aids_at = time.perf_counter()
            aids_cost = self._aids_at - now
            self._aids_cost = aids_cost
        snap = make_snapshot(
            t, seq=self._seq, running=self.running, trace=self._last_trace, trace_weights=tw,
            trace_biases=tb, new_pass_losses=new[:, 2], new_pass_positions=new[:, 1],
            history_from=self._history_sent, aids=self._aids,
            bounds=self._bounds, pinned=self.pinned, message=message, phase=self._phase,
            trajectory=self.trajectory if send_path else None, rewound_to=rewound_to,
            stepped_sample=stepped_sample, stepped_losses=self._stepped_losses(),
            train_now=self._train_now_values())
        self._keep_checkpoint(snap.seq)
        self._passes_sent = t.pass_count
        self._history_sent = t.history.end_epoch
        self.emit("snapshot", snap)
        self._last_publish = time.perf_counter()
        cost = self._last_publish - now - aids_cost
        self._publish_cost = (cost if not self._publish_cost
                              else 0.7 * self._publish_cost + 0.3 * cost)


def serve(session: TrainingSession, receive) -> None:
    """The session's loop: ``receive(timeout)`` gives the next command, or None when ``timeout``
    seconds (None: no limit) pass without one. Commands are handled as they arrive, before the
    next chunk of training; the loop ends on ``("shutdown",)``, or when ``receive`` raises
    EOFError (the host is gone)."""
    while not session.closed:
        try:
            command = receive(session.wait_s())
        except EOFError:
            return
        started = time.perf_counter()
        if command is not None:
            session.handle(command)
        elif session.running:
            session.tick()
        else:
            continue
        session.worked(time.perf_counter() - started)


def queue_receiver(inbox):
    """``receive`` for :func:`serve` over a ``queue.Queue`` or a multiprocessing queue."""
    def receive(timeout):
        try:
            if timeout is not None and timeout <= 0:
                return inbox.get_nowait()
            return inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        except (OSError, ValueError) as e:      # the queue was closed under us
            raise EOFError(str(e)) from None
    return receive


PARENT_CHECK_S = 1.0        # a training process looks this often whether its window still runs


def child_main(config: Config, options: dict, inbox, events, blas_threads: int | None) -> None:
    """A child process's life: one session, serving commands from ``inbox`` (a queue) and
    sending events down ``events`` (the writing end of a pipe) until told to shut down. ``blas_threads`` is the window's BLAS thread count,
    so that the child sums in the same order and gives the same passes bit for bit."""
    # It runs at the window's own priority: five nice steps below, it trained 0.90 as fast as
    # headless in the bench against 0.94 at the same, with frames alike (p95 17.0 / 17.1 ms,
    # max 28 / 30 ms).
    limits = None
    if blas_threads:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(blas_threads, user_api="blas")

    def emit(kind, payload):
        events.send((kind, payload))

    receive_command = queue_receiver(inbox)
    parent = multiprocessing.parent_process()

    def receive(timeout):
        # look at least once a second whether the window's process is still there: one that
        # was killed cannot say goodbye, and this process must not outlive it
        command = receive_command(PARENT_CHECK_S if timeout is None
                                  else min(timeout, PARENT_CHECK_S))
        if command is None and parent is not None and not parent.is_alive():
            raise EOFError("the window's process has gone")
        return command

    try:
        session = TrainingSession(config, emit, **options)
        emit("ready", os.getpid())
        serve(session, receive)
        emit("closed", None)
    except (ConnectionError, EOFError):    # the window's process has gone
        pass
    except Exception as e:          # reported to the window, which carries on in its own process
        try:
            emit("crashed", f"{type(e).__name__}: {e}")
        except OSError:
            pass
    finally:
        events.close()
        del limits


def set_aside_nbytes(run: tuple) -> int:
    """Bytes a run set aside for Undo holds: its training state, history included, the last
    pass's trace, the trace on screen, its path and its pass log."""
    trainer, trajectory, shown, log = run[3], run[4], run[6], run[7]
    return (state_nbytes(trainer.get_state(history=True)) + deep_sizeof(trainer.last_trace)
            + deep_sizeof(shown) + trajectory.nbytes + log.nbytes)


def training_words(trainer) -> str:
    """'73 epochs of training' / '12 passes of training', for messages about a run."""
    if trainer.epoch > 0:
        return f"{trainer.epoch:,} epoch{'s' if trainer.epoch != 1 else ''} of training"
    n = trainer.pass_count
    return f"{n:,} pass{'es' if n != 1 else ''} of training"


CHANGE_NAMES = {"dataset": "dataset", "data_file": "data file", "label": "label column",
                "standardize": "standardising", "n_samples": "samples", "noise": "noise",
                "test_fraction": "test split", "hidden": "hidden layers",
                "activation": "activation", "output": "output", "init": "initialisation",
                "seed": "seed"}      # what re-initialises; the optimizer changes live


def describe_change(before: Config | None, after: Config) -> str:
    """The settings that differ, in words: 'hidden layers 3 → 3,3; seed 1 → 2'."""
    if before is None:
        return "new configuration"

    def show(v):
        if isinstance(v, (tuple, list)):
            return ",".join(str(x) for x in v) or "none"
        return "default" if v is None else str(v)

    def value(cfg, key):
        v = getattr(cfg, key)
        if v is None and key in ("n_samples", "noise", "test_fraction") and cfg.dataset != "csv":
            try:        # a generator's default, so that "default → 1500" is no change
                v = default_params(cfg.dataset).get(key)
            except BpvizError:
                pass
        return v

    parts = [f"{name} {show(value(before, key))} → {show(value(after, key))}"
             for key, name in CHANGE_NAMES.items() if value(before, key) != value(after, key)]
    return "; ".join(parts) or "the same settings"
