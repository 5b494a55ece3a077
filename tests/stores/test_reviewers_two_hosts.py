"""Reviewers across two collector hosts (two gunicorns with 2 workers each and their own data
folders, one PostgreSQL database), as a browser behind nginx sees them: its one session cookie
goes to either host. A login through one host is recognised by the other (whose review pages
then answer the French refusal, not the login page); a logout through one ends the session on
the other; five failed logins spread over both lock the pair on both; a password changed
through one host's command ends the sessions on the other; CSRF still holds."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from urllib.parse import urlencode

import pytest

from tests.review.conftest import PASSWORD, csrf_of
from tests.stores.test_two_hosts import host_env
from tests.support.payloads import Reply, request
from tests.support.servers import REPO_ROOT, gunicorn

LOGIN, LOGOUT, LIST = "/instruction/connexion", "/instruction/deconnexion", "/instruction/"
FORM = "application/x-www-form-urlencoded"


class Browser:
    """One reviewer's browser: the session cookie it holds, sent to whichever host it asks."""

    def __init__(self) -> None:
        self.cookie = ""

    def open(self, host, method: str, path: str, fields: dict[str, str] | None = None) -> Reply:
        headers = {"Cookie": f"session={self.cookie}"} if self.cookie else {}
        body = None
        if fields is not None:
            body, headers["Content-Type"] = urlencode(fields).encode("utf-8"), FORM
        reply = request(host.base_url, method, path, body, headers)
        for line in reply.cookies:
            name, _, rest = line.partition("=")
            if name == "session":
                self.cookie = rest.split(";", 1)[0]
        return reply

    def token(self, host) -> str:
        """The session's CSRF token, from the login page (anonymous) or the refusal page (logged in)."""
        page = self.open(host, "GET", LOGIN)
        if page.status == 302:
            page = self.open(host, "GET", LIST)
        return csrf_of(page.text)

    def login(self, host, password: str = PASSWORD) -> Reply:
        return self.open(host, "POST", LOGIN, {"csrf_token": self.token(host), "identifiant": "alice",
                                               "mot_de_passe": password})

    def logout(self, host) -> Reply:
        return self.open(host, "POST", LOGOUT, {"csrf_token": self.token(host)})

    def is_recognised_by(self, host) -> bool:
        """True when the host knows this reviewer: its list answers the list, not the login page."""
        reply = self.open(host, "GET", LIST)
        if reply.status == 302:
            assert reply.location.startswith(LOGIN)
            return False
        assert reply.status == 200 and "connecté : <strong>alice</strong>" in html.unescape(reply.text), reply.text
        return True


def create_user(env: dict[str, str], password: str = PASSWORD) -> None:
    """`flask --app collector create-user alice`, as an administrator runs it on one host."""
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "collector",
                             "create-user", "alice", "--password-stdin"], input=password + "\n",
                            env={**os.environ, **env}, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Compte « alice »" in result.stdout


@pytest.fixture
def hosts(database_url, tmp_path):
    """Hosts A and B running, and the environment of each (for its commands); alice has an account."""
    envs = []
    for name in "ab":
        folder = tmp_path / f"hote-{name}"
        folder.mkdir()
        envs.append(host_env(database_url, str(folder), COLLECTOR_COOKIE_SECURE="0"))
    create_user(envs[0])
    with gunicorn(envs[0], workers=2, log_dir=str(tmp_path)) as host_a, \
            gunicorn(envs[1], workers=2, log_dir=str(tmp_path)) as host_b:
        yield host_a, host_b, envs


def test_a_reviewer_logged_in_through_one_host_is_recognised_by_the_other(hosts):
    host_a, host_b, _envs = hosts
    browser, stranger = Browser(), Browser()
    assert not browser.is_recognised_by(host_b)
    reply = browser.login(host_a)
    assert reply.status == 303 and reply.location == LIST
    assert browser.is_recognised_by(host_b) and browser.is_recognised_by(host_a)
    assert not stranger.is_recognised_by(host_b)


def test_logging_out_through_one_host_ends_the_session_on_the_other(hosts):
    host_a, host_b, _envs = hosts
    browser, laptop = Browser(), Browser()
    assert browser.login(host_a).status == 303 and laptop.login(host_a).status == 303
    assert browser.logout(host_b).status == 303
    assert not browser.is_recognised_by(host_a)
    assert not laptop.is_recognised_by(host_a) and not laptop.is_recognised_by(host_b)  # every session of alice


def test_five_failed_logins_spread_over_both_hosts_lock_the_pair_on_both(hosts):
    host_a, host_b, _envs = hosts
    browser = Browser()
    for attempt in range(5):
        reply = browser.login((host_a, host_b)[attempt % 2], password=f"faux {attempt}")
        assert reply.status == 401 and "Identifiant ou mot de passe incorrect." in html.unescape(reply.text)
    for host in (host_a, host_b):
        locked = browser.login(host)  # the right password, too late
        assert locked.status == 429
        assert "Trop d'essais infructueux" in html.unescape(locked.text)
        assert "Réessayez dans 15 minutes." in html.unescape(locked.text)
    assert not browser.is_recognised_by(host_b)


def test_a_password_changed_through_one_host_ends_the_sessions_on_the_other(hosts):
    host_a, host_b, envs = hosts
    browser = Browser()
    assert browser.login(host_b).status == 303 and browser.is_recognised_by(host_b)
    create_user(envs[0], password="un tout nouveau mot de passe")
    assert not browser.is_recognised_by(host_b)
    assert browser.login(host_b).status == 401  # the old password is over on both hosts
    assert browser.login(host_a, password="un tout nouveau mot de passe").status == 303
    assert browser.is_recognised_by(host_b)


def test_csrf_still_holds_across_hosts(hosts):
    host_a, host_b, _envs = hosts
    browser, other = Browser(), Browser()
    anonymous = browser.open(host_b, "POST", LOGIN, {"identifiant": "alice", "mot_de_passe": PASSWORD})
    assert anonymous.status == 403  # a login without the session's token
    assert browser.login(host_a).status == 303
    foreign = other.token(host_b)  # a token of another session
    for fields in ({}, {"csrf_token": foreign}):
        assert browser.open(host_b, "POST", LOGOUT, fields).status == 403
    assert browser.is_recognised_by(host_a)  # nothing was done
    assert browser.logout(host_b).status == 303  # the session's own token, on either host
