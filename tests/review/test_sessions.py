"""Reviewer sessions: a working day of inactivity at most, and revocable at once for a whole account.

On both stores: the data folder, and PostgreSQL, where the list answers a logged-in reviewer a
French 503 (its data is not shared yet) and anyone else the login page."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from itsdangerous import BadSignature
from itsdangerous.timed import TimestampSigner

from collector import appstate, create_app
from collector.config import ConfigError
from collector.review import session_lifetime
from tests.conftest import STORE_KINDS
from tests.review.conftest import PASSWORD, csrf_of, login

LIST = "/instruction/"


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def logged_in_client(app):
    client = app.test_client()
    assert login(client).status_code == 303
    return client


def session_cookie(client, app) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def signed_ago(app, client, monkeypatch, seconds: float) -> None:
    """Give `client` its own session, signed `seconds` ago (its last request was then)."""
    serializer = app.session_interface.get_signing_serializer(app)
    content = serializer.loads(session_cookie(client, app))
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - seconds))
        old = serializer.dumps(content)
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], old)


def test_a_session_lasts_a_working_day_by_default(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is True


def test_the_lifetime_is_set_from_the_environment(monkeypatch, review_env):
    monkeypatch.setenv("COLLECTOR_SESSION_HOURS", "2.5")
    assert create_app().config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2, minutes=30)


@pytest.mark.parametrize("value", ["huit", "0", "-1", "10000"])
def test_an_unusable_lifetime_is_named_in_french(value):
    with pytest.raises(ConfigError, match="COLLECTOR_SESSION_HOURS"):
        session_lifetime({"COLLECTOR_SESSION_HOURS": value})


def test_a_session_idle_for_more_than_the_lifetime_is_over(app, reviewer, monkeypatch):
    client = logged_in_client(app)
    signed_ago(app, client, monkeypatch, 8 * 3600 + 60)
    response = client.get(LIST)
    assert response.status_code == 302 and response.headers["Location"].startswith("/instruction/connexion")


def test_activity_keeps_a_session_alive(app, reviewer, monkeypatch):
    client = logged_in_client(app)
    signed_ago(app, client, monkeypatch, 8 * 3600 - 60)
    assert client.get(LIST).status_code == 200
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer.loads(session_cookie(client, app), max_age=60)["reviewer"] == "alice"  # signed again now


def test_logout_ends_every_session_of_the_account_in_every_worker(make_app, reviewer):
    worker_a, worker_b = make_app(), make_app()
    office, laptop = logged_in_client(worker_a), logged_in_client(worker_b)
    assert office.get(LIST).status_code == laptop.get(LIST).status_code == 200
    page = laptop.get(LIST)
    assert laptop.post("/instruction/deconnexion", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert office.get(LIST).status_code == 302
    assert laptop.get(LIST).status_code == 302


def test_a_copied_cookie_is_useless_after_logout(app, reviewer):
    client = logged_in_client(app)
    stolen = session_cookie(client, app)
    page = client.get(LIST)
    client.post("/instruction/deconnexion", data={"csrf_token": csrf_of(page.text)})
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get(LIST).status_code == 302


def test_a_password_change_ends_every_session(app, runner, reviewer):
    client = logged_in_client(app)
    result = runner.invoke(args=["create-user", "alice", "--password-stdin"], input="un autre mot de passe\n")
    assert result.exit_code == 0, result.output
    assert client.get(LIST).status_code == 302


def remove_account(runner, name: str) -> None:
    result = runner.invoke(args=["delete-user", name])
    assert result.exit_code == 0 and f"Compte « {name} » supprimé ; ses sessions sont terminées." in result.output


def test_removing_an_account_ends_its_sessions_even_if_it_is_recreated_alike(app, runner, reviewer):
    client = logged_in_client(app)
    remove_account(runner, "alice")
    assert client.get(LIST).status_code == 302
    assert runner.invoke(args=["create-user", "alice", "--password-stdin"], input=PASSWORD + "\n").exit_code == 0
    cookie = session_cookie(logged_in_client(app), app)
    remove_account(runner, "alice")
    assert runner.invoke(args=["create-user", "alice", "--password-stdin"], input=PASSWORD + "\n").exit_code == 0
    revived = app.test_client()
    revived.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert revived.get(LIST).status_code == 302
    assert logged_in_client(app).get(LIST).status_code == 200


def test_removing_an_account_that_does_not_exist_says_so_and_changes_nothing(app, runner, reviewer):
    result = runner.invoke(args=["delete-user", "bob"])
    assert result.exit_code == 1 and "Aucun compte « bob » : rien n'a été supprimé." in result.output
    assert list(appstate.store(app).reviewers.accounts()) == ["alice"]


def test_a_cookie_without_a_generation_is_refused(app, reviewer):
    serializer = app.session_interface.get_signing_serializer(app)
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], serializer.dumps({"reviewer": "alice", "_permanent": True}))
    assert client.get(LIST).status_code == 302


def test_the_session_keeps_no_password_material(app, reviewer):
    client = logged_in_client(app)
    content = app.session_interface.get_signing_serializer(app).loads(session_cookie(client, app))
    stored = appstate.store(app).reviewers.account("alice")
    assert stored["password_hash"] not in str(content)
    with pytest.raises(BadSignature):
        app.session_interface.get_signing_serializer(app).loads(session_cookie(client, app) + "x")


@pytest.mark.parametrize("target", ["/instruction/\r\nSet-Cookie: x=1", "/instruction/AMI-2021-0001\n",
                                    "/instruction/\x1b[31m", "/instruction/../candidater/", "/instruction/ é"])
def test_a_bad_suivant_after_login_falls_back_to_the_list(client, reviewer, target):
    page = client.get("/instruction/connexion", query_string={"suivant": target})
    assert page.status_code == 200
    response = client.post("/instruction/connexion", data={"csrf_token": csrf_of(page.text), "identifiant": "alice",
                                                           "mot_de_passe": PASSWORD, "suivant": target})
    assert response.status_code == 303 and response.headers["Location"] == LIST


def test_an_encoded_cr_lf_in_suivant_when_logged_in_falls_back_to_the_list(app, reviewer):
    client = logged_in_client(app)
    response = client.get("/instruction/connexion?suivant=/instruction/%0D%0ASet-Cookie:%20x=1")
    assert response.status_code == 302 and response.headers["Location"] == LIST


def test_no_password_is_hashed_to_start_the_app_or_show_the_login_page(make_app, monkeypatch):
    """scrypt takes a tenth of a second: the dummy hash (for unknown names) is made on first use,
    not when a worker or a command starts, on either store."""
    from collector.review import users

    hashed = []
    real = users.generate_password_hash
    monkeypatch.setattr(users, "generate_password_hash", lambda *args, **kwargs: hashed.append(1) or real(*args, **kwargs))
    users._dummy_hash.cache_clear()
    client = make_app().test_client()
    assert client.get("/instruction/connexion").status_code == 200 and client.get(LIST).status_code == 302
    assert hashed == []
    assert login(client, "inconnu", PASSWORD).status_code == 401
    assert hashed == [1]  # the dummy hash, checked against for the unknown name
