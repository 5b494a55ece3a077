"""On PostgreSQL every page and command of the collector is shared; a page not listed as shared
(one added later) is refused in French, nothing stored (fail closed), and so is a command listed
as unshared; on the data folder nothing is refused. The reviewers' accounts are shared: login, logout and
create-user work, and the review pages are refused only to a logged-in reviewer (anyone else is
sent to the login page, as anywhere)."""

from __future__ import annotations

import html

import pytest

from collector import appstate, create_app
from tests.review.conftest import PASSWORD, csrf_of, login


@pytest.fixture
def postgres_app(data_dir, database_url, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "k"})
    yield app
    appstate.store(app).close()


def test_the_lost_link_page_is_served_on_postgresql_and_its_request_kept_in_the_database(postgres_app):
    client = postgres_app.test_client()
    assert client.get("/candidater/dossier-perdu/").status_code == 200
    reply = client.post("/candidater/dossier-perdu/", data={"contact_email": "personne@example.org"})
    assert reply.status_code == 200 and "Si cette adresse est celle d'un dossier" in html.unescape(reply.text)
    assert len(appstate.store(postgres_app).link_requests.waiting()) == 1


REVIEW_PAGES = [("GET", "/instruction/"), ("GET", "/instruction/AMI-2021-0001"), ("GET", "/instruction/export.csv"),
                ("GET", "/instruction/tableau-de-bord"), ("GET", "/instruction/rencontres"),
                ("POST", "/instruction/AMI-2021-0001/statut"), ("POST", "/instruction/AMI-2021-0001/note"),
                ("POST", "/instruction/AMI-2021-0001/message"), ("POST", "/instruction/AMI-2021-0001/reponse"),
                ("POST", "/instruction/AMI-2021-0001/rencontre"), ("POST", "/instruction/AMI-2021-0001/lien")]


@pytest.fixture
def reviewer_client(postgres_app):
    return logged_in_reviewer(postgres_app)


def logged_in_reviewer(postgres_app):
    """A client logged in on PostgreSQL, with an account made by create-user."""
    created = postgres_app.test_cli_runner().invoke(args=["create-user", "alice", "--password-stdin"],
                                                    input=PASSWORD + "\n")
    assert created.exit_code == 0 and "Compte « alice » créé." in created.output, created.output
    client = postgres_app.test_client()
    assert login(client).status_code == 303
    return client


@pytest.mark.parametrize(("method", "path"), REVIEW_PAGES)
def test_review_pages_on_postgresql_send_an_anonymous_visitor_to_the_login_page(postgres_app, method, path):
    client = postgres_app.test_client()
    token = csrf_of(client.get("/instruction/connexion").text)
    reply = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/instruction/connexion")


def test_a_review_page_added_later_answers_a_logged_in_reviewer_a_french_503_until_it_is_listed(postgres_app):
    postgres_app.add_url_rule("/instruction/nouvelle-page", "review.nouvelle_page", lambda: "lu dans le dossier local")
    assert postgres_app.test_client().get("/instruction/nouvelle-page").status_code == 302  # anonymous: the login page
    reply = logged_in_reviewer(postgres_app).get("/instruction/nouvelle-page")
    assert reply.status_code == 503 and 'lang="fr"' in reply.text and "lu dans le dossier local" not in reply.text
    text = html.unescape(reply.text)
    assert "L'instruction en ligne n'est pas encore disponible" in text and "rien n'a été modifié" in text
    assert "connecté : <strong>alice</strong>" in text and "Se déconnecter" in text


def test_logout_works_on_postgresql_and_csrf_still_holds(reviewer_client):
    assert reviewer_client.post("/instruction/deconnexion").status_code == 403  # no CSRF token: refused
    assert reviewer_client.post("/instruction/deconnexion", data={"csrf_token": "faux"}).status_code == 403
    page = reviewer_client.get("/instruction/")
    assert page.status_code == 200  # still logged in
    reply = reviewer_client.post("/instruction/deconnexion", data={"csrf_token": csrf_of(page.text)})
    assert reply.status_code == 303 and reply.headers["Location"] == "/instruction/connexion"
    assert reviewer_client.get("/instruction/").status_code == 302  # logged out


@pytest.mark.parametrize("path", ["/instruction/", "/instruction/export.csv", "/instruction/tableau-de-bord",
                                  "/instruction/tableau-de-bord/statuts.svg", "/instruction/rencontres"])
def test_the_review_list_exports_dashboard_and_meetings_work_on_postgresql(reviewer_client, path):
    assert reviewer_client.get(path).status_code == 200


def test_no_command_is_refused_on_postgresql_any_more():
    from collector.stores.unshared import UNSHARED_COMMANDS

    assert UNSHARED_COMMANDS == frozenset(), "every command reads and writes through the store"


def test_a_command_listed_as_unshared_refuses_to_run_on_postgresql_and_says_how_to_work_on_a_dump(
        data_dir, database_url, monkeypatch):
    """The guard stays for a command added later that keeps its data in one data folder."""
    from collector.stores import unshared

    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    monkeypatch.setattr(unshared, "UNSHARED_COMMANDS", frozenset({"stats"}))
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "k"})
    try:
        result = app.test_cli_runner().invoke(args=["stats"])
        assert result.exit_code == 1
        assert "la commande « stats » lit les données d'instruction d'un dossier de données" in result.output
        assert "flask --app collector dump DOSSIER" in result.output
        assert app.test_cli_runner().invoke(args=["list"]).exit_code == 0, "only the listed command"
    finally:
        appstate.store(app).close()


def test_the_form_the_receipt_and_the_store_commands_stay_available_on_postgresql(postgres_app):
    client = postgres_app.test_client()
    assert client.get("/candidater/").status_code == 200 and client.get("/healthz").status_code == 200
    assert client.get("/candidater/dossier-perdu/").status_code == 200


def test_on_postgresql_every_page_but_the_shared_ones_is_refused(postgres_app):
    """Fail closed: each rule of the app, tried anonymously, is served only when its blueprint is
    listed as shared; the review pages send to the login page; every other one is a French 503."""
    from collector.stores.unshared import REVIEW_BLUEPRINTS, SHARED_PAGES

    client = postgres_app.test_client()
    refused = []
    for rule in postgres_app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0] or None
        if blueprint is None or blueprint in SHARED_PAGES or blueprint in REVIEW_BLUEPRINTS:
            continue
        path = rule.rule.replace("<reference>", "AMI-2021-0001").replace("<int:number>", "1")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            reply = client.open(path, method=method)
            assert reply.status_code == 503 and "rien n'a été enregistré" in html.unescape(reply.text), (method, path)
            refused.append(rule.endpoint)
    assert not any(name.startswith("lost_link.") for name in refused), "the lost link is shared now"


def test_on_postgresql_a_page_added_later_is_refused_until_it_is_listed_as_shared(postgres_app):
    from flask import Blueprint

    added = Blueprint("nouvelle_page", __name__)
    added.add_url_rule("/candidater/nouveau", "nouveau", lambda: "écrit dans le dossier local")
    postgres_app.register_blueprint(added)
    reply = postgres_app.test_client().get("/candidater/nouveau")
    assert reply.status_code == 503 and "écrit dans le dossier local" not in reply.text


def test_nothing_is_refused_on_the_data_folder(data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "SECRET_KEY": "k"})
    client = app.test_client()
    assert client.get("/instruction/").status_code != 503
    assert client.get("/candidater/dossier-perdu/").status_code == 200
    listed = app.test_cli_runner().invoke(args=["list"])
    assert listed.exit_code == 0, listed.output
