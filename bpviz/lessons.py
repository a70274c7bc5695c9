"""Guided lessons: the lesson files, their completion checks and the live numbers they show.

A lesson is a TOML file (``NN-name.toml``): bpviz's own in ``resources/lessons/``, then those of
the per-user folder (:func:`user_lessons_dir`), then those of a teacher's folder given with
``--lessons DIR`` (:func:`set_teacher_folder`); each folder's files in the order of their names::

    title = "The forward pass"
    text = '''Markdown with placeholders: z = {z}, a = {a} ...'''
    task = "Click a neuron of the hidden layer."
    done = "Optional words shown once the task is done."
    highlight = ["network", "inspector"]        # panels framed while the lesson is open

    [setup]                                     # every key optional
    preset = "gaussian-clouds"
    hidden = [3]
    speed = 10                                  # passes per second, or "max"
    step_mode = "sample"
    front = ["inspector"]                       # panels brought to the front
    control = "lr"                              # the control scrolled into view
    select = [1, 0]                             # (layer, index) of the neuron selected
    edge = [2, 0, 1]                            # the edge in the diagram's edit strip: from
                                                # neuron 0 of layer 1 into neuron 1 of layer 2
    pin = 0                                     # the sample pinned

    [check]                                     # or check = [{...}, {...}]: all must hold
    kind = "neuron_selected"
    layer = 1

Nothing in a file is evaluated as code: placeholders name quantities from :data:`QUANTITIES`,
computed here from the window's newest snapshot, and a check is one of :data:`CHECKS` with its
parameters. Lesson files are untrusted input: read from regular files only, at most
``MAX_LESSON_BYTES``, as UTF-8 (:mod:`bpviz.engine.textfile`). A file that does not follow this
schema, or cannot be read, is refused with a :class:`Refusal` naming the file and the line; the
other files still load.

This module is numpy-only (no Qt): the Lessons panel (``bpviz.ui.panels.lessons``) feeds it what the
window shows and what the learner did (:class:`Observed`).
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .engine.config import PRESETS, RANGES
from .engine.functions import ACTIVATIONS, OUTPUTS
from .engine import numbers
from .engine.network import INITS
from .engine.optimizers import OPTIMIZERS
from .engine.phases import UPDATE
from .engine.textfile import TextFileError, key_line, parse_toml, read_text
from .engine.vocabulary import EDGE_MODES, NEURON_MODES, PANELS, STEP_MODES
from .resources import resource_path

MAX_LESSON_BYTES = 256 * 1024      # a lesson is a page of text; a larger file is refused
MAX_LESSON_FILES = 200             # per folder; the files after these are not read
MAX_TEXT_CHARS = 20_000            # a lesson's text: a few screens (Qt lays it out on every change)


def lessons_dir() -> Path:
    """Where bpviz's own lesson files live (the one place that knows the resources folder)."""
    return resource_path("lessons")


def user_lessons_dir() -> Path:
    """The per-user folder of lessons, loaded after bpviz's own: ``~/.local/share/bpviz/lessons``
    on Linux (``$XDG_DATA_HOME/bpviz/lessons``), ``~/Library/Application Support/bpviz/lessons``
    on macOS, ``%LOCALAPPDATA%\\bpviz\\lessons`` on Windows. It may not exist."""
    from platformdirs import user_data_path
    return user_data_path("bpviz", appauthor=False) / "lessons"


_teacher_folder: list[Path] = []       # the folder of --lessons DIR, if any


def set_teacher_folder(folder) -> None:
    """Load the lessons of ``folder`` after the others (``--lessons DIR``); None: no such folder.
    ConfigError when ``folder`` is not an existing folder."""
    from .engine.errors import ConfigError
    _teacher_folder.clear()
    if folder is None:
        return
    path = Path(folder)
    if not path.exists():
        raise ConfigError(f"--lessons {folder}: no such folder")
    if not path.is_dir():
        raise ConfigError(f"--lessons {folder}: not a folder")
    _teacher_folder.append(path)


def teacher_folder() -> Path | None:
    """The folder given with ``--lessons DIR``, or None."""
    return _teacher_folder[0] if _teacher_folder else None


def lesson_folders() -> list[Path]:
    """Every folder lessons are loaded from, in order: bpviz's own, the per-user folder, the
    teacher's folder."""
    folders = [lessons_dir(), user_lessons_dir()]
    if _teacher_folder:
        folders.append(_teacher_folder[0])
    out = []
    for folder in folders:
        if folder not in out:
            out.append(folder)
    return out


# -- the fixed vocabularies ----------------------------------------------------------------------

# PANELS, STEP_MODES, EDGE_MODES and NEURON_MODES: from engine.vocabulary
GRAPH_STAGES = ("forward", "backward", "done")
CONTROLS = ("hidden", "activation", "optimizer", "lr", "momentum", "batch_size", "l2")
SETTINGS = ("lr", "momentum", "batch_size", "l2", "optimizer", "activation", "hidden_layers")


