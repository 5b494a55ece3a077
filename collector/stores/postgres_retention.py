"""The purge on PostgreSQL: old dossiers found by `records.received_at`, each forgotten in ONE transaction.

The choice needs no review index (PostgreSQL has none yet): `received_at` is a column of
`records`, indexed (schema 0001). A day is a Paris day, as the records' times are written,
so the same dossiers are old on both stores.

Every table that holds a dossier's data by its reference is emptied of it in one transaction:
`submission_ids`, `versions`, `histories`, `outbox` (its waiting, sent and refused mails:
postgres_outbox.py keeps them as the memory of the names), then `records`. It commits before
the reference is reported gone (durable once PostgreSQL has flushed its WAL record:
synchronous_commit on, the default); any failure rolls it all back, so no dossier is ever
half purged, and the next purge finds it whole. Before it, the lost-link requests waiting for
the dossier's contact addresses are removed (retention.forget_link_requests, their own
transaction: a failure there leaves the dossier whole too). The history's lock (the one
postgres_histories.py's appends take) is held meanwhile, so an event appended on another
host comes wholly before the purge (and goes with the rest) or after it; after it, it finds
no record under the lock and stores nothing (postgres_histories.lock_stored_dossier), nor do
a version, a correction or a reply: no row of a purged dossier is written once it is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import psycopg

from ..statuses import PARIS
from .base import StoreUnavailable
from .postgres_histories import _LOCK as HISTORY_LOCK
from .retention import Aged, Received, forget_link_requests

if TYPE_CHECKING:
    from .postgres import PostgresStore

log = logging.getLogger("collector.stores")

# Records last: the record is what makes a dossier old (as on the data folder).
DOSSIER_TABLES = ("submission_ids", "versions", "histories", "outbox", "records")


class PostgresRetention:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def received_before(self, day: date) -> Aged:
        limit = datetime.combine(day, time(), tzinfo=PARIS)
        with self.store._connection() as connection:
            rows = connection.execute("SELECT reference, received_at FROM records WHERE received_at < %s "
                                      "ORDER BY received_at, reference", (limit,)).fetchall()
        return Aged([Received(str(reference), moment.astimezone(PARIS)) for reference, moment in rows])

    def forget(self, references: Sequence[str]) -> Iterator[str]:
        for reference in references:
            try:
                forget_link_requests(self.store, reference)  # first: the record is there to name the addresses
                with self.store._connection() as connection:  # one transaction, committed on leaving
                    connection.execute(HISTORY_LOCK, (reference,))
                    for table in DOSSIER_TABLES:
                        connection.execute(f"DELETE FROM {table} WHERE reference = %s", (reference,))
            except psycopg.Error as error:  # a refused DELETE (privilege, trigger…): rolled back, all of it
                log.warning("postgresql refused a purge: %s", type(error).__name__)
                raise StoreUnavailable(f"PostgreSQL a refusé la suppression ({type(error).__name__}) : "
                                       "rien de ce dossier n'a été supprimé") from error
            yield reference
