"""The window's one model of the run.

Everything the window side knows about the training run is held here, once, and only the training
host's events change it: the configuration in force (:class:`~bpviz.messages.Rebuilt` and
:class:`~bpviz.messages.Configured`), the dataset, the newest snapshot, whether training runs and
at what speed, the focus (one sample or the batch mean: a :class:`~bpviz.ui.window.focus.FocusModel`),
and the document — the session file the run was saved to or opened from, the pass it was saved
at, the recent sessions and whether there is unsaved training.

Panels, Export and the Lessons panel read it and send commands through it (:meth:`RunModel.send`
takes the typed commands of :mod:`bpviz.messages`); none keeps a copy. Whether training runs is
what the last Play, Pause or Step asked, until a snapshot says that training stopped (diverged, or
ran the epochs it was asked for): a button pressed twice quickly must not ask for Play twice.

A model with no host (``RunModel(None, config)``) holds a configuration and sends nothing: the
Controls panel alone, in a test, uses one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot

from ...engine.config import Config
from ...engine.errors import BpvizError
from ...engine.snapshot import Snapshot
from ...messages import Command, Configured, Failed, Pause, Play, Rebuilt, Saved, SetSpeed, Step
from .focus import FocusModel

RECENT_SESSIONS = 8
RECENT_KEY = "recentSessions"


def recent_sessions(settings: QSettings) -> list[str]:
    """The recent session files kept in ``settings``, newest first."""
    value = settings.value(RECENT_KEY) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class RunModel(QObject):
    """The run as the window knows it; fed by a :class:`~bpviz.host.TrainingHost`'s events."""

    snapshotArrived = Signal(object)     # Snapshot, after the model took it
    rebuilt = Signal(object)             # Rebuilt, after the model took it
    configChanged = Signal(object)       # Config in force (after Rebuilt or Configured)
    failed = Signal(object)              # Failed: why, and the command it answers
    saved = Signal(object)               # Saved, after the document took it
    runningChanged = Signal(bool)
    speedChanged = Signal(object)        # passes per second (None: max)
    documentChanged = Signal()           # path, saved pass or recent sessions

    def __init__(self, host, config: Config, *, settings: QSettings | None = None,
                 speed: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self._config = replace(config)
        self._settings = settings
        self._dataset = None
        self._latest: Snapshot | None = None
        self._running = False
        self._speed = speed
        self._path: str | None = None
        self._saved_pass: int | None = None
        self._same_data = False
        self.focus = FocusModel(parent=self)
        if host is not None:
            host.snapshotArrived.connect(self._on_snapshot)
            host.rebuilt.connect(self._on_rebuilt)
            host.configured.connect(self._on_configured)
            host.failed.connect(self._on_failed)
            host.saved.connect(self._on_saved)

    # -- what the window reads -------------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The configuration in force (a copy: changing it changes nothing)."""
        return replace(self._config)

    @property
    def dataset(self):
        return self._dataset

    @property
    def latest(self) -> Snapshot | None:
        """The newest snapshot (immutable)."""
        return self._latest

    @property
    def running(self) -> bool:
        return self._running

    @property
    def speed(self) -> int | None:
        """Passes per second while playing (None: as fast as it goes)."""
        return self._speed

    @property
    def path(self) -> str | None:
        """The session file the run was last saved to or opened from (None: untitled)."""
        return self._path

    @property
    def saved_pass(self) -> int | None:
        """The pass count when the run was last saved or opened (None: never)."""
        return self._saved_pass

    def same_data(self) -> bool:
        """Whether the last new network trains on the same data as the one before (a reset or
        a changed setting, not another dataset or a session)."""
        return self._same_data

    def recent(self) -> list[str]:
        """The recent session files, newest first."""
        return [] if self._settings is None else recent_sessions(self._settings)

    def is_modified(self) -> bool:
        """True when training moved on (or weights changed) since the session was saved or
        opened."""
        snap = self._latest
        if snap is None:
            return False
        if self._saved_pass is None:
            return snap.pass_count > 0
        return snap.pass_count != self._saved_pass

    def title_name(self) -> str:
        return Path(self._path).name if self._path else "untitled"

    def query(self, name: str, *args, timeout_s: float = 10.0):
        """Ask the training session and wait for its answer (``"record"``, ``"history"``,
        ``"state"``, ``"config"``, ``"inspect"``); BpvizError when it cannot be answered."""
        if self._host is None:
            raise BpvizError(f"no training session to answer ({name})")
        return self._host.query(name, *args, timeout_s=timeout_s)

    def ask(self, name: str, *args, done) -> None:
        """Ask the training session without waiting: ``done(value)`` on the GUI thread."""
        if self._host is None:
            done(BpvizError(f"no training session to answer ({name})"))
            return
        self._host.ask(name, *args, done=done)

    def config_in_force(self) -> Config:
        """The configuration in force once every command sent so far has been handled: the
        session is asked (and the model takes its answer), so that a setting typed a moment ago
        is in it even before its event arrives. Falls back on :attr:`config` when the session
        does not answer."""
        if self._host is not None:
            try:
                config = self.query("config")
            except BpvizError:
                return self.config
            if config != self._config:
                self._on_configured(Configured(config))
        return self.config

    # -- commands ----------------------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Send a typed command to the training session. Play, Pause and Step say at once
        whether training runs; Speed is remembered here."""
        if isinstance(command, (Play, Pause, Step)):
            self._set_running(isinstance(command, Play))
        elif isinstance(command, SetSpeed):
            if command.speed != self._speed:
                self._speed = command.speed
                self.speedChanged.emit(command.speed)
        if self._host is not None:
            self._host.command(command)

    def set_document(self, path: str | None, saved_pass: int | None,
                     recent: list[str] | None = None) -> None:
        """Put the document back as it was (the Lessons panel, after a run it kept aside in a
        temporary file came back): its path, saved pass and, if given, the recent sessions."""
        self._path, self._saved_pass = path, saved_pass
        if recent is not None and self._settings is not None:
            self._settings.setValue(RECENT_KEY, list(recent)[:RECENT_SESSIONS])
        self.documentChanged.emit()

    def remember_recent(self, path: str) -> None:
        if self._settings is None:
            return
        recent = [path] + [p for p in self.recent() if p != path]
        self._settings.setValue(RECENT_KEY, recent[:RECENT_SESSIONS])
        self.documentChanged.emit()

    # -- the host's events -------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.runningChanged.emit(running)

    def take_snapshot(self, snap: Snapshot) -> None:
        """The newest snapshot (from the host; the benchmark replays recorded ones this way)."""
        self._latest = snap
        if not snap.running:                   # paused, diverged, or the epochs asked for ran
            self._set_running(False)
        self.snapshotArrived.emit(snap)

    @Slot(object)
    def _on_snapshot(self, snap: Snapshot) -> None:
        self.take_snapshot(snap)

    @Slot(object)
    def _on_rebuilt(self, event: Rebuilt) -> None:
        before = self._config
        # a reset or a changed setting on the same data (the run that ends can stay drawn)
        self._same_data = (event.extra is None and event.config.dataset == before.dataset
                           and event.config.data_file == before.data_file)
        self._config = replace(event.config)
        self._dataset = event.dataset
        self._set_running(False)
        if event.extra is not None:            # a session: its file, and the pass it was at
            self._path = event.extra.get("path")
            self._saved_pass = int(event.extra.get("pass_count", 0))
            if self._path:
                self.remember_recent(self._path)
        else:
            self._path, self._saved_pass = None, None
        self.documentChanged.emit()
        self.configChanged.emit(self.config)
        self.rebuilt.emit(event)

    @Slot(object)
    def _on_configured(self, event: Configured) -> None:
        self._config = replace(event.config)
        self.configChanged.emit(self.config)

    @Slot(object)
    def _on_failed(self, event: Failed) -> None:
        self.failed.emit(event)

    @Slot(object)
    def _on_saved(self, event: Saved) -> None:
        self._path, self._saved_pass = event.path, event.passes
        self.remember_recent(event.path)
        self.documentChanged.emit()
        self.saved.emit(event)

