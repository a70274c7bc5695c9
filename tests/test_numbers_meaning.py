"""Every number is what its label says: the per-layer gradient norms of the history and the cost
panel, a zero norm on the panel, the surface slice's age, the Controls' sample count, the notes
of a configuration, and the loss `snapshot` prints."""

import csv
import json

import numpy as np
import pytest

from bpviz.engine import Config, build
from bpviz.engine.snapshot import make_snapshot
from bpviz.ui.panels.cost import ZERO_LABEL, CostView


# -- an independent computation: plain numpy, written here -------------------------------------

def numpy_gradient_norms(X, T, weights, biases, hidden, output, l2):
    """‖(∂L/∂W[l] + λ·W[l], ∂L/∂b[l])‖ of every layer over all of (X, T), L the mean loss,
    computed with plain numpy from the formulas (relu or tanh hidden layers, softmax with
    cross-entropy or a linear output with ½ squared error)."""
    acts, zs = [X], []
    a = X
    for k, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W + b
        zs.append(z)
        if k < len(weights) - 1:
            a = np.maximum(z, 0.0) if hidden == "relu" else np.tanh(z)
        elif output == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = z
        acts.append(a)
    N = len(X)
    delta = acts[-1] - T                     # softmax + cross-entropy, or linear + ½ squared error
    norms = [None] * len(weights)
    for k in range(len(weights) - 1, -1, -1):
        gW = acts[k].T @ delta / N + l2 * weights[k]
        gb = delta.mean(axis=0)
        norms[k] = np.sqrt((gW ** 2).sum() + (gb ** 2).sum())
        if k:
            d = (zs[k - 1] > 0).astype(float) if hidden == "relu" else 1 - np.tanh(zs[k - 1]) ** 2
            delta = (delta @ weights[k].T) * d
    return np.array(norms)


@pytest.fixture
def csv_2000(tmp_path):
    """A CSV of 2,000 rows: 3 numeric features and a class label."""
    rng = np.random.RandomState(7)
    X = rng.randn(2000, 3)
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.4).astype(int) + (X[:, 2] > 1).astype(int)
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "label"])
        for row, label in zip(X, y):
            w.writerow([*(f"{v:.6f}" for v in row), f"class{label}"])
    return path


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_history_grad_norms_are_the_whole_training_sets_gradient_at_the_epochs_weights(csv_2000, l2):
    cfg = Config(dataset="csv", data_file=str(csv_2000), test_fraction=0.2, standardize=True,
                 hidden=(16, 16, 16), activation="relu", init="he", seed=3, optimizer="momentum",
                 lr=0.05, momentum=0.9, batch_size=32, l2=l2)
    ds, net, trainer = build(cfg)
    assert len(ds.X_train) == 1600 and not trainer.full_batch
    starts, first_batches = [], []
    for _ in range(5):
        starts.append(([w.copy() for w in net.weights], [b.copy() for b in net.biases]))
        first_batches.append(trainer.peek_batch().copy())    # the epoch's first pass takes it
        trainer.run_epoch()
    T = ds.targets(ds.y_train)
    norms = trainer.history.grad_norms
    assert norms.shape == (5, 4)
    for e, (W, b) in enumerate(starts):
        want = numpy_gradient_norms(ds.X_train, T, W, b, "relu", "softmax", l2)
        np.testing.assert_allclose(norms[e], want, rtol=1e-10)
        # and not the epoch's first mini-batch's gradient, which differs
        idx = first_batches[e]
        batch = numpy_gradient_norms(ds.X_train[idx], T[idx], W, b, "relu", "softmax", l2)
        assert not np.allclose(norms[e], batch, rtol=1e-2)


