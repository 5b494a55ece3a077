"""The RGPD purge's view of a store, whatever keeps it: the `Retention` interface.

Which dossiers were received before a day, and forgetting them entirely: the record, its
submission ids, its corrected versions, its review history and its mails (every part of
the store that holds a dossier's data), and the waiting lost-link requests that name its
contact addresses (`forget_link_requests`). Two implementations: the data folder
(folder_retention.py, delegating to the file code that always kept each part) and
PostgreSQL (postgres_retention.py, one transaction per dossier). A store carries it as
`store.retention`; the command is collector/retention.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .base import Store


@dataclass(frozen=True)
class Received:
    """A dossier and its time of receipt (Paris time, as the record says it; None when an
    erasure names a dossier whose record cannot be read)."""

    reference: str
    received_at: datetime | None


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


def contact_addresses(store: Store, reference: str) -> list[str]:
    """Every contact address the dossier's versions give (its first record's and each
    correction's); none when a version cannot be parsed. The store out of reach raises
    (StoreUnavailable): the purge then stops before the dossier is touched."""
    from ..dossier import all_versions
    from ..records import RecordError

    try:
        versions = all_versions(store, reference)
    except (RecordError, KeyError, TypeError):
        return []
    return [str(version["answers"]["contact_email"]) for version in versions
            if isinstance(version.get("answers"), dict) and version["answers"].get("contact_email")]


def forget_link_requests(store: Store, reference: str) -> int:
    """Remove the waiting lost-link requests for the dossier's contact addresses (any version's),
    but those of an address that another dossier still has as its contact; how many. Called
    before the dossier itself is deleted: if this fails, the dossier is left whole for the next
    purge. A request written after this call finds no dossier for that address once the purge
    is done, and the mailer removes it without a mail (no mail of a purged dossier is queued:
    Outbox.queue refuses it under the dossier's lock)."""
    if not store.link_requests.waiting():
        return 0  # the usual case: no request waits, no record to read
    return store.link_requests.remove_for_addresses(contact_addresses(store, reference), [reference])
