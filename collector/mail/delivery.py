"""E-mail: an acknowledgement to the porteur and a notification to the Région, via an outbox.

Queue (`queue_for_record`): when a record is stored, two messages are written durably,
one file each, in `$DATA/outbox/<REF>.accuse.eml` and `<REF>.notification.eml`. Once a
message is in the outbox, an empty file of the same name is made durably in
`$DATA/mail-queued/`: the outbox's memory, independent of what becomes of the message.
A name remembered there, or present in outbox/, sending/, sent/ or failed/, is never
queued again, so queuing twice (a retry, a replay) never duplicates a mail, and deleting
a file from sent/ or failed/ by hand never sends that mail again. `reconcile` also
remembers the messages it finds in those folders (data folders older than this memory),
but never a symbolic link whose target is gone: it removes it (`drop_dangling_links`).
The check and the writing are one step under `$DATA/state/mail-queue.lock` (several
processes queue: web workers, the mailer's catch-ups). A message that cannot be written
raises (OutboxError when a file stands where the outbox folder should be): a failure is
never taken for « already queued ».

Deliver (`deliver_outbox`): each file is first claimed by setting its time (the claim's
age) then renaming it into `sending/` (a rename succeeds for one process only, so two
workers never send the same file), then
sent over SMTP, then moved durably into `sent/`. On a temporary SMTP failure the file
goes back to `outbox/`; on a permanent refusal (5xx) it goes to `failed/` for a person
to look at, and the log says why (refusals.py: the message's name, the SMTP code and the
server's reason, addresses masked). Nothing is ever deleted by the sender.

The recipient (the SMTP envelope) is never read back from the `To:` header: a header
parser decodes encoded words and splits lists, so a crafted address could turn into
several recipients. Each outbox file starts instead with one line we write ourselves,
`X-AMI-Envelope-To: <address>`, holding the address exactly as validated (addresses.py);
the message as SMTP carries it follows. The sender reads that line strictly (first line,
unfolded, one bare address that passes the same check unchanged), gives SMTP exactly
that one recipient and strips the line from what it sends. We chose a line in the file
over a sidecar file because the message and its recipient must be queued, claimed and
moved as one: a single file is written atomically and renamed atomically; two are not.
The line is itself a well-formed header, so the file still reads as a message. A file
without a valid line is never sent: it goes to `failed/`.

The choice, when a process dies between the SMTP server's acceptance and the move to
`sent/`: the claim left in `sending/` is returned to the outbox once it is older than
STALE_CLAIM_SECONDS, so that message is sent at most once more (never lost). It keeps
its Message-ID, so mail clients and the Région can recognise the repeat. A round fsyncs the
folders it moved messages between every SYNC_EVERY_MOVES moves or SYNC_EVERY_SECONDS, and
before it returns, rather than after each message: a killed process loses no move (the
kernel has them), and a power cut may return to the outbox the messages moved since the last
fsync, each then sent once more in the same way.

Batches (`queue_for_records`, for the mailer and `reconcile`): the mails of many records are
written with the same order of durable steps as one message (each file fsynced before its
name appears in outbox/, the names remembered once outbox/ is fsynced), the folders' fsyncs
paid once per batch.

The web workers neither compose nor send: they store the record, and the mailer, its own
process (`flask --app collector mailer`, collector/mail/mailer.py), notices it, composes and
queues the two messages, then sends them. The porteur's confirmation waits neither for
composing nor for SMTP, and never fails because of them. The mailer retries the outbox
every COLLECTOR_MAIL_RETRY_SECONDS; `flask --app collector send-mail` does the same by
hand. Both first queue the mails of any stored record that has none (`reconcile`: a record
stored while no mailer ran). With COLLECTOR_SMTP_HOST empty, mails simply wait in the outbox.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import smtplib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.charset import BASE64, QP, Charset
from email.message import EmailMessage, Message
from email.mime.text import MIMEText
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from email.utils import formataddr, format_datetime, getaddresses, parseaddr
from functools import lru_cache
from typing import Any

from ..addresses import AddressError, ascii_when_possible, plain_address
from ..display import shown
from ..durable import fsync_dir, write_new_file
from ..outbox_names import FAILED, KINDS, OUTBOX, QUEUED, SENDING, SENT  # noqa: F401  (delivery.KINDS…)
from ..durable_batch import write_new_files
from .refusals import log_refusal, refusal_reason
from .wire import encoded_words, wire_bytes
from ..next_steps import steps_to_come
from ..readable import answer_text, departement_name
from ..records import record_path
from ..template_filters import datetime_fr, period_fr
from ..yamlio import NotRegularFile, read_regular_file

log = logging.getLogger(__name__)

STALE_CLAIM_SECONDS = 600
# deliver_outbox fsyncs the outbox's folders after this many moves, or this long after the last fsync
SYNC_EVERY_MOVES, SYNC_EVERY_SECONDS = 50, 1.0
QP_UTF8 = Charset("utf-8")
QP_UTF8.body_encoding = QP  # readable in the raw file, unlike base64
# The sender's display name as base64 encoded words: the library's default weighs
# quoted-printable against base64 character by character. Other non-ASCII headers (a subject
# with « é ») are encoded by mail_wire.encoded_words, cheaper still than this charset's folding.
HEADER_UTF8 = Charset("utf-8")
HEADER_UTF8.header_encoding = BASE64
SMTP_TIMEOUT_SECONDS = 30
ENVELOPE_HEADER = b"X-AMI-Envelope-To: "
# Where a porteur writes to the Région, said the same way in every mail to a porteur: the
# dossier page (its signed link, given above this sentence), never a reply to the mail.
NO_REPLY = "Ce message est envoyé automatiquement : n'y répondez pas."
WHERE_TO_ANSWER = NO_REPLY + " Pour écrire à la Région, utilisez votre page de dossier (lien ci-dessus)."
WRITE_TO_CONTACTS = "Pour écrire à la Région, utilisez les contacts ci-dessous en donnant votre référence."
# The acknowledgement's word on its reference; how to write is said once, at its end (WHERE_TO_ANSWER).
KEEP_THE_REFERENCE = ("Conservez cette référence : citez-la si vous téléphonez ou écrivez aux contacts de l'AMI "
                      "(en bas de ce message).")
# In every acknowledgement, which goes to an address typed in a form, before anyone confirmed it.
NOT_YOURS = "Si vous n'êtes pas à l'origine de cette réponse, ignorez ce message."
LOCK_FOLDER, QUEUE_LOCK = "state", "mail-queue.lock"


@dataclass(frozen=True)
class MailSettings:
    """SMTP and sender settings, read from the environment."""

    host: str = ""
    port: int = 25
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    mail_from: str = "AMI Usages numériques <ne-pas-repondre@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    retry_seconds: float = 60.0
    dossier_secret: str = field(default="", repr=False)  # signs the dossier links (the app's secret key)
    # A dossier's current link generation (porteur/revocation.py, read from the app's store); 0 without one.
    dossier_generation: Callable[[str], int] = field(default=lambda _reference: 0, repr=False, compare=False)
    # (recipient, message) -> the message to send now: current_links.refresh once the store is known.
    before_sending: Callable[[str, bytes], bytes] = field(default=lambda _recipient, message: message, repr=False,
                                                          compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> MailSettings:
        """Settings from COLLECTOR_SMTP_* / COLLECTOR_MAIL_*; ConfigError (French) when one is unusable."""
        from ..config import ConfigError

        def flag(name: str) -> bool:
            return environ.get(name, "").strip().lower() in {"1", "true", "yes", "oui", "on"}

        def number(name: str, default: float) -> float:
            text = environ.get(name, "").strip()
            try:
                value = float(text) if text else default
            except ValueError:
                raise ConfigError(f"{name}={text!r} : nombre attendu.") from None
            if value < 0:
                raise ConfigError(f"{name}={text!r} : nombre positif attendu.")
            return value

        return cls(
            host=environ.get("COLLECTOR_SMTP_HOST", "").strip(),
            port=int(number("COLLECTOR_SMTP_PORT", 25)),
            user=environ.get("COLLECTOR_SMTP_USER", ""),
            password=environ.get("COLLECTOR_SMTP_PASSWORD", ""),
            starttls=flag("COLLECTOR_SMTP_STARTTLS"),
            mail_from=environ.get("COLLECTOR_MAIL_FROM", "").strip() or cls.mail_from,
            public_url=(environ.get("COLLECTOR_PUBLIC_URL", "").strip() or cls.public_url).rstrip("/"),
            retry_seconds=number("COLLECTOR_MAIL_RETRY_SECONDS", 60),
        )


SENDER_EXAMPLE = "AMI Usages numériques <ne-pas-repondre@normandie.fr>"


def check_sender(settings: MailSettings) -> None:
    """With an SMTP server set, refuse (ConfigError, French) a From address that is missing or
    whose domain has no dot (`localhost`): receiving servers refuse or junk such a sender (no
    SPF, no DMARC can pass), so every acknowledgement would be lost while the pages say it
    was sent. Without a server, mails only wait in the outbox: nothing to check yet."""
    from ..config import ConfigError

    if not settings.host:
        return
    address = _envelope_from(settings.mail_from)
    domain = address.rpartition("@")[2]
    if "@" in address and "." in domain.strip(".") and not domain.endswith((".", ".localhost")):
        return
    given = os.environ.get("COLLECTOR_MAIL_FROM", "").strip()
    raise ConfigError(
        ("COLLECTOR_MAIL_FROM est vide" if not given else f"COLLECTOR_MAIL_FROM={given!r} n'a pas de domaine valable")
        + " alors qu'un serveur SMTP est réglé (COLLECTOR_SMTP_HOST) : les e-mails partiraient de "
        f"« {address or '?'} », "
        "que la plupart des serveurs de messagerie refusent ou classent en indésirables. Indiquez l'adresse "
        "d'expédition de la Région, d'un domaine autorisé à envoyer par ce serveur, par exemple "
        f"COLLECTOR_MAIL_FROM=\"{SENDER_EXAMPLE}\" dans /etc/ami/collector.env, puis relancez.")


# --- composing ---------------------------------------------------------------------------

def _one_line(text: Any) -> str:
    return shown(re.sub(r"\s+", " ", str(text or "")).strip(), multiline=False)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@lru_cache(maxsize=8)
def _envelope_from(mail_from: str) -> str:
    """The sender's bare address, for the SMTP envelope (parsed once per setting, not per message)."""
    return getaddresses([mail_from])[0][1]


