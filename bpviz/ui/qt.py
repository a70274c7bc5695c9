"""Qt set-up shared by the app, the snapshot command and the tests."""

from __future__ import annotations

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

# Messages that carry no information for a user: the offscreen platform (tests, `bpviz snapshot`)
# cannot honour size hints of dock widgets and says so once per dock.
IGNORED_MESSAGES = ("This plugin does not support propagateSizeHints()",)

_previous = None


def _handler(kind, context, message):
    if message in IGNORED_MESSAGES:
        return
    if _previous is not None:
        _previous(kind, context, message)
    elif kind != QtMsgType.QtDebugMsg:
        import sys
        print(message, file=sys.stderr)


def quiet_platform_messages() -> None:
    """Drop the offscreen platform's size-hint notices; every other message passes through."""
    global _previous
    if _previous is None:
        _previous = qInstallMessageHandler(_handler) or None
