"""Stores opened outside an app, for tests of the domain on both stores."""

from __future__ import annotations

import os
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


def write_history_text(store: Store, reference: str, text: str) -> None:
    """Put `text` as a dossier's history where `store` keeps it, as a hand edit would: its file
    `reviews/<REF>.yaml` in the data folder, its row's document (and hash) in PostgreSQL."""
    if isinstance(store, FolderStore):
        from collector.statuses import history_path

        path = history_path(store.data_dir, reference)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    import psycopg

    from collector.stores.postgres import document_hash

    with psycopg.connect(store.url) as connection:
        connection.execute("INSERT INTO histories (reference, status, document, document_sha256) "
                           "VALUES (%s, 'recu', %s, %s) ON CONFLICT (reference) DO UPDATE SET "
                           "document = EXCLUDED.document, document_sha256 = EXCLUDED.document_sha256",
                           (reference, text, document_hash(text.encode("utf-8"))))


def break_history(store: Store, reference: str) -> None:
    """Make a dossier's existing history unreadable, as a hand edit gone wrong would."""
    text = store.histories.text(reference)
    assert text is not None, f"{reference} has no history to break"
    write_history_text(store, reference, text.decode("utf-8") + BROKEN_HISTORY)