@lru_cache(maxsize=8)
def _from_header(mail_from: str) -> str:
    """The From header of the classic API: the display name as an encoded word (computed once)."""
    display_name, address = parseaddr(mail_from)
    return formataddr((display_name, address), HEADER_UTF8)


def _message_id(reference: str, kind: str, settings: MailSettings) -> str:
    domain = _envelope_from(settings.mail_from).rpartition("@")[2] or "localhost"
    return f"<{reference}.{kind}@{domain}>"


def _received(record: Mapping[str, Any]) -> str:
    return _received_text(str(record["received_at"]))


@lru_cache(maxsize=64)
def _received_text(received_at: str) -> str:
    """« vendredi 28 mai 2021 à 20 h 00 (heure de Paris) »: once for a record's two mails."""
    try:
        return datetime_fr(datetime.fromisoformat(received_at)) + " (heure de Paris)"
    except ValueError:
        return received_at


def _contacts_lines(facts: Mapping[str, Any]) -> list[str]:
    contacts = facts["contacts"]
    lines = [f"{contacts['direction']} — {facts['call']['organisation']}"]
    for person in contacts["people"]:
        lines.append(f"- {person['name']} : {person['phone']}, {person['email']}")
    return lines


def _message(settings: MailSettings, to: str, subject: str, reference: str, kind: str, body: str,
             now: datetime | None) -> Message:
    """A plain-text UTF-8 message with the headers every mail of the call carries.

    The usual case, an ASCII address, uses the classic `email.mime` API, about four times
    cheaper than `EmailMessage`'s header registry (measured: 0.75 against 3 ms a message).
    An internationalised address (é in the local part) needs SMTPUTF8: UTF-8 headers as
    they are, which only the modern API writes.
    """
    to = ascii_when_possible(to)  # an accented domain in its A-label: no SMTPUTF8 needed for it
    headers = {
        "From": settings.mail_from,
        "To": to,
        "Subject": _one_line(subject),
        "Date": format_datetime(now or datetime.now().astimezone()),
        "Message-ID": _message_id(reference, kind, settings),
        "X-AMI-Reference": reference,
        "Auto-Submitted": "auto-generated",
    }
    if not to.isascii():
        modern = EmailMessage(policy=SMTPUTF8_POLICY)
        for name, value in headers.items():
            modern[name] = value
        modern.set_content(body, charset="utf-8")
        return modern
    message: Message = MIMEText(body, "plain", QP_UTF8)
    headers["From"] = _from_header(settings.mail_from)
    for name, value in headers.items():
        message[name] = value if value.isascii() else encoded_words(name, value)
    return message


