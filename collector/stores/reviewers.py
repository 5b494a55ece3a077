"""Reviewer accounts, their sessions and the login throttle, whatever keeps them: the `Reviewers`
interface, reached as `store.reviewers`.

Two implementations: the data folder's (folder_reviewers.py: `accounts/users.yaml` and
`state/login-throttle.sqlite3`, through review/users.py and review/throttle.py) and
PostgreSQL's (postgres_reviewers.py: shared by every host). Both apply the same rules, from
those two modules: names and passwords (UserError, in French), scrypt hashes, a random session
generation per account checked in constant time, a dummy hash checked for an unknown name,
and the throttle's counting (5 failures within 15 minutes lock the (name, client) pair for
15 minutes; a success forgets it), keyed hashes only.
"""

from __future__ import annotations

from typing import Any, Protocol


class Reviewers(Protocol):
    """Every write is durable before the method returns."""

    # --- accounts ---
    def account(self, name: str) -> dict[str, Any] | None:
        """The account `name` ({password_hash, created_at, session}), or None."""

    def accounts(self) -> dict[str, dict[str, Any]]:
        """Every account by name; UserError (French) when they cannot be read."""

    def set_password(self, name: str, password: str) -> bool:
        """Create the account, or change its password and end its sessions; True if it was created.
        UserError (French) for a refused name or password, nothing written."""

    def remove(self, name: str) -> bool:
        """Remove the account if it exists (its sessions end); False if there was none."""

    # --- sessions ---
    def end_sessions(self, name: str) -> str | None:
        """End every session of the account (a new generation); that generation, None if no such account."""

    def session_generation(self, name: str) -> str | None:
        """The account's current generation, copied into a session at login; None if no such account."""

    def session_is_current(self, name: str, generation: Any) -> bool:
        """True if the account exists and `generation` is its current one (constant-time check)."""

    def authenticate(self, name: str, password: str) -> bool:
        """True if the account exists and `password` is its password (as slow for an unknown name)."""

    # --- login throttle, per (name, client group), keyed with `secret` ---
    def locked_for(self, secret: str, name: str, address: str, now: float | None = None) -> int:
        """Seconds left before this name may try again from this client (0: may try now)."""

    def record_failure(self, secret: str, name: str, address: str, now: float | None = None) -> int:
        """Count one failed login; the seconds this name must now wait from this client (0 if none)."""

    def record_success(self, secret: str, name: str, address: str) -> None:
        """Forget the pair's failures after a successful login."""
