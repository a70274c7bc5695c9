"""Every buffer the training session keeps holds its stated cap, filled by a big network: its real
size (array bytes, and ``deep_sizeof`` of the object) is checked against the cap."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import passlog, trajectory as trajectory_module
from bpviz.engine.config import Config, build
from bpviz.engine.memory import deep_sizeof
from bpviz.engine.network import Network
from bpviz.engine.passlog import MAX_PASS_ROWS, PassLog
from bpviz.engine.session import load_session, save_session
from bpviz.engine.trajectory import DEFAULT_MAX_BYTES, Trajectory, point_nbytes

MiB = 1024 * 1024
HEADER_SLACK = 4096          # array and object headers around the capped data


def big_network(hidden, inputs=2, outputs=3) -> Network:
    return Network([inputs, *hidden, outputs], "tanh", "softmax", init="xavier", seed=0)


def test_stated_caps():
    """The figures the README and the docstrings state."""
    assert DEFAULT_MAX_BYTES == 4 * MiB
    assert MAX_PASS_ROWS * 3 * 8 == 6_000_000          # "6 MB at most"
    assert "4 MiB" in trajectory_module.__doc__ and "6 MB" in passlog.__doc__


@pytest.mark.parametrize("hidden", [(64,) * 4, (256,) * 4, (512,) * 8],
                         ids=["4x64", "4x256", "8x512"])
def test_the_trajectory_holds_its_cap_for_any_network(hidden):
    net = big_network(hidden)
    traj = Trajectory(net)
    rng = np.random.default_rng(0)
    for k in range(200):                 # fills, thins, fills again
        net.weights[0][0, 0] = rng.standard_normal()
        traj.record(net, k)
    assert traj.nbytes <= DEFAULT_MAX_BYTES
    assert deep_sizeof(traj) <= DEFAULT_MAX_BYTES + HEADER_SLACK
    fit = DEFAULT_MAX_BYTES // point_nbytes(net.n_parameters)
    if fit >= 2:
        assert traj.recording and traj.capacity == fit and 0 < traj.count <= fit
        # the newest recorded point is the parameters as they were at its pass
        assert traj.points[-1][0] == net.weights[0][0, 0] or traj.stride > 1
    else:                                # 8×512: 1.8 million parameters, 15 MB a point
        assert not traj.recording and traj.count == 0 and traj.nbytes == 0


def test_a_session_with_a_path_over_todays_cap_is_read_and_thinned_to_it(tmp_path):
    """Files written when the path kept 64 points of any network still open; the path comes
    back thinned (every other point) to what the cap holds."""
    config = Config(hidden=(128, 128), activation="tanh", init="xavier", batch_size=32, lr=0.1)
    _, net, trainer = build(config)
    point = point_nbytes(net.n_parameters)
    assert 64 * point > DEFAULT_MAX_BYTES
    old = Trajectory(net, max_bytes=64 * point)           # the old 64-point trajectory
    for _ in range(64):
        trainer.step()
        old.record(net, trainer.pass_count)
    assert old.count == 64 and old.nbytes > DEFAULT_MAX_BYTES
    save_session(tmp_path / "old.bpviz", trainer, config, trajectory=old)
    back = load_session(tmp_path / "old.bpviz").trajectory
    assert back.nbytes <= DEFAULT_MAX_BYTES and back.count <= back.capacity
    assert back.stride > old.stride
    k = len(old.passes) // len(back.passes)
    np.testing.assert_array_equal(back.passes, old.passes[::k][:back.count])
    np.testing.assert_array_equal(back.points, old.points[::k][:back.count])


def test_a_session_saved_with_a_path_is_bounded_by_the_cap(tmp_path):
    """A window's session of a 4×256 network: the path is no longer most of the file."""
    config = Config(hidden=(256,) * 4, activation="tanh", init="xavier", batch_size=32, lr=0.01)
    _, net, trainer = build(config)
    traj = Trajectory(net)
    for _ in range(20):
        trainer.step()
        traj.record(net, trainer.pass_count)
    save_session(tmp_path / "s.bpviz", trainer, config, trajectory=traj)
    size = (tmp_path / "s.bpviz").stat().st_size
    without = tmp_path / "none.bpviz"
    save_session(without, trainer, config)
    assert size - without.stat().st_size <= DEFAULT_MAX_BYTES + 64 * 1024
    assert size < 12 * MiB


def test_the_pass_log_holds_its_cap():
    log = PassLog()
    ring = log.nbytes
    assert ring == MAX_PASS_ROWS * 3 * 8
    for k in range(MAX_PASS_ROWS + 1000):        # more passes than it keeps
        log.append(k + 1, (k + 1) / 47, 1.0 / (k + 1))
    assert len(log) == MAX_PASS_ROWS and log.nbytes == ring
    assert deep_sizeof(log) <= 6_000_000 + HEADER_SLACK
    table = log.table()
    assert table.shape == (MAX_PASS_ROWS, 3)
    assert table[0, 0] == 1001 and table[-1, 0] == MAX_PASS_ROWS + 1000     # the newest kept
    np.testing.assert_array_equal(table[:, 2], 1.0 / table[:, 0])


