"""Fixtures for the collector's tests: a real Flask app on a scratch data folder.

`store_kind` says where the app keeps its data: "folder" (the data folder) unless a module
parametrises it with STORE_KINDS, which runs its tests on PostgreSQL too (a fresh database
per test, from tests/conftest.py's throwaway cluster)."""

from __future__ import annotations

import pytest

from collector import appstate, create_app
from tests.conftest import STORE_KINDS  # noqa: F401 - re-exported for the modules that run on both stores
from tests.support.payloads import form_hidden_fields

OPEN_NOW = "2021-04-15T10:00:00"


@pytest.fixture
def make_app(data_dir, store_config):
    """create_app on the test's data folder and store; every app made is closed at the end."""
    made = []

    def make(**config):
        app = create_app({"DATA_DIR": data_dir, **store_config, **config})
        made.append(app)
        return app

    yield make
    for app in made:
        appstate.close(app)


def stored_records(app) -> list[dict]:
    """Every record the app's store holds, by reference."""
    store = appstate.store(app)
    return [store.read_record(reference) for reference in store.references()]


@pytest.fixture
def app(make_app, monkeypatch):
    monkeypatch.setenv("AMI_NOW", OPEN_NOW)
    monkeypatch.setenv("COLLECTOR_COOKIE_SECURE", "0")
    return make_app(MIN_FILL_SECONDS=0, RATE_LIMIT=(10_000, 600), SECRET_KEY="clé de test")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def form(app):
    return app.config["FORM"]


def fresh_hidden(client) -> dict[str, str]:
    """The hidden fields of a freshly served form page."""
    return form_hidden_fields(client.get("/candidater/").text)
