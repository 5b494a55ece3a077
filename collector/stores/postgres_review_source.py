"""The review index's source in PostgreSQL: the `records`, `versions` and `histories` tables.

A record's signature is its document's hash and the number of its newest version (a
correction adds a row to `versions`, never changes `records`); a history's is its
document's hash (every event rewrites the document). Each use first asks the server for a
digest of every signature (one row); when it is the one this process saw last, nothing is
listed. Otherwise one query per table lists them all (no document read); only the rows whose
signature changed are then read, a chunk at a time: records, their versions and histories
in three queries (`Fetched`).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..records import RecordError, parse_record
from ..yamlio import parse_yaml
from .review_source import Kind, Signature

if TYPE_CHECKING:
    from .postgres import PostgresStore

# One row whatever the number of records: a digest the server computes of every signature.
_DIGESTS = {
    "records": "SELECT md5(coalesce(string_agg(reference || document_sha256, ',' ORDER BY reference), '')), "
               "(SELECT md5(coalesce(string_agg(reference || ':' || number, ',' ORDER BY reference, number), '')) "
               "FROM versions) FROM records",
    "histories": "SELECT md5(coalesce(string_agg(reference || document_sha256, ',' ORDER BY reference), '')), '' "
                 "FROM histories",
}
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
        self._digests: dict[str, tuple[int, tuple[str, ...]]] = {}  # kind → (pid, digest) when last asked

    def signatures(self, kind: Kind) -> dict[str, Signature]:
        with self.store._connection() as connection:
            return {reference: (hash_number(digest), int(number), 0)
                    for reference, digest, number in connection.execute(_SIGNATURES[kind])}

    def changes(self, kind: Kind) -> dict[str, Signature | None] | None:
        """{} when the server's digest of every signature is the one this process saw when it last
        asked (nothing changed: no row is listed); None otherwise (every signature is compared).

        The digest is taken before the caller lists the signatures, so a change made meanwhile
        makes the next digest differ. One index per store and process asks (the app's). The
        digest is kept at once, so a sync that fails after this must call `forget`."""
        with self.store._connection() as connection:
            digest = tuple(connection.execute(_DIGESTS[kind]).fetchone() or ())
        last = self._digests.get(kind)
        self._digests[kind] = (os.getpid(), digest)
        return {} if last == (os.getpid(), digest) else None

    def forget(self) -> None:
        """The caller's sync failed after `changes`: the digest just kept was never applied."""
        self._digests.clear()

    def read_record(self, reference: str) -> dict[str, Any]:
        record = self.store.read_record(reference)
        if record is None:
            raise RecordError(f"{reference}.yaml : enregistrement absent.")
        return record

    def reader(self, records: Collection[str], histories: Collection[str]) -> Fetched:
        return Fetched(self.store, records, histories)


class Fetched:
    """Some records with their versions, and some histories, fetched in one transaction (three
    queries, whatever their number), then parsed as the store's own methods parse them."""

    def __init__(self, store: PostgresStore, records: Collection[str], histories: Collection[str]) -> None:
        self.documents: dict[str, str] = {}
        self.version_documents: dict[str, dict[int, str]] = {}
        self.history_documents: dict[str, str] = {}
        self.versions, self.histories = self, _FetchedHistories(self.history_documents)
        if not records and not histories:
            return
        with store._connection() as connection:
            if records:
                wanted = list(records)
                self.documents = dict(connection.execute(
                    "SELECT reference, document FROM records WHERE reference = ANY(%s)", (wanted,)).fetchall())
                for reference, number, document in connection.execute(
                        "SELECT reference, number, document FROM versions WHERE reference = ANY(%s)", (wanted,)):
                    self.version_documents.setdefault(reference, {})[int(number)] = document
            if histories:
                self.history_documents.update(connection.execute(
                    "SELECT reference, document FROM histories WHERE reference = ANY(%s)", (list(histories),)).fetchall())

    def read_record(self, reference: str) -> dict[str, Any]:
        if reference not in self.documents:
            raise RecordError(f"{reference}.yaml : enregistrement absent.")
        return parse_record(self.documents[reference], reference + ".yaml")

    # as PostgresVersions
    def numbers(self, reference: str) -> list[int]:
        return sorted(self.version_documents.get(reference, {}))

    def read(self, reference: str, number: int) -> dict[str, Any]:
        document = self.version_documents.get(reference, {}).get(number)
        if document is None:
            raise RecordError(f"{reference}/v{number}.yaml : version absente.")
        return parse_record(document, f"{reference}/v{number}.yaml")


class _FetchedHistories:
    """As PostgresHistories.read, from the fetched documents."""

    def __init__(self, documents: dict[str, str]) -> None:
        self.documents = documents

    def read(self, reference: str) -> Any:
        document = self.documents.get(reference)
        return parse_yaml(document, reference + ".yaml") if document is not None else None
