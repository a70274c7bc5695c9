"""The surface slice: the loss over a 2-D grid of parameter space through the current weights.

A slice is spanned by two axes. Every axis is a direction ``d`` in parameter space, stored like
``net.parameters()`` (W0, b0, W1, b1, ...), and the grid point (αx, αy) stands for the weights

    θ(αx, αy) = θ_current + αx · d_x + αy · d_y

Axis kinds:

- ``weight`` (layer, i, j) and ``bias`` (layer, j): d is one-hot on that parameter, and the axis
  coordinate is the parameter's value itself (α is added to the current value);
- ``random`` (seed): a Gaussian direction, filter-normalised as in Li et al. 2018, "Visualizing the
  Loss Landscape of Neural Nets": for every neuron j of every layer, the column d[:, j] of the
  weight part is rescaled to the norm of W[:, j]; the bias part is zero. The coordinate is α;
- ``pca`` (component): a principal component of a recorded weight trajectory about the current
  point (unit length, so the coordinate α is a distance in parameter space).

``layer`` is the array index, as in ``net.weights[layer]`` (the diagram's layer ``layer + 1``).
Two random axes with the same seed on one slice would coincide, so axis y then draws with
seed + 1 (:func:`slice_directions`). With a mixed slice (a parameter and a direction) the
direction may move that parameter too; its coordinate is still counted from the current value.

Evaluation is vectorised: the activations below the first layer that the axes touch are computed
once at the current weights; the layers above are evaluated for a chunk of C grid points at a time
with batched matmuls, shapes (C, N, n). Where an axis changes only a few neurons (a weight or a
bias), only those columns are carried until they mix into a whole layer, so a slice through
first-layer weights costs little more than one forward pass per grid point above that layer.
Hidden activations must be element-wise (all of ``functions.ACTIVATIONS`` are). Everything is
float64 by default and equals ``net.loss`` to rounding; ``dtype=np.float32`` trades that for
about twice the speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .network import Network

AXIS_KINDS = ("weight", "bias", "random", "pca")

# Default half-width of a weight or bias axis: max(WEIGHT_SPAN_MIN, WEIGHT_SPAN_SCALE · |value|).
WEIGHT_SPAN_MIN = 2.5
WEIGHT_SPAN_SCALE = 1.5
# Default half-width of a PCA axis, as a multiple of the trajectory's largest |coordinate| on it.
PCA_SPAN_MARGIN = 1.25


# -- axes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Axis:
    """One axis of a surface slice (see the module docstring for the kinds)."""

    kind: str            # "weight", "bias", "random", "pca"
    layer: int = 0       # weights[layer] / biases[layer] (array index as in net.weights)
    i: int = 0           # row (input neuron) for a weight; unused for bias
    j: int = 0           # column (neuron) for weight and bias
    seed: int = 0        # for "random"
    component: int = 0   # for "pca": 0 = first principal component

    def __post_init__(self):
        if self.kind not in AXIS_KINDS:
            raise ValueError(f"unknown axis kind {self.kind!r}; "
                             f"choose one of {', '.join(AXIS_KINDS)}")

    @property
    def is_parameter(self) -> bool:
        """True for a weight or bias axis, whose coordinate is the parameter's value."""
        return self.kind in ("weight", "bias")

    def label(self) -> str:
        """Short human text; layers in the diagram's numbering (array index + 1)."""
        if self.kind == "weight":
            return f"weight layer {self.layer + 1}, {self.i}→{self.j}"
        if self.kind == "bias":
            return f"bias layer {self.layer + 1}, neuron {self.j}"
        if self.kind == "random":
            return f"random direction (seed {self.seed})"
        return f"PC{self.component + 1}"


def weight_axis(layer: int, i: int, j: int) -> Axis:
    """The axis of weight ``net.weights[layer][i, j]``."""
    return Axis("weight", layer=layer, i=i, j=j)


def bias_axis(layer: int, j: int) -> Axis:
    """The axis of bias ``net.biases[layer][j]``."""
    return Axis("bias", layer=layer, j=j)


@dataclass(frozen=True)
class SurfaceSlice:
    """The loss on a G×G grid; ``loss[iy, ix]`` is at (xs[ix], ys[iy]), NaN where not computed."""

    xs: np.ndarray        # (G,) coordinates along axis x (parameter values, or the step α)
    ys: np.ndarray        # (G,)
    loss: np.ndarray      # (G, G), rows are y
    center: tuple[float, float]   # coordinates of the current weights
    axis_x: Axis
    axis_y: Axis
    n_samples: int        # how many samples the loss was evaluated on
    complete: bool        # False if cancelled


