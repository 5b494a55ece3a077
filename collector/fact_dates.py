"""Dates in the facts file, checked the way an editor reads them.

- An impossible date is refused with its reason, naming the value (« 2021-06-31 » : le
  31 juin 2021 n'existe pas), not with a generic "invalid date".
- A calendar step may be the call's opening or deadline (`moment: opens_at` / `closes_at`):
  its date and wording then come from that date-time, written once; a `start` or `display`
  written beside it must agree, or the build stops.
- A weekday written in a step's text (« vendredi 28 mai 2021 ») is checked against the date.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from datetime import date, datetime, time
from typing import Any

from marshmallow import ValidationError, fields

from .template_filters import date_fr, datetime_fr

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MOMENTS = ("opens_at", "closes_at")
ZONE_LABELS = {"Europe/Paris": "heure de Paris"}

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_TIME = re.compile(r"T(\d{2}):(\d{2})(?::(\d{2}))?")
_WRITTEN_DATE = re.compile(
    r"\b(" + "|".join(WEEKDAYS) + r")\s+(1er|\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)


def impossible_reason(text: str) -> str | None:
    """Why an ISO date or date-time that is well written cannot exist, in French; else None."""
    found = _ISO_DATE.match(text)
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    if not 1 <= month <= 12:
        return f"« {text} » : le mois {month:02d} n'existe pas (de 01 à 12)."
    days = month_calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return (f"« {text} » : le {day} {MONTHS[month - 1]} {year} n'existe pas "
                f"({MONTHS[month - 1]} {year} compte {days} jours).")
    clock = _ISO_TIME.match(text, found.end())
    if clock:
        hour, minute, second = (int(part or 0) for part in clock.groups())
        if hour > 23 or minute > 59 or second > 59:
            return f"« {text} » : l'heure {hour:02d}:{minute:02d}:{second:02d} n'existe pas (de 00:00:00 à 23:59:59)."
    return None


class FrenchDate(fields.Date):
    """An ISO date whose impossibility is explained."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if isinstance(value, str) and (reason := impossible_reason(value.strip())):
            raise ValidationError(reason)
        return super()._deserialize(value, attr, data, **kwargs)


class FrenchNaiveDateTime(fields.NaiveDateTime):
    """An ISO date-time whose impossibility is explained."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str) and (reason := impossible_reason(value.strip())):
            raise ValidationError(reason)
        return super()._deserialize(value, attr, data, **kwargs)


def moment_text(moment: datetime, zone_name: str) -> str:
    """How a step taken from opens_at / closes_at is written: the date, and the hour unless midnight."""
    if moment.time() == time(0, 0):
        return date_fr(moment)
    return f"{datetime_fr(moment)} ({ZONE_LABELS.get(zone_name, zone_name)})"


def written_date_problems(text: str, start: date, end: date | None) -> list[str]:
    """Dates written out in `text` whose weekday is wrong, that do not exist, or fall outside the step."""
    problems = []
    for found in _WRITTEN_DATE.finditer(text):
        weekday, day, month, year = found.groups()
        day_number = 1 if day == "1er" else int(day)
        try:
            written = date(int(year), MONTHS.index(month.lower()) + 1, day_number)
        except ValueError:
            problems.append(f"« {found.group(0)} » : cette date n'existe pas.")
            continue
        actual = WEEKDAYS[written.weekday()]
        if actual != weekday.lower():
            problems.append(f"« {found.group(0)} » : le {day} {month} {year} est un {actual}, pas un {weekday.lower()}.")
        elif not start <= written <= (end or start):
            problems.append(f"« {found.group(0)} » ne correspond pas à la date de l'étape ({date_fr(start)}"
                            + (f" – {date_fr(end)}" if end and end != start else "") + ").")
    return problems


def step_problems(steps: list[dict[str, Any]], moments: dict[str, datetime], zone_name: str) -> dict[Any, Any]:
    """Every disagreement in the steps, as marshmallow errors: by step position and key, and
    under `moment` when the opening or the deadline has no step (or several)."""
    errors: dict[Any, Any] = {}

    def add(position: int, key: str, message: str) -> None:
        errors.setdefault(position, {}).setdefault(key, []).append(message)

    for position, step in enumerate(steps):
        moment_name = step.get("moment")
        if moment_name:
            moment = moments.get(moment_name)
            if moment is None:
                continue  # the missing date-time is reported on its own
            if step.get("start") and step["start"] != moment.date():
                add(position, "start", f"{step['start'].isoformat()} ne correspond pas à calendar.{moment_name} "
                                       f"({moment.date().isoformat()}) : retirez start, la date vient de {moment_name}.")
            wording = moment_text(moment, zone_name)
            if step.get("display") and step["display"] != wording:
                add(position, "display", f"« {step['display']} » ne correspond pas à calendar.{moment_name} "
                                         f"(« {wording} ») : retirez display, le texte vient de {moment_name}.")
            continue
        if not step.get("start"):
            add(position, "start", "champ obligatoire manquant (ou indiquez moment: opens_at ou closes_at).")
            continue
        for problem in written_date_problems(step.get("display") or "", step["start"], step.get("end")):
            add(position, "display", problem)
    for moment_name in MOMENTS:
        count = sum(1 for step in steps if step.get("moment") == moment_name)
        if count != 1:
            what = "aucune étape ne porte" if count == 0 else f"{count} étapes portent"
            errors.setdefault("moment", []).append(
                f"{what} « moment: {moment_name} » : il en faut une, pour que le calendrier donne cette date.")
    return errors


def apply_moments(steps: list[dict[str, Any]], moments: dict[str, datetime], zone_name: str) -> None:
    """Give each opening or deadline step its date and wording from the date-time it names."""
    for step in steps:
        if step.get("moment"):
            moment = moments[step["moment"]]
            step["start"] = moment.date()
            step["display"] = moment_text(moment, zone_name)
