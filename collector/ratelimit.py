"""A per-client limit on posts that every gunicorn worker shares (sqlite3 in $DATA/state).

A sliding window, counted per fixed window: a post is allowed while the posts of the
current window, plus those of the previous window weighted by how much of it still lies
within the last `window` seconds, stay within `limit`. (Fixed windows alone would let a
burst straddling a window's end through twice.) Clients are grouped as clientaddr.py
says (an IPv4 address, an IPv6 /64) and stored as keyed hashes, never the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import sqlite3
import time
from dataclasses import dataclass

from . import sqlite_files
from .clientaddr import client_group
from .sequence import STATE_DIR

DB_FILE = "ratelimit.sqlite3"
SCHEMA = "CREATE TABLE IF NOT EXISTS hits (client TEXT, window INTEGER, count INTEGER, PRIMARY KEY (client, window))"


@dataclass(frozen=True)
class Hit:
    """One post as a limiter saw it: `wait` None if allowed, else the seconds to wait (Retry-After);
    `counted` False when the store could not count it (it goes on uncounted, see `_counts`)."""

    wait: int | None
    counted: bool


class RateLimiter:
    def __init__(self, data_dir: str, limit: int, window: int, secret: str) -> None:
        self.path = os.path.join(data_dir, STATE_DIR, DB_FILE)
        self.limit = limit
        self.window = window
        self.secret = secret.encode("utf-8")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the limit's file (sqlite_files: closed with the app's folder)."""
        kept = sqlite_files.cached(self.path)
        if kept is not None:
            return kept[0]
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute(SCHEMA)
        return sqlite_files.keep(self.path, connection)

    def client_key(self, address: str) -> str:
        """A keyed hash of the client's group (its IPv4 address or IPv6 /64)."""
        return hmac.new(self.secret, client_group(address).encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def hit(self, address: str, now: float | None = None) -> int | None:
        """Count one post; None if allowed, else the seconds to wait (for Retry-After)."""
        return self.counted_hit(address, now).wait

    def counted_hit(self, address: str, now: float | None = None) -> Hit:
        """`hit`, saying also whether the post was counted: only a counted post may be given back."""
        now = time.time() if now is None else now
        window = int(now // self.window)
        counts = self._counts(self.client_key(address), window)
        if counts is None:
            return Hit(None, counted=False)  # allowed uncounted: giving it back would take an earlier post's
        count, previous_count = counts
        elapsed = (now - window * self.window) / self.window  # fraction of this window gone
        if count + previous_count * (1 - elapsed) <= self.limit:
            return Hit(None, counted=True)
        return Hit(max(1, math.floor(self._seconds_until_allowed(elapsed, count, previous_count)) + 1), counted=True)

    def give_back(self, address: str, now: float) -> None:
        """Take back one post that `hit` counted at `now` (the same time): another limit refused it.
        Never for a post it could not count (`counted_hit`): that would free one of the earlier ones."""
        self._uncount(self.client_key(address), int(now // self.window))

    def _uncount(self, client: str, window: int) -> None:
        try:
            self._connection().execute("UPDATE hits SET count = count - 1 WHERE client = ? AND window = ? "
                                       "AND count > 0", (client, window))
        except sqlite3.Error as error:  # as in _counts: the post stays counted, nothing fails
            logging.getLogger(__name__).warning("rate limit not taken back: %s", error.__class__.__name__)

    def _counts(self, client: str, window: int) -> tuple[int, int] | None:
        """Count one post of `client` in `window`; (its count there, its count in the window before).

        None when it could not be counted: a full disk or a stuck database must not turn a
        post into a server error; the post goes on uncounted, and storing it fails cleanly
        (503) if the disk is full."""
        try:
            connection = self._connection()
            (count,) = connection.execute(
                "INSERT INTO hits VALUES (?, ?, 1) ON CONFLICT (client, window) DO UPDATE SET count = count + 1 "
                "RETURNING count", (client, window)).fetchone()
            if count == 1:
                connection.execute("DELETE FROM hits WHERE window < ?", (window - 1,))
            previous = connection.execute("SELECT count FROM hits WHERE client = ? AND window = ?",
                                          (client, window - 1)).fetchone()
        except sqlite3.Error as error:
            logging.getLogger(__name__).warning("rate limit not counted: %s", error.__class__.__name__)
            return None
        return count, (previous[0] if previous else 0)

    def _seconds_until_allowed(self, elapsed: float, count: int, previous: int) -> float:
        """How long until one more post passes, this refused one counted (`count` includes it).

        Within this window the previous window's weight must fall until
        count + 1 + previous × (1 − f) ≤ limit; in the next one, this window's posts weigh
        count × (1 − f) and one post passes once 1 + count × (1 − f) ≤ limit.
        """
        room = self.limit - count - 1
        if previous and room > 0:
            return (max(elapsed, 1 - room / previous) - elapsed) * self.window
        return (1 - elapsed + max(0.0, 1 - (self.limit - 1) / count)) * self.window
