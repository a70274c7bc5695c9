"""``bpviz`` with no command: the desktop app (``bpviz.app``), imported only when it launches.

``bpviz FILE`` opens FILE in the window: a session (``.bpviz``) as File → Open session does, data
(``.csv``) as File → Open dataset CSV. The file is read here first, so that one that cannot be used
is refused with one line on stderr (exit status 2) before any window opens.
"""

from __future__ import annotations

from pathlib import Path

FILE_KINDS = {".bpviz": "session", ".csv": "data"}
APP_OPTIONS_WITH_VALUE = ("--lessons",)


def add_app_options(parser) -> None:
    """The options of ``bpviz`` itself (the desktop app)."""
    parser.add_argument("--lessons", dest="app_lessons", metavar="DIR",
                        help="also load the lessons in DIR, after bpviz's own (a teacher's folder)")


def split_app_file(argv: list[str], commands) -> tuple[list[str], str | None]:
    """``argv`` without the file ``bpviz FILE`` names, and that file (None when the first word
    that is not an option is one of ``commands``, or there is none)."""
    skip = False
    for k, word in enumerate(argv):
        if skip:
            skip = False
        elif word in APP_OPTIONS_WITH_VALUE:
            skip = True
        elif not word.startswith("-") or word == "-":
            if word in commands or not _looks_like_a_file(word):
                return argv, None        # a command, or a mistyped one argparse names
            return argv[:k] + argv[k + 1:], word
    return argv, None


def _looks_like_a_file(word: str) -> bool:
    return Path(word).suffix.lower() in FILE_KINDS or Path(word).exists()


def check_app_file(path: str) -> str:
    """What ``path`` holds ("session" or "data") once it has been read whole and found usable;
    ConfigError, SessionError or DataError (one line naming the file) otherwise."""
    from ..engine.errors import ConfigError
    kind = FILE_KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise ConfigError(f"{path}: bpviz opens a session (FILE.bpviz) or data (FILE.csv)")
    if kind == "session":
        from ..engine.session import load_session
        load_session(path)
    else:
        from ..engine.csvdata import load_csv
        if not Path(path).is_file():
            raise ConfigError(f"{path}: no such file")
        load_csv(path)
    return kind


def cmd_app(args) -> int:
    path = getattr(args, "app_file", None)
    if path is not None:
        check_app_file(path)
    from ..app import main as app_main
    return app_main(args)
