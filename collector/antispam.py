"""Robots, without third parties: a signed time stamp with a one-time id, and a honeypot.

Each form page carries three fields: `jeton` (the submission id and the time the page
was made, signed with itsdangerous), `id_envoi` (the same id, readable) and `site_web`,
a honeypot that people never see and assistive technologies never announce. A post
with the honeypot filled, or sent sooner than COLLECTOR_MIN_FILL_SECONDS after the page
was made, is answered politely and discarded.

A token may also be bound to something of the client (`bound_to`: the lost-link page binds
it to the client's network): it then carries a keyed hash of that value, and a post whose
client gives another value is not the page's proof. (The address itself never enters the
token: it travels to the client and back, and must stay of no use to anyone who reads it.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

TOKEN_FIELD = "jeton"
SUBMISSION_ID_FIELD = "id_envoi"
HONEYPOT_FIELD = "site_web"
HIDDEN_FIELDS = (TOKEN_FIELD, SUBMISSION_ID_FIELD, HONEYPOT_FIELD)
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class TokenCheck:
    """What a posted token says: valid or not, the submission id, the page's age in seconds."""

    valid: bool
    submission_id: str | None = None
    age: float = 0.0
    expired: bool = False


class Tokens:
    """Issue and check the signed form tokens with the app's secret key."""

    def __init__(self, secret_key: str, max_age: float) -> None:
        self.serializer = URLSafeSerializer(secret_key, salt="ami-formulaire")
        self.binding_key = hmac.new(secret_key.encode("utf-8"), b"ami-jeton-lie", hashlib.sha256).digest()
        self.max_age = max_age

    def _binding(self, value: str) -> str:
        """A keyed hash of what the token is bound to (never the value itself)."""
        return hmac.new(self.binding_key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def issue(self, now: float | None = None, bound_to: str | None = None) -> dict[str, str]:
        """Fresh hidden fields for one form page (its token bound to `bound_to` if given)."""
        submission_id = secrets.token_urlsafe(18)
        stamp = round(now if now is not None else time.time(), 3)
        payload: list[Any] = [submission_id, stamp]
        if bound_to is not None:
            payload.append(self._binding(bound_to))
        return {TOKEN_FIELD: self.serializer.dumps(payload),
                SUBMISSION_ID_FIELD: submission_id, HONEYPOT_FIELD: ""}

    def check(self, token: Any, submission_id: Any, now: float | None = None,
              bound_to: str | None = None) -> TokenCheck:
        """Verify a posted token against the posted submission id (and, with `bound_to`, that
        it was issued bound to that same value: a token issued unbound, or to another, is invalid)."""
        if not isinstance(token, str) or not isinstance(submission_id, str) or len(token) > 200:
            return TokenCheck(False)
        try:
            payload = self.serializer.loads(token)
        except (BadSignature, ValueError, TypeError):
            return TokenCheck(False)
        if not isinstance(payload, list) or len(payload) != (2 if bound_to is None else 3):
            return TokenCheck(False)
        signed_id, stamp = payload[:2]
        if not isinstance(signed_id, str) or not _ID.fullmatch(signed_id) or signed_id != submission_id \
                or not isinstance(stamp, (int, float)):
            return TokenCheck(False)
        if bound_to is not None and not (isinstance(payload[2], str)
                                         and hmac.compare_digest(payload[2], self._binding(bound_to))):
            return TokenCheck(False)
        age = (now if now is not None else time.time()) - stamp
        if age > self.max_age:
            return TokenCheck(False, signed_id, age, expired=True)
        return TokenCheck(True, signed_id, age)


def honeypot_filled(value: Any) -> bool:
    """True when the hidden field holds anything: only a robot fills it."""
    if isinstance(value, list):
        return any(honeypot_filled(item) for item in value)
    return bool(value) and bool(str(value).strip())
