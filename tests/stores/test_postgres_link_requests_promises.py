"""The lost-link requests in PostgreSQL (store.link_requests, schema 0006), method by method, against
the table they write: a request is kept once `write` returns, a claim is one mailer's (FOR UPDATE
SKIP LOCKED), a handled request is deleted with its address in the claim's transaction, one a
mailer dropped (an error, a lost connection) waits again, and none is kept past MAX_AGE."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from collector.link_requests import MAX_AGE
from collector.stores.base import StoreUnavailable
from collector.stores.postgres import PostgresStore
from collector.stores.postgres_link_requests import narrowing_key
from tests.support.net import free_port


@pytest.fixture
def store(database_url):
    opened = PostgresStore.open_checked(database_url)
    yield opened
    opened.close()


def rows(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT id, address FROM link_requests ORDER BY made_at, id").fetchall()


def age(database_url: str, request_id: str, by: timedelta) -> None:
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE link_requests SET made_at = made_at - %s WHERE id = %s", (by, request_id))


def test_a_request_is_in_the_table_once_written_under_a_random_name(store, database_url):
    first = store.link_requests.write("camille@asso.fr")
    second = store.link_requests.write("camille@asso.fr")
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert rows(database_url) == [(first, "camille@asso.fr"), (second, "camille@asso.fr")]  # another connection
    assert store.link_requests.waiting() == [first, second]


def test_the_page_learns_whether_so_many_requests_wait_without_counting_them_all(store):
    assert not store.link_requests.waiting_at_least(1)
    for number in range(3):
        store.link_requests.write(f"personne{number}@asso.fr")
    assert store.link_requests.waiting_at_least(3) and store.link_requests.waiting_at_least(1)
    assert not store.link_requests.waiting_at_least(4)


def test_a_claimed_request_is_skipped_by_another_mailer_until_its_claim_ends(store, database_url):
    first = store.link_requests.write("un@asso.fr")
    second = store.link_requests.write("deux@asso.fr")
    other_host = PostgresStore.open_checked(database_url)
    try:
        with store.link_requests.claim() as mine:
            assert (mine.id, mine.address) == (first, "un@asso.fr")
            assert isinstance(mine.made, datetime) and mine.made.tzinfo is not None
            with other_host.link_requests.claim() as theirs:
                assert theirs.id == second, "the other mailer takes the next one"
                with other_host.link_requests.claim([second]) as none_left:
                    assert none_left is None, "the first is held, the second skipped"
        with other_host.link_requests.claim() as again:
            assert again.id == first, "a claim ended unhandled: the request waits again"
    finally:
        other_host.close()
    assert [row[0] for row in rows(database_url)] == [first, second]


def test_a_handled_request_is_deleted_with_its_address_when_the_claim_ends(store, database_url):
    kept = store.link_requests.write("garde@asso.fr")
    handled = store.link_requests.write("camille@asso.fr")
    with store.link_requests.claim([kept]) as claim:
        claim.handled = True
        assert len(rows(database_url)) == 2, "deleted when the claim's transaction commits, not before"
    assert rows(database_url) == [(kept, "garde@asso.fr")]


def test_a_failure_while_handling_leaves_the_request_waiting(store, database_url):
    request_id = store.link_requests.write("camille@asso.fr")
    with pytest.raises(OSError):
        with store.link_requests.claim() as claim:
            claim.handled = True
            raise OSError("disque plein")
    assert store.link_requests.waiting() == [request_id]


def test_a_mailer_whose_connection_ends_mid_claim_leaves_the_request_to_the_next(store, database_url):
    request_id = store.link_requests.write("camille@asso.fr")
    with pytest.raises(StoreUnavailable):
        with store.link_requests.claim() as claim:
            with psycopg.connect(database_url) as administrator:  # the claimant's backend, ended
                administrator.execute("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                      "WHERE relation = 'link_requests'::regclass AND mode = 'RowShareLock' "
                                      "AND pid <> pg_backend_pid()")
            claim.handled = True
    with store.link_requests.claim() as again:
        assert again.id == request_id


def test_requests_older_than_a_week_are_removed_unless_a_mailer_holds_them(store, database_url):
    old, held, recent = (store.link_requests.write(f"{name}@asso.fr") for name in ("ancien", "tenu", "recent"))
    for request_id in (old, held):
        age(database_url, request_id, MAX_AGE + timedelta(minutes=1))
    age(database_url, recent, MAX_AGE - timedelta(minutes=1))
    with store.link_requests.claim([old]) as claim:
        assert claim.id == held
        assert store.link_requests.remove_expired() == 1
    assert store.link_requests.waiting() == [held, recent]
    assert store.link_requests.remove_expired(datetime.now(timezone.utc) + timedelta(minutes=2)) == 2


def test_the_mailers_poll_sees_a_change_only_when_requests_wait_and_something_moved(store):
    watch = store.link_requests.watch()
    assert watch.changed() is False
    first = store.link_requests.write("camille@asso.fr")
    assert watch.changed() is True
    assert watch.changed() is False, "the same request still waiting (one the mailer could not handle)"
    store.link_requests.write("autre@asso.fr")
    assert watch.changed() is True
    with store.link_requests.claim([first]) as claim:
        claim.handled = True
    assert watch.changed() is True
    with store.link_requests.claim() as claim:
        claim.handled = True
    assert watch.changed() is False


def test_a_database_out_of_reach_refuses_the_request_and_the_poll_sees_nothing():
    store = PostgresStore(f"postgresql://ami_test:x@127.0.0.1:{free_port()}/ami", timeout=0.5)
    store.pool.open(wait=False)
    try:
        with pytest.raises(StoreUnavailable):
            store.link_requests.write("camille@asso.fr")
        assert store.link_requests.watch().changed() is False
    finally:
        store.close()


@pytest.mark.parametrize(("address", "key"), [
    ("Camille.Lefebvre@asso.fr", "lefebvre"),
    ("!Élo'die@asso.fr", "die"),
    ("%ñ@asso.fr", ""),
])
def test_the_search_is_narrowed_by_the_longest_ascii_run_of_the_local_part(address, key):
    assert narrowing_key(address) == key


def test_while_postgresql_is_down_the_page_answers_a_french_503_and_keeps_nothing(data_dir, database_url,
                                                                                 postgres_cluster, monkeypatch):
    from collector import appstate, create_app

    from .test_outage import wait_until_healthy

    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "DATABASE_TIMEOUT": 1.0,
                      "SECRET_KEY": "k"})
    client = app.test_client()
    try:
        postgres_cluster.stop()
        try:
            reply = client.post("/candidater/dossier-perdu/", data={"contact_email": "camille@asso.fr"})
        finally:
            postgres_cluster.start()
        assert reply.status_code == 503 and 'lang="fr"' in reply.text
        assert "n&#39;a pas pu être enregistrée" in reply.text and "aucun e-mail ne partira" in reply.text
        wait_until_healthy(client)
        assert appstate.store(app).link_requests.waiting() == []
    finally:
        appstate.store(app).close()


def test_a_record_written_in_another_layout_is_still_searched(store, database_url):
    """A document whose contact is not on the answers' usual line (another writer's indentation)
    is read all the same: the narrowing may only ever add candidates."""
    import yaml

    from collector.formdef import load_form
    from tests.review.factory import make_record

    record = make_record(load_form(), 1, contact_email="Camille@asso.fr")
    assert store.write_record(record)
    other_layout = yaml.safe_dump(record, allow_unicode=True, sort_keys=False, indent=4)
    assert "\n    contact_email: Camille@asso.fr" in other_layout
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE records SET document = %s", (other_layout,))
    assert store.link_requests.contacts("camille@ASSO.fr") == {"Camille@asso.fr": ["AMI-2021-0001"]}
    assert store.link_requests.contacts("autre@asso.fr") == {}
