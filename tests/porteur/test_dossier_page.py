"""The dossier page: the receipt's signed link opens what the porteur sent and where it stands
(on both stores)."""

from __future__ import annotations

import re

import pytest

from collector.dossier import short_hash
from collector.mail.delivery import MailSettings, compose_acknowledgement
from collector.statuses import add_note, change_status
from tests.conftest import STORE_KINDS

from .conftest import SECRET, link


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


NOTICE = re.compile(r'<p class="?success"? id="?confirmation"? role="?status"? tabindex="?-1"?>')  # the one-time notice after a post


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_the_dossier_shows_every_answer_with_its_label_the_version_and_the_hash(client, records, form):
    record = records[0]
    page = client.get(link(record["reference"]))
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store" and page.headers["X-Robots-Tag"] == "noindex"
    text = text_of(page.text)
    assert "Votre dossier AMI-2021-0001" in text
    assert "Version 1 — empreinte " + short_hash(record["content_hash"]) in text
    for field in form.fields:
        if record["answers"].get(field.name) not in (None, "", []):
            assert field.label.replace("'", "'") in text.replace("&#39;", "'"), field.name
    assert record["answers"]["projet_titre"] in text


def test_the_dossier_shows_the_contact_address_and_how_to_correct_it(client, records):
    text = text_of(client.get(link("AMI-2021-0002")).text)
    assert f"Les e-mails de la Région sur ce dossier sont envoyés à {records[1]['answers']['contact_email']}" in text
    assert "Ce n'est pas la bonne adresse ?" in text


def test_the_status_is_said_in_the_porteurs_words_and_internal_notes_never_show(client, records, kept):
    assert "Où en est votre dossier : reçu " in text_of(client.get(link("AMI-2021-0001")).text)
    change_status(kept, "AMI-2021-0001", "en_instruction", by="bernard.instructeur", note="Avis réservé")
    add_note(kept, "AMI-2021-0001", "Note interne à ne pas montrer", by="bernard.instructeur")
    html = client.get(link("AMI-2021-0001")).text
    assert "Où en est votre dossier : en cours d'analyse " in text_of(html)
    for secret in ("bernard.instructeur", "Avis réservé", "Note interne", "en instruction", "en_instruction"):
        assert secret not in html


@pytest.mark.parametrize("mangle", [
    lambda url: url[:-3],  # truncated key
    lambda url: url[:-1] + ("A" if url[-1] != "A" else "B"),  # one character changed
    lambda url: url.split("?")[0],  # no key
    lambda url: url.replace("AMI-2021-0001", "AMI-2021-0002"),  # another dossier's reference
    lambda url: url.replace("AMI-2021-0001", "AMI-2021-0099"),  # no such dossier
    lambda url: url.replace("cle=", "cle=é"),  # not ASCII
])
def test_a_wrong_or_truncated_key_is_a_404_that_says_what_to_do(client, records, mangle):
    page = client.get(mangle(link("AMI-2021-0001")))
    assert page.status_code == 404
    assert "Lien de dossier incomplet" in page.text and "demandez qu'il vous soit envoyé à nouveau" in text_of(page.text)
    assert 'href="/candidater/dossier-perdu/"' in page.text
    assert records[0]["answers"]["raison_sociale"] not in page.text


def test_the_acknowledgement_mail_carries_the_dossier_link(client, records, form, app):
    settings = MailSettings(public_url="https://ami.example", dossier_secret=SECRET)
    body = compose_acknowledgement(records[0], app.config["FACTS"], form, settings).get_payload(decode=True).decode()
    url = re.search(r"https://ami\.example(/candidater/recu/\S+)", body).group(1)
    assert url == link("AMI-2021-0001")
    assert client.get(url).status_code == 200


def test_after_sending_the_form_the_porteur_lands_on_the_dossier(client, form):
    from tests.collector.conftest import fresh_hidden
    from tests.support.payloads import valid_answers

    reply = client.post("/candidater/", data={**valid_answers(form), **fresh_hidden(client)})
    assert reply.status_code == 303 and reply.headers["Location"] == link("AMI-2021-0001")
    assert "Votre dossier AMI-2021-0001" in client.get(reply.headers["Location"]).text


