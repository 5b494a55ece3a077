"""On PostgreSQL, a dossier's link revoked through one host (`revoke-link`) while the holder of
the old link posts a correction through another: the correction passed the link's check before
the revocation committed, then waited for the history's lock. It must store nothing: stored, it
could move the contact to the old link's holder, and its acknowledgement would carry the NEW
link (porteur_mail signs at the current generation) to that address, undoing the revocation.

The race is played for real: the revocation's event is written under the history's lock (as
postgres_histories.append does) while the correction waits for that lock, then committed."""

from __future__ import annotations

import threading

import psycopg

from collector import appstate, dossier
from collector.porteur.links import dossier_path
from collector.porteur.revocation import REVOKED
from collector.statuses import history_change
from collector.stores.postgres_histories import _LOCK as HISTORY_LOCK
from collector.stores.postgres_histories import write_history_row
from tests.review.factory import make_record
from tests.support.postgres_host import SECRET, host  # noqa: F401 - host: a fixture
from tests.support.payloads import form_hidden_fields

from .test_purge_meets_a_write import wait_for_a_waiter_on_the_history_lock

REFERENCE = "AMI-2021-0001"
STRANGER = "quelquun.dautre@example.net"




def test_a_correction_through_the_old_link_waiting_while_the_link_is_revoked_stores_nothing(host, database_url):
    store = appstate.store(host)
    record = make_record(host.config["FORM"], 1)
    assert store.write_record(record)
    client = host.test_client()
    old_link = dossier_path(SECRET, REFERENCE, "corriger")
    page = client.get(old_link)
    answers = {**record["answers"], "rgpd": "oui", "contact_email": STRANGER}
    answered = {}
    revocation = {"at": "2021-04-15T10:00:00+02:00", "by": "alice", "kind": REVOKED, "version": 1}
    with psycopg.connect(database_url) as revoking:  # revoke-link's append, through the other host
        revoking.execute(HISTORY_LOCK, (REFERENCE,))
        post = threading.Thread(target=lambda: answered.setdefault(
            "response", client.post(old_link, data={**answers, **form_hidden_fields(page.text)})))
        post.start()
        with psycopg.connect(database_url, autocommit=True) as watcher:
            wait_for_a_waiter_on_the_history_lock(watcher)
        write_history_row(revoking, REFERENCE, history_change(REFERENCE, revocation)(None))
    post.join(timeout=60)
    response = answered["response"]
    assert response.status_code == 404, "the link was revoked: the same page as a wrong key"
    assert dossier.latest_record(store, REFERENCE)["answers"]["contact_email"] == record["answers"]["contact_email"]
    assert store.versions.numbers(REFERENCE) == []
    assert [name for name in store.outbox.known_names() if "-v2" in name] == [], "no mail, no new link sent"
