"""The command line: ``bpviz`` (the desktop app) and its headless commands.

Exit status: 0 done; 2 bad input (usage, data, configuration, session file), reported as one line on
stderr that says what is wrong and where, never a traceback; 3 training diverged.

Headless commands never import Qt unless they render (``snapshot``, ``export``, ``bench``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

EXIT_OK, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit status 2) instead of a page."""

    def error(self, message):
        # "argument --seed: --seed must be ..." says the flag twice: once is enough
        flag = re.match(r"argument (\S+?)(?:/\S+)?: (\1 .*)$", message)
        raise UsageError(f"{self.prog}: {flag.group(2) if flag else message}")


# -- argument types ----------------------------------------------------------------------------

def _number(kind, lo=None, lo_open=False, name=""):
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


def _setting(key: str, flag: str, **change):
    """The argument type of a flag that sets configuration field ``key``: its range is the one in
    ``config.RANGES`` (with ``change`` applied, e.g. ``lo=0``), refused as '--seed must be a whole
    number from 0 to 2147483647; got 3000000000'."""
    from dataclasses import replace

    from .engine.config import RANGES
    rng = replace(RANGES[key], **change)

    def parse(text):
        try:
            v = int(text) if rng.integer else float(text)
        except ValueError:
            v = None
        if v is None or not rng.accepts(v):
            raise argparse.ArgumentTypeError(f"{flag} must be {rng.text()}; got {text}")
        return v
    parse.__name__ = rng.name
    return parse


def _hidden(text):
    from .engine.config import MAX_HIDDEN_LAYERS, RANGES
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


MAX_SOAK_MINUTES = 24 * 60


def _minutes(text):
    v = _number(float, 0, True, "minutes")(text)
    if v > MAX_SOAK_MINUTES:
        raise argparse.ArgumentTypeError(f"--soak must be a number of minutes above 0 and at most "
                                         f"{MAX_SOAK_MINUTES} (a day); got {text}")
    return v


def _neuron(text):
    try:
        layer, index = (int(p) for p in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LAYER:INDEX, e.g. 1:0")
    if layer < 0 or index < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: layer and index count from 0")
    return layer, index


def _size(text):
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1600x1000")
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"{text}: width 320–8000 and height 240–8000 pixels")
    return w, h


def _add_run_options(p: argparse.ArgumentParser, with_epochs=True, training=True) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", default="gaussian-clouds", help="preset name (sets every default)")
    src.add_argument("--data", metavar="FILE.csv", help="your own CSV data (header row; label in the "
                     "last column unless --label names it)")
    p.add_argument("--label", help="name of the CSV label column")
    p.add_argument("--standardize", action="store_true", help="standardise CSV features")
    p.add_argument("--hidden", type=_hidden, help="neurons per hidden layer, e.g. 8,8")
    p.add_argument("--activation", help="hidden activation, or one per layer: tanh,relu")
    p.add_argument("--output", help="softmax, sigmoid or linear")
    p.add_argument("--init", help="normal, xavier, he or uniform")
    p.add_argument("--optimizer", help="sgd, momentum or adam")
    p.add_argument("--lr", type=_setting("lr", "--lr"), help="learning rate")
    p.add_argument("--momentum", type=_setting("momentum", "--momentum"), help="momentum α")
    p.add_argument("--batch-size", type=_setting("batch_size", "--batch-size"),
                   help="mini-batch size (0 = full batch)")
    p.add_argument("--l2", type=_setting("l2", "--l2"), help="L2 weight decay λ")
    if with_epochs:
        p.add_argument("--epochs", type=_setting("epochs", "--epochs"), help="epochs to train")
    p.add_argument("--seed", type=_setting("seed", "--seed"), help="random seed")
    p.add_argument("--noise", type=_setting("noise", "--noise"), help="dataset noise level")
    p.add_argument("--samples", type=_setting("n_samples", "--samples"), help="number of samples")
    p.add_argument("--test-fraction", type=_setting("test_fraction", "--test-fraction"),
                   help="fraction of the data held out for testing (0 to 0.9)")
    if training:
        p.add_argument("--divergence-factor", type=_setting("divergence_factor",
                                                            "--divergence-factor"), metavar="F",
                       help="stop as diverged when the loss exceeds F times the loss the run "
                            "started at (default 1000; 0 turns it off)")


def config_from_args(args):
    """The configuration a command's flags describe: the preset's defaults, then the flags."""
    from .engine.config import Config
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


# -- commands ----------------------------------------------------------------------------------

