"""The review tools on two collector hosts sharing PostgreSQL: two apps, each with its own data
folder (where its review index lives), one database. A dossier sent through one host is in the
other's list, dossier page and commands at the next request; a status set on one shows on the
other; an index made from another store is never reused."""

from __future__ import annotations

import html
import re

import pytest

from collector import appstate, create_app
from tests.review.conftest import PASSWORD, csrf_of, login
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers

URLENCODED = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def previewed_clock(monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")


@pytest.fixture
def hosts(tmp_path, database_url):
    """Two hosts (A, B): one app each, its own data folder, the same database."""
    made = []
    for name in "ab":
        folder = tmp_path / f"hote-{name}"
        folder.mkdir()
        made.append(create_app({"DATA_DIR": str(folder), "DATABASE_URL": database_url, "MIN_FILL_SECONDS": 0,
                                "SECRET_KEY": "la clé des deux hôtes", "COOKIE_SECURE": False}))
    created = made[0].test_cli_runner().invoke(args=["create-user", "alice", "--password-stdin"], input=PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    yield made
    for app in made:
        appstate.store(app).close()


def reviewer_on(app):
    client = app.test_client()
    assert login(client).status_code == 303
    return client


def submit(app, title: str) -> str:
    client = app.test_client()
    hidden = form_hidden_fields(client.get("/candidater/").text)
    answers = {**valid_answers(app.config["FORM"]), "projet_titre": title}
    reply = client.post("/candidater/", data=encode_form(answers, hidden), content_type=URLENCODED)
    assert reply.status_code == 303, reply.text
    return re.search(r"AMI-2021-\d{4}", reply.headers["Location"]).group(0)


def text(reply) -> str:
    return html.unescape(reply.get_data(as_text=True))


def test_a_dossier_sent_through_one_host_is_in_the_other_hosts_list_page_and_commands(hosts):
    host_a, host_b = hosts
    on_b = reviewer_on(host_b)
    assert on_b.get("/instruction/").status_code == 200  # B's index is made before the dossier exists
    reference = submit(host_a, "Tiers-lieu des deux hôtes")
    listing = text(on_b.get("/instruction/"))
    assert f">{reference}</a>" in listing
    detail = on_b.get(f"/instruction/{reference}")
    assert detail.status_code == 200 and "Tiers-lieu des deux hôtes" in text(detail)
    shown = host_b.test_cli_runner().invoke(args=["show", reference])
    assert shown.exit_code == 0 and "Tiers-lieu des deux hôtes" in shown.stdout
    assert "1 candidature(s) sur 1." in host_b.test_cli_runner().invoke(args=["list"]).stdout


def test_a_status_set_on_one_host_shows_on_the_other(hosts):
    host_a, host_b = hosts
    on_a, on_b = reviewer_on(host_a), reviewer_on(host_b)
    reference = submit(host_a, "Fablab rural")
    assert "statut : reçu" in host_a.test_cli_runner().invoke(args=["show", reference]).stdout  # A's index is made
    assert f">{reference}</a>" in text(on_a.get("/instruction/?statut=recu"))
    page = on_b.get(f"/instruction/{reference}")
    changed = on_b.post(f"/instruction/{reference}/statut", data={
        "csrf_token": csrf_of(page.text), "statut": "en_instruction", "statut_actuel": "recu", "note": "Complet."})
    assert changed.status_code == 303
    assert f">{reference}</a>" not in text(on_a.get("/instruction/?statut=recu"))
    assert f">{reference}</a>" in text(on_a.get("/instruction/?statut=en_instruction"))
    assert "Complet." in text(on_a.get(f"/instruction/{reference}"))
    assert "statut : en instruction" in host_a.test_cli_runner().invoke(args=["show", reference]).stdout


def test_a_host_moved_to_postgresql_lists_the_databases_dossiers_not_its_folders(tmp_path, database_url):
    folder = tmp_path / "hote"
    folder.mkdir()
    alone = create_app({"DATA_DIR": str(folder), "MIN_FILL_SECONDS": 0, "SECRET_KEY": "k"})
    submit(alone, "Gardé dans le dossier de données")
    assert "1 candidature(s) sur 1." in alone.test_cli_runner().invoke(args=["list"]).stdout
    shared = create_app({"DATA_DIR": str(folder), "DATABASE_URL": database_url, "SECRET_KEY": "k"})
    try:
        listed = shared.test_cli_runner().invoke(args=["list"])
        assert listed.exit_code == 0 and "0 candidature(s) sur 0." in listed.stdout
    finally:
        appstate.store(shared).close()
