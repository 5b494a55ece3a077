"""Fixtures of the review suite: the real app on a scratch data folder, records, a reviewer."""

from __future__ import annotations

import re

import pytest

from collector.formdef import load_form
from tests.review.factory import write_records

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
def app(review_env):
    from collector import create_app

    application = create_app()
    application.config["TESTING"] = True
    return application


@pytest.fixture
def runner(app):
    """Runs `flask --app collector <command>` in-process (result.stdout / result.stderr apart)."""
    return app.test_cli_runner()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def records(data_dir, form):
    """Twelve valid records, AMI-2021-0001 … AMI-2021-0012."""
    return write_records(data_dir, 12, form)


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
