"""A wheel of bpviz installed without ``-e`` works outside the checkout: the iris preset trains and
the window has its icon.

The wheel is built from a copy of the checkout (so the build leaves nothing in the tree) and
installed with the new environment's own pip into a fresh virtual environment. That environment sees the test environment's
site-packages through a ``.pth`` line, for numpy and PySide6 without downloading them again; a
``.pth`` line adds the folder but runs none of the ``.pth`` files in it, so the editable bpviz of
the test environment stays invisible. The test checks that: ``bpviz.__file__`` must lie inside the
new environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setuptools_for_the_build() -> bool:
    """True when this environment's setuptools satisfies the build requirement, so that the wheel
    is built without an isolated environment (no download)."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 68


def _run(args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=180,
                          **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv's python, venv's bpviz script, the wheel's path, a folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    shutil.copytree(ROOT / "bpviz", src / "bpviz", ignore=ignore)
    shutil.copytree(ROOT / "resources", src / "resources", ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, src]
    if _setuptools_for_the_build():
        build.insert(5, "--no-build-isolation")
    proc = _run(build)
    assert proc.returncode == 0, proc.stderr
    wheel, = dist.glob("bpviz-*.whl")

    venv = tmp / "venv"
    proc = _run([sys.executable, "-m", "venv", venv])
    assert proc.returncode == 0, proc.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    proc = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                 "--disable-pip-version-check", wheel])
    assert proc.returncode == 0, proc.stderr
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    (site / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = venv / ("Scripts/bpviz.exe" if os.name == "nt" else "bin/bpviz")
    outside = tmp / "elsewhere"
    outside.mkdir()
    return python, script, wheel, outside


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def test_the_wheel_holds_every_module_and_the_resources(installed):
    _, _, wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bpviz").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    shipped = {f"bpviz/_resources/{p.relative_to(ROOT / 'resources').as_posix()}"
               for p in (ROOT / "resources").rglob("*") if p.is_file()
               and p.name != "screenshot.png"}
    assert {"bpviz/_resources/iris.csv", "bpviz/_resources/bpviz.png"} <= shipped
    assert shipped <= names, sorted(shipped - names)
    assert "bpviz/_resources/screenshot.png" not in names      # the README's picture only


def test_the_installed_bpviz_is_the_wheel_not_the_checkout(installed):
    python, _, _, outside = installed
    proc = _run([python, "-c", "import bpviz, bpviz.resources as r; print(bpviz.__file__); "
                 "print(r.resource_dir())"], cwd=outside, env=_env())
    assert proc.returncode == 0, proc.stderr
    module, resources = (Path(line) for line in proc.stdout.split())
    venv = python.parents[1]
    assert module.is_relative_to(venv), module
    assert resources == module.parent / "_resources" and resources.is_dir()


def test_the_installed_command_trains_the_iris_preset(installed):
    _, script, _, outside = installed
    proc = _run([script, "train", "--preset", "iris", "--epochs", "5", "--out", "run"],
                cwd=outside, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("iris 4-"), proc.stdout
    history = (outside / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 5


def test_the_installed_window_has_its_icon(installed):
    python, _, _, outside = installed
    code = ("import sys\n"
            "from PySide6.QtCore import QSettings\n"
            "from PySide6.QtWidgets import QApplication\n"
            "from bpviz.engine.config import Config\n"
            "from bpviz.ui.window.main_window import RESOURCES, MainWindow\n"
            "app = QApplication([])\n"
            "w = MainWindow(Config.preset('iris'), settings=QSettings('s.ini', QSettings.IniFormat),"
            " start_worker=False)\n"
            "icon = w.windowIcon()\n"
            "size = icon.pixmap(64, 64).size()\n"
            "print(RESOURCES, icon.isNull(), size.width(), size.height())\n"
            "w.close()\n")
    proc = _run([python, "-c", code], cwd=outside, env=_env())
    assert proc.returncode == 0, proc.stderr
    where, null, width, height = proc.stdout.split()[-4:]
    assert Path(where).is_relative_to(python.parents[1]), where
    assert null == "False" and int(width) > 0 and int(height) > 0


def test_a_checkout_finds_the_top_level_resources():
    from bpviz import resources
    from bpviz.engine.datasets import RESOURCES_DIR
    from bpviz.ui.window.main_window import RESOURCES
    assert resources.resource_dir() == ROOT / "resources" == RESOURCES_DIR == RESOURCES
    assert resources.resource_path("iris.csv").read_text().startswith("sepal_length")
