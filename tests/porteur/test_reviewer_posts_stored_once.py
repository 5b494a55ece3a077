"""A reviewer's double click stores one message, one meeting, one revocation, and mails the porteur once.

The detail page's forms carry a one-time id (as the porteur's reply form does): the same form
sent twice, with the same CSRF token, stores one event and answers both posts with the same
page. On both stores."""

from __future__ import annotations

import re

import pytest

from collector.porteur.revocation import current_generation
from collector.statuses import read_history
from tests.conftest import STORE_KINDS
from tests.review.conftest import csrf_of
from tests.support.payloads import form_hidden_fields

from .conftest import CLOSED_NOW, outbox
from .test_meetings import SLOTS

REF = "AMI-2021-0001"
ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)


def form_of(reviewer, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, one-time id) of the detail page's form posting to `action`."""
    page = reviewer.get(f"/instruction/{REF}").text
    start = re.search(f'action="/instruction/{REF}/{action}(#[a-z]+)?"', page).start()  # a fragment may follow
    hidden = form_hidden_fields(page[start:page.index("</form>", start)])
    assert hidden.get("id_envoi"), f"the {action} form holds a one-time id"
    return {"csrf_token": csrf_of(page), "id_envoi": hidden["id_envoi"]}


def post_twice(reviewer, action: str, **fields):
    data = {**form_of(reviewer, action), **fields}
    first = reviewer.post(f"/instruction/{REF}/{action}", data=data)
    second = reviewer.post(f"/instruction/{REF}/{action}", data=data)
    return first, second


def kinds(kept) -> list[str]:
    return [event["kind"] for event in read_history(kept, REF)["events"]]


@ON_BOTH_STORES
def test_a_message_sent_twice_is_stored_and_mailed_once(reviewer, records, kept):
    first, second = post_twice(reviewer, "message", message="Pouvez-vous préciser le budget ?")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert kinds(kept) == ["message"]
    assert [name for name in outbox(kept) if ".message-" in name] == [f"{REF}.message-1.eml"]
    assert "déjà enregistré" in reviewer.get(second.headers["Location"]).text
    again = post_twice(reviewer, "message", message="Pouvez-vous préciser le budget ?")  # a new page: a new id
    assert again[0].status_code == 303 and kinds(kept) == ["message", "message"]


