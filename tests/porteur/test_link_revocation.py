"""Revoking one dossier's link: the links sent so far stop opening it (the same answer as a wrong
key), the new link goes to the contact, or to the address a reviewer restores, and the previous
address is told, without a link. From the detail page
and with `revoke-link` (both stores)."""

from __future__ import annotations

import dataclasses
import email
import email.header
import re

import pytest

from collector import appstate
from collector.mail import catch_up as mail_catch_up, delivery, lifecycle
from collector.dossier import latest_record, version_numbers
from collector.link_requests import handle_requests
from collector.porteur.links import dossier_path
from collector.statuses import add_note, read_history
from tests.conftest import STORE_KINDS
from tests.support.payloads import form_hidden_fields
from tests.support.stores import break_history

from .conftest import SECRET, link, outbox, review_post, waiting_message
from .test_corrections import corrected
from .test_lifecycle_mails_on_stores import outbox_refusing  # noqa: F401 (a fixture)

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
REFERENCE = "AMI-2021-0001"
PUBLIC = "http://127.0.0.1:8000"


def revoke(app, *options: str):
    return app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "alice", *options])


def queued(where, kind: str) -> email.message.Message:
    raw = waiting_message(where, delivery.message_name(REFERENCE, kind))
    return email.message_from_bytes(raw.partition(b"\n")[2])


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def current_link(generation: int, action: str = "") -> str:
    return dossier_path(SECRET, REFERENCE, action, generation)


def make_history_unreadable(kept) -> None:
    """The dossier's history holds a note, then becomes unreadable, as a hand edit gone wrong would."""
    add_note(kept, REFERENCE, "Une note.", by="alice")
    break_history(kept, REFERENCE)


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
def test_the_page_opened_by_the_new_link_says_when_the_link_was_replaced(app, client, records):
    assert "a été remplacé" not in client.get(link(REFERENCE)).text, "never revoked: nothing to say"
    assert revoke(app).exit_code == 0
    page = client.get(current_link(1)).text
    assert ("Le lien de ce dossier a été remplacé le <time datetime=\"2021-04-15T10:00:00+02:00\">jeudi 15 avril "
            "2021 à 10 h 00</time> : les liens reçus avant cette date n'ouvrent plus le dossier.") in page


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
def test_the_region_is_told_who_revoked_the_link_and_when_without_any_link(app, records, kept):
    hijacker = records[0]["answers"]["contact_email"]
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    notice = queued(kept, "lien-remplace-1-region")
    region = app.config["FACTS"]["contacts"]["notification_email"]
    assert notice["To"] == region
    assert waiting_message(kept, delivery.message_name(REFERENCE, "lien-remplace-1-region")).startswith(
        delivery.envelope_line(region)), "the envelope goes to the Région's address"
    subject = str(email.header.make_header(email.header.decode_header(notice["Subject"])))
    assert subject.startswith(f"Lien du dossier {REFERENCE} révoqué")
    body = body_of(notice)
    assert f"Le lien du dossier {REFERENCE} a été révoqué le jeudi 15 avril 2021 à 10 h 00 par alice." in body
    assert "nouveau lien est parti par e-mail à vraie.contact@example.org" in body
    assert f"l'ancienne ({hijacker}) est prévenue" in body
    assert "http" not in body and "cle=" not in body, "no link of any kind"
    assert revoke(app).exit_code == 0, "a revocation that keeps the contact is told too"
    again = body_of(queued(kept, "lien-remplace-2-region"))
    assert "par alice" in again and "l'ancienne" not in again


def delivered(app, kept) -> dict[str, tuple[list[str], str]]:
    """Send what waits in the store's outbox to a real SMTP server on loopback, as the mailer does;
    {subject: (recipients, text)} of what arrived."""
    from tests.review.smtp import smtp_server

    with smtp_server() as inbox, app.app_context():
        report = kept.outbox.deliver(dataclasses.replace(lifecycle.settings(), host="127.0.0.1", port=inbox.port))
        assert not report.error and report.sent and not report.failed, report
        arrived = inbox.wait_for(len(report.sent))
    return {str(item.message["Subject"]): (item.recipients, item.message.get_body(("plain",)).get_content())
            for item in arrived}


