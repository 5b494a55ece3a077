"""« Lien de dossier perdu »: a request that stores nothing costs its address nothing, and a
request its limiter could not count gives back nothing, on both stores.

An address may have three requests a day. A request refused because MAX_WAITING requests wait, or
because the store could not write it (503 « Réessayez dans quelques minutes »), gets its count
back, so that three 503s never use up its day; but only when the limiter counted it: a limiter
whose store fails (a locked SQLite database, a PostgreSQL lock timeout) lets the post through
uncounted, and giving back then would free one of the address's earlier requests.

The faults are injected at the store's own calls: SQLite's connection and `os.link` into
link-requests/ on the data folder, psycopg's `execute` on PostgreSQL."""

from __future__ import annotations

import errno
import os
import sqlite3

import psycopg
import pytest

from collector import sqlite_files
from collector.link_requests import REQUESTS_DIR
from collector.porteur.lost_link import MAX_WAITING
from tests.conftest import STORE_KINDS

from .test_lost_link_cap_race import fill  # other addresses' requests, as other workers leave them

PAGE = "/candidater/dossier-perdu/"
ADDRESS = "victime@example.org"
FILLER = "quelquun"  # the address of the requests `fill` leaves waiting


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def ask(client) -> int:
    return client.post(PAGE, data={"contact_email": ADDRESS}).status_code


def empty_filler(store_kind: str, data_dir: str, request) -> None:
    """The mailer took the other addresses' requests up."""
    if store_kind == "folder":
        folder = os.path.join(data_dir, REQUESTS_DIR)
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                if FILLER in handle.read():
                    os.unlink(os.path.join(folder, name))
        return
    with psycopg.connect(request.getfixturevalue("database_url")) as connection:
        connection.execute("DELETE FROM link_requests WHERE address LIKE %s", (FILLER + "%",))


def address_count_not_counted(store_kind: str, app, monkeypatch, meanwhile) -> None:
    """The address limiter's store fails to count the next post (the post goes on uncounted);
    `meanwhile()` runs at that moment (what other workers do)."""
    if store_kind == "folder":
        class Locked(sqlite3.Connection):
            def execute(self, sql, *args):
                if sql.startswith("INSERT INTO hits"):
                    meanwhile()
                    raise sqlite3.OperationalError("database is locked")
                return super().execute(sql, *args)

        connect = sqlite3.connect
        monkeypatch.setattr(sqlite3, "connect", lambda *args, **kwargs: connect(*args, factory=Locked, **kwargs))
        # A fresh worker thread: a new connection (the kept one is back once the faults are undone).
        sqlite_files.cached("")  # this thread's kept connections exist, then are set aside for the test's span
        monkeypatch.setattr(sqlite_files._local, "connections", {})
        return
    execute = psycopg.Connection.execute

    def lock_timeout(self, query, params=None, *args, **kwargs):
        if str(query).startswith("INSERT INTO rate_hits") and params and params[0] == "lien-adresse":
            meanwhile()
            raise psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
        return execute(self, query, params, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", lock_timeout)


def writes_fail(store_kind: str, data_dir: str, monkeypatch) -> None:
    """The store cannot write a request: a full disk, a full PostgreSQL volume."""
    if store_kind == "folder":
        link, folder = os.link, os.path.join(data_dir, REQUESTS_DIR)

        def full(source, target, *args, **kwargs):
            if os.path.dirname(os.fspath(target)) == folder:
                raise OSError(errno.ENOSPC, "No space left on device")
            return link(source, target, *args, **kwargs)

        monkeypatch.setattr(os, "link", full)
        return
    execute = psycopg.Connection.execute

    def full(self, query, *args, **kwargs):
        if "INSERT INTO link_requests" in str(query):
            raise psycopg.errors.DiskFull("could not extend file: No space left on device")
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", full)


def test_a_request_refused_as_full_after_an_uncounted_hit_frees_none_of_the_address_earlier_requests(
        app, client, kept, data_dir, store_kind, request, monkeypatch):
    assert [ask(client), ask(client)] == [200, 200]  # two of the address's three a day
    with monkeypatch.context() as faults:
        address_count_not_counted(store_kind, app, faults,
                                  meanwhile=lambda: fill(store_kind, data_dir, request, MAX_WAITING))
        assert ask(client) == 503, "filled by others between the first count and the write"
    empty_filler(store_kind, data_dir, request)
    answers = [ask(client) for _ in range(3)]
    assert answers == [200] * 3, "the same answer within the limit and past it"
    assert len(kept.link_requests.waiting()) == 3, "three requests a day for one address, never four"


def test_requests_the_store_could_not_write_never_use_up_the_address_day(app, client, kept, data_dir, store_kind,
                                                                         monkeypatch):
    with monkeypatch.context() as faults:
        writes_fail(store_kind, data_dir, faults)
        replies = [client.post(PAGE, data={"contact_email": ADDRESS}) for _ in range(3)]
        assert [reply.status_code for reply in replies] == [503] * 3
        assert all("Réessayez dans quelques minutes" in reply.text for reply in replies)
    assert [ask(client) for _ in range(3)] == [200] * 3
    assert len(kept.link_requests.waiting()) == 3, "three 503s « Réessayez » spent the address's day"


def test_a_store_failure_after_an_uncounted_hit_frees_none_of_the_address_earlier_requests(
        app, client, kept, data_dir, store_kind, monkeypatch):
    assert [ask(client), ask(client), ask(client)] == [200] * 3  # the address's three a day
    with monkeypatch.context() as faults:
        address_count_not_counted(store_kind, app, faults, meanwhile=lambda: None)
        writes_fail(store_kind, data_dir, faults)
        assert ask(client) == 503
    assert ask(client) == 200 and len(kept.link_requests.waiting()) == 3, "a fourth request within the day"
