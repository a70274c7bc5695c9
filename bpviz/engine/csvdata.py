"""Loading the user's own data from a CSV file, and the train/test split shared with the generators.

The file has a header row naming the columns, numeric feature columns and one label column: the
last column, unless ``label`` names another. The labels are class names or numbers for
classification, or numeric targets for regression (``task="auto"`` decides, see :func:`load_csv`).

Only the standard ``csv`` module is used. The loader is tolerant of what spreadsheets and editors
add — a UTF-8 byte-order mark, blank lines (rows whose cells are all empty are skipped too),
whitespace around cells, ``;`` or tab instead of ``,`` (the delimiter is the one of the three that
occurs most often in the header line, commas winning ties) — and strict about everything else:
every malformed file is refused with a :class:`~bpviz.engine.errors.DataError` whose message says
what is wrong and where, in the form::

    {path}: line {L}, column {C} ('{name}'): {problem}

Lines are numbered from 1 as a text editor counts them (the line where a record starts), columns
from 1, and the parts that do not apply are left out (``{path}: the file is empty``). Any file
either loads or raises ``DataError``; bad arguments (not file contents) raise ``ConfigError``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from array import array
from numbers import Integral, Real
from pathlib import Path
from typing import Iterator

import numpy as np

from .data import CLASSIFICATION, REGRESSION, Dataset
from .errors import ConfigError, DataError

MAX_FEATURES = 64           # more input neurons than the network diagram can draw
MAX_CLASSES = 64            # more output neurons than the network diagram can draw
MIN_ROWS = 4                # fewer data rows cannot be trained on and tested meaningfully
MAX_BYTES = 100 * 1024 ** 2
MAX_AUTO_CLASSES = 20       # integer labels with at most this many distinct values are classes
MAX_TEST_FRACTION = 0.9
SPLIT_SEED_OFFSET = 7919    # the split permutes with RandomState(seed + 7919), see split_indices

_DELIMITERS = (",", ";", "\t")
_TASKS = ("auto", CLASSIFICATION, REGRESSION)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")    # all but tab, LF and CR
_BOM = b"\xef\xbb\xbf"
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


# --- the train/test split and standardisation, also used by bpviz.engine.datasets ---------------

def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)`` for ``n`` rows with ``round(test_fraction · n)`` test rows.

    The rows are permuted by ``RandomState((seed + SPLIT_SEED_OFFSET) mod 2³²)``, a stream of its
    own, so splitting never consumes draws from the stream that generated the data (which goes on
    to draw the initial weights). At least one row always trains. With no test rows the training
    rows keep their original order and nothing is drawn.
    """
    n_test = min(int(round(test_fraction * n)), n - 1)
    if n_test <= 0:
        return np.arange(n), np.arange(0)
    order = np.random.RandomState((int(seed) + SPLIT_SEED_OFFSET) % 2 ** 32).permutation(n)
    return order[n_test:], order[:n_test]


