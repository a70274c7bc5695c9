"""Export every panel: PNG (1×, 2×, 4×), SVG, the CSV data behind it and an animated GIF.

What a panel exports is described by a :class:`PanelExport` registered with the window's
:class:`Exporter` (``window.exporter.register(...)``); the four built-in panels are registered when
the window is built, and a new panel (an inspector histogram, say) registers itself the same way.
Each registration gives:

- ``view``: the panel's plot, a pyqtgraph ``GraphicsView``; PNG, SVG and GIF render its scene;
- ``tables(snapshot)``: the CSV files behind the plot, as ``{key: Table}`` (key ``""`` is the main
  file ``<stem>.csv``, any other key a companion ``<stem>_<key>.csv``);
- ``frames(snapshots)`` (optional): a generator that shows each snapshot in turn on an offscreen
  copy of the panel and yields the view to grab, for the GIF.

How each format is made is in :mod:`bpviz.ui.export.pictures` (PNG, SVG, GIF) and
:mod:`bpviz.engine.tables` (the CSV tables of each panel); what the cost and surface tables need
beyond the panels (the history row for row, every pass's loss, the whole trajectory) is the
training session's :class:`~bpviz.training.RunRecord`, asked for when an export needs it.

A **GIF** shows N snapshots spread evenly over the run up to the one shown (or over a range of its
epochs): the window's timeline already keeps the snapshots (``window.history``, immutable,
memory-capped, cleared for a new network), so nothing is rendered or stored while training;
``bpviz snapshot --out F.gif`` trains in as many steps as it wants frames and films the snapshot
after each. On export each snapshot is re-rendered offscreen
(see :class:`PanelExport`). Each frame carries a caption (epoch, pass, frame k/N), which also
keeps identical pictures apart: Pillow would merge identical consecutive frames.

The files of one export (a picture; a panel's CSV and its companions; everything *Export all*
writes, manifest included) are written beside their targets and put in place together, only once
all of them were written (:class:`bpviz.engine.fileset.FileSet`): a failure leaves every old file
of the folder as it was and no temporary file. Errors are raised as :class:`ExportError` with a
one-line message naming the path; the window shows them in a message box.

Headless use (``bpviz export``): build a shown window from a session, wait for the first snapshot
and the surface slice, then call :func:`export_all` or :func:`export_panel`.
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QCursor, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QGraphicsView, QInputDialog, QMenu, QWidget

from ... import __version__
from ...engine.errors import BpvizError
from ...engine.fileset import FileSet
from ...engine.session import LIVE_SETTINGS
from ...engine.snapshot import Snapshot, focused, training_loss
from ...engine.surface import flatten
from ...training import RunRecord
from ...engine.tables import (Table, boundary_tables, cost_tables, network_tables, surface_tables,
                             write_csv)
from ..panels.boundary import BoundaryView
from ..panels.cost import CostView
from .pictures import (ExportError, captioned, png_bytes, render_png, render_svg, settle_layouts,
                      view_size, write_gif)
from ..network.view import NetworkView
from ..panels.surface import thin_path

if TYPE_CHECKING:
    from ..window.main_window import MainWindow

FORMATS = ("png", "svg", "csv", "gif")
PNG_SCALES = (1, 2, 4)                  # offered in the menus; export_panel takes any 1..MAX_SCALE
MAX_SCALE = 8
ALL_PNG_SCALES = (1, 2)                 # what "Export all" writes
GIF_FRAMES = 60                         # default frame count of an animated GIF
GIF_MAX_FRAMES = 300


# -- the panels ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PanelExport:
    """What a panel exports (see the module docstring)."""

    name: str                                               # file stem: "network"
    title: str                                              # in menus: "Network"
    panel: QWidget                                          # shows snapshots (show_snapshot)
    view: QGraphicsView                                     # the plot that is rendered
    tables: Callable[[Snapshot], dict[str, Table]]          # CSV files behind the plot
    frames: Callable[[Sequence[Snapshot]], Iterator[QGraphicsView]] | None = None   # for GIFs


def plot_view(panel: QWidget) -> pg.GraphicsView:
    """The panel's plot: its pyqtgraph GraphicsView."""
    view = panel.findChild(pg.GraphicsView)
    if view is None:
        raise ValueError(f"{type(panel).__name__} has no pyqtgraph GraphicsView to export")
    return view