def compose_acknowledgement(record: Mapping[str, Any], facts: Mapping[str, Any], form: Any,
                            settings: MailSettings, now: datetime | None = None) -> Message:
    """The porteur's receipt: reference, time of receipt, the dossier link, the steps still to come, contacts.

    It goes to an address nobody has confirmed yet, so it carries no text the sender typed (no
    name, no organisation, no answer: the answers are on the dossier page, and the Région's
    notification names the organisation): a script posting the form cannot make the Région's
    sender relay its words to a third party. Whoever did not send it is told to ignore it."""
    reference = record["reference"]
    call = facts["call"]
    lines = [
        "Bonjour,", "",
        f"La {call['organisation']} a bien reçu une réponse à l'{_lower_first(call['title'])}, envoyée avec "
        "cette adresse e-mail comme contact.", "",
        f"Référence : {reference}",
        f"Reçue le : {_received(record)}", "",
        NOT_YOURS, "",
        KEEP_THE_REFERENCE,
    ]
    if settings.dossier_secret:
        from ..porteur.links import dossier_url

        lines += ["", "Votre dossier (vos réponses telles que nous les avons enregistrées, leur correction, vos "
                      "échanges avec la Région) :",
                  dossier_url(settings.public_url, settings.dossier_secret, reference,
                              settings.dossier_generation(reference))]
    lines += _steps_lines(facts, str(record["received_at"]))
    lines += ["", WHERE_TO_ANSWER if settings.dossier_secret else NO_REPLY + " " + WRITE_TO_CONTACTS]
    lines += ["", "Une question ? Vos contacts :"] + _contacts_lines(facts)
    return _message(settings, record["answers"]["contact_email"],
                    f"Accusé de réception {reference} — {call['short_title']}", reference, "accuse",
                    "\n".join(lines) + "\n", now)


