"""What a session keeps of the window's view, beside the training and the selections.

A session file's ``extra`` holds, from :func:`capture`::

    "edges":   what the diagram's edges show ("weight", "gradient", "signal", "update")
    "neurons": what its neurons show ("delta", "activation")
    "speed":   passes per second while playing (a number of the Speed box, or "max")
    "phases":  the Phases box's pace ("off", "slow", ...)
    "layout":  {"state": the panels' arrangement as QMainWindow.saveState writes it, in base64,
                "version": the layout version it was written with,
                "front": the panels in front of their tab groups,
                "closed": the panels closed}

(the focus, the pinned sample, the selected neuron, the surface axes and the step mode are kept
beside them, as they were before). :func:`apply` puts each back; a value the window does not offer
is left at what the window shows and named in the list it returns, so that the window can say so.
The engine has already checked each value's type and size when the file was read
(``bpviz.engine.session``); here it is checked against what the window offers.
"""

from __future__ import annotations

import base64
import binascii

from PySide6.QtCore import QByteArray

from ...training import SPEEDS
from ..network.layout import NODE_MODES, OVERLAYS

VIEW_KEYS = ("edges", "neurons", "speed", "phases", "layout")


def speed_value(speed) -> int | str:
    """The Speed box's value as a session keeps it: passes per second, or "max"."""
    return "max" if speed is None else int(speed)


def capture(window, layout_version: int) -> dict:
    """The view of ``window`` (a MainWindow) as plain JSON for a session's ``extra``."""
    docks = window.docks
    front = [name for name, dock in docks.items()
             if dock.isVisible() and window.tabifiedDockWidgets(dock)
             and not dock.visibleRegion().isEmpty()]
    # with a panel maximised, the layout with every panel back (the others are not closed)
    state = bytes((window.lecture.layout_to_save() or window.saveState(layout_version)).data())
    return {"edges": window.network.overlay(), "neurons": window.network.node_mode(),
            "speed": speed_value(window.speed), "phases": window.pace_name,
            "layout": {"state": base64.b64encode(state).decode("ascii"),
                       "version": layout_version,
                       "front": front,
                       "closed": [name for name, dock in docks.items() if dock.isHidden()]}}


def apply(window, extra: dict, layout_version: int, paces) -> list[str]:
    """Put the view kept in ``extra`` back on ``window``; returns the names of the values that
    do not fit this window (each of those stays as the window shows it). A session written
    before sessions kept the view has none of these keys, and the view stays as it is."""
    refused = []
    edges = extra.get("edges")
    if edges is not None:
        if edges in OVERLAYS:
            window.network.set_overlay(edges)
        else:
            refused.append("edges")
    neurons = extra.get("neurons")
    if neurons is not None:
        if neurons in NODE_MODES:
            window.network.set_node_mode(neurons)
        else:
            refused.append("neurons")
    if "speed" in extra:
        speed = None if extra["speed"] == "max" else extra["speed"]
        if speed in SPEEDS and not isinstance(speed, bool):
            window.set_speed(speed)
        else:
            refused.append("speed")
    phases = extra.get("phases")
    if phases is not None:
        if phases in paces:
            window.set_pace(phases)
        else:
            refused.append("phases")
    layout = extra.get("layout")
    if layout is not None and not _apply_layout(window, layout, layout_version):
        refused.append("layout")
    return refused


def _apply_layout(window, layout: dict, layout_version: int) -> bool:
    """The panels as the session had them: their arrangement when it was written by this layout
    version, then which are closed and which are in front. False when the arrangement did not
    fit (the panels closed and in front are set all the same) or a panel is unknown."""
    docks = window.docks
    names = [*layout.get("front", []), *layout.get("closed", [])]
    if not all(name in docks for name in names):
        return False
    state = layout.get("state")
    fits = True
    if isinstance(state, str) and layout.get("version") == layout_version:
        try:
            raw = base64.b64decode(state.encode("ascii"), validate=True)
        except (binascii.Error, ValueError):
            raw = None
        fits = raw is not None and window.restoreState(QByteArray(raw), layout_version)
        if fits:
            window.keep_layout()
    # the panels closed and in front, also when the arrangement did not fit
    closed = set(layout.get("closed", []))
    for name, dock in docks.items():
        if name in closed:
            dock.close()
        elif dock.isHidden() and not dock.isFloating():
            dock.show()
    for name in layout.get("front", []):
        docks[name].raise_()
    return fits
