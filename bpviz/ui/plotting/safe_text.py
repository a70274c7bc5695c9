"""Text that someone else wrote (a lesson's Markdown, a help text's HTML), shown as text.

Qt's rich text reads files by itself: an image (``![z](/dev/zero)`` in Markdown, ``<img src=...>``
in HTML), a style sheet (``<link rel=stylesheet>``) or a background image is loaded from the disk
when the text is parsed or laid out — and when a document refuses to load an image, Qt's image
handler tries the path directly. So no such reference may reach a widget:

- :func:`safe_html` parses the text in a :class:`TextOnlyDocument` (which loads nothing: a style
  sheet is empty, an image a blank pixel so that Qt does not go to the file itself), Markdown with
  raw HTML switched off (it shows as the characters written), then removes every image (its
  alternative text stays), link target and background image, and returns the HTML of what is
  left. Should anything of the kind survive, the text is shown as plain text instead — and so
  is a text whose layout would take Qt seconds to minutes (tables nested a few deep, thousands of
  table cells or paragraphs: ``MAX_TABLE_DEPTH``, ``MAX_CELLS``, ``MAX_BLOCKS``).
- :class:`TextOnlyBrowser` is a QTextBrowser with such a document that follows no link and
  loads no resource, for showing :func:`safe_html`'s output.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QByteArray, QUrl
from PySide6.QtGui import (QImage, QTextCharFormat, QTextCursor, QTextDocument, QTextFormat,
                           QTextTable)
from PySide6.QtWidgets import QTextBrowser

MAX_TABLE_DEPTH = 2      # a table in a table; deeper nesting takes Qt exponentially long to lay out
MAX_CELLS = 400          # table cells in all (70 × 70 cells take 8 s to lay out)
MAX_BLOCKS = 3000        # paragraphs, list items, cells

# properties of a format that name something outside the text
_REFERENCES = (QTextFormat.Property.ImageName, QTextFormat.Property.BackgroundImageUrl,
               QTextFormat.Property.AnchorHref)
_MARKDOWN = (QTextDocument.MarkdownFeature.MarkdownDialectGitHub
             | QTextDocument.MarkdownFeature.MarkdownNoHTML)


def _blank() -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(0)
    return image


def refuse_resource(kind: int):
    """What a document is given for a resource it asks for: a blank pixel for an image (a null
    image would make Qt read the file itself), nothing for anything else."""
    if kind == QTextDocument.ResourceType.ImageResource:
        return _blank()
    return QByteArray()


class TextOnlyDocument(QTextDocument):
    """A document that loads no file, URL or resource."""

    def loadResource(self, kind, name: QUrl):      # noqa: N802 - Qt's name
        return refuse_resource(kind)


class TextOnlyBrowser(QTextBrowser):
    """A read-only text view that loads nothing and follows no link."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDocument(TextOnlyDocument(self))
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def loadResource(self, kind, name: QUrl):      # noqa: N802 - Qt's name
        return refuse_resource(kind)

    def setSource(self, name, kind=None):          # noqa: N802 - Qt's name: nothing is opened
        return None


def _has_references(doc: QTextDocument) -> bool:
    return any(fmt.hasProperty(p) for fmt in doc.allFormats() for p in _REFERENCES)


def _without(fmt, *properties):
    for p in properties:
        fmt.clearProperty(p)
    return fmt


def _strip(doc: QTextDocument) -> None:
    """Replace every image by its alternative text, and take off every link target and
    background image (the text they are on stays)."""
    cursor = QTextCursor(doc)
    edits = []                      # (position, length, char format, text or None)
    block = doc.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.hasProperty(QTextFormat.Property.BackgroundImageUrl):
            cursor.setPosition(block.position())
            cursor.setBlockFormat(_without(fmt, QTextFormat.Property.BackgroundImageUrl))
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            it += 1
            if not frag.isValid():
                continue
            char = frag.charFormat()
            if char.isImageFormat():
                alt = str(char.property(QTextFormat.Property.ImageAltText) or "")
                plain = QTextCharFormat()
                edits.append((frag.position(), frag.length(), plain, f"[{alt}]" if alt else ""))
            elif any(char.hasProperty(p) for p in _REFERENCES):
                edits.append((frag.position(), frag.length(),
                              _without(char, QTextFormat.Property.AnchorHref,
                                       QTextFormat.Property.IsAnchor,
                                       QTextFormat.Property.AnchorName,
                                       QTextFormat.Property.BackgroundImageUrl), None))
        block = block.next()
    for position, length, fmt, text in reversed(edits):
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        if text is None:
            cursor.setCharFormat(fmt)
        else:
            cursor.insertText(text, fmt)
    frames = [doc.rootFrame()]
    while frames:
        frame = frames.pop()
        fmt = frame.frameFormat()
        if fmt.hasProperty(QTextFormat.Property.BackgroundImageUrl):
            frame.setFrameFormat(_without(fmt, QTextFormat.Property.BackgroundImageUrl))
        frames.extend(frame.childFrames())


def _too_complex(doc: QTextDocument) -> bool:
    if doc.blockCount() > MAX_BLOCKS:
        return True
    cells, frames = 0, [(doc.rootFrame(), 0)]
    while frames:
        frame, depth = frames.pop()
        if isinstance(frame, QTextTable):
            depth += 1
            cells += frame.rows() * frame.columns()
            if depth > MAX_TABLE_DEPTH or cells > MAX_CELLS:
                return True
        frames.extend((child, depth) for child in frame.childFrames())
    return False


def safe_html(text: str, markdown: bool = False) -> str:
    """``text`` (Markdown, or Qt rich text) as HTML that names no image, link, style sheet or
    other file; plain text, escaped, if it cannot be made so or is too complex to lay out."""
    doc = TextOnlyDocument()
    if markdown:
        doc.setMarkdown(text, _MARKDOWN)
    else:
        doc.setHtml(text)
    if _too_complex(doc):
        return plain_html(doc.toPlainText())
    if not _has_references(doc):
        return doc.toHtml()
    _strip(doc)
    out = doc.toHtml()
    check = TextOnlyDocument()          # a document keeps every format it ever had: read it anew
    check.setHtml(out)
    if _has_references(check):          # something the walk did not reach: give the text only
        return plain_html(doc.toPlainText())
    return out


def plain_html(text: str) -> str:
    """``text`` shown exactly as written."""
    return "<p style='white-space: pre-wrap'>" + html.escape(text) + "</p>"


def to_plain(html_text: str) -> str:
    """The words of rich text (for read-outs and tests), loading nothing."""
    doc = TextOnlyDocument()
    doc.setHtml(html_text)
    return doc.toPlainText()
