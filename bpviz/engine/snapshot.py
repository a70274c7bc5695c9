"""Snapshots: immutable copies of everything the window shows after a pass.

The training session builds a :class:`Snapshot` from the trainer and hands it to the window (through
a pipe from the training process, or from a thread); every array in it is a private copy marked
read-only, so training and the window never share mutable data. A
snapshot also carries what happened *since the previous snapshot* (the loss of every pass and the new
history rows), so a window that paints only the newest snapshot still misses no point of the cost
curve.

``make_snapshot`` is plain numpy and is tested without any thread.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np

from .memory import deep_sizeof
from .network import Network, Trace
from .phases import GRADIENTS, UPDATE, Phase, partial_trace
from .trainer import Trainer


# A network with more parameters than this is too large to read weight by weight: the diagram
# draws its strongest edges as colours and a card shows three digits of a value. Its snapshots
# carry the gradients, updates, error signals and the weights of the last pass in float32 (seven
# digits), the current weights and every bias in float64 (the surface slice and edits start
# from them). The 4x64 network (12,995 parameters) stays exact; 4x256 (199,171) is compact.
COMPACT_PARAMETERS = 50_000


def frozen(a, dtype=float) -> np.ndarray:
    """A read-only private copy of ``a`` (in ``dtype``)."""
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _frozen_list(arrays, dtype=float) -> tuple[np.ndarray, ...]:
    return tuple(frozen(a, dtype) for a in arrays)


def _edge_signals(trace_weights, grad_biases) -> tuple[np.ndarray, ...]:
    """w_ij · mean δ_j of every edge, as the backward pass computes it (the bias gradient is the
    batch mean of δ), in the dtype of the weights."""
    out = []
    for W, g in zip(trace_weights, grad_biases):
        s = (W * g).astype(W.dtype, copy=False)
        s.setflags(write=False)
        out.append(s)
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Boundary:
    """The network's output over the input plane (2-D inputs) or along the input axis (1-D)."""

    xs: np.ndarray            # (G,) grid coordinates along input 0
    ys: np.ndarray            # (G,) along input 1; empty for 1-D inputs
    output: np.ndarray        # 2-D: (G, G, K) output y at (ys[r], xs[c]); 1-D: (G, K)


@dataclass(frozen=True, eq=False)
class SampleValues:
    """z, a and δ of every layer for one pinned sample, at the weights the pass used, with f′(z)
    of every hidden layer (``f_prime[l − 1]`` for layer l; the output layer has none: its δ is
    y − t) and the sample's loss. Per sample the chain rule holds exactly,
    δ_i = f′(z_i) · Σ_j w_ij δ_j (:func:`focused` gives the edges' w·δ). In a pass walked phase by
    phase, what is not computed yet is NaN, as in the trace.
    """

    index: int
    x: np.ndarray
    target: np.ndarray
    z: tuple[np.ndarray, ...]        # per non-input layer
    a: tuple[np.ndarray, ...]        # per layer, a[0] = x
    delta: tuple[np.ndarray, ...]    # per non-input layer
    f_prime: tuple[np.ndarray, ...] = ()        # per hidden layer, f′(z[l])
    loss: float = float("nan")                  # this sample's loss ℓ_n


