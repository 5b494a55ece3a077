"""Review statuses, their history and notes (duplicate detection: duplicates.py, named here too).

What the porteur sent (`submissions/<REF>.yaml`) is never modified. Each decision is
appended to the submission's history under a per-reference lock, so two reviewers
changing the same submission at once never lose each other's change. The checks (which
transitions, which events, the French refusals) are made here, on the history as read
under that lock; the store keeps it (`store.histories`, stores/histories.py). Every
function takes the store, or a data folder's path standing for the data folder's store.

In the data folder, the history is `reviews/<REF>.yaml`, rewritten atomically
(durable.replace_file) while `locks/review-<REF>.lock` is held (fcntl.flock): the file
functions below, which folder_histories.py delegates to. PostgreSQL keeps the same
document in one row (postgres_histories.py).

History file layout:
    reference: AMI-2021-0042
    status: en_instruction          # the current status (last status event's `to`)
    events:
      - at: 2021-04-16T09:12:00+02:00
        by: alice
        kind: status                  # or "note"
        from: recu
        to: en_instruction
        note: Dossier complet.      # internal: never shown nor mailed to the porteur
        motivation: …               # on a change to an outcome only: written for the porteur (answers.py)
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import events
from .duplicates import FLAGS as DUPLICATE_FLAGS, duplicate_flags, find_duplicates  # noqa: F401 - named here too
from .durable import replace_file
from .records import clean_paragraphs, clean_text, record_path
from .template_filters import thousands
from .yamlio import YamlFileError, dump_yaml, read_yaml_file

if TYPE_CHECKING:
    from .stores.base import Store

log = logging.getLogger("collector")

REVIEWS_DIR = "reviews"
LOCKS_DIR = "locks"
PARIS = ZoneInfo("Europe/Paris")
INITIAL = "recu"
UNREADABLE_HISTORY = "historique_illisible"

STATUSES: dict[str, str] = {
    "recu": "reçu",
    "en_instruction": "en instruction",
    "accompagnement_propose": "accompagnement proposé",
    "oriente_fil_de_l_eau": "orienté : financement au fil de l'eau",
    "oriente_appel_a_projets": "orienté : appel à projets",
    "oriente_feder": "orienté : FEDER",
    "sans_suite": "sans suite",
}
OUTCOMES = ("accompagnement_propose", "oriente_fil_de_l_eau", "oriente_appel_a_projets",
            "oriente_feder", "sans_suite")

# reçu → en instruction (or straight to sans suite: off-topic, spam); en instruction → an
# outcome; an outcome may be reopened (back to en instruction) when a decision is revised.
TRANSITIONS: dict[str, frozenset[str]] = {
    "recu": frozenset({"en_instruction", "sans_suite"}),
    "en_instruction": frozenset(OUTCOMES),
    **{outcome: frozenset({"en_instruction"}) for outcome in OUTCOMES},
}

REFERENCE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$")
MAX_NOTE_LENGTH = 5000
MAX_NAME_LENGTH = 100


class StatusError(ValueError):
    """A refused status change or note; the message is in French."""


class NoRecord(StatusError):
    """No record bears this reference (any more): nothing is appended. The stores check it under
    the history's lock, which the purge holds while it deletes a dossier, so an event appended in
    the very instant of its dossier's purge never leaves a history without a record."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"Aucune candidature ne porte la référence {reference}.")
        self.reference = reference


def status_label(status: str) -> str:
    return STATUSES.get(status, status)


def store_of(where: Store | str) -> Store:
    """The store `where` names: a store itself, or a data folder's path (commands, tests),
    standing for the data folder's store."""
    if isinstance(where, str):
        from .stores.folder import FolderStore

        return FolderStore(where)
    return where


def check_reference(where: Store | str, reference: str) -> str:
    """The reference if a record exists under that name; StatusError otherwise."""
    if not REFERENCE_PATTERN.match(reference or ""):
        raise StatusError(f"Référence invalide : « {reference} ».")
    if not store_of(where).has_record(reference):  # checked again under the history's lock (NoRecord)
        raise NoRecord(reference)
    return reference


