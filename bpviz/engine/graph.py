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

Every node has a forward value and, after the backward pass, its gradient ∂ℓ/∂node: the sum,
over the nodes that use it, of the local derivative ∂use/∂node times the use's own gradient
(``terms``). The forward order lists the computed nodes (leaves — inputs, weights, biases and
constants — have their values from the start), the backward order the loss first and then every
node whose gradient is asked for: computed nodes, weights and biases. Inputs and constants get no
gradient here (they feed other neurons the graph does not draw).

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
class GradTerm:
    """One term of a node's gradient: through ``consumer``, ∂consumer/∂node × ∂ℓ/∂consumer."""

    consumer: str          # id of the node that uses this one
    local: float           # ∂consumer/∂node, the local derivative
    local_text: str        # how it is computed, e.g. "σ′(z) = a(1 − a)"
    upstream: float        # ∂ℓ/∂consumer
    product: float         # local × upstream (0 when the upstream gradient is 0)


@dataclass
class Node:
    id: str
    op: str                        # input, weight, bias, const, mul, sum, add_bias, activation,
                                   # output, softmax, log, one_minus, diff, loss
    label: str                     # the quantity, e.g. "z²₁" or "w¹[0→2]·x₀"
    inputs: tuple[str, ...]
    value: float = float("nan")
    grad: float | None = None      # ∂ℓ/∂node after the backward pass (None: not asked for)
    terms: tuple[GradTerm, ...] = ()
    layer: int = 0                 # the network layer the node belongs to (for the drawing)
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
        return f"z{self.layer}_{self.index}"

    def weight_id(self, layer: int, i: int, j: int) -> str:
        """The node of weight w_ij feeding layer ``layer`` (diagram numbering)."""
        return f"w{layer}_{i}_{j}"

    def bias_id(self, layer: int, j: int) -> str:
        return f"b{layer}_{j}"

    def weight_nodes(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.op in ("weight", "bias")]


class _Builder:
    def __init__(self, max_nodes: int):
        self.nodes: dict[str, Node] = {}
        self.max_nodes = max_nodes

    def add(self, node_id: str, op: str, label: str, inputs=(), value=float("nan"),
            layer: int = 0) -> Node:
        if len(self.nodes) >= self.max_nodes:
            raise GraphTooLarge(
                f"the graph of this neuron has more than {self.max_nodes} operations; select a "
                f"neuron nearer the output or use a smaller network")
        node = Node(node_id, op, label, tuple(inputs), float(value), layer=layer)
        self.nodes[node_id] = node
        for i in node.inputs:
            self.nodes[i].consumers.append(node_id)
        return node


def _neuron_label(kind: str, layer: int, j: int) -> str:
    return f"{kind}{sup(layer)}{sub(j)}"


