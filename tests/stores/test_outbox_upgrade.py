"""Schema 0003 (the outbox) on a database that a collector of schema 2 filled: the upgrade keeps
every record, and the mailer's catch-up queues the mails of those records once (a collector of
schema 2 queued them in its host's data folder, where no mailer read them)."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg

from collector import appstate, create_app
from collector.mail.delivery import MailSettings
from collector.records import build_record
from collector.stores import schema
from collector.stores.postgres import PostgresStore
from tests.support.payloads import valid_answers


def test_a_schema_2_database_holding_records_is_upgraded_and_their_mails_are_queued_once(
        postgres_cluster, data_dir, monkeypatch):
    url = postgres_cluster.url(postgres_cluster.new_database())
    with psycopg.connect(url) as connection:
        assert [migration.version for migration in schema.upgrade(connection, target=2)] == [1, 2]
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    form = create_app({"DATA_DIR": data_dir}).config["FORM"]
    old = PostgresStore(url)  # what a collector of schema 2 wrote: records, and no outbox
    old.pool.open()
    for number in (1, 2):
        reference, _fresh = old.reference_for(f"id-{number}", "AMI-2021")
        assert old.write_record(build_record(reference, datetime(2021, 4, 15, 10, tzinfo=timezone.utc), form.version,
                                             valid_answers(form)))
    old.close()

    with psycopg.connect(url) as connection:
        assert [migration.name for migration in schema.upgrade(connection)][0] == "outbox"
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": url, "SECRET_KEY": "k"})
    try:
        store = appstate.store(app)
        assert store.references() == ["AMI-2021-0001", "AMI-2021-0002"]
        queued = store.outbox.reconcile(app.config["FACTS"], form, MailSettings())
        assert sorted(queued) == [f"AMI-2021-000{n}.{kind}.eml" for n in (1, 2) for kind in ("accuse", "notification")]
        assert store.outbox.reconcile(app.config["FACTS"], form, MailSettings()) == []
    finally:
        appstate.store(app).close()
