"""Refusals and errors of the review pages are shown in the review frame (its reviewer bar and
logout button when logged in), never in the porteur's public frame with « Revenir au formulaire »;
and every redirect of the collector has a French body."""

from __future__ import annotations

import pytest

from .conftest import csrf_of

PUBLIC_FRAME = "Revenir au formulaire"


def in_the_review_frame(text: str, logged_in: bool) -> bool:
    return PUBLIC_FRAME not in text and ("Se déconnecter" in text) == logged_in


def test_a_bad_csrf_token_on_a_review_page_is_refused_in_the_review_frame_with_its_logout_button(logged_in, records):
    for path in ("/instruction/deconnexion", "/instruction/AMI-2021-0001/message", "/instruction/AMI-2021-0001/note"):
        refused = logged_in.post(path, data={"csrf_token": "pas-le-bon", "texte": "Bonjour"})
        assert refused.status_code == 403 and "Jeton de sécurité absent ou expiré" in refused.text
        assert in_the_review_frame(refused.text, logged_in=True), path
        assert "Code de l'erreur : 403" in refused.text
    assert logged_in.get("/instruction/").status_code == 200  # still logged in: nothing was done


@pytest.mark.parametrize("path", ["/instruction/AMI-2021-9999", "/instruction/AMI-2021-0001/nulle/part",
                                  "/instruction/export.pdf"])
def test_an_unknown_review_address_is_a_404_in_the_review_frame(logged_in, records, path):
    missing = logged_in.get(path)
    assert missing.status_code == 404 and "Page introuvable" in missing.text
    assert in_the_review_frame(missing.text, logged_in=True)
    assert "Revenir à la liste des candidatures" in missing.text


def test_without_a_session_a_review_error_offers_the_login_page_not_the_form(client):
    refused = client.post("/instruction/deconnexion", data={"csrf_token": "x"})
    assert refused.status_code == 403 and in_the_review_frame(refused.text, logged_in=False)
    assert 'href="/instruction/connexion"' in refused.text


def test_the_porteurs_errors_keep_the_public_frame(client):
    refused = client.open("/candidater/", method="PUT")
    assert refused.status_code == 405 and PUBLIC_FRAME in refused.text and "Se déconnecter" not in refused.text


def test_every_redirect_has_a_french_body_with_its_link(logged_in, client):
    routing = client.get("/instruction")  # the routing's own redirect, to /instruction/
    after_post = logged_in.post("/instruction/deconnexion", data={"csrf_token": csrf_of(logged_in.get("/instruction/").text)})
    to_login = client.get("/instruction/")
    for redirect in (routing, after_post, to_login):
        assert 300 <= redirect.status_code < 400
        body = redirect.get_data(as_text=True)
        assert 'lang="fr"' in body and "Redirecting" not in body and "redirected" not in body
        assert f'href="{redirect.headers["Location"]}"' in body
