"""The desktop app: ``bpviz`` with no command."""

from __future__ import annotations

import sys
import traceback

_error_boxes: list = []     # the unexpected-error dialog on show, kept alive while it shows


def install_exception_hook(app) -> None:
    """Show an unexpected exception in a dialog with its details and keep the app alive."""
    from PySide6.QtWidgets import QMessageBox

    def hook(kind, value, tb):
        details = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(details)
        box = QMessageBox(QMessageBox.Critical, "bpviz: unexpected error",
                          f"{kind.__name__}: {value}\n\nbpviz keeps running; the details below "
                          f"help to report the problem.")
        box.setDetailedText(details)
        box.open()
        _error_boxes[:] = [box]        # keep a reference while it is shown

    sys.excepthook = hook


def shown_error_box():
    """The unexpected-error dialog last shown (None: none yet)."""
    return _error_boxes[0] if _error_boxes else None


def main(args=None) -> int:
    # A teacher's folder of lessons (--lessons DIR): a folder that is not there is refused (a
    # ConfigError, one line and exit 2) before any window; its files are read by the Lessons
    # panel, which reports each one it cannot load.
    from .lessons import set_teacher_folder
    set_teacher_folder(getattr(args, "app_lessons", None))

    # Before any Qt: with no display, no X server answering, or a library the X11 plugin needs
    # missing, Qt aborts the process (exit 134); say instead what is wrong and what to install.
    from .platform_check import platform_problem
    problem = platform_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from .engine.config import Config
    from .ui.window.main_window import MainWindow
    from .ui.plotting.qt import quiet_platform_messages

    quiet_platform_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("bpviz")
    app.setOrganizationName("bpviz")
    install_exception_hook(app)
    window = MainWindow(Config.preset("gaussian-clouds"))
    if window.settings.value("geometry") is None:
        window.showMaximized()      # first run: use the screen
    else:
        window.show()
    path = getattr(args, "app_file", None)      # `bpviz FILE`, already read and found usable
    if path is not None:
        if path.lower().endswith(".bpviz"):
            window.open_session(path)
        else:
            window.load_csv(path)
    try:
        return app.exec()
    finally:
        window.shutdown()
