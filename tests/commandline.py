"""Running bpviz's command line from a test, as a person runs it: a child Python, offscreen."""
from __future__ import annotations

import csv
import os
import subprocess
import sys


def bpviz(*args, timeout=300) -> tuple[int, str, str]:
    """``python -m bpviz ARGS`` → (exit status, stdout, stderr)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "bpviz", *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def read_rows(path) -> tuple[list[str], list[list[str]]]:
    """A CSV file's header and its rows."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]
