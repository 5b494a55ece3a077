"""The same answers sent again from the same browser within a day lead to the existing dossier.

Going back after sending and sending again gives the form page a new submission id, so
idempotency.py cannot tell; this does. After a record is stored, the browser gets a
signed cookie (itsdangerous, timed: one day) listing the references it sent with the
first characters of their content hash. A post whose answers have one of those hashes
is answered with that dossier instead of a new record. The cookie holds no answer and
no address; a forged or stale one is ignored; another browser is never matched.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import kept_briefly
from ..events import record_stored
from ..records import content_hash
from ..stores import Store
from .. import appstate

COOKIE = kept_briefly.SAME_BROWSER_COOKIE
MAX_AGE = kept_briefly.SAME_BROWSER_HOURS * 3600  # the privacy page states it
KEEP = 5  # references remembered per browser
HASH_CHARS = 24


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(appstate.secret(), salt="ami-envois-navigateur")


def _sent_from_this_browser() -> list[list[str]]:
    try:
        entries = _serializer().loads(request.cookies.get(COOKIE, ""), max_age=MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return []
    return [entry for entry in entries if isinstance(entry, list) and len(entry) == 2][:KEEP] \
        if isinstance(entries, list) else []


def recent_reference(store: Store, answers: dict[str, Any]) -> str | None:
    """The reference this browser got within a day for exactly these answers, if any."""
    fingerprint = content_hash(answers)[:HASH_CHARS]
    for reference, stored_hash in _sent_from_this_browser():
        if stored_hash == fingerprint and store.has_record(str(reference)):
            return str(reference)
    return None


def _remember(sender: Any, record: dict[str, Any] | None = None, **_extra: Any) -> None:
    if record is not None and has_request_context():
        g.ami_stored = (record["reference"], str(record["content_hash"])[:HASH_CHARS])


def init_app(app: Flask) -> None:
    record_stored.connect(_remember, weak=False)

    @app.after_request
    def _set_cookie(response: Response) -> Response:
        stored = g.pop("ami_stored", None)
        if stored is None:
            return response
        entries = [list(stored)] + [entry for entry in _sent_from_this_browser() if entry[0] != stored[0]]
        response.set_cookie(COOKIE, _serializer().dumps(entries[:KEEP]), max_age=MAX_AGE, path="/candidater/",
                            secure=app.config.get("SESSION_COOKIE_SECURE", True), httponly=True, samesite="Lax")
        return response
