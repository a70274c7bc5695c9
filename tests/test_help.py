"""Help in the window: "?" on every panel, Shift+F1, Help → Glossary; and the texts as data."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication

from bpviz import helptext
from bpviz.engine.errors import BpvizError

LEFT = Qt.MouseButton.LeftButton

GLOSSARY_TERMS = ["pass", "epoch", "mini-batch", "pre-activation z", "activation a", "delta δ",
                  "error signal", "focus", "gradient", "update", "error surface",
                  "random filter-normalised direction", "principal-component axes", "divergence",
                  "saturation", "dead relu", "program of a pass", "backpropagation", "chain rule",
                  "dynamic programming", "learning rate η", "momentum", "loss (cross-entropy)",
                  "computational graph", "automatic differentiation"]


def plain(rich: str) -> str:
    doc = QTextDocument()
    doc.setHtml(rich)
    return " ".join(doc.toPlainText().split())


@pytest.fixture
def window(open_window):
    return open_window(size=(1500, 950))


def click_menu(qtbot, w, menu_title: str, item: str):
    bar = w.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == menu_title)
    qtbot.mouseClick(bar, LEFT, pos=bar.actionGeometry(top).center())
    menu = top.menu()
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    entry = next(a for a in menu.actions() if a.text().replace("&", "").startswith(item))
    qtbot.mouseClick(menu, LEFT, pos=menu.actionGeometry(entry).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=2000)


# -- the data ---------------------------------------------------------------------------------------

def test_every_panel_has_a_few_sentences_of_help():
    texts = helptext.panel_help()
    assert set(texts) == set(helptext.PANELS)
    for name, entry in texts.items():
        words = plain(entry.text)
        assert 25 <= len(words.split()) <= 260, name
        assert "Try:" in words, name                     # what to try, in every panel


def test_the_panel_texts_name_what_the_panels_draw():
    t = {k: plain(v.text) for k, v in helptext.panel_help().items()}
    for words in ("weight", "gradient ∂L/∂w", "error signal w·δ", "update Δw", "mean δ",
                  "mean activation"):
        assert words in t["network"]
    for words in ("two weights", "filter-normalised", "principal components", "red point"):
        assert words in t["surface"]
    assert "gradient norm" in t["cost"] and "vanishing gradients" in t["cost"]
    assert "pin" in t["boundary"]
    assert "Next node ▸" in t["graph"] and "mean of ℓ over the mini-batch" in t["graph"]


def test_the_glossary_defines_every_term_with_a_formula():
    terms = helptext.glossary()
    names = [t.name.lower() for t in terms]
    assert names == GLOSSARY_TERMS
    by = {t.name.lower(): plain(t.formula) for t in terms}
    assert "δL = y − t" in by["delta δ"]
    assert "f′(zl) ⊙ (δl+1 (Wl+1)ᵀ)" in by["delta δ"]       # W^l is (n_{l−1}, n_l)
    assert "(Al−1)ᵀ Δl / N" in by["gradient"]
    assert "Δw = −η ∂L/∂w" in by["update"] and "α Δwprev" in by["update"]
    assert "1000 ×" in by["divergence"]
    assert "0.01" in by["saturation"] and "95%" in by["saturation"]


def test_the_glossary_formulas_agree_with_the_engine():
    """The numbers the glossary quotes are the engine's own."""
    from bpviz.engine import inspect, trainer
    by = {t.name.lower(): plain(t.formula) for t in helptext.glossary()}
    assert f"{trainer.DIVERGENCE_FACTOR:g} ×" in by["divergence"]
    assert f"{inspect.SATURATION_FPRIME:g}" in by["saturation"]
    assert f"{inspect.SATURATION_SHARE:.0%}" in by["saturation"]


