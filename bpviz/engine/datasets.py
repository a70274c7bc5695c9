"""Seeded toy datasets: the classic Gaussian clouds, the TensorFlow-Playground-style shapes, iris.

``generate(name, ...)`` returns a :class:`~bpviz.engine.data.Dataset`. Every generator takes a
number of samples, a noise level and a test fraction, and draws from one random stream:

* the data is drawn from ``rng`` when it is given (a ``numpy.random.RandomState``), which is left
  positioned right after the data draws so that the caller draws the initial weights next from the
  same stream, as the classic numpy example does; otherwise from ``RandomState(seed)``;
* every generator draws the same amount of numbers whatever the noise (noise 0 still draws it and
  multiplies it by 0), so the weights that follow do not depend on the noise;
* the train/test split draws nothing from that stream: it permutes the rows with
  ``RandomState(seed + 7919)`` (:func:`bpviz.engine.csvdata.split_indices`). With test fraction 0
  every row trains, in the generated order, and ``X_test`` has shape (0, d).

Classification data comes with balanced classes (sizes differ by at most one), labels 0..k−1 in
blocks, class names ``"0"``, ``"1"``, ...; regression targets have shape (N, 1). Inputs lie roughly
in [-3, 3], and the noise is in the data's units: the standard deviation of Gaussian jitter added
to every input (to the target, for regression). ``dataset.params`` records the name, number of
samples, noise, test fraction and seed, so that ``generate(**dataset.params)`` — with the same
``rng`` state when one was given — makes the same data again.

Generators (see each ``_draw_*`` function for the recipe):

=================  ================================================================================
gaussian-clouds    the classic example: three unit Gaussians around (0,−2), (2,2), (−2,2); noise is
                   their standard deviation (default 1)
xor                points in the four quadrants of [−3, 3]², away from the axes; class 1 where x·y>0
circles            a disc (class 0) inside a ring (class 1)
moons              two interleaving half circles
spiral, spiral3    two or three interleaved spiral arms
plane              regression: t = 0.5·x₁ − 0.3·x₂ on [−3, 3]²
sine               regression: t = sin x on [−π, π]
iris               Fisher's 150 irises (resources/iris.csv), standardised with the training rows'
                   statistics; noise is jitter in centimetres added before standardising
=================  ================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable

import numpy as np

from .csvdata import check_split_args, load_csv, split_indices, zscore
from .data import CLASSIFICATION, REGRESSION, Dataset
from .errors import ConfigError, DataError
from ..resources import resource_dir

RESOURCES_DIR = resource_dir()
MAX_SAMPLES = 1_000_000

CLOUD_CENTRES = ((0.0, -2.0), (2.0, 2.0), (-2.0, 2.0))
XOR_HALF_WIDTH, XOR_GAP = 3.0, 0.3
CIRCLES_INNER, CIRCLES_OUTER = (0.0, 1.25), (1.75, 2.5)     # radius ranges of the two classes
MOONS_SCALE, MOONS_SHIFT = 1.5, (-0.5, -0.25)               # centres the unit moons, then scales
SPIRAL_RADIUS = 3.0
PLANE_COEFFICIENTS = (0.5, -0.3)
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")

Draw = Callable[[np.random.RandomState, int, float], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Generator:
    """One dataset recipe: ``draw(rng, n_samples, noise) -> (X, y)`` and its defaults."""

    name: str
    task: str
    draw: Draw
    n_samples: int
    noise: float
    test_fraction: float
    seed: int
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ("x1", "x2")
    target_names: tuple[str, ...] = ()
    fixed_size: bool = False            # a real dataset: n_samples cannot change
    standardized: bool = False          # z-score the features with the training statistics

    @property
    def min_samples(self) -> int:
        """Two samples per class; four for regression."""
        return 2 * max(len(self.class_names), 2)

    def defaults(self) -> dict:
        return {"n_samples": self.n_samples, "noise": self.noise,
                "test_fraction": self.test_fraction, "seed": self.seed}


def _class_sizes(n: int, k: int) -> list[int]:
    """``n`` samples over ``k`` classes, the first ones taking one more when it does not divide."""
    return [n // k + (c < n % k) for c in range(k)]


def _blocks(sizes: list[int]) -> np.ndarray:
    """Labels 0, 1, ... repeated ``sizes[c]`` times each."""
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _draw_gaussian_clouds(rng, n, noise):
    """The classic recipe: ``X_c = rng.randn(n_c, 2) · noise + centre_c`` class after class.

    With noise 1 this is bit for bit ``rng.randn(n_c, 2) + centre_c``: multiplying by 1.0 is exact.
    """
    sizes = _class_sizes(n, len(CLOUD_CENTRES))
    X = np.vstack([rng.randn(m, 2) * noise + centre for m, centre in zip(sizes, CLOUD_CENTRES)])
    return X, _blocks(sizes)


def _draw_xor(rng, n, noise):
    """|x|, |y| uniform in [0.3, 3]; class 1 on the diagonal x·y > 0, class 0 off it."""
    parts = []
    for label, m in enumerate(_class_sizes(n, 2)):
        magnitude = rng.uniform(XOR_GAP, XOR_HALF_WIDTH, size=(m, 2))
        sign = rng.randint(2, size=m) * 2.0 - 1.0          # which of the class's two quadrants
        quadrant = np.column_stack([sign, sign if label == 1 else -sign])
        parts.append(magnitude * quadrant + noise * rng.randn(m, 2))
    return np.vstack(parts), _blocks(_class_sizes(n, 2))


def _draw_circles(rng, n, noise):
    """Uniform angle; radius uniform in [0, 1.25] (class 0, disc) or [1.75, 2.5] (class 1, ring)."""
    parts = []
    for (lo, hi), m in zip((CIRCLES_INNER, CIRCLES_OUTER), _class_sizes(n, 2)):
        radius = rng.uniform(lo, hi, size=m)
        angle = rng.uniform(0.0, 2 * np.pi, size=m)
        ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        parts.append(ring + noise * rng.randn(m, 2))
    return np.vstack(parts), _blocks(_class_sizes(n, 2))


def _draw_moons(rng, n, noise):
    """Upper moon (cos t, sin t) and lower moon (1 − cos t, ½ − sin t), t uniform in [0, π].

    Shifted by (−½, −¼) to centre them and scaled by 1.5: x in [−2.25, 2.25], y in [−1.1, 1.1].
    """
    parts = []
    for label, m in enumerate(_class_sizes(n, 2)):
        t = rng.uniform(0.0, np.pi, size=m)
        if label == 0:
            moon = np.column_stack([np.cos(t), np.sin(t)])
        else:
            moon = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
        parts.append((moon + MOONS_SHIFT) * MOONS_SCALE + noise * rng.randn(m, 2))
    return np.vstack(parts), _blocks(_class_sizes(n, 2))


def _spiral(arms: int, turns: float) -> Draw:
    """Arms k = 0..arms−1: s uniform in [0, 1], radius 3·s, angle 2π·(turns·s + k/arms)."""
    def draw(rng, n, noise):
        parts = []
        for k, m in enumerate(_class_sizes(n, arms)):
            s = rng.uniform(0.0, 1.0, size=m)
            radius = SPIRAL_RADIUS * s
            angle = 2 * np.pi * (turns * s + k / arms)
            arm = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
            parts.append(arm + noise * rng.randn(m, 2))
        return np.vstack(parts), _blocks(_class_sizes(n, arms))
    return draw


def _draw_plane(rng, n, noise):
    """x uniform in [−3, 3]², target 0.5·x₁ − 0.3·x₂ + noise·N(0, 1), shape (n, 1)."""
    X = rng.uniform(-3.0, 3.0, size=(n, 2))
    t = X @ np.array(PLANE_COEFFICIENTS) + noise * rng.randn(n)
    return X, t.reshape(n, 1)


def _draw_sine(rng, n, noise):
    """x uniform in [−π, π], shape (n, 1); target sin x + noise·N(0, 1), shape (n, 1)."""
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    return x, np.sin(x) + noise * rng.randn(n, 1)


def _draw_iris(rng, n, noise):
    """The 150 rows of the iris.csv bpviz ships (``resources/``) in file order, plus noise·N(0, 1) centimetres."""
    data = load_csv(RESOURCES_DIR / "iris.csv", label="species", task=CLASSIFICATION)
    if (len(data.X_train) != n or data.feature_names != IRIS_FEATURES
            or data.class_names != IRIS_CLASSES):
        raise DataError(f"{data.source}: not the iris data bpviz ships; reinstall bpviz")
    return data.X_train + noise * rng.randn(*data.X_train.shape), data.y_train


def _classes(k: int) -> tuple[str, ...]:
    return tuple(str(c) for c in range(k))


GENERATORS: dict[str, Generator] = {g.name: g for g in (
    Generator("gaussian-clouds", CLASSIFICATION, _draw_gaussian_clouds, n_samples=1500, noise=1.0,
              test_fraction=0.0, seed=1, class_names=_classes(3)),
    Generator("xor", CLASSIFICATION, _draw_xor, n_samples=400, noise=0.1, test_fraction=0.2,
              seed=0, class_names=_classes(2)),
    Generator("circles", CLASSIFICATION, _draw_circles, n_samples=400, noise=0.1,
              test_fraction=0.2, seed=0, class_names=_classes(2)),
    Generator("moons", CLASSIFICATION, _draw_moons, n_samples=400, noise=0.15, test_fraction=0.2,
              seed=0, class_names=_classes(2)),
    Generator("spiral", CLASSIFICATION, _spiral(arms=2, turns=1.75), n_samples=400, noise=0.1,
              test_fraction=0.2, seed=0, class_names=_classes(2)),
    Generator("spiral3", CLASSIFICATION, _spiral(arms=3, turns=1.25), n_samples=450, noise=0.1,
              test_fraction=0.2, seed=0, class_names=_classes(3)),
    Generator("plane", REGRESSION, _draw_plane, n_samples=300, noise=0.1, test_fraction=0.2,
              seed=0, target_names=("t",)),
    Generator("sine", REGRESSION, _draw_sine, n_samples=200, noise=0.1, test_fraction=0.2, seed=0,
              feature_names=("x",), target_names=("t",)),
    Generator("iris", CLASSIFICATION, _draw_iris, n_samples=150, noise=0.0, test_fraction=0.2,
              seed=0, class_names=IRIS_CLASSES, feature_names=IRIS_FEATURES, fixed_size=True,
              standardized=True),
)}


def _generator(name) -> Generator:
    try:
        return GENERATORS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(GENERATORS)}") \
            from None


def default_params(name: str) -> dict:
    """The defaults of generator ``name``: n_samples, noise, test_fraction and seed."""
    return _generator(name).defaults()


def _check(gen: Generator, n_samples, noise, rng) -> None:
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool):
        raise ConfigError(f"number of samples must be a whole number, got {n_samples!r}")
    if gen.fixed_size and n_samples != gen.n_samples:
        raise ConfigError(f"{gen.name} has exactly {gen.n_samples} samples, got {n_samples}")
    if not gen.min_samples <= n_samples <= MAX_SAMPLES:
        raise ConfigError(f"{gen.name} needs from {gen.min_samples} to {MAX_SAMPLES:,} samples, "
                          f"got {n_samples}")
    if (not isinstance(noise, Real) or isinstance(noise, bool) or not math.isfinite(noise)
            or noise < 0):
        raise ConfigError(f"noise must be a finite number ≥ 0, got {noise!r}")
    if rng is not None and not isinstance(rng, np.random.RandomState):
        raise ConfigError(f"rng must be a numpy.random.RandomState, got {type(rng).__name__}")


def generate(name: str, *, n_samples: int | None = None, noise: float | None = None,
             test_fraction: float | None = None, seed: int | None = None,
             rng: np.random.RandomState | None = None) -> Dataset:
    """Generate dataset ``name``; arguments left as None take the generator's defaults.

    The data is drawn from ``rng`` if given (left right after the data draws), else from
    ``RandomState(seed)``; the split uses ``RandomState(seed + 7919)`` and draws nothing from
    ``rng``. Raises ``ConfigError`` for an unknown name or an argument out of range.
    """
    gen = _generator(name)
    n_samples = gen.n_samples if n_samples is None else n_samples
    noise = gen.noise if noise is None else noise
    test_fraction = gen.test_fraction if test_fraction is None else test_fraction
    seed = gen.seed if seed is None else seed
    _check(gen, n_samples, noise, rng)
    check_split_args(test_fraction, seed)
    if rng is None:
        rng = np.random.RandomState(seed)

    X, y = gen.draw(rng, int(n_samples), float(noise))
    train, test = split_indices(len(X), float(test_fraction), seed)
    X_train, X_test = X[train], X[test]
    if gen.standardized:
        X_train, X_test = zscore(X_train, X_test)
    return Dataset(
        name=gen.name, task=gen.task, X_train=X_train, y_train=y[train], X_test=X_test,
        y_test=y[test], class_names=gen.class_names, feature_names=gen.feature_names,
        target_names=gen.target_names,
        params={"name": gen.name, "n_samples": int(n_samples), "noise": float(noise),
                "test_fraction": float(test_fraction), "seed": int(seed)},
    )