@ON_BOTH_STORES
def test_a_meeting_proposed_twice_is_one_meeting(reviewer, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    first, second = post_twice(reviewer, "rencontre", **SLOTS)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert kinds(kept) == ["rencontre_proposee"]
    assert [name for name in outbox(kept) if "rencontre-2" in name] == []
    assert "déjà proposée" in reviewer.get(second.headers["Location"]).text


@ON_BOTH_STORES
@pytest.mark.parametrize("contact", ["", "retabli@example.org"])
def test_a_revocation_sent_twice_revokes_once_and_mails_one_new_link(reviewer, records, kept, contact):
    first, second = post_twice(reviewer, "lien", nouveau_contact=contact)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert kinds(kept) == ["lien_revoque"] and current_generation(kept, REF) == 1
    assert [name for name in outbox(kept) if "lien-remplace-2" in name] == []
    assert kept.versions.numbers(REF) == ([2] if contact else [])
    assert "déjà révoqué" in reviewer.get(second.headers["Location"]).text.replace("&#39;", "'")


@ON_BOTH_STORES
def test_a_meeting_cancelled_twice_is_cancelled_and_mailed_once_and_both_posts_lead_to_the_meetings(
        reviewer, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    assert post_twice(reviewer, "rencontre", **SLOTS)[0].status_code == 303
    first, second = post_twice(reviewer, "rencontre/1/annuler")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] and first.headers["Location"].endswith("#confirmation")
    assert kinds(kept) == ["rencontre_proposee", "rencontre_annulee"]
    assert sorted(name for name in outbox(kept) if "annulee" in name) == [
        f"{REF}.rencontre-1-annulee-region.eml", f"{REF}.rencontre-1-annulee.eml"]
    page = reviewer.get(second.headers["Location"]).text.replace("&#39;", "'")
    assert "La rencontre 1 était déjà annulée (le formulaire a été envoyé deux fois)" in page


RESENT = "Ce formulaire a déjà été envoyé une première fois, avec un autre contenu"


@ON_BOTH_STORES
def test_a_message_sent_again_with_the_same_id_and_another_text_is_refused_and_shown_back(reviewer, records, kept):
    """A page served again from the browser's cache carries the id already used: the new text is
    neither taken for the repeat (silently dropped) nor stored, nor mailed."""
    fields = form_of(reviewer, "message")
    assert reviewer.post(f"/instruction/{REF}/message", data={**fields, "message": "Premier texte."}).status_code == 303
    retyped = "Un autre texte, <b>retapé</b>."
    refused = reviewer.post(f"/instruction/{REF}/message", data={**fields, "message": retyped})
    assert refused.status_code == 409
    text = refused.text.replace("&#39;", "'")
    assert RESENT in text and "ni enregistré ni envoyé" in text
    assert "Un autre texte, &lt;b&gt;retapé&lt;/b&gt;.</textarea>" in text
    assert [event["text"] for event in read_history(kept, REF)["events"]] == ["Premier texte."]
    assert [name for name in outbox(kept) if ".message-" in name] == [f"{REF}.message-1.eml"]
    repeat = reviewer.post(f"/instruction/{REF}/message", data={**fields, "message": "Premier texte."})
    assert repeat.status_code == 303 and kinds(kept) == ["message"], "the same text again is still the repeat"


@ON_BOTH_STORES
def test_a_meeting_proposed_again_with_the_same_id_and_other_slots_is_refused_with_the_slots_shown_back(
        reviewer, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    fields = form_of(reviewer, "rencontre")
    assert reviewer.post(f"/instruction/{REF}/rencontre", data={**fields, **SLOTS}).status_code == 303
    moved = {**SLOTS, "lieu-1": "Hôtel de Région, Rouen"}
    refused = reviewer.post(f"/instruction/{REF}/rencontre", data={**fields, **moved})
    assert refused.status_code == 409 and RESENT in refused.text.replace("&#39;", "'")
    assert 'value="Hôtel de Région, Rouen"' in refused.text
    assert kinds(kept) == ["rencontre_proposee"]
    assert [name for name in outbox(kept) if "rencontre-" in name] == [f"{REF}.rencontre-1-proposee.eml"]


@ON_BOTH_STORES
@pytest.mark.parametrize("first_contact, other_contact", [
    ("a@example.org", "b@example.org"), ("", "b@example.org"), ("a@example.org", "")])
def test_a_revocation_sent_again_with_the_same_id_and_another_new_contact_is_refused_and_shown_back(
        reviewer, records, kept, first_contact, other_contact):
    fields = form_of(reviewer, "lien")
    first = reviewer.post(f"/instruction/{REF}/lien", data={**fields, "nouveau_contact": first_contact})
    assert first.status_code == 303
    stored_versions = kept.versions.numbers(REF)
    refused = reviewer.post(f"/instruction/{REF}/lien", data={**fields, "nouveau_contact": other_contact})
    assert refused.status_code == 409
    assert RESENT in refused.text.replace("&#39;", "'")
    if other_contact:
        assert f'value="{other_contact}"' in refused.text
    assert kinds(kept) == ["lien_revoque"] and current_generation(kept, REF) == 1
    assert kept.versions.numbers(REF) == stored_versions
    assert [name for name in outbox(kept) if "lien-remplace-2" in name] == []
    repeat = reviewer.post(f"/instruction/{REF}/lien", data={**fields, "nouveau_contact": first_contact.upper()})
    assert repeat.status_code == 303 and kinds(kept) == ["lien_revoque"], "the same contact again is the repeat"


@ON_BOTH_STORES
def test_a_cancel_form_sent_again_for_another_meeting_is_refused_with_its_own_sentence(
        reviewer, records, kept, monkeypatch):
    """A cancel has nothing typed to show back: not « Il est repris ci-dessous »."""
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    for _ in range(2):
        assert reviewer.post(f"/instruction/{REF}/rencontre",
                             data={**form_of(reviewer, "rencontre"), **SLOTS}).status_code == 303
    fields = form_of(reviewer, "rencontre/1/annuler")
    assert reviewer.post(f"/instruction/{REF}/rencontre/1/annuler", data=fields).status_code == 303
    refused = reviewer.post(f"/instruction/{REF}/rencontre/2/annuler", data=fields)
    assert refused.status_code == 409
    text = refused.text.replace("&#39;", "'")
    assert "Ce formulaire d'annulation a déjà servi à annuler une autre rencontre : cette rencontre-ci n'est pas " \
           "annulée et rien n'est envoyé." in text
    assert RESENT not in text and "repris ci-dessous" not in text
    assert kinds(kept) == ["rencontre_proposee", "rencontre_proposee", "rencontre_annulee"]


@ON_BOTH_STORES
@pytest.mark.parametrize("text", ["2026-01-01", "yes", "null", "0x10", "12:30", "ligne 1\r\nligne 2\r\n\r\nligne 3",
                                  "x\u2028y", "a\u00a0b : c", "emoji 😀", "- tiret", "# dièse", "*alias"])
def test_a_message_whose_text_yaml_could_misread_sent_twice_is_still_the_repeat(reviewer, records, kept, text):
    """The comparison with the stored event reads the history back: a text that YAML could take for
    a date, a boolean, a number or a comment must come back equal, never as « other content »."""
    first, second = post_twice(reviewer, "message", message=text)
    assert (first.status_code, second.status_code) == (303, 303), second.text[-2000:]
    assert kinds(kept) == ["message"]