@contextmanager
def _offscreen_copy(live: QWidget, copy: QWidget):
    """``copy`` laid out offscreen with a plot as large as ``live``'s; closed afterwards."""
    copy.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    copy.resize(live.size())
    copy.show()
    copy.layout().activate()
    missing = view_size(plot_view(live)) - view_size(plot_view(copy))
    if not missing.isNull():
        copy.resize(copy.size() + missing)
        copy.layout().activate()
    try:
        yield plot_view(copy)
    finally:
        copy.close()
        copy.deleteLater()


def _network_export(window: "MainWindow") -> PanelExport:
    live = window.network

    def tables(snap):          # in the window's focus: the pinned sample or the batch mean
        return network_tables(snap, window.run.focus.is_sample())

    def frames(snaps):
        copy = NetworkView(focus=window.run.focus)
        copy.set_overlay(live.overlay())
        copy.set_node_mode(live.node_mode())
        if live.selected_neuron() is not None:
            copy.select_neuron(*live.selected_neuron())
        with _offscreen_copy(live, copy) as view:
            for snap in snaps:
                copy.show_snapshot(snap)
                yield view

    return PanelExport("network", "Network", live, plot_view(live), tables, frames)


def _boundary_export(window: "MainWindow") -> PanelExport:
    live = window.boundary

    def tables(snap):
        if window.run.dataset is None:
            raise ExportError("the decision boundary has no dataset yet")
        return boundary_tables(snap, window.run.dataset)

    def frames(snaps):
        copy = BoundaryView()
        copy.set_dataset(window.run.dataset)
        copy.set_pinned(live.pinned())
        with _offscreen_copy(live, copy) as view:
            for snap in snaps:
                copy.show_snapshot(snap)
                yield view

    return PanelExport("boundary", "Decision boundary", live, plot_view(live), tables, frames)


def run_record(window: "MainWindow") -> RunRecord:
    """The run as the training session holds it."""
    try:
        return window.run.query("record")
    except BpvizError as e:
        raise ExportError(f"cannot export the run: {e}") from e


def _surface_export(window: "MainWindow") -> PanelExport:
    """The slice is computed on the surface thread; a GIF keeps the shown slice and moves the
    point and the path to where each snapshot's weights project onto it."""
    live = window.surface

    def shown_result():
        result = live.current_result()
        if result is None:
            raise ExportError("the error surface has not been computed yet")
        return result

    def tables(snap):
        record = run_record(window)
        return surface_tables(shown_result(), snap, record.trajectory, record.trajectory_passes)

    def frames(snaps):
        result = shown_result()
        record = run_record(window)
        if len(flatten(snaps[-1].weights, snaps[-1].biases)) != result.n_parameters:
            raise ExportError("the error surface is still being computed for the new network")
        saved = (live.path_item.getData(), live.last_step.getData(), live.marker.pos(),
                 live.marker.isVisible())
        try:
            for snap in snaps:
                params = flatten(snap.weights, snap.biases)
                point = result.coordinates(params)
                path = np.zeros((0, 2))
                if record.trajectory is not None and record.trajectory.shape[1] == len(params):
                    upto = record.trajectory[record.trajectory_passes <= snap.pass_count]
                    path = result.coordinates(thin_path(upto)).reshape(-1, 2)
                if not len(path) or not np.allclose(path[-1], point):
                    path = np.vstack([path, point])
                live.path_item.setData(path[:, 0], path[:, 1])
                live.last_step.setData(path[-2:, 0], path[-2:, 1])
                live.marker.setPos(float(point[0]), float(point[1]))
                live.marker.show()
                yield live.graphics
        finally:
            (px, py), (lx, ly), pos, visible = saved
            live.path_item.setData([] if px is None else px, [] if py is None else py)
            live.last_step.setData([] if lx is None else lx, [] if ly is None else ly)
            live.marker.setPos(pos)
            live.marker.setVisible(visible)

    return PanelExport("surface", "Error surface", live, plot_view(live), tables, frames)


