"""A porteur's dossier after « reçu »: versions of the answers and the events the porteur sees.

Flask-free (the review commands and the exports read it too).

Versions. The first record (`submissions/<REF>.yaml`) is never altered. Each correction
is a whole new record, version N (2, 3…), kept by the store (`store.versions`,
stores/histories.py), which writes each number once and refuses a taken one: two
corrections at once (two workers, two hosts) never overwrite each other, the second one
reads the newest version again and takes the next number. In the data folder a version is
`versions/<REF>/v<N>.yaml`, written with durable.write_new_file (temporary file, fsync,
`os.link`, which refuses an existing name, fsync of the folder); PostgreSQL keeps the same
YAML text, byte for byte. A version keeps the first record's reference and `received_at`,
and adds `version` and `corrected_at`. `latest_record` gives the newest version, with
`version` and `versions` (how many there are). Every function takes the store, or a data
folder's path standing for the data folder's store.

Events. What happens to a dossier is appended to its review history
(`reviews/<REF>.yaml`, statuses.add_event): corrections, messages, answers… Only the
kinds in PORTEUR_KINDS are ever shown to the porteur; notes and status changes, with
the reviewers' names, stay internal.
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from . import resent_posts
from .addresses import mailbox_ignoring_ascii_case
from .durable import write_new_file
from .records import RecordError, clean_paragraphs, read_record, record_path, serialise_record
from .statuses import (INITIAL, OUTCOMES, PARIS, StatusError, add_event, check_reference, checked_history,
                       history_change, read_history, store_of)
from .stores.dossier_posts import EventPending
from .template_filters import thousands
from .yamlio import YamlFileError

if TYPE_CHECKING:
    from .stores.base import Store

VERSIONS_DIR = "versions"
_VERSION_FILE = re.compile(r"v(\d{1,4})\.yaml")
_REPLY_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what the dossier page's reply form holds (secrets.token_urlsafe)

CORRECTION = "correction"  # the porteur sent corrected answers (a new version)
CONTACT_SET_BY = "contact_set_by"  # on a version a reviewer wrote to restore the contact (porteur/revocation.py)
MESSAGE = "message"  # the Région wrote to the porteur (maybe asking for complements until a date)
PORTEUR_REPLY = "reponse_porteur"  # the porteur answered on the dossier page
ANSWER = "reponse"  # the Région's answer letter (answers.py)
MEETING_KINDS = ("rencontre_proposee", "rencontre_acceptee", "rencontre_autre_creneau", "rencontre_annulee")
PORTEUR_KINDS = frozenset({CORRECTION, MESSAGE, PORTEUR_REPLY, ANSWER, *MEETING_KINDS})
# How reviewers' pages and commands name each kind of event but a status change.
EVENT_LABELS = {"note": "note", CORRECTION: "corrigé par le porteur", MESSAGE: "message au porteur",
                PORTEUR_REPLY: "réponse du porteur", ANSWER: "lettre de réponse envoyée",
                "rencontre_proposee": "rencontre proposée", "rencontre_acceptee": "rencontre acceptée par le porteur",
                "rencontre_autre_creneau": "autre créneau demandé par le porteur",
                "rencontre_annulee": "rencontre annulée",
                "lien_revoque": "lien du dossier révoqué, nouveau lien envoyé"}

THREAD_KINDS = (MESSAGE, PORTEUR_REPLY)  # the exchanges between the Région and the porteur
PORTEUR_MESSAGE_LABEL = "message du porteur"  # a porteur's message that answers no message of the Région


def last_in_thread(earlier: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The last message of the exchanges (the Région's or the porteur's) among `earlier` events, or None."""
    last = None
    for item in earlier:
        if item.get("kind") in THREAD_KINDS:
            last = item
    return last


def answers_the_region(last: Mapping[str, Any] | None) -> bool:
    """Does a porteur's message answer the Région? Yes when the Région wrote last (`last`, from
    last_in_thread); not the porteur's first message, nor one more after their own."""
    return last is not None and last.get("kind") == MESSAGE


