"""One training sample's pass through one neuron as a computational graph of primitive operations.

``build_graph(net, x, t, layer, index)`` follows the sample x (target t) through neuron ``index``
of layer ``layer`` (diagram numbering: layer 0 is the input, the weights feeding layer l are
``net.weights[l - 1]``) and through everything downstream of it to the loss:

- the neuron itself: every input a_i times its weight w_ij (``mul``), the sum Σ_i w_ij a_i
  (``sum``), the bias added (``add_bias``: z_j), the activation (``activation``: a_j = f(z_j));
- every neuron of the layers above, the same way. In the layer right above, the terms that do not
  depend on neuron j are one constant, Σ_{i≠j} w_ik a_i (``const``); further up every term does;
- the output and its loss, as bpviz pairs them: softmax (``softmax``), log (``log``) and
  cross-entropy (``loss``: ℓ = −Σ_k t_k log y_k); sigmoid (``output``), log y, 1 − y
  (``one_minus``), log(1 − y) and binary cross-entropy; linear (``output``: y = z), y − t
  (``diff``) and ½ squared error.

The loss is the per-sample ℓ of this one sample: bpviz trains on the mean of ℓ over the
mini-batch (L2, when set, is added to the gradient, not to ℓ), so this sample's share of ∂L/∂w is
its ∂ℓ/∂w divided by the batch size.

As in the small autodiff engines (micrograd's ``Value``), every node is made by one operation that
computes, there and then, its forward value, the forward arithmetic written out, and its local
derivative with respect to each of its inputs with how that derivative is computed
(:attr:`Node.local`). The backward pass knows no operation: a node's gradient ∂ℓ/∂node is the sum,
over the nodes that use it, of the local derivative they recorded for it times their own gradient
(``terms``). The forward order lists the computed nodes (leaves — inputs, weights, biases and
constants — have their values from the start), the backward order the loss first and then every
node whose gradient is asked for: computed nodes, weights and biases. Inputs and constants get no
gradient here (they feed other neurons the graph does not draw).

A node's ``id`` is only a name to look it up by (``graph["z2_1"]``); where a node sits in the
network is in ``layer`` and ``at`` (a weight's (i, j), a neuron's or output's (j,)), never parsed
back out of the name.

Values are computed with the network's own layer functions (``functions.py``); the loss value is
the engine's per-sample loss. Pure numpy; no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import BpvizError
from .network import Network
from . import numbers

MAX_NODES = 260       # more than this is no longer a picture anyone can read

LEAF_OPS = ("input", "weight", "bias", "const")
NORMALISATION = ("ℓ is this sample's loss. bpviz trains on the mean of ℓ over the mini-batch, "
                 "so this sample adds ∂ℓ/∂w ÷ batch size to ∂L/∂w.")

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(n: int) -> str:
    return str(n).translate(_SUP)


def sub(n: int) -> str:
    return str(n).translate(_SUB)


def fmt(v: float | None) -> str:
    """A number as the graph shows it: bpviz's one format (:func:`.numbers.fmt`)."""
    return numbers.fmt(v)


def _p(v: float) -> str:
    """``fmt`` in brackets when negative, for products and sums written out."""
    s = fmt(v)
    return f"({s})" if s.startswith("−") else s


class GraphTooLarge(BpvizError):
    """The neuron's graph has more nodes than a picture can show."""


@dataclass(frozen=True)
class Local:
    """∂node/∂input for one input of a node, recorded when the node is made."""

    value: float           # the local derivative
    text: str              # how it is computed, e.g. "σ′(z) = a(1 − a) = 0.25"


@dataclass(frozen=True)
class GradTerm:
    """One term of a node's gradient: through ``consumer``, ∂consumer/∂node × ∂ℓ/∂consumer."""

    consumer: str          # id of the node that uses this one
    local: float           # ∂consumer/∂node, the local derivative
    local_text: str        # how it is computed, e.g. "σ′(z) = a(1 − a)"
    upstream: float        # ∂ℓ/∂consumer
    product: float         # local × upstream (0 when the upstream gradient is 0)