@dataclass(frozen=True, eq=False)
class Snapshot:
    seq: int
    epoch: int                       # completed epochs
    pass_count: int                  # completed passes
    pass_in_epoch: int
    passes_per_epoch: int
    running: bool
    sizes: tuple[int, ...]
    activations: tuple[str, ...]     # per non-input layer, output last
    task: str
    class_names: tuple[str, ...]
    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    l2: float
    weights: tuple[np.ndarray, ...]          # current weights (after the last update)
    biases: tuple[np.ndarray, ...]
    # -- the last pass: its trace was computed at ``trace_weights`` (before its update)
    has_trace: bool
    loss: float                              # the last pass's batch loss
    trace_weights: tuple[np.ndarray, ...]
    trace_biases: tuple[np.ndarray, ...]
    grad_weights: tuple[np.ndarray, ...]
    grad_biases: tuple[np.ndarray, ...]
    edge_signals: tuple[np.ndarray, ...]     # w_ij · mean δ_j
    update_weights: tuple[np.ndarray, ...]   # Δw of the last update (see has_update)
    update_biases: tuple[np.ndarray, ...]
    delta_mean: tuple[np.ndarray, ...]       # per non-input layer, batch mean of δ
    delta_abs_mean: tuple[np.ndarray, ...]
    activation_mean: tuple[np.ndarray, ...]  # per layer, batch mean of a (input included)
    # -- since the previous snapshot
    new_pass_losses: np.ndarray              # loss of every pass since the previous snapshot
    new_pass_positions: np.ndarray           # each as a fractional epoch (epoch + k / passes)
    new_history: np.ndarray                  # history rows since the previous snapshot
    history_header: tuple[str, ...]
    history_length: int                      # epochs the history covers (last row's epoch + 1)
    # -- drawing aids
    boundary: Boundary | None
    neuron_maps: tuple[np.ndarray, ...]      # per layer (n_l, g, g) for 2-D inputs, else ()
    sample: SampleValues | None
    phase: Phase | None = None               # step-by-step mode: the phase this snapshot shows
    trajectory: np.ndarray | None = None     # (K, P) recorded parameters, when they were sent
    trajectory_passes: np.ndarray | None = None
    rewound_to: float | None = None          # the run went back to this fractional epoch
    stepped_sample: int | None = None        # the one training sample a single-sample Step used
    # the weights are those a one-sample step left: (that sample, its loss at the weights before
    # the step, its loss at the weights after it)
    stepped_losses: tuple[int, float, float] | None = None
    # the whole training set's loss and accuracy at ``weights`` (NaN accuracy for regression),
    # measured when the weights of pass ``train_now_pass`` were current (while training fast it
    # may be an earlier pass than ``pass_count``)
    train_loss_now: float = float("nan")
    train_accuracy_now: float = float("nan")
    train_now_pass: int = -1
    diverged: str | None = None
    message: str = ""
    # the update fields hold the Δw of a real last update: False before the first pass, after
    # a weight set by hand, a reset or a session opened (zeros then), and in the phases of a
    # pass walked phase by phase before its update (NaN then)
    has_update: bool = False
    # when it was made, by time.perf_counter(): the system's monotonic clock on Linux, macOS and
    # Windows, so the window can time a snapshot made in the training process
    made_at: float = 0.0
    # how many samples the last pass (or the preview trace) averaged over: a batch mean is the
    # mean over this many samples
    trace_samples: int = 0
    # the edge signals are trace_weights × grad_biases (a full pass, or its gradient and update
    # phases): pickled without them, they are rebuilt on arrival (a fifth less to send)
    signals_derived: bool = False
    compact: bool = False                    # per-edge values of the last pass in float32

    def __getstate__(self):
        state = dict(self.__dict__)
        if self.signals_derived:
            state["edge_signals"] = None
        return state

    def __setstate__(self, state):
        if state.get("signals_derived") and state.get("edge_signals") is None:
            state = dict(state, edge_signals=_edge_signals(state["trace_weights"],
                                                           state["grad_biases"]))
        self.__dict__.update(state)

    @property
    def n_layers(self) -> int:
        return len(self.weights)


@dataclass(frozen=True, eq=False)
class Focused:
    """What a snapshot shows in one focus: one sample (``sample`` its index) or the batch mean
    (``sample`` None). The diagram, its tables and the exports all read their numbers here.

    Per weights array: ``weights`` (current), ``grad_weights`` (∂L/∂w of the batch, or ∂ℓ/∂w of
    the sample), ``edge_signals`` (w·δ̄, or w·δ of the sample; both at the weights the pass
    used), ``update_weights`` (the pass's Δw: one update, whatever the focus). Per non-input
    layer: ``delta``, ``delta_abs`` (|δ| of the sample, mean |δ| of the batch), ``grad_biases``
    and ``z`` (the sample's only; () for the mean). Per layer: ``activation`` (input included).
    """

    sample: int | None
    samples: int                     # how many samples the values are over (1 for a sample)
    weights: tuple[np.ndarray, ...]
    grad_weights: tuple[np.ndarray, ...]
    edge_signals: tuple[np.ndarray, ...]
    update_weights: tuple[np.ndarray, ...]
    grad_biases: tuple[np.ndarray, ...]
    delta: tuple[np.ndarray, ...]
    delta_abs: tuple[np.ndarray, ...]
    activation: tuple[np.ndarray, ...]
    z: tuple[np.ndarray, ...]
    values: SampleValues | None = None   # the sample's values (sample focus)

    def uplink_sum(self, layer: int, i: int) -> float:
        """Σ_j of the error signals on the uplinks of neuron ``i`` of hidden ``layer`` (its edges
        to the layer above): for one sample, δ_i = f′(z_i) times this."""
        return float(np.sum(self.edge_signals[layer][i]))

    @property
    def is_sample(self) -> bool:
        return self.sample is not None

    @property
    def label(self) -> str:
        """"sample 3" or "mean" (the exports' ``focus`` column)."""
        return "mean" if self.sample is None else f"sample {self.sample}"

    def describe(self) -> str:
        """"for sample 3" or "mean over 1,500 samples" (the diagram's header)."""
        if self.sample is not None:
            return f"for sample {self.sample}"
        n = self.samples
        return f"mean over {n:,} sample{'s' if n != 1 else ''}" if n else "batch mean"


