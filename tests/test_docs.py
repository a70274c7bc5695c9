"""The documentation says what the code does: README.md is a short front page, every relative link
in it and in ``docs/`` leads to a file (and heading) that exists, the dependencies it names are
``pyproject.toml``'s, and every ``bpviz`` command line written in the documentation names commands
and flags the command line's parser accepts.

A "command line" is code: a fenced block's line or an inline code span holding ``bpviz`` followed by
a space (``bpviz train --out DIR``, ``python -m bpviz``), or a span that starts with a command's
name and a flag (``train --resume``), or a span of flags alone (``--hidden 8,8``: a flag of some
command). Prose ("bpviz shows it") is not a command line. The parser is asked through its public
face only: ``build_parser().parse_args([..., "--help"])`` and the help text it prints.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from bpviz.cli import build_parser

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("**/*.md"))
PAGES = [README] + DOCS
README_MAX_LINES = 250


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# -- reading Markdown ------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~)(.*)$")


def split_code(text: str):
    """(prose with code taken out, [(fence info, line) of fenced blocks], [inline code spans],
    prose with its inline code). Prose keeps its line count: a fenced line becomes an empty
    line."""
    prose, fenced, in_fence, info = [], [], None, ""
    for line in text.split("\n"):
        m = FENCE.match(line.strip())
        if in_fence is None and m:
            in_fence, info = m.group(1), m.group(2).strip()
            prose.append("")
            continue
        if in_fence is not None:
            if line.strip().startswith(in_fence):
                in_fence = None
            else:
                fenced.append((info, line))
            prose.append("")
            continue
        prose.append(line)
    prose_text = "\n".join(prose)
    # inline spans may wrap to the next line of their paragraph; one or two backticks
    spans = [m.group(2) for m in re.finditer(r"(`{1,2})(?!`)(.+?)(?<!`)\1(?!`)", prose_text,
                                             re.DOTALL)]
    spans = [" ".join(s.split()) for s in spans]
    without_spans = re.sub(r"(`{1,2})(?!`)(.+?)(?<!`)\1(?!`)", "", prose_text, flags=re.DOTALL)
    return without_spans, fenced, spans, prose_text


def headings(text: str) -> set[str]:
    """The anchors GitHub makes for the headings of a Markdown text."""
    _, _, _, prose = split_code(text)
    out, seen = set(), {}
    for line in prose.split("\n"):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"`([^`]*)`", r"\1", m.group(1))            # code shows as its text
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)      # a link as its words
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_slugs_are_githubs():
    text = "# A\n## What is drawn: the definitions\n## The program: `bpviz code`\n## A\n"
    assert headings(text) == {"a", "what-is-drawn-the-definitions",
                              "the-program-bpviz-code", "a-1"}


LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HTML_LINK = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*\"([^\"]+)\"", re.IGNORECASE)


def links(text: str) -> list[str]:
    prose, _, _, _ = split_code(text)
    return (LINK.findall(prose) + REFERENCE.findall(prose) + HTML_LINK.findall(prose))


def test_links_are_found():
    text = ("See [the manual](docs/manual.md#speed), ![a picture](../resources/x.png \"t\")\n"
            "and <img src=\"a.png\">, [ref]: other.md\n[ref]: docs/other.md\n"
            "not in code: `[x](nowhere.md)`\n```\n[y](nowhere.md)\n```\n")
    assert links(text) == ["docs/manual.md#speed", "../resources/x.png", "docs/other.md",
                           "a.png"]


# -- the README is a front page --------------------------------------------------------------------

def test_the_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, at most {README_MAX_LINES}: move detail into docs/")


def test_the_docs_exist():
    names = {p.name for p in DOCS}
    assert {"manual.md", "command-line.md", "teaching.md", "architecture.md",
            "performance.md"} <= names


# -- links -----------------------------------------------------------------------------------------

def broken_links(page: Path) -> list[str]:
    out = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):     # http:, mailto:, …
            continue
        path_part, _, anchor = target.partition("#")
        dest = page if not path_part else (page.parent / path_part).resolve()
        if not dest.exists():
            out.append(f"{rel(page)}: {target}: no such file")
            continue
        try:
            dest.relative_to(ROOT)
        except ValueError:
            out.append(f"{rel(page)}: {target}: outside the repository")
            continue
        if anchor and dest.suffix == ".md" and anchor not in headings(
                dest.read_text(encoding="utf-8")):
            out.append(f"{rel(page)}: {target}: no heading #{anchor} in {rel(dest)}")
    return out


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_a_broken_link_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "a.png").write_bytes(b"")
    page = tmp_path / "docs" / "p.md"
    page.write_text("# Top\n[ok](../a.png) [gone](../b.png) [here](#top) [nope](#missing)\n"
                    "[web](https://example.org/x.md)\n", encoding="utf-8")
    assert broken_links(page) == ["docs/p.md: ../b.png: no such file",
                                  "docs/p.md: #missing: no heading #missing in docs/p.md"]


def test_the_pictures_are_shown():
    """The README's and the manual's pictures are linked, so none is left behind by the split."""
    shown = {(page.parent / t).resolve() for page in PAGES
             for t in links(page.read_text(encoding="utf-8")) if t.endswith(".png")}
    for name in ("screenshot.png", "lessons.png", "code-panel.png"):
        assert (ROOT / "resources" / name).resolve() in shown, name


# -- dependencies ----------------------------------------------------------------------------------

def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirement_name(spec: str) -> str:
    return re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec).group(1).lower().replace("_", "-")


def without_parentheses(text: str) -> str:
    while True:
        shorter = re.sub(r"\([^()]*\)", "", text)
        if shorter == text:
            return text
        text = shorter


def named_dependencies(text: str) -> list[set[str]]:
    """The names in each "Dependencies…: a, b (note), c and d on Python 3.10." sentence."""
    prose = " ".join(text.split())
    out = []
    for m in re.finditer(r"\bDependencies\b[^:.]*:\s*", prose):
        rest = without_parentheses(prose[m.end():])
        sentence = re.split(r"\.(?:\s|$)", rest, maxsplit=1)[0]
        items = re.split(r",\s*(?:and\s+)?|\s+and\s+", sentence)
        out.append({item.split()[0].strip("`*").lower() for item in items if item.split()})
    return out


def test_named_dependencies_are_read():
    text = ("Python 3.10. Dependencies, installed by pip: numpy, PySide6-Essentials (any but\n"
            "6.12.0, which aborts (see `x`)), pyqtgraph, and tomli on Python 3.10. Then more.")
    assert named_dependencies(text) == [{"numpy", "pyside6-essentials", "pyqtgraph", "tomli"}]


def test_the_dependencies_named_are_pyprojects():
    wanted = {requirement_name(d) for d in pyproject()["project"]["dependencies"]}
    found = {rel(p): named_dependencies(p.read_text(encoding="utf-8")) for p in PAGES}
    assert found[rel(README)], "README.md names no dependencies (\"Dependencies…: a, b and c.\")"
    for page, sentences in found.items():
        for names in sentences:
            assert names == wanted, f"{page}: names {sorted(names)}, pyproject.toml {sorted(wanted)}"


def test_the_python_version_is_pyprojects():
    least = re.fullmatch(r">=\s*([0-9.]+)", pyproject()["project"]["requires-python"]).group(1)
    assert f"Python {least} or newer" in README.read_text(encoding="utf-8")


# -- command lines ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def command_help(words: tuple[str, ...]) -> str | None:
    """The help text of ``bpviz WORDS...``, or None when the parser has no such command."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args([*words, "--help"])
    except SystemExit as e:
        if e.code not in (0, None):
            return None
    except Exception:        # noqa: BLE001 - the parser refused the words (UsageError)
        return None
    else:
        return None          # --help always exits; a parser that did not is no command
    text = out.getvalue()
    usage = " ".join(text.split())
    if not usage.startswith(" ".join(["usage: bpviz", *words])):
        return None
    return text


