"""PostgreSQL as the store, for several collector hosts (psycopg 3 and its connection pool).

Every method runs in its own transaction, committed before it returns (PostgreSQL's
commit is durable once its WAL record is flushed, with the default synchronous_commit).
A connection problem (server down or restarting, pool exhausted) becomes
StoreUnavailable: the post is answered 503 in French and nothing is confirmed; the pool
checks each connection before lending it and reconnects by itself, so the collector
recovers when the server is back, without a restart.

- References: `nextval('reference_number')`, formatted like the data folder's.
- Submission ids: a primary key; the first claim wins, a concurrent one reads it.
- Records: the YAML text records.serialise_record makes (the data folder's file, byte for
  byte), its sha256, and the columns the review pages query.
- Rate limits: ratelimit.py's sliding window, counted in `rate_hits`.
- Review histories and corrected versions: postgres_histories.py (`store.histories`, `store.versions`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from .. import dossier
from ..ratelimit import RateLimiter
from ..records import RecordError, parse_record, serialise_record
from ..sequence import format_reference
from . import one_wait, schema
from .base import StoreConfigError, StoreUnavailable, TransferRefused
from .postgres_outbox import PostgresOutbox
from .postgres_reviewers import PostgresReviewers
from .postgres_histories import PostgresHistories, PostgresVersions, import_histories
from .postgres_retention import PostgresRetention
from .postgres_link_requests import PostgresLinkRequests
from .postgres_review_source import PostgresReviewSource
from .postgres_dossier_posts import PostgresDossierPosts

log = logging.getLogger("collector.stores")

CONNECT_TIMEOUT = 5  # seconds to open one connection
# The pool retries a lost server with a growing delay (1, 2, 4… s); giving up an attempt after
# 10 s makes the next request start a fresh one, so the collector is back a few seconds
# after PostgreSQL, however long the outage was.
RECONNECT_TIMEOUT = 10.0
_UNREACHABLE = ("Vérifiez que le serveur PostgreSQL est démarré, que l'adresse et le port de COLLECTOR_DATABASE_URL "
                "sont justes et qu'un pare-feu ne bloque pas la connexion.")


def describe(url: str) -> str:
    """`user@host:port/database` from a connection URL, never its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(adresse illisible)"
    return f"{parts.get('user', '?')}@{parts.get('host', 'localhost')}:{parts.get('port', '5432')}/{parts.get('dbname', '?')}"


def explain_connection_error(error: psycopg.Error, url: str) -> str:
    """A French reason for a failed connection, saying how to fix it (never the password)."""
    where = describe(url)
    state = getattr(error, "sqlstate", None)
    text = str(error)
    if state in ("28P01", "28000") or "password" in text:
        return (f"PostgreSQL refuse l'identifiant ou le mot de passe de COLLECTOR_DATABASE_URL ({where}) : "
                "corrigez-les (voir deploy/postgresql.sql pour créer le rôle).")
    if state == "3D000" or "does not exist" in text:
        return (f"la base de COLLECTOR_DATABASE_URL ({where}) n'existe pas : créez-la "
                "(voir deploy/postgresql.sql), puis lancez « flask --app collector db-upgrade ».")
    return f"le serveur PostgreSQL de COLLECTOR_DATABASE_URL ({where}) ne répond pas. {_UNREACHABLE}"


def connect(url: str) -> psycopg.Connection:
    """One connection for commands and start-up checks; StoreConfigError (French) if it fails."""
    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, application_name="ami-collector")
    except psycopg.Error as error:
        raise StoreConfigError(explain_connection_error(error, url)) from None


def _out_of_reach(error: Exception) -> bool:
    """The server itself is out of reach (no connection, lost, shutting down), not one statement
    refused (a lock timeout, 55P03), which the next statement of the request may well pass."""
    state = getattr(error, "sqlstate", None)
    return isinstance(error, PoolTimeout) or state is None or state.startswith(("08", "57P"))


