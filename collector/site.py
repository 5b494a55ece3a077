"""Serving the built static site through Flask (COLLECTOR_SITE_DIR), for `make run` and tests.

In production nginx serves `output/` itself; here Flask does, so the security headers
apply and one port gives the whole site. Folders answer with their index.html; a path
that matches nothing gets the site's own 404 page with status 404.
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, redirect, send_from_directory
from werkzeug.security import safe_join

from .errors import MESSAGES, error_response, wants_json


def init_app(app: Flask, site_dir: str) -> None:
    @app.get("/", defaults={"path": ""}, endpoint="site_index")
    @app.get("/<path:path>", endpoint="site_file")
    def site_file(path: str) -> Response:
        full = safe_join(site_dir, path)
        if full is None:
            abort(404)
        if os.path.isdir(full):
            if path and not path.endswith("/"):
                return redirect("/" + path + "/", 308)
            path = (path + "index.html") if path else "index.html"
            full = os.path.join(full, "index.html")
        if not os.path.isfile(full):
            abort(404)
        return send_from_directory(site_dir, path, max_age=0)

    @app.errorhandler(404)
    def not_found(error: Exception) -> Response:
        page = os.path.join(site_dir, "404.html")
        if not wants_json() and os.path.isfile(page):
            with open(page, "rb") as handle:
                return Response(handle.read(), status=404, mimetype="text/html")
        return error_response(404, MESSAGES[404])
