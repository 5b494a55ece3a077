"""Read built HTML the way a test needs it: visible text, links, tags, attributes."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in {"script", "style"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


class Page:
    """One built HTML document."""

    def __init__(self, html: str) -> None:
        parser = _Collector()
        parser.feed(html)
        self.html = html
        self.tags = parser.tags
        self.text = re.sub(r"\s+", " ", "".join(parser.text).replace("\xa0", " ")).strip()

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def hrefs(self) -> list[str]:
        return [attrs["href"] for name, attrs in self.tags if name in {"a", "link"} and "href" in attrs]

    def link_to(self, href: str) -> bool:
        return href in self.hrefs()
