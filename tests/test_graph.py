"""The computational graph of one sample through one neuron, checked against backprop, the
inspector's delta and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine.gradcheck import kink_free_samples, numeric_gradient
from bpviz.engine.graph import GraphTooLarge, build_graph, fmt
from bpviz.engine.inspect import inspect_neuron
from bpviz.engine.network import Network
from bpviz.engine.snapshot import sample_values

SIZES = [3, 4, 3, 2]


def sample(net: Network, output: str, seed: int):
    """A sample (x, t) clear of ReLU kinks, with a target of the output's kind."""
    rng = np.random.RandomState(seed)
    for _ in range(200):
        x = rng.randn(net.sizes[0])
        if kink_free_samples(net, x[None, :])[0]:
            break
    K = net.sizes[-1]
    if output == "softmax":
        t = np.eye(K)[rng.randint(K)]
    elif output == "sigmoid":
        t = rng.randint(0, 2, size=K).astype(float)
    else:
        t = rng.randn(K)
    return x, t


def network(hidden: str, output: str, seed: int = 3) -> Network:
    return Network(SIZES, hidden, output, init="normal", seed=seed)


# the output neuron, a neuron of the last hidden layer and one of an earlier hidden layer
NEURONS = [(3, 1), (2, 2), (1, 0)]


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
@pytest.mark.parametrize("layer,index", NEURONS)
def test_the_gradient_at_z_is_the_inspectors_delta(hidden, output, layer, index):
    net = network(hidden, output)
    x, t = sample(net, output, seed=layer * 10 + index)
    g = build_graph(net, x, t, layer, index)
    sv = sample_values(net.weights, net.biases, net, x, t, 0)
    assert g[g.z_id].grad == pytest.approx(sv.delta[layer - 1][index], rel=1e-12, abs=1e-12)
    # the inspector, over a batch whose pinned sample is this one
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(4, 3), x[None, :]])
    T = np.vstack([np.repeat(t[None, :], 4, axis=0), t[None, :]])
    report = inspect_neuron(net, X, T, layer, index, sample=4, fd_check=False)
    assert g[g.z_id].grad == pytest.approx(report.delta, rel=1e-12, abs=1e-12)
    assert g[g.z_id].value == pytest.approx(report.z, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
@pytest.mark.parametrize("layer,index", NEURONS)
def test_every_weight_gradient_is_the_samples_dloss_dw(hidden, output, layer, index):
    net = network(hidden, output)
    x, t = sample(net, output, seed=100 + layer)
    g = build_graph(net, x, t, layer, index)
    X, T = x[None, :], t[None, :]
    trace = net.backprop(X, T)
    assert g["loss"].value == pytest.approx(trace.loss, rel=1e-12)
    fd_w = [numeric_gradient(net, X, T, W) for W in net.weights]
    fd_b = [numeric_gradient(net, X, T, b) for b in net.biases]
    checked = 0
    for node in g.weight_nodes():
        l = node.layer
        if node.op == "weight":
            i, j = node.at
            assert node.id == g.weight_id(l, i, j)
            bp, fd = trace.grad_weights[l - 1][i, j], fd_w[l - 1][i, j]
        else:
            (j,) = node.at
            assert node.id == g.bias_id(l, j)
            bp, fd = trace.grad_biases[l - 1][j], fd_b[l - 1][j]
        assert node.grad == pytest.approx(bp, rel=1e-10, abs=1e-12), node.id
        assert node.grad == pytest.approx(fd, rel=1e-6, abs=1e-9), node.id
        checked += 1
    # every weight into the neuron and every weight above its layer is in the graph
    expected = SIZES[layer - 1] + 1
    if layer < 3:
        expected += SIZES[layer + 1] * 2          # w_jk and b_k of the layer above
        for l in range(layer + 2, 4):
            expected += SIZES[l - 1] * SIZES[l] + SIZES[l]
    assert checked == expected


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_orders_terms_and_values(output):
    net = network("tanh", output)
    x, t = sample(net, output, seed=7)
    g = build_graph(net, x, t, 1, 2)
    _, acts, zs = net.forward(x[None, :], keep=True)
    seen = set(n.id for n in g.nodes.values() if n.is_leaf)
    for nid in g.forward_order:               # every input is known before a node is computed
        assert all(i in seen for i in g[nid].inputs), nid
        seen.add(nid)
    assert set(seen) == set(g.nodes)
    assert g.backward_order[0] == "loss" and g["loss"].grad == 1.0
    done = set()
    for nid in g.backward_order:              # every use has its gradient before the node
        assert all(c in done for c in g[nid].consumers), nid
        done.add(nid)
        node = g[nid]
        if nid != "loss":
            assert [tm.consumer for tm in node.terms] == node.consumers
            for tm in node.terms:
                assert tm.upstream == g[tm.consumer].grad
                assert tm.product == pytest.approx(tm.local * tm.upstream, rel=1e-15, abs=0)
            assert node.grad == sum(tm.product for tm in node.terms)
            assert fmt(node.grad) in node.backward_text
    # forward values are the network's own
    for l in range(1, 4):
        for k in range(SIZES[l]):
            if f"z{l}_{k}" in g.nodes:
                assert g[f"z{l}_{k}"].value == pytest.approx(zs[l - 1][0, k], rel=1e-12, abs=1e-14)
            if l < 3 and f"a{l}_{k}" in g.nodes:
                assert g[f"a{l}_{k}"].value == pytest.approx(acts[l][0, k], rel=1e-12, abs=1e-14)
    for k in range(SIZES[-1]):
        assert g[f"y{k}"].value == pytest.approx(acts[-1][0, k], rel=1e-12)
    # the node of the neuron's activation fans out to every neuron of the layer above
    assert len(g["a1_2"].consumers) == SIZES[2]
    assert "Σ over its 3 uses" in g["a1_2"].backward_text


def test_the_loss_node_shows_the_arithmetic_with_the_targets():
    net = network("sigmoid", "softmax")
    x, t = np.array([0.2, -0.4, 1.0]), np.array([0.0, 1.0])
    g = build_graph(net, x, t, 3, 0)
    y = net.forward(x[None, :])[0]
    assert g["loss"].value == pytest.approx(-np.log(y[1]), rel=1e-12)
    assert g["loss"].forward_text.endswith(f"= {fmt(-np.log(y[1]))}")
    assert "1·" in g["loss"].forward_text
    # the other output's z is a constant: no gradient asked for it
    assert g["z3_1"].op == "const" and "z3_1" not in g.backward_order
    assert g["z3_0"].grad == pytest.approx(y[0] - 0.0, rel=1e-12)


def test_bad_neurons_and_big_graphs_are_refused_with_a_reason():
    net = network("sigmoid", "softmax")
    x, t = np.zeros(3), np.array([1.0, 0.0])
    with pytest.raises(ValueError, match="layer 0"):
        build_graph(net, x, t, 0, 0)
    with pytest.raises(ValueError, match="no neuron 7"):
        build_graph(net, x, t, 2, 7)
    with pytest.raises(ValueError, match="takes 3"):
        build_graph(net, np.zeros(2), t, 1, 0)
    big = Network([2, 40, 40, 3], "relu", "softmax", seed=0)
    with pytest.raises(GraphTooLarge, match="nearer the output"):
        build_graph(big, np.zeros(2), np.array([1.0, 0, 0]), 1, 0)
    assert len(build_graph(big, np.zeros(2), np.array([1.0, 0, 0]), 3, 0).nodes) < 260


def test_fmt():
    assert fmt(-0.5) == "−0.5" and fmt(0) == "0" and fmt(1234567) == "1.235e6"
    assert fmt(float("-inf")) == "−∞" and fmt(None) == "—"


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


HIDDEN = {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


def _operation(node, out: str, hidden: str, t):
    """The node's own operation as plain numpy, from its input values (written here, not taken
    from the engine)."""
    op = node.op
    if op == "mul":
        return lambda v: v[0] * v[1]
    if op in ("sum", "add_bias"):
        return lambda v: float(np.sum(v))
    if op == "activation":
        return lambda v: HIDDEN[hidden](v[0])
    if op == "output":
        return (lambda v: _sigmoid(v[0])) if out == "sigmoid" else (lambda v: v[0])
    if op == "softmax":
        (k,) = node.at
        return lambda v: np.exp(v[k] - v.max()) / np.exp(v - v.max()).sum()
    if op == "log":
        return lambda v: np.log(v[0])
    if op == "one_minus":
        return lambda v: 1.0 - v[0]
    if op == "diff":
        (k,) = node.at
        return lambda v: v[0] - t[k]
    assert op == "loss"
    if out == "softmax":
        return lambda v: -float(np.dot(t, v))
    if out == "sigmoid":
        return lambda v: -float(np.dot(t, v[0::2]) + np.dot(1 - t, v[1::2]))
    return lambda v: 0.5 * float(np.dot(v, v))


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_every_node_records_its_own_local_derivatives(hidden, output):
    """Each computed node carries ∂node/∂input for every input, made with the node: equal to a
    finite difference of the node's operation, and the backward sweep uses exactly those."""
    net = network(hidden, output)
    x, t = sample(net, output, seed=11)
    g = build_graph(net, x, t, 1, 1)
    checked = 0
    for nid in g.forward_order:
        node = g[nid]
        assert len(node.local) == len(node.inputs) and all(lc.text for lc in node.local), nid
        f = _operation(node, output, hidden, t)
        v = np.array([g[i].value for i in node.inputs])
        assert f(v) == pytest.approx(node.value, rel=1e-12, abs=1e-14), nid
        for m, lc in enumerate(node.local):
            h = 1e-6 * (abs(v[m]) or 1.0)
            up, down = v.copy(), v.copy()
            up[m] += h
            down[m] -= h
            fd = (f(up) - f(down)) / (2 * h)
            assert lc.value == pytest.approx(fd, rel=1e-6, abs=1e-8), (nid, m)
            assert node.local_for(node.inputs[m]) is lc
            checked += 1
    assert checked > 50
    for nid in g.backward_order[1:]:
        for tm in g[nid].terms:
            assert tm.local == g[tm.consumer].local_for(nid).value
            assert tm.local_text == g[tm.consumer].local_for(nid).text
