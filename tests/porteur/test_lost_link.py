"""« Lien de dossier perdu »: the same answer for every address, the links only to the address itself."""

from __future__ import annotations

import email
import os
import re

from .conftest import link, outbox

PAGE = "/candidater/dossier-perdu/"


def ask(client, address: str, **headers):
    return client.post(PAGE, data={"contact_email": address}, headers=headers)


def answer_text(html: str) -> str:
    return re.search(r'<main.*?</main>', html, re.S).group(0)


def test_a_known_and_an_unknown_address_get_the_same_answer(client, records):
    known = ask(client, records[0]["answers"]["contact_email"].upper())
    unknown = ask(client, "personne@example.org")
    assert known.status_code == unknown.status_code == 200
    assert answer_text(known.text) == answer_text(unknown.text)
    assert "Si cette adresse est celle d&#39;un dossier" in known.text


def test_the_links_go_by_mail_to_the_address_only_when_it_has_a_dossier(client, records, data_dir):
    address = records[1]["answers"]["contact_email"]
    ask(client, "personne@example.org")
    assert not [name for name in outbox(data_dir) if ".lien-" in name]
    ask(client, address)
    [name] = [name for name in outbox(data_dir) if ".lien-" in name]
    with open(os.path.join(data_dir, "outbox", name), "rb") as handle:
        message = email.message_from_bytes(handle.read())
    assert message["To"] == address
    body = message.get_payload(decode=True).decode()
    assert "http://127.0.0.1:8000" + link("AMI-2021-0002") in body
    assert "n'y répondez pas" in body


def test_a_malformed_address_is_refused_in_french_with_the_value_kept(client, records, data_dir):
    page = ask(client, "pas-une-adresse")
    assert page.status_code == 422
    assert page.text.count("Saisissez une adresse e-mail valide") == 2  # summary and field
    assert 'value="pas-une-adresse"' in page.text and 'aria-invalid="true"' in page.text
    assert outbox(data_dir) == []


def test_requests_are_limited_per_client(client, records):
    replies = [ask(client, f"personne{n}@example.org").status_code for n in range(6)]
    assert replies == [200] * 5 + [429]
    assert "Trop de demandes" in ask(client, "x@example.org").text


def test_one_address_gets_at_most_three_mails_a_day(app, records, data_dir):
    address = records[0]["answers"]["contact_email"]
    for number in range(5):
        reply = app.test_client().post(PAGE, data={"contact_email": address},
                                       environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
        assert reply.status_code == 200
    assert len([name for name in outbox(data_dir) if ".lien-" in name]) == 3


def test_a_post_from_another_site_is_refused(client, records, data_dir):
    reply = ask(client, records[0]["answers"]["contact_email"], Origin="https://ailleurs.example")
    assert reply.status_code == 403
    assert outbox(data_dir) == []
