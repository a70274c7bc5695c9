"""Faults around sessions and the headless commands: a diverged session is a normal one (export,
resume, open), every value a session carries is checked, the last pass of a run is checked for
divergence, and the commands exit cleanly (no crash, no traceback, nothing left behind).

Command-line cases run ``python -m bpviz`` in a fresh process, in both run modes (training in a
child process, and with ``BPVIZ_PROCESSES=0`` in a thread), with a temporary folder of their own
so that anything a command leaves behind there is seen.
"""

import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpviz.engine import Config, SessionError, build
from bpviz.engine import session as session_module
from bpviz.engine.session import load_session, save_session

def bpviz(tmp_path, *args, mode="process", code=None):
    """Run ``python -m bpviz ARGS`` (or ``python -c CODE ARGS``) in ``mode``:
    (exit status, stdout, stderr). Its temporary folder is ``tmp_path / "tmp"``."""
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(temp), QT_QPA_PLATFORM="offscreen",
               BPVIZ_PROCESSES="0" if mode == "thread" else "1")
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "bpviz"]
    p = subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=600, cwd=tmp_path)
    return p.returncode, p.stdout, p.stderr


def one_line(err: str) -> str:
    """``err`` must be one line of text, with no traceback or warning."""
    assert "Traceback" not in err and "Warning" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def leftovers(tmp_path) -> list[str]:
    """What the commands left in their temporary folder."""
    return sorted(p.name for p in (tmp_path / "tmp").iterdir())


@pytest.fixture(scope="module")
def diverged_run(tmp_path_factory):
    """``train --lr 1e6 --epochs 5 --out d``: a run that diverges in its first epoch."""
    tmp = tmp_path_factory.mktemp("diverged")
    code, out, err = bpviz(tmp, "train", "--lr", "1e6", "--epochs", "5", "--out", tmp / "d")
    assert code == 3, err
    assert one_line(err).startswith("bpviz train: training diverged in epoch 1 (pass 1)")
    return tmp / "d" / "session.bpviz"


# -- a diverged session is a normal session --------------------------------------------------------

@pytest.mark.run_modes("process", "thread")
def test_a_diverged_session_exports_every_file(diverged_run, tmp_path, run_mode):
    code, out, err = bpviz(tmp_path, "export", "--session", diverged_run, "--out", tmp_path / "e",
                           mode=run_mode)
    assert code == 0 and err == "", err
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    files = [f["file"] for f in manifest["files"]]
    assert len(files) >= 10 and out.strip() == f"wrote {len(files) + 1} files to {tmp_path / 'e'}"
    assert all((tmp_path / "e" / f).stat().st_size > 0 for f in files)
    assert leftovers(tmp_path) == []          # no bpviz-export-* settings folder


@pytest.mark.run_modes("process", "thread")
def test_a_diverged_session_resumes_or_says_it_diverged(diverged_run, tmp_path, run_mode):
    (tmp_path / "r").mkdir()
    session = tmp_path / "r" / "session.bpviz"         # --resume writes back into its folder
    session.write_bytes(diverged_run.read_bytes())
    # with the rate that diverged it diverges again, and says so in one line
    code, out, err = bpviz(tmp_path, "train", "--resume", session, "--epochs", "2", mode=run_mode)
    assert code == 3
    assert "training diverged in epoch 2" in one_line(err)
    # with a smaller rate it carries on from the last finite weights
    code, out, err = bpviz(tmp_path, "train", "--resume", session, "--epochs", "3", "--lr", "0.1",
                           mode=run_mode)
    assert code == 0 and err == "", err
    resumed = load_session(session)
    assert resumed.trainer.epoch == 5 and resumed.trainer.diverged is None
    assert list(resumed.trainer.history.epoch) == [0, 1, 2, 3, 4]


