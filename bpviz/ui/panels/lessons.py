"""The Lessons panel: guided lessons that set the window up, explain one idea with its live
numbers, frame the panel that shows it, and notice when the learner has done the lesson's task.

The lessons themselves are files (see :mod:`bpviz.lessons`). While the lessons are open the
learner's own state is kept aside: their session (configuration, weights, optimizer state and
history) is saved to a temporary file before the first lesson changes anything and opened again
when they leave, and the speed, the step mode, what the diagram shows and the layout of the panels
are put back as they were. Undo and Redo never cross into or out of a lesson: each lesson's runs
are its own, and the learner's come back with their network. Progress (which lessons are done, the last one open) and a dismissed
first-launch offer are remembered in the window's settings.

Lesson files may come from a teacher's folder: their text is shown as text. The Markdown goes
through :func:`~bpviz.ui.plotting.safe_text.safe_html` (no image, link or raw HTML reaches Qt, which would
read the file it names), and the title, task and "done" words are plain text.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFrame, QHBoxLayout, QLabel, QPushButton,
                               QScrollArea, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from ...lessons import (QUANTITIES, Context, Lesson, Observed, all_done, last_history_row,
                       lesson_config, load_lessons, placeholders, render)
from ...messages import OpenSession, Rebuild, SaveSession, UndoScope
from ..window.run_model import RECENT_KEY, recent_sessions
from ..plotting.safe_text import safe_html, to_plain
from ...engine.vocabulary import PANELS, nearest_speed, parse_speed, speed_text

FRAME_COLOR = QColor("#f59e0b")
# the numbers a lesson quotes for the pinned sample (the rest are the batch's or the network's)
SAMPLE_QUANTITIES = frozenset(name for name, (what, _) in QUANTITIES.items()
                              if "pinned sample" in what or name in ("fprime", "back_sum"))
FRAME_WIDTH = 4
LESSONS_WIDTH = 380            # the width the lessons' column gets when they open
POLL_MS = 300                  # a lesson open: its numbers are looked at again this often
REFRESH_MS = 100               # while training, the lesson's numbers are redrawn at most this often
CONTROL_WIDGETS = {"batch_size": "batch"}    # a control's name → its ControlsPanel attribute
DONE_KEY, CURRENT_KEY, OFFER_KEY = "lessons/done", "lessons/current", "lessons/offerDismissed"
KEPT_KEY = "lessons/keptSession"   # the learner's session while the lessons are open
KEPT_SPEED_KEY = "lessons/keptSpeed"   # and their speed (the session does not hold it)


class PanelFrame(QWidget):
    """A coloured frame drawn over a dock (mouse input passes through it)."""

    def __init__(self, dock: QDockWidget):
        super().__init__(dock)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WA_NoSystemBackground)
        self.dock = dock
        dock.installEventFilter(self)
        self._fit()
        self.show()
        self.raise_()

    def _fit(self) -> None:
        self.setGeometry(self.dock.rect())

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.Resize, QEvent.Show, QEvent.LayoutRequest):
            self._fit()
            self.raise_()
        return False

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        pen = QPen(FRAME_COLOR, FRAME_WIDTH)
        p.setPen(pen)
        half = FRAME_WIDTH / 2
        p.drawRoundedRect(self.rect().adjusted(half, half, -half, -half), 4, 4)

    def remove(self) -> None:
        self.dock.removeEventFilter(self)
        self.hide()
        self.deleteLater()


@dataclass
class _Kept:
    """The learner's own state while the lessons are open."""

    path: str                    # their session, saved here
    saved: bool                  # the worker said it saved it
    failed: bool                 # the worker said it could not
    config: object
    speed: object
    step_mode: str
    overlay: str
    node_mode: str
    layout: QByteArray
    session_path: str | None
    saved_pass: int | None
    recent: list


