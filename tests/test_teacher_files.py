"""Teachers' files are untrusted input: lessons (bpviz's own, the per-user folder, ``--lessons
DIR``) and help texts.

Every way a file can be wrong refuses that file with "FILE, line N: why" and the others load —
in the loader, through ``bpviz snapshot --lessons DIR`` (a child process: exit 0 or 2 with one line,
never an abort or a traceback), through ``export`` and through the window. Text is shown as text:
an image, link or style sheet in a lesson's Markdown or a help text never makes Qt open the file
it names. That is checked with a named pipe: a thread waits to open its writing end, which
returns only when something opens the pipe to read it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QTextDocument, QTextFormat

from bpviz import helptext
from bpviz import lessons as L
from bpviz.cli import main
from bpviz.lessons import load_lessons
from tests.test_lessons import GOOD, open_lessons, panel

ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and /dev/zero")


@pytest.fixture(autouse=True)
def no_other_lessons(monkeypatch, tmp_path):
    """An empty per-user folder (not the one of whoever runs the tests), and no teacher's folder
    left behind."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    yield
    L.set_teacher_folder(None)


def builtin_count() -> int:
    return len(load_lessons(L.lessons_dir())[0])


WATCHER = """
import os, sys
path = sys.argv[1]
while True:
    fd = os.open(path, os.O_WRONLY)     # returns once a reader has opened the pipe
    os.close(fd)                        # the reader sees the end of the file
    if os.path.exists(path + ".done"):
        break
    print("opened", flush=True)         # and it may come again: answer it again
"""


class PipeWatch:
    """A named pipe at ``path``, and whether anything opened it to read while it was watched.

    The other end is opened by a child process: a thread of this one would need the interpreter
    lock to close it, which a Qt call reading the pipe holds — both would wait for ever."""

    def __init__(self, path: Path):
        self.path = str(path)
        os.mkfifo(self.path)
        self.child = subprocess.Popen([sys.executable, "-c", WATCHER, self.path],
                                      stdout=subprocess.PIPE, text=True)

    def close(self) -> bool:
        """Stop watching; True if something opened the pipe to read it."""
        Path(self.path + ".done").touch()
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)    # lets the child's open return
        try:
            out, _ = self.child.communicate(timeout=30)
        finally:
            os.close(fd)
            os.unlink(self.path)        # a later look at the path finds nothing, and waits for none
        return "opened" in out


# -- the faults, one file each ---------------------------------------------------------------------

def lesson_with(change: tuple[str, str]) -> str:
    source = GOOD.replace(*change)
    assert source != GOOD
    return source


BRACKETS = "[" + " " * 15000          # a header-like line: 2,000 spaces took 25 s to match


