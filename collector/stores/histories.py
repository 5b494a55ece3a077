"""A dossier's life after « reçu », whatever keeps it: the `Histories` and `Versions` interfaces.

Storage only. What may be appended, and the French refusals, stay in the domain
(statuses.py for histories, dossier.py for versions), which hands the storage a function
to run under the reference's lock. Two implementations each: the data folder
(folder_histories.py, delegating to the file code of statuses.py and dossier.py) and
PostgreSQL (postgres_histories.py). A store carries them as `store.histories` and
`store.versions`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


# Given the history as stored now (parsed, not yet checked; None when the reference has none),
# returns the history to store, one event longer; raises (statuses.StatusError) to refuse.
HistoryChange = Callable[[Any], dict[str, Any]]


class Histories(Protocol):
    """Each dossier's review history: one YAML document per reference (statuses.py's layout)."""

    def read(self, reference: str) -> Any:
        """The stored history, parsed but not checked; None when the reference has none;
        yamlio.YamlFileError when it cannot be parsed."""

    def append(self, reference: str, change: HistoryChange) -> dict[str, Any]:
        """Under the reference's lock (across workers and hosts): read the history, store what
        `change` makes of it, durably before returning it. When `change` raises, nothing is stored.
        statuses.NoRecord (nothing stored) when the record is gone, checked under that lock, which
        the purge holds while it deletes the dossier."""

    def references(self) -> list[str]:
        """The references that have a history, in order."""

    def marks(self) -> dict[str, object]:
        """Each reference that has a history, with a mark that changes whenever its history does
        (cheap: what the mailer's catch-up compares at each pass)."""

    def text(self, reference: str) -> bytes | None:
        """The stored YAML document, byte for byte (dump and migrate-store); None when none."""

    def remove(self, reference: str) -> bool:
        """Delete a reference's history (purge); True when there was one."""


class Versions(Protocol):
    """The corrected versions of a dossier's answers (2, 3…), each written once (dossier.py)."""

    def numbers(self, reference: str) -> list[int]:
        """The version numbers stored (2, 3…), in order; [] when never corrected."""

    def marks(self) -> dict[str, object]:
        """Each corrected reference, with a mark that changes whenever a version is added."""

    def read(self, reference: str, number: int) -> dict[str, Any]:
        """One version as a record; records.RecordError when missing or unreadable."""

    def text(self, reference: str, number: int) -> bytes:
        """One version's YAML document, byte for byte (the data folder's v<N>.yaml)."""

    def write(self, reference: str, number: int, document: bytes) -> None:
        """Store a new version durably; FileExistsError (nothing written) when that number is taken."""

    def remove(self, reference: str) -> int:
        """Delete a dossier's corrected versions (purge); how many were removed."""
