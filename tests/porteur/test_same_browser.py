"""Sending the same answers again (the back button, a new page) leads to the existing dossier,
on both stores."""

from __future__ import annotations

import pytest

from collector import appstate
from tests.collector.conftest import STORE_KINDS, fresh_hidden
from tests.support.payloads import valid_answers

from .conftest import link


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def stored(app) -> int:
    return len(appstate.store(app).references())


def send(client, answers):
    return client.post("/candidater/", data={**answers, **fresh_hidden(client)})


def test_the_same_answers_from_the_same_browser_lead_to_the_existing_dossier(app, client, form):
    answers = valid_answers(form)
    first, again = send(client, answers), send(client, answers)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"] == link("AMI-2021-0001")
    assert stored(app) == 1


def test_different_answers_from_the_same_browser_make_a_new_dossier(app, client, form):
    send(client, valid_answers(form))
    other = send(client, {**valid_answers(form), "projet_titre": "Un second projet"})
    assert other.headers["Location"] == link("AMI-2021-0002")
    assert stored(app) == 2


def test_the_same_answers_from_another_browser_are_never_merged(app, form, data_dir):
    answers = valid_answers(form)
    send(app.test_client(), answers)
    assert send(app.test_client(), answers).headers["Location"] == link("AMI-2021-0002")


def test_a_forged_cookie_is_ignored(client, form, data_dir):
    send(client, valid_answers(form))
    client.set_cookie("ami_envois", "forge", path="/candidater/")
    assert send(client, valid_answers(form)).headers["Location"] == link("AMI-2021-0002")


def test_the_cookie_holds_neither_answers_nor_address(client, form):
    answers = valid_answers(form)
    reply = send(client, answers)
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith("ami_envois=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/candidater/" in cookie and "Max-Age=86400" in cookie
    import base64
    payload = cookie.split("=", 1)[1].split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8", "replace")
    assert "AMI-2021-0001" in decoded and answers["contact_email"] not in decoded and "Falaise" not in decoded
