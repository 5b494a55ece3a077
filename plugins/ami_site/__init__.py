"""The site's own Pelican plugin: the call's facts and phase in every template, and the
generated files that come from them (calendar.ics, sitemap.xml, robots.txt)."""

from .plugin import register

__all__ = ["register"]