def test_history_csv_written_by_train_holds_the_whole_training_sets_norms(tmp_path, csv_2000):
    from bpviz.cli import main
    out = tmp_path / "run"
    assert main(["train", "--data", str(csv_2000), "--hidden", "12,12", "--activation", "relu",
                 "--batch-size", "32", "--l2", "0.001", "--lr", "0.05", "--epochs", "3",
                 "--out", str(out)]) == 0
    with open(out / "history.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], np.array(rows[1:], dtype=float)
    columns = [header.index(f"grad_norm_{l}") for l in (1, 2, 3)]
    config = Config.from_dict(json.loads((out / "config.json").read_text())["config"])
    ds, net, trainer = build(config)             # the same run: its weights at every epoch's start
    T = ds.targets(ds.y_train)
    for e in range(3):
        want = numpy_gradient_norms(ds.X_train, T, net.weights, net.biases, "relu", "softmax",
                                    0.001)
        np.testing.assert_allclose(rows[e, columns], want, rtol=1e-9)
        trainer.run_epoch()


def test_a_big_training_set_is_summed_in_chunks_to_the_same_norms(make_run, monkeypatch):
    from bpviz.engine import trainer as trainer_module
    _, ds, net, trainer = make_run("moons", hidden=(6, 5), batch_size=16, l2=0.02)
    monkeypatch.setattr(trainer_module, "EPOCH_ROW_BYTES", 8 * 3 * sum(net.sizes) * 7)  # 7 rows
    W, b = [w.copy() for w in net.weights], [x.copy() for x in net.biases]
    before = trainer.evaluate(trainer.X, trainer.T, trainer.labels)
    trainer.run_epoch()
    want = numpy_gradient_norms(ds.X_train, ds.targets(ds.y_train), W, b, "tanh", "softmax", 0.02)
    np.testing.assert_allclose(trainer.history.grad_norms[0], want, rtol=1e-10)
    assert (trainer.history.loss[0], trainer.history.accuracy[0]) == before


def test_full_batch_history_norms_include_the_l2_term(make_run):
    _, ds, net, trainer = make_run("plane", hidden=(4,), l2=0.05)
    W, b = [w.copy() for w in net.weights], [x.copy() for x in net.biases]
    trainer.run_epoch()
    want = numpy_gradient_norms(ds.X_train, ds.targets(ds.y_train), W, b, "tanh", "linear", 0.05)
    np.testing.assert_allclose(trainer.history.grad_norms[0], want, rtol=1e-10)
    no_l2 = numpy_gradient_norms(ds.X_train, ds.targets(ds.y_train), W, b, "tanh", "linear", 0.0)
    assert not np.allclose(want, no_l2)


def test_the_cost_panel_draws_the_historys_norms(qtbot, csv_2000):
    cfg = Config(dataset="csv", data_file=str(csv_2000), test_fraction=0.2, standardize=True,
                 hidden=(8, 8), activation="relu", init="he", seed=1, lr=0.05, batch_size=64)
    ds, net, trainer = build(cfg)
    starts = []
    for _ in range(3):
        starts.append(([w.copy() for w in net.weights], [b.copy() for b in net.biases]))
        trainer.run_epoch()
    view = CostView()
    qtbot.addWidget(view)
    view.resize(700, 450)
    view.ingest(make_snapshot(trainer, seq=1, running=False, trace=trainer.last_trace,
                              trace_weights=None, trace_biases=None, new_pass_losses=[],
                              new_pass_positions=[]))
    view.show_snapshot()
    T = ds.targets(ds.y_train)
    want = np.array([numpy_gradient_norms(ds.X_train, T, W, b, "relu", "softmax", 0.0)
                     for W, b in starts])
    for l in (1, 2, 3):
        x, y = view.drawn_gradient(l)
        np.testing.assert_array_equal(x, [0, 1, 2])
        np.testing.assert_allclose(y, want[:, l - 1], rtol=1e-9)


# -- a norm of exactly 0 on the log axis ----------------------------------------------------------

def snapshot_with_norms(make_snap, norms):
    """A snapshot of a 2-4-4-3 network whose history rows hold ``norms`` (epochs 0, 1, ...)."""
    snap = make_snap("gaussian-clouds", passes=1, hidden=(4, 4))
    header = list(snap.history_header)
    rows = np.zeros((len(norms), len(header)))
    rows[:, header.index("epoch")] = np.arange(len(norms))
    rows[:, header.index("loss")] = np.linspace(2.0, 1.0, len(norms))
    rows[:, header.index("accuracy")] = 0.5
    rows[:, header.index("test_loss")] = np.nan
    rows[:, header.index("test_accuracy")] = np.nan
    for l in range(3):
        rows[:, header.index(f"grad_norm_{l + 1}")] = [n[l] for n in norms]
    import dataclasses
    return dataclasses.replace(snap, new_history=rows, history_length=len(norms),
                               new_pass_losses=np.zeros(0), new_pass_positions=np.zeros(0))


def test_a_zero_norm_is_drawn_on_a_marked_floor(qtbot, make_snap):
    view = CostView()
    qtbot.addWidget(view)
    view.resize(700, 450)
    view.show()
    norms = [(0.02, 0.5, 1.0), (0.003, 0.4, 0.9), (0.0, 0.3, 0.8), (0.0, 0.2, 0.7)]
    view.ingest(snapshot_with_norms(make_snap, norms))
    view.show_snapshot()
    floor = view.zero_floor()
    assert 0 < floor < 0.003 and floor == pytest.approx(1e-4)   # a decade below 0.003
    x, y = view.drawn_gradient(1)
    np.testing.assert_array_equal(x, [0, 1, 2, 3])
    np.testing.assert_allclose(y, [0.02, 0.003, floor, floor])   # a line, not a gap
    assert np.isfinite(y).all()
    assert view.zero_marks() == [(2.0, 1), (3.0, 1)]
    assert view.zero_line_label() == ZERO_LABEL
    assert ZERO_LABEL in view.legend(view.grad_plot).labels()
    (_, _), (y0, y1) = view.grad_plot.vb.viewRange()
    assert y0 < np.log10(floor) < y1                              # the floor is in view
    axis = view.grad_plot.getAxis("left")                          # the floor's tick reads 0
    assert axis.tickStrings([-4.0, -3.0, -2.0], 1.0, 1.0) == ["0", "0.001", "0.01"]
    values = [v for _, level in axis.tickValues(y0, y1, 300) for v in level]
    assert -4.0 in values and not [v for v in values if -4.0 < v < -3.5]
    readout = view.gradient_readout_text(3.0).splitlines()
    assert readout[1].endswith(ZERO_LABEL) and readout[1].startswith("layer 1")
    np.testing.assert_allclose(view.drawn_gradient(2)[1], [0.5, 0.4, 0.3, 0.2])

    view.clear()                                  # a run with no zero: no floor, no marker
    view.ingest(snapshot_with_norms(make_snap, norms[:2]))
    view.show_snapshot()
    assert view.zero_marks() == [] and view.zero_line_label() == ""
    assert ZERO_LABEL not in view.legend(view.grad_plot).labels()
    assert axis.tickStrings([-4.0], 1.0, 1.0) == ["1e\u22124"]        # a value again


def test_a_layer_whose_norm_is_always_zero_is_still_drawn(qtbot, make_snap):
    view = CostView()
    qtbot.addWidget(view)
    view.resize(700, 450)
    view.ingest(snapshot_with_norms(make_snap, [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)]))
    view.show_snapshot()
    for l in (1, 2, 3):
        assert view.is_drawn(f"grad_norm_{l}")
        np.testing.assert_allclose(view.drawn_gradient(l)[1], [view.zero_floor()] * 2)
    assert len(view.zero_marks()) == 6