def ask_the_porteur(app) -> None:
    result = app.test_cli_runner().invoke(args=["message", REFERENCE, "Pouvez-vous préciser le budget ?",
                                                "--by", "alice"])
    assert result.exit_code == 0, result.output


@ON_BOTH_STORES
def test_a_mail_still_waiting_when_the_link_is_revoked_goes_with_the_new_link(app, client, records, kept):
    ask_the_porteur(app)  # queued with the first link, not sent yet
    assert PUBLIC + link(REFERENCE) in body_of(queued(kept, "message-1"))
    assert revoke(app).exit_code == 0
    [(recipients, text)] = [sent for subject, sent in delivered(app, kept).items() if subject.startswith("Message")]
    assert recipients == [records[0]["answers"]["contact_email"]]
    assert PUBLIC + current_link(1) in text and PUBLIC + link(REFERENCE) not in text
    assert client.get(current_link(1)).status_code == 200, "the link it carries opens the dossier"


@ON_BOTH_STORES
def test_a_mail_waiting_for_a_contact_the_revocation_replaced_goes_without_any_link(app, records, kept):
    hijacker = records[0]["answers"]["contact_email"]
    ask_the_porteur(app)
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    [(recipients, text)] = [sent for subject, sent in delivered(app, kept).items() if subject.startswith("Message")]
    assert recipients == [hijacker]
    assert "/candidater/recu/" not in text and "cle=" not in text, "neither the old link nor the new one"
    assert "lien retiré : ce dossier a reçu un nouveau lien, envoyé à son adresse de contact" in text
    assert "Pouvez-vous préciser le budget ?" in text


@ON_BOTH_STORES
def test_a_lost_link_mail_listing_several_dossiers_makes_each_link_current_on_its_own(app, client, records, kept):
    from .test_corrections import send_correction

    address = records[0]["answers"]["contact_email"]
    assert send_correction(client, corrected(records[1], contact_email=address), "AMI-2021-0002").status_code == 303
    assert client.post("/candidater/dossier-perdu/", data={"contact_email": address}).status_code == 200
    with app.app_context():
        assert handle_requests(kept, app.config["FACTS"], lifecycle.settings()) == 1
    assert app.test_cli_runner().invoke(args=["revoke-link", "AMI-2021-0002", "--by", "alice"]).exit_code == 0
    [(recipients, text)] = [sent for subject, sent in delivered(app, kept).items()
                            if subject.startswith("Liens de vos dossiers")]
    assert recipients == [address]
    assert PUBLIC + link(REFERENCE) in text, "a dossier never revoked keeps its link"
    assert PUBLIC + dossier_path(SECRET, "AMI-2021-0002", generation=1) in text
    assert PUBLIC + link("AMI-2021-0002") not in text


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


def test_the_lost_link_mail_carries_the_current_link(app, client, records, kept):
    assert revoke(app).exit_code == 0
    client.post("/candidater/dossier-perdu/", data={"contact_email": records[0]["answers"]["contact_email"]})
    with app.app_context():
        assert handle_requests(kept, app.config["FACTS"], lifecycle.settings()) == 1
    [name] = [name for name in outbox(kept) if ".lien-" in name and "remplace" not in name]
    body = body_of(email.message_from_bytes(waiting_message(kept, name).partition(b"\n")[2]))
    assert PUBLIC + current_link(1) in body and PUBLIC + link(REFERENCE) not in body


def test_a_correction_after_a_revocation_leads_back_with_the_current_link(app, client, records):
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
    assert reply.status_code == 303 and reply.headers["Location"].endswith("#confirmation")
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


