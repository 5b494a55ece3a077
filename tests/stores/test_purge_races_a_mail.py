"""A dossier's mail queued in the very instant of its purge (`purge --reference`, an erasure), on
both stores: the mailer's catch-up or a reply notice read the dossier before the purge and queue
its mail after. The queueing checks the record under the lock the purge holds (the history's:
a flock on the data folder, an advisory lock in PostgreSQL): either the mail is queued first
and the purge removes it, or the purge comes first and nothing is queued. Never a mail, its
memory or a lock file left behind with the reference of a purged dossier.

The interleavings are real: the queueing waits on a lock the test holds while the purge runs
in a thread (the outbox's queue flock on the data folder, an uncommitted insertion of the same
mail's name in PostgreSQL), or waits behind the purge on the history's lock."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import psycopg
import pytest

from collector import appstate, statuses
from collector.dossier import write_to_porteur
from collector.mail import delivery, lifecycle
from collector.mail.catch_up import catch_up
from collector.statuses import NoRecord
from tests.review.factory import make_record

from .test_purge import make_host, store_kind  # noqa: F401 - fixtures: each test on both stores
from .test_purge_races_an_append import advisory_waiters, flock_waiters, run_behind_the_purge, wait_until

REFERENCE = "AMI-2021-0001"
# What a mailer's pass queues, each with the first name it queues: the mails of the history's events
# (mail/catch_up.py; the reviewer's message to the porteur is its first event), and the
# acknowledgement and notification of a record stored without them (the store's `reconcile`).
PASSES = {
    "the lifecycle catch-up": (lambda store, app, settings: catch_up(store, app.config["FACTS"], app.config["FORM"],
                                                                     settings), f"{REFERENCE}.message-1.eml"),
    "the acknowledgements' catch-up": (lambda store, app, settings: store.outbox.reconcile(
        app.config["FACTS"], app.config["FORM"], settings), f"{REFERENCE}.accuse.eml"),
}


@pytest.fixture
def host(make_host):
    app = make_host()
    store = appstate.store(app)
    assert store.write_record(make_record(app.config["FORM"], 1))
    write_to_porteur(store, REFERENCE, "Pouvez-vous préciser le budget ?", by="alice")  # its mail left unqueued
    return app


def left_of(store, data_dir: str) -> dict:
    """Whatever the store still keeps under the purged reference: mails, their names, its lock file."""
    return {"names": sorted(name for name in store.outbox.known_names() if name.startswith(REFERENCE + ".")),
            "record": store.has_record(REFERENCE), "history": store.histories.text(REFERENCE),
            "lock file": os.path.exists(os.path.join(data_dir, statuses.LOCKS_DIR, f"review-{REFERENCE}.lock"))}


NOTHING = {"names": [], "record": False, "history": None, "lock file": False}


def transaction_waiters(url: str) -> int:
    """Sessions waiting for another transaction to end (an insertion of a name another one holds)."""
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
                                  ).fetchone()[0]


@contextmanager
def queueing_held(store_kind: str, data_dir: str, request, name: str) -> Iterator[tuple]:
    """Hold the last step of the queueing of `name`: yields `queue_waits()`, which returns once
    the queueing waits on the test, and `purge_waits()`, true once the purge waits for the
    queueing (on the history's lock or the outbox's). Leaving the block lets the queueing go on."""
    if store_kind == "folder":
        folder = os.path.join(data_dir, delivery.LOCK_FOLDER)
        os.makedirs(folder, exist_ok=True)
        queue_lock = os.path.join(folder, delivery.QUEUE_LOCK)
        with delivery._queue_lock(data_dir):
            history_lock = os.path.join(data_dir, statuses.LOCKS_DIR, f"review-{REFERENCE}.lock")
            yield (lambda: wait_until(lambda: flock_waiters(queue_lock) == 1, "the mail waits on the queue lock"),
                   lambda: (os.path.exists(history_lock) and flock_waiters(history_lock) == 1)
                   or flock_waiters(queue_lock) == 2)
        return
    url = request.getfixturevalue("database_url")
    with psycopg.connect(url) as holder:  # the same name, inserted and not committed: an insertion waits on it
        holder.execute("INSERT INTO outbox (name, reference, recipient, raw) VALUES (%s, %s, 'a@exemple.fr', "
                       "''::bytea)", (name, REFERENCE))
        yield (lambda: wait_until(lambda: transaction_waiters(url) == 1, "the mail waits on the test"),
               lambda: advisory_waiters(url) == 1)
        holder.rollback()


@pytest.mark.parametrize("mailer_pass", PASSES, ids=list(PASSES))
def test_a_caught_up_mail_waiting_while_its_dossier_is_erased_is_not_left_behind(host, store_kind, data_dir,
                                                                                 request, mailer_pass):
    store = appstate.store(host)
    queued: dict[str, list[str]] = {}
    run, held = PASSES[mailer_pass]

    def catch_up_pass() -> None:
        with host.app_context():
            queued["names"] = run(store, host, lifecycle.settings())

    def erase() -> None:
        with host.app_context():
            queued["purge"] = host.test_cli_runner().invoke(args=["purge", "--reference", REFERENCE]).output

    mailer, purge = threading.Thread(target=catch_up_pass), threading.Thread(target=erase)
    with queueing_held(store_kind, data_dir, request, held) as (queue_waits, purge_waits):
        mailer.start()
        queue_waits()
        purge.start()
        wait_until(lambda: not purge.is_alive() or purge_waits(), "the purge ends or waits for the mail")
    mailer.join(30)
    purge.join(30)
    assert "supprimée(s) à la demande" in queued["purge"], queued["purge"]
    assert left_of(store, data_dir) == NOTHING


def message(name: str) -> EmailMessage:
    composed = EmailMessage()
    composed["Subject"], composed["From"], composed["To"] = name, "ami@example.org", "contact1@exemple.fr"
    composed.set_content("Votre dossier AMI-2021-0001.\n")
    return composed


def test_a_mail_queued_behind_the_purge_of_its_dossier_is_refused_and_leaves_nothing(host, store_kind, data_dir,
                                                                                    request, monkeypatch):
    store = appstate.store(host)
    outcome: dict[str, object] = {}

    def queue_notice() -> None:  # as a reply notice does, its event read before the purge
        try:
            outcome["queued"] = lifecycle.queue(store, REFERENCE, "reponse-porteur-2", message("reponse"),
                                                "contact1@exemple.fr")
        except NoRecord as error:
            outcome["refused"] = str(error)

    run_behind_the_purge(store, store_kind, data_dir, request, monkeypatch, queue_notice)
    assert outcome == {"refused": f"Aucune candidature ne porte la référence {REFERENCE}."}
    assert left_of(store, data_dir) == NOTHING
