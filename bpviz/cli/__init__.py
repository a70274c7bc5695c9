"""The command line: ``bpviz`` (the desktop app) and its headless commands.

One module per command (``train``, ``gradcheck``, ``inspect``, ``snapshot`` with ``export``,
``compare``, ``code``, ``bench``, ``lessons``, and ``window`` for the app, and ``bpviz FILE`` that
opens a session or CSV file in it), each declaring its options with ``add_parser``
and running with its ``cmd_*`` function; ``common`` holds what they share (exit codes, argument
types, the options of a run).

Exit status: 0 done; 2 bad input (usage, data, configuration, session file), reported as one line on
stderr that says what is wrong and where, never a traceback; 3 training diverged.

Headless commands never import Qt unless they render (``snapshot``, ``export``, ``bench``,
``compare`` to PNG or SVG).
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_OK, Parser, UsageError, config_from_args
from .window import add_app_options, cmd_app, split_app_file

__all__ = ["EXIT_OK", "EXIT_BAD_INPUT", "EXIT_DIVERGED", "UsageError", "build_parser",
           "config_from_args", "main"]


def build_parser() -> argparse.ArgumentParser:
    # the commands' modules import the engine, and with it numpy: not before main() has set the
    # number of BLAS threads
    from .. import __version__
    from . import bench, code, compare, gradcheck, inspect, lessons, snapshot, train
    p = Parser(prog="bpviz", description="See backpropagation happen, number by number. "
               "`bpviz FILE.bpviz` or `bpviz FILE.csv` opens that session or data in the window.")
    p.add_argument("--version", action="version", version=f"bpviz {__version__}")
    add_app_options(p)
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for command in (train, gradcheck, snapshot, code, bench):
        command.add_parser(sub)
    snapshot.add_export_parser(sub)
    compare.add_parser(sub)
    inspect.add_parser(sub)
    lessons.add_parser(sub)
    p.commands = tuple(sub.choices)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # One BLAS thread: on a two-core machine more threads fight the GUI thread and small matrices
    # gain nothing. Only effective before numpy is first imported, hence here.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if not sys.warnoptions:
        # a number that overflows shows as inf or nan where it is printed, and training that
        # goes there is reported as diverged: numpy's warnings about it would only add noise
        # (and source lines) to the one line a command prints on stderr
        import warnings
        warnings.simplefilter("ignore", RuntimeWarning)
    from ..engine.errors import BpvizError
    args = None
    try:
        parser = build_parser()
        # `bpviz FILE`: the file is taken out before the commands are parsed (argparse would
        # read it as a command's name)
        argv, app_file = split_app_file(list(argv), parser.commands)
        args = parser.parse_args(argv)
        args.app_file = app_file
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