class LessonError(TextFileError, ValueError):
    """A lesson file that cannot be used: ``line`` is where (1-based), or None."""


@dataclass(frozen=True)
class Refusal:
    """A lesson file that was not loaded, and why."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f", line {self.line}" if self.line else ""
        message = " ".join(self.message.split())          # one line, whatever the file held
        return f"{self.path.name}{where}: {message}"


@dataclass(frozen=True)
class Lesson:
    id: str                      # the file's stem, e.g. "01-forward-pass"
    title: str
    text: str
    task: str
    done: str
    highlight: tuple[str, ...]
    setup: dict
    checks: tuple[dict, ...]
    path: Path


# -- the schema -----------------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))


def _text_up_to(limit):
    def check(v):
        if not isinstance(v, str):
            return "must be text"
        if len(v) > limit:
            return f"is {len(v):,} characters long, more than the {limit:,} it may have"
    return check


_text = _text_up_to(MAX_TEXT_CHARS)


def _choice(options, noun: str = ""):
    """A check that a value is one of ``options``; ``noun`` ("an activation") names what they
    are, for the message: "is 'tahn', which is not an activation (one of sigmoid, tanh, …)"."""
    def check(v):
        if not isinstance(v, str):
            return "must be text" + (f": {noun} (one of {', '.join(options)})" if noun else "")
        if v not in options:
            if noun:
                return f"is {v!r}, which is not {noun} (one of {', '.join(options)})"
            return f"is {v!r}; choose one of {', '.join(options)}"
    return check


def _int_at_least(lo):
    def check(v):
        if not _is_int(v):
            return "must be a whole number"
        if v < lo:
            return f"must be at least {lo}; got {v}"
    return check


def _range(key):
    rng = RANGES[key]

    def check(v):
        if not _is_number(v):
            return "must be a number"
        if not rng.accepts(v):
            return f"must be {rng.text()}; got {v}"
    return check


def _list_of(item_check, length=None, at_least=0):
    def check(v):
        if not isinstance(v, list):
            return "must be a list"
        if length is not None and len(v) != length:
            return f"must have {length} items; got {len(v)}"
        if len(v) < at_least:
            return f"must have at least {at_least} items"
        for k, item in enumerate(v):
            problem = item_check(item)
            if problem:
                return f"item {k + 1} {problem}"
    return check


def _speed(v):
    if v == "max":
        return None
    if not _is_int(v) or v < 1:
        return 'must be a number of passes per second (1 or more) or "max"'


def _hidden(v):
    problem = _list_of(_int_at_least(1), at_least=1)(v)
    if problem:
        return problem
    if any(n > RANGES["hidden"].hi for n in v):
        return f"neuron counts go up to {int(RANGES['hidden'].hi)}"


def _number(v):
    if not _is_number(v):
        return "must be a number"


def _setting_value(v):
    if isinstance(v, bool) or not (isinstance(v, str) or _is_number(v)):
        return "must be text or a number"


def _edge_key(v):
    """[layer, i, j]: the edge from neuron i of layer − 1 into neuron j of ``layer`` (≥ 1)."""
    problem = _list_of(_int_at_least(0), length=3)(v)
    if problem:
        return problem + " ([layer, i, j]: from neuron i of layer − 1 into neuron j of layer)"
    if v[0] < 1:
        return "names the layer the edge goes into, 1 or more (layer 0 is the input)"


TOP_KEYS: dict[str, tuple[bool, Callable]] = {       # key: (required, check)
    "title": (True, _text_up_to(300)),
    "text": (True, _text),
    "task": (True, _text_up_to(3000)),
    "done": (False, _text_up_to(3000)),
    "highlight": (False, _list_of(_choice(PANELS, "a panel"))),
    "setup": (False, None),
    "check": (True, None),
}

SETUP_KEYS: dict[str, Callable] = {
    "preset": _choice(tuple(PRESETS), "a preset"),
    "hidden": _hidden,
    "activation": _choice(tuple(ACTIVATIONS), "an activation"),
    "output": _choice(tuple(OUTPUTS), "an output"),
    "init": _choice(INITS, "an initialisation"),
    "optimizer": _choice(OPTIMIZERS, "an optimizer"),
    "lr": _range("lr"),
    "momentum": _range("momentum"),
    "batch_size": _int_at_least(0),
    "l2": _range("l2"),
    "seed": _int_at_least(0),
    "speed": _speed,
    "step_mode": _choice(STEP_MODES, "a step mode"),
    "front": _list_of(_choice(PANELS, "a panel")),
    "control": _choice(CONTROLS, "a control"),
    "select": _list_of(_int_at_least(0), length=2),
    "pin": _int_at_least(0),
    "edges": _choice(EDGE_MODES, "an edge mode"),
    "neurons": _choice(NEURON_MODES, "a neuron mode"),
    "edge": _edge_key,
    "surface_axes": _list_of(_edge_key, length=2),
}
# the set-up keys that make the lesson's configuration (the rest set up the window)
CONFIG_KEYS = ("hidden", "activation", "output", "init", "optimizer", "lr", "momentum",
               "batch_size", "l2", "seed")

# check kind: {parameter: (required, check)}
CHECKS: dict[str, dict[str, tuple[bool, Callable]]] = {
    "neuron_selected": {"layer": (False, _int_at_least(0)), "index": (False, _int_at_least(0))},
    "samples_stepped": {"at_least": (True, _int_at_least(1))},
    "passes_trained": {"at_least": (True, _int_at_least(1))},
    "diverged": {},
    "surface_point_dragged": {},
    "graph_stage": {"stage": (True, _choice(GRAPH_STAGES, "a stage of the Graph panel"))},
    "edge_mode": {"mode": (True, _choice(EDGE_MODES, "an edge mode"))},
    "setting": {"name": (True, _choice(SETTINGS, "a setting")), "at_least": (False, _number),
                "at_most": (False, _number), "equals": (False, _setting_value)},
}


# -- where a key is written -----------------------------------------------------------------------

def text_line(source: str, key: str, placeholder: str) -> int | None:
    """The line of the first ``{placeholder}`` in the value of ``key`` (or of ``key``)."""
    start = key_line(source, None, key) or 1
    lines = source.splitlines()
    for n in range(start, len(lines) + 1):
        if "{" + placeholder in lines[n - 1]:
            return n
    return start


# -- loading --------------------------------------------------------------------------------------

def placeholders(text: str) -> list[str]:
    """The placeholder names in ``text``; ValueError for braces that are not one."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if name == "" or spec or conversion or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"'{{{name}{'!' + conversion if conversion else ''}"
                             f"{':' + spec if spec else ''}}}' is not a placeholder: write "
                             f"{{name}} with a name from the list, or {{{{ }}}} for a brace")
        names.append(name)
    return names


