"""``bpviz snapshot``: the real main window, offscreen, after N epochs, saved as a PNG (the whole
window, or one panel with ``--panel``) with the numbers behind it beside it as CSV, or one panel
filmed over the run as an animated GIF; and ``bpviz export``, every panel of a session. Both show
what the window's controls would set (``--edges``, ``--neurons``, ``--sample``, ``--select``:
:func:`apply_view`).

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
from .common import (EXIT_DIVERGED, EXIT_OK, FIGURE_PANELS, add_run_options, add_view_options,
                     check_view_options, config_from_args, number, one_of, window_size)

PANELS_AND_WINDOW = ("window", *FIGURE_PANELS)     # snapshot --panel: the whole window by default
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

        from ..ui.window.main_window import MainWindow
        from ..ui.plotting.qt import quiet_platform_messages

        quiet_platform_messages()
        self.app = QApplication.instance() or QApplication(["bpviz"])
        self.folder = tempfile.mkdtemp(prefix=self.prefix)
        self.settings = QSettings(os.path.join(self.folder, "settings.ini"), QSettings.IniFormat)
        self.settings.setValue("focus", "mean")   # the batch mean unless --sample or a session says
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


def run_epochs(window, epochs: int) -> None:
    """Ask the window's training session for ``epochs`` more epochs (none: nothing asked)."""
    from ..messages import RunEpochs
    if epochs > 0:
        window.run.send(RunEpochs(int(epochs)))


def apply_view(window, app, args) -> None:
    """Set what the figure shows as the window's controls set it: ``args.edges``,
    ``args.neurons``, ``args.select`` (the inspector's neuron) and ``args.sample`` (the focus);
    then wait until the newest snapshot carries the sample in focus, if any."""
    if getattr(args, "edges", None):
        window.network.set_overlay(args.edges)
    if getattr(args, "neurons", None):
        window.network.set_node_mode(args.neurons)
    if getattr(args, "select", None) is not None:
        window.select_neuron(*args.select)
    if getattr(args, "sample", None) is not None:
        window.pin_sample(args.sample)
    wait_for_focus(window, app)


def wait_for_focus(window, app) -> None:
    """In sample focus, wait until the newest snapshot carries that sample's values."""
    if window.focus_model.is_sample():
        wanted = window.focus_model.sample
        if not _wait(app, lambda: window.latest.sample is not None
                     and window.latest.sample.index == wanted, START_WAIT_S):
            raise WindowError(f"sample {wanted}: the window did not show that sample")


def settle(window, app) -> None:
    """Paint every panel, wait for the surface slice and the inspector's report, paint again."""
    window.paint_now()

    def sliced():
        if not window.surface.is_idle():
            return False
        if window.surface.current_slice() is None:
            # a panel just shown (after Reset layout) asks for its slice when it is painted
            window.paint_now()
            return False
        return True
    _wait(app, sliced, SURFACE_WAIT_S)
    _wait(app, lambda: not window.inspector.recompute_pending(), SURFACE_WAIT_S)
    window.paint_now()
    app.processEvents()


def view_summary(window) -> str:
    """What the figure shows, in the words of the window's controls."""
    from ..engine.snapshot import focused
    snap = window.latest
    layer, index = window.inspector.selected_neuron()
    return (f"edges: {window.network.overlay()}, neurons: {window.network.node_mode()}, "
            f"focus: {focused(snap, window.focus_model.is_sample()).label}, "
            f"inspector: neuron {index} of layer {layer}")


def render_window(window, app, epochs: int, size=(1600, 1000), select=None, lesson=None,
                  view=None, stops=(), film=None):
    """Show ``window`` at ``size``, open lesson ``lesson`` (1-based) if given, set what it shows
    (``view``: the parsed ``add_view_options``, or just ``select``), train ``epochs`` epochs,
    and return (QImage, divergence message or None).

    ``stops``: epochs (counted from the start, below ``epochs``) where training pauses on the way
    and, when ``film`` is a list, the snapshot shown there is appended to it (the first one and
    the last one too), for an animated GIF of the run."""
    window.resize(*size)
    window.show()
    app.processEvents()
    _check_size(window, size)
    diverged = None
    if not _wait(app, lambda: window.latest is not None or bool(window.last_error),
                 START_WAIT_S) or window.last_error:
        raise WindowError(window.last_error or "the window did not start training")
    if lesson is not None:
        from ..ui.panels.lessons import open_for_picture
        open_for_picture(window, lesson, lambda c, t: _wait(app, c, t))
    if view is not None:
        apply_view(window, app, view)
    elif select is not None:
        window.select_neuron(*select)
    start = window.latest.epoch
    if film is not None:
        film.append(window.latest)
    for stop in sorted({s for s in stops if 0 < s < epochs} | {epochs}):
        if not stop or diverged:
            continue
        target = start + stop
        run_epochs(window, target - window.latest.epoch)
        diverged = _wait_for_epochs(app, window, target)
        wait_for_focus(window, app)
        if film is not None:
            film.append(window.latest)
    settle(window, app)
    _check_size(window, size)
    return window.grab().toImage(), diverged


