"""The dossier page sent back after a refused post says why, at the top and at the field, whatever the meeting's state.

A meeting choice refused on a meeting no longer open (cancelled, already confirmed) names the
reason; an unknown meeting number is a French 404; the page's title starts with « Erreur : » and
its summary, first in <main>, links to the field, which carries the message, aria-invalid and
aria-describedby (as the reply form's). On both stores where a meeting is stored."""

from __future__ import annotations

import re

import pytest

from collector.statuses import read_history
from tests.conftest import STORE_KINDS

from .conftest import CLOSED_NOW, link, review_post
from .test_meetings import SLOTS

REF = "AMI-2021-0001"
ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)


@pytest.fixture(autouse=True)
def june(app, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)


def choose(client, number, **fields):
    return client.post(link(REF, f"rencontre/{number}"), data=fields)


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1)


def summary_link(html: str) -> tuple[str, str]:
    """(href, text) of the error summary's link; the summary comes first in <main>, before the heading."""
    main = html[html.index("<main"):]
    assert main.index('class="error-summary"') < main.index("<h1>")
    box = main[main.index('class="error-summary"'):main.index("</div>", main.index('class="error-summary"'))]
    href, text = re.search(r'<a href="([^"]+)">(.*?)</a>', box, re.S).groups()
    return href, text.replace("&#39;", "'")


@ON_BOTH_STORES
def test_a_choice_on_a_cancelled_meeting_says_the_region_cancelled_it(reviewer, client, records, kept):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    review_post(reviewer, REF, "rencontre/1/annuler")
    reply = choose(client, 1, choix="1")
    assert reply.status_code == 422
    assert title(reply.text).startswith("Erreur : Votre dossier")
    href, text = summary_link(reply.text)
    assert href == "#rencontre-1" and text.startswith("Cette rencontre a été annulée par la Région")
    block = reply.text[reply.text.index('id="rencontre-1"'):]
    assert block.index('id="rencontre-1-error"') < block.index("Rencontre annulée")
    assert [e["kind"] for e in read_history(kept, REF)["events"]] == ["rencontre_proposee", "rencontre_annulee"]


@ON_BOTH_STORES
def test_a_second_choice_on_a_confirmed_meeting_says_a_slot_was_already_chosen(reviewer, client, records, kept):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    assert choose(client, 1, choix="1").status_code == 303
    reply = choose(client, 1, choix="2")
    assert reply.status_code == 422
    href, text = summary_link(reply.text)
    assert href == "#rencontre-1" and "Vous avez déjà choisi un créneau pour cette rencontre" in text
    assert [e["kind"] for e in read_history(kept, REF)["events"]][-1] == "rencontre_acceptee"
    assert [e.get("slot") for e in read_history(kept, REF)["events"]][-1] == 0


@pytest.mark.parametrize("number", ["0", "3", "99999999999999999999999"])
def test_an_unknown_meeting_number_is_a_french_404(reviewer, client, records, kept, number):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    reply = choose(client, number, choix="1")
    assert reply.status_code == 404
    assert "Cette rencontre n'existe pas dans votre dossier" in reply.text.replace("&#39;", "'")
    assert "Retour à mon dossier" in reply.text
    assert [e["kind"] for e in read_history(kept, REF)["events"]] == ["rencontre_proposee"]


def test_a_missing_slot_is_said_at_the_radios_with_aria_invalid_and_described_by(reviewer, client, records):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    reply = choose(client, 1)
    assert reply.status_code == 422 and title(reply.text).startswith("Erreur : ")
    assert summary_link(reply.text) == ("#creneau-1", "Choisissez l'un des créneaux proposés.")
    assert '<fieldset class="field-error" aria-describedby="creneau-1-error">' in reply.text
    assert re.search(r'<span class="error-message" id="creneau-1-error">.*Choisissez l', reply.text)
    assert reply.text.count('name="choix"') == reply.text.count('aria-invalid="true"') == 3


def test_availabilities_too_long_are_said_at_the_field_and_come_back_whole(reviewer, client, records):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    text = "Les mardis. " * 200
    reply = choose(client, 1, choix="autre", disponibilites=text)
    assert reply.status_code == 422
    assert summary_link(reply.text)[0] == "#autre-1"
    assert 'aria-describedby="autre-1-hint autre-1-error" aria-invalid="true"' in reply.text
    assert 'id="autre-1-error"' in reply.text and f">{text.strip()}" in reply.text


def test_a_refused_reply_titles_the_page_erreur_and_links_the_summary_to_the_field(client, records):
    reply = client.post(link(REF, "repondre"), data={"message": ""})
    assert reply.status_code == 422 and title(reply.text).startswith("Erreur : Votre dossier")
    assert summary_link(reply.text) == ("#message", "Votre message est vide : écrivez votre message.")
    assert reply.text.count('class="error-summary"') == 1


def ticked(html: str) -> list[str]:
    """The values of the meeting form's radios that come ticked."""
    return re.findall(r'<input type="radio" name="choix" value="([^"]+)"[^>]* checked', html)


@ON_BOTH_STORES
def test_autre_sent_without_availabilities_comes_back_ticked_so_that_the_availabilities_alone_need_fixing(
        reviewer, client, records, kept):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    reply = choose(client, 1, choix="autre", disponibilites="  \n ")
    assert reply.status_code == 422
    assert summary_link(reply.text) == ("#autre-1", "Vos disponibilités : à remplir.")
    assert ticked(reply.text) == ["autre"]
    assert 'id="autre-1-error"' in reply.text
    assert re.search(r'<textarea id="autre-1" [^>]*aria-invalid="true">', reply.text)
    again = choose(client, 1, choix=ticked(reply.text)[0], disponibilites="Les mardis après-midi.")
    assert again.status_code == 303
    assert [e["kind"] for e in read_history(kept, REF)["events"]] == ["rencontre_proposee", "rencontre_autre_creneau"]


def test_a_page_without_a_refused_choice_ticks_nothing_while_slots_are_open(reviewer, client, records):
    review_post(reviewer, REF, "rencontre", **SLOTS)
    assert ticked(client.get(link(REF)).text) == []
    assert ticked(choose(client, 1, choix="9").text) == []  # no such slot: nothing to tick
