"""The numbers behind each panel, as CSV tables: pure functions of snapshots (numpy only).

Every table is a :class:`Table` (a header and rows of Python numbers). Floats are written with
``repr`` precision (:func:`write_csv`), so reading them back with ``float()`` gives the engine's
values exactly. A panel's tables are a ``{key: Table}`` dict: key ``""`` is the main file
``<stem>.csv``, any other key a companion ``<stem>_<key>.csv``.

- :func:`network_tables`: one row per weight (value, gradient, error signal, update) and one per
  neuron (activation and delta, bias and its gradient), for one sample or the batch mean;
- :func:`cost_tables`: the training history (a row per epoch) and the loss of every pass;
- :func:`surface_tables`: the loss slice in long format and the descent path projected on it;
- :func:`boundary_tables`: the network output over the input grid and the data points.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from .snapshot import Snapshot, focused
from .surface import flatten


class Table(NamedTuple):
    """One CSV file: a header and rows of Python numbers (floats are written with ``repr``)."""

    header: Sequence[str]
    rows: Sequence[Sequence]


def write_csv(path: Path, table: Table) -> None:
    """``table`` as a new CSV file at ``path`` (not atomically: the caller stages ``path``)."""
    with open(path, "x", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(table.header)
        out.writerows(table.rows)


def _cell(arrays: Sequence[np.ndarray], k: int, i: int):
    """``float(arrays[k][i])``, or "" where that layer or neuron has no value."""
    if 0 <= k < len(arrays) and i < np.size(arrays[k]):
        return float(np.ravel(arrays[k])[i])
    return ""


def network_tables(snap: Snapshot, sample: bool = False) -> dict[str, Table]:
    """Edges (one row per weight) and neurons of ``snap``, for its pinned sample (``sample``
    True) or the batch mean; the ``focus`` column says which ("sample 3" or "mean").

    ``layer`` is the design's numbering: an edge of layer l belongs to ``W[l]`` (the snapshot's
    ``weights[l − 1]``) and runs from neuron ``from`` of layer l − 1 to neuron ``to`` of layer l.
    A row reads as the last pass went: ``weight`` is the weight that pass used, ``gradient``,
    ``error_signal`` (w·δ, with that weight) and ``update`` (Δw) are the pass's, and
    ``weight_after`` is the weight now (``weight`` + ``update``; the same as ``weight`` when no
    update was made). For one sample ``gradient`` is a·δ of that sample
    and ``error_signal`` w·δ of that sample, so that for every hidden neuron f′(z)·Σ of its
    uplinks' ``error_signal`` is its ``delta``; batch means do not add up that way. Neurons:
    ``activation``, ``delta`` and ``z`` (the sample's; empty for the mean) in the focus, then the
    batch means. Neurons of layer 0 (the inputs) have no δ or bias: those cells are empty.
    """
    view = focused(snap, sample)
    edges = []
    for wi, W in enumerate(snap.weights):
        n_in, n_out = W.shape
        rows = np.repeat(np.arange(n_in), n_out).tolist()
        cols = np.tile(np.arange(n_out), n_in).tolist()
        used = snap.trace_weights if snap.has_trace else view.weights
        columns = [np.ravel(a[wi]).tolist() for a in (used, view.grad_weights, view.edge_signals,
                                                      view.update_weights, view.weights)]
        edges += [[wi + 1, i, j, *values, view.label]
                  for i, j, *values in zip(rows, cols, *columns)]
    neurons = []
    for layer, n in enumerate(snap.sizes):
        for i in range(n):
            neurons.append([layer, i, _cell(view.activation, layer, i),
                            *(_cell(a, layer - 1, i) for a in (view.delta, view.z)),
                            _cell(snap.activation_mean, layer, i),
                            *(_cell(a, layer - 1, i) for a in (snap.delta_mean, snap.delta_abs_mean,
                                                               snap.biases, view.grad_biases)),
                            view.label])
    return {
        "": Table(("layer", "from", "to", "weight", "gradient", "error_signal", "update",
                   "weight_after", "focus"), edges),
        "neurons": Table(("layer", "index", "activation", "delta", "z", "activation_mean",
                          "delta_mean", "delta_mean_abs", "bias", "bias_gradient", "focus"),
                         neurons),
    }


def cost_tables(header: Sequence[str], history: np.ndarray, passes: np.ndarray,
                first_pass: int = 1) -> dict[str, Table]:
    """The training history (rows of ``history`` under ``header``: epoch, loss, accuracy,
    test_loss, test_accuracy, then the gradient norm of each layer over the whole training set,
    as ``Trainer`` records it; the epoch written as a whole number) and the loss of every pass: ``passes`` is (n, 2), each pass's position (its fractional
    epoch) and loss, numbered from ``first_pass``."""
    rows = [[int(row[0]), *row[1:]] for row in np.asarray(history).tolist()]
    pass_rows = [[first_pass + k, position, loss]
                 for k, (position, loss) in enumerate(np.asarray(passes).tolist())]
    return {"": Table(tuple(header), rows),
            "passes": Table(("pass", "position", "loss"), pass_rows)}


def surface_tables(result, snap: Snapshot, trajectory: np.ndarray | None,
                   trajectory_passes: np.ndarray | None) -> dict[str, Table]:
    """The shown slice in long format (x, y, loss; the header names the two axes), and the path:
    every recorded point of the trajectory projected on the slice's axes, then the current point.

    ``result`` is the surface panel's slice result: ``slice`` (a
    :class:`~bpviz.engine.surface.SurfaceSlice`), ``n_parameters`` (how many parameters the
    sliced network has) and ``coordinates(params)`` (flat parameters projected on its two axes).
    """
    slc = result.slice
    names = (slc.axis_x.label(), slc.axis_y.label())
    gy, gx = np.meshgrid(np.arange(len(slc.ys)), np.arange(len(slc.xs)), indexing="ij")
    grid = [list(row) for row in zip(np.asarray(slc.xs)[gx].ravel().tolist(),
                                     np.asarray(slc.ys)[gy].ravel().tolist(),
                                     np.asarray(slc.loss).ravel().tolist())]
    path = []
    if trajectory is not None and trajectory.shape[1] == result.n_parameters:
        coords = result.coordinates(trajectory).tolist()
        path += [["path", int(p), x, y] for p, (x, y) in zip(trajectory_passes.tolist(), coords)]
    params = flatten(snap.weights, snap.biases)
    if len(params) == result.n_parameters:
        x, y = result.coordinates(params).tolist()
        path.append(["current", snap.pass_count, x, y])
    return {"": Table((*names, "loss"), grid), "path": Table(("point", "pass", *names), path)}


def boundary_tables(snap: Snapshot, dataset) -> dict[str, Table]:
    """The network output on the snapshot's grid (when there is one: 1 or 2 inputs) and the data
    points (every feature, the class label or the targets, and the split)."""
    features = tuple(dataset.feature_names) or tuple(f"x{i + 1}" for i in range(dataset.n_features))
    tables = {}
    b = snap.boundary
    if b is not None and snap.sizes[0] == dataset.n_features:
        out = np.asarray(b.output)
        outputs = tuple(f"output_{k}" for k in range(out.shape[-1]))
        if len(b.ys):
            gy, gx = np.meshgrid(np.arange(len(b.ys)), np.arange(len(b.xs)), indexing="ij")
            coords = np.column_stack([np.asarray(b.xs)[gx].ravel(), np.asarray(b.ys)[gy].ravel()])
            header = (*features[:2], *outputs)
        else:
            coords = np.asarray(b.xs)[:, None]
            header = (features[0], *outputs)
        rows = np.column_stack([coords, out.reshape(len(coords), -1)]).tolist()
        tables[""] = Table(header, rows)
    if dataset.is_classification:
        target_header = ("label",)
        targets = [np.asarray(y)[:, None] for y in (dataset.y_train, dataset.y_test)]
    else:
        k = dataset.n_outputs
        target_header = tuple(dataset.target_names) or (
            ("target",) if k == 1 else tuple(f"target_{j}" for j in range(k)))
        targets = [dataset.T_train, dataset.T_test]
    points = []
    for split, X, T in zip(("train", "test"), (dataset.X_train, dataset.X_test), targets):
        for x, t in zip(np.asarray(X, float).tolist(), np.asarray(T).tolist()):
            points.append([*x, *t, split])
    tables["points"] = Table((*features, *target_header, "split"), points)
    return tables
