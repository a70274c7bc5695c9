"""``bpviz`` with no command: the desktop app (``bpviz.app``), imported only when it launches."""

from __future__ import annotations


def add_app_options(parser) -> None:
    """The options of ``bpviz`` itself (the desktop app)."""
    parser.add_argument("--lessons", dest="app_lessons", metavar="DIR",
                        help="also load the lessons in DIR, after bpviz's own (a teacher's folder)")


def cmd_app(args) -> int:
    from ..app import main as app_main
    return app_main(args)
