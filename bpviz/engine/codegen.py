"""The plain-numpy program behind the picture: one pass as code, and a whole run as a script.

``pass_program(config)`` writes the forward pass, the loss, the backward pass and the update of
the configured network in the style of the classic numpy example — named arrays ``Z1``, ``A1``,
``Y``, ``delta2``, ``dW1``, one line per step, no classes — with, for every line, the phase of the
pass it belongs to, the diagram layer it computes for and the array it assigns (:class:`CodeLine`),
so that a panel can highlight the lines of a phase or of a neuron without parsing the text.

``script(config)`` wraps those lines into a standalone program that needs only Python and numpy:
it makes the same data (the generator written out, or the CSV file read with the same rules),
draws the same initial weights from the same seed, shuffles the mini-batches the same way, trains
for the configured epochs and prints the history CSV that ``bpviz train --out`` writes in
``history.csv``. ``script(config, session_state=trainer.get_state())`` starts from a run's current
weights, optimizer state and shuffle stream instead, and goes on as ``bpviz train --resume`` does.

The arithmetic is the engine's, operation for operation where the order of operations matters
(the stable softmax and sigmoid, the derivative factors, Adam's formula); the engine keeps samples
in columns for speed and the program keeps them in rows like the classic example, so matrix
products and sums over the batch may round differently in the last bit.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .functions import LEAKY_SLOPE
from .phases import FORWARD, GRADIENTS, HIDDEN_DELTA, LOSS, OUTPUT_DELTA, UPDATE

__all__ = ["CodeLine", "Program", "pass_program", "program_files", "script", "write_program"]


@dataclass(frozen=True)
class CodeLine:
    """One line of the program and what it computes."""

    text: str                 # the line, without a newline
    phase: str | None = None  # engine.phases kind (FORWARD … UPDATE), None for comments/set-up
    layer: int | None = None  # the diagram layer (1..L) it computes for
    array: str | None = None  # the name the line assigns: "Z1", "A1", "Y", "delta2", "dW2", "W2"
    quantity: str | None = None   # "z", "a", "y", "loss", "delta", "grad_w", "grad_b",
    #                               "weights", "biases" (after the update)


@dataclass(frozen=True)
class Program:
    """Lines of code with their metadata."""

    lines: tuple[CodeLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines) + "\n"

    def lines_for(self, *, phase=None, layer=None, quantity=None) -> list[int]:
        """0-based indices of the lines matching every criterion given."""
        return [k for k, line in enumerate(self.lines)
                if (phase is None or line.phase == phase)
                and (layer is None or line.layer == layer)
                and (quantity is None or line.quantity == quantity)]


# -- one pass --------------------------------------------------------------------------------------

_ACTIVATION = {          # a = f(z), the engine's formulas (functions.ACTIVATIONS)
    "sigmoid": "sigmoid({z})",
    "tanh": "np.tanh({z})",
    "relu": "np.maximum({z}, 0)",
    "leaky_relu": f"np.where({{z}} > 0, {{z}}, {LEAKY_SLOPE!r} * {{z}})",
    "linear": "{z}",
}
_DERIVATIVE = {          # f'(z) as the engine computes it, from z and a = f(z)
    "sigmoid": "({a} * (1 - {a}))",
    "tanh": "(1 - {a} * {a})",
    "relu": "({z} > 0)",
    "leaky_relu": f"np.where({{z}} > 0, 1.0, {LEAKY_SLOPE!r})",
    "linear": None,
}
_OUTPUT = {              # y = output(z) and the loss, each output with its canonical loss
    "softmax": ("softmax({z})", "cross_entropy({z}, T)", "cross-entropy"),
    "sigmoid": ("stable_sigmoid({z})", "binary_cross_entropy({z}, T)", "binary cross-entropy"),
    "linear": ("{z}", "squared_error(Y, T)", "squared error"),
}
_OPTIMIZER_TITLE = {
    "sgd": "gradient descent: every weight takes a step against its gradient",
    "momentum": "gradient descent with momentum: each step keeps momentum × the last one",
    "adam": "Adam: steps from running averages of the gradient and of its square",
}


def _layers(config) -> tuple[int, list[str]]:
    acts = config.activations() if hasattr(config, "activations") else list(config.activation)
    return len(config.hidden) + 1, acts


def _a(l: int, L: int) -> str:
    """The name of layer l's activations: X for the input, Y for the output."""
    return "X" if l == 0 else ("Y" if l == L else f"A{l}")


