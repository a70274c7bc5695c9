"""Figures from the command line: `snapshot` and `export` show what the window's controls would
(edges, neurons, the sample in focus, the inspector's neuron, one panel), checked against the
classic example computed here in plain numpy; bad values are one line and exit status 2."""

import csv
import json

import numpy as np
from PIL import Image
from tests.commandline import bpviz


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows


def classic_sample_0():
    """The classic example before its first update, by hand: sample 0's deltas and the error
    signal w·δ of every edge (the design notes' recipe, written out again here)."""
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(500, 2) + [0, -2], rng.randn(500, 2) + [2, 2],
                   rng.randn(500, 2) + [-2, 2]])
    W1, b1, W2, b2 = rng.randn(2, 3), rng.randn(3), rng.randn(3, 3), rng.randn(3)
    x, t = X[0], np.array([1.0, 0.0, 0.0])            # sample 0 is of class 0
    a1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    z2 = a1 @ W2 + b2
    y = np.exp(z2 - z2.max()) / np.exp(z2 - z2.max()).sum()
    d2 = y - t
    d1 = a1 * (1 - a1) * (W2 @ d2)
    signals = {1: W1 * d1[None, :], 2: W2 * d2[None, :]}
    return x, {1: d1, 2: d2}, signals


def test_snapshot_of_one_samples_error_signals_matches_the_numbers_behind_it(tmp_path):
    out = tmp_path / "F.png"
    code, stdout, stderr = bpviz("snapshot", "--preset", "gaussian-clouds", "--edges", "signal",
                                 "--sample", "0", "--select", "1:2", "--out", str(out))
    assert code == 0, stderr
    # the window's own controls, read back: what the picture shows
    assert "edges: signal, neurons: delta, focus: sample 0, inspector: neuron 2 of layer 1" \
        in stdout
    with Image.open(out) as img:
        assert img.size == (1600, 1000)
    x, deltas, signals = classic_sample_0()
    edges = read_csv(tmp_path / "F.csv")
    assert len(edges) == 2 * 3 + 3 * 3
    for row in edges:
        layer, i, j = int(row["layer"]), int(row["from"]), int(row["to"])
        assert row["focus"] == "sample 0"
        assert float(row["error_signal"]) == np.float64(signals[layer][i, j]) or \
            abs(float(row["error_signal"]) - signals[layer][i, j]) < 1e-12
    neurons = {(int(r["layer"]), int(r["index"])): r for r in read_csv(tmp_path / "F_neurons.csv")}
    assert [float(neurons[0, i]["activation"]) for i in range(2)] == x.tolist()
    for layer in (1, 2):
        for j in range(3):
            assert abs(float(neurons[layer, j]["delta"]) - deltas[layer][j]) < 1e-12
    # the chain rule the inspector shows for neuron 2 of layer 1 adds up from the CSV alone
    a = float(neurons[1, 2]["activation"])
    uplinks = sum(float(r["error_signal"]) for r in edges if r["layer"] == "2" and r["from"] == "2")
    assert abs(a * (1 - a) * uplinks - float(neurons[1, 2]["delta"])) < 1e-12


def test_snapshot_of_one_panel_is_that_panel_and_its_numbers(tmp_path):
    out = tmp_path / "cost.png"
    code, stdout, stderr = bpviz("snapshot", "--preset", "xor", "--epochs", "3", "--panel", "cost",
                                 "--neurons", "activation", "--out", str(out))
    assert code == 0, stderr
    assert "neurons: activation" in stdout
    with Image.open(out) as img:
        assert img.size[0] < 1600 and img.size[1] < 1000      # the panel, not the window
    history = read_csv(tmp_path / "cost.csv")
    assert [int(r["epoch"]) for r in history] == [0, 1, 2]          # a row per epoch trained
    assert len(read_csv(tmp_path / "cost_passes.csv")) == 3 * 10    # xor: 10 passes an epoch


def test_bad_view_values_are_one_line_and_exit_2(tmp_path):
    png = str(tmp_path / "x.png")
    for args, words in ((["--edges", "sginal"], "--edges must be one of weight, gradient, "
                                                "signal, update; got sginal"),
                        (["--neurons", "z"], "--neurons must be one of delta, activation"),
                        (["--panel", "graph"], "--panel must be one of window, network"),
                        (["--sample", "1500"], "--sample 1500: there are 1500 training samples"),
                        (["--sample", "-1"], "--sample"),
                        (["--select", "2:3"], "--select 2:3: the network has layers 2-3-3")):
        code, stdout, stderr = bpviz("snapshot", *args, "--out", png)
        assert code == 2, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1 and words in stderr, (args, stderr)
        assert "Traceback" not in stderr
    assert not list(tmp_path.iterdir())


