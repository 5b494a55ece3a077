"""The review index's source in PostgreSQL: the `records`, `versions` and `histories` tables.

A record's signature is its document's hash and the number of its newest version (a
correction adds a row to `versions`, never changes `records`); a history's is its
document's hash (every event rewrites the document). One query per table lists them all
(10,000 rows: a few milliseconds on the server, no document read); only the rows whose
signature changed are then read, each one by its primary key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..records import RecordError
from .review_source import Kind, Signature

if TYPE_CHECKING:
    from .postgres import PostgresStore

_SIGNATURES = {
    "records": "SELECT r.reference, r.document_sha256, coalesce(v.newest, 1) FROM records r "
               "LEFT JOIN (SELECT reference, max(number) AS newest FROM versions GROUP BY reference) v "
               "USING (reference)",
    "histories": "SELECT reference, document_sha256, 0 FROM histories",
}


def hash_number(document_sha256: str) -> int:
    """60 bits of a `sha256:<hex>` hash, as an integer sqlite holds (signed 64 bits)."""
    return int(document_sha256.rpartition(":")[2][:15], 16)


class PostgresReviewSource:
    forkable = False

    def __init__(self, store: PostgresStore) -> None:
        from .postgres import describe  # (postgres.py imports this module)

        self.store = store
        self.key = f"postgresql:{describe(store.url)}"  # another database: another index

    def signatures(self, kind: Kind) -> dict[str, Signature]:
        with self.store._connection() as connection:
            return {reference: (hash_number(digest), int(number), 0)
                    for reference, digest, number in connection.execute(_SIGNATURES[kind])}

    def changes(self, kind: Kind) -> dict[str, Signature | None] | None:
        return None  # no notification: the signatures are compared at each use

    def read_record(self, reference: str) -> dict[str, Any]:
        record = self.store.read_record(reference)
        if record is None:
            raise RecordError(f"{reference}.yaml : enregistrement absent.")
        return record
