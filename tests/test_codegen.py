"""The program behind the picture: ``bpviz code`` and File → Export → Python script… write a
standalone numpy program that, run in a fresh interpreter where only numpy can be imported,
prints the history ``bpviz train --out`` writes, to 1e-12 relative; the lines of one pass carry
the phase, layer and array they compute, and compute the trace's arrays."""

import csv
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bpviz.cli import main
from bpviz.engine import phases
from bpviz.engine.codegen import CodeLine, pass_program, script
from bpviz.engine.config import Config, build
from bpviz.engine.functions import ACTIVATIONS
from bpviz.engine.session import save_session

RTOL = 1e-12
GRAD_NORM_FLOOR = 1e-15
CLASSIC_FIRST_LOSS = "2.0981205629348856"
NUMPY_ONLY = ("numpy", "numpy.libs")      # what the program's interpreter can see


# -- running a program where only numpy can be imported -----------------------------------------

@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory):
    """A folder whose only importable packages are numpy (symlinked from this interpreter's
    site-packages): a program run from here with ``python -I -S`` (no site-packages, no
    environment, no user site) can import numpy and nothing else that is installed."""
    folder = tmp_path_factory.mktemp("numpy-only")
    site = Path(np.__file__).resolve().parent.parent
    for name in NUMPY_ONLY:
        if (site / name).exists():
            (folder / name).symlink_to(site / name, target_is_directory=True)
    return folder


def run_program(folder: Path, text: str, name="program.py") -> subprocess.CompletedProcess:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return run_file(folder, path)


def run_file(folder: Path, path: Path) -> subprocess.CompletedProcess:
    """``python -I -S path`` with ``folder`` (numpy only) as the first entry of sys.path."""
    launcher = (f"import runpy, sys; sys.path.insert(0, {str(folder)!r}); "
                f"sys.argv = [{str(path)!r}]; runpy.run_path({str(path)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-I", "-S", "-c", launcher], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def test_the_program_interpreter_has_numpy_and_nothing_of_bpviz(numpy_only):
    probe = ("import importlib\n"
             "for name in ('bpviz', 'PySide6', 'pyqtgraph', 'hypothesis', 'pytest'):\n"
             "    try:\n"
             "        importlib.import_module(name)\n"
             "    except ImportError:\n"
             "        print(name, 'missing')\n"
             "import numpy\n"
             "print('numpy', numpy.__version__)\n")
    result = run_program(numpy_only, probe, "probe.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "bpviz missing", "PySide6 missing", "pyqtgraph missing", "hypothesis missing",
        "pytest missing", f"numpy {np.__version__}"]


# -- comparing histories ---------------------------------------------------------------------------

def read_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(text.splitlines())]


def assert_same_history(expected: list[list[str]], got: list[list[str]]) -> None:
    """Same header, same epochs, every number equal to ``RTOL`` relative (NaN where NaN)."""
    assert got[0] == expected[0]
    assert len(got) == len(expected), (len(got), len(expected))
    for want, have in zip(expected[1:], got[1:]):
        assert have[0] == want[0]                      # the epoch, a whole number
        for column, a, b in zip(expected[0][1:], want[1:], have[1:]):
            x, y = float(a), float(b)
            if math.isnan(x):
                assert math.isnan(y), (want[0], column, a, b)
            else:
                # a gradient norm that cancels down to almost nothing (1.5e-6 from terms of 1e-2)
                # is as exact as its terms, which the engine (samples in columns) and the
                # program (samples in rows) add in another order: 1e-12 of the terms, not of it
                floor = GRAD_NORM_FLOOR if column.startswith("grad_norm") else 0.0
                assert abs(x - y) <= RTOL * abs(x) + floor, (want[0], column, a, b)


def train_history(tmp_path: Path, argv: list[str]) -> tuple[int, list[list[str]]]:
    out = tmp_path / "run"
    status = main(["train", *argv, "--out", str(out)])
    return status, read_rows((out / "history.csv").read_text(encoding="utf-8"))


