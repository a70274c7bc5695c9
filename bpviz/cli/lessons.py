"""``bpviz lessons check FILE...``: what is wrong with each lesson file, as the window would refuse
it ("FILE, line N: why"), before a teacher hands the files out. No Qt."""

from __future__ import annotations

import sys

from .common import EXIT_BAD_INPUT, EXIT_OK


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("lessons", help="check lesson files (a teacher's)")
    sub = p.add_subparsers(dest="lessons_command", metavar="check", parser_class=type(p),
                           required=True)
    c = sub.add_parser("check", help="say what is wrong with each lesson file (exit 2 if any is)")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    from pathlib import Path

    from ..lessons import LessonError, load_lesson
    wrong = 0
    for name in args.files:
        try:
            lesson = load_lesson(Path(name))
        except LessonError as e:
            where = f", line {e.line}" if e.line else ""
            print(f"{name}{where}: {' '.join(str(e).split())}", file=sys.stderr)
            wrong += 1
        except Exception as e:       # noqa: BLE001 - untrusted input: say so, go on
            print(f"{name}: cannot be read as a lesson ({type(e).__name__}: {e})",
                  file=sys.stderr)
            wrong += 1
        else:
            print(f"{name}: ok ({lesson.title})")
    return EXIT_BAD_INPUT if wrong else EXIT_OK
