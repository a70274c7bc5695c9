"""``bpviz bench``: measure training speed, frame times and memory on this machine.

Everything is measured in this run, several repetitions each, and reported as medians (or
percentiles over frames):

- **engine**: passes per second of ``Trainer.step`` on reference workloads, against a minimal
  plain-numpy loop on the same data and initial weights (forward, backward, update, written the way
  the classic hand-written example is: no trace, no history, no divergence checks, the loss not
  computed every pass). Engine and plain repetitions are interleaved, so machine noise hits both.
- **window**: the classic example trained in the real :class:`MainWindow` (offscreen; playing, its
  passes run in the training process) against the same configuration trained headless in this
  process right before and after every window segment; ``gui_to_headless_ratio`` is the median of
  the segments' own ratios (the speed of a shared machine drifts between segments). While the
  window trains, every paint-timer tick is timed, and so is the painting Qt does after it: the
  window's ``UpdateRequest`` (the backing-store sync that runs every dirty widget's
  ``paintEvent``), i.e. what the app itself does each frame, with no extra forced repaint. A frame's *work* is its
  ``show_snapshot`` calls plus every paint until the next frame; *snapshot to paint* runs from the
  moment the training session made the snapshot (in the training process: ``Snapshot.made_at``)
  to the end of the last of those paints. The same frames are then replayed with training paused,
  to tell the cost of a frame from the cost of sharing the machine with training.
- **network paint**: a 2-64-64-64-2 :class:`NetworkView` with all 8,448 edges drawn:
  ``show_snapshot`` plus a synchronous ``viewport().repaint()`` per frame (``network_paint_ms_*``),
  on snapshots of the network in training ``NETWORK_PASSES_PER_FRAME`` passes apart, about what
  the app trains between two frames; and ``show_snapshot`` plus the paint Qt then does on its
  own, as in the app (``network_paint_app_ms_*``: only the region the scene marked dirty is
  repainted, which can cost more than a full repaint). The app draws these edges as an image it
  renders with numpy from a plan of which edges cover which pixel (built on a thread,
  ``network_raster_plan_ms``); the same frames drawn with one ``QPainter.drawLines`` per colour
  bin are ``network_paint_drawlines_*``. Between such frames only a few edges change colour bin,
  and the raster recomputes only the pixels they cover (``network_raster_recomputed_share_*``:
  the share of the image's pixels a frame recomputed).
- **surface**: ``compute_slice`` for the panel's preview (25×25, 256 samples) and full slice
  (51×51, 1,000 samples) on a 2-64-64-64-2 network, through two first-layer weights and along
  two random directions, with the panel's chunk size; the slower of the two is reported. The
  headline figures share the grid between the panel's two pool threads, as a paused panel does;
  ``surface_*_one_thread_ms`` is one thread, as while training.
- **big networks** (``big_networks``): the networks 4×64, 4×256 and 8×512 (tanh, mini-batches of
  32; 8×512 on the largest dataset the window accepts for it), each in the real window
  (offscreen, a fresh process, the real host and its training process) at the Speed box's max,
  in three segments (two with ``--quick``) of ``--case-seconds`` (3 s; 1 with ``--quick``), each
  followed, the window paused, by as long headless in a fresh process — a ``Trainer.step``
  loop, as ``bpviz train`` trains. Reported: passes/s both ways (the window's from the pass
  counts and times of the snapshot at a segment's start and of the one its pause made), the
  median of the segments' ratios, the peak RSS of each (``VmHWM``; the window's is its own
  process plus its training process), the CPU each process used, with the targets: window /
  headless passes ≥ 0.8, and window RSS ≤ 2 × headless + 300 MB (``window_rss_to_allowance``
  ≤ 1).
- **memory**: RSS at start and end; with ``--soak MINUTES`` the window trains at full speed that
  long after the other measurements and RSS is sampled every minute; ``rss_growth_mb`` is the growth
  over the soak (bounded caches filling up included), ``rss_growth_after_first_minute_mb`` the
  growth after its first minute.

``--json`` prints exactly one JSON object on stdout (progress goes to stderr); without it a table
with each target and pass/fail. The exit status is 0 whether or not targets are met.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from ..engine.ranges import readable
from ..ui.window.paint_scheduler import PAINT      # Qt-free, as this module's top must be

perf = time.perf_counter

CLASSIC = "classic"
WORKLOADS = (CLASSIC, "2-8-8-2/500", "2-64-64-64-2/1000", "2-64-64-64-2/10000")


@dataclass(frozen=True)
class Plan:
    """How long each measurement runs."""

    engine_reps: int
    engine_seconds: float          # per engine or plain repetition of one workload
    surface_reps: int
    network_frames: int
    window_reps: int               # window segments, each compared with the headless passes ...
    headless_seconds: float        # ... measured this long between one segment and the next
    gui_seconds: float             # a segment's measured length


# The window is measured in many short segments: this machine class's speed drifts in steps of a
# second or so (a loop with nothing else running alternates between two speeds, one twice the
# other), so a segment is compared with the headless passes right around it, and the median of
# many such ratios is what a drift cannot move far.
QUICK = Plan(engine_reps=3, engine_seconds=0.15, surface_reps=1, network_frames=30,
             window_reps=3, headless_seconds=1.0, gui_seconds=1.5)
FULL = Plan(engine_reps=7, engine_seconds=0.4, surface_reps=5, network_frames=60,
            window_reps=10, headless_seconds=1.0, gui_seconds=1.5)

# name → (JSON path, comparison, limit, unit): the targets the README's performance table states
TARGETS = {
    "engine classic vs plain numpy": (("engine_vs_plain_numpy", CLASSIC), ">=", 1.0, "×"),
    "gui / headless passes": (("gui_to_headless_ratio",), ">=", 0.95, "×"),
    "frame interval p95": (("frame_interval_ms_p95",), "<=", 17.0, "ms"),
    "frame interval max": (("frame_interval_ms_max",), "<=", 50.0, "ms"),
    "snapshot to paint p95": (("snapshot_to_paint_ms_p95",), "<=", 33.0, "ms"),
    "network paint p95": (("network_paint_ms_p95",), "<=", 13.0, "ms"),
    "network paint p95, Qt's own repaint": (("network_paint_app_ms_p95",), "<=", 13.0, "ms"),
    "surface preview": (("surface_preview_ms",), "<=", 100.0, "ms"),
    "surface full": (("surface_full_ms",), "<=", 1200.0, "ms"),
    "soak RSS growth": (("rss_growth_mb",), "<", 50.0, "MB"),
}
BIG_CASES = {"4x64": (64,) * 4, "4x256": (256,) * 4, "8x512": (512,) * 8}
LARGEST = "8x512"            # trained on the largest dataset the window accepts for it
BIG_BATCH = 32
BIG_REPS = 3                 # window segments, each followed by a headless one
BIG_RATIO = 0.8              # window / headless passes per second, at least
BIG_RSS_FACTOR, BIG_RSS_EXTRA_MB = 2.0, 300.0     # window RSS ≤ 2 × headless + 300 MB
for _case in BIG_CASES:
    TARGETS[f"{_case} window / headless passes"] = (
        ("big_networks", _case, "window_to_headless_ratio"), ">=", BIG_RATIO, "×")
    TARGETS[f"{_case} window RSS / (2 × headless + 300 MB)"] = (
        ("big_networks", _case, "window_rss_to_allowance"), "<=", 1.0, "×")


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def rss_mb(pid="self") -> float:
    """Resident set size of a process (this one by default) in MiB (VmRSS of /proc/PID/status);
    0 for a process that is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        if pid != "self":
            return 0.0
    import resource      # not Linux: the peak instead
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_rss_mb(pid="self") -> float:
    """Peak resident set size of a process in MiB: ``VmHWM`` of /proc/PID/status, else (not
    Linux) psutil's current RSS where psutil is installed, else this process's peak from
    ``resource``; 0 for a process that is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import psutil
        return psutil.Process(None if pid == "self" else int(pid)).memory_info().rss / 1024.0 ** 2
    except ImportError:
        pass
    except Exception:            # psutil.NoSuchProcess and the like: gone
        return 0.0
    if pid != "self":
        return 0.0
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 ** 2 if sys.platform == "darwin" else peak / 1024.0


def _runner_rss_mb(window) -> float:
    """RSS of the window's training process (0 if it trains in a thread)."""
    process = window.host.process
    return rss_mb(process.pid) if process is not None else 0.0


