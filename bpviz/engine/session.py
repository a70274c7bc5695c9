"""Session files (``.bpviz``): a training run saved whole, so that it resumes bit for bit.

::

    save_session("run.bpviz", trainer, config, trajectory=traj, extra={"selected": [1, 0]})
    session = load_session("run.bpviz")   # .config .dataset .network .trainer .trajectory .extra
    session.trainer.run(epochs=10)        # exactly as if training had never stopped

File format, version 1
----------------------
A zip archive (deflate) that is also a valid ``.npz``: ``numpy.load(path)`` lists its arrays.

``session.json``, a UTF-8 JSON object:

=================  ================================================================================
``format``         ``"bpviz-session"``
``version``        the format version, 1 (``FORMAT_VERSION``); a reader refuses a newer one
``bpviz_version``  the bpviz that wrote the file
``config``         ``Config.to_dict()``
``dataset``        how to get the training data back (below)
``trainer``        ``Trainer.get_state()``: weights, optimizer state, counters, the current epoch's
                   order, the shuffle generator, live hyper-parameters, history, last divergence,
                   the loss the run started at and the divergence factor (files written before
                   these two existed take the start from the history's first row and the factor
                   from the configuration)
``trajectory``     null, or the weight trajectory: ``capacity``, ``stride``, ``version``,
                   ``points`` (K, P) and ``passes`` (K,)
``extra``          the window's selections and view, plain JSON, given back as saved: the selected
                   neuron, pinned sample, focus, surface mode and axes, step mode, what the edges
                   and neurons show (``edges``, ``neurons``), ``speed`` (passes per second or
                   ``"max"``), ``phases`` and ``layout`` (``state``: the panels' arrangement in
                   base64, ``version``, ``front`` and ``closed``: panel names)
``shown``          optional (files written before it have none): what the panels show beyond the
                   state — ``trace``, null (a trace at the current weights) or the pass it is of:
                   ``weights`` and ``biases`` it ran at and ``batch``, its training samples (null:
                   all); ``pass_log``, (k, 3) rows of pass, position and batch loss
=================  ================================================================================

``<name>.npy``: every array of ``dataset``, ``trainer`` and ``trajectory``, one member each, in
numpy's ``.npy`` format (never pickled objects). In the JSON an array is the object
``{"$array": "<name>"}``, e.g. ``{"$array": "trainer/weights/0"}`` for ``trainer/weights/0.npy``.

The ``dataset`` entry holds ``sha256``, the checksum of the training and test arrays
(:func:`dataset_checksum`), and one of three ``kind``\\ s:

=============  ====================================================================================
``generated``  a generator's data: made again from ``config`` when loading, checked against sha256
``embedded``   CSV data under ``EMBED_LIMIT_BYTES`` (5 MB): the arrays ``X_train``, ``y_train``,
               ``X_test``, ``y_test`` and the metadata ``name``, ``task``, ``class_names``,
               ``feature_names``, ``target_names``, ``source``, ``params``
``file``       larger CSV data: the file's absolute ``path`` and ``file_sha256``; when loading, the
               file is read again (from ``path``, else a file of the same name beside the session)
               and must not have changed
=============  ====================================================================================

Saving is atomic: the archive goes to a temporary file in the same folder, is flushed to disk and
renamed over ``path``, so a crash mid-save leaves any previous file whole and no temporary file.
Loading builds everything (configuration, data, network, trainer, trajectory) before it returns.

Nothing is inflated before its size is known to fit: ``session.json`` must declare at most
``MAX_MANIFEST_BYTES``; then every array the manifest refers to must declare (in the zip's
directory) no more than what the session's own configuration can need — a parameter array no more
than the network's largest weight matrix, the history one row per epoch done, the epoch's order
one entry per sample, embedded data under ``EMBED_LIMIT_BYTES``, the trajectory what the window
keeps, the pass log ``MAX_PASS_ROWS`` rows — and all of them together at most
``MAX_SESSION_BYTES``. Each array's ``.npy`` header is read (a few bytes) and its shape checked
against the same limit before its data is read, straight into the array. A file that declares more is refused before anything large is read.
Anything wrong (not a zip or truncated, a missing member, a foreign or newer format, arrays of the
wrong shape, non-finite weights, a counter outside its range (``ranges.COUNTS``), history rows out
of order, selections in ``extra`` that are not of this network and data (or view values of the
wrong kind or size: a speed outside ``SPEED``, a name longer than ``MAX_NAME_CHARS``, a layout
larger than ``MAX_LAYOUT_CHARS``), a shown trace not of this network or its samples, a pass log out
of order or past the run, data that does not match its checksum, a CSV file missing, changed or
larger than a CSV file may be — its size is checked before it is read) raises :class:`SessionError` with one line naming the file and the problem; no other
exception escapes ``load_session``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from .. import __version__
from . import csvdata, datasets, trajectory as trajectory_module
from .config import MEMORY_LIMIT_BYTES, Config, build, make_dataset
from .data import CLASSIFICATION, REGRESSION, Dataset
from .errors import BpvizError, ConfigError, SessionError
from .fileset import write_file
from .network import Network
from .passlog import MAX_PASS_ROWS
from .ranges import COUNTS, Range, whole_number
from .trainer import MT19937_WORDS, Trainer
from .trajectory import Trajectory

FORMAT_NAME = "bpviz-session"
FORMAT_VERSION = 1
MANIFEST = "session.json"
ARRAY_KEY = "$array"
EMBED_LIMIT_BYTES = 5 * 1024 ** 2      # CSV data smaller than this is stored in the session
MAX_MEMBER_BYTES = MEMORY_LIMIT_BYTES  # a larger member is refused before it is decompressed
MAX_MANIFEST_BYTES = 16 * 1024 ** 2    # session.json: the configuration, counters and selections
MAX_SESSION_BYTES = 2 * 1024 ** 3      # every array of a session together, as declared
NPY_HEADER_BYTES = 10_000 + 12         # the largest .npy header numpy reads, with its preamble
LIVE_SETTINGS = ("lr", "momentum", "batch_size", "l2", "divergence_factor")
MANIFEST_KEYS = ("bpviz_version", "config", "dataset", "trainer", "trajectory", "extra")
# the window's view in ``extra``: names (modes, panels) and the panels' arrangement
MAX_NAME_CHARS = 40
MAX_PANELS = 64
MAX_LAYOUT_CHARS = 1024 ** 2
SPEED = Range("the speed", 1, 1_000_000, integer=True)      # passes per second; "max" beside it


@dataclass
class Session:
    """A loaded session, ready to train on."""

    config: Config
    dataset: Dataset
    network: Network
    trainer: Trainer
    trajectory: Trajectory | None
    extra: dict
    version: int          # the file's format version
    bpviz_version: str    # the bpviz that wrote it
    shown: dict | None = None   # what the panels showed beyond the state (``save_session``)


# -- checksums ---------------------------------------------------------------------------------

def dataset_checksum(dataset: Dataset) -> str:
    """SHA-256 over X_train, y_train, X_test and y_test: each one's dtype, shape and C-order
    little-endian bytes."""
    h = hashlib.sha256()
    for a in (dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test):
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a)
    return h.hexdigest()


def file_checksum(path, max_bytes: int | None = None) -> str:
    """SHA-256 of a file's bytes; with ``max_bytes``, ValueError once more than that was read
    (a file that grew since its size was checked is not read on for ever)."""
    h = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            done += len(chunk)
            if max_bytes is not None and done > max_bytes:
                raise ValueError(f"{path} is larger than {max_bytes:,} bytes")
            h.update(chunk)
    return h.hexdigest()


# -- saving ------------------------------------------------------------------------------------

def save_session(path, trainer: Trainer, config: Config, *, trajectory: Trajectory | None = None,
                 extra: dict | None = None, shown: dict | None = None) -> None:
    """Save ``trainer`` (its data, network and complete state), the ``config`` it was built from,
    the weight ``trajectory`` if given, ``extra`` (plain JSON: dicts, lists, strings, numbers)
    and ``shown`` (what the panels show beyond the state: ``{"trace": None or {"weights",
    "biases", "batch"}, "pass_log": (k, 3) array}``, see the module's notes) to ``path``,
    atomically (:func:`bpviz.engine.fileset.write_file`).

    Raises OSError when the file cannot be written and TypeError when ``extra`` is not plain JSON;
    in both cases an existing file at ``path`` is left as it was.
    """
    write_file(path, partial(write_session, trainer=trainer, config=config, trajectory=trajectory,
                             extra=extra, shown=shown))


def write_session(file, trainer: Trainer, config: Config, *,
                  trajectory: Trajectory | None = None, extra: dict | None = None,
                  shown: dict | None = None) -> None:
    """The session archive of :func:`save_session` written to ``file`` (a new file's path or a
    binary file object) as it is, not atomically: for a file that is one of a
    :class:`~bpviz.engine.fileset.FileSet`'s."""
    arrays: dict[str, np.ndarray] = {}
    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "bpviz_version": __version__,
        "config": config.to_dict(),
        "dataset": _encode(_dataset_entry(trainer.dataset, config), "dataset", arrays),
        "trainer": _encode(trainer.get_state(), "trainer", arrays),
        "trajectory": (None if trajectory is None else
                       _encode(_trajectory_state(trajectory), "trajectory", arrays)),
        "extra": {} if extra is None else extra,
    }
    if shown is not None:
        manifest["shown"] = _encode(shown, "shown", arrays)
    text = json.dumps(manifest, indent=1, ensure_ascii=False, default=_plain)
    _write_archive(file, text, arrays)


