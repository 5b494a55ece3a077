"""Once Pelican has written the site, minify the theme's CSS (rcssmin) and JavaScript (tdewolff's
minify, which also renames a function's local names) in place, before any pre-compression
(which runs on signals sent after `finalized`).

The CSS also gets its constants resolved: custom properties declared once in `:root` and
never redefined (the palette) are written out where used, and the `:root` rule dropped."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import Any

import minify
import rcssmin
from pelican import signals

from .form_stylesheet import SOURCE, write_form_stylesheet

logger = logging.getLogger(__name__)

_ROOT_RULE = re.compile(r":root\{([^{}]*)\}")
_DECLARATION = re.compile(r"^(--[\w-]+):(.+)$")


def root_constants(css: str) -> dict[str, str] | None:
    """The custom properties of a stylesheet's one `:root` rule of plain declarations, else None."""
    roots = _ROOT_RULE.findall(css)
    if len(roots) != 1:
        return None
    values = {}
    for declaration in filter(None, (part.strip() for part in roots[0].split(";"))):
        match = _DECLARATION.match(declaration)
        if not match or "var(" in match[2]:
            return None
        values[match[1]] = match[2].strip()
    return values


def inline_constants(css: str, palette: dict[str, str] | None = None) -> str:
    """Replace var(--name) by its value when every custom property is declared once, in one
    `:root` rule of plain declarations (this stylesheet's, or else `palette`: the site's,
    for a stylesheet that uses it without declaring it); anything else leaves it as it is."""
    own = root_constants(css)
    if own is None and _ROOT_RULE.search(css):
        return css
    values = own if own is not None else palette or {}
    body = _ROOT_RULE.sub("", css, count=1) if own is not None else css
    if not values or any(body.count(name + ":") for name in values):  # redefined somewhere: not a constant
        return css
    body = re.sub(r"var\((--[\w-]+)\)", lambda m: values.get(m[1], m[0]), body)
    return css if "var(" in body else body


def minify_css(source: str, palette: dict[str, str] | None = None) -> str:
    return inline_constants(rcssmin.cssmin(source), palette)


def minify_js(source: str) -> str:
    """Whitespace and comments out, local names shortened; global and property names kept."""
    return minify.string("application/javascript", source)


MINIFIERS: dict[str, Callable[..., str]] = {
    ".css": minify_css,
    ".js": minify_js,
}


def minify_file(path: str, *extra: Any) -> tuple[int, int]:
    """Rewrite one file minified (idempotent); its sizes in bytes before and after."""
    minify = MINIFIERS[os.path.splitext(path)[1]]
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    compact = minify(source, *extra).strip() + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(compact)
    return len(source.encode("utf-8")), len(compact.encode("utf-8"))


def site_palette(paths: list[str]) -> dict[str, str] | None:
    """The constants of the stylesheets among `paths` that declare a `:root`, when they all declare
    the same (site.css and form.css, derived from it); else None."""
    found = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            constants = root_constants(rcssmin.cssmin(handle.read()))
        if constants and constants not in found:
            found.append(constants)
    return found[0] if len(found) == 1 else None


def minify_folder(folder: str) -> list[tuple[str, int, int]]:
    """Minify every .css and .js file under folder; (path, before, after) for each."""
    paths = sorted(os.path.join(parent, name) for parent, _dirs, files in os.walk(folder)
                   for name in files if os.path.splitext(name)[1] in MINIFIERS)
    palette = site_palette([path for path in paths if path.endswith(".css")])
    done = []
    for path in paths:
        sizes = minify_file(path, palette) if path.endswith(".css") else minify_file(path)
        done.append((path, *sizes))
    return done


def minify_theme_static(pelican: Any) -> None:
    """Signal handler: write the form page's stylesheet (form_stylesheet.py), then minify
    output/<THEME_STATIC_DIR>/ (where theme/static/ was copied)."""
    settings, output = pelican.settings, pelican.settings["OUTPUT_PATH"]
    static = os.path.join(output, settings["THEME_STATIC_DIR"])
    sources = [os.path.join(settings["THEME"], path, "css") for path in settings["THEME_STATIC_PATHS"]]
    source = next((folder for folder in sources if os.path.isfile(os.path.join(folder, SOURCE))), None)
    if source:
        write_form_stylesheet(source, os.path.join(static, "css"))
    for path, before, after in minify_folder(static):
        logger.info("Minified %s: %d -> %d bytes", os.path.relpath(path, output), before, after)


def register() -> None:
    signals.finalized.connect(minify_theme_static)
