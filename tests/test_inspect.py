"""The inspector's numbers against a forward/backward pass written out by hand in this file.

Nothing here calls ``Network.backprop`` or ``Network.forward`` for the reference values: the
reference is plain numpy (and, for the pinned sample, plain Python loops over scalars).
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from bpviz.engine.gradcheck import kink_free_samples
from bpviz.engine.inspect import (SATURATION_FPRIME, delta_table, fmt, inspect_neuron)
from bpviz.engine.network import Network

RTOL = 1e-12
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- the reference: forward and backward written out ------------------------------------------

def f_hidden(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    raise AssertionError(name)


def df_hidden(name, z):
    """f′(z) from z alone (not from a), so it is computed independently of the engine."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 / np.cosh(z) ** 2
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01)
    raise AssertionError(name)


def f_output(name, z):
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    return z


def reference(net, X, T):
    """zs[l], as[l], ds[l] indexed by the diagram's layer number (zs[0] = ds[0] = None)."""
    Ws = [np.array(W) for W in net.weights]
    bs = [np.array(b) for b in net.biases]
    names = [a.name for a in net.hidden_activations]
    L = len(Ws)
    a_s, z_s = [X], [None]
    for l in range(1, L + 1):
        z = np.einsum("ni,ij->nj", a_s[-1], Ws[l - 1]) + bs[l - 1]
        z_s.append(z)
        a_s.append(f_hidden(names[l - 1], z) if l < L else f_output(net.out.name, z))
    d_s = [None] * (L + 1)
    d_s[L] = a_s[L] - T
    for l in range(L - 1, 0, -1):
        back = np.einsum("nk,jk->nj", d_s[l + 1], Ws[l])
        d_s[l] = df_hidden(names[l - 1], z_s[l]) * back
    return z_s, a_s, d_s


def scalar_sample(net, x, t):
    """z, a, δ of one sample with Python loops over scalars (per layer, lists of floats)."""
    Ws = [np.array(W).tolist() for W in net.weights]
    bs = [np.array(b).tolist() for b in net.biases]
    names = [a.name for a in net.hidden_activations]
    L = len(Ws)
    a = [list(map(float, x))]
    z = [None]
    for l in range(1, L + 1):
        W, b = Ws[l - 1], bs[l - 1]
        zl = [math.fsum(a[l - 1][i] * W[i][j] for i in range(len(W))) + b[j] for j in range(len(b))]
        z.append(zl)
        if l < L:
            al = [float(f_hidden(names[l - 1], np.float64(v))) for v in zl]
        elif net.out.name == "softmax":
            m = max(zl)
            e = [math.exp(v - m) for v in zl]
            s = math.fsum(e)
            al = [v / s for v in e]
        else:
            al = [float(f_output(net.out.name, np.float64(v))) for v in zl]
        a.append(al)
    d = [None] * (L + 1)
    d[L] = [a[L][k] - float(t[k]) for k in range(len(a[L]))]
    for l in range(L - 1, 0, -1):
        W = Ws[l]
        d[l] = [float(df_hidden(names[l - 1], np.float64(z[l][j])))
                * math.fsum(W[j][k] * d[l + 1][k] for k in range(len(d[l + 1])))
                for j in range(len(z[l]))]
    return z, a, d


def close(x, ref, rtol=RTOL, scale=0.0):
    """|x − ref| ≤ rtol · max(|ref|, scale); ``scale`` is the size of the terms a sum cancelled."""
    assert x is not None
    tol = rtol * max(abs(ref), scale, 1e-300)
    assert abs(x - ref) <= tol, f"{x!r} vs reference {ref!r} (difference {abs(x - ref):.3g})"


# -- runs -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def classic():
    from bpviz.engine.config import Config, build
    cfg = Config.preset("gaussian-clouds")
    ds, net, trainer = build(cfg)
    trainer.run(epochs=10)
    return net, trainer


@pytest.fixture(scope="module")
def deep():
    """A deeper 2-5-4-3 tanh/relu network on the gaussian clouds, a few epochs in."""
    from bpviz.engine.config import Config, build
    cfg = Config.preset("gaussian-clouds")
    cfg.hidden, cfg.activation, cfg.init, cfg.lr = (5, 4), ("tanh", "relu"), "xavier", 0.5
    ds, net, trainer = build(cfg)
    trainer.run(epochs=5)
    assert net.sizes == [2, 5, 4, 3]
    return net, trainer


