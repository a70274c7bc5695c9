"""Help in the window: a "?" in every panel's title bar, Shift+F1, and the glossary.

:class:`HelpDesk` gives every dock a :class:`HelpTitleBar` (the title, a "?" button and the float
and close buttons a dock has) and its What's This text. A click on "?", or Shift+F1 while the
keyboard focus is inside a panel, opens a :class:`HelpPopup` next to that panel: a small window
that stays open while the learner goes on working. Shift+F1 with the focus elsewhere enters
Qt's What's This mode: the next click on a panel shows its text. :class:`GlossaryDialog` lists the
glossary's terms with a filter box. The texts are data (:mod:`bpviz.helptext`), shown as text:
every one goes through :func:`~bpviz.ui.plotting.safe_text.safe_html` (no image, link or style sheet in
them makes Qt read a file) into views that load nothing and follow no link.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, QPoint, QRect, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QDockWidget, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QSplitter, QStyle,
                               QToolButton, QVBoxLayout, QWhatsThis, QWidget)

from ... import helptext
from ...engine.errors import BpvizError
from ..plotting.safe_text import TextOnlyBrowser, safe_html


FLOAT_MIN = (960, 600)      # a panel floated from its title bar opens at least this large


class HelpTitleBar(QWidget):
    """A dock's title bar: its title, "?", and the float and close buttons it had."""

    helpRequested = Signal()

    def __init__(self, dock: QDockWidget):
        super().__init__(dock)
        self.dock = dock
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 1, 2, 1)
        row.setSpacing(2)
        self.title = QLabel(dock.windowTitle())
        row.addWidget(self.title, 1)
        dock.windowTitleChanged.connect(self.title.setText)
        style = self.style()
        self.help_button = self._tool("?", "What this panel shows (Shift+F1)")
        self.help_button.setObjectName("help-button")
        self.help_button.clicked.connect(self.helpRequested)
        self.float_button = self._tool("", "Float the panel in its own window, or dock it again")
        self.float_button.setIcon(style.standardIcon(QStyle.SP_TitleBarNormalButton))
        self.float_button.clicked.connect(self.toggle_floating)
        self.close_button = self._tool("", "Close the panel (View brings it back)")
        self.close_button.setIcon(style.standardIcon(QStyle.SP_TitleBarCloseButton))
        self.close_button.clicked.connect(dock.close)
        for b in (self.help_button, self.float_button, self.close_button):
            row.addWidget(b)
        dock.featuresChanged.connect(self._features)
        self._features(dock.features())

    def _tool(self, text: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.NoFocus)
        return b

    def _features(self, features) -> None:
        self.float_button.setVisible(bool(features & QDockWidget.DockWidgetFloatable))
        self.close_button.setVisible(bool(features & QDockWidget.DockWidgetClosable))

    @Slot()
    def toggle_floating(self) -> None:
        """Float the panel in a window at least ``FLOAT_MIN`` large, or dock it again."""
        dock = self.dock
        dock.setFloating(not dock.isFloating())
        if dock.isFloating():
            w, h = FLOAT_MIN
            if dock.width() < w or dock.height() < h:
                dock.resize(max(dock.width(), w), max(dock.height(), h))

    def mouseDoubleClickEvent(self, event) -> None:
        if self.dock.features() & QDockWidget.DockWidgetFloatable:
            self.toggle_floating()
        event.accept()


