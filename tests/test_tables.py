"""The CSV tables behind each panel (engine.tables): pure functions of snapshots, checked against
the engine's arrays and against sums and forward passes computed here; written as CSV they read
back to the same floats. The module needs no Qt."""

import csv
import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from bpviz.engine.data import CLASSIFICATION, REGRESSION, Dataset
from bpviz.engine.network import Network
from bpviz.engine.surface import compute_slice, flatten, weight_axis
from bpviz.engine.tables import (Table, boundary_tables, cost_tables, network_tables,
                                 surface_tables, write_csv)


def test_the_tables_module_imports_no_qt():
    code = ("import sys, bpviz.engine.tables; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_network_tables_list_every_weight_and_neuron(make_snap):
    snap = make_snap("gaussian-clouds", passes=2)
    tables = network_tables(snap)
    edges, neurons = tables[""], tables["neurons"]
    assert tuple(edges.header) == ("layer", "from", "to", "weight", "gradient", "error_signal",
                                   "update", "weight_after", "focus")
    expected = []
    for wi in range(len(snap.weights)):
        n_in, n_out = snap.weights[wi].shape
        for i in range(n_in):
            for j in range(n_out):
                expected.append([wi + 1, i, j, snap.trace_weights[wi][i, j],
                                 snap.grad_weights[wi][i, j], snap.edge_signals[wi][i, j],
                                 snap.update_weights[wi][i, j], snap.weights[wi][i, j], "mean"])
    assert edges.rows == expected and len(expected) == 2 * 3 + 3 * 3
    assert all(type(v) is float for row in edges.rows for v in row[3:-1])   # written with repr
    # every row's numbers belong to one moment: w·δ with the weight in the row, and the weight
    # after the update is that weight plus the update (hand-checked: 1.842 × −0.865 was written
    # beside −1.549 when the weight column held the weight after the update)
    for wi, W in enumerate(snap.trace_weights):
        rows = [r for r in edges.rows if r[0] == wi + 1]
        for _, i, j, w, _, signal, update, after, _ in rows:
            assert signal == w * snap.grad_biases[wi][j]        # w_ij · mean δ_j
            assert after == snap.weights[wi][i, j]
            assert abs(after - (w + update)) <= 1e-15 * max(1.0, abs(after))

    assert tuple(neurons.header) == ("layer", "index", "activation", "delta", "z",
                                     "activation_mean", "delta_mean", "delta_mean_abs", "bias",
                                     "bias_gradient", "focus")
    assert [tuple(r[:2]) for r in neurons.rows] == [(layer, i) for layer, n in enumerate(snap.sizes)
                                                    for i in range(n)]
    for (layer, i, act, delta, z, act_mean, delta_mean, delta_abs, bias, bias_grad,
         focus) in neurons.rows:
        assert act == act_mean == snap.activation_mean[layer][i] and focus == "mean"
        assert z == ""                                # a batch mean has no one z
        if layer == 0:
            assert (delta, delta_mean, delta_abs, bias, bias_grad) == ("", "", "", "", "")
        else:
            assert delta == delta_mean
            assert (delta_mean, delta_abs, bias, bias_grad) == (
                snap.delta_mean[layer - 1][i], snap.delta_abs_mean[layer - 1][i],
                snap.biases[layer - 1][i], snap.grad_biases[layer - 1][i])


def test_network_tables_for_one_sample(make_snap):
    snap = make_snap("gaussian-clouds", passes=2, pinned=4)
    sv = snap.sample
    tables = network_tables(snap, sample=True)
    for layer, i, j, weight, grad, signal, update, after, focus in tables[""].rows:
        wi = layer - 1
        assert focus == "sample 4" and weight == snap.trace_weights[wi][i, j]
        assert after == snap.weights[wi][i, j]
        assert signal == weight * sv.delta[wi][j]             # w·δ with the weight in the row
        assert grad == sv.a[wi][i] * sv.delta[wi][j]
        assert update == snap.update_weights[wi][i, j]
    for layer, i, act, delta, z, act_mean, *_, bias_grad, focus in tables["neurons"].rows:
        assert focus == "sample 4" and act == sv.a[layer][i]
        assert act_mean == snap.activation_mean[layer][i]
        if layer:
            assert delta == bias_grad == sv.delta[layer - 1][i] and z == sv.z[layer - 1][i]


def test_cost_tables_number_the_passes_and_keep_the_epoch_whole():
    header = ("epoch", "loss", "accuracy", "test_loss", "test_accuracy", "grad_norm_1")
    history = np.array([[0, 2.5, 0.25, np.nan, np.nan, 0.5], [1, 1.0 / 3, 0.5, 0.4, 0.45, 0.25]])
    passes = np.array([[0.0, 2.5], [0.5, 2.25], [1.0, 1.0 / 3]])
    tables = cost_tables(header, history, passes, first_pass=7)
    assert tuple(tables[""].header) == header
    rows = tables[""].rows
    assert [r[0] for r in rows] == [0, 1] and all(type(r[0]) is int for r in rows)
    assert rows[1][1:] == [1.0 / 3, 0.5, 0.4, 0.45, 0.25] and np.isnan(rows[0][3])
    assert tables["passes"].rows == [[7, 0.0, 2.5], [8, 0.5, 2.25], [9, 1.0, 1.0 / 3]]
    empty = cost_tables(header, np.zeros((0, 6)), np.zeros((0, 2)))
    assert empty[""].rows == [] and empty["passes"].rows == []


def test_surface_tables_project_the_path_on_the_slice(make_run, make_snap):
    snap = make_snap("xor", passes=4)
    _cfg, ds, net, _trainer = make_run("xor")
    net = Network(snap.sizes, net.activation_names[:-1], net.activation_names[-1],
                  weights=snap.weights, biases=snap.biases)
    ax, ay = weight_axis(0, 0, 1), weight_axis(1, 2, 0)
    slc = compute_slice(net, ds.X_train, ds.T_train, ax, ay, grid=5)
    origin = flatten(snap.weights, snap.biases)
    marker = [np.zeros_like(W) for W in snap.weights]
    marker[0][0, 1], marker[1][2, 0] = 1, 2
    flat_marker = flatten(marker, [np.zeros_like(b) for b in snap.biases])
    ix, iy = int(np.flatnonzero(flat_marker == 1)[0]), int(np.flatnonzero(flat_marker == 2)[0])
    # for weight axes the slice coordinates are the two weights themselves
    result = SimpleNamespace(slice=slc, n_parameters=len(origin),
                             coordinates=lambda theta: np.asarray(theta)[..., [ix, iy]])
    trajectory = np.vstack([origin + k for k in range(3)])
    tables = surface_tables(result, snap, trajectory, np.array([0, 2, 4]))

    grid = tables[""]
    assert tuple(grid.header) == (ax.label(), ay.label(), "loss")
    assert len(grid.rows) == 25
    for k, (x, y, loss) in enumerate(grid.rows):
        r, c = divmod(k, 5)                            # rows are y, x varies fastest
        assert (x, y) == (slc.xs[c], slc.ys[r]) and loss == slc.loss[r, c]
    path = tables["path"]
    assert tuple(path.header) == ("point", "pass", ax.label(), ay.label())
    w_x, w_y = snap.weights[0][0, 1], snap.weights[1][2, 0]
    assert path.rows == [["path", 0, w_x, w_y], ["path", 2, w_x + 1, w_y + 1],
                         ["path", 4, w_x + 2, w_y + 2], ["current", snap.pass_count, w_x, w_y]]
    # a trajectory of another network (a different parameter count) is left out
    other = surface_tables(result, snap, np.zeros((2, 3)), np.array([0, 1]))
    assert other["path"].rows == [["current", snap.pass_count, w_x, w_y]]


def test_boundary_tables_hold_the_network_output_and_every_point(make_run, make_snap):
    snap = make_snap("gaussian-clouds", passes=1)
    _cfg, ds, net, _trainer = make_run("gaussian-clouds")
    tables = boundary_tables(snap, ds)
    grid = tables[""]
    assert tuple(grid.header) == ("x1", "x2", "output_0", "output_1", "output_2")
    b = snap.boundary
    assert len(grid.rows) == len(b.xs) * len(b.ys)
    rows = np.array(grid.rows)
    # the output at each row's point is the network's, computed again here
    probe = Network(snap.sizes, net.activation_names[:-1], net.activation_names[-1],
                    weights=snap.weights, biases=snap.biases)
    np.testing.assert_allclose(rows[:, 2:], probe.forward(rows[:, :2]), rtol=1e-12, atol=1e-15)
    assert set(rows[:, 0]) == set(b.xs) and set(rows[:, 1]) == set(b.ys)
    points = tables["points"]
    assert tuple(points.header) == ("x1", "x2", "label", "split")
    assert [r[:2] for r in points.rows] == ds.X_train.tolist() + ds.X_test.tolist()
    assert [r[2] for r in points.rows] == ds.y_train.tolist() + ds.y_test.tolist()


@pytest.mark.parametrize("targets, names, header", [
    (1, (), ("target",)), (2, (), ("target_0", "target_1")), (2, ("u", "v"), ("u", "v"))])
def test_regression_points_name_their_targets(make_snap, targets, names, header):
    rng = np.random.default_rng(0)
    ds = Dataset("r", REGRESSION, rng.normal(size=(4, 3)), rng.normal(size=(4, targets)),
                 rng.normal(size=(2, 3)), rng.normal(size=(2, targets)), target_names=names)
    snap = dataclasses.replace(make_snap("gaussian-clouds", passes=1), boundary=None)
    tables = boundary_tables(snap, ds)
    assert set(tables) == {"points"}                   # no grid without a boundary
    points = tables["points"]
    assert tuple(points.header) == ("x1", "x2", "x3", *header, "split")
    assert [r[:3] for r in points.rows] == ds.X_train.tolist() + ds.X_test.tolist()
    assert [r[3:3 + targets] for r in points.rows] == ds.y_train.tolist() + ds.y_test.tolist()
    assert [r[-1] for r in points.rows] == ["train"] * 4 + ["test"] * 2


def test_classification_points_use_the_feature_names(make_snap):
    ds = Dataset("c", CLASSIFICATION, np.array([[0.0, 1.0]]), np.array([1]), np.zeros((0, 2)),
                 np.zeros(0, int), class_names=("a", "b"), feature_names=("width", "height"))
    snap = make_snap("gaussian-clouds", passes=1)
    tables = boundary_tables(snap, ds)
    assert tuple(tables[""].header[:2]) == ("width", "height")
    assert tables["points"].rows == [[0.0, 1.0, 1, "train"]]


def test_write_csv_reads_back_to_the_same_floats(tmp_path):
    values = [0.1 + 0.2, 1 / 3, -2.0981205629348856e-300, 1e300, float("nan")]
    path = tmp_path / "t.csv"
    write_csv(path, Table(("k", "value", "note"), [[k, v, "a, b"] for k, v in enumerate(values)]))
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    assert header == ["k", "value", "note"]
    assert [int(r[0]) for r in rows] == list(range(len(values)))
    back = [float(r[1]) for r in rows]
    assert back[:-1] == values[:-1] and np.isnan(back[-1])
    assert {r[2] for r in rows} == {"a, b"}
    with pytest.raises(FileExistsError):                # a new file only: the caller stages it
        write_csv(path, Table(("k",), []))
