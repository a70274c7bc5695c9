"""``bpviz snapshot``: the real main window, offscreen, after N epochs, saved as a PNG.

It needs no display: Qt's offscreen platform is used unless another one was asked for. The window
uses throw-away settings, so the picture does not depend on the layout a user saved.

Every wait here has an end and a reason to stop: the window's first snapshot (60 s), a run of N
epochs (it reached them, diverged, stopped short, the window reported an error, or no pass was
made for ``STALL_S``), an opened session (60 s, or the window's error) and the surface slice
(``SURFACE_WAIT_S``; the picture is taken without it after that). A run that diverges still saves
its picture and exits 3 with the divergence on stderr, as ``train`` does.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..engine.errors import BpvizError, ConfigError
from .common import (EXIT_DIVERGED, EXIT_OK, add_run_options, config_from_args, neuron, number,
                     window_size)

SURFACE_WAIT_S = 20.0
START_WAIT_S = 60.0
STALL_S = 60.0          # a run with no new pass for this long has stopped without saying why


class WindowError(BpvizError):
    """The window could not do what the command asked (it said why, or it stopped progressing)."""


def _wait(app, condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def _wait_for_epochs(app, window, target: int, stall_s: float = STALL_S) -> str | None:
    """Wait until the run the window was asked for ends: None when it reached epoch ``target``,
    the divergence message when it diverged. Raises WindowError when the window reports an error,
    the run stops short of ``target`` without diverging, or no pass is made for ``stall_s``."""
    error_before = window.last_error
    seen_running = False
    progress, last_move = None, time.monotonic()
    while True:
        app.processEvents()
        snap = window.latest
        seen_running = seen_running or snap.running
        if not snap.running:
            if snap.diverged:
                return snap.diverged
            if snap.epoch >= target:
                return None
            if seen_running:
                raise WindowError(f"training stopped at epoch {snap.epoch} of {target}"
                                  f"{': ' + window.last_error if window.last_error else ''}")
        if window.last_error and window.last_error != error_before:
            raise WindowError(window.last_error)
        if (snap.seq, snap.pass_count) != progress:
            progress, last_move = (snap.seq, snap.pass_count), time.monotonic()
        elif time.monotonic() - last_move > stall_s:
            raise WindowError(f"training made no progress for {stall_s:g} s (epoch {snap.epoch} "
                              f"of {target})")
        time.sleep(0.005)


class HeadlessWindow:
    """The main window on the offscreen platform with throw-away settings, for one command::

        with HeadlessWindow(config, "bpviz-export-") as (window, app):
            ...

    On leaving, training is stopped and joined, the window is closed and deleted while Python is
    still whole (a window left for the interpreter's exit is torn down by PySide in no particular
    order, and an item's Python code called from that teardown crashes the process), and the
    settings folder is removed."""

    def __init__(self, config, prefix: str):
        self.config, self.prefix = config, prefix
        self.window = self.app = None

    def __enter__(self):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from ..ui.main_window import MainWindow
        from ..ui.qt import quiet_platform_messages

        quiet_platform_messages()
        self.app = QApplication.instance() or QApplication(["bpviz"])
        self.folder = tempfile.mkdtemp(prefix=self.prefix)
        self.settings = QSettings(os.path.join(self.folder, "settings.ini"), QSettings.IniFormat)
        try:
            self.window = MainWindow(self.config, settings=self.settings)
        except BaseException:
            self._remove_folder()
            raise
        return self.window, self.app

    def __exit__(self, *exc) -> None:
        from PySide6.QtCore import QEvent
        window, self.window = self.window, None
        try:
            window.shutdown()        # headless: no question about unsaved training
            window.close()
            window.deleteLater()
            self.app.sendPostedEvents(None, QEvent.DeferredDelete)
        finally:
            self._remove_folder()

    def _remove_folder(self) -> None:
        self.settings.sync()
        shutil.rmtree(self.folder, ignore_errors=True)


def _check_size(window, size) -> None:
    """Refuse a picture size the window cannot be drawn at (it has a minimum size)."""
    shown = window.size()
    if (shown.width(), shown.height()) != tuple(size):
        raise ConfigError(f"--size {size[0]}x{size[1]}: the window cannot be drawn at that size; "
                          f"at this layout it needs at least {shown.width()}x{shown.height()}")


def render_window(window, app, epochs: int, size=(1600, 1000), select=None, lesson=None):
    """Show ``window`` at ``size``, open lesson ``lesson`` (1-based) if given, train ``epochs``
    epochs, and return (QImage, divergence message or None)."""
    window.resize(*size)
    window.show()
    app.processEvents()
    _check_size(window, size)
    diverged = None
    if not _wait(app, lambda: window.latest is not None or bool(window.last_error),
                 START_WAIT_S) or window.last_error:
        raise WindowError(window.last_error or "the window did not start training")
    if lesson is not None:
        from ..ui.lessons_view import open_for_picture
        open_for_picture(window, lesson, lambda c, t: _wait(app, c, t))
    if select is not None:
        window.select_neuron(*select)
    if epochs:
        target = window.latest.epoch + epochs
        window.host.runEpochsRequested.emit(epochs)
        diverged = _wait_for_epochs(app, window, target)
    window.paint_now()
    _wait(app, lambda: window.surface.is_idle() and window.surface.current_slice() is not None,
          SURFACE_WAIT_S)
    window.paint_now()
    app.processEvents()
    _check_size(window, size)
    return window.grab().toImage(), diverged


def add_parser(subparsers) -> None:
    s = subparsers.add_parser("snapshot", help="save a picture of the window after N epochs "
                              "(no display)")
    add_run_options(s)
    s.add_argument("--select", type=neuron, metavar="L:J", help="inspect neuron J of layer L")
    s.add_argument("--size", type=window_size, default=(1600, 1000), metavar="WxH")
    s.add_argument("--lesson", type=number(int, 1, name="lesson"), metavar="N",
                   help="show lesson N (its own set-up) in the Lessons panel")
    s.add_argument("--lessons", metavar="DIR",
                   help="also load the lessons in DIR, after bpviz's own (a teacher's folder); "
                        "--lesson counts them after bpviz's own")
    s.add_argument("--out", required=True, metavar="FILE.png")
    s.set_defaults(func=cmd_snapshot)


def add_export_parser(subparsers) -> None:
    e = subparsers.add_parser("export", help="render every panel of a session in every format")
    e.add_argument("--session", required=True, metavar="FILE.bpviz")
    e.add_argument("--out", required=True, metavar="DIR")
    e.add_argument("--sample", type=number(int, 0, name="sample"), metavar="I",
                   help="values for training sample I (network.csv and the diagram); without it "
                        "the focus saved in the session (or the batch mean)")
    e.set_defaults(func=cmd_export)


def cmd_snapshot(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: the picture is saved as PNG, name it FILE.png")
    if not out.parent.exists():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist")
    config = config_from_args(args)
    if args.select is not None:           # checked before any window exists
        from ..engine.config import build
        sizes = build(config)[1].sizes
        layer, index = args.select
        if layer >= len(sizes) or index >= sizes[layer]:
            raise ConfigError(f"--select {layer}:{index}: the network has layers "
                              f"{'-'.join(map(str, sizes))} (layer 0 is the input)")
    lesson = getattr(args, "lesson", None)
    folder = getattr(args, "lessons", None) or getattr(args, "app_lessons", None)
    from ..lessons import check_lesson_number, load_lessons, set_teacher_folder
    set_teacher_folder(folder)                   # ConfigError for a folder that is not there
    if lesson is not None or folder is not None:
        if lesson is not None:
            check_lesson_number(lesson)          # one line naming a refused file, if any
        for refusal in load_lessons()[1]:        # the picture is taken: say what was left out
            print(f"bpviz snapshot: lesson file not loaded: {refusal}", file=sys.stderr)
    epochs = args.epochs if args.epochs is not None else 0
    from ..engine.fileset import write_file
    from ..ui.formats import png_bytes
    with HeadlessWindow(config, "bpviz-snapshot-") as (window, app):
        image, diverged = render_window(window, app, epochs, args.size, args.select, lesson)
        write_file(out, lambda tmp: tmp.write_bytes(png_bytes(image)))
        snap = window.latest
        from ..engine.snapshot import training_loss
        loss = training_loss(snap, window.dataset)   # at the weights shown, as `train` reports it
    print(f"wrote {out} ({image.width()}×{image.height()}), epoch {snap.epoch}, loss {loss:.6g}")
    if diverged:
        print(f"bpviz snapshot: {diverged}", file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_OK


def cmd_export(args) -> int:
    """``bpviz export --session FILE.bpviz --out DIR [--sample I]``: every panel in every format,
    no display; with ``--sample`` the panels show training sample I (the window's sample focus).
    A session whose training diverged is exported like any other (it shows the divergence)."""
    from ..engine.session import load_session
    from ..ui.export import export_all

    session = load_session(args.session)          # refuse a bad file before any window exists
    sample = getattr(args, "sample", None)
    if sample is not None and sample >= len(session.trainer.X):
        raise ConfigError(f"--sample {sample}: {args.session} has {len(session.trainer.X)} "
                          f"training samples (0 to {len(session.trainer.X) - 1})")
    with HeadlessWindow(session.config, "bpviz-export-") as (window, app):
        window.resize(1600, 1000)
        window.show()
        error_before = window.last_error
        window.open_session(args.session)
        target = session.trainer.pass_count

        def opened():
            snap = window.latest
            return (snap is not None and window.session_path is not None
                    and snap.pass_count == target)

        def refused():
            # an error other than the divergence the opened session shows
            error = window.last_error
            snap = window.latest
            return bool(error) and error != error_before and not (
                snap is not None and snap.diverged and error == snap.diverged)

        if not _wait(app, lambda: opened() or refused(), START_WAIT_S) or not opened():
            raise WindowError(window.last_error or f"{args.session}: could not be opened")
        # every panel drawn at the default layout's size, whichever panels the session's own
        # layout had closed or behind others
        window.reset_layout()
        app.processEvents()
        if sample is not None:
            window.pin_sample(sample)
        if window.focus_model.is_sample():         # --sample, or the focus the session kept
            wanted = window.focus_model.sample
            if not _wait(app, lambda: window.latest.sample is not None
                         and window.latest.sample.index == wanted, START_WAIT_S):
                raise WindowError(f"sample {wanted}: the window did not show that sample")
        window.paint_now()
        _wait(app, lambda: window.surface.is_idle() and window.surface.current_slice() is not None,
              SURFACE_WAIT_S)
        window.paint_now()
        app.processEvents()
        written = export_all(window, Path(args.out))
    print(f"wrote {len(written)} files to {args.out}")
    return EXIT_OK
