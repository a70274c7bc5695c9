"""Reading a TOML file someone else wrote (a teacher's lesson, a help text) as untrusted input.

:func:`read_text` takes a regular file only (a FIFO, a device or a link to one is refused before it
is read, and checked again on the open file), at most ``max_bytes`` of it, as UTF-8 text.
:func:`parse_toml` parses that text and turns every way it can fail — a syntax error, an integer
of thousands of digits, an array nested thousands deep — into one :class:`TextFileError` with the
line where the fault is. :func:`key_line` finds where a key is written, for messages about a value
of the right syntax but the wrong kind. No regular expression here can backtrack: each one is
linear in the length of the line.

Plain Python: no numpy, no Qt.
"""

from __future__ import annotations

import math
import os
import re
import stat
import sys
from pathlib import Path

from .errors import BpvizError

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # pragma: no cover - Python 3.10
    import tomli as tomllib

BIGGEST_INT = 10 ** 15           # a whole number beyond this in a teacher's file is refused
MAX_DEPTH = 32                   # tables and arrays nested deeper than this are refused


class TextFileError(BpvizError):
    """A file that cannot be used: ``line`` is where (1-based), or None."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def read_text(path, max_bytes: int) -> str:
    """The text of the regular file ``path`` (a link is followed to a regular file only), at most
    ``max_bytes`` bytes of UTF-8 (a byte-order mark is dropped); TextFileError otherwise."""
    path = Path(path)
    try:
        st = os.stat(path)           # before opening: a device is never opened
        if not stat.S_ISREG(st.st_mode):
            raise TextFileError(f"not a regular file ({_kind(st.st_mode)})")
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
            | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())      # what was opened (the path may have changed since)
            if not stat.S_ISREG(st.st_mode):
                raise TextFileError(f"not a regular file ({_kind(st.st_mode)})")
            if st.st_size > max_bytes:
                raise TextFileError(f"the file is {st.st_size:,} bytes, more than the limit of "
                                    f"{max_bytes:,} bytes")
            data = f.read(max_bytes + 1)       # bounded even if the file grows meanwhile
    except OSError as e:
        raise TextFileError(f"cannot read it: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise TextFileError(f"the file is more than the limit of {max_bytes:,} bytes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TextFileError("the file is UTF-16 text; save it as UTF-8", 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - data.rfind(b"\n", 0, e.start)
        raise TextFileError(f"not UTF-8 text (byte 0x{data[e.start]:02x}, character {column} of "
                            f"the line); save the file as UTF-8", line) from None
    return text[1:] if text.startswith("\ufeff") else text


# -- parsing -------------------------------------------------------------------------------------

def _syntax_line(error: Exception) -> int | None:
    line = getattr(error, "lineno", None)
    if line:
        return int(line)
    m = re.search(r"line (\d+)", str(error))
    return int(m.group(1)) if m else None


def _first_line_with(source: str, found) -> int | None:
    for n, line in enumerate(source.splitlines(), 1):
        if found(line):
            return n
    return None


_NUMBER = re.compile(r"0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9_]+")   # linear: no nesting


_NOT_FINITE = re.compile(r"=[ \t]*[+-]?(inf|nan)\b|[\[,][ \t]*[+-]?(inf|nan)\b")


def _long_number_line(source: str, digits: int) -> int | None:
    """The first line with a whole number of at least ``digits`` decimal digits (or as large in
    hexadecimal, octal or binary), not counting the digits of a decimal fraction."""
    per_digit = {"0x": 16, "0o": 8, "0b": 2}
    for n, line in enumerate(source.splitlines(), 1):
        for m in _NUMBER.finditer(line):
            token = m.group().replace("_", "")
            base = per_digit.get(token[:2])
            if base:
                size = (len(token) - 2) * math.log10(base)
            else:
                before = line[m.start() - 1:m.start()]
                after = line[m.end():m.end() + 1]
                if before == "." or after in (".", "e", "E"):
                    continue
                size = len(token)
            if size >= digits:
                return n
    return None


def _deep_line(source: str, depth: int) -> int | None:
    """The line where brackets first nest ``depth`` deep, outside strings and comments."""
    level, n, i, quote = 0, 1, 0, None
    while i < len(source):
        c = source[i]
        if c == "\n":
            n += 1
        if quote:
            if source.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            if c == "\\" and quote in ('"', '"""'):
                i += 2
                continue
        elif c == "#":
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
            continue
        elif c in "\"'":
            quote = source[i:i + 3] if source.startswith(c * 3, i) else c
            i += len(quote)
            continue
        elif c in "[{":
            level += 1
            if level >= depth:
                return n
        elif c in "]}":
            level = max(0, level - 1)
        i += 1
    return None


