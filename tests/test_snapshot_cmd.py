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