def _pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def _median(values) -> float:
    return float(statistics.median(values))


def _rate(step, seconds: float, min_steps: int = 3) -> float:
    """Calls of ``step`` per second over at least ``seconds`` (and ``min_steps`` calls)."""
    n, t0 = 0, perf()
    while True:
        step()
        n += 1
        t = perf()
        if n >= min_steps and t - t0 >= seconds:
            return n / (t - t0)


# -- machine ---------------------------------------------------------------------------------------

def machine_info() -> dict:
    info = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_env": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                     "MKL_NUM_THREADS")},
    }
    try:
        import PySide6
        from PySide6.QtCore import qVersion
        info["PySide6"], info["Qt"] = PySide6.__version__, qVersion()
    except ImportError:
        info["PySide6"] = None
    try:
        import pyqtgraph
        info["pyqtgraph"] = pyqtgraph.__version__
    except ImportError:
        info["pyqtgraph"] = None
    try:
        from threadpoolctl import threadpool_info
        pools = threadpool_info()
        info["blas"] = [{"api": p.get("internal_api"), "threads": p.get("num_threads"),
                         "version": p.get("version")} for p in pools]
        info["blas_threads"] = max((p.get("num_threads") or 0 for p in pools), default=None)
    except ImportError:
        info["blas"], info["blas_threads"] = None, None
    return info


# -- engine against plain numpy --------------------------------------------------------------------

def synthetic_dataset(n: int, seed: int = 0):
    """Two Gaussian clouds in the plane, two classes, all for training."""
    from ..engine.data import CLASSIFICATION, Dataset
    rng = np.random.RandomState(seed)
    half = n // 2
    X = np.vstack([rng.randn(half, 2) + [1.0, 1.0], rng.randn(n - half, 2) - [1.0, 1.0]])
    y = np.r_[np.zeros(half, int), np.ones(n - half, int)]
    return Dataset("synthetic", CLASSIFICATION, X, y, np.zeros((0, 2)), np.zeros(0, int),
                   class_names=("0", "1"), feature_names=("x0", "x1"))


def make_trainer(workload: str):
    """A fresh trainer for a reference workload (full batch, plain gradient descent)."""
    from ..engine.config import Config, build
    from ..engine.network import Network
    from ..engine.trainer import Trainer
    if workload == CLASSIC:
        return build(Config.preset("gaussian-clouds"))[2]
    arch, n = workload.split("/")
    sizes = [int(s) for s in arch.split("-")]
    net = Network(sizes, "tanh", "softmax", init="xavier", seed=0)
    return Trainer(net, synthetic_dataset(int(n)), optimizer="sgd", lr=0.1)


