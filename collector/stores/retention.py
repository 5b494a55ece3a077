"""The RGPD purge's view of a store, whatever keeps it: the `Retention` interface.

Which dossiers were received before a day, and forgetting them entirely: the record, its
submission ids, its corrected versions, its review history and its mails (every part of
the store that holds a dossier's data). Two implementations: the data folder
(folder_retention.py, delegating to the file code that always kept each part) and
PostgreSQL (postgres_retention.py, one transaction per dossier). A store carries it as
`store.retention`; the command is collector/retention.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True)
class Received:
    """A dossier and its time of receipt (Paris time, as the record says it)."""

    reference: str
    received_at: datetime


@dataclass(frozen=True)
class Aged:
    """The dossiers received before a day, oldest first, and the files a person must look at
    by hand (the data folder's unreadable records: they cannot be dated), in French."""

    dossiers: list[Received]
    warnings: list[str] = field(default_factory=list)


class Retention(Protocol):
    def received_before(self, day: date) -> Aged:
        """The dossiers received before `day` (a Paris day), oldest first."""

    def forget(self, references: Sequence[str]) -> Iterator[str]:
        """Delete each dossier entirely, one after the other, durably, yielding its reference
        once it is gone (nothing is deleted unless the iterator is consumed). A failure raises
        OSError (StoreUnavailable for the database) and leaves that dossier for the next purge
        to find again and finish."""