@dataclass
class Node:
    id: str                        # a name to look the node up by; nothing is read out of it
    op: str                        # input, weight, bias, const, mul, sum, add_bias, activation,
                                   # output, softmax, log, one_minus, diff, loss
    label: str                     # the quantity, e.g. "z²₁" or "w¹[0→2]·x₀"
    inputs: tuple[str, ...]
    value: float = float("nan")
    local: tuple[Local, ...] = ()  # ∂node/∂input for each of ``inputs``, in the same order
    grad: float | None = None      # ∂ℓ/∂node after the backward pass (None: not asked for)
    terms: tuple[GradTerm, ...] = ()
    layer: int = 0                 # the network layer the node belongs to (for the drawing)
    at: tuple[int, ...] = ()       # where in the layer: (i, j) of a weight, (j,) of a neuron
    forward_text: str = ""         # the forward arithmetic with the numbers
    backward_text: str = ""        # the gradient's arithmetic with the numbers
    consumers: list[str] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return self.op in LEAF_OPS

    @property
    def symbol(self) -> str:
        """The operation as one short sign for a node box."""
        return {"input": "input", "weight": "weight", "bias": "bias", "const": "constant",
                "mul": "×", "sum": "Σ", "add_bias": "+ b", "softmax": "softmax", "loss": "loss",
                # their labels say it all: "log y₀", "1 − y₀", "y₀ − t₀"
                "log": "", "one_minus": "", "diff": ""}.get(self.op, self.op)

    def local_for(self, input_id: str) -> Local:
        """∂self/∂(the input ``input_id``), as recorded when this node was made."""
        return self.local[self.inputs.index(input_id)]


@dataclass
class Graph:
    nodes: dict[str, Node]
    forward_order: list[str]       # computed nodes, inputs before the nodes that use them
    backward_order: list[str]      # the loss first; every node after all its consumers
    layer: int                     # the selected neuron
    index: int
    output: str                    # "softmax", "sigmoid" or "linear"
    loss_name: str
    loss: float                    # ℓ of this sample
    normalisation: str = NORMALISATION

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]

    @property
    def z_id(self) -> str:
        return _z_id(self.layer, self.index)

    def weight_id(self, layer: int, i: int, j: int) -> str:
        """The node of weight w_ij feeding layer ``layer`` (diagram numbering)."""
        return f"w{layer}_{i}_{j}"

    def bias_id(self, layer: int, j: int) -> str:
        return f"b{layer}_{j}"

    def weight_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.op in ("weight", "bias")]


def _z_id(layer: int, j: int) -> str:
    return f"z{layer}_{j}"


def _neuron_label(kind: str, layer: int, j: int) -> str:
    return f"{kind}{sup(layer)}{sub(j)}"


def _wrt(label: str) -> str:
    """``label`` bracketed when it is a product or has spaces: ∂ℓ/∂(w·a), ∂ℓ/∂(log y₀)."""
    return f"({label})" if ("·" in label or " " in label) else label


