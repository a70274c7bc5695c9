"""``bpviz`` with no command: the desktop app (``bpviz.app``), imported only when it launches."""

from __future__ import annotations


def cmd_app(args) -> int:
    from ..app import main as app_main
    return app_main(args)
