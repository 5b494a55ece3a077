"""The mails of a dossier's life, queued again from the histories and the versions when lost.

A lifecycle mail (a message to the porteur, the porteur's answer, an answer letter, a
meeting's proposal, confirmation or cancellation, a correction's acknowledgement) is
queued by the request that stored its event, just after the event. If that fails (a full
disk, an outbox folder that cannot be written, a process killed in between), the event is
on disk and its mail is not. The mail's name follows from the event alone (mail/lifecycle.py:
`message-N` and `reponse-N` for the N-th event of the history, `rencontre-M-proposee`…,
`accuse-vN` for version N, `lien-remplace-N` for a revoked link: mail/revocation.py), so this
pass, run by the mailer at start and then every COLLECTOR_MAIL_RETRY_SECONDS, and by
`send-mail`, lists the names every history and every corrected version calls for and queues each one that is neither in the outbox, in
sending/, nor remembered (mail-queued/: sent, refused or deleted by hand). The outbox's
queue lock (delivery.queue_message; on PostgreSQL the name's primary key) makes the request and
this pass one queuer: whichever comes first writes the message, the other finds it known; a
mail is never queued twice.

What is not caught up: a meeting's mail once the meeting has moved on (a proposal whose
mail was lost but which the porteur accepted, or a reviewer cancelled, is not sent late:
the later state's mails say what holds), nor the new link of a revocation revoked again
since (its link no longer opens anything; the previous contact's notice is). A lost-link
mail has no event: its request file stays until the mailer handles it (link_requests.py).

It works through the store it is given (`store.histories`, `store.versions`, `store.outbox`),
so on PostgreSQL the events stored by any host are caught up by any host's mailer, and the
outbox's primary key makes a mail queued once across hosts. We chose this over queueing each
lifecycle mail in its event's transaction: the catch-up is needed anyway (a composition that
failed, a meeting's mails, dossiers carried by migrate-store), it covers both stores with
one code path, and it leaves the request paths and their caps as they are.

The cost: the mailer remembers, per dossier, the mark of its history and of its versions
(Histories.marks, Versions.marks: a file's stat in the data folder, a hash and a count in
PostgreSQL, one query each per pass) once every mail they call for is known, and reads again
only what changed; the first pass reads every history and every corrected dossier. Those
reads go through the store's `review_source.reader`, CHUNK dossiers at a time: on
PostgreSQL one query for their histories and two for the corrected ones' records and
versions (a query per history made the first pass after a start take 15 to 42 s at 10,000
dossiers); the data folder reads each file when asked, as before. A mail to compose reads
its dossier's newest record from the store then (only a lost mail needs it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import delivery, lifecycle, revocation as revocation_mails
from ..dossier import ANSWER, MESSAGE, MEETING_KINDS, PORTEUR_REPLY, all_versions, latest_record, version_numbers
from ..meetings import PROPOSED, meetings_of
from ..porteur.revocation import SET_BY
from ..records import RecordError
from ..statuses import StatusError, read_history, store_of
from ..stores.base import StoreUnavailable

if TYPE_CHECKING:
    from ..stores.base import Store
    from ..stores.review_source import RecordReader

log = logging.getLogger(__name__)

Mark = tuple[object, object]  # the history's mark and the versions' mark (None: none)
CHUNK = 500  # dossiers whose documents are fetched together (PostgreSQL: three queries a chunk)
SIMPLE_EVENTS = {MESSAGE: ("message", lifecycle.message_mails),
                 ANSWER: ("reponse", lifecycle.answer_mails)}


def dossiers_with_life(store: Store) -> dict[str, Mark]:
    """The references that have a history or corrected versions, each with its marks."""
    histories, versions = store.histories.marks(), store.versions.marks()
    return {reference: (histories.get(reference), versions.get(reference)) for reference in {*histories, *versions}}


def _event_mails(record: Callable[[], Mapping[str, Any]], events: list[Mapping[str, Any]],
                 facts: Mapping[str, Any], current: delivery.MailSettings) -> list[tuple[list[str], Any]]:
    """(kinds, compose) for each event of the history that calls for mails; compose() gives them.
    `record()` reads the dossier's newest version: only a mail to compose needs it."""
    found: list[tuple[list[str], Any]] = []
    meetings = {meeting.number: meeting for meeting in meetings_of({"events": events})}
    proposals = 0
    for index, event in enumerate(events):
        kind, number = event.get("kind"), index + 1
        if kind == PORTEUR_REPLY:  # worded by the messages before it: an answer, or a new message
            found.append(([f"reponse-porteur-{number}"],
                          lambda event=event, number=number, earlier=events[:index]: lifecycle.porteur_reply_mails(
                              record(), event, number, facts, current, earlier)))
        elif kind in SIMPLE_EVENTS:
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
            found.append((lifecycle.meeting_mail_kinds(latest),
                          lambda latest=latest: lifecycle.meeting_mails(record(), latest, facts, current)))
    return found