def focused(snap: "Snapshot", sample: bool) -> Focused:
    """``snap``'s values for its pinned sample (``sample`` True and the snapshot carries one) or
    for the batch mean. One sample's edge values are computed here, from the weights the pass
    used: the error signal W[l][i, j] · δ[l][j] and the gradient a[l − 1][i] · δ[l][j] (∂ℓ/∂W[l]
    of that sample alone; NaN in a phase before the gradients)."""
    sv = snap.sample if sample else None
    if sv is not None and len(sv.delta) == len(snap.trace_weights):
        signals = tuple(np.asarray(W) * d[None, :] for W, d in zip(snap.trace_weights, sv.delta))
        if snap.phase is not None and snap.phase.kind not in (GRADIENTS, UPDATE):
            grads = tuple(np.full(np.shape(W), np.nan) for W in snap.trace_weights)
        else:
            grads = tuple(np.outer(a, d) for a, d in zip(sv.a[:-1], sv.delta))
        return Focused(sample=sv.index, samples=1, weights=snap.weights,
                       grad_weights=grads, edge_signals=signals,
                       update_weights=snap.update_weights, grad_biases=sv.delta, delta=sv.delta,
                       delta_abs=tuple(np.abs(d) for d in sv.delta), activation=sv.a, z=sv.z,
                       values=sv)
    return Focused(sample=None, samples=snap.trace_samples, weights=snap.weights,
                   grad_weights=snap.grad_weights, edge_signals=snap.edge_signals,
                   update_weights=snap.update_weights, grad_biases=snap.grad_biases,
                   delta=snap.delta_mean, delta_abs=snap.delta_abs_mean,
                   activation=snap.activation_mean, z=())


def data_bounds(X: np.ndarray, margin: float = 0.1) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) around the first two input columns, padded by ``margin``.

    For 2-D inputs the region is square (both spans equal, centred on the data), so the decision
    boundary fills a panel drawn with equal axis scales.
    """
    lo, hi = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
    if X.shape[1] >= 2:
        centre, half = (lo + hi) / 2, (hi - lo).max() / 2
        lo, hi = centre - half, centre + half
    pad = (hi - lo) * margin + 1e-9
    lo, hi = lo - pad, hi + pad
    if X.shape[1] == 1:
        return float(lo[0]), float(hi[0]), 0.0, 0.0
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def boundary_grid(net: Network, bounds, resolution: int) -> Boundary:
    """The network output on a ``resolution``-point grid over ``bounds`` (1-D or 2-D inputs)."""
    x0, x1, y0, y1 = bounds
    xs = np.linspace(x0, x1, resolution)
    if net.sizes[0] == 1:
        return Boundary(frozen(xs), frozen(np.zeros(0)), frozen(net.forward(xs[:, None])))
    ys = np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    out = net.forward(pts).reshape(resolution, resolution, -1)
    return Boundary(frozen(xs), frozen(ys), frozen(out))


def neuron_maps(net: Network, bounds, resolution: int, max_neurons: int = 256):
    """Every neuron's activation over a small grid of the input plane, per layer (2-D inputs)."""
    if net.sizes[0] != 2 or sum(net.sizes) > max_neurons:
        return ()
    x0, x1, y0, y1 = bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    _, acts, _ = net.forward(pts, keep=True)
    return tuple(frozen(a.T.reshape(-1, resolution, resolution)) for a in acts)


