"""What the subcommands share: exit codes, the one-line usage error, argument types and the
options that describe a run (``add_run_options``, ``config_from_args``)."""

from __future__ import annotations

import argparse
import math
import re

EXIT_OK, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 2, 3


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit status 2) instead of a page."""

    def error(self, message):
        # "argument --seed: --seed must be ..." says the flag twice: once is enough
        flag = re.match(r"argument (\S+?)(?:/\S+)?: (\1 .*)$", message)
        raise UsageError(f"{self.prog}: {flag.group(2) if flag else message}")


# -- argument types ----------------------------------------------------------------------------

def number(kind, lo=None, lo_open=False, name=""):
    """The argument type of a plain number of ``kind`` (int or float), at least (or, with
    ``lo_open``, above) ``lo``."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number")
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '≥'} {lo}, got {text}")
        return v
    parse.__name__ = name or kind.__name__
    return parse


def setting(key: str, flag: str, **change):
    """The argument type of a flag that sets configuration field ``key``: its range is the one in
    ``config.RANGES`` (with ``change`` applied, e.g. ``lo=0``), refused as '--seed must be a whole
    number from 0 to 2147483647; got 3000000000'."""
    from dataclasses import replace

    from ..engine.config import RANGES
    from ..engine.ranges import parse_whole
    rng = replace(RANGES[key], **change)

    def parse(text):
        try:
            v = parse_whole(text) if rng.integer else float(text)
        except ValueError:
            v = None
        if v is None or not rng.accepts(v):
            raise argparse.ArgumentTypeError(f"{flag} must be {rng.text()}; got {text}")
        return v
    parse.__name__ = rng.name
    return parse


def hidden_sizes(text):
    """``--hidden 8,8``: neurons per hidden layer ("none" or "-" for none)."""
    from ..engine.config import MAX_HIDDEN_LAYERS, RANGES
    text = text.strip()
    if text in ("", "none", "-"):
        return ()
    try:
        sizes = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of neuron counts, "
                                         f"e.g. 8,8")
    if len(sizes) > MAX_HIDDEN_LAYERS or not all(RANGES["hidden"].accepts(s) for s in sizes):
        raise argparse.ArgumentTypeError(
            f"--hidden must be at most {MAX_HIDDEN_LAYERS} neuron counts, each "
            f"{RANGES['hidden'].text()}; got {text}")
    return sizes


def neuron(text):
    """``L:J``: neuron J of layer L (layer 0 is the input)."""
    try:
        layer, index = (int(p) for p in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LAYER:INDEX, e.g. 1:0")
    if layer < 0 or index < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: layer and index count from 0")
    return layer, index


def window_size(text):
    """``WxH`` in pixels, e.g. 1600x1000."""
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1600x1000")
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"{text}: width 320–8000 and height 240–8000 pixels")
    return w, h


