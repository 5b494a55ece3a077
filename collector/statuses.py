"""Review statuses, their history and notes, and duplicate detection.

What the porteur sent (`submissions/<REF>.yaml`) is never modified. Each decision is
appended to `reviews/<REF>.yaml`, rewritten atomically (durable.replace_file) while a
per-reference lock (fcntl.flock on `locks/review-<REF>.lock`) is held, so two reviewers
changing the same submission at once never lose each other's change.

History file layout:
    reference: AMI-2021-0042
    status: en_instruction          # the current status (last status event's `to`)
    events:
      - at: 2021-04-16T09:12:00+02:00
        by: alice
        kind: status                  # or "note"
        from: recu
        to: en_instruction
        note: Dossier complet.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import events
from .addresses import address_key
from .durable import replace_file
from .records import clean_text, record_path
from .yamlio import YamlFileError, dump_yaml, read_yaml_file

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

DUPLICATE_FLAGS = {"siret": "doublon_siret", "email": "doublon_email"}
REFERENCE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$")
MAX_NOTE_LENGTH = 5000
MAX_NAME_LENGTH = 100


class StatusError(ValueError):
    """A refused status change or note; the message is in French."""


def status_label(status: str) -> str:
    return STATUSES.get(status, status)


def check_reference(data_dir: str, reference: str) -> str:
    """The reference if a record exists under that name; StatusError otherwise."""
    if not REFERENCE_PATTERN.match(reference or ""):
        raise StatusError(f"Référence invalide : « {reference} ».")
    if not os.path.exists(record_path(data_dir, reference)):
        raise StatusError(f"Aucune candidature ne porte la référence {reference}.")
    return reference


def history_path(data_dir: str, reference: str) -> str:
    return os.path.join(data_dir, REVIEWS_DIR, reference + ".yaml")


def empty_history(reference: str) -> dict[str, Any]:
    return {"reference": reference, "status": INITIAL, "events": []}


def read_history(data_dir: str, reference: str) -> dict[str, Any]:
    """The review history of one submission (an empty one if nobody has touched it yet)."""
    path = history_path(data_dir, reference)
    if not os.path.exists(path):
        return empty_history(reference)
    try:
        data = read_yaml_file(path)
    except YamlFileError as error:
        raise StatusError(f"Historique illisible : {error}") from error
    if not isinstance(data, dict) or data.get("status") not in STATUSES or not isinstance(data.get("events"), list):
        raise StatusError(f"Historique illisible : {os.path.basename(path)} n'a pas la forme attendue.")
    for number, event in enumerate(data["events"], start=1):
        if problem := _event_problem(event):
            raise StatusError(f"Historique illisible : {os.path.basename(path)}, événement n° {number} : {problem}.")
    return data


# Every kind of event a history may hold: the reviewers' own, then those of the dossier's
# life after « reçu » (dossier.py, meetings.py, answers.py name them).
REVIEW_KINDS = ("status", "note")
DOSSIER_KINDS = ("correction", "message", "reponse_porteur", "reponse", "rencontre_proposee", "rencontre_acceptee",
                 "rencontre_autre_creneau", "rencontre_annulee")
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
    return ""


def history_references(data_dir: str) -> list[str]:
    """The references that have a history file."""
    folder = os.path.join(data_dir, REVIEWS_DIR)
    if not os.path.isdir(folder):
        return []
    return [name[:-5] for name in os.listdir(folder) if name.endswith(".yaml")]


def read_all_statuses(data_dir: str) -> dict[str, str]:
    """Current status of every submission that has a history (others are `recu`)."""
    statuses: dict[str, str] = {}
    for reference in history_references(data_dir):
        try:
            statuses[reference] = read_history(data_dir, reference)["status"]
        except StatusError:
            statuses[reference] = UNREADABLE_HISTORY
    return statuses


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


def _clean(value: str | None, what: str, limit: int) -> str:
    text = clean_text((value or "").strip())
    if len(text) > limit:
        raise StatusError(f"{what} : {limit} caractères au plus.")
    return text


def _append(data_dir: str, reference: str, event: dict[str, Any], expected_from: str | None = None,
            precondition: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    with locked(data_dir, reference):
        history = read_history(data_dir, reference)
        if precondition is not None:
            precondition(history)  # raises when the history, as it is now, forbids the event
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
            event = {"at": event["at"], "by": event["by"], "kind": "status", "from": current,
                     "to": target, "note": event["note"]}
            history["status"] = target
        history["events"].append(event)
        replace_file(os.path.join(data_dir, REVIEWS_DIR), reference + ".yaml", dump_yaml(history).encode("utf-8"))
        _announce(data_dir, reference, history["status"])
        return history


def _announce(data_dir: str, reference: str, status: str) -> None:
    """Tell listeners (the review index) that a history was written; their failure changes nothing saved."""
    try:
        events.history_written.send(data_dir, reference=reference, status=status)
    except Exception as error:  # noqa: BLE001 - the history is on disk; the index catches up on its next use
        log.error("history_written listener failed for %s: %s", reference, type(error).__name__)


def _now(now: datetime | None) -> str:
    return (now or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds")


def change_status(data_dir: str, reference: str, new_status: str, *, by: str, note: str = "",
                  expected_from: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Move a submission to `new_status` if the transition is allowed; return the history."""
    check_reference(data_dir, reference)
    if new_status not in STATUSES:
        known = ", ".join(STATUSES)
        raise StatusError(f"Statut inconnu : « {new_status} ». Statuts possibles : {known}.")
    who = _clean(by, "Le nom est trop long", MAX_NAME_LENGTH)
    if not who:
        raise StatusError("Indiquez qui fait ce changement.")
    event = {"at": _now(now), "by": who, "kind": "status", "to": new_status,
             "note": _clean(note, "La note est trop longue", MAX_NOTE_LENGTH)}
    return _append(data_dir, reference, event, expected_from)


