"""« Et maintenant ? »: the steps of the call still to come for a porteur, from the clock and the dossier.

Flask-free: the acknowledgement mail (mail/delivery.py) and the dossier page (porteur/views.py) both
ask here, so that neither promises a step already past, nor an answer already given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from .meetings import ACCEPTED, CANCELLED, OTHER_ASKED, PROPOSED, Meeting
from .template_filters import period_fr

# What each later step means for a porteur, as the dossier page says it.
PAGE_TEXTS = {
    "analyse": "la {organisation} étudie les réponses et peut vous proposer une rencontre.",
    "retour": "vous recevrez une réponse par e-mail, visible aussi sur cette page.",
}
# The analysis's line by the dossier's latest meeting not cancelled (none: it may come; "expired": proposed, every
# slot past, as the meeting's own block says; "held": its slot is over).
ANALYSIS_TEXTS = {
    None: PAGE_TEXTS["analyse"],
    PROPOSED: "la {organisation} étudie les réponses et vous propose une rencontre : choisissez l'un de ses créneaux "
              "plus haut sur cette page.",
    OTHER_ASKED: "la {organisation} étudie les réponses et vous proposera d'autres créneaux de rencontre, comme vous "
                 "l'avez demandé.",
    "expired": "la {organisation} étudie les réponses ; les créneaux de la rencontre qu'elle vous a proposée sont "
               "passés : indiquez vos disponibilités plus haut sur cette page.",
    ACCEPTED: "la {organisation} étudie les réponses ; votre rencontre avec elle est confirmée (plus haut sur cette "
              "page).",
    "held": "la {organisation} étudie les réponses, et ce que vous lui avez présenté lors de votre rencontre.",
}
LATE_ANSWER = ("la {organisation} n'a pas encore répondu à votre dossier : vous recevrez sa réponse par e-mail, "
               "visible aussi sur cette page.")


def last_day(step: Mapping[str, Any]) -> date:
    """The step's last day: its `end`, else its `start` (a one-day step or a moment)."""
    return step.get("end") or step["start"]


def steps_to_come(steps: Iterable[Mapping[str, Any]], today: date) -> list[Mapping[str, Any]]:
    """The calendar's steps not over on `today` (a step running today is still to come)."""
    return [step for step in steps if last_day(step) >= today]


def meeting_stage(meetings: Iterable[Meeting], now: datetime) -> str | None:
    """The key of ANALYSIS_TEXTS for the dossier's latest meeting not cancelled (None: no such meeting)."""
    current = [meeting for meeting in meetings if meeting.state != CANCELLED]
    if not current:
        return None
    latest = current[-1]
    if latest.state == ACCEPTED and latest.chosen is not None and latest.slots[latest.chosen].end <= now:
        return "held"
    if latest.state == PROPOSED and not latest.open_slots(now):
        return "expired"
    return latest.state if latest.state in ANALYSIS_TEXTS else None


def dossier_next_steps(steps: Iterable[Mapping[str, Any]], answered: bool, today: date,
                       organisation: str, meeting: str | None = None) -> list[tuple[str, str, str]]:
    """(step label, when, what it means) for the dossier page: nothing once the Région answered;
    the analysis (worded by `meeting`, a meeting_stage) and the answer while still to come; once
    the answer's step is over without an answer, only that the answer will come by e-mail (no past date)."""
    if answered:
        return []
    by_id = {step["id"]: step for step in steps}
    lines = []
    for step_id, text in PAGE_TEXTS.items():
        step = by_id.get(step_id)
        if step_id == "analyse":
            text = ANALYSIS_TEXTS.get(meeting, text)
        if step is not None and last_day(step) >= today:
            lines.append((str(step["label"]), period_fr(step), text.format(organisation=organisation)))
    answer_step = by_id.get("retour")
    if answer_step is not None and last_day(answer_step) < today:
        lines.append((str(answer_step["label"]), "", LATE_ANSWER.format(organisation=organisation)))
    return lines