def parse_toml(source: str) -> dict:
    """The TOML document ``source``; TextFileError with the line for anything wrong in it: its
    syntax, a whole number of more than 15 digits, tables or arrays nested more than
    ``MAX_DEPTH`` deep."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as e:
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise TextFileError(f"not valid TOML: {message}", _syntax_line(e)) from None
    except RecursionError:
        raise TextFileError(f"tables or arrays nested too deep (more than {MAX_DEPTH})",
                            _deep_line(source, MAX_DEPTH)) from None
    except (ValueError, OverflowError, MemoryError) as e:  # e.g. an int of 5,000 digits
        raise TextFileError(f"a number too long to read: {str(e).split(';')[0]}",
                            _long_number_line(source, 400)) from None
    problem = _absurd(data, 0)
    if problem:
        what, value = problem
        raise TextFileError(what, _value_line(source, value))
    return data


def _absurd(value, depth: int):
    """(why, the value) for the first value of ``value`` nested too deep or too large."""
    if depth > MAX_DEPTH:
        return f"tables or arrays nested too deep (more than {MAX_DEPTH})", None
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > BIGGEST_INT:
            return (f"the number {_short(value)} is out of any range bpviz uses (whole numbers "
                    f"go up to {BIGGEST_INT:.0e})"), value
        if isinstance(value, float) and not math.isfinite(value):
            return (f"the number {value} is not a finite number (inf, nan, or too large for "
                    f"one)"), value
        return None
    for item in items:
        problem = _absurd(item, depth + 1)
        if problem:
            return problem
    return None


def _short(value: int) -> str:
    digits = str(abs(value)) if abs(value) < 10 ** 400 else None
    if digits is None:
        return "of more than 400 digits"
    return ("-" if value < 0 else "") + (digits if len(digits) <= 20 else
                                         f"{digits[:6]}… ({len(digits)} digits)")


def _value_line(source: str, value) -> int | None:
    """The line of an absurd value: the first whole number larger than ``BIGGEST_INT`` (or, for
    ``value`` None, where tables or arrays nest too deep)."""
    if value is None:
        return (_deep_line(source, MAX_DEPTH)
                or _first_line_with(source, lambda line: line.count(".") > MAX_DEPTH))
    if isinstance(value, float):
        return _first_line_with(source, lambda line: bool(_NOT_FINITE.search(line)) or any(
            len(m.group()) >= 300 for m in _NUMBER.finditer(line)))
    return _long_number_line(source, len(str(BIGGEST_INT)))


# -- where a key is written -----------------------------------------------------------------------

def header_name(line: str) -> str | None:
    """The name of the table a ``[name]`` or ``[[name]]`` header line opens, quotes taken off;
    None when the line is not a header. No regular expression: a line of brackets and spaces
    costs its length."""
    s = line.strip()
    if not s.startswith("["):
        return None
    double = s.startswith("[[")
    s = s[2:] if double else s[1:]
    end = s.find("]")
    if end < 0:
        return None
    name, rest = s[:end], s[end + 1:]
    if double:
        if not rest.startswith("]"):
            return None
        rest = rest[1:]
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        return None
    name = name.strip()
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.\"' -")
    if not name or not set(name) <= allowed:
        return None
    return name.strip("\"'")


def key_line(source: str, table: str | None, key: str, nth: int = 0) -> int | None:
    """The 1-based line where ``key`` is given: at the top level (``table`` None), or in the
    ``nth`` ``[table]`` / ``[[table]]`` section or inline table of ``table = [...]``; None when it
    cannot be found."""
    lines = source.splitlines()
    assign = re.compile(rf"[ \t]*{re.escape(key)}[ \t]*=")
    if table is None:
        for n, line in enumerate(lines, 1):
            if header_name(line) is not None:
                return None
            if assign.match(line):
                return n
        return None
    dotted = re.compile(rf"[ \t]*{re.escape(table)}\.{re.escape(key)}[ \t]*=")
    seen, current, header_line = -1, None, None
    for n, line in enumerate(lines, 1):
        header = header_name(line)
        if header is not None:
            current = header
            if current == table:
                seen += 1
                if seen == nth:
                    header_line = n
            continue
        if current == table and seen == nth and assign.match(line):
            return n
        if dotted.match(line):
            return n
    if header_line is not None:
        return header_line
    inline = re.compile(rf"[{{,][ \t]*{re.escape(key)}[ \t]*=")
    start_at = re.compile(rf"[ \t]*{re.escape(table)}[ \t]*=")
    start, found = None, []
    for n, line in enumerate(lines, 1):
        if start is None and start_at.match(line):
            start = n
        if start is not None:
            found += [n] * len(inline.findall(line))
    if found:
        return found[min(nth, len(found) - 1)]
    return start
