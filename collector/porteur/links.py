"""The porteur's signed link to a dossier: `/candidater/recu/<REF>?cle=<key>`.

Porteurs have no account: the key, an HMAC of the reference with the collector's secret
(itsdangerous, salt "ami-accuse-reception", the receipt's since the first version, so
that links already sent keep working), stands for one. It is checked in constant time
(itsdangerous compares signatures with hmac.compare_digest); a wrong or truncated key
and an unknown reference get the same answer, so references cannot be enumerated.

A dossier's link can be revoked (porteur/revocation.py): each revocation raises the
dossier's link generation, kept in its history. Generation 0, every dossier's until its
first revocation, signs the reference alone (the historic key); generation N > 0 signs
`<REF>.<N>` (a reference never holds a dot, so no other dossier's key can match) and the
key says which generation it claims: `<N>.<signature>` (a signature never holds a dot).
So a forged key is refused by the signature alone, before anything is read from the store;
only a genuine key (`key_generation`) is then compared with the dossier's current
generation, read from its history: a revoked key gets the same answer as a wrong one.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from itsdangerous import BadSignature, Signer

SALT = "ami-accuse-reception"
DOSSIER_PATH = "/candidater/recu/{reference}"
# `<N>.<signature>`: a generation from 1 to 99999, written without a leading zero.
_CLAIMED_GENERATION = re.compile(r"([1-9][0-9]{0,4})\.(.*)", re.S)


def _signer(secret: str) -> Signer:
    return Signer(secret, salt=SALT)


def _signed_value(reference: str, generation: int) -> bytes:
    """What the key signs: the reference at generation 0 (links sent before revocation existed)."""
    return (reference if generation == 0 else f"{reference}.{generation}").encode("ascii")


def dossier_key(secret: str, reference: str, generation: int = 0) -> str:
    """The key of one dossier's link at one link generation."""
    signature = _signer(secret).get_signature(_signed_value(reference, generation)).decode("ascii")
    return signature if generation == 0 else f"{generation}.{signature}"


def key_generation(secret: str, reference: str, key: str | None) -> int | None:
    """The link generation `key` was signed for, when it is a genuine key of this dossier (its
    signature compared in constant time); None for any other key."""
    claimed = _CLAIMED_GENERATION.fullmatch(key or "")
    generation, signature = (int(claimed.group(1)), claimed.group(2)) if claimed else (0, key or "")
    try:
        valid = _signer(secret).verify_signature(_signed_value(reference, generation), signature.encode("ascii"))
    except (BadSignature, UnicodeEncodeError):
        return None
    return generation if valid else None


def key_is_valid(secret: str, reference: str, key: str | None, generation: int = 0) -> bool:
    """True when `key` is the dossier's key at `generation` (constant-time comparison)."""
    return key_generation(secret, reference, key) == generation


def dossier_path(secret: str, reference: str, action: str = "", generation: int = 0) -> str:
    """The dossier page's path with its key (`action`: a sub-page such as "corriger")."""
    path = DOSSIER_PATH.format(reference=reference) + (f"/{action}" if action else "")
    return f"{path}?cle={quote(dossier_key(secret, reference, generation))}"


def dossier_url(public_url: str, secret: str, reference: str, generation: int = 0) -> str:
    """The dossier's absolute link, for e-mails."""
    return public_url.rstrip("/") + dossier_path(secret, reference, generation=generation)