def code_text(argv: list[str], capsys) -> str:
    capsys.readouterr()
    assert main(["code", *argv, "--out", "-"]) == 0
    return capsys.readouterr().out


# -- the property test -----------------------------------------------------------------------------

SPECIES = ("setosa", "virginica", "alba")
CLASSES_CSV = ("x1,species,x2,x3\n" + "".join(                 # the label column in the middle
    f"{np.sin(k) * 3:.4f},{SPECIES[k % 3]},{np.cos(3 * k):.3f},{k % 7 - 3}\n" for k in range(40)))
NUMBERS_CSV = ("a;b;label\n" + "".join(f"{np.sin(2 * k) * 10:.2f};{k / 10:.1f};{k % 2 * 5}\n"
                                     for k in range(30)))
REGRESSION_CSV = ("t,u,v\n" + "".join(f"{k / 9:.3f},{np.cos(k):.4f},{np.sin(k / 4) + 0.1 * k:.5f}\n"
                                      for k in range(36)))
CSV_FILES = {"classes.csv": CLASSES_CSV, "numbers.csv": NUMBERS_CSV,
             "regression.csv": REGRESSION_CSV}
PRESETS = ("gaussian-clouds", "xor", "circles", "moons", "spiral", "spiral3", "plane", "sine",
           "iris")
REGRESSION = {"plane", "sine", "regression.csv"}


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    for name, text in CSV_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@st.composite
def run_flags(draw):
    """Command-line flags of a small, fast run: a preset or a CSV file, 1–4 hidden layers, any
    activation per layer, output, initialisation, optimizer, batch size, L2 and split."""
    source = draw(st.sampled_from(PRESETS + tuple(CSV_FILES)))
    depth = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 5), min_size=depth, max_size=depth))
    acts = draw(st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=depth, max_size=depth))
    output = "linear" if source in REGRESSION else draw(st.sampled_from(["softmax", "sigmoid"]))
    optimizer = draw(st.sampled_from(["sgd", "momentum", "adam"]))
    flags = ["--data" if source.endswith(".csv") else "--preset", source,
             "--hidden", ",".join(map(str, hidden)), "--activation", ",".join(acts),
             "--output", output, "--init", draw(st.sampled_from(["normal", "xavier", "he",
                                                                 "uniform"])),
             "--optimizer", optimizer,
             "--lr", draw(st.sampled_from(["0.003", "0.05", "0.3"])),
             "--batch-size", str(draw(st.sampled_from([0, 1, 5, 16, 64]))),
             "--l2", draw(st.sampled_from(["0", "0.01"])),
             "--epochs", str(draw(st.integers(1, 3))),
             "--seed", str(draw(st.integers(0, 2 ** 31 - 1))),
             "--test-fraction", draw(st.sampled_from(["0", "0.25"]))]
    if optimizer == "momentum":
        flags += ["--momentum", draw(st.sampled_from(["0.5", "0.9"]))]
    if source.endswith(".csv"):
        if draw(st.booleans()):
            flags.append("--standardize")
        if source == "classes.csv":
            flags += ["--label", "species"]
    elif source != "iris":
        flags += ["--samples", str(draw(st.integers(12, 60))),
                  "--noise", draw(st.sampled_from(["0", "0.1", "0.7"]))]
    return flags


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(flags=run_flags())
@example(flags=["--preset", "gaussian-clouds", "--epochs", "3"])
@example(flags=["--preset", "spiral3", "--hidden", "3,4,2,5", "--activation",
                "relu,leaky_relu,linear,sigmoid", "--batch-size", "7", "--l2", "0.01",
                "--epochs", "2", "--samples", "45"])
@example(flags=["--data", "classes.csv", "--label", "species", "--standardize", "--output",
                "sigmoid", "--optimizer", "momentum", "--momentum", "0.9", "--lr", "0.1",
                "--batch-size", "5", "--epochs", "3", "--test-fraction", "0.25"])