def _cost_export(window: "MainWindow") -> PanelExport:
    live = window.cost

    def frames(snaps):
        record = run_record(window)
        copy = CostView()
        copy.set_log_scale(live.log_scale())
        with _offscreen_copy(live, copy) as view:
            for snap in snaps:
                copy.clear()
                copy.ingest(record.cost_snapshot(snap))
                copy.show_snapshot(snap)
                yield view

    def tables(_snap):
        record = run_record(window)
        tables = cost_tables(record.history_header, record.history, record.passes,
                             first_pass=record.pass_offset + 1)
        kept = live.kept_runs()
        if kept:                # the runs kept on the loss plot, as drawn: cost_kept.csv
            tables["kept"] = Table(("run", "epoch", "loss"), [
                [label, int(x), y] for label, xs, ys in kept
                for x, y in zip(xs.tolist(), ys.tolist())])
        return tables

    return PanelExport("cost", "Cost curve", live, plot_view(live), tables, frames)


# -- the window's exporter -------------------------------------------------------------------------

@contextmanager
def _busy():
    """A wait cursor while an export runs (a long GIF takes seconds)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class Exporter(QObject):
    """The window's export hub: the panels' registrations and the Export menus.

    ``menu`` is File → Export: one submenu per panel (PNG 1×/2×/4×, SVG, CSV, GIF) and
    "Export all…". Right-clicking a panel's plot offers the same under "Export…"; where pyqtgraph
    shows its own menu, its "Export..." entry leads here instead of pyqtgraph's exporters.
    """

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window = window
        self.panels: dict[str, PanelExport] = {}
        self._export_menus: dict[str, QMenu] = {}      # "Export…" ▸ formats, per panel
        self._context_menus: dict[str, QMenu] = {}     # right click: "Export…" ▸
        self.menu = QMenu("&Export", window)
        self._all_separator = self.menu.addSeparator()
        self.all_action = QAction("Export all…", self)
        self.all_action.setStatusTip("Every panel as PNG (1×, 2×), SVG and CSV into one folder, "
                                     "with a manifest")
        self.all_action.triggered.connect(self.export_all_dialog)
        self.menu.addAction(self.all_action)
        self.menu.addSeparator()
        self.script_action = QAction("Python script…", self)
        self.script_action.setStatusTip("The run as a standalone numpy program that prints its "
                                        "history: from the current weights once it has trained")
        self.script_action.triggered.connect(self.script_dialog)
        self.menu.addAction(self.script_action)
        for entry in (_network_export(window), _boundary_export(window),
                      _surface_export(window), _cost_export(window)):
            self.register(entry)

    # -- registration and menus -------------------------------------------------------------------

    def register(self, entry: PanelExport) -> None:
        """Add a panel: a File → Export submenu, and "Export…" on right-clicking its plot."""
        if entry.name in self.panels:
            raise ValueError(f"a panel named {entry.name!r} is registered already")
        self.panels[entry.name] = entry
        formats = QMenu(entry.title, self.window)       # File → Export → <title>
        for scale in PNG_SCALES:
            formats.addAction(f"PNG ({scale}×)…",
                              partial(self.save_dialog, entry.name, "png", scale))
        formats.addAction("SVG…", partial(self.save_dialog, entry.name, "svg", 1))
        formats.addAction("CSV data…", partial(self.save_dialog, entry.name, "csv", 1))
        if entry.frames is not None:
            formats.addAction("Animated GIF of the run…",
                              partial(self.save_dialog, entry.name, "gif", 1))
        self.menu.insertMenu(self._all_separator, formats)
        export = QMenu("Export…", entry.panel)           # the same actions, for the right click
        export.addActions(formats.actions())
        context = QMenu(entry.panel)
        context.addMenu(export)
        self._export_menus[entry.name] = export
        self._context_menus[entry.name] = context

        scene = entry.view.scene()
        scene.sigMouseClicked.connect(partial(self._on_scene_clicked, entry.name))
        pyqtgraph_export = scene.contextMenu[0]        # the "Export..." of pyqtgraph's own menus
        pyqtgraph_export.triggered.disconnect()
        pyqtgraph_export.triggered.connect(partial(self._popup_formats, entry.name))

    def context_menu(self, name: str) -> QMenu:
        """The menu that right-clicking the panel's plot opens."""
        return self._context_menus[name]

    def _on_scene_clicked(self, name: str, ev) -> None:
        """A right click that no plot item took (no pyqtgraph menu): our menu."""
        if ev.button() == Qt.MouseButton.RightButton and not ev.isAccepted():
            self._context_menus[name].popup(ev.screenPos().toPoint())

    def _popup_formats(self, name: str, _checked: bool = False) -> None:
        self._export_menus[name].popup(QCursor.pos())

    # -- dialogs ----------------------------------------------------------------------------------

    def _folder(self) -> str:
        return str(self.window.settings.value("export/folder", str(Path.home())))

    def _remember(self, folder: Path) -> None:
        self.window.settings.setValue("export/folder", str(folder))

    def save_dialog(self, name: str, fmt: str, scale: int, _checked: bool = False) -> None:
        """Ask for a file (and for a GIF, the frame count), then export."""
        entry = self.panels[name]
        frames = GIF_FRAMES
        if fmt == "gif":
            kept = film(self.window, len(self.window.history) or 1)
            available = min(len(kept), GIF_MAX_FRAMES)
            if not available:
                self.window.show_error("Nothing to animate", "no snapshot has arrived yet")
                return
            frames, ok = QInputDialog.getInt(
                self.window, f"Animated GIF of {entry.title.lower()}",
                f"Frames, spread over the {len(kept)} snapshots kept ({epochs_covered(kept)}):",
                min(GIF_FRAMES, available), 1, available)
            if not ok:
                return
        suffix = f"@{scale}x" if fmt == "png" and scale != 1 else ""
        suggested = Path(self._folder()) / f"{name}{suffix}.{fmt}"
        what = f"{entry.title} as {fmt.upper()}" + (f" ({scale}×)" if fmt == "png" else "")
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {what}", str(suggested),
                                              f"{fmt.upper()} files (*.{fmt})")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != f".{fmt}":
            path = path.with_name(path.name + f".{fmt}")
        self.export_to(name, fmt, path, scale=scale, frames=frames)

    def export_to(self, name: str, fmt: str, path: Path, scale: int = 1,
                  frames: int = GIF_FRAMES) -> list[Path]:
        """:func:`export_panel`, with errors shown to the user instead of raised."""
        try:
            with _busy():
                written = export_panel(self.window, name, fmt, path, scale=scale, frames=frames)
        except ExportError as e:
            self.window.show_error("Export failed", str(e))
            return []
        self._remember(Path(path).parent)
        self.window.statusBar().showMessage(
            f"exported {', '.join(p.name for p in written)} to {Path(path).parent}", 6000)
        return written

    @Slot()
    def export_all_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export all panels into…",
                                                  self._folder())
        if folder:
            self.export_all_to(Path(folder))

    @Slot()
    def script_dialog(self) -> None:
        """Ask for a file, then write the run's program there (:func:`export_script`)."""
        suggested = Path(self._folder()) / "backprop.py"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the run as a Python script",
                                              str(suggested), "Python files (*.py)")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".py":
            path = path.with_name(path.name + ".py")
        self.export_script_to(path)

    def export_script_to(self, path: Path) -> list[Path]:
        """:func:`export_script`, with errors shown to the user instead of raised."""
        folder = Path(path).parent
        return self._shown(lambda: export_script(self.window, path), folder,
                           lambda written: f"exported {', '.join(p.name for p in written)} "
                                           f"to {folder}")

    def export_all_to(self, folder: Path) -> list[Path]:
        """:func:`export_all`, with errors shown to the user instead of raised."""
        return self._shown(lambda: export_all(self.window, folder), folder,
                           lambda written: f"exported {len(written)} files to {folder}")

    def _shown(self, write, folder: Path, message) -> list[Path]:
        """``write()`` under a busy cursor; a failure in a dialog, success in the status bar."""
        try:
            with _busy():
                written = write()
        except ExportError as e:
            self.window.show_error("Export failed", str(e))
            return []
        self._remember(folder)
        self.window.statusBar().showMessage(message(written), 6000)
        return written