class _Builder:
    """Makes the nodes, one operation each: value, forward arithmetic and local derivatives."""

    def __init__(self, max_nodes: int):
        self.nodes: dict[str, Node] = {}
        self.max_nodes = max_nodes

    def _add(self, node_id: str, op: str, label: str, inputs: tuple[Node, ...] = (),
             value=float("nan"), *, layer: int, at: tuple[int, ...] = (),
             local: tuple[Local, ...] = (), forward: str = "") -> Node:
        if len(self.nodes) >= self.max_nodes:
            raise GraphTooLarge(
                f"the graph of this neuron has more than {self.max_nodes} operations; select a "
                f"neuron nearer the output or use a smaller network")
        assert len(local) == len(inputs)
        node = Node(node_id, op, label, tuple(n.id for n in inputs), float(value), tuple(local),
                    layer=layer, at=tuple(at), forward_text=forward)
        self.nodes[node_id] = node
        for n in inputs:
            n.consumers.append(node_id)
        return node

    # -- leaves --------------------------------------------------------------------------------

    def leaf(self, node_id: str, op: str, label: str, value: float, *, layer: int,
             at: tuple[int, ...] = ()) -> Node:
        return self._add(node_id, op, label, value=value, layer=layer, at=at)

    # -- operations ----------------------------------------------------------------------------

    def mul(self, node_id: str, w: Node, a: Node, *, layer: int, at) -> Node:
        label = f"{w.label}·{a.label}"
        v = w.value * a.value
        return self._add(
            node_id, "mul", label, (w, a), v, layer=layer, at=at,
            local=(Local(a.value, f"∂({label})/∂{w.label} = {a.label} = {fmt(a.value)}"),
                   Local(w.value, f"∂({label})/∂{a.label} = {w.label} = {fmt(w.value)}")),
            forward=f"{label} = {fmt(w.value)} × {_p(a.value)} = {fmt(v)}")

    def sum(self, node_id: str, label: str, terms: list[Node], *, layer: int, at) -> Node:
        v = sum(n.value for n in terms)
        one = Local(1.0, "a sum passes the gradient on unchanged: ∂(u + v)/∂u = 1")
        return self._add(node_id, "sum", label, tuple(terms), v, layer=layer, at=at,
                         local=(one,) * len(terms),
                         forward=f"{label} = {' + '.join(_p(n.value) for n in terms)} = {fmt(v)}")

    def add_bias(self, node_id: str, label: str, s: Node, bias: Node, *, layer: int, at) -> Node:
        v = s.value + bias.value
        one = Local(1.0, "a sum passes the gradient on unchanged: ∂(u + v)/∂u = 1")
        return self._add(node_id, "add_bias", label, (s, bias), v, layer=layer, at=at,
                         local=(one, one),
                         forward=f"{label} = {s.label} + {bias.label} = {fmt(s.value)} + "
                                 f"{_p(bias.value)} = {fmt(v)}")

    def activation(self, node_id: str, label: str, z: Node, act, *, layer: int, at) -> Node:
        a = act.f(np.array([z.value]))[0]
        d = float(act.df(np.array([z.value]), np.array([a]))[0])
        return self._add(node_id, "activation", label, (z,), a, layer=layer, at=at,
                         local=(Local(d, f"{act.derivative} = {fmt(d)}"),),
                         forward=f"{label} = {act.name}({z.label}) = {act.name}({fmt(z.value)}) "
                                 f"= {fmt(a)}")

    def sigmoid_output(self, k: int, z: Node, y: float, *, layer: int) -> Node:
        label = f"y{sub(k)}"
        d = y * (1.0 - y)
        return self._add(f"y{k}", "output", label, (z,), y, layer=layer, at=(k,),
                         local=(Local(d, f"σ′(z) = y(1 − y) = {fmt(d)}"),),
                         forward=f"{label} = σ({z.label}) = σ({fmt(z.value)}) = {fmt(y)}")

    def linear_output(self, k: int, z: Node, *, layer: int) -> Node:
        label = f"y{sub(k)}"
        return self._add(f"y{k}", "output", label, (z,), z.value, layer=layer, at=(k,),
                         local=(Local(1.0, "y = z: 1"),),
                         forward=f"{label} = {z.label} = {fmt(z.value)}   (linear output)")

    def softmax(self, k: int, zs: list[Node], y: np.ndarray, *, layer: int) -> Node:
        local = []
        for m in range(len(zs)):
            if k == m:
                d = y[k] * (1.0 - y[k])
                text = f"∂y{sub(k)}/∂z{sub(m)} = y{sub(k)}(1 − y{sub(k)}) = {fmt(d)}"
            else:
                d = -y[k] * y[m]
                text = f"∂y{sub(k)}/∂z{sub(m)} = −y{sub(k)}·y{sub(m)} = {fmt(d)}"
            local.append(Local(float(d), text))
        exps = " + ".join(f"e^{_p(n.value)}" for n in zs)
        label = f"y{sub(k)}"
        return self._add(f"y{k}", "softmax", label, tuple(zs), y[k], layer=layer, at=(k,),
                         local=tuple(local),
                         forward=f"{label} = e^z{sub(k)} / Σₘ e^zₘ = e^{_p(zs[k].value)} / "
                                 f"({exps}) = {fmt(y[k])}")

    def log(self, node_id: str, label: str, u: Node, *, layer: int, at) -> Node:
        v = np.log(u.value)
        with np.errstate(divide="ignore"):
            d = float(np.float64(1.0) / u.value)
        return self._add(node_id, "log", label, (u,), v, layer=layer, at=at,
                         local=(Local(d, f"1/{u.label} = {fmt(d)}"),),
                         forward=f"{label} = log {fmt(u.value)} = {fmt(v)}")

    def one_minus(self, k: int, y: Node, *, layer: int) -> Node:
        label = f"1 − y{sub(k)}"
        v = 1.0 - y.value
        return self._add(f"om{k}", "one_minus", label, (y,), v, layer=layer, at=(k,),
                         local=(Local(-1.0, "∂(1 − y)/∂y = −1"),),
                         forward=f"{label} = 1 − {fmt(y.value)} = {fmt(v)}")

    def diff(self, k: int, y: Node, t: float, *, layer: int) -> Node:
        label = f"y{sub(k)} − t{sub(k)}"
        v = y.value - t
        return self._add(f"d{k}", "diff", label, (y,), v, layer=layer, at=(k,),
                         local=(Local(1.0, "∂(y − t)/∂y = 1"),),
                         forward=f"{label} = {fmt(y.value)} − {fmt(t)} = {fmt(v)}")

    def cross_entropy(self, logs: list[Node], t, value: float, *, layer: int) -> Node:
        parts = " + ".join(f"{fmt(t[k])}·{_p(n.value)}" for k, n in enumerate(logs))
        local = tuple(Local(-t[k], f"∂ℓ/∂log y{sub(k)} = −t{sub(k)} = {fmt(-t[k])}")
                      for k in range(len(logs)))
        return self._add("loss", "loss", "ℓ", tuple(logs), value, layer=layer, local=local,
                         forward=f"ℓ = −Σₖ tₖ log yₖ = −({parts}) = {fmt(value)}")

    def binary_cross_entropy(self, logs: list[tuple[Node, Node]], t, value: float, *,
                             layer: int) -> Node:
        inputs, local = [], []
        for k, (log_y, log_1my) in enumerate(logs):
            inputs += [log_y, log_1my]
            local += [Local(-t[k], f"−t{sub(k)} = {fmt(-t[k])}"),
                      Local(-(1.0 - t[k]), f"−(1 − t{sub(k)}) = {fmt(-(1.0 - t[k]))}")]
        parts = " + ".join(f"{fmt(t[k])}·{_p(a.value)} + {fmt(1 - t[k])}·{_p(b.value)}"
                           for k, (a, b) in enumerate(logs))
        return self._add("loss", "loss", "ℓ", tuple(inputs), value, layer=layer,
                         local=tuple(local),
                         forward=f"ℓ = −Σₖ [tₖ log yₖ + (1 − tₖ) log(1 − yₖ)] = −({parts}) = "
                                 f"{fmt(value)}")

    def half_squared_error(self, diffs: list[Node], value: float, *, layer: int) -> Node:
        local = tuple(Local(d.value, f"∂(½d²)/∂d = d = {fmt(d.value)}") for d in diffs)
        parts = " + ".join(f"{_p(d.value)}²" for d in diffs)
        return self._add("loss", "loss", "ℓ", tuple(diffs), value, layer=layer, local=local,
                         forward=f"ℓ = ½ Σₖ (yₖ − tₖ)² = ½ ({parts}) = {fmt(value)}")


