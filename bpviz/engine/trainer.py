"""The trainer: a plain object (not a thread) that runs passes, epochs or runs until a condition.

One *pass* is a forward pass, a backward pass and one update over one mini-batch; an *epoch* is the
passes that cover every training sample once. The trainer keeps a per-epoch history evaluated at the
weights at the *start* of each epoch (row e holds the loss before epoch e's first update, as the
classic numpy example prints it): train loss and accuracy, test loss and accuracy, and the gradient
norm of every layer: the gradient of the whole training set's loss at those weights, weights and
biases of the layer together, with the L2 term the optimizer follows (``gradient_norms``). For
full-batch training the row costs nothing extra: it comes from the pass's own trace; with
mini-batches it costs one forward and backward pass over the training set per epoch (summed over
chunks of samples when the whole set's arrays would be large, ``EPOCH_ROW_BYTES``).

Learning rate, momentum, batch size and L2 are plain attributes read on every pass, so they can
change between passes without a reset.

Divergence: a pass whose loss or gradient is not finite, or whose update would make a weight
non-finite, is not applied. Nor is a pass whose loss, though finite, exceeds ``divergence_factor``
times the loss the run started at (``start_loss``: the training loss at the weights of the run's
first pass; a start below ``START_LOSS_FLOOR`` counts as that floor, so that a run starting near 0
is not stopped by noise). A high learning rate with a stable softmax can send the loss from 2 to
hundreds of thousands without ever making it NaN; this catches it. Factor 0 turns the check off.
Training stops, ``diverged`` says in which epoch and pass and why, and the weights in place are
the last ones with a finite loss (below the limit): when the loss at the weights in place is the
problem, the last update is taken back.

The start loss belongs to the run, not to a process: it is kept in ``get_state()``, so a resumed
session, a rewind or a run carried on in another process measure against the same start; weights set by
hand do not move it.

``get_state()`` and ``set_state()`` copy out and restore everything that decides how training goes
on (session files are built on them): a restored trainer continues bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Callable

import numpy as np

from .data import Dataset
from .memory import deep_sizeof
from .network import Network, Trace
from .optimizers import make_optimizer
from .ranges import COUNTS, RANGES, readable, whole_number

SHUFFLE_SEED_OFFSET = 104729   # the shuffle stream is RandomState(seed + this), apart from data/weights
SAMPLE_ORDER_SEED_OFFSET = 7919   # a full-batch epoch stepped a sample at a time: seed + this + epoch
MT19937_WORDS = 624            # length of the Mersenne Twister key in RandomState's state
DIVERGENCE_FACTOR = 1000.0     # a loss above this many times the start loss counts as diverged
START_LOSS_FLOOR = 0.01        # a start loss below this is measured as this (a run starting near 0)
EPOCH_ROW_BYTES = 64 * 1024 ** 2   # the epoch row's pass over the training set: at most this much
                                   # memory for z, a and δ, else the gradient is summed in chunks


def check_divergence_factor(value) -> float:
    """``value`` as a divergence factor, in its range (``RANGES``); ValueError otherwise."""
    return float(RANGES["divergence_factor"].check(value, error=ValueError))


@dataclass
class Divergence:
    epoch: int
    pass_index: int
    reason: str

    def message(self) -> str:
        return (f"training diverged in epoch {self.epoch} (pass {self.pass_index}): {self.reason}; "
                f"the last finite weights are kept — try a smaller learning rate")


class History:
    """Per-epoch rows, evaluated at the weights at the start of each epoch.

    Columns: epoch, loss, accuracy, test loss, test accuracy, and the gradient norm of every layer
    (``grad_norms``). The rows live in one float array. With ``max_rows`` set (the window sets
    it; headless runs keep every row) the history never grows past it: when full, every other row
    of the older half is dropped, so a long run keeps its whole shape at a coarser step. Row
    positions are therefore given by *epoch*, not by index (``rows_since``, ``truncate_epochs``).
    """

    COLUMNS = ("epoch", "loss", "accuracy", "test_loss", "test_accuracy")

    def __init__(self, max_rows: int | None = None):
        if max_rows is not None and max_rows < 4:
            raise ValueError(f"a history needs room for at least 4 rows, got {max_rows}")
        self.max_rows = max_rows
        self._rows: np.ndarray | None = None
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def append(self, epoch, loss, acc, test_loss, test_acc, grad_norms) -> None:
        row = np.concatenate([[epoch, loss, acc, test_loss, test_acc],
                              np.asarray(grad_norms, dtype=float)])
        if self.max_rows is not None and self.n >= self.max_rows:
            self._thin()
        self._reserve(1, len(row))
        self._rows[self.n] = row
        self.n += 1

    def extend(self, rows) -> None:
        """Append several rows at once, (k, columns) as ``table()`` gives them."""
        rows = np.asarray(rows, dtype=float)
        if rows.ndim != 2 or len(rows) == 0:
            return
        if self.max_rows is not None and self.n + len(rows) > self.max_rows:
            for row in rows:                 # thinning happens between rows
                self.append(*row[:5], row[5:])
            return
        self._reserve(len(rows), rows.shape[1])
        self._rows[self.n:self.n + len(rows)] = rows
        self.n += len(rows)

    def _reserve(self, k: int, width: int) -> None:
        """Room for ``k`` more rows: the array doubles (at least) when full."""
        if self._rows is None:
            self._rows = np.empty((max(64, k), width))
        elif self.n + k > len(self._rows):
            rows = max(2 * len(self._rows), self.n + k)
            if self.max_rows is not None:               # never past the cap
                rows = max(min(rows, self.max_rows), self.n + k)
            grown = np.empty((rows, self._rows.shape[1]))
            grown[:self.n] = self._rows[:self.n]
            self._rows = grown

    def _thin(self) -> None:
        half = self.n // 2
        kept = np.concatenate([self._rows[0:half:2], self._rows[half:self.n]])
        self.n = len(kept)
        self._rows[:self.n] = kept

    def _column(self, k: int) -> np.ndarray:
        return np.zeros(0) if self._rows is None else self._rows[:self.n, k]

    @property
    def epoch(self) -> np.ndarray:
        return self._column(0).astype(np.int64)

    @property
    def loss(self) -> np.ndarray:
        return self._column(1)

    @property
    def accuracy(self) -> np.ndarray:
        return self._column(2)

    @property
    def test_loss(self) -> np.ndarray:
        return self._column(3)

    @property
    def test_accuracy(self) -> np.ndarray:
        return self._column(4)

    @property
    def grad_norms(self) -> np.ndarray:
        """(rows, layers) gradient norms."""
        return np.zeros((0, 0)) if self._rows is None else self._rows[:self.n, 5:]

    @property
    def end_epoch(self) -> int:
        """The epoch after the last row (0 when empty)."""
        return int(self._rows[self.n - 1, 0]) + 1 if self.n else 0

    def header(self, n_layers: int) -> list[str]:
        return list(self.COLUMNS) + [f"grad_norm_{i + 1}" for i in range(n_layers)]

    def table(self, start: int = 0) -> np.ndarray:
        """A copy of rows ``start:`` with the columns of ``header``."""
        if self._rows is None:
            return np.zeros((0, len(self.COLUMNS)))
        return self._rows[start:self.n].copy()

    def rows_since(self, epoch: int) -> np.ndarray:
        """A copy of the rows of epoch ``epoch`` and later."""
        if self._rows is None:
            return np.zeros((0, len(self.COLUMNS)))
        start = int(np.searchsorted(self._rows[:self.n, 0], epoch, side="left"))
        return self._rows[start:self.n].copy()

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` rows."""
        self.n = min(self.n, max(0, n))

    def truncate_epochs(self, epoch: int) -> None:
        """Drop the rows of epoch ``epoch`` and later."""
        if self._rows is not None:
            self.n = int(np.searchsorted(self._rows[:self.n, 0], epoch, side="left"))