# -- the public functions --------------------------------------------------------------------------

def shown_snapshot(window: "MainWindow") -> Snapshot | None:
    """The snapshot the panels show: the one picked on the timeline, else the newest."""
    return window.timeline.shown() or window.run.latest


def film(window: "MainWindow", frames: int, from_epoch: float | None = None,
         to_epoch: float | None = None) -> list[Snapshot]:
    """``frames`` snapshots spread evenly over those the timeline keeps up to the one shown
    (oldest first; the first and the last of them always in), or over those of epochs
    ``from_epoch`` to ``to_epoch`` (either end open when None)."""
    shown = shown_snapshot(window)
    kept = [window.history[k] for k in range(len(window.history))]
    if shown is not None:
        kept = [snap for snap in kept if snap.seq <= shown.seq]
    return spread(in_epochs(kept, from_epoch, to_epoch), frames)


def in_epochs(snaps: Sequence[Snapshot], from_epoch: float | None = None,
              to_epoch: float | None = None) -> list[Snapshot]:
    """The snapshots of epochs ``from_epoch`` to ``to_epoch`` (both in; None: no bound)."""
    return [snap for snap in snaps
            if (from_epoch is None or snap.epoch >= from_epoch)
            and (to_epoch is None or snap.epoch <= to_epoch)]