# -- the notes of a configuration ------------------------------------------------------------------

CLASSIC_NOTES = Config.preset("gaussian-clouds").notes


def test_a_presets_notes_stay_only_while_the_configuration_is_the_presets():
    assert "three Gaussian clouds" in CLASSIC_NOTES
    cfg = Config.preset("gaussian-clouds")
    cfg.epochs = 50                                   # how long it runs: still the classic example
    assert cfg.to_dict()["notes"] == CLASSIC_NOTES
    assert Config.from_dict(cfg.to_dict()).to_dict()["notes"] == CLASSIC_NOTES
    for change in (dict(dataset="csv", data_file="mine.csv", n_samples=None), dict(hidden=(5,)),
                   dict(lr=0.5), dict(activation="tanh"), dict(batch_size=32)):
        changed = Config.preset("gaussian-clouds")
        for k, v in change.items():
            setattr(changed, k, v)
        assert changed.to_dict()["notes"] == "", change
    own = Config(dataset="csv", data_file="mine.csv", notes="my own run")
    assert own.to_dict()["notes"] == "my own run"     # notes of nobody's preset stay


def test_a_csv_runs_config_json_says_nothing_of_the_preset(tmp_path, csv_2000):
    from bpviz.cli import main
    out = tmp_path / "run"
    assert main(["train", "--data", str(csv_2000), "--epochs", "2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["dataset"] == "csv" and config["notes"] == ""
    assert "Gaussian" not in (out / "config.json").read_text()
    out2 = tmp_path / "classic"
    assert main(["train", "--preset", "gaussian-clouds", "--epochs", "2", "--out", str(out2)]) == 0
    assert json.loads((out2 / "config.json").read_text())["config"]["notes"] == CLASSIC_NOTES


# -- a CSV opened in the window: the Controls' sample count and the export manifest -----------------

def test_a_csv_opened_in_the_window_shows_its_rows_and_exports_no_preset_notes(
        qtbot, open_window, csv_2000, tmp_path):
    from tests.test_window_input import answer_file_dialog, back_to_window, click_menu
    from bpviz.ui.export.export import export_all
    window = open_window()
    assert window.controls.samples.text() == "1500"
    answer_file_dialog(qtbot, str(csv_2000))
    click_menu(qtbot, window, "File", "Open dataset CSV")
    qtbot.waitUntil(lambda: window.config.dataset == "csv" and window.dataset is not None
                    and window.dataset.source == str(csv_2000), timeout=15000)
    back_to_window(qtbot, window)
    box = window.controls.samples
    assert box.text() == "2000" and box.value() == 2000          # not "4"
    assert "1,600 for training, 400 for testing" in box.toolTip()
    assert not box.isEnabled()                                   # the file sets it
    folder = tmp_path / "export"
    written = export_all(window, folder)
    manifest = json.loads(written[-1].read_text())
    assert manifest["config"]["dataset"] == "csv" and manifest["config"]["notes"] == ""
    assert "Gaussian" not in written[-1].read_text()


# -- the same epoch gives the same loss in `train`, `snapshot` and `export` ----------------------

def test_snapshot_train_and_export_report_the_same_loss_for_the_same_epoch(tmp_path):
    import os
    import re
    import subprocess
    import sys

    from tests.test_trainer import classic_reference

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")

    def bpviz(*args):
        p = subprocess.run([sys.executable, "-m", "bpviz", *args], capture_output=True, text=True,
                           timeout=300, env=env)
        assert p.returncode == 0, p.stderr
        return p.stdout

    epochs = 40
    train = bpviz("train", "--preset", "gaussian-clouds", "--epochs", str(epochs), "--out",
                  str(tmp_path / "run"))
    snapshot = bpviz("snapshot", "--preset", "gaussian-clouds", "--epochs", str(epochs), "--out",
                     str(tmp_path / "w.png"))
    bpviz("export", "--session", str(tmp_path / "run" / "session.bpviz"), "--out",
          str(tmp_path / "figs"))
    train_loss = re.search(r"\bloss (\S+)", train).group(1).rstrip(",")
    snap_loss = re.search(r"\bloss (\S+)", snapshot).group(1).rstrip(",")
    assert f"epoch {epochs}" in snapshot
    manifest = json.loads((tmp_path / "figs" / "manifest.json").read_text())
    assert manifest["snapshot"]["epoch"] == epochs
    # the loss at the weights after 40 epochs, from the classic code written out in plain numpy:
    # the loss its 41st epoch starts from
    want = classic_reference(epochs + 1)[0][epochs]
    assert snap_loss == train_loss == f"{want:.6g}"
    assert manifest["snapshot"]["loss"] == pytest.approx(want, rel=1e-9)
