"""Per-dossier caps on what a porteur's posts mail to the Région (collector/porteur/dossier_caps.py):
messages written on the dossier page, « Aucun de ces créneaux ne me convient » requests.

On both stores (the counts live in the store's shared limiter), but for a fault injected on the
data folder's fsync."""

from __future__ import annotations

import errno
import html
import os
import re
from datetime import datetime
from types import SimpleNamespace

import pytest

from collector import meetings
from collector.meetings import Slot
from collector.porteur import dossier_caps
from collector.statuses import PARIS, read_history
from tests.conftest import STORE_KINDS

from .conftest import CLOSED_NOW, link, outbox

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
REF = "AMI-2021-0001"
START = 1_699_920_000.0  # the limiters' clock, where a test moves it: the start of a day's window (and an hour's)


def write(client, text: str, reference: str = REF, **form):
    return client.post(link(reference, "repondre"), data={"message": text, **form})


def replies(kept, reference: str = REF) -> list[str]:
    return [event["text"] for event in read_history(kept, reference)["events"] if event["kind"] == "reponse_porteur"]


def notices(kept, kind: str) -> list[str]:
    return [name for name in outbox(kept) if f".{kind}" in name]


def page_text(response) -> str:
    return html.unescape(response.text)


def refusal(response, typed: str) -> str:
    """The text of a post's refusal past a cap, once checked: a 429 with Retry-After, what was
    typed back in its form."""
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    text = page_text(response)
    assert f">{typed}</textarea>" in text, "what was typed comes back in the form"
    return text


@pytest.fixture
def clock(monkeypatch):
    """The caps' clock (the OS's time, read through dossier_caps.time), moved by the test."""
    now = SimpleNamespace(value=START)
    monkeypatch.setattr(dossier_caps, "time", SimpleNamespace(time=lambda: now.value))
    return now


@ON_BOTH_STORES
def test_a_dossier_sends_six_messages_within_an_hour_then_the_seventh_comes_back_with_its_text(client, records,
                                                                                                kept):
    assert [write(client, f"Message {number}").status_code for number in range(6)] == [303] * 6
    text = refusal(write(client, "Le septième, à ne pas perdre."), "Le septième, à ne pas perdre.")
    assert "6 messages ont déjà été envoyés à la Région depuis ce dossier au cours de la dernière heure" in text
    assert "Rien n'est perdu : votre texte est resté ci-dessous." in text
    assert re.search(r"Envoyez-le à partir du \w+ \d+ \w+ 2\d{3} à \d+ h \d\d \(dans environ \d+ minute", text)
    assert "Erreur : votre message n'est pas parti" in text and 'aria-invalid="true"' in text
    assert replies(kept) == [f"Message {number}" for number in range(6)], "nothing stored"
    assert len(notices(kept, "reponse-porteur")) == 6, "the Région was mailed six times, not seven"


@ON_BOTH_STORES
def test_the_cap_is_the_dossiers_whoever_writes_and_other_dossiers_keep_theirs(app, records, kept):
    for number in range(6):
        assert write(app.test_client(), f"Message {number}", environ_base={
            "REMOTE_ADDR": f"10.{number}.0.1"}).status_code == 303
    elsewhere = write(app.test_client(), "Depuis un autre réseau", environ_base={"REMOTE_ADDR": "10.9.0.1"})
    assert elsewhere.status_code == 429
    assert write(app.test_client(), "Un autre dossier", "AMI-2021-0002").status_code == 303


@ON_BOTH_STORES
def test_a_message_to_fix_or_sent_twice_uses_up_nothing(client, records, kept):
    assert all(write(client, text).status_code == 422 for text in ["", "   ", "x" * 5001] * 4)
    same_form = {"id_envoi": "formulaire-de-la-page-1"}
    assert [write(client, "Un double clic", **same_form).status_code for _ in range(8)] == [303] * 8
    assert [write(client, f"Message {number}").status_code for number in range(5)] == [303] * 5
    assert write(client, "De trop").status_code == 429
    assert replies(kept) == ["Un double clic"] + [f"Message {number}" for number in range(5)]


