"""Fixtures of the porteur's pages: the real app on a scratch data folder, with records.

The app keeps its data in the data folder, or in PostgreSQL in a module that parametrises
`store_kind` with STORE_KINDS; `kept` is its store, and `records` are written through it."""

from __future__ import annotations

import os

import pytest

from collector import appstate, create_app
from collector.porteur.links import dossier_path
from tests.review.conftest import PASSWORD, csrf_of, login
from tests.review.factory import make_record

SECRET = "porteur-tests-secret"
OPEN_NOW = "2021-04-15T10:00:00"
CLOSED_NOW = "2021-06-10T10:00:00"


@pytest.fixture
def app(data_dir, monkeypatch, store_config):
    monkeypatch.setenv("AMI_NOW", OPEN_NOW)
    monkeypatch.setenv("COLLECTOR_COOKIE_SECURE", "0")
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    application = create_app({"DATA_DIR": data_dir, "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (10_000, 600),
                              "SECRET_KEY": SECRET, **store_config})
    application.config["TESTING"] = True
    yield application
    appstate.close(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def form(app):
    return app.config["FORM"]


@pytest.fixture
def kept(app):
    """The app's store: the data folder or PostgreSQL (`store_kind`)."""
    return appstate.store(app)


@pytest.fixture
def records(kept, form):
    """Three valid records, AMI-2021-0001 … AMI-2021-0003, in the app's store."""
    made = [make_record(form, number) for number in range(1, 4)]
    for record in made:
        assert kept.write_record(record)
    return made


def link(reference: str, action: str = "") -> str:
    return dossier_path(SECRET, reference, action)


def outbox(where) -> list[str]:
    """The names of the messages waiting in the outbox of `where`: a data folder's path (its
    `outbox/`), or a store (the data folder's or PostgreSQL's outbox, which every mailer sends from)."""
    if isinstance(where, str):
        folder = os.path.join(where, "outbox")
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return sorted(message.name for message in where.outbox.messages() if message.state == "waiting")


def waiting_message(where, name: str) -> bytes:
    """The bytes of one message waiting in the outbox of `where` (a data folder's path or a
    store): the envelope line, then the message."""
    if isinstance(where, str):
        with open(os.path.join(where, "outbox", name), "rb") as handle:
            return handle.read()
    [raw] = [message.raw for message in where.outbox.messages() if message.name == name and message.state == "waiting"]
    return raw


@pytest.fixture
def reviewer(app):
    """A client logged in to the review pages as alice."""
    result = app.test_cli_runner().invoke(args=["create-user", "alice", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert login(client).status_code == 303
    return client


def review_post(reviewer, reference: str, path: str, **fields):
    """POST to /instruction/<reference>/<path> with the CSRF token of the detail page."""
    token = csrf_of(reviewer.get(f"/instruction/{reference}").text)
    return reviewer.post(f"/instruction/{reference}/{path}", data={"csrf_token": token, **fields})
