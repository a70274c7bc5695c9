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
    assert sorted(weights.files) == ["W1", "W2", "b1", "b2"] and weights["W1"].shape == (2, 3)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["lr"] == 1.5 and config["epochs_done"] == 1000


def test_train_does_not_import_qt(tmp_path):
    code = ("import sys; from bpviz.cli import main; rc = main(['train', '--preset', 'xor', "
            "'--epochs', '3', '--out', %r]); "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]; "
            "print(rc, bad)" % str(tmp_path))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip().splitlines()[-1] == "0 []", p.stderr


def test_main_sets_one_blas_thread_before_numpy_loads():
    """Importing the command line loads no numpy, so ``main`` still sets one BLAS thread; the
    engine the command then imports sees it."""
    code = ("import os, sys; from bpviz.cli import main; loaded = 'numpy' in sys.modules; "
            "rc = main(['gradcheck', '--preset', 'xor', '--samples-check', '2']); "
            "print(loaded, rc, os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in __import__("os").environ.items() if not k.endswith("_NUM_THREADS")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=env)
    assert p.stdout.strip().splitlines()[-1] == "False 0 1", p.stderr


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
    (["train", "--lr", "-1"], "bpviz train: --lr must be a number from 0.000001 to 1000000; got -1"),
    (["train", "--lr", "nan"], "--lr must be a number from 0.000001 to 1000000; got nan"),
    (["train", "--epochs", "0"], "--epochs must be a whole number from 1 to 1000000; got 0"),
    (["train", "--hidden", "3,0"], "--hidden must be at most 8 neuron counts, each a whole number "
                                   "from 1 to 512; got 3,0"),
    (["train", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "--activation", "swish"], "unknown activation 'swish'"),
    (["train", "--momentum", "1.5"], "--momentum must be a number at least 0 and less than 1; "
                                     "got 1.5"),
    (["train", "--data", "/no/such/file.csv"], "/no/such/file.csv"),
    (["train", "--preset", "sine", "--output", "softmax"], "regression dataset"),
    (["train", "--hidden", "512,512,512", "--samples", "100000", "--preset", "moons",
      "--batch-size", "0"], "GiB"),
    (["frobnicate"], "invalid choice"),
    (["train", "--divergence-factor", "-1"], "--divergence-factor must be 0 (off) or a number "
                                             "from 1 to 1e12; got -1"),
    (["train", "--divergence-factor", "lots"], "--divergence-factor must be 0 (off) or a number "
                                               "from 1 to 1e12; got lots"),
    (["train", "--divergence-factor", "0.5"], "must be 0 (off) or a number from 1 to 1e12"),
    (["train", "--divergence-factor", "inf"], "; got inf"),
    (["train", "--seed", "4294967295"], "bpviz train: --seed must be a whole number from 0 to "
                                        "2147483647; got 4294967295"),
    (["train", "--batch-size", "3000000000"], "--batch-size must be a whole number from 0 to "
                                              "100000; got 3000000000"),
    (["inspect", "--neuron", "1:0", "--epochs", "-1"], "bpviz inspect: --epochs must be a whole "
                                                       "number from 0 to 1000000; got -1"),
    (["bench", "--soak", "1e9"], "--soak must be a number of minutes above 0 and at most 1440"),
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
    start = {"W1": rng.randn(2, 3), "b1": rng.randn(3), "W2": rng.randn(3, 3), "b2": rng.randn(3)}
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


# -- one range per setting, the same on every path ---------------------------------------------

FLAGS = {"seed": "--seed", "n_samples": "--samples", "noise": "--noise",
         "test_fraction": "--test-fraction", "lr": "--lr", "momentum": "--momentum",
         "batch_size": "--batch-size", "l2": "--l2", "epochs": "--epochs",
         "divergence_factor": "--divergence-factor"}


def _just_outside(r):
    """A value just above the range and one just below it (for the divergence factor, between
    its "off" value and the range)."""
    step = 1 if r.integer else max(abs(r.hi), 1) * 1e-9
    above = r.hi if r.hi_open else r.hi + step
    below = (r.off + r.lo) / 2 if r.off is not None else r.lo - (1 if r.integer else r.lo / 2 or 1e-9)
    return above, below


@pytest.mark.parametrize("key", list(FLAGS))
def test_every_flag_accepts_exactly_its_range(key, capsys):
    """A flag takes both ends of the setting's range from config.RANGES, which is what
    Config.validate and the window's boxes use, and refuses anything outside as one line."""
    from bpviz.cli import build_parser, config_from_args
    from bpviz.engine.config import RANGES, Config
    r, flag = RANGES[key], FLAGS[key]
    fmt = (lambda v: str(int(v))) if r.integer else repr
    for v in (r.lo, r.hi) if not r.hi_open else (r.lo,):
        args = build_parser().parse_args(["train", "--preset", "xor", f"{flag}={fmt(v)}"])
        cfg = config_from_args(args)
        assert getattr(cfg, key) == v
        Config.from_dict(cfg.to_dict())                      # and so a session file holds it
    for v in _just_outside(r):
        assert main(["train", f"{flag}={fmt(v)}", "--epochs", "1"]) == 2
        err = capsys.readouterr().err
        assert err == f"bpviz train: {flag} must be {r.text()}; got {fmt(v)}\n"


def test_the_largest_seed_trains_and_its_streams_stay_in_range(tmp_path):
    """Seed 2**31 - 1 with the offsets added for the shuffle and the split stays under numpy's
    2**32 limit, on generated and on CSV data."""
    from bpviz.engine.config import RANGES
    from bpviz.engine.csvdata import SPLIT_SEED_OFFSET
    from bpviz.engine.trainer import SHUFFLE_SEED_OFFSET
    top = int(RANGES["seed"].hi)
    assert top + max(SHUFFLE_SEED_OFFSET, SPLIT_SEED_OFFSET) < 2 ** 32
    assert top < 2 ** 31                                      # a Qt int holds it
    assert main(["train", "--preset", "moons", "--seed", str(top), "--batch-size", "32",
                 "--epochs", "1", "--out", str(tmp_path)]) == 0
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    assert main(["train", "--data", str(path), "--seed", str(top), "--epochs", "1"]) == 0


# -- the files of one output are replaced together, or none is -----------------------------------

RUN_FILES = ("history.csv", "config.json", "weights.npz", "session.bpviz")


def _old_run(folder):
    """A run written to ``folder``: its files' bytes."""
    assert main(["train", "--preset", "xor", "--epochs", "2", "--out", str(folder)]) == 0
    return {name: (folder / name).read_bytes() for name in RUN_FILES}


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_folder_in_the_way_replaces_none_of_the_run_files(tmp_path, capsys):
    old = _old_run(tmp_path)
    (tmp_path / "session.bpviz").unlink()
    (tmp_path / "session.bpviz").mkdir()
    code, out, err = run_cli("train", "--preset", "xor", "--epochs", "3", "--out", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "session.bpviz" in err
    for name in ("history.csv", "config.json", "weights.npz"):
        assert (tmp_path / name).read_bytes() == old[name], name
    assert (tmp_path / "session.bpviz").is_dir() and _leftovers(tmp_path) == []


def test_a_failed_write_replaces_none_of_the_run_files(tmp_path, capsys, monkeypatch):
    import numpy
    old = _old_run(tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(numpy, "savez", full_disk)            # weights.npz, the second file
    assert main(["train", "--preset", "xor", "--epochs", "3", "--out", str(tmp_path)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert {name: (tmp_path / name).read_bytes() for name in RUN_FILES} == old
    assert _leftovers(tmp_path) == []


def test_a_failed_rename_puts_back_the_files_already_moved(tmp_path, capsys, monkeypatch):
    from bpviz.engine import fileset
    old = _old_run(tmp_path)
    real_replace = fileset.os.replace
    moves = []

    def third_fails(src, dst):
        if str(src).endswith(".tmp"):
            moves.append(dst)
            if len(moves) == 3:
                raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst)
    monkeypatch.setattr(fileset.os, "replace", third_fails)
    assert main(["train", "--preset", "xor", "--epochs", "3", "--out", str(tmp_path)]) == 2
    assert "Permission denied" in capsys.readouterr().err
    assert {name: (tmp_path / name).read_bytes() for name in RUN_FILES} == old
    assert _leftovers(tmp_path) == []
    # and into a new folder, the files that were moved are taken away again, and the folder
    moves.clear()
    assert main(["train", "--preset", "xor", "--epochs", "3", "--out", str(tmp_path / "new")]) == 2
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("flag, typed", [("--seed", "3.9999999999999999"), ("--samples", "4.0"),
                                         ("--batch-size", "1e3"), ("--epochs", "1_000")])
def test_a_whole_number_flag_refuses_what_the_window_refuses(flag, typed, capsys):
    """The flag and the window's box read a whole number the same way (both refuse these)."""
    assert main(["train", flag, typed]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bpviz train: {flag} must be a whole number from ") and \
        err.endswith(f"; got {typed}\n")