def spread(snaps: Sequence[Snapshot], frames: int) -> list[Snapshot]:
    """At most ``frames`` of ``snaps``, evenly spread from the first to the last (both in)."""
    snaps = list(snaps)
    if len(snaps) <= frames:
        return snaps
    if frames == 1:
        return snaps[-1:]
    picks = np.unique(np.rint(np.linspace(0, len(snaps) - 1, frames)).astype(int))
    return [snaps[k] for k in picks.tolist()]


def epochs_covered(snaps: Sequence[Snapshot]) -> str:
    """"epochs 0–55" (or "epoch 3") of a film, for captions and messages."""
    if not snaps:
        return "no epoch"
    first, last = snaps[0].epoch, snaps[-1].epoch
    return f"epoch {first}" if first == last else f"epochs {first}–{last}"


def _prepare(window: "MainWindow") -> Snapshot:
    """Show the snapshot shown in every panel (hidden ones too) and settle the layouts."""
    snap = shown_snapshot(window)
    if snap is None:
        raise ExportError("nothing to export yet: no snapshot has arrived")
    window.paint_now()
    for entry in window.exporter.panels.values():
        if not entry.panel.isVisible():
            entry.panel.show_snapshot(snap)
    settle_layouts()
    return snap


def _entry(window: "MainWindow", name: str) -> PanelExport:
    panels = window.exporter.panels
    if name not in panels:
        raise ExportError(f"no panel named {name!r}; choose one of {', '.join(panels)}")
    return panels[name]


def _description(snap: Snapshot) -> str:
    sizes = "-".join(str(n) for n in snap.sizes)
    return f"bpviz {__version__}: network {sizes}, epoch {snap.epoch}, pass {snap.pass_count}"


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda tmp: tmp.write_bytes(data)


def _write_panel(entry: PanelExport, snap: Snapshot, fmt: str, path: Path, files: FileSet,
                 scale: int = 1, snaps: Sequence[Snapshot] = ()) -> list[Path]:
    """Write one format of one panel into ``files`` (``path`` is in its folder; a CSV's companions
    go beside it); ``snaps`` are a GIF's frames. Returns the files' final paths."""
    if fmt == "png":
        writes = {path: _bytes(png_bytes(render_png(entry.view, scale)))}
    elif fmt == "svg":
        writes = {path: _bytes(render_svg(entry.view, f"bpviz — {entry.title.lower()}",
                                          _description(snap)))}
    elif fmt == "csv":
        writes = {path if key == "" else path.with_name(f"{path.stem}_{key}.csv"):
                  partial(write_csv, table=table) for key, table in entry.tables(snap).items()}
    else:
        writes = {path: partial(write_gif, frames=_gif_frames(entry, snaps))}
    for target, write in writes.items():
        files.write(target.name, write)
    return list(writes)


