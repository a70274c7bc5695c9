"""The network, its forward pass and backpropagation with a full trace.

Indices follow the array layout (as in ``net.weights[i]``): ``weights[i]`` has shape
``(n_i, n_{i+1})`` and feeds layer ``i + 1`` (the diagram's layer numbering, where 0 is the input).
For one mini-batch ``X`` of N samples:

    a[0] = X
    z[i] = a[i] @ W[i] + b[i]                 pre_activations[i], (N, n_{i+1})
    a[i+1] = f_{i+1}(z[i])                    activations[i + 1]
    δ[last] = y − t                           canonical output/loss pairs
    δ[i] = f'_{i+1}(z[i]) ⊙ (δ[i+1] @ W[i+1]ᵀ)   deltas[i], per sample, not divided by N
    ∂loss/∂W[i] = a[i]ᵀ δ[i] / N,  ∂loss/∂b[i] = mean_n δ[i]
    edge signal i→j of W[i] = W[i][i, j] · mean_n δ[i][n, j]

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
    activations: list[np.ndarray]      # a[0] = X ... a[L] = y; (N, n_i)
    pre_activations: list[np.ndarray]  # z[i], (N, n_{i+1})
    deltas: list[np.ndarray]           # δ[i] = ∂ℓ_n/∂z[i], (N, n_{i+1})
    grad_weights: list[np.ndarray]     # ∂loss/∂W[i]
    grad_biases: list[np.ndarray]      # ∂loss/∂b[i]
    edge_signals: list[np.ndarray]     # W[i] · mean_n δ[i], (n_i, n_{i+1})

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
        """Number of weight layers."""
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

    def layer_forward(self, i: int, z: np.ndarray) -> np.ndarray:
        """Activation of the layer fed by ``weights[i]`` from its pre-activation."""
        if i == self.n_layers - 1:
            return self.out.f(z)
        return self.hidden_activations[i].f(z)

    # The passes below keep samples in columns, (n, N): numpy's inner loops then run along the
    # N samples instead of along a handful of neurons, and bias adds and per-sample reductions
    # over a narrow layer cost what a flat array op costs. The trace hands out transposed views,
    # so every array still has the documented (N, n) shape.

    def _pre_output_t(self, XT: np.ndarray, keep: bool):
        """The output layer's pre-activation z for samples in columns, with (keep=True) the
        activations below it ([XT, a1, ...]) and every layer's z; otherwise empty lists."""
        a = XT
        acts, zs = [XT], []
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = W.T @ a                                    # z[i] = a[i] W[i] + b[i]
            z += b[:, None]
            if keep:
                zs.append(z)
            if i < self.n_layers - 1:
                a = self.hidden_activations[i].f(z)
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
        delta = y - TT                                     # δ^L = y − t
        for i in range(L - 1, -1, -1):
            deltas[i] = delta.T
            gW = acts[i] @ delta.T                         # Σ_n a[i][n]ᵀ δ[i][n]
            gW /= N
            grads_W[i] = gW
            mean_delta = delta.sum(axis=1)
            mean_delta /= N
            grads_b[i] = mean_delta
            signals[i] = self.weights[i] * mean_delta      # w_ij · mean δ_j
            if i > 0:
                act = self.hidden_activations[i - 1]
                delta = act.df(zs[i - 1], acts[i]) * (self.weights[i] @ delta)
        return Trace(float(losses.mean()), losses, [a.T for a in acts], [z.T for z in zs], deltas,
                     grads_W, grads_b, signals)
