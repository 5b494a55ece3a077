"""A throwaway PostgreSQL server with one migrated database, for the benches that measure a store on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def migrated_database(durable: bool = True) -> Iterator[str]:
    """The URL of a new database at the code's schema, on a cluster started for the bench and
    stopped at the end (`durable`: fsync and synchronous_commit on, as deployed)."""
    import psycopg

    from collector.stores import schema
    from tests.support.postgres import start_cluster, stop_cluster

    cluster = start_cluster(durable=durable)
    try:
        url = cluster.url(cluster.new_database())
        with psycopg.connect(url) as connection:
            schema.upgrade(connection)
        yield url
    finally:
        stop_cluster(cluster)


def opener(url: str):
    """A function opening a PostgreSQL store on `url`, its pool ready (what `measure` calls)."""
    from collector.stores.postgres import PostgresStore

    def opened() -> PostgresStore:
        store = PostgresStore(url)
        store.pool.open()
        return store
    return opened