def _gif_frames(entry: PanelExport, snaps: Sequence[Snapshot]) -> Iterator[QImage]:
    """The captioned pictures of ``snaps`` on an offscreen copy of the panel, one at a time."""
    if entry.frames is None:
        raise ExportError(f"the {entry.title.lower()} panel cannot be animated")
    if not snaps:
        raise ExportError("nothing to animate yet: no snapshot has arrived")

    def images() -> Iterator[QImage]:
        views = entry.frames(snaps)
        try:
            for k, (snap_k, view) in enumerate(zip(snaps, views), start=1):
                settle_layouts()
                yield captioned(render_png(view), f"{entry.title} · epoch {snap_k.epoch} · pass "
                                f"{snap_k.pass_count}", f"{k}/{len(snaps)}")
        finally:
            views.close()           # the offscreen copy goes now, not when collected
    return images()


@contextmanager
def _output(folder: Path, create: bool = False) -> Iterator[FileSet]:
    """A :class:`FileSet` of ``folder`` (committed by the caller; discarded on error, and then a
    folder it created taken away again) whose ``OSError`` becomes an :class:`ExportError` naming
    the file."""
    try:
        with FileSet(folder, create=create) as files:
            yield files
    except OSError as e:
        raise ExportError(f"cannot write {e.filename or folder}: {e.strerror or e}") from e


def export_panel(window: "MainWindow", name: str, fmt: str, path, scale: int = 1,
                 frames: int = GIF_FRAMES, from_epoch: float | None = None,
                 to_epoch: float | None = None,
                 snaps: Sequence[Snapshot] | None = None) -> list[Path]:
    """Export panel ``name`` ("network", "boundary", "surface", "cost", or any registered one)
    as ``fmt`` ("png", "svg", "csv", "gif") to ``path``; returns the files written.

    PNG is (plot size × ``scale``) pixels, ``scale`` a whole number 1…8. CSV writes ``path`` and
    companions beside it (``<stem>_passes.csv``, ``_kept`` (kept runs), ``_neurons``, ``_path``,
    ``_points``). A GIF shows
    ``frames`` snapshots (at most :data:`GIF_MAX_FRAMES`) spread over the run the timeline keeps
    up to the one shown, or over its epochs ``from_epoch`` to ``to_epoch`` (:func:`film`), or
    over ``snaps`` when given. Raises :class:`ExportError` with a one-line message.
    """
    entry = _entry(window, name)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not (isinstance(scale, int) and 1 <= scale <= MAX_SCALE):
        raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE}, got {scale!r}")
    if not (isinstance(frames, int) and 1 <= frames <= GIF_MAX_FRAMES):
        raise ExportError(f"frames must be a whole number from 1 to {GIF_MAX_FRAMES}, "
                          f"got {frames!r}")
    snap = _prepare(window)
    if fmt != "gif":
        snaps = ()
    elif snaps is not None:
        snaps = spread(in_epochs(snaps, from_epoch, to_epoch), frames)
    else:
        snaps = film(window, frames, from_epoch, to_epoch)
    if fmt == "gif" and not snaps and (from_epoch is not None or to_epoch is not None):
        raise ExportError(f"no snapshot of epochs {from_epoch if from_epoch is not None else 0}"
                          f" to {to_epoch if to_epoch is not None else 'the last'} is kept")
    path = Path(path)
    with _output(path.parent) as files:          # a CSV and its companions: all or none
        written = _write_panel(entry, snap, fmt, path, files, scale, snaps)
        files.commit()
    return written


def panel_image(window: "MainWindow", name: str, scale: int = 1) -> QImage:
    """Panel ``name`` as it shows the snapshot shown, rendered alone at ``scale`` (as its PNG)."""
    entry = _entry(window, name)
    _prepare(window)
    return render_png(entry.view, scale)


def panel_tables(window: "MainWindow", name: str) -> dict[str, Table]:
    """The numbers behind panel ``name`` (its CSV tables) for the snapshot shown."""
    entry = _entry(window, name)
    return entry.tables(_prepare(window))