def _steps_lines(facts: Mapping[str, Any], received_at: str) -> list[str]:
    """« Et maintenant ? » and the steps not over when the answers were received (none past)."""
    try:
        day = datetime.fromisoformat(received_at).date()
    except ValueError:
        return []
    steps = steps_to_come(facts["calendar"]["steps"], day)
    return ["", "Et maintenant ?"] + [f"- {step['label']} : {period_fr(step)}" for step in steps] if steps else []


def review_url(settings: MailSettings, reference: str) -> str:
    """The address of a dossier's review page, as the Région's mails link to it (never the porteur's signed link)."""
    return f"{settings.public_url}/instruction/{reference}"


def compose_notification(record: Mapping[str, Any], facts: Mapping[str, Any], form: Any,
                         settings: MailSettings, now: datetime | None = None) -> Message:
    """The Région's notice: reference, organisation, thématiques and a link to the review page."""

    answers = record["answers"]
    reference = record["reference"]
    organisation = _one_line(answers.get("raison_sociale"))
    themes = answer_text(form, form.field("thematiques"), answers.get("thematiques")) if _has_field(form, "thematiques") else ""
    lines = [
        f"Nouvelle réponse à l'{_lower_first(facts['call']['title'])}.", "",
        f"Référence : {reference}",
        f"Reçue le : {_received(record)}",
        f"Structure : {organisation}",
        f"Thématiques : {themes}",
        f"Département : {_one_line(departement_name(record)) or 'non déterminé'}",
    ]
    if record.get("flags"):
        lines.append("Signalements : " + ", ".join(_one_line(flag) for flag in record["flags"]))
    lines += ["", f"Lire la réponse : {review_url(settings, reference)}", ""]
    return _message(settings, facts["contacts"]["notification_email"],
                    f"Nouvelle réponse {reference} — {organisation}", reference, "notification", "\n".join(lines), now)


def _has_field(form: Any, name: str) -> bool:
    return any(form_field.name == name for form_field in form.fields)


# --- queuing -------------------------------------------------------------------------------

def message_name(reference: str, kind: str) -> str:
    return f"{reference}.{kind}.eml"


def _known(data_dir: str, name: str) -> bool:
    return any(os.path.exists(os.path.join(data_dir, folder, name))
               for folder in (QUEUED, OUTBOX, SENDING, SENT, FAILED))


def _remember(data_dir: str, names: list[str]) -> None:
    """Record durably that these messages were queued (empty files in mail-queued/)."""
    if not names:
        return
    folder = os.path.join(data_dir, QUEUED)
    os.makedirs(folder, exist_ok=True)
    for name in names:
        try:
            os.close(os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
        except FileExistsError:
            pass
    fsync_dir(folder)  # the names are what matters: they survive a power cut once this returns


@lru_cache(maxsize=1024)
def _checked_address(recipient: str) -> str:
    """plain_address, remembered: the mailer checks an address when it queues the message and again
    when it sends it, and the Région's, the same in every notification, once (a pure function)."""
    return plain_address(recipient)


def envelope_line(recipient: str) -> bytes:
    """The outbox file's first line: the one recipient, as validated (see the module docstring)."""
    address = _checked_address(recipient) if isinstance(recipient, str) else plain_address(recipient)
    return ENVELOPE_HEADER + address.encode("utf-8") + b"\r\n"


def read_envelope(raw: bytes) -> tuple[str, bytes]:
    """(recipient, message) from an outbox file; AddressError if its first line is not ours."""
    line, separator, message = raw.partition(b"\r\n")
    if not separator or not line.startswith(ENVELOPE_HEADER):
        raise AddressError("première ligne X-AMI-Envelope-To absente")
    try:
        recipient = line[len(ENVELOPE_HEADER):].decode("utf-8")
    except UnicodeDecodeError as error:
        raise AddressError("destinataire illisible") from error
    if _checked_address(recipient) != recipient:
        raise AddressError("destinataire non normalisé")
    return recipient, message


class OutboxError(OSError):
    """The outbox cannot take a message (e.g. a file where one of its folders should be)."""


@contextmanager
def _queue_lock(data_dir: str) -> Iterator[None]:
    """Hold `$DATA/state/mail-queue.lock` (flock) while one message is checked and queued.

    Queuers are several processes (web workers after an event, the mailer's catch-up): the
    check « not yet known » and the writing must be one step, or a message claimed by the
    sender between the two (moved to sending/) would be written again and sent twice.
    """
    folder = os.path.join(data_dir, LOCK_FOLDER)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, QUEUE_LOCK), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _outbox_folder(data_dir: str) -> str:
    """The outbox folder, made when missing; OutboxError when something else holds its name."""
    folder = os.path.join(data_dir, OUTBOX)
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise OutboxError(errno.ENOTDIR, "outbox/ is not a folder: move that file away") from None
    return folder


