"""Revoking one dossier's link: the links sent so far stop opening it (the same answer as a wrong
key), the new link goes to the contact, or to the address a reviewer restores, and the previous
address is told, without a link. From the detail page
and with `revoke-link` (both stores)."""

from __future__ import annotations

import email
import os
import re

import pytest

from collector import appstate, mail, mail_catch_up, porteur_mail
from collector.dossier import latest_record, version_numbers
from collector.link_requests import handle_requests
from collector.porteur.links import dossier_path
from collector.statuses import add_note, read_history
from tests.conftest import STORE_KINDS
from tests.support.payloads import form_hidden_fields

from .conftest import SECRET, link, outbox, review_post, waiting_message
from .test_corrections import corrected
from .test_mail_catch_up import outbox_writes_failing

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
REFERENCE = "AMI-2021-0001"
PUBLIC = "http://127.0.0.1:8000"


def revoke(app, *options: str):
    return app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice", *options])


def queued(where, kind: str) -> email.message.Message:
    raw = waiting_message(where, mail.message_name(REFERENCE, kind))
    return email.message_from_bytes(raw.partition(b"\n")[2])


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def current_link(generation: int, action: str = "") -> str:
    return dossier_path(SECRET, REFERENCE, action, generation)


def break_history(data_dir: str) -> None:
    """Make the dossier's history unreadable, as a hand edit gone wrong would."""
    add_note(data_dir, REFERENCE, "Une note.", by="alice")
    with open(os.path.join(data_dir, "reviews", REFERENCE + ".yaml"), "a", encoding="utf-8") as handle:
        handle.write("events: [\n")


@ON_BOTH_STORES
def test_a_revoked_link_gets_the_same_page_as_a_wrong_key_and_the_new_one_opens_the_dossier(app, client, records):
    assert client.get(link(REFERENCE)).status_code == 200, "a dossier never revoked keeps its first link"
    wrong = client.get(f"/candidater/recu/{REFERENCE}?cle=QV8AWCFBcmvdRUTvlnEVj7IRAVI")
    assert revoke(app).exit_code == 0
    revoked = client.get(link(REFERENCE))
    assert revoked.status_code == wrong.status_code == 404
    assert revoked.text == wrong.text, "a revoked link tells nothing a wrong key does not"
    assert "remplacé par un nouveau lien" in revoked.text and "/candidater/dossier-perdu/" in revoked.text
    assert "Contacts de l'AMI" in revoked.text
    assert client.get(link(REFERENCE, "corriger")).status_code == 404
    assert client.post(link(REFERENCE, "repondre"), data={"message": "Bonjour"}).status_code == 404
    assert client.get(current_link(1)).status_code == 200
    assert client.get(link("AMI-2021-0002")).status_code == 200, "only that dossier's link is revoked"


@ON_BOTH_STORES
def test_each_revocation_is_in_the_history_and_replaces_the_link_before(app, client, records, kept):
    assert revoke(app).exit_code == 0
    assert revoke(app).exit_code == 0
    events = read_history(kept, REFERENCE)["events"]
    assert [(event["kind"], event["by"], event["version"]) for event in events] == [("lien_revoque", "alice", 1)] * 2
    assert client.get(current_link(1)).status_code == 404
    assert client.get(current_link(2)).status_code == 200


@ON_BOTH_STORES
def test_the_command_mails_the_new_link_to_the_current_contact(app, client, records, kept):
    result = revoke(app)
    assert result.exit_code == 0, result.output
    contact = records[0]["answers"]["contact_email"]
    assert f"Le nouveau lien part par e-mail à {contact}" in result.output
    message = queued(kept, "lien-remplace-1")
    assert message["To"] == contact
    body = body_of(message)
    assert PUBLIC + current_link(1) in body and PUBLIC + link(REFERENCE) not in body
    assert "L'ancien lien ne permet plus d'ouvrir le dossier" in body
    assert [name for name in outbox(kept) if "ancien-contact" in name] == [], "no previous contact to tell"