def pass_program(config) -> Program:
    """The body of one pass (forward, loss, backward, update) for ``config`` (an
    engine.config.Config), in the style of the classic numpy example: X, T, W1, b1, Z1, A1, …, Y,
    delta2, delta1, dW2, db2, …; names numbered as the diagram numbers layers (W1 feeds layer 1).

    The lines use ``X`` and ``T`` (the batch's inputs and targets, samples in rows), ``N`` (the
    batch size), the weights ``W1``, ``b1``, …, the settings ``lr`` (and ``momentum``, ``l2``,
    ``beta1``, ``beta2``, ``eps`` where used), the optimizer's state (``vW1``, ``mW1``, ``t``, …)
    and the helper functions :func:`script` defines (``sigmoid``, ``softmax``, ``cross_entropy``,
    …)."""
    L, acts = _layers(config)
    out_f, out_loss, loss_name = _OUTPUT[config.output]
    lines: list[CodeLine] = []
    add = lines.append

    add(CodeLine("# forward pass: each layer's weighted input Z, then its activation"))
    for l in range(1, L + 1):
        z = f"Z{l}"
        add(CodeLine(f"{z} = {_a(l - 1, L)} @ W{l} + b{l}", FORWARD, l, z, "z"))
        if l < L:
            add(CodeLine(f"A{l} = {_ACTIVATION[acts[l - 1]].format(z=z)}", FORWARD, l, f"A{l}",
                         "a"))
        else:
            add(CodeLine(f"Y = {out_f.format(z=z)}", FORWARD, l, "Y", "y"))
    add(CodeLine(f"# loss: {loss_name}, the mean over the N samples of the batch"))
    add(CodeLine(f"loss = {out_loss.format(z=f'Z{L}')}", LOSS, L, "loss", "loss"))

    add(CodeLine("# backward pass: the output deltas, then each layer's from the layer above"))
    add(CodeLine(f"delta{L} = Y - T", OUTPUT_DELTA, L, f"delta{L}", "delta"))
    for l in range(L - 1, 0, -1):
        back = f"(delta{l + 1} @ W{l + 1}.T)"
        factor = _DERIVATIVE[acts[l - 1]]
        text = back if factor is None else f"{back} * {factor.format(z=f'Z{l}', a=f'A{l}')}"
        add(CodeLine(f"delta{l} = {text}", HIDDEN_DELTA, l, f"delta{l}", "delta"))
    add(CodeLine("# gradients of the mean loss: dW = (inputs)ᵀ · delta / N, db = mean of delta"))
    for l in range(L, 0, -1):
        add(CodeLine(f"dW{l} = {_a(l - 1, L)}.T @ delta{l} / N", GRADIENTS, l, f"dW{l}",
                     "grad_w"))
        add(CodeLine(f"db{l} = delta{l}.sum(axis=0) / N", GRADIENTS, l, f"db{l}", "grad_b"))

    add(CodeLine(f"# update: {_OPTIMIZER_TITLE[config.optimizer]}"))
    if config.l2:
        add(CodeLine("# L2 weight decay adds l2 · W to the gradient of every weight matrix"))
        for l in range(1, L + 1):
            add(CodeLine(f"dW{l} = dW{l} + l2 * W{l}", UPDATE, l, f"dW{l}", None))
    if config.optimizer == "adam":
        add(CodeLine("t = t + 1", UPDATE, None, "t", None))
    for l in range(1, L + 1):
        for p, g, quantity in ((f"W{l}", f"dW{l}", "weights"), (f"b{l}", f"db{l}", "biases")):
            if config.optimizer == "sgd":
                add(CodeLine(f"{p} = {p} - lr * {g}", UPDATE, l, p, quantity))
            elif config.optimizer == "momentum":
                add(CodeLine(f"v{p} = momentum * v{p} - lr * {g}", UPDATE, l, f"v{p}", None))
                add(CodeLine(f"{p} = {p} + v{p}", UPDATE, l, p, quantity))
            else:
                add(CodeLine(f"m{p} = beta1 * m{p} + (1 - beta1) * {g}", UPDATE, l, f"m{p}",
                             None))
                add(CodeLine(f"v{p} = beta2 * v{p} + (1 - beta2) * {g} * {g}", UPDATE, l,
                             f"v{p}", None))
                add(CodeLine(f"{p} = {p} - lr * (m{p} / (1 - beta1 ** t)) / "
                             f"(np.sqrt(v{p} / (1 - beta2 ** t)) + eps)", UPDATE, l, p, quantity))
    return Program(tuple(lines))


# -- the standalone program ------------------------------------------------------------------------

LITERAL_LIMIT = 400          # numbers a script holds as literals; more go to a side .npz
MT19937_KEY = 624            # numbers in the key of a RandomState's state
REPLAY_NUMBERS = 10_000_000  # at most this many shuffled indices are replayed to find the stream


def script(config, *, session_state=None, epochs=None) -> str:
    """The standalone program (data, initialisation, the training loop around pass_program's
    lines, printing history CSV); every array it starts from is written into it as a literal."""
    return program_files(config, session_state=session_state, epochs=epochs)[0]


def program_files(config, *, session_state=None, epochs=None, arrays_file: str | None = None,
                  dataset=None) -> tuple[str, dict[str, np.ndarray]]:
    """:func:`script`'s program and the arrays it loads from ``arrays_file`` (a ``.npz`` file
    name, found beside the program): when ``arrays_file`` is given and the session's arrays hold
    more than ``LITERAL_LIMIT`` numbers, they go there instead of into the text (the dict is empty
    otherwise).

    ``config`` is an engine.config.Config; ``session_state`` a ``Trainer.get_state()`` of a run
    of that configuration, whose live settings (learning rate, momentum, batch size, L2,
    divergence factor) replace the configuration's; ``epochs`` the epochs to train (for a session:
    to add, as ``bpviz train --resume --epochs``), by default the configuration's; ``dataset``
    the run's data when it is at hand (otherwise it is made from the configuration). Raises
    ConfigError or DataError when the configuration's data cannot be made."""
    from .config import make_dataset
    config.validate()
    if session_state is not None:
        config = replace(config, **{k: session_state[k] for k in
                                    ("lr", "momentum", "batch_size", "l2", "divergence_factor")
                                    if k in session_state})
    epochs = config.epochs if epochs is None else int(epochs)
    if dataset is None:
        dataset = make_dataset(config, np.random.RandomState(config.seed))
    elif config.dataset == "csv" and not Path(config.data_file).is_file():
        from .errors import DataError
        raise DataError(f"{config.data_file}: no such file; the program reads its data from it")
    writer = _Script(config, dataset, epochs, session_state, arrays_file)
    return writer.text(), writer.arrays


