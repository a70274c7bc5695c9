"""Session files: bit-exact resume, atomic saving, refusing damaged or foreign files, the CLI.

``tests/data/session_v1.bpviz`` is a session written by format version 1; later versions must keep
reading it. Regenerate it only when deliberately replacing it: ``python -m tests.test_session``.
"""

import functools
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bpviz.cli import main
from bpviz.engine import Config, SessionError, build
from bpviz.engine import session as session_module
from bpviz.engine.session import FORMAT_VERSION, load_session, save_session
from bpviz.engine.trajectory import Trajectory, point_nbytes

FIXTURE_V1 = Path(__file__).parent / "data" / "session_v1.bpviz"


def run(preset="xor", **overrides):
    cfg = Config.preset(preset)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    _, _, trainer = build(cfg)
    return cfg, trainer


def assert_same_training(a, b):
    """Same weights, optimizer state, counters, shuffle stream and history, to the bit."""
    assert all(np.array_equal(x, y) for x, y in zip(a.network.parameters(), b.network.parameters()))
    assert np.array_equal(a.history.table(), b.history.table(), equal_nan=True)
    assert (a.epoch, a.pass_count, a.pass_in_epoch) == (b.epoch, b.pass_count, b.pass_in_epoch)
    sa, sb = a.optimizer.get_state(), b.optimizer.get_state()
    assert sa.keys() == sb.keys()
    for k in sa:
        if isinstance(sa[k], list):
            assert all(np.array_equal(x, y) for x, y in zip(sa[k], sb[k]))
        else:
            assert sa[k] == sb[k]
    assert a.shuffle_rng.randint(2 ** 31) == b.shuffle_rng.randint(2 ** 31)


# -- bit-exact resume --------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [0, 32])
def test_resume_is_bit_exact(tmp_path, optimizer, batch_size):
    cfg, straight = run(optimizer=optimizer, batch_size=batch_size)
    straight.run(epochs=5)

    cfg, first = run(optimizer=optimizer, batch_size=batch_size)
    first.run(epochs=3)
    save_session(tmp_path / "s.bpviz", first, cfg)
    resumed = load_session(tmp_path / "s.bpviz").trainer
    resumed.run(epochs=2)
    assert_same_training(resumed, straight)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("passes,peek", [(3, False), (0, True), (4, True)])
def test_resume_mid_epoch_is_bit_exact(tmp_path, optimizer, passes, peek):
    """Saved a few passes into an epoch, or after peek_batch drew the next epoch's order."""
    def prefix(trainer):
        trainer.run(epochs=2)
        for _ in range(passes):
            trainer.step()
        if peek:
            trainer.peek_batch()

    cfg, straight = run(optimizer=optimizer, batch_size=24)
    prefix(straight)
    straight.run(epochs=3)

    cfg, first = run(optimizer=optimizer, batch_size=24)
    prefix(first)
    assert first.pass_in_epoch == passes
    save_session(tmp_path / "s.bpviz", first, cfg)
    resumed = load_session(tmp_path / "s.bpviz").trainer
    resumed.run(epochs=3)
    assert_same_training(resumed, straight)


def test_live_hyper_parameters_trajectory_and_extra_come_back(tmp_path):
    cfg, trainer = run("moons", batch_size=32)
    trajectory = Trajectory(trainer.network,                    # 4 points: fills and thins fast
                            max_bytes=4 * point_nbytes(trainer.network.n_parameters))
    trajectory.record(trainer.network, 0)
    trainer.run(epochs=2, on_pass=lambda r: trajectory.record(trainer.network, trainer.pass_count))
    trainer.lr, trainer.momentum, trainer.batch_size, trainer.l2 = 0.05, 0.5, 50, 1e-3
    trainer.step()
    extra = {"selected": [1, 2], "surface_axes": [["weight", 0, 0, 1], ["bias", 1, 0, 0]],
             "pinned": 7, "note": "é"}
    save_session(tmp_path / "s.bpviz", trainer, cfg, trajectory=trajectory, extra=extra)

    s = load_session(tmp_path / "s.bpviz")
    assert (s.trainer.lr, s.trainer.momentum, s.trainer.batch_size, s.trainer.l2) == \
        (0.05, 0.5, 50, 1e-3)
    assert (s.config.lr, s.config.batch_size) == (cfg.lr, cfg.batch_size)
    assert s.config == cfg and s.extra == extra
    assert s.version == FORMAT_VERSION and s.bpviz_version
    assert s.network is s.trainer.network and s.dataset is s.trainer.dataset
    t = s.trajectory
    assert (t.capacity, t.stride, t.count, t.version) == \
        (trajectory.capacity, trajectory.stride, trajectory.count, trajectory.version)
    assert trajectory.stride > 1
    assert np.array_equal(t.points, trajectory.points) and np.array_equal(t.passes, trajectory.passes)
    assert all(np.array_equal(a, b) for a, b in zip(s.trainer.last_update, trainer.last_update))
    trainer.run(epochs=1)
    s.trainer.run(epochs=1)
    assert_same_training(s.trainer, trainer)


