"""A mistyped e-mail domain is pointed out, never refused."""

from __future__ import annotations

import pytest

from collector.email_typos import suggest
from tests.collector.conftest import fresh_hidden
from tests.support.payloads import valid_answers


@pytest.mark.parametrize(("typed", "suggested"), [
    ("camille@gmial.com", "camille@gmail.com"),
    ("camille@hotmial.fr", "camille@hotmail.fr"),
    ("camille@orange.fe", "camille@orange.fr"),
    ("camille@wanadoo.ff", "camille@wanadoo.fr"),
    ("Camille@Laposte.nte", "Camille@laposte.net"),
    ("camille@gmail.com", None),
    ("camille@mairie-falaise.fr", None),
    ("camille@association.org", None),
    ("pas une adresse", None),
    ("", None),
])
def test_suggestions_for_common_domain_typos_only(typed, suggested):
    assert suggest(typed) == suggested


def test_the_page_sent_back_after_a_post_suggests_the_likely_address(client, form):
    answers = {**valid_answers(form), "contact_email": "camille@gmial.com", "siret": "123"}
    page = client.post("/candidater/", data={**answers, **fresh_hidden(client)})
    assert page.status_code == 422
    assert "Vouliez-vous écrire <strong>camille@gmail.com</strong> ?" in page.text


def test_a_mistyped_domain_is_still_stored_as_typed(client, form, kept):
    answers = {**valid_answers(form), "contact_email": "camille@gmial.com"}
    reply = client.post("/candidater/", data={**answers, **fresh_hidden(client)})
    assert reply.status_code == 303
    [reference] = kept.references()
    assert kept.read_record(reference)["answers"]["contact_email"] == "camille@gmial.com"
    assert "vouliez-vous écrire <strong>camille@gmail.com</strong>" in client.get(reply.headers["Location"]).text
