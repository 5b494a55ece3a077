"""The mail outbox, whatever keeps it: the `Outbox` interface (`store.outbox`).

Two implementations: the data folder's files (folder_outbox.py, delegating to mail/delivery.py) and a
PostgreSQL table shared by every host's mailer (postgres_outbox.py). A message has a name
(`AMI-2021-0042.accuse.eml`), queued once: a name ever queued is never queued again, whatever
became of its message (sent, refused, its file deleted by hand), until `forget` (a purge). The mailer (mail/mailer.py) and `send-mail`
deliver from the outbox of the store they are given.

Also here: `record_mails` composes a record's two mails (the acknowledgement and the
notification: the intake on PostgreSQL, the catch-up), `queue_missing` queues those of every
stored record that has none (PostgreSQL's catch-up; the data folder keeps delivery.reconcile), and
`send_outcome` sends one message with delivery.deliver_outbox's rules.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING, Any, Protocol

from ..mail import delivery
from ..mail.refusals import refusal_reason
from ..addresses import AddressError

if TYPE_CHECKING:
    from .outbox_transfer import CarriedMail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMail:
    """A message to queue: its name, its one recipient (validated) and the message itself."""

    name: str
    recipient: str
    message: Message

    def raw(self) -> bytes:
        """The outbox file's bytes: the envelope line, then the message as SMTP carries it."""
        return delivery.envelope_line(self.recipient) + delivery.wire_bytes(self.message)


class Watch(Protocol):
    def changed(self) -> bool:
        """True when the outbox may hold messages to send since the last call (cheap: polled)."""


