"""Fixtures of the review suite: the real app on a scratch data folder, records, a reviewer.

The app keeps its data in the data folder, unless a module parametrises `store_kind` with
STORE_KINDS (tests/conftest.py) to run its tests on PostgreSQL too."""

from __future__ import annotations

import re

import pytest

from collector import appstate
from collector.formdef import load_form

PASSWORD = "correct horse battery"
ENV = {
    "COLLECTOR_SECRET_KEY": "review-tests-secret",
    "COLLECTOR_COOKIE_SECURE": "0",
    "COLLECTOR_SMTP_HOST": "",
    "COLLECTOR_MIN_FILL_SECONDS": "0",
    "AMI_NOW": "2021-04-15T10:00:00",
}


@pytest.fixture
def form():
    return load_form()


@pytest.fixture
def review_env(data_dir, monkeypatch):
    """The collector's environment for one test (data in a fresh folder)."""
    monkeypatch.setenv("COLLECTOR_DATA_DIR", data_dir)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return {"COLLECTOR_DATA_DIR": data_dir, **ENV}


@pytest.fixture
def make_app(review_env, store_config):
    """create_app on the test's environment and store; every app made is closed at the end."""
    from collector import create_app

    made = []

    def make():
        application = create_app(dict(store_config) or None)
        application.config["TESTING"] = True
        made.append(application)
        return application

    yield make
    for application in made:
        appstate.close(application)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def make_reviewers(store_kind, data_dir, request):
    """Opens the accounts and login throttle of the test's store (a new store each time, as
    another worker or host would)."""
    from collector.stores.folder import FolderStore
    from collector.stores.postgres import PostgresStore

    opened = []

    def make():
        if store_kind == "postgres":
            store = PostgresStore(request.getfixturevalue("database_url"))
            store.pool.open()
            opened.append(store)
            return store.reviewers
        return FolderStore(data_dir).reviewers

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def reviewers(make_reviewers):
    return make_reviewers()


@pytest.fixture
def runner(app):
    """Runs `flask --app collector <command>` in-process (result.stdout / result.stderr apart)."""
    return app.test_cli_runner()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def test_store(store_kind, data_dir, request):
    """The test's store (the data folder, or the PostgreSQL database the app uses), opened apart
    from the app, as another host would: what a test writes or reads there is what the app keeps."""
    from tests.support.stores import store_opener

    store = store_opener(store_kind, data_dir, request)()
    yield store
    store.close()


@pytest.fixture
def put_records(test_store, form):
    """Writes `count` valid records AMI-2021-<start>… into the test's store; returns them."""
    from tests.review.factory import make_record

    def put(count: int, start: int = 1, **overrides):
        made = [make_record(form, number, **overrides) for number in range(start, start + count)]
        for record in made:
            assert test_store.write_record(record)
        return made

    return put


@pytest.fixture
def records(put_records):
    """Twelve valid records, AMI-2021-0001 … AMI-2021-0012, in the test's store."""
    return put_records(12)


@pytest.fixture
def reviewer(runner):
    result = runner.invoke(args=["create-user", "alice", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return "alice"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def login(client, name: str = "alice", password: str = PASSWORD):
    page = client.get("/instruction/connexion")
    return client.post("/instruction/connexion",
                       data={"csrf_token": csrf_of(page.text), "identifiant": name, "mot_de_passe": password})


@pytest.fixture
def logged_in(client, reviewer):
    response = login(client)
    assert response.status_code == 303, response.text
    return client
