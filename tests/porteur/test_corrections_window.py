"""How long corrections stay open: a request for complements is bounded, and the Région's decision ends it.

On both stores (the history, the versions and the page read through the app's store)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from collector.dossier import corrections_until, months_after, version_numbers
from collector import appstate
from collector.statuses import PARIS, change_status
from tests.conftest import STORE_KINDS

from .conftest import CLOSED_NOW, link, review_post
from .test_corrections import corrected, send_correction

REF = "AMI-2021-0001"
ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
CLOSES_AT = datetime(2021, 5, 31, 23, 59, tzinfo=PARIS)
JUNE_10 = datetime(2021, 6, 10, 10, 0, tzinfo=PARIS)


def ask_complements(reviewer, until: str):
    return review_post(reviewer, REF, "message", message="Merci de compléter la description.",
                       complements_jusqu_au=until)


def page_text(client) -> str:
    return client.get(link(REF)).text.replace("&#39;", "'")


@ON_BOTH_STORES
def test_an_answered_dossier_is_no_longer_open_to_corrections(reviewer, client, records, kept, monkeypatch):
    """The repro: complements asked, then the decision and its letter; the page must not offer corrections."""
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    change_status(kept, REF, "en_instruction", by="alice")
    assert ask_complements(reviewer, "30/06/2021").status_code == 303
    assert "Corriger mes réponses" in page_text(client)
    change_status(kept, REF, "accompagnement_propose", by="alice", motivation="Projet retenu pour un accompagnement.")
    assert review_post(reviewer, REF, "reponse", motivation="Projet retenu pour un accompagnement.").status_code == 303
    page = page_text(client)
    assert "réponse envoyée" in page
    assert "Vous pouvez corriger vos réponses" not in page and "Corriger mes réponses" not in page
    assert "Les corrections ne sont plus possibles en ligne" in page
    assert client.get(link(REF, "corriger")).status_code == 403
    refused = send_correction(client, corrected(records[0], description="Une description changée après la réponse."))
    assert refused.status_code == 403
    assert version_numbers(kept, REF) == []


@ON_BOTH_STORES
def test_the_decision_closes_corrections_before_the_letter_and_a_new_request_after_a_reopening_opens_them(
        reviewer, client, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    change_status(kept, REF, "en_instruction", by="alice")
    ask_complements(reviewer, "30/06/2021")
    change_status(kept, REF, "sans_suite", by="alice")
    assert client.get(link(REF, "corriger")).status_code == 403
    refused = ask_complements(reviewer, "25/06/2021")  # complements cannot change a decision taken
    assert refused.status_code == 400 and "Ce dossier a déjà une décision" in refused.text
    change_status(kept, REF, "en_instruction", by="alice")  # the decision is revised
    assert client.get(link(REF, "corriger")).status_code == 403  # the request made before the decision is over
    assert ask_complements(reviewer, "25/06/2021").status_code == 303
    assert client.get(link(REF, "corriger")).status_code == 200
    assert "vous pouvez corriger vos réponses jusqu'au vendredi 25 juin" in page_text(client).lower()


@ON_BOTH_STORES
@pytest.mark.parametrize("until", ["31/12/9999", "9999-12-31", "11/09/2021"])
def test_a_complements_date_more_than_three_months_ahead_is_refused(reviewer, client, records, kept, monkeypatch,
                                                                     until):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    reply = ask_complements(reviewer, until)
    assert reply.status_code == 400
    assert "La date des compléments est trop lointaine : choisissez-la au plus tard le 10/09/2021" in reply.text
    assert kept.histories.text(REF) is None
    assert ask_complements(reviewer, "10/09/2021").status_code == 303  # three months to the day: accepted


@pytest.mark.parametrize("until", ["١٢/٠٦/٢٠٢١", "12/０６/2021", "٢٠٢١-٠٦-١٢"])
def test_a_complements_date_in_other_digits_than_0_to_9_is_refused(reviewer, records, kept, monkeypatch, until):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    reply = ask_complements(reviewer, until)
    assert reply.status_code == 400 and "Date des compléments illisible" in reply.text
    assert "en chiffres de 0 à 9" in reply.text
    assert kept.histories.text(REF) is None


def test_a_complements_date_past_the_dossiers_retention_is_refused(reviewer, records, kept, monkeypatch, app):
    """Kept 36 months from its receipt (April 2021): a date after its purge would invite a correction never possible."""
    monkeypatch.setenv("AMI_NOW", "2024-03-20T10:00:00")
    with app.app_context():
        months = appstate.facts()["legal"]["retention_months"]
    last_day = months_after(datetime.fromisoformat(str(records[0]["received_at"])).date(), months)
    assert last_day < date(2024, 6, 20)
    reply = ask_complements(reviewer, "2024-06-19")
    assert reply.status_code == 400
    assert f"au plus tard le {last_day:%d/%m/%Y}" in reply.text
    assert kept.histories.text(REF) is None


def test_a_later_request_replaces_the_earlier_date_so_a_reviewer_may_shorten_it():
    history = {"status": "en_instruction", "events": [
        {"kind": "message", "complements_until": "2021-06-30"},
        {"kind": "message", "complements_until": "2021-06-15"},
        {"kind": "message", "text": "Merci, bien reçu."}]}
    assert corrections_until(history, False, CLOSES_AT, JUNE_10) == datetime(2021, 6, 15, 23, 59, 59, tzinfo=PARIS)


@pytest.mark.parametrize("closing", [
    {"kind": "status", "from": "en_instruction", "to": "oriente_feder"},
    {"kind": "reponse"},
])
def test_a_decision_or_an_answer_ends_the_complements_window(closing):
    events = [{"kind": "message", "complements_until": "2021-06-30"}, closing]
    status = "en_instruction" if closing["kind"] == "reponse" else "oriente_feder"
    assert corrections_until({"status": status, "events": events}, False, CLOSES_AT, JUNE_10) is None


def test_months_after_keeps_the_day_or_takes_the_months_last():
    assert months_after(date(2021, 6, 10), 3) == date(2021, 9, 10)
    assert months_after(date(2021, 11, 30), 3) == date(2022, 2, 28)
    assert months_after(date(2021, 4, 15), 36) == date(2024, 4, 15)
