"""The training session, the one owner of training: plain Python in a thread or a spawned process,
the same passes bit for bit either way, and a host that carries on when a process dies."""

import pickle
import queue
import sys
import threading

import numpy as np
import pytest

from bpviz.engine import Config, Network, build
from bpviz.messages import Play, RunEpochs, Step
from bpviz.training import COMMANDS, TrainingSession, queue_receiver, serve

CONFIGS = [
    ("gaussian-clouds", {}),
    # shuffled mini-batches, momentum and L2: the order, the generator and the velocity matter
    ("gaussian-clouds", {"batch_size": 64, "optimizer": "momentum", "momentum": 0.9, "l2": 1e-3,
                         "hidden": (5, 4), "activation": "tanh"}),
]


def configured(preset, overrides):
    config = Config.preset(preset)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def direct(config, epochs):
    """The same run, trainer.step by trainer.step: the losses of every pass, and the trainer."""
    trainer = build(config)[2]
    losses = []
    while trainer.epoch < epochs:
        losses.append(trainer.step().trace.loss)
    return trainer, losses


def test_a_network_pickles_by_activation_names():
    net = Network([2, 4, 3], ["tanh"], "softmax", seed=3)
    copy = pickle.loads(pickle.dumps(net))
    X = np.random.RandomState(0).randn(7, 2)
    assert copy.activation_names == net.activation_names
    assert np.array_equal(copy.predict(X), net.predict(X))


# -- the session alone: commands in, events out, no Qt ----------------------------------------------

class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, kind, payload):
        self.events.append((kind, payload))

    def of(self, kind):
        return [p for k, p in self.events if k == kind]

    def last(self, kind):
        return self.of(kind)[-1]


def test_the_session_takes_commands_and_publishes_snapshots():
    rec = Recorder()
    session = TrainingSession(Config.preset("gaussian-clouds"), rec)
    assert [k for k, _ in rec.events] == ["rebuilt", "snapshot"]
    assert rec.of("snapshot")[0].pass_count == 0
    session.handle(("step",))
    session.handle(("step",))
    snaps = rec.of("snapshot")
    assert [s.pass_count for s in snaps] == [0, 1, 2]
    trainer, losses = build(Config.preset("gaussian-clouds"))[2], []
    for _ in range(2):
        losses.append(trainer.step().trace.loss)
    assert [s.new_pass_losses.tolist() for s in snaps[1:]] == [[losses[0]], [losses[1]]]
    session.handle(("hyper", {"lr": 0.25}))
    assert session.trainer.lr == 0.25 and rec.of("snapshot")[-1].lr == 0.25
    session.handle(("no such thing",))
    assert "unknown training command" in rec.of("failed")[-1]
    assert all(hasattr(session, "cmd_" + name) for name in COMMANDS)


