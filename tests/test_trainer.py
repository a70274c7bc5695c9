"""The trainer: the classic example to the digit, optimizers, mini-batches, divergence."""

import numpy as np
import pytest

from bpviz.engine import Config, Network, Trainer, build
from bpviz.engine.data import Dataset
from bpviz.engine.optimizers import make_optimizer
from bpviz.messages import Play

CLASSIC_LOSS_0 = 2.0981205629348856


def classic_reference(epochs):
    """The classic numpy example as it is usually written: gradient ascent on the summed
    log-likelihood with learning rate 1e-3, all gradients computed before any update."""
    rng = np.random.RandomState(1)
    X1 = rng.randn(500, 2) + np.array([0, -2])
    X2 = rng.randn(500, 2) + np.array([2, 2])
    X3 = rng.randn(500, 2) + np.array([-2, 2])
    X = np.vstack([X1, X2, X3])
    Y = np.array([0] * 500 + [1] * 500 + [2] * 500)
    W1, b1, W2, b2 = rng.randn(2, 3), rng.randn(3), rng.randn(3, 3), rng.randn(3)
    T = np.zeros((1500, 3))
    T[np.arange(1500), Y] = 1
    losses, rates = [], []
    for _ in range(epochs):
        Z = 1 / (1 + np.exp(-X.dot(W1) - b1))
        A = Z.dot(W2) + b2
        expA = np.exp(A)
        out = expA / expA.sum(axis=1, keepdims=True)
        losses.append(-(T * np.log(out)).sum() / 1500)
        rates.append(np.mean(out.argmax(axis=1) == Y))
        gW2 = Z.T.dot(T - out)
        gb2 = (T - out).sum(axis=0)
        dZ = (T - out).dot(W2.T) * Z * (1 - Z)
        gW1 = X.T.dot(dZ)
        gb1 = dZ.sum(axis=0)
        W2 += 1e-3 * gW2
        b2 += 1e-3 * gb2
        W1 += 1e-3 * gW1
        b1 += 1e-3 * gb1
    return np.array(losses), np.array(rates), (W1, b1, W2, b2)


def test_classic_example_reproduced_to_1e_9():
    ds, net, trainer = build(Config.preset("gaussian-clouds"))
    assert ds.X_train.shape == (1500, 2) and len(ds.X_test) == 0
    assert trainer.full_batch
    assert trainer.run(epochs=1000) is None          # the divergence limit never fires here
    assert trainer.start_loss == CLASSIC_LOSS_0
    assert trainer.divergence_limit() == 1000.0 * CLASSIC_LOSS_0
    ref_loss, ref_rate, (W1, b1, W2, b2) = classic_reference(1000)
    loss = np.array(trainer.history.loss)
    assert loss[0] == CLASSIC_LOSS_0
    assert len(loss) == 1000
    assert np.max(np.abs(loss - ref_loss) / ref_loss) < 1e-9
    assert np.array_equal(np.array(trainer.history.accuracy), ref_rate)
    assert np.allclose(net.weights[0], W1, rtol=1e-9) and np.allclose(net.biases[1], b2, rtol=1e-9)
    final_loss, final_acc = trainer.evaluate(trainer.X, trainer.T, trainer.labels)
    assert round(final_acc, 2) == 0.97
    assert trainer.history.accuracy[-1] == pytest.approx(0.97, abs=0.005)


