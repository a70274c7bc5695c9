"""Gradient checking: central finite differences against backprop for every parameter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network


@dataclass
class GradCheck:
    numeric: list[np.ndarray]      # finite-difference ∂loss/∂θ, [W0, b0, W1, b1, ...]
    analytic: list[np.ndarray]     # backprop's
    rel_error: list[np.ndarray]    # |a − n| / max(|a| + |n|, 1e-6), elementwise
    samples: int = 0               # samples the check ran on

    @property
    def checked(self) -> bool:
        """Whether anything was compared (False when every sample sat on a ReLU kink)."""
        return self.samples > 0 and bool(self.rel_error)

    @property
    def worst(self) -> float:
        """The largest relative error (NaN when nothing was checked)."""
        if not self.checked:
            return float("nan")
        return max(float(e.max()) for e in self.rel_error)

    def worst_location(self) -> tuple[str, int, tuple[int, ...]]:
        """('W' or 'b', k, element index) of the worst relative error: in weights[k] or
        biases[k], which feed layer k + 1. ValueError when nothing was checked."""
        if not self.checked:
            raise ValueError("nothing was checked: every sample sits on a ReLU kink")
        k = int(np.argmax([e.max() for e in self.rel_error]))
        e = self.rel_error[k]
        return ("W" if k % 2 == 0 else "b", k // 2, tuple(int(i) for i in np.unravel_index(e.argmax(), e.shape)))


def relative_error(a: np.ndarray, n: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Symmetric relative error |a − n| / (|a| + |n|); gradients whose magnitudes add up to less
    than ``floor`` are compared in absolute terms (|a − n| / floor), since finite differences cannot
    resolve a relative error on a value that is zero or nearly so."""
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


def numeric_gradient(net: Network, X, T, param: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central differences of the mean loss for every element of ``param`` (changed in place and
    restored).

    The five-point stencil (−L(θ+2h) + 8L(θ+h) − 8L(θ−h) + L(θ−2h)) / 12h has truncation error
    O(h⁴), so a step of 1e-4 keeps both truncation and rounding near 1e-12: finite differences can
    then confirm backprop to a relative 1e-6 even for small gradients.
    """
    grad = np.zeros_like(param)
    flat = param.reshape(-1)
    g = grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        values = []
        for step in (2 * h, h, -h, -2 * h):
            flat[k] = old + step
            values.append(net.loss(X, T))
        flat[k] = old
        g[k] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return grad


KINKED = ("relu", "leaky_relu")


def kink_free_samples(net: Network, X: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Mask of the samples whose ReLU-family pre-activations all stay clear of the kink at 0.

    A perturbation of ±2h in a parameter moves z by up to 2h·(1 + max|a|); closer to 0 than that,
    the loss is not differentiable along the finite-difference step and the check means nothing.
    """
    _, acts, zs = net.forward(X, keep=True)
    ok = np.ones(len(X), dtype=bool)
    for i, act in enumerate(net.hidden_activations):
        if act.name in KINKED:
            margin = 2 * h * (1.0 + np.abs(acts[i]).max(axis=1, keepdims=True)) * 4
            ok &= (np.abs(zs[i]) > margin).all(axis=1)
    return ok


def gradient_check(net: Network, X, T, h: float = 1e-4, skip_kinks: bool = True) -> GradCheck:
    """Compare backprop's gradient of the mean loss with central finite differences.

    With ``skip_kinks`` the samples that sit on a ReLU kink (see ``kink_free_samples``) are left
    out; ``GradCheck.samples`` says how many were checked. When none is left (or none was
    given) nothing is compared: ``checked`` is False and the lists are empty.
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    if skip_kinks:
        keep = kink_free_samples(net, X, h)
        X, T = X[keep], T[keep]
    if len(X) == 0:
        return GradCheck([], [], [], 0)
    trace = net.backprop(X, T)
    analytic = []
    for gW, gb in zip(trace.grad_weights, trace.grad_biases):
        analytic += [gW, gb]
    numeric = [numeric_gradient(net, X, T, p, h) for p in net.parameters()]
    return GradCheck(numeric, analytic, [relative_error(a, n) for a, n in zip(analytic, numeric)],
                     len(X))
