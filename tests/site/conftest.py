"""Fixtures for the site suite: the full build inside the open phase (`site`, tests/conftest.py),
served on loopback."""

from __future__ import annotations

import pytest

from .sitebuild import static_server


@pytest.fixture(scope="session")
def site_url(site) -> str:
    """The built site served by a loopback static server."""
    with static_server(site.output) as url:
        yield url