def parse_lesson(source: str, path: Path) -> Lesson:
    """A lesson from the text of its file; LessonError (with the line) when it is malformed."""
    try:
        data = parse_toml(source)
    except TextFileError as e:
        raise LessonError(str(e), e.line) from None
    for key, value in data.items():
        if key not in TOP_KEYS:
            raise LessonError(f"unknown key {key!r}; a lesson has "
                              f"{', '.join(TOP_KEYS)}", key_line(source, None, key))
        _, check = TOP_KEYS[key]
        problem = check(value) if check else None
        if problem:
            raise LessonError(f"{key} {problem}", key_line(source, None, key))
    for key, (required, _) in TOP_KEYS.items():
        if required and key not in data:
            setup = data.get("setup")
            if isinstance(setup, dict) and key in setup:
                raise LessonError(f"{key} is written inside [setup]: put it above [setup], or "
                                  f"under a [{key}] header", key_line(source, "setup", key))
            raise LessonError(f"{key} is missing", 1)
    for key in ("title", "text", "task", "done"):
        try:
            names = placeholders(data.get(key, ""))
        except ValueError as e:
            raise LessonError(f"{key}: {e}", key_line(source, None, key)) from None
        for name in names:
            if name not in QUANTITIES:
                raise LessonError(f"unknown placeholder {{{name}}} in {key}; known: "
                                  f"{', '.join(sorted(QUANTITIES))}",
                                  text_line(source, key, name))
    setup = data.get("setup", {})
    if not isinstance(setup, dict):
        raise LessonError("setup must be a table ([setup])", key_line(source, None, "setup"))
    for key, value in setup.items():
        if key not in SETUP_KEYS:
            raise LessonError(f"unknown set-up key {key!r}; known: {', '.join(SETUP_KEYS)}",
                              key_line(source, "setup", key))
        problem = SETUP_KEYS[key](value)
        if problem:
            raise LessonError(f"setup.{key} {problem}", key_line(source, "setup", key))
    _check_configuration(setup, source)
    checks = data["check"]
    if isinstance(checks, dict):
        checks = [checks]
    if not isinstance(checks, list) or not checks or not all(isinstance(c, dict) for c in checks):
        raise LessonError("check must be a table ([check] with a kind) or a list of them",
                          key_line(source, None, "check") or key_line(source, "check", "kind"))
    for k, check in enumerate(checks):
        _validate_check(check, source, k)
    return Lesson(id=path.stem, title=data["title"], text=data["text"], task=data["task"],
                  done=data.get("done", ""), highlight=tuple(data.get("highlight", ())),
                  setup=dict(setup), checks=tuple(dict(c) for c in checks), path=path)


def _check_configuration(setup: dict, source: str) -> None:
    """The set-up's network must be one bpviz can build for its data."""
    from .engine.data import REGRESSION
    from .engine.datasets import GENERATORS
    from .engine.errors import ConfigError
    cfg = lesson_config(setup)
    where = (key_line(source, "setup", "output") or key_line(source, "setup", "preset")
             or key_line(source, None, "setup"))
    try:
        cfg.validate()
    except ConfigError as e:
        raise LessonError(f"setup: {e}", where) from None
    regression = GENERATORS[cfg.dataset].task == REGRESSION
    if regression != (cfg.output == "linear"):
        raise LessonError(f"setup: {cfg.dataset} is a "
                          f"{'regression' if regression else 'classification'} dataset: use "
                          f"{'the linear output' if regression else 'a softmax or sigmoid output'}",
                          where)
    _check_places(setup, cfg, source)


