"""The training worker: the only code that knows about threads.

A :class:`TrainingWorker` lives on its own QThread and owns the trainer. It trains in chunks driven by
a zero-interval QTimer on its own thread (a few milliseconds of passes per tick), so commands from the
window — play, pause, step, reset, a new learning rate, a new weight value, a new dataset or
architecture — arrive as queued signals and take effect before the next chunk. It publishes immutable
snapshots at most ``max_fps`` times a second, each carrying the loss of every pass since the previous
one.

While it plays, the passes themselves run in a pass runner process (:mod:`bpviz.engine.passrunner`),
so that painting, which holds the interpreter lock of this process, does not slow them: the worker
keeps a few chunks of passes asked ahead and takes each chunk's training state back into its own
trainer, which stays the one every command and snapshot works on. Any command that changes the
trainer drops the chunks in flight and sends the trainer again with the next request. Step, phases
and everything paused run here. If the child cannot start or fails, training goes on here.

:class:`WorkerHost` lives on the GUI thread: it starts and joins the thread, forwards commands as
signals, and relays snapshots through a GUI-thread signal, keeping only the newest one (latest value
wins) for the window's paint timer.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from .engine.config import Config, build
from .engine.datasets import default_params
from .engine.errors import BpvizError
from .engine.optimizers import make_optimizer
from .engine.passrunner import CHUNK_S, PassRunner, PassRunnerError
from .engine.phases import UPDATE, Phase, partial_trace, phase_plan
from .engine.snapshot import Snapshot, data_bounds, make_snapshot
from .engine.trainer import state_nbytes
from .engine.trajectory import Trajectory

PREVIEW_SAMPLES = 2000      # a trace shown while paused is computed on at most this many samples
TRAJECTORY_EVERY_S = 0.25   # the recorded path is copied into a snapshot at most this often
CHECKPOINT_BYTES = 8 * 1024 * 1024   # training states kept for "rewind to here", at most
STEP_MODES = ("sample", "pass", "phase", "epoch")   # what Step does
HISTORY_ROWS = 50_000       # per-epoch history rows kept in the window (older ones thinned)
RUNNER_WAIT_S = 0.004       # one wait for a chunk from the pass runner, between looks at commands
RUNNER_AHEAD = 3            # chunks asked of the pass runner ahead of the one being applied
# Playing speeds a person can choose, in passes per second (None: as fast as the machine goes).
SPEEDS = (1, 2, 5, 10, 30, 100, 300, 1000, None)
PHASED_AT = 10              # at this speed and below every pass plays its phases, one snapshot each
EVERY_PASS_AT = 60          # at this speed and below every pass is published as a snapshot
CATCH_UP_S = 0.5            # paced playing that falls this far behind starts counting afresh
STALL_S = 5.0               # training that publishes nothing this long while playing has stalled
UNDO_DEPTH = 8              # runs set aside by a re-initialisation that Undo can bring back


def processes_enabled() -> bool:
    """Whether playing trains in a child process (see engine.passrunner); BPVIZ_PROCESSES=0 keeps
    every pass on the worker thread."""
    return os.environ.get("BPVIZ_PROCESSES", "1").strip().lower() not in ("0", "no", "false", "off")


class TrainingWorker(QObject):
    """Owns the trainer; lives on the worker thread. Talk to it only through signals."""

    snapshotReady = Signal(object)     # Snapshot
    failed = Signal(str)               # bad input: the previous state is untouched
    rebuilt = Signal(object)           # (Config, Dataset, extra or None) after a new network
    saved = Signal(object)             # (path, pass count) after a session was saved
    undoChanged = Signal(object)       # (what was reset, the training Undo brings back), or None

    def __init__(self, config: Config, chunk_ms: float = 8.0, max_fps: float = 30.0,
                 processes: bool | None = None, speed: float | None = None):
        super().__init__()
        self.use_processes = processes_enabled() if processes is None else processes
        self.runner: PassRunner | None = None    # the child process that plays, once started
        self._runner_sync = True                 # its copy of the trainer is out of date
        self._trace_source = None                # (indices, weights, biases) of a trace to compute
        self.chunks_from_runner = 0              # chunk results applied (for tests and the bench)
        self._initial_config = config
        self.chunk_s = chunk_ms / 1000.0
        self.min_publish_s = 1.0 / max_fps
        self.timer: QTimer | None = None
        self.trainer = None
        self.config: Config | None = None
        self.running = False
        self.pinned: int | None = 0
        self.trajectory: Trajectory | None = None
        self._seq = 0
        self._pending_losses: list[float] = []
        self._pending_positions: list[float] = []
        self._history_sent = 0
        self._last_publish = 0.0
        self._last_trace = None
        self._trace_params = None
        self._bounds = None
        self._trajectory_sent = (-1, 0.0)   # (version, time) of the last trajectory sent
        self._stop_at_epoch: int | None = None
        self.step_mode = "pass"              # what Step does: one of STEP_MODES
        self._plan: list[Phase] | None = None   # phases of the pass being walked (phase mode)
        self._phase: Phase | None = None        # the phase the last snapshot showed
        self._pass_trace = None                 # full trace of the pass being walked
        self._checkpoints: OrderedDict = OrderedDict()   # snapshot seq → trainer state, no history
        self._checkpoint_bytes = 0
        self.speed: float | None = speed     # passes per second while playing; None: max
        self._pace_t0 = 0.0                  # paced playing: when counting started,
        self._pace_done = 0                  # and the passes (or phases) done since
        # Slow enough to show every snapshot, playing waits until the window has painted the
        # last one (the window writes the seq it painted; an int attribute is written and read
        # whole across threads): a window slower than the pace slows training instead of
        # queueing snapshots. None: nobody paints, do not wait.
        self.painted_seq: int | None = None
        self._note = ""                      # a message for the next snapshot
        self._undo: list[tuple] = []         # runs set aside: (what changed, config, dataset,
                                             # trainer, trajectory, last update, the trace
                                             # shown and its weights)

    # -- lifecycle (runs on the worker thread) --------------------------------------------------

    @Slot()
    def setup(self) -> None:
        self.timer = QTimer(self)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._tick)
        if self._install(self._initial_config):
            self._publish(force=True)

    @Slot()
    def shutdown(self) -> None:
        self.running = False
        if self.timer is not None:
            self.timer.stop()
        self._close_runner()
        self.thread().quit()

    def _install(self, config: Config, dataset=None) -> bool:
        try:
            ds, net, trainer = build(config, dataset)
        except BpvizError as e:
            self.failed.emit(str(e))
            return False
        self._adopt(config, ds, trainer, None, None)
        return True

    def _adopt(self, config, ds, trainer, trajectory, extra) -> None:
        """Make ``trainer`` the one trained from now on (a new network, a reset or a session)."""
        self._halt_runner()
        self._end_phases()
        trainer.history.max_rows = HISTORY_ROWS
        self.config, self.trainer = config, trainer
        if trajectory is None:
            trajectory = Trajectory(trainer.network)
            trajectory.record(trainer.network, trainer.pass_count)
        self.trajectory = trajectory
        self._bounds = data_bounds(ds.X_all) if ds.n_features <= 2 else None
        self._history_sent = 0
        self._checkpoints.clear()
        self._checkpoint_bytes = 0
        self._pending_losses.clear()
        self._pending_positions.clear()
        self._preview_trace()
        if self.pinned is not None and self.pinned >= len(trainer.X):
            self.pinned = 0
        self.rebuilt.emit((replace(config), ds, extra))

    # -- commands (slots, queued from the GUI thread) -------------------------------------------

    @Slot()
    def play(self) -> None:
        if self.trainer is None or self.running:
            return
        self.running = True
        self._begin_playing()
        self._publish(force=True)

    def _begin_playing(self) -> None:
        """Start (or restart, at a new speed) the timer that plays: full speed in the pass
        runner, or paced here, walking each pass phase by phase when slow enough."""
        self._halt_runner()
        if not self._phased():
            self._end_phases()
        if self._paced() is None:
            self._start_runner()
        self._pace_t0 = time.perf_counter()
        self._pace_done = 0
        self.timer.start(0)

    def _paced(self) -> float | None:
        """Passes per second while playing, or None at full speed (and for Step by one epoch
        and run_epochs, which finish as fast as they can)."""
        return self.speed if self._stop_at_epoch is None else None

    def _phased(self) -> bool:
        """Whether playing walks every pass phase by phase (slow enough to see it)."""
        speed = self._paced()
        return speed is not None and speed <= PHASED_AT

    @Slot(object)
    def set_speed(self, speed) -> None:
        """Passes per second while playing (None: as fast as it goes); takes effect at once."""
        self.speed = None if speed is None else float(speed)
        if self.running:
            self._begin_playing()

    @Slot(int)
    def run_epochs(self, epochs: int) -> None:
        """Train exactly ``epochs`` more epochs in chunks, then pause."""
        if self.trainer is None or epochs <= 0:
            return
        self._stop_at_epoch = self.trainer.epoch + epochs
        self.running = False
        self.play()

    @Slot()
    def pause(self) -> None:
        if not self.running:
            return
        self.pause_quietly()
        self._publish(force=True)

    @Slot()
    def step(self) -> None:
        """One step of the current granularity (one training sample, a pass over the next
        mini-batch, a phase of a pass, or the rest of the epoch), then a snapshot; pauses first if
        running."""
        if self.trainer is None:
            return
        self.pause_quietly()
        if self.step_mode == "phase":
            self._step_phase()
        elif self.step_mode == "sample":
            self._end_phases()
            result = self._run_pass(samples=1)
            if result.diverged:
                self._publish(force=True)
                return
            index = int(result.indices[0]) if result.indices is not None else 0
            self._publish(force=True, message=self._sample_message(index), stepped_sample=index)
        elif self.step_mode == "epoch":
            self._end_phases()
            self._stop_at_epoch = self.trainer.epoch + 1
            self.play()
        else:
            self._end_phases()
            self._run_pass()
            self._publish(force=True)

    @Slot(str)
    def set_step_mode(self, mode: str) -> None:
        if mode not in STEP_MODES:
            return
        self.step_mode = mode
        if mode != "phase" and self._plan is not None:
            self._end_phases()
            if not self.running:
                self._preview_trace()
                self._publish(force=True)

    def _step_phase(self) -> None:
        """Advance one phase of the current pass; the update phase runs the real pass."""
        t = self.trainer
        self._trace_source = None
        if self._plan is None:
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
        """Leave a pass walked phase by phase; nothing of it was applied."""
        self._plan = None
        self._phase = None
        self._pass_trace = None

    @Slot()
    def reset(self) -> None:
        """Back to the initial weights of the same configuration (same seed → same weights), paused."""
        if self.config is None:
            return
        self.pause_quietly()
        kept = self._set_aside("reset")
        if self._install(self.config, self.trainer.dataset):
            self._publish(force=True, message="reset to the initial weights")
        else:
            self._drop_set_aside(kept)

    @Slot(object)
    def rebuild(self, config: Config) -> None:
        """A new dataset or architecture: new weights. On bad input nothing changes."""
        self.pause_quietly()
        change = describe_change(self.config, config)
        kept = self._set_aside(change)
        if self._install(config):
            self._publish(force=True, message=f"new network ({change}): weights re-initialised")
        else:
            self._drop_set_aside(kept)
            self._publish(force=True)

    def _set_aside(self, what: str) -> bool:
        """Keep the run a re-initialisation is about to replace, so that Undo can bring it back
        exactly as it was, down to the trace on screen; False when there was nothing to lose."""
        t = self.trainer
        if t is None or t.pass_count == 0:
            return False
        self._halt_runner()
        shown = (self._trace_now(), self._trace_params)
        self._undo.append((what, self.config, t.dataset, t, self.trajectory, t.last_update,
                           shown))
        del self._undo[:-UNDO_DEPTH]
        self.undoChanged.emit(self.undo_offer())
        return True

    def _drop_set_aside(self, kept: bool) -> None:
        if kept:
            self._undo.pop()
            self.undoChanged.emit(self.undo_offer())

    def undo_offer(self) -> tuple[str, str] | None:
        """What Undo would undo and bring back: ("reset", "5 epochs of training"), or None."""
        if not self._undo:
            return None
        what, _, _, trainer, *_ = self._undo[-1]
        return what.split(";")[0], training_words(trainer)

    @Slot()
    def undo(self) -> None:
        """Bring back the run the last re-initialisation set aside, exactly as it was: its
        configuration, dataset, weights, optimizer and random state, history and path."""
        if not self._undo:
            self.failed.emit("nothing to undo: no training was set aside")
            return
        self.pause_quietly()
        what, config, ds, trainer, trajectory, last_update, shown = self._undo.pop()
        self.undoChanged.emit(self.undo_offer())
        self._adopt(config, ds, trainer, trajectory, None)
        trainer.last_update = last_update
        self._last_trace, self._trace_params = shown
        self._publish(force=True, message=f"undone ({what}): back to {training_words(trainer)}")

    @Slot(object)
    def set_hyper(self, values: dict) -> None:
        """Learning rate, momentum, batch size, L2: applied from the next pass, no reset."""
        t = self.trainer
        if t is None:
            return
        self._halt_runner()
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
        if not self.running:
            self._publish(force=True)

    @Slot(object)
    def set_parameters(self, changes: list) -> None:
        """Set weights/biases: a list of (kind 'W'|'b', layer, i, j, value), paused or running."""
        t = self.trainer
        if t is None:
            return
        self._halt_runner()
        net = t.network
        for kind, layer, i, j, value in changes:
            if not np.isfinite(value):
                continue
            if kind == "W":
                net.weights[layer][i, j] = value
            else:
                net.biases[layer][j] = value
        self.trajectory.record(net, t.pass_count, force=True)
        self._end_phases()
        if not self.running:
            self._preview_trace()
            self._publish(force=True, message="weights set by hand")

    @Slot(int)
    def rewind(self, seq: int) -> None:
        """Go back to the training state of snapshot ``seq`` and continue from there later:
        weights, optimizer state, shuffle generator and counters as they were, history cut."""
        cp = self._checkpoints.get(seq)
        if cp is None:
            self.failed.emit("that moment is no longer in the history; rewind to a later one")
            return
        self.pause_quietly()
        self._end_phases()
        t = self.trainer
        t.set_state(cp)
        self.trajectory.truncate(cp["pass_count"])
        while self._checkpoints and next(reversed(self._checkpoints)) > seq:
            _, dropped = self._checkpoints.popitem()
            self._checkpoint_bytes -= dropped["nbytes"]
        self._history_sent = t.history.end_epoch
        self._pending_losses, self._pending_positions = [], []
        self._preview_trace()
        t.last_update = cp["last_update"]
        position = t.position
        self._publish(force=True, message=f"rewound to pass {t.pass_count} (epoch {t.epoch})",
                      rewound_to=position)

    @Slot(object)
    def open_session(self, path) -> None:
        """Continue a saved session; a file that cannot be used changes nothing."""
        from .engine.session import load_session
        try:
            session = load_session(path)
        except BpvizError as e:
            self.failed.emit(str(e))
            return
        self.pause_quietly()
        self._set_aside(f"opening {Path(str(path)).name}")
        self._adopt(session.config, session.dataset, session.trainer, session.trajectory,
                    dict(session.extra or {}, path=str(path),
                         pass_count=session.trainer.pass_count))
        self._publish(force=True, message=f"opened {path}")

    @Slot(object)
    def save_session(self, request) -> None:
        """Save (path, extra) on this thread, which owns the trainer; reports saved or failed."""
        from .engine.session import save_session
        path, extra = request
        try:
            save_session(path, self.trainer, self.config, trajectory=self.trajectory, extra=extra)
        except (OSError, TypeError, ValueError) as e:
            self.failed.emit(f"cannot save {path}: {getattr(e, 'strerror', None) or e}")
            return
        self.saved.emit((str(path), self.trainer.pass_count))

    @Slot(object)
    def set_pinned(self, index) -> None:
        self.pinned = None if index is None else int(index)
        if not self.running:
            self._publish(force=True)

    def pause_quietly(self) -> None:
        self._halt_runner()
        self.running = False
        self._stop_at_epoch = None
        if self.timer is not None:
            self.timer.stop()

    # -- training ------------------------------------------------------------------------------

    def _run_pass(self, samples: int | None = None):
        t = self.trainer
        before_w, before_b = list(t.network.weights), list(t.network.biases)
        position = t.position
        result = t.step(samples)
        if result.diverged:
            self.pause_quietly()
            self._end_phases()
            self._preview_trace()     # what the panels show: the weights kept, not the pass
            return result
        self._last_trace = result.trace
        self._trace_params = (before_w, before_b)    # arrays are replaced, never mutated
        self._trace_source = None
        self._phase = None
        self._pending_losses.append(result.trace.loss)
        self._pending_positions.append(position)
        self.trajectory.record(t.network, t.pass_count)
        return result

    @Slot()
    def _tick(self) -> None:
        if not self.running:
            return
        if self._paced() is not None:
            self._tick_paced()
            return
        if self._runner_ready():
            self._tick_runner()
            return
        deadline = time.perf_counter() + self.chunk_s
        while self.running and time.perf_counter() < deadline:
            result = self._run_pass()
            if result.diverged:
                self._publish(force=True)
                return
            if self._stop_at_epoch is not None and self.trainer.epoch >= self._stop_at_epoch:
                self.pause_quietly()
                self._publish(force=True)
                return
        self._publish()

    def _tick_paced(self) -> None:
        """Playing at a chosen speed: run the passes (or, slow enough, the phases of a pass) that
        are due by now, publish, and sleep until the next one is due."""
        speed = self._paced()
        units = self.speed_units()
        rate = speed * units
        now = time.perf_counter()
        painted = self.painted_seq
        if speed <= PHASED_AT and painted is not None and painted < self._seq:
            # the window has not shown the last snapshot yet: look again shortly, and start
            # counting afresh from here so that no burst follows
            self._pace_t0 = now - self._pace_done / rate
            self.timer.start(2)
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
        if not self.running:
            return
        wait = self._pace_t0 + (self._pace_done + 1) / rate - time.perf_counter()
        self.timer.start(max(0, int(wait * 1000)))

    def speed_units(self) -> int:
        """What paced playing counts: the phases of a pass when phased, else passes (1)."""
        if not self._phased():
            return 1
        return len(phase_plan(self.trainer.network, 1))

    # -- training in the pass runner process -----------------------------------------------------

    def _start_runner(self) -> None:
        if self.use_processes and self.runner is None:
            try:
                self.runner = PassRunner()
            except (OSError, ValueError):
                self.use_processes = False      # cannot start processes here: train in this one

    def _runner_ready(self) -> bool:
        if self.runner is None:
            return False
        try:
            return self.runner.ready()
        except PassRunnerError as e:
            self._give_up_runner(str(e))
            return False

    def _give_up_runner(self, why: str = "") -> None:
        """The child failed: train on this thread from now on (the trainer here is intact), and
        say so with the next snapshot."""
        self._close_runner()
        self.use_processes = False
        self._note = ("the training process stopped" + (f" ({why})" if why else "")
                      + "; training goes on in the window's own process")

    def _close_runner(self) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        self._runner_sync = True

    def _halt_runner(self) -> None:
        """Something is about to change the trainer here: chunks in flight no longer apply."""
        if self.runner is not None:
            self.runner.discard()
        self._runner_sync = True

    def _request_chunk(self) -> None:
        self.runner.request(self.trainer if self._runner_sync else None, CHUNK_S,
                            self._stop_at_epoch, self.trajectory.stride)
        self._runner_sync = False

    def _tick_runner(self) -> None:
        """Take the next chunk the child ran, ask for another first (the child works on those
        asked ahead while this applies the result), then publish."""
        try:
            # asked ahead, and (after commands discarded some) not too many in flight at all
            while (self.runner.wanted < RUNNER_AHEAD
                   and len(self.runner.in_flight) < 2 * RUNNER_AHEAD):
                self._request_chunk()
            result = self.runner.receive(RUNNER_WAIT_S)
            if result is None:
                return
            stop = self._stop_at_epoch
            if (not result.diverged and (stop is None or result.state["epoch"] < stop)
                    and len(self.runner.in_flight) < 2 * RUNNER_AHEAD):
                self._request_chunk()
        except PassRunnerError as e:
            self._give_up_runner(str(e))
            return
        self._apply_chunk(result)
        if result.diverged:
            self.pause_quietly()
            self._publish(force=True)
        elif self._stop_at_epoch is not None and self.trainer.epoch >= self._stop_at_epoch:
            self.pause_quietly()
            self._publish(force=True)
        else:
            self._publish()

    def _apply_chunk(self, result) -> None:
        t = self.trainer
        self.chunks_from_runner += 1
        t.history.extend(result.rows)
        state = result.state
        state["history_length"] = t.history.end_epoch
        t.set_state(state)
        if result.last_parameters is not None:
            params = result.last_parameters
            self._trace_source = (result.last_indices, params[0::2], params[1::2])
            self._phase = None
        self._pending_losses.extend(result.losses.tolist())
        self._pending_positions.extend(result.positions.tolist())
        for pass_index, point in zip(result.trajectory_passes.tolist(), result.trajectory_points):
            self.trajectory.record_flat(point, pass_index)

    def _trace_now(self):
        """The trace of the last pass, computed here from the child's report when first needed
        (the same batch at the same weights: the same numbers the child computed)."""
        if self._trace_source is not None:
            idx, weights, biases = self._trace_source
            t = self.trainer
            with np.errstate(over="ignore", invalid="ignore"):
                self._last_trace = t.network.at(weights, biases).backprop_t(*t.batch_t(idx))
            self._trace_params = (weights, biases)
            self._trace_source = None
        return self._last_trace

    def _preview_trace(self) -> None:
        """A trace at the current weights (no update) so a paused window shows real deltas."""
        t = self.trainer
        self._trace_source = None
        n = min(len(t.X), PREVIEW_SAMPLES)
        self._last_trace = t.network.backprop(t.X[:n], t.T[:n]) if n else None
        self._trace_params = (list(t.network.weights), list(t.network.biases))
        t.last_update = None

    def _keep_checkpoint(self, seq: int) -> None:
        cp = self.trainer.get_state(history=False)
        cp["nbytes"] = state_nbytes(cp)
        self._checkpoints[seq] = cp
        self._checkpoint_bytes += cp["nbytes"]
        while self._checkpoint_bytes > CHECKPOINT_BYTES and len(self._checkpoints) > 1:
            _, old = self._checkpoints.popitem(last=False)
            self._checkpoint_bytes -= old["nbytes"]

    def _publish(self, force: bool = False, message: str = "",
                 rewound_to: float | None = None, stepped_sample: int | None = None) -> None:
        now = time.perf_counter()
        if not force and now - self._last_publish < self.min_publish_s:
            return
        if self._note and not message:
            message, self._note = self._note, ""
        t = self.trainer
        self._seq += 1
        trace = self._trace_now()
        tw, tb = self._trace_params or (None, None)
        version, sent_at = self._trajectory_sent
        send_path = self.trajectory.version != version and (force or now - sent_at > TRAJECTORY_EVERY_S)
        if send_path:
            self._trajectory_sent = (self.trajectory.version, now)
        snap = make_snapshot(
            t, seq=self._seq, running=self.running, trace=trace, trace_weights=tw,
            trace_biases=tb, new_pass_losses=self._pending_losses,
            new_pass_positions=self._pending_positions, history_from=self._history_sent,
            bounds=self._bounds, pinned=self.pinned, message=message, phase=self._phase,
            trajectory=self.trajectory if send_path else None, rewound_to=rewound_to,
            stepped_sample=stepped_sample)
        self._keep_checkpoint(snap.seq)
        self._pending_losses = []
        self._pending_positions = []
        self._history_sent = t.history.end_epoch
        self._last_publish = now
        self.snapshotReady.emit(snap)


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


class WorkerHost(QObject):
    """GUI-thread side: owns the thread, sends commands, keeps the newest snapshot."""

    # commands, queued to the worker
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
    shutdownRequested = Signal()
    speedRequested = Signal(object)
    undoRequested = Signal()
    # relays, emitted on the GUI thread
    snapshotArrived = Signal(object)
    failed = Signal(str)
    rebuilt = Signal(object)
    saved = Signal(object)
    undoChanged = Signal(object)
    stalled = Signal(str)              # playing, and nothing arrived for STALL_S seconds

    def __init__(self, config: Config, parent=None, **worker_kw):
        super().__init__(parent)
        self.latest: Snapshot | None = None
        self.received = 0
        self._arrived_at = time.perf_counter()
        # the heartbeat: while playing, snapshots arrive many times a second; when none has for
        # STALL_S, a training process that stopped answering is ended (the worker then trains
        # on its own thread and says so) and the window is told
        self.watchdog = QTimer(self)
        self.watchdog.setInterval(1000)
        self.watchdog.timeout.connect(self._check_stall)
        self.thread = QThread()
        self.thread.setObjectName("bpviz-training")
        self.worker = TrainingWorker(config, **worker_kw)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.setup)
        self.thread.finished.connect(self.worker.deleteLater)
        for sig, slot in ((self.playRequested, self.worker.play),
                          (self.pauseRequested, self.worker.pause),
                          (self.runEpochsRequested, self.worker.run_epochs),
                          (self.stepModeRequested, self.worker.set_step_mode),
                          (self.rewindRequested, self.worker.rewind),
                          (self.openSessionRequested, self.worker.open_session),
                          (self.saveSessionRequested, self.worker.save_session),
                          (self.stepRequested, self.worker.step),
                          (self.resetRequested, self.worker.reset),
                          (self.rebuildRequested, self.worker.rebuild),
                          (self.hyperRequested, self.worker.set_hyper),
                          (self.parametersRequested, self.worker.set_parameters),
                          (self.pinRequested, self.worker.set_pinned),
                          (self.speedRequested, self.worker.set_speed),
                          (self.undoRequested, self.worker.undo),
                          (self.shutdownRequested, self.worker.shutdown)):
            sig.connect(slot)
        self.worker.snapshotReady.connect(self._on_snapshot)
        self.worker.failed.connect(self._on_failed)
        self.worker.rebuilt.connect(self._on_rebuilt)
        self.worker.saved.connect(self._on_saved)
        self.worker.undoChanged.connect(self._on_undo_changed)
        self._stopped = False

    def start(self) -> None:
        self.thread.start()
        self.watchdog.start()

    @Slot()
    def _check_stall(self) -> None:
        snap = self.latest
        if self._stopped or snap is None or not snap.running:
            return
        silent = time.perf_counter() - self._arrived_at
        if silent < STALL_S:
            return
        runner = self.worker.runner          # read whole from the worker (None or the runner)
        if runner is not None:
            runner.kill()
            self.stalled.emit(f"training stopped answering for {silent:.0f} s: its process "
                              f"was ended and training goes on in this one")
        else:
            self.stalled.emit(f"training has not answered for {silent:.0f} s")
        self._arrived_at = time.perf_counter()

    @Slot(object)
    def _on_snapshot(self, snap: Snapshot) -> None:
        self.latest = snap
        self._arrived_at = time.perf_counter()
        self.received += 1
        self.snapshotArrived.emit(snap)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    @Slot(object)
    def _on_rebuilt(self, payload) -> None:
        self.rebuilt.emit(payload)

    @Slot(object)
    def _on_saved(self, payload) -> None:
        self.saved.emit(payload)

    @Slot(object)
    def _on_undo_changed(self, offer) -> None:
        self.undoChanged.emit(offer)

    def stop(self, timeout_ms: int = 3000) -> None:
        """Stop training, quit the thread and wait for it, within a few seconds whatever the
        training process does; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.watchdog.stop()
        if self.thread.isRunning():
            self.shutdownRequested.emit()
            if not self.thread.wait(timeout_ms):
                runner = self.worker.runner        # a stalled child can block the worker's
                if runner is not None:             # writes: ending it unblocks them
                    runner.kill()
                self.thread.quit()
                if not self.thread.wait(timeout_ms):
                    self.thread.terminate()        # last resort: never hang the quit
                    self.thread.wait(timeout_ms)
