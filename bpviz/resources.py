"""Where bpviz's files (the iris data, the window icon, lessons) are: one accessor for all of them.

The files live in the checkout's top-level ``resources/`` folder; a wheel carries them inside the
package as ``bpviz/_resources/`` (see ``pyproject.toml``). ``resource_dir()`` is the first of the
two that exists, so the same code works in an installed wheel, an editable install and a plain
checkout run with ``python -m pytest``. Nothing here imports Qt or numpy.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
INSTALLED = _PACKAGE / "_resources"          # in a wheel
CHECKOUT = _PACKAGE.parent / "resources"     # next to the package in a checkout


def resource_dir() -> Path:
    """The folder holding bpviz's resource files."""
    return INSTALLED if INSTALLED.is_dir() else CHECKOUT


def resource_path(name: str) -> Path:
    """The path of resource ``name`` (e.g. ``"iris.csv"`` or ``"lessons/01.toml"``); it may not
    exist, the caller says what is missing."""
    return resource_dir() / name