def _check_places(setup: dict, cfg, source: str) -> None:
    """The neuron selected, the edges and the sample pinned must exist in the lesson's network
    and data: the window would otherwise set the lesson up without them."""
    from .engine.config import make_dataset
    from .engine.errors import BpvizError
    try:
        data = make_dataset(cfg)
    except BpvizError as e:
        raise LessonError(f"setup: {e}", key_line(source, None, "setup")) from None
    sizes = (data.n_features, *cfg.hidden, data.n_outputs)
    net = "-".join(map(str, sizes))
    last = len(sizes) - 1

    def edge_problem(edge) -> str | None:
        layer, i, j = edge
        if layer > last:
            return (f"names an edge into layer {layer}, but the lesson's network ({net}) has "
                    f"layers 0 to {last}")
        if i >= sizes[layer - 1] or j >= sizes[layer]:
            return (f"names the edge from neuron {i} of layer {layer - 1} into neuron {j} of "
                    f"layer {layer}, but those layers have {sizes[layer - 1]} and {sizes[layer]} "
                    f"neurons (counted from 0) in the lesson's network ({net})")
        return None

    if "select" in setup:
        layer, index = setup["select"]
        problem = None
        if layer > last:
            problem = (f"names layer {layer}, but the lesson's network ({net}) has layers 0 to "
                       f"{last}")
        elif index >= sizes[layer]:
            problem = (f"names neuron {index} of layer {layer}, which has {sizes[layer]} neurons "
                       f"(0 to {sizes[layer] - 1}) in the lesson's network ({net})")
        if problem:
            raise LessonError(f"setup.select {problem}", key_line(source, "setup", "select"))
    if "edge" in setup:
        problem = edge_problem(setup["edge"])
        if problem:
            raise LessonError(f"setup.edge {problem}", key_line(source, "setup", "edge"))
    for k, edge in enumerate(setup.get("surface_axes", ())):
        problem = edge_problem(edge)
        if problem:
            raise LessonError(f"setup.surface_axes item {k + 1} {problem}",
                              key_line(source, "setup", "surface_axes"))
    if "pin" in setup and setup["pin"] >= len(data.X_train):
        raise LessonError(f"setup.pin is {setup['pin']}, but the lesson's data have "
                          f"{len(data.X_train)} training samples (0 to {len(data.X_train) - 1})",
                          key_line(source, "setup", "pin"))


def _validate_check(check: dict, source: str, k: int = 0) -> None:
    kind = check.get("kind")
    if kind is None:
        raise LessonError("a check needs a kind", key_line(source, "check", "kind", k)
                          or key_line(source, None, "check"))
    if not isinstance(kind, str):
        raise LessonError(f"a check's kind must be text: one of {', '.join(CHECKS)}",
                          key_line(source, "check", "kind", k))
    if kind not in CHECKS:
        raise LessonError(f"unknown check kind {kind!r}; choose one of {', '.join(CHECKS)}",
                          key_line(source, "check", "kind", k))
    params = CHECKS[kind]
    for key, value in check.items():
        if key == "kind":
            continue
        if key not in params:
            known = ", ".join(params) or "no parameters"
            raise LessonError(f"check {kind!r} has no parameter {key!r} (it takes {known})",
                              key_line(source, "check", key, k))
        problem = params[key][1](value)
        if problem:
            raise LessonError(f"check {kind!r}: {key} {problem}", key_line(source, "check", key, k))
    for key, (required, _) in params.items():
        if required and key not in check:
            raise LessonError(f"check {kind!r} needs {key}", key_line(source, "check", "kind", k))
    if kind == "setting" and not any(k in check for k in ("at_least", "at_most", "equals")):
        raise LessonError("check 'setting' needs at_least, at_most or equals",
                          key_line(source, "check", "kind", k))
    if kind == "setting":
        _validate_setting(check, source, k)


def _validate_setting(check: dict, source: str, k: int) -> None:
    """A "setting" check's values must be ones the window can show: a misspelt activation
    (``equals = "tahn"``) would leave the lesson undone for ever."""
    name = check["name"]
    text = {"activation": tuple(ACTIVATIONS), "optimizer": OPTIMIZERS}.get(name)
    noun = {"activation": "an activation", "optimizer": "an optimizer"}.get(name, "")
    for key in ("at_least", "at_most", "equals"):
        if key not in check:
            continue
        value, line = check[key], key_line(source, "check", key, k)
        if text is not None:
            if key != "equals":
                raise LessonError(f"check 'setting': {name} is a name, not a number: use equals "
                                  f"(one of {', '.join(text)})", line)
            problem = _choice(text, noun)(value)
        elif name == "hidden_layers":
            problem = _int_at_least(0)(value)
        elif name == "batch_size":
            problem = _int_at_least(0)(value)
        else:
            problem = _range(name)(value)
        if problem:
            suffix = "" if noun else f" (for {name})"
            raise LessonError(f"check 'setting': {key} {problem}{suffix}", line)


