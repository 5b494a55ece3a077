"""Stores opened outside an app, for tests of the domain on both stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from collector.stores.base import Store
from collector.stores.folder import FolderStore


def store_opener(store_kind: str, data_dir: str, request: pytest.FixtureRequest) -> Callable[[], Store]:
    """Opens a store of `store_kind` on the test's data folder or database; each call a new one
    (one per process: a connection pool is not shared across a fork). Close what it opens."""
    if store_kind == "folder":
        return lambda: FolderStore(data_dir)
    from collector.stores.postgres import PostgresStore

    url = request.getfixturevalue("database_url")

    def opened() -> Store:
        store = PostgresStore(url)
        store.pool.open()
        return store
    return opened


# The database a PostgreSQL test's data folder stands for (kept by tests/conftest.py's `store_config`
# while the test runs), so that the factories given a data folder write into the test's store.
DATABASE_OF_DATA_DIR: dict[str, str] = {}


@contextmanager
def database_standing_for(data_dir: str, url: str) -> Iterator[None]:
    """While the test runs, `data_dir` stands for the database at `url`."""
    DATABASE_OF_DATA_DIR[data_dir] = url
    try:
        yield
    finally:
        DATABASE_OF_DATA_DIR.pop(data_dir, None)


@contextmanager
def postgres_store_standing_for(data_dir: str) -> Iterator[Store | None]:
    """The PostgreSQL store the test's `data_dir` stands for (opened, closed after), or None when the
    test keeps its data in that folder."""
    url = DATABASE_OF_DATA_DIR.get(str(data_dir))
    if url is None:
        yield None
        return
    from collector.stores.postgres import PostgresStore

    store = PostgresStore(url)
    store.pool.open()
    try:
        yield store
    finally:
        store.close()


BROKEN_HISTORY = "events: [pas fini\n"


def break_history(store: Store, reference: str) -> None:
    """Make a dossier's history unreadable where `store` keeps it, as a hand edit gone wrong would: the
    end of its file in the data folder, its row's document in PostgreSQL (the history must exist)."""
    if isinstance(store, FolderStore):
        from collector.statuses import history_path

        with open(history_path(store.data_dir, reference), "a", encoding="utf-8") as handle:
            handle.write(BROKEN_HISTORY)
        return
    import psycopg

    with psycopg.connect(store.url) as connection:
        changed = connection.execute("UPDATE histories SET document = document || %s WHERE reference = %s",
                                     (BROKEN_HISTORY, reference)).rowcount
    assert changed == 1, f"{reference} has no history to break"
