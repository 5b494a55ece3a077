"""The mails of a revoked dossier link (porteur/revocation.py), queued in the outbox.

The contact the new link goes to gets it (`lien-remplace-N`, N the event's number in the
history); when the reviewer restored another contact, the previous address is told that its
link no longer works and whom to call (`lien-remplace-N-ancien-contact`), with no link at
all; and the Région's notification address (the facts' `contacts.notification_email`, where
every new dossier is announced) is told who revoked the link, when, and for which dossier
(`lien-remplace-N-region`), with no link either: a revocation is an event the Région should
see even when another reviewer made it. All are named after the event alone, so mail/catch_up.py
queues them again from the history when the request that stored the event could not: the new
link only for the dossier's latest revocation (an earlier one's link no longer opens anything),
the notices always.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from email.message import Message
from typing import TYPE_CHECKING, Any

from . import delivery
from ..dossier import version_record
from ..porteur.links import dossier_url
from ..porteur.revocation import REVOKED, Revocation, link_generation
from .lifecycle import WHERE_TO_ANSWER, Mail, queue_mails
from ..template_filters import datetime_fr

if TYPE_CHECKING:
    from ..stores.base import Store


def revocation_mail_kinds(number: int, event: Mapping[str, Any]) -> list[str]:
    """The kinds of the mails of the N-th history event, a revocation: the new link first."""
    kind = f"lien-remplace-{number}"
    return [kind] + ([f"{kind}-ancien-contact"] if "previous_version" in event else []) + [f"{kind}-region"]


def compose_new_link(reference: str, contact: str, generation: int, kind: str, facts: Mapping[str, Any],
                     settings: delivery.MailSettings) -> Message:
    """The dossier's new link, to its contact: the previous link no longer opens it."""
    call = facts["call"]
    lines = ["Bonjour,", "",
             f"La {call['organisation']} a remplacé le lien de votre dossier {reference} (réponse à "
             f"l'{delivery._lower_first(call['title'])}). L'ancien lien ne permet plus d'ouvrir le dossier ; "
             "utilisez désormais celui-ci :", "",
             dossier_url(settings.public_url, settings.dossier_secret, reference, generation), "",
             "Ce lien est personnel : il donne accès à votre dossier sans mot de passe. Ne le transmettez "
             "qu'aux personnes de votre structure qui suivent ce dossier.", "",
             WHERE_TO_ANSWER, "", "Vos contacts :"] + delivery._contacts_lines(facts)
    return delivery._message(settings, contact, f"Nouveau lien de votre dossier {reference} — {call['short_title']}",
                             reference, kind, "\n".join(lines) + "\n", None)


def compose_former_contact(reference: str, address: str, kind: str, facts: Mapping[str, Any],
                           settings: delivery.MailSettings) -> Message:
    """To the previous contact address: the link it had no longer works. No link, no answers."""
    call = facts["call"]
    lines = ["Bonjour,", "",
             f"Le lien du dossier {reference} (réponse à l'{delivery._lower_first(call['title'])}) que vous aviez "
             f"reçu ne permet plus d'ouvrir ce dossier : la {call['organisation']} l'a remplacé, et les messages "
             "au sujet de ce dossier vont désormais à une autre adresse de contact.", "",
             f"Vous suivez ce dossier pour votre structure ? Appelez ou écrivez aux contacts de l'AMI en donnant "
             f"la référence {reference} :"] + delivery._contacts_lines(facts)
    return delivery._message(settings, address, f"Lien du dossier {reference} remplacé — {call['short_title']}",
                             reference, kind, "\n".join(lines) + "\n", None)


def compose_region_notice(reference: str, event: Mapping[str, Any], contact: str, previous_contact: str | None,
                          kind: str, facts: Mapping[str, Any], settings: delivery.MailSettings) -> Message:
    """To the Région's notification address: who revoked the dossier's link, when, and where the
    new one went. No link of any kind: the notice says where to look (the review pages)."""
    lines = [f"Le lien du dossier {reference} a été révoqué le {datetime_fr(datetime.fromisoformat(event['at']))} "
             f"par {delivery._one_line(event['by'])}. Les liens envoyés jusqu'ici n'ouvrent plus le dossier ; le "
             f"nouveau lien est parti par e-mail à {contact}."]
    if previous_contact:
        lines += ["", f"Cette adresse est désormais le contact du dossier (version {event['version']}) ; l'ancienne "
                      f"({previous_contact}) est prévenue, sans lien, que le sien ne fonctionne plus."]
    lines += ["", f"L'historique du dossier {reference}, dans les pages d'instruction, garde la trace de cette "
                  "révocation."]
    return delivery._message(settings, facts["contacts"]["notification_email"],
                             f"Lien du dossier {reference} révoqué — {facts['call']['short_title']}", reference,
                             kind, "\n".join(lines) + "\n", None)


def revocation_mails(reference: str, number: int, event: Mapping[str, Any], generation: int, contact: str,
                     previous_contact: str | None, facts: Mapping[str, Any], settings: delivery.MailSettings,
                     new_link: bool = True) -> list[Mail]:
    """The mails of the N-th history event, a revocation that made the link `generation`.
    `new_link=False` leaves out the new link (a later revocation replaced it)."""
    kinds = revocation_mail_kinds(number, event)
    mails = []
    if new_link:
        mails.append(Mail(kinds[0], compose_new_link(reference, contact, generation, kinds[0], facts, settings),
                          contact))
    if previous_contact and len(kinds) > 2:
        mails.append(Mail(kinds[1], compose_former_contact(reference, previous_contact, kinds[1], facts, settings),
                          previous_contact))
    region = facts["contacts"]["notification_email"]
    mails.append(Mail(kinds[-1], compose_region_notice(reference, event, contact, previous_contact, kinds[-1], facts,
                                                       settings), region))
    return mails


def queue_revocation_mails(where: Store | str, revocation: Revocation, facts: Mapping[str, Any],
                           settings: delivery.MailSettings) -> list[str]:
    """Queue the mails of a revocation just stored (porteur/revocation.Revocation); the kinds queued.
    A mail that cannot be queued is logged; the mailer's catch-up queues it from the history."""
    return queue_mails(where, revocation.reference, revocation_mails(
        revocation.reference, revocation.number, revocation.event, revocation.generation, revocation.contact,
        revocation.previous_contact, facts, settings))


def catch_up_mails(where: Store | str, reference: str, events: list[Mapping[str, Any]], facts: Mapping[str, Any],
                   settings: delivery.MailSettings) -> list[tuple[list[str], Callable[[], list[Mail]]]]:
    """(kinds, compose) for each revocation of the history (mail/catch_up.py); compose() gives its
    mails, the contacts read from the versions the event names."""
    numbers = [index + 1 for index, event in enumerate(events) if event.get("kind") == REVOKED]
    found: list[tuple[list[str], Callable[[], list[Mail]]]] = []
    for number in numbers:
        event, latest = events[number - 1], number == numbers[-1]
        kinds = revocation_mail_kinds(number, event)

        def compose(number: int = number, event: Mapping[str, Any] = event, latest: bool = latest) -> list[Mail]:
            contact = version_record(where, reference, int(event["version"]))["answers"]["contact_email"]
            previous = (version_record(where, reference, int(event["previous_version"]))["answers"]["contact_email"]
                        if "previous_version" in event else None)
            return revocation_mails(reference, number, event, link_generation(events[:number]), contact, previous,
                                    facts, settings, new_link=latest)

        found.append((kinds if latest else kinds[1:], compose))
    return found
