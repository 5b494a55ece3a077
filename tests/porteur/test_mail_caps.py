"""A dossier's link cannot turn the Région's sender into a relay: contact changes and porteur mails are capped.

At most two contact changes per dossier within a day (the next correction changing it is
refused, 429, answers kept, nothing stored), and at most five mails of porteur actions per
recipient within a day, every kind together (the next is not queued, its event stays).
On both stores: the caps count in the store's shared limiter (on PostgreSQL, every host's).
"""

from __future__ import annotations

import glob
import logging
import os
import re

import pytest

from collector.mail import delivery, lifecycle
from collector.dossier import latest_record
from collector.mail.catch_up import catch_up
from collector.porteur.mail_caps import MAILS_PER_ADDRESS_PER_DAY
from tests.conftest import STORE_KINDS

from tests.support.payloads import form_hidden_fields, valid_answers

from .conftest import outbox, review_post
from .test_corrections import corrected, outbox_message, send_correction
from .test_lost_link import ON_THE_DATA_FOLDER, PAGE, handle_waiting, page_fields


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param

VICTIM = "victime@example.net"


def mails_to(where, address):
    return [name for name in outbox(where) if outbox_message(where, name)[0] == f"X-AMI-Envelope-To: {address}"]


def test_a_third_contact_change_within_a_day_is_refused_with_the_answers_kept_and_nothing_stored(client, records,
                                                                                                  kept):
    for number in (1, 2):
        assert send_correction(client, corrected(records[0], contact_email=f"nouvelle{number}@example.org")).status_code == 303
    before = sorted(outbox(kept))
    refused = send_correction(client, corrected(records[0], contact_email="troisieme@example.org",
                                                projet_titre="Un titre à ne pas perdre"))
    assert refused.status_code == 429
    assert "déjà été changée 2 fois au cours des dernières 24 heures" in refused.text
    assert "Rien n&#39;a été enregistré" in refused.text
    assert 'value="troisieme@example.org"' in refused.text and 'value="Un titre à ne pas perdre"' in refused.text
    assert latest_record(kept, "AMI-2021-0001")["version"] == 3
    assert latest_record(kept, "AMI-2021-0001")["answers"]["contact_email"] == "nouvelle2@example.org"
    assert sorted(outbox(kept)) == before, "nothing queued"


def test_corrections_keeping_the_contact_and_other_dossiers_are_not_held_back(client, records, kept):
    for number in (1, 2):
        send_correction(client, corrected(records[0], contact_email=f"nouvelle{number}@example.org"))
    kept_contact = send_correction(client, corrected(records[0], contact_email="nouvelle2@EXAMPLE.ORG",
                                                     projet_titre="Autre"))
    assert kept_contact.status_code == 303 and latest_record(kept, "AMI-2021-0001")["version"] == 4
    other = send_correction(client, corrected(records[1], contact_email="ailleurs@example.org"), "AMI-2021-0002")
    assert other.status_code == 303


def test_corrections_cannot_relay_a_text_to_address_after_address(client, records, kept):
    replies = [send_correction(client, corrected(records[0], contact_email=f"victime{n}@example.net",
                                                 description=f"Cliquez ici https://phishing.example/{n} pour …"))
               .status_code for n in range(6)]
    assert replies == [303, 303] + [429] * 4
    acknowledged = [name for name in outbox(kept) if ".accuse-v" in name]
    assert [outbox_message(kept, name)[0] for name in acknowledged] == [
        "X-AMI-Envelope-To: victime0@example.net", "X-AMI-Envelope-To: victime1@example.net"]


def test_an_address_gets_at_most_five_mails_of_porteur_actions_a_day_every_kind_together(
        app, client, records, kept, caplog):
    caplog.set_level(logging.INFO)
    for record in records:  # three acknowledgements to the victim, each dossier's first change
        assert send_correction(client, corrected(record, contact_email=VICTIM), record["reference"]).status_code == 303
    for title in ("Titre 2", "Titre 3"):  # two more: five
        send_correction(client, corrected(records[0], contact_email=VICTIM, projet_titre=title))
    assert len(mails_to(kept, VICTIM)) == MAILS_PER_ADDRESS_PER_DAY
    sixth = send_correction(client, corrected(records[1], contact_email=VICTIM, projet_titre="Titre 2"),
                            "AMI-2021-0002")
    assert sixth.status_code == 303 and latest_record(kept, "AMI-2021-0002")["version"] == 3, "still stored"
    assert "AMI-2021-0002.accuse-v3.eml" not in outbox(kept)
    assert "AMI-2021-0002.correction-v3.eml" in outbox(kept), "the Région is still told"
    assert client.post(PAGE, data={"contact_email": VICTIM}).status_code == 200
    assert handle_waiting(app, kept) == 0, "a lost link counts too"
    with app.app_context():
        catch_up(kept, app.config["FACTS"], app.config["FORM"], lifecycle.settings())
    assert len(mails_to(kept, VICTIM)) == MAILS_PER_ADDRESS_PER_DAY, "the catch-up never sends a held mail"
    assert "accuse-v3 of AMI-2021-0002 not queued" in caplog.text
    assert VICTIM not in caplog.text, "no address in the logs"
    assert_no_address_in_the_counts(kept, b"victime")


