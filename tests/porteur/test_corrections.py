"""Corrections: each one a new durable version; the first record and earlier versions never change.

On both stores (the data folder and PostgreSQL), but for what only the data folder does
(its files, the reviewers' commands but purge), marked ON_THE_DATA_FOLDER."""

from __future__ import annotations

import csv
import email
import io
import os
import re

import pytest

from collector.dossier import all_versions, latest_record, short_hash
from collector.statuses import change_status, read_history
from tests.conftest import STORE_KINDS
from tests.support.payloads import form_hidden_fields

from .conftest import CLOSED_NOW, link, outbox, waiting_message


ON_THE_DATA_FOLDER = pytest.mark.parametrize("store_kind", ["folder"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def correction_page(client, reference="AMI-2021-0001"):
    return client.get(link(reference, "corriger"))


def send_correction(client, answers, reference="AMI-2021-0001", hidden=None):
    hidden = hidden if hidden is not None else form_hidden_fields(correction_page(client, reference).text)
    return client.post(link(reference, "corriger"), data={**answers, **hidden})


def corrected(record, **changes):
    answers = {key: value for key, value in record["answers"].items()}
    answers["rgpd"] = "oui"
    answers.update(changes)
    return answers


def test_the_correction_form_is_the_application_form_pre_filled(client, records):
    page = correction_page(client)
    assert page.status_code == 200
    assert "<h1>Corriger le dossier AMI-2021-0001</h1>" in page.text
    assert f'value="{records[0]["answers"]["raison_sociale"]}"' in page.text
    assert 'action="/candidater/recu/AMI-2021-0001/corriger?cle=' in page.text
    assert "Enregistrer mes réponses corrigées" in page.text
    # while the call is open, the dossier's deadline is the call's
    assert "Corrections possibles jusqu&#39;au vendredi 28 mai 2021 à 23 h 59." in page.text
    assert "data-closes=2021-05-28T23:59:59+02:00" in page.text


def test_a_correction_is_a_new_version_and_the_first_record_stays_as_it_was(client, records, kept):
    first_bytes = kept.record_text("AMI-2021-0001")
    reply = send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    assert reply.status_code == 303 and reply.headers["Location"].startswith(link("AMI-2021-0001") + "&avis=")
    assert reply.headers["Location"].endswith("&fait=correction")
    assert kept.record_text("AMI-2021-0001") == first_bytes
    first, second = all_versions(kept, "AMI-2021-0001")
    assert first["answers"]["projet_titre"] == records[0]["answers"]["projet_titre"]
    assert second["answers"]["projet_titre"] == "Titre corrigé" and second["version"] == 2
    assert second["received_at"] == first["received_at"] and second["corrected_at"]
    event = read_history(kept, "AMI-2021-0001")["events"][-1]
    assert (event["kind"], event["by"], event["version"]) == ("correction", "porteur", 2)
    page = client.get(reply.headers["Location"]).text
    assert "Titre corrigé" in page and "Vos réponses corrigées sont enregistrées" in page
    assert "Version 2 (la plus récente de 2)" in page and short_hash(second["content_hash"]) in page
    assert "Version 1, envoyée par le porteur." in page and "Version 2, corrigée par le porteur." in page


def test_a_correction_sends_a_new_acknowledgement_and_notifies_the_staff(client, records, kept):
    send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    assert {"AMI-2021-0001.accuse-v2.eml", "AMI-2021-0001.correction-v2.eml"} <= set(outbox(kept))
    text = waiting_message(kept, "AMI-2021-0001.accuse-v2.eml").decode("utf-8")
    assert short_hash(latest_record(kept, "AMI-2021-0001")["content_hash"]) in text


@ON_THE_DATA_FOLDER  # the reviewers' commands read the data folder
def test_exports_list_and_show_use_the_latest_version_and_say_how_many(app, client, records, data_dir):
    send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["export", "--output", "-"])
    rows = list(csv.reader(io.StringIO(exported.stdout.lstrip("\ufeff")), delimiter=";"))
    row = [line for line in rows if line[0] == "AMI-2021-0001"][0]
    assert row[rows[0].index("Version")] == "2" and row[rows[0].index("Titre du projet")] == "Titre corrigé"
    assert "Titre corrigé" in runner.invoke(args=["show", "AMI-2021-0001"]).stdout
    assert "2 versions" in runner.invoke(args=["show", "AMI-2021-0001"]).stdout
    listed = [line for line in runner.invoke(args=["list"]).stdout.splitlines() if "AMI-2021-0001" in line]
    assert listed[0].rstrip().endswith("2")


def test_identical_answers_or_the_same_post_twice_make_no_new_version(client, records, kept):
    page = correction_page(client)
    hidden = form_hidden_fields(page.text)
    answers = corrected(records[0], projet_titre="Titre corrigé")
    first = send_correction(client, answers, hidden=hidden)
    again = send_correction(client, answers, hidden=hidden)
    assert first.headers["Location"].endswith("&fait=correction")
    # The repeat leads to the same dossier; whether its mails went was decided by the first post.
    assert again.headers["Location"].endswith("&fait=correction-enregistree")
    notice = client.get(again.headers["Location"]).text
    assert "Vos réponses corrigées sont enregistrées" in notice and "accusé de réception vous est envoyé" not in notice
    unchanged = send_correction(client, answers)
    assert unchanged.headers["Location"].endswith("&fait=inchangee")
    assert len(all_versions(kept, "AMI-2021-0001")) == 2


def test_an_invalid_correction_is_refused_in_french_with_values_kept_and_nothing_stored(client, records, kept):
    reply = send_correction(client, corrected(records[0], siret="123", projet_titre="Gardé"))
    assert reply.status_code == 422
    assert "Erreur : " in reply.text and 'value="Gardé"' in reply.text
    assert len(all_versions(kept, "AMI-2021-0001")) == 1


def test_no_correction_once_a_reviewer_has_started_the_analysis(client, records, kept):
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    assert "Corriger mes réponses" not in client.get(link("AMI-2021-0001")).text
    assert correction_page(client).status_code == 403
    reply = client.post(link("AMI-2021-0001", "corriger"), data=corrected(records[0]))
    assert reply.status_code == 403 and "Les corrections en ligne ne sont plus possibles" in reply.text.replace("&#39;", "'")
    assert len(all_versions(kept, "AMI-2021-0001")) == 1


def test_a_correction_posted_once_corrections_closed_gives_the_answers_to_copy_and_the_way_back(
        client, records, kept):
    """A reviewer started the analysis while the correction form was open: nothing is stored,
    the typed answers come back to copy, and the way out leads to the dossier, not to a new form."""
    hidden = form_hidden_fields(correction_page(client).text)
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    reply = send_correction(client, corrected(records[0], projet_titre="Titre à ne pas perdre"), hidden=hidden)
    assert reply.status_code == 403 and reply.headers["Cache-Control"] == "private, no-store"
    html = reply.text.replace("&#39;", "'")
    assert '<div class="notice" id="formulaire-ferme">' in html, "form.js shows this page in place of the form"
    assert "Les corrections en ligne ne sont plus possibles" in html
    assert "Vos réponses n'ont pas été enregistrées" in html
    copied = html.split('<textarea id=reponses-a-copier readonly rows=12>', 1)[1].split("</textarea>", 1)[0]
    assert "Titre à ne pas perdre" in copied and records[0]["answers"]["raison_sociale"] in copied
    assert f'<a href="{link("AMI-2021-0001")}">Retour à mon dossier</a>'.replace("&", "&amp;") in html
    assert "ami-form" not in html and "Revenir au formulaire" not in html
    assert 'href=/candidater/ aria-current=page' not in html
    assert len(all_versions(kept, "AMI-2021-0001")) == 1
    assert not [name for name in outbox(kept) if name.startswith("AMI-2021-0001.")]


def test_the_correction_page_is_not_the_application_page(client, records):
    """No « quinze minutes » nor « avant l'envoi » for answers already sent, no « Candidater » as
    the current section, and a way back to the dossier."""
    html = correction_page(client).text.replace("&#39;", "'")
    assert "Comptez une quinzaine de minutes" not in html and "Avant l'envoi" not in html
    assert "Avant leur enregistrement, vos corrections sont gardées dans ce navigateur seulement" in html
    assert 'aria-current=page' not in html
    assert f'<a href="{link("AMI-2021-0001")}">Retour à mon dossier</a>'.replace("&", "&amp;") in html
    application = client.get("/candidater/").text.replace("&#39;", "'")
    assert "Comptez une quinzaine de minutes" in application and "Avant l'envoi" in application
    assert 'href=/candidater/ aria-current=page' in application and "Retour à mon dossier" not in application


def test_a_correction_is_dated_by_the_calls_clock(client, records, kept):
    """AMI_NOW (a preview, the tests) dates corrections as it dates everything else."""
    send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    second = all_versions(kept, "AMI-2021-0001")[-1]
    assert second["corrected_at"] == "2021-04-15T10:00:00+02:00"
    event = read_history(kept, "AMI-2021-0001")["events"][-1]
    assert event["at"] == "2021-04-15T10:00:00+02:00"
    shown = re.sub(r"<[^>]+>", "", client.get(link("AMI-2021-0001")).text)
    assert "corrigée le jeudi 15 avril 2021 à 10 h 00" in shown


def test_no_correction_after_the_deadline(client, records, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    assert "Corriger mes réponses" not in client.get(link("AMI-2021-0001")).text
    assert correction_page(client).status_code == 403


@pytest.mark.parametrize("action", ["GET", "POST"])
def test_a_wrong_key_opens_no_correction(client, records, action):
    url = link("AMI-2021-0001", "corriger")[:-2]
    reply = client.get(url) if action == "GET" else client.post(url, data=corrected(records[0]))
    assert reply.status_code == 404 and "Lien de dossier incomplet" in reply.text


@ON_THE_DATA_FOLDER  # the fault is injected in the data folder's os.link
def test_a_correction_that_cannot_be_written_is_never_confirmed(client, records, data_dir, kept, monkeypatch):
    page = correction_page(client)

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", full_disk)
    reply = send_correction(client, corrected(records[0], projet_titre="Perdu ?"), hidden=form_hidden_fields(page.text))
    assert reply.status_code == 503 and "PAS été" in reply.text
    monkeypatch.undo()
    assert len(all_versions(kept, "AMI-2021-0001")) == 1
    assert not any(name.startswith("AMI-2021-0001.accuse-v") for name in outbox(data_dir))


def test_purge_removes_the_corrected_versions_and_the_dossiers_mails_too(app, client, records, kept):
    send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    assert any(name.startswith("AMI-2021-0001.accuse-v2") for name in outbox(kept))
    assert kept.versions.numbers("AMI-2021-0001") == [2]
    result = app.test_cli_runner().invoke(args=["purge", "--today", "2030-01-01"])
    assert result.exit_code == 0, result.output
    assert kept.versions.numbers("AMI-2021-0001") == [] and not kept.has_record("AMI-2021-0001")
    assert outbox(kept) == [] and kept.outbox.known_names() == set()


def outbox_message(where, name):
    raw = waiting_message(where, name)
    return raw.split(b"\r\n", 1)[0].decode(), email.message_from_bytes(raw.split(b"\r\n", 1)[1])


def test_a_correction_that_changes_the_contact_email_tells_the_previous_address(app, client, records, kept):
    previous = records[0]["answers"]["contact_email"]
    send_correction(client, corrected(records[0], contact_email="nouvelle.contact@example.org",
                                      projet_titre="Un titre que l'ancienne adresse ne lit pas"))
    envelope, told = outbox_message(kept, "AMI-2021-0001.contact-v2.eml")
    assert envelope == f"X-AMI-Envelope-To: {previous}" and told["To"] == previous
    body = told.get_payload(decode=True).decode("utf-8")
    assert "vient d'être changée" in body and "Vous n'êtes pas à l'origine de ce changement" in body
    for person in app.config["FACTS"]["contacts"]["people"]:
        assert f"{person['name']} : {person['phone']}, {person['email']}" in body
    assert "Un titre que l'ancienne adresse ne lit pas" not in body and "cle=" not in body, "no answers, no link"
    assert "n'y répondez pas" in body
    _envelope, ack = outbox_message(kept, "AMI-2021-0001.accuse-v2.eml")
    assert ack["To"] == "nouvelle.contact@example.org"
    acknowledged = ack.get_payload(decode=True).decode("utf-8")
    assert "Un titre que l'ancienne adresse ne lit pas" not in acknowledged, "no typed text to an unconfirmed address"
    assert records[0]["answers"]["contact_nom"] not in acknowledged and "ignorez ce message" in acknowledged
    assert link("AMI-2021-0001") in acknowledged, "the answers are on the dossier page"


@pytest.mark.parametrize("change", [{"projet_titre": "Titre corrigé"}, "same address, domain in capitals"])
def test_a_correction_that_keeps_the_contact_email_tells_no_one_else(client, records, kept, change):
    if change == "same address, domain in capitals":
        local, _, domain = records[0]["answers"]["contact_email"].partition("@")
        change = {"contact_email": f"{local}@{domain.upper()}", "projet_titre": "Autre"}
    send_correction(client, corrected(records[0], **change))
    assert "AMI-2021-0001.accuse-v2.eml" in outbox(kept)
    assert not [name for name in outbox(kept) if ".contact-" in name]
