"""Stores opened outside an app, for tests of the domain on both stores."""

from __future__ import annotations

from collections.abc import Callable

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