def load_lesson(path) -> Lesson:
    """The lesson in file ``path``: a regular file of at most ``MAX_LESSON_BYTES`` of UTF-8;
    LessonError (with the line where it can say) otherwise."""
    path = Path(path)
    try:
        source = read_text(path, MAX_LESSON_BYTES)
    except TextFileError as e:
        raise LessonError(str(e), e.line) from None
    return parse_lesson(source, path)


def load_lessons(folder=None) -> tuple[list[Lesson], list[Refusal]]:
    """Every ``*.toml`` lesson in ``folder`` (default: every folder of :func:`lesson_folders`,
    one after the other), each folder's in the order of their names, and the files refused.
    Nothing a file holds raises: a file that cannot be used is a Refusal."""
    folders = [Path(folder)] if folder is not None else lesson_folders()
    lessons, refused = [], []
    for k, where in enumerate(folders):
        try:
            paths = sorted(where.glob("*.toml")) if where.is_dir() else []
        except OSError as e:
            refused.append(Refusal(where, None, f"cannot list the folder: {e.strerror or e}"))
            continue
        if len(paths) > MAX_LESSON_FILES:
            refused.append(Refusal(paths[MAX_LESSON_FILES], None,
                                   f"and {len(paths) - MAX_LESSON_FILES - 1} more files not read: "
                                   f"a folder holds at most {MAX_LESSON_FILES} lessons"))
            paths = paths[:MAX_LESSON_FILES]
        for path in paths:
            try:
                lesson = load_lesson(path)
            except LessonError as e:
                refused.append(Refusal(path, e.line, str(e)))
                continue
            except Exception as e:       # noqa: BLE001 - untrusted input: refuse the file
                refused.append(Refusal(path, None, f"cannot be read as a lesson "
                                                   f"({type(e).__name__}: {e})"))
                continue
            if folder is None and k > 0:      # not bpviz's own: its own progress key
                lesson = replace(lesson, id=str(path.absolute()))
            lessons.append(lesson)
    return lessons, refused


def check_lesson_number(number: int, folder=None) -> Lesson:
    """Lesson ``number`` (1-based, in the order the panel lists them); ConfigError when there is
    no such lesson."""
    from .engine.errors import ConfigError
    lessons, refused = load_lessons(folder)
    if not 1 <= number <= len(lessons):
        extra = f" ({len(refused)} file(s) refused: {refused[0]})" if refused else ""
        raise ConfigError(f"--lesson {number}: there are lessons 1 to {len(lessons)}{extra}"
                          if lessons else f"--lesson {number}: no lesson could be loaded{extra}")
    return lessons[number - 1]


def lesson_config(setup: dict):
    """The Config a lesson's set-up asks for (its preset with the set-up's changes)."""
    from .engine.config import Config
    cfg = Config.preset(setup.get("preset", "gaussian-clouds"))
    for key in CONFIG_KEYS:
        if key in setup:
            setattr(cfg, key, tuple(setup[key]) if key == "hidden" else setup[key])
    if "optimizer" not in setup and setup.get("momentum", 0) > 0 and cfg.optimizer == "sgd":
        cfg.optimizer = "momentum"
    return cfg


# -- what the learner did, and the checks -------------------------------------------------------

@dataclass
class Observed:
    """What the window shows and what the learner did since the lesson opened."""

    snapshot: Any = None                   # the newest Snapshot
    clicked: list = field(default_factory=list)       # neurons clicked, (layer, index)
    samples_stepped: int = 0
    passes_trained: int = 0
    diverged: bool = False
    surface_dragged: bool = False
    graph_stage: str | None = None         # None: no graph panel
    edge_mode: str | None = None

    def see(self, snap, previous=None, settings=()) -> None:
        """Take in a new snapshot (``previous``: the one before, to count passes). Passes count
        only while every check of ``settings`` (the lesson's "setting" checks) holds: "train 50
        passes with momentum" counts no pass trained without it."""
        if previous is not None and snap.pass_count > previous.pass_count:
            probe = Observed(snapshot=snap)
            if all(check_done(c, probe) for c in settings):
                self.passes_trained += snap.pass_count - previous.pass_count
        if snap.stepped_sample is not None and (previous is None or snap.seq != previous.seq):
            self.samples_stepped += 1
        if snap.diverged:
            self.diverged = True
        self.snapshot = snap


def setting_value(snap, name: str):
    if name == "activation":
        return snap.activations[0] if len(snap.activations) > 1 else None
    if name == "hidden_layers":
        return len(snap.sizes) - 2
    return getattr(snap, name)