def test_the_session_module_imports_no_qt():
    """Run in a fresh interpreter: importing the session and training with it loads no Qt."""
    import subprocess
    import sys
    code = ("import sys; from bpviz.training import TrainingSession; "
            "from bpviz.engine import Config; "
            "s = TrainingSession(Config.preset('gaussian-clouds'), lambda k, p: None); "
            "s.handle(('step',)); "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_serve_plays_until_the_epoch_and_answers_queries_between_chunks():
    rec = Recorder()
    inbox = queue.Queue()
    config = configured(*CONFIGS[1])
    session = TrainingSession(config, rec)
    for command in (("run_epochs", 30), ("query", 7, "history"), ("shutdown",)):
        inbox.put(command)
    done = threading.Event()

    def receive(timeout):
        # the query and the shutdown wait until training has paused by itself at epoch 30
        if session.running and inbox.qsize() < 3:
            return None
        return queue_receiver(inbox)(timeout)

    thread = threading.Thread(target=lambda: (serve(session, receive), done.set()))
    thread.start()
    thread.join(120)
    assert done.is_set()
    trainer, losses = direct(config, 30)
    played = [x for s in rec.of("snapshot") for x in s.new_pass_losses.tolist()]
    assert played == losses
    assert session.trainer.epoch == 30 and not session.running
    (query_id, (header, rows)), = rec.of("answer")
    assert query_id == 7 and header[:2] == ["epoch", "loss"]
    assert np.array_equal(rows, trainer.history.table(), equal_nan=True)


def test_an_unknown_query_is_answered_with_an_error():
    rec = Recorder()
    session = TrainingSession(Config.preset("gaussian-clouds"), rec)
    session.handle(("query", 1, "nonsense"))
    (query_id, value), = rec.of("answer")
    assert query_id == 1 and "nonsense" in str(value)


def test_the_run_record_is_the_sessions_own_history_passes_and_path(monkeypatch):
    """What exports are given: the history row for row, every kept pass's loss (a rewind cuts
    them, the oldest go over the cap, Undo brings them back) and the trajectory."""
    from bpviz import training
    from bpviz.engine.tables import cost_tables
    monkeypatch.setattr(training, "MAX_PASS_ROWS", 4)
    rec = Recorder()
    config = configured(*CONFIGS[1])
    session = TrainingSession(config, rec)
    trainer, losses = build(config)[2], []
    for _ in range(3):
        session.handle(("step",))
        losses.append(trainer.step().trace.loss)
    seq_at_3 = rec.of("snapshot")[-1].seq
    record = session.run_record()
    assert record.passes[:, 1].tolist() == losses and record.pass_offset == 0
    np.testing.assert_array_equal(record.history, trainer.history.table())
    assert record.history_header == tuple(trainer.history.header(trainer.network.n_layers))
    np.testing.assert_array_equal(record.trajectory_passes, [0, 1, 2, 3])
    for _ in range(3):
        session.handle(("step",))
        losses.append(trainer.step().trace.loss)
    record = session.run_record()                  # over the cap: the oldest two went
    assert record.pass_offset == 2 and record.passes[:, 1].tolist() == losses[2:]
    passes = cost_tables(record.history_header, record.history, record.passes,
                         first_pass=record.pass_offset + 1)["passes"]
    assert [r[0] for r in passes.rows] == [3, 4, 5, 6]
    early = record.cost_snapshot(rec.of("snapshot")[-3])     # as it was after pass 4
    assert early.new_pass_losses.tolist() == losses[2:4]
    session.handle(("rewind", seq_at_3))
    assert session.run_record().passes[:, 1].tolist() == [losses[2]]
    session.handle(("reset",))
    assert len(session.run_record().passes) == 0
    session.handle(("undo",))
    assert session.run_record().passes[:, 1].tolist() == [losses[2]]


# -- the host: a spawned process or a thread ------------------------------------------------------

class Played:
    """A TrainingHost without a window: runs of epochs and every pass loss its snapshots carried."""

    def __init__(self, qtbot, config, processes):
        from bpviz.host import TrainingHost
        self.qtbot = qtbot
        from bpviz.ui.window.run_model import RunModel
        self.host = TrainingHost(config, processes=processes)
        self.model = RunModel(self.host, config)     # keeps the newest snapshot
        self.losses = []
        self.host.snapshotArrived.connect(
            lambda snap: self.losses.extend(snap.new_pass_losses.tolist()))
        self.host.start()
        qtbot.waitUntil(lambda: self.model.latest is not None, timeout=60000)

    def run(self, epochs):
        target = self.model.latest.epoch + epochs
        self.host.command(RunEpochs(epochs))
        self.qtbot.waitUntil(lambda: self.model.latest.epoch == target
                             and not self.model.latest.running, timeout=60000)
        return target

    def stop(self):
        self.host.stop()
        assert not self.host.alive()


@pytest.mark.run_modes("process", "thread")
@pytest.mark.parametrize("preset, overrides", CONFIGS)
def test_both_run_modes_give_the_same_passes_bit_for_bit(qtbot, run_mode, preset, overrides):
    config = configured(preset, overrides)
    played = Played(qtbot, config, processes=run_mode == "process")
    try:
        assert played.host.mode == run_mode
        epochs = played.run(40)
        stepped = played.model.latest.pass_count + 1
        played.host.command(Step())               # and commands in between
        qtbot.waitUntil(lambda: played.model.latest.pass_count == stepped, timeout=10000)
        epochs = played.run(20)
        history = played.host.query("history")
    finally:
        played.stop()
    trainer, expected = direct(config, epochs)
    assert played.losses[:len(expected)] == expected[:len(played.losses)]
    snap = played.model.latest
    # the step added one pass; train the direct run on to the same pass
    while trainer.pass_count < snap.pass_count:
        expected.append(trainer.step().trace.loss)
    assert played.losses == expected
    for W, expected_W in zip(snap.weights, trainer.network.weights):
        assert np.array_equal(W, expected_W)
    header, rows = history
    assert np.array_equal(rows, trainer.history.table(), equal_nan=True)


def test_the_training_process_is_spawned_and_reaped(qtbot):
    played = Played(qtbot, Config.preset("gaussian-clouds"), processes=True)
    process = played.host.process
    try:
        assert process.is_alive() and process.pid != __import__("os").getpid()
        played.host.command(Play())                # stopped while it trains
        qtbot.waitUntil(lambda: played.model.latest.running, timeout=10000)
    finally:
        played.stop()
    assert not process.is_alive() and process.exitcode is not None


def test_a_training_process_that_dies_leaves_training_exact_in_a_thread(qtbot):
    config = configured(*CONFIGS[1])
    played = Played(qtbot, config, processes=True)
    messages = []
    played.host.snapshotArrived.connect(lambda snap: snap.message and messages.append(snap.message))
    try:
        played.run(20)                                 # paused: the checkpoint is this state
        qtbot.waitUntil(lambda: played.host.checkpoint_state() is not None
                        and played.host.checkpoint_state()["epoch"] == 20)
        played.host.process.kill()
        qtbot.waitUntil(lambda: played.host.mode == "thread", timeout=20000)
        epochs = played.run(30)
    finally:
        played.stop()
    assert any("the training process stopped" in m for m in messages)
    trainer, expected = direct(config, epochs)
    assert played.losses == expected                  # no pass lost, none twice
    for W, expected_W in zip(played.model.latest.weights, trainer.network.weights):
        assert np.array_equal(W, expected_W)


def test_no_child_process_means_a_thread_and_a_word_about_it(qtbot, monkeypatch):
    from bpviz import host as worker

    def refuse(self):
        raise OSError("processes are not allowed here")
    monkeypatch.setattr(worker.TrainingHost, "_start_process", refuse)
    played = Played(qtbot, Config.preset("gaussian-clouds"), processes=True)
    try:
        assert played.host.mode == "thread"
        assert "processes are not allowed here" in played.model.latest.message
        played.run(2)
    finally:
        played.stop()


def test_processes_can_be_turned_off(monkeypatch):
    from bpviz.host import processes_enabled
    monkeypatch.setenv("BPVIZ_PROCESSES", "0")
    assert not processes_enabled()
    monkeypatch.setenv("BPVIZ_PROCESSES", "1")
    assert processes_enabled()


ORPHAN_SCRIPT = """
import os, sys
from PySide6.QtCore import QCoreApplication
from bpviz.engine import Config
from bpviz.host import TrainingHost

if __name__ == "__main__":
    app = QCoreApplication([])
    host = TrainingHost(Config.preset("gaussian-clouds"), processes=True)
    host.start()
    while host.received == 0:
        app.processEvents()
    print(host.process.pid, flush=True)
    os._exit(9)             # killed: no shutdown is sent, nothing is joined
"""


@pytest.mark.skipif(sys.platform == "win32", reason="checks a process id with os.kill(pid, 0)")
def test_a_training_process_does_not_outlive_a_killed_window(tmp_path):
    import os
    import subprocess
    import sys
    import time
    script = tmp_path / "killed_window.py"
    script.write_text(ORPHAN_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 9, out.stderr
    pid = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return                                      # it has gone
        try:                                            # gone but not reaped (a zombie) counts
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return
        except OSError:                                 # no /proc here (or it has just gone)
            pass
        time.sleep(0.1)
    os.kill(pid, 9)
    raise AssertionError("the training process outlived its window by 30 s")
