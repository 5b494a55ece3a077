"""On PostgreSQL, `purge` (or `purge --reference`, an erasure request) run through one host
while another host writes to the same dossier: whatever reaches the store after the purge
committed stores nothing, so no row of the erased dossier outlives it (a version, a history,
a submission id, a mail), rows that no later purge could find since it looks for records.

The race is played for real: the purge's own statements (its lock and its DELETEs, as
stores/postgres_retention.py runs them) are held in one transaction while the porteur's
correction, its checks passed (the record was there), waits for the history's lock; the purge
commits, the correction goes on."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import psycopg
import pytest

from collector import appstate, meetings
from collector.dossier import write_to_porteur
from collector.porteur.links import dossier_path
from collector.records import serialise_record
from collector.statuses import PARIS, add_note, history_change
from collector.statuses import NoRecord
from collector.stores.postgres_retention import DOSSIER_TABLES, HISTORY_LOCK
from tests.review.factory import make_record
from tests.support.postgres_host import SECRET, host  # noqa: F401 - host: a fixture
from tests.support.payloads import form_hidden_fields

REFERENCE = "AMI-2021-0001"




@pytest.fixture
def record(host):
    stored = make_record(host.config["FORM"], 1)
    assert appstate.store(host).write_record(stored)
    return stored


def rows_of(url: str, reference: str) -> dict[str, int]:
    """How many rows each table holding dossiers keeps of `reference`."""
    with psycopg.connect(url) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table} WHERE reference = %s",  # noqa: S608
                                          (reference,)).fetchone()[0] for table in DOSSIER_TABLES}


NOTHING = dict.fromkeys(DOSSIER_TABLES, 0)


def purge_now(url: str, reference: str) -> None:
    """The purge of one dossier, as postgres_retention.py makes it: one transaction, committed."""
    with psycopg.connect(url) as connection:
        connection.execute(HISTORY_LOCK, (reference,))
        for table in DOSSIER_TABLES:
            connection.execute(f"DELETE FROM {table} WHERE reference = %s", (reference,))  # noqa: S608


def wait_for_a_waiter_on_the_history_lock(connection: psycopg.Connection) -> None:
    """Until another session waits for an advisory lock (the history's: the correction is on its way)."""
    for _ in range(600):
        if connection.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                              ).fetchone()[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the correction never reached the history's lock")


def post_while_purged(client, database_url: str, path: str, data: dict):
    """Post `data` to `path` in a thread; once the post waits for the history's lock, which the
    purge holds, the purge deletes the dossier and commits; the post's response."""
    answered = {}
    with psycopg.connect(database_url) as purge:  # the purge's transaction, through another host
        purge.execute(HISTORY_LOCK, (REFERENCE,))
        post = threading.Thread(target=lambda: answered.setdefault("response", client.post(path, data=data)))
        post.start()
        with psycopg.connect(database_url, autocommit=True) as watcher:
            wait_for_a_waiter_on_the_history_lock(watcher)
        for table in DOSSIER_TABLES:
            purge.execute(f"DELETE FROM {table} WHERE reference = %s", (REFERENCE,))  # noqa: S608
    post.join(timeout=60)
    return answered["response"]


def test_a_correction_whose_dossier_is_purged_while_it_waits_for_the_lock_stores_nothing(host, record,
                                                                                         database_url):
    client = host.test_client()
    path = dossier_path(SECRET, REFERENCE, "corriger")
    page = client.get(path)
    answers = {**record["answers"], "rgpd": "oui", "projet_titre": "Titre corrigé"}
    response = post_while_purged(client, database_url, path, {**answers, **form_hidden_fields(page.text)})
    assert response.status_code == 404, "the dossier is gone: the link opens nothing, as for an unknown dossier"
    assert "Traceback" not in response.text
    assert rows_of(database_url, REFERENCE) == NOTHING, "no version, history, id or mail of an erased dossier"


def test_a_reply_whose_dossier_is_purged_while_it_waits_for_the_lock_stores_nothing(host, record, database_url):
    write_to_porteur(appstate.store(host), REFERENCE, "Pouvez-vous préciser le budget ?", by="alice")
    client = host.test_client()
    response = post_while_purged(client, database_url, dossier_path(SECRET, REFERENCE, "repondre"),
                                 {"message": "Voici le budget.", "id_envoi": "reponsePendantLaPurge123"})
    assert response.status_code == 404, "the dossier is gone: the link opens nothing, as for an unknown dossier"
    assert rows_of(database_url, REFERENCE) == NOTHING


def test_a_meeting_choice_whose_dossier_is_purged_while_it_waits_for_the_lock_stores_nothing(host, record,
                                                                                             database_url):
    when = datetime(2021, 4, 20, 10, tzinfo=PARIS)
    meetings.propose(appstate.store(host), REFERENCE, [meetings.Slot(when, 60, "Caen", "Alice")], by="alice", now=when)
    client = host.test_client()
    response = post_while_purged(client, database_url, dossier_path(SECRET, REFERENCE, "rencontre/1"), {"choix": "1"})
    assert response.status_code == 404, "the dossier is gone: the link opens nothing, as for an unknown dossier"
    assert rows_of(database_url, REFERENCE) == NOTHING


def test_an_event_appended_after_its_dossier_was_purged_is_refused_and_stores_nothing(host, record,
                                                                                      database_url):
    store = appstate.store(host)
    purge_now(database_url, REFERENCE)
    with pytest.raises(NoRecord, match="Aucune candidature ne porte la référence AMI-2021-0001"):
        store.histories.append(REFERENCE, history_change(
            REFERENCE, {"at": "2021-04-20T10:00:00+02:00", "by": "alice", "kind": "lien_revoque", "version": 1}))
    assert rows_of(database_url, REFERENCE) == NOTHING


def test_a_version_written_after_its_dossier_was_purged_is_refused_and_stores_nothing(host, record,
                                                                                     database_url):
    store = appstate.store(host)
    purge_now(database_url, REFERENCE)
    with pytest.raises(NoRecord, match="Aucune candidature ne porte la référence AMI-2021-0001"):
        store.versions.write(REFERENCE, 2, serialise_record({**record, "version": 2}))
    assert rows_of(database_url, REFERENCE) == NOTHING


def test_a_note_on_a_dossier_still_stored_is_kept(host, record, database_url):
    add_note(appstate.store(host), REFERENCE, "Dossier complet.", by="alice")
    assert rows_of(database_url, REFERENCE)["histories"] == 1
