"""The messages between the window and the training session, as small frozen dataclasses.

A **command** goes from the window to the training session: the window's run model
(:class:`bpviz.ui.window.run_model.RunModel`) hands one to its host (:meth:`bpviz.host.TrainingHost.command`),
which sends it on as the session's message tuple (:meth:`Command.message`, the names of
``TrainingSession.cmd_<name>``). Each command checks its own arguments when it is made, so that a
wrong one fails where it is written, not in another thread or process.

An **event** comes back, on the GUI thread: what the session did (:class:`Rebuilt`,
:class:`Configured`, :class:`Saved`, the Undo and Redo offers) or could not do (:class:`Failed`,
which names the command it answers). Snapshots come as :class:`~bpviz.engine.snapshot.Snapshot`
themselves.

Plain Python: no Qt, so that the training layer can use these too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from .engine.config import Config
from .engine.vocabulary import SPEEDS, STEP_MODES
LIVE_KEYS = ("lr", "momentum", "batch_size", "l2", "optimizer")   # settings applied without a reset


def _fail(command: str, why: str) -> None:
    raise ValueError(f"{command}: {why}")


# -- commands -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """A request to the training session; ``name`` is its ``cmd_<name>``."""

    name: ClassVar[str] = ""

    def message(self) -> tuple:
        """The session's message tuple: ``(name, *arguments)``."""
        return (self.name, *(getattr(self, f.name) for f in fields(self)))


@dataclass(frozen=True)
class Play(Command):
    name: ClassVar[str] = "play"


@dataclass(frozen=True)
class Pause(Command):
    name: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Step(Command):
    name: ClassVar[str] = "step"


@dataclass(frozen=True)
class Reset(Command):
    name: ClassVar[str] = "reset"


@dataclass(frozen=True)
class Undo(Command):
    name: ClassVar[str] = "undo"


@dataclass(frozen=True)
class Redo(Command):
    name: ClassVar[str] = "redo"


@dataclass(frozen=True)
class RunEpochs(Command):
    """Train exactly ``epochs`` more epochs as fast as it goes, then pause."""
    epochs: int
    name: ClassVar[str] = "run_epochs"

    def __post_init__(self):
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 1:
            _fail("run epochs", f"the number of epochs must be a whole number of at least 1, "
                                f"not {self.epochs!r}")


@dataclass(frozen=True)
class SetStepMode(Command):
    """What Step does: one of :data:`STEP_MODES`."""
    mode: str
    name: ClassVar[str] = "step_mode"

    def __post_init__(self):
        if self.mode not in STEP_MODES:
            _fail("step mode", f"{self.mode!r} is not one of {', '.join(STEP_MODES)}")


@dataclass(frozen=True)
class SetSpeed(Command):
    """Passes per second while playing: one of :data:`SPEEDS` (None: max)."""
    speed: int | None
    name: ClassVar[str] = "speed"

    def __post_init__(self):
        if self.speed not in SPEEDS:
            _fail("speed", f"{self.speed!r} is not one of the speeds "
                           f"{', '.join('max' if s is None else str(s) for s in SPEEDS)}")


@dataclass(frozen=True)
class SetPace(Command):
    """Seconds each phase is held while playing phases (None: passes play whole)."""
    pace: float | None
    name: ClassVar[str] = "pace"

    def __post_init__(self):
        if self.pace is not None and not (isinstance(self.pace, (int, float))
                                          and math.isfinite(self.pace) and self.pace > 0):
            _fail("phase pace", f"seconds a phase must be a positive number, not {self.pace!r}")


@dataclass(frozen=True)
class Rewind(Command):
    """Back to the training state of snapshot ``seq``."""
    seq: int
    name: ClassVar[str] = "rewind"

    def __post_init__(self):
        if not isinstance(self.seq, int) or self.seq < 0:
            _fail("rewind", f"a snapshot number is a whole number, not {self.seq!r}")


@dataclass(frozen=True)
class OpenSession(Command):
    path: str
    name: ClassVar[str] = "open_session"

    def __post_init__(self):
        object.__setattr__(self, "path", str(self.path))


@dataclass(frozen=True)
class SaveSession(Command):
    """Save the session to ``path`` with the window's selections (``extra``)."""
    path: str
    extra: dict = field(default_factory=dict, compare=False)
    name: ClassVar[str] = "save_session"

    def __post_init__(self):
        object.__setattr__(self, "path", str(self.path))
        object.__setattr__(self, "extra", dict(self.extra or {}))

    def message(self) -> tuple:
        return (self.name, (self.path, dict(self.extra)))


@dataclass(frozen=True)
class Rebuild(Command):
    """A new network (and data) from ``config``."""
    config: Config
    name: ClassVar[str] = "rebuild"

    def __post_init__(self):
        if not isinstance(self.config, Config):
            _fail("rebuild", f"a configuration is needed, not {type(self.config).__name__}")

    def message(self) -> tuple:
        from dataclasses import replace
        return (self.name, replace(self.config))


@dataclass(frozen=True)
class SetHyper(Command):
    """Live settings (some of :data:`LIVE_KEYS`), applied from the next pass without a reset."""
    values: dict
    name: ClassVar[str] = "hyper"

    def __post_init__(self):
        values = dict(self.values)
        unknown = sorted(set(values) - set(LIVE_KEYS))
        if unknown:
            _fail("live settings", f"{', '.join(unknown)} cannot change without a new network")
        object.__setattr__(self, "values", values)

    def message(self) -> tuple:
        return (self.name, dict(self.values))


@dataclass(frozen=True)
class SetParameters(Command):
    """Weights or biases set by hand: ``[(kind 'W'|'b', layer, i, j, value), ...]``."""
    changes: tuple
    name: ClassVar[str] = "parameters"

    def __post_init__(self):
        changes = tuple(tuple(c) for c in self.changes)
        for c in changes:
            if len(c) != 5 or c[0] not in ("W", "b"):
                _fail("set parameters", f"a change is (\"W\" or \"b\", layer, i, j, value), "
                                        f"not {c!r}")
        object.__setattr__(self, "changes", changes)

    def message(self) -> tuple:
        return (self.name, list(self.changes))


@dataclass(frozen=True)
class Pin(Command):
    """Pin training sample ``index`` (None: none)."""
    index: int | None
    name: ClassVar[str] = "pin"


@dataclass(frozen=True)
class UndoScope(Command):
    """Whose runs Undo and Redo cover: "" the learner's own, else a lesson's."""
    scope: str
    name: ClassVar[str] = "undo_scope"


# -- events -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    """What the training session tells the window."""


@dataclass(frozen=True)
class Failed(Event):
    """A request that could not be carried out (nothing changed); ``request`` is the command it
    answers (None: none of the window's, e.g. training that stopped)."""
    why: str
    request: Command | None = None

    def __str__(self) -> str:
        return self.why


@dataclass(frozen=True)
class Rebuilt(Event):
    """A new network is trained from now on: a changed setting, a reset, Undo, or a session
    opened (``extra``: the session's selections and ``path``; None otherwise)."""
    config: Config
    dataset: Any
    extra: dict | None = None


@dataclass(frozen=True)
class Configured(Event):
    """The configuration in force after live settings changed (no new network)."""
    config: Config


@dataclass(frozen=True)
class Saved(Event):
    path: str
    passes: int


@dataclass(frozen=True)
class Offer(Event):
    """What Undo (``kind`` "undo") or Redo would bring back: (what, training words), or None."""
    kind: str
    offer: tuple | None