class PlainNumpy:
    """The classic hand-written loop: forward, backward, update; nothing else.

    Same data, initial weights, activations and learning rate as the trainer it is made from. Like
    the classic example it does not compute the loss on every pass.
    """

    def __init__(self, trainer):
        net = trainer.network
        self.X = np.ascontiguousarray(trainer.X, dtype=float)
        self.T = np.asarray(trainer.T, dtype=float)
        self.W = [W.copy() for W in net.weights]
        self.b = [b.copy() for b in net.biases]
        self.sigmoid = [a.name == "sigmoid" for a in net.hidden_activations]
        if not all(a.name in ("sigmoid", "tanh") for a in net.hidden_activations):
            raise ValueError("the plain loop knows sigmoid and tanh hidden layers")
        self.lr = trainer.lr

    def step(self) -> None:
        X, T, W, b = self.X, self.T, self.W, self.b
        L = len(W)
        acts = [X]
        a = X
        for l in range(L - 1):                               # hidden layers
            z = a @ W[l] + b[l]
            a = 1.0 / (1.0 + np.exp(-z)) if self.sigmoid[l] else np.tanh(z)
            acts.append(a)
        z = a @ W[-1] + b[-1]                                # softmax output
        e = np.exp(z - z.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        delta = (y - T) / len(X)                             # ∂loss/∂z, cross-entropy
        for l in range(L - 1, -1, -1):
            gW = acts[l].T @ delta
            gb = delta.sum(axis=0)
            if l:
                a = acts[l]
                delta = (delta @ W[l].T) * (a * (1.0 - a) if self.sigmoid[l - 1] else 1.0 - a * a)
            W[l] -= self.lr * gW
            b[l] -= self.lr * gb


def bench_engine(plan: Plan) -> dict:
    trainers = {w: make_trainer(w) for w in WORKLOADS}
    plains = {w: PlainNumpy(t) for w, t in trainers.items()}
    for w in WORKLOADS:                                      # warm up both
        for _ in range(3):
            trainers[w].step()
            plains[w].step()
    engine = {w: [] for w in WORKLOADS}
    plain = {w: [] for w in WORKLOADS}
    for rep in range(plan.engine_reps):
        for w in WORKLOADS:
            runs = [(engine, trainers[w].step), (plain, plains[w].step)]
            for store, step in (runs if rep % 2 == 0 else runs[::-1]):
                store[w].append(_rate(step, plan.engine_seconds))
        for t in trainers.values():
            if t.diverged:
                raise RuntimeError(f"a bench workload diverged: {t.diverged.message()}")
    e = {w: _median(v) for w, v in engine.items()}
    p = {w: _median(v) for w, v in plain.items()}
    return {"engine_steps_per_s": e, "plain_numpy_steps_per_s": p,
            "engine_vs_plain_numpy": {w: e[w] / p[w] for w in WORKLOADS}}


# -- surface ---------------------------------------------------------------------------------------

def bench_surface(plan: Plan) -> dict:
    from ..engine.network import Network
    from ..engine.surface import Axis, compute_slice, weight_axis
    try:
        from ..ui.panels.surface import (CHUNK_ELEMS, FULL_GRID, FULL_SAMPLES, PREVIEW_GRID,
                                      PREVIEW_SAMPLES, SLICE_PARTS, SURFACE_DTYPE)
    except ImportError:   # keep the numbers of the panel
        CHUNK_ELEMS, FULL_GRID, FULL_SAMPLES = 100_000, 51, 1000
        PREVIEW_GRID, PREVIEW_SAMPLES, SURFACE_DTYPE = 25, 256, np.float32
        SLICE_PARTS = min(2, os.cpu_count() or 1)
    from concurrent.futures import ThreadPoolExecutor
    ds = synthetic_dataset(2000, seed=1)
    X, T = ds.X_train, ds.T_train
    net = Network([2, 64, 64, 64, 2], "tanh", "softmax", init="xavier", seed=0)
    axes = {"weights": (weight_axis(0, 0, 0), weight_axis(0, 1, 0)),
            "random": (Axis("random", seed=0), Axis("random", seed=1))}
    sizes = {"preview": (PREVIEW_GRID, PREVIEW_SAMPLES), "full": (FULL_GRID, FULL_SAMPLES)}
    reps = {"preview": plan.surface_reps + 2, "full": plan.surface_reps}
    # as the panel computes a slice when paused (its pool shares the grid) and while training
    # (one thread): the headline figures are the paused ones, the others are reported beside them
    pool = ThreadPoolExecutor(SLICE_PARTS) if SLICE_PARTS > 1 else None
    times = {(s, a, p): [] for s in sizes for a in axes for p in (SLICE_PARTS, 1)}
    try:
        for s in sizes:
            grid, samples = sizes[s]
            for rep in range(reps[s] + (s == "preview")):        # one preview round warms up
                for a in axes:
                    for parts in (SLICE_PARTS, 1):
                        t0 = perf()
                        with np.errstate(all="ignore"):
                            compute_slice(net, X, T, *axes[a], grid=grid, subsample=samples,
                                          seed=0, max_chunk_elems=CHUNK_ELEMS,
                                          dtype=SURFACE_DTYPE, executor=pool, parts=parts)
                        if rep or s != "preview":
                            times[s, a, parts].append((perf() - t0) * 1000)
    finally:
        if pool is not None:
            pool.shutdown()
    med = {k: _median(v) for k, v in times.items()}
    out = {"surface_threads": SLICE_PARTS}
    for s in sizes:
        out[f"surface_{s}_ms"] = max(med[s, a, SLICE_PARTS] for a in axes)
        out[f"surface_{s}_ms_by_axes"] = {a: med[s, a, SLICE_PARTS] for a in axes}
        out[f"surface_{s}_one_thread_ms"] = max(med[s, a, 1] for a in axes)
    return out


# -- Qt --------------------------------------------------------------------------------------------

def _qapp():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "bpviz"])
    return app


