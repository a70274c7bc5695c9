"""The plain-numpy program behind the picture: one pass as code, and a whole run as a script.

``pass_program(config)`` writes the forward pass, the loss, the backward pass and the update of
the configured network in the style of the classic numpy example — named arrays ``Z1``, ``A1``,
``Y``, ``delta2``, ``dW1``, one line per step, no classes — with, for every line, the phase of the
pass it belongs to, the diagram layer it computes for and the array it assigns (:class:`CodeLine`),
so that a panel can highlight the lines of a phase or of a neuron without parsing the text.

``script(config)`` wraps those lines into a standalone program that needs only Python and numpy:
it makes the same data (the generator written out, or the CSV file read with the same rules),
draws the same initial weights from the same seed, shuffles the mini-batches the same way, trains
for the configured epochs and prints the history CSV that ``bpviz train --out`` writes in
``history.csv``. ``script(config, session_state=trainer.get_state())`` starts from a run's current
weights, optimizer state and shuffle stream instead, and goes on as ``bpviz train --resume`` does.

The arithmetic is the engine's, operation for operation where the order of operations matters
(the stable softmax and sigmoid, the derivative factors, Adam's formula); the engine keeps samples
in columns for speed and the program keeps them in rows like the classic example, so matrix
products and sums over the batch may round differently in the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .phases import FORWARD, GRADIENTS, HIDDEN_DELTA, LOSS, OUTPUT_DELTA, UPDATE

__all__ = ["CodeLine", "Program", "pass_program", "script", "program_files"]


@dataclass(frozen=True)
class CodeLine:
    """One line of the program and what it computes."""

    text: str                 # the line, without a newline
    phase: str | None = None  # engine.phases kind (FORWARD … UPDATE), None for comments/set-up
    layer: int | None = None  # the diagram layer (1..L) it computes for
    array: str | None = None  # the name the line assigns: "Z1", "A1", "Y", "delta2", "dW2", "W2"
    quantity: str | None = None   # "z", "a", "y", "loss", "delta", "grad_w", "grad_b",
    #                               "weights", "biases" (after the update)


@dataclass(frozen=True)
class Program:
    """Lines of code with their metadata."""

    lines: tuple[CodeLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines) + "\n"

    def lines_for(self, *, phase=None, layer=None, quantity=None) -> list[int]:
        """0-based indices of the lines matching every criterion given."""
        return [k for k, line in enumerate(self.lines)
                if (phase is None or line.phase == phase)
                and (layer is None or line.layer == layer)
                and (quantity is None or line.quantity == quantity)]


# -- one pass ----------------------------------------------------------------------------------------

_ACTIVATION = {          # a = f(z), the engine's formulas (functions.ACTIVATIONS)
    "sigmoid": "sigmoid({z})",
    "tanh": "np.tanh({z})",
    "relu": "np.maximum({z}, 0)",
    "leaky_relu": "np.where({z} > 0, {z}, 0.01 * {z})",
    "linear": "{z}",
}
_DERIVATIVE = {          # f'(z) as the engine computes it, from z and a = f(z)
    "sigmoid": "({a} * (1 - {a}))",
    "tanh": "(1 - {a} * {a})",
    "relu": "({z} > 0)",
    "leaky_relu": "np.where({z} > 0, 1.0, 0.01)",
    "linear": None,
}
_OUTPUT = {              # y = output(z) and the loss, each output with its canonical loss
    "softmax": ("softmax({z})", "cross_entropy({z}, T)", "cross-entropy"),
    "sigmoid": ("stable_sigmoid({z})", "binary_cross_entropy({z}, T)", "binary cross-entropy"),
    "linear": ("{z}", "squared_error(Y, T)", "squared error"),
}
_OPTIMIZER_TITLE = {
    "sgd": "gradient descent: every weight takes a step against its gradient",
    "momentum": "gradient descent with momentum: each step keeps momentum × the last one",
    "adam": "Adam: steps from running averages of the gradient and of its square",
}


def _layers(config) -> tuple[int, list[str]]:
    acts = config.activations() if hasattr(config, "activations") else list(config.activation)
    return len(config.hidden) + 1, acts


def _a(l: int, L: int) -> str:
    """The name of layer l's activations: X for the input, Y for the output."""
    return "X" if l == 0 else ("Y" if l == L else f"A{l}")