def _input_label(layer: int, i: int) -> str:
    return f"x{sub(i)}" if layer == 0 else _neuron_label("a", layer, i)


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

    def act_id(l: int, i: int) -> str:
        return f"x{i}" if l == 0 else f"a{l}_{i}"

    def neuron(l: int, j: int, sources: list[int], rest: float | None) -> None:
        """z and a of neuron j of layer l from the a of ``sources`` in layer l − 1 (each a node
        already there) plus, when given, the constant sum of the other terms."""
        terms = []
        for i in sources:
            w = b.add(f"w{l}_{i}_{j}", "weight", f"w{sup(l)}[{i}→{j}]", value=W[l - 1][i, j],
                      layer=l)
            src = b.nodes[act_id(l - 1, i)]
            m = b.add(f"m{l}_{i}_{j}", "mul", f"{w.label}·{src.label}", (w.id, src.id),
                      w.value * src.value, layer=l)
            terms.append(m.id)
        if rest is not None:
            r = b.add(f"r{l}_{j}", "const", f"Σ(i≠{sources[0]}) w·a", value=rest, layer=l)
            terms.append(r.id)
        s = b.add(f"s{l}_{j}", "sum", f"Σ{sup(l)}{sub(j)}", terms,
                  sum(b.nodes[i].value for i in terms), layer=l)
        bias = b.add(f"b{l}_{j}", "bias", _neuron_label("b", l, j), value=B[l - 1][j], layer=l)
        z = b.add(f"z{l}_{j}", "add_bias", _neuron_label("z", l, j), (s.id, bias.id),
                  s.value + bias.value, layer=l)
        if l < L:
            act = net.hidden_activations[l - 1]
            b.add(f"a{l}_{j}", "activation", _neuron_label("a", l, j), (z.id,),
                  act.f(np.array([z.value]))[0], layer=l)

    # the selected neuron, from the layer below's activations
    for i in range(sizes[layer - 1]):
        b.add(act_id(layer - 1, i), "input", _input_label(layer - 1, i),
              value=acts[layer - 1][i], layer=layer - 1)
    neuron(layer, index, list(range(sizes[layer - 1])), None)
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
    z_ids = []
    for k in range(K):
        if f"z{L}_{k}" not in b.nodes:
            b.add(f"z{L}_{k}", "const", _neuron_label("z", L, k), value=zs[L][k], layer=L)
        z_ids.append(f"z{L}_{k}")
    zL = np.array([b.nodes[i].value for i in z_ids])
    out = net.out
    y = out.f(zL[None, :])[0]
    loss_value = float(out.loss(zL[None, :], t[None, :])[0])
    o = L + 1     # the drawing's layer of the output and the loss
    if out.name == "softmax":
        for k in range(K):
            b.add(f"y{k}", "softmax", f"y{sub(k)}", z_ids, y[k], layer=o)
        for k in range(K):
            b.add(f"log{k}", "log", f"log y{sub(k)}", (f"y{k}",), np.log(y[k]), layer=o)
        b.add("loss", "loss", "ℓ", [f"log{k}" for k in range(K)], loss_value, layer=o)
    elif out.name == "sigmoid":
        for k in range(K):
            b.add(f"y{k}", "output", f"y{sub(k)}", (z_ids[k],), y[k], layer=o)
        for k in range(K):
            b.add(f"log{k}", "log", f"log y{sub(k)}", (f"y{k}",), np.log(y[k]), layer=o)
            b.add(f"om{k}", "one_minus", f"1 − y{sub(k)}", (f"y{k}",), 1.0 - y[k], layer=o)
            b.add(f"logm{k}", "log", f"log(1 − y{sub(k)})", (f"om{k}",), np.log(1.0 - y[k]),
                  layer=o)
        b.add("loss", "loss", "ℓ", [i for k in range(K) for i in (f"log{k}", f"logm{k}")],
              loss_value, layer=o)
    else:
        for k in range(K):
            b.add(f"y{k}", "output", f"y{sub(k)}", (z_ids[k],), y[k], layer=o)
        for k in range(K):
            b.add(f"d{k}", "diff", f"y{sub(k)} − t{sub(k)}", (f"y{k}",), y[k] - t[k], layer=o)
        b.add("loss", "loss", "ℓ", [f"d{k}" for k in range(K)], loss_value, layer=o)

    nodes = b.nodes
    forward = [n.id for n in nodes.values() if not n.is_leaf]
    for nid in forward:
        nodes[nid].forward_text = _forward_text(net, nodes[nid], nodes, t)
    # backward: the loss first, then every node after all its consumers
    backward = [nid for nid in reversed(list(nodes)) if nodes[nid].op not in ("input", "const")]
    for nid in backward:
        node = nodes[nid]
        if nid == "loss":
            node.grad = 1.0
            node.backward_text = "∂ℓ/∂ℓ = 1: the backward pass starts at the loss"
            continue
        terms = []
        for c in node.consumers:
            cons = nodes[c]
            local, text = _local(net, cons, node, nodes, t)
            up = cons.grad
            terms.append(GradTerm(c, float(local), text, float(up),
                                  0.0 if up == 0 else float(local * up)))
        node.terms = tuple(terms)
        node.grad = float(sum(tm.product for tm in terms))
        node.backward_text = _backward_text(node, nodes)
    return Graph(nodes, forward, backward, layer, index, out.name, out.loss_name, loss_value)


# -- local derivatives and the arithmetic written out ---------------------------------------------