def gradient_norms(grad_weights, grad_biases, weights, l2: float = 0.0) -> list[float]:
    """The norm of every layer's gradient, weights and biases together:
    ‖(∂L/∂W[l] + λ·W[l], ∂L/∂b[l])‖, with the L2 term λ·W[l] (``l2``; the biases have none)
    that the optimizer follows."""
    norms = []
    for W, gW, gb in zip(weights, grad_weights, grad_biases):
        g = gW + l2 * W if l2 else gW
        norms.append(float(np.sqrt((g * g).sum() + (gb * gb).sum())))
    return norms


def accuracy(y: np.ndarray, labels: np.ndarray | None) -> float:
    """Fraction of samples whose predicted class equals the label (NaN for regression/no data)."""
    return accuracy_t(np.asarray(y).T, labels)


def accuracy_t(yT: np.ndarray, labels: np.ndarray | None) -> float:
    """``accuracy`` for outputs with samples in columns, (K, N)."""
    if labels is None or len(labels) == 0:
        return float("nan")
    if yT.shape[0] == 1:                     # one sigmoid unit: class 1 when y > 0.5
        pred = yT[0] > 0.5
    elif yT.shape[0] <= 16:
        # argmax over a few rows, the first maximum winning as in argmax, row by row: a
        # reduction across rows with a short inner loop per sample costs ten times more
        pred = np.zeros(yT.shape[1], dtype=np.intp)
        best = yT[0].copy()
        for k in range(1, yT.shape[0]):
            better = yT[k] > best
            pred[better] = k
            np.maximum(best, yT[k], out=best)
    else:
        pred = yT.argmax(axis=0)
    return float((pred == labels).mean())