class PostgresStore:
    kind = "postgresql"
    shares_everything = False  # the review tools' data stay in a data folder (unshared.py)

    def __init__(self, url: str, *, pool_size: int = 2, timeout: float = 5.0) -> None:
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=max(1, pool_size), timeout=timeout, open=False,
                                   check=ConnectionPool.check_connection, name="ami-collector",
                                   reconnect_timeout=RECONNECT_TIMEOUT,
                                   kwargs={"connect_timeout": CONNECT_TIMEOUT, "application_name": "ami-collector"})
        self.outbox = PostgresOutbox(self)
        self.reviewers = PostgresReviewers(self)
        self.histories, self.versions = PostgresHistories(self), PostgresVersions(self)
        self.retention = PostgresRetention(self)
        self.link_requests = PostgresLinkRequests(self)
        self.review_source = PostgresReviewSource(self)
        self.dossier_posts = PostgresDossierPosts(self)

    @classmethod
    def open_checked(cls, url: str, *, pool_size: int = 2, timeout: float = 5.0) -> PostgresStore:
        """The store, once a connection and the schema version were checked (StoreConfigError otherwise)."""
        with connect(url) as connection:
            schema.require_current(connection)
        store = cls(url, pool_size=pool_size, timeout=timeout)
        store.pool.open(wait=False)
        return store

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in a transaction, committed at the end; StoreUnavailable when the server is not there."""
        one_wait.raise_if_known_unavailable()  # found out of reach earlier in this request: no second wait
        try:
            with self.pool.connection() as connection:
                yield connection
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as error:
            log.warning("postgresql unavailable: %s", type(error).__name__)
            unavailable = StoreUnavailable(f"PostgreSQL indisponible ({type(error).__name__})")
            if _out_of_reach(error):
                one_wait.remember(unavailable)
            raise unavailable from error

    def _one(self, query: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._connection() as connection:
            return connection.execute(query, params).fetchone()  # type: ignore[arg-type]

    # --- references and submission ids ---

    def lookup_submission(self, submission_id: str) -> str | None:
        row = self._one("SELECT reference FROM submission_ids WHERE submission_id = %s", (submission_id,))
        return str(row[0]) if row else None

    def reference_for(self, submission_id: str, prefix: str) -> tuple[str, bool]:
        # One transaction holding a lock on the submission id: the same submission posted to
        # several hosts at once waits here, then finds the first post's claim (a statement that
        # starts after its commit sees it) and takes no number, so no gap is left behind.
        with self._connection() as connection:
            connection.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (submission_id,))
            row = connection.execute("SELECT reference FROM submission_ids WHERE submission_id = %s",
                                     (submission_id,)).fetchone()
            if row:
                return str(row[0]), False
            number = connection.execute("SELECT nextval('reference_number')").fetchone()
            reference = format_reference(prefix, int(number[0]))  # type: ignore[index]
            connection.execute("INSERT INTO submission_ids (submission_id, reference) VALUES (%s, %s)",
                               (submission_id, reference))
            return reference, True

    def release_submission(self, submission_id: str, reference: str) -> None:
        self._one("DELETE FROM submission_ids WHERE submission_id = %s AND reference = %s RETURNING 1",
                  (submission_id, reference))

    # --- records ---

    def write_record(self, record: dict[str, Any]) -> bool:
        row = self._one(_INSERT_RECORD + " ON CONFLICT (reference) DO NOTHING RETURNING 1",
                        _record_row(record, serialise_record(record).decode("utf-8")))
        return row is not None

    def read_record(self, reference: str) -> dict[str, Any] | None:
        row = self._one("SELECT document FROM records WHERE reference = %s", (reference,))
        return parse_record(row[0], reference + ".yaml") if row else None

    def has_record(self, reference: str) -> bool:
        return self._one("SELECT 1 FROM records WHERE reference = %s", (reference,)) is not None

    def latest_record(self, reference: str) -> dict[str, Any]:
        return dossier.latest_record(self, reference)

    def references(self) -> list[str]:
        with self._connection() as connection:
            return [row[0] for row in connection.execute("SELECT reference FROM records ORDER BY reference")]

    def record_file(self, reference: str) -> str | None:
        return None

    def record_text(self, reference: str) -> bytes:
        row = self._one("SELECT document FROM records WHERE reference = %s", (reference,))
        if row is None:
            raise RecordError(f"{reference}.yaml : enregistrement absent.")
        return str(row[0]).encode("utf-8")

    def submission_links(self) -> list[tuple[str, str]]:
        with self._connection() as connection:
            return [(row[0], row[1]) for row in
                    connection.execute("SELECT submission_id, reference FROM submission_ids ORDER BY submission_id")]

    def last_reference_number(self, prefix: str) -> int:
        row = self._one("SELECT last_value, is_called FROM reference_number")
        assert row is not None
        return int(row[0]) if row[1] else int(row[0]) - 1

    def import_contents(self, documents: list[tuple[bytes, dict[str, Any]]], links: list[tuple[str, str]],
                        last_number: int, histories: Sequence[tuple[str, str, bytes]] = (),
                        versions: Sequence[tuple[str, int, bytes]] = (), mails: Sequence[Any] = ()) -> None:
        """Load a data folder's records, submission ids, counter, histories, versions and mails in
        ONE transaction, into an empty store only, verified before it commits (counts and each
        document's hash); TransferRefused (French) otherwise, and then nothing is kept."""
        with self._connection() as connection:
            connection.execute("LOCK TABLE records, submission_ids IN EXCLUSIVE MODE")  # two runs at once: one waits
            (held,) = connection.execute("SELECT (SELECT count(*) FROM records) + "
                                         "(SELECT count(*) FROM submission_ids)").fetchone()  # type: ignore[misc]
            if held:
                raise TransferRefused(f"la base contient déjà {held} dossier(s) ou identifiant(s) d'envoi : "
                                      "migrate-store ne copie que vers une base vide, et une seule fois. "
                                      "Rien n'a été copié.")
            with connection.cursor() as cursor:
                cursor.executemany(_INSERT_RECORD, [_record_row(record, data.decode("utf-8")) for data, record in documents])
                cursor.executemany("INSERT INTO submission_ids (submission_id, reference) VALUES (%s, %s)", links)
            stored = dict(connection.execute("SELECT reference, document_sha256 FROM records").fetchall())
            expected = {record["reference"]: document_hash(data) for data, record in documents}
            (id_count,) = connection.execute("SELECT count(*) FROM submission_ids").fetchone()  # type: ignore[misc]
            if stored != expected or id_count != len(links) or not import_histories(connection, histories, versions):
                raise TransferRefused("la copie relue ne correspond pas au dossier de données (nombre ou empreinte "
                                      "des dossiers) : rien n'a été copié.")
            self.outbox.load(connection, list(mails))  # the outbox, in the same transaction (postgres_outbox.py)
            # Last, once verified: a sequence's change is not undone by a rollback.
            connection.execute("SELECT setval('reference_number', %s, %s)", (max(last_number, 1), last_number > 0))

    # --- rate limit ---

    def rate_limiter(self, name: str, limit: int, window: int, secret: str) -> RateLimiter:
        return PostgresRateLimiter(self, name, limit, window, secret)

    # --- running ---

    def check(self) -> str | None:
        try:
            with self._connection() as connection:
                row = connection.execute("SELECT pg_is_in_recovery(), "
                                         "(SELECT coalesce(max(version), 0) FROM schema_version)").fetchone()
        except (StoreUnavailable, psycopg.Error):
            return "base PostgreSQL injoignable"
        if row is None:
            return "base PostgreSQL injoignable"
        if row[0]:
            return "base PostgreSQL en lecture seule (serveur de secours)"
        return schema.problem(int(row[1]))

    def close(self) -> None:
        self.pool.close()


_INSERT_RECORD = ("INSERT INTO records (reference, received_at, form_version, content_hash, departement, flags, "
                  "document, document_sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


def _record_row(record: dict[str, Any], document: str) -> tuple[Any, ...]:
    """The values of _INSERT_RECORD: the document verbatim, its hash, the columns the review pages query."""
    departement = (record.get("derived") or {}).get("departement")
    return (record["reference"], record["received_at"], str(record["form_version"]), record["content_hash"],
            departement.get("code") if isinstance(departement, dict) else None, list(record.get("flags") or []),
            document, document_hash(document.encode("utf-8")))


def document_hash(document: bytes) -> str:
    """The hash compared by migrate-store and dump: sha256 of the YAML document's bytes."""
    return "sha256:" + hashlib.sha256(document).hexdigest()


class PostgresRateLimiter(RateLimiter):
    """ratelimit.py's sliding window, counted in PostgreSQL so that every host shares it."""

    def __init__(self, store: PostgresStore, name: str, limit: int, window: int, secret: str) -> None:
        self.store, self.name = store, name
        self.limit, self.window, self.secret = limit, window, secret.encode("utf-8")

    def _counts(self, client: str, window: int) -> tuple[int, int] | None:
        try:
            with self.store._connection() as connection:
                (count,) = connection.execute(
                    "INSERT INTO rate_hits VALUES (%s, %s, %s, 1) ON CONFLICT (limiter, client, window_number) "
                    "DO UPDATE SET count = rate_hits.count + 1 RETURNING count", (self.name, client, window)).fetchone()
                if count == 1:
                    connection.execute("DELETE FROM rate_hits WHERE limiter = %s AND window_number < %s",
                                       (self.name, window - 1))
                previous = connection.execute("SELECT count FROM rate_hits WHERE limiter = %s AND client = %s "
                                              "AND window_number = %s", (self.name, client, window - 1)).fetchone()
        except StoreUnavailable:
            return None  # as with the data folder: the post goes on uncounted; storing it answers 503
        return int(count), (int(previous[0]) if previous else 0)

    def _uncount(self, client: str, window: int) -> None:
        try:
            with self.store._connection() as connection:
                connection.execute("UPDATE rate_hits SET count = count - 1 WHERE limiter = %s AND client = %s "
                                   "AND window_number = %s AND count > 0", (self.name, client, window))
        except StoreUnavailable:
            pass  # as with the data folder: the post stays counted
