"""Fixtures for the collector's tests: a real Flask app on a scratch data folder."""

from __future__ import annotations

import pytest

from collector import create_app
from tests.support.payloads import form_hidden_fields

OPEN_NOW = "2021-04-15T10:00:00"


@pytest.fixture
def app(data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", OPEN_NOW)
    monkeypatch.setenv("COLLECTOR_COOKIE_SECURE", "0")
    return create_app({"DATA_DIR": data_dir, "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (10_000, 600),
                       "SECRET_KEY": "clé de test"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def form(app):
    return app.config["FORM"]


def fresh_hidden(client) -> dict[str, str]:
    """The hidden fields of a freshly served form page."""
    return form_hidden_fields(client.get("/candidater/").text)