def test_history_row_is_the_loss_at_the_start_of_the_epoch_for_minibatches(make_run):
    cfg, ds, net, trainer = make_run("moons", batch_size=16, test_fraction=0.25)
    before = trainer.evaluate(trainer.X, trainer.T, trainer.labels)
    test_before = trainer.evaluate(trainer.X_test, trainer.T_test, trainer.test_labels)
    trainer.run_epoch()
    assert trainer.pass_count == -(-len(ds.X_train) // 16)
    assert trainer.history.loss[0] == before[0] and trainer.history.accuracy[0] == before[1]
    assert trainer.history.test_loss[0] == test_before[0]
    assert len(trainer.history.grad_norms[0]) == net.n_layers
    row1 = trainer.evaluate(trainer.X, trainer.T, trainer.labels)
    trainer.run_epoch()
    assert trainer.history.loss[1] == row1[0]


def test_same_seed_same_history(make_run):
    histories = []
    for _ in range(2):
        _, _, _, trainer = make_run("spiral", epochs=5)
        trainer.run(epochs=5)
        histories.append(trainer.history.table())
    assert np.array_equal(histories[0], histories[1])
    _, _, _, other = make_run("spiral", seed=3)
    other.run(epochs=5)
    assert not np.array_equal(histories[0], other.history.table())


def test_minibatches_cover_every_sample_once_per_epoch(make_run):
    _, ds, _, trainer = make_run("xor", batch_size=7)
    seen = []
    while trainer.epoch == 0:
        seen.extend(trainer.step().indices.tolist())
    assert sorted(seen) == list(range(len(ds.X_train)))
    first = []
    while trainer.epoch == 1:
        first.extend(trainer.step().indices.tolist())
    assert first != seen and sorted(first) == sorted(seen)     # reshuffled every epoch


def _quadratic_problem():
    """A linear network on a least-squares problem: the minimum is known in closed form."""
    rng = np.random.RandomState(0)
    X = rng.randn(64, 3)
    w_true = np.array([[1.5], [-2.0], [0.5]])
    y = X @ w_true + 0.3
    ds = Dataset("lsq", "regression", X, y, np.zeros((0, 3)), np.zeros((0, 1)))
    A = np.column_stack([X, np.ones(64)])
    exact = np.linalg.lstsq(A, y, rcond=None)[0]
    return ds, exact


@pytest.mark.parametrize("optimizer,lr,momentum,epochs", [
    ("sgd", 0.3, 0.0, 400), ("momentum", 0.05, 0.9, 400), ("adam", 0.05, 0.0, 3000)])
def test_each_optimizer_finds_the_known_minimum(optimizer, lr, momentum, epochs):
    ds, exact = _quadratic_problem()
    net = Network([3, 1], [], "linear", seed=1)
    trainer = Trainer(net, ds, optimizer=optimizer, lr=lr, momentum=momentum)
    trainer.run(epochs=epochs)
    found = np.concatenate([net.weights[0].ravel(), net.biases[0]])
    assert np.allclose(found, exact.ravel(), atol=1e-4)


def test_optimizer_update_rules_by_hand():
    g = [np.array([[0.5, -1.0]])]
    mom = make_optimizer("momentum", [(1, 2)])
    first = mom.updates(g, lr=0.1, momentum=0.9)[0]
    second = mom.updates(g, lr=0.1, momentum=0.9)[0]
    assert np.allclose(first, [[-0.05, 0.1]])
    assert np.allclose(second, [[-0.05 + 0.9 * -0.05, 0.1 + 0.9 * 0.1]])   # Δw = −η∇ + αΔw_prev
    adam = make_optimizer("adam", [(1, 2)])
    step = adam.updates(g, lr=0.01)[0]
    assert np.allclose(step, [[-0.01, 0.01]], atol=1e-7)   # first bias-corrected step is ±η


def test_l2_adds_lambda_w_to_the_weight_gradient(make_run):
    _, _, net, trainer = make_run("gaussian-clouds")
    trainer.l2 = 0.1
    W = [w.copy() for w in net.weights]
    b = [x.copy() for x in net.biases]
    trace = net.backprop(trainer.X, trainer.T)
    trainer.step()
    assert np.allclose(net.weights[0], W[0] - 1.5 * (trace.grad_weights[0] + 0.1 * W[0]))
    assert np.allclose(net.biases[0], b[0] - 1.5 * trace.grad_biases[0])   # biases not decayed


def test_hyperparameters_change_between_passes_without_reset(make_run):
    _, _, net, trainer = make_run("gaussian-clouds")
    trainer.step()
    trainer.lr = 0.25
    trainer.batch_size = 100
    W = net.weights[1].copy()
    result = trainer.step()
    assert len(result.indices) == 100
    assert np.allclose(net.weights[1], W - 0.25 * result.trace.grad_weights[1])
    assert trainer.pass_count == 2


def test_divergence_is_detected_and_last_finite_weights_kept():
    ds, _ = _quadratic_problem()
    net = Network([3, 1], [], "linear", seed=1)
    trainer = Trainer(net, ds, lr=50.0)
    diverged = trainer.run(epochs=10000)
    assert diverged is not None
    assert "diverged" in diverged.message() and "smaller learning rate" in diverged.message()
    assert all(np.isfinite(p).all() for p in net.parameters())
    assert np.isfinite(net.loss(trainer.X, trainer.T))
    assert diverged.epoch == trainer.epoch
    assert all(np.isfinite(trainer.history.loss))
    # lowering the rate continues from the kept weights
    trainer.lr = 0.01
    assert trainer.step().diverged is None and trainer.diverged is None


@pytest.mark.parametrize("k", [1, 2, 3, 7, 20])
def test_accuracy_matches_argmax_including_ties(k):
    from bpviz.engine.trainer import accuracy, accuracy_t
    rng = np.random.RandomState(k)
    y = rng.randint(0, 3, size=(400, k)).astype(float)      # many exact ties between classes
    labels = rng.randint(0, k, size=400)
    if k == 1:
        expected = ((y[:, 0] > 0.5).astype(int) == labels).mean()
    else:
        expected = (y.argmax(axis=1) == labels).mean()
    assert accuracy(y, labels) == expected
    assert accuracy_t(np.ascontiguousarray(y.T), labels) == expected


def test_samples_in_columns_pass_equals_the_row_layout_formulas():
    """The engine's passes keep samples in columns; the trace must equal the textbook row layout."""
    from bpviz.engine.functions import OUTPUTS
    rng = np.random.RandomState(3)
    for out in OUTPUTS:
        net = Network([3, 5, 4, 2], ["tanh", "relu"], out, init="xavier", seed=1)
        X = rng.randn(50, 3)
        T = np.eye(2)[rng.randint(0, 2, 50)] if out != "linear" else rng.randn(50, 2)
        tr = net.backprop(X, T)
        zs, acts = [], [X]
        for i, (W, b) in enumerate(zip(net.weights, net.biases)):
            z = acts[-1] @ W + b
            zs.append(z)
            acts.append(net.activate(i + 1, z))
        assert np.allclose(tr.output, acts[-1], rtol=1e-13, atol=1e-15)
        assert np.allclose(tr.losses, net.out.loss(zs[-1], T), rtol=1e-13)
        assert tr.activations[1].shape == (50, 5) and tr.deltas[0].shape == (50, 5)
        assert np.allclose(net.forward(X), acts[-1], rtol=1e-13, atol=1e-15)
        assert net.loss(X, T) == pytest.approx(net.out.loss(zs[-1], T).mean(), rel=1e-13)


@pytest.mark.parametrize("batch", [0, 100])
def test_single_sample_passes_take_the_next_samples_and_the_epoch_still_covers_all(make_run, batch):
    """Step by one sample: a pass on exactly the next training sample, equal to a hand-made update
    on that sample alone; the epoch's later passes take the rest, each sample once."""
    _, ds, net, trainer = make_run("xor", batch_size=batch, lr=0.5)
    n = trainer.n_train
    order = trainer.peek_batch()
    order = trainer.sample_order(0) if order is None else np.concatenate(
        [order, np.setdiff1d(np.arange(n), order)])            # the epoch's sample order
    W0 = [W.copy() for W in net.weights]
    b0 = [b.copy() for b in net.biases]
    r = trainer.step(samples=1)
    first = int(order[0])
    assert r.indices.tolist() == [first] and r.trace.losses.shape == (1,)
    # the same update by hand: that sample's gradient alone, plain gradient descent
    ref = Network(net.sizes, [a.name for a in net.hidden_activations], net.out.name,
                  weights=W0, biases=b0).backprop(trainer.X[[first]], trainer.T[[first]])
    for W, W_0, g in zip(net.weights, W0, ref.grad_weights):
        assert np.allclose(W, W_0 - 0.5 * g, rtol=1e-13, atol=1e-15)
    covered = [first] + trainer.step(samples=1).indices.tolist()
    assert covered[1] == order[1] and trainer.taken == 2
    assert trainer.passes_per_epoch() == 2 + -(-(n - 2) // (batch or n))
    while trainer.epoch == 0:
        res = trainer.step()
        covered += res.indices.tolist()
    assert sorted(covered) == list(range(n))          # every sample once
    assert trainer.pass_in_epoch == 0 and trainer.taken == 0
    assert len(trainer.history) == 1                  # one row, at the start of the epoch


def test_stepping_a_full_batch_epoch_sample_by_sample_takes_a_shuffled_order(make_run):
    """Online gradient descent as it is: on the classic preset (500 samples of class 0 first in
    the file) single-sample steps mix the classes from the start; the order is a permutation,
    the same for the same seed and epoch, and stepping leaves later epochs' passes alone."""
    _, ds, net, trainer = make_run("gaussian-clouds")
    labels = np.asarray(ds.y_train)
    taken = [int(trainer.step(samples=1).indices[0]) for _ in range(12)]
    assert len(set(labels[taken].tolist())) > 1          # not 12 samples of class 0
    assert taken != list(range(12))
    rest = trainer.step().indices                        # the epoch's remaining pass
    assert sorted(taken + rest.tolist()) == list(range(trainer.n_train)) and trainer.epoch == 1
    _, _, _, again = make_run("gaussian-clouds")
    assert [int(again.step(samples=1).indices[0]) for _ in range(12)] == taken
    # the next epoch, stepped, takes another order
    nxt = [int(trainer.step(samples=1).indices[0]) for _ in range(12)]
    assert nxt != taken


def test_a_state_taken_between_single_sample_passes_resumes_exactly(make_run):
    _, _, _, a = make_run("xor", batch_size=50)
    a.step(samples=1)
    a.step(samples=1)
    state = a.get_state()
    _, _, _, b = make_run("xor", batch_size=50)
    b.set_state(state)
    for _ in range(6):
        ra, rb = a.step(), b.step()
        assert np.array_equal(ra.indices, rb.indices) and ra.trace.loss == rb.trace.loss
    old = dict(state, pass_in_epoch=2)
    old.pop("taken")                                   # a state from before single samples
    with pytest.raises(ValueError, match="does not fit"):
        b.set_state(dict(state, taken=10_000))
    b.set_state(old)
    assert b.taken == 100


@pytest.mark.parametrize("max_rows", [None, 8])
def test_history_extend_equals_appending_row_by_row(max_rows):
    from bpviz.engine.trainer import History
    rng = np.random.RandomState(0)
    a, b = History(max_rows), History(max_rows)
    epoch = 0
    for k in (3, 1, 70, 5, 0, 12):
        rows = np.column_stack([np.arange(epoch, epoch + k), rng.rand(k, 6)])
        epoch += k
        for row in rows:
            a.append(*row[:5], row[5:])
        b.extend(rows)
        assert np.array_equal(a.table(), b.table())


# -- divergence that stays finite --------------------------------------------------------------

def classic_first_step(lr):
    """The classic data and initial weights, and the weights after one full-batch gradient descent
    step of ``lr`` on the mean loss, with the loss at each (a log-sum-exp softmax: the loss after
    a huge step is finite, which is the point)."""
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(500, 2) + [0, -2], rng.randn(500, 2) + [2, 2],
                   rng.randn(500, 2) + [-2, 2]])
    Y = np.repeat([0, 1, 2], 500)
    W1, b1, W2, b2 = rng.randn(2, 3), rng.randn(3), rng.randn(3, 3), rng.randn(3)

    def loss_and_grads(W1, b1, W2, b2):
        with np.errstate(over="ignore"):                 # sigmoid saturates after the step
            Z = 1 / (1 + np.exp(-(X @ W1 + b1)))
        A = Z @ W2 + b2
        m = A.max(axis=1, keepdims=True)
        log_y = A - m - np.log(np.exp(A - m).sum(axis=1, keepdims=True))
        loss = -log_y[np.arange(1500), Y].mean()
        d2 = np.exp(log_y)
        d2[np.arange(1500), Y] -= 1
        d1 = (d2 @ W2.T) * Z * (1 - Z)
        return loss, (X.T @ d1 / 1500, d1.mean(0), Z.T @ d2 / 1500, d2.mean(0))

    start = (W1, b1, W2, b2)
    loss0, grads = loss_and_grads(*start)
    after = tuple(p - lr * g for p, g in zip(start, grads))
    return start, loss0, after, loss_and_grads(*after)[0]


