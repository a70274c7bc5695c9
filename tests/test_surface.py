"""The surface slice: vectorised evaluation against point-by-point ``net.loss``; axes; paths."""


import numpy as np
import pytest

from bpviz.engine.network import Network
from bpviz.engine.surface import (Axis, Projection, bias_axis, compute_slice, directions,
                                  flatten, project_trajectory, sample_indices, slice_directions,
                                  unflatten, weight_axis)

RTOL = 1e-12


def make_problem(output="softmax", sizes=(2, 4, 3, 3), hidden=("tanh", "relu"), n=40, seed=0):
    """A small network with targets that fit its output (one-hot, 0/1 or real)."""
    rng = np.random.default_rng(seed)
    net = Network(list(sizes), list(hidden), output, seed=seed + 1)
    X = rng.standard_normal((n, sizes[0]))
    k = sizes[-1]
    if output == "softmax":
        T = np.eye(k)[rng.integers(0, k, n)]
    elif output == "sigmoid":
        T = rng.integers(0, 2, (n, k)).astype(float)
    else:
        T = rng.standard_normal((n, k))
    return net, X, T


def synthetic_trajectory(net, k=12, seed=5):
    """K flattened parameter vectors wandering towards the current weights (the last row)."""
    rng = np.random.default_rng(seed)
    theta = flatten(net.weights, net.biases)
    steps = rng.standard_normal((k - 1, theta.size)) * 0.3
    return np.vstack([theta + np.cumsum(steps[::-1], axis=0)[::-1], theta])


def pointwise(net, X, T, slc, trajectory=None):
    """The slice evaluated one grid point at a time: move the parameters, call ``net.loss``.

    A weight or bias axis moves its parameter to the grid coordinate; a direction axis adds
    (coordinate − centre)·d, which may also move the other axis's parameter.
    """
    d_x, d_y = slice_directions(net, slc.axis_x, slc.axis_y, trajectory)
    out = np.empty((len(slc.ys), len(slc.xs)))
    for iy, y in enumerate(slc.ys):
        for ix, x in enumerate(slc.xs):
            moved = net.copy()
            for axis, coord, centre, d in ((slc.axis_x, x, slc.center[0], d_x),
                                           (slc.axis_y, y, slc.center[1], d_y)):
                if axis.kind == "weight":
                    moved.weights[axis.layer][axis.i, axis.j] += coord - centre
                elif axis.kind == "bias":
                    moved.biases[axis.layer][axis.j] += coord - centre
                else:
                    for p, dp in zip(moved.parameters(), d):
                        p += (coord - centre) * dp
            out[iy, ix] = moved.loss(X, T)
    return out


AXIS_PAIRS = {
    "two weights, same layer": (weight_axis(0, 1, 2), weight_axis(0, 0, 3)),
    "weight and bias, different layers": (weight_axis(0, 1, 2), bias_axis(2, 1)),
    "upper layers only": (weight_axis(1, 3, 0), bias_axis(1, 2)),
    "two output weights": (weight_axis(2, 0, 0), weight_axis(2, 2, 1)),
    "two random directions": (Axis("random", seed=3), Axis("random", seed=3)),
    "random directions, other seeds": (Axis("random", seed=1), Axis("random", seed=7)),
    "principal components": (Axis("pca", component=0), Axis("pca", component=1)),
    "weight and random": (weight_axis(1, 2, 1), Axis("random", seed=2)),
    "PC and bias": (Axis("pca"), bias_axis(0, 3)),
}


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
@pytest.mark.parametrize("pair", list(AXIS_PAIRS))
def test_slice_equals_pointwise_evaluation(output, pair):
    net, X, T = make_problem(output)
    trajectory = synthetic_trajectory(net)
    axis_x, axis_y = AXIS_PAIRS[pair]
    slc = compute_slice(net, X, T, axis_x, axis_y, grid=7, trajectory=trajectory)
    assert slc.complete and slc.loss.shape == (7, 7) and slc.n_samples == len(X)
    np.testing.assert_allclose(slc.loss, pointwise(net, X, T, slc, trajectory), rtol=RTOL)


