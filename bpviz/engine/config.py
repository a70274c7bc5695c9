"""Run configuration, the presets that set every default, and building a run from them.

A :class:`Config` names the data (a preset's generator or a CSV file), the network and the training
hyper-parameters. ``Config.preset(name)`` gives a preset's defaults; command-line flags and the
window's controls override single fields. ``build(config)`` makes the dataset, network and trainer.

One random stream per run: ``RandomState(seed)`` draws the generated data first and the initial
weights next, exactly as the classic numpy example does; CSV data leaves the whole stream to the
weights. The same configuration therefore always gives the same data and the same network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from .data import Dataset
from .errors import ConfigError
from .functions import ACTIVATIONS, OUTPUTS
from .network import INITS, Network
from .optimizers import OPTIMIZERS
from .ranges import RANGES, Range, format_number  # noqa: F401  (Range, format_number: re-exported)
from .trainer import DIVERGENCE_FACTOR, Trainer

MAX_HIDDEN_LAYERS = 8
MEMORY_LIMIT_BYTES = 4 * 1024 ** 3


MAX_NEURONS_PER_LAYER = int(RANGES["hidden"].hi)
NOT_IN_NOTES = ("epochs", "divergence_factor", "notes")   # settings a preset's notes leave open


@dataclass
class Config:
    dataset: str = "gaussian-clouds"   # generator / preset name, or "csv"
    data_file: str | None = None
    label: str | None = None            # CSV label column (default: the last)
    standardize: bool = False
    n_samples: int | None = None        # None: the generator's default
    noise: float | None = None
    test_fraction: float | None = None
    hidden: tuple[int, ...] = (3,)
    activation: str | tuple[str, ...] = "sigmoid"
    output: str = "softmax"
    init: str = "normal"
    seed: int = 1
    optimizer: str = "sgd"
    lr: float = 1.5
    momentum: float = 0.0
    batch_size: int = 0                 # 0: full batch
    l2: float = 0.0
    epochs: int = 1000
    divergence_factor: float = DIVERGENCE_FACTOR   # loss above this × the start: diverged; 0: off
    notes: str = field(default="", compare=False)

    @staticmethod
    def preset(name: str) -> "Config":
        try:
            return replace(PRESETS[name])
        except KeyError:
            raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None

    def to_dict(self) -> dict:
        """The configuration as plain values; ``notes`` as :meth:`notes_in_force` gives them."""
        d = asdict(self)
        d["notes"] = self.notes_in_force()
        d["hidden"] = list(self.hidden)
        if not isinstance(self.activation, str):
            d["activation"] = list(self.activation)
        return d

    @classmethod
    def from_dict(cls, d) -> "Config":
        """A validated configuration from a plain dict (a session or config.json); anything
        malformed raises ConfigError naming the key."""
        if not isinstance(d, dict):
            raise ConfigError(f"a configuration must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(sorted(map(str, unknown)))}")
        d = dict(d)
        hidden = d.get("hidden", ())
        if not isinstance(hidden, (list, tuple)) or not all(
                isinstance(h, int) and not isinstance(h, bool) for h in hidden):
            raise ConfigError(f"hidden must be a list of neuron counts, got {hidden!r}")
        d["hidden"] = tuple(hidden)
        activation = d.get("activation", "sigmoid")
        if isinstance(activation, list):
            activation = tuple(activation)
        if not (isinstance(activation, str) or (isinstance(activation, tuple)
                                                 and all(isinstance(a, str) for a in activation))):
            raise ConfigError(f"activation must be a name or a list of names, got {activation!r}")
        d["activation"] = activation
        for key in ("dataset", "output", "init", "optimizer", "notes"):
            if key in d and not isinstance(d[key], str):
                raise ConfigError(f"{key} must be text, got {d[key]!r}")
        for key in ("data_file", "label"):
            if d.get(key) is not None and not isinstance(d[key], str):
                raise ConfigError(f"{key} must be text, got {d[key]!r}")
        if not isinstance(d.get("standardize", False), bool):
            raise ConfigError(f"standardize must be true or false, got {d['standardize']!r}")
        for key in ("lr", "momentum", "l2", "noise", "test_fraction", "divergence_factor"):
            v = d.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ConfigError(f"{key} must be a number, got {v!r}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def notes_in_force(self) -> str:
        """The notes, where they describe this configuration. A preset's notes describe its
        data, network and training: once any of these differs from the preset's (a CSV file
        opened over the classic preset, another network, another learning rate), they describe
        another configuration and are left out. How long a run goes on (``epochs``) and its
        divergence limit do not change what it is. Notes that are no preset's stay as written."""
        preset = next((p for p in PRESETS.values() if p.notes and p.notes == self.notes), None)
        if preset is None:
            return self.notes
        same = all(getattr(self, f.name) == getattr(preset, f.name) for f in fields(self)
                   if f.name not in ("activation", "hidden") + NOT_IN_NOTES)
        same = (same and tuple(self.hidden) == tuple(preset.hidden)
                and self.activations() == preset.activations())
        return self.notes if same else ""

    def activations(self) -> list[str]:
        if isinstance(self.activation, str):
            return [self.activation] * len(self.hidden)
        return list(self.activation)

    def validate(self) -> None:
        """Raise ConfigError naming the first value that is out of range (:data:`RANGES`)."""
        for key in ("lr", "momentum", "l2", "divergence_factor", "epochs", "batch_size", "seed"):
            RANGES[key].check(getattr(self, key))
        for key in ("noise", "test_fraction", "n_samples"):
            if getattr(self, key) is not None:          # None: the dataset's default
                RANGES[key].check(getattr(self, key))
        if not isinstance(self.hidden, (tuple, list)):
            raise ConfigError(f"hidden must be a list of neuron counts, got {self.hidden!r}")
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.hidden)}")
        for k, n in enumerate(self.hidden):
            RANGES["hidden"].check(n, f"hidden layer {k + 1}'s neuron count")
        acts = self.activations()
        if len(acts) != len(self.hidden):
            raise ConfigError(f"{len(acts)} activations given for {len(self.hidden)} hidden layers")
        for a in acts:
            if a not in ACTIVATIONS:
                raise ConfigError(f"unknown activation {a!r}; choose one of {', '.join(ACTIVATIONS)}")
        for name, v, allowed in (("output", self.output, OUTPUTS), ("initialisation", self.init, INITS),
                                 ("optimizer", self.optimizer, OPTIMIZERS)):
            if v not in allowed:
                raise ConfigError(f"unknown {name} {v!r}; choose one of {', '.join(allowed)}")
        if self.dataset == "csv" and not self.data_file:
            raise ConfigError("the csv dataset needs a data file")
        if self.dataset != "csv" and self.dataset not in DATASET_NAMES:
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of "
                              f"{', '.join(DATASET_NAMES)} or give a CSV file")


