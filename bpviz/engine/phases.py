"""One pass, phase by phase: what backprop computes, in the order it computes it.

A pass over a mini-batch is walked as

    forward through layer 1 … forward through layer L → loss → output deltas
    → deltas of layer L−1 from layer L … deltas of layer 1 from layer 2 → gradients → update

Each hidden layer's deltas are computed from the deltas of the layer above — the reuse that makes
backprop dynamic programming. ``phase_plan`` lists the phases of a network; ``partial_trace`` returns
the pass's trace with everything *not yet computed* at a given phase set to NaN, so a panel shows
exactly what is known at that moment (NaN draws as "no value").

Layers are numbered as in the diagram: 0 is the input, L the output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .network import Network, Trace

FORWARD, LOSS, OUTPUT_DELTA, HIDDEN_DELTA, GRADIENTS, UPDATE = (
    "forward", "loss", "output_delta", "hidden_delta", "gradients", "update")


@dataclass(frozen=True)
class Phase:
    index: int          # 0-based position in the pass
    total: int          # phases in a pass
    kind: str
    layer: int          # the diagram layer this phase works on (−1: every layer)
    title: str
    detail: str         # the formula, with the shapes of this batch

    def label(self) -> str:
        return f"phase {self.index + 1}/{self.total} · {self.title}"

    @property
    def weights_index(self) -> int | None:
        """The weights array whose edges this phase works on: ``W[l]`` (index l − 1) going
        forward through layer l, ``W[l + 1]`` (index l) carrying the error signals back to layer
        l; None for the phases of a single layer or of every layer."""
        if self.kind == FORWARD:
            return self.layer - 1
        if self.kind == HIDDEN_DELTA:
            return self.layer
        return None


def _sup(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def phase_plan(net: Network, batch: int) -> list[Phase]:
    """Every phase of one pass of ``net`` over a mini-batch of ``batch`` samples."""
    L = net.n_layers
    acts = net.activation_names
    steps: list[tuple[str, int, str, str]] = []
    for l in range(1, L + 1):
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        name = acts[l - 1]
        steps.append((FORWARD, l, f"forward through layer {l} ({name})",
                      f"z{_sup(l)} = a{_sup(l - 1)} W{_sup(l)} + b{_sup(l)}   "
                      f"({batch}×{n_in} · {n_in}×{n_out}),   a{_sup(l)} = {name}(z{_sup(l)})"))
    steps.append((LOSS, L, f"loss ({net.out.loss_name})",
                  f"L = mean over the {batch} samples of {net.out.loss_formula}"))
    steps.append((OUTPUT_DELTA, L, f"output deltas (layer {L})",
                  f"δ{_sup(L)} = y − t   ({batch}×{net.sizes[L]}): {net.out.name} with "
                  f"{net.out.loss_name} makes the derivative this simple"))
    for l in range(L - 1, 0, -1):
        name = acts[l - 1]
        steps.append((HIDDEN_DELTA, l, f"deltas of layer {l} from layer {l + 1}",
                      f"δ{_sup(l)} = {name}′(z{_sup(l)}) ⊙ (δ{_sup(l + 1)} W{_sup(l + 1)}ᵀ)   "
                      f"— reuses δ{_sup(l + 1)}, already computed"))
    steps.append((GRADIENTS, -1, "gradients of every weight and bias",
                  f"∂L/∂W{_sup(1)}…W{_sup(L)} = aᵀ δ / {batch},   ∂L/∂b = mean of δ"))
    steps.append((UPDATE, -1, "update the weights",
                  "W ← W + Δw, with Δw from the optimizer (−η∇ for gradient descent)"))
    total = len(steps)
    return [Phase(k, total, kind, layer, title, detail)
            for k, (kind, layer, title, detail) in enumerate(steps)]


def _nan_like(arrays):
    return [np.full_like(a, np.nan, dtype=float) for a in arrays]


def partial_trace(trace: Trace, phase: Phase) -> Trace:
    """``trace`` with what is not yet computed at ``phase`` replaced by NaN.

    Forward phases know a and z up to their layer; the loss phase knows every forward value and the
    loss; delta phases know the deltas (and the error signals built from them) from the output down
    to their layer; the gradient and update phases know everything.
    """
    L = len(trace.deltas)
    if phase.kind in (GRADIENTS, UPDATE):
        return trace
    grads_w, grads_b = _nan_like(trace.grad_weights), _nan_like(trace.grad_biases)
    if phase.kind == FORWARD:
        known = phase.layer                  # a[0..known] and z of layers 1..known
        acts = [a if l <= known else np.full_like(a, np.nan) for l, a in enumerate(trace.activations)]
        zs = [z if l + 1 <= known else np.full_like(z, np.nan)
              for l, z in enumerate(trace.pre_activations)]
        return replace(trace, loss=float("nan"), losses=np.full_like(trace.losses, np.nan),
                       activations=acts, pre_activations=zs, deltas=_nan_like(trace.deltas),
                       grad_weights=grads_w, grad_biases=grads_b,
                       edge_signals=_nan_like(trace.edge_signals))
    lowest = L + 1 if phase.kind == LOSS else phase.layer    # deltas known for layers ≥ lowest
    deltas = [d if l + 1 >= lowest else np.full_like(d, np.nan) for l, d in enumerate(trace.deltas)]
    signals = [s if l + 1 >= lowest else np.full_like(s, np.nan)
               for l, s in enumerate(trace.edge_signals)]
    return replace(trace, deltas=deltas, grad_weights=grads_w, grad_biases=grads_b,
                   edge_signals=signals)