def test_a_diverged_run_keeps_its_divergence_and_rollback(tmp_path):
    cfg, trainer = run("plane", lr=100.0)
    assert trainer.run(epochs=500) is not None
    save_session(tmp_path / "s.bpviz", trainer, cfg)
    resumed = load_session(tmp_path / "s.bpviz").trainer
    assert resumed.diverged == trainer.diverged
    trainer.lr = resumed.lr = 150.0
    trainer.run(epochs=3)
    resumed.run(epochs=3)
    assert_same_training(resumed, trainer)
    assert resumed.diverged == trainer.diverged


def test_the_start_loss_and_divergence_factor_come_back(tmp_path):
    cfg, trainer = run("moons", batch_size=32, divergence_factor=200.0)
    trainer.run(epochs=2)
    trainer.network.weights[0][0, 0] += 1.0          # set by hand: the start stays the start
    trainer.divergence_factor = 300.0
    save_session(tmp_path / "s.bpviz", trainer, cfg)
    s = load_session(tmp_path / "s.bpviz")
    assert s.trainer.start_loss == trainer.start_loss == trainer.history.loss[0]
    assert s.trainer.divergence_factor == 300.0 and s.config.divergence_factor == 200.0
    s.trainer.run(epochs=2)
    trainer.run(epochs=2)
    assert_same_training(s.trainer, trainer)


def test_a_file_from_before_the_divergence_factor_takes_the_start_from_its_history(good, tmp_path):
    def older(m):
        for key in ("start_loss", "divergence_factor"):
            del m["trainer"][key]
        del m["config"]["divergence_factor"]
        return m
    s = load_session(rewrite(good, tmp_path / "old.bpviz", manifest=older))
    assert s.trainer.start_loss == s.trainer.history.loss[0] == load_session(good).trainer.start_loss
    assert s.trainer.divergence_factor == s.config.divergence_factor == 1000.0


def test_the_file_is_also_an_npz(tmp_path):
    cfg, trainer = run()
    save_session(tmp_path / "s.bpviz", trainer, cfg)
    with np.load(tmp_path / "s.bpviz") as npz:
        assert np.array_equal(npz["trainer/weights/0"], trainer.network.weights[0])


# -- CSV data ----------------------------------------------------------------------------------

