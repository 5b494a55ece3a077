"""POST /candidater/ through the real Flask app: what is stored, what is refused, in French.

Every test runs on both stores (the data folder and PostgreSQL), but those about the data
folder's own files, which say so by fixing `store_kind`."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from collector import appstate
from collector.formdef import DEFAULT_FORM_PATH
from collector.records import iter_record_paths
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers

from .conftest import STORE_KINDS, fresh_hidden, stored_records

URLENCODED = "application/x-www-form-urlencoded"
ON_THE_DATA_FOLDER = pytest.mark.parametrize("store_kind", ["folder"])


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


def post(client, answers, hidden, **headers):
    return client.post("/candidater/", data=encode_form(answers, hidden), content_type=URLENCODED, headers=headers)


def records(app):
    return stored_records(app)


def test_the_form_page_carries_a_fresh_token_and_submission_id(client):
    first, second = fresh_hidden(client), fresh_hidden(client)
    assert first["jeton"] and first["id_envoi"] and first["site_web"] == ""
    assert first["id_envoi"] != second["id_envoi"]
    page = client.get("/candidater/").text
    assert 'novalidate' in page and 'autocomplete=email' in page and 'aria-hidden=true' in page
    assert '<fieldset class=group aria-describedby=g-1><legend>Votre structure</legend><p class=hint id=g-1>' in page
    assert 'href="/donnees-personnelles/"' in page


def test_a_valid_post_is_stored_then_confirmed(app, client, form):
    reply = post(client, valid_answers(form), fresh_hidden(client))
    assert reply.status_code == 303
    assert reply.headers["Location"].startswith("/candidater/recu/AMI-2021-0001?cle=")
    [record] = records(app)
    assert record["reference"] == "AMI-2021-0001" and record["form_version"] == form.version
    assert list(record["answers"]) == list(form.names)
    assert record["derived"]["departement"] == {"code": "14", "name": "Calvados"} and record["flags"] == []
    receipt = client.get(reply.headers["Location"])
    assert receipt.status_code == 200
    assert "AMI-2021-0001" in receipt.text and "juin 2021" in receipt.text and "début juillet 2021" in receipt.text
    assert "camille.lefevre@example.org" in receipt.text  # the address the mails go to, to check it


def test_the_receipt_and_the_mail_use_the_previewed_clock(app, client, form):
    """AMI_NOW (15 April 2021, 10:00, Paris) is « now » for the record, the receipt and the mail alike."""
    from collector.mail.delivery import MailSettings, compose_acknowledgement

    location = post(client, valid_answers(form), fresh_hidden(client)).headers["Location"]
    [record] = records(app)
    assert record["received_at"].startswith("2021-04-15T10:00:00")
    assert "Reçue le <time datetime=\"2021-04-15T10:00:00+02:00\">jeudi 15 avril 2021 à 10 h 00</time>" in client.get(location).text
    mail = compose_acknowledgement(record, app.config["FACTS"], form, MailSettings())
    assert "Reçue le : jeudi 15 avril 2021 à 10 h 00" in mail.get_payload(decode=True).decode()


def test_json_clients_get_201_with_the_reference(app, client, form):
    reply = client.post("/candidater/", json={**fresh_hidden(client), **valid_answers(form)},
                        headers={"Accept": "application/json"})
    assert reply.status_code == 201
    body = reply.get_json()
    assert body["reference"] == "AMI-2021-0001" and body["confirmation_url"].startswith("/candidater/recu/")
    assert body["received_at"] == records(app)[0]["received_at"]
    assert body["acknowledged"] is True, "its acknowledgement is on its way"


def test_a_script_posting_json_without_accept_gets_json(client, form):
    reply = client.post("/candidater/", json={**fresh_hidden(client), **valid_answers(form)})
    assert reply.status_code == 201 and reply.get_json()["reference"] == "AMI-2021-0001"
    refused = client.post("/candidater/", json=[1], headers={"Accept": "*/*"})
    assert refused.status_code == 400 and refused.get_json()["error"].startswith("Un objet JSON est attendu")


def test_outside_normandy_is_accepted_and_flagged(app, client, form):
    post(client, {**valid_answers(form), "code_postal": "75011"}, fresh_hidden(client))
    [record] = records(app)
    assert record["flags"] == ["hors_normandie"] and record["derived"]["departement"]["name"] == "Paris"


def test_an_invalid_post_shows_the_form_again_with_values_and_messages(app, client, form):
    answers = {**valid_answers(form), "siret": "123", "contact_email": "camille@"}
    reply = post(client, answers, fresh_hidden(client))
    assert reply.status_code == 422
    page = reply.text
    assert "<title>Erreur : " in page and 'role=alert' in page
    assert '<a href="#siret">Le numéro SIRET compte 14 chiffres : vérifiez votre saisie.</a>' in page
    assert '<a href="#contact_email">' in page
    assert 'aria-invalid=true' in page and 'aria-describedby=siret-error' in page
    assert '<label for=siret>Numéro SIRET <small>14 chiffres' in page  # the hint is in the label
    assert 'value="Communauté de communes du Pays de Falaise"' in page and 'value="camille@"' in page
    assert 'value=tiers_lieu_numerique checked' in page
    assert records(app) == []


def test_json_errors_come_back_as_422_by_field(client, form):
    reply = client.post("/candidater/", json={**fresh_hidden(client), **valid_answers(form), "code_postal": "1"},
                        headers={"Accept": "application/json"})
    assert reply.status_code == 422
    assert reply.get_json() == {"errors": {"code_postal": "Saisissez un code postal français de 5 chiffres, par exemple 14000."}}


def test_sending_twice_gives_the_same_receipt_and_one_record(app, client, form):
    hidden = fresh_hidden(client)
    first = post(client, valid_answers(form), hidden)
    second = post(client, {**valid_answers(form), "projet_titre": "Changé après retour arrière"}, hidden)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(records(app)) == 1 and records(app)[0]["answers"]["projet_titre"] != "Changé après retour arrière"


@pytest.mark.parametrize("hidden", [
    {},  # the static page built by Pelican has no token
    {"jeton": "", "id_envoi": ""},
    {"jeton": "WyJmb3JnZWQiLDBd.forged", "id_envoi": "forgedforgedforged"},
])
def test_a_missing_or_forged_token_gives_the_form_back_with_a_fresh_one(app, client, form, hidden):
    reply = post(client, valid_answers(form), hidden)
    assert reply.status_code == 422
    assert "Vos réponses sont conservées ci-dessous" in reply.text
    again = form_hidden_fields(reply.text)
    assert again["jeton"] and again["id_envoi"]
    assert 'value="Tiers-lieu numérique du Pays de Falaise"' in reply.text
    assert records(app) == []
    assert post(client, valid_answers(form), again).status_code == 303


def test_a_token_for_another_submission_id_is_refused(app, client, form):
    hidden = {**fresh_hidden(client), "id_envoi": fresh_hidden(client)["id_envoi"]}
    assert post(client, valid_answers(form), hidden).status_code == 422
    assert records(app) == []


def test_a_filled_honeypot_gets_a_quiet_page_that_claims_nothing_was_sent(app, client, form, caplog):
    reply = post(client, valid_answers(form), {**fresh_hidden(client), "site_web": "http://spam.example"})
    assert reply.status_code == 303 and reply.headers["Location"] == "/candidater/merci/"
    page = client.get("/candidater/merci/").text
    assert "Aucune manifestation d'intérêt n'a été enregistrée" in page
    assert "transmis" not in page and "reçu" not in page.split("<main", 1)[1].split("« Manifestation")[0]
    assert records(app) == []
    assert "discarded: honeypot" in caplog.text and "Falaise" not in caplog.text
    as_json = client.post("/candidater/", json={**fresh_hidden(client), **valid_answers(form), "site_web": "x"})
    assert as_json.get_json()["status"] == "non_enregistre" and records(app) == []


def slow_app(make_app, monkeypatch, **config):
    """An app whose time trap is one minute, as strict as a person could ever meet."""
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    return make_app(MIN_FILL_SECONDS=60, SECRET_KEY="k", **config)


def test_a_valid_post_sent_too_fast_gets_the_form_back_never_a_thank_you(make_app, monkeypatch, form, caplog):
    app = slow_app(make_app, monkeypatch)
    client = app.test_client()
    hidden = fresh_hidden(client)
    reply = post(client, valid_answers(form), hidden)
    assert reply.status_code == 422
    assert "Vérifiez vos réponses puis envoyez à nouveau" in reply.text
    assert "Merci" not in reply.text and "transmis" not in reply.text
    assert 'value="Tiers-lieu numérique du Pays de Falaise"' in reply.text
    again = form_hidden_fields(reply.text)
    assert again["jeton"] and again["id_envoi"] != hidden["id_envoi"]
    assert records(app) == []
    assert "returned: sent too fast" in caplog.text and "discarded" not in caplog.text
    # a minute later, the same answers with the page's fresh token are stored
    later = app.extensions["ami_intake"].tokens.issue(now=__import__("time").time() - 61)
    assert post(client, valid_answers(form), later).status_code == 303
    assert len(records(app)) == 1


def test_an_invalid_post_gets_its_errors_whatever_its_speed(make_app, monkeypatch, form):
    client = slow_app(make_app, monkeypatch).test_client()
    reply = post(client, {}, fresh_hidden(client))  # « Envoyer » on the empty form, at once
    assert reply.status_code == 422
    assert '<a href="#raison_sociale">Indiquez la raison sociale de votre structure.</a>' in reply.text
    assert "Merci" not in reply.text


def test_a_json_post_sent_too_fast_gets_422_with_a_fresh_token(make_app, monkeypatch, form):
    client = slow_app(make_app, monkeypatch).test_client()
    reply = client.post("/candidater/", json={**fresh_hidden(client), **valid_answers(form)},
                        headers={"Accept": "application/json"})
    assert reply.status_code == 422
    body = reply.get_json()
    assert "Vérifiez vos réponses puis envoyez à nouveau" in body["errors"]["jeton"] and body["hidden"]["jeton"]


def test_the_rate_limit_counts_stored_and_discarded_posts_not_answers_sent_back(make_app, monkeypatch, form):
    app = slow_app(make_app, monkeypatch, RATE_LIMIT=(2, 600))
    client = app.test_client()
    tokens = app.extensions["ami_intake"].tokens
    aged = lambda: tokens.issue(now=__import__("time").time() - 61)  # noqa: E731 - a page read for a minute
    for _ in range(5):  # a workshop behind one address, correcting its forms
        assert post(client, {**valid_answers(form), "siret": "123"}, aged()).status_code == 422
        assert post(client, valid_answers(form), fresh_hidden(client)).status_code == 422  # too fast
        assert post(client, valid_answers(form), {}).status_code == 422  # a stale page
    assert post(client, valid_answers(form), aged()).status_code == 303
    assert post(client, valid_answers(form), {**aged(), "site_web": "x"}).status_code == 303  # discarded, counted
    refused = post(client, valid_answers(form), aged())
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert len(records(app)) == 1


@pytest.mark.parametrize("clients", [
    [f"2001:db8:1:{number:x}::1" for number in range(7)],  # seven /64s of one IPv6 /48
    [f"192.0.2.{number}" for number in range(1, 8)],  # seven addresses of one IPv4 /24
])
def test_a_network_may_post_five_times_what_one_client_may_then_waits(make_app, monkeypatch, form, clients):
    """One client per /64 would give a /48's holder 65,536 clients: its network has a count of its own."""
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = make_app(MIN_FILL_SECONDS=0, SECRET_KEY="k", RATE_LIMIT=(1, 600))

    def send(address: str):
        client = app.test_client()  # a browser each: the same answers from one browser lead to its dossier
        return client.post("/candidater/", data=encode_form(valid_answers(form), fresh_hidden(client)),
                           content_type=URLENCODED, environ_base={"REMOTE_ADDR": address})

    replies = [send(address) for address in clients[:6]]
    assert [reply.status_code for reply in replies] == [303] * 5 + [429]
    assert "Retry-After" in replies[5].headers
    assert "Trop d&#39;envois depuis votre connexion ou votre réseau" in replies[5].text
    assert "minute(s)" not in replies[5].text and " minutes, puis réessayez." in replies[5].text  # a French plural
    assert len(records(app)) == 5, "nothing stored past the network's limit"
    assert send(clients[6].replace("db8:1:", "db8:2:").replace("192.0.2.", "198.51.100.")).status_code == 303


