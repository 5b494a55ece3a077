"""The lost-link page's cap of MAX_WAITING waiting requests holds when two requests race at its
boundary, on both stores: the count and the write are one step (a flock on the data folder, a
transaction under an advisory lock on PostgreSQL), so one request is stored and the other gets
the French 503, never both.

The interleaving is real: MAX_WAITING - 1 requests wait; a first post, from its own thread, is
held inside its write (fault injection at `os.link` into link-requests/ on the data folder; after
its INSERT, before its commit, on PostgreSQL), and a second post comes meanwhile. Fixed, the
second waits on the writers' lock until the first is stored, then counts it and is refused;
a count that is not one step with the write lets it pass."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from collector.link_requests import REQUESTS_DIR
from collector.porteur.lost_link import MAX_WAITING
from tests.conftest import STORE_KINDS
from tests.stores.test_purge_races_an_append import advisory_waiters, flock_waiters, wait_until

from .test_lost_link import fill_waiting_requests

PAGE = "/candidater/dossier-perdu/"
FIRST, SECOND = "premier@example.org", "second@example.org"


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def fill(store_kind: str, data_dir: str, request, count: int) -> None:
    """`count` requests waiting for a mailer, as the page leaves them."""
    if store_kind == "folder":
        fill_waiting_requests(data_dir, count)
        return
    with psycopg.connect(request.getfixturevalue("database_url")) as connection:
        connection.execute("INSERT INTO link_requests (id, address) SELECT md5(number::text), "
                           "'quelquun' || number || '@example.org' FROM generate_series(1, %s) AS number", (count,))


@contextmanager
def first_write_held(store_kind: str, data_dir: str, request, monkeypatch) -> Iterator[tuple[Callable, Callable]]:
    """Hold the write of the request of the thread named "first" inside its store; yields
    `first_held()` (returns once it is held there) and `second_waits()` (true once another writer
    waits on the writers' lock). Leaving the block lets the first write go on."""
    held, go = threading.Event(), threading.Event()

    def hold() -> None:
        if threading.current_thread().name == "first" and not held.is_set():
            held.set()
            go.wait(30)

    if store_kind == "folder":
        link = os.link
        folder = os.path.join(data_dir, REQUESTS_DIR)

        def held_link(source, target, *args, **kwargs):  # the request's file, not yet under its name
            if os.path.dirname(str(target)) == folder:
                hold()
            return link(source, target, *args, **kwargs)

        monkeypatch.setattr(os, "link", held_link)
        lock = os.path.join(data_dir, "state", "link-requests.lock")
        second_waits = lambda: os.path.exists(lock) and flock_waiters(lock) == 1  # noqa: E731
    else:
        execute = psycopg.Connection.execute

        def held_execute(self, query, *args, **kwargs):  # the row inserted, its transaction not committed
            cursor = execute(self, query, *args, **kwargs)
            if str(query).startswith("INSERT INTO link_requests"):
                hold()
            return cursor

        monkeypatch.setattr(psycopg.Connection, "execute", held_execute)
        url = request.getfixturevalue("database_url")
        second_waits = lambda: advisory_waiters(url) == 1  # noqa: E731
    try:
        yield (lambda: wait_until(held.is_set, "the first request is held inside its write")), second_waits
    finally:
        go.set()


def waiting_count(kept) -> int:
    return len(kept.link_requests.waiting())


def race_for_the_last_place(app, store_kind: str, data_dir: str, request, monkeypatch) -> dict[str, int]:
    """MAX_WAITING - 1 requests wait; FIRST's post is held inside its write while SECOND's comes:
    {address: the page's status}."""
    fill(store_kind, data_dir, request, MAX_WAITING - 1)
    answers: dict[str, int] = {}

    def post(address: str) -> None:
        answers[address] = app.test_client().post(PAGE, data={"contact_email": address}).status_code

    first = threading.Thread(target=post, args=(FIRST,), name="first")
    second = threading.Thread(target=post, args=(SECOND,), name="second")
    with first_write_held(store_kind, data_dir, request, monkeypatch) as (first_held, second_waits):
        first.start()
        first_held()
        second.start()
        wait_until(lambda: not second.is_alive() or second_waits(), "the second request ends or waits")
    first.join(30)
    second.join(30)
    return answers


def mailer_took_them_all(store_kind: str, data_dir: str, request) -> None:
    """Empty the waiting requests, as a mailer's round would."""
    if store_kind == "folder":
        folder = os.path.join(data_dir, REQUESTS_DIR)
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        return
    with psycopg.connect(request.getfixturevalue("database_url")) as connection:
        connection.execute("DELETE FROM link_requests")


def test_two_requests_racing_for_the_last_place_never_both_pass_the_cap(app, records, kept, store_kind, data_dir,
                                                                       request, monkeypatch):
    assert race_for_the_last_place(app, store_kind, data_dir, request, monkeypatch) == {FIRST: 200, SECOND: 503}
    assert waiting_count(kept) == MAX_WAITING, "never more than the cap"


def test_the_request_refused_at_the_boundary_keeps_its_addresss_three_a_day(app, records, kept, store_kind,
                                                                            data_dir, request, monkeypatch):
    """Refused by the second count (the last place taken meanwhile), it costs its address nothing."""
    assert race_for_the_last_place(app, store_kind, data_dir, request, monkeypatch) == {FIRST: 200, SECOND: 503}
    mailer_took_them_all(store_kind, data_dir, request)
    client = app.test_client()
    assert [client.post(PAGE, data={"contact_email": SECOND}).status_code for _ in range(3)] == [200] * 3
    assert waiting_count(kept) == 3, "its three requests of the day were all stored"
