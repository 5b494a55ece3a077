"""Which phase the call is in (à venir, ouvert, clos), by the real clock or by AMI_NOW.

AMI_NOW (an ISO 8601 date-time; without an offset it is read in the call's timezone)
sets "now" for previews and tests. Whoever sets it also gets `preview=True`, so that
every page can show a visible preview banner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

NOW_VARIABLE = "AMI_NOW"

LABELS = {"a_venir": "à venir", "ouvert": "ouvert", "clos": "clos"}


class NowError(ValueError):
    """AMI_NOW holds something that is not an ISO date-time."""


@dataclass(frozen=True)
class Phase:
    key: str  # "a_venir", "ouvert" or "clos"
    now: datetime
    days_left: int | None  # whole calendar days until the deadline, while open
    preview: bool  # True when AMI_NOW chose "now"

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def is_open(self) -> bool:
        return self.key == "ouvert"


def current_now(facts: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> tuple[datetime, bool]:
    """Now, in the call's timezone, and whether it comes from AMI_NOW."""
    zone = facts["calendar"]["opens_at"].tzinfo
    text = environ.get(NOW_VARIABLE, "").strip()
    if not text:
        return datetime.now(timezone.utc).astimezone(zone), False
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise NowError(f"{NOW_VARIABLE}={text!r} n'est pas une date-heure ISO 8601 (exemple : 2021-04-15T10:00:00).") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone), True


def phase_at(facts: Mapping[str, Any], now: datetime, preview: bool = False) -> Phase:
    """The phase of the call at `now` (an aware datetime)."""
    calendar = facts["calendar"]
    now = now.astimezone(calendar["opens_at"].tzinfo)
    if now < calendar["opens_at"]:
        return Phase("a_venir", now, None, preview)
    if now > calendar["closes_at"]:
        return Phase("clos", now, None, preview)
    days_left = (calendar["closes_at"].date() - now.date()).days
    return Phase("ouvert", now, days_left, preview)


def step_under_way(steps: Sequence[Mapping[str, Any]], today: date) -> str | None:
    """The id of the calendar step under way on `today`: once the call has opened, the first step
    not over yet (while the call is open, the deadline it leads to; in June, the analysis);
    None before the opening and once every step is over."""
    if not steps or today < steps[0]["start"]:
        return None
    for step in steps:
        if today <= (step.get("end") or step["start"]):
            return step["id"]
    return None


def all_steps_over(steps: Sequence[Mapping[str, Any]], today: date) -> bool:
    """Is every step of the calendar past (the Région's answers to the respondents included)?"""
    return all((step.get("end") or step["start"]) < today for step in steps)


def current_phase(facts: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Phase:
    """The phase now, by the real clock or AMI_NOW."""
    now, preview = current_now(facts, environ)
    return phase_at(facts, now, preview)
