"""A porteur's post is stored as one unit (collector/stores/*_dossier_posts.py), on both stores:
the version, the history as `change` makes it from the stored one, and the submission id's
claim; a claimed id stores nothing (and `change` is not even asked); a taken version number
or a refusal of `change` stores nothing. On the data folder, a history that cannot be written
after its version is EventPending (the version kept), without a version a failure; an id that
cannot be remembered leaves the post stored. On PostgreSQL, one transaction under the
history's advisory lock: a failure anywhere stores nothing, and a post waits for that lock.
A post belongs to a stored dossier (its record is checked under the same lock): each test stores it first."""

from __future__ import annotations

import logging
import os
import threading

import psycopg
import pytest

from collector.formdef import load_form
from collector.stores.dossier_posts import EventPending
from collector.stores.postgres_histories import _LOCK
from tests.review.factory import make_record

from .test_outbox import store, store_kind  # noqa: F401 - fixtures: each test on both stores

REFERENCE = "AMI-2021-0001"
DOCUMENT = b"reference: AMI-2021-0001\nversion: 2\n"


class Refused(Exception):
    pass


@pytest.fixture(autouse=True)
def its_record(store):
    """The dossier the posts are about, stored as the intake stores it."""
    assert store.write_record(make_record(load_form(), 1))


def adding(kind: str, seen: list | None = None):
    """A `change` that appends an event of `kind` to the history it is given (noted in `seen`)."""
    def change(history):
        if seen is not None:
            seen.append(history)
        history = history or {"reference": REFERENCE, "status": "recu", "events": []}
        return {**history, "events": [*history["events"], {"kind": kind}]}

    return change


def refusing(history):
    raise Refused("corrections closed")


def stored(store) -> tuple[list[int], object]:
    return store.versions.numbers(REFERENCE), store.histories.read(REFERENCE)


def test_a_post_stores_its_version_its_history_and_its_claim_and_returns_the_history(store):
    seen = []
    history = store.dossier_posts.write(REFERENCE, adding("correction", seen), version=(2, DOCUMENT),
                                        submission_id="id-1")
    assert seen == [None], "the change is given the stored history: none yet"
    assert history == {"reference": REFERENCE, "status": "recu", "events": [{"kind": "correction"}]}
    assert stored(store) == ([2], history)
    assert store.versions.text(REFERENCE, 2) == DOCUMENT
    assert store.dossier_posts.claimed("id-1") == REFERENCE
    again = store.dossier_posts.write(REFERENCE, adding("reponse_porteur", seen), submission_id="id-2")
    assert seen[1] == history and again["events"] == [{"kind": "correction"}, {"kind": "reponse_porteur"}]
    assert stored(store) == ([2], again)


def test_a_post_whose_id_is_claimed_stores_nothing_and_its_change_is_not_asked(store):
    first = store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, DOCUMENT), submission_id="id-1")
    seen = []
    assert store.dossier_posts.write(REFERENCE, adding("correction", seen), version=(3, DOCUMENT),
                                     submission_id="id-1") is None
    assert seen == [] and stored(store) == ([2], first)


def test_a_post_without_an_id_claims_nothing(store):
    store.dossier_posts.write(REFERENCE, adding("reponse_porteur"))
    assert store.dossier_posts.claimed("") is None and store.dossier_posts.claimed("id-1") is None
    assert stored(store)[0] == []


def test_a_taken_version_number_stores_nothing_of_the_post(store):
    first = store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, DOCUMENT), submission_id="id-1")
    with pytest.raises(FileExistsError):
        store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, b"reference: autre\n"),
                                  submission_id="id-2")
    assert stored(store) == ([2], first) and store.versions.text(REFERENCE, 2) == DOCUMENT
    assert store.dossier_posts.claimed("id-2") is None


def test_a_post_its_change_refuses_stores_nothing(store):
    with pytest.raises(Refused):
        store.dossier_posts.write(REFERENCE, refusing, version=(2, DOCUMENT), submission_id="id-1")
    assert stored(store) == ([], None) and store.dossier_posts.claimed("id-1") is None


@pytest.mark.parametrize("store_kind", ["folder"])
def test_on_the_data_folder_a_history_not_written_after_its_version_is_an_event_pending(store, monkeypatch):
    def failing(_source, _target) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(EventPending, match="AMI-2021-0001: version 2 stored, event pending"):
        store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, DOCUMENT), submission_id="id-1")
    with pytest.raises(OSError) as refused:
        store.dossier_posts.write(REFERENCE, adding("reponse_porteur"), submission_id="id-2")
    assert not isinstance(refused.value, EventPending), "without a version, nothing is stored"
    monkeypatch.undo()
    assert stored(store) == ([2], None)
    assert store.dossier_posts.claimed("id-1") is None and store.dossier_posts.claimed("id-2") is None


@pytest.mark.parametrize("store_kind", ["folder"])
def test_on_the_data_folder_an_id_not_remembered_leaves_the_post_stored_and_says_so(store, monkeypatch, caplog):
    def failing(_target, _path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "symlink", failing)
    history = store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, DOCUMENT), submission_id="id-1")
    monkeypatch.undo()
    assert stored(store) == ([2], history) and store.dossier_posts.claimed("id-1") is None
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.ERROR, "submission id of a post on AMI-2021-0001 not remembered (OSError)")]


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_on_postgresql_an_id_that_cannot_be_claimed_stores_nothing_of_the_post(store, database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'refused'; END $$")
        connection.execute("CREATE TRIGGER refuse BEFORE INSERT ON submission_ids FOR EACH ROW "
                           "EXECUTE FUNCTION refuse()")
    with pytest.raises(psycopg.Error):
        store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, DOCUMENT), submission_id="id-1")
    assert stored(store) == ([], None)


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_on_postgresql_a_post_waits_for_the_historys_lock_and_then_reads_what_it_protected(store, database_url):
    results = []
    with psycopg.connect(database_url) as holder:  # another host's status change, under the same lock
        holder.execute(_LOCK, (REFERENCE,))
        holder.execute("INSERT INTO histories (reference, status, document, document_sha256) VALUES "
                       "(%s, 'en_analyse', %s, 'x')",
                       (REFERENCE, "reference: AMI-2021-0001\nstatus: en_analyse\nevents: []\n"))
        posting = threading.Thread(target=lambda: results.append(
            store.dossier_posts.write(REFERENCE, adding("correction"), version=(2, DOCUMENT), submission_id="id-1")))
        posting.start()
        posting.join(1.0)
        assert posting.is_alive() and results == [], "the post waits for the lock"
        holder.commit()
    posting.join(30)
    assert results == [{"reference": REFERENCE, "status": "en_analyse", "events": [{"kind": "correction"}]}]
