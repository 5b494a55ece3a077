"""The porteur's signed link to a dossier: `/candidater/recu/<REF>?cle=<key>`.

Porteurs have no account: the key, an HMAC of the reference with the collector's secret
(itsdangerous, salt "ami-accuse-reception", the receipt's since the first version, so
that links already sent keep working), stands for one. It is checked in constant time
(itsdangerous compares signatures with hmac.compare_digest); a wrong or truncated key
and an unknown reference get the same answer, so references cannot be enumerated.
"""

from __future__ import annotations

from urllib.parse import quote

from itsdangerous import BadSignature, Signer

SALT = "ami-accuse-reception"
DOSSIER_PATH = "/candidater/recu/{reference}"


def _signer(secret: str) -> Signer:
    return Signer(secret, salt=SALT)


def dossier_key(secret: str, reference: str) -> str:
    """The key of one dossier's link."""
    return _signer(secret).get_signature(reference.encode("ascii")).decode("ascii")


def key_is_valid(secret: str, reference: str, key: str | None) -> bool:
    """True when `key` is the dossier's key (constant-time comparison)."""
    try:
        return _signer(secret).verify_signature(reference.encode("ascii"), (key or "").encode("ascii"))
    except (BadSignature, UnicodeEncodeError):
        return False


def dossier_path(secret: str, reference: str, action: str = "") -> str:
    """The dossier page's path with its key (`action`: a sub-page such as "corriger")."""
    path = DOSSIER_PATH.format(reference=reference) + (f"/{action}" if action else "")
    return f"{path}?cle={quote(dossier_key(secret, reference))}"


def dossier_url(public_url: str, secret: str, reference: str) -> str:
    """The dossier's absolute link, for e-mails."""
    return public_url.rstrip("/") + dossier_path(secret, reference)
