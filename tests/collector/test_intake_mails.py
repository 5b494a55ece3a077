"""A stored record's two mails (the porteur's acknowledgement, the Région's notification), on
both stores: on PostgreSQL the intake queues them in the record's own transaction, so no
record is ever stored without them; on the data folder the web worker only writes the record
and the mailer composes its mails (its catch-up, `reconcile`, when it missed the record)."""

from __future__ import annotations

import psycopg
import pytest

from collector import appstate
from collector.mail.delivery import MailSettings
from tests.support.payloads import encode_form, valid_answers

from .conftest import STORE_KINDS, fresh_hidden, stored_records

NAMES = {"AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml"}
ON_POSTGRESQL = pytest.mark.parametrize("store_kind", ["postgres"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def post(client, form, hidden=None):
    return client.post("/candidater/", data=encode_form(valid_answers(form), hidden or fresh_hidden(client)),
                       content_type="application/x-www-form-urlencoded")


def test_every_stored_record_gets_its_two_mails_once_on_either_store(app, client, form, store_kind):
    assert post(client, form).status_code == 303
    outbox = appstate.store(app).outbox
    queued_by_the_intake = outbox.known_names()
    assert queued_by_the_intake == (NAMES if store_kind == "postgres" else set())
    caught_up = outbox.reconcile(app.config["FACTS"], form, MailSettings())  # the mailer's catch-up
    assert set(caught_up) == NAMES - queued_by_the_intake
    assert outbox.known_names() == NAMES and outbox.pending_count() == 2
    assert outbox.reconcile(app.config["FACTS"], form, MailSettings()) == []


@ON_POSTGRESQL
def test_on_postgresql_the_mails_are_queued_with_the_record_for_their_recipients(app, client, form, database_url):
    assert post(client, form).status_code == 303
    with psycopg.connect(database_url) as connection:
        rows = dict(connection.execute("SELECT name, recipient FROM outbox").fetchall())
        dossier = connection.execute("SELECT count(*) FROM records").fetchone()[0]
    assert dossier == 1
    assert rows == {"AMI-2021-0001.accuse.eml": "camille.lefevre@example.org",
                    "AMI-2021-0001.notification.eml": app.config["FACTS"]["contacts"]["notification_email"]}


@ON_POSTGRESQL
def test_on_postgresql_when_the_mails_cannot_be_stored_the_record_is_not_either_and_a_retry_stores_both(
        app, client, form, database_url):
    with psycopg.connect(database_url) as connection:  # fault injection: the outbox's insert fails (disk full)
        connection.execute("CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'disque plein' USING ERRCODE = 'disk_full'; END $$")
        connection.execute("CREATE TRIGGER full_disk BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION full_disk()")
    hidden = fresh_hidden(client)
    refused = post(client, form, hidden)
    assert refused.status_code == 503 and "indisponible" in refused.text
    assert stored_records(app) == [] and appstate.store(app).outbox.known_names() == set()
    with psycopg.connect(database_url) as connection:
        connection.execute("DROP TRIGGER full_disk ON outbox")
    assert post(client, form, hidden).status_code == 303  # the person sends the same page again
    [record] = stored_records(app)  # AMI-2021-0002: the failed post's number is the gap the issue allows
    assert appstate.store(app).outbox.known_names() == {f"{record['reference']}.accuse.eml",
                                                        f"{record['reference']}.notification.eml"}


@ON_POSTGRESQL
def test_on_postgresql_a_record_whose_mails_cannot_be_composed_is_stored_and_caught_up_later(
        app, client, form, monkeypatch, caplog):
    monkeypatch.setenv("COLLECTOR_SMTP_PORT", "vingt-cinq")  # a settings mistake must never refuse a valid post
    assert post(client, form).status_code == 303
    outbox = appstate.store(app).outbox
    assert outbox.known_names() == set() and "could not compose the mails of AMI-2021-0001" in caplog.text
    assert set(outbox.reconcile(app.config["FACTS"], form, MailSettings())) == NAMES


def test_send_mail_sends_a_stored_records_two_mails_once_on_either_store(app, client, form, monkeypatch):
    from tests.review.smtp import smtp_server

    assert post(client, form).status_code == 303
    with smtp_server() as inbox:
        monkeypatch.setenv("COLLECTOR_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("COLLECTOR_SMTP_PORT", str(inbox.port))
        first = app.test_cli_runner().invoke(args=["send-mail"])
        again = app.test_cli_runner().invoke(args=["send-mail"])
        received = inbox.wait_for(2)
    assert first.exit_code == 0 and "2 envoyé(s), 0 en attente, 0 refusé(s)." in first.output, first.output
    assert again.exit_code == 0 and "0 envoyé(s)" in again.output
    assert sorted(item.message["X-AMI-Reference"] + " " + item.recipients[0] for item in received) == sorted([
        "AMI-2021-0001 camille.lefevre@example.org",
        "AMI-2021-0001 " + app.config["FACTS"]["contacts"]["notification_email"]])
