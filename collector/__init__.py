"""The collector: a small Flask application that receives the AMI's form, and the domain it shares with the site.

Production command: gunicorn "collector:create_app()" (configuration from COLLECTOR_*
environment variables, see collector/config.py and the README). The factory lives in app.py;
this package's own import loads nothing, so the domain modules the site's build reads (facts.py,
formdef.py, records.py, phase.py, letters.py, template_filters.py) come without Flask
(tests/core/test_domain_layout.py).
"""

from __future__ import annotations

from . import deferred_patterns  # noqa: F401  first: before any module imports marshmallow or yaml (commands, site, app)

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the collector from the environment (or `test_config`, which overrides it): app.py."""
    from .app import create_app as build

    return build(test_config)
