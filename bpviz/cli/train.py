"""``bpviz train``: a run from a preset or CSV data, or ``--resume`` a saved session; writes
history.csv, weights.npz, config.json and session.bpviz with ``--out``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import EXIT_DIVERGED, EXIT_OK, UsageError, add_run_options, config_from_args


def add_parser(subparsers) -> None:
    t = subparsers.add_parser("train", help="train headless and write history.csv, weights.npz, "
                              "config.json, session.bpviz")
    add_run_options(t)
    t.set_defaults(preset=None)   # unset unless given, so that --resume can refuse it
    t.add_argument("--resume", metavar="FILE.bpviz",
                   help="continue a saved session for --epochs more epochs; only --lr, "
                        "--momentum, --batch-size, --l2 and --divergence-factor may change; "
                        "writes to --out, by default the session's folder")
    t.add_argument("--out", metavar="DIR",
                   help="folder for history.csv, weights.npz, config.json, session.bpviz")
    t.set_defaults(func=cmd_train)


def write_run(out: Path, config, trainer, *, trajectory=None, extra=None, shown=None) -> None:
    """history.csv, weights.npz, config.json and session.bpviz of a run into ``out``, together:
    each is written under a temporary name in ``out`` first, and they replace the old files only
    once all four were written (``engine.fileset``); otherwise every old file stays as it was."""
    import numpy as np

    from ..engine.fileset import FileSet
    from ..engine.session import LIVE_SETTINGS, write_session
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
        # numbered as the diagram numbers layers: W1 and b1 feed layer 1
        for l, (W, b) in enumerate(zip(trainer.network.weights, trainer.network.biases), start=1):
            arrays[f"W{l}"], arrays[f"b{l}"] = W, b
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
        write_session(tmp, trainer, config, trajectory=trajectory, extra=extra, shown=shown)

    with FileSet(out, create=True) as files:     # a folder made here goes again on failure
        files.write("history.csv", history_csv)
        files.write("weights.npz", weights_npz)
        files.write("config.json", config_json)
        files.write("session.bpviz", session_bpviz)
        files.commit()


def cmd_train(args) -> int:
    """Train a new run from a preset or CSV data, or with --resume continue a saved session."""
    from ..engine.config import build
    if args.resume:
        return _resume_train(args)
    if args.preset is None:   # the train parser leaves it unset so that --resume can refuse it
        args.preset = "gaussian-clouds"
    cfg = config_from_args(args)
    _, _, trainer = build(cfg)
    recorder = RunRecorder(trainer)
    diverged = trainer.run(epochs=cfg.epochs, on_pass=recorder)
    return _finish_train(cfg, trainer, diverged, Path(args.out) if args.out else None,
                         recorder=recorder)


class RunRecorder:
    """What the window records of a run while it trains, recorded here the same way, so that the
    session shows in the window (and in ``export``) as the window's own would: the descent path
    (the weights the run starts at, then every pass; every second, fourth, ... once its memory cap
    is reached), the pass log (pass, position, batch loss) and the last pass (the weights it ran
    at and its samples). Called after each pass, as ``Trainer.run``'s ``on_pass``."""

    def __init__(self, trainer, trajectory=None, shown=None):
        from ..engine.passlog import MAX_PASS_ROWS, PassLog
        from ..engine.trajectory import Trajectory
        net = trainer.network
        self.trainer = trainer
        if trajectory is None:        # a new run, or a session saved before runs kept a path
            trajectory = Trajectory(net)
            trajectory.record(net, trainer.pass_count)
        self.trajectory = trajectory
        self.log = PassLog(MAX_PASS_ROWS)
        saved = (shown or {}).get("pass_log")
        if saved is not None:
            self.log.extend(saved)
        self.last = None if not shown or not shown.get("trace") else (
            shown["trace"]["weights"], shown["trace"]["biases"], shown["trace"]["batch"])
        self.position = trainer.position
        self.before = (list(net.weights), list(net.biases))   # replaced by a pass, not changed

    def __call__(self, result) -> None:
        t, net = self.trainer, self.trainer.network
        if result.diverged:
            self.last = None          # the window shows the weights kept, of no pass
        else:
            self.trajectory.record(net, t.pass_count)
            self.log.append(t.pass_count, self.position, result.trace.loss)
            self.last = (*self.before, result.indices)
        self.position = t.position
        self.before = (list(net.weights), list(net.biases))

    def shown(self) -> dict:
        """``shown`` for the session file (see ``bpviz.engine.session``)."""
        import numpy as np
        trace = None
        if self.last is not None:
            weights, biases, batch = self.last
            trace = {"weights": list(weights), "biases": list(biases),
                     "batch": None if batch is None else np.asarray(batch, dtype=np.int64)}
        return {"trace": trace, "pass_log": self.log.table()}


def _resume_train(args) -> int:
    """--resume FILE --epochs N: N more epochs of the session, written to --out or else to the
    session's own folder (its session.bpviz, history.csv, weights.npz and config.json replaced)."""
    from dataclasses import replace

    # --resume may change the live settings (the ones a session keeps as the trainer's own);
    # every other run option would change the network or the data, which the session fixes
    from ..engine.session import LIVE_SETTINGS, load_session
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
    recorder = RunRecorder(trainer, session.trajectory, session.shown)
    diverged = trainer.run(epochs=args.epochs, on_pass=recorder)
    out = Path(args.out) if args.out else Path(args.resume).parent
    return _finish_train(session.config, trainer, diverged, out, recorder=recorder,
                         extra=session.extra)


def _finish_train(cfg, trainer, diverged, out, *, recorder=None, extra=None) -> int:
    """Write the run to ``out`` (if given) and print its one-line summary; the exit status."""
    dataset, net = trainer.dataset, trainer.network
    loss, acc = trainer.evaluate(trainer.X, trainer.T, trainer.labels)
    test_loss, test_acc = trainer.evaluate(trainer.X_test, trainer.T_test, trainer.test_labels)
    if out is not None:
        write_run(out, cfg, trainer, trajectory=recorder and recorder.trajectory, extra=extra,
                  shown=recorder and recorder.shown())
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