def test_export_takes_the_same_view_options(tmp_path):
    run_dir = tmp_path / "run"
    code, _, stderr = bpviz("train", "--preset", "gaussian-clouds", "--epochs", "2", "--out",
                            str(run_dir))
    assert code == 0, stderr
    session = str(run_dir / "session.bpviz")
    out = tmp_path / "figs"
    code, stdout, stderr = bpviz("export", "--session", session, "--out", str(out), "--edges",
                                 "gradient", "--neurons", "activation", "--sample", "3",
                                 "--select", "2:1", "--panel", "network", "--scale", "4")
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "network.csv", "network.png", "network.svg", "network@4x.png",
        "network_neurons.csv"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["view"] == {"edges": "gradient", "neurons": "activation", "inspector": [2, 1]}
    assert manifest["snapshot"]["focus"] == "sample 3"
    with Image.open(out / "network.png") as one, Image.open(out / "network@4x.png") as four:
        assert four.size == (4 * one.size[0], 4 * one.size[1])
    code, _, stderr = bpviz("export", "--session", session, "--out", str(tmp_path / "bad"),
                            "--scale", "9")
    assert code == 2 and "--scale must be one of 1" in stderr
    code, _, stderr = bpviz("export", "--session", session, "--out", str(tmp_path / "bad"),
                            "--select", "3:0")
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "session.bpviz" in stderr
    assert not (tmp_path / "bad").exists()


# -- export --scale: lines, text and markers grow with the picture ------------------------------

def _rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


def _line_width(image, x, y, half):
    """The width in pixels of the line crossing column ``x`` near row ``y``: its coverage summed
    down the column (an antialiased edge pixel counts by how much of the line's colour it has),
    over the run of drawn pixels nearest to ``y``, looking at most ``half`` pixels either way."""
    column = image[y - half:y + half + 1, x]
    ink = np.abs(column - 255).max(axis=1)
    drawn = ink > 8
    rows = np.flatnonzero(drawn)
    assert len(rows), "no line at the point measured"
    centre = int(rows[np.argmin(np.abs(rows - half))])
    top = bottom = centre
    while top > 0 and drawn[top - 1]:
        top -= 1
    while bottom < len(drawn) - 1 and drawn[bottom + 1]:
        bottom += 1
    run = ink[top:bottom + 1]
    return float(np.clip(run / run.max(), 0, 1).sum())


