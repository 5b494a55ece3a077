"""Meetings (« une rencontre pourra être proposée au porteur »): proposals, choice, cancellation.

A reviewer proposes one to three slots (date, time in Europe/Paris, duration, place or
video link, who attends for the Région). The porteur accepts one slot or asks for
another on the dossier page; either side's step is an event appended durably to the
dossier's history (statuses.add_event), so the state of every meeting is read back
from the history alone (`meetings_of`). Invitations are iCalendar files (RFC 5545/5546,
the icalendar library): METHOD:REQUEST for a proposal (one tentative VEVENT per slot)
and for the confirmation, METHOD:CANCEL for a cancellation, with stable UIDs and a
rising SEQUENCE so calendars update the same event. Once the porteur chooses a slot or asks
for another, the slots not kept are withdrawn by a CANCEL of their own (`withdrawal`): mail
clients put a REQUEST's events in the agenda on arrival, and only a CANCEL of the same UID
takes them out. The proposal asks for no RSVP: the choice is made on the dossier page.

Flask-free: the porteur's pages, the review pages and the mails use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .calendar_zones import add_timezones
from .dossier import MEETING_KINDS, append_once
from .records import clean_paragraphs
from .statuses import PARIS, add_event
from .template_filters import thousands

if TYPE_CHECKING:
    from .stores.base import Store

KINDS = MEETING_KINDS
PROPOSED, ACCEPTED, OTHER_ASKED, CANCELLED = MEETING_KINDS
# How the review pages name each state.
MEETING_STATES = {PROPOSED: "proposée, en attente du porteur", ACCEPTED: "confirmée",
                  OTHER_ASKED: "autre créneau demandé par le porteur", CANCELLED: "annulée"}
MAX_SLOTS = 3
MAX_TEXT = 300
MAX_REQUEST = 2000
DURATIONS = (15, 480)  # minutes, inclusive


class MeetingError(ValueError):
    """A refused proposal or choice; `field` names the input, the message is French."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, Europe/Paris
    minutes: int
    place: str
    attendees: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def as_event(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(timespec="minutes"), "minutes": self.minutes, "place": self.place,
                "attendees": self.attendees}

    @classmethod
    def from_event(cls, data: Mapping[str, Any]) -> Slot:
        return cls(datetime.fromisoformat(str(data["start"])).astimezone(PARIS), int(data["minutes"]),
                   str(data["place"]), str(data["attendees"]))

    def is_past(self, now: datetime) -> bool:
        """Whether the slot has begun: it can no longer be chosen."""
        return self.start <= now

    @property
    def is_link(self) -> bool:
        return bool(re.match(r"https?://", self.place))


@dataclass
class Meeting:
    """One proposal and what became of it."""

    number: int  # the proposal's number in the dossier (1, 2…)
    proposed_at: str
    slots: list[Slot]
    state: str = PROPOSED  # or ACCEPTED, OTHER_ASKED, CANCELLED
    chosen: int | None = None  # index of the accepted slot
    request: str = ""  # the porteur's words when asking for another slot
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slot(self) -> Slot | None:
        return self.slots[self.chosen] if self.chosen is not None else None

    def open_slots(self, now: datetime) -> list[Slot]:
        """The slots not begun yet: those the porteur may still choose (none: the porteur gives availabilities)."""
        return [slot for slot in self.slots if not slot.is_past(now)]

    @property
    def sequence(self) -> int:
        """iCalendar SEQUENCE: one more at each step after the proposal (0), so that a calendar
        takes every later .ics as newer: 1 confirmed or slots withdrawn, 2 cancelled after a
        confirmation, or confirmed after the porteur first asked for other slots…"""
        return len(self.history)

    @property
    def requests_for_others(self) -> int:
        """How many times the porteur asked for other slots (each one is mailed to the Région)."""
        return sum(event.get("kind") == OTHER_ASKED for event in self.history)


def _text(value: str | None, what: str, name: str, limit: int = MAX_TEXT, required: bool = True) -> str:
    try:
        text = " ".join(clean_paragraphs(value or "").split())  # a pasted line break (U+000B, U+2028…): a space
    except ValueError as error:
        raise MeetingError(f"{what} : {error}", name) from None
    if required and not text:
        raise MeetingError(f"{what} : à remplir.", name)
    if len(text) > limit:
        raise MeetingError(f"{what} : {thousands(limit)} caractères au plus (il y en a {thousands(len(text))}).", name)
    return text


