"""The neuron inspector's content, as data: one neuron's delta with the chain rule written out.

``inspect_neuron(net, X, T, layer, index)`` runs ONE backprop trace of the batch (X, T) at the
network's weights and collects, for neuron ``index`` of layer ``layer`` (diagram numbering: layer 0
is the input, layer L the output; the weights feeding layer l are ``net.weights[l - 1]``):

- its z, a and δ for the pinned sample, and batch summaries (means, mean |δ|, a histogram of δ);
- the chain rule with the live numbers. Output layer (canonical pairs softmax + cross-entropy,
  sigmoid + binary cross-entropy, linear + ½ squared error): δ_j = y_j − t_j. Hidden layer:
  δ_j = f′(z_j) · Σ_k w_jk δ_k with every term (downstream neuron k, w_jk, δ_k, w_jk·δ_k), largest
  |w_jk·δ_k| first. For the batch the terms are the edge signals w_jk · δ̄_k (δ̄ = batch mean); their
  sum is exactly the mean of Σ_k w_jk δ_k, but δ̄_j is the mean of the *products* f′(z)·Σ, which is not
  mean f′ × mean Σ — both are reported, clearly labelled;
- its incoming edges (weight, ∂loss/∂w = mean_n a_i δ_j, last update Δw) and bias, its outgoing
  edges (weight, downstream δ_k, edge signal w_jk · δ̄_k);
- a finite-difference check of its incoming weights and bias against backprop's gradient.

``delta_table(net, X, T, sample=None)`` gives every neuron's δ with two flags:

- **dead**: a ReLU (or leaky ReLU) neuron whose z ≤ 0 for *every* sample of the batch. A ReLU then
  passes no gradient at all (a leaky ReLU only its 0.01 slope), so its incoming weights never learn.
- **saturated**: a sigmoid or tanh neuron whose f′(z) < ``SATURATION_FPRIME`` (0.01) for at least
  ``SATURATION_SHARE`` (95 %) of the samples — or, when the table shows one pinned sample, for that
  sample. (For reference, σ′ ≤ 0.25 and tanh′ ≤ 1 everywhere.)

Pure numpy; no Qt. Everything here is tested against a forward/backward pass written out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Sequence

import numpy as np

from .functions import ACTIVATIONS, LEAKY_SLOPE
from .gradcheck import KINKED, kink_free_samples, relative_error
from .network import Network, Trace
from . import numbers

SATURATING = ("sigmoid", "tanh")
SATURATION_FPRIME = 0.01      # f′(z) below this counts as saturated
SATURATION_SHARE = 0.95       # ... for at least this share of the batch
FD_STEP = 1e-4                # five-point stencil step (see gradcheck.numeric_gradient)
HISTOGRAM_BINS = 30

LOSS_PAIRS = {"softmax": "softmax + cross-entropy", "sigmoid": "sigmoid + binary cross-entropy",
              "linear": "linear + ½ squared error"}
SYMBOLS = {"sigmoid": "σ′(z)", "tanh": "tanh′(z)", "relu": "relu′(z)",
           "leaky_relu": "leaky′(z)", "linear": "1"}


# -- the report -------------------------------------------------------------------------------

def _plain(v):
    """JSON-ready Python values (floats, ints, lists, dicts) from numpy and dataclasses."""
    if is_dataclass(v):
        return {f.name if f.name != "from_" else "from": _plain(getattr(v, f.name))
                for f in fields(v)}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v)
    return v


@dataclass(frozen=True)
class ChainTerm:
    """One term w_jk · δ_k of the sum that carries the error back to neuron j."""

    k: int              # downstream neuron (in layer l + 1)
    weight: float       # w_jk
    delta: float        # δ_k (pinned sample) or δ̄_k (batch mean)
    product: float      # w_jk · δ_k: the error signal of edge j→k


@dataclass(frozen=True)
class ChainRule:
    """δ of one neuron as the chain rule computes it, for the pinned sample or the batch mean.

    ``kind`` is "output" (δ = y − t), "hidden" (δ = f′(z) · Σ_k w_jk δ_k) or "input" (no δ).
    For ``scope == "batch"`` the terms hold the mean error signals w_jk · δ̄_k, ``fprime`` the mean
    of f′(z) over the samples, ``result`` the mean δ̄_j, and ``product_of_means`` = mean f′ × Σ,
    which differs from ``result`` whenever f′ and Σ vary together across samples.
    """

    kind: str
    scope: str                          # "sample" or "batch"
    activation: str
    result: float | None                # δ (or δ̄)
    y: float | None = None              # output layer: y (or ȳ)
    t: float | None = None              # output layer: t (or t̄)
    z: float | None = None              # hidden: z (or z̄)
    a: float | None = None              # hidden: a (or ā)
    fprime: float | None = None         # hidden: f′(z) (or mean f′(z))
    terms: tuple[ChainTerm, ...] = ()   # hidden: largest |product| first
    total: float | None = None          # hidden: Σ_k products
    product_of_means: float | None = None   # batch only: mean f′ × Σ (≠ result in general)
    samples: int = 1


@dataclass(frozen=True)
class Histogram:
    counts: tuple[int, ...]
    edges: tuple[float, ...]


@dataclass(frozen=True)
class IncomingEdge:
    """Edge i→j into the inspected neuron j."""

    from_: int                   # neuron i of layer l − 1 (JSON key "from")
    weight: float
    grad: float                  # ∂loss/∂w_ij = mean_n a_i δ_j
    update: float | None = None  # Δw of the last update, when known
    fd: float | None = None      # finite-difference ∂loss/∂w_ij
    rel_error: float | None = None


@dataclass(frozen=True)
class BiasInfo:
    value: float
    grad: float                  # ∂loss/∂b_j = mean_n δ_j
    update: float | None = None
    fd: float | None = None
    rel_error: float | None = None


@dataclass(frozen=True)
class OutgoingEdge:
    """Edge j→k out of the inspected neuron j."""

    to: int                      # neuron k of layer l + 1
    weight: float                # w_jk
    delta: float                 # δ_k of the pinned sample
    delta_mean: float            # δ̄_k over the batch
    signal: float                # w_jk · δ̄_k: the edge signal, as in the trace
    signal_sample: float         # w_jk · δ_k of the pinned sample


@dataclass(frozen=True)
class FDCheck:
    """Finite differences (five-point stencil, step h) of the loss in the incoming parameters."""

    h: float
    names: tuple[str, ...]       # "w[i→j]" per checked weight, then "b"
    backprop: tuple[float, ...]
    numeric: tuple[float, ...]
    rel_error: tuple[float, ...]
    worst: float
    kink_samples: int = 0        # samples on a ReLU kink: FD may legitimately disagree there
    skipped: int = 0             # incoming weights left out (fd_max_entries)


@dataclass(frozen=True)
class NeuronReport:
    layer: int
    index: int
    sizes: tuple[int, ...]
    activation: str              # "input", a hidden activation's name or the output's
    formula: str
    derivative: str
    is_output: bool
    is_input: bool
    loss: str                    # e.g. "softmax + cross-entropy" (output layer), else ""
    sample: int
    n_samples: int
    # pinned sample
    z: float | None
    a: float
    delta: float | None
    fprime: float | None         # hidden: f′(z) of the pinned sample
    t: float | None              # output: the pinned sample's target
    # batch
    z_mean: float | None
    a_mean: float
    delta_mean: float | None
    delta_mean_abs: float | None
    delta_histogram: Histogram | None
    dead: bool
    saturated: bool              # over the batch (see the module doc)
    saturated_sample: bool       # for the pinned sample
    chain_sample: ChainRule
    chain_batch: ChainRule
    incoming: tuple[IncomingEdge, ...]
    bias: BiasInfo | None
    outgoing: tuple[OutgoingEdge, ...]
    fd: FDCheck | None
    loss_value: float            # the batch's mean loss at these weights
    update_at_these_weights: bool | None = None  # was Δw computed from this gradient?

    def to_dict(self) -> dict:
        """A JSON-ready dict (the ``bpviz inspect --json`` object)."""
        d = _plain(self)
        d["chain_rule"] = {"sample": d.pop("chain_sample"), "batch": d.pop("chain_batch")}
        d["chain_rule_text"] = self.chain_rule_text()
        return d

    def chain_rule_text(self, scope: str = "sample", max_terms: int = 6) -> str:
        """The chain rule as one line of text, e.g.
        ``δ = σ′(z)·Σ w·δ = 0.2166 × (0.53·(−0.12) + …) = −0.0213``."""
        c = self.chain_sample if scope == "sample" else self.chain_batch
        bar = "" if scope == "sample" else "̄"
        if c.kind == "input":
            return f"input neuron: a = x = {fmt(self.a)}; an input has no δ"
        if c.kind == "output":
            return (f"δ{bar} = y{bar} − t{bar} = {fmt(c.y)} − {fmt(c.t)} = {fmt(c.result)}"
                    f"   ({self.loss})")
        parts = [f"{paren(t.weight)}·{paren(t.delta)}" for t in c.terms[:max_terms]]
        if len(c.terms) > max_terms:
            parts.append("…")
        fp = SYMBOLS.get(c.activation, "f′(z)")
        if scope == "sample":
            return (f"δ = {fp}·Σ w·δ = {fmt(c.fprime)} × ({' + '.join(parts)}) = "
                    f"{fmt(c.fprime)} × {paren(c.total)} = {fmt(c.result)}")
        return (f"mean δ = mean[{fp}·Σ w·δ] = {fmt(c.result)};  Σ w·mean δ = {' + '.join(parts)}"
                f" = {fmt(c.total)};  mean {fp} = {fmt(c.fprime)}  "
                f"(mean {fp} × Σ w·mean δ = {fmt(c.product_of_means)} ≠ mean δ: "
                f"the mean of products is not the product of means)")

    def to_text(self) -> str:
        """The inspector's content as readable text (``bpviz inspect``)."""
        return report_text(self)