def test_a_4x_png_has_4x_wide_edges_and_looks_like_the_1x_one(qtbot, open_window, tmp_path):
    from PySide6.QtCore import QPointF

    from bpviz.ui.export.export import export_panel
    w = open_window(size=(1400, 900))
    for k in range(1, 4):
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == k, timeout=10000)
    w.paint_now()
    net = w.network
    # the edge from neuron 1 of the hidden layer to output neuron 1 is horizontal; a quarter of the
    # way along, no other edge crosses it
    a, b = net.neuron_pos(1, 1), net.neuron_pos(2, 1)
    point = net.viewport_point(QPointF(0.75 * a.x() + 0.25 * b.x(), a.y()))
    widths = {}
    for scale in (1, 4):
        path = tmp_path / f"network@{scale}.png"
        export_panel(w, "network", "png", path, scale=scale)
        image = _rgb(path)
        widths[scale] = _line_width(image, point.x() * scale + scale // 2,
                                    point.y() * scale + scale // 2, 20 * scale)
        if scale == 1:
            one = image
        else:
            four = image
    assert widths[1] >= 2                       # a wide edge: width shows magnitude
    assert 3.6 <= widths[4] / widths[1] <= 4.4, widths
    # the 4× picture averaged over 4×4 blocks is the 1× picture, to within antialiasing
    h, wd = one.shape[:2]
    shrunk = four.reshape(h, 4, wd, 4, 3).mean(axis=(1, 3))
    assert np.abs(shrunk - one).mean() < 3.0


# -- the animated GIF covers the run ------------------------------------------------------------

def test_a_gif_spreads_its_frames_over_the_whole_run_or_the_epochs_asked_for(tmp_path):
    out = tmp_path / "run.gif"
    code, stdout, stderr = bpviz("snapshot", "--preset", "xor", "--epochs", "40", "--panel",
                                 "cost", "--frames", "8", "--out", str(out))
    assert code == 0, stderr
    assert "8 frames of the cost panel, epochs 0–40" in stdout
    with Image.open(out) as im:
        assert im.n_frames == 8
    part = tmp_path / "part.gif"
    code, stdout, stderr = bpviz("snapshot", "--preset", "xor", "--epochs", "40", "--panel",
                                 "network", "--frames", "5", "--from-epoch", "10", "--to-epoch",
                                 "20", "--out", str(part))
    assert code == 0, stderr
    assert "5 frames of the network panel, epochs 10–20" in stdout
    with Image.open(part) as im:
        assert im.n_frames == 5
    for args, words in ((["--epochs", "4"], "an animated GIF is of one panel"),
                        (["--panel", "cost", "--epochs", "4", "--to-epoch", "5"],
                         "--to-epoch 5: the run has 4 epochs"),
                        (["--panel", "cost", "--epochs", "4", "--from-epoch", "3", "--to-epoch",
                          "2"], "--from-epoch 3 is after --to-epoch 2"),
                        (["--panel", "cost", "--epochs", "4", "--frames", "301"], "at most 300"),
                        (["--panel", "cost"], "needs --epochs N")):
        code, _, stderr = bpviz("snapshot", *args, "--out", str(tmp_path / "bad.gif"))
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and words in stderr, stderr
    code, _, stderr = bpviz("snapshot", "--frames", "3", "--out", str(tmp_path / "bad.png"))
    assert code == 2 and "only for an animated GIF" in stderr
    assert not (tmp_path / "bad.gif").exists() and not (tmp_path / "bad.png").exists()


def test_the_windows_gif_spreads_over_the_kept_run(qtbot, open_window):
    from bpviz.ui.export.export import film, spread
    w = open_window("xor")
    for k in range(1, 13):
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == k, timeout=10000)
    kept = [w.history[k] for k in range(len(w.history))]
    assert [s.pass_count for s in kept] == list(range(13))
    frames = film(w, 4)
    assert [s.pass_count for s in frames] == [0, 4, 8, 12]     # first to last, evenly
    # epoch 0 of xor: passes 0 to 9 (an epoch is 10 passes)
    assert [s.pass_count for s in film(w, 3, from_epoch=0, to_epoch=0)] == [0, 4, 9]
    assert spread(list(range(10)), 1) == [9] and spread(list(range(3)), 5) == [0, 1, 2]


def test_the_pictures_edges_show_the_signs_of_the_error_signals_in_its_csv(qtbot, open_window,
                                                                           tmp_path):
    """What `snapshot --edges signal --sample 0 --select 1:2` sets, in the window: the network
    panel's picture draws each edge in the colour of its error signal's sign in the CSV written
    with it (blue positive, orange negative)."""
    from argparse import Namespace

    from PySide6.QtWidgets import QApplication

    from bpviz.cli.snapshot import apply_view, view_summary
    from bpviz.ui.plotting import style
    from bpviz.ui.export.export import export_panel
    w = open_window(size=(1400, 900))
    apply_view(w, QApplication.instance(),
               Namespace(edges="signal", neurons=None, sample=0, select=(1, 2)))
    qtbot.waitUntil(lambda: not w.inspector.recompute_pending(), timeout=10000)
    assert view_summary(w).endswith("focus: sample 0, inspector: neuron 2 of layer 1")
    export_panel(w, "network", "png", tmp_path / "net.png")
    export_panel(w, "network", "csv", tmp_path / "net.csv")
    image = _rgb(tmp_path / "net.png")
    rows = read_csv(tmp_path / "net.csv")
    _, _, signals = classic_sample_0()
    strongest = max(abs(float(r["error_signal"])) for r in rows)
    seen = 0
    for row in rows:
        layer, i, j = int(row["layer"]), int(row["from"]), int(row["to"])
        value = float(row["error_signal"])
        assert abs(value - signals[layer][i, j]) < 1e-12
        if abs(value) < strongest / 30:           # drawn faint, near the white background
            continue
        p = w.network.viewport_point(w.network.edge_pos(layer - 1, i, j))
        pixel = image[p.y(), p.x()]
        towards_blue = np.linalg.norm(pixel - np.array(style.POSITIVE))
        towards_orange = np.linalg.norm(pixel - np.array(style.NEGATIVE))
        assert (towards_blue < towards_orange) == (value > 0), (layer, i, j, value, pixel)
        seen += 1
    assert seen >= 8
