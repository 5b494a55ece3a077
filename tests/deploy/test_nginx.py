"""The production stack: Debian's nginx with deploy/nginx in front of gunicorn with
deploy/gunicorn.conf.py, serving the site built by publishconf.py."""

from __future__ import annotations

import gzip
import json
import os
import re
from urllib.parse import urlsplit

import pytest

from collector.formdef import load_form
from tests.deploy.client import fetch
from tests.deploy.nginx_server import nginx
from tests.support.browser import guard_network
from tests.support.payloads import encode_form, fetch_hidden, form_hidden_fields, valid_answers

FRENCH_PAGE = re.compile(r'<html[^>]* lang="fr"')


def get(stack, path, **kwargs):
    return fetch(stack.nginx.https_url + path, cafile=stack.nginx.certificate, **kwargs)


def read(site_dir: str, relative: str) -> bytes:
    with open(os.path.join(site_dir, relative), "rb") as handle:
        return handle.read()


# --- The static site ------------------------------------------------------------------------


@pytest.mark.parametrize("path, file", [
    ("/", "index.html"),
    ("/calendrier/", "calendrier/index.html"),
    ("/contacts/", "contacts/index.html"),
    ("/theme/css/site.css", "theme/css/site.css"),
    ("/actualites/atom.xml", "actualites/atom.xml"),
])
def test_nginx_serves_the_built_files_precompressed_when_the_browser_accepts_gzip(stack, path, file):
    plain = get(stack, path)
    packed = get(stack, path, headers={"Accept-Encoding": "gzip"})
    assert plain.status == packed.status == 200
    assert plain.body == read(stack.site_dir, file)
    assert plain.header("Content-Encoding") is None
    assert packed.header("Content-Encoding") == "gzip"
    assert packed.body == read(stack.site_dir, file + ".gz")
    assert gzip.decompress(packed.body) == plain.body
    assert "Accept-Encoding" in packed.header("Vary")
    assert packed.header("Server") == "nginx"  # no version number


def test_html_is_revalidated_and_the_theme_is_cached_for_a_day(stack):
    assert get(stack, "/contacts/").header("Cache-Control") == "no-cache"
    assert get(stack, "/theme/css/site.css").header("Cache-Control") == "max-age=86400"


def test_the_calendar_file_is_served_as_text_calendar(stack):
    ics = [name for name in os.listdir(os.path.join(stack.site_dir, "calendrier")) if name.endswith(".ics")]
    assert ics, "the build wrote no .ics file"
    reply = get(stack, f"/calendrier/{ics[0]}")
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("text/calendar")
    assert reply.body.startswith(b"BEGIN:VCALENDAR")


def test_an_unknown_address_gets_the_sites_own_404_page(stack):
    reply = get(stack, "/page-qui-n-existe-pas/")
    assert reply.status == 404
    assert reply.body == read(stack.site_dir, "404.html")


def test_hidden_files_are_never_served(stack):
    with open(os.path.join(stack.site_dir, ".secret"), "w", encoding="utf-8") as handle:
        handle.write("x")
    assert get(stack, "/.secret").status == 404


def test_plain_http_redirects_to_the_same_address_in_https(stack):
    reply = fetch(stack.nginx.http_url + "/contacts/?a=1")
    assert reply.status == 301
    assert reply.header("Location") == stack.nginx.https_url + "/contacts/?a=1"


# --- Security headers, through nginx and from gunicorn alone ---------------------------------


