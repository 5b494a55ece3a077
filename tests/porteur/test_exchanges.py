"""Exchanges: a reviewer writes (maybe asking for complements), the porteur answers on the dossier page.

Every test reads and writes through the app's store (`kept`); those marked ON_BOTH_STORES run on
PostgreSQL in the default run too, the others under `pytest --store=postgres|both`."""

from __future__ import annotations

import email
import email.header

import pytest

from collector.dossier import all_versions
from collector.statuses import add_note, change_status, read_history
from tests.conftest import STORE_KINDS
from tests.support.payloads import form_hidden_fields

from .conftest import CLOSED_NOW, link, outbox, review_post, waiting_message


ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)


def write(reviewer, reference="AMI-2021-0001", **fields):
    return review_post(reviewer, reference, "message", **fields)


def queued(kept, name):
    return email.message_from_bytes(waiting_message(kept, name))


def subject(message) -> str:
    """A message's subject, decoded (the wire's encoded words read back)."""
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


@ON_BOTH_STORES
def test_a_reviewers_message_is_stored_mailed_with_the_link_and_shown_to_the_porteur(reviewer, client, records, kept):
    reply = write(reviewer, message="Pouvez-vous préciser le budget ?\nMerci.")
    assert reply.status_code == 303
    event = read_history(kept, "AMI-2021-0001")["events"][-1]
    assert (event["kind"], event["by"], event["text"]) == ("message", "alice", "Pouvez-vous préciser le budget ?\nMerci.")
    message = email.message_from_bytes(waiting_message(kept, "AMI-2021-0001.message-1.eml"))
    assert message["To"] == records[0]["answers"]["contact_email"] and message["Reply-To"] is None
    body = message.get_payload(decode=True).decode()
    assert "http://127.0.0.1:8000" + link("AMI-2021-0001") in body and "n'y répondez pas" in body
    page = client.get(link("AMI-2021-0001")).text
    assert "Pouvez-vous préciser le budget ?<br>Merci." in page and "alice" not in page
    assert "Répondre à la Région" in page


@ON_BOTH_STORES
def test_the_message_command_writes_to_the_porteur(app, records, kept):
    result = app.test_cli_runner().invoke(args=["message", "AMI-2021-0002", "Bonjour", "--by", "bernard"])
    assert result.exit_code == 0, result.output
    assert read_history(kept, "AMI-2021-0002")["events"][-1]["text"] == "Bonjour"
    assert "AMI-2021-0002.message-1.eml" in outbox(kept)
    refused = app.test_cli_runner().invoke(args=["message", "AMI-2021-0002", "  "])
    assert refused.exit_code == 1 and "Le message est vide" in refused.output


@pytest.mark.parametrize("until", ["20/06/2021", "2021-06-20", " 20/6/2021 "])
def test_the_message_command_takes_the_complements_date_as_french_people_write_it_or_iso(app, records, kept,
                                                                                         until):
    result = app.test_cli_runner().invoke(args=["message", "AMI-2021-0002", "Complétez", "--until", until])
    assert result.exit_code == 0, result.output
    assert read_history(kept, "AMI-2021-0002")["events"][-1]["complements_until"] == "2021-06-20"


@pytest.mark.parametrize("until", ["31/06/2021", "20-06-2021", "juin"])
def test_an_unreadable_complements_date_is_refused_naming_the_formats_accepted(app, records, kept, until):
    result = app.test_cli_runner().invoke(args=["message", "AMI-2021-0002", "Complétez", "--until", until])
    assert result.exit_code == 1 and "jj/mm/aaaa (par exemple 10/05/2021) ou aaaa-mm-jj" in result.output
    assert kept.histories.read("AMI-2021-0002") is None