@ON_BOTH_STORES
def test_restoring_the_contact_makes_a_version_mails_the_new_link_there_and_tells_the_previous_address(
        app, client, records, kept):
    hijacker = records[0]["answers"]["contact_email"]
    result = revoke(app, "--contact", "vraie.contact@example.org")
    assert result.exit_code == 0, result.output
    latest = latest_record(kept, REFERENCE)
    assert latest["answers"]["contact_email"] == "vraie.contact@example.org"
    assert latest["version"] == 2 and latest["contact_set_by"] == "alice"
    assert {key: value for key, value in latest["answers"].items() if key != "contact_email"} == \
        {key: value for key, value in records[0]["answers"].items() if key != "contact_email"}
    [event] = read_history(kept, REFERENCE)["events"]
    assert (event["kind"], event["version"], event["previous_version"]) == ("lien_revoque", 2, 1)
    new = queued(kept, "lien-remplace-1")
    assert new["To"] == "vraie.contact@example.org" and PUBLIC + current_link(1) in body_of(new)
    former = queued(kept, "lien-remplace-1-ancien-contact")
    assert former["To"] == hijacker
    assert "ne permet plus d'ouvrir ce dossier" in body_of(former)
    assert "/candidater/recu/" not in body_of(former) and "cle=" not in body_of(former), "no link at all"
    names = outbox(kept)
    assert not [name for name in names if ".accuse-v2" in name or ".contact-v2" in name], \
        "a contact a reviewer restored is no correction by the porteur"


@ON_BOTH_STORES
def test_a_malformed_address_is_refused_in_french_and_nothing_is_stored(app, client, records, kept):
    before = outbox(kept)
    result = revoke(app, "--contact", "Jean <jean@example.org>")
    assert result.exit_code == 1 and "Saisissez une seule adresse e-mail" in result.output
    assert read_history(kept, REFERENCE)["events"] == [] and version_numbers(kept, REFERENCE) == []
    assert outbox(kept) == before
    assert client.get(link(REFERENCE)).status_code == 200, "the link still works"
    unknown = app.test_cli_runner().invoke(args=["revoke-link", "AMI-2021-0099"])
    assert unknown.exit_code == 1 and "Aucune candidature ne porte la référence AMI-2021-0099" in unknown.output


@ON_BOTH_STORES
def test_mails_composed_after_a_revocation_carry_the_new_link(app, reviewer, client, records, kept):
    assert revoke(app).exit_code == 0
    assert app.test_cli_runner().invoke(args=["message", REFERENCE, "Une question.", "--by", "alice"]).exit_code == 0
    body = body_of(queued(kept, "message-2"))
    assert PUBLIC + current_link(1) in body and PUBLIC + link(REFERENCE) not in body
    page = client.get(current_link(1)).text
    assert current_link(1, "repondre").replace("&", "&amp;") in page, "the dossier page's own links are current"


def test_the_lost_link_mail_carries_the_current_link(app, client, records, data_dir):
    assert revoke(app).exit_code == 0
    client.post("/candidater/dossier-perdu/", data={"contact_email": records[0]["answers"]["contact_email"]})
    with app.app_context():
        assert handle_requests(data_dir, app.config["FACTS"], porteur_mail.settings()) == 1
    [name] = [name for name in outbox(data_dir) if ".lien-" in name and "remplace" not in name]
    body = body_of(email.message_from_bytes(waiting_message(data_dir, name).partition(b"\n")[2]))
    assert PUBLIC + current_link(1) in body and PUBLIC + link(REFERENCE) not in body


def test_a_correction_after_a_revocation_leads_back_with_the_current_link(app, client, records, data_dir):
    assert revoke(app).exit_code == 0
    page = client.get(current_link(1, "corriger"))
    assert page.status_code == 200
    assert f'action="{current_link(1, "corriger")}"' in page.text, "the form posts to the current link"
    reply = client.post(current_link(1, "corriger"), data={**corrected(records[0], projet_titre="Titre corrigé"),
                                                            **form_hidden_fields(page.text)})
    assert reply.status_code == 303 and reply.headers["Location"].startswith(current_link(1))


@ON_BOTH_STORES
def test_a_reviewer_revokes_from_the_detail_page_with_the_session_and_its_token(app, reviewer, client, records,
                                                                              data_dir):
    page = reviewer.get(f"/instruction/{REFERENCE}").text
    assert "Révoquer le lien et envoyer le nouveau" in page
    forged = reviewer.post(f"/instruction/{REFERENCE}/lien", data={"csrf_token": "faux"})
    assert forged.status_code in (400, 403)
    anonymous = app.test_client().post(f"/instruction/{REFERENCE}/lien")
    assert anonymous.status_code in (302, 303, 400, 403)
    assert read_history(appstate.store(app), REFERENCE)["events"] == [], "nothing stored without session and token"
    reply = review_post(reviewer, REFERENCE, "lien", nouveau_contact="vraie.contact@example.org")
    assert reply.status_code == 303 and reply.headers["Location"].endswith("#lien")
    done = reviewer.get(reply.headers["Location"]).text
    assert "révoqué" in done and "vraie.contact@example.org" in done
    assert "adresse de contact changée par alice" in done
    assert "lien du dossier révoqué, nouveau lien envoyé à une nouvelle adresse de contact (version 2)" in done
    assert client.get(link(REFERENCE)).status_code == 404 and client.get(current_link(1)).status_code == 200