def build_graph(net: Network, x, t, layer: int, index: int, *,
                max_nodes: int = MAX_NODES) -> Graph:
    """The computational graph of sample (x, t) through neuron ``index`` of layer ``layer``.

    Forward values and gradients are filled in; a viewer reveals them node by node in
    ``forward_order`` and then ``backward_order``.
    """
    L = net.n_layers
    sizes = net.sizes
    if not 1 <= layer <= L:
        raise ValueError(f"layer {layer} has no pre-activation: choose a layer from 1 to {L}")
    if not 0 <= index < sizes[layer]:
        raise ValueError(f"layer {layer} has {sizes[layer]} neurons; there is no neuron {index}")
    x = np.asarray(x, dtype=float).reshape(-1)
    t = np.asarray(t, dtype=float).reshape(-1)
    if x.shape != (sizes[0],) or t.shape != (sizes[-1],):
        raise ValueError(f"the sample has {x.size} inputs and {t.size} targets; the network "
                         f"takes {sizes[0]} and gives {sizes[-1]}")
    _, acts, zs = net.forward(x[None, :], keep=True)
    acts = [a[0] for a in acts]            # acts[l], diagram layer l
    zs = [None] + [z[0] for z in zs]       # zs[l], diagram layer l ≥ 1
    b = _Builder(max_nodes)
    W, B = net.weights, net.biases
    out_of: dict[tuple[int, int], Node] = {}     # (l, j) → the node of a[l][j] (x_j for l = 0)
    z_of: dict[int, Node] = {}                   # k → the output layer's z_k

    def neuron(l: int, j: int, sources: list[int], rest: float | None) -> None:
        """z and a of neuron j of layer l from the a of ``sources`` in layer l − 1 (each a node
        already there) plus, when given, the constant sum of the other terms."""
        terms = []
        for i in sources:
            w = b.leaf(f"w{l}_{i}_{j}", "weight", f"w{sup(l)}[{i}→{j}]", W[l - 1][i, j],
                       layer=l, at=(i, j))
            terms.append(b.mul(f"m{l}_{i}_{j}", w, out_of[(l - 1, i)], layer=l, at=(i, j)))
        if rest is not None:
            terms.append(b.leaf(f"r{l}_{j}", "const", f"Σ(i≠{sources[0]}) w·a", rest, layer=l,
                                at=(j,)))
        s = b.sum(f"s{l}_{j}", f"Σ{sup(l)}{sub(j)}", terms, layer=l, at=(j,))
        bias = b.leaf(f"b{l}_{j}", "bias", _neuron_label("b", l, j), B[l - 1][j], layer=l,
                      at=(j,))
        z = b.add_bias(_z_id(l, j), _neuron_label("z", l, j), s, bias, layer=l, at=(j,))
        if l < L:
            out_of[(l, j)] = b.activation(f"a{l}_{j}", _neuron_label("a", l, j), z,
                                          net.hidden_activations[l - 1], layer=l, at=(j,))
        else:
            z_of[j] = z

    # the selected neuron, from the layer below's activations
    below = layer - 1
    for i in range(sizes[below]):
        node_id, label = (f"x{i}", f"x{sub(i)}") if below == 0 else \
            (f"a{below}_{i}", _neuron_label("a", below, i))
        out_of[(below, i)] = b.leaf(node_id, "input", label, acts[below][i], layer=below,
                                    at=(i,))
    neuron(layer, index, list(range(sizes[below])), None)
    # the layer right above: only the term through neuron j varies with it
    if layer < L:
        l = layer + 1
        for k in range(sizes[l]):
            others = [i for i in range(sizes[layer]) if i != index]
            rest = float(sum(W[l - 1][i, k] * acts[layer][i] for i in others))
            neuron(l, k, [index], rest if others else None)
        for l in range(layer + 2, L + 1):
            for k in range(sizes[l]):
                neuron(l, k, list(range(sizes[l - 1])), None)
    # the output layer's z: computed nodes, or (the selected neuron is an output) constants
    K = sizes[L]
    for k in range(K):
        if k not in z_of:
            z_of[k] = b.leaf(_z_id(L, k), "const", _neuron_label("z", L, k), zs[L][k], layer=L,
                             at=(k,))
    z_nodes = [z_of[k] for k in range(K)]
    zL = np.array([n.value for n in z_nodes])
    out = net.out
    y = out.f(zL[None, :])[0]
    loss_value = float(out.loss(zL[None, :], t[None, :])[0])
    o = L + 1     # the drawing's layer of the output and the loss
    if out.name == "softmax":
        ys = [b.softmax(k, z_nodes, y, layer=o) for k in range(K)]
        logs = [b.log(f"log{k}", f"log y{sub(k)}", ys[k], layer=o, at=(k,)) for k in range(K)]
        b.cross_entropy(logs, t, loss_value, layer=o)
    elif out.name == "sigmoid":
        ys = [b.sigmoid_output(k, z_nodes[k], y[k], layer=o) for k in range(K)]
        pairs = []
        for k in range(K):
            log_y = b.log(f"log{k}", f"log y{sub(k)}", ys[k], layer=o, at=(k,))
            om = b.one_minus(k, ys[k], layer=o)
            pairs.append((log_y, b.log(f"logm{k}", f"log(1 − y{sub(k)})", om, layer=o,
                                       at=(k,))))
        b.binary_cross_entropy(pairs, t, loss_value, layer=o)
    else:
        ys = [b.linear_output(k, z_nodes[k], layer=o) for k in range(K)]
        diffs = [b.diff(k, ys[k], t[k], layer=o) for k in range(K)]
        b.half_squared_error(diffs, loss_value, layer=o)

    nodes = b.nodes
    forward = [n.id for n in nodes.values() if not n.is_leaf]
    backward = _backward(nodes)
    return Graph(nodes, forward, backward, layer, index, out.name, out.loss_name, loss_value)