def write_faults(folder: Path) -> dict[str, tuple[int | None, str]]:
    """Write one lesson file per fault into ``folder``: name → (line, words of the refusal)."""
    folder.mkdir(parents=True, exist_ok=True)
    faults = {
        "02-kind-list.toml": (lesson_with(('kind = "passes_trained"', 'kind = ["x"]')), 10,
                              "kind must be text"),
        "03-int-400.toml": (lesson_with(("at_least = 1", "at_least = " + "9" * 400)), 11,
                            "(400 digits) is out of any range"),
        "04-int-5000.toml": (lesson_with(("at_least = 1", "at_least = " + "9" * 5000)), 11,
                             "too long to read"),
        "05-float-400.toml": (lesson_with(("at_least = 1", "at_least = " + "9" * 400 + ".5")), 11,
                              "not a finite number"),
        "06-deep.toml": (lesson_with(("speed = 5", "speed = " + "[" * 100_000 + "]" * 100_000)),
                         7, "nested too deep"),
        "07-brackets.toml": (lesson_with(('text = "The loss is {loss}."',
                                          f'text = """The loss is {{loss}}.\n{BRACKETS}\n"""'))
                             .replace("speed = 5", "sped = 5"), 9, "unknown set-up key 'sped'"),
        "08-title.toml": (lesson_with(('title = "A lesson"', "title = [1]")), 1,
                          "title must be text"),
        "09-equals.toml": (lesson_with(('kind = "passes_trained"\nat_least = 1',
                                        'kind = "setting"\nname = "lr"\nequals = {a = 1}')), 12,
                           "equals must be text or a number"),
        "10-huge.toml": (GOOD + "#" * (L.MAX_LESSON_BYTES + 1), None, "more than the limit"),
        "11-not-toml.toml": (lesson_with(("speed = 5", "speed = = 5")), 7, "not valid TOML"),
    }
    out = {}
    for name, (text, line, words) in faults.items():
        (folder / name).write_text(text, encoding="utf-8")
        out[name] = (line, words)
    (folder / "12-latin1.toml").write_bytes(lesson_with(("Press S.", "Appuyez sur S, café."))
                                            .encode("latin-1"))
    out["12-latin1.toml"] = (3, "not UTF-8 text (byte 0xe9")
    (folder / "13-a-folder.toml").mkdir()
    out["13-a-folder.toml"] = (None, "not a regular file (a folder)")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "14-fifo.toml")
        out["14-fifo.toml"] = (None, "not a regular file (a named pipe)")
        if os.path.exists("/dev/zero"):
            os.symlink("/dev/zero", folder / "15-zero.toml")
            out["15-zero.toml"] = (None, "not a regular file (a device)")
    return out


def refusal_text(name: str, line: int | None) -> str:
    """How a refusal of file ``name`` begins."""
    return f"{name}, line {line}: " if line else f"{name}: "


def test_each_fault_refuses_its_file_and_the_others_load(tmp_path):
    folder = tmp_path / "lessons"
    faults = write_faults(folder)
    (folder / "01-good.toml").write_text(GOOD, encoding="utf-8")
    lessons, refused = load_lessons(folder)
    assert [lesson.id for lesson in lessons] == ["01-good"]
    said = {r.path.name: str(r) for r in refused}
    assert set(said) == set(faults)
    for name, (line, words) in faults.items():
        assert said[name].startswith(refusal_text(name, line)), said[name]
        assert words in said[name], said[name]
        assert "\n" not in said[name]


def test_a_line_of_brackets_and_spaces_is_read_at_once(tmp_path):
    """Finding a key's line went through a regular expression that backtracked for 25 s on a line
    of "[" and 2,000 spaces; it is read in a child process that must finish well within 60 s."""
    folder = tmp_path / "lessons"
    faults = write_faults(folder)
    code = ("import sys; from bpviz.lessons import load_lessons; "
            "[print(r) for r in load_lessons(sys.argv[1])[1]]")
    p = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    line, words = faults["07-brackets.toml"]
    assert f"07-brackets.toml, line {line}: {words}" in p.stdout


def test_the_user_folder_then_the_teachers_load_after_bpvizs_own(tmp_path):
    user = Path(os.environ["XDG_DATA_HOME"]) / "bpviz" / "lessons"
    assert L.user_lessons_dir() == user
    user.mkdir(parents=True)
    (user / "01-user.toml").write_text(GOOD.replace("A lesson", "The user's"), encoding="utf-8")
    teacher = tmp_path / "class"
    teacher.mkdir()
    (teacher / "01-teacher.toml").write_text(GOOD.replace("A lesson", "The teacher's"),
                                             encoding="utf-8")
    (teacher / "02-bad.toml").write_text(GOOD.replace("speed = 5", "speed = = 5"))
    L.set_teacher_folder(teacher)
    lessons, refused = load_lessons()
    n = builtin_count()
    assert [lesson.title for lesson in lessons[n:]] == ["The user's", "The teacher's"]
    assert len(refused) == 1 and str(refused[0]).startswith("02-bad.toml, line 7: not valid TOML")
    assert L.check_lesson_number(n + 2).title == "The teacher's"
    # a teacher's lesson keeps its own progress, apart from bpviz's lesson of the same name
    assert lessons[n + 1].id == str((teacher / "01-teacher.toml").absolute())