def _preset(**kw) -> Config:
    return Config(**kw)


PRESETS: dict[str, Config] = {
    "gaussian-clouds": _preset(notes="the classic numpy example: three Gaussian clouds, 2-3-3 "
                                     "sigmoid/softmax, full batch, learning rate 1.5"),
    "xor": _preset(dataset="xor", hidden=(4,), activation="tanh", init="xavier", seed=0,
                   optimizer="momentum", lr=0.1, momentum=0.9, batch_size=32, epochs=200),
    "circles": _preset(dataset="circles", hidden=(6,), activation="tanh", init="xavier", seed=0,
                       optimizer="momentum", lr=0.1, momentum=0.9, batch_size=32, epochs=300),
    "moons": _preset(dataset="moons", hidden=(8,), activation="tanh", init="xavier", seed=0,
                     optimizer="momentum", lr=0.1, momentum=0.9, batch_size=32, epochs=300),
    "spiral": _preset(dataset="spiral", hidden=(16, 16), activation="tanh", init="xavier", seed=0,
                      optimizer="adam", lr=0.01, batch_size=32, epochs=500),
    "spiral3": _preset(dataset="spiral3", hidden=(24, 24), activation="relu", init="he", seed=0,
                       optimizer="adam", lr=0.01, batch_size=32, epochs=500),
    "plane": _preset(dataset="plane", hidden=(3,), activation="tanh", output="linear",
                     init="xavier", seed=0, lr=0.05, epochs=300),
    "sine": _preset(dataset="sine", hidden=(12,), activation="tanh", output="linear",
                    init="xavier", seed=0, optimizer="adam", lr=0.02, epochs=1500),
    "iris": _preset(dataset="iris", hidden=(5,), activation="sigmoid", init="xavier", seed=0,
                    optimizer="momentum", lr=0.1, momentum=0.9, batch_size=16, epochs=300),
}

