"""Meetings: one to three slots proposed, one accepted (or another asked), confirmations and
cancellations with their iCalendar invitations."""

from __future__ import annotations

import email
import email.policy

import pytest
from icalendar import Calendar

from collector import meetings
from collector.meetings import meetings_of
from collector.statuses import read_history

from tests.conftest import STORE_KINDS

from .conftest import CLOSED_NOW, link, outbox, review_post, waiting_message

SLOTS = {"date-1": "2021-06-15", "heure-1": "14:30", "duree-1": "60", "lieu-1": "https://visio.example/ami",
         "participants-1": "Anne Houlette", "date-2": "2021-06-16", "heure-2": "10:00", "duree-2": "90",
         "lieu-2": "Abbaye-aux-Dames, Caen", "participants-2": "Laure Brainville"}


@pytest.fixture(autouse=True)
def june(app, monkeypatch):
    """After the deadline, during the analysis: when meetings are proposed."""
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)


def post(reviewer, path, reference="AMI-2021-0001", **fields):
    return review_post(reviewer, reference, path, **fields)


def calendar_of(where, name):
    message = email.message_from_bytes(waiting_message(where, name))
    [part] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert part.get_param("method") in {"REQUEST", "CANCEL"}
    text = part.get_payload(decode=True).decode(part.get_content_charset("us-ascii"))  # as a mail reader decodes it
    assert "Région Normandie" in text  # the accented names read back by the part's declared charset
    return message, Calendar.from_ical(text)


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_a_proposal_is_stored_and_mailed_with_a_request_invitation(reviewer, client, records, kept):
    assert post(reviewer, "rencontre", **SLOTS).status_code == 303
    [meeting] = meetings_of(read_history(kept, "AMI-2021-0001"))
    assert [slot.place for slot in meeting.slots] == ["https://visio.example/ami", "Abbaye-aux-Dames, Caen"]
    assert "AMI-2021-0001" in reviewer.get("/instruction/rencontres").text  # the coming meetings' page
    message, calendar = calendar_of(kept, "AMI-2021-0001.rencontre-1-proposee.eml")
    assert message["To"] == records[0]["answers"]["contact_email"]
    assert calendar["method"] == "REQUEST"
    events = list(calendar.walk("VEVENT"))
    assert [str(event["status"]) for event in events] == ["TENTATIVE", "TENTATIVE"]
    assert events[0].decoded("dtstart").isoformat() == "2021-06-15T14:30:00+02:00"
    assert events[1].decoded("dtend").isoformat() == "2021-06-16T11:30:00+02:00"
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["tzid"] == "Europe/Paris" and "COMMENT" not in zone  # icalendar's English comment, dropped
    assert "Rencontre avec la Région" not in client.get(link("AMI-2021-0002")).text
    assert "choisissez un créneau" in client.get(link("AMI-2021-0001")).text


@pytest.mark.parametrize(("change", "message"), [
    ({"date-1": "2021-06-01"}, "Créneau 1 : ce moment est passé"),
    ({"heure-1": "25:00"}, "Créneau 1 : heure illisible"),
    ({"heure-1": " "}, "Créneau 1 : heure à remplir, par exemple 14:30."),
    ({"date-2": ""}, "Créneau 2 : date à remplir"),
    ({"duree-1": "5"}, "Créneau 1 : durée en minutes, entre 15 et 480"),
    ({"lieu-2": ""}, "Créneau 2, lieu ou lien de visioconférence : à remplir"),
    ({key: "" for key in SLOTS}, "Proposez au moins un créneau"),
])
def test_a_refused_proposal_says_why_keeps_the_values_and_stores_nothing(reviewer, records, kept, change, message):
    reply = post(reviewer, "rencontre", **{**SLOTS, **change})
    assert reply.status_code == 400 and message in reply.text.replace("&#39;", "'")
    assert 'aria-invalid="true"' in reply.text
    if change.get("date-1") == "2021-06-01":
        assert 'value="2021-06-01"' in reply.text and 'value="Abbaye-aux-Dames, Caen"' in reply.text
    assert kept.histories.text("AMI-2021-0001") is None
    assert outbox(kept) == []


