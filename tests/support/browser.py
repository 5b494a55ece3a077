"""Debian's Chromium driven by Playwright, with every request off loopback recorded and refused."""

from __future__ import annotations

from urllib.parse import urlsplit

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def is_loopback(url: str) -> bool:
    """True for URLs that stay on this machine (and for data: / blob: / about: URLs)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS


def guard_network(context, outside: list[str]) -> None:
    """Abort every request that would leave loopback, and remember its URL in `outside`."""

    def route(route_obj):
        url = route_obj.request.url
        if is_loopback(url):
            route_obj.continue_()
        else:
            outside.append(url)
            route_obj.abort()

    context.route("**/*", route)
