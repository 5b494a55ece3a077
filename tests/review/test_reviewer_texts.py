"""A reviewer's text pasted from a word processor is kept, as the porteur's are: its manual line
break (U+000B), page break (U+000C) and Unicode separators (U+2028, U+2029) become line feeds
in a note (records.clean_paragraphs), spaces in a one-line meeting text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from collector.meetings import parse_slot
from collector.statuses import add_note, change_status, read_history

PASTED = "Appeler lundi\x0bpuis mardi\u2028sans faute\u2029Relancer"
KEPT = "Appeler lundi\npuis mardi\nsans faute\n\nRelancer"


def test_a_pasted_note_keeps_its_breaks_as_line_feeds(app, records):
    from collector import appstate

    store, reference = appstate.store(app), records[0]["reference"]
    change_status(store, reference, "en_instruction", by="alice", note=PASTED)
    add_note(store, reference, PASTED, by="bruno")
    assert [event["note"] for event in read_history(store, reference)["events"]] == [KEPT, KEPT]


def test_the_note_command_takes_a_pasted_note(app, runner, records):
    from collector import appstate

    reference = records[0]["reference"]
    result = runner.invoke(args=["note", reference, PASTED, "--by", "alice"])
    assert result.exit_code == 0, result.output
    assert read_history(appstate.store(app), reference)["events"][-1]["note"] == KEPT


def test_a_pasted_control_character_is_still_refused_in_a_note(app, records):
    from collector import appstate

    with pytest.raises(ValueError, match="caractère de contrôle invisible"):
        add_note(appstate.store(app), records[0]["reference"], "bip\x07", by="alice")


def test_a_meetings_place_and_attendees_take_a_pasted_line_break_as_a_space():
    now = datetime(2021, 6, 1, 9, tzinfo=ZoneInfo("Europe/Paris"))
    slot = parse_slot(1, "2021-06-15", "14:30", "60", "Abbaye-aux-Dames\u2028Caen", "Anne Houlette\x0bLaure Brainville",
                      now)
    assert (slot.place, slot.attendees) == ("Abbaye-aux-Dames Caen", "Anne Houlette Laure Brainville")