DATASET_NAMES = ("gaussian-clouds", "xor", "circles", "moons", "spiral", "spiral3", "plane", "sine",
                 "iris")


def estimate_memory(config: Config, n_samples: int, n_features: int, n_outputs: int) -> int:
    """Bytes a pass needs, roughly: z, a and δ of every layer for the batch, plus parameters."""
    sizes = [n_features, *config.hidden, n_outputs]
    batch = n_samples if config.batch_size <= 0 else min(config.batch_size, n_samples)
    per_sample = sum(sizes) * 4 + sum(sizes[1:]) * 2        # a, z, δ, temporaries
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) * 6   # W, grads, optimizer, Δ
    return 8 * (batch * per_sample + params + n_samples * (n_features + n_outputs))


def make_dataset(config: Config, rng: np.random.RandomState | None = None) -> Dataset:
    """The configuration's data; a generated dataset draws from ``rng`` (left positioned after)."""
    from . import csvdata, datasets
    if config.dataset == "csv":
        return csvdata.load_csv(config.data_file, label=config.label, standardize=config.standardize,
                                test_fraction=config.test_fraction or 0.0, seed=config.seed)
    return datasets.generate(config.dataset, n_samples=config.n_samples, noise=config.noise,
                             test_fraction=config.test_fraction, seed=config.seed, rng=rng)


def build(config: Config, dataset: Dataset | None = None) -> tuple[Dataset, Network, Trainer]:
    """Dataset, freshly initialised network and trainer for ``config``.

    Pass ``dataset`` to reuse data already loaded (the weights are still drawn as if the data had
    been generated, so the same configuration gives the same initial weights).
    """
    config.validate()
    rng = np.random.RandomState(config.seed)
    if dataset is None:
        dataset = make_dataset(config, rng)
    elif config.dataset != "csv":
        make_dataset(config, rng)   # advance the stream exactly as generating the data does
    if config.output == "softmax" and dataset.is_classification and dataset.n_outputs < 2:
        raise ConfigError("softmax output needs at least two classes")
    if not dataset.is_classification and config.output != "linear":
        raise ConfigError(f"{dataset.name} is a regression dataset: use the linear output")
    if dataset.is_classification and config.output == "linear":
        raise ConfigError(f"{dataset.name} is a classification dataset: use a softmax or sigmoid "
                          f"output")
    need = estimate_memory(config, len(dataset.X_train), dataset.n_features, dataset.n_outputs)
    if need > MEMORY_LIMIT_BYTES:
        raise ConfigError(f"this network and batch need about {need / 1024 ** 3:.1f} GiB, more than "
                          f"the {MEMORY_LIMIT_BYTES / 1024 ** 3:.0f} GiB bpviz allows; use fewer "
                          f"neurons or a smaller batch")
    sizes = [dataset.n_features, *config.hidden, dataset.n_outputs]
    net = Network(sizes, config.activations(), config.output, config.init, config.seed, rng=rng)
    trainer = Trainer(net, dataset, optimizer=config.optimizer, lr=config.lr,
                      momentum=config.momentum, batch_size=config.batch_size, l2=config.l2,
                      seed=config.seed, divergence_factor=config.divergence_factor)
    return dataset, net, trainer