@pytest.mark.run_modes("process", "thread")
def test_opening_a_diverged_session_in_the_window_shows_it(diverged_run, open_window, qtbot,
                                                           run_mode):
    window = open_window()
    assert window.host.mode == run_mode
    saved = load_session(diverged_run)
    window.open_session(str(diverged_run))
    qtbot.waitUntil(lambda: window.session_path == str(diverged_run)
                    and window.latest.pass_count == saved.trainer.pass_count, timeout=10000)
    message = saved.trainer.diverged.message()
    assert window.latest.diverged == message and not window.latest.running
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == message, timeout=5000)
    assert window.last_error == message
    assert all(np.array_equal(a, b) for a, b in zip(window.latest.weights,
                                                     saved.network.weights))


# -- no crash at exit --------------------------------------------------------------------------

FAIL_AFTER_OPENING = """
import sys
from bpviz.cli import main
from bpviz.engine.errors import BpvizError
from bpviz.ui.window.main_window import MainWindow
def fail(self):
    raise BpvizError("forced failure after the session opened")
MainWindow.paint_now = fail
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.run_modes("process", "thread")
def test_an_export_that_fails_with_the_window_open_exits_cleanly(diverged_run, tmp_path, run_mode):
    """The window, its divergence message box open and its layout not yet settled, was left for
    the interpreter's exit, where PySide tears it down in no order and crashes (status 139)."""
    code, out, err = bpviz(tmp_path, "export", "--session", diverged_run, "--out", tmp_path / "e",
                           mode=run_mode, code=FAIL_AFTER_OPENING)
    assert code == 2
    assert one_line(err) == "bpviz export: forced failure after the session opened"
    assert not (tmp_path / "e").exists() and leftovers(tmp_path) == []


# -- the last pass is checked for divergence ------------------------------------------------------

def test_a_run_whose_last_pass_overshoots_has_diverged():
    cfg = Config.preset("gaussian-clouds")
    cfg.lr = 1e6
    _, net, trainer = build(cfg)
    initial = [W.copy() for W in net.weights] + [b.copy() for b in net.biases]
    start = net.loss(trainer.X, trainer.T)
    diverged = trainer.run(epochs=1)
    assert diverged is not None and trainer.diverged is diverged
    assert (diverged.epoch, diverged.pass_index) == (1, 1)
    assert "the loss jumped from 2.1 to 613,933" in diverged.reason
    # the update is taken back: the weights are the initial ones, at the loss the run started at
    assert all(np.array_equal(a, b) for a, b in zip(net.weights + net.biases, initial))
    assert net.loss(trainer.X, trainer.T) == start == trainer.start_loss


def test_a_run_whose_last_pass_is_fine_has_not_diverged():
    _, net, trainer = build(Config.preset("gaussian-clouds"))
    assert trainer.run(epochs=1) is None and trainer.diverged is None
    assert trainer.check_weights() is None


@pytest.mark.parametrize("command", [
    ["train"], ["inspect", "--neuron", "1:0"], ["snapshot", "--out", "s.png"]])
def test_the_commands_exit_3_when_the_last_epoch_overshoots(tmp_path, command):
    code, out, err = bpviz(tmp_path, *command, "--lr", "1e6", "--epochs", "1")
    assert code == 3
    assert one_line(err).endswith("training diverged in epoch 1 (pass 1): the loss jumped from "
                                  "2.1 to 613,933, more than 1,000 times where it started: the "
                                  "learning rate overshoots; the last finite weights are kept — "
                                  "try a smaller learning rate")
    assert leftovers(tmp_path) == []


def test_snapshot_in_a_thread_exits_3_when_the_last_epoch_overshoots(tmp_path):
    code, out, err = bpviz(tmp_path, "snapshot", "--out", "s.png", "--lr", "1e6", "--epochs", "1",
                           mode="thread")
    assert code == 3 and "training diverged in epoch 1 (pass 1)" in one_line(err)


# -- every value a session carries is checked --------------------------------------------------

@pytest.fixture(scope="module")
def good_session(tmp_path_factory):
    cfg = Config.preset("xor")
    _, _, trainer = build(cfg)
    trainer.run(epochs=4)
    path = tmp_path_factory.mktemp("good") / "good.bpviz"
    save_session(path, trainer, cfg, extra={"selected_neuron": [1, 2]})
    return path


