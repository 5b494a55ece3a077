"""Build the call's calendar as an RFC 5545 file: one VEVENT per step of content/data/ami.yaml.

Dates and periods are all-day events; the deadline is a timed event in the call's timezone
(with its VTIMEZONE) and a reminder (VALARM) a few days before. UID and DTSTAMP derive from
the facts only, so rebuilds are identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar, Event

from collector.calendar_zones import add_timezones

ICS_NAME = "ami-usages-numeriques-{edition}.ics"
REMINDER_DAYS = 3


def ics_name(facts: Mapping[str, Any]) -> str:
    """The file name, e.g. `ami-usages-numeriques-2021.ics`."""
    return ICS_NAME.format(edition=facts["call"]["edition"])


def _deadline_step(facts: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((s for s in facts["calendar"]["steps"] if s.get("moment") == "closes_at"), None)


def _reminder(call: Mapping[str, Any], step: Mapping[str, Any]) -> Alarm:
    """A notice REMINDER_DAYS days before the deadline."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(days=-REMINDER_DAYS))
    alarm.add("description", f"{call['short_title']} : plus que {REMINDER_DAYS} jours pour répondre "
                             f"(date limite : {step['display']}).")
    return alarm


def build_calendar(facts: Mapping[str, Any]) -> bytes:
    """The .ics bytes for the call's calendar."""
    call, calendar = facts["call"], facts["calendar"]
    host = urlsplit(facts["site"]["url"]).hostname or "localhost"
    stamp = calendar["opens_at"].astimezone(timezone.utc)
    deadline = _deadline_step(facts)

    cal = Calendar()
    cal.add("prodid", f"-//{call['organisation']}//{call['short_title']} {call['edition']}//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{call['short_title']} {call['edition']}")
    cal.add("x-wr-timezone", calendar["timezone"])
    for step in calendar["steps"]:
        event = Event()
        event.add("uid", f"{call['reference_prefix'].lower()}-{step['id']}@{host}")
        event.add("dtstamp", stamp)
        event.add("summary", f"{call['short_title']} : {step['label']}")
        if step is deadline:
            event.add("dtstart", calendar["closes_at"])
            event.add("description", f"{step['label']} : {step['display']}.")
            event.add_component(_reminder(call, step))
        else:
            event.add("dtstart", step["start"])
            event.add("dtend", (step.get("end") or step["start"]) + timedelta(days=1))
            if step.get("display"):
                event.add("description", f"{step['label']} : {step['display']}.")
        event.add("url", facts["site"]["url"].rstrip("/") + "/calendrier/")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    first = calendar["opens_at"].year
    add_timezones(cal, first - 1, first + 1)
    return cal.to_ical()