def check_done(check: dict, seen: Observed) -> bool:
    """True when the learner did what ``check`` asks (a missing panel: not done)."""
    kind = check["kind"]
    if kind == "neuron_selected":
        return any(("layer" not in check or layer == check["layer"])
                   and ("index" not in check or index == check["index"])
                   for layer, index in seen.clicked)
    if kind == "samples_stepped":
        return seen.samples_stepped >= check["at_least"]
    if kind == "passes_trained":
        return seen.passes_trained >= check["at_least"]
    if kind == "diverged":
        return seen.diverged
    if kind == "surface_point_dragged":
        return seen.surface_dragged
    if kind == "graph_stage":
        return seen.graph_stage is not None and seen.graph_stage == check["stage"]
    if kind == "edge_mode":
        return seen.edge_mode == check["mode"]
    if kind == "setting":
        if seen.snapshot is None:
            return False
        value = setting_value(seen.snapshot, check["name"])
        if "equals" in check and value != check["equals"]:
            return False
        if "at_least" in check and not (_is_number(value) and value >= check["at_least"]):
            return False
        if "at_most" in check and not (_is_number(value) and value <= check["at_most"]):
            return False
        return True
    raise LessonError(f"unknown check kind {kind!r}")


def all_done(checks, seen: Observed) -> bool:
    return all(check_done(c, seen) for c in checks)


# -- counting multiplications -------------------------------------------------------------------

def multiplication_counts(sizes) -> tuple[int, int]:
    """Multiplications one sample's weight derivatives take, given the forward pass's z and a:
    (backpropagation, every path separately).

    Backpropagation: δ at the output is y − t (no multiplication); a hidden layer's δ takes
    n_l·n_{l+1} multiplications for the weighted sum of the deltas above and n_l for the f′(z)
    factors; each weight's derivative a·δ takes one more.

    Every path separately: ∂L/∂w for w from neuron i into neuron j (m layers below the output)
    is a_i times the sum over every path from j to an output neuron k of
    δ_k · (the m weights on the path) · (f′ at j and at the m − 1 neurons between): 2m
    multiplications a path, one more for a_i.
    """
    sizes = [int(n) for n in sizes]
    L = len(sizes) - 1
    weights = sum(sizes[l - 1] * sizes[l] for l in range(1, L + 1))
    backprop = weights + sum(sizes[l] * sizes[l + 1] + sizes[l] for l in range(1, L))
    paths = 0
    for l in range(1, L + 1):
        m = L - l
        n_paths = math.prod(sizes[l + 1:])
        paths += sizes[l - 1] * sizes[l] * (1 + n_paths * 2 * m)
    return backprop, paths


# -- the quantities the texts show --------------------------------------------------------------

def fmt(v) -> str:
    """A number as the lessons show it: bpviz's one format (:func:`.engine.numbers.fmt`)."""
    return numbers.fmt(v)


def fmt_vector(values) -> str:
    return "(" + ", ".join(fmt(v) for v in np.asarray(values, float).ravel()) + ")"


@dataclass(frozen=True)
class Context:
    """What the quantities are computed from."""

    snapshot: Any
    selected: tuple[int, int] | None = None       # (layer, index) of the selected neuron
    edge: tuple[int, int, int] | None = None      # (weights index, i, j) of the edge in focus
    axes: tuple | None = None                     # the error surface's two axes (engine Axis)
    graph_stage: str | None = None
    # the history's last row (its columns by name: epoch, loss, accuracy, test_loss,
    # test_accuracy, ...), as :func:`last_history_row` keeps it; None before the first epoch
    history: dict | None = None


def last_history_row(snap, kept: dict | None) -> dict | None:
    """The history's last row once ``snap`` arrived, ``kept`` being the row known before it:
    the newest of its new rows, else ``kept`` (None after a rewind that brought no row, or on a
    new network: the row to show is not known until the next epoch ends)."""
    rows = np.asarray(snap.new_history)
    if rows.ndim == 2 and len(rows):
        return {name: float(v) for name, v in zip(snap.history_header, rows[-1])}
    if snap.history_length == 0 or snap.rewound_to is not None:
        return None
    return kept


def _sample(c: Context):
    s = c.snapshot.sample if c.snapshot is not None else None
    if s is None:
        raise LookupError
    return s


def _neuron(c: Context) -> tuple[int, int]:
    if c.selected is None or c.selected[0] < 1:
        raise LookupError
    return c.selected


def _incoming(c: Context):
    layer, j = _neuron(c)
    s = _sample(c)
    W = c.snapshot.trace_weights[layer - 1]
    return s.a[layer - 1], W[:, j], c.snapshot.trace_biases[layer - 1][j]


def _back_sum(c: Context) -> float:
    layer, j = _neuron(c)
    s = _sample(c)
    if layer >= len(c.snapshot.sizes) - 1:
        raise LookupError
    return float(c.snapshot.trace_weights[layer][j, :] @ s.delta[layer])


def _fprime(c: Context) -> float:
    layer, j = _neuron(c)
    s = _sample(c)
    if layer >= len(c.snapshot.sizes) - 1:
        raise LookupError
    act = ACTIVATIONS[c.snapshot.activations[layer - 1]]
    z, a = np.array([s.z[layer - 1][j]]), np.array([s.a[layer][j]])
    return float(act.df(z, a)[0])


