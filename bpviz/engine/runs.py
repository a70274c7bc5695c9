"""Runs side by side (numpy only): read runs, say what differs between them, and the tables of
their curves and descent paths, for ``bpviz compare`` and the cost panel's kept runs.

A run is a session file (``.bpviz``) or a folder ``bpviz train --out`` wrote: its
``history.csv`` (read as written: the curves are the run's own numbers), ``config.json`` (the
configuration, with the live settings in force) and, when there, ``session.bpviz`` for the descent
path. Each run is labelled with the settings that differ between the runs compared
(:func:`differences`: "η = 0.05", "η = 1.5", ...); runs that differ in nothing are told apart by
their names.

Descent paths of runs of one network shape are drawn in one plane: the two principal directions
of all their recorded points together (:func:`common_plane`), so that paths from one start that
part are seen to part.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ConfigError
from .ranges import format_number
from .tables import Table

# the settings a label may name, in this order, with the symbol the window uses
SETTING_NAMES = {
    "dataset": "data", "data_file": "file", "label": "label", "standardize": "standardised",
    "n_samples": "samples", "noise": "noise", "test_fraction": "test fraction",
    "hidden": "hidden", "activation": "activation", "output": "output", "init": "init",
    "seed": "seed", "optimizer": "optimizer", "lr": "η", "momentum": "α",
    "batch_size": "batch", "l2": "λ", "epochs": "epochs",
}


@dataclass(frozen=True)
class Run:
    """One run as read from its files."""

    name: str                                 # the path as given
    config: dict                              # Config.to_dict(), the live settings in force
    header: tuple[str, ...]                   # history.csv's columns
    history: np.ndarray                       # (epochs, columns), as history.csv holds them
    trajectory: np.ndarray | None = None      # (K, P) recorded parameters, or None
    trajectory_passes: np.ndarray | None = None


def load_run(path) -> Run:
    """The run in ``path``: a session file or a ``train --out`` folder. Raises ConfigError (or
    SessionError) with one line naming the path and what is wrong."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    return _load_session(path, str(path))


def _load_session(path: Path, name: str, header=None, history=None, config=None) -> Run:
    from .session import LIVE_SETTINGS, load_session
    session = load_session(path)
    trainer = session.trainer
    if config is None:
        config = session.config.to_dict()
        config.update({k: getattr(trainer, k) for k in LIVE_SETTINGS})
    if history is None:
        header = tuple(trainer.history.header(trainer.network.n_layers))
        history = trainer.history.table()
    trajectory = session.trajectory
    has_path = trajectory is not None and trajectory.count > 0
    return Run(name, config, tuple(header), np.asarray(history, float),
               trajectory.points.copy() if has_path else None,
               trajectory.passes.copy() if has_path else None)


def _load_folder(folder: Path) -> Run:
    history_csv, config_json = folder / "history.csv", folder / "config.json"
    if not history_csv.is_file():
        raise ConfigError(f"{folder}: not a folder `bpviz train --out` wrote (no history.csv)")
    header, history = read_history(history_csv)
    config = None
    if config_json.is_file():
        try:
            written = json.loads(config_json.read_text(encoding="utf-8"))
            config = dict(written["config"])
            config.update(written.get("live") or {})
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{config_json}: not a config.json bpviz wrote ({e})") from None
    session = folder / "session.bpviz"
    if session.is_file():
        return _load_session(session, str(folder), header, history, config)
    return Run(str(folder), config or {}, header, history)


