"""The porteur's signed link to a dossier: `/candidater/recu/<REF>?cle=<key>`.

Porteurs have no account: the key, an HMAC of the reference with the collector's secret
(itsdangerous, salt "ami-accuse-reception", the receipt's since the first version, so
that links already sent keep working), stands for one. It is checked in constant time
(itsdangerous compares signatures with hmac.compare_digest); a wrong or truncated key
and an unknown reference get the same answer, so references cannot be enumerated.

A dossier's link can be revoked (porteur/revocation.py): each revocation raises the
dossier's link generation, kept in its history. Generation 0, every dossier's until its
first revocation, signs the reference alone (the historic key); generation N > 0 signs
`<REF>.<N>` (a reference never holds a dot, so no other dossier's key can match). Only
the current generation's key opens the dossier: callers pass it, read from the history.
"""

from __future__ import annotations

from urllib.parse import quote

from itsdangerous import BadSignature, Signer

SALT = "ami-accuse-reception"
DOSSIER_PATH = "/candidater/recu/{reference}"


def _signer(secret: str) -> Signer:
    return Signer(secret, salt=SALT)


def _signed_value(reference: str, generation: int) -> bytes:
    """What the key signs: the reference at generation 0 (links sent before revocation existed)."""
    return (reference if generation == 0 else f"{reference}.{generation}").encode("ascii")


def dossier_key(secret: str, reference: str, generation: int = 0) -> str:
    """The key of one dossier's link at one link generation."""
    return _signer(secret).get_signature(_signed_value(reference, generation)).decode("ascii")


def key_is_valid(secret: str, reference: str, key: str | None, generation: int = 0) -> bool:
    """True when `key` is the dossier's key at `generation` (constant-time comparison)."""
    try:
        return _signer(secret).verify_signature(_signed_value(reference, generation), (key or "").encode("ascii"))
    except (BadSignature, UnicodeEncodeError):
        return False


def dossier_path(secret: str, reference: str, action: str = "", generation: int = 0) -> str:
    """The dossier page's path with its key (`action`: a sub-page such as "corriger")."""
    path = DOSSIER_PATH.format(reference=reference) + (f"/{action}" if action else "")
    return f"{path}?cle={quote(dossier_key(secret, reference, generation))}"


def dossier_url(public_url: str, secret: str, reference: str, generation: int = 0) -> str:
    """The dossier's absolute link, for e-mails."""
    return public_url.rstrip("/") + dossier_path(secret, reference, generation=generation)