def write_csv(path, rows=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(rows, 2)
    with open(path, "w") as f:
        f.write("a,b,kind\n")
        for x in X:
            f.write(f"{float(x[0])!r},{float(x[1])!r},{'left' if x[0] < 0 else 'right'}\n")


def csv_run(path):
    cfg = Config.preset("gaussian-clouds")
    cfg.dataset, cfg.data_file, cfg.hidden, cfg.activation, cfg.init = "csv", str(path), (5,), \
        "tanh", "xavier"
    cfg.optimizer, cfg.lr, cfg.batch_size, cfg.test_fraction, cfg.seed = "adam", 0.01, 16, 0.2, 0
    _, _, trainer = build(cfg)
    trainer.run(epochs=2)
    return cfg, trainer


def test_small_csv_data_is_stored_in_the_session(tmp_path):
    write_csv(tmp_path / "mine.csv")
    cfg, trainer = csv_run(tmp_path / "mine.csv")
    save_session(tmp_path / "s.bpviz", trainer, cfg)
    (tmp_path / "mine.csv").unlink()
    s = load_session(tmp_path / "s.bpviz")
    assert s.dataset.class_names == ("left", "right") and s.dataset.name == "mine"
    assert np.array_equal(s.dataset.X_test, trainer.dataset.X_test)
    trainer.run(epochs=2)
    s.trainer.run(epochs=2)
    assert_same_training(s.trainer, trainer)


@pytest.fixture
def large_csv_session(tmp_path, monkeypatch):
    """A session that refers to its CSV file instead of storing the data."""
    monkeypatch.setattr(session_module, "EMBED_LIMIT_BYTES", 0)
    write_csv(tmp_path / "big.csv")
    cfg, trainer = csv_run(tmp_path / "big.csv")
    save_session(tmp_path / "s.bpviz", trainer, cfg)
    with zipfile.ZipFile(tmp_path / "s.bpviz") as zf:
        assert json.loads(zf.read("session.json"))["dataset"]["kind"] == "file"
    return tmp_path / "s.bpviz", tmp_path / "big.csv", trainer


def test_large_csv_data_is_read_again_from_its_file(large_csv_session):
    path, csv_path, trainer = large_csv_session
    s = load_session(path)
    trainer.run(epochs=1)
    s.trainer.run(epochs=1)
    assert_same_training(s.trainer, trainer)


def test_a_csv_file_moved_with_its_session_is_found(large_csv_session, tmp_path):
    path, csv_path, _ = large_csv_session
    moved = tmp_path / "moved"
    moved.mkdir()
    path.rename(moved / path.name)
    csv_path.rename(moved / csv_path.name)
    assert load_session(moved / path.name).config.data_file == str(moved / csv_path.name)


def test_a_missing_or_changed_csv_file_is_refused(large_csv_session):
    path, csv_path, _ = large_csv_session
    write_csv(csv_path, seed=1)
    with pytest.raises(SessionError, match="s.bpviz: the CSV file .*big.csv has changed"):
        load_session(path)
    csv_path.unlink()
    with pytest.raises(SessionError, match="s.bpviz: the CSV file .*big.csv.* is missing"):
        load_session(path)


# -- atomic saving -----------------------------------------------------------------------------

def test_a_crash_mid_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    cfg, trainer = run()
    path = tmp_path / "s.bpviz"
    save_session(path, trainer, cfg)
    before = path.read_bytes()
    trainer.run(epochs=1)

    real_write = session_module._write_array
    written = []

    def crash_after_a_few(zf, name, array):
        if len(written) == 3:
            raise RuntimeError("power cut")
        real_write(zf, name, array)
        written.append(name)

    monkeypatch.setattr(session_module, "_write_array", crash_after_a_few)
    with pytest.raises(RuntimeError, match="power cut"):
        save_session(path, trainer, cfg)
    assert path.read_bytes() == before
    with pytest.raises(RuntimeError, match="power cut"):
        save_session(tmp_path / "new.bpviz", trainer, cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.bpviz"]
    load_session(path)


def test_extra_must_be_plain_json(tmp_path):
    cfg, trainer = run()
    with pytest.raises(TypeError, match="plain JSON"):
        save_session(tmp_path / "s.bpviz", trainer, cfg, extra={"bad": object()})
    assert list(tmp_path.iterdir()) == []


# -- damaged and foreign files -----------------------------------------------------------------

@functools.cache
def valid_session_bytes() -> bytes:
    """A small valid session (adam, mid-epoch, with a trajectory and extra)."""
    cfg, trainer = run(hidden=(3,), optimizer="adam", batch_size=64)
    trajectory = Trajectory(trainer.network)
    trajectory.record(trainer.network, 0)
    trainer.run(epochs=1)
    trainer.step()
    trajectory.record(trainer.network, trainer.pass_count)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.bpviz"
        save_session(path, trainer, cfg, trajectory=trajectory, extra={"selected": [1, 0]})
        return path.read_bytes()


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.bpviz"
    path.write_bytes(valid_session_bytes())
    return path


def rewrite(src, dst, manifest=None, arrays=()):
    """Copy session ``src`` to ``dst``, passing session.json through ``manifest`` (which returns
    the new JSON value) and replacing (an array) or dropping (None) the named arrays."""
    arrays = dict(arrays)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            name = info.filename.removesuffix(".npy")
            if info.filename == "session.json" and manifest:
                data = json.dumps(manifest(json.loads(data)))
            elif name in arrays:
                if arrays[name] is None:
                    continue
                buffer = io.BytesIO()
                np.save(buffer, arrays[name])
                data = buffer.getvalue()
            zout.writestr(info.filename, data)
    return dst


def edit(**changes):
    """A manifest editor: ``edit(version=2)`` or ``edit(**{"trainer.epoch": -1})``."""
    def apply(m):
        for dotted, value in changes.items():
            *parents, key = dotted.split(".")
            target = m
            for p in parents:
                target = target[p]
            target[key] = value
        return m
    return apply


def corrupt_cases(good, tmp_path):
    """name → (make bad.bpviz in tmp_path from the good session, part of the message expected)."""
    bad = tmp_path / "bad.bpviz"

    def foreign_zip():
        with open(bad, "wb") as f:
            np.savez(f, a=np.zeros(3))

    return {
        "text file": (lambda: bad.write_text("hello, not a session"),
                      "not a bpviz session file (not a zip archive, or truncated)"),
        "empty": (lambda: bad.write_bytes(b""), "not a zip archive, or truncated"),
        "truncated": (lambda: bad.write_bytes(good.read_bytes()[:-200]),
                      "not a zip archive, or truncated"),
        "missing file": (lambda: None, "no such file"),
        "foreign zip": (foreign_zip, "the archive has no session.json"),
        "missing member": (lambda: rewrite(good, bad, arrays={"trainer/weights/1": None}),
                           "missing member trainer/weights/1.npy"),
        "json not an object": (lambda: rewrite(good, bad, manifest=lambda m: [m]),
                               "format None, expected 'bpviz-session'"),
        "wrong format name": (lambda: rewrite(good, bad, manifest=edit(format="other-thing")),
                              "not a bpviz session file (format 'other-thing'"),
        "newer version": (lambda: rewrite(good, bad, manifest=edit(version=2)),
                          "written by a newer bpviz (format 2); this version reads up to 1"),
        "missing key": (lambda: rewrite(good, bad, manifest=lambda m: {
            k: v for k, v in m.items() if k != "trainer"}),
                        "session.json lacks trainer"),
        "bad config": (lambda: rewrite(good, bad, manifest=edit(**{"config.lr": -1})),
                       "the saved configuration is not valid: learning rate must be a number "
                       "from 0.000001 to 1000000; got -1"),
        "wrong shape": (lambda: rewrite(good, bad, arrays={"trainer/weights/0": np.zeros((5, 5))}),
                        "weights 0 has shape (5, 5), the network needs (2, 3)"),
        "non-finite weights": (lambda: rewrite(good, bad,
                                               arrays={"trainer/biases/1": np.full(2, np.nan)}),
                               "biases 1 are not all finite"),
        "checksum": (lambda: rewrite(good, bad, manifest=edit(**{"dataset.sha256": "0" * 64})),
                     "differs from the data the session was trained on (checksum mismatch"),
        "generator position": (lambda: rewrite(good, bad, manifest=edit(
            **{"trainer.shuffle_rng.state.pos": 100000})), "not a valid MT19937 state"),
        "order": (lambda: rewrite(good, bad, arrays={"trainer/order": np.zeros(320, dtype=int)}),
                  "not a permutation of the 320 training samples"),
        "pickled objects": (lambda: rewrite(good, bad, arrays={
            "trainer/weights/0": np.array([[None] * 3] * 2)}), "holds Python objects"),
        "trajectory": (lambda: rewrite(good, bad, arrays={"trajectory/points": np.zeros((2, 4))}),
                       "the saved trajectory does not fit"),
        "start loss": (lambda: rewrite(good, bad, manifest=edit(**{"trainer.start_loss": -1})),
                       "start loss must be a finite number ≥ 0"),
        "seed out of range": (lambda: rewrite(good, bad, manifest=edit(
            **{"config.seed": 3000000000})), "the saved configuration is not valid: seed must be "
                                             "a whole number from 0 to 2147483647; got 3000000000"),
        "live batch size out of range": (lambda: rewrite(good, bad, manifest=edit(
            **{"trainer.batch_size": 3000000000})), "the saved training state is not valid: "
                                                    "batch size must be a whole number from 0 to "
                                                    "100000; got 3000000000"),
        "live rate out of range": (lambda: rewrite(good, bad, manifest=edit(
            **{"trainer.lr": 1e308})), "learning rate must be a number from 0.000001 to 1000000; "
                                       "got 1e308"),
        "divergence factor": (lambda: rewrite(good, bad, manifest=edit(
            **{"trainer.divergence_factor": 0.5})),
                              "divergence factor must be 0 (off) or a number from 1 to 1e12"),
    }


CASES = list(corrupt_cases(Path("x"), Path("y")))


@pytest.mark.parametrize("case", CASES)
def test_damaged_or_foreign_files_are_refused_with_the_file_name(good, tmp_path, case):
    make, message = corrupt_cases(good, tmp_path)[case]
    make()
    with pytest.raises(SessionError) as info:
        load_session(tmp_path / "bad.bpviz")
    text = str(info.value)
    assert text.startswith(f"{tmp_path / 'bad.bpviz'}: ") and "\n" not in text
    assert message in text


# -- decompression bombs: refused from the declared sizes, before anything is inflated ------------

def bomb(src, dst, member, inflated_bytes):
    """Copy session ``src`` to ``dst`` with ``member`` replaced by a valid .npy of zeros that
    inflates to ``inflated_bytes`` (deflate makes it about a thousand times smaller), written a
    megabyte at a time so that making it costs no memory either."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (inflated_bytes // 8,)})
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info.filename, zin.read(info))
                continue
            info = zipfile.ZipInfo(member)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(info, "w", force_zip64=True) as f:
                f.write(header.getvalue())
                left = inflated_bytes - inflated_bytes % 8
                while left:
                    f.write(zeros[:min(left, len(zeros))])
                    left -= min(left, len(zeros))
    return dst


def load_measured(path, monkeypatch):
    """load_session(path) → (the SessionError, peak bytes allocated, members opened)."""
    import tracemalloc
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    tracemalloc.start()
    try:
        with pytest.raises(SessionError) as info:
            load_session(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return info.value, peak, opened


def test_a_member_that_inflates_far_past_the_configuration_is_refused_unread(good, tmp_path,
                                                                            monkeypatch):
    """The session's 2-3-2 network has 6 weights in its first layer (at most 64 × 3 for any
    input a dataset may have): a weights member declaring 256 MB is refused from the zip
    directory, never opened, at next to no memory."""
    path = bomb(good, tmp_path / "bomb.bpviz", "trainer/weights/0.npy", 256 * 1024 ** 2)
    assert path.stat().st_size < 2 * 1024 ** 2
    error, peak, opened = load_measured(path, monkeypatch)
    assert str(error).startswith(f"{path}: member trainer/weights/0.npy declares 268,435,584 "
                                 f"bytes, "), error
    # the limit: 64 × 3 weights of 8 bytes, and room for the .npy header
    limit = 64 * 3 * 8 + session_module.NPY_HEADER_BYTES
    assert str(error).endswith(f"more than this session's configuration can need ({limit:,}); "
                               f"refused unread")
    assert "trainer/weights/0.npy" not in opened and opened == ["session.json"]
    assert peak < 2 * 1024 ** 2


def test_history_and_order_are_limited_by_the_run_they_belong_to(good, tmp_path, monkeypatch):
    """The history holds a row per epoch done and the order an entry per sample: more declared
    than that is refused before it is read."""
    for member in ("trainer/history/loss.npy", "trainer/order.npy"):
        path = bomb(good, tmp_path / "b.bpviz", member, 64 * 1024 ** 2)
        error, peak, opened = load_measured(path, monkeypatch)
        assert f"member {member} declares 67,108,992 bytes" in str(error)
        assert member not in opened
        assert peak < 2 * 1024 ** 2


def test_all_members_together_are_capped(good, tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "MAX_SESSION_BYTES", 4096)
    error, _, opened = load_measured(good, monkeypatch)
    assert "arrays declare" in str(error) and "more than the 4,096 bpviz allows" in str(error)
    assert opened == ["session.json"]


def test_a_manifest_that_inflates_past_its_cap_is_refused_unread(good, tmp_path, monkeypatch):
    path = tmp_path / "m.bpviz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "session.json":      # valid JSON, padded with 40 MB of spaces
                data = data + b" " * (40 * 1024 ** 2)
            zout.writestr(info.filename, data)
    error, peak, opened = load_measured(path, monkeypatch)
    assert "member session.json is larger than bpviz allows" in str(error)
    assert opened == [] and peak < 2 * 1024 ** 2


def test_an_array_header_larger_than_its_member_is_refused_before_allocating(good, tmp_path,
                                                                             monkeypatch):
    """A small member whose .npy header claims a huge shape: the header is read (a few bytes),
    nothing is allocated for the shape it claims."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10 ** 9,)})
    path = tmp_path / "h.bpviz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "trainer/weights/0.npy":
                data = header.getvalue() + bytes(64)
            zout.writestr(info.filename, data)
    error, peak, _ = load_measured(path, monkeypatch)
    assert "trainer/weights/0.npy: an array of shape (1000000000,) is larger than" in str(error)
    assert peak < 2 * 1024 ** 2


def test_damaged_member_data_is_refused(good, tmp_path):
    """A flipped byte inside a compressed member fails its CRC: refused, never loaded."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("trainer/weights/0.npy")
    data[info.header_offset + 30 + len(info.filename) + 5] ^= 0xFF
    bad = tmp_path / "bad.bpviz"
    bad.write_bytes(bytes(data))
    with pytest.raises(SessionError, match="bad.bpviz: damaged or not a bpviz session file"):
        load_session(bad)


@settings(max_examples=100, deadline=None)
@given(st.one_of(
    st.binary(max_size=2048),
    st.tuples(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                       min_size=1, max_size=6),
              st.floats(0, 1)),
))
def test_any_bytes_either_load_or_raise_session_error(example):
    if isinstance(example, bytes):
        data = example
    else:
        changes, keep = example
        data = bytearray(valid_session_bytes())
        for where, value in changes:
            data[int(where * len(data))] = value
        data = bytes(data[:max(1, int(keep * len(data)))] if keep < 0.9 else data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.bpviz"
        path.write_bytes(data)
        try:
            load_session(path)
        except SessionError as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)


# -- the committed version 1 file --------------------------------------------------------------

def write_v1_fixture(path: Path) -> None:
    """What ``tests/data/session_v1.bpviz`` holds: xor, momentum, mini-batches, saved 3 passes
    into epoch 3 with a live learning rate of 0.05, a trajectory and window selections."""
    cfg, trainer = run("xor")
    trajectory = Trajectory(trainer.network)
    trajectory.record(trainer.network, 0)
    trainer.run(epochs=2, on_pass=lambda r: trajectory.record(trainer.network, trainer.pass_count))
    trainer.lr = 0.05
    for _ in range(3):
        trainer.step()
    save_session(path, trainer, cfg, trajectory=trajectory,
                 extra={"selected": [1, 2], "pinned": 5})


def test_the_version_1_file_still_loads():
    s = load_session(FIXTURE_V1)
    assert s.version == 1 and s.bpviz_version == "0.1.0"
    c = s.config
    assert (c.dataset, c.hidden, c.optimizer, c.lr, c.batch_size) == ("xor", (4,), "momentum",
                                                                       0.1, 32)
    assert s.dataset.name == "xor" and s.network.sizes == [2, 4, 2]
    assert s.extra == {"selected": [1, 2], "pinned": 5}
    t = s.trainer
    assert (t.epoch, t.pass_in_epoch, t.pass_count, t.lr) == (2, 3, 23, 0.05)
    assert len(t.history) == 3 and s.trajectory.count == 21
    assert len(t.peek_batch()) == 32
    assert t.start_loss == t.history.loss[0] and t.divergence_factor == 1000.0   # not in the file
    with np.load(FIXTURE_V1) as saved:
        assert np.array_equal(t.network.weights[1], saved["trainer/weights/1"])
        assert np.array_equal(t.optimizer.state["velocity"][0], saved["trainer/optimizer/velocity/0"])
    t.run(epochs=2)
    assert t.epoch == 4 and np.isfinite(t.history.loss).all()


# -- the command line --------------------------------------------------------------------------

def test_cli_resume_equals_training_straight_through(tmp_path, capsys):
    common = ["train", "--preset", "moons", "--batch-size", "24"]
    assert main(common + ["--epochs", "3", "--out", str(tmp_path / "A")]) == 0
    assert (tmp_path / "A" / "session.bpviz").is_file()
    assert main(["train", "--resume", str(tmp_path / "A" / "session.bpviz"), "--epochs", "2",
                 "--out", str(tmp_path / "B")]) == 0
    assert main(common + ["--epochs", "5", "--out", str(tmp_path / "C")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == out[2] and "epochs 5" in out[1]
    b, c = tmp_path / "B", tmp_path / "C"
    assert (b / "history.csv").read_bytes() == (c / "history.csv").read_bytes()
    with np.load(b / "weights.npz") as wb, np.load(c / "weights.npz") as wc:
        assert wb.files == wc.files and all(np.array_equal(wb[k], wc[k]) for k in wb.files)
    assert json.loads((b / "config.json").read_text())["epochs_done"] == 5


def test_cli_resume_defaults_to_the_sessions_folder_and_takes_new_rates(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["train", "--preset", "moons", "--epochs", "2", "--out", str(folder)]) == 0
    assert main(["train", "--resume", str(folder / "session.bpviz"), "--epochs", "1",
                 "--lr", "0.02", "--momentum", "0.5", "--batch-size", "10", "--l2", "0.01"]) == 0
    s = load_session(folder / "session.bpviz")
    assert s.trainer.epoch == 3
    assert (s.trainer.lr, s.trainer.momentum, s.trainer.batch_size, s.trainer.l2) == \
        (0.02, 0.5, 10, 0.01)
    assert json.loads((folder / "config.json").read_text())["live"]["lr"] == 0.02
    assert len((folder / "history.csv").read_text().splitlines()) == 1 + 3


@pytest.mark.parametrize("extra_args,fragment", [
    (["--hidden", "4"], "--hidden cannot be used with --resume"),
    (["--preset", "moons"], "--preset cannot be used with --resume"),
    (["--data", "x.csv"], "--data cannot be used with --resume"),
    (["--seed", "0"], "--seed cannot be used with --resume"),
    (["--standardize"], "--standardize cannot be used with --resume"),
    ([], "--resume needs --epochs"),
])
def test_cli_resume_refuses_flags_that_change_the_network_or_data(tmp_path, capsys, extra_args,
                                                                  fragment):
    assert main(["train", "--preset", "xor", "--epochs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    epochs = ["--epochs", "1"] if fragment != "--resume needs --epochs" else []
    assert main(["train", "--resume", str(tmp_path / "session.bpviz"), *epochs, *extra_args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err


def test_cli_resume_measures_divergence_from_the_start_of_the_run(tmp_path, capsys):
    assert main(["train", "--preset", "gaussian-clouds", "--epochs", "50",
                 "--out", str(tmp_path)]) == 0
    session = str(tmp_path / "session.bpviz")
    capsys.readouterr()
    assert main(["train", "--resume", session, "--epochs", "5", "--lr", "1e6",
                 "--out", str(tmp_path / "B")]) == 3
    assert "the loss jumped from 2.1 to" in capsys.readouterr().err   # not from where it resumed
    assert main(["train", "--resume", session, "--epochs", "5", "--lr", "1e6",
                 "--divergence-factor", "0", "--out", str(tmp_path / "C")]) == 0
    s = load_session(tmp_path / "C" / "session.bpviz")
    assert s.trainer.divergence_factor == 0 and s.trainer.epoch == 55
    assert main(["train", "--resume", session, "--epochs", "1", "--divergence-factor", "-3"]) == 2
    assert "--divergence-factor must be 0 (off) or a number from 1 to 1e12; got -3" in \
        capsys.readouterr().err


def test_cli_resume_checks_the_new_rates(tmp_path, capsys):
    assert main(["train", "--preset", "xor", "--epochs", "1", "--out", str(tmp_path)]) == 0
    session = str(tmp_path / "session.bpviz")
    capsys.readouterr()
    assert main(["train", "--resume", session, "--epochs", "1", "--momentum", "1.5"]) == 2
    assert "--momentum must be a number at least 0 and less than 1; got 1.5" in \
        capsys.readouterr().err
    assert main(["train", "--preset", "spiral", "--epochs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", session, "--epochs", "1", "--momentum", "0.5"]) == 2
    assert "no effect on the session's adam optimizer" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["truncated", "newer version", "wrong shape", "missing file"])
def test_cli_bad_session_is_one_line_and_exit_2(good, tmp_path, capsys, case):
    make, message = corrupt_cases(good, tmp_path)[case]
    make()
    assert main(["train", "--resume", str(tmp_path / "bad.bpviz"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.bpviz" in err and message in err


def test_cli_bad_session_in_a_fresh_process_has_no_traceback(good, tmp_path):
    bad = tmp_path / "bad.bpviz"
    bad.write_bytes(good.read_bytes()[:500])
    p = subprocess.run([sys.executable, "-m", "bpviz", "train", "--resume", str(bad), "--epochs",
                        "1"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip() == f"bpviz train: {bad}: not a bpviz session file (not a zip " \
                               f"archive, or truncated)"


if __name__ == "__main__":
    FIXTURE_V1.parent.mkdir(exist_ok=True)
    write_v1_fixture(FIXTURE_V1)
    print(f"wrote {FIXTURE_V1}")