def run_for(seconds: float) -> None:
    """Run the Qt event loop for ``seconds`` (the GUI thread sleeps when idle, as in the app)."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    loop.exec()


def wait_until(cond, timeout: float, step: float = 0.02) -> bool:
    end = perf() + timeout
    while not cond():
        if perf() > end:
            return False
        run_for(step)
    return True


# Passes between two of the network measurement's frames: about what the app trains of this
# network between two frames at 30 frames per second on this machine class (300 passes per second).
NETWORK_PASSES_PER_FRAME = 10


def network_snapshots(count: int, passes_between: int = NETWORK_PASSES_PER_FRAME):
    """``count`` snapshots of a training 2-64-64-64-2 network, ``passes_between`` passes apart."""
    from ..engine.snapshot import data_bounds, make_snapshot
    trainer = make_trainer("2-64-64-64-2/1000")
    bounds = data_bounds(trainer.X)
    snaps = []
    for k in range(count):
        for _ in range(passes_between - 1):
            trainer.step()
        before = (list(trainer.network.weights), list(trainer.network.biases))
        result = trainer.step()
        snaps.append(make_snapshot(trainer, seq=k + 1, running=True, trace=result.trace,
                                   trace_weights=before[0], trace_biases=before[1],
                                   new_pass_losses=[result.trace.loss], new_pass_positions=[k],
                                   history_from=len(trainer.history) - 1, bounds=bounds, pinned=0))
    return snaps


def _timed_network_view_class():
    from PySide6.QtCore import QEvent
    from ..ui.network.view import NetworkView

    class TimedNetworkView(NetworkView):
        """A NetworkView (a top-level window here) that times the paints Qt does on its own."""

        def __init__(self):
            self.paint_ms: list[float] = []
            super().__init__()

        def event(self, ev):
            if ev.type() != QEvent.Type.UpdateRequest:
                return super().event(ev)
            t0 = perf()
            result = super().event(ev)
            self.paint_ms.append((perf() - t0) * 1000)
            return result

    return TimedNetworkView


def bench_network(plan: Plan) -> dict:
    """The diagram's frames painted as the app paints them, and with ``QPainter.drawLines``.

    Each way is timed twice:
    - ``show_snapshot`` + ``viewport().repaint()``: a synchronous repaint of the whole diagram;
    - ``show_snapshot`` + the paint Qt schedules by itself (as in the app): the view's
      ``UpdateRequest``, which repaints only the region the scene marked dirty.
    The app draws these edges from a raster plan built on a thread after the view's transform
    changes (``network_raster_plan_ms``); the frames are timed once it is in place. The
    ``network_paint_drawlines_*`` figures draw the same frames with one ``drawLines`` per bin.
    """
    from ..ui.plotting.qt import collect_garbage_on_gui_thread
    _qapp()
    # as in the app: the garbage collector runs on a GUI timer, between events, not inside a
    # frame (left automatic, a collection of up to 14 ms could land in a timed frame)
    collect_garbage_on_gui_thread()
    snaps = network_snapshots(plan.network_frames + 5)
    total_edges = sum(w.size for w in snaps[0].weights)
    out = {"network_edges": total_edges}
    for key, raster in (("network_paint", True), ("network_paint_drawlines", False)):
        view = _timed_network_view_class()()
        if not raster:                # every edge by drawLines: no raster, no cap
            view.set_edge_limits(raster_edge_limit=0, edge_cap=total_edges)
        view.resize(700, 560)         # the network dock's size in the default layout
        view.show()
        run_for(0.05)
        target = view.mouse_target()  # the diagram's graphics viewport
        for snap in snaps[:5]:        # the first frames lay out the architecture
            view.show_snapshot(snap)
            run_for(0.03)
        if raster:
            ready = wait_until(view.edges_rastered, 10.0)
            out["network_raster_plan_ms"] = view.raster_plan_ms() if ready else None
        explicit, natural, shares = [], [], []
        for snap in snaps[5:]:
            t0 = perf()
            view.show_snapshot(snap)
            target.repaint()
            explicit.append((perf() - t0) * 1000)
            if raster:
                shares.append(view.raster_recomputed_share())
            run_for(0.03)             # untimed: the paint Qt queued as well
        for snap in snaps[5:][::-1]:  # changing again: the same snapshots backwards
            view.paint_ms.clear()
            t0 = perf()
            view.show_snapshot(snap)
            update = (perf() - t0) * 1000
            run_for(0.03)             # Qt paints the dirty region ~5 ms after the change
            natural.append(update + sum(view.paint_ms))
        drawn = int(sum(c.xData.size // 2 for c in view.edge_items().values()
                        if c.xData is not None))
        rastered = view.edges_rastered()
        view.close()
        view.deleteLater()
        run_for(0.01)
        out[f"{key}_ms_p50"] = _pct(explicit, 50)
        out[f"{key}_ms_p95"] = _pct(explicit, 95)
        out[f"{key}_app_ms_p50"] = _pct(natural, 50)
        out[f"{key}_app_ms_p95"] = _pct(natural, 95)
        out[f"{key}_edges_drawn"] = drawn
        if raster:
            out["network_paint_rastered"] = rastered
            shares = [v for v in shares if v is not None]
            out["network_raster_recomputed_share_p50"] = _pct(shares, 50)
            out["network_raster_recomputed_share_p95"] = _pct(shares, 95)
    return out


class _FrameRecorder:
    """What the window's frame-timing hook (``MainWindow.frameTimed``) reported: paint-timer
    ticks, frames and the paints after them.

    A *frame* starts when a tick hands a new snapshot to the panels; every paint Qt does until the
    next frame (often several ``UpdateRequest``s: pyqtgraph marks its views dirty from a queued
    call, so they may paint in a later one than the labels) belongs to it.
    """

    def __init__(self, keep_snapshots: int = 0):
        self.active = False
        self.created: dict[int, tuple[float, int, bool]] = {}   # seq → (time, passes, running)
        self.segments: list[list[float]] = []   # tick times per measured segment
        self.frames: list[list] = []            # [seq, t0, t1, last paint end, paint ms,
                                                #  first paint end]
        self.panel_ms: dict[str, list[float]] = {}
        self.snapshots: list = []               # some painted snapshots, to replay
        self.keep_snapshots = keep_snapshots
        self._arrived: dict[int, object] = {}   # the newest snapshots, by seq, to keep some
        self._current: list | None = None

    def start(self) -> None:
        self.segments.append([])
        self._current = None
        self.active = True

    def stop(self) -> None:
        self.active = False
        self._current = None

    def arrived(self, snap) -> None:
        """A snapshot reached the window (to keep it when a frame shows it)."""
        if len(self.snapshots) < self.keep_snapshots:
            self._arrived[snap.seq] = snap
            while len(self._arrived) > 8:
                self._arrived.pop(next(iter(self._arrived)))

    def timed(self, timing) -> None:
        """The window's hook: one tick or one paint (a ``FrameTiming``)."""
        if not self.active:
            return
        if timing.kind == PAINT:
            self.painted(timing.started, timing.ended)
            return
        self.segments[-1].append(timing.started)
        for name, seconds in timing.panels:
            self.panel_ms.setdefault(name, []).append(seconds * 1000)
        if timing.seq is not None:
            self._current = [timing.seq, timing.started, timing.ended, None, 0.0, None]
            self.frames.append(self._current)
            snap = self._arrived.pop(timing.seq, None)
            if snap is not None and len(self.snapshots) < self.keep_snapshots:
                self.snapshots.append(snap)

    def painted(self, t0: float, t1: float) -> None:
        if self._current is not None:
            self._current[3] = t1
            if self._current[5] is None:
                self._current[5] = t1
            self._current[4] += (t1 - t0) * 1000

    # -- results ----------------------------------------------------------------------------------

    def painted_frames(self) -> list[list]:
        return [f for f in self.frames if f[3] is not None]

    def work_ms(self) -> list[float]:
        """Per painted frame: its show_snapshot calls plus the paints that followed."""
        return [1000 * (f[2] - f[1]) + f[4] for f in self.painted_frames()]