def zscore(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-scores of both sets with the training set's mean and standard deviation.

    A constant column is only centred (divided by 1, not 0). A column of values so large that
    their mean or spread overflows comes out as NaN; the caller checks.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        std[~(np.isfinite(mean) & np.isfinite(std))] = np.nan
        return (X_train - mean) / std, (X_test - mean) / std


def check_split_args(test_fraction, seed) -> None:
    """Raise ConfigError unless ``test_fraction`` is in [0, 0.9] and ``seed`` a valid seed."""
    if (not isinstance(test_fraction, Real) or isinstance(test_fraction, bool)
            or not 0.0 <= float(test_fraction) <= MAX_TEST_FRACTION):
        raise ConfigError(f"test fraction must be a number from 0 to {MAX_TEST_FRACTION}, "
                          f"got {test_fraction!r}")
    if not isinstance(seed, Integral) or isinstance(seed, bool) or not 0 <= seed < 2 ** 32:
        raise ConfigError(f"seed must be a whole number from 0 to {2 ** 32 - 1}, got {seed!r}")


# --- reading the file -----------------------------------------------------------------------------

class _Where:
    """Formats ``DataError`` messages for one file."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, problem: str, line: int | None = None, column: int | None = None,
              name: str | None = None) -> DataError:
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}" + (f" ({_show(name)})" if name is not None else ""))
        prefix = f"{self.path}: " + (", ".join(where) + ": " if where else "")
        return DataError(prefix + problem)


def _read_bytes(path: Path, where: _Where, max_bytes: int) -> bytes:
    """The file's bytes, refusing missing, oversized, empty, binary and non-UTF-8 files."""
    try:
        if not path.exists():
            raise where.error("no such file")
        if not path.is_file():
            raise where.error("not a regular file" + (" (a folder)" if path.is_dir() else ""))
        size = path.stat().st_size
        if size > max_bytes:
            raise where.error(f"the file is {size:,} bytes, more than the limit of {max_bytes:,} "
                              f"bytes")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)       # bounded even if the file grows meanwhile
    except OSError as e:
        raise where.error(f"cannot read the file ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise where.error(f"the file is more than the limit of {max_bytes:,} bytes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise where.error("the file is UTF-16 text; save it as UTF-8 CSV")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise where.error("not a text file: it contains NUL bytes (a binary file?)",
                          line=data.count(b"\n", 0, nul) + 1)
    control = _CONTROL.search(data)        # UTF-8 never encodes other characters with these bytes
    if control:
        raise where.error(f"not a text file: it contains the control character "
                          f"0x{control.group()[0]:02x} (a binary file?)",
                          line=data.count(b"\n", 0, control.start()) + 1)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise where.error(f"not UTF-8 text: byte 0x{data[e.start]:02x} cannot be decoded; save the "
                          f"file as UTF-8 CSV", line=data.count(b"\n", 0, e.start) + 1) from None
    if not data.removeprefix(_BOM).strip():
        raise where.error("the file is empty")
    return data


def _delimiter(data: bytes) -> str:
    """The one of , ; and tab that occurs most often in the first non-blank line (',' on ties)."""
    first_line = next(m.group() for m in re.finditer(rb"[^\r\n]+", data) if m.group().strip())
    return max(_DELIMITERS, key=lambda d: first_line.count(d.encode()))


def _records(data: bytes, where: _Where) -> Iterator[tuple[int, list[str]]]:
    """``(line, stripped cells)`` of every record that is not blank, with the line it starts on.

    Reads the text as a stream, so that a large file does not become millions of Python objects.
    """
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=_delimiter(data), strict=True)
    end_of_previous = 0
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield end_of_previous + 1, cells
            end_of_previous = reader.line_num
    except csv.Error as e:
        raise where.error(f"not valid CSV ({e}); check the quotes in the record that starts here",
                          line=end_of_previous + 1) from None


def _show(cell: str) -> str:
    """The cell quoted for a message, shortened if long."""
    return repr(cell if len(cell) <= 40 else cell[:37] + "...")


def _number(cell: str) -> float | None:
    """The cell's value if it is written as a number (possibly inf or nan), else None."""
    try:
        return float(cell)
    except ValueError:
        return None


def _feature_value(cell: str, where: _Where, line: int, column: int, name: str) -> float:
    if not cell:
        raise where.error("missing value (empty cell)", line, column, name)
    value = _number(cell)
    if value is None:
        hint = ("; write numbers with a decimal point, not a comma"
                if _DECIMAL_COMMA.fullmatch(cell) else "")
        raise where.error(f"not a number: {_show(cell)}{hint}", line, column, name)
    _check_finite(value, cell, where, line, column, name)
    return value


def _check_finite(value: float, cell: str, where: _Where, line: int, column: int,
                  name: str) -> None:
    if math.isnan(value):
        raise where.error(f"NaN is not allowed: {_show(cell)}", line, column, name)
    if math.isinf(value):
        if cell.lstrip("+-").lower() in ("inf", "infinity"):
            raise where.error(f"infinity is not allowed: {_show(cell)}", line, column, name)
        raise where.error(f"number too large: {_show(cell)} overflows to infinity", line, column,
                          name)