class HelpPopup(QDialog):
    """One panel's explanation in a small window that does not block the main window."""

    def __init__(self, parent: QWidget):
        super().__init__(parent, Qt.Tool)
        self.setObjectName("panel-help")
        self.setModal(False)
        self.setAttribute(Qt.WA_ShowWithoutActivating, False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.browser = TextOnlyBrowser()
        self.browser.setMinimumSize(380, 220)
        lay.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
        self.resize(520, 420)
        self.panel = ""

    def show_text(self, panel: str, title: str, text: str, near: QPoint | None = None,
                  avoid: QRect | None = None) -> None:
        """Show ``text``; beside ``avoid`` (the panel's rectangle on screen) where it fits,
        otherwise under ``near`` (the "?" button)."""
        self.panel = panel
        self.setWindowTitle(f"{title} — what it shows")
        self.browser.setHtml(safe_html(f"<h3>{html.escape(title)}</h3>{text}"))
        if near is not None:
            screen = QApplication.screenAt(near) or QApplication.primaryScreen()
            area = screen.availableGeometry()
            w, h = self.width(), self.height()
            y = min(max(area.top(), near.y()), area.bottom() - h)
            x = min(max(area.left(), near.x() - w), area.right() - w)
            if avoid is not None:
                if avoid.right() + 8 + w <= area.right():
                    x = avoid.right() + 8
                elif avoid.left() - 8 - w >= area.left():
                    x = avoid.left() - 8 - w
            self.move(x, y)
        self.show()
        self.raise_()
        if near is not None:
            self.keep_on_screen(area)
            # the window manager frames the popup after it is shown: check again then
            QTimer.singleShot(0, lambda: self.keep_on_screen(area))

    def keep_on_screen(self, area: QRect) -> None:
        """Shrink the popup to ``area`` (a screen's available geometry) if it is larger and
        move it, frame and all, inside it."""
        if not self.isVisible():
            return
        frame = self.frameGeometry()
        extra_w, extra_h = frame.width() - self.width(), frame.height() - self.height()
        w = min(self.width(), area.width() - extra_w)
        h = min(self.height(), area.height() - extra_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
            frame = self.frameGeometry()
        x = min(max(area.left(), frame.left()), area.left() + area.width() - frame.width())
        y = min(max(area.top(), frame.top()), area.top() + area.height() - frame.height())
        if (x, y) != (frame.left(), frame.top()):
            self.move(x, y)

    def text(self) -> str:
        return self.browser.toPlainText()


class GlossaryDialog(QDialog):
    """The glossary: a filter box, the list of terms and the chosen term's definition."""

    def __init__(self, parent: QWidget, terms: list[helptext.Term], error: str = ""):
        super().__init__(parent, Qt.Window)
        self.setObjectName("glossary")
        self.setWindowTitle("Glossary")
        self.setModal(False)
        self.terms = terms
        lay = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: type a word (δ, batch, relu, …)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        lay.addWidget(self.filter)
        split = QSplitter(Qt.Horizontal)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._show)
        self.browser = TextOnlyBrowser()
        split.addWidget(self.list)
        split.addWidget(self.browser)
        split.setSizes([220, 520])
        lay.addWidget(split, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
        self.resize(780, 460)
        for term in terms:
            item = QListWidgetItem(term.name)
            item.setData(Qt.UserRole, term)
            self.list.addItem(item)
        if error:
            self.browser.setPlainText(error)
        elif terms:
            self.list.setCurrentRow(0)
        self.filter.setFocus()

    def shown_terms(self) -> list[str]:
        """The names the list shows (not filtered out)."""
        return [self.list.item(i).text() for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def definition(self) -> str:
        return self.browser.toPlainText()

    @staticmethod
    def _rank(term: helptext.Term, words: list[str]) -> int:
        """0: every word in the name; 1: in the name or its other names; 2: anywhere."""
        name = term.name.lower()
        names = " ".join((term.name, *term.also)).lower()
        return 0 if all(w in name for w in words) else 1 if all(w in names for w in words) else 2

    @Slot(str)
    def _filter(self, text: str) -> None:
        words = text.lower().split()
        best, best_rank = None, 3
        for i in range(self.list.count()):
            item = self.list.item(i)
            term = item.data(Qt.UserRole)
            hidden = bool(words) and not term.matches(text)
            item.setHidden(hidden)
            if not hidden:
                rank = self._rank(term, words)
                if rank < best_rank:
                    best, best_rank = item, rank
        first = best
        if first is not None and words:           # the best match: a term named so first
            self.list.setCurrentItem(first)
        elif first is not None and self.list.currentItem() is None:
            self.list.setCurrentItem(first)
        elif first is None:
            self.list.setCurrentItem(None)
            self.browser.setHtml(f"<p>No term matches “{html.escape(text)}”.</p>")

    @Slot(object, object)
    def _show(self, item, _previous=None) -> None:
        if item is None:
            return
        term = item.data(Qt.UserRole)
        self.browser.setHtml(safe_html(
            f"<h3>{html.escape(term.name)}</h3>"
            f'<p style="font-family: serif; font-size: 12pt; background: #f1f5f9; '
            f'padding: 6px">{term.formula}</p><p>{term.text}</p>'
            + (f'<p style="color:#64748b">Also: {html.escape(", ".join(term.also))}</p>'
               if term.also else "")))


class HelpDesk(QObject):
    """Installs the "?" title bars on a window's docks and answers help requests."""

    def __init__(self, window, docks: dict[str, QDockWidget]):
        super().__init__(window)
        self.window = window
        self.docks = docks
        try:
            self.texts = helptext.panel_help()
            self.error = ""
        except BpvizError as e:
            self.texts, self.error = {}, f"The help texts could not be read: {e}"
        except Exception as e:       # noqa: BLE001 - the file is untrusted: say so, carry on
            self.texts, self.error = {}, (f"The help texts could not be read: "
                                          f"{type(e).__name__}: {e}")
        self.popup = HelpPopup(window)
        self.glossary_dialog: GlossaryDialog | None = None
        self.title_bars: dict[str, HelpTitleBar] = {}
        for name in docks:
            self.install(name)

    def install(self, name: str) -> None:
        """Give dock ``name`` its title bar with "?" and its What's This text."""
        dock = self.docks[name]
        bar = HelpTitleBar(dock)
        bar.helpRequested.connect(lambda n=name: self.show_panel_help(n))
        dock.setTitleBarWidget(bar)
        self.title_bars[name] = bar
        title, text = self._text(name)
        dock.setWhatsThis(safe_html(f"<b>{html.escape(title)}</b>{text}"))

    def _text(self, name: str) -> tuple[str, str]:
        entry = self.texts.get(name)
        if entry is None:
            dock = self.docks[name]
            return dock.windowTitle(), f"<p>{html.escape(self.error or 'No help for this panel yet.')}</p>"
        return entry.title, entry.text

    def show_panel_help(self, name: str) -> None:
        title, text = self._text(name)
        bar = self.title_bars.get(name)
        near = avoid = None
        if bar is not None and bar.isVisible():
            near = bar.help_button.mapToGlobal(bar.help_button.rect().bottomRight())
            dock = self.docks[name]
            avoid = QRect(dock.mapToGlobal(QPoint(0, 0)), dock.size())
        self.popup.show_text(name, title, text, near, avoid)

    def panel_of(self, widget: QWidget | None) -> str | None:
        """The dock name ``widget`` sits in, if any."""
        while widget is not None:
            for name, dock in self.docks.items():
                if widget is dock:
                    return name
            widget = widget.parentWidget()
        return None

    @Slot()
    def whats_this(self) -> None:
        """Shift+F1: the focused panel's help, or What's This mode when no panel has the focus."""
        name = self.panel_of(QApplication.focusWidget())
        if name is not None:
            self.show_panel_help(name)
        else:
            QWhatsThis.enterWhatsThisMode()

    @Slot()
    def show_glossary(self) -> None:
        if self.glossary_dialog is None:
            try:
                terms, error = helptext.glossary(), ""
            except BpvizError as e:
                terms, error = [], f"The glossary could not be read: {e}"
            except Exception as e:   # noqa: BLE001 - the file is untrusted: say so, carry on
                terms, error = [], f"The glossary could not be read: {type(e).__name__}: {e}"
            self.glossary_dialog = GlossaryDialog(self.window, terms, error)
        self.glossary_dialog.show()
        self.glossary_dialog.raise_()
        self.glossary_dialog.activateWindow()