def add_parser(subparsers) -> None:
    s = subparsers.add_parser("snapshot", help="save a picture of the window after N epochs "
                              "(no display)")
    add_run_options(s)
    add_view_options(s, PANELS_AND_WINDOW)
    s.add_argument("--size", type=window_size, default=(1600, 1000), metavar="WxH")
    s.add_argument("--lesson", type=number(int, 1, name="lesson"), metavar="N",
                   help="show lesson N (its own set-up) in the Lessons panel")
    s.add_argument("--lessons", metavar="DIR",
                   help="also load the lessons in DIR, after bpviz's own (a teacher's folder); "
                        "--lesson counts them after bpviz's own")
    s.add_argument("--out", required=True, metavar="FILE.png|FILE.gif",
                   help="the picture; the numbers behind it go beside it as FILE.csv (and its "
                        "companions FILE_neurons.csv ...): the network's for the whole window. "
                        "FILE.gif: an animated GIF of --panel over the run")
    s.add_argument("--frames", type=number(int, 1, name="frames"), metavar="N",
                   help="frames of the GIF, spread evenly over the run (default 60, at most "
                        "300; at most one per epoch)")
    s.add_argument("--from-epoch", type=number(int, 0, name="epoch"), metavar="E",
                   help="the GIF starts at epoch E (default 0)")
    s.add_argument("--to-epoch", type=number(int, 0, name="epoch"), metavar="E",
                   help="the GIF ends at epoch E (default: the last, --epochs)")
    s.set_defaults(func=cmd_snapshot)


def add_export_parser(subparsers) -> None:
    e = subparsers.add_parser("export", help="render every panel of a session in every format")
    e.add_argument("--session", required=True, metavar="FILE.bpviz")
    e.add_argument("--out", required=True, metavar="DIR")
    add_view_options(e)
    e.add_argument("--scale", type=one_of("--scale", [str(k) for k in range(1, 9)]),
                   metavar="S", help="PNG pictures at S times the panel's size (1 to 8), lines, "
                   "text and markers with them; without it 1× and 2×")
    e.set_defaults(func=cmd_export)


