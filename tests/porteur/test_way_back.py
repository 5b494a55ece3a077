"""A porteur's refused request leads back to the dossier, never to a NEW application's form."""

from __future__ import annotations

import pytest

from collector import appstate, create_app
from collector.statuses import change_status, read_history
from tests.conftest import STORE_KINDS

from .conftest import SECRET, link

ELSEWHERE = {"Origin": "https://ailleurs.example"}


def way_back_to_the_dossier(html: str, reference: str = "AMI-2021-0001") -> bool:
    return (f'<a href="{link(reference)}">Retour à mon dossier</a>' in html
            and "Revenir au formulaire" not in html)


@pytest.mark.parametrize("action", ["repondre", "rencontre/1", "corriger"])
def test_a_post_from_another_site_is_refused_with_the_way_back(client, records, action):
    reply = client.post(link("AMI-2021-0001", action), data={"message": "Bonjour", "choix": "1"}, headers=ELSEWHERE)
    assert reply.status_code == 403 and way_back_to_the_dossier(reply.text)


POST_ONLY = [("repondre", "#echanges"), ("rencontre/1", "#rencontres"), ("rencontre/7", "#rencontres")]


@pytest.mark.parametrize("store_kind", STORE_KINDS)
@pytest.mark.parametrize(("action", "fragment"), POST_ONLY)
def test_opening_a_post_only_address_with_a_valid_link_leads_back_to_the_dossier(client, records, kept, action,
                                                                                  fragment):
    """The address bar after a refused reply or choice shows the form's action: opening it again
    goes to the dossier, at the part the form belongs to, and stores nothing."""
    reply = client.get(link("AMI-2021-0001", action))
    assert reply.status_code == 303 and reply.headers["Location"] == link("AMI-2021-0001") + fragment
    assert client.get(reply.headers["Location"]).status_code == 200
    assert read_history(kept, "AMI-2021-0001").get("events", []) == []


@pytest.mark.parametrize(("action", "fragment"), POST_ONLY)
def test_opening_a_post_only_address_with_a_wrong_link_gets_the_french_bad_link_page(client, records, action,
                                                                                     fragment):
    good = link("AMI-2021-0001", action)
    for url in (good[:-3], good.replace("AMI-2021-0001", "AMI-2021-0009"), good.split("?")[0]):
        reply = client.get(url)
        assert reply.status_code == 404 and "Lien de dossier" in reply.text and "Location" not in reply.headers


def test_the_closed_correction_page_leads_back_to_the_dossier(client, records, kept):
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    reply = client.get(link("AMI-2021-0001", "corriger"))
    assert reply.status_code == 403 and way_back_to_the_dossier(reply.text)


@pytest.fixture
def limited(data_dir, monkeypatch, store_config):
    """The app with a limit of one porteur post per client in ten minutes."""
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "")
    application = create_app({"DATA_DIR": data_dir, "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (1, 600),
                              "SECRET_KEY": SECRET, **store_config})
    yield application
    appstate.store(application).close()


def test_too_many_posts_are_refused_with_the_way_back(limited, records):
    client = limited.test_client()
    assert client.post(link("AMI-2021-0001", "repondre"), data={"message": "Bonjour"}).status_code == 303
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": "1"})
    assert reply.status_code == 429 and way_back_to_the_dossier(reply.text)
    assert reply.headers["Retry-After"]


def test_a_porteurs_posts_count_for_the_network_too_five_clients_worth(limited, records):
    """Each /64 of a /48 is a client of its own: the network's count stops the sixth."""
    replies = [limited.test_client().post(link("AMI-2021-0001", "repondre"), data={"message": "Bonjour"},
                                          environ_base={"REMOTE_ADDR": f"2001:db8:1:{n:x}::1"}) for n in range(6)]
    assert [reply.status_code for reply in replies] == [303] * 5 + [429]
    assert "Trop d&#39;envois depuis votre connexion ou votre réseau" in replies[5].text
    assert way_back_to_the_dossier(replies[5].text)


def test_a_refusal_outside_a_dossier_still_offers_the_form(client):
    reply = client.post("/candidater/", data={}, headers=ELSEWHERE)
    assert reply.status_code == 403
    assert '<a href="/candidater/">Revenir au formulaire</a>' in reply.text and "Retour à mon dossier" not in reply.text