def _lines(value: str | None, what: str, name: str, limit: int) -> str:
    """A multi-line text (availabilities, one a line): spaces normalised within each line,
    the line breaks kept, blank lines at both ends dropped."""
    try:
        lines = [" ".join(line.split()) for line in clean_paragraphs(value or "").split("\n")]
    except ValueError as error:
        raise MeetingError(f"{what} : {error}", name) from None
    text = "\n".join(lines).strip("\n")
    if not text:
        raise MeetingError(f"{what} : à remplir.", name)
    if len(text) > limit:
        raise MeetingError(f"{what} : {thousands(limit)} caractères au plus (il y en a {thousands(len(text))}) ; "
                           "raccourcissez-les.", name)
    return text


def parse_slot(number: int, day: str | None, hour: str | None, minutes: str | None, place: str | None,
               attendees: str | None, now: datetime) -> Slot | None:
    """A slot from the review form's fields (`number` from 1); None when all are empty."""
    if not any((value or "").strip() for value in (day, hour, place, attendees)):
        return None
    prefix = f"Créneau {number}"
    if not (day or "").strip():
        raise MeetingError(f"{prefix} : date à remplir ; choisissez un jour (jour/mois/année).", f"date-{number}")
    if not (hour or "").strip():  # never « illisible »: nothing was written
        raise MeetingError(f"{prefix} : heure à remplir, par exemple 14:30.", f"heure-{number}")
    try:
        start_day = date.fromisoformat((day or "").strip())
    except ValueError:
        raise MeetingError(f"{prefix} : date illisible ; choisissez un jour (jour/mois/année).", f"date-{number}") from None
    match = re.fullmatch(r"([01]?\d|2[0-3])[:h]([0-5]\d)", (hour or "").strip())
    if not match:
        raise MeetingError(f"{prefix} : heure illisible ; écrivez-la comme 14:30.", f"heure-{number}")
    start = datetime(start_day.year, start_day.month, start_day.day, int(match.group(1)), int(match.group(2)),
                     tzinfo=PARIS)
    if start <= now:
        raise MeetingError(f"{prefix} : ce moment est passé ; choisissez une date à venir.", f"date-{number}")
    try:
        length = int((minutes or "").strip())
    except ValueError:
        length = 0
    if not DURATIONS[0] <= length <= DURATIONS[1]:
        raise MeetingError(f"{prefix} : durée en minutes, entre {DURATIONS[0]} et {DURATIONS[1]}.", f"duree-{number}")
    return Slot(start, length, _text(place, f"{prefix}, lieu ou lien de visioconférence", f"lieu-{number}"),
                _text(attendees, f"{prefix}, participants de la Région", f"participants-{number}"))


def meetings_of(history: Mapping[str, Any]) -> list[Meeting]:
    """Every meeting of a dossier, in the order proposed, with its current state."""
    meetings: dict[int, Meeting] = {}
    for event in history.get("events", []):
        kind = event.get("kind")
        if kind == PROPOSED:
            number = len(meetings) + 1
            meetings[number] = Meeting(number, str(event["at"]), [Slot.from_event(item) for item in event["slots"]])
        elif kind in KINDS and event.get("meeting") in meetings:
            meeting = meetings[event["meeting"]]
            meeting.history.append(event)
            meeting.state = kind
            if kind == ACCEPTED:
                meeting.chosen = int(event["slot"])
            elif kind == OTHER_ASKED:
                meeting.request = str(event.get("text") or "")
    return list(meetings.values())


def propose(where: Store | str, reference: str, slots: list[Slot], *, by: str, now: datetime,
            post_id: str | None = None) -> Meeting | None:
    """Store a proposal of one to three slots; the meeting as stored, or None when the form's
    one-time `post_id` was already stored (a double click: one meeting, never two)."""
    if not slots:
        raise MeetingError("Proposez au moins un créneau (date, heure, durée, lieu, participants).", "date-1")
    if len(slots) > MAX_SLOTS:
        raise MeetingError(f"{MAX_SLOTS} créneaux au plus.", "date-1")
    event = {"at": now.astimezone(PARIS).isoformat(timespec="seconds"), "by": by, "kind": PROPOSED,
             "slots": [slot.as_event() for slot in slots]}
    history = append_once(where, reference, event, post_id, refuse_other_content=True)
    return None if history is None else meetings_of(history)[-1]