def _edge(c: Context) -> tuple[int, int, int]:
    """The edge in focus, else the one from neuron 0 of the layer below the selected neuron,
    as (weights index, i, j)."""
    if c.edge is not None:
        return tuple(c.edge)
    layer, j = _neuron(c)
    return layer - 1, 0, j


def _grad_norms(c: Context) -> list[float]:
    snap = c.snapshot
    return [float(np.sqrt((g * g).sum() + (gb * gb).sum()))
            for g, gb in zip(snap.grad_weights, snap.grad_biases)]


def _dead(c: Context) -> int:
    snap = c.snapshot
    count = 0
    for k, name in enumerate(snap.activations[:-1]):
        if name == "relu":
            count += int(np.sum(np.asarray(snap.activation_mean[k + 1]) == 0.0))
    return count


def _axis(c: Context, k: int):
    if not c.axes or c.axes[k].kind not in ("weight", "bias"):
        raise LookupError
    return c.axes[k]


def _axis_value(c: Context, k: int) -> float:
    ax = _axis(c, k)
    if ax.kind == "weight":
        return float(c.snapshot.weights[ax.layer][ax.i, ax.j])
    return float(c.snapshot.biases[ax.layer][ax.j])


def _counts(c):
    return multiplication_counts(c.snapshot.sizes)


def _fraction(v: float) -> str:
    """An accuracy, to three decimals as the status bar shows it ("0.973"); "—" when there is
    none (NaN: a regression task, or no test set)."""
    v = float(v)
    return f"{v:.3f}" if math.isfinite(v) else numbers.NO_NUMBER


def _history(c: Context, name: str) -> float:
    if c.history is None or name not in c.history:
        raise LookupError
    return c.history[name]


def _shown_pass(c: Context) -> int:
    """The pass shown, counted from 1, as the status bar says it: while a pass is walked phase
    by phase, the pass being walked."""
    snap = c.snapshot
    phase = getattr(snap, "phase", None)
    return snap.pass_count + 1 if phase is not None and phase.kind != UPDATE else snap.pass_count


