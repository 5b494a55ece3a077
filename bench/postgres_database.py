"""A throwaway PostgreSQL server with migrated databases, for the benches that measure a store on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def postgres_server(durable: bool = True) -> Iterator[Callable[[], str]]:
    """A cluster started for the bench and stopped at the end (`durable`: fsync and
    synchronous_commit on, as deployed); yields a function that creates a new database at the
    code's schema and gives its URL (a bench making several runs on one server calls it for each)."""
    import psycopg

    from collector.stores import schema
    from tests.support.postgres import start_cluster, stop_cluster

    cluster = start_cluster(durable=durable)

    def new_database() -> str:
        url = cluster.url(cluster.new_database())
        with psycopg.connect(url) as connection:
            schema.upgrade(connection)
        return url

    try:
        yield new_database
    finally:
        stop_cluster(cluster)


@contextmanager
def migrated_database(durable: bool = True) -> Iterator[str]:
    """The URL of one new database at the code's schema, on a server started for the bench
    (postgres_server) and stopped at the end."""
    with postgres_server(durable) as new_database:
        yield new_database()


def opener(url: str):
    """A function opening a PostgreSQL store on `url`, its pool ready (what `measure` calls)."""
    from collector.stores.postgres import PostgresStore

    def opened() -> PostgresStore:
        store = PostgresStore(url)
        store.pool.open()
        return store
    return opened