def _local(net: Network, cons: Node, node: Node, nodes: dict[str, Node], t) -> tuple[float, str]:
    """∂cons/∂node and how it is computed."""
    op = cons.op
    if op == "mul":
        other = nodes[cons.inputs[1] if cons.inputs[0] == node.id else cons.inputs[0]]
        return other.value, f"∂({cons.label})/∂{node.label} = {other.label} = {fmt(other.value)}"
    if op in ("sum", "add_bias"):
        return 1.0, "a sum passes the gradient on unchanged: ∂(u + v)/∂u = 1"
    if op == "activation":
        act = net.hidden_activations[cons.layer - 1]
        d = float(act.df(np.array([node.value]), np.array([cons.value]))[0])
        return d, f"{act.derivative} = {fmt(d)}"
    if op == "output":
        if net.out.name == "sigmoid":
            d = cons.value * (1.0 - cons.value)
            return d, f"σ′(z) = y(1 − y) = {fmt(d)}"
        return 1.0, "y = z: 1"
    if op == "softmax":
        k = int(cons.id[1:])
        m = cons.inputs.index(node.id)
        ym = nodes[f"y{m}"].value
        if k == m:
            d = cons.value * (1.0 - cons.value)
            return d, f"∂y{sub(k)}/∂z{sub(m)} = y{sub(k)}(1 − y{sub(k)}) = {fmt(d)}"
        d = -cons.value * ym
        return d, f"∂y{sub(k)}/∂z{sub(m)} = −y{sub(k)}·y{sub(m)} = {fmt(d)}"
    if op == "log":
        with np.errstate(divide="ignore"):
            d = float(np.float64(1.0) / node.value)
        return d, f"1/{node.label} = {fmt(d)}"
    if op == "one_minus":
        return -1.0, "∂(1 − y)/∂y = −1"
    if op == "diff":
        return 1.0, "∂(y − t)/∂y = 1"
    if op == "loss":
        k = int("".join(ch for ch in node.id if ch.isdigit()))
        if net.out.name == "softmax":
            return -t[k], f"∂ℓ/∂log y{sub(k)} = −t{sub(k)} = {fmt(-t[k])}"
        if net.out.name == "sigmoid":
            if node.id.startswith("logm"):
                return -(1.0 - t[k]), f"−(1 − t{sub(k)}) = {fmt(-(1.0 - t[k]))}"
            return -t[k], f"−t{sub(k)} = {fmt(-t[k])}"
        return node.value, f"∂(½d²)/∂d = d = {fmt(node.value)}"
    raise ValueError(f"no local derivative for {op}")


def _forward_text(net: Network, node: Node, nodes: dict[str, Node], t) -> str:
    ins = [nodes[i] for i in node.inputs]
    v = fmt(node.value)
    op = node.op
    if op == "mul":
        a, c = ins
        return f"{node.label} = {fmt(a.value)} × {_p(c.value)} = {v}"
    if op == "sum":
        return f"{node.label} = {' + '.join(_p(i.value) for i in ins)} = {v}"
    if op == "add_bias":
        s, bias = ins
        return f"{node.label} = {s.label} + {bias.label} = {fmt(s.value)} + {_p(bias.value)} = {v}"
    if op == "activation":
        act = net.hidden_activations[node.layer - 1]
        return f"{node.label} = {act.name}({ins[0].label}) = {act.name}({fmt(ins[0].value)}) = {v}"
    if op == "output":
        if net.out.name == "sigmoid":
            return f"{node.label} = σ({ins[0].label}) = σ({fmt(ins[0].value)}) = {v}"
        return f"{node.label} = {ins[0].label} = {v}   (linear output)"
    if op == "softmax":
        k = int(node.id[1:])
        exps = " + ".join(f"e^{_p(i.value)}" for i in ins)
        return f"{node.label} = e^z{sub(k)} / Σₘ e^zₘ = e^{_p(ins[k].value)} / ({exps}) = {v}"
    if op == "log":
        return f"{node.label} = log {fmt(ins[0].value)} = {v}"
    if op == "one_minus":
        return f"{node.label} = 1 − {fmt(ins[0].value)} = {v}"
    if op == "diff":
        k = int(node.id[1:])
        return f"{node.label} = {fmt(ins[0].value)} − {fmt(t[k])} = {v}"
    if op == "loss":
        name = net.out.name
        if name == "softmax":
            parts = " + ".join(f"{fmt(t[k])}·{_p(i.value)}" for k, i in enumerate(ins))
            return f"ℓ = −Σₖ tₖ log yₖ = −({parts}) = {v}"
        if name == "sigmoid":
            parts = " + ".join(
                f"{fmt(t[k])}·{_p(ins[2 * k].value)} + {fmt(1 - t[k])}·{_p(ins[2 * k + 1].value)}"
                for k in range(len(ins) // 2))
            return f"ℓ = −Σₖ [tₖ log yₖ + (1 − tₖ) log(1 − yₖ)] = −({parts}) = {v}"
        parts = " + ".join(f"{_p(i.value)}²" for i in ins)
        return f"ℓ = ½ Σₖ (yₖ − tₖ)² = ½ ({parts}) = {v}"
    return f"{node.label} = {v}"


def _wrt(label: str) -> str:
    """``label`` bracketed when it is a product or has spaces: ∂ℓ/∂(w·a), ∂ℓ/∂(log y₀)."""
    return f"({label})" if ("·" in label or " " in label) else label


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