@ON_BOTH_STORES
def test_the_detail_page_refuses_a_malformed_address_in_french_with_the_value_kept(app, reviewer, client, records,
                                                                                  data_dir):
    reply = review_post(reviewer, REFERENCE, "lien", nouveau_contact="pas-une-adresse")
    assert reply.status_code == 400
    assert "Erreur : Saisissez une adresse e-mail valide" in reply.text and 'value="pas-une-adresse"' in reply.text
    assert read_history(appstate.store(app), REFERENCE)["events"] == []
    assert client.get(link(REFERENCE)).status_code == 200


def test_the_mails_of_a_revocation_lost_before_queueing_are_caught_up_from_the_history(app, records, data_dir):
    with outbox_writes_failing(data_dir):
        assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    assert outbox(data_dir) == [] or not [name for name in outbox(data_dir) if "lien-remplace" in name]
    with app.app_context():
        queued_names = mail_catch_up.catch_up(data_dir, app.config["FACTS"], app.config["FORM"],
                                              porteur_mail.settings())
    assert sorted(queued_names) == [f"{REFERENCE}.lien-remplace-1-ancien-contact.eml", f"{REFERENCE}.lien-remplace-1.eml"]
    assert PUBLIC + current_link(1) in body_of(queued(data_dir, "lien-remplace-1"))


def test_only_the_latest_revocations_new_link_is_caught_up(app, records, data_dir):
    with outbox_writes_failing(data_dir):
        assert revoke(app).exit_code == 0
    assert revoke(app).exit_code == 0
    with app.app_context():
        names = mail_catch_up.catch_up(data_dir, app.config["FACTS"], app.config["FORM"], porteur_mail.settings())
    assert names == [], "the first link was revoked again: its mail would carry a dead link"


def test_an_unreadable_history_opens_no_link(app, client, records, data_dir):
    break_history(data_dir)
    assert client.get(link(REFERENCE)).status_code == 404, "which key is current cannot be told"


def test_an_acknowledgement_composed_after_a_revocation_carries_the_new_link(app, records):
    assert revoke(app).exit_code == 0
    with app.app_context():
        message = mail.compose_acknowledgement(records[0], app.config["FACTS"], app.config["FORM"],
                                               porteur_mail.settings())
    body = body_of(message)
    assert PUBLIC + current_link(1) in body and PUBLIC + link(REFERENCE) not in body


def test_a_lost_link_mail_for_a_dossier_whose_history_cannot_be_read_gives_no_link_but_whom_to_ask(
        app, client, records, data_dir):
    break_history(data_dir)
    client.post("/candidater/dossier-perdu/", data={"contact_email": records[0]["answers"]["contact_email"]})
    with app.app_context():
        assert handle_requests(data_dir, app.config["FACTS"], porteur_mail.settings()) == 1
    [name] = [name for name in outbox(data_dir) if ".lien-" in name]
    body = body_of(email.message_from_bytes(waiting_message(data_dir, name).partition(b"\n")[2]))
    assert "cle=" not in body and "écrivez aux contacts ci-dessous en citant cette référence" in body


def test_sending_the_first_submission_again_after_a_revocation_gives_back_no_working_link(app, client, form):
    from tests.support.payloads import encode_form, valid_answers

    hidden = form_hidden_fields(client.get("/candidater/").text)

    def send():
        return client.post("/candidater/", data=encode_form(valid_answers(form), hidden),
                           content_type="application/x-www-form-urlencoded")

    first = send()
    assert first.status_code == 303 and client.get(first.headers["Location"]).status_code == 200
    reference = first.headers["Location"].split("/")[-1].split("?")[0]
    assert app.test_cli_runner().invoke(args=["revoke-link", reference, "--by", "alice"]).exit_code == 0
    again = send()
    assert again.status_code == 303, "the same receipt, as for any repeat"
    assert client.get(again.headers["Location"]).status_code == 404, "a replayed page never hands out the new link"


@pytest.mark.parametrize(("by", "message"), [("  ", "Indiquez qui révoque ce lien."),
                                             ("a" * 101, "100 caractères au plus"),
                                             ("alice\x1b[2J", "Nom de la personne qui révoque")])