def bench_window(plan: Plan, soak_minutes: float | None) -> dict:
    from PySide6.QtCore import QSettings
    from ..engine.config import Config, build

    from ..ui.window.main_window import MainWindow
    app = _qapp()
    rec = _FrameRecorder(keep_snapshots=60)
    recorder = [rec]            # the recorder the window's frame-timing hook feeds

    def record_made(snap):      # when the training session made it, in its own process
        rec.created[snap.seq] = (snap.made_at, snap.pass_count, snap.running)
        rec.arrived(snap)

    config = Config.preset("gaussian-clouds")
    out: dict = {}
    tmp = tempfile.TemporaryDirectory(prefix="bpviz-bench-")
    window = None
    try:
        settings = QSettings(os.path.join(tmp.name, "bench.ini"), QSettings.Format.IniFormat)
        settings.setValue("speed", "max")          # the window at the Speed box's "max"
        window = MainWindow(config, settings=settings)
        window.host.snapshotArrived.connect(record_made)
        window.frameTimed.connect(lambda timing: recorder[0].timed(timing))
        window.show()
        if not wait_until(lambda: window.latest is not None, 30):
            raise RuntimeError("the window's worker published no snapshot within 30 s")
        wait_until(window.surface.is_idle, 10)
        run_for(0.5)
        hidden = [name for name, dock in window.docks.items() if not dock.isVisible()]
        if hidden:
            raise RuntimeError(f"panels not visible: {', '.join(hidden)}")

        headless_trainer = build(config)[2]
        headless, gui, ratios, segments = [], [], [], []
        # headless: the same configuration, in this thread, while the window is paused, right
        # before and after every window segment: the machine's speed drifts (a shared VM), so
        # each segment is compared with the headless speed around it
        after = _rate(headless_trainer.step, plan.headless_seconds)
        for rep in range(plan.window_reps):
            before = after
            # the window: play, let it get going, measure, pause
            window.play()
            run_for(0.3)
            rec.start()
            t_start = perf()
            run_for(plan.gui_seconds)
            t_end = perf()
            rec.stop()
            window.pause()
            segments.append((t_start, t_end))
            made = sorted(v for v in list(rec.created.values())
                          if v[2] and t_start <= v[0] <= t_end)
            wait_until(lambda: window.latest is not None and not window.latest.running, 5)
            wait_until(window.surface.is_idle, 10)
            after = _rate(headless_trainer.step, plan.headless_seconds)
            headless.append((before + after) / 2)
            if len(made) >= 2:
                (ta, pa, _), (tb, pb, _) = made[0], made[-1]
                gui.append((pb - pa) / (tb - ta))
                ratios.append(gui[-1] / headless[-1])
        if not gui:
            raise RuntimeError("the window published too few snapshots while training")
        out["headless_steps_per_s_runs"] = [round(v) for v in headless]
        out["gui_steps_per_s_runs"] = [round(v) for v in gui]
        out["headless_steps_per_s"] = _median(headless)
        out["gui_steps_per_s"] = _median(gui)
        out["gui_to_headless_ratio"] = _median(ratios)      # of the segments' own ratios
        out["gui_to_headless_ratio_runs"] = [round(v, 3) for v in ratios]

        intervals = [1000 * (b - a) for seg in rec.segments for a, b in zip(seg, seg[1:])]
        frames, painted = rec.frames, rec.painted_frames()
        # on screen: the window's first paint after the panel took the snapshot (later paints
        # until the next frame are other panels' own updates, e.g. a surface slice arriving)
        latency = [1000 * (f[5] - rec.created[f[0]][0]) for f in painted if f[0] in rec.created]
        measured_s = sum(b - a for a, b in segments)
        out.update({
            "frame_interval_ms_p50": _pct(intervals, 50),
            "frame_interval_ms_p95": _pct(intervals, 95),
            "frame_interval_ms_max": float(max(intervals)),
            "frame_work_ms_p50": _pct(rec.work_ms(), 50),
            "frame_work_ms_p95": _pct(rec.work_ms(), 95),
            "frame_update_ms_p95": _pct([1000 * (f[2] - f[1]) for f in frames], 95),
            "frame_update_ms_p95_by_panel": {k: _pct(v, 95) for k, v in rec.panel_ms.items()},
            "frame_paint_ms_p95": _pct([f[4] for f in painted], 95),
            "snapshot_to_paint_ms_p50": _pct(latency, 50),
            "snapshot_to_paint_ms_p95": _pct(latency, 95),
            "frames_per_s": len(frames) / measured_s,
            "frames_painted_fraction": len(painted) / max(1, len(frames)),
            "snapshots_per_s": sum(1 for v in list(rec.created.values())
                                   if any(a <= v[0] <= b for a, b in segments)) / measured_s,
        })

        # the same frames again with training paused: what a frame costs with no thread competing
        replay = _FrameRecorder()
        recorder[0] = replay
        replay.start()
        for snap in rec.snapshots:
            window.run.take_snapshot(snap)     # as if the training session sent it
            run_for(0.04)                 # the paint timer paints it, then Qt paints the window
        replay.stop()
        recorder[0] = rec
        out["frame_work_uncontended_ms_p50"] = _pct(replay.work_ms(), 50)
        out["frame_work_uncontended_ms_p95"] = _pct(replay.work_ms(), 95)
        out["frame_update_uncontended_ms_p95_by_panel"] = {k: _pct(v, 95)
                                                          for k, v in replay.panel_ms.items()}
        rec.snapshots.clear()

        if soak_minutes:
            window.host.snapshotArrived.disconnect(record_made)   # record nothing that grows
            rec.created.clear()
            out.update(_soak(window, soak_minutes))
    finally:
        if window is not None:
            window.shutdown()              # joins the threads; then close() asks nothing
            window.close()                 # (settings go to the temporary file)
            window.deleteLater()
            app.processEvents()
        tmp.cleanup()
    return out


def _soak(window, minutes: float) -> dict:
    """Train at full speed for ``minutes``, sampling RSS at the start and every minute."""
    _log(f"soak: training in the window for {minutes:g} minutes")
    gc.collect()
    passes0 = window.latest.pass_count
    window.play()
    run_for(1.0)                      # the training process is training
    samples, runner = [rss_mb()], [_runner_rss_mb(window)]
    t0 = perf()
    total = minutes * 60.0
    for k in range(math.ceil(minutes - 1e-9)):
        run_for(max(0.0, min(60.0, total - 60.0 * k)))
        gc.collect()
        samples.append(rss_mb())
        runner.append(_runner_rss_mb(window))
        _log(f"soak: {(perf() - t0) / 60:.1f} min, RSS {samples[-1]:.1f} MB "
             f"(+ training process {runner[-1]:.1f} MB)")
    window.pause()
    wait_until(lambda: not window.latest.running, 5)
    # the window's process and its training process together
    samples = [a + b for a, b in zip(samples, runner)]
    out = {"soak_minutes": minutes, "soak_rss_mb_samples": samples,
           "soak_runner_rss_mb_samples": runner,
           "soak_passes": window.latest.pass_count - passes0,
           "rss_growth_mb": samples[-1] - samples[0]}
    if len(samples) >= 3:
        out["rss_growth_after_first_minute_mb"] = samples[-1] - samples[1]
    return out


# -- big networks ----------------------------------------------------------------------------------

def largest_samples(config) -> int:
    """The most samples the window accepts for ``config``'s network at any batch size, full batch
    included (the preset's): the samples range's top, or less where a full-batch pass would need
    more memory than bpviz allows (21,368 for 8×512 on two inputs and three classes)."""
    from dataclasses import replace
    from ..engine.config import MEMORY_LIMIT_BYTES, estimate_memory
    from ..engine.ranges import RANGES
    config = replace(config, batch_size=0)
    rng = RANGES["n_samples"]
    lo, hi = int(rng.lo), int(rng.hi)
    if estimate_memory(config, hi, 2, 3) <= MEMORY_LIMIT_BYTES:
        return hi
    while lo < hi:                        # the largest n that fits
        mid = (lo + hi + 1) // 2
        if estimate_memory(config, mid, 2, 3) <= MEMORY_LIMIT_BYTES:
            lo = mid
        else:
            hi = mid - 1
    return lo