@pytest.mark.parametrize("store_kind", ["folder"])
def test_a_message_that_could_not_be_stored_uses_up_nothing(client, records, kept, monkeypatch):
    def failing(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as faults:
        faults.setattr(os, "fsync", failing)
        assert [write(client, f"Pendant la panne {n}").status_code for n in range(8)] == [503] * 8
    assert [write(client, f"Message {number}").status_code for number in range(6)] == [303] * 6
    assert write(client, "De trop").status_code == 429
    assert replies(kept) == [f"Message {number}" for number in range(6)]


@ON_BOTH_STORES
def test_a_refused_message_uses_up_nothing_so_the_time_given_stays_true(client, records, kept, clock):
    for number in range(6):
        assert write(client, f"Message {number}").status_code == 303
    clock.value += 600
    waits = [int(write(client, "Encore").headers["Retry-After"]) for _ in range(5)]
    assert waits == [waits[0]] * 5, "trying again never pushes the time back"
    clock.value += waits[0]
    assert write(client, "Encore").status_code == 303


@ON_BOTH_STORES
def test_thirty_messages_a_day_then_the_refusal_names_the_day(client, records, kept, clock):
    for hour in range(5):
        clock.value = START + hour * 3600 * 2  # six an hour, in hours far enough apart
        assert [write(client, f"Heure {hour}, message {n}").status_code for n in range(6)] == [303] * 6
    clock.value += 3600 * 2
    refused = write(client, "Le trente et unième")
    assert refused.status_code == 429
    text = page_text(refused)
    assert ("30 messages ont déjà été envoyés à la Région depuis ce dossier au cours des dernières 24 heures"
            in text)
    assert re.search(r"dans environ \d+ heures\)", text) and "(s)" not in text  # French plurals
    assert len(replies(kept)) == 30


def propose(kept, reference: str = REF) -> int:
    """A meeting proposed to the porteur (one slot after CLOSED_NOW); its number."""
    slots = [Slot(datetime(2021, 6, 15, 14, 30, tzinfo=PARIS), 60, "https://visio.example/ami", "Anne Houlette")]
    return meetings.propose(kept, reference, slots, by="alice", now=datetime(2021, 6, 10, 9, tzinfo=PARIS)).number


@pytest.fixture
def june(monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)


def ask_other(client, number: int, text: str, reference: str = REF):
    return client.post(link(reference, f"rencontre/{number}"), data={"choix": "autre", "disponibilites": text})


@ON_BOTH_STORES
def test_other_slots_are_asked_three_times_an_hour_then_the_request_comes_back_with_its_text(client, records,
                                                                                             kept, june):
    number = propose(kept)
    assert [ask_other(client, number, f"Les mardis, version {n}.").status_code for n in range(3)] == [303] * 3
    typed = "Les jeudis matin, à ne pas perdre."
    text = refusal(ask_other(client, number, typed), typed)  # the meeting's form shown again, though other slots were asked
    assert "D'autres créneaux ont déjà été demandés 3 fois pour ce dossier au cours de la dernière heure" in text
    assert "Rien n'est perdu : vos disponibilités sont restées ci-dessous." in text
    assert "Vous avez déjà demandé d'autres créneaux ; la Région vous en proposera." in text
    assert re.search(r"Envoyez-les à partir du \w+ \d+ \w+ 2\d{3} à \d+ h \d\d", text)
    [meeting] = meetings.meetings_of(read_history(kept, REF))
    assert meeting.request == "Les mardis, version 2." and meeting.requests_for_others == 3
    assert ask_other(client, propose(kept, "AMI-2021-0002"), "Le lundi.", "AMI-2021-0002").status_code == 303


@ON_BOTH_STORES
def test_an_other_slots_request_to_fix_uses_up_nothing(client, records, kept, june):
    number = propose(kept)
    assert all(ask_other(client, number, "").status_code == 422 for _ in range(5))
    assert [ask_other(client, number, f"Version {n}.").status_code for n in range(3)] == [303] * 3
