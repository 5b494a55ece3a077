"""On PostgreSQL, what the store does not carry yet (review tools, the lost link) is refused in
French, nothing stored; on the data folder nothing is refused."""

from __future__ import annotations

import html

import pytest

from collector import appstate, create_app


@pytest.fixture
def postgres_app(data_dir, database_url, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "k"})
    yield app
    appstate.store(app).close()


@pytest.mark.parametrize(("method", "path", "words"), [
    ("GET", "/instruction/", "L'instruction en ligne n'est pas encore disponible"),
    ("POST", "/instruction/connexion", "flask --app collector dump DOSSIER"),
    ("POST", "/candidater/dossier-perdu/", "Cette action n'est pas disponible pour le moment"),
    ("POST", "/candidater/dossier-perdu/", "retrouver le lien de votre dossier"),
])
def test_pages_whose_data_postgresql_does_not_keep_yet_answer_a_french_503(postgres_app, method, path, words):
    reply = postgres_app.test_client().open(path, method=method)
    assert reply.status_code == 503 and words in html.unescape(reply.text) and 'lang="fr"' in reply.text


@pytest.mark.parametrize("command", [["list"], ["show", "AMI-2021-0001"], ["export"], ["create-user", "alice"]])
def test_review_commands_refuse_to_run_on_postgresql_and_say_how_to_work_on_a_dump(postgres_app, command):
    result = postgres_app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert f"la commande « {command[0]} » lit les données d'instruction d'un dossier de données" in result.output
    assert "flask --app collector dump DOSSIER" in result.output


def test_the_form_the_receipt_and_the_store_commands_stay_available_on_postgresql(postgres_app):
    client = postgres_app.test_client()
    assert client.get("/candidater/").status_code == 200 and client.get("/healthz").status_code == 200
    assert client.get("/candidater/dossier-perdu/").status_code == 503


def test_nothing_is_refused_on_the_data_folder(data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "SECRET_KEY": "k"})
    client = app.test_client()
    assert client.get("/instruction/").status_code != 503
    assert client.get("/candidater/dossier-perdu/").status_code == 200
    listed = app.test_cli_runner().invoke(args=["list"])
    assert listed.exit_code == 0, listed.output
