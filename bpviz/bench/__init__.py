"""``bpviz bench``: the benchmark, outside the program's core.

It measures the program from outside, through public read-outs only: the engine against plain
numpy, the surface slice, the network diagram's paints, the real window training (its frames
through the window's frame-timing hook, ``MainWindow.frameTimed``) and the big networks in the
window against headless training. :mod:`bpviz.bench.measure` holds the measurements and the
report; ``python -m bpviz.bench`` runs one case in a fresh process (the big networks' cases, so
that each process's peak memory is its own).
"""

from .measure import (BIG_CASES, TARGETS, big_config, cmd_bench, evaluate_targets,  # noqa: F401
                      format_table, largest_samples, peak_rss_mb, rss_mb)
from .measure import _fmt  # noqa: F401  (the bench table's number format, tested)
