"""Atom ids that are valid and stable in every build (development, staging, production).

Pelican derives an entry's id from SITEURL, which is empty in development (`tag:None,…`)
and differs on a staging copy. The ids here derive from the call's own address
(`site.url` in ami.yaml) and the article's path and date only; links are absolute too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

FEED_PATH = "/actualites/"


def stable_ids(context: Mapping[str, Any], feed: Any) -> None:
    """Rewrite the feed's and its entries' ids and links (Pelican's `feed_generated` signal)."""
    facts = context["ami"]
    canonical = facts["site"]["url"].rstrip("/")
    host = urlsplit(canonical).hostname
    base = (context.get("SITEURL") or canonical).rstrip("/")
    feed.feed["id"] = f"tag:{host},{facts['call']['edition']}:{FEED_PATH}"
    feed.feed["link"] = base + FEED_PATH
    for item in feed.items:
        path = "/" + urlsplit(item["link"]).path.lstrip("/")
        item["link"] = base + path
        item["unique_id"] = f"tag:{host},{item['pubdate']:%Y-%m-%d}:{path}"
