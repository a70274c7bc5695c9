"""What an object graph of arrays, containers and small values really costs in memory.

``deep_sizeof`` counts every object once: the header of each array as well as its data (an array of
six weights costs more in its header than in its numbers), containers, dataclass instances and the
scalars and strings they hold. Bounded caches (the window's snapshot history, the worker's rewind
checkpoints) are capped by this figure, so the cap is what the process pays, not only the array
data.
"""

from __future__ import annotations

import sys
from dataclasses import fields, is_dataclass

import numpy as np


def deep_sizeof(obj, _seen: set | None = None) -> int:
    seen = set() if _seen is None else _seen
    if id(obj) in seen or obj is None or isinstance(obj, (bool, type)):
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        size = sys.getsizeof(obj)              # header, and the data when the array owns it
        if obj.base is not None and id(obj.base) not in seen:   # a view keeps its base alive
            size += deep_sizeof(obj.base, seen)
        return size
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        return size + sum(deep_sizeof(k, seen) + deep_sizeof(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            if type(v) is np.ndarray and v.base is None:     # the common case, inline
                if id(v) not in seen:
                    seen.add(id(v))
                    size += sys.getsizeof(v)
            else:
                size += deep_sizeof(v, seen)
        return size
    if is_dataclass(obj):
        if hasattr(obj, "__dict__"):
            size += sys.getsizeof(obj.__dict__)
        for name in _field_names(type(obj)):
            v = getattr(obj, name)
            if type(v) in _SCALARS:
                size += sys.getsizeof(v) if id(v) not in seen else 0
                seen.add(id(v))
            else:
                size += deep_sizeof(v, seen)
        return size
    return size


_SCALARS = (int, float, str)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names
