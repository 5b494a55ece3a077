"""Security headers on every response the collector sends (pages, files, JSON).

The same policy stands in deploy/nginx for the files nginx serves itself. No inline
script or style anywhere, so the Content-Security-Policy needs no 'unsafe-inline'.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Add the headers to every response; HSTS too when COLLECTOR_HSTS is on (behind HTTPS).
    A header the response already has (a route's own policy) is left as it is."""
    wanted = list(HEADERS.items()) + ([("Strict-Transport-Security", HSTS)] if app.config.get("HSTS") else [])

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        # One pass over the response's headers: werkzeug's setdefault raises and catches a
        # KeyError for each missing name, a fifth of a bare request's time.
        present = {name.lower() for name in response.headers.keys()}
        response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response