def queue_message(data_dir: str, name: str, message: Message, recipient: str) -> bool:
    """Write one message for `recipient` into the outbox durably; False if it was already queued or sent.

    Any failure to write it (OutboxError, a full disk…) is raised: it is never taken for
    « already queued »."""
    with _queue_lock(data_dir):
        if _known(data_dir, name):
            return False
        folder = _outbox_folder(data_dir)
        try:
            write_new_file(folder, name, envelope_line(recipient) + wire_bytes(message))
        except FileExistsError:
            if not _known(data_dir, name):  # not the name itself: a folder on the way is a file
                raise
            return False
        _remember(data_dir, [name])  # after the message itself: a crash in between loses no mail
    return True


def queue_for_record(data_dir: str, record: Mapping[str, Any], facts: Mapping[str, Any], form: Any,
                     settings: MailSettings) -> list[str]:
    """Queue the acknowledgement and the notification of one record; the names newly queued."""
    reference = record["reference"]
    queued = []
    recipients = {"accuse": lambda: record["answers"]["contact_email"],
                  "notification": lambda: facts["contacts"]["notification_email"]}
    for kind, compose in (("accuse", compose_acknowledgement), ("notification", compose_notification)):
        name = message_name(reference, kind)
        try:
            if not _known(data_dir, name) and queue_message(data_dir, name, compose(record, facts, form, settings),
                                                            recipients[kind]()):
                queued.append(name)
        except Exception as error:  # noqa: BLE001 - one message that cannot be written must not stop the others
            reason = error.strerror if isinstance(error, OSError) and error.strerror else ""  # never an answer
            log.error("mail: could not compose or queue the %s message of %s (%s%s)", kind, reference,
                      type(error).__name__, f": {reason}" if reason else "")
    return queued


QUEUE_BATCH_RECORDS = 50  # records whose mails are queued with one sync of the files and one fsync of each folder