def test_a_finite_loss_far_above_the_start_stops_training_and_keeps_the_weights_before_it():
    start, loss0, after, loss1 = classic_first_step(1e6)
    assert round(loss0, 1) == 2.1 and round(loss1) == 613_933      # finite, and huge
    cfg = Config.preset("gaussian-clouds")
    cfg.lr = 1e6
    _, net, trainer = build(cfg)
    diverged = trainer.run(epochs=100)
    assert diverged is not None and (diverged.epoch, diverged.pass_index) == (1, 1)
    assert diverged.reason == ("the loss jumped from 2.1 to 613,933, more than 1,000 times where "
                               "it started: the learning rate overshoots")
    assert "smaller learning rate" in diverged.message()
    # the pass that saw the jump is not applied and the update that caused it is taken back:
    # the weights are the last ones whose loss was under the limit, here the initial ones
    for mine, theirs in zip(net.parameters(), start):
        assert np.array_equal(mine, theirs)
    assert trainer.start_loss == CLASSIC_LOSS_0 and loss0 == pytest.approx(CLASSIC_LOSS_0)
    assert list(trainer.history.loss) == [CLASSIC_LOSS_0]            # no row for the jump
    # at that rate it jumps again, and a smaller one goes on from the kept weights
    again = trainer.run(epochs=100)
    assert again is not None and again.pass_index == 2 and "to 613,933" in again.reason
    assert all(np.array_equal(mine, theirs) for mine, theirs in zip(net.parameters(), start))
    trainer.lr = 1.5
    assert trainer.step().diverged is None and trainer.diverged is None