# -- number formatting (shared with the panel) ------------------------------------------------

def fmt(v, digits: int = 4) -> str:
    """A number in bpviz's one format (:func:`.numbers.fmt`), the same as the diagram's."""
    return numbers.fmt(v, digits)


def paren(v) -> str:
    """A number, in parentheses when negative (for products written inline)."""
    s = fmt(v)
    return f"({s})" if s.startswith("−") else s


# -- computation ------------------------------------------------------------------------------

def _check_neuron(net: Network, layer: int, index: int) -> None:
    sizes = net.sizes
    if not 0 <= layer < len(sizes):
        raise ValueError(f"no layer {layer}: the network has layers 0..{len(sizes) - 1} "
                         f"(sizes {'-'.join(map(str, sizes))}, layer 0 is the input)")
    if not 0 <= index < sizes[layer]:
        raise ValueError(f"no neuron {index} in layer {layer}: it has {sizes[layer]} neurons "
                         f"(0..{sizes[layer] - 1}; sizes {'-'.join(map(str, sizes))})")


def _trace(net: Network, X, T) -> tuple[np.ndarray, np.ndarray, Trace]:
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError("the batch needs at least one sample")
    return X, T, net.backprop(X, T)


def _fprime(net: Network, trace: Trace, layer: int) -> np.ndarray:
    """f′(z) of hidden layer ``layer`` (1..L−1) for every sample, (N, n_l)."""
    act = net.hidden_activations[layer - 1]
    return act.df(trace.pre_activations[layer - 1], trace.activations[layer])