def history_path(data_dir: str, reference: str) -> str:
    return os.path.join(data_dir, REVIEWS_DIR, reference + ".yaml")


def empty_history(reference: str) -> dict[str, Any]:
    return {"reference": reference, "status": INITIAL, "events": []}


def read_history(where: Store | str, reference: str) -> dict[str, Any]:
    """The review history of one submission (an empty one if nobody has touched it yet)."""
    try:
        stored = store_of(where).histories.read(reference)
    except YamlFileError as error:
        raise StatusError(f"Historique illisible : {error}") from error
    return checked_history(stored, reference)


def checked_history(stored: Any, reference: str) -> dict[str, Any]:
    """A stored history (None: none yet) once its shape was checked; StatusError otherwise."""
    if stored is None:
        return empty_history(reference)
    name = reference + ".yaml"
    if not isinstance(stored, dict) or stored.get("status") not in STATUSES or not isinstance(stored.get("events"), list):
        raise StatusError(f"Historique illisible : {name} n'a pas la forme attendue.")
    for number, event in enumerate(stored["events"], start=1):
        if problem := _event_problem(event):
            raise StatusError(f"Historique illisible : {name}, événement n° {number} : {problem}.")
    return stored


# Every kind of event a history may hold: the reviewers' own, then those of the dossier's
# life after « reçu » (dossier.py, meetings.py, answers.py name them).
REVIEW_KINDS = ("status", "note")
DOSSIER_KINDS = ("correction", "message", "reponse_porteur", "reponse", "rencontre_proposee", "rencontre_acceptee",
                 "rencontre_autre_creneau", "rencontre_annulee", "lien_revoque")
EVENT_KINDS = frozenset(REVIEW_KINDS + DOSSIER_KINDS)


def _event_problem(event: Any) -> str:
    """What makes one history event unusable ("" when nothing): every reader relies on its keys."""
    if not isinstance(event, dict):
        return "ce n'est pas un tableau de clés"
    if isinstance(event.get("at"), (date, datetime)):  # `at` written by hand without quotes
        event["at"] = event["at"].isoformat()
    missing = [key for key in ("at", "by", "kind") if not isinstance(event.get(key), str)]
    if missing:
        return "il manque " + ", ".join(missing)
    if event["kind"] not in EVENT_KINDS:
        return f"type inconnu ({event['kind'][:20]})"
    if event["kind"] == "status" and not (event.get("from") in STATUSES and event.get("to") in STATUSES):
        return "statut de départ ou d'arrivée inconnu"
    if not isinstance(event.get("note", ""), str):
        return "la note n'est pas un texte"
    if not isinstance(event.get("motivation", ""), str):
        return "la motivation n'est pas un texte"
    return ""


def history_references(where: Store | str) -> list[str]:
    """The references that have a history."""
    return store_of(where).histories.references()


def read_all_statuses(where: Store | str) -> dict[str, str]:
    """Current status of every submission that has a history (others are `recu`)."""
    store = store_of(where)
    statuses: dict[str, str] = {}
    for reference in history_references(store):
        try:
            statuses[reference] = read_history(store, reference)["status"]
        except StatusError:
            statuses[reference] = UNREADABLE_HISTORY
    return statuses


# --- the data folder's files (folder_histories.py delegates to these) ---

def history_file_references(data_dir: str) -> list[str]:
    """The references that have a history file, in order."""
    folder = os.path.join(data_dir, REVIEWS_DIR)
    if not os.path.isdir(folder):
        return []
    return sorted(name[:-5] for name in os.listdir(folder) if name.endswith(".yaml"))


def read_history_file(data_dir: str, reference: str) -> Any:
    """The history file's document, unchecked; None when there is none; YamlFileError if broken."""
    path = history_path(data_dir, reference)
    if not os.path.exists(path):
        return None
    return read_yaml_file(path)