def test_sigmoid_hidden_layers_and_a_deeper_net():
    net, X, T = make_problem("softmax", sizes=(3, 5, 4, 4, 2),
                             hidden=("sigmoid", "leaky_relu", "tanh"))
    for axes in [(weight_axis(0, 2, 4), weight_axis(2, 1, 3)), (Axis("random"), bias_axis(3, 1))]:
        slc = compute_slice(net, X, T, *axes, grid=5)
        np.testing.assert_allclose(slc.loss, pointwise(net, X, T, slc), rtol=RTOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_in_place_equal_the_networks(dtype):
    """The slice applies hidden activations in the pre-activation's own memory: bit for bit the
    values of ``activate`` (negative, zero, signed zero, huge, infinite and NaN inputs)."""
    from bpviz.engine.functions import ACTIVATIONS
    z = np.array([[-3.5, -1e-3, -0.0, 0.0, 2e-3, 0.7, 40.0, -40.0, 1e5, -1e5,
                   np.inf, -np.inf, np.nan]], dtype=dtype)
    for name in ACTIVATIONS:                                        # every hidden activation
        net = Network([2, z.shape[1], 2], name, "softmax", seed=0)
        with np.errstate(all="ignore"):
            expected = net.activate(1, z.copy())
            got = net.activate(1, work := z.copy(), in_place=True)
        assert got.dtype == expected.dtype == dtype and np.shares_memory(got, work), name
        np.testing.assert_array_equal(got, expected, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), err_msg=name)


@pytest.mark.parametrize("pair", ["two weights, same layer", "two random directions",
                                  "PC and bias"])
def test_centre_is_net_loss_and_network_untouched(pair):
    net, X, T = make_problem()
    before = [p.copy() for p in net.parameters()]
    trajectory = synthetic_trajectory(net)
    slc = compute_slice(net, X, T, *AXIS_PAIRS[pair], grid=9, trajectory=trajectory)
    assert slc.loss[4, 4] == pytest.approx(net.loss(X, T), rel=RTOL)
    assert (slc.xs[4], slc.ys[4]) == slc.center
    for p, q in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, q)


def test_weight_axes_are_parameter_values():
    net, X, T = make_problem()
    slc = compute_slice(net, X, T, weight_axis(1, 2, 0), bias_axis(0, 1), grid=11, span=(0.5, 2.0))
    w, b = net.weights[1][2, 0], net.biases[0][1]
    assert slc.center == (w, b)
    np.testing.assert_allclose(slc.xs, np.linspace(w - 0.5, w + 0.5, 11), rtol=0, atol=1e-15)
    np.testing.assert_allclose(slc.ys, np.linspace(b - 2.0, b + 2.0, 11), rtol=0, atol=1e-15)


def test_span_defaults_and_forms():
    net, X, T = make_problem()
    net.weights[0][0, 0] = 4.0
    slc = compute_slice(net, X, T, weight_axis(0, 0, 0), Axis("random"), grid=5)
    assert (slc.xs[0], slc.xs[-1]) == (4.0 - 6.0, 4.0 + 6.0)          # 1.5·|value| beats 2.5
    assert (slc.ys[0], slc.ys[-1]) == (-1.0, 1.0)                     # random: α ∈ [−1, 1]
    slc = compute_slice(net, X, T, weight_axis(0, 1, 0), Axis("random"), grid=5, span=0.25)
    assert slc.ys[-1] == 0.25 and slc.xs[-1] - slc.center[0] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="span"):
        compute_slice(net, X, T, weight_axis(0, 1, 0), Axis("random"), span=(1.0, -1.0))


