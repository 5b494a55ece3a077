"""What the review index is made from, whatever keeps it: the `ReviewSource` interface.

The review index (review/index.py) is a sqlite cache on each host, in its own data
folder; the records and histories it summarises are the store's. Before each use it asks
its source for a signature of every record and history, re-reads those whose signature
is not the one it holds and drops the vanished, so a record or a status written by
another worker or host is seen at the next request. Two implementations: the data
folder (folder_review_source.py: each file's (mtime, size, inode), and inotify's list of
the files changed since) and PostgreSQL (postgres_review_source.py: each row's document
hash, one query per table). A store carries it as `store.review_source`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal, Protocol

Signature = tuple[int, int, int]  # three integers that change whenever what the index summarises changes
Kind = Literal["records", "histories"]


class ReviewSource(Protocol):
    # Kept in the index's meta: an index made from another source is rebuilt ("" for the data folder)
    key: str
    # May a rebuild read in forked processes? (not with a connection pool, which a fork must not share)
    forkable: bool

    def signatures(self, kind: Kind) -> dict[str, Signature]:
        """Every record's or history's reference with its signature."""

    def changes(self, kind: Kind) -> dict[str, Signature | None] | None:
        """The references changed since this process last asked, with their signature (None:
        vanished); None when it cannot tell, and every signature must be compared."""

    def forget(self) -> None:
        """Forget what this process saw: the next `changes` is None. The index calls it when a
        sync failed, so changes reported but never applied are not taken as applied."""

    def read_record(self, reference: str) -> dict[str, Any]:
        """A reference's first record as stored; records.RecordError naming it when missing or unreadable."""

    def reader(self, records: Collection[str], histories: Collection[str]) -> RecordReader:
        """What the index re-reads of some records (with their versions) and histories, as one
        reader (PostgreSQL fetches them in a few queries rather than a few per record); the
        mailer's catch-up (mail/catch_up.py) reads its chunks of dossiers through it too."""


class RecordReader(Protocol):
    """A store as the index reads it (statuses.store_of accepts it): records, versions, histories."""

    versions: Any  # numbers(reference) and read(reference, number), as histories.Versions
    histories: Any  # read(reference), as histories.Histories

    def read_record(self, reference: str) -> dict[str, Any]:
        """A first record; records.RecordError naming it when missing or unreadable."""
