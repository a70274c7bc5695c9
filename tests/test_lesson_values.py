"""A teacher's lesson: values checked against what the window accepts (a misspelt activation,
a neuron, edge or sample the lesson's network does not have) with the file and line, in the
loader and in ``bpviz lessons check``; the placeholders a lecture needs ({accuracy},
{test_accuracy}, {epoch}, {loss}, {test_loss}, {pass}, {lr} …) filled with the window's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz import lessons as L
from bpviz.cli import main
from bpviz.engine import numbers
from tests.test_lessons import GOOD, open_lessons, panel

ACTIVATIONS = ", ".join(L.ACTIVATIONS)


@pytest.fixture(autouse=True)
def no_other_lessons(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    yield
    L.set_teacher_folder(None)


# the GOOD lesson (xor, a 2-4-2 network: tanh hidden layer, 320 training samples) changed
@pytest.mark.parametrize("change, line, words", [
    (('kind = "passes_trained"\nat_least = 1', 'kind = "setting"\nname = "activation"\n'
      'equals = "tahn"'), 12,
     f"check 'setting': equals is 'tahn', which is not an activation (one of {ACTIVATIONS})"),
    (("speed = 5", 'activation = "tahn"'), 7,
     f"setup.activation is 'tahn', which is not an activation (one of {ACTIVATIONS})"),
    (('kind = "passes_trained"\nat_least = 1', 'kind = "setting"\nname = "optimizer"\n'
      'equals = "adma"'), 12, "equals is 'adma', which is not an optimizer (one of"),
    (('kind = "passes_trained"\nat_least = 1', 'kind = "edge_mode"\nmode = "signals"'), 11,
     "mode is 'signals', which is not an edge mode (one of weight, gradient, signal, update)"),
    (("speed = 5", "select = [3, 0]"), 7,
     "setup.select names layer 3, but the lesson's network (2-4-2) has layers 0 to 2"),
    (("speed = 5", "select = [1, 4]"), 7,
     "setup.select names neuron 4 of layer 1, which has 4 neurons (0 to 3) in the lesson's "
     "network (2-4-2)"),
    (("speed = 5", "edge = [2, 4, 0]"), 7,
     "setup.edge names the edge from neuron 4 of layer 1 into neuron 0 of layer 2, but those "
     "layers have 4 and 2 neurons"),
    (("speed = 5", "surface_axes = [[1, 0, 0], [3, 0, 0]]"), 7,
     "setup.surface_axes item 2 names an edge into layer 3"),
    (("speed = 5", "pin = 320"), 7,
     "setup.pin is 320, but the lesson's data have 320 training samples (0 to 319)"),
    (('text = "The loss is {loss}."', 'text = "The accuracy is {acuracy}."'), 2,
     "unknown placeholder {acuracy}"),
])
def test_a_value_the_window_would_not_take_is_refused_with_file_and_line(tmp_path, capsys,
                                                                        change, line, words):
    path = tmp_path / "20-lesson.toml"
    old, new = change
    assert old in GOOD
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    assert main(["lessons", "check", str(path)]) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"{path}, line {line}: ") and words in said, said
    assert said.count("\n") == 1
    lessons, refused = L.load_lessons(tmp_path)          # the window's loader says the same
    assert lessons == [] and str(refused[0]) == f"20-lesson.toml, line {line}: " + \
        said.split(": ", 1)[1].strip()


def test_every_lesson_of_bpviz_passes_the_check(capsys):
    files = sorted(str(p) for p in L.lessons_dir().glob("*.toml"))
    assert main(["lessons", "check", *files]) == 0
    assert capsys.readouterr().out.count(": ok (") == len(files)


# -- the placeholders ------------------------------------------------------------------------

def forward(X, weights, biases, activations):
    """The network's output for X in plain numpy (the lesson's numbers, computed here)."""
    f = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
         "relu": lambda z: np.maximum(z, 0)}
    a = X
    for W, b, name in zip(weights, biases, activations):
        z = a @ W + b
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = f[name](z)
    return a


def loss_and_accuracy(X, labels, snap, weights=None, biases=None):
    y = forward(X, weights or snap.weights, biases or snap.biases, snap.activations)
    loss = -np.mean(np.log(y[np.arange(len(labels)), labels]))
    return loss, np.mean(y.argmax(axis=1) == labels)


PLACEHOLDERS = "{accuracy} {test_accuracy} {epoch} {loss} {test_loss} {pass} {lr} {train_loss}"


def test_the_placeholders_a_lecture_needs_are_the_numbers_of_the_run(make_run, make_snap):
    # xor, full batch: each pass is an epoch; an epoch's history row (the cost curve's point) is
    # at the weights it started from, those the last pass used
    snap = make_snap("xor", passes=5, batch_size=0)
    _, ds, _, _ = make_run("xor", batch_size=0)
    row = L.last_history_row(snap, None)
    text = L.render(PLACEHOLDERS, L.Context(snapshot=snap, history=row))
    train_loss, train_acc = loss_and_accuracy(ds.X_train, ds.y_train, snap)
    test_loss, test_acc = loss_and_accuracy(ds.X_test, ds.y_test, snap, snap.trace_weights,
                                            snap.trace_biases)
    assert len(ds.y_test) > 0 and snap.pass_count == snap.epoch == 5 and row["epoch"] == 4
    assert text.split() == [f"{train_acc:.3f}", f"{test_acc:.3f}", "5", numbers.fmt(snap.loss),
                            numbers.fmt(test_loss), "5", numbers.fmt(0.1), numbers.fmt(train_loss)]


def test_the_test_numbers_read_a_dash_without_a_test_set_or_before_an_epoch(make_snap):
    snap = make_snap("gaussian-clouds", passes=2)       # the classic example: no test set
    text = L.render("{test_loss} {test_accuracy} {accuracy}",
                    L.Context(snapshot=snap, history=L.last_history_row(snap, None)))
    assert text.split()[:2] == ["—", "—"] and text.split()[2] != "—"
    assert L.render("{test_loss}", L.Context(snapshot=snap, history=None)) == "—"


def test_a_lesson_text_shows_the_accuracy_the_status_bar_shows(qtbot, open_window, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "01-numbers.toml").write_text(GOOD.replace(
        'text = "The loss is {loss}."',
        'text = "Pass {pass}, epoch {epoch}: accuracy {accuracy}, test {test_accuracy}."'),
        encoding="utf-8")
    L.set_teacher_folder(folder)
    n = len(L.load_lessons(L.lessons_dir())[0])
    w = open_window(size=(1280, 720))
    open_lessons(qtbot, w, n + 1)
    for _ in range(3):
        target = w.latest.pass_count + 1
        w.step()
        qtbot.waitUntil(lambda: w.latest.pass_count == target, timeout=5000)
    w.paint_now()

    def shown():
        snap = w.latest
        accuracy = w.status_labels["accuracy"].text().rsplit(" ", 1)[-1]
        return (f"Pass {snap.pass_count}, epoch {snap.epoch}: accuracy {accuracy}, test "
                in panel(w).shown_text())

    qtbot.waitUntil(shown, timeout=5000)
    assert "{" not in panel(w).shown_text()


def test_the_teaching_guide_lists_every_placeholder():
    from pathlib import Path
    guide = (Path(__file__).resolve().parents[1] / "docs" / "teaching.md").read_text("utf-8")
    section = guide[guide.index("## Writing a lesson"):]
    missing = [name for name in L.QUANTITIES if f"| `{{{name}}}` |" not in section]
    assert missing == []
