"""Revoking a dossier's link in Chromium, against gunicorn with two workers: the reviewer restores
the real contact from the detail page (no JavaScript), the old link stops opening the dossier in
every worker, and the link mailed to the restored address opens it; on each store `--store` names."""

from __future__ import annotations

import email
import re

import pytest

from collector.porteur.links import dossier_path
from tests.review.test_review_browser import review_collector, tab_without_javascript
from tests.support.server_store import ServerStore

pytestmark = pytest.mark.browser

REFERENCE = "AMI-2021-0002"


def new_link_path(store: ServerStore) -> str:
    """The path of the link mailed to the restored contact (the mail names the public address)."""
    queued = store.queued_message(f"{REFERENCE}.lien-remplace-1.eml")
    message = email.message_from_bytes(queued.partition(b"\n")[2])
    assert message["To"] == "vraie.contact@example.org"
    return re.search(r"http://[^/\s]+(/\S+)", message.get_payload(decode=True).decode()).group(1)


def test_a_reviewer_revokes_a_leaked_link_and_restores_the_contact_in_the_browser(tmp_path, data_dir, store_env,
                                                                                  chromium):
    store = ServerStore.of_test(data_dir, store_env)
    with review_collector(tmp_path, 2, workers=2, store=store) as server, tab_without_javascript(chromium, server) as tab:
        old = server.base_url + dossier_path("browser-secret", REFERENCE)
        porteur = chromium.new_context(locale="fr-FR")
        try:
            page = porteur.new_page()
            assert page.goto(old).status == 200
            tab.goto(f"{server.base_url}/instruction/{REFERENCE}", wait_until="load")
            tab.get_by_label("Envoyer le nouveau lien à une autre adresse (facultatif)").fill("vraie.contact@example.org")
            tab.get_by_role("button", name="Révoquer le lien et envoyer le nouveau").click()
            tab.wait_for_load_state("load")
            assert f"Lien du dossier {REFERENCE} révoqué" in tab.content()
            for _ in range(4):  # whichever worker answers
                reply = page.goto(old)
                assert reply.status == 404
                assert page.locator("h1").inner_text() == "Lien de dossier incomplet ou remplacé"
            assert page.goto(server.base_url + new_link_path(store)).status == 200
            assert "vraie.contact@example.org" in page.content()
        finally:
            porteur.close()