def sample_values(net_weights, net_biases, net: Network, x, t, index: int,
                  phase: Phase | None = None) -> SampleValues:
    """Forward and backward pass for one sample at the given weights; with ``phase`` (a pass
    walked phase by phase) what that phase has not computed yet is NaN."""
    # the same network at those weights, sharing them: no copy (15 MB and 28 ms for 8x512);
    # a pass only reads its weights
    probe = copy.copy(net)
    probe.weights, probe.biases = list(net_weights), list(net_biases)
    tr = probe.backprop(np.asarray(x, float)[None, :], np.asarray(t, float)[None, :])
    if phase is not None:
        tr = partial_trace(tr, phase)
    zs = [z[0] for z in tr.pre_activations]
    acts = [a[0] for a in tr.activations]
    f_prime = [act.df(z, a) for act, z, a in zip(probe.hidden_activations, zs, acts[1:])]
    return SampleValues(index, frozen(x), frozen(t), _frozen_list(zs), _frozen_list(acts),
                        tuple(frozen(d[0]) for d in tr.deltas), _frozen_list(f_prime),
                        float(tr.loss))


def drawing_aids(net: Network, bounds, boundary_resolution: int = 60,
                 map_resolution: int = 16) -> tuple[Boundary | None, tuple[np.ndarray, ...]]:
    """(decision boundary, neuron maps) of ``net`` over ``bounds`` (None: no drawing aids, as for
    more than two inputs). Both are immutable: a snapshot may carry those of an earlier one."""
    if bounds is None or net.sizes[0] > 2:
        return None, ()
    return (boundary_grid(net, bounds, boundary_resolution),
            neuron_maps(net, bounds, map_resolution) or ())