def read_history(path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """``history.csv``'s header and rows (numbers as written, so equal to the run's own)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read it: {getattr(e, 'strerror', None) or e}") \
            from None
    if not rows or rows[0][:2] != ["epoch", "loss"]:
        raise ConfigError(f"{path}: not a history.csv bpviz wrote (its first columns are "
                          f"epoch, loss)")
    header = tuple(rows[0])
    try:
        values = np.array([[float(v) for v in row] for row in rows[1:]], float)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    if len(values) and values.shape[1] != len(header):
        raise ConfigError(f"{path}: rows do not have the header's {len(header)} columns")
    return header, values.reshape(-1, len(header))


def _shown(key: str, value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "batch_size" and value == 0:
        return "full"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "none"
    return "default" if value is None else str(value)


def differing(configs: Sequence[dict]) -> list[str]:
    """The settings whose values differ between ``configs``, in :data:`SETTING_NAMES` order;
    ``epochs`` only when nothing else does (a longer run of the same settings)."""
    keys = [k for k in SETTING_NAMES
            if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1]
    return [k for k in keys if k != "epochs"] or keys


def differences(configs: Sequence[dict], names: Sequence[str] = (),
                keys: Sequence[str] | None = None) -> list[str]:
    """A label per run: the settings that differ between ``configs`` (or the settings ``keys``)
    ("η = 0.05, batch = 32"), or, where none does, the run's name (``names``) or its number."""
    if keys is None:
        keys = differing(configs) if len(configs) > 1 else []
    labels = []
    for k, config in enumerate(configs):
        text = ", ".join(f"{SETTING_NAMES[key]} = {_shown(key, config.get(key))}" for key in keys)
        labels.append(text or (names[k] if k < len(names) else f"run {k + 1}"))
    if len(set(labels)) < len(labels):          # the same settings twice: number them
        labels = [f"{label} ({k + 1})" for k, label in enumerate(labels)]
    return labels


def title(configs: Sequence[dict]) -> str:
    """What the runs compare, in one line: "η = 0.05 / 1.5 / 200" for one setting that differs,
    "runs compared" otherwise."""
    keys = differing(configs) if len(configs) > 1 else []
    if len(keys) == 1:
        key = keys[0]
        return f"{SETTING_NAMES[key]} = " + " / ".join(_shown(key, c.get(key)) for c in configs)
    return "runs compared: " + ", ".join(SETTING_NAMES[k] for k in keys) if keys else \
        "runs compared"


def common_plane(runs: Sequence[Run]):
    """(origin, axes (2, P)) of the plane the runs' descent paths are drawn in: the mean of all
    recorded points and their two principal directions; None when no run records a path, or all their points are one (the paths of another parameter count than the first one
    recorded are left out)."""
    paths = [r.trajectory for r in runs if r.trajectory is not None]
    if not paths:
        return None
    size = paths[0].shape[1]
    points = np.vstack([p for p in paths if p.shape[1] == size])
    origin = points.mean(axis=0)
    centred = points - origin
    if len(points) < 2 or not np.any(centred):
        return None
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    if len(axes) < 2:
        axes = np.vstack([axes, np.zeros(size)])
    return origin, axes


def projected(run: Run, plane) -> np.ndarray | None:
    """``run``'s descent path in ``plane`` ((K, 2)), or None when it has none there."""
    if plane is None or run.trajectory is None:
        return None
    origin, axes = plane
    if run.trajectory.shape[1] != len(origin):
        return None
    return (run.trajectory - origin) @ axes.T


def compare_tables(runs: Sequence[Run], labels: Sequence[str]) -> dict[str, Table]:
    """The curves of every run, one row per run and epoch (``run``, ``label``, then the columns
    of all the runs' history.csv, empty where a run has no such column), and the descent paths
    in the common plane (``paths``: run, label, pass, pc1, pc2)."""
    columns: list[str] = []
    for r in runs:
        columns += [c for c in r.header if c not in columns]
    rows = []
    for r, label in zip(runs, labels):
        index = {c: k for k, c in enumerate(r.header)}
        for values in r.history.tolist():
            cells = [values[index[c]] if c in index else "" for c in columns]
            if "epoch" in index:
                cells[columns.index("epoch")] = int(values[index["epoch"]])
            rows.append([r.name, label, *cells])
    plane = common_plane(runs)
    paths = []
    for r, label in zip(runs, labels):
        xy = projected(r, plane)
        if xy is not None:
            paths += [[r.name, label, int(p), x, y]
                      for p, (x, y) in zip(r.trajectory_passes.tolist(), xy.tolist())]
    return {"": Table(("run", "label", *columns), rows),
            "paths": Table(("run", "label", "pass", "pc1", "pc2"), paths)}
