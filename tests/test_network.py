"""The network and its trace, checked against finite differences and a hand-worked example."""

import math

import numpy as np
import pytest

from bpviz.engine import ACTIVATIONS, OUTPUTS, Network
from bpviz.engine.gradcheck import gradient_check, relative_error


def _data(n_in, n_out, output, n=7, seed=3):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, n_in)
    if output == "softmax":
        T = np.eye(n_out)[rng.randint(0, n_out, n)]
    elif output == "sigmoid":
        T = (rng.rand(n, n_out) > 0.5).astype(float)
    else:
        T = rng.randn(n, n_out)
    return X, T


def _loss_of_z(net, X, T, layer, n, j, eps):
    """Per-sample loss ℓ_n with z[layer][n, j] nudged by eps (finite difference of δ)."""
    a = X[n:n + 1]
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = a @ W + b
        if i == layer:
            z = z.copy()
            z[0, j] += eps
        a = net.activate(i + 1, z)
    return float(net.out.loss(z, T[n:n + 1])[0])


@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_gradients_match_finite_differences(hidden, output):
    net = Network([3, 4, 3, 2], hidden_activation=hidden, output=output, init="xavier", seed=5)
    X, T = _data(3, 2, output)
    if hidden in ("relu", "leaky_relu"):   # keep every z away from the kink for clean differences
        for W, b in zip(net.weights, net.biases):
            b += 0.05 * np.sign(b + 0.01)
    check = gradient_check(net, X, T)
    assert check.worst < 1e-6, (hidden, output, check.worst_location())


@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_per_sample_deltas_and_edge_signals(hidden, output):
    net = Network([2, 3, 2], hidden_activation=hidden, output=output, init="xavier", seed=2)
    X, T = _data(2, 2, output, n=5)
    trace = net.backprop(X, T)
    eps = 1e-6
    for layer in range(net.n_layers):
        numeric = np.zeros_like(trace.deltas[layer])
        for n in range(len(X)):
            for j in range(net.sizes[layer + 1]):
                up = _loss_of_z(net, X, T, layer, n, j, eps)
                down = _loss_of_z(net, X, T, layer, n, j, -eps)
                numeric[n, j] = (up - down) / (2 * eps)
        assert relative_error(trace.deltas[layer], numeric).max() < 1e-6
        # the edge signal i→j is w_ij times the batch-mean delta of j
        expected = net.weights[layer] * numeric.mean(axis=0)[None, :]
        assert np.allclose(trace.edge_signals[layer], expected, rtol=1e-6, atol=1e-10)
    # the hidden delta is f'(z) times the sum of the error signals arriving from above, per sample
    act = net.hidden_activations[0]
    z, a = trace.pre_activations[0], trace.activations[1]
    assert np.allclose(trace.deltas[0],
                       act.df(z, a) * (trace.deltas[1] @ net.weights[1].T), rtol=1e-12)


def test_trace_shapes_and_definitions():
    net = Network([2, 3, 3], hidden_activation="sigmoid", output="softmax", seed=0)
    X, T = _data(2, 3, "softmax", n=11)
    trace = net.backprop(X, T)
    assert [a.shape for a in trace.activations] == [(11, 2), (11, 3), (11, 3)]
    assert trace.activations[0] is not None and np.array_equal(trace.activations[0], X)
    assert [z.shape for z in trace.pre_activations] == [(11, 3), (11, 3)]
    assert [d.shape for d in trace.deltas] == [(11, 3), (11, 3)]
    assert [g.shape for g in trace.grad_weights] == [(2, 3), (3, 3)]
    assert [g.shape for g in trace.grad_biases] == [(3,), (3,)]
    assert [s.shape for s in trace.edge_signals] == [(2, 3), (3, 3)]
    assert np.allclose(trace.deltas[-1], trace.output - T)          # δ^L = y − t
    assert np.isclose(trace.loss, -np.mean(np.sum(T * np.log(trace.output), axis=1)))
    assert np.allclose(trace.grad_weights[0], X.T @ trace.deltas[0] / 11)


