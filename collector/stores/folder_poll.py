"""How the mailer learns, with one stat, that a data folder's folder may hold new names.

A folder whose modification time changed since the last look, or changed less than
RECENT_SECONDS ago (a name added within the same clock tick keeps the time: see mail/mailer.py),
may hold new names. The folder stores give one for their outbox and lost-link requests
(`watch()`), the mailer one for submissions/.
"""

from __future__ import annotations

import os
import time

RECENT_SECONDS = 2.0


class FolderWatch:
    """Tells whether a folder may hold new names since the last call (one stat)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._seen: int | None = None

    def changed(self) -> bool:
        try:
            mtime_ns = os.stat(self.folder).st_mtime_ns
        except FileNotFoundError:
            return False
        recent = time.time_ns() - mtime_ns < RECENT_SECONDS * 1e9
        changed = mtime_ns != self._seen or recent
        self._seen = mtime_ns
        return changed

    def still_for(self) -> float:
        """Seconds since the folder last changed, as of the last `changed()`."""
        return (time.time_ns() - self._seen) / 1e9 if self._seen is not None else float("inf")
