"""The help texts as data: what every panel shows and the glossary, read from TOML files under
``resources/help`` (``panels.toml``, ``glossary.toml``). No Qt here.

The files are read as untrusted input (:mod:`bpviz.engine.textfile`): a regular file of at most
``MAX_HELP_BYTES`` of UTF-8. A file that is missing, cannot be read or does not parse, or an entry
without its fields or with a field of the wrong kind, raises
:class:`~bpviz.engine.errors.BpvizError` with a message "FILE, line N: why"; the window shows that
message in place of that file's texts, and the other file still loads. The texts are rich text for Qt: the window shows them through
:mod:`bpviz.ui.plotting.safe_text`, which keeps no image, link or style sheet that could read a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .engine.errors import BpvizError
from .engine.textfile import TextFileError, key_line, parse_toml, read_text
from .engine.vocabulary import PANELS
from .resources import resource_path

MAX_HELP_BYTES = 1024 * 1024
MAX_TEXT_CHARS = 20_000     # one text: a few screens
MAX_TAGS = 2_000            # Qt's HTML reader takes quadratic time in the depth of nested tags


def help_dir() -> Path:
    """The folder of ``panels.toml`` and ``glossary.toml``."""
    return resource_path("help")


class HelpFileError(BpvizError):
    """A help file that cannot be used: "FILE, line N: why"."""

    def __init__(self, path, message: str, line: int | None = None):
        where = f", line {line}" if line else ""
        super().__init__(f"{path}{where}: {' '.join(message.split())}")
        self.line = line


def load_toml(path) -> tuple[dict, str]:
    """The parsed file and its text; HelpFileError for anything wrong with it."""
    path = Path(path)
    try:
        source = read_text(path, MAX_HELP_BYTES)
        return parse_toml(source), source
    except TextFileError as e:
        raise HelpFileError(path, str(e), e.line) from None


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


def _string(entry: dict, key: str, path, where: str, line) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise HelpFileError(path, f"{where}: '{key}' must be a non-empty string", line(key))
    if len(value) > MAX_TEXT_CHARS:
        raise HelpFileError(path, f"{where}: '{key}' is {len(value):,} characters long, more "
                                  f"than the {MAX_TEXT_CHARS:,} it may have", line(key))
    if value.count("<") > MAX_TAGS:
        raise HelpFileError(path, f"{where}: '{key}' has more than {MAX_TAGS:,} tags", line(key))
    return value.strip()


def panel_help(path=None) -> dict[str, PanelHelp]:
    """Every panel's help, keyed by the dock's name ("network", "surface", ...)."""
    path = Path(path) if path is not None else help_dir() / "panels.toml"
    data, source = load_toml(path)
    out = {}
    for name, entry in data.items():
        where = f"[{name}]"
        if not isinstance(entry, dict):
            raise HelpFileError(path, f"{where}: expected a table with 'title' and 'text'",
                                key_line(source, None, name))
        unknown = sorted(set(entry) - {"title", "text"})
        if unknown:
            raise HelpFileError(path, f"{where}: unknown key {unknown[0]!r} (a panel has 'title' "
                                      f"and 'text')", key_line(source, name, unknown[0]))

        def line(key, name=name):
            return key_line(source, name, key)
        out[name] = PanelHelp(_string(entry, "title", path, where, line),
                              _string(entry, "text", path, where, line))
    return out


def glossary(path=None) -> list[Term]:
    """The glossary's terms in the file's order."""
    path = Path(path) if path is not None else help_dir() / "glossary.toml"
    data, source = load_toml(path)
    entries = data.get("term")
    if not isinstance(entries, list) or not entries:
        raise HelpFileError(path, "no [[term]] entries", key_line(source, None, "term"))
    terms = []
    for k, entry in enumerate(entries, 1):
        where = f"term {k}"
        if not isinstance(entry, dict):
            raise HelpFileError(path, f"{where}: expected a table ([[term]]) with name, formula "
                                      f"and text", key_line(source, None, "term"))

        def line(key, k=k):
            return key_line(source, "term", key, k - 1)
        unknown = sorted(set(entry) - {"name", "also", "formula", "text"})
        if unknown:
            raise HelpFileError(path, f"{where}: unknown key {unknown[0]!r} (a term has name, "
                                      f"also, formula and text)", line(unknown[0]))
        also = entry.get("also", [])
        if not isinstance(also, list) or not all(isinstance(a, str) and a.strip() for a in also):
            raise HelpFileError(path, f"{where}: 'also' must be a list of strings, none of "
                                      f"them empty", line("also"))
        terms.append(Term(_string(entry, "name", path, where, line),
                          _string(entry, "formula", path, where, line),
                          _string(entry, "text", path, where, line),
                          tuple(a.strip() for a in also)))
    return terms