def big_config(case: str):
    """The configuration of a big-network case: the classic three clouds (two inputs, three
    classes), tanh layers, plain gradient descent on mini-batches of 32."""
    from ..engine.config import Config
    config = Config.preset("gaussian-clouds")
    config.hidden = BIG_CASES[case]
    config.activation, config.init = "tanh", "xavier"
    config.optimizer, config.lr, config.batch_size = "sgd", 0.01, BIG_BATCH
    if case == LARGEST:
        config.n_samples = largest_samples(config)
    config.validate()
    return config


def _headless_case(case: str) -> None:
    """A ``Trainer.step`` loop (as ``bpviz train`` trains), measured on request: after its first
    passes (the first evaluates the whole training set) it prints ``ready``; then for every line
    SECONDS on stdin it trains that long and prints the passes per second and the CPU it used,
    one JSON object a line; at the end of stdin, its peak RSS."""
    from ..engine.config import build
    trainer = build(big_config(case))[2]
    for _ in range(2):
        trainer.step()
    print(json.dumps({"ready": True, "samples": len(trainer.X)}), flush=True)
    for line in sys.stdin:
        cpu0, t0 = _cpu_s(), perf()
        rate = _rate(trainer.step, float(line))
        cores = (_cpu_s() - cpu0) / (perf() - t0)
        if trainer.diverged:
            raise RuntimeError(f"{case} diverged: {trainer.diverged.message()}")
        print(json.dumps({"passes_per_s": rate, "cores": cores}), flush=True)
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "passes": trainer.pass_count}), flush=True)


class _Headless:
    """The headless loop of a case in a fresh process of its own (so that its peak RSS is its
    own), with the same BLAS threads as the app; its answers are read on a thread, so that the
    window's events go on while it starts."""

    def __init__(self, case: str):
        import queue
        import subprocess
        import threading
        self.lines: queue.Queue = queue.Queue()
        self.proc = subprocess.Popen([sys.executable, "-m", "bpviz.bench", "headless", case],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=_case_env())
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def answer(self, timeout: float = 600) -> dict:
        end = perf() + timeout
        while True:
            try:
                line = self.lines.get_nowait()
            except Exception:
                if perf() > end or self.proc.poll() not in (None, 0):
                    self.proc.kill()
                    raise RuntimeError(f"the headless case failed: "
                                       f"{self.proc.stderr.read()[-2000:]}")
                run_for(0.05)
                continue
            if line is None:
                raise RuntimeError(f"the headless case ended: {self.proc.stderr.read()[-2000:]}")
            return json.loads(line)

    def measure(self, seconds: float) -> dict:
        self.proc.stdin.write(f"{seconds!r}\n")
        self.proc.stdin.flush()
        return self.answer()

    def finish(self) -> dict:
        self.proc.stdin.close()
        result = self.answer()
        self.proc.wait(60)
        return result


def _window_case(case: str, seconds: float, reps: int = BIG_REPS) -> dict:
    """The real window at the Speed box's max, ``reps`` segments of ``seconds`` of training, each
    followed (the window paused) by the same time of headless training in a fresh process: a
    shared machine's speed drifts, so each segment is compared with the headless passes right
    after it. Also the peak RSS of the window's process and of its training process, and the
    CPU each used while training."""
    from PySide6.QtCore import QSettings
    from ..ui.window.main_window import MainWindow
    app = _qapp()
    tmp = tempfile.TemporaryDirectory(prefix="bpviz-bench-")
    window = headless_loop = None
    try:
        headless_loop = _Headless(case)
        settings = QSettings(os.path.join(tmp.name, "bench.ini"), QSettings.Format.IniFormat)
        settings.setValue("speed", "max")
        window = MainWindow(big_config(case), settings=settings)
        window.show()
        if not wait_until(lambda: window.latest is not None, 120):
            raise RuntimeError("the window's training published no snapshot within 120 s")
        samples = headless_loop.answer()["samples"]          # the headless loop is ready
        # the window's first passes (the first evaluates the whole training set), unmeasured
        window.play()
        if not wait_until(lambda: window.latest.running and window.latest.pass_count > 1, 300):
            raise RuntimeError("the window did not start training within 300 s")
        window.pause()
        wait_until(lambda: not window.latest.running, 60)
        process = window.host.process
        gui, headless, window_cpu, runner_cpu, runner_s = [], [], 0.0, 0.0, 0.0
        for _ in range(reps):
            passes = window.latest.pass_count
            window.play()
            if not wait_until(lambda: window.latest.running
                              and window.latest.pass_count > passes, 60):
                raise RuntimeError("the window did not start training within 60 s")
            start = window.latest        # passes and time of a snapshot made while training
            cpu0 = (_cpu_s(), _cpu_s(process.pid) if process is not None else 0.0, perf())
            run_for(seconds)
            cpu1 = (_cpu_s(), _cpu_s(process.pid) if process is not None else 0.0, perf())
            window.pause()
            if not wait_until(lambda: not window.latest.running, 60):
                raise RuntimeError("the window did not pause within 60 s")
            end = window.latest          # made when the pause arrived
            gui.append((end.pass_count - start.pass_count) / (end.made_at - start.made_at))
            window_cpu += cpu1[0] - cpu0[0]
            runner_cpu += cpu1[1] - cpu0[1]
            runner_s += cpu1[2] - cpu0[2]
            headless.append(headless_loop.measure(seconds))
        runner = peak_rss_mb(process.pid) if process is not None else 0.0
        own = peak_rss_mb()
        end = headless_loop.finish()
        headless_loop = None
        return {"passes_per_s_runs": gui, "headless_runs": headless, "samples": samples,
                "headless_peak_rss_mb": end["peak_rss_mb"],
                "peak_rss_mb": own + runner, "window_process_peak_rss_mb": own,
                "training_process_peak_rss_mb": runner, "mode": window.host.mode,
                # CPU each process used while training, in cores (1: one core all the time)
                "window_process_cores": window_cpu / runner_s,
                "training_process_cores": runner_cpu / runner_s}
    finally:
        if headless_loop is not None:
            headless_loop.proc.kill()
            headless_loop.proc.wait()
        if window is not None:
            window.shutdown()
            window.close()
            window.deleteLater()
            app.processEvents()
        tmp.cleanup()