def test_chunking_does_not_change_the_result():
    net, X, T = make_problem("sigmoid", n=60)
    trajectory = synthetic_trajectory(net)
    for axes in [(weight_axis(0, 1, 2), bias_axis(2, 1)), (Axis("random"), Axis("pca"))]:
        whole = compute_slice(net, X, T, *axes, grid=9, trajectory=trajectory)
        fractions = []
        pieces = compute_slice(net, X, T, *axes, grid=9, trajectory=trajectory,
                               max_chunk_elems=1, progress=fractions.append)
        np.testing.assert_allclose(pieces.loss, whole.loss, rtol=1e-14)
        assert len(fractions) == 81 and fractions[-1] == 1.0
        assert np.all(np.diff(fractions) > 0)


def test_a_grid_shared_among_threads_gives_the_same_values():
    from concurrent.futures import ThreadPoolExecutor
    net, X, T = make_problem("softmax", n=80)
    axes = (Axis("random", seed=2), weight_axis(1, 0, 1))
    alone = compute_slice(net, X, T, *axes, grid=11, max_chunk_elems=3 * 80 * 4)
    with ThreadPoolExecutor(3) as pool:
        shared = compute_slice(net, X, T, *axes, grid=11, max_chunk_elems=3 * 80 * 4,
                               executor=pool, parts=3)
        assert shared.complete
        np.testing.assert_array_equal(shared.loss, alone.loss)
        # cancelled half-way: every share stops, and what was not computed is NaN
        asked = []
        cancelled = compute_slice(net, X, T, *axes, grid=11, max_chunk_elems=80 * 4,
                                  executor=pool, parts=2,
                                  cancel=lambda: asked.append(1) or len(asked) > 60)
    assert not cancelled.complete
    done = np.isfinite(cancelled.loss)
    assert 0 < done.sum() < 121
    one_by_one = compute_slice(net, X, T, *axes, grid=11, max_chunk_elems=80 * 4)
    np.testing.assert_array_equal(cancelled.loss[done], one_by_one.loss[done])


def test_subsample():
    net, X, T = make_problem(n=100)
    axes = (weight_axis(0, 0, 1), Axis("random", seed=4))
    slc = compute_slice(net, X, T, *axes, grid=5, subsample=30, seed=9)
    assert slc.n_samples == 30
    rows = sample_indices(len(X), 30, seed=9)
    assert len(set(rows)) == 30
    on_subset = compute_slice(net, X[rows], T[rows], *axes, grid=5)
    np.testing.assert_array_equal(slc.loss, on_subset.loss)
    assert compute_slice(net, X, T, *axes, grid=5, subsample=1000).n_samples == 100


def test_cancel_after_the_first_chunk():
    net, X, T = make_problem(n=50)
    asked = []

    def cancel():
        asked.append(True)
        return len(asked) > 1
    # 50 samples × width 4 → 5 grid points per chunk
    slc = compute_slice(net, X, T, Axis("random"), Axis("random"), grid=7, cancel=cancel,
                        max_chunk_elems=5 * 50 * 4)
    assert not slc.complete and len(asked) == 2
    flat = slc.loss.ravel()
    assert np.all(np.isfinite(flat[:5])) and np.all(np.isnan(flat[5:]))


def test_filter_normalisation():
    net, _, _ = make_problem(sizes=(2, 6, 5, 3))
    d = directions(net, Axis("random", seed=11))
    assert [p.shape for p in d] == [p.shape for p in net.parameters()]
    for W, dW, db in zip(net.weights, d[0::2], d[1::2]):
        np.testing.assert_allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(W, axis=0),
                                   rtol=1e-13)
        assert not np.any(db)
    again = directions(net, Axis("random", seed=11))
    for p, q in zip(d, again):
        np.testing.assert_array_equal(p, q)
    other = directions(net, Axis("random", seed=12))
    assert not np.allclose(d[0], other[0])
    # equal random axes on one slice still give two different directions
    d_x, d_y = slice_directions(net, Axis("random", seed=11), Axis("random", seed=11, layer=1))
    assert not np.allclose(d_x[0], d_y[0])


