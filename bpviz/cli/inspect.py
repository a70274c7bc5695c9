"""``bpviz inspect``: one neuron's delta with the chain rule written out, headless.

    bpviz inspect --preset NAME [--epochs N] --neuron L:J [--sample I] [--json]

Builds the run, trains N epochs (default 0), and prints what the inspector panel shows for neuron J
of layer L (layer 0 is the input): z, a and δ of the pinned training sample I, the batch means, the
chain rule with its live numbers, the incoming edges with ∂L/∂w, the last Δw and a finite-difference
check, and the outgoing edges with their error signals. ``--json`` prints one JSON object instead
(``NeuronReport.to_dict()``). Every number refers to the weights after the N epochs, over the whole
training set. Never imports Qt.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..engine.errors import ConfigError
from .common import (EXIT_DIVERGED, EXIT_OK, add_run_options, config_from_args, neuron, number,
                     setting)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Declare the ``inspect`` command on ``subparsers`` (the one ``cli.build_parser`` makes)."""
    p = subparsers.add_parser("inspect", help="print one neuron's delta with the chain rule "
                                              "written out (no window)")
    add_run_options(p, with_epochs=False)
    p.add_argument("--epochs", type=setting("epochs", "--epochs", lo=0), default=0,
                   help="epochs to train first (default 0: the initial weights)")
    p.add_argument("--neuron", type=neuron, required=True, metavar="L:J",
                   help="neuron J of layer L (layer 0 is the input, the last layer the output)")
    p.add_argument("--sample", type=number(int, 0, name="sample"), default=0, metavar="I",
                   help="the pinned training sample (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-fd", action="store_true", help="skip the finite-difference check")
    p.set_defaults(func=cmd_inspect)
    return p


def cmd_inspect(args) -> int:
    from ..engine.config import build
    from ..engine.inspect import inspect_neuron

    # --epochs here may be 0, which Config.epochs does not allow: train it ourselves
    cfg = config_from_args(argparse.Namespace(**{**vars(args), "epochs": None}))
    dataset, net, trainer = build(cfg)
    layer, index = args.neuron
    sizes = net.sizes
    shape = "-".join(map(str, sizes))
    if layer >= len(sizes):
        raise ConfigError(f"--neuron {layer}:{index}: no layer {layer}; the network {shape} has "
                          f"layers 0..{len(sizes) - 1} (layer 0 is the input)")
    if index >= sizes[layer]:
        raise ConfigError(f"--neuron {layer}:{index}: layer {layer} has {sizes[layer]} neurons "
                          f"(0..{sizes[layer] - 1}); the network is {shape}")
    n = len(trainer.X)
    if args.sample >= n:
        raise ConfigError(f"--sample {args.sample}: the training set has {n} samples (0..{n - 1})")
    diverged = trainer.run(epochs=args.epochs) if args.epochs else None
    report = inspect_neuron(net, trainer.X, trainer.T, layer, index, sample=args.sample,
                            last_update=trainer.last_update, fd_check=not args.no_fd)
    if args.json:
        d = report.to_dict()
        d["epoch"], d["pass"] = trainer.epoch, trainer.pass_count
        print(json.dumps(d, ensure_ascii=False))
    else:
        print(f"{dataset.name} {shape}, after {trainer.epoch} epochs ({trainer.pass_count} passes); "
              f"numbers at these weights, over the {n} training samples")
        print(report.to_text())
    if diverged:
        print(f"bpviz inspect: {diverged.message()}", file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_OK
