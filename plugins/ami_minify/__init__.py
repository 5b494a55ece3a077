"""Minified CSS and JavaScript in the built site: theme/static/ keeps the readable sources,
the build writes compact copies into output/<THEME_STATIC_DIR>/."""

from .plugin import register

__all__ = ["register"]