def test_the_mails_of_a_revocation_lost_before_queueing_are_caught_up_from_the_history(app, records, kept,
                                                                                       outbox_refusing):
    with outbox_refusing():
        assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    assert outbox(kept) == [] or not [name for name in outbox(kept) if "lien-remplace" in name]
    with app.app_context():
        queued_names = mail_catch_up.catch_up(kept, app.config["FACTS"], app.config["FORM"],
                                              lifecycle.settings())
    assert sorted(queued_names) == [f"{REFERENCE}.lien-remplace-1-ancien-contact.eml",
                                    f"{REFERENCE}.lien-remplace-1-region.eml", f"{REFERENCE}.lien-remplace-1.eml"]
    assert PUBLIC + current_link(1) in body_of(queued(kept, "lien-remplace-1"))


def test_only_the_latest_revocations_new_link_is_caught_up(app, records, kept, outbox_refusing):
    with outbox_refusing():
        assert revoke(app).exit_code == 0
    assert revoke(app).exit_code == 0
    with app.app_context():
        names = mail_catch_up.catch_up(kept, app.config["FACTS"], app.config["FORM"], lifecycle.settings())
    assert names == [f"{REFERENCE}.lien-remplace-1-region.eml"], \
        "the first link was revoked again: its mail would carry a dead link; the Région's notice still goes"


def test_an_unreadable_history_opens_no_link(app, client, records, kept):
    make_history_unreadable(kept)
    assert client.get(link(REFERENCE)).status_code == 404, "which key is current cannot be told"


def test_an_acknowledgement_composed_after_a_revocation_carries_the_new_link(app, records):
    assert revoke(app).exit_code == 0
    with app.app_context():
        message = delivery.compose_acknowledgement(records[0], app.config["FACTS"], app.config["FORM"],
                                                   lifecycle.settings())
    body = body_of(message)
    assert PUBLIC + current_link(1) in body and PUBLIC + link(REFERENCE) not in body


def test_a_lost_link_mail_for_a_dossier_whose_history_cannot_be_read_gives_no_link_but_whom_to_ask(
        app, client, records, kept):
    make_history_unreadable(kept)
    client.post("/candidater/dossier-perdu/", data={"contact_email": records[0]["answers"]["contact_email"]})
    with app.app_context():
        assert handle_requests(kept, app.config["FACTS"], lifecycle.settings()) == 1
    [name] = [name for name in outbox(kept) if ".lien-" in name]
    body = body_of(email.message_from_bytes(waiting_message(kept, name).partition(b"\n")[2]))
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
def test_who_revokes_is_required_and_kept_as_names_are(app, client, records, kept, by, message):
    result = app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", by])
    assert result.exit_code == 1 and message in result.output
    assert read_history(kept, REFERENCE)["events"] == [] and client.get(link(REFERENCE)).status_code == 200


def test_a_name_of_exactly_a_hundred_characters_is_kept(app, records, kept):
    result = app.test_cli_runner().invoke(args=["revoke-link", REFERENCE, "--by", "a" * 100])
    assert result.exit_code == 0, result.output
    assert read_history(kept, REFERENCE)["events"][-1]["by"] == "a" * 100


def test_giving_the_current_contact_revokes_without_a_new_version_nor_a_notice(app, records, kept):
    contact = records[0]["answers"]["contact_email"]
    assert revoke(app, "--contact", contact).exit_code == 0
    [event] = read_history(kept, REFERENCE)["events"]
    assert "previous_version" not in event and version_numbers(kept, REFERENCE) == []
    assert queued(kept, "lien-remplace-1")["To"] == contact
    assert not [name for name in outbox(kept) if "ancien-contact" in name]


def test_the_current_contact_with_its_domain_in_capitals_is_the_same_mailbox_no_new_version(app, records, kept):
    contact = records[0]["answers"]["contact_email"]
    local, domain = contact.split("@")
    assert revoke(app, "--contact", f"{local}@{domain.upper()}").exit_code == 0
    [event] = read_history(kept, REFERENCE)["events"]
    assert "previous_version" not in event and version_numbers(kept, REFERENCE) == []
    assert not [name for name in outbox(kept) if "ancien-contact" in name]