@dataclass
class PassResult:
    trace: Trace
    indices: np.ndarray | None       # sample indices of the batch (None: the whole training set)
    update: list[np.ndarray] | None  # Δθ applied, [ΔW0, Δb0, ...]; None when not applied
    epoch: int
    pass_index: int                  # passes completed before this one
    diverged: Divergence | None = None


class Trainer:
    """Trains ``network`` on ``dataset``.

    ``batch_size`` 0 (or ≥ N) means full batch. Mini-batches are drawn from a fresh permutation of
    the training set every epoch, from a seeded generator.
    """

    def __init__(self, network: Network, dataset: Dataset, *, optimizer: str = "sgd",
                 lr: float = 0.1, momentum: float = 0.0, batch_size: int = 0, l2: float = 0.0,
                 seed: int = 0, history_rows: int | None = None,
                 divergence_factor: float = DIVERGENCE_FACTOR):
        self.network = network
        self.dataset = dataset
        self.X = np.ascontiguousarray(dataset.X_train, dtype=float)
        self.T = dataset.T_train
        self.X_test = np.ascontiguousarray(dataset.X_test, dtype=float)
        self.T_test = dataset.T_test
        # the same data with samples in columns, as the network's passes take it
        self._XT = np.ascontiguousarray(self.X.T)
        self._TT = np.ascontiguousarray(np.asarray(self.T, dtype=float).T)
        self._XT_test = np.ascontiguousarray(self.X_test.T)
        self._TT_test = np.ascontiguousarray(np.asarray(self.T_test, dtype=float).T)
        self.labels = dataset.y_train if dataset.is_classification else None
        self.test_labels = dataset.y_test if dataset.is_classification else None
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.batch_size = int(batch_size)
        self.l2 = float(l2)
        self.seed = seed
        self.divergence_factor = check_divergence_factor(divergence_factor)
        self.start_loss: float | None = None   # training loss at the run's first pass
        self.optimizer = make_optimizer(optimizer, [p.shape for p in network.parameters()])
        self.shuffle_rng = np.random.RandomState(seed + SHUFFLE_SEED_OFFSET)
        self.epoch = 0            # completed epochs
        self.pass_count = 0       # completed passes
        self.pass_in_epoch = 0    # passes completed in the current epoch
        self.taken = 0            # samples of the current epoch's order used so far
        self._order: np.ndarray | None = None
        self._epoch_batch = 0     # batch size fixed for the current epoch
        self._order_drawn = False  # the current epoch's permutation was drawn by peek_batch
        self.history = History(history_rows)
        self.last_trace: Trace | None = None
        self.last_update: list[np.ndarray] | None = None
        self.diverged: Divergence | None = None
        self._previous: list[np.ndarray] | None = None   # parameters before the last update

    # -- state -------------------------------------------------------------------------------

    @property
    def n_train(self) -> int:
        return self.X.shape[0]

    @property
    def full_batch(self) -> bool:
        return self.batch_size <= 0 or self.batch_size >= self.n_train

    @property
    def position(self) -> float:
        """Where training stands, as a fractional epoch: epochs done plus the share of this
        epoch's samples already used."""
        return self.epoch + self.taken / self.n_train

    def passes_per_epoch(self) -> int:
        """Passes of the current epoch: those done plus those its remaining samples need."""
        if not self.taken:
            return -(-self.n_train // self._effective_batch())
        return self.pass_in_epoch + -(-(self.n_train - self.taken) // self._epoch_batch)

    def divergence_limit(self) -> float | None:
        """The loss above which a pass counts as diverged (None: no limit, because the check is
        off or the run has not made its first pass)."""
        if not self.divergence_factor or self.start_loss is None:
            return None
        return self.divergence_factor * max(self.start_loss, START_LOSS_FLOOR)

    def _effective_batch(self) -> int:
        return self.n_train if self.full_batch else self.batch_size

    def evaluate(self, X: np.ndarray, T: np.ndarray, labels) -> tuple[float, float]:
        """(loss, accuracy) of the current weights on (X, T)."""
        if len(X) == 0:
            return float("nan"), float("nan")
        return self._evaluate_t(np.asarray(X, dtype=float).T, np.asarray(T, dtype=float).T, labels)

    def _evaluate_t(self, XT: np.ndarray, TT: np.ndarray, labels) -> tuple[float, float]:
        if XT.shape[1] == 0:
            return float("nan"), float("nan")
        yT, losses = self.network.losses_t(XT, TT)
        return float(losses.mean()), accuracy_t(yT, labels)

    # -- one pass ----------------------------------------------------------------------------

    def peek_batch(self) -> np.ndarray | None:
        """Sample indices of the next pass's mini-batch (None: the whole training set), without
        running it. At the start of an epoch this draws the epoch's permutation once; the next
        ``step`` uses the same batch."""
        return self._peek(None)

    def _peek(self, size: int | None) -> np.ndarray | None:
        if self.taken == 0 and not self._order_drawn:
            self._epoch_batch = self._effective_batch()
            self._order = (None if self._epoch_batch >= self.n_train
                           else self.shuffle_rng.permutation(self.n_train))
            self._order_drawn = True
        start = self.taken
        size = self._epoch_batch if size is None else size
        if self._order is None:      # full-batch epoch
            if start == 0 and size >= self.n_train:
                return None
            if start > 0:            # stepped sample by sample in file order (an older session)
                return np.arange(start, min(self.n_train, start + size))
            # stepped a sample (or a few) at a time: online gradient descent takes the samples
            # in a shuffled order, so this epoch gets one, and its remaining pass takes the rest
            self._order = self.sample_order(self.epoch)
        return self._order[start:start + size]

    def sample_order(self, epoch: int) -> np.ndarray:
        """The order in which a full-batch epoch's samples are taken when it is stepped a sample
        at a time: a permutation of its own stream, seeded by the run's seed and the epoch, so
        stepping leaves the mini-batch shuffle stream (and every later epoch) as it was."""
        seed = (self.seed + SAMPLE_ORDER_SEED_OFFSET + int(epoch)) % 2**32
        return np.random.RandomState(seed).permutation(self.n_train)

    def batch_t(self, idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The training inputs and targets of batch ``idx`` (None: all), samples in columns."""
        return (self._XT, self._TT) if idx is None else (self._XT[:, idx], self._TT[:, idx])

    def step(self, samples: int | None = None) -> PassResult:
        """Run one pass: forward, backward and update over the next mini-batch.

        With ``samples`` (e.g. 1: one training example, as online backprop does it) the pass
        takes only that many of the next samples of the epoch's order; the epoch's later passes
        go on from there, and the epoch still covers every sample once."""
        net = self.network
        idx = self._peek(samples)
        XT, TT = self.batch_t(idx)
        with np.errstate(over="ignore", invalid="ignore"):   # divergence is reported below
            trace = net.backprop_t(XT, TT)
        epoch_start = self.taken == 0
        result = PassResult(trace, idx, None, self.epoch, self.pass_count)
        grads = []
        for W, gW, gb in zip(net.weights, trace.grad_weights, trace.grad_biases):
            grads += [gW + self.l2 * W if self.l2 else gW, gb]
        if not np.isfinite(trace.loss):
            return self._diverge(result, f"the loss became {trace.loss}", rollback=True)
        if not all(np.isfinite(g).all() for g in grads):
            return self._diverge(result, "a gradient became non-finite")
        limit = self.divergence_limit()
        if limit is not None and trace.loss > limit:
            # finite but far above the start: the weights in place overshot, step back as for NaN
            return self._diverge(result, self._overshoot(trace.loss), rollback=True)
        start_loss = self.start_loss
        if epoch_start:
            self._record_epoch_row(trace, idx)
            if start_loss is None:      # the training loss at these weights, whole set
                start_loss = float(self.history.loss[-1])
        if start_loss is None:          # a run first stepped mid-epoch: this pass's loss
            start_loss = float(trace.loss)
        updates = self.optimizer.updates(grads, self.lr, self.momentum)
        params = net.parameters()
        new = [p + d for p, d in zip(params, updates)]
        if not all(np.isfinite(p).all() for p in new):
            if epoch_start:
                self.history.truncate(len(self.history) - 1)
            return self._diverge(result, "an update made a weight non-finite")
        self._previous = params
        self.start_loss = start_loss
        net.weights[:] = new[0::2]
        net.biases[:] = new[1::2]
        self.last_trace = trace
        self.last_update = updates
        self.diverged = None
        result.update = updates
        self._order_drawn = False
        self.pass_count += 1
        self.pass_in_epoch += 1
        self.taken += self.n_train if idx is None else len(idx)
        if self.taken >= self.n_train:
            self.pass_in_epoch = 0
            self.taken = 0
            self.epoch += 1
        return result

    def _record_epoch_row(self, trace: Trace, idx) -> None:
        if idx is None:       # full batch: the trace is the training set at these weights
            loss, acc = trace.loss, accuracy_t(trace.output.T, self.labels)
            grads = trace.grad_weights, trace.grad_biases
        else:                 # a mini-batch: one more pass, backward too, over the training set
            loss, acc, grads = self._whole_set_gradient()
        norms = gradient_norms(*grads, self.network.weights, self.l2)
        test_loss, test_acc = self._evaluate_t(self._XT_test, self._TT_test, self.test_labels)
        self.history.append(self.epoch, loss, acc, test_loss, test_acc, norms)

    def _overshoot(self, loss: float) -> str:
        return (f"the loss jumped from {readable(self.start_loss)} to {readable(loss)}, more than "
                f"{readable(self.divergence_factor)} times where it started: the learning rate "
                f"overshoots")

    def _whole_set_gradient(self):
        """(loss, accuracy, (grad_weights, grad_biases)) over every training sample at the
        current weights: one forward and backward pass, or, when its arrays would take more than
        ``EPOCH_ROW_BYTES``, the gradient summed over chunks of samples."""
        net, N = self.network, self.n_train
        step = max(1, EPOCH_ROW_BYTES // (8 * 3 * sum(net.sizes)))     # z, a and δ per sample
        with np.errstate(over="ignore", invalid="ignore"):
            if step >= N:
                trace = net.backprop_t(self._XT, self._TT)
                return (trace.loss, accuracy_t(trace.output.T, self.labels),
                        (trace.grad_weights, trace.grad_biases))
            loss, acc = self._evaluate_t(self._XT, self._TT, self.labels)
            gW = [np.zeros_like(W) for W in net.weights]
            gb = [np.zeros_like(b) for b in net.biases]
            for start in range(0, N, step):
                part = slice(start, min(N, start + step))
                t = net.backprop_t(self._XT[:, part], self._TT[:, part])
                share = (part.stop - part.start) / N          # each chunk's mean, weighted
                for k in range(len(gW)):
                    gW[k] += share * t.grad_weights[k]
                    gb[k] += share * t.grad_biases[k]
        return loss, acc, (gW, gb)

    def _diverge(self, result: PassResult, reason: str, rollback: bool = False) -> PassResult:
        result.diverged = self._diverged(reason, rollback)
        return result

    def _diverged(self, reason: str, rollback: bool) -> Divergence:
        previous = self._previous
        if rollback and previous is not None:
            # the weights in place give a non-finite loss: step back to the last finite ones
            self.network.weights[:] = previous[0::2]
            self.network.biases[:] = previous[1::2]
            self._previous = None
        self.diverged = Divergence(self.epoch, self.pass_count, reason)
        return self.diverged

    def check_weights(self) -> Divergence | None:
        """Check the weights in place as the next pass would, without making it: when the
        training loss at them (over the whole training set) is not finite or above
        ``divergence_limit()``, training has diverged — the last update is taken back and the
        Divergence recorded and returned, as a pass would. None when they are fine.

        A run that stops after its last pass calls this, so an overshoot in that pass is caught
        although no pass follows it."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, _ = self._evaluate_t(self._XT, self._TT, None)
        if not math.isfinite(loss):
            return self._diverged(f"the loss became {loss}", rollback=True)
        limit = self.divergence_limit()
        if limit is not None and loss > limit:
            return self._diverged(self._overshoot(loss), rollback=True)
        return None

    # -- longer runs -------------------------------------------------------------------------

    def run_epoch(self) -> PassResult | None:
        """Run passes until the current epoch is complete (or training diverges)."""
        result = None
        start = self.epoch
        while self.epoch == start:
            result = self.step()
            if result.diverged:
                break
        return result

    def run(self, epochs: int | None = None, until: Callable[["Trainer"], bool] | None = None,
            max_passes: int | None = None, on_pass: Callable[[PassResult], None] | None = None):
        """Run until ``epochs`` more epochs are done, ``until(trainer)`` is true, ``max_passes``
        passes ran, or training diverges. Returns the Divergence or None.

        The weights the last pass left are checked too (``check_weights``): a run whose last
        update overshot ends diverged, like one that had gone on a pass longer."""
        target = None if epochs is None else self.epoch + epochs
        passes = 0
        while True:
            if ((target is not None and self.epoch >= target)
                    or (until is not None and until(self))
                    or (max_passes is not None and passes >= max_passes)):
                return self.check_weights() if passes else None
            result = self.step()
            passes += 1
            if on_pass is not None:
                on_pass(result)
            if result.diverged:
                return result.diverged

    # -- saving and restoring ----------------------------------------------------------------

    def get_state(self, history: bool = True) -> dict:
        """Everything that decides how training goes on, as plain values and copied arrays.

        With ``history=False`` the history is not copied (a cheap in-memory checkpoint for
        "rewind"): ``set_state`` then cuts the history back to ``history_length`` rows.

        Keys: ``weights``, ``biases``; ``previous`` (the parameters before the last update, which
        a divergence rolls back to, or None); ``optimizer`` (``Optimizer.get_state()``); the live
        hyper-parameters ``lr``, ``momentum``, ``batch_size``, ``l2``; the counters ``epoch``,
        ``pass_count``, ``pass_in_epoch``, ``taken`` (samples of the epoch used); ``epoch_batch``, ``order`` and ``order_drawn`` (the
        current epoch's batch size and permutation, or None, and whether ``peek_batch`` drew it
        ahead of the epoch's first pass); ``shuffle_rng`` (``RandomState.get_state(legacy=
        False)``); ``history`` (one array per column, ``grad_norms`` of shape (rows, layers));
        ``last_update`` (the Δθ of the last pass, or None); ``diverged`` (the fields of the last
        Divergence, or None); ``start_loss`` (the training loss at the run's first pass, or None
        before it) and ``divergence_factor``, which decide when a pass counts as diverged. Only the last trace is left out: it is what the last pass showed,
        and nothing that follows depends on it.
        """
        h = self.history
        return {
            "weights": [W.copy() for W in self.network.weights],
            "biases": [b.copy() for b in self.network.biases],
            "previous": None if self._previous is None else [p.copy() for p in self._previous],
            "optimizer": self.optimizer.get_state(),
            "lr": self.lr, "momentum": self.momentum, "batch_size": self.batch_size,
            "l2": self.l2,
            "epoch": self.epoch, "pass_count": self.pass_count,
            "pass_in_epoch": self.pass_in_epoch, "taken": self.taken,
            "epoch_batch": self._epoch_batch,
            "order": None if self._order is None else self._order.copy(),
            "order_drawn": self._order_drawn,
            "shuffle_rng": self.shuffle_rng.get_state(legacy=False),   # a copy
            "history_length": h.end_epoch,
            "history": None if not history else {
                "epoch": np.array(h.epoch, dtype=np.int64),
                "loss": np.array(h.loss, dtype=float),
                "accuracy": np.array(h.accuracy, dtype=float),
                "test_loss": np.array(h.test_loss, dtype=float),
                "test_accuracy": np.array(h.test_accuracy, dtype=float),
                "grad_norms": np.array(h.grad_norms, dtype=float).reshape(len(h),
                                                                         self.network.n_layers),
            },
            "last_update": (None if self.last_update is None else
                            [u.copy() for u in self.last_update]),
            "diverged": None if self.diverged is None else asdict(self.diverged),
            "start_loss": self.start_loss,
            "divergence_factor": self.divergence_factor,
        }

    def set_state(self, state: dict) -> None:
        """Restore a ``get_state()`` taken from a trainer with the same network shape, optimizer
        and training data.

        Everything is checked before anything changes: a state that does not fit (a missing key,
        an array of the wrong shape, non-finite weights, a counter out of range, an order that is
        not a permutation of the training samples) raises ValueError or TypeError naming what is
        wrong, and leaves the trainer as it was.

        States written before ``start_loss`` existed take it from the history's row of epoch 0
        (the same number: the training loss before the first update), or leave it unset when that
        row is not there, so the next pass sets it; without ``divergence_factor`` the trainer
        keeps its own.
        """
        shapes = [p.shape for p in self.network.parameters()]
        weights = _arrays("weights", state["weights"], shapes[0::2], finite=True)
        biases = _arrays("biases", state["biases"], shapes[1::2], finite=True)
        previous = (None if state["previous"] is None else
                    _arrays("previous parameters", state["previous"], shapes, finite=True))
        optimizer = self._checked_optimizer_state(state["optimizer"], shapes)
        lr = _real("learning rate", state["lr"], positive=True)
        momentum = _real("momentum", state["momentum"])
        l2 = _real("L2", state["l2"])
        batch_size = RANGES["batch_size"].check(state["batch_size"], error=ValueError)
        epoch = COUNTS["epoch"].check(state["epoch"], error=ValueError)
        pass_count = COUNTS["pass_count"].check(state["pass_count"], error=ValueError)
        if pass_count < epoch:
            raise ValueError(f"{pass_count} passes cannot make {epoch} epochs (an epoch is at "
                             f"least one pass)")
        pass_in_epoch = whole_number("pass in epoch", state["pass_in_epoch"])
        epoch_batch = whole_number("epoch batch size", state["epoch_batch"])
        # states written before single-sample passes existed hold whole batches only
        taken = whole_number("samples taken", state.get("taken", pass_in_epoch * epoch_batch))
        if pass_in_epoch > pass_count or epoch_batch > max(self.n_train,
                                                           RANGES["batch_size"].hi):
            raise ValueError(f"pass {pass_in_epoch} of the epoch with batches of {epoch_batch} "
                             f"does not fit {pass_count} passes of {self.n_train} samples")
        order = None if state["order"] is None else self._checked_order(state["order"])
        order_drawn = state["order_drawn"]
        if not isinstance(order_drawn, bool):
            raise TypeError(f"order_drawn must be true or false, got {order_drawn!r}")
        if pass_in_epoch or taken or order_drawn:   # the epoch's batches are fixed: do they fit?
            n = self.n_train
            fits = (taken < n and (taken > 0) == (pass_in_epoch > 0) and taken >= pass_in_epoch
                    and (epoch_batch >= n if order is None else 0 < epoch_batch < n))
            if not fits:
                raise ValueError(f"pass {pass_in_epoch} ({taken} samples) into an epoch of "
                                 f"{'shuffled' if order is not None else 'full'} batches of "
                                 f"{epoch_batch} does not fit {n} training samples")
        shuffle_rng = _random_state(state["shuffle_rng"])
        if state["history"] is not None:
            history = self._checked_history(state["history"], epoch)
        else:
            keep = whole_number("history length", state["history_length"])
            if keep > self.history.end_epoch:
                raise ValueError(f"a checkpoint of history up to epoch {keep} does not fit a "
                                 f"history that ends at epoch {self.history.end_epoch}")
        last_update = (None if state["last_update"] is None else
                       _arrays("last update", state["last_update"], shapes))
        diverged = None
        if state["diverged"] is not None:
            d = state["diverged"]
            if not isinstance(d["reason"], str):
                raise TypeError("the divergence reason must be text")
            diverged = Divergence(whole_number("divergence epoch", d["epoch"]),
                                  whole_number("divergence pass", d["pass_index"]), d["reason"])
            if diverged.epoch > epoch or diverged.pass_index > pass_count:
                raise ValueError(f"a divergence in epoch {diverged.epoch} (pass "
                                 f"{diverged.pass_index}) lies after where the run stands "
                                 f"(epoch {epoch}, pass {pass_count})")
        if "start_loss" in state:
            start_loss = (None if state["start_loss"] is None else
                          _real("start loss", state["start_loss"]))
        else:
            start_loss = None
            if state["history"] is not None and len(history) and history.epoch[0] == 0 \
                    and math.isfinite(history.loss[0]):
                start_loss = float(history.loss[0])
        divergence_factor = check_divergence_factor(
            state.get("divergence_factor", self.divergence_factor))

        self.network.weights[:] = weights
        self.network.biases[:] = biases
        self._previous = previous
        self.optimizer.set_state(optimizer)
        self.lr, self.momentum, self.l2, self.batch_size = lr, momentum, l2, batch_size
        self.epoch, self.pass_count, self.pass_in_epoch = epoch, pass_count, pass_in_epoch
        self.taken = taken
        self._epoch_batch, self._order, self._order_drawn = epoch_batch, order, order_drawn
        self.shuffle_rng = shuffle_rng
        if state["history"] is not None:
            self.history = history
        else:
            self.history.truncate_epochs(keep)
        self.last_update = last_update
        self.diverged = diverged
        self.start_loss, self.divergence_factor = start_loss, divergence_factor
        self.last_trace = None

    def _checked_optimizer_state(self, state: dict, shapes) -> dict:
        current = self.optimizer.state
        if set(state) != set(current):
            raise ValueError(f"the {self.optimizer.name} optimizer keeps "
                             f"{', '.join(sorted(current)) or 'no state'}, got "
                             f"{', '.join(sorted(state)) or 'none'}")
        return {k: (_arrays(f"optimizer {k}", v, shapes) if isinstance(current[k], list)
                    else COUNTS["pass_count"].check(v, f"optimizer {k}", ValueError))
                for k, v in state.items()}

    def _checked_order(self, order) -> np.ndarray:
        order = np.asarray(order)
        if (order.dtype.kind not in "iu" or order.shape != (self.n_train,)
                or not np.array_equal(np.sort(order), np.arange(self.n_train))):
            raise ValueError(f"the epoch's order is not a permutation of the {self.n_train} "
                             f"training samples")
        return order.astype(np.int64)

    def _checked_history(self, columns: dict, epochs_done: int) -> History:
        """The saved history columns as a History: one row per epoch, in order — epochs rising,
        none after the current epoch ``epochs_done`` — with losses and gradient norms ≥ 0 and
        accuracies from 0 to 1 (NaN where a value does not exist, e.g. no test set)."""
        L = self.network.n_layers
        epoch = np.asarray(columns["epoch"])
        if epoch.ndim != 1 or epoch.dtype.kind not in "iu":
            raise ValueError("the history's epoch column must hold whole numbers")
        n = len(epoch)
        if n and (epoch[0] < 0 or epoch[-1] > epochs_done or (np.diff(epoch) <= 0).any()):
            raise ValueError(f"the history's rows are not in order: their epochs must rise, each "
                             f"once, from 0 to at most the epoch count {epochs_done}")
        values = [_arrays(f"history {name}", [columns[name]], [(n,)])[0]
                  for name in History.COLUMNS[1:]]
        grad_norms = _arrays("history grad_norms", [columns["grad_norms"]], [(n, L)])[0]
        for name, v in [*zip(History.COLUMNS[1:], values), ("grad_norms", grad_norms)]:
            top = 1.0 if name.endswith("accuracy") else math.inf
            if ((v < 0) | (v > top)).any():
                raise ValueError(f"the history's {name} column holds values outside 0 to "
                                 f"{'1' if top == 1 else 'infinity'}")
        history = History(self.history.max_rows)
        for row, (e, loss, acc, test_loss, test_acc) in enumerate(zip(epoch, *values)):
            history.append(int(e), float(loss), float(acc), float(test_loss), float(test_acc),
                           grad_norms[row].copy())
        return history


def _arrays(name: str, arrays, shapes, finite: bool = False) -> list[np.ndarray]:
    """``arrays`` as C-ordered float copies, checked against ``shapes`` (and for finiteness)."""
    if len(arrays) != len(shapes):
        raise ValueError(f"{name}: {len(arrays)} arrays, the network needs {len(shapes)}")
    out = []
    for k, (a, shape) in enumerate(zip(arrays, shapes)):
        a = np.array(a, dtype=float, order="C")
        if a.shape != tuple(shape):
            raise ValueError(f"{name} {k} has shape {a.shape}, the network needs {tuple(shape)}")
        if finite and not np.isfinite(a).all():
            raise ValueError(f"{name} {k} are not all finite")
        out.append(a)
    return out


def _real(name: str, value, positive: bool = False) -> float:
    if (not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value)
            or value < 0 or (positive and value == 0)):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '≥'} 0, "
                         f"got {value!r}")
    return float(value)


def _random_state(state: dict) -> np.random.RandomState:
    """A RandomState set to ``state`` (``get_state(legacy=False)`` form), checked first: numpy
    trusts the key position and reads out of bounds when it is wrong."""
    key = np.asarray(state["state"]["key"])
    pos = whole_number("shuffle generator position", state["state"]["pos"])
    if (state["bit_generator"] != "MT19937" or key.dtype.kind not in "iu"
            or key.shape != (MT19937_WORDS,) or key.min() < 0 or key.max() >= 2 ** 32
            or pos > MT19937_WORDS or state["has_gauss"] not in (0, 1)
            or not isinstance(state["gauss"], Real) or not math.isfinite(state["gauss"])):
        raise ValueError("the shuffle generator's state is not a valid MT19937 state")
    rng = np.random.RandomState()
    rng.set_state({"bit_generator": "MT19937",
                   "state": {"key": key.astype(np.uint32), "pos": pos},
                   "has_gauss": int(state["has_gauss"]), "gauss": float(state["gauss"])})
    return rng


def state_nbytes(state: dict) -> int:
    """Memory a ``Trainer.get_state()`` holds: arrays with their headers, the lists and dicts
    around them and their values."""
    return deep_sizeof(state)
