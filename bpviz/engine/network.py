"""The network, its forward pass and backpropagation with a full trace.

Layers are numbered as in the package docstring: layer 0 is the input, layer l ≥ 1 is fed by
``weights[l − 1]`` and ``biases[l − 1]`` (W[l] and b[l] below), and layer L = ``n_layers`` is the
output. For one mini-batch ``X`` of N samples:

    a[0] = X
    z[l] = a[l−1] W[l] + b[l]                 pre_activation(l, a), (N, n_l)
    a[l] = f_l(z[l])                          activate(l, z)
    δ[L] = y − t                              canonical output/loss pairs
    δ[l] = f'_l(z[l]) ⊙ (δ[l+1] W[l+1]ᵀ)       per sample, not divided by N
    ∂loss/∂W[l] = a[l−1]ᵀ δ[l] / N,  ∂loss/∂b[l] = mean_n δ[l]
    edge signal i→j of W[l] = W[l][i, j] · mean_n δ[l][n, j]

``pre_activation`` and ``activate`` are the one forward pass: training, the surface slice and the
inspector all go through them (``forward_to`` and ``forward_from`` chain them). The lists of a
:class:`Trace` are indexed from 0 like ``weights``: ``activations[l]`` is a[l] (``activations[0]``
is X), while ``pre_activations[l − 1]``, ``deltas[l − 1]``, ``grad_weights[l − 1]``,
``grad_biases[l − 1]`` and ``edge_signals[l − 1]`` belong to layer l.

The backward sweep reuses δ of the layer above: that reuse is what makes backprop dynamic
programming.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .functions import Activation, Output, activation, output as get_output

INITS = ("normal", "xavier", "he", "uniform")


def init_weights(sizes: Sequence[int], init: str, rng: np.random.RandomState):
    """Weights and biases for ``sizes``, drawn from ``rng`` in the order W0, b0, W1, b1, ...

    - ``normal``: the classic standard normal for weights and biases (the gaussian-clouds example);
    - ``xavier``: Glorot normal, std √(2 / (fan_in + fan_out)), zero biases;
    - ``he``: normal with std √(2 / fan_in), zero biases;
    - ``uniform``: U(−0.5, 0.5) for weights and biases.
    """
    if init not in INITS:
        raise ValueError(f"unknown initialisation {init!r}; choose one of {', '.join(INITS)}")
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if init == "normal":
            W = rng.randn(fan_in, fan_out)
            b = rng.randn(fan_out)
        elif init == "xavier":
            W = rng.randn(fan_in, fan_out) * np.sqrt(2.0 / (fan_in + fan_out))
            b = np.zeros(fan_out)
        elif init == "he":
            W = rng.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)
            b = np.zeros(fan_out)
        else:
            W = rng.uniform(-0.5, 0.5, size=(fan_in, fan_out))
            b = rng.uniform(-0.5, 0.5, size=fan_out)
        weights.append(W)
        biases.append(b)
    return weights, biases


@dataclass
class Trace:
    """Everything one forward and backward pass computed (no update)."""

    loss: float
    losses: np.ndarray                 # (N,) per-sample loss ℓ_n
    activations: list[np.ndarray]      # [l]: a[l], (N, n_l); a[0] = X ... a[L] = y
    pre_activations: list[np.ndarray]  # [l − 1]: z[l], (N, n_l)
    deltas: list[np.ndarray]           # [l − 1]: δ[l] = ∂ℓ_n/∂z[l], (N, n_l)
    grad_weights: list[np.ndarray]     # [l − 1]: ∂loss/∂W[l], shaped like weights[l − 1]
    grad_biases: list[np.ndarray]      # [l − 1]: ∂loss/∂b[l]
    edge_signals: list[np.ndarray]     # [l − 1]: W[l] · mean_n δ[l], (n_{l−1}, n_l)

    @property
    def output(self) -> np.ndarray:
        return self.activations[-1]


class Network:
    """A fully connected feed-forward network.

    ``Network([2, 3, 3], hidden_activation="sigmoid", output="softmax", seed=0)`` builds the
    classic 2-3-3 network. ``hidden_activation`` is one name or one per hidden layer.
    """

    def __init__(self, sizes: Sequence[int], hidden_activation: str | Sequence[str] = "sigmoid",
                 output: str = "softmax", init: str = "normal", seed: int | None = 0,
                 weights: Sequence[np.ndarray] | None = None,
                 biases: Sequence[np.ndarray] | None = None,
                 rng: np.random.RandomState | None = None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError("a network needs at least an input and an output layer")
        if any(s < 1 for s in sizes):
            raise ValueError(f"every layer needs at least one neuron, got sizes {sizes}")
        self.sizes = sizes
        n_hidden = len(sizes) - 2
        if isinstance(hidden_activation, str):
            names = [hidden_activation] * n_hidden
        else:
            names = list(hidden_activation)
            if len(names) != n_hidden:
                raise ValueError(f"{len(names)} hidden activations given for {n_hidden} hidden layers")
        self.hidden_activations: list[Activation] = [activation(n) for n in names]
        self.out: Output = get_output(output)
        self.init = init
        self.seed = seed
        if weights is None:
            if rng is None:
                rng = np.random.RandomState(seed)
            weights, biases = init_weights(sizes, init, rng)
        elif biases is None:
            raise ValueError("weights given without biases")
        self.weights = [np.array(W, dtype=float) for W in weights]
        self.biases = [np.array(b, dtype=float) for b in biases]
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            if W.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],):
                raise ValueError(f"layer {i}: weights {W.shape} / biases {b.shape} do not fit "
                                 f"sizes {sizes}")

    # -- description -------------------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        """Number of weight layers: L, the output layer's number."""
        return len(self.weights)

    @property
    def activation_names(self) -> list[str]:
        """Activation name of every non-input layer, the output last."""
        return [a.name for a in self.hidden_activations] + [self.out.name]

    @property
    def n_parameters(self) -> int:
        return sum(W.size + b.size for W, b in zip(self.weights, self.biases))

    def copy(self) -> "Network":
        return Network(self.sizes, [a.name for a in self.hidden_activations], self.out.name,
                       self.init, self.seed, [W.copy() for W in self.weights],
                       [b.copy() for b in self.biases])

    def __reduce__(self):
        # pickled by name: the activation tables hold functions that are rebuilt from their names
        return (Network, (self.sizes, [a.name for a in self.hidden_activations], self.out.name,
                          self.init, self.seed, self.weights, self.biases))

    def at(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> "Network":
        """The same network with other weights and biases (the arrays are shared, not copied)."""
        other = copy.copy(self)
        other.weights, other.biases = list(weights), list(biases)
        return other

    def parameters(self) -> list[np.ndarray]:
        """Weights and biases interleaved: W0, b0, W1, b1, ... (the arrays themselves)."""
        out = []
        for W, b in zip(self.weights, self.biases):
            out += [W, b]
        return out

    # -- forward -----------------------------------------------------------------------------

    def pre_activation(self, l: int, a: np.ndarray, dtype=None) -> np.ndarray:
        """z[l] = a[l−1] W[l] + b[l] for layer ``l`` ≥ 1, samples in rows: ``a`` is (..., n_{l−1})
        (any leading axes, e.g. grid points × samples). With ``dtype`` the weights and biases are
        cast to it first."""
        W, b = self.weights[l - 1], self.biases[l - 1]
        if dtype is not None:
            W, b = W.astype(dtype), b.astype(dtype)
        return a @ W + b

    def pre_activation_t(self, l: int, aT: np.ndarray) -> np.ndarray:
        """``pre_activation`` for samples in columns: aT is (n_{l−1}, N), z[l]ᵀ is (n_l, N)."""
        z = self.weights[l - 1].T @ aT
        z += self.biases[l - 1][:, None]
        return z

    def activate(self, l: int, z: np.ndarray, in_place: bool = False) -> np.ndarray:
        """a[l] = f_l(z[l]) for layer ``l`` ≥ 1: a hidden layer's activation (element-wise, any
        layout; with ``in_place`` written into ``z``, the same values bit for bit) or, for the
        output layer L, the output activation of samples in rows."""
        if l == self.n_layers:
            return self.out.f(z)
        act = self.hidden_activations[l - 1]
        return act.f_in_place(z) if in_place else act.f(z)

    def forward_to(self, l: int, X: np.ndarray, dtype=None) -> np.ndarray:
        """a[l], the activations of layer ``l`` (0 ≤ l < L), from the inputs X (samples in rows)."""
        a = X
        for k in range(1, l + 1):
            a = self.activate(k, self.pre_activation(k, a, dtype))
        return a

    def forward_from(self, l: int, z: np.ndarray) -> np.ndarray:
        """z[L], the output layer's pre-activation, from z[l] of layer ``l`` ≥ 1 (samples in rows):
        the layers above ``l`` recomputed."""
        for k in range(l + 1, self.n_layers + 1):
            z = self.pre_activation(k, self.activate(k - 1, z))
        return z

    def loss_from(self, l: int, z: np.ndarray, T: np.ndarray) -> float:
        """Mean loss when layer ``l`` has pre-activation ``z`` (the layers above recomputed)."""
        return float(self.out.loss(self.forward_from(l, z), T).mean())

    # The passes below keep samples in columns, (n, N): numpy's inner loops then run along the
    # N samples instead of along a handful of neurons, and bias adds and per-sample reductions
    # over a narrow layer cost what a flat array op costs. The trace hands out transposed views,
    # so every array still has the documented (N, n) shape.

    def _pre_output_t(self, XT: np.ndarray, keep: bool):
        """The output layer's pre-activation z for samples in columns, with (keep=True) the
        activations below it ([XT, a1, ...]) and every layer's z; otherwise empty lists."""
        a = XT
        acts, zs = [XT], []
        L = self.n_layers
        for l in range(1, L + 1):
            z = self.pre_activation_t(l, a)
            if keep:
                zs.append(z)
            if l < L:
                a = self.activate(l, z)
                if keep:
                    acts.append(a)
        return z, acts, zs

    def forward_t(self, XT: np.ndarray, keep: bool = False):
        """``forward`` for samples in columns: XT is (n_0, N); returns yT (and the lists)."""
        z, acts, zs = self._pre_output_t(XT, keep)
        y = self.out.f_t(z)
        return (y, acts + [y], zs) if keep else y

    def forward(self, X: np.ndarray, keep: bool = False):
        """Output y for inputs X; with ``keep=True`` also (activations, pre_activations)."""
        XT = np.asarray(X, dtype=float).T
        if keep:
            y, acts, zs = self.forward_t(XT, keep=True)
            return y.T, [a.T for a in acts], [z.T for z in zs]
        return self.forward_t(XT).T

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)

    def losses_t(self, XT: np.ndarray, TT: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(yT, per-sample losses) for samples in columns."""
        return self.out.f_loss_t(self._pre_output_t(XT, keep=False)[0], TT)

    def loss(self, X: np.ndarray, T: np.ndarray) -> float:
        """Mean per-sample loss at the current weights."""
        XT = np.asarray(X, dtype=float).T
        return float(self.losses_t(XT, np.asarray(T, dtype=float).T)[1].mean())

    # -- backward ----------------------------------------------------------------------------

    def backprop(self, X: np.ndarray, T: np.ndarray) -> Trace:
        """One forward and one backward pass over the batch (X, T); the weights do not change."""
        X = np.asarray(X, dtype=float)
        T = np.asarray(T, dtype=float)
        return self.backprop_t(np.ascontiguousarray(X.T), np.ascontiguousarray(T.T))

    def backprop_t(self, XT: np.ndarray, TT: np.ndarray) -> Trace:
        """``backprop`` for samples in columns: XT is (n_0, N), TT is (n_L, N)."""
        N = XT.shape[1]
        L = self.n_layers
        z, acts, zs = self._pre_output_t(XT, keep=True)
        y, losses = self.out.f_loss_t(z, TT)
        acts.append(y)
        deltas: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        grads_W: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        grads_b: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        signals: list[np.ndarray] = [None] * L  # type: ignore[list-item]
        delta = y - TT                                     # δ[L] = y − t
        for l in range(L, 0, -1):                          # layer l, fed by weights[l − 1]
            deltas[l - 1] = delta.T
            gW = acts[l - 1] @ delta.T                     # Σ_n a[l−1][n]ᵀ δ[l][n]
            gW /= N
            grads_W[l - 1] = gW
            mean_delta = delta.sum(axis=1)
            mean_delta /= N
            grads_b[l - 1] = mean_delta
            signals[l - 1] = self.weights[l - 1] * mean_delta      # w_ij · mean δ_j
            if l > 1:                                      # δ[l−1] = f′(z[l−1]) ⊙ (δ[l] W[l]ᵀ)
                act = self.hidden_activations[l - 2]
                delta = act.df(zs[l - 2], acts[l - 1]) * (self.weights[l - 1] @ delta)
        return Trace(float(losses.mean()), losses, [a.T for a in acts], [z.T for z in zs], deltas,
                     grads_W, grads_b, signals)
