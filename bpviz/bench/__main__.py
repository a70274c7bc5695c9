"""``python -m bpviz.bench headless CASE`` / ``window CASE SECONDS REPS``: one big-network case in
a process of its own (started by ``bpviz bench``)."""

import sys

from .measure import run_case

sys.exit(run_case(sys.argv[1:]))