def test_the_owner_is_told_the_contact_moved_even_when_others_filled_the_addresss_cap(app, client, records, kept):
    """Whoever holds a leaked link first spends the owner's five mails of the day (lost-link
    requests, dossiers naming the address), then moves the contact: the owner is told all the same."""
    owner = records[0]["answers"]["contact_email"]
    for record in records[1:]:  # two acknowledgements to the owner's address
        assert send_correction(client, corrected(record, contact_email=owner), record["reference"]).status_code == 303
    for _ in range(3):  # three lost-link mails: five
        assert client.post(PAGE, data={"contact_email": owner}).status_code == 200
        handle_waiting(app, kept)
    before = mails_to(kept, owner)
    assert len(before) == MAILS_PER_ADDRESS_PER_DAY
    assert send_correction(client, corrected(records[0], contact_email="pirate@example.net")).status_code == 303
    assert set(mails_to(kept, owner)) - set(before) == {"AMI-2021-0001.contact-v2.eml"}
    assert send_correction(client, corrected(records[0], contact_email="autre@example.net",
                                             projet_titre="Titre 2")).status_code == 303
    assert "AMI-2021-0001.accuse-v2.eml" in outbox(kept) and len(mails_to(kept, "pirate@example.net")) == 2


def assert_no_address_in_the_counts(kept, text: bytes) -> None:
    """The caps' counts hold keyed hashes, never an address: in the data folder's files or in PostgreSQL."""
    if kept.kind == "postgresql":
        with kept._connection() as connection:
            rows = connection.execute("SELECT limiter, client FROM rate_hits").fetchall()
        assert rows and not [row for row in rows if text.decode() in row[1]]
        return
    for path in glob.glob(os.path.join(kept.data_dir, "state", "ratelimit-*")):
        with open(path, "rb") as handle:
            assert text not in handle.read(), f"no address in clear in {path}"


@ON_THE_DATA_FOLDER
def test_the_regions_own_mails_are_never_held_back(reviewer, client, records, data_dir):
    for title in ("A", "B", "C", "D", "E", "F"):
        send_correction(client, corrected(records[0], projet_titre=title))
    address = records[0]["answers"]["contact_email"]
    assert len(mails_to(data_dir, address)) == MAILS_PER_ADDRESS_PER_DAY
    assert review_post(reviewer, "AMI-2021-0001", "message", message="Pouvez-vous préciser ?").status_code == 303
    assert [name for name in mails_to(data_dir, address) if ".message-" in name], "queued, over the cap"


@ON_THE_DATA_FOLDER  # the outbox's files
def test_a_correction_whose_acknowledgement_the_cap_held_back_says_so_and_promises_no_mail(client, records,
                                                                                         data_dir):
    for title in ("A", "B", "C", "D", "E"):
        reply = send_correction(client, corrected(records[0], projet_titre=title))
        assert reply.headers["Location"].endswith("&fait=correction")
        notice = client.get(reply.headers["Location"]).text
        assert "Un nouvel accusé de réception vous est envoyé par e-mail." in notice
    sixth = send_correction(client, corrected(records[0], projet_titre="F"))
    assert sixth.status_code == 303 and sixth.headers["Location"].endswith("&fait=correction-sans-accuse")
    page = client.get(sixth.headers["Location"]).text
    assert "Un nouvel accusé de réception vous est envoyé" not in page
    assert "Vos réponses corrigées sont enregistrées : c&#39;est la version affichée ci-dessous." in page
    assert ("Aucun accusé de réception ne vous sera envoyé pour cette correction : votre adresse de contact a déjà "
            "reçu 5 e-mails de ce site au cours des dernières 24 heures (envois de dossiers, corrections ou demandes "
            "de lien), le maximum,") in page, "the cap is a sliding 24 hours, not a calendar day"
    assert "imprimez-la si vous voulez en garder une trace" in page
    assert "AMI-2021-0001.accuse-v7.eml" not in outbox(data_dir)
    assert latest_record(data_dir, "AMI-2021-0001")["version"] == 7, "the correction is stored"