@example(flags=["--data", "regression.csv", "--output", "linear", "--hidden", "4,3",
                "--activation", "tanh", "--init", "he", "--optimizer", "adam", "--batch-size",
                "16", "--epochs", "3"])
@example(flags=["--data", "numbers.csv", "--hidden", "2", "--optimizer", "sgd", "--lr", "0.2",
                "--batch-size", "0", "--epochs", "2"])
@example(flags=["--preset", "plane", "--lr", "50", "--samples", "40", "--epochs", "3"])  # diverges
@example(flags=["--preset", "plane", "--hidden", "1,1,2", "--activation",        # overshoots in
                "leaky_relu,linear,linear", "--output", "linear", "--init", "normal",  # its last
                "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "0", "--l2", "0",  # pass
                "--epochs", "2", "--seed", "4", "--test-fraction", "0", "--samples", "12",
                "--noise", "0"])
def test_the_program_prints_the_history_train_writes(flags, csv_folder, numpy_only, capsys,
                                                     tmp_path_factory):
    flags = [str(csv_folder / f) if f in CSV_FILES else f for f in flags]
    status, expected = train_history(tmp_path_factory.mktemp("train"), flags)
    result = run_program(numpy_only, code_text(flags, capsys))
    if status == 0:
        assert result.returncode == 0, result.stderr
    else:                                  # diverged (exit 3): the program stops there too
        assert status == 3 and result.returncode != 0 and "diverged" in result.stderr
    assert_same_history(expected, read_rows(result.stdout))


def test_the_classic_program_prints_the_known_first_loss(numpy_only, capsys):
    text = code_text(["--preset", "gaussian-clouds", "--epochs", "2"], capsys)
    rows = read_rows(run_program(numpy_only, text).stdout)
    assert rows[0][:3] == ["epoch", "loss", "accuracy"]
    assert rows[1][:2] == ["0", CLASSIC_FIRST_LOSS]
    # and it reads like the classic example: named arrays, one line per step, no classes
    for line in ("Z1 = X @ W1 + b1", "A1 = sigmoid(Z1)", "Y = softmax(Z2)", "delta2 = Y - T",
                 "delta1 = (delta2 @ W2.T) * (A1 * (1 - A1))", "dW1 = X.T @ delta1 / N",
                 "W2 = W2 - lr * dW2", "W1 = rng.randn(2, 3)"):
        assert line in text
    assert not re.search(r"^\s*class ", text, re.M) and "bpviz" not in text.split("\"\"\"")[2]
    assert "# forward pass" in text and "# backward pass" in text and "# update" in text


# -- from a session --------------------------------------------------------------------------------

def uninterrupted(config: Config, passes: int, epochs: int) -> list[list[str]]:
    """The history of a run that makes ``passes`` passes and then ``epochs`` epochs more (as
    train --resume counts them), never stopping."""
    _, _, trainer = build(config)
    for _ in range(passes):
        trainer.step()
    trainer.run(epochs=epochs)
    h = trainer.history
    return [h.header(trainer.network.n_layers)] + [
        [str(int(row[0]))] + [repr(float(v)) for v in row[1:]] for row in h.table()]


@pytest.mark.parametrize("preset, changes, passes", [
    ("xor", {}, 25),                                           # inside epoch 2, shuffled
    ("spiral", {"hidden": (24, 24), "epochs": 3}, 20),         # Adam, many numbers: a side .npz
    ("gaussian-clouds", {"epochs": 3}, 2),                     # full batch, between epochs
    ("iris", {"optimizer": "adam", "lr": 0.01}, 7),            # Adam, inside an epoch
])
def test_a_session_program_goes_on_as_an_uninterrupted_run(tmp_path, numpy_only, preset,
                                                           changes, passes):
    config = Config.preset(preset)
    for key, value in changes.items():
        setattr(config, key, value)
    _, _, trainer = build(config)
    for _ in range(passes):
        trainer.step()
    session = tmp_path / "run.bpviz"
    save_session(session, trainer, config)
    program = numpy_only / f"{preset}_more.py"
    assert main(["code", "--session", str(session), "--epochs", "3", "--out", str(program)]) == 0
    side = program.with_suffix(".npz")
    assert side.exists() == (preset == "spiral")
    result = run_file(numpy_only, program)
    assert result.returncode == 0, result.stderr
    assert_same_history(uninterrupted(config, passes, 3), read_rows(result.stdout))


