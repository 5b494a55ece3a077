"""A WSGI application that fails on every request, for gunicorn's own 500 page (tests/collector/test_gunicorn_edges.py)."""

from __future__ import annotations


def app(environ, start_response):  # noqa: ARG001 - the WSGI signature
    raise RuntimeError("an application that fails before answering")
