"""`bpviz snapshot`: the real window, offscreen, saved as a PNG of the requested size."""

import os
import subprocess
import sys

from PIL import Image


def run(*args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", "snapshot", *args], capture_output=True,
                       text=True, timeout=300, env=env)
    return p.returncode, p.stdout, p.stderr


def test_snapshot_writes_the_window_at_the_requested_size(tmp_path):
    out = tmp_path / "window.png"
    code, stdout, stderr = run("--preset", "gaussian-clouds", "--epochs", "20", "--size",
                               "1200x800", "--out", str(out))
    assert code == 0, stderr
    assert "epoch 20" in stdout
    with Image.open(out) as img:
        assert img.size == (1200, 800)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500        # a real picture, not a blank window
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp file left


def test_snapshot_with_a_selected_neuron(tmp_path):
    out = tmp_path / "sel.png"
    code, _, stderr = run("--preset", "xor", "--epochs", "2", "--select", "1:2", "--out", str(out))
    assert code == 0, stderr and out.exists()


def test_snapshot_bad_input_is_one_line(tmp_path):
    code, _, stderr = run("--preset", "xor", "--select", "5:0", "--out", str(tmp_path / "x.png"))
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "layer" in stderr
    code, _, stderr = run("--out", str(tmp_path / "missing" / "x.png"))
    assert code == 2 and "does not exist" in stderr
    code, _, stderr = run("--out", str(tmp_path / "x.jpg"))
    assert code == 2 and "PNG" in stderr


def test_export_command_renders_every_panel_of_a_session(tmp_path):
    import json
    run_dir = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "bpviz", "train", "--preset", "xor", "--epochs", "3",
                        "--out", str(run_dir)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "figs"
    p = subprocess.run([sys.executable, "-m", "bpviz", "export", "--session",
                        str(run_dir / "session.bpviz"), "--out", str(out)], capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    for panel in ("network", "boundary", "surface", "cost"):
        for ext in ("png", "svg", "csv"):
            assert (out / f"{panel}.{ext}").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["dataset"] == "xor"
    p = subprocess.run([sys.executable, "-m", "bpviz", "export", "--session",
                        str(tmp_path / "none.bpviz"), "--out", str(out)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


def test_numbers_beyond_their_range_are_refused_before_any_window(tmp_path):
    """The command line accepts only what the window can hold: a seed or batch size past its range
    is one line and exit 2, never an abort in the window."""
    code, _, stderr = run("--preset", "moons", "--seed", "3000000000", "--out",
                          str(tmp_path / "x.png"))
    assert code == 2 and stderr == ("bpviz snapshot: --seed must be a whole number from 0 to "
                                    "2147483647; got 3000000000\n")
    code, _, stderr = run("--preset", "moons", "--batch-size", "3000000000", "--out",
                          str(tmp_path / "x.png"))
    assert code == 2 and stderr == ("bpviz snapshot: --batch-size must be a whole number from 0 "
                                    "to 100000; got 3000000000\n")
    assert not list(tmp_path.iterdir())


def test_export_refuses_a_session_with_a_seed_beyond_its_range(tmp_path):
    import json
    import zipfile
    run_dir = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "bpviz", "train", "--preset", "moons", "--epochs",
                        "1", "--out", str(run_dir)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    good, bad = run_dir / "session.bpviz", tmp_path / "big-seed.bpviz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "session.json":
                manifest = json.loads(data)
                manifest["config"]["seed"] = 3000000000
                data = json.dumps(manifest)
            zout.writestr(info.filename, data)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", "export", "--session", str(bad), "--out",
                        str(tmp_path / "figs")], capture_output=True, text=True, timeout=300,
                       env=env)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "seed must be a whole number from 0 to 2147483647; got 3000000000" in p.stderr
    assert not (tmp_path / "figs").exists()


def test_a_diverging_run_ends_with_exit_3_one_line_and_the_picture(tmp_path):
    """The run pauses at the divergence and never reaches its last epoch: the command stops
    waiting, saves the picture of the paused window, and exits 3 as `train` does."""
    out = tmp_path / "diverged.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", "snapshot", "--preset", "sine", "--lr", "10",
                        "--optimizer", "sgd", "--batch-size", "1", "--epochs", "5", "--out",
                        str(out)], capture_output=True, text=True, timeout=90, env=env)
    assert p.returncode == 3, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpviz snapshot: training diverged in epoch 0")
    assert "smaller learning rate" in lines[0] and "Traceback" not in p.stderr
    assert out.stat().st_size > 0 and "wrote" in p.stdout
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]


class FakeSnap:
    def __init__(self, seq, epoch, passes, running, diverged=None):
        self.seq, self.epoch, self.pass_count = seq, epoch, passes
        self.running, self.diverged = running, diverged


class FakeWindow:
    """What _wait_for_epochs reads of a window: ``latest`` and ``last_error``; ``script`` gives
    the next snapshot each time events are processed (the last one repeats)."""

    def __init__(self, *script, error_at=None):
        self.script, self.calls, self.error_at = list(script), 0, error_at
        self.latest, self.last_error = self.script[0], ""

    def processEvents(self):
        self.calls += 1
        self.latest = self.script[min(self.calls, len(self.script) - 1)]
        if self.error_at is not None and self.calls >= self.error_at:
            self.last_error = "cannot apply this change"


def test_waiting_for_epochs_ends_for_every_reason():
    import time

    import pytest

    from bpviz.cli.snapshot import WindowError, _wait_for_epochs
    start = FakeSnap(1, 0, 0, False)
    done = FakeWindow(start, FakeSnap(2, 0, 0, True), FakeSnap(3, 2, 20, True),
                      FakeSnap(4, 5, 50, False))
    assert _wait_for_epochs(done, done, 5, stall_s=5) is None
    diverged = FakeWindow(start, FakeSnap(2, 0, 3, True), FakeSnap(3, 0, 4, False, "diverged"))
    assert _wait_for_epochs(diverged, diverged, 5, stall_s=5) == "diverged"
    short = FakeWindow(start, FakeSnap(2, 0, 3, True), FakeSnap(3, 1, 9, False))
    with pytest.raises(WindowError, match="stopped at epoch 1 of 5"):
        _wait_for_epochs(short, short, 5, stall_s=5)
    failed = FakeWindow(start, FakeSnap(2, 0, 3, True), error_at=3)
    with pytest.raises(WindowError, match="cannot apply this change"):
        _wait_for_epochs(failed, failed, 5, stall_s=5)
    stuck = FakeWindow(start, FakeSnap(2, 0, 3, True))          # running, never another pass
    t0 = time.monotonic()
    with pytest.raises(WindowError, match="no progress for 0.3 s"):
        _wait_for_epochs(stuck, stuck, 5, stall_s=0.3)
    assert time.monotonic() - t0 < 5
    never = FakeWindow(start)                                   # the run never even starts
    with pytest.raises(WindowError, match="no progress"):
        _wait_for_epochs(never, never, 5, stall_s=0.3)
