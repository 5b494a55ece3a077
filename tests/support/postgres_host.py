"""One collector host on the test's PostgreSQL database, its app made by create_app as
gunicorn's workers make it (its own data folder, its own connection pool): for the tests that
play another host's writes against it with their own connections."""

from __future__ import annotations

import pytest

from collector import appstate, create_app

SECRET = "one-postgres-host-secret"


@pytest.fixture
def host(data_dir, database_url, monkeypatch):
    """The host's app at 15 April 2021 (the call open), without SMTP (mails wait in the outbox)."""
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
                      "RATE_LIMIT": (10_000, 600)})
    yield app
    appstate.store(app).close()