def cmd_snapshot(args) -> int:
    out = Path(args.out)
    gif = out.suffix.lower() == ".gif"
    if out.suffix.lower() != ".png" and not gif:
        raise ConfigError(f"--out {out}: the picture is saved as PNG (or an animated GIF), name "
                          f"it FILE.png (or FILE.gif)")
    if not out.parent.exists():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist")
    config = config_from_args(args)
    epochs = args.epochs if args.epochs is not None else 0
    if gif:
        stops = check_film(args, epochs)
    else:
        stops = ()
        _frames_unused(args)
    if args.select is not None or args.sample is not None:     # checked before any window exists
        from ..engine.config import build
        dataset, net, _ = build(config)
        check_view_options(args, net.sizes, len(dataset.X_train))
    lesson = getattr(args, "lesson", None)
    folder = getattr(args, "lessons", None) or getattr(args, "app_lessons", None)
    from ..lessons import check_lesson_number, load_lessons, set_teacher_folder
    set_teacher_folder(folder)                   # ConfigError for a folder that is not there
    if lesson is not None or folder is not None:
        if lesson is not None:
            check_lesson_number(lesson)          # one line naming a refused file, if any
        for refusal in load_lessons()[1]:        # the picture is taken: say what was left out
            print(f"bpviz snapshot: lesson file not loaded: {refusal}", file=sys.stderr)
    panel = args.panel or "window"
    film = [] if gif else None
    with HeadlessWindow(config, "bpviz-snapshot-") as (window, app):
        image, diverged = render_window(window, app, epochs, args.size, lesson=lesson, view=args,
                                        stops=stops, film=film)
        if gif:
            what = write_film(window, panel, out, film, args)
        else:
            written = write_figure(window, image, panel, out)
            size = f"{written[0][1].width()}×{written[0][1].height()}"
            others = ", ".join(p.name for p, _ in written[1:])
            what = f"wrote {out} ({size}){', ' + others if others else ''}"
        snap = window.latest
        summary = view_summary(window)
        from ..engine.snapshot import training_loss
        loss = training_loss(snap, window.dataset)   # at the weights shown, as `train` reports it
    print(f"{what}, epoch {snap.epoch}, loss {loss:.6g}, {summary}")
    if diverged:
        print(f"bpviz snapshot: {diverged}", file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_OK


def check_film(args, epochs: int) -> list[int]:
    """Refuse GIF options that do not fit (before any window exists); the epochs where training
    stops for a frame: ``--frames`` of them spread over ``--from-epoch`` to ``--to-epoch``."""
    import numpy as np

    from ..ui.export.export import GIF_FRAMES, GIF_MAX_FRAMES
    if (args.panel or "window") == "window":
        raise ConfigError(f"--out {args.out}: an animated GIF is of one panel; say which with "
                          f"--panel ({', '.join(FIGURE_PANELS)})")
    frames = args.frames if args.frames is not None else GIF_FRAMES
    if frames > GIF_MAX_FRAMES:
        raise ConfigError(f"--frames {frames}: at most {GIF_MAX_FRAMES}")
    first = args.from_epoch if args.from_epoch is not None else 0
    last = args.to_epoch if args.to_epoch is not None else epochs
    if last > epochs:
        raise ConfigError(f"--to-epoch {last}: the run has {epochs} epochs (--epochs)")
    if first > last:
        raise ConfigError(f"--from-epoch {first} is after --to-epoch {last}")
    if first == last == 0:
        raise ConfigError("an animated GIF of the run needs --epochs N: the run to film")
    return sorted({first, last} | set(np.rint(np.linspace(first, last, frames)).astype(int)
                                      .tolist()))


def write_film(window, panel: str, out: Path, film, args) -> str:
    """The GIF of ``panel`` over the snapshots of ``film`` (in the epochs asked for); what was
    written, in words."""
    from ..ui.export.export import GIF_FRAMES, epochs_covered, export_panel, in_epochs, spread
    frames = args.frames if args.frames is not None else GIF_FRAMES
    snaps = spread(in_epochs(film, args.from_epoch, args.to_epoch), frames)
    export_panel(window, panel, "gif", out, frames=frames, snaps=snaps)
    return f"wrote {out} ({len(snaps)} frames of the {panel} panel, {epochs_covered(snaps)})"


def _frames_unused(args) -> None:
    for flag in ("frames", "from_epoch", "to_epoch"):
        if getattr(args, flag, None) is not None:
            raise ConfigError(f"--{flag.replace('_', '-')}: only for an animated GIF "
                              f"(--out FILE.gif)")


def write_figure(window, image, panel: str, out: Path) -> list:
    """The picture at ``out`` (the window's ``image``, or panel ``panel`` rendered alone) and the
    numbers behind it beside it (``out`` as .csv, and its companions), all put in place together.
    Returns [(path, QImage or None), ...], the picture first."""
    from functools import partial

    from ..engine.fileset import FileSet
    from ..engine.tables import write_csv
    from ..ui.export.export import panel_image, panel_tables
    from ..ui.export.pictures import png_bytes
    name = "network" if panel == "window" else panel
    if panel != "window":
        image = panel_image(window, panel)
    tables = panel_tables(window, name)
    csv = out.with_suffix(".csv")
    written = [(out, image)]
    with FileSet(out.parent) as files:
        files.write(out.name, lambda tmp: tmp.write_bytes(png_bytes(image)))
        for key, table in tables.items():
            path = csv if key == "" else csv.with_name(f"{csv.stem}_{key}.csv")
            files.write(path.name, partial(write_csv, table=table))
            written.append((path, None))
        files.commit()
    return written


def cmd_export(args) -> int:
    """``bpviz export --session FILE.bpviz --out DIR [--sample I] [--edges MODE] [--neurons MODE]
    [--select L:J] [--panel NAME] [--scale S]``: every panel (or one) in every format, no
    display, showing what the flags set as the window's controls would. A session whose training
    diverged is exported like any other (it shows the divergence)."""
    from ..engine.session import load_session
    from ..ui.export.export import export_all

    session = load_session(args.session)          # refuse a bad file before any window exists
    try:
        check_view_options(args, session.trainer.network.sizes, len(session.trainer.X))
    except ConfigError as e:
        raise ConfigError(f"{e} in {args.session}") from None
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
        apply_view(window, app, args)
        settle(window, app)
        scales = (1, 2) if args.scale is None else tuple(sorted({1, int(args.scale)}))
        written = export_all(window, Path(args.out), panels=(args.panel,) if args.panel else None,
                             scales=scales)
    print(f"wrote {len(written)} files to {args.out}")
    return EXIT_OK
