"""Before Qt starts: a missing system library or no display gives one line naming the fix and
exit status 2, instead of Qt's abort; everything else is left to Qt."""

import os
import shutil
import subprocess
import sys

import pytest

from bpviz import platform_check
from bpviz.platform_check import (PACKAGES, missing_libraries, missing_message, needed_libraries,
                                  platform_problem, xcb_plugin)

PLUGIN = xcb_plugin()
needs_plugin = pytest.mark.skipif(PLUGIN is None, reason="PySide6 has no xcb plugin here")
X11 = {"DISPLAY": ":0"}


def without(*sonames):
    return lambda soname: soname not in sonames


def nothing_loads(soname):
    return False


def answers(display):
    return True


@needs_plugin
def test_a_missing_library_gives_one_line_naming_its_package():
    problem = platform_problem(X11, "linux", without("libxcb-cursor.so.0"), PLUGIN, ["debian"])
    assert problem == ("bpviz: the window cannot open: Qt's X11 platform plugin (xcb) needs "
                       "libxcb-cursor.so.0, which is not installed; install it with: sudo apt-get "
                       "install libxcb-cursor0")
    fedora = platform_problem(X11, "linux", without("libxcb-cursor.so.0"), PLUGIN, ["fedora"])
    assert fedora.endswith("install it with: sudo dnf install xcb-util-cursor")
    both = platform_problem(X11, "linux", without("libxcb-icccm.so.4", "libxcb-keysyms.so.1"),
                            PLUGIN, [])
    assert "\n" not in both
    assert both.endswith("needs libxcb-icccm.so.4 and libxcb-keysyms.so.1, which are not "
                         "installed; install them with: sudo apt-get install libxcb-icccm4 "
                         "libxcb-keysyms1 (Debian, Ubuntu) or sudo dnf install xcb-util-wm "
                         "xcb-util-keysyms (Fedora)")


def test_the_message_for_libraries_it_has_no_package_for():
    assert missing_message(["libfoo.so.1"]).endswith(
        "needs libfoo.so.1, which is not installed; install the system package that provides it")
    assert missing_message(["libxcb-cursor.so.0", "libfoo.so.1"], ["ubuntu", "debian"]).endswith(
        "install them with: sudo apt-get install libxcb-cursor0, and the package that provides "
        "libfoo.so.1")
    # several sonames of one package name it once
    assert missing_message(["libxcb-shm.so.0", "libxcb-xkb.so.1"], ["fedora"]).endswith(
        "sudo dnf install libxcb")


def test_no_display_says_so():
    assert platform_problem({}, "linux", nothing_loads, PLUGIN).startswith(
        "bpviz: no display: neither DISPLAY nor WAYLAND_DISPLAY is set")
    assert "QT_QPA_PLATFORM is xcb but DISPLAY is not set" in platform_problem(
        {"QT_QPA_PLATFORM": "xcb"}, "linux", nothing_loads, PLUGIN)


@needs_plugin
@pytest.mark.parametrize("env,system", [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux"),    # Qt may choose Wayland
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),
    ({}, "darwin"),
    ({}, "win32"),
    ({"DISPLAY": ":0", "BPVIZ_NO_PLATFORM_CHECK": "1"}, "linux"),
])
def test_other_platforms_are_left_to_qt(env, system):
    assert platform_problem(env, system, nothing_loads, PLUGIN) is None


