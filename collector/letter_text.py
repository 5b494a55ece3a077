"""An answer letter's HTML (rendered from its Markdown) as the plain text of its e-mail.

A mail reader shows the text/plain part as it is: Markdown's markup (`**`, `##`) would reach
the porteur literally. The letter is rendered once by the `markdown` library (letters.fill,
with what a porteur or a reviewer typed escaped), and this walks that HTML back to text:
a heading becomes a line of its own, emphasis is dropped, a list item starts with « - » (or
its number), a link reads « texte (https://…) », a line break stays a line break, and
paragraphs are separated by one blank line. Entities come back as the characters they stand for.

Flask-free: letters.py uses it, which Pelican also reads.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "hr", "div", "table", "tr"}
_SKIPPED = {"script", "style", "head", "title"}


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.lists: list[list[int]] = []  # [number of the next item] for an <ol>, [] for a <ul>
        self.links: list[tuple[str | None, int]] = []  # (href, where its text starts in self.line)
        self.quoted = 0
        self.skipped = 0
        self.preformatted = 0

    def _end_line(self) -> None:
        if self.line.strip():
            self.lines.append(("> " * self.quoted) + self.line.rstrip())
        self.line = ""

    def _blank(self) -> None:
        self._end_line()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipped += 1
        elif tag == "br":
            self._end_line()
        elif tag == "li":
            self._end_line()
            indent = "  " * (len(self.lists) - 1)
            numbers = self.lists[-1] if self.lists else []
            if numbers:
                self.line = f"{indent}{numbers[0]}. "
                numbers[0] += 1
            else:
                self.line = f"{indent}- "
        elif tag in ("ul", "ol"):
            if not self.lists:
                self._blank()
            else:
                self._end_line()
            start = dict(attrs).get("start") or "1"
            self.lists.append([int(start) if start.isdigit() else 1] if tag == "ol" else [])
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.line)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.line += alt
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self._blank()
                self.quoted += 1
            elif tag == "pre":
                self._blank()
                self.preformatted += 1
            elif not self.lists:
                self._blank()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipped = max(0, self.skipped - 1)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._blank()
        elif tag == "a":
            href, start = self.links.pop() if self.links else (None, 0)
            shown = self.line[start:].strip()
            if href and href.removeprefix("mailto:") != shown:
                self.line += f" ({href})"
        elif tag == "blockquote":
            self._blank()
            self.quoted = max(0, self.quoted - 1)
        elif tag == "pre":
            self._blank()
            self.preformatted = max(0, self.preformatted - 1)
        elif tag == "li":
            self._end_line()
        elif tag in _BLOCKS and not self.lists:
            self._blank()

    def handle_data(self, data: str) -> None:
        if self.skipped:
            return
        if self.preformatted:
            *whole, last = data.split("\n")
            for part in whole:
                self.line += part
                self._end_line()
            self.line += last
            return
        text = re.sub(r"\s+", " ", data)
        if not self.line.strip() or self.line.endswith(" "):  # a line's start, or after a list item's « - »
            text = text.lstrip()
        self.line += text

    def text(self) -> str:
        self._end_line()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


def plain_text(html: str) -> str:
    """The text a reader should see of `html` (a letter rendered from Markdown), without markup."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    return parser.text()
