"""``bpviz bench``: the entry of the benchmark (``bpviz.bench``), imported only when it runs."""

from __future__ import annotations

import argparse

from .common import number

MAX_SOAK_MINUTES = 24 * 60
MAX_CASE_SECONDS = 600
BIG_CASES = ("4x64", "4x256", "8x512")      # bpviz.bench.BIG_CASES (Qt is imported only to run)


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
    b.add_argument("--case-seconds", type=case_seconds, metavar="SECONDS",
                   help="train each big-network case this long, headless and in the window "
                        "(default 4; 1.5 with --quick)")
    b.add_argument("--big-networks", nargs="*", choices=BIG_CASES, metavar="CASE",
                   help=f"only the big-network cases ({', '.join(BIG_CASES)}; all when none "
                        f"is named)")
    b.set_defaults(func=cmd_bench)


def case_seconds(text):
    v = number(float, 0, True, "seconds")(text)
    if v > MAX_CASE_SECONDS:
        raise argparse.ArgumentTypeError(f"--case-seconds must be above 0 and at most "
                                         f"{MAX_CASE_SECONDS}; got {text}")
    return v


def cmd_bench(args) -> int:
    from ..bench import cmd_bench as run     # Qt and the window: only when the bench runs
    return run(args)
