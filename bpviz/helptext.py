"""The help texts as data: what every panel shows and the glossary, read from TOML files under
``resources/help`` (``panels.toml``, ``glossary.toml``). No Qt here.

A file that is missing or does not parse, or an entry without its fields, raises
:class:`~bpviz.engine.errors.BpvizError` with a message naming the file (and the line, or the
entry); the window shows that message in place of the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

try:                                   # Python 3.11+
    import tomllib
except ModuleNotFoundError:            # pragma: no cover - Python 3.10
    import tomli as tomllib

from .engine.errors import BpvizError
from .resources import resource_path

PANELS = ("controls", "network", "boundary", "surface", "cost", "inspector", "graph", "code",
          "lessons")


def load_toml(path) -> dict:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise BpvizError(f"cannot read {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise BpvizError(f"{path} is not valid TOML: {e}") from None


@dataclass(frozen=True)
class PanelHelp:
    title: str
    text: str          # rich text


@dataclass(frozen=True)
class Term:
    name: str
    formula: str       # rich text
    text: str          # rich text
    also: tuple[str, ...] = ()

    def matches(self, words: str) -> bool:
        """Does every word of ``words`` occur in the name, the other names or the text?"""
        hay = " ".join((self.name, *self.also, self.text, self.formula)).lower()
        return all(w in hay for w in words.lower().split())


def _string(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BpvizError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def panel_help(path=None) -> dict[str, PanelHelp]:
    """Every panel's help, keyed by the dock's name ("network", "surface", ...)."""
    path = Path(path) if path is not None else resource_path("help/panels.toml")
    data = load_toml(path)
    out = {}
    for name, entry in data.items():
        where = f"{path}, [{name}]"
        if not isinstance(entry, dict):
            raise BpvizError(f"{where}: expected a table with 'title' and 'text'")
        out[name] = PanelHelp(_string(entry, "title", where), _string(entry, "text", where))
    return out


def glossary(path=None) -> list[Term]:
    """The glossary's terms in the file's order."""
    path = Path(path) if path is not None else resource_path("help/glossary.toml")
    data = load_toml(path)
    entries = data.get("term")
    if not isinstance(entries, list) or not entries:
        raise BpvizError(f"{path}: no [[term]] entries")
    terms = []
    for k, entry in enumerate(entries, 1):
        where = f"{path}, term {k}"
        also = entry.get("also", [])
        if not isinstance(also, list) or not all(isinstance(a, str) and a.strip() for a in also):
            raise BpvizError(f"{where}: 'also' must be a list of non-empty strings")
        terms.append(Term(_string(entry, "name", where), _string(entry, "formula", where),
                          _string(entry, "text", where), tuple(a.strip() for a in also)))
    return terms
