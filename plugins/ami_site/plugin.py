"""Signal wiring: fill the shared context before any template renders; stable feed ids; write
files at the end."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from pelican import signals

from collector.facts import FactsError
from collector.template_filters import nbsp_fr
from collector.phase import NowError

from .calendar_ics import build_calendar, ics_name
from .context import build_context, warn_unconfirmed
from .feed_ids import stable_ids
from .sitemap import build_robots, build_sitemap, page_paths

logger = logging.getLogger(__name__)

ICS_FOLDER = "calendrier"


def autoreloading(argv: list[str] = sys.argv) -> bool:
    """True under `pelican -r` (`make devserver`): a rebuild error must not end the watcher."""
    return any(arg == "--autoreload" or (arg.startswith("-") and not arg.startswith("--") and "r" in arg)
               for arg in argv[1:])


def add_context(generator: Any) -> None:
    """All generators share one context dict: the first one fills it for the whole build."""
    context = generator.context
    if "ami" in context:
        return
    try:
        context.update(build_context(generator.settings))
    except (FactsError, NowError) as error:
        if autoreloading():  # the watcher logs it, without traceback, and waits for a fix
            raise type(error)(f"Erreur dans les données de l'AMI : {error}") from None
        # SystemExit, not an exception: Pelican would print a traceback for the latter.
        logger.error("Erreur dans les données de l'AMI : %s", error)
        raise SystemExit(1) from None
    context["ics_url"] = f"{ICS_FOLDER}/{ics_name(context['ami'])}"
    warn_unconfirmed(context["ami"])


def french_spacing(content: Any) -> None:
    """No-break spaces of French typography in every page's and article's Markdown output."""
    if getattr(content, "_content", None):
        content._content = nbsp_fr(content._content)


def public_base_url(settings: dict[str, Any], facts: dict[str, Any]) -> str:
    """SITEURL when publishing; the site's declared address in development (sitemaps need one)."""
    return settings.get("SITEURL") or facts["site"]["url"]


def _write(output_path: str, relative: str, data: bytes) -> None:
    path = os.path.join(output_path, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def write_outputs(pelican: Any) -> None:
    """After every page is written: the .ics, sitemap.xml and robots.txt."""
    facts = build_context(pelican.settings)["ami"]
    output = pelican.output_path
    base = public_base_url(pelican.settings, facts)
    _write(output, f"{ICS_FOLDER}/{ics_name(facts)}", build_calendar(facts))
    _write(output, "sitemap.xml", build_sitemap(base, page_paths(output)).encode())
    _write(output, "robots.txt", build_robots(base).encode())


def register() -> None:
    signals.generator_init.connect(add_context)
    signals.content_object_init.connect(french_spacing)
    signals.feed_generated.connect(stable_ids)
    signals.finalized.connect(write_outputs)