def test_a_session_program_matches_train_resume_after_single_samples(tmp_path, numpy_only,
                                                                     capsys):
    config = Config.preset("moons")
    config.n_samples, config.batch_size = 60, 8
    _, _, trainer = build(config)
    for samples in (8, 1, 1, 3, None):         # single samples leave the epoch off the batch grid
        trainer.step(samples)
    session = tmp_path / "run.bpviz"
    save_session(session, trainer, config)
    status, expected = train_history(tmp_path, ["--resume", str(session), "--epochs", "4",
                                                "--lr", "0.2"])
    assert status == 0
    text = code_text(["--session", str(session), "--epochs", "4", "--lr", "0.2"], capsys)
    assert "lr = 0.2" in text
    result = run_program(numpy_only, text)
    assert result.returncode == 0, result.stderr
    assert_same_history(expected, read_rows(result.stdout))


# -- the command line refuses bad input with one line ------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["--preset", "nope", "--out", "x.py"], "unknown preset 'nope'"),
    (["--hidden", "3", "--session", "missing.bpviz", "--out", "x.py"], "--hidden cannot be used"),
    (["--session", "missing.bpviz", "--out", "x.py"], "missing.bpviz: no such file"),
    (["--preset", "xor"], "the following arguments are required: --out"),
    (["--data", "nowhere.csv", "--out", "x.py"], "nowhere.csv: no such file"),
])
def test_bad_input_is_one_line_and_exit_2_and_no_file(tmp_path, monkeypatch, capsys, argv, says):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["code", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_the_way_is_refused(tmp_path, capsys):
    (tmp_path / "prog.py").mkdir()
    capsys.readouterr()
    assert main(["code", "--preset", "xor", "--out", str(tmp_path / "prog.py")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["prog.py"]


def test_a_program_replaces_an_old_file_whole(tmp_path, numpy_only, capsys):
    out = tmp_path / "prog.py"
    out.write_text("old", encoding="utf-8")
    assert main(["code", "--preset", "xor", "--epochs", "1", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.py"]     # no temporary left
    result = run_file(numpy_only, out)
    assert result.returncode == 0 and result.stdout.startswith("epoch,loss,accuracy")


# -- one pass, line by line ------------------------------------------------------------------------

def run_pass(config: Config, trainer):
    """The pass program's lines executed one by one on the trainer's first batch: {line index:
    the array the line assigned, as it stood right after the line}."""
    X, T = trainer.X, np.asarray(trainer.T, dtype=float)
    net = trainer.network
    space = {"np": np, "X": X, "T": T, "N": len(X), "lr": config.lr, "momentum": config.momentum,
             "l2": config.l2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "t": 0}
    helpers = script(config, epochs=1)
    defs = helpers[helpers.index("# --- the functions"):helpers.index("# --- the data")]
    exec(defs, space)                                        # sigmoid, softmax, … as written
    for l, (W, b) in enumerate(zip(net.weights, net.biases), 1):
        space[f"W{l}"], space[f"b{l}"] = W.copy(), b.copy()
        for prefix in ("v", "m"):
            space[f"{prefix}W{l}"], space[f"{prefix}b{l}"] = np.zeros_like(W), np.zeros_like(b)
    values = {}
    for k, line in enumerate(pass_program(config).lines):   # the value each line just computed
        exec(line.text, space)
        if line.array is not None:
            values[k] = np.copy(space[line.array])
    return values


@pytest.mark.parametrize("preset, changes", [
    ("gaussian-clouds", {}),
    ("spiral", {"hidden": (5, 4, 3), "activation": ("relu", "leaky_relu", "sigmoid"),
                "optimizer": "momentum", "momentum": 0.5, "l2": 0.01}),
    ("plane", {"hidden": (3, 2), "activation": ("linear", "tanh"), "optimizer": "adam"}),
    ("xor", {"output": "sigmoid"}),
])
def test_each_line_computes_the_array_of_the_trace(preset, changes):
    config = Config.preset(preset)
    for key, value in changes.items():
        setattr(config, key, value)
    config.batch_size = 0
    _, net, trainer = build(config)
    before = [p.copy() for p in net.parameters()]
    values = run_pass(config, trainer)
    trace = trainer.step().trace
    program = pass_program(config)
    L = net.n_layers
    expected = {"z": lambda l: trace.pre_activations[l - 1], "a": lambda l: trace.activations[l],
                "y": lambda l: trace.output, "loss": lambda l: trace.loss,
                "delta": lambda l: trace.deltas[l - 1],
                "grad_w": lambda l: trace.grad_weights[l - 1],
                "grad_b": lambda l: trace.grad_biases[l - 1],
                "weights": lambda l: net.weights[l - 1], "biases": lambda l: net.biases[l - 1]}
    seen = set()
    for k, line in enumerate(program.lines):
        if line.quantity is None:
            continue
        seen.add(line.quantity)
        assert 1 <= line.layer <= L
        np.testing.assert_allclose(values[k], expected[line.quantity](line.layer),
                                   rtol=1e-12, atol=1e-15, err_msg=line.text)
    assert seen == set(expected) - ({"a"} if L == 1 else set())
    assert not all(np.array_equal(a, b) for a, b in zip(before, net.parameters()))


def test_lines_name_their_phase_layer_and_array():
    config = Config.preset("spiral")
    config.hidden, config.activation = (4, 3), ("tanh", "relu")
    program = pass_program(config)
    text = [line.text for line in program.lines]
    assert program.text == "\n".join(text) + "\n"
    assert isinstance(program.lines[0], CodeLine)

    def lines(**criteria):
        return [text[k] for k in program.lines_for(**criteria)]
    assert lines(phase=phases.FORWARD, layer=2) == ["Z2 = A1 @ W2 + b2", "A2 = np.maximum(Z2, 0)"]
    assert lines(phase=phases.FORWARD, layer=3) == ["Z3 = A2 @ W3 + b3", "Y = softmax(Z3)"]
    assert lines(phase=phases.LOSS) == ["loss = cross_entropy(Z3, T)"]
    assert lines(phase=phases.OUTPUT_DELTA) == ["delta3 = Y - T"]
    assert lines(phase=phases.HIDDEN_DELTA) == ["delta2 = (delta3 @ W3.T) * (Z2 > 0)",
                                                "delta1 = (delta2 @ W2.T) * (1 - A1 * A1)"]
    assert lines(phase=phases.GRADIENTS, layer=1) == ["dW1 = X.T @ delta1 / N",
                                                      "db1 = delta1.sum(axis=0) / N"]
    assert [t.split(" = ")[0] for t in lines(quantity="weights")] == ["W1", "W2", "W3"]
    assert [t.split(" = ")[0] for t in lines(quantity="biases")] == ["b1", "b2", "b3"]
    for line in program.lines:
        if line.phase is None:
            assert line.text.startswith("#") and line.layer is None and line.array is None
        else:
            assert line.text.startswith(f"{line.array} = ")
    # the phases come in the engine's order
    order = [line.phase for line in program.lines if line.phase]
    kinds = [phases.FORWARD, phases.LOSS, phases.OUTPUT_DELTA, phases.HIDDEN_DELTA,
             phases.GRADIENTS, phases.UPDATE]
    assert sorted(order, key=kinds.index) == order


def test_the_lines_follow_the_network_when_it_changes():
    config = Config.preset("gaussian-clouds")
    before = pass_program(config).text
    config.hidden, config.activation, config.optimizer = (3, 3), "tanh", "momentum"
    after = pass_program(config).text
    assert before != after
    assert "A2 = np.tanh(Z2)" in after and "vW3 = momentum * vW3 - lr * dW3" in after
    assert "A2" not in before and "momentum" not in before


# -- File → Export → Python script… ----------------------------------------------------------------

def script_action(window):
    """File → Export → Python script…"""
    file_menu = next(a.menu() for a in window.menuBar().actions()
                     if a.text().replace("&", "") == "File")
    export_menu = next(a.menu() for a in file_menu.actions()
                       if a.menu() is not None and a.text().replace("&", "") == "Export")
    return next(a for a in export_menu.actions() if a.text() == "Python script…")


def export_through_the_menu(qtbot, window, target: Path) -> None:
    from tests.test_window_input import answer_file_dialog, back_to_window
    answer_file_dialog(qtbot, str(target))
    script_action(window).trigger()
    qtbot.waitUntil(target.exists, timeout=10000)
    back_to_window(qtbot, window)
    assert target.name in window.statusBar().currentMessage()


def test_export_python_script_before_training_writes_the_run_from_its_start(qtbot, open_window,
                                                                            numpy_only):
    window = open_window("xor")
    target = numpy_only / "from_the_window.py"
    export_through_the_menu(qtbot, window, target)
    text = target.read_text(encoding="utf-8")
    assert "W1 = rng.randn(2, 4) * np.sqrt(2.0 / (2 + 4))" in text      # drawn, not saved
    result = run_file(numpy_only, target)
    assert result.returncode == 0, result.stderr
    assert_same_history(uninterrupted(Config.preset("xor"), 0, 200), read_rows(result.stdout))


def test_export_python_script_after_some_passes_goes_on_from_the_weights_shown(qtbot,
                                                                              open_window,
                                                                              numpy_only):
    window = open_window("xor")
    for k in range(1, 4):
        window.step()
        qtbot.waitUntil(lambda: window.latest.pass_count == k, timeout=10000)
    target = numpy_only / "after_three_passes.py"
    export_through_the_menu(qtbot, window, target)
    text = target.read_text(encoding="utf-8")
    assert "where the session stands: 0 epochs done, 3 passes" in text
    result = run_file(numpy_only, target)
    assert result.returncode == 0, result.stderr
    assert_same_history(uninterrupted(Config.preset("xor"), 3, 200), read_rows(result.stdout))


def test_a_script_that_cannot_be_written_is_a_message_and_no_file(qtbot, open_window, tmp_path):
    window = open_window("xor")
    folder = tmp_path / "out"
    folder.mkdir()
    blocker = folder / "a file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert window.exporter.export_script_to(blocker / "prog.py") == []
    assert "a file" in window.statusBar().currentMessage()
    assert [p.name for p in folder.iterdir()] == ["a file"]


def test_a_shuffle_stream_that_cannot_be_replayed_is_restored_from_its_state(numpy_only):
    config = Config.preset("xor")
    config.n_samples = 80
    _, _, trainer = build(config)
    for _ in range(3):                                 # inside epoch 0, its order drawn
        trainer.step()
    trainer.shuffle_rng = np.random.RandomState(2024)  # not the seed's stream
    text = script(config, session_state=trainer.get_state(), epochs=3)
    assert "shuffle_rng.set_state((" in text and "order = np.array([" in text
    result = run_program(numpy_only, text)
    assert result.returncode == 0, result.stderr
    trainer.run(epochs=3)
    h = trainer.history
    expected = [h.header(trainer.network.n_layers)] + [
        [str(int(row[0]))] + [repr(float(v)) for v in row[1:]] for row in h.table()]
    assert_same_history(expected, read_rows(result.stdout))