def test_the_porteur_accepts_a_slot_and_both_sides_get_the_confirmed_invitation(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "2"})
    assert reply.status_code == 303 and "fait=rencontre" in reply.headers["Location"]
    [meeting] = meetings_of(read_history(kept, "AMI-2021-0001"))
    assert meeting.chosen == 1
    for name, to in (("AMI-2021-0001.rencontre-1-confirmee.eml", records[0]["answers"]["contact_email"]),
                     ("AMI-2021-0001.rencontre-1-confirmee-region.eml", "amenagement.numerique@normandie.fr")):
        message, calendar = calendar_of(kept, name)
        assert message["To"] == to and calendar["method"] == "REQUEST"
        [event] = calendar.walk("VEVENT")
        assert (str(event["status"]), event["sequence"]) == ("CONFIRMED", 1)
        assert str(event["uid"]).startswith("ami-2021-0001-rencontre-1-2@")
    page = client.get(link("AMI-2021-0001")).text
    assert "Rencontre confirmée" in page and "Abbaye-aux-Dames, Caen" in page
    assert client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"}).status_code == 422
    listed = reviewer.get("/instruction/rencontres").text
    assert "AMI-2021-0001" in listed and "confirmée" in listed and "16/06/2021 10:00" in listed


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_the_same_slot_sent_twice_leads_to_the_confirmed_meeting_not_to_an_error(reviewer, client, records, kept):
    """A double click on « Confirmer ce créneau »: the browser shows the second answer, which must not say
    « ce nouveau choix n'est pas enregistré » about a meeting that is confirmed."""
    post(reviewer, "rencontre", **SLOTS)
    first = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "2"})
    again = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "2"})
    assert (first.status_code, again.status_code) == (303, 303)
    assert "fait=rencontre" in again.headers["Location"] and again.headers["Location"].endswith("#confirmation")
    assert "Rencontre confirmée" in client.get(again.headers["Location"]).text
    history = read_history(kept, "AMI-2021-0001")
    assert [event["kind"] for event in history["events"]].count(meetings.ACCEPTED) == 1
    assert [name for name in outbox(kept) if "confirmee" in name] == [
        "AMI-2021-0001.rencontre-1-confirmee-region.eml", "AMI-2021-0001.rencontre-1-confirmee.eml"]
    assert client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"}).status_code == 422  # another slot


def test_the_porteur_asks_for_another_slot(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    empty = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "autre", "disponibilites": ""})
    assert empty.status_code == 422 and "Vos disponibilités : à remplir" in empty.text
    reply = client.post(link("AMI-2021-0001", "rencontre/1"),
                        data={"choix": "autre", "disponibilites": "Les mardis après-midi."})
    assert reply.status_code == 303
    [meeting] = meetings_of(read_history(kept, "AMI-2021-0001"))
    assert (meeting.state, meeting.request) == ("rencontre_autre_creneau", "Les mardis après-midi.")
    assert "AMI-2021-0001.rencontre-1-autre.eml" in outbox(kept)


def test_no_choice_means_no_meeting(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={})
    assert reply.status_code == 422 and "Choisissez l&#39;un des créneaux proposés" in reply.text
    assert client.post(link("AMI-2021-0001", "rencontre/1")[:-2], data={"choix": "1"}).status_code == 404
    assert client.post(link("AMI-2021-0001", "rencontre/9"), data={"choix": "1"}).status_code == 404  # no such meeting
    assert meetings_of(read_history(kept, "AMI-2021-0001"))[0].state == "rencontre_proposee"


