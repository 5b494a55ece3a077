"""collector/porteur/same_browser.py keeps its promises: a browser remembers its five latest dossiers
for one day, only those whose record still exists, and the cookie is limited to the form's path."""

from __future__ import annotations

import time

from tests.collector.conftest import fresh_hidden
from tests.support.payloads import valid_answers

from .conftest import link


def send(client, answers):
    return client.post("/candidater/", data={**answers, **fresh_hidden(client)})


def answers_number(form, number: int) -> dict:
    """Dossier `number` of a browser (a workshop's: each porteur its own address, so that no
    daily cap of acknowledgements per address is reached)."""
    return {**valid_answers(form), "projet_titre": f"Projet numéro {number}",
            "contact_email": f"porteur{number}@example.org"}


def test_a_browser_remembers_its_five_latest_dossiers(client, form):
    for number in range(1, 7):
        assert send(client, answers_number(form, number)).headers["Location"] == link(f"AMI-2021-000{number}")
    assert send(client, answers_number(form, 2)).headers["Location"] == link("AMI-2021-0002")
    assert send(client, answers_number(form, 6)).headers["Location"] == link("AMI-2021-0006")
    assert send(client, answers_number(form, 1)).headers["Location"] == link("AMI-2021-0007")  # forgotten


def test_a_dossier_whose_record_is_gone_is_not_offered_again(client, form, kept):
    send(client, answers_number(form, 1))
    assert list(kept.retention.forget(["AMI-2021-0001"])) == ["AMI-2021-0001"]  # as the RGPD purge does
    assert send(client, answers_number(form, 1)).headers["Location"] == link("AMI-2021-0002")


def test_the_memory_lasts_one_day(client, form, monkeypatch):
    started = float(int(time.time()))  # whole seconds: the form's time stamp is rounded to the ms
    send(client, answers_number(form, 1))
    monkeypatch.setattr(time, "time", lambda: started + 24 * 3600 - 60)
    assert send(client, answers_number(form, 1)).headers["Location"] == link("AMI-2021-0001")
    monkeypatch.setattr(time, "time", lambda: started + 24 * 3600 + 60)
    assert send(client, answers_number(form, 1)).headers["Location"] == link("AMI-2021-0002")


def test_a_page_that_stores_nothing_sets_no_cookie(client, form):
    assert "ami_envois" not in client.get("/candidater/").headers.get("Set-Cookie", "")
    reply = client.post("/candidater/", data={**fresh_hidden(client)})  # nothing answered: the form again
    assert "ami_envois" not in reply.headers.get("Set-Cookie", "")


def test_a_record_stored_outside_a_request_is_remembered_by_no_browser(app, form):
    """A record written by a command (migrate-store, a test, a script) has no browser to remember it."""
    from collector import events
    from flask import g

    with app.app_context():
        events.record_stored.send(app, record={"reference": "AMI-2021-0042", "content_hash": "0" * 64})
        assert "ami_stored" not in g
