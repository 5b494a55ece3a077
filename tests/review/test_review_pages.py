"""The review pages under /instruction/: access control, CSRF, login throttling, list, detail, decisions."""

from __future__ import annotations

import html as htmllib
import os
import re
from http.cookies import SimpleCookie

import pytest
from openpyxl import load_workbook
import io

from collector import create_app
from collector.statuses import add_note, read_history
from collector.review import throttle
from tests.conftest import STORE_KINDS
from tests.review.conftest import PASSWORD, csrf_of, login
from tests.support.stores import break_history

LOGIN = "/instruction/connexion"
# Login, logout and the session check work alike on PostgreSQL (whose other review pages then
# answer a logged-in reviewer a French 503, see tests/stores/test_unshared.py).
ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)


def text(response) -> str:
    """The page as a reader sees it (entities decoded)."""
    return htmllib.unescape(response.get_data(as_text=True))


def review_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/instruction")]


def concrete(rule) -> str:
    values = {"reference": "AMI-2021-0001", "fmt": "csv", "name": "statuts", "number": 1}
    return rule.build({name: values[name] for name in rule.arguments})[1]


def test_the_walk_covers_the_whole_blueprint(app):
    endpoints = {rule.endpoint for rule in review_rules(app)}
    assert {"review.login", "review.logout", "review.index", "review.detail", "review.set_status",
            "review.post_note", "review.export"} <= endpoints


