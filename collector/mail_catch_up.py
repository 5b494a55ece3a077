"""The mails of a dossier's life, queued again from the histories and the versions when lost.

A lifecycle mail (a message to the porteur, the porteur's answer, an answer letter, a
meeting's proposal, confirmation or cancellation, a correction's acknowledgement) is
queued by the request that stored its event, just after the event. If that fails (a full
disk, an outbox folder that cannot be written, a process killed in between), the event is
on disk and its mail is not. The mail's name follows from the event alone (porteur_mail:
`message-N` and `reponse-N` for the N-th event of the history, `rencontre-M-proposee`…,
`accuse-vN` for version N, `lien-remplace-N` for a revoked link: revocation_mail.py), so this
pass, run by the mailer at start and then every COLLECTOR_MAIL_RETRY_SECONDS, and by
`send-mail`, lists the names every history and every corrected version calls for and queues each one that is neither in the outbox, in
sending/, nor remembered (mail-queued/: sent, refused or deleted by hand). The outbox's
queue lock (mail.queue_message) makes the request and this pass one queuer: whichever comes
first writes the message, the other finds it known; a mail is never queued twice.

What is not caught up: a meeting's mail once the meeting has moved on (a proposal whose
mail was lost but which the porteur accepted, or a reviewer cancelled, is not sent late:
the later state's mails say what holds), nor the new link of a revocation revoked again
since (its link no longer opens anything; the previous contact's notice is). A lost-link
mail has no event: its request file stays until the mailer handles it (link_requests.py).

The cost: the mailer remembers, per dossier, the signature of its history and versions
folder once every mail they call for is known, and reads again only what changed; the
first pass reads every history and every corrected dossier.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from . import mail, porteur_mail, revocation_mail
from .dossier import (ANSWER, MESSAGE, MEETING_KINDS, PORTEUR_REPLY, VERSIONS_DIR, all_versions, latest_record,
                      version_numbers)
from .meetings import PROPOSED, meetings_of
from .porteur.revocation import SET_BY
from .records import RecordError
from .statuses import REVIEWS_DIR, StatusError, read_history

log = logging.getLogger(__name__)

Signature = tuple[int, int, int]
SIMPLE_EVENTS = {MESSAGE: ("message", porteur_mail.message_mails),
                 PORTEUR_REPLY: ("reponse-porteur", porteur_mail.porteur_reply_mails),
                 ANSWER: ("reponse", porteur_mail.answer_mails)}


def _signature(path: str) -> Signature | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def dossiers_with_life(data_dir: str) -> set[str]:
    """The references that have a history or corrected versions (names only)."""
    references = set()
    try:
        references |= {name[:-len(".yaml")] for name in os.listdir(os.path.join(data_dir, REVIEWS_DIR))
                       if name.endswith(".yaml")}
    except FileNotFoundError:
        pass
    try:
        references |= set(os.listdir(os.path.join(data_dir, VERSIONS_DIR)))
    except FileNotFoundError:
        pass
    return references


def _event_mails(record: Callable[[], Mapping[str, Any]], events: list[Mapping[str, Any]],
                 facts: Mapping[str, Any], current: mail.MailSettings) -> list[tuple[list[str], Any]]:
    """(kinds, compose) for each event of the history that calls for mails; compose() gives them.
    `record()` reads the dossier's newest version: only a mail to compose needs it."""
    found: list[tuple[list[str], Any]] = []
    meetings = {meeting.number: meeting for meeting in meetings_of({"events": events})}
    proposals = 0
    for index, event in enumerate(events):
        kind, number = event.get("kind"), index + 1
        if kind in SIMPLE_EVENTS:
            prefix, compose = SIMPLE_EVENTS[kind]
            found.append(([f"{prefix}-{number}"],
                          lambda compose=compose, event=event, number=number: compose(record(), event, number,
                                                                                      facts, current)))
        elif kind in MEETING_KINDS:
            proposals += kind == PROPOSED
            meeting_number = proposals if kind == PROPOSED else event.get("meeting")
            latest = meetings.get(meeting_number)
            if latest is None:
                continue
            last = latest.history[-1] if latest.history else None  # the meeting's latest event but its proposal
            if not (last is None if kind == PROPOSED else last is event):
                continue  # a state the meeting has left: its later mails say what holds
            found.append((porteur_mail.meeting_mail_kinds(latest),
                          lambda latest=latest: porteur_mail.meeting_mails(record(), latest, facts, current)))
    return found