def all_neurons(net):
    return [(l, j) for l in range(len(net.sizes)) for j in range(net.sizes[l])]


def check_report(net, X, T, layer, j, sample, last_update=None):
    r = inspect_neuron(net, X, T, layer, j, sample=sample, last_update=last_update)
    z_s, a_s, d_s = reference(net, X, T)
    zs, as_, ds = scalar_sample(net, X[sample], T[sample])
    N = len(X)
    L = len(net.sizes) - 1
    assert (r.layer, r.index, r.sample, r.n_samples) == (layer, j, sample, N)
    assert r.is_input == (layer == 0) and r.is_output == (layer == L)

    # the pinned sample: scalar loops
    close(r.a, as_[layer][j])
    close(r.a_mean, float(a_s[layer][:, j].mean()))
    if layer == 0:
        assert r.z is None and r.delta is None and r.delta_mean is None
        assert r.activation == "input" and r.chain_sample.kind == "input"
        assert r.incoming == () and r.bias is None and r.fd is None
    else:
        close(r.z, zs[layer][j])
        close(r.delta, ds[layer][j], scale=1e-12)
        close(r.z_mean, float(z_s[layer][:, j].mean()), scale=float(np.abs(z_s[layer][:, j]).mean()))
        close(r.delta_mean, float(d_s[layer][:, j].mean()),
              scale=float(np.abs(d_s[layer][:, j]).mean()))
        close(r.delta_mean_abs, float(np.abs(d_s[layer][:, j]).mean()))
        h = r.delta_histogram
        counts, edges = np.histogram(d_s[layer][:, j], bins=len(h.counts))
        assert sum(h.counts) == N
        np.testing.assert_allclose(h.edges, edges, rtol=1e-9, atol=1e-15)

    # the chain rule
    if 0 < layer < L:
        name = net.hidden_activations[layer - 1].name
        w = np.array(net.weights[layer][j])
        dk = np.array(ds[layer + 1])
        prods = w * dk
        cs = r.chain_sample
        assert cs.kind == "hidden" and cs.scope == "sample"
        assert [t.k for t in cs.terms] == sorted(range(len(w)), key=lambda k: (-abs(prods[k]), k))
        for t in cs.terms:
            close(t.weight, w[t.k])
            close(t.delta, dk[t.k], scale=1e-12)
            close(t.product, prods[t.k], scale=1e-12)
        close(cs.total, math.fsum(prods), scale=float(np.abs(prods).sum()))
        fp = float(df_hidden(name, np.float64(zs[layer][j])))
        close(cs.fprime, fp)
        close(r.fprime, fp)
        close(cs.result, ds[layer][j], scale=1e-12)
        close(cs.result, cs.fprime * cs.total, scale=1e-300)
        # batch: the mean error signals w_jk · mean δ_k, mean f′, mean δ
        cb = r.chain_batch
        mean_dk = d_s[layer + 1].mean(axis=0)
        for t in cb.terms:
            close(t.delta, float(mean_dk[t.k]), scale=float(np.abs(d_s[layer + 1][:, t.k]).mean()))
            close(t.product, w[t.k] * float(mean_dk[t.k]),
                  scale=abs(w[t.k]) * float(np.abs(d_s[layer + 1][:, t.k]).mean()))
        assert [abs(t.product) for t in cb.terms] == sorted((abs(t.product) for t in cb.terms),
                                                            reverse=True)
        close(cb.total, float((w * mean_dk).sum()),
              scale=float(np.abs(d_s[layer + 1]).mean(axis=0) @ np.abs(w)))
        fp_all = df_hidden(name, z_s[layer][:, j])
        close(cb.fprime, float(fp_all.mean()))
        close(cb.result, float(d_s[layer][:, j].mean()), scale=float(np.abs(d_s[layer][:, j]).mean()))
        close(cb.product_of_means, cb.fprime * cb.total, scale=1e-300)
    elif layer == L:
        cs, cb = r.chain_sample, r.chain_batch
        assert cs.kind == "output"
        close(cs.y, as_[L][j])
        assert cs.t == float(T[sample, j]) == r.t
        close(cs.result, as_[L][j] - float(T[sample, j]), scale=1.0)
        close(cb.y, float(a_s[L][:, j].mean()))
        close(cb.t, float(T[:, j].mean()))
        close(cb.result, float(d_s[L][:, j].mean()), scale=1.0)
        assert "y − t" in r.chain_rule_text()

    # incoming edges: ∂L/∂w = mean_n a_i δ_j, written as an explicit sum
    if layer > 0:
        for e in r.incoming:
            terms = a_s[layer - 1][:, e.from_] * d_s[layer][:, j]
            close(e.weight, float(net.weights[layer - 1][e.from_, j]))
            close(e.grad, math.fsum(terms) / N, scale=float(np.abs(terms).mean()))
            if last_update is not None:
                assert e.update == float(last_update[2 * (layer - 1)][e.from_, j])
            # finite differences agree with backprop
            assert abs(e.fd - e.grad) <= 1e-6 * max(abs(e.grad) + abs(e.fd), 1e-6)
        close(r.bias.grad, math.fsum(d_s[layer][:, j]) / N, scale=float(np.abs(d_s[layer][:, j]).mean()))
        close(r.bias.value, float(net.biases[layer - 1][j]))
        assert r.fd.worst < 1e-6
        assert len(r.fd.names) == net.sizes[layer - 1] + 1

    # outgoing edges: the edge signal w_jk · mean δ_k
    if layer < L:
        assert [e.to for e in r.outgoing] == list(range(net.sizes[layer + 1]))
        for e in r.outgoing:
            wjk = float(net.weights[layer][j, e.to])
            col = d_s[layer + 1][:, e.to]
            close(e.weight, wjk)
            close(e.delta, ds[layer + 1][e.to], scale=1e-12)
            close(e.delta_mean, float(col.mean()), scale=float(np.abs(col).mean()))
            close(e.signal, wjk * float(col.mean()), scale=abs(wjk) * float(np.abs(col).mean()))
            close(e.signal_sample, wjk * ds[layer + 1][e.to], scale=1e-12)
    else:
        assert r.outgoing == ()
    return r