def test_bad_help_files_are_refused_with_a_message_naming_them(tmp_path):
    bad = tmp_path / "panels.toml"
    bad.write_text("[network]\ntitle = 'Network'\ntext = \n")
    with pytest.raises(BpvizError, match=re.escape(str(bad)) + ", line 3: not valid TOML"):
        helptext.panel_help(bad)
    bad.write_text("[network]\ntitle = 'Network'\n")
    with pytest.raises(BpvizError, match=r"\[network\]: 'text' must be"):
        helptext.panel_help(bad)
    with pytest.raises(BpvizError, match="cannot read"):
        helptext.glossary(tmp_path / "missing.toml")
    g = tmp_path / "glossary.toml"
    g.write_text("[[term]]\nname = 'Pass'\nformula = 'x'\n")
    with pytest.raises(BpvizError, match="term 1: 'text'"):
        helptext.glossary(g)
    g.write_text("[[term]]\nname = 'Pass'\nformula = 'x'\ntext = 'y'\nalso = ['step', ' ']\n")
    with pytest.raises(BpvizError, match=re.escape(str(g))
                       + ", line 5: term 1: 'also' must be a list of strings, none"):
        helptext.glossary(g)


@pytest.mark.parametrize("content, line, words", [
    (b"[network]\ntitle = 'Network'\ntext = 'x'\n\xff\n", 4, "not UTF-8 text (byte 0xff"),
    (b"[network]\ntitle = 3\ntext = 'x'\n", 2, "[network]: 'title' must be a non-empty string"),
    (b"[network]\ntitle = 'N'\ntext = '" + b"<b>" * 2001 + b"'\n", 3, "more than 2,000 tags"),
    (b"[network]\ntitle = 'N'\ntext = 'x'\nsize = " + b"9" * 5000 + b"\n", 4, "too long to read"),
    (b"[network]\ntitle = 'N'\ntext = " + b"[" * 100000 + b"\n", 3, "nested too deep"),
    (b"[network]\ntitle = 'N'\ntext = 'x'\ncolour = 'red'\n", 4, "unknown key 'colour'"),
])
def test_every_fault_of_a_panels_file_names_its_line(tmp_path, content, line, words):
    path = tmp_path / "panels.toml"
    path.write_bytes(content)
    with pytest.raises(BpvizError) as e:
        helptext.panel_help(path)
    assert str(e.value).startswith(f"{path}, line {line}: ") and words in str(e.value)


@pytest.mark.parametrize("content, line, words", [
    ("term = [1]\n", 1, "term 1: expected a table"),
    ("[[term]]\nname = 'Pass'\nformula = 'x'\ntext = 'y'\n\n[[term]]\nname = ['Epoch']\n"
     "formula = 'x'\ntext = 'y'\n", 7, "term 2: 'name' must be a non-empty string"),
    ("[[term]]\nname = 'Pass'\nalso = [1]\nformula = 'x'\ntext = 'y'\n", 3,
     "term 1: 'also' must be a list of strings"),
    ("[term]\nname = 'Pass'\n", None, "no [[term]] entries"),
])
def test_every_fault_of_a_glossary_file_names_its_line(tmp_path, content, line, words):
    path = tmp_path / "glossary.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BpvizError) as e:
        helptext.glossary(path)
    where = f"{path}, line {line}: " if line else f"{path}: "
    assert str(e.value).startswith(where) and words in str(e.value)


def test_filter_matching():
    term = helptext.Term("Dead ReLU", "z ≤ 0", "a neuron that outputs 0", ("dead neuron",))
    assert term.matches("relu") and term.matches("DEAD neuron") and not term.matches("sigmoid")


# -- in the window ----------------------------------------------------------------------------------

PANEL_DOCKS = ["controls", "network", "boundary", "surface", "cost", "inspector", "graph"]


def test_the_window_has_every_panel(window):
    assert set(PANEL_DOCKS) <= set(window.docks)


def test_the_question_mark_of_every_panel_explains_it(qtbot, window):
    for name in window.docks:             # the Lessons panel too, where the window has it
        question_mark_explains(qtbot, window, name)