def test_sparse_directions_are_the_dense_ones_without_their_zeros():
    net, X, T = make_problem()
    trajectory = synthetic_trajectory(net)
    for axes in [(weight_axis(1, 3, 2), bias_axis(2, 0)), (Axis("random", seed=3), Axis("pca")),
                 (weight_axis(0, 1, 1), Axis("random", seed=4))]:
        dense = slice_directions(net, *axes, trajectory)
        sparse = slice_directions(net, *axes, trajectory, sparse=True)
        for d, s in zip(dense, sparse):
            for full, part in zip(d, s):
                if part is None:
                    assert not np.any(full)
                else:
                    np.testing.assert_array_equal(part, full)
        # the slice through them is the same, computed from either
        a = compute_slice(net, X, T, *axes, grid=5, trajectory=trajectory, dirs=dense)
        b = compute_slice(net, X, T, *axes, grid=5, trajectory=trajectory)
        np.testing.assert_allclose(a.loss, b.loss, rtol=RTOL)
    # a weight axis of a big network is one array, not the network's worth of zeros
    big = Network([2, 300, 300, 3], "tanh", "softmax", seed=0)
    d_x, d_y = slice_directions(big, weight_axis(1, 0, 0), bias_axis(1, 5), sparse=True)
    assert [m for m, p in enumerate(d_x) if p is not None] == [2]
    assert [m for m, p in enumerate(d_y) if p is not None] == [3]


@pytest.mark.parametrize("axes", [(weight_axis(1, 3, 2), bias_axis(2, 0)),
                                  (Axis("random", seed=3), Axis("random", seed=8)),
                                  (weight_axis(0, 1, 1), Axis("random", seed=4))])