def test_robots_filling_the_honeypot_never_lock_their_network_out(make_app, monkeypatch, form):
    """Five robots of one /24 that never load the form (honeypot filled, no token, no Origin) are
    limited each on its own; a porteur of the same network still sends, and still corrects."""
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    app = make_app(MIN_FILL_SECONDS=0, SECRET_KEY="k", RATE_LIMIT=(2, 600))
    robot, spam = app.test_client(), encode_form(valid_answers(form), {"site_web": "http://spam.example"})
    for address in [f"192.0.2.{number}" for number in range(2, 7)]:
        replies = [robot.post("/candidater/", data=spam, content_type=URLENCODED, environ_base={"REMOTE_ADDR": address})
                   for _ in range(4)]
        assert [reply.status_code for reply in replies] == [303, 303, 429, 429], "each robot has its own count"
    porteur = app.test_client()
    sent = porteur.post("/candidater/", data=encode_form(valid_answers(form), fresh_hidden(porteur)),
                        content_type=URLENCODED, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert sent.status_code == 303 and len(records(app)) == 1


@pytest.mark.parametrize(("now", "words"), [
    ("2021-03-28T23:59:00", "pas encore ouvert"),
    ("2021-05-29T00:00:01", "clos depuis le vendredi 28 mai 2021"),
])
def test_outside_the_call_posts_are_refused_and_nothing_is_stored(app, client, form, monkeypatch, now, words):
    hidden = fresh_hidden(client)
    monkeypatch.setenv("AMI_NOW", now)
    reply = post(client, valid_answers(form), hidden)
    assert reply.status_code == 403 and words in reply.text
    assert records(app) == []
    page = client.get("/candidater/").text
    assert "<form class=\"ami-form\"" not in page and 'id="formulaire-ferme"' in page


def test_a_late_post_shows_that_nothing_was_stored_and_the_answers_to_copy(app, client, form, monkeypatch):
    hidden = fresh_hidden(client)
    monkeypatch.setenv("AMI_NOW", "2021-05-29T08:00:00")
    reply = post(client, {**valid_answers(form), "description": "Notre texte <b>patiemment</b> écrit."}, hidden)
    assert reply.status_code == 403
    page = reply.text
    assert "rien n&#39;a été enregistré" in page and "Vos réponses n'ont pas été enregistrées" in page
    copy = page.split("<textarea id=reponses-a-copier readonly rows=12>", 1)[1].split("</textarea>", 1)[0]
    assert "Notre texte &lt;b&gt;patiemment&lt;/b&gt; écrit." in copy
    assert "Thématiques du projet :\nTiers-lieu numérique, Inclusion numérique, Autre" in copy
    assert "anne.houlette@normandie.fr" in page and "error-summary" not in page
    assert records(app) == []
    as_json = client.post("/candidater/", json={**hidden, **valid_answers(form)}, headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and "clos depuis" in as_json.get_json()["error"]


@pytest.mark.parametrize(("headers", "status"), [
    ({"Origin": "https://evil.example"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "null"}, 403),
    ({"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}, 303),
    ({"Origin": "http://localhost"}, 303),  # the host the post was sent to
    ({}, 303),  # a script without browser headers
])
def test_cross_site_posts_are_refused(client, form, headers, status):
    reply = post(client, valid_answers(form), fresh_hidden(client), **headers)
    assert reply.status_code == status
    if status == 403:
        assert "ne peut être envoyé que depuis le site de l&#39;AMI" in reply.text


@pytest.mark.parametrize(("body", "content_type", "status", "words"), [
    (b"raison_sociale=%FF%FE", URLENCODED, 400, "mal encodé"),
    (b"\xff\xfe=1", URLENCODED, 400, "mal encodé"),
    (b"<xml/>", "application/xml", 415, "Type de contenu non pris en charge"),
    (b"", "text/plain", 415, "Type de contenu non pris en charge"),
    (b"[1, 2]", "application/json", 400, "Un objet JSON est attendu"),
    (b"\"texte\"", "application/json", 400, "Un objet JSON est attendu"),
    (b"{\"a\": ", "application/json", 400, "n'est pas du JSON valide (ligne 1, colonne 7) : vérifiez la syntaxe"),
    (b"{\n\"a\" 1}", "application/json", 400, "n'est pas du JSON valide (ligne 2, colonne 5)"),
    (b"{\"a\": " + b"1" * 5000 + b"}", "application/json", 400, "n'est pas du JSON lisible"),
    (b"\xff{}", "application/json", 400, "UTF-8"),
    (b"{\"raison_sociale\": {\"x\": 1}}", "application/json", 400, "attend un texte"),
    (b"{\"raison_sociale\": \"a\", \"raison_sociale\": \"b\"}", "application/json", 400, "apparaît deux fois"),
    (b"cheval=troie", URLENCODED, 400, "Champ inconnu du formulaire : « cheval »"),
    (b"[" * 100000 + b"]" * 100000, "application/json", 400, ""),
])
def test_unreadable_bodies_get_a_french_4xx_and_nothing_is_stored(app, client, body, content_type, status, words):
    reply = client.post("/candidater/", data=body, content_type=content_type)
    assert reply.status_code == status
    text = reply.get_json()["error"] if reply.is_json else reply.text.replace("&#39;", "'")
    assert words in text and "Traceback" not in reply.text and "Expecting" not in text
    assert records(app) == []


def test_a_huge_body_gets_413_in_french(app, client):
    reply = client.post("/candidater/", data=b"description=" + b"a" * (app.config["MAX_CONTENT_LENGTH"] + 10),
                        content_type=URLENCODED)
    assert reply.status_code == 413 and "taille autorisée" in reply.text


def test_a_file_upload_is_refused(app, client, form):
    import io
    data = {**fresh_hidden(client), "raison_sociale": "X", "piece": (io.BytesIO(b"%PDF"), "x.pdf")}
    reply = client.post("/candidater/", data=data, content_type="multipart/form-data")
    assert reply.status_code == 400 and records(app) == []


def test_a_multipart_post_like_fetch_formdata_is_accepted(app, client, form):
    answers = valid_answers(form)
    data = {**fresh_hidden(client), **answers}
    reply = client.post("/candidater/", data=data, content_type="multipart/form-data")
    assert reply.status_code == 303 and len(records(app)) == 1


def test_a_repeated_single_field_is_an_error_at_that_field(client, form):
    body = encode_form(valid_answers(form), fresh_hidden(client)) + b"&maturite=idee"
    reply = client.post("/candidater/", data=body, content_type=URLENCODED, headers={"Accept": "application/json"})
    assert reply.get_json()["errors"] == {"maturite": "Une seule réponse est attendue pour ce champ : n'en envoyez qu'une."}


@ON_THE_DATA_FOLDER
def test_a_disk_that_refuses_the_write_gives_503_and_never_says_recu(app, client, form):
    submissions = os.path.join(app.config["DATA_DIR"], "submissions")
    os.rmdir(submissions)
    with open(submissions, "w") as handle:
        handle.write("plus de place")
    reply = post(client, valid_answers(form), fresh_hidden(client))
    assert reply.status_code == 503
    assert "PAS été reçu" in reply.text and "AMI-2021" not in reply.text
    # without JavaScript this page replaces the form: it says where the answers are, in a paragraph
    # of its own, which form.js leaves out when it shows the first one inside the form
    first, second = re.findall(r"<p>(.*?)</p>", reply.text.split("<main", 1)[1])[:2]
    assert "PAS été reçu" in first and "page précédente" not in first
    assert "page précédente" in second


def test_a_receipt_needs_its_signed_key(client, form):
    location = post(client, valid_answers(form), fresh_hidden(client)).headers["Location"]
    assert client.get(location).status_code == 200
    assert client.get(location[:-3] + "abc").status_code == 404
    assert client.get("/candidater/recu/AMI-2021-0001").status_code == 404
    assert "Lien de dossier incomplet" in client.get("/candidater/recu/AMI-2021-0001?cle=x").text


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nulle-part/", 404), ("PUT", "/candidater/", 405), ("DELETE", "/healthz", 405),
])
def test_other_errors_are_french_pages(client, method, path, status):
    reply = client.open(path, method=method)
    assert reply.status_code == status and 'lang="fr"' in reply.text


def test_healthz_reports_a_writable_data_folder(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.get_json() == {"status": "ok"}


def test_the_references_follow_each_other(app, client, form):
    for number in range(3):  # different answers: the same ones from one browser lead to the same dossier
        post(client, {**valid_answers(form), "projet_titre": f"Projet {number}"}, fresh_hidden(client))
    assert [record["reference"] for record in records(app)] == ["AMI-2021-0001", "AMI-2021-0002", "AMI-2021-0003"]


def test_a_question_added_to_a_copy_of_the_definition_appears_everywhere(make_app, tmp_path, monkeypatch):
    with open(DEFAULT_FORM_PATH, encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    definition["version"] = 2
    definition["fields"].insert(12, {
        "name": "budget", "label": "Budget prévisionnel (euros)", "hint": "Un ordre de grandeur suffit.",
        "type": "text", "group": "projet", "required": True, "max_length": 20,
        "required_message": "Indiquez un budget prévisionnel, même approximatif."})
    path = tmp_path / "form-v2.yaml"
    path.write_text(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")
    monkeypatch.setenv("COLLECTOR_FORM_PATH", str(path))
    app = make_app(MIN_FILL_SECONDS=0, SECRET_KEY="k")
    client, form = app.test_client(), app.config["FORM"]
    page = client.get("/candidater/").text
    assert ('<label for=budget>Budget prévisionnel (euros) (obligatoire) '
            '<small>Un ordre de grandeur suffit. 20 caractères au maximum.</small></label>') in page
    answers = {key: value for key, value in valid_answers(form).items() if key != "budget"}
    missing = client.post("/candidater/", data=encode_form(answers, fresh_hidden(client)), content_type=URLENCODED,
                          headers={"Accept": "application/json"})
    assert missing.get_json()["errors"] == {"budget": "Indiquez un budget prévisionnel, même approximatif."}
    stored = post(client, {**answers, "budget": "45 000"}, fresh_hidden(client))
    assert stored.status_code == 303
    [record] = records(app)
    assert record["form_version"] == 2 and record["answers"]["budget"] == "45 000"
    assert list(record["answers"]).index("budget") == 12


HOSTILE = [
    "Élan numérique — café, œuvre, ÆØÅ", "Projet 🚀🌍 numérique", "مشروع رقمي RTL", "yes", "no", "~",
    "!!python/object/apply:os.system ['ls']", "null", "0x1F", "'quoted' \"double\" : colon # hash", "- liste\n- fausse",
    "e\u0301te\u0301 (NFD)",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_round_trips_through_a_record(app, client, form, text):
    answers = {**valid_answers(form), "projet_titre": text[:150], "partenaires": text}
    reply = client.post("/candidater/", json={**fresh_hidden(client), **answers}, headers={"Accept": "application/json"})
    assert reply.status_code == 201, reply.get_json()
    [record] = records(app)
    expected = " ".join(__import__("unicodedata").normalize("NFC", text[:150]).split())
    assert record["answers"]["projet_titre"] == expected
    assert record["answers"]["partenaires"] == __import__("unicodedata").normalize("NFC", text).strip()


def test_ten_kilobytes_of_text_round_trip(app, client, form):
    form_copy = json.loads(json.dumps(valid_answers(form)))
    long_text = ("Ligne d'une description : « guillemets », œuvre, été, ŒÆ — ‰ №.\n" * 140)[:4990]
    assert len(long_text.encode("utf-8")) > 5000
    reply = client.post("/candidater/", json={**fresh_hidden(client), **form_copy, "description": long_text},
                        headers={"Accept": "application/json"})
    assert reply.status_code == 201
    assert records(app)[0]["answers"]["description"] == long_text.strip()
    store = appstate.store(app)
    assert "description: |" in store.record_text(store.references()[0]).decode("utf-8")


def test_ten_kilobytes_of_hostile_text_survive_serialisation():
    from datetime import datetime, timezone

    from collector.records import build_record, serialise_record
    from collector.yamlio import parse_yaml

    text = "\n".join(HOSTILE) * 60
    assert len(text.encode("utf-8")) > 10_000
    text = __import__("unicodedata").normalize("NFC", text)
    record = build_record("AMI-2021-0001", datetime(2021, 4, 15, tzinfo=timezone.utc), 1, {"description": text, "yes": "no"})
    assert parse_yaml(serialise_record(record).decode("utf-8"), "test") == record


@ON_THE_DATA_FOLDER
def test_an_unexpected_failure_is_a_french_500_page_without_traceback(app, client, form):
    location = post(client, valid_answers(form), fresh_hidden(client)).headers["Location"]
    path = next(iter_record_paths(app.config["DATA_DIR"]))
    os.chmod(path, 0o600)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("answers: [unterminated")
    reply = client.get(location)
    assert reply.status_code == 500
    assert "Erreur du serveur" in reply.text and "Traceback" not in reply.text
    as_json = client.get(location, headers={"Accept": "application/json"})
    assert as_json.status_code == 500 and as_json.get_json()["status"] == 500


def test_a_failing_listener_neither_loses_nor_unconfirms_the_record(app, client, form, caplog):
    from collector.events import record_stored

    def broken(sender, **extra):
        raise RuntimeError("camille.lefevre@example.org refused")

    record_stored.connect(broken)
    try:
        reply = post(client, valid_answers(form), fresh_hidden(client))
    finally:
        record_stored.disconnect(broken)
    assert reply.status_code == 303 and len(records(app)) == 1
    assert "record_stored listener failed for AMI-2021-0001: RuntimeError" in caplog.text
    assert "camille" not in caplog.text