def question_mark_text(qtbot, window, name) -> str:
    """Click the "?" in the title bar of panel ``name``: the text its popup shows."""
    dock = window.docks[name]
    dock.show()
    dock.raise_()
    bar = dock.titleBarWidget()
    qtbot.waitUntil(bar.help_button.isVisible, timeout=3000)
    assert bar.title.text() == dock.windowTitle()
    qtbot.mouseClick(bar.help_button, LEFT, pos=bar.help_button.rect().center())
    popup = window.help.popup
    qtbot.waitUntil(lambda: popup.isVisible() and popup.panel == name, timeout=3000)
    return popup.text()


def question_mark_explains(qtbot, window, name):
    text = question_mark_text(qtbot, window, name)
    popup = window.help.popup
    expected = helptext.panel_help()[name]
    assert popup.panel == name and not popup.isModal()
    assert plain(expected.text)[:60] in " ".join(text.split())
    assert expected.title in popup.windowTitle()
    # the window still answers while it is open
    assert window.isEnabled()
    popup.close()


def test_the_title_bar_keeps_float_and_close(qtbot, window):
    dock = window.docks["boundary"]
    bar = dock.titleBarWidget()
    qtbot.mouseClick(bar.float_button, LEFT, pos=bar.float_button.rect().center())
    qtbot.waitUntil(dock.isFloating, timeout=3000)
    assert dock.width() >= 960 and dock.height() >= 600          # big enough to read
    qtbot.mouseClick(bar.float_button, LEFT, pos=bar.float_button.rect().center())
    qtbot.waitUntil(lambda: not dock.isFloating(), timeout=3000)
    qtbot.mouseClick(bar.close_button, LEFT, pos=bar.close_button.rect().center())
    qtbot.waitUntil(lambda: not dock.isVisible(), timeout=3000)


def test_shift_f1_explains_the_panel_with_the_focus(qtbot, window):
    dock = window.docks["graph"]
    dock.raise_()
    g = window.graph_view
    qtbot.waitUntil(g.isVisible, timeout=3000)
    qtbot.mouseClick(g.view.viewport(), LEFT, pos=g.view.viewport().rect().center())
    qtbot.waitUntil(g.hasFocus, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F1, Qt.KeyboardModifier.ShiftModifier)
    popup = window.help.popup
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    assert popup.panel == "graph"
    assert "computational graph" in popup.text()
    popup.close()
    # in the controls: the learning rate box
    box = window.controls.lr.spin
    qtbot.mouseClick(box, LEFT, pos=box.rect().center())
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and window.help.panel_of(QApplication.focusWidget()) == "controls",
                    timeout=2000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F1, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: popup.isVisible() and popup.panel == "controls", timeout=3000)
    assert "Learning rate η" in popup.text()


def test_every_panel_has_its_whats_this_text(window):
    texts = helptext.panel_help()
    for name, dock in window.docks.items():
        assert plain(texts[name].text)[:40] in plain(dock.whatsThis()), name


