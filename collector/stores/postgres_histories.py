"""Histories and versions in PostgreSQL (schema 0005), through the store's connection pool.

A history is one row holding the same YAML document the data folder writes in
`reviews/<REF>.yaml`, with its sha256 and the current status; it is not split into one
row per event because the domain's checks (statuses.py: transitions, a meeting's state, an
answer already sent) read the whole history as it is under the lock, and because `dump`
and `migrate-store` then carry the document byte for byte. An append is one transaction:
`pg_advisory_xact_lock` on the reference (it also covers a dossier that has no row yet,
which `SELECT … FOR UPDATE` could not lock), check that the record is still there (the purge
takes the same lock: statuses.NoRecord otherwise), read the row, let the domain make the new
history, write it back; committed before the method returns (durable once PostgreSQL has
flushed its WAL record: synchronous_commit on, the default). Two hosts appending at once
wait for each other and both events are kept.

A version is one row (reference, number) holding the YAML text of `versions/<REF>/v<N>.yaml`
verbatim with its sha256; the primary key refuses a taken number (FileExistsError, as
the data folder's `os.link` does).

An append or a version takes that lock and then checks that the dossier's record is still
there, in the same transaction (`lock_stored_dossier`): a purge holds the lock while it
deletes (postgres_retention.py), so a write that waited for it, its checks made before the
purge committed, finds no record and stores nothing (statuses.NoRecord: the unknown dossier's
refusal) rather than leaving rows of an erased dossier that no later purge would find.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from ..records import RecordError, parse_record
from ..yamlio import dump_yaml, parse_yaml
from .histories import HistoryChange

if TYPE_CHECKING:
    from .postgres import PostgresStore

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('history:' || %s, 0))"


def _hash(document: str) -> str:
    from .postgres import document_hash

    return document_hash(document.encode("utf-8"))


class PostgresHistories:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def read(self, reference: str) -> Any:
        row = self.store._one("SELECT document FROM histories WHERE reference = %s", (reference,))
        return parse_yaml(row[0], reference + ".yaml") if row else None

    def append(self, reference: str, change: HistoryChange) -> dict[str, Any]:
        with self.store._connection() as connection:  # one transaction: rolled back if `change` refuses
            lock_stored_dossier(connection, reference)
            row = connection.execute("SELECT document FROM histories WHERE reference = %s", (reference,)).fetchone()
            history = change(parse_yaml(row[0], reference + ".yaml") if row else None)
            write_history_row(connection, reference, history)
            return history

    def references(self) -> list[str]:
        with self.store._connection() as connection:
            return [row[0] for row in connection.execute("SELECT reference FROM histories ORDER BY reference")]

    def marks(self) -> dict[str, object]:
        with self.store._connection() as connection:  # each append rewrites the document: its hash changes
            return dict(connection.execute("SELECT reference, document_sha256 FROM histories").fetchall())

    def text(self, reference: str) -> bytes | None:
        row = self.store._one("SELECT document FROM histories WHERE reference = %s", (reference,))
        return str(row[0]).encode("utf-8") if row else None

    def remove(self, reference: str) -> bool:
        return self.store._one("DELETE FROM histories WHERE reference = %s RETURNING 1", (reference,)) is not None


def lock_stored_dossier(connection: psycopg.Connection, reference: str) -> None:
    """Take the reference's history lock in the caller's transaction, then check that its record
    exists (a purge that committed while this waited removed it); statuses.NoRecord otherwise."""
    from ..statuses import NoRecord

    connection.execute(_LOCK, (reference,))
    if connection.execute("SELECT 1 FROM records WHERE reference = %s", (reference,)).fetchone() is None:
        raise NoRecord(reference)


def write_history_row(connection: psycopg.Connection, reference: str, history: dict[str, Any]) -> None:
    """Insert or replace a reference's history row, in the caller's transaction (under its lock)."""
    document = dump_yaml(history)
    connection.execute(
        "INSERT INTO histories (reference, status, document, document_sha256) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (reference) DO UPDATE SET status = EXCLUDED.status, document = EXCLUDED.document, "
        "document_sha256 = EXCLUDED.document_sha256, updated_at = now()",
        (reference, history["status"], document, _hash(document)))


class PostgresVersions:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def numbers(self, reference: str) -> list[int]:
        with self.store._connection() as connection:
            return [int(row[0]) for row in connection.execute(
                "SELECT number FROM versions WHERE reference = %s ORDER BY number", (reference,))]

    def marks(self) -> dict[str, object]:
        with self.store._connection() as connection:  # versions are written once: their count and last number
            return {reference: (count, last) for reference, count, last in connection.execute(
                "SELECT reference, count(*), max(number) FROM versions GROUP BY reference")}

    def read(self, reference: str, number: int) -> dict[str, Any]:
        return parse_record(self.text(reference, number).decode("utf-8"), f"{reference}/v{number}.yaml")

    def text(self, reference: str, number: int) -> bytes:
        row = self.store._one("SELECT document FROM versions WHERE reference = %s AND number = %s", (reference, number))
        if row is None:
            raise RecordError(f"{reference}/v{number}.yaml : version absente.")
        return str(row[0]).encode("utf-8")

    def write(self, reference: str, number: int, document: bytes) -> None:
        text = document.decode("utf-8")
        with self.store._connection() as connection:  # one transaction, under the history's lock
            lock_stored_dossier(connection, reference)
            row = connection.execute("INSERT INTO versions (reference, number, document, document_sha256) "
                                     "VALUES (%s, %s, %s, %s) ON CONFLICT (reference, number) DO NOTHING RETURNING 1",
                                     (reference, number, text, _hash(text))).fetchone()
        if row is None:
            raise FileExistsError(f"{reference}/v{number}.yaml")

    def remove(self, reference: str) -> int:
        with self.store._connection() as connection:
            return connection.execute("DELETE FROM versions WHERE reference = %s", (reference,)).rowcount


def import_histories(connection: psycopg.Connection, histories: Sequence[tuple[str, str, bytes]],
                     versions: Sequence[tuple[str, int, bytes]]) -> bool:
    """Insert a data folder's histories (reference, current status, document) and versions
    (reference, number, document) on migrate-store's connection, in its transaction,
    verbatim; True when what reads back has the same hashes."""
    from .postgres import document_hash

    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO histories (reference, status, document, document_sha256) VALUES (%s, %s, %s, %s)",
                           [(reference, status, data.decode("utf-8"), document_hash(data))
                            for reference, status, data in histories])
        cursor.executemany("INSERT INTO versions (reference, number, document, document_sha256) VALUES (%s, %s, %s, %s)",
                           [(reference, number, data.decode("utf-8"), document_hash(data))
                            for reference, number, data in versions])
    stored_histories = dict(connection.execute("SELECT reference, document_sha256 FROM histories").fetchall())
    stored_versions = {(reference, number): digest for reference, number, digest in
                       connection.execute("SELECT reference, number, document_sha256 FROM versions").fetchall()}
    return (stored_histories == {reference: document_hash(data) for reference, _status, data in histories}
            and stored_versions == {(reference, number): document_hash(data) for reference, number, data in versions})

