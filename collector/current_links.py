"""A mail's dossier links made current at the moment it is sent, after a link revocation.

A mail queued before its dossier's link was revoked (porteur/revocation.py), and still waiting
in the outbox when it was, carries a link that no longer opens the dossier. Withdrawing and
queueing such mails again at the revocation would miss those queued in the same instant by
another request (composed with the old generation, written just after), and a mail without an
event (a lost-link mail) cannot be composed again. So the rule is kept where every mail passes,
on both stores: the sender (mail._send_one, through MailSettings.before_sending, which
porteur_mail.with_dossier_links sets) hands each message to `refresh` just before it goes.

- A message holding no link of its own dossier (`X-AMI-Reference`) goes byte for byte as queued;
  so does one whose links are all of the dossier's current generation (the usual case: the
  history is read only for a message that holds a link, and parsed only when it names a revocation).
- A genuine key of an older generation, in a mail to the dossier's current contact (its newest
  version's, addresses.same_mailbox_whatever_ascii_case): replaced by the current generation's key, the same page.
- The same in a mail to another address (the contact a revocation replaced, maybe the one who
  took the dossier over): the link is taken out, with words saying a new link went to the
  dossier's contact. The new link never goes to an address that no longer follows the dossier;
  neither does any link when the history cannot be read (which key is current cannot be told).
"""

from __future__ import annotations

import email
import re
from email.message import Message
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .addresses import same_mailbox_whatever_ascii_case
from .mail_wire import wire_bytes
from .porteur.links import dossier_key, key_generation

if TYPE_CHECKING:
    from .stores.base import Store

# A dossier link in a mail's text: `…/candidater/recu/<REF>[/<page>]?cle=<key>`, the key as links.py quotes it.
_LINK = re.compile(r"(?P<url>[^\s<>\"]*/candidater/recu/(?P<reference>[A-Z0-9-]+)(?:/[a-z0-9/-]*)?\?cle=)"
                   r"(?P<key>[A-Za-z0-9._~%-]+)")
WITHDRAWN = "(lien retiré : ce dossier a reçu un nouveau lien, envoyé à son adresse de contact)"


def refresh(store: Store, secret: str, recipient: str, message: bytes) -> bytes:
    """The message to send to `recipient`: `message` itself, or a copy whose stale dossier links are
    made current, or taken out (see the module docstring)."""
    parsed = email.message_from_bytes(message)
    reference = str(parsed.get("X-AMI-Reference") or "")
    parts = [(part, _text(part)) for part in parsed.walk() if part.get_content_maintype() == "text"]
    if not reference or not any(_links_of(text, reference) for _part, text in parts):
        return message
    from .statuses import StatusError

    try:
        generation: int | None = _current_generation(store, reference)
    except StatusError:
        generation = None  # the history cannot be read: no key can be told current
    stale = [part for part, text in parts
             if any(key_generation(secret, reference, unquote(key)) != generation for key in _links_of(text, reference))]
    if not stale:
        return message
    current_key = None
    if generation is not None and same_mailbox_whatever_ascii_case(recipient, _current_contact(store, reference)):
        current_key = quote(dossier_key(secret, reference, generation))
    for part in stale:
        _rewrite(part, _text(part), reference, secret, generation, current_key)
    return wire_bytes(parsed)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    return payload.decode(part.get_content_charset() or "utf-8", "replace") if isinstance(payload, bytes) else ""


def _links_of(text: str, reference: str) -> list[str]:
    """The keys of the links to `reference` in `text`."""
    return [match["key"] for match in _LINK.finditer(text) if match["reference"] == reference]


def _rewrite(part: Message, text: str, reference: str, secret: str, generation: int | None,
             current_key: str | None) -> None:
    """Put `text` back in `part` with each stale link of `reference` made current (`current_key`),
    or replaced by WITHDRAWN when None."""
    from .mail import QP_UTF8

    def replaced(match: re.Match[str]) -> str:
        if match["reference"] != reference or key_generation(secret, reference, unquote(match["key"])) == generation:
            return match[0]
        return match["url"] + current_key if current_key is not None else WITHDRAWN

    del part["Content-Transfer-Encoding"]
    part.set_payload(_LINK.sub(replaced, text), QP_UTF8)


def _current_generation(store: Store, reference: str) -> int:
    """The dossier's link generation. A history that never names a revocation is 0 without being
    parsed (most dossiers: a history of 50 events costs milliseconds to parse and check, and the
    sender asks for each porteur mail); a miss can only send a link as it was queued."""
    from .porteur.revocation import REVOKED, current_generation

    text = store.histories.text(reference)
    if text is None or REVOKED.encode("ascii") not in text:
        return 0
    return current_generation(store, reference)


def _current_contact(store: Store, reference: str) -> str:
    """The newest version's contact; "" when it cannot be read (then no address is taken for it).
    A store out of reach raises (OSError): the message waits for the next round."""
    from .records import RecordError

    try:
        return str(store.latest_record(reference)["answers"].get("contact_email") or "")
    except (RecordError, KeyError, TypeError):
        return ""