def test_factor_0_turns_the_limit_off_and_another_factor_moves_it(make_run):
    _, _, _, trainer = make_run("gaussian-clouds", lr=1e6, divergence_factor=0.0)
    assert trainer.run(epochs=5) is None and trainer.divergence_limit() is None
    loss = trainer.evaluate(trainer.X, trainer.T, trainer.labels)[0]
    assert np.isfinite(loss) and loss > 1e4
    _, _, _, trainer = make_run("gaussian-clouds", lr=1e6, divergence_factor=1e6)
    assert trainer.run(epochs=5) is None                             # 613,933 < 2.1 million
    _, _, _, trainer = make_run("gaussian-clouds", lr=1e6, divergence_factor=1e5)
    assert trainer.run(epochs=5).pass_index == 1


@pytest.mark.parametrize("bad", [-1.0, 0.5, float("nan"), float("inf"), "1000", True])
def test_bad_divergence_factors_are_refused(bad):
    from bpviz.engine.errors import ConfigError
    ds, _ = _quadratic_problem()
    with pytest.raises(ValueError, match="divergence factor"):
        Trainer(Network([3, 1], [], "linear", seed=1), ds, divergence_factor=bad)
    cfg = Config.preset("gaussian-clouds")
    cfg.divergence_factor = bad
    with pytest.raises(ConfigError, match="divergence factor"):
        cfg.validate()
    with pytest.raises(ConfigError, match="divergence"):
        Config.from_dict(dict(Config().to_dict(), divergence_factor=bad))