def test_hand_worked_2_2_1():
    """x = (1, 2), t = 0.5; sigmoid hidden layer, linear output, ℓ = ½(y − t)², worked by hand."""
    w = [[0.1, -0.2], [0.3, 0.4]]           # w[i][j]: input i → hidden j
    b = [0.05, -0.1]
    v = [0.7, -0.6]                          # hidden j → output
    c = 0.2
    x, t = (1.0, 2.0), 0.5
    z1 = 0.1 * 1.0 + 0.3 * 2.0 + 0.05        # = 0.75
    z2 = -0.2 * 1.0 + 0.4 * 2.0 - 0.1        # = 0.5
    h1 = 1 / (1 + math.exp(-z1))
    h2 = 1 / (1 + math.exp(-z2))
    y = 0.7 * h1 - 0.6 * h2 + 0.2
    loss = 0.5 * (y - t) ** 2
    d_out = y - t                            # δ of the output
    d1 = h1 * (1 - h1) * 0.7 * d_out         # δ_j = σ'(z_j) · v_j · δ_out
    d2 = h2 * (1 - h2) * -0.6 * d_out
    net = Network([2, 2, 1], "sigmoid", "linear", weights=[np.array(w), np.array([[v[0]], [v[1]]])],
                  biases=[np.array(b), np.array([c])])
    trace = net.backprop(np.array([x]), np.array([[t]]))
    assert z1 == pytest.approx(0.75) and z2 == pytest.approx(0.5)
    assert trace.pre_activations[0][0].tolist() == pytest.approx([z1, z2], rel=1e-15)
    assert trace.activations[1][0].tolist() == pytest.approx([h1, h2], rel=1e-15)
    assert trace.output[0, 0] == pytest.approx(y, rel=1e-15)
    assert trace.loss == pytest.approx(loss, rel=1e-14)
    assert trace.deltas[1][0, 0] == pytest.approx(d_out, rel=1e-14)
    assert trace.deltas[0][0].tolist() == pytest.approx([d1, d2], rel=1e-14)
    assert trace.grad_weights[1][:, 0].tolist() == pytest.approx([h1 * d_out, h2 * d_out], rel=1e-14)
    assert trace.grad_weights[0].ravel().tolist() == pytest.approx(
        [x[0] * d1, x[0] * d2, x[1] * d1, x[1] * d2], rel=1e-14)
    assert trace.grad_biases[0].tolist() == pytest.approx([d1, d2], rel=1e-14)
    assert trace.edge_signals[1][:, 0].tolist() == pytest.approx([0.7 * d_out, -0.6 * d_out],
                                                                 rel=1e-14)
    # the numbers themselves, to the digit: y = 0.7·σ(0.75) − 0.6·σ(0.5) + 0.2
    assert round(y, 12) == round(0.7 * 0.679178699175393 - 0.6 * 0.6224593312018546 + 0.2, 12)


def test_stable_losses_never_take_log_of_zero():
    net = Network([1, 2], hidden_activation=[], output="softmax",
                  weights=[np.array([[1000.0, -1000.0]])], biases=[np.zeros(2)])
    X = np.array([[1.0], [-1.0]])
    T = np.array([[0.0, 1.0], [1.0, 0.0]])
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        trace = net.backprop(X, T)
    assert trace.loss == pytest.approx(2000.0)
    bce = Network([1, 1], [], "sigmoid", weights=[np.array([[800.0]])], biases=[np.zeros(1)])
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        assert bce.backprop(np.array([[1.0]]), np.array([[0.0]])).loss == pytest.approx(800.0)


def test_same_seed_same_network_and_inits_differ():
    a = Network([2, 5, 3], "tanh", "softmax", init="he", seed=7)
    b = Network([2, 5, 3], "tanh", "softmax", init="he", seed=7)
    c = Network([2, 5, 3], "tanh", "softmax", init="he", seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not np.array_equal(a.weights[0], c.weights[0])
    stds = {}
    for init in ("normal", "xavier", "he", "uniform"):
        net = Network([200, 300, 2], "tanh", "softmax", init=init, seed=0)
        stds[init] = net.weights[0].std()
    assert stds["normal"] == pytest.approx(1.0, rel=0.02)
    assert stds["xavier"] == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    assert stds["he"] == pytest.approx(math.sqrt(2 / 200), rel=0.02)
    assert stds["uniform"] == pytest.approx(1 / math.sqrt(12), rel=0.02)


def test_per_layer_activations_and_bad_arguments():
    net = Network([2, 3, 4, 2], hidden_activation=["relu", "tanh"], output="sigmoid")
    assert net.activation_names == ["relu", "tanh", "sigmoid"]
    with pytest.raises(ValueError, match="activation"):
        Network([2, 3, 2], hidden_activation="swish")
    with pytest.raises(ValueError, match="2 hidden activations"):
        Network([2, 3, 2], hidden_activation=["relu", "tanh"])
    with pytest.raises(ValueError, match="at least one neuron"):
        Network([2, 0, 2])
