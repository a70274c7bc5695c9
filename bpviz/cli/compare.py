"""``bpviz compare RUN… --out FILE.svg|png|csv``: runs side by side.

A RUN is a session file or a folder ``bpviz train --out`` wrote. The figure overlays their cost
curves, gradient norms and descent paths, each run labelled with what differs between them
(``η = 0.05``, ``η = 1.5``, …); the CSV holds the numbers drawn (the runs' history rows as their
history.csv gives them, and the paths in ``FILE_paths.csv``). A PNG or SVG is drawn offscreen,
with no display; a CSV needs no Qt at all.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ..engine.errors import ConfigError
from .common import EXIT_OK, number, window_size

FORMATS = (".png", ".svg", ".csv")


def add_parser(subparsers) -> None:
    c = subparsers.add_parser("compare", help="runs side by side: cost curves, gradient norms "
                              "and descent paths of session files or train --out folders")
    c.add_argument("runs", nargs="+", metavar="RUN",
                   help="a session file (.bpviz) or a folder bpviz train --out wrote")
    c.add_argument("--out", required=True, metavar="FILE.svg|png|csv",
                   help="the figure (PNG or SVG), or the numbers behind it (CSV, with the paths "
                        "in FILE_paths.csv)")
    c.add_argument("--size", type=window_size, default=(1500, 480), metavar="WxH",
                   help="the figure's size in pixels at 1× (default 1500x480)")
    c.add_argument("--scale", type=number(int, 1, name="scale"), default=1, metavar="S",
                   help="a PNG at S times --size (1 to 8), lines and text with it")
    c.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    from ..engine.fileset import FileSet
    from ..engine.runs import compare_tables, differences, load_run, title
    from ..engine.tables import write_csv
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {out}: name it FILE.png, FILE.svg or FILE.csv")
    if not out.parent.exists():
        raise ConfigError(f"--out {out}: the folder {out.parent} does not exist")
    if args.scale > 8:
        raise ConfigError(f"--scale {args.scale}: at most 8")
    runs = [load_run(path) for path in args.runs]      # refuse a bad run before anything else
    names = [Path(r.name).name for r in runs]
    labels = differences([r.config for r in runs], names)
    heading = title([r.config for r in runs])
    with FileSet(out.parent) as files:
        if out.suffix.lower() == ".csv":
            tables = compare_tables(runs, labels)
            for key, table in tables.items():
                path = out if key == "" else out.with_name(f"{out.stem}_{key}.csv")
                files.write(path.name, partial(write_csv, table=table))
        else:
            data = render(runs, labels, heading, out.suffix.lower(), args.size, args.scale)
            files.write(out.name, lambda tmp: tmp.write_bytes(data))
        written = files.commit()
    print(f"wrote {', '.join(str(p) for p in written)}: {heading}; "
          + "; ".join(f"{label} ({r.name})" for label, r in zip(labels, runs)))
    return EXIT_OK


def render(runs, labels, heading: str, suffix: str, size, scale: int) -> bytes:
    """The comparison figure as PNG or SVG bytes, drawn offscreen."""
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtWidgets import QApplication

    from ..ui.export.compare import ComparisonFigure
    from ..ui.export.pictures import png_bytes, render_png, render_svg, settle_layouts
    from ..ui.plotting.qt import quiet_platform_messages
    quiet_platform_messages()
    app = QApplication.instance() or QApplication(["bpviz"])
    figure = ComparisonFigure(runs, labels, heading)
    try:
        figure.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        figure.resize(*size)
        figure.show()
        app.processEvents()
        settle_layouts()
        if suffix == ".svg":
            return render_svg(figure.view, f"bpviz — {heading}", "; ".join(labels))
        return png_bytes(render_png(figure.view, scale))
    finally:
        # deleted now, while Python is whole: a widget left for the interpreter's exit is torn
        # down in no particular order, and its items' Python code may then crash the process
        figure.close()
        figure.deleteLater()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