@contextmanager
def locked(data_dir: str, reference: str) -> Iterator[None]:
    """Hold the per-reference lock (across processes) for the duration of the block."""
    folder = os.path.join(data_dir, LOCKS_DIR)
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, f"review-{reference}.lock"), os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def refuse_without_record_file(data_dir: str, reference: str) -> None:
    """NoRecord when the dossier's record file is gone; the caller holds the reference's lock,
    which the purge holds until the record is deleted (stores/folder_retention.py). The lock
    file that holding it made again is removed: no file named after a purged dossier is left
    (whoever else waits on it finds no record either, and a reference is never given twice)."""
    if not os.path.exists(record_path(data_dir, reference)):
        remove_lock_file(data_dir, reference)
        raise NoRecord(reference)


def append_to_history_file(data_dir: str, reference: str, change: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Under the reference's lock, rewrite its history file as `change` makes it (durable.replace_file:
    temporary file, fsync, rename, fsync of the folder), then tell the review index. NoRecord when
    the record is gone, as seen under the lock (a purge that ran meanwhile)."""
    with locked(data_dir, reference):
        refuse_without_record_file(data_dir, reference)
        history = change(read_history_file(data_dir, reference))
        write_history_file(data_dir, reference, history)
        return history


def write_history_file(data_dir: str, reference: str, history: dict[str, Any]) -> None:
    """Rewrite a history file durably (durable.replace_file), then tell the review index; the
    caller holds the reference's lock (`locked`)."""
    replace_file(os.path.join(data_dir, REVIEWS_DIR), reference + ".yaml", dump_yaml(history).encode("utf-8"))
    _announce(data_dir, reference, history["status"])


def remove_history_file(data_dir: str, reference: str) -> bool:
    """Delete a submission's history file and its lock; True if there was one."""
    with locked(data_dir, reference):
        removed = unlink_history_file(data_dir, reference)
    remove_lock_file(data_dir, reference)
    return removed


def unlink_history_file(data_dir: str, reference: str) -> bool:
    """Delete a submission's history file; True if there was one. The caller holds its lock."""
    try:
        os.unlink(history_path(data_dir, reference))
    except FileNotFoundError:
        return False
    return True


def remove_lock_file(data_dir: str, reference: str) -> None:
    """Delete a reference's lock file, once its dossier is gone (purge). Whoever still waits on
    it takes it, then finds no record (NoRecord); a later append makes a new one."""
    try:
        os.unlink(os.path.join(data_dir, LOCKS_DIR, f"review-{reference}.lock"))
    except FileNotFoundError:
        pass


def _clean(value: str | None, what: str, limit: int, multiline: bool = False) -> str:
    """A name (one line) or, `multiline`, a note or a motivation: the breaks a text pasted from a
    word processor carries (U+000B, U+2028…) become line feeds, as in the porteur's texts."""
    text = (clean_paragraphs if multiline else clean_text)(value or "").strip()
    if len(text) > limit:
        raise StatusError(f"{what} : {thousands(limit)} caractères au plus.")
    return text


