"""The dossier page's forms without JavaScript: every refused field is marked at that field
(aria-invalid, its message in aria-describedby) and linked from the error summary, all at once;
nothing is stored from a refused form."""

from __future__ import annotations

import lxml.html
import pytest

from collector.statuses import change_status, read_history
from tests.conftest import STORE_KINDS
from tests.review.conftest import csrf_of

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
DETAIL = "/instruction/AMI-2021-0001"


def post_message(client, **fields):
    token = csrf_of(client.get(DETAIL).text)
    return client.post(DETAIL + "/message", data={"csrf_token": token, **fields})


def refused(client, **fields):
    """The page of a message form the server refuses (400), parsed."""
    reply = post_message(client, **fields)
    assert reply.status_code == 400
    return lxml.html.fromstring(reply.text)


def follow(client, control):
    """What a browser without JavaScript does with a link or a form's button: GET the link, or
    post the form's fields to its action."""
    if control.tag == "a":
        return client.get(control.get("href"))
    form = next(ancestor for ancestor in control.iterancestors() if ancestor.tag == "form")
    fields = {field.get("name"): field.get("value", "") for field in form.xpath(".//input[@name]")}
    return client.post(form.get("action"), data=fields)


def field_state(page, field_id: str) -> tuple[bool, list[str]]:
    """(whether the field is marked invalid, the texts its aria-describedby points to)."""
    field = page.get_element_by_id(field_id)
    described = (field.get("aria-describedby") or "").split()
    return field.get("aria-invalid") == "true", [page.get_element_by_id(name).text_content() for name in described]


def summary_links(page) -> dict[str, str]:
    """The error summary's links: {target id: text}."""
    return {link.get("href").lstrip("#"): link.text_content()
            for link in page.xpath("//div[@class='error-summary']//a") if link.get("href", "").startswith("#")}


@ON_BOTH_STORES
def test_an_unreadable_complements_date_is_shown_at_the_date_field_with_the_empty_message_error(
        logged_in, records, test_store):
    page = refused(logged_in, message="", complements_jusqu_au="demain")
    date_invalid, date_texts = field_state(page, "complements")
    message_invalid, message_texts = field_state(page, "message")
    assert date_invalid and any("Date des compléments illisible" in text for text in date_texts)
    assert message_invalid and any("Le message est vide" in text for text in message_texts)
    assert not any("Date des compléments" in text for text in message_texts)
    links = summary_links(page)
    assert "Date des compléments illisible" in links["complements"] and "Le message est vide" in links["message"]
    assert page.get_element_by_id("complements").get("value") == "demain"
    assert read_history(test_store, "AMI-2021-0001")["events"] == []


@ON_BOTH_STORES
def test_a_past_complements_date_with_a_good_message_marks_only_the_date(logged_in, records, test_store):
    page = refused(logged_in, message="Pouvez-vous compléter ?", complements_jusqu_au="2021-04-01")
    date_invalid, date_texts = field_state(page, "complements")
    message_invalid, _texts = field_state(page, "message")
    assert date_invalid and any("La date des compléments est passée" in text for text in date_texts)
    assert not message_invalid
    assert list(summary_links(page)) == ["complements"]
    assert page.get_element_by_id("message").text_content() == "Pouvez-vous compléter ?"
    assert read_history(test_store, "AMI-2021-0001")["events"] == []


def test_the_message_command_names_both_errors_at_once(runner, records):
    refused = runner.invoke(args=["message", "AMI-2021-0001", " ", "--until", "demain"])
    assert refused.exit_code == 1
    assert "Le message est vide" in refused.output and "Date des compléments illisible" in refused.output


@ON_BOTH_STORES
def test_modifier_la_motivation_comes_back_with_the_motivation_typed_before_the_preview(logged_in, records, test_store):
    change_status(test_store, "AMI-2021-0001", "en_instruction", by="alice")
    change_status(test_store, "AMI-2021-0001", "oriente_feder", by="alice", motivation="Ancienne motivation.")
    typed = "Nouvelle motivation,\nsur deux lignes."
    token = csrf_of(logged_in.get(DETAIL).text)
    preview = logged_in.post(DETAIL + "/reponse/apercu", data={"csrf_token": token, "motivation": typed})
    assert preview.status_code == 200
    [control] = lxml.html.fromstring(preview.text).xpath("(//a|//button)[normalize-space()='Modifier la motivation']")
    back = follow(logged_in, control)
    assert back.status_code == 200
    assert lxml.html.fromstring(back.text).get_element_by_id("motivation").text_content() == typed
    assert not [event for event in read_history(test_store, "AMI-2021-0001")["events"] if event["kind"] == "reponse"]


@ON_BOTH_STORES
def test_a_refused_decision_comes_back_with_the_decision_chosen_still_chosen(logged_in, records, test_store):
    """A decision refused for its motivation (too long) must not come back showing another decision: fixing
    the motivation and sending again would store the wrong outcome."""
    change_status(test_store, "AMI-2021-0001", "en_instruction", by="alice")
    token = csrf_of(logged_in.get(DETAIL).text)
    reply = logged_in.post(DETAIL + "/statut", data={"csrf_token": token, "statut": "sans_suite",
                                                     "statut_actuel": "en_instruction",
                                                     "motivation_porteur": "x" * 5001})
    assert reply.status_code == 400
    page = lxml.html.fromstring(reply.text)
    assert page.xpath("//select[@id='statut']/option[@selected]/@value") == ["sans_suite"]
    invalid, texts = field_state(page, "statut")
    assert invalid and any("trop longue" in text for text in texts)
    assert read_history(test_store, "AMI-2021-0001")["status"] == "en_instruction"
