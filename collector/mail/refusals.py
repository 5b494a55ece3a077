"""Why a mail was refused for good, in the log: its name, the SMTP code and the server's short reason.

A message set aside (delivery.deliver_outbox's failed/, or the PostgreSQL outbox's failed rows)
is for a person to look at; without the server's answer they cannot tell a mistyped address
from a full mailbox or a relay's policy. The line names the message (`<REF>.<kind>.eml`: the
dossier and which mail), never its recipient: a server's reply often quotes the address
(« 550 5.1.1 <jean@exemple.fr>: Recipient address rejected »), so every word holding an « @ »
and everything between angle brackets is masked, and the reason is cut to one short line.
"""

from __future__ import annotations

import logging
import re
import smtplib

from ..addresses import AddressError
from ..yamlio import NotRegularFile

log = logging.getLogger(__name__)

MASK = "[adresse masquée]"
MAX_REASON = 200
_BRACKETED = re.compile(r"<[^<>]*>")
_WITH_AT = re.compile(r"[^\s<>()\[\]{},;]*@[^\s<>()\[\]{},;]*")


def masked(text: str) -> str:
    """`text` on one line, without any e-mail address (nor anything in angle brackets), at most MAX_REASON long."""
    one_line = " ".join(text.split())
    hidden = _WITH_AT.sub(MASK, _BRACKETED.sub(MASK, one_line))
    return hidden if len(hidden) <= MAX_REASON else hidden[:MAX_REASON - 1] + "…"


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"SMTP {code} {masked(text)}".rstrip()


def refusal_reason(error: BaseException) -> str:
    """What the server (or our own check) said of a message refused for good, addresses masked."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = min(error.recipients.values(), key=lambda answer: answer[0])
        return _reply(code, reply)
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "the server does not offer SMTPUTF8, which this address needs"
    if isinstance(error, AddressError):
        return "no valid envelope line"
    if isinstance(error, NotRegularFile):
        return "not a regular file"
    return type(error).__name__


def log_refusal(name: str, reason: str) -> None:
    """One WARNING line: the message's name (reference and kind) and why it was refused for good."""
    log.warning("mail: %s refused for good, set aside (%s)", name, reason)
