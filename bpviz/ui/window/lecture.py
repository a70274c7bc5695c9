"""Lecture-hall mode: full screen, the whole interface enlarged or reduced, one panel maximised.

Three things a teacher needs in front of a projector, each in the View menu and remembered in the
settings:

- **Full screen** (F11, again to leave it);
- **Enlarge / Reduce / Actual size** (Ctrl++, Ctrl+−, Ctrl+0): one zoom factor
  (:func:`bpviz.ui.plotting.style.zoom`) for the whole interface — the application font, and with it every
  panel's text, and the panels' own drawing (the diagram's edges, neurons' labels and legends, the
  Graph panel's boxes, the plots' curves, markers and axes), which each panel reads in
  ``set_zoom``;
- **Maximise panel** (Ctrl+M, again to bring the others back): the panel with the keyboard focus,
  else the one under the mouse, else the network diagram, alone in the window.

The window makes one :class:`LectureMode` and calls :meth:`LectureMode.add_to_menu` and
:meth:`LectureMode.restore`; the rest happens here.
"""

from __future__ import annotations

import weakref

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCursor, QFont, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMenu, QWidget

from ..plotting import style

ZOOM_KEY = "lecture/zoom"
FULL_SCREEN_KEY = "lecture/fullScreen"
MAXIMISED_KEY = "lecture/maximisedPanel"
FULL_SCREEN_KEYS = ["F11"]
ZOOM_IN_KEYS = ["Ctrl++", "Ctrl+="]          # Ctrl+= : the + key without Shift
ZOOM_OUT_KEYS = ["Ctrl+-"]
ZOOM_RESET_KEYS = ["Ctrl+0"]
MAXIMISE_KEYS = ["Ctrl+M"]
SHORTCUTS = [("F11", "full screen, and back"),
             ("Ctrl++ / Ctrl+− / Ctrl+0", "enlarge, reduce, actual size (the whole interface)"),
             ("Ctrl+M", "maximise the panel with the focus (or under the mouse), and back")]

_unzoomed_font: list[QFont] = []      # the application font at actual size, kept once


def unzoomed_font() -> QFont:
    """The application's font at zoom 1 (taken from the application the first time)."""
    if not _unzoomed_font:
        _unzoomed_font.append(QFont(QApplication.instance().font()))
    return QFont(_unzoomed_font[0])


def zoomed_font(factor: float) -> QFont:
    """The application font at ``factor`` times its actual size."""
    font = unzoomed_font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        font.setPixelSize(max(1, round(font.pixelSize() * factor)))
    return font


class PlotZoom:
    """Scales the pens wider than 1 px, the markers and the axis fonts of pyqtgraph plots by the
    zoom factor, from the sizes their panel gave them (remembered here, so that repeated zooms do
    not compound; a pen the panel set anew since is taken as its new size at actual size)."""

    def __init__(self):
        self._pens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._sizes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def apply(self, widget: QWidget, factor: float) -> None:
        import pyqtgraph as pg
        for view in [widget, *widget.findChildren(pg.GraphicsView)]:
            if not isinstance(view, pg.GraphicsView) or view.scene() is None:
                continue
            for item in view.scene().items():
                if isinstance(item, pg.AxisItem):
                    item.setStyle(tickFont=zoomed_font(factor))
                    item.label.setFont(zoomed_font(factor))
                elif isinstance(item, pg.PlotCurveItem):
                    self._scale_pen(item, factor)
                elif isinstance(item, pg.ScatterPlotItem):
                    self._scale_markers(item, factor)

    def _scale_pen(self, item, factor: float) -> None:
        pen = item.opts.get("pen")
        if pen is None or not hasattr(pen, "widthF"):
            return
        base, shown = self._pens.get(item, (None, None))
        width = pen.widthF()
        if base is None or abs(width - shown) > 1e-6:
            base = width                  # first seen, or set anew by its panel
        if base <= 1.0:
            # 0- and 1-px pens stay as they are: the long curves (the cost curve's thousands of
            # points) are drawn 1 px wide on purpose, a wider antialiased pen costing ~40× more
            return
        pen = pg_pen(pen, base * factor)
        item.setPen(pen)
        self._pens[item] = (base, pen.widthF())

    def _scale_markers(self, item, factor: float) -> None:
        size = item.opts.get("size")
        if not isinstance(size, (int, float)):
            return
        base, shown = self._sizes.get(item, (None, None))
        if base is None or abs(size - shown) > 1e-6:
            base = size
        item.setSize(base * factor)
        self._sizes[item] = (base, base * factor)