def next_steps_of(html: str) -> str:
    """The text of « Et maintenant ? », up to the next heading."""
    return text_of(html.split("Et maintenant ?</h2>")[1].split("<h2")[0])


def test_before_the_analysis_the_page_announces_the_analysis_and_the_answer(client, records):
    steps = next_steps_of(client.get(link("AMI-2021-0001")).text)  # 15 April
    assert "Analyse des retours et échanges juin 2021" in steps and "début juillet 2021" in steps


def test_once_a_step_is_over_the_page_no_longer_announces_it_nor_a_past_date(client, records, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-09-15T10:00:00")
    steps = next_steps_of(client.get(link("AMI-2021-0001")).text)
    assert "juin 2021" not in steps and "juillet" not in steps
    assert "n'a pas encore répondu à votre dossier : vous recevrez sa réponse par e-mail" in steps


def test_once_the_answer_is_sent_the_page_no_longer_promises_one(reviewer, client, records, kept, monkeypatch):
    from .conftest import review_post

    monkeypatch.setenv("AMI_NOW", "2021-07-02T10:00:00")
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    change_status(kept, "AMI-2021-0001", "oriente_feder", by="alice")
    assert review_post(reviewer, "AMI-2021-0001", "reponse", motivation="Projet éligible au FEDER.").status_code == 303
    page = client.get(link("AMI-2021-0001")).text
    assert "La réponse de la Région" in page
    assert "vous recevrez" not in next_steps_of(page) and "a répondu à votre dossier" in next_steps_of(page)


def test_a_notice_after_a_post_shows_once_never_from_an_old_bookmark_or_a_hand_made_address(client, records):
    import time

    from collector.porteur.views import NOTICE_MAX_AGE, notice_signer

    said = "Votre message est enregistré et transmis à la Région."
    sent = client.post(link("AMI-2021-0001", "repondre"), data={"message": "Une question ?"})
    shown = client.get(sent.headers["Location"]).text
    assert NOTICE.search(shown) and said in shown.replace("&#39;", "'")
    signer = notice_signer(SECRET, "AMI-2021-0001")
    signer.get_timestamp = lambda: int(time.time()) - NOTICE_MAX_AGE - 60  # signed eleven minutes ago
    stamp = signer.sign("message").decode()[len("message."):]
    bookmarked = client.get(link("AMI-2021-0001") + f"&avis={stamp}&fait=message").text
    assert "Votre dossier AMI-2021-0001" in bookmarked and said not in bookmarked.replace("&#39;", "'")
    for hand_made in ("&fait=message", "&fait=sans-accuse", "&avis=x&fait=correction"):
        page = client.get(link("AMI-2021-0001") + hand_made).text
        assert "Votre dossier AMI-2021-0001" in page and not NOTICE.search(page), hand_made


def test_a_held_back_acknowledgement_notice_is_shown_only_while_the_outbox_holds_it_back(app, client, records):
    from collector.porteur.views import done_query

    with app.test_request_context():
        query = done_query("AMI-2021-0001", "sans-accuse")
    page = client.get(link("AMI-2021-0001") + query).text
    assert not NOTICE.search(page), "this dossier's acknowledgement was never held back"


def test_the_page_gives_the_clean_address_to_keep_and_warns_against_favourites_on_shared_computers(client, records):
    sent = client.post(link("AMI-2021-0001", "repondre"), data={"message": "Une question ?"})
    page = client.get(sent.headers["Location"]).text
    address = re.search(r'class="?dossier-address"?[^>]*>([^<]+)<', page).group(1).replace("&amp;", "&")
    assert address == "http://127.0.0.1:8000" + link("AMI-2021-0001"), "the address to keep carries no notice"
    words = text_of(page)
    assert "Sur un ordinateur partagé" in words and "ne l'enregistrez pas dans les favoris" in words
    assert "enregistrez son adresse dans vos favoris" not in words
