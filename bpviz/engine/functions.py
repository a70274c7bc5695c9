"""Activation functions and output losses as small tables.

Every activation is a pair ``(f, df)``: ``f(z)`` gives the activation, ``df(z, a)`` its derivative
f'(z), where ``a = f(z)`` is passed in so that sigmoid and tanh reuse it (σ' = a(1 − a),
tanh' = 1 − a²). The derivative sits next to the formula it differentiates. ``f_in_place(z)``
gives the values of ``f(z)`` bit for bit, computed in ``z``'s own memory (the surface slice
applies activations to many grid points at once and needs no new array per layer).

Every output is a softmax, sigmoid or linear layer paired with its canonical loss, so that the output
delta δ^L = ∂ℓ/∂z^L is ``y − t`` for all three. Per-sample losses are computed from
the pre-activation ``z`` in numerically stable forms: log-sum-exp for softmax cross-entropy and
softplus for binary cross-entropy, so no ``log(0)`` is ever taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Stable for large |z|: exp only of non-positive numbers.
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _sigmoid_fast(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_in_place(z: np.ndarray) -> np.ndarray:
    """``_sigmoid_fast`` in ``z``'s memory: the same operations in the same order."""
    with np.errstate(over="ignore"):
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        return np.reciprocal(z, out=z)


def _leaky_relu_in_place(z: np.ndarray) -> np.ndarray:
    negative = z < 0
    z[negative] *= LEAKY_SLOPE
    return z


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray, np.ndarray], np.ndarray]
    formula: str        # f(z), for the inspector
    derivative: str     # f'(z), for the inspector
    f_in_place: Callable[[np.ndarray], np.ndarray]   # f(z) written into z, returned


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid_fast, lambda z, a: a * (1.0 - a),
                   "σ(z) = 1 / (1 + e^−z)", "σ′(z) = a (1 − a)", _sigmoid_in_place),
        Activation("tanh", np.tanh, lambda z, a: 1.0 - a * a,
                   "tanh(z)", "tanh′(z) = 1 − a²", lambda z: np.tanh(z, out=z)),
        Activation("relu", lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float),
                   "max(0, z)", "1 if z > 0 else 0", lambda z: np.maximum(z, 0.0, out=z)),
        Activation("leaky_relu", lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
                   lambda z, a: np.where(z > 0, 1.0, LEAKY_SLOPE),
                   f"z if z > 0 else {LEAKY_SLOPE}·z", f"1 if z > 0 else {LEAKY_SLOPE}",
                   _leaky_relu_in_place),
        Activation("linear", lambda z: z.copy(), lambda z, a: np.ones_like(z),
                   "z", "1", lambda z: z),
    )
}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _softmax_cols(z: np.ndarray) -> np.ndarray:
    """``_softmax`` for samples in columns, (K, N)."""
    e = np.exp(z - z.max(axis=0))
    e /= e.sum(axis=0)
    return e


def _softmax_ce(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-sample −Σ_k t_k log softmax(z)_k via log-sum-exp."""
    m = z.max(axis=-1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return (t * (lse - z)).sum(axis=-1)


def _softmax_t(z: np.ndarray, t: np.ndarray):
    """Softmax output and per-sample cross-entropy for samples in columns: z, t are (K, N).

    The same arithmetic as ``_softmax`` and ``_softmax_ce`` (max, shifted exp, log-sum-exp), done
    once for both and reduced over axis 0, where numpy's inner loops run along the N samples."""
    m = z.max(axis=0)
    e = np.exp(z - m)
    s = e.sum(axis=0)
    lse = m + np.log(s)
    e /= s
    return e, (t * (lse - z)).sum(axis=0)


def _sigmoid_bce(z: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
    """Per-sample −Σ_k [t log σ(z) + (1 − t) log(1 − σ(z))] = Σ_k softplus(z) − t z."""
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return (softplus - t * z).sum(axis=axis)


def _sigmoid_t(z: np.ndarray, t: np.ndarray):
    return _sigmoid(z), _sigmoid_bce(z, t, axis=0)


def _linear_t(z: np.ndarray, t: np.ndarray):
    return z.copy(), _half_squared(z, t, axis=0)


def _half_squared(z: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
    d = z - t
    return 0.5 * (d * d).sum(axis=axis)


@dataclass(frozen=True)
class Output:
    """An output activation with its canonical loss; δ^L = y − t for each."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]   # per-sample loss from (z, t)
    loss_name: str
    formula: str
    loss_formula: str
    task: str   # "classification" or "regression"
    # (y, per-sample loss) from (z, t) laid out with samples in columns, (K, N): the engine's fast
    # path, identical arithmetic to ``f`` and ``loss``
    f_loss_t: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    f_t: Callable[[np.ndarray], np.ndarray]   # y from z, samples in columns


OUTPUTS: dict[str, Output] = {
    o.name: o
    for o in (
        Output("softmax", _softmax, _softmax_ce, "cross-entropy",
               "y_k = e^{z_k} / Σ_m e^{z_m}", "ℓ = −Σ_k t_k log y_k", "classification", _softmax_t,
               _softmax_cols),
        Output("sigmoid", _sigmoid, _sigmoid_bce, "binary cross-entropy",
               "y_k = σ(z_k)", "ℓ = −Σ_k [t_k log y_k + (1 − t_k) log(1 − y_k)]",
               "classification", _sigmoid_t, _sigmoid),
        Output("linear", lambda z: z.copy(), _half_squared, "squared error",
               "y_k = z_k", "ℓ = ½ Σ_k (y_k − t_k)²", "regression", _linear_t,
               lambda z: z.copy()),
    )
}


def activation(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def output(name: str) -> Output:
    try:
        return OUTPUTS[name]
    except KeyError:
        raise ValueError(f"unknown output {name!r}; choose one of {', '.join(OUTPUTS)}") from None
