"""The mails of a dossier's life after « reçu », queued in mail/delivery.py's outbox.

Each message is one file `$DATA/outbox/<REF>.<kind>.eml`, written durably by
delivery.queue_message and sent by the mailer process (collector/mail/mailer.py) or `send-mail`,
so nothing here waits for SMTP or is lost when it is down. Every mail to a porteur
says where to answer: the dossier page (its signed link), never a reply to the mail.

Each event of a dossier's history (and each corrected version) calls for mails whose
kinds follow from the event alone (`message-N`, `reponse-N`, `rencontre-N-proposee`,
`accuse-vN`…): the `*_mails` functions compose them, the request that stored the event
queues them at once, and mail/catch_up.py queues again, from the history, any that a
failure left unqueued. A mail that cannot be queued is logged (never un-confirming the
stored event): the mailer's catch-up queues it once the outbox is usable again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from email.message import Message
from typing import TYPE_CHECKING, Any


from . import delivery
from .alternative import html_document, with_html
from ..letter_text import plain_text
from ..letters import letter_headings
from ..porteur import mail_caps
from ..porteur.links import dossier_url
from .. import appstate
from ..statuses import NoRecord, read_history, store_of
from ..template_filters import datetime_fr

if TYPE_CHECKING:
    from ..stores.base import Store

log = logging.getLogger(__name__)

WHERE_TO_ANSWER = delivery.WHERE_TO_ANSWER
# The same, under a list of several dossiers' links.
WHERE_TO_ANSWER_SEVERAL = (delivery.NO_REPLY + " Pour écrire à la Région, utilisez la page du dossier concerné "
                           "(liens ci-dessus).")


@dataclasses.dataclass(frozen=True)
class Mail:
    """One message to queue: its kind (the outbox name is `<REF>.<kind>.eml`) and its one recipient."""

    kind: str
    message: Message
    recipient: str


def settings() -> delivery.MailSettings:
    """The mail settings of the environment as it is now, able to sign dossier links at their
    current generation (read from the app's store)."""
    return with_dossier_links(delivery.MailSettings.from_env())


def with_dossier_links(base: delivery.MailSettings) -> delivery.MailSettings:
    """`base`, signing dossier links with the app's secret at each dossier's current link generation,
    when a mail is composed and again when it is sent (current_links.py: revoked since it was queued)."""
    from .current_links import refresh
    from ..porteur.revocation import current_generation

    store, secret = appstate.store(), appstate.secret()
    return dataclasses.replace(base, dossier_secret=secret,
                               dossier_generation=lambda reference: current_generation(store, reference),
                               before_sending=lambda recipient, message: refresh(store, secret, recipient, message))


def link(settings: delivery.MailSettings, reference: str) -> str:
    """The dossier's link at its current generation."""
    return dossier_url(settings.public_url, settings.dossier_secret, reference, settings.dossier_generation(reference))


def queue(where: Store | str, reference: str, kind: str, message: Message, recipient: str,
          also_about: Sequence[str] = ()) -> bool:
    """Queue one message for `recipient` durably in the outbox of `where` (a store, or a data
    folder's path standing for its store), which the mailer sends from within a moment.

    `recipient` is the validated address the message is for (a record's contact e-mail or
    the Région's notification address): the SMTP envelope is taken from it, never from the
    message's `To:` header. The message is queued only while its dossier (and those of
    `also_about`, other dossiers it names) still has its record, checked under the lock the
    purge holds (Outbox.queue_for_dossiers): statuses.NoRecord otherwise, nothing queued."""
    return store_of(where).outbox.queue_for_dossiers([reference, *also_about], delivery.message_name(reference, kind),
                                                     message, recipient)


def queue_mails(where: Store | str, reference: str, mails: Iterable[Mail]) -> list[str]:
    """Queue each mail (those already queued or sent are skipped); the kinds newly queued.

    A mail that cannot be written is logged with the reason and the others still go: its
    event is stored, and the mailer's catch-up (mail/catch_up.py, through the same store)
    queues it once the outbox is usable."""
    return _queue_each(where, reference, mails)[0]


def _queue_each(where: Store | str, reference: str, mails: Iterable[Mail]) -> tuple[list[str], list[str]]:
    """(the kinds newly queued, the kinds that could not be queued now)."""
    queued, failed = [], []
    for item in mails:
        try:
            if queue(where, reference, item.kind, item.message, item.recipient):
                queued.append(item.kind)
        except NoRecord:  # purged (erased) since its event was read: nothing of it may be written again
            log.info("mail: %s was purged meanwhile: its mails are not queued", reference)
            break
        except OSError as error:
            failed.append(item.kind)
            log.error("mail: %s of %s not queued (%s: %s); the mailer queues it once the outbox is usable",
                      item.kind, reference, type(error).__name__, error.strerror or error)
    return queued, failed


def remove_dossier_mails(data_dir: str, reference: str) -> list[str]:
    """Delete the mails of this module's kinds for one dossier (purge; delivery.remove_for_reference
    deletes the acknowledgement and the notification), wherever they are, and their memory; the
    paths removed."""
    removed = []
    for folder in (delivery.OUTBOX, delivery.SENDING, delivery.FAILED, delivery.SENT, delivery.QUEUED):
        for name in delivery.pending(data_dir, folder):
            if name.startswith(reference + ".") and name.split(".")[1] not in delivery.KINDS:
                os.unlink(os.path.join(data_dir, folder, name))
                removed.append(os.path.join(folder, name))
    return removed


NO_LINK = "lien momentanément indisponible : écrivez aux contacts ci-dessous en citant cette référence."


def _link_or_none(settings: delivery.MailSettings, reference: str) -> str | None:
    """The dossier's current link; None when its history cannot be read (so neither its link
    generation): the mail then gives no link for it, but whom to ask."""
    from ..statuses import StatusError

    try:
        return link(settings, reference)
    except StatusError:
        log.error("lost link: the history of %s cannot be read; no link mailed", reference)
        return None


def compose_lost_link(address: str, references: list[str], kind: str, facts: Mapping[str, Any],
                      settings: delivery.MailSettings, now: datetime | None = None) -> Message:
    """The links of every dossier of one contact address, asked for on the lost-link page.

    Every sentence names as many dossiers as the mail lists: the subject and the greeting of a
    mail for several dossiers speak of « vos dossiers », never of the first one alone, each
    dossier is listed by its reference with its own link, and `X-AMI-Reference` names them all.
    Every sentence about links speaks of the links actually shown: a dossier whose link cannot be
    given now (its history unreadable) is listed with whom to ask instead, and the heading, the
    warning that a link is personal and where to write follow (`_lost_link_wording`).
    No structure name: like the acknowledgement, this mail goes to an address nobody confirmed,
    so it carries no text a sender typed (the dossier page shows the rest)."""
    call = facts["call"]
    several = len(references) > 1
    links = {reference: _link_or_none(settings, reference) for reference in references}
    shown = [reference for reference in references if links[reference] is not None]
    wording = _lost_link_wording(len(references), shown)
    asked = ("les liens de vos dossiers de réponse" if several else "le lien de votre dossier de réponse")
    lines = ["Bonjour,", "",
             f"Vous avez demandé {asked} à l'{delivery._lower_first(call['title'])}.", "", wording.heading]
    lines += [f"- {reference} : {links[reference] or NO_LINK}" for reference in references]
    lines += ["", wording.personal] if wording.personal else []
    lines += ["", "Vous n'avez rien demandé ? Ignorez ce message : rien n'a changé dans "
              + ("vos dossiers." if several else "votre dossier."),
              "", wording.where_to_answer, "", "Vos contacts :"]
    lines += delivery._contacts_lines(facts)
    subject = f"{wording.subject} — {call['short_title']}"
    message = delivery._message(settings, address, subject, references[0], kind, "\n".join(lines) + "\n", now)
    if several:  # the Message-ID keeps the first reference (the outbox name's); the header names them all
        message.replace_header("X-AMI-Reference", ", ".join(references))
    return message


@dataclasses.dataclass(frozen=True)
class LostLinkWording:
    """The lost-link mail's sentences that depend on how many links it shows."""

    subject: str
    heading: str
    personal: str  # empty when no link is shown
    where_to_answer: str


def _lost_link_wording(total: int, shown: list[str]) -> LostLinkWording:
    """The lost-link mail's sentences for `total` dossiers, of which those of `shown` have their link."""
    several, count = total > 1, len(shown)
    if not shown:
        return LostLinkWording("Vos dossiers" if several else "Votre dossier",
                               f"Vos {total} dossiers :" if several else "Votre dossier :", "",
                               f"{delivery.NO_REPLY} {delivery.WRITE_TO_CONTACTS}")
    subject = "Liens de vos dossiers" if count > 1 else ("Lien de vos dossiers" if several else "Lien de votre dossier")
    if count > 1:
        personal = ("Ces liens sont personnels : chacun donne accès à son dossier sans mot de passe. Ne les "
                    "transmettez qu'aux personnes de votre structure qui suivent ces dossiers.")
    else:
        whose = f"au dossier {shown[0]}" if several else "à votre dossier"
        personal = (f"Ce lien est personnel : il donne accès {whose} sans mot de passe. Ne le transmettez qu'aux "
                    "personnes de votre structure qui suivent ce dossier.")
    if not several:
        return LostLinkWording(subject, "Votre dossier :", personal, WHERE_TO_ANSWER)
    if count == total:
        return LostLinkWording(subject, f"Vos {total} dossiers, chacun avec son propre lien :", personal,
                               WHERE_TO_ANSWER_SEVERAL)
    with_link = "un avec son lien" if count == 1 else f"{count} avec leur lien"
    return LostLinkWording(subject, f"Vos {total} dossiers, dont {with_link} :", personal,
                           f"{delivery.NO_REPLY} Pour écrire à la Région, utilisez la page du dossier concerné "
                           f"({'lien' if count == 1 else 'liens'} ci-dessus) ou, pour un dossier sans lien, les "
                           "contacts ci-dessous en citant sa référence.")


def compose_correction_acknowledgement(version: Mapping[str, Any], facts: Mapping[str, Any], form: Any,
                                       settings: delivery.MailSettings, now: datetime | None = None) -> Message:
    """The porteur's receipt of a correction: the new version, its hash, its date and the dossier link.

    Like the first acknowledgement (delivery.compose_acknowledgement), no text the sender typed: a
    correction may have just set this address as the contact, and nobody has confirmed it."""
    from ..dossier import short_hash

    reference, call = version["reference"], facts["call"]
    lines = ["Bonjour,", "",
             f"La {call['organisation']} a bien reçu des réponses corrigées pour le dossier {reference} "
             f"(réponse à l'{delivery._lower_first(call['title'])}), envoyées avec cette adresse e-mail comme contact.",
             "",
             f"Référence : {reference}",
             f"Version : {version['version']} (empreinte {short_hash(str(version['content_hash']))})",
             f"Corrigée le : {datetime_fr(datetime.fromisoformat(str(version['corrected_at'])))} (heure de Paris)",
             "", delivery.NOT_YOURS,
             "", "Votre dossier (vos réponses telles que nous les avons enregistrées) :", link(settings, reference),
             "", WHERE_TO_ANSWER, "", "Vos contacts :"] + delivery._contacts_lines(facts)
    return delivery._message(settings, version["answers"]["contact_email"],
                             f"Réponses corrigées {reference} (version {version['version']}) — "
                             f"{call['short_title']}", reference, f"accuse-v{version['version']}",
                             "\n".join(lines) + "\n", now)


def _see_the_dossier(settings: delivery.MailSettings, reference: str) -> str:
    """The line of a mail to the Région that leads to the dossier's review page."""
    return f"Voir le dossier : {delivery.review_url(settings, reference)}"


def compose_staff_notice(reference: str, kind: str, subject: str, lines: list[str], facts: Mapping[str, Any],
                         settings: delivery.MailSettings, now: datetime | None = None) -> Message:
    """A notice to the Région's notification address, with the link to the review page."""
    body = lines + ["", _see_the_dossier(settings, reference), ""]
    return delivery._message(settings, facts["contacts"]["notification_email"], subject, reference, kind,
                             "\n".join(body), now)


def compose_contact_changed(previous: Mapping[str, Any], version: Mapping[str, Any], facts: Mapping[str, Any],
                            settings: delivery.MailSettings, now: datetime | None = None) -> Message:
    """To the previous contact address, when a correction changed it: what changed, whom to call.

    Nothing of the answers, nor the dossier's link: this address no longer follows the dossier."""
    reference, call, number = version["reference"], facts["call"], version["version"]
    lines = ["Bonjour,", "",
             f"L'adresse e-mail de contact du dossier {reference} (réponse à l'{delivery._lower_first(call['title'])}) "
             f"vient d'être changée, lors d'une correction des réponses (version {number}). Les messages au "
             "sujet de ce dossier iront désormais à la nouvelle adresse de contact ; vous n'en recevrez plus.", "",
             "Ce changement vient de vous ou de votre structure ? Vous n'avez rien à faire.", "",
             f"Vous n'êtes pas à l'origine de ce changement ? Appelez ou écrivez sans attendre aux contacts de l'AMI "
             f"en donnant la référence {reference} :"] + delivery._contacts_lines(facts)
    lines += ["", delivery.NO_REPLY]
    return delivery._message(settings, previous["answers"]["contact_email"],
                             f"Adresse de contact changée — dossier {reference} — {call['short_title']}",
                             reference, f"contact-v{number}", "\n".join(lines) + "\n", now)


def contact_changed(previous: Mapping[str, Any], version: Mapping[str, Any]) -> bool:
    """Does this version name another contact mailbox than the one before it? Any difference
    but the domain's case is one (addresses.same_mailbox): `Contact@` → `contact@`, `strasse.de`
    → `straße.de` or a full-width letter all tell the previous address and the Région."""
    from ..addresses import same_mailbox

    return not same_mailbox(previous["answers"].get("contact_email"), version["answers"].get("contact_email"))


def _contact_change_lines(previous: Mapping[str, Any], version: Mapping[str, Any]) -> list[str]:
    """The staff notice's words on a changed contact: both addresses, their domains' ASCII form
    when it differs (a look-alike domain shows), and who was told."""
    from ..addresses import mailbox

    def shown(address: Any) -> str:
        domain = str(address).rpartition("@")[2]
        ascii_domain = mailbox(address)[1]
        return f"{address}" + (f" (domaine {ascii_domain})" if ascii_domain != domain else "")

    return [f"L'adresse e-mail de contact a changé : {shown(version['answers'].get('contact_email'))} remplace "
            f"{shown(previous['answers'].get('contact_email'))}. L'ancienne adresse en est avertie par e-mail "
            "(cet avis n'est jamais retenu par la limite d'e-mails par adresse)."]


def correction_mail_kinds(previous: Mapping[str, Any], version: Mapping[str, Any]) -> list[str]:
    number = version["version"]
    return [f"accuse-v{number}", f"correction-v{number}"] + (
        [f"contact-v{number}"] if contact_changed(previous, version) else [])


def correction_mails(previous: Mapping[str, Any], version: Mapping[str, Any], facts: Mapping[str, Any], form: Any,
                     current: delivery.MailSettings) -> list[Mail]:
    """A correction's mails: the new acknowledgement, the Région's notice and, when the contact
    e-mail changed, a word to the previous address (`previous` is the version before)."""
    reference, number = version["reference"], version["version"]
    organisation = delivery._one_line(version["answers"].get("raison_sociale"))
    mails = [Mail(f"accuse-v{number}", compose_correction_acknowledgement(version, facts, form, current),
                  version["answers"]["contact_email"]),
             Mail(f"correction-v{number}", compose_staff_notice(
                 reference, f"correction-v{number}",
                 f"Dossier {reference} corrigé par le porteur (version {number}) — {organisation}",
                 [f"Le porteur du dossier {reference} ({organisation}) a corrigé ses réponses : version {number}."]
                 + (_contact_change_lines(previous, version) if contact_changed(previous, version) else []),
                 facts, current), facts["contacts"]["notification_email"])]
    if contact_changed(previous, version):
        mails.append(Mail(f"contact-v{number}", compose_contact_changed(previous, version, facts, current),
                          previous["answers"]["contact_email"]))
    return mails


def queue_correction_mails(where: Store | str, previous: Mapping[str, Any], version: Mapping[str, Any],
                           facts: Mapping[str, Any], form: Any) -> list[str]:
    """Queue the mails of one correction (see correction_mails), given the version before it,
    within the porteur mail caps (porteur/mail_caps.py, counted in the store `where`, shared by
    every host; a held mail is held back in its outbox); the kinds held back by those caps,
    never to be sent (the page then says so)."""
    current, reference = settings(), version["reference"]
    mails = correction_mails(previous, version, facts, form, current)
    kept = mail_caps.within_caps(where, current.dossier_secret, reference, mails,
                                 facts["contacts"]["notification_email"])
    queue_mails(where, reference, kept)
    kept_kinds = {item.kind for item in kept}
    return [item.kind for item in mails if item.kind not in kept_kinds]


def compose_message_to_porteur(record: Mapping[str, Any], event: Mapping[str, Any], number: int,
                               facts: Mapping[str, Any], settings: delivery.MailSettings,
                               now: datetime | None = None) -> Message:
    """The Région's message to the porteur, with where to answer: the dossier page."""
    from ..dossier import end_of_day

    reference, call = record["reference"], facts["call"]
    lines = ["Bonjour,", "", f"La {call['organisation']} vous écrit au sujet de votre dossier {reference} :", ""]
    lines += ["    " + line for line in str(event["text"]).splitlines()]
    if event.get("complements_until"):
        until = datetime_fr(end_of_day(str(event["complements_until"])))
        lines += ["", f"La Région vous demande des compléments : vous pouvez corriger vos réponses sur votre page de "
                      f"dossier jusqu'au {until}."]
    lines += ["", "Pour lire ce message et y répondre, ouvrez votre page de dossier :", link(settings, reference),
              "", WHERE_TO_ANSWER, "", "Vos contacts :"] + delivery._contacts_lines(facts)
    return delivery._message(settings, record["answers"]["contact_email"],
                             f"Message de la Région sur votre dossier {reference} — {call['short_title']}",
                             reference, f"message-{number}", "\n".join(lines) + "\n", now)


def message_mails(record: Mapping[str, Any], event: Mapping[str, Any], number: int, facts: Mapping[str, Any],
                  current: delivery.MailSettings) -> list[Mail]:
    return [Mail(f"message-{number}", compose_message_to_porteur(record, event, number, facts, current),
                 record["answers"]["contact_email"])]


def queue_message_to_porteur(where: Store | str, record: Mapping[str, Any], event: Mapping[str, Any], number: int,
                             facts: Mapping[str, Any]) -> bool:
    """Queue the message's mail; False when it could not be queued now (the catch-up will)."""
    return not _queue_each(where, record["reference"], message_mails(record, event, number, facts, settings()))[1]


def _porteur_message_words(reference: str, organisation: str,
                           earlier: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """(subject, first line) of the Région's notice of a porteur's message, by what it is, from the
    thread's messages before it (`earlier`, the history's events before it): an answer when the
    Région wrote last, else a new message (the porteur's first, or one more after their own)."""
    from ..dossier import answers_the_region, last_in_thread

    last = last_in_thread(earlier)
    who = f"Le porteur du dossier {reference} ({organisation})"
    if last is None:
        return (f"Nouveau message du porteur — dossier {reference} — {organisation}",
                f"{who} écrit à la Région pour la première fois, sur sa page de dossier (ce n'est pas la réponse "
                f"à un message de la Région) :")
    when = _when_text(last.get("at"))
    if answers_the_region(last):
        return (f"Réponse du porteur — dossier {reference} — {organisation}",
                f"{who} a répondu sur sa page de dossier au message de la Région du {when} :")
    return (f"Nouveau message du porteur — dossier {reference} — {organisation}",
            f"{who} écrit de nouveau à la Région sur sa page de dossier, après son propre message du {when} "
            f"(la Région ne lui a pas écrit entre-temps) :")


def _when_text(at: Any) -> str:
    try:
        return datetime_fr(datetime.fromisoformat(str(at)))
    except ValueError:
        return str(at)


def porteur_reply_mails(record: Mapping[str, Any], event: Mapping[str, Any], number: int, facts: Mapping[str, Any],
                        current: delivery.MailSettings, earlier: Iterable[Mapping[str, Any]]) -> list[Mail]:
    """Tell the Région that the porteur wrote (the text is on the review page), worded as an
    answer or as a new message by the history's events before it (`earlier`)."""
    reference = record["reference"]
    organisation = delivery._one_line(record["answers"].get("raison_sociale"))
    subject, first_line = _porteur_message_words(reference, organisation, earlier)
    return [Mail(f"reponse-porteur-{number}", compose_staff_notice(
        reference, f"reponse-porteur-{number}", subject,
        [first_line, ""] + ["    " + line for line in str(event["text"]).splitlines()], facts, current),
        facts["contacts"]["notification_email"])]


def queue_porteur_reply_notice(where: Store | str, record: Mapping[str, Any], event: Mapping[str, Any], number: int,
                               facts: Mapping[str, Any]) -> None:
    """Queue the notice of the porteur's message, the `number`-th event of the dossier's history."""
    earlier = read_history(where, record["reference"])["events"][:number - 1]
    queue_mails(where, record["reference"], porteur_reply_mails(record, event, number, facts, settings(), earlier))


def compose_answer(record: Mapping[str, Any], event: Mapping[str, Any], number: int, facts: Mapping[str, Any],
                   settings: delivery.MailSettings, now: datetime | None = None) -> Message:
    """The Région's answer letter, as sent once (the event's HTML, rendered from its Markdown), with the
    dossier link: multipart/alternative, the letter without markup as text/plain, and as text/html."""
    reference = record["reference"]
    dossier_link = link(settings, reference)
    letter_html = str(event["html"])
    lines = [plain_text(letter_html).rstrip(), "", "Cette réponse est aussi sur votre page de dossier :",
             dossier_link, "", WHERE_TO_ANSWER]
    subject = str(event["subject"]) + (" (lettre corrigée)" if event.get("corrected") else "")
    message = delivery._message(settings, record["answers"]["contact_email"], subject, reference,
                                f"reponse-{number}", "\n".join(lines) + "\n", now)
    return with_html(message, html_document(subject, letter_headings(letter_html), [WHERE_TO_ANSWER], dossier_link))


def answer_mails(record: Mapping[str, Any], event: Mapping[str, Any], number: int, facts: Mapping[str, Any],
                 current: delivery.MailSettings) -> list[Mail]:
    return [Mail(f"reponse-{number}", compose_answer(record, event, number, facts, current),
                 record["answers"]["contact_email"])]


def queue_answer(where: Store | str, record: Mapping[str, Any], event: Mapping[str, Any], number: int,
                 facts: Mapping[str, Any]) -> bool:
    return bool(queue_mails(where, record["reference"], answer_mails(record, event, number, facts, settings())))


# --- meetings -------------------------------------------------------------------------------

def with_calendar(message: Message, ics: bytes, method: str) -> Message:
    """The message with its invitation attached (text/calendar; method=REQUEST or CANCEL; charset=utf-8, so that
    a reader decodes « Région » and the places as they were written: RFC 5545's own charset)."""
    from email import message_from_bytes
    from email.policy import SMTPUTF8

    modern = message_from_bytes(delivery.wire_bytes(message), policy=SMTPUTF8)
    modern.add_attachment(ics, maintype="text", subtype="calendar", filename="rencontre.ics",
                          params={"method": method, "charset": "utf-8"})
    return modern


def _slot_line(slot: Any) -> str:
    return (f"le {datetime_fr(slot.start)} (heure de Paris), {slot.minutes} minutes — {slot.place} — "
            f"pour la Région : {slot.attendees}")


def _meeting_mail(reference: str, to: str, kind: str, subject: str, lines: list[str], ics: bytes, method: str,
                  facts: Mapping[str, Any], current: delivery.MailSettings) -> Mail:
    for_porteur = to != facts["contacts"]["notification_email"]
    body = lines + (["", WHERE_TO_ANSWER, "", "Vos contacts :"] + delivery._contacts_lines(facts) if for_porteur else [])
    message = delivery._message(current, to, subject, reference, kind, "\n".join(body) + "\n", None)
    return Mail(kind, with_calendar(message, ics, method), to)


def _ics(reference: str, meeting: Any, facts: Mapping[str, Any], porteur: str, current: delivery.MailSettings,
         withdrawn: bool = False) -> bytes:
    """The meeting's invitation, or with `withdrawn` the CANCEL of the slots it no longer keeps."""
    from ..meetings import invitation, withdrawal

    domain = delivery._message_id(reference, "x", current).rpartition("@")[2].rstrip(">")
    build = withdrawal if withdrawn else invitation
    return build(reference, meeting, facts, facts["contacts"]["notification_email"], porteur, domain,
                 datetime.now().astimezone())


def _withdrawal_mails(record: Mapping[str, Any], meeting: Any, facts: Mapping[str, Any],
                      current: delivery.MailSettings) -> list[Mail]:
    """To the porteur, the CANCEL of the proposed slots not kept (none: no mail): the proposal's
    REQUEST placed them in their agenda, where they would stay for good otherwise."""
    from ..meetings import ACCEPTED, not_kept

    if not not_kept(meeting):
        return []
    reference, porteur = record["reference"], record["answers"]["contact_email"]
    kept = (f"Le créneau que vous avez choisi reste dans votre agenda : {_slot_line(meeting.slot)}."
            if meeting.state == ACCEPTED else "La Région vous proposera d'autres créneaux.")
    lines = ["Bonjour,", "", "L'invitation jointe (rencontre.ics) retire de votre agenda les créneaux de rencontre "
             f"proposés pour le dossier {reference} que vous n'avez pas retenus.", kept,
             "", "Votre page de dossier :", link(current, reference)]
    return [_meeting_mail(reference, porteur, f"rencontre-{meeting.number}-retires",
                          f"Créneaux non retenus retirés de votre agenda — dossier {reference}", lines,
                          _ics(reference, meeting, facts, porteur, current, withdrawn=True), "CANCEL", facts, current)]


def _other_suffix(meeting: Any) -> str:
    """`autre` for the first request for other slots, `autre-2`, `autre-3`… for the next ones: each
    is a mail of its own (the outbox queues a name once), so the Région reads the revised one."""
    count = meeting.requests_for_others
    return "autre" if count <= 1 else f"autre-{count}"


def meeting_mail_kinds(meeting: Any) -> list[str]:
    """The kinds of the mails of a meeting's state (what meeting_mails composes), without composing them."""
    from ..meetings import ACCEPTED, CANCELLED, OTHER_ASKED, PROPOSED

    from ..meetings import not_kept

    suffixes = {PROPOSED: ["proposee"], ACCEPTED: ["confirmee", "confirmee-region"],
                OTHER_ASKED: [_other_suffix(meeting)], CANCELLED: ["annulee", "annulee-region"]}[meeting.state]
    return [f"rencontre-{meeting.number}-{suffix}" for suffix in suffixes + (["retires"] if not_kept(meeting) else [])]


def meeting_mails(record: Mapping[str, Any], meeting: Any, facts: Mapping[str, Any],
                  current: delivery.MailSettings) -> list[Mail]:
    """The mails of a meeting's new state: a proposal (to the porteur), a confirmation (to both
    sides), a request for another slot (to the Région), a cancellation (to both sides)."""
    from ..meetings import ACCEPTED, CANCELLED, OTHER_ASKED, PROPOSED

    reference, porteur = record["reference"], record["answers"]["contact_email"]
    staff = facts["contacts"]["notification_email"]
    ics = _ics(reference, meeting, facts, porteur, current)
    kind = f"rencontre-{meeting.number}"
    dossier = ["", "Votre page de dossier :", link(current, reference)]
    if meeting.state == PROPOSED:
        lines = ["Bonjour,", "", f"La {facts['call']['organisation']} vous propose une rencontre au sujet de votre "
                 f"dossier {reference}, pour échanger sur votre projet. Créneaux proposés :", ""]
        lines += [f"{index}. {_slot_line(slot)}" for index, slot in enumerate(meeting.slots, 1)]
        lines += ["", "Choisissez un créneau, ou demandez-en un autre, sur votre page de dossier :",
                  link(current, reference), "", "L'invitation jointe (rencontre.ics) place ces créneaux dans votre "
                  "agenda, à titre provisoire, en attendant votre choix. Répondre depuis votre agenda "
                  "(« Accepter », « Refuser ») ne choisit pas de créneau : choisissez-le sur votre page de "
                  "dossier ; les créneaux non retenus seront ensuite retirés de votre agenda."]
        return [_meeting_mail(reference, porteur, f"{kind}-proposee", f"Proposition de rencontre — dossier {reference}",
                              lines, ics, "REQUEST", facts, current)]
    if meeting.state == ACCEPTED:
        line = _slot_line(meeting.slot)
        return [_meeting_mail(reference, porteur, f"{kind}-confirmee", f"Rencontre confirmée — dossier {reference}",
                              ["Bonjour,", "", f"Votre rencontre avec la Région est confirmée : {line}."] + dossier,
                              ics, "REQUEST", facts, current),
                _meeting_mail(reference, staff, f"{kind}-confirmee-region",
                              f"Rencontre acceptée par le porteur — dossier {reference}",
                              [f"Le porteur du dossier {reference} a accepté la rencontre : {line}.", "",
                               _see_the_dossier(current, reference)],
                              ics, "REQUEST", facts, current)] + _withdrawal_mails(record, meeting, facts, current)
    if meeting.state == OTHER_ASKED:
        other = f"{kind}-{_other_suffix(meeting)}"
        return [Mail(other, compose_staff_notice(
            reference, other, f"Autre créneau demandé — dossier {reference}",
            [f"Le porteur du dossier {reference} demande un autre créneau de rencontre :", ""]
            + [f"    {line}" if line else "" for line in meeting.request.splitlines()], facts, current), staff)
                ] + _withdrawal_mails(record, meeting, facts, current)
    assert meeting.state == CANCELLED, meeting.state
    cancelled = (f"La rencontre prévue au sujet du dossier {reference} est annulée"
                 + (f" ({_slot_line(meeting.slot)})." if meeting.slot else "."))
    # The porteur's signed link goes to the porteur only: the Région's copy links to its review page.
    return [_meeting_mail(reference, porteur, f"{kind}-annulee", f"Rencontre annulée — dossier {reference}",
                          ["Bonjour,", "", cancelled] + dossier, ics, "CANCEL", facts, current),
            _meeting_mail(reference, staff, f"{kind}-annulee-region", f"Rencontre annulée — dossier {reference}",
                          [cancelled, "", _see_the_dossier(current, reference)],
                          ics, "CANCEL", facts, current)]


def queue_meeting_mails(where: Store | str, record: Mapping[str, Any], meeting: Any, facts: Mapping[str, Any]) -> None:
    """Queue the mails of a meeting's new state (see meeting_mails)."""
    queue_mails(where, record["reference"], meeting_mails(record, meeting, facts, settings()))
