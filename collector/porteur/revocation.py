"""Revoking one dossier's link, and restoring its contact address. Flask-free.

A dossier's link generation is the number of « lien révoqué » events in its review history
(`store.histories`: the data folder's `reviews/<REF>.yaml` or PostgreSQL's row), 0 until the
first revocation: links already sent keep working until then (links.py signs the reference
alone at 0). Revoking appends one event, durably, under the reference's lock
(statuses.add_event): from that moment only the next generation's key opens the dossier,
on every worker and host, and the history is the audit trail (who, when, to which version's
contact the new link went).

Restoring the contact (a link that leaked was used to move the contact to another address):
the reviewer's address becomes the dossier's contact through a new version of the answers,
the same versioning a correction uses (dossier.write_next_version), written durably before
the event. Every reader of the contact (mails, the lost-link page, the review pages, the
exports, the duplicates) reads the newest version: none of them has to learn about
revocations. The version says who set it (`contact_set_by`), so it is never taken for the
porteur's correction (no correction mails: the revocation's own mails, mail/revocation.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError

from .. import dossier, resent_posts
from ..addresses import AddressError, refuse_invisible, same_mailbox_whatever_ascii_case
from ..records import clean_text, content_hash
from ..statuses import MAX_NAME_LENGTH, PARIS, check_reference, read_history
from ..validation import Email

if TYPE_CHECKING:
    from ..formdef import FormDefinition
    from ..stores.base import Store

REVOKED = "lien_revoque"
CONTACT_FIELD = "contact_email"
SET_BY = dossier.CONTACT_SET_BY  # on a version made by a reviewer restoring the contact


class RevocationError(ValueError):
    """A revocation refused; the message is in French and says how to fix it."""


@dataclasses.dataclass(frozen=True)
class Revocation:
    """One stored revocation: its event and the event's number in the history, the new
    generation, the contact the new link goes to and, when the reviewer changed it, the previous one."""

    reference: str
    event: dict[str, Any]
    number: int
    generation: int
    contact: str
    previous_contact: str | None


def link_generation(events: list[Mapping[str, Any]]) -> int:
    """The link generation after these history events: how many revoked the link."""
    return sum(1 for event in events if event.get("kind") == REVOKED)


def current_generation(where: Store | str, reference: str) -> int:
    """The dossier's link generation now; StatusError when its history cannot be read (then
    nobody can tell which key is current: callers refuse every key, never fall back to 0)."""
    return link_generation(read_history(where, reference)["events"])


def checked_contact(form: FormDefinition, address: str) -> str:
    """The address, normalised, when the form would accept it as the contact e-mail; a control
    or invisible character is named (addresses.refuse_invisible), and never shown back."""
    try:
        refuse_invisible(address)
        return Email(form.field(CONTACT_FIELD)).parse(address)
    except AddressError as error:
        raise RevocationError(str(error)) from None
    except ValidationError as error:
        raise RevocationError(" ".join(str(message) for message in error.messages)) from None


def _who(by: str | None) -> str:
    """The reviewer's name as the history keeps names (statuses.MAX_NAME_LENGTH, no control character)."""
    try:
        name = clean_text((by or "").strip())
    except ValueError as error:
        raise RevocationError(f"Nom de la personne qui révoque : {error}") from None
    if not name:
        raise RevocationError("Indiquez qui révoque ce lien.")
    if len(name) > MAX_NAME_LENGTH:
        raise RevocationError(f"Nom de la personne qui révoque : {MAX_NAME_LENGTH} caractères au plus.")
    return name


