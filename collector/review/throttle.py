"""Login throttling shared by every gunicorn worker: state in `$DATA/state/login-throttle.sqlite3`.

Failed logins are counted per (account name, client) pair, the client grouped as
clientaddr.py says (an IPv4 address, an IPv6 /64), stored only as a keyed hash (no name
or address in clear). MAX_FAILURES failures within WINDOW seconds of the first one lock
the pair out for LOCKOUT seconds; a successful login forgets the pair.

One row per pair. An attempt reads one row by its key; a failure updates it inside
`BEGIN IMMEDIATE` (sqlite's write lock: two workers never lose a count) and deletes the
rows whose expiry has passed through an index on that expiry. So the cost of an attempt
does not grow with the number of pairs (bench/throttle.py prints it). The database is
the review area's own: the public form never waits on it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import sqlite3
import time

from .. import sqlite_files
from ..clientaddr import client_group
from ..sequence import STATE_DIR

DB_FILE = "login-throttle.sqlite3"
MAX_FAILURES = 5
WINDOW = 15 * 60
LOCKOUT = 15 * 60
BUSY_TIMEOUT_SECONDS = 5
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS failures (pair TEXT PRIMARY KEY, count INTEGER NOT NULL, first REAL NOT NULL, "
    "until REAL NOT NULL, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS failures_by_expiry ON failures (expires)",
)

class ThrottleUnavailable(RuntimeError):
    """The throttle's database cannot be used: logins are refused until it can (never let through)."""


def database_path(data_dir: str) -> str:
    return os.path.join(data_dir, STATE_DIR, DB_FILE)


def _connection(data_dir: str) -> sqlite3.Connection:
    """This thread's connection to the throttle database (sqlite_files: closed with the app's folder)."""
    path = database_path(data_dir)
    kept = sqlite_files.cached(path)
    if kept is not None:
        return kept[0]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        connection.execute(statement)
    return sqlite_files.keep(path, connection)


def pair_key(secret: str, name: str, address: str) -> str:
    message = f"{name.lower()}\0{client_group(address)}".encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]


def locked_for(data_dir: str, secret: str, name: str, address: str, now: float | None = None) -> int:
    """Seconds left before this name may try again from this client (0: may try now)."""
    now = time.time() if now is None else now
    try:
        row = _connection(data_dir).execute("SELECT until FROM failures WHERE pair = ?",
                                            (pair_key(secret, name, address),)).fetchone()
    except sqlite3.Error as error:
        raise ThrottleUnavailable(type(error).__name__) from error
    return max(0, math.ceil(row[0] - now)) if row else 0


def record_failure(data_dir: str, secret: str, name: str, address: str, now: float | None = None) -> int:
    """Count one failed login; return the seconds this name must now wait from this client (0 if none)."""
    now = time.time() if now is None else now
    pair = pair_key(secret, name, address)
    try:
        connection = _connection(data_dir)
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute("SELECT count, first, until FROM failures WHERE pair = ?", (pair,)).fetchone()
            count, first, until, expires = after_failure(row, now)
            connection.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                               (pair, count, first, until, expires))
            connection.execute("DELETE FROM failures WHERE expires < ?", (now,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as error:
        raise ThrottleUnavailable(type(error).__name__) from error
    return max(0, math.ceil(until - now))


def record_success(data_dir: str, secret: str, name: str, address: str) -> None:
    """Forget the pair's failures after a successful login."""
    try:
        _connection(data_dir).execute("DELETE FROM failures WHERE pair = ?", (pair_key(secret, name, address),))
    except sqlite3.Error as error:
        raise ThrottleUnavailable(type(error).__name__) from error


def after_failure(row: tuple[int, float, float] | None, now: float) -> tuple[int, float, float, float]:
    """A pair's (count, first, until, expires) once a failure at `now` is counted, from its
    (count, first, until) before it (None: no failure yet). Shared by every store of the throttle."""
    count, first = (row[0] + 1, row[1]) if row and now - row[1] < WINDOW else (1, now)
    until = now + LOCKOUT if count >= MAX_FAILURES else 0.0
    if until:
        count, first = 0, now
    elif row and row[2] > now:  # a failure let through before a lockout began never lifts it
        until = row[2]
    return count, first, until, max(first + WINDOW, until)
