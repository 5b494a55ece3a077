"""PostgreSQL stopped under a running collector: French 503s, nothing stored in part, /healthz
says so, and the same app stores again once the server is back, without a restart."""

from __future__ import annotations

import html
import time

import psycopg
import pytest

from collector import appstate, create_app
from tests.review.conftest import PASSWORD, csrf_of, login
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers

URLENCODED = "application/x-www-form-urlencoded"


@pytest.fixture
def app(data_dir, database_url, monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "DATABASE_TIMEOUT": 1.0,
                      "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (10_000, 600), "SECRET_KEY": "k"})
    yield app
    appstate.store(app).close()


def wait_until_healthy(client, within: float = 60.0) -> None:
    """The app's pool reconnects by itself: /healthz turns 200 again (or the test fails)."""
    deadline = time.monotonic() + within
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "the collector did not reconnect to PostgreSQL by itself"
        time.sleep(0.2)


def post(client, title: str):
    hidden = form_hidden_fields(client.get("/candidater/").text)
    answers = {**valid_answers(appstate.form(client.application)), "projet_titre": title}
    return client.post("/candidater/", data=encode_form(answers, hidden), content_type=URLENCODED), hidden


def test_while_postgresql_is_down_posts_get_a_french_503_and_it_recovers_by_itself(app, database_url,
                                                                                   postgres_cluster):
    client = app.test_client()
    stored = post(client, "Avant")[0]
    assert stored.status_code == 303
    assert client.get("/healthz").get_json() == {"status": "ok"}
    postgres_cluster.stop()
    try:
        receipt = client.get(stored.headers["Location"])
        assert receipt.status_code == 503 and "momentanément indisponible" in receipt.text
        refused, hidden = post(client, "Pendant")
        assert refused.status_code == 503
        assert "PAS été reçu" in refused.text and "AMI-2021" not in refused.text
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["detail"] == "base PostgreSQL injoignable"
    finally:
        postgres_cluster.start()
    wait_until_healthy(client)
    again = client.post("/candidater/", data=encode_form({**valid_answers(app.config["FORM"]), "projet_titre": "Pendant"},
                                                         hidden), content_type=URLENCODED)
    assert again.status_code == 303 and again.headers["Location"].startswith("/candidater/recu/AMI-2021-0002?")
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT count(*) FROM records").fetchone() == (2,)
        assert connection.execute("SELECT count(*) FROM submission_ids").fetchone() == (2,)



def test_while_postgresql_is_down_reviewers_get_french_503s_and_stay_logged_in(app, postgres_cluster):
    assert app.test_cli_runner().invoke(args=["create-user", "alice", "--password-stdin"],
                                        input=PASSWORD + "\n").exit_code == 0
    reviewer, newcomer = app.test_client(), app.test_client()
    assert login(reviewer).status_code == 303
    token = csrf_of(newcomer.get("/instruction/connexion").text)
    postgres_cluster.stop()
    try:
        refused = newcomer.post("/instruction/connexion", data={"csrf_token": token, "identifiant": "alice",
                                                                "mot_de_passe": PASSWORD})
        assert refused.status_code == 503 and "La connexion est momentanément impossible" in refused.text
        for client in (newcomer, reviewer):  # the login page says so, in the review frame
            login_page = client.get("/instruction/connexion")
            assert login_page.status_code == 503 and 'name="mot_de_passe"' in login_page.text
            assert "La connexion est momentanément impossible" in login_page.text
            assert "Revenir au formulaire" not in login_page.text
        page = reviewer.get("/instruction/")  # the session cannot be checked: not a way back to the login page
        assert page.status_code == 503 and "momentanément indisponible" in page.text
        assert "Se déconnecter" in page.text and "Revenir au formulaire" not in page.text  # the review frame
    finally:
        postgres_cluster.start()
    wait_until_healthy(reviewer)
    page = reviewer.get("/instruction/")  # logged in still: the list
    assert page.status_code == 200 and "connecté : <strong>alice</strong>" in html.unescape(page.text)
    assert login(newcomer).status_code == 303


def test_while_postgresql_is_down_a_post_waits_for_the_store_once_not_once_per_question(app, postgres_cluster,
                                                                                       monkeypatch):
    """The rate limits (per client, per network) and the write each ask the pool for a connection;
    once one ask found PostgreSQL out of reach, the others of the same request fail at once."""
    client = app.test_client()
    hidden = form_hidden_fields(client.get("/candidater/").text)
    pool = appstate.store(app).pool
    asked: list[float | None] = []
    lend = pool.getconn
    monkeypatch.setattr(pool, "getconn", lambda timeout=None: asked.append(timeout) or lend(timeout))
    postgres_cluster.stop()
    try:
        refused = client.post("/candidater/", data=encode_form(valid_answers(appstate.form(app)), hidden),
                              content_type=URLENCODED)
        assert refused.status_code == 503 and "PAS été reçu" in refused.text
        assert len(asked) == 1
        asked.clear()  # the next request tries again
        assert client.get("/healthz").status_code == 503 and len(asked) == 1
    finally:
        postgres_cluster.start()
    wait_until_healthy(client)


def test_while_postgresql_is_down_account_commands_say_so_in_french_and_change_nothing(app, postgres_cluster):
    runner = app.test_cli_runner()
    postgres_cluster.stop()
    try:
        for command in (["create-user", "alice", "--password-stdin"], ["delete-user", "alice"]):
            result = runner.invoke(args=command, input=PASSWORD + "\n")
            assert result.exit_code == 1 and "Traceback" not in result.output
            assert "PostgreSQL indisponible" in result.output and "rien n'a été modifié" in result.output
    finally:
        postgres_cluster.start()
    wait_until_healthy(app.test_client())
    assert appstate.store(app).reviewers.accounts() == {}