def pg_pen(pen, width: float):
    from PySide6.QtGui import QPen
    pen = QPen(pen)
    pen.setWidthF(width)
    return pen


class LectureMode(QObject):
    """Full screen, zoom and the maximised panel of one main window."""

    zoomChanged = Signal(float)

    def __init__(self, window, settings: QSettings, layout_version: int):
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.layout_version = layout_version      # the tag of the window's saved layouts
        self._maximised: str | None = None
        self._pending_maximise: str | None = None    # remembered, maximised once shown
        self._layout_before: object = None       # the layout the settings keep meanwhile
        self._open_before: list[str] = []
        self._front_before: list[str] = []
        self._sizes_before: dict = {}
        self._plots = PlotZoom()
        self.full_screen_action = self._action(
            "Full screen", self.toggle_full_screen, FULL_SCREEN_KEYS,
            "The window over the whole screen, and back (F11)", checkable=True)
        self.zoom_in_action = self._action(
            "Enlarge", self.zoom_in, ZOOM_IN_KEYS,
            "Enlarge the whole interface: text, lines, markers, the diagram's labels (Ctrl++)")
        self.zoom_out_action = self._action("Reduce", self.zoom_out, ZOOM_OUT_KEYS,
                                            "Reduce the whole interface (Ctrl+−)")
        self.zoom_reset_action = self._action("Actual size", self.zoom_reset, ZOOM_RESET_KEYS,
                                              "The interface at its actual size (Ctrl+0)")
        self.maximise_action = self._action(
            "Maximise panel", self.toggle_maximised, MAXIMISE_KEYS,
            "The panel with the keyboard focus (or under the mouse) alone in the window, and "
            "back (Ctrl+M)", checkable=True)

    def _action(self, text: str, slot, keys, tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ApplicationShortcut)
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.setCheckable(checkable)
        # a checkable action is already toggled when it triggers: the slots read the window,
        # not the check mark
        action.triggered.connect(slot)
        return action

    def add_to_menu(self, menu: QMenu) -> None:
        menu.addSeparator()
        for action in (self.full_screen_action, self.maximise_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action, self.zoom_reset_action):
            menu.addAction(action)

    def restore(self) -> None:
        """Apply what the settings remember: the zoom, full screen, the maximised panel."""
        try:
            factor = float(self.settings.value(ZOOM_KEY, 1.0))
        except (TypeError, ValueError):
            factor = 1.0
        self.set_zoom(factor, remember=False)
        if str(self.settings.value(FULL_SCREEN_KEY, "false")).lower() == "true":
            self.set_full_screen(True, remember=False)
        name = self.settings.value(MAXIMISED_KEY, "")
        if isinstance(name, str) and name in self.window.docks:
            # once the window is shown and laid out: a layout kept (to bring back) before that
            # is not one the window can be given back
            self._pending_maximise = name
            self.window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Show and self._pending_maximise:
            self.window.removeEventFilter(self)
            QTimer.singleShot(0, self._maximise_pending)
        return False

    @Slot()
    def _maximise_pending(self) -> None:
        name, self._pending_maximise = self._pending_maximise, None
        if name and self._maximised is None and self.window.isVisible():
            self.maximise(name, remember=False)

    # -- full screen ------------------------------------------------------------------------------

    def is_full_screen(self) -> bool:
        return self.window.isFullScreen()

    @Slot()
    def toggle_full_screen(self) -> None:
        self.set_full_screen(not self.window.isFullScreen())

    def set_full_screen(self, on: bool, remember: bool = True) -> None:
        w = self.window
        if on and not w.isFullScreen():
            w.showFullScreen()
        elif not on and w.isFullScreen():
            w.showNormal()
        self.full_screen_action.setChecked(on)
        if remember:
            self.settings.setValue(FULL_SCREEN_KEY, "true" if on else "false")

    # -- zoom -------------------------------------------------------------------------------------

    def zoom(self) -> float:
        return style.zoom()

    @Slot()
    def zoom_in(self) -> None:
        self.set_zoom(style.next_zoom(style.zoom(), +1))

    @Slot()
    def zoom_out(self) -> None:
        self.set_zoom(style.next_zoom(style.zoom(), -1))

    @Slot()
    def zoom_reset(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, factor: float, remember: bool = True) -> None:
        """The whole interface at ``factor`` times its actual size."""
        factor = style.set_zoom(factor)
        QApplication.instance().setFont(zoomed_font(factor))
        for panel in self.panels():
            own = getattr(panel, "set_zoom", None)
            if callable(own):
                own(factor)
            else:
                self._plots.apply(panel, factor)
        self.zoom_in_action.setEnabled(factor < style.ZOOM_STEPS[-1])
        self.zoom_out_action.setEnabled(factor > style.ZOOM_STEPS[0])
        if remember:
            self.settings.setValue(ZOOM_KEY, f"{factor:g}")
            self.window.statusBar().showMessage(f"interface at {factor:.0%} "
                                                f"(Ctrl+0: actual size)", 4000)
        self.zoomChanged.emit(factor)

    def panels(self) -> list[QWidget]:
        """The panels' own widgets (inside the scroll areas some are shown in)."""
        out = []
        for dock in self.window.docks.values():
            widget = dock.widget()
            inner = getattr(widget, "widget", None)
            if callable(inner) and isinstance(inner(), QWidget):
                widget = inner()
            out.append(widget)
        return out

    # -- one panel maximised ----------------------------------------------------------------------

    def maximised(self) -> str | None:
        """The name of the panel shown alone, or None."""
        return self._maximised

    def panel_in_focus(self) -> str:
        """The panel with the keyboard focus, else the one under the mouse, else "network"."""
        docks = self.window.docks
        widget = QApplication.focusWidget()
        while widget is not None:
            if isinstance(widget, QDockWidget):
                for name, dock in docks.items():
                    if dock is widget:
                        return name
            widget = widget.parentWidget()
        under = QApplication.widgetAt(QCursor.pos())
        while under is not None:
            for name, dock in docks.items():
                if dock is under and dock.isVisible():
                    return name
            under = under.parentWidget()
        return "network"

    @Slot()
    def toggle_maximised(self) -> None:
        if self._maximised is None:
            self.maximise(self.panel_in_focus())
        else:
            self.restore_panels()

    def maximise(self, name: str, remember: bool = True) -> None:
        """Show panel ``name`` alone in the window (the others are hidden, not closed: Ctrl+M
        again, or :meth:`restore_panels`, brings back the layout as it was)."""
        w = self.window
        if self._maximised is not None:
            self.restore_panels(remember=False)
        self._layout_before = w.saveState(self.layout_version)
        # the panels open (in front or behind a tab), and those in front, to bring back
        self._open_before = [n for n, d in w.docks.items() if d.toggleViewAction().isChecked()]
        self._front_before = [n for n, d in w.docks.items()
                              if d.isVisible() and not d.visibleRegion().isEmpty()]
        self._sizes_before = {n: w.docks[n].size() for n in self._front_before}
        self._maximised = name
        chosen = w.docks[name]
        if chosen.isFloating():
            chosen.setFloating(False)
        for other, dock in w.docks.items():
            if other != name:
                dock.hide()
        chosen.show()
        chosen.raise_()
        chosen.widget().setFocus(Qt.OtherFocusReason)
        self.maximise_action.setChecked(True)
        if remember:
            self.settings.setValue(MAXIMISED_KEY, name)
            w.statusBar().showMessage(f"{chosen.windowTitle()} alone (Ctrl+M: every panel "
                                      f"back)", 4000)

    def restore_panels(self, remember: bool = True) -> None:
        """Every panel back as it was before one was maximised."""
        if self._maximised is None:
            return
        self._layout_before = None
        self._maximised = None
        # shown again in the places they were hidden from (restoring the saved layout instead
        # has crashed Qt in the window's own event handling)
        docks = self.window.docks
        for n in self._open_before:
            docks[n].show()
        for n, dock in docks.items():
            if n not in self._open_before:
                dock.hide()
        for n in self._front_before:
            docks[n].raise_()
        self._resize_front()
        QTimer.singleShot(0, self._resize_front)     # once more when the layout has settled
        self.maximise_action.setChecked(False)
        if remember:
            self.settings.setValue(MAXIMISED_KEY, "")

    @Slot()
    def _resize_front(self) -> None:
        """The panels that were in front at the sizes they had (Qt gives a panel shown again
        its place, not its size)."""
        if self._maximised is not None:
            return
        w = self.window
        for n in self._front_before:
            dock, size = w.docks[n], self._sizes_before.get(n)
            if size is None or dock.isFloating() or not dock.isVisible():
                continue
            w.resizeDocks([dock], [size.width()], Qt.Horizontal)
            w.resizeDocks([dock], [size.height()], Qt.Vertical)

    def forget_maximised(self) -> None:
        """The layout was set anew (View → Reset layout): no panel is maximised any more."""
        self._maximised = None
        self._layout_before = None
        self.maximise_action.setChecked(False)
        self.settings.setValue(MAXIMISED_KEY, "")

    def layout_to_save(self):
        """The window's layout as it is with every panel back (what the settings keep)."""
        if self._maximised is not None and self._layout_before is not None:
            return self._layout_before
        return None
