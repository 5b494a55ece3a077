"""On PostgreSQL, a lost-link request handled by one host's mailer while `revoke-link --contact`
runs through another: the mailer found the dossier under the address (the contact then), and
the revocation (a new version with the restored contact, then its event) committed before the
mailer read the link generation to sign. The mail must not carry the NEW link to the address
the revocation took the dossier away from: that address may be the one a leaked link moved the
contact to, and the revocation would be undone.

The race is played for real: the histories table is locked while the mailer composes (its read
of the link generation waits), the revocation's version and event are written, then committed."""

from __future__ import annotations

import threading

import psycopg

from collector import appstate
from collector.mail import lifecycle
from collector.dossier import CONTACT_SET_BY
from collector.link_requests import handle_requests
from collector.porteur.links import dossier_key
from collector.porteur.revocation import REVOKED
from collector.records import content_hash, serialise_record
from collector.statuses import history_change
from collector.stores.postgres import PostgresStore
from collector.stores.postgres_histories import write_history_row
from tests.review.factory import make_record
from tests.support.postgres_host import SECRET, host  # noqa: F401 - host: a fixture

REFERENCE = "AMI-2021-0001"
RESTORED = "porteur.legitime@example.org"




def wait_for_a_waiter_on_a_table_lock(connection: psycopg.Connection) -> None:
    for _ in range(600):
        if connection.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND NOT granted"
                              ).fetchone()[0]:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the mailer never read the histories")


def test_a_lost_link_composed_while_the_link_is_revoked_never_sends_the_new_link_to_the_old_contact(
        host, database_url):
    store = appstate.store(host)
    record = make_record(host.config["FORM"], 1)
    assert store.write_record(record)
    old_contact = record["answers"]["contact_email"]
    store.link_requests.write(old_contact)
    handled = {}

    def mailer() -> None:
        with host.app_context():
            handled["queued"] = handle_requests(store, host.config["FACTS"], lifecycle.settings())

    with psycopg.connect(database_url) as revoking:  # revoke-link --contact, through the other host
        revoking.execute("LOCK TABLE histories IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=mailer)
        thread.start()
        with psycopg.connect(database_url, autocommit=True) as watcher:
            wait_for_a_waiter_on_a_table_lock(watcher)
        answers = {**record["answers"], "contact_email": RESTORED}
        restored = {**record, "answers": answers, "content_hash": content_hash(answers), "version": 2,
                    "corrected_at": "2021-04-15T10:00:00+02:00", CONTACT_SET_BY: "alice"}
        other_host = PostgresStore.open_checked(database_url)
        try:
            other_host.versions.write(REFERENCE, 2, serialise_record(restored))  # the version first, committed
        finally:
            other_host.close()
        event = {"at": "2021-04-15T10:00:00+02:00", "by": "alice", "kind": REVOKED, "version": 2,
                 "previous_version": 1}
        write_history_row(revoking, REFERENCE, history_change(REFERENCE, event)(None))
    thread.join(timeout=60)
    assert "queued" in handled, "the mailer handled the request"
    new_key = dossier_key(SECRET, REFERENCE, 1)
    to_old_contact = [carried.raw for carried in store.outbox.messages() if ".lien-" in carried.name]
    assert not any(new_key.encode() in raw for raw in to_old_contact), \
        "the revoked contact's address never receives the new link"
