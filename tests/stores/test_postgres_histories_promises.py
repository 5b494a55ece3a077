"""collector/stores/postgres_histories.py keeps its promises on a real PostgreSQL: two appends to one
history at once both keep their event (the second waits for the first's lock), and migrate-store's
copy of the histories and versions (`import_histories`) is kept only when each document reads back
with its hash, the histories and the versions each on their own."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from collector.formdef import load_form
from collector.stores.postgres import PostgresStore
from collector.stores.postgres_histories import import_histories
from tests.review.factory import make_record

HISTORIES = [("AMI-2021-0001", "recu", b"reference: AMI-2021-0001\nstatus: recu\n"),
             ("AMI-2021-0002", "complet", b"reference: AMI-2021-0002\nstatus: complet\n")]
VERSIONS = [("AMI-2021-0002", 2, b"reference: AMI-2021-0002\nversion: 2\n"),
            ("AMI-2021-0002", 3, b"reference: AMI-2021-0002\nversion: 3\n")]


def adding(event: str):
    """A history change that appends `event` to what it reads."""
    return lambda history: {"status": "recu", "events": [*(history or {}).get("events", []), event]}


def someone_waits_for_a_lock(url: str) -> bool:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0


def test_two_appends_to_one_history_at_once_keep_both_events(database_url):
    """While the first append is inside its transaction, a second one (another host's store)
    starts: it must wait for the first's commit, then read its event; none is lost."""
    first, second = PostgresStore.open_checked(database_url), PostgresStore.open_checked(database_url)
    assert first.write_record(make_record(load_form(), 1))  # a history belongs to a stored dossier
    other = threading.Thread(target=lambda: second.histories.append("AMI-2021-0001", adding("second")))

    def first_change(history):
        other.start()
        while other.is_alive() and not someone_waits_for_a_lock(database_url):
            time.sleep(0.05)
        return adding("first")(history)

    try:
        first.histories.append("AMI-2021-0001", first_change)
        other.join(30)
        assert first.histories.read("AMI-2021-0001")["events"] == ["first", "second"]
    finally:
        first.close()
        second.close()


def imported(database_url: str, garbling: str = "", table: str = "") -> bool:
    """import_histories in a transaction rolled back afterwards, with `garbling` (a trigger's
    body) run before each row inserted into `table`."""
    with psycopg.connect(database_url) as connection:
        if garbling:
            connection.execute(f"CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {garbling} END $$;"
                               f"CREATE TRIGGER garble BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION garble()")
        try:
            return import_histories(connection, HISTORIES, VERSIONS)
        finally:
            connection.rollback()


def test_a_copy_that_reads_back_the_same_is_kept(database_url):
    assert imported(database_url) is True


@pytest.mark.parametrize("table, garbling", [
    ("histories", "IF NEW.reference = 'AMI-2021-0002' THEN RETURN NULL; END IF; RETURN NEW;"),  # one lost
    ("histories", "NEW.document_sha256 = md5(NEW.document); RETURN NEW;"),  # another hash kept
    ("versions", "IF NEW.number = 3 THEN RETURN NULL; END IF; RETURN NEW;"),
    ("versions", "NEW.document_sha256 = md5(NEW.document); RETURN NEW;"),
])
def test_a_copy_whose_histories_or_versions_alone_do_not_read_back_is_refused(database_url, table, garbling):
    assert imported(database_url, garbling, table) is False