def labelled_events(events: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """Each event of a history with how reviewers' pages and commands name it (EVENT_LABELS): a
    porteur's message is a « réponse du porteur » only when it answers the Région (as the
    Région's notice mail says), else a « message du porteur »."""
    labelled: list[tuple[Mapping[str, Any], str]] = []
    last: Mapping[str, Any] | None = None  # as last_in_thread(the events before this one)
    for event in events:
        kind = str(event.get("kind"))
        label = EVENT_LABELS.get(kind, kind)
        if kind == PORTEUR_REPLY and not answers_the_region(last):
            label = PORTEUR_MESSAGE_LABEL
        if kind in THREAD_KINDS:
            last = event
        labelled.append((event, label))
    return labelled


# The porteur's words for where the dossier stands (never the internal status).
RECEIVED, UNDER_REVIEW, ANSWERED = "reçu", "en cours d'analyse", "réponse envoyée"  # « votre dossier : reçu »


# How many times a correction takes the next number again when another one took it meanwhile.
MAX_NUMBER_ATTEMPTS = 20


def _versions_folder(data_dir: str, reference: str) -> str:
    return os.path.join(data_dir, VERSIONS_DIR, reference)


def version_numbers(where: Store | str, reference: str) -> list[int]:
    """The numbers of the corrections stored (2, 3…), in order; [] when never corrected."""
    return store_of(where).versions.numbers(reference)


def version_path(data_dir: str, reference: str, number: int) -> str:
    if number == 1:
        return record_path(data_dir, reference)
    return os.path.join(_versions_folder(data_dir, reference), f"v{number}.yaml")


def remove_versions(where: Store | str, reference: str) -> int:
    """Delete a dossier's corrected versions (purge); how many were removed."""
    return store_of(where).versions.remove(reference)


# --- the data folder's files (folder_histories.py delegates to these) ---

def version_file_numbers(data_dir: str, reference: str) -> list[int]:
    """The numbers of the version files (2, 3…), in order."""
    try:
        names = os.listdir(_versions_folder(data_dir, reference))
    except FileNotFoundError:
        return []
    return sorted(int(match.group(1)) for name in names if (match := _VERSION_FILE.fullmatch(name)))


def write_version_file(data_dir: str, reference: str, number: int, document: bytes) -> None:
    """Publish `versions/<REF>/v<N>.yaml` durably; FileExistsError when that number is taken."""
    write_new_file(_versions_folder(data_dir, reference), f"v{number}.yaml", document)


def remove_version_files(data_dir: str, reference: str) -> int:
    """Delete a dossier's version files and their folder; how many were removed."""
    numbers = version_file_numbers(data_dir, reference)
    for number in numbers:
        os.unlink(version_path(data_dir, reference, number))
    try:
        os.rmdir(_versions_folder(data_dir, reference))
    except FileNotFoundError:
        pass
    return len(numbers)


# --- versions, whatever keeps them ---

def with_versions(where: Store | str, first: dict[str, Any]) -> dict[str, Any]:
    """The newest version of a record (the first one itself when never corrected), with
    `version` (its number) and `versions` (how many there are)."""
    store = store_of(where)
    numbers = store.versions.numbers(first["reference"])
    if not numbers:
        return {**first, "version": 1, "versions": 1}
    latest = store.versions.read(first["reference"], numbers[-1])
    return {**latest, "version": numbers[-1], "versions": len(numbers) + 1}


def first_record(where: Store | str, reference: str) -> dict[str, Any]:
    """A dossier's first record, as sent; RecordError when it is missing or unreadable."""
    record = store_of(where).read_record(reference)
    if record is None:
        raise RecordError(f"{reference}.yaml : enregistrement absent.")
    return record


def version_record(where: Store | str, reference: str, number: int) -> dict[str, Any]:
    """Version `number` of a dossier's answers (1: the first record); RecordError if unreadable."""
    return first_record(where, reference) if number == 1 else store_of(where).versions.read(reference, number)


def latest_record(where: Store | str, reference: str) -> dict[str, Any]:
    """The newest version of a dossier's answers; RecordError if its record cannot be read."""
    store = store_of(where)
    return with_versions(store, first_record(store, reference))


def all_versions(where: Store | str, reference: str) -> list[dict[str, Any]]:
    """Every version of a dossier, oldest first."""
    store = store_of(where)
    versions = [{**first_record(store, reference), "version": 1}]
    for number in store.versions.numbers(reference):
        versions.append({**store.versions.read(reference, number), "version": number})
    return versions


# What write_correction did, in its result's `outcome`.
NEW_VERSION = "nouvelle_version"  # a new version and its event stored now
UNCHANGED = "inchangee"  # the same answers as the newest version: nothing stored
COMPLETED = "completee"  # the same answers, whose version had been stored without its event: the event added now
REPEATED = "deja_enregistree"  # this submission id was already stored: nothing stored now
EVENT_PENDING = "evenement_en_attente"  # the version stored, its event not (data folder only; the next post adds it)


class CorrectionsClosed(StatusError):
    """Corrections are no longer open for this dossier (as read under the history's lock)."""


def write_correction(where: Store | str, corrected: dict[str, Any], now: datetime | None = None, *,
                     still_open: Callable[[dict[str, Any]], bool] | None = None,
                     submission_id: str | None = None) -> dict[str, Any]:
    """Store corrected answers as the dossier's next version, with its `correction` event and
    the form's submission id, as one unit (store.dossier_posts: PostgreSQL's transaction, or
    the data folder's order, which leaves nothing a retry cannot finish).

    `corrected` is a record built like the first one (records.build_record) for the same
    reference. `still_open(history)` is asked on the history as read under its lock, so a
    status change racing the correction is seen: CorrectionsClosed then, nothing stored.
    Returns the newest version with `version`, `versions` and `outcome` (NEW_VERSION,
    UNCHANGED, COMPLETED, REPEATED, EVENT_PENDING). Identical answers make no new version.
    The store refuses a number already taken (another correction at the same moment): the
    newest version is read again and compared again, so that neither is lost nor written twice.
    A version found without its event (a failure between the two in the data folder, or
    written before they were one unit) gets it now, dated when the version was.
    """
    store = store_of(where)
    reference = corrected["reference"]
    moment = (now or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds")
    for _attempt in range(MAX_NUMBER_ATTEMPTS):
        current = latest_record(store, reference)
        missing = _events_missing(store, reference)
        version, document, event = None, None, None
        if current["content_hash"] != corrected["content_hash"]:
            number = current["version"] + 1
            version = {**corrected, "received_at": current["received_at"], "version": number, "corrected_at": moment}
            document = (number, serialise_record(version))
            event = _correction_event(version)
        elif not missing:
            return {**current, "outcome": UNCHANGED}
        change = _correction_change(reference, missing, event, still_open)
        try:
            history = store.dossier_posts.write(reference, change, version=document, submission_id=submission_id)
        except FileExistsError:
            continue  # another correction took this number meanwhile
        except EventPending:
            return {**version, "versions": version["version"], "outcome": EVENT_PENDING}  # type: ignore[dict-item]
        if history is None:
            return {**current, "outcome": REPEATED}
        if version is None:
            return {**current, "outcome": COMPLETED}
        return {**version, "versions": version["version"], "outcome": NEW_VERSION}
    raise OSError(f"versions of {reference}: no free number after {MAX_NUMBER_ATTEMPTS} attempts")


def _correction_event(version: dict[str, Any]) -> dict[str, Any]:
    return {"at": version["corrected_at"], "by": "porteur", "kind": CORRECTION, "version": version["version"],
            "content_hash": version["content_hash"]}


def _corrected_numbers(history: dict[str, Any]) -> set[Any]:
    return {event.get("version") for event in history["events"] if event.get("kind") == CORRECTION}


def _events_missing(store: Store, reference: str) -> list[dict[str, Any]]:
    """The `correction` events of stored versions that the history lacks (checked again under the lock)."""
    numbers = store.versions.numbers(reference)
    if not numbers:
        return []
    known = _corrected_numbers(read_history(store, reference))
    versions = {number: store.versions.read(reference, number) for number in numbers if number not in known}
    # A version a reviewer wrote to restore the contact (porteur/revocation.py) is no correction.
    return [_correction_event({**version, "version": number}) for number, version in versions.items()
            if not version.get(CONTACT_SET_BY)]


def _correction_change(reference: str, missing: list[dict[str, Any]], event: dict[str, Any] | None,
                       still_open: Callable[[dict[str, Any]], bool] | None) -> Callable[[Any], dict[str, Any]]:
    """What the store runs under the history's lock: the missing events, then the new one if corrections are open."""
    def change(stored: Any) -> dict[str, Any]:
        history = checked_history(stored, reference)
        if event is not None and still_open is not None and not still_open(history):
            raise CorrectionsClosed(f"Les corrections de {reference} ne sont plus ouvertes.")
        known = _corrected_numbers(history)
        history["events"].extend(missed for missed in missing if missed["version"] not in known)
        if event is not None:
            history["events"].append(event)
        return history

    return change


def write_next_version(where: Store | str, corrected: dict[str, Any], moment: str) -> dict[str, Any]:
    """Store `corrected` as the dossier's next version, durably (no event): the version written,
    or the current one, with `versions`, when its answers are identical. The store refuses a
    number already taken (another correction at the same moment): the newest version is read
    again and compared again, so that neither is lost nor written twice."""
    store = store_of(where)
    reference = corrected["reference"]
    for _attempt in range(MAX_NUMBER_ATTEMPTS):
        current = latest_record(store, reference)
        if current["content_hash"] == corrected["content_hash"]:
            return current
        number = current["version"] + 1
        version = {**corrected, "received_at": current["received_at"], "version": number, "corrected_at": moment}
        try:
            store.versions.write(reference, number, serialise_record(version))
        except FileExistsError:
            continue  # another correction took this number meanwhile
        return version
    raise OSError(f"versions of {reference}: no free number after {MAX_NUMBER_ATTEMPTS} attempts")


MAX_MESSAGE_LENGTH = 5000


class ExchangeError(ValueError):
    """A message that cannot be stored; the text is French and says how to fix it. `errors`, when
    the refusal is about a form's fields: each field's own message (MESSAGE_FIELD, COMPLEMENTS_FIELD),
    all of them at once, so that a page shows each error at its field."""

    def __init__(self, text: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(text)
        self.errors = dict(errors or {})


MESSAGE_FIELD, COMPLEMENTS_FIELD = "message", "complements_until"  # ExchangeError.errors' keys


def _message_text(text: str | None, who: str) -> str:
    try:
        cleaned = clean_paragraphs(text or "").strip()
    except ValueError as error:
        raise ExchangeError(str(error)) from None
    if not cleaned:
        raise ExchangeError(f"{who} est vide : écrivez votre message.")
    if len(cleaned) > MAX_MESSAGE_LENGTH:
        raise ExchangeError(f"{who} compte {thousands(len(cleaned))} caractères ; {thousands(MAX_MESSAGE_LENGTH)} "
                            "au plus : raccourcissez-le.")
    return cleaned


def _moment(now: datetime | None) -> str:
    return (now or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds")


def write_to_porteur(where: Store | str, reference: str, text: str | None, *, by: str,
                     complements_until: str | None = None, now: datetime | None = None,
                     kept_until: date | None = None, post_id: str | None = None) -> tuple[dict[str, Any], int] | None:
    """Store a reviewer's message to the porteur (optionally a request for complements until
    a date, `AAAA-MM-JJ` or `JJ/MM/AAAA`, which reopens corrections until then: see
    complements_day for its bounds; `kept_until`, the dossier's last day of retention);
    (event, its number), or None when the form's one-time `post_id` was already stored."""
    moment = now or datetime.now(PARIS)
    event: dict[str, Any] = {"at": _moment(now), "by": by, "kind": MESSAGE}
    errors: dict[str, str] = {}  # every field is checked: the reviewer fixes all at once
    try:
        event["text"] = _message_text(text, "Le message")
    except ExchangeError as error:
        errors[MESSAGE_FIELD] = str(error)
    if complements_until:
        try:
            event["complements_until"] = complements_day(complements_until, moment, kept_until).isoformat()
        except ExchangeError as error:
            errors[COMPLEMENTS_FIELD] = str(error)
    if errors:
        raise ExchangeError(" ".join(errors.values()), errors)
    stored = append_once(where, reference, event, post_id,
                         precondition=_no_complements_after_a_decision if complements_until else None,
                         refuse_other_content=True)
    return None if stored is None else (event, len(stored["events"]))


COMPLEMENTS_MAX_MONTHS = 3  # a request for complements serves the analysis (June), not the months after the answer


def complements_day(text: str, now: datetime, kept_until: date | None = None) -> date:
    """The day a request for complements ends, as a reviewer typed it; ExchangeError (French) when it
    cannot be read, is past, is more than COMPLEMENTS_MAX_MONTHS ahead (corrections reopened without
    end: a typo such as 9999 would keep them open for ever) or after `kept_until` (the dossier's
    retention ends: a porteur must not be invited to correct a dossier the purge removes before)."""
    try:
        day = date.fromisoformat(iso_day(text))
    except ValueError:
        raise ExchangeError("Date des compléments illisible : écrivez-la jj/mm/aaaa (par exemple 10/05/2021) "
                            "ou aaaa-mm-jj (2021-05-10), en chiffres de 0 à 9.") from None
    today = now.astimezone(PARIS).date()
    if day < today:
        raise ExchangeError("La date des compléments est passée : choisissez une date à venir.")
    latest = months_after(today, COMPLEMENTS_MAX_MONTHS)
    if kept_until is not None and kept_until < latest:
        latest = kept_until
    if day > latest:
        raise ExchangeError(f"La date des compléments est trop lointaine : choisissez-la au plus tard le "
                            f"{latest:%d/%m/%Y} ({COMPLEMENTS_MAX_MONTHS} mois au plus, et avant la fin de la "
                            "conservation du dossier).")
    return day


def months_after(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day: 31/05 + 1 → 30/06)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def retention_end(record: Mapping[str, Any], retention_months: int) -> date:
    """The last day a dossier is kept: its receipt's day plus the retention (retention.py purges it after)."""
    return months_after(datetime.fromisoformat(str(record["received_at"])).date(), retention_months)


def _no_complements_after_a_decision(history: dict[str, Any]) -> None:
    """Refuse a request for complements on a dossier that has a decision (as read under its lock)."""
    if history.get("status") in OUTCOMES:
        refusal = ("Ce dossier a déjà une décision : des compléments ne la changeraient pas. Repassez-le "
                   "« en instruction » avant de demander des compléments, ou écrivez sans date.")
        raise ExchangeError(refusal, {COMPLEMENTS_FIELD: refusal})


def append_once(where: Store | str, reference: str, event: dict[str, Any], post_id: str | None,
                precondition: Callable[[dict[str, Any]], None] | None = None, *,
                refuse_other_content: bool = False) -> dict[str, Any] | None:
    """Append `event` as statuses.add_event does, with the form's one-time `post_id` claimed in the
    same unit (store.dossier_posts): the history, or None when that id was already stored (a double
    click, the same form sent again): nothing stored then. Without a usable id, a plain append.

    `refuse_other_content` (a reviewer's forms): the event keeps a trace of the id, and an id
    already stored with another content raises resent_posts.ResentWithOtherContent instead of
    being taken for the repeat (a page served again from the browser's cache, typed in anew)."""
    submission_id = reply_submission_id(reference, post_id)
    if submission_id is None:
        return add_event(where, reference, event, precondition)
    check_reference(where, reference)
    stored_event = resent_posts.traced(event, submission_id) if refuse_other_content else event
    try:
        history = store_of(where).dossier_posts.write(
            reference, history_change(reference, stored_event, precondition=precondition), submission_id=submission_id)
    except YamlFileError as error:  # the stored history, read under the lock, cannot be parsed
        raise StatusError(f"Historique illisible : {error}") from error
    if history is None and refuse_other_content:
        resent_posts.refuse_other_content(read_history(where, reference)["events"], stored_event)
    return history


def porteur_reply_text(text: str | None) -> str:
    """The porteur's message as it would be stored; ExchangeError (in French) when it cannot be."""
    return _message_text(text, "Votre message")


def write_porteur_reply(where: Store | str, reference: str, text: str | None, now: datetime | None = None,
                        reply_id: str | None = None) -> tuple[dict[str, Any], int] | None:
    """Store the porteur's answer written on the dossier page, with the form's one-time
    `reply_id` (store.dossier_posts: claimed with the event, as one unit); (event, its
    number), or None when that id was already stored with the same text (a double click, a retry):
    nothing stored; resent_posts.ResentWithOtherContent when it was stored with another text."""
    event = {"at": _moment(now), "by": "porteur", "kind": PORTEUR_REPLY, "text": porteur_reply_text(text)}
    history = append_once(where, reference, event, reply_id, refuse_other_content=True)
    return None if history is None else (event, len(history["events"]))


def reply_submission_id(reference: str, reply_id: str | None) -> str | None:
    """The store's submission id of a reply form's one-time id: scoped to the dossier (an id a
    porteur sends never meets another dossier's or the intake's); None without a usable id."""
    if not reply_id or not _REPLY_ID.fullmatch(reply_id):
        return None
    return f"{reference}.{reply_id}"


def version_events(history: dict[str, Any]) -> list[dict[str, Any]]:
    """The events that made each version after the first, oldest first: a porteur's correction, or a
    reviewer's restoring of the contact address (a revocation's new version, porteur/revocation.py:
    `lien_revoque` with `previous_version`). Only their date and numbers reach the porteur's page."""
    return [event for event in history.get("events", []) if event.get("kind") == CORRECTION
            or (event.get("kind") == "lien_revoque" and event.get("previous_version"))]


def porteur_events(history: dict[str, Any]) -> list[dict[str, Any]]:
    """The history's events a porteur may see, oldest first."""
    return [event for event in history.get("events", []) if event.get("kind") in PORTEUR_KINDS]


def porteur_status(history: dict[str, Any]) -> str:
    """Where the dossier stands, in the porteur's words."""
    if any(event.get("kind") == ANSWER for event in history.get("events", [])):
        return ANSWERED
    return RECEIVED if history.get("status", INITIAL) == INITIAL else UNDER_REVIEW


_FRENCH_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")  # ASCII digits only: \d takes « ١٢ » too


def iso_day(text: str) -> str:
    """A day written `10/05/2021` (jj/mm/aaaa, as the French write it) or `2021-05-10` (a date
    field's value) → `2021-05-10`; ValueError if it is neither, or no such day."""
    text = text.strip()
    if not text.isascii():  # int() and \d read other scripts' digits (١٢/٠٦/٢٠٢١)
        raise ValueError(f"not ASCII: {text!r}")
    if french := _FRENCH_DAY.fullmatch(text):
        day, month, year = (int(part) for part in french.groups())
        return date(year, month, day).isoformat()
    return date.fromisoformat(text).isoformat()


def end_of_day(day: str) -> datetime:
    """`2021-06-20` → that day at 23:59:59, Paris time."""
    return datetime.fromisoformat(day).replace(hour=23, minute=59, second=59, tzinfo=PARIS)


def corrections_until(history: dict[str, Any], call_open: bool, closes_at: datetime,
                      now: datetime) -> datetime | None:
    """Until when the porteur may correct the answers; None when not now.

    While the call is open and no reviewer has started the analysis (status still
    « reçu »): until the deadline. A request for complements reopens corrections, after
    the deadline too, until the date the reviewer set; a later request replaces it (so a
    reviewer may shorten it). The Région's decision (an outcome status) and its answer
    letter end it: answers corrected after the decision would change nothing, and the page
    would say « réponse envoyée » beside « vous pouvez corriger ». A dossier reopened
    (« en instruction » again) gets corrections back only with a new request.
    """
    ends = [closes_at] if call_open and history.get("status", INITIAL) == INITIAL else []
    complements: datetime | None = None
    for event in history.get("events", []):
        kind = event.get("kind")
        if kind == MESSAGE and event.get("complements_until"):
            complements = end_of_day(str(event["complements_until"]))
        elif kind == ANSWER or (kind == "status" and event.get("to") in OUTCOMES):
            complements = None
    if complements is not None and history.get("status") not in OUTCOMES:
        ends.append(complements)
    ends = [end for end in ends if end >= now]
    return max(ends) if ends else None


def short_hash(content_hash: str) -> str:
    """The first 12 hexadecimal digits of a content hash, enough to tell versions apart."""
    return content_hash.partition(":")[2][:12] or content_hash[:12]


def contacts_for_email(data_dir: str, address: str, paths: Iterable[str]) -> list[tuple[str, str]]:
    """(reference, contact e-mail as stored) of the dossiers whose newest version's contact is
    the mailbox `address` names, its local part's ASCII case aside (addresses.mailbox: never
    casefold nor NFKC, which would take `ſophie@` for `sophie@` or `straße.de` for
    `strasse.de`); unreadable records are skipped."""
    return contacts_among(_newest_readable(data_dir, paths), address)


def _newest_readable(data_dir: str, paths: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The newest version of each record of `paths` that can be read, one at a time."""
    for path in paths:
        try:
            newest = with_versions(data_dir, read_record(path))
        except RecordError:
            continue
        yield newest


def contacts_among(newest: Iterable[Mapping[str, Any]], address: str) -> list[tuple[str, str]]:
    """(reference, contact e-mail as stored) of those newest versions whose contact is the
    mailbox `address` names, its local part's ASCII case aside (see contacts_for_email)."""
    wanted = mailbox_ignoring_ascii_case(address)
    found = []
    for record in newest:
        stored = str(record["answers"].get("contact_email") or "").strip()
        if stored and mailbox_ignoring_ascii_case(stored) == wanted:
            found.append((record["reference"], stored))
    return found


def safe_history(where: Store | str, reference: str) -> dict[str, Any]:
    """The dossier's history, or an empty one when it cannot be read (the porteur's pages
    must still show what was sent; reviewers see the problem on their pages)."""
    try:
        return read_history(where, reference)
    except StatusError:
        return {"reference": reference, "status": INITIAL, "events": []}