def flags_of(words: tuple[str, ...]) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", command_help(words) or ""))


WORD = re.compile(r"[a-z][a-z0-9-]*")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def command_lines(text: str):
    """(words, flags, where) for every bpviz command line in the code of a Markdown text, and
    (None, flags, where) for a span of flags alone."""
    _, fenced, spans, _ = split_code(text)
    code = [line for info, line in fenced if info.split()[:1] not in (["python"], ["toml"],
                                                                       ["json"])] + spans
    for line in code:
        line = line.strip()
        if line.startswith("--"):
            yield None, FLAG.findall(line), line
            continue
        m = re.search(r"(?<![\w./-])bpviz(?=\s|$)", line)
        if m:
            rest = line[m.end():].split()
        else:
            first = line.split()[:2]
            if len(first) < 2 or not WORD.fullmatch(first[0]) or not first[1].startswith("--"):
                continue
            if command_help((first[0],)) is None:
                continue                       # `pip --version`, … : not a bpviz command
            rest = line.split()
        words = []
        for token in rest:
            if not WORD.fullmatch(token):
                break
            words.append(token)
        yield tuple(words), FLAG.findall(" ".join(rest[len(words):])), line


def commands() -> list[str]:
    """The commands of ``bpviz``, as its help lists them: ``{train,gradcheck,…}``."""
    return re.search(r"\{([a-z,-]+)\}", command_help(())).group(1).split(",")


