"""The VTIMEZONE of an iCalendar file (the site's calendar, the meetings' invitations).

icalendar's `add_missing_timezones` writes the zone's rules for the years asked and an
English `COMMENT` (« This timezone only works from … ») that some calendars show to the
person: the comment is dropped, the years bounded to those the events need.
"""

from __future__ import annotations

from datetime import date
from typing import Any


def add_timezones(calendar: Any, first_year: int, last_year: int) -> None:
    """Add the VTIMEZONE of every zone the events use, valid from `first_year` to `last_year`
    (inclusive), without icalendar's English comment."""
    calendar.add_missing_timezones(first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1))
    for zone in calendar.walk("VTIMEZONE"):
        zone.pop("COMMENT", None)