def _cpu_s(pid="self") -> float:
    """CPU seconds (user + system) a process has used: this one from ``os.times``, another
    from /proc/PID/stat (0 where it cannot be read)."""
    if pid == "self":
        t = os.times()
        return t.user + t.system
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _case_env() -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")          # as the app (bpviz.cli sets them)
    return env


def _run_window_case(case: str, seconds: float, reps: int) -> dict:
    """The window case in a fresh Python process (``python -m bpviz.bench window CASE SECONDS
    REPS``), so that its peak RSS is its own."""
    import subprocess
    proc = subprocess.run([sys.executable, "-m", "bpviz.bench", "window", case, repr(seconds),
                           str(reps)], capture_output=True, text=True, env=_case_env(),
                          timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"the {case} case failed (status {proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_big_networks(seconds: float, cases=tuple(BIG_CASES), reps: int = BIG_REPS) -> dict:
    out = {}
    for case in cases:
        _log(f"big network {case}: the window and headless, {reps} × {seconds:g} s each")
        gui = _run_window_case(case, seconds, reps)
        runs = gui["headless_runs"]
        headless_rates = [r["passes_per_s"] for r in runs]
        ratios = [g / h for g, h in zip(gui["passes_per_s_runs"], headless_rates)]
        headless_rss = gui["headless_peak_rss_mb"]
        allowance = BIG_RSS_FACTOR * headless_rss + BIG_RSS_EXTRA_MB
        headless_cores = _median([r["cores"] for r in runs])
        out[case] = {
            "hidden": list(BIG_CASES[case]), "samples": gui["samples"],
            "batch_size": BIG_BATCH, "seconds": seconds, "window_mode": gui["mode"],
            "headless_passes_per_s": _median(headless_rates),
            "window_passes_per_s": _median(gui["passes_per_s_runs"]),
            "window_to_headless_ratio": _median(ratios),           # of the segments' own ratios
            "window_to_headless_ratio_runs": ratios,
            "headless_peak_rss_mb": headless_rss,
            "window_peak_rss_mb": gui["peak_rss_mb"],
            "window_process_peak_rss_mb": gui["window_process_peak_rss_mb"],
            "training_process_peak_rss_mb": gui["training_process_peak_rss_mb"],
            "window_rss_allowance_mb": allowance,
            "window_rss_to_allowance": gui["peak_rss_mb"] / allowance,
            "headless_cores": headless_cores,
            "window_process_cores": gui["window_process_cores"],
            "training_process_cores": gui["training_process_cores"],
            # passes per CPU second of the training process against headless: what training
            # in the window costs apart from sharing the machine (1: nothing)
            "training_cpu_efficiency": (
                (_median(gui["passes_per_s_runs"]) / gui["training_process_cores"])
                / (_median(headless_rates) / headless_cores)
                if gui["training_process_cores"] > 0 and headless_cores > 0 else None),
        }
    return {"big_networks": out}


def run_case(argv) -> int:
    if argv[0] == "headless":
        _headless_case(argv[1])
    else:
        _, case, seconds, reps = argv
        print(json.dumps(_window_case(case, float(seconds), int(reps))), flush=True)
    return 0


# -- report ----------------------------------------------------------------------------------------

def _lookup(results: dict, path):
    v = results
    for k in path:
        if not isinstance(v, dict) or k not in v:
            return None
        v = v[k]
    return v


def _finite_or_none(v):
    """The results with every NaN or infinity (nothing was measured) replaced by None."""
    if isinstance(v, dict):
        return {k: _finite_or_none(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite_or_none(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def evaluate_targets(results: dict) -> dict:
    out = {}
    for name, (path, op, limit, unit) in TARGETS.items():
        value = _lookup(results, path)
        if path == ("rss_growth_mb",) and value is None:
            continue                                    # measured only with --soak
        parent = _lookup(results, path[:-1])
        if value is None and (not isinstance(parent, dict) or path[-1] not in parent):
            continue                                    # a part of the bench not run
        if value is None:                               # nothing measured: a miss
            ok = False
        else:
            ok = value >= limit if op == ">=" else value <= limit if op == "<=" else value < limit
        out[name] = {"key": ".".join(path), "value": value, "target": f"{op} {limit:g} {unit}",
                     "pass": bool(ok)}
    return out


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    return readable(v) if isinstance(v, float) else str(v)


def _main_lines(r: dict, verdict) -> list[str]:
    lines = []
    lines.append(f"{'engine passes/s':28} {'engine':>10} {'plain':>10} {'ratio':>7}")
    for w in WORKLOADS:
        lines.append(f"  {w:26} {_fmt(r['engine_steps_per_s'][w]):>10} "
                     f"{_fmt(r['plain_numpy_steps_per_s'][w]):>10} "
                     f"{_fmt(r['engine_vs_plain_numpy'][w]):>6}×"
                     + (f"  {verdict('engine classic vs plain numpy')}" if w == CLASSIC else ""))
    by_panel = r["frame_update_ms_p95_by_panel"]
    idle_panel = r["frame_update_uncontended_ms_p95_by_panel"]
    rows = [
        ("window passes/s", None, None, None),
        ("  headless", r["headless_steps_per_s"], "", None),
        ("  in the window", r["gui_steps_per_s"], "", None),
        ("  window / headless", r["gui_to_headless_ratio"], "×", "gui / headless passes"),
        ("frames while training (every panel visible)", None, None, None),
        ("  interval p50", r["frame_interval_ms_p50"], "ms", None),
        ("  interval p95", r["frame_interval_ms_p95"], "ms", "frame interval p95"),
        ("  interval max", r["frame_interval_ms_max"], "ms", "frame interval max"),
        ("  work p95 (show_snapshot + paint)", r["frame_work_ms_p95"], "ms", None),
        ("    show_snapshot p95", r["frame_update_ms_p95"], "ms", None),
        ("    paint p95", r["frame_paint_ms_p95"], "ms", None),
        ("  snapshot to paint p95", r["snapshot_to_paint_ms_p95"], "ms", "snapshot to paint p95"),
        ("  frames/s, snapshots/s", f"{_fmt(r['frames_per_s'])}, {_fmt(r['snapshots_per_s'])}", "",
         None),
        ("  work p95, training paused", r["frame_work_uncontended_ms_p95"], "ms", None),
        ("  show_snapshot p95 by panel (ms)",
         ", ".join(f"{k} {_fmt(v)}" for k, v in by_panel.items()), "", None),
        ("    training paused", ", ".join(f"{k} {_fmt(v)}" for k, v in idle_panel.items()), "",
         None),
        ("network view 2-64-64-64-2", None, None, None),
        (f"  {r['network_paint_edges_drawn']:,} edges, show + repaint() p95",
         r["network_paint_ms_p95"], "ms", "network paint p95"),
        ("    show + Qt's own repaint p95", r["network_paint_app_ms_p95"], "ms",
         "network paint p95, Qt's own repaint"),
        ("  raster plan built (once per transform)", r["network_raster_plan_ms"], "ms", None),
        ("  share of the image a frame recomputed, p50",
         r["network_raster_recomputed_share_p50"], "", None),
        (f"  {r['network_paint_drawlines_edges_drawn']:,} edges by drawLines, repaint() p95",
         r["network_paint_drawlines_ms_p95"], "ms", None),
        ("    show + Qt's own repaint p95", r["network_paint_drawlines_app_ms_p95"], "ms", None),
        ("surface slice 2-64-64-64-2 (slower axes)", None, None, None),
        ("  preview 25×25, 256 samples", r["surface_preview_ms"], "ms", "surface preview"),
        ("  full 51×51, 1,000 samples", r["surface_full_ms"], "ms", "surface full"),
        ("  (ms) two weights / random axes", " · ".join(
            f"{a} {_fmt(r[f'surface_{a}_ms_by_axes']['weights'])} / "
            f"{_fmt(r[f'surface_{a}_ms_by_axes']['random'])}" for a in ("preview", "full")),
         "", None),
        ("memory", None, None, None),
        ("  RSS start", r["rss_mb_start"], "MB", None),
        ("  RSS end", r["rss_mb_end"], "MB", None),
    ]
    if "rss_growth_mb" in r:
        rows.append((f"  soak {r['soak_minutes']:g} min ({r['soak_passes']:,} passes), RSS growth",
                     r["rss_growth_mb"], "MB", "soak RSS growth"))
        if "rss_growth_after_first_minute_mb" in r:
            rows.append(("    after its first minute", r["rss_growth_after_first_minute_mb"], "MB",
                         None))
        rows.append(("    RSS each minute", ", ".join(_fmt(v) for v in r["soak_rss_mb_samples"]),
                     "", None))
    for label, value, unit, target in rows:
        if unit is None:                  # a section heading
            lines.append(label)
            continue
        text = value if isinstance(value, str) else f"{_fmt(value)} {unit}".rstrip()
        lines.append(f"{label:38} {text:>14}  {verdict(target) if target else ''}".rstrip())
    return lines


def _big_lines(big: dict, verdict) -> list[str]:
    lines = [f"big networks at full speed ({BIG_BATCH} samples a batch), headless and in the "
             f"window (peak RSS: window + training process)"]
    for case, c in big.items():
        lines.append(f"  {case} on {c['samples']:,} samples ({c['window_mode']})")
        rows = [("    passes/s headless, window", f"{_fmt(c['headless_passes_per_s'])}, "
                 f"{_fmt(c['window_passes_per_s'])}", None),
                ("    window / headless", f"{_fmt(c['window_to_headless_ratio'])} ×",
                 f"{case} window / headless passes"),
                ("    peak RSS headless, window (MB)", f"{_fmt(c['headless_peak_rss_mb'])}, "
                 f"{_fmt(c['window_process_peak_rss_mb'])} + "
                 f"{_fmt(c['training_process_peak_rss_mb'])}", None),
                ("    window RSS / (2 × headless + 300 MB)",
                 f"{_fmt(c['window_rss_to_allowance'])} ×",
                 f"{case} window RSS / (2 × headless + 300 MB)"),
                ("    segments' ratios", ", ".join(_fmt(v) for v in
                                                    c["window_to_headless_ratio_runs"]), None),
                ("    training passes per CPU second / headless",
                 _fmt(c["training_cpu_efficiency"]), None),
                ("    CPU cores: headless; window, training",
                 f"{_fmt(c['headless_cores'])}; {_fmt(c['window_process_cores'])}, "
                 f"{_fmt(c['training_process_cores'])}", None)]
        for label, text, target in rows:
            lines.append(f"{label:38} {text:>14}  {verdict(target) if target else ''}".rstrip())
    return lines


def format_table(r: dict) -> str:
    t = r["targets"]

    def verdict(name):
        if name not in t:
            return ""
        return f"{t[name]['target']:>10}  {'pass' if t[name]['pass'] else 'FAIL'}"

    m = r["machine"]
    lines = [f"bpviz bench ({'quick' if r['quick'] else 'full'}) — {m['cpu_count']} CPUs, "
             f"Python {m['python']}, numpy {m['numpy']}, PySide6 {m.get('PySide6')}, "
             f"pyqtgraph {m.get('pyqtgraph')}, BLAS threads {m.get('blas_threads')}", ""]
    if "engine_steps_per_s" in r:
        lines += _main_lines(r, verdict)
    if "big_networks" in r:
        lines += _big_lines(r["big_networks"], verdict)
    failed = [n for n, v in t.items() if not v["pass"]]
    lines += ["", f"targets: {len(t) - len(failed)} of {len(t)} met"
              + (f"; missed: {', '.join(failed)}" if failed else "")]
    return "\n".join(lines)


def cmd_bench(args) -> int:
    plan = QUICK if getattr(args, "quick", False) else FULL
    soak = getattr(args, "soak", None)
    seconds = getattr(args, "case_seconds", None) or (1.0 if plan is QUICK else 3.0)
    reps = 2 if plan is QUICK else BIG_REPS
    only = getattr(args, "big_networks", None)        # None: everything; []: every big case
    t_begin = perf()
    results: dict = {"rss_mb_start": rss_mb()}
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before anything imports Qt
    results["machine"] = machine_info()
    results["quick"] = plan is QUICK
    if only is not None:
        results.update(bench_big_networks(seconds, tuple(only) or tuple(BIG_CASES), reps))
        return _report(results, args, t_begin)
    _log("engine against plain numpy")
    results.update(bench_engine(plan))
    _log("surface slices")
    results.update(bench_surface(plan))
    _log("network view")
    results.update(bench_network(plan))
    _log("the window, training")
    results.update(bench_window(plan, soak))
    _log("big networks")
    results.update(bench_big_networks(seconds, reps=reps))
    return _report(results, args, t_begin)


def _report(results: dict, args, t_begin: float) -> int:
    gc.collect()
    results["rss_mb_end"] = rss_mb()
    results["bench_seconds"] = perf() - t_begin
    results = _finite_or_none(results)
    results["targets"] = evaluate_targets(results)
    if getattr(args, "json", False):
        print(json.dumps(results, allow_nan=False))
    else:
        print(format_table(results))
    return 0

