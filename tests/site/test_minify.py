"""The build ships minified CSS and JavaScript (plugins/ami_minify); theme/static/ keeps the sources."""

from __future__ import annotations

import logging
import os
import sys

import pytest

from .sitebuild import REPO_ROOT

sys.path.insert(0, os.path.join(REPO_ROOT, "plugins"))
_LOGGER_CLASS = logging.getLoggerClass()
from ami_minify.form_stylesheet import StylesheetError, without_reading_section  # noqa: E402
from ami_minify.plugin import inline_constants, minify_css, minify_js  # noqa: E402

# Importing pelican (the plugin's signals) makes every logger created afterwards in this process one
# that drops a message it already logged (pelican.log's LimitFilter): a later test of this session
# would miss the collector's second « discarded: honeypot ». Pelican's own builds run in a process of
# their own (sitebuild.py); here, loggers are put back as they were.
logging.setLoggerClass(_LOGGER_CLASS)
logging.getLogger().__class__ = logging.RootLogger

SOURCES = {"theme/css/site.css": "theme/static/css/site.css", "theme/css/review.css": "theme/static/css/review.css",
           "theme/css/collector.css": "theme/static/css/collector.css", "theme/css/form.css": "theme/static/css/site.css",
           "theme/js/form.js": "theme/static/js/form.js"}


def source(relative: str) -> str:
    with open(os.path.join(REPO_ROOT, relative), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("built, original", SOURCES.items())
def test_the_built_files_are_minified_copies_of_the_readable_sources(site, built, original):
    shipped, readable = site.read(built), source(original)
    first_comment = readable[2:readable.index("*/")].strip()
    assert readable.startswith("/*") and readable.count("\n") > 10  # the source stays readable
    assert first_comment not in shipped and shipped.count("\n") < readable.count("\n") / 5
    assert len(shipped.encode()) < 0.9 * len(readable.encode())


def test_the_built_stylesheet_has_the_palette_written_out():
    built = minify_css(source("theme/static/css/site.css"))
    assert "var(" not in built and ":root" not in built
    assert "a{color:#123d72}" in built and ".error-message{color:#b3202a;font-weight:700}" in built


def test_the_review_stylesheet_gets_the_palette_of_the_site_stylesheet(site):
    review = site.read("theme/css/review.css")
    assert "var(" not in review and "thead th{background:#" in review
    assert "var(" not in site.read("theme/css/collector.css")


def test_a_palette_from_the_site_stylesheet_fills_in_a_stylesheet_that_declares_none():
    assert inline_constants("p{color:var(--a)}", {"--a": "#fff"}) == "p{color:#fff}"
    assert inline_constants("p{color:var(--b)}", {"--a": "#fff"}) == "p{color:var(--b)}"
    assert inline_constants(":root{--a:#000}p{color:var(--a)}", {"--a": "#fff"}) == "p{color:#000}"


@pytest.mark.parametrize("css, expected", [
    (":root{--a:#fff;--b:1px solid red}p{color:var(--a);border:var(--b)}", "p{color:#fff;border:1px solid red}"),
    (":root{--a:#fff;--ab:#000}p{color:var(--ab)}b{color:var(--a)}", "p{color:#000}b{color:#fff}"),
    # not plain constants: left as they are
    (":root{--a:#fff}.dark{--a:#000}p{color:var(--a)}", ":root{--a:#fff}.dark{--a:#000}p{color:var(--a)}"),
    (":root{--a:#fff}p{color:var(--b,red)}", ":root{--a:#fff}p{color:var(--b,red)}"),
    (":root{--a:#fff;--b:var(--a)}p{color:var(--b)}", ":root{--a:#fff;--b:var(--a)}p{color:var(--b)}"),
    ("p{color:red}", "p{color:red}"),
])
def test_only_constants_declared_once_in_root_are_written_out(css, expected):
    assert inline_constants(css) == expected


def test_the_script_minifier_shortens_local_names_but_keeps_global_and_property_names():
    built = minify_js("(() => { const answers = document.forms; answers.elementCount = 1; })();")
    assert "answers" not in built and "document.forms" in built and ".elementCount=1" in built


def test_the_form_stylesheet_is_the_site_stylesheet_without_the_reading_pages_rules(site):
    form, whole = site.read("theme/css/form.css"), site.read("theme/css/site.css")
    assert form.strip() == minify_css(without_reading_section(source("theme/static/css/site.css")))
    assert ".timeline" in whole and ".figures" in whole and ".to-confirm" in whole
    assert ".timeline" not in form and ".figures" not in form and ".to-confirm" not in form
    assert ".error-summary{" in form and ".contact-list li{" in form and "@media print" in form
    assert "var(" not in form and len(form) < len(whole) - 800


@pytest.mark.parametrize("css", [
    "a{}",  # no section
    "/* -- Reading pages only: begin -- */ b{} a{}",  # never closed
    "/* -- Reading pages only: end -- */ b{} /* -- Reading pages only: begin -- */",  # closed before it opens
    "/* -- Reading pages only: begin -- */ b{} /* -- Reading pages only: end -- */" * 2,  # twice
])
def test_a_site_stylesheet_without_one_well_marked_reading_section_stops_the_build(css):
    with pytest.raises(StylesheetError, match="section des pages de lecture"):
        without_reading_section(css)


def test_the_reading_section_goes_with_both_its_markers():
    css = "a{}\n/* -- Reading pages only: begin -- notes */\nb{}\n/* -- Reading pages only: end -- */\nc{}"
    assert without_reading_section(css) == "a{}\nc{}"
