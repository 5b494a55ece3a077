"""The login throttle (collector/review/throttle.py) keeps its promises beyond the counts: a database
it cannot use refuses logins (never lets them through) and is never left inside a transaction, it is
shared by workers in WAL mode with a busy timeout, and a lockout in progress is never lifted early."""

from __future__ import annotations

import sqlite3

import pytest

from collector import sqlite_files
from collector.review import throttle
from collector.review.throttle import LOCKOUT, WINDOW, ThrottleUnavailable
from tests.review.test_throttle import SECRET, T0


def fail(data_dir, at, name="alice", address="192.0.2.1"):
    """A failure counted by the data folder's throttle itself (this file's promises are its sqlite file's)."""
    return throttle.record_failure(data_dir, SECRET, name, address, now=at)


def locked(data_dir, at, name="alice", address="192.0.2.1"):
    return throttle.locked_for(data_dir, SECRET, name, address, now=at)


def corrupt(data_dir: str) -> None:
    throttle._connection(data_dir)  # creates the folder
    sqlite_files.forget(throttle.database_path(data_dir))
    with open(throttle.database_path(data_dir), "wb") as handle:
        handle.write(b"not a database " * 100)


def outside(data_dir: str) -> sqlite3.Connection:
    return sqlite3.connect(throttle.database_path(data_dir), isolation_level=None)


@pytest.mark.parametrize("call", [
    lambda d: throttle.locked_for(d, SECRET, "alice", "192.0.2.1", now=T0),
    lambda d: throttle.record_failure(d, SECRET, "alice", "192.0.2.1", now=T0),
    lambda d: throttle.record_success(d, SECRET, "alice", "192.0.2.1"),
])
def test_an_unusable_database_is_reported_never_passed_over(data_dir, call):
    corrupt(data_dir)
    try:
        with pytest.raises(ThrottleUnavailable, match="DatabaseError"):
            call(data_dir)
    finally:
        sqlite_files.forget(throttle.database_path(data_dir))


def test_a_failure_that_cannot_be_written_is_rolled_back_and_the_next_one_counts(data_dir):
    fail(data_dir, T0)
    outside(data_dir).execute("CREATE TRIGGER refuse BEFORE INSERT ON failures BEGIN "
                              "SELECT RAISE(ABORT, 'disque plein'); END")
    with pytest.raises(ThrottleUnavailable, match="IntegrityError"):
        fail(data_dir, T0 + 1)
    outside(data_dir).execute("DROP TRIGGER refuse")
    assert [fail(data_dir, T0 + 2 + i) for i in range(3)] == [0, 0, 0]  # no transaction left open
    assert fail(data_dir, T0 + 5) == LOCKOUT  # the refused failure was not counted: this is the 5th


def test_the_database_is_shared_in_wal_mode_with_a_busy_timeout(data_dir):
    connection = throttle._connection(data_dir)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL: safe with WAL
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    assert outside(data_dir).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert throttle._connection(data_dir) is connection  # opened once per process, thread and folder


def test_each_data_folder_has_its_own_database(data_dir, tmp_path):
    other = str(tmp_path / "other")
    for i in range(5):
        fail(data_dir, T0 + i)
    assert locked(data_dir, T0 + 5) == LOCKOUT - 1
    assert locked(other, T0 + 5) == 0


def test_a_lockout_is_counted_from_the_failure_that_triggers_it(data_dir):
    for i in range(4):
        fail(data_dir, T0 + i * 60)
    assert fail(data_dir, T0 + 600.25) == LOCKOUT
    assert locked(data_dir, T0 + 600.25) == LOCKOUT
    assert locked(data_dir, T0 + 600.25 + LOCKOUT - 0.25) == 1  # whole seconds, rounded up
    assert locked(data_dir, T0 + 600.25 + LOCKOUT) == 0


def test_a_locked_pair_is_remembered_until_its_lockout_ends_even_after_its_window(data_dir):
    for i in range(5):
        fail(data_dir, T0 + i)
    fail(data_dir, T0 + 4 + WINDOW - 1, name="bob")  # prunes what has expired, not the lockout
    assert locked(data_dir, T0 + 4 + WINDOW - 1) == 1
    rows = outside(data_dir).execute("SELECT count, until, expires FROM failures ORDER BY expires").fetchall()
    assert rows[0] == (0, T0 + 4 + LOCKOUT, T0 + 4 + LOCKOUT)


def test_a_pair_is_stored_as_a_128_bit_keyed_hash_never_its_name_or_address(data_dir):
    fail(data_dir, T0, name="alice", address="192.0.2.1")
    (pair,), = outside(data_dir).execute("SELECT pair FROM failures").fetchall()
    assert len(pair) == 32 and int(pair, 16) >= 0
    throttle._connection(data_dir).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(throttle.database_path(data_dir), "rb") as handle:
        content = handle.read()
    assert b"alice" not in content and b"192.0.2.1" not in content


def _connection_is_inherited(data_dir, inherited, answers) -> None:
    answers.put(throttle._connection(data_dir) is inherited)


def test_a_forked_worker_opens_its_own_connection(data_dir):
    """A sqlite connection must not cross a fork: gunicorn's workers are forked from one process."""
    import multiprocessing

    parents = throttle._connection(data_dir)
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_connection_is_inherited, args=(data_dir, parents, answers))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and answers.get(timeout=5) is False


def test_failures_long_after_the_window_start_a_new_count(data_dir):
    for i in range(4):
        fail(data_dir, T0 + i)
    later = T0 + 2 * WINDOW  # the row is still there (nothing pruned it), but its window is long over
    assert [fail(data_dir, later + i) for i in range(4)] == [0, 0, 0, 0]
    assert fail(data_dir, later + 4) == LOCKOUT