def crafted(src, dst, change=None, arrays=()):
    """Copy session ``src`` to ``dst`` with ``change(manifest)`` applied and the named arrays
    replaced."""
    arrays = dict(arrays)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            name = info.filename.removesuffix(".npy")
            if info.filename == "session.json" and change:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest)
            elif name in arrays:
                import io
                buffer = io.BytesIO()
                np.save(buffer, arrays[name])
                data = buffer.getvalue()
            zout.writestr(info.filename, data)
    return dst


def setter(*keys, value):
    def change(m):
        target = m
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return change


BAD = {
    "epoch 2**63": (dict(change=setter("trainer", "epoch", value=2 ** 63)),
                    "the saved epoch count must be a whole number from 0 to 1000000000; got "
                    "9223372036854775808"),
    "pass count 2**63": (dict(change=setter("trainer", "pass_count", value=2 ** 63)),
                         "the pass count must be a whole number from 0 to 9007199254740992; got "
                         "9223372036854775808"),
    "fewer passes than epochs": (dict(change=setter("trainer", "pass_count", value=2)),
                                 "2 passes cannot make 4 epochs"),
    "adam step 2**63": (dict(change=setter("trainer", "epoch", value=4)), None),   # see below
    "reversed history": (dict(arrays={"trainer/history/epoch": np.array([3, 2, 1, 0])}),
                         "the history's rows are not in order"),
    "repeated history": (dict(arrays={"trainer/history/epoch": np.array([0, 1, 1, 2])}),
                         "the history's rows are not in order"),
    "negative history": (dict(arrays={"trainer/history/epoch": np.array([-3, 0, 1, 2])}),
                         "the history's rows are not in order"),
    "history past the epoch": (dict(arrays={"trainer/history/epoch": np.array([0, 1, 2, 9])}),
                               "the history's rows are not in order"),
    "accuracy above 1": (dict(arrays={"trainer/history/accuracy": np.array([0.5, 2, 1, 1.0])}),
                         "the history's accuracy column holds values outside 0 to 1"),
    "negative loss": (dict(arrays={"trainer/history/loss": np.array([0.5, -2, 1, 1.0])}),
                      "the history's loss column holds values outside 0 to infinity"),
    "divergence ahead of the run": (dict(change=setter("trainer", "diverged", value={
        "epoch": 7, "pass_index": 7, "reason": "x"})), "lies after where the run stands"),
    "neuron as an object": (dict(change=setter("extra", "selected_neuron", value={"a": 1})),
                            'extra.selected_neuron must be [layer, index] of a neuron of the '
                            'network 2-4-2; got {"a": 1}'),
    "neuron at infinity": (dict(change=setter("extra", "selected_neuron",
                                              value=[float("inf"), 0])),
                           "extra.selected_neuron must be [layer, index] of a neuron of the "
                           "network 2-4-2; got [Infinity, 0]"),
    "neuron past the layer": (dict(change=setter("extra", "selected_neuron", value=[1, 4])),
                              "extra.selected_neuron must be [layer, index]"),
    "pinned sample past the data": (dict(change=setter("extra", "pinned_sample", value=10 ** 9)),
                                    "extra.pinned_sample must be a training sample, 0 to"),
    "surface axes of another network": (dict(change=setter("extra", "surface_axes", value=[
        ["weight", 5, 0, 0], ["bias", 0, 0, 1]])), "extra.surface_axes must be two axes"),
    "step mode a number": (dict(change=setter("extra", "step_mode", value=3)),
                           "extra.step_mode must be text; got 3"),
}
del BAD["adam step 2**63"]


@pytest.mark.parametrize("case", list(BAD))
def test_a_session_value_out_of_range_or_order_is_refused(good_session, tmp_path, case):
    how, message = BAD[case]
    bad = crafted(good_session, tmp_path / "bad.bpviz", **how)
    with pytest.raises(SessionError) as info:
        load_session(bad)
    text = str(info.value)
    assert text.startswith(f"{bad}: ") and "\n" not in text
    assert message in text