def test_projection_is_the_pseudo_inverse_of_the_directions(axes):
    net, X, T = make_problem()
    dense = slice_directions(net, *axes)
    basis = np.stack([np.concatenate([p.ravel() for p in d]) for d in dense], axis=1)
    origin = flatten(net.weights, net.biases)
    center = (0.25, -1.5)
    projection = Projection.of(net, slice_directions(net, *axes, sparse=True), center)
    theta = origin + np.random.default_rng(0).standard_normal((6, origin.size))
    want = np.asarray(center) + (theta - origin) @ np.linalg.pinv(basis).T   # plain numpy
    np.testing.assert_allclose(projection(theta), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(projection(theta[2]), want[2], rtol=1e-10, atol=1e-12)
    assert projection.n_parameters == origin.size
    if axes[0].is_parameter and axes[1].is_parameter:
        # two parameter axes: two numbers a point are read, nothing network-sized is kept
        assert projection.matrix.shape == (2, 2) and len(projection.index) == 2


def test_parameter_axis_directions_and_errors():
    net, X, T = make_problem()
    d = directions(net, weight_axis(1, 3, 2))
    assert d[2][3, 2] == 1.0 and sum(np.count_nonzero(p) for p in d) == 1
    d = directions(net, bias_axis(2, 0))
    assert d[5][0] == 1.0 and sum(np.count_nonzero(p) for p in d) == 1
    with pytest.raises(ValueError, match="no such parameter"):
        directions(net, weight_axis(0, 2, 0))          # the input layer has 2 neurons
    with pytest.raises(ValueError, match="out of range"):
        directions(net, bias_axis(3, 0))
    with pytest.raises(ValueError, match="different axes"):
        compute_slice(net, X, T, weight_axis(0, 0, 0), weight_axis(0, 0, 0))
    with pytest.raises(ValueError, match="different axes"):    # unused fields do not count
        compute_slice(net, X, T, bias_axis(1, 0), Axis("bias", layer=1, i=2, j=0))
    with pytest.raises(ValueError, match="unknown axis kind"):
        Axis("hessian")


def test_labels():
    assert weight_axis(1, 0, 2).label() == "weight layer 2, 0→2"
    assert bias_axis(0, 3).label() == "bias layer 1, neuron 3"
    assert Axis("random", seed=3).label() == "random direction (seed 3)"
    assert Axis("pca", component=1).label() == "PC2"


def test_pca_finds_the_line_of_travel():
    net, _, _ = make_problem()
    theta = flatten(net.weights, net.biases)
    u = np.random.default_rng(2).standard_normal(theta.size)
    trajectory = theta + np.linspace(-3.0, 0.0, 20)[:, None] * u     # along u, ending here
    pc1 = np.concatenate([p.ravel() for p in directions(net, Axis("pca"), trajectory)])
    assert np.linalg.norm(pc1) == pytest.approx(1.0)
    assert abs(pc1 @ u) / np.linalg.norm(u) == pytest.approx(1.0, abs=1e-12)
    assert pc1 @ u > 0                         # pointing the way training went
    with pytest.raises(ValueError, match="spans only 1"):
        directions(net, Axis("pca", component=1), trajectory)


def test_pca_needs_a_trajectory():
    net, X, T = make_problem()
    theta = flatten(net.weights, net.biases)
    with pytest.raises(ValueError, match="trajectory"):
        directions(net, Axis("pca"))
    with pytest.raises(ValueError, match="2 distinct"):
        directions(net, Axis("pca"), np.vstack([theta, theta]))
    with pytest.raises(ValueError, match="shape"):
        directions(net, Axis("pca"), theta[None, :-1])


def test_pca_default_span_covers_the_trajectory():
    net, X, T = make_problem()
    trajectory = synthetic_trajectory(net)
    axes = (Axis("pca", component=0), Axis("pca", component=1))
    slc = compute_slice(net, X, T, *axes, grid=5, trajectory=trajectory)
    path = project_trajectory(trajectory, net, *axes)
    assert np.all(np.abs(path[:, 0]) < slc.xs[-1]) and np.all(np.abs(path[:, 1]) < slc.ys[-1])


def test_project_trajectory():
    net, _, _ = make_problem()
    trajectory = synthetic_trajectory(net)
    axes = (weight_axis(0, 1, 2), bias_axis(2, 1))
    coords = project_trajectory(trajectory, net, *axes)
    weights, biases = zip(*(unflatten(t, net.sizes) for t in trajectory))
    np.testing.assert_array_equal(coords[:, 0], [W[0][1, 2] for W in weights])
    np.testing.assert_array_equal(coords[:, 1], [b[2][1] for b in biases])
    assert tuple(coords[-1]) == (net.weights[0][1, 2], net.biases[2][1])

    # direction axes: points on the plane come back with their coefficients, the centre at 0
    axes = (Axis("random", seed=1), Axis("random", seed=2))
    d_x, d_y = slice_directions(net, *axes)
    theta = flatten(net.weights, net.biases)
    ab = np.array([[0.3, -0.2], [-1.0, 0.5], [0.0, 0.0]])
    on_plane = theta + ab @ np.stack([flatten(d_x[0::2], d_x[1::2]), flatten(d_y[0::2], d_y[1::2])])
    np.testing.assert_allclose(project_trajectory(on_plane, net, *axes), ab, atol=1e-12)

    # mixed: the weight coordinate is its value, the direction's is 0 at the current point
    coords = project_trajectory(trajectory, net, weight_axis(1, 0, 0), Axis("pca"))
    assert coords[-1, 0] == net.weights[1][0, 0] and coords[-1, 1] == pytest.approx(0, abs=1e-12)


def test_flatten_round_trip():
    net, _, _ = make_problem()
    vec = flatten(net.weights, net.biases)
    assert vec.shape == (net.n_parameters,)
    weights, biases = unflatten(vec, net.sizes)
    for p, q in zip([p for pair in zip(weights, biases) for p in pair], net.parameters()):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="entries"):
        unflatten(vec[:-1], net.sizes)


def test_float32_is_close():
    net, X, T = make_problem(n=80)
    axes = (Axis("random"), weight_axis(1, 0, 1))
    exact = compute_slice(net, X, T, *axes, grid=7)
    fast = compute_slice(net, X, T, *axes, grid=7, dtype=np.float32)
    np.testing.assert_allclose(fast.loss, exact.loss, rtol=1e-5)
