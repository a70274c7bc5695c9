"""The main window: dock panels around the training session.

The window owns a :class:`~bpviz.host.TrainingHost` (training, in its own process) and the panels
(controls, network, decision boundary, error surface, cost curve, neuron inspector, graph,
lessons). Every snapshot that arrives is *ingested* by the panels that accumulate (the cost curve);
a paint timer on the GUI thread shows only the newest snapshot (while training, at most one panel
per paint tick). User actions in the panels (dragging a weight, choosing surface axes, pinning a
sample) become commands to the training session; the next snapshot shows their effect in every
panel.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import (QByteArray, QEvent, QEventLoop, QObject, QSettings, Qt, QTimer,
                            Signal, Slot)
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (QAbstractSlider, QApplication, QComboBox, QDockWidget,
                               QFileDialog, QFrame, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressDialog, QPushButton, QScrollArea, QStyle, QToolBar,
                               QWidget)

from ... import __version__
from ...engine.config import Config
from ...engine.csvdata import load_csv
from ...engine.errors import BpvizError
from ...engine.phases import UPDATE
from ...engine.vocabulary import STEP_MODE_LABELS, parse_speed, speed_text
from ...engine.snapshot import Snapshot
from ...messages import (Failed, OpenSession, Pause, Pin, Play, Rebuild, Redo, Reset, Rewind,
                        SaveSession, SetHyper, SetPace, SetParameters, SetSpeed, SetStepMode, Step,
                        Undo)
from ...training import PHASE_PACES, PHASED_AT, SHOWN_AT, SPEEDS
from ...host import TrainingHost
from ..panels.boundary import BoundaryView
from ..panels.code import CodePanel
from .controls import ControlsPanel
from ..panels.cost import CostView
from ..plotting.qt import collect_garbage_on_gui_thread, hand_the_lock_to_the_gui_sooner
from ..export.export import Exporter
from .focus import MODES as FOCUS_MODES, SAMPLE as FOCUS_SAMPLE
from ..panels.graph import GraphView
from .help import HelpDesk
from ..plotting import style
from ..network.view import NetworkView
from ..panels.inspector import InspectorPanel
from .lecture import SHORTCUTS as LECTURE_SHORTCUTS, LectureMode
from ..panels.lessons import LessonsPanel
from .paint_scheduler import (DEFAULT_FPS as DEFAULT_PANEL_FPS,
                              DEFAULT_SHARE as DEFAULT_PANEL_SHARE, PAINT, TICK,
                              TRAINING_PANEL_FPS, TRAINING_PANEL_SHARE, FrameTiming,
                              PacedQuestions, PaintScheduler)
from .run_model import RunModel
from ..panels.surface import SurfaceView
from .timeline import SnapshotHistory, TimelineBar
from . import view_state
from ...resources import resource_dir

RESOURCES = resource_dir()
PAINT_INTERVAL_MS = 16
# While training, which panel a tick repaints is the paint scheduler's choice (paint_scheduler.py):
# each panel at most its frames a second and within its share of the GUI thread's time (the
# figures given to register_panel, else TRAINING_PANEL_FPS and TRAINING_PANEL_SHARE, else the
# defaults a light panel gets).
SETTINGS_ORG, SETTINGS_APP = "bpviz", "bpviz"
LAYOUT_VERSION = 4       # a layout saved by an earlier version is not restored
# The default layout, as shares of the window: the controls' column (at least its minimum width),
# the diagram's column and the column of the decision boundary over the error surface; in the
# diagram's column the diagram over the cost curve. The diagram keeps priority: at 1280×720 it
# shows every neuron's value of the classic network.
DEFAULT_COLUMNS = (0.24, 0.44, 0.32)
DEFAULT_NETWORK_ROW = 0.64

STEP_MODES = [(label, mode) for mode, label in STEP_MODE_LABELS.items()]
# The speed a new user starts at: the classic example's loss comes within 10% of where 1,000
# epochs take it after about 180 epochs, so at 10 passes a second a learner watches it converge
# over about 20 seconds, every pass shown. At PHASED_AT passes a second the passes play phase by
# phase, each phase held for the Phases box's pace (see PHASE_PACES).
DEFAULT_SPEED = 10
PACES = [("off", None)] + [(name, seconds) for name, seconds in PHASE_PACES.items()]
DEFAULT_PACE = "medium"
UNDO_SHOWN_MS = 30000       # how long the "Undo" offer stays in the status bar
STOP_WAIT_S = 0.5           # closing waits this long for training before it shows that it waits

SHORTCUTS = [
    ("Space", "play / pause"), ("S or →", "one step (see Step by)"),
    ("R", "reset to the initial weights"), ("Ctrl+Z", "undo a reset or a re-initialisation"),
    ("Ctrl+Shift+Z", "redo: bring back what Undo set aside"),
    ("Ctrl+O", "open a dataset CSV"), ("Ctrl+Shift+O", "open a session"),
    ("Ctrl+S", "save the session"), ("Ctrl+K", "keep this run's loss on the cost curve"),
    ("Ctrl+Q", "quit"), ("F1", "this list"),
    ("Shift+F1", "what the panel with the focus shows (or click a panel after it)"),
    ("click a neuron", "inspect it (the Neuron inspector comes forward)"),
    ("click two edges", "make them the error-surface axes"),
    ("drag an edge up/down", "set that weight"), ("drag the surface point", "set both weights"),
    ("click a data point", "pin that sample"),
] + LECTURE_SHORTCUTS
OWN_KEYS_NOTE = ("These keys work wherever the keyboard focus is, except in a box you type into "
                 "(a number box of the controls): there Space, S, R, the arrow keys and Ctrl+Z "
                 "edit the number. A focused slider keeps its arrow keys, and the Graph panel, "
                 "once its tab is chosen or it is clicked, keeps →, ←, Home and End to step its "
                 "nodes. Return applies a typed number and leaves the box; so do Tab and a click "
                 "on the diagram.")


def speed_label(speed) -> str:
    return speed_text(speed, grouped=True)


class _KeepArrowsForSliders(QObject):
    """A focused slider keeps its arrow keys (the window's → means Step everywhere else)."""

    def eventFilter(self, obj, event) -> bool:
        if (event.type() == QEvent.ShortcutOverride and isinstance(obj, QAbstractSlider)
                and event.key() in (Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down)):
            event.accept()
        return False


class MainWindow(QMainWindow):
    # after every paint-timer tick and every paint Qt does of the window: a FrameTiming
    frameTimed = Signal(object)

    def __init__(self, config: Config | None = None, *, settings: QSettings | None = None,
                 start_worker: bool = True, worker_kw: dict | None = None):
        super().__init__()
        collect_garbage_on_gui_thread()        # before the training and surface threads start
        hand_the_lock_to_the_gui_sooner()
        self.setWindowTitle("bpviz — untitled[*] — backpropagation, visible")
        icon = RESOURCES / "bpviz.png"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.settings = settings or QSettings(SETTINGS_ORG, SETTINGS_APP)
        config = config or Config.preset("gaussian-clouds")
        self._painted: Snapshot | None = None     # the snapshot every panel shows
        # while training, which panel a paint tick updates (a test may give it its own clock)
        self.scheduler = PaintScheduler()
        self.questions: PacedQuestions | None = None    # with a training session: its questions
        self._tick_panels: list[tuple[str, float]] = []  # what the current tick showed
        self._pass_times: deque = deque(maxlen=120)     # (time, pass_count) for passes per second
        self.last_error = ""
        self._message_box: QMessageBox | None = None
        self._save_progress: QProgressDialog | None = None
        self._closing = False
        speed = self._remembered_speed()
        self.pace_name = self._remembered_pace()
        # the clock that times how long a phase played while training stays on screen (a test
        # may put its own here)
        self.clock = time.perf_counter
        self._held: tuple[int, float] | None = None      # (seq, since when) of a phase on show

        # playing slowly waits for this window's paint of each snapshot
        self.host = TrainingHost(config, self, **dict(worker_kw or {}, speed=speed,
                                                    pace=self.phase_pace(),
                                                    paced_by_paint=True))
        # the one model of the run on this side: configuration, snapshot, running, speed, focus
        # and document, fed by the host's events; panels read it and send commands through it
        self.run = RunModel(self.host, config, settings=self.settings, speed=speed, parent=self)
        # the focus every panel shows values for (one sample or the batch mean): the run's
        self.focus_model = self.run.focus
        # one sample first, whose numbers add up on screen, unless the user chose the mean before
        self.focus_model.set_mode(self._remembered_focus())
        self.network = NetworkView(focus=self.focus_model)
        self.surface = SurfaceView()
        self.cost = CostView()
        self.boundary = BoundaryView()
        self.controls = ControlsPanel(self.run)
        self.inspector = InspectorPanel()
        self.graph_view = GraphView()
        self.code = CodePanel()
        self.code.set_config(config)
        self.history = SnapshotHistory()
        self.timeline = TimelineBar(self.history)
        self.lessons = LessonsPanel(self)
        self._rewind_target: int | None = None
        self.panels: dict = {}       # name → (widget, frames a second, share): the painted panels
        self._view_note = ""         # what of an opened session's view did not fit, said once
        self._build_docks()
        self.help = HelpDesk(self, self.docks)     # "?" on every panel, Shift+F1, the glossary
        self._build_actions()
        self._build_status()
        self._build_focus_status()
        self._fill_recent_menu()
        self._connect()
        self.network.select_neuron(1, 0)       # the inspector starts on this neuron too
        self._arrow_filter = _KeepArrowsForSliders(self)
        QApplication.instance().installEventFilter(self._arrow_filter)
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._default_layout = True     # the default proportions, kept when the window resizes
        self._sizes_at_press = None
        self._restore_settings()
        self.lecture.restore()

        self.paint_timer = QTimer(self)
        self.paint_timer.setInterval(PAINT_INTERVAL_MS)
        self.paint_timer.timeout.connect(self._paint)
        self.paint_timer.start()
        if start_worker:
            self.host.start()
            # the inspector's numbers are computed by the training session, off this thread,
            # its questions paced while training (a big network's take a while to answer)
            self.questions = PacedQuestions(
                lambda request, done: self.run.ask("inspect", request, done=done))
            self.inspector.ask = lambda request, done: self.questions.ask(
                request, done, training=self.is_running())

    # -- construction ---------------------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        dock.dockLocationChanged.connect(self._layout_changed)
        dock.topLevelChanged.connect(self._layout_changed)
        return dock

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        """``widget`` in a scroll area, so that its panel can be shorter than all it holds (the
        Lessons and Graph panels share their tabs with the cost curve, under the diagram: at
        1280×720 their full heights would take the diagram's room)."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(widget)
        if widget.focusPolicy() != Qt.NoFocus:
            scroll.setFocusProxy(widget)      # its tab chosen: the panel's own keys work
        return scroll

    @Slot()
    def _layout_changed(self) -> None:
        self._default_layout = False

    def register_panel(self, name: str, title: str, widget: QWidget, *,
                       area=Qt.RightDockWidgetArea, painted: bool = True,
                       fps: float | None = None, share: float | None = None,
                       scrolled: bool = False, export=None) -> QDockWidget:
        """Add a panel to the window, in one call: its dock (``name`` is its object name and its
        key in :attr:`docks`), its entry in the View menu, and — when ``painted`` — its place on
        the paint timer: the widget's ``show_snapshot(snap)`` is called with the snapshot shown
        (while training at most ``fps`` times a second and within ``share`` of the GUI thread's
        time; the defaults suit a light panel), and ``ingest(snap)``, if it has one, with every
        snapshot that arrives. ``export``: a :class:`~bpviz.ui.export.export.PanelExport` for File →
        Export. Returns the dock."""
        if name in self.docks:
            raise ValueError(f"there is already a panel named {name!r}")
        dock = self._dock(title, name, self._scrolled(widget) if scrolled else widget, area)
        self.docks[name] = dock
        dock.visibilityChanged.connect(self._on_panel_visible)
        if painted:
            self.panels[name] = (widget,
                                 fps or TRAINING_PANEL_FPS.get(name, DEFAULT_PANEL_FPS),
                                 share or TRAINING_PANEL_SHARE.get(name, DEFAULT_PANEL_SHARE))
        if self.view_menu is not None:
            self.view_menu.insertAction(self._view_panels_end, dock.toggleViewAction())
        if export is not None:
            self.exporter.register(export)
        return dock

    def _build_docks(self) -> None:
        central = QWidget()
        central.setMaximumSize(0, 0)
        self.setCentralWidget(central)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.controls)
        scroll.setMinimumWidth(300)
        self.docks: dict[str, QDockWidget] = {}
        self.view_menu = None
        register = self.register_panel
        register("controls", "Controls", scroll, area=Qt.LeftDockWidgetArea, painted=False)
        register("network", "Network", self.network)
        register("boundary", "Decision boundary", self.boundary)
        register("surface", "Error surface", self.surface)
        register("cost", "Cost curve", self.cost)
        register("inspector", "Neuron inspector", self.inspector)
        register("graph", "Graph", self.graph_view, scrolled=True)
        register("code", "Code", self.code, area=Qt.LeftDockWidgetArea)
        register("lessons", "Lessons", self.lessons, area=Qt.LeftDockWidgetArea, painted=False,
                 scrolled=True)
        d = self.docks
        self.splitDockWidget(d["network"], d["boundary"], Qt.Horizontal)
        self.splitDockWidget(d["network"], d["cost"], Qt.Vertical)
        self.splitDockWidget(d["boundary"], d["surface"], Qt.Vertical)
        self.resizeDocks([d["controls"], d["network"], d["boundary"]], [300, 700, 480], Qt.Horizontal)
        self.resizeDocks([d["network"], d["cost"]], [560, 330], Qt.Vertical)
        self.resizeDocks([d["boundary"], d["surface"]], [450, 450], Qt.Vertical)
        self.tabifyDockWidget(d["cost"], d["inspector"])
        self.tabifyDockWidget(d["inspector"], d["graph"])
        self.tabifyDockWidget(d["controls"], d["code"])   # the program beside the diagram, tall
        self.tabifyDockWidget(d["inspector"], d["lessons"])     # Help → Lessons brings it out
        d["cost"].raise_()
        d["controls"].raise_()

    def _action(self, text, slot, shortcut=None, tip="") -> QAction:
        a = QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ApplicationShortcut)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        style = self.style()
        self._play_icon = style.standardIcon(QStyle.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.SP_MediaPause)
        self.play_action = self._action("Play", self.toggle_play, "Space",
                                        "Train continuously at the chosen speed (Space)")
        self.play_action.setIcon(self._play_icon)
        self.step_action = self._action("Step", self.step, ["S", "Right"],
                                        "One step of training (S or →): see Step by")
        self.step_action.setIcon(style.standardIcon(QStyle.SP_MediaSeekForward))
        self.reset_action = self._action("Reset", self.reset, "R",
                                         "Back to the initial weights of this seed (R)")
        self.reset_action.setIcon(style.standardIcon(QStyle.SP_BrowserReload))
        self.undo_action = self._action("Undo", self.undo, QKeySequence.Undo,
                                        "Bring back the training a reset or a new network set "
                                        "aside (Ctrl+Z)")
        self.undo_action.setEnabled(False)
        self.redo_action = self._action("Redo", self.redo, "Ctrl+Shift+Z",
                                        "Bring back the training Undo set aside (Ctrl+Shift+Z)")
        self.redo_action.setEnabled(False)
        open_csv = self._action("Open dataset CSV…", self.open_csv_dialog, QKeySequence.Open)
        self.exporter = Exporter(self)          # File → Export, right-click "Export…" on plots
        quit_action = self._action("Quit", self.close, "Ctrl+Q")

        open_session = self._action("Open session…", self.open_session_dialog, "Ctrl+Shift+O")
        self.save_action = self._action("Save session", self.save_session_quick, QKeySequence.Save)
        save_as = self._action("Save session as…", self.save_session_dialog, QKeySequence.SaveAs)

        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(open_csv)
        file_menu.addSeparator()
        file_menu.addAction(open_session)
        self.recent_menu = file_menu.addMenu("Open recent session")
        file_menu.addAction(self.save_action)
        file_menu.addAction(save_as)
        file_menu.addSeparator()
        file_menu.addMenu(self.exporter.menu)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self.file_menu = file_menu

        view = mb.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        self._view_panels_end = view.addSeparator()      # a panel registered later goes above
        view.addAction(self._action("Reset layout", self.reset_layout))
        self.view_menu = view
        self.lecture = LectureMode(self, self.settings, LAYOUT_VERSION)    # F11, Ctrl++, Ctrl+M
        self.lecture.add_to_menu(view)

        train = mb.addMenu("&Train")
        for a in (self.play_action, self.step_action, self.reset_action, self.undo_action,
                  self.redo_action):
            train.addAction(a)
        train.addSeparator()
        self.keep_action = self._action("Keep this run", self.keep_run, "Ctrl+K",
                                        "Keep this run's loss on the cost curve, labelled with "
                                        "what differs from the runs after it (Ctrl+K)")
        self.forget_kept_action = self._action("Forget kept runs", self.cost.forget_kept_runs)
        train.addAction(self.keep_action)
        train.addAction(self.forget_kept_action)
        self.train_menu = train

        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self._action("Lessons", self.lessons.open_lessons,
                                         tip="Short guided lessons on backpropagation"))
        help_menu.addAction(self._action("Keyboard shortcuts", self.show_shortcuts, "F1"))
        help_menu.addAction(self._action("What's This? (the focused panel)", self.help.whats_this,
                                         "Shift+F1"))
        help_menu.addAction(self._action("Glossary", self.help.show_glossary))
        help_menu.addAction(self._action("About bpviz", self.show_about))

        tb = self.addToolBar("Training")
        tb.setObjectName("training-toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        for a in (self.play_action, self.step_action, self.reset_action):
            tb.addAction(a)
        self.toolbar = tb
        self.speed_box = QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(speed_label(speed), speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(self.run.speed))
        self.speed_box.setToolTip(
            f"Passes per second while playing. At {SHOWN_AT} and below every pass is shown in "
            f"every panel; at {PHASED_AT}, unless Phases is off, each pass plays its phases on "
            f"the diagram at the pace Phases sets. 'max' trains as fast as the machine goes.")
        self.speed_box.currentIndexChanged.connect(self._on_speed)
        tb.addWidget(QLabel("  Speed: "))
        tb.addWidget(self.speed_box)
        tb.addWidget(QLabel(" passes/s"))
        self.pace_box = QComboBox()
        for name, seconds in PACES:
            self.pace_box.addItem(name, seconds)
            if seconds is not None:
                self.pace_box.setItemData(self.pace_box.count() - 1,
                                          f"each phase held {seconds:g} s", Qt.ToolTipRole)
        self.pace_box.setCurrentIndex(self.pace_box.findText(self.pace_name))
        self.pace_box.setToolTip(
            f"Phases: at {PHASED_AT} pass a second each pass plays its phases on the diagram — "
            f"forward through each layer, the loss, the deltas from the output back, the "
            f"gradients, the update — each held long enough to read its banner: "
            + ", ".join(f"{name} {seconds:g} s" for name, seconds in PACES if seconds)
            + ". A pass then takes as long as its phases. Off: passes play whole.")
        self.pace_box.currentIndexChanged.connect(self._on_pace)
        tb.addWidget(QLabel("  Phases: "))
        tb.addWidget(self.pace_box)
        tb.addSeparator()
        self.step_mode = QComboBox()
        for label, mode in STEP_MODES:
            self.step_mode.addItem(label, mode)
        self.step_mode.setCurrentIndex(self.step_mode.findData("pass"))
        self.step_mode.setToolTip("What Step does: one training sample (a pass and an update on "
                                  "the next sample alone, which is then pinned), one pass over the "
                                  "next mini-batch, one phase of a pass (forward through each "
                                  "layer, loss, deltas layer by layer, gradients, update), or the "
                                  "rest of the epoch")
        self.step_mode.currentIndexChanged.connect(self._on_step_mode)
        tb.addWidget(QLabel("  Step by: "))
        tb.addWidget(self.step_mode)
        tb.addSeparator()
        self.toolbar_info = QLabel()
        self.toolbar_info.setStyleSheet("padding-left: 8px; color: #334155;")
        tb.addWidget(self.toolbar_info)

        history_bar = QToolBar("History")
        history_bar.setObjectName("history-toolbar")
        history_bar.setMovable(False)
        history_bar.addWidget(self.timeline)
        self.addToolBar(Qt.BottomToolBarArea, history_bar)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.undo_bar = QWidget()
        row = QHBoxLayout(self.undo_bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.undo_label = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Bring the training back exactly as it was (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        row.addWidget(self.undo_label)
        row.addWidget(self.undo_button)
        self.undo_bar.hide()
        sb.addPermanentWidget(self.undo_bar)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self.undo_bar.hide)
        sb.addPermanentWidget(self.lessons.make_offer())     # "New to backprop? ..."
        self.status_labels = {k: QLabel() for k in ("epoch", "pass", "sample", "loss",
                                                     "accuracy", "speed")}
        for lab in self.status_labels.values():
            lab.setMinimumWidth(110)
            sb.addPermanentWidget(lab)
        self.status_labels["sample"].hide()         # after a one-sample step only
        self.status_labels["sample"].setToolTip(
            "The sample the step trained on: its loss at the weights before the update → at the "
            "weights after it")

    def _build_focus_status(self) -> None:
        self.focus_status = QLabel()
        self.focus_status.setToolTip("What the panels show values for (Values for, over the "
                                     "network diagram)")
        self.statusBar().addPermanentWidget(self.focus_status)
        self.inspector.bind_focus(self.focus_model)
        self.graph_view.bind_focus(self.focus_model)
        self.focus_model.changed.connect(self._on_focus_changed)
        self.focus_model.changed.connect(self._remember_focus)
        self.focus_model.changed.connect(self.lessons.refresh)     # its note on the focus
        self._on_focus_changed()

    @Slot(bool)
    def _on_panel_visible(self, visible: bool) -> None:
        """A panel shown again (reopened, its tab chosen, Reset layout) was not fed while hidden:
        the next paint gives every visible panel the snapshot on screen, even while paused."""
        if visible:
            self._painted = None

    @Slot()
    def _on_focus_changed(self) -> None:
        """Every panel shows the new focus at the next paint."""
        self._show_focus_status(self.timeline.shown() or self.latest)
        self._painted = None

    def _remembered_focus(self) -> str:
        value = str(self.settings.value("focus", FOCUS_SAMPLE))
        return value if value in FOCUS_MODES else FOCUS_SAMPLE

    @Slot()
    def _remember_focus(self) -> None:
        """The focus the user chose comes back at the next start; a lesson's does not."""
        if not self.lessons.is_active():
            self.settings.setValue("focus", self.focus_model.mode)

    def _show_focus_status(self, snap: Snapshot | None) -> None:
        """"values for: sample 3 (ℓ 0.1234)" — the sample's loss at the weights its values were
        computed at — or "values for: batch mean"."""
        text = f"values for: {self.focus_model.words()}"
        sample = snap.sample if snap is not None else None
        if self.focus_model.is_sample() and sample is not None:
            text = f"values for: sample {sample.index} (ℓ {style.format_loss(sample.loss)})"
        self.focus_status.setText(text)

    def set_focus(self, mode: str) -> None:
        """"sample" (the pinned sample) or "mean": what every panel shows values for."""
        self.focus_model.set_mode(mode)

    def _connect(self) -> None:
        run, h = self.run, self.host
        run.snapshotArrived.connect(self._on_snapshot)
        run.failed.connect(self._on_failed)
        run.rebuilt.connect(self._on_rebuilt)
        run.saved.connect(self._on_saved)
        run.documentChanged.connect(self._on_document)
        run.runningChanged.connect(self._show_running)
        h.undoChanged.connect(self._on_undo_changed)
        h.redoChanged.connect(self._on_redo_changed)
        h.stalled.connect(self._on_stalled)
        self.controls.configChanged.connect(self._on_config_changed)
        self.controls.hyperChanged.connect(self._on_hyper)
        self.network.parametersEdited.connect(self.set_parameters)
        self.network.surfaceAxesChosen.connect(self.surface.set_axes)
        self.network.neuronClicked.connect(self._on_neuron_clicked)
        self.network.neuronSelected.connect(self.inspector.select_neuron)
        self.network.neuronSelected.connect(self.graph_view.select_neuron)
        self.docks["graph"].visibilityChanged.connect(self._on_graph_visible)
        self.docks["code"].visibilityChanged.connect(self._on_code_visible)
        self.network.neuronClicked.connect(self.code.select_neuron)
        self.network.edgeClicked.connect(self.code.select_edge)
        self.network.neuronClicked.connect(self._on_diagram_neuron)
        self.network.edgeClicked.connect(self._on_diagram_edge)
        self.code.lineChosen.connect(self._on_code_line)
        self.inspector.neuronChosen.connect(self.select_neuron)
        self.inspector.sampleChanged.connect(self.pin_sample)
        self.docks["inspector"].visibilityChanged.connect(self._on_inspector_visible)
        self.surface.parametersDragged.connect(self.set_parameters)
        self.boundary.samplePicked.connect(self.pin_sample)
        self.timeline.scrubbed.connect(self._on_scrubbed)
        self.timeline.rewindRequested.connect(self.rewind)

    # -- commands -------------------------------------------------------------------------------

    @Slot()
    def toggle_play(self) -> None:
        if self.is_running():
            self.pause()
        else:
            self.play()

    def is_running(self) -> bool:
        return self.run.running

    # what the window shows of the run, read from the run model (it keeps no copy)
    config = property(lambda self: self.run.config, doc="The configuration in force.")
    dataset = property(lambda self: self.run.dataset, doc="The dataset in force.")
    latest = property(lambda self: self.run.latest, doc="The newest snapshot.")
    speed = property(lambda self: self.run.speed,
                     doc="Passes per second while playing (None: max).")
    session_path = property(lambda self: self.run.path,
                            doc="The session file of the run (None: untitled).")

    @Slot()
    def play(self) -> None:
        self.controls.flush()
        self.run.send(Play())

    @Slot()
    def pause(self) -> None:
        self.run.send(Pause())

    @Slot()
    def step(self) -> None:
        self.controls.flush()
        self.run.send(Step())

    @Slot()
    def reset(self) -> None:
        self.run.send(Reset())

    @Slot()
    def undo(self) -> None:
        self.run.send(Undo())

    @Slot()
    def redo(self) -> None:
        self.run.send(Redo())

    @Slot(bool)
    def _show_running(self, running: bool) -> None:
        self.play_action.setText("Pause" if running else "Play")
        self.play_action.setIcon(self._pause_icon if running else self._play_icon)
        self.play_action.setStatusTip("Pause training (Space)" if running else
                                      "Train continuously at the chosen speed (Space)")

    def _remembered_speed(self):
        try:
            speed = parse_speed(self.settings.value("speed", DEFAULT_SPEED))
        except ValueError:
            return DEFAULT_SPEED
        return speed if speed in SPEEDS else DEFAULT_SPEED

    @Slot(int)
    def _on_speed(self, _index: int) -> None:
        speed = self.speed_box.currentData()
        self.settings.setValue("speed", speed_label(speed).replace(",", ""))
        self.run.send(SetSpeed(speed))
        self._painted = None

    def set_speed(self, speed) -> None:
        """Passes per second while playing (None: max), as the toolbar's Speed box sets it."""
        self.speed_box.setCurrentIndex(SPEEDS.index(speed))

    def shows_every_pass(self) -> bool:
        """Slow enough that every snapshot is shown in every panel as it arrives."""
        return self.speed is not None and self.speed <= SHOWN_AT

    def _remembered_pace(self) -> str:
        value = str(self.settings.value("phasePace", DEFAULT_PACE))
        return value if value in dict(PACES) else DEFAULT_PACE

    def set_pace(self, name: str) -> None:
        """The Phases box's pace by name ("off", "slow", ...), as the box sets it."""
        self.pace_box.setCurrentIndex(self.pace_box.findText(name))

    def phase_pace(self) -> float | None:
        """Seconds each phase is held while playing phases (None: Phases is off)."""
        return dict(PACES)[self.pace_name]

    @Slot(int)
    def _on_pace(self, _index: int) -> None:
        self.pace_name = self.pace_box.currentText()
        self.settings.setValue("phasePace", self.pace_name)
        self.run.send(SetPace(self.phase_pace()))
        if self.phase_pace() is not None and (self.speed is None or self.speed > PHASED_AT):
            self.statusBar().showMessage(f"phases play at Speed {PHASED_AT} (a pass a second or "
                                         f"slower)", 8000)
        self._release_phase()
        if self._painted is not None:
            self._update_status(self._painted)

    @Slot(str)
    def _on_stalled(self, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 10000)

    @Slot(object)
    def _on_undo_changed(self, offer) -> None:
        """``offer``: (what was reset, the training Undo brings back), or None."""
        self.undo_action.setEnabled(offer is not None)
        if offer is not None:
            what, training = offer
            self.undo_action.setText(f"Undo {what}: back to {training}")
            self.undo_label.setText(f"{training} set aside")
            self.undo_bar.show()
            self._undo_timer.start(UNDO_SHOWN_MS)
        else:
            self.undo_action.setText("Undo")
            self.undo_bar.hide()

    @Slot(object)
    def _on_redo_changed(self, offer) -> None:
        """``offer``: (what Undo undid, the training Redo brings back), or None."""
        self.redo_action.setEnabled(offer is not None)
        self.redo_action.setText("Redo" if offer is None else
                                 f"Redo {offer[0]}: back to {offer[1]}")

    @Slot(object)
    def _on_scrubbed(self, snap) -> None:
        """Show an earlier snapshot in every panel (training pauses), or the newest again."""
        if snap is not None and self.is_running():
            self.pause()
        self._painted = None

    @Slot(int)
    def rewind(self, seq: int) -> None:
        """Restore the training state of snapshot ``seq`` and continue from there."""
        self._rewind_target = seq
        self.run.send(Rewind(seq))
        self.timeline.go_live()

    @Slot(int)
    def _on_step_mode(self, _index: int) -> None:
        self.run.send(SetStepMode(self.step_mode.currentData()))

    def set_step_mode(self, mode: str) -> None:
        """"sample", "pass", "phase" or "epoch": what Step does."""
        self.step_mode.setCurrentIndex(self.step_mode.findData(mode))

    @Slot(object)
    def set_parameters(self, changes) -> None:
        """Set weights or biases [(kind, layer, i, j, value), ...], paused or running."""
        self.run.send(SetParameters(tuple(changes)))

    @Slot(int)
    def pin_sample(self, index: int) -> None:
        """Pin training sample ``index``; the focus becomes that sample."""
        self.focus_model.set_sample(index)
        self.boundary.set_pinned(index)
        self.inspector.set_pinned(index)
        self.run.send(Pin(index))

    def select_neuron(self, layer: int, index: int) -> None:
        """Select a neuron as a click in the diagram does (the diagram emits neuronSelected)."""
        self.network.select_neuron(layer, index)

    @Slot(bool)
    def _on_inspector_visible(self, visible: bool) -> None:
        snap = self.timeline.shown() or self.latest
        if visible and snap is not None:
            self.inspector.show_snapshot(snap)      # it was not fed while hidden

    @Slot(bool)
    def _on_graph_visible(self, visible: bool) -> None:
        if visible:
            self.graph_view.take_focus_soon()      # its keys work without a click first
        snap = self.timeline.shown() or self.latest
        if visible and snap is not None:
            self.graph_view.show_snapshot(snap)     # it was not fed while hidden

    @Slot(bool)
    def _on_code_visible(self, visible: bool) -> None:
        snap = self.timeline.shown() or self.latest
        if visible and snap is not None:
            self.code.show_snapshot(snap)           # it was not fed while hidden

    @Slot(object)
    def _on_code_line(self, mark) -> None:
        """A line clicked in the Code panel: what it computes, emphasised on the diagram."""
        self.network.emphasise(mark.layer, mark.part)

    @Slot(int, int)
    def _on_diagram_neuron(self, _layer: int, _index: int) -> None:
        self.network.emphasise(None)                # the ring shows the choice

    @Slot(int, int, int)
    def _on_diagram_edge(self, _wi: int, _i: int, _j: int) -> None:
        self.network.emphasise(None)                # the edge strip and its halo show it

    @Slot(int, int)
    def _on_neuron_clicked(self, layer: int, index: int) -> None:
        """A click on a neuron (the selected one too) brings the inspector forward on it, unless
        the Graph panel is in view: it follows the click itself."""
        self.statusBar().showMessage(f"selected neuron {index} of layer {layer}", 4000)
        if not self.docks["graph"].visibleRegion().isEmpty():
            return
        dock = self.docks["inspector"]
        dock.show()
        dock.raise_()

    def run_settings(self) -> dict:
        """The configuration in force as plain values, with the live settings the newest
        snapshot trained with (a learning rate changed while playing)."""
        settings = self.config.to_dict()
        snap = self.latest
        if snap is not None:
            settings.update(lr=snap.lr, momentum=snap.momentum, batch_size=snap.batch_size,
                            l2=snap.l2, optimizer=snap.optimizer)
        return settings

    @Slot()
    def keep_run(self) -> None:
        """Keep the run's loss curve on the cost plot (:meth:`CostView.keep_run`)."""
        try:
            label = self.cost.keep_run(self.run_settings())
        except ValueError as e:
            self.statusBar().showMessage(f"Keep this run: {e}", 6000)
            return
        dock = self.docks["cost"]
        dock.show()
        dock.raise_()
        self.statusBar().showMessage(f"kept this run on the cost curve as “{label}”", 6000)

    @Slot(object)
    def _on_config_changed(self, config: Config) -> None:
        self.run.send(Rebuild(config))

    @Slot(object)
    def _on_hyper(self, values: dict) -> None:
        self.run.send(SetHyper(values))

    def load_csv(self, path: str) -> bool:
        """Load a CSV file as the dataset; on bad input say why and change nothing."""
        try:
            data = load_csv(path)   # validate here, so the message names the file at once
        except BpvizError as e:
            self.show_error("Cannot open this dataset", str(e))
            return False
        cfg = replace(self.controls.config(), dataset="csv", data_file=str(path), label=None,
                      noise=None, n_samples=None, test_fraction=0.2, standardize=True)
        cfg.hidden = cfg.hidden or (8,)
        # an output that fits the data: class labels → softmax, numeric targets → linear
        output = "softmax" if data.is_classification else "linear"
        if cfg.output != output and not (data.is_classification and cfg.output == "sigmoid"):
            cfg.output = output
            kind = "class labels" if data.is_classification else "numeric targets (regression)"
            self.statusBar().showMessage(f"{Path(path).name} has {kind}: {output} output", 8000)
        self.controls.show_dataset(data)
        self.controls.set_config(cfg, csv_label=Path(path).name)
        self.run.send(Rebuild(cfg))
        return True

    # -- worker events --------------------------------------------------------------------------

    @Slot(object)
    def _on_snapshot(self, snap: Snapshot) -> None:
        self.scheduler.arrived()
        for widget, _fps, _share in self.panels.values():
            ingest = getattr(widget, "ingest", None)     # a panel that accumulates
            if ingest is not None:
                ingest(snap)
        self.surface.take_trajectory(snap)
        if snap.message:            # every message, also from a snapshot never painted
            self.statusBar().showMessage(snap.message + self._view_note, 8000)
            self._view_note = ""
        if snap.rewound_to is not None and self._rewind_target is not None:
            self.history.truncate_after(self._rewind_target)
            self._rewind_target = None
        self.history.append(snap)
        if snap.stepped_sample is not None:       # show the sample the step trained on
            self.pin_sample(snap.stepped_sample)
        self.timeline.refresh()
        self.setWindowModified(self.is_modified())
        if snap.diverged and not snap.running:
            self.show_error("Training diverged", snap.diverged)
        if snap.running and self.timeline.shown() is None:
            self._paint()              # a panel that is due shows it now, not at the next tick

    @Slot(object)
    def _on_failed(self, failure: Failed) -> None:
        """A request that could not be carried out changed nothing: say why, and show the
        configuration in force again (a setting typed for it goes back)."""
        self.show_error("Cannot apply this change", failure.why)
        self.controls.set_config(self.run.config)

    @Slot(object)
    def _on_rebuilt(self, event) -> None:
        config, dataset, extra = event.config, event.dataset, event.extra
        # a reset or a changed setting on the same data: the run that ends stays drawn, faded
        keep = self.run.same_data()
        self.controls.set_config(config)
        self.controls.show_dataset(dataset)
        self.cost.clear(keep_previous=keep)
        self.cost.label_runs(config.to_dict())     # kept runs: what differs from this one
        self.surface.new_run(keep)
        self.history.clear()
        self.timeline.refresh()
        self.boundary.set_dataset(dataset)
        self.surface.set_dataset(dataset)
        self.inspector.set_dataset(dataset)
        self.code.set_config(config)
        self.code.set_training_size(len(dataset.X_train))
        self._pass_times.clear()
        if extra is not None:              # a session: the selections it kept
            self._apply_session_extra(extra)

    # -- sessions ---------------------------------------------------------------------------------

    def session_extra(self) -> dict:
        """What the window adds to a session file: the selections a user made."""
        axes = self.surface.axes()
        return {"selected_neuron": list(self.network.selected_neuron() or ()),
                "pinned_sample": self.boundary.pinned(),
                "surface_mode": self.surface.mode(),
                "surface_axes": [[a.kind, a.layer, a.i, a.j] for a in axes] if axes else None,
                "step_mode": self.step_mode.currentData(),
                "focus": self.focus_model.mode,
                **view_state.capture(self, LAYOUT_VERSION)}

    def _apply_session_extra(self, extra: dict) -> None:
        try:
            neuron = extra.get("selected_neuron")
            if neuron:
                self.select_neuron(int(neuron[0]), int(neuron[1]))
            axes = extra.get("surface_axes")
            if extra.get("surface_mode") == "weights" and axes:
                self.surface.set_axes([("W" if k == "weight" else "b", l, i, j)
                                       for k, l, i, j in axes])
            elif extra.get("surface_mode") in ("random", "pca"):
                self.surface.set_mode(extra["surface_mode"])
            if isinstance(extra.get("pinned_sample"), int):
                self.pin_sample(extra["pinned_sample"])
            if extra.get("focus") in FOCUS_MODES:      # none kept: the focus stays as it is
                self.set_focus(extra["focus"])
            if extra.get("step_mode") in [mode for _, mode in STEP_MODES]:
                self.set_step_mode(extra["step_mode"])
        except (ValueError, TypeError, IndexError):
            self.statusBar().showMessage("the session's selections did not fit; kept the defaults",
                                         5000)
        refused = view_state.apply(self, extra, LAYOUT_VERSION, dict(PACES))
        # said with the message that the session is open, which follows
        self._view_note = (f"; its {', '.join(refused)} did not fit this window and stayed as "
                           f"they were" if refused else "")

    def is_modified(self) -> bool:
        """True when training moved on (or weights changed) since the session was saved/opened."""
        return self.run.is_modified()

    def confirm_discard(self, action: str) -> bool:
        """Ask before losing unsaved training; True when it may go ahead."""
        if not self.is_modified():
            return True
        answer = QMessageBox.question(
            self, "Unsaved training",
            f"The training so far is not saved in a session. {action} anyway?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save_session_dialog(wait=True)
        return answer == QMessageBox.Discard

    def open_session(self, path: str) -> None:
        """Open a session file; a file that cannot be used is refused and nothing changes (not
        even whether training plays: the training session pauses once it has opened it)."""
        self.run.send(OpenSession(path))

    def save_session(self, path: str) -> str:
        """Save the session (written atomically by the worker, which owns the trainer); returns
        the path it is saved to."""
        path = str(path)
        if not path.endswith(".bpviz"):
            path += ".bpviz"
        self.run.send(SaveSession(path, self.session_extra()))
        return path

    def save_and_wait(self, path: str) -> bool:
        """Pause, save the session and wait until it is on disk, showing progress while the
        window goes on (there is no time limit: a slow disk is waited for). True once saved;
        False when it failed (the window says why) or the wait was cancelled."""
        self.pause()
        target = str(path) if str(path).endswith(".bpviz") else f"{path}.bpviz"
        outcome: dict = {}
        loop = QEventLoop(self)
        progress = QProgressDialog(f"Saving the session to {target}…", "Cancel", 0, 0, self)
        progress.setWindowTitle("Saving the session")
        progress.setWindowModality(Qt.WindowModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        progress.setAutoReset(False)

        def on_saved(event):
            if event.path == target:
                outcome["saved"] = True
                loop.quit()

        def on_failed(failure):
            if isinstance(failure.request, SaveSession) and failure.request.path == target:
                outcome["failed"] = failure.why
                loop.quit()
        self.run.saved.connect(on_saved)
        self.run.failed.connect(on_failed)
        progress.canceled.connect(loop.quit)
        self._save_progress = progress
        try:
            self.save_session(target)
            progress.show()
            loop.exec()
        finally:
            self._save_progress = None
            self.run.saved.disconnect(on_saved)
            self.run.failed.disconnect(on_failed)
            progress.close()
            progress.deleteLater()
        if outcome.get("saved"):
            return True
        if "failed" not in outcome:
            self.statusBar().showMessage(f"still saving {target}: nothing else was done", 10000)
        return False

    def save_progress(self) -> QProgressDialog | None:
        """The progress of a save the window waits for, while it shows."""
        return self._save_progress

    @Slot(object)
    def _on_saved(self, event) -> None:
        self.statusBar().showMessage(f"saved {event.path}", 5000)

    @Slot()
    def open_session_dialog(self) -> None:
        if not self.confirm_discard("Open another session"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "",
                                              "bpviz sessions (*.bpviz);;All files (*)")
        if path:
            self.open_session(path)

    @Slot()
    def save_session_quick(self) -> None:
        if self.session_path:
            self.save_session(self.session_path)
        else:
            self.save_session_dialog()

    @Slot()
    def save_session_dialog(self, wait: bool = False) -> bool:
        """Ask where, then save; with ``wait``, only True once the session is on disk."""
        path, _ = QFileDialog.getSaveFileName(self, "Save session", self.session_path or
                                              "session.bpviz", "bpviz sessions (*.bpviz)")
        if not path:
            return False
        if wait:
            return self.save_and_wait(path)
        self.save_session(path)
        return True

    @Slot()
    def _on_document(self) -> None:
        """The document changed (saved, opened, a new network): the title and File → Open
        recent session show it."""
        self._fill_recent_menu()
        self._update_title()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.run.recent()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        self.recent_menu.setEnabled(bool(recent))

    def _open_recent(self, path: str) -> None:
        if self.confirm_discard("Open another session"):
            self.open_session(path)

    def _update_title(self) -> None:
        name = self.run.title_name()
        self.setWindowTitle(f"bpviz — {name}[*] — backpropagation, visible")
        self.setWindowModified(self.is_modified())

    def show_error(self, title: str, message: str) -> None:
        """A non-blocking message box and a status line; training state is untouched."""
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        if self._message_box is not None:
            self._message_box.close()
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self._message_box = box

    # -- painting -------------------------------------------------------------------------------

    def _panels(self):
        return [(name, widget) for name, (widget, _fps, _share) in self.panels.items()]

    @Slot()
    def _paint(self) -> None:
        started = time.perf_counter()
        if self.questions is not None:
            self.questions.tick(self.is_running())
        self._tick_panels = []
        shown = self._paint_tick()
        self.frameTimed.emit(FrameTiming(TICK, started, time.perf_counter(),
                                         None if shown is None else shown.seq,
                                         tuple(self._tick_panels)))

    def _paint_tick(self) -> Snapshot | None:
        """Show what is due; returns the snapshot given to panels, if any."""
        snap = self.timeline.shown() or self.latest
        if snap is None:
            return None
        if snap is self._painted:
            self._release_phase()
            return None
        if snap.running and snap is self.latest and not self.shows_every_pass():
            return self._paint_training(snap)
        previous, self._painted = self._painted, snap
        # a phase of a pass being walked changes what the diagram and the inspector show; the
        # weights, and so the other panels, change with its last phase, the update
        walking = (snap.phase is not None and snap.phase.kind != UPDATE and previous is not None
                   and previous.pass_count == snap.pass_count and snap is self.latest)
        for name, panel in self._panels():
            if panel.isVisible() and not (walking and name in ("surface", "cost", "boundary")):
                self._show_panel(name, panel, snap)
        self.scheduler.forget()
        self._update_status(snap)
        if snap.running and snap.phase is not None and snap is self.latest \
                and self.phase_pace() is not None:
            self._held = (snap.seq, self.clock())      # shown for the pace, then the next
        else:
            self._held = None
            self.host.painted(snap.seq)
        return snap

    def _release_phase(self) -> None:
        """A phase played while training stays on screen for the pace: only then does the
        session hear that it was painted, and send the next phase."""
        if self._held is None:
            return
        seq, since = self._held
        pace = self.phase_pace()
        if pace is None or not self.is_running() or self.clock() - since >= pace:
            self._held = None
            self.host.painted(seq)

    def _paint_training(self, snap: Snapshot) -> Snapshot | None:
        """One panel, the most overdue, then the status bar if its time has come."""
        panels = dict(self._panels())
        name = self.scheduler.choose(snap, [n for n, p in panels.items() if p.isVisible()])
        if name is not None:
            self._show_panel(name, panels[name], snap, training=True)
        if self.scheduler.status_due():
            self._update_status(snap)
        return snap if name is not None else None

    def _show_panel(self, name: str, panel, snap: Snapshot, training: bool = False) -> float:
        """Give ``snap`` to a panel; returns the smoothed seconds an update of it takes."""
        clock = self.scheduler.clock
        t0 = clock()
        panel.show_snapshot(snap)
        took = clock() - t0
        self._tick_panels.append((name, took))
        _widget, fps, share = self.panels[name]
        return self.scheduler.shown(name, snap, took, training, fps=fps, share=share)

    def _update_status(self, snap: Snapshot) -> None:
        now = time.perf_counter()
        self._pass_times.append((now, snap.pass_count))
        while len(self._pass_times) > 2 and now - self._pass_times[0][0] > 2.0:
            self._pass_times.popleft()
        (t0, p0), (t1, p1) = self._pass_times[0], self._pass_times[-1]
        speed = (p1 - p0) / (t1 - t0) if t1 > t0 and snap.running else 0.0
        s = self.status_labels
        s["epoch"].setText(f"epoch {snap.epoch}")
        s["pass"].setText(style.pass_words(snap))
        self._status_losses(snap)
        pace = self.phase_pace()
        if snap.running and snap.phase is not None and pace is not None:
            # a pass takes as long as its phases: the rate is the pace's
            s["speed"].setText(f"{1 / (snap.phase.total * pace):.2g} passes/s · "
                               f"{pace:g} s a phase")
        else:
            s["speed"].setText(f"{speed:,.0f} passes/s" if snap.running else "paused")
        self._show_focus_status(snap)
        sizes = "-".join(str(n) for n in snap.sizes)
        batch = "full batch" if snap.batch_size <= 0 else f"batch {snap.batch_size}"
        self.toolbar_info.setText(f"{sizes}  ·  {' / '.join(snap.activations)}  ·  η = {style.format_value(snap.lr)}"
                                  f"  ·  {batch}")

    def _status_losses(self, snap: Snapshot) -> None:
        """The training loss and accuracy at the snapshot's weights, and after a one-sample step
        that sample's loss before and after it."""
        s = self.status_labels
        # "now": the whole training set's loss at the weights after the pass (the History strip
        # shows the pass's batch loss, before its update)
        s["loss"].setText(f"training loss now {style.format_loss(snap.train_loss_now)}")
        acc = snap.train_accuracy_now
        s["accuracy"].setText("training accuracy —" if math.isnan(acc)
                              else f"training accuracy {acc:.3f}")
        s["accuracy"].setVisible(snap.task == "classification")
        where = ("the current weights" if snap.train_now_pass == snap.pass_count
                 else f"the weights of pass {snap.train_now_pass:,} (training runs faster than "
                      f"it is measured)")
        for name in ("loss", "accuracy"):
            s[name].setToolTip(f"The whole training set's {name} at {where}")
        stepped = snap.stepped_losses
        s["sample"].setVisible(stepped is not None)
        if stepped is not None:
            index, before, after = stepped
            s["sample"].setText(f"sample {index}: loss {style.format_loss(before)} → "
                                f"{style.format_loss(after)}")

    def paint_now(self) -> None:
        """Paint the newest snapshot immediately (tests and the snapshot command)."""
        self._paint()

    # -- files, drops, dialogs ------------------------------------------------------------------

    @Slot()
    def open_csv_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open dataset CSV", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.load_csv(path)

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().lower().endswith((".csv", ".bpviz")):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A dropped CSV file becomes the dataset; a dropped session file is opened."""
        urls = event.mimeData().urls()
        if not urls:
            return
        path = urls[0].toLocalFile()
        event.acceptProposedAction()
        if path.lower().endswith(".bpviz"):
            if self.confirm_discard("Open this session"):
                self.open_session(path)
        else:
            self.load_csv(path)

    @Slot()
    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        self._open_box(QMessageBox.Information, "Keyboard shortcuts",
                       f"<table>{rows}</table><p>{OWN_KEYS_NOTE}</p>")

    def _open_box(self, icon, title: str, text: str) -> QMessageBox:
        """A window-modal message that does not block the event loop (training goes on)."""
        box = QMessageBox(icon, title, text, QMessageBox.Ok, self)
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self._message_box = box
        return box

    @Slot()
    def show_about(self) -> None:
        self._open_box(QMessageBox.Information, "About bpviz",
                       f"<h3>bpviz {__version__}</h3><p>Backpropagation, visible: the error "
                       f"signal on every edge, the delta on every neuron, the error surface and "
                       f"the cost curve, after every backward pass.</p>")

    # -- layout and lifecycle -------------------------------------------------------------------

    @Slot()
    def reset_layout(self) -> None:
        self.lecture.forget_maximised()
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state, LAYOUT_VERSION)
        self.apply_default_proportions()
        # the dock layout settles on the next pass of the event loop: apply them once more then
        QTimer.singleShot(0, self.apply_default_proportions)

    @Slot()
    def apply_default_proportions(self) -> None:
        """Size the panels to the default shares of the window as it is now (see
        ``DEFAULT_COLUMNS``); kept through window resizes until a panel is moved or a separator
        dragged."""
        if self._closing:
            return
        d = self.docks
        width = max(1, self.width())
        height = max(1, self.height())
        columns = [round(width * share) for share in DEFAULT_COLUMNS]
        self.resizeDocks([d["controls"], d["network"], d["boundary"]], columns, Qt.Horizontal)
        self.resizeDocks([d["network"], d["cost"]],
                         [round(height * DEFAULT_NETWORK_ROW),
                          round(height * (1 - DEFAULT_NETWORK_ROW))], Qt.Vertical)
        self.resizeDocks([d["boundary"], d["surface"]], [height // 2, height // 2], Qt.Vertical)
        self._default_layout = True

    def keep_layout(self) -> None:
        """Keep the panels' sizes as they are now (a layout restored from a session) through
        window resizes, as after a separator dragged."""
        self._default_layout = False

    def has_default_layout(self) -> bool:
        """Whether the panels keep the default proportions (no separator dragged, no panel
        moved since the start or the last View → Reset layout)."""
        return self._default_layout

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._default_layout:
            QTimer.singleShot(0, self.apply_default_proportions)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._default_layout and self.isVisible():
            QTimer.singleShot(0, self.apply_default_proportions)

    def event(self, event) -> bool:
        # a separator between panels belongs to the window itself: a drag there is the
        # learner's own layout, which window resizes then keep
        kind = event.type()
        if kind == QEvent.MouseButtonPress:
            self._sizes_at_press = self._dock_sizes()
        if kind == QEvent.UpdateRequest:
            # the backing-store sync: every dirty widget's paintEvent runs inside it
            started = time.perf_counter()
            result = super().event(event)
            self.frameTimed.emit(FrameTiming(PAINT, started, time.perf_counter()))
            return result
        result = super().event(event)
        if kind == QEvent.MouseButtonRelease and self._sizes_at_press is not None:
            if self._dock_sizes() != self._sizes_at_press:
                self._default_layout = False
            self._sizes_at_press = None
        return result

    def _dock_sizes(self) -> list:
        return [dock.size().toTuple() for dock in self.docks.values()]

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("windowState")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1560, 960)
        if isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION):
            self._default_layout = False

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.lecture.layout_to_save()
                               or self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop the paint timer and join every thread; safe to call twice."""
        if self._closing:
            return
        self._closing = True
        self.paint_timer.stop()
        QApplication.instance().removeEventFilter(self._arrow_filter)
        self.host.stop(threads_s=STOP_WAIT_S)
        if self.host.alive():             # a long pass: waited for, never left running
            self._wait_for_training()
        self.host.stop()
        self.surface.stop()
        self.network.stop()

    def _wait_for_training(self) -> None:
        """Show that closing waits for training to finish the work in hand, and wait."""
        progress = QProgressDialog("Waiting for training to finish the pass in progress…",
                                   None, 0, 0, self)
        progress.setWindowTitle("Closing")
        progress.setWindowModality(Qt.WindowModal)
        progress.setMinimumDuration(0)
        progress.show()
        loop = QEventLoop(self)
        timer = QTimer(self)
        timer.setInterval(50)
        timer.timeout.connect(lambda: self.host.alive() or loop.quit())
        timer.start()
        loop.exec()
        timer.stop()
        progress.close()
        progress.deleteLater()

    def closeEvent(self, event) -> None:
        if self._save_progress is not None or (self._closing and self.host.alive()):
            event.ignore()              # already saving, or waiting for training, to close
            return
        if not self._closing and not self.confirm_discard("Quit"):
            event.ignore()
            return
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)