def test_a_lessons_folder_that_is_not_one_is_refused_before_any_window(tmp_path, capsys):
    assert main(["--lessons", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"bpviz: --lessons {tmp_path / 'nowhere'}: no such folder"
    (tmp_path / "file").write_text("x")
    assert main(["--lessons", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err.strip() == f"bpviz: --lessons {tmp_path / 'file'}: not a folder"


# -- through the command line ----------------------------------------------------------------------

TEACHERS = '''title = "Images <img src='/dev/zero'> in a title"
text = """Text stays text: ![z](/dev/zero) and <img src="/dev/zero"> and [a link](file:///dev/zero).
The loss is {loss}."""
task = "Press S."

[setup]
preset = "xor"
speed = 5

[check]
kind = "passes_trained"
at_least = 1
'''


def bpviz(*args, env=None, timeout=300):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    p = subprocess.run([sys.executable, "-m", "bpviz", *args], capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=ROOT)
    return p.returncode, p.stdout, p.stderr


@posix_only
def test_snapshot_with_a_teachers_folder_of_faulty_files(tmp_path):
    """bpviz's own lessons, then the teacher's: the good one (with images of /dev/zero, which
    aborted the process with std::bad_alloc) renders; every faulty one is named on stderr."""
    folder = tmp_path / "class"
    faults = write_faults(folder)
    (folder / "01-images.toml").write_text(TEACHERS, encoding="utf-8")
    out = tmp_path / "lesson.png"
    n = builtin_count()
    code, stdout, stderr = bpviz("snapshot", "--lessons", str(folder), "--lesson", str(n + 1),
                                 "--size", "1200x800", "--out", str(out), env={
                                     "XDG_DATA_HOME": str(tmp_path / "user-data")})
    assert code == 0, stderr
    assert out.stat().st_size > 0 and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == len(faults)
    for name, (line, words) in faults.items():
        said = next(x for x in lines if f": {name}" in x)
        assert said.startswith("bpviz snapshot: lesson file not loaded: "
                               + refusal_text(name, line)) and words in said
    # one lesson past the last: one line, exit 2, no picture
    code, _, stderr = bpviz("snapshot", "--lessons", str(folder), "--lesson", str(n + 2),
                            "--out", str(tmp_path / "none.png"))
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert f"--lesson {n + 2}: there are lessons 1 to {n + 1}" in stderr
    assert f"{len(faults)} file(s) refused" in stderr and not (tmp_path / "none.png").exists()
    # a folder that is not there, or not a folder
    for bad, why in ((tmp_path / "nowhere", "no such folder"), (out, "not a folder")):
        code, _, stderr = bpviz("snapshot", "--lessons", str(bad), "--lesson", "1",
                                "--out", str(tmp_path / "none.png"))
        assert code == 2 and stderr.strip() == f"bpviz snapshot: --lessons {bad}: {why}"


@posix_only
def test_export_starts_with_faulty_files_in_the_user_folder(tmp_path):
    user = tmp_path / "user-data"
    write_faults(user / "bpviz" / "lessons")
    (user / "bpviz" / "lessons" / "01-images.toml").write_text(TEACHERS, encoding="utf-8")
    env = {"XDG_DATA_HOME": str(user)}
    code, _, stderr = bpviz("train", "--preset", "xor", "--epochs", "2", "--out",
                            str(tmp_path / "run"), env=env)
    assert code == 0, stderr
    code, stdout, stderr = bpviz("export", "--session", str(tmp_path / "run" / "session.bpviz"),
                                 "--out", str(tmp_path / "figures"), env=env)
    assert code == 0, stderr
    assert "Traceback" not in stderr and stdout.startswith("wrote ")


# -- through the window ----------------------------------------------------------------------------

def has_references(rich: str) -> bool:
    """Does rich text name an image, link or background (read without laying it out, which is
    when Qt would load them)?"""
    doc = QTextDocument()
    doc.setHtml(rich)
    props = (QTextFormat.Property.ImageName, QTextFormat.Property.AnchorHref,
             QTextFormat.Property.BackgroundImageUrl)
    return any(f.hasProperty(p) for f in doc.allFormats() for p in props)


def close_all(w) -> None:
    """Close window ``w`` and its help windows: nothing of it is laid out or painted again (the
    pipe is watched until then, or a painting Qt would wait for it for ever)."""
    if w.help.glossary_dialog is not None:
        w.help.glossary_dialog.close()
    w.help.popup.close()
    w.close()
    assert not w.host.alive()


@posix_only
def test_the_window_shows_the_good_lessons_reports_the_bad_and_reads_no_image(
        qtbot, open_window, tmp_path):
    folder = tmp_path / "class"
    faults = write_faults(folder)
    pipe = tmp_path / "pipe"
    (folder / "01-images.toml").write_text(TEACHERS.replace("/dev/zero", str(pipe)),
                                           encoding="utf-8")
    L.set_teacher_folder(folder)
    n = builtin_count()
    watch, w = PipeWatch(pipe), None
    try:
        w = open_window(size=(1600, 1000))
        chooser = [panel(w).chooser.itemText(i) for i in range(panel(w).chooser.count())]
        said = panel(w).refused_text()
        open_lessons(qtbot, w, n + 1)                  # the teacher's lesson, chosen by a learner
        refused_shown = panel(w).refused_label.isVisible()
        text, title = panel(w).shown_text(), panel(w).title_label.text()
        shown_rich = panel(w).text_label.text()
        panel(w).grab()                                # laid out and painted
        w.paint_now()
    finally:
        if w is not None:
            close_all(w)
        opened = watch.close()
    assert not opened, "the lesson's image made Qt open the file it names"
    assert len(chooser) == n + 1 and chooser[-1] == f"{n + 1}. Images <img src='{pipe}'> in a title"
    for name, (line, words) in faults.items():
        assert refusal_text(name, line) in said and words in said, name
    assert refused_shown
    assert "Text stays text: [z] and <img src=" in text and "a link" in text
    assert "The loss is " in text and not has_references(shown_rich)
    assert title == f"{n + 1}. Images <img src='{pipe}'> in a title"


def help_folder(tmp_path: Path, panels: bytes, glossary: bytes) -> Path:
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "panels.toml").write_bytes(panels)
    (folder / "glossary.toml").write_bytes(glossary)
    return folder


def test_broken_help_files_are_reported_in_the_window(qtbot, open_window, tmp_path, monkeypatch):
    panels = (helptext.help_dir() / "panels.toml").read_bytes() + b"\xff"
    lines = panels.count(b"\n") + 1
    folder = help_folder(tmp_path, panels, b"term = [1]\n")
    monkeypatch.setattr(helptext, "help_dir", lambda: folder)
    w = open_window(size=(1500, 950))
    from tests.test_help import click_menu, question_mark_text
    text = question_mark_text(qtbot, w, "network")
    assert f"panels.toml, line {lines}: not UTF-8 text (byte 0xff" in " ".join(text.split())
    click_menu(qtbot, w, "Help", "Glossary")
    qtbot.waitUntil(lambda: w.help.glossary_dialog is not None
                    and w.help.glossary_dialog.isVisible(), timeout=3000)
    definition = " ".join(w.help.glossary_dialog.definition().split())
    assert "glossary.toml, line 1: term 1: expected a table" in definition
    assert w.isEnabled() and w.latest is not None


@posix_only
def test_help_texts_read_no_image_or_style_sheet(qtbot, open_window, tmp_path, monkeypatch):
    pipe = tmp_path / "pipe"
    source = (helptext.help_dir() / "panels.toml").read_text(encoding="utf-8")
    bait = (f'<img src="{pipe}" width="100000" height="100000"> <a href="file://{pipe}">link'
            f'</a> <link rel="stylesheet" href="{pipe}"></link><span style="background-image: '
            f'url({pipe})">painted</span> <table background="{pipe}"><tr><td>cell</td></tr>'
            f'</table>')
    opening = "<p>Neurons (input left, output right)"       # the network panel's text
    source = source.replace(opening, bait + opening, 1)
    assert bait in source
    glossary = f'[[term]]\nname = "Pass"\nformula = \'<img src="{pipe}">x\'\ntext = "one pass"\n'
    folder = help_folder(tmp_path, source.encode(), glossary.encode())
    monkeypatch.setattr(helptext, "help_dir", lambda: folder)
    from tests.test_help import click_menu, question_mark_text
    watch, w = PipeWatch(pipe), None
    try:
        w = open_window(size=(1500, 950))
        text = " ".join(question_mark_text(qtbot, w, "network").split())
        whats_this = w.docks["network"].whatsThis()
        w.help.popup.grab()
        click_menu(qtbot, w, "Help", "Glossary")
        qtbot.waitUntil(lambda: w.help.glossary_dialog is not None
                        and w.help.glossary_dialog.isVisible(), timeout=3000)
        definition = w.help.glossary_dialog.definition()
        w.help.glossary_dialog.grab()
    finally:
        if w is not None:
            close_all(w)
        opened = watch.close()
    assert not opened, "a help text made Qt open the file it names"
    assert "link painted" in text and "cell" in text and "Neurons (input left" in text
    assert not has_references(whats_this) and "Neurons (input left" in whats_this
    assert "Pass" in definition and "one pass" in definition


def test_a_lesson_text_too_complex_to_lay_out_is_shown_as_plain_text(qtbot):
    """Tables nested a few deep take Qt exponentially long to lay out, thousands of cells
    seconds: such a text is shown as its words."""
    from bpviz.ui.plotting.safe_text import safe_html, to_plain
    nested = "<table><tr><td>" * 40 + "deep"
    assert "<table" not in safe_html(nested) and to_plain(safe_html(nested)).strip() == "deep"
    wide = "|a" * 70 + "|\n" + "|-" * 70 + "|\n" + ("|b" * 70 + "|\n") * 70
    assert "<table" not in safe_html(wide, markdown=True)
    small = "|a|b|\n|-|-|\n|1|2|\n"
    assert "<table" in safe_html(small, markdown=True)       # a small table stays a table


# -- bpviz lessons check ----------------------------------------------------------------------

def test_lessons_check_says_what_is_wrong_with_each_file(tmp_path, capsys):
    folder = tmp_path / "class"
    faults = write_faults(folder)
    good = folder / "01-good.toml"
    good.write_text(GOOD, encoding="utf-8")
    assert main(["lessons", "check", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: ok (A lesson)\n"
    names = sorted(faults)
    assert main(["lessons", "check", str(good), *(str(folder / n) for n in names)]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"{good}: ok (A lesson)\n"
    said = captured.err.splitlines()
    assert len(said) == len(names)
    for name, line in zip(names, said):
        where, words = faults[name]
        assert line.startswith(str(folder / refusal_text(name, where))) and words in line, line
    misspelt = folder / "20-tahn.toml"
    misspelt.write_text(GOOD.replace('kind = "passes_trained"\nat_least = 1',
                                     'kind = "setting"\nname = "activation"\nequals = "tahn"'))
    assert main(["lessons", "check", str(misspelt)]) == 2
    assert capsys.readouterr().err.startswith(f"{misspelt}, line 12: check 'setting': equals is "
                                              f"'tahn', which is not an activation (one of")