@ON_BOTH_STORES
def test_nothing_under_instruction_answers_without_a_login(app, client, records, test_store):
    """Every route, every method: a redirect to the login page or a refusal, never content."""
    page = client.get(LOGIN)
    assert page.status_code == 200
    token = csrf_of(page.text)
    for rule in review_rules(app):
        if rule.endpoint == "review.login":
            continue
        path = concrete(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for data in ({}, {"csrf_token": token, "statut": "en_instruction", "texte": "x"}):
                response = client.open(path, method=method, data=data if method == "POST" else None)
                assert response.status_code in {302, 303, 403}, (method, path, response.status_code)
                if response.status_code in {302, 303}:
                    assert response.headers["Location"].startswith(LOGIN), (method, path)
                assert b"AMI-2021-0001" not in response.data or response.status_code != 200
    assert read_history(test_store, "AMI-2021-0001")["events"] == []


@ON_BOTH_STORES
def test_login_redirects_back_to_the_asked_page(client, reviewer, records):
    first = client.get("/instruction/AMI-2021-0003")
    assert first.status_code == 302
    target = re.search(r"suivant=([^&]+)", first.headers["Location"]).group(1)
    page = client.get(first.headers["Location"])
    response = client.post(LOGIN, data={"csrf_token": csrf_of(page.text), "identifiant": "alice",
                                        "mot_de_passe": PASSWORD, "suivant": "/instruction/AMI-2021-0003"})
    assert response.status_code == 303 and response.headers["Location"] == "/instruction/AMI-2021-0003"
    assert "AMI-2021-0003" in target


@ON_BOTH_STORES
@pytest.mark.parametrize("hostile", ["https://evil.example/", "//evil.example/instruction/", "/candidater/"])
def test_login_never_redirects_outside_the_review_pages(client, reviewer, hostile):
    page = client.get(LOGIN)
    response = client.post(LOGIN, data={"csrf_token": csrf_of(page.text), "identifiant": "alice",
                                        "mot_de_passe": PASSWORD, "suivant": hostile})
    assert response.headers["Location"] == "/instruction/"


def test_session_cookie_is_secure_httponly_and_samesite(monkeypatch, review_env, reviewer):
    monkeypatch.setenv("COLLECTOR_COOKIE_SECURE", "1")
    secure_app = create_app()
    client = secure_app.test_client()
    page = client.get(LOGIN, base_url="https://localhost")
    header = page.headers["Set-Cookie"]
    cookie = SimpleCookie(header)["session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] in {"Lax", "Strict"}


def test_a_post_without_the_csrf_token_is_refused(logged_in, records, test_store):
    for data in ({"statut": "en_instruction"}, {"statut": "en_instruction", "csrf_token": "forged"},
                 {"statut": "en_instruction", "csrf_token": "é"}, {"statut": "en_instruction", "csrf_token": "\ufffd" * 43}):
        response = logged_in.post("/instruction/AMI-2021-0001/statut", data=data)
        assert response.status_code == 403
        assert "Jeton de sécurité absent ou expiré" in response.get_data(as_text=True)
    assert read_history(test_store, "AMI-2021-0001")["events"] == []


def test_review_pages_load_their_own_stylesheet_which_public_pages_never_do(client, reviewer, records):
    pages = [client.get(LOGIN)]
    login(client)
    pages.append(client.get("/instruction/"))
    for page in pages:
        assert page.status_code == 200
        assert '<link rel="stylesheet" href="/theme/css/site.css">' in page.text
        assert '<link rel="stylesheet" href="/theme/css/review.css">' in page.text
    assert "review.css" not in client.get("/candidater/").text


@ON_BOTH_STORES
def test_the_login_form_itself_needs_the_csrf_token(client, reviewer):
    client.get(LOGIN)
    response = client.post(LOGIN, data={"identifiant": "alice", "mot_de_passe": PASSWORD})
    assert response.status_code == 403
    forged = client.post(LOGIN, data={"identifiant": "alice", "mot_de_passe": PASSWORD, "csrf_token": "é"})
    assert forged.status_code == 403 and "Jeton de sécurité absent ou expiré" in forged.text


@ON_BOTH_STORES
@pytest.mark.parametrize("name, password", [("alice", "mauvais mot de passe"), ("inconnu", PASSWORD), ("", "")])
def test_wrong_credentials_get_one_french_message(client, reviewer, name, password):
    response = login(client, name, password)
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get("/instruction/").status_code == 302


@ON_BOTH_STORES
def test_logins_are_throttled_across_workers(make_app, reviewer):
    """Two app instances (two gunicorn workers) share the failure count through the store."""
    worker_a, worker_b = make_app().test_client(), make_app().test_client()
    for attempt in range(throttle.MAX_FAILURES):
        client = worker_a if attempt % 2 else worker_b
        assert login(client, "alice", f"faux {attempt}").status_code == 401
    locked = login(worker_a, "alice", PASSWORD)
    assert locked.status_code == 429
    assert "Trop d'essais infructueux" in text(locked)
    assert "Réessayez dans 15 minutes." in text(locked)
    assert login(worker_b, "alice", PASSWORD).status_code == 429


def test_the_throttle_database_holds_no_name_or_address(review_env, reviewer, data_dir, client):
    login(client, "alice", "faux")
    folder = f"{data_dir}/state"
    names = [name for name in os.listdir(folder) if name.startswith(throttle.DB_FILE)]
    assert names
    for name in names:  # the database and its write-ahead log
        content = open(os.path.join(folder, name), "rb").read()
        assert b"alice" not in content and b"127.0.0.1" not in content


@ON_BOTH_STORES
def test_logout_ends_the_session(logged_in):
    page = logged_in.get("/instruction/")
    response = logged_in.post("/instruction/deconnexion", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert logged_in.get("/instruction/").status_code == 302


def test_a_deleted_account_loses_access(logged_in, data_dir):
    import os

    os.unlink(f"{data_dir}/accounts/users.yaml")
    assert logged_in.get("/instruction/").status_code == 302


@ON_BOTH_STORES
def test_the_list_shows_counts_and_filters(logged_in, records):
    page = logged_in.get("/instruction/?departement=14")
    html = page.get_data(as_text=True)
    expected = [r for r in records if r["derived"]["departement"]["code"] == "14"]
    assert f"<strong>1–{len(expected)} sur {len(expected)}</strong> (sélection parmi {len(records)})." in html
    for record in records:
        assert (f">{record['reference']}</a>" in html) == (record in expected)
    assert page.headers["Cache-Control"] == "no-store"
    assert '<option value="14" selected>14 — Calvados</option>' in html
    assert '<select id="f-statut" name="statut">\n<option value="">Tous</option>' in html


@ON_BOTH_STORES
def test_the_detail_page_shows_labels_flags_duplicates_and_history(logged_in, records, form, put_records):
    put_records(1, start=20, contact_email=records[0]["answers"]["contact_email"])
    html = logged_in.get("/instruction/AMI-2021-0020").get_data(as_text=True)
    assert "Candidature AMI-2021-0020" in html
    assert form.field("thematiques").label in html
    assert "e-mail en double" in html
    assert 'href="/instruction/AMI-2021-0001"' in html and "(même adresse e-mail)" in html


@ON_BOTH_STORES
def test_a_reviewer_changes_a_status_with_a_note(logged_in, records, test_store):
    page = logged_in.get("/instruction/AMI-2021-0005")
    response = logged_in.post("/instruction/AMI-2021-0005/statut", data={
        "csrf_token": csrf_of(page.text), "statut": "en_instruction", "statut_actuel": "recu",
        "note": "Dossier complet, à étudier."})
    assert response.status_code == 303
    html = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Statut enregistré : en instruction." in html
    event = read_history(test_store, "AMI-2021-0005")["events"][0]
    assert (event["by"], event["to"], event["note"]) == ("alice", "en_instruction", "Dossier complet, à étudier.")


@ON_BOTH_STORES
def test_a_refused_status_change_is_explained_on_the_page(logged_in, records, test_store):
    page = logged_in.get("/instruction/AMI-2021-0005")
    response = logged_in.post("/instruction/AMI-2021-0005/statut", data={
        "csrf_token": csrf_of(page.text), "statut": "oriente_feder", "statut_actuel": "recu", "note": "garde-moi"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Erreur : " in html
    assert "Passage impossible de « reçu » à « orienté : FEDER »" in html
    assert "garde-moi</textarea>" in html
    assert read_history(test_store, "AMI-2021-0005")["events"] == []


@ON_BOTH_STORES
def test_a_note_is_added_from_the_page(logged_in, records, test_store):
    page = logged_in.get("/instruction/AMI-2021-0006")
    response = logged_in.post("/instruction/AMI-2021-0006/note",
                              data={"csrf_token": csrf_of(page.text), "texte": "Appeler la mairie."})
    assert response.status_code == 303
    assert read_history(test_store, "AMI-2021-0006")["events"][0]["note"] == "Appeler la mairie."


@ON_BOTH_STORES
def test_unknown_reference_is_a_404(logged_in, records):
    assert logged_in.get("/instruction/AMI-2021-0999").status_code == 404


@ON_BOTH_STORES
def test_downloads_follow_the_filters(logged_in, records):
    csv_response = logged_in.get("/instruction/export.csv?departement=14")
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["Content-Disposition"]
    expected = sum(r["derived"]["departement"]["code"] == "14" for r in records)
    assert csv_response.data.decode("utf-8-sig").count("\r\nAMI-2021-") == expected
    xlsx_response = logged_in.get("/instruction/export.xlsx")
    assert load_workbook(io.BytesIO(xlsx_response.data)).active.max_row == len(records) + 1


def test_an_unreadable_history_is_shown_not_a_server_error(logged_in, records, test_store):
    add_note(test_store, "AMI-2021-0009", "Une note.", by="alice")
    break_history(test_store, "AMI-2021-0009")
    page = logged_in.get("/instruction/AMI-2021-0009")
    assert page.status_code == 200
    assert "Historique illisible" in text(page)
    listing = text(logged_in.get("/instruction/"))
    assert "reviews/AMI-2021-0009.yaml : historique des décisions illisible." in listing
    refused = logged_in.post("/instruction/AMI-2021-0009/statut",
                             data={"csrf_token": csrf_of(page.text), "statut": "en_instruction"})
    assert refused.status_code == 400 and "Historique illisible" in text(refused)
