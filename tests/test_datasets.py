"""The seeded dataset generators of bpviz.engine.datasets."""

import numpy as np
import pytest

from bpviz.engine import datasets
from bpviz.engine.datasets import GENERATORS, RESOURCES_DIR, default_params, generate
from bpviz.engine.errors import ConfigError

NAMES = list(GENERATORS)
CLASSIFIERS = [n for n in NAMES if GENERATORS[n].task == "classification"]
REGRESSIONS = [n for n in NAMES if GENERATORS[n].task == "regression"]
SYNTHETIC = [n for n in NAMES if n != "iris"]


def classic_clouds(rng):
    """The classic numpy example's data, written out independently."""
    X1 = rng.randn(500, 2) + np.array([0, -2])
    X2 = rng.randn(500, 2) + np.array([2, 2])
    X3 = rng.randn(500, 2) + np.array([-2, 2])
    return np.vstack([X1, X2, X3]), np.array([0] * 500 + [1] * 500 + [2] * 500)


def all_labels(d):
    return np.concatenate([d.y_train, d.y_test])


# --- the classic example --------------------------------------------------------------------------

def test_gaussian_clouds_is_the_classic_example():
    X, labels = classic_clouds(np.random.RandomState(1))
    d = generate("gaussian-clouds")
    assert np.array_equal(d.X_train, X)
    assert np.array_equal(d.y_train, labels)
    assert d.X_test.shape == (0, 2) and d.y_test.shape == (0,)
    assert d.task == "classification" and len(d.class_names) == 3
    assert default_params("gaussian-clouds") == {"n_samples": 1500, "noise": 1.0,
                                                 "test_fraction": 0.0, "seed": 1}


def test_gaussian_clouds_leaves_rng_where_the_classic_code_draws_w1():
    classic = np.random.RandomState(1)
    X, _ = classic_clouds(classic)
    rng = np.random.RandomState(1)
    d = generate("gaussian-clouds", rng=rng)
    assert np.array_equal(d.X_train, X)
    assert np.array_equal(rng.randn(2, 3), classic.randn(2, 3))      # W1
    assert np.array_equal(rng.randn(3), classic.randn(3))            # b1