def collector_error_post(base_url: str, **kwargs):
    """A form post with no answers at all: the collector refuses it with a 4xx page."""
    return fetch(base_url + "/candidater/", method="POST", body=b"raison_sociale=",
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": base_url}, **kwargs)


def login_page(base_url: str, **kwargs):
    """/instruction/: the login page, or where /instruction/ sends a visitor who is not logged in."""
    reply = fetch(base_url + "/instruction/", **kwargs)
    if 300 <= reply.status < 400:
        location = reply.header("Location")
        target = location if location.startswith("http") else base_url + location
        reply = fetch(target, **kwargs)
    return reply


TARGETS = {
    "static page": lambda base, **kw: fetch(base + "/contacts/", **kw),
    "stylesheet": lambda base, **kw: fetch(base + "/theme/css/site.css", **kw),
    "form": lambda base, **kw: fetch(base + "/candidater/", **kw),
    "refused post": collector_error_post,
    "unknown page": lambda base, **kw: fetch(base + "/page-qui-n-existe-pas/", **kw),
    "health check": lambda base, **kw: fetch(base + "/healthz", **kw),
    "review login": login_page,
}
EXPECTED_STATUS = {"refused post": range(400, 500), "unknown page": [404]}


def assert_security_headers(reply, hsts: bool) -> None:
    policies = reply.headers("Content-Security-Policy")
    assert len(policies) == 1, policies
    assert "unsafe-inline" not in policies[0]
    assert "frame-ancestors 'none'" in policies[0]
    assert "default-src 'self'" in policies[0]
    assert reply.headers("X-Content-Type-Options") == ["nosniff"]
    assert len(reply.headers("Referrer-Policy")) == 1
    assert reply.header("Referrer-Policy") in {"no-referrer", "same-origin", "strict-origin",
                                               "strict-origin-when-cross-origin"}
    if hsts:
        values = reply.headers("Strict-Transport-Security")
        assert len(values) == 1, values
        assert int(re.search(r"max-age=(\d+)", values[0]).group(1)) >= 365 * 24 * 3600


@pytest.mark.parametrize("target", TARGETS)
def test_every_response_through_nginx_carries_each_security_header_once(stack, target):
    reply = TARGETS[target](stack.nginx.https_url, cafile=stack.nginx.certificate)
    assert reply.status in EXPECTED_STATUS.get(target, [200])
    assert_security_headers(reply, hsts=True)


@pytest.mark.parametrize("target", TARGETS)
def test_every_response_from_gunicorn_alone_carries_the_security_headers(stack, target):
    reply = TARGETS[target](stack.gunicorn.base_url)
    assert reply.status in EXPECTED_STATUS.get(target, [200])
    assert_security_headers(reply, hsts=False)


def test_nginx_and_the_collector_send_the_same_policy(stack):
    through_nginx = get(stack, "/candidater/")
    direct = fetch(stack.gunicorn.base_url + "/candidater/")
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                 "Permissions-Policy", "Cross-Origin-Opener-Policy"):
        assert through_nginx.headers(name) == direct.headers(name), name
    static = get(stack, "/contacts/")
    assert static.header("Content-Security-Policy") == direct.header("Content-Security-Policy")


def test_nginx_body_cap_is_the_collectors_own(stack, monkeypatch, tmp_path):
    from collector import create_app

    monkeypatch.setenv("COLLECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COLLECTOR_MAX_BODY_BYTES", raising=False)
    app = create_app()
    cap = re.search(r"client_max_body_size (\d+);", stack.nginx.site_conf).group(1)
    assert int(cap) == app.config["MAX_CONTENT_LENGTH"]


# --- The collector behind nginx --------------------------------------------------------------


def test_a_post_larger_than_the_cap_gets_a_french_413_page_from_nginx(stack):
    cap = int(re.search(r"client_max_body_size (\d+);", stack.nginx.site_conf).group(1))
    reply = get(stack, "/candidater/", method="POST", body=b"a=" + b"x" * cap,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 413
    assert FRENCH_PAGE.search(reply.text)
    assert "trop volumineux" in reply.text
    assert_security_headers(reply, hsts=True)


def test_a_stopped_collector_gives_a_french_503_page(stack, tmp_path):
    with nginx(stack.site_dir, "127.0.0.1:9", str(tmp_path / "nginx")) as proxy:
        reply = fetch(proxy.https_url + "/candidater/", cafile=proxy.certificate)
        static = fetch(proxy.https_url + "/contacts/", cafile=proxy.certificate)
    assert reply.status == 503
    assert FRENCH_PAGE.search(reply.text)
    assert "indisponible" in reply.text
    assert_security_headers(reply, hsts=True)
    assert static.status == 200  # the site itself stays up


def test_too_many_posts_from_one_client_get_a_french_429_page(stack, tmp_path):
    upstream = urlsplit(stack.gunicorn.base_url).netloc
    with nginx(stack.site_dir, upstream, str(tmp_path / "nginx"), POST_RATE="1r/m", POST_BURST="2") as proxy:
        statuses = []
        for _ in range(4):
            reply = collector_error_post(proxy.https_url, cafile=proxy.certificate)
            statuses.append(reply.status)
        page_after = fetch(proxy.https_url + "/candidater/", cafile=proxy.certificate)
    # One post now plus a burst of two pass (and are refused by the collector: no answers);
    # the fourth within the minute is stopped by nginx.
    assert [status == 429 for status in statuses] == [False, False, False, True], statuses
    assert FRENCH_PAGE.search(reply.text)
    assert page_after.status == 200  # reading the form is never limited


def test_a_post_through_nginx_is_stored_with_its_https_origin(stack):
    form = load_form()
    answers = valid_answers(form)
    answers["projet_titre"] = "Projet envoyé à travers nginx"
    base = stack.nginx.https_url
    hidden = form_hidden_fields(get(stack, "/candidater/").text)
    reply = get(stack, "/candidater/", method="POST", body=encode_form(answers, hidden),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": base,
                         "Accept": "application/json"})
    assert reply.status == 201, reply.text
    reference = json.loads(reply.body)["reference"]
    record = stack.store.record(reference)
    assert record["answers"]["projet_titre"] == "Projet envoyé à travers nginx"


