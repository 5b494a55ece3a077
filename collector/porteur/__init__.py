"""The porteur's pages after sending: the dossier (the receipt's signed link opens it),
corrections, and the lost-link request. All under /candidater/ (the path nginx proxies).

Porteurs have no account: the signed key of their link (links.py) is checked on every
page and every post; posts are also refused from another site (origin.py) and limited
per client. Templates: theme/templates/porteur/.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the porteur's pages."""
    from . import corrections, exchanges, lost_link, meeting_choice, same_browser, views

    views.init_app(app)
    same_browser.init_app(app)
    lost_link.init_app(app)
    corrections.init_app(app)
    exchanges.init_app(app)
    meeting_choice.init_app(app)