# --- every generator ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_params(name):
    d = generate(name)
    defaults = default_params(name)
    assert set(defaults) == {"n_samples", "noise", "test_fraction", "seed"}
    assert d.params == {"name": name, **defaults}
    assert d.name == name and d.source == ""
    again = generate(**d.params)
    assert np.array_equal(again.X_train, d.X_train) and np.array_equal(again.y_test, d.y_test)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_data(name):
    a, b = generate(name, seed=5), generate(name, seed=5)
    for field in ("X_train", "y_train", "X_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("name", NAMES)
def test_different_seed_different_data(name):
    a, b = generate(name, seed=5), generate(name, seed=6)
    assert not np.array_equal(a.X_train, b.X_train)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_given_rng_is_used_and_left_after_the_data(name):
    rng = np.random.RandomState(42)
    d = generate(name, rng=rng, seed=42)      # the seed still chooses the split
    same = generate(name, seed=42)
    assert np.array_equal(d.X_train, same.X_train) and np.array_equal(d.X_test, same.X_test)
    stream = np.random.RandomState(42)
    GENERATORS[name].draw(stream, d.params["n_samples"], d.params["noise"])
    assert np.array_equal(rng.randn(5), stream.randn(5))


@pytest.mark.parametrize("name", NAMES)
def test_split_draws_nothing_from_rng(name):
    after = []
    for test_fraction in (0.0, 0.5):
        rng = np.random.RandomState(3)
        generate(name, test_fraction=test_fraction, rng=rng)
        after.append(rng.randn(4))
    assert np.array_equal(*after)


@pytest.mark.parametrize("name", NAMES)
def test_rng_position_does_not_depend_on_noise(name):
    after = []
    for noise in (0.0, 0.7):
        rng = np.random.RandomState(3)
        generate(name, noise=noise, rng=rng)
        after.append(rng.randn(4))
    assert np.array_equal(*after)


@pytest.mark.parametrize("name", NAMES)
def test_shapes(name):
    d = generate(name)
    n, k = d.params["n_samples"], d.n_features
    assert len(d.X_train) + len(d.X_test) == n
    assert d.X_train.shape[1] == d.X_test.shape[1] == k == len(d.feature_names)
    assert d.X_train.dtype == float and np.isfinite(d.X_all).all()
    if d.is_classification:
        assert d.y_train.shape == (len(d.X_train),) and d.y_test.shape == (len(d.X_test),)
        assert d.y_train.dtype.kind == "i"
    else:
        assert d.y_train.shape == (len(d.X_train), 1) and d.y_test.shape == (len(d.X_test), 1)
        assert d.n_outputs == 1 == len(d.target_names)


@pytest.mark.parametrize("name, n_samples", [(name, n) for name in CLASSIFIERS for n in (None, 301)
                                              if n is None or not GENERATORS[name].fixed_size])
def test_balanced_classes_and_label_range(name, n_samples):
    d = generate(name, n_samples=n_samples)
    counts = np.bincount(all_labels(d), minlength=len(d.class_names))
    assert len(counts) == len(d.class_names) >= 2
    assert counts.sum() == d.params["n_samples"]
    assert counts.max() - counts.min() <= 1
    assert set(all_labels(d)) == set(range(len(d.class_names)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("test_fraction", [0.0, 0.25, 0.9])
def test_test_fraction(name, test_fraction):
    d = generate(name, test_fraction=test_fraction)
    n = d.params["n_samples"]
    assert len(d.X_test) == round(test_fraction * n)
    assert len(d.X_train) == n - len(d.X_test)
    whole = generate(name, test_fraction=0.0)
    if not GENERATORS[name].standardized:      # standardising depends on which rows train
        # the split only reorders the rows: same rows, none lost or repeated
        assert np.array_equal(np.sort(d.X_all, axis=0), np.sort(whole.X_train, axis=0))
    assert np.array_equal(np.sort(all_labels(d), axis=0), np.sort(whole.y_train, axis=0))


@pytest.mark.parametrize("name", NAMES)
def test_no_test_rows_keeps_the_generated_order(name):
    d = generate(name, test_fraction=0.0)
    assert d.X_test.shape == (0, d.n_features)
    if d.is_classification:
        assert np.all(np.diff(d.y_train) >= 0)          # labels in blocks 0, 1, 2, ...


@pytest.mark.parametrize("name", SYNTHETIC)
def test_noise_is_gaussian_jitter_of_that_spread(name):
    """Same seed: the positions are drawn identically and the noise adds noise · N(0, 1)."""
    clean = generate(name, noise=0.0, test_fraction=0.0, n_samples=3000)
    noisy = generate(name, noise=0.5, test_fraction=0.0, n_samples=3000)
    if clean.is_classification:
        jitter = noisy.X_train - clean.X_train
    else:
        assert np.array_equal(noisy.X_train, clean.X_train)
        jitter = noisy.y_train - clean.y_train
    assert jitter.std() == pytest.approx(0.5, rel=0.05)
    assert abs(jitter.mean()) < 0.05


def test_noise_free_regression_is_the_formula():
    plane = generate("plane", noise=0.0)
    a, b = datasets.PLANE_COEFFICIENTS
    assert np.allclose(plane.y_train[:, 0], a * plane.X_train[:, 0] + b * plane.X_train[:, 1])
    sine = generate("sine", noise=0.0)
    assert np.allclose(sine.y_train, np.sin(sine.X_train))
    assert sine.X_all.min() >= -np.pi and sine.X_all.max() <= np.pi


@pytest.mark.parametrize("name", SYNTHETIC)
def test_inputs_are_in_a_small_range(name):
    limit = 6.0 if name == "gaussian-clouds" else 3.5
    assert np.abs(generate(name).X_all).max() < limit


@pytest.mark.parametrize("name", ["xor", "circles"])
def test_noise_free_shapes_are_separable(name):
    d = generate(name, noise=0.0, test_fraction=0.0)
    X, y = d.X_train, d.y_train
    if name == "xor":
        assert np.array_equal(y == 1, X[:, 0] * X[:, 1] > 0)
    else:
        r = np.hypot(X[:, 0], X[:, 1])
        assert r[y == 0].max() < r[y == 1].min()


# --- iris -----------------------------------------------------------------------------------------

def test_iris():
    d = generate("iris")
    assert len(d.X_train) + len(d.X_test) == 150
    assert d.n_features == 4
    assert d.class_names == ("setosa", "versicolor", "virginica")
    assert np.array_equal(np.bincount(all_labels(d)), [50, 50, 50])
    assert d.feature_names == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert len(d.X_test) == 30
    assert np.allclose(d.X_train.mean(axis=0), 0) and np.allclose(d.X_train.std(axis=0), 1)


def test_iris_resource_is_fishers_data():
    lines = (RESOURCES_DIR / "iris.csv").read_text().splitlines()
    assert lines[0] == "sepal_length,sepal_width,petal_length,petal_width,species"
    assert len(lines) == 151
    assert lines[1] == "5.1,3.5,1.4,0.2,setosa"
    assert lines[-1] == "5.9,3.0,5.1,1.8,virginica"
    X = np.array([[float(v) for v in line.split(",")[:4]] for line in lines[1:]])
    assert np.allclose(X.mean(axis=0), [5.843333, 3.057333, 3.758, 1.199333], atol=1e-5)


def test_iris_has_a_fixed_size():
    with pytest.raises(ConfigError, match="exactly 150"):
        generate("iris", n_samples=100)


# --- arguments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"name": "nope"}, "unknown dataset 'nope'"),
    ({"name": "xor", "n_samples": 3}, "from 4 "),
    ({"name": "spiral3", "n_samples": 5}, "from 6 "),
    ({"name": "sine", "n_samples": 3}, "from 4 "),
    ({"name": "xor", "n_samples": 10 ** 7}, "1,000,000"),
    ({"name": "xor", "n_samples": 100.0}, "whole number"),
    ({"name": "xor", "n_samples": True}, "whole number"),
    ({"name": "xor", "noise": -0.1}, "noise"),
    ({"name": "xor", "noise": float("nan")}, "noise"),
    ({"name": "xor", "noise": "0.1"}, "noise"),
    ({"name": "xor", "test_fraction": 0.95}, "test fraction"),
    ({"name": "xor", "test_fraction": -0.1}, "test fraction"),
    ({"name": "xor", "seed": -1}, "seed"),
    ({"name": "xor", "seed": 2 ** 32}, "seed"),
    ({"name": "xor", "rng": np.random.default_rng(0)}, "RandomState"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        generate(**kwargs)


def test_default_params_of_unknown_name():
    with pytest.raises(ConfigError, match="unknown dataset"):
        default_params("nope")


def test_smallest_sizes_work():
    for name in SYNTHETIC:
        gen = GENERATORS[name]
        d = generate(name, n_samples=gen.min_samples, test_fraction=0.9)
        assert len(d.X_train) >= 1
