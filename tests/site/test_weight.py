"""The page-weight floor of issue 2: every page of the built site at most 20 KB transferred,
counted uncompressed, in at most 3 requests. A page's weight is its HTML plus every file it
makes the browser load (stylesheets, scripts, images), counted as bench/site.py counts them
in Chromium; a size, not a timing, so a test may hold it."""

from __future__ import annotations

import os

from .htmltext import Page

MAX_BYTES, MAX_REQUESTS = 20 * 1024, 3


def loaded_files(page: Page) -> list[str]:
    """The site-relative paths of the files a browser loads to show the page (data: URLs are none)."""
    urls = [attrs["href"] for attrs in page.all("link") if attrs.get("rel") == "stylesheet"]
    urls += [attrs["src"] for tag in ("script", "img", "iframe") for attrs in page.all(tag) if attrs.get("src")]
    assert all(url.startswith("/") for url in urls), urls  # the site loads nothing from another host
    return [url.lstrip("/") for url in urls if not url.startswith("data:")]


def weight(site, page_path: str) -> tuple[int, int]:
    """(bytes, requests) of one built page: its HTML and the files it loads."""
    html = site.read(page_path)
    files = loaded_files(Page(html))
    size = len(html.encode("utf-8")) + sum(os.path.getsize(os.path.join(site.output, f)) for f in files)
    return size, 1 + len(files)


def test_the_weight_counts_the_html_and_every_file_the_page_loads(site):
    size, requests = weight(site, "candidater/index.html")
    assert requests == 3  # the HTML, form.css and form.js
    shipped = ["candidater/index.html", "theme/css/form.css", "theme/js/form.js"]
    assert size == sum(os.path.getsize(os.path.join(site.output, f)) for f in shipped)


def pages_over_the_floor(site) -> dict[str, tuple[int, int]]:
    pages = site.pages()
    assert "candidater/index.html" in pages and len(pages) > 10
    weights = {page_path: weight(site, page_path) for page_path in pages}
    return {path: (size, requests) for path, (size, requests) in weights.items()
            if size > MAX_BYTES or requests > MAX_REQUESTS}


def test_every_page_but_the_form_page_stays_under_the_weight_floor(site):
    over = pages_over_the_floor(site)
    over.pop("candidater/index.html", None)
    assert not over, f"over {MAX_BYTES} bytes or {MAX_REQUESTS} requests: {over}"


def test_the_form_page_stays_under_the_weight_floor(site):
    assert "candidater/index.html" not in pages_over_the_floor(site)
