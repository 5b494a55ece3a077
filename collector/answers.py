"""The answer to each dossier (« retour aux répondants », July): which letter, sent once.

A dossier whose status is an outcome (statuses.OUTCOMES) gets that outcome's letter
(letters.py), filled with its newest answers and the reviewer's motivation, which is
required and shown to the porteur. The batch (`answers --send`) takes only a motivation
written for the porteur (a status change's `motivation`, never its internal `note`); the
review page's form shows it, editable, before a reviewer sends one letter. Sending appends an `reponse` event to the dossier's
history (outcome, motivation, subject, text, html) durably, through the store (the data
folder or PostgreSQL); the checks « not answered yet » and « the decision is still this
one » run on the history as read under the store's per-dossier lock (across hosts with
PostgreSQL), in one step with the append; the e-mail is then queued by the caller. A dossier is answered once; after a changed decision, a corrected
letter goes only when a reviewer asks for it explicitly (`corrected=True`).

Flask-free: the review pages, the `answers` command and the exports use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .dossier import ANSWER, MAX_MESSAGE_LENGTH, latest_record, safe_history
from .letters import FilledLetter, Letter, fill
from .records import clean_paragraphs
from .statuses import OUTCOMES, PARIS, StatusError, add_event, history_references, read_history, status_label
from .template_filters import thousands

if TYPE_CHECKING:
    from .stores import Store


class AnswerError(ValueError):
    """An answer that cannot be sent; the message is French and says why."""


@dataclass(frozen=True)
class Plan:
    """What `answers --dry-run` says of one dossier."""

    reference: str
    outcome: str
    action: str  # "envoyer", "deja_envoyee", "corrigee_sur_demande", "motivation_manquante"
    motivation: str = ""
    sent_at: str = ""


def sent_answers(history: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [event for event in history.get("events", []) if event.get("kind") == ANSWER]


def outcome_motivation(history: Mapping[str, Any]) -> str:
    """The motivation written for the porteur with the status change that set the current
    outcome (its `motivation`), "" without one. Never its note: a note is internal (older
    histories have notes only, which therefore stay internal)."""
    for event in reversed(history.get("events", [])):
        if event.get("kind") == "status":
            return str(event.get("motivation") or "") if event.get("to") == history.get("status") else ""
    return ""


def plan_for(reference: str, history: Mapping[str, Any]) -> Plan | None:
    """What to do for one dossier's answer; None when its status is not an outcome."""
    outcome = history.get("status")
    if outcome not in OUTCOMES:
        return None
    sent = sent_answers(history)
    if sent:
        last = sent[-1]
        if last.get("outcome") == outcome:
            return Plan(reference, outcome, "deja_envoyee", str(last.get("motivation") or ""), str(last.get("at")))
        return Plan(reference, outcome, "corrigee_sur_demande", outcome_motivation(history), str(last.get("at")))
    motivation = outcome_motivation(history)
    return Plan(reference, outcome, "envoyer" if motivation.strip() else "motivation_manquante", motivation)


def plans(where: Store | str, references: Iterable[str]) -> list[Plan]:
    found = []
    for reference in references:
        plan = plan_for(reference, safe_history(where, reference))
        if plan is not None:
            found.append(plan)
    return found


def clean_motivation(text: str | None) -> str:
    try:
        motivation = clean_paragraphs(text or "").strip()
    except ValueError as error:
        raise AnswerError(str(error)) from None
    if not motivation:
        raise AnswerError("La motivation est obligatoire : expliquez au porteur la raison de cette décision.")
    if len(motivation) > MAX_MESSAGE_LENGTH:
        raise AnswerError(f"La motivation compte {thousands(len(motivation))} caractères ; {thousands(MAX_MESSAGE_LENGTH)} "
                          "au plus.")
    return motivation


def preview(where: Store | str, reference: str, motivation: str | None, letters: Mapping[str, Letter],
            facts: Mapping[str, Any]) -> tuple[str, FilledLetter]:
    """(outcome, letter) for the dossier as it stands; AnswerError when it cannot be answered."""
    history = read_history(where, reference)
    outcome = history["status"]
    if outcome not in OUTCOMES:
        raise AnswerError(f"Le statut de {reference} est « {status_label(outcome)} » : choisissez d'abord une "
                          "décision (accompagnement, orientation ou sans suite).")
    return outcome, fill(letters[outcome], latest_record(where, reference), clean_motivation(motivation), facts)


def send(where: Store | str, reference: str, motivation: str | None, letters: Mapping[str, Letter],
         facts: Mapping[str, Any], *, by: str, corrected: bool = False,
         now: datetime | None = None) -> tuple[dict[str, Any], int]:
    """Record the dossier's answer (once; again only when `corrected`); (event, its number).
    The store commits it (fsync, or PostgreSQL's commit) before this returns; the caller
    queues the e-mail after: the answer is kept first."""
    outcome, letter = preview(where, reference, motivation, letters, facts)
    event = {"at": (now or datetime.now(PARIS)).astimezone(PARIS).isoformat(timespec="seconds"), "by": by,
             "kind": ANSWER, "outcome": outcome, "motivation": clean_motivation(motivation),
             "corrected": False, "subject": letter.subject, "text": letter.text, "html": letter.html}

    def still_answerable(history: dict[str, Any]) -> None:  # the history as it is, under the dossier's lock
        if history["status"] != outcome:
            raise AnswerError(f"La décision de {reference} vient d'être changée en « {status_label(history['status'])} » "
                              "par quelqu'un d'autre : relisez le dossier avant d'envoyer la réponse.")
        sent = sent_answers(history)
        if sent and not corrected:
            same = sent[-1].get("outcome") == outcome
            raise AnswerError(f"La réponse de {reference} a déjà été envoyée le {str(sent[-1]['at'])[:10]}"
                              + (". " if same else " avec une autre décision : ")
                              + ("Elle ne part qu'une fois." if same else
                                 "cochez « envoyer une lettre corrigée » pour l'envoyer à nouveau."))
        event["corrected"] = bool(sent)

    history = add_event(where, reference, event, precondition=still_answerable)
    return event, len(history["events"])


def answer_date(where: Store | str, reference: str) -> str:
    """When one dossier got its (last) answer (ISO date-time), "" when none was sent or its history is unreadable."""
    try:
        sent = sent_answers(read_history(where, reference))
    except StatusError:
        return ""
    return str(sent[-1]["at"]) if sent else ""


def answer_dates(where: Store | str) -> dict[str, str]:
    """When each answered dossier got its (last) answer: {reference: ISO date-time}."""
    dates = {reference: answer_date(where, reference) for reference in history_references(where)}
    return {reference: moment for reference, moment in dates.items() if moment}