def test_the_selections_the_window_writes_are_accepted(good_session, tmp_path):
    extra = {"selected_neuron": [2, 1], "pinned_sample": 3, "surface_mode": "weights",
             "surface_axes": [["weight", 0, 1, 2], ["bias", 1, 0, 0]], "step_mode": "pass"}
    ok = crafted(good_session, tmp_path / "ok.bpviz", change=setter("extra", value=extra))
    assert load_session(ok).extra == extra
    random = dict(extra, surface_mode="random",
                  surface_axes=[["random", 0, 0, 0], ["random", 0, 0, 0]], selected_neuron=[])
    ok = crafted(good_session, tmp_path / "ok.bpviz", change=setter("extra", value=random))
    assert load_session(ok).extra == random


@pytest.mark.run_modes("process", "thread")
@pytest.mark.parametrize("case", ["epoch 2**63", "pass count 2**63", "neuron as an object",
                                  "neuron at infinity", "reversed history"])
def test_export_and_resume_refuse_a_crafted_session_in_one_line(good_session, tmp_path, case,
                                                                run_mode):
    how, message = BAD[case]
    bad = crafted(good_session, tmp_path / "bad.bpviz", **how)
    code, out, err = bpviz(tmp_path, "export", "--session", bad, "--out", tmp_path / "e",
                           mode=run_mode)
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "e").exists() and leftovers(tmp_path) == []
    code, out, err = bpviz(tmp_path, "train", "--resume", bad, "--epochs", "1", mode=run_mode)
    assert code == 2 and message in one_line(err)


def test_a_huge_csv_file_named_by_a_session_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "EMBED_LIMIT_BYTES", 0)     # refer to the file
    csv_path = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.6f},{b:.6f},{int(a > b)}" for a, b in rng.normal(size=(60, 2)))
    csv_path.write_text("x1,x2,label\n" + rows + "\n")
    cfg = Config.preset("xor")
    cfg.dataset, cfg.data_file, cfg.test_fraction = "csv", str(csv_path), 0.0
    _, _, trainer = build(cfg)
    save_session(tmp_path / "s.bpviz", trainer, cfg)
    with open(csv_path, "r+b") as f:           # 100 GB, sparse: nothing is written
        f.truncate(100 * 1024 ** 3)
    read = []
    monkeypatch.setattr(session_module, "file_checksum", lambda *a, **k: read.append(a))
    with pytest.raises(SessionError) as info:
        load_session(tmp_path / "s.bpviz")
    assert f"the CSV file {csv_path} is 107,374,182,400 bytes, more than a CSV file bpviz " \
           f"reads (104,857,600); refused unread" in str(info.value)
    assert read == []


# -- smaller faults ----------------------------------------------------------------------------

def test_gradcheck_says_when_every_sample_sits_on_a_relu_kink(tmp_path):
    # all-zero inputs: every hidden pre-activation is its bias, which starts at 0
    (tmp_path / "zeros.csv").write_text("a,b,label\n" + "0,0,0\n0,0,1\n" * 10)
    code, out, err = bpviz(tmp_path, "gradcheck", "--data", "zeros.csv", "--activation", "relu")
    assert code == 2 and out == ""
    assert one_line(err) == ("bpviz gradcheck: nothing to check: all 16 samples sit on a ReLU "
                             "kink (a pre-activation at 0), where the gradient is not defined; "
                             "try other data, another --seed or --activation tanh")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.run_modes("process", "thread")
def test_snapshot_saves_the_size_asked_for_or_refuses_it(tmp_path, run_mode):
    code, out, err = bpviz(tmp_path, "snapshot", "--size", "320x240", "--out", "small.png",
                           mode=run_mode)
    assert code == 2 and not (tmp_path / "small.png").exists()
    assert one_line(err).startswith("bpviz snapshot: --size 320x240: the window cannot be drawn "
                                    "at that size; at this layout it needs at least ")
    code, out, err = bpviz(tmp_path, "snapshot", "--size", "1300x700", "--out", "s.png",
                           mode=run_mode)
    assert code == 0 and err == "", err
    assert png_size(tmp_path / "s.png") == (1300, 700)
    assert leftovers(tmp_path) == []          # no bpviz-snapshot-* settings folder
