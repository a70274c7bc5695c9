"""``python -m bpviz``: the same as the ``bpviz`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