def _num(x) -> str:
    """A float as Python source that reads back as the same float."""
    x = float(x)
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def _literal(a: np.ndarray, indent: int) -> str:
    """``np.array(...)`` source for ``a``, floats exact: a vector on one line (wrapped when long),
    a matrix one row per line; ``indent`` is the indentation of the line it starts on."""
    a = np.asarray(a)
    dtype = ", dtype=np.int64" if a.dtype.kind in "iu" else ""
    if a.size == 0:
        return f"np.zeros({a.shape}{dtype})"

    def cells(v):
        return ", ".join(str(int(x)) if a.dtype.kind in "iu" else _num(x) for x in v)
    if a.ndim == 1:
        return _wrap(f"np.array([{cells(a)}]{dtype})", indent)
    pad = " " * (indent + 4)
    rows = [_wrap(f"[{cells(row)}],", indent + 4) for row in a.reshape(len(a), -1)]
    return "np.array([\n" + "".join(pad + r + "\n" for r in rows) + " " * indent + f"]{dtype})"


def _wrap(text: str, indent: int, width: int = 99) -> str:
    """Break a long line after commas, continuation lines indented to ``indent`` + 4."""
    if len(text) + indent <= width:
        return text
    out, line = [], ""
    for part in text.split(", "):
        piece = part if not line else line + ", " + part
        if len(piece) + indent + 4 > width and line:
            out.append(line + ",")
            line = part
        else:
            line = piece
    out.append(line)
    return ("\n" + " " * (indent + 4)).join(out)


