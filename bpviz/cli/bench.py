"""``bpviz bench``: the entry of the benchmark (``bpviz.bench``), imported only when it runs."""

from __future__ import annotations

import argparse

from .common import number

MAX_SOAK_MINUTES = 24 * 60


def minutes(text):
    v = number(float, 0, True, "minutes")(text)
    if v > MAX_SOAK_MINUTES:
        raise argparse.ArgumentTypeError(f"--soak must be a number of minutes above 0 and at most "
                                         f"{MAX_SOAK_MINUTES} (a day); got {text}")
    return v


def add_parser(subparsers) -> None:
    b = subparsers.add_parser("bench", help="measure speed and frame times on this machine")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    b.add_argument("--soak", type=minutes, metavar="MINUTES",
                   help="also run the window at full speed this long and report RSS")
    b.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from ..bench import cmd_bench as run     # Qt and the window: only when the bench runs
    return run(args)