def make_snapshot(trainer: Trainer, *, seq: int, running: bool, trace: Trace | None,
                  trace_weights: Sequence[np.ndarray] | None,
                  trace_biases: Sequence[np.ndarray] | None,
                  new_pass_losses=(), new_pass_positions=(), history_from: int = 0,  # an epoch
                  bounds=None, boundary_resolution: int = 60, map_resolution: int = 16,
                  pinned: int | None = None, message: str = "", trajectory=None,
                  phase: Phase | None = None, rewound_to: float | None = None,
                  stepped_sample: int | None = None, aids=None,
                  stepped_losses: tuple[int, float, float] | None = None,
                  train_now: tuple[float, float, int] | None = None) -> Snapshot:
    """Copy what the window shows out of ``trainer``; ``trace`` is the last pass's (or None).

    ``trajectory`` (a Trajectory), when given, is copied into the snapshot as well. ``aids``, when
    given, is a :func:`drawing_aids` pair to carry instead of computing it over ``bounds``.
    ``train_now``: (loss, accuracy, pass) of the whole training set at the weights of that pass
    (measured here, at the current weights, when not given).
    """
    net = trainer.network
    L = net.n_layers
    if trace is not None:
        tw = trace_weights if trace_weights is not None else net.weights
        tb = trace_biases if trace_biases is not None else net.biases
        has_update = trainer.last_update is not None
        upd = trainer.last_update or [np.zeros_like(p) for p in net.parameters()]
        if phase is not None and phase.kind != UPDATE:     # this pass's update is not known yet
            upd = [np.full_like(p, np.nan) for p in net.parameters()]
            has_update = False
        delta_mean = [d.mean(axis=0) for d in trace.deltas]
        delta_abs = [np.abs(d).mean(axis=0) for d in trace.deltas]
        act_mean = [a.mean(axis=0) for a in trace.activations]
        grads_w, grads_b, signals = trace.grad_weights, trace.grad_biases, trace.edge_signals
        loss = trace.loss
        derived = phase is None or phase.kind in (GRADIENTS, UPDATE)   # grad_biases are known
    else:
        tw, tb = net.weights, net.biases
        has_update = False
        zeros_w = [np.zeros_like(W) for W in net.weights]
        zeros_b = [np.zeros_like(b) for b in net.biases]
        upd = [z for pair in zip(zeros_w, zeros_b) for z in pair]
        y, acts, zs = net.forward(trainer.X, keep=True) if len(trainer.X) else (None, [], [])
        act_mean = [a.mean(axis=0) for a in acts]
        delta_mean = [np.zeros(n) for n in net.sizes[1:]]
        delta_abs = delta_mean
        grads_w, grads_b, signals = zeros_w, zeros_b, zeros_w
        loss = float(net.out.loss(zs[-1], trainer.T).mean()) if zs else float("nan")
        derived = False
    boundary, maps = aids if aids is not None else drawing_aids(net, bounds, boundary_resolution,
                                                                 map_resolution)
    if train_now is None:
        with np.errstate(all="ignore"):
            train_now = (*trainer.evaluate(trainer.X, trainer.T, trainer.labels),
                         trainer.pass_count)
    ds = trainer.dataset
    compact = net.n_parameters > COMPACT_PARAMETERS
    edge = np.float32 if compact else float          # per-edge values of the last pass
    weights = _frozen_list(net.weights)
    if not compact and len(tw) == len(net.weights) and all(a is b for a, b in zip(tw, net.weights)):
        trace_w = weights                            # the pass shown ran at these weights
    else:
        trace_w = _frozen_list(tw, edge)
    sample = None
    if pinned is not None and 0 <= pinned < len(trainer.X):
        # at the weights the snapshot carries (float32 ones when compact), so that the sample's
        # error signals, w·δ from those weights, add up to its deltas exactly
        sw = [np.asarray(w, dtype=float) for w in trace_w] if compact else tw
        sample = sample_values(sw, tb, net, trainer.X[pinned], trainer.T[pinned], pinned, phase)
    grad_b = _frozen_list(grads_b)
    edge_signals = _frozen_list(signals, edge)
    if derived:     # only if rebuilding them gives these values (trace_w may be other weights)
        rebuilt = _edge_signals(trace_w, grad_b)
        same = np.array_equal if not compact else partial(np.allclose, rtol=1e-6, atol=0)
        derived = all(same(r, e, equal_nan=True) for r, e in zip(rebuilt, edge_signals))
    return Snapshot(
        seq=seq, epoch=trainer.epoch, pass_count=trainer.pass_count,
        pass_in_epoch=trainer.pass_in_epoch, passes_per_epoch=trainer.passes_per_epoch(),
        running=running, sizes=tuple(net.sizes), activations=tuple(net.activation_names),
        task=ds.task, class_names=tuple(ds.class_names), optimizer=trainer.optimizer.name,
        lr=trainer.lr, momentum=trainer.momentum, batch_size=trainer.batch_size, l2=trainer.l2,
        weights=weights, biases=_frozen_list(net.biases),
        has_trace=trace is not None, loss=float(loss), trace_weights=trace_w,
        trace_biases=_frozen_list(tb),
        grad_weights=_frozen_list(grads_w, edge), grad_biases=grad_b,
        edge_signals=edge_signals, update_weights=_frozen_list(upd[0::2], edge),
        update_biases=_frozen_list(upd[1::2]), delta_mean=_frozen_list(delta_mean),
        delta_abs_mean=_frozen_list(delta_abs), activation_mean=_frozen_list(act_mean),
        new_pass_losses=frozen(new_pass_losses), new_pass_positions=frozen(new_pass_positions),
        new_history=frozen(trainer.history.rows_since(history_from)),
        history_header=tuple(trainer.history.header(L)),
        history_length=trainer.history.end_epoch,
        boundary=boundary, neuron_maps=maps or (), sample=sample,
        trajectory=None if trajectory is None else frozen(trajectory.points),
        trajectory_passes=None if trajectory is None else frozen(trajectory.passes),
        phase=phase, rewound_to=rewound_to, stepped_sample=stepped_sample,
        stepped_losses=None if stepped_losses is None else (
            int(stepped_losses[0]), float(stepped_losses[1]), float(stepped_losses[2])),
        train_loss_now=float(train_now[0]), train_accuracy_now=float(train_now[1]),
        train_now_pass=int(train_now[2]),
        made_at=time.perf_counter(),
        diverged=trainer.diverged.message() if trainer.diverged else None, message=message,
        has_update=has_update, signals_derived=derived, compact=compact,
        trace_samples=len(trace.losses) if trace is not None else len(trainer.X),
    )


def snapshot_nbytes(snap: Snapshot) -> int:
    """Memory a snapshot holds: its arrays with their headers, containers and values (what a
    history of snapshots costs)."""
    return deep_sizeof(snap)


def training_loss(snap: Snapshot, dataset) -> float:
    """The mean loss over ``dataset``'s training samples at the snapshot's current weights (after
    its last update): what ``bpviz train`` reports after the same passes. (``snap.loss`` is the
    last pass's batch loss, at the weights *before* that pass's update.)"""
    if len(dataset.X_train) == 0:
        return float("nan")
    net = Network(snap.sizes, list(snap.activations[:-1]), snap.activations[-1],
                  weights=snap.weights, biases=snap.biases)
    XT = np.ascontiguousarray(dataset.X_train, dtype=float).T
    TT = np.asarray(dataset.T_train, dtype=float).T
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(net.losses_t(XT, TT)[1].mean())