class UnknownMeeting(MeetingError):
    """No meeting of the dossier bears this number (a hand-made or stale address): a 404, not a form error."""


def _open(history: Mapping[str, Any], number: int) -> Meeting:
    """The meeting `number` while it awaits the porteur's choice; MeetingError saying why not (at the
    meeting's block on the dossier page, `rencontre-N`), UnknownMeeting when there is no such meeting."""
    for meeting in meetings_of(history):
        if meeting.number == number:
            if meeting.state == CANCELLED:
                raise MeetingError("Cette rencontre a été annulée par la Région : elle n'attend plus de réponse et "
                                   "votre choix n'est pas enregistré. Pour convenir d'une autre rencontre, écrivez à "
                                   "la Région depuis cette page.", f"rencontre-{number}")
            if meeting.state == ACCEPTED:
                raise MeetingError("Vous avez déjà choisi un créneau pour cette rencontre : elle n'attend plus de "
                                   "réponse et ce nouveau choix n'est pas enregistré. Pour changer de créneau, "
                                   "écrivez à la Région depuis cette page.", f"rencontre-{number}")
            return meeting
    raise UnknownMeeting("Cette rencontre n'existe pas dans votre dossier : l'adresse est incomplète ou ancienne. "
                         "Revenez à votre dossier pour choisir parmi les rencontres que la Région vous propose.")


def accept(where: Store | str, reference: str, history: Mapping[str, Any], number: int, slot: int | None,
           now: datetime) -> Meeting:
    """The porteur accepts one slot of an open proposal; the meeting, confirmed."""
    meeting = _open(history, number)
    if slot is None or not 0 <= slot < len(meeting.slots):
        raise MeetingError("Choisissez l'un des créneaux proposés.", f"creneau-{number}")
    if meeting.slots[slot].is_past(now):
        raise MeetingError("Ce créneau est passé : choisissez-en un autre ou indiquez vos disponibilités.",
                           f"creneau-{number}")
    updated = add_event(where, reference, {"at": now.astimezone(PARIS).isoformat(timespec="seconds"),
                                           "by": "porteur", "kind": ACCEPTED, "meeting": number, "slot": slot},
                        precondition=lambda fresh: _open(fresh, number))
    return meetings_of(updated)[number - 1]


def other_request_text(history: Mapping[str, Any], number: int, text: str | None) -> str:
    """The availabilities an « autre créneau » request of meeting `number` stores; MeetingError
    (in French) when the request cannot be made."""
    _open(history, number)
    return _lines(text, "Vos disponibilités", f"autre-{number}", MAX_REQUEST)


def ask_other(where: Store | str, reference: str, history: Mapping[str, Any], number: int, text: str | None,
              now: datetime) -> Meeting:
    """The porteur asks for another slot (saying when they can)."""
    words = other_request_text(history, number, text)
    updated = add_event(where, reference, {"at": now.astimezone(PARIS).isoformat(timespec="seconds"),
                                           "by": "porteur", "kind": OTHER_ASKED, "meeting": number, "text": words},
                        precondition=lambda fresh: _open(fresh, number))
    return meetings_of(updated)[number - 1]


def cancel(where: Store | str, reference: str, history: Mapping[str, Any], number: int, *, by: str,
           now: datetime, post_id: str | None = None) -> Meeting | None:
    """A reviewer cancels a meeting (proposed or confirmed); the meeting, cancelled, or None when the
    form's one-time `post_id` was already stored (a double click: cancelled and mailed once). Whether
    it is still to cancel is checked on the history as read under the dossier's lock."""
    if not any(meeting.number == number for meeting in meetings_of(history)):
        raise MeetingError(NOT_TO_CANCEL)

    def not_cancelled_yet(fresh: Mapping[str, Any]) -> None:
        if not any(meeting.number == number and meeting.state != CANCELLED for meeting in meetings_of(fresh)):
            raise MeetingError(NOT_TO_CANCEL)

    event = {"at": now.astimezone(PARIS).isoformat(timespec="seconds"), "by": by, "kind": CANCELLED, "meeting": number}
    updated = append_once(where, reference, event, post_id, not_cancelled_yet, refuse_other_content=True)
    return None if updated is None else meetings_of(updated)[number - 1]


NOT_TO_CANCEL = "Cette rencontre n'existe pas ou est déjà annulée."


def _uid(reference: str, number: int, slot: int, domain: str) -> str:
    return f"{reference.lower()}-rencontre-{number}-{slot + 1}@{domain}"


