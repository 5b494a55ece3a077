"""A porteur's posts on the dossier page, whatever keeps them: the `DossierPosts` interface.

A correction (a new version and its `correction` event) or a reply (a `reponse_porteur`
event) is written as ONE unit with the one-time submission id of the form that sent it:
either all of it is stored, or nothing (PostgreSQL: one transaction), or what is left a
retry finishes (the data folder, see folder_dossier_posts.py). The check that allows the
post (corrections still open, a reply awaited) runs on the history as read under the
reference's lock, in that unit, so a status change racing the post is seen. A store
carries it as `store.dossier_posts`; the data folder's implementation is
folder_dossier_posts.py, PostgreSQL's postgres_dossier_posts.py.

A submission id is claimed for the dossier's reference: a post that comes again with the
same id (a double click, a retry after a lost answer, through another host) stores nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

from .histories import HistoryChange


class EventPending(Exception):
    """The version is stored durably but its history event (or the id's claim) could not be
    written: the correction is kept, and the next post of that dossier writes what is missing."""


class DossierPosts(Protocol):
    def claimed(self, submission_id: str) -> str | None:
        """The reference this submission id was claimed for, if any."""

    def write(self, reference: str, change: HistoryChange, *, version: tuple[int, bytes] | None = None,
              submission_id: str | None = None) -> dict[str, Any] | None:
        """Under the reference's lock: when `submission_id` is already claimed, store nothing and
        return None; else store version (number, YAML document) if given, the history as `change`
        makes it (it raises to refuse: nothing stored) and the id's claim, durably before
        returning the history. statuses.NoRecord (nothing stored) when the record is gone, as seen
        under the lock (a purge holds it); FileExistsError (nothing stored) when the version's number is taken;
        EventPending when the version alone is stored (the data folder only)."""