def test_a_request_for_complements_reopens_corrections_after_the_deadline(reviewer, client, records, kept,
                                                                           monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    assert client.get(link("AMI-2021-0001", "corriger")).status_code == 403
    write(reviewer, message="Merci de compléter la description.", complements_jusqu_au="2021-06-20")
    page = client.get(link("AMI-2021-0001")).text
    assert "Compléments demandés" in page and "Corriger mes réponses" in page
    form = client.get(link("AMI-2021-0001", "corriger"))
    assert form.status_code == 200
    # the page gives the dossier's own deadline, and the browser keeps the draft until then
    assert "Corrections possibles jusqu'au dimanche 20 juin 2021 à 23 h 59." in form.text.replace("&#39;", "'")
    assert "data-closes=2021-06-20T23:59:59+02:00" in form.text
    assert "Date limite" not in form.text
    answers = {**records[0]["answers"], "rgpd": "oui", "description": "Une description complétée, plus précise."}
    reply = client.post(link("AMI-2021-0001", "corriger"), data={**answers, **form_hidden_fields(form.text)})
    assert reply.status_code == 303
    assert all_versions(kept, "AMI-2021-0001")[-1]["answers"]["description"].startswith("Une description")
    assert "vous pouvez corriger vos réponses jusqu'au dimanche 20 juin" in page.replace("&#39;", "'")
    monkeypatch.setenv("AMI_NOW", "2021-06-21T00:00:01")
    assert client.get(link("AMI-2021-0001", "corriger")).status_code == 403
    past = client.get(link("AMI-2021-0001")).text.replace("&#39;", "'")  # the thread, once the date is past
    assert "vous pouviez corriger vos réponses jusqu'au dimanche 20 juin" in past and "vous pouvez corriger" not in past


@pytest.mark.parametrize(("fields", "message"), [
    ({"message": ""}, "Le message est vide"),
    ({"message": "x" * 5001}, "5\u202f000 au plus"),
    ({"message": "Bonjour", "complements_jusqu_au": "2021-04-01"}, "La date des compléments est passée"),
    ({"message": "Bonjour", "complements_jusqu_au": "demain"}, "Date des compléments illisible"),
])
def test_a_refused_message_says_why_keeps_the_text_and_stores_nothing(reviewer, records, kept, fields, message):
    reply = write(reviewer, **fields)
    assert reply.status_code == 400 and message in reply.text.replace("&#39;", "'")
    assert reply.text.count(message) >= 1 and "Erreur : " in reply.text
    if fields["message"] == "Bonjour":
        assert ">Bonjour</textarea>" in reply.text
    assert kept.histories.text("AMI-2021-0001") is None
    assert outbox(kept) == []


def test_a_message_without_the_csrf_token_is_refused(reviewer, records, kept):
    reply = reviewer.post("/instruction/AMI-2021-0001/message", data={"message": "Bonjour"})
    assert reply.status_code == 403
    assert outbox(kept) == []


def test_the_porteur_answers_on_the_dossier_page_and_the_staff_is_notified(reviewer, client, records, kept):
    write(reviewer, message="Une question ?")
    reply = client.post(link("AMI-2021-0001", "repondre"), data={"message": "Voici la réponse."})
    assert reply.status_code == 303 and reply.headers["Location"].endswith("&fait=message#confirmation")
    event = read_history(kept, "AMI-2021-0001")["events"][-1]
    assert (event["kind"], event["by"], event["text"]) == ("reponse_porteur", "porteur", "Voici la réponse.")
    notice = queued(kept, "AMI-2021-0001.reponse-porteur-2.eml")
    assert notice["To"] == "amenagement.numerique@normandie.fr"
    assert "Voici la réponse." in notice.get_payload(decode=True).decode()
    thread = reviewer.get("/instruction/AMI-2021-0001").text
    assert thread.index("Une question ?") < thread.index("Voici la réponse.")


def test_an_answer_pasted_from_a_word_processor_keeps_its_line_breaks(reviewer, client, records, kept):
    write(reviewer, message="Une question ?")
    pasted = "Premier point.\x0bSecond point.\x0cAutre page.\u2028Fin."
    assert client.post(link("AMI-2021-0001", "repondre"), data={"message": pasted}).status_code == 303
    event = read_history(kept, "AMI-2021-0001")["events"][-1]
    assert event["text"] == "Premier point.\nSecond point.\n\nAutre page.\nFin."
    refused = client.post(link("AMI-2021-0001", "repondre"), data={"message": "Bonjour\x07 la Région"})
    assert refused.status_code == 422 and "(U+0007) après « Bonjour »" in refused.text


@pytest.mark.parametrize(("text", "message"), [("", "Votre message est vide"), ("y" * 5001, "5\u202f000 au plus")])
def test_a_refused_answer_is_shown_on_the_dossier_page_with_the_text_kept(reviewer, client, records, kept,
                                                                          text, message):
    write(reviewer, message="Une question ?")
    reply = client.post(link("AMI-2021-0001", "repondre"), data={"message": text})
    assert reply.status_code == 422 and message in reply.text and 'aria-invalid="true"' in reply.text
    assert f">{text}</textarea>" in reply.text
    assert [e["kind"] for e in read_history(kept, "AMI-2021-0001")["events"]] == ["message"]


@ON_BOTH_STORES
def test_the_porteur_writes_to_the_region_from_the_page_before_the_region_wrote(client, records, kept):
    """Every mail says « write to the Région from your dossier page »: the page offers it from « reçu » on."""
    page = client.get(link("AMI-2021-0001")).text
    assert "Écrire à la Région" in page and link("AMI-2021-0001", "repondre") in page.replace("&amp;", "&")
    assert client.post(link("AMI-2021-0001", "repondre"), data={"message": "Une question ?"}).status_code == 303
    assert [event["kind"] for event in read_history(kept, "AMI-2021-0001")["events"]] == ["reponse_porteur"]
    assert "AMI-2021-0001.reponse-porteur-1.eml" in outbox(kept)


@ON_BOTH_STORES
def test_the_porteur_cannot_write_with_a_wrong_key(client, records, kept):
    assert client.post(link("AMI-2021-0001", "repondre")[:-2], data={"message": "Bonjour"}).status_code == 404
    assert kept.histories.text("AMI-2021-0001") is None


def test_internal_notes_never_reach_the_porteur(reviewer, client, records, kept):
    add_note(kept, "AMI-2021-0001", "Avis interne défavorable", by="alice")
    write(reviewer, message="Une question ?")
    page = client.get(link("AMI-2021-0001")).text
    assert "Avis interne" not in page and "alice" not in page
    assert not any("Avis interne" in queued(kept, name).get_payload(decode=True).decode()
                   for name in outbox(kept))


@ON_BOTH_STORES
def test_the_regions_notice_says_whether_the_porteur_writes_first_writes_again_or_answers(app, reviewer, client,
                                                                                         records, kept):
    """The Région's notice is titled by what the porteur's message is: an answer only when the
    Région wrote last; and the catch-up, composing a lost notice again, words it the same way."""
    for text in ["Une question sur l'AMI ?", "J'ajoute une précision."]:
        assert client.post(link("AMI-2021-0001", "repondre"), data={"message": text}).status_code == 303
    assert write(reviewer, message="Voici notre réponse.").status_code == 303
    assert client.post(link("AMI-2021-0001", "repondre"), data={"message": "Merci !"}).status_code == 303
    first, again, answer = (queued(kept, f"AMI-2021-0001.reponse-porteur-{number}.eml") for number in (1, 2, 4))
    organisation = records[0]["answers"]["raison_sociale"]
    assert subject(first) == f"Nouveau message du porteur — dossier AMI-2021-0001 — {organisation}"
    assert subject(again) == subject(first)
    assert subject(answer) == f"Réponse du porteur — dossier AMI-2021-0001 — {organisation}"

    def body(message):
        return " ".join(message.get_payload(decode=True).decode().split())

    assert "écrit à la Région pour la première fois" in body(first) and "Une question sur l'AMI ?" in body(first)
    assert "écrit de nouveau à la Région sur sa page de dossier, après son propre message du jeudi 15 avril 2021" \
           in body(again)
    assert ("a répondu sur sa page de dossier au message de la Région du jeudi 15 avril 2021 à 10 h 00"
            in body(answer))
    with app.app_context():
        from collector import appstate
        from collector.mail import catch_up, lifecycle

        composed = {kinds[0]: compose() for kinds, compose in catch_up.wanted_mails(
            kept, "AMI-2021-0001", appstate.facts(), appstate.form(), lifecycle.settings())}
    subjects = {kind: subject(mail.message) for kind, mails in composed.items() if kind.startswith("reponse-porteur")
                for mail in mails}
    assert subjects == {"reponse-porteur-1": subject(first), "reponse-porteur-2": subject(again),
                        "reponse-porteur-4": subject(answer)}