def _header(cells: list[str], line: int, where: _Where) -> list[str]:
    """The column names, checked: named, distinct, and not a row of data."""
    for c, name in enumerate(cells, 1):
        if not name:
            raise where.error("the column has no name in the header", line, c)
    if all(_number(name) is not None for name in cells):
        raise where.error("the first row holds numbers, not column names; the file needs a header "
                          "row naming the columns", line)
    first = {}
    for c, name in enumerate(cells, 1):
        if name in first:
            raise where.error(f"duplicate column name, the same as column {first[name]}",
                              line, c, name)
        first[name] = c
    return cells


def _label_index(header: list[str], label: str | None, line: int, where: _Where) -> int:
    if label is None:
        return len(header) - 1
    if label not in header:
        raise where.error(f"no column named {label!r} for the label; the columns are "
                          f"{', '.join(header)}", line)
    return header.index(label)


def _class_name(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


class _LabelColumn:
    """The label cells of all rows, kept compactly, and what they make: a task, y, class names.

    Every cell's number (NaN where it is not one) goes into ``values``; the distinct cells, in the
    order they first appear, into ``names`` with one code per row, as long as they are few enough
    to be classes.
    """

    def __init__(self, where: _Where, column: int, name: str):
        self.where, self.column, self.name = where, column, name
        self.values = array("d")
        self.names: dict[str, int] = {}
        self.codes: array | None = array("q")   # None once there are too many names
        self.first_text: tuple[int, str] | None = None       # first cell that is not a number
        self.first_nonfinite: tuple[int, str] | None = None  # first inf or nan

    def add(self, cell: str, line: int) -> None:
        if not cell:
            raise self.where.error("missing value (empty cell)", line, self.column, self.name)
        value = _number(cell)
        if value is None:
            self.first_text = self.first_text or (line, cell)
            value = math.nan
        elif not math.isfinite(value):
            self.first_nonfinite = self.first_nonfinite or (line, cell)
        self.values.append(value)
        if self.codes is not None:
            code = self.names.setdefault(cell, len(self.names))
            if len(self.names) > MAX_CLASSES:
                self.codes = None
            else:
                self.codes.append(code)

    def result(self, task: str) -> tuple[str, np.ndarray, tuple[str, ...]]:
        """``(task, y, class_names)`` for the requested task ("auto" decides).

        Numeric labels with NaN or infinity are refused. ``auto`` makes numeric labels classes
        when they are all whole numbers with at most MAX_AUTO_CLASSES distinct values. Class names
        are sorted: numbers by value (written as ``"2"`` or ``"0.5"``), names in string order.
        """
        values = np.frombuffer(self.values, dtype=float)
        numeric = self.first_text is None
        if numeric and self.first_nonfinite:
            line, cell = self.first_nonfinite
            _check_finite(float(cell), cell, self.where, line, self.column, self.name)
        if not numeric and task == REGRESSION:
            line, cell = self.first_text
            raise self.where.error(f"not a number: {_show(cell)} (regression needs numeric "
                                   f"targets)", line, self.column, self.name)
        if numeric:
            distinct, y = np.unique(values, return_inverse=True)
            if task == "auto":
                whole = bool(np.all(distinct == np.round(distinct)))
                task = CLASSIFICATION if whole and len(distinct) <= MAX_AUTO_CLASSES else REGRESSION
            if task == REGRESSION:
                return task, values.reshape(-1, 1), ()
            n_classes = len(distinct)
            class_names = tuple(_class_name(float(v)) for v in distinct[:MAX_CLASSES + 1])
        else:
            n_classes = len(self.names)
            class_names = tuple(sorted(self.names))
            if self.codes is not None:
                to_sorted = np.array([class_names.index(n) for n in self.names], dtype=np.int64)
                y = to_sorted[np.frombuffer(self.codes, dtype=np.int64)]
        if n_classes < 2:
            raise self.where.error(f"every row has the same label {_show(class_names[0])}; "
                                   f"classification needs at least two classes",
                                   column=self.column, name=self.name)
        if n_classes > MAX_CLASSES:
            raise self.where.error(f"more than {MAX_CLASSES} different labels, more classes than "
                                   f"bpviz can draw", column=self.column, name=self.name)
        return CLASSIFICATION, y.astype(np.int64), class_names


def load_csv(path, *, label: str | None = None, task: str = "auto", standardize: bool = False,
             test_fraction: float = 0.0, seed: int = 0, max_bytes: int = MAX_BYTES) -> Dataset:
    """Load a CSV file of features and labels as a :class:`Dataset` named after the file.

    ``label`` names the label column (default: the last). ``task``: ``"auto"`` makes non-numeric
    labels, and whole-number labels with at most 20 distinct values, a classification, anything
    else a regression with targets of shape (N, 1); ``"classification"`` or ``"regression"`` force
    it (forced classification of fractional numbers uses their distinct values as classes).
    Class names are sorted (numbers by value). ``standardize`` z-scores the features with the
    training rows' statistics. ``test_fraction`` and ``seed`` split the rows as
    :func:`split_indices` does. Files larger than ``max_bytes`` are refused. Raises ``DataError``
    for a file that cannot be used, ``ConfigError`` for bad arguments.
    """
    if task not in _TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(_TASKS)}")
    check_split_args(test_fraction, seed)
    if not isinstance(max_bytes, Integral) or max_bytes < 0:
        raise ConfigError(f"max_bytes must be a whole number ≥ 0, got {max_bytes!r}")
    path = Path(path)
    where = _Where(path)

    records = _records(_read_bytes(path, where, max_bytes), where)
    header_line, header_cells = next(records, (None, None))
    if header_line is None:
        raise where.error("the file has no text in any cell")
    header = _header(header_cells, header_line, where)
    n_columns = len(header)
    if n_columns < 2:
        raise where.error(f"only one column ({_show(header[0])}); the file needs at least one "
                          f"feature column and a label column", header_line)
    if n_columns - 1 > MAX_FEATURES:
        raise where.error(f"{n_columns - 1} feature columns, more than the {MAX_FEATURES} that "
                          f"bpviz can draw", header_line)
    label_col = _label_index(header, label, header_line, where)
    feature_cols = [c for c in range(n_columns) if c != label_col]

    features = array("d")
    labels = _LabelColumn(where, label_col + 1, header[label_col])
    for line, cells in records:
        if len(cells) != n_columns:
            raise where.error(f"expected {n_columns} columns as in the header, found {len(cells)}",
                              line)
        features.extend(_feature_value(cells[c], where, line, c + 1, header[c])
                        for c in feature_cols)
        labels.add(cells[label_col], line)
    n_rows = len(labels.values)
    if n_rows == 0:
        raise where.error("the file has a header but no data rows")
    if n_rows < MIN_ROWS:
        raise where.error(f"only {n_rows} data row{'s' if n_rows > 1 else ''}; at least "
                          f"{MIN_ROWS} are needed")
    task, y, class_names = labels.result(task)
    X = np.frombuffer(features, dtype=float).reshape(n_rows, len(feature_cols))

    train, test = split_indices(n_rows, float(test_fraction), seed)
    X_train, X_test = X[train], X[test]
    if standardize:
        X_train, X_test = zscore(X_train, X_test)
        for j, c in enumerate(feature_cols):
            if not (np.isfinite(X_train[:, j]).all() and np.isfinite(X_test[:, j]).all()):
                raise where.error("values too large to standardise", column=c + 1, name=header[c])
    return Dataset(
        name=path.stem, task=task, X_train=X_train, y_train=y[train], X_test=X_test,
        y_test=y[test], class_names=class_names,
        feature_names=tuple(header[c] for c in feature_cols),
        target_names=(header[label_col],) if task == REGRESSION else (),
        source=str(path),
        params={"path": str(path), "label": header[label_col], "task": task,
                "standardize": bool(standardize), "test_fraction": float(test_fraction),
                "seed": int(seed)},
    )
