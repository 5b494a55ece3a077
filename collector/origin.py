"""Cross-site posts: refuse a browser post made from another site's page.

Browsers say where a request comes from (`Origin`, `Sec-Fetch-Site`). A post whose
Origin is neither the site's own (COLLECTOR_PUBLIC_URL, COLLECTOR_ALLOWED_ORIGINS, or
the host it was sent to) nor absent is refused. A client that sends neither header (a
script, curl) is not a browser being tricked, and is let through.
"""

from __future__ import annotations

from collections.abc import Collection

from flask import Request


def is_cross_site(request: Request, allowed_origins: Collection[str]) -> bool:
    """True when a browser tells us this post comes from a page of another site."""
    origin = request.headers.get("Origin")
    if origin is not None:
        origin = origin.strip().lower()
        own = request.host_url.rstrip("/").lower()
        return origin not in allowed_origins and origin != own
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in {"same-origin", "none"}
    return False