def test_who_revokes_is_required_and_kept_as_names_are(app, client, records, data_dir, by, message):
    result = app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", by])
    assert result.exit_code == 1 and message in result.output
    assert read_history(data_dir, REFERENCE)["events"] == [] and client.get(link(REFERENCE)).status_code == 200


def test_a_name_of_exactly_a_hundred_characters_is_kept(app, records, data_dir):
    result = app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "a" * 100])
    assert result.exit_code == 0, result.output
    assert read_history(data_dir, REFERENCE)["events"][-1]["by"] == "a" * 100


def test_giving_the_current_contact_revokes_without_a_new_version_nor_a_notice(app, records, data_dir):
    contact = records[0]["answers"]["contact_email"]
    assert revoke(app, "--contact", contact).exit_code == 0
    [event] = read_history(data_dir, REFERENCE)["events"]
    assert "previous_version" not in event and version_numbers(data_dir, REFERENCE) == []
    assert queued(data_dir, "lien-remplace-1")["To"] == contact
    assert not [name for name in outbox(data_dir) if "ancien-contact" in name]


def test_the_current_contact_with_its_domain_in_capitals_is_the_same_mailbox_no_new_version(app, records, data_dir):
    contact = records[0]["answers"]["contact_email"]
    local, domain = contact.split("@")
    assert revoke(app, "--contact", f"{local}@{domain.upper()}").exit_code == 0
    [event] = read_history(data_dir, REFERENCE)["events"]
    assert "previous_version" not in event and version_numbers(data_dir, REFERENCE) == []
    assert not [name for name in outbox(data_dir) if "ancien-contact" in name]


def test_only_revocations_count_in_the_generation_whatever_else_the_history_holds(app, client, records, data_dir):
    page = client.get(link(REFERENCE, "corriger"))
    assert client.post(link(REFERENCE, "corriger"), data={**corrected(records[0], projet_titre="Titre corrigé"),
                                                           **form_hidden_fields(page.text)}).status_code == 303
    add_note(data_dir, REFERENCE, "Une note.", by="alice")
    assert revoke(app).exit_code == 0
    assert client.get(current_link(1)).status_code == 200


def test_show_says_who_changed_the_contact_of_the_newest_version(app, records, data_dir):
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    shown = app.test_cli_runner().invoke(args=["show", REFERENCE])
    assert shown.exit_code == 0, shown.output
    assert "Version 2 (adresse de contact changée par alice le " in shown.output
    assert "vraie.contact@example.org" in shown.output


@pytest.mark.parametrize("address", ["aaa@example.org", "zzz@example.org"])  # before and after contact1@ in order
def test_any_other_address_becomes_the_contact(app, records, data_dir, address):
    assert revoke(app, "--contact", address).exit_code == 0
    assert latest_record(data_dir, REFERENCE)["answers"]["contact_email"] == address
    assert queued(data_dir, "lien-remplace-1")["To"] == address


def test_a_revocation_is_dated_by_the_calls_clock(app, records, data_dir):
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    [event] = read_history(data_dir, REFERENCE)["events"]
    assert event["at"] == "2021-04-15T10:00:00+02:00" == latest_record(data_dir, REFERENCE)["corrected_at"]


def test_an_unreadable_history_refuses_the_revocation_before_any_version_is_written(app, records, data_dir):
    break_history(data_dir)
    result = revoke(app, "--contact", "vraie.contact@example.org")
    assert result.exit_code == 1 and "Historique illisible" in result.output
    assert version_numbers(data_dir, REFERENCE) == [] and outbox(data_dir) == []


@ON_BOTH_STORES
def test_a_contact_restored_by_the_region_is_listed_and_worded_as_the_regions_version(app, client, records, kept):
    correction_form = client.get(link("AMI-2021-0001", "corriger"))
    answers = corrected(records[0], projet_titre="Titre corrigé")
    assert client.post(link("AMI-2021-0001", "corriger"),
                       data={**answers, **form_hidden_fields(correction_form.text)}).status_code == 303
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    page = client.get(current_link(1)).text
    words = " ".join(page.replace("&#39;", "'").split())
    assert "Version 3 (la plus récente de 3), adresse de contact remplacée par la Région Normandie le" in \
        " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Version 2, corrigée par le porteur." in words
    assert "Version 3, adresse de contact remplacée par la Région Normandie (les autres réponses sont celles de " \
           "la version 2)." in words
    assert "alice" not in page