def _dataset_entry(dataset: Dataset, config: Config) -> dict:
    entry = {"sha256": dataset_checksum(dataset)}
    if config.dataset != "csv":
        return {"kind": "generated", **entry}
    arrays = {"X_train": dataset.X_train, "y_train": dataset.y_train,
              "X_test": dataset.X_test, "y_test": dataset.y_test}
    if sum(a.nbytes for a in arrays.values()) < EMBED_LIMIT_BYTES:
        return {"kind": "embedded", **entry, "name": dataset.name, "task": dataset.task,
                "class_names": list(dataset.class_names),
                "feature_names": list(dataset.feature_names),
                "target_names": list(dataset.target_names), "source": dataset.source,
                "params": dataset.params, **arrays}
    source = Path(dataset.source).resolve()
    return {"kind": "file", **entry, "path": str(source), "file_sha256": file_checksum(source)}


def _trajectory_state(trajectory: Trajectory) -> dict:
    return {"capacity": trajectory.capacity, "stride": trajectory.stride,
            "version": trajectory.version, "points": trajectory.points,
            "passes": trajectory.passes}


def _encode(value, name: str, arrays: dict):
    """``value`` for the JSON: every array moved to ``arrays[name]`` and replaced by a reference."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {ARRAY_KEY: name}
    if isinstance(value, dict):
        return {k: _encode(v, f"{name}/{k}", arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{name}/{i}", arrays) for i, v in enumerate(value)]
    return value


def _plain(value):
    """JSON for numpy scalars (a configuration edited in the window may hold them)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a session can only hold plain JSON values, not {type(value).__name__}")