# -- tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", [0, 777])
def test_classic_every_neuron_matches_hand_computation(classic, sample):
    net, trainer = classic
    for layer, j in all_neurons(net):
        check_report(net, trainer.X, trainer.T, layer, j, sample, last_update=trainer.last_update)


@pytest.mark.parametrize("sample", [3, 1200])
def test_deep_tanh_relu_every_neuron_matches_hand_computation(deep, sample):
    net, trainer = deep
    keep = kink_free_samples(net, trainer.X)    # finite differences are meaningless on a kink
    X, T = trainer.X[keep], trainer.T[keep]
    assert len(X) > 1300
    for layer, j in all_neurons(net):
        r = check_report(net, X, T, layer, j, sample)
        if layer > 0:
            assert r.fd.kink_samples == 0


def test_classic_fd_on_the_full_batch(classic):
    net, trainer = classic
    r = inspect_neuron(net, trainer.X, trainer.T, 1, 2)
    assert r.fd.worst < 1e-6 and r.fd.kink_samples == 0
    assert r.fd.numeric == pytest.approx(r.fd.backprop, rel=1e-6)


def test_chain_rule_text_reads_at_a_glance(classic):
    net, trainer = classic
    r = inspect_neuron(net, trainer.X, trainer.T, 1, 0, fd_check=False)
    text = r.chain_rule_text()
    assert text.startswith("δ = σ′(z)·Σ w·δ = ")
    c = r.chain_sample
    assert f"{fmt(c.fprime)} × (" in text and text.endswith(f"= {fmt(c.result)}")
    biggest = c.terms[0]
    assert text.index(fmt(biggest.delta).lstrip("−")) < text.index(fmt(c.terms[-1].delta).lstrip("−"))
    batch = r.chain_rule_text("batch")
    assert "mean of products is not the product of means" in batch
    assert r.fd is None and all(e.fd is None for e in r.incoming)
    full = r.to_text()
    for t in c.terms:
        assert fmt(t.product) in full


def test_delta_table_matches_hand_computation(deep):
    net, trainer = deep
    X, T = trainer.X, trainer.T
    _, _, d_s = reference(net, X, T)
    _, _, ds = scalar_sample(net, X[5], T[5])
    batch = delta_table(net, X, T)
    one = delta_table(net, X, T, sample=5)
    assert batch.scope == "batch" and one.scope == "sample" and one.sample == 5
    assert [ld.layer for ld in batch.layers] == [1, 2, 3]
    assert [ld.activation for ld in batch.layers] == ["tanh", "relu", "softmax"]
    for ld_b, ld_s in zip(batch.layers, one.layers):
        l = ld_b.layer
        for j in range(net.sizes[l]):
            col = d_s[l][:, j]
            close(float(ld_b.delta[j]), float(col.mean()), scale=float(np.abs(col).mean()))
            close(float(ld_s.delta[j]), ds[l][j], scale=1e-12)
    json.dumps(batch.to_dict())


