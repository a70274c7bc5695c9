"""Optimizers: plain gradient descent, classical momentum and Adam, with L2 weight decay.

Each optimizer turns the gradients of one pass into the update Δθ that is added to every
parameter; its state (velocities, moments, step count) is a plain dict of arrays so that sessions can
save and restore it exactly. Hyper-parameters are read on every call, so a new learning rate,
momentum or L2 takes effect on the next pass without a reset.

L2 weight decay adds ``λ·W`` to the gradient of every weight matrix (not the biases), i.e. it
minimises loss + ½λ Σ W².
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam")


class Optimizer:
    """Computes updates for a list of parameters ``[W0, b0, W1, b1, ...]``."""

    name = "sgd"

    def __init__(self, shapes):
        self.shapes = [tuple(s) for s in shapes]
        self.state: dict[str, list[np.ndarray] | int] = {}

    def updates(self, grads, lr: float, momentum: float = 0.0) -> list[np.ndarray]:
        """Δθ for every parameter: plain gradient descent, Δθ = −η ∇."""
        return [-lr * g for g in grads]

    def get_state(self) -> dict:
        return {k: ([a.copy() for a in v] if isinstance(v, list) else v)
                for k, v in self.state.items()}

    def set_state(self, state: dict) -> None:
        self.state = {k: ([np.array(a, dtype=float) for a in v] if isinstance(v, list) else v)
                      for k, v in state.items()}


class Momentum(Optimizer):
    """Classical momentum: Δθ = −η ∇ + α Δθ_prev."""

    name = "momentum"

    def __init__(self, shapes):
        super().__init__(shapes)
        self.state = {"velocity": [np.zeros(s) for s in self.shapes]}

    def updates(self, grads, lr, momentum=0.0):
        vel = self.state["velocity"]
        for k, g in enumerate(grads):
            vel[k] = momentum * vel[k] - lr * g
        return [v.copy() for v in vel]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with β1 = 0.9, β2 = 0.999, ε = 1e-8 and bias correction."""

    name = "adam"
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def __init__(self, shapes):
        super().__init__(shapes)
        self.state = {"m": [np.zeros(s) for s in self.shapes],
                      "v": [np.zeros(s) for s in self.shapes], "t": 0}

    def updates(self, grads, lr, momentum=0.0):
        m, v = self.state["m"], self.state["v"]
        t = self.state["t"] + 1
        self.state["t"] = t
        c1 = 1.0 - self.beta1 ** t
        c2 = 1.0 - self.beta2 ** t
        out = []
        for k, g in enumerate(grads):
            m[k] = self.beta1 * m[k] + (1 - self.beta1) * g
            v[k] = self.beta2 * v[k] + (1 - self.beta2) * g * g
            out.append(-lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + self.eps))
        return out


def make_optimizer(name: str, shapes) -> Optimizer:
    classes = {"sgd": Optimizer, "momentum": Momentum, "adam": Adam}
    try:
        return classes[name](shapes)
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