def add_note(data_dir: str, reference: str, note: str, *, by: str, now: datetime | None = None) -> dict[str, Any]:
    """Add a note to a submission's history without changing its status."""
    check_reference(data_dir, reference)
    text = _clean(note, "La note est trop longue", MAX_NOTE_LENGTH)
    if not text:
        raise StatusError("La note est vide : écrivez quelque chose.")
    who = _clean(by, "Le nom est trop long", MAX_NAME_LENGTH)
    if not who:
        raise StatusError("Indiquez qui écrit cette note.")
    return _append(data_dir, reference, {"at": _now(now), "by": who, "kind": "note", "note": text})


def add_event(data_dir: str, reference: str, event: dict[str, Any],
              precondition: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Append an event of another kind than a status change (a correction, a message…)
    to a submission's history, durably, under its lock; return the history.

    `precondition`, given the history as read under the lock, raises to refuse the event:
    a check made on a copy read earlier may no longer hold (a meeting cancelled meanwhile)."""
    if event.get("kind") == "status":
        raise StatusError("Un changement de statut passe par change_status.")
    if event.get("kind") not in EVENT_KINDS:  # read_history would refuse the whole history afterwards
        raise StatusError(f"Événement de type inconnu : « {str(event.get('kind'))[:20]} ».")
    check_reference(data_dir, reference)
    return _append(data_dir, reference, event, precondition=precondition)


def remove_history(data_dir: str, reference: str) -> bool:
    """Delete a submission's history (used by purge); True if there was one."""
    with locked(data_dir, reference):
        try:
            os.unlink(history_path(data_dir, reference))
        except FileNotFoundError:
            return False
    try:
        os.unlink(os.path.join(data_dir, LOCKS_DIR, f"review-{reference}.lock"))
    except FileNotFoundError:
        pass
    return True


def _siret_key(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits if len(digits) == 14 else ""


def _email_key(value: Any) -> str:
    return address_key(value)  # look-alike characters (NFKC) and case do not hide a duplicate


def find_duplicates(records: Iterable[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """For each reference sharing a SIRET or a contact e-mail with others: [(other ref, "siret"|"email")]."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in records:
        answers = record.get("answers") or {}
        for kind, key in (("siret", _siret_key(answers.get("siret"))), ("email", _email_key(answers.get("contact_email")))):
            if key:
                groups[(kind, key)].append(record["reference"])
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (kind, _key), references in groups.items():
        if len(references) > 1:
            for reference in references:
                found[reference] += [(other, kind) for other in references if other != reference]
    return {reference: sorted(pairs) for reference, pairs in found.items()}


def duplicate_flags(pairs: list[tuple[str, str]]) -> list[str]:
    """Flags (doublon_siret, doublon_email) for a reference's duplicate pairs."""
    kinds = {kind for _other, kind in pairs}
    return [DUPLICATE_FLAGS[kind] for kind in ("siret", "email") if kind in kinds]
