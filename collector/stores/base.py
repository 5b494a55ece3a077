"""What the collector keeps, whatever keeps it: the `Store` interface and its errors.

Two implementations: the data folder (folder.py, the default, embedded store) and
PostgreSQL (postgres.py, for several collector hosts). Call sites ask
`appstate.store()` and never test which one they hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..ratelimit import RateLimiter
from .reviewers import Reviewers

if TYPE_CHECKING:
    from .link_requests import LinkRequests
    from .dossier_posts import DossierPosts
    from .outbox import Outbox
    from .retention import Retention
from .histories import Histories, Versions
from .review_source import ReviewSource


FORM_LIMITER = "envoi"  # the rate limiter of the form's posts


class StoreUnavailable(OSError):
    """The store cannot be reached or refused a write right now: answer 503, store nothing.

    An OSError, as a failing disk is for the data folder, so every caller that already
    turns a storage failure into a 503 does the same for the database."""


class StoreConfigError(RuntimeError):
    """The configured store cannot be used at all (start-up); the message is French and says how to fix it."""


class TransferRefused(RuntimeError):
    """migrate-store or dump cannot run, or its copy did not verify; nothing was kept. French."""


class Store(Protocol):
    """The collector's durable state. Every write is durable before the method returns."""

    kind: str  # "dossier" or "postgresql", for messages
    # True when the store also keeps the review tools' data (see unshared.py)
    shares_everything: bool
    outbox: Outbox  # the mail outbox (outbox.py)
    reviewers: Reviewers  # accounts, sessions, login throttle (reviewers.py)
    histories: Histories  # each dossier's review history (histories.py)
    versions: Versions  # each dossier's corrected versions (histories.py)
    dossier_posts: DossierPosts  # a porteur's corrections and replies, each stored once (dossier_posts.py)
    retention: Retention  # the RGPD purge: old dossiers, each forgotten entirely (retention.py)
    link_requests: LinkRequests  # the lost-link requests waiting for a mailer (link_requests.py)
    review_source: ReviewSource  # what the review index is made from (review_source.py)

    # --- references and submission ids (intake) ---
    def lookup_submission(self, submission_id: str) -> str | None:
        """The reference already given to this submission id, if any."""

    def reference_for(self, submission_id: str, prefix: str) -> tuple[str, bool]:
        """The submission id's reference: (the one it already holds, False) or (a new one claimed
        for it now, True). A new reference (`AMI-2021-0042`) is never handed out twice, across
        workers and hosts."""

    def release_submission(self, submission_id: str, reference: str) -> None:
        """Take back the id's claim on `reference` (its record could not be written)."""

    # --- records ---
    def write_record(self, record: dict[str, Any]) -> bool:
        """Store a new record durably; False (nothing written) when its reference already has one."""

    def read_record(self, reference: str) -> dict[str, Any] | None:
        """The first record of a reference as written, or None; RecordError if unreadable."""

    def has_record(self, reference: str) -> bool:
        """True when the reference has a record."""

    def latest_record(self, reference: str) -> dict[str, Any]:
        """The newest version of a dossier with `version` and `versions`; RecordError if unreadable."""

    def references(self) -> list[str]:
        """Every stored reference, in order."""

    def record_file(self, reference: str) -> str | None:
        """The record's file, for a store that keeps files a reader can open (the data folder); else None."""

    def record_text(self, reference: str) -> bytes:
        """The stored YAML document of a reference's first record, byte for byte."""

    def submission_links(self) -> list[tuple[str, str]]:
        """Every (submission id, reference) claimed, by submission id."""

    def last_reference_number(self, prefix: str) -> int:
        """The highest reference number handed out (0: none)."""

    # --- rate limit ---
    def rate_limiter(self, name: str, limit: int, window: int, secret: str) -> RateLimiter:
        """The limiter `name` (one window size each), shared by every worker and host of this store."""

    # --- running ---
    def check(self) -> str | None:
        """None when the store can be written now; else a French reason (for /healthz)."""

    def close(self) -> None:
        """Release connections (the folder store holds none)."""
