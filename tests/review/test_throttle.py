"""The login throttle's promises, with a controllable clock: 5 failures within 15 minutes of the
first lock a (name, client) pair out for exactly 15 minutes; a success forgets the pair; counts
are never lost between workers; rows expire; the cost does not depend on the number of pairs."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3

import pytest

from collector.review import throttle
from tests.review.conftest import login

SECRET = "clé de test"
T0 = 1_700_000_000.0


def fail(data_dir, at, name="alice", address="192.0.2.1"):
    return throttle.record_failure(data_dir, SECRET, name, address, now=at)


def locked(data_dir, at, name="alice", address="192.0.2.1"):
    return throttle.locked_for(data_dir, SECRET, name, address, now=at)


def test_the_limit_is_five_failures_exactly(data_dir):
    assert [fail(data_dir, T0 + i) for i in range(4)] == [0, 0, 0, 0]
    assert locked(data_dir, T0 + 4) == 0
    assert fail(data_dir, T0 + 4) == 15 * 60
    assert locked(data_dir, T0 + 4) == 15 * 60


def test_the_window_is_fifteen_minutes_from_the_first_failure_exactly(data_dir, tmp_path):
    for i in range(4):
        fail(data_dir, T0 + i)
    assert fail(data_dir, T0 + 15 * 60 - 0.5) == 15 * 60  # the 5th, still within the window
    other = str(tmp_path / "other")
    for i in range(4):
        fail(other, T0 + i)
    assert fail(other, T0 + 15 * 60) == 0  # the window is over: this failure starts a new count
    assert locked(other, T0 + 15 * 60) == 0


def test_the_lockout_lasts_fifteen_minutes_exactly(data_dir):
    for i in range(5):
        fail(data_dir, T0 + i)
    locked_at = T0 + 4
    assert locked(data_dir, locked_at + 15 * 60 - 0.5) == 1
    assert locked(data_dir, locked_at + 15 * 60) == 0
    assert fail(data_dir, locked_at + 15 * 60) == 0  # afterwards, a new count of five starts


def test_a_failure_let_through_before_a_lockout_began_never_lifts_it(data_dir):
    """Two attempts checked at once: the 5th locks, the 6th (already past the check) must not unlock."""
    for i in range(5):
        fail(data_dir, T0 + i)
    assert fail(data_dir, T0 + 5) == 15 * 60 - 1  # what is left of the lockout, not 0
    assert locked(data_dir, T0 + 6) == 15 * 60 - 2


def test_a_successful_login_forgets_the_failures(data_dir):
    for i in range(4):
        fail(data_dir, T0 + i)
    throttle.record_success(data_dir, SECRET, "alice", "192.0.2.1")
    assert [fail(data_dir, T0 + 10 + i) for i in range(4)] == [0, 0, 0, 0]
    assert fail(data_dir, T0 + 20) == 15 * 60


def test_pairs_are_counted_apart_and_an_ipv6_slash_64_is_one_client(data_dir):
    for i in range(4):
        fail(data_dir, T0 + i, address=f"2001:db8:1:2::{i + 1}")
    assert fail(data_dir, T0 + 5, name="bob", address="2001:db8:1:2::9") == 0
    assert fail(data_dir, T0 + 5, address="2001:db8:1:3::1") == 0
    assert fail(data_dir, T0 + 6, address="2001:db8:1:2:ffff::1") == 15 * 60
    assert locked(data_dir, T0 + 7, name="ALICE", address="2001:db8:1:2::abcd") > 0
    assert locked(data_dir, T0 + 7, address="192.0.2.1") == 0


def _fail_at_once(data_dir, barrier, at):
    barrier.wait()
    fail(data_dir, at)


@pytest.mark.parametrize("workers, expected_lock", [(4, 0), (5, 15 * 60)])
def test_concurrent_failures_from_several_workers_are_all_counted(data_dir, workers, expected_lock):
    throttle.locked_for(data_dir, SECRET, "x", "y")  # create the database before the race
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    processes = [context.Process(target=_fail_at_once, args=(data_dir, barrier, T0 + i / 10)) for i in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert locked(data_dir, T0 + 1) in ({0} if not expected_lock else set(range(899, 901)))


def test_expired_pairs_are_deleted(data_dir):
    for i in range(50):
        fail(data_dir, T0, name=f"compte{i}")
    for i in range(5):
        fail(data_dir, T0 + i, name="locked")
    path = throttle.database_path(data_dir)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM failures").fetchone() == (51,)
    fail(data_dir, T0 + 15 * 60 + 1, name="later")  # the window of the 50 is over, the lockout is not
    assert sqlite3.connect(path).execute("SELECT count(*) FROM failures").fetchone() == (2,)
    fail(data_dir, T0 + 4 + 15 * 60 + 1, name="even-later")
    assert sqlite3.connect(path).execute("SELECT count(*) FROM failures").fetchone() == (2,)


def test_an_attempt_reads_one_row_by_its_index(data_dir):
    fail(data_dir, T0)
    connection = sqlite3.connect(throttle.database_path(data_dir))
    for query in ("SELECT until FROM failures WHERE pair = ?", "DELETE FROM failures WHERE expires < ?"):
        plan = " ".join(row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + query, ("x",)))
        assert "USING" in plan and "INDEX" in plan, plan


def test_an_unusable_throttle_database_refuses_logins_in_french(app, client, reviewer, data_dir):
    os.makedirs(f"{data_dir}/state", exist_ok=True)
    with open(throttle.database_path(data_dir), "wb") as handle:
        handle.write(b"not a database " * 100)
    response = login(client)
    assert response.status_code == 503
    assert "La connexion est momentanément impossible" in response.get_data(as_text=True)
    assert client.get("/candidater/").status_code == 200  # the public form does not depend on it