@ON_THE_DATA_FOLDER  # the outbox's files
def test_a_new_dossier_is_always_stored_but_its_acknowledgement_counts_and_is_held_back_past_the_cap(
        app, form, data_dir, caplog):
    """The form would otherwise mail the typed address as often as the form's post limit allows."""
    def apply(title: str):
        browser = app.test_client()  # a browser each, as separate porteurs
        hidden = form_hidden_fields(browser.get("/candidater/").text)
        return browser, browser.post("/candidater/", data={**valid_answers(form), "contact_email": VICTIM,
                                                          "projet_titre": title, **hidden})

    for number in range(MAILS_PER_ADDRESS_PER_DAY):
        _browser, reply = apply(f"Projet {number}")
        assert reply.status_code == 303 and "fait=" not in reply.headers["Location"]
    browser, sixth = apply("Projet de trop")
    assert sixth.status_code == 303 and sixth.headers["Location"].endswith("&fait=sans-accuse")
    receipt = browser.get(sixth.headers["Location"])
    assert receipt.status_code == 200 and "AMI-2021-0006" in receipt.text, "stored, and its receipt shown"
    assert ("Votre dossier est bien enregistré, mais aucun accusé de réception n&#39;a été envoyé par e-mail pour ce "
            "dossier : lors de son envoi, l&#39;adresse de contact indiquée avait déjà reçu 5 e-mails de ce site au "
            "cours des dernières 24 heures") in receipt.text, "still true when the bookmarked page is opened later"
    assert "aujourd&#39;hui" not in receipt.text.split("<main", 1)[1]
    assert ("Gardez donc l&#39;adresse de cette page, donnée ci-dessous (imprimez la page, ou notez son adresse ; sur "
            "un ordinateur partagé, ne l&#39;enregistrez pas dans les favoris).") in receipt.text
    with app.app_context():  # the mailer takes the records up, then catches up, as often as it likes
        for _ in range(2):
            delivery.reconcile(data_dir, app.config["FACTS"], app.config["FORM"], lifecycle.settings())
            catch_up(data_dir, app.config["FACTS"], app.config["FORM"], lifecycle.settings())
    assert len(mails_to(data_dir, VICTIM)) == MAILS_PER_ADDRESS_PER_DAY
    assert "AMI-2021-0006.accuse.eml" not in outbox(data_dir), "never sent later"
    assert "AMI-2021-0006.notification.eml" in outbox(data_dir), "the Région is still told"
    assert "accuse of AMI-2021-0006 not queued" in caplog.text and VICTIM not in caplog.text
    assert app.test_client().post(PAGE, data={"contact_email": VICTIM}).status_code == 200
    assert handle_waiting(app, data_dir) == 0, "the address had its five mails of the day"
def unstamped(url: str) -> str:
    """A receipt's URL without its notice's time stamp (`avis`, signed anew at each answer)."""
    return re.sub(r"&avis=[^&#]*", "", url)


@ON_THE_DATA_FOLDER  # PostgreSQL's outbox cannot hold a mail back yet (Outbox.hold_back)
def test_a_held_back_dossier_posted_again_still_says_that_no_acknowledgement_comes(app, form, data_dir):
    """A double click, a browser's retry or the same answers sent again lead to the same receipt,
    and the porteur must not wait for a mail that will never come."""
    for number in range(MAILS_PER_ADDRESS_PER_DAY):
        browser = app.test_client()
        hidden = form_hidden_fields(browser.get("/candidater/").text)
        browser.post("/candidater/", data={**valid_answers(form), "contact_email": VICTIM,
                                          "projet_titre": f"Projet {number}", **hidden})
    browser = app.test_client()
    answers = {**valid_answers(form), "contact_email": VICTIM, "projet_titre": "Projet de trop"}
    hidden = form_hidden_fields(browser.get("/candidater/").text)
    first = browser.post("/candidater/", data={**answers, **hidden})
    assert first.headers["Location"].endswith("&fait=sans-accuse")
    again = browser.post("/candidater/", data={**answers, **hidden})  # the same submission id
    assert again.status_code == 303 and unstamped(again.headers["Location"]) == unstamped(first.headers["Location"])
    resent = browser.post("/candidater/", data={**answers, **form_hidden_fields(browser.get("/candidater/").text)})
    assert unstamped(resent.headers["Location"]) == unstamped(first.headers["Location"]), \
        "the same answers from the same browser"
    as_json = browser.post("/candidater/", json={**answers, **hidden})
    assert as_json.status_code == 200 and as_json.get_json()["acknowledged"] is False
    assert unstamped(as_json.get_json()["confirmation_url"]) == unstamped(first.headers["Location"])
    other = app.test_client()
    sent = other.post("/candidater/", json={**valid_answers(form),
                                            **form_hidden_fields(other.get("/candidater/").text)})
    assert sent.status_code == 201 and sent.get_json()["acknowledged"] is True


@ON_THE_DATA_FOLDER
def test_on_the_data_folder_the_limits_keep_their_files_so_a_running_server_keeps_its_counts(app, client, records,
                                                                                             data_dir):
    assert send_correction(client, corrected(records[0], contact_email=VICTIM)).status_code == 303
    assert client.post(PAGE, data={"contact_email": VICTIM, **page_fields(client)}).status_code == 200  # from the page
    handle_waiting(app, data_dir)
    assert sorted(name for name in os.listdir(os.path.join(data_dir, "state")) if name.startswith("ratelimit-") and name.endswith(".sqlite3")) == [
        "ratelimit-changements-contact.sqlite3", "ratelimit-courriels-adresse.sqlite3", "ratelimit-envoi-reseau.sqlite3",
        "ratelimit-lien-adresse.sqlite3", "ratelimit-lien-client.sqlite3",
        "ratelimit-lien-jeton.sqlite3",  # the page token's one-time claim
        "ratelimit-lien-reseau.sqlite3"]
