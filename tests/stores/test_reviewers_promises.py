"""The accounts and login throttle of both stores (folder_reviewers.py, postgres_reviewers.py)
keep the promises their shared store tests (tests/review/test_users_promises.py,
test_throttle.py) leave unchecked, with a fixed clock."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from collector.review import throttle
from collector.stores.folder import FolderStore
from collector.stores.postgres import PostgresStore
from tests.conftest import STORE_KINDS

SECRET = "clé de test"
T0 = 1_700_000_000.0
LOCKOUT = 15 * 60


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def reviewers(store_kind, data_dir, request):
    if store_kind == "folder":
        yield FolderStore(data_dir).reviewers
        return
    store = PostgresStore(request.getfixturevalue("database_url"))
    store.pool.open()
    yield store.reviewers
    store.close()


def stored_pairs(reviewers) -> int:
    if hasattr(reviewers, "data_dir"):
        with sqlite3.connect(throttle.database_path(reviewers.data_dir)) as connection:
            return connection.execute("SELECT count(*) FROM failures").fetchone()[0]
    with psycopg.connect(reviewers.store.url) as connection:
        return connection.execute("SELECT count(*) FROM login_failures").fetchone()[0]


def test_once_a_lockout_has_ended_the_pair_may_try_again_while_its_row_is_still_kept(reviewers):
    for i in range(5):
        reviewers.record_failure(SECRET, "alice", "192.0.2.1", now=T0 + i)
    ended = T0 + 4 + LOCKOUT
    assert [reviewers.locked_for(SECRET, "alice", "192.0.2.1", now=ended + later) for later in (1, 3600)] == [0, 0]
    assert stored_pairs(reviewers) == 1  # no failure since: the ended lockout's row was not deleted
