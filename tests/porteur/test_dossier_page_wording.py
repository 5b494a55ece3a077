"""Small promises of the dossier page's words: a refused text comes back whole, numbers and plurals in French."""

from __future__ import annotations

import html
import re

import pytest

from collector import appstate, create_app
from collector.mail.delivery import message_name
from collector.porteur.links import dossier_path
from collector.statuses import change_status
from collector.template_filters import minutes_fr, thousands
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record

from .conftest import CLOSED_NOW, SECRET, link, review_post
from .test_meetings import SLOTS

REF = "AMI-2021-0001"


def test_a_refused_reply_longer_than_twenty_thousand_characters_comes_back_whole(client, records):
    text = "Un projet détaillé. " * 1500 + "Fin du message."
    reply = client.post(link(REF, "repondre"), data={"message": text})
    assert reply.status_code == 422
    page = html.unescape(reply.text)
    assert f">{text}</textarea>" in page
    assert "30\u202f015 caractères ; 5\u202f000 au plus" in page


def test_an_answered_dossier_asks_une_question_once(reviewer, client, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    change_status(kept, REF, "en_instruction", by="alice")
    change_status(kept, REF, "oriente_feder", by="alice", motivation="Projet éligible au FEDER.")
    assert review_post(reviewer, REF, "reponse", motivation="Projet éligible au FEDER.").status_code == 303
    page = client.get(link(REF)).text
    assert "a répondu à votre dossier" in page
    assert page.count("Une question ?") == 1
    letter = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "la manifestation d'intérêt de la structure « Structure numéro 1 » pour le projet" in letter


def test_a_porteur_post_past_the_limit_says_how_many_minutes_in_french(data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    app = create_app({"DATA_DIR": data_dir, "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (1, 600), "SECRET_KEY": SECRET})
    try:
        assert appstate.store(app).write_record(make_record(app.config["FORM"], 1))
        client = app.test_client()
        assert client.post(link(REF, "repondre"), data={"message": "Une question ?"}).status_code == 303
        refused = client.post(link(REF, "repondre"), data={"message": "Une autre question ?"})
        assert refused.status_code == 429
        text = html.unescape(refused.text)
        assert "minute(s)" not in text
        assert re.search(r"Patientez environ [0-9]+ minutes, puis réessayez\.", text)  # the wait is over a minute
    finally:
        appstate.store(app).close()


@pytest.mark.parametrize(("count", "words"), [(0, "0 minute"), (1, "1 minute"), (2, "2 minutes"), (7, "7 minutes")])
def test_minutes_take_the_french_plural(count, words):
    assert minutes_fr(count) == words


@pytest.mark.parametrize(("number", "written"), [(5, "5"), (999, "999"), (5000, "5\u202f000"), (30012, "30\u202f012")])
def test_thousands_are_grouped_with_a_narrow_no_break_space(number, written):
    assert thousands(number) == written


def next_steps_text(page: str) -> str:
    """The words of « Et maintenant ? », tags left out."""
    part = page[page.index("<h2>Et maintenant ?</h2>"):page.index("<h2>Une question ?</h2>")]
    return html.unescape(re.sub(r"<[^>]+>", "", part))


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_et_maintenant_follows_the_dossiers_meeting(reviewer, client, records, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    assert "étudie les réponses et peut vous proposer une rencontre" in next_steps_text(client.get(link(REF)).text)
    review_post(reviewer, REF, "rencontre", **SLOTS)
    proposed = next_steps_text(client.get(link(REF)).text)
    assert "vous propose une rencontre : choisissez l'un de ses créneaux plus haut" in proposed
    assert "peut vous proposer" not in proposed
    assert client.post(link(REF, "rencontre/1"), data={"choix": "autre", "disponibilites": "Le mardi"}).status_code == 303
    assert "vous proposera d'autres créneaux de rencontre" in next_steps_text(client.get(link(REF)).text)
    assert client.post(link(REF, "rencontre/1"), data={"choix": "2"}).status_code == 303
    confirmed = next_steps_text(client.get(link(REF)).text)
    assert "votre rencontre avec elle est confirmée" in confirmed and "peut vous proposer" not in confirmed
    monkeypatch.setenv("AMI_NOW", "2021-06-20T10:00:00")  # the slot of 16 June is over
    held = next_steps_text(client.get(link(REF)).text)
    assert "ce que vous lui avez présenté lors de votre rencontre" in held and "peut vous proposer" not in held
    review_post(reviewer, REF, "rencontre/1/annuler")
    assert "peut vous proposer une rencontre" in next_steps_text(client.get(link(REF)).text)


def test_et_maintenant_asks_for_availabilities_once_every_proposed_slot_is_past(reviewer, client, records, monkeypatch):
    """As the meeting's own block does (« ses créneaux sont passés : indiquez vos disponibilités »)."""
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    review_post(reviewer, REF, "rencontre", **SLOTS)
    monkeypatch.setenv("AMI_NOW", "2021-06-20T10:00:00")  # both slots (15 and 16 June) are over, the analysis not
    text = next_steps_text(client.get(link(REF)).text)
    assert "choisissez l'un de ses créneaux" not in text
    assert "sont passés : indiquez vos disponibilités plus haut" in text


ACKNOWLEDGED = "Un accusé de réception de cet envoi, avec le lien de cette page, est envoyé par e-mail à l'adresse de contact"


def test_the_receipt_says_an_acknowledgement_is_mailed_to_the_contact_address_unless_it_was_held_back(client, records,
                                                                                                       kept):
    assert ACKNOWLEDGED in html.unescape(client.get(link(REF)).text)
    assert kept.outbox.hold_back(message_name(REF, "accuse"))  # past the address's daily cap (mail_caps.py)
    assert ACKNOWLEDGED not in html.unescape(client.get(link(REF)).text)
    assert ACKNOWLEDGED in html.unescape(client.get(link("AMI-2021-0002")).text)


def test_the_receipt_no_longer_speaks_of_the_acknowledgement_once_the_link_or_the_answers_changed(reviewer, client,
                                                                                                   records, kept):
    """The acknowledgement carried the first link to the first contact address: once a reviewer replaced the link
    (to a new contact) the page opened by the new link does not say that this link went to that address."""
    assert ACKNOWLEDGED in html.unescape(client.get(link(REF)).text)
    assert review_post(reviewer, REF, "lien", nouveau_contact="vraie.contact@example.org").status_code == 303
    page = html.unescape(client.get(dossier_path(SECRET, REF, generation=1)).text)  # the new link
    assert "Votre dossier " + REF in page
    assert "Un accusé de réception de cet envoi" not in page


def test_a_request_for_complements_no_longer_says_vous_pouvez_once_a_decision_closed_corrections(reviewer, client,
                                                                                                 records, kept,
                                                                                                 monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    change_status(kept, REF, "en_instruction", by="alice")
    assert review_post(reviewer, REF, "message", message="Merci de préciser le budget.",
                       complements_jusqu_au="2021-06-15").status_code == 303
    assert "vous pouvez corriger vos réponses jusqu'au" in html.unescape(client.get(link(REF)).text)
    change_status(kept, REF, "accompagnement_propose", by="alice")
    page = html.unescape(client.get(link(REF)).text)
    assert "vous pouvez corriger" not in page
    assert "les corrections sont closes depuis" in page
    refused = client.get(link(REF, "corriger"))
    assert refused.status_code == 403 and "la Région a pris sa décision" in html.unescape(refused.text)
