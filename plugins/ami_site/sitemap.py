"""Build sitemap.xml and robots.txt from the pages actually written to the output folder."""

from __future__ import annotations

import os
from xml.sax.saxutils import escape

EXCLUDED_PAGES = {"404.html"}


def page_paths(output_path: str) -> list[str]:
    """URL paths (`/`, `/calendrier/`) of every built HTML page, sorted, 404 left out."""
    paths = []
    for folder, _subfolders, files in os.walk(output_path):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), output_path).replace(os.sep, "/")
            if not name.endswith(".html") or relative in EXCLUDED_PAGES or relative.startswith("theme/"):
                continue
            url = "/" + relative.removesuffix("index.html")
            paths.append(url)
    return sorted(paths)


def build_sitemap(base_url: str, paths: list[str]) -> str:
    """A sitemaps.org urlset listing `base_url` + each path."""
    base = base_url.rstrip("/")
    entries = "".join(f"<url><loc>{escape(base + path)}</loc></url>\n" for path in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + entries + "</urlset>\n")


def build_robots(base_url: str, private_prefixes: tuple[str, ...] = ("/instruction/",)) -> str:
    """robots.txt: everything public but the review pages, and where the sitemap lives."""
    lines = ["User-agent: *", "Allow: /"] + [f"Disallow: {prefix}" for prefix in private_prefixes]
    lines.append(f"Sitemap: {base_url.rstrip('/')}/sitemap.xml")
    return "\n".join(lines) + "\n"
