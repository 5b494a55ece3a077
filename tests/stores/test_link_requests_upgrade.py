"""Schema 0006 (the lost-link requests) on a database that a collector of schema 5 filled: the
upgrade keeps the records, their corrected versions and the rate counts, and the lost link then
works on them (the request kept in the database, the newest version's contact mailed)."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg

from collector import appstate, create_app
from collector.mail import lifecycle
from collector.link_requests import handle_requests
from collector.records import build_record, serialise_record
from collector.stores import schema
from collector.stores.postgres import PostgresStore
from tests.support.payloads import valid_answers


def test_a_schema_5_database_holding_dossiers_is_upgraded_and_the_lost_link_works_on_them(
        postgres_cluster, data_dir, monkeypatch):
    url = postgres_cluster.url(postgres_cluster.new_database())
    with psycopg.connect(url) as connection:
        assert [migration.version for migration in schema.upgrade(connection, target=5)] == [1, 2, 3, 4, 5]
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    form = create_app({"DATA_DIR": data_dir}).config["FORM"]
    old = PostgresStore(url)  # what a collector of schema 5 wrote
    old.pool.open()
    received = datetime(2021, 4, 15, 10, tzinfo=timezone.utc)
    for number in (1, 2):
        reference, _fresh = old.reference_for(f"id-{number}", "AMI-2021")
        answers = {**valid_answers(form), "contact_email": f"porteur{number}@asso.fr"}
        assert old.write_record(build_record(reference, received, form.version, answers))
    moved = build_record("AMI-2021-0001", received, form.version, {**valid_answers(form), "contact_email": "neuf@asso.fr"})
    old.versions.write("AMI-2021-0001", 2, serialise_record(moved))
    assert old.rate_limiter("envoi", 20, 600, "k").hit("192.0.2.1") is None
    old.close()

    with psycopg.connect(url) as connection:
        applied = schema.upgrade(connection)
        assert applied[0].name == "link_requests" and applied[-1].version == schema.code_version()
        assert connection.execute("SELECT count(*) FROM rate_hits").fetchone() == (1,)
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": url, "SECRET_KEY": "k"})
    try:
        store = appstate.store(app)
        assert store.references() == ["AMI-2021-0001", "AMI-2021-0002"]
        assert store.versions.numbers("AMI-2021-0001") == [2]
        client = app.test_client()
        for typed in ("neuf@asso.fr", "porteur1@asso.fr", "porteur2@asso.fr"):
            assert client.post("/candidater/dossier-perdu/", data={"contact_email": typed}).status_code == 200
        assert len(store.link_requests.waiting()) == 3
        with app.app_context():
            queued = handle_requests(store, app.config["FACTS"], lifecycle.settings())
        assert queued == 2, "the newest contact of AMI-2021-0001 and AMI-2021-0002's; porteur1 no longer"
        assert store.link_requests.waiting() == []
        recipients = sorted(item.recipient for item in store.outbox.messages() if ".lien-" in item.name)
        assert recipients == ["neuf@asso.fr", "porteur2@asso.fr"]
    finally:
        appstate.store(app).close()