@needs_plugin
def test_xcb_is_checked_when_asked_for_or_the_only_choice():
    for env in (X11, {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"},
                {"QT_QPA_PLATFORM": "xcb:nograb", "DISPLAY": ":1"}):
        assert platform_problem(env, "linux", nothing_loads, PLUGIN, [], answers) is not None
        assert platform_problem(env, "linux", lambda soname: True, PLUGIN, [], answers) is None


@needs_plugin
def test_a_display_no_x_server_answers_on_says_so():
    asked = []

    def nobody(display):
        asked.append(display)
        return False
    problem = platform_problem({"DISPLAY": ":7"}, "linux", lambda soname: True, PLUGIN, [], nobody)
    assert asked == [":7"] and "\n" not in problem
    assert problem.startswith("bpviz: the window cannot open: no X server answers on display :7")
    # a missing library is the first thing to fix; the display is not asked then
    assert "libxcb-cursor0" in platform_problem({"DISPLAY": ":7"}, "linux",
                                                without("libxcb-cursor.so.0"), PLUGIN, [], nobody)
    assert asked == [":7"]


@pytest.mark.skipif(os.path.exists("/tmp/.X11-unix/X4711"), reason="a server on :4711")
def test_libxcb_is_asked_whether_a_server_answers():
    assert platform_check.connects(":4711") is False


def test_no_plugin_or_an_unreadable_one_is_left_to_qt(tmp_path):
    assert platform_problem(X11, "linux", nothing_loads, tmp_path / "libqxcb.so") is None
    junk = tmp_path / "libqxcb.so"
    junk.write_bytes(b"not an ELF file at all")
    with pytest.raises(ValueError):
        needed_libraries(junk)
    assert platform_problem(X11, "linux", nothing_loads, junk) is None


def test_the_check_passes_as_the_tests_run():
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    assert platform_problem() is None


@needs_plugin
def test_every_library_the_plugin_needs_has_its_packages():
    """The plugin's dependencies read from its ELF header (through the Qt libraries bundled
    beside it): every system library among them has a Debian and a Fedora package listed."""
    needed = missing_libraries(PLUGIN, nothing_loads)
    assert "libxcb-cursor.so.0" in needed and "libxkbcommon-x11.so.0" in needed
    assert not [s for s in needed if s.startswith("libQt6")]          # bundled: not checked
    assert [s for s in needed if s not in PACKAGES] == []


@needs_plugin
@pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd here")
def test_what_it_finds_missing_is_what_ldd_finds_missing():
    ldd = subprocess.run(["ldd", str(PLUGIN)], capture_output=True, text=True, timeout=60).stdout
    not_found = {line.split()[0] for line in ldd.splitlines() if "not found" in line}
    assert set(missing_libraries(PLUGIN, platform_check.loadable)) == not_found


@needs_plugin
def test_bpviz_exits_2_with_the_line_and_no_qapplication(monkeypatch, capsys):
    import PySide6.QtWidgets

    class NoApplication:
        def __init__(self, *args):
            raise AssertionError("a QApplication was created")

        @staticmethod
        def instance():
            raise AssertionError("Qt was reached")

    from bpviz.cli import main
    with monkeypatch.context() as m:     # undone before pytest-qt looks at the application
        m.setattr(PySide6.QtWidgets, "QApplication", NoApplication)
        m.delenv("QT_QPA_PLATFORM", raising=False)
        m.delenv("WAYLAND_DISPLAY", raising=False)
        m.delenv("BPVIZ_NO_PLATFORM_CHECK", raising=False)
        m.setenv("DISPLAY", ":0")
        m.setattr(platform_check, "loadable", without("libxcb-cursor.so.0"))
        m.setattr(platform_check, "connects", answers)
        code = main([])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bpviz: the window cannot open")
    assert "libxcb-cursor.so.0" in err and ("libxcb-cursor0" in err or "xcb-util-cursor" in err)


@needs_plugin
def test_bpviz_in_a_fresh_process_never_loads_qt():
    script = ("import sys; import bpviz.platform_check as p; "
              "p.loadable = lambda s: s != 'libxcb-cursor.so.0'; from bpviz.cli import main; "
              "code = main([]); print(sorted(m for m in sys.modules if m.startswith('PySide6'))); "
              "sys.exit(code)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "BPVIZ_NO_PLATFORM_CHECK")}
    env["DISPLAY"] = ":0"
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 2 and p.stdout.strip() == "[]"
    assert p.stderr.count("\n") == 1 and "libxcb-cursor.so.0" in p.stderr
    assert "Traceback" not in p.stderr
