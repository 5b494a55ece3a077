"""Schema 0004 (reviewer accounts and login throttle): a database of an older schema holding data
is upgraded to it and keeps that data, and the throttle's table holds keyed hashes only."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg

from collector import appstate, create_app
from collector.records import build_record
from collector.stores import schema
from collector.stores.postgres import PostgresStore
from tests.review.conftest import PASSWORD, login
from tests.stores.test_schema_and_startup import flask


def test_a_schema_2_database_holding_data_is_upgraded_and_accounts_then_work(postgres_cluster, data_dir,
                                                                           monkeypatch):
    url = postgres_cluster.url(postgres_cluster.new_database())
    with psycopg.connect(url) as connection:
        assert [migration.version for migration in schema.upgrade(connection, target=2)] == [1, 2]
    old = PostgresStore(url)  # what a collector of schema 2 wrote: a reference, an id, a record, a rate count
    old.pool.open()
    reference, _fresh = old.reference_for("id-de-envoi-ancien", "AMI-2021")
    record = build_record(reference, datetime(2021, 4, 15, 10, tzinfo=timezone.utc), 1, {"projet_titre": "Ancien"})
    assert old.write_record(record)
    assert old.rate_limiter("envoi", 20, 600, "k").hit("192.0.2.1") is None
    old.close()

    result = flask("db-upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert f"version 2 → {schema.code_version()} (" in result.stdout and "0004_reviewers" in result.stdout

    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": url, "SECRET_KEY": "k"})
    try:
        store = appstate.store(app)
        assert store.read_record("AMI-2021-0001") == record
        assert store.lookup_submission("id-de-envoi-ancien") == "AMI-2021-0001"
        created = app.test_cli_runner().invoke(args=["create-user", "alice", "--password-stdin"], input=PASSWORD + "\n")
        assert created.exit_code == 0, created.output
        assert login(app.test_client()).status_code == 303
    finally:
        appstate.store(app).close()


def test_the_throttle_table_holds_no_name_or_address(database_url, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "k"})
    try:
        assert login(app.test_client(), "alice", "un mauvais mot de passe").status_code == 401
    finally:
        appstate.store(app).close()
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT * FROM login_failures").fetchall()
    assert len(rows) == 1 and rows[0][1] == 1  # one pair, one failure
    assert "alice" not in str(rows) and "127.0.0.1" not in str(rows)
