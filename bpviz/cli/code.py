"""``bpviz code``: the plain-numpy program of a run, standalone — from the run options, or from a
saved session (``--session``), going on as ``train --resume`` would."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import EXIT_OK, UsageError, add_run_options, config_from_args


def add_parser(subparsers) -> None:
    c = subparsers.add_parser("code", help="write the run as a standalone numpy program that "
                              "prints its history CSV")
    add_run_options(c)
    c.set_defaults(preset=None)   # unset unless given, so that --session can refuse it
    c.add_argument("--session", metavar="FILE.bpviz",
                   help="start from this session's weights and optimizer state and go on as "
                        "train --resume would for --epochs more epochs (default: the run's "
                        "configured epochs); only --lr, --momentum, --batch-size, --l2 and "
                        "--divergence-factor may change")
    c.add_argument("--out", metavar="FILE.py", required=True,
                   help="the program to write ('-': standard output)")
    c.set_defaults(func=cmd_code)


def cmd_code(args) -> int:
    from ..engine.codegen import script, write_program
    if args.session:
        config, state, dataset = _from_session(args)
    else:
        if args.preset is None:
            args.preset = "gaussian-clouds"
        config, state, dataset = config_from_args(args), None, None
    epochs = args.epochs if state is not None else None
    if args.out == "-":
        sys.stdout.write(script(config, session_state=state, epochs=epochs))
        return EXIT_OK
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"bpviz code: --out {out} is a folder; give the program's file name")
    written = write_program(out, config, session_state=state, epochs=epochs, dataset=dataset)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return EXIT_OK


def _from_session(args):
    """The session's configuration and trainer state, with the live settings the flags change."""
    from dataclasses import replace

    from ..engine.session import LIVE_SETTINGS, load_session
    for dest, value in vars(args).items():
        if dest not in LIVE_SETTINGS + ("epochs", "session", "out", "command", "func") \
                and value is not None and value is not False:
            raise UsageError(f"bpviz code: --{dest.replace('_', '-')} cannot be used with "
                             f"--session: the session fixes the network and the data")
    session = load_session(args.session)
    trainer = session.trainer
    if args.momentum is not None and session.config.optimizer != "momentum":
        raise UsageError(f"bpviz code: --momentum has no effect on the session's "
                         f"{session.config.optimizer} optimizer")
    state = trainer.get_state()
    for name in LIVE_SETTINGS:
        if getattr(args, name) is not None:
            state[name] = getattr(args, name)
    replace(session.config, **{name: state[name] for name in LIVE_SETTINGS}).validate()
    return session.config, state, session.dataset
