"""deploy/postgresql.sql on a real server: the owner role upgrades the schema, the collector's
role reads, writes and purges rows through the app but cannot change or drop a table."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from collector import appstate, create_app
from tests.support.postgres import PASSWORD
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers

from .test_schema_and_startup import flask

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "postgresql.sql")
DATABASE = "ami_usages_numeriques"


@pytest.fixture(scope="module")
def deployed(postgres_cluster):
    """The script run once by the superuser, as the README says; (owner URL, collector URL)."""
    done = subprocess.run([os.path.join(postgres_cluster.bin_dir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                           "-v", "owner_password=mot de passe du propriétaire", "-v",
                           "collector_password=mot de passe du collecteur", "-f", SCRIPT,
                           postgres_cluster.url()], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PGPASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    owner = postgres_cluster.url(DATABASE, user="ami_owner", password="mot%20de%20passe%20du%20propri%C3%A9taire")
    collector = postgres_cluster.url(DATABASE, user="ami_collector",
                                     password="mot%20de%20passe%20du%20collecteur")
    assert flask("db-upgrade", url=owner).returncode == 0
    return owner, collector


def test_the_collectors_role_stores_submissions_through_the_app(deployed, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": deployed[1], "MIN_FILL_SECONDS": 0,
                      "RATE_LIMIT": (10_000, 600), "SECRET_KEY": "k"})
    try:
        client = app.test_client()
        hidden = form_hidden_fields(client.get("/candidater/").text)
        reply = client.post("/candidater/", data=encode_form(valid_answers(app.config["FORM"]), hidden),
                            content_type="application/x-www-form-urlencoded")
        assert reply.status_code == 303 and client.get("/healthz").status_code == 200
        assert appstate.store(app).references() == ["AMI-2021-0001"]
    finally:
        appstate.store(app).close()


@pytest.mark.parametrize("statement", ["DROP TABLE records", "ALTER TABLE records ADD COLUMN x int",
                                       "CREATE TABLE autre (x int)", "DROP SEQUENCE reference_number"])
def test_the_collectors_role_cannot_change_the_schema(deployed, statement):
    with psycopg.connect(deployed[1]) as connection, pytest.raises(psycopg.errors.InsufficientPrivilege):
        connection.execute(statement)


def test_the_collectors_role_never_waits_on_the_database_for_long(deployed):
    with psycopg.connect(deployed[1]) as connection:
        timeouts = connection.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
                                      "current_setting('idle_in_transaction_session_timeout')").fetchone()
    assert timeouts == ("10s", "5s", "30s")


def test_the_collectors_role_may_purge_an_old_dossier_entirely(deployed, data_dir, monkeypatch):
    from datetime import datetime

    from collector.statuses import PARIS, add_note
    from tests.review.factory import make_record

    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": deployed[1], "SECRET_KEY": "k"})
    try:
        store = appstate.store(app)
        old = make_record(app.config["FORM"], 900, when=datetime(2021, 3, 1, 10, tzinfo=PARIS))
        assert store.write_record(old)
        add_note(store, "AMI-2021-0900", "Dossier complet.", by="alice")
        result = app.test_cli_runner().invoke(args=["purge", "--today", "2024-03-15"])  # 36 months: before 15/03/2021
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("AMI-2021-0900 (reçue le 01/03/2021 10:00) supprimée")
        assert not store.has_record("AMI-2021-0900") and store.histories.read("AMI-2021-0900") is None
    finally:
        appstate.store(app).close()