def queue_for_records(data_dir: str, records: Iterable[Mapping[str, Any]], facts: Mapping[str, Any], form: Any,
                      settings: MailSettings) -> list[str]:
    """`queue_for_record` for many records, the outbox's bookkeeping paid once per batch; the names newly queued.

    The same promises, message by message: each file is on disk before its name appears in
    outbox/, its name is remembered in mail-queued/ only once outbox/ itself was fsynced (a
    crash in between loses no mail: the file is there, and reconcile remembers it), and the
    check « never queued » and the writing are one step under the queue lock. What a batch
    saves is the fsyncs: the batch's files are synced with one syncfs (durable_batch.py), then
    one fsync for outbox/ and one for mail-queued/ per QUEUE_BATCH_RECORDS records, instead of
    three per message (the mailer's disk is the intake's, and its CPU the mails' delay after
    a burst)."""
    queued: list[str] = []
    batch: list[Mapping[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == QUEUE_BATCH_RECORDS:
            queued += _queue_batch(data_dir, batch, facts, form, settings)
            batch = []
    if batch:
        queued += _queue_batch(data_dir, batch, facts, form, settings)
    return queued


def _composed(data_dir: str, records: list[Mapping[str, Any]], facts: Mapping[str, Any], form: Any,
              settings: MailSettings) -> list[tuple[str, bytes]]:
    """(name, outbox file bytes) of the records' messages not queued yet; one that cannot be composed is logged."""
    files = []
    for record in records:
        reference = record["reference"]
        recipients = {"accuse": lambda: record["answers"]["contact_email"],
                      "notification": lambda: facts["contacts"]["notification_email"]}
        for kind, compose in (("accuse", compose_acknowledgement), ("notification", compose_notification)):
            name = message_name(reference, kind)
            if _known(data_dir, name):
                continue
            try:
                files.append((name, envelope_line(recipients[kind]()) + wire_bytes(compose(record, facts, form, settings))))
            except Exception as error:  # noqa: BLE001 - one message that cannot be composed must not stop the others
                log.error("mail: could not compose the %s message of %s (%s)", kind, reference, type(error).__name__)
    return files


def _queue_batch(data_dir: str, records: list[Mapping[str, Any]], facts: Mapping[str, Any], form: Any,
                 settings: MailSettings) -> list[str]:
    files = _composed(data_dir, records, facts, form, settings)  # outside the lock: web workers queue too
    queued: list[str] = []
    try:
        with _queue_lock(data_dir):
            folder = _outbox_folder(data_dir)
            # Not queued meanwhile, and the dossier not purged meanwhile: the purge deletes a dossier's
            # mails and its record under this lock (stores/folder_retention.py), so a record seen
            # here is still there when its mails are written, and they go with it if purged later.
            fresh = [(name, data) for name, data in files
                     if not _known(data_dir, name) and os.path.exists(record_path(data_dir, name.partition(".")[0]))]
            linked, failed = write_new_files(folder, fresh)  # each file on disk before its name appears
            # A name taken by now was queued by someone else; a name taken by something else
            # (a folder on the way is a file) is an error.
            errors = [error for name, error in failed if not (isinstance(error, FileExistsError) and _known(data_dir, name))]
            if linked:
                fsync_dir(folder)  # every name linked survives a power cut from here
                _remember(data_dir, linked)  # after the messages themselves, as queue_message does
                queued = sorted(linked)
            if errors:
                raise errors[0]
    except Exception as error:  # noqa: BLE001 - logged; the next catch-up queues what is missing
        reason = error.strerror if isinstance(error, OSError) and error.strerror else ""  # never an answer
        log.error("mail: could not queue the messages of %d record(s) (%s%s)", len(records), type(error).__name__,
                  f": {reason}" if reason else "")
    return queued


def known_names(data_dir: str) -> set[str]:
    """Every message name queued once: remembered in mail-queued/ or present in a folder of the outbox."""
    return {name for folder in (QUEUED, OUTBOX, SENDING, SENT, FAILED) for name in pending(data_dir, folder)}


def reconcile(data_dir: str, facts: Mapping[str, Any], form: Any, settings: MailSettings) -> list[str]:
    """Queue the mails of every stored record that has none yet; the names newly queued.

    The mailer queues a record's mails when it sees the record; this catches up on the
    records stored while no mailer ran (run by the mailer at start and periodically, and
    by `send-mail`).
    """
    from ..records import RecordError, iter_record_paths, read_record

    drop_dangling_links(data_dir)  # never taken for messages (a never-remembered outbox/ one is composed below)
    remembered = set(pending(data_dir, QUEUED))
    present = {name for folder in (OUTBOX, SENDING, SENT, FAILED) for name in pending(data_dir, folder)}
    _remember(data_dir, sorted(present - remembered))
    known = remembered | present
    def missing() -> Iterator[Mapping[str, Any]]:
        for path in iter_record_paths(data_dir):
            reference = os.path.basename(path)[:-len(".yaml")]
            if all(message_name(reference, kind) in known for kind in KINDS):
                continue
            try:
                yield read_record(path)
            except RecordError:
                log.warning("mail: a record cannot be read, its mails wait (run `check`)")

    return queue_for_records(data_dir, missing(), facts, form, settings)


def drop_dangling_links(data_dir: str) -> list[str]:
    """Remove the symbolic links of the outbox's folders whose target is gone (a restored copy, a
    hand edit); the paths removed. Such a link is no message: taken for one, its name would be
    remembered as queued and its mail never composed nor sent, and no sender can claim it.

    The module's rule wins: a mail is never sent twice. A name remembered in mail-queued/ is never
    forgotten (its mail may have left: sent, then its sent/ file deleted by hand and an old outbox/
    restored as links), and a name met in sending/, sent/ or failed/ is remembered before its link
    goes. Only a name never remembered, in outbox/, stays unknown, so that its mail is composed
    again if something composes it (`_after_drop` says what, in the log). Each step is durable
    and none forgets anything, so a crash between two steps leaves either the link (the next run
    handles it again) or a remembered name without it: never a mail lost for good by us, nor one
    sent twice. Under the queue lock, as every writing of a name: a queuer never meets it
    half-done. Each link on its own: one that cannot be removed (a restore made by root) is logged
    in French and left, and the others, and the mails of every record, go on."""
    removed: list[str] = []
    with _queue_lock(data_dir):
        for folder in (OUTBOX, SENDING, SENT, FAILED):
            for name in pending(data_dir, folder):
                path = os.path.join(data_dir, folder, name)
                if not os.path.islink(path) or os.path.exists(path):
                    continue
                try:
                    consequence = _drop_dangling_link(data_dir, folder, name)
                except OSError as error:
                    log.error("courriel : %s/%s est un lien vers un fichier disparu, pas un message, et il n'a pas "
                              "pu être retiré (%s) : retirez-le à la main ; les autres courriels partent", folder,
                              name, type(error).__name__)
                    continue
                removed.append(os.path.join(folder, name))
                # The folder and the name only (a reference and a kind): no address, nor the link's target.
                log.warning("courriel : %s/%s était un lien vers un fichier disparu, pas un message : lien "
                            "retiré, %s", folder, name, consequence)
    return removed


LOST_LINK_KIND = re.compile(r"lien-[0-9a-f]{32}")  # link_requests.py: `lien-<request id>`, never caught up


def _drop_dangling_link(data_dir: str, folder: str, name: str) -> str:
    """Remove one dangling link, remembering its name first unless it lies unremembered in
    outbox/ (never sent); what becomes of its mail, in French, for the log."""
    remembered = os.path.lexists(os.path.join(data_dir, QUEUED, name))
    if folder != OUTBOX and not remembered:
        _remember(data_dir, [name])  # before the link goes: a crash in between sends nothing twice
    os.unlink(os.path.join(data_dir, folder, name))  # the link itself, never its (missing) target
    fsync_dir(os.path.join(data_dir, folder))
    return _after_drop(data_dir, name, forgotten=folder == OUTBOX and not remembered)


def _after_drop(data_dir: str, name: str, forgotten: bool) -> str:
    """What happens to the mail of a dropped link's `name`: only what will happen, in French.
    `forgotten`: the name is known nowhere now (a never-remembered outbox/ link)."""
    reference, _, kind = name[:-len(".eml")].partition(".")
    if LOST_LINK_KIND.fullmatch(kind):  # its request was deleted once the mail was queued: nothing composes it
        return ("le courriel n'est pas renvoyé : le porteur doit redemander son lien sur la page « Lien de dossier "
                "perdu »")
    if not forgotten:
        return "le courriel a pu partir : il n'est pas renvoyé"
    if not os.path.exists(record_path(data_dir, reference)):
        return "son dossier n'est plus enregistré : aucun courriel n'est composé"
    if kind in KINDS:
        return "le courriel sera composé à nouveau"  # by the reconcile that called us
    return ("le rattrapage des courriels du dossier le composera à nouveau s'il est encore attendu, au plus tard au "
            "prochain démarrage du mailer ou à la prochaine commande send-mail")


def pending(data_dir: str, folder: str = OUTBOX) -> list[str]:
    path = os.path.join(data_dir, folder)
    return sorted(name for name in os.listdir(path) if name.endswith(".eml")) if os.path.isdir(path) else []


def remove_for_reference(data_dir: str, reference: str) -> list[str]:
    """Delete every mail of one reference, wherever it is, and its memory (purge); the paths removed."""
    removed = []
    for folder in (OUTBOX, SENDING, FAILED, SENT, QUEUED):
        for kind in KINDS:
            path = os.path.join(data_dir, folder, message_name(reference, kind))
            try:
                os.unlink(path)
                removed.append(os.path.join(folder, message_name(reference, kind)))
            except FileNotFoundError:
                pass
    return removed


# --- delivering ----------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str = ""


def _move(data_dir: str, source_folder: str, target_folder: str, name: str, target_name: str | None = None,
          unsynced: set[str] | None = None) -> None:
    """Rename a message from one folder of the outbox to another, durably: both folders are fsynced,
    now, or, given `unsynced`, added to it for the caller to fsync once for many moves (`_sync`)."""
    target = os.path.join(data_dir, target_folder)
    os.makedirs(target, exist_ok=True)
    os.rename(os.path.join(data_dir, source_folder, name), os.path.join(target, target_name or name))
    if unsynced is not None:
        unsynced.update((target, os.path.join(data_dir, source_folder)))
        return
    fsync_dir(target)
    fsync_dir(os.path.join(data_dir, source_folder))


def _sync(unsynced: set[str]) -> None:
    """Fsync the folders that moves left unsynced, once each."""
    while unsynced:
        fsync_dir(unsynced.pop())


def release_stale_claims(data_dir: str, older_than: float = STALE_CLAIM_SECONDS) -> list[str]:
    """Give back to the outbox the claims of a sender that died (see the module docstring)."""
    released = []
    limit = time.time() - older_than
    for name in pending(data_dir, SENDING):
        path = os.path.join(data_dir, SENDING, name)
        try:
            if os.stat(path).st_mtime <= limit:
                _move(data_dir, SENDING, OUTBOX, name)
                released.append(name)
        except FileNotFoundError:
            continue
    return released


def _claim(data_dir: str, name: str) -> bool:
    """Take one message for this sender: True if it is now ours, in sending/.

    The file's time is set BEFORE the rename: a claim's age (release_stale_claims) is its
    modification time, and a message that waited in the outbox longer than STALE_CLAIM_SECONDS
    must never appear in sending/ with that old time, even for an instant, or another
    sender would give it back to the outbox and send it too."""
    os.makedirs(os.path.join(data_dir, SENDING), exist_ok=True)
    source = os.path.join(data_dir, OUTBOX, name)
    try:
        os.utime(source)  # the claim's age starts now
        os.rename(source, os.path.join(data_dir, SENDING, name))
    except FileNotFoundError:
        return False  # another process claimed it first
    return True


def _connect(settings: MailSettings) -> smtplib.SMTP:
    client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.starttls:
            client.starttls()
        if settings.user:
            client.login(settings.user, settings.password)
    except BaseException:
        client.close()
        raise
    return client


def _close(client: smtplib.SMTP) -> None:
    """End an SMTP session politely (QUIT), or at least close its socket."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


class KeptConnections:
    """SMTP connections kept open from one delivery round to the next, one per sending thread.

    After a burst the mailer delivers its batches in many short rounds (mail/mailer.py,
    BackgroundDelivery); given one of these, a round reuses the connection its thread used
    for the previous round instead of opening a new one (the server's greeting, EHLO,
    STARTTLS and login, then QUIT, once per thread instead of once per round). A kept
    connection is checked with NOOP before it serves again: one the server closed meanwhile
    (an idle timeout) is replaced, never taken for a failed delivery. `close` ends them all."""

    def __init__(self) -> None:
        import threading  # here: only the mailer's bursts keep connections

        self._lock = threading.Lock()
        self._clients: dict[int, smtplib.SMTP] = {}
        self._thread = threading.get_ident

    def open(self, settings: MailSettings) -> smtplib.SMTP:
        """This thread's kept connection if it still answers, else a new one (which may raise)."""
        with self._lock:
            client = self._clients.pop(self._thread(), None)
        if client is not None:
            try:
                if client.noop()[0] == 250:
                    return client
            except (OSError, smtplib.SMTPException):
                pass
            client.close()
        return _connect(settings)

    def keep(self, client: smtplib.SMTP) -> None:
        """Keep `client` for this thread's next round (a round that ended on an error closes it instead)."""
        with self._lock:
            previous = self._clients.pop(self._thread(), None)
            self._clients[self._thread()] = client
        if previous is not None and previous is not client:
            _close(previous)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            _close(client)


def _send_one(client: smtplib.SMTP, raw: bytes, settings: MailSettings) -> None:
    """Send one outbox file to the single recipient of its envelope line (never its headers), its
    dossier links made current (settings.before_sending: a link revoked since it was queued)."""
    recipient, message = read_envelope(raw)
    message = settings.before_sending(recipient, message)
    envelope_from = _envelope_from(settings.mail_from)
    recipient = ascii_when_possible(recipient)  # SMTPUTF8 only for a non-ASCII local part
    options = [] if recipient.isascii() else ["SMTPUTF8"]
    client.sendmail(envelope_from, [recipient], message, mail_options=options)


def deliver_outbox(data_dir: str, settings: MailSettings, stale_after: float = STALE_CLAIM_SECONDS,
                   connections: KeptConnections | None = None) -> DeliveryReport:
    """Send what waits in the outbox; report what was sent, deferred and refused for good.
    Given `connections`, the round uses its thread's kept SMTP connection and keeps it after."""
    report = DeliveryReport()
    if not settings.host:
        report.deferred = pending(data_dir)
        report.error = "aucun serveur SMTP configuré (COLLECTOR_SMTP_HOST)"
        return report
    release_stale_claims(data_dir, stale_after)
    names = pending(data_dir)
    if not names:
        return report
    try:
        client = connections.open(settings) if connections is not None else _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        report.deferred = names
        report.error = f"serveur SMTP injoignable ({type(error).__name__})"
        return report
    unsynced: set[str] = set()  # folders renamed into or out of since their last fsync
    moved, synced_at = 0, time.monotonic()
    finished = False  # the round went through its names without raising
    try:
        for name in names:
            if not _claim(data_dir, name):
                continue
            try:
                _send_one(client, read_regular_file(os.path.join(data_dir, SENDING, name)), settings)
            except (smtplib.SMTPNotSupportedError,  # e.g. an é in an address, server without SMTPUTF8
                    NotRegularFile) as error:  # a FIFO or a folder named *.eml: never opened, set aside
                log_refusal(name, refusal_reason(error))
                _move(data_dir, SENDING, FAILED, name, unsynced=unsynced)
                report.failed.append(name)
            except AddressError:  # no envelope line we wrote: never guess a recipient
                log.warning("mail: %s has no valid envelope line, set aside in failed/", name)
                _move(data_dir, SENDING, FAILED, name, unsynced=unsynced)
                report.failed.append(name)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
                if isinstance(error, smtplib.SMTPRecipientsRefused):
                    code = min(answer[0] for answer in error.recipients.values())
                else:
                    code = error.smtp_code
                if code >= 500:
                    log_refusal(name, refusal_reason(error))
                    _move(data_dir, SENDING, FAILED, name, unsynced=unsynced)
                    report.failed.append(name)
                else:
                    _move(data_dir, SENDING, OUTBOX, name, unsynced=unsynced)
                    report.deferred.append(name)
            except (OSError, smtplib.SMTPException) as error:
                _move(data_dir, SENDING, OUTBOX, name, unsynced=unsynced)
                report.deferred.append(name)
                report.error = f"envoi interrompu ({type(error).__name__})"
                break
            else:
                _move(data_dir, SENDING, SENT, name, unsynced=unsynced)
                report.sent.append(name)
            moved += 1
            if moved >= SYNC_EVERY_MOVES or time.monotonic() - synced_at >= SYNC_EVERY_SECONDS:
                _sync(unsynced)
                moved, synced_at = 0, time.monotonic()
        finished = True
    finally:
        if connections is not None and finished and not report.error:
            connections.keep(client)
        else:
            _close(client)
        _sync(unsynced)
    report.deferred += [name for name in pending(data_dir) if name not in report.deferred and name in names]
    return report