class _Script:
    """Builds the program's text, section by section."""

    def __init__(self, config, dataset, epochs: int, state, arrays_file):
        from .trainer import SHUFFLE_SEED_OFFSET
        self.config, self.dataset, self.epochs, self.state = config, dataset, epochs, state
        self.L, self.acts = _layers(config)
        self.sizes = [dataset.n_features, *config.hidden, dataset.n_outputs]
        self.n_train, self.n_test = len(dataset.X_train), len(dataset.X_test)
        self.classification = dataset.is_classification
        self.shuffle_offset = SHUFFLE_SEED_OFFSET
        self.lines: list[str] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.minibatch = 0 < config.batch_size < self.n_train
        self._plan_session(arrays_file)

    # -- helpers -----------------------------------------------------------------------------------

    def add(self, *lines: str, indent: int = 0) -> None:
        pad = " " * indent
        for text in lines:
            for line in text.split("\n"):
                self.lines.append(pad + line if line else "")

    def text(self) -> str:
        self.header()
        self.settings()
        self.functions()
        self.data()
        self.weights()
        self._evaluate_function()       # the test set, and the check after the last pass
        if self.minibatch or (self.state is not None and self.inside):
            self._epoch_row_function()
        self.training()
        return "\n".join(self.lines) + "\n"

    def array(self, name: str, a: np.ndarray, indent: int = 0) -> str:
        """Source for array ``a``: a literal, or a read from the side file."""
        if self.to_file:
            self.arrays[name] = np.asarray(a)
            return f"saved[{name!r}]"
        return _literal(a, indent)

    def _plan_session(self, arrays_file) -> None:
        """How the program takes up a session: the shuffle stream replayed or restored, the
        epoch's order, whether the arrays fit into the text."""
        state = self.state
        self.to_file, self.arrays_file = False, arrays_file
        self.inside = False             # the session stopped inside an epoch (its order drawn)
        self.replay = None              # draws that bring the shuffle stream to the session's
        self.order_from_replay = False  # the epoch's order is the last of them
        if state is None:
            return
        self.inside = bool(state["taken"] or state["order_drawn"])
        order = state["order"]
        self.replay, last = _replay(self.config.seed + self.shuffle_offset, self.n_train,
                                    state["shuffle_rng"], int(state["epoch"]) + 2)
        if self.inside and order is not None and self.replay and last is not None \
                and np.array_equal(last, order):
            self.order_from_replay = True
        numbers = sum(np.size(a) for a in state["weights"] + state["biases"])
        numbers += sum(np.size(a) for v in state["optimizer"].values() if isinstance(v, list)
                       for a in v)
        if self.inside and order is not None and not self.order_from_replay:
            numbers += len(order)
        if self.replay is None:
            numbers += MT19937_KEY
        history = state["history"]
        if history is not None:
            numbers += len(history["epoch"]) * (5 + self.L)
        self.to_file = arrays_file is not None and numbers > LITERAL_LIMIT

    # -- sections ----------------------------------------------------------------------------------

    def header(self) -> None:
        cfg, ds = self.config, self.dataset
        shape = "-".join(str(s) for s in self.sizes)
        acts = ", ".join(dict.fromkeys(self.acts)) if self.acts else "no"
        what = (f"the {ds.name} data" if cfg.dataset != "csv" else f"the data of {ds.name}.csv")
        start = ("on from a saved bpviz session, as `bpviz train --resume` would"
                 if self.state is not None else
                 "from the same data and the same initial weights as bpviz")
        self.add(
            f'"""A {shape} network ({acts} hidden, {cfg.output} output) learning {what} by',
            "backpropagation, in plain numpy.",
            "",
            textwrap.fill(f"Written by bpviz (`bpviz code`). It trains {start}, and prints the "
                          f"history of the run as CSV on standard output: one row per epoch, "
                          f"measured at the weights the epoch starts from, the numbers bpviz "
                          f"writes in history.csv.", 92),
            "",
            "    python this_file.py > history.csv",
            "",
            "Needs only Python and numpy. Change a line and run it again to see what happens.",
            '"""',
            "",
        )
        imports = []
        if cfg.dataset == "csv":
            imports.append("import csv")
        if self.to_file:
            imports.append("import os")
        imports.append("import sys")
        imports += ["", "import numpy as np", ""]
        self.add(*imports)

    def settings(self) -> None:
        cfg = self.config
        self.add("# --- settings " + "-" * 85)
        rows = []
        if cfg.dataset == "csv":
            rows.append(("data_file", repr(str(Path(cfg.data_file).resolve())),
                         "the data: a header row, then one sample a row"))
        rows += [("seed", str(cfg.seed), "one random stream: the data first, then the initial "
                  "weights"),
                ("lr", _num(cfg.lr), "learning rate")]
        if cfg.optimizer == "momentum":
            rows.append(("momentum", _num(cfg.momentum), "how much of the last step each step "
                                                         "keeps"))
        if cfg.optimizer == "adam":
            from .optimizers import Adam
            rows += [("beta1", _num(Adam.beta1), "decay of Adam's average of the gradient"),
                     ("beta2", _num(Adam.beta2), "decay of Adam's average of its square"),
                     ("eps", _num(Adam.eps), "keeps Adam's division finite")]
        if self.minibatch:
            rows.append(("batch_size", str(cfg.batch_size), "samples per pass"))
        if cfg.l2:
            rows.append(("l2", _num(cfg.l2), "L2 weight decay: the loss + l2/2 · the sum of "
                                             "every weight squared"))
        rows.append(("epochs", str(self.epochs),
                     "epochs to add" if self.state is not None else "epochs to train"))
        if cfg.divergence_factor:
            rows.append(("divergence_factor", _num(cfg.divergence_factor),
                         "stop when the loss exceeds this many times its start"))
        width = max(len(f"{k} = {v}") for k, v, _ in rows if len(f"{k} = {v}") < 40)
        for k, v, note in rows:
            self.add(f"{k} = {v}".ljust(width) + f"   # {note}")
        self.add("")

    def functions(self) -> None:
        cfg = self.config
        self.add("", "# --- the functions of the network " + "-" * 65)
        if "sigmoid" in self.acts:
            self.add("def sigmoid(Z):",
                     "    return 1 / (1 + np.exp(-Z))", "", "")
        if cfg.output == "softmax":
            self.add(
                "def softmax(Z):",
                '    """Each row\'s exponentials over their sum; shifted by the row\'s largest '
                'value so that',
                '    none overflows."""',
                "    E = np.exp(Z - Z.max(axis=1, keepdims=True))",
                "    return E / E.sum(axis=1, keepdims=True)", "", "",
                "def cross_entropy(Z, T):",
                '    """The mean over the rows of -sum_k t_k log softmax(z)_k, written with '
                'log-sum-exp',
                '    so that no log(0) is ever taken."""',
                "    m = Z.max(axis=1, keepdims=True)",
                "    log_sum_exp = m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))",
                "    return (T * (log_sum_exp - Z)).sum(axis=1).mean()", "", "")
        elif cfg.output == "sigmoid":
            self.add(
                "def stable_sigmoid(Z):",
                '    """1 / (1 + e^-z) where z >= 0 and e^z / (1 + e^z) where z < 0: the same '
                'value, and',
                '    neither overflows."""',
                "    Y = np.empty_like(Z)",
                "    positive = Z >= 0",
                "    Y[positive] = 1 / (1 + np.exp(-Z[positive]))",
                "    E = np.exp(Z[~positive])",
                "    Y[~positive] = E / (1 + E)",
                "    return Y", "", "",
                "def binary_cross_entropy(Z, T):",
                '    """The mean over the rows of -sum_k [t_k log y_k + (1 - t_k) log(1 - y_k)], '
                'y = σ(z),',
                '    written as softplus(z) - t·z so that no log(0) is ever taken."""',
                "    softplus = np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))",
                "    return (softplus - T * Z).sum(axis=1).mean()", "", "")
        else:
            self.add(
                "def squared_error(Y, T):",
                '    """The mean over the rows of 1/2 sum_k (y_k - t_k)^2."""',
                "    return (0.5 * ((Y - T) * (Y - T)).sum(axis=1)).mean()", "", "")
        if self.classification:
            self.add("def accuracy(Y, labels):",
                     '    """The fraction of samples whose largest output is their class."""')
            if self.dataset.n_outputs == 1:
                self.add("    return np.mean((Y[:, 0] > 0.5) == labels)", "", "")
            else:
                self.add("    return np.mean(Y.argmax(axis=1) == labels)", "", "")
        self.add(
            "def print_row(row):",
            '    """One history row as in bpviz\'s history.csv: the epoch, then every number in '
            'full."""',
            '    print(",".join([str(row[0])] + [repr(float(v)) for v in row[1:]]))', "")

    # -- data --------------------------------------------------------------------------------------

    def data(self) -> None:
        cfg, ds = self.config, self.dataset
        self.add("", "# --- the data " + "-" * 85)
        if cfg.dataset == "csv":
            self._csv()
        else:
            self._generated()
        self._split(ds.params["test_fraction"], cfg.seed, len(ds.X_train) + len(ds.X_test))
        if cfg.dataset == "iris" or (cfg.dataset == "csv" and cfg.standardize):
            self.add(
                "# standardise: z-scores with the training samples' mean and standard deviation",
                "mean, std = X_train.mean(axis=0), X_train.std(axis=0)",
                "std = np.where(std > 0, std, 1.0)      # a constant column is only centred",
                "X_train = (X_train - mean) / std")
            if self.n_test:
                self.add("X_test = (X_test - mean) / std")
        if self.classification:
            k = ds.n_outputs
            self.add("# targets: one-hot rows, a 1 in the column of the sample's class",
                     f"T_train = np.eye({k})[y_train]")
            if self.n_test:
                self.add(f"T_test = np.eye({k})[y_test]")
        else:
            self.add("T_train = y_train                      # the targets, one column each")
            if self.n_test:
                self.add("T_test = y_test")
        self.add("")

    def _generated(self) -> None:
        from . import datasets
        ds = self.dataset
        name, n, noise = ds.name, ds.params["n_samples"], ds.params["noise"]
        gen = datasets.GENERATORS[name]
        k = max(len(gen.class_names), 1)
        sizes = [n // k + (c < n % k) for c in range(k)]
        self.add("rng = np.random.RandomState(seed)      # one stream: the data first, then the "
                 "weights",
                 f"noise = {_num(noise)}")
        labels = f"y = np.repeat({list(range(k))}, {sizes})          # class labels, in blocks"
        if name == "gaussian-clouds":
            centres = ",\n               ".join(
                f"rng.randn({m}, 2) * noise + {tuple(c)}"
                for m, c in zip(sizes, datasets.CLOUD_CENTRES))
            around = ", ".join(map(str, datasets.CLOUD_CENTRES))
            self.add(f"# three Gaussian clouds of points around {around}; noise is their "
                     f"standard deviation",
                     f"X = np.vstack([{centres}])", labels)
        elif name == "xor":
            self.add("# points in the four quadrants, away from the axes: class 1 where x·y > 0",
                     "parts = []",
                     f"for label, m in enumerate({sizes}):",
                     f"    magnitude = rng.uniform({_num(datasets.XOR_GAP)}, "
                     f"{_num(datasets.XOR_HALF_WIDTH)}, size=(m, 2))",
                     "    sign = rng.randint(2, size=m) * 2.0 - 1.0     # which of the class's two "
                     "quadrants",
                     "    quadrant = np.column_stack([sign, sign if label == 1 else -sign])",
                     "    parts.append(magnitude * quadrant + noise * rng.randn(m, 2))",
                     "X = np.vstack(parts)", labels)
        elif name == "circles":
            radii = [tuple(map(float, r)) for r in (datasets.CIRCLES_INNER, datasets.CIRCLES_OUTER)]
            self.add("# a disc (class 0) inside a ring (class 1)",
                     "parts = []",
                     f"for (low, high), m in zip({radii}, {sizes}):",
                     "    radius = rng.uniform(low, high, size=m)",
                     "    angle = rng.uniform(0.0, 2 * np.pi, size=m)",
                     "    ring = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])",
                     "    parts.append(ring + noise * rng.randn(m, 2))",
                     "X = np.vstack(parts)", labels)
        elif name == "moons":
            self.add("# two interleaving half circles, centred and scaled",
                     "parts = []",
                     f"for label, m in enumerate({sizes}):",
                     "    t = rng.uniform(0.0, np.pi, size=m)",
                     "    if label == 0:",
                     "        moon = np.column_stack([np.cos(t), np.sin(t)])",
                     "    else:",
                     "        moon = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])",
                     f"    parts.append((moon + {tuple(datasets.MOONS_SHIFT)}) * "
                     f"{_num(datasets.MOONS_SCALE)} + noise * rng.randn(m, 2))",
                     "X = np.vstack(parts)", labels)
        elif name in ("spiral", "spiral3"):
            turns = {"spiral": 1.75, "spiral3": 1.25}[name]
            self.add(f"# {k} interleaved spiral arms of {_num(turns)} turns",
                     "parts = []",
                     f"for arm, m in enumerate({sizes}):",
                     "    s = rng.uniform(0.0, 1.0, size=m)",
                     f"    radius = {_num(datasets.SPIRAL_RADIUS)} * s",
                     f"    angle = 2 * np.pi * ({_num(turns)} * s + arm / {k})",
                     "    spiral = np.column_stack([radius * np.cos(angle), "
                     "radius * np.sin(angle)])",
                     "    parts.append(spiral + noise * rng.randn(m, 2))",
                     "X = np.vstack(parts)", labels)
        elif name == "plane":
            a, b = datasets.PLANE_COEFFICIENTS
            self.add(f"# regression: the target is {_num(a)}·x1 {'-' if b < 0 else '+'} "
                     f"{_num(abs(b))}·x2 plus noise",
                     f"X = rng.uniform(-3.0, 3.0, size=({n}, 2))",
                     f"y = (X @ np.array({(float(a), float(b))}) + noise * rng.randn({n}))"
                     f".reshape({n}, 1)")
        elif name == "sine":
            self.add("# regression: the target is sin(x) plus noise",
                     f"X = rng.uniform(-np.pi, np.pi, size=({n}, 1))",
                     f"y = np.sin(X) + noise * rng.randn({n}, 1)")
        elif name == "iris":
            text = (datasets.RESOURCES_DIR / "iris.csv").read_text(encoding="utf-8").strip()
            self.add("# Fisher's 150 irises: four measurements in centimetres and the species",
                     f'iris = """{text}"""',
                     'rows = [line.split(",") for line in iris.splitlines()[1:]]',
                     "X = np.array([[float(cell) for cell in row[:4]] for row in rows])",
                     "class_names, y = np.unique([row[4] for row in rows], return_inverse=True)",
                     "X = X + noise * rng.randn(150, 4)          # jitter, in centimetres")
        else:   # a generator this module does not know
            from .errors import ConfigError
            raise ConfigError(f"no program can be written for the {name} data yet")

    def _csv(self) -> None:
        cfg, ds = self.config, self.dataset
        if cfg.label is None:
            label = "len(header) - 1                  # the last column"
        else:
            label = f"header.index({cfg.label!r})"
        self.add(
            "# the delimiter: the one of , ; and tab the header uses most (commas win ties)",
            'with open(data_file, encoding="utf-8-sig") as f:',
            "    header_line = next(line for line in f if line.strip())",
            'delimiter = max([",", ";", "\\t"], key=header_line.count)',
            'with open(data_file, newline="", encoding="utf-8-sig") as f:',
            "    rows = [[cell.strip() for cell in row] "
            "for row in csv.reader(f, delimiter=delimiter)]",
            "rows = [row for row in rows if any(row)]     # blank lines are skipped",
            "header, rows = rows[0], rows[1:]",
            f"label_column = {label}",
            "features = [c for c in range(len(header)) if c != label_column]",
            "X = np.array([[float(row[c]) for c in features] for row in rows])",
            "labels = [row[label_column] for row in rows]")
        if not ds.is_classification:
            self.add("y = np.array([[float(v)] for v in labels])     # regression: numeric targets")
        elif all(_is_number(c) for c in ds.class_names):
            self.add("# the classes are the distinct label values, sorted by value",
                     "class_values, y = np.unique([float(v) for v in labels], return_inverse=True)")
        else:
            self.add("# the classes are the distinct labels, sorted",
                     "class_names, y = np.unique(labels, return_inverse=True)")

    def _split(self, test_fraction: float, seed: int, n: int) -> None:
        n_test = min(int(round(test_fraction * n)), n - 1)
        if n_test <= 0:
            self.add("X_train, y_train = X, y                # every sample trains: no test set")
            return
        from .csvdata import SPLIT_SEED_OFFSET
        self.add(f"# hold out {n_test} of the {n} samples for testing, picked by a permutation "
                 f"from a stream",
                 "# of their own (the data and the weights do not depend on it)",
                 f"split = np.random.RandomState(seed + {SPLIT_SEED_OFFSET}).permutation({n})",
                 f"X_train, y_train = X[split[{n_test}:]], y[split[{n_test}:]]",
                 f"X_test, y_test = X[split[:{n_test}]], y[split[:{n_test}]]")

    # -- weights -----------------------------------------------------------------------------------

    def weights(self) -> None:
        cfg, L, sizes = self.config, self.L, self.sizes
        if self.state is not None:
            self._session_weights()
            return
        self.add("# --- the initial weights " + "-" * 74)
        if cfg.dataset == "csv":
            self.add("rng = np.random.RandomState(seed)      # the initial weights' stream")
        else:
            self.add("# drawn from the same stream, right after the data, W1 b1 W2 b2 … in turn")
        for l in range(1, L + 1):
            n_in, n_out = sizes[l - 1], sizes[l]
            if cfg.init == "normal":
                w, b = f"rng.randn({n_in}, {n_out})", f"rng.randn({n_out})"
            elif cfg.init == "xavier":
                w = f"rng.randn({n_in}, {n_out}) * np.sqrt(2.0 / ({n_in} + {n_out}))"
                b = f"np.zeros({n_out})"
            elif cfg.init == "he":
                w, b = f"rng.randn({n_in}, {n_out}) * np.sqrt(2.0 / {n_in})", f"np.zeros({n_out})"
            else:
                w = f"rng.uniform(-0.5, 0.5, size=({n_in}, {n_out}))"
                b = f"rng.uniform(-0.5, 0.5, size={n_out})"
            self.add(f"W{l} = {w}", f"b{l} = {b}")
        if cfg.optimizer == "momentum":
            self.add("# momentum: the last step of every weight and bias, none yet")
            for l in range(1, L + 1):
                self.add(f"vW{l}, vb{l} = np.zeros(({sizes[l - 1]}, {sizes[l]})), "
                         f"np.zeros({sizes[l]})")
        elif cfg.optimizer == "adam":
            self.add("# Adam: running averages of every gradient (m) and of its square (v), and "
                     "the step count")
            for l in range(1, L + 1):
                shape_w, shape_b = f"({sizes[l - 1]}, {sizes[l]})", f"{sizes[l]}"
                self.add(f"mW{l}, vW{l} = np.zeros({shape_w}), np.zeros({shape_w})",
                         f"mb{l}, vb{l} = np.zeros({shape_b}), np.zeros({shape_b})")
            self.add("t = 0")
        self.add("")

    def _session_weights(self) -> None:
        state, cfg, L = self.state, self.config, self.L
        epoch = int(state["epoch"])
        passes = int(state["pass_count"])
        title = f"# --- where the session stands: {epoch} epochs done, {passes} passes "
        self.add(title + "-" * max(3, 99 - len(title)))
        if self.to_file:
            self.add("# its arrays are in the .npz file written beside this program",
                     f"saved = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "
                     f"{self.arrays_file!r}))")
        self.add("# the weights and biases now")
        for l in range(1, L + 1):
            self.add(f"W{l} = {self.array(f'W{l}', state['weights'][l - 1])}",
                     f"b{l} = {self.array(f'b{l}', state['biases'][l - 1])}")
        opt = state["optimizer"]
        if cfg.optimizer == "momentum":
            self.add("# momentum: the last step of every weight and bias")
            for l in range(1, L + 1):
                self.add(f"vW{l} = {self.array(f'vW{l}', opt['velocity'][2 * l - 2])}",
                         f"vb{l} = {self.array(f'vb{l}', opt['velocity'][2 * l - 1])}")
        elif cfg.optimizer == "adam":
            self.add("# Adam: running averages of every gradient (m) and of its square (v), and "
                     "the step count")
            for l in range(1, L + 1):
                for p, k in ((f"W{l}", 2 * l - 2), (f"b{l}", 2 * l - 1)):
                    self.add(f"m{p} = {self.array(f'm{p}', opt['m'][k])}",
                             f"v{p} = {self.array(f'v{p}', opt['v'][k])}")
            self.add(f"t = {int(opt['t'])}")
        start = state.get("start_loss")
        self.add("# the training loss the run started at (the divergence check measures against "
                 "it)",
                 f"start_loss = {'None' if start is None else _num(start)}")
        self.add("")

    # -- training ----------------------------------------------------------------------------------

    def training(self) -> None:
        cfg, L = self.config, self.L
        state = self.state
        self.add("# --- training " + "-" * 85)
        header = ["epoch", "loss", "accuracy", "test_loss", "test_accuracy"] + [
            f"grad_norm_{l}" for l in range(1, L + 1)]
        self.add(f'print("{",".join(header)}")')
        history = None if state is None else state["history"]
        if history is not None and len(history["epoch"]):
            rows = np.column_stack([np.asarray(history["epoch"], dtype=float),
                                    history["loss"], history["accuracy"], history["test_loss"],
                                    history["test_accuracy"],
                                    np.asarray(history["grad_norms"]).reshape(-1, L)])
            self.add("# the rows the session has so far",
                     f"history_so_far = {self.array('history', rows)}",
                     "for row in history_so_far:",
                     "    print_row([int(row[0]), *row[1:]])", "")
        if state is None and cfg.divergence_factor:
            self.add("start_loss = None                      # the training loss the run starts "
                     "at, set by its first pass")
        e0 = 0 if state is None else int(state["epoch"])
        epochs_range = "range(epochs)" if e0 == 0 else f"range({e0}, {e0} + epochs)"
        general = state is not None and self.inside
        if self.minibatch or general:
            self.add("n_train = len(X_train)")
        if self.minibatch or (state is not None and (self.inside and state["order"] is not None)):
            self._shuffle_stream()
        if general:
            self._epoch_in_progress()
        if not self.minibatch and not general:
            self.add("X, T, N = X_train, T_train, len(X_train)     # full batch: every training "
                     "sample in every pass",
                     f"for epoch in {epochs_range}:")
            body = 4
        else:
            self.add(f"for epoch in {epochs_range}:")
            if general:
                self.add(f"    if epoch > {e0}:       # a new epoch: every training sample once")
                if self.minibatch:
                    self.add("        order, taken, size = shuffle_rng.permutation(n_train), 0, "
                             "batch_size")
                else:
                    self.add("        order, taken, size = np.arange(n_train), 0, n_train")
                self.add("    for start in range(taken, n_train, size):",
                         "        batch = order[start:start + size]     # the epoch's last batch "
                         "takes what is left")
            else:
                self.add("    order = shuffle_rng.permutation(n_train)     # every epoch: the "
                         "samples in a fresh order",
                         "    for start in range(0, n_train, batch_size):",
                         "        batch = order[start:start + batch_size]     # the last batch "
                         "takes what is left")
            self.add("        X, T, N = X_train[batch], T_train[batch], len(batch)")
            body = 8
        self._pass(body, first_only=self.minibatch or general)
        self._last_check()

    def _last_check(self) -> None:
        """After the last pass, the weights it left are checked as a next pass would check them
        (bpviz's ``Trainer.check_weights``): an overshoot in the last epoch is a divergence too."""
        limit = ("not np.isfinite(loss) or (start_loss is not None\n"
                 "                             and loss > divergence_factor * "
                 "max(start_loss, 0.01))" if self.config.divergence_factor
                 else "not np.isfinite(loss)")
        self.add("",
                 "# the weights the last pass left are checked as the next pass would check them",
                 "if epochs:",
                 "    loss = evaluate(X_train, T_train, y_train)[0]",
                 f"    if {limit}:",
                 '        sys.exit(f"training diverged after the last pass: the loss became '
                 '{loss}")')

    def _shuffle_stream(self) -> None:
        self.add(f"shuffle_rng = np.random.RandomState(seed + {self.shuffle_offset})     # the "
                 f"stream that shuffles")
        state = self.state
        if state is None:
            return
        draws = self.replay
        if draws is None:
            rs = state["shuffle_rng"]
            key = np.asarray(rs["state"]["key"], dtype=np.int64)
            self.add("# where the stream stands in the session",
                     f'shuffle_rng.set_state(("MT19937", {self.array("shuffle_key", key)}, '
                     f'{int(rs["state"]["pos"])}, {int(rs["has_gauss"])}, {_num(rs["gauss"])}))')
            return
        draw_before = draws - 1 if self.order_from_replay else draws
        if draw_before:
            self.add(f"for _ in range({draw_before}):     # the orders of the epochs shuffled "
                     f"so far",
                     "    shuffle_rng.permutation(n_train)")

    def _epoch_in_progress(self) -> None:
        state = self.state
        taken, size = int(state["taken"]), int(state["epoch_batch"])
        self.add(f"# the session stopped inside epoch {int(state['epoch'])}: {taken} of its "
                 f"{self.n_train} samples used, in batches of {size}")
        if state["order"] is None:
            self.add("order = np.arange(n_train)             # this epoch: the samples in order")
        elif self.order_from_replay:
            self.add("order = shuffle_rng.permutation(n_train)     # this epoch's order, drawn "
                     "when it began")
        else:
            self.add(f"order = {self.array('order', np.asarray(state['order'], dtype=np.int64))}")
        self.add(f"taken, size = {taken}, {size}")

    def _pass(self, indent: int, first_only: bool) -> None:
        cfg, L = self.config, self.L
        program = pass_program(cfg)
        update_at = next(k for k, line in enumerate(program.lines)
                         if line.text.startswith("# update"))
        for line in program.lines[:update_at]:
            self.add(line.text, indent=indent)
        if cfg.divergence_factor:
            self.add("# stop, as bpviz does, when training diverges: a loss that is not finite,",
                     "# or above divergence_factor times the loss the run started at",
                     "if not np.isfinite(loss) or (start_loss is not None",
                     "                             and loss > divergence_factor * "
                     "max(start_loss, 0.01)):",
                     '    sys.exit(f"training diverged in epoch {epoch}: the loss became {loss}")',
                     indent=indent)
        else:
            self.add("if not np.isfinite(loss):          # bpviz stops when training diverges",
                     '    sys.exit(f"training diverged in epoch {epoch}: the loss became {loss}")',
                     indent=indent)
        norms = ",\n".join(self._norm(l) for l in range(1, L + 1))
        if first_only:
            self.add("# the epoch's first pass: the history row, at the weights the epoch starts "
                     "from, over the",
                     "# whole training set: its loss, accuracy and each layer's gradient norm",
                     "if start == 0:",
                     "    whole = epoch_row(X_train, T_train, y_train)", indent=indent)
            inner = indent + 4
            train = "*whole[:2]"
            norms = "*whole[2:]"
        else:
            self.add("# the history row: loss and accuracy at the weights the epoch starts from,",
                     indent=indent)
            inner = indent
            acc = "accuracy(Y, y_train)" if self.classification else "np.nan"
            train = f"loss, {acc}"
        test = "*evaluate(X_test, T_test, y_test)" if self.n_test else "np.nan, np.nan"
        cont = " " * len("history_row = [")
        if not first_only:
            self.add("# and the size of each layer's gradient in this pass (the whole training "
                     "set)", indent=inner)
        parts = norms.split(",\n")
        row = f"history_row = [epoch, {train},\n{cont}{test},\n" + "\n".join(
            cont + n + ("," if k < len(parts) - 1 else "]") for k, n in enumerate(parts))
        self.add(row, indent=inner)
        for line in program.lines[update_at:]:
            self.add(line.text, indent=indent)
        params = ", ".join(f"W{l}, b{l}" for l in range(1, L + 1))
        self.add(f"if not all(np.isfinite(P).all() for P in ({params})):",
                 '    sys.exit(f"training diverged in epoch {epoch}: an update made a weight '
                 'non-finite")', indent=indent)
        if first_only:
            self.add("if start == 0:", "    print_row(history_row)", indent=indent)
        else:
            self.add("print_row(history_row)", indent=indent)
        if cfg.divergence_factor:
            self.add("if start_loss is None:",
                     "    start_loss = history_row[1]" if (self.state is None or
                                                          not self.inside) else
                     "    start_loss = history_row[1] if start == 0 else loss",
                     indent=indent)

    def _norm(self, l: int) -> str:
        """The norm of layer ``l``'s gradient, weights and biases together, with the L2 term the
        update adds to the weights' gradient (as bpviz's history holds it)."""
        g = f"(dW{l} + l2 * W{l})" if self.config.l2 else f"dW{l}"
        return f"np.sqrt(({g} * {g}).sum() + (db{l} * db{l}).sum())"

    def _epoch_row_function(self) -> None:
        """``epoch_row(X, T, labels)``: loss, accuracy and each layer's gradient norm over any
        samples at the current weights (the forward and backward lines of the pass)."""
        program = pass_program(self.config)
        self.add("# --- the history row: the whole training set at the weights an epoch starts "
                 "from " + "-" * 18,
                 "def epoch_row(X, T, labels):",
                 '    """The loss, the accuracy and the size of each layer\'s gradient (weights '
                 'and biases',
                 '    together, with the L2 term of the update) over the samples X with targets '
                 'T."""',
                 "    N = len(X)")
        for line in program.lines:
            if line.phase in (FORWARD, LOSS, OUTPUT_DELTA, HIDDEN_DELTA, GRADIENTS):
                self.add(line.text, indent=4)
        acc = "accuracy(Y, labels)" if self.classification else "np.nan"
        self.add(f"    return [loss, {acc},",
                 *[f"            {self._norm(l)}" + ("," if l < self.L else "]")
                   for l in range(1, self.L + 1)],
                 "", "")

    def _evaluate_function(self) -> None:
        """``evaluate(X, T, labels)``: the forward pass and the loss of the pass's lines, over
        any samples, at the current weights."""
        program = pass_program(self.config)
        self.add("# --- the loss and accuracy on a whole set of samples " + "-" * 46,
                 "def evaluate(X, T, labels):",
                 '    """The loss and accuracy of the network at the current weights on the '
                 'samples X with',
                 '    targets T."""')
        for line in program.lines:
            if line.phase in (FORWARD, LOSS):
                self.add(line.text, indent=4)
        self.add("    return loss, " + ("accuracy(Y, labels)" if self.classification else "np.nan"),
                 "", "")



def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _same_rng_state(a: dict, b: dict) -> bool:
    return (a["state"]["pos"] == b["state"]["pos"] and a["has_gauss"] == b["has_gauss"]
            and float(a["gauss"]) == float(b["gauss"])
            and np.array_equal(np.asarray(a["state"]["key"], dtype=np.int64),
                               np.asarray(b["state"]["key"], dtype=np.int64)))


def _replay(seed: int, n_train: int, target: dict, max_draws: int):
    """How many ``permutation(n_train)`` draws from ``RandomState(seed)`` bring it to the state
    ``target`` (``get_state(legacy=False)``), and the last permutation drawn; (None, None) when
    none up to ``max_draws`` does."""
    rs = np.random.RandomState(seed)
    last = None
    for k in range(min(max_draws, REPLAY_NUMBERS // max(n_train, 1)) + 1):
        if _same_rng_state(rs.get_state(legacy=False), target):
            return k, last
        last = rs.permutation(n_train)
    return None, None


def write_program(path, config, *, session_state=None, epochs=None, dataset=None) -> list[Path]:
    """The program of :func:`program_files` written to ``path`` — with its ``.npz`` of the
    session's arrays beside it (same name, suffix ``.npz``) when they are too many to be
    literals — together through :class:`~bpviz.engine.fileset.FileSet`: all files in place, or
    none changed. Returns the paths written."""
    from .fileset import FileSet
    path = Path(path)
    npz = path.with_suffix(".npz") if path.suffix != ".npz" else path.with_name(path.name + ".npz")
    text, arrays = program_files(config, session_state=session_state, epochs=epochs,
                                 arrays_file=npz.name, dataset=dataset)

    def write_text(tmp):
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)

    def write_arrays(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    with FileSet(path.parent) as files:
        files.write(path.name, write_text)
        if arrays:
            files.write(npz.name, write_arrays)
        return files.commit()