def _version_mails(source: Store | RecordReader, reference: str, facts: Mapping[str, Any], form: Any,
                   current: delivery.MailSettings) -> list[tuple[list[str], Any]]:
    if not version_numbers(source, reference):
        return []
    versions = all_versions(source, reference)
    found = []
    for previous, version in zip(versions, versions[1:]):
        if version.get(SET_BY):
            continue  # a contact a reviewer restored: its mails are the revocation's (mail/revocation.py)
        found.append((lifecycle.correction_mail_kinds(previous, version),
                      lambda previous=previous, version=version: lifecycle.correction_mails(
                          previous, version, facts, form, current)))
    return found


def wanted_mails(store: Store, reference: str, facts: Mapping[str, Any], form: Any, current: delivery.MailSettings,
                 mark: Mark = (True, True), source: Store | RecordReader | None = None) -> list[tuple[list[str], Any]]:
    """(kinds, compose) for every mail the dossier's history and versions call for. `mark`
    (dossiers_with_life) spares the reads of a history or of versions the dossier has not;
    `source` holds them already fetched (a chunk's reader), else they are read from `store`."""
    source = store if source is None else source
    events = read_history(source, reference)["events"] if mark[0] is not None else []
    wanted = _event_mails(functools.cache(lambda: latest_record(store, reference)), events, facts, current)
    if mark[1] is not None:
        wanted += _version_mails(source, reference, facts, form, current)
    return wanted + revocation_mails.catch_up_mails(store, reference, events, facts, current)


def catch_up_dossier(store: Store, reference: str, facts: Mapping[str, Any], form: Any, current: delivery.MailSettings,
                     known: set[str], mark: Mark = (True, True),
                     source: Store | RecordReader | None = None) -> tuple[list[str], bool]:
    """Queue the missing mails of one dossier; (names queued, whether every mail it calls for is
    known). `mark` and `source` as wanted_mails takes them."""
    wanted = wanted_mails(store, reference, facts, form, current, mark, source)
    queued: list[str] = []
    settled = True
    for kinds, compose in wanted:
        missing = [kind for kind in kinds if delivery.message_name(reference, kind) not in known]
        if not missing:
            continue
        mails = [item for item in compose() if item.kind in missing]
        done = lifecycle.queue_mails(store, reference, mails)
        queued += [delivery.message_name(reference, kind) for kind in done]
        settled = settled and len(done) == len(missing)
    return queued, settled


class LifecycleCatchUp:
    """The catch-up pass, remembering which dossiers had all their mails known (see the docstring)."""

    def __init__(self) -> None:
        self._settled: dict[str, Mark] = {}

    def run(self, where: Store | str, facts: Mapping[str, Any], form: Any, current: delivery.MailSettings) -> list[str]:
        """Queue every lifecycle mail that is missing from the outbox of `where` (a store, or a
        data folder's path standing for its store); the names queued. StoreUnavailable (the
        store out of reach) ends the pass: the next one starts again."""
        store = store_of(where)
        queued: list[str] = []
        dossiers = dossiers_with_life(store)
        to_read = [(reference, mark) for reference, mark in sorted(dossiers.items())
                   if self._settled.get(reference) != mark]
        known = store.outbox.known_names() if to_read else set()  # listed once a pass, when a dossier needs a look
        for start in range(0, len(to_read), CHUNK):
            queued += self._catch_up_chunk(store, to_read[start:start + CHUNK], facts, form, current, known)
        for gone in set(self._settled) - set(dossiers):
            del self._settled[gone]
        return queued

    def _catch_up_chunk(self, store: Store, chunk: list[tuple[str, Mark]], facts: Mapping[str, Any], form: Any,
                        current: delivery.MailSettings, known: set[str]) -> list[str]:
        """Fetch the chunk's histories and corrected dossiers together, then catch each dossier up."""
        source = store.review_source.reader(records=[reference for reference, mark in chunk if mark[1] is not None],
                                            histories=[reference for reference, mark in chunk if mark[0] is not None])
        queued: list[str] = []
        for reference, mark in chunk:
            try:
                names, settled = catch_up_dossier(store, reference, facts, form, current, known, mark, source)
            except StoreUnavailable:
                raise
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
                self._settled[reference] = mark
        return queued


def catch_up(where: Store | str, facts: Mapping[str, Any], form: Any, current: delivery.MailSettings) -> list[str]:
    """One full pass (for `send-mail`); the names queued."""
    return LifecycleCatchUp().run(where, facts, form, current)