def invitation(reference: str, meeting: Meeting, facts: Mapping[str, Any], organizer: str, attendee: str,
               domain: str, stamp: datetime) -> bytes:
    """The meeting's .ics: REQUEST (every slot while proposed, the chosen one once accepted)
    or CANCEL (what was proposed or confirmed)."""
    indexes = [meeting.chosen] if meeting.chosen is not None else list(range(len(meeting.slots)))
    return _calendar(reference, meeting, indexes, facts, organizer, attendee, domain, stamp)


def not_kept(meeting: Meeting) -> list[int]:
    """The slots withdrawn from the porteur's agenda once they chose another or asked for
    other ones (none while proposed or after a cancellation, whose CANCEL covers them)."""
    if meeting.state == ACCEPTED:
        return [index for index in range(len(meeting.slots)) if index != meeting.chosen]
    return list(range(len(meeting.slots))) if meeting.state == OTHER_ASKED else []


def withdrawal(reference: str, meeting: Meeting, facts: Mapping[str, Any], organizer: str, attendee: str,
               domain: str, stamp: datetime) -> bytes:
    """A METHOD:CANCEL of the proposed slots not kept (`not_kept`), same UIDs, a SEQUENCE above
    the proposal's, so that calendars remove the tentative events the proposal placed."""
    return _calendar(reference, meeting, not_kept(meeting), facts, organizer, attendee, domain, stamp,
                     withdrawn=True)


def _calendar(reference: str, meeting: Meeting, indexes: list[int], facts: Mapping[str, Any], organizer: str,
              attendee: str, domain: str, stamp: datetime, withdrawn: bool = False) -> bytes:
    from icalendar import Calendar, Event, vCalAddress, vText  # here: a twentieth of a second to import

    call = facts["call"]
    cancelled = withdrawn or meeting.state == CANCELLED
    cal = Calendar()
    cal.add("prodid", f"-//{call['organisation']}//{call['short_title']} {call['edition']}//FR")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    for index in indexes:
        slot = meeting.slots[index]
        event = Event()
        event.add("uid", _uid(reference, meeting.number, index, domain))
        event.add("dtstamp", stamp.astimezone(timezone.utc))
        event.add("sequence", meeting.sequence)
        event.add("dtstart", slot.start)
        event.add("dtend", slot.end)
        event.add("summary", f"Rencontre {call['short_title']} — dossier {reference}")
        event.add("description", f"Rencontre avec la {call['organisation']} au sujet du dossier {reference}. "
                                 f"Pour la Région : {slot.attendees}.")
        event.add("location", slot.place)
        if slot.is_link:
            event.add("url", slot.place)
        event.add("status", "CANCELLED" if cancelled else {PROPOSED: "TENTATIVE", OTHER_ASKED: "TENTATIVE",
                                                           ACCEPTED: "CONFIRMED"}[meeting.state])
        organizer_address = vCalAddress(f"mailto:{organizer}")
        organizer_address.params["cn"] = vText(call["organisation"])
        event["organizer"] = organizer_address
        guest = vCalAddress(f"mailto:{attendee}")
        guest.params["role"] = vText("REQ-PARTICIPANT")
        guest.params["partstat"] = vText("ACCEPTED" if meeting.state == ACCEPTED else "NEEDS-ACTION")
        guest.params["rsvp"] = vText("FALSE")  # the slot is chosen on the dossier page, not by an agenda's reply
        event.add("attendee", guest, encode=0)
        cal.add_component(event)
    years = [meeting.slots[index].start.year for index in indexes] or [stamp.year]
    add_timezones(cal, min(years) - 1, max(years) + 1)
    return cal.to_ical()


def upcoming(entries: list[tuple[str, str, Meeting]], now: datetime) -> list[tuple[str, str, Meeting]]:
    """(reference, organisation, meeting) of confirmed meetings still to come and of proposals
    awaiting an answer, by date (the first slot for a proposal)."""
    def first_moment(item: tuple[str, str, Meeting]) -> datetime:
        meeting = item[2]
        return meeting.slot.start if meeting.slot else min(slot.start for slot in meeting.slots)

    kept = [item for item in entries if item[2].state != CANCELLED
            and (item[2].slot.end >= now if item[2].slot else any(slot.end >= now for slot in item[2].slots))]
    return sorted(kept, key=first_moment)
