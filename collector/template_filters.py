"""French Jinja filters shared by the Pelican build and the collector (Babel, locale fr_FR).

Registered in Pelican through JINJA_FILTERS and in Flask with
`app.jinja_env.filters.update(FILTERS)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import re

from markupsafe import Markup

from .phase import all_steps_over, step_under_way

LOCALE = "fr_FR"


def date_fr(value: date | datetime) -> str:
    """`lundi 29 mars 2021`, `jeudi 1er juillet 2021`."""
    from babel.dates import format_date  # here: the collector's commands that show no date never load it

    if isinstance(value, datetime):
        value = value.date()
    text = format_date(value, format="EEEE d MMMM y", locale=LOCALE)
    return text.replace(" 1 ", " 1er ", 1) if value.day == 1 else text


def time_fr(value: datetime) -> str:
    """`23 h 59`, `10 h 00` (French typographic usage)."""
    return f"{value.hour} h {value.minute:02d}"


def datetime_fr(value: datetime) -> str:
    """`vendredi 28 mai 2021 à 23 h 59`."""
    return f"{date_fr(value)} à {time_fr(value)}"


def month_fr(value: date | datetime) -> str:
    """`juin 2021`."""
    from babel.dates import format_date

    return format_date(value, format="LLLL y", locale=LOCALE)


def period_fr(step: Mapping[str, Any]) -> str:
    """A calendar step as people say it: its `display` text, else its date or date range."""
    if step.get("display"):
        return str(step["display"])
    start, end = step["start"], step.get("end")
    if not end or end == start:
        return date_fr(start)
    return f"du {date_fr(start)} au {date_fr(end)}"


def iso_date(value: date | datetime) -> str:
    """`2021-03-29`, for `<time datetime>`."""
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def iso_datetime(value: datetime) -> str:
    """`2021-05-28T23:59:59+02:00`, for `<time datetime>`."""
    return value.isoformat()


def step_datetime(step: Mapping[str, Any]) -> str:
    """The `datetime` attribute for a step: a date, or a month (`2021-06`) when it spans a month."""
    start, end = step["start"], step.get("end")
    if end and end != start:
        if start.year == end.year and start.month == end.month:
            return f"{start.year:04d}-{start.month:02d}"
        return start.isoformat()
    return start.isoformat()


def days_fr(count: int) -> str:
    """`1 jour`, `43 jours`, `0 jour` (French singular for 0 and 1)."""
    return f"{count} jour" if abs(count) < 2 else f"{count} jours"


def minutes_fr(count: int) -> str:
    """`1 minute`, `7 minutes` (French singular for 0 and 1)."""
    return f"{count} minute" if abs(count) < 2 else f"{count} minutes"


def number_fr(value: float | int, digits: int = 1) -> str:
    """`17,6`, `13` — a French decimal comma."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}".replace(".", ",")


def thousands(number: int) -> str:
    """`1 234`, `30 012` with a narrow no-break space, as French writes it (messages, lists, exports)."""
    return f"{number:,}".replace(",", "\u202f")


NBSP = "\u00a0"
_BEFORE = re.compile(r"(?<=\S) ([:;!?%»])(?=[\s<.,)]|$)")
_AFTER = re.compile(r"« ")


def nbsp_fr(text: str) -> str:
    """French spacing: a no-break space before : ; ! ? % » and after «, so they never start a line.

    Safe HTML (Markup) stays safe HTML; the pattern never touches tags or URLs."""
    spaced = _AFTER.sub("«" + NBSP, _BEFORE.sub(NBSP + r"\1", str(text)))
    return Markup(spaced) if isinstance(text, Markup) else spaced


def tel_href(number: str) -> str:
    """`02 31 06 98 98` → `tel:+33231069898` (international form, for links)."""
    import phonenumbers  # here: loaded by the pages that show a phone number, not by every command

    parsed = phonenumbers.parse(number, "FR")
    return "tel:" + phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


FILTERS: dict[str, Callable[..., Any]] = {
    "date_fr": date_fr,
    "time_fr": time_fr,
    "datetime_fr": datetime_fr,
    "month_fr": month_fr,
    "period_fr": period_fr,
    "iso_date": iso_date,
    "iso_datetime": iso_datetime,
    "step_datetime": step_datetime,
    "days_fr": days_fr,
    "number_fr": number_fr,
    "tel_href": tel_href,
    "nbsp_fr": nbsp_fr,
    "step_under_way": step_under_way,  # steps | step_under_way(today): the id of the step under way, or None
    "all_steps_over": all_steps_over,  # steps | all_steps_over(today): the Région has answered everyone
}