def _version_mails(data_dir: str, reference: str, facts: Mapping[str, Any], form: Any,
                   current: mail.MailSettings) -> list[tuple[list[str], Any]]:
    if not version_numbers(data_dir, reference):
        return []
    versions = all_versions(data_dir, reference)
    found = []
    for previous, version in zip(versions, versions[1:]):
        if version.get(SET_BY):
            continue  # a contact a reviewer restored: its mails are the revocation's (revocation_mail)
        found.append((porteur_mail.correction_mail_kinds(previous, version),
                      lambda previous=previous, version=version: porteur_mail.correction_mails(
                          previous, version, facts, form, current)))
    return found


def catch_up_dossier(data_dir: str, reference: str, facts: Mapping[str, Any], form: Any,
                     current: mail.MailSettings, known: set[str]) -> tuple[list[str], bool]:
    """Queue the missing mails of one dossier; (names queued, whether every mail it calls for is known)."""
    history = read_history(data_dir, reference)
    wanted = _event_mails(functools.cache(lambda: latest_record(data_dir, reference)), history["events"], facts,
                          current)
    wanted += _version_mails(data_dir, reference, facts, form, current)
    wanted += revocation_mail.catch_up_mails(data_dir, reference, history["events"], facts, current)
    queued: list[str] = []
    settled = True
    for kinds, compose in wanted:
        missing = [kind for kind in kinds if mail.message_name(reference, kind) not in known]
        if not missing:
            continue
        mails = [item for item in compose() if item.kind in missing]
        done = porteur_mail.queue_mails(data_dir, reference, mails)
        queued += [mail.message_name(reference, kind) for kind in done]
        settled = settled and len(done) == len(missing)
    return queued, settled


class LifecycleCatchUp:
    """The catch-up pass, remembering which dossiers had all their mails known (see the docstring)."""

    def __init__(self) -> None:
        self._settled: dict[str, tuple[Signature | None, Signature | None]] = {}

    def run(self, data_dir: str, facts: Mapping[str, Any], form: Any, current: mail.MailSettings) -> list[str]:
        """Queue every lifecycle mail that is missing; the names queued."""
        known: set[str] | None = None
        queued: list[str] = []
        references = dossiers_with_life(data_dir)
        for reference in sorted(references):
            key = (_signature(os.path.join(data_dir, REVIEWS_DIR, reference + ".yaml")),
                   _signature(os.path.join(data_dir, VERSIONS_DIR, reference)))
            if self._settled.get(reference) == key:
                continue
            if known is None:
                known = mail.known_names(data_dir)  # listed once a pass, only when a dossier needs a look
            try:
                names, settled = catch_up_dossier(data_dir, reference, facts, form, current, known)
            except (RecordError, StatusError, OSError) as error:
                log.warning("mail: the mails of %s wait: its files cannot be read (%s; run `check`)",
                            reference, type(error).__name__)
                continue
            except Exception as error:  # noqa: BLE001 - one odd dossier must not hold back every other mail
                log.error("mail: the mails of %s wait: an event cannot be read (%s; run `check`)",
                          reference, type(error).__name__)
                continue
            queued += names
            known.update(names)
            if settled:
                self._settled[reference] = key
        for gone in set(self._settled) - references:
            del self._settled[gone]
        return queued


def catch_up(data_dir: str, facts: Mapping[str, Any], form: Any, current: mail.MailSettings) -> list[str]:
    """One full pass (for `send-mail`); the names queued."""
    return LifecycleCatchUp().run(data_dir, facts, form, current)