def test_the_pass_log_gives_the_passes_since_one_and_drops_after_a_rewind():
    log = PassLog(capacity=5)
    for k in range(1, 8):                            # passes 3..7 are kept
        log.append(k, k / 10, 100.0 + k)
    assert log.since(4)[:, 0].tolist() == [5, 6, 7]
    assert log.since(0)[:, 0].tolist() == [3, 4, 5, 6, 7]
    assert len(log.since(7)) == 0 and log.last_pass() == 7
    log.drop_after(5)
    assert log.table()[:, 0].tolist() == [3, 4, 5] and log.last_pass() == 5
    log.append(6, 0.6, 1.5)
    assert log.table()[:, 2].tolist() == [103.0, 104.0, 105.0, 1.5]
    log.drop_after(0)
    assert len(log) == 0 and len(log.table()) == 0 and log.last_pass() is None


def test_the_history_holds_its_cap_of_rows():
    """The window's history (HISTORY_ROWS rows) of an 8x512 network: 14 columns a row."""
    from bpviz.engine.trainer import History
    from bpviz.training import HISTORY_ROWS
    history = History(max_rows=HISTORY_ROWS)
    layers = 9
    cap = HISTORY_ROWS * (5 + layers) * 8
    for epoch in range(HISTORY_ROWS + 5000):
        history.append(epoch, 1.0, 0.5, 1.0, 0.5, np.ones(layers))
    assert len(history) <= HISTORY_ROWS
    assert deep_sizeof(history) <= cap + HEADER_SLACK
    epochs = history.epoch
    assert epochs[-1] == HISTORY_ROWS + 4999 and np.all(np.diff(epochs) > 0)


def big_session(hidden, events=None):
    from bpviz.training import TrainingSession
    config = Config(hidden=hidden, activation="tanh", init="xavier", batch_size=32, lr=0.01,
                    optimizer="momentum", momentum=0.9)
    return TrainingSession(config, events if events is not None else (lambda kind, payload: None))


@pytest.mark.parametrize("hidden", [(256,) * 4, (512,) * 8], ids=["4x256", "8x512"])
def test_rewind_checkpoints_hold_their_cap(hidden):
    """Training states for rewinding: 8 MB, or the newest one when a single one is larger."""
    from bpviz.engine.trainer import state_nbytes
    from bpviz.training import CHECKPOINT_BYTES
    session = big_session(hidden)
    for _ in range(12):
        session.handle(("step",))                 # a snapshot, and a training state, each
    count, size = session.checkpoints_size()
    one = state_nbytes(session.trainer.get_state(history=False))
    if one <= CHECKPOINT_BYTES:
        assert count == CHECKPOINT_BYTES // one or count == CHECKPOINT_BYTES // one - 1
        assert count >= 1 and size <= CHECKPOINT_BYTES
    else:
        assert count == 1 and size <= one * 1.05


def test_runs_set_aside_for_undo_hold_their_cap():
    """Undo's runs: UNDO_BYTES, or the newest one when a single one is larger; Undo still brings
    the newest back."""
    from bpviz.training import UNDO_BYTES, UNDO_DEPTH
    session = big_session((256,) * 4)
    for k in range(5):
        for _ in range(2):
            session.handle(("step",))
        session.handle(("reset",))
    count, size = session.undo_size()
    assert 1 <= count <= UNDO_DEPTH and size <= UNDO_BYTES
    assert count < 5                                   # a 4x256 run is too big to keep five
    session.handle(("undo",))
    assert session.trainer.pass_count == 2


def test_a_session_holds_a_big_network_within_its_caps():
    """The training session of an 8x512 network: its path, pass log and history within their
    caps after passes."""
    session = big_session((512,) * 8)
    for _ in range(3):
        session.handle(("step",))
    record = session.run_record()
    assert record.trajectory.nbytes == 0                  # no path: not even two points fit
    assert len(record.passes) == 3


def test_a_session_of_a_network_too_big_for_a_path_saves_and_opens(tmp_path):
    config = Config(hidden=(512,) * 8, activation="tanh", init="xavier", batch_size=32, lr=0.01)
    _, net, trainer = build(config)
    traj = Trajectory(net)
    trainer.step()
    traj.record(net, trainer.pass_count)
    assert not traj.recording
    save_session(tmp_path / "big.bpviz", trainer, config, trajectory=traj)
    back = load_session(tmp_path / "big.bpviz")
    assert back.trajectory.count == 0 and back.trajectory.nbytes == 0
    np.testing.assert_array_equal(back.network.weights[3], net.weights[3])