def test_a_cancelled_meeting_sends_a_cancel_invitation_to_both_sides(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"})
    assert post(reviewer, "rencontre/1/annuler").status_code == 303
    for name in ("AMI-2021-0001.rencontre-1-annulee.eml", "AMI-2021-0001.rencontre-1-annulee-region.eml"):
        _message, calendar = calendar_of(kept, name)
        assert calendar["method"] == "CANCEL"
        [event] = calendar.walk("VEVENT")
        assert (str(event["status"]), event["sequence"]) == ("CANCELLED", 2)
        assert str(event["uid"]).startswith("ami-2021-0001-rencontre-1-1@")
    assert "Rencontre annulée" in client.get(link("AMI-2021-0001")).text
    assert "AMI-2021-0001" not in reviewer.get("/instruction/rencontres").text
    assert post(reviewer, "rencontre/1/annuler").status_code == 400


def test_no_meeting_mail_to_the_region_carries_the_porteurs_private_link(reviewer, client, records, kept):
    """The dossier's signed link opens it without a password: the Région's shared mailbox never gets it
    (its copies link to the review page), whatever the meeting's step: accepted, other slots asked, cancelled."""
    post(reviewer, "rencontre", **SLOTS)
    client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"})
    post(reviewer, "rencontre", **SLOTS)
    client.post(link("AMI-2021-0001", "rencontre/2"), data={"choix": "autre", "disponibilites": "Le mardi matin"})
    assert post(reviewer, "rencontre/1/annuler").status_code == 303
    to_the_region = [name for name in outbox(kept) if "-region" in name or "autre" in name]
    assert {"AMI-2021-0001.rencontre-1-confirmee-region.eml", "AMI-2021-0001.rencontre-1-annulee-region.eml"} <= set(
        to_the_region) and any("autre" in name for name in to_the_region)
    for name in to_the_region:
        message = email.message_from_bytes(waiting_message(kept, name).split(b"\n", 1)[1],
                                           policy=email.policy.default)
        texts = "\n".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")
        assert "cle=" not in texts and "/candidater/recu/" not in texts, name
        assert "Votre page de dossier" not in texts, name
        assert "/instruction/AMI-2021-0001" in texts, name


def test_the_page_a_choice_leads_to_no_longer_confirms_a_meeting_the_region_cancelled(reviewer, client, records):
    post(reviewer, "rencontre", **SLOTS)
    chosen = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"}).headers["Location"]
    assert "Votre rencontre est confirmée" in client.get(chosen).text
    assert post(reviewer, "rencontre/1/annuler").status_code == 303
    page = client.get(chosen).text  # the same address, within the notice's ten minutes
    assert "Rencontre annulée" in page and "Votre rencontre est confirmée" not in page


def test_a_slot_already_past_cannot_be_confirmed_and_the_page_shows_it_as_past(reviewer, client, records, kept,
                                                                               monkeypatch):
    post(reviewer, "rencontre", **SLOTS)
    monkeypatch.setenv("AMI_NOW", "2021-06-15T18:00:00")  # slot 1 (15 June, 14:30) is past, slot 2 is to come
    page = client.get(link("AMI-2021-0001")).text
    assert "Passé : le mardi 15 juin 2021 à 14 h 30" in page and 'value="1"' not in page and 'value="2"' in page
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"})
    assert reply.status_code == 422 and "Ce créneau est passé : choisissez-en un autre" in reply.text
    assert meetings_of(read_history(kept, "AMI-2021-0001"))[0].chosen is None
    assert outbox(kept) == ["AMI-2021-0001.rencontre-1-proposee.eml"]
    monkeypatch.setenv("AMI_NOW", "2021-06-20T10:00:00")  # both past: only « other slots » is offered
    page = client.get(link("AMI-2021-0001")).text
    assert "choisissez un créneau" not in page and "ses créneaux sont passés : indiquez vos disponibilités" in page
    assert client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "2"}).status_code == 422


def porteur_calendar(where, name):
    """(method, {uid tail: (status, sequence)}) of one meeting mail's .ics."""
    _message, calendar = calendar_of(where, name)
    return str(calendar["method"]), {str(event["uid"]).split("@")[0].rpartition("rencontre-")[2]:
                                     (str(event["status"]), event["sequence"]) for event in calendar.walk("VEVENT")}


