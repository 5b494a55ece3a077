"""One wait per request for a store out of reach.

A request may ask the store several times (the rate limit per client, per network, then the
write); with PostgreSQL down, each ask waits for the pool's timeout. Within a scope (each web
request: `begin` and `end` in stores.init_app), the first StoreUnavailable is remembered and every later ask
fails at once with it, so the porteur waits once, not three times. Outside a request (the
mailer's rounds, commands) nothing is remembered: each ask tries again.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from .base import StoreUnavailable

_failure: ContextVar[list[StoreUnavailable] | None] = ContextVar("store_failure_in_this_request", default=None)


def begin() -> Token[list[StoreUnavailable] | None]:
    """Open a scope (a request's start); close it with `end(token)`."""
    return _failure.set([])


def end(token: Token[list[StoreUnavailable] | None]) -> None:
    _failure.reset(token)


def raise_if_known_unavailable() -> None:
    """Fail at once if the store was found out of reach earlier in this scope."""
    failures = _failure.get()
    if failures:
        raise StoreUnavailable(str(failures[0]))


def remember(error: StoreUnavailable) -> None:
    """Note a store out of reach for the rest of this scope (no-op outside one)."""
    failures = _failure.get()
    if failures is not None and not failures:
        failures.append(error)
