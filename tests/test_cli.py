"""The headless command line: outputs, exit statuses, one-line errors, and no Qt."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from bpviz.cli import main


def run_cli(*args):
    """Run ``python -m bpviz ARGS`` in a fresh interpreter: (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "bpviz", *args], capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def test_train_reproduces_the_classic_example(tmp_path):
    code, out, err = run_cli("train", "--preset", "gaussian-clouds", "--epochs", "1000",
                             "--out", str(tmp_path))
    assert code == 0, err
    assert "accuracy 0.97" in out and len(out.strip().splitlines()) == 1
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0][:5] == ["epoch", "loss", "accuracy", "test_loss", "test_accuracy"]
    assert rows[0][5:] == ["grad_norm_1", "grad_norm_2"]
    assert len(rows) == 1001
    assert float(rows[1][1]) == 2.0981205629348856 and rows[1][0] == "0"
    from tests.test_trainer import classic_reference
    ref, _, _ = classic_reference(1000)
    losses = np.array([float(r[1]) for r in rows[1:]])
    assert np.max(np.abs(losses - ref) / ref) < 1e-9
    weights = np.load(tmp_path / "weights.npz")
    assert sorted(weights.files) == ["W0", "W1", "b0", "b1"] and weights["W0"].shape == (2, 3)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["lr"] == 1.5 and config["epochs_done"] == 1000


def test_train_does_not_import_qt(tmp_path):
    code = ("import sys; from bpviz.cli import main; rc = main(['train', '--preset', 'xor', "
            "'--epochs', '3', '--out', %r]); "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]; "
            "print(rc, bad)" % str(tmp_path))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip().splitlines()[-1] == "0 []", p.stderr


def test_engine_does_not_import_qt():
    code = ("import sys, bpviz.engine, bpviz.engine.surface, bpviz.engine.datasets, "
            "bpviz.engine.csvdata, bpviz.engine.snapshot, bpviz.engine.trajectory; "
            "print([m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "[]", p.stderr


def test_flags_override_the_preset(tmp_path, capsys):
    assert main(["train", "--preset", "moons", "--hidden", "5,4", "--activation", "relu,tanh",
                 "--optimizer", "adam", "--lr", "0.02", "--batch-size", "10", "--epochs", "2",
                 "--seed", "4", "--noise", "0.2", "--test-fraction", "0.3", "--l2", "0.001",
                 "--init", "he", "--out", str(tmp_path)]) == 0
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["sizes"] == [2, 5, 4, 2]
    assert cfg["activations"] == ["relu", "tanh", "softmax"]
    c = cfg["config"]
    assert (c["optimizer"], c["lr"], c["batch_size"], c["seed"], c["noise"], c["l2"], c["init"]) == \
        ("adam", 0.02, 10, 4, 0.2, 0.001, "he")
    assert "moons 2-5-4-2, epochs 2" in capsys.readouterr().out


@pytest.mark.parametrize("args,fragment", [
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--lr", "nan"], "not a finite number"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--hidden", "3,0"], "at least one neuron"),
    (["train", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "--activation", "swish"], "unknown activation 'swish'"),
    (["train", "--momentum", "1.5"], "momentum must be < 1"),
    (["train", "--data", "/no/such/file.csv"], "/no/such/file.csv"),
    (["train", "--preset", "sine", "--output", "softmax"], "regression dataset"),
    (["train", "--hidden", "512,512,512", "--samples", "900000", "--preset", "moons",
      "--batch-size", "0"], "GiB"),
    (["frobnicate"], "invalid choice"),
    (["train", "--divergence-factor", "-1"], "--divergence-factor: must be ≥ 0, got -1"),
    (["train", "--divergence-factor", "lots"], "--divergence-factor: 'lots' is not a number"),
    (["train", "--divergence-factor", "0.5"], "must be 0 (off) or at least 1"),
    (["train", "--divergence-factor", "inf"], "not a finite number"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    code, out, err = run_cli(*args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_bad_csv_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,a\n3,oops,b\n4,5,a\n6,7,b\n8,9,a\n")
    code, out, err = run_cli("train", "--data", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "bad.csv" in err and "line 3" in err and "'y'" in err


def test_csv_data_trains(tmp_path):
    rng = np.random.RandomState(0)
    path = tmp_path / "mine.csv"
    X = rng.randn(60, 2)
    with open(path, "w") as f:
        f.write("a,b,kind\n")
        for x in X:
            f.write(f"{x[0]},{x[1]},{'left' if x[0] < 0 else 'right'}\n")
    code, out, err = run_cli("train", "--data", str(path), "--epochs", "30", "--out", str(tmp_path))
    assert code == 0, err
    assert "2-8-2" in out


def test_diverged_training_exits_3_and_writes_last_finite_weights(tmp_path):
    code, out, err = run_cli("train", "--preset", "plane", "--lr", "100", "--epochs", "500",
                             "--out", str(tmp_path))
    assert code == 3
    assert "diverged in epoch" in err and "Traceback" not in err
    weights = np.load(tmp_path / "weights.npz")
    assert all(np.isfinite(weights[k]).all() for k in weights.files)
    history = np.genfromtxt(tmp_path / "history.csv", delimiter=",", names=True)
    assert np.isfinite(history["loss"]).all()


def test_a_finite_jump_of_the_loss_exits_3_and_writes_the_weights_before_it(tmp_path):
    code, out, err = run_cli("train", "--preset", "gaussian-clouds", "--lr", "1e6",
                             "--out", str(tmp_path))
    assert code == 3 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "bpviz train: training diverged in epoch 1 (pass 1): the loss jumped from 2.1 to 613,933, "
        "more than 1,000 times where it started: the learning rate overshoots; the last finite "
        "weights are kept — try a smaller learning rate"]
    # the weights the run started from, drawn as the classic example draws them
    rng = np.random.RandomState(1)
    rng.randn(1500, 2)
    start = {"W0": rng.randn(2, 3), "b0": rng.randn(3), "W1": rng.randn(3, 3), "b1": rng.randn(3)}
    with np.load(tmp_path / "weights.npz") as weights:
        assert all(np.array_equal(weights[k], start[k]) for k in start)
    history = np.genfromtxt(tmp_path / "history.csv", delimiter=",", names=True)
    assert history["loss"].tolist() == 2.0981205629348856    # one row: the start
    assert json.loads((tmp_path / "config.json").read_text())["config"]["divergence_factor"] == 1000


def test_divergence_factor_0_lets_the_loss_run_away(tmp_path, capsys):
    assert main(["train", "--preset", "gaussian-clouds", "--lr", "1e6", "--epochs", "3",
                 "--divergence-factor", "0", "--out", str(tmp_path)]) == 0
    assert "epochs 3" in capsys.readouterr().out
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["config"]["divergence_factor"] == 0 and cfg["live"]["divergence_factor"] == 0
    assert main(["train", "--preset", "gaussian-clouds", "--lr", "1e6", "--epochs", "3",
                 "--divergence-factor", "1e7"]) == 0
    assert main(["train", "--preset", "gaussian-clouds", "--lr", "1e6", "--epochs", "3",
                 "--divergence-factor", "1e5"]) == 3
    assert "to 613,933, more than 100,000 times" in capsys.readouterr().err


def test_gradcheck_command():
    code, out, err = run_cli("gradcheck", "--preset", "gaussian-clouds")
    assert code == 0, err
    assert "worst relative error" in out and "ok" in out
    code, out, _ = run_cli("gradcheck", "--preset", "spiral3", "--hidden", "4,3")
    assert code == 0 and "2-4-3-3" in out


def test_python_m_bpviz_version():
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("bpviz ")
