"""``bpviz bench``: the entry of the benchmark (``bpviz.bench``), imported only when it runs."""

from __future__ import annotations

import argparse

from .common import number

MAX_SOAK_MINUTES = 24 * 60
MAX_CASE_SECONDS = 600
BIG_CASES = ("4x64", "4x256", "8x512")      # bpviz.bench.BIG_CASES (Qt is imported only to run)


def at_most(flag: str, unit: str, hi: float, why: str = ""):
    """The argument type of a positive number of ``unit`` up to ``hi``."""
    def parse(text):
        v = number(float, 0, True, unit)(text)
        if v > hi:
            raise argparse.ArgumentTypeError(f"{flag} must be a number of {unit} above 0 and at "
                                             f"most {hi:g}{why}; got {text}")
        return v
    return parse


minutes = at_most("--soak", "minutes", MAX_SOAK_MINUTES, " (a day)")
case_seconds = at_most("--case-seconds", "seconds", MAX_CASE_SECONDS)


def add_parser(subparsers) -> None:
    b = subparsers.add_parser("bench", help="measure speed and frame times on this machine")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--quick", action="store_true", help="fewer repetitions and shorter cases (a few minutes)")
    b.add_argument("--soak", type=minutes, metavar="MINUTES",
                   help="also run the window at full speed this long and report RSS")
    b.add_argument("--case-seconds", type=case_seconds, metavar="SECONDS",
                   help="train each big-network case this long, headless and in the window "
                        "(default 4; 1.5 with --quick)")
    b.add_argument("--big-networks", nargs="*", choices=BIG_CASES, metavar="CASE",
                   help=f"only the big-network cases ({', '.join(BIG_CASES)}; all when none "
                        f"is named)")
    b.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from ..bench import cmd_bench as run     # Qt and the window: only when the bench runs
    return run(args)
