"""`bpviz compare`: runs side by side, checked against the numbers of the runs themselves (their
history.csv, their recorded descent paths projected by plain numpy here), each labelled with
what differs between them; and the window's "Keep this run"."""

import csv

import numpy as np
import pytest
from PIL import Image
from tests.commandline import bpviz, read_rows

LRS = ("0.05", "1.5", "200")


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """The classic example trained 15 epochs at three learning rates, by `bpviz train --out`."""
    folder = tmp_path_factory.mktemp("runs")
    runs = []
    for lr in LRS:
        out = folder / f"lr-{lr}"
        code, _, stderr = bpviz("train", "--preset", "gaussian-clouds", "--epochs", "15", "--lr",
                                lr, "--out", str(out))
        assert code == 0, stderr
        runs.append(out)
    return runs


def test_the_csv_holds_each_runs_own_history_labelled_with_what_differs(three_runs, tmp_path):
    out = tmp_path / "lr.csv"
    code, stdout, stderr = bpviz("compare", *map(str, three_runs), "--out", str(out))
    assert code == 0, stderr
    assert "η = 0.05 / 1.5 / 200" in stdout
    header, rows = read_rows(out)
    for run, lr in zip(three_runs, LRS):
        own_header, own = read_rows(run / "history.csv")
        assert header[:2] == ["run", "label"] and header[2:] == own_header
        mine = [r for r in rows if r[0] == str(run)]
        assert {r[1] for r in mine} == {f"η = {lr}"}
        assert len(mine) == len(own) == 15
        for got, want in zip(mine, own):
            assert int(got[2]) == int(want[0])
            np.testing.assert_array_equal(np.array(got[3:], float), np.array(want[1:], float))
    paths_header, paths = read_rows(tmp_path / "lr_paths.csv")
    assert paths_header == ["run", "label", "pass", "pc1", "pc2"]
    # train --out records the path: the three runs start from the same weights, so their first
    # points are one point of the common plane, and then they part
    starts = [[r[3:] for r in paths if r[0] == str(run) and r[2] == "0"] for run in three_runs]
    assert all(len(s) == 1 for s in starts) and starts[0] == starts[1] == starts[2]
    ends = {tuple(r[3:]) for r in paths if r[2] == "15"}
    assert len(ends) == 3


def test_the_picture_is_drawn_at_its_size_png_and_svg(three_runs, tmp_path):
    png = tmp_path / "lr.png"
    code, _, stderr = bpviz("compare", *map(str, three_runs), "--out", str(png), "--size",
                            "1200x400", "--scale", "2")
    assert code == 0, stderr
    with Image.open(png) as im:
        assert im.size == (2400, 800)
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or range(1000)) > 100
    svg = tmp_path / "lr.svg"
    code, _, stderr = bpviz("compare", *map(str, three_runs), "--out", str(svg))
    assert code == 0, stderr
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "η = 0.05" in text and "η = 200" in text