def test_a_post_from_another_site_is_refused_through_nginx(stack):
    hidden = fetch_hidden(stack.gunicorn.base_url)
    answers = valid_answers(load_form())
    before = len(stack.store.records())
    reply = get(stack, "/candidater/", method="POST", body=encode_form(answers, hidden),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://pirate.example"})
    assert 400 <= reply.status < 500
    assert len(stack.store.records()) == before


# --- A person, in Chromium ----------------------------------------------------------------


def fill_form(page, form, answers) -> None:
    """Answer every question as a person would, in the form's order."""
    scope = page.locator('form[method="post"]')
    for item in form.fields:
        value = answers.get(item.name)
        if value in (None, "", []):
            continue
        if item.type == "radio":
            scope.locator(f'input[type=radio][name="{item.name}"][value="{value}"]').check()
        elif item.type == "checkboxes":
            for choice in value:
                scope.locator(f'input[type=checkbox][name="{item.name}"][value="{choice}"]').check()
        elif item.type == "checkbox":
            scope.locator(f'input[type=checkbox][name="{item.name}"]').check()
        elif item.type == "select":
            scope.locator(f'select[name="{item.name}"]').select_option(value)
        else:
            scope.locator(f'[name="{item.name}"]').fill(value)


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_person_sends_the_form_through_nginx_in_chromium(stack, chromium, javascript):
    form = load_form()
    answers = valid_answers(form)
    title = f"Tiers-lieu envoyé par Chromium ({'avec' if javascript else 'sans'} JavaScript)"
    answers["projet_titre"] = title
    context = chromium.new_context(locale="fr-FR", ignore_https_errors=True, java_script_enabled=javascript)
    outside: list[str] = []
    guard_network(context, outside)
    try:
        page = context.new_page()
        page.goto(stack.nginx.https_url + "/")
        page.click('a[href$="/candidater/"]')
        page.wait_for_url("**/candidater/")
        fill_form(page, form, answers)
        page.locator('form[method="post"] button[type="submit"]').click()
        page.wait_for_url(re.compile(r".*/candidater/recu/[^/?]+.*"))
        reference = urlsplit(page.url).path.rstrip("/").rsplit("/", 1)[1]
        assert reference in page.inner_text("main")
    finally:
        context.close()
    assert outside == []
    record = stack.store.record(reference)
    assert record["answers"]["projet_titre"] == title
    assert record["answers"]["contact_email"] == answers["contact_email"]


def test_access_logs_hold_no_personal_data_nor_query_string(stack):
    # After the posts above: the logs have requests, but no address, no key, no answer.
    get(stack, "/candidater/?cle=secret-de-recu")
    get(stack, "/contacts/?utm=x")
    with open(os.path.join(stack.nginx.work_dir, "site-access.log"), encoding="utf-8") as handle:
        nginx_log = handle.read()
    for log in (nginx_log, stack.gunicorn.log()):
        assert '"GET /candidater/"' in log
        assert "cle=" not in log and "secret-de-recu" not in log
        assert "camille.lefevre@example.org" not in log and "Lefèvre" not in log
    assert '"POST /candidater/" 201' in nginx_log
    assert '"GET /contacts/" 200' in nginx_log
    assert "127.0.0.1" not in nginx_log


@pytest.mark.parametrize(("path", "headers", "status", "words"), [
    ("/instruction/?q=" + "x" * 5000, {}, 414, "Adresse trop longue"),  # above nginx's 4 KiB request line
    ("/instruction/?q=" + "x" * 4000, {}, None, None),  # below it: the collector answers, in French
    ("/candidater/", {"Cookie": "a=" + "x" * 5000}, 400, "Requête incorrecte"),  # one header line over 4 KiB
    ("/candidater/", {f"X-Champ-{number}": "x" for number in range(150)}, None, None),  # more than gunicorn's 100
])
def test_requests_too_long_get_a_french_page_never_gunicorns_english_one(stack, path, headers, status, words):
    reply = get(stack, path, headers=headers)
    assert FRENCH_PAGE.search(reply.text) and "Request" not in reply.text and "Limit" not in reply.text, reply.text
    if status is not None:
        assert reply.status == status and words in reply.text
        assert_security_headers(reply, hsts=True)
