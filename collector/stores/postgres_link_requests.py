"""The lost-link requests in PostgreSQL (schema/0006_link_requests.sql), through the store's pool.

- Write: one row (a random id, the address, the database's time), committed before `write`
  returns (durable once PostgreSQL has flushed its WAL record: synchronous_commit on, the
  default), so the page answers only once the request is kept, whatever host it reached.
- Claim: `SELECT … FOR UPDATE SKIP LOCKED` on the oldest waiting row, in a transaction held
  while the mailer handles it: a second mailer, on this host or another, skips it and takes
  the next. A handled request is deleted in that same transaction, committed before the
  claim ends; a mailer that dies meanwhile loses its connection, the server rolls the
  transaction back, and the request waits for the next round (its mail, named after the
  request, is queued once whatever happens: the outbox refuses a name queued before). The
  handling queues its mail on another of the pool's connections: the pool needs two (its
  default size).
- The address is kept in clear only while the request waits: deleted once handled, and
  unhandled after MAX_AGE (any host's mailer takes every waiting request at each catch-up,
  at least once a minute; `remove_expired` does it without sending, for a purge).
- Contacts: the newest version of every dossier (its last corrected version, else the
  record), narrowed in the database to those whose `  contact_email: ` line (the answers'
  entry: a text's own lines are indented further) holds the longest run of ASCII letters
  and digits of the address's local part, its ASCII case aside (such a run is never quoted,
  escaped nor split by the YAML writer, so no match is missed; a document without such a
  line stays a candidate), then confirmed in Python on the parsed document with the same
  comparison as the data folder's (dossier.contacts_among). Plain text searches (strpos,
  split_part), not a regular expression (600 ms for 1,000 dossiers, against 20 ms), and each
  dossier's last version taken in one pass (DISTINCT ON), not one look-up per record, whose
  plan went wrong on a freshly loaded table (7.6 s a request for 10,000 dossiers, against
  0.19 s, mail queued included; bench/lost_link.py). No review index is needed.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..addresses import mailbox_ignoring_ascii_case
from ..records import RecordError, parse_record
from .base import StoreUnavailable
from .link_requests import Claim, IndexLookup, mailboxes, only_for_purged

if TYPE_CHECKING:
    from .postgres import PostgresStore

_CONTACT_KEY = "\n  contact_email: "  # the answer's line, in the block style records are written in
_LOWER_ASCII = f"'{string.ascii_uppercase}', '{string.ascii_lowercase}'"
_NEWEST = (
    "SELECT reference, document FROM ("
    "  SELECT reference, coalesce(v.document, r.document) AS document FROM records r"
    "  LEFT JOIN (SELECT DISTINCT ON (reference) reference, document FROM versions"  # each dossier's last version
    "             ORDER BY reference, number DESC) v USING (reference)) newest "
    f"WHERE strpos(translate(split_part(split_part(document, %(key)s, 2), E'\\n', 1), {_LOWER_ASCII}), %(run)s) > 0"
    "   OR strpos(document, %(key)s) = 0 "  # a layout this search does not know: read it all the same
    "ORDER BY reference")


# Taken by every writer that counts before it writes (write_unless_full): one at a time, all hosts.
_WRITERS_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('link-requests:writers', 0))"
_INSERT_UNLESS_FULL = (
    "INSERT INTO link_requests (id, address) SELECT %(id)s, %(address)s "
    "WHERE (SELECT count(*) FROM (SELECT 1 FROM link_requests LIMIT %(limit)s) AS waiting) < %(limit)s RETURNING 1")


def narrowing_key(address: str) -> str:
    """The longest run of ASCII letters and digits of the address's local part, lower-cased:
    every YAML spelling of a matching contact contains it (no writer escapes or quotes those
    characters); "" (every dossier a candidate) when there is none."""
    local = mailbox_ignoring_ascii_case(address)[0]
    return max(re.findall(r"[a-z0-9]+", local), key=len, default="")


class PostgresLinkRequests:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def write(self, address: str) -> str:
        request_id = secrets.token_hex(16)
        with self.store._connection() as connection:
            connection.execute("INSERT INTO link_requests (id, address) VALUES (%s, %s)", (request_id, address))
        return request_id

    def write_unless_full(self, address: str, limit: int) -> str | None:
        """One transaction: the writers' advisory lock (held until it commits, so a second writer
        counts this row), the count (no further than `limit` rows), then the row if there is room.
        A count alone in READ COMMITTED would not see another writer's row before it commits."""
        request_id = secrets.token_hex(16)
        with self.store._connection() as connection:
            connection.execute(_WRITERS_LOCK)
            row = connection.execute(_INSERT_UNLESS_FULL, {"id": request_id, "address": address, "limit": limit}
                                     ).fetchone()
        return request_id if row is not None else None

    def waiting(self) -> list[str]:
        with self.store._connection() as connection:
            return [row[0] for row in connection.execute("SELECT id FROM link_requests ORDER BY made_at, id")]

    def waiting_at_least(self, count: int) -> bool:
        with self.store._connection() as connection:  # counts no further than `count` rows
            row = connection.execute("SELECT count(*) FROM (SELECT 1 FROM link_requests LIMIT %s) AS waiting",
                                     (count,)).fetchone()
        return row is not None and row[0] >= count

    @contextmanager
    def claim(self, skip: Collection[str] = ()) -> Iterator[Claim | None]:
        with self.store._connection() as connection:  # one transaction: the row stays locked until it ends
            row = connection.execute(
                "SELECT id, address, made_at FROM link_requests WHERE NOT (id = ANY(%s)) "
                "ORDER BY made_at, id LIMIT 1 FOR UPDATE SKIP LOCKED", (list(skip),)).fetchone()
            claim = Claim(row[0], row[1], row[2]) if row else None
            yield claim
            if claim is not None and claim.handled:
                connection.execute("DELETE FROM link_requests WHERE id = %s", (claim.id,))

    def remove_expired(self, now: datetime | None = None) -> int:
        from ..link_requests import MAX_AGE

        older_than = (now if now is not None else datetime.now(timezone.utc)) - MAX_AGE
        with self.store._connection() as connection:  # a request a mailer holds is its to handle
            return connection.execute(
                "DELETE FROM link_requests WHERE id IN (SELECT id FROM link_requests WHERE made_at < %s "
                "FOR UPDATE SKIP LOCKED)", (older_than,)).rowcount

    def remove_for_addresses(self, addresses: Collection[str], purged: Collection[str]) -> int:
        wanted = mailboxes(addresses)
        with self.store._connection() as connection:  # one transaction; a request a mailer holds is skipped
            rows = connection.execute("SELECT id, address FROM link_requests FOR UPDATE SKIP LOCKED").fetchall()
            doomed = [request_id for request_id, address in rows if only_for_purged(address, wanted, self, purged)]
            if doomed:
                connection.execute("DELETE FROM link_requests WHERE id = ANY(%s)", (doomed,))
        return len(doomed)

    def contacts(self, address: str, lookup: IndexLookup | None = None) -> dict[str, list[str]]:
        from ..dossier import contacts_among

        # `lookup` (a data folder's review index) is not used: it would only know that host's share.
        with self.store._connection() as connection:
            rows = connection.execute(_NEWEST, {"key": _CONTACT_KEY, "run": narrowing_key(address)}).fetchall()
        newest = []
        for reference, document in rows:
            try:
                newest.append(parse_record(document, reference + ".yaml"))
            except RecordError:
                continue  # as the data folder: an unreadable record is skipped (`check` names it)
        found: dict[str, list[str]] = {}
        for reference, stored in contacts_among(newest, address):
            found.setdefault(stored, []).append(reference)
        return found

    def watch(self) -> WaitingRequests:
        return WaitingRequests(self)


class WaitingRequests:
    """The mailer's poll on PostgreSQL: whether requests wait, and which (one small query a poll)."""

    def __init__(self, requests: PostgresLinkRequests) -> None:
        self.requests = requests
        self._seen: tuple[int, datetime | None] = (0, None)

    def changed(self) -> bool:
        try:
            with self.requests.store._connection() as connection:
                row = connection.execute("SELECT count(*), max(made_at) FROM link_requests").fetchone()
        except StoreUnavailable:
            return False  # the round's catch-up reports it; the requests wait in the database
        seen = (int(row[0]), row[1]) if row else (0, None)
        changed, self._seen = seen != self._seen and seen[0] > 0, seen
        return changed