def test_dead_relu_flag():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (200, 2))
    T = np.eye(2)[rng.randint(0, 2, 200)]
    for act in ("relu", "leaky_relu"):
        net = Network([2, 3, 2], act, "softmax", seed=1)
        net.biases[0][:] = [1.0, -100.0, 0.0]     # neuron 1: z ≤ 0 for every sample
        r = inspect_neuron(net, X, T, 1, 1)
        assert r.dead and not r.saturated
        assert not inspect_neuron(net, X, T, 1, 0).dead
        table = delta_table(net, X, T)
        assert table.layers[0].dead.tolist() == [False, True, False]
        assert not table.layers[1].dead.any()
        assert table.flagged() == [(1, 1, "dead")]
        assert delta_table(net, X, T, sample=7).layers[0].dead.tolist() == [False, True, False]
        if act == "relu":
            assert r.delta == 0 and r.delta_mean == 0
            assert all(e.grad == 0 for e in r.incoming) and r.bias.grad == 0
        else:
            assert r.delta != 0      # the leak passes 0.01 of the error


def test_saturated_sigmoid_and_tanh_flags():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (400, 2))
    T = np.eye(2)[rng.randint(0, 2, 400)]
    for act, thresh in (("sigmoid", 4.7), ("tanh", 3.0)):
        net = Network([2, 3, 2], act, "softmax", seed=1)
        net.weights[0][:] = [[0.0, 0.1, 10.0], [0.0, 0.1, 0.0]]
        net.biases[0][:] = [30.0, 0.0, 0.0]       # neuron 0 saturated everywhere, 1 nowhere,
        r0 = inspect_neuron(net, X, T, 1, 0)       # neuron 2 (z = 10·x0) on about half
        r1 = inspect_neuron(net, X, T, 1, 1)
        r2 = inspect_neuron(net, X, T, 1, 2)
        assert r0.saturated and r0.saturated_sample and r0.fprime < SATURATION_FPRIME
        assert not r1.saturated and not r1.saturated_sample
        assert not r2.saturated                     # not for ≥ 95 % of the samples
        table = delta_table(net, X, T)
        assert table.layers[0].saturated.tolist() == [True, False, False]
        assert not table.layers[0].dead.any()
        far = int(np.argmax(np.abs(X[:, 0])))      # |z| = 10·|x0| ≈ 10: saturated
        near = int(np.argmin(np.abs(X[:, 0])))     # z ≈ 0: not
        assert abs(10 * X[far, 0]) > thresh
        assert delta_table(net, X, T, sample=far).layers[0].saturated.tolist() == [True, False, True]
        assert delta_table(net, X, T, sample=near).layers[0].saturated.tolist() == [True, False, False]
        assert inspect_neuron(net, X, T, 1, 2, sample=far).saturated_sample


def test_output_pairs_give_y_minus_t():
    rng = np.random.RandomState(2)
    X = rng.randn(50, 3)
    for out, T in (("sigmoid", (rng.rand(50, 2) > 0.5).astype(float)), ("linear", rng.randn(50, 2))):
        net = Network([3, 4, 2], "tanh", out, seed=3)
        r = inspect_neuron(net, X, T, 2, 1, sample=4)
        _, a_s, d_s = reference(net, X, T)
        close(r.chain_sample.result, a_s[2][4, 1] - T[4, 1], scale=1.0)
        assert r.chain_sample.y == r.a and r.t == T[4, 1]
        assert r.fd.worst < 1e-6
        assert ("binary cross-entropy" if out == "sigmoid" else "squared error") in r.loss


def test_update_at_these_weights():
    net = Network([2, 3, 2], "tanh", "softmax", seed=0)
    rng = np.random.RandomState(0)
    X, T = rng.randn(20, 2), np.eye(2)[rng.randint(0, 2, 20)]
    upd = [np.full_like(p, 0.5) for p in net.parameters()]
    r = inspect_neuron(net, X, T, 1, 0, last_update=upd, weights_for_update=net.weights)
    assert r.update_at_these_weights is True and r.incoming[0].update == 0.5
    other = [W + 1 for W in net.weights]
    assert inspect_neuron(net, X, T, 1, 0, last_update=upd,
                          weights_for_update=other).update_at_these_weights is False
    assert inspect_neuron(net, X, T, 1, 0).update_at_these_weights is None