def test_the_current_contact_with_its_local_part_in_another_case_is_the_same_mailbox_no_new_version(
        app, records, kept):
    """`Contact@` and `contact@` reach one mailbox at every provider in common use: neither a version
    nor a notice telling that mailbox its link went elsewhere; the new link goes to the contact as stored."""
    contact = records[0]["answers"]["contact_email"]
    local, domain = contact.split("@")
    result = revoke(app, "--contact", f"{local.upper()}@{domain}")
    assert result.exit_code == 0, result.output
    [event] = read_history(kept, REFERENCE)["events"]
    assert "previous_version" not in event and version_numbers(kept, REFERENCE) == []
    assert queued(kept, "lien-remplace-1")["To"] == contact
    assert not [name for name in outbox(kept) if "ancien-contact" in name]
    assert f"Le nouveau lien part par e-mail à {contact}." in result.output


@ON_BOTH_STORES
@pytest.mark.parametrize(("typed", "code", "shown"), [("vraie\x07.contact@example.org", "U+0007", "vraie.contact@example.org"),
                                                       ("vraie\x1b[2J@example.org", "U+001B", "vraie[2J@example.org"),
                                                       ("vraie@exa\u200bmple.org", "U+200B", "vraie@example.org")])
def test_a_control_character_in_the_new_contact_is_named_and_never_shown_back(app, reviewer, client, records,
                                                                               typed, code, shown):
    reply = review_post(reviewer, REFERENCE, "lien", nouveau_contact=typed)
    assert reply.status_code == 400
    assert f"L&#39;adresse contient un caractère de contrôle ou invisible ({code})" in reply.text
    assert f'value="{shown}"' in reply.text and typed not in reply.text
    assert chr(int(code[2:], 16)) not in reply.text, "the character itself never comes back"
    assert read_history(appstate.store(app), REFERENCE)["events"] == []
    command = revoke(app, "--contact", typed)
    assert command.exit_code == 1 and f"caractère de contrôle ou invisible ({code})" in command.output
    assert client.get(link(REFERENCE)).status_code == 200, "nothing revoked"


def test_only_revocations_count_in_the_generation_whatever_else_the_history_holds(app, client, records, kept):
    page = client.get(link(REFERENCE, "corriger"))
    assert client.post(link(REFERENCE, "corriger"), data={**corrected(records[0], projet_titre="Titre corrigé"),
                                                           **form_hidden_fields(page.text)}).status_code == 303
    add_note(kept, REFERENCE, "Une note.", by="alice")
    assert revoke(app).exit_code == 0
    assert client.get(current_link(1)).status_code == 200


def test_show_says_who_changed_the_contact_of_the_newest_version(app, records):
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    shown = app.test_cli_runner().invoke(args=["show", REFERENCE])
    assert shown.exit_code == 0, shown.output
    assert "Version 2 (adresse de contact changée par alice le " in shown.output
    assert "vraie.contact@example.org" in shown.output


@pytest.mark.parametrize("address", ["aaa@example.org", "zzz@example.org"])  # before and after contact1@ in order
def test_any_other_address_becomes_the_contact(app, records, kept, address):
    assert revoke(app, "--contact", address).exit_code == 0
    assert latest_record(kept, REFERENCE)["answers"]["contact_email"] == address
    assert queued(kept, "lien-remplace-1")["To"] == address


def test_a_revocation_is_dated_by_the_calls_clock(app, records, kept):
    assert revoke(app, "--contact", "vraie.contact@example.org").exit_code == 0
    [event] = read_history(kept, REFERENCE)["events"]
    assert event["at"] == "2021-04-15T10:00:00+02:00" == latest_record(kept, REFERENCE)["corrected_at"]


def test_an_unreadable_history_refuses_the_revocation_before_any_version_is_written(app, records, kept):
    make_history_unreadable(kept)
    result = revoke(app, "--contact", "vraie.contact@example.org")
    assert result.exit_code == 1 and "Historique illisible" in result.output
    assert version_numbers(kept, REFERENCE) == [] and outbox(kept) == []


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
