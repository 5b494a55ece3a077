"""PostgreSQL's reviewer accounts and login throttle (schema 0004): shared by every host, so a
session opened through one host is recognised, and ended, through any other, and failed logins
are counted across hosts.

Each method runs in one transaction of the store's pool, committed before it returns (durable
with the default synchronous_commit); a server out of reach is StoreUnavailable (a French 503).
The rules are review/users.py's and review/throttle.py's, shared with the data folder.

- Accounts: `reviewer_accounts`; a password is hashed before the transaction starts (scrypt
  takes a tenth of a second, which no row lock should wait for).
- Throttle: `login_failures`, keyed hashes only. A failure first inserts the pair's row if it
  has none, then locks it (`SELECT … FOR UPDATE`) before counting: failures of one pair sent to
  several hosts at once queue on that lock, and none is lost. Expired pairs are deleted on
  each failure, skipping rows another failure holds (`SKIP LOCKED`: no waiting, no deadlock).
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..review import throttle, users

if TYPE_CHECKING:
    from .postgres import PostgresStore

PARIS = ZoneInfo("Europe/Paris")
_ACCOUNT_COLUMNS = "name, password_hash, created_at, session_generation"


def _account(row: tuple[Any, ...]) -> dict[str, Any]:
    """An account as the data folder's users.yaml holds it."""
    _name, password_hash, created_at, generation = row
    created = created_at.astimezone(PARIS).isoformat(timespec="seconds") if isinstance(created_at, datetime) else None
    return {"password_hash": password_hash, "created_at": created, "session": generation}


class PostgresReviewers:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    # --- accounts ---

    def account(self, name: str) -> dict[str, Any] | None:
        row = self.store._one(f"SELECT {_ACCOUNT_COLUMNS} FROM reviewer_accounts WHERE name = %s", (name,))
        return _account(row) if row else None

    def accounts(self) -> dict[str, dict[str, Any]]:
        with self.store._connection() as connection:
            rows = connection.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM reviewer_accounts ORDER BY name").fetchall()
        return {row[0]: _account(row) for row in rows}

    def set_password(self, name: str, password: str) -> bool:
        password_hash = users.checked_password_hash(name, password)  # UserError before anything is written
        row = self.store._one(
            "INSERT INTO reviewer_accounts (name, password_hash, session_generation) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
            "session_generation = excluded.session_generation "
            "RETURNING (xmax = 0)",  # xmax is 0 for a row this statement inserted, not for one it updated
            (name, password_hash, users.new_generation()))
        return bool(row and row[0])

    def remove(self, name: str) -> bool:
        return self.store._one("DELETE FROM reviewer_accounts WHERE name = %s RETURNING 1", (name,)) is not None

    # --- sessions ---

    def end_sessions(self, name: str) -> str | None:
        row = self.store._one("UPDATE reviewer_accounts SET session_generation = %s WHERE name = %s "
                              "RETURNING session_generation", (users.new_generation(), name))
        return str(row[0]) if row else None

    def session_generation(self, name: str) -> str | None:
        row = self.store._one("SELECT session_generation FROM reviewer_accounts WHERE name = %s", (name,))
        return str(row[0]) if row else None

    def session_is_current(self, name: str, generation: Any) -> bool:
        return users.generation_matches(self.session_generation(name), generation)

    def authenticate(self, name: str, password: str) -> bool:
        row = self.store._one("SELECT password_hash FROM reviewer_accounts WHERE name = %s", (name,))
        return users.password_matches(row[0] if row else None, password)

    # --- login throttle ---

    def locked_for(self, secret: str, name: str, address: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        row = self.store._one("SELECT locked_until FROM login_failures WHERE pair = %s",
                              (throttle.pair_key(secret, name, address),))
        return max(0, math.ceil(row[0] - now)) if row else 0

    def record_failure(self, secret: str, name: str, address: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        pair = throttle.pair_key(secret, name, address)
        with self.store._connection() as connection:
            # A row with no failure yet, so that there is a row to lock (a concurrent insert of the
            # same pair waits for this one's commit, then finds the row).
            connection.execute("INSERT INTO login_failures VALUES (%s, 0, %s, 0, %s) ON CONFLICT (pair) DO NOTHING",
                               (pair, now, now + throttle.WINDOW))
            row = connection.execute("SELECT failures, first_at, locked_until FROM login_failures WHERE pair = %s "
                                     "FOR UPDATE", (pair,)).fetchone()
            count, first, until, expires = throttle.after_failure(row, now)
            connection.execute(
                "INSERT INTO login_failures VALUES (%s, %s, %s, %s, %s) ON CONFLICT (pair) DO UPDATE SET "
                "failures = excluded.failures, first_at = excluded.first_at, locked_until = excluded.locked_until, "
                "expires_at = excluded.expires_at", (pair, count, first, until, expires))
            connection.execute("DELETE FROM login_failures WHERE pair IN (SELECT pair FROM login_failures "
                               "WHERE expires_at < %s FOR UPDATE SKIP LOCKED)", (now,))
        return max(0, math.ceil(until - now))

    def record_success(self, secret: str, name: str, address: str) -> None:
        self.store._one("DELETE FROM login_failures WHERE pair = %s RETURNING 1",
                        (throttle.pair_key(secret, name, address),))