def finite_differences(net: Network, X, T, layer: int, index: int, rows: Sequence[int],
                       h: float = FD_STEP) -> tuple[np.ndarray, float]:
    """Five-point finite differences of the mean loss in w[i→index] (i in ``rows``) and b[index].

    Perturbing a weight into layer ``layer`` moves only that layer's z (by step·a_i), so the layers
    below are computed once; the loss itself is evaluated in full each time, as
    ``gradcheck.numeric_gradient`` does: (−L(θ+2h) + 8L(θ+h) − 8L(θ−h) + L(θ−2h)) / 12h.
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    a = net.forward_to(layer - 1, X)
    W, b = net.weights[layer - 1], net.biases[layer - 1]
    z0 = net.pre_activation(layer, a)

    grads_w = []
    for i in rows:
        w = W[:, index].copy()
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            w2 = w.copy()
            w2[i] = w[i] + step
            z = z0.copy()
            z[:, index] = a @ w2 + b[index]
            vals.append(net.loss_from(layer, z, T))
        grads_w.append((-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h))
    vals = []
    for step in (2 * h, h, -h, -2 * h):
        z = z0.copy()
        z[:, index] = a @ W[:, index] + (b[index] + step)
        vals.append(net.loss_from(layer, z, T))
    grad_b = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return np.array(grads_w, dtype=float), float(grad_b)


def _histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> Histogram:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Histogram((), ())
    bins = int(min(bins, max(5, int(np.sqrt(len(values))) + 1)))
    counts, edges = np.histogram(values, bins=bins)
    return Histogram(tuple(int(c) for c in counts), tuple(float(e) for e in edges))


def _hidden_chain(net: Network, trace: Trace, layer: int, index: int, sample: int,
                  act: str) -> tuple[ChainRule, ChainRule]:
    W_out = net.weights[layer]                       # (n_l, n_{l+1}): row j = w_jk
    w = W_out[index]
    d_next = trace.deltas[layer]                     # δ of layer l + 1, (N, n_{l+1})
    fp = _fprime(net, trace, layer)[:, index]
    z = trace.pre_activations[layer - 1][:, index]
    a = trace.activations[layer][:, index]
    delta = trace.deltas[layer - 1][:, index]

    def terms(dk: np.ndarray) -> tuple[tuple[ChainTerm, ...], float]:
        prods = w * dk
        order = sorted(range(len(w)), key=lambda k: (-abs(prods[k]), k))
        total = float(np.sum(prods))
        return tuple(ChainTerm(k, float(w[k]), float(dk[k]), float(prods[k])) for k in order), total

    s_terms, s_total = terms(d_next[sample])
    chain_s = ChainRule("hidden", "sample", act, float(delta[sample]), z=float(z[sample]),
                        a=float(a[sample]), fprime=float(fp[sample]), terms=s_terms,
                        total=s_total, samples=1)
    b_terms, b_total = terms(d_next.mean(axis=0))
    fp_mean = float(fp.mean())
    chain_b = ChainRule("hidden", "batch", act, float(delta.mean()), z=float(z.mean()),
                        a=float(a.mean()), fprime=fp_mean, terms=b_terms, total=b_total,
                        product_of_means=fp_mean * b_total, samples=len(delta))
    return chain_s, chain_b


def inspect_neuron(net: Network, X, T, layer: int, index: int, *, sample: int = 0,
                   weights_for_update: Sequence[np.ndarray] | None = None,
                   last_update: Sequence[np.ndarray] | None = None, fd_check: bool = True,
                   fd_max_entries: int | None = None, trace: Trace | None = None) -> NeuronReport:
    """What the inspector shows for neuron ``index`` of layer ``layer`` (0 = input, L = output).

    Everything comes from one backprop trace of the batch (X, T) at ``net``'s weights (pass
    ``trace`` to reuse one already computed for exactly this network and batch).

    ``last_update`` is the last update as ``Trainer.last_update`` holds it (ΔW0, Δb0, ΔW1, ...);
    ``weights_for_update`` the weights (W0, W1, ...) that update's gradient was computed at: when
    they equal ``net.weights``, ``update_at_these_weights`` is True (Δw is the step taken from the
    gradient shown), otherwise False (None when not given).

    ``fd_max_entries`` limits the finite-difference check to that many incoming weights (those
    with the largest |gradient|) plus the bias; ``fd_check=False`` skips it.
    """
    _check_neuron(net, layer, index)
    if trace is None:
        X, T, trace = _trace(net, X, T)
    else:
        X, T = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
    N = len(X)
    if not 0 <= sample < N:
        raise ValueError(f"no sample {sample}: the batch has {N} samples (0..{N - 1})")
    L = net.n_layers
    is_input, is_output = layer == 0, layer == L
    a_all = trace.activations[layer][:, index]

    # the neuron itself
    if is_input:
        name, formula, derivative, loss = "input", "a = x", "—", ""
    elif is_output:
        name, formula, loss = net.out.name, net.out.formula, LOSS_PAIRS.get(net.out.name, "")
        derivative = f"∂ℓ/∂z = y − t  ({loss}: {net.out.loss_formula})"
    else:
        act = ACTIVATIONS[net.hidden_activations[layer - 1].name]
        name, formula, derivative, loss = act.name, act.formula, act.derivative, ""

    z_all = None if is_input else trace.pre_activations[layer - 1][:, index]
    d_all = None if is_input else trace.deltas[layer - 1][:, index]
    fp_all = _fprime(net, trace, layer)[:, index] if (not is_input and not is_output) else None
    t_val = float(T[sample, index]) if is_output else None

    # the chain rule
    if is_input:
        chain_s = ChainRule("input", "sample", name, None, a=float(a_all[sample]))
        chain_b = ChainRule("input", "batch", name, None, a=float(a_all.mean()), samples=N)
    elif is_output:
        chain_s = ChainRule("output", "sample", name, float(d_all[sample]), y=float(a_all[sample]),
                            t=t_val, z=float(z_all[sample]), a=float(a_all[sample]))
        chain_b = ChainRule("output", "batch", name, float(d_all.mean()), y=float(a_all.mean()),
                            t=float(T[:, index].mean()), z=float(z_all.mean()),
                            a=float(a_all.mean()), samples=N)
    else:
        chain_s, chain_b = _hidden_chain(net, trace, layer, index, sample, name)

    # flags
    dead = saturated = saturated_sample = False
    if fp_all is not None:
        if name in KINKED:
            dead = bool((z_all <= 0).all())
        if name in SATURATING:
            low = fp_all < SATURATION_FPRIME
            saturated = bool(low.mean() >= SATURATION_SHARE)
            saturated_sample = bool(low[sample])

    # edges
    incoming: tuple[IncomingEdge, ...] = ()
    bias = None
    fd = None
    update_here = None
    if not is_input:
        W, b = net.weights[layer - 1], net.biases[layer - 1]
        gW, gb = trace.grad_weights[layer - 1], trace.grad_biases[layer - 1]
        dW = db = None
        if last_update is not None:
            dW, db = last_update[2 * (layer - 1)], last_update[2 * (layer - 1) + 1]
        if weights_for_update is not None:
            update_here = all(np.array_equal(np.asarray(u), w)
                              for u, w in zip(weights_for_update, net.weights))
        fd_w: dict[int, tuple[float, float]] = {}
        fd_b = None
        if fd_check:
            n_in = net.sizes[layer - 1]
            rows = list(range(n_in))
            if fd_max_entries is not None and fd_max_entries < n_in:
                rows = sorted(sorted(rows, key=lambda i: -abs(gW[i, index]))[:max(0, fd_max_entries)])
            num_w, num_b = finite_differences(net, X, T, layer, index, rows)
            rel_w = relative_error(gW[rows, index], num_w)
            rel_b = float(relative_error(np.array(gb[index]), np.array(num_b)))
            fd_w = {i: (float(n), float(r)) for i, n, r in zip(rows, num_w, rel_w)}
            fd_b = (num_b, rel_b)
            kinks = int(N - kink_free_samples(net, X, FD_STEP).sum()) if any(
                a.name in KINKED for a in net.hidden_activations[layer - 1:]) else 0
            names = tuple(f"w[{i}→{index}]" for i in rows) + (f"b[{index}]",)
            back = tuple(float(gW[i, index]) for i in rows) + (float(gb[index]),)
            nums = tuple(float(n) for n in num_w) + (float(num_b),)
            rels = tuple(float(r) for r in rel_w) + (rel_b,)
            fd = FDCheck(FD_STEP, names, back, nums, rels, float(max(rels)), kinks,
                         n_in - len(rows))
        incoming = tuple(
            IncomingEdge(i, float(W[i, index]), float(gW[i, index]),
                         None if dW is None else float(dW[i, index]),
                         fd_w.get(i, (None, None))[0], fd_w.get(i, (None, None))[1])
            for i in range(net.sizes[layer - 1]))
        bias = BiasInfo(float(b[index]), float(gb[index]), None if db is None else float(db[index]),
                        None if fd_b is None else float(fd_b[0]),
                        None if fd_b is None else fd_b[1])

    outgoing: tuple[OutgoingEdge, ...] = ()
    if not is_output:
        Wn = net.weights[layer]
        d_next = trace.deltas[layer]
        mean_next = d_next.mean(axis=0)
        sig = trace.edge_signals[layer]
        outgoing = tuple(
            OutgoingEdge(k, float(Wn[index, k]), float(d_next[sample, k]), float(mean_next[k]),
                         float(sig[index, k]), float(Wn[index, k] * d_next[sample, k]))
            for k in range(net.sizes[layer + 1]))

    return NeuronReport(
        layer=layer, index=index, sizes=tuple(net.sizes), activation=name, formula=formula,
        derivative=derivative, is_output=is_output, is_input=is_input, loss=loss, sample=sample,
        n_samples=N,
        z=None if z_all is None else float(z_all[sample]), a=float(a_all[sample]),
        delta=None if d_all is None else float(d_all[sample]),
        fprime=None if fp_all is None else float(fp_all[sample]), t=t_val,
        z_mean=None if z_all is None else float(z_all.mean()), a_mean=float(a_all.mean()),
        delta_mean=None if d_all is None else float(d_all.mean()),
        delta_mean_abs=None if d_all is None else float(np.abs(d_all).mean()),
        delta_histogram=None if d_all is None else _histogram(d_all),
        dead=dead, saturated=saturated, saturated_sample=saturated_sample,
        chain_sample=chain_s, chain_batch=chain_b, incoming=incoming, bias=bias,
        outgoing=outgoing, fd=fd, loss_value=float(trace.loss),
        update_at_these_weights=update_here)


# -- the delta table --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class LayerDeltas:
    layer: int                   # 1..L
    activation: str
    delta: np.ndarray            # (n_l,) δ of the pinned sample, or δ̄ over the batch
    dead: np.ndarray             # (n_l,) bool
    saturated: np.ndarray        # (n_l,) bool


@dataclass(frozen=True, eq=False)
class DeltaTable:
    scope: str                   # "sample" or "batch"
    sample: int | None
    n_samples: int
    layers: tuple[LayerDeltas, ...]

    def to_dict(self) -> dict:
        return _plain(self)

    def flagged(self) -> list[tuple[int, int, str]]:
        """(layer, index, "dead" | "saturated") of every flagged neuron."""
        out = []
        for ld in self.layers:
            for j in range(len(ld.delta)):
                if ld.dead[j]:
                    out.append((ld.layer, j, "dead"))
                if ld.saturated[j]:
                    out.append((ld.layer, j, "saturated"))
        return out


def delta_table(net: Network, X, T, sample: int | None = None, *,
                trace: Trace | None = None) -> DeltaTable:
    """Every neuron's δ per layer (1..L): the pinned ``sample``'s, or the batch mean when None.

    Flags (see the module doc): ``dead`` — ReLU/leaky ReLU with z ≤ 0 for every sample of the
    batch; ``saturated`` — sigmoid/tanh with f′(z) < 0.01 for ≥ 95 % of the samples, or for the
    pinned sample when ``sample`` is given. The output layer is never flagged (its δ = y − t does not
    pass through f′).
    """
    if trace is None:
        X, T, trace = _trace(net, X, T)
    N = len(trace.activations[0])
    if sample is not None and not 0 <= sample < N:
        raise ValueError(f"no sample {sample}: the batch has {N} samples (0..{N - 1})")
    layers = []
    L = net.n_layers
    for l in range(1, L + 1):
        d = trace.deltas[l - 1]
        delta = d.mean(axis=0) if sample is None else d[sample].copy()
        n = net.sizes[l]
        dead = np.zeros(n, dtype=bool)
        sat = np.zeros(n, dtype=bool)
        if l < L:
            name = net.hidden_activations[l - 1].name
            if name in KINKED:
                dead = (trace.pre_activations[l - 1] <= 0).all(axis=0)
            if name in SATURATING:
                low = _fprime(net, trace, l) < SATURATION_FPRIME
                sat = low.mean(axis=0) >= SATURATION_SHARE if sample is None else low[sample]
        else:
            name = net.out.name
        layers.append(LayerDeltas(l, name, delta, dead, sat))
    return DeltaTable("batch" if sample is None else "sample", sample, N, tuple(layers))


# -- one recomputation of the inspector --------------------------------------------------------

FD_BUDGET = 4e7               # multiply-adds the finite-difference check may spend (~tens of ms)
WORK_BUDGET = 2e8             # multiply-adds one recomputation may spend: beyond, fewer samples
MIN_SAMPLES = 256             # ... but never fewer than this


@dataclass(frozen=True, eq=False)
class InspectRequest:
    """What the inspector shows, asked of whoever holds the training data: neuron ``index`` of
    layer ``layer`` at these weights, with ``sample`` pinned; ``update`` (ΔW0, Δb0, …) and
    ``update_weights`` (the weights its gradient was computed at) when a real update is known;
    ``running``: no finite-difference check (it is for a paused run)."""

    layer: int
    index: int
    sample: int
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    update: tuple[np.ndarray, ...] | None
    update_weights: tuple[np.ndarray, ...] | None
    running: bool


@dataclass(frozen=True, eq=False)
class InspectAnswer:
    report: NeuronReport
    tables: dict                          # "sample" and "batch": DeltaTable
    subset: tuple[int, int] | None        # (samples used, samples in all) when capped


def sample_limit(sizes) -> int:
    """Most samples one recomputation may use (forward + backward within ``WORK_BUDGET``)."""
    per_sample = 3 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    return max(MIN_SAMPLES, int(WORK_BUDGET // per_sample))


def fd_entries(sizes, layer: int, n: int) -> int | None:
    """Incoming weights the finite-difference check can afford (None: not even the bias)."""
    if layer == 0:
        return None
    per_eval = n * sum(sizes[m - 1] * sizes[m] + sizes[m] for m in range(layer, len(sizes)))
    entries = int(FD_BUDGET // max(1, per_eval)) // 4 - 1
    return None if entries < 0 else entries


def answer_inspect(request: InspectRequest, X, T) -> InspectAnswer:
    """The inspector's report and delta tables for ``request`` over the training set (X, T):
    one backprop trace, on at most :func:`sample_limit` samples (the pinned one always among
    them)."""
    r = request
    acts = list(r.activations)
    if len(r.sizes) < 2 or X.shape[1] != r.sizes[0] or T.shape[1] != r.sizes[-1]:
        raise ValueError("the request is for another network's data")
    net = Network(r.sizes, acts[:-1], acts[-1], weights=list(r.weights), biases=list(r.biases))
    sample, subset = r.sample, None
    limit = sample_limit(r.sizes)
    if len(X) > limit:               # a cap keeps one recomputation short on big data
        rows = np.arange(limit)
        if sample >= limit:
            rows[-1], sample = sample, limit - 1
        X, T, subset = X[rows], T[rows], (limit, len(X))
    with np.errstate(all="ignore"):
        trace = net.backprop(X, T)
        fd = None if r.running else fd_entries(r.sizes, r.layer, len(X))
        report = inspect_neuron(
            net, X, T, r.layer, r.index, sample=sample,
            weights_for_update=list(r.update_weights) if r.update is not None else None,
            last_update=list(r.update) if r.update is not None else None,
            fd_check=fd is not None and r.layer > 0, fd_max_entries=fd, trace=trace)
        tables = {"sample": delta_table(net, X, T, sample, trace=trace),
                  "batch": delta_table(net, X, T, None, trace=trace)}
    if sample != r.sample:           # name the sample by its index in the training set
        report = replace(report, sample=r.sample)
        tables["sample"] = replace(tables["sample"], sample=r.sample)
    return InspectAnswer(report, tables, subset)


# -- text ---------------------------------------------------------------------------------------

def _chain_block(r: NeuronReport, scope: str) -> list[str]:
    c = r.chain_sample if scope == "sample" else r.chain_batch
    out = []
    if c.kind == "input":
        return [f"  a = x = {fmt(c.a)}  (an input neuron has no δ)"]
    if c.kind == "output":
        bar = "" if scope == "sample" else "̄"
        return [f"  δ{bar} = y{bar} − t{bar} = {fmt(c.y)} − {fmt(c.t)} = {fmt(c.result)}"
                f"     ({r.loss}: ∂ℓ/∂z = y − t)"]
    fp = SYMBOLS.get(c.activation, "f′(z)")
    if scope == "sample":
        out.append(f"  δ = {fp} · Σ_k w_jk δ_k")
        out.append(f"  {'k':>4}  {'w_jk':>10}     {'δ_k':>10}     {'w_jk·δ_k':>10}")
    else:
        out.append(f"  error signals w_jk · mean δ_k (means over the {c.samples} samples)")
        out.append(f"  {'k':>4}  {'w_jk':>10}     {'mean δ_k':>10}     {'w_jk·mean δ_k':>13}")
    w = 10 if scope == "sample" else 13
    for t in c.terms:
        out.append(f"  {t.k:>4}  {fmt(t.weight):>10}  ×  {fmt(t.delta):>10}  =  {fmt(t.product):>{w}}")
    out.append(f"  {'Σ':>4}  {'':>10}     {'':>10}  =  {fmt(c.total):>{w}}")
    if scope == "sample":
        out.append(f"  {fp} = {derivative_numbers(c)}")
        out.append(f"  δ = {fmt(c.fprime)} × {paren(c.total)} = {fmt(c.result)}")
    else:
        out.append(f"  mean {fp} = {fmt(c.fprime)}")
        out.append(f"  mean δ = mean over the samples of {fp}·Σ w·δ = {fmt(c.result)}")
        if abs(c.product_of_means - c.result) > 1e-9 * max(abs(c.result), 1e-300):
            out.append(f"  (not mean {fp} × Σ = {fmt(c.product_of_means)}: "
                       f"the mean of products is not the product of means)")
    return out


def derivative_numbers(c: ChainRule, result: bool = True) -> str:
    """f′(z) written out with the numbers: ``a (1 − a) = 0.64 × (1 − 0.64) = 0.2304``; with
    ``result=False`` the text stops after the last "= " (the caller writes the value)."""
    a, z, fp = c.a, c.z, c.fprime
    end = fmt(fp) if result else ""
    if c.activation == "sigmoid":
        return f"a (1 − a) = {fmt(a)} × (1 − {fmt(a)}) = {end}"
    if c.activation == "tanh":
        return f"1 − a² = 1 − {paren(a)}² = {end}"
    if c.activation in ("relu", "leaky_relu"):
        low = "0" if c.activation == "relu" else f"{LEAKY_SLOPE:g}"
        return f"1 if z > 0 else {low};  z = {fmt(z)} {'>' if z > 0 else '≤'} 0  ⇒  {end}"
    return end


def report_text(r: NeuronReport) -> str:
    lines = []
    sizes = "-".join(map(str, r.sizes))
    role = "input" if r.is_input else "output" if r.is_output else "hidden"
    lines.append(f"neuron {r.index} of layer {r.layer} ({role}; network {sizes}), "
                 f"{r.activation}: {r.formula}")
    if not r.is_input:
        lines.append(f"  derivative: {r.derivative}")
    lines.append(f"batch of {r.n_samples} samples, loss {fmt(r.loss_value, 6)}")
    flags = [f for f, on in (("DEAD (z ≤ 0 for every sample)", r.dead),
                             ("SATURATED (f′ < 0.01 for ≥ 95 % of samples)", r.saturated)) if on]
    if flags:
        lines.append("  flags: " + "; ".join(flags))
    lines.append("")
    if r.is_input:
        lines.append(f"pinned sample {r.sample}: a = x = {fmt(r.a)};  batch mean ā = {fmt(r.a_mean)}")
    else:
        t = f", t = {fmt(r.t)}" if r.is_output else ""
        lines.append(f"pinned sample {r.sample}: z = {fmt(r.z)}, a = {fmt(r.a)}{t}, δ = {fmt(r.delta)}")
        lines.append(f"batch: z̄ = {fmt(r.z_mean)}, ā = {fmt(r.a_mean)}, δ̄ = {fmt(r.delta_mean)}, "
                     f"mean |δ| = {fmt(r.delta_mean_abs)}")
    lines.append("")
    lines.append(f"chain rule, pinned sample {r.sample}:")
    if not r.is_input and not r.is_output:
        lines.append("  " + r.chain_rule_text("sample"))
    lines += _chain_block(r, "sample")
    if not r.is_input:
        lines.append("chain rule, batch mean:")
        lines += _chain_block(r, "batch")
    if r.incoming:
        lines.append("")
        upd = "Δw (last update)" if r.update_at_these_weights is not True else "Δw (from this ∂L/∂w)"
        lines.append("incoming edges (∂L/∂w = mean over samples of a_i δ_j):")
        lines.append(f"  {'from':>6}  {'weight':>10}  {'∂L/∂w':>10}  {upd:>18}  {'finite diff':>11}  "
                     f"{'rel. error':>10}")
        rows = [(str(e.from_), e.weight, e.grad, e.update, e.fd, e.rel_error) for e in r.incoming]
        b = r.bias
        rows.append(("bias", b.value, b.grad, b.update, b.fd, b.rel_error))
        for name, w, g, u, n, e in rows:
            lines.append(f"  {name:>6}  {fmt(w):>10}  {fmt(g):>10}  {fmt(u):>18}  {fmt(n):>11}  "
                         f"{fmt(e):>10}")
        if r.fd is not None:
            note = f"finite differences (five-point, h = {r.fd.h:g}): worst relative error " \
                   f"{fmt(r.fd.worst)}"
            if r.fd.skipped:
                note += f"; {r.fd.skipped} weights with the smallest gradients not checked"
            if r.fd.kink_samples:
                note += f"; {r.fd.kink_samples} samples sit on a ReLU kink, where FD may disagree"
            lines.append("  " + note)
    if r.outgoing:
        lines.append("")
        lines.append("outgoing edges (signal = w_jk · mean δ_k, what the edge carries back):")
        lines.append(f"  {'to':>6}  {'weight':>10}  {'δ_k sample':>10}  {'mean δ_k':>10}  "
                     f"{'signal':>10}")
        for e in r.outgoing:
            lines.append(f"  {e.to:>6}  {fmt(e.weight):>10}  {fmt(e.delta):>10}  "
                         f"{fmt(e.delta_mean):>10}  {fmt(e.signal):>10}")
    return "\n".join(lines)


__all__ = ["ChainRule", "ChainTerm", "DeltaTable", "FDCheck", "Histogram", "IncomingEdge",
           "LayerDeltas", "NeuronReport", "OutgoingEdge", "BiasInfo", "delta_table",
           "finite_differences", "fmt", "inspect_neuron", "report_text", "SATURATION_FPRIME",
           "SATURATION_SHARE"]