def test_bad_runs_and_outputs_are_one_line_and_exit_2(three_runs, tmp_path):
    for args, words in (([str(tmp_path / "none.bpviz")], "no such file or folder"),
                        ([str(tmp_path)], "no history.csv"),
                        ([str(three_runs[0]), "--out", str(tmp_path / "x.jpg")],
                         "FILE.png, FILE.svg or FILE.csv"),
                        ([str(three_runs[0]), "--out", str(tmp_path / "no" / "x.csv")],
                         "does not exist")):
        if "--out" not in args:
            args = args + ["--out", str(tmp_path / "x.csv")]
        code, _, stderr = bpviz("compare", *args)
        assert code == 2, stderr
        assert len(stderr.strip().splitlines()) == 1 and words in stderr, stderr
    bad = tmp_path / "broken.bpviz"
    bad.write_bytes(b"not a zip")
    code, _, stderr = bpviz("compare", str(bad), "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "broken.bpviz" in stderr and len(stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("x*"))


# -- descent paths: sessions that recorded them ------------------------------------------------

def session_with_path(path, lr, epochs=8):
    from bpviz.engine.config import Config, build
    from bpviz.engine.session import write_session
    from bpviz.engine.trajectory import Trajectory
    cfg = Config.preset("xor")
    cfg.lr = lr
    _, net, trainer = build(cfg)
    trajectory = Trajectory(net)
    trajectory.record(net, 0, force=True)
    trainer.run(epochs=epochs, on_pass=lambda r: trajectory.record(net, trainer.pass_count))
    write_session(path, trainer, cfg, trajectory=trajectory)
    return trajectory.points.copy(), trajectory.passes.copy(), trainer.history.table()


def test_descent_paths_are_the_recorded_points_in_their_common_plane(tmp_path):
    recorded = {}
    for lr in (0.05, 0.5):
        recorded[lr] = session_with_path(tmp_path / f"lr-{lr}.bpviz", lr)
    out = tmp_path / "paths.csv"
    code, stdout, stderr = bpviz("compare", str(tmp_path / "lr-0.05.bpviz"),
                                 str(tmp_path / "lr-0.5.bpviz"), "--out", str(out))
    assert code == 0, stderr
    assert "η = 0.05 / 0.5" in stdout
    _, rows = read_rows(tmp_path / "paths_paths.csv")
    # the plane by hand: the mean of every point, and the two leading right singular vectors
    points = np.vstack([recorded[0.05][0], recorded[0.5][0]])
    centred = points - points.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    for lr in (0.05, 0.5):
        pts, passes, history = recorded[lr]
        mine = [r for r in rows if r[1] == f"η = {lr:g}"]
        assert [int(r[2]) for r in mine] == passes.tolist()
        xy = np.array([[float(r[3]), float(r[4])] for r in mine])
        want = (pts - points.mean(axis=0)) @ axes.T
        # a principal direction's sign is arbitrary: compare up to a flip of each axis
        for k in range(2):
            assert np.allclose(np.abs(xy[:, k]), np.abs(want[:, k]), atol=1e-9)
    # and the session's own history is the curve
    _, curves = read_rows(out)
    for lr in (0.05, 0.5):
        mine = np.array([[float(v) for v in r[3:]] for r in curves if r[1] == f"η = {lr:g}"])
        np.testing.assert_array_equal(mine, recorded[lr][2][:, 1:])


def test_the_figure_draws_the_runs_numbers_under_their_labels(qtbot, tmp_path):
    from bpviz.engine.runs import differences, load_run, title
    from bpviz.ui.export.compare import ComparisonFigure
    for lr in (0.05, 0.5):
        session_with_path(tmp_path / f"lr-{lr}.bpviz", lr, epochs=4)
    runs = [load_run(tmp_path / f"lr-{lr}.bpviz") for lr in (0.05, 0.5)]
    labels = differences([r.config for r in runs])
    assert labels == ["η = 0.05", "η = 0.5"] and title([r.config for r in runs]) == "η = 0.05 / 0.5"
    figure = ComparisonFigure(runs, labels, "η = 0.05 / 0.5")
    qtbot.addWidget(figure)
    assert figure.legend_labels() == labels
    for run, curve in zip(runs, figure.curves["loss"]):
        x, y = curve.getOriginalDataset()          # as given: the plot draws log10 of it
        np.testing.assert_array_equal(x, run.history[:, 0])
        np.testing.assert_array_equal(y, run.history[:, 1])
    assert len(figure.curves["grad"]) == 2 * 2           # two runs, two layers each
    assert len(figure.curves["path"]) == 2 and not figure.path_note


def test_labels_say_what_differs_and_nothing_else():
    from bpviz.engine.config import Config
    from bpviz.engine.runs import differences, title
    a, b, c = (Config.preset("gaussian-clouds").to_dict() for _ in range(3))
    b["lr"], c["lr"], c["batch_size"] = 0.5, 0.5, 32
    assert differences([a, b, c]) == ["η = 1.5, batch = full", "η = 0.5, batch = full",
                                      "η = 0.5, batch = 32"]
    assert title([a, b, c]) == "runs compared: η, batch"
    assert differences([a, dict(a)], ["one", "two"]) == ["one", "two"]   # nothing differs
    longer = dict(a, epochs=2000)
    assert differences([a, longer]) == ["epochs = 1000", "epochs = 2000"]


# -- the window: Train → Keep this run ----------------------------------------------------------

def menu_action(window, text):
    return next(a for a in window.train_menu.actions() if a.text() == text)


def train_epochs(qtbot, window, epochs):
    """``epochs`` steps of Step by: one epoch, each waited for."""
    window.set_step_mode("epoch")
    for _ in range(epochs):
        target = window.latest.epoch + 1
        window.step_action.trigger()
        qtbot.waitUntil(lambda: window.latest.epoch >= target and not window.latest.running,
                        timeout=30000)


def test_keep_this_run_keeps_its_loss_labelled_with_what_differs(qtbot, open_window, tmp_path):
    w = open_window("xor")
    first_lr = w.config.lr
    train_epochs(qtbot, w, 3)
    menu_action(w, "Keep this run").trigger()
    from bpviz.ui.export.export import run_record
    record = run_record(w)                           # the session's own history of the run
    (label, x, y), = w.cost.kept_runs()
    np.testing.assert_array_equal(x, record.history[:, 0])
    np.testing.assert_array_equal(y, record.history[:, 1])
    assert w.cost.kept_item(0).isVisible()
    assert "kept this run" in w.statusBar().currentMessage()

    # a second run at another learning rate (typed in, then Reset): the kept one is labelled
    # with its own
    w.controls.lr.spin.setValue(0.5)
    qtbot.waitUntil(lambda: w.latest.lr == 0.5, timeout=10000)
    w.reset_action.trigger()
    qtbot.waitUntil(lambda: w.config.lr == 0.5 and w.latest.pass_count == 0, timeout=20000)
    legend = w.cost.legend(w.cost.loss_plot)

    def kept_in_legend():        # full labels, or short ones ("η = 0.5") where those do not fit
        return [t for t in legend.labels() if "η" in t]

    assert kept_in_legend() in ([f"kept: η = {first_lr:g}"], [f"η = {first_lr:g}"])
    train_epochs(qtbot, w, 2)
    menu_action(w, "Keep this run").trigger()
    labels = [k[0] for k in w.cost.kept_runs()]
    assert labels == [f"kept: η = {first_lr:g}", "kept: η = 0.5"]
    assert kept_in_legend() in (labels, [t[len("kept: "):] for t in labels])
    assert w.cost.kept_runs()[0][1].tolist() == x.tolist()      # the first one as it was
    # the numbers behind the cost panel's picture include the kept runs, as drawn
    from bpviz.ui.export.export import export_panel
    export_panel(w, "cost", "csv", tmp_path / "cost.csv")
    with open(tmp_path / "cost_kept.csv", newline="", encoding="utf-8") as f:
        kept = list(csv.reader(f))
    assert kept[0] == ["run", "epoch", "loss"]
    first = [r for r in kept[1:] if r[0] == labels[0]]
    assert [int(r[1]) for r in first] == x.tolist()
    assert [float(r[2]) for r in first] == y.tolist()

    menu_action(w, "Forget kept runs").trigger()
    assert w.cost.kept_runs() == [] and not kept_in_legend()


def test_keep_this_run_before_any_epoch_says_there_is_nothing_to_keep(qtbot, open_window):
    w = open_window("xor")
    w.keep_action.trigger()
    assert w.cost.kept_runs() == []
    assert "no epoch has been trained yet" in w.statusBar().currentMessage()