def _backward(nodes: dict[str, Node]) -> list[str]:
    """Fill in every gradient, from the loss back, and return the order they were computed in:
    the loss first, then every node after all its consumers. The sweep knows no operation: each
    use contributes the local derivative it recorded times its own gradient."""
    order = [nid for nid in reversed(list(nodes)) if nodes[nid].op not in ("input", "const")]
    for nid in order:
        node = nodes[nid]
        if nid == order[0]:          # the loss, which nothing uses
            node.grad = 1.0
            node.backward_text = "∂ℓ/∂ℓ = 1: the backward pass starts at the loss"
            continue
        terms = []
        for c in node.consumers:
            cons = nodes[c]
            local = cons.local_for(nid)
            up = cons.grad
            terms.append(GradTerm(c, float(local.value), local.text, float(up),
                                  0.0 if up == 0 else float(local.value * up)))
        node.terms = tuple(terms)
        node.grad = float(sum(tm.product for tm in terms))
        node.backward_text = _backward_text(node, nodes)
    return order


def _backward_text(node: Node, nodes: dict[str, Node]) -> str:
    name = f"∂ℓ/∂{_wrt(node.label)}"
    if len(node.terms) == 1:
        tm = node.terms[0]
        c = nodes[tm.consumer]
        return (f"{name} = ∂ℓ/∂{_wrt(c.label)} × ∂{_wrt(c.label)}/∂{_wrt(node.label)} = "
                f"{fmt(tm.upstream)} × "
                f"{_p(tm.local)} = {fmt(node.grad)}      [{tm.local_text}]")
    parts = " + ".join(f"{_p(tm.upstream)}×{_p(tm.local)}" for tm in node.terms)
    return (f"{name} = Σ over its {len(node.terms)} uses of ∂ℓ/∂use × ∂use/∂{_wrt(node.label)} = "
            f"{parts} = {fmt(node.grad)}")
