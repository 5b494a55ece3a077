"""The store of a module-shared server: one data folder, or one PostgreSQL database, per module and store.

A module that starts its collector once for all its tests (gunicorn, nginx in front, a browser
journey) asks for `server_store` instead of the per-test `store_config`; `--store`
parametrises `server_store_kind` at module scope (tests/support/store_switch.py), so that
`--store=both` starts the module's servers once on the data folder and once on a fresh database
of the session's PostgreSQL cluster. Tests then read what was kept through the store's
interface (`records()`, `queued_names()`, `opened()`), never through the folder's files.

Import the fixtures into the test module (or its conftest.py):
`from tests.support.server_store import new_server_store, server_store, server_store_kind  # noqa: F401`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from collector.stores.base import Store
from collector.stores.folder import FolderStore
from tests.support.stores import database_standing_for


SHARED_SECRET_KEY = "clé secrète commune aux hôtes des tests"


@dataclass
class ServerStore:
    """Where a module's servers keep their data: `data_dir` (each host's own folder, and the
    whole store on the data folder) and, on PostgreSQL, the database at `url`."""

    kind: str
    data_dir: str
    url: str | None = None

    @classmethod
    def of_test(cls, data_dir: str, store_env: dict[str, str]) -> ServerStore:
        """The store of a test that runs its own server (tests/conftest.py's `data_dir` and `store_env`)."""
        url = store_env.get("COLLECTOR_DATABASE_URL")
        return cls("postgres" if url else "folder", data_dir, url)

    @property
    def env(self) -> dict[str, str]:
        """The environment that puts a collector process (gunicorn, the mailer, `flask`) on this store;
        on PostgreSQL with the secret key every host of a shared store must be given (config.py)."""
        if self.url is None:
            return {"COLLECTOR_DATA_DIR": self.data_dir}
        return {"COLLECTOR_DATA_DIR": self.data_dir, "COLLECTOR_DATABASE_URL": self.url,
                "COLLECTOR_SECRET_KEY": SHARED_SECRET_KEY}

    @contextmanager
    def opened(self) -> Iterator[Store]:
        """This store, opened outside the servers (closed after)."""
        if self.url is None:
            store: Store = FolderStore(self.data_dir)
        else:
            from collector.stores.postgres import PostgresStore

            store = PostgresStore(self.url)
            store.pool.open()
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def refusing_writes(self) -> Iterator[None]:
        """Every write of a record fails until the block ends: on the data folder, a file stands
        where submissions/ was; on PostgreSQL, the database closes its connections and refuses new
        ones (the cluster's other databases, other tests', go on)."""
        if self.url is None:
            submissions = os.path.join(self.data_dir, "submissions")
            os.rename(submissions, submissions + ".mis-de-cote")
            try:
                with open(submissions, "w", encoding="utf-8") as refused_folder:
                    refused_folder.write("panne")
                yield
            finally:
                os.remove(submissions)
                os.rename(submissions + ".mis-de-cote", submissions)
            return
        import psycopg

        server, name = self.url.rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            yield
        finally:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
                connection.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")

    def records(self) -> list[dict[str, Any]]:
        """Every record kept, in reference order."""
        with self.opened() as store:
            return [store.read_record(reference) for reference in sorted(store.references())]

    def record(self, reference: str) -> dict[str, Any] | None:
        with self.opened() as store:
            return store.read_record(reference)

    def queued_names(self) -> set[str]:
        """The names of the outbox's messages still waiting to be sent."""
        from collector.stores.outbox_transfer import WAITING

        with self.opened() as store:
            return {mail.name for mail in store.outbox.messages() if mail.state == WAITING}

    def queued_message(self, name: str) -> bytes:
        """The bytes of the outbox's message `name` (KeyError when it was never queued)."""
        with self.opened() as store:
            return {mail.name: mail.raw for mail in store.outbox.messages()}[name]


@pytest.fixture(scope="module")
def server_store_kind() -> str:
    """The store of the module's servers: the data folder, unless `--store` chooses PostgreSQL too."""
    return "folder"


@pytest.fixture(scope="module")
def new_server_store(server_store_kind, tmp_path_factory, request) -> Iterator[Callable[[], ServerStore]]:
    """Makes fresh stores of the module's kind, one per server when a module starts several (on
    PostgreSQL, each store's data folder stands for its database, so that tests/review/factory.py
    writes given that folder go into the store)."""
    with ExitStack() as standing:
        def new() -> ServerStore:
            data_dir = str(tmp_path_factory.mktemp("data"))
            if server_store_kind != "postgres":
                return ServerStore("folder", data_dir)
            cluster = request.getfixturevalue("postgres_cluster")
            url = cluster.url(cluster.new_database(template=cluster.template))
            standing.enter_context(database_standing_for(data_dir, url))
            return ServerStore("postgres", data_dir, url)
        yield new


@pytest.fixture(scope="module")
def server_store(new_server_store) -> ServerStore:
    """A fresh store for the module's server."""
    return new_server_store()


def wait_until_healthy(base_url: str, within: float = 60.0, in_a_row: int = 8) -> None:
    """Wait for the collector at `base_url` to answer /healthz with 200 again, by itself (on
    PostgreSQL, its workers' pools reconnect after refusing_writes): `in_a_row` answers in a row,
    so that every worker of the server (each its own pool) was asked, not only the first to recover."""
    from tests.support.payloads import request

    deadline = time.monotonic() + within
    healthy = 0
    while healthy < in_a_row:
        healthy = healthy + 1 if request(base_url, "GET", "/healthz").status == 200 else 0
        assert time.monotonic() < deadline, "the collector did not recover by itself"
        if not healthy:
            time.sleep(0.2)