def wrong_command_lines(text: str, where: str) -> list[str]:
    out, known_flags = [], set(flags_of(()))
    for command in commands():
        known_flags |= flags_of((command,))
    lines = list(command_lines(text))
    for words, flags, line in lines:
        if words is None:
            unknown = [f for f in flags if f not in known_flags]
            if unknown:
                out.append(f"{where}: `{line}`: no command takes {', '.join(unknown)}")
            continue
        # the longest run of the words that is a command: `bpviz lessons check FILE` names
        # "lessons check"; `bpviz train  --out` names "train"
        path = words
        while path and command_help(path) is None:
            path = path[:-1]
        if words and not path:
            out.append(f"{where}: `{line}`: bpviz has no command {words[0]!r}")
            continue
        if len(words) > len(path):      # arguments are written FILE, DIR, run.bpviz
            out.append(f"{where}: `{line}`: bpviz {' '.join(path)} has no command "
                       f"{words[len(path)]!r}")
            continue
        accepted = flags_of(path)
        unknown = [f for f in flags if f not in accepted]
        if unknown:
            name = " ".join(("bpviz", *path))
            out.append(f"{where}: `{line}`: {name} does not take {', '.join(unknown)}")
    return out


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_command_and_flag_in_the_docs_exists(page):
    assert wrong_command_lines(page.read_text(encoding="utf-8"), rel(page)) == []


def test_the_docs_name_every_command():
    """Every command of the parser is shown somewhere (a command nobody documents is missed)."""
    named = {words[0] for page in PAGES
             for words, _, _ in command_lines(page.read_text(encoding="utf-8")) if words}
    assert set(commands()) <= named, sorted(set(commands()) - named)


def test_wrong_command_lines_are_caught():
    text = ("```\nbpviz train --epochs N --nonsense\nbpviz trian --out DIR\n"
            "bpviz lessons chek FILE\nbpviz lessons check FILE...\n```\n"
            "Run `bpviz snapshot --out F.png --lesson 3`, `export --session F --bogus`,\n"
            "`--hidden 8,8`, `--no-such-flag`, `python -m bpviz`; bpviz shows it.\n")
    assert wrong_command_lines(text, "p.md") == [
        "p.md: `bpviz train --epochs N --nonsense`: bpviz train does not take --nonsense",
        "p.md: `bpviz trian --out DIR`: bpviz has no command 'trian'",
        "p.md: `bpviz lessons chek FILE`: bpviz lessons has no command 'chek'",
        "p.md: `export --session F --bogus`: bpviz export does not take --bogus",
        "p.md: `--no-such-flag`: no command takes --no-such-flag",
    ]


# -- files and names ---------------------------------------------------------------------------------

PATH = re.compile(r"^(?:bpviz|resources|tests|docs)/[\w./-]*$")
DOTTED = re.compile(r"^bpviz(?:\.[A-Za-z_]\w*)+$")
NAME_IN_FILE = re.compile(r"`([A-Za-z_]\w*)` in `((?:bpviz|resources)/[\w./-]+\.\w+)`")
WHEEL_ONLY = ("bpviz/_resources",)          # where the wheel puts resources/: not in a checkout


def missing_names(text: str) -> list[str]:
    """Paths of the checkout (`bpviz/engine/ranges.py`), dotted names (`bpviz.engine.numbers.fmt`)
    and "`NAME` in `FILE`" that the documentation names but the checkout does not have."""
    import importlib
    out = []
    _, _, spans, prose = split_code(text)
    for span in spans:
        if PATH.match(span) and not span.startswith(WHEEL_ONLY):
            if not (ROOT / span).exists():
                out.append(f"{span}: no such file or folder")
        elif DOTTED.match(span):
            parts = span.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr, None)
                    if obj is None:
                        out.append(f"{span}: no such name")
                        break
                break
    for name, path in NAME_IN_FILE.findall(" ".join(prose.split())):
        file = ROOT / path
        if not file.exists() or not re.search(rf"\b{name}\b", file.read_text(encoding="utf-8")):
            out.append(f"{name} in {path}: not there")
    return out


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_the_files_and_names_the_docs_give_exist(page):
    assert missing_names(page.read_text(encoding="utf-8")) == []


def test_missing_names_are_caught():
    text = ("`bpviz/engine/ranges.py`, `bpviz/engine/nothing.py`, `bpviz/_resources/`,\n"
            "`bpviz.engine.numbers.fmt`, `bpviz.engine.numbers.nothing`, `bpviz.nothing`,\n"
            "`RANGES` in `bpviz/engine/ranges.py`, `NOTHING_AT_ALL` in `bpviz/engine/ranges.py`")
    assert missing_names(text) == [
        "bpviz/engine/nothing.py: no such file or folder",
        "bpviz.engine.numbers.nothing: no such name",
        "bpviz.nothing: no such name",
        "NOTHING_AT_ALL in bpviz/engine/ranges.py: not there",
    ]
