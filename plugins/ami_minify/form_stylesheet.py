"""The form page's stylesheet: site.css without its section for the reading pages.

The form page is the site's heaviest (its HTML, its stylesheet and form.js under the 20 KB
floor), and no state of it uses the rules of the call's reading pages (figures, calendar,
legal facts, news). theme/static/css/site.css keeps those rules in one section between two
marker comments; the build writes <THEME_STATIC_DIR>/css/form.css as that source without the
section, then minifies it with the others. One readable source for both stylesheets: a rule
edited in site.css outside the section is in form.css at the next build."""

from __future__ import annotations

import os

BEGIN = "/* -- Reading pages only: begin --"
END = "/* -- Reading pages only: end -- */"
SOURCE, DERIVED = "site.css", "form.css"


class StylesheetError(ValueError):
    """The site stylesheet's reading pages' section is missing or not marked once."""


def without_reading_section(css: str) -> str:
    """The stylesheet without the text from its BEGIN marker to its END marker (both included)."""
    start, end = css.find(BEGIN), css.find(END)
    if css.count(BEGIN) != 1 or css.count(END) != 1 or end < start:
        raise StylesheetError(f"{SOURCE} : la section des pages de lecture doit commencer une fois par "
                              f"« {BEGIN} » et finir une fois, plus loin, par « {END} ».")
    return css[:start] + css[end + len(END):].lstrip("\n")


def write_form_stylesheet(source_folder: str, output_folder: str) -> str:
    """Write output_folder/form.css from source_folder/site.css (the readable source); its path."""
    with open(os.path.join(source_folder, SOURCE), encoding="utf-8") as handle:
        form_css = without_reading_section(handle.read())
    path = os.path.join(output_folder, DERIVED)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(form_css)
    return path
