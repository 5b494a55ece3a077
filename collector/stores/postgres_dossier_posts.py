"""A porteur's posts in PostgreSQL: version, history and submission id in ONE transaction.

Under the history's advisory lock (the one postgres_histories.py takes, so a status change
and a post on the same dossier, from any host, wait for each other): the submission id is
looked up in `submission_ids` (claimed: nothing written), the history row is read and
`change` checks it (corrections still open, a reply awaited), the version row is inserted
(its primary key refuses a taken number), the history row is written and the id is claimed
for the reference. All of it commits before the method returns (durable once PostgreSQL
has flushed its WAL record: synchronous_commit on, the default), or none of it does: a
failure never leaves a version without its event, nor an event without its id. A dossier
purged while the post waited for the lock is refused there (statuses.NoRecord): nothing stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..yamlio import parse_yaml
from .histories import HistoryChange
from .postgres_histories import _hash, lock_stored_dossier, write_history_row

if TYPE_CHECKING:
    from .postgres import PostgresStore


class PostgresDossierPosts:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def claimed(self, submission_id: str) -> str | None:
        return self.store.lookup_submission(submission_id)

    def write(self, reference: str, change: HistoryChange, *, version: tuple[int, bytes] | None = None,
              submission_id: str | None = None) -> dict[str, Any] | None:
        with self.store._connection() as connection:  # one transaction: rolled back on any exception
            lock_stored_dossier(connection, reference)  # a purge committed meanwhile: statuses.NoRecord, nothing stored
            if submission_id and connection.execute("SELECT 1 FROM submission_ids WHERE submission_id = %s",
                                                    (submission_id,)).fetchone():
                return None
            row = connection.execute("SELECT document FROM histories WHERE reference = %s", (reference,)).fetchone()
            history = change(parse_yaml(row[0], reference + ".yaml") if row else None)
            if version is not None:
                number, text = version[0], version[1].decode("utf-8")
                if connection.execute("INSERT INTO versions (reference, number, document, document_sha256) "
                                      "VALUES (%s, %s, %s, %s) ON CONFLICT (reference, number) DO NOTHING RETURNING 1",
                                      (reference, number, text, _hash(text))).fetchone() is None:
                    raise FileExistsError(f"{reference}/v{number}.yaml")
            write_history_row(connection, reference, history)
            if submission_id:
                connection.execute("INSERT INTO submission_ids (submission_id, reference) VALUES (%s, %s)",
                                   (submission_id, reference))
            return history