class Outbox(Protocol):
    """Where the messages wait until a mailer sends them. Every write is durable before it returns."""

    def queue(self, name: str, message: Message, recipient: str) -> bool:
        """Queue one message durably; False (nothing written) when its name was ever queued."""

    def queue_for_dossiers(self, references: Sequence[str], name: str, message: Message, recipient: str) -> bool:
        """`queue`, for a message about the dossiers `references`: under each one's history lock
        (the one a purge holds until the dossier is gone; in sorted order), and only while each
        still has its record, so that no mail of a purged dossier is ever queued after its purge
        (nothing would remove it). statuses.NoRecord (nothing queued) when one is gone."""

    def known_names(self) -> set[str]:
        """Every message name ever queued (waiting, being sent, sent, refused, or only remembered)."""

    def hold_back(self, name: str) -> bool:
        """Remember `name` as queued, durably, without any message: a mail the porteur mail caps
        held back, which neither the mailer nor a catch-up may ever queue. False where this
        outbox cannot remember a name without its message (then the mail goes)."""

    def hold_back_for_dossier(self, reference: str, name: str) -> bool:
        """`hold_back`, for a mail of the stored dossier `reference`: under its history lock (the
        one a purge holds until the dossier is gone) and only while it still has its record, so
        that no name of a purged dossier is remembered after its purge (nothing would forget it).
        statuses.NoRecord (nothing written) when it is gone."""

    def is_held_back(self, name: str) -> bool:
        """True when `name` was held back (`hold_back`) and so will never be sent: a porteur
        posting the same dossier again must be told again that no acknowledgement comes."""

    def claim(self, limit: int, exclude: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
        """Take up to `limit` waiting messages for this sender, (name, outbox bytes) each; a message
        is claimed by one sender only, and its claim is durable before this returns."""

    def mark_sent(self, name: str) -> None:
        """A claimed message was accepted by the SMTP server."""

    def mark_failed(self, name: str) -> None:
        """A claimed message was refused for good: set aside for a person to look at."""

    def give_back(self, name: str) -> None:
        """A claimed message could not be sent now (a temporary failure): it waits again."""

    def release_stale_claims(self, older_than: float = delivery.STALE_CLAIM_SECONDS) -> list[str]:
        """Give back the claims older than `older_than` seconds (their sender died); their names."""

    def release_own_claims(self) -> list[str]:
        """At a mailer's start, with the host's mailer lock held: give back the claims a dead
        mailer of this host left, at once where the store can tell them apart; their names."""

    def pending_count(self) -> int:
        """How many messages wait, unclaimed."""

    def forget(self, reference: str) -> list[str]:
        """Delete every message of a dossier and its memory (purge); what was removed."""

    def deliver(self, settings: delivery.MailSettings, stale_after: float = delivery.STALE_CLAIM_SECONDS,
                connections: delivery.KeptConnections | None = None) -> delivery.DeliveryReport:
        """Send what waits; report what was sent, deferred and refused for good. Given
        `connections`, over this thread's kept SMTP connection, kept open after the round."""

    def reconcile(self, facts: Mapping[str, Any], form: Any, settings: delivery.MailSettings) -> list[str]:
        """Queue the mails of every stored record that has none yet; the names newly queued."""

    def write_record(self, record: dict[str, Any], mails: Callable[[], list[OutgoingMail]]) -> bool:
        """Store a new record (as Store.write_record) and, where the store can make both one
        transaction, its mails with it (`mails()` composes them); False when the reference
        already has a record (then nothing is written)."""

    def watch(self) -> Watch:
        """What the mailer polls to learn that messages wait."""

    def messages(self) -> list[CarriedMail]:
        """Every message and name ever queued, with its state (for dump, outbox_transfer.py)."""

    def for_sender(self, data_dir: str) -> Outbox:
        """This outbox as the mailer of the host whose data folder is `data_dir` uses it (its
        claims carry that host's name where the store keeps several hosts' claims)."""


def record_mail(record: Mapping[str, Any], kind: str, facts: Mapping[str, Any], form: Any,
                settings: delivery.MailSettings) -> OutgoingMail:
    """One of a record's mails (delivery.KINDS): the acknowledgement to the porteur, or the notification
    to the Région."""
    name = delivery.message_name(record["reference"], kind)
    if kind == "accuse":
        return OutgoingMail(name, record["answers"]["contact_email"],
                            delivery.compose_acknowledgement(record, facts, form, settings))
    return OutgoingMail(name, facts["contacts"]["notification_email"],
                        delivery.compose_notification(record, facts, form, settings))


def record_mails(record: Mapping[str, Any], facts: Mapping[str, Any], form: Any,
                 settings: delivery.MailSettings) -> list[OutgoingMail]:
    """The acknowledgement to the porteur and the notification to the Région of one record."""
    return [record_mail(record, kind, facts, form, settings) for kind in delivery.KINDS]


def queue_missing(references: list[str], read_record: Callable[[str], Mapping[str, Any] | None], outbox: Outbox,
                  facts: Mapping[str, Any], form: Any, settings: delivery.MailSettings) -> list[str]:
    """Queue the mails of each reference whose names were never queued; the names newly queued.
    A record that cannot be read, or one of its mails that cannot be composed or addressed (a
    contact edited by hand), is logged (by reference, nothing personal) and waits; the record's
    other mail is queued all the same, as the data folder's delivery.queue_for_record does, so that
    the Région still learns of the dossier."""
    from ..records import RecordError
    from ..statuses import NoRecord

    known = outbox.known_names()
    queued: list[str] = []
    for reference in references:
        missing = [kind for kind in delivery.KINDS if delivery.message_name(reference, kind) not in known]
        if not missing:
            continue
        try:
            record = read_record(reference)
        except (RecordError, KeyError, ValueError) as error:
            log.error("mail: could not read the record of %s (%s); its mails wait", reference, type(error).__name__)
            continue
        if record is None:
            continue
        for kind in missing:
            try:
                outgoing = record_mail(record, kind, facts, form, settings)
                if outbox.queue_for_dossiers([reference], outgoing.name, outgoing.message, outgoing.recipient):
                    queued.append(outgoing.name)
            except NoRecord:
                log.info("mail: %s was purged meanwhile: its mails are not queued", reference)
                break
            except (KeyError, ValueError, AddressError) as error:
                log.error("mail: could not compose the %s message of %s (%s); it waits", kind, reference,
                          type(error).__name__)
    return queued


SENT, FAILED, DEFERRED, INTERRUPTED = "sent", "failed", "deferred", "interrupted"


def send_outcome(client: smtplib.SMTP, raw: bytes, settings: delivery.MailSettings) -> tuple[str, str]:
    """Send one outbox message on `client`; (outcome, error text) with the rules of
    delivery.deliver_outbox: a 5xx or an unusable envelope is refused for good (the error text is
    then the reason to log, refusals.py), a 4xx waits, a broken connection waits and ends the round."""
    try:
        delivery._send_one(client, raw, settings)
    except (smtplib.SMTPNotSupportedError, AddressError) as error:  # an é without SMTPUTF8; no envelope line of ours
        return FAILED, refusal_reason(error)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            code = min(answer[0] for answer in error.recipients.values())
        else:
            code = error.smtp_code
        return (FAILED, refusal_reason(error)) if code >= 500 else (DEFERRED, "")
    except (OSError, smtplib.SMTPException) as error:
        return INTERRUPTED, f"envoi interrompu ({type(error).__name__})"
    return SENT, ""
