"""CSRF protection for the review pages: one random token per session, checked on every POST.

Every form carries `<input type="hidden" name="csrf_token">`; a POST whose token is
missing or differs from the session's (constant-time comparison) is refused with 403.
"""

from __future__ import annotations

import secrets
from hmac import compare_digest

from flask import request, session

from ..errors import Refusal

FIELD = "csrf_token"
SESSION_KEY = "csrf"


def token() -> str:
    """The session's token (created on first use)."""
    value = session.get(SESSION_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def protect() -> None:
    """A before_request guard: refuse unsafe methods without the right token."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    # compare_digest takes str only when both are ASCII: bytes keep a non-ASCII token a plain refusal
    if not expected or not sent or not compare_digest(str(expected).encode(), sent.encode("utf-8", "surrogatepass")):
        raise Refusal(403, "Jeton de sécurité absent ou expiré : rechargez la page et recommencez.")