def _moment(now: datetime | None) -> str:
    return (now or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds")


def _contact_version(store: Store | str, latest: dict[str, Any], address: str, by: str,
                     moment: str) -> dict[str, Any]:
    """Write the newest answers again with `address` as the contact (a new version, durably);
    the current version when the contact is that address already."""
    answers = {**latest["answers"], CONTACT_FIELD: address}
    corrected = {key: value for key, value in latest.items() if key not in ("version", "versions", "corrected_at",
                                                                             SET_BY)}
    corrected.update(answers=answers, content_hash=content_hash(answers), **{SET_BY: by})
    return dossier.write_next_version(store, corrected, moment)


def _unannounced_contact(events: list[Mapping[str, Any]], latest: Mapping[str, Any]) -> bool:
    """The newest version is a contact a reviewer set whose revocation event was never stored (a
    revocation that failed between the two, e.g. PostgreSQL restarting): the same revocation run
    again completes it, and the contact that version replaced is told, as if the first had gone through."""
    announced = {event.get("version") for event in events if event.get("kind") == REVOKED}
    return bool(latest.get(SET_BY)) and latest["version"] not in announced


def _refuse_other_contact(where: Store | str, reference: str, submission_id: str | None,
                          address: str | None) -> None:
    """The form's id already stored: None (the repeat) when it asked for the same new contact (or
    none); ResentWithOtherContent otherwise. Compared with the contact of the version its event
    recorded, not the event itself: a repeat racing the first finds that contact already set (no
    `previous_version`) though it asked for the same. A revocation stored before traces: the repeat."""
    wanted = resent_posts.trace(submission_id or "")
    stored = next((event for event in read_history(where, reference)["events"]
                   if event.get(resent_posts.TRACE) == wanted), None)
    if stored is None:
        return None
    if address is None:
        same = "previous_version" not in stored
    else:
        contact = dossier.version_record(where, reference, stored["version"])["answers"].get(CONTACT_FIELD)
        same = same_mailbox_whatever_ascii_case(address, str(contact or ""))
    if not same:
        raise resent_posts.ResentWithOtherContent()
    return None


def revoke_link(where: Store | str, reference: str, *, by: str, form: FormDefinition,
                new_contact: str | None = None, now: datetime | None = None,
                post_id: str | None = None) -> Revocation | None:
    """Revoke the dossier's link (generation + 1), after making `new_contact`, when given, its
    contact. Each step is durable before the next: the version, then the event; the caller
    queues the mails after (mail/revocation.py; the mailer's catch-up queues them if that fails).

    RevocationError (French) for an address the form would refuse; StatusError for an unknown
    reference or an unreadable history (then nothing is stored). None when the form's one-time
    `post_id` was already stored (a double click): nothing revoked again, nothing to mail; a
    repeat racing the first writes no second version either (the same answers make none). That id
    already stored for another new contact: resent_posts.ResentWithOtherContent, nothing stored."""
    check_reference(where, reference)
    submission_id = dossier.reply_submission_id(reference, post_id)
    by = _who(by)
    address = checked_contact(form, new_contact) if new_contact is not None else None
    if submission_id is not None and dossier.store_of(where).dossier_posts.claimed(submission_id) is not None:
        return _refuse_other_contact(where, reference, submission_id, address)
    events = read_history(where, reference)["events"]  # unreadable: refused before any version is written
    moment = _moment(now)
    latest = dossier.latest_record(where, reference)
    previous = str(latest["answers"].get(CONTACT_FIELD) or "")
    event: dict[str, Any] = {"at": moment, "by": by, "kind": REVOKED, "version": latest["version"]}
    # Another case in the local part reaches the same mailbox at every provider in common use: no
    # new version, and no notice telling that very mailbox its link went elsewhere (addresses.py).
    if address is not None and not same_mailbox_whatever_ascii_case(address, previous):
        version = _contact_version(where, latest, address, by, moment)
        event.update(version=version["version"], previous_version=latest["version"])
    elif address is not None and _unannounced_contact(events, latest):  # a first run stored its version only
        replaced = dossier.version_record(where, reference, latest["version"] - 1)
        previous = str(replaced["answers"].get(CONTACT_FIELD) or "")
        event.update(previous_version=latest["version"] - 1)
    if submission_id is not None:
        event = resent_posts.traced(event, submission_id)  # what a form sent again is compared with
    history = dossier.append_once(where, reference, event, post_id)
    if history is None:
        return _refuse_other_contact(where, reference, submission_id, address)
    return Revocation(reference, event, len(history["events"]), link_generation(history["events"]),
                      address if "previous_version" in event else previous,
                      previous if "previous_version" in event else None)