def pass_program(config) -> Program:
    """The body of one pass (forward, loss, backward, update) for ``config`` (an
    engine.config.Config), in the style of the classic numpy example: X, T, W1, b1, Z1, A1, …, Y,
    delta2, delta1, dW2, db2, …; names numbered as the diagram numbers layers (W1 feeds layer 1).

    The lines use ``X`` and ``T`` (the batch's inputs and targets, samples in rows), ``N`` (the
    batch size), the weights ``W1``, ``b1``, …, the settings ``lr`` (and ``momentum``, ``l2``,
    ``beta1``, ``beta2``, ``eps`` where used), the optimizer's state (``vW1``, ``mW1``, ``t``, …)
    and the helper functions :func:`script` defines (``sigmoid``, ``softmax``, ``cross_entropy``,
    …)."""
    L, acts = _layers(config)
    out_f, out_loss, loss_name = _OUTPUT[config.output]
    lines: list[CodeLine] = []
    add = lines.append

    add(CodeLine("# forward pass: each layer's weighted input Z, then its activation"))
    for l in range(1, L + 1):
        z = f"Z{l}"
        add(CodeLine(f"{z} = {_a(l - 1, L)} @ W{l} + b{l}", FORWARD, l, z, "z"))
        if l < L:
            add(CodeLine(f"A{l} = {_ACTIVATION[acts[l - 1]].format(z=z)}", FORWARD, l, f"A{l}",
                         "a"))
        else:
            add(CodeLine(f"Y = {out_f.format(z=z)}", FORWARD, l, "Y", "y"))
    add(CodeLine(f"# loss: {loss_name}, the mean over the N samples of the batch"))
    add(CodeLine(f"loss = {out_loss.format(z=f'Z{L}')}", LOSS, L, "loss", "loss"))

    add(CodeLine("# backward pass: the output deltas, then each layer's from the layer above"))
    add(CodeLine(f"delta{L} = Y - T", OUTPUT_DELTA, L, f"delta{L}", "delta"))
    for l in range(L - 1, 0, -1):
        back = f"(delta{l + 1} @ W{l + 1}.T)"
        factor = _DERIVATIVE[acts[l - 1]]
        text = back if factor is None else f"{back} * {factor.format(z=f'Z{l}', a=f'A{l}')}"
        add(CodeLine(f"delta{l} = {text}", HIDDEN_DELTA, l, f"delta{l}", "delta"))
    add(CodeLine("# gradients of the mean loss: dW = (inputs)ᵀ · delta / N, db = mean of delta"))
    for l in range(L, 0, -1):
        add(CodeLine(f"dW{l} = {_a(l - 1, L)}.T @ delta{l} / N", GRADIENTS, l, f"dW{l}",
                     "grad_w"))
        add(CodeLine(f"db{l} = delta{l}.sum(axis=0) / N", GRADIENTS, l, f"db{l}", "grad_b"))

    add(CodeLine(f"# update: {_OPTIMIZER_TITLE[config.optimizer]}"))
    if config.l2:
        add(CodeLine("# L2 weight decay adds l2 · W to the gradient of every weight matrix"))
        for l in range(1, L + 1):
            add(CodeLine(f"dW{l} = dW{l} + l2 * W{l}", UPDATE, l, f"dW{l}", None))
    if config.optimizer == "adam":
        add(CodeLine("t = t + 1", UPDATE, None, "t", None))
    for l in range(1, L + 1):
        for p, g, quantity in ((f"W{l}", f"dW{l}", "weights"), (f"b{l}", f"db{l}", "biases")):
            if config.optimizer == "sgd":
                add(CodeLine(f"{p} = {p} - lr * {g}", UPDATE, l, p, quantity))
            elif config.optimizer == "momentum":
                add(CodeLine(f"v{p} = momentum * v{p} - lr * {g}", UPDATE, l, f"v{p}", None))
                add(CodeLine(f"{p} = {p} + v{p}", UPDATE, l, p, quantity))
            else:
                add(CodeLine(f"m{p} = beta1 * m{p} + (1 - beta1) * {g}", UPDATE, l, f"m{p}",
                             None))
                add(CodeLine(f"v{p} = beta2 * v{p} + (1 - beta2) * {g} * {g}", UPDATE, l,
                             f"v{p}", None))
                add(CodeLine(f"{p} = {p} - lr * (m{p} / (1 - beta1 ** t)) / "
                             f"(np.sqrt(v{p} / (1 - beta2 ** t)) + eps)", UPDATE, l, p, quantity))
    return Program(tuple(lines))