class LessonsPanel(QWidget):
    """The panel in ``window.docks["lessons"]``."""

    lessonOpened = Signal(int)
    lessonDone = Signal(int)
    left = Signal()

    def __init__(self, window, folder=None):
        super().__init__()
        self.window = window
        self.settings = window.settings
        self.lessons, self.refused = load_lessons(folder)
        self._index: int | None = None
        self._kept: _Kept | None = None
        self._restoring: str | None = None
        self._pending_restore: _Kept | None = None
        self._announce_back = False
        self.recovered: str | None = None     # the session kept when bpviz closed in a lesson
        self._awaiting = False          # a lesson's new network is on its way
        self._apply_next = False        # its first snapshot arrived: set the window up
        self._ready = False             # the lesson is set up; what the learner does counts
        self._done = False
        self._seen = Observed()
        self._last_snap = None
        self._history_row: dict | None = None     # for {test_loss}, {test_accuracy}
        self._shown_seq = None
        self._frames: list[PanelFrame] = []
        self._attached = False
        self._graph_connected = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh)
        # what no signal announces (an edge clicked into focus, the history scrubbed) shows
        # within this long while a lesson is open
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._schedule)
        self.offer: QWidget | None = None
        self._build()
        self._recover_kept()

    def _recover_kept(self) -> None:
        """A learner who closed bpviz during the lessons finds the network they had before in
        File → Open recent session (the window fills that menu from the settings after this)."""
        path = self.settings.value(KEPT_KEY)
        speed = self.settings.value(KEPT_SPEED_KEY)
        self.settings.remove(KEPT_KEY)
        self.settings.remove(KEPT_SPEED_KEY)
        if speed is not None:             # the Speed box is built after this: set it then
            QTimer.singleShot(0, lambda: self._restore_speed(str(speed)))
        if not isinstance(path, str) or not os.path.isfile(path):
            return
        recent = recent_sessions(self.settings)
        self.settings.setValue(RECENT_KEY, [path] + [p for p in recent if p != path])
        self.recovered = path
        QTimer.singleShot(0, lambda: self.window.statusBar().showMessage(
            "the network you had before the lessons is in File → Open recent session", 15000))

    def _restore_speed(self, text: str) -> None:
        from ...training import SPEEDS
        try:
            speed = parse_speed(text)
        except ValueError:
            return
        if speed in SPEEDS:
            self.window.set_speed(speed)

    # -- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.chooser = QComboBox()
        self.chooser.setToolTip("Every lesson; a tick marks the ones you have done")
        self.chooser.activated.connect(self.open_lesson)
        layout.addWidget(self.chooser)
        self.title_label = QLabel()
        self.title_label.setTextFormat(Qt.PlainText)
        self.title_label.setWordWrap(True)
        self.title_label.setStyleSheet("font-size: 15pt; font-weight: 600; color: #0f172a;")
        layout.addWidget(self.title_label)
        self.text_label = QLabel()
        self.text_label.setTextFormat(Qt.RichText)      # what lesson_html() makes of the Markdown
        self.text_label.setOpenExternalLinks(False)
        self.text_label.setWordWrap(True)
        self.text_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.text_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.text_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(self.text_label)
        layout.addWidget(scroll, 1)
        task = QFrame()
        task.setObjectName("lessonTask")
        task.setStyleSheet("#lessonTask { background: #fff7e6; border: 1px solid #f59e0b; "
                           "border-radius: 4px; }")
        task_layout = QVBoxLayout(task)
        task_layout.setContentsMargins(8, 6, 8, 6)
        heading = QLabel("<b>Your turn</b>")
        self.task_label = QLabel()
        self.task_label.setTextFormat(Qt.PlainText)
        self.task_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setTextFormat(Qt.RichText)
        self.status_label.setWordWrap(True)
        task_layout.addWidget(heading)
        task_layout.addWidget(self.task_label)
        task_layout.addWidget(self.status_label)
        task.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        layout.addWidget(task)
        self.note_label = QLabel()
        self.note_label.setTextFormat(Qt.PlainText)
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #64748b;")
        self.note_label.hide()
        layout.addWidget(self.note_label)
        row = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("The lesson before")
        self.back_button.clicked.connect(lambda: self.open_lesson((self._index or 0) - 1))
        self.next_button = QPushButton("Next lesson ▶")
        self.next_button.setToolTip("The next lesson")
        self.next_button.clicked.connect(lambda: self.open_lesson((self._index or 0) + 1))
        self.leave_button = QPushButton("Leave lessons")
        self.leave_button.setToolTip("Close the lessons and get your own network, training and "
                                     "settings back")
        self.leave_button.clicked.connect(self.leave)
        row.addWidget(self.back_button)
        row.addWidget(self.next_button)
        row.addStretch(1)
        row.addWidget(self.leave_button)
        layout.addLayout(row)
        self.refused_label = QLabel()
        self.refused_label.setTextFormat(Qt.PlainText)
        self.refused_label.setWordWrap(True)
        self.refused_label.setStyleSheet("color: #b91c1c;")
        self.refused_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        if self.refused:
            self.refused_label.setText("Lesson files not loaded:\n" +
                                       "\n".join(str(r) for r in self.refused))
            QTimer.singleShot(0, lambda: self.window.statusBar().showMessage(
                f"{len(self.refused)} lesson file(s) could not be loaded: the Lessons panel says "
                f"why", 15000))
        else:
            self.refused_label.hide()
        layout.addWidget(self.refused_label)
        self._fill_chooser()
        self._show_nothing()

    def make_offer(self) -> QWidget:
        """The first-launch offer for the status bar: a button that opens the lessons and one
        that dismisses the offer for good. Hidden once dismissed or a lesson is done."""
        offer = QWidget()
        row = QHBoxLayout(offer)
        row.setContentsMargins(0, 0, 6, 0)
        row.setSpacing(2)
        self.offer_button = QPushButton("New to backprop? Open the lessons")
        self.offer_button.setStyleSheet("QPushButton { background: #fde68a; border: 1px solid "
                                        "#f59e0b; border-radius: 3px; padding: 1px 8px; "
                                        "font-weight: 600; }")
        self.offer_button.setToolTip("Short guided lessons, one idea each, with this window's "
                                     "live numbers (Help → Lessons)")
        self.offer_button.clicked.connect(self.open_lessons)
        self.offer_close = QToolButton()
        self.offer_close.setText("✕")
        self.offer_close.setAutoRaise(True)
        self.offer_close.setToolTip("No thanks (the lessons stay in the Help menu)")
        self.offer_close.clicked.connect(self.dismiss_offer)
        row.addWidget(self.offer_button)
        row.addWidget(self.offer_close)
        dismissed = str(self.settings.value(OFFER_KEY, "false")).lower() == "true"
        offer.setVisible(not dismissed and not self.done_ids() and bool(self.lessons))
        self.offer = offer
        return offer

    @Slot()
    def dismiss_offer(self) -> None:
        self.settings.setValue(OFFER_KEY, "true")
        if self.offer is not None:
            self.offer.hide()

    def _dock(self) -> QDockWidget | None:
        return self.window.docks.get("lessons")

    def _attach(self) -> None:
        """Connect to the window (once, after the window's own connections, so that these slots
        see what the window made of each event)."""
        if self._attached:
            return
        self._attached = True
        w = self.window
        w.run.snapshotArrived.connect(self._on_snapshot)
        w.run.rebuilt.connect(self._on_rebuilt)
        w.run.saved.connect(self._on_saved)
        w.run.failed.connect(self._on_failed)
        w.network.neuronClicked.connect(self._on_neuron_clicked)
        w.surface.parametersDragged.connect(self._on_surface_dragged)
        dock = self._dock()
        if dock is not None:
            dock.visibilityChanged.connect(self._on_visibility)

    def _connect_graph(self) -> None:
        view = getattr(self.window, "graph_view", None)
        if view is not None and not self._graph_connected and hasattr(view, "stageChanged"):
            view.stageChanged.connect(lambda _stage: self._schedule())
            self._graph_connected = True

    # -- progress -----------------------------------------------------------------------------

    def done_ids(self) -> list[str]:
        value = self.settings.value(DONE_KEY) or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _mark_done(self, lesson: Lesson) -> None:
        done = self.done_ids()
        if lesson.id not in done:
            self.settings.setValue(DONE_KEY, done + [lesson.id])
        self._fill_chooser()

    def _fill_chooser(self) -> None:
        done = set(self.done_ids())
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for k, lesson in enumerate(self.lessons):
            self.chooser.addItem(f"{k + 1}. {lesson.title}{'  ✓' if lesson.id in done else ''}")
        if self._index is not None:
            self.chooser.setCurrentIndex(self._index)
        self.chooser.blockSignals(False)

    def _first_to_open(self) -> int:
        ids = [lesson.id for lesson in self.lessons]
        current = self.settings.value(CURRENT_KEY)
        if current in ids:
            return ids.index(current)
        done = set(self.done_ids())
        return next((k for k, i in enumerate(ids) if i not in done), 0)

    # -- opening, leaving -------------------------------------------------------------------------

    def is_active(self) -> bool:
        """True while the lessons hold the window (the learner's own state is kept aside)."""
        return self._kept is not None

    def kept_path(self) -> str | None:
        """Where the learner's own session is kept while the lessons are open (None: closed)."""
        return None if self._kept is None else self._kept.path

    def refresh_pending(self) -> bool:
        """True while a look at the newest snapshot is scheduled and not yet taken."""
        return self._refresh_timer.isActive()

    def is_ready(self) -> bool:
        """True when the open lesson has set the window up."""
        return self._ready

    def is_done(self) -> bool:
        """True when the learner did the open lesson's task."""
        return self._done

    def shown_seq(self) -> int | None:
        """The seq of the snapshot whose numbers the lesson shows (and whose state was checked)."""
        return self._shown_seq

    def current(self) -> int | None:
        """The open lesson's index (0-based), or None."""
        return self._index

    @Slot()
    def open_lessons(self) -> None:
        """Show the panel and open the last lesson open (or the first not done)."""
        self.dismiss_offer()
        if not self.lessons or self.is_active():
            self._bring_out()
            return
        self.open_lesson(self._first_to_open())

    def _bring_out(self) -> None:
        dock = self._dock()
        if dock is not None:
            dock.show()
            dock.raise_()

    def _make_room(self) -> None:
        """Put the lessons under the Controls (out of a tab group) and give them most of that
        column, and the column enough width to read; a floating panel stays where it is."""
        w = self.window
        dock, controls = self._dock(), w.docks.get("controls")
        if dock is None:
            return
        dock.show()
        if (controls is not None and not controls.isHidden() and not controls.isFloating()
                and not dock.isFloating()):
            if w.tabifiedDockWidgets(dock) or w.dockWidgetArea(dock) != w.dockWidgetArea(controls):
                if w.tabifiedDockWidgets(controls):
                    # splitting a panel that has tabs only adds another tab behind it: put the
                    # lessons below the whole tab group instead
                    w.removeDockWidget(dock)
                    w.addDockWidget(w.dockWidgetArea(controls), dock, Qt.Vertical)
                    dock.show()
                else:
                    w.splitDockWidget(controls, dock, Qt.Vertical)
            height = max(400, w.height() - 200)
            w.resizeDocks([controls, dock], [int(height * 0.4), int(height * 0.6)], Qt.Vertical)
            w.resizeDocks([dock], [max(dock.width(), LESSONS_WIDTH)], Qt.Horizontal)
        dock.raise_()

    @Slot(int)
    def open_lesson(self, index: int) -> None:
        """Open lesson ``index`` (0-based): set the window up for it."""
        if not self.lessons:
            return
        index = max(0, min(int(index), len(self.lessons) - 1))
        self._attach()
        self._connect_graph()
        if self._restoring:
            return
        lesson = self.lessons[index]
        self._index = index
        self.settings.setValue(CURRENT_KEY, lesson.id)
        self._fill_chooser()
        self._ready = False
        self._done = False
        self._seen = Observed()
        self._show_frames(())
        self.window.pause()
        if self._kept is None:
            self._keep_learner_state()          # the layout too, before the lessons move in
            self._make_room()
            self._poll.start()
        else:
            self._bring_out()
        cfg = lesson_config(lesson.setup)
        self._awaiting, self._apply_next = True, False
        # Undo and Redo inside a lesson cover that lesson's runs only (after the save above)
        self.window.run.send(UndoScope(f"lesson {lesson.id}"))
        self.window.controls.set_config(cfg)
        self.window.run.send(Rebuild(cfg))
        self.refresh()
        self.lessonOpened.emit(index)

    def _keep_learner_state(self) -> None:
        w = self.window
        fd, path = tempfile.mkstemp(prefix="bpviz-learner-", suffix=".bpviz")
        os.close(fd)
        self._kept = _Kept(path=path, saved=False, failed=False, config=w.controls.config(), speed=w.speed,
                           step_mode=w.step_mode.currentData(), overlay=w.network.overlay(),
                           node_mode=w.network.node_mode(), layout=w.saveState(),
                           session_path=w.run.path, saved_pass=w.run.saved_pass,
                           recent=w.run.recent())
        # queued to the worker before the lesson's new network: it saves the learner's run first
        w.run.send(SaveSession(path, w.session_extra()))

    @Slot()
    def leave(self) -> None:
        """Close the lessons and give the learner's own state back."""
        kept, self._kept = self._kept, None
        self._show_frames(())
        self._ready = self._awaiting = self._apply_next = False
        if kept is None:
            return
        self._poll.stop()
        self.settings.remove(KEPT_KEY)
        self.settings.remove(KEPT_SPEED_KEY)
        w = self.window
        w.pause()
        w.run.send(UndoScope(""))            # the learner's own Undo and Redo again
        if not kept.failed:     # saved, or still being saved: the worker saves it first
            self._restoring = kept.path
            w.open_session(kept.path)
        else:                   # it could not be saved: the configuration at least
            self._remove(kept.path)
            w.controls.set_config(kept.config)
            w.run.send(Rebuild(kept.config))
        w.set_speed(kept.speed)
        w.set_step_mode(kept.step_mode)
        w.network.set_overlay(kept.overlay)
        w.network.set_node_mode(kept.node_mode)
        w.restoreState(kept.layout)            # the lessons go back where they were
        self._pending_restore = kept
        self._show_nothing()
        self.left.emit()

    @staticmethod
    def _remove(path: str) -> None:
        try:
            os.remove(path)
        except OSError:
            pass

    @Slot(bool)
    def _on_visibility(self, _visible: bool) -> None:
        QTimer.singleShot(0, self._maybe_left)

    def _maybe_left(self) -> None:
        dock = self._dock()
        lecture = getattr(self.window, "lecture", None)
        if lecture is not None and lecture.maximised() is not None:
            return          # hidden while another panel is maximised: the lesson goes on
        if dock is not None and dock.isHidden() and self.is_active():
            self.leave()        # the dock was closed: the lessons end

    # -- the worker's events -------------------------------------------------------------------

    @Slot(object)
    def _on_saved(self, event) -> None:
        kept = self._kept
        if kept is None or event.path != kept.path:
            return
        kept.saved = True
        self._put_back_file_state(kept)
        self.settings.setValue(KEPT_KEY, kept.path)
        self.settings.setValue(KEPT_SPEED_KEY, speed_text(kept.speed))
        self.window.statusBar().showMessage("your own network is kept aside until you leave the "
                                            "lessons", 5000)

    @Slot(object)
    def _on_failed(self, failure) -> None:
        """The learner's run could not be saved aside, or opened again."""
        kept = self._kept or self._pending_restore
        request = failure.request
        if (kept is not None and isinstance(request, (SaveSession, OpenSession))
                and request.path == kept.path):
            kept.failed = True
            if self._restoring == kept.path:         # it could not be opened again either
                self._restoring = None
                self._remove(kept.path)
                self.window.controls.set_config(kept.config)
                self.window.run.send(Rebuild(kept.config))

    def _put_back_file_state(self, kept: _Kept) -> None:
        """The learner's session file, title and recent sessions as they were (the temporary
        file is not theirs)."""
        self.window.run.set_document(kept.session_path, kept.saved_pass, kept.recent)

    @Slot(object)
    def _on_rebuilt(self, event) -> None:
        extra = event.extra
        if self._restoring and extra is not None and extra.get("path") == self._restoring:
            kept, self._pending_restore = self._pending_restore, None
            self._remove(self._restoring)
            self._restoring = None
            if kept is not None:
                self._put_back_file_state(kept)
            self._announce_back = True          # over the worker's "opened <temporary file>"
            return
        if self._awaiting:
            self._awaiting = False
            self._apply_next = True

    @Slot(object)
    def _on_snapshot(self, snap) -> None:
        self._history_row = last_history_row(snap, self._history_row)
        if self._announce_back:
            self._announce_back = False
            self.window.statusBar().showMessage("lessons closed: your own network is back", 8000)
        if self._apply_next:
            self._apply_next = False
            QTimer.singleShot(0, self._set_window_up)
            return
        if self._ready:
            lesson = self.lessons[self._index]
            self._seen.see(snap, self._last_snap,
                           [c for c in lesson.checks if c["kind"] == "setting"])
            self._last_snap = snap
        self._schedule()

    @Slot(int, int)
    def _on_neuron_clicked(self, layer: int, index: int) -> None:
        if self._ready:
            self._seen.clicked.append((layer, index))
            self._schedule()

    @Slot(object)
    def _on_surface_dragged(self, _changes) -> None:
        if self._ready:
            self._seen.surface_dragged = True
            self._schedule()

    # -- setting a lesson up ------------------------------------------------------------------

    def _set_window_up(self) -> None:
        if self._index is None or not self.is_active():
            return
        lesson = self.lessons[self._index]
        s = lesson.setup
        w = self.window
        missing = []
        for name in s.get("front", ()):
            dock = w.docks.get(name)
            if dock is None:
                missing.append(name)
                continue
            dock.show()
            dock.raise_()
        if "control" in s:
            self._show_control(s["control"])
        if "speed" in s:
            w.set_speed(_nearest_speed(s["speed"]))
        if "step_mode" in s:
            w.set_step_mode(s["step_mode"])
        if "edges" in s:
            w.network.set_overlay(s["edges"])
        if "neurons" in s:
            w.network.set_node_mode(s["neurons"])
        w.cost.clear_previous()          # a lesson compares only with its own runs
        w.surface.new_run(False)
        w.paint_now()                    # the diagram knows the new network before a selection
        try:
            if "select" in s:
                w.select_neuron(*s["select"])
            if "pin" in s:
                w.pin_sample(s["pin"])
            if "edge" in s:
                layer, i, j = s["edge"]
                w.network.focus_edge(layer - 1, i, j)
            if "surface_axes" in s:
                w.surface.set_axes([("W", layer - 1, i, j) for layer, i, j in s["surface_axes"]])
        except ValueError as e:          # a set-up that does not fit the network
            missing.append(str(e))
        dock = self._dock()
        if dock is not None and dock.isVisible():
            dock.raise_()                # the lesson's text stays in front of the panels above
        self._show_frames(lesson.highlight)
        missing += [name for name in lesson.highlight if name not in w.docks]
        self._set_note(missing)
        self._seen = Observed()
        self._last_snap = w.latest
        self._ready = True
        w.statusBar().showMessage(f"lesson {self._index + 1}: the window is set up for it; your "
                                  f"own network comes back when you leave the lessons", 8000)
        self.refresh()

    def _show_control(self, name: str) -> None:
        """Scroll the Controls panel to one of its controls (and bring the panel forward)."""
        dock = self.window.docks.get("controls")
        widget = getattr(self.window.controls, CONTROL_WIDGETS.get(name, name), None)
        if dock is None or widget is None:
            return
        dock.show()
        dock.raise_()
        scroll = dock.widget()
        if isinstance(scroll, QScrollArea):
            QTimer.singleShot(0, lambda: scroll.ensureWidgetVisible(widget, 20, 60))

    def _set_note(self, missing) -> None:
        names = sorted(set(missing))
        if names:
            self.note_label.setText("Not in this window: " + ", ".join(
                f"the {n} panel" if n in PANELS else n for n in names))
            self.note_label.show()
        else:
            self.note_label.hide()

    def _show_frames(self, names) -> None:
        for frame in self._frames:
            frame.remove()
        self._frames = []
        for name in names:
            dock = self.window.docks.get(name)
            if dock is not None:
                self._frames.append(PanelFrame(dock))

    def framed(self) -> list[str]:
        """The names of the panels framed now."""
        names = {id(d): n for n, d in self.window.docks.items()}
        return [names[id(f.dock)] for f in self._frames if id(f.dock) in names]

    # -- showing the lesson ---------------------------------------------------------------------

    def _schedule(self) -> None:
        if self._refresh_timer.isActive():
            return
        snap = self.window.latest
        self._refresh_timer.start(REFRESH_MS if snap is not None and snap.running else 0)

    def context(self) -> Context:
        w = self.window
        snap = w.timeline.shown() or w.latest
        try:
            axes = w.surface.axes()
        except (TypeError, AttributeError, IndexError):
            axes = None
        edge = w.network.focused_edge()
        return Context(snapshot=snap, selected=w.network.selected_neuron(), axes=axes,
                       edge=None if edge is None else tuple(edge[1:]),
                       graph_stage=self._graph_stage(), history=self._history_row)

    def _graph_stage(self) -> str | None:
        if "graph" not in self.window.docks:
            return None
        view = getattr(self.window, "graph_view", None)
        stage = getattr(view, "stage", None)
        return stage if isinstance(stage, str) else None

    @Slot()
    def refresh(self) -> None:
        """Fill the lesson's text with the numbers of now, and check the task."""
        if self._index is None or not self.lessons:
            return
        lesson = self.lessons[self._index]
        ctx = self.context()
        self._shown_seq = None if ctx.snapshot is None else ctx.snapshot.seq
        k = self._index
        self.title_label.setText(f"{k + 1}. {render(lesson.title, ctx)}")
        text = render(lesson.text, ctx) + self._focus_note(lesson, ctx)
        self.text_label.setText(lesson_html(text))
        self.task_label.setText(render(lesson.task, ctx))
        self.back_button.setEnabled(k > 0)
        self.next_button.setEnabled(k + 1 < len(self.lessons))
        if self._ready and not self._done:
            self._seen.snapshot = self.window.latest
            self._seen.edge_mode = self.window.network.overlay()
            self._seen.graph_stage = self._graph_stage()
            if all_done(lesson.checks, self._seen):
                self._done = True
                self._mark_done(lesson)
                self.lessonDone.emit(k)
        if self._done:
            more = k + 1 < len(self.lessons)
            words = html.escape(render(lesson.done, ctx)) if lesson.done else ""
            self.status_label.setText(f"<b style='color:#15803d'>✓ Done.</b> {words}"
                                      + (" <b>On to the next lesson ▶</b>" if more else
                                         " That was the last lesson."))
            self.next_button.setDefault(True)
            self.next_button.setStyleSheet("font-weight: 600;" if more else "")
        else:
            self.status_label.setText("<span style='color:#64748b'>"
                                      + ("waiting for you…" if self._ready else "setting up…")
                                      + "</span>")
            self.next_button.setDefault(False)
            self.next_button.setStyleSheet("")

    def _focus_note(self, lesson: Lesson, ctx: Context) -> str:
        """A line under a text that quotes the pinned sample's numbers while the window shows
        batch means: which numbers are whose, and how to see the same ones on the diagram."""
        focus = getattr(self.window, "focus_model", None)
        if focus is None or focus.is_sample() or ctx.snapshot is None \
                or ctx.snapshot.sample is None:
            return ""
        if not set(placeholders(lesson.text)) & SAMPLE_QUANTITIES:
            return ""
        return (f"\n\n*The numbers above are sample {ctx.snapshot.sample.index}'s; the diagram "
                f"shows batch means now. Values for: pinned sample shows the same numbers "
                f"there.*")

    def _show_nothing(self) -> None:
        if not self.lessons:
            self.title_label.setText("No lessons")
            self.text_label.setText("No lesson file could be loaded.")
        else:
            self.title_label.setText("Lessons")
            self.text_label.setText(f"{len(self.lessons)} short lessons on backpropagation, "
                                    f"each with this window's live numbers. Choose one above, "
                                    f"or Help → Lessons.")
        self.task_label.setText("")
        self.status_label.setText("")

    def shown_text(self) -> str:
        """The lesson's text as the learner reads it (plain text)."""
        return to_plain(self.text_label.text())

    def status_text(self) -> str:
        return to_plain(self.status_label.text())

    def refused_text(self) -> str:
        """What the panel says about the lesson files it could not load ("" when none)."""
        return self.refused_label.text() if self.refused else ""


@lru_cache(maxsize=16)
def lesson_html(markdown: str) -> str:
    """A lesson's Markdown as rich text that makes Qt read no file (see ``safe_text``)."""
    return safe_html(markdown, markdown=True)


def _nearest_speed(speed):
    from ...training import SPEEDS
    return nearest_speed(parse_speed(speed), SPEEDS)


def open_for_picture(window, number: int, wait) -> None:
    """Open lesson ``number`` (1-based) and wait (with ``wait(condition, seconds)``) until it has
    set the window up (the snapshot command's --lesson)."""
    panel = window.lessons
    panel.open_lessons()
    panel.open_lesson(number - 1)
    if not wait(panel.is_ready, 60.0):
        from ...engine.errors import BpvizError
        raise BpvizError(f"lesson {number} did not finish setting the window up")
    window.paint_now()