def test_a_start_loss_near_0_is_measured_against_the_floor():
    from bpviz.engine.trainer import START_LOSS_FLOOR
    X = np.linspace(-1, 1, 20)[:, None]
    ds = Dataset("line", "regression", X, 2 * X, np.zeros((0, 1)), np.zeros((0, 1)))
    net = Network([1, 1], [], "linear", seed=0)
    net.weights[0][:] = 2.0
    net.biases[0][:] = 0.0
    trainer = Trainer(net, ds, lr=0.01)
    assert trainer.step().diverged is None and trainer.start_loss == 0.0   # a perfect fit
    assert trainer.divergence_limit() == 1000.0 * START_LOSS_FLOOR
    net.biases[0][:] = 4.0                      # set by hand: loss 8, under the floor's limit 10
    assert trainer.step().diverged is None and trainer.start_loss == 0.0
    net.biases[0][:] = 5.0                      # loss 12.5: over it
    diverged = trainer.step().diverged
    assert diverged is not None and "from 0 to 12.5" in diverged.reason
    # stepped back to weights whose loss was under the limit
    assert net.loss(trainer.X, trainer.T) <= trainer.divergence_limit()


def test_the_start_loss_and_factor_survive_get_and_set_state(make_run):
    _, _, _, a = make_run("moons", batch_size=16, divergence_factor=50.0)
    fresh = a.get_state(history=False)                   # a checkpoint before the first pass
    assert fresh["start_loss"] is None and fresh["divergence_factor"] == 50.0
    a.run(epochs=2)
    start = a.history.loss[0]                            # the whole training set, not one batch
    assert a.start_loss == start
    state = a.get_state()
    _, _, _, b = make_run("moons", batch_size=16)
    b.set_state(state)
    assert (b.start_loss, b.divergence_factor) == (start, 50.0)
    b.set_state(fresh)                                   # a rewind to before the first pass
    assert b.start_loss is None
    b.step()
    assert b.start_loss == start                         # the same weights, the same start
    # a state from before these fields: the start from the history's epoch 0 row, or unset
    old = {k: v for k, v in state.items() if k not in ("start_loss", "divergence_factor")}
    _, _, _, c = make_run("moons", batch_size=16)
    c.set_state(old)
    assert (c.start_loss, c.divergence_factor) == (start, 1000.0)
    old["history"] = {k: v[1:] for k, v in old["history"].items()}   # no row of epoch 0
    c.set_state(old)
    assert c.start_loss is None
    c.step()
    assert c.start_loss == c.history.loss[-1]
    for key, bad in (("start_loss", -1.0), ("start_loss", float("nan")),
                     ("divergence_factor", 0.5)):
        with pytest.raises(ValueError):
            c.set_state(dict(state, **{key: bad}))
    assert c.divergence_factor == 1000.0                 # nothing changed


def test_a_training_process_detects_it_too(qtbot):
    """The spawned training session runs ``Trainer.step``: in a real child process too, playing
    stops at the jump with the weights before it, and says why."""
    from bpviz.host import TrainingHost
    start = classic_first_step(1e6)[0]
    cfg = Config.preset("gaussian-clouds")
    cfg.lr = 1e6
    host = TrainingHost(cfg, processes=True)
    from bpviz.ui.window.run_model import RunModel
    run = RunModel(host, cfg)     # keeps the newest snapshot
    host.start()
    try:
        qtbot.waitUntil(lambda: run.latest is not None, timeout=60000)
        host.command(Play())
        qtbot.waitUntil(lambda: run.latest.diverged is not None, timeout=20000)
        assert host.mode == "process"
        assert "the loss jumped from 2.1 to 613,933" in run.latest.diverged
        here = build(cfg)[2]
        while not here.step().diverged:
            pass
        assert not run.latest.running and run.latest.pass_count == here.pass_count
        assert all(np.array_equal(w, s) for w, s in zip(run.latest.weights, start[0::2]))
    finally:
        host.stop()