"""Fixtures for the site suite: one full build inside the open phase, shared by the session."""

from __future__ import annotations

import pytest

from .sitebuild import Build, build_site, static_server


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Build:
    """The site built once with AMI_NOW inside the open phase (15 April 2021, 10:00, Paris)."""
    build = build_site(str(tmp_path_factory.mktemp("site") / "output"))
    assert build.returncode == 0, build.log
    return build


@pytest.fixture(scope="session")
def site_url(site) -> str:
    """The built site served by a loopback static server."""
    with static_server(site.output) as url:
        yield url
