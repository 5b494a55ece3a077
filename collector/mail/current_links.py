"""A mail's dossier links made current at the moment it is sent, after a link revocation.

A mail queued before its dossier's link was revoked (porteur/revocation.py), and still waiting
in the outbox when it was, carries a link that no longer opens the dossier. Withdrawing and
queueing such mails again at the revocation would miss those queued in the same instant by
another request (composed with the old generation, written just after), and a mail without an
event (a lost-link mail) cannot be composed again. So the rule is kept where every mail passes,
on both stores: the sender (delivery._send_one, through MailSettings.before_sending, which
lifecycle.with_dossier_links sets) hands each message to `refresh` just before it goes.

- A message holding no dossier link goes byte for byte as queued; so does one whose links are
  all of their dossier's current generation (the usual case: a history is read only for a
  message that links to its dossier, and parsed only when it names a revocation).
- A genuine key of an older generation, in a mail to the dossier's current contact (its newest
  version's, addresses.same_mailbox_whatever_ascii_case): replaced by the current generation's
  key, the same page.
- The same in a mail to another address (the contact a revocation replaced, maybe the one who
  took the dossier over): the link is taken out, with words saying a new link went to the
  dossier's contact. The new link never goes to an address that no longer follows the dossier;
  neither does any link when the history cannot be read (which key is current cannot be told).
"""

from __future__ import annotations

import email
import re
from email.message import Message
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from ..addresses import same_mailbox_whatever_ascii_case
from .wire import wire_bytes
from ..porteur.links import dossier_key, key_generation

if TYPE_CHECKING:
    from ..stores.base import Store

# A dossier link in a mail's text: `…/candidater/recu/<REF>[/<page>]?cle=<key>`, the key as links.py quotes it.
# It starts where a word does (the lookbehind): the same matches, found in one pass over a long run of text
# without spaces instead of one try from each of its characters (quadratic: 61 s for 100,000 characters).
_LINK = re.compile(r"(?P<url>(?<![^\s<>\"])[^\s<>\"]*/candidater/recu/(?P<reference>[A-Z0-9-]+)"
                   r"(?:/[a-z0-9/-]*)?\?cle=)(?P<key>[A-Za-z0-9._~%-]+)")
WITHDRAWN = "(lien retiré : ce dossier a reçu un nouveau lien, envoyé à son adresse de contact)"
# An HTML part's anchor (alternative.html_document writes `<a href="…">…</a>`): a link taken out takes its
# whole anchor with it, so that no `href` is left pointing at the words that replace it.
_ANCHOR = re.compile(r"<a\b[^>]*\bhref=\"(?P<href>[^\"]*)\"[^>]*>.*?</a>", re.IGNORECASE | re.DOTALL)


def refresh(store: Store, secret: str, recipient: str, message: bytes) -> bytes:
    """The message to send to `recipient`: `message` itself, or a copy whose stale dossier links are
    made current, or taken out (see the module docstring). Every dossier a link names is judged
    on its own (a lost-link mail lists several); a key that is no genuine key of its dossier
    (a truncated link quoted in a message) is left as it is."""
    parsed = email.message_from_bytes(message)
    parts = [(part, _text(part)) for part in parsed.walk() if part.get_content_maintype() == "text"]
    references = {match["reference"] for _part, text in parts for match in _LINK.finditer(text)}
    if not references:
        return message
    generations = {reference: _generation(store, reference) for reference in sorted(references)}

    def stale(match: re.Match[str]) -> bool:
        claimed = key_generation(secret, match["reference"], unquote(match["key"]))
        return claimed is not None and claimed != generations[match["reference"]]

    stale_parts = [(part, text) for part, text in parts if any(stale(match) for match in _LINK.finditer(text))]
    if not stale_parts:
        return message
    keys = {reference: _key_for(store, secret, recipient, reference, generation)
            for reference, generation in generations.items()}

    def replaced(match: re.Match[str]) -> str:
        if not stale(match):
            return match[0]
        key = keys[match["reference"]]
        return match["url"] + key if key is not None else WITHDRAWN

    def anchor_replaced(anchor: re.Match[str]) -> str:
        match = _LINK.fullmatch(anchor["href"])
        if match is None or not stale(match) or keys[match["reference"]] is not None:
            return anchor[0]
        return escape(WITHDRAWN, quote=False)

    from .delivery import QP_UTF8

    for part, text in stale_parts:
        if part.get_content_subtype() == "html":
            text = _ANCHOR.sub(anchor_replaced, text)
        del part["Content-Transfer-Encoding"]
        part.set_payload(_LINK.sub(replaced, text), QP_UTF8)
    return wire_bytes(parsed)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    return payload.decode(part.get_content_charset() or "utf-8", "replace") if isinstance(payload, bytes) else ""


def _generation(store: Store, reference: str) -> int | None:
    """The dossier's link generation now; None when its history cannot be read (no key is current)."""
    from ..statuses import StatusError

    try:
        return _current_generation(store, reference)
    except StatusError:
        return None


def _key_for(store: Store, secret: str, recipient: str, reference: str, generation: int | None) -> str | None:
    """The current key (quoted as in a link) for a mail to `recipient`; None when the link must be
    taken out: `recipient` is not the dossier's current contact, or no key is current."""
    if generation is None or not same_mailbox_whatever_ascii_case(recipient, _current_contact(store, reference)):
        return None
    return quote(dossier_key(secret, reference, generation))


def _current_generation(store: Store, reference: str) -> int:
    """The dossier's link generation. A history that never names a revocation is 0 without being
    parsed (most dossiers: a history of 50 events costs milliseconds to parse and check, and the
    sender asks for each porteur mail); a miss can only send a link as it was queued."""
    from ..porteur.revocation import REVOKED, current_generation

    text = store.histories.text(reference)
    if text is None or REVOKED.encode("ascii") not in text:
        return 0
    return current_generation(store, reference)


def _current_contact(store: Store, reference: str) -> str:
    """The newest version's contact; "" when it cannot be read (then no address is taken for it).
    A store out of reach raises (OSError): the message waits for the next round."""
    from ..records import RecordError

    try:
        return str(store.latest_record(reference)["answers"].get("contact_email") or "")
    except (RecordError, KeyError, TypeError):
        return ""