def _append(where: Store | str, reference: str, event: dict[str, Any], expected_from: str | None = None,
            precondition: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    try:
        return store_of(where).histories.append(reference, history_change(reference, event, expected_from, precondition))
    except YamlFileError as error:  # the stored history, read under the lock, cannot be parsed
        raise StatusError(f"Historique illisible : {error}") from error


def history_change(reference: str, event: dict[str, Any], expected_from: str | None = None,
                   precondition: Callable[[dict[str, Any]], None] | None = None) -> Callable[[Any], dict[str, Any]]:
    """What a store runs under the reference's lock to append `event`: check the history as
    stored, then `precondition` on it, then the transition (a status change); StatusError refuses."""
    def with_event(stored: Any) -> dict[str, Any]:  # run by the store, under the reference's lock
        history = checked_history(stored, reference)
        if precondition is not None:
            precondition(history)  # raises when the history, as it is now, forbids the event
        new_event = event
        if event["kind"] == "status":
            current = history["status"]
            if expected_from is not None and expected_from != current:
                raise StatusError(
                    f"Le statut de {reference} vient d'être changé en « {status_label(current)} » "
                    "par quelqu'un d'autre : relisez-le avant de le modifier.")
            target = event["to"]
            if target not in TRANSITIONS.get(current, frozenset()):
                allowed = ", ".join(f"« {status_label(s)} »" for s in sorted(TRANSITIONS.get(current, ()), key=list(STATUSES).index))
                raise StatusError(
                    f"Passage impossible de « {status_label(current)} » à « {status_label(target)} ». "
                    f"Statuts possibles depuis « {status_label(current)} » : {allowed}.")
            new_event = {"at": event["at"], "by": event["by"], "kind": "status", "from": current,
                         "to": target, "note": event["note"]}
            if event.get("motivation"):
                new_event["motivation"] = event["motivation"]
            history["status"] = target
        history["events"].append(new_event)
        return history

    return with_event


def _announce(data_dir: str, reference: str, status: str) -> None:
    """Tell listeners (the review index) that a history was written; their failure changes nothing saved."""
    try:
        events.history_written.send(data_dir, reference=reference, status=status)
    except Exception as error:  # noqa: BLE001 - the history is on disk; the index catches up on its next use
        log.error("history_written listener failed for %s: %s", reference, type(error).__name__)


def _now(now: datetime | None) -> str:
    return (now or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds")


def change_status(where: Store | str, reference: str, new_status: str, *, by: str, note: str = "",
                  motivation: str = "", expected_from: str | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Move a submission to `new_status` if the transition is allowed; return the history.

    `note` is internal: it is never shown nor mailed to the porteur. `motivation`, for an
    outcome only, is written for the porteur: the answer letter takes it (answers.py)."""
    check_reference(where, reference)
    if new_status not in STATUSES:
        known = ", ".join(STATUSES)
        raise StatusError(f"Statut inconnu : « {new_status} ». Statuts possibles : {known}.")
    who = _clean(by, "Le nom est trop long", MAX_NAME_LENGTH)
    if not who:
        raise StatusError("Indiquez qui fait ce changement.")
    event = {"at": _now(now), "by": who, "kind": "status", "to": new_status,
             "note": _clean(note, "La note est trop longue", MAX_NOTE_LENGTH, multiline=True)}
    public = _clean(motivation, "La motivation communiquée au porteur est trop longue", MAX_NOTE_LENGTH, multiline=True)
    if public and new_status not in OUTCOMES:
        raise StatusError(f"La motivation communiquée au porteur accompagne une décision (accompagnement, orientation "
                          f"ou sans suite), pas le statut « {status_label(new_status)} » : videz-la, ou écrivez "
                          "plutôt une note interne.")
    if public:
        event["motivation"] = public
    return _append(where, reference, event, expected_from)


def add_note(where: Store | str, reference: str, note: str, *, by: str, now: datetime | None = None) -> dict[str, Any]:
    """Add a note to a submission's history without changing its status."""
    check_reference(where, reference)
    text = _clean(note, "La note est trop longue", MAX_NOTE_LENGTH, multiline=True)
    if not text:
        raise StatusError("La note est vide : écrivez quelque chose.")
    who = _clean(by, "Le nom est trop long", MAX_NAME_LENGTH)
    if not who:
        raise StatusError("Indiquez qui écrit cette note.")
    return _append(where, reference, {"at": _now(now), "by": who, "kind": "note", "note": text})


def add_event(where: Store | str, reference: str, event: dict[str, Any],
              precondition: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Append an event of another kind than a status change (a correction, a message…)
    to a submission's history, durably, under its lock; return the history.

    `precondition`, given the history as read under the lock, raises to refuse the event:
    a check made on a copy read earlier may no longer hold (a meeting cancelled meanwhile)."""
    if event.get("kind") == "status":
        raise StatusError("Un changement de statut passe par change_status.")
    if event.get("kind") not in EVENT_KINDS:  # read_history would refuse the whole history afterwards
        raise StatusError(f"Événement de type inconnu : « {str(event.get('kind'))[:20]} ».")
    check_reference(where, reference)
    return _append(where, reference, event, precondition=precondition)


def remove_history(where: Store | str, reference: str) -> bool:
    """Delete a submission's history (used by purge); True if there was one."""
    return store_of(where).histories.remove(reference)