# -- flat parameter vectors ----------------------------------------------------------------------

def flatten(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> np.ndarray:
    """All parameters as one vector, in ``net.parameters()`` order: W0 (row-major), b0, W1, ..."""
    parts = []
    for W, b in zip(weights, biases):
        parts += [np.ravel(W), np.ravel(b)]
    return np.concatenate(parts).astype(float)


def unflatten(vec: np.ndarray, sizes: Sequence[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inverse of :func:`flatten` for a network with layer ``sizes``: (weights, biases)."""
    vec = np.asarray(vec, dtype=float)
    expected = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    if vec.shape != (expected,):
        raise ValueError(f"a parameter vector for sizes {list(sizes)} has {expected} entries, "
                         f"got shape {vec.shape}")
    weights, biases, at = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(vec[at:at + n_in * n_out].reshape(n_in, n_out).copy())
        at += n_in * n_out
        biases.append(vec[at:at + n_out].copy())
        at += n_out
    return weights, biases


def _flat_index(net: Network, axis: Axis) -> int:
    """Position of a weight or bias axis's parameter in the :func:`flatten` vector."""
    at = 0
    for layer, (W, b) in enumerate(zip(net.weights, net.biases)):
        if layer == axis.layer:
            if axis.kind == "weight":
                return at + axis.i * W.shape[1] + axis.j
            return at + W.size + axis.j
        at += W.size + b.size
    raise AssertionError("unreachable: the axis was validated")


# -- directions ----------------------------------------------------------------------------------

def _check_parameter_axis(net: Network, axis: Axis) -> None:
    if not 0 <= axis.layer < net.n_layers:
        raise ValueError(f"{axis.label()}: layer index {axis.layer} out of range "
                         f"0..{net.n_layers - 1}")
    n_in, n_out = net.weights[axis.layer].shape
    if not 0 <= axis.j < n_out or (axis.kind == "weight" and not 0 <= axis.i < n_in):
        raise ValueError(f"{axis.label()}: no such parameter in weights[{axis.layer}] of shape "
                         f"({n_in}, {n_out})")


def _random_direction(net: Network, seed: int) -> list[np.ndarray]:
    """Gaussian direction with filter normalisation (Li et al. 2018); biases zero."""
    rng = np.random.default_rng(seed)
    out = []
    for W, b in zip(net.weights, net.biases):
        d = rng.standard_normal(W.shape)
        d_norm = np.linalg.norm(d, axis=0)
        d *= np.linalg.norm(W, axis=0) / np.where(d_norm > 0, d_norm, 1.0)
        out += [d, np.zeros_like(b)]
    return out


def _trajectory_offsets(trajectory, net: Network) -> np.ndarray:
    """The recorded points relative to the current weights, (K, P)."""
    traj = np.asarray(trajectory, dtype=float)
    if traj.ndim != 2 or traj.shape[1] != net.n_parameters:
        raise ValueError(f"a trajectory must be a (K, {net.n_parameters}) array of flattened "
                         f"parameters, got shape {traj.shape}")
    return traj - flatten(net.weights, net.biases)


def _pca_direction(net: Network, axis: Axis, trajectory) -> np.ndarray:
    """Unit principal component ``axis.component`` of (trajectory − current point), via SVD.

    The sign is chosen so that the oldest recorded point has a coordinate ≤ 0 (the positive
    direction points the way training went).
    """
    if trajectory is None:
        raise ValueError(f"{axis.label()} needs a recorded weight trajectory")
    offsets = _trajectory_offsets(trajectory, net)
    distinct = len(np.unique(offsets, axis=0))
    if distinct < 2:
        raise ValueError(f"{axis.label()} needs a trajectory of at least 2 distinct points, "
                         f"got {distinct}")
    _, s, vt = np.linalg.svd(offsets, full_matrices=False)
    rank = int(np.sum(s > s[0] * 1e-12))
    if axis.component >= rank:
        raise ValueError(f"{axis.label()}: the trajectory spans only {rank} direction(s)")
    v = vt[axis.component]
    return -v if offsets[0] @ v > 0 else v


def directions(net: Network, axis: Axis, trajectory=None, sparse: bool = False) -> list:
    """The direction of ``axis`` in parameter space, as arrays in ``net.parameters()`` order.

    ``trajectory`` ((K, P) flattened parameters, :func:`flatten` order) is needed for PCA axes.
    With ``sparse`` an array the direction leaves at zero is None instead (a weight axis of a
    network with 2 million parameters is then one array, not 2 million zeros).
    """
    if axis.is_parameter:
        _check_parameter_axis(net, axis)
        params = net.parameters()
        out = [None if sparse else np.zeros_like(p) for p in params]
        m = 2 * axis.layer + (axis.kind != "weight")
        out[m] = np.zeros_like(params[m])
        if axis.kind == "weight":
            out[m][axis.i, axis.j] = 1.0
        else:
            out[m][axis.j] = 1.0
        return out
    if axis.kind == "random":
        d = _random_direction(net, axis.seed)
        return [None if sparse and m % 2 else p for m, p in enumerate(d)]   # biases are zero
    weights, biases = unflatten(_pca_direction(net, axis, trajectory), net.sizes)
    return [p for pair in zip(weights, biases) for p in pair]


def slice_directions(net: Network, axis_x: Axis, axis_y: Axis, trajectory=None,
                     sparse: bool = False):
    """The two directions ``(d_x, d_y)`` of a slice (``sparse``: see :func:`directions`).

    Two random axes with the same seed would coincide, so then axis y draws with ``seed + 1``.
    Any other pair of equal axes is rejected.
    """
    if axis_x.label() == axis_y.label():            # the fields that matter for the kind
        if axis_x.kind != "random":
            raise ValueError(f"both axes are {axis_x.label()}; choose two different axes")
        axis_y = Axis("random", seed=axis_y.seed + 1)
    return (directions(net, axis_x, trajectory, sparse),
            directions(net, axis_y, trajectory, sparse))


def flat_direction(direction, net: Network) -> np.ndarray:
    """A direction (dense or sparse, as from :func:`directions`) as one (P,) vector."""
    return np.concatenate([np.ravel(d) if d is not None else np.zeros(p.size)
                           for d, p in zip(direction, net.parameters())]).astype(float)


@dataclass(frozen=True, eq=False)
class Projection:
    """Slice coordinates of flattened parameters: ``center + pinv(D) (θ − origin)``, D = [d_x d_y]
    the slice's directions and ``origin`` the parameters at its centre — the least-squares
    coefficients on the directions, as :func:`project_trajectory` computes them.

    Where the directions touch few parameters (a weight or bias axis) only those are kept
    (``index``): projecting a big network's path then reads two numbers a point, and nothing
    of the size of the network is held.
    """

    n_parameters: int
    index: np.ndarray | None      # the parameters read (None: all of them)
    matrix: np.ndarray            # (2, len(index)) or (2, P): pinv(D) on those parameters
    offset: np.ndarray            # (2,): center − matrix · origin[index]

    @classmethod
    def of(cls, net: Network, dirs, center) -> "Projection":
        """The projection onto the directions ``dirs`` (from :func:`slice_directions`, dense or
        sparse) of a slice centred at ``net``'s parameters, whose coordinates there are
        ``center``."""
        params = net.parameters()
        starts = np.cumsum([0] + [p.size for p in params])
        P = int(starts[-1])
        # per array a direction touches: where either direction is non-zero in it
        touched = []
        for m, p in enumerate(params):
            parts = [np.ravel(d[m]) for d in dirs if d[m] is not None]
            if parts:
                touched.append((m, np.flatnonzero(np.any(np.stack(parts) != 0, axis=0))))
        if sum(len(where) for _, where in touched) > max(16, P // 8):
            index = None
            basis = np.stack([flat_direction(d, net) for d in dirs], axis=1)        # (P, 2)
            origin = flatten(net.weights, net.biases)
        else:
            index = np.concatenate([where + starts[m] for m, where in touched]
                                   or [np.zeros(0, int)])

            def values(d):
                return np.concatenate([np.ravel(d[m])[where] if d[m] is not None
                                       else np.zeros(len(where)) for m, where in touched]
                                      or [np.zeros(0)])
            basis = np.stack([values(d) for d in dirs], axis=1).astype(float)      # (k, 2)
            origin = np.concatenate([np.ravel(params[m])[where] for m, where in touched]
                                    or [np.zeros(0)]).astype(float)
        # pinv(B) = pinv(BᵀB) Bᵀ: no (P, 2) factor beside B itself
        matrix = np.linalg.pinv(basis.T @ basis) @ basis.T
        offset = np.asarray(center, dtype=float) - matrix @ origin
        for a in (matrix, offset) + (() if index is None else (index,)):
            a.setflags(write=False)
        return cls(P, index, matrix, offset)

    def __call__(self, theta) -> np.ndarray:
        """Coordinates of θ, (P,) or (K, P) → (2,) or (K, 2)."""
        theta = np.asarray(theta)
        if self.index is not None:
            theta = theta[..., self.index]
        return self.offset + theta @ self.matrix.T


def _center_coordinate(net: Network, axis: Axis) -> float:
    """Coordinate of the current weights on ``axis``: the parameter value, or 0 for directions."""
    if axis.kind == "weight":
        return float(net.weights[axis.layer][axis.i, axis.j])
    if axis.kind == "bias":
        return float(net.biases[axis.layer][axis.j])
    return 0.0


def _default_half_span(net: Network, axis: Axis, direction, trajectory) -> float:
    """Half-width of an axis when ``span`` is not given.

    Weight/bias: max(2.5, 1.5·|value|) around the value; random: α ∈ [−1, 1] (a step as long as
    the weights of every neuron); PCA: 1.25 × the trajectory's largest |coordinate| on it, so the
    whole recorded path is in view.
    """
    if axis.is_parameter:
        return max(WEIGHT_SPAN_MIN, WEIGHT_SPAN_SCALE * abs(_center_coordinate(net, axis)))
    if axis.kind == "random":
        return 1.0
    unit = np.concatenate([np.ravel(p) for p in direction])          # PCA: always dense
    return PCA_SPAN_MARGIN * float(np.max(np.abs(_trajectory_offsets(trajectory, net) @ unit)))


# -- evaluation ----------------------------------------------------------------------------------

def sample_indices(n_total: int, subsample: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of the samples a slice is evaluated on: all of them, or a seeded subset."""
    if subsample is None or subsample >= n_total:
        return np.arange(n_total)
    if subsample < 1:
        raise ValueError(f"subsample must be at least 1, got {subsample}")
    return np.sort(np.random.default_rng(seed).choice(n_total, subsample, replace=False))


class _Affine:
    """``base + αx·d_x + αy·d_y`` for a chunk of points, as one small matmul (C, r) @ (r, size).

    ``d_x``/``d_y`` are None where that axis does not move ``base``; with neither, the value is
    ``base`` at every point (``varies`` is False). Called with the chunk's coefficient rows
    ``(1, αx, αy)`` (:func:`_coefficients`), of which it takes the columns its terms need.
    """

    def __init__(self, base: np.ndarray, d_x, d_y):
        self.base = base
        self.use_x, self.use_y = d_x is not None, d_y is not None
        self.stack = np.stack([t.ravel() for t in (base, d_x, d_y) if t is not None])
        # the columns of the coefficient rows (1, αx, αy) its terms take; None: all three
        self.columns = (None if self.use_x and self.use_y
                        else [0] + [1] * self.use_x + [2] * self.use_y)

    @property
    def varies(self) -> bool:
        return self.use_x or self.use_y

    @property
    def terms(self) -> int:
        return len(self.stack)

    def __call__(self, coefs: np.ndarray) -> np.ndarray:
        """Shape (C, *base.shape)."""
        c = coefs if self.columns is None else coefs[:, self.columns]
        return (c @ self.stack).reshape(coefs.shape[:1] + self.base.shape)


def _coefficients(ax: np.ndarray, ay: np.ndarray) -> np.ndarray:
    """The rows ``(1, αx, αy)`` of a chunk's points, shape (C, 3), in the dtype of ``ax``."""
    coefs = np.empty((len(ax), 3), dtype=ax.dtype)
    coefs[:, 0] = 1
    coefs[:, 1] = ax
    coefs[:, 2] = ay
    return coefs


class _FullStep:
    """A layer whose whole input differs per grid point: z = a @ W(α) + b(α), batched."""

    def __init__(self, W, b, dW_x, db_x, dW_y, db_y):
        self.W = _Affine(W, dW_x, dW_y)
        self.b = _Affine(b, db_x, db_y)

    def __call__(self, a, coefs):
        C, N, n = a.shape
        if self.W.varies:
            z = a @ self.W(coefs)
        else:                                                 # one matmul for the whole chunk
            z = (a.reshape(C * N, n) @ self.W.base).reshape(C, N, -1)
        z += self.b(coefs)[:, None, :] if self.b.varies else self.b.base
        return z


class _ConstantInputStep:
    """The first layer the axes touch, when its input is narrower than the terms of
    :class:`_PartialStep`'s expansion (e.g. the 2 inputs of the data, with both axes moving every
    column): z = a_c @ W(α) + b(α) directly, a matmul over so few inputs costing less than
    reading the precomputed z_c, g_x and g_y."""

    cols_out = None                     # every column: the layers above take the whole output

    def __init__(self, a_c, W, b, dW_x, db_x, dW_y, db_y):
        self.a_c = a_c
        self.W = _Affine(W, dW_x, dW_y)
        self.b = _Affine(b, db_x, db_y)

    def __call__(self, a, coefs):
        if self.W.varies:
            z = np.matmul(self.a_c, self.W(coefs))
        else:
            z = np.repeat((self.a_c @ self.W.base)[None], len(coefs), axis=0)
        z += self.b(coefs)[:, None, :] if self.b.varies else self.b.base
        return z


class _PartialStep:
    """A layer whose input differs from the centre in a few columns ``cols_in`` only.

    With a = a_c + Δ (Δ non-zero in ``cols_in``) and W(α) = W + αx dW_x + αy dW_y:

        z(α) = z_c + αx g_x + αy g_y + Δ[:, cols_in] @ W(α)[cols_in],   g = a_c @ dW + db

    z_c and g are computed once at the centre. In the first layer the axes touch, no input column
    changes, and only the columns ``cols_out`` that the axes move are computed (all of them if
    ``every_column``: the output layer, whose loss needs all of z). Above it, every column is
    computed, since each changed input reaches all of them.
    """

    def __init__(self, a_c, W, b, dW_x, db_x, dW_y, db_y, cols_in, every_column):
        g_x = self._derivative(a_c, W, dW_x, db_x)
        g_y = self._derivative(a_c, W, dW_y, db_y)
        self.cols_out = None            # None: all columns
        if len(cols_in) == 0 and not every_column:
            moved = np.zeros(W.shape[1], dtype=bool)
            for g in (g_x, g_y):
                if g is not None:
                    moved |= np.any(g != 0, axis=0)
            if not moved.all():
                self.cols_out = np.flatnonzero(moved)
        out = slice(None) if self.cols_out is None else self.cols_out

        def part(m):
            return None if m is None else m[cols_in][:, out]
        self.a_c = a_c[:, cols_in]
        self.z = _Affine((a_c @ W + b)[:, out], None if g_x is None else g_x[:, out],
                         None if g_y is None else g_y[:, out])
        self.W = _Affine(part(W), part(dW_x), part(dW_y))

    @staticmethod
    def _derivative(a_c, W, dW, db):
        """g = a_c @ dW + db = ∂z/∂α at the centre, or None if the axis does not touch the layer."""
        if dW is None and db is None:
            return None
        g = np.zeros((a_c.shape[0], W.shape[1]), dtype=a_c.dtype)
        if dW is not None:
            g += a_c @ dW
        if db is not None:
            g += db
        return g

    def __call__(self, a, coefs):
        k = self.a_c.shape[1]
        if k == 0:
            return self.z(coefs)
        delta = a - self.a_c
        if self.W.varies:
            z = delta @ self.W(coefs)
        elif k == 1:                 # an outer product: a broadcast product costs half the matmul
            z = delta * self.W.base[0]
        else:                                                 # one matmul for the whole chunk
            z = (delta.reshape(-1, k) @ self.W.base).reshape(delta.shape[:2] + (-1,))
        z += self.z(coefs) if self.z.varies else self.z.base
        return z


def _samples_last(m: np.ndarray) -> np.ndarray:
    """The same values with the sample axis (−2) innermost in memory.

    The loss reduces over the few output neurons (axis −1); numpy does that 4–15× faster when
    the samples, not the neurons, are contiguous.
    """
    return np.ascontiguousarray(np.swapaxes(m, -1, -2)).swapaxes(-1, -2)


class _SliceEvaluator:
    """Mean loss at θ_c + αx·d_x + αy·d_y for a chunk of points (αx, αy) at once.

    Built on the network's forward pass (``pre_activation``, ``activate``); ``k`` counts weight
    arrays, ``weights[k]`` feeding layer k + 1."""

    def __init__(self, net: Network, X: np.ndarray, T: np.ndarray, d_x, d_y, dtype):
        self.net = net
        self.T = _samples_last(T.astype(dtype))
        L = net.n_layers

        def cast(d):      # the direction's arrays in ``dtype``, None where they are zero
            return [p.astype(dtype) if p is not None and np.any(p) else None for p in d]
        d_x, d_y = cast(d_x), cast(d_y)
        touched = [any(d[m] is not None for d in (d_x, d_y) for m in (2 * k, 2 * k + 1))
                   for k in range(L)]
        self.first = touched.index(True) if any(touched) else L - 1
        # the centre's activations, up to the first touched layer (fed by weights[first])
        a_c = net.forward_to(self.first, X.astype(dtype), dtype)
        self.steps: list = []
        cols_in = np.arange(0)          # the first touched layer's input is the same everywhere
        for k in range(self.first, L):
            W, b = net.weights[k].astype(dtype), net.biases[k].astype(dtype)
            args = (W, b, d_x[2 * k], d_x[2 * k + 1], d_y[2 * k], d_y[2 * k + 1])
            if cols_in is None:
                self.steps.append(_FullStep(*args))
                continue
            step = _PartialStep(a_c, *args, cols_in=cols_in, every_column=k == L - 1)
            if len(cols_in) == 0 and step.cols_out is None and a_c.shape[1] < step.z.terms:
                step = _ConstantInputStep(a_c, *args)
            self.steps.append(step)
            cols_in = step.cols_out
            if k < L - 1:
                a_c = net.activate(k + 1, net.pre_activation(k + 1, a_c, dtype))
        # the widest array a chunk holds per point and sample
        self.width = max(net.sizes[self.first:])

    def __call__(self, ax: np.ndarray, ay: np.ndarray) -> np.ndarray:
        """Mean per-sample loss at the points (ax[c], ay[c]), shape (C,)."""
        coefs = _coefficients(ax.astype(self.T.dtype), ay.astype(self.T.dtype))
        a = None
        for k, step in enumerate(self.steps, start=self.first):
            z = step(a, coefs)
            if k < self.net.n_layers - 1:          # hidden layer k + 1, in z's own memory
                a = self.net.activate(k + 1, z, in_place=True)
        return self.net.out.loss(_samples_last(z), self.T).mean(axis=1)


def _half_spans(span, net, axes, dirs, trajectory) -> tuple[float, float]:
    """(half_x, half_y) from ``span`` (None, one float, or a pair)."""
    if span is None:
        return tuple(_default_half_span(net, a, d, trajectory) for a, d in zip(axes, dirs))
    halves = (span, span) if np.isscalar(span) else tuple(span)
    if len(halves) != 2 or not all(np.isfinite(h) and h > 0 for h in halves):
        raise ValueError(f"span must be a positive number or a pair of them, got {span!r}")
    return float(halves[0]), float(halves[1])


def compute_slice(net: Network, X, T, axis_x: Axis, axis_y: Axis, *, grid: int = 25,
                  span: float | tuple[float, float] | None = None, subsample: int | None = None,
                  seed: int = 0, trajectory=None, cancel: Callable[[], bool] | None = None,
                  progress: Callable[[float], None] | None = None,
                  max_chunk_elems: int = 1_000_000, dtype=np.float64, executor=None,
                  parts: int = 1, dirs=None) -> SurfaceSlice:
    """The loss (mean per-sample loss, as ``net.loss``) on a ``grid``×``grid`` slice.

    - ``span``: half-width of each axis around the current point, one float or (half_x, half_y);
      default: see :func:`_default_half_span` (weights ±max(2.5, 1.5·|value|), random α ∈ [−1, 1],
      PCA the trajectory's extent × 1.25). The grid is symmetric, so with an odd ``grid`` the
      middle point is exactly the current weights.
    - ``subsample``: evaluate on that many samples (:func:`sample_indices` with ``seed``).
    - ``trajectory``: (K, P) flattened parameters recorded in training, for PCA axes.
    - ``cancel()`` is asked before every chunk; True stops and returns ``complete=False`` with NaN
      where nothing was computed. ``progress(fraction)`` is called after every chunk.
    - ``max_chunk_elems`` bounds the size of the chunk arrays: C·N·width ≤ max_chunk_elems.
      The default (8 MB arrays in float64) measured fastest: 4 M elements was up to 2× slower
      (every chunk array is then freshly mapped memory), and it keeps ``cancel`` responsive.
    - ``dtype``: float64 (default) matches ``net.loss`` to rounding; float32 is about twice as
      fast and good to about 1e-6 relative, plenty for a picture.
    - ``executor`` (e.g. a ``concurrent.futures.ThreadPoolExecutor``) with ``parts`` > 1: the
      chunks are dealt into ``parts`` interleaved shares evaluated by ``executor.map``; numpy's
      matrix products release the interpreter lock, so two shares on two cores take about half
      the time. The values are the same as computed in one share. ``progress`` is then called from
      the executor's threads.
    - ``dirs``: the slice's directions when the caller has them already (from
      :func:`slice_directions` with the same axes and trajectory, dense or sparse); computed
      (sparse) when None.

    The network is not modified.
    """
    if grid < 2:
        raise ValueError(f"a slice needs a grid of at least 2×2 points, got {grid}")
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    if len(X) == 0:
        raise ValueError("a slice needs at least one sample")
    rows = sample_indices(len(X), subsample, seed)
    X, T = X[rows], T[rows]
    axes = (axis_x, axis_y)
    if dirs is None:
        dirs = slice_directions(net, axis_x, axis_y, trajectory, sparse=True)
    half_x, half_y = _half_spans(span, net, axes, dirs, trajectory)
    unit = (np.arange(grid) - (grid - 1) / 2) / ((grid - 1) / 2)   # symmetric, exactly 0 mid-grid
    ax, ay = half_x * unit, half_y * unit
    center = (_center_coordinate(net, axis_x), _center_coordinate(net, axis_y))

    evaluator = _SliceEvaluator(net, X, T, *dirs, dtype=dtype)
    loss = np.full(grid * grid, np.nan)       # flat index k = iy·grid + ix
    chunk = max(1, max_chunk_elems // (len(X) * evaluator.width))
    starts = list(range(0, grid * grid, chunk))
    errstate = np.geterr()       # the caller's floating-point settings, for every share's thread

    def run(share) -> bool:
        """Evaluate the chunks starting at ``share``; False if cancelled before the end."""
        with np.errstate(**dict(errstate, over="ignore")):
            for start in share:
                if cancel is not None and cancel():
                    return False
                k = np.arange(start, min(start + chunk, grid * grid))
                loss[k] = evaluator(ax[k % grid], ay[k // grid])
                if progress is not None:
                    progress((k[-1] + 1) / (grid * grid))
        return True

    if executor is None or parts <= 1 or len(starts) < 2:
        complete = run(starts)
    else:
        complete = all(list(executor.map(run, [starts[i::parts] for i in range(parts)])))
    xs, ys, loss = center[0] + ax, center[1] + ay, loss.reshape(grid, grid)
    for array in (xs, ys, loss):
        array.setflags(write=False)          # a slice is a snapshot: it may cross threads
    return SurfaceSlice(xs=xs, ys=ys, loss=loss, center=center, axis_x=axis_x, axis_y=axis_y,
                        n_samples=len(X), complete=complete)


def project_trajectory(trajectory, net: Network, axis_x: Axis, axis_y: Axis,
                       dirs=None) -> np.ndarray:
    """Coordinates (K, 2) of recorded weights on the axes of a slice.

    A weight or bias axis gives the parameter's recorded values. Direction axes give the
    least-squares coefficients of θ_k − θ_current on the slice's two directions (``dirs`` as from
    :func:`slice_directions`, computed when None), so the current weights map to ``center``.
    """
    offsets = _trajectory_offsets(trajectory, net)
    if dirs is None:
        dirs = slice_directions(net, axis_x, axis_y, trajectory)
    basis = np.stack([flat_direction(d, net) for d in dirs], axis=1)                   # (P, 2)
    coords = np.linalg.lstsq(basis, offsets.T, rcond=None)[0].T                          # (K, 2)
    for col, axis in enumerate((axis_x, axis_y)):
        if axis.is_parameter:
            coords[:, col] = np.asarray(trajectory, dtype=float)[:, _flat_index(net, axis)]
    return coords
