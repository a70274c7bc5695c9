"""Training in a child process: chunks applied to the trainer give exactly the passes it would have
run itself, and the window's worker plays through the child and falls back when it fails."""

import os
import pickle
import time

import numpy as np
import pytest

from bpviz.engine import Config, Network, build
from bpviz.engine.passrunner import (CHILD_NICE, PassRunner, PassRunnerError, portable,
                                     run_chunk)
from bpviz.engine.trajectory import Trajectory

CONFIGS = [
    ("gaussian-clouds", {}),
    # shuffled mini-batches, momentum and L2: the order, the generator and the velocity travel too
    ("gaussian-clouds", {"batch_size": 64, "optimizer": "momentum", "momentum": 0.9, "l2": 1e-3,
                         "hidden": (5, 4), "activation": "tanh"}),
]


def configured(preset, overrides):
    config = Config.preset(preset)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def apply(trainer, trajectory, result):
    """What the worker does with a chunk result."""
    trainer.history.extend(result.rows)
    state = dict(result.state, history_length=trainer.history.end_epoch)
    trainer.set_state(state)
    for p, point in zip(result.trajectory_passes, result.trajectory_points):
        trajectory.record_flat(point, int(p))


def assert_same_training(a, b):
    for x, y in zip(a.network.parameters(), b.network.parameters()):
        assert np.array_equal(x, y)
    for x, y in zip(a.optimizer.get_state().get("velocity", []),
                    b.optimizer.get_state().get("velocity", [])):
        assert np.array_equal(x, y)
    assert (a.epoch, a.pass_count, a.taken) == (b.epoch, b.pass_count, b.taken)
    assert np.array_equal(a.history.table(), b.history.table(), equal_nan=True)
    assert a.shuffle_rng.randint(1 << 30) == b.shuffle_rng.randint(1 << 30)


def test_a_network_pickles_by_activation_names():
    net = Network([2, 4, 3], ["tanh"], "softmax", seed=3)
    copy = pickle.loads(pickle.dumps(net))
    X = np.random.RandomState(0).randn(7, 2)
    assert copy.activation_names == net.activation_names
    assert np.array_equal(copy.predict(X), net.predict(X))
    other = net.at([W * 2 for W in net.weights], net.biases)
    assert other.weights[0] is not net.weights[0] and other.biases[0] is net.biases[0]
    assert np.array_equal(other.weights[1], 2 * net.weights[1])


@pytest.mark.parametrize("preset,overrides", CONFIGS)
def test_chunks_applied_give_exactly_the_passes_run_here(preset, overrides):
    config = configured(preset, overrides)
    direct = build(config)[2]
    direct_traj = Trajectory(direct.network, max_bytes=4000)
    losses = []
    for _ in range(60):
        losses.append(direct.step().trace.loss)
        direct_traj.record(direct.network, direct.pass_count)

    here = build(config)[2]
    here_traj = Trajectory(here.network, max_bytes=4000)
    remote = pickle.loads(portable(here))          # the child's copy
    got = []
    while here.pass_count < 60:
        result = run_chunk(remote, seconds=10, stride=here_traj.stride,
                           max_passes=min(7, 60 - here.pass_count))
        apply(here, here_traj, result)
        got += result.losses.tolist()
        assert result.passes == len(result.losses) <= 7
    assert here.pass_count == 60 and got == losses
    assert_same_training(direct, here)
    assert np.array_equal(here_traj.points, direct_traj.points)
    assert np.array_equal(here_traj.passes, direct_traj.passes)
    # the last pass's batch and weights reproduce its trace exactly
    idx, params = result.last_indices, result.last_parameters
    XT = here._XT if idx is None else here._XT[:, idx]
    TT = here._TT if idx is None else here._TT[:, idx]
    trace = here.network.at(params[0::2], params[1::2]).backprop_t(XT, TT)
    assert trace.loss == losses[-1]


def test_a_chunk_stops_at_the_epoch_asked_and_on_divergence():
    trainer = build(Config.preset("gaussian-clouds"))[2]
    result = run_chunk(trainer, seconds=10, stop_epoch=5)
    assert result.state["epoch"] == 5 and result.passes == 5 and len(result.rows) == 5
    assert run_chunk(trainer, seconds=10, stop_epoch=5).passes == 0

    trainer = build(configured("plane", {"lr": 10.0}))[2]
    result = run_chunk(trainer, seconds=20)
    assert result.diverged and result.state["diverged"] is not None
    assert all(np.isfinite(W).all() for W in result.state["weights"])
    assert np.isfinite(result.losses).all() and len(result.losses) == result.passes


def test_the_child_process_trains_exactly_like_this_one(pass_runner):
    config = configured(*CONFIGS[1])
    direct = build(config)[2]
    direct.run(epochs=4)
    here = build(config)[2]
    traj = Trajectory(here.network)
    runner = pass_runner
    # the child yields a busy core to the window's threads
    assert os.getpriority(os.PRIO_PROCESS, runner.pid) == min(
        19, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICE)
    runner.request(here, 0.002, 4, traj.stride)
    runner.request(None, 0.002, 4, traj.stride)       # pipelined: goes on from its own copy
    stale = runner.request(None, 0.002, 4, traj.stride)
    for _ in range(2):
        result = None
        while result is None:
            result = runner.receive(5)
        apply(here, traj, result)
    runner.discard()                                   # the third chunk no longer applies
    while here.epoch < 4:
        runner.request(here, 0.002, 4, traj.stride)
        result = None
        while result is None:
            result = runner.receive(5)
        assert result.id != stale
        apply(here, traj, result)
    assert_same_training(direct, here)
    assert not runner.in_flight
    runner.close()                                         # closing reaps it
    assert runner.process.returncode is not None           # reaped