def test_the_proposal_asks_for_no_agenda_reply_and_says_the_choice_is_made_on_the_page(reviewer, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    message, calendar = calendar_of(kept, "AMI-2021-0001.rencontre-1-proposee.eml")
    for event in calendar.walk("VEVENT"):
        assert event["attendee"].params["rsvp"] == "FALSE"
    body = message.get_body(("plain",)) if hasattr(message, "get_body") else None
    text = (body or next(part for part in message.walk() if part.get_content_type() == "text/plain"))
    assert "ne choisit pas de créneau" in text.get_payload(decode=True).decode()


def test_the_slots_not_chosen_are_withdrawn_from_the_porteurs_agenda(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    assert client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "2"}).status_code == 303
    message, _calendar = calendar_of(kept, "AMI-2021-0001.rencontre-1-retires.eml")
    assert message["To"] == records[0]["answers"]["contact_email"]
    assert porteur_calendar(kept, "AMI-2021-0001.rencontre-1-retires.eml") == (
        "CANCEL", {"1-1": ("CANCELLED", 1)})  # the proposal's SEQUENCE was 0
    assert porteur_calendar(kept, "AMI-2021-0001.rencontre-1-confirmee.eml") == (
        "REQUEST", {"1-2": ("CONFIRMED", 1)})


def test_asking_for_other_slots_withdraws_every_proposed_one(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "autre", "disponibilites": "Le lundi."})
    assert reply.status_code == 303
    assert porteur_calendar(kept, "AMI-2021-0001.rencontre-1-retires.eml") == (
        "CANCEL", {"1-1": ("CANCELLED", 1), "1-2": ("CANCELLED", 1)})


def test_availabilities_keep_their_lines_and_come_back_whole_when_too_long(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    page = client.get(link("AMI-2021-0001")).text
    assert "2 000 caractères au plus" in page
    too_long = "Disponible le matin. " * 100 + "SAUF LE VENDREDI."
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "autre", "disponibilites": too_long})
    assert reply.status_code == 422 and "2\u202f000 caractères au plus (il y en a 2\u202f117)" in reply.text
    assert too_long.strip() + "</textarea>" in reply.text
    listed = "Lundi 21 juin,  le matin\r\nMardi 22 juin\x0c sauf le vendredi"  # \x0c: a pasted page break
    assert client.post(link("AMI-2021-0001", "rencontre/1"),
                       data={"choix": "autre", "disponibilites": listed}).status_code == 303
    [meeting] = meetings_of(read_history(kept, "AMI-2021-0001"))
    assert meeting.request == "Lundi 21 juin, le matin\nMardi 22 juin\n\nsauf le vendredi"
    staff = email.message_from_bytes(waiting_message(kept, "AMI-2021-0001.rencontre-1-autre.eml"))
    body = staff.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "    Lundi 21 juin, le matin\n    Mardi 22 juin\n\n    sauf le vendredi\n" in body


def test_a_second_request_for_other_slots_reaches_the_region_too(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    for text in ("Le lundi.", "Finalement, seulement le mardi matin."):
        reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "autre", "disponibilites": text})
        assert reply.status_code == 303
    second = email.message_from_bytes(waiting_message(kept, "AMI-2021-0001.rencontre-1-autre-2.eml"))
    assert "seulement le mardi matin" in second.get_payload(decode=True).decode()
    assert "AMI-2021-0001.rencontre-1-autre.eml" in outbox(kept)


def test_a_slot_confirmed_after_asking_for_others_is_newer_than_their_withdrawal(reviewer, client, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "autre", "disponibilites": "Le lundi."})
    assert client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "2"}).status_code == 303
    assert porteur_calendar(kept, "AMI-2021-0001.rencontre-1-retires.eml")[1]["1-2"] == ("CANCELLED", 1)
    assert porteur_calendar(kept, "AMI-2021-0001.rencontre-1-confirmee.eml") == (
        "REQUEST", {"1-2": ("CONFIRMED", 2)})  # above the withdrawal's 1: the calendar puts it back