def write_run(out: Path, config, trainer, *, trajectory=None, extra=None) -> None:
    """history.csv, weights.npz, config.json and session.bpviz of a run into ``out``, together:
    each is written under a temporary name in ``out`` first, and they replace the old files only
    once all four were written (``engine.fileset``); otherwise every old file stays as it was."""
    import numpy as np

    from .engine.fileset import FileSet
    from .engine.session import LIVE_SETTINGS, save_session
    out.mkdir(parents=True, exist_ok=True)
    hist = trainer.history
    header = hist.header(trainer.network.n_layers)

    def history_csv(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(",".join(header) + "\n")
            for row in hist.table():
                cells = [str(int(row[0]))] + [repr(float(v)) for v in row[1:]]
                f.write(",".join(cells) + "\n")

    def weights_npz(tmp):
        arrays = {}
        for i, (W, b) in enumerate(zip(trainer.network.weights, trainer.network.biases)):
            arrays[f"W{i}"], arrays[f"b{i}"] = W, b
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    def config_json(tmp):
        d = {"config": config.to_dict(), "sizes": trainer.network.sizes,
             "activations": trainer.network.activation_names, "epochs_done": trainer.epoch,
             "passes_done": trainer.pass_count, "dataset": trainer.dataset.params or
             {"source": trainer.dataset.source},
             "live": {name: getattr(trainer, name) for name in LIVE_SETTINGS}}
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(d, f, indent=2)
            f.write("\n")

    def session_bpviz(tmp):
        save_session(tmp, trainer, config, trajectory=trajectory, extra=extra)

    with FileSet(out) as files:
        files.write("history.csv", history_csv)
        files.write("weights.npz", weights_npz)
        files.write("config.json", config_json)
        files.write("session.bpviz", session_bpviz)
        files.commit()


def cmd_train(args) -> int:
    """Train a new run from a preset or CSV data, or with --resume continue a saved session."""
    from .engine.config import build
    if args.resume:
        return _resume_train(args)
    if args.preset is None:   # the train parser leaves it unset so that --resume can refuse it
        args.preset = "gaussian-clouds"
    cfg = config_from_args(args)
    _, _, trainer = build(cfg)
    diverged = trainer.run(epochs=cfg.epochs)
    return _finish_train(cfg, trainer, diverged, Path(args.out) if args.out else None)


def _resume_train(args) -> int:
    """--resume FILE --epochs N: N more epochs of the session, written to --out or else to the
    session's own folder (its session.bpviz, history.csv, weights.npz and config.json replaced)."""
    from dataclasses import replace

    # --resume may change the live settings (the ones a session keeps as the trainer's own);
    # every other run option would change the network or the data, which the session fixes
    from .engine.session import LIVE_SETTINGS, load_session
    for dest, value in vars(args).items():
        if dest not in LIVE_SETTINGS + ("epochs", "resume", "out", "command", "func") \
                and value is not None and value is not False:
            raise UsageError(f"bpviz train: --{dest.replace('_', '-')} cannot be used with "
                             f"--resume: the session fixes the network and the data")
    if args.epochs is None:
        raise UsageError("bpviz train: --resume needs --epochs N, the number of epochs to add")
    session = load_session(args.resume)
    trainer = session.trainer
    if args.momentum is not None and session.config.optimizer != "momentum":
        raise UsageError(f"bpviz train: --momentum has no effect on the session's "
                         f"{session.config.optimizer} optimizer")
    live = {name: getattr(trainer, name) if getattr(args, name) is None else getattr(args, name)
            for name in LIVE_SETTINGS}
    replace(session.config, **live).validate()     # e.g. a momentum of 1 or more
    for name, value in live.items():
        setattr(trainer, name, value)
    trajectory = session.trajectory

    def record(result):
        if not result.diverged:
            trajectory.record(trainer.network, trainer.pass_count)

    diverged = trainer.run(epochs=args.epochs, on_pass=None if trajectory is None else record)
    out = Path(args.out) if args.out else Path(args.resume).parent
    return _finish_train(session.config, trainer, diverged, out, trajectory=trajectory,
                         extra=session.extra)


def _finish_train(cfg, trainer, diverged, out, *, trajectory=None, extra=None) -> int:
    """Write the run to ``out`` (if given) and print its one-line summary; the exit status."""
    dataset, net = trainer.dataset, trainer.network
    loss, acc = trainer.evaluate(trainer.X, trainer.T, trainer.labels)
    test_loss, test_acc = trainer.evaluate(trainer.X_test, trainer.T_test, trainer.test_labels)
    if out is not None:
        write_run(out, cfg, trainer, trajectory=trajectory, extra=extra)
    sizes = "-".join(str(s) for s in net.sizes)
    parts = [f"{dataset.name} {sizes}", f"epochs {trainer.epoch}", f"loss {loss:.6g}"]
    if dataset.is_classification:
        parts.append(f"accuracy {acc:.4g}")
    if len(trainer.X_test):
        parts.append(f"test loss {test_loss:.6g}")
        if dataset.is_classification:
            parts.append(f"test accuracy {test_acc:.4g}")
    if diverged:
        print(f"bpviz train: {diverged.message()}", file=sys.stderr)
        print(", ".join(parts))
        return EXIT_DIVERGED
    print(", ".join(parts))
    return EXIT_OK


def cmd_gradcheck(args) -> int:
    from .engine.config import build
    from .engine.gradcheck import gradient_check
    cfg = config_from_args(args)
    dataset, net, trainer = build(cfg)
    n = min(len(trainer.X), args.samples_check)
    check = gradient_check(net, trainer.X[:n], trainer.T[:n])
    kind, layer, where = check.worst_location()
    skipped = f" ({n - check.samples} on a ReLU kink left out)" if check.samples < n else ""
    ok = check.worst <= args.tolerance
    print(f"gradcheck {dataset.name} {'-'.join(map(str, net.sizes))}: {net.n_parameters} parameters, "
          f"{check.samples} samples{skipped}, worst relative error {check.worst:.3g} at {kind}[{layer}]{list(where)} "
          f"({'ok' if ok else 'FAILED'}: tolerance {args.tolerance:g})")
    return EXIT_OK if ok else 1


def cmd_app(args) -> int:
    from .app import main as app_main
    return app_main(args)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = _Parser(prog="bpviz", description="See backpropagation happen, number by number.")
    p.add_argument("--version", action="version", version=f"bpviz {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train headless and write history.csv, weights.npz, "
                       "config.json, session.bpviz")
    _add_run_options(t)
    t.set_defaults(preset=None)   # unset unless given, so that --resume can refuse it
    t.add_argument("--resume", metavar="FILE.bpviz",
                   help="continue a saved session for --epochs more epochs; only --lr, "
                        "--momentum, --batch-size, --l2 and --divergence-factor may change; "
                        "writes to --out, by default the session's folder")
    t.add_argument("--out", metavar="DIR",
                   help="folder for history.csv, weights.npz, config.json, session.bpviz")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("gradcheck", help="compare backprop with finite differences")
    _add_run_options(g, with_epochs=False, training=False)
    g.add_argument("--tolerance", type=_number(float, 0, True, "tolerance"), default=1e-6)
    g.add_argument("--samples-check", type=_number(int, 1, name="samples"), default=64,
                   help="samples to check on (default 64)")
    g.set_defaults(func=cmd_gradcheck)

    s = sub.add_parser("snapshot", help="save a picture of the window after N epochs (no display)")
    _add_run_options(s)
    s.add_argument("--select", type=_neuron, metavar="L:J", help="inspect neuron J of layer L")
    s.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH")
    s.add_argument("--lesson", type=_number(int, 1, name="lesson"), metavar="N",
                   help="show lesson N (its own set-up) in the Lessons panel")
    s.add_argument("--out", required=True, metavar="FILE.png")
    s.set_defaults(func=_lazy("snapshot"))

    b = sub.add_parser("bench", help="measure speed and frame times on this machine")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    b.add_argument("--soak", type=_minutes, metavar="MINUTES",
                   help="also run the window at full speed this long and report RSS")
    b.set_defaults(func=_lazy("bench"))

    e = sub.add_parser("export", help="render every panel of a session in every format")
    e.add_argument("--session", required=True, metavar="FILE.bpviz")
    e.add_argument("--out", required=True, metavar="DIR")
    e.set_defaults(func=_lazy("export"))

    from .inspect_cmd import add_parser as add_inspect_parser
    add_inspect_parser(sub)
    return p


def _lazy(name):
    def run(args):
        if name == "snapshot":
            from .snapshot_cmd import cmd_snapshot
            return cmd_snapshot(args)
        if name == "export":
            from .snapshot_cmd import cmd_export
            return cmd_export(args)
        from .bench import cmd_bench
        return cmd_bench(args)
    return run


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # One BLAS thread: on a two-core machine more threads fight the GUI thread and small matrices
    # gain nothing. Only effective before numpy is first imported, hence here.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from .engine.errors import BpvizError
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            return cmd_app(args)
        return args.func(args)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except BpvizError as e:
        command = getattr(args, "command", None)
        print(f"bpviz {command}: {e}" if command else f"bpviz: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        print(f"bpviz: cannot write or read{where}: {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