def test_help_glossary_through_the_menu_and_its_filter_box(qtbot, window):
    click_menu(qtbot, window, "Help", "Glossary")
    dialog = window.help.glossary_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=3000)
    dialog = window.help.glossary_dialog
    assert not dialog.isModal()
    assert [n.lower() for n in dialog.shown_terms()] == GLOSSARY_TERMS
    assert dialog.definition().startswith("Pass")
    qtbot.mouseClick(dialog.filter, LEFT, pos=dialog.filter.rect().center())
    qtbot.keyClicks(dialog.filter, "delta")
    assert "Delta δ" in dialog.shown_terms() and "Pass" in dialog.shown_terms()   # "deltas"
    assert dialog.definition().startswith("Delta δ")          # the term so named comes first
    for _ in range(len("delta")):
        qtbot.keyClick(dialog.filter, Qt.Key.Key_Backspace)
    assert [n.lower() for n in dialog.shown_terms()] == GLOSSARY_TERMS
    qtbot.keyClicks(dialog.filter, "relu")
    assert dialog.shown_terms() == ["Activation a", "Dead ReLU"]
    assert dialog.definition().startswith("Dead ReLU")
    qtbot.keyClicks(dialog.filter, " dead")
    assert dialog.shown_terms() == ["Dead ReLU"]
    assert "z ≤ 0 for every sample" in dialog.definition()
    for _ in range(len("relu dead")):
        qtbot.keyClick(dialog.filter, Qt.Key.Key_Backspace)
    qtbot.keyClicks(dialog.filter, "filter")
    assert "Random filter-normalised direction" in dialog.shown_terms()
    list_widget = dialog.list
    item = next(list_widget.item(i) for i in range(list_widget.count())
                if list_widget.item(i).text() == "Random filter-normalised direction")
    qtbot.mouseClick(list_widget.viewport(), LEFT, pos=list_widget.visualItemRect(item).center())
    assert "‖W:,j‖" in " ".join(dialog.definition().split())
    qtbot.keyClicks(dialog.filter, "zzz")
    assert dialog.shown_terms() == [] and "No term matches" in dialog.definition()
    # non-modal: the window trains while it is open
    assert window.isEnabled()


LEARNER_WORDS = {"backprop": "Backpropagation", "chain": "Chain rule",
                 "dynamic": "Dynamic programming", "autodiff": "Automatic differentiation",
                 "cross-entropy": "Loss (cross-entropy)", "step size": "Learning rate η",
                 "momentum": "Momentum", "computational graph": "Computational graph",
                 "learning rate": "Learning rate η", "autograd": "Automatic differentiation"}


def test_the_glossary_finds_the_learners_words(qtbot, window):
    """Typed into the filter box, the words a learner searches for show their entry first."""
    action = next(a for m in window.menuBar().actions() if m.menu() is not None
                  for a in m.menu().actions() if a.text().replace("&", "").startswith("Glossary"))
    action.trigger()
    qtbot.waitUntil(lambda: window.help.glossary_dialog is not None
                    and window.help.glossary_dialog.isVisible(), timeout=3000)
    dialog = window.help.glossary_dialog
    for word, name in LEARNER_WORDS.items():
        dialog.filter.clear()
        qtbot.keyClicks(dialog.filter, word)
        assert name in dialog.shown_terms(), word
        assert dialog.definition().startswith(name), word
    # each new entry says which focus its quantity is for and gives bpviz's formula
    by = {t.name: t for t in helptext.glossary()}
    for name in set(LEARNER_WORDS.values()):
        assert "focus" in by[name].text, name
    assert "f′(zlj) Σk wl+1jk δl+1k" in plain(by["Chain rule"].formula)
    assert "Δw = −η ∂L/∂w" in plain(by["Learning rate η"].formula)
    assert "v ← α v − η ∂L/∂w" in plain(by["Momentum"].formula)
    assert "ℓ = −Σk tk log yk" in plain(by["Loss (cross-entropy)"].formula)


def test_shift_f1_outside_the_panels_then_a_click_on_one_shows_its_text(qtbot, window):
    from PySide6.QtWidgets import QWhatsThis
    box = window.speed_box
    qtbot.mouseClick(box, LEFT, pos=box.rect().center())
    if box.view().isVisible():
        qtbot.keyClick(box.view(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is box, timeout=2000)
    qtbot.keyClick(box, Qt.Key.Key_F1, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(QWhatsThis.inWhatsThisMode, timeout=2000)
    target = window.boundary.graphics.viewport()        # the decision boundary's plot
    qtbot.mouseClick(target, LEFT, pos=target.rect().center())
    qtbot.waitUntil(lambda: not QWhatsThis.inWhatsThisMode(), timeout=2000)
    popups = [w for w in QApplication.topLevelWidgets()
              if w.metaObject().className() == "QWhatsThat" and w.isVisible()]
    assert popups, "no What's This text appeared"
    QWhatsThis.hideText()