def _json_default(value):
    """numpy values in dataset parameters as plain JSON; anything else as its text."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def export_script(window: "MainWindow", path) -> list[Path]:
    """The run as a standalone numpy program at ``path`` (:mod:`bpviz.engine.codegen`): before
    the first pass, the configuration's program from its initial weights; after it, the program
    that goes on from the session's current weights, optimizer state and shuffle stream (its
    arrays in a ``.npz`` beside it when they are many). Returns the paths written."""
    from ...engine.codegen import write_program
    path = Path(path)
    try:
        config, state = window.run.query("state")
    except BpvizError as e:
        raise ExportError(f"cannot export the run: {e}") from e
    # the live settings (a learning rate changed in the window) are the trainer's
    config = dataclasses.replace(config, **{k: state[k] for k in LIVE_SETTINGS})
    if state["pass_count"] == 0 and _initial_weights(config, state, window.run.dataset):
        state = None
    try:
        return write_program(path, config, session_state=state, dataset=window.run.dataset)
    except BpvizError as e:
        raise ExportError(f"cannot write the program {path}: {e}") from e
    except OSError as e:
        raise ExportError(f"cannot write {e.filename or path}: {e.strerror or e}") from e


def _initial_weights(config, state, dataset) -> bool:
    """Whether ``state`` holds the weights ``config`` starts from (none set by hand)."""
    from ...engine.config import build
    try:
        _, net, _ = build(config, dataset)
    except BpvizError:
        return False
    return all(np.array_equal(a, b) for a, b in zip(net.weights + net.biases,
                                                    state["weights"] + state["biases"]))


def export_all(window: "MainWindow", folder, panels: Sequence[str] | None = None,
               scales: Sequence[int] = ALL_PNG_SCALES) -> list[Path]:
    """Every panel (or those named in ``panels``) as PNG (at each of ``scales``: 1× and 2×
    unless told), SVG and CSV into ``folder`` (created if missing), and ``manifest.json``: bpviz
    version, date, configuration, dataset, the snapshot shown and every file written (format,
    scale, bytes). Returns the paths written, the manifest last."""
    folder = Path(folder)
    for name in panels or ():
        _entry(window, name)
    for scale in scales:
        if not (isinstance(scale, int) and 1 <= scale <= MAX_SCALE):
            raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE}, got {scale!r}")
    snap = _prepare(window)
    with _output(folder, create=True) as staged:     # every file, then the manifest, put in place together
        files = _export_all_files(window, snap, folder, staged, panels, scales)
        manifest_path = _export_all_manifest(window, snap, folder, files, staged)
        staged.commit()
    return [folder / f["file"] for f in files] + [manifest_path]


def _export_all_files(window: "MainWindow", snap: Snapshot, folder: Path, staged: FileSet,
                      panels: Sequence[str] | None = None,
                      scales: Sequence[int] = ALL_PNG_SCALES) -> list[dict]:
    files = []
    for name, entry in window.exporter.panels.items():
        if panels and name not in panels:
            continue
        jobs = [("png", scale, f"{name}.png" if scale == 1 else f"{name}@{scale}x.png")
                for scale in scales]
        jobs += [("svg", 1, f"{name}.svg"), ("csv", 1, f"{name}.csv")]
        for fmt, scale, filename in jobs:
            for path in _write_panel(entry, snap, fmt, folder / filename, staged, scale):
                files.append({"file": path.name, "panel": name, "format": fmt,
                              **({"scale": scale} if fmt == "png" else {}),
                              "bytes": staged.temporary(path).stat().st_size})
    return files


def _export_all_manifest(window: "MainWindow", snap: Snapshot, folder: Path, files: list[dict],
                         staged: FileSet) -> Path:
    ds = window.run.dataset
    manifest = {
        "bpviz_version": __version__,
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "config": window.run.config_in_force().to_dict(),
        "dataset": None if ds is None else {
            "name": ds.name, "task": ds.task, "source": ds.source, "params": dict(ds.params),
            "features": list(ds.feature_names), "classes": list(ds.class_names),
            "n_train": len(ds.X_train), "n_test": len(ds.X_test)},
        # the training loss at the snapshot's weights, as `bpviz train` reports it
        "snapshot": {"epoch": snap.epoch, "pass_count": snap.pass_count,
                     "loss": snap.loss if ds is None else training_loss(snap, ds),
                     "focus": focused(snap, window.run.focus.is_sample()).label},
        # what the panels show, as the window's controls set it
        "view": {"edges": window.network.overlay(), "neurons": window.network.node_mode(),
                 "inspector": list(window.inspector.selected_neuron())},
        "files": files,
    }
    text = json.dumps(manifest, indent=2, default=_json_default) + "\n"
    staged.write("manifest.json", _bytes(text.encode("utf-8")))
    return folder / "manifest.json"