def add_run_options(p: argparse.ArgumentParser, with_epochs=True, training=True) -> None:
    """The options that describe a run (data, network, rates); ``--epochs`` unless
    ``with_epochs`` is False, ``--divergence-factor`` when ``training``."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", default="gaussian-clouds", help="preset name (sets every default)")
    src.add_argument("--data", metavar="FILE.csv", help="your own CSV data (header row; label in the "
                     "last column unless --label names it)")
    p.add_argument("--label", help="name of the CSV label column")
    p.add_argument("--standardize", action="store_true", help="standardise CSV features")
    p.add_argument("--hidden", type=hidden_sizes, help="neurons per hidden layer, e.g. 8,8")
    p.add_argument("--activation", help="hidden activation, or one per layer: tanh,relu")
    p.add_argument("--output", help="softmax, sigmoid or linear")
    p.add_argument("--init", help="normal, xavier, he or uniform")
    p.add_argument("--optimizer", help="sgd, momentum or adam")
    p.add_argument("--lr", type=setting("lr", "--lr"), help="learning rate")
    p.add_argument("--momentum", type=setting("momentum", "--momentum"), help="momentum α")
    p.add_argument("--batch-size", type=setting("batch_size", "--batch-size"),
                   help="mini-batch size (0 = full batch)")
    p.add_argument("--l2", type=setting("l2", "--l2"), help="L2 weight decay λ")
    if with_epochs:
        p.add_argument("--epochs", type=setting("epochs", "--epochs"), help="epochs to train")
    p.add_argument("--seed", type=setting("seed", "--seed"), help="random seed")
    p.add_argument("--noise", type=setting("noise", "--noise"), help="dataset noise level")
    p.add_argument("--samples", type=setting("n_samples", "--samples"), help="number of samples")
    p.add_argument("--test-fraction", type=setting("test_fraction", "--test-fraction"),
                   help="fraction of the data held out for testing (0 to 0.9)")
    if training:
        p.add_argument("--divergence-factor", type=setting("divergence_factor",
                                                            "--divergence-factor"), metavar="F",
                       help="stop as diverged when the loss exceeds F times the loss the run "
                            "started at (default 1000; 0 turns it off)")


def config_from_args(args):
    """The configuration a command's flags describe: the preset's defaults, then the flags."""
    from ..engine.config import Config
    if getattr(args, "data", None):
        cfg = Config.preset("gaussian-clouds")
        cfg.dataset, cfg.data_file = "csv", args.data
        cfg.hidden, cfg.activation, cfg.init, cfg.seed = (8,), "tanh", "xavier", 0
        cfg.optimizer, cfg.lr, cfg.momentum, cfg.batch_size, cfg.epochs = "adam", 0.01, 0.0, 32, 200
        cfg.test_fraction = 0.2
    else:
        cfg = Config.preset(args.preset)
    for flag, attr in (("label", "label"), ("hidden", "hidden"), ("output", "output"),
                       ("init", "init"), ("optimizer", "optimizer"), ("lr", "lr"),
                       ("momentum", "momentum"), ("batch_size", "batch_size"), ("l2", "l2"),
                       ("epochs", "epochs"), ("seed", "seed"), ("noise", "noise"),
                       ("samples", "n_samples"), ("test_fraction", "test_fraction"),
                       ("divergence_factor", "divergence_factor")):
        value = getattr(args, flag, None)
        if value is not None:
            setattr(cfg, attr, value)
    if getattr(args, "standardize", False):
        cfg.standardize = True
    if getattr(args, "activation", None):
        acts = tuple(a.strip() for a in args.activation.split(","))
        cfg.activation = acts[0] if len(acts) == 1 else acts
    if cfg.momentum and cfg.optimizer == "sgd" and getattr(args, "optimizer", None) is None:
        cfg.optimizer = "momentum"
    cfg.validate()
    return cfg


# -- what a figure shows (snapshot, export) ------------------------------------------------------

FIGURE_PANELS = ("network", "boundary", "surface", "cost")     # the panels a figure can be made of


def one_of(flag: str, names):
    """The argument type of ``flag`` taking one of ``names`` (a tuple, or a callable giving one
    when a value is parsed, so that the list can live in a module not imported before then):
    '--edges must be one of weight, gradient, signal, update; got sginal'."""
    def parse(text):
        allowed = tuple(names() if callable(names) else names)
        if text not in allowed:
            raise argparse.ArgumentTypeError(f"{flag} must be one of {', '.join(allowed)}; "
                                             f"got {text}")
        return text
    parse.__name__ = flag.lstrip("-")
    return parse


def _edge_modes():
    from ..engine.vocabulary import EDGE_MODES
    return EDGE_MODES


def _neuron_modes():
    from ..engine.vocabulary import NEURON_MODES
    return NEURON_MODES


def add_view_options(p: argparse.ArgumentParser, panels=FIGURE_PANELS) -> None:
    """What the figure shows, as the window's controls set it: the edges' and neurons' mode, the
    sample in focus, the neuron the inspector shows, and the panel (``panels``)."""
    p.add_argument("--edges", type=one_of("--edges", _edge_modes), metavar="MODE",
                   help="what the edges show: weight, gradient, signal (the error signal w·δ) "
                        "or update")
    p.add_argument("--neurons", type=one_of("--neurons", _neuron_modes), metavar="MODE",
                   help="what the neurons show: delta or activation")
    p.add_argument("--sample", type=number(int, 0, name="sample"), metavar="I",
                   help="focus on training sample I (every panel shows its values); without it "
                        "the batch mean, or the focus a session kept")
    p.add_argument("--select", type=neuron, metavar="L:J",
                   help="the neuron the inspector shows: neuron J of layer L (0 is the input)")
    p.add_argument("--panel", type=one_of("--panel", panels), metavar="NAME",
                   help=f"only this panel: {', '.join(panels)}")


def check_view_options(args, sizes, n_train: int) -> None:
    """Refuse ``--select`` and ``--sample`` that the network (layer ``sizes``) or its ``n_train``
    training samples do not have, before any window exists."""
    from ..engine.errors import ConfigError
    if getattr(args, "select", None) is not None:
        layer, index = args.select
        if layer >= len(sizes) or index >= sizes[layer]:
            raise ConfigError(f"--select {layer}:{index}: the network has layers "
                              f"{'-'.join(map(str, sizes))} (layer 0 is the input)")
    sample = getattr(args, "sample", None)
    if sample is not None and sample >= n_train:
        raise ConfigError(f"--sample {sample}: there are {n_train} training samples "
                          f"(0 to {n_train - 1})")