def _write_archive(f, manifest_text: str, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, manifest_text)
        for name, array in arrays.items():
            _write_array(zf, name, array)


def _write_array(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    zf.writestr(f"{name}.npy", buffer.getvalue())


# -- loading -----------------------------------------------------------------------------------

def load_session(path) -> Session:
    """Read a session file and rebuild everything in it; raises SessionError for any file that
    cannot be used, naming the file and what is wrong."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise SessionError(f"{path}: no such file") from None
    except Exception as e:   # BadZipFile, and the odd OSError or ValueError on mangled headers
        if isinstance(e, OSError) and e.filename is not None:   # a folder, no permission, ...
            raise SessionError(f"{path}: cannot read it: {e.strerror or e}") from None
        raise SessionError(f"{path}: not a bpviz session file (not a zip archive, or truncated)") \
            from None
    try:
        with zf:
            return _read_session(zf, path)
    except BpvizError as e:   # SessionError from the checks below; ConfigError and DataError
        raise SessionError(f"{path}: {e}") from None
    except Exception as e:    # the zip, JSON and .npy readers raise many kinds on damaged bytes
        if isinstance(e, OSError) and e.filename is not None:   # e.g. the CSV file it refers to
            raise SessionError(f"{path}: cannot read {e.filename}: {e.strerror or e}") from None
        raise SessionError(f"{path}: damaged or not a bpviz session file ({_one_line(e)})") \
            from None


def _read_session(zf: zipfile.ZipFile, path: Path) -> Session:
    manifest = _read_manifest(zf)
    version = manifest["version"]
    bpviz_version = manifest["bpviz_version"]
    extra = manifest["extra"]
    if not isinstance(bpviz_version, str) or not isinstance(extra, dict):
        raise SessionError(f"{MANIFEST}: bpviz_version must be text and extra an object")
    try:
        config = Config.from_dict(manifest["config"])
    except BpvizError as e:
        raise SessionError(f"the saved configuration is not valid: {e}") from None
    _check_live_settings(manifest["trainer"], config)
    limits = _ArrayLimits(manifest, config)
    _check_declared_sizes(zf, manifest, limits)      # before anything is inflated

    def read(name):
        return _read_array(zf, name, limits.nbytes(name))

    entry = _decode(manifest["dataset"], read)
    dataset, config = _saved_data(entry, config, path)
    dataset, network, trainer = build(config, dataset)
    if dataset_checksum(dataset) != entry["sha256"]:
        raise SessionError(_CHECKSUM_MISMATCH[entry["kind"]].format(name=dataset.name))
    state = _decode(manifest["trainer"], read)
    try:
        trainer.set_state(state)
    except KeyError as e:
        raise SessionError(f"the saved training state lacks {e}") from None
    except (TypeError, ValueError) as e:
        raise SessionError(f"the saved training state is not valid: {e}") from None
    _check_extra(extra, network, trainer.n_train)
    trajectory = None
    if manifest["trajectory"] is not None:
        saved = _decode(manifest["trajectory"], read)
        _check_trajectory_counts(saved, trainer.pass_count)
        trajectory = _restore_trajectory(saved, network)
    shown = None
    if manifest.get("shown") is not None:          # files from before it have none
        shown = _decode(manifest["shown"], read)
        _check_shown(shown, network, trainer)
    return Session(config, dataset, network, trainer, trajectory, extra, version, bpviz_version,
                   shown)


def _check_shown(shown, network: Network, trainer: Trainer) -> None:
    """``shown``: the trace's weights and biases of this network's shapes and finite, its batch
    training samples; the pass log's rows (pass, position, loss) in pass order, none after the
    run's pass count."""
    if not isinstance(shown, dict):
        raise SessionError("shown must be an object")
    log = shown.get("pass_log")
    if log is not None:
        log = np.asarray(log)
        if not (log.ndim == 2 and log.shape[1] == 3 and len(log) <= MAX_PASS_ROWS
                and log.dtype.kind == "f" and np.isfinite(log[:, :2]).all()):
            raise SessionError(f"shown.pass_log must be at most {MAX_PASS_ROWS:,} rows of "
                               f"(pass, position, loss)")
        passes = log[:, 0]
        if len(log) and (passes[0] < 1 or passes[-1] > trainer.pass_count
                         or (np.diff(passes) <= 0).any() or (passes != np.round(passes)).any()):
            raise SessionError(f"shown.pass_log's passes must be whole numbers in order, from 1 "
                               f"to the pass count {trainer.pass_count}")
    trace = shown.get("trace")
    if trace is None:
        return
    if not isinstance(trace, dict):
        raise SessionError("shown.trace must be an object")
    for key, now in (("weights", network.weights), ("biases", network.biases)):
        saved = trace.get(key)
        if not (isinstance(saved, list) and len(saved) == len(now) and all(
                isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype.kind == "f"
                and np.isfinite(a).all() for a, b in zip(saved, now))):
            raise SessionError(f"shown.trace.{key} must be the network's {key}, finite")
    batch = trace.get("batch")
    if batch is not None and not (
            isinstance(batch, np.ndarray) and batch.ndim == 1 and 0 < len(batch)
            and batch.dtype.kind in "iu" and (batch >= 0).all() and (batch < trainer.n_train).all()):
        raise SessionError(f"shown.trace.batch must be training samples, 0 to "
                           f"{trainer.n_train - 1}")


def _check_trajectory_counts(state, pass_count: int) -> None:
    """The trajectory's counters and passes: whole numbers, the passes rising and none after
    the run's ``pass_count``."""
    if not isinstance(state, dict):
        raise SessionError("the saved trajectory is not an object")
    for key in ("capacity", "stride", "version"):
        COUNTS["pass_count"].check(state.get(key), f"the trajectory's {key}", SessionError)
    passes = np.asarray(state.get("passes"))
    if passes.ndim != 1 or passes.dtype.kind not in "iu" or (len(passes) and (
            passes[0] < 0 or passes[-1] > pass_count or (np.diff(passes) < 0).any())):
        raise SessionError(f"the saved trajectory's passes must be whole numbers in order, from "
                           f"0 to the pass count {pass_count}")


def _whole(value, below: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < below


def _check_extra(extra: dict, network: Network, n_train: int) -> None:
    """The window's selections in ``extra`` (the keys it writes; others are kept as saved) must be
    what the window wrote for this network and data: a neuron of the network, a training
    sample, two parameters of the network, a mode by name."""
    sizes = network.sizes
    shape = "-".join(map(str, sizes))
    neuron = extra.get("selected_neuron")
    if neuron not in (None, []) and not (
            isinstance(neuron, list) and len(neuron) == 2 and _whole(neuron[0], len(sizes))
            and _whole(neuron[1], sizes[neuron[0]])):
        raise SessionError(f"extra.selected_neuron must be [layer, index] of a neuron of the "
                           f"network {shape}; got {_short(neuron)}")
    sample = extra.get("pinned_sample")
    if sample is not None and not _whole(sample, n_train):
        raise SessionError(f"extra.pinned_sample must be a training sample, 0 to {n_train - 1}; "
                           f"got {_short(sample)}")
    for key in ("surface_mode", "step_mode", "focus", "edges", "neurons", "phases"):
        if extra.get(key) is not None and not isinstance(extra[key], str):
            raise SessionError(f"extra.{key} must be text; got {_short(extra[key])}")
        if len(extra.get(key) or "") > MAX_NAME_CHARS:
            raise SessionError(f"extra.{key} must be a name of at most {MAX_NAME_CHARS} "
                               f"characters; got {_short(extra[key])}")
    speed = extra.get("speed")
    if speed not in (None, "max") and not SPEED.accepts(speed):
        raise SessionError(f"extra.speed must be \"max\" or {SPEED.text()} (passes per second); "
                           f"got {_short(speed)}")
    if extra.get("layout") is not None:
        _check_layout(extra["layout"])
    axes = extra.get("surface_axes")
    if axes is not None and not (isinstance(axes, list) and len(axes) == 2
                                 and all(_parameter(a, network) for a in axes)):
        raise SessionError(f"extra.surface_axes must be two axes of the network {shape}, each "
                           f"[\"weight\" or \"bias\", layer, i, j]; got {_short(axes)}")


def _check_layout(layout) -> None:
    """extra.layout: the panels' arrangement (base64 text of a bounded size, its layout version)
    and the names of the panels in front and closed."""
    if not isinstance(layout, dict):
        raise SessionError(f"extra.layout must be an object; got {_short(layout)}")
    state = layout.get("state")
    if state is not None and not (isinstance(state, str) and len(state) <= MAX_LAYOUT_CHARS):
        raise SessionError(f"extra.layout.state must be text of at most {MAX_LAYOUT_CHARS:,} "
                           f"characters")
    version = layout.get("version")
    if version is not None and not _whole(version, 2 ** 31):
        raise SessionError(f"extra.layout.version must be a whole number; got {_short(version)}")
    for key in ("front", "closed"):
        names = layout.get(key, [])
        if not (isinstance(names, list) and len(names) <= MAX_PANELS and all(
                isinstance(n, str) and len(n) <= MAX_NAME_CHARS for n in names)):
            raise SessionError(f"extra.layout.{key} must be a list of at most {MAX_PANELS} panel "
                               f"names; got {_short(names)}")


def _parameter(axis, network: Network) -> bool:
    """Whether ``axis`` is [kind, layer, i, j] of a weight or bias of ``network``."""
    if isinstance(axis, list) and len(axis) == 4 and axis[0] in ("random", "pca"):
        return all(_whole(v, 2 ** 31) for v in axis[1:])   # the mode's own axes, as shown
    if not (isinstance(axis, list) and len(axis) == 4 and axis[0] in ("weight", "bias")
            and _whole(axis[1], network.n_layers)):
        return False
    n_in, n_out = network.weights[axis[1]].shape
    return _whole(axis[3], n_out) and _whole(axis[2], n_in if axis[0] == "weight" else 1)


def _short(value) -> str:
    text = json.dumps(value, allow_nan=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_CHECKSUM_MISMATCH = {
    "generated": "the {name} data made again from the saved configuration differs from the data "
                 "the session was trained on (checksum mismatch; written by another numpy or bpviz "
                 "version?)",
    "embedded": "the saved data does not match its checksum",
    "file": "the data read from the CSV file differs from the data the session was trained on "
            "(checksum mismatch)",
}


def _read_manifest(zf: zipfile.ZipFile) -> dict:
    if MANIFEST not in zf.namelist():
        raise SessionError(f"not a bpviz session file: the archive has no {MANIFEST}")
    try:
        manifest = json.loads(_member(zf, MANIFEST).decode("utf-8"))
    except ValueError:   # JSONDecodeError and UnicodeDecodeError
        raise SessionError(f"not a bpviz session file: {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise SessionError(f"not a bpviz session file (format {found!r}, expected "
                           f"{FORMAT_NAME!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionError(f"unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise SessionError(f"written by a newer bpviz (format {version}); this version reads up "
                           f"to {FORMAT_VERSION}: update bpviz to open it")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise SessionError(f"{MANIFEST} lacks {', '.join(missing)}")
    return manifest


def _info(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        return zf.getinfo(name)
    except KeyError:
        raise SessionError(f"missing member {name}") from None


def _member(zf: zipfile.ZipFile, name: str, limit: int = MAX_MANIFEST_BYTES) -> bytes:
    info = _info(zf, name)
    if info.file_size > limit:
        raise SessionError(f"member {name} is larger than bpviz allows ({info.file_size:,} bytes, "
                           f"at most {limit:,})")
    return zf.read(info)


def _check_live_settings(state, config: Config) -> None:
    """The live hyper-parameters saved with the trainer (which may differ from the
    configuration's) must lie in the same ranges as the configuration's own."""
    if not isinstance(state, dict):
        raise SessionError("the saved training state is not an object")
    live = {k: state[k] for k in LIVE_SETTINGS if k in state}
    try:
        replace(config, **live).validate()
    except ConfigError as e:
        raise SessionError(f"the saved training state is not valid: {e}") from None


class _ArrayLimits:
    """The most bytes each array of a session can hold, from what the session's own configuration
    and counters imply (upper bounds: the exact shapes are checked when the state is restored)."""

    def __init__(self, manifest: dict, config: Config):
        # inputs and outputs: at most what a CSV file may have (generated data has fewer)
        sizes = [csvdata.MAX_FEATURES, *config.hidden, csvdata.MAX_CLASSES]
        layers = list(zip(sizes[:-1], sizes[1:]))
        self.parameter = max(a * b for a, b in layers)           # the largest weight matrix
        parameters = sum(a * b + b for a, b in layers)            # a trajectory point
        trainer = manifest["trainer"]
        epoch = trainer.get("epoch")
        self.history_rows = COUNTS["epoch"].check(epoch, "the saved epoch count", SessionError) + 1
        self.columns = len(sizes) - 1                             # grad norm per layer
        if config.dataset != "csv":
            self.samples = config.n_samples or datasets.default_params(config.dataset)["n_samples"]
        elif isinstance(manifest["dataset"], dict) and manifest["dataset"].get("kind") == "file":
            self.samples = csvdata.MAX_BYTES // 2                 # a row is at least "0\n"
        else:
            self.samples = EMBED_LIMIT_BYTES // 8
        # the trajectory: DEFAULT_MAX_BYTES of points; files from before that cap held may have
        # 64 points of any network (they are read, and thinned to the cap)
        self.trajectory_points = max(trajectory_module.DEFAULT_MAX_BYTES // 8, 64 * parameters)
        self.trajectory_passes = max(trajectory_module.DEFAULT_MAX_BYTES // 8, 64)

    def nbytes(self, name: str) -> int:
        """The most bytes array ``name`` can hold; SessionError for a name bpviz never writes."""
        f8 = 8
        if name.startswith("dataset/"):
            return EMBED_LIMIT_BYTES
        if name == "trainer/order":
            return self.samples * f8
        if name == "trainer/shuffle_rng/state/key":
            return MT19937_WORDS * f8
        if name == "trainer/history/grad_norms":
            return self.history_rows * self.columns * f8
        if name.startswith("trainer/history/"):
            return self.history_rows * f8
        if name.startswith("trainer/"):
            return self.parameter * f8
        if name == "trajectory/points":
            return self.trajectory_points * f8
        if name == "trajectory/passes":
            return self.trajectory_passes * f8
        if name == "shown/pass_log":
            return MAX_PASS_ROWS * 3 * f8
        if name == "shown/trace/batch":
            return self.samples * f8
        if name.startswith("shown/trace/"):
            return self.parameter * f8
        raise SessionError(f"unexpected array {name!r} (not part of a bpviz session)")


def _array_names(value, names: set) -> set:
    """Every array name ``value`` (a part of the manifest) refers to."""
    if isinstance(value, dict):
        if set(value) == {ARRAY_KEY}:
            if not isinstance(value[ARRAY_KEY], str):
                raise SessionError(f"an array reference must be a name, got {value[ARRAY_KEY]!r}")
            names.add(value[ARRAY_KEY])
        else:
            for v in value.values():
                _array_names(v, names)
    elif isinstance(value, list):
        for v in value:
            _array_names(v, names)
    return names


def _check_declared_sizes(zf: zipfile.ZipFile, manifest: dict, limits: _ArrayLimits) -> None:
    """Refuse, before anything is inflated, an array member whose declared size is more than the
    session's configuration can need, or arrays that declare more than MAX_SESSION_BYTES in all."""
    names = set()
    for key in ("dataset", "trainer", "trajectory", "shown"):
        _array_names(manifest.get(key), names)
    total = 0
    for name in sorted(names):
        member = f"{name}.npy"
        info = _info(zf, member)
        limit = limits.nbytes(name) + NPY_HEADER_BYTES
        if info.file_size > limit:
            raise SessionError(f"member {member} declares {info.file_size:,} bytes, more than this "
                               f"session's configuration can need ({limit:,}); refused unread")
        total += info.file_size
    if total > MAX_SESSION_BYTES:
        raise SessionError(f"its arrays declare {total:,} bytes in all, more than the "
                           f"{MAX_SESSION_BYTES:,} bpviz allows; refused unread")


def _read_array(zf: zipfile.ZipFile, name, limit: int) -> np.ndarray:
    """The array in member ``name.npy``: its header is read and checked against ``limit`` bytes
    and the member's declared size before the data is allocated, then the data is read straight
    into the array, a chunk at a time."""
    member = f"{name}.npy"
    info = _info(zf, member)
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise SessionError(f"{member}: unsupported .npy version {version}")
        if dtype.hasobject:
            raise SessionError(f"{member} holds Python objects, which bpviz never writes")
        if dtype.kind not in "biuf":
            raise SessionError(f"{member} holds {dtype}, which bpviz never writes")
        count, offset = math.prod(shape), fp.tell()
        nbytes = count * dtype.itemsize
        if nbytes > limit:
            raise SessionError(f"{member}: an array of shape {shape} is larger than this session's "
                               f"configuration can need ({limit:,} bytes)")
        if info.file_size - offset != nbytes:
            raise SessionError(f"{member}: the array data does not match its shape {shape}")
        array = np.empty(count, dtype=dtype)
        raw = array.view(np.uint8)
        done = 0
        while done < nbytes:
            chunk = fp.read(min(1 << 20, nbytes - done))
            if not chunk:
                raise SessionError(f"{member}: the array data is truncated")
            raw[done:done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            done += len(chunk)
    return array.reshape(shape, order="F" if fortran else "C")


def _decode(value, read):
    """``value`` from the JSON with every array reference replaced by ``read(name)``."""
    if isinstance(value, dict):
        if set(value) == {ARRAY_KEY}:
            return read(value[ARRAY_KEY])
        return {k: _decode(v, read) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, read) for v in value]
    return value


def _saved_data(entry: dict, config: Config, path: Path) -> tuple[Dataset | None, Config]:
    """The saved training data (None for generated data, which ``build`` makes again) and the
    configuration to build with."""
    kind = entry["kind"]
    if kind not in _CHECKSUM_MISMATCH:
        raise SessionError(f"unknown dataset kind {kind!r}")
    if (kind == "generated") != (config.dataset != "csv"):
        raise SessionError(f"the {kind} dataset does not fit the configuration's dataset "
                           f"{config.dataset!r}")
    if kind == "generated":
        return None, config
    if kind == "embedded":
        return _embedded_data(entry), config
    if not isinstance(entry.get("path"), str) or not isinstance(entry.get("file_sha256"), str):
        raise SessionError("the dataset's path and file_sha256 must be text")
    saved = Path(entry["path"])
    found = next((p for p in (saved, path.parent / saved.name) if p.is_file()), None)
    if found is None:
        raise SessionError(f"the CSV file it was trained on, {saved}, is missing (or is not a "
                           f"regular file)")
    size = found.stat().st_size           # before a byte of it is read
    if size > csvdata.MAX_BYTES:
        raise SessionError(f"the CSV file {found} is {size:,} bytes, more than a CSV file bpviz "
                           f"reads ({csvdata.MAX_BYTES:,}); refused unread")
    try:
        checksum = file_checksum(found, csvdata.MAX_BYTES)
    except ValueError:
        raise SessionError(f"the CSV file {found} grew past {csvdata.MAX_BYTES:,} bytes while "
                           f"it was read") from None
    if checksum != entry["file_sha256"]:
        raise SessionError(f"the CSV file {found} has changed since the session was saved")
    config = replace(config, data_file=str(found))
    return make_dataset(config), config


def _embedded_data(entry: dict) -> Dataset:
    X_train, X_test = (np.asarray(entry[k], dtype=float) for k in ("X_train", "X_test"))
    y_train, y_test = np.asarray(entry["y_train"]), np.asarray(entry["y_test"])
    task, class_names = entry["task"], tuple(entry["class_names"])
    fits = (X_train.ndim == 2 and X_test.ndim == 2 and X_train.shape[1] == X_test.shape[1]
            and len(X_train) > 0 and len(y_train) == len(X_train) and len(y_test) == len(X_test)
            and np.isfinite(X_train).all() and np.isfinite(X_test).all())
    if task == CLASSIFICATION:
        fits = fits and all(y.ndim == 1 and y.dtype.kind in "iu" and
                            ((y >= 0) & (y < len(class_names))).all() for y in (y_train, y_test))
    elif task == REGRESSION:
        fits = fits and all(y.ndim == 2 and y.shape[1] == y_train.shape[1] and
                            np.isfinite(y).all() for y in (y_train, y_test))
    else:
        raise SessionError(f"unknown task {task!r} for the saved data")
    if not fits:
        raise SessionError("the saved data's arrays do not fit together")
    return Dataset(name=str(entry["name"]), task=task, X_train=X_train, y_train=y_train,
                   X_test=X_test, y_test=y_test, class_names=class_names,
                   feature_names=tuple(entry["feature_names"]),
                   target_names=tuple(entry["target_names"]), source=str(entry["source"]),
                   params=dict(entry["params"]))


def _restore_trajectory(state: dict, network: Network) -> Trajectory:
    points, passes = np.asarray(state["points"], dtype=float), np.asarray(state["passes"])
    capacity, stride, version = state["capacity"], state["stride"], state["version"]
    count, size = len(points), network.n_parameters
    whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (capacity, stride, version))
    if not (whole and points.shape == (count, size) and passes.shape == (count,)
            and passes.dtype.kind in "iu" and capacity >= 0 and capacity != 1
            and count <= capacity and capacity * size * 8 <= MAX_MEMBER_BYTES and stride >= 1
            and version >= 0):
        raise SessionError(f"the saved trajectory does not fit the network's {size} parameters")
    # the saved capacity, within today's cap: files written when the path could outgrow the cap
    # (64 points of any network) come back thinned to it
    cap = min(trajectory_module.DEFAULT_MAX_BYTES,
              capacity * trajectory_module.point_nbytes(size))
    trajectory = Trajectory(network, max_bytes=cap)
    trajectory.restore(points, passes, stride, version)
    return trajectory


def _one_line(error: Exception) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 200 else text[:197] + "..."
