"""One focus for every panel: one sample (whose values obey the chain rule exactly) or the batch
mean; the network CSVs in that focus; the Σ label beside a selected neuron; the stored deltas a
backward phase reuses, lit on the diagram.

Every number is checked against plain numpy written here: the activations and their derivatives
below are this file's own (each derivative checked against finite differences of its function).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox

from bpviz.engine.config import Config, build
from bpviz.engine.phases import HIDDEN_DELTA
from bpviz.engine.session import save_session
from bpviz.engine.snapshot import make_snapshot
from bpviz.engine.tables import network_tables
from bpviz.ui.plotting import style

LEFT = Qt.MouseButton.LeftButton
SLOPE = 0.01      # leaky ReLU's slope below zero, as the glossary states it


# -- the activations, written here ---------------------------------------------------------------

F = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, SLOPE * z),
    "linear": lambda z: z,
}
DF = {
    "sigmoid": lambda z: F["sigmoid"](z) * (1.0 - F["sigmoid"](z)),
    "tanh": lambda z: 1.0 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, SLOPE),
    "linear": lambda z: np.ones_like(z),
}


@pytest.mark.parametrize("name", list(F))
def test_the_derivatives_written_here_are_those_of_the_functions(name):
    z = np.array([-2.3, -0.7, -0.05, 0.04, 0.6, 1.9])
    h = 1e-6
    fd = (F[name](z + h) - F[name](z - h)) / (2 * h)
    assert np.allclose(DF[name](z), fd, atol=1e-8)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def check_chain_rule(edges, neurons, sizes, activations, focus: str):
    """For every hidden neuron: f′(z) · Σ of its uplinks' error_signal = its delta (1e-12), with
    f and f′ from this file; every row says ``focus``. Returns the hidden neurons checked."""
    assert {r["focus"] for r in edges} == {focus} and {r["focus"] for r in neurons} == {focus}
    by_neuron = {(int(r["layer"]), int(r["index"])): r for r in neurons}
    uplinks: dict[tuple[int, int], float] = {}
    for r in edges:         # an edge of layer l runs from neuron `from` of layer l − 1
        key = (int(r["layer"]) - 1, int(r["from"]))
        uplinks[key] = uplinks.get(key, 0.0) + float(r["error_signal"])
    checked = 0
    L = len(sizes) - 1
    for layer in range(1, L):
        name = activations[layer - 1]
        for i in range(sizes[layer]):
            row = by_neuron[(layer, i)]
            z, delta = float(row["z"]), float(row["delta"])
            assert float(row["activation"]) == pytest.approx(F[name](z), abs=1e-12)
            total = uplinks[(layer, i)]
            assert abs(DF[name](np.array(z)) * total - delta) <= 1e-12 * max(1.0, abs(total))
            checked += 1
    return checked


# -- the export property over random networks ----------------------------------------------------

DATASETS = {"xor": ("softmax", "sigmoid"), "iris": ("softmax", "sigmoid"), "sine": ("linear",)}


@st.composite
def networks(draw):
    dataset = draw(st.sampled_from(sorted(DATASETS)))
    hidden = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    activation = tuple(draw(st.sampled_from(sorted(F))) for _ in hidden)
    return dict(dataset=dataset, hidden=hidden, activation=activation,
                output=draw(st.sampled_from(DATASETS[dataset])),
                init=draw(st.sampled_from(["normal", "xavier", "he", "uniform"])),
                seed=draw(st.integers(0, 10_000)), passes=draw(st.integers(0, 3)),
                batch_size=draw(st.sampled_from([0, 8])), pinned=draw(st.integers(0, 30)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_one_samples_network_tables_obey_the_chain_rule(spec):
    cfg = Config.preset("xor")
    for k in ("dataset", "hidden", "activation", "output", "init", "seed", "batch_size"):
        setattr(cfg, k, spec[k])
    ds, net, trainer = build(cfg)
    trace, before = None, None
    for _ in range(spec["passes"]):
        before = (list(net.weights), list(net.biases))
        trace = trainer.step().trace
    pinned = spec["pinned"] % len(trainer.X)
    snap = make_snapshot(trainer, seq=1, running=False, trace=trace,
                         trace_weights=before and before[0], trace_biases=before and before[1],
                         pinned=pinned)
    tables = network_tables(snap, sample=True)
    edges = [dict(zip(tables[""].header, r)) for r in tables[""].rows]
    neurons = [dict(zip(tables["neurons"].header, r)) for r in tables["neurons"].rows]
    assert check_chain_rule(edges, neurons, snap.sizes, spec["activation"],
                            f"sample {pinned}") == sum(spec["hidden"])
    # the sample's numbers, from the weights the pass used, by plain numpy
    W = before[0] if before else net.weights
    B = before[1] if before else net.biases
    a = np.asarray(trainer.X[pinned], float)
    zs = []
    for l, (w, b) in enumerate(zip(W, B)):
        z = a @ w + b
        zs.append(z)
        a = F[spec["activation"][l]](z) if l < len(W) - 1 else a
    by_neuron = {(r["layer"], r["index"]): r for r in neurons}
    for l, z in enumerate(zs):
        for i, zi in enumerate(z):
            assert by_neuron[(l + 1, i)]["z"] == pytest.approx(zi, rel=1e-12, abs=1e-12)
    # the batch mean says so, and is not the sample's
    mean = network_tables(snap, sample=False)
    assert {r[-1] for r in mean[""].rows} == {"mean"}


# -- bpviz export --sample -------------------------------------------------------------------------

ARCH = dict(dataset="xor", hidden=(4, 3), activation=("tanh", "leaky_relu"), output="softmax")


@pytest.fixture
def session_file(tmp_path):
    cfg = Config.preset("xor")
    for k, v in ARCH.items():
        setattr(cfg, k, v)
    _, _, trainer = build(cfg)
    trainer.run(epochs=2)
    path = tmp_path / "run.bpviz"
    save_session(path, trainer, cfg)
    return path


def test_export_command_writes_one_samples_network_that_adds_up(tmp_path, session_file):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "figs"
    p = subprocess.run([sys.executable, "-m", "bpviz", "export", "--session", str(session_file),
                        "--out", str(out), "--sample", "7"], capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    _, edges = read_csv(out / "network.csv")
    _, neurons = read_csv(out / "network_neurons.csv")
    sizes = (2, 4, 3, 2)
    assert check_chain_rule(edges, neurons, sizes, ARCH["activation"], "sample 7") == 7
    import json
    assert json.loads((out / "manifest.json").read_text())["snapshot"]["focus"] == "sample 7"

    p = subprocess.run([sys.executable, "-m", "bpviz", "export", "--session", str(session_file),
                        "--out", str(tmp_path / "more"), "--sample", "100000"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2 and "--sample 100000" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "more").exists()


# -- the window -----------------------------------------------------------------------------------

@pytest.fixture
def window(open_window):
    return open_window(size=(1500, 950))


def click(qtbot, widget, pos=None):
    qtbot.mouseClick(widget, LEFT, pos=pos if pos is not None else widget.rect().center())


def choose(qtbot, combo: QComboBox, text: str):
    """Pick an item of a combo box as a person does with the keyboard: click it, then arrows."""
    click(qtbot, combo)
    if combo.view().isVisible():
        qtbot.keyClick(combo.view(), Qt.Key.Key_Escape)
    target = combo.findText(text)
    assert target >= 0
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up)


def numbers(text: str) -> list[float]:
    return [float(m.replace("−", "-")) for m in re.findall(r"[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?",
                                                          text.replace("×", " ").replace("f′", ""))]


def classic_sample(snap, index: int):
    """z, a, δ of the classic 2-3-3 network (sigmoid, softmax) for one sample at the weights the
    pass used, by plain numpy."""
    W1, W2 = snap.trace_weights
    b1, b2 = snap.trace_biases
    x, t = np.asarray(snap.sample.x), np.asarray(snap.sample.target)
    z1 = x @ W1 + b1
    a1 = F["sigmoid"](z1)
    z2 = a1 @ W2 + b2
    y = np.exp(z2 - z2.max())
    y /= y.sum()
    d2 = y - t
    sums = W2 @ d2
    fp = DF["sigmoid"](z1)
    return dict(z1=z1, a1=a1, y=y, d2=d2, sums=sums, fp=fp, d1=fp * sums, W2=W2, x=x)


def run_pass(qtbot, w):
    target = w.latest.pass_count + 1
    w.step()
    qtbot.waitUntil(lambda: w.latest.pass_count == target, timeout=5000)
    w.paint_now()


def test_the_focus_control_switches_the_diagram_and_the_inspector(qtbot, window):
    run_pass(qtbot, window)
    net = window.network
    assert net.focus_combo().currentText() == "pinned sample"    # bpviz opens on one sample
    choose(qtbot, net.focus_combo(), "batch mean")
    qtbot.waitUntil(lambda: "mean over 1,500 samples" in net.focus_header_text(), timeout=3000)
    window.paint_now()
    mean_labels = net.value_label_texts()
    assert window.inspector.scope() == "batch" and window.inspector.batch_radio.isChecked()
    assert mean_labels[(1, 2)] == style.format_known(window.latest.delta_mean[0][2], 3)

    choose(qtbot, net.focus_combo(), "pinned sample")
    qtbot.waitUntil(lambda: "for sample 0" in net.focus_header_text(), timeout=3000)
    window.paint_now()
    v = classic_sample(window.latest, 0)
    labels = net.value_label_texts()
    for i in range(3):
        assert labels[(1, i)] == style.format_known(v["d1"][i], 3)
        assert labels[(2, i)] == style.format_known(v["d2"][i], 3)
    assert labels != mean_labels
    assert window.inspector.scope() == "sample" and window.inspector.sample_radio.isChecked()
    qtbot.waitUntil(lambda: "(sample 0;" in window.inspector.chain_rule_html(), timeout=10000)
    assert "sample 0" in window.focus_status.text()

    click(qtbot, window.inspector.batch_radio)        # the inspector's toggle is the same focus
    qtbot.waitUntil(lambda: "mean over 1,500" in net.focus_header_text(), timeout=3000)
    assert net.focus_combo().currentText() == "batch mean"
    assert "means over the" in window.inspector.chain_rule_html()
    window.paint_now()
    assert net.value_label_texts() == mean_labels
    assert "do not obey" in net.focus_header_text()


def test_clicking_a_neuron_writes_its_chain_rule_beside_it(qtbot, window):
    net = window.network
    choose(qtbot, net.focus_combo(), "pinned sample")
    window.paint_now()
    v = classic_sample(window.latest, 0)         # the initial weights: the lessons' numbers
    click(qtbot, net.mouse_target(), net.viewport_point(net.neuron_pos(1, 2)))
    qtbot.waitUntil(lambda: net.sum_label_text().startswith("Σ w·δ"), timeout=3000)
    text = net.sum_label_text()
    assert text.startswith("Σ w·δ = 1.818 × f′(z) 0.055") and text.endswith("= δ 0.1003")
    total, fprime, delta = numbers(text)
    assert total == pytest.approx(v["sums"][2], rel=1e-3)
    assert fprime == pytest.approx(v["fp"][2], rel=1e-3)
    assert delta == pytest.approx(v["d1"][2], rel=1e-3)
    assert text == (f"Σ w·δ = {style.format_known(v['sums'][2])} × f′(z) "
                    f"{style.format_known(v['fp'][2])} = δ {style.format_known(v['d1'][2])}")
    assert net.uplinks_emphasised() == [(1, 2, j) for j in range(3)]
    # the error signals drawn on those uplinks are the terms of that sum
    for j in range(3):
        net.hover_at(net.edge_pos(1, 2, j))
        assert (f"error signal w·δ (sample 0) = "
                f"{style.format_value(v['W2'][2, j] * v['d2'][j])}") in net.hover_text()

    choose(qtbot, net.focus_combo(), "batch mean")
    qtbot.waitUntil(lambda: "do not obey" in net.sum_label_text(), timeout=3000)
    snap = window.latest
    mean_sum, mean_delta = numbers(net.sum_label_text())[:2]
    assert mean_sum == pytest.approx(float(v["W2"][2] @ snap.delta_mean[1]), rel=1e-3)
    assert mean_delta == pytest.approx(float(snap.delta_mean[0][2]), rel=1e-3)
    X = np.asarray(window.dataset.X_train)[:snap.trace_samples]
    W1, b1 = snap.trace_weights[0], snap.trace_biases[0]
    mean_fp = float(DF["sigmoid"](X @ W1 + b1)[:, 2].mean())
    assert abs(mean_delta - mean_fp * mean_sum) > 0.01 * abs(mean_delta)   # they do not add up


def test_the_diagram_draws_the_numbers_of_the_exported_csv(qtbot, window, tmp_path):
    from bpviz.ui.export.export import export_panel
    run_pass(qtbot, window)
    window.pin_sample(11)
    qtbot.waitUntil(lambda: window.latest.sample.index == 11, timeout=5000)
    window.paint_now()
    net = window.network
    assert "for sample 11" in net.focus_header_text()
    export_panel(window, "network", "csv", tmp_path / "network.csv")
    _, edges = read_csv(tmp_path / "network.csv")
    _, neurons = read_csv(tmp_path / "network_neurons.csv")
    check_chain_rule(edges, neurons, (2, 3, 3), ("sigmoid",), "sample 11")
    labels = net.value_label_texts()
    for r in neurons:
        if r["layer"] != "0":
            key = (int(r["layer"]), int(r["index"]))
            assert labels[key] == style.format_known(float(r["delta"]), 3)
    net.set_node_mode("activation")
    labels = net.value_label_texts()
    for r in neurons:
        assert labels[(int(r["layer"]), int(r["index"]))] == \
            style.format_known(float(r["activation"]), 3)
    net.set_overlay("signal")
    for r in edges:
        wi, i, j = int(r["layer"]) - 1, int(r["from"]), int(r["to"])
        net.hover_at(net.edge_pos(wi, i, j))
        text = net.hover_text()
        assert f"error signal w·δ (sample 11) = {style.format_value(float(r['error_signal']))}" \
            in text
        assert f"gradient ∂ℓ/∂w (sample 11) = {style.format_value(float(r['gradient']))}" in text


def test_stepping_by_one_sample_focuses_on_that_sample(qtbot, window):
    window.set_step_mode("sample")
    target = window.latest.pass_count + 1
    window.step()
    qtbot.waitUntil(lambda: window.latest.pass_count == target
                    and window.focus_model.is_sample(), timeout=10000)
    step = next(window.history[k] for k in range(len(window.history))
                if window.history[k].stepped_sample is not None)
    stepped = step.stepped_sample
    assert step.sample.index == stepped                   # the step's snapshot carries it
    assert window.focus_model.sample == stepped
    qtbot.waitUntil(lambda: window.latest.sample.index == stepped, timeout=5000)
    window.paint_now()
    assert f"for sample {stepped}" in window.network.focus_header_text()
    v = classic_sample(window.latest, stepped)     # at the weights the step trained from
    loss = float(-np.sum(np.asarray(window.latest.sample.target) * np.log(v["y"])))
    assert window.focus_status.text() == (f"values for: sample {stepped} "
                                          f"(ℓ {style.format_loss(loss)})")


def test_a_backward_phase_lights_the_deltas_it_reuses(qtbot, open_window):
    w = open_window("spiral", size=(1500, 950))
    w.set_step_mode("phase")
    sizes = w.latest.sizes                        # 2-16-16-2: two hidden layers
    seen = []
    for _ in range(len(sizes) + 5):               # every phase but the update
        count = w.latest.seq
        w.step()
        qtbot.waitUntil(lambda: w.latest.seq > count and w.latest.phase is not None,
                        timeout=5000)
        w.paint_now()
        phase = w.latest.phase
        neurons, edges = w.network.reused_lit()
        if phase.kind == HIDDEN_DELTA:
            above = phase.layer + 1
            assert neurons == [(above, j) for j in range(sizes[above])]
            assert sorted(edges) == [(phase.layer, i, j) for i in range(sizes[phase.layer])
                                     for j in range(sizes[above])]
            seen.append(phase.layer)
        else:
            assert neurons == [] and edges == []
        if phase.kind == "gradients":
            break
    assert seen == [2, 1]


def test_the_focus_is_kept_in_the_session(qtbot, window, tmp_path):
    window.pin_sample(5)
    assert window.session_extra()["focus"] == "sample"
    window.set_focus("mean")
    assert window.session_extra()["focus"] == "mean" and window.focus_model.sample == 5
    QApplication.processEvents()


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_lessons_one_to_five_show_one_sample(qtbot, window, number):
    from tests.test_lessons import open_lessons
    window.set_focus("mean")
    open_lessons(qtbot, window, number)
    qtbot.waitUntil(lambda: window.focus_model.is_sample(), timeout=5000)
    window.paint_now()
    assert "for sample 0" in window.network.focus_header_text()
    assert window.inspector.scope() == "sample"


def test_picking_a_sample_on_the_boundary_focuses_on_it(qtbot, window):
    boundary = window.boundary
    pos = boundary.graphics.mapFromScene(boundary.point_scene_pos(7))
    click(qtbot, boundary.graphics.viewport(), pos)
    qtbot.waitUntil(lambda: window.focus_model.is_sample() and window.focus_model.sample == 7,
                    timeout=5000)
    qtbot.waitUntil(lambda: window.latest.sample.index == 7, timeout=5000)
    window.paint_now()
    assert "for sample 7" in window.network.focus_header_text()
    assert window.network.focus_combo().currentText() == "pinned sample"


def test_the_graph_says_it_is_one_samples_when_the_focus_is_the_mean(qtbot, window):
    from tests.test_graph_view import show_graph_tab
    graph = show_graph_tab(qtbot, window)
    choose(qtbot, window.network.focus_combo(), "batch mean")
    assert window.focus_model.mode == "mean"
    qtbot.waitUntil(lambda: "this is the pinned sample" in graph.header.text(), timeout=3000)
    assert "this is the pinned sample" in graph.header.text()
    choose(qtbot, window.network.focus_combo(), "pinned sample")
    qtbot.waitUntil(lambda: "this is the pinned sample" not in graph.header.text(), timeout=3000)
    assert "sample #0" in graph.header.text()


def test_export_without_sample_keeps_the_sessions_focus(tmp_path):
    cfg = Config.preset("xor")
    for k, v in ARCH.items():
        setattr(cfg, k, v)
    _, _, trainer = build(cfg)
    trainer.run(epochs=1)
    path = tmp_path / "kept.bpviz"
    save_session(path, trainer, cfg, extra={"pinned_sample": 3, "focus": "sample"})
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", "export", "--session", str(path),
                        "--out", str(tmp_path / "figs")], capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    _, edges = read_csv(tmp_path / "figs" / "network.csv")
    _, neurons = read_csv(tmp_path / "figs" / "network_neurons.csv")
    assert check_chain_rule(edges, neurons, (2, 4, 3, 2), ARCH["activation"], "sample 3") == 7


def test_a_lesson_says_whose_numbers_it_quotes_when_the_diagram_shows_means(qtbot, window):
    from tests.test_lessons import open_lessons
    open_lessons(qtbot, window, 3)
    lessons = window.lessons
    assert "the diagram shows batch means" not in lessons.shown_text()
    choose(qtbot, window.network.focus_combo(), "batch mean")
    qtbot.waitUntil(lambda: "sample 0's; the diagram shows batch means"
                    in lessons.shown_text(), timeout=3000)
    choose(qtbot, window.network.focus_combo(), "pinned sample")
    qtbot.waitUntil(lambda: "the diagram shows batch means" not in lessons.shown_text(),
                    timeout=3000)


@pytest.mark.parametrize("width", [380, 900])
def test_the_sum_label_stays_inside_the_diagram(qtbot, make_snap, width):
    from bpviz.ui.window.focus import FocusModel
    from bpviz.ui.network.view import NetworkView
    view = NetworkView(focus=FocusModel("sample", 0))
    qtbot.addWidget(view)
    view.resize(width, 420)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(make_snap("gaussian-clouds", passes=1))
    for layer, i in ((1, 0), (1, 2), (2, 1)):
        view.select_neuron(layer, i)
        QApplication.processEvents()
        assert view.sum_label_text()
        label = view.sum_label_item().sceneBoundingRect()
        box = view.diagram_scene_rect()
        assert box.contains(label), (layer, i, label, box)


def test_a_big_networks_compact_snapshot_still_adds_up_for_one_sample():
    """Above COMPACT_PARAMETERS the per-edge values travel in float32; the sample's values are
    computed at those weights, so its edges still add up to its deltas exactly."""
    from bpviz.engine.snapshot import COMPACT_PARAMETERS
    cfg = Config.preset("xor")
    cfg.hidden, cfg.activation = (256, 200), ("tanh", "sigmoid")
    _, net, trainer = build(cfg)
    assert net.n_parameters > COMPACT_PARAMETERS
    before = (list(net.weights), list(net.biases))
    trace = trainer.step().trace
    snap = make_snapshot(trainer, seq=1, running=False, trace=trace, trace_weights=before[0],
                         trace_biases=before[1], pinned=5)
    assert snap.compact
    tables = network_tables(snap, sample=True)
    edges = [dict(zip(tables[""].header, r)) for r in tables[""].rows]
    neurons = [dict(zip(tables["neurons"].header, r)) for r in tables["neurons"].rows]
    assert check_chain_rule(edges, neurons, snap.sizes, cfg.activation, "sample 5") == 456
