"""The login throttle's promises, with a controllable clock: 5 failures within 15 minutes of the
first lock a (name, client) pair out for exactly 15 minutes; a success forgets the pair; counts
are never lost between workers; rows expire; the cost does not depend on the number of pairs.

The rules hold on both stores (the data folder's sqlite database, PostgreSQL's table), through
`store.reviewers`; the tests of the sqlite file itself say so by fixing `store_kind`."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3

import psycopg
import pytest

from collector.review import throttle
from collector.stores.folder_reviewers import FolderReviewers
from tests.conftest import STORE_KINDS
from tests.review.conftest import login

SECRET = "clé de test"
T0 = 1_700_000_000.0
ON_THE_DATA_FOLDER = pytest.mark.parametrize("store_kind", ["folder"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def fail(reviewers, at, name="alice", address="192.0.2.1"):
    return reviewers.record_failure(SECRET, name, address, now=at)


def locked(reviewers, at, name="alice", address="192.0.2.1"):
    return reviewers.locked_for(SECRET, name, address, now=at)


def stored_pairs(reviewers) -> int:
    """How many pairs the store holds."""
    if isinstance(reviewers, FolderReviewers):
        return sqlite3.connect(throttle.database_path(reviewers.data_dir)).execute(
            "SELECT count(*) FROM failures").fetchone()[0]
    with psycopg.connect(reviewers.store.url) as connection:
        return connection.execute("SELECT count(*) FROM login_failures").fetchone()[0]


def test_the_limit_is_five_failures_exactly(reviewers):
    assert [fail(reviewers, T0 + i) for i in range(4)] == [0, 0, 0, 0]
    assert locked(reviewers, T0 + 4) == 0
    assert fail(reviewers, T0 + 4) == 15 * 60
    assert locked(reviewers, T0 + 4) == 15 * 60


def test_the_window_is_fifteen_minutes_from_the_first_failure_exactly(reviewers):
    for i in range(4):
        fail(reviewers, T0 + i)
    assert fail(reviewers, T0 + 15 * 60 - 0.5) == 15 * 60  # the 5th, still within the window
    for i in range(4):
        fail(reviewers, T0 + i, name="bob")
    assert fail(reviewers, T0 + 15 * 60, name="bob") == 0  # the window is over: this failure starts a new count
    assert locked(reviewers, T0 + 15 * 60, name="bob") == 0


def test_the_lockout_lasts_fifteen_minutes_exactly(reviewers):
    for i in range(5):
        fail(reviewers, T0 + i)
    locked_at = T0 + 4
    assert locked(reviewers, locked_at + 15 * 60 - 0.5) == 1
    assert locked(reviewers, locked_at + 15 * 60) == 0
    assert fail(reviewers, locked_at + 15 * 60) == 0  # afterwards, a new count of five starts


def test_a_failure_let_through_before_a_lockout_began_never_lifts_it(reviewers):
    """Two attempts checked at once: the 5th locks, the 6th (already past the check) must not unlock."""
    for i in range(5):
        fail(reviewers, T0 + i)
    assert fail(reviewers, T0 + 5) == 15 * 60 - 1  # what is left of the lockout, not 0
    assert locked(reviewers, T0 + 6) == 15 * 60 - 2


def test_a_successful_login_forgets_the_failures(reviewers):
    for i in range(4):
        fail(reviewers, T0 + i)
    reviewers.record_success(SECRET, "alice", "192.0.2.1")
    assert [fail(reviewers, T0 + 10 + i) for i in range(4)] == [0, 0, 0, 0]
    assert fail(reviewers, T0 + 20) == 15 * 60


def test_pairs_are_counted_apart_and_an_ipv6_slash_64_is_one_client(reviewers):
    for i in range(4):
        fail(reviewers, T0 + i, address=f"2001:db8:1:2::{i + 1}")
    assert fail(reviewers, T0 + 5, name="bob", address="2001:db8:1:2::9") == 0
    assert fail(reviewers, T0 + 5, address="2001:db8:1:3::1") == 0
    assert fail(reviewers, T0 + 6, address="2001:db8:1:2:ffff::1") == 15 * 60
    assert locked(reviewers, T0 + 7, name="ALICE", address="2001:db8:1:2::abcd") > 0
    assert locked(reviewers, T0 + 7, address="192.0.2.1") == 0


def _fail_at_once(make_reviewers, barrier, at):
    reviewers = make_reviewers()  # this process's own connection, as another worker or host has
    barrier.wait()
    fail(reviewers, at)


@pytest.mark.parametrize("workers, expected_lock", [(4, 0), (5, 15 * 60)])
def test_concurrent_failures_from_several_workers_are_all_counted(make_reviewers, workers, expected_lock):
    reviewers = make_reviewers()
    reviewers.locked_for(SECRET, "x", "y")  # create the database before the race
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    processes = [context.Process(target=_fail_at_once, args=(make_reviewers, barrier, T0 + i / 10))
                 for i in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert locked(reviewers, T0 + 1) in ({0} if not expected_lock else set(range(899, 901)))


def test_expired_pairs_are_deleted(reviewers):
    for i in range(50):
        fail(reviewers, T0, name=f"compte{i}")
    for i in range(5):
        fail(reviewers, T0 + i, name="locked")
    assert stored_pairs(reviewers) == 51
    fail(reviewers, T0 + 15 * 60 + 1, name="later")  # the window of the 50 is over, the lockout is not
    assert stored_pairs(reviewers) == 2
    fail(reviewers, T0 + 4 + 15 * 60 + 1, name="even-later")
    assert stored_pairs(reviewers) == 2


def test_an_attempt_reads_one_row_by_its_index(data_dir):
    throttle.record_failure(data_dir, SECRET, "alice", "192.0.2.1", now=T0)
    connection = sqlite3.connect(throttle.database_path(data_dir))
    for query in ("SELECT until FROM failures WHERE pair = ?", "DELETE FROM failures WHERE expires < ?"):
        plan = " ".join(row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + query, ("x",)))
        assert "USING" in plan and "INDEX" in plan, plan


@ON_THE_DATA_FOLDER
def test_an_unusable_throttle_database_refuses_logins_in_french(app, client, reviewer, data_dir):
    os.makedirs(f"{data_dir}/state", exist_ok=True)
    with open(throttle.database_path(data_dir), "wb") as handle:
        handle.write(b"not a database " * 100)
    response = login(client)
    assert response.status_code == 503
    assert "La connexion est momentanément impossible" in response.get_data(as_text=True)
    assert client.get("/candidater/").status_code == 200  # the public form does not depend on it
