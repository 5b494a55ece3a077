"""French bodies for redirects.

Werkzeug's redirect (Flask's `redirect`, and the routing's own, /instruction → /instruction/)
carries an English HTML body, « Redirecting… ». Browsers follow the Location header without
showing it, but curl, a proxy's log or a browser that does not follow shows it: every redirect
of the collector gets a short French body with the link instead.
"""

from __future__ import annotations

from flask import Flask, Response
from markupsafe import escape

REDIRECTS = frozenset({301, 302, 303, 307, 308})
BODY = ('<!doctype html>\n<html lang="fr">\n<meta charset="utf-8">\n<title>Redirection</title>\n'
        '<p>La suite est à cette adresse : <a href="{location}">{location}</a></p>\n')


def french_body(response: Response) -> Response:
    """The redirect's body in French (other responses as they are). The routing's own redirect comes
    as a WSGI body (streamed): it is replaced all the same, being only werkzeug's English page."""
    if response.status_code in REDIRECTS and response.location:
        response.set_data(BODY.format(location=escape(response.location)))
        response.mimetype = "text/html"
    return response


def init_app(app: Flask) -> None:
    app.after_request(french_body)
