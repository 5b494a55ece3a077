"""The lost-link requests, whatever keeps them: the `LinkRequests` interface (`store.link_requests`).

A request is an address someone typed on `/candidater/dossier-perdu/`, waiting for a mailer
to find its dossiers and mail their links (collector/link_requests.py does that work, on
either store). Two implementations: the data folder's request files (folder_link_requests.py,
delegating to link_requests.py's file code) and a PostgreSQL table that every host writes and
every host's mailer handles (postgres_link_requests.py). The address is personal data: a
request is removed once handled, and unhandled after link_requests.MAX_AGE at most.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..addresses import AddressError, Mailbox, mailbox_ignoring_ascii_case

if TYPE_CHECKING:
    from .outbox import Watch

# Given an address, the references the review index holds for its e-mail key; None when
# there is no usable index (then the store's own look-up is used).
IndexLookup = Callable[[str], "list[str] | None"]


@dataclass
class Claim:
    """One request taken by one mailer: its id, its address and when it was made (both None
    when it cannot be read). Set `handled` to have it removed when the claim ends."""

    id: str
    address: str | None
    made: datetime | None
    handled: bool = False


class LinkRequests(Protocol):
    """Where the requests wait. Every write is durable before the method returns."""

    def write(self, address: str) -> str:
        """Store one request durably for the mailer; its id (32 random hexadecimal digits)."""

    def write_unless_full(self, address: str, limit: int) -> str | None:
        """`write`, unless `limit` requests wait already: then None and nothing stored. The count and
        the write are atomic across workers and hosts (the data folder: one flock; PostgreSQL: one
        transaction under an advisory lock), so that concurrent writers never pass `limit` together."""

    def waiting(self) -> list[str]:
        """The ids of the requests waiting, oldest first."""

    def waiting_at_least(self, count: int) -> bool:
        """Do at least `count` requests wait? Read only until that many are found (the page asks
        on every request); OSError (StoreUnavailable) when it cannot be told."""

    def claim(self, skip: Collection[str] = ()) -> AbstractContextManager[Claim | None]:
        """The next waiting request not in `skip` that no other mailer holds (None: none left),
        held until the `with` ends; then removed if it was marked `handled` (durably, before
        the `with` ends), else left waiting. A mailer that dies meanwhile leaves it waiting."""

    def remove_expired(self, now: datetime | None = None) -> int:
        """Remove, unhandled, the requests older than MAX_AGE (and the unreadable ones); how many."""

    def remove_for_addresses(self, addresses: Collection[str], purged: Collection[str]) -> int:
        """Remove, unhandled, the waiting requests whose address is the mailbox of one of
        `addresses` (the contacts of the dossiers `purged`, which a purge forgets), unless a
        dossier not purged still names it as its contact (its porteur waits for that link);
        how many. A request a mailer holds is left to it: it finds no purged dossier."""

    def contacts(self, address: str, lookup: IndexLookup | None = None) -> dict[str, list[str]]:
        """{contact address as stored: its dossiers, in order} for the dossiers whose NEWEST
        version's contact is the mailbox `address` names (addresses.mailbox_ignoring_ascii_case)."""

    def watch(self) -> Watch:
        """What the mailer polls to learn that requests wait."""


def mailboxes(addresses: Iterable[str]) -> set[Mailbox]:
    """The mailboxes of `addresses` (addresses.mailbox_ignoring_ascii_case); unusable ones left out."""
    found = set()
    for address in addresses:
        try:
            found.add(mailbox_ignoring_ascii_case(address))
        except AddressError:
            continue
    return found


def only_for_purged(address: str, purged_mailboxes: set[Mailbox], requests: LinkRequests,
                    purged: Collection[str]) -> bool:
    """Does the request for `address` ask only for dossiers being purged: its mailbox is one of
    theirs, and no other dossier's newest contact is that mailbox?"""
    if not mailboxes([address]) & purged_mailboxes:
        return False
    others = {reference for references in requests.contacts(address).values() for reference in references}
    return not others - set(purged)
