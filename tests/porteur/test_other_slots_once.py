"""« Aucun de ces créneaux ne me convient » carries the form's one-time id: a double click or a retry
stores one request, mails the Région once and leads to the same page (both stores)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

import pytest

from collector import meetings
from collector.meetings import Slot
from collector.statuses import PARIS, read_history
from tests.conftest import STORE_KINDS

from .conftest import CLOSED_NOW, link, outbox

REF = "AMI-2021-0001"


@pytest.fixture
def proposed(kept, records, monkeypatch) -> int:
    """A meeting proposed to AMI-2021-0001's porteur in June; its number."""
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    slots = [Slot(datetime(2021, 6, 15, 14, 30, tzinfo=PARIS), 60, "https://visio.example/ami", "Anne Houlette")]
    return meetings.propose(kept, REF, slots, by="alice", now=datetime(2021, 6, 10, 9, tzinfo=PARIS)).number


def meeting_form_id(client, number: int) -> str:
    """The one-time id the dossier page's form of meeting `number` holds."""
    page = client.get(link(REF)).text
    form = re.search(r'<form[^>]*action="[^"]*/rencontre/%d\?[^"]*".*?</form>' % number, page, re.S)
    assert form is not None, "the meeting's form is on the dossier page"
    found = re.search(r'name="id_envoi" value="([^"]+)"', form.group(0))
    assert found is not None, "the meeting's form holds a one-time id"
    return found.group(1)


def ask_other(client, number: int, form_id: str, text: str = "Les mardis après-midi."):
    return client.post(link(REF, f"rencontre/{number}"),
                       data={"choix": "autre", "disponibilites": text, "id_envoi": form_id})


def without_signature(location: str) -> str:
    return re.sub(r"avis=[^&#]*", "avis=…", location)


def requests_for_others(kept) -> list[str]:
    return [event["text"] for event in read_history(kept, REF)["events"] if event["kind"] == meetings.OTHER_ASKED]


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_the_same_other_slots_form_sent_twice_stores_and_mails_one_request_and_leads_to_the_same_page(
        client, kept, proposed):
    form_id = meeting_form_id(client, proposed)
    first, second = ask_other(client, proposed, form_id), ask_other(client, proposed, form_id)
    assert (first.status_code, second.status_code) == (303, 303)
    # The same page: the dossier, saying the request is passed on (its notice's signature dates it: not compared).
    assert without_signature(second.headers["Location"]) == without_signature(first.headers["Location"])
    assert "fait=autre-creneau#confirmation" in first.headers["Location"]
    assert requests_for_others(kept) == ["Les mardis après-midi."]
    assert [name for name in outbox(kept) if "autre" in name] == [f"{REF}.rencontre-{proposed}-autre.eml"]
    # Another form (a second tab opened before the first request): another request, stored and mailed as such.
    assert ask_other(client, proposed, secrets.token_urlsafe(18), "Plutôt les jeudis.").status_code == 303
    assert requests_for_others(kept) == ["Les mardis après-midi.", "Plutôt les jeudis."]
    assert len([name for name in outbox(kept) if "autre" in name]) == 2


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_other_slots_sent_again_with_the_same_form_and_another_text_are_refused_and_shown_back(
        client, kept, proposed):
    """A dossier page served again from the browser's cache, its form's id already used, other
    availabilities typed in: neither stored nor mailed, nor silently taken for the repeat."""
    form_id = meeting_form_id(client, proposed)
    assert ask_other(client, proposed, form_id).status_code == 303
    refused = ask_other(client, proposed, form_id, "Plutôt les jeudis <matin>.")
    assert refused.status_code == 409
    page = refused.text.replace("&#39;", "'")
    assert "Ce formulaire a déjà été envoyé une première fois, avec un autre contenu" in page
    assert "Plutôt les jeudis &lt;matin&gt;.</textarea>" in page
    assert requests_for_others(kept) == ["Les mardis après-midi."]
    assert [name for name in outbox(kept) if "autre" in name] == [f"{REF}.rencontre-{proposed}-autre.eml"]
    assert ask_other(client, proposed, form_id).status_code == 303, "the same text again is still the repeat"
    assert requests_for_others(kept) == ["Les mardis après-midi."]