# name: (what it is, how it is computed → text)
QUANTITIES: dict[str, tuple[str, Callable[[Context], str]]] = {
    "layer": ("the selected neuron's layer", lambda c: str(_neuron(c)[0])),
    "neuron": ("the selected neuron's index in its layer", lambda c: str(_neuron(c)[1])),
    "sample": ("the pinned sample's index", lambda c: str(_sample(c).index)),
    "x": ("the pinned sample's input", lambda c: fmt_vector(_sample(c).x)),
    "activation": ("the selected neuron's activation function",
                   lambda c: c.snapshot.activations[_neuron(c)[0] - 1]),
    "inputs": ("the activations feeding the selected neuron (pinned sample)",
               lambda c: fmt_vector(_incoming(c)[0])),
    "weights_in": ("the weights into the selected neuron", lambda c: fmt_vector(_incoming(c)[1])),
    "weighted_sum": ("Σ w·a into the selected neuron",
                     lambda c: fmt(_incoming(c)[0] @ _incoming(c)[1])),
    "bias": ("the selected neuron's bias", lambda c: fmt(_incoming(c)[2])),
    "z": ("the selected neuron's z (pinned sample)",
          lambda c: fmt(_sample(c).z[_neuron(c)[0] - 1][_neuron(c)[1]])),
    "a": ("the selected neuron's a (pinned sample)",
          lambda c: fmt(_sample(c).a[_neuron(c)[0]][_neuron(c)[1]])),
    "delta": ("the selected neuron's δ (pinned sample)",
              lambda c: fmt(_sample(c).delta[_neuron(c)[0] - 1][_neuron(c)[1]])),
    "fprime": ("f′(z) of the selected (hidden) neuron", lambda c: fmt(_fprime(c))),
    "back_sum": ("Σ w·δ from the layer above the selected neuron", lambda c: fmt(_back_sum(c))),
    "uplinks": ("how many neurons the selected neuron feeds",
                lambda c: str(c.snapshot.sizes[_neuron(c)[0] + 1])
                if _neuron(c)[0] < len(c.snapshot.sizes) - 1 else "0"),
    "y": ("the network's output for the pinned sample", lambda c: fmt_vector(_sample(c).a[-1])),
    "t": ("the pinned sample's target", lambda c: fmt_vector(_sample(c).target)),
    "delta_out": ("the output deltas for the pinned sample",
                  lambda c: fmt_vector(_sample(c).delta[-1])),
    "sizes": ("the layer sizes", lambda c: "-".join(map(str, c.snapshot.sizes))),
    "loss": ("the loss of the last pass", lambda c: fmt(c.snapshot.loss)),
    "train_loss": ("the whole training set's loss at the current weights (the status bar's)",
                   lambda c: fmt(c.snapshot.train_loss_now)),
    "accuracy": ("the whole training set's accuracy at the current weights, 0 to 1 (the status "
                 "bar's; — for a regression task)",
                 lambda c: _fraction(c.snapshot.train_accuracy_now)),
    "test_loss": ("the test set's loss as the cost curve's last point has it: at the weights "
                  "the last epoch started from (— without a test set)",
                  lambda c: fmt(_history(c, "test_loss"))),
    "test_accuracy": ("the test set's accuracy as the cost curve's last point has it, 0 to 1",
                      lambda c: _fraction(_history(c, "test_accuracy"))),
    "epoch": ("completed epochs", lambda c: str(c.snapshot.epoch)),
    "passes": ("completed passes", lambda c: str(c.snapshot.pass_count)),
    "pass": ("the pass shown, as the status bar counts it (the one being walked, phase by "
             "phase)", lambda c: str(_shown_pass(c))),
    "lr": ("the learning rate η", lambda c: fmt(c.snapshot.lr)),
    "momentum": ("the momentum α", lambda c: fmt(c.snapshot.momentum)),
    "optimizer": ("the optimizer", lambda c: c.snapshot.optimizer),
    "n_weights": ("the number of weights", lambda c: str(sum(W.size for W in c.snapshot.weights))),
    "mults_backprop": ("multiplications backprop does for one sample's derivatives",
                       lambda c: f"{_counts(c)[0]:,}"),
    "mults_paths": ("multiplications every path separately takes",
                    lambda c: f"{_counts(c)[1]:,}"),
    "mults_ratio": ("mults_paths / mults_backprop", lambda c: numbers.fmt(_counts(c)[1] / _counts(c)[0], 3)),
    "edge": ("the edge in the diagram's edit strip (else the one from neuron 0 of the layer "
             "below into the selected neuron)",
             lambda c: f"neuron {_edge(c)[1]} of layer {_edge(c)[0]} → neuron {_edge(c)[2]} of "
                       f"layer {_edge(c)[0] + 1}"),
    "edge_delta": ("δ at that edge's end (pinned sample)",
                   lambda c: fmt(_sample(c).delta[_edge(c)[0]][_edge(c)[2]])),
    "edge_weight": ("that edge's weight", lambda c: fmt(c.snapshot.weights[_edge(c)[0]][
        _edge(c)[1], _edge(c)[2]])),
    "edge_a": ("a at that edge's start (pinned sample)",
               lambda c: fmt(_sample(c).a[_edge(c)[0]][_edge(c)[1]])),
    "edge_grad_sample": ("a·δ of that edge for the pinned sample",
                         lambda c: fmt(_sample(c).a[_edge(c)[0]][_edge(c)[1]]
                                       * _sample(c).delta[_edge(c)[0]][_edge(c)[2]])),
    "edge_grad": ("∂L/∂w of that edge over the batch (the gradient overlay)",
                  lambda c: fmt(c.snapshot.grad_weights[_edge(c)[0]][_edge(c)[1], _edge(c)[2]])),
    "edge_step": ("−η·∂L/∂w of that edge",
                  lambda c: fmt(-c.snapshot.lr
                                * c.snapshot.grad_weights[_edge(c)[0]][_edge(c)[1], _edge(c)[2]])),
    "edge_update": ("the update Δw the last pass made on that edge",
                    lambda c: fmt(c.snapshot.update_weights[_edge(c)[0]][_edge(c)[1], _edge(c)[2]])
                    if c.snapshot.has_update else "— (no update yet)"),
    "grad_norms": ("the gradient norm of every layer, input side first",
                   lambda c: ", ".join(fmt(v) for v in _grad_norms(c))),
    "grad_ratio": ("first layer's gradient norm / last layer's",
                   lambda c: fmt(_grad_norms(c)[0] / _grad_norms(c)[-1])
                   if _grad_norms(c)[-1] > 0 else "—"),
    "dead_relus": ("hidden ReLU neurons whose output is 0 for the whole batch",
                   lambda c: str(_dead(c))),
    "axis_x": ("the error surface's horizontal axis", lambda c: _axis(c, 0).label()),
    "axis_y": ("the error surface's vertical axis", lambda c: _axis(c, 1).label()),
    "w_x": ("the weight on the horizontal axis", lambda c: fmt(_axis_value(c, 0))),
    "w_y": ("the weight on the vertical axis", lambda c: fmt(_axis_value(c, 1))),
    "graph_stage": ("where the Graph panel's walk is",
                    lambda c: c.graph_stage or "— (no Graph panel)"),
}


def quantities(ctx: Context, names=None) -> dict[str, str]:
    """The text of every quantity (or of ``names``); one that does not apply reads '—'."""
    out = {}
    for name in (names if names is not None else QUANTITIES):
        try:
            out[name] = QUANTITIES[name][1](ctx) if ctx.snapshot is not None else "—"
        except (LookupError, ValueError, ArithmeticError, TypeError, AttributeError):
            out[name] = "—"
    return out


def render(text: str, ctx: Context) -> str:
    """``text`` with its placeholders filled from ``ctx``."""
    return text.format_map(quantities(ctx, placeholders(text)))