def test_fd_max_entries_checks_the_largest_gradients():
    net = Network([6, 3, 2], "tanh", "softmax", seed=0)
    rng = np.random.RandomState(0)
    X, T = rng.randn(30, 6), np.eye(2)[rng.randint(0, 2, 30)]
    r = inspect_neuron(net, X, T, 1, 1, fd_max_entries=2)
    checked = [e for e in r.incoming if e.fd is not None]
    assert len(checked) == 2 and r.fd.skipped == 4 and r.bias.fd is not None
    assert min(abs(e.grad) for e in checked) >= max(abs(e.grad) for e in r.incoming if e.fd is None)


def test_bad_neuron_or_sample_raises():
    net = Network([2, 3, 2], "tanh", "softmax", seed=0)
    X, T = np.zeros((4, 2)), np.eye(2)[[0, 1, 0, 1]]
    with pytest.raises(ValueError, match="layer 1 has|no neuron 3 in layer 1"):
        inspect_neuron(net, X, T, 1, 3)
    with pytest.raises(ValueError, match="no layer 3"):
        inspect_neuron(net, X, T, 3, 0)
    with pytest.raises(ValueError, match="4 samples"):
        inspect_neuron(net, X, T, 1, 0, sample=4)


def test_report_is_frozen_and_json_ready(classic):
    net, trainer = classic
    r = inspect_neuron(net, trainer.X, trainer.T, 1, 0, last_update=trainer.last_update)
    with pytest.raises(Exception):
        r.layer = 2
    d = json.loads(json.dumps(r.to_dict()))
    assert d["incoming"][0]["from"] == 0 and "from_" not in d["incoming"][0]
    assert d["chain_rule"]["sample"]["terms"][0]["product"] == r.chain_sample.terms[0].product


# -- the command line --------------------------------------------------------------------------

def _cli_prefix():
    return [sys.executable, "-m", "bpviz", "inspect"]


def _run(args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(_cli_prefix() + args, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)


def _same(a, b, path="$"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {set(a) ^ set(b)}"
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-300), path
    else:
        assert a == b, path


def test_cli_json_equals_inspect_neuron():
    from bpviz.engine.config import Config, build
    proc = _run(["--preset", "gaussian-clouds", "--epochs", "10", "--neuron", "1:2", "--sample",
                 "42", "--json"])
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("layer", "index", "activation", "z", "a", "delta", "delta_mean", "delta_mean_abs",
                "incoming", "outgoing", "chain_rule"):
        assert key in out
    for e in out["incoming"]:
        assert {"from", "weight", "grad"} <= set(e)
    for e in out["outgoing"]:
        assert {"to", "weight", "delta", "signal"} <= set(e)
    assert out["chain_rule"]["sample"]["terms"] and "total" in out["chain_rule"]["sample"]
    assert (out["epoch"], out["pass"]) == (10, 10)

    ds, net, trainer = build(Config.preset("gaussian-clouds"))
    trainer.run(epochs=10)
    expected = inspect_neuron(net, trainer.X, trainer.T, 1, 2, sample=42,
                              last_update=trainer.last_update).to_dict()
    out.pop("epoch"), out.pop("pass")
    _same(out, expected)


def test_cli_text_output():
    proc = _run(["--neuron", "2:0"])
    assert proc.returncode == 0, proc.stderr
    assert "after 0 epochs" in proc.stdout and "δ = y − t" in proc.stdout
    assert "incoming edges" in proc.stdout


@pytest.mark.parametrize("args, words", [
    (["--neuron", "1:9"], ["--neuron 1:9", "3 neurons", "2-3-3"]),
    (["--neuron", "5:0"], ["no layer 5", "2-3-3"]),
    (["--neuron", "1:0", "--sample", "99999"], ["--sample 99999", "1500 samples"]),
    (["--neuron", "one"], ["LAYER:INDEX"]),
])
def test_cli_bad_input_exits_2_with_one_line(args, words):
    proc = _run(args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0]
    assert proc.stdout == ""


def test_inspect_command_does_not_import_qt():
    code = ("import sys, io, contextlib\n"
            "from bpviz.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    rc = main(['inspect', '--neuron', '1:0', '--json'])\n"
            "assert rc == 0, rc\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]\n"
            "assert not bad, bad\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