def test_neither_side_blocks_the_other_on_a_full_pipe():
    """Large requests sent while the child's large replies go unread: the child reads requests on
    a thread of its own, so every send completes and every reply arrives."""
    import threading

    config = configured("gaussian-clouds", {"hidden": (64, 64), "n_samples": 6000,
                                            "batch_size": 32})
    trainer = build(config)[2]
    runner = PassRunner()
    done = threading.Event()
    try:
        while not runner.ready():
            time.sleep(0.01)

        def send_many():
            for _ in range(8):        # a trainer of ~0.4 MB each time: more than a pipe holds
                runner.request(trainer, 0.05, None, 1)
            done.set()
        sender = threading.Thread(target=send_many, daemon=True)
        sender.start()
        sender.join(30)
        assert done.is_set(), "sending blocked: the child was not reading"
        results = []
        while runner.in_flight:
            result = runner.receive(10)
            if result is not None:
                results.append(result)
        # every request brings a new trainer: those the child had not begun when a later one
        # arrived were skipped; the last one always runs
        ids = [r.id for r in results]
        assert ids == sorted(ids) and ids[-1] == 7
        assert all(len(r.trajectory_points) == r.passes > 0 for r in results)
    finally:
        runner.close()


def test_a_dead_child_is_reported_not_waited_for():
    runner = PassRunner()
    try:
        runner.process.kill()
        runner.process.wait()
        with pytest.raises(PassRunnerError):
            for _ in range(100):
                if runner.ready():
                    runner.request(build(Config.preset("gaussian-clouds"))[2], 0.01, None, 1)
                    runner.receive(5)
                time.sleep(0.01)
    finally:
        runner.close()


# -- the worker plays through the child -----------------------------------------------------------

class _Played:
    """A WorkerHost playing through its child: runs of epochs, every pass loss the snapshots
    carried, and the chunks the child ran."""

    def __init__(self, qtbot, config):
        from bpviz.worker import WorkerHost
        self.qtbot = qtbot
        self.host = WorkerHost(config, processes=True)
        self.losses = []
        self.host.snapshotArrived.connect(
            lambda snap: self.losses.extend(snap.new_pass_losses.tolist()))
        self.host.start()
        qtbot.waitUntil(lambda: self.host.latest is not None, timeout=10000)

    @property
    def worker(self):
        return self.host.worker

    def run(self, epochs):
        target = self.host.latest.epoch + epochs
        self.host.runEpochsRequested.emit(epochs)
        self.qtbot.waitUntil(lambda: self.host.latest.epoch == target
                             and not self.host.latest.running, timeout=60000)
        return target

    def run_until_the_child_trained(self, epochs=50, most=5000):
        """Runs of ``epochs`` until some of them ran in the child (however slowly it started)."""
        while True:
            target = self.run(epochs)
            if self.worker.chunks_from_runner > 0:
                return target
            assert target < most, "the pass runner never trained"

    def stop(self):
        self.host.stop()


def _direct(config, epochs):
    trainer = build(config)[2]
    losses = []
    while trainer.epoch < epochs:
        losses.append(trainer.step().trace.loss)
    return trainer, losses


def test_playing_through_the_child_gives_the_same_run_pass_for_pass(qtbot):
    config = configured(*CONFIGS[1])
    played = _Played(qtbot, config)
    try:
        played.run_until_the_child_trained()
        epochs = played.run(100)                       # and more, all of it in the child
    finally:
        played.stop()
    direct, expected = _direct(config, epochs)
    assert played.losses == expected                   # every pass, in order, none twice
    snap = played.host.latest
    for W, expected_W in zip(snap.weights, direct.network.weights):
        assert np.array_equal(W, expected_W)
    assert snap.pass_count == direct.pass_count
    worker = played.worker
    assert worker.runner is None                        # shut down with the thread
    assert worker.trajectory.count > 1


def test_the_child_process_is_reaped_when_the_worker_stops(qtbot):
    played = _Played(qtbot, Config.preset("gaussian-clouds"))
    try:
        played.run_until_the_child_trained()
        process = played.worker.runner.process
        played.host.playRequested.emit()                # stopped while it trains
        played.qtbot.waitUntil(lambda: played.host.latest.running, timeout=5000)
    finally:
        played.stop()
    assert process.poll() is not None


def test_a_child_that_dies_mid_run_leaves_training_exact_on_this_thread(qtbot):
    config = configured(*CONFIGS[1])
    played = _Played(qtbot, config)
    try:
        played.run_until_the_child_trained()
        played.worker.runner.process.kill()
        epochs = played.run(60)
        assert not played.worker.use_processes          # given up, trained here instead
    finally:
        played.stop()
    direct, expected = _direct(config, epochs)
    assert played.losses == expected
    for W, expected_W in zip(played.host.latest.weights, direct.network.weights):
        assert np.array_equal(W, expected_W)
